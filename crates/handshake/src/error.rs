//! The one error type of the handshake, and the one place that maps an error to the alert we
//! send ([`Error::alert`]).

use core::fmt;
use overture_types::{AlertDescription, EncodeError, HandshakeType, InvalidMessage, UnixTime};

/// Everything that can end a handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A message did not decode (truncated, trailing bytes, lengths out of range).
    InvalidMessage(InvalidMessage),
    /// A message arrived that the current state does not accept.
    UnexpectedMessage {
        /// What the state machine was waiting for.
        expected: &'static str,
        /// What came.
        got: HandshakeType,
    },
    /// The peer broke a rule of the protocol.
    PeerMisbehaved(PeerMisbehaved),
    /// The peer is honest but we have nothing in common.
    PeerIncompatible(PeerIncompatible),
    /// The server's certificate (or a handshake signature made with it) was rejected.
    InvalidCertificate(CertificateError),
    /// A cryptographic operation failed (a bad key share from the peer, an RNG failure, ...).
    Crypto(overture_crypto_provider::Error),
    /// The configuration cannot produce a ClientHello (no suite, no group, no version). Only
    /// [`crate::ClientHandshake::start`] returns it, before anything was sent: no alert.
    Config(&'static str),
    /// A method was called in a state where it makes no sense (e.g. a key update before the
    /// handshake completed, or any call after a fatal error). No alert: our caller's mistake.
    Usage(&'static str),
    /// A message we were about to send has a field longer than its length prefix can
    /// express (never clamped). What the peer sends is bounded when it arrives, so this
    /// names a value from the configuration or the caller (e.g. a hand-built ticket).
    Encode(EncodeError),
    /// An internal invariant failed; the handshake cannot continue.
    Internal(&'static str),
    /// The server rejected Encrypted Client Hello (RFC 9849 §6.1.6): the handshake with the
    /// outer ClientHello completed and authenticated the config's public name, and the
    /// connection ends with an `ech_required` alert. The only error that comes with events to
    /// apply: the `handle` call that returns it has pushed our final flight and the
    /// application keys (no `Complete`); send them, then the alert. `retry_configs` is the ECHConfigList the
    /// server sent in its EncryptedExtensions when one of its configs is usable: retry once,
    /// on a new connection, with it (RFC 9849 §6.1.6: not again if that retry is rejected
    /// with retry configs too). `None`: the server did not send any usable one, which
    /// securely disables ECH for this server.
    EchRejected {
        /// The server's retry configs (an ECHConfigList), if usable.
        retry_configs: Option<Vec<u8>>,
    },
}

/// Ways a peer breaks the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// An extension block held the same extension twice (RFC 8446 §4.2).
    DuplicateExtension(u16),
    /// The server answered with an extension we never offered (RFC 8446 §4.2).
    UnsolicitedExtension(u16),
    /// An extension we offered appeared in a message that must not carry it (RFC 8446 §4.2).
    ExtensionNotAllowedHere(u16),
    /// ServerHello/HRR chose a cipher suite we did not offer.
    UnofferedCipherSuite,
    /// ServerHello chose a different suite than the HelloRetryRequest.
    SuiteChangedAfterRetry,
    /// ServerHello's key share is for a group we sent no share for.
    WrongKeyShareGroup,
    /// ServerHello carried no key_share and we offered no PSK.
    MissingKeyShare,
    /// ServerHello selected a version we did not offer (or a pre-1.3 version through
    /// supported_versions).
    UnofferedVersion,
    /// ServerHello's supported_versions named TLS 1.2 or older (RFC 8446 §4.2.1: the
    /// extension only selects TLS 1.3 and later).
    SupportedVersionsBeforeTls13,
    /// ServerHello's version differs from the HelloRetryRequest's (RFC 8446 §4.1.4).
    VersionChangedAfterRetry,
    /// ServerHello.legacy_version was not 0x0303 with TLS 1.3.
    BadLegacyVersion,
    /// ServerHello's legacy_session_id_echo differs from ours.
    SessionIdMismatch,
    /// ServerHello chose a compression method other than null.
    NonNullCompression,
    /// The downgrade sentinel of RFC 8446 §4.1.3 was in ServerHello.random.
    DowngradeSentinel,
    /// A second HelloRetryRequest.
    SecondHelloRetryRequest,
    /// A HelloRetryRequest that would not change the ClientHello.
    HelloRetryRequestChangesNothing,
    /// A HelloRetryRequest asked for the group we already sent a share for.
    HelloRetryRequestSameGroup,
    /// A HelloRetryRequest asked for a group we did not offer.
    HelloRetryRequestUnofferedGroup,
    /// The server's ALPN answer was not exactly one protocol we offered.
    BadAlpn,
    /// EncryptedExtensions' server_name was not empty.
    BadServerNameAck,
    /// The server's Certificate was empty (RFC 8446 §4.4.2.4: decode_error).
    EmptyCertificate,
    /// A Certificate or CertificateRequest in the handshake had a non-empty context.
    NonEmptyCertificateContext,
    /// CertificateVerify used a scheme we did not offer, or one TLS 1.3 forbids.
    UnofferedSignatureScheme,
    /// CertificateRequest carried no signature_algorithms.
    MissingSignatureAlgorithms,
    /// The server's Finished did not verify.
    BadFinished,
    /// A NewSessionTicket lifetime above seven days (RFC 8446 §4.6.1).
    TicketLifetimeTooLong,
    /// A KeyUpdate with a request value other than 0 or 1.
    BadKeyUpdate,
    /// The server's pre_shared_key selected an identity we did not offer.
    UnofferedPsk,
    /// The server resumed with a PSK but chose a suite with another hash (RFC 8446 §4.2.11).
    PskSuiteHashMismatch,
    /// The server chose TLS 1.2 after a HelloRetryRequest (which only TLS 1.3 has).
    Tls12AfterRetry,
    /// The server chose TLS 1.2 although we sent 0-RTT early data (RFC 8446 D.3: the client
    /// "MUST fail a connection" then).
    Tls12AfterEarlyData,
    /// TLS 1.2 renegotiation_info was not empty in an initial handshake (RFC 5746 §3.4).
    BadRenegotiationInfo,
    /// TLS 1.2 ec_point_formats without the uncompressed format (RFC 8422 §5.2).
    BadEcPointFormats,
    /// ServerKeyExchange chose a group we did not offer.
    UnofferedGroup,
    /// ServerKeyExchange chose a group that exists only in TLS 1.3 (a hybrid post-quantum
    /// group, offered in supported_groups for TLS 1.3).
    Tls13OnlyGroupInTls12,
    /// ServerKeyExchange was signed with a scheme we did not offer or that does not fit the
    /// suite's key exchange.
    UnofferedTls12SignatureScheme,
    /// The server echoed a session id we did not offer for resumption, or resumed with
    /// another suite than the session's.
    BadResumption,
    /// The extended_master_secret of a resumed TLS 1.2 session changed (RFC 7627 §5.3).
    ResumptionEmsMismatch,
    /// The server promised a NewSessionTicket (session_ticket in ServerHello) and sent none.
    MissingNewSessionTicket,
    /// A ChangeCipherSpec arrived where none may.
    UnexpectedChangeCipherSpec,
    /// A CompressedCertificate used an algorithm we did not offer (RFC 8879 §4).
    UnofferedCertCompression(u16),
    /// A CompressedCertificate was refused: too large, a lying `uncompressed_length`, or
    /// corrupt (RFC 8879 §4: bad_certificate).
    CertificateDecompression(crate::compress::DecompressionFailure),
    /// The server's record_size_limit is below 64 (RFC 8449 §4).
    RecordSizeLimitTooSmall(u16),
    /// The server accepted early data without resuming our ticket, or with another suite or
    /// ALPN protocol than the ticket's (RFC 8446 §4.2.10).
    EarlyDataAcceptedWithChanges,
    /// A HelloRetryRequest accepted ECH and the ServerHello then did not (RFC 9849 §6.1.5).
    EchAcceptanceWithdrawn,
    /// EncryptedExtensions carried ECH retry configs although ECH was accepted (RFC 9849 §5:
    /// unsupported_extension).
    EchRetryConfigsAfterAcceptance,
}

/// Ways a peer is incompatible with what we offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerIncompatible {
    /// Not returned any more (TLS 1.2 is implemented); kept so that existing matches compile.
    Tls12NotImplemented,
    /// A TLS 1.2 full handshake without extended_master_secret (RFC 7627), refused unless
    /// `StartOptions::allow_tls12_without_ems`.
    NoExtendedMasterSecret,
    /// A TLS 1.2 server without secure renegotiation indication (RFC 5746): refused, like
    /// OpenSSL 3 does by default.
    NoSecureRenegotiation,
    /// The server chose a version below TLS 1.2.
    VersionTooOld(u16),
    /// The server chose (without supported_versions) a version we did not offer.
    VersionNotOffered(u16),
}

/// Why a certificate, or a signature made with its key, was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateError {
    /// The certificate has expired: its notAfter is before the time of the check.
    Expired {
        /// The certificate's notAfter (inclusive).
        not_after: UnixTime,
        /// The time the chain was checked at.
        now: UnixTime,
    },
    /// The certificate is not valid yet: its notBefore is after the time of the check.
    NotValidYet {
        /// The certificate's notBefore.
        not_before: UnixTime,
        /// The time the chain was checked at.
        now: UnixTime,
    },
    /// No path to a trust anchor.
    UnknownIssuer,
    /// The certificate was revoked.
    Revoked,
    /// The certificate is not valid for the server name.
    NotValidForName,
    /// The certificate did not parse.
    BadEncoding,
    /// A signature did not verify (a chain signature, or the handshake's CertificateVerify).
    BadSignature,
    /// Anything else, described.
    Other(String),
    /// One of the others with the verifier's own words on what exactly was wrong (e.g. the
    /// certificate's notAfter and the time of the check); the alert is the inner one's.
    Detailed(Box<CertificateError>, String),
}

impl CertificateError {
    /// The error without its details.
    pub fn kind(&self) -> &CertificateError {
        match self {
            Self::Detailed(inner, _) => inner.kind(),
            other => other,
        }
    }

    /// The alert a certificate error sends (RFC 8446 §6.2).
    fn alert(&self) -> AlertDescription {
        use AlertDescription as A;
        match self {
            Self::Expired { .. } | Self::NotValidYet { .. } => A::CertificateExpired,
            Self::UnknownIssuer => A::UnknownCa,
            Self::Revoked => A::CertificateRevoked,
            Self::BadEncoding => A::DecodeError,
            Self::BadSignature => A::DecryptError,
            Self::NotValidForName | Self::Other(_) => A::BadCertificate,
            Self::Detailed(inner, _) => inner.alert(),
        }
    }
}

impl Error {
    /// The alert we send for this error, or `None` when no alert goes out (a usage error).
    ///
    /// This is the only mapping from errors to alerts in the crate.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        use PeerMisbehaved as M;
        Some(match self {
            Self::InvalidMessage(InvalidMessage::IllegalValue(_)) => A::IllegalParameter,
            Self::InvalidMessage(_) => A::DecodeError,
            Self::UnexpectedMessage { .. } => A::UnexpectedMessage,
            Self::PeerMisbehaved(m) => match m {
                M::UnsolicitedExtension(_) => A::UnsupportedExtension,
                M::MissingKeyShare | M::MissingSignatureAlgorithms => A::MissingExtension,
                M::EmptyCertificate => A::DecodeError,
                M::BadFinished => A::DecryptError,
                M::SecondHelloRetryRequest => A::UnexpectedMessage,
                M::BadAlpn => A::IllegalParameter,
                M::UnofferedVersion
                | M::BadLegacyVersion
                | M::SupportedVersionsBeforeTls13
                | M::VersionChangedAfterRetry => A::IllegalParameter,
                M::DuplicateExtension(_)
                | M::ExtensionNotAllowedHere(_)
                | M::UnofferedCipherSuite
                | M::SuiteChangedAfterRetry
                | M::WrongKeyShareGroup
                | M::SessionIdMismatch
                | M::NonNullCompression
                | M::DowngradeSentinel
                | M::HelloRetryRequestChangesNothing
                | M::HelloRetryRequestSameGroup
                | M::HelloRetryRequestUnofferedGroup
                | M::BadServerNameAck
                | M::NonEmptyCertificateContext
                | M::UnofferedSignatureScheme
                | M::TicketLifetimeTooLong
                | M::BadKeyUpdate
                | M::UnofferedPsk
                | M::PskSuiteHashMismatch
                | M::Tls12AfterRetry
                | M::Tls12AfterEarlyData
                | M::BadEcPointFormats
                | M::UnofferedGroup
                | M::Tls13OnlyGroupInTls12
                | M::UnofferedTls12SignatureScheme
                | M::BadResumption => A::IllegalParameter,
                M::BadRenegotiationInfo | M::ResumptionEmsMismatch => A::HandshakeFailure,
                M::MissingNewSessionTicket | M::UnexpectedChangeCipherSpec => A::UnexpectedMessage,
                M::UnofferedCertCompression(_)
                | M::RecordSizeLimitTooSmall(_)
                | M::EarlyDataAcceptedWithChanges => A::IllegalParameter,
                M::CertificateDecompression(_) => A::BadCertificate,
                M::EchAcceptanceWithdrawn => A::IllegalParameter,
                M::EchRetryConfigsAfterAcceptance => A::UnsupportedExtension,
            },
            Self::PeerIncompatible(p) => match p {
                PeerIncompatible::NoExtendedMasterSecret
                | PeerIncompatible::NoSecureRenegotiation => A::HandshakeFailure,
                PeerIncompatible::Tls12NotImplemented
                | PeerIncompatible::VersionTooOld(_)
                | PeerIncompatible::VersionNotOffered(_) => A::ProtocolVersion,
            },
            Self::InvalidCertificate(c) => c.alert(),
            Self::Crypto(overture_crypto_provider::Error::InvalidPeerShare) => A::IllegalParameter,
            Self::Crypto(_) | Self::Encode(_) | Self::Internal(_) => A::InternalError,
            Self::EchRejected { .. } => A::EchRequired,
            Self::Config(_) | Self::Usage(_) => return None,
        })
    }
}

impl From<InvalidMessage> for Error {
    fn from(e: InvalidMessage) -> Self {
        Self::InvalidMessage(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

impl From<PeerMisbehaved> for Error {
    fn from(e: PeerMisbehaved) -> Self {
        Self::PeerMisbehaved(e)
    }
}

impl From<overture_crypto_provider::Error> for Error {
    fn from(e: overture_crypto_provider::Error) -> Self {
        Self::Crypto(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMessage(e) => write!(f, "malformed handshake message: {e}"),
            Self::UnexpectedMessage { expected, got } => {
                write!(f, "expected {expected}, the server sent {got}")
            }
            Self::PeerMisbehaved(m) => write!(f, "the server misbehaved: {m}"),
            Self::PeerIncompatible(p) => write!(f, "the server is incompatible: {p}"),
            Self::InvalidCertificate(c) => write!(f, "invalid server certificate: {c}"),
            Self::Crypto(e) => write!(f, "cryptographic failure: {e}"),
            Self::Config(s) => write!(f, "configuration error: {s}"),
            Self::Usage(s) => write!(f, "usage error: {s}"),
            Self::Encode(e) => write!(f, "cannot encode our message: {e}"),
            Self::Internal(s) => write!(f, "internal error: {s}"),
            Self::EchRejected { retry_configs } => match retry_configs {
                Some(c) => write!(
                    f,
                    "the server rejected Encrypted Client Hello and sent retry configs \
                     ({} bytes): retry with them",
                    c.len()
                ),
                None => f.write_str(
                    "the server rejected Encrypted Client Hello and sent no usable retry configs",
                ),
            },
        }
    }
}

impl fmt::Display for PeerMisbehaved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PeerMisbehaved as M;
        match self {
            M::DuplicateExtension(t) => write!(f, "extension {} sent twice", ext_name(*t)),
            M::UnsolicitedExtension(t) => {
                write!(f, "extension {} was never offered", ext_name(*t))
            }
            M::ExtensionNotAllowedHere(t) => {
                write!(
                    f,
                    "extension {} is not allowed in this message",
                    ext_name(*t)
                )
            }
            M::UnofferedCipherSuite => f.write_str("it chose a cipher suite we did not offer"),
            M::SuiteChangedAfterRetry => {
                f.write_str("ServerHello's cipher suite differs from the HelloRetryRequest's")
            }
            M::WrongKeyShareGroup => {
                f.write_str("its key share is for a group we sent no share for")
            }
            M::MissingKeyShare => f.write_str("ServerHello carried no key_share"),
            M::UnofferedVersion => f.write_str("it selected a version we did not offer"),
            M::BadLegacyVersion => f.write_str("ServerHello.legacy_version is not TLS 1.2"),
            M::SupportedVersionsBeforeTls13 => {
                f.write_str("its supported_versions names a version before TLS 1.3")
            }
            M::VersionChangedAfterRetry => {
                f.write_str("ServerHello's version differs from the HelloRetryRequest's")
            }
            M::SessionIdMismatch => f.write_str("legacy_session_id_echo differs from ours"),
            M::NonNullCompression => f.write_str("it chose a compression method"),
            M::DowngradeSentinel => {
                f.write_str("ServerHello.random carries the TLS downgrade sentinel")
            }
            M::SecondHelloRetryRequest => f.write_str("it sent a second HelloRetryRequest"),
            M::HelloRetryRequestChangesNothing => {
                f.write_str("its HelloRetryRequest would not change the ClientHello")
            }
            M::HelloRetryRequestSameGroup => {
                f.write_str("its HelloRetryRequest asked for the group we already sent")
            }
            M::HelloRetryRequestUnofferedGroup => {
                f.write_str("its HelloRetryRequest asked for a group we did not offer")
            }
            M::BadAlpn => f.write_str("its ALPN answer is not one protocol we offered"),
            M::BadServerNameAck => f.write_str("its server_name acknowledgement is not empty"),
            M::EmptyCertificate => f.write_str("it sent an empty Certificate"),
            M::NonEmptyCertificateContext => {
                f.write_str("certificate_request_context is not empty during the handshake")
            }
            M::UnofferedSignatureScheme => {
                f.write_str("CertificateVerify uses a signature scheme we did not offer")
            }
            M::MissingSignatureAlgorithms => {
                f.write_str("CertificateRequest carries no signature_algorithms")
            }
            M::BadFinished => f.write_str("its Finished did not verify"),
            M::TicketLifetimeTooLong => f.write_str("NewSessionTicket lifetime exceeds seven days"),
            M::BadKeyUpdate => f.write_str("KeyUpdate request is neither 0 nor 1"),
            M::UnofferedPsk => f.write_str("it selected a pre-shared key we did not offer"),
            M::PskSuiteHashMismatch => {
                f.write_str("it resumed with a suite whose hash differs from the ticket's")
            }
            M::Tls12AfterRetry => f.write_str("it chose TLS 1.2 after a HelloRetryRequest"),
            M::Tls12AfterEarlyData => {
                f.write_str("it chose TLS 1.2 after we sent early data (RFC 8446 D.3)")
            }
            M::BadRenegotiationInfo => {
                f.write_str("renegotiation_info is not empty in an initial handshake")
            }
            M::BadEcPointFormats => {
                f.write_str("ec_point_formats lacks the uncompressed point format")
            }
            M::UnofferedGroup => f.write_str("ServerKeyExchange chose a group we did not offer"),
            M::Tls13OnlyGroupInTls12 => {
                f.write_str("ServerKeyExchange chose a group that exists only in TLS 1.3")
            }
            M::UnofferedTls12SignatureScheme => f.write_str(
                "ServerKeyExchange is signed with a scheme we did not offer or that does not \
                 fit the cipher suite",
            ),
            M::BadResumption => {
                f.write_str("it resumed a session we did not offer, or with another cipher suite")
            }
            M::ResumptionEmsMismatch => f.write_str(
                "the resumed session's extended_master_secret use changed (RFC 7627 §5.3)",
            ),
            M::MissingNewSessionTicket => {
                f.write_str("it promised a NewSessionTicket and sent none")
            }
            M::UnexpectedChangeCipherSpec => {
                f.write_str("it sent a ChangeCipherSpec where none may come")
            }
            M::UnofferedCertCompression(a) => write!(
                f,
                "its CompressedCertificate uses {}, which we did not offer",
                overture_types::CertificateCompressionAlgorithm::from(*a)
            ),
            M::CertificateDecompression(why) => write!(f, "its CompressedCertificate: {why}"),
            M::EarlyDataAcceptedWithChanges => f.write_str(
                "it accepted early data without our ticket, or with another cipher suite or \
                 ALPN protocol than the ticket's",
            ),
            M::EchAcceptanceWithdrawn => f.write_str(
                "its HelloRetryRequest accepted Encrypted Client Hello, its ServerHello did not",
            ),
            M::EchRetryConfigsAfterAcceptance => {
                f.write_str("it sent ECH retry configs although it accepted Encrypted Client Hello")
            }
            M::RecordSizeLimitTooSmall(n) => {
                write!(f, "its record_size_limit {n} is below 64 (RFC 8449 §4)")
            }
        }
    }
}

impl fmt::Display for PeerIncompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tls12NotImplemented => f.write_str(
                "the server chose TLS 1.2, which this version of overture-handshake does not \
                 implement yet (TLS 1.3 only)",
            ),
            Self::NoExtendedMasterSecret => f.write_str(
                "the TLS 1.2 server does not support the extended master secret (RFC 7627); \
                 refused unless allowed",
            ),
            Self::NoSecureRenegotiation => f.write_str(
                "the TLS 1.2 server does not support secure renegotiation indication \
                 (RFC 5746)",
            ),
            Self::VersionNotOffered(v) => write!(
                f,
                "the server chose {}, which we did not offer",
                overture_types::ProtocolVersion::from(*v)
            ),
            Self::VersionTooOld(v) => {
                write!(
                    f,
                    "the server chose {}, older than TLS 1.2",
                    overture_types::ProtocolVersion::from(*v)
                )
            }
        }
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Expired { not_after, now } => write!(
                f,
                "expired: notAfter {} (Unix time) is before the time of the check {}, {} s late",
                not_after.as_secs(),
                now.as_secs(),
                now.as_secs().saturating_sub(not_after.as_secs())
            ),
            Self::NotValidYet { not_before, now } => write!(
                f,
                "not valid yet: notBefore {} (Unix time) is after the time of the check {}, {} s early",
                not_before.as_secs(),
                now.as_secs(),
                not_before.as_secs().saturating_sub(now.as_secs())
            ),
            Self::UnknownIssuer => f.write_str("unknown issuer"),
            Self::Revoked => f.write_str("revoked"),
            Self::NotValidForName => f.write_str("not valid for the server name"),
            Self::BadEncoding => f.write_str("malformed certificate"),
            Self::BadSignature => f.write_str("bad signature"),
            Self::Other(s) => f.write_str(s),
            Self::Detailed(inner, detail) => write!(f, "{inner}: {detail}"),
        }
    }
}

fn ext_name(t: u16) -> String {
    overture_types::ExtensionType::from(t).to_string()
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_follow_rfc_8446() {
        let a = |e: Error| e.alert();
        assert_eq!(
            a(PeerMisbehaved::UnsolicitedExtension(99).into()),
            Some(AlertDescription::UnsupportedExtension)
        );
        assert_eq!(
            a(PeerMisbehaved::DuplicateExtension(0).into()),
            Some(AlertDescription::IllegalParameter)
        );
        assert_eq!(
            a(InvalidMessage::MissingData("x").into()),
            Some(AlertDescription::DecodeError)
        );
        assert_eq!(
            a(Error::PeerIncompatible(
                PeerIncompatible::Tls12NotImplemented
            )),
            Some(AlertDescription::ProtocolVersion)
        );
        assert_eq!(a(Error::Usage("x")), None);
        assert!(
            Error::PeerIncompatible(PeerIncompatible::Tls12NotImplemented)
                .to_string()
                .contains("TLS 1.2")
        );
    }

    /// The validity errors carry their times as fields (matchable) and say them.
    #[test]
    fn validity_errors_are_typed_and_informative() {
        let t = UnixTime::since_unix_epoch;
        let expired = CertificateError::Expired {
            not_after: t(core::time::Duration::from_secs(1_000)),
            now: t(core::time::Duration::from_secs(1_600)),
        };
        let early = CertificateError::NotValidYet {
            not_before: t(core::time::Duration::from_secs(2_000)),
            now: t(core::time::Duration::from_secs(1_990)),
        };
        for (e, words) in [
            (&expired, ["notAfter 1000", "check 1600", "600 s late"]),
            (&early, ["notBefore 2000", "check 1990", "10 s early"]),
        ] {
            let err = Error::InvalidCertificate(e.clone());
            assert_eq!(err.alert(), Some(AlertDescription::CertificateExpired));
            let text = err.to_string();
            for w in words {
                assert!(text.contains(w), "{text}");
            }
        }
        assert!(matches!(
            expired.kind(),
            CertificateError::Expired { now, .. } if now.as_secs() == 1_600
        ));
    }
}

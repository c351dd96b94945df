//! What the client crate gives the handshake: the configuration and the traits it implements
//! (certificate verification, client certificates, key logging), and what the handshake gives
//! back: [`Event`]s.

use crate::error::Error;
use crate::key_schedule::TrafficKey;
use core::fmt;
use overture_crypto_provider::{CryptoProvider, Secret, Signer};
use overture_types::{
    AlertDescription, CertificateCompressionAlgorithm, CertificateDer, CipherSuite, NamedGroup,
    ProtocolVersion, ServerName, SignatureScheme, UnixTime,
};
use std::sync::Arc;

/// The handshake's configuration, shared by every connection of a client configuration.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// The cryptography: suites, groups (the first gets a key share; a hybrid first also
    /// shares its classical group from the same key when that group is offered), randomness.
    pub provider: Arc<CryptoProvider>,
    /// The versions to offer: TLS 1.3 and/or TLS 1.2 (any other entry is ignored; neither is
    /// a configuration error). Offering both makes a TLS 1.2 answer check the RFC 8446
    /// downgrade sentinel.
    pub versions: Vec<ProtocolVersion>,
    /// ALPN protocols to offer, in preference order (empty: no ALPN).
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Whether to send server_name for DNS names.
    pub enable_sni: bool,
    /// Middlebox compatibility mode (RFC 8446 §D.4): a random legacy_session_id and one
    /// ChangeCipherSpec before the client's second flight.
    pub middlebox_compat: bool,
    /// Verifies the server's certificate chain and handshake signature.
    pub verifier: Arc<dyn CertVerifier>,
    /// The signature schemes to offer for the server's signatures (signature_algorithms), in
    /// preference order; `None`: the verifier's [`CertVerifier::supported_schemes`]. Schemes
    /// the verifier does not support are left out (the server could pick one we cannot
    /// check); none left is a configuration error.
    pub verify_schemes: Option<Vec<SignatureScheme>>,
    /// The signature schemes we sign a client CertificateVerify with, in preference order;
    /// `None`: any the server offers (in its order) that the version allows. The resolver
    /// sees only schemes in both lists, in this order.
    pub signing_schemes: Option<Vec<SignatureScheme>>,
    /// Chooses a client certificate when the server asks for one (`None`: send none).
    pub client_auth: Option<Arc<dyn ClientCertResolver>>,
    /// Receives the secrets in NSS key log format (for Wireshark), if set.
    pub key_log: Option<Arc<dyn KeyLog>>,
    /// Optional extensions: certificate compression, record_size_limit, 0-RTT
    /// (`ExtensionOptions::default()`: compression offered, the others off).
    pub extensions: ExtensionOptions,
}

impl HandshakeConfig {
    /// The provider of ECH's HPKE: [`ExtensionOptions::ech_hpke_provider`], else ours.
    pub(crate) fn hpke_provider(&self) -> &CryptoProvider {
        self.extensions
            .ech_hpke_provider
            .as_deref()
            .unwrap_or(&self.provider)
    }
}

/// The optional TLS extensions a client offers ([`HandshakeConfig::extensions`]).
#[derive(Debug, Clone)]
pub struct ExtensionOptions {
    /// Certificate compression algorithms to offer (RFC 8879, TLS 1.3 only), in preference
    /// order; empty: `compress_certificate` is not sent. Algorithms this build cannot
    /// decompress are left out. Default: brotli, zlib.
    pub cert_compression: Vec<CertificateCompressionAlgorithm>,
    /// Our largest handshake message: bounds a compressed certificate's declared
    /// `uncompressed_length` (checked before inflating). Default 64 KiB, the client's default
    /// handshake message limit; set it to the client's own limit.
    pub max_handshake_message: usize,
    /// The record_size_limit to offer (RFC 8449): the largest record plaintext we accept
    /// (TLS 1.3: including the content type byte), 64..=16385. `None` (default): not sent.
    pub record_size_limit: Option<u16>,
    /// Ask for the server's stapled OCSP response (status_request, RFC 6066 §8; TLS 1.3: RFC
    /// 8446 §4.4.2.1). It arrives as [`Event::OcspResponse`]; nothing here validates it (the
    /// bytes go to the application as they came). Default off.
    pub status_request: bool,
    /// Ask for the server's signed certificate timestamps (RFC 6962 §3.3.1). They arrive as
    /// [`Event::SignedCertificateTimestamps`]; their list structure is checked, not their
    /// signatures. Default off.
    pub signed_certificate_timestamps: bool,
    /// Offer 0-RTT early data (RFC 8446 §4.2.10) when the resumed ticket allows it
    /// (`max_early_data` set). Off by default: early data can be replayed by an attacker;
    /// only send idempotent requests in it.
    pub early_data: bool,
    /// Encrypted Client Hello (RFC 9849): off (default), GREASE, or a config list to offer
    /// (see [`crate::ech::EchMode`]).
    pub ech: crate::ech::EchMode,
    /// The provider ECH's HPKE takes its X25519, HKDF-SHA256 and AEAD from, when not the
    /// connection's own: HPKE's suite is the ECHConfig's, independent of the TLS suites and
    /// groups a configuration restricted the connection's provider to (with only
    /// TLS_AES_256_GCM_SHA384 it has no HKDF-SHA256 left). `None`: [`HandshakeConfig::provider`].
    pub ech_hpke_provider: Option<Arc<CryptoProvider>>,
}

/// The most content bytes one protected record may carry under a record_size_limit `limit`
/// (RFC 8449 §4) in `version`: TLS 1.3 counts the inner content type byte in the limit
/// (`limit − 1`), TLS 1.2 does not (`limit`); never more than the protocol's 2^14. Use it
/// for both directions: the server's [`Event::PeerRecordSizeLimit`] caps the records we
/// seal, our [`ExtensionOptions::record_size_limit`] bounds the records we open (a larger
/// one is `record_overflow`). `limit` below 64 is raised to 64 (the handshake refuses a
/// server's smaller value; ours is the configuration's).
pub fn record_content_limit(version: ProtocolVersion, limit: u16) -> usize {
    const MAX_FRAGMENT: usize = 1 << 14;
    let limit = usize::from(limit.max(64));
    let content = if version == ProtocolVersion::TLSv1_3 {
        limit.saturating_sub(1)
    } else {
        limit
    };
    content.min(MAX_FRAGMENT)
}

impl Default for ExtensionOptions {
    fn default() -> Self {
        Self {
            cert_compression: crate::compress::SUPPORTED_ALGORITHMS.to_vec(),
            max_handshake_message: 64 * 1024,
            record_size_limit: None,
            status_request: false,
            signed_certificate_timestamps: false,
            early_data: false,
            ech: crate::ech::EchMode::Off,
            ech_hpke_provider: None,
        }
    }
}

/// Proof that the server's certificate chain was verified. Only a [`CertVerifier`] makes one.
#[derive(Debug)]
pub struct ServerCertVerified(());

impl ServerCertVerified {
    /// Asserts that the chain was verified (for [`CertVerifier`] implementations).
    pub fn assertion() -> Self {
        Self(())
    }
}

/// Proof that a handshake signature was verified. Only a [`CertVerifier`] makes one.
#[derive(Debug)]
pub struct SignatureVerified(());

impl SignatureVerified {
    /// Asserts that the signature was verified (for [`CertVerifier`] implementations).
    pub fn assertion() -> Self {
        Self(())
    }
}

/// Verifies the server's identity.
pub trait CertVerifier: Send + Sync + fmt::Debug {
    /// Verifies `end_entity` (with `intermediates`) for `server_name` at `now`.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error>;

    /// Verifies a TLS 1.3 CertificateVerify `signature` over `message` (the context string,
    /// the zero byte and the transcript hash) with the key of `end_entity`.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, Error>;

    /// Verifies a TLS 1.2 ServerKeyExchange `signature` over `message`
    /// (`client_random ‖ server_random ‖ ServerECDHParams`, RFC 8422 §5.4) with the key of
    /// `end_entity`. The handshake has already checked that `scheme` was offered and fits the
    /// suite (ECDSA/Ed25519 for `ECDHE_ECDSA`, RSA PKCS#1 or PSS for `ECDHE_RSA`, no SHA-1).
    ///
    /// The default calls [`CertVerifier::verify_tls13_signature`] with the same arguments: it
    /// accepts only what that method verifies, so it is never more permissive. Its TLS 1.3
    /// semantics are stricter than TLS 1.2's in one respect: an ECDSA scheme is bound to its
    /// curve (a P-384 key signing with SHA-256 is refused). A verifier whose TLS 1.3 method
    /// refuses RSA PKCS#1 (as TLS 1.3 CertificateVerify must) has to override this method for
    /// `ECDHE_RSA` servers that sign with PKCS#1.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        self.verify_tls13_signature(message, end_entity, scheme, signature)
    }

    /// The schemes to offer in signature_algorithms, in preference order.
    fn supported_schemes(&self) -> Vec<SignatureScheme>;
}

/// Chooses a client certificate when a server sends a CertificateRequest.
pub trait ClientCertResolver: Send + Sync + fmt::Debug {
    /// The chain (end entity first) and a signer for one of `offered_schemes` (the server's,
    /// in its preference order — or in [`HandshakeConfig::signing_schemes`] order and only
    /// those, when set — restricted to schemes the negotiated version allows in a
    /// CertificateVerify: TLS 1.3 has no RSA PKCS#1; neither has SHA-1; in TLS 1.2 only keys
    /// of the CertificateRequest's `certificate_types`), or `None` to send an empty
    /// Certificate. Not called when no scheme is left. A signer whose scheme is not in
    /// `offered_schemes` is not used (an empty Certificate goes out instead).
    fn resolve(
        &self,
        offered_schemes: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)>;
}

/// Receives secrets in the NSS key log format: `label`, the ClientHello random, the secret.
pub trait KeyLog: Send + Sync {
    /// Logs one secret. Labels: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`,
    /// `EXPORTER_SECRET` (TLS 1.3); `CLIENT_EARLY_TRAFFIC_SECRET` (TLS 1.3, only when the
    /// server accepted early data); `CLIENT_RANDOM` with the master secret (TLS 1.2).
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

impl fmt::Debug for dyn KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyLog")
    }
}

/// Which keys protect a [`Event::Send`]: the client seals it with the write key current at
/// that point in the event sequence; the level says which one that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Plaintext (ClientHello; in TLS 1.2 also the client's flight before its
    /// ChangeCipherSpec).
    Initial,
    /// TLS 1.3 early-data keys (EndOfEarlyData).
    Early,
    /// Handshake traffic keys (in TLS 1.2: the connection keys, for the client's Finished).
    Handshake,
    /// Application traffic keys (post-handshake messages such as KeyUpdate).
    Application,
}

/// The longest session ticket the handshake keeps, in bytes (TLS 1.3 and TLS 1.2 alike).
///
/// A server may send a ticket of up to 65,535 bytes (RFC 8446 §4.6.1, RFC 5077 §3.3), but a
/// ticket goes back in the next ClientHello, whose whole extension block has a 16-bit length
/// too: the PSK identity (with the binder list, ~60 bytes) or the session_ticket extension
/// shares those 65,535 bytes with SNI, ALPN, the groups, signature schemes and key shares (a
/// hybrid ML-KEM share alone is 1,216 bytes). A ticket longer than this bound is therefore not
/// stored ([`Event::TicketReceived`] with `kept: false`), not read back from bytes and not
/// offered, so a server cannot make every later ClientHello to it unencodable. 16 KiB is 16×
/// the largest tickets common servers issue (OpenSSL, BoringSSL, rustls: 100–1,000 bytes; a
/// stateless ticket holding a client's certificate chain a few KiB) and keeps a session store
/// of N entries within N × 16 KiB.
pub const MAX_TICKET_LEN: usize = 16_384;

/// A TLS 1.3 session ticket with the PSK derived for it (RFC 8446 §4.6.1), for resumption.
///
/// A ticket is meant to be offered once (RFC 8446 §C.4): `StartOptions` takes it by value.
/// Cloning copies the PSK; whoever keeps copies (a session store) hands each out once.
#[derive(Clone)]
pub struct Tls13Ticket {
    /// The suite of the connection that received it (resumption needs the same hash).
    pub suite: CipherSuite,
    /// The opaque ticket, sent back as a PSK identity.
    pub ticket: Vec<u8>,
    /// `HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, HashLen)`.
    pub psk: Secret,
    /// Lifetime in seconds (at most 7 days).
    pub lifetime: u32,
    /// `ticket_age_add`.
    pub age_add: u32,
    /// `max_early_data_size`, if the server allows 0-RTT with it.
    pub max_early_data: Option<u32>,
    /// When it arrived (the `now` of the `handle` call).
    pub received_at: UnixTime,
    /// The server it is for.
    pub server_name: ServerName<'static>,
    /// The ALPN protocol negotiated on that connection.
    pub alpn: Option<Vec<u8>>,
}

impl fmt::Debug for Tls13Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls13Ticket")
            .field("suite", &self.suite)
            .field("ticket_len", &self.ticket.len())
            .field("lifetime", &self.lifetime)
            .field("max_early_data", &self.max_early_data)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// A TLS 1.2 session (RFC 5246 session id and/or RFC 5077 ticket) to resume later: emitted as
/// [`Event::Tls12Session`] after a handshake that makes one, given back through
/// [`StartOptions::tls12_session`].
#[derive(Clone)]
pub struct Tls12Session {
    /// The suite of the session (an abbreviated handshake must keep it).
    pub suite: CipherSuite,
    /// The 48-byte master secret (zeroized on drop).
    pub master_secret: Secret,
    /// The server's session id (empty: the session is resumable by ticket only).
    pub session_id: Vec<u8>,
    /// The RFC 5077 ticket, if the server issued one.
    pub ticket: Option<Vec<u8>>,
    /// The ticket's `ticket_lifetime_hint` in seconds (0: unspecified).
    pub ticket_lifetime_hint: u32,
    /// Whether the session used the extended master secret (RFC 7627): a resumption must
    /// agree (RFC 7627 §5.3).
    pub extended_master_secret: bool,
    /// The server it is for.
    pub server_name: ServerName<'static>,
    /// When the session was made (the `now` of the `handle` call that completed it).
    pub created_at: UnixTime,
    /// The ALPN protocol of the connection that made it.
    pub alpn: Option<Vec<u8>>,
}

impl fmt::Debug for Tls12Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls12Session")
            .field("suite", &self.suite)
            .field("session_id_len", &self.session_id.len())
            .field("ticket_len", &self.ticket.as_ref().map(Vec::len))
            .field("extended_master_secret", &self.extended_master_secret)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Per-connection options of [`crate::ClientHandshake::start`]: sessions to offer and two
/// policy switches. `StartOptions::default()`: no resumption, EMS required, `psk_dhe_ke` only.
#[derive(Debug, Default)]
pub struct StartOptions {
    /// A TLS 1.3 ticket to offer (RFC 8446 §4.2.11), consumed: each ticket is used once. It is
    /// offered only when TLS 1.3 is enabled, the ticket is for `server_name`, has not expired
    /// at `now`, and its suite is offered; otherwise the handshake is a full one. The server
    /// may decline it: the handshake then falls back to a full one by itself.
    pub tls13_ticket: Option<Tls13Ticket>,
    /// A TLS 1.2 session to offer (by ticket if it has one, else by session id). Offered
    /// only when TLS 1.2 is enabled, the session is for `server_name`, its suite is offered,
    /// and it used EMS (or [`StartOptions::allow_tls12_without_ems`] is set).
    pub tls12_session: Option<Tls12Session>,
    /// Accept a TLS 1.2 full handshake whose ServerHello lacks extended_master_secret
    /// (RFC 7627). Off by default: without EMS a man in the middle can synchronise two
    /// sessions' master secrets (the triple handshake attack), so such servers are refused
    /// with `handshake_failure`. Turn on only for legacy servers you must reach.
    pub allow_tls12_without_ems: bool,
    /// Also offer `psk_ke` (resumption without a fresh (EC)DHE, so without forward secrecy
    /// for that connection). Off by default: only `psk_dhe_ke` is offered.
    pub offer_psk_ke: bool,
    /// Test hooks (reproducing another implementation's ClientHello, observing secrets).
    /// Not part of the API.
    #[doc(hidden)]
    pub hooks: crate::common::TestHooks,
}

/// What the handshake asks of the client, in order: the client applies them strictly in
/// sequence (a `Send` is sealed with the write key installed by the events before it).
///
/// Deliberately not `#[non_exhaustive]`: a client matches every event, so an event added
/// later fails to compile where it would otherwise be dropped by a `_ => {}`.
#[derive(Debug)]
pub enum Event {
    /// Handshake message(s) to send.
    Send {
        /// The encryption level (informative: the current write key applies).
        level: Level,
        /// Whole handshake messages, concatenated.
        bytes: Vec<u8>,
    },
    /// A ChangeCipherSpec record (`14 03 03 00 01 01`), sealed with the current write key
    /// (none: plaintext). In TLS 1.3 the middlebox-compatibility one; in TLS 1.2 the real
    /// one, followed by the [`Event::InstallWriteKey`] it announces.
    SendCcs,
    /// TLS 1.2: the server's ChangeCipherSpec is the next record to come. Accept exactly one
    /// CCS record (`01`) from now on; when it arrives, call
    /// [`crate::ClientHandshake::handle_ccs`], which emits the [`Event::InstallReadKey`] for
    /// the records after it. Install nothing before the CCS arrives; any handshake record
    /// before it is an error (`handle` says so).
    ExpectCcs,
    /// Install this key for reading records from now on.
    InstallReadKey(TrafficKey),
    /// Install this key for writing records from now on.
    InstallWriteKey(TrafficKey),
    /// The server chose version, suite and group (`None` for a PSK-only handshake).
    ServerHello {
        /// The negotiated version.
        version: ProtocolVersion,
        /// The negotiated suite.
        suite: CipherSuite,
        /// The key-exchange group.
        group: Option<NamedGroup>,
    },
    /// The ALPN protocol the server chose (`None`: none).
    Alpn(Option<Vec<u8>>),
    /// The server's chain as received (emitted before it is verified, so that a failure can
    /// still show it). Shared: the handshake keeps the end entity from it for the
    /// CertificateVerify (TLS 1.2: ServerKeyExchange) signature, no copy.
    PeerCertificates(Arc<[CertificateDer<'static>]>),
    /// The handshake is complete: application data may flow.
    Complete,
    /// A session ticket arrived (post-handshake). Boxed, as is [`Event::Tls12Session`]: the
    /// largest variants would otherwise size every event (and the event vector a handshake
    /// step fills) to them.
    NewSessionTicket(Box<Tls13Ticket>),
    /// The server accepted the session we offered (a TLS 1.3 PSK or a TLS 1.2 abbreviated
    /// handshake). Comes right after [`Event::ServerHello`]; without it the handshake is a
    /// full one.
    Resumed,
    /// TLS 1.2 full handshake: the ServerKeyExchange's group (the [`Event::ServerHello`] of a
    /// TLS 1.2 handshake carries `group: None`).
    KeyExchangeGroup(NamedGroup),
    /// A resumable TLS 1.2 session (after the server's Finished verified, just before
    /// [`Event::Complete`] of a full handshake or after an abbreviated one).
    Tls12Session(Box<Tls12Session>),
    /// Send a warning alert with this description and go on: `no_renegotiation` in answer
    /// to a TLS 1.2 HelloRequest (we never renegotiate).
    SendWarningAlert(AlertDescription),
    /// TLS 1.3: the server sent a HelloRetryRequest (RFC 8446 §4.1.4), asking for a share of
    /// `group` (`None`: only a cookie). Comes before the events of our answer (the
    /// compatibility [`Event::SendCcs`], then the second ClientHello): from here on the
    /// version is TLS 1.3, so records go out as 0x0303 (RFC 8446 §5.1).
    HelloRetryRequest {
        /// The group the server asked for.
        group: Option<NamedGroup>,
    },
    /// A NewSessionTicket arrived (TLS 1.3 after the handshake, TLS 1.2 during it). `kept`
    /// is `false` when the ticket is longer than [`MAX_TICKET_LEN`] (or, in TLS 1.3, has a
    /// lifetime of zero: "discard immediately", RFC 8446 §4.6.1) and was dropped; a kept
    /// TLS 1.3 ticket follows as [`Event::NewSessionTicket`], a TLS 1.2 one goes into the
    /// [`Event::Tls12Session`] at the end of the handshake.
    TicketReceived {
        /// The version of the ticket.
        version: ProtocolVersion,
        /// The ticket's length in bytes.
        len: usize,
        /// Whether it was kept.
        kept: bool,
    },
    /// The server's stapled OCSP response (only when we sent status_request): TLS 1.3 from the
    /// end entity's CertificateEntry, TLS 1.2 from the CertificateStatus message. Not
    /// validated: a non-empty DER blob, as the server sent it.
    OcspResponse(Vec<u8>),
    /// The server's SignedCertificateTimestampList (RFC 6962 §3.3; only when we asked): TLS
    /// 1.3 from the end entity's CertificateEntry, TLS 1.2 from the ServerHello of a full
    /// handshake. The list and each SCT are non-empty; nothing else is checked.
    SignedCertificateTimestamps(Vec<u8>),
    /// The server's handshake signature verified with this scheme (TLS 1.3 CertificateVerify,
    /// TLS 1.2 ServerKeyExchange; none in a resumed handshake). Comes right after the
    /// verification, before the server's Finished.
    PeerSignatureScheme(SignatureScheme),
    /// The server's record_size_limit (RFC 8449), 64 or more: the largest record plaintext
    /// it accepts. Cap every protected record we send from now on: TLS 1.3 at `limit − 1`
    /// bytes of content (the limit counts the inner content type and padding; the protocol
    /// maximum 2^14 still applies), TLS 1.2 at `limit` (and 2^14): [`record_content_limit`].
    /// Plaintext records
    /// (ClientHello, alerts before keys) are not bound by it. TLS 1.3: right after
    /// [`Event::Alpn`] (EncryptedExtensions); TLS 1.2: right after [`Event::Alpn`] (ServerHello).
    /// Only comes when we offered one ([`crate::ExtensionOptions::record_size_limit`]); then
    /// our own limit applies to the server's protected records from the same point:
    /// refuse a larger one with `record_overflow`.
    PeerRecordSizeLimit(u16),
    /// TLS 1.3 0-RTT: the write key for early data (`client_early_traffic_secret`). Comes
    /// right after the first ClientHello's [`Event::Send`] (and the compatibility
    /// [`Event::SendCcs`]) when the ClientHello offered early_data. Application data written
    /// under it is early data: at most `max_early_data` bytes of it (the ticket's
    /// `max_early_data_size`). Keep it installed until the next [`Event::InstallWriteKey`]
    /// (the handshake sends EndOfEarlyData under it first, when the server accepted); stop
    /// writing early data once [`Event::EarlyData`] arrives.
    InstallEarlyWriteKey {
        /// The early traffic key.
        key: TrafficKey,
        /// How many bytes of early application data the server accepts at most.
        max_early_data: u32,
    },
    /// TLS 1.3 0-RTT: whether the server accepted the early data we offered (comes once, after
    /// [`Event::InstallEarlyWriteKey`]: on a HelloRetryRequest or the EncryptedExtensions; a
    /// TLS 1.2 ServerHello fails the handshake instead, RFC 8446 D.3). Accepted: keep the early write key installed (EndOfEarlyData
    /// goes out under it). Rejected: the server skipped or will skip every early record;
    /// remove the early write key, so that writes are plaintext again until the next
    /// [`Event::InstallWriteKey`] (after a HelloRetryRequest the second ClientHello follows
    /// in plaintext), write no more early data, and resend it after [`Event::Complete`] if
    /// the application wants it delivered.
    EarlyData {
        /// `true`: the server read the early data.
        accepted: bool,
    },
    /// What became of the ECH extension we sent ([`crate::ExtensionOptions::ech`]): `Grease`
    /// right after the first ClientHello's [`Event::Send`]; with a config, right after the
    /// TLS 1.3 [`Event::ServerHello`], `Accepted` (the handshake is the inner ClientHello's)
    /// or `Rejected` (the handshake goes on with the outer ClientHello and ends in
    /// [`crate::Error::EchRejected`]).
    Ech(crate::ech::EchStatus),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session variants are boxed: an event, and the vector of them a handshake step
    /// fills, is sized by a traffic key, not by a ticket or a TLS 1.2 session.
    #[test]
    fn events_are_no_larger_than_a_traffic_key_event() {
        let event = core::mem::size_of::<Event>();
        assert!(
            event <= core::mem::size_of::<TrafficKey>() + 16,
            "Event is {event} bytes"
        );
        assert!(core::mem::size_of::<Tls13Ticket>() > event);
        assert!(core::mem::size_of::<Tls12Session>() > event);
    }

    #[test]
    fn record_content_limits_follow_rfc_8449() {
        let v13 = ProtocolVersion::TLSv1_3;
        let v12 = ProtocolVersion::TLSv1_2;
        assert_eq!(record_content_limit(v13, 513), 512);
        assert_eq!(record_content_limit(v12, 512), 512);
        assert_eq!(record_content_limit(v13, 16385), 16384);
        assert_eq!(record_content_limit(v13, u16::MAX), 16384);
        assert_eq!(record_content_limit(v12, 16385), 16384);
        assert_eq!(record_content_limit(v13, 64), 63);
        assert_eq!(record_content_limit(v13, 10), 63);
    }
}

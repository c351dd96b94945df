//! What can go wrong, and how specific each failure is.

use core::fmt;
use rustls_pki_types::UnixTime;

/// Why a certificate, a chain or a trust-anchor source was rejected.
///
/// When several candidate paths fail, [`crate::Verifier`] returns the most specific error
/// found on any of them (see [`Error::specificity`]), not just the last one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The DER is malformed, or a field violates the X.509 / RFC 5280 encoding rules.
    BadEncoding {
        /// Which structure or field was wrong.
        what: &'static str,
    },
    /// A certificate field breaks the RFC 5280 / CA/Browser Forum profile (well-formed DER,
    /// but not a value a conforming certificate may carry).
    InvalidCertificate {
        /// What was wrong.
        what: &'static str,
    },
    /// The certificate expired before `now`.
    Expired {
        /// The certificate's notAfter (inclusive).
        not_after: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// The certificate is not valid yet at `now`.
    NotValidYet {
        /// The certificate's notBefore.
        not_before: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// No trust anchor (directly or through the presented intermediates) issued this chain.
    UnknownIssuer {
        /// The issuer name no path led to a trust anchor from (RFC 4514-like text).
        issuer: String,
    },
    /// An end-entity position holds a CA certificate (basicConstraints cA=TRUE).
    CaUsedAsEndEntity,
    /// An issuer position holds a certificate that is not a CA (no basicConstraints or cA=FALSE).
    EndEntityUsedAsCa,
    /// A CA's pathLenConstraint allows fewer intermediates below it than the path has.
    PathLenExceeded,
    /// The path would need more intermediates than the configured maximum depth.
    MaxDepthExceeded {
        /// The maximum number of intermediates allowed.
        max: usize,
    },
    /// The keyUsage extension forbids this use of the key.
    KeyUsageNotAllowed {
        /// The usage that was needed.
        needed: &'static str,
    },
    /// The extendedKeyUsage extension does not allow the requested purpose.
    RequiredEkuNotFound {
        /// The purpose that was needed (`serverAuth`, `clientAuth`).
        needed: &'static str,
    },
    /// The certificate is not valid for the name the caller expected.
    NotValidForName {
        /// The expected name.
        expected: String,
        /// The names the certificate presents (subjectAltName entries, as text).
        presented: Vec<String>,
    },
    /// The certificate has no subjectAltName, only a subject commonName; names are never
    /// taken from the commonName (RFC 6125, CA/B Forum).
    CommonNameOnly {
        /// The commonName it carries.
        common_name: String,
    },
    /// A subject commonName is not, character for character, one of the subjectAltNames
    /// (CA/B Forum BR 7.1.4.3).
    CommonNameNotInSan {
        /// The offending commonName.
        common_name: String,
    },
    /// A name in the certificate violates a CA's name constraints.
    NameConstraintViolation {
        /// The name (as text) that is excluded or not permitted.
        name: String,
    },
    /// The certificate is revoked by a CRL the caller supplied.
    Revoked {
        /// The revoked serial number (hex).
        serial: String,
    },
    /// A supplied CRL cannot be used: expired, badly signed, or not acceptable.
    InvalidCrl {
        /// What was wrong with it.
        what: &'static str,
    },
    /// A signature did not verify.
    BadSignature,
    /// The signature algorithm is not supported by the crypto provider.
    UnsupportedSignatureAlgorithm,
    /// The signature algorithm does not fit the issuer's key (e.g. an RSA signature from an
    /// ECDSA key), or the two signature-algorithm fields of the certificate differ.
    SignatureAlgorithmMismatch,
    /// The public key is of a forbidden kind or size (DSA, P-192, explicit curve parameters,
    /// RSA below 2048 bits or not a multiple of 8 bits).
    UnsupportedKey {
        /// What was wrong with it.
        what: &'static str,
    },
    /// An extension marked critical that this verifier does not understand.
    UnknownCriticalExtension {
        /// Its OID in dotted form.
        oid: String,
    },
    /// Path building gave up: hostile or absurd input used up the work budget.
    BudgetExceeded {
        /// Which limit was hit.
        what: &'static str,
    },
    /// The root store has no trust anchors.
    NoTrustAnchors,
    /// Reading a trust-anchor or CRL source failed.
    Io {
        /// The file or directory.
        path: String,
        /// The operating-system error text.
        error: String,
    },
}

impl Error {
    /// How specific the error is: the verifier keeps, across all candidate paths, the error
    /// with the highest rank. A path that failed only because no issuer was found says least;
    /// one that reached a trust anchor and then failed on time, revocation or names says most.
    pub fn specificity(&self) -> u8 {
        match self {
            Self::BudgetExceeded { .. } => 100,
            Self::NoTrustAnchors | Self::Io { .. } => 90,
            Self::Revoked { .. } => 80,
            Self::NameConstraintViolation { .. } => 75,
            Self::Expired { .. } | Self::NotValidYet { .. } => 70,
            Self::InvalidCrl { .. } => 65,
            Self::PathLenExceeded | Self::MaxDepthExceeded { .. } => 60,
            Self::RequiredEkuNotFound { .. } | Self::KeyUsageNotAllowed { .. } => 55,
            Self::CaUsedAsEndEntity | Self::EndEntityUsedAsCa => 50,
            Self::UnknownCriticalExtension { .. } | Self::InvalidCertificate { .. } => 45,
            Self::UnsupportedKey { .. } => 40,
            Self::NotValidForName { .. }
            | Self::CommonNameOnly { .. }
            | Self::CommonNameNotInSan { .. } => 35,
            Self::BadSignature
            | Self::SignatureAlgorithmMismatch
            | Self::UnsupportedSignatureAlgorithm => 30,
            Self::BadEncoding { .. } => 20,
            Self::UnknownIssuer { .. } => 0,
        }
    }

    pub(crate) fn bad(what: &'static str) -> Self {
        Self::BadEncoding { what }
    }

    pub(crate) fn invalid(what: &'static str) -> Self {
        Self::InvalidCertificate { what }
    }

    /// Keeps the more specific of `self` and `other` (ties keep the first seen).
    pub(crate) fn most_specific(best: &mut Option<Self>, other: Self) {
        match best {
            Some(b) if b.specificity() >= other.specificity() => {}
            _ => *best = Some(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadEncoding { what } => write!(f, "malformed certificate data: {what}"),
            Self::InvalidCertificate { what } => write!(f, "invalid certificate: {what}"),
            Self::Expired { not_after, now } => write!(
                f,
                "certificate expired: notAfter {} is before now {}",
                not_after.as_secs(),
                now.as_secs()
            ),
            Self::NotValidYet { not_before, now } => write!(
                f,
                "certificate not valid yet: notBefore {} is after now {}",
                not_before.as_secs(),
                now.as_secs()
            ),
            Self::UnknownIssuer { issuer } => {
                write!(f, "no path to a trust anchor (unknown issuer {issuer})")
            }
            Self::CaUsedAsEndEntity => write!(f, "a CA certificate is used as end entity"),
            Self::EndEntityUsedAsCa => write!(f, "a non-CA certificate is used as issuer"),
            Self::PathLenExceeded => write!(f, "a CA's path length constraint is exceeded"),
            Self::MaxDepthExceeded { max } => {
                write!(f, "the path needs more than {max} intermediates")
            }
            Self::KeyUsageNotAllowed { needed } => {
                write!(f, "key usage does not allow {needed}")
            }
            Self::RequiredEkuNotFound { needed } => {
                write!(f, "extended key usage does not allow {needed}")
            }
            Self::NotValidForName {
                expected,
                presented,
            } => write!(
                f,
                "certificate is not valid for {expected} (it is valid for: {})",
                presented.join(", ")
            ),
            Self::CommonNameOnly { common_name } => write!(
                f,
                "certificate has no subjectAltName, only the commonName {common_name:?} \
                 (commonName is not used for name checks)"
            ),
            Self::CommonNameNotInSan { common_name } => write!(
                f,
                "subject commonName {common_name:?} is not one of the subjectAltNames"
            ),
            Self::NameConstraintViolation { name } => {
                write!(f, "name {name} violates a CA's name constraints")
            }
            Self::Revoked { serial } => write!(f, "certificate (serial {serial}) is revoked"),
            Self::InvalidCrl { what } => write!(f, "unusable CRL: {what}"),
            Self::BadSignature => write!(f, "bad signature"),
            Self::UnsupportedSignatureAlgorithm => write!(f, "unsupported signature algorithm"),
            Self::SignatureAlgorithmMismatch => {
                write!(
                    f,
                    "signature algorithm does not match the key or the certificate"
                )
            }
            Self::UnsupportedKey { what } => write!(f, "unsupported public key: {what}"),
            Self::UnknownCriticalExtension { oid } => {
                write!(f, "unknown critical extension {oid}")
            }
            Self::BudgetExceeded { what } => {
                write!(f, "path building gave up: {what} budget exhausted")
            }
            Self::NoTrustAnchors => write!(f, "no trust anchors"),
            Self::Io { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

impl std::error::Error for Error {}

use crate::{Aead, Hash, Hkdf, Hmac};
use overture_types::{CipherSuite, ProtocolVersion};

/// A TLS 1.3 cipher suite: an AEAD and the hash of the key schedule.
#[derive(Debug)]
pub struct Tls13CipherSuite {
    /// The code point.
    pub suite: CipherSuite,
    /// The transcript and key-schedule hash.
    pub hash: &'static dyn Hash,
    /// HMAC over `hash` (Finished).
    pub hmac: &'static dyn Hmac,
    /// HKDF over `hash` (key schedule).
    pub hkdf: &'static dyn Hkdf,
    /// The record protection.
    pub aead: &'static dyn Aead,
}

/// How the server signs its key exchange in a TLS 1.2 ECDHE suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls12KxSignature {
    /// `TLS_ECDHE_ECDSA_*`.
    Ecdsa,
    /// `TLS_ECDHE_RSA_*`.
    Rsa,
}

/// How a TLS 1.2 AEAD suite builds its per-record nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls12NonceStyle {
    /// AES-GCM (RFC 5288): 4-byte implicit salt ‖ 8-byte explicit nonce sent in the record.
    ExplicitGcm,
    /// ChaCha20-Poly1305 (RFC 7905): 12-byte IV XOR sequence number, nothing sent.
    XorSequence,
}

/// A TLS 1.2 ECDHE AEAD cipher suite.
#[derive(Debug)]
pub struct Tls12CipherSuite {
    /// The code point.
    pub suite: CipherSuite,
    /// The PRF and transcript hash.
    pub hash: &'static dyn Hash,
    /// HMAC over `hash` (the PRF, RFC 5246 §5).
    pub hmac: &'static dyn Hmac,
    /// The record protection.
    pub aead: &'static dyn Aead,
    /// The server's signature kind.
    pub kx_signature: Tls12KxSignature,
    /// The nonce construction.
    pub nonce: Tls12NonceStyle,
    /// Fixed IV bytes derived from the key block: 4 for GCM, 12 for ChaCha20-Poly1305.
    pub fixed_iv_len: usize,
    /// Explicit nonce bytes carried in each record: 8 for GCM, 0 for ChaCha20-Poly1305.
    pub explicit_nonce_len: usize,
}

/// A cipher suite of either version.
#[derive(Clone, Copy, Debug)]
pub enum SupportedCipherSuite {
    /// A TLS 1.3 suite.
    Tls13(&'static Tls13CipherSuite),
    /// A TLS 1.2 suite.
    Tls12(&'static Tls12CipherSuite),
}

impl SupportedCipherSuite {
    /// The code point.
    pub fn suite(&self) -> CipherSuite {
        match self {
            Self::Tls13(s) => s.suite,
            Self::Tls12(s) => s.suite,
        }
    }

    /// The protocol version the suite belongs to.
    pub fn version(&self) -> ProtocolVersion {
        match self {
            Self::Tls13(_) => ProtocolVersion::TLSv1_3,
            Self::Tls12(_) => ProtocolVersion::TLSv1_2,
        }
    }

    /// The suite's hash.
    pub fn hash(&self) -> &'static dyn Hash {
        match self {
            Self::Tls13(s) => s.hash,
            Self::Tls12(s) => s.hash,
        }
    }

    /// The suite's AEAD.
    pub fn aead(&self) -> &'static dyn Aead {
        match self {
            Self::Tls13(s) => s.aead,
            Self::Tls12(s) => s.aead,
        }
    }
}

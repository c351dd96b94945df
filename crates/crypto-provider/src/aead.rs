use crate::Error;
use core::fmt;

/// The nonce length of every AEAD in scope (RFC 8446 §5.3, RFC 5288, RFC 7905).
pub const NONCE_LEN: usize = 12;
/// The tag length of every AEAD in scope.
pub const TAG_LEN: usize = 16;

/// An AEAD algorithm in scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// The key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// How many records one key may protect before confidentiality weakens: 2^24.5 full-size
    /// records for AES-GCM (RFC 8446 §5.5); ChaCha20-Poly1305 has no practical limit.
    pub const fn confidentiality_limit(self) -> u64 {
        match self {
            Self::Aes128Gcm | Self::Aes256Gcm => 23_726_566,
            Self::ChaCha20Poly1305 => u64::MAX,
        }
    }

    /// How many forged records may fail to open before integrity weakens: 2^36 for AES-GCM
    /// and ChaCha20-Poly1305 (RFC 9147 §4.5.3, from the AEAD-limits analysis).
    pub const fn integrity_limit(self) -> u64 {
        1 << 36
    }
}

/// A per-record nonce. Neither `Clone` nor `Copy`: each one is used once, by value.
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A nonce with these exact bytes (TLS 1.2 AES-GCM: 4-byte salt ‖ 8-byte explicit part).
    pub const fn new(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    /// `iv` XOR the big-endian sequence number, left-padded (RFC 8446 §5.3, RFC 7905).
    pub fn xor_seq(iv: &[u8; NONCE_LEN], seq: u64) -> Self {
        let mut n = *iv;
        for (b, s) in n.iter_mut().skip(NONCE_LEN - 8).zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        Self(n)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(..)")
    }
}

/// An AEAD tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag(pub [u8; TAG_LEN]);

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// An AEAD algorithm, ready to be keyed.
pub trait Aead: Send + Sync + fmt::Debug {
    /// Which algorithm this is.
    fn algorithm(&self) -> AeadAlgorithm;

    /// A keyed instance. Fails with [`Error::InvalidKey`] for a key of the wrong length.
    fn with_key(&self, key: &[u8]) -> Result<Box<dyn BoundAead>, Error>;

    /// The key length in bytes.
    fn key_len(&self) -> usize {
        self.algorithm().key_len()
    }
}

/// A keyed AEAD. Both directions work in place and allocate nothing; key material is zeroized
/// on drop (by the underlying library).
pub trait BoundAead: Send + Sync {
    /// Encrypts `in_out` in place and returns the tag, which the caller appends.
    fn seal_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<Tag, Error>;

    /// Decrypts `in_out` (ciphertext ‖ tag) in place after checking the tag in constant time,
    /// and returns the plaintext length (`in_out.len() - TAG_LEN`). On failure the buffer's
    /// contents are unspecified and must not be used.
    fn open_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<usize, Error>;

    /// Which algorithm this is.
    fn algorithm(&self) -> AeadAlgorithm;
}

//! Record keys: a keyed AEAD, its IV and the nonce construction of the protocol version.

use crate::Error;
use core::fmt;
use overture_crypto_provider::{
    Aead, AeadAlgorithm, BoundAead, NONCE_LEN, Nonce, Secret, Tls12CipherSuite, Tls12NonceStyle,
};

/// How a key builds nonces and frames records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// TLS 1.3: nonce = IV xor seq, inner content type, AAD = record header.
    Tls13,
    /// TLS 1.2 AES-GCM (RFC 5288): salt ‖ 8-byte explicit nonce carried in the record.
    Tls12Gcm,
    /// TLS 1.2 ChaCha20-Poly1305 (RFC 7905): IV xor seq, nothing carried.
    Tls12Xor,
}

/// A traffic key for one direction: the keyed AEAD and the IV, plus which protocol's record
/// protection it is for. The key material lives in the provider's keyed AEAD (zeroized by it);
/// the IV is held as a [`Secret`] (zeroized on drop).
pub struct RecordKey {
    pub(crate) aead: Box<dyn BoundAead>,
    /// 12 bytes: the TLS 1.3 / ChaCha IV, or the 4-byte GCM salt followed by 8 zero bytes.
    iv: Secret,
    pub(crate) style: Style,
    pub(crate) algorithm: AeadAlgorithm,
}

impl RecordKey {
    /// A TLS 1.3 traffic key (`[sender]_write_key` / `_iv`, RFC 8446 §7.3).
    pub fn tls13(aead: &'static dyn Aead, key: &[u8], iv: &[u8; NONCE_LEN]) -> Result<Self, Error> {
        Self::build(aead, key, iv, Style::Tls13)
    }

    /// A TLS 1.2 AES-GCM key (RFC 5288): `salt` is the 4-byte `client/server_write_IV` of the
    /// key block. We send our sequence number as the 8-byte explicit nonce (which RFC 5288 §3
    /// allows and which makes the nonce unique by construction).
    pub fn tls12_gcm(aead: &'static dyn Aead, key: &[u8], salt: &[u8; 4]) -> Result<Self, Error> {
        if aead.algorithm() == AeadAlgorithm::ChaCha20Poly1305 {
            return Err(Error::InvalidKey("ChaCha20-Poly1305 has no explicit nonce"));
        }
        let mut iv = [0u8; NONCE_LEN];
        for (d, s) in iv.iter_mut().zip(salt) {
            *d = *s;
        }
        Self::build(aead, key, &iv, Style::Tls12Gcm)
    }

    /// A TLS 1.2 ChaCha20-Poly1305 key (RFC 7905): `iv` is the 12-byte write IV of the key block.
    pub fn tls12_chacha(
        aead: &'static dyn Aead,
        key: &[u8],
        iv: &[u8; NONCE_LEN],
    ) -> Result<Self, Error> {
        if aead.algorithm() != AeadAlgorithm::ChaCha20Poly1305 {
            return Err(Error::InvalidKey(
                "only ChaCha20-Poly1305 uses IV xor seq in TLS 1.2",
            ));
        }
        Self::build(aead, key, iv, Style::Tls12Xor)
    }

    /// A TLS 1.2 key for `suite`, with the suite's nonce style; `fixed_iv` must have the
    /// suite's `fixed_iv_len` (4 for GCM, 12 for ChaCha20-Poly1305).
    pub fn tls12(suite: &Tls12CipherSuite, key: &[u8], fixed_iv: &[u8]) -> Result<Self, Error> {
        match suite.nonce {
            Tls12NonceStyle::ExplicitGcm => {
                let salt = <&[u8; 4]>::try_from(fixed_iv)
                    .map_err(|_| Error::InvalidKey("GCM fixed IV must be 4 bytes"))?;
                Self::tls12_gcm(suite.aead, key, salt)
            }
            Tls12NonceStyle::XorSequence => {
                let iv = <&[u8; NONCE_LEN]>::try_from(fixed_iv)
                    .map_err(|_| Error::InvalidKey("ChaCha20-Poly1305 IV must be 12 bytes"))?;
                Self::tls12_chacha(suite.aead, key, iv)
            }
        }
    }

    fn build(
        aead: &'static dyn Aead,
        key: &[u8],
        iv: &[u8; NONCE_LEN],
        style: Style,
    ) -> Result<Self, Error> {
        let bound = aead
            .with_key(key)
            .map_err(|_| Error::InvalidKey("wrong key length for the AEAD"))?;
        let iv = Secret::new(iv).ok_or(Error::InvalidKey("IV too long"))?;
        Ok(Self {
            algorithm: bound.algorithm(),
            aead: bound,
            iv,
            style,
        })
    }

    /// The AEAD algorithm.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    /// Whether this is a TLS 1.3 key.
    pub fn is_tls13(&self) -> bool {
        self.style == Style::Tls13
    }

    /// The nonce for record `seq`: IV xor seq, which for a GCM key (salt ‖ 0^8) is exactly
    /// salt ‖ seq — the explicit nonce we send.
    pub(crate) fn nonce(&self, seq: u64) -> Nonce {
        let mut iv = [0u8; NONCE_LEN];
        for (d, s) in iv.iter_mut().zip(self.iv.as_bytes()) {
            *d = *s;
        }
        Nonce::xor_seq(&iv, seq)
    }

    /// The TLS 1.2 GCM nonce: salt ‖ the explicit part received in the record.
    pub(crate) fn gcm_nonce(&self, explicit: &[u8]) -> Nonce {
        let mut n = [0u8; NONCE_LEN];
        for (d, s) in n
            .iter_mut()
            .zip(self.iv.as_bytes().iter().take(4).chain(explicit))
        {
            *d = *s;
        }
        Nonce::new(n)
    }

    /// Bytes between the record header and the payload (the GCM explicit nonce).
    pub(crate) fn explicit_len(&self) -> usize {
        match self.style {
            Style::Tls12Gcm => 8,
            Style::Tls13 | Style::Tls12Xor => 0,
        }
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordKey")
            .field("algorithm", &self.algorithm)
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

/// TLS 1.3 record padding (RFC 8446 §5.4) for what we send. None by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    #[default]
    None,
    /// Pad each inner plaintext (content ‖ type) with zeros up to a multiple of this many
    /// bytes, never beyond the 2^14 + 1 limit. 0 and 1 mean no padding.
    Block(u16),
}

impl Padding {
    /// The zero bytes to add after the content type, for `content_len` bytes of content.
    pub(crate) fn pad_len(self, content_len: usize) -> usize {
        match self {
            Self::None => 0,
            Self::Block(b) => {
                let b = usize::from(b);
                let inner = content_len.saturating_add(1);
                if b <= 1 {
                    return 0;
                }
                let padded = inner.div_ceil(b).saturating_mul(b);
                padded
                    .min(crate::MAX_INNER_PLAINTEXT_LEN)
                    .saturating_sub(inner)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_crypto_provider::ring;

    #[test]
    fn constructors_check_the_style() {
        assert!(RecordKey::tls13(&ring::AES_128_GCM, &[0; 16], &[0; 12]).is_ok());
        let e = RecordKey::tls13(&ring::AES_128_GCM, &[0; 15], &[0; 12]).unwrap_err();
        assert!(matches!(e, Error::InvalidKey(_)));
        assert!(RecordKey::tls12_gcm(&ring::CHACHA20_POLY1305, &[0; 32], &[0; 4]).is_err());
        assert!(RecordKey::tls12_chacha(&ring::AES_256_GCM, &[0; 32], &[0; 12]).is_err());
        let k = RecordKey::tls12(
            &ring::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            &[0; 16],
            &[1, 2, 3, 4],
        )
        .unwrap();
        assert_eq!(k.explicit_len(), 8);
        assert!(!k.is_tls13());
        assert!(
            RecordKey::tls12(
                &ring::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                &[0; 16],
                &[1; 12]
            )
            .is_err()
        );
        assert!(format!("{k:?}").contains("Aes128Gcm"));
    }

    #[test]
    fn gcm_nonce_is_salt_and_sequence() {
        let k = RecordKey::tls12_gcm(&ring::AES_128_GCM, &[0; 16], &[9, 8, 7, 6]).unwrap();
        assert_eq!(
            k.nonce(0x0102).as_bytes(),
            &[9, 8, 7, 6, 0, 0, 0, 0, 0, 0, 1, 2]
        );
        assert_eq!(
            k.gcm_nonce(&[1, 2, 3, 4, 5, 6, 7, 8]).as_bytes(),
            &[9, 8, 7, 6, 1, 2, 3, 4, 5, 6, 7, 8]
        );
    }

    #[test]
    fn padding_rounds_up_and_respects_the_limit() {
        assert_eq!(Padding::None.pad_len(10), 0);
        assert_eq!(Padding::Block(1).pad_len(10), 0);
        assert_eq!(Padding::Block(16).pad_len(10), 5);
        assert_eq!(Padding::Block(16).pad_len(15), 0);
        assert_eq!(Padding::Block(4096).pad_len(16384), 0);
        assert_eq!(Padding::Block(4096).pad_len(16000), 383);
    }
}

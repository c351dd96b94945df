//! `overture-crypto-provider`: the cryptography of the Overture TLS stack, behind traits.
//!
//! ```text
//!   record-layer ──► Aead ─► BoundAead::{seal,open}_in_place(nonce, aad, buf)
//!   handshake    ──► Hash/HashContext (transcript), Hkdf/HkdfExpander (key schedule),
//!                    Hmac (Finished, TLS 1.2 PRF), KeyExchange (ECDHE), SignatureVerifier,
//!                    KeyProvider/Signer (client certificates), SecureRandom
//!   x509-verify  ──► SignatureVerifier (certificate signatures), Hash (cache keys)
//!   ECH          ──► hpke::Hpke (RFC 9180 on the provider's X25519, HKDF and AEAD)
//!   KeyExchange groups: (EC)DH, and hybrid::Hybrid = (EC)DH + Kem (X25519MLKEM768, …)
//!                        │
//!        CryptoProvider { cipher_suites, kx_groups, signature_verifiers, secure_random, … }
//!                        │  a struct of `&'static dyn` pieces: swap one, keep the rest
//!            ┌───────────┴────────────┐
//!        ring (default)         rustcrypto (feature)
//! ```
//!
//! Only this crate names `ring` or RustCrypto crates: every other layer reaches crypto through
//! these traits, so a provider can be swapped for a FIPS module, an HSM or a test provider.
//! The two built-in providers have the same pieces under the same names (`ring::X25519`,
//! `rustcrypto::X25519`, …), both pass the Wycheproof corpus (`tests/wycheproof.rs`), and
//! their pieces mix in one [`CryptoProvider`]; `rustcrypto`'s key provider does not sign with
//! RSA (see its module documentation).
//! Secrets ([`Secret`]) are zeroized on drop; tags, MACs and Finished values compare in
//! constant time ([`Output::ct_eq`], [`HmacKey::verify`], AEAD opens).
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use overture_crypto_provider::{expand_label_secret, ring, Hkdf, Nonce};
//!
//! let provider = ring::default_provider();
//! // An AEAD seal and open, in place.
//! let aead = provider.tls13_suites().next().unwrap().aead;
//! let key = aead.with_key(&[7u8; 16]).unwrap();
//! let mut buf = *b"hello";
//! let tag = key.seal_in_place(Nonce::xor_seq(&[0; 12], 1), b"aad", &mut buf).unwrap();
//! let mut record = buf.to_vec();
//! record.extend_from_slice(tag.as_ref());
//! let n = key.open_in_place(Nonce::xor_seq(&[0; 12], 1), b"aad", &mut record).unwrap();
//! assert_eq!(&record[..n], b"hello");
//!
//! // HKDF-Expand-Label, as the TLS 1.3 key schedule uses it.
//! let hkdf = &ring::HKDF_SHA256;
//! let prk = hkdf.extract(&[], &[0u8; 32]);
//! let expander = hkdf.expander(prk.as_bytes()).unwrap();
//! let derived = expand_label_secret(&*expander, b"derived", &[], 32).unwrap();
//! assert_eq!(derived.len(), 32);
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aead;
mod error;
mod hash;
mod hkdf;
mod hmac;
pub mod hpke;
pub mod hybrid;
mod kem;
mod kx;
mod secret;
mod sign;
mod suites;
mod verify;

#[cfg(feature = "ring")]
pub mod ring;
#[cfg(feature = "rustcrypto")]
pub mod rustcrypto;

pub use aead::{Aead, AeadAlgorithm, BoundAead, NONCE_LEN, Nonce, TAG_LEN, Tag};
pub use error::Error;
pub use hash::{Hash, HashAlgorithm, HashContext};
pub use hkdf::{Hkdf, HkdfExpander, expand_label, expand_label_secret, expand_label_secret_with};
pub use hmac::{Hmac, HmacKey};
#[cfg(feature = "ring")]
pub use kem::LibcruxMlKem768;
#[cfg(feature = "rustcrypto")]
pub use kem::RustCryptoMlKem768;
pub use kem::{
    Kem, KemAlgorithm, KemDecapsulator, MLKEM_ENCAPS_RANDOMNESS_LEN, MLKEM_SEED_LEN,
    MLKEM_SHARED_SECRET_LEN, MLKEM768_CIPHERTEXT_LEN, MLKEM768_DECAPSULATION_KEY_LEN,
    MLKEM768_ENCAPSULATION_KEY_LEN,
};
pub use kx::{ActiveKeyExchange, CompletedKeyExchange, KeyExchange};
pub use secret::{MAX_OUTPUT_LEN, Output, Secret};
pub use sign::{KeyProvider, SecureRandom, Signer, SigningKey};
pub use suites::{
    SupportedCipherSuite, Tls12CipherSuite, Tls12KxSignature, Tls12NonceStyle, Tls13CipherSuite,
};
pub use verify::{RSA_PSS_KEY_ALG_ID, SignatureVerifier};

use overture_types::pki::AlgorithmIdentifier;
use overture_types::{CipherSuite, NamedGroup, SignatureScheme};

/// Everything cryptographic a TLS client needs, as replaceable pieces.
///
/// Build one from a provider module and replace what you need with struct-update syntax:
///
/// ```
/// # #[cfg(feature = "ring")] {
/// use overture_crypto_provider::{ring, CryptoProvider};
/// use overture_types::NamedGroup;
///
/// let base = ring::default_provider();
/// let x25519_only = CryptoProvider {
///     kx_groups: base.kx_groups.iter().copied().filter(|g| g.group() == NamedGroup::X25519).collect(),
///     ..base
/// };
/// assert_eq!(x25519_only.kx_groups.len(), 1);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CryptoProvider {
    /// Cipher suites in preference order (TLS 1.3 and TLS 1.2).
    pub cipher_suites: Vec<SupportedCipherSuite>,
    /// Key-exchange groups in preference order; the first is the one a ClientHello shares a
    /// key for.
    pub kx_groups: Vec<&'static dyn KeyExchange>,
    /// Key-exchange groups the provider has but does not offer unless a configuration asks for
    /// them by name (the built-in providers: SecP256r1MLKEM768). [`CryptoProvider::find_kx`]
    /// finds them; a handshake offers only `kx_groups`.
    pub extra_kx_groups: Vec<&'static dyn KeyExchange>,
    /// Signature verification algorithms, for handshake and certificate signatures.
    pub signature_verifiers: Vec<&'static dyn SignatureVerifier>,
    /// Hash functions by algorithm (for users outside a cipher suite, e.g. cache keys).
    pub hashes: Vec<&'static dyn Hash>,
    /// Key-encapsulation mechanisms (ML-KEM-768), for users outside a key-exchange group
    /// (known-answer tests); the hybrid groups in `kx_groups` carry their own.
    pub kems: Vec<&'static dyn Kem>,
    /// The random source.
    pub secure_random: &'static dyn SecureRandom,
    /// Loads client-certificate private keys.
    pub key_provider: &'static dyn KeyProvider,
}

impl CryptoProvider {
    /// The TLS 1.3 suites, in preference order.
    pub fn tls13_suites(&self) -> impl Iterator<Item = &'static Tls13CipherSuite> + '_ {
        self.cipher_suites.iter().filter_map(|s| match s {
            SupportedCipherSuite::Tls13(s) => Some(*s),
            SupportedCipherSuite::Tls12(_) => None,
        })
    }

    /// The TLS 1.2 suites, in preference order.
    pub fn tls12_suites(&self) -> impl Iterator<Item = &'static Tls12CipherSuite> + '_ {
        self.cipher_suites.iter().filter_map(|s| match s {
            SupportedCipherSuite::Tls12(s) => Some(*s),
            SupportedCipherSuite::Tls13(_) => None,
        })
    }

    /// The suite with this code point.
    pub fn find_suite(&self, suite: CipherSuite) -> Option<SupportedCipherSuite> {
        self.cipher_suites
            .iter()
            .copied()
            .find(|s| s.suite() == suite)
    }

    /// The key exchange for `group`, among `kx_groups` and then `extra_kx_groups`.
    pub fn find_kx(&self, group: NamedGroup) -> Option<&'static dyn KeyExchange> {
        self.kx_groups
            .iter()
            .chain(&self.extra_kx_groups)
            .copied()
            .find(|g| g.group() == group)
    }

    /// The verifier for the TLS signature scheme `scheme`.
    pub fn verifier_for_scheme(
        &self,
        scheme: SignatureScheme,
    ) -> Option<&'static dyn SignatureVerifier> {
        self.signature_verifiers
            .iter()
            .copied()
            .find(|v| v.scheme() == Some(scheme))
    }

    /// The verifiers that implement the signature algorithm `signature_alg_id` for a key of
    /// algorithm `public_key_alg_id` (X.509).
    pub fn verifiers_for_alg_ids<'a>(
        &'a self,
        public_key_alg_id: &'a [u8],
        signature_alg_id: &'a [u8],
    ) -> impl Iterator<Item = &'static dyn SignatureVerifier> + 'a {
        self.signature_verifiers.iter().copied().filter(move |v| {
            v.public_key_alg_id().as_ref() == public_key_alg_id
                && v.signature_alg_id().as_ref() == signature_alg_id
        })
    }

    /// The TLS signature schemes this provider can verify, in preference order.
    pub fn supported_schemes(&self) -> Vec<SignatureScheme> {
        let mut out = Vec::new();
        for s in self.signature_verifiers.iter().filter_map(|v| v.scheme()) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// The KEM for `alg`.
    pub fn find_kem(&self, alg: KemAlgorithm) -> Option<&'static dyn Kem> {
        self.kems.iter().copied().find(|k| k.algorithm() == alg)
    }

    /// The hash for `alg`.
    pub fn hash(&self, alg: HashAlgorithm) -> Option<&'static dyn Hash> {
        self.hashes.iter().copied().find(|h| h.algorithm() == alg)
    }
}

/// Re-exported so callers can name algorithm identifiers without another dependency.
pub type AlgId = AlgorithmIdentifier;

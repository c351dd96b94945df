//! Key-encapsulation mechanisms: ML-KEM-768 (FIPS 203), for the hybrid groups of
//! [`crate::hybrid`] and for Wycheproof.
//!
//! ```text
//!   client (decapsulator)                      server (encapsulator)
//!   Kem::generate ─► encapsulation key (1184) ─► Kem::encapsulate(ek) ─► ciphertext (1088)
//!   KemDecapsulator::decapsulate(ciphertext) ◄──────────────────────────┘ + shared secret (32)
//!       └─► the same 32-byte shared secret
//! ```
//!
//! The core of every implementation is deterministic — key generation from a 64-byte seed
//! `d ‖ z` (FIPS 203 `ML-KEM.KeyGen_internal`), encapsulation with a 32-byte message `m`
//! (`ML-KEM.Encaps_internal`) — and the randomized operations draw those bytes from the
//! provider's [`SecureRandom`]. Known-answer tests (Wycheproof) call the deterministic ones.
//!
//! Lengths are checked before any arithmetic: an encapsulation key or a ciphertext of the wrong
//! length is an error ([`Error::InvalidPublicKey`] / [`Error::InvalidPeerShare`]), never a panic.
//! A ciphertext of the right length always decapsulates (ML-KEM's implicit rejection gives a
//! pseudo-random secret for a forged one, and the TLS handshake then fails at Finished).

use crate::{Error, Secret, SecureRandom};
use core::fmt;
use zeroize::Zeroizing;

/// ML-KEM-768: encapsulation-key length in bytes.
pub const MLKEM768_ENCAPSULATION_KEY_LEN: usize = 1184;
/// ML-KEM-768: ciphertext length in bytes.
pub const MLKEM768_CIPHERTEXT_LEN: usize = 1088;
/// ML-KEM-768: length of the expanded decapsulation key (`dk` of FIPS 203) in bytes.
pub const MLKEM768_DECAPSULATION_KEY_LEN: usize = 2400;
/// ML-KEM: key-generation seed length (`d ‖ z`), the private key's preferred form.
pub const MLKEM_SEED_LEN: usize = 64;
/// ML-KEM: encapsulation randomness length (`m`).
pub const MLKEM_ENCAPS_RANDOMNESS_LEN: usize = 32;
/// ML-KEM: shared-secret length.
pub const MLKEM_SHARED_SECRET_LEN: usize = 32;

/// A KEM algorithm in scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KemAlgorithm {
    /// ML-KEM-768 (FIPS 203).
    MlKem768,
}

impl KemAlgorithm {
    /// The encapsulation-key length in bytes.
    pub const fn encapsulation_key_len(self) -> usize {
        match self {
            Self::MlKem768 => MLKEM768_ENCAPSULATION_KEY_LEN,
        }
    }

    /// The ciphertext length in bytes.
    pub const fn ciphertext_len(self) -> usize {
        match self {
            Self::MlKem768 => MLKEM768_CIPHERTEXT_LEN,
        }
    }
}

/// A key-encapsulation mechanism.
pub trait Kem: Send + Sync + fmt::Debug {
    /// Which algorithm this is.
    fn algorithm(&self) -> KemAlgorithm;

    /// The random source for [`Kem::generate`] and [`Kem::encapsulate`].
    fn random(&self) -> &'static dyn SecureRandom;

    /// Deterministic key generation from a seed `d ‖ z` of [`MLKEM_SEED_LEN`] bytes
    /// (FIPS 203 `ML-KEM.KeyGen_internal`). A seed of another length is [`Error::InvalidKey`].
    fn generate_from_seed(&self, seed: &[u8]) -> Result<Box<dyn KemDecapsulator>, Error>;

    /// Deterministic encapsulation to `encapsulation_key` with the message `m`
    /// (FIPS 203 `ML-KEM.Encaps_internal`): the ciphertext and the shared secret.
    ///
    /// The key must have the exact length and pass FIPS 203's modulus check (§7.2), otherwise
    /// [`Error::InvalidPublicKey`]; `m` of another length is [`Error::InvalidKey`].
    ///
    /// Reusing `m` is catastrophic: use [`Kem::encapsulate`] outside known-answer tests.
    #[doc(hidden)]
    fn encapsulate_deterministic(
        &self,
        encapsulation_key: &[u8],
        m: &[u8],
    ) -> Result<(Vec<u8>, Secret), Error>;

    /// A fresh key pair.
    fn generate(&self) -> Result<Box<dyn KemDecapsulator>, Error> {
        let mut seed = Zeroizing::new([0u8; MLKEM_SEED_LEN]);
        self.random().fill(&mut *seed)?;
        self.generate_from_seed(&*seed)
    }

    /// Encapsulates a fresh shared secret to `encapsulation_key`: the ciphertext and the
    /// shared secret. See [`Kem::encapsulate_deterministic`] for the checks.
    fn encapsulate(&self, encapsulation_key: &[u8]) -> Result<(Vec<u8>, Secret), Error> {
        let mut m = Zeroizing::new([0u8; MLKEM_ENCAPS_RANDOMNESS_LEN]);
        self.random().fill(&mut *m)?;
        self.encapsulate_deterministic(encapsulation_key, &*m)
    }
}

/// A KEM key pair: the decapsulation key (zeroized on drop) and its encapsulation key.
pub trait KemDecapsulator: Send + Sync {
    /// Which algorithm this is.
    fn algorithm(&self) -> KemAlgorithm;

    /// The encapsulation (public) key as it goes on the wire.
    fn encapsulation_key(&self) -> &[u8];

    /// The shared secret in `ciphertext`. A ciphertext of the wrong length is
    /// [`Error::InvalidPeerShare`] (a TLS `illegal_parameter`); one of the right length always
    /// gives a secret (implicit rejection).
    fn decapsulate(&self, ciphertext: &[u8]) -> Result<Secret, Error>;

    /// The expanded decapsulation key `dk` of FIPS 203 (2400 bytes for ML-KEM-768), for
    /// known-answer tests of key generation only.
    #[doc(hidden)]
    fn expanded_decapsulation_key(&self) -> Zeroizing<Vec<u8>>;
}

/// Copies a 32-byte KEM secret into a [`Secret`] (which zeroizes itself).
#[cfg(any(feature = "ring", feature = "rustcrypto"))]
fn shared_secret(bytes: &[u8]) -> Result<Secret, Error> {
    Secret::new(bytes).ok_or(Error::InvalidKey)
}

// ---------------------------------------------------------------------------------------------
// libcrux-ml-kem (formally verified; the ring provider's ML-KEM)

/// ML-KEM-768 from `libcrux-ml-kem` (Cryspen; its portable code is formally verified with hax
/// and F* for panic freedom, functional correctness and secret independence).
#[cfg(feature = "ring")]
pub struct LibcruxMlKem768 {
    random: &'static dyn SecureRandom,
}

#[cfg(feature = "ring")]
impl LibcruxMlKem768 {
    /// ML-KEM-768 drawing its randomness from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self { random }
    }
}

#[cfg(feature = "ring")]
impl fmt::Debug for LibcruxMlKem768 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("libcrux-ml-kem::MlKem768")
    }
}

#[cfg(feature = "ring")]
impl Kem for LibcruxMlKem768 {
    fn algorithm(&self) -> KemAlgorithm {
        KemAlgorithm::MlKem768
    }

    fn random(&self) -> &'static dyn SecureRandom {
        self.random
    }

    fn generate_from_seed(&self, seed: &[u8]) -> Result<Box<dyn KemDecapsulator>, Error> {
        use libcrux_ml_kem::mlkem768;
        let mut s = Zeroizing::new([0u8; MLKEM_SEED_LEN]);
        if seed.len() != s.len() {
            return Err(Error::InvalidKey);
        }
        s.copy_from_slice(seed);
        let (private, public) = mlkem768::generate_key_pair(*s).into_parts();
        Ok(Box::new(LibcruxDecapsulator { private, public }))
    }

    fn encapsulate_deterministic(
        &self,
        encapsulation_key: &[u8],
        m: &[u8],
    ) -> Result<(Vec<u8>, Secret), Error> {
        use libcrux_ml_kem::mlkem768;
        let key = mlkem768::MlKem768PublicKey::try_from(encapsulation_key)
            .map_err(|_| Error::InvalidPublicKey)?;
        // libcrux's encapsulation does not run FIPS 203's modulus check itself.
        if !mlkem768::validate_public_key(&key) {
            return Err(Error::InvalidPublicKey);
        }
        let mut randomness = Zeroizing::new([0u8; MLKEM_ENCAPS_RANDOMNESS_LEN]);
        if m.len() != randomness.len() {
            return Err(Error::InvalidKey);
        }
        randomness.copy_from_slice(m);
        let (ciphertext, mut secret) = mlkem768::encapsulate(&key, *randomness);
        let out = shared_secret(&secret);
        zeroize::Zeroize::zeroize(&mut secret);
        Ok((ciphertext.as_ref().to_vec(), out?))
    }
}

#[cfg(feature = "ring")]
struct LibcruxDecapsulator {
    private: libcrux_ml_kem::mlkem768::MlKem768PrivateKey,
    public: libcrux_ml_kem::mlkem768::MlKem768PublicKey,
}

#[cfg(feature = "ring")]
impl Drop for LibcruxDecapsulator {
    fn drop(&mut self) {
        // libcrux keys do not zeroize themselves.
        zeroize::Zeroize::zeroize(&mut self.private[0..]);
    }
}

#[cfg(feature = "ring")]
impl KemDecapsulator for LibcruxDecapsulator {
    fn algorithm(&self) -> KemAlgorithm {
        KemAlgorithm::MlKem768
    }

    fn encapsulation_key(&self) -> &[u8] {
        self.public.as_ref()
    }

    fn decapsulate(&self, ciphertext: &[u8]) -> Result<Secret, Error> {
        use libcrux_ml_kem::mlkem768;
        let ciphertext = mlkem768::MlKem768Ciphertext::try_from(ciphertext)
            .map_err(|_| Error::InvalidPeerShare)?;
        let mut secret = mlkem768::decapsulate(&self.private, &ciphertext);
        let out = shared_secret(&secret);
        zeroize::Zeroize::zeroize(&mut secret);
        out
    }

    fn expanded_decapsulation_key(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.private.as_ref().to_vec())
    }
}

// ---------------------------------------------------------------------------------------------
// ml-kem (RustCrypto; the rustcrypto provider's ML-KEM)

/// ML-KEM-768 from RustCrypto's `ml-kem` (pure Rust, `zeroize` on).
#[cfg(feature = "rustcrypto")]
pub struct RustCryptoMlKem768 {
    random: &'static dyn SecureRandom,
}

#[cfg(feature = "rustcrypto")]
impl RustCryptoMlKem768 {
    /// ML-KEM-768 drawing its randomness from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self { random }
    }
}

#[cfg(feature = "rustcrypto")]
impl fmt::Debug for RustCryptoMlKem768 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ml-kem::MlKem768")
    }
}

#[cfg(feature = "rustcrypto")]
impl Kem for RustCryptoMlKem768 {
    fn algorithm(&self) -> KemAlgorithm {
        KemAlgorithm::MlKem768
    }

    fn random(&self) -> &'static dyn SecureRandom {
        self.random
    }

    fn generate_from_seed(&self, seed: &[u8]) -> Result<Box<dyn KemDecapsulator>, Error> {
        use ml_kem::KeyExport;
        let seed = Zeroizing::new(ml_kem::Seed::try_from(seed).map_err(|_| Error::InvalidKey)?);
        let key = ml_kem::ml_kem_768::DecapsulationKey::from_seed(*seed);
        let public = key.encapsulation_key().to_bytes().to_vec();
        Ok(Box::new(RustCryptoDecapsulator { key, public }))
    }

    fn encapsulate_deterministic(
        &self,
        encapsulation_key: &[u8],
        m: &[u8],
    ) -> Result<(Vec<u8>, Secret), Error> {
        let bytes =
            ml_kem::Key::<ml_kem::ml_kem_768::EncapsulationKey>::try_from(encapsulation_key)
                .map_err(|_| Error::InvalidPublicKey)?;
        // `new` runs FIPS 203's modulus check.
        let key = ml_kem::ml_kem_768::EncapsulationKey::new(&bytes)
            .map_err(|_| Error::InvalidPublicKey)?;
        let m = Zeroizing::new(ml_kem::B32::try_from(m).map_err(|_| Error::InvalidKey)?);
        let (ciphertext, secret) = key.encapsulate_deterministic(&m);
        let secret = Zeroizing::new(secret);
        Ok((ciphertext.to_vec(), shared_secret(&secret)?))
    }
}

#[cfg(feature = "rustcrypto")]
struct RustCryptoDecapsulator {
    /// Zeroized on drop by `ml-kem` (feature `zeroize`).
    key: ml_kem::ml_kem_768::DecapsulationKey,
    public: Vec<u8>,
}

#[cfg(feature = "rustcrypto")]
impl KemDecapsulator for RustCryptoDecapsulator {
    fn algorithm(&self) -> KemAlgorithm {
        KemAlgorithm::MlKem768
    }

    fn encapsulation_key(&self) -> &[u8] {
        &self.public
    }

    fn decapsulate(&self, ciphertext: &[u8]) -> Result<Secret, Error> {
        use ml_kem::Decapsulate;
        let ciphertext = ml_kem::ml_kem_768::Ciphertext::try_from(ciphertext)
            .map_err(|_| Error::InvalidPeerShare)?;
        let secret = Zeroizing::new(self.key.decapsulate(&ciphertext));
        shared_secret(&secret)
    }

    fn expanded_decapsulation_key(&self) -> Zeroizing<Vec<u8>> {
        #[allow(deprecated)]
        let expanded = ml_kem::ExpandedKeyEncoding::to_expanded_bytes(&self.key);
        let expanded = Zeroizing::new(expanded);
        Zeroizing::new(expanded.to_vec())
    }
}

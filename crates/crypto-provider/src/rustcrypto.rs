//! The RustCrypto provider (feature `rustcrypto`): `sha2`, `hmac`, `hkdf`, `aes-gcm`,
//! `chacha20poly1305`, `x25519-dalek`, `p256`, `p384`, `ed25519-dalek`, `rsa` and `getrandom`.
//!
//! Every piece is a `pub static` so it can be mixed into another provider (e.g. ring's AEADs
//! with this module's key exchanges); [`default_provider`] puts them together.
//!
//! Differences from [`crate::ring`]:
//! - [`KeyExchange::start_with_private_key`] works for every group (known-answer tests, RFC 8448).
//! - [`KEY_PROVIDER`] signs with ECDSA (P-256, P-384; RFC 6979 deterministic nonces) and Ed25519,
//!   but **not with RSA**: RSA keys fail with [`Error::Unsupported`]. The `rsa` crate's private-key
//!   operations are not constant-time (RUSTSEC-2023-0071, "Marvin"), and a client-certificate key
//!   lives long enough for a timing attacker; this provider uses `rsa` only to *verify* with
//!   public keys, where timing leaks nothing secret. Use ring's key provider for RSA client
//!   certificates (`CryptoProvider { key_provider: &ring::KEY_PROVIDER, ..rustcrypto::default_provider() }`).
//!
//! ```
//! use overture_crypto_provider::{rustcrypto, KeyExchange};
//!
//! // X25519 with the RFC 7748 §6.1 keys: rustcrypto can import private keys.
//! let alice = rustcrypto::X25519.start_with_private_key(&[
//!     0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
//!     0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
//! ]).unwrap();
//! let bob = rustcrypto::X25519.start().unwrap();
//! let bob_share = bob.public_key().to_vec();
//! let alice_share = alice.public_key().to_vec();
//! assert_eq!(alice.complete(&bob_share).unwrap(), bob.complete(&alice_share).unwrap());
//! assert_eq!(rustcrypto::default_provider().kx_groups.len(), 4);
//! ```

use crate::{
    ActiveKeyExchange, Aead, AeadAlgorithm, BoundAead, Error, Hash, HashAlgorithm, HashContext,
    Hkdf, HkdfExpander, Hmac, HmacKey, KeyExchange, KeyProvider, Nonce, Output, Secret,
    SecureRandom, SignatureVerifier, Signer, SigningKey, TAG_LEN, Tag,
};
use aes_gcm::aead::{AeadInOut, KeyInit};
use hmac::Mac;
use overture_types::pki::{AlgorithmIdentifier, alg_id};
use overture_types::{NamedGroup, PrivateKeyDer, SignatureScheme};
use p256::elliptic_curve::sec1::ToSec1Point;
use sha2::Digest;
use std::sync::Arc;
use zeroize::Zeroize;

// ---------------------------------------------------------------------------------------------
// Hashes

/// A `sha2` hash function.
#[derive(Debug)]
pub struct RustCryptoHash(HashAlgorithm);

/// SHA-256.
pub static SHA256: RustCryptoHash = RustCryptoHash(HashAlgorithm::Sha256);
/// SHA-384.
pub static SHA384: RustCryptoHash = RustCryptoHash(HashAlgorithm::Sha384);
/// SHA-512.
pub static SHA512: RustCryptoHash = RustCryptoHash(HashAlgorithm::Sha512);

/// An incremental `sha2` state.
#[derive(Clone)]
enum HashState {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl HashState {
    fn new(alg: HashAlgorithm) -> Self {
        match alg {
            HashAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            HashAlgorithm::Sha384 => Self::Sha384(sha2::Sha384::new()),
            HashAlgorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    fn finish(self) -> Output {
        // Every output is at most 64 bytes, so nothing is cut.
        match self {
            Self::Sha256(h) => Output::truncated(&h.finalize()),
            Self::Sha384(h) => Output::truncated(&h.finalize()),
            Self::Sha512(h) => Output::truncated(&h.finalize()),
        }
    }
}

/// `alg(data)` in one go.
fn digest(alg: HashAlgorithm, data: &[u8]) -> Output {
    let mut h = HashState::new(alg);
    h.update(data);
    h.finish()
}

impl Hash for RustCryptoHash {
    fn algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn start(&self) -> Box<dyn HashContext> {
        Box::new(RustCryptoHashContext(HashState::new(self.0)))
    }

    fn hash(&self, data: &[u8]) -> Output {
        digest(self.0, data)
    }
}

struct RustCryptoHashContext(HashState);

impl HashContext for RustCryptoHashContext {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn fork(&self) -> Box<dyn HashContext> {
        Box::new(Self(self.0.clone()))
    }

    fn fork_finish(&self) -> Output {
        self.0.clone().finish()
    }

    fn finish(self: Box<Self>) -> Output {
        self.0.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// HMAC and HKDF

/// `hmac`'s HMAC over one `sha2` hash.
#[derive(Debug)]
pub struct RustCryptoHmac(HashAlgorithm);

/// HMAC-SHA256.
pub static HMAC_SHA256: RustCryptoHmac = RustCryptoHmac(HashAlgorithm::Sha256);
/// HMAC-SHA384.
pub static HMAC_SHA384: RustCryptoHmac = RustCryptoHmac(HashAlgorithm::Sha384);
/// HMAC-SHA512.
pub static HMAC_SHA512: RustCryptoHmac = RustCryptoHmac(HashAlgorithm::Sha512);

/// A keyed HMAC state (the inner and outer pads absorbed); zeroized on drop by `hmac`.
#[derive(Clone)]
enum HmacState {
    Sha256(hmac::Hmac<sha2::Sha256>),
    Sha384(hmac::Hmac<sha2::Sha384>),
    Sha512(hmac::Hmac<sha2::Sha512>),
}

impl HmacState {
    fn new(alg: HashAlgorithm, key: &[u8]) -> Self {
        // HMAC takes keys of any length (longer ones are hashed): `hkdf::HmacImpl` states that
        // in its infallible constructor.
        use hkdf::HmacImpl;
        match alg {
            HashAlgorithm::Sha256 => Self::Sha256(HmacImpl::new_from_slice(key)),
            HashAlgorithm::Sha384 => Self::Sha384(HmacImpl::new_from_slice(key)),
            HashAlgorithm::Sha512 => Self::Sha512(HmacImpl::new_from_slice(key)),
        }
    }

    fn sign(&self, data: &[&[u8]]) -> Output {
        fn run<M: Mac + Clone>(m: &M, data: &[&[u8]]) -> Output {
            let mut m = m.clone();
            for d in data {
                m.update(d);
            }
            // A tag is at most 64 bytes, so nothing is cut.
            Output::truncated(&m.finalize().into_bytes())
        }
        match self {
            Self::Sha256(m) => run(m, data),
            Self::Sha384(m) => run(m, data),
            Self::Sha512(m) => run(m, data),
        }
    }
}

impl Hmac for RustCryptoHmac {
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn with_key(&self, key: &[u8]) -> Box<dyn HmacKey> {
        Box::new(RustCryptoHmacKey(HmacState::new(self.0, key)))
    }

    fn sign_once(&self, key: &[u8], data: &[&[u8]]) -> Output {
        HmacState::new(self.0, key).sign(data)
    }
}

struct RustCryptoHmacKey(HmacState);

impl HmacKey for RustCryptoHmacKey {
    fn sign(&self, data: &[&[u8]]) -> Output {
        self.0.sign(data)
    }
}

/// `hkdf`'s HKDF over one `sha2` hash.
#[derive(Debug)]
pub struct RustCryptoHkdf(HashAlgorithm);

/// HKDF-SHA256.
pub static HKDF_SHA256: RustCryptoHkdf = RustCryptoHkdf(HashAlgorithm::Sha256);
/// HKDF-SHA384.
pub static HKDF_SHA384: RustCryptoHkdf = RustCryptoHkdf(HashAlgorithm::Sha384);

/// Copies an extracted PRK into a [`Secret`] and wipes the library's copy.
fn prk_secret(prk: &mut [u8]) -> Secret {
    // A PRK is HashLen <= 64 bytes, so nothing is cut.
    let out = Secret::truncated(prk);
    prk.zeroize();
    out
}

impl Hkdf for RustCryptoHkdf {
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        // An empty salt is the empty HMAC key, which HMAC zero-pads: the same as HashLen zeros.
        match self.0 {
            HashAlgorithm::Sha256 => {
                prk_secret(&mut hkdf::Hkdf::<sha2::Sha256>::extract(Some(salt), ikm).0)
            }
            HashAlgorithm::Sha384 => {
                prk_secret(&mut hkdf::Hkdf::<sha2::Sha384>::extract(Some(salt), ikm).0)
            }
            HashAlgorithm::Sha512 => {
                prk_secret(&mut hkdf::Hkdf::<sha2::Sha512>::extract(Some(salt), ikm).0)
            }
        }
    }

    fn expander(&self, prk: &[u8]) -> Result<Box<dyn HkdfExpander>, Error> {
        Ok(Box::new(self.stack_expander(prk)?))
    }

    fn with_expander(
        &self,
        prk: &[u8],
        f: &mut dyn FnMut(&dyn HkdfExpander) -> Result<(), Error>,
    ) -> Result<(), Error> {
        f(&self.stack_expander(prk)?)
    }
}

impl RustCryptoHkdf {
    fn stack_expander(&self, prk: &[u8]) -> Result<RustCryptoExpander, Error> {
        // `hkdf` refuses PRKs shorter than HashLen (RFC 5869 §2.3 asks for at least that). HMAC
        // zero-pads every key shorter than its block, so padding such a PRK to HashLen with
        // zeros keys the same HMAC: the result is RFC 5869's Expand for any PRK, as with ring.
        let hash_len = self.0.output_len();
        let mut padded = Secret::zeroed(hash_len).ok_or(Error::InvalidKey)?;
        let prk = match padded.as_mut_bytes().get_mut(..prk.len()) {
            Some(head) => {
                head.copy_from_slice(prk);
                padded.as_bytes()
            }
            None => prk,
        };
        let state = match self.0 {
            HashAlgorithm::Sha256 => {
                ExpanderState::Sha256(hkdf::Hkdf::from_prk(prk).map_err(|_| Error::InvalidKey)?)
            }
            HashAlgorithm::Sha384 => {
                ExpanderState::Sha384(hkdf::Hkdf::from_prk(prk).map_err(|_| Error::InvalidKey)?)
            }
            HashAlgorithm::Sha512 => {
                ExpanderState::Sha512(hkdf::Hkdf::from_prk(prk).map_err(|_| Error::InvalidKey)?)
            }
        };
        Ok(RustCryptoExpander { state, hash_len })
    }
}

/// An HKDF keyed with a PRK (an HMAC state, zeroized on drop by `hmac`).
enum ExpanderState {
    Sha256(hkdf::Hkdf<sha2::Sha256>),
    Sha384(hkdf::Hkdf<sha2::Sha384>),
    Sha512(hkdf::Hkdf<sha2::Sha512>),
}

struct RustCryptoExpander {
    state: ExpanderState,
    hash_len: usize,
}

impl HkdfExpander for RustCryptoExpander {
    fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        match &self.state {
            ExpanderState::Sha256(h) => h.expand_multi_info(info, out),
            ExpanderState::Sha384(h) => h.expand_multi_info(info, out),
            ExpanderState::Sha512(h) => h.expand_multi_info(info, out),
        }
        .map_err(|_| Error::OutputLength)
    }

    fn hash_len(&self) -> usize {
        self.hash_len
    }
}

// ---------------------------------------------------------------------------------------------
// AEAD

/// `aes-gcm` / `chacha20poly1305` AEADs.
#[derive(Debug)]
pub struct RustCryptoAead(AeadAlgorithm);

/// AES-128-GCM.
pub static AES_128_GCM: RustCryptoAead = RustCryptoAead(AeadAlgorithm::Aes128Gcm);
/// AES-256-GCM.
pub static AES_256_GCM: RustCryptoAead = RustCryptoAead(AeadAlgorithm::Aes256Gcm);
/// ChaCha20-Poly1305.
pub static CHACHA20_POLY1305: RustCryptoAead = RustCryptoAead(AeadAlgorithm::ChaCha20Poly1305);

impl Aead for RustCryptoAead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.0
    }

    fn with_key(&self, key: &[u8]) -> Result<Box<dyn BoundAead>, Error> {
        fn bind<A: AeadInOut + KeyInit + Send + Sync + 'static>(
            key: &[u8],
            alg: AeadAlgorithm,
        ) -> Result<Box<dyn BoundAead>, Error> {
            let cipher = A::new_from_slice(key).map_err(|_| Error::InvalidKey)?;
            Ok(Box::new(RustCryptoBoundAead { cipher, alg }))
        }
        match self.0 {
            AeadAlgorithm::Aes128Gcm => bind::<aes_gcm::Aes128Gcm>(key, self.0),
            AeadAlgorithm::Aes256Gcm => bind::<aes_gcm::Aes256Gcm>(key, self.0),
            AeadAlgorithm::ChaCha20Poly1305 => {
                bind::<chacha20poly1305::ChaCha20Poly1305>(key, self.0)
            }
        }
    }
}

/// A keyed cipher; its key schedule is zeroized on drop by the library (`zeroize` feature).
struct RustCryptoBoundAead<A> {
    cipher: A,
    alg: AeadAlgorithm,
}

impl<A: AeadInOut + Send + Sync> BoundAead for RustCryptoBoundAead<A> {
    fn seal_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<Tag, Error> {
        let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce.as_bytes().as_slice())
            .map_err(|_| Error::Unsupported)?;
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, aad, in_out.into())
            .map_err(|_| Error::OutputLength)?;
        let tag: [u8; TAG_LEN] = tag.as_slice().try_into().map_err(|_| Error::Unsupported)?;
        Ok(Tag(tag))
    }

    fn open_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<usize, Error> {
        let plain_len = in_out
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::DecryptFailed)?;
        let (ciphertext, tag) = in_out.split_at_mut(plain_len);
        let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce.as_bytes().as_slice())
            .map_err(|_| Error::Unsupported)?;
        let tag = aes_gcm::aead::Tag::<A>::try_from(&*tag).map_err(|_| Error::DecryptFailed)?;
        // The library checks the tag in constant time, before decrypting.
        self.cipher
            .decrypt_inout_detached(&nonce, aad, ciphertext.into(), &tag)
            .map_err(|_| Error::DecryptFailed)?;
        Ok(plain_len)
    }

    fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }
}

// ---------------------------------------------------------------------------------------------
// Key exchange

/// Which curve a [`RustCryptoKx`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    X25519,
    P256,
    P384,
}

/// RustCrypto's (EC)DH: `x25519-dalek` for X25519, `p256`/`p384` for the NIST curves.
///
/// [`KeyExchange::start_with_private_key`] takes the raw private key: 32 bytes for X25519 (as
/// in RFC 7748 and RFC 8448, clamped by the library), and the big-endian scalar of exactly the
/// field size (32 / 48 bytes) for P-256 / P-384, which must lie in `[1, n - 1]`.
#[derive(Debug)]
pub struct RustCryptoKx {
    group: NamedGroup,
    curve: Curve,
}

/// X25519.
pub static X25519: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::X25519,
    curve: Curve::X25519,
};
/// ECDH over P-256 (secp256r1).
pub static SECP256R1: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::secp256r1,
    curve: Curve::P256,
};
/// ECDH over P-384 (secp384r1).
pub static SECP384R1: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::secp384r1,
    curve: Curve::P384,
};

/// How many fresh scalars to draw before giving up on a NIST key (each draw fails with
/// probability below 2^-32, so a failure means the random source is broken).
const KEYGEN_ATTEMPTS: usize = 8;

impl KeyExchange for RustCryptoKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let len = match self.curve {
            Curve::X25519 | Curve::P256 => 32,
            Curve::P384 => 48,
        };
        for _ in 0..KEYGEN_ATTEMPTS {
            let mut scalar = Secret::zeroed(len).ok_or(Error::InvalidKey)?;
            RANDOM.fill(scalar.as_mut_bytes())?;
            match self.start_with_private_key(scalar.as_bytes()) {
                // A NIST scalar of zero or >= n: draw again.
                Err(Error::InvalidKey) => continue,
                other => return other,
            }
        }
        Err(Error::RandomFailed)
    }

    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let key = match self.curve {
            Curve::X25519 => {
                // Our copy of the key is wiped on drop; the library's own copy too.
                let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
                if private_key.len() != bytes.len() {
                    return Err(Error::InvalidKey);
                }
                bytes.copy_from_slice(private_key);
                let secret = x25519_dalek::StaticSecret::from(*bytes);
                let public = x25519_dalek::PublicKey::from(&secret).to_bytes().to_vec();
                KxKey::X25519 { secret, public }
            }
            Curve::P256 => {
                let field: &p256::FieldBytes =
                    private_key.try_into().map_err(|_| Error::InvalidKey)?;
                let secret = p256::SecretKey::from_bytes(field).map_err(|_| Error::InvalidKey)?;
                let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
                KxKey::P256 { secret, public }
            }
            Curve::P384 => {
                let field: &p384::FieldBytes =
                    private_key.try_into().map_err(|_| Error::InvalidKey)?;
                let secret = p384::SecretKey::from_bytes(field).map_err(|_| Error::InvalidKey)?;
                let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
                KxKey::P384 { secret, public }
            }
        };
        Ok(Box::new(RustCryptoActiveKx {
            group: self.group,
            key,
        }))
    }
}

/// A private key (zeroized on drop by its library) and our encoded public share.
enum KxKey {
    X25519 {
        secret: x25519_dalek::StaticSecret,
        public: Vec<u8>,
    },
    P256 {
        secret: p256::SecretKey,
        public: Vec<u8>,
    },
    P384 {
        secret: p384::SecretKey,
        public: Vec<u8>,
    },
}

struct RustCryptoActiveKx {
    group: NamedGroup,
    key: KxKey,
}

/// Checks that `peer` is an uncompressed SEC1 point (`0x04 ‖ x ‖ y`) for a field of
/// `field_len` bytes: TLS allows only that form (RFC 8446 §4.2.8.2, RFC 8422 §5.4.1).
fn uncompressed_point(peer: &[u8], field_len: usize) -> Result<&[u8], Error> {
    match peer.split_first() {
        Some((0x04, rest)) if rest.len() == 2 * field_len => Ok(peer),
        _ => Err(Error::InvalidPeerShare),
    }
}

impl ActiveKeyExchange for RustCryptoActiveKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        match &self.key {
            KxKey::X25519 { public, .. }
            | KxKey::P256 { public, .. }
            | KxKey::P384 { public, .. } => public,
        }
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        let secret = match &self.key {
            KxKey::X25519 { secret, .. } => {
                let peer: [u8; 32] = peer_public_key
                    .try_into()
                    .map_err(|_| Error::InvalidPeerShare)?;
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
                // RFC 7748 §6.1 / RFC 8446 §7.4.2: an all-zero result means a low-order point.
                if !shared.was_contributory() {
                    return Err(Error::InvalidPeerShare);
                }
                Secret::new(shared.as_bytes())
            }
            KxKey::P256 { secret, .. } => {
                let peer = uncompressed_point(peer_public_key, 32)?;
                // Rejects points not on the curve and the identity.
                let peer =
                    p256::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::InvalidPeerShare)?;
                Secret::new(secret.diffie_hellman(&peer).raw_secret_bytes())
            }
            KxKey::P384 { secret, .. } => {
                let peer = uncompressed_point(peer_public_key, 48)?;
                let peer =
                    p384::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::InvalidPeerShare)?;
                Secret::new(secret.diffie_hellman(&peer).raw_secret_bytes())
            }
        };
        secret.ok_or(Error::InvalidPeerShare)
    }
}

/// ML-KEM-768 (FIPS 203) from RustCrypto's `ml-kem`, with this provider's random source. The
/// hybrid groups [`X25519MLKEM768`] and [`SECP256R1MLKEM768`] combine it with `x25519-dalek`
/// and `p256`.
pub static MLKEM768: crate::RustCryptoMlKem768 = crate::RustCryptoMlKem768::new(&RANDOM);

// ---------------------------------------------------------------------------------------------
// Signature verification

/// Which algorithm a [`RustCryptoVerifier`] runs.
#[derive(Clone, Copy, Debug)]
enum VerifyAlg {
    /// ECDSA over P-256 with this hash (bits2int truncates longer digests, FIPS 186-5).
    EcdsaP256(HashAlgorithm),
    /// ECDSA over P-384 with this hash.
    EcdsaP384(HashAlgorithm),
    /// RSASSA-PKCS1-v1_5 with this hash.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with this hash, MGF1 with the same hash, salt length = HashLen (RFC 8446
    /// §4.2.3).
    RsaPss(HashAlgorithm),
    /// Ed25519 (RFC 8032).
    Ed25519,
}

/// RSA moduli this provider accepts, in bits (as ring's `*_2048_8192_*` algorithms).
const RSA_MODULUS_BITS: core::ops::RangeInclusive<u32> = 2048..=8192;

/// One RustCrypto signature verification algorithm.
pub struct RustCryptoVerifier {
    scheme: Option<SignatureScheme>,
    public_key_alg_id: AlgorithmIdentifier,
    signature_alg_id: AlgorithmIdentifier,
    alg: VerifyAlg,
    name: &'static str,
}

impl core::fmt::Debug for RustCryptoVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "rustcrypto::{}", self.name)
    }
}

impl SignatureVerifier for RustCryptoVerifier {
    fn scheme(&self) -> Option<SignatureScheme> {
        self.scheme
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key_alg_id
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id
    }

    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
        match self.alg {
            VerifyAlg::EcdsaP256(hash) => verify_ecdsa_p256(hash, public_key, message, signature),
            VerifyAlg::EcdsaP384(hash) => verify_ecdsa_p384(hash, public_key, message, signature),
            VerifyAlg::RsaPkcs1(hash) | VerifyAlg::RsaPss(hash) => {
                let pss = matches!(self.alg, VerifyAlg::RsaPss(_));
                verify_rsa(pss, hash, public_key, message, signature)
            }
            VerifyAlg::Ed25519 => verify_ed25519(public_key, message, signature),
        }
    }
}

fn verify_ecdsa_p256(
    hash: HashAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    // Only the uncompressed form, as ring and X.509 practice (RFC 5480 §2.2) have it.
    let point = uncompressed_point(public_key, 32).map_err(|_| Error::InvalidPublicKey)?;
    let key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| Error::InvalidPublicKey)?;
    // Strict DER: `from_der` rejects BER forms, extra bytes and out-of-range r, s.
    let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| Error::BadSignature)?;
    key.verify_prehash(digest(hash, message).as_bytes(), &sig)
        .map_err(|_| Error::BadSignature)
}

fn verify_ecdsa_p384(
    hash: HashAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    let point = uncompressed_point(public_key, 48).map_err(|_| Error::InvalidPublicKey)?;
    let key =
        p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| Error::InvalidPublicKey)?;
    let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| Error::BadSignature)?;
    key.verify_prehash(digest(hash, message).as_bytes(), &sig)
        .map_err(|_| Error::BadSignature)
}

fn verify_rsa(
    pss: bool,
    hash: HashAlgorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::PublicKey::from_pkcs1_der(public_key).map_err(|_| Error::InvalidPublicKey)?;
    if !RSA_MODULUS_BITS.contains(&key.n().bit_width_vartime()) {
        return Err(Error::InvalidPublicKey);
    }
    let hashed = digest(hash, message);
    let result = match (pss, hash) {
        (false, HashAlgorithm::Sha256) => key.verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            hashed.as_bytes(),
            signature,
        ),
        (false, HashAlgorithm::Sha384) => key.verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            hashed.as_bytes(),
            signature,
        ),
        (false, HashAlgorithm::Sha512) => key.verify(
            rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
            hashed.as_bytes(),
            signature,
        ),
        (true, HashAlgorithm::Sha256) => key.verify(
            rsa::pss::Pss::<sha2::Sha256>::new_with_salt(32),
            hashed.as_bytes(),
            signature,
        ),
        (true, HashAlgorithm::Sha384) => key.verify(
            rsa::pss::Pss::<sha2::Sha384>::new_with_salt(48),
            hashed.as_bytes(),
            signature,
        ),
        (true, HashAlgorithm::Sha512) => key.verify(
            rsa::pss::Pss::<sha2::Sha512>::new_with_salt(64),
            hashed.as_bytes(),
            signature,
        ),
    };
    result.map_err(|_| Error::BadSignature)
}

fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let key: &[u8; 32] = public_key.try_into().map_err(|_| Error::InvalidPublicKey)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(key).map_err(|_| Error::InvalidPublicKey)?;
    let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| Error::BadSignature)?;
    key.verify_strict(message, &sig)
        .map_err(|_| Error::BadSignature)
}

macro_rules! verifier {
    ($(#[$m:meta])* $name:ident, $scheme:expr, $pk:expr, $sig:expr, $alg:expr) => {
        $(#[$m])*
        pub static $name: RustCryptoVerifier = RustCryptoVerifier {
            scheme: $scheme,
            public_key_alg_id: $pk,
            signature_alg_id: $sig,
            alg: $alg,
            name: stringify!($name),
        };
    };
}

verifier!(
    /// ECDSA P-256 with SHA-256 (`ecdsa_secp256r1_sha256`).
    ECDSA_P256_SHA256, Some(SignatureScheme::ECDSA_NISTP256_SHA256), alg_id::ECDSA_P256,
    alg_id::ECDSA_SHA256, VerifyAlg::EcdsaP256(HashAlgorithm::Sha256)
);
verifier!(
    /// ECDSA P-256 with SHA-384 (certificates only).
    ECDSA_P256_SHA384, None, alg_id::ECDSA_P256, alg_id::ECDSA_SHA384,
    VerifyAlg::EcdsaP256(HashAlgorithm::Sha384)
);
verifier!(
    /// ECDSA P-384 with SHA-384 (`ecdsa_secp384r1_sha384`).
    ECDSA_P384_SHA384, Some(SignatureScheme::ECDSA_NISTP384_SHA384), alg_id::ECDSA_P384,
    alg_id::ECDSA_SHA384, VerifyAlg::EcdsaP384(HashAlgorithm::Sha384)
);
verifier!(
    /// ECDSA P-384 with SHA-256 (certificates only).
    ECDSA_P384_SHA256, None, alg_id::ECDSA_P384, alg_id::ECDSA_SHA256,
    VerifyAlg::EcdsaP384(HashAlgorithm::Sha256)
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-256, 2048–8192-bit keys.
    RSA_PKCS1_SHA256, Some(SignatureScheme::RSA_PKCS1_SHA256), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA256, VerifyAlg::RsaPkcs1(HashAlgorithm::Sha256)
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-384, 2048–8192-bit keys.
    RSA_PKCS1_SHA384, Some(SignatureScheme::RSA_PKCS1_SHA384), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA384, VerifyAlg::RsaPkcs1(HashAlgorithm::Sha384)
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-512, 2048–8192-bit keys.
    RSA_PKCS1_SHA512, Some(SignatureScheme::RSA_PKCS1_SHA512), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA512, VerifyAlg::RsaPkcs1(HashAlgorithm::Sha512)
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-256, MGF1-SHA-256, salt 32, 2048–8192-bit keys.
    RSA_PSS_SHA256, Some(SignatureScheme::RSA_PSS_SHA256), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA256, VerifyAlg::RsaPss(HashAlgorithm::Sha256)
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-384, MGF1-SHA-384, salt 48, 2048–8192-bit keys.
    RSA_PSS_SHA384, Some(SignatureScheme::RSA_PSS_SHA384), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA384, VerifyAlg::RsaPss(HashAlgorithm::Sha384)
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-512, MGF1-SHA-512, salt 64, 2048–8192-bit keys.
    RSA_PSS_SHA512, Some(SignatureScheme::RSA_PSS_SHA512), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA512, VerifyAlg::RsaPss(HashAlgorithm::Sha512)
);
verifier!(
    /// RSA-PSS with SHA-256, MGF1-SHA-256, salt 32, by an RSASSA-PSS key (`rsa_pss_pss_sha256`).
    RSA_PSS_PSS_SHA256, Some(SignatureScheme::RSA_PSS_PSS_SHA256), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA256, VerifyAlg::RsaPss(HashAlgorithm::Sha256)
);
verifier!(
    /// RSA-PSS with SHA-384, MGF1-SHA-384, salt 48, by an RSASSA-PSS key (`rsa_pss_pss_sha384`).
    RSA_PSS_PSS_SHA384, Some(SignatureScheme::RSA_PSS_PSS_SHA384), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA384, VerifyAlg::RsaPss(HashAlgorithm::Sha384)
);
verifier!(
    /// RSA-PSS with SHA-512, MGF1-SHA-512, salt 64, by an RSASSA-PSS key (`rsa_pss_pss_sha512`).
    RSA_PSS_PSS_SHA512, Some(SignatureScheme::RSA_PSS_PSS_SHA512), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA512, VerifyAlg::RsaPss(HashAlgorithm::Sha512)
);
verifier!(
    /// Ed25519 (strict: canonical `S`, and no small-order `R` or key).
    ED25519, Some(SignatureScheme::ED25519), alg_id::ED25519, alg_id::ED25519,
    VerifyAlg::Ed25519
);

// ---------------------------------------------------------------------------------------------
// Randomness and signing keys

/// The operating system's random source, through `getrandom`.
#[derive(Debug)]
pub struct RustCryptoRandom;

/// The random source.
pub static RANDOM: RustCryptoRandom = RustCryptoRandom;

impl SecureRandom for RustCryptoRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|_| Error::RandomFailed)
    }
}

/// Loads ECDSA P-256/P-384 keys (PKCS#8 or SEC1) and Ed25519 keys (PKCS#8). RSA keys (PKCS#8 or
/// PKCS#1) fail with [`Error::Unsupported`]: see the module documentation (RUSTSEC-2023-0071).
#[derive(Debug)]
pub struct RustCryptoKeyProvider;

/// The key provider.
pub static KEY_PROVIDER: RustCryptoKeyProvider = RustCryptoKeyProvider;

/// The rsaEncryption OID (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

impl KeyProvider for RustCryptoKeyProvider {
    fn load_private_key(&self, key: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        match &key {
            PrivateKeyDer::Pkcs8(der) => {
                let der = der.secret_pkcs8_der();
                if let Ok(k) = p256::SecretKey::from_pkcs8_der(der) {
                    return Ok(Arc::new(EcdsaKey::P256(Arc::new(k.into()))));
                }
                if let Ok(k) = p384::SecretKey::from_pkcs8_der(der) {
                    return Ok(Arc::new(EcdsaKey::P384(Arc::new(k.into()))));
                }
                if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
                    return Ok(Arc::new(Ed25519Key(Arc::new(k))));
                }
                let info =
                    p256::pkcs8::PrivateKeyInfoRef::try_from(der).map_err(|_| Error::InvalidKey)?;
                if info.algorithm.oid.to_string() == RSA_ENCRYPTION_OID {
                    return Err(Error::Unsupported);
                }
                Err(Error::InvalidKey)
            }
            PrivateKeyDer::Sec1(der) => {
                let der = der.secret_sec1_der();
                if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
                    return Ok(Arc::new(EcdsaKey::P256(Arc::new(k.into()))));
                }
                if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
                    return Ok(Arc::new(EcdsaKey::P384(Arc::new(k.into()))));
                }
                Err(Error::InvalidKey)
            }
            // PKCS#1 is RSA: no constant-time RSA signing here.
            _ => Err(Error::Unsupported),
        }
    }
}

/// An ECDSA signing key (zeroized on drop by its library).
#[derive(Clone)]
enum EcdsaKey {
    P256(Arc<p256::ecdsa::SigningKey>),
    P384(Arc<p384::ecdsa::SigningKey>),
}

impl EcdsaKey {
    fn scheme(&self) -> SignatureScheme {
        match self {
            Self::P256(_) => SignatureScheme::ECDSA_NISTP256_SHA256,
            Self::P384(_) => SignatureScheme::ECDSA_NISTP384_SHA384,
        }
    }
}

impl core::fmt::Debug for EcdsaKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "rustcrypto::EcdsaKey({:?})", self.scheme())
    }
}

impl SigningKey for EcdsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if !offered.contains(&self.scheme()) {
            return None;
        }
        let signer: Box<dyn Signer> = Box::new(self.clone());
        Some(signer)
    }
}

impl Signer for EcdsaKey {
    fn scheme(&self) -> SignatureScheme {
        EcdsaKey::scheme(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        // RFC 6979 deterministic nonces; DER output as TLS and X.509 want it.
        match self {
            Self::P256(k) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::try_sign(&**k, message)
                        .map_err(|_| Error::SigningFailed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Self::P384(k) => {
                let sig: p384::ecdsa::Signature =
                    p384::ecdsa::signature::Signer::try_sign(&**k, message)
                        .map_err(|_| Error::SigningFailed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

/// An Ed25519 signing key (zeroized on drop by `ed25519-dalek`).
#[derive(Clone)]
struct Ed25519Key(Arc<ed25519_dalek::SigningKey>);

impl core::fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("rustcrypto::Ed25519Key")
    }
}

impl SigningKey for Ed25519Key {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if !offered.contains(&SignatureScheme::ED25519) {
            return None;
        }
        let signer: Box<dyn Signer> = Box::new(self.clone());
        Some(signer)
    }
}

impl Signer for Ed25519Key {
    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let sig: ed25519_dalek::Signature =
            ed25519_dalek::Signer::try_sign(&*self.0, message).map_err(|_| Error::SigningFailed)?;
        Ok(sig.to_bytes().to_vec())
    }
}

// ---------------------------------------------------------------------------------------------
// Cipher suites, tables and the provider

crate::suites::provider_tables!(
    "The RustCrypto provider with every piece. Its key provider cannot sign with RSA keys (see the module documentation)."
);

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn x25519_rfc7748_section_6_1() {
        let alice = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let a = X25519.start_with_private_key(&alice).unwrap();
        let b = X25519.start_with_private_key(&bob).unwrap();
        assert_eq!(
            a.public_key(),
            unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        let b_pub = b.public_key().to_vec();
        let a_pub = a.public_key().to_vec();
        let k1 = a.complete(&b_pub).unwrap();
        let k2 = b.complete(&a_pub).unwrap();
        let expected = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(k1.as_bytes(), expected);
        assert_eq!(k1, k2);
    }

    #[test]
    fn fresh_keys_agree_and_reject_bad_shares() {
        // The (EC)DH groups, whose two sides are alike (the hybrids: tests/hybrid.rs).
        for kx in DEFAULT_KX_GROUPS.iter().filter(|kx| !kx.tls13_only()) {
            let a = kx.start().unwrap();
            let b = kx.start().unwrap();
            assert_eq!(a.group(), kx.group());
            let a_pub = a.public_key().to_vec();
            let b_pub = b.public_key().to_vec();
            assert_ne!(a_pub, b_pub);
            assert_eq!(a.complete(&b_pub).unwrap(), b.complete(&a_pub).unwrap());
            // Wrong length, and (for X25519) a low-order point.
            let c = kx.start().unwrap();
            assert_eq!(c.complete(&b_pub[1..]).err(), Some(Error::InvalidPeerShare));
            let d = kx.start().unwrap();
            let zero = vec![0u8; b_pub.len()];
            assert_eq!(d.complete(&zero).err(), Some(Error::InvalidPeerShare));
        }
    }

    #[test]
    fn nist_rejects_compressed_and_off_curve_points() {
        let a = SECP256R1.start().unwrap();
        let b = SECP256R1.start().unwrap();
        let mut off = b.public_key().to_vec();
        off[40] ^= 1;
        assert_eq!(a.complete(&off).err(), Some(Error::InvalidPeerShare));
        let c = SECP256R1.start().unwrap();
        let b_pub = b.public_key();
        let mut compressed = vec![0x02 | (b_pub[64] & 1)];
        compressed.extend_from_slice(&b_pub[1..33]);
        assert_eq!(c.complete(&compressed).err(), Some(Error::InvalidPeerShare));
    }

    #[test]
    fn nist_private_keys_must_be_in_range() {
        assert_eq!(
            SECP256R1.start_with_private_key(&[0u8; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP256R1.start_with_private_key(&[0xff; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP384R1.start_with_private_key(&[1u8; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert!(SECP384R1.start_with_private_key(&[1u8; 48]).is_ok());
    }

    #[test]
    fn hkdf_expand_label_matches_rfc8448_derived_secret() {
        // RFC 8448 §3: early secret = HKDF-Extract(0, 0^32); "derived" secret from it.
        let early = HKDF_SHA256.extract(&[], &[0u8; 32]);
        assert_eq!(
            early.as_bytes(),
            unhex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a")
        );
        let empty_hash = SHA256.hash(&[]);
        let exp = HKDF_SHA256.expander(early.as_bytes()).unwrap();
        assert_eq!(exp.hash_len(), 32);
        let mut derived = [0u8; 32];
        crate::expand_label(&*exp, b"derived", empty_hash.as_bytes(), &mut derived).unwrap();
        assert_eq!(
            derived.to_vec(),
            unhex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba")
        );
        // 255 * HashLen is the most HKDF-Expand can give.
        let mut too_long = vec![0u8; 255 * 32 + 1];
        assert_eq!(exp.expand(&[b"x"], &mut too_long), Err(Error::OutputLength));
        // A PRK shorter than HashLen works as a zero-padded one (HMAC pads keys with zeros).
        let (mut short, mut padded) = ([0u8; 20], [0u8; 20]);
        let mut prk = [7u8; 48];
        HKDF_SHA384
            .expander(&prk[..5])
            .unwrap()
            .expand(&[b"i"], &mut short)
            .unwrap();
        prk[5..].fill(0);
        HKDF_SHA384
            .expander(&prk)
            .unwrap()
            .expand(&[b"i"], &mut padded)
            .unwrap();
        assert_eq!(short, padded);
    }

    #[test]
    fn hash_fork_finish_leaves_context_usable() {
        for h in [&SHA256, &SHA384, &SHA512] {
            let mut ctx = h.start();
            ctx.update(b"ab");
            let fork = ctx.fork();
            let mid = ctx.fork_finish();
            ctx.update(b"c");
            assert_eq!(mid, h.hash(b"ab"));
            assert_eq!(fork.finish(), h.hash(b"ab"));
            assert_eq!(ctx.finish(), h.hash(b"abc"));
            assert_eq!(h.hash(b"").as_bytes().len(), h.output_len());
        }
        // FIPS 180-4 example: SHA-256("abc").
        assert_eq!(
            SHA256.hash(b"abc").as_bytes(),
            unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
    }

    #[test]
    fn hmac_rfc4231_case_2_and_verify() {
        let key = HMAC_SHA256.with_key(b"Jefe");
        let tag = key.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            tag.as_bytes(),
            unhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        assert!(
            key.verify(&[b"what do ya want for nothing?"], tag.as_bytes())
                .is_ok()
        );
        let mut bad = tag.as_bytes().to_vec();
        bad[31] ^= 1;
        assert_eq!(
            key.verify(&[b"what do ya want for nothing?"], &bad),
            Err(Error::BadSignature)
        );
        assert_eq!(HMAC_SHA384.tag_len(), 48);
    }

    #[test]
    fn aead_round_trips_and_rejects_tampering() {
        for aead in [&AES_128_GCM, &AES_256_GCM, &CHACHA20_POLY1305] {
            let key = aead.with_key(&vec![1u8; aead.key_len()]).unwrap();
            assert_eq!(key.algorithm(), aead.algorithm());
            let mut buf = b"payload".to_vec();
            let tag = key
                .seal_in_place(Nonce::new([2; 12]), b"h", &mut buf)
                .unwrap();
            assert_ne!(&buf, b"payload");
            buf.extend_from_slice(tag.as_ref());
            let mut good = buf.clone();
            let n = key
                .open_in_place(Nonce::new([2; 12]), b"h", &mut good)
                .unwrap();
            assert_eq!(&good[..n], b"payload");
            for i in [0, buf.len() - 1] {
                let mut bad = buf.clone();
                bad[i] ^= 1;
                assert_eq!(
                    key.open_in_place(Nonce::new([2; 12]), b"h", &mut bad),
                    Err(Error::DecryptFailed)
                );
            }
            let mut wrong_aad = buf.clone();
            assert_eq!(
                key.open_in_place(Nonce::new([2; 12]), b"H", &mut wrong_aad),
                Err(Error::DecryptFailed)
            );
            // Shorter than a tag.
            assert_eq!(
                key.open_in_place(Nonce::new([2; 12]), b"h", &mut [0u8; 15]),
                Err(Error::DecryptFailed)
            );
            assert_eq!(
                aead.with_key(&[0; 15]).err().map(|_| ()),
                Some(()),
                "wrong key length must fail"
            );
        }
    }

    #[test]
    fn key_provider_signs_with_ecdsa_and_ed25519_and_refuses_rsa() {
        use p256::pkcs8::EncodePrivateKey;
        let p256_key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let p384_key = p384::SecretKey::from_slice(&[9u8; 48]).unwrap();
        type Case = (
            Vec<u8>,
            Vec<u8>,
            SignatureScheme,
            &'static dyn SignatureVerifier,
        );
        let cases: [Case; 3] = [
            (
                p256_key.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                p256_key
                    .public_key()
                    .to_sec1_point(false)
                    .as_bytes()
                    .to_vec(),
                SignatureScheme::ECDSA_NISTP256_SHA256,
                &ECDSA_P256_SHA256,
            ),
            (
                p384_key.to_pkcs8_der().unwrap().as_bytes().to_vec(),
                p384_key
                    .public_key()
                    .to_sec1_point(false)
                    .as_bytes()
                    .to_vec(),
                SignatureScheme::ECDSA_NISTP384_SHA384,
                &ECDSA_P384_SHA384,
            ),
            {
                let k = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
                (
                    [unhex("302e020100300506032b657004220420"), vec![5u8; 32]].concat(),
                    k.verifying_key().to_bytes().to_vec(),
                    SignatureScheme::ED25519,
                    &ED25519,
                )
            },
        ];
        for (pkcs8, public, scheme, verifier) in cases {
            let key = KEY_PROVIDER
                .load_private_key(PrivateKeyDer::Pkcs8(pkcs8.into()))
                .unwrap();
            assert!(
                key.choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
                    .is_none()
            );
            let signer = key
                .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256, scheme])
                .unwrap();
            assert_eq!(signer.scheme(), scheme);
            let sig = signer.sign(b"msg").unwrap();
            assert!(verifier.verify(&public, b"msg", &sig).is_ok());
            assert!(verifier.verify(&public, b"msg!", &sig).is_err());
        }
        // SEC1 ECPrivateKey.
        let sec1 = p256_key.to_sec1_der().unwrap().to_vec();
        assert!(
            KEY_PROVIDER
                .load_private_key(PrivateKeyDer::Sec1(sec1.into()))
                .is_ok()
        );
        // RSA: a PKCS#8 with the rsaEncryption algorithm, and any PKCS#1 key.
        let rsa_pkcs8 = unhex("3016020100300d06092a864886f70d0101010500040205aa");
        assert_eq!(
            KEY_PROVIDER
                .load_private_key(PrivateKeyDer::Pkcs8(rsa_pkcs8.into()))
                .err(),
            Some(Error::Unsupported)
        );
        assert_eq!(
            KEY_PROVIDER
                .load_private_key(PrivateKeyDer::Pkcs1(vec![0x30, 0x00].into()))
                .err(),
            Some(Error::Unsupported)
        );
        assert_eq!(
            KEY_PROVIDER
                .load_private_key(PrivateKeyDer::Pkcs8(vec![0x30, 0x00].into()))
                .err(),
            Some(Error::InvalidKey)
        );
    }

    #[test]
    fn verifiers_reject_malformed_inputs() {
        let key = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
        let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&key, b"m");
        let der = sig.to_der().as_bytes().to_vec();
        assert!(ECDSA_P256_SHA256.verify(&public, b"m", &der).is_ok());
        // Wrong hash for the same key, compressed key, truncated signature, trailing byte.
        assert!(ECDSA_P256_SHA384.verify(&public, b"m", &der).is_err());
        let compressed = key.verifying_key().to_sec1_point(true).as_bytes().to_vec();
        assert_eq!(
            ECDSA_P256_SHA256.verify(&compressed, b"m", &der),
            Err(Error::InvalidPublicKey)
        );
        assert!(
            ECDSA_P256_SHA256
                .verify(&public, b"m", &der[..der.len() - 1])
                .is_err()
        );
        let mut long = der.clone();
        long.push(0);
        assert!(ECDSA_P256_SHA256.verify(&public, b"m", &long).is_err());
        assert!(ECDSA_P384_SHA384.verify(&public, b"m", &der).is_err());
        assert!(RSA_PKCS1_SHA256.verify(&public, b"m", &der).is_err());
        assert!(ED25519.verify(&[0u8; 31], b"m", &[0u8; 64]).is_err());
        let provider = default_provider();
        // ECDSA ×2, Ed25519, rsa_pss_rsae ×3, rsa_pss_pss ×3, PKCS#1 ×3.
        assert_eq!(provider.supported_schemes().len(), 12);
        assert_eq!(
            provider
                .verifiers_for_alg_ids(alg_id::ECDSA_P256.as_ref(), alg_id::ECDSA_SHA384.as_ref())
                .count(),
            1
        );
    }

    /// ring and RustCrypto pieces agree, and pieces of both make one working provider.
    #[cfg(feature = "ring")]
    mod with_ring {
        use super::super::*;
        use crate::{CryptoProvider, ring};

        #[test]
        fn symmetric_primitives_agree_with_ring() {
            let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
            for (a, b) in [
                (&SHA256, &ring::SHA256),
                (&SHA384, &ring::SHA384),
                (&SHA512, &ring::SHA512),
            ] {
                assert_eq!(a.hash(&data), b.hash(&data));
            }
            for (a, b) in [
                (&HMAC_SHA256, &ring::HMAC_SHA256),
                (&HMAC_SHA384, &ring::HMAC_SHA384),
                (&HMAC_SHA512, &ring::HMAC_SHA512),
            ] {
                let key = [0x0bu8; 100];
                assert_eq!(
                    a.with_key(&key).sign(&[&data, b"x"]),
                    b.with_key(&key).sign(&[&data, b"x"])
                );
            }
            for (a, b) in [
                (&HKDF_SHA256, &ring::HKDF_SHA256),
                (&HKDF_SHA384, &ring::HKDF_SHA384),
            ] {
                let prk = a.extract(b"salt", &data);
                assert_eq!(prk, b.extract(b"salt", &data));
                let (mut x, mut y) = ([0u8; 100], [0u8; 100]);
                a.expander(prk.as_bytes())
                    .unwrap()
                    .expand(&[b"in", b"fo"], &mut x)
                    .unwrap();
                b.expander(prk.as_bytes())
                    .unwrap()
                    .expand(&[b"info"], &mut y)
                    .unwrap();
                assert_eq!(x, y);
                // Short (and empty) PRKs, which ring takes as they are.
                for short in [&prk.as_bytes()[..7], &[][..]] {
                    a.expander(short).unwrap().expand(&[b"s"], &mut x).unwrap();
                    b.expander(short).unwrap().expand(&[b"s"], &mut y).unwrap();
                    assert_eq!(x, y);
                }
            }
            for (a, b) in [
                (&AES_128_GCM, &ring::AES_128_GCM),
                (&AES_256_GCM, &ring::AES_256_GCM),
                (&CHACHA20_POLY1305, &ring::CHACHA20_POLY1305),
            ] {
                let key = vec![9u8; a.key_len()];
                let (ka, kb) = (a.with_key(&key).unwrap(), b.with_key(&key).unwrap());
                let (mut x, mut y) = (data.clone(), data.clone());
                let ta = ka
                    .seal_in_place(Nonce::xor_seq(&[1; 12], 7), b"aad", &mut x)
                    .unwrap();
                let tb = kb
                    .seal_in_place(Nonce::xor_seq(&[1; 12], 7), b"aad", &mut y)
                    .unwrap();
                assert_eq!((&x, ta), (&y, tb));
                x.extend_from_slice(ta.as_ref());
                let n = kb
                    .open_in_place(Nonce::xor_seq(&[1; 12], 7), b"aad", &mut x)
                    .unwrap();
                assert_eq!(&x[..n], &data[..]);
            }
        }

        #[test]
        fn certificate_only_ecdsa_combinations_agree_with_ring() {
            use p256::ecdsa::signature::hazmat::PrehashSigner;
            let msg = b"tbsCertificate";
            // P-256 signing a SHA-384 digest (bits2int keeps its leftmost 256 bits).
            let k256 = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
            let pub256 = k256
                .verifying_key()
                .to_sec1_point(false)
                .as_bytes()
                .to_vec();
            let sig: p256::ecdsa::Signature =
                k256.sign_prehash(SHA384.hash(msg).as_bytes()).unwrap();
            let der256 = sig.to_der().as_bytes().to_vec();
            // P-384 signing a SHA-256 digest (shorter than the order: zero-extended).
            let k384 = p384::ecdsa::SigningKey::from_slice(&[5u8; 48]).unwrap();
            let pub384 = k384
                .verifying_key()
                .to_sec1_point(false)
                .as_bytes()
                .to_vec();
            let sig: p384::ecdsa::Signature =
                k384.sign_prehash(SHA256.hash(msg).as_bytes()).unwrap();
            let der384 = sig.to_der().as_bytes().to_vec();
            type V = &'static dyn SignatureVerifier;
            type Case<'a> = (V, V, V, &'a Vec<u8>, &'a Vec<u8>);
            let cases: [Case<'_>; 2] = [
                (
                    &ECDSA_P256_SHA384,
                    &ring::ECDSA_P256_SHA384,
                    &ECDSA_P256_SHA256,
                    &pub256,
                    &der256,
                ),
                (
                    &ECDSA_P384_SHA256,
                    &ring::ECDSA_P384_SHA256,
                    &ECDSA_P384_SHA384,
                    &pub384,
                    &der384,
                ),
            ];
            for (ours, theirs, wrong, public, der) in cases {
                assert!(ours.verify(public, msg, der).is_ok());
                assert!(theirs.verify(public, msg, der).is_ok());
                assert!(ours.verify(public, b"other", der).is_err());
                assert!(wrong.verify(public, msg, der).is_err());
                assert_eq!(ours.scheme(), None);
                assert_eq!(ours.signature_alg_id(), theirs.signature_alg_id());
                assert_eq!(ours.public_key_alg_id(), theirs.public_key_alg_id());
            }
            // Both providers list the same verifiers with the same identifiers, in order.
            assert_eq!(ALL_VERIFIERS.len(), ring::ALL_VERIFIERS.len());
            for (a, b) in ALL_VERIFIERS.iter().zip(ring::ALL_VERIFIERS) {
                assert_eq!(a.scheme(), b.scheme());
                assert_eq!(a.signature_alg_id(), b.signature_alg_id());
                assert_eq!(a.public_key_alg_id(), b.public_key_alg_id());
            }
        }

        #[test]
        fn known_nist_private_keys_give_the_same_shares_in_both() {
            let cases: [(&RustCryptoKx, &dyn KeyExchange, usize); 2] = [
                (&SECP256R1, &ring::SECP256R1, 32),
                (&SECP384R1, &ring::SECP384R1, 48),
            ];
            for (ours, theirs, len) in cases {
                let a = ours.start_with_private_key(&vec![0x11; len]).unwrap();
                let b = theirs.start_with_private_key(&vec![0x11; len]).unwrap();
                assert_eq!(a.public_key(), b.public_key());
                let peer = theirs.start().unwrap();
                let peer_share = peer.public_key().to_vec();
                assert_eq!(
                    a.complete(&peer_share).unwrap(),
                    b.complete(&peer_share).unwrap()
                );
            }
        }

        #[test]
        fn mixed_provider_works() {
            // ring's suites, random and key provider; RustCrypto's groups and verifiers.
            let mixed = CryptoProvider {
                kx_groups: ALL_KX_GROUPS.to_vec(),
                signature_verifiers: ALL_VERIFIERS.to_vec(),
                ..ring::default_provider()
            };
            // Key exchange across the two libraries, for every group.
            for group in [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1,
            ] {
                let ours = mixed.find_kx(group).unwrap().start().unwrap();
                let theirs = ring::default_provider()
                    .find_kx(group)
                    .unwrap()
                    .start()
                    .unwrap();
                let (our_share, their_share) =
                    (ours.public_key().to_vec(), theirs.public_key().to_vec());
                assert_eq!(
                    ours.complete(&their_share).unwrap(),
                    theirs.complete(&our_share).unwrap()
                );
            }
            // A ring signing key, verified by a RustCrypto verifier found through the provider.
            let rng = ::ring::rand::SystemRandom::new();
            let pkcs8 = ::ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
            let pair = ::ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
            let key = mixed
                .key_provider
                .load_private_key(PrivateKeyDer::Pkcs8(pkcs8.as_ref().to_vec().into()))
                .unwrap();
            let sig = key
                .choose_scheme(&[SignatureScheme::ED25519])
                .unwrap()
                .sign(b"m")
                .unwrap();
            let verifier = mixed.verifier_for_scheme(SignatureScheme::ED25519).unwrap();
            assert_eq!(format!("{verifier:?}"), "rustcrypto::ED25519");
            use ::ring::signature::KeyPair;
            assert!(
                verifier
                    .verify(pair.public_key().as_ref(), b"m", &sig)
                    .is_ok()
            );
            // A ring suite's AEAD with a RustCrypto key-exchange secret as its key.
            let aead = mixed.tls13_suites().next().unwrap().aead;
            let a = X25519.start().unwrap();
            let b = X25519.start().unwrap();
            let b_share = b.public_key().to_vec();
            let secret = a.complete(&b_share).unwrap();
            let sealer = aead.with_key(&secret.as_bytes()[..16]).unwrap();
            let mut buf = *b"record";
            let tag = sealer
                .seal_in_place(Nonce::new([0; 12]), b"", &mut buf)
                .unwrap();
            let mut rec = buf.to_vec();
            rec.extend_from_slice(tag.as_ref());
            let opener = AES_128_GCM.with_key(&secret.as_bytes()[..16]).unwrap();
            assert_eq!(
                opener.open_in_place(Nonce::new([0; 12]), b"", &mut rec),
                Ok(6)
            );
            let mut r = secret.as_bytes().to_vec();
            ::ring::rand::SecureRandom::fill(&rng, &mut r).unwrap();
            assert_ne!(r, secret.as_bytes());
        }
    }
}

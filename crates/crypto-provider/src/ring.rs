//! The `ring` provider (feature `ring`, on by default).
//!
//! Every piece is a `pub static` so it can be mixed into another provider; [`default_provider`]
//! puts them together.

use crate::{
    Aead, AeadAlgorithm, BoundAead, Error, Hash, HashAlgorithm, HashContext, Hkdf, HkdfExpander,
    Hmac, HmacKey, KeyExchange, KeyProvider, Nonce, Output, Secret, SecureRandom,
    SignatureVerifier, Signer, SigningKey, TAG_LEN, Tag,
};
use ::ring::{aead, agreement, digest, hkdf, hmac, rand, signature};
use overture_types::pki::{AlgorithmIdentifier, alg_id};
use overture_types::{NamedGroup, PrivateKeyDer, SignatureScheme};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Hashes

/// A ring digest algorithm.
#[derive(Debug)]
pub struct RingHash(HashAlgorithm);

impl RingHash {
    fn ring_alg(&self) -> &'static digest::Algorithm {
        match self.0 {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
        }
    }
}

/// SHA-256.
pub static SHA256: RingHash = RingHash(HashAlgorithm::Sha256);
/// SHA-384.
pub static SHA384: RingHash = RingHash(HashAlgorithm::Sha384);
/// SHA-512.
pub static SHA512: RingHash = RingHash(HashAlgorithm::Sha512);

fn output(bytes: &[u8]) -> Output {
    // Every ring digest and HMAC tag is at most 64 bytes, so nothing is cut.
    Output::truncated(bytes)
}

impl Hash for RingHash {
    fn algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn start(&self) -> Box<dyn HashContext> {
        Box::new(RingHashContext(digest::Context::new(self.ring_alg())))
    }

    fn hash(&self, data: &[u8]) -> Output {
        output(digest::digest(self.ring_alg(), data).as_ref())
    }
}

struct RingHashContext(digest::Context);

impl HashContext for RingHashContext {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn fork(&self) -> Box<dyn HashContext> {
        Box::new(Self(self.0.clone()))
    }

    fn fork_finish(&self) -> Output {
        output(self.0.clone().finish().as_ref())
    }

    fn finish(self: Box<Self>) -> Output {
        output(self.0.finish().as_ref())
    }
}

// ---------------------------------------------------------------------------------------------
// HMAC and HKDF

/// ring's HMAC over one hash.
#[derive(Debug)]
pub struct RingHmac(HashAlgorithm);

impl RingHmac {
    fn ring_alg(&self) -> hmac::Algorithm {
        match self.0 {
            HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
            HashAlgorithm::Sha384 => hmac::HMAC_SHA384,
            HashAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// HMAC-SHA256.
pub static HMAC_SHA256: RingHmac = RingHmac(HashAlgorithm::Sha256);
/// HMAC-SHA384.
pub static HMAC_SHA384: RingHmac = RingHmac(HashAlgorithm::Sha384);
/// HMAC-SHA512.
pub static HMAC_SHA512: RingHmac = RingHmac(HashAlgorithm::Sha512);

impl Hmac for RingHmac {
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn with_key(&self, key: &[u8]) -> Box<dyn HmacKey> {
        Box::new(RingHmacKey(hmac::Key::new(self.ring_alg(), key)))
    }

    fn sign_once(&self, key: &[u8], data: &[&[u8]]) -> Output {
        RingHmacKey(hmac::Key::new(self.ring_alg(), key)).sign(data)
    }
}

struct RingHmacKey(hmac::Key);

impl HmacKey for RingHmacKey {
    fn sign(&self, data: &[&[u8]]) -> Output {
        let mut ctx = hmac::Context::with_key(&self.0);
        for d in data {
            ctx.update(d);
        }
        output(ctx.sign().as_ref())
    }
}

/// ring's HKDF over one hash. Extract is HMAC(salt, ikm) so that the PRK is available as bytes
/// (the TLS 1.3 key schedule feeds it on as the next salt, and RFC 8448 lists it).
#[derive(Debug)]
pub struct RingHkdf(HashAlgorithm);

/// HKDF-SHA256.
pub static HKDF_SHA256: RingHkdf = RingHkdf(HashAlgorithm::Sha256);
/// HKDF-SHA384.
pub static HKDF_SHA384: RingHkdf = RingHkdf(HashAlgorithm::Sha384);

impl RingHkdf {
    fn hmac_alg(&self) -> hmac::Algorithm {
        RingHmac(self.0).ring_alg()
    }

    fn hkdf_alg(&self) -> hkdf::Algorithm {
        match self.0 {
            HashAlgorithm::Sha256 => hkdf::HKDF_SHA256,
            HashAlgorithm::Sha384 => hkdf::HKDF_SHA384,
            HashAlgorithm::Sha512 => hkdf::HKDF_SHA512,
        }
    }
}

impl Hkdf for RingHkdf {
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.0
    }

    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        // An empty HMAC key and HashLen zero bytes are the same key (HMAC zero-pads keys).
        let tag = hmac::sign(&hmac::Key::new(self.hmac_alg(), salt), ikm);
        // An HMAC tag is at most 64 bytes, so nothing is cut.
        Secret::truncated(tag.as_ref())
    }

    fn expander(&self, prk: &[u8]) -> Result<Box<dyn HkdfExpander>, Error> {
        Ok(Box::new(self.stack_expander(prk)))
    }

    fn with_expander(
        &self,
        prk: &[u8],
        f: &mut dyn FnMut(&dyn HkdfExpander) -> Result<(), Error>,
    ) -> Result<(), Error> {
        f(&self.stack_expander(prk))
    }
}

impl RingHkdf {
    fn stack_expander(&self, prk: &[u8]) -> RingExpander {
        RingExpander {
            prk: hkdf::Prk::new_less_safe(self.hkdf_alg(), prk),
            hash_len: self.0.output_len(),
        }
    }
}

struct RingExpander {
    prk: hkdf::Prk,
    hash_len: usize,
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl HkdfExpander for RingExpander {
    fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error> {
        self.prk
            .expand(info, Len(out.len()))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| Error::OutputLength)
    }

    fn hash_len(&self) -> usize {
        self.hash_len
    }
}

// ---------------------------------------------------------------------------------------------
// AEAD

/// ring's AEAD.
#[derive(Debug)]
pub struct RingAead(AeadAlgorithm);

/// AES-128-GCM.
pub static AES_128_GCM: RingAead = RingAead(AeadAlgorithm::Aes128Gcm);
/// AES-256-GCM.
pub static AES_256_GCM: RingAead = RingAead(AeadAlgorithm::Aes256Gcm);
/// ChaCha20-Poly1305.
pub static CHACHA20_POLY1305: RingAead = RingAead(AeadAlgorithm::ChaCha20Poly1305);

impl Aead for RingAead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.0
    }

    fn with_key(&self, key: &[u8]) -> Result<Box<dyn BoundAead>, Error> {
        let alg = match self.0 {
            AeadAlgorithm::Aes128Gcm => &aead::AES_128_GCM,
            AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        };
        let key = aead::UnboundKey::new(alg, key).map_err(|_| Error::InvalidKey)?;
        Ok(Box::new(RingBoundAead {
            key: aead::LessSafeKey::new(key),
            alg: self.0,
        }))
    }
}

struct RingBoundAead {
    key: aead::LessSafeKey,
    alg: AeadAlgorithm,
}

impl BoundAead for RingBoundAead {
    fn seal_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<Tag, Error> {
        let nonce = aead::Nonce::assume_unique_for_key(*nonce.as_bytes());
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), in_out)
            .map_err(|_| Error::OutputLength)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(Tag(out))
    }

    fn open_in_place(&self, nonce: Nonce, aad: &[u8], in_out: &mut [u8]) -> Result<usize, Error> {
        let nonce = aead::Nonce::assume_unique_for_key(*nonce.as_bytes());
        self.key
            .open_in_place(nonce, aead::Aad::from(aad), in_out)
            .map(|plain| plain.len())
            .map_err(|_| Error::DecryptFailed)
    }

    fn algorithm(&self) -> AeadAlgorithm {
        self.alg
    }
}

// ---------------------------------------------------------------------------------------------
// Key exchange

/// ring's ephemeral ECDH.
#[derive(Debug)]
pub struct RingKx {
    group: NamedGroup,
    alg: &'static agreement::Algorithm,
}

/// X25519.
pub static X25519: RingKx = RingKx {
    group: NamedGroup::X25519,
    alg: &agreement::X25519,
};
/// ECDH over P-256 (secp256r1).
pub static SECP256R1: RingKx = RingKx {
    group: NamedGroup::secp256r1,
    alg: &agreement::ECDH_P256,
};
/// ECDH over P-384 (secp384r1).
pub static SECP384R1: RingKx = RingKx {
    group: NamedGroup::secp384r1,
    alg: &agreement::ECDH_P384,
};

impl KeyExchange for RingKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn start(&self) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        self.generate(&rand::SystemRandom::new(), Error::RandomFailed)
    }

    /// ring has no API to import an ECDH private key. This feeds `private_key` to ring's own key
    /// generation through ring's deterministic-RNG testing hook (`ring::test::rand`, public
    /// but deprecated and documented as internal), so the key ring generates *is* the given
    /// one: X25519 takes the 32 raw bytes (RFC 7748), P-256 / P-384 the big-endian scalar of
    /// exactly 32 / 48 bytes, in `[1, n - 1]` (otherwise [`Error::InvalidKey`]).
    ///
    /// Meant for known-answer tests (RFC 8448, Wycheproof). Should ring remove the hook, this
    /// goes back to [`Error::Unsupported`]; the rustcrypto provider imports keys natively.
    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        let expected = match self.group {
            NamedGroup::secp384r1 => 48,
            _ => 32,
        };
        // ring's fixed-slice RNG copies with `copy_from_slice`: the length must match exactly.
        if private_key.len() != expected {
            return Err(Error::InvalidKey);
        }
        #[allow(deprecated)]
        let rng = ::ring::test::rand::FixedSliceRandom { bytes: private_key };
        // For the NIST curves ring rejects an out-of-range scalar (after retrying the same
        // bytes), which is an invalid key here.
        self.generate(&rng, Error::InvalidKey)
    }
}

impl RingKx {
    /// A key pair from ring's generator over `rng`; `error` if that fails.
    fn generate(
        &self,
        rng: &dyn rand::SecureRandom,
        error: Error,
    ) -> Result<Box<dyn crate::ActiveKeyExchange>, Error> {
        let private = agreement::EphemeralPrivateKey::generate(self.alg, rng).map_err(|_| error)?;
        let public = private
            .compute_public_key()
            .map_err(|_| error)?
            .as_ref()
            .to_vec();
        Ok(Box::new(RingActiveKx {
            group: self.group,
            alg: self.alg,
            private,
            public,
        }))
    }
}

struct RingActiveKx {
    group: NamedGroup,
    alg: &'static agreement::Algorithm,
    private: agreement::EphemeralPrivateKey,
    public: Vec<u8>,
}

impl crate::ActiveKeyExchange for RingActiveKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        let peer = agreement::UnparsedPublicKey::new(self.alg, peer_public_key);
        let secret = agreement::agree_ephemeral(self.private, &peer, Secret::new)
            .map_err(|_| Error::InvalidPeerShare)?
            .ok_or(Error::InvalidPeerShare)?;
        // RFC 7748 §6.1 / RFC 8446 §7.4.2: an all-zero X25519 result means a low-order point.
        // (Not for the NIST curves: there a shared x-coordinate of 0 is a valid point, and
        // ring has already rejected invalid peer points.)
        if self.group == NamedGroup::X25519 && secret.as_bytes().iter().all(|b| *b == 0) {
            return Err(Error::InvalidPeerShare);
        }
        Ok(secret)
    }
}

/// ML-KEM-768 (FIPS 203) from `libcrux-ml-kem` (ring has no ML-KEM), with ring's random
/// source. The hybrid groups [`X25519MLKEM768`] and [`SECP256R1MLKEM768`] combine it with
/// ring's ECDH.
pub static MLKEM768: crate::LibcruxMlKem768 = crate::LibcruxMlKem768::new(&RANDOM);

// ---------------------------------------------------------------------------------------------
// Signature verification

/// One ring signature verification algorithm.
pub struct RingVerifier {
    scheme: Option<SignatureScheme>,
    public_key_alg_id: AlgorithmIdentifier,
    signature_alg_id: AlgorithmIdentifier,
    alg: &'static dyn signature::VerificationAlgorithm,
    name: &'static str,
}

impl core::fmt::Debug for RingVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ring::{}", self.name)
    }
}

impl SignatureVerifier for RingVerifier {
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
        signature::UnparsedPublicKey::new(self.alg, public_key)
            .verify(message, signature)
            .map_err(|_| Error::BadSignature)
    }
}

macro_rules! verifier {
    ($(#[$m:meta])* $name:ident, $scheme:expr, $pk:expr, $sig:expr, $alg:expr) => {
        $(#[$m])*
        pub static $name: RingVerifier = RingVerifier {
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
    alg_id::ECDSA_SHA256, &signature::ECDSA_P256_SHA256_ASN1
);
verifier!(
    /// ECDSA P-256 with SHA-384 (certificates only).
    ECDSA_P256_SHA384, None, alg_id::ECDSA_P256, alg_id::ECDSA_SHA384,
    &signature::ECDSA_P256_SHA384_ASN1
);
verifier!(
    /// ECDSA P-384 with SHA-384 (`ecdsa_secp384r1_sha384`).
    ECDSA_P384_SHA384, Some(SignatureScheme::ECDSA_NISTP384_SHA384), alg_id::ECDSA_P384,
    alg_id::ECDSA_SHA384, &signature::ECDSA_P384_SHA384_ASN1
);
verifier!(
    /// ECDSA P-384 with SHA-256 (certificates only).
    ECDSA_P384_SHA256, None, alg_id::ECDSA_P384, alg_id::ECDSA_SHA256,
    &signature::ECDSA_P384_SHA256_ASN1
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-256, 2048–8192-bit keys.
    RSA_PKCS1_SHA256, Some(SignatureScheme::RSA_PKCS1_SHA256), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA256, &signature::RSA_PKCS1_2048_8192_SHA256
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-384, 2048–8192-bit keys.
    RSA_PKCS1_SHA384, Some(SignatureScheme::RSA_PKCS1_SHA384), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA384, &signature::RSA_PKCS1_2048_8192_SHA384
);
verifier!(
    /// RSA PKCS#1 v1.5 with SHA-512, 2048–8192-bit keys.
    RSA_PKCS1_SHA512, Some(SignatureScheme::RSA_PKCS1_SHA512), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PKCS1_SHA512, &signature::RSA_PKCS1_2048_8192_SHA512
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-256, MGF1-SHA-256, salt 32.
    RSA_PSS_SHA256, Some(SignatureScheme::RSA_PSS_SHA256), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA256, &signature::RSA_PSS_2048_8192_SHA256
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-384, MGF1-SHA-384, salt 48.
    RSA_PSS_SHA384, Some(SignatureScheme::RSA_PSS_SHA384), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA384, &signature::RSA_PSS_2048_8192_SHA384
);
verifier!(
    /// RSA-PSS (rsaEncryption key) with SHA-512, MGF1-SHA-512, salt 64.
    RSA_PSS_SHA512, Some(SignatureScheme::RSA_PSS_SHA512), alg_id::RSA_ENCRYPTION,
    alg_id::RSA_PSS_SHA512, &signature::RSA_PSS_2048_8192_SHA512
);
verifier!(
    /// RSA-PSS with SHA-256, MGF1-SHA-256, salt 32, by an RSASSA-PSS key (`rsa_pss_pss_sha256`).
    RSA_PSS_PSS_SHA256, Some(SignatureScheme::RSA_PSS_PSS_SHA256), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA256, &signature::RSA_PSS_2048_8192_SHA256
);
verifier!(
    /// RSA-PSS with SHA-384, MGF1-SHA-384, salt 48, by an RSASSA-PSS key (`rsa_pss_pss_sha384`).
    RSA_PSS_PSS_SHA384, Some(SignatureScheme::RSA_PSS_PSS_SHA384), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA384, &signature::RSA_PSS_2048_8192_SHA384
);
verifier!(
    /// RSA-PSS with SHA-512, MGF1-SHA-512, salt 64, by an RSASSA-PSS key (`rsa_pss_pss_sha512`).
    RSA_PSS_PSS_SHA512, Some(SignatureScheme::RSA_PSS_PSS_SHA512), crate::RSA_PSS_KEY_ALG_ID,
    alg_id::RSA_PSS_SHA512, &signature::RSA_PSS_2048_8192_SHA512
);
verifier!(
    /// Ed25519.
    ED25519, Some(SignatureScheme::ED25519), alg_id::ED25519, alg_id::ED25519,
    &signature::ED25519
);

// ---------------------------------------------------------------------------------------------
// Randomness and signing keys

/// The operating system's random source, through ring.
#[derive(Debug)]
pub struct RingRandom;

/// The random source.
pub static RANDOM: RingRandom = RingRandom;

impl SecureRandom for RingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        rand::SecureRandom::fill(&rand::SystemRandom::new(), buf).map_err(|_| Error::RandomFailed)
    }
}

/// Loads PKCS#8 (ECDSA P-256/P-384, Ed25519, RSA), PKCS#1 (RSA) and SEC1 (P-256/P-384) keys.
#[derive(Debug)]
pub struct RingKeyProvider;

/// The key provider.
pub static KEY_PROVIDER: RingKeyProvider = RingKeyProvider;

impl KeyProvider for RingKeyProvider {
    fn load_private_key(&self, key: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        let rng = rand::SystemRandom::new();
        match &key {
            PrivateKeyDer::Pkcs8(der) => load_pkcs8(der.secret_pkcs8_der(), &rng),
            PrivateKeyDer::Pkcs1(der) => {
                let key = signature::RsaKeyPair::from_der(der.secret_pkcs1_der())
                    .map_err(|_| Error::InvalidKey)?;
                Ok(Arc::new(RingRsaKey(Arc::new(key))))
            }
            PrivateKeyDer::Sec1(der) => {
                for (curve_oid, _) in EC_CURVES {
                    let pkcs8 = sec1_to_pkcs8(curve_oid, der.secret_sec1_der());
                    if let Ok(k) = load_pkcs8(&pkcs8, &rng) {
                        return Ok(k);
                    }
                }
                Err(Error::InvalidKey)
            }
            _ => Err(Error::Unsupported),
        }
    }
}

/// (namedCurve OID value bytes, signing algorithm) for the curves we sign with.
const EC_CURVES: [(&[u8], &signature::EcdsaSigningAlgorithm); 2] = [
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x22],
        &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
    ),
];

fn load_pkcs8(der: &[u8], rng: &rand::SystemRandom) -> Result<Arc<dyn SigningKey>, Error> {
    for (i, (_, alg)) in EC_CURVES.iter().enumerate() {
        if let Ok(k) = signature::EcdsaKeyPair::from_pkcs8(alg, der, rng) {
            let scheme = if i == 0 {
                SignatureScheme::ECDSA_NISTP256_SHA256
            } else {
                SignatureScheme::ECDSA_NISTP384_SHA384
            };
            return Ok(Arc::new(RingEcdsaKey {
                key: Arc::new(k),
                scheme,
            }));
        }
    }
    if let Ok(k) = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
        return Ok(Arc::new(RingEd25519Key(Arc::new(k))));
    }
    if let Ok(k) = signature::RsaKeyPair::from_pkcs8(der) {
        return Ok(Arc::new(RingRsaKey(Arc::new(k))));
    }
    Err(Error::InvalidKey)
}

/// Wraps a SEC1 ECPrivateKey into a PKCS#8 PrivateKeyInfo for the curve `curve_oid`.
fn sec1_to_pkcs8(curve_oid: &[u8], sec1: &[u8]) -> Vec<u8> {
    const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    let mut alg = der_tlv(0x06, EC_PUBLIC_KEY);
    alg.extend(der_tlv(0x06, curve_oid));
    let mut body = der_tlv(0x02, &[0]);
    body.extend(der_tlv(0x30, &alg));
    body.extend(der_tlv(0x04, sec1));
    der_tlv(0x30, &body)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len().to_be_bytes();
    let first = len.iter().position(|b| *b != 0).unwrap_or(len.len() - 1);
    let len = len.get(first..).unwrap_or_default();
    match len {
        [b] if *b < 0x80 => out.push(*b),
        _ => {
            out.push(0x80 | u8::try_from(len.len()).unwrap_or(0));
            out.extend_from_slice(len);
        }
    }
    out.extend_from_slice(value);
    out
}

#[derive(Debug)]
struct RingEcdsaKey {
    key: Arc<signature::EcdsaKeyPair>,
    scheme: SignatureScheme,
}

impl SigningKey for RingEcdsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if !offered.contains(&self.scheme) {
            return None;
        }
        Some(Box::new(RingEcdsaSigner {
            key: self.key.clone(),
            scheme: self.scheme,
        }))
    }
}

#[derive(Debug)]
struct RingEcdsaSigner {
    key: Arc<signature::EcdsaKeyPair>,
    scheme: SignatureScheme,
}

impl Signer for RingEcdsaSigner {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        self.key
            .sign(&rand::SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::SigningFailed)
    }
}

#[derive(Debug)]
struct RingEd25519Key(Arc<signature::Ed25519KeyPair>);

impl SigningKey for RingEd25519Key {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        if !offered.contains(&SignatureScheme::ED25519) {
            return None;
        }
        Some(Box::new(RingEd25519Signer(self.0.clone())))
    }
}

#[derive(Debug)]
struct RingEd25519Signer(Arc<signature::Ed25519KeyPair>);

impl Signer for RingEd25519Signer {
    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(self.0.sign(message).as_ref().to_vec())
    }
}

#[derive(Debug)]
struct RingRsaKey(Arc<signature::RsaKeyPair>);

const RSA_SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
];

impl SigningKey for RingRsaKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = offered.iter().copied().find(|s| RSA_SCHEMES.contains(s))?;
        Some(Box::new(RingRsaSigner {
            key: self.0.clone(),
            scheme,
        }))
    }
}

#[derive(Debug)]
struct RingRsaSigner {
    key: Arc<signature::RsaKeyPair>,
    scheme: SignatureScheme,
}

impl Signer for RingRsaSigner {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let padding: &'static dyn signature::RsaEncoding = match self.scheme {
            SignatureScheme::RSA_PSS_SHA256 => &signature::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384 => &signature::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512 => &signature::RSA_PSS_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256 => &signature::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384 => &signature::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512 => &signature::RSA_PKCS1_SHA512,
            _ => return Err(Error::Unsupported),
        };
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        self.key
            .sign(padding, &rand::SystemRandom::new(), message, &mut sig)
            .map_err(|_| Error::SigningFailed)?;
        Ok(sig)
    }
}

// ---------------------------------------------------------------------------------------------
// Cipher suites, tables and the provider

crate::suites::provider_tables!("The ring provider with every piece.");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand_label;

    #[test]
    fn x25519_agrees_with_itself() {
        let a = X25519.start().unwrap();
        let b = X25519.start().unwrap();
        let b_pub = b.public_key().to_vec();
        let s1 = a.public_key().to_vec();
        let ab = a.complete(&b_pub).unwrap();
        let ba = b.complete(&s1).unwrap();
        assert_eq!(ab, ba);
        // A low-order point (all zeros) gives an all-zero secret: rejected.
        let c = X25519.start().unwrap();
        assert_eq!(c.complete(&[0u8; 32]).err(), Some(Error::InvalidPeerShare));
    }

    #[test]
    fn x25519_imports_rfc7748_private_keys() {
        let unhex = |s: &str| -> Vec<u8> {
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let alice = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let a = X25519.start_with_private_key(&alice).unwrap();
        let b = X25519.start_with_private_key(&bob).unwrap();
        assert_eq!(
            hex(a.public_key()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        let b_pub = b.public_key().to_vec();
        assert_eq!(
            hex(a.complete(&b_pub).unwrap().as_bytes()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        );
        // Wrong lengths and out-of-range NIST scalars are refused, not a panic.
        assert_eq!(
            X25519.start_with_private_key(&[1; 31]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP256R1.start_with_private_key(&[0; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP256R1.start_with_private_key(&[0xff; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP384R1.start_with_private_key(&[1; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert!(SECP384R1.start_with_private_key(&[1; 48]).is_ok());
    }

    #[test]
    fn hkdf_expand_label_matches_rfc8448_derived_secret() {
        // RFC 8448 §3: early secret = HKDF-Extract(0, 0^32); "derived" secret from it.
        let early = HKDF_SHA256.extract(&[], &[0u8; 32]);
        assert_eq!(
            hex(early.as_bytes()),
            "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
        );
        let empty_hash = SHA256.hash(&[]);
        let exp = HKDF_SHA256.expander(early.as_bytes()).unwrap();
        let mut derived = [0u8; 32];
        expand_label(&*exp, b"derived", empty_hash.as_bytes(), &mut derived).unwrap();
        assert_eq!(
            hex(&derived),
            "6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba"
        );
    }

    #[test]
    fn hash_fork_finish_leaves_context_usable() {
        let mut ctx = SHA256.start();
        ctx.update(b"ab");
        let mid = ctx.fork_finish();
        ctx.update(b"c");
        assert_eq!(mid, SHA256.hash(b"ab"));
        assert_eq!(ctx.finish(), SHA256.hash(b"abc"));
    }

    #[test]
    fn aead_rejects_a_flipped_bit() {
        let key = AES_256_GCM.with_key(&[1u8; 32]).unwrap();
        let mut buf = b"payload".to_vec();
        let tag = key
            .seal_in_place(Nonce::new([2; 12]), b"h", &mut buf)
            .unwrap();
        buf.extend_from_slice(tag.as_ref());
        buf[0] ^= 1;
        assert_eq!(
            key.open_in_place(Nonce::new([2; 12]), b"h", &mut buf),
            Err(Error::DecryptFailed)
        );
        assert!(AES_256_GCM.with_key(&[0; 16]).is_err());
    }

    #[test]
    fn signing_keys_round_trip_through_verifiers() {
        let rng = rand::SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .unwrap();
        let key = KEY_PROVIDER
            .load_private_key(PrivateKeyDer::Pkcs8(pkcs8.as_ref().to_vec().into()))
            .unwrap();
        assert!(key.choose_scheme(&[SignatureScheme::ED25519]).is_none());
        let signer = key
            .choose_scheme(&[
                SignatureScheme::ED25519,
                SignatureScheme::ECDSA_NISTP256_SHA256,
            ])
            .unwrap();
        let sig = signer.sign(b"msg").unwrap();
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        use signature::KeyPair;
        let public = pair.public_key().as_ref();
        assert!(ECDSA_P256_SHA256.verify(public, b"msg", &sig).is_ok());
        assert!(ECDSA_P256_SHA256.verify(public, b"msg!", &sig).is_err());
        let provider = default_provider();
        assert_eq!(
            provider
                .verifier_for_scheme(SignatureScheme::ECDSA_NISTP256_SHA256)
                .unwrap()
                .scheme(),
            Some(SignatureScheme::ECDSA_NISTP256_SHA256)
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}

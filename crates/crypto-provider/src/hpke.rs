//! HPKE (RFC 9180) in base mode, for Encrypted Client Hello (RFC 9849): DHKEM(X25519,
//! HKDF-SHA256) with HKDF-SHA256 and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305, built on a
//! provider's own pieces (its X25519 [`KeyExchange`], [`Hkdf`] and [`Aead`]).
//!
//! ```text
//!   sender (ECH client)                                  receiver (ECH server)
//!   Hpke::setup_base_sender(pkR, info) ─► enc ──────────► Hpke::setup_base_receiver(enc, skR, info)
//!        │  Encap: ephemeral X25519, DH(skE, pkR),              │  Decap: DH(skR, enc)
//!        │  ExtractAndExpand → shared_secret                    │
//!        │  KeySchedule(mode 0) → key, base_nonce, exporter     │  (the same)
//!   HpkeContext::seal(aad, pt) ─► ct ───────────────────► HpkeContext::open(aad, ct) ─► pt
//!        nonce = base_nonce XOR seq; seq += 1 per message (an HRR's second ClientHello: seq 1)
//! ```
//!
//! Checked against RFC 9180 Appendix A.1.1 and A.2.1 (`tests/hpke.rs`). Input bounds: `info`
//! at most [`MAX_INFO_LEN`] bytes (it is copied once, into `LabeledExtract`); the X25519
//! all-zero shared secret is refused (RFC 9180 §7.1.4), as the provider's X25519 does.
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use overture_crypto_provider::{hpke::Hpke, ring};
//!
//! let hpke = Hpke::from_provider(&ring::default_provider(), 0x0020, 0x0001, 0x0001).unwrap();
//! let (sk_r, pk_r) = hpke.generate_key_pair().unwrap();
//! let (enc, mut sender) = hpke.setup_base_sender(&pk_r, b"tls ech").unwrap();
//! let ct = sender.seal(b"aad", b"inner ClientHello").unwrap();
//! let mut receiver = hpke.setup_base_receiver(&enc, sk_r.as_bytes(), b"tls ech").unwrap();
//! assert_eq!(receiver.open(b"aad", &ct).unwrap(), b"inner ClientHello");
//! # }
//! ```

use crate::{
    Aead, AeadAlgorithm, BoundAead, CryptoProvider, Error, HashAlgorithm, Hkdf, HkdfExpander,
    KeyExchange, NONCE_LEN, Nonce, Secret, SecureRandom,
};
use core::fmt;
use overture_types::NamedGroup;
use zeroize::Zeroizing;

/// KEM identifier of DHKEM(X25519, HKDF-SHA256).
pub const KEM_X25519_HKDF_SHA256: u16 = 0x0020;
/// KDF identifier of HKDF-SHA256.
pub const KDF_HKDF_SHA256: u16 = 0x0001;
/// AEAD identifier of AES-128-GCM.
pub const AEAD_AES_128_GCM: u16 = 0x0001;
/// AEAD identifier of AES-256-GCM.
pub const AEAD_AES_256_GCM: u16 = 0x0002;
/// AEAD identifier of ChaCha20-Poly1305.
pub const AEAD_CHACHA20_POLY1305: u16 = 0x0003;

/// The longest `info` accepted: an ECH `info` is `"tls ech" ‖ 0 ‖ ECHConfig`, and an
/// ECHConfig is at most 2^16 - 1 bytes.
pub const MAX_INFO_LEN: usize = 8 + 0xffff;

/// X25519: Nsk = Npk = Nenc = Nsecret = 32 (RFC 9180 §7.1).
const X25519_LEN: usize = 32;
/// HKDF-SHA256: Nh.
const NH: usize = 32;
const VERSION_LABEL: &[u8] = b"HPKE-v1";

/// One HPKE suite (KEM, KDF, AEAD) over a provider's pieces.
#[derive(Clone, Copy)]
pub struct Hpke {
    kem_id: u16,
    kdf_id: u16,
    aead_id: u16,
    dh: &'static dyn KeyExchange,
    hkdf: &'static dyn Hkdf,
    aead: &'static dyn Aead,
    random: &'static dyn SecureRandom,
}

impl fmt::Debug for Hpke {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Hpke(kem {:#06x}, kdf {:#06x}, aead {:#06x})",
            self.kem_id, self.kdf_id, self.aead_id
        )
    }
}

impl Hpke {
    /// The suite `(kem_id, kdf_id, aead_id)` from these pieces: `dh` must be X25519, `hkdf`
    /// HKDF-SHA256, and `aead` the algorithm `aead_id` names; anything else is
    /// [`Error::Unsupported`]. `random` serves [`Hpke::generate_key_pair`].
    pub fn new(
        (kem_id, kdf_id, aead_id): (u16, u16, u16),
        dh: &'static dyn KeyExchange,
        hkdf: &'static dyn Hkdf,
        aead: &'static dyn Aead,
        random: &'static dyn SecureRandom,
    ) -> Result<Self, Error> {
        let aead_alg = aead_algorithm(aead_id).ok_or(Error::Unsupported)?;
        if kem_id != KEM_X25519_HKDF_SHA256
            || kdf_id != KDF_HKDF_SHA256
            || dh.group() != NamedGroup::X25519
            || hkdf.hash_algorithm() != HashAlgorithm::Sha256
            || aead.algorithm() != aead_alg
        {
            return Err(Error::Unsupported);
        }
        Ok(Self {
            kem_id,
            kdf_id,
            aead_id,
            dh,
            hkdf,
            aead,
            random,
        })
    }

    /// The suite from `provider`'s pieces: its X25519 group (from `kx_groups`), the HKDF of
    /// its SHA-256 TLS 1.3 suites, the AEAD of a TLS 1.3 suite and its random source.
    /// [`Error::Unsupported`] if
    /// an identifier is not one this module implements or the provider lacks the piece.
    pub fn from_provider(
        provider: &CryptoProvider,
        kem_id: u16,
        kdf_id: u16,
        aead_id: u16,
    ) -> Result<Self, Error> {
        let aead_alg = aead_algorithm(aead_id).ok_or(Error::Unsupported)?;
        let dh = provider
            .find_kx(NamedGroup::X25519)
            .ok_or(Error::Unsupported)?;
        let hkdf = provider
            .tls13_suites()
            .map(|s| s.hkdf)
            .find(|h| h.hash_algorithm() == HashAlgorithm::Sha256)
            .ok_or(Error::Unsupported)?;
        let aead = provider
            .tls13_suites()
            .map(|s| s.aead)
            .find(|a| a.algorithm() == aead_alg)
            .ok_or(Error::Unsupported)?;
        Self::new(
            (kem_id, kdf_id, aead_id),
            dh,
            hkdf,
            aead,
            provider.secure_random,
        )
    }

    /// `(kem_id, kdf_id, aead_id)`.
    pub fn ids(&self) -> (u16, u16, u16) {
        (self.kem_id, self.kdf_id, self.aead_id)
    }

    /// `Nenc`: the length of `enc` (an X25519 public key).
    pub fn enc_len(&self) -> usize {
        X25519_LEN
    }

    /// `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3): the private key `skX` and public key `pkX`.
    pub fn derive_key_pair(&self, ikm: &[u8]) -> Result<(Secret, Vec<u8>), Error> {
        let suite_id = self.kem_suite_id();
        let dkp_prk = self.labeled_extract(&suite_id, &[], b"dkp_prk", ikm)?;
        let mut sk = Secret::zeroed(X25519_LEN).ok_or(Error::OutputLength)?;
        self.labeled_expand(&suite_id, &dkp_prk, b"sk", &[], sk.as_mut_bytes())?;
        let pk = self
            .dh
            .start_with_private_key(sk.as_bytes())?
            .public_key()
            .to_vec();
        Ok((sk, pk))
    }

    /// `GenerateKeyPair()` = `DeriveKeyPair(random(Nsk))` (RFC 9180 §4): a fresh key pair,
    /// for a receiver (a test ECH server).
    pub fn generate_key_pair(&self) -> Result<(Secret, Vec<u8>), Error> {
        let mut ikm = Zeroizing::new([0u8; X25519_LEN]);
        self.random.fill(&mut *ikm)?;
        self.derive_key_pair(&*ikm)
    }

    /// `SetupBaseS(pkR, info)`: the encapsulated key `enc` to send and the sender's context.
    pub fn setup_base_sender(
        &self,
        pk_r: &[u8],
        info: &[u8],
    ) -> Result<(Vec<u8>, HpkeContext), Error> {
        let ephemeral = self.dh.start()?;
        self.sender_with(ephemeral, pk_r, info)
    }

    /// `SetupBaseS` with the ephemeral key `DeriveKeyPair(ikm_e)`: deterministic, for
    /// known-answer tests only (reusing `ikm_e` reuses the ephemeral key).
    #[doc(hidden)]
    pub fn setup_base_sender_deterministic(
        &self,
        pk_r: &[u8],
        info: &[u8],
        ikm_e: &[u8],
    ) -> Result<(Vec<u8>, HpkeContext), Error> {
        let (sk_e, _) = self.derive_key_pair(ikm_e)?;
        let ephemeral = self.dh.start_with_private_key(sk_e.as_bytes())?;
        self.sender_with(ephemeral, pk_r, info)
    }

    fn sender_with(
        &self,
        ephemeral: Box<dyn crate::ActiveKeyExchange>,
        pk_r: &[u8],
        info: &[u8],
    ) -> Result<(Vec<u8>, HpkeContext), Error> {
        if pk_r.len() != X25519_LEN {
            return Err(Error::InvalidPublicKey);
        }
        check_info(info)?;
        let enc = ephemeral.public_key().to_vec();
        let dh = ephemeral.complete(pk_r)?;
        let shared_secret = self.extract_and_expand(&dh, &enc, pk_r)?;
        let context = self.key_schedule(&shared_secret, info)?;
        Ok((enc, context))
    }

    /// `SetupBaseR(enc, skR, info)`: the receiver's context.
    pub fn setup_base_receiver(
        &self,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
    ) -> Result<HpkeContext, Error> {
        if enc.len() != X25519_LEN {
            return Err(Error::InvalidPeerShare);
        }
        check_info(info)?;
        let ours = self.dh.start_with_private_key(sk_r)?;
        let pk_r = ours.public_key().to_vec();
        let dh = ours.complete(enc)?;
        let shared_secret = self.extract_and_expand(&dh, enc, &pk_r)?;
        self.key_schedule(&shared_secret, info)
    }

    /// DHKEM's `ExtractAndExpand(dh, enc ‖ pkRm)`.
    fn extract_and_expand(&self, dh: &Secret, enc: &[u8], pk_r: &[u8]) -> Result<Secret, Error> {
        let suite_id = self.kem_suite_id();
        let eae_prk = self.labeled_extract(&suite_id, &[], b"eae_prk", dh.as_bytes())?;
        let mut shared = Secret::zeroed(X25519_LEN).ok_or(Error::OutputLength)?;
        let kem_context = [enc, pk_r].concat();
        self.labeled_expand(
            &suite_id,
            &eae_prk,
            b"shared_secret",
            &kem_context,
            shared.as_mut_bytes(),
        )?;
        Ok(shared)
    }

    /// `KeySchedule(mode_base, shared_secret, info, "", "")` (RFC 9180 §5.1).
    fn key_schedule(&self, shared_secret: &Secret, info: &[u8]) -> Result<HpkeContext, Error> {
        let suite_id = self.hpke_suite_id();
        let psk_id_hash = self.labeled_extract(&suite_id, &[], b"psk_id_hash", &[])?;
        let info_hash = self.labeled_extract(&suite_id, &[], b"info_hash", info)?;
        let mut context = Vec::with_capacity(1 + 2 * NH);
        context.push(0); // mode_base
        context.extend_from_slice(psk_id_hash.as_bytes());
        context.extend_from_slice(info_hash.as_bytes());
        let secret = self.labeled_extract(&suite_id, shared_secret.as_bytes(), b"secret", &[])?;
        let mut key = Zeroizing::new(vec![0u8; self.aead.key_len()]);
        self.labeled_expand(&suite_id, &secret, b"key", &context, &mut key)?;
        let mut base_nonce = [0u8; NONCE_LEN];
        self.labeled_expand(&suite_id, &secret, b"base_nonce", &context, &mut base_nonce)?;
        let mut exporter = Secret::zeroed(NH).ok_or(Error::OutputLength)?;
        self.labeled_expand(
            &suite_id,
            &secret,
            b"exp",
            &context,
            exporter.as_mut_bytes(),
        )?;
        Ok(HpkeContext {
            aead: self.aead.with_key(&key)?,
            base_nonce,
            seq: 0,
            exporter: self.hkdf.expander(exporter.as_bytes())?,
            suite_id,
        })
    }

    /// `LabeledExtract(salt, label, ikm)`.
    fn labeled_extract(
        &self,
        suite_id: &[u8],
        salt: &[u8],
        label: &[u8],
        ikm: &[u8],
    ) -> Result<Secret, Error> {
        let labeled = Zeroizing::new([VERSION_LABEL, suite_id, label, ikm].concat());
        Ok(self.hkdf.extract(salt, &labeled))
    }

    /// `LabeledExpand(prk, label, info, L)` into `out` (L = `out.len()`).
    fn labeled_expand(
        &self,
        suite_id: &[u8],
        prk: &Secret,
        label: &[u8],
        info: &[u8],
        out: &mut [u8],
    ) -> Result<(), Error> {
        labeled_expand_with(
            &*self.hkdf.expander(prk.as_bytes())?,
            suite_id,
            label,
            info,
            out,
        )
    }

    /// `"KEM" ‖ I2OSP(kem_id, 2)`.
    fn kem_suite_id(&self) -> Vec<u8> {
        [&b"KEM"[..], &self.kem_id.to_be_bytes()].concat()
    }

    /// `"HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2)`.
    fn hpke_suite_id(&self) -> Vec<u8> {
        [
            &b"HPKE"[..],
            &self.kem_id.to_be_bytes(),
            &self.kdf_id.to_be_bytes(),
            &self.aead_id.to_be_bytes(),
        ]
        .concat()
    }
}

fn labeled_expand_with(
    expander: &dyn HkdfExpander,
    suite_id: &[u8],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let length = u16::try_from(out.len()).map_err(|_| Error::OutputLength)?;
    expander.expand(
        &[&length.to_be_bytes(), VERSION_LABEL, suite_id, label, info],
        out,
    )
}

fn aead_algorithm(aead_id: u16) -> Option<AeadAlgorithm> {
    match aead_id {
        AEAD_AES_128_GCM => Some(AeadAlgorithm::Aes128Gcm),
        AEAD_AES_256_GCM => Some(AeadAlgorithm::Aes256Gcm),
        AEAD_CHACHA20_POLY1305 => Some(AeadAlgorithm::ChaCha20Poly1305),
        _ => None,
    }
}

fn check_info(info: &[u8]) -> Result<(), Error> {
    if info.len() > MAX_INFO_LEN {
        return Err(Error::OutputLength);
    }
    Ok(())
}

/// An HPKE encryption context (`ContextS` / `ContextR`): seals or opens messages in order,
/// and exports secrets. Keys are zeroized on drop (by the AEAD and HKDF pieces).
pub struct HpkeContext {
    aead: Box<dyn BoundAead>,
    base_nonce: [u8; NONCE_LEN],
    seq: u64,
    exporter: Box<dyn HkdfExpander>,
    suite_id: Vec<u8>,
}

impl fmt::Debug for HpkeContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkeContext(seq {})", self.seq)
    }
}

impl HpkeContext {
    /// The nonce for the current sequence number; fails once the sequence is exhausted.
    fn next_nonce(&mut self) -> Result<Nonce, Error> {
        let nonce = Nonce::xor_seq(&self.base_nonce, self.seq);
        // RFC 9180 §5.2: MessageLimitReachedError instead of wrapping.
        self.seq = self.seq.checked_add(1).ok_or(Error::OutputLength)?;
        Ok(nonce)
    }

    /// `Seal(aad, pt)`: the ciphertext with its tag appended.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = self.next_nonce()?;
        let mut out = Vec::with_capacity(plaintext.len() + crate::TAG_LEN);
        out.extend_from_slice(plaintext);
        let tag = self.aead.seal_in_place(nonce, aad, &mut out)?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// `Open(aad, ct)`: the plaintext, or [`Error::DecryptFailed`]. The sequence number moves
    /// on only when the message opens.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce = Nonce::xor_seq(&self.base_nonce, self.seq);
        let mut buf = ciphertext.to_vec();
        let n = self.aead.open_in_place(nonce, aad, &mut buf)?;
        buf.truncate(n);
        self.seq = self.seq.checked_add(1).ok_or(Error::OutputLength)?;
        Ok(buf)
    }

    /// `Export(exporter_context, L)` into `out` (L = `out.len()`, at most 255 × 32).
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        labeled_expand_with(
            &*self.exporter,
            &self.suite_id,
            b"sec",
            exporter_context,
            out,
        )
    }

    /// The sequence number of the next message.
    pub fn sequence_number(&self) -> u64 {
        self.seq
    }
}

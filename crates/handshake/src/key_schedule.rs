//! The TLS 1.3 key schedule (RFC 8446 §7) and the transcript hash (§4.4.1), through the
//! provider's traits.
//!
//! ```text
//!            0 ─► HKDF-Extract(salt 0, PSK or 0) = early_secret
//!                    │ Derive-Secret(., "derived", "")
//!   (EC)DHE ─► HKDF-Extract = handshake_secret ─► c/s hs traffic (ClientHello..ServerHello)
//!                    │ Derive-Secret(., "derived", "")
//!         0 ─► HKDF-Extract = master_secret ─► c/s ap traffic, exporter (..server Finished)
//!                                          └─► resumption (..client Finished)
//! ```
//!
//! Every secret is a [`Secret`]: zeroized on drop, never printed.

use crate::error::Error;
use core::fmt;
use overture_crypto_provider::{
    Aead, Hash, HashAlgorithm, HashContext, HkdfExpander, NONCE_LEN, Output, Secret,
    Tls12CipherSuite, Tls13CipherSuite, expand_label, expand_label_secret,
    expand_label_secret_with,
};
use overture_types::HandshakeType;

/// Keys for one direction of record protection, as the record layer installs them.
///
/// The client builds its record key without knowing the TLS 1.2 key block layout:
///
/// ```text
/// match key.tls12 {
///     None => RecordKey::tls13(key.aead, key.key.as_bytes(), &key.iv),
///     Some(suite) => RecordKey::tls12(suite, key.key.as_bytes(), key.fixed_iv()),
/// }
/// ```
pub struct TrafficKey {
    /// The suite's AEAD.
    pub aead: &'static dyn Aead,
    /// The write key (zeroized on drop).
    pub key: Secret,
    /// The write IV. For a TLS 1.2 key only the first `suite.fixed_iv_len` bytes are the
    /// key block's `write_IV` (4 for AES-GCM, 12 for ChaCha20-Poly1305), the rest are zero:
    /// use [`TrafficKey::fixed_iv`].
    pub iv: [u8; NONCE_LEN],
    /// `None` for a TLS 1.3 key; for a TLS 1.2 key the suite, whose `nonce` style and
    /// `fixed_iv_len` the record layer needs (`RecordKey::tls12`).
    pub tls12: Option<&'static Tls12CipherSuite>,
}

impl TrafficKey {
    /// The IV bytes the record layer takes: all 12 for TLS 1.3, the suite's `fixed_iv_len`
    /// for TLS 1.2.
    pub fn fixed_iv(&self) -> &[u8] {
        match self.tls12 {
            None => &self.iv,
            Some(s) => self.iv.get(..s.fixed_iv_len).unwrap_or(&self.iv),
        }
    }
}

impl fmt::Debug for TrafficKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TrafficKey({:?}, {} key bytes)",
            self.aead.algorithm(),
            self.key.len()
        )
    }
}

impl Drop for TrafficKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.iv);
    }
}

/// The running transcript hash. Before the suite is known it buffers the ClientHello bytes.
pub struct Transcript {
    state: TranscriptState,
    /// While buffering: a running hash of exactly the buffered bytes, made with the hash the
    /// PSK binder needed (the first ClientHello was hashed for it anyway). If the server's
    /// suite has the same hash, [`Transcript::start_hash`] continues it instead of hashing
    /// the ClientHello a second time.
    prehash: Option<(HashAlgorithm, Box<dyn HashContext>)>,
}

enum TranscriptState {
    Buffer(Vec<u8>),
    Hashing(Box<dyn HashContext>),
}

impl Transcript {
    /// An empty transcript that buffers until [`Transcript::start_hash`].
    pub fn new() -> Self {
        Self {
            state: TranscriptState::Buffer(Vec::new()),
            prehash: None,
        }
    }

    /// Adds a whole handshake message (header included).
    pub fn add(&mut self, message: &[u8]) {
        match &mut self.state {
            TranscriptState::Buffer(b) => {
                b.extend_from_slice(message);
                if let Some((_, ctx)) = &mut self.prehash {
                    ctx.update(message);
                }
            }
            TranscriptState::Hashing(ctx) => ctx.update(message),
        }
    }

    /// Adds `message` while buffering, with `ctx`: a hash context of `hash` that has already
    /// taken the buffered bytes and exactly `message` (the ClientHello hashed for its PSK
    /// binder). Once hashing, or with a buffer that `ctx` did not see, it is a plain
    /// [`Transcript::add`].
    pub fn add_hashed(
        &mut self,
        message: &[u8],
        hash: &'static dyn Hash,
        ctx: Box<dyn HashContext>,
    ) {
        let fresh = matches!(&self.state, TranscriptState::Buffer(b) if b.is_empty());
        self.add(message);
        if fresh && self.prehash.is_none() {
            self.prehash = Some((hash.algorithm(), ctx));
        }
    }

    /// The messages buffered so far, while no hash has started (`None` after
    /// [`Transcript::start_hash`]).
    pub fn buffered(&self) -> Option<&[u8]> {
        match &self.state {
            TranscriptState::Buffer(b) => Some(b),
            TranscriptState::Hashing(_) => None,
        }
    }

    /// Switches from buffering to hashing with `hash` (once the server chose a suite).
    pub fn start_hash(&mut self, hash: &'static dyn Hash) {
        if let TranscriptState::Buffer(b) = &mut self.state {
            let ctx = match self.prehash.take() {
                Some((alg, ctx)) if alg == hash.algorithm() => ctx,
                _ => {
                    let mut ctx = hash.start();
                    ctx.update(b);
                    ctx
                }
            };
            self.state = TranscriptState::Hashing(ctx);
        }
        self.prehash = None;
    }

    /// Replaces ClientHello1 with `message_hash` (RFC 8446 §4.4.1), for a HelloRetryRequest.
    /// Call after [`Transcript::start_hash`] and before adding the HRR.
    pub fn roll_up_for_retry(&mut self, hash: &'static dyn Hash) {
        self.start_hash(hash);
        if let TranscriptState::Hashing(ctx) = &self.state {
            let ch1 = ctx.fork_finish();
            let mut fresh = hash.start();
            let len = u8::try_from(ch1.as_bytes().len()).unwrap_or(u8::MAX);
            fresh.update(&[HandshakeType::MessageHash.get(), 0, 0, len]);
            fresh.update(ch1.as_bytes());
            self.state = TranscriptState::Hashing(fresh);
        }
    }

    /// The hash of everything so far followed by `extra` (not added), with `hash` while still
    /// buffering (a PSK binder over the truncated ClientHello, RFC 8446 §4.2.11.2).
    pub fn hash_with(&self, hash: &'static dyn Hash, extra: &[u8]) -> Output {
        self.context_with(hash, extra).finish()
    }

    /// A hash context that has taken everything so far followed by `extra` (not added), with
    /// `hash` while still buffering; [`Transcript::hash_with`] finishes it.
    pub fn context_with(&self, hash: &'static dyn Hash, extra: &[u8]) -> Box<dyn HashContext> {
        let mut ctx = match (&self.state, &self.prehash) {
            (TranscriptState::Hashing(ctx), _) => ctx.fork(),
            (TranscriptState::Buffer(_), Some((alg, ctx))) if *alg == hash.algorithm() => {
                ctx.fork()
            }
            (TranscriptState::Buffer(b), _) => {
                let mut ctx = hash.start();
                ctx.update(b);
                ctx
            }
        };
        ctx.update(extra);
        ctx
    }

    /// The hash of everything so far; fails before [`Transcript::start_hash`].
    pub fn current_hash(&self) -> Result<Output, Error> {
        match &self.state {
            TranscriptState::Hashing(ctx) => Ok(ctx.fork_finish()),
            TranscriptState::Buffer(_) => Err(Error::Internal("transcript hash before a suite")),
        }
    }
}

impl Default for Transcript {
    fn default() -> Self {
        Self::new()
    }
}

/// The key schedule of one connection, at one stage (early, handshake or master secret).
pub struct KeySchedule {
    suite: &'static Tls13CipherSuite,
    secret: Secret,
    /// 0 early, 1 handshake, 2 master secret.
    stage: u8,
    /// `Hash("")`, the context of both "derived" secrets (kept from the first use).
    empty_hash: Option<Output>,
    /// `Derive-Secret(current, "derived", "")`, when [`KeySchedule::derive_many`] derived it
    /// with the stage's other secrets (one HKDF-Expand key setup for all); taken by
    /// [`KeySchedule::advance`].
    next_salt: Option<Secret>,
}

/// The stage of the master secret: no stage follows it.
const MASTER_STAGE: u8 = 2;

impl KeySchedule {
    /// Starts with the early secret: `HKDF-Extract(0, psk)`, or with HashLen zeros without a PSK.
    pub fn new(suite: &'static Tls13CipherSuite, psk: Option<&[u8]>) -> Self {
        let zeros = [0u8; overture_crypto_provider::MAX_OUTPUT_LEN];
        let ikm = psk.unwrap_or_else(|| zeros.get(..suite.hash.output_len()).unwrap_or_default());
        let secret = suite.hkdf.extract(&[], ikm);
        Self {
            suite,
            secret,
            stage: 0,
            empty_hash: None,
            next_salt: None,
        }
    }

    /// The suite.
    pub fn suite(&self) -> &'static Tls13CipherSuite {
        self.suite
    }

    /// The secret of the current stage.
    pub fn current_secret(&self) -> &Secret {
        &self.secret
    }

    /// `Derive-Secret(current, label, transcript_hash)`.
    pub fn derive(&self, label: &[u8], transcript_hash: &[u8]) -> Result<Secret, Error> {
        derive(self.suite, &self.secret, label, transcript_hash)
    }

    /// `Derive-Secret(current, label, transcript_hash)` for each of `labels`, with one
    /// HKDF-Expand state for all (keyed on the stack by the built-in providers). Before the
    /// master secret it also derives the next stage's salt with it, for
    /// [`KeySchedule::advance`].
    pub fn derive_many<const N: usize>(
        &mut self,
        labels: [&[u8]; N],
        transcript_hash: &[u8],
    ) -> Result<[Secret; N], Error> {
        let len = self.suite.hash.output_len();
        let zero = Secret::zeroed(len).ok_or(Error::Internal("hash longer than 64 bytes"))?;
        let mut out: [Secret; N] = core::array::from_fn(|_| zero.clone());
        let empty =
            (self.stage < MASTER_STAGE && self.next_salt.is_none()).then(|| self.empty_hash());
        let mut salt = empty.map(|_| zero.clone());
        self.suite
            .hkdf
            .with_expander(self.secret.as_bytes(), &mut |e| {
                for (label, secret) in labels.iter().zip(out.iter_mut()) {
                    expand_label(e, label, transcript_hash, secret.as_mut_bytes())?;
                }
                if let (Some(empty), Some(salt)) = (&empty, &mut salt) {
                    expand_label(e, b"derived", empty.as_bytes(), salt.as_mut_bytes())?;
                }
                Ok(())
            })?;
        if salt.is_some() {
            self.next_salt = salt;
        }
        Ok(out)
    }

    /// `Hash("")`, computed once.
    fn empty_hash(&mut self) -> Output {
        *self
            .empty_hash
            .get_or_insert_with(|| self.suite.hash.hash(&[]))
    }

    /// `Derive-Secret(current, "derived", "")`: the salt of the next stage.
    pub fn derived_for_next(&self) -> Result<Secret, Error> {
        let empty = self.suite.hash.hash(&[]);
        self.derive(b"derived", empty.as_bytes())
    }

    /// Moves to the next stage: `HKDF-Extract(Derive-Secret(current, "derived", ""), ikm)`;
    /// `ikm` is the (EC)DHE secret for the handshake secret, `None` (HashLen zeros) for the
    /// master secret.
    pub fn advance(&mut self, ikm: Option<&[u8]>) -> Result<(), Error> {
        let salt = match self.next_salt.take() {
            Some(salt) => salt,
            None => {
                let empty = self.empty_hash();
                self.derive(b"derived", empty.as_bytes())?
            }
        };
        let zeros = [0u8; overture_crypto_provider::MAX_OUTPUT_LEN];
        let ikm = ikm.unwrap_or_else(|| {
            zeros
                .get(..self.suite.hash.output_len())
                .unwrap_or_default()
        });
        self.secret = self.suite.hkdf.extract(salt.as_bytes(), ikm);
        self.stage = self.stage.saturating_add(1);
        Ok(())
    }
}

/// `Derive-Secret(secret, label, transcript_hash)` = `HKDF-Expand-Label(secret, label, hash, HashLen)`.
pub fn derive(
    suite: &Tls13CipherSuite,
    secret: &Secret,
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<Secret, Error> {
    expand(
        suite,
        secret,
        label,
        transcript_hash,
        suite.hash.output_len(),
    )
}

/// `HKDF-Expand-Label(secret, label, context, len)` into a new secret (at most 64 bytes).
pub fn expand(
    suite: &Tls13CipherSuite,
    secret: &Secret,
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Secret, Error> {
    Ok(expand_label_secret_with(
        suite.hkdf,
        secret.as_bytes(),
        label,
        context,
        len,
    )?)
}

/// The record keys of a traffic secret (`key` and `iv`, RFC 8446 §7.3).
pub fn traffic_key(suite: &Tls13CipherSuite, secret: &Secret) -> Result<TrafficKey, Error> {
    let mut key = None;
    suite.hkdf.with_expander(secret.as_bytes(), &mut |e| {
        key = Some(traffic_key_with(suite, e)?);
        Ok(())
    })?;
    key.ok_or(Error::Internal("HKDF expander not called"))
}

/// [`traffic_key`] and [`finished_key`] of one handshake traffic secret, with one HKDF-Expand
/// state for both.
pub fn traffic_and_finished_keys(
    suite: &Tls13CipherSuite,
    secret: &Secret,
) -> Result<(TrafficKey, Secret), Error> {
    let mut keys = None;
    suite.hkdf.with_expander(secret.as_bytes(), &mut |e| {
        let traffic = traffic_key_with(suite, e)?;
        let finished = expand_label_secret(e, b"finished", &[], suite.hash.output_len())?;
        keys = Some((traffic, finished));
        Ok(())
    })?;
    keys.ok_or(Error::Internal("HKDF expander not called"))
}

/// The write key and IV from an expander keyed with the traffic secret.
fn traffic_key_with(
    suite: &Tls13CipherSuite,
    expander: &dyn HkdfExpander,
) -> Result<TrafficKey, overture_crypto_provider::Error> {
    let key = expand_label_secret(expander, b"key", &[], suite.aead.key_len())?;
    let mut iv = [0u8; NONCE_LEN];
    expand_label(expander, b"iv", &[], &mut iv)?;
    Ok(TrafficKey {
        aead: suite.aead,
        key,
        iv,
        tls12: None,
    })
}

/// `application_traffic_secret_N+1` (RFC 8446 §7.2).
pub fn next_traffic_secret(suite: &Tls13CipherSuite, secret: &Secret) -> Result<Secret, Error> {
    expand(suite, secret, b"traffic upd", &[], suite.hash.output_len())
}

/// The Finished key of a handshake traffic secret (RFC 8446 §4.4.4).
pub fn finished_key(suite: &Tls13CipherSuite, secret: &Secret) -> Result<Secret, Error> {
    expand(suite, secret, b"finished", &[], suite.hash.output_len())
}

/// `verify_data = HMAC(finished_key, transcript_hash)`.
pub fn verify_data(
    suite: &Tls13CipherSuite,
    finished_key: &Secret,
    transcript_hash: &[u8],
) -> Output {
    suite
        .hmac
        .sign_once(finished_key.as_bytes(), &[transcript_hash])
}

/// The PSK of a ticket: `HKDF-Expand-Label(resumption_master_secret, "resumption", nonce, HashLen)`
/// (RFC 8446 §4.6.1).
pub fn ticket_psk(
    suite: &Tls13CipherSuite,
    resumption_master_secret: &Secret,
    nonce: &[u8],
) -> Result<Secret, Error> {
    expand(
        suite,
        resumption_master_secret,
        b"resumption",
        nonce,
        suite.hash.output_len(),
    )
}

/// TLS-Exporter (RFC 8446 §7.5) from the exporter master secret.
pub fn export(
    suite: &Tls13CipherSuite,
    exporter_master_secret: &Secret,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let empty = suite.hash.hash(&[]);
    let secret = derive(suite, exporter_master_secret, label, empty.as_bytes())?;
    let context_hash = suite.hash.hash(context);
    Ok(suite.hkdf.with_expander(secret.as_bytes(), &mut |e| {
        expand_label(e, b"exporter", context_hash.as_bytes(), out)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_crypto_provider::ring;
    use std::collections::BTreeMap;

    fn trace(name: &str) -> BTreeMap<String, Vec<u8>> {
        let json = crate::rfc8448_json();
        json["traces"][name]["summary"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), hex::decode(v.as_str().unwrap()).unwrap()))
            .collect()
    }

    /// The key schedule alone, fed the trace's shared secret and transcript hashes.
    #[test]
    fn rfc8448_simple_1rtt_key_schedule() {
        let t = trace("simple_1rtt");
        let s = &ring::TLS13_AES_128_GCM_SHA256;
        let mut ks = KeySchedule::new(s, None);
        assert_eq!(ks.current_secret().as_bytes(), t["early_secret"]);
        assert_eq!(
            ks.derived_for_next().unwrap().as_bytes(),
            t["derived_secret_for_handshake"]
        );
        ks.advance(Some(&t["ecdhe_shared_secret"])).unwrap();
        assert_eq!(ks.current_secret().as_bytes(), t["handshake_secret"]);
        let hs_hash = &t["client_handshake_traffic_transcript_hash"];
        let chts = ks.derive(b"c hs traffic", hs_hash).unwrap();
        let shts = ks.derive(b"s hs traffic", hs_hash).unwrap();
        assert_eq!(chts.as_bytes(), t["client_handshake_traffic_secret"]);
        assert_eq!(shts.as_bytes(), t["server_handshake_traffic_secret"]);
        let [c2, s2] = ks
            .derive_many([b"c hs traffic", b"s hs traffic"], hs_hash)
            .unwrap();
        assert_eq!(c2.as_bytes(), t["client_handshake_traffic_secret"]);
        assert_eq!(s2.as_bytes(), t["server_handshake_traffic_secret"]);
        let k = traffic_key(s, &shts).unwrap();
        assert_eq!(k.key.as_bytes(), t["server_handshake_write_key"]);
        assert_eq!(k.iv.to_vec(), t["server_handshake_write_iv"]);
        let fk = finished_key(s, &shts).unwrap();
        assert_eq!(fk.as_bytes(), t["server_finished_key"]);
        assert_eq!(
            finished_key(s, &chts).unwrap().as_bytes(),
            t["client_finished_key"]
        );
        assert_eq!(
            ks.derived_for_next().unwrap().as_bytes(),
            t["derived_secret_for_master"]
        );
        ks.advance(None).unwrap();
        assert_eq!(ks.current_secret().as_bytes(), t["master_secret"]);
        let ap_hash = &t["client_application_traffic_transcript_hash"];
        let cats = ks.derive(b"c ap traffic", ap_hash).unwrap();
        assert_eq!(cats.as_bytes(), t["client_application_traffic_secret_0"]);
        let [cats2, exp2] = ks
            .derive_many([b"c ap traffic", b"exp master"], ap_hash)
            .unwrap();
        assert_eq!(cats2.as_bytes(), t["client_application_traffic_secret_0"]);
        assert_eq!(exp2.as_bytes(), t["exporter_master_secret"]);
        let k = traffic_key(s, &cats).unwrap();
        assert_eq!(k.key.as_bytes(), t["client_application_write_key"]);
        assert_eq!(k.iv.to_vec(), t["client_application_write_iv"]);
        assert_eq!(
            ks.derive(b"exp master", ap_hash).unwrap().as_bytes(),
            t["exporter_master_secret"]
        );
        let rms = ks
            .derive(b"res master", &t["resumption_master_transcript_hash"])
            .unwrap();
        assert_eq!(rms.as_bytes(), t["resumption_master_secret"]);
        assert_eq!(
            ticket_psk(s, &rms, &t["ticket_nonce"]).unwrap().as_bytes(),
            t["resumption_psk"]
        );
    }

    /// The transcript with HRR's message_hash substitution gives the trace's handshake hash.
    #[test]
    fn rfc8448_traffic_and_finished_keys_from_one_expander() {
        let t = trace("simple_1rtt");
        let s = &ring::TLS13_AES_128_GCM_SHA256;
        for side in ["server", "client"] {
            let secret = Secret::new(&t[&format!("{side}_handshake_traffic_secret")]).unwrap();
            let (k, f) = traffic_and_finished_keys(s, &secret).unwrap();
            assert_eq!(k.key.as_bytes(), t[&format!("{side}_handshake_write_key")]);
            assert_eq!(k.iv.to_vec(), t[&format!("{side}_handshake_write_iv")]);
            assert_eq!(f.as_bytes(), t[&format!("{side}_finished_key")]);
        }
    }

    #[test]
    fn rfc8448_hello_retry_transcript() {
        let t = trace("hello_retry_request");
        let s = &ring::TLS13_AES_128_GCM_SHA256;
        let mut tr = Transcript::new();
        tr.add(&t["client_hello_1"]);
        tr.roll_up_for_retry(s.hash);
        tr.add(&t["hello_retry_request"]);
        tr.add(&t["client_hello_2"]);
        tr.add(&t["server_hello"]);
        assert_eq!(
            tr.current_hash().unwrap().as_bytes(),
            t["client_handshake_traffic_transcript_hash"]
        );
        let mut ks = KeySchedule::new(s, None);
        ks.advance(Some(&t["ecdhe_shared_secret"])).unwrap();
        let shts = ks
            .derive(b"s hs traffic", tr.current_hash().unwrap().as_bytes())
            .unwrap();
        assert_eq!(shts.as_bytes(), t["server_handshake_traffic_secret"]);
    }

    #[test]
    fn next_secret_and_exporter_are_deterministic() {
        let s = &ring::TLS13_AES_128_GCM_SHA256;
        let a = Secret::new(&[1; 32]).unwrap();
        let b = next_traffic_secret(s, &a).unwrap();
        assert_ne!(a, b);
        let mut o1 = [0u8; 20];
        let mut o2 = [0u8; 20];
        export(s, &a, b"label", b"ctx", &mut o1).unwrap();
        export(s, &a, b"label", b"ctx2", &mut o2).unwrap();
        assert_ne!(o1, o2);
    }

    /// A ClientHello added with its running hash gives the transcript hash of the plain
    /// buffer when the server's suite has that hash, and is hashed from the buffer when not.
    #[test]
    fn client_hello_hashed_once_gives_the_same_transcript() {
        let sha256 = ring::TLS13_AES_128_GCM_SHA256.hash;
        let sha384 = ring::TLS13_AES_256_GCM_SHA384.hash;
        let ch: Vec<u8> = (0..600u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let sh = [2u8, 0, 0, 3, 9, 9, 9];
        for suite_hash in [sha256, sha384] {
            let mut plain = Transcript::new();
            plain.add(&ch);
            let mut ctx = sha256.start();
            ctx.update(&ch[..400]);
            ctx.update(&ch[400..]);
            let mut hashed = Transcript::new();
            hashed.add_hashed(&ch, sha256, ctx);
            assert_eq!(hashed.buffered(), Some(&ch[..]));
            assert_eq!(
                hashed.hash_with(suite_hash, &sh).as_bytes(),
                plain.hash_with(suite_hash, &sh).as_bytes()
            );
            for t in [&mut plain, &mut hashed] {
                t.start_hash(suite_hash);
                t.add(&sh);
            }
            assert_eq!(
                hashed.current_hash().unwrap().as_bytes(),
                plain.current_hash().unwrap().as_bytes()
            );
        }
        // Only a fresh transcript takes the running hash: one that already buffered bytes
        // the context did not see hashes its buffer.
        let mut t = Transcript::new();
        t.add(b"x");
        let mut ctx = sha256.start();
        ctx.update(&ch);
        t.add_hashed(&ch, sha256, ctx);
        t.start_hash(sha256);
        let mut want = sha256.start();
        want.update(b"x");
        want.update(&ch);
        assert_eq!(
            t.current_hash().unwrap().as_bytes(),
            want.finish().as_bytes()
        );
    }
}

//! The **crypto floor** of a client handshake: the primitives that handshake must run, called
//! directly on ring, on data of the sizes the client really saw (a recorded handshake).
//!
//! ```text
//!  recorded c2s/s2c bytes ──► Transcript (handshake bytes hashed, sealed record sizes)
//!                                   │
//!  Floor::run:  64 random bytes · X25519 keygen + agreement · SHA-256 over the transcript
//!               (with the snapshots the key schedule takes) · key schedule (TLS 1.3: HKDF;
//!               TLS 1.2: the PRF) · Finished HMACs · AES-128-GCM keys, opening the server's
//!               sealed records and sealing the client's · N signature verifies
//! ```
//!
//! Nothing here parses, allocates per message or checks a protocol rule: that is what an
//! implementation adds on top, and `overture/floor` measures it.

use crate::inmem::{KeyKind, Pki};
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::digest::{self, SHA256};
use ring::hkdf::{HKDF_SHA256, KeyType, Prk, Salt};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, KeyPair};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Which handshake the floor stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloorKind {
    /// TLS 1.3 full handshake (ECDHE).
    Tls13,
    /// TLS 1.3 resumption with a ticket (PSK-DHE): binder, no certificate.
    Resumed,
    /// TLS 1.2 full handshake (ECDHE, extended master secret).
    Tls12,
}

/// What a recorded handshake carried: handshake bytes hashed into the transcript, and the
/// sizes of the encrypted records each side sent.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// How many handshake-message bytes go into the transcript hash.
    pub hashed: usize,
    /// Plaintext sizes of the server's encrypted handshake records.
    pub server_sealed: Vec<usize>,
    /// Plaintext sizes of the client's encrypted handshake records.
    pub client_sealed: Vec<usize>,
}

impl Transcript {
    /// Reads the record framing of both directions.
    pub fn parse(c2s: &[u8], s2c: &[u8], tls12: bool) -> Self {
        let mut t = Self::default();
        let mut walk = |stream: &[u8], sealed: &mut Vec<usize>| {
            let mut rest = stream;
            let mut after_ccs = false;
            while let (Some(&typ), Some(hi), Some(lo)) = (rest.first(), rest.get(3), rest.get(4)) {
                let len = usize::from(*hi) << 8 | usize::from(*lo);
                let body = len.min(rest.len().saturating_sub(5));
                match typ {
                    20 => after_ccs = true,
                    22 if !(tls12 && after_ccs) => t.hashed += body,
                    22 | 23 => {
                        // TLS 1.3: inner type byte + 16-byte tag; TLS 1.2 GCM: 8-byte explicit
                        // nonce + tag.
                        let over = if tls12 { 24 } else { 17 };
                        let plain = body.saturating_sub(over);
                        t.hashed += plain;
                        sealed.push(plain);
                    }
                    _ => {}
                }
                rest = rest.get(5 + body..).unwrap_or_default();
            }
        };
        let (mut cs, mut ss) = (Vec::new(), Vec::new());
        walk(c2s, &mut cs);
        walk(s2c, &mut ss);
        t.client_sealed = cs;
        t.server_sealed = ss;
        t
    }
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// One signature to verify, prepared.
struct Verify {
    alg: &'static dyn signature::VerificationAlgorithm,
    public: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
}

/// The floor for one handshake case.
pub struct Floor {
    kind: FloorKind,
    rng: SystemRandom,
    peer_public: Vec<u8>,
    verifies: Vec<Verify>,
    transcript: Vec<u8>,
    /// The server's records, sealed under [`KEY`] with nonce = index.
    server_records: Vec<Vec<u8>>,
    client_records: Vec<usize>,
    scratch: Vec<u8>,
}

const KEY: [u8; 16] = [7; 16];

impl Floor {
    /// Prepares the floor: `verifies` signatures made with `pki`'s leaf key (2 certificate
    /// signatures + the handshake signature for a full handshake; 1 with a warm certificate
    /// cache; 0 for resumption), the transcript and records sized as `t`.
    pub fn new(
        pki: &Pki,
        kind: FloorKind,
        verifies: usize,
        t: &Transcript,
    ) -> Result<Self, String> {
        let rng = SystemRandom::new();
        let peer =
            EphemeralPrivateKey::generate(&agreement::X25519, &rng).map_err(|_| "x25519 keygen")?;
        let peer_public = peer
            .compute_public_key()
            .map_err(|_| "x25519 public")?
            .as_ref()
            .to_vec();
        // Certificate signatures over TBS-sized data (the chain's own sizes), then the
        // handshake signature (TLS 1.3 CertificateVerify content: 64 spaces, context, hash;
        // TLS 1.2 ServerKeyExchange: randoms + ECDHE params).
        let mut messages: Vec<Vec<u8>> = pki
            .chain
            .iter()
            .rev()
            .map(|c| vec![0x30; c.len()])
            .collect();
        messages.truncate(2);
        messages.push(vec![0x20; if kind == FloorKind::Tls12 { 101 } else { 130 }]);
        let skip = messages.len().saturating_sub(verifies);
        let messages: Vec<Vec<u8>> = messages.into_iter().skip(skip).collect();
        let mut prepared = Vec::new();
        let handshake_index = messages.len().saturating_sub(1);
        for (i, message) in messages.into_iter().enumerate() {
            let is_handshake = i == handshake_index;
            prepared.push(match pki.kind {
                KeyKind::EcdsaP256 => {
                    let key = signature::EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                        &pki.key_der,
                        &rng,
                    )
                    .map_err(|e| format!("ecdsa key: {e}"))?;
                    let sig = key.sign(&rng, &message).map_err(|_| "ecdsa sign")?;
                    Verify {
                        alg: &signature::ECDSA_P256_SHA256_ASN1,
                        public: key.public_key().as_ref().to_vec(),
                        message,
                        signature: sig.as_ref().to_vec(),
                    }
                }
                KeyKind::Rsa2048 => {
                    let key = signature::RsaKeyPair::from_pkcs8(&pki.key_der)
                        .map_err(|e| format!("rsa key: {e}"))?;
                    let mut sig = vec![0; key.public().modulus_len()];
                    let (sign, verify): (
                        &'static dyn signature::RsaEncoding,
                        &'static dyn signature::VerificationAlgorithm,
                    ) = if is_handshake && kind != FloorKind::Tls12 {
                        (
                            &signature::RSA_PSS_SHA256,
                            &signature::RSA_PSS_2048_8192_SHA256,
                        )
                    } else {
                        (
                            &signature::RSA_PKCS1_SHA256,
                            &signature::RSA_PKCS1_2048_8192_SHA256,
                        )
                    };
                    key.sign(sign, &rng, &message, &mut sig)
                        .map_err(|_| "rsa sign")?;
                    Verify {
                        alg: verify,
                        public: key.public_key().as_ref().to_vec(),
                        message,
                        signature: sig,
                    }
                }
                other => return Err(format!("no floor for {other:?} keys")),
            });
        }
        let sealing =
            LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &KEY).map_err(|_| "aead key")?);
        let mut server_records = Vec::new();
        for (i, len) in t.server_sealed.iter().enumerate() {
            let mut rec = vec![0x16; *len + 1];
            sealing
                .seal_in_place_append_tag(nonce(i), Aad::from([23, 3, 3, 0, 0]), &mut rec)
                .map_err(|_| "seal")?;
            server_records.push(rec);
        }
        Ok(Self {
            kind,
            rng,
            peer_public,
            verifies: prepared,
            transcript: vec![0x01; t.hashed],
            server_records,
            client_records: t.client_sealed.clone(),
            scratch: Vec::with_capacity(20 * 1024),
        })
    }

    /// Runs the primitives of one handshake; returns the time they took.
    pub fn run(&mut self) -> Duration {
        let t = Instant::now();
        self.run_inner();
        t.elapsed()
    }

    fn run_inner(&mut self) {
        let mut random = [0u8; 64];
        let _ = self.rng.fill(&mut random);
        black_box(&random);
        let Ok(private) = EphemeralPrivateKey::generate(&agreement::X25519, &self.rng) else {
            return;
        };
        let Ok(public) = private.compute_public_key() else {
            return;
        };
        black_box(public.as_ref());
        let mut shared = [0u8; 32];
        let _ = agreement::agree_ephemeral(
            private,
            &UnparsedPublicKey::new(&agreement::X25519, &self.peer_public),
            |s| shared.copy_from_slice(s),
        );
        // The transcript hash, with the snapshots the schedule takes (after the hellos, after
        // CertificateVerify, after the server's Finished, after the client's Finished).
        let mut ctx = digest::Context::new(&SHA256);
        let quarter = self.transcript.len() / 4;
        let mut snapshots: [Option<digest::Digest>; 5] = [None; 5];
        for (part, slot) in self
            .transcript
            .chunks(quarter.max(1))
            .zip(snapshots.iter_mut())
        {
            ctx.update(part);
            *slot = Some(ctx.clone().finish());
        }
        let h = |i: usize| {
            snapshots
                .get(i)
                .and_then(|d| d.as_ref())
                .map_or(&[][..], |d| d.as_ref())
        };
        let mut keys = [[0u8; 16]; 4];
        let mut nkeys = 0;
        let mut push = |k: [u8; 16]| {
            if let Some(slot) = keys.get_mut(nkeys) {
                *slot = k;
                nkeys += 1;
            }
        };
        match self.kind {
            FloorKind::Tls13 | FloorKind::Resumed => {
                let empty = digest::digest(&SHA256, b"");
                let zeros = [0u8; 32];
                let early = if self.kind == FloorKind::Resumed {
                    let early = Salt::new(HKDF_SHA256, &zeros).extract(&[9u8; 32]);
                    let binder_key = expand(&early, b"res binder", empty.as_ref(), 32);
                    let fin = expand(&prk(&binder_key), b"finished", &[], 32);
                    black_box(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &fin), h(0)));
                    early
                } else {
                    Salt::new(HKDF_SHA256, &zeros).extract(&zeros)
                };
                let derived = expand(&early, b"derived", empty.as_ref(), 32);
                let hs = Salt::new(HKDF_SHA256, &derived).extract(&shared);
                let c_hs = expand(&hs, b"c hs traffic", h(0), 32);
                let s_hs = expand(&hs, b"s hs traffic", h(0), 32);
                let empty2 = digest::digest(&SHA256, b"");
                let derived2 = expand(&hs, b"derived", empty2.as_ref(), 32);
                let master = Salt::new(HKDF_SHA256, &derived2).extract(&zeros);
                for secret in [&s_hs, &c_hs] {
                    let p = prk(secret);
                    push(to16(&expand(&p, b"key", &[], 16)));
                    black_box(expand(&p, b"iv", &[], 12));
                }
                let s_fin = expand(&prk(&s_hs), b"finished", &[], 32);
                black_box(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &s_fin), h(1)));
                let c_ap = expand(&master, b"c ap traffic", h(2), 32);
                let s_ap = expand(&master, b"s ap traffic", h(2), 32);
                black_box(expand(&master, b"exp master", h(2), 32));
                let c_fin = expand(&prk(&c_hs), b"finished", &[], 32);
                black_box(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &c_fin), h(2)));
                for secret in [&s_ap, &c_ap] {
                    let p = prk(secret);
                    push(to16(&expand(&p, b"key", &[], 16)));
                    black_box(expand(&p, b"iv", &[], 12));
                }
                black_box(expand(&master, b"res master", h(3), 32));
            }
            FloorKind::Tls12 => {
                let mut ms = [0u8; 48];
                prf(&shared, b"extended master secret", h(1), &mut ms);
                let mut block = [0u8; 40];
                prf(&ms, b"key expansion", &random, &mut block);
                let mut verify = [0u8; 12];
                prf(&ms, b"client finished", h(2), &mut verify);
                prf(&ms, b"server finished", h(3), &mut verify);
                black_box(&verify);
                push(to16(block.get(..16).unwrap_or_default()));
                push(to16(block.get(16..32).unwrap_or_default()));
            }
        }
        // Record protection: a key per traffic secret; the server's sealed records opened
        // (under a fixed key, so they authenticate), the client's sealed.
        for k in keys.iter().take(nkeys) {
            if let Ok(k) = UnboundKey::new(&AES_128_GCM, k) {
                black_box(LessSafeKey::new(k));
            }
        }
        if let Ok(k) = UnboundKey::new(&AES_128_GCM, &KEY) {
            let key = LessSafeKey::new(k);
            for (i, rec) in self.server_records.iter().enumerate() {
                self.scratch.clear();
                self.scratch.extend_from_slice(rec);
                let _ = black_box(key.open_in_place(
                    nonce(i),
                    Aad::from([23, 3, 3, 0, 0]),
                    &mut self.scratch,
                ));
            }
            for (i, len) in self.client_records.iter().enumerate() {
                self.scratch.clear();
                self.scratch.resize(*len + 1, 0x14);
                let _ = black_box(key.seal_in_place_append_tag(
                    nonce(i),
                    Aad::from([23, 3, 3, 0, 0]),
                    &mut self.scratch,
                ));
            }
        }
        for v in &self.verifies {
            let _ = black_box(
                signature::UnparsedPublicKey::new(v.alg, &v.public)
                    .verify(&v.message, &v.signature),
            );
        }
    }
}

fn nonce(i: usize) -> Nonce {
    let mut n = [0u8; 12];
    for (dst, src) in n.iter_mut().rev().zip(i.to_be_bytes().iter().rev()) {
        *dst = *src;
    }
    Nonce::assume_unique_for_key(n)
}

fn to16(v: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (d, s) in k.iter_mut().zip(v) {
        *d = *s;
    }
    k
}

fn prk(secret: &[u8]) -> Prk {
    Prk::new_less_safe(HKDF_SHA256, secret)
}

/// HKDF-Expand-Label (RFC 8446 §7.1), `len` ≤ 32, without allocating.
fn expand(prk: &Prk, label: &[u8], context: &[u8], len: usize) -> [u8; 32] {
    let mut info = [0u8; 2 + 1 + 6 + 12 + 1 + 48];
    let full = 6 + label.len();
    let parts: [&[u8]; 6] = [
        &u16::try_from(len).unwrap_or(0).to_be_bytes(),
        &[u8::try_from(full).unwrap_or(0)],
        b"tls13 ",
        label,
        &[u8::try_from(context.len()).unwrap_or(0)],
        context,
    ];
    let mut n = 0;
    for part in parts {
        for b in part {
            if let Some(d) = info.get_mut(n) {
                *d = *b;
            }
            n += 1;
        }
    }
    let info = info.get(..n).unwrap_or_default();
    let mut out = [0u8; 32];
    if let Ok(okm) = prk.expand(&[info], Len(len)) {
        let _ = okm.fill(out.get_mut(..len).unwrap_or_default());
    }
    out
}

/// The TLS 1.2 PRF with SHA-256 (P_SHA256).
fn prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut a = {
        let mut c = hmac::Context::with_key(&key);
        c.update(label);
        c.update(seed);
        c.sign()
    };
    for chunk in out.chunks_mut(32) {
        let mut c = hmac::Context::with_key(&key);
        c.update(a.as_ref());
        c.update(label);
        c.update(seed);
        let block = c.sign();
        for (d, s) in chunk.iter_mut().zip(block.as_ref()) {
            *d = *s;
        }
        a = hmac::sign(&key, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u8, len: usize) -> Vec<u8> {
        let mut r = vec![typ, 3, 3, (len >> 8) as u8, (len & 0xff) as u8];
        r.resize(5 + len, 0);
        r
    }

    #[test]
    fn transcript_counts_plain_and_sealed_handshake_bytes() {
        // TLS 1.3: ClientHello, CCS, Finished (sealed); ServerHello, CCS, two sealed records.
        let c2s = [record(22, 300), record(20, 1), record(23, 53)].concat();
        let s2c = [
            record(22, 90),
            record(20, 1),
            record(23, 1000),
            record(23, 117),
        ]
        .concat();
        let t = Transcript::parse(&c2s, &s2c, false);
        assert_eq!(t.client_sealed, [36]);
        assert_eq!(t.server_sealed, [983, 100]);
        assert_eq!(t.hashed, 300 + 36 + 90 + 983 + 100);
        // TLS 1.2: handshake records after CCS are sealed (explicit nonce + tag).
        let c2s = [record(22, 70), record(20, 1), record(22, 40)].concat();
        let t = Transcript::parse(&c2s, &[], true);
        assert_eq!(t.client_sealed, [16]);
        assert_eq!(t.hashed, 70 + 16);
    }

    #[test]
    fn expand_label_matches_rfc8448() {
        // RFC 8448 §3: "derived" from the early secret of a zero PSK.
        let early = Salt::new(HKDF_SHA256, &[0; 32]).extract(&[0; 32]);
        let empty = digest::digest(&SHA256, b"");
        let derived = expand(&early, b"derived", empty.as_ref(), 32);
        assert_eq!(
            derived[..4],
            [0x6f, 0x26, 0x15, 0xa1],
            "derived secret of RFC 8448 §3"
        );
    }
}

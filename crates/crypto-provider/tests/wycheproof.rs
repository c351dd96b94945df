//! Wycheproof conformance harness: every file in
//! `../shared/testdata/wycheproof/testvectors_v1`, run against **each** provider compiled in
//! (features `ring`, `rustcrypto`), through the provider's public traits only (pieces are looked
//! up in its `CryptoProvider`, as the TLS layers find them).
//!
//! ```text
//!   testvectors_v1/*.json ──► dispatch on `schema` ──► one case ──► Outcome
//!                                                        │           Pass | Fail(why) | Skip(reason)
//!                 for each provider: CryptoProvider ─────┘
//!   ──► `corpus wycheproof [<provider>]: R run, P passed, F failed, S skipped` + skip reasons
//! ```
//!
//! A case is *run* when its algorithm, key size and parameters are in scope for a TLS 1.2/1.3
//! client; otherwise it is *skipped*, and every skip reason is one of the [`skip`] constants
//! (the one place that lists them). R + S is the number of cases in the corpus, per provider.
//!
//! Expected results: `valid` must succeed with Wycheproof's exact output; `invalid` must fail.
//! **Policy for `acceptable`** (each is decided, not "either is fine"):
//! - X25519 with an all-zero shared secret (`ZeroSharedSecret`, low-order points): must be
//!   **rejected** (RFC 8446 §7.4.2, RFC 7748 §6.1). Every other acceptable X25519 case
//!   (twist points, non-canonical u, edge-case multiplications) must **succeed with the
//!   expected secret**: RFC 7748 §5 requires accepting any 32-byte u and masking bit 255.
//! - ECDH with a compressed point (`CompressedPoint`): must be **rejected**: TLS key shares are
//!   uncompressed points only (RFC 8446 §4.2.8.2, RFC 8422 §5.4.1).
//! - RSA PKCS#1 v1.5 with a DigestInfo lacking the NULL parameter (`MissingNull`): must be
//!   **rejected** (the DER encoding of RFC 8017 §9.2 has the NULL; ring and webpki reject it).
//! - ECDH given as a SubjectPublicKeyInfo whose ASN.1 is not the canonical named-curve form
//!   (`InvalidAsn`, `UnnamedCurve`, `UnusedParam`, `Modified*`, `WrongOrder`, …): skipped, since a
//!   TLS key share is a bare point and carries no SPKI (see [`skip::SPKI_ENCODING`]).
//!
//! - ML-KEM-768 (`mlkem_768_*`: decapsulation from a seed-generated key, encapsulation with a
//!   given message, key generation from a seed) has no `acceptable` case: through each
//!   provider's `Kem` (`CryptoProvider::find_kem`), `valid` must give Wycheproof's exact keys,
//!   ciphertext and secret, and `invalid` (seed, ciphertext or key of the wrong length, a key
//!   failing the modulus check) must be an error.
//!
//! Run alone: `cargo xtask corpus wycheproof`
//! (= `cargo test -p overture-crypto-provider --features ring,rustcrypto --test wycheproof -- --nocapture`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_crypto_provider::{
    Aead, AeadAlgorithm, CryptoProvider, Error, Hkdf, Hmac, Kem, KemAlgorithm, Nonce,
    SignatureVerifier,
};
use overture_types::{NamedGroup, SignatureScheme};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Every reason a case may be skipped, in one place.
mod skip {
    /// AES-GCM with a nonce other than 96 bits: TLS 1.2 (RFC 5288) and 1.3 (RFC 8446 §5.3)
    /// only use 12-byte nonces, and the AEAD trait takes exactly 12 bytes.
    pub(crate) const GCM_IV_SIZE: &str =
        "AES-GCM nonce size other than 96 bits (TLS uses 12-byte nonces only)";
    /// AES-192-GCM has no TLS cipher suite.
    pub(crate) const GCM_KEY_SIZE: &str = "AES-192-GCM (no TLS cipher suite uses it)";
    /// ChaCha20-Poly1305 with a nonce other than 96 bits (RFC 7905 uses 12 bytes).
    pub(crate) const CHACHA_IV_SIZE: &str =
        "ChaCha20-Poly1305 nonce size other than 96 bits (TLS uses 12-byte nonces only)";
    /// P-521 is out of scope (issue #3).
    pub(crate) const P521: &str = "ECDSA P-521 (out of scope)";
    /// RSA-PSS with a hash, MGF1 hash or salt length TLS never uses: RFC 8446 §4.2.3 fixes
    /// MGF1's hash to the message hash and the salt to the hash length, over SHA-256/384/512.
    pub(crate) const PSS_PARAMS: &str = "RSA-PSS parameters TLS does not use (hash, MGF1 hash or salt length other than SHA-256/384/512 with MGF1 = hash and salt = hash length)";
    /// ECDH public keys given as an SPKI that is not the canonical named-curve encoding: the
    /// case tests an ASN.1 parser, and a TLS key share is a bare SEC1 point with no SPKI.
    pub(crate) const SPKI_ENCODING: &str = "ECDH public key as a non-canonical SubjectPublicKeyInfo (ASN.1 parsing test; a TLS key_share carries a bare point)";
    /// Provider lacks a piece (should not happen for the built-in providers).
    pub(crate) const MISSING_PIECE: &str = "provider has no piece for this algorithm";
}

/// The result of one case against one provider.
enum Outcome {
    Pass,
    Fail(String),
    Skip(&'static str),
}

use Outcome::{Fail, Pass, Skip};

/// Per-provider tally.
#[derive(Default)]
struct Tally {
    run: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    skip_reasons: BTreeMap<&'static str, usize>,
    run_by_file: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, file: &str, tc_id: u64, outcome: Outcome) {
        match outcome {
            Pass => {
                self.run += 1;
                self.passed += 1;
                *self.run_by_file.entry(file.to_owned()).or_default() += 1;
            }
            Fail(why) => {
                self.run += 1;
                self.failed += 1;
                *self.run_by_file.entry(file.to_owned()).or_default() += 1;
                self.failures.push(format!("{file} tcId {tc_id}: {why}"));
            }
            Skip(reason) => {
                self.skipped += 1;
                *self.skip_reasons.entry(reason).or_default() += 1;
            }
        }
    }
}

/// What Wycheproof expects of a case, after applying the `acceptable` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Accept,
    Reject,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    v.get(name)
        .unwrap_or_else(|| panic!("missing field {name:?} in {v}"))
}

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    unhex(field(v, name).as_str().expect("hex string"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> &'a str {
    field(v, name).as_str().expect("string")
}

fn u64_field(v: &Value, name: &str) -> u64 {
    field(v, name).as_u64().expect("integer")
}

fn flags(test: &Value) -> Vec<&str> {
    test.get("flags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `valid` → accept, `invalid` → reject; `acceptable` is resolved by the caller's policy.
fn plain_expectation(test: &Value) -> Option<Expect> {
    match str_field(test, "result") {
        "valid" => Some(Expect::Accept),
        "invalid" => Some(Expect::Reject),
        _ => None,
    }
}

fn check_verdict(expect: Expect, result: Result<(), Error>) -> Outcome {
    match (expect, result) {
        (Expect::Accept, Ok(())) | (Expect::Reject, Err(_)) => Pass,
        (Expect::Accept, Err(e)) => Fail(format!("expected success, got {e}")),
        (Expect::Reject, Ok(())) => Fail("expected rejection, but it was accepted".into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Providers

fn providers() -> Vec<(&'static str, CryptoProvider)> {
    type Make = Option<fn() -> CryptoProvider>;
    let all: [(&'static str, Make); 2] = [
        (
            "ring",
            #[cfg(feature = "ring")]
            Some(overture_crypto_provider::ring::default_provider),
            #[cfg(not(feature = "ring"))]
            None,
        ),
        (
            "rustcrypto",
            #[cfg(feature = "rustcrypto")]
            Some(overture_crypto_provider::rustcrypto::default_provider),
            #[cfg(not(feature = "rustcrypto"))]
            None,
        ),
    ];
    all.into_iter()
        .filter_map(|(name, make)| make.map(|make| (name, make())))
        .collect()
}

fn find_aead(p: &CryptoProvider, alg: AeadAlgorithm) -> Option<&'static dyn Aead> {
    p.cipher_suites
        .iter()
        .map(|s| s.aead())
        .find(|a| a.algorithm() == alg)
}

fn find_hkdf(p: &CryptoProvider, hash_len: usize) -> Option<&'static dyn Hkdf> {
    p.tls13_suites()
        .map(|s| s.hkdf)
        .find(|h| h.hash_algorithm().output_len() == hash_len)
}

fn find_hmac(p: &CryptoProvider, hash_len: usize) -> Option<&'static dyn Hmac> {
    p.cipher_suites
        .iter()
        .map(|s| match s {
            overture_crypto_provider::SupportedCipherSuite::Tls13(s) => s.hmac,
            overture_crypto_provider::SupportedCipherSuite::Tls12(s) => s.hmac,
        })
        .find(|h| h.tag_len() == hash_len)
}

// ---------------------------------------------------------------------------------------------
// Per-schema case runners

fn aead_case(p: &CryptoProvider, algorithm: &str, group: &Value, test: &Value) -> Outcome {
    let iv_bits = u64_field(group, "ivSize");
    let key_bits = u64_field(group, "keySize");
    let tag_bits = u64_field(group, "tagSize");
    let alg = match (algorithm, key_bits) {
        ("AES-GCM", _) if iv_bits != 96 => return Skip(skip::GCM_IV_SIZE),
        ("AES-GCM", 128) => AeadAlgorithm::Aes128Gcm,
        ("AES-GCM", 256) => AeadAlgorithm::Aes256Gcm,
        ("AES-GCM", _) => return Skip(skip::GCM_KEY_SIZE),
        ("CHACHA20-POLY1305", _) if iv_bits != 96 => return Skip(skip::CHACHA_IV_SIZE),
        ("CHACHA20-POLY1305", 256) => AeadAlgorithm::ChaCha20Poly1305,
        other => panic!("unexpected AEAD group {other:?}"),
    };
    assert_eq!(
        tag_bits, 128,
        "every AEAD group in the corpus has 128-bit tags"
    );
    let Some(aead) = find_aead(p, alg) else {
        return Skip(skip::MISSING_PIECE);
    };
    let (key, iv, aad, msg, ct, tag) = (
        hex_field(test, "key"),
        hex_field(test, "iv"),
        hex_field(test, "aad"),
        hex_field(test, "msg"),
        hex_field(test, "ct"),
        hex_field(test, "tag"),
    );
    let Some(expect) = plain_expectation(test) else {
        panic!("AEAD files have no acceptable cases");
    };
    let iv: [u8; 12] = iv.try_into().unwrap();
    let bound = match aead.with_key(&key) {
        Ok(b) => b,
        Err(e) => return Fail(format!("with_key: {e}")),
    };
    if expect == Expect::Accept {
        let mut buf = msg.clone();
        let sealed = match bound.seal_in_place(Nonce::new(iv), &aad, &mut buf) {
            Ok(t) => t,
            Err(e) => return Fail(format!("seal: {e}")),
        };
        if buf != ct || sealed.as_ref() != tag.as_slice() {
            return Fail("seal output differs from ct ‖ tag".into());
        }
    }
    let mut record = [ct.as_slice(), tag.as_slice()].concat();
    match (
        expect,
        bound.open_in_place(Nonce::new(iv), &aad, &mut record),
    ) {
        (Expect::Accept, Ok(n)) if record.get(..n) == Some(msg.as_slice()) => Pass,
        (Expect::Accept, Ok(_)) => Fail("open returned the wrong plaintext".into()),
        (Expect::Accept, Err(e)) => Fail(format!("open failed: {e}")),
        (Expect::Reject, Err(_)) => Pass,
        (Expect::Reject, Ok(_)) => Fail("open accepted an invalid ciphertext".into()),
    }
}

fn hkdf_case(p: &CryptoProvider, hash_len: usize, test: &Value) -> Outcome {
    let Some(hkdf) = find_hkdf(p, hash_len) else {
        return Skip(skip::MISSING_PIECE);
    };
    let size = usize::try_from(u64_field(test, "size")).unwrap();
    let prk = hkdf.extract(&hex_field(test, "salt"), &hex_field(test, "ikm"));
    let expander = match hkdf.expander(prk.as_bytes()) {
        Ok(e) => e,
        Err(e) => return Fail(format!("expander: {e}")),
    };
    let info = hex_field(test, "info");
    let mut out = vec![0u8; size];
    let result = expander.expand(&[&info], &mut out);
    // The non-boxing entry point must give the same verdict and bytes.
    let mut out_with = vec![0u8; size];
    let result_with =
        hkdf.with_expander(prk.as_bytes(), &mut |e| e.expand(&[&info], &mut out_with));
    if result.is_ok() != result_with.is_ok() || out != out_with {
        return Fail("with_expander differs from expander".into());
    }
    match (
        plain_expectation(test).expect("no acceptable HKDF cases"),
        result,
    ) {
        (Expect::Accept, Ok(())) if out == hex_field(test, "okm") => Pass,
        (Expect::Accept, Ok(())) => Fail("okm differs".into()),
        (Expect::Accept, Err(e)) => Fail(format!("expand failed: {e}")),
        (Expect::Reject, Err(_)) => Pass,
        (Expect::Reject, Ok(())) => Fail("expand accepted an impossible length".into()),
    }
}

fn hmac_case(p: &CryptoProvider, hash_len: usize, group: &Value, test: &Value) -> Outcome {
    let Some(hmac) = find_hmac(p, hash_len) else {
        return Skip(skip::MISSING_PIECE);
    };
    let tag_len = usize::try_from(u64_field(group, "tagSize") / 8).unwrap();
    let key = hmac.with_key(&hex_field(test, "key"));
    let msg = hex_field(test, "msg");
    let tag = hex_field(test, "tag");
    let expect = plain_expectation(test).expect("no acceptable HMAC cases");
    // The non-boxing entry point must give the same tag.
    if hmac.sign_once(&hex_field(test, "key"), &[&msg]) != key.sign(&[&msg]) {
        return Fail("sign_once differs from with_key().sign".into());
    }
    let result = if tag_len == hash_len {
        // Full-length tags, as TLS uses them (Finished, PRF): the provider's verify.
        key.verify(&[&msg], &tag)
    } else {
        // Truncated tags: compare the provider's tag prefix (the tag's length is public).
        let full = key.sign(&[&msg]);
        if full.as_bytes().get(..tag_len) == Some(tag.as_slice()) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    };
    check_verdict(expect, result)
}

/// Strips leading zero bytes from a Wycheproof integer and left-pads it to `len` bytes;
/// `None` if it does not fit.
fn fixed_scalar(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let trimmed = &bytes[first..];
    (trimmed.len() <= len).then(|| {
        let mut out = vec![0u8; len - trimmed.len()];
        out.extend_from_slice(trimmed);
        out
    })
}

/// The canonical DER SPKI prefixes (named curve, uncompressed / compressed point) for P-256.
const P256_SPKI_UNCOMPRESSED: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
const P256_SPKI_COMPRESSED: &str = "3039301306072a8648ce3d020106082a8648ce3d030107032200";
const P384_SPKI_UNCOMPRESSED: &str = "3076301006072a8648ce3d020106052b81040022036200";
const P384_SPKI_COMPRESSED: &str = "3046301006072a8648ce3d020106052b81040022033200";

/// The bare point inside a canonical named-curve SPKI, or `None` for any other encoding.
fn spki_point(spki: &[u8], group: NamedGroup) -> Option<Vec<u8>> {
    let (prefixes, field_len) = match group {
        NamedGroup::secp256r1 => ([P256_SPKI_UNCOMPRESSED, P256_SPKI_COMPRESSED], 32),
        NamedGroup::secp384r1 => ([P384_SPKI_UNCOMPRESSED, P384_SPKI_COMPRESSED], 48),
        _ => return None,
    };
    for (prefix, point_len) in prefixes.iter().zip([1 + 2 * field_len, 1 + field_len]) {
        let prefix = unhex(prefix);
        if let Some(point) = spki.strip_prefix(prefix.as_slice())
            && point.len() == point_len
        {
            return Some(point.to_vec());
        }
    }
    None
}

fn kx_case(p: &CryptoProvider, group: NamedGroup, spki: bool, test: &Value) -> Outcome {
    let Some(kx) = p.find_kx(group) else {
        return Skip(skip::MISSING_PIECE);
    };
    let flags = flags(test);
    let public = hex_field(test, "public");
    let public = if spki {
        match spki_point(&public, group) {
            Some(point) => point,
            None => return Skip(skip::SPKI_ENCODING),
        }
    } else {
        public
    };
    let shared = hex_field(test, "shared");
    let expect = match str_field(test, "result") {
        "valid" => Expect::Accept,
        "invalid" => Expect::Reject,
        // The acceptable policy (module docs).
        _ if flags.contains(&"ZeroSharedSecret") => Expect::Reject,
        _ if flags.contains(&"CompressedPoint") => Expect::Reject,
        _ if group == NamedGroup::X25519 => Expect::Accept,
        _ if spki => return Skip(skip::SPKI_ENCODING),
        other => panic!("no policy for {other} ECDH case with flags {flags:?}"),
    };
    let field_len = match group {
        NamedGroup::secp384r1 => 48,
        _ => 32,
    };
    let Some(private) = fixed_scalar(&hex_field(test, "private"), field_len) else {
        return Fail("private key longer than the field".into());
    };
    let active = match kx.start_with_private_key(&private) {
        Ok(a) => a,
        Err(e) => return Fail(format!("start_with_private_key: {e}")),
    };
    match (expect, active.complete(&public)) {
        (Expect::Accept, Ok(s)) if s.as_bytes() == shared.as_slice() => Pass,
        (Expect::Accept, Ok(_)) => Fail("shared secret differs".into()),
        (Expect::Accept, Err(e)) => Fail(format!("complete failed: {e}")),
        (Expect::Reject, Err(_)) => Pass,
        (Expect::Reject, Ok(_)) => Fail(format!("accepted an invalid share (flags {flags:?})")),
    }
}

fn verify_case(verifier: &dyn SignatureVerifier, public_key: &[u8], test: &Value) -> Outcome {
    let flags = flags(test);
    let expect = match str_field(test, "result") {
        "valid" => Expect::Accept,
        "invalid" => Expect::Reject,
        // The acceptable policy (module docs).
        _ if flags.contains(&"MissingNull") => Expect::Reject,
        other => panic!("no policy for {other} signature case with flags {flags:?}"),
    };
    let result = verifier.verify(public_key, &hex_field(test, "msg"), &hex_field(test, "sig"));
    check_verdict(expect, result)
}

fn sha_bits(name: &str) -> Option<u32> {
    match name {
        "SHA-256" => Some(256),
        "SHA-384" => Some(384),
        "SHA-512" => Some(512),
        _ => None,
    }
}

/// One ML-KEM-768 case (FIPS 203): decapsulation from a key generated from `seed`
/// (`mlkem_test_schema`), encapsulation with the message `m` (`mlkem_encaps_test_schema`), or
/// key generation from `seed` (`mlkem_keygen_seed_test_schema`). Every `invalid` case must
/// fail with an error: a seed or ciphertext of the wrong length, an encapsulation key of the
/// wrong length or failing the modulus check.
fn mlkem_case(kem: &dyn Kem, schema: &str, test: &Value) -> Outcome {
    let expect = match plain_expectation(test) {
        Some(e) => e,
        None => return Fail("an `acceptable` ML-KEM case (no policy for one)".into()),
    };
    let result: Result<(), String> = (|| {
        match schema {
            "mlkem_encaps_test_schema.json" => {
                let (c, k) = kem
                    .encapsulate_deterministic(&hex_field(test, "ek"), &hex_field(test, "m"))
                    .map_err(|e| format!("encapsulate: {e}"))?;
                if c != hex_field(test, "c") || k.as_bytes() != hex_field(test, "K") {
                    return Err("ciphertext or shared secret differs".into());
                }
            }
            _ => {
                let dk = kem
                    .generate_from_seed(&hex_field(test, "seed"))
                    .map_err(|e| format!("keygen: {e}"))?;
                if dk.encapsulation_key() != hex_field(test, "ek") {
                    return Err("encapsulation key differs".into());
                }
                if schema == "mlkem_keygen_seed_test_schema.json" {
                    if *dk.expanded_decapsulation_key() != hex_field(test, "dk") {
                        return Err("decapsulation key differs".into());
                    }
                } else {
                    let k = dk
                        .decapsulate(&hex_field(test, "c"))
                        .map_err(|e| format!("decapsulate: {e}"))?;
                    if k.as_bytes() != hex_field(test, "K") {
                        return Err("shared secret differs".into());
                    }
                }
            }
        }
        Ok(())
    })();
    match (expect, result) {
        (Expect::Accept, Ok(())) | (Expect::Reject, Err(_)) => Pass,
        (Expect::Accept, Err(why)) => Fail(format!("valid case failed: {why}")),
        (Expect::Reject, Ok(())) => Fail("invalid case accepted".into()),
    }
}

/// Runs every case of one file against one provider.
fn run_file(p: &CryptoProvider, file: &str, doc: &Value, tally: &mut Tally) {
    let schema = str_field(doc, "schema");
    let algorithm = str_field(doc, "algorithm");
    for group in field(doc, "testGroups").as_array().expect("testGroups") {
        for test in field(group, "tests").as_array().expect("tests") {
            let tc_id = u64_field(test, "tcId");
            let outcome = match schema {
                "aead_test_schema_v1.json" => aead_case(p, algorithm, group, test),
                "hkdf_test_schema_v1.json" => match algorithm {
                    "HKDF-SHA-256" => hkdf_case(p, 32, test),
                    "HKDF-SHA-384" => hkdf_case(p, 48, test),
                    other => panic!("{file}: unexpected HKDF algorithm {other}"),
                },
                "mac_test_schema_v1.json" => match algorithm {
                    "HMACSHA256" => hmac_case(p, 32, group, test),
                    "HMACSHA384" => hmac_case(p, 48, group, test),
                    other => panic!("{file}: unexpected MAC algorithm {other}"),
                },
                "xdh_comp_schema_v1.json" => kx_case(p, NamedGroup::X25519, false, test),
                "ecdh_ecpoint_test_schema_v1.json" | "ecdh_test_schema_v1.json" => {
                    let group_id = match str_field(group, "curve") {
                        "secp256r1" => NamedGroup::secp256r1,
                        "secp384r1" => NamedGroup::secp384r1,
                        other => panic!("{file}: unexpected curve {other}"),
                    };
                    kx_case(p, group_id, schema == "ecdh_test_schema_v1.json", test)
                }
                "ecdsa_verify_schema_v1.json" => {
                    let key = field(group, "publicKey");
                    let scheme = match (str_field(key, "curve"), str_field(group, "sha")) {
                        ("secp256r1", "SHA-256") => Some(SignatureScheme::ECDSA_NISTP256_SHA256),
                        ("secp384r1", "SHA-384") => Some(SignatureScheme::ECDSA_NISTP384_SHA384),
                        ("secp521r1", _) => None,
                        other => panic!("{file}: unexpected ECDSA group {other:?}"),
                    };
                    match scheme.and_then(|s| p.verifier_for_scheme(s)) {
                        Some(v) => verify_case(v, &hex_field(key, "uncompressed"), test),
                        None if scheme.is_none() => Skip(skip::P521),
                        None => Skip(skip::MISSING_PIECE),
                    }
                }
                "eddsa_verify_schema_v1.json" => {
                    match p.verifier_for_scheme(SignatureScheme::ED25519) {
                        Some(v) => {
                            verify_case(v, &hex_field(field(group, "publicKey"), "pk"), test)
                        }
                        None => Skip(skip::MISSING_PIECE),
                    }
                }
                "rsassa_pkcs1_verify_schema_v1.json" => {
                    let scheme = match sha_bits(str_field(group, "sha")) {
                        Some(256) => SignatureScheme::RSA_PKCS1_SHA256,
                        Some(384) => SignatureScheme::RSA_PKCS1_SHA384,
                        Some(512) => SignatureScheme::RSA_PKCS1_SHA512,
                        _ => panic!("{file}: unexpected hash"),
                    };
                    let bits = u64_field(group, "keySize");
                    assert!((2048..=8192).contains(&bits), "{file}: key size {bits}");
                    match p.verifier_for_scheme(scheme) {
                        Some(v) => verify_case(v, &hex_field(group, "publicKeyAsn"), test),
                        None => Skip(skip::MISSING_PIECE),
                    }
                }
                "rsassa_pss_verify_schema_v1.json" => {
                    let sha = sha_bits(str_field(group, "sha"));
                    let tls_params = str_field(group, "mgf") == "MGF1"
                        && sha.is_some()
                        && sha_bits(str_field(group, "mgfSha")) == sha
                        && sha.map(|b| u64::from(b / 8)) == Some(u64_field(group, "sLen"));
                    let bits = u64_field(group, "keySize");
                    assert!((2048..=8192).contains(&bits), "{file}: key size {bits}");
                    let scheme = match sha {
                        _ if !tls_params => None,
                        Some(256) => Some(SignatureScheme::RSA_PSS_SHA256),
                        Some(384) => Some(SignatureScheme::RSA_PSS_SHA384),
                        Some(512) => Some(SignatureScheme::RSA_PSS_SHA512),
                        _ => None,
                    };
                    match scheme.map(|s| p.verifier_for_scheme(s)) {
                        None => Skip(skip::PSS_PARAMS),
                        Some(Some(v)) => verify_case(v, &hex_field(group, "publicKeyAsn"), test),
                        Some(None) => Skip(skip::MISSING_PIECE),
                    }
                }
                "mlkem_test_schema.json"
                | "mlkem_encaps_test_schema.json"
                | "mlkem_keygen_seed_test_schema.json" => {
                    assert_eq!(str_field(group, "parameterSet"), "ML-KEM-768", "{file}");
                    match p.find_kem(KemAlgorithm::MlKem768) {
                        Some(kem) => mlkem_case(kem, schema, test),
                        None => Skip(skip::MISSING_PIECE),
                    }
                }
                other => panic!("{file}: no runner for schema {other}"),
            };
            tally.record(file, tc_id, outcome);
        }
    }
}

fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/wycheproof/testvectors_v1");
    assert!(
        dir.is_dir(),
        "the Wycheproof corpus is missing: expected {} (../shared/testdata next to the repository)",
        dir.display()
    );
    dir
}

#[test]
fn wycheproof() {
    let dir = corpus_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .json files in {}", dir.display());
    let docs: Vec<(String, Value)> = files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("read vector file");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let doc: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
            (name, doc)
        })
        .collect();
    let total: usize = docs
        .iter()
        .map(|(_, d)| usize::try_from(u64_field(d, "numberOfTests")).unwrap())
        .sum();

    let providers = providers();
    assert!(!providers.is_empty(), "no provider feature enabled");
    let mut any_failed = false;
    for (name, provider) in &providers {
        let mut tally = Tally::default();
        for (file, doc) in &docs {
            run_file(provider, file, doc, &mut tally);
        }
        assert_eq!(
            tally.run + tally.skipped,
            total,
            "[{name}] every case is either run or skipped"
        );
        println!(
            "corpus wycheproof [{name}]: {} run, {} passed, {} failed, {} skipped",
            tally.run, tally.passed, tally.failed, tally.skipped
        );
        let mlkem_run: usize = tally
            .run_by_file
            .iter()
            .filter(|(f, _)| f.starts_with("mlkem_768_"))
            .map(|(_, n)| n)
            .sum();
        println!("  of which ML-KEM-768: {mlkem_run} run");
        for (reason, n) in &tally.skip_reasons {
            println!("  skipped {n:>5}: {reason}");
        }
        if std::env::var_os("WYCHEPROOF_VERBOSE").is_some() {
            for (file, n) in &tally.run_by_file {
                println!("  run {n:>5}: {file}");
            }
        }
        for f in tally.failures.iter().take(40) {
            println!("  FAILED {f}");
        }
        if tally.failures.len() > 40 {
            println!("  … and {} more failures", tally.failures.len() - 40);
        }
        any_failed |= tally.failed > 0;
    }
    for missing in ["ring", "rustcrypto"] {
        if !providers.iter().any(|(n, _)| *n == missing) {
            println!(
                "note: provider {missing} not compiled in (run with --features ring,rustcrypto)"
            );
        }
    }
    assert!(!any_failed, "Wycheproof cases failed (listed above)");
}

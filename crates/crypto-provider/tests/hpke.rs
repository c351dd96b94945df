//! HPKE (RFC 9180) base mode against the RFC's Appendix A vectors for the suites ECH uses here
//! (`tests/data/hpke-rfc9180.json`: A.1.1 DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
//! AES-128-GCM and A.2.1 the same with ChaCha20Poly1305), on every provider compiled in:
//! DeriveKeyPair, the sender's deterministic setup (enc), every encryption (sealed by the
//! sender, opened by the receiver), and every exported value; then the failure paths.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions,
    clippy::panic,
    clippy::vec_init_then_push
)]

use overture_crypto_provider::hpke::{Hpke, MAX_INFO_LEN};
use overture_crypto_provider::{CryptoProvider, Error};
use serde_json::Value;

fn providers() -> Vec<(&'static str, CryptoProvider)> {
    let mut out = Vec::new();
    #[cfg(feature = "ring")]
    out.push(("ring", overture_crypto_provider::ring::default_provider()));
    #[cfg(feature = "rustcrypto")]
    out.push((
        "rustcrypto",
        overture_crypto_provider::rustcrypto::default_provider(),
    ));
    assert!(!out.is_empty(), "no provider compiled in");
    out
}

fn h(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("field {k}"))).unwrap()
}

fn vectors() -> Vec<Value> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hpke-rfc9180.json"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn suite(p: &CryptoProvider, v: &Value) -> Hpke {
    Hpke::from_provider(
        p,
        v["kem_id"].as_u64().unwrap() as u16,
        v["kdf_id"].as_u64().unwrap() as u16,
        v["aead_id"].as_u64().unwrap() as u16,
    )
    .unwrap()
}

#[test]
fn rfc9180_appendix_a_base_mode() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 2);
    for (name, p) in providers() {
        let (mut setups, mut encryptions, mut exports) = (0, 0, 0);
        for v in &vectors {
            let section = v["section"].as_str().unwrap();
            assert_eq!(v["mode"], 0, "{section}: base mode only");
            let hpke = suite(&p, v);
            let info = h(v, "info");
            // DeriveKeyPair for both key pairs.
            let (sk_e, pk_e) = hpke.derive_key_pair(&h(v, "ikmE")).unwrap();
            assert_eq!(sk_e.as_bytes(), h(v, "skEm"), "[{name}] {section} skEm");
            assert_eq!(pk_e, h(v, "pkEm"), "[{name}] {section} pkEm");
            let (sk_r, pk_r) = hpke.derive_key_pair(&h(v, "ikmR")).unwrap();
            assert_eq!(sk_r.as_bytes(), h(v, "skRm"), "[{name}] {section} skRm");
            assert_eq!(pk_r, h(v, "pkRm"), "[{name}] {section} pkRm");
            // SetupBaseS with the vector's ephemeral key, SetupBaseR with the recipient's.
            let (enc, mut sender) = hpke
                .setup_base_sender_deterministic(&pk_r, &info, &h(v, "ikmE"))
                .unwrap();
            assert_eq!(enc, h(v, "enc"), "[{name}] {section} enc");
            let mut receiver = hpke
                .setup_base_receiver(&enc, &h(v, "skRm"), &info)
                .unwrap();
            setups += 1;
            // Encryptions: sequence numbers 0, 1, 2, 4, 255, 256 — seal and open the ones
            // between without checking them, as the RFC's generator did.
            for e in v["encryptions"].as_array().unwrap() {
                let seq = e["sequence_number"].as_u64().unwrap();
                while sender.sequence_number() < seq {
                    let ct = sender.seal(b"skip", b"skip").unwrap();
                    receiver.open(b"skip", &ct).unwrap();
                }
                let ct = sender.seal(&h(e, "aad"), &h(e, "pt")).unwrap();
                assert_eq!(ct, h(e, "ct"), "[{name}] {section} ct at seq {seq}");
                assert_eq!(receiver.open(&h(e, "aad"), &ct).unwrap(), h(e, "pt"));
                encryptions += 1;
            }
            for x in v["exports"].as_array().unwrap() {
                let mut out = vec![0u8; x["L"].as_u64().unwrap() as usize];
                sender.export(&h(x, "exporter_context"), &mut out).unwrap();
                assert_eq!(out, h(x, "exported_value"), "[{name}] {section} export");
                let mut theirs = vec![0u8; out.len()];
                receiver
                    .export(&h(x, "exporter_context"), &mut theirs)
                    .unwrap();
                assert_eq!(theirs, out);
                exports += 1;
            }
        }
        println!(
            "hpke rfc9180 [{name}]: {setups} setups, {encryptions} encryptions, {exports} exports passed"
        );
        assert_eq!((setups, encryptions, exports), (2, 12, 6));
    }
}

#[test]
fn random_keys_round_trip_and_failures_are_errors() {
    for (name, p) in providers() {
        for aead_id in [1u16, 2, 3] {
            let hpke = Hpke::from_provider(&p, 0x0020, 0x0001, aead_id).unwrap();
            let (sk_r, pk_r) = hpke.generate_key_pair().unwrap();
            let (enc, mut sender) = hpke.setup_base_sender(&pk_r, b"info").unwrap();
            assert_eq!(enc.len(), hpke.enc_len());
            let ct = sender.seal(b"aad", b"hello").unwrap();
            let ct2 = sender.seal(b"aad", b"hello").unwrap();
            assert_ne!(ct, ct2, "[{name}] a fresh nonce per message");

            // Wrong info, wrong key, wrong aad, a flipped bit: the open fails.
            let mut other = hpke
                .setup_base_receiver(&enc, sk_r.as_bytes(), b"infO")
                .unwrap();
            assert_eq!(other.open(b"aad", &ct).err(), Some(Error::DecryptFailed));
            let (sk_x, _) = hpke.generate_key_pair().unwrap();
            let mut other = hpke
                .setup_base_receiver(&enc, sk_x.as_bytes(), b"info")
                .unwrap();
            assert_eq!(other.open(b"aad", &ct).err(), Some(Error::DecryptFailed));
            let mut receiver = hpke
                .setup_base_receiver(&enc, sk_r.as_bytes(), b"info")
                .unwrap();
            assert_eq!(receiver.open(b"aaD", &ct).err(), Some(Error::DecryptFailed));
            let mut flipped = ct.clone();
            flipped[0] ^= 1;
            assert_eq!(
                receiver.open(b"aad", &flipped).err(),
                Some(Error::DecryptFailed)
            );
            assert_eq!(
                receiver.open(b"aad", &ct[..10]).err(),
                Some(Error::DecryptFailed)
            );
            // Failed opens do not advance the sequence: the real messages still open in order.
            assert_eq!(receiver.sequence_number(), 0);
            assert_eq!(receiver.open(b"aad", &ct).unwrap(), b"hello");
            assert_eq!(receiver.open(b"aad", &ct2).unwrap(), b"hello");

            // Malformed keys: wrong lengths and the X25519 low-order point (all-zero DH).
            assert!(hpke.setup_base_sender(&pk_r[1..], b"info").is_err());
            assert!(hpke.setup_base_sender(&[0u8; 32], b"info").is_err());
            assert!(
                hpke.setup_base_receiver(&enc[1..], sk_r.as_bytes(), b"info")
                    .is_err()
            );
            assert!(
                hpke.setup_base_receiver(&[0u8; 32], sk_r.as_bytes(), b"info")
                    .is_err()
            );
            assert!(hpke.setup_base_receiver(&enc, &[1; 31], b"info").is_err());
            // The info bound.
            let big = vec![0u8; MAX_INFO_LEN + 1];
            assert_eq!(
                hpke.setup_base_sender(&pk_r, &big).err().map(|_| ()),
                Some(())
            );
            assert!(hpke.setup_base_sender(&pk_r, &big[1..]).is_ok());
        }
        // Suites this module does not implement.
        for (kem, kdf, aead) in [(0x0010, 1, 1), (0x0020, 2, 1), (0x0020, 1, 0xffff)] {
            assert_eq!(
                Hpke::from_provider(&p, kem, kdf, aead).err(),
                Some(Error::Unsupported)
            );
        }
    }
}

/// The two providers interoperate: one seals, the other opens.
#[test]
fn providers_agree_with_each_other() {
    let ps = providers();
    for (a_name, a) in &ps {
        for (b_name, b) in &ps {
            let (sender, receiver) = (
                Hpke::from_provider(a, 0x20, 1, 3).unwrap(),
                Hpke::from_provider(b, 0x20, 1, 3).unwrap(),
            );
            let (sk, pk) = receiver.generate_key_pair().unwrap();
            let (enc, mut s) = sender.setup_base_sender(&pk, b"tls ech").unwrap();
            let ct = s.seal(b"", b"inner").unwrap();
            let mut r = receiver
                .setup_base_receiver(&enc, sk.as_bytes(), b"tls ech")
                .unwrap();
            assert_eq!(r.open(b"", &ct).unwrap(), b"inner", "{a_name} → {b_name}");
        }
    }
}

//! The `rsa_pss_pss_*` verifiers (signatures by an `id-RSASSA-PSS` key, RFC 8446 §4.2.3)
//! against Wycheproof's RSASSA-PSS vectors with TLS's parameters (SHA-256/384/512, MGF1 with
//! the same hash, salt = hash length), for each provider compiled in. The key of such a
//! certificate is an RSAPublicKey like an rsaEncryption key's, so the vectors' keys serve as
//! they are; what differs is the key's algorithm identifier and the TLS scheme.
//!
//! `cargo test -p overture-crypto-provider --all-features --test rsa_pss_keys -- --nocapture`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use overture_crypto_provider::{CryptoProvider, RSA_PSS_KEY_ALG_ID};
use overture_types::SignatureScheme;
use overture_types::pki::alg_id;
use serde_json::Value;
use std::path::PathBuf;

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
        .filter_map(|(name, make)| make.map(|m| (name, m())))
        .collect()
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

#[test]
fn rsa_pss_pss_verifiers_follow_wycheproof() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/wycheproof/testvectors_v1");
    let files = [
        (
            "rsa_pss_2048_sha256_mgf1_32_test.json",
            SignatureScheme::RSA_PSS_PSS_SHA256,
        ),
        (
            "rsa_pss_3072_sha256_mgf1_32_test.json",
            SignatureScheme::RSA_PSS_PSS_SHA256,
        ),
        (
            "rsa_pss_2048_sha384_mgf1_48_test.json",
            SignatureScheme::RSA_PSS_PSS_SHA384,
        ),
        (
            "rsa_pss_4096_sha384_mgf1_48_test.json",
            SignatureScheme::RSA_PSS_PSS_SHA384,
        ),
        (
            "rsa_pss_4096_sha512_mgf1_64_test.json",
            SignatureScheme::RSA_PSS_PSS_SHA512,
        ),
    ];
    let providers = providers();
    assert!(!providers.is_empty(), "no provider feature enabled");
    for (name, p) in &providers {
        let (mut run, mut passed) = (0usize, 0usize);
        for (file, scheme) in files {
            let path = dir.join(file);
            let doc: Value = serde_json::from_str(
                &std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            )
            .expect("JSON");
            let v = p
                .verifier_for_scheme(scheme)
                .unwrap_or_else(|| panic!("{name}: no verifier for {scheme:?}"));
            assert_eq!(
                v.public_key_alg_id(),
                RSA_PSS_KEY_ALG_ID,
                "{name} {scheme:?}"
            );
            let expected_sig = match scheme {
                SignatureScheme::RSA_PSS_PSS_SHA256 => alg_id::RSA_PSS_SHA256,
                SignatureScheme::RSA_PSS_PSS_SHA384 => alg_id::RSA_PSS_SHA384,
                _ => alg_id::RSA_PSS_SHA512,
            };
            assert_eq!(v.signature_alg_id(), expected_sig, "{name} {scheme:?}");
            // X.509 lookup: an RSASSA-PSS key with this signature algorithm finds it.
            assert!(
                p.verifiers_for_alg_ids(RSA_PSS_KEY_ALG_ID.as_ref(), expected_sig.as_ref())
                    .next()
                    .is_some()
            );
            for group in doc["testGroups"].as_array().expect("groups") {
                let key = hex(&group["publicKeyAsn"]);
                for t in group["tests"].as_array().expect("tests") {
                    let got = v.verify(&key, &hex(&t["msg"]), &hex(&t["sig"])).is_ok();
                    let want = match t["result"].as_str() {
                        Some("valid") => true,
                        Some("invalid") => false,
                        other => panic!("{file} tc {}: result {other:?}", t["tcId"]),
                    };
                    run += 1;
                    assert_eq!(got, want, "{name} {file} tc {}", t["tcId"]);
                    passed += 1;
                }
            }
        }
        println!("rsa_pss_pss [{name}]: {run} run, {passed} passed, 0 failed");
    }
}

/// A key of one kind never verifies under the other's scheme by lookup: the
/// `rsa_pss_rsae_*` verifiers want rsaEncryption keys, the `rsa_pss_pss_*` ones RSASSA-PSS keys.
#[test]
fn pss_and_rsae_verifiers_are_told_apart_by_key_algorithm() {
    for (name, p) in providers() {
        for (pss, rsae) in [
            (
                SignatureScheme::RSA_PSS_PSS_SHA256,
                SignatureScheme::RSA_PSS_SHA256,
            ),
            (
                SignatureScheme::RSA_PSS_PSS_SHA384,
                SignatureScheme::RSA_PSS_SHA384,
            ),
            (
                SignatureScheme::RSA_PSS_PSS_SHA512,
                SignatureScheme::RSA_PSS_SHA512,
            ),
        ] {
            let a = p.verifier_for_scheme(pss).unwrap();
            let b = p.verifier_for_scheme(rsae).unwrap();
            assert_ne!(a.public_key_alg_id(), b.public_key_alg_id(), "{name}");
            assert_eq!(b.public_key_alg_id(), alg_id::RSA_ENCRYPTION, "{name}");
            assert!(
                p.supported_schemes().contains(&pss),
                "{name}: {pss:?} offered"
            );
        }
    }
}

//! Trust-anchor sources: PEM files and directories, DER, `webpki-roots` (feature).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_x509_verify::{Error, RootStore};

#[cfg(feature = "webpki-roots")]
mod common;

fn ca_pem(name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.self_signed(&key).unwrap().pem()
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("overture-x509-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn pem_file_and_directory() {
    let dir = temp_dir("roots");
    let bundle = format!("{}{}", ca_pem("A"), ca_pem("B"));
    std::fs::write(dir.join("bundle.pem"), &bundle).unwrap();
    std::fs::write(dir.join("c.crt"), ca_pem("C")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate").unwrap();
    let file = RootStore::from_pem_file(dir.join("bundle.pem")).unwrap();
    assert_eq!(file.len(), 2);
    assert!(!file.strict_anchors(), "bundles are grandfathered");
    let all = RootStore::from_pem_dir(&dir).unwrap();
    assert_eq!(all.len(), 3);
    // The same certificate twice is one anchor.
    let mut store = RootStore::new();
    assert!(store.strict_anchors());
    store.add_pem(bundle.as_bytes()).unwrap();
    store.add_pem(bundle.as_bytes()).unwrap();
    assert_eq!(store.len(), 2);
    // Errors name the path.
    match RootStore::from_pem_file(dir.join("missing.pem")) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("missing.pem")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        RootStore::from_pem_file(dir.join("README")),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unparseable_certificates_are_skipped_and_counted() {
    let mut store = RootStore::new();
    let mut der = rcgen::CertificateParams::new(vec!["x.example".to_string()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap()
        .der()
        .to_vec();
    der.push(0); // trailing garbage: not DER
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(&der)
    );
    assert_eq!(store.add_pem(pem.as_bytes()).unwrap(), 0);
    assert_eq!(store.skipped(), 1);
    assert!(store.is_empty());
}

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(feature = "webpki-roots")]
#[test]
fn webpki_roots_load_and_verify_a_real_chain() {
    use overture_x509_verify::{KeyPurpose, PeerName, Verifier};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, UnixTime};
    use std::sync::Arc;

    let store = RootStore::webpki_roots();
    assert!(store.len() > 100, "{} anchors", store.len());
    assert_eq!(store.skipped(), 0);
    // The limbo corpus's recorded real-world chains (`online::*`), against the compiled-in
    // Mozilla roots instead of the roots the corpus ships.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/x509-limbo/limbo.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let limbo: serde_json::Value = serde_json::from_str(&text).unwrap();
    let verifier = Verifier::new(
        Arc::new(store),
        &overture_crypto_provider::ring::default_provider(),
    );
    let (mut ok, mut total) = (0, 0);
    for case in limbo["testcases"].as_array().unwrap() {
        if !case["id"].as_str().unwrap().starts_with("online::") {
            continue;
        }
        total += 1;
        let der = |v: &serde_json::Value| {
            CertificateDer::from_pem_slice(v.as_str().unwrap().as_bytes()).unwrap()
        };
        let ee = der(&case["peer_certificate"]);
        let inters: Vec<_> = case["untrusted_intermediates"]
            .as_array()
            .unwrap()
            .iter()
            .map(der)
            .collect();
        let now = case["validation_time"]
            .as_str()
            .map_or_else(UnixTime::now, common::rfc3339);
        let name = case["expected_peer_name"]["value"].as_str().unwrap();
        match verifier.verify(
            &ee,
            &inters,
            KeyPurpose::ServerAuth,
            &[PeerName::Dns(name)],
            now,
        ) {
            Ok(_) => ok += 1,
            Err(e) => println!("{}: {e}", case["id"]),
        }
    }
    println!("webpki-roots verified {ok} of {total} recorded chains");
    assert!(total > 0 && ok > 0);
}

#[test]
fn debug_output_stays_short() {
    let mut store = RootStore::new();
    store.add_pem(ca_pem("A").as_bytes()).unwrap();
    let v = overture_x509_verify::Verifier::new(
        std::sync::Arc::new(store),
        &overture_crypto_provider::ring::default_provider(),
    );
    let text = format!("{v:?}");
    assert!(text.contains("anchors: 1"), "{text}");
    assert!(text.len() < 400, "{text}");
}

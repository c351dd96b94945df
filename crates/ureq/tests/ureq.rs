//! A ureq 3 agent over Overture fetches files from `openssl s_server -WWW` on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![allow(missing_docs, clippy::as_conversions)]

use overture::ClientConfig;
use overture_tests::{KeyKind, Pki, openssl_s_server_in};

fn agent(pki: &Pki) -> ureq::Agent {
    let tls = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    overture_ureq::agent(ureq::Agent::config_builder().build(), tls)
}

#[test]
fn ureq_fetches_a_file_from_openssl_s_server() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let dir = overture_tests::temp_dir("ureq-www");
    let small = b"hello from s_server -WWW\n".to_vec();
    let big: Vec<u8> = (0..300_000).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(dir.join("hello.txt"), &small).unwrap();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    for version in ["-tls1_3", "-tls1_2"] {
        let Some(peer) = openssl_s_server_in(&pki, Some(&dir), &["-WWW", version]) else {
            return;
        };
        let agent = agent(&pki);
        for (path, want) in [("hello.txt", &small), ("big.bin", &big)] {
            let url = format!("https://localhost:{}/{path}", peer.addr.port());
            let mut response = agent.get(&url).call().unwrap();
            assert_eq!(response.status(), 200, "{version} {path}");
            let body = response
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .unwrap();
            assert!(&body == want, "{version} {path}: the body differs");
        }
    }
}

#[test]
fn ureq_refuses_a_server_it_does_not_trust() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256);
    let dir = overture_tests::temp_dir("ureq-www-untrusted");
    std::fs::write(dir.join("hello.txt"), b"secret").unwrap();
    let Some(peer) = openssl_s_server_in(&pki, Some(&dir), &["-WWW"]) else {
        return;
    };
    let url = format!("https://localhost:{}/hello.txt", peer.addr.port());
    let err = agent(&other).get(&url).call().unwrap_err();
    assert!(
        err.to_string().contains("certificate"),
        "not a certificate error: {err}"
    );
}

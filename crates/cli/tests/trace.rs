//! `overture connect --trace` against an in-process rustls server: the handshake printed as
//! `openssl s_client -msg` prints it, for TLS 1.3, TLS 1.2 and a failed verification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use overture_tests::{KeyKind, Pki, RustlsServer, rustls_server_config};
use std::process::{Command, Output};

fn connect(pki: &Pki, server: &RustlsServer, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_overture"))
        .arg("connect")
        .arg(server.addr.to_string())
        .args(["--server-name", "localhost", "--ca-file"])
        .arg(&pki.ca_pem)
        .args(extra)
        .output()
        .unwrap()
}

/// The `>>>` / `<<<` lines of `text`, in order.
fn msg_lines(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter(|l| l.starts_with(">>> ") || l.starts_with("<<< "))
        .map(String::from)
        .collect()
}

/// Asserts that `expected` lines appear in `lines` in this order (other lines may come between).
fn assert_in_order(lines: &[String], expected: &[&str]) {
    let mut rest = lines.iter();
    for want in expected {
        assert!(
            rest.any(|l| l.starts_with(want)),
            "`{want}` missing or out of order in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn trace_prints_a_tls13_handshake_as_s_client_msg() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let mut config = rustls_server_config(
        &pki,
        &[&rustls::version::TLS13],
        &[rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        &[],
    );
    // A plain Certificate message: when the workspace builds rustls with its brotli/zlib
    // features (the handshake crate's compression tests), the server would otherwise answer
    // our compress_certificate offer with a CompressedCertificate.
    std::sync::Arc::get_mut(&mut config)
        .unwrap()
        .cert_compressors = Vec::new();
    let server = RustlsServer::start(config);
    let out = connect(&pki, &server, &["--trace"]);
    assert!(out.status.success(), "{out:?}");
    let lines = msg_lines(&out.stdout);
    assert_in_order(
        &lines,
        &[
            ">>> TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            // Finished under SHA-256: 32 bytes of verify_data plus the 4-byte header.
            "<<< TLS 1.3, Handshake [length 0024], Finished",
            ">>> TLS 1.3, Handshake [length 0024], Finished",
        ],
    );
    let handshake = lines.iter().filter(|l| l.contains(", Handshake ["));
    for (line, ty) in handshake.zip([
        "ClientHello",
        "ServerHello",
        "EncryptedExtensions",
        "Certificate",
        "CertificateVerify",
        "Finished",
        "Finished",
    ]) {
        assert!(line.ends_with(&format!(", {ty}")), "{line} is not {ty}");
    }
    // The report still follows, unchanged.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TLSv1.3"), "{stdout}");
}

#[test]
fn trace_prints_a_tls12_handshake_and_keeps_json_clean() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(
        &pki,
        &[&rustls::version::TLS12],
        &[],
        &[],
    ));
    let out = connect(&pki, &server, &["--trace", "--json"]);
    assert!(out.status.success(), "{out:?}");
    // With --json, stdout is one JSON object per connection; the trace goes to stderr.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["protocol"], "TLSv1.2", "{v}");
    let lines = msg_lines(&out.stderr);
    assert_in_order(
        &lines,
        &[
            // As OpenSSL: the highest version offered until the ServerHello is processed.
            ">>> TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            "<<< TLS 1.2, Handshake [length ",
            "<<< TLS 1.2, Handshake [length ",
            "<<< TLS 1.2, Handshake [length 0004], ServerHelloDone",
            ">>> TLS 1.2, Handshake [length ",
            ">>> TLS 1.2, ChangeCipherSpec [length 0001]",
            // TLS 1.2 Finished: 12 bytes of verify_data (RFC 5246 §7.4.9) plus the header.
            ">>> TLS 1.2, Handshake [length 0010], Finished",
            "<<< TLS 1.2, ChangeCipherSpec [length 0001]",
            "<<< TLS 1.2, Handshake [length 0010], Finished",
        ],
    );
    assert!(
        lines.iter().any(|l| l.ends_with(", ServerKeyExchange")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with(", ClientKeyExchange")),
        "{lines:?}"
    );
}

#[test]
fn trace_shows_the_alert_of_a_failed_verification() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(
        &pki,
        &[&rustls::version::TLS13],
        &[],
        &[],
    ));
    let out = connect(&other, &server, &["--trace"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let lines = msg_lines(&out.stdout);
    assert_in_order(
        &lines,
        &[
            ">>> TLS 1.3, Handshake [length ",
            "<<< TLS 1.3, Handshake [length ",
            ">>> TLS 1.3, Alert [length 0002], fatal unknown_ca",
        ],
    );
    assert!(!lines.iter().any(|l| l.contains("Finished")), "{lines:?}");
}

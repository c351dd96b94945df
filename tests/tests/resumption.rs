//! TLS 1.2 and resumption through `overture::Ssl` against an in-process rustls server: the TLS
//! 1.2 suite × group × certificate matrix, automatic resumption through the config's session
//! store (TLS 1.3 tickets, TLS 1.2 session ids, TLS 1.2 tickets), and the session API by hand
//! (`Ssl::session`, `Session::to_bytes` / `from_bytes`, `Ssl::set_session`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

use overture::bio::SocketBio;
use overture::types::{AlertDescription, CipherSuite, NamedGroup, ProtocolVersion};
use overture::{ClientConfig, Negotiated, Session, Ssl};
use overture_tests::{KeyKind, Pki, RustlsServer, rustls_server_config};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

fn tls12_suites(kind: KeyKind) -> [CipherSuite; 3] {
    match kind {
        KeyKind::Rsa2048 => [
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        _ => [
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
    }
}

/// Connects over a blocking socket, echoes a line (which also processes TLS 1.3 tickets), and
/// returns what was negotiated with the session the server gave, if any.
fn connect_echo(
    config: &ClientConfig,
    addr: SocketAddr,
    session: Option<&Session>,
) -> (Negotiated, Option<Session>) {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    let socket = SocketBio::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    if let Some(s) = session {
        ssl.set_session(s);
    }
    let negotiated = ssl.connect().unwrap();
    ssl.write(b"echo me\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 8 {
        let n = ssl.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"echo me\n");
    let _ = ssl.shutdown();
    (negotiated, ssl.session())
}

#[test]
fn tls12_every_suite_group_and_cert_against_rustls() {
    let (mut run, mut passed, mut refused) = (0, 0, 0);
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Rsa2048] {
        let pki = Pki::new(kind);
        let server = RustlsServer::start(rustls_server_config(
            &pki,
            &[&rustls::version::TLS12],
            &[],
            &[],
        ));
        for suite in tls12_suites(kind) {
            for group in GROUPS {
                run += 1;
                let config = ClientConfig::builder()
                    .with_ca_file(&pki.ca_pem)
                    .unwrap()
                    .with_protocol_versions(&[ProtocolVersion::TLSv1_2])
                    .with_cipher_suites(&[suite])
                    .unwrap()
                    .with_groups(&[group])
                    .unwrap()
                    .build()
                    .unwrap();
                // An ECDSA certificate must be on a curve our supported_groups offered (RFC
                // 8422 §5.3; OpenSSL's server and BoringSSL's client enforce it, rustls's
                // server does not look): with another group alone, we refuse it.
                let cert_curve = match kind {
                    KeyKind::EcdsaP256 => Some(NamedGroup::secp256r1),
                    KeyKind::EcdsaP384 => Some(NamedGroup::secp384r1),
                    _ => None,
                };
                if cert_curve.is_some_and(|c| c != group) {
                    let mut ssl = Ssl::new(&config, "localhost").unwrap();
                    ssl.set_socket(SocketBio::connect(server.addr).unwrap())
                        .unwrap();
                    let e = ssl.connect().unwrap_err();
                    assert_eq!(
                        e.alert_sent(),
                        Some(AlertDescription::IllegalParameter),
                        "{kind:?} {suite} {group}: {e}"
                    );
                    refused += 1;
                    continue;
                }
                let (n, session) = connect_echo(&config, server.addr, None);
                assert_eq!(
                    (n.version(), n.cipher_suite(), n.group(), n.resumed()),
                    (ProtocolVersion::TLSv1_2, suite, Some(group), false),
                    "{kind:?} {suite} {group}"
                );
                assert_eq!(n.peer_chain().len(), 2);
                assert!(session.is_some(), "TLS 1.2 gives a session at connect()");
                passed += 1;
            }
        }
    }
    println!(
        "interop rustls TLSv1.2 (suite x group x cert): {passed}/{run} passed, \
         {refused} refused as RFC 8422 §5.3 requires (ECDSA leaf on a curve not offered)"
    );
    // 2 ECDSA certificates x 3 suites x the 2 groups that are not their curve.
    assert_eq!((passed + refused, refused), (run, 12));
}

/// Three connections from one config: the second and third resume through its session store.
fn resumes_automatically(
    server_config: Arc<rustls::ServerConfig>,
    pki: &Pki,
    version: ProtocolVersion,
) {
    let server = RustlsServer::start(server_config);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_protocol_versions(&[version])
        .build()
        .unwrap();
    let (first, _) = connect_echo(&config, server.addr, None);
    assert_eq!(first.version(), version);
    assert!(!first.resumed());
    for _ in 0..2 {
        let (again, _) = connect_echo(&config, server.addr, None);
        assert_eq!(again.version(), version);
        assert!(again.resumed(), "{version}: the connection must resume");
        assert!(
            again.peer_chain().is_empty(),
            "a resumed handshake has no Certificate"
        );
    }
}

#[test]
fn tls13_tickets_resume_through_the_session_store() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cfg = rustls_server_config(&pki, &[&rustls::version::TLS13], &[], &[]);
    resumes_automatically(cfg, &pki, ProtocolVersion::TLSv1_3);
}

#[test]
fn tls12_session_ids_resume_through_the_session_store() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cfg = rustls_server_config(&pki, &[&rustls::version::TLS12], &[], &[]);
    assert!(!cfg.ticketer.enabled(), "session ids, not tickets");
    resumes_automatically(cfg, &pki, ProtocolVersion::TLSv1_2);
}

#[test]
fn tls12_tickets_resume_through_the_session_store() {
    let pki = Pki::new(KeyKind::Rsa2048);
    let mut cfg = (*rustls_server_config(&pki, &[&rustls::version::TLS12], &[], &[])).clone();
    cfg.ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    // No session-id cache: only the ticket can resume.
    cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    resumes_automatically(Arc::new(cfg), &pki, ProtocolVersion::TLSv1_2);
}

#[test]
fn a_session_survives_bytes_and_resumes_by_hand() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    for version in [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2] {
        let versions: &[&'static rustls::SupportedProtocolVersion] = match version {
            ProtocolVersion::TLSv1_3 => &[&rustls::version::TLS13],
            _ => &[&rustls::version::TLS12],
        };
        let server = RustlsServer::start(rustls_server_config(&pki, versions, &[], &[]));
        // No session store: resumption only by hand.
        let config = ClientConfig::builder()
            .with_ca_file(&pki.ca_pem)
            .unwrap()
            .with_protocol_versions(&[version])
            .with_session_store(None)
            .build()
            .unwrap();
        let (first, session) = connect_echo(&config, server.addr, None);
        assert!(!first.resumed());
        let session = session.expect("the server gave a session");
        assert_eq!(session.version(), version);
        assert_eq!(session.cipher_suite(), first.cipher_suite());
        let bytes = session.to_bytes().unwrap();
        let back = Session::from_bytes(&bytes).unwrap();
        let (again, _) = connect_echo(&config, server.addr, Some(&back));
        assert!(again.resumed(), "{version}: set_session must resume");
        // Without a session, the same config does a full handshake.
        let (full, _) = connect_echo(&config, server.addr, None);
        assert!(!full.resumed());
        // A damaged session is refused as input, never offered.
        assert!(Session::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    }
}

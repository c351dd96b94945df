//! The harness itself, checked with implementations no one here wrote: a rustls client talks to
//! each peer over the generated PKI. When these fail, the harness is broken, not Overture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture_tests::{
    KeyKind, Pki, RustlsServer, gnutls_serv, openssl_s_server, rustls_server_config,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

fn rustls_client(pki: &Pki) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).unwrap();
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

fn roundtrip(pki: &Pki, addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let conn =
        rustls::ClientConnection::new(rustls_client(pki), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(request).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tls.read(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn rustls_server_serves_every_key_kind() {
    for kind in KeyKind::ALL {
        let pki = Pki::new(kind);
        let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
        assert_eq!(roundtrip(&pki, server.addr, b"ping"), b"ping", "{kind:?}");
        assert_eq!(server.accepted(), 1);
    }
}

#[test]
fn openssl_s_server_serves_the_generated_chain() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-www"]) else {
        return;
    };
    let reply = roundtrip(&pki, peer.addr, b"GET / HTTP/1.0\r\n\r\n");
    assert!(
        reply.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}

#[test]
fn gnutls_serv_serves_the_generated_chain() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = gnutls_serv(&pki, "NORMAL", "--echo") else {
        return;
    };
    assert_eq!(roundtrip(&pki, peer.addr, b"ping\n"), b"ping\n");
}

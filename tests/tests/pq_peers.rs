//! Smoke tests of the post-quantum / ECH interop peers (`tests/peers/`, issue #16) with what
//! the client negotiates today, before the handshake offers X25519MLKEM768: our client, whose
//! first key share is x25519, against Node's OpenSSL 3.5 and Go's crypto/tls (both of which
//! prefer X25519MLKEM768) gets x25519 without a HelloRetryRequest, and both servers report the
//! handshake they saw. The Go server also writes a well-formed ECHConfigList, which our HPKE
//! can seal to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::SocketBio;
use overture::types::{NamedGroup, ProtocolVersion};
use overture::{ClientConfig, Negotiated, Ssl};
use overture_crypto_provider::hpke::Hpke;
use overture_tests::pq_peers::{ReportingPeer, go_tls_server, node_tls_server};
use overture_tests::{KeyKind, Pki, Validity};
use std::time::Duration;

fn connect_echo(pki: &Pki, peer: &ReportingPeer) -> Negotiated {
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let socket = SocketBio::connect(peer.peer.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    let negotiated = ssl
        .connect()
        .unwrap_or_else(|e| panic!("{}: {e}; server said {:?}", peer.peer.name, peer.output()));
    ssl.write(b"echo me\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 8 {
        let n = ssl.read(&mut buf).unwrap();
        assert!(n > 0, "{}: EOF before the echo", peer.peer.name);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"echo me\n");
    let _ = ssl.shutdown();
    negotiated
}

fn check_x25519(pki: &Pki, peer: &ReportingPeer) {
    let negotiated = connect_echo(pki, peer);
    assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
    assert_eq!(negotiated.group(), Some(NamedGroup::X25519));
    let seen = peer.handshake(0);
    assert_eq!(
        (seen.group.as_str(), seen.version.as_str(), seen.ech),
        ("x25519", "TLS1.3", false),
        "{}",
        peer.peer.name
    );
    assert_eq!(seen.server_name, "localhost");
}

#[test]
fn x25519_today_against_node_openssl_3_5() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = node_tls_server(&pki, &[]) else {
        return;
    };
    check_x25519(&pki, &peer);
}

#[test]
fn x25519_today_against_go_crypto_tls_with_ech_on() {
    let pki = Pki::build(
        KeyKind::EcdsaP256,
        Validity::Current,
        &["localhost", "public.example"],
    );
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    // A client that sends no ECH extension gets a plain handshake.
    check_x25519(&pki, &peer);

    // The ECHConfigList: one version-0xfe0d config for DHKEM(X25519, HKDF-SHA256) with the
    // public name, whose key our HPKE seals to (RFC 9849 §4).
    let list = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    assert_eq!(
        usize::from(u16::from_be_bytes([list[0], list[1]])),
        list.len() - 2
    );
    let config = &list[2..];
    assert_eq!(&config[..2], &[0xfe, 0x0d]);
    assert_eq!(
        usize::from(u16::from_be_bytes([config[2], config[3]])),
        config.len() - 4
    );
    let (kem_id, pk_len) = (
        u16::from_be_bytes([config[5], config[6]]),
        usize::from(u16::from_be_bytes([config[7], config[8]])),
    );
    assert_eq!((kem_id, pk_len), (0x0020, 32));
    let public_key = &config[9..9 + pk_len];
    assert!(
        config.windows(14).any(|w| w == b"public.example"),
        "public_name in the config"
    );
    let hpke = Hpke::from_provider(
        &overture_crypto_provider::ring::default_provider(),
        0x0020,
        0x0001,
        0x0001,
    )
    .unwrap();
    let (enc, mut ctx) = hpke.setup_base_sender(public_key, b"tls ech\0").unwrap();
    assert_eq!(enc.len(), 32);
    assert_eq!(ctx.seal(b"", b"inner").unwrap().len(), 5 + 16);
    let stale = std::fs::read(peer.stale_ech_config_list.as_ref().unwrap()).unwrap();
    assert_ne!(stale, list, "the stale list holds another key");
}

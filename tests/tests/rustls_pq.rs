//! The post-quantum hybrids against rustls with its aws-lc-rs provider (issue #16): the only
//! rustls build with ML-KEM (rustls's ring provider has none), in process, on 127.0.0.1.
//!
//! - The default client (X25519MLKEM768 first, with an x25519 share from the same X25519 key)
//!   gets X25519MLKEM768, full and resumed, without a HelloRetryRequest.
//! - Both providers' X25519MLKEM768 and SecP256r1MLKEM768 (ring provider: libcrux-ml-kem;
//!   rustcrypto provider: RustCrypto's ml-kem) agree with aws-lc's ML-KEM.
//! - Asked to send only an x25519 share to a server that takes X25519MLKEM768 alone, the
//!   client reaches it through a HelloRetryRequest.
//!
//! aws-lc-sys builds its C with the `cc` crate (no cmake needed on Linux), which costs about
//! 45 CPU-seconds once per clean build: worth a third ML-KEM implementation as a peer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::SocketBio;
use overture::types::{NamedGroup, ProtocolVersion};
use overture::{ClientConfig, Negotiated, Ssl};
use overture_crypto_provider::{CryptoProvider, KeyExchange, ring, rustcrypto};
use overture_tests::{KeyKind, Pki, RustlsServer};
use rustls::crypto::SupportedKxGroup;
use rustls::crypto::aws_lc_rs;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A rustls server on aws-lc-rs offering `groups` (its order is the server's preference).
fn server(pki: &Pki, groups: &[&'static dyn SupportedKxGroup]) -> RustlsServer {
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: groups.to_vec(),
        ..aws_lc_rs::default_provider()
    };
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.private_key())
        .unwrap();
    RustlsServer::start(Arc::new(config))
}

fn connect_echo(config: &ClientConfig, addr: SocketAddr) -> Negotiated {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    let socket = SocketBio::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    let negotiated = ssl.connect().unwrap();
    ssl.write(b"echo me\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < 8 {
        let n = ssl.read(&mut buf).unwrap();
        assert!(n > 0, "EOF before the echo");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"echo me\n");
    let _ = ssl.shutdown();
    negotiated
}

#[test]
fn default_client_gets_x25519mlkem768_full_and_resumed_without_a_retry() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = server(&pki, &aws_lc_rs::default_provider().kx_groups);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let full = connect_echo(&config, server.addr);
    let resumed = connect_echo(&config, server.addr);
    for (i, negotiated) in [full, resumed].iter().enumerate() {
        assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
        assert_eq!(negotiated.group(), Some(NamedGroup::X25519MLKEM768), "#{i}");
        assert!(!negotiated.hello_retry_request(), "#{i}");
        assert_eq!(negotiated.resumed(), i == 1, "#{i}");
    }
}

#[test]
fn hybrids_of_both_providers_agree_with_aws_lc() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = server(
        &pki,
        &[
            aws_lc_rs::kx_group::X25519MLKEM768,
            aws_lc_rs::kx_group::SECP256R1MLKEM768,
        ],
    );
    let groups: [(&'static dyn KeyExchange, &str); 4] = [
        (&ring::X25519MLKEM768, "ring"),
        (&ring::SECP256R1MLKEM768, "ring"),
        (&rustcrypto::X25519MLKEM768, "rustcrypto"),
        (&rustcrypto::SECP256R1MLKEM768, "rustcrypto"),
    ];
    for (kx, provider) in groups {
        let config = ClientConfig::builder_with_provider(CryptoProvider {
            kx_groups: vec![kx],
            ..ring::default_provider()
        })
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
        // Full, then resumed (psk_dhe_ke: a fresh hybrid exchange).
        for resumed in [false, true] {
            let negotiated = connect_echo(&config, server.addr);
            assert_eq!(
                (negotiated.group(), negotiated.resumed()),
                (Some(kx.group()), resumed),
                "{provider}'s {}",
                kx.group()
            );
        }
    }
}

#[test]
fn an_x25519_share_reaches_x25519mlkem768_through_a_hello_retry_request() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = server(&pki, &[aws_lc_rs::kx_group::X25519MLKEM768]);
    let config = ClientConfig::builder()
        .with_groups(&[NamedGroup::X25519, NamedGroup::X25519MLKEM768])
        .unwrap()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let negotiated = connect_echo(&config, server.addr);
    assert_eq!(negotiated.group(), Some(NamedGroup::X25519MLKEM768));
    assert!(negotiated.hello_retry_request());
}

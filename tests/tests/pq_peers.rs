//! The post-quantum / ECH interop peers (`tests/peers/`, issue #16):
//! - the default client (X25519MLKEM768 first, its ClientHello carrying an X25519MLKEM768 and
//!   an x25519 share from one X25519 key) gets X25519MLKEM768 from Node's OpenSSL 3.5 and Go's
//!   crypto/tls, full and resumed, without a HelloRetryRequest; and x25519, again without a
//!   HelloRetryRequest, from servers without ML-KEM (`openssl s_server` 3.0, Go limited to
//!   x25519 and P-256);
//! - a client asked to send only an x25519 share (`with_groups([x25519, X25519MLKEM768])`)
//!   reaches X25519MLKEM768 through Go's HelloRetryRequest;
//! - with a provider whose groups are the hybrids (`X25519MLKEM768`, `SecP256r1MLKEM768` from
//!   the ring provider — libcrux-ml-kem — and from the rustcrypto provider — ml-kem), real
//!   handshakes (full and resumed) agree with both servers, which proves the share layout and
//!   secret order of draft-ietf-tls-ecdhe-mlkem against two independent implementations;
//! - the Go server's ECHConfigList is well formed and our HPKE seals to its key;
//! - ECH (RFC 9849) against Go's ECH server: accepted (Go reports the inner name), resumed
//!   inside ECH, with both providers' HPKE, through a HelloRetryRequest; rejected after a key
//!   rotation with the server's current configs as retry configs, and the retry with them
//!   accepted; a rejection whose certificate lacks the public name fails on the certificate;
//!   GREASE ECH against `openssl s_server`.

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
use overture_crypto_provider::{CryptoProvider, KeyExchange, ring, rustcrypto};
use overture_tests::pq_peers::{ReportingPeer, go_tls_server, node_tls_server};
use overture_tests::{KeyKind, Pki, Validity, openssl_s_server};
use std::time::Duration;

fn config(pki: &Pki, kx_groups: Option<Vec<&'static dyn KeyExchange>>) -> ClientConfig {
    let builder = match kx_groups {
        Some(kx_groups) => ClientConfig::builder_with_provider(CryptoProvider {
            kx_groups,
            ..ring::default_provider()
        }),
        None => ClientConfig::builder(),
    };
    builder.with_ca_file(&pki.ca_pem).unwrap().build().unwrap()
}

fn connect_echo(config: &ClientConfig, peer: &ReportingPeer) -> Negotiated {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
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

/// Every hybrid group of both providers against `peer`, then a full and a resumed
/// X25519MLKEM768 handshake; `index` is the index of the next
/// handshake the server reports. Returns the index after the last.
fn check_hybrids(pki: &Pki, peer: &ReportingPeer, mut index: usize) -> usize {
    let groups: [(&'static dyn KeyExchange, &str); 4] = [
        (&ring::X25519MLKEM768, "ring"),
        (&ring::SECP256R1MLKEM768, "ring"),
        (&rustcrypto::X25519MLKEM768, "rustcrypto"),
        (&rustcrypto::SECP256R1MLKEM768, "rustcrypto"),
    ];
    for (kx, provider) in groups {
        let negotiated = connect_echo(&config(pki, Some(vec![kx])), peer);
        assert_eq!(
            negotiated.group(),
            Some(kx.group()),
            "{} with {provider}'s {}",
            peer.peer.name,
            kx.group()
        );
        let seen = peer.handshake(index);
        assert_eq!(seen.group, kx.group().to_string(), "{} saw", peer.peer.name);
        assert_eq!(seen.version, "TLS1.3");
        index += 1;
    }
    // Resumption with the same config (its session store keeps the ticket): psk_dhe_ke with
    // a fresh X25519MLKEM768 exchange.
    let config = config(pki, Some(vec![&ring::X25519MLKEM768]));
    let full = connect_echo(&config, peer);
    let resumed = connect_echo(&config, peer);
    assert!(
        !full.resumed() && resumed.resumed(),
        "{} resumes",
        peer.peer.name
    );
    assert_eq!(resumed.group(), Some(NamedGroup::X25519MLKEM768));
    let seen = peer.handshake(index + 1);
    assert!(seen.resumed, "{} saw a resumption", peer.peer.name);
    assert_eq!(seen.group, "X25519MLKEM768");
    index + 2
}

/// The default client: X25519MLKEM768 without a HelloRetryRequest, full then resumed (the
/// server's handshakes 0 and 1).
fn check_default(pki: &Pki, peer: &ReportingPeer) {
    let config = config(pki, None);
    let full = connect_echo(&config, peer);
    let resumed = connect_echo(&config, peer);
    for (i, negotiated) in [full, resumed].iter().enumerate() {
        assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
        assert_eq!(
            negotiated.group(),
            Some(NamedGroup::X25519MLKEM768),
            "{} #{i}",
            peer.peer.name
        );
        assert!(!negotiated.hello_retry_request(), "{} #{i}", peer.peer.name);
        assert_eq!(negotiated.resumed(), i == 1, "{} #{i}", peer.peer.name);
        let seen = peer.handshake(i);
        assert_eq!(
            (seen.group.as_str(), seen.version.as_str(), seen.ech),
            ("X25519MLKEM768", "TLS1.3", false),
            "{} #{i}",
            peer.peer.name
        );
        assert_eq!(seen.resumed, i == 1, "{} #{i}", peer.peer.name);
        assert_eq!(seen.server_name, "localhost");
    }
}

#[test]
fn default_client_gets_x25519mlkem768_from_node_openssl_3_5() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = node_tls_server(&pki, &[]) else {
        return;
    };
    check_default(&pki, &peer);
}

#[test]
fn default_client_falls_back_to_x25519_against_openssl_3_0_without_a_retry() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    // The system's OpenSSL 3.0 knows no ML-KEM group.
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let mut ssl = Ssl::new(&config(&pki, None), "localhost").unwrap();
    let socket = SocketBio::connect(peer.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    let negotiated = ssl.connect().unwrap();
    assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
    assert_eq!(negotiated.group(), Some(NamedGroup::X25519));
    assert!(!negotiated.hello_retry_request());
    let _ = ssl.shutdown();
}

#[test]
fn hybrids_of_both_providers_against_node_openssl_3_5() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    // OpenSSL 3.5's default list has X25519MLKEM768 but not SecP256r1MLKEM768.
    let Some(peer) = node_tls_server(
        &pki,
        &["--groups", "X25519MLKEM768:SecP256r1MLKEM768:X25519:P-256"],
    ) else {
        return;
    };
    check_hybrids(&pki, &peer, 0);
}

#[test]
fn default_client_and_hybrids_of_both_providers_against_go_crypto_tls() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = go_tls_server(&pki, None, &[]) else {
        return;
    };
    check_default(&pki, &peer);
    let next = check_hybrids(&pki, &peer, 2);
    // Asked to send only an x25519 share (x25519 first, X25519MLKEM768 also offered, by
    // name): Go (which prefers the hybrid) asks for it with a HelloRetryRequest, and the
    // retry completes.
    let x25519_first = ClientConfig::builder()
        .with_groups(&[NamedGroup::X25519, NamedGroup::X25519MLKEM768])
        .unwrap()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let negotiated = connect_echo(&x25519_first, &peer);
    assert_eq!(negotiated.group(), Some(NamedGroup::X25519MLKEM768));
    assert!(negotiated.hello_retry_request());
    assert_eq!(peer.handshake(next).group, "X25519MLKEM768");

    // A server without ML-KEM: the default client's x25519 share (the same X25519 key as in
    // its X25519MLKEM768 share) saves the HelloRetryRequest.
    let Some(classic) = go_tls_server(&pki, None, &["-groups", "x25519,secp256r1"]) else {
        return;
    };
    let negotiated = connect_echo(&config(&pki, None), &classic);
    assert_eq!(negotiated.group(), Some(NamedGroup::X25519));
    assert!(!negotiated.hello_retry_request());
    assert_eq!(classic.handshake(0).group, "x25519");
}

#[test]
fn default_client_against_go_crypto_tls_with_ech_on() {
    let pki = Pki::build(
        KeyKind::EcdsaP256,
        Validity::Current,
        &["localhost", "public.example"],
    );
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    // A client that sends no ECH extension gets a plain handshake.
    check_default(&pki, &peer);

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

/// `connect_echo` with a config that offers ECH with `list` (and trusts `pki`).
fn ech_config(pki: &Pki, list: &[u8]) -> ClientConfig {
    ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_ech_config_list(list)
        .unwrap()
        .build()
        .unwrap()
}

/// What `connect` returns to a client offering ECH to `peer`.
fn ech_connect(config: &ClientConfig, peer: &ReportingPeer) -> Result<Negotiated, overture::Error> {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    let socket = SocketBio::connect(peer.peer.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    ssl.connect()
}

/// The PKI of an ECH server: the real name (`localhost`) and the public name, which a
/// rejected ECH's outer handshake is authenticated for (RFC 9849 §6.1.7).
fn ech_pki() -> Pki {
    Pki::build(
        KeyKind::EcdsaP256,
        Validity::Current,
        &["localhost", "public.example"],
    )
}

#[test]
fn ech_accepted_by_go_crypto_tls_which_sees_the_inner_name() {
    let pki = ech_pki();
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    let list = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    let config = ech_config(&pki, &list);
    let negotiated = connect_echo(&config, &peer);
    assert_eq!(negotiated.ech(), overture::EchStatus::Accepted);
    assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
    let seen = peer.handshake(0);
    assert!(seen.ech, "Go accepted ECH: {seen:?}");
    assert_eq!(seen.server_name, "localhost", "Go saw the inner name");
    // Resumption inside ECH: the ticket of the accepted connection, offered in the inner hello.
    let resumed = connect_echo(&config, &peer);
    assert!(resumed.resumed());
    assert_eq!(resumed.ech(), overture::EchStatus::Accepted);
    let seen = peer.handshake(1);
    assert!(seen.ech && seen.resumed, "{seen:?}");
    assert_eq!(seen.server_name, "localhost");
    // The rustcrypto provider's HPKE (RustCrypto X25519, HKDF, AES-GCM) too.
    let rustcrypto = ClientConfig::builder_with_provider(rustcrypto::default_provider())
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_ech_config_list(&list)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        connect_echo(&rustcrypto, &peer).ech(),
        overture::EchStatus::Accepted
    );
    let seen = peer.handshake(2);
    assert!(seen.ech && seen.server_name == "localhost", "{seen:?}");
}

#[test]
fn ech_accepted_through_a_hello_retry_request_from_go() {
    // Go prefers P-384, for which our first flight has no share: a HelloRetryRequest, which
    // confirms ECH in its extension; the second ClientHelloOuter reuses the HPKE context.
    let pki = ech_pki();
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &["-groups", "secp384r1"]) else {
        return;
    };
    let list = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    let negotiated = connect_echo(&ech_config(&pki, &list), &peer);
    assert!(negotiated.hello_retry_request());
    assert_eq!(negotiated.group(), Some(NamedGroup::secp384r1));
    assert_eq!(negotiated.ech(), overture::EchStatus::Accepted);
    let seen = peer.handshake(0);
    assert!(seen.ech, "{seen:?}");
    assert_eq!(seen.server_name, "localhost");
}

#[test]
fn ech_rejected_after_a_key_rotation_then_the_retry_configs_work() {
    let pki = ech_pki();
    // The config a client cached from the server's first key...
    let Some(old) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    let cached = std::fs::read(old.ech_config_list.as_ref().unwrap()).unwrap();
    drop(old);
    // ... and the server restarted with a new key.
    let peer = go_tls_server(&pki, Some("public.example"), &[]).unwrap();
    let current = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    assert_ne!(cached, current);
    let err = ech_connect(&ech_config(&pki, &cached), &peer).unwrap_err();
    assert!(err.ech_rejected(), "{err}");
    assert_eq!(err.ech_status(), overture::EchStatus::Rejected);
    assert_eq!(err.kind(), overture::ErrorKind::Ssl);
    assert_eq!(
        err.alert_sent(),
        Some(overture::types::AlertDescription::EchRequired)
    );
    let retry = err.ech_retry_configs().expect("Go sends retry configs");
    assert_eq!(retry, current.as_slice(), "the server's current list");
    // We sent our Finished before ech_required (RFC 9849 §6.1.6), so Go completed the outer
    // handshake: it saw only the public name.
    let seen = peer.handshake(0);
    assert!(!seen.ech, "{seen:?}");
    assert_eq!(seen.server_name, "public.example");
    // The retry with them is accepted.
    let negotiated = connect_echo(&ech_config(&pki, retry), &peer);
    assert_eq!(negotiated.ech(), overture::EchStatus::Accepted);
    let seen = peer.handshake(1);
    assert!(seen.ech, "{seen:?}");
    assert_eq!(seen.server_name, "localhost");
    // The stale list the server writes (a key it never held) is rejected the same way.
    let stale = std::fs::read(peer.stale_ech_config_list.as_ref().unwrap()).unwrap();
    let err = ech_connect(&ech_config(&pki, &stale), &peer).unwrap_err();
    assert_eq!(err.ech_retry_configs(), Some(current.as_slice()));
}

#[test]
fn ech_rejected_by_a_server_without_a_certificate_for_the_public_name_fails_on_it() {
    // RFC 9849 §6.1.7: the outer handshake is authenticated for the public name; a
    // certificate for the real name only does not do.
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    let stale = std::fs::read(peer.stale_ech_config_list.as_ref().unwrap()).unwrap();
    let err = ech_connect(&ech_config(&pki, &stale), &peer).unwrap_err();
    assert!(!err.ech_rejected(), "{err}");
    assert_eq!(err.ech_status(), overture::EchStatus::Rejected);
    assert_eq!(
        err.alert_sent(),
        Some(overture::types::AlertDescription::BadCertificate),
        "{err}"
    );
}

#[test]
fn grease_ech_against_openssl_s_server() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_ech_grease(true)
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    ssl.set_socket(SocketBio::connect(peer.addr).unwrap())
        .unwrap();
    let negotiated = ssl.connect().unwrap();
    assert_eq!(negotiated.ech(), overture::EchStatus::Grease);
    assert_eq!(negotiated.version(), ProtocolVersion::TLSv1_3);
}

/// RFC 9849 §6.1.7: a rejected ECH's outer handshake answers a CertificateRequest with an
/// empty Certificate (the client certificate is for the real server, not the public name);
/// an accepted one sends the certificate.
#[test]
fn ech_rejection_sends_no_client_certificate() {
    let pki = ech_pki();
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &["-request-client-cert"]) else {
        return;
    };
    let with_cert = |list: &[u8]| {
        ClientConfig::builder()
            .with_ca_file(&pki.ca_pem)
            .unwrap()
            .with_client_cert_files(&pki.chain_pem, &pki.key_pem)
            .unwrap()
            .with_ech_config_list(list)
            .unwrap()
            .build()
            .unwrap()
    };
    let stale = std::fs::read(peer.stale_ech_config_list.as_ref().unwrap()).unwrap();
    let err = ech_connect(&with_cert(&stale), &peer).unwrap_err();
    assert!(err.ech_rejected(), "{err}");
    let seen = peer.handshake(0);
    assert_eq!(
        (seen.ech, seen.server_name.as_str(), seen.client_certs),
        (false, "public.example", 0),
        "{seen:?}"
    );
    let list = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    let negotiated = connect_echo(&with_cert(&list), &peer);
    assert_eq!(negotiated.ech(), overture::EchStatus::Accepted);
    let seen = peer.handshake(1);
    assert_eq!((seen.ech, seen.client_certs), (true, 2), "{seen:?}");
}

/// With only TLS_AES_256_GCM_SHA384 and P-384: HPKE's X25519 and HKDF-SHA256 come from the
/// whole provider (the TLS choices leave neither), and the acceptance confirmation runs over
/// SHA-384, the negotiated suite's hash (RFC 9849 §7.2).
#[test]
fn ech_accepted_with_aes_256_sha384_and_p384() {
    let pki = ech_pki();
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    let list = std::fs::read(peer.ech_config_list.as_ref().unwrap()).unwrap();
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_cipher_suites(&[overture::types::CipherSuite::TLS13_AES_256_GCM_SHA384])
        .unwrap()
        .with_groups(&[NamedGroup::secp384r1])
        .unwrap()
        .with_ech_config_list(&list)
        .unwrap()
        .build()
        .unwrap();
    let negotiated = connect_echo(&config, &peer);
    assert_eq!(negotiated.ech(), overture::EchStatus::Accepted);
    assert_eq!(
        negotiated.cipher_suite(),
        overture::types::CipherSuite::TLS13_AES_256_GCM_SHA384
    );
    assert_eq!(negotiated.group(), Some(NamedGroup::secp384r1));
    let seen = peer.handshake(0);
    assert!(seen.ech && seen.server_name == "localhost", "{seen:?}");
}

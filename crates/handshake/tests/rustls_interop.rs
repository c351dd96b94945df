//! The state machine against a real rustls 0.23 server (ring), in memory, with the minimal
//! record framing of `common::framing` (TLS 1.3, and TLS 1.2 with its GCM explicit nonce and
//! ChaCha20-Poly1305 nonces): every suite × group × certificate type of both versions, then
//! both sides exchange application data and compare exporter output (TLS 1.3 also goes
//! through a KeyUpdate); resumption with TLS 1.3 tickets, TLS 1.2 session ids and TLS 1.2
//! tickets, checked on both sides; RFC 8879 compressed chains from rustls's brotli and zlib
//! compressors; 0-RTT accepted, refused, and lost to a HelloRetryRequest.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use common::PinnedVerifier;
use common::framing::{Dir, Framing, Opened};
use overture_crypto_provider::{CryptoProvider, ring};
use overture_handshake::{
    ClientCertResolver, ClientHandshake, Event, HandshakeConfig, StartOptions, TestHooks,
    Tls12Session, Tls13Ticket,
};
use overture_types::{
    CertificateDer, CipherSuite, ContentType, NamedGroup, PrivateKeyDer, ProtocolVersion,
    ServerName, SignatureScheme, UnixTime,
};
use rustls::HandshakeKind;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use std::io::{Read, Write};
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
enum KeyKind {
    P256,
    P384,
    Rsa2048,
    Ed25519,
}

fn key_pair(kind: KeyKind) -> rcgen::KeyPair {
    match kind {
        KeyKind::P256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
        KeyKind::P384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
        KeyKind::Ed25519 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        KeyKind::Rsa2048 => {
            // ring (and so rcgen's ring backend) cannot generate RSA keys: a fixed test key.
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/data/rsa2048-a.pk8.pem"
            );
            let pem = std::fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("RSA test key missing at {path}: {e}"));
            rcgen::KeyPair::from_pem(&pem).unwrap()
        }
    }
}

/// A self-signed certificate for `name` and its PKCS#8 key.
fn cert(kind: KeyKind, name: &str) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = key_pair(kind);
    let params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    (cert.der().clone(), der)
}

/// What the events said.
#[derive(Default)]
struct Seen {
    version: Option<ProtocolVersion>,
    resumed: bool,
    expect_ccs: bool,
    warnings: Vec<overture_types::AlertDescription>,
    tls13_ticket: Option<Tls13Ticket>,
    tls12_session: Option<Tls12Session>,
    kx_group: Option<NamedGroup>,
    complete: bool,
    suite: Option<CipherSuite>,
    group: Option<NamedGroup>,
    tickets: usize,
    alpn: Option<Vec<u8>>,
    ccs: usize,
    read_keys: usize,
    /// `TicketReceived` events: version, length, kept.
    received: Vec<(ProtocolVersion, usize, bool)>,
    hrr: usize,
    /// The type of every handshake message the server sent.
    msg_types: Vec<u8>,
    /// `InstallEarlyWriteKey`'s max_early_data, when it came.
    early_key: Option<u32>,
    /// `EarlyData { accepted }`, each time it came.
    early_outcome: Vec<bool>,
    /// Level of each handshake flight we sent.
    levels: Vec<overture_handshake::Level>,
}

fn apply(events: &mut Vec<Event>, f: &mut Framing, out: &mut Vec<u8>, seen: &mut Seen) {
    for ev in events.drain(..) {
        match ev {
            Event::Send { bytes, level } => {
                seen.levels.push(level);
                f.seal(ContentType::Handshake, &bytes, out)
            }
            Event::InstallEarlyWriteKey {
                key,
                max_early_data,
            } => {
                seen.early_key = Some(max_early_data);
                f.write = Some(Dir::new(&key));
            }
            Event::EarlyData { accepted } => {
                seen.early_outcome.push(accepted);
                if !accepted {
                    // Back to plaintext (a HelloRetryRequest's second ClientHello).
                    f.write = None;
                }
            }
            Event::SendCcs => {
                seen.ccs += 1;
                f.seal(ContentType::ChangeCipherSpec, &[1], out);
            }
            Event::ExpectCcs => seen.expect_ccs = true,
            Event::Resumed => seen.resumed = true,
            Event::KeyExchangeGroup(g) => seen.kx_group = Some(g),
            Event::Tls12Session(s) => seen.tls12_session = Some(*s),
            Event::SendWarningAlert(d) => {
                seen.warnings.push(d);
                f.seal(ContentType::Alert, &[1, d.get()], out);
            }
            Event::InstallReadKey(k) => {
                seen.read_keys += 1;
                f.read = Some(Dir::new(&k));
            }
            Event::InstallWriteKey(k) => f.write = Some(Dir::new(&k)),
            Event::ServerHello {
                suite,
                group,
                version,
            } => {
                seen.version = Some(version);
                seen.suite = Some(suite);
                seen.group = group;
            }
            Event::Alpn(p) => seen.alpn = p,
            Event::Complete => seen.complete = true,
            Event::NewSessionTicket(t) => {
                seen.tickets += 1;
                seen.tls13_ticket = Some(*t);
            }
            Event::TicketReceived { version, len, kept } => {
                seen.received.push((version, len, kept))
            }
            Event::HelloRetryRequest { .. } => seen.hrr += 1,
            _ => {}
        }
    }
}

struct Pair {
    hs: ClientHandshake,
    server: rustls::ServerConnection,
    framing: Framing,
    seen: Seen,
    to_server: Vec<u8>,
    to_client: Vec<u8>,
}

impl Pair {
    /// Moves bytes both ways and lets each side process them, until nothing moves.
    fn pump(&mut self) {
        let now = UnixTime::now();
        for _ in 0..50 {
            let mut moved = false;
            if !self.to_server.is_empty() {
                let mut rd = &self.to_server[..];
                while !rd.is_empty() {
                    self.server.read_tls(&mut rd).unwrap();
                    self.server
                        .process_new_packets()
                        .unwrap_or_else(|e| panic!("rustls rejected us: {e}"));
                }
                self.to_server.clear();
                moved = true;
            }
            while self.server.wants_write() {
                self.server.write_tls(&mut self.to_client).unwrap();
                moved = true;
            }
            // One record at a time: a message may install the key for the next record.
            loop {
                match self.framing.open(&mut self.to_client) {
                    Opened::Nothing => break,
                    Opened::Record => {}
                    // TLS 1.3: the compatibility CCS is dropped. TLS 1.2: it switches the
                    // read key, exactly when it arrives.
                    Opened::Ccs if self.seen.version == Some(ProtocolVersion::TLSv1_2) => {
                        assert!(self.seen.expect_ccs, "CCS before ExpectCcs");
                        self.seen.expect_ccs = false;
                        let mut events = Vec::new();
                        self.hs
                            .handle_ccs(&mut events)
                            .unwrap_or_else(|e| panic!("we rejected rustls's CCS: {e}"));
                        apply(
                            &mut events,
                            &mut self.framing,
                            &mut self.to_server,
                            &mut self.seen,
                        );
                    }
                    Opened::Ccs => {}
                }
                while let Some(m) = self.framing.next_message() {
                    self.seen.msg_types.push(m[0]);
                    let mut events = Vec::new();
                    self.hs
                        .handle(&m, now, &mut events)
                        .unwrap_or_else(|e| panic!("we rejected rustls: {e}"));
                    apply(
                        &mut events,
                        &mut self.framing,
                        &mut self.to_server,
                        &mut self.seen,
                    );
                }
                moved = true;
            }
            if !moved {
                return;
            }
        }
        panic!("no progress after 50 rounds");
    }

    fn client_send(&mut self, data: &[u8]) {
        self.framing
            .seal(ContentType::ApplicationData, data, &mut self.to_server);
        self.pump();
    }

    fn server_read(&mut self) -> Vec<u8> {
        let mut buf = vec![0u8; 4096];
        let n = self.server.reader().read(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }
}

fn server_config(
    suite: CipherSuite,
    group: NamedGroup,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_auth: bool,
) -> Arc<rustls::ServerConfig> {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites
        .retain(|s| u16::from(s.suite()) == suite.get());
    p.kx_groups.retain(|g| u16::from(g.name()) == group.get());
    assert_eq!(p.cipher_suites.len(), 1);
    assert_eq!(p.kx_groups.len(), 1);
    let p = Arc::new(p);
    let version = if suite.is_tls13() {
        &rustls::version::TLS13
    } else {
        &rustls::version::TLS12
    };
    let b = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[version])
        .unwrap();
    let b = if client_auth {
        b.with_client_cert_verifier(Arc::new(AnyClientCert(p)))
    } else {
        b.with_no_client_auth()
    };
    let mut config = b.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

fn client_config(
    cert: &CertificateDer<'static>,
    client_auth: Option<Arc<dyn ClientCertResolver>>,
) -> Arc<HandshakeConfig> {
    client_config_versions(cert, client_auth, vec![ProtocolVersion::TLSv1_3])
}

fn client_config_versions(
    cert: &CertificateDer<'static>,
    client_auth: Option<Arc<dyn ClientCertResolver>>,
    versions: Vec<ProtocolVersion>,
) -> Arc<HandshakeConfig> {
    let provider = Arc::new(ring::default_provider());
    Arc::new(HandshakeConfig {
        provider: provider.clone(),
        versions,
        alpn_protocols: vec![b"http/1.1".to_vec()],
        enable_sni: true,
        middlebox_compat: true,
        verifier: Arc::new(PinnedVerifier {
            cert: cert.to_vec(),
            name: "localhost".into(),
            schemes: provider.supported_schemes(),
            provider,
        }),
        client_auth,
        verify_schemes: None,
        signing_schemes: None,
        key_log: None,
        extensions: overture_handshake::ExtensionOptions::default(),
    })
}

fn connect(config: Arc<HandshakeConfig>, server_config: Arc<rustls::ServerConfig>) -> Pair {
    let mut pair = start_pair(config, server_config);
    pair.pump();
    pair
}

/// The client has sent its ClientHello; nothing has moved yet.
fn start_pair(config: Arc<HandshakeConfig>, server_config: Arc<rustls::ServerConfig>) -> Pair {
    start_pair_with(
        config,
        server_config,
        StartOptions::default(),
        TestHooks::default(),
    )
}

fn start_pair_with(
    config: Arc<HandshakeConfig>,
    server_config: Arc<rustls::ServerConfig>,
    options: StartOptions,
    hooks: TestHooks,
) -> Pair {
    let mut events = Vec::new();
    let hs = ClientHandshake::start(
        config,
        ServerName::try_from("localhost").unwrap(),
        UnixTime::now(),
        StartOptions { hooks, ..options },
        &mut events,
    )
    .unwrap();
    let mut pair = Pair {
        hs,
        server: rustls::ServerConnection::new(server_config).unwrap(),
        framing: Framing::default(),
        seen: Seen::default(),
        to_server: Vec::new(),
        to_client: Vec::new(),
    };
    apply(
        &mut events,
        &mut pair.framing,
        &mut pair.to_server,
        &mut pair.seen,
    );
    pair
}

/// Both sides agree: data each way, the exporter, a KeyUpdate (requested by us, answered by
/// rustls), then data again.
fn check_agreement(p: &mut Pair) {
    assert!(p.seen.complete, "handshake did not complete");
    assert!(!p.server.is_handshaking());
    assert!(p.hs.is_complete());
    p.client_send(b"hello from overture");
    assert_eq!(p.server_read(), b"hello from overture");
    p.server.writer().write_all(b"hello from rustls").unwrap();
    p.pump();
    assert_eq!(
        std::mem::take(&mut p.framing.app_data),
        b"hello from rustls"
    );

    let mut ours = [0u8; 32];
    let mut theirs = [0u8; 32];
    p.hs.export_keying_material(&mut ours, b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    p.server
        .export_keying_material(&mut theirs, b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    assert_eq!(ours, theirs, "exporters differ");

    let mut events = Vec::new();
    p.hs.update_write_key(true, &mut events).unwrap();
    apply(&mut events, &mut p.framing, &mut p.to_server, &mut p.seen);
    p.pump();
    let read_keys_before = p.seen.read_keys;
    p.client_send(b"after key update");
    assert_eq!(p.server_read(), b"after key update");
    p.server
        .writer()
        .write_all(b"answer after key update")
        .unwrap();
    p.pump();
    assert_eq!(
        std::mem::take(&mut p.framing.app_data),
        b"answer after key update"
    );
    // rustls answered our update_requested with its own KeyUpdate (sent with its next
    // write): exactly one fresh read key, and the data under it opened.
    assert_eq!(p.seen.read_keys, read_keys_before + 1);
}

#[test]
fn every_suite_group_and_certificate_type() {
    let suites = [
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    let groups = [
        NamedGroup::X25519,
        NamedGroup::secp256r1,
        NamedGroup::secp384r1,
    ];
    let kinds = [
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::Rsa2048,
        KeyKind::Ed25519,
    ];
    let mut n = 0;
    for kind in kinds {
        let (cert, key) = cert(kind, "localhost");
        for suite in suites {
            for group in groups {
                let sc = server_config(suite, group, vec![cert.clone()], key.clone_key(), false);
                let mut p = connect(client_config(&cert, None), sc);
                assert_eq!(p.seen.suite, Some(suite), "{kind:?} {suite:?} {group:?}");
                assert_eq!(p.seen.group, Some(group), "{kind:?} {suite:?} {group:?}");
                assert_eq!(p.seen.alpn.as_deref(), Some(&b"http/1.1"[..]));
                // Compat mode: exactly one CCS (before ClientHello2 after an HRR for the
                // groups we sent no share for, else before the second flight).
                assert_eq!(p.seen.ccs, 1);
                check_agreement(&mut p);
                assert!(p.seen.tickets >= 1, "no NewSessionTicket from rustls");
                n += 1;
            }
        }
    }
    assert_eq!(n, 36);
}

/// Accepts any client certificate; checks the handshake signature for real.
#[derive(Debug)]
struct AnyClientCert(Arc<rustls::crypto::CryptoProvider>);

impl ClientCertVerifier for AnyClientCert {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[derive(Debug)]
struct OneCert {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn overture_crypto_provider::SigningKey>,
}

impl ClientCertResolver for OneCert {
    fn resolve(
        &self,
        offered: &[SignatureScheme],
    ) -> Option<(
        Vec<CertificateDer<'static>>,
        Box<dyn overture_crypto_provider::Signer>,
    )> {
        Some((self.chain.clone(), self.key.choose_scheme(offered)?))
    }
}

/// Each client key type against a rustls server that requires a client certificate.
fn client_certificates(suite: CipherSuite, server_kind: KeyKind) {
    let (server_cert, server_key) = cert(server_kind, "localhost");
    let versions = if suite.is_tls13() {
        vec![ProtocolVersion::TLSv1_3]
    } else {
        vec![ProtocolVersion::TLSv1_2]
    };
    for kind in [
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::Rsa2048,
        KeyKind::Ed25519,
    ] {
        let (client_cert, client_key) = cert(kind, "client");
        let provider: Arc<CryptoProvider> = Arc::new(ring::default_provider());
        let key = provider.key_provider.load_private_key(client_key).unwrap();
        let resolver = Arc::new(OneCert {
            chain: vec![client_cert.clone()],
            key,
        });
        let sc = server_config(
            suite,
            NamedGroup::X25519,
            vec![server_cert.clone()],
            server_key.clone_key(),
            true,
        );
        let config = client_config_versions(&server_cert, Some(resolver), versions.clone());
        let mut p = connect(config, sc);
        let peer = p
            .server
            .peer_certificates()
            .expect("rustls saw no client certificate");
        assert_eq!(peer[0], client_cert, "{kind:?}");
        if suite.is_tls13() {
            check_agreement(&mut p);
        } else {
            check_agreement12(&mut p);
        }
    }
}

#[test]
fn client_certificates_with_rustls() {
    client_certificates(CipherSuite::TLS13_AES_128_GCM_SHA256, KeyKind::P256);
}

#[test]
fn no_client_certificate_is_refused_by_a_server_that_requires_one() {
    let (server_cert, server_key) = cert(KeyKind::P256, "localhost");
    let sc = server_config(
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        NamedGroup::X25519,
        vec![server_cert.clone()],
        server_key,
        true,
    );
    // No resolver: we send an empty Certificate; rustls (mandatory auth) must refuse it.
    let mut p = start_pair(client_config(&server_cert, None), sc);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.pump()));
    let msg = r.expect_err("rustls accepted an empty client Certificate");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("rustls rejected us"), "{msg}");
    assert!(
        msg.contains("NoCertificatesPresented") || msg.contains("certificate"),
        "{msg}"
    );
}

/// TLS 1.2: data both ways and the exporter (with and without a context, which differ in
/// TLS 1.2); no KeyUpdate in TLS 1.2.
fn check_agreement12(p: &mut Pair) {
    assert!(p.seen.complete, "handshake did not complete");
    assert!(!p.server.is_handshaking());
    assert!(p.hs.is_complete() && p.hs.is_tls12());
    assert_eq!(p.seen.version, Some(ProtocolVersion::TLSv1_2));
    assert_eq!(p.seen.ccs, 1, "one ChangeCipherSpec from us");
    for i in 0..3 {
        let msg = format!("hello {i} from overture");
        p.client_send(msg.as_bytes());
        assert_eq!(p.server_read(), msg.as_bytes());
        let answer = format!("answer {i} from rustls");
        p.server.writer().write_all(answer.as_bytes()).unwrap();
        p.pump();
        assert_eq!(std::mem::take(&mut p.framing.app_data), answer.as_bytes());
    }
    for ctx in [None, Some(&b"ctx"[..])] {
        let mut ours = [0u8; 32];
        let mut theirs = [0u8; 32];
        p.hs.export_keying_material(&mut ours, b"EXPORTER-test", ctx)
            .unwrap();
        p.server
            .export_keying_material(&mut theirs, b"EXPORTER-test", ctx)
            .unwrap();
        assert_eq!(ours, theirs, "exporters differ ({ctx:?})");
    }
    let mut ev = Vec::new();
    assert!(p.hs.update_write_key(false, &mut ev).is_err());
}

#[test]
fn tls12_every_suite_group_and_certificate_type() {
    let ecdsa_suites = [
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let rsa_suites = [
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    let groups = [
        NamedGroup::X25519,
        NamedGroup::secp256r1,
        NamedGroup::secp384r1,
    ];
    let mut n = 0;
    for (kind, suites) in [
        (KeyKind::P256, ecdsa_suites),
        (KeyKind::P384, ecdsa_suites),
        (KeyKind::Rsa2048, rsa_suites),
    ] {
        let (cert, key) = cert(kind, "localhost");
        for suite in suites {
            for group in groups {
                // Both offering 1.3 too (the server only speaks 1.2) and 1.2 alone.
                let versions = if n % 2 == 0 {
                    vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]
                } else {
                    vec![ProtocolVersion::TLSv1_2]
                };
                let sc = server_config(suite, group, vec![cert.clone()], key.clone_key(), false);
                let mut p = connect(client_config_versions(&cert, None, versions), sc);
                let what = format!("{kind:?} {suite:?} {group:?}");
                assert_eq!(p.seen.suite, Some(suite), "{what}");
                assert_eq!(p.seen.group, None, "{what}");
                assert_eq!(p.seen.kx_group, Some(group), "{what}");
                assert_eq!(p.seen.alpn.as_deref(), Some(&b"http/1.1"[..]), "{what}");
                assert!(!p.seen.resumed);
                check_agreement12(&mut p);
                n += 1;
            }
        }
    }
    assert_eq!(n, 27);
}

/// A man in the middle strips supported_versions from a ClientHello that offered TLS 1.3:
/// rustls (1.3 and 1.2 enabled) answers with TLS 1.2 and the RFC 8446 sentinel, and we refuse.
#[test]
fn downgrade_sentinel_from_a_real_server() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let sc = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap(),
    );
    let strip: overture_handshake::ClientHelloHook = Arc::new(|exts| {
        exts.retain(|e| e.typ() != overture_types::ExtensionType::SupportedVersions)
    });
    let hooks = TestHooks {
        client_hello: Some(strip),
        observe: None,
    };
    let config = client_config_versions(
        &cert,
        None,
        vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
    );
    let mut p = start_pair_with(config, sc, StartOptions::default(), hooks);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.pump()));
    let msg = r.expect_err("the downgrade went unnoticed");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("downgrade sentinel"), "{msg}");
}

fn tls13_server(
    ticketer: bool,
    group: NamedGroup,
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let mut sc = server_config(
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        group,
        vec![cert.clone()],
        key.clone_key(),
        false,
    );
    if ticketer {
        Arc::get_mut(&mut sc).unwrap().ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    }
    sc
}

/// Resumes with `ticket` against `sc`.
fn resume(
    config: &Arc<HandshakeConfig>,
    sc: &Arc<rustls::ServerConfig>,
    options: StartOptions,
) -> Pair {
    let mut p = start_pair_with(config.clone(), sc.clone(), options, TestHooks::default());
    p.pump();
    p
}

#[test]
fn tls13_ticket_resumption() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let config = client_config(&cert, None);
    // Stateful tickets (rustls's session cache) and stateless ones (a ticketer); with
    // secp384r1 every handshake goes through a HelloRetryRequest, so the second
    // ClientHello's binder covers the rolled-up transcript.
    for (ticketer, group) in [
        (false, NamedGroup::X25519),
        (true, NamedGroup::X25519),
        (true, NamedGroup::secp384r1),
    ] {
        let sc = tls13_server(ticketer, group, &cert, &key);
        let mut first = connect(config.clone(), sc.clone());
        check_agreement(&mut first);
        assert!(!first.seen.resumed);
        let full = if group == NamedGroup::X25519 {
            HandshakeKind::Full
        } else {
            HandshakeKind::FullWithHelloRetryRequest
        };
        assert_eq!(first.server.handshake_kind(), Some(full));
        let ticket = first.seen.tls13_ticket.take().expect("no ticket");
        // Through its byte form, as a session store outside the process would keep it.
        let ticket = Tls13Ticket::from_bytes(&ticket.to_bytes().unwrap()).unwrap();

        let options = StartOptions {
            tls13_ticket: Some(ticket),
            ..StartOptions::default()
        };
        let mut second = resume(&config, &sc, options);
        assert!(second.seen.resumed, "ticketer {ticketer}: not resumed");
        assert_eq!(second.server.handshake_kind(), Some(HandshakeKind::Resumed));
        assert_eq!(second.seen.group, Some(group), "psk_dhe_ke");
        check_agreement(&mut second);

        // A server that does not know the ticket: a full handshake instead.
        let other = tls13_server(ticketer, group, &cert, &key);
        let unknown = second.seen.tls13_ticket.take().expect("no second ticket");
        let options = StartOptions {
            tls13_ticket: Some(unknown),
            ..StartOptions::default()
        };
        let mut third = resume(&config, &other, options);
        assert!(!third.seen.resumed);
        assert_eq!(third.server.handshake_kind(), Some(full));
        check_agreement(&mut third);
    }
}

/// An expired ticket, or one for another server name, is not offered at all.
#[test]
fn tls13_unusable_tickets_are_not_offered() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let config = client_config(&cert, None);
    let sc = tls13_server(false, NamedGroup::X25519, &cert, &key);
    let mut first = connect(config.clone(), sc.clone());
    check_agreement(&mut first);
    let mut ticket = first.seen.tls13_ticket.take().expect("no ticket");
    ticket.received_at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        UnixTime::now().as_secs() - u64::from(ticket.lifetime) - 1,
    ));
    let mut p = resume(
        &config,
        &sc,
        StartOptions {
            tls13_ticket: Some(ticket),
            ..StartOptions::default()
        },
    );
    assert!(!p.seen.resumed);
    assert_eq!(p.server.handshake_kind(), Some(HandshakeKind::Full));
    check_agreement(&mut p);
}

fn tls12_server(
    ticketer: bool,
    cert: &CertificateDer<'static>,
    key: &PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let mut sc = server_config(
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        NamedGroup::secp256r1,
        vec![cert.clone()],
        key.clone_key(),
        false,
    );
    if ticketer {
        Arc::get_mut(&mut sc).unwrap().ticketer = rustls::crypto::ring::Ticketer::new().unwrap();
    }
    sc
}

#[test]
fn tls12_session_id_and_ticket_resumption() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let config = client_config_versions(
        &cert,
        None,
        vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
    );
    for ticketer in [false, true] {
        let sc = tls12_server(ticketer, &cert, &key);
        let mut first = connect(config.clone(), sc.clone());
        check_agreement12(&mut first);
        assert_eq!(first.server.handshake_kind(), Some(HandshakeKind::Full));
        let session = first.seen.tls12_session.take().expect("no TLS 1.2 session");
        let session = Tls12Session::from_bytes(&session.to_bytes().unwrap()).unwrap();
        assert!(session.extended_master_secret);
        assert_eq!(session.ticket.is_some(), ticketer, "{session:?}");
        if !ticketer {
            assert!(!session.session_id.is_empty());
        }
        // Twice in a row: each abbreviated handshake hands back a session to resume again.
        let mut session = Some(session);
        for round in 0..2 {
            let options = StartOptions {
                tls12_session: session.take(),
                ..StartOptions::default()
            };
            let mut again = resume(&config, &sc, options);
            let what = format!("ticketer {ticketer} round {round}");
            assert!(again.seen.resumed, "{what}: not resumed");
            assert_eq!(
                again.server.handshake_kind(),
                Some(HandshakeKind::Resumed),
                "{what}"
            );
            assert_eq!(
                again.seen.kx_group, None,
                "{what}: no key exchange when resumed"
            );
            check_agreement12(&mut again);
            session = again.seen.tls12_session.take();
            assert!(session.is_some(), "{what}: no session after resumption");
        }

        // A server that does not know the session: a full handshake instead.
        let other = tls12_server(ticketer, &cert, &key);
        let options = StartOptions {
            tls12_session: session,
            ..StartOptions::default()
        };
        let mut p = resume(&config, &other, options);
        assert!(!p.seen.resumed);
        assert_eq!(p.server.handshake_kind(), Some(HandshakeKind::Full));
        check_agreement12(&mut p);
    }
}

#[test]
fn tls12_client_certificates_with_rustls() {
    client_certificates(
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        KeyKind::Rsa2048,
    );
    let (server_cert, server_key) = cert(KeyKind::Rsa2048, "localhost");
    // No resolver: an empty Certificate, which rustls (mandatory auth) refuses.
    let sc = server_config(
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        NamedGroup::X25519,
        vec![server_cert.clone()],
        server_key,
        true,
    );
    let config = client_config_versions(&server_cert, None, vec![ProtocolVersion::TLSv1_2]);
    let mut p = start_pair(config, sc);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.pump()));
    let msg = r.expect_err("rustls accepted an empty client Certificate");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("rustls rejected us"), "{msg}");
}

/// RSA PKCS#1 v1.5 (allowed in TLS 1.2, not in TLS 1.3) and RSA-PSS ServerKeyExchange
/// signatures: we offer one scheme at a time, so rustls must sign with it.
#[test]
fn tls12_rsa_signature_schemes() {
    let (cert, key) = cert(KeyKind::Rsa2048, "localhost");
    for scheme in [
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureScheme::RSA_PKCS1_SHA384,
        SignatureScheme::RSA_PKCS1_SHA512,
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PSS_SHA512,
    ] {
        let provider = Arc::new(ring::default_provider());
        let config = Arc::new(HandshakeConfig {
            provider: provider.clone(),
            versions: vec![ProtocolVersion::TLSv1_2],
            alpn_protocols: vec![],
            enable_sni: true,
            middlebox_compat: false,
            verifier: Arc::new(PinnedVerifier {
                cert: cert.to_vec(),
                name: "localhost".into(),
                schemes: vec![scheme],
                provider,
            }),
            client_auth: None,
            verify_schemes: None,
            signing_schemes: None,
            key_log: None,
            extensions: overture_handshake::ExtensionOptions::default(),
        });
        let sc = server_config(
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            NamedGroup::secp384r1,
            vec![cert.clone()],
            key.clone_key(),
            false,
        );
        let mut p = connect(config, sc);
        check_agreement12(&mut p);
    }
}

/// A server whose tickets are 65,000 bytes: the plaintext, zero padding, and its length (not
/// encrypted: a test server). rustls sends them as they are (the wire allows 65,535).
#[derive(Debug)]
struct HugeTickets;

const HUGE_TICKET: usize = 65_000;

impl rustls::server::ProducesTickets for HugeTickets {
    fn enabled(&self) -> bool {
        true
    }
    fn lifetime(&self) -> u32 {
        3600
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut t = plain.to_vec();
        t.resize(HUGE_TICKET - 4, 0);
        t.extend_from_slice(&u32::try_from(plain.len()).ok()?.to_be_bytes());
        Some(t)
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let (body, len) = cipher.split_at(cipher.len().checked_sub(4)?);
        let len = usize::try_from(u32::from_be_bytes(len.try_into().ok()?)).ok()?;
        body.get(..len).map(<[u8]>::to_vec)
    }
}

/// A 65,000-byte ticket (TLS 1.3 and TLS 1.2) could never be sent back inside a ClientHello's
/// 16-bit extension block: it is announced as not kept, no session carries it, and the next
/// connection to that server (which then has nothing to offer) completes. A ticket that long
/// built by hand is not offered either.
#[test]
fn tickets_too_long_to_send_back_are_not_stored() {
    use overture_handshake::MAX_TICKET_LEN;
    let (cert, key) = cert(KeyKind::P256, "localhost");
    // TLS 1.3.
    let config = client_config(&cert, None);
    let mut sc = tls13_server(false, NamedGroup::X25519, &cert, &key);
    Arc::get_mut(&mut sc).unwrap().ticketer = Arc::new(HugeTickets);
    Arc::get_mut(&mut sc).unwrap().send_tls13_tickets = 2;
    for round in 0..2 {
        let mut p = connect(config.clone(), sc.clone());
        check_agreement(&mut p);
        assert_eq!(
            p.server.handshake_kind(),
            Some(HandshakeKind::Full),
            "{round}"
        );
        assert_eq!(
            p.seen.received,
            vec![(ProtocolVersion::TLSv1_3, HUGE_TICKET, false); 2],
            "round {round}"
        );
        assert_eq!(p.seen.tickets, 0, "a ticket too long was stored");
    }
    let by_hand = Tls13Ticket {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        ticket: vec![1; MAX_TICKET_LEN + 1],
        psk: overture_crypto_provider::Secret::new(&[7; 32]).unwrap(),
        lifetime: 3600,
        age_add: 0,
        max_early_data: None,
        received_at: UnixTime::now(),
        server_name: ServerName::try_from("localhost").unwrap(),
        alpn: None,
    };
    assert!(Tls13Ticket::from_bytes(&by_hand.to_bytes().unwrap()).is_err());
    let options = StartOptions {
        tls13_ticket: Some(by_hand),
        ..StartOptions::default()
    };
    let mut p = resume(&config, &sc, options);
    assert!(!p.seen.resumed);
    check_agreement(&mut p);

    // TLS 1.2: the session stays resumable by its id, without the ticket.
    let config = client_config_versions(
        &cert,
        None,
        vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
    );
    let mut sc = tls12_server(false, &cert, &key);
    Arc::get_mut(&mut sc).unwrap().ticketer = Arc::new(HugeTickets);
    let mut p = connect(config.clone(), sc.clone());
    check_agreement12(&mut p);
    assert_eq!(
        p.seen.received,
        vec![(ProtocolVersion::TLSv1_2, HUGE_TICKET, false)]
    );
    let session = p.seen.tls12_session.take();
    assert!(
        session.as_ref().is_none_or(|s| s.ticket.is_none()),
        "{session:?}"
    );
    let mut next = resume(
        &config,
        &sc,
        StartOptions {
            tls12_session: session,
            ..StartOptions::default()
        },
    );
    check_agreement12(&mut next);
    let mut by_hand = Tls12Session::from_bytes(
        &Tls12Session {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            master_secret: overture_crypto_provider::Secret::new(&[3; 48]).unwrap(),
            session_id: vec![],
            ticket: Some(vec![1; 10]),
            ticket_lifetime_hint: 0,
            extended_master_secret: true,
            server_name: ServerName::try_from("localhost").unwrap(),
            created_at: UnixTime::now(),
            alpn: None,
        }
        .to_bytes()
        .unwrap(),
    )
    .unwrap();
    by_hand.ticket = Some(vec![1; HUGE_TICKET]);
    assert!(Tls12Session::from_bytes(&by_hand.to_bytes().unwrap()).is_err());
    let mut p = resume(
        &config,
        &sc,
        StartOptions {
            tls12_session: Some(by_hand),
            ..StartOptions::default()
        },
    );
    assert!(!p.seen.resumed);
    check_agreement12(&mut p);
}

/// RFC 8879 against rustls's own compressors (brotli, then zlib): the server sends a
/// CompressedCertificate (type 25, never a Certificate), we decompress it, and the
/// transcript agrees (the server's Finished and both directions' data check it).
#[test]
fn compressed_certificates_from_rustls() {
    let (cert, key) = cert(KeyKind::Rsa2048, "localhost");
    for compressor in [
        rustls::compress::BROTLI_COMPRESSOR,
        rustls::compress::ZLIB_COMPRESSOR,
    ] {
        let mut sc = server_config(
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            NamedGroup::X25519,
            vec![cert.clone()],
            key.clone_key(),
            false,
        );
        Arc::get_mut(&mut sc).unwrap().cert_compressors = vec![compressor];
        let mut p = connect(client_config(&cert, None), sc.clone());
        assert!(p.seen.msg_types.contains(&25), "{:?}", p.seen.msg_types);
        assert!(!p.seen.msg_types.contains(&11), "{:?}", p.seen.msg_types);
        check_agreement(&mut p);

        // Not offered: the plain Certificate.
        let plain = Arc::new(HandshakeConfig {
            extensions: overture_handshake::ExtensionOptions {
                cert_compression: vec![],
                ..Default::default()
            },
            ..(*client_config(&cert, None)).clone()
        });
        let mut p = connect(plain, sc);
        assert!(p.seen.msg_types.contains(&11));
        assert!(!p.seen.msg_types.contains(&25));
        check_agreement(&mut p);
    }
}

fn early_data_client(cert: &CertificateDer<'static>) -> Arc<HandshakeConfig> {
    Arc::new(HandshakeConfig {
        extensions: overture_handshake::ExtensionOptions {
            early_data: true,
            ..Default::default()
        },
        ..(*client_config(cert, None)).clone()
    })
}

/// 0-RTT against rustls with `max_early_data_size`: the ticket carries the limit, the second
/// ClientHello offers early_data, data sealed under the early key right after it reaches
/// rustls's early-data reader, EndOfEarlyData goes out under that key before our Finished,
/// and the handshake completes. A server that then refuses early data (same session store,
/// `max_early_data_size` 0) skips the early record: rejected, the handshake still completes.
#[test]
fn early_data_with_rustls() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let config = early_data_client(&cert);
    let mut sc = tls13_server(false, NamedGroup::X25519, &cert, &key);
    Arc::get_mut(&mut sc).unwrap().max_early_data_size = 1024;
    let mut first = connect(config.clone(), sc.clone());
    check_agreement(&mut first);
    assert!(first.seen.early_key.is_none(), "no ticket, no early data");
    let ticket = first.seen.tls13_ticket.take().expect("no ticket");
    assert_eq!(ticket.max_early_data, Some(1024));

    let options = StartOptions {
        tls13_ticket: Some(ticket),
        ..StartOptions::default()
    };
    let mut second = start_pair_with(config.clone(), sc.clone(), options, TestHooks::default());
    assert_eq!(second.seen.early_key, Some(1024));
    assert_eq!(
        second.seen.ccs, 1,
        "the compatibility CCS precedes early data"
    );
    second.framing.seal(
        ContentType::ApplicationData,
        b"GET / 0-RTT",
        &mut second.to_server,
    );
    second.pump();
    assert!(second.seen.resumed);
    assert_eq!(second.seen.early_outcome, [true]);
    assert_eq!(
        second.seen.levels,
        [
            overture_handshake::Level::Initial,
            overture_handshake::Level::Early,
            overture_handshake::Level::Handshake
        ]
    );
    let mut early = Vec::new();
    second
        .server
        .early_data()
        .expect("rustls took no early data")
        .read_to_end(&mut early)
        .unwrap();
    assert_eq!(early, b"GET / 0-RTT");
    assert_eq!(second.seen.ccs, 1);
    check_agreement(&mut second);

    // Rejected: the same sessions, no early data accepted.
    let mut refusing = (*sc).clone();
    refusing.max_early_data_size = 0;
    let refusing = Arc::new(refusing);
    let ticket = second.seen.tls13_ticket.take().expect("no second ticket");
    assert_eq!(ticket.max_early_data, Some(1024));
    let options = StartOptions {
        tls13_ticket: Some(ticket),
        ..StartOptions::default()
    };
    let mut third = start_pair_with(config.clone(), refusing, options, TestHooks::default());
    assert_eq!(third.seen.early_key, Some(1024));
    third.framing.seal(
        ContentType::ApplicationData,
        b"GET / 0-RTT",
        &mut third.to_server,
    );
    third.pump();
    assert!(third.seen.resumed);
    assert_eq!(third.seen.early_outcome, [false]);
    assert!(
        !third
            .seen
            .levels
            .contains(&overture_handshake::Level::Early)
    );
    assert!(third.server.early_data().is_none());
    check_agreement(&mut third);

    // A HelloRetryRequest (the server only has secp384r1): rejected at the retry, and the
    // second ClientHello goes out in plaintext without early_data.
    let mut sc = tls13_server(false, NamedGroup::secp384r1, &cert, &key);
    Arc::get_mut(&mut sc).unwrap().max_early_data_size = 1024;
    let mut first = connect(config.clone(), sc.clone());
    check_agreement(&mut first);
    let options = StartOptions {
        tls13_ticket: first.seen.tls13_ticket.take(),
        ..StartOptions::default()
    };
    let mut retried = start_pair_with(config, sc, options, TestHooks::default());
    assert_eq!(retried.seen.early_key, Some(1024));
    retried.framing.seal(
        ContentType::ApplicationData,
        b"GET / 0-RTT",
        &mut retried.to_server,
    );
    retried.pump();
    assert_eq!(retried.seen.hrr, 1);
    assert!(retried.seen.resumed);
    assert_eq!(retried.seen.early_outcome, [false]);
    assert!(retried.server.early_data().is_none());
    check_agreement(&mut retried);
}

/// Offered without early data in the ticket (or without the opt-in): no early_data.
#[test]
fn early_data_needs_the_ticket_and_the_opt_in() {
    let (cert, key) = cert(KeyKind::P256, "localhost");
    let sc = tls13_server(false, NamedGroup::X25519, &cert, &key);
    let mut first = connect(early_data_client(&cert), sc.clone());
    check_agreement(&mut first);
    let ticket = first.seen.tls13_ticket.take().expect("no ticket");
    assert_eq!(ticket.max_early_data, None, "rustls's default allows none");
    let options = StartOptions {
        tls13_ticket: Some(ticket),
        ..StartOptions::default()
    };
    let mut second = resume(&early_data_client(&cert), &sc, options);
    assert!(second.seen.resumed);
    assert!(second.seen.early_key.is_none() && second.seen.early_outcome.is_empty());
    check_agreement(&mut second);
}

//! The state machine against a real rustls 0.23 server (ring), in memory, with a minimal
//! TLS 1.3 record framing written here: every suite × group × certificate type, then both
//! sides exchange application data, compare exporter output, and go through a KeyUpdate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use common::PinnedVerifier;
use overture_crypto_provider::{BoundAead, CryptoProvider, Nonce, TAG_LEN, ring};
use overture_handshake::{ClientCertResolver, ClientHandshake, Event, HandshakeConfig, TrafficKey};
use overture_types::{
    CertificateDer, CipherSuite, ContentType, NamedGroup, PrivateKeyDer, ProtocolVersion,
    ServerName, SignatureScheme, UnixTime,
};
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

/// One direction of TLS 1.3 record protection.
struct Dir {
    aead: Box<dyn BoundAead>,
    iv: [u8; 12],
    seq: u64,
}

impl Dir {
    fn new(k: &TrafficKey) -> Self {
        Self {
            aead: k.aead.with_key(k.key.as_bytes()).unwrap(),
            iv: k.iv,
            seq: 0,
        }
    }
}

/// The client's minimal record framing.
#[derive(Default)]
struct Framing {
    read: Option<Dir>,
    write: Option<Dir>,
    sent_first: bool,
    handshake: Vec<u8>,
    app_data: Vec<u8>,
}

impl Framing {
    fn seal(&mut self, typ: ContentType, data: &[u8], out: &mut Vec<u8>) {
        let Some(w) = self.write.as_mut() else {
            let version: u16 = if self.sent_first { 0x0303 } else { 0x0301 };
            self.sent_first = true;
            out.push(typ.get());
            out.extend_from_slice(&version.to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
            return;
        };
        let mut inner = data.to_vec();
        inner.push(typ.get());
        let len = (inner.len() + TAG_LEN) as u16;
        let mut header = vec![23, 3, 3];
        header.extend_from_slice(&len.to_be_bytes());
        let tag = w
            .aead
            .seal_in_place(Nonce::xor_seq(&w.iv, w.seq), &header, &mut inner)
            .unwrap();
        w.seq += 1;
        out.extend_from_slice(&header);
        out.extend_from_slice(&inner);
        out.extend_from_slice(tag.as_ref());
    }

    /// Opens the next whole record in `input` (false: none); handshake bytes go to
    /// `self.handshake`, data to `self.app_data`. A CCS is ignored; an alert panics.
    fn open(&mut self, input: &mut Vec<u8>) -> bool {
        {
            if input.len() < 5 {
                return false;
            }
            let len = usize::from(u16::from_be_bytes([input[3], input[4]]));
            if input.len() < 5 + len {
                return false;
            }
            let record: Vec<u8> = input.drain(..5 + len).collect();
            let (header, body) = record.split_at(5);
            let (typ, plain) = match header[0] {
                20 => return true,
                23 => {
                    let r = self
                        .read
                        .as_mut()
                        .expect("protected record before a read key");
                    let mut buf = body.to_vec();
                    let n = r
                        .aead
                        .open_in_place(Nonce::xor_seq(&r.iv, r.seq), header, &mut buf)
                        .expect("record did not open");
                    r.seq += 1;
                    buf.truncate(n);
                    while buf.last() == Some(&0) {
                        buf.pop();
                    }
                    let typ = buf.pop().unwrap();
                    (typ, buf)
                }
                t => (t, body.to_vec()),
            };
            match typ {
                22 => self.handshake.extend_from_slice(&plain),
                23 => self.app_data.extend_from_slice(&plain),
                21 => panic!("the server sent alert {:?}", plain),
                t => panic!("unexpected content type {t}"),
            }
        }
        true
    }

    /// The next whole handshake message, if any.
    fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.handshake.len() < 4 {
            return None;
        }
        let h = &self.handshake;
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        (h.len() >= 4 + len).then(|| self.handshake.drain(..4 + len).collect())
    }
}

/// What the events said.
#[derive(Default)]
struct Seen {
    complete: bool,
    suite: Option<CipherSuite>,
    group: Option<NamedGroup>,
    tickets: usize,
    alpn: Option<Vec<u8>>,
    ccs: usize,
    read_keys: usize,
}

fn apply(events: &mut Vec<Event>, f: &mut Framing, out: &mut Vec<u8>, seen: &mut Seen) {
    for ev in events.drain(..) {
        match ev {
            Event::Send { bytes, .. } => f.seal(ContentType::Handshake, &bytes, out),
            Event::SendCcs => {
                seen.ccs += 1;
                out.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
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
                assert_eq!(version, ProtocolVersion::TLSv1_3);
                seen.suite = Some(suite);
                seen.group = group;
            }
            Event::Alpn(p) => seen.alpn = p,
            Event::Complete => seen.complete = true,
            Event::NewSessionTicket(_) => seen.tickets += 1,
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
            while self.framing.open(&mut self.to_client) {
                while let Some(m) = self.framing.next_message() {
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
    let b = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
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
    let provider = Arc::new(ring::default_provider());
    Arc::new(HandshakeConfig {
        provider: provider.clone(),
        versions: vec![ProtocolVersion::TLSv1_3],
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
        key_log: None,
    })
}

fn connect(config: Arc<HandshakeConfig>, server_config: Arc<rustls::ServerConfig>) -> Pair {
    let mut pair = start_pair(config, server_config);
    pair.pump();
    pair
}

/// The client has sent its ClientHello; nothing has moved yet.
fn start_pair(config: Arc<HandshakeConfig>, server_config: Arc<rustls::ServerConfig>) -> Pair {
    let mut events = Vec::new();
    let hs = ClientHandshake::start(
        config,
        ServerName::try_from("localhost").unwrap(),
        UnixTime::now(),
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
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 not used here".into()))
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

#[test]
fn client_certificates_with_rustls() {
    let (server_cert, server_key) = cert(KeyKind::P256, "localhost");
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
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            NamedGroup::X25519,
            vec![server_cert.clone()],
            server_key.clone_key(),
            true,
        );
        let mut p = connect(client_config(&server_cert, Some(resolver)), sc);
        let peer = p
            .server
            .peer_certificates()
            .expect("rustls saw no client certificate");
        assert_eq!(peer[0], client_cert, "{kind:?}");
        check_agreement(&mut p);
    }
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

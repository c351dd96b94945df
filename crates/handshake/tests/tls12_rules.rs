//! Every TLS 1.2 rule and every resumption rule of the state machine, each asserting the alert
//! we send (or the event we emit). A scripted server built from this crate's message codecs
//! and PRF answers the real ClientHello and breaks one rule at a time; the good paths run to
//! completion with both sides' Finished checked, so a rule test cannot pass by accident.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use common::Log;

use common::{PinnedVerifier, ecdsa_identity, split_messages};
use overture_crypto_provider::{ActiveKeyExchange, Hash, Secret, Signer, SigningKey, ring};
use overture_handshake::key_schedule::{self, KeySchedule, Transcript};
use overture_handshake::msgs::{
    self, ClientExtension, ClientHello, EcdheServerKeyExchange, EncryptedExtensions, Extension,
    HandshakeMessage, KeyShareEntry, ServerHello, Tls12CertificateRequest, Tls12Message,
    Tls12NewSessionTicket,
};
use overture_handshake::{
    ClientCertResolver, ClientHandshake, Error, Event, HandshakeConfig, Level, StartOptions,
    Tls12Session, Tls13Ticket, tls12_prf,
};
use overture_types::{
    AlertDescription as A, CertificateDer, CipherSuite, Codec, Compression, ExtensionType, LazyU8,
    LazyU16, LazyU24, NamedGroup, PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, ServerName,
    SignatureScheme, UnixTime,
};
use std::sync::Arc;

const SUITE12: CipherSuite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;

fn ext(typ: ExtensionType, data: &[u8]) -> Extension<'static> {
    Extension {
        typ,
        data: PayloadU16(data.to_vec().into()),
    }
}

/// The extensions of a good TLS 1.2 ServerHello.
fn good_extensions() -> Vec<Extension<'static>> {
    vec![
        ext(ExtensionType::RenegotiationInfo, &[0]),
        ext(ExtensionType::ExtendedMasterSecret, &[]),
        ext(ExtensionType::EcPointFormats, &[1, 0]),
    ]
}

struct Opts {
    versions: Vec<ProtocolVersion>,
    options: StartOptions,
    client_auth: Option<Arc<dyn ClientCertResolver>>,
    signing_schemes: Option<Vec<SignatureScheme>>,
    verify_schemes: Option<Vec<SignatureScheme>>,
    extensions: overture_handshake::ExtensionOptions,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            versions: vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
            options: StartOptions::default(),
            client_auth: None,
            signing_schemes: None,
            verify_schemes: None,
            extensions: overture_handshake::ExtensionOptions::default(),
        }
    }
}

/// The client and a scripted TLS 1.2 server (suite `SUITE12`).
struct S {
    hs: ClientHandshake,
    events: Vec<Event>,
    /// Our ClientHello, as sent.
    ch_bytes: Vec<u8>,
    cert: CertificateDer<'static>,
    key: Arc<dyn SigningKey>,
    /// Every handshake message so far, as both sides hash it.
    transcript: Vec<u8>,
    server_random: [u8; 32],
    kx: Option<Box<dyn ActiveKeyExchange>>,
    ems: bool,
    ms: Option<Secret>,
    log: Arc<Log>,
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::SHA256.hash(data).as_bytes().to_vec()
}

fn prf(secret: &[u8], label: &[u8], seed: &[&[u8]], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    tls12_prf(&ring::HMAC_SHA256, secret, label, seed, &mut out);
    out
}

/// The handshake messages in `events` (drained), and the other events.
fn drain(events: &mut Vec<Event>) -> (Vec<Vec<u8>>, Vec<Event>) {
    let mut msgs = Vec::new();
    let mut rest = Vec::new();
    for e in events.drain(..) {
        match e {
            Event::Send { bytes, .. } => msgs.extend(split_messages(&bytes)),
            other => rest.push(other),
        }
    }
    (msgs, rest)
}

fn start(opts: Opts) -> S {
    let (cert, signing) = ecdsa_identity("example.com");
    let provider = Arc::new(ring::default_provider());
    let log = Arc::new(Log::default());
    let config = Arc::new(HandshakeConfig {
        provider: provider.clone(),
        versions: opts.versions,
        alpn_protocols: vec![b"h2".to_vec()],
        enable_sni: true,
        middlebox_compat: true,
        verifier: Arc::new(PinnedVerifier {
            cert: cert.to_vec(),
            name: "example.com".into(),
            schemes: provider.supported_schemes(),
            provider,
        }),
        client_auth: opts.client_auth,
        verify_schemes: opts.verify_schemes,
        signing_schemes: opts.signing_schemes,
        key_log: Some(log.clone()),
        extensions: opts.extensions,
    });
    let mut events = Vec::new();
    let hs = ClientHandshake::start(
        config,
        ServerName::try_from("example.com").unwrap(),
        UnixTime::now(),
        opts.options,
        &mut events,
    )
    .unwrap();
    let (mut sent, _) = drain(&mut events);
    let ch_bytes = sent.pop().unwrap();
    S {
        hs,
        events,
        ch_bytes: ch_bytes.clone(),
        cert,
        key: signing,
        transcript: ch_bytes,
        server_random: [0x42; 32],
        kx: None,
        ems: true,
        ms: None,
        log,
    }
}

impl S {
    /// Our ClientHello, decoded.
    fn ch(&self) -> ClientHello<'_> {
        let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(&self.ch_bytes).unwrap()
        else {
            panic!()
        };
        ch
    }

    fn feed(&mut self, msg: &[u8]) -> Result<(), Error> {
        self.hs.handle(msg, UnixTime::now(), &mut self.events)
    }

    /// Feeds a message the client must accept, and adds it to the transcript.
    fn accept(&mut self, msg: &[u8]) {
        self.feed(msg)
            .unwrap_or_else(|e| panic!("rejected {}: {e}", hex::encode(msg)));
        self.transcript.extend_from_slice(msg);
    }

    /// Feeds `msg` and returns the alert of the error it must cause.
    fn reject(&mut self, msg: &[u8]) -> Option<A> {
        match self.feed(msg) {
            Ok(()) => panic!("accepted: {}", hex::encode(msg)),
            Err(e) => {
                println!("rejected: {e}");
                e.alert()
            }
        }
    }

    fn ch_has(&self, typ: ExtensionType) -> Option<Vec<u8>> {
        self.ch().extensions.0.iter().find_map(|e| {
            (e.typ() == typ).then(|| {
                let enc = e.get_encoding().unwrap();
                enc[4..].to_vec()
            })
        })
    }

    /// A TLS 1.2 ServerHello with the good extensions, before `tweak`.
    fn server_hello(&mut self, tweak: impl FnOnce(&mut ServerHello)) -> Vec<u8> {
        let mut sh = ServerHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random: self.server_random,
            session_id: PayloadU8(vec![9; 32].into()),
            cipher_suite: SUITE12,
            compression_method: Compression::Null,
            extensions: LazyU16::from(good_extensions()),
        };
        tweak(&mut sh);
        self.server_random = sh.random;
        self.ems = sh
            .extensions
            .iter()
            .any(|e| e.typ == ExtensionType::ExtendedMasterSecret);
        HandshakeMessage::ServerHello(sh).encode().unwrap()
    }

    fn certificate(&self) -> Vec<u8> {
        Tls12Message::Certificate(LazyU24::from(vec![PayloadU24(self.cert.to_vec().into())]))
            .encode()
            .unwrap()
    }

    /// A ServerKeyExchange for `group`, signed with ECDSA P-256 SHA-256, then `tweak`ed.
    fn ske(
        &mut self,
        group: NamedGroup,
        tweak: impl FnOnce(&mut EcdheServerKeyExchange),
    ) -> Vec<u8> {
        self.ske_with(group, |_| {}, tweak)
    }

    /// A ServerKeyExchange for `group`: `before` changes it before it is signed, `after`
    /// after.
    fn ske_with(
        &mut self,
        group: NamedGroup,
        before: impl FnOnce(&mut EcdheServerKeyExchange),
        after: impl FnOnce(&mut EcdheServerKeyExchange),
    ) -> Vec<u8> {
        let kx = ring::default_provider()
            .find_kx(group)
            .map(|k| k.start().unwrap());
        let public = kx
            .as_ref()
            .map(|k| k.public_key().to_vec())
            .unwrap_or_else(|| vec![4; 133]);
        let mut ske = EcdheServerKeyExchange {
            group,
            public: PayloadU8(public.into()),
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: PayloadU16(vec![].into()),
        };
        before(&mut ske);
        let mut signed = self.ch().random.to_vec();
        signed.extend_from_slice(&self.server_random);
        signed.extend_from_slice(&ske.params().unwrap());
        let signer = self
            .key
            .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
            .unwrap();
        ske.signature = PayloadU16(signer.sign(&signed).unwrap().into());
        after(&mut ske);
        self.kx = kx;
        Tls12Message::ServerKeyExchange(ske).encode().unwrap()
    }

    /// ServerHello, Certificate, ServerKeyExchange (X25519), all accepted.
    fn up_to_done(&mut self, tweak_sh: impl FnOnce(&mut ServerHello)) {
        let sh = self.server_hello(tweak_sh);
        self.accept(&sh);
        let c = self.certificate();
        self.accept(&c);
        let ske = self.ske(NamedGroup::X25519, |_| {});
        self.accept(&ske);
    }

    /// ServerHelloDone; checks the client's flight (ClientKeyExchange, CCS, write key,
    /// Finished, ExpectCcs unless a ticket was promised) and derives the master secret.
    fn done(&mut self) {
        let done = Tls12Message::ServerHelloDone.encode().unwrap();
        self.events.clear();
        self.accept(&done);
        let events: Vec<Event> = self.events.drain(..).collect();
        let mut iter = events.into_iter();
        let Some(Event::Send {
            level: Level::Initial,
            bytes: cke,
        }) = iter.next()
        else {
            panic!("no ClientKeyExchange")
        };
        assert_eq!(cke[0], 16, "ClientKeyExchange");
        let client_pub = cke[5..].to_vec();
        self.transcript.extend_from_slice(&cke);
        let pms = self.kx.take().unwrap().complete(&client_pub).unwrap();
        let ms = if self.ems {
            prf(
                pms.as_bytes(),
                b"extended master secret",
                &[&sha256(&self.transcript)],
                48,
            )
        } else {
            prf(
                pms.as_bytes(),
                b"master secret",
                &[&self.ch().random, &self.server_random],
                48,
            )
        };
        assert!(matches!(iter.next(), Some(Event::SendCcs)));
        let Some(Event::InstallWriteKey(k)) = iter.next() else {
            panic!("no write key after the CCS")
        };
        let block = prf(
            &ms,
            b"key expansion",
            &[&self.server_random, &self.ch().random],
            40,
        );
        assert_eq!(k.key.as_bytes(), &block[..16], "client_write_key");
        assert_eq!(k.fixed_iv(), &block[32..36], "client_write_IV");
        let Some(Event::Send {
            level: Level::Handshake,
            bytes: fin,
        }) = iter.next()
        else {
            panic!("no Finished")
        };
        let want = prf(&ms, b"client finished", &[&sha256(&self.transcript)], 12);
        assert_eq!(&fin[4..], want.as_slice(), "client Finished");
        self.transcript.extend_from_slice(&fin);
        self.events = iter.collect();
        self.ms = Some(Secret::new(&ms).unwrap());
    }

    /// The server's Finished over the transcript so far.
    fn server_finished(&self) -> Vec<u8> {
        let ms = self.ms.as_ref().unwrap();
        let vd = prf(
            ms.as_bytes(),
            b"server finished",
            &[&sha256(&self.transcript)],
            12,
        );
        Tls12Message::Finished(&vd).encode().unwrap()
    }

    fn expect_ccs_then_read_key(&mut self) {
        assert!(
            matches!(self.events.pop(), Some(Event::ExpectCcs)),
            "no ExpectCcs"
        );
        // A NewSessionTicket before the CCS is announced as it arrives.
        self.events.retain(|e| {
            !matches!(
                e,
                Event::TicketReceived {
                    version: ProtocolVersion::TLSv1_2,
                    kept: true,
                    ..
                }
            )
        });
        assert!(self.events.is_empty());
        self.hs.handle_ccs(&mut self.events).unwrap();
        let Some(Event::InstallReadKey(k)) = self.events.pop() else {
            panic!("the CCS installed no read key")
        };
        let block = prf(
            self.ms.as_ref().unwrap().as_bytes(),
            b"key expansion",
            &[&self.server_random, &self.ch().random],
            40,
        );
        assert_eq!(k.key.as_bytes(), &block[16..32], "server_write_key");
        assert_eq!(k.fixed_iv(), &block[36..40], "server_write_IV");
    }

    /// A full handshake to completion; returns the events of the last step.
    fn complete(&mut self, tweak_sh: impl FnOnce(&mut ServerHello)) -> Vec<Event> {
        self.up_to_done(tweak_sh);
        self.done();
        self.expect_ccs_then_read_key();
        let f = self.server_finished();
        self.accept(&f);
        assert!(self.hs.is_complete());
        self.events.drain(..).collect()
    }
}

#[test]
fn a_full_handshake_completes_with_the_right_keys_and_key_log() {
    let mut s = start(Opts::default());
    // Offering 1.2: its suites and extensions are in the ClientHello.
    assert!(s.ch().cipher_suites.0.contains(&SUITE12));
    assert_eq!(s.ch_has(ExtensionType::RenegotiationInfo), Some(vec![0]));
    assert_eq!(s.ch_has(ExtensionType::ExtendedMasterSecret), Some(vec![]));
    assert_eq!(s.ch_has(ExtensionType::EcPointFormats), Some(vec![1, 0]));
    assert_eq!(s.ch_has(ExtensionType::SessionTicket), Some(vec![]));
    let last = s.complete(|_| {});
    let names: Vec<&str> = last
        .iter()
        .map(|e| match e {
            Event::Tls12Session(_) => "session",
            Event::Complete => "complete",
            _ => "other",
        })
        .collect();
    assert_eq!(names, ["session", "complete"]);
    let Some(Event::Tls12Session(sess)) = last.first() else {
        panic!()
    };
    assert_eq!(sess.session_id, vec![9; 32]);
    assert!(sess.extended_master_secret);
    assert_eq!(sess.master_secret, *s.ms.as_ref().unwrap());
    let log = s.log.0.lock().unwrap();
    assert!(log.iter().any(|(l, r, v)| l == "CLIENT_RANDOM"
        && r == &s.ch().random
        && v == s.ms.as_ref().unwrap().as_bytes()));
}

/// RFC 8449 in TLS 1.2: the limit comes in the ServerHello; below 64 is illegal_parameter.
#[test]
fn record_size_limit_in_the_server_hello() {
    let offering = || Opts {
        versions: vec![ProtocolVersion::TLSv1_2],
        extensions: overture_handshake::ExtensionOptions {
            record_size_limit: Some(1000),
            ..Default::default()
        },
        ..Opts::default()
    };
    let mut s = start(offering());
    assert_eq!(
        s.ch_has(ExtensionType::RecordSizeLimit),
        Some(1000u16.to_be_bytes().to_vec())
    );
    let sh = s.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::RecordSizeLimit, &[0, 63]))
    });
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
    let mut s = start(offering());
    s.up_to_done(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::RecordSizeLimit, &[0x02, 0]))
    });
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::PeerRecordSizeLimit(512)))
    );
    s.done();
    s.expect_ccs_then_read_key();
    let f = s.server_finished();
    s.accept(&f);
    assert!(s.hs.is_complete());
    // Not offered: unsupported_extension.
    let mut s = start(Opts {
        versions: vec![ProtocolVersion::TLSv1_2],
        ..Opts::default()
    });
    let sh = s.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::RecordSizeLimit, &[0x02, 0]))
    });
    assert_eq!(s.reject(&sh), Some(A::UnsupportedExtension));
}

#[test]
fn a_tls12_only_client_sends_no_tls13_extensions() {
    let mut s = start(Opts {
        versions: vec![ProtocolVersion::TLSv1_2],
        ..Opts::default()
    });
    for t in [
        ExtensionType::SupportedVersions,
        ExtensionType::KeyShare,
        ExtensionType::PskKeyExchangeModes,
        ExtensionType::CompressCertificate,
    ] {
        assert!(s.ch_has(t).is_none(), "{t}");
    }
    assert!(s.ch().session_id.0.is_empty());
    assert!(s.ch().cipher_suites.0.iter().all(|c| !c.is_tls13()));
    // A TLS 1.2-only client does not look for the TLS 1.3 downgrade sentinel.
    s.complete(|sh| sh.random[24..].copy_from_slice(&msgs::DOWNGRADE_TLS12));
}

#[test]
fn downgrade_sentinel_when_tls13_was_offered() {
    for sentinel in [msgs::DOWNGRADE_TLS12, msgs::DOWNGRADE_TLS11] {
        let mut s = start(Opts::default());
        let sh = s.server_hello(|sh| sh.random[24..].copy_from_slice(&sentinel));
        assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
    }
}

#[test]
fn extended_master_secret_is_required_by_default() {
    let no_ems = |sh: &mut ServerHello| {
        sh.extensions
            .to_mut()
            .retain(|e| e.typ != ExtensionType::ExtendedMasterSecret)
    };
    let mut s = start(Opts::default());
    let sh = s.server_hello(no_ems);
    assert_eq!(s.reject(&sh), Some(A::HandshakeFailure));
    // Allowed: the handshake completes with the RFC 5246 master secret.
    let mut s = start(Opts {
        options: StartOptions {
            allow_tls12_without_ems: true,
            ..StartOptions::default()
        },
        ..Opts::default()
    });
    let last = s.complete(no_ems);
    let Some(Event::Tls12Session(sess)) = last.first() else {
        panic!()
    };
    assert!(!sess.extended_master_secret);
    let mut out = [0u8; 16];
    assert!(matches!(
        s.hs.export_keying_material(&mut out, b"EXPORTER-x", None),
        Err(Error::Usage(_))
    ));
}

#[test]
fn exporter_with_ems() {
    let mut s = start(Opts::default());
    let mut out = [0u8; 20];
    assert!(
        s.hs.export_keying_material(&mut out, b"EXPORTER-x", None)
            .is_err()
    );
    s.complete(|_| {});
    s.hs.export_keying_material(&mut out, b"EXPORTER-x", Some(b"c"))
        .unwrap();
    let ms = s.ms.as_ref().unwrap().as_bytes().to_vec();
    let want = prf(
        &ms,
        b"EXPORTER-x",
        &[&s.ch().random, &s.server_random, &[0, 1, b'c']],
        20,
    );
    assert_eq!(out.to_vec(), want);
    assert!(
        s.hs.export_keying_material(&mut out, b"key expansion", None)
            .is_err()
    );
}

#[test]
fn renegotiation_info_rules() {
    for (body, alert) in [
        (None, A::HandshakeFailure),
        (Some(&[1, 7][..]), A::HandshakeFailure),
        (Some(&[0, 0][..]), A::HandshakeFailure),
    ] {
        let mut s = start(Opts::default());
        let sh = s.server_hello(|sh| {
            sh.extensions
                .to_mut()
                .retain(|e| e.typ != ExtensionType::RenegotiationInfo);
            if let Some(b) = body {
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::RenegotiationInfo, b));
            }
        });
        assert_eq!(s.reject(&sh), Some(alert), "{body:?}");
    }
}

#[test]
fn server_hello_extension_and_negotiation_rules() {
    type Tweak = Box<dyn Fn(&mut ServerHello)>;
    let cases: Vec<(&str, Tweak, A)> = vec![
        (
            "ec_point_formats without uncompressed",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .retain(|e| e.typ != ExtensionType::EcPointFormats);
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::EcPointFormats, &[1, 1]));
            }),
            A::IllegalParameter,
        ),
        (
            "unoffered status_request",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::StatusRequest, &[]))
            }),
            A::UnsupportedExtension,
        ),
        (
            "key_share in a TLS 1.2 ServerHello",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::KeyShare, &[0, 29, 0, 0]))
            }),
            A::IllegalParameter,
        ),
        (
            "duplicate extension",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::ExtendedMasterSecret, &[]))
            }),
            A::IllegalParameter,
        ),
        (
            "non-empty extended_master_secret",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .retain(|e| e.typ != ExtensionType::ExtendedMasterSecret);
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::ExtendedMasterSecret, &[0]));
            }),
            A::DecodeError,
        ),
        (
            "a TLS 1.3 suite",
            Box::new(|sh| sh.cipher_suite = CipherSuite::TLS13_AES_128_GCM_SHA256),
            A::IllegalParameter,
        ),
        (
            "an unknown suite",
            Box::new(|sh| sh.cipher_suite = CipherSuite::Unknown(0xc02c + 0x100)),
            A::IllegalParameter,
        ),
        (
            "two ALPN protocols",
            Box::new(|sh| {
                sh.extensions.to_mut().push(ext(
                    ExtensionType::ApplicationLayerProtocolNegotiation,
                    &[0, 6, 2, b'h', b'2', 2, b'h', b'3'],
                ))
            }),
            A::IllegalParameter,
        ),
        (
            "non-empty server_name",
            Box::new(|sh| {
                sh.extensions
                    .to_mut()
                    .push(ext(ExtensionType::ServerName, &[0]))
            }),
            A::IllegalParameter,
        ),
        (
            "compression",
            Box::new(|sh| sh.compression_method = Compression::Deflate),
            A::IllegalParameter,
        ),
        (
            "echo of our compatibility session id (never a TLS 1.2 session)",
            Box::new(|_| {}),
            A::IllegalParameter,
        ),
        (
            "TLS 1.1",
            Box::new(|sh| sh.legacy_version = ProtocolVersion::TLSv1_1),
            A::ProtocolVersion,
        ),
    ];
    for (what, tweak, alert) in cases {
        let mut s = start(Opts::default());
        let compat_id = s.ch().session_id.into_owned();
        let echo = what.starts_with("echo");
        let sh = s.server_hello(|sh| {
            if echo {
                sh.session_id = compat_id;
            }
            tweak(sh)
        });
        assert_eq!(s.reject(&sh), Some(alert), "{what}");
    }
    // The good ALPN answer is taken.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|sh| {
        sh.extensions.to_mut().push(ext(
            ExtensionType::ApplicationLayerProtocolNegotiation,
            &[0, 3, 2, b'h', b'2'],
        ))
    });
    s.accept(&sh);
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::Alpn(Some(p)) if p == b"h2"))
    );
}

#[test]
fn certificate_and_server_key_exchange_rules() {
    // Empty Certificate.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let empty = Tls12Message::Certificate(LazyU24::from(vec![]))
        .encode()
        .unwrap();
    assert_eq!(s.reject(&empty), Some(A::DecodeError));
    // A certificate the verifier does not know.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let other = Tls12Message::Certificate(LazyU24::from(vec![PayloadU24(vec![0x30, 0].into())]))
        .encode()
        .unwrap();
    assert_eq!(s.reject(&other), Some(A::UnknownCa));

    type SkeTweak = Box<dyn Fn(&mut EcdheServerKeyExchange)>;
    let ske_cases: Vec<(&str, NamedGroup, SkeTweak, A)> = vec![
        (
            "bad signature",
            NamedGroup::X25519,
            Box::new(|k| {
                let last = k.signature.0.len() - 1;
                k.signature.0.to_mut()[last] ^= 1;
            }),
            A::DecryptError,
        ),
        (
            "signature over other params",
            NamedGroup::secp256r1,
            Box::new(|k| k.public.0.to_mut()[10] ^= 1),
            A::DecryptError,
        ),
        (
            "unoffered curve",
            NamedGroup::secp521r1,
            Box::new(|_| {}),
            A::IllegalParameter,
        ),
        (
            "RSA scheme with an ECDSA suite",
            NamedGroup::X25519,
            Box::new(|k| k.scheme = SignatureScheme::RSA_PKCS1_SHA256),
            A::IllegalParameter,
        ),
        (
            "SHA-1 scheme",
            NamedGroup::X25519,
            Box::new(|k| k.scheme = SignatureScheme::ECDSA_SHA1_Legacy),
            A::IllegalParameter,
        ),
        (
            "invalid point",
            NamedGroup::secp256r1,
            Box::new(|_| {}),
            A::IllegalParameter,
        ),
    ];
    for (what, group, tweak, alert) in ske_cases {
        let mut s = start(Opts::default());
        let sh = s.server_hello(|_| {});
        s.accept(&sh);
        let c = s.certificate();
        s.accept(&c);
        let ske = if what == "invalid point" {
            // Correctly signed, but the point is off the curve.
            s.ske_with(group, |k| k.public.0.to_mut()[10] ^= 0x55, |_| {})
        } else {
            s.ske(group, tweak)
        };
        assert_eq!(s.reject(&ske), Some(alert), "{what}");
    }
    // X25519MLKEM768 exists only in TLS 1.3: a TLS 1.2-only client does not offer it, and a
    // client offering both versions (whose supported_groups lists it) refuses it in a
    // ServerKeyExchange.
    for versions in [
        vec![ProtocolVersion::TLSv1_2],
        vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
    ] {
        let mut s = start(Opts {
            versions: versions.clone(),
            ..Opts::default()
        });
        let sh = s.server_hello(|_| {});
        s.accept(&sh);
        let c = s.certificate();
        s.accept(&c);
        let ske = s.ske_with(
            NamedGroup::X25519MLKEM768,
            |k| k.public = PayloadU8(vec![7; 200].into()),
            |_| {},
        );
        let err = s.feed(&ske).unwrap_err();
        let why = if versions.len() == 1 {
            "did not offer"
        } else {
            "only in TLS 1.3"
        };
        assert!(err.to_string().contains(why), "{versions:?}: {err}");
        assert_eq!(err.alert(), Some(A::IllegalParameter), "{versions:?}");
    }
    // An explicit curve does not parse.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let c = s.certificate();
    s.accept(&c);
    assert_eq!(
        s.reject(&[12, 0, 0, 4, 1, 0, 23, 0]),
        Some(A::IllegalParameter)
    );
}

#[test]
fn out_of_order_messages_and_change_cipher_specs() {
    // ServerHelloDone before ServerKeyExchange.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let c = s.certificate();
    s.accept(&c);
    assert_eq!(
        s.reject(&Tls12Message::ServerHelloDone.encode().unwrap()),
        Some(A::UnexpectedMessage)
    );
    // A CCS before the client's flight.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let e = s.hs.handle_ccs(&mut s.events).unwrap_err();
    assert_eq!(e.alert(), Some(A::UnexpectedMessage));
    // Finished before the CCS.
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    s.done();
    let f = s.server_finished();
    assert_eq!(s.reject(&f), Some(A::UnexpectedMessage));
    // A second CCS.
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    s.done();
    s.expect_ccs_then_read_key();
    let e = s.hs.handle_ccs(&mut s.events).unwrap_err();
    assert_eq!(e.alert(), Some(A::UnexpectedMessage));
    // A CCS in TLS 1.3 is never handed to the handshake.
    let mut s = start(Opts::default());
    let e = s.hs.handle_ccs(&mut s.events).unwrap_err();
    assert_eq!(e.alert(), Some(A::UnexpectedMessage));
    // A second CertificateRequest.
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    let cr = Tls12Message::CertificateRequest(Tls12CertificateRequest {
        certificate_types: LazyU8::from(vec![64]),
        schemes: LazyU16::from(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
        authorities: LazyU16::from(vec![]),
    })
    .encode()
    .unwrap();
    s.accept(&cr);
    assert_eq!(s.reject(&cr), Some(A::UnexpectedMessage));
}

#[test]
fn certificate_request_gets_an_empty_certificate() {
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    let cr = Tls12Message::CertificateRequest(Tls12CertificateRequest {
        certificate_types: LazyU8::from(vec![64]),
        schemes: LazyU16::from(vec![SignatureScheme::ECDSA_NISTP256_SHA256]),
        authorities: LazyU16::from(vec![]),
    })
    .encode()
    .unwrap();
    s.accept(&cr);
    s.accept(&Tls12Message::ServerHelloDone.encode().unwrap());
    let (msgs, _) = drain(&mut s.events);
    assert_eq!(msgs[0], [11, 0, 0, 3, 0, 0, 0], "empty Certificate first");
    assert_eq!(msgs[1][0], 16, "then ClientKeyExchange");
}

#[test]
fn bad_finished_is_decrypt_error() {
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    s.done();
    s.expect_ccs_then_read_key();
    let mut f = s.server_finished();
    f[10] ^= 1;
    assert_eq!(s.reject(&f), Some(A::DecryptError));
    // A Finished of the wrong length.
    let mut s = start(Opts::default());
    s.up_to_done(|_| {});
    s.done();
    s.expect_ccs_then_read_key();
    let f = Tls12Message::Finished(&[0; 32]).encode().unwrap();
    assert_eq!(s.reject(&f), Some(A::DecryptError));
}

#[test]
fn hello_request_is_ignored_during_and_refused_after_the_handshake() {
    let mut s = start(Opts::default());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    // During the handshake: ignored, not in the transcript (the handshake still completes).
    s.feed(&Tls12Message::HelloRequest.encode().unwrap())
        .unwrap();
    let c = s.certificate();
    s.accept(&c);
    let ske = s.ske(NamedGroup::secp384r1, |_| {});
    s.accept(&ske);
    s.done();
    s.expect_ccs_then_read_key();
    let f = s.server_finished();
    s.accept(&f);
    s.events.clear();
    // After: answered with a no_renegotiation warning, the connection goes on.
    s.feed(&Tls12Message::HelloRequest.encode().unwrap())
        .unwrap();
    assert!(matches!(
        s.events.as_slice(),
        [Event::SendWarningAlert(A::NoRenegotiation)]
    ));
    assert!(s.hs.is_complete());
    // Anything else after the handshake is unexpected.
    assert_eq!(
        s.reject(&Tls12Message::ServerHelloDone.encode().unwrap()),
        Some(A::UnexpectedMessage)
    );
}

#[test]
fn promised_ticket_must_come() {
    let with_ticket = |sh: &mut ServerHello| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::SessionTicket, &[]))
    };
    // The CCS instead of the NewSessionTicket.
    let mut s = start(Opts::default());
    s.up_to_done(with_ticket);
    s.done();
    assert!(s.events.is_empty(), "no ExpectCcs before the ticket");
    let e = s.hs.handle_ccs(&mut s.events).unwrap_err();
    assert_eq!(e.alert(), Some(A::UnexpectedMessage));
    // The ticket comes: ExpectCcs, then the session carries it.
    let sess = session(true, true);
    assert_eq!(sess.ticket.as_deref(), Some(&[0xee; 80][..]));
    assert_eq!(sess.ticket_lifetime_hint, 600);
}

/// A session from a completed full handshake against the scripted server.
fn session(ticket: bool, ems: bool) -> Tls12Session {
    let mut s = start(Opts {
        options: StartOptions {
            allow_tls12_without_ems: !ems,
            ..StartOptions::default()
        },
        ..Opts::default()
    });
    s.up_to_done(|sh| {
        if ticket {
            sh.extensions
                .to_mut()
                .push(ext(ExtensionType::SessionTicket, &[]));
        }
        if !ems {
            sh.extensions
                .to_mut()
                .retain(|e| e.typ != ExtensionType::ExtendedMasterSecret);
        }
    });
    s.done();
    if ticket {
        let nst = Tls12Message::NewSessionTicket(Tls12NewSessionTicket {
            lifetime_hint: 600,
            ticket: PayloadU16(vec![0xee; 80].into()),
        })
        .encode()
        .unwrap();
        s.accept(&nst);
    }
    s.expect_ccs_then_read_key();
    let f = s.server_finished();
    s.accept(&f);
    let Some(Event::Tls12Session(sess)) = s.events.first() else {
        panic!("no session")
    };
    (**sess).clone()
}

/// Starts a client offering `sess`; the scripted server resumes it (echoing our session id).
fn resume_start(sess: Tls12Session, allow_no_ems: bool) -> S {
    let mut s = start(Opts {
        options: StartOptions {
            tls12_session: Some(sess.clone()),
            allow_tls12_without_ems: allow_no_ems,
            ..StartOptions::default()
        },
        ..Opts::default()
    });
    s.ms = Some(sess.master_secret);
    s
}

#[test]
fn abbreviated_handshakes_by_session_id_and_by_ticket() {
    for ticket in [false, true] {
        let sess = session(ticket, true);
        let mut s = resume_start(sess.clone(), false);
        if ticket {
            assert_eq!(s.ch_has(ExtensionType::SessionTicket), Some(vec![0xee; 80]));
            assert_eq!(
                s.ch().session_id.0.len(),
                32,
                "our own id to detect acceptance"
            );
        } else {
            assert_eq!(s.ch().session_id.0, sess.session_id);
        }
        let id = s.ch().session_id.into_owned();
        let sh = s.server_hello(|sh| sh.session_id = id);
        s.accept(&sh);
        assert!(matches!(
            s.events.as_slice(),
            [
                Event::ServerHello { .. },
                Event::Alpn(None),
                Event::Resumed,
                Event::ExpectCcs
            ]
        ));
        s.events.drain(..3);
        s.expect_ccs_then_read_key();
        let f = s.server_finished();
        s.accept(&f);
        // Our CCS and Finished come last, after the server's.
        let events: Vec<Event> = s.events.drain(..).collect();
        assert!(matches!(events[0], Event::SendCcs));
        assert!(matches!(events[1], Event::InstallWriteKey(_)));
        let Event::Send { bytes: fin, .. } = &events[2] else {
            panic!()
        };
        let want = prf(
            s.ms.as_ref().unwrap().as_bytes(),
            b"client finished",
            &[&sha256(&s.transcript)],
            12,
        );
        assert_eq!(&fin[4..], want.as_slice());
        assert!(matches!(events[3], Event::Tls12Session(_)));
        assert!(matches!(events[4], Event::Complete));
        assert!(s.hs.is_complete());
    }
}

#[test]
fn resumption_rules() {
    // Another suite than the session's.
    let sess = session(false, true);
    let mut s = resume_start(sess.clone(), false);
    let id = s.ch().session_id.into_owned();
    let sh = s.server_hello(|sh| {
        sh.session_id = id;
        sh.cipher_suite = CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384;
    });
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
    // EMS dropped on resumption (RFC 7627 §5.3).
    let mut s = resume_start(sess.clone(), false);
    let id = s.ch().session_id.into_owned();
    let sh = s.server_hello(|sh| {
        sh.session_id = id;
        sh.extensions
            .to_mut()
            .retain(|e| e.typ != ExtensionType::ExtendedMasterSecret);
    });
    assert_eq!(s.reject(&sh), Some(A::HandshakeFailure));
    // EMS added on resumption of a session without it.
    let old = session(false, false);
    let mut s = resume_start(old.clone(), true);
    assert_eq!(s.ch().session_id.0, old.session_id, "offered when allowed");
    let id = s.ch().session_id.into_owned();
    let sh = s.server_hello(|sh| sh.session_id = id);
    assert_eq!(s.reject(&sh), Some(A::HandshakeFailure));
    // A session without EMS is not offered unless allowed.
    let s = resume_start(old, false);
    assert!(s.ch().session_id.0.len() == 32 && s.ch().session_id.0 != sess.session_id);
    // A session for another server is not offered.
    let mut other = sess.clone();
    other.server_name = ServerName::try_from("other.example").unwrap();
    let s = resume_start(other, false);
    assert_ne!(s.ch().session_id.0, sess.session_id);
    // The server declines (new session id): a full handshake.
    let mut s = resume_start(sess, false);
    let last = s.complete(|sh| sh.session_id = PayloadU8(vec![8; 32].into()));
    assert!(matches!(last.first(), Some(Event::Tls12Session(_))));
}

// ---- TLS 1.3 resumption rules (ServerHello with pre_shared_key) ----

const SUITE13: &overture_crypto_provider::Tls13CipherSuite = &ring::TLS13_AES_128_GCM_SHA256;

fn ticket(suite: CipherSuite) -> Tls13Ticket {
    Tls13Ticket {
        suite,
        ticket: vec![0x77; 40],
        psk: Secret::new(&[5; 32]).unwrap(),
        lifetime: 3600,
        age_add: 1000,
        max_early_data: None,
        received_at: UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            UnixTime::now().as_secs() - 10,
        )),
        server_name: ServerName::try_from("example.com").unwrap(),
        alpn: None,
    }
}

fn start13(psk_ke: bool) -> S {
    start(Opts {
        versions: vec![ProtocolVersion::TLSv1_3],
        options: StartOptions {
            tls13_ticket: Some(ticket(CipherSuite::TLS13_AES_128_GCM_SHA256)),
            offer_psk_ke: psk_ke,
            ..StartOptions::default()
        },
        ..Opts::default()
    })
}

fn share(ch: &ClientHello<'_>) -> KeyShareEntry<'static> {
    ch.extensions
        .0
        .iter()
        .find_map(|e| match e {
            ClientExtension::KeyShare(k) => Some(KeyShareEntry {
                group: k.0[0].group,
                key_exchange: k.0[0].key_exchange.clone().into_owned(),
            }),
            _ => None,
        })
        .unwrap()
}

/// A TLS 1.3 ServerHello selecting identity `selected` (None: no pre_shared_key), with a key
/// share unless `no_share`.
fn sh13(s: &S, suite: CipherSuite, selected: Option<u16>, no_share: bool) -> Vec<u8> {
    let mut exts = vec![ext(ExtensionType::SupportedVersions, &[3, 4])];
    if !no_share {
        let theirs = share(&s.ch());
        // The server's side (an encapsulation for the hybrid default group).
        let done = ring::default_provider()
            .find_kx(theirs.group)
            .unwrap()
            .start_and_complete(theirs.key_exchange.as_slice())
            .unwrap();
        exts.push(
            Extension::new(ExtensionType::KeyShare, |o| {
                KeyShareEntry {
                    group: theirs.group,
                    key_exchange: PayloadU16(done.share.clone().into()),
                }
                .encode(o)
            })
            .unwrap(),
        );
    }
    if let Some(i) = selected {
        exts.push(Extension::new(ExtensionType::PreSharedKey, |o| i.encode(o)).unwrap());
    }
    HandshakeMessage::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::TLSv1_2,
        random: [0x11; 32],
        session_id: s.ch().session_id.into_owned(),
        cipher_suite: suite,
        compression_method: Compression::Null,
        extensions: LazyU16::from(exts),
    })
    .encode()
    .unwrap()
}

#[test]
fn tls13_offer_has_a_valid_binder_and_age() {
    let s = start13(false);
    let ch = s.ch();
    let Some(ClientExtension::PreSharedKey(offer)) = ch.extensions.0.last() else {
        panic!("pre_shared_key is not last")
    };
    let id = &offer.identities.0[0];
    assert_eq!(id.identity.0, vec![0x77; 40]);
    // 10 s old (whole seconds): never claimed older than it is, so 9000 ms + age_add.
    let age = id.obfuscated_ticket_age.wrapping_sub(1000);
    assert_eq!(age, 9_000);
    // Recompute the binder as a server would.
    let enc = HandshakeMessage::ClientHello(s.ch().clone())
        .encode()
        .unwrap();
    let truncated = &enc[..enc.len() - 35];
    let ks = KeySchedule::new(SUITE13, Some(&[5; 32]));
    let empty = SUITE13.hash.hash(&[]);
    let bk = ks.derive(b"res binder", empty.as_bytes()).unwrap();
    let fk = key_schedule::finished_key(SUITE13, &bk).unwrap();
    let mut t = Transcript::new();
    t.start_hash(SUITE13.hash);
    t.add(truncated);
    let want = key_schedule::verify_data(SUITE13, &fk, t.current_hash().unwrap().as_bytes());
    assert_eq!(offer.binders.0[0].0, want.as_bytes());
    assert_eq!(
        s.ch_has(ExtensionType::PskKeyExchangeModes),
        Some(vec![1, 1])
    );
    assert_eq!(
        start13(true).ch_has(ExtensionType::PskKeyExchangeModes),
        Some(vec![2, 1, 0])
    );
}

#[test]
fn tls13_resumption_rules() {
    let aes128 = CipherSuite::TLS13_AES_128_GCM_SHA256;
    // selected_identity out of range.
    let mut s = start13(false);
    let sh = sh13(&s, aes128, Some(1), false);
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
    // A suite with another hash than the ticket's.
    let mut s = start13(false);
    let sh = sh13(&s, CipherSuite::TLS13_AES_256_GCM_SHA384, Some(0), false);
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
    // psk_ke not offered: a key share is required.
    let mut s = start13(false);
    let sh = sh13(&s, aes128, Some(0), true);
    assert_eq!(s.reject(&sh), Some(A::MissingExtension));
    // pre_shared_key without an offer.
    let mut s = start(Opts {
        versions: vec![ProtocolVersion::TLSv1_3],
        ..Opts::default()
    });
    let sh = sh13(&s, aes128, Some(0), false);
    assert_eq!(s.reject(&sh), Some(A::UnsupportedExtension));
    // Accepted (psk_dhe_ke): Resumed, then no certificate may come.
    let mut s = start13(false);
    let sh = sh13(&s, aes128, Some(0), false);
    s.accept(&sh);
    assert!(matches!(
        s.events.as_slice(),
        [
            Event::ServerHello { group: Some(_), .. },
            Event::Resumed,
            Event::InstallReadKey(_),
            Event::SendCcs,
            Event::InstallWriteKey(_)
        ]
    ));
    let ee = HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
        extensions: LazyU16::from(vec![]),
    })
    .encode()
    .unwrap();
    s.accept(&ee);
    let cert = HandshakeMessage::Certificate(overture_handshake::msgs::Certificate {
        context: PayloadU8(vec![].into()),
        entries: LazyU24::from(vec![]),
    })
    .encode()
    .unwrap();
    assert_eq!(s.reject(&cert), Some(A::UnexpectedMessage));
    // psk_ke offered: a ServerHello without a key share is a PSK-only handshake.
    let mut s = start13(true);
    let sh = sh13(&s, aes128, Some(0), true);
    s.accept(&sh);
    assert!(matches!(
        s.events.as_slice(),
        [
            Event::ServerHello { group: None, .. },
            Event::Resumed,
            Event::InstallReadKey(_),
            Event::SendCcs,
            Event::InstallWriteKey(_)
        ]
    ));
    // The server declines the ticket: a full handshake (certificate expected).
    let mut s = start13(false);
    let sh = sh13(&s, aes128, None, false);
    s.accept(&sh);
    assert!(!s.events.iter().any(|e| matches!(e, Event::Resumed)));
    // early_data in EncryptedExtensions when we never offered it.
    let mut s = start13(false);
    let sh = sh13(&s, aes128, Some(0), false);
    s.accept(&sh);
    let ee = HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
        extensions: LazyU16::from(vec![ext(ExtensionType::EarlyData, &[])]),
    })
    .encode()
    .unwrap();
    assert_eq!(s.reject(&ee), Some(A::UnsupportedExtension));
}

#[test]
fn tls13_tickets_that_cannot_be_used_are_not_offered() {
    let mut expired = ticket(CipherSuite::TLS13_AES_128_GCM_SHA256);
    expired.lifetime = 5;
    let mut other_name = ticket(CipherSuite::TLS13_AES_128_GCM_SHA256);
    other_name.server_name = ServerName::try_from("other.example").unwrap();
    let mut future = ticket(CipherSuite::TLS13_AES_128_GCM_SHA256);
    future.received_at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        UnixTime::now().as_secs() + 100,
    ));
    for t in [
        expired,
        other_name,
        future,
        ticket(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ] {
        let s = start(Opts {
            versions: vec![ProtocolVersion::TLSv1_3],
            options: StartOptions {
                tls13_ticket: Some(t),
                ..StartOptions::default()
            },
            ..Opts::default()
        });
        assert!(s.ch_has(ExtensionType::PreSharedKey).is_none());
    }
}

#[test]
fn tls12_after_hello_retry_request_is_refused() {
    let mut s = start(Opts::default());
    let theirs = share(&s.ch());
    assert_eq!(theirs.group, NamedGroup::X25519MLKEM768);
    let hrr = HandshakeMessage::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::TLSv1_2,
        random: msgs::HELLO_RETRY_REQUEST_RANDOM,
        session_id: s.ch().session_id.into_owned(),
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        compression_method: Compression::Null,
        extensions: LazyU16::from(vec![
            ext(ExtensionType::SupportedVersions, &[3, 4]),
            ext(ExtensionType::KeyShare, &[0, 23]),
        ]),
    })
    .encode()
    .unwrap();
    s.feed(&hrr).unwrap();
    let sh = s.server_hello(|_| {});
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
}

#[test]
fn corrupted_tls12_messages_never_panic() {
    // ServerHello, Certificate and ServerKeyExchange, truncated and bit-flipped, each in its
    // state: an error, never a panic.
    let mut s = start(Opts::default());
    let sh = s.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::SessionTicket, &[]))
    });
    for cut in 0..sh.len() {
        let mut t = start(Opts::default());
        assert!(t.feed(&sh[..cut]).is_err());
    }
    for i in 4..sh.len() {
        let mut t = start(Opts::default());
        let mut bad = sh.clone();
        bad[i] ^= 0x80;
        let _ = t.feed(&bad);
    }
    for i in (4..360).step_by(7) {
        let mut t = start(Opts::default());
        let sh = t.server_hello(|_| {});
        t.accept(&sh);
        let mut bad = t.certificate();
        bad[i] ^= 0x01;
        let _ = t.feed(&bad);
    }
    let mut t = start(Opts::default());
    let ske = t.ske(NamedGroup::X25519, |_| {});
    for cut in 0..ske.len() {
        let mut u = start(Opts::default());
        let sh = u.server_hello(|_| {});
        u.accept(&sh);
        let c = u.certificate();
        u.accept(&c);
        assert!(u.feed(&ske[..cut]).is_err());
    }
}

/// A client certificate resolver that records the schemes it is offered and answers with a
/// one-certificate chain and a signer of `scheme` (its signature is junk: the scripted server
/// does not check it).
#[derive(Debug)]
struct Recording {
    scheme: SignatureScheme,
    offered: std::sync::Mutex<Vec<Vec<SignatureScheme>>>,
}

#[derive(Debug)]
struct JunkSigner(SignatureScheme);

impl Signer for JunkSigner {
    fn scheme(&self) -> SignatureScheme {
        self.0
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, overture_crypto_provider::Error> {
        Ok(vec![1; 64])
    }
}

impl ClientCertResolver for Recording {
    fn resolve(
        &self,
        offered: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)> {
        self.offered.lock().unwrap().push(offered.to_vec());
        Some((
            vec![CertificateDer::from(vec![0x30, 0])],
            Box::new(JunkSigner(self.scheme)),
        ))
    }
}

/// RFC 5246 §7.4.6: the client certificate must be of a type in CertificateRequest's
/// `certificate_types` (BoGo CheckClientCertificateTypes). A server asking for `ecdsa_sign`
/// only never gets an RSA certificate, whatever schemes it lists: the resolver is offered only
/// the schemes of the requested types, and a signer of another type gets an empty Certificate.
/// Our signing preferences (`HandshakeConfig::signing_schemes`) order and restrict the offer.
#[test]
fn certificate_types_are_honoured() {
    use SignatureScheme as S;
    let server_schemes = vec![
        S::RSA_PKCS1_SHA256,
        S::ECDSA_NISTP256_SHA256,
        S::RSA_PSS_SHA256,
    ];
    /// certificate_types, our signer's scheme, our signing preferences, what the resolver
    /// must be offered, whether a certificate goes out.
    type Case = (Vec<u8>, S, Option<Vec<S>>, Vec<S>, bool);
    let cases: Vec<Case> = vec![
        // ecdsa_sign only: an RSA key is not sent.
        (
            vec![64],
            S::RSA_PSS_SHA256,
            None,
            vec![S::ECDSA_NISTP256_SHA256],
            false,
        ),
        // ecdsa_sign only: an ECDSA key is.
        (
            vec![64],
            S::ECDSA_NISTP256_SHA256,
            None,
            vec![S::ECDSA_NISTP256_SHA256],
            true,
        ),
        // rsa_sign only.
        (
            vec![1],
            S::RSA_PSS_SHA256,
            None,
            vec![S::RSA_PKCS1_SHA256, S::RSA_PSS_SHA256],
            true,
        ),
        (
            vec![1],
            S::ECDSA_NISTP256_SHA256,
            None,
            vec![S::RSA_PKCS1_SHA256, S::RSA_PSS_SHA256],
            false,
        ),
        // Both, in the server's order.
        (
            vec![1, 64],
            S::RSA_PKCS1_SHA256,
            None,
            server_schemes.clone(),
            true,
        ),
        // Both, restricted and ordered by our signing preferences.
        (
            vec![1, 64],
            S::RSA_PSS_SHA256,
            Some(vec![
                S::RSA_PSS_SHA256,
                S::ED25519,
                S::ECDSA_NISTP256_SHA256,
            ]),
            vec![S::RSA_PSS_SHA256, S::ECDSA_NISTP256_SHA256],
            true,
        ),
        // Only types we have no key for (dss_sign): the resolver is not asked.
        (vec![2], S::RSA_PSS_SHA256, None, vec![], false),
    ];
    for (types, scheme, prefs, want_offered, sends_cert) in cases {
        let what = format!("types {types:?}, signer {scheme:?}, prefs {prefs:?}");
        let resolver = Arc::new(Recording {
            scheme,
            offered: Default::default(),
        });
        let mut s = start(Opts {
            client_auth: Some(resolver.clone()),
            signing_schemes: prefs,
            ..Opts::default()
        });
        s.up_to_done(|_| {});
        let cr = Tls12Message::CertificateRequest(Tls12CertificateRequest {
            certificate_types: LazyU8::from(types),
            schemes: LazyU16::from(server_schemes.clone()),
            authorities: LazyU16::from(vec![]),
        })
        .encode()
        .unwrap();
        s.accept(&cr);
        s.accept(&Tls12Message::ServerHelloDone.encode().unwrap());
        let offered = resolver.offered.lock().unwrap().clone();
        if want_offered.is_empty() {
            assert!(
                offered.is_empty(),
                "{what}: resolver asked with {offered:?}"
            );
        } else {
            assert_eq!(offered, vec![want_offered], "{what}");
        }
        let (msgs, _) = drain(&mut s.events);
        let types: Vec<u8> = msgs.iter().map(|m| m[0]).collect();
        if sends_cert {
            assert_eq!(msgs[0], [11, 0, 0, 8, 0, 0, 5, 0, 0, 2, 0x30, 0], "{what}");
            assert_eq!(
                types,
                [11, 16, 15, 20],
                "{what}: Certificate, ClientKeyExchange, CertificateVerify"
            );
            assert_eq!(&msgs[2][4..6], &scheme.get().to_be_bytes(), "{what}");
        } else {
            assert_eq!(msgs[0], [11, 0, 0, 3, 0, 0, 0], "{what}: empty Certificate");
            assert_eq!(types, [11, 16, 20], "{what}: no CertificateVerify");
        }
    }
}

/// A TLS 1.2 ServerHello with supported_groups (not a ServerHello extension, but real servers
/// send it and BoringSSL tolerates it: BoGo SupportedCurves-ServerHello-TLS12) completes; the
/// extension is still refused twice, and when we did not offer it (we always do).
#[test]
fn supported_groups_in_a_tls12_server_hello_is_tolerated() {
    let mut s = start(Opts::default());
    s.complete(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::SupportedGroups, &[0, 2, 0, 29]))
    });
    assert!(s.hs.is_complete());
    let mut s = start(Opts::default());
    let sh = s.server_hello(|sh| {
        for _ in 0..2 {
            sh.extensions
                .to_mut()
                .push(ext(ExtensionType::SupportedGroups, &[0, 2, 0, 29]));
        }
    });
    assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
}

/// `HandshakeConfig::verify_schemes` orders and restricts signature_algorithms (schemes the
/// verifier cannot check are left out; none left is a configuration error, in
/// `rejections.rs`), and the scheme
/// the server signed its ServerKeyExchange with is reported once it verified.
#[test]
fn verification_preferences_and_the_peer_signature_scheme() {
    use SignatureScheme as S;
    let mut s = start(Opts {
        verify_schemes: Some(vec![
            S::ECDSA_NISTP256_SHA256,
            S::Unknown(0x0a0a),
            S::ED25519,
        ]),
        ..Opts::default()
    });
    let offered = s.ch_has(ExtensionType::SignatureAlgorithms).unwrap();
    assert_eq!(offered, [0, 4, 0x04, 0x03, 0x08, 0x07]);
    s.up_to_done(|_| {});
    let reported: Vec<S> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PeerSignatureScheme(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert_eq!(reported, [S::ECDSA_NISTP256_SHA256]);

    // A ServerKeyExchange signed with a scheme left out by the preferences is refused.
    let mut s = start(Opts {
        verify_schemes: Some(vec![S::ED25519]),
        ..Opts::default()
    });
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let c = s.certificate();
    s.accept(&c);
    let ske = s.ske(NamedGroup::X25519, |_| {});
    assert_eq!(s.reject(&ske), Some(A::IllegalParameter));
}

#[test]
fn ocsp_stapling_and_scts_in_tls12() {
    let asking = || Opts {
        versions: vec![ProtocolVersion::TLSv1_2],
        extensions: overture_handshake::ExtensionOptions {
            status_request: true,
            signed_certificate_timestamps: true,
            ..Default::default()
        },
        ..Opts::default()
    };
    let mut s = start(asking());
    // RFC 6066 §8: ocsp, no responder ids, no extensions; RFC 6962 §3.3.1: empty.
    assert_eq!(
        s.ch_has(ExtensionType::StatusRequest),
        Some(vec![1, 0, 0, 0, 0])
    );
    assert_eq!(
        s.ch_has(ExtensionType::SignedCertificateTimestamp),
        Some(vec![])
    );
    let scts = [0, 4, 0, 2, 7, 7];
    let sh = s.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::StatusRequest, &[]));
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::SignedCertificateTimestamp, &scts));
    });
    s.accept(&sh);
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::SignedCertificateTimestamps(l) if l.as_slice() == scts))
    );
    let c = s.certificate();
    s.accept(&c);
    let status = Tls12Message::CertificateStatus(b"\x30\x00ocsp")
        .encode()
        .unwrap();
    s.accept(&status);
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::OcspResponse(r) if r.as_slice() == b"\x30\x00ocsp"))
    );
    // Only one CertificateStatus.
    let mut again = start(asking());
    let sh = again.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::StatusRequest, &[]))
    });
    again.accept(&sh);
    let c = again.certificate();
    again.accept(&c);
    again.accept(&status);
    assert_eq!(again.reject(&status), Some(A::UnexpectedMessage));
    // The ServerKeyExchange after it is signed over the same randoms: the handshake goes on.
    let ske = s.ske(NamedGroup::X25519, |_| {});
    s.accept(&ske);
    s.done();
    s.expect_ccs_then_read_key();
    let f = s.server_finished();
    s.accept(&f);
    assert!(s.hs.is_complete());

    // The server may leave the CertificateStatus out (RFC 6066 §8).
    let mut s = start(asking());
    s.up_to_done(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::StatusRequest, &[]))
    });
    assert!(!s.events.iter().any(|e| matches!(e, Event::OcspResponse(_))));

    // Refused: a CertificateStatus the ServerHello did not announce, an empty response
    // (BoGo RejectEmptyOCSPResponse), a non-empty status_request answer, an empty SCT list or
    // an empty SCT (BoGo SignedCertificateTimestampListEmpty*), and both when not asked for.
    let mut s = start(asking());
    let sh = s.server_hello(|_| {});
    s.accept(&sh);
    let c = s.certificate();
    s.accept(&c);
    assert_eq!(s.reject(&status), Some(A::UnexpectedMessage));
    let mut s = start(asking());
    let sh = s.server_hello(|sh| {
        sh.extensions
            .to_mut()
            .push(ext(ExtensionType::StatusRequest, &[]))
    });
    s.accept(&sh);
    let c = s.certificate();
    s.accept(&c);
    let empty = [22, 0, 0, 4, 1, 0, 0, 0];
    assert_eq!(s.reject(&empty), Some(A::DecodeError));
    let bad_sh: [(ExtensionType, &[u8]); 3] = [
        (ExtensionType::StatusRequest, &[1]),
        (ExtensionType::SignedCertificateTimestamp, &[0, 0]),
        (
            ExtensionType::SignedCertificateTimestamp,
            &[0, 6, 0, 2, 1, 2, 0, 0],
        ),
    ];
    for (typ, body) in bad_sh {
        let mut s = start(asking());
        let sh = s.server_hello(|sh| sh.extensions.to_mut().push(ext(typ, body)));
        assert_eq!(s.reject(&sh), Some(A::DecodeError), "{typ:?} {body:?}");
    }
    for typ in [
        ExtensionType::StatusRequest,
        ExtensionType::SignedCertificateTimestamp,
    ] {
        let mut s = start(Opts {
            versions: vec![ProtocolVersion::TLSv1_2],
            ..Opts::default()
        });
        assert_eq!(s.ch_has(typ), None);
        let sh = s.server_hello(|sh| sh.extensions.to_mut().push(ext(typ, &[])));
        assert_eq!(s.reject(&sh), Some(A::UnsupportedExtension), "{typ:?}");
    }
}

/// RFC 8446 D.3: "A client that attempts to send 0-RTT data MUST fail a connection if it
/// receives a ServerHello with TLS 1.2 or older" (BoGo EarlyDataVersionDowngrade-Client).
/// Without early data offered, the same TLS 1.2 answer is a normal fallback.
#[test]
fn tls12_after_early_data_is_refused() {
    for early in [true, false] {
        let mut t = ticket(CipherSuite::TLS13_AES_128_GCM_SHA256);
        t.max_early_data = Some(16384);
        let mut s = start(Opts {
            options: StartOptions {
                tls13_ticket: Some(t),
                ..StartOptions::default()
            },
            extensions: overture_handshake::ExtensionOptions {
                early_data: early,
                ..Default::default()
            },
            ..Opts::default()
        });
        assert_eq!(s.ch_has(ExtensionType::EarlyData).is_some(), early);
        let sh = s.server_hello(|_| {});
        if early {
            assert_eq!(s.reject(&sh), Some(A::IllegalParameter));
        } else {
            s.accept(&sh);
        }
    }
}

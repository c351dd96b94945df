//! RFC 8448 byte-exact: the client of each trace, with the trace's randomness and keys
//! injected through a deterministic test provider, must produce every client message byte for
//! byte and derive every secret the trace lists.
//!
//! Prints one line: `corpus rfc8448 [handshake]: R run, P passed, F failed, S skipped`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use common::Log;

use common::{PinnedVerifier, split_messages, verify_with_cert};
use overture_crypto_provider::{
    ActiveKeyExchange, CryptoProvider, Error as CryptoError, KeyExchange, SecureRandom, Signer,
    SupportedCipherSuite, ring, rustcrypto,
};
use overture_handshake::msgs::{Certificate, ClientExtension, Extension, HandshakeMessage};
use overture_handshake::{
    ClientCertResolver, ClientHandshake, Event, HandshakeConfig, StartOptions, TestHooks,
    Tls13Ticket,
};
use overture_types::{
    CertificateDer, CipherSuite, Codec, ExtensionType, ProtocolVersion, ServerName,
    SignatureScheme, UnixTime,
};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Summary = BTreeMap<String, Vec<u8>>;

#[derive(Debug)]
struct QueueRandom(Mutex<VecDeque<u8>>);

impl SecureRandom for QueueRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let mut q = self.0.lock().unwrap();
        if q.len() < buf.len() {
            return Err(CryptoError::RandomFailed);
        }
        for b in buf.iter_mut() {
            *b = q.pop_front().unwrap();
        }
        Ok(())
    }
}

/// A group whose `start` imports the trace's private key (RustCrypto).
#[derive(Debug)]
struct TraceKx {
    inner: &'static dyn KeyExchange,
    private: Vec<u8>,
}

impl KeyExchange for TraceKx {
    fn group(&self) -> overture_types::NamedGroup {
        self.inner.group()
    }
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, CryptoError> {
        self.inner.start_with_private_key(&self.private)
    }
}

/// Returns the trace's client CertificateVerify signature (RSA-PSS is randomized), after
/// checking that it verifies over exactly the content we were asked to sign.
#[derive(Debug)]
struct TraceSigner {
    scheme: SignatureScheme,
    signature: Vec<u8>,
    cert: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl Signer for TraceSigner {
    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        verify_with_cert(
            &self.provider,
            message,
            &self.cert,
            self.scheme,
            &self.signature,
        )
        .map_err(|_| CryptoError::SigningFailed)?;
        Ok(self.signature.clone())
    }
}

#[derive(Debug)]
struct TraceResolver {
    cert: Vec<u8>,
    scheme: SignatureScheme,
    signature: Vec<u8>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertResolver for TraceResolver {
    fn resolve(
        &self,
        offered: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)> {
        if !offered.contains(&self.scheme) {
            return None;
        }
        Some((
            vec![CertificateDer::from(self.cert.clone())],
            Box::new(TraceSigner {
                scheme: self.scheme,
                signature: self.signature.clone(),
                cert: self.cert.clone(),
                provider: self.provider.clone(),
            }),
        ))
    }
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

/// The extensions of a ClientHello message.
fn ch_extensions(msg: &[u8]) -> Vec<ClientExtension<'_>> {
    match HandshakeMessage::decode(msg).unwrap() {
        HandshakeMessage::ClientHello(ch) => ch.extensions.0.into_owned(),
        _ => panic!("not a ClientHello"),
    }
}

fn ch_key_share(msg: &[u8]) -> Vec<u8> {
    ch_extensions(msg)
        .into_iter()
        .find_map(|e| match e {
            ClientExtension::KeyShare(k) => Some(k.0[0].key_exchange.as_slice().to_vec()),
            _ => None,
        })
        .unwrap()
}

fn raw(e: &ClientExtension<'_>) -> Extension<'static> {
    let enc = e.get_encoding().unwrap();
    Extension::read_bytes(&enc).unwrap().into_owned()
}

struct Tally {
    run: usize,
    passed: usize,
    failures: Vec<String>,
    skips: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: String, ok: bool) {
        self.run += 1;
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what);
        }
    }
    fn eq(&mut self, what: String, got: Option<&[u8]>, want: &[u8]) {
        match got {
            Some(g) if g == want => self.check(what, true),
            Some(g) => self.check(
                format!("{what}: got {} want {}", hex::encode(g), hex::encode(want)),
                false,
            ),
            None => self.check(format!("{what}: never produced"), false),
        }
    }
}

/// Summary names that are inputs to the client (the server's messages and keys, the injected
/// randomness), not values the client derives or produces.
fn is_input(name: &str) -> bool {
    name.starts_with("server_")
        && !name.contains("secret")
        && !name.contains("write")
        && !name.contains("finished_key")
        && !name.contains("verify_data")
        && !name.ends_with("transcript_hash")
        || name.ends_with("_private_key")
        || matches!(
            name,
            "client_random"
                | "legacy_session_id"
                | "hello_retry_request"
                | "encrypted_extensions"
                | "certificate_request"
                | "new_session_ticket"
                | "ticket_nonce"
        )
}

/// The ticket of the simple 1-RTT trace (its NewSessionTicket and resumption PSK), which the
/// resumed trace's client offers. The trace's client measured a ticket age of 6 ms; our clock
/// (`UnixTime`) has second resolution, so the ticket arrives at `now` (age 0) and those 6 ms
/// are added to `age_add`: the obfuscated age is `age_ms + age_add` either way.
fn simple_trace_ticket(simple: &Summary, now: UnixTime) -> Tls13Ticket {
    let HandshakeMessage::NewSessionTicket(nst) =
        HandshakeMessage::decode(&simple["new_session_ticket"]).unwrap()
    else {
        panic!("not a NewSessionTicket")
    };
    let max_early_data = nst
        .extensions
        .iter()
        .find(|e| e.typ == ExtensionType::EarlyData)
        .map(|e| u32::read_bytes(e.data.as_slice()).unwrap());
    Tls13Ticket {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        ticket: nst.ticket.into_vec(),
        psk: overture_crypto_provider::Secret::new(&simple["resumption_psk"]).unwrap(),
        lifetime: nst.lifetime,
        age_add: nst.age_add.wrapping_add(6),
        max_early_data,
        received_at: now,
        server_name: ServerName::try_from("server").unwrap(),
        alpn: None,
    }
}

/// A TLS 1.3 record (RFC 8446 §5.2) of `plain` with content type `typ`, sealed under `key`
/// at sequence number `seq`, without padding.
fn seal13(key: &overture_handshake::TrafficKey, seq: u64, typ: u8, plain: &[u8]) -> Vec<u8> {
    let mut inner = plain.to_vec();
    inner.push(typ);
    let len = (inner.len() + overture_crypto_provider::TAG_LEN) as u16;
    let mut record = vec![23, 3, 3];
    record.extend_from_slice(&len.to_be_bytes());
    let tag = key
        .aead
        .with_key(key.key.as_bytes())
        .unwrap()
        .seal_in_place(
            overture_crypto_provider::Nonce::xor_seq(&key.iv, seq),
            &record,
            &mut inner,
        )
        .unwrap();
    record.extend_from_slice(&inner);
    record.extend_from_slice(tag.as_ref());
    record
}

fn summary(trace: &serde_json::Value) -> Summary {
    trace["summary"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), hex::decode(v.as_str().unwrap()).unwrap()))
        .collect()
}

fn run_trace(name: &str, trace: &serde_json::Value, simple: &Summary, tally: &mut Tally) {
    let s: Summary = summary(trace);
    let resumed = s.contains_key("psk_binder");
    let messages: Vec<(String, String, Vec<u8>)> = trace["handshake_messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["sender"].as_str().unwrap().to_string(),
                m["type"].as_str().unwrap().to_string(),
                hex::decode(m["data"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let compat = s.contains_key("legacy_session_id");
    let trace_chs: Vec<Vec<u8>> = messages
        .iter()
        .filter(|(_, t, _)| t == "ClientHello")
        .map(|(_, _, d)| d.clone())
        .collect();

    // Randomness: client_random, then the compat-mode session id.
    let mut random: VecDeque<u8> = s["client_random"].iter().copied().collect();
    if let Some(sid) = s.get("legacy_session_id") {
        random.extend(sid.iter().copied());
    }
    // Groups in NSS's supported_groups order, as far as overture implements them; the trace's
    // private keys are imported (RustCrypto), other groups are real.
    let mut kx: Vec<&'static dyn KeyExchange> = Vec::new();
    let x = leak(TraceKx {
        inner: &rustcrypto::X25519,
        private: s["client_x25519_private_key"].clone(),
    });
    kx.push(x);
    match s.get("client_secp256r1_private_key") {
        Some(k) => kx.push(leak(TraceKx {
            inner: &rustcrypto::SECP256R1,
            private: k.clone(),
        })),
        None => kx.push(&rustcrypto::SECP256R1),
    }
    kx.push(&rustcrypto::SECP384R1);
    // NSS's suite order: 0x1301, 0x1303, 0x1302.
    let suites = vec![
        SupportedCipherSuite::Tls13(&ring::TLS13_AES_128_GCM_SHA256),
        SupportedCipherSuite::Tls13(&ring::TLS13_CHACHA20_POLY1305_SHA256),
        SupportedCipherSuite::Tls13(&ring::TLS13_AES_256_GCM_SHA384),
    ];
    let provider = Arc::new(CryptoProvider {
        cipher_suites: suites,
        kx_groups: kx,
        secure_random: leak(QueueRandom(Mutex::new(random))),
        ..ring::default_provider()
    });
    // NSS's signature_algorithms list, offered through the verifier (a configuration choice).
    let nss_schemes: Vec<SignatureScheme> = ch_extensions(&trace_chs[0])
        .into_iter()
        .find_map(|e| match e {
            ClientExtension::SignatureAlgorithms(v) => Some(v.0.into_owned()),
            _ => None,
        })
        .unwrap();
    // The resumed trace has no Certificate: its server is the simple trace's.
    let server_cert_msg = s
        .get("server_certificate")
        .unwrap_or(&simple["server_certificate"]);
    let HandshakeMessage::Certificate(Certificate { entries, .. }) =
        HandshakeMessage::decode(server_cert_msg).unwrap()
    else {
        panic!()
    };
    let verifier = Arc::new(PinnedVerifier {
        cert: entries.iter().next().unwrap().cert_data.into_vec(),
        name: "server".into(),
        provider: provider.clone(),
        schemes: nss_schemes,
    });
    let client_auth: Option<Arc<dyn ClientCertResolver>> = s.get("client_certificate").map(|m| {
        let HandshakeMessage::Certificate(c) = HandshakeMessage::decode(m).unwrap() else {
            panic!()
        };
        let HandshakeMessage::CertificateVerify(cv) =
            HandshakeMessage::decode(&s["client_certificate_verify"]).unwrap()
        else {
            panic!()
        };
        Arc::new(TraceResolver {
            cert: c.entries.iter().next().unwrap().cert_data.into_vec(),
            scheme: cv.scheme,
            signature: cv.signature.into_vec(),
            provider: provider.clone(),
        }) as Arc<dyn ClientCertResolver>
    });
    let log = Arc::new(Log::default());
    let config = Arc::new(HandshakeConfig {
        provider: provider.clone(),
        versions: vec![ProtocolVersion::TLSv1_3],
        alpn_protocols: vec![],
        enable_sni: true,
        middlebox_compat: compat,
        verifier,
        client_auth,
        verify_schemes: None,
        signing_schemes: None,
        key_log: Some(log.clone()),
        // NSS offers record_size_limit 16385 and early data (with the resumed trace's
        // ticket); it does not compress certificates.
        extensions: overture_handshake::ExtensionOptions {
            cert_compression: vec![],
            record_size_limit: Some(16385),
            early_data: true,
            ..Default::default()
        },
    });

    // The ClientHello hook: NSS sends extensions overture does not (renegotiation_info,
    // session_ticket, padding) and offers groups overture does not implement. The hook
    // inserts exactly those, taken from the trace, at NSS's positions; every other extension
    // (early_data and record_size_limit included) stays ours, in our order.
    let nss_only = [
        ExtensionType::RenegotiationInfo,
        ExtensionType::SessionTicket,
        ExtensionType::Padding,
    ];
    let injected: Arc<Mutex<Vec<String>>> = Arc::default();
    let hello_count = Arc::new(Mutex::new(0usize));
    let chs = trace_chs.clone();
    let inj = injected.clone();
    let hc = hello_count.clone();
    let hook = move |exts: &mut Vec<ClientExtension>| {
        let mut n = hc.lock().unwrap();
        let Some(trace_ch) = chs.get(*n) else { return };
        *n += 1;
        let which = if chs.len() > 1 {
            format!("ClientHello {}", *n)
        } else {
            "ClientHello".to_string()
        };
        let theirs = ch_extensions(trace_ch);
        let mut ours: VecDeque<ClientExtension> = exts.drain(..).collect();
        for t in theirs {
            let typ = t.typ();
            if nss_only.contains(&typ) {
                inj.lock().unwrap().push(format!("{which} {typ}"));
                exts.push(ClientExtension::Other(raw(&t)));
            } else if let Some(mut o) = ours.pop_front() {
                if let (
                    ClientExtension::SupportedGroups(mine),
                    ClientExtension::SupportedGroups(nss),
                ) = (&mut o, &t)
                    && mine.as_slice() != nss.as_slice()
                {
                    inj.lock()
                        .unwrap()
                        .push(format!("{which} supported_groups list (secp521r1, ffdhe*)"));
                    *mine = nss.clone().into_owned();
                }
                exts.push(o);
            }
        }
        exts.extend(ours);
    };
    let observed: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
    let obs = observed.clone();
    let hooks = TestHooks {
        client_hello: Some(Arc::new(hook)),
        observe: Some(Arc::new(move |n: &str, v: &[u8]| {
            obs.lock()
                .unwrap()
                .entry(n.to_string())
                .or_insert_with(|| v.to_vec());
        })),
    };

    let now = UnixTime::since_unix_epoch(Duration::from_secs(1_550_000_000));
    let mut events = Vec::new();
    let options = StartOptions {
        tls13_ticket: resumed.then(|| simple_trace_ticket(simple, now)),
        hooks,
        ..StartOptions::default()
    };
    let mut hs = match ClientHandshake::start(
        config,
        ServerName::try_from("server").unwrap(),
        now,
        options,
        &mut events,
    ) {
        Ok(hs) => hs,
        Err(e) => {
            tally.check(format!("{name}: start: {e}"), false);
            return;
        }
    };
    let mut sent: VecDeque<Vec<u8>> = VecDeque::new();
    let mut all_events = Vec::new();
    let absorb = |events: &mut Vec<Event>, sent: &mut VecDeque<Vec<u8>>, all: &mut Vec<Event>| {
        for ev in events.drain(..) {
            if let Event::Send { bytes, .. } = &ev {
                sent.extend(split_messages(bytes));
            }
            all.push(ev);
        }
    };
    absorb(&mut events, &mut sent, &mut all_events);
    let mut produced: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut ch_index = 0;
    for (sender, typ, data) in &messages {
        if sender == "server" {
            if let Err(e) = hs.handle(data, now, &mut events) {
                tally.check(
                    format!("{name}: the client rejected the server's {typ}: {e}"),
                    false,
                );
                return;
            }
            absorb(&mut events, &mut sent, &mut all_events);
            continue;
        }
        let Some(ours) = sent.pop_front() else {
            tally.check(format!("{name}: the client did not send its {typ}"), false);
            return;
        };
        let key = match typ.as_str() {
            "ClientHello" if trace_chs.len() > 1 => {
                ch_index += 1;
                format!("client_hello_{ch_index}")
            }
            "ClientHello" => "client_hello".into(),
            "Certificate" => "client_certificate".into(),
            "CertificateVerify" => "client_certificate_verify".into(),
            "Finished" => "client_finished".into(),
            "EndOfEarlyData" => "end_of_early_data".into(),
            other => format!("client {other}"),
        };
        tally.eq(format!("{name}: {key} byte-exact"), Some(&ours), data);
        if typ == "ClientHello" {
            let share = ch_key_share(&ours);
            let k = if share.len() == 32 {
                "client_x25519_public_key"
            } else {
                "client_secp256r1_public_key"
            };
            produced.insert(k.into(), share);
        }
        produced.insert(key, ours);
    }
    if let Some(extra) = sent.pop_front() {
        tally.check(
            format!("{name}: extra message sent: {}", hex::encode(extra)),
            false,
        );
    }

    // Keys from the events, in order.
    let (mut reads, mut writes) = (0, 0);
    let mut ccs_before_flight = false;
    let mut seen_ccs = false;
    for ev in &all_events {
        match ev {
            Event::InstallReadKey(k) => {
                let dir = if reads == 0 {
                    "server_handshake"
                } else {
                    "server_application"
                };
                reads += 1;
                produced.insert(format!("{dir}_write_key"), k.key.as_bytes().to_vec());
                produced.insert(format!("{dir}_write_iv"), k.iv.to_vec());
            }
            Event::InstallEarlyWriteKey { key, .. } => {
                produced.insert("client_early_write_key".into(), key.key.as_bytes().to_vec());
                produced.insert("client_early_write_iv".into(), key.iv.to_vec());
            }
            Event::InstallWriteKey(k) => {
                let dirs: &[&str] = &["client_handshake", "client_application"];
                let dir = dirs
                    .get(writes)
                    .copied()
                    .unwrap_or("client_application_next");
                writes += 1;
                produced.insert(format!("{dir}_write_key"), k.key.as_bytes().to_vec());
                produced.insert(format!("{dir}_write_iv"), k.iv.to_vec());
            }
            Event::SendCcs => seen_ccs = true,
            Event::Send {
                level: overture_handshake::Level::Handshake,
                ..
            } => {
                ccs_before_flight = seen_ccs;
            }
            Event::NewSessionTicket(t) => {
                produced.insert("resumption_psk".into(), t.psk.as_bytes().to_vec());
            }
            _ => {}
        }
    }
    if compat {
        tally.check(
            format!("{name}: one ChangeCipherSpec before the client's second flight"),
            ccs_before_flight
                && all_events
                    .iter()
                    .filter(|e| matches!(e, Event::SendCcs))
                    .count()
                    == 1,
        );
    } else {
        tally.check(
            format!("{name}: no ChangeCipherSpec without compat mode"),
            !seen_ccs,
        );
    }
    tally.check(
        format!("{name}: handshake complete"),
        all_events.iter().any(|e| matches!(e, Event::Complete)),
    );
    tally.check(
        format!("{name}: resumed exactly when a ticket was offered"),
        all_events.iter().any(|e| matches!(e, Event::Resumed)) == resumed,
    );
    if resumed {
        tally.check(
            format!("{name}: no certificate when resumed"),
            !all_events
                .iter()
                .any(|e| matches!(e, Event::PeerCertificates(_))),
        );
    }

    // Every value the trace lists that the client produces or derives.
    let observed = observed.lock().unwrap();
    for (key, want) in &s {
        if is_input(key) || key == "server_certificate" {
            continue;
        }
        if key == "early_data" {
            // The 0-RTT application data, sealed under our early key at sequence 0, must be
            // the trace's record byte for byte (and EndOfEarlyData, at sequence 1, too).
            let early_key = all_events.iter().find_map(|e| match e {
                Event::InstallEarlyWriteKey { key, .. } => Some(key),
                _ => None,
            });
            for (seq, typ, plain) in [
                (0u64, 23u8, want.clone()),
                (1, 22, s["end_of_early_data"].clone()),
            ] {
                let record = trace["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| {
                        r["protection"] == "client_early_write_key/iv"
                            && r["sequence_number"] == seq
                    })
                    .map(|r| hex::decode(r["record"].as_str().unwrap()).unwrap())
                    .unwrap();
                let sealed = early_key.map(|k| seal13(k, seq, typ, &plain));
                tally.eq(
                    format!("{name}: early record {seq} (content type {typ}) byte-exact"),
                    sealed.as_deref(),
                    &record,
                );
            }
            continue;
        }
        let got = produced.get(key).or_else(|| observed.get(key));
        tally.eq(format!("{name}: {key}"), got.map(Vec::as_slice), want);
    }
    // The key log, NSS labels.
    let lines = log.0.lock().unwrap();
    for (label, secret) in [
        (
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "client_handshake_traffic_secret",
        ),
        (
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "server_handshake_traffic_secret",
        ),
        (
            "CLIENT_TRAFFIC_SECRET_0",
            "client_application_traffic_secret_0",
        ),
        (
            "SERVER_TRAFFIC_SECRET_0",
            "server_application_traffic_secret_0",
        ),
        ("EXPORTER_SECRET", "exporter_master_secret"),
        ("CLIENT_EARLY_TRAFFIC_SECRET", "client_early_traffic_secret"),
    ] {
        if !s.contains_key(secret) {
            continue;
        }
        let got = lines
            .iter()
            .find(|(l, r, _)| l == label && r == &s["client_random"])
            .map(|(_, _, v)| v.as_slice());
        tally.eq(format!("{name}: key log {label}"), got, &s[secret]);
    }
    let mut inj = injected.lock().unwrap().clone();
    inj.dedup();
    for what in inj {
        tally.skips.push(format!(
            "{name}: {what}: NSS-specific, not produced by overture (inserted by the test hook \
             from the trace)"
        ));
    }
}

#[test]
fn rfc8448() {
    let json = common::rfc8448();
    let mut tally = Tally {
        run: 0,
        passed: 0,
        failures: vec![],
        skips: vec![],
    };
    let simple = summary(&json["traces"]["simple_1rtt"]);
    for (name, trace) in json["traces"].as_object().unwrap() {
        run_trace(name, trace, &simple, &mut tally);
    }
    let skipped = tally.skips.len();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &tally.skips {
        *reasons.entry(r.as_str()).or_default() += 1;
    }
    for (r, n) in &reasons {
        println!("  skip ({n}): {r}");
    }
    for f in &tally.failures {
        println!("  FAIL: {f}");
    }
    println!(
        "corpus rfc8448 [handshake]: {} run, {} passed, {} failed, {} skipped",
        tally.run,
        tally.passed,
        tally.failures.len(),
        skipped
    );
    assert!(
        tally.failures.is_empty(),
        "{} RFC 8448 checks failed",
        tally.failures.len()
    );
    assert!(tally.run > 150, "too few checks ran: {}", tally.run);
}

//! The `tracing` output of real handshakes with an in-process rustls server: what is traced
//! (messages, key changes, alerts, failures with the peer's subjects) and that no secret from
//! the key log ever appears in it, neither as hex nor as raw bytes.

#![cfg(feature = "tracing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::SocketBio;
use overture::handshake::KeyLog;
use overture::{ClientConfig, ErrorKind, Ssl};
use overture_tests::{KeyKind, Pki, RustlsServer, rustls_server_config};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// A subscriber that records every span and event with every field, as text and as raw bytes
/// (`record_bytes`), in one growing log.
#[derive(Clone, Default)]
struct Recorder {
    log: Arc<Mutex<Vec<u8>>>,
    next_id: Arc<Mutex<u64>>,
}

struct Fields<'a>(&'a mut Vec<u8>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .extend_from_slice(format!(" {}={value:?}", field.name()).as_bytes());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .extend_from_slice(format!(" {}={value}", field.name()).as_bytes());
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.0
            .extend_from_slice(format!(" {}=", field.name()).as_bytes());
        self.0.extend_from_slice(value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut log = self.log.lock().unwrap();
        log.extend_from_slice(format!("span {}", span.metadata().name()).as_bytes());
        span.record(&mut Fields(&mut log));
        log.push(b'\n');
        let mut id = self.next_id.lock().unwrap();
        *id += 1;
        Id::from_u64(*id)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut log = self.log.lock().unwrap();
        values.record(&mut Fields(&mut log));
        log.push(b'\n');
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut log = self.log.lock().unwrap();
        log.extend_from_slice(format!("event {}", event.metadata().target()).as_bytes());
        event.record(&mut Fields(&mut log));
        log.push(b'\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Logged secrets: label and secret.
type Logged = Vec<(String, Vec<u8>)>;

/// Every secret the handshake logged, with its label.
#[derive(Default)]
struct Secrets(Mutex<Logged>);

impl KeyLog for Secrets {
    fn log(&self, label: &str, _client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_string(), secret.to_vec()));
    }
}

/// Whether `secret` appears in `log` as raw bytes or as lower- or upper-case hex.
fn leaks(log: &[u8], secret: &[u8]) -> bool {
    let hex: String = secret.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    });
    let contains = |needle: &[u8]| log.windows(needle.len()).any(|w| w == needle);
    contains(secret) || contains(hex.as_bytes()) || contains(hex.to_uppercase().as_bytes())
}

/// Handshakes with `server` under the recorder, echoes a few bytes and closes: the trace and
/// the logged secrets.
fn traced_session(
    ca: &Pki,
    server: &RustlsServer,
) -> (String, Logged, Result<(), overture::Error>) {
    let secrets = Arc::new(Secrets::default());
    let config = ClientConfig::builder()
        .with_ca_file(&ca.ca_pem)
        .unwrap()
        .with_key_log(secrets.clone())
        .build()
        .unwrap();
    let recorder = Recorder::default();
    let result = tracing::subscriber::with_default(recorder.clone(), || {
        let mut ssl = Ssl::new(&config, "localhost")?;
        ssl.set_socket(SocketBio::connect(server.addr).unwrap())?;
        ssl.connect()?;
        assert_eq!(ssl.write(b"ping")?, 4);
        let mut buf = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            got += ssl.read(&mut buf[got..])?;
        }
        assert_eq!(&buf, b"ping");
        ssl.shutdown().map(|_| ())
    });
    let log = recorder.log.lock().unwrap().clone();
    let secrets = secrets.0.lock().unwrap().clone();
    (String::from_utf8(log).unwrap(), secrets, result)
}

#[test]
fn the_trace_shows_the_handshake_and_never_a_key_log_secret() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    for (version, expected_labels) in [(&rustls::version::TLS13, 5), (&rustls::version::TLS12, 1)] {
        let server = RustlsServer::start(rustls_server_config(&pki, &[version], &[], &[]));
        let (trace, secrets, result) = traced_session(&pki, &server);
        result.unwrap();
        assert!(secrets.len() >= expected_labels, "{secrets:?}");
        for (label, secret) in &secrets {
            assert!(secret.len() >= 32, "{label}");
            assert!(
                !leaks(trace.as_bytes(), secret),
                "{label} appears in the trace:\n{trace}"
            );
        }
        // The trace is the handshake: spans, each message both ways, keys, the close.
        for needle in [
            "span connection server_name=localhost",
            "span handshake",
            "direction=sent msg_type=client_hello",
            "direction=received msg_type=server_hello",
            "direction=received msg_type=certificate",
            "direction=received msg_type=finished",
            "direction=sent msg_type=finished",
            "key=read generation=1",
            "key=write generation=1",
        ] {
            assert!(trace.contains(needle), "no `{needle}` in:\n{trace}");
        }
        let name = if version == &rustls::version::TLS13 {
            "TLSv1.3"
        } else {
            "TLSv1.2"
        };
        let close = format!("direction=sent version={name} level=warning description=close_notify");
        assert!(trace.contains(&close), "no `{close}` in:\n{trace}");
        // The first ClientHello in a TLS 1.0 record (RFC 8446 §5.1), later messages in TLS 1.2
        // ones; `version` says the highest offered until the ServerHello is processed.
        let hello = trace
            .lines()
            .find(|l| l.contains("msg_type=client_hello"))
            .unwrap();
        assert!(
            hello.ends_with("version=TLSv1.3 record_version=TLSv1"),
            "{hello}"
        );
        let server_hello = trace
            .lines()
            .find(|l| l.contains("msg_type=server_hello"))
            .unwrap();
        assert!(server_hello.ends_with("version=TLSv1.3"), "{server_hello}");
        let finished = "direction=sent msg_type=finished length=";
        let finished = trace.lines().find(|l| l.contains(finished)).unwrap();
        assert!(
            finished.ends_with(&format!("version={name} record_version=TLSv1.2")),
            "{finished}"
        );
        if version == &rustls::version::TLS13 {
            // Handshake then application traffic keys; the server's tickets after the handshake.
            assert!(trace.contains("key=read generation=2"), "{trace}");
            assert!(trace.contains("version=TLSv1.3"), "{trace}");
            assert!(trace.contains("msg_type=encrypted_extensions"), "{trace}");
        } else {
            assert!(trace.contains("msg_type=server_key_exchange"), "{trace}");
            for dir in ["sent", "received"] {
                let ccs = format!("message=change cipher spec direction={dir} version=TLSv1.2");
                assert!(trace.contains(&ccs), "no `{ccs}` in:\n{trace}");
            }
            assert!(trace.contains("version=TLSv1.2"), "{trace}");
        }
        // The check itself finds a secret that is there (hex in a field, or raw bytes).
        let (_, secret) = &secrets[0];
        let mut planted = trace.clone().into_bytes();
        planted.extend_from_slice(format!(" leaked={}", hex(secret)).as_bytes());
        assert!(leaks(&planted, secret));
        let mut raw = trace.into_bytes();
        raw.extend_from_slice(secret);
        assert!(leaks(&raw, secret));
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, b| {
        write!(s, "{b:02X}").unwrap();
        s
    })
}

#[test]
fn a_failure_is_traced_with_its_reason_alert_and_the_peer_subjects() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    // The client trusts another root: verification fails after the server's Certificate.
    let (trace, _, result) = traced_session(&other, &server);
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ssl, "{err}");
    let alert = err.alert_sent().unwrap();
    assert!(
        trace.contains(&format!(
            "direction=sent version=TLSv1.3 level=fatal description={alert}"
        )),
        "{trace}"
    );
    let failure = trace
        .lines()
        .find(|l| l.contains("message=failure"))
        .unwrap_or_else(|| panic!("no failure event in:\n{trace}"));
    assert!(
        failure.contains(&format!("alert_sent={}", alert.get())),
        "{failure}"
    );
    assert!(failure.contains(err.reason()), "{failure}");
    assert!(
        failure.contains("peer_subjects=CN=localhost; CN=Overture Test Intermediate CA"),
        "{failure}"
    );
}

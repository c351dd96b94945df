//! The `overture` client against an in-process rustls server (every TLS 1.3 suite × group ×
//! certificate type, over blocking, non-blocking and BIO-pair transports), the SSL_connect
//! contract, negative cases, and the swappable pieces.
//!
//! The suite runs once per provider: `ClientConfig::builder()` follows this crate's `ring`
//! (default) / `rustcrypto` feature, and `cargo xtask ci` runs this file a second time with
//! `--no-default-features --features rustcrypto`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::{Bio, BioPair, BioPairEnd, SocketBio, Transfer};
use overture::types::{AlertDescription, CipherSuite, NamedGroup, ProtocolVersion};
use overture::{ClientConfig, Error, ErrorKind, Negotiated, Ssl};
use overture_tests::{
    KeyKind, Pki, RustlsServer, ScriptedServer, Validity, read_record, rustls_config_with_chain,
    rustls_server_config,
};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
];
const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::secp256r1,
    NamedGroup::secp384r1,
];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Blocking,
    NonBlocking,
    Pair,
}

/// A config for full handshakes: no session store, so every connection verifies the chain
/// (resumption has its own tests in `resumption.rs`).
fn config(pki: &Pki, suite: Option<CipherSuite>, group: Option<NamedGroup>) -> ClientConfig {
    let mut b = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_session_store(None);
    if let Some(s) = suite {
        b = b.with_cipher_suites(&[s]).unwrap();
    }
    if let Some(g) = group {
        b = b.with_groups(&[g]).unwrap();
    }
    b.build().unwrap()
}

/// Connects in `mode`, then echoes a line through the server. Returns the negotiated values.
fn connect_and_echo(
    config: &ClientConfig,
    addr: SocketAddr,
    mode: Mode,
) -> Result<Negotiated, Error> {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut pump: Option<(BioPairEnd, TcpStream)> = None;
    match mode {
        Mode::Blocking => ssl.set_bio(Box::new(SocketBio::new(tcp))),
        Mode::NonBlocking => {
            let s = SocketBio::new(tcp);
            s.set_nonblocking(true).unwrap();
            ssl.set_bio(Box::new(s));
        }
        Mode::Pair => {
            let (near, far) = BioPair::new(4096).unwrap();
            ssl.set_bio(Box::new(near));
            pump = Some((far, tcp));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut step = |ssl: &mut Ssl, kind: ErrorKind| {
        assert!(Instant::now() < deadline, "no progress");
        match &mut pump {
            Some((far, tcp)) => pump_pair(far, tcp, kind),
            None => std::thread::sleep(Duration::from_micros(200)),
        }
        let _ = ssl;
    };
    let negotiated = loop {
        match ssl.connect() {
            Ok(n) => break n,
            Err(e) if e.kind().is_retry() => {
                assert_ne!(mode, Mode::Blocking, "a blocking BIO never wants");
                step(&mut ssl, e.kind());
            }
            Err(e) => return Err(e),
        }
    };
    // After success, connect() is a no-op Ok.
    assert_eq!(
        ssl.connect().unwrap().cipher_suite(),
        negotiated.cipher_suite()
    );
    let line = b"the quick brown fox\n";
    let mut off = 0;
    while off < line.len() {
        match ssl.write(&line[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind().is_retry() => step(&mut ssl, e.kind()),
            Err(e) => return Err(e),
        }
    }
    loop {
        match ssl.flush() {
            Ok(()) => break,
            Err(e) if e.kind().is_retry() => step(&mut ssl, e.kind()),
            Err(e) => return Err(e),
        }
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < line.len() {
        match ssl.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind().is_retry() => step(&mut ssl, e.kind()),
            Err(e) => return Err(e),
        }
    }
    assert_eq!(got, line);
    Ok(negotiated)
}

fn pump_pair(far: &mut BioPairEnd, tcp: &mut TcpStream, kind: ErrorKind) {
    let mut buf = [0u8; 4096];
    while let Ok(Transfer::Bytes(n)) = far.read(&mut buf) {
        tcp.write_all(&buf[..n]).unwrap();
    }
    if kind == ErrorKind::WantRead {
        let room = far.write_guarantee().min(buf.len());
        if room == 0 {
            return;
        }
        let n = tcp.read(&mut buf[..room]).unwrap();
        if n == 0 {
            far.shutdown_write().unwrap();
            return;
        }
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            match far.write(chunk).unwrap() {
                Transfer::Bytes(w) => chunk = &chunk[w..],
                _ => panic!("pair full after write_guarantee"),
            }
        }
    }
}

#[test]
fn rustls_server_every_suite_group_and_cert() {
    let (mut run, mut passed) = (0, 0);
    let mut failures = vec![];
    for kind in KeyKind::ALL {
        let pki = Pki::new(kind);
        let server = RustlsServer::start(rustls_server_config(
            &pki,
            &[&rustls::version::TLS13],
            &[],
            &[],
        ));
        for suite in SUITES {
            for group in GROUPS {
                let cfg = config(&pki, Some(suite), Some(group));
                for mode in [Mode::Blocking, Mode::NonBlocking, Mode::Pair] {
                    run += 1;
                    match connect_and_echo(&cfg, server.addr, mode) {
                        Ok(n)
                            if n.version() == ProtocolVersion::TLSv1_3
                                && n.cipher_suite() == suite
                                && n.group() == Some(group)
                                && n.peer_chain().len() == 2 =>
                        {
                            passed += 1
                        }
                        Ok(n) => failures.push(format!(
                            "{kind:?} {suite} {group} {mode:?}: negotiated {n:?}"
                        )),
                        Err(e) => failures.push(format!("{kind:?} {suite} {group} {mode:?}: {e}")),
                    }
                }
            }
        }
    }
    println!("interop rustls TLSv1.3 (suite x group x cert x transport): {passed}/{run} passed");
    for f in &failures {
        eprintln!("FAILED: {f}");
    }
    assert!(failures.is_empty());
}

/// Runs a handshake expected to fail and returns the error.
fn handshake_error(config: &ClientConfig, addr: SocketAddr, name: &str) -> (Error, Ssl) {
    let mut ssl = Ssl::new(config, name).unwrap();
    let s = SocketBio::new(TcpStream::connect(addr).unwrap());
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ssl.set_bio(Box::new(s));
    let e = ssl.connect().expect_err("the handshake must fail");
    // After a fatal error, connect() returns the same error again.
    let again = ssl.connect().expect_err("still failed");
    assert_eq!(again.kind(), e.kind());
    assert_eq!(again.alert_sent(), e.alert_sent());
    (e, ssl)
}

#[test]
fn certificate_failures_send_the_right_alert() {
    // Expired leaf.
    let pki = Pki::build(KeyKind::EcdsaP256, Validity::Expired, &["localhost"]);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(
        (e.kind(), e.alert_sent()),
        (ErrorKind::Ssl, Some(AlertDescription::CertificateExpired)),
        "{e}"
    );
    // The cause stays typed and reachable (no matching on the text), with its times: the
    // fixture's leaf expired yesterday.
    match e.certificate_error() {
        Some(overture::handshake::CertificateError::Expired { not_after, now }) => {
            let late = now.as_secs() - not_after.as_secs();
            assert!((1..=3 * 86_400).contains(&late), "{late} s late: {e}");
        }
        other => panic!("{other:?}: {e}"),
    }
    assert!(e.to_string().contains("notAfter"), "{e}");

    // A leaf valid from tomorrow: the same alert, its own typed variant with the times.
    let pki = Pki::build(KeyKind::EcdsaP256, Validity::NotYetValid, &["localhost"]);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(
        e.alert_sent(),
        Some(AlertDescription::CertificateExpired),
        "{e}"
    );
    match e.certificate_error() {
        Some(overture::handshake::CertificateError::NotValidYet { not_before, now }) => {
            let early = not_before.as_secs() - now.as_secs();
            assert!((1..=3 * 86_400).contains(&early), "{early} s early: {e}");
        }
        other => panic!("{other:?}: {e}"),
    }
    assert!(e.to_string().contains("notBefore"), "{e}");
    assert!(std::error::Error::source(&e).is_some());

    // Wrong name.
    let pki = Pki::build(KeyKind::EcdsaP256, Validity::Current, &["example.com"]);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let (e, ssl) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(e.kind(), ErrorKind::Ssl, "{e}");
    assert_eq!(
        e.alert_sent(),
        Some(AlertDescription::BadCertificate),
        "{e}"
    );
    assert_eq!(
        ssl.peer_certificates().len(),
        2,
        "the chain stays inspectable"
    );

    // Untrusted root: the client trusts another CA.
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let (e, _) = handshake_error(&config(&other, None, None), server.addr, "localhost");
    assert_eq!(e.alert_sent(), Some(AlertDescription::UnknownCa), "{e}");

    // Incomplete chain: the server leaves out the intermediate.
    let server = RustlsServer::start(rustls_config_with_chain(
        vec![pki.chain[0].clone()],
        pki.private_key(),
    ));
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(e.alert_sent(), Some(AlertDescription::UnknownCa), "{e}");

    // Self-signed: a leaf for "localhost" signed by its own key, trusted by nobody.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let server = RustlsServer::start(rustls_config_with_chain(
        vec![leaf.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    ));
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(
        (e.kind(), e.alert_sent()),
        (ErrorKind::Ssl, Some(AlertDescription::UnknownCa)),
        "{e}"
    );
}

/// Issue 18 (g): like OpenSSL 3 ("unexpected eof while reading"), an EOF in the handshake is
/// `SSL_ERROR_SSL` with a decode_error alert, not `SSL_ERROR_SYSCALL`; the I/O kind still says
/// what happened. `UnexpectedEof::Syscall` gives OpenSSL 1.1.1's behaviour.
#[test]
fn server_that_closes_mid_handshake_is_an_ssl_error_like_openssl_3() {
    let server = ScriptedServer::start(|mut tcp| {
        let _ = read_record(&mut tcp); // the ClientHello
        // and hang up without a word
    });
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(e.kind(), ErrorKind::Ssl, "{e}");
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::UnexpectedEof), "{e}");
    // OpenSSL 3 also tells a peer that may still be reading (it closed only its side).
    assert_eq!(e.alert_sent(), Some(AlertDescription::DecodeError), "{e}");

    // The OpenSSL 1.1.1 behaviour, on request: SSL_ERROR_SYSCALL.
    let server = ScriptedServer::start(|mut tcp| {
        let _ = read_record(&mut tcp);
    });
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_unexpected_eof(overture::UnexpectedEof::Syscall)
        .build()
        .unwrap();
    let (e, ssl) = handshake_error(&config, server.addr, "localhost");
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::UnexpectedEof), "{e}");
    assert_eq!(e.alert_sent(), None, "{e}");
    assert_eq!(
        overture::compat::get_error(&ssl, -1),
        overture::compat::SSL_ERROR_SYSCALL
    );
}

#[test]
fn fatal_alert_from_the_server_is_named() {
    let server = ScriptedServer::start(|mut tcp| {
        let _ = read_record(&mut tcp);
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]); // fatal handshake_failure
    });
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (e, _) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(e.kind(), ErrorKind::Ssl, "{e}");
    assert_eq!(
        e.alert_received(),
        Some(AlertDescription::HandshakeFailure),
        "{e}"
    );
    assert_eq!(e.alert_sent(), None);
}

/// Issue 18 (c): OpenSSL's `SSL_connect` returns -1 with `SSL_ERROR_SSL` for a fatal alert
/// from the peer (0 would read as a controlled shutdown).
#[test]
fn compat_connect_returns_minus_one_and_ssl_error_on_a_fatal_alert() {
    let server = ScriptedServer::start(|mut tcp| {
        let _ = read_record(&mut tcp);
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 2, 40]); // fatal handshake_failure
    });
    let pki = Pki::new(KeyKind::EcdsaP256);
    let mut ssl = Ssl::new(&config(&pki, None, None), "localhost").unwrap();
    ssl.set_socket(SocketBio::connect(server.addr).unwrap())
        .unwrap();
    let ret = overture::compat::connect(&mut ssl);
    assert_eq!(ret, -1);
    assert_eq!(
        overture::compat::get_error(&ssl, ret),
        overture::compat::SSL_ERROR_SSL
    );
}

/// Issue 18 (d): a blocking socket's receive timeout (`SO_RCVTIMEO`) is a retry, as OpenSSL's
/// socket BIO reports it: `connect()` wants read, and calling it again continues the handshake
/// (the connect-with-timeout idiom).
#[test]
fn socket_receive_timeout_wants_read_and_connect_continues() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server_config = rustls_server_config(&pki, &[], &[], &[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        // Slower than the client's timeout, several times over.
        std::thread::sleep(Duration::from_millis(500));
        let conn = rustls::ServerConnection::new(server_config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(b"hello").unwrap();
        tls.flush().unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
    });
    let mut ssl = Ssl::new(&config(&pki, None, None), "localhost").unwrap();
    let socket = SocketBio::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    let mut timeouts = 0;
    loop {
        match ssl.connect() {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::WantRead, "{e}");
                assert_eq!(e.io_kind(), Some(std::io::ErrorKind::TimedOut), "{e}");
                assert_eq!(
                    overture::compat::get_error(&ssl, -1),
                    overture::compat::SSL_ERROR_WANT_READ
                );
                timeouts += 1;
                assert!(timeouts < 100, "no progress");
            }
        }
    }
    assert!(timeouts >= 2, "{timeouts} timeouts");
    let mut buf = [0u8; 16];
    let n = loop {
        match ssl.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WantRead => continue,
            other => break other.unwrap(),
        }
    };
    assert_eq!(&buf[..n], b"hello");
    server.join().unwrap();
}

/// An in-memory transport to a rustls server whose client side takes at most `budget` bytes:
/// a non-blocking BIO that can be made to refuse writes at any point.
#[derive(Default)]
struct Wire {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    budget: usize,
}

#[derive(Clone)]
struct WireBio(Arc<std::sync::Mutex<Wire>>);

impl Bio for WireBio {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<Transfer> {
        let mut w = self.0.lock().unwrap();
        if w.to_client.is_empty() {
            return Ok(Transfer::WouldBlock);
        }
        let n = buf.len().min(w.to_client.len());
        buf[..n].copy_from_slice(&w.to_client[..n]);
        w.to_client.drain(..n);
        Ok(Transfer::Bytes(n))
    }
    fn write(&mut self, buf: &[u8]) -> std::io::Result<Transfer> {
        let mut w = self.0.lock().unwrap();
        let n = buf.len().min(w.budget);
        if n == 0 {
            return Ok(Transfer::WouldBlock);
        }
        w.budget -= n;
        w.to_server.extend_from_slice(&buf[..n]);
        Ok(Transfer::Bytes(n))
    }
    fn flush(&mut self) -> std::io::Result<Transfer> {
        Ok(Transfer::Bytes(0))
    }
    fn shutdown_write(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl WireBio {
    fn budget(&self, n: usize) {
        self.0.lock().unwrap().budget = n;
    }

    /// Moves the bytes both ways through the server.
    fn pump(&self, server: &mut rustls::ServerConnection) {
        let mut w = self.0.lock().unwrap();
        let input = std::mem::take(&mut w.to_server);
        let mut input = &input[..];
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
            server.process_new_packets().unwrap();
        }
        while server.wants_write() {
            server.write_tls(&mut w.to_client).unwrap();
        }
    }
}

/// An `Ssl` over a [`WireBio`] (taking any number of bytes for now) to an in-memory rustls
/// server.
fn wired_ssl() -> (Ssl, WireBio, rustls::ServerConnection) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
    let wire = WireBio(Arc::default());
    wire.budget(usize::MAX);
    let mut ssl = Ssl::new(&config(&pki, None, None), "localhost").unwrap();
    ssl.set_bio(Box::new(wire.clone()));
    (ssl, wire, server)
}

/// Issue 18 (e): once the final flight is only partly written (want write), `read()` and
/// `write()` keep wanting write until it is out — not want read, which would deadlock (the
/// server waits for our Finished, the application for data). With `implicit`, `connect()` is
/// never called: `read()` drives the handshake, as `SSL_read` does. Found by BoGo
/// (Basic-Client-TLS-Async-ImplicitHandshake).
fn calls_want_write_while_the_final_flight_is_partly_sent(implicit: bool) {
    let (mut ssl, wire, mut server) = wired_ssl();
    let mut buf = [0u8; 16];
    let mut drive = |ssl: &mut Ssl| match implicit {
        true => ssl.read(&mut buf).map(|_| ()),
        false => ssl.connect().map(|_| ()),
    };
    assert_eq!(drive(&mut ssl).unwrap_err().kind(), ErrorKind::WantRead);
    wire.pump(&mut server);
    wire.budget(10);
    assert_eq!(drive(&mut ssl).unwrap_err().kind(), ErrorKind::WantWrite);
    for _ in 0..3 {
        assert_eq!(ssl.read(&mut buf).unwrap_err().kind(), ErrorKind::WantWrite);
        assert_eq!(ssl.write(b"x").unwrap_err().kind(), ErrorKind::WantWrite);
    }
    wire.budget(usize::MAX);
    assert_eq!(ssl.read(&mut buf).unwrap_err().kind(), ErrorKind::WantRead);
    wire.pump(&mut server);
    assert!(!server.is_handshaking());
    server.writer().write_all(b"hi").unwrap();
    wire.pump(&mut server);
    let n = ssl.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hi");
}

#[test]
fn read_and_write_want_write_while_the_final_flight_is_partly_sent() {
    calls_want_write_while_the_final_flight_is_partly_sent(false);
}

#[test]
fn read_driving_the_handshake_wants_write_while_the_final_flight_is_partly_sent() {
    calls_want_write_while_the_final_flight_is_partly_sent(true);
}

/// Issue 18 (f): over a non-blocking BIO, `SSL_shutdown` returns -1/want-write while our
/// close_notify cannot leave, 0 ("sent") on the retry that sends it, then 1 once the peer's
/// arrived. Found by BoGo (Shutdown-Shim-TLS-Async).
#[test]
fn nonblocking_shutdown_reports_sent_then_complete() {
    use overture::compat::{self, SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE};
    let (mut ssl, wire, mut server) = wired_ssl();
    while let Err(e) = ssl.connect() {
        assert!(e.kind().is_retry(), "{e}");
        wire.pump(&mut server);
    }
    wire.pump(&mut server);
    wire.budget(0);
    assert_eq!(compat::shutdown(&mut ssl), -1);
    assert_eq!(compat::get_error(&ssl, -1), SSL_ERROR_WANT_WRITE);
    wire.budget(usize::MAX);
    assert_eq!(compat::shutdown(&mut ssl), 0, "our close_notify is sent");
    assert_eq!(compat::shutdown(&mut ssl), -1);
    assert_eq!(compat::get_error(&ssl, -1), SSL_ERROR_WANT_READ);
    wire.pump(&mut server);
    server.send_close_notify();
    wire.pump(&mut server);
    assert_eq!(compat::shutdown(&mut ssl), 1, "both close_notify exchanged");
}

#[test]
fn close_notify_during_the_handshake_is_zero_return() {
    let server = ScriptedServer::start(|mut tcp| {
        let _ = read_record(&mut tcp);
        let _ = tcp.write_all(&[21, 3, 3, 0, 2, 1, 0]); // warning close_notify
        std::thread::sleep(Duration::from_millis(200));
    });
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (e, ssl) = handshake_error(&config(&pki, None, None), server.addr, "localhost");
    assert_eq!(e.kind(), ErrorKind::ZeroReturn, "{e}");
    assert_eq!(
        overture::compat::get_error(&ssl, 0),
        overture::compat::SSL_ERROR_ZERO_RETURN
    );
}

#[test]
fn compat_connect_returns_openssl_codes() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let mut ssl = Ssl::new(&config(&pki, None, None), "localhost").unwrap();
    let s = SocketBio::new(TcpStream::connect(server.addr).unwrap());
    s.set_nonblocking(true).unwrap();
    ssl.set_bio(Box::new(s));
    let mut wants = 0;
    loop {
        let ret = overture::compat::connect(&mut ssl);
        if ret == 1 {
            break;
        }
        assert_eq!(ret, -1);
        let code = overture::compat::get_error(&ssl, ret);
        assert!(
            code == overture::compat::SSL_ERROR_WANT_READ
                || code == overture::compat::SSL_ERROR_WANT_WRITE,
            "unexpected SSL_get_error {code}"
        );
        wants += 1;
        assert!(wants < 100_000, "no progress");
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!(
        wants > 0,
        "a non-blocking handshake waits at least once for the server"
    );
    assert_eq!(
        overture::compat::get_error(&ssl, 1),
        overture::compat::SSL_ERROR_NONE
    );
}

/// A BIO that counts the bytes through it: proves a user's own BIO is used.
struct CountingBio {
    inner: SocketBio,
    read: Arc<AtomicUsize>,
    written: Arc<AtomicUsize>,
}

impl Bio for CountingBio {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<Transfer> {
        let r = self.inner.read(buf)?;
        if let Transfer::Bytes(n) = r {
            self.read.fetch_add(n, Ordering::Relaxed);
        }
        Ok(r)
    }
    fn write(&mut self, buf: &[u8]) -> std::io::Result<Transfer> {
        let r = self.inner.write(buf)?;
        if let Transfer::Bytes(n) = r {
            self.written.fetch_add(n, Ordering::Relaxed);
        }
        Ok(r)
    }
    fn flush(&mut self) -> std::io::Result<Transfer> {
        self.inner.flush()
    }
    fn shutdown_write(&mut self) -> std::io::Result<()> {
        self.inner.shutdown_write()
    }
}

/// A certificate verifier that delegates and counts: proves a custom verifier is used.
#[derive(Debug)]
struct CountingVerifier {
    inner: Arc<dyn overture::handshake::CertVerifier>,
    chains: AtomicUsize,
    signatures: AtomicUsize,
}

impl overture::handshake::CertVerifier for CountingVerifier {
    fn verify_server_cert(
        &self,
        ee: &overture::types::CertificateDer<'_>,
        im: &[overture::types::CertificateDer<'_>],
        name: &overture::types::ServerName<'_>,
        now: overture::types::UnixTime,
    ) -> Result<overture::handshake::ServerCertVerified, overture::handshake::Error> {
        self.chains.fetch_add(1, Ordering::Relaxed);
        self.inner.verify_server_cert(ee, im, name, now)
    }
    fn verify_tls13_signature(
        &self,
        msg: &[u8],
        ee: &overture::types::CertificateDer<'_>,
        scheme: overture::types::SignatureScheme,
        sig: &[u8],
    ) -> Result<overture::handshake::SignatureVerified, overture::handshake::Error> {
        self.signatures.fetch_add(1, Ordering::Relaxed);
        self.inner.verify_tls13_signature(msg, ee, scheme, sig)
    }
    fn supported_schemes(&self) -> Vec<overture::types::SignatureScheme> {
        self.inner.supported_schemes()
    }
}

/// A random source that counts calls: proves a replaced provider piece is used.
#[derive(Debug)]
struct CountingRandom(AtomicUsize);

impl overture::crypto::SecureRandom for CountingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), overture::crypto::Error> {
        self.0.fetch_add(1, Ordering::Relaxed);
        provider().secure_random.fill(buf)
    }
}

static RANDOM: CountingRandom = CountingRandom(AtomicUsize::new(0));

#[test]
fn custom_bio_verifier_and_provider_piece_are_used() {
    let pki = Pki::new(KeyKind::EcdsaP384);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let base = provider();
    let provider = overture::crypto::CryptoProvider {
        secure_random: &RANDOM,
        ..base
    };
    let roots = overture::x509::RootStore::from_pem_file(&pki.ca_pem).unwrap();
    let inner = Arc::new(overture::X509Verifier::new(
        Arc::new(roots),
        Arc::new(provider.clone()),
        0,
    ));
    let verifier = Arc::new(CountingVerifier {
        inner,
        chains: AtomicUsize::new(0),
        signatures: AtomicUsize::new(0),
    });
    let cfg = ClientConfig::builder_with_provider(provider)
        .dangerous()
        .with_custom_verifier(verifier.clone())
        .build()
        .unwrap();
    let (read, written) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut ssl = Ssl::new(&cfg, "localhost").unwrap();
    ssl.set_bio(Box::new(CountingBio {
        inner: SocketBio::new(TcpStream::connect(server.addr).unwrap()),
        read: read.clone(),
        written: written.clone(),
    }));
    ssl.connect().unwrap();
    assert!(read.load(Ordering::Relaxed) > 0 && written.load(Ordering::Relaxed) > 0);
    assert_eq!(verifier.chains.load(Ordering::Relaxed), 1);
    assert_eq!(verifier.signatures.load(Ordering::Relaxed), 1);
    assert!(
        RANDOM.0.load(Ordering::Relaxed) > 0,
        "the replaced random source was used"
    );
}

#[test]
fn tiny_bio_pair_completes_with_many_wants() {
    let pki = Pki::new(KeyKind::Rsa2048);
    let server = RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let cfg = config(&pki, None, None);
    let mut ssl = Ssl::new(&cfg, "localhost").unwrap();
    let (near, mut far) = BioPair::new(64).unwrap();
    ssl.set_bio(Box::new(near));
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut wants = 0;
    loop {
        match ssl.connect() {
            Ok(_) => break,
            Err(e) if e.kind().is_retry() => {
                wants += 1;
                assert!(wants < 100_000);
                pump_pair(&mut far, &mut tcp, e.kind());
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        wants > 10,
        "a 64-byte pair makes the handshake wait often (waited {wants})"
    );
}

/// After a HelloRetryRequest, the second ClientHello's record says 0x0303 (RFC 8446 §5.1:
/// only the initial ClientHello may say 0x0301). The client is driven over a BIO pair whose
/// far end feeds an in-memory rustls server that only does P-256, so our X25519 share draws
/// a HelloRetryRequest.
#[test]
fn second_client_hello_after_hrr_uses_record_version_0303() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server_config = rustls_server_config(
        &pki,
        &[&rustls::version::TLS13],
        &[],
        &[rustls::crypto::ring::kx_group::SECP256R1],
    );
    let mut server = rustls::ServerConnection::new(server_config).unwrap();
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_groups(&[NamedGroup::X25519, NamedGroup::secp256r1])
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let (near, mut far) = BioPair::new(64 * 1024).unwrap();
    ssl.set_bio(Box::new(near));
    let mut client_hello_versions = vec![];
    let mut buf = vec![0u8; 64 * 1024];
    let negotiated = loop {
        match ssl.connect() {
            Ok(n) => break n,
            Err(e) if e.kind().is_retry() => {}
            Err(e) => panic!("{e}"),
        }
        // Client → server, noting the record version of every plaintext handshake record.
        if let Transfer::Bytes(n) = far.read(&mut buf).unwrap() {
            let mut at = 0;
            while at + 5 <= n {
                let len = usize::from(u16::from_be_bytes([buf[at + 3], buf[at + 4]]));
                if buf[at] == 22 && buf[at + 5] == 1 {
                    client_hello_versions.push([buf[at + 1], buf[at + 2]]);
                }
                at += 5 + len;
            }
            let mut input = &buf[..n];
            while !input.is_empty() {
                server.read_tls(&mut input).unwrap();
            }
            server.process_new_packets().unwrap();
        }
        // Server → client.
        let mut out = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut out).unwrap();
        }
        assert!(
            matches!(far.write(&out).unwrap(), Transfer::Bytes(n) if n == out.len())
                || out.is_empty()
        );
    };
    assert_eq!(negotiated.group(), Some(NamedGroup::secp256r1));
    assert_eq!(
        client_hello_versions,
        vec![[3, 1], [3, 3]],
        "initial ClientHello 0x0301, the one after the HelloRetryRequest 0x0303"
    );
}

/// `ClientConfig::with_crls`: a leaf its issuer's CRL lists as revoked is refused with
/// `certificate_revoked`; the same chain passes with a CRL that lists another serial.
#[test]
fn a_revoked_server_certificate_is_refused_with_the_configured_crl() {
    let now = time::OffsetDateTime::now_utc();
    let day = time::Duration::days(1);
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "CRL Test Root");
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    ca.not_before = now - day;
    ca.not_after = now + day * 30;
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.serial_number = Some(rcgen::SerialNumber::from(4242u64));
    leaf.use_authority_key_identifier_extension = true;
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = now - day;
    leaf.not_after = now + day * 30;
    let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let crl = |serial: u64| {
        rcgen::CertificateRevocationListParams {
            this_update: now - day,
            next_update: now + day,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(serial),
                revocation_time: now - day,
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap()
        .der()
        .clone()
    };
    let server = RustlsServer::start(rustls_config_with_chain(
        vec![leaf.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    ));
    let config = |serial: u64| {
        let mut roots = overture::x509::RootStore::new();
        roots.add_der(ca_cert.der()).unwrap();
        ClientConfig::builder()
            .with_root_store(roots)
            .with_crls(vec![crl(serial)])
            .with_session_store(None)
            .build()
            .unwrap()
    };
    let (e, _) = handshake_error(&config(4242), server.addr, "localhost");
    assert_eq!(
        (e.kind(), e.alert_sent()),
        (ErrorKind::Ssl, Some(AlertDescription::CertificateRevoked)),
        "{e}"
    );
    connect_and_echo(&config(7), server.addr, Mode::Blocking).unwrap();
}

/// The provider `ClientConfig::builder()` uses in this run (the crate's provider feature).
fn provider() -> overture::crypto::CryptoProvider {
    #[cfg(feature = "ring")]
    return overture::crypto::ring::default_provider();
    #[cfg(not(feature = "ring"))]
    return overture::crypto::rustcrypto::default_provider();
}

/// Proves which provider `builder()` chose: RustCrypto refuses to sign with RSA
/// (RUSTSEC-2023-0071), ring does not. With RustCrypto, an RSA client key loads once ring's key
/// provider is mixed in, as the crypto-provider docs say; the mTLS handshake then works.
#[test]
fn builder_uses_the_feature_selected_provider_and_rsa_client_keys_follow_it() {
    let pki = Pki::new(KeyKind::Rsa2048);
    let loaded = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_client_cert(pki.chain.clone(), pki.private_key());
    if cfg!(feature = "ring") {
        assert!(loaded.is_ok(), "ring signs with RSA");
    } else {
        let e = loaded.err().expect("RustCrypto refuses RSA signing keys");
        assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    }
    let mixed = overture::crypto::CryptoProvider {
        key_provider: &overture::crypto::ring::KEY_PROVIDER,
        ..provider()
    };
    let cfg = ClientConfig::builder_with_provider(mixed)
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_client_cert(pki.chain.clone(), pki.private_key())
        .unwrap()
        .with_session_store(None)
        .build()
        .unwrap();
    let server = RustlsServer::start(mtls_server_config(&pki));
    connect_and_echo(&cfg, server.addr, Mode::Blocking).unwrap();
}

/// A rustls server that requires a client certificate and checks its CertificateVerify
/// signature (the chain itself is not what these tests are about: any chain is accepted).
fn mtls_server_config(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(SignatureOnly(provider.signature_verification_algorithms));
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.chain.clone(), pki.private_key())
            .unwrap(),
    )
}

#[derive(Debug)]
struct SignatureOnly(rustls::crypto::WebPkiSupportedAlgorithms);

impl rustls::server::danger::ClientCertVerifier for SignatureOnly {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _: &rustls_pki_types::CertificateDer<'_>,
        _: &[rustls_pki_types::CertificateDer<'_>],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// RFC 8446 §4.4.2.2: a leaf whose keyUsage lacks digitalSignature cannot sign the handshake,
/// and that holds when the chain is not verified too (BoGo's ECDSAKeyUsage-Client and
/// RSAKeyUsage-Client-WantSignature-GotEncipherment, TLS 1.3 here and TLS 1.2 in rustls's
/// ECDHE suites): the signature check refuses it with bad_certificate.
#[test]
fn a_leaf_without_digital_signature_key_usage_cannot_sign_the_handshake() {
    for (usage, refused) in [
        (rcgen::KeyUsagePurpose::KeyEncipherment, true),
        (rcgen::KeyUsagePurpose::DigitalSignature, false),
    ] {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
            let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
            params.key_usages = vec![usage];
            let leaf = params.self_signed(&key).unwrap();
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let server_config = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[version])
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![leaf.der().clone()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
                )
                .unwrap();
            let server = RustlsServer::start(Arc::new(server_config));
            let config = ClientConfig::builder()
                .dangerous()
                .with_no_certificate_verification()
                .build()
                .unwrap();
            let mut ssl = Ssl::new(&config, "localhost").unwrap();
            let s = SocketBio::new(TcpStream::connect(server.addr).unwrap());
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            ssl.set_bio(Box::new(s));
            let result = ssl.connect();
            if refused {
                let e = result.expect_err("keyEncipherment only: refused");
                assert_eq!(
                    e.alert_sent(),
                    Some(AlertDescription::BadCertificate),
                    "{version:?}: {e}"
                );
                assert!(e.to_string().contains("digitalSignature"), "{e}");
            } else {
                result.unwrap_or_else(|e| panic!("{version:?}: digitalSignature: {e}"));
            }
        }
    }
}

/// RFC 8422 §5.1.1 / §5.3: in TLS 1.2 our supported_groups also names the curves we accept in
/// the server's ECDSA certificate; a P-256 leaf when we offered only X25519 is refused with
/// illegal_parameter (BoGo's CheckLeafCurve). TLS 1.3 schemes carry their curve: no check.
#[test]
fn tls12_ecdsa_leaf_on_a_curve_we_did_not_offer_is_refused() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cases = [
        (&rustls::version::TLS12, vec![NamedGroup::X25519], true),
        (
            &rustls::version::TLS12,
            vec![NamedGroup::X25519, NamedGroup::secp256r1],
            false,
        ),
        (&rustls::version::TLS13, vec![NamedGroup::X25519], false),
    ];
    for (version, groups, refused) in cases {
        let server = RustlsServer::start(rustls_server_config(&pki, &[version], &[], &[]));
        let config = ClientConfig::builder()
            .with_ca_file(&pki.ca_pem)
            .unwrap()
            .with_groups(&groups)
            .unwrap()
            .build()
            .unwrap();
        if refused {
            let (e, _) = handshake_error(&config, server.addr, "localhost");
            assert_eq!(
                e.alert_sent(),
                Some(AlertDescription::IllegalParameter),
                "{e}"
            );
            assert!(e.to_string().contains("secp256r1"), "{e}");
        } else {
            let mut ssl = Ssl::new(&config, "localhost").unwrap();
            let s = SocketBio::new(TcpStream::connect(server.addr).unwrap());
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            ssl.set_bio(Box::new(s));
            ssl.connect()
                .unwrap_or_else(|e| panic!("{version:?} {groups:?}: {e}"));
        }
    }
}

/// OCSP stapling (RFC 6066 §8; RFC 8446 §4.4.2.1) against rustls stapling a response: asked
/// for, the response arrives as the server sent it in TLS 1.3 (CertificateEntry extension)
/// and TLS 1.2 (CertificateStatus message); not asked for, the server staples nothing.
#[test]
fn ocsp_stapling_hands_the_stapled_response_over_unvalidated() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    // Not a real OCSP response: Overture does not parse it, and says so.
    let ocsp = b"\x30\x03\x0a\x01\x00 not parsed".to_vec();
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        for asked in [true, false] {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let server_config = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[version])
                .unwrap()
                .with_no_client_auth()
                .with_single_cert_with_ocsp(pki.chain.clone(), pki.private_key(), ocsp.clone())
                .unwrap();
            let server = RustlsServer::start(Arc::new(server_config));
            let config = ClientConfig::builder()
                .with_ca_file(&pki.ca_pem)
                .unwrap()
                .with_ocsp_stapling(asked)
                .build()
                .unwrap();
            let mut ssl = Ssl::new(&config, "localhost").unwrap();
            let s = SocketBio::new(TcpStream::connect(server.addr).unwrap());
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            ssl.set_bio(Box::new(s));
            ssl.connect()
                .unwrap_or_else(|e| panic!("{version:?} asked={asked}: {e}"));
            let n = ssl.negotiated().unwrap();
            let want = asked.then_some(ocsp.as_slice());
            assert_eq!(n.ocsp_response(), want, "{version:?} asked={asked}");
            assert_eq!(n.signed_certificate_timestamps(), None);
        }
    }
}

/// `ConfigBuilder::with_ocsp_response_check` (OpenSSL's client status callback): it sees the
/// stapled response (or `None`) and refusing fails the handshake with
/// bad_certificate_status_response (BoGo ClientOCSPCallback-Pass / -Fail / -FailNoStaple).
#[test]
fn the_applications_ocsp_check_sees_the_staple_and_can_refuse() {
    use std::sync::Mutex;
    let pki = Pki::new(KeyKind::EcdsaP256);
    let ocsp = b"\x30\x03\x0a\x01\x00".to_vec();
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        for (staple, accept) in [(true, true), (true, false), (false, false)] {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[version])
                .unwrap()
                .with_no_client_auth();
            let server_config = if staple {
                builder.with_single_cert_with_ocsp(
                    pki.chain.clone(),
                    pki.private_key(),
                    ocsp.clone(),
                )
            } else {
                builder.with_single_cert(pki.chain.clone(), pki.private_key())
            }
            .unwrap();
            let server = RustlsServer::start(Arc::new(server_config));
            let seen: Arc<Mutex<Vec<Option<Vec<u8>>>>> = Arc::default();
            let seen2 = seen.clone();
            let config = ClientConfig::builder()
                .with_ca_file(&pki.ca_pem)
                .unwrap()
                .with_ocsp_stapling(true)
                .with_ocsp_response_check(move |r| {
                    seen2.lock().unwrap().push(r.map(<[u8]>::to_vec));
                    accept
                })
                .build()
                .unwrap();
            let mut ssl = Ssl::new(&config, "localhost").unwrap();
            let s = SocketBio::new(TcpStream::connect(server.addr).unwrap());
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            ssl.set_bio(Box::new(s));
            let result = ssl.connect();
            let want = staple.then(|| ocsp.clone());
            assert_eq!(*seen.lock().unwrap(), vec![want], "{version:?} {staple}");
            if accept {
                result.unwrap_or_else(|e| panic!("{version:?}: {e}"));
            } else {
                let e = result.expect_err("refused by the check");
                assert_eq!(
                    e.alert_sent(),
                    Some(AlertDescription::BadCertificateStatusResponse),
                    "{version:?} {staple}: {e}"
                );
            }
        }
    }
}

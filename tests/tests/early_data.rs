//! TLS 1.3 0-RTT early data through `overture::Ssl` (and the sans-IO `Connection`) against
//! real servers on 127.0.0.1: an in-process rustls server that reads early data (accepting it,
//! or refusing it on the resumption), `openssl s_server -early_data` (which prints what it
//! received as early data) and without `-early_data` (which refuses it), and `gnutls-serv
//! --earlydata` (whose debug log says it decrypted our early bytes). Over blocking and
//! non-blocking sockets; the config's `EarlyDataRejected` policy (report or resend); the
//! ticket's `max_early_data_size` as a hard bound on what we write.

#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::SocketBio;
use overture::compat;
use overture::types::UnixTime;
use overture::{
    ClientConfig, Connection, EarlyDataRejected, EarlyDataStatus, ErrorKind, MAX_EARLY_DATA, Ssl,
};
use overture_tests::{KeyKind, Peer, Pki, gnutls_serv_logged, openssl_s_server_logged};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const EARLY: &[u8] = b"GET /early HTTP/1.0\r\n\r\n";

fn client_config(pki: &Pki, policy: EarlyDataRejected) -> ClientConfig {
    ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_early_data(true)
        .with_early_data_rejected(policy)
        .build()
        .unwrap()
}

// ---- an in-process rustls server that reads early data ------------------------------------

/// What one connection to [`RustlsEarly`] received: its early data and its application data.
#[derive(Debug, Default)]
struct Received {
    early: Vec<u8>,
    data: Vec<u8>,
}

/// A rustls server on 127.0.0.1 serving one connection per config in turn (so a resumption
/// can be served by a config with another `max_early_data_size`, over the same session
/// storage). Each connection reads the early data during the handshake, then echoes the
/// application data until the client closes, and reports both.
struct RustlsEarly {
    addr: SocketAddr,
    received: Receiver<Received>,
    thread: Option<JoinHandle<()>>,
}

/// rustls server configs sharing one session storage, with these `max_early_data_size`s.
fn rustls_configs(pki: &Pki, max_early: &[u32]) -> Vec<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let base = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.private_key())
        .unwrap();
    max_early
        .iter()
        .map(|m| {
            let mut c = base.clone();
            c.max_early_data_size = *m;
            Arc::new(c)
        })
        .collect()
}

impl RustlsEarly {
    fn start(configs: Vec<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, received) = channel();
        let thread = std::thread::spawn(move || {
            for config in configs {
                let Ok((tcp, _)) = listener.accept() else {
                    return;
                };
                let _ = tx.send(serve(config, tcp));
            }
        });
        Self {
            addr,
            received,
            thread: Some(thread),
        }
    }

    fn next(&self) -> Received {
        self.received
            .recv_timeout(Duration::from_secs(20))
            .expect("the server reported no connection")
    }
}

impl Drop for RustlsEarly {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(config: Arc<rustls::ServerConfig>, mut tcp: TcpStream) -> Received {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Received::default();
    let mut conn = rustls::ServerConnection::new(config).unwrap();
    let mut buf = [0u8; 16384];
    loop {
        while conn.wants_write() {
            if conn.write_tls(&mut tcp).is_err() {
                return got;
            }
        }
        if !conn.is_handshaking() && !got.data.is_empty() && got.data.ends_with(b"end\n") {
            // Echo what came, close.
            let _ = conn.writer().write_all(&got.data);
            conn.send_close_notify();
            while conn.wants_write() {
                if conn.write_tls(&mut tcp).is_err() {
                    break;
                }
            }
            return got;
        }
        match conn.read_tls(&mut tcp) {
            Ok(0) | Err(_) => return got,
            Ok(_) => {}
        }
        if conn.process_new_packets().is_err() {
            while conn.wants_write() && conn.write_tls(&mut tcp).is_ok() {}
            return got;
        }
        if let Some(mut early) = conn.early_data() {
            early.read_to_end(&mut got.early).unwrap();
        }
        loop {
            match conn.reader().read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.data.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
    }
}

/// A full handshake that gets a ticket into the config's session store: writes `ping`, reads
/// the reply (which processes the tickets), closes.
fn full_handshake(config: &ClientConfig, addr: SocketAddr) {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(addr).unwrap()))
        .unwrap();
    // No ticket yet: nothing is offered, and early data is refused without sending a byte.
    let e = ssl.write_early_data(b"too soon").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert_eq!(ssl.early_data_status(), EarlyDataStatus::NotSent);
    let n = ssl.connect().unwrap();
    assert_eq!(n.early_data(), EarlyDataStatus::NotSent);
    ssl.write(b"ping end\n").unwrap();
    let mut got = Vec::new();
    read_until(&mut ssl, &mut got, b"end\n");
    assert!(ssl.session_ready(), "the server sent no ticket");
    let _ = ssl.shutdown();
}

fn timed(s: SocketBio) -> SocketBio {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_until(ssl: &mut Ssl, got: &mut Vec<u8>, end: &[u8]) {
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !got.ends_with(end) {
        assert!(Instant::now() < deadline, "no echo: {got:?}");
        match ssl.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WantRead => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// The resumption: `early` as 0-RTT data (before `connect`), the handshake, then `end\n` as
/// ordinary data and the echo of everything the server read as application data.
fn resume_with_early(
    config: &ClientConfig,
    addr: SocketAddr,
    early: &[u8],
) -> (EarlyDataStatus, usize, Vec<u8>) {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(addr).unwrap()))
        .unwrap();
    let mut written = 0;
    while written < early.len() {
        match ssl.write_early_data(&early[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Usage => break,
            Err(e) => panic!("write_early_data: {e}"),
        }
    }
    assert_eq!(ssl.connection().early_data_written(), written);
    let n = ssl.connect().unwrap();
    assert!(n.resumed());
    assert_eq!(n.early_data(), ssl.early_data_status());
    // Once the server answered, early data is over.
    let e = ssl.write_early_data(b"late").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    ssl.write(b"end\n").unwrap();
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"end\n");
    let _ = ssl.shutdown();
    (ssl.early_data_status(), written, echo)
}

#[test]
fn rustls_accepts_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 16384]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    assert!(server.next().early.is_empty());

    let (status, written, echo) = resume_with_early(&config, server.addr, EARLY);
    assert_eq!(status, EarlyDataStatus::Accepted);
    assert_eq!(written, EARLY.len());
    assert_eq!(echo, b"end\n", "early data is not application data");
    let got = server.next();
    assert_eq!(got.early, EARLY, "the server read our early data");
    assert_eq!(got.data, b"end\n");
}

#[test]
fn rustls_refuses_early_data_and_we_resend_it() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    // The ticket allows early data; the server that resumes it reads none.
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 0]));
    let config = client_config(&pki, EarlyDataRejected::Resend);
    full_handshake(&config, server.addr);
    server.next();

    let (status, written, echo) = resume_with_early(&config, server.addr, EARLY);
    assert_eq!(status, EarlyDataStatus::Rejected);
    assert_eq!(written, EARLY.len());
    let mut want = EARLY.to_vec();
    want.extend_from_slice(b"end\n");
    assert_eq!(echo, want, "the early data came again, first");
    let got = server.next();
    assert!(got.early.is_empty());
    assert_eq!(got.data, want);
}

#[test]
fn rustls_refuses_early_data_and_we_report_it() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 0]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    server.next();

    let (status, _, echo) = resume_with_early(&config, server.addr, EARLY);
    assert_eq!(status, EarlyDataStatus::Rejected);
    assert_eq!(echo, b"end\n", "nothing was resent");
    let got = server.next();
    assert!(got.early.is_empty() && got.data == b"end\n");
}

/// The ticket's max_early_data_size bounds what we write, counted over every call: the
/// rest is refused, never sent (rustls would fail the connection on one byte more).
#[test]
fn the_tickets_limit_bounds_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[1000, 1000]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    server.next();

    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(server.addr).unwrap()))
        .unwrap();
    assert_eq!(ssl.write_early_data(&[b'a'; 600]).unwrap(), 600);
    assert_eq!(ssl.connection().early_data_room(), 400);
    assert_eq!(ssl.write_early_data(&[b'b'; 600]).unwrap(), 400);
    let e = ssl.write_early_data(b"c").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("used up"), "{e}");
    // The compat shim: 0 and SSL_ERROR_SSL.
    let mut written = 7;
    assert_eq!(compat::write_early_data(&mut ssl, b"c", &mut written), 0);
    assert_eq!(written, 0);
    assert_eq!(compat::get_error(&ssl, 0), compat::SSL_ERROR_SSL);
    assert_eq!(
        compat::get_early_data_status(&ssl),
        compat::SSL_EARLY_DATA_REJECTED
    );
    ssl.connect().unwrap();
    assert_eq!(
        compat::get_early_data_status(&ssl),
        compat::SSL_EARLY_DATA_ACCEPTED
    );
    ssl.write(b"end\n").unwrap();
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"end\n");
    let _ = ssl.shutdown();
    let got = server.next();
    let mut want = vec![b'a'; 600];
    want.extend_from_slice(&[b'b'; 400]);
    assert_eq!(got.early, want);
}

/// Over a non-blocking socket: `write_early_data` never waits for the server, and the
/// WantRead/WantWrite loop of `connect` finishes the handshake.
#[test]
fn early_data_over_a_non_blocking_socket() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 16384]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    server.next();

    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let socket = SocketBio::connect(server.addr).unwrap();
    socket.set_nonblocking(true).unwrap();
    ssl.set_bio(Box::new(socket));
    let mut written = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while written < EARLY.len() {
        match ssl.write_early_data(&EARLY[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WantWrite => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("write_early_data: {e}"),
        }
        assert!(Instant::now() < deadline);
    }
    loop {
        match ssl.connect() {
            Ok(_) => break,
            Err(e) if e.kind().is_retry() => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("connect: {e}"),
        }
        assert!(Instant::now() < deadline);
    }
    assert!(ssl.early_data_accepted());
    loop {
        match ssl.write(b"end\n") {
            Ok(_) => break,
            Err(e) if e.kind().is_retry() => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("write: {e}"),
        }
    }
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"end\n");
    let _ = ssl.shutdown();
    assert_eq!(server.next().early, EARLY);
}

/// The sans-IO engine: the ClientHello and the early data wait in one output queue, so they
/// leave in one transport write; `write` before the handshake completes stays refused.
#[test]
fn connection_queues_early_data_behind_the_client_hello() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 16384]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    server.next();

    let mut conn = Connection::new(&config, "localhost").unwrap();
    assert_eq!(
        conn.write_early_data(EARLY).unwrap_err().kind(),
        ErrorKind::Usage,
        "before start"
    );
    conn.start(UnixTime::now()).unwrap();
    assert_eq!(conn.early_data_status(), EarlyDataStatus::Offered);
    let hello = conn.pending_output().len();
    assert_eq!(conn.write_early_data(EARLY).unwrap(), EARLY.len());
    // ClientHello, the compatibility CCS, then one application_data record (our early data,
    // its tag and inner type).
    let out = conn.pending_output().to_vec();
    let tail = &out[hello..];
    assert_eq!(tail[0], 0x17);
    assert_eq!(tail.len(), 5 + EARLY.len() + 1 + 16);
    assert_eq!(conn.write(b"x").unwrap_err().kind(), ErrorKind::Usage);
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(&out).unwrap();
    conn.consume_output(out.len());
    while conn.is_handshaking() {
        conn.read_tls(&mut tcp).unwrap();
        conn.process(UnixTime::now()).unwrap();
        tcp.write_all(conn.pending_output()).unwrap();
        let n = conn.pending_output().len();
        conn.consume_output(n);
    }
    assert!(conn.early_data_accepted());
    assert_eq!(conn.early_data_room(), 0);
    conn.write(b"end\n").unwrap();
    conn.send_close_notify();
    tcp.write_all(conn.pending_output()).unwrap();
    assert_eq!(server.next().early, EARLY);
}

/// `StreamOwned` (a `Connection` over any `Read + Write`): early data before the first
/// `write`, which completes the handshake.
#[test]
fn stream_owned_writes_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 16384]));
    let config = client_config(&pki, EarlyDataRejected::Report);
    full_handshake(&config, server.addr);
    server.next();

    let conn = Connection::new(&config, "localhost").unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = overture::StreamOwned::new(conn, tcp);
    assert_eq!(stream.write_early_data(EARLY).unwrap(), EARLY.len());
    stream.write_all(b"end\n").unwrap();
    assert!(stream.conn.early_data_accepted());
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"end\n");
    assert_eq!(server.next().early, EARLY);
}

/// A config without early data never offers it, even with a ticket that allows it.
#[test]
fn early_data_is_off_by_default() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[16384, 16384]));
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    assert!(!config.early_data());
    full_handshake(&config, server.addr);
    server.next();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(server.addr).unwrap()))
        .unwrap();
    assert_eq!(
        ssl.write_early_data(EARLY).unwrap_err().kind(),
        ErrorKind::Usage
    );
    assert_eq!(ssl.early_data_status(), EarlyDataStatus::NotSent);
    assert_eq!(
        compat::get_early_data_status(&ssl),
        compat::SSL_EARLY_DATA_NOT_SENT
    );
    assert!(ssl.connect().unwrap().resumed());
    ssl.write(b"end\n").unwrap();
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"end\n");
    let _ = ssl.shutdown();
    assert!(server.next().early.is_empty());
}

/// A HelloRetryRequest loses the early data (the second ClientHello offers none, RFC 8446
/// §4.1.2): the early key is dropped, the second ClientHello goes out in plaintext, and the
/// early data is resent after the handshake.
#[test]
fn a_hello_retry_request_rejects_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let configs = rustls_configs(&pki, &[16384]);
    // The resuming server has only P-384: our x25519 share earns a HelloRetryRequest.
    let base = rustls::crypto::ring::default_provider();
    let p384 = rustls::crypto::CryptoProvider {
        kx_groups: vec![rustls::crypto::ring::kx_group::SECP384R1],
        ..base
    };
    let mut retry = rustls::ServerConfig::builder_with_provider(Arc::new(p384))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.private_key())
        .unwrap();
    retry.max_early_data_size = 16384;
    retry.session_storage = configs[0].session_storage.clone();
    let server = RustlsEarly::start(vec![configs[0].clone(), Arc::new(retry)]);
    let config = client_config(&pki, EarlyDataRejected::Resend);
    full_handshake(&config, server.addr);
    server.next();

    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(server.addr).unwrap()))
        .unwrap();
    assert_eq!(ssl.write_early_data(EARLY).unwrap(), EARLY.len());
    let n = ssl.connect().unwrap();
    assert!(n.hello_retry_request() && n.resumed());
    assert_eq!(ssl.early_data_status(), EarlyDataStatus::Rejected);
    ssl.write(b"end\n").unwrap();
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"end\n");
    let _ = ssl.shutdown();
    let mut want = EARLY.to_vec();
    want.extend_from_slice(b"end\n");
    assert_eq!(echo, want);
    let got = server.next();
    assert!(got.early.is_empty());
    assert_eq!(got.data, want);
}

/// A server may allow up to 4 GiB of early data; we write at most `MAX_EARLY_DATA` (and, with
/// `Resend`, keep a copy of at most that), and the server reads exactly what we wrote.
#[test]
fn a_huge_max_early_data_is_capped() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsEarly::start(rustls_configs(&pki, &[1 << 20, 1 << 20]));
    let config = client_config(&pki, EarlyDataRejected::Resend);
    full_handshake(&config, server.addr);
    server.next();
    let big = vec![b'z'; 2 * MAX_EARLY_DATA];
    let (status, written, _) = resume_with_early(&config, server.addr, &big);
    assert_eq!(status, EarlyDataStatus::Accepted);
    assert_eq!(written, MAX_EARLY_DATA);
    assert_eq!(server.next().early.len(), MAX_EARLY_DATA);
}

// ---- openssl s_server ----------------------------------------------------------------------

/// `openssl s_server -tls1_3` with its output kept.
struct OpensslServer {
    peer: Peer,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl OpensslServer {
    fn start(pki: &Pki, extra: &[&str]) -> Option<Self> {
        let mut args = vec!["-tls1_3"];
        args.extend_from_slice(extra);
        let (peer, log) = openssl_s_server_logged(pki, &args)?;
        Some(Self {
            addr: peer.addr,
            peer,
            log,
        })
    }

    /// Waits until s_server's output contains every one of `want`.
    fn wait_for(&self, want: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let said = self.log.lock().unwrap().clone();
            if want.iter().all(|w| said.contains(w)) {
                return said;
            }
            assert!(
                Instant::now() < deadline,
                "{}: its output lacks one of {want:?}:\n{said}",
                self.peer.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One connection: `early` as 0-RTT data (when not empty), the handshake, `line` as
/// application data; with `want_ticket`, reads until the server's ticket arrived. s_server
/// (without `-www`) prints what it reads.
fn s_server_connection(
    config: &ClientConfig,
    addr: SocketAddr,
    early: &[u8],
    line: &[u8],
    want_ticket: bool,
) -> Ssl {
    let mut ssl = Ssl::new(config, "localhost").unwrap();
    let socket = timed(SocketBio::connect(addr).unwrap());
    let handle = socket.as_tcp().unwrap().try_clone().unwrap();
    ssl.set_socket(socket).unwrap();
    if !early.is_empty() {
        assert_eq!(ssl.write_early_data(early).unwrap(), early.len());
    }
    ssl.connect().unwrap();
    ssl.write(line).unwrap();
    // The server sends its tickets after the handshake: reading processes them (a read
    // waits for application data, which s_server does not send: short socket timeouts).
    handle
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 256];
    while want_ticket && !ssl.session_ready() && Instant::now() < deadline {
        let socket_timeout = ssl.read(&mut buf);
        if let Err(e) = socket_timeout
            && !e.kind().is_retry()
        {
            break;
        }
    }
    handle
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    ssl
}

/// Closes with close_notify: OpenSSL drops the session of a connection that ended without
/// one from its cache, and with anti-replay on (the default with early data) a ticket whose
/// session is not cached is not resumed.
fn close(mut ssl: Ssl) {
    let _ = ssl.shutdown();
}

#[test]
fn openssl_s_server_accepts_and_prints_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(server) = OpensslServer::start(&pki, &["-early_data"]) else {
        return;
    };
    let config = client_config(&pki, EarlyDataRejected::Report);
    let first = s_server_connection(&config, server.addr, b"", b"first line\n", true);
    assert!(first.session_ready(), "s_server sent no ticket");
    close(first);
    server.wait_for(&["first line"]);

    let second = s_server_connection(
        &config,
        server.addr,
        b"EARLY-FROM-OVERTURE\n",
        b"late\n",
        false,
    );
    assert!(
        second.negotiated().unwrap().resumed(),
        "{}",
        server.log.lock().unwrap()
    );
    assert_eq!(second.early_data_status(), EarlyDataStatus::Accepted);
    close(second);
    // s_server writes the early bytes to stdout raw and its own lines through a buffered
    // BIO, so their order in the output is not the order of events.
    server.wait_for(&[
        "Early data received:",
        "EARLY-FROM-OVERTURE",
        "End of early data",
        "late",
    ]);
}

#[test]
fn a_ticket_without_max_early_data_offers_none() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(server) = OpensslServer::start(&pki, &[]) else {
        return;
    };
    let config = client_config(&pki, EarlyDataRejected::Resend);
    let first = s_server_connection(&config, server.addr, b"", b"first line\n", true);
    assert!(first.session_ready(), "s_server sent no ticket");
    close(first);
    server.wait_for(&["first line"]);
    // s_server's tickets carry no max_early_data without -early_data: nothing is offered.
    let mut probe = Ssl::new(&config, "localhost").unwrap();
    probe
        .set_socket(timed(SocketBio::connect(server.addr).unwrap()))
        .unwrap();
    let e = probe.write_early_data(b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert_eq!(probe.early_data_status(), EarlyDataStatus::NotSent);
}

/// A ticket from `s_server -early_data`, resumed by an `s_server` without it (same ticket
/// keys are not shared between processes, so this is a full handshake that drops the early
/// data): the early data is rejected and resent after the handshake, and s_server prints it
/// as ordinary data.
#[test]
fn openssl_s_server_rejects_early_data_and_we_resend_it() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(giver) = OpensslServer::start(&pki, &["-early_data"]) else {
        return;
    };
    let config = client_config(&pki, EarlyDataRejected::Resend);
    let first = s_server_connection(&config, giver.addr, b"", b"first line\n", true);
    let session = first.session().expect("s_server sent no ticket");
    close(first);
    drop(giver);
    let Some(refuser) = OpensslServer::start(&pki, &[]) else {
        return;
    };
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    ssl.set_socket(timed(SocketBio::connect(refuser.addr).unwrap()))
        .unwrap();
    ssl.set_session(&session);
    assert_eq!(ssl.write_early_data(b"RESENT-EARLY\n").unwrap(), 13);
    let n = ssl.connect().unwrap();
    assert!(!n.resumed());
    assert_eq!(ssl.early_data_status(), EarlyDataStatus::Rejected);
    ssl.write(b"after\n").unwrap();
    let said = refuser.wait_for(&["RESENT-EARLY", "after"]);
    assert!(!said.contains("Early data received"), "{said}");
    assert!(said.find("RESENT-EARLY") < said.find("after"), "{said}");
    drop(ssl);
}

// ---- gnutls-serv ---------------------------------------------------------------------------

/// `gnutls-serv --earlydata --echo -d 5`: accepts our early data; its debug log says it
/// decrypted exactly our bytes in the early epoch and received EndOfEarlyData.
#[test]
fn gnutls_serv_accepts_early_data() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let dir = overture_tests::temp_dir("early-gnutls");
    let log = dir.join("err");
    let Some(server) = gnutls_serv_logged(
        &pki,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3",
        &["--echo", "--earlydata", "--maxearlydata=4096", "-d", "5"],
        &log,
    ) else {
        return;
    };
    let config = client_config(&pki, EarlyDataRejected::Report);
    let first = s_server_connection(&config, server.addr, b"", b"first\n", true);
    assert!(first.session_ready(), "gnutls-serv sent no ticket");
    close(first);

    let early = b"EARLY-TO-GNUTLS-0123456789\n";
    let mut ssl = s_server_connection(&config, server.addr, early, b"after\n", false);
    assert_eq!(ssl.early_data_status(), EarlyDataStatus::Accepted);
    let mut echo = Vec::new();
    read_until(&mut ssl, &mut echo, b"after\n");
    let want = [
        "early data accepted".to_string(),
        format!(
            "decrypted early data with length: {}, in epoch 1",
            early.len()
        ),
        "END OF EARLY DATA (5) was received".to_string(),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        if want.iter().all(|w| said.contains(w.as_str())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gnutls-serv's log lacks one of {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(dir);
}

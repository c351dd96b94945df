//! The Nagle-proof first write (issue #9, reshaped by issue 18): over a real loopback TCP
//! socket with Nagle's algorithm on, a TLS 1.3 client that connects and at once sends a small
//! request must not wait for the ACK of its lone Finished segment (the delayed-ACK stall).
//! By default `connect()` sends the final flight (SSL_connect's contract) and the first write
//! leaves with TCP_NODELAY on, then the user's setting is restored; `FinalFlight::Hold` (opt-in)
//! holds the Finished and sends it with the request in **one transport write**.
//!
//! The assertions count transport writes, server reads and socket options, never time. The
//! time to the first response byte is measured for each policy and printed (`--nocapture`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::print_stdout
)]

use overture::bio::SocketBio;
use overture::{ClientConfig, FinalFlight, Ssl};
use overture_tests::{KeyKind, Pki, rustls_server_config};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the server saw of one connection.
#[derive(Debug)]
struct Seen {
    /// The read that completed the handshake (the client's Finished) also held the request.
    finished_and_request_in_one_read: bool,
}

/// A TLS 1.3 server (rustls) that answers the first request at once with `pong`, recording
/// which of its socket reads brought the client's Finished and the request.
fn server(config: Arc<rustls::ServerConfig>, listener: TcpListener) -> JoinHandle<Seen> {
    std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut conn = rustls::ServerConnection::new(config).unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = tcp.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed before its request");
            let was_handshaking = conn.is_handshaking();
            let mut input = &buf[..n];
            while !input.is_empty() {
                conn.read_tls(&mut input).unwrap();
                conn.process_new_packets().unwrap();
            }
            let mut request = [0u8; 64];
            let got = match conn.reader().read(&mut request) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(e) => panic!("{e}"),
            };
            if got > 0 {
                conn.writer().write_all(b"pong").unwrap();
                while conn.wants_write() {
                    conn.write_tls(&mut tcp).unwrap();
                }
                return Seen {
                    finished_and_request_in_one_read: was_handshaking,
                };
            }
            while conn.wants_write() {
                conn.write_tls(&mut tcp).unwrap();
            }
        }
    })
}

struct Run {
    seen: Seen,
    /// Transport writes from the start of `connect()` until the request was flushed.
    writes: u64,
    /// From the start of `connect()` to the first response byte.
    first_byte: Duration,
    /// TCP_NODELAY as the kernel reports it after the first write (the user's setting).
    nodelay_after: bool,
}

fn run(pki: &Pki, policy: FinalFlight, nodelay: bool) -> Run {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // No tickets: the server sends nothing after our Finished, so nothing carries its ACK
    // back early — the case where Nagle makes a lone request wait for a delayed ACK.
    let mut server_config =
        (*rustls_server_config(pki, &[&rustls::version::TLS13], &[], &[])).clone();
    server_config.send_tls13_tickets = 0;
    let server = server(Arc::new(server_config), listener);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_final_flight(policy)
        .with_tcp_nodelay(nodelay)
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let socket = SocketBio::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The same socket, to read its TCP_NODELAY back from the kernel.
    let probe = socket.as_tcp().unwrap().try_clone().unwrap();
    ssl.set_socket(socket).unwrap();
    let start = Instant::now();
    ssl.connect().unwrap();
    assert_eq!(ssl.write(b"ping").unwrap(), 4);
    ssl.flush().unwrap();
    let writes = ssl.stats().writes;
    let nodelay_after = probe.nodelay().unwrap();
    let mut reply = [0u8; 16];
    let n = ssl.read(&mut reply).unwrap();
    let first_byte = start.elapsed();
    assert_eq!(&reply[..n], b"pong");
    Run {
        seen: server.join().unwrap(),
        writes,
        first_byte,
        nodelay_after,
    }
}

#[test]
fn final_flight_is_sent_by_connect_and_the_first_request_is_not_stalled() {
    let pki = Pki::new(KeyKind::EcdsaP256);

    // Nagle on, default policy: connect() sends the Finished (SSL_connect's contract); the
    // first request leaves with TCP_NODELAY on (no wait for the Finished's ACK), and the
    // user's setting (Nagle on) is back afterwards.
    let auto = run(&pki, FinalFlight::Auto, false);
    assert_eq!(auto.writes, 3, "ClientHello, Finished, request");
    assert!(!auto.nodelay_after, "TCP_NODELAY must be restored (off)");

    // The explicit opt-in: the Finished is held and leaves with the request in one write.
    let held = run(&pki, FinalFlight::Hold, false);
    assert_eq!(
        held.writes, 2,
        "ClientHello, then Finished + request in one write"
    );
    assert!(
        held.seen.finished_and_request_in_one_read,
        "the server must see the Finished and the request in one read: {:?}",
        held.seen
    );

    // Sent at once, Nagle left alone: one more transport write.
    let sent = run(&pki, FinalFlight::Send, false);
    assert_eq!(sent.writes, 3, "ClientHello, Finished, request");
    assert!(!sent.nodelay_after);

    // With TCP_NODELAY configured it stays on.
    let nodelay = run(&pki, FinalFlight::Auto, true);
    assert_eq!(nodelay.writes, 3, "ClientHello, Finished, request");
    assert!(nodelay.nodelay_after);
}

/// Issue 18 (a): a server-speaks-first protocol (SMTP, IMAP, ...) — the server greets once it
/// has our Finished. With the default policy on a socket with Nagle on, the greeting must
/// arrive while the program polls the raw socket right after `connect()` returned, without
/// any other call on the connection.
#[test]
fn server_speaks_first_greeting_arrives_on_the_raw_socket_after_connect() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_config = rustls_server_config(&pki, &[&rustls::version::TLS13], &[], &[]);
    let server = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut conn = rustls::ServerConnection::new(server_config).unwrap();
        while conn.is_handshaking() {
            while conn.wants_write() {
                conn.write_tls(&mut tcp).unwrap();
            }
            if conn.read_tls(&mut tcp).unwrap() == 0 {
                return false;
            }
            conn.process_new_packets().unwrap();
        }
        conn.writer().write_all(b"220 ready\r\n").unwrap();
        while conn.wants_write() {
            conn.write_tls(&mut tcp).unwrap();
        }
        // Wait for the client to hang up.
        let mut sink = [0u8; 1024];
        while matches!(tcp.read(&mut sink), Ok(n) if n > 0) {}
        true
    });
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let socket = SocketBio::connect(addr).unwrap();
    let probe = socket.as_tcp().unwrap().try_clone().unwrap();
    ssl.set_socket(socket).unwrap();
    ssl.connect().unwrap();
    // Poll the raw socket as a ported program would (no read/write/flush on `ssl`).
    probe
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0u8; 1];
    let peeked = probe.peek(&mut byte);
    assert!(
        matches!(peeked, Ok(1)),
        "no greeting on the raw socket after connect(): {peeked:?}"
    );
    let mut greeting = [0u8; 64];
    let n = ssl.read(&mut greeting).unwrap();
    assert_eq!(&greeting[..n], b"220 ready\r\n");
    drop(ssl);
    drop(probe);
    assert!(server.join().unwrap());
}

#[test]
fn time_to_first_response_byte_by_policy() {
    // Not an assertion on time (benchmarks are not tests): the distributions, for the record.
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cases = [
        (
            "default (Nagle on, Auto: TCP_NODELAY for the first write)",
            FinalFlight::Auto,
            false,
        ),
        ("held (Nagle on, Hold: one write)", FinalFlight::Hold, false),
        ("not coalesced (Nagle on, Send)", FinalFlight::Send, false),
        ("TCP_NODELAY (Send)", FinalFlight::Send, true),
    ];
    for (name, policy, nodelay) in cases {
        let mut us: Vec<u128> = (0..15)
            .map(|_| run(&pki, policy, nodelay).first_byte.as_micros())
            .collect();
        us.sort_unstable();
        println!(
            "nagle: {name}: time to first response byte over {} connections: median {} us, min {} us, max {} us",
            us.len(),
            us[us.len() / 2],
            us[0],
            us[us.len() - 1]
        );
    }
}

/// TLS 1.2 resumption is the other handshake where the client speaks last (its CCS and
/// Finished): with `FinalFlight::Hold` they too wait for the first request and leave with it
/// in one write.
#[test]
fn tls12_resumed_final_flight_leaves_with_the_first_request() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server_config = rustls_server_config(&pki, &[&rustls::version::TLS12], &[], &[]);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_protocol_versions(&[overture::types::ProtocolVersion::TLSv1_2])
        .with_final_flight(FinalFlight::Hold)
        .build()
        .unwrap();
    let mut writes = vec![];
    let mut seen = vec![];
    for _ in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = server(server_config.clone(), listener);
        let mut ssl = Ssl::new(&config, "localhost").unwrap();
        let socket = SocketBio::connect(addr).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        ssl.set_socket(socket).unwrap();
        let resumed = ssl.connect().unwrap().resumed();
        ssl.write(b"ping").unwrap();
        ssl.flush().unwrap();
        writes.push((resumed, ssl.stats().writes));
        let mut reply = [0u8; 16];
        let n = ssl.read(&mut reply).unwrap();
        assert_eq!(&reply[..n], b"pong");
        seen.push(server.join().unwrap());
    }
    // Full: ClientHello, then our key exchange + CCS + Finished, then the request.
    assert_eq!(writes[0], (false, 3));
    // Resumed: ClientHello, then CCS + Finished + request in one write, seen in one read.
    assert_eq!(writes[1], (true, 2));
    assert!(seen[1].finished_and_request_in_one_read, "{:?}", seen[1]);
}

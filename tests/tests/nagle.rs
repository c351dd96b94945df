//! The Nagle-proof first write (issue #9): over a real loopback TCP socket with Nagle's
//! algorithm on, a TLS 1.3 client that connects and at once sends a small request must send its
//! final flight (Finished) and that request in **one transport write**, so the server sees both
//! in one `read` — and does not wait for the ACK of a lone Finished segment first.
//!
//! The assertions count transport writes and server reads, never time. The time to the first
//! response byte is measured for each policy and printed (`--nocapture`) for the record.

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
    ssl.set_socket(socket).unwrap();
    let start = Instant::now();
    ssl.connect().unwrap();
    assert_eq!(ssl.write(b"ping").unwrap(), 4);
    ssl.flush().unwrap();
    let writes = ssl.stats().writes;
    let mut reply = [0u8; 16];
    let n = ssl.read(&mut reply).unwrap();
    let first_byte = start.elapsed();
    assert_eq!(&reply[..n], b"pong");
    Run {
        seen: server.join().unwrap(),
        writes,
        first_byte,
    }
}

#[test]
fn final_flight_and_first_request_leave_in_one_write() {
    let pki = Pki::new(KeyKind::EcdsaP256);

    // Nagle on, default policy: the Finished is held and leaves with the request.
    let held = run(&pki, FinalFlight::Auto, false);
    assert_eq!(
        held.writes, 2,
        "ClientHello, then Finished + request in one write"
    );
    assert!(
        held.seen.finished_and_request_in_one_read,
        "the server must see the Finished and the request in one read: {:?}",
        held.seen
    );

    // Sent at once (OpenSSL's behaviour): one more transport write.
    let sent = run(&pki, FinalFlight::Send, false);
    assert_eq!(sent.writes, 3, "ClientHello, Finished, request");

    // With TCP_NODELAY the default policy does not hold (there is no Nagle to beat).
    let nodelay = run(&pki, FinalFlight::Auto, true);
    assert_eq!(nodelay.writes, 3, "ClientHello, Finished, request");
}

#[test]
fn time_to_first_response_byte_by_policy() {
    // Not an assertion on time (benchmarks are not tests): the distributions, for the record.
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cases = [
        ("coalesced (Nagle on, Auto)", FinalFlight::Auto, false),
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
/// Finished): they too wait for the first request and leave with it in one write.
#[test]
fn tls12_resumed_final_flight_leaves_with_the_first_request() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server_config = rustls_server_config(&pki, &[&rustls::version::TLS12], &[], &[]);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_protocol_versions(&[overture::types::ProtocolVersion::TLSv1_2])
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

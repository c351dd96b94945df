//! `cargo xtask demo`: Overture's main job, shown end to end.
//!
//! Starts an in-process rustls TLS 1.3 server on 127.0.0.1 with a certificate chain made on the
//! fly (root → intermediate → leaf for `localhost`), then connects with Overture three ways:
//! a blocking socket, a non-blocking socket driven by a `poll(2)` loop (each *want read* /
//! *want write* is printed as it happens), and a BIO pair whose bytes this program moves by
//! hand. Each connection sends a line and reads the echo. The three share one config, whose
//! session store keeps the server's TLS 1.3 tickets: the second and third connections resume.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::indexing_slicing
)]

use overture::bio::{Bio, BioPair, SocketBio, Transfer};
use overture::{ClientConfig, ErrorKind, Negotiated, Ssl};
use overture_tests::{KeyKind, Pki, RustlsServer, rustls_server_config};
use rustix::event::{PollFd, PollFlags, poll};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = RustlsServer::start(rustls_server_config(
        &pki,
        &[&rustls::version::TLS13],
        &[],
        &[],
    ));
    println!(
        "in-process rustls server on {} (ECDSA P-256 chain: root → intermediate → leaf \"localhost\")\n",
        server.addr
    );
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .expect("CA file")
        .build()
        .expect("config");

    // 1. Blocking socket: connect() returns only when the handshake is done.
    println!("== 1. blocking socket");
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let socket = SocketBio::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    ssl.set_socket(socket).unwrap();
    let t = Instant::now();
    let n = ssl.connect().expect("blocking handshake");
    report(&n, t.elapsed(), &ssl);
    echo(&mut ssl, b"hello over a blocking socket\n", |_, _| {})?;

    // 2. Non-blocking socket: connect() says WantRead/WantWrite; poll and call again.
    println!("\n== 2. non-blocking socket with a poll(2) loop");
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    let watch = tcp.try_clone().unwrap();
    let socket = SocketBio::new(tcp);
    socket.set_nonblocking(true).unwrap();
    ssl.set_bio(Box::new(socket));
    let t = Instant::now();
    let n = loop {
        match ssl.connect() {
            Ok(n) => break n,
            Err(e) if e.kind().is_retry() => {
                println!(
                    "   connect() -> {} ({}): polling the socket",
                    e.kind(),
                    e.kind().openssl_name()
                );
                wait_socket(&watch, e.kind());
            }
            Err(e) => return Err(format!("handshake failed: {e}").into()),
        }
    };
    report(&n, t.elapsed(), &ssl);
    echo(
        &mut ssl,
        b"hello over a non-blocking socket\n",
        |kind, _| wait_socket(&watch, kind),
    )?;

    // 3. BIO pair: Overture reads and writes one end; we carry bytes between the other end
    //    and a socket ourselves (what an event loop or a userspace network stack does).
    println!("\n== 3. BIO pair pumped by hand");
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let (near, mut far) = BioPair::new(17 * 1024).unwrap();
    ssl.set_bio(Box::new(near));
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut moved = (0usize, 0usize);
    let t = Instant::now();
    let n = loop {
        match ssl.connect() {
            Ok(n) => break n,
            Err(e) if e.kind().is_retry() => {
                let (out, inn) = pump(&mut far, &mut tcp, e.kind());
                println!(
                    "   connect() -> {}: moved {out} bytes pair→socket, {inn} bytes socket→pair",
                    e.kind()
                );
                moved.0 += out;
                moved.1 += inn;
            }
            Err(e) => return Err(format!("handshake failed: {e}").into()),
        }
    };
    report(&n, t.elapsed(), &ssl);
    println!(
        "   pumped {} bytes out and {} bytes in during the handshake",
        moved.0, moved.1
    );
    echo(&mut ssl, b"hello over a BIO pair\n", |kind, _| {
        pump(&mut far, &mut tcp, kind);
    })?;
    println!(
        "\nall three connections completed; the server accepted {}",
        server.accepted()
    );
    Ok(())
}

fn report(n: &Negotiated, took: Duration, ssl: &Ssl) {
    println!(
        "   connected: {} {} group {} | {} | handshake {} us | want_read {} want_write {}",
        n.version(),
        n.cipher_suite(),
        n.group().map_or("-".into(), |g| g.to_string()),
        if n.resumed() {
            "resumed with the ticket of an earlier connection".to_string()
        } else {
            format!(
                "full handshake, peer chain {} certs verified",
                n.peer_chain().len()
            )
        },
        took.as_micros(),
        ssl.stats().want_read,
        ssl.stats().want_write,
    );
}

/// Writes `line`, reads the echo back, shuts down; `wait` satisfies want-read/want-write.
fn echo(ssl: &mut Ssl, line: &[u8], mut wait: impl FnMut(ErrorKind, &mut Ssl)) -> Result<()> {
    let mut off = 0;
    while off < line.len() {
        match ssl.write(&line[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind().is_retry() => wait(e.kind(), ssl),
            Err(e) => return Err(format!("write: {e}").into()),
        }
    }
    loop {
        match ssl.flush() {
            Ok(()) => break,
            Err(e) if e.kind().is_retry() => wait(e.kind(), ssl),
            Err(e) => return Err(format!("flush: {e}").into()),
        }
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.len() < line.len() {
        match ssl.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind().is_retry() => wait(e.kind(), ssl),
            Err(e) => return Err(format!("read: {e}").into()),
        }
    }
    println!("   echo: {:?}", String::from_utf8_lossy(&got));
    let _ = ssl.shutdown();
    Ok(())
}

fn wait_socket(tcp: &TcpStream, kind: ErrorKind) {
    let flags = if kind == ErrorKind::WantRead {
        PollFlags::IN
    } else {
        PollFlags::OUT
    };
    let mut fds = [PollFd::new(tcp, flags)];
    let ts = rustix::event::Timespec {
        tv_sec: 5,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&ts)).expect("poll");
}

/// Moves bytes between the pair's far end and the socket: everything Overture wrote goes out;
/// when it wants to read, one read from the socket goes in.
fn pump(
    far: &mut overture::bio::BioPairEnd,
    tcp: &mut TcpStream,
    kind: ErrorKind,
) -> (usize, usize) {
    let mut buf = [0u8; 17 * 1024];
    let mut out = 0;
    while let Ok(Transfer::Bytes(n)) = far.read(&mut buf) {
        tcp.write_all(&buf[..n]).unwrap();
        out += n;
    }
    let mut inn = 0;
    if kind == ErrorKind::WantRead {
        let room = far.write_guarantee().min(buf.len());
        let n = tcp.read(&mut buf[..room]).unwrap();
        if n == 0 {
            far.shutdown_write().unwrap();
        } else {
            let mut chunk = &buf[..n];
            while !chunk.is_empty() {
                match far.write(chunk).unwrap() {
                    Transfer::Bytes(w) => chunk = &chunk[w..],
                    _ => break,
                }
            }
            inn = n;
        }
    }
    (out, inn)
}

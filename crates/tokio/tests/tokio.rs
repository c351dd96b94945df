//! `overture-tokio` against real peers: `openssl s_server` and `gnutls-serv` processes on
//! 127.0.0.1, and an in-process rustls server (tokio-rustls) over `tokio::io::duplex`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::as_conversions
)]
#![allow(missing_docs)]

use overture::ClientConfig;
use overture::types::ProtocolVersion;
use overture_tests::{KeyKind, Pki, gnutls_serv, openssl_s_server_in};
use overture_tokio::{MAX_WRITE_BACKLOG, TlsConnector, TlsStream};
use std::io::Write as _;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

fn connector(pki: &Pki, versions: &[ProtocolVersion]) -> TlsConnector {
    let mut b = ClientConfig::builder().with_ca_file(&pki.ca_pem).unwrap();
    if !versions.is_empty() {
        b = b.with_protocol_versions(versions);
    }
    TlsConnector::from(b.build().unwrap())
}

/// A pattern that shows misordered or lost bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Writes `data` in 16 KiB writes while reading the echo back concurrently; returns the echo.
async fn echo<IO: AsyncRead + AsyncWrite + Unpin>(
    tls: TlsStream<IO>,
    data: &[u8],
) -> (TlsStream<IO>, Vec<u8>) {
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = async {
        for chunk in data.chunks(16 * 1024) {
            wr.write_all(chunk).await.unwrap();
        }
        wr.flush().await.unwrap();
    };
    let reader = async {
        let mut got = vec![0u8; data.len()];
        rd.read_exact(&mut got).await.unwrap();
        got
    };
    let ((), got) = tokio::join!(writer, reader);
    (rd.unsplit(wr), got)
}

fn timeout<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(30), f)
}

// ---- in-process rustls server over tokio::io::duplex --------------------------------------

fn rustls_acceptor(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> tokio_rustls::TlsAcceptor {
    tokio_rustls::TlsAcceptor::from(overture_tests::rustls_server_config(
        pki,
        versions,
        &[],
        &[],
    ))
}

/// A rustls echo server on the other end of a duplex: echoes until our close_notify, then
/// sends its own.
async fn rustls_echo(acceptor: tokio_rustls::TlsAcceptor, io: DuplexStream) {
    let tls = acceptor.accept(io).await.unwrap();
    let (mut r, mut w) = tokio::io::split(tls);
    tokio::io::copy(&mut r, &mut w).await.unwrap();
    w.shutdown().await.unwrap();
}

async fn duplex_echo(version: &'static rustls::SupportedProtocolVersion, want: ProtocolVersion) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let acceptor = rustls_acceptor(&pki, &[version]);
    let connector = connector(&pki, &[]);
    let data = pattern(MIB);
    for round in 0..2 {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let server = tokio::spawn(rustls_echo(acceptor.clone(), server));
        let tls = timeout(connector.connect("localhost", client))
            .await
            .unwrap()
            .unwrap();
        let n = tls.negotiated().unwrap();
        assert_eq!(n.version(), want);
        // The second connection resumes the session the first one was given.
        assert_eq!(n.resumed(), round == 1, "round {round}");
        let (mut tls, got) = timeout(echo(tls, &data)).await.unwrap();
        assert!(got == data, "the echo differs");
        // Graceful: our close_notify, then the server's reads as a clean end of file.
        tls.shutdown().await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(tls.read_to_end(&mut rest).await.unwrap(), 0);
        server.await.unwrap();
    }
}

#[tokio::test]
async fn duplex_rustls_tls13_echo_shutdown_resumption() {
    duplex_echo(&rustls::version::TLS13, ProtocolVersion::TLSv1_3).await;
}

#[tokio::test]
async fn duplex_rustls_tls12_echo_shutdown_resumption() {
    duplex_echo(&rustls::version::TLS12, ProtocolVersion::TLSv1_2).await;
}

/// Both ends connected over a duplex: our stream and the rustls server's.
async fn pair(
    pki: &Pki,
    capacity: usize,
) -> (
    TlsStream<DuplexStream>,
    tokio_rustls::server::TlsStream<DuplexStream>,
) {
    let acceptor = rustls_acceptor(pki, &[]);
    let (client, server) = tokio::io::duplex(capacity);
    let connector = connector(pki, &[]);
    let (c, s) = tokio::join!(
        connector.connect("localhost", client),
        acceptor.accept(server)
    );
    (c.unwrap(), s.unwrap())
}

#[tokio::test]
async fn end_of_file_without_close_notify_is_unexpected_eof() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut tls, server) = pair(&pki, 64 * 1024).await;
    let (mut io, _conn) = server.into_inner();
    io.shutdown().await.unwrap();
    drop(io);
    let mut buf = [0u8; 64];
    let err = tls.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
}

#[tokio::test]
async fn dropping_a_read_future_mid_record_loses_nothing() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut tls, mut server) = pair(&pki, 256 * 1024).await;
    let payload = pattern(10_000);
    // One record, put on the wire by hand in two halves.
    let (io, conn) = server.get_mut();
    conn.writer().write_all(&payload).unwrap();
    let mut wire = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut wire).unwrap();
    }
    let half = wire.len() - payload.len() / 2;
    io.write_all(&wire[..half]).await.unwrap();
    let mut buf = vec![0u8; payload.len()];
    // The read waits for the rest of the record; drop it there.
    let r = tokio::time::timeout(Duration::from_millis(100), tls.read(&mut buf)).await;
    assert!(r.is_err(), "a read completed with half a record: {r:?}");
    io.write_all(&wire[half..]).await.unwrap();
    timeout(tls.read_exact(&mut buf)).await.unwrap().unwrap();
    assert!(buf == payload);
}

#[tokio::test]
async fn dropping_the_connect_future_mid_handshake_is_clean() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let connector = connector(&pki, &[]);
    let (client, mut server_io) = tokio::io::duplex(64 * 1024);
    // A rustls server that answers with half of its first flight only.
    let mut server =
        rustls::ServerConnection::new(overture_tests::rustls_server_config(&pki, &[], &[], &[]))
            .unwrap();
    let mut connect = Box::pin(connector.connect("localhost", client));
    // Poll the handshake until the ClientHello is out, then answer half a flight.
    let mut hello = vec![0u8; 4096];
    let n = tokio::select! {
        r = &mut connect => panic!("connect completed without a server: {r:?}"),
        n = server_io.read(&mut hello) => n.unwrap(),
    };
    server.read_tls(&mut &hello[..n]).unwrap();
    server.process_new_packets().unwrap();
    let mut flight = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut flight).unwrap();
    }
    server_io
        .write_all(&flight[..flight.len() / 2])
        .await
        .unwrap();
    let r = tokio::time::timeout(Duration::from_millis(100), &mut connect).await;
    assert!(r.is_err(), "the handshake completed on half a flight");
    drop(connect);
    // The transport went with the future: the server sees end of file.
    let mut rest = Vec::new();
    server_io.read_to_end(&mut rest).await.unwrap();
    // The connector is untouched: a new connection completes.
    let acceptor = rustls_acceptor(&pki, &[]);
    let (client, server) = tokio::io::duplex(64 * 1024);
    let (c, s) = tokio::join!(
        connector.connect("localhost", client),
        acceptor.accept(server)
    );
    s.unwrap();
    assert!(!c.unwrap().negotiated().unwrap().resumed());
}

#[tokio::test]
async fn a_peer_that_does_not_read_makes_writes_pend_within_the_bound() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut tls, mut server) = pair(&pki, 16 * 1024).await;
    let chunk = pattern(64 * 1024);
    let mut taken = 0usize;
    // Write until a write pends (the server reads nothing); each write is cancel-safe.
    loop {
        match tokio::time::timeout(Duration::from_millis(100), tls.write(&chunk)).await {
            Ok(n) => taken += n.unwrap(),
            Err(_) => break,
        }
        assert!(
            taken <= 64 * MAX_WRITE_BACKLOG,
            "writes never pend ({taken} bytes)"
        );
    }
    let queued = tls.get_ref().1.pending_output().len();
    // The bound plus one write's sealing overhead at most; what was taken beyond it is in the
    // duplex (16 KiB) and the server's buffers.
    assert!(queued <= MAX_WRITE_BACKLOG + 1024, "{queued} bytes queued");
    assert!(
        queued >= MAX_WRITE_BACKLOG / 2,
        "{queued}: the bound was not reached"
    );
    assert!(
        taken <= MAX_WRITE_BACKLOG + 128 * 1024,
        "{taken} bytes taken"
    );
    // Everything taken arrives, in order, once the server reads.
    let reader = async {
        let mut got = vec![0u8; taken];
        server.read_exact(&mut got).await.unwrap();
        got
    };
    let (flushed, got) = tokio::join!(tls.flush(), reader);
    flushed.unwrap();
    let want: Vec<u8> = chunk.iter().copied().cycle().take(taken).collect();
    assert!(got == want);
}

#[tokio::test]
async fn vectored_writes_arrive_in_order() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut tls, mut server) = pair(&pki, 256 * 1024).await;
    let parts: Vec<Vec<u8>> = vec![b"GET / ".to_vec(), pattern(20_000), b"\r\n\r\n".to_vec()];
    let want: Vec<u8> = parts.concat();
    let mut sent = 0;
    while sent < want.len() {
        // Rebuild the slices past what was taken, as a caller of write_vectored does.
        let mut skip = sent;
        let mut slices = Vec::new();
        for p in &parts {
            if skip >= p.len() {
                skip -= p.len();
                continue;
            }
            slices.push(std::io::IoSlice::new(&p[skip..]));
            skip = 0;
        }
        assert!(tls.is_write_vectored());
        sent += tls.write_vectored(&slices).await.unwrap();
    }
    tls.flush().await.unwrap();
    let mut got = vec![0u8; want.len()];
    server.read_exact(&mut got).await.unwrap();
    assert!(got == want);
}

// ---- real peers on 127.0.0.1 --------------------------------------------------------------

async fn tcp(addr: std::net::SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

async fn gnutls_echo(priority: &str, want: ProtocolVersion) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = gnutls_serv(&pki, priority, "--echo") else {
        return;
    };
    let connector = connector(&pki, &[]);
    let tls = timeout(connector.connect("localhost", tcp(peer.addr).await))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tls.negotiated().unwrap().version(), want, "{}", peer.name);
    // gnutls-serv echoes line by line: 1 MiB of 64-byte lines.
    let data: Vec<u8> = (0..MIB)
        .map(|i| {
            if i % 64 == 63 {
                b'\n'
            } else {
                b'a' + (i / 64 % 26) as u8
            }
        })
        .collect();
    let (mut tls, got) = timeout(echo(tls, &data)).await.unwrap();
    assert!(got == data, "the echo from {} differs", peer.name);
    timeout(tls.shutdown()).await.unwrap().unwrap();
}

#[tokio::test]
async fn gnutls_serv_tls13_echo() {
    gnutls_echo("NORMAL:-VERS-ALL:+VERS-TLS1.3", ProtocolVersion::TLSv1_3).await;
}

#[tokio::test]
async fn gnutls_serv_tls12_echo() {
    gnutls_echo("NORMAL:-VERS-ALL:+VERS-TLS1.2", ProtocolVersion::TLSv1_2).await;
}

/// GET `path` from an `openssl s_server -WWW`, read to the end.
async fn get(connector: &TlsConnector, addr: std::net::SocketAddr, path: &str) -> (bool, Vec<u8>) {
    let mut tls = timeout(connector.connect("localhost", tcp(addr).await))
        .await
        .unwrap()
        .unwrap();
    let resumed = tls.negotiated().unwrap().resumed();
    tls.write_all(format!("GET /{path} HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut reply = Vec::new();
    timeout(tls.read_to_end(&mut reply)).await.unwrap().unwrap();
    tls.shutdown().await.ok();
    (resumed, reply)
}

async fn openssl_www(version_flag: &str, versions: &[ProtocolVersion]) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let dir = overture_tests::temp_dir("tokio-www");
    let data = pattern(MIB);
    std::fs::File::create(dir.join("big.bin"))
        .unwrap()
        .write_all(&data)
        .unwrap();
    let Some(peer) = openssl_s_server_in(&pki, Some(&dir), &["-WWW", version_flag]) else {
        return;
    };
    let connector = connector(&pki, versions);
    let (resumed, reply) = get(&connector, peer.addr, "big.bin").await;
    assert!(!resumed);
    let body_at = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        reply.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&reply[..body_at])
    );
    assert!(reply[body_at..] == data[..], "the body differs");
    // The session the first connection got is resumed by the second.
    let (resumed, reply) = get(&connector, peer.addr, "big.bin").await;
    assert!(resumed, "{}: not resumed", peer.name);
    assert!(reply.ends_with(&data));
}

#[tokio::test]
async fn openssl_s_server_tls13_download_and_resumption() {
    openssl_www("-tls1_3", &[]).await;
}

#[tokio::test]
async fn openssl_s_server_tls12_download_and_resumption() {
    openssl_www("-tls1_2", &[ProtocolVersion::TLSv1_2]).await;
}

// ---- 0-RTT early data against an in-process rustls server on 127.0.0.1 ------------------

const EARLY: &[u8] = b"GET /early HTTP/1.0\r\n\r\n";

/// What one connection to [`rustls_early_server`] received: early data, application data.
#[derive(Debug, Default)]
struct Received {
    early: Vec<u8>,
    data: Vec<u8>,
}

/// A rustls TLS 1.3 server on 127.0.0.1 (blocking, on a thread) serving one connection per
/// `max_early_data_size` in turn over one session storage: it reads early data during the
/// handshake, echoes application data once it ends in `end\n`, closes, and reports both.
fn rustls_early_server(
    pki: &Pki,
    max_early: &[u32],
) -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<Received>>) {
    use std::io::Read as _;
    let base = overture_tests::rustls_server_config(pki, &[&rustls::version::TLS13], &[], &[]);
    let configs: Vec<_> = max_early
        .iter()
        .map(|m| {
            let mut c = rustls::ServerConfig::clone(&base);
            c.max_early_data_size = *m;
            std::sync::Arc::new(c)
        })
        .collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let mut all = Vec::new();
        for config in configs {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut conn = rustls::ServerConnection::new(config).unwrap();
            let mut got = Received::default();
            let mut buf = [0u8; 16384];
            loop {
                while conn.wants_write() && conn.write_tls(&mut tcp).is_ok() {}
                if !conn.is_handshaking() && got.data.ends_with(b"end\n") {
                    conn.writer().write_all(&got.data).unwrap();
                    conn.send_close_notify();
                    while conn.wants_write() && conn.write_tls(&mut tcp).is_ok() {}
                    break;
                }
                match conn.read_tls(&mut tcp) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                conn.process_new_packets().unwrap();
                if let Some(mut early) = conn.early_data() {
                    early.read_to_end(&mut got.early).unwrap();
                }
                while let Ok(n @ 1..) = conn.reader().read(&mut buf) {
                    got.data.extend_from_slice(&buf[..n]);
                }
            }
            all.push(got);
        }
        all
    });
    (addr, thread)
}

/// Connects with `EARLY` as early data, writes what did not reach the server and `end\n`,
/// reads the echo to the end; returns the status, `early_data_sent` and the echo.
async fn connect_early(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
) -> (overture::EarlyDataStatus, usize, Vec<u8>) {
    let tcp = tcp(addr).await;
    let mut tls = timeout(connector.connect_with_early_data("localhost", tcp, EARLY, |_| ()))
        .await
        .unwrap()
        .unwrap();
    let status = tls.early_data_status();
    assert_eq!(tls.negotiated().unwrap().early_data(), status);
    let sent = tls.early_data_sent();
    tls.write_all(&EARLY[sent..]).await.unwrap();
    tls.write_all(b"end\n").await.unwrap();
    let mut echo = Vec::new();
    timeout(tls.read_to_end(&mut echo)).await.unwrap().unwrap();
    (status, sent, echo)
}

/// The first connection (a full handshake: nothing offered early, everything written after
/// it) gets a ticket allowing early data; the second resumes it with `EARLY` as early data.
async fn early_data_round(
    second_max_early: u32,
    policy: overture::EarlyDataRejected,
) -> ((overture::EarlyDataStatus, usize, Vec<u8>), Received) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (addr, server) = rustls_early_server(&pki, &[16384, second_max_early]);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_early_data(true)
        .with_early_data_rejected(policy)
        .build()
        .unwrap();
    let connector = TlsConnector::from(config);
    let (status, sent, echo) = connect_early(&connector, addr).await;
    assert_eq!(status, overture::EarlyDataStatus::NotSent);
    assert_eq!(sent, 0);
    let mut want = EARLY.to_vec();
    want.extend_from_slice(b"end\n");
    assert_eq!(echo, want);
    let second = connect_early(&connector, addr).await;
    let mut got = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    assert!(got[0].early.is_empty());
    (second, got.remove(1))
}

#[tokio::test]
async fn early_data_accepted_by_rustls() {
    let ((status, sent, echo), got) =
        early_data_round(16384, overture::EarlyDataRejected::Report).await;
    assert_eq!(status, overture::EarlyDataStatus::Accepted);
    assert_eq!(sent, EARLY.len());
    assert_eq!(
        got.early, EARLY,
        "the server read our early data as early data"
    );
    assert_eq!(got.data, b"end\n");
    assert_eq!(echo, b"end\n");
}

#[tokio::test]
async fn early_data_rejected_by_rustls_is_resent() {
    let ((status, sent, echo), got) =
        early_data_round(0, overture::EarlyDataRejected::Resend).await;
    assert_eq!(status, overture::EarlyDataStatus::Rejected);
    assert_eq!(sent, EARLY.len(), "the connection resent it");
    assert!(got.early.is_empty());
    let mut want = EARLY.to_vec();
    want.extend_from_slice(b"end\n");
    assert_eq!(got.data, want, "the early data came again, first, once");
    assert_eq!(echo, want);
}

#[tokio::test]
async fn early_data_rejected_by_rustls_is_reported() {
    let ((status, sent, echo), got) =
        early_data_round(0, overture::EarlyDataRejected::Report).await;
    assert_eq!(status, overture::EarlyDataStatus::Rejected);
    assert_eq!(sent, 0, "nothing resent: the application writes it");
    assert!(got.early.is_empty());
    let mut want = EARLY.to_vec();
    want.extend_from_slice(b"end\n");
    assert_eq!(got.data, want, "once: what the application wrote");
    assert_eq!(echo, want);
}

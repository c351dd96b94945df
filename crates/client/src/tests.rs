//! Unit tests of `Ssl` and `Connection` against an in-memory rustls server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::{ClientConfig, Ssl};
use overture_bio::Bio as _;
use overture_bio::Transfer;
use overture_bio::{BioPair, BioPairEnd};
use overture_tests::{KeyKind, Pki, rustls_server_config};
use std::io::{Read as _, Write as _};

/// Moves every byte between the client's pair end and the in-memory rustls server.
fn pump(far: &mut BioPairEnd, server: &mut rustls::ServerConnection) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Transfer::Bytes(n) = far.read(&mut buf).unwrap() {
        let mut input = &buf[..n];
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
        }
        server.process_new_packets().unwrap();
    }
    let mut out = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut out).unwrap();
    }
    if !out.is_empty() {
        assert!(matches!(far.write(&out).unwrap(), Transfer::Bytes(n) if n == out.len()));
    }
}

/// Reads of every size give the server's bytes in order: straight into the caller's buffer
/// when nothing is pending, the rest of a record kept for the next reads (`pending`).
#[test]
fn reads_of_any_size_get_every_byte_in_order() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let mut server =
        rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let (near, mut far) = BioPair::new(256 * 1024).unwrap();
    ssl.set_bio(Box::new(near));
    loop {
        match ssl.connect() {
            Ok(_) => break,
            Err(e) if e.kind().is_retry() => pump(&mut far, &mut server),
            Err(e) => panic!("{e}"),
        }
    }
    pump(&mut far, &mut server);
    let sent: Vec<u8> = (0..50_000u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    server.writer().write_all(&sent).unwrap();
    pump(&mut far, &mut server);
    let mut got = Vec::new();
    let sizes = [1usize, 7, 16 * 1024, 20_000, 3, 4096, 40_000];
    let mut buf = vec![0u8; 40_000];
    for size in sizes.iter().cycle() {
        if got.len() == sent.len() {
            break;
        }
        let n = ssl.read(&mut buf[..*size]).unwrap();
        assert!(n > 0 && n <= *size);
        got.extend_from_slice(&buf[..n]);
        assert!(ssl.pending() <= 16 * 1024);
    }
    assert_eq!(got, sent);
    assert_eq!(ssl.pending(), 0);
    // And the other way, after reads that left nothing pending.
    assert_eq!(ssl.write(b"ping").unwrap(), 4);
    pump(&mut far, &mut server);
    let mut echo = [0u8; 4];
    server.reader().read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"ping");
}

// ---- Connection, sans-IO -------------------------------------------------------------------

use crate::{Connection, ErrorKind, MAX_OUTPUT, MAX_PLAINTEXT};
use overture_types::UnixTime;

fn client_config(pki: &Pki) -> ClientConfig {
    ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap()
}

/// Moves the client's whole output to the server and processes it.
fn to_server(conn: &mut Connection, server: &mut rustls::ServerConnection) {
    let out = conn.pending_output().to_vec();
    conn.consume_output(out.len());
    let mut input = &out[..];
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
        server.process_new_packets().unwrap();
    }
}

/// The server's whole output, as the transport would deliver it.
fn from_server(server: &mut rustls::ServerConnection) -> Vec<u8> {
    let mut out = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut out).unwrap();
    }
    out
}

fn handshake(pki: &Pki) -> (Connection, rustls::ServerConnection) {
    let mut server =
        rustls::ServerConnection::new(rustls_server_config(pki, &[], &[], &[])).unwrap();
    let mut conn = Connection::new(&client_config(pki), "localhost").unwrap();
    assert!(conn.negotiated().is_none());
    conn.start(UnixTime::now()).unwrap();
    while conn.is_handshaking() {
        to_server(&mut conn, &mut server);
        let bytes = from_server(&mut server);
        assert_eq!(conn.feed(&bytes), bytes.len());
        conn.process(UnixTime::now()).unwrap();
    }
    to_server(&mut conn, &mut server);
    assert!(conn.is_established() && !conn.flight_pending());
    (conn, server)
}

/// A whole connection driven by hand, with no transport at all: handshake, data both ways,
/// the exporter agreeing with the server's, close_notify both ways.
#[test]
fn connection_runs_without_any_transport() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut conn, mut server) = handshake(&pki);
    let negotiated = conn.negotiated().unwrap();
    assert_eq!(
        negotiated.version(),
        overture_types::ProtocolVersion::TLSv1_3
    );

    assert_eq!(conn.write(b"ping").unwrap(), 4);
    to_server(&mut conn, &mut server);
    let mut got = [0u8; 4];
    server.reader().read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");

    server.writer().write_all(b"pong").unwrap();
    let mut from = &from_server(&mut server)[..];
    while !from.is_empty() {
        conn.read_tls(&mut from).unwrap();
    }
    conn.process(UnixTime::now()).unwrap();
    let mut buf = [0u8; 16];
    let n = conn.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"pong");
    assert_eq!(conn.read(&mut buf).unwrap_err().kind(), ErrorKind::WantRead);

    let mut ours = [0u8; 32];
    conn.export_keying_material(&mut ours, b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    let theirs = server
        .export_keying_material([0u8; 32], b"EXPORTER-test", Some(b"ctx"))
        .unwrap();
    assert_eq!(ours, theirs);

    conn.send_close_notify();
    to_server(&mut conn, &mut server);
    server.send_close_notify();
    let bytes = from_server(&mut server);
    conn.feed(&bytes);
    conn.process(UnixTime::now()).unwrap();
    assert_eq!(
        conn.read(&mut buf).unwrap_err().kind(),
        ErrorKind::ZeroReturn
    );
}

/// The output queue's bound: `write` takes nothing once it is full, and while it is full the
/// connection takes no input (a peer that never reads cannot make us buffer more); once the
/// transport takes the output, input flows again.
#[test]
fn a_full_output_queue_stops_input_until_it_drains() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut conn, mut server) = handshake(&pki);
    let data = vec![7u8; 64 * 1024];
    let mut written = 0;
    loop {
        match conn.write(&data) {
            Ok(n) => written += n,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::WantWrite);
                break;
            }
        }
    }
    // Everything up to the bound was taken (the queue holds the sealed form).
    assert!(written > MAX_OUTPUT - 1024, "{written}");
    // Sealing overhead only: 22 bytes per record of 2^14.
    assert!(conn.pending_output().len() <= MAX_OUTPUT + MAX_OUTPUT / 16_384 * 22 + 64);
    assert!(conn.output_full() && !conn.wants_read());

    server.writer().write_all(b"hello").unwrap();
    let bytes = from_server(&mut server);
    assert_eq!(conn.feed(&bytes), 0, "no input while the output is full");
    assert!(conn.receive_buffer().is_empty());
    conn.process(UnixTime::now()).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(conn.read(&mut buf).unwrap_err().kind(), ErrorKind::WantRead);

    // The transport takes the queue (the server reads it all, in record-sized steps).
    let out = conn.pending_output().to_vec();
    conn.consume_output(out.len());
    let (mut input, mut sink, mut received) = (&out[..], vec![0u8; 1 << 16], 0);
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
        server.process_new_packets().unwrap();
        while let Ok(n @ 1..) = server.reader().read(&mut sink) {
            received += n;
        }
    }
    assert_eq!(received, written);
    assert!(conn.wants_read());
    assert_eq!(conn.feed(&bytes), bytes.len());
    conn.process(UnixTime::now()).unwrap();
    let n = conn.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
}

/// The plaintext buffer's bound: records are opened only while less than `MAX_PLAINTEXT`
/// bytes wait to be read; the rest stays in the transport until the application reads.
#[test]
fn the_plaintext_buffer_is_bounded() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut conn, mut server) = handshake(&pki);
    let sent: Vec<u8> = (0..200_000u32)
        .map(|i| u8::try_from(i % 253).unwrap())
        .collect();
    server.set_buffer_limit(None);
    server.writer().write_all(&sent).unwrap();
    let bytes = from_server(&mut server);
    let mut at = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1000];
    while got.len() < sent.len() {
        // Feed and process as far as the connection takes input, without reading.
        loop {
            let n = conn.feed(&bytes[at..]);
            at += n;
            conn.process(UnixTime::now()).unwrap();
            assert!(conn.plaintext_pending() < MAX_PLAINTEXT + 16_384);
            if n == 0 {
                break;
            }
        }
        assert!(at == bytes.len() || conn.plaintext_pending() >= MAX_PLAINTEXT);
        let n = conn.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, sent);
}

/// `StreamOwned` over a plain `TcpStream` (no BIO): the handshake on first use, a request,
/// its echo, and a clean close.
#[test]
fn stream_owned_runs_over_a_tcp_stream() {
    use crate::StreamOwned;
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = overture_tests::RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let tcp = std::net::TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let conn = Connection::new(&client_config(&pki), "localhost").unwrap();
    let mut stream = StreamOwned::new(conn, tcp);
    stream.write_all(b"hello, echo").unwrap();
    let mut got = [0u8; 11];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello, echo");
    assert!(stream.conn.negotiated().is_some());
    stream.conn.send_close_notify();
    stream.flush().unwrap();
}

/// Hands the front `chunk` bytes of `pending` to `process_in_place` (as a BIO lends the part
/// of its ring that is contiguous) and drops what it took; returns the plaintext that went
/// into `buf`, or `None` when nothing was taken.
fn lend(
    conn: &mut Connection,
    pending: &mut Vec<u8>,
    chunk: usize,
    buf: &mut [u8],
) -> Option<usize> {
    let n = chunk.min(pending.len());
    let before = pending[n..].to_vec();
    let (taken, direct) = conn
        .process_in_place(UnixTime::now(), &mut pending[..n], buf)
        .unwrap();
    assert!(taken <= n);
    // Bytes not taken are left as they were.
    assert_eq!(&pending[n..], &before[..]);
    pending.drain(..taken);
    (taken > 0 || direct > 0).then_some(direct)
}

/// Records opened where the transport lends them (`process_in_place`) — the handshake's
/// and application data, lent whole or in pieces that split records anywhere — give the same
/// connection as records copied in first; `write_in_place` seals into lent space what the
/// server reads as the data written.
#[test]
fn records_are_opened_and_sealed_where_the_transport_lends_them() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    for chunk in [usize::MAX, 16_406, 1000, 7] {
        let mut server =
            rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
        let mut conn = Connection::new(&client_config(&pki), "localhost").unwrap();
        conn.start(UnixTime::now()).unwrap();
        let mut pending = Vec::new();
        for _ in 0..10_000 {
            if !conn.is_handshaking() {
                break;
            }
            to_server(&mut conn, &mut server);
            pending.extend(from_server(&mut server));
            while lend(&mut conn, &mut pending, chunk, &mut []).is_some() {}
        }
        to_server(&mut conn, &mut server);
        assert!(conn.is_established(), "chunk {chunk}");

        // Server to client: 50,000 bytes in 16 KiB records, read into buffers of every size.
        let sent: Vec<u8> = (0..50_000u32)
            .map(|i| u8::try_from(i % 249).unwrap())
            .collect();
        server.writer().write_all(&sent).unwrap();
        pending.extend(from_server(&mut server));
        let mut got = Vec::new();
        let mut buf = vec![0u8; 20_000];
        for size in [20_000usize, 1, 16_384, 300].iter().cycle() {
            if got.len() == sent.len() {
                break;
            }
            if conn.plaintext_pending() > 0 {
                let n = conn.read(&mut buf[..*size]).unwrap();
                got.extend_from_slice(&buf[..n]);
                continue;
            }
            let direct = lend(&mut conn, &mut pending, chunk, &mut buf[..*size]);
            assert!(direct.is_some(), "chunk {chunk}: no progress");
            got.extend_from_slice(&buf[..direct.unwrap_or(0)]);
        }
        assert_eq!(got, sent, "chunk {chunk}");
        assert!(pending.is_empty());

        // Client to server, sealed into lent space: only whole records, only when nothing is
        // queued, and what the server reads is what was written.
        let data: Vec<u8> = (0..40_000u32).map(|i| i.to_be_bytes()[3]).collect();
        let mut room = vec![0u8; conn.sealed_len(data.len())];
        assert_eq!(
            conn.write_in_place(&data, &mut room[..100]).unwrap(),
            (0, 0)
        );
        let one = conn.sealed_len(16_384);
        let (taken, written) = conn.write_in_place(&data, &mut room[..one + 10]).unwrap();
        assert_eq!((taken, written), (16_384, one));
        let mut wire = room[..written].to_vec();
        let (taken2, written2) = conn.write_in_place(&data[taken..], &mut room).unwrap();
        assert_eq!(taken + taken2, data.len());
        assert_eq!(written2, conn.sealed_len(data.len() - taken));
        wire.extend_from_slice(&room[..written2]);
        // Something queued goes first: then nothing is sealed in place.
        assert_eq!(conn.write(b"queued").unwrap(), 6);
        assert!(!conn.can_write_in_place());
        assert_eq!(conn.write_in_place(b"later", &mut room).unwrap(), (0, 0));
        let queued = conn.pending_output().to_vec();
        conn.consume_output(queued.len());
        wire.extend_from_slice(&queued);
        let mut input = &wire[..];
        let mut echo = Vec::new();
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
            server.process_new_packets().unwrap();
            let _ = server.reader().read_to_end(&mut echo);
        }
        assert_eq!(echo.len(), data.len() + 6);
        assert_eq!(&echo[..data.len()], &data[..]);
        assert_eq!(&echo[data.len()..], b"queued");
    }
}

/// The plaintext bound holds for records opened in place: at the bound the rest of what is
/// lent is not taken (it stays in the transport) until the application reads.
#[test]
fn the_plaintext_buffer_is_bounded_in_place_too() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut conn, mut server) = handshake(&pki);
    let sent: Vec<u8> = (0..200_000u32)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    server.set_buffer_limit(None);
    server.writer().write_all(&sent).unwrap();
    let mut pending = from_server(&mut server);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1000];
    while got.len() < sent.len() {
        while lend(&mut conn, &mut pending, usize::MAX, &mut []).is_some() {
            assert!(conn.plaintext_pending() < MAX_PLAINTEXT + 16_384);
        }
        assert!(pending.is_empty() || conn.plaintext_pending() >= MAX_PLAINTEXT);
        let n = conn.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, sent);
}

/// Over a transport that does not lend its buffers (bytes fed in, output taken out), a
/// connection holds one record buffer each way while 16 KiB move each way, and none once
/// idle: the output queue's memory goes when it drains, the input's when the application
/// says the connection is idle (`release_buffers`, which `Ssl` calls on a read that would
/// block).
#[test]
fn an_idle_connection_holds_no_record_buffer() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let (mut conn, mut server) = handshake(&pki);
    // The server's session tickets first (they go to the session store).
    let tickets = from_server(&mut server);
    assert_eq!(conn.feed(&tickets), tickets.len());
    conn.process(UnixTime::now()).unwrap();
    conn.release_buffers();
    let data = vec![0x42u8; 16 * 1024];
    // Send: the queue holds the sealed record until the transport takes it, then nothing.
    let written =
        allocation_counter::measure(|| assert_eq!(conn.write(&data).unwrap(), data.len()));
    assert!(written.bytes_current >= 16 * 1024, "{written:?}");
    assert!(
        written.bytes_max <= 16 * 1024 + 1024,
        "one record buffer: {written:?}"
    );
    let out = conn.pending_output().to_vec();
    let drained = allocation_counter::measure(|| conn.consume_output(out.len()));
    assert_eq!(drained.bytes_current, -written.bytes_current, "{drained:?}");
    let mut input = &out[..];
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
        server.process_new_packets().unwrap();
    }
    // Receive: one record's input buffer while it arrives, given back when idle.
    server.writer().write_all(&data).unwrap();
    let bytes = from_server(&mut server);
    let mut buf = vec![0u8; data.len()];
    let received = allocation_counter::measure(|| {
        assert_eq!(conn.feed(&bytes), bytes.len());
        assert_eq!(
            conn.process_into(UnixTime::now(), &mut buf).unwrap(),
            data.len()
        );
    });
    assert!(
        received.bytes_max <= u64::try_from(overture_record_layer::INPUT_BUFFER_LEN).unwrap(),
        "one record buffer: {received:?}"
    );
    assert_eq!(buf, data);
    let released = allocation_counter::measure(|| conn.release_buffers());
    assert_eq!(
        released.bytes_current, -received.bytes_current,
        "{released:?}"
    );
    assert!(received.bytes_current >= 16 * 1024, "{received:?}");
    // And it works again after.
    server.writer().write_all(b"again").unwrap();
    let bytes = from_server(&mut server);
    assert_eq!(conn.feed(&bytes), bytes.len());
    assert_eq!(conn.process_into(UnixTime::now(), &mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"again");
}

/// `Ssl::write` over a BIO pair with room for one record: that record is sealed in the pair's
/// buffer, the rest is queued as before (the call takes all of it), and `flush` sends it as
/// the pair drains; the server reads every byte in order.
#[test]
fn a_write_larger_than_the_lent_room_is_taken_whole() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let mut server =
        rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
    let mut ssl = Ssl::new(&client_config(&pki), "localhost").unwrap();
    let (near, mut far) = BioPair::new(20_000).unwrap();
    ssl.set_bio(Box::new(near));
    loop {
        match ssl.connect() {
            Ok(_) => break,
            Err(e) if e.kind().is_retry() => pump(&mut far, &mut server),
            Err(e) => panic!("{e}"),
        }
    }
    pump(&mut far, &mut server);
    let data: Vec<u8> = (0..50_000u32).map(|i| i.to_le_bytes()[1]).collect();
    let before = ssl.stats().writes;
    assert_eq!(ssl.write(&data).unwrap(), data.len());
    assert!(ssl.stats().writes > before);
    assert!(
        ssl.connection().wants_write(),
        "the rest waits in the queue"
    );
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    for _ in 0..100 {
        // The server takes the pair's bytes a piece at a time, reading its plaintext as it goes.
        while let Transfer::Bytes(n) = far.read(&mut buf).unwrap() {
            let mut input = &buf[..n];
            while !input.is_empty() {
                server.read_tls(&mut input).unwrap();
                server.process_new_packets().unwrap();
                let _ = server.reader().read_to_end(&mut got);
            }
        }
        if got.len() == data.len() {
            break;
        }
        match ssl.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WantWrite => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, data);
}

//! The lending read paths — `Ssl::read_in_place`, `Connection::process_with` /
//! `buffered_plaintext`, `impl BufRead for StreamOwned` — against a real peer (an in-memory
//! rustls server): each scenario runs through `Ssl::read` and through the lending call, over
//! a BIO that lends its buffer (records opened there) and one that does not (records opened in
//! the connection's input), and must give the same bytes and the same final error (kind and
//! alert): data in records of several sizes (with the server's tickets before them), a
//! KeyUpdate from the server (which our answer must follow), close_notify, would-block, the
//! transport's end without close_notify, and a tampered record. And the other way,
//! `Ssl::write_with` / `Connection::write_with` (the record's room lent to the writer): the
//! server reads exactly what `write` would have sent, over both BIOs, behind a KeyUpdate
//! answer, and the same errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture::bio::{Bio, BioPair, BioPairEnd, Transfer};
use overture::types::{AlertDescription, UnixTime};
use overture::{ClientConfig, Connection, ErrorKind, Ssl, StreamOwned};
use overture_tests::{KeyKind, Pki, rustls_server_config};
use std::io::{self, BufRead as _, Read as _, Write as _};
use std::sync::Arc;

/// A BIO that does not lend its bytes (as a socket): the records go through the connection's
/// input buffer.
struct NoLend(BioPairEnd);

impl Bio for NoLend {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Transfer> {
        self.0.read(buf)
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<Transfer> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<Transfer> {
        self.0.flush()
    }
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.shutdown_write()
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `Ssl::read` into a 40 KiB buffer.
    Copy,
    /// `Ssl::read_in_place`, taking at most this many bytes per call (the rest stays buffered).
    Lend(usize),
}

const MODES: [Mode; 4] = [
    Mode::Copy,
    Mode::Lend(usize::MAX),
    Mode::Lend(1000),
    Mode::Lend(0),
];

struct Pair {
    ssl: Ssl,
    far: BioPairEnd,
    server: rustls::ServerConnection,
}

fn setup() -> (Pki, Arc<rustls::ServerConfig>, ClientConfig) {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = rustls_server_config(&pki, &[&rustls::version::TLS13], &[], &[]);
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    (pki, server, config)
}

impl Pair {
    fn connect(lending: bool) -> Self {
        let (_pki, server_config, config) = setup();
        let (near, far) = BioPair::new(1 << 20).unwrap();
        let mut ssl = Ssl::new(&config, "localhost").unwrap();
        if lending {
            ssl.set_bio(Box::new(near));
        } else {
            ssl.set_bio(Box::new(NoLend(near)));
        }
        let mut pair = Self {
            ssl,
            far,
            server: rustls::ServerConnection::new(server_config).unwrap(),
        };
        loop {
            match pair.ssl.connect() {
                Ok(_) => break,
                Err(e) if matches!(e.kind(), ErrorKind::WantRead | ErrorKind::WantWrite) => {
                    pair.pump_to_server();
                    pair.pump_to_client(|_| {});
                }
                Err(e) => panic!("handshake: {e}"),
            }
        }
        pair.pump_to_server();
        pair
    }

    /// The client's bytes into the server.
    fn pump_to_server(&mut self) {
        let mut buf = [0u8; 4096];
        while let Transfer::Bytes(n) = self.far.read(&mut buf).unwrap() {
            let mut input = &buf[..n];
            while !input.is_empty() {
                self.server.read_tls(&mut input).unwrap();
            }
            self.server.process_new_packets().unwrap();
        }
    }

    /// The server's bytes to the client, through `tamper` first.
    fn pump_to_client(&mut self, tamper: impl FnOnce(&mut Vec<u8>)) {
        let mut out = Vec::new();
        while self.server.wants_write() {
            self.server.write_tls(&mut out).unwrap();
        }
        tamper(&mut out);
        let mut off = 0;
        while off < out.len() {
            match self.far.write(&out[off..]).unwrap() {
                Transfer::Bytes(n) => off += n,
                other => panic!("pair write: {other:?}"),
            }
        }
    }

    /// Reads until the client would block or fails: the bytes, and the final error's kind and
    /// alerts (or `None` after would-block with nothing more).
    fn read_all(&mut self, mode: Mode) -> (Vec<u8>, ErrorKind, Option<AlertDescription>) {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 40 * 1024];
        let mut zero_takes = 0;
        loop {
            let r = match mode {
                Mode::Copy => self
                    .ssl
                    .read(&mut buf)
                    .inspect(|&n| got.extend_from_slice(&buf[..n])),
                Mode::Lend(max) => {
                    // Mode::Lend(0) takes nothing once, then everything: the rest must stay.
                    let max = if max == 0 && zero_takes > 0 {
                        usize::MAX
                    } else {
                        max
                    };
                    let mut called = false;
                    let r = self.ssl.read_in_place(|p| {
                        assert!(!p.is_empty(), "lent an empty slice");
                        called = true;
                        let n = p.len().min(max);
                        got.extend_from_slice(&p[..n]);
                        n
                    });
                    if let Ok(n) = r {
                        assert!(called, "read_in_place returned Ok({n}) without lending");
                        if n == 0 {
                            zero_takes += 1;
                        }
                    } else {
                        assert!(!called, "read_in_place lent bytes and failed: {r:?}");
                    }
                    r
                }
            };
            match r {
                Ok(_) => {}
                Err(e) => return (got, e.kind(), e.alert_sent().or(e.alert_received())),
            }
        }
    }
}

/// Runs `scenario` in every mode over both BIOs; each must end alike. Returns one outcome.
fn same_in_every_mode(
    scenario: impl Fn(&mut Pair) -> (Vec<u8>, ErrorKind, Option<AlertDescription>),
) -> (Vec<u8>, ErrorKind, Option<AlertDescription>) {
    let mut first = None;
    for lending in [true, false] {
        for mode in MODES {
            let mut pair = Pair::connect(lending);
            let outcome = scenario_with(&mut pair, mode, &scenario);
            match &first {
                None => first = Some(outcome),
                Some(f) => assert!(
                    f.0 == outcome.0 && f.1 == outcome.1 && f.2 == outcome.2,
                    "{mode:?} (lending BIO: {lending}) ended with {} bytes, {:?}, {:?}; \
                     Ssl::read over a lending BIO with {} bytes, {:?}, {:?}",
                    outcome.0.len(),
                    outcome.1,
                    outcome.2,
                    f.0.len(),
                    f.1,
                    f.2
                ),
            }
        }
    }
    first.unwrap()
}

thread_local!(static MODE: std::cell::Cell<Mode> = const { std::cell::Cell::new(Mode::Copy) });

fn scenario_with(
    pair: &mut Pair,
    mode: Mode,
    scenario: &impl Fn(&mut Pair) -> (Vec<u8>, ErrorKind, Option<AlertDescription>),
) -> (Vec<u8>, ErrorKind, Option<AlertDescription>) {
    MODE.with(|m| m.set(mode));
    scenario(pair)
}

fn mode() -> Mode {
    MODE.with(std::cell::Cell::get)
}

/// 16 KiB, 100 bytes and 40,000 bytes (three records of it): `len` bytes of a pattern.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

#[test]
fn data_in_records_of_every_size_then_would_block() {
    let expected: Vec<u8> = [pattern(16 * 1024, 1), pattern(100, 2), pattern(40_000, 3)].concat();
    let (got, kind, alert) = same_in_every_mode(|pair| {
        for chunk in [pattern(16 * 1024, 1), pattern(100, 2), pattern(40_000, 3)] {
            pair.server.writer().write_all(&chunk).unwrap();
        }
        // The server's tickets and the data arrive together, after the handshake.
        pair.pump_to_client(|_| {});
        let out = pair.read_all(mode());
        assert!(pair.ssl.session().is_some(), "the tickets were processed");
        out
    });
    assert_eq!(got, expected);
    assert_eq!((kind, alert), (ErrorKind::WantRead, None));
}

#[test]
fn key_update_from_the_server_is_answered() {
    let (got, kind, _) = same_in_every_mode(|pair| {
        pair.server.writer().write_all(b"before").unwrap();
        pair.server.refresh_traffic_keys().unwrap();
        pair.server.writer().write_all(&pattern(20_000, 9)).unwrap();
        pair.pump_to_client(|_| {});
        let out = pair.read_all(mode());
        // Our answer (a KeyUpdate) went before this data: the server reads it under our new key.
        pair.ssl.write(b"after").unwrap();
        pair.pump_to_server();
        let mut answer = [0u8; 5];
        pair.server.reader().read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"after");
        out
    });
    assert_eq!(got, [b"before".to_vec(), pattern(20_000, 9)].concat());
    assert_eq!(kind, ErrorKind::WantRead);
}

#[test]
fn close_notify_after_data_reads_as_zero_return() {
    let (got, kind, alert) = same_in_every_mode(|pair| {
        pair.server.writer().write_all(&pattern(5000, 4)).unwrap();
        pair.server.send_close_notify();
        pair.pump_to_client(|_| {});
        pair.read_all(mode())
    });
    assert_eq!(got, pattern(5000, 4));
    assert_eq!((kind, alert), (ErrorKind::ZeroReturn, None));
}

#[test]
fn transport_end_without_close_notify_is_an_error() {
    let (got, kind, alert) = same_in_every_mode(|pair| {
        pair.server.writer().write_all(b"partial").unwrap();
        pair.pump_to_client(|_| {});
        pair.far.shutdown_write().unwrap();
        pair.read_all(mode())
    });
    assert_eq!(got, b"partial");
    assert_eq!(
        (kind, alert),
        (ErrorKind::Ssl, Some(AlertDescription::DecodeError))
    );
}

#[test]
fn tampered_record_is_bad_record_mac() {
    let (got, kind, alert) = same_in_every_mode(|pair| {
        pair.server.writer().write_all(b"first").unwrap();
        pair.pump_to_client(|_| {});
        pair.server.writer().write_all(&pattern(3000, 5)).unwrap();
        // Flip a byte of the second record's ciphertext.
        pair.pump_to_client(|out| out[100] ^= 1);
        pair.read_all(mode())
    });
    assert_eq!(got, b"first");
    assert_eq!(
        (kind, alert),
        (ErrorKind::Ssl, Some(AlertDescription::BadRecordMac))
    );
}

#[test]
fn fatal_alert_from_the_server_ends_both_paths_alike() {
    let (got, kind, alert) = same_in_every_mode(|pair| {
        pair.server.writer().write_all(b"data").unwrap();
        pair.pump_to_client(|_| {});
        // A fatal alert record under the server's key: rustls sends one for a record it cannot
        // open; make it by feeding the server garbage.
        let mut garbage: &[u8] = &[
            23, 3, 3, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        pair.server.read_tls(&mut garbage).unwrap();
        assert!(pair.server.process_new_packets().is_err());
        pair.pump_to_client(|_| {});
        pair.read_all(mode())
    });
    assert_eq!(got, b"data");
    assert_eq!(
        (kind, alert),
        (ErrorKind::Ssl, Some(AlertDescription::BadRecordMac))
    );
}

#[test]
fn read_in_place_lends_nothing_before_data_and_keeps_what_it_left() {
    let mut pair = Pair::connect(true);
    let mut called = false;
    let e = pair
        .ssl
        .read_in_place(|_| {
            called = true;
            0
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WantRead);
    assert!(!called);
    pair.server.writer().write_all(b"hello world").unwrap();
    pair.pump_to_client(|_| {});
    // Take 5 bytes in place; `read` gets the rest, from the connection's buffer.
    let n = pair
        .ssl
        .read_in_place(|p| {
            assert_eq!(p, b"hello world");
            5
        })
        .unwrap();
    assert_eq!(n, 5);
    let mut buf = [0u8; 64];
    let n = pair.ssl.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b" world");
    // A closure claiming more than it was lent takes what it was lent.
    pair.server.writer().write_all(b"xyz").unwrap();
    pair.pump_to_client(|_| {});
    assert_eq!(pair.ssl.read_in_place(|_| 1000).unwrap(), 3);
    assert_eq!(
        pair.ssl.read(&mut buf).unwrap_err().kind(),
        ErrorKind::WantRead
    );
}

/// An in-memory transport to a rustls server for `StreamOwned`: writes go into the server,
/// reads take what it has sent (would-block when nothing).
struct Duplex {
    server: rustls::ServerConnection,
    backlog: Vec<u8>,
}

impl io::Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.server.wants_write() {
            self.server.write_tls(&mut self.backlog)?;
        }
        if self.backlog.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.backlog.len().min(buf.len());
        buf[..n].copy_from_slice(&self.backlog[..n]);
        self.backlog.drain(..n);
        Ok(n)
    }
}

impl io::Write for Duplex {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let len = data.len();
        while !data.is_empty() {
            self.server.read_tls(&mut data)?;
            self.server
                .process_new_packets()
                .map_err(io::Error::other)?;
        }
        Ok(len)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn stream() -> StreamOwned<Duplex> {
    let (_pki, server_config, config) = setup();
    let conn = Connection::new(&config, "localhost").unwrap();
    let server = rustls::ServerConnection::new(server_config).unwrap();
    let mut s = StreamOwned::new(
        conn,
        Duplex {
            server,
            backlog: Vec::new(),
        },
    );
    s.write_all(b"hi").unwrap();
    s
}

#[test]
fn stream_owned_buf_read_and_read_in_place_read_through_a_key_update_to_end_of_file() {
    let long = "x".repeat(20_000);
    let text = format!("first line\nsecond\n{long}\nlast");
    let mut via_read = String::new();
    let mut via_lines = Vec::new();
    let mut via_lending = Vec::new();
    for mode in 0..3 {
        let mut s = stream();
        let server = &mut s.sock.server;
        server.writer().write_all(&text.as_bytes()[..15]).unwrap();
        server.refresh_traffic_keys().unwrap();
        server.writer().write_all(&text.as_bytes()[15..]).unwrap();
        server.send_close_notify();
        match mode {
            0 => {
                s.read_to_string(&mut via_read).unwrap();
            }
            1 => {
                let mut line = String::new();
                while s.read_line(&mut line).unwrap() > 0 {
                    via_lines.push(std::mem::take(&mut line));
                }
                // End of file stays end of file.
                assert!(s.fill_buf().unwrap().is_empty());
            }
            _ => {
                // Lent in place, 7000 bytes at most per call: the rest stays for the next.
                loop {
                    let mut called = false;
                    let n = s
                        .read_in_place(|p| {
                            called = true;
                            let n = p.len().min(7000);
                            via_lending.extend_from_slice(&p[..n]);
                            n
                        })
                        .unwrap();
                    if n == 0 {
                        assert!(!called, "lent at end of file");
                        break;
                    }
                }
                assert_eq!(s.read_in_place(|_| panic!("lent after EOF")).unwrap(), 0);
            }
        }
        // The KeyUpdate was answered: the server reads what we write after it.
        s.write_all(b"done").unwrap();
        let mut got = [0u8; 6];
        s.sock.server.reader().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hidone");
    }
    assert_eq!(via_read, text);
    assert_eq!(via_lines.concat(), text);
    assert_eq!(via_lines.len(), 4);
    assert_eq!(via_lending, text.as_bytes());
}

#[test]
fn stream_owned_fill_buf_reports_a_tampered_record() {
    let mut s = stream();
    s.sock.server.writer().write_all(b"abc").unwrap();
    assert_eq!(s.fill_buf().unwrap(), b"abc");
    s.consume(1);
    assert_eq!(s.fill_buf().unwrap(), b"bc");
    s.consume(2);
    // Would block: the transport's error comes back as is.
    assert_eq!(s.fill_buf().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    s.sock.server.writer().write_all(b"defgh").unwrap();
    let mut out = Vec::new();
    s.sock.server.write_tls(&mut out).unwrap();
    out[10] ^= 1;
    let mut tampered = StreamOwned::new(s.conn, Replay(out));
    let e = tampered.fill_buf().unwrap_err();
    let e = e
        .into_inner()
        .unwrap()
        .downcast::<overture::Error>()
        .unwrap();
    assert_eq!(e.alert_sent(), Some(AlertDescription::BadRecordMac));
}

/// A transport that reads out fixed bytes once and swallows writes.
struct Replay(Vec<u8>);

impl io::Read for Replay {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
        Ok(n)
    }
}

impl io::Write for Replay {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn connection_process_with_then_buffered_plaintext() {
    let mut s = stream();
    s.sock
        .server
        .writer()
        .write_all(&pattern(16 * 1024, 7))
        .unwrap();
    s.sock.server.writer().write_all(b"tail").unwrap();
    let mut out = Vec::new();
    while s.sock.server.wants_write() {
        s.sock.server.write_tls(&mut out).unwrap();
    }
    let (mut conn, _) = s.into_parts();
    let now = UnixTime::now();
    let mut got = Vec::new();
    let mut fed = 0;
    while fed < out.len() || conn.plaintext_pending() > 0 || got.len() < 16 * 1024 + 4 {
        fed += conn.feed(&out[fed..]);
        // Take 4096 bytes of each record in place; the rest waits in the plaintext buffer.
        let took = conn
            .process_with(now, |p| {
                let n = p.len().min(4096);
                got.extend_from_slice(&p[..n]);
                n
            })
            .unwrap();
        if took.is_none() {
            let rest = conn.buffered_plaintext();
            assert!(!rest.is_empty() || fed < out.len(), "no progress");
            got.extend_from_slice(rest);
            let n = rest.len();
            conn.consume_plaintext(n);
        }
    }
    assert_eq!(got, [pattern(16 * 1024, 7), b"tail".to_vec()].concat());
    assert!(conn.buffered_plaintext().is_empty());
    assert_eq!(
        conn.read(&mut [0; 8]).unwrap_err().kind(),
        ErrorKind::WantRead
    );
}

/// What the server reads now (its plaintext taken as it comes: rustls buffers little).
fn server_reads(pair: &mut Pair) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Transfer::Bytes(n) = pair.far.read(&mut buf).unwrap() {
        let mut input = &buf[..n];
        while !input.is_empty() {
            pair.server.read_tls(&mut input).unwrap();
            pair.server.process_new_packets().unwrap();
            let mut plain = [0u8; 4096];
            loop {
                match pair.server.reader().read(&mut plain) {
                    Ok(0) => break,
                    Ok(n) => got.extend_from_slice(&plain[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("server read: {e}"),
                }
            }
        }
    }
    got
}

#[test]
fn write_with_sends_what_write_sends() {
    for lending in [true, false] {
        let mut pair = Pair::connect(lending);
        let room = pair.ssl.connection().record_room();
        assert_eq!(room, 16 * 1024);
        let mut expected = Vec::new();
        for (len, seed) in [(16 * 1024, 1u8), (100, 2), (1, 3), (40_000, 4)] {
            let data = pattern(len, seed);
            let mut lent = 0;
            let n = pair
                .ssl
                .write_with(len, |room| {
                    lent = room.len();
                    let n = room.len().min(data.len());
                    room[..n].copy_from_slice(&data[..n]);
                    n
                })
                .unwrap();
            // One record at most: `max`, capped at the record's room.
            assert_eq!(lent, len.min(16 * 1024), "lending BIO: {lending}");
            assert_eq!(n, lent);
            expected.extend_from_slice(&data[..n]);
        }
        // A fill that writes nothing sends nothing, and `max` 0 does not call it.
        assert_eq!(pair.ssl.write_with(10, |_| 0).unwrap(), 0);
        assert_eq!(
            pair.ssl
                .write_with(0, |_| panic!("called for max 0"))
                .unwrap(),
            0
        );
        assert_eq!(server_reads(&mut pair), expected, "lending BIO: {lending}");
    }
}

#[test]
fn write_with_follows_our_key_update_answer() {
    for lending in [true, false] {
        let mut pair = Pair::connect(lending);
        pair.server.refresh_traffic_keys().unwrap();
        pair.server.writer().write_all(b"ping").unwrap();
        pair.pump_to_client(|_| {});
        let mut buf = [0u8; 16];
        assert_eq!(pair.ssl.read(&mut buf).unwrap(), 4);
        let n = pair
            .ssl
            .write_with(4, |room| {
                room.copy_from_slice(b"pong");
                4
            })
            .unwrap();
        assert_eq!(n, 4);
        // Readable only under the key our KeyUpdate installed: it went first.
        assert_eq!(server_reads(&mut pair), b"pong", "lending BIO: {lending}");
    }
}

#[test]
fn write_with_errors_as_write_does() {
    let mut pair = Pair::connect(true);
    let _ = pair.ssl.shutdown();
    let via_write = pair.ssl.write(b"late").unwrap_err();
    let mut called = false;
    let via_fill = pair
        .ssl
        .write_with(4, |_| {
            called = true;
            4
        })
        .unwrap_err();
    assert!(!called);
    assert_eq!(via_fill.kind(), via_write.kind());
    assert_eq!(via_fill.to_string(), via_write.to_string());

    // Connection: the queue's bound, as `write`.
    let (_pki, server_config, config) = setup();
    let _ = server_config;
    let mut conn = Connection::new(&config, "localhost").unwrap();
    let e = conn.write_with(4, |_| 4).unwrap_err();
    assert_eq!(e.kind(), conn.write(b"data").unwrap_err().kind());
}

#[test]
fn connection_write_with_queues_one_sealed_record() {
    let mut s = stream();
    let before = s.conn.pending_output().len();
    let n = s
        .conn
        .write_with(usize::MAX, |room| {
            room.fill(b'z');
            room.len()
        })
        .unwrap();
    assert_eq!(n, 16 * 1024);
    // Header, plaintext, content type, tag: one TLS 1.3 record, nothing else queued.
    assert_eq!(s.conn.pending_output().len() - before, 5 + n + 1 + 16);
    s.flush().unwrap();
    let mut got = vec![0u8; n + 2];
    s.sock.server.reader().read_exact(&mut got).unwrap();
    assert!(got[..2] == *b"hi" && got[2..].iter().all(|&b| b == b'z'));
}

//! record_size_limit (RFC 8449) against a real peer: `gnutls-serv --recordsize=512 --echo`
//! negotiates the limit (TLS 1.3 and TLS 1.2), and a 64 KiB echo keeps every record we send
//! within it — counted on the wire, from every byte the sans-IO `Connection` hands to the
//! socket. Our own limit is offered too, and the server's records must respect it (a larger
//! one would be `record_overflow`; the hostile-server case is in tests/hostile.rs).

#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::types::UnixTime;
use overture::{ClientConfig, Connection, ErrorKind};
use overture_tests::{KeyKind, Pki, gnutls_serv_with};
use overture_types::ProtocolVersion;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

const TAG_LEN: usize = 16;
/// TLS 1.2 AES-GCM's explicit nonce (RFC 5288 §3).
const EXPLICIT_NONCE_LEN: usize = 8;
const OUR_LIMIT: u16 = 2048;

/// Writes everything the connection queued to `tcp` and logs it.
fn flush(conn: &mut Connection, tcp: &mut TcpStream, wire: &mut Vec<u8>) {
    while !conn.pending_output().is_empty() {
        let out = conn.pending_output();
        tcp.write_all(out).unwrap();
        wire.extend_from_slice(out);
        let n = out.len();
        conn.consume_output(n);
    }
}

/// Reads once from `tcp` into the connection and processes it.
fn pump_in(conn: &mut Connection, tcp: &mut TcpStream) {
    let n = conn.read_tls(tcp).unwrap();
    assert!(n > 0, "server closed the connection");
    conn.process(UnixTime::now())
        .unwrap_or_else(|e| panic!("{}: {}", e.kind(), e.reason()));
}

/// The (type, body length) of every record in `wire`.
fn records(wire: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut rest = wire;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        out.push((rest[0], len));
        rest = &rest[5 + len..];
    }
    assert!(rest.is_empty(), "a partial record was sent");
    out
}

/// What [`echo_64k`] saw: the version, the server's limit, the (type, length) of every
/// record we sent.
type Echoed = (ProtocolVersion, u16, Vec<(u8, usize)>);

/// Handshakes with `gnutls-serv --recordsize=512` under `priority`, echoes 64 KiB, and
/// returns the version, the server's limit and the record sizes we sent.
fn echo_64k(priority: &str) -> Option<Echoed> {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = gnutls_serv_with(&pki, priority, &["--echo", "--recordsize=512"])?;
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .with_record_size_limit(OUR_LIMIT)
        .build()
        .unwrap();
    let mut tcp = TcpStream::connect_timeout(&server.addr, Duration::from_secs(5)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut conn = Connection::new(&config, "localhost").unwrap();
    let mut wire = Vec::new();
    conn.start(UnixTime::now()).unwrap();
    loop {
        flush(&mut conn, &mut tcp, &mut wire);
        if !conn.is_handshaking() {
            break;
        }
        pump_in(&mut conn, &mut tcp);
    }
    let negotiated = conn.negotiated().unwrap().clone();
    let peer_limit = negotiated
        .peer_record_size_limit()
        .unwrap_or_else(|| panic!("{}: no record_size_limit answered", server.name));

    // gnutls-serv echoes line by line: each 4 KiB chunk is one line.
    let data: Vec<u8> = (0..64 * 1024u32)
        .map(|i| match i % 4096 {
            4095 => b'\n',
            n => b'a' + (n % 26).to_le_bytes()[0],
        })
        .collect();
    let mut echoed = Vec::new();
    let mut buf = vec![0u8; 8192];
    // 4 KiB at a time, each read back before the next: the echo server never waits on us.
    for chunk in data.chunks(4096) {
        let mut sent = 0;
        while sent < chunk.len() {
            sent += conn.write(&chunk[sent..]).unwrap();
            flush(&mut conn, &mut tcp, &mut wire);
        }
        let want = echoed.len() + chunk.len();
        while echoed.len() < want {
            match conn.read(&mut buf) {
                Ok(n) => echoed.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WantRead => pump_in(&mut conn, &mut tcp),
                Err(e) => panic!("{}: read: {}: {}", server.name, e.kind(), e.reason()),
            }
            flush(&mut conn, &mut tcp, &mut wire);
        }
    }
    assert!(echoed == data, "{}: the echo differs", server.name);
    Some((negotiated.version(), peer_limit, records(&wire)))
}

#[test]
fn gnutls_recordsize_512_caps_every_record_we_send_tls13() {
    let Some((version, limit, sent)) = echo_64k("NORMAL:-VERS-ALL:+VERS-TLS1.3") else {
        return;
    };
    assert_eq!(version, ProtocolVersion::TLSv1_3);
    // GnuTLS counts the inner content type in TLS 1.3: 512 of content, 513 advertised.
    assert!((512..=513).contains(&limit), "server limit {limit}");
    let protected: Vec<usize> = sent
        .iter()
        .filter(|(typ, _)| *typ == 23)
        .map(|(_, len)| len - TAG_LEN)
        .collect();
    // The inner plaintext (content ‖ type ‖ padding) of every protected record is within it.
    assert!(
        protected.iter().all(|inner| *inner <= usize::from(limit)),
        "{protected:?}"
    );
    // 64 KiB in records of at most 512 content bytes: the limit was what split them.
    let app = protected.iter().filter(|l| **l > 100).count();
    assert!(app >= 64 * 1024 / 512, "{app} large records");
}

#[test]
fn gnutls_recordsize_512_caps_every_record_we_send_tls12() {
    let Some((version, limit, sent)) =
        echo_64k("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM")
    else {
        return;
    };
    assert_eq!(version, ProtocolVersion::TLSv1_2);
    assert_eq!(limit, 512, "server limit");
    // Every record after our ChangeCipherSpec is protected: explicit nonce ‖ plaintext ‖ tag.
    let ccs = sent.iter().position(|(typ, _)| *typ == 20).unwrap();
    let protected: Vec<usize> = sent[ccs + 1..]
        .iter()
        .map(|(_, len)| len - EXPLICIT_NONCE_LEN - TAG_LEN)
        .collect();
    assert!(
        protected.iter().all(|plain| *plain <= usize::from(limit)),
        "{protected:?}"
    );
    let app = protected.iter().filter(|l| **l > 100).count();
    assert!(app >= 64 * 1024 / 512, "{app} large records");
}

#[test]
fn the_limit_we_offer_is_validated() {
    for bad in [0, 63, 16386, u16::MAX] {
        let e = ClientConfig::builder()
            .dangerous()
            .with_no_certificate_verification()
            .with_record_size_limit(bad)
            .build()
            .unwrap_err();
        assert!(e.reason().contains("record_size_limit"), "{bad}: {e}");
    }
    for good in [64, 512, 16385] {
        let config = ClientConfig::builder()
            .dangerous()
            .with_no_certificate_verification()
            .with_record_size_limit(good)
            .build()
            .unwrap();
        assert_eq!(config.record_size_limit(), Some(good));
    }
    let config = ClientConfig::builder()
        .dangerous()
        .with_no_certificate_verification()
        .build()
        .unwrap();
    assert_eq!(config.record_size_limit(), None);
}

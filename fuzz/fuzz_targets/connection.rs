//! The whole client connection (`overture::Connection`: records, joiner, handshake, bounded
//! buffers, alerts, close) driven by a fuzzed server byte stream, in TLS 1.3 and TLS 1.2
//! (through the ChangeCipherSpec into the protected states), with the insecure test crypto of
//! `overture_fuzz` and records "protected" by the null AEAD (see `null_record_provider`).
//!
//! Input: `flags` (bit 0 middlebox compatibility; bits 1–2: both versions, TLS 1.3 only,
//! TLS 1.2 only; bit 3 ALPN; bit 4 write application data once established; bit 5 send
//! close_notify at the end; bit 6 ask for OCSP stapling and SCTs; bit 7 GREASE ECH), a split
//! seed (how the stream is cut into transport reads), then
//! the server's bytes. Checked: no panic, the output queue and the plaintext buffer within
//! their bounds, everything we send is whole records, a failed connection stays failed with
//! the same kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture::types::{ProtocolVersion, UnixTime};
use overture::{ClientConfig, Connection, ErrorKind, MAX_OUTPUT, MAX_PLAINTEXT};
use overture_fuzz::{AcceptAnything, Splitter, debug, null_record_provider};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const NOW: u64 = 1_798_761_600;

/// One config per combination of flag bits 0–3 and 6–7, built once (no session store: every input
/// starts from the same state, so runs are reproducible).
fn config(flags: u8) -> &'static ClientConfig {
    static CONFIGS: OnceLock<Vec<ClientConfig>> = OnceLock::new();
    let configs = CONFIGS.get_or_init(|| {
        (0u8..64)
            .map(|i| {
                let f = (i & 15) | (i & 48) << 2;
                let versions: &[ProtocolVersion] = match (f >> 1) & 3 {
                    1 => &[ProtocolVersion::TLSv1_3],
                    2 => &[ProtocolVersion::TLSv1_2],
                    _ => &[ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
                };
                let alpn = if f & 8 != 0 {
                    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
                } else {
                    Vec::new()
                };
                ClientConfig::builder_with_provider(null_record_provider())
                    .with_protocol_versions(versions)
                    .with_middlebox_compat(f & 1 != 0)
                    .with_alpn(alpn)
                    .with_session_store(None)
                    .with_ocsp_stapling(f & 64 != 0)
                    .with_signed_certificate_timestamps(f & 64 != 0)
                    .with_ech_grease(f & 128 != 0)
                    .dangerous()
                    .with_custom_verifier(Arc::new(AcceptAnything))
                    .build()
                    .expect("the fuzz configs are valid")
            })
            .collect()
    });
    &configs[usize::from((flags & 15) | (flags >> 2) & 48)]
}

/// Everything we queued must be whole records with a sane header.
fn check_records(mut out: &[u8]) {
    while !out.is_empty() {
        assert!(out.len() >= 5, "a partial record header in our output");
        assert!(matches!(out[0], 20..=23), "record type {}", out[0]);
        let len = usize::from(u16::from_be_bytes([out[3], out[4]]));
        assert!(len <= 16_384 + 256, "a record of {len} bytes");
        assert!(out.len() >= 5 + len, "a partial record in our output");
        out = &out[5 + len..];
    }
}

/// Takes (and checks) everything the connection queued.
fn drain(conn: &mut Connection) {
    assert!(conn.pending_output().len() <= MAX_OUTPUT + 4096);
    check_records(conn.pending_output());
    let n = conn.pending_output().len();
    conn.consume_output(n);
    assert!(!conn.wants_write());
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, server @ ..] = data else {
        return;
    };
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let mut conn = Connection::new(config(*flags), "example.com").expect("a valid name");
    conn.start(now).expect("the handshake starts");
    drain(&mut conn);
    let mut buf = [0u8; 4096];
    let mut wrote = false;
    for chunk in Splitter::new(server, *seed, 2048) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let n = conn.feed(rest);
            rest = &rest[n..];
            let processed = conn.process(now);
            drain(&mut conn);
            assert!(conn.plaintext_pending() < MAX_PLAINTEXT + 16_385);
            if debug() {
                eprintln!("{conn:?} after {n} bytes: {processed:?}");
            }
            if let Err(e) = processed {
                // Dead after an error, with the same error.
                assert_eq!(conn.process(now).map_err(|e| e.kind()), Err(e.kind()));
                assert_eq!(conn.feed(b"\x17\x03\x03\x00\x00"), 0);
                return;
            }
            while let Ok(got @ 1..) = conn.read(&mut buf) {
                assert!(got <= buf.len());
            }
            if conn.is_established() && flags & 16 != 0 && !wrote {
                wrote = true;
                let mut ekm = [0u8; 32];
                conn.export_keying_material(&mut ekm, b"EXPORTER-fuzz", None)
                    .expect("exporter after the handshake");
                assert_eq!(conn.write(b"GET / HTTP/1.1\r\n\r\n").ok(), Some(18));
                drain(&mut conn);
            }
            if n == 0 && !conn.wants_read() {
                // The connection takes no more input (the peer closed, the stream ended):
                // the rest of the stream is not for it.
                break;
            }
        }
    }
    if flags & 32 != 0 {
        conn.send_close_notify();
        drain(&mut conn);
    }
    conn.feed_eof();
    let end = conn.process(now);
    drain(&mut conn);
    if conn.is_established() && end.is_ok() {
        match conn.read(&mut buf) {
            Ok(_) => {}
            Err(e) => assert!(matches!(
                e.kind(),
                ErrorKind::ZeroReturn | ErrorKind::Ssl | ErrorKind::Io | ErrorKind::WantRead
            )),
        }
    }
});

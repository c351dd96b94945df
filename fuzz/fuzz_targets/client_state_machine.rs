//! The TLS 1.3 client state machine (`ClientHandshake::start` / `handle`) driven by fuzzed
//! server messages, with a deterministic test provider (fixed random and key shares that
//! accept any share of the right length, a zero HMAC so Finished is 32 or 48 zero bytes) and a
//! CertVerifier that accepts anything: the fuzzer reaches every state, post-handshake
//! messages included. Input: `flags` (see `overture_fuzz::test_handshake_config`; bit 6: a
//! KeyUpdate of our own after completion, bit 7: requesting the peer's), `ext` (the extension
//! bits of `test_handshake_config`: OCSP, SCTs, early data on a resumed `test_ticket`, ECH
//! GREASE or offered), then the server's handshake messages back to back, each with its 4-byte
//! header (the last may be cut short).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture_fuzz::{debug, test_handshake_config, test_ticket};
use overture_handshake::msgs::HandshakeMessage;
use overture_handshake::{ClientHandshake, Event, StartOptions};
use overture_types::{ServerName, UnixTime};
use std::sync::Arc;
use std::time::Duration;

const NOW: u64 = 1_798_761_600;

/// Splits back-to-back handshake messages by their headers.
fn messages(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let len = match data {
            [_, a, b, c, ..] => 4 + usize::try_from(u32::from_be_bytes([0, *a, *b, *c])).ok()?,
            _ => data.len(),
        };
        let (m, rest) = data.split_at(len.min(data.len()));
        data = rest;
        Some(m)
    })
}

/// Everything we send must be whole, well-formed handshake messages.
fn check_events(events: &mut Vec<Event>) {
    for e in events.drain(..) {
        if let Event::Send { bytes, .. } = e {
            for m in messages(&bytes) {
                let decoded = HandshakeMessage::decode(m);
                assert!(
                    decoded.is_ok(),
                    "we sent a malformed message {m:02x?}: {decoded:?}"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, ext, server @ ..] = data else {
        return;
    };
    let config = Arc::new(test_handshake_config(*flags, *ext));
    let name = ServerName::try_from("example.com").expect("a valid name");
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    let options = StartOptions {
        tls13_ticket: (ext & 4 != 0).then(|| test_ticket(now)),
        ..StartOptions::default()
    };
    let mut events = Vec::new();
    let mut hs = ClientHandshake::start(config, name, now, options, &mut events)
        .expect("our config is valid");
    check_events(&mut events);
    for m in messages(server) {
        let result = hs.handle(m, now, &mut events);
        check_events(&mut events);
        if debug() {
            eprintln!("{:?} after {m:02x?}: {result:?}", hs);
        }
        if let Err(e) = result {
            let _ = (e.to_string(), e.alert());
            // Dead after an error.
            assert!(hs.handle(m, now, &mut events).is_err());
            assert!(events.is_empty());
            return;
        }
        if hs.is_complete() && flags & 64 != 0 {
            let mut out = [0u8; 32];
            hs.export_keying_material(&mut out, b"EXPORTER-fuzz", Some(b"ctx"))
                .expect("exporter after completion");
            hs.update_write_key(flags & 128 != 0, &mut events)
                .expect("key update after completion");
            check_events(&mut events);
        }
    }
});

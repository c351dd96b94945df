//! The record layer's input side and the handshake joiner, on arbitrary bytes in arbitrary
//! splits. Input: `flags`, `split seed`, then the byte stream from the "server".
//!
//! flags: bits 0-1 read key (0 none, 1 TLS 1.3 null AEAD, 2 TLS 1.3 AES-128-GCM with RFC 8448's
//! server handshake key, so its records really open, 3 TLS 1.2 GCM null AEAD); bit 2 allow CCS;
//! bit 3 set TLS 1.3 as version even without a key; bits 4-5 largest chunk (1, 7, 300, 20000);
//! bit 6 install the key only after the first whole handshake message (as after ServerHello,
//! through `check_key_change`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture_crypto_provider::ring;
use overture_fuzz::{NULL_AEAD, Splitter, debug};
use overture_record_layer::{Alert, HandshakeJoiner, MAX_FRAGMENT_LEN, RecordKey, RecordLayer};
use overture_types::{ContentType, ProtocolVersion};

const RFC8448_SERVER_HS_KEY: [u8; 16] = [
    0x3f, 0xce, 0x51, 0x60, 0x09, 0xc2, 0x17, 0x27, 0xd0, 0xf2, 0xe4, 0xe8, 0x6e, 0xe4, 0x03, 0xbc,
];
const RFC8448_SERVER_HS_IV: [u8; 12] = [
    0x5d, 0x31, 0x3e, 0xb2, 0x67, 0x12, 0x76, 0xee, 0x13, 0x00, 0x0b, 0x30,
];

fn install_key(rl: &mut RecordLayer, mode: u8) {
    let key = match mode & 3 {
        1 => RecordKey::tls13(&NULL_AEAD, &[7; 16], &[9; 12]),
        2 => RecordKey::tls13(
            &ring::AES_128_GCM,
            &RFC8448_SERVER_HS_KEY,
            &RFC8448_SERVER_HS_IV,
        ),
        3 => RecordKey::tls12_gcm(&NULL_AEAD, &[7; 16], &[9; 4]),
        _ => return,
    };
    let version = if mode & 3 == 3 {
        ProtocolVersion::TLSv1_2
    } else {
        ProtocolVersion::TLSv1_3
    };
    rl.set_version(version);
    // Our own key material is valid: failing here is a bug in the target, not the crate.
    rl.set_read_key(key.expect("fixed key"));
}

/// Returns every whole record to the joiner / alert parser; `false` once the connection
/// would be dead (an error).
fn drain(
    rl: &mut RecordLayer,
    joiner: &mut HandshakeJoiner,
    flags: u8,
    key_pending: &mut bool,
) -> bool {
    loop {
        let record = match rl.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => return true,
            Err(e) => {
                if debug() {
                    eprintln!("record error: {e}");
                }
                let _ = (e.alert(), Alert::for_error(&e), e.to_string());
                return false;
            }
        };
        if debug() {
            eprintln!("record {:?}, {} bytes", record.typ, record.payload.len());
        }
        assert!(
            record.payload.len() <= MAX_FRAGMENT_LEN,
            "plaintext over 2^14"
        );
        let mut consumed = false;
        match record.typ {
            ContentType::Handshake => {
                if joiner.push(record.payload).is_err() {
                    return false;
                }
                loop {
                    match joiner.next_message() {
                        Ok(Some(m)) => {
                            let [_, a, b, c, ..] = m else {
                                panic!("message shorter than its header")
                            };
                            let len = u32::from_be_bytes([0, *a, *b, *c]);
                            assert_eq!(usize::try_from(len).ok(), Some(m.len() - 4));
                        }
                        Ok(None) => break,
                        Err(_) => return false,
                    }
                    joiner.consume();
                    consumed = true;
                }
            }
            ContentType::Alert => {
                let _ = Alert::decode(record.payload);
            }
            _ => {}
        }
        if consumed && *key_pending {
            if joiner.check_key_change().is_err() {
                return false;
            }
            install_key(rl, flags);
            *key_pending = false;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let max_chunk = [1, 7, 300, 20_000][usize::from(flags >> 4 & 3)];
    let mut rl = RecordLayer::new();
    rl.allow_ccs(flags & 4 != 0);
    if flags & 8 != 0 {
        rl.set_version(ProtocolVersion::TLSv1_3);
    }
    let mut key_pending = flags & 64 != 0 && flags & 3 != 0;
    if !key_pending {
        install_key(&mut rl, *flags);
    }
    let mut joiner = HandshakeJoiner::default();
    for mut chunk in Splitter::new(stream, *seed, max_chunk) {
        while !chunk.is_empty() {
            let spare = rl.spare();
            // RecordLayer::spare: never empty while no whole record is buffered (and we
            // drain every whole record after each read, as a client does).
            assert!(!spare.is_empty(), "no input space and no whole record");
            let n = spare.len().min(chunk.len());
            spare[..n].copy_from_slice(&chunk[..n]);
            rl.advance(n);
            chunk = &chunk[n..];
            if !drain(&mut rl, &mut joiner, *flags, &mut key_pending) {
                return;
            }
        }
    }
});

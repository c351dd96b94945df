//! RUSTSEC-2026-0285 with the real messages of RFC 8448 §3: the server packs its ServerHello and
//! a *plaintext* EncryptedExtensions into one handshake record. The client reads the record,
//! handles ServerHello, and must refuse to install the server handshake key while the
//! EncryptedExtensions bytes of the plaintext epoch are still buffered (`unexpected_message`).
//! The honest flight (ServerHello alone, EncryptedExtensions protected) goes through.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_crypto_provider::ring;
use overture_record_layer::{Alert, Error, HandshakeJoiner, RecordKey, RecordLayer};
use overture_types::{AlertDescription, ContentType, ProtocolVersion};
use serde_json::Value;

mod common;

fn trace() -> Value {
    common::rfc8448()["traces"]["simple_1rtt"].clone()
}

fn message(trace: &Value, typ: &str) -> Vec<u8> {
    let m = trace["handshake_messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["type"] == typ)
        .unwrap_or_else(|| panic!("no {typ} in the trace"));
    hex::decode(m["data"].as_str().unwrap()).unwrap()
}

fn server_handshake_key(trace: &Value) -> RecordKey {
    let s = &trace["summary"];
    let key = hex::decode(s["server_handshake_write_key"].as_str().unwrap()).unwrap();
    let iv: [u8; 12] = hex::decode(s["server_handshake_write_iv"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    RecordKey::tls13(&ring::AES_128_GCM, &key, &iv).unwrap()
}

/// Feeds `wire` to a fresh client record layer and runs the client's loop: every handshake
/// message is "handled", and after ServerHello the read key changes (as the client does on the
/// handshake's `InstallReadKey` event). Returns the messages handled, or the first error.
fn client_reads(trace: &Value, wire: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut rl = RecordLayer::new();
    let mut joiner = HandshakeJoiner::default();
    let mut handled = Vec::new();
    let spare = rl.spare();
    spare[..wire.len()].copy_from_slice(wire);
    rl.advance(wire.len());
    while let Some(record) = rl.next_record()? {
        assert_eq!(record.typ, ContentType::Handshake);
        joiner.push(record.payload)?;
        while let Some(m) = joiner.next_message()? {
            let m = m.to_vec();
            joiner.consume();
            if m[0] == 2 {
                rl.set_version(ProtocolVersion::TLSv1_3);
                joiner.check_key_change()?;
                rl.set_read_key(server_handshake_key(trace));
            }
            handled.push(m);
        }
    }
    Ok(handled)
}

#[test]
fn plaintext_encrypted_extensions_behind_server_hello_is_refused() {
    let t = trace();
    let server_hello = message(&t, "ServerHello");
    let encrypted_extensions = message(&t, "EncryptedExtensions");
    let mut payload = server_hello.clone();
    payload.extend_from_slice(&encrypted_extensions);
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&payload);

    let e = client_reads(&t, &record).unwrap_err();
    assert_eq!(
        e,
        Error::HandshakeSpansKeyChange {
            buffered: encrypted_extensions.len()
        }
    );
    assert_eq!(e.alert(), AlertDescription::UnexpectedMessage);
    assert_eq!(Alert::for_error(&e).encode(), [2, 10]);
}

#[test]
fn the_honest_flight_goes_through() {
    let t = trace();
    let records: Vec<Vec<u8>> = t["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["sender"] == "server")
        .take(2)
        .map(|r| hex::decode(r["record"].as_str().unwrap()).unwrap())
        .collect();
    let handled = client_reads(&t, &records.concat()).unwrap();
    let types: Vec<u8> = handled.iter().map(|m| m[0]).collect();
    // ServerHello, then (decrypted) EncryptedExtensions, Certificate, CertificateVerify, Finished.
    assert_eq!(types, [2, 8, 11, 15, 20]);
    assert_eq!(handled[1], message(&t, "EncryptedExtensions"));
}

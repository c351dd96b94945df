//! RFC 8448: every record of the five traces, sealed and opened byte-exact with the traffic keys
//! and IVs of each trace's `summary` (ring provider).
//!
//! Per trace, the sender's record layer seals each record's plaintext (the result must equal the
//! record), and three receiving record layers open it: one fed the sender's bytes one at a time,
//! one fed all of them at once, and one opening a copy of the record in place
//! (`open_in_place`, the low-level path). Keys are installed the way the client installs them: a record's
//! key is in place before its first byte is deframed, the version is set and compat-mode CCS is
//! allowed once the first server flight (ServerHello or HelloRetryRequest) has been processed.
//! Prints `corpus rfc8448 [records]: R run, P passed, F failed, S skipped`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_crypto_provider::ring;
use overture_record_layer::{RecordKey, RecordLayer};
use overture_types::{ContentType, ProtocolVersion};
use serde_json::Value;

mod common;

struct Rec {
    sender: String,
    typ: ContentType,
    plaintext: Vec<u8>,
    record: Vec<u8>,
    protection: String,
    seq: Option<u64>,
}

/// One endpoint's view of one direction.
struct Layer {
    rl: RecordLayer,
    key: String,
}

impl Layer {
    fn new(version: Option<ProtocolVersion>, allow_ccs: bool) -> Self {
        let mut rl = RecordLayer::new();
        if let Some(v) = version {
            rl.set_version(v);
        }
        rl.allow_ccs(allow_ccs);
        Self {
            rl,
            key: "plaintext".into(),
        }
    }
}

fn hex(v: &Value, what: &str) -> Vec<u8> {
    hex::decode(
        v.as_str()
            .unwrap_or_else(|| panic!("{what} is not a string")),
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn key_for(summary: &Value, protection: &str) -> Result<RecordKey, String> {
    let base = protection
        .strip_suffix("_key/iv")
        .ok_or_else(|| format!("unknown protection {protection}"))?;
    let key = hex(&summary[format!("{base}_key")], protection);
    let iv: [u8; 12] = hex(&summary[format!("{base}_iv")], protection)
        .try_into()
        .map_err(|_| format!("{base}_iv is not 12 bytes"))?;
    RecordKey::tls13(&ring::AES_128_GCM, &key, &iv).map_err(|e| e.to_string())
}

/// The key a receiver must hold when it deframes record `i`: that of the first non-CCS record
/// of the same sender from `i` on (a CCS is never protected).
fn read_key_name(records: &[Rec], i: usize) -> Option<&str> {
    let sender = &records[i].sender;
    records[i..]
        .iter()
        .filter(|r| &r.sender == sender && r.typ != ContentType::ChangeCipherSpec)
        .map(|r| r.protection.as_str())
        .next()
}

fn install_read(layer: &mut Layer, name: Option<&str>, summary: &Value) -> Result<(), String> {
    match name {
        Some(n) if n != "plaintext" && n != layer.key => {
            layer.rl.set_read_key(key_for(summary, n)?);
            layer.key = n.to_string();
        }
        _ => {}
    }
    Ok(())
}

fn check_opened(got: Option<(ContentType, Vec<u8>)>, rec: &Rec, how: &str) -> Result<(), String> {
    let want = (rec.typ != ContentType::ChangeCipherSpec).then(|| (rec.typ, rec.plaintext.clone()));
    if got != want {
        return Err(format!(
            "{how}: opened {:?}, expected {:?}",
            got.as_ref().map(|(t, p)| (t, hex::encode(p))),
            want.as_ref().map(|(t, p)| (t, hex::encode(p)))
        ));
    }
    Ok(())
}

fn run_record(
    i: usize,
    records: &[Rec],
    summary: &Value,
    tx: &mut Layer,
    rx_bytes: &mut Layer,
    rx_bulk: &mut Layer,
    rx_in_place: &mut Layer,
) -> Result<(), String> {
    let rec = &records[i];
    // Seal.
    if rec.protection != "plaintext" && rec.protection != tx.key {
        tx.rl.set_write_key(key_for(summary, &rec.protection)?);
        tx.key = rec.protection.clone();
    }
    if let Some(seq) = rec.seq
        && tx.rl.write_seq() != seq
    {
        return Err(format!("write sequence {} != {seq}", tx.rl.write_seq()));
    }
    let mut sealed = Vec::new();
    tx.rl
        .seal(rec.typ, &rec.plaintext, &mut sealed)
        .map_err(|e| format!("seal: {e}"))?;
    if sealed != rec.record {
        return Err(format!(
            "sealed {}\n   expected {}",
            hex::encode(&sealed),
            hex::encode(&rec.record)
        ));
    }

    // Open, one byte at a time.
    install_read(rx_bytes, read_key_name(records, i), summary)?;
    if let Some(seq) = rec.seq
        && rx_bytes.rl.read_seq() != seq
    {
        return Err(format!("read sequence {} != {seq}", rx_bytes.rl.read_seq()));
    }
    for (k, b) in rec.record.iter().enumerate() {
        let spare = rx_bytes.rl.spare();
        if spare.is_empty() {
            return Err("no spare input space".into());
        }
        spare[0] = *b;
        rx_bytes.rl.advance(1);
        let got = rx_bytes
            .rl
            .next_record()
            .map_err(|e| format!("byte-wise open at byte {k}: {e}"))?
            .map(|r| (r.typ, r.payload.to_vec()));
        if k + 1 < rec.record.len() {
            if got.is_some() {
                return Err(format!("byte-wise: a record after only {} bytes", k + 1));
            }
        } else {
            check_opened(got, rec, "byte-wise")?;
        }
    }
    if rx_bytes.rl.buffered_len() != 0 {
        return Err("byte-wise: bytes left after the record".into());
    }

    // Open on a buffer of our own (the low-level path).
    install_read(rx_in_place, read_key_name(records, i), summary)?;
    let mut copy = rec.record.clone();
    let got = rx_in_place
        .rl
        .open_in_place(&mut copy)
        .map_err(|e| format!("open in place: {e}"))?
        .map(|r| (r.typ, r.payload.to_vec()));
    check_opened(got, rec, "in place")?;

    // Open from the sender's whole stream, buffered up front. A CCS is swallowed on the way
    // to the next record, so it is checked there.
    if rec.typ != ContentType::ChangeCipherSpec {
        install_read(rx_bulk, read_key_name(records, i), summary)?;
        let got = rx_bulk
            .rl
            .next_record()
            .map_err(|e| format!("bulk open: {e}"))?
            .map(|r| (r.typ, r.payload.to_vec()));
        check_opened(got, rec, "bulk")?;
    }
    let after: usize = records[i + 1..]
        .iter()
        .filter(|r| r.sender == rec.sender)
        .map(|r| r.record.len())
        .sum();
    if rec.typ != ContentType::ChangeCipherSpec && rx_bulk.rl.buffered_len() != after {
        return Err(format!(
            "bulk: {} bytes buffered after the record, expected {after}",
            rx_bulk.rl.buffered_len()
        ));
    }
    Ok(())
}

#[test]
fn rfc8448_records() {
    let json = common::rfc8448();
    let traces = json["traces"].as_object().expect("no traces");

    let (mut run, mut passed, mut failed) = (0usize, 0usize, 0usize);
    for (name, trace) in traces {
        let summary = &trace["summary"];
        let records: Vec<Rec> = trace["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| Rec {
                sender: r["sender"].as_str().expect("sender").to_string(),
                typ: ContentType::from_name(r["content_type"].as_str().expect("content_type"))
                    .expect("known content type"),
                plaintext: hex(&r["plaintext"], "plaintext"),
                record: hex(&r["record"], "record"),
                protection: r["protection"].as_str().expect("protection").to_string(),
                seq: r["sequence_number"].as_u64(),
            })
            .collect();

        // The server knows the version from the start and accepts the client's compat CCS.
        let tls13 = Some(ProtocolVersion::TLSv1_3);
        let mut client_tx = Layer::new(None, false);
        let mut client_rx_bytes = Layer::new(None, false);
        let mut client_rx_bulk = Layer::new(None, false);
        let mut client_rx_in_place = Layer::new(None, false);
        let mut server_tx = Layer::new(tls13, false);
        let mut server_rx_bytes = Layer::new(tls13, true);
        let mut server_rx_bulk = Layer::new(tls13, true);
        let mut server_rx_in_place = Layer::new(tls13, true);
        for (sender, bulk) in [
            ("server", &mut client_rx_bulk),
            ("client", &mut server_rx_bulk),
        ] {
            let stream: Vec<u8> = records
                .iter()
                .filter(|r| r.sender == sender)
                .flat_map(|r| r.record.iter().copied())
                .collect();
            let spare = bulk.rl.spare();
            assert!(
                spare.len() >= stream.len(),
                "{name}: stream larger than the input buffer"
            );
            spare[..stream.len()].copy_from_slice(&stream);
            bulk.rl.advance(stream.len());
        }

        let mut version_known = false;
        for i in 0..records.len() {
            let rec = &records[i];
            run += 1;
            let result = if rec.sender == "client" {
                run_record(
                    i,
                    &records,
                    summary,
                    &mut client_tx,
                    &mut server_rx_bytes,
                    &mut server_rx_bulk,
                    &mut server_rx_in_place,
                )
            } else {
                run_record(
                    i,
                    &records,
                    summary,
                    &mut server_tx,
                    &mut client_rx_bytes,
                    &mut client_rx_bulk,
                    &mut client_rx_in_place,
                )
            };
            match result {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed += 1;
                    eprintln!(
                        "FAIL {name} record {i} ({} {} {}): {e}",
                        rec.sender, rec.typ, rec.protection
                    );
                }
            }
            // The client learns the version from the first server flight.
            if rec.sender == "server" && !version_known {
                version_known = true;
                for l in [
                    &mut client_tx,
                    &mut client_rx_bytes,
                    &mut client_rx_bulk,
                    &mut client_rx_in_place,
                ] {
                    l.rl.set_version(ProtocolVersion::TLSv1_3);
                    l.rl.allow_ccs(true);
                }
            }
        }
    }
    println!("corpus rfc8448 [records]: {run} run, {passed} passed, {failed} failed, 0 skipped");
    assert!(
        failed == 0 && run > 0,
        "corpus rfc8448 [records]: {failed} of {run} checks failed"
    );
}

//! Record-layer behaviour and every limit, each with the exact alert. Records are built by hand
//! from the RFC text with the provider's AEAD where the code under test must not build them.

use crate::*;
use overture_crypto_provider::{Aead, Nonce, TAG_LEN, ring};
use overture_types::{AlertDescription as A, ContentType as CT, ProtocolVersion};

const KEY: [u8; 16] = [0x11; 16];
const IV: [u8; 12] = [0x22; 12];
const KEY32: [u8; 32] = [0x33; 32];
const SALT: [u8; 4] = [1, 2, 3, 4];

fn k13() -> RecordKey {
    RecordKey::tls13(&ring::AES_128_GCM, &KEY, &IV).unwrap()
}
fn k12_gcm() -> RecordKey {
    RecordKey::tls12_gcm(&ring::AES_256_GCM, &KEY32, &SALT).unwrap()
}
fn k12_chacha() -> RecordKey {
    RecordKey::tls12_chacha(&ring::CHACHA20_POLY1305, &KEY32, &IV).unwrap()
}

fn be16(n: usize) -> [u8; 2] {
    u16::try_from(n).unwrap().to_be_bytes()
}

fn plain(typ: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![typ];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&be16(payload.len()));
    r.extend_from_slice(payload);
    r
}

/// A TLS 1.3 record for `inner` (= content ‖ type ‖ padding), built from RFC 8446 §5.2/§5.3.
fn raw13(seq: u64, inner: &[u8]) -> Vec<u8> {
    let aead = ring::AES_128_GCM.with_key(&KEY).unwrap();
    let mut rec = vec![0x17, 3, 3];
    rec.extend_from_slice(&be16(inner.len() + TAG_LEN));
    let hdr = rec.clone();
    let mut body = inner.to_vec();
    let tag = aead
        .seal_in_place(Nonce::xor_seq(&IV, seq), &hdr, &mut body)
        .unwrap();
    rec.extend_from_slice(&body);
    rec.extend_from_slice(tag.as_ref());
    rec
}

/// A TLS 1.2 AES-256-GCM record, built from RFC 5246 §6.2.3.3 and RFC 5288 §3 with an explicit
/// nonce unlike ours (to show the receiver takes it from the record).
fn raw12_gcm(seq: u64, typ: u8, payload: &[u8]) -> Vec<u8> {
    let aead = ring::AES_256_GCM.with_key(&KEY32).unwrap();
    let explicit = [0xa5, 0, 0, 0, 0, 0, 0, 7];
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[typ, 3, 3]);
    aad.extend_from_slice(&be16(payload.len()));
    let mut nonce = [0u8; 12];
    nonce[..4].copy_from_slice(&SALT);
    nonce[4..].copy_from_slice(&explicit);
    let mut body = payload.to_vec();
    let tag = aead
        .seal_in_place(Nonce::new(nonce), &aad, &mut body)
        .unwrap();
    let mut rec = vec![typ, 3, 3];
    rec.extend_from_slice(&be16(8 + payload.len() + TAG_LEN));
    rec.extend_from_slice(&explicit);
    rec.extend_from_slice(&body);
    rec.extend_from_slice(tag.as_ref());
    rec
}

/// A TLS 1.2 ChaCha20-Poly1305 record (RFC 7905 §2).
fn raw12_chacha(seq: u64, typ: u8, payload: &[u8]) -> Vec<u8> {
    let aead = ring::CHACHA20_POLY1305.with_key(&KEY32).unwrap();
    let mut aad = seq.to_be_bytes().to_vec();
    aad.extend_from_slice(&[typ, 3, 3]);
    aad.extend_from_slice(&be16(payload.len()));
    let mut body = payload.to_vec();
    let tag = aead
        .seal_in_place(Nonce::xor_seq(&IV, seq), &aad, &mut body)
        .unwrap();
    let mut rec = vec![typ, 3, 3];
    rec.extend_from_slice(&be16(payload.len() + TAG_LEN));
    rec.extend_from_slice(&body);
    rec.extend_from_slice(tag.as_ref());
    rec
}

fn feed(rl: &mut RecordLayer, bytes: &[u8]) {
    let spare = rl.spare();
    assert!(
        spare.len() >= bytes.len(),
        "spare {} < {}",
        spare.len(),
        bytes.len()
    );
    spare[..bytes.len()].copy_from_slice(bytes);
    rl.advance(bytes.len());
}

type Records = Vec<(CT, Vec<u8>)>;

/// Feeds `bytes` in chunks of `chunk` and collects every record, or the first error.
fn read_chunked(rl: &mut RecordLayer, bytes: &[u8], chunk: usize) -> Result<Records, Error> {
    let mut out = Vec::new();
    for mut c in bytes.chunks(chunk) {
        // As a transport read would: no more than the spare space.
        while !c.is_empty() {
            let n = rl.spare().len().min(c.len());
            assert!(n > 0, "no spare space");
            feed(rl, &c[..n]);
            c = &c[n..];
            while let Some(r) = rl.next_record()? {
                out.push((r.typ, r.payload.to_vec()));
            }
        }
    }
    Ok(out)
}

fn read(rl: &mut RecordLayer, bytes: &[u8]) -> Result<Records, Error> {
    read_chunked(rl, bytes, 4096)
}

fn reader13() -> RecordLayer {
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_3);
    rl.set_read_key(k13());
    rl
}

fn writer13() -> RecordLayer {
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_3);
    rl.set_write_key(k13());
    rl
}

fn alert_of(r: Result<Records, Error>) -> A {
    r.unwrap_err().alert()
}

// ---------------------------------------------------------------------------------------------
// Framing and splits

#[test]
fn any_split_yields_the_same_records() {
    let mut w = writer13();
    let mut wire = Vec::new();
    w.seal(CT::Handshake, &[20, 0, 0, 2, 9, 9], &mut wire)
        .unwrap();
    w.seal(CT::ApplicationData, &vec![0x5a; 40_000], &mut wire)
        .unwrap();
    w.seal(CT::Alert, &Alert::close_notify().encode(), &mut wire)
        .unwrap();
    let want = read(&mut reader13(), &wire).unwrap();
    assert_eq!(want.len(), 5);
    assert_eq!(want[1].1.len(), MAX_FRAGMENT_LEN);
    assert_eq!(want[3].1.len(), 40_000 - 2 * MAX_FRAGMENT_LEN);
    for chunk in [1, 2, 3, 4, 5, 6, 7, 13, 1000, 16_405, INPUT_BUFFER_LEN] {
        assert_eq!(
            read_chunked(&mut reader13(), &wire, chunk).unwrap(),
            want,
            "chunk {chunk}"
        );
    }
}

#[test]
fn spare_is_bounded_and_never_empty_without_a_whole_record() {
    // Full-size TLS 1.2 records of the largest ciphertext allowed, read in odd chunks.
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_2);
    rl.set_read_key(k12_chacha());
    let mut wire = Vec::new();
    for seq in 0..4 {
        wire.extend(raw12_chacha(seq, 23, &vec![7; MAX_FRAGMENT_LEN]));
    }
    let mut got = 0;
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let spare = rl.spare();
        assert!(!spare.is_empty());
        assert!(spare.len() <= INPUT_BUFFER_LEN);
        let n = spare.len().min(rest.len()).min(7_777);
        spare[..n].copy_from_slice(&rest[..n]);
        rl.advance(n);
        rest = &rest[n..];
        while let Some(r) = rl.next_record().unwrap() {
            assert_eq!(r.payload.len(), MAX_FRAGMENT_LEN);
            got += 1;
        }
    }
    assert_eq!(got, 4);
    assert_eq!(rl.buffered_len(), 0);
}

#[test]
fn unknown_content_types_are_refused_on_their_first_byte() {
    for t in [0u8, 19, 24, 25, 0x80, 0xff] {
        let mut rl = RecordLayer::new();
        feed(&mut rl, &[t]);
        let e = rl.next_record().unwrap_err();
        assert_eq!(e, Error::UnknownContentType(t));
        assert_eq!(e.alert(), A::UnexpectedMessage);
    }
    // An HTTP server's answer is not TLS.
    assert_eq!(
        alert_of(read(&mut RecordLayer::new(), b"HTTP/1.1 400")),
        A::UnexpectedMessage
    );
}

#[test]
fn legacy_version_checks() {
    // Not TLS at all: refused before negotiation.
    for v in [0x0200u16, 0x0400, 0x0003, 0xfefd] {
        let e = read(&mut RecordLayer::new(), &plain(22, v, &[1, 0, 0, 0])).unwrap_err();
        assert_eq!(e, Error::BadRecordVersion(v));
        assert_eq!(e.alert(), A::ProtocolVersion);
    }
    // Before negotiation and under TLS 1.3 the field is ignored (RFC 8446 §5.1) beyond 0x03xx.
    for v in [0x0300u16, 0x0301, 0x0303, 0x0304] {
        assert!(read(&mut RecordLayer::new(), &plain(22, v, &[2, 0, 0, 0])).is_ok());
        let mut rl = RecordLayer::new();
        rl.set_version(ProtocolVersion::TLSv1_3);
        assert!(read(&mut rl, &plain(22, v, &[2, 0, 0, 0])).is_ok());
    }
    // TLS 1.2: exactly the negotiated version.
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_2);
    assert!(read(&mut rl, &plain(22, 0x0303, &[2, 0, 0, 0])).is_ok());
    let e = read(&mut rl, &plain(22, 0x0301, &[2, 0, 0, 0])).unwrap_err();
    assert_eq!(e.alert(), A::ProtocolVersion);
}

// ---------------------------------------------------------------------------------------------
// Record size limits

#[test]
fn plaintext_record_limit() {
    let ok = plain(22, 0x0303, &vec![1; MAX_FRAGMENT_LEN]);
    assert_eq!(read(&mut RecordLayer::new(), &ok).unwrap().len(), 1);
    // Refused on its header, before the body is buffered.
    let mut rl = RecordLayer::new();
    feed(&mut rl, &[22, 3, 3, 0x40, 0x01]);
    let e = rl.next_record().unwrap_err();
    assert_eq!(
        e,
        Error::RecordOverflow {
            what: "plaintext",
            len: MAX_FRAGMENT_LEN + 1,
            max: MAX_FRAGMENT_LEN
        }
    );
    assert_eq!(e.alert(), A::RecordOverflow);
}

#[test]
fn tls13_ciphertext_and_inner_plaintext_limits() {
    // Ciphertext of 2^14 + 256 passes the length check (and then fails to decrypt);
    // 2^14 + 257 is record_overflow on the header alone.
    let mut rl = reader13();
    let mut rec = vec![23, 3, 3];
    rec.extend_from_slice(&be16(MAX_TLS13_CIPHERTEXT_LEN));
    rec.resize(HEADER_LEN + MAX_TLS13_CIPHERTEXT_LEN, 0);
    assert_eq!(alert_of(read(&mut rl, &rec)), A::BadRecordMac);
    let mut rl = reader13();
    feed(&mut rl, &[23, 3, 3, 0x41, 0x01]);
    assert_eq!(rl.next_record().unwrap_err().alert(), A::RecordOverflow);

    // Inner plaintext of 2^14 + 1 (full content ‖ type) is fine, and with padding too.
    let mut inner = vec![9; MAX_FRAGMENT_LEN];
    inner.push(23);
    let got = read(&mut reader13(), &raw13(0, &inner)).unwrap();
    assert_eq!(got[0].1.len(), MAX_FRAGMENT_LEN);
    let mut padded = vec![9; 100];
    padded.push(23);
    padded.resize(MAX_INNER_PLAINTEXT_LEN, 0);
    let got = read(&mut reader13(), &raw13(0, &padded)).unwrap();
    assert_eq!(got, vec![(CT::ApplicationData, vec![9; 100])]);
    // One byte more is record_overflow, even if it is padding.
    padded.push(0);
    let e = read(&mut reader13(), &raw13(0, &padded)).unwrap_err();
    assert_eq!(
        e,
        Error::RecordOverflow {
            what: "inner plaintext",
            len: MAX_INNER_PLAINTEXT_LEN + 1,
            max: MAX_INNER_PLAINTEXT_LEN
        }
    );
    assert_eq!(e.alert(), A::RecordOverflow);
}

#[test]
fn tls12_ciphertext_and_plaintext_limits() {
    let mut rl = RecordLayer::new();
    rl.set_read_key(k12_gcm());
    feed(&mut rl, &[23, 3, 3, 0x48, 0x01]); // 2^14 + 2049
    assert_eq!(rl.next_record().unwrap_err().alert(), A::RecordOverflow);

    // A plaintext of 2^14 is fine, 2^14 + 1 is record_overflow after decryption.
    let mut rl = RecordLayer::new();
    rl.set_read_key(k12_gcm());
    let got = read(&mut rl, &raw12_gcm(0, 23, &vec![1; MAX_FRAGMENT_LEN])).unwrap();
    assert_eq!(got[0].1.len(), MAX_FRAGMENT_LEN);
    let e = read(&mut rl, &raw12_gcm(1, 23, &vec![1; MAX_FRAGMENT_LEN + 1])).unwrap_err();
    assert_eq!(e.alert(), A::RecordOverflow);
}

// ---------------------------------------------------------------------------------------------
// TLS 1.3 protection

#[test]
fn tls13_seal_matches_the_rfc_construction() {
    let mut w = writer13();
    let mut wire = Vec::new();
    w.seal(CT::Handshake, b"abc", &mut wire).unwrap();
    w.seal(CT::ApplicationData, b"defg", &mut wire).unwrap();
    let mut want = raw13(0, b"abc\x16");
    want.extend(raw13(1, b"defg\x17"));
    assert_eq!(wire, want);
    assert_eq!(w.write_seq(), 2);
}

#[test]
fn tls13_padding_is_stripped_and_our_padding_policy_applies() {
    let mut inner = b"hi".to_vec();
    inner.push(22);
    inner.extend([0; 200]);
    let got = read(&mut reader13(), &raw13(0, &inner)).unwrap();
    assert_eq!(got, vec![(CT::Handshake, b"hi".to_vec())]);

    let mut w = writer13();
    w.set_padding(Padding::Block(64));
    let mut wire = Vec::new();
    w.seal(CT::ApplicationData, &[5; 100], &mut wire).unwrap();
    assert_eq!(wire.len(), HEADER_LEN + 128 + TAG_LEN);
    assert_eq!(w.sealed_len(CT::ApplicationData, 100), wire.len());
    let got = read(&mut reader13(), &wire).unwrap();
    assert_eq!(got, vec![(CT::ApplicationData, vec![5; 100])]);
    // Full records are never padded beyond the limit.
    let mut wire = Vec::new();
    w.seal(CT::ApplicationData, &[5; MAX_FRAGMENT_LEN], &mut wire)
        .unwrap();
    assert_eq!(wire.len(), HEADER_LEN + MAX_INNER_PLAINTEXT_LEN + TAG_LEN);
}

#[test]
fn tls13_all_zero_or_empty_inner_plaintext_is_unexpected_message() {
    for inner in [&[][..], &[0], &[0; 50]] {
        let e = read(&mut reader13(), &raw13(0, inner)).unwrap_err();
        assert_eq!(e, Error::MissingInnerContentType);
        assert_eq!(e.alert(), A::UnexpectedMessage);
    }
}

#[test]
fn tls13_inner_types() {
    // A protected CCS, an unknown and a heartbeat inner type.
    for t in [20u8, 24, 0x42] {
        let e = read(&mut reader13(), &raw13(0, &[1, t])).unwrap_err();
        assert_eq!(e.alert(), A::UnexpectedMessage, "inner type {t}");
    }
    // A plaintext handshake or alert record once the read key is in.
    for t in [21u8, 22] {
        let e = read(&mut reader13(), &plain(t, 0x0303, &[2, 10])).unwrap_err();
        assert!(matches!(e, Error::UnexpectedRecord { .. }), "{e}");
        assert_eq!(e.alert(), A::UnexpectedMessage);
    }
}

#[test]
fn application_data_needs_a_key() {
    let e = read(&mut RecordLayer::new(), &plain(23, 0x0303, b"GET /")).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
    let e = RecordLayer::new()
        .seal(CT::ApplicationData, b"x", &mut Vec::new())
        .unwrap_err();
    assert_eq!(e, Error::NoWriteKey);
    assert_eq!(e.alert(), A::InternalError);
}

#[test]
fn bad_tags_short_records_and_replays_are_bad_record_mac() {
    let mut rec = raw13(0, b"data\x17");
    let last = rec.len() - 1;
    rec[last] ^= 1;
    assert_eq!(alert_of(read(&mut reader13(), &rec)), A::BadRecordMac);
    // Shorter than a tag.
    let e = read(&mut reader13(), &plain(23, 0x0303, &[0; 15])).unwrap_err();
    assert_eq!(e, Error::DecryptFailed);
    // Record 0 again where record 1 is expected.
    let mut rl = reader13();
    let r0 = raw13(0, b"a\x17");
    read(&mut rl, &r0).unwrap();
    assert_eq!(alert_of(read(&mut rl, &r0)), A::BadRecordMac);
    // TLS 1.2 GCM without room for explicit nonce and tag.
    let mut rl = RecordLayer::new();
    rl.set_read_key(k12_gcm());
    let e = read(&mut rl, &plain(23, 0x0303, &[0; 23])).unwrap_err();
    assert_eq!(e.alert(), A::BadRecordMac);
}

#[test]
fn integrity_limit_on_failed_opens() {
    let limit = overture_crypto_provider::AeadAlgorithm::Aes128Gcm.integrity_limit();
    let mut rl = reader13();
    rl.set_read_state(0, limit - 1);
    let mut bad = raw13(0, b"x\x17");
    bad[HEADER_LEN] ^= 1;
    assert_eq!(
        read(&mut rl, &bad).unwrap_err(),
        Error::DecryptFailed,
        "the last failure allowed"
    );
    // Now even a good record is refused.
    let e = read(&mut rl, &raw13(0, b"x\x17")).unwrap_err();
    assert_eq!(e, Error::IntegrityLimitReached);
    assert_eq!(e.alert(), A::BadRecordMac);
    // A new key starts a new count.
    rl.set_read_key(k13());
    assert!(read(&mut rl, &raw13(0, b"x\x17")).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Empty records

#[test]
fn zero_length_records() {
    // Handshake: never empty, plaintext or protected.
    let e = read(&mut RecordLayer::new(), &plain(22, 0x0303, &[])).unwrap_err();
    assert_eq!(e, Error::EmptyHandshakeRecord);
    assert_eq!(e.alert(), A::UnexpectedMessage);
    let e = read(&mut reader13(), &raw13(0, &[22, 0, 0])).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
    // Alert: exactly two bytes.
    for payload in [&[][..], &[1], &[1, 0, 1]] {
        let e = read(&mut RecordLayer::new(), &plain(21, 0x0303, payload)).unwrap_err();
        assert_eq!(e, Error::BadAlertLength(payload.len()));
        assert_eq!(e.alert(), A::DecodeError);
    }
    // Application data: empty is legal.
    let got = read(&mut reader13(), &raw13(0, &[23])).unwrap();
    assert_eq!(got, vec![(CT::ApplicationData, vec![])]);
}

#[test]
fn a_flood_of_empty_records_is_cut_off() {
    let mut rl = reader13();
    let mut wire = Vec::new();
    let mut seq = 0;
    for _ in 0..MAX_EMPTY_RECORDS {
        wire.extend(raw13(seq, &[23, 0, 0]));
        seq += 1;
    }
    // A non-empty record resets the count.
    wire.extend(raw13(seq, b"x\x17"));
    seq += 1;
    for _ in 0..MAX_EMPTY_RECORDS {
        wire.extend(raw13(seq, &[23]));
        seq += 1;
    }
    assert_eq!(
        read(&mut rl, &wire).unwrap().len(),
        2 * MAX_EMPTY_RECORDS + 1
    );
    let e = read(&mut rl, &raw13(seq, &[23])).unwrap_err();
    assert_eq!(e, Error::TooManyEmptyRecords(MAX_EMPTY_RECORDS + 1));
    assert_eq!(e.alert(), A::UnexpectedMessage);
}

// ---------------------------------------------------------------------------------------------
// ChangeCipherSpec

#[test]
fn compat_ccs_is_swallowed_until_the_flood_limit() {
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_3);
    rl.allow_ccs(true);
    let ccs = plain(20, 0x0303, &[1]);
    let mut wire = ccs.clone();
    wire.extend(plain(22, 0x0303, &[8, 0, 0, 0]));
    let got = read_chunked(&mut rl, &wire, 1).unwrap();
    assert_eq!(got, vec![(CT::Handshake, vec![8, 0, 0, 0])]);
    // RFC 8446 §5: every one before the peer's Finished is dropped, MAX_EMPTY_RECORDS in a
    // row (BoGo's TooManyChangeCipherSpec sends 33).
    let run = |n: usize| {
        let mut rl = RecordLayer::new();
        rl.set_version(ProtocolVersion::TLSv1_3);
        rl.allow_ccs(true);
        let wire: Vec<u8> = (0..n).flat_map(|_| ccs.clone()).collect();
        read(&mut rl, &wire)
    };
    assert_eq!(run(MAX_EMPTY_RECORDS).unwrap(), vec![]);
    let e = run(MAX_EMPTY_RECORDS + 1).unwrap_err();
    assert_eq!(e, Error::TooManyEmptyRecords(MAX_EMPTY_RECORDS + 1));
    assert_eq!(e.alert(), A::UnexpectedMessage);
    // Also after the read key, until compat mode is turned off (the handshake is complete).
    rl.set_read_key(k13());
    assert_eq!(read(&mut rl, &ccs).unwrap(), vec![]);
    rl.allow_ccs(false);
    let e = read(&mut rl, &ccs).unwrap_err();
    assert!(matches!(e, Error::UnexpectedChangeCipherSpec(_)));
    assert_eq!(e.alert(), A::UnexpectedMessage);

    let mut rl = reader13();
    rl.allow_ccs(true);
    let mut wire = raw13(0, b"a\x16");
    wire.extend(&ccs);
    wire.extend(raw13(1, b"b\x16"));
    assert_eq!(read(&mut rl, &wire).unwrap().len(), 2);
}

#[test]
fn other_ccs_records_are_unexpected_message() {
    let bad: [&[u8]; 4] = [&[], &[2], &[1, 1], &[0]];
    for payload in bad {
        let mut rl = RecordLayer::new();
        rl.set_version(ProtocolVersion::TLSv1_3);
        rl.allow_ccs(true);
        let e = read(&mut rl, &plain(20, 0x0303, payload)).unwrap_err();
        assert_eq!(e.alert(), A::UnexpectedMessage, "{payload:?}");
    }
    // Not allowed (compat mode off, or handshake over).
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_3);
    let e = read(&mut rl, &plain(20, 0x0303, &[1])).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
    rl.allow_ccs(true);
    rl.allow_ccs(false);
    let e = read(&mut rl, &plain(20, 0x0303, &[1])).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
    // Before the version is known.
    let e = read(&mut RecordLayer::new(), &plain(20, 0x0303, &[1])).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
}

#[test]
fn tls12_ccs_is_returned_to_the_caller() {
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_2);
    let got = read(&mut rl, &plain(20, 0x0303, &[1])).unwrap();
    assert_eq!(got, vec![(CT::ChangeCipherSpec, vec![1])]);
    let e = read(&mut rl, &plain(20, 0x0303, &[2])).unwrap_err();
    assert_eq!(e, Error::MalformedChangeCipherSpec);
    assert_eq!(e.alert(), A::DecodeError);
    // No renegotiation: a CCS once the read key is in.
    rl.set_read_key(k12_gcm());
    let e = read(&mut rl, &plain(20, 0x0303, &[1])).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
}

#[test]
fn ccs_we_send_is_never_protected() {
    let mut w = writer13();
    let mut out = Vec::new();
    w.seal(CT::ChangeCipherSpec, &[1], &mut out).unwrap();
    assert_eq!(out, [20, 3, 3, 0, 1, 1]);
    assert_eq!(w.write_seq(), 0);
}

// ---------------------------------------------------------------------------------------------
// TLS 1.2 protection

#[test]
fn tls12_gcm_opens_the_peers_explicit_nonce_and_sends_the_sequence() {
    let mut rl = RecordLayer::new();
    rl.set_version(ProtocolVersion::TLSv1_2);
    rl.set_read_key(k12_gcm());
    let mut wire = raw12_gcm(0, 22, b"finished");
    wire.extend(raw12_gcm(1, 23, b"data"));
    let got = read_chunked(&mut rl, &wire, 3).unwrap();
    assert_eq!(
        got,
        vec![
            (CT::Handshake, b"finished".to_vec()),
            (CT::ApplicationData, b"data".to_vec())
        ]
    );
    // AAD carries the sequence number: record 0 replayed at 2 fails.
    assert_eq!(
        alert_of(read(&mut rl, &raw12_gcm(0, 23, b"data"))),
        A::BadRecordMac
    );

    // What we send: explicit nonce = our sequence number; the peer opens it.
    let mut w = RecordLayer::new();
    w.set_version(ProtocolVersion::TLSv1_2);
    w.set_write_key(k12_gcm());
    let mut out = Vec::new();
    w.seal(CT::ApplicationData, b"one", &mut out).unwrap();
    w.seal(CT::ApplicationData, b"two", &mut out).unwrap();
    assert_eq!(&out[..5], &[23, 3, 3, 0, 8 + 3 + 16]);
    assert_eq!(&out[5..13], &0u64.to_be_bytes());
    assert_eq!(&out[32 + 5..32 + 13], &1u64.to_be_bytes());
    let mut r = RecordLayer::new();
    r.set_read_key(k12_gcm());
    assert_eq!(read(&mut r, &out).unwrap().len(), 2);
}

#[test]
fn tls12_chacha_is_iv_xor_sequence() {
    let mut w = RecordLayer::new();
    w.set_version(ProtocolVersion::TLSv1_2);
    w.set_write_key(k12_chacha());
    let mut out = Vec::new();
    w.seal(CT::Handshake, b"fin", &mut out).unwrap();
    w.seal(CT::ApplicationData, b"xyz", &mut out).unwrap();
    let mut want = raw12_chacha(0, 22, b"fin");
    want.extend(raw12_chacha(1, 23, b"xyz"));
    assert_eq!(out, want);
    let mut r = RecordLayer::new();
    r.set_version(ProtocolVersion::TLSv1_2);
    r.set_read_key(k12_chacha());
    assert_eq!(
        read(&mut r, &want).unwrap(),
        vec![
            (CT::Handshake, b"fin".to_vec()),
            (CT::ApplicationData, b"xyz".to_vec())
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Sealing

#[test]
fn seal_fragments_appends_and_seal_in_place_agrees() {
    let data: Vec<u8> = (0..40_000u32).map(|i| i.to_le_bytes()[0]).collect();
    let mut out = b"queued".to_vec();
    writer13()
        .seal(CT::ApplicationData, &data, &mut out)
        .unwrap();
    assert_eq!(&out[..6], b"queued");
    let records = read(&mut reader13(), &out[6..]).unwrap();
    let lens: Vec<usize> = records.iter().map(|r| r.1.len()).collect();
    assert_eq!(lens, [16384, 16384, 7232]);
    assert_eq!(records.concat_payloads(), data);

    // The low-level path: payload placed after the headroom, sealed where it lies.
    let mut w = writer13();
    let mut buf = vec![0u8; w.sealed_len(CT::ApplicationData, MAX_FRAGMENT_LEN)];
    let head = w.seal_headroom(CT::ApplicationData);
    buf[head..head + MAX_FRAGMENT_LEN].copy_from_slice(&data[..MAX_FRAGMENT_LEN]);
    let n = w
        .seal_in_place(CT::ApplicationData, &mut buf, MAX_FRAGMENT_LEN)
        .unwrap();
    assert_eq!(&buf[..n], &out[6..6 + n]);

    let e = w
        .seal_in_place(CT::ApplicationData, &mut buf[..n - 1], MAX_FRAGMENT_LEN)
        .unwrap_err();
    assert!(matches!(e, Error::SealBuffer { .. }));
    assert_eq!(e.alert(), A::InternalError);
    let mut big = vec![0u8; 20_000];
    let e = w
        .seal_in_place(CT::ApplicationData, &mut big, MAX_FRAGMENT_LEN + 1)
        .unwrap_err();
    assert_eq!(e.alert(), A::InternalError);
    // Nothing is sent for nothing.
    let mut out = Vec::new();
    w.seal(CT::ApplicationData, &[], &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn first_records_carry_0x0301_then_0x0303() {
    let mut rl = RecordLayer::new();
    let mut out = Vec::new();
    rl.seal(CT::Handshake, &[1, 0, 0, 0], &mut out).unwrap();
    assert_eq!(&out[..3], &[22, 3, 1]);
    rl.set_version(ProtocolVersion::TLSv1_3);
    out.clear();
    rl.seal(CT::Handshake, &[1, 0, 0, 0], &mut out).unwrap();
    assert_eq!(&out[..3], &[22, 3, 3]);
}

trait Concat {
    fn concat_payloads(&self) -> Vec<u8>;
}
impl Concat for Records {
    fn concat_payloads(&self) -> Vec<u8> {
        self.iter().flat_map(|r| r.1.iter().copied()).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Sequence numbers and key-usage limits

#[test]
fn key_update_is_signalled_before_the_confidentiality_limit() {
    let limit = overture_crypto_provider::AeadAlgorithm::Aes128Gcm.confidentiality_limit();
    let mut w = writer13();
    assert!(!w.write_needs_key_update());
    w.set_write_seq(limit - KEY_UPDATE_MARGIN - 1);
    assert!(!w.write_needs_key_update());
    w.seal(CT::ApplicationData, b"x", &mut Vec::new()).unwrap();
    assert!(w.write_needs_key_update());

    // At the limit sealing stops, atomically for a multi-record seal.
    w.set_write_seq(limit - 1);
    let mut out = b"q".to_vec();
    let e = w
        .seal(CT::ApplicationData, &[0; MAX_FRAGMENT_LEN + 1], &mut out)
        .unwrap_err();
    assert_eq!(e, Error::KeyLimitReached);
    assert_eq!(e.alert(), A::InternalError);
    assert_eq!(out, b"q");
    w.seal(CT::ApplicationData, b"last", &mut out).unwrap();
    let e = w.seal(CT::Alert, &[1, 0], &mut out).unwrap_err();
    assert_eq!(e, Error::KeyLimitReached);
    // A new key (after KeyUpdate) starts again.
    w.set_write_key(k13());
    assert!(!w.write_needs_key_update());
    w.seal(CT::ApplicationData, b"x", &mut out).unwrap();
}

#[test]
fn sequence_numbers_never_wrap() {
    let mut w = RecordLayer::new();
    w.set_write_key(k12_chacha());
    w.set_write_seq(u64::MAX - KEY_UPDATE_MARGIN - 1);
    assert!(!w.write_needs_key_update());
    w.set_write_seq(u64::MAX - 1);
    assert!(w.write_needs_key_update());
    w.seal(CT::ApplicationData, b"x", &mut Vec::new()).unwrap();
    let e = w
        .seal(CT::ApplicationData, b"x", &mut Vec::new())
        .unwrap_err();
    assert_eq!(e, Error::SequenceExhausted(Direction::Write));
    assert_eq!(e.alert(), A::InternalError);

    let mut r = RecordLayer::new();
    r.set_read_key(k12_chacha());
    r.set_read_state(u64::MAX - 1, 0);
    let rec = raw12_chacha(u64::MAX - 1, 23, b"x");
    assert_eq!(read(&mut r, &rec).unwrap().len(), 1);
    let e = read(&mut r, &raw12_chacha(u64::MAX, 23, b"x")).unwrap_err();
    assert_eq!(e, Error::SequenceExhausted(Direction::Read));
    assert_eq!(e.alert(), A::InternalError);
}

#[test]
fn every_error_has_a_message() {
    let e = Error::RecordOverflow {
        what: "plaintext",
        len: 20_000,
        max: 16_384,
    };
    assert_eq!(
        e.to_string(),
        "record plaintext of 20000 bytes exceeds the limit of 16384"
    );
    assert!(
        Error::HandshakeSpansKeyChange { buffered: 6 }
            .to_string()
            .contains("6 handshake bytes")
    );
}

// ---------------------------------------------------------------------------------------------
// The record layer and the joiner together

/// RUSTSEC-2026-0285, end to end: ServerHello and a plaintext EncryptedExtensions in one
/// record; the client handles ServerHello, then must refuse to install the handshake key.
#[test]
fn plaintext_message_behind_server_hello_fails_the_key_change() {
    let mut server_hello = vec![2, 0, 0, 86];
    server_hello.extend([0x44; 86]);
    let encrypted_extensions = [8, 0, 0, 2, 0, 0];
    let mut payload = server_hello.clone();
    payload.extend(encrypted_extensions);
    let mut rl = RecordLayer::new();
    let mut joiner = HandshakeJoiner::default();
    feed(&mut rl, &plain(22, 0x0303, &payload));
    let record = rl.next_record().unwrap().unwrap();
    assert_eq!(record.typ, CT::Handshake);
    joiner.push(record.payload).unwrap();
    assert_eq!(joiner.next_message().unwrap(), Some(&server_hello[..]));
    joiner.consume();
    rl.set_version(ProtocolVersion::TLSv1_3);
    let e = joiner.check_key_change().unwrap_err();
    assert_eq!(e, Error::HandshakeSpansKeyChange { buffered: 6 });
    assert_eq!(e.alert(), A::UnexpectedMessage);
    assert_eq!(Alert::for_error(&e).encode(), [2, 10]);

    // The same ServerHello alone in its record: the key change is fine.
    let mut joiner = HandshakeJoiner::default();
    joiner.push(&server_hello).unwrap();
    joiner.next_message().unwrap().unwrap();
    joiner.consume();
    joiner.check_key_change().unwrap();
}

/// Hostile bytes: mutated and random records never panic, hang or grow the buffer.
#[test]
fn hostile_bytes_end_in_a_record_an_error_or_a_wait() {
    let mut good = Vec::new();
    let mut w = writer13();
    for n in [0usize, 1, 100, 5000] {
        w.seal(CT::ApplicationData, &vec![3; n.max(1)], &mut good)
            .unwrap();
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let mut bytes = good.clone();
        let flips = next() % 4 + 1;
        for _ in 0..flips {
            let at = usize::try_from(next() % u64::try_from(bytes.len()).unwrap()).unwrap();
            bytes[at] = next().to_le_bytes()[0];
        }
        if round % 3 == 0 {
            bytes = (0..next() % 2000)
                .map(|_| next().to_le_bytes()[0])
                .collect();
        }
        let mut rl = reader13();
        rl.allow_ccs(round % 2 == 0);
        let chunk = usize::try_from(next() % 64 + 1).unwrap();
        match read_chunked(&mut rl, &bytes, chunk) {
            Ok(_) => assert!(rl.buffered_len() < INPUT_BUFFER_LEN),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn open_in_place_on_the_callers_buffer() {
    let mut w = writer13();
    let mut wire = Vec::new();
    w.seal(CT::Handshake, b"one", &mut wire).unwrap();
    let first = wire.len();
    w.seal(CT::ApplicationData, b"two", &mut wire).unwrap();
    let mut r = reader13();
    r.allow_ccs(true);
    let (a, b) = wire.split_at_mut(first);
    let rec = r.open_in_place(a).unwrap().unwrap();
    assert_eq!((rec.typ, rec.payload), (CT::Handshake, &b"one"[..]));
    let mut ccs = plain(20, 0x0303, &[1]);
    assert_eq!(r.open_in_place(&mut ccs).unwrap(), None);
    let rec = r.open_in_place(b).unwrap().unwrap();
    assert_eq!((rec.typ, rec.payload), (CT::ApplicationData, &b"two"[..]));
    assert_eq!(r.read_seq(), 2);

    // Exactly one record: not less, not more.
    let mut two = plain(22, 0x0303, &[1, 0, 0, 0]);
    two.extend(plain(22, 0x0303, &[1, 0, 0, 0]));
    for n in [3, 8, two.len()] {
        let e = RecordLayer::new().open_in_place(&mut two[..n]).unwrap_err();
        assert!(matches!(e, Error::RecordLength { .. }), "{e}");
        assert_eq!(e.alert(), A::DecodeError);
    }
    // The same checks as the deframer.
    let mut empty = plain(22, 0x0303, &[]);
    let e = RecordLayer::new().open_in_place(&mut empty).unwrap_err();
    assert_eq!(e.alert(), A::UnexpectedMessage);
}

/// Seal then open, for every key style, with and without padding, random sizes and splits.
#[test]
fn round_trips_for_every_key_style() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % m).unwrap()
    };
    let styles: [(fn() -> RecordKey, ProtocolVersion); 3] = [
        (k13, ProtocolVersion::TLSv1_3),
        (k12_gcm, ProtocolVersion::TLSv1_2),
        (k12_chacha, ProtocolVersion::TLSv1_2),
    ];
    for (key, version) in styles {
        for padding in [Padding::None, Padding::Block(256)] {
            let (mut w, mut r) = (RecordLayer::new(), RecordLayer::new());
            w.set_version(version);
            r.set_version(version);
            w.set_padding(padding);
            w.set_write_key(key());
            r.set_read_key(key());
            let mut wire = Vec::new();
            let mut want = Vec::new();
            for _ in 0..12 {
                let len = next(40_000) + 1;
                let data: Vec<u8> = (0..len).map(|_| u8::try_from(next(256)).unwrap()).collect();
                let typ = [CT::Handshake, CT::ApplicationData][next(2)];
                w.seal(typ, &data, &mut wire).unwrap();
                for c in data.chunks(MAX_FRAGMENT_LEN) {
                    want.push((typ, c.to_vec()));
                }
            }
            let chunk = next(20_000) + 1;
            assert_eq!(read_chunked(&mut r, &wire, chunk).unwrap(), want);
            assert_eq!(r.read_seq(), w.write_seq());
        }
    }
}

#[test]
fn input_buffer_grows_with_what_arrives_and_is_released_when_empty() {
    let mut rl = RecordLayer::new();
    let room = rl.spare().len();
    assert!((MIN_READ..INPUT_BUFFER_LEN).contains(&room), "{room}");
    // A header announcing a 16 KiB record: the room grows to hold the whole record.
    rl.spare()[..5].copy_from_slice(&[22, 3, 3, 0x40, 0x00]);
    rl.advance(5);
    assert!(rl.spare().len() >= 0x4000);
    // Nothing is released while bytes are buffered.
    rl.release_input();
    assert_eq!(rl.buffered_len(), 5);
    assert!(rl.spare().len() >= 0x4000);
    // Feed the record (an empty-content handshake record is refused, so use one byte of a
    // ClientHello-shaped body repeated): it comes out whole, then the buffer can go.
    let body = vec![0u8; 0x4000];
    let mut fed = 0;
    while fed < body.len() {
        let spare = rl.spare();
        let n = spare.len().min(body.len() - fed);
        spare[..n].copy_from_slice(&body[fed..fed + n]);
        rl.advance(n);
        fed += n;
    }
    let record = rl.next_record().unwrap().unwrap();
    assert_eq!((record.typ, record.payload.len()), (CT::Handshake, 0x4000));
    rl.release_input();
    assert_eq!(rl.buffered_len(), 0);
    assert!(rl.spare().len() >= MIN_READ);
}

// ---------------------------------------------------------------------------------------------
// record_size_limit (RFC 8449)

/// The content of each protected TLS 1.3 record in `wire`, opened by an independent reader.
fn record_lengths(wire: &[u8]) -> Vec<usize> {
    let mut lens = Vec::new();
    let mut rest = wire;
    while let [_, _, _, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        lens.push(len);
        rest = &tail[len..];
    }
    lens
}

#[test]
fn send_limit_caps_every_protected_record_and_its_padding() {
    // The peer said 513 in TLS 1.3: 512 content bytes, + type = 513 inner plaintext.
    let mut w = writer13();
    w.set_send_limit(512);
    assert_eq!(w.send_limit(), 512);
    let data: Vec<u8> = (0..5000u32).map(|i| i.to_le_bytes()[0]).collect();
    let mut wire = Vec::new();
    w.seal(CT::ApplicationData, &data, &mut wire).unwrap();
    let lens = record_lengths(&wire);
    assert_eq!(lens.len(), 10); // ceil(5000 / 512)
    assert!(lens.iter().all(|l| *l <= 513 + TAG_LEN), "{lens:?}");
    let got = read(&mut reader13(), &wire).unwrap();
    let joined: Vec<u8> = got.into_iter().flat_map(|(_, p)| p).collect();
    assert_eq!(joined, data);

    // Padding never pushes the inner plaintext over the limit.
    let mut w = writer13();
    w.set_send_limit(512);
    w.set_padding(Padding::Block(4096));
    let mut wire = Vec::new();
    w.seal(CT::ApplicationData, &[7; 600], &mut wire).unwrap();
    assert_eq!(record_lengths(&wire), vec![513 + TAG_LEN, 513 + TAG_LEN]);
    // seal_in_place refuses a payload over the limit; clamping keeps the limit sane.
    let mut buf = vec![0; 2000];
    assert_eq!(
        w.seal_in_place(CT::ApplicationData, &mut buf, 513),
        Err(Error::FragmentTooLong(513))
    );
    w.set_send_limit(0);
    assert_eq!(w.send_limit(), 1);
    w.set_send_limit(usize::MAX);
    assert_eq!(w.send_limit(), MAX_FRAGMENT_LEN);
}

#[test]
fn send_limit_leaves_plaintext_records_alone() {
    let mut rl = RecordLayer::new();
    rl.set_send_limit(100);
    let mut wire = Vec::new();
    rl.seal(CT::Handshake, &[1; 300], &mut wire).unwrap();
    assert_eq!(record_lengths(&wire), vec![300]);
}

#[test]
fn receive_limit_is_record_overflow_above_our_limit() {
    // TLS 1.3, our limit 513: an inner plaintext of 513 (512 content ‖ type) passes; 514
    // fails, also when the extra byte is padding.
    let mut rl = reader13();
    rl.set_receive_limit(513);
    let mut inner = vec![3; 512];
    inner.push(23);
    let got = read(&mut rl, &raw13(0, &inner)).unwrap();
    assert_eq!(got[0].1.len(), 512);
    inner.push(0);
    let e = read(&mut rl, &raw13(1, &inner)).unwrap_err();
    assert_eq!(
        e,
        Error::RecordOverflow {
            what: "plaintext (our record_size_limit)",
            len: 514,
            max: 513
        }
    );
    assert_eq!(e.alert(), A::RecordOverflow);

    // TLS 1.2: the plaintext itself is counted.
    let mut rl = RecordLayer::new();
    rl.set_read_key(k12_gcm());
    rl.set_receive_limit(512);
    assert!(read(&mut rl, &raw12_gcm(0, 23, &[1; 512])).is_ok());
    let e = read(&mut rl, &raw12_gcm(1, 23, &[1; 513])).unwrap_err();
    assert_eq!(e.alert(), A::RecordOverflow);

    // A ciphertext that cannot fit is refused on its header alone, before its body is read:
    // TLS 1.3 allows limit + 255 bytes of expansion, TLS 1.2 limit + 2048.
    let mut rl = reader13();
    rl.set_receive_limit(513);
    feed(&mut rl, &[23, 3, 3, 0x03, 0x00]); // 768 = 513 + 255: waits for the body
    assert!(rl.next_record().unwrap().is_none());
    let mut rl = reader13();
    rl.set_receive_limit(513);
    feed(&mut rl, &[23, 3, 3, 0x03, 0x01]); // 769
    let e = rl.next_record().unwrap_err();
    assert_eq!(
        e,
        Error::RecordOverflow {
            what: "ciphertext",
            len: 769,
            max: 768
        }
    );
    let mut rl = RecordLayer::new();
    rl.set_read_key(k12_gcm());
    rl.set_receive_limit(512);
    feed(&mut rl, &[23, 3, 3, 0x0a, 0x01]); // 2561 = 512 + 2048 + 1
    assert_eq!(rl.next_record().unwrap_err().alert(), A::RecordOverflow);

    // Plaintext records are exempt.
    let mut rl = RecordLayer::new();
    rl.set_receive_limit(64);
    let mut hs = vec![2, 0, 0x03, 0xfc];
    hs.resize(1024, 0);
    assert_eq!(read(&mut rl, &plain(22, 0x0303, &hs)).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// In place: sealing into, filling from and deframing a buffer the caller lends

#[test]
fn seal_into_writes_the_same_records_as_seal_and_only_whole_ones() {
    let data: Vec<u8> = (0..40_000u32).map(|i| i.to_le_bytes()[1]).collect();
    let mut want = Vec::new();
    writer13()
        .seal(CT::ApplicationData, &data, &mut want)
        .unwrap();
    // Room for everything: the same bytes.
    let mut w = writer13();
    let mut out = vec![0xee; want.len() + 100];
    let (taken, written) = w.seal_into(CT::ApplicationData, &data, &mut out).unwrap();
    assert_eq!((taken, written), (data.len(), want.len()));
    assert_eq!(&out[..written], &want[..]);
    assert_eq!(w.write_seq(), 3);
    // Room for one record and a half: one record, and the sequence moves by one.
    let mut w = writer13();
    let one = w.sealed_len(CT::ApplicationData, MAX_FRAGMENT_LEN);
    let mut out = vec![0u8; one + one / 2];
    let (taken, written) = w.seal_into(CT::ApplicationData, &data, &mut out).unwrap();
    assert_eq!((taken, written), (MAX_FRAGMENT_LEN, one));
    assert_eq!(&out[..one], &want[..one]);
    assert_eq!(w.write_seq(), 1);
    // Not even one: nothing, and no sequence number used.
    let mut small = [0u8; 100];
    assert_eq!(
        w.seal_into(CT::ApplicationData, &data, &mut small).unwrap(),
        (0, 0)
    );
    assert_eq!(w.write_seq(), 1);
    // The send limit applies as for `seal`.
    let mut w = writer13();
    w.set_send_limit(512);
    let mut out = vec![0u8; 4096];
    let (taken, written) = w.seal_into(CT::ApplicationData, &data, &mut out).unwrap();
    assert_eq!(taken % 512, 0);
    assert!(
        record_lengths(&out[..written])
            .iter()
            .all(|l| *l == 513 + TAG_LEN)
    );
    // Application data without a key is refused, as by `seal`.
    let mut rl = RecordLayer::new();
    let e = rl
        .seal_into(CT::ApplicationData, b"x", &mut out)
        .unwrap_err();
    assert!(matches!(e, Error::NoWriteKey));
}

#[test]
fn fill_takes_what_spare_would_offer_in_any_split() {
    let mut w = writer13();
    let mut wire = Vec::new();
    w.seal(CT::Handshake, &[20, 0, 0, 2, 9, 9], &mut wire)
        .unwrap();
    w.seal(CT::ApplicationData, &vec![0x5a; 40_000], &mut wire)
        .unwrap();
    let want = read(&mut reader13(), &wire).unwrap();
    for chunk in [1, 5, 999, 4096, 16_405, INPUT_BUFFER_LEN, wire.len()] {
        let mut rl = reader13();
        let mut got = Vec::new();
        for mut c in wire.chunks(chunk) {
            while !c.is_empty() {
                let room = rl.spare().len();
                let n = rl.fill(c);
                assert_eq!(n, room.min(c.len()), "fill takes what spare offers");
                assert!(rl.buffered_len() <= INPUT_BUFFER_LEN);
                c = &c[n..];
                while let Some(r) = rl.next_record().unwrap() {
                    got.push((r.typ, r.payload.to_vec()));
                }
            }
        }
        assert_eq!(got, want, "chunk {chunk}");
    }
    // Filling without asking for the spare space first (no zero-filled room at all).
    let mut rl = reader13();
    let mut got = Vec::new();
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let n = rl.fill(rest);
        assert!(n > 0);
        rest = &rest[n..];
        while let Some(r) = rl.next_record().unwrap() {
            got.push((r.typ, r.payload.to_vec()));
        }
    }
    assert_eq!(got, want);
}

#[test]
fn record_len_judges_headers_as_the_deframer_does() {
    let rl = reader13();
    assert_eq!(rl.record_len(&[]).unwrap(), None);
    assert_eq!(rl.record_len(&[23, 3, 3, 0]).unwrap(), None);
    assert_eq!(rl.record_len(&[23, 3, 3, 0, 40]).unwrap(), Some(45));
    assert_eq!(
        rl.record_len(&[99]).unwrap_err().alert(),
        A::UnexpectedMessage
    );
    assert_eq!(
        rl.record_len(&[23, 3, 3, 0xff, 0xff]).unwrap_err().alert(),
        A::RecordOverflow
    );
    // A buffer of the caller's, deframed with it and opened in place: the same records.
    let mut w = writer13();
    let mut wire = Vec::new();
    w.seal(CT::ApplicationData, &vec![1; 20_000], &mut wire)
        .unwrap();
    let want = read(&mut reader13(), &wire).unwrap();
    let mut rl = reader13();
    let mut got = Vec::new();
    let mut rest = &mut wire[..];
    while let Some(len) = rl.record_len(rest).unwrap() {
        let (rec, tail) = rest.split_at_mut(len);
        let r = rl.open_in_place(rec).unwrap().unwrap();
        got.push((r.typ, r.payload.to_vec()));
        rest = tail;
    }
    assert_eq!(got, want);
}

//! `cargo xtask bench record`: sealing and opening full 16 KiB records, per suite (AES-128-GCM,
//! AES-256-GCM, ChaCha20-Poly1305) and per protocol (TLS 1.3, TLS 1.2), beside the raw AEAD.
//!
//! - `seal-16k/…`: `overture` is `RecordLayer::seal_in_place` on a buffer with the payload at its
//!   headroom (header, nonce, TLS 1.3 inner type, tag, sequence number and limits included);
//!   `raw-aead` is the provider's `BoundAead::seal_in_place` over the bytes the record protects
//!   (with the TLS 1.3 type byte), same AAD length; `ring` is ring's
//!   `LessSafeKey::seal_in_place_separate_tag` on the same. All three use **the same buffer**
//!   (sealing again over the previous output is fine for timing).
//! - `open-16k/…`: opening destroys the ciphertext, so every implementation first copies one
//!   sealed record (from a pool of records sealed for sequence numbers 0..POOL) into the same
//!   buffer, then opens it there: `overture` with `RecordLayer::open_in_place` (header checks,
//!   nonce, AAD, inner type and padding scan), the anchors with their `open_in_place`. The copy
//!   (`copy-16k` shows its cost alone) is the same for all. Every POOL records `overture`
//!   installs its read key again (to restart at sequence 0), which it pays and the anchors do
//!   not.
//! - `deframe-open-16k/…`: the client's path, `spare()` + `advance` + `next_record` (the copy
//!   lands in the record layer's own input buffer, as a transport read would), against
//!   `open_in_place` on the shared buffer.
//! - `seal-vec-16k/…`: the convenience `RecordLayer::seal(typ, &data, &mut Vec)` (one copy of the
//!   data into the output, as any `&[u8]` API needs), against `raw-aead` (no copy).

#[cfg(feature = "record")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "record"))]
fn main() {
    overture_benches::needs_feature("record");
}

#[cfg(feature = "record")]
mod bench {
    use overture_benches::Suite;
    use overture_crypto_provider::{Aead, BoundAead, Nonce, ring as provider};
    use overture_record_layer::{HEADER_LEN, MAX_FRAGMENT_LEN, RecordKey, RecordLayer};
    use overture_types::{ContentType, ProtocolVersion};
    use ring::aead as ring_aead;
    use std::cell::RefCell;
    use std::hint::black_box;

    const FRAG: usize = MAX_FRAGMENT_LEN;
    /// Records sealed ahead for the open benchmark (sequence numbers 0..POOL).
    const POOL: usize = 64;
    const IV: [u8; 12] = [0x5c; 12];
    const SALT: [u8; 4] = [0x5c; 4];

    #[derive(Clone, Copy, PartialEq)]
    enum Proto {
        Tls13,
        Tls12,
    }

    struct Alg {
        name: &'static str,
        ours: &'static dyn Aead,
        ring: &'static ring_aead::Algorithm,
        key_len: usize,
    }

    fn record_key(alg: &Alg, proto: Proto, key: &[u8]) -> RecordKey {
        match (proto, alg.name) {
            (Proto::Tls13, _) => RecordKey::tls13(alg.ours, key, &IV),
            (Proto::Tls12, "chacha20poly1305") => RecordKey::tls12_chacha(alg.ours, key, &IV),
            (Proto::Tls12, _) => RecordKey::tls12_gcm(alg.ours, key, &SALT),
        }
        .expect("record key")
    }

    /// Nonce and AAD of record `seq` as the protocol builds them (for the anchors).
    fn nonce_aad(alg: &Alg, proto: Proto, seq: u64, record: &[u8]) -> ([u8; 12], Vec<u8>) {
        match proto {
            Proto::Tls13 => (
                *Nonce::xor_seq(&IV, seq).as_bytes(),
                record[..HEADER_LEN].to_vec(),
            ),
            Proto::Tls12 => {
                let mut aad = seq.to_be_bytes().to_vec();
                aad.extend_from_slice(&[23, 3, 3]);
                aad.extend_from_slice(&(FRAG as u16).to_be_bytes());
                let nonce = if alg.name == "chacha20poly1305" {
                    *Nonce::xor_seq(&IV, seq).as_bytes()
                } else {
                    let mut n = [0u8; 12];
                    n[..4].copy_from_slice(&SALT);
                    n[4..].copy_from_slice(&record[HEADER_LEN..HEADER_LEN + 8]);
                    n
                };
                (nonce, aad)
            }
        }
    }

    pub(crate) fn run() {
        let mut suite = Suite::from_args("record");
        let algs = [
            Alg {
                name: "aes128gcm",
                ours: &provider::AES_128_GCM,
                ring: &ring_aead::AES_128_GCM,
                key_len: 16,
            },
            Alg {
                name: "aes256gcm",
                ours: &provider::AES_256_GCM,
                ring: &ring_aead::AES_256_GCM,
                key_len: 32,
            },
            Alg {
                name: "chacha20poly1305",
                ours: &provider::CHACHA20_POLY1305,
                ring: &ring_aead::CHACHA20_POLY1305,
                key_len: 32,
            },
        ];
        let payload = vec![0xa7u8; FRAG];

        {
            let src = vec![0x11u8; FRAG + 22];
            let mut dst = vec![0u8; FRAG + 22];
            suite.throughput(
                "copy-16k",
                FRAG as u64,
                &mut [("memcpy", &mut || {
                    dst.copy_from_slice(black_box(&src));
                    black_box(&dst);
                })],
            );
        }

        for proto in [Proto::Tls13, Proto::Tls12] {
            let pname = if proto == Proto::Tls13 {
                "tls13"
            } else {
                "tls12"
            };
            for alg in &algs {
                let key = vec![0x3du8; alg.key_len];
                let version = match proto {
                    Proto::Tls13 => ProtocolVersion::TLSv1_3,
                    Proto::Tls12 => ProtocolVersion::TLSv1_2,
                };
                let bound: Box<dyn BoundAead> = alg.ours.with_key(&key).expect("key");
                let ring_key = ring_aead::LessSafeKey::new(
                    ring_aead::UnboundKey::new(alg.ring, &key).expect("ring key"),
                );
                // What the AEAD protects in a full record: the TLS 1.3 type byte is included.
                let protected_len = FRAG + usize::from(proto == Proto::Tls13);
                let aad_len = if proto == Proto::Tls13 {
                    HEADER_LEN
                } else {
                    13
                };
                let raw_off = HEADER_LEN
                    + if proto == Proto::Tls12 && alg.name != "chacha20poly1305" {
                        8
                    } else {
                        0
                    };

                // ---- seal: every implementation on the same buffer ----
                let mut rl = RecordLayer::new();
                rl.set_version(version);
                rl.set_write_key(record_key(alg, proto, &key));
                let head = rl.seal_headroom(ContentType::ApplicationData);
                let total = rl.sealed_len(ContentType::ApplicationData, FRAG);
                let buf = RefCell::new(vec![0u8; total]);
                buf.borrow_mut()[head..head + FRAG].copy_from_slice(&payload);
                let aad = vec![0x17u8; aad_len];
                let (mut seq_raw, mut seq_ring) = (0u64, 0u64);
                suite.throughput(
                    &format!("seal-16k/{pname}/{}", alg.name),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            if rl.write_needs_key_update() {
                                rl.set_write_key(record_key(alg, proto, &key));
                            }
                            let mut b = buf.borrow_mut();
                            let n = rl
                                .seal_in_place(ContentType::ApplicationData, &mut b, FRAG)
                                .expect("seal");
                            black_box(&b[..n]);
                        }),
                        ("raw-aead", &mut || {
                            let nonce = Nonce::xor_seq(&IV, seq_raw);
                            seq_raw += 1;
                            let mut b = buf.borrow_mut();
                            let tag = bound
                                .seal_in_place(
                                    nonce,
                                    black_box(&aad),
                                    &mut b[raw_off..raw_off + protected_len],
                                )
                                .expect("seal");
                            black_box(tag);
                        }),
                        ("ring", &mut || {
                            let nonce = ring_aead::Nonce::assume_unique_for_key(
                                *Nonce::xor_seq(&IV, seq_ring).as_bytes(),
                            );
                            seq_ring += 1;
                            let mut b = buf.borrow_mut();
                            let tag = ring_key
                                .seal_in_place_separate_tag(
                                    nonce,
                                    ring_aead::Aad::from(black_box(&aad[..])),
                                    &mut b[raw_off..raw_off + protected_len],
                                )
                                .expect("seal");
                            let _ = black_box(tag);
                        }),
                    ],
                );

                // ---- seal into a Vec (one copy of the data) ----
                let mut rl = RecordLayer::new();
                rl.set_version(version);
                rl.set_write_key(record_key(alg, proto, &key));
                let mut out = Vec::with_capacity(total);
                let mut raw_buf = vec![0u8; total];
                let mut seq_raw = 0u64;
                suite.throughput(
                    &format!("seal-vec-16k/{pname}/{}", alg.name),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            if rl.write_needs_key_update() {
                                rl.set_write_key(record_key(alg, proto, &key));
                            }
                            out.clear();
                            rl.seal(ContentType::ApplicationData, black_box(&payload), &mut out)
                                .expect("seal");
                            black_box(&out);
                        }),
                        ("raw-aead", &mut || {
                            let nonce = Nonce::xor_seq(&IV, seq_raw);
                            seq_raw += 1;
                            let tag = bound
                                .seal_in_place(
                                    nonce,
                                    black_box(&aad),
                                    &mut raw_buf[raw_off..raw_off + protected_len],
                                )
                                .expect("seal");
                            black_box(tag);
                        }),
                    ],
                );

                // ---- open: records sealed ahead, copied into the same buffer by everyone ----
                let mut writer = RecordLayer::new();
                writer.set_version(version);
                writer.set_write_key(record_key(alg, proto, &key));
                let pool: Vec<Vec<u8>> = (0..POOL)
                    .map(|_| {
                        let mut r = Vec::new();
                        writer
                            .seal(ContentType::ApplicationData, &payload, &mut r)
                            .expect("seal");
                        r
                    })
                    .collect();
                let params: Vec<([u8; 12], Vec<u8>)> = pool
                    .iter()
                    .enumerate()
                    .map(|(i, r)| nonce_aad(alg, proto, i as u64, r))
                    .collect();
                let new_reader = || {
                    let mut rl = RecordLayer::new();
                    rl.set_version(version);
                    rl.set_read_key(record_key(alg, proto, &key));
                    rl
                };
                let mut rl = new_reader();
                let (mut i_ours, mut i_raw, mut i_ring) = (0usize, 0usize, 0usize);
                suite.throughput(
                    &format!("open-16k/{pname}/{}", alg.name),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            if i_ours == POOL {
                                rl.set_read_key(record_key(alg, proto, &key));
                                i_ours = 0;
                            }
                            let rec = &pool[i_ours];
                            i_ours += 1;
                            let mut b = buf.borrow_mut();
                            let b = &mut b[..rec.len()];
                            b.copy_from_slice(rec);
                            let r = rl.open_in_place(b).expect("open").expect("a record");
                            black_box(r.payload);
                        }),
                        ("raw-aead", &mut || {
                            let rec = &pool[i_raw];
                            let (nonce, aad) = &params[i_raw];
                            i_raw = (i_raw + 1) % POOL;
                            let mut b = buf.borrow_mut();
                            let b = &mut b[..rec.len()];
                            b.copy_from_slice(rec);
                            let n = bound
                                .open_in_place(Nonce::new(*nonce), aad, &mut b[raw_off..])
                                .expect("open");
                            black_box(&b[raw_off..raw_off + n]);
                        }),
                        ("ring", &mut || {
                            let rec = &pool[i_ring];
                            let (nonce, aad) = &params[i_ring];
                            i_ring = (i_ring + 1) % POOL;
                            let mut b = buf.borrow_mut();
                            let b = &mut b[..rec.len()];
                            b.copy_from_slice(rec);
                            let plain = ring_key
                                .open_in_place(
                                    ring_aead::Nonce::assume_unique_for_key(*nonce),
                                    ring_aead::Aad::from(&aad[..]),
                                    &mut b[raw_off..],
                                )
                                .expect("open");
                            black_box(plain);
                        }),
                    ],
                );

                // ---- open through the deframer (spare/advance/next_record) ----
                let mut rl = new_reader();
                let mut rl_in_place = new_reader();
                let (mut i_ours, mut i_in_place) = (0usize, 0usize);
                suite.throughput(
                    &format!("deframe-open-16k/{pname}/{}", alg.name),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            if i_ours == POOL {
                                rl.set_read_key(record_key(alg, proto, &key));
                                i_ours = 0;
                            }
                            let rec = &pool[i_ours];
                            i_ours += 1;
                            rl.spare()[..rec.len()].copy_from_slice(rec);
                            rl.advance(rec.len());
                            let r = rl.next_record().expect("open").expect("a record");
                            black_box(r.payload);
                        }),
                        ("open-in-place", &mut || {
                            if i_in_place == POOL {
                                rl_in_place.set_read_key(record_key(alg, proto, &key));
                                i_in_place = 0;
                            }
                            let rec = &pool[i_in_place];
                            i_in_place += 1;
                            let mut b = buf.borrow_mut();
                            let b = &mut b[..rec.len()];
                            b.copy_from_slice(rec);
                            let r = rl_in_place
                                .open_in_place(b)
                                .expect("open")
                                .expect("a record");
                            black_box(r.payload);
                        }),
                    ],
                );
            }
        }
        suite.finish();
    }
}

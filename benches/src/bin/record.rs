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
//!
//! The machine this runs on may be shared: read the per-repetition ratio rows (and their
//! min–max), not two throughput medians. For a noise-free view, run the binary under
//! `valgrind --tool=callgrind` with `--filter`: each implementation is one `#[inline(never)]`
//! method of `Ctx` (`seal_ours`, `seal_raw`, `open_ours`, …), so instructions per call compare
//! directly.

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
    const DATA: ContentType = ContentType::ApplicationData;
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

    /// One suite under one protocol, with everything each implementation needs.
    struct Ctx<'a> {
        alg: &'a Alg,
        proto: Proto,
        key: Vec<u8>,
        bound: Box<dyn BoundAead>,
        ring_key: ring_aead::LessSafeKey,
        /// Where the protected bytes start in a record: header (+ GCM explicit nonce).
        raw_off: usize,
        /// How many bytes the AEAD protects in a full record (TLS 1.3: + the type byte).
        protected_len: usize,
        /// An AAD of the protocol's length, for the seal anchors.
        aad: Vec<u8>,
        /// Sealed records 0..POOL, and the nonce and AAD of each (for the open anchors).
        pool: Vec<Vec<u8>>,
        params: Vec<([u8; 12], Vec<u8>)>,
    }

    impl<'a> Ctx<'a> {
        fn new(alg: &'a Alg, proto: Proto, payload: &[u8]) -> Self {
            let key = vec![0x3du8; alg.key_len];
            let explicit = proto == Proto::Tls12 && alg.name != "chacha20poly1305";
            let mut ctx = Self {
                alg,
                proto,
                bound: alg.ours.with_key(&key).expect("key"),
                ring_key: ring_aead::LessSafeKey::new(
                    ring_aead::UnboundKey::new(alg.ring, &key).expect("ring key"),
                ),
                key,
                raw_off: HEADER_LEN + if explicit { 8 } else { 0 },
                protected_len: FRAG + usize::from(proto == Proto::Tls13),
                aad: vec![
                    0x17;
                    if proto == Proto::Tls13 {
                        HEADER_LEN
                    } else {
                        13
                    }
                ],
                pool: Vec::new(),
                params: Vec::new(),
            };
            let mut writer = ctx.writer();
            for seq in 0..POOL as u64 {
                let mut r = Vec::new();
                writer.seal(DATA, payload, &mut r).expect("seal");
                ctx.params.push(ctx.nonce_aad(seq, &r));
                ctx.pool.push(r);
            }
            ctx
        }

        fn version(&self) -> ProtocolVersion {
            match self.proto {
                Proto::Tls13 => ProtocolVersion::TLSv1_3,
                Proto::Tls12 => ProtocolVersion::TLSv1_2,
            }
        }

        fn record_key(&self) -> RecordKey {
            match (self.proto, self.alg.name) {
                (Proto::Tls13, _) => RecordKey::tls13(self.alg.ours, &self.key, &IV),
                (Proto::Tls12, "chacha20poly1305") => {
                    RecordKey::tls12_chacha(self.alg.ours, &self.key, &IV)
                }
                (Proto::Tls12, _) => RecordKey::tls12_gcm(self.alg.ours, &self.key, &SALT),
            }
            .expect("record key")
        }

        fn writer(&self) -> RecordLayer {
            let mut rl = RecordLayer::new();
            rl.set_version(self.version());
            rl.set_write_key(self.record_key());
            rl
        }

        fn reader(&self) -> RecordLayer {
            let mut rl = RecordLayer::new();
            rl.set_version(self.version());
            rl.set_read_key(self.record_key());
            rl
        }

        /// Nonce and AAD of record `seq` as the protocol builds them.
        fn nonce_aad(&self, seq: u64, record: &[u8]) -> ([u8; 12], Vec<u8>) {
            if self.proto == Proto::Tls13 {
                return (
                    *Nonce::xor_seq(&IV, seq).as_bytes(),
                    record[..HEADER_LEN].to_vec(),
                );
            }
            let mut aad = seq.to_be_bytes().to_vec();
            aad.extend_from_slice(&[23, 3, 3]);
            aad.extend_from_slice(&(FRAG as u16).to_be_bytes());
            let mut nonce = *Nonce::xor_seq(&IV, seq).as_bytes();
            if self.raw_off > HEADER_LEN {
                nonce[..4].copy_from_slice(&SALT);
                nonce[4..].copy_from_slice(&record[HEADER_LEN..HEADER_LEN + 8]);
            }
            (nonce, aad)
        }

        #[inline(never)]
        fn seal_ours(&self, rl: &mut RecordLayer, buf: &mut [u8]) {
            if rl.write_needs_key_update() {
                rl.set_write_key(self.record_key());
            }
            let n = rl.seal_in_place(DATA, buf, FRAG).expect("seal");
            black_box(&buf[..n]);
        }

        #[inline(never)]
        fn seal_vec_ours(&self, rl: &mut RecordLayer, payload: &[u8], out: &mut Vec<u8>) {
            if rl.write_needs_key_update() {
                rl.set_write_key(self.record_key());
            }
            out.clear();
            rl.seal(DATA, black_box(payload), out).expect("seal");
            black_box(&out);
        }

        #[inline(never)]
        fn seal_raw(&self, seq: &mut u64, buf: &mut [u8]) {
            let nonce = Nonce::xor_seq(&IV, *seq);
            *seq += 1;
            let in_out = &mut buf[self.raw_off..self.raw_off + self.protected_len];
            let tag = self
                .bound
                .seal_in_place(nonce, black_box(&self.aad), in_out);
            black_box(tag.expect("seal"));
        }

        #[inline(never)]
        fn seal_ring(&self, seq: &mut u64, buf: &mut [u8]) {
            let nonce =
                ring_aead::Nonce::assume_unique_for_key(*Nonce::xor_seq(&IV, *seq).as_bytes());
            *seq += 1;
            let in_out = &mut buf[self.raw_off..self.raw_off + self.protected_len];
            let aad = ring_aead::Aad::from(black_box(&self.aad[..]));
            let tag = self.ring_key.seal_in_place_separate_tag(nonce, aad, in_out);
            let _ = black_box(tag.expect("seal"));
        }

        /// Copies record `i` (then the next) into `buf`; returns the record's part of `buf`.
        fn load<'b>(&self, i: &mut usize, buf: &'b mut [u8]) -> (usize, &'b mut [u8]) {
            let at = *i % POOL;
            *i += 1;
            let rec = &self.pool[at];
            let b = &mut buf[..rec.len()];
            b.copy_from_slice(rec);
            (at, b)
        }

        #[inline(never)]
        fn open_ours(&self, rl: &mut RecordLayer, i: &mut usize, buf: &mut [u8]) {
            if *i == POOL {
                rl.set_read_key(self.record_key());
                *i = 0;
            }
            let (_, b) = self.load(i, buf);
            let r = rl.open_in_place(b).expect("open").expect("a record");
            black_box(r.payload);
        }

        #[inline(never)]
        fn deframe_ours(&self, rl: &mut RecordLayer, i: &mut usize) {
            if *i == POOL {
                rl.set_read_key(self.record_key());
                *i = 0;
            }
            let rec = &self.pool[*i];
            *i += 1;
            // spare() grows to the pending record once its header is in: fill it in as many
            // steps as it takes (a 4 KiB first read, then the rest).
            let mut off = 0;
            while off < rec.len() {
                let spare = rl.spare();
                let n = spare.len().min(rec.len() - off);
                spare[..n].copy_from_slice(&rec[off..off + n]);
                rl.advance(n);
                off += n;
            }
            let r = rl.next_record().expect("open").expect("a record");
            black_box(r.payload);
        }

        #[inline(never)]
        fn open_raw(&self, i: &mut usize, buf: &mut [u8]) {
            let (at, b) = self.load(i, buf);
            let (nonce, aad) = &self.params[at];
            let in_out = &mut b[self.raw_off..];
            let n = self.bound.open_in_place(Nonce::new(*nonce), aad, in_out);
            black_box(n.expect("open"));
        }

        #[inline(never)]
        fn open_ring(&self, i: &mut usize, buf: &mut [u8]) {
            let (at, b) = self.load(i, buf);
            let (nonce, aad) = &self.params[at];
            let nonce = ring_aead::Nonce::assume_unique_for_key(*nonce);
            let plain = self.ring_key.open_in_place(
                nonce,
                ring_aead::Aad::from(&aad[..]),
                &mut b[self.raw_off..],
            );
            black_box(plain.expect("open"));
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
                let case = |what: &str| format!("{what}-16k/{pname}/{}", alg.name);
                let cx = Ctx::new(alg, proto, &payload);

                // Seal, every implementation on the same buffer.
                let mut rl = cx.writer();
                let head = rl.seal_headroom(DATA);
                let buf = RefCell::new(vec![0u8; rl.sealed_len(DATA, FRAG)]);
                buf.borrow_mut()[head..head + FRAG].copy_from_slice(&payload);
                let (mut seq_raw, mut seq_ring) = (0u64, 0u64);
                suite.throughput(
                    &case("seal"),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            cx.seal_ours(&mut rl, &mut buf.borrow_mut())
                        }),
                        ("raw-aead", &mut || {
                            cx.seal_raw(&mut seq_raw, &mut buf.borrow_mut())
                        }),
                        ("ring", &mut || {
                            cx.seal_ring(&mut seq_ring, &mut buf.borrow_mut())
                        }),
                    ],
                );

                // Seal into a Vec (one copy of the data).
                let mut rl = cx.writer();
                let mut out = Vec::with_capacity(buf.borrow().len());
                let mut raw_buf = buf.borrow().clone();
                let mut seq_raw = 0u64;
                suite.throughput(
                    &case("seal-vec"),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            cx.seal_vec_ours(&mut rl, &payload, &mut out)
                        }),
                        ("raw-aead", &mut || cx.seal_raw(&mut seq_raw, &mut raw_buf)),
                    ],
                );

                // Open: each copies a sealed record into the same buffer and opens it there.
                let mut rl = cx.reader();
                let (mut i_ours, mut i_raw, mut i_ring) = (0usize, 0usize, 0usize);
                suite.throughput(
                    &case("open"),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || {
                            cx.open_ours(&mut rl, &mut i_ours, &mut buf.borrow_mut())
                        }),
                        ("raw-aead", &mut || {
                            cx.open_raw(&mut i_raw, &mut buf.borrow_mut())
                        }),
                        ("ring", &mut || {
                            cx.open_ring(&mut i_ring, &mut buf.borrow_mut())
                        }),
                    ],
                );

                // Open through the deframer, as the client does.
                let mut rl = cx.reader();
                let mut rl_in_place = cx.reader();
                let (mut i_ours, mut i_in_place) = (0usize, 0usize);
                suite.throughput(
                    &case("deframe-open"),
                    FRAG as u64,
                    &mut [
                        ("overture", &mut || cx.deframe_ours(&mut rl, &mut i_ours)),
                        ("open-in-place", &mut || {
                            cx.open_ours(&mut rl_in_place, &mut i_in_place, &mut buf.borrow_mut())
                        }),
                    ],
                );
            }
        }
        suite.finish();
    }
}

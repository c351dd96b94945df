//! `cargo xtask bench bulk`: 16 KiB application writes through a connected pair, client send
//! and client receive, per TLS 1.3 suite — Overture beside the rustls client (both against
//! the same in-memory rustls server) and beside the raw AEAD (ring) on the same bytes.
//!
//! Only the client is charged (the server's work and the moving of bytes are not):
//! - `bulk-send-<suite>`: Overture `Ssl::write` of 16 KiB into its BIO pair; `overture-fill`:
//!   `Ssl::write_with`, the closure copying the same 16 KiB into the record's room in the
//!   pair (the copy `write` makes, moved into the application: the same work, shown to cost
//!   no more; an application that produces its data there saves its own buffer); rustls
//!   `writer().write_all` + `write_tls` into a buffer; raw AEAD: one
//!   `seal_in_place_separate_tag` of the 16 KiB + content-type byte with the 5-byte header as
//!   AAD (what one record costs at least).
//! - `bulk-recv-<suite>`: the server's 16 KiB record waiting; Overture `Ssl::read` until
//!   16 KiB came out; `overture-lend`: `Ssl::read_in_place` until 16 KiB were lent (the
//!   plaintext is opened in the BIO pair's buffer and lent there: no copy; the closure only
//!   takes its length, so an application that then reads its bytes pays that itself); rustls
//!   `read_tls` + `process_new_packets` + `reader().read_exact`; raw AEAD: one
//!   `open_in_place` of that record (re-sealed, uncharged, before each).
//!
//! A repetition's figure is the median operation's throughput.

#[cfg(feature = "bulk")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "bulk"))]
fn main() {
    overture_benches::needs_feature("bulk");
}

#[cfg(feature = "bulk")]
mod bench {
    use overture_benches::Suite;
    use overture_benches::inmem::{
        KeyKind, OvertureConn, Pki, RustlsConn, client_call, rustls_client_config, server_config,
    };
    use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};

    const SIZE: usize = 16 * 1024;

    struct SuiteCase {
        name: &'static str,
        rustls: rustls::SupportedCipherSuite,
        ring: &'static aead::Algorithm,
    }

    fn suites() -> [SuiteCase; 3] {
        use rustls::crypto::ring::cipher_suite as cs;
        [
            SuiteCase {
                name: "aes128gcm",
                rustls: cs::TLS13_AES_128_GCM_SHA256,
                ring: &aead::AES_128_GCM,
            },
            SuiteCase {
                name: "aes256gcm",
                rustls: cs::TLS13_AES_256_GCM_SHA384,
                ring: &aead::AES_256_GCM,
            },
            SuiteCase {
                name: "chacha20poly1305",
                rustls: cs::TLS13_CHACHA20_POLY1305_SHA256,
                ring: &aead::CHACHA20_POLY1305,
            },
        ]
    }

    fn raw_key(alg: &'static aead::Algorithm) -> LessSafeKey {
        let key = vec![0x42; alg.key_len()];
        LessSafeKey::new(UnboundKey::new(alg, &key).expect("aead key"))
    }

    fn nonce(n: u64) -> Nonce {
        let mut b = [0u8; 12];
        b[4..].copy_from_slice(&n.to_be_bytes());
        Nonce::assume_unique_for_key(b)
    }

    fn connect(
        pki: &Pki,
        suite: rustls::SupportedCipherSuite,
    ) -> Result<(OvertureConn, OvertureConn, OvertureConn, RustlsConn), String> {
        let server = server_config(pki, &[&rustls::version::TLS13], suite, false);
        let config = overture::ClientConfig::builder()
            .with_ca_file(&pki.ca_pem)
            .map_err(|e| e.to_string())?
            .build()
            .map_err(|e| e.to_string())?;
        let (mut ov, _) = OvertureConn::new(&config, &server)?;
        ov.handshake()?;
        let (mut ov_lend, _) = OvertureConn::new(&config, &server)?;
        ov_lend.handshake()?;
        let (mut ov_fill, _) = OvertureConn::new(&config, &server)?;
        ov_fill.handshake()?;
        let rl_config = rustls_client_config(pki, &[&rustls::version::TLS13])?;
        let (mut rl, _) = RustlsConn::new(&rl_config, &server)?;
        rl.handshake()?;
        rl.client_write()?;
        rl.server_turn()?;
        Ok((ov, ov_lend, ov_fill, rl))
    }

    /// `Ssl::read_in_place` until `len` bytes were lent; the time charged to those calls.
    fn read_lent(ov: &mut OvertureConn, len: usize) -> Result<Duration, String> {
        let mut charged = Duration::ZERO;
        let mut got = 0;
        while got < len {
            let t = Instant::now();
            let r = client_call(|| {
                ov.ssl.read_in_place(|plaintext| {
                    std::hint::black_box(plaintext);
                    plaintext.len()
                })
            });
            charged += t.elapsed();
            match r {
                Ok(n) => got += n,
                Err(e) if e.kind() == overture::ErrorKind::WantRead => {
                    ov.to_client()?;
                    if ov.far.pending() == 0 {
                        return Err("overture read_in_place: the server sent nothing more".into());
                    }
                }
                Err(e) => return Err(format!("overture read_in_place: {e}")),
            }
        }
        Ok(charged)
    }

    pub(crate) fn run() {
        let mut suite = Suite::from_args("bulk");
        let pki = Pki::new(KeyKind::EcdsaP256);
        let data = vec![0x61u8; SIZE];
        for sc in suites() {
            let send = format!("bulk-send-{}", sc.name);
            let recv = format!("bulk-recv-{}", sc.name);
            if !suite.wants(&send) && !suite.wants(&recv) {
                continue;
            }
            let (mut ov, mut ov_lend, mut ov_fill, mut rl) = match connect(&pki, sc.rustls) {
                Ok(c) => c,
                Err(e) => {
                    suite.not_run(&send, "all", &e);
                    suite.not_run(&recv, "all", &e);
                    continue;
                }
            };
            let key = raw_key(sc.ring);
            let mut sink = vec![0u8; 64 * 1024];

            // ---- client send ----
            let mut ov_send = || {
                let t = Instant::now();
                let r = client_call(|| ov.ssl.write(&data));
                let charged = t.elapsed();
                assert_eq!(r.expect("overture write"), SIZE);
                ov.to_server().expect("to server");
                assert_eq!(ov.server_drain().expect("drain"), SIZE);
                charged
            };
            let mut fill_send = || {
                let t = Instant::now();
                let r = client_call(|| {
                    ov_fill.ssl.write_with(SIZE, |room| {
                        let n = room.len().min(data.len());
                        if let (Some(dst), Some(src)) = (room.get_mut(..n), data.get(..n)) {
                            dst.copy_from_slice(src);
                        }
                        n
                    })
                });
                let charged = t.elapsed();
                assert_eq!(r.expect("overture write_with"), SIZE);
                ov_fill.to_server().expect("to server");
                assert_eq!(ov_fill.server_drain().expect("drain"), SIZE);
                charged
            };
            let mut rl_sink = vec![0u8; 64 * 1024];
            let mut rl_send = || {
                let t = Instant::now();
                client_call(|| rl.client.writer().write_all(&data)).expect("rustls write");
                let charged = t.elapsed() + rl.client_write().expect("write_tls");
                rl.server_turn().expect("server");
                assert_eq!(rl.server_drain(&mut rl_sink).expect("drain"), SIZE);
                charged
            };
            let mut record = vec![0x61u8; SIZE + 1];
            let mut seq = 0u64;
            let mut raw_send = || {
                seq += 1;
                let t = Instant::now();
                let tag = key
                    .seal_in_place_separate_tag(
                        nonce(seq),
                        Aad::from([23, 3, 3, 0x40, 0x11]),
                        &mut record,
                    )
                    .expect("seal");
                let _ = std::hint::black_box(tag);
                t.elapsed()
            };
            // Both Overture writes are subjects: each against rustls and the raw AEAD.
            suite.throughput_charged_subjects(
                &send,
                SIZE as u64,
                2,
                &mut [
                    ("overture", &mut ov_send),
                    ("overture-fill", &mut fill_send),
                    ("rustls", &mut rl_send),
                    ("raw-aead", &mut raw_send),
                ],
            );

            // ---- client receive ----
            let mut ov_recv = || {
                ov.server.writer().write_all(&data).expect("server write");
                ov.to_client().expect("to client");
                ov.read_exact(&mut sink[..SIZE]).expect("overture read")
            };
            let mut lend_recv = || {
                ov_lend
                    .server
                    .writer()
                    .write_all(&data)
                    .expect("server write");
                ov_lend.to_client().expect("to client");
                read_lent(&mut ov_lend, SIZE).expect("overture read_in_place")
            };
            let mut rl_buf = vec![0u8; SIZE];
            let mut rl_recv = || {
                rl.server.writer().write_all(&data).expect("server write");
                rl.server_turn().expect("server");
                let mut charged = rl.client_read().expect("client read");
                let t = Instant::now();
                client_call(|| rl.client.reader().read_exact(&mut rl_buf)).expect("rustls read");
                charged += t.elapsed();
                charged
            };
            let plain = vec![0x61u8; SIZE + 1];
            let mut sealed = plain.clone();
            sealed.extend_from_slice(&[0; 16]);
            let mut raw_recv = || -> Duration {
                // Re-seal (not charged) so the open authenticates.
                sealed.truncate(SIZE + 1);
                sealed.copy_from_slice(&plain);
                key.seal_in_place_append_tag(
                    nonce(1),
                    Aad::from([23, 3, 3, 0x40, 0x11]),
                    &mut sealed,
                )
                .expect("seal");
                let t = Instant::now();
                let out = key
                    .open_in_place(nonce(1), Aad::from([23, 3, 3, 0x40, 0x11]), &mut sealed)
                    .expect("open");
                std::hint::black_box(out);
                t.elapsed()
            };
            // Both Overture reads are subjects: each against rustls and the raw AEAD.
            suite.throughput_charged_subjects(
                &recv,
                SIZE as u64,
                2,
                &mut [
                    ("overture", &mut ov_recv),
                    ("overture-lend", &mut lend_recv),
                    ("rustls", &mut rl_recv),
                    ("raw-aead", &mut raw_recv),
                ],
            );
        }
        suite.finish();
    }
}

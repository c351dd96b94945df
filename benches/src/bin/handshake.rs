//! `cargo xtask bench handshake`: the client's CPU for one handshake, Overture beside the
//! rustls 0.23 client (ring provider), both against the same rustls server held in memory, and
//! beside the **crypto floor**: the primitives that handshake must run, called directly on ring.
//!
//! Only the client is charged: `Ssl::new` + `set_bio` + every `connect()` call for Overture,
//! `ClientConnection::new` + every `write_tls`/`read_tls`/`process_new_packets` for rustls (as
//! `rustls-bench` charges a client handshake). The server's work and the moving of bytes
//! between the two are not charged. The server offers TLS_AES_128_GCM_SHA256 (TLS 1.3) or
//! ECDHE-ECDSA-AES128-GCM-SHA256 (TLS 1.2) over X25519; the clients run with their defaults,
//! except that Overture's groups are x25519, secp256r1, secp384r1 in the classical cases (its
//! default, X25519MLKEM768 first, would also make an ML-KEM key the X25519 server never uses).
//!
//! Cases (names read by scripts):
//! - `tls13-full-ecdsa`: ECDSA P-256, root → intermediate → leaf; Overture with its signature
//!   cache off (every signature verified). Floor: X25519 keygen + agreement, 3 ECDSA P-256
//!   verifies (2 certificates + CertificateVerify), the TLS 1.3 key schedule (HKDF on ring),
//!   the Finished HMACs, SHA-256 over the transcript the client really saw, AES-128-GCM opening
//!   the server's encrypted records and sealing the client's, 64 random bytes.
//! - `tls13-full-ecdsa-warm`: the same with Overture's signature cache warm (the chain's two
//!   certificate signatures remembered): its floor has 1 verify.
//! - `tls13-full-rsa`: RSA-2048 chain (PKCS#1 v1.5 certificates, PSS CertificateVerify).
//! - `tls13-resumed`: a ticket handshake (PSK-DHE) against stateless tickets; runs only when
//!   the client resumes (every measured handshake is checked to be resumed). Taking in the
//!   tickets each connection receives for the next one is not charged.
//! - `tls12-full-ecdsa`: TLS 1.2 ECDHE-ECDSA; runs only when the client negotiates TLS 1.2.
//! - `tls13-full-ecdsa-mlkem`: `tls13-full-ecdsa` over X25519MLKEM768 with Overture's default
//!   groups (its ClientHello carries an X25519MLKEM768 and an x25519 share); the rustls server
//!   does the hybrid through Overture's ring provider (libcrux-ml-kem) behind rustls's
//!   `SupportedKxGroup` (not charged). Floor: the `tls13-full-ecdsa` floor plus ML-KEM-768 key
//!   generation and decapsulation (libcrux, through the provider's `Kem`). The rustls client
//!   is impl `rustls-aws-lc-rs`: rustls's X25519MLKEM768 needs its aws-lc-rs provider (ring
//!   has no ML-KEM), so aws-lc does all of that client's crypto, and its ratio compares two
//!   whole stacks rather than two codes over one crypto library.
//! - `tls13-resumed-0rtt`: the time until the first byte of 0-RTT early data leaves the client
//!   (a 58-byte HTTP request; the ticket's server allows 16 KiB): Overture's `Ssl::new`,
//!   `set_bio` and `write_early_data` (which builds the ClientHello with its PSK binder, derives the early
//!   key, seals the data and hands ClientHello and data to the BIO) beside rustls's
//!   `ClientConnection::new`, `early_data().write` and `write_tls`. Every measured connection
//!   is then completed (not charged) and checked: resumed, early data accepted, and the server
//!   read exactly the request as early data; its tickets feed the next one. No floor (the
//!   floor is of whole handshakes).
//!
//! Instructions (when valgrind is installed): the binary re-runs itself under
//! `valgrind --tool=callgrind`, counting only the client's calls (`inmem::client_call`) of
//! 5 `tls13-full-ecdsa` handshakes after a warm-up one (the counters are zeroed after it);
//! cases `instr-tls13-full-ecdsa` (all instructions per handshake) and
//! `instr-non-crypto-tls13-full-ecdsa` (all but the self cost of ring's functions), metric
//! `instructions`, unit `Ir`. The costliest functions go to
//! `target/bench/callgrind.<impl>.top.txt`. The floor runs under callgrind too (impl `floor`,
//! the same primitives as its timed run), and so do `tls13-full-ecdsa-mlkem`, `tls13-full-rsa`,
//! `tls13-resumed` and `tls12-full-ecdsa` (`instr-<case>` and `instr-non-crypto-<case>`,
//! Overture beside its floor; libcrux counts as crypto).
//!
//! Allocations (when valgrind is installed): `allocs-tls13-full-ecdsa`, metric `allocations`,
//! unit `calls`: heap blocks allocated (malloc, calloc, realloc) per handshake by the client's
//! calls, counted by valgrind's DHAT over the stacks that pass through `inmem::client_call`;
//! two runs (5 and 10 handshakes after the warm-up) are subtracted, so setup and warm-up do
//! not count. (callgrind's call counts are not used for this: with `--toggle-collect` they
//! also count calls made while collection is off.)

#[cfg(feature = "handshake")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "handshake"))]
fn main() {
    overture_benches::needs_feature("handshake");
}

#[cfg(feature = "handshake")]
mod bench {
    use overture_benches::floor::{Floor, FloorKind, Transcript};
    use overture_benches::inmem::{
        KeyKind, OvertureConn, Pki, RustlsConn, callgrind_zero, rustls_aws_lc_client_config,
        rustls_client_config, server_config,
    };
    use overture_benches::{Suite, bench_dir};
    use std::process::Command;
    use std::sync::Arc;
    use std::time::Duration;

    /// One handshake case: what to connect to and how.
    struct Case {
        name: &'static str,
        kind: KeyKind,
        tls12: bool,
        warm: bool,
        resumed: bool,
        /// X25519MLKEM768 (Overture's default groups, a hybrid-capable server, no rustls
        /// client).
        mlkem: bool,
    }

    const CASES: &[Case] = &[
        Case {
            name: "tls13-full-ecdsa",
            kind: KeyKind::EcdsaP256,
            tls12: false,
            warm: false,
            resumed: false,
            mlkem: false,
        },
        Case {
            name: "tls13-full-ecdsa-warm",
            kind: KeyKind::EcdsaP256,
            tls12: false,
            warm: true,
            resumed: false,
            mlkem: false,
        },
        Case {
            name: "tls13-full-rsa",
            kind: KeyKind::Rsa2048,
            tls12: false,
            warm: false,
            resumed: false,
            mlkem: false,
        },
        Case {
            name: "tls13-resumed",
            kind: KeyKind::EcdsaP256,
            tls12: false,
            warm: false,
            resumed: true,
            mlkem: false,
        },
        Case {
            name: "tls12-full-ecdsa",
            kind: KeyKind::EcdsaP256,
            tls12: true,
            warm: false,
            resumed: false,
            mlkem: false,
        },
        Case {
            name: "tls13-full-ecdsa-mlkem",
            kind: KeyKind::EcdsaP256,
            tls12: false,
            warm: false,
            resumed: false,
            mlkem: true,
        },
    ];

    /// X25519MLKEM768 for the rustls server: Overture's ring provider behind rustls's
    /// `SupportedKxGroup` (the server side is `start_and_complete`, an encapsulation).
    #[derive(Debug)]
    struct ServerMlkem;

    struct ServerMlkemActive(Box<dyn overture::crypto::ActiveKeyExchange>);

    fn kx_error(e: overture::crypto::Error) -> rustls::Error {
        rustls::Error::General(format!("X25519MLKEM768: {e}"))
    }

    impl rustls::crypto::ActiveKeyExchange for ServerMlkemActive {
        fn complete(
            self: Box<Self>,
            peer: &[u8],
        ) -> Result<rustls::crypto::SharedSecret, rustls::Error> {
            let secret = self.0.complete(peer).map_err(kx_error)?;
            Ok(rustls::crypto::SharedSecret::from(
                secret.as_bytes().to_vec(),
            ))
        }
        fn pub_key(&self) -> &[u8] {
            self.0.public_key()
        }
        fn group(&self) -> rustls::NamedGroup {
            rustls::NamedGroup::X25519MLKEM768
        }
    }

    impl rustls::crypto::SupportedKxGroup for ServerMlkem {
        fn start(&self) -> Result<Box<dyn rustls::crypto::ActiveKeyExchange>, rustls::Error> {
            let kx: &dyn overture::crypto::KeyExchange = &overture::crypto::ring::X25519MLKEM768;
            Ok(Box::new(ServerMlkemActive(kx.start().map_err(kx_error)?)))
        }
        fn start_and_complete(
            &self,
            client_share: &[u8],
        ) -> Result<rustls::crypto::CompletedKeyExchange, rustls::Error> {
            let kx: &dyn overture::crypto::KeyExchange = &overture::crypto::ring::X25519MLKEM768;
            let done = kx.start_and_complete(client_share).map_err(kx_error)?;
            Ok(rustls::crypto::CompletedKeyExchange {
                group: rustls::NamedGroup::X25519MLKEM768,
                pub_key: done.share,
                secret: rustls::crypto::SharedSecret::from(done.secret.as_bytes().to_vec()),
            })
        }
        fn name(&self) -> rustls::NamedGroup {
            rustls::NamedGroup::X25519MLKEM768
        }
    }

    static SERVER_MLKEM: ServerMlkem = ServerMlkem;

    /// The ML-KEM-768 part of the hybrid floor: key generation and decapsulation through the
    /// ring provider's `Kem` (libcrux). Decapsulating a ciphertext made for another key costs
    /// the same (FIPS 203 re-encrypts and compares either way).
    struct MlkemFloor {
        ciphertext: Vec<u8>,
    }

    impl MlkemFloor {
        fn new() -> Result<Self, String> {
            use overture::crypto::Kem;
            let kem = &overture::crypto::ring::MLKEM768;
            let key = kem.generate().map_err(|e| e.to_string())?;
            let (ciphertext, _) = kem
                .encapsulate(key.encapsulation_key())
                .map_err(|e| e.to_string())?;
            Ok(Self { ciphertext })
        }

        fn run(&self) -> Duration {
            use overture::crypto::Kem;
            let t = std::time::Instant::now();
            if let Ok(key) = overture::crypto::ring::MLKEM768.generate() {
                std::hint::black_box(key.encapsulation_key());
                let _ = std::hint::black_box(key.decapsulate(&self.ciphertext));
            }
            t.elapsed()
        }
    }

    struct Setup {
        pki: Pki,
        server: Arc<rustls::ServerConfig>,
        rustls: Arc<rustls::ClientConfig>,
        overture: overture::ClientConfig,
    }

    fn setup(case: &Case) -> Result<Setup, String> {
        let pki = Pki::new(case.kind);
        let (versions, suite, ours): (&[&'static rustls::SupportedProtocolVersion], _, _) =
            if case.tls12 {
                (
                    &[&rustls::version::TLS12],
                    rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                    overture::types::ProtocolVersion::TLSv1_2,
                )
            } else {
                (
                    &[&rustls::version::TLS13],
                    rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
                    overture::types::ProtocolVersion::TLSv1_3,
                )
            };
        let server = if case.mlkem {
            let base =
                overture_tests::rustls_server_config(&pki, versions, &[suite], &[&SERVER_MLKEM]);
            let mut c = (*base).clone();
            c.send_tls13_tickets = 0;
            c.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            Arc::new(c)
        } else {
            server_config(&pki, versions, suite, case.resumed)
        };
        let rustls = rustls_client_config(&pki, versions)?;
        let mut builder = overture::ClientConfig::builder();
        if !case.mlkem {
            builder = builder
                .with_groups(&overture_benches::inmem::RUSTLS_RING_GROUPS)
                .map_err(|e| e.to_string())?;
        }
        let overture = builder
            .with_ca_file(&pki.ca_pem)
            .map_err(|e| e.to_string())?
            .with_protocol_versions(&[ours])
            .with_signature_cache(if case.warm { 1024 } else { 0 })
            .build()
            .map_err(|e| format!("overture config: {e}"))?;
        Ok(Setup {
            pki,
            server,
            rustls,
            overture,
        })
    }

    /// One Overture handshake; the client time. With `resumed`, the client first takes the
    /// server's tickets (not charged) so the next connection can resume.
    fn overture_once(s: &Setup, resumed: bool) -> Result<(Duration, OvertureConn), String> {
        let (mut c, t0) = OvertureConn::new(&s.overture, &s.server)?;
        let t1 = c.handshake()?;
        if resumed {
            c.absorb()?;
        }
        Ok((t0 + t1, c))
    }

    fn rustls_once(s: &Setup, resumed: bool) -> Result<(Duration, RustlsConn), String> {
        let (mut c, t0) = RustlsConn::new(&s.rustls, &s.server)?;
        let t1 = c.handshake()?;
        if resumed {
            c.absorb()?;
        }
        Ok((t0 + t1, c))
    }

    /// Checks that Overture can run `case` as asked; `Err` says why not.
    fn overture_preflight(case: &Case, s: &Setup) -> Result<Transcript, String> {
        let (_, first) = overture_once(s, case.resumed)?;
        let negotiated = first.ssl.negotiated().map(|n| n.version());
        let want = if case.tls12 {
            overture::types::ProtocolVersion::TLSv1_2
        } else {
            overture::types::ProtocolVersion::TLSv1_3
        };
        if negotiated != Some(want) {
            return Err(format!("the client negotiated {negotiated:?}, not {want}"));
        }
        if case.mlkem {
            let group = first.ssl.negotiated().and_then(|n| n.group());
            if group != Some(overture::types::NamedGroup::X25519MLKEM768) {
                return Err(format!(
                    "the client negotiated {group:?}, not X25519MLKEM768"
                ));
            }
        }
        // The transcript the floor hashes and decrypts: a recorded handshake (resumed: the
        // second one).
        let (mut rec, _) = OvertureConn::new(&s.overture, &s.server)?;
        rec.record = Some((Vec::new(), Vec::new()));
        rec.handshake()?;
        if case.resumed && !rec.ssl.negotiated().is_some_and(|n| n.resumed()) {
            return Err("the client does not resume yet: a second connection from the same ClientConfig, after the server sent tickets, made a full handshake (Negotiated::resumed() is false)".into());
        }
        let (c2s, s2c) = rec.record.take().unwrap_or_default();
        if case.mlkem {
            // The first record is the ClientHello (5-byte record header, then the message).
            let len = c2s
                .get(3..5)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            eprintln!(
                "{}: ClientHello {len} bytes (X25519MLKEM768 1216-byte + x25519 32-byte shares)",
                case.name
            );
        }
        if case.resumed {
            // Its tickets, for the next connection (a ticket is used once).
            rec.absorb()?;
        }
        Ok(Transcript::parse(&c2s, &s2c, case.tls12))
    }

    fn rustls_transcript(s: &Setup, case: &Case) -> Result<Transcript, String> {
        // Only for the floor's sizes when Overture cannot run the case: take rustls's.
        let _ = rustls_once(s, case.resumed)?;
        let (mut c, _) = RustlsConn::new(&s.rustls, &s.server)?;
        let mut c2s = Vec::new();
        let mut s2c = Vec::new();
        for _ in 0..64 {
            c.client_write()?;
            c2s.extend_from_slice(c.c2s());
            c.server_turn()?;
            s2c.extend_from_slice(c.s2c());
            if !c.client.is_handshaking() {
                break;
            }
            c.client_read()?;
        }
        Ok(Transcript::parse(&c2s, &s2c, case.tls12))
    }

    pub(crate) fn run() {
        let args: Vec<String> = std::env::args().collect();
        if let Some(i) = args.iter().position(|a| a == "--callgrind-child") {
            let imp = args.get(i + 1).cloned().unwrap_or_default();
            let n: usize = args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(5);
            let case = args.get(i + 3).map_or(CASES[0].name, String::as_str);
            if let Err(e) = callgrind_child(&imp, n, case) {
                eprintln!("callgrind child: {e}");
                std::process::exit(1);
            }
            return;
        }
        let mut suite = Suite::from_args("handshake");
        for case in CASES {
            if !suite.wants(case.name) {
                continue;
            }
            let s = match setup(case) {
                Ok(s) => s,
                Err(e) => {
                    suite.not_run(case.name, "all", &e);
                    continue;
                }
            };
            let (overture_ok, transcript) = match overture_preflight(case, &s) {
                Ok(t) => (true, t),
                Err(e) => {
                    suite.not_run(case.name, "overture", &e);
                    match rustls_transcript(&s, case) {
                        Ok(t) => (false, t),
                        Err(e) => {
                            suite.not_run(case.name, "rustls", &e);
                            continue;
                        }
                    }
                }
            };
            if case.resumed && !overture_ok {
                // Without Overture's figure there is no ratio to take; rustls alone is not
                // this question.
                continue;
            }
            let kind = if case.resumed {
                FloorKind::Resumed
            } else if case.tls12 {
                FloorKind::Tls12
            } else {
                FloorKind::Tls13
            };
            let verifies = match (case.resumed, case.warm) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => 3,
            };
            let mut floor = match Floor::new(&s.pki, kind, verifies, &transcript) {
                Ok(f) => f,
                Err(e) => {
                    suite.not_run(case.name, "floor", &e);
                    continue;
                }
            };
            let resumed = case.resumed;
            if case.mlkem {
                if !overture_ok {
                    continue;
                }
                let mlkem_floor = match MlkemFloor::new() {
                    Ok(f) => f,
                    Err(e) => {
                        suite.not_run(case.name, "floor", &e);
                        continue;
                    }
                };
                // rustls's X25519MLKEM768 exists only with its aws-lc-rs provider (ring has no
                // ML-KEM): that client is the anchor here, with aws-lc doing all of its crypto
                // (ECDSA and HKDF too), so its ratio compares two stacks, not two codes over
                // one library as in the other cases.
                let rustls_pq = match rustls_aws_lc_client_config(&s.pki) {
                    Ok(c) => c,
                    Err(e) => {
                        suite.not_run(case.name, "rustls-aws-lc-rs", &e);
                        continue;
                    }
                };
                let mut rl = || {
                    let (mut c, t0) =
                        RustlsConn::new(&rustls_pq, &s.server).expect("rustls handshake");
                    let t1 = c.handshake().expect("rustls handshake");
                    assert_eq!(
                        c.client.negotiated_key_exchange_group().map(|g| g.name()),
                        Some(rustls::NamedGroup::X25519MLKEM768),
                        "rustls-aws-lc-rs: X25519MLKEM768 expected"
                    );
                    t0 + t1
                };
                let mut ov = || {
                    let (t, c) = overture_once(&s, false).expect("overture handshake");
                    assert_eq!(
                        c.ssl.negotiated().and_then(|n| n.group()),
                        Some(overture::types::NamedGroup::X25519MLKEM768),
                        "overture: X25519MLKEM768 expected"
                    );
                    t
                };
                let mut fl = || floor.run() + mlkem_floor.run();
                suite.time_charged(
                    case.name,
                    &mut [
                        ("overture", &mut ov),
                        ("rustls-aws-lc-rs", &mut rl),
                        ("floor", &mut fl),
                    ],
                );
                continue;
            }
            // rustls's first connection (a full one: it brings the tickets a resumed case uses).
            if let Err(e) = rustls_once(&s, resumed) {
                suite.not_run(case.name, "rustls", &e);
                continue;
            }
            // Every measured handshake is checked to be of the kind the case names (outside
            // the charged time).
            let mut ov = || {
                let (t, c) = overture_once(&s, resumed).expect("overture handshake");
                assert_eq!(
                    c.ssl.negotiated().is_some_and(|n| n.resumed()),
                    resumed,
                    "overture: resumed handshake expected: {resumed}"
                );
                t
            };
            let mut rl = || {
                let (t, c) = rustls_once(&s, resumed).expect("rustls handshake");
                assert_eq!(
                    c.client.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
                    resumed,
                    "rustls: resumed handshake expected: {resumed}"
                );
                t
            };
            let mut fl = || floor.run();
            if overture_ok {
                suite.time_charged(
                    case.name,
                    &mut [
                        ("overture", &mut ov),
                        ("rustls", &mut rl),
                        ("floor", &mut fl),
                    ],
                );
            } else {
                suite.time_charged(case.name, &mut [("rustls", &mut rl), ("floor", &mut fl)]);
            }
        }
        if suite.wants(ZERO_RTT) {
            zero_rtt(&mut suite);
        }
        if suite.wants("instr-tls13-full-ecdsa") {
            instructions(&mut suite, CASES[0].name, &["overture", "rustls", "floor"]);
        }
        // The other cases against their floors, instruction by instruction: where a time
        // ratio comes from instructions and where from the cache and branch behaviour.
        for case in [
            "tls13-full-ecdsa-mlkem",
            "tls13-full-rsa",
            "tls13-resumed",
            "tls12-full-ecdsa",
        ] {
            if suite.wants(&format!("instr-{case}")) {
                instructions(&mut suite, case, &["overture", "floor"]);
            }
        }
        if suite.wants("allocs-tls13-full-ecdsa") {
            allocations(&mut suite);
        }
        suite.finish();
    }

    // ---- 0-RTT: time to the first byte of early data ---------------------------------------

    const ZERO_RTT: &str = "tls13-resumed-0rtt";
    /// The early data: a small idempotent request.
    const EARLY: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";

    /// The server of `tls13-resumed` (stateless tickets, X25519, AES-128-GCM) allowing 16 KiB
    /// of early data; the clients with early data on.
    fn zero_rtt_setup() -> Result<(Setup, Arc<rustls::ClientConfig>), String> {
        let mut s = setup(&CASES[3])?;
        // rustls allows 0-RTT only with stateful resumption (RFC 8446 §8.1): its default
        // (no ticketer) with a session cache that single-use tickets are taken from, one
        // ticket per connection (the client resumes with the newest: evicting the oldest
        // never costs a resumption).
        let mut server = (*overture_tests::rustls_server_config(
            &s.pki,
            &[&rustls::version::TLS13],
            &[rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
            &[rustls::crypto::ring::kx_group::X25519],
        ))
        .clone();
        server.max_early_data_size = 16384;
        server.session_storage = rustls::server::ServerSessionMemoryCache::new(1 << 16);
        server.send_tls13_tickets = 1;
        s.server = Arc::new(server);
        let mut rustls = (*s.rustls).clone();
        rustls.enable_early_data = true;
        s.overture = overture::ClientConfig::builder()
            .with_groups(&overture_benches::inmem::RUSTLS_RING_GROUPS)
            .map_err(|e| e.to_string())?
            .with_ca_file(&s.pki.ca_pem)
            .map_err(|e| e.to_string())?
            .with_protocol_versions(&[overture::types::ProtocolVersion::TLSv1_3])
            .with_signature_cache(0)
            .with_early_data(true)
            .build()
            .map_err(|e| format!("overture config: {e}"))?;
        Ok((s, Arc::new(rustls)))
    }

    /// The early data the server read (not charged).
    fn server_early(server: &mut rustls::ServerConnection) -> Vec<u8> {
        use std::io::Read as _;
        let mut got = Vec::new();
        if let Some(mut early) = server.early_data() {
            let _ = early.read_to_end(&mut got);
        }
        got
    }

    /// One Overture 0-RTT connection: the charged time to the early data in the BIO, then
    /// (not charged) the handshake, the checks and the tickets for the next one.
    fn overture_0rtt(s: &Setup) -> Result<Duration, String> {
        let (mut c, t0) = OvertureConn::new(&s.overture, &s.server)?;
        let t = std::time::Instant::now();
        let n = overture_benches::inmem::client_call(|| c.ssl.write_early_data(EARLY));
        let t1 = t.elapsed();
        if n.map_err(|e| format!("overture write_early_data: {e}"))? != EARLY.len() {
            return Err("overture: the early data did not fit".into());
        }
        c.to_server()?;
        let early = server_early(&mut c.server);
        c.handshake()?;
        if !c.ssl.negotiated().is_some_and(|n| n.resumed()) || !c.ssl.early_data_accepted() {
            return Err("overture: not resumed with early data accepted".into());
        }
        let mut early = early;
        early.extend(server_early(&mut c.server));
        if early != EARLY {
            return Err(format!(
                "the server read {} bytes of early data",
                early.len()
            ));
        }
        c.absorb()?;
        Ok(t0 + t1)
    }

    /// One rustls 0-RTT connection, charged and checked the same way.
    fn rustls_0rtt(s: &Setup, config: &Arc<rustls::ClientConfig>) -> Result<Duration, String> {
        use std::io::Write as _;
        let (mut c, t0) = RustlsConn::new(config, &s.server)?;
        let t = std::time::Instant::now();
        let wrote = overture_benches::inmem::client_call(|| {
            c.client
                .early_data()
                .map(|mut e| e.write_all(EARLY).is_ok())
        });
        let t1 = t.elapsed();
        if wrote != Some(true) {
            return Err("rustls: no early data possible (no ticket allowing it)".into());
        }
        let t2 = c.client_write()?;
        c.server_turn()?;
        let mut early = server_early(&mut c.server);
        c.handshake()?;
        early.extend(server_early(&mut c.server));
        if c.client.handshake_kind() != Some(rustls::HandshakeKind::Resumed)
            || !c.client.is_early_data_accepted()
        {
            return Err("rustls: not resumed with early data accepted".into());
        }
        if early != EARLY {
            return Err(format!(
                "the server read {} bytes of early data",
                early.len()
            ));
        }
        c.absorb()?;
        Ok(t0 + t1 + t2)
    }

    fn zero_rtt(suite: &mut Suite) {
        let (s, rustls) = match zero_rtt_setup() {
            Ok(x) => x,
            Err(e) => {
                suite.not_run(ZERO_RTT, "all", &e);
                return;
            }
        };
        suite.not_run(
            ZERO_RTT,
            "floor",
            "the crypto floor is of whole handshakes, not of the first flight",
        );
        // First connections: full handshakes that bring tickets allowing early data.
        if let Err(e) = overture_once(&s, true).and_then(|_| overture_0rtt(&s)) {
            suite.not_run(ZERO_RTT, "overture", &e);
            return;
        }
        let rustls_first = || -> Result<(), String> {
            let (mut c, _) = RustlsConn::new(&rustls, &s.server)?;
            c.handshake()?;
            c.absorb()
        };
        if let Err(e) = rustls_first().and_then(|()| rustls_0rtt(&s, &rustls)) {
            suite.not_run(ZERO_RTT, "rustls", &e);
            return;
        }
        let mut ov = || overture_0rtt(&s).expect("overture 0-RTT connection");
        let mut rl = || rustls_0rtt(&s, &rustls).expect("rustls 0-RTT connection");
        suite.time_charged(ZERO_RTT, &mut [("overture", &mut ov), ("rustls", &mut rl)]);
    }

    // ---- instructions (callgrind) ---------------------------------------------------------

    /// Handshakes counted per implementation under callgrind.
    const COUNTED: usize = 5;

    /// Instructions per handshake of `case` under callgrind for each of `imps` (the first is
    /// the subject of the ratios): cases `instr-<case>` and `instr-non-crypto-<case>`.
    fn instructions(suite: &mut Suite, case: &str, imps: &[&str]) {
        let all_case = format!("instr-{case}");
        if Command::new("valgrind").arg("--version").output().is_err() {
            suite.not_run(&all_case, "overture", "valgrind is not installed");
            return;
        }
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => {
                suite.not_run(&all_case, "overture", &e.to_string());
                return;
            }
        };
        let mut totals = Vec::new();
        for imp in imps {
            // The classical case keeps its historical file names.
            let tag = if case == CASES[0].name {
                (*imp).to_string()
            } else {
                format!("{imp}.{case}")
            };
            let out = bench_dir().join(format!("callgrind.{tag}.out"));
            let status = Command::new("valgrind")
                .args([
                    "--tool=callgrind",
                    "--collect-atstart=no",
                    "--toggle-collect=*client_call*",
                    "--zero-before=*callgrind_zero*",
                ])
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&exe)
                .args(["--callgrind-child", imp, &COUNTED.to_string(), case])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
            match status {
                Ok(s) if s.success() => {}
                other => {
                    suite.not_run(
                        &all_case,
                        imp,
                        &format!("valgrind run for {imp} failed: {other:?}"),
                    );
                    return;
                }
            }
            match overture_benches::callgrind::annotate(&out, imp) {
                Ok(t) => totals.push((*imp, t)),
                Err(e) => {
                    suite.not_run(&all_case, imp, &e);
                    return;
                }
            }
        }
        let per = |v: u64| v as f64 / COUNTED as f64;
        let all: Vec<(&str, Vec<f64>)> = totals
            .iter()
            .map(|(i, t)| (*i, vec![per(t.total)]))
            .collect();
        let non: Vec<(&str, Vec<f64>)> = totals
            .iter()
            .map(|(i, t)| (*i, vec![per(t.total - t.crypto)]))
            .collect();
        suite.samples(&all_case, "instructions", "Ir", &all);
        suite.samples(
            &format!("instr-non-crypto-{case}"),
            "instructions",
            "Ir",
            &non,
        );
        for (imp, t) in &totals {
            eprintln!(
                "callgrind {case} {imp}: {} Ir per handshake, {} in the crypto libraries",
                per(t.total),
                per(t.crypto)
            );
        }
    }

    /// Heap blocks allocated per handshake by the client's calls (DHAT): the blocks of every
    /// allocation stack through `client_call`, 2·COUNTED handshakes minus COUNTED.
    fn allocations(suite: &mut Suite) {
        let case = "allocs-tls13-full-ecdsa";
        let exe = match std::env::current_exe() {
            Ok(e) => e,
            Err(e) => {
                suite.not_run(case, "overture", &e.to_string());
                return;
            }
        };
        let mut counts = Vec::new();
        for imp in ["overture", "rustls"] {
            let mut blocks = [0u64; 2];
            for (slot, n) in blocks.iter_mut().zip([COUNTED, 2 * COUNTED]) {
                let out = bench_dir().join(format!("dhat.{imp}.{n}.json"));
                let status = Command::new("valgrind")
                    .args(["--tool=dhat", "--num-callers=200"])
                    .arg(format!("--dhat-out-file={}", out.display()))
                    .arg(&exe)
                    .args(["--callgrind-child", imp, &n.to_string()])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
                if !matches!(status, Ok(s) if s.success()) {
                    suite.not_run(case, imp, &format!("valgrind --tool=dhat: {status:?}"));
                    return;
                }
                match client_blocks(&out) {
                    Ok(b) => *slot = b,
                    Err(e) => {
                        suite.not_run(case, imp, &e);
                        return;
                    }
                }
            }
            let per = blocks[1].saturating_sub(blocks[0]) as f64 / COUNTED as f64;
            eprintln!("dhat {imp}: {per} heap blocks allocated per handshake");
            counts.push((imp, vec![per]));
        }
        suite.samples(case, "allocations", "calls", &counts);
    }

    /// The heap blocks a DHAT profile counts at the allocation stacks that pass through
    /// `client_call`.
    fn client_blocks(path: &std::path::Path) -> Result<u64, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let frames = v["ftbl"].as_array().ok_or("DHAT output without ftbl")?;
        let client: Vec<bool> = frames
            .iter()
            .map(|f| f.as_str().is_some_and(|f| f.contains("client_call")))
            .collect();
        let mut total = 0;
        for pp in v["pps"].as_array().ok_or("DHAT output without pps")? {
            let through_client = pp["fs"].as_array().is_some_and(|fs| {
                fs.iter().any(|i| {
                    i.as_u64()
                        .and_then(|i| usize::try_from(i).ok())
                        .and_then(|i| client.get(i))
                        .copied()
                        .unwrap_or(false)
                })
            });
            if through_client {
                total += pp["tbk"].as_u64().unwrap_or(0);
            }
        }
        Ok(total)
    }

    /// Runs under callgrind (or DHAT): one warm-up handshake of `case` (not counted: the
    /// counters are zeroed after it), then `n` counted ones; only the client's calls are
    /// counted. `imp` `floor` runs the case's crypto floor instead.
    fn callgrind_child(imp: &str, n: usize, case: &str) -> Result<(), String> {
        let case = CASES
            .iter()
            .find(|c| c.name == case)
            .ok_or_else(|| format!("unknown case {case}"))?;
        let s = setup(case)?;
        let mut floor = None;
        if imp == "floor" {
            let transcript = overture_preflight(case, &s)?;
            let verifies = match (case.resumed, case.warm) {
                (true, _) => 0,
                (false, true) => 1,
                (false, false) => 3,
            };
            let kind = if case.resumed {
                FloorKind::Resumed
            } else if case.tls12 {
                FloorKind::Tls12
            } else {
                FloorKind::Tls13
            };
            let f = Floor::new(&s.pki, kind, verifies, &transcript)?;
            let kem = if case.mlkem {
                Some(MlkemFloor::new()?)
            } else {
                None
            };
            floor = Some((f, kem));
        }
        // A resumed case takes the server's tickets after each handshake (not counted:
        // `absorb` reads outside `client_call`), so the next one resumes.
        let resumed = case.resumed;
        let mut once = |s: &Setup| match (imp, floor.as_mut()) {
            ("overture", _) => overture_once(s, resumed).map(|_| ()),
            ("rustls", _) => rustls_once(s, resumed).map(|_| ()),
            ("floor", Some((f, kem))) => {
                overture_benches::inmem::client_call(|| {
                    f.run();
                    if let Some(k) = kem {
                        k.run();
                    }
                });
                Ok(())
            }
            (other, _) => Err(format!("unknown implementation {other}")),
        };
        once(&s)?;
        callgrind_zero();
        for _ in 0..n {
            once(&s)?;
        }
        Ok(())
    }
}

//! `cargo xtask bench memory`: heap bytes an Overture client holds, beside a rustls
//! `ClientConnection`, both against the same in-memory rustls server (TLS 1.3, ECDSA P-256
//! chain, AES-128-GCM, X25519, no tickets; both offer rustls's ring groups).
//!
//! A counting global allocator (`cap`, no `unsafe` here) sees every allocation of the
//! process; only the **client's** calls are metered: before each, a pad raises the current
//! total to the process's maximum so far, so any byte the call allocates above its start shows
//! as a new maximum (its peak); the pad is released after. The client's held bytes are the
//! sum of what its calls left allocated. The transport (the BIO pair's buffers, rustls's byte
//! vectors) is made outside the metered calls, like a socket: the pair's buffers, which grow
//! lazily, are grown to their capacity first (until 2026-12 they grew inside the metered
//! calls, which charged the client ~1.4 KB of transport after the handshake and the 16 KiB
//! record's room in the pair).
//!
//! Cases: `mem-held-after-new`, `mem-peak-handshake`, `mem-held-after-handshake`,
//! `mem-peak-16k` (16 KiB written and 16 KiB read after the handshake); each repetition is a
//! fresh connection, ratios are per repetition.

#[cfg(feature = "memory")]
#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

#[cfg(feature = "memory")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "memory"))]
fn main() {
    overture_benches::needs_feature("memory");
}

#[cfg(feature = "memory")]
mod bench {
    use super::ALLOC;
    use overture::bio::{Bio as _, BioPair, BioPairEnd, Transfer};
    use overture::{ErrorKind, Ssl};
    use overture_benches::Suite;
    use overture_benches::inmem::{
        KeyKind, OvertureConn, PAIR_CAPACITY, Pki, RustlsConn, rustls_client_config, server_config,
    };
    use rustls::{ClientConnection, ServerConnection};
    use std::io::{Read as _, Write as _};
    use std::sync::Arc;

    const SIZE: usize = 16 * 1024;

    /// The client's heap as seen through its own calls.
    #[derive(Default)]
    struct Meter {
        held: isize,
        peak: isize,
    }

    impl Meter {
        /// Runs one client call, metered.
        fn step<T>(&mut self, f: impl FnOnce() -> T) -> T {
            let start = ALLOC.allocated();
            let max = ALLOC.max_allocated();
            let pad: Vec<u8> = Vec::with_capacity(max.saturating_sub(start));
            let base = ALLOC.allocated();
            let base_max = ALLOC.max_allocated();
            let r = f();
            let rise = ALLOC.max_allocated().saturating_sub(base_max.max(base));
            let end = ALLOC.allocated();
            drop(pad);
            let rise = isize::try_from(rise).unwrap_or(isize::MAX);
            let left = isize::try_from(end).unwrap_or(0) - isize::try_from(base).unwrap_or(0);
            self.peak = self.peak.max(self.held + rise);
            self.held += left;
            self.peak = self.peak.max(self.held);
            r
        }

        /// Starts a new peak window at the bytes held now.
        fn new_window(&mut self) {
            self.peak = self.held;
        }
    }

    /// One connection's figures: held after new, peak in the handshake, held after it, peak
    /// with 16 KiB each way.
    type Figures = [f64; 4];

    fn overture_once(
        config: &overture::ClientConfig,
        server: &Arc<rustls::ServerConfig>,
    ) -> Result<Figures, String> {
        let data = vec![0x61u8; SIZE];
        let (mut near, mut far) = BioPair::new(PAIR_CAPACITY).map_err(|e| e.to_string())?;
        // The pair's buffers grow lazily on their first writes: grow them to their capacity
        // here, outside the metered calls, as rustls's byte vectors are made with theirs.
        grow(&mut near, &mut far)?;
        grow(&mut far, &mut near)?;
        let server = ServerConnection::new(server.clone()).map_err(|e| e.to_string())?;
        let mut m = Meter::default();
        let ssl = m
            .step(|| {
                Ssl::new(config, "localhost").map(|mut s| {
                    s.set_bio(Box::new(near));
                    s
                })
            })
            .map_err(|e| e.to_string())?;
        let after_new = m.held;
        m.new_window();
        let mut c = OvertureConn::from_parts(ssl, far, server);
        let mut done = false;
        for _ in 0..64 {
            match m.step(|| c.ssl.connect().map(|_| ())) {
                Ok(()) => {
                    done = true;
                    break;
                }
                Err(e) if e.kind().is_retry() => {}
                Err(e) => return Err(format!("overture handshake: {e}")),
            }
            c.to_server()?;
            c.to_client()?;
        }
        if !done {
            return Err("overture handshake did not finish".into());
        }
        c.to_server()?;
        let peak_hs = m.peak;
        let held_hs = m.held;
        m.new_window();
        m.step(|| c.ssl.write(&data)).map_err(|e| e.to_string())?;
        c.to_server()?;
        c.server_drain()?;
        c.server
            .writer()
            .write_all(&data)
            .map_err(|e| e.to_string())?;
        c.to_client()?;
        let mut out = vec![0u8; SIZE];
        let mut got = 0;
        while got < SIZE {
            match m.step(|| c.ssl.read(&mut out[got..])) {
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WantRead => c.to_client()?,
                Err(e) => return Err(format!("overture read: {e}")),
            }
        }
        Ok([
            after_new as f64,
            peak_hs as f64,
            held_hs as f64,
            m.peak as f64,
        ])
    }

    /// Writes a full pair direction and reads it back (not metered): its buffer is then
    /// allocated to the capacity, like the transport of the rustls client.
    fn grow(from: &mut BioPairEnd, to: &mut BioPairEnd) -> Result<(), String> {
        let fill = vec![0u8; PAIR_CAPACITY];
        let mut sink = vec![0u8; PAIR_CAPACITY];
        let wrote = from.write(&fill).map_err(|e| e.to_string())?;
        let read = to.read(&mut sink).map_err(|e| e.to_string())?;
        match (wrote, read) {
            (Transfer::Bytes(w), Transfer::Bytes(r)) if w == PAIR_CAPACITY && r == w => Ok(()),
            other => Err(format!("growing the pair: {other:?}")),
        }
    }

    fn rustls_once(
        config: &Arc<rustls::ClientConfig>,
        server: &Arc<rustls::ServerConfig>,
    ) -> Result<Figures, String> {
        let data = vec![0x61u8; SIZE];
        let server = ServerConnection::new(server.clone()).map_err(|e| e.to_string())?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut m = Meter::default();
        let client = m
            .step(|| ClientConnection::new(config.clone(), name))
            .map_err(|e| e.to_string())?;
        let after_new = m.held;
        m.new_window();
        let mut c = RustlsConn::from_parts(client, server);
        let mut done = false;
        for _ in 0..64 {
            m.step(|| c.client_write())?;
            c.server_turn()?;
            if !c.client.is_handshaking() {
                done = true;
                break;
            }
            m.step(|| c.client_read())?;
        }
        if !done {
            return Err("rustls handshake did not finish".into());
        }
        let peak_hs = m.peak;
        let held_hs = m.held;
        m.new_window();
        m.step(|| {
            c.client.writer().write_all(&data)?;
            c.client_write().map_err(std::io::Error::other)
        })
        .map_err(|e| e.to_string())?;
        c.server_turn()?;
        let mut sink = vec![0u8; 64 * 1024];
        c.server_drain(&mut sink)?;
        c.server
            .writer()
            .write_all(&data)
            .map_err(|e| e.to_string())?;
        c.server_turn()?;
        let mut out = vec![0u8; SIZE];
        m.step(|| {
            c.client_read().map_err(std::io::Error::other)?;
            c.client.reader().read_exact(&mut out)
        })
        .map_err(|e| e.to_string())?;
        Ok([
            after_new as f64,
            peak_hs as f64,
            held_hs as f64,
            m.peak as f64,
        ])
    }

    pub(crate) fn run() {
        let mut suite = Suite::from_args("memory");
        let pki = Pki::new(KeyKind::EcdsaP256);
        let server = server_config(
            &pki,
            &[&rustls::version::TLS13],
            rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256,
            false,
        );
        let setup = || -> Result<_, String> {
            // The groups rustls's ring provider offers (`RUSTLS_RING_GROUPS`): until 2026-12-04
            // Overture offered its default here, an X25519MLKEM768 share beside the x25519 one,
            // and the ML-KEM key it generated for a server that never uses it was charged to
            // its handshake peak.
            let ov = overture::ClientConfig::builder()
                .with_groups(&overture_benches::inmem::RUSTLS_RING_GROUPS)
                .map_err(|e| e.to_string())?
                .with_ca_file(&pki.ca_pem)
                .map_err(|e| e.to_string())?
                .build()
                .map_err(|e| e.to_string())?;
            let rl = rustls_client_config(&pki, &[&rustls::version::TLS13])?;
            Ok((ov, rl))
        };
        let (ov_config, rl_config) = match setup() {
            Ok(c) => c,
            Err(e) => {
                suite.not_run("mem-held-after-handshake", "all", &e);
                suite.finish();
                return;
            }
        };
        // Warm-up: one-time initialisation (lazy statics, CPU feature detection) is not a
        // connection's.
        let warm = overture_once(&ov_config, &server).and(rustls_once(&rl_config, &server));
        if let Err(e) = warm {
            suite.not_run("mem-held-after-handshake", "all", &e);
            suite.finish();
            return;
        }
        let mut ov: Vec<Figures> = Vec::new();
        let mut rl: Vec<Figures> = Vec::new();
        for rep in 0..suite.reps() {
            let (a, b) = if rep % 2 == 0 {
                let a = overture_once(&ov_config, &server);
                (a, rustls_once(&rl_config, &server))
            } else {
                let b = rustls_once(&rl_config, &server);
                (overture_once(&ov_config, &server), b)
            };
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    ov.push(a);
                    rl.push(b);
                }
                (Err(e), _) | (_, Err(e)) => {
                    suite.not_run("mem-held-after-handshake", "all", &e);
                    suite.finish();
                    return;
                }
            }
        }
        let names = [
            "mem-held-after-new",
            "mem-peak-handshake",
            "mem-held-after-handshake",
            "mem-peak-16k",
        ];
        for (i, case) in names.iter().enumerate() {
            let col = |v: &[Figures]| v.iter().map(|f| f[i]).collect::<Vec<f64>>();
            suite.samples(
                case,
                "heap",
                "bytes",
                &[("overture", col(&ov)), ("rustls", col(&rl))],
            );
        }
        suite.finish();
    }
}

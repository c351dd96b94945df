//! `cargo xtask bench tcp`: sequential TLS 1.3 connects per second over loopback against
//! `openssl s_server` (pinned to another core than this process where there are two):
//! Overture beside the rustls client and `openssl s_time -new`.
//!
//! Each connect: TCP connect, full handshake (ECDSA P-256 chain verified, X25519,
//! TLS_AES_128_GCM_SHA256) with the client's Finished sent, close without close_notify (what
//! `s_time -new` does). Each
//! implementation runs for the same time per repetition, interleaved; `s_time` runs as a
//! child of this (pinned) process, its connects divided by the wall time it ran.

#[cfg(feature = "tcp")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "tcp"))]
fn main() {
    overture_benches::needs_feature("tcp");
}

#[cfg(feature = "tcp")]
mod bench {
    use overture::Ssl;
    use overture::bio::SocketBio;
    use overture_benches::Suite;
    use overture_tests::{KeyKind, Pki};
    use std::io::{BufRead, BufReader};
    use std::net::{SocketAddr, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    const CASE: &str = "tcp-connects";

    struct Server(Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// `openssl s_server` on core 0 (this process runs on the last core).
    fn s_server(pki: &Pki) -> Result<(Server, SocketAddr), String> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut cmd = if cpus > 1 && Command::new("taskset").arg("-V").output().is_ok() {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", "openssl"]);
            c
        } else {
            Command::new("openssl")
        };
        let mut child = cmd
            .arg("s_server")
            .args(["-accept", "127.0.0.1:0", "-tls1_3", "-groups", "X25519"])
            .args(["-ciphersuites", "TLS_AES_128_GCM_SHA256"])
            .arg("-cert")
            .arg(&pki.leaf_pem)
            .arg("-cert_chain")
            .arg(&pki.intermediate_pem)
            .arg("-key")
            .arg(&pki.key_pem)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("openssl s_server: {e}"))?;
        let stdout = child.stdout.take().ok_or("s_server stdout")?;
        let server = Server(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let _ = tx.send(addr.to_string());
                    break;
                }
            }
            for _ in lines {}
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "openssl s_server did not report its port")?;
        let addr: SocketAddr = addr.parse().map_err(|e| format!("s_server address: {e}"))?;
        Ok((server, addr))
    }

    fn overture_connect(config: &overture::ClientConfig, addr: SocketAddr) -> Result<(), String> {
        let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let mut ssl = Ssl::new(config, "localhost").map_err(|e| e.to_string())?;
        ssl.set_socket(SocketBio::new(tcp))
            .map_err(|e| e.to_string())?;
        ssl.connect().map_err(|e| format!("overture: {e}"))?;
        // The client's Finished goes out now (Overture may hold a final flight for the first
        // write), so the server completes every handshake, as with the other two clients.
        ssl.flush().map_err(|e| format!("overture flush: {e}"))?;
        Ok(())
    }

    fn rustls_connect(config: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> Result<(), String> {
        let mut tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut conn =
            rustls::ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)
                .map_err(|e| format!("rustls: {e}"))?;
        }
        while conn.wants_write() {
            conn.write_tls(&mut tcp).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Connects for `window`; returns connects per second.
    fn rate(window: Duration, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
        let t = Instant::now();
        let mut n = 0u32;
        while t.elapsed() < window {
            f()?;
            n += 1;
        }
        Ok(f64::from(n) / t.elapsed().as_secs_f64())
    }

    fn s_time(pki: &Pki, addr: SocketAddr, secs: u64) -> Result<f64, String> {
        let t = Instant::now();
        let out = Command::new("openssl")
            .args(["s_time", "-new", "-connect"])
            .arg(addr.to_string())
            .args(["-time", &secs.to_string()])
            .arg("-CAfile")
            .arg(&pki.ca_pem)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("openssl s_time: {e}"))?;
        let wall = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        // "N connections in X.XXs; …" (the user-time line) — take N.
        let n = text
            .lines()
            .find_map(|l| {
                let (n, rest) = l.trim().split_once(' ')?;
                rest.starts_with("connections in")
                    .then(|| n.parse::<f64>().ok())?
            })
            .ok_or_else(|| format!("s_time printed no count: {text}"))?;
        Ok(n / wall)
    }

    pub(crate) fn run() {
        let mut suite = Suite::from_args("tcp");
        if !suite.wants(CASE) {
            suite.finish();
            return;
        }
        let result = (|| -> Result<Vec<(&'static str, Vec<f64>)>, String> {
            let pki = Pki::new(KeyKind::EcdsaP256);
            let (_server, addr) = s_server(&pki)?;
            // The groups rustls's ring provider offers, as in the handshake bench's classical
            // cases (`RUSTLS_RING_GROUPS`).
            let ov = overture::ClientConfig::builder()
                .with_groups(&overture_benches::inmem::RUSTLS_RING_GROUPS)
                .map_err(|e| e.to_string())?
                .with_ca_file(&pki.ca_pem)
                .map_err(|e| e.to_string())?
                .build()
                .map_err(|e| e.to_string())?;
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).map_err(|e| e.to_string())?;
            let rl = Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth(),
            );
            // A connect each first: a failure stops here with its reason.
            overture_connect(&ov, addr)?;
            rustls_connect(&rl, addr)?;
            let secs: u64 = if suite.quick() { 1 } else { 3 };
            let window = Duration::from_secs(secs);
            let mut v: [Vec<f64>; 3] = Default::default();
            for rep in 0..suite.reps() {
                for k in 0..3 {
                    let i = (k + rep) % 3;
                    let r = match i {
                        0 => rate(window, || overture_connect(&ov, addr))?,
                        1 => rate(window, || rustls_connect(&rl, addr))?,
                        _ => s_time(&pki, addr, secs)?,
                    };
                    v[i].push(r);
                }
            }
            let [a, b, c] = v;
            Ok(vec![("overture", a), ("rustls", b), ("openssl", c)])
        })();
        match result {
            Ok(rows) => suite.samples(CASE, "rate", "connects/s", &rows),
            Err(e) => suite.not_run(CASE, "all", &e),
        }
        suite.finish();
    }
}

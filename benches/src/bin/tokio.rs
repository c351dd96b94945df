//! `cargo xtask bench tokio`: the async adapter on a current-thread tokio runtime, Overture
//! (`overture-tokio`) beside tokio-rustls, interleaved, over loopback TCP (TCP_NODELAY both
//! ends) against an in-process tokio-rustls echo server on its own thread (TLS 1.3, X25519,
//! ECDSA P-256 chain verified, TLS_AES_128_GCM_SHA256 by both clients' preference).
//!
//! - `tokio-echo-16k`: on one connection, 256 KiB echoed per operation in 16 KiB writes while
//!   the echo is read concurrently (`tokio::io::split`); MiB/s of payload sent.
//! - `tokio-connects`: TCP connect, full handshake, our last flight flushed, drop (no
//!   close_notify); connects per second.
//!
//! The whole process, the server's thread included, is pinned to one core (the harness pins
//! every thread of the process): the server's work is in both figures alike, so ratios are
//! diluted toward 1 rather than flattered.

#[cfg(feature = "tokio")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "tokio"))]
fn main() {
    overture_benches::needs_feature("tokio");
}

#[cfg(feature = "tokio")]
mod bench {
    use overture_benches::Suite;
    use overture_tests::{KeyKind, Pki};
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::runtime::Runtime;

    const ECHO: &str = "tokio-echo-16k";
    const CONNECTS: &str = "tokio-connects";
    const WRITE: usize = 16 * 1024;
    const PER_OP: usize = 16 * WRITE;

    type R<T> = Result<T, String>;

    fn s(e: impl std::fmt::Display) -> String {
        e.to_string()
    }

    /// The two clients, each with the same roots and TLS 1.3 only.
    struct Clients {
        overture: overture_tokio::TlsConnector,
        rustls: tokio_rustls::TlsConnector,
    }

    impl Clients {
        fn new(pki: &Pki) -> R<Self> {
            let ov = overture::ClientConfig::builder()
                .with_ca_file(&pki.ca_pem)
                .map_err(s)?
                .with_protocol_versions(&[overture::types::ProtocolVersion::TLSv1_3])
                // Full handshakes only: connects/s measures the handshake, not resumption.
                .with_session_store(None)
                .build()
                .map_err(s)?;
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca_der.clone()).map_err(s)?;
            let mut rl = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(s)?
            .with_root_certificates(roots)
            .with_no_client_auth();
            rl.resumption = rustls::client::Resumption::disabled();
            Ok(Self {
                overture: ov.into(),
                rustls: Arc::new(rl).into(),
            })
        }
    }

    /// A tokio-rustls echo server on its own thread and current-thread runtime (TCP_NODELAY,
    /// so no Nagle/delayed-ACK stall enters either client's figure). Lives as long as the
    /// process.
    fn echo_server(config: Arc<rustls::ServerConfig>) -> R<SocketAddr> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(s)?;
        listener.set_nonblocking(true).map_err(s)?;
        let addr = listener.local_addr().map_err(s)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(s)?;
        std::thread::spawn(move || {
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                while let Ok((tcp, _)) = listener.accept().await {
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let (mut r, mut w) = tokio::io::split(tls);
                        let _ = tokio::io::copy(&mut r, &mut w).await;
                    });
                }
            });
        });
        Ok(addr)
    }

    async fn tcp(addr: SocketAddr) -> R<TcpStream> {
        let t = TcpStream::connect(addr).await.map_err(s)?;
        t.set_nodelay(true).map_err(s)?;
        Ok(t)
    }

    async fn overture_connect(
        c: &overture_tokio::TlsConnector,
        addr: SocketAddr,
    ) -> R<overture_tokio::TlsStream<TcpStream>> {
        c.connect("localhost", tcp(addr).await?)
            .await
            .map_err(|e| format!("overture: {e}"))
    }

    async fn rustls_connect(
        c: &tokio_rustls::TlsConnector,
        addr: SocketAddr,
    ) -> R<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = rustls::pki_types::ServerName::try_from("localhost").map_err(s)?;
        c.connect(name, tcp(addr).await?)
            .await
            .map_err(|e| format!("tokio-rustls: {e}"))
    }

    /// Echoes `PER_OP` bytes in `WRITE`-byte writes, reading concurrently; checks the echo.
    async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
        stream: &mut S,
        data: &[u8],
        back: &mut [u8],
    ) -> R<()> {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let writer = async {
            for chunk in data.chunks(WRITE) {
                wr.write_all(chunk).await?;
            }
            wr.flush().await
        };
        let reader = rd.read_exact(back);
        let (w, r) = tokio::join!(writer, reader);
        w.map_err(s)?;
        r.map_err(s)?;
        if back != data {
            return Err("the echo differs".into());
        }
        Ok(())
    }

    /// MiB/s of payload echoed during `window`.
    async fn echo_rate<S: AsyncRead + AsyncWrite + Unpin>(
        stream: &mut S,
        window: Duration,
    ) -> R<f64> {
        let data: Vec<u8> = (0..PER_OP).map(|i| (i % 251) as u8).collect();
        let mut back = vec![0u8; PER_OP];
        let t = Instant::now();
        let mut bytes = 0usize;
        while t.elapsed() < window {
            echo(stream, &data, &mut back).await?;
            bytes += PER_OP;
        }
        Ok(bytes as f64 / t.elapsed().as_secs_f64() / (1024.0 * 1024.0))
    }

    /// Connects per second during `window`.
    async fn connect_rate<F, Fut, T>(window: Duration, mut f: F) -> R<f64>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = R<T>>,
    {
        let t = Instant::now();
        let mut n = 0u32;
        while t.elapsed() < window {
            drop(f().await?);
            n += 1;
        }
        Ok(f64::from(n) / t.elapsed().as_secs_f64())
    }

    fn measure(suite: &Suite, rt: &Runtime, addr: SocketAddr, clients: &Clients) -> R<Rows> {
        let window = if suite.quick() {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(1)
        };
        rt.block_on(async {
            let mut ov = overture_connect(&clients.overture, addr).await?;
            let mut rl = rustls_connect(&clients.rustls, addr).await?;
            let (mut echo_v, mut conn_v): ([Vec<f64>; 2], [Vec<f64>; 2]) = Default::default();
            for rep in 0..suite.reps() {
                for k in 0..2 {
                    let i = (k + rep) % 2;
                    if suite.wants(ECHO) {
                        echo_v[i].push(match i {
                            0 => echo_rate(&mut ov, window).await?,
                            _ => echo_rate(&mut rl, window).await?,
                        });
                    }
                    if suite.wants(CONNECTS) {
                        conn_v[i].push(match i {
                            0 => {
                                connect_rate(window, || overture_connect(&clients.overture, addr))
                                    .await?
                            }
                            _ => {
                                connect_rate(window, || rustls_connect(&clients.rustls, addr))
                                    .await?
                            }
                        });
                    }
                }
            }
            Ok((echo_v, conn_v))
        })
    }

    type Rows = ([Vec<f64>; 2], [Vec<f64>; 2]);

    pub(crate) fn run() {
        let mut suite = Suite::from_args("tokio");
        let result = (|| -> R<Rows> {
            let pki = Pki::new(KeyKind::EcdsaP256);
            let addr = echo_server(overture_tests::rustls_server_config(
                &pki,
                &[&rustls::version::TLS13],
                &[],
                &[],
            ))?;
            let clients = Clients::new(&pki)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(s)?;
            measure(&suite, &rt, addr, &clients)
        })();
        match result {
            Ok(([e_ov, e_rl], [c_ov, c_rl])) => {
                if !e_ov.is_empty() {
                    suite.samples(
                        ECHO,
                        "throughput",
                        "MiB/s",
                        &[("overture", e_ov), ("tokio-rustls", e_rl)],
                    );
                }
                if !c_ov.is_empty() {
                    suite.samples(
                        CONNECTS,
                        "rate",
                        "connects/s",
                        &[("overture", c_ov), ("tokio-rustls", c_rl)],
                    );
                }
            }
            Err(e) => {
                suite.not_run(ECHO, "all", &e);
                suite.not_run(CONNECTS, "all", &e);
            }
        }
        suite.finish();
    }
}

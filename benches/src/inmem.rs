//! Connections held in memory: an Overture client (over a [`BioPair`]) or a rustls client
//! (over byte buffers) against a rustls server driven in the same thread. Every call into the
//! **client** is timed and returned as the charged time; the server's work and the moving of
//! bytes between the two are not charged (as `rustls-bench` charges a client handshake).

use overture::bio::{Bio, BioPair, BioPairEnd, Transfer};
use overture::{ErrorKind, Ssl};
use rustls::{ClientConnection, ServerConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use overture_tests::{KeyKind, Pki};

/// The key-exchange groups rustls's ring provider offers (it has no ML-KEM), in its order:
/// what Overture offers wherever it is compared with that rustls client, so both build the
/// same key shares. Overture's default adds an X25519MLKEM768 share (a 1,216-byte share and an
/// ML-KEM key generation per connection that a ring-only server never uses).
pub const RUSTLS_RING_GROUPS: [overture::types::NamedGroup; 3] = [
    overture::types::NamedGroup::X25519,
    overture::types::NamedGroup::secp256r1,
    overture::types::NamedGroup::secp384r1,
];

/// Every call into a client goes through here: callgrind counts only inside it
/// (`--toggle-collect=*client_call*`), so its instruction counts are the client's alone.
#[inline(never)]
pub fn client_call<T>(f: impl FnOnce() -> T) -> T {
    std::hint::black_box(f())
}

/// Callgrind zeroes its counters when this is called (`--zero-before=*callgrind_zero*`): the
/// warm-up before it is not counted.
#[inline(never)]
pub fn callgrind_zero() {
    std::hint::black_box(());
}

/// Capacity of each direction of the Overture client's BIO pair (a 16 KiB record and more).
pub const PAIR_CAPACITY: usize = 64 * 1024;

/// The rustls server: `versions`, one `suite`, X25519 only; `tickets` on (stateless tickets)
/// or off (no resumption of any kind, every handshake is full).
pub fn server_config(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suite: rustls::SupportedCipherSuite,
    tickets: bool,
) -> Arc<rustls::ServerConfig> {
    let base = overture_tests::rustls_server_config(
        pki,
        versions,
        &[suite],
        &[rustls::crypto::ring::kx_group::X25519],
    );
    let mut c = (*base).clone();
    if tickets {
        // Stateless tickets: any ticket the client kept is accepted (a stateful cache of 256
        // entries would evict the older ones and turn a resumption into a full handshake).
        if let Ok(t) = rustls::crypto::ring::Ticketer::new() {
            c.ticketer = t;
        }
    } else {
        c.send_tls13_tickets = 0;
        c.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    }
    Arc::new(c)
}

/// The rustls client (ring provider, its defaults) trusting `pki`'s root.
pub fn rustls_client_config(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).map_err(|e| e.to_string())?;
    let c = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions)
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(c))
}

/// The rustls client on its aws-lc-rs provider, offering X25519MLKEM768 then x25519 (one
/// X25519 key for both shares, as Overture's default) with TLS 1.3 only, trusting `pki`'s
/// root: the only rustls client with ML-KEM.
pub fn rustls_aws_lc_client_config(pki: &Pki) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::crypto::aws_lc_rs;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).map_err(|e| e.to_string())?;
    let provider = rustls::crypto::CryptoProvider {
        kx_groups: vec![
            aws_lc_rs::kx_group::X25519MLKEM768,
            aws_lc_rs::kx_group::X25519,
        ],
        ..aws_lc_rs::default_provider()
    };
    let c = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(c))
}

/// An Overture client connected to a rustls server through a BIO pair.
pub struct OvertureConn {
    /// The client.
    pub ssl: Ssl,
    /// The far end of the pair (the "network").
    pub far: BioPairEnd,
    /// The server.
    pub server: ServerConnection,
    /// Server bytes the pair could not take yet.
    carry: Vec<u8>,
    buf: Vec<u8>,
    /// Every byte the client sent and the server sent, when recording.
    pub record: Option<(Vec<u8>, Vec<u8>)>,
}

impl OvertureConn {
    /// A new client and server, not connected; nothing here is charged except `Ssl::new`
    /// and `set_bio` (returned).
    pub fn new(
        config: &overture::ClientConfig,
        server: &Arc<rustls::ServerConfig>,
    ) -> Result<(Self, Duration), String> {
        let (near, far) = BioPair::new(PAIR_CAPACITY).map_err(|e| e.to_string())?;
        let server = ServerConnection::new(server.clone()).map_err(|e| e.to_string())?;
        let t = Instant::now();
        let ssl = client_call(|| {
            Ssl::new(config, "localhost").map(|mut ssl| {
                ssl.set_bio(Box::new(near));
                ssl
            })
        })
        .map_err(|e| e.to_string())?;
        let charged = t.elapsed();
        Ok((Self::from_parts(ssl, far, server), charged))
    }

    /// A connection from parts made by the caller (e.g. to meter the client's allocations).
    pub fn from_parts(ssl: Ssl, far: BioPairEnd, server: ServerConnection) -> Self {
        Self {
            ssl,
            far,
            server,
            carry: Vec::with_capacity(PAIR_CAPACITY),
            buf: vec![0; PAIR_CAPACITY],
            record: None,
        }
    }

    /// Lets the server read every plaintext byte it received (not charged); returns how many.
    pub fn server_drain(&mut self) -> Result<usize, String> {
        drain(&mut self.server, &mut self.buf)
    }

    /// Runs the handshake; returns the time spent in the client's `connect` calls. The server
    /// has processed the client's last flight when this returns.
    pub fn handshake(&mut self) -> Result<Duration, String> {
        let mut charged = Duration::ZERO;
        for _ in 0..64 {
            let t = Instant::now();
            let r = client_call(|| self.ssl.connect());
            charged += t.elapsed();
            match r {
                Ok(_) => {
                    self.to_server()?;
                    self.to_client()?;
                    return Ok(charged);
                }
                Err(e) if e.kind().is_retry() => {
                    self.to_server()?;
                    self.to_client()?;
                }
                Err(e) => return Err(format!("overture handshake: {e}")),
            }
        }
        Err("overture handshake: no progress after 64 rounds".into())
    }

    /// Moves what the client wrote into the server and lets it process it.
    pub fn to_server(&mut self) -> Result<(), String> {
        loop {
            match self.far.read(&mut self.buf).map_err(|e| e.to_string())? {
                Transfer::Bytes(0) | Transfer::WouldBlock | Transfer::Eof => return Ok(()),
                Transfer::Bytes(n) => {
                    let mut data = self.buf.get(..n).unwrap_or_default();
                    if let Some((c2s, _)) = &mut self.record {
                        c2s.extend_from_slice(data);
                    }
                    while !data.is_empty() {
                        self.server.read_tls(&mut data).map_err(|e| e.to_string())?;
                        self.server
                            .process_new_packets()
                            .map_err(|e| format!("rustls server: {e}"))?;
                    }
                }
            }
        }
    }

    /// Moves what the server wrote into the pair (as much as it takes; the rest waits).
    pub fn to_client(&mut self) -> Result<(), String> {
        while self.server.wants_write() {
            self.server
                .write_tls(&mut self.carry)
                .map_err(|e| e.to_string())?;
        }
        let mut off = 0;
        while off < self.carry.len() {
            let rest = self.carry.get(off..).unwrap_or_default();
            match self.far.write(rest).map_err(|e| e.to_string())? {
                Transfer::Bytes(n) if n > 0 => {
                    if let Some((_, s2c)) = &mut self.record {
                        s2c.extend_from_slice(rest.get(..n).unwrap_or_default());
                    }
                    off += n;
                }
                _ => break,
            }
        }
        self.carry.drain(..off);
        Ok(())
    }

    /// Reads exactly `out.len()` bytes of application data; returns the time charged to the
    /// client's `read` calls.
    pub fn read_exact(&mut self, out: &mut [u8]) -> Result<Duration, String> {
        let mut charged = Duration::ZERO;
        let mut got = 0;
        while got < out.len() {
            let t = Instant::now();
            let r = client_call(|| self.ssl.read(out.get_mut(got..).unwrap_or_default()));
            charged += t.elapsed();
            match r {
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::WantRead => {
                    self.to_client()?;
                    if self.far.pending() == 0 && self.carry.is_empty() {
                        return Err("overture read: the server has nothing more to send".into());
                    }
                }
                Err(e) => return Err(format!("overture read: {e}")),
            }
        }
        Ok(charged)
    }

    /// Lets the client take whatever the server sent (e.g. session tickets) without
    /// expecting application data.
    pub fn absorb(&mut self) -> Result<(), String> {
        self.to_client()?;
        let mut one = [0u8; 1];
        match self.ssl.read(&mut one) {
            Ok(_) => Err("overture: unexpected application data".into()),
            Err(e) if e.kind() == ErrorKind::WantRead => Ok(()),
            Err(e) => Err(format!("overture read: {e}")),
        }
    }
}

/// A rustls client connected to a rustls server through byte buffers.
pub struct RustlsConn {
    /// The client.
    pub client: ClientConnection,
    /// The server.
    pub server: ServerConnection,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
}

impl RustlsConn {
    /// A new client and server, not connected; returns the time of `ClientConnection::new`.
    pub fn new(
        config: &Arc<rustls::ClientConfig>,
        server: &Arc<rustls::ServerConfig>,
    ) -> Result<(Self, Duration), String> {
        let server = ServerConnection::new(server.clone()).map_err(|e| e.to_string())?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let t = Instant::now();
        let client = client_call(|| ClientConnection::new(config.clone(), name))
            .map_err(|e| e.to_string())?;
        let charged = t.elapsed();
        Ok((Self::from_parts(client, server), charged))
    }

    /// A connection from parts made by the caller.
    pub fn from_parts(client: ClientConnection, server: ServerConnection) -> Self {
        Self {
            client,
            server,
            c2s: Vec::with_capacity(PAIR_CAPACITY),
            s2c: Vec::with_capacity(PAIR_CAPACITY),
        }
    }

    /// Lets the server read every plaintext byte it received (not charged); returns how many.
    pub fn server_drain(&mut self, buf: &mut [u8]) -> Result<usize, String> {
        drain(&mut self.server, buf)
    }

    /// The client writes what it has (charged).
    pub fn client_write(&mut self) -> Result<Duration, String> {
        let t = Instant::now();
        client_call(|| {
            while self.client.wants_write() {
                self.client.write_tls(&mut self.c2s)?;
            }
            Ok::<(), std::io::Error>(())
        })
        .map_err(|e| e.to_string())?;
        Ok(t.elapsed())
    }

    /// The client reads and processes what the server sent (charged).
    pub fn client_read(&mut self) -> Result<Duration, String> {
        let t = Instant::now();
        client_call(|| {
            let mut data = self.s2c.as_slice();
            while !data.is_empty() {
                self.client.read_tls(&mut data).map_err(|e| e.to_string())?;
                self.client
                    .process_new_packets()
                    .map_err(|e| format!("rustls client: {e}"))?;
            }
            Ok::<(), String>(())
        })?;
        let charged = t.elapsed();
        self.s2c.clear();
        Ok(charged)
    }

    /// The server takes what the client wrote and answers into the buffer (not charged).
    pub fn server_turn(&mut self) -> Result<(), String> {
        let mut data = self.c2s.as_slice();
        while !data.is_empty() {
            self.server.read_tls(&mut data).map_err(|e| e.to_string())?;
            self.server
                .process_new_packets()
                .map_err(|e| format!("rustls server: {e}"))?;
        }
        self.c2s.clear();
        while self.server.wants_write() {
            self.server
                .write_tls(&mut self.s2c)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Runs the handshake; returns the time charged to the client.
    pub fn handshake(&mut self) -> Result<Duration, String> {
        let mut charged = Duration::ZERO;
        for _ in 0..64 {
            charged += self.client_write()?;
            self.server_turn()?;
            if !self.client.is_handshaking() {
                return Ok(charged);
            }
            charged += self.client_read()?;
        }
        Err("rustls handshake: no progress after 64 rounds".into())
    }

    /// Lets the client take whatever the server sent (e.g. session tickets).
    pub fn absorb(&mut self) -> Result<(), String> {
        self.server_turn()?;
        self.client_read()?;
        Ok(())
    }

    /// The client's plaintext writer, the server's, and the buffers, for bulk transfers.
    pub fn parts(&mut self) -> (&mut ClientConnection, &mut ServerConnection) {
        (&mut self.client, &mut self.server)
    }

    /// Bytes the server wrote that the client has not read (for bulk receive).
    pub fn s2c(&mut self) -> &mut Vec<u8> {
        &mut self.s2c
    }

    /// Bytes the client wrote that the server has not read (for bulk send).
    pub fn c2s(&mut self) -> &mut Vec<u8> {
        &mut self.c2s
    }
}

/// Reads every plaintext byte `server` holds.
fn drain(server: &mut ServerConnection, buf: &mut [u8]) -> Result<usize, String> {
    use std::io::Read as _;
    let mut total = 0;
    loop {
        match server.reader().read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(total),
            Err(e) => return Err(format!("rustls server read: {e}")),
        }
    }
}

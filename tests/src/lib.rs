//! Support for the workspace integration tests: certificates made on the fly, and real TLS
//! servers that no one here wrote — `openssl s_server`, `gnutls-serv` and an in-process rustls
//! server — started on 127.0.0.1 with an ephemeral port and stopped on drop.
//!
//! A peer that is not installed makes its tests skip with a message, unless
//! `OVERTURE_REQUIRE_PEERS=1` (CI sets it), where it fails them.

#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::as_conversions
)]

#[cfg(not(any(feature = "ring", feature = "rustcrypto")))]
compile_error!(
    "overture-tests needs a provider feature for `ClientConfig::builder()`: `ring` (default) or `rustcrypto`"
);

pub mod hostile;
pub mod pq_peers;

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The key types the interop matrix covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256,
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384,
    /// RSA-2048 (certificates signed with PKCS#1 v1.5 SHA-256; TLS 1.3 handshakes sign with PSS).
    Rsa2048,
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// Every kind.
    pub const ALL: [KeyKind; 4] = [
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::Rsa2048,
        Self::Ed25519,
    ];

    /// A short name for test output.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Rsa2048 => "rsa-2048",
            Self::Ed25519 => "ed25519",
        }
    }

    fn key_pair(self, index: usize) -> rcgen::KeyPair {
        match self {
            Self::EcdsaP256 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcdsaP384 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Ed25519 => rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519),
            Self::Rsa2048 => {
                let name = ["a", "b", "c"][index % 3];
                let pem = std::fs::read_to_string(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("data")
                        .join(format!("rsa2048-{name}.pk8.pem")),
                )
                .expect("read test RSA key");
                rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
            }
        }
        .expect("generate key")
    }
}

/// The leaf key as PEM that every peer can load. ring writes Ed25519 keys as PKCS#8 v2 (with
/// the public key, RFC 5958), which OpenSSL 3.0 refuses ("unsupported"); the v1 form
/// (RFC 8410 §7: version 0, the 32-byte seed only) is what every peer reads.
fn pkcs8_pem_for_peers(kind: KeyKind, der: &[u8]) -> String {
    let der = match kind {
        KeyKind::Ed25519 => {
            // v2: 30 len 02 01 01 30 05 06 03 2b 65 70 04 22 04 20 <seed 32> [1] <public key>
            assert_eq!(
                &der[2..16],
                &[
                    0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
                    0x20
                ]
            );
            let mut v1 = vec![
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ];
            v1.extend_from_slice(&der[16..48]);
            v1
        }
        _ => der.to_vec(),
    };
    pem_encode("PRIVATE KEY", &der)
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Validity of the generated certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// Valid from yesterday for a year.
    Current,
    /// Expired yesterday.
    Expired,
    /// Valid from tomorrow.
    NotYetValid,
}

/// A CA, an intermediate and a leaf for `localhost` / 127.0.0.1, written as PEM files.
pub struct Pki {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// The root CA certificate (PEM): what a client trusts.
    pub ca_pem: PathBuf,
    /// The leaf then the intermediate (PEM): what a server sends.
    pub chain_pem: PathBuf,
    /// The leaf alone (PEM).
    pub leaf_pem: PathBuf,
    /// The intermediate alone (PEM).
    pub intermediate_pem: PathBuf,
    /// The leaf's private key (PKCS#8 PEM).
    pub key_pem: PathBuf,
    /// The root (DER).
    pub ca_der: CertificateDer<'static>,
    /// Leaf then intermediate (DER).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (DER).
    pub key_der: Vec<u8>,
    /// The key type.
    pub kind: KeyKind,
}

impl Pki {
    /// A fresh PKI of `kind` with current validity, naming `localhost` and 127.0.0.1.
    pub fn new(kind: KeyKind) -> Self {
        Self::build(kind, Validity::Current, &["localhost"])
    }

    /// A PKI whose leaf has the given validity and DNS names.
    pub fn build(kind: KeyKind, validity: Validity, names: &[&str]) -> Self {
        let dir = temp_dir(&format!("pki-{}", kind.name()));
        let now = time_now();
        let day = Duration::from_secs(86_400);

        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name = dn("Overture Test Root CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = now - day * 2;
        ca_params.not_after = now + day * 3650;
        let ca_key = kind.key_pair(0);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

        let mut int_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        int_params.distinguished_name = dn("Overture Test Intermediate CA");
        int_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        int_params.key_usages = ca_issuer_usages();
        // RFC 5280 §4.2.1.1: certificates issued by a CA carry its key identifier (strict
        // verifiers, ours included, require it).
        int_params.use_authority_key_identifier_extension = true;
        int_params.not_before = now - day * 2;
        int_params.not_after = now + day * 1825;
        let int = rcgen::CertifiedIssuer::signed_by(int_params, kind.key_pair(1), &ca).unwrap();

        let mut leaf_params =
            rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        leaf_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
        leaf_params.distinguished_name = dn(names.first().copied().unwrap_or("leaf"));
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        leaf_params.use_authority_key_identifier_extension = true;
        match validity {
            Validity::Current => {
                leaf_params.not_before = now - day;
                leaf_params.not_after = now + day * 365;
            }
            Validity::Expired => {
                leaf_params.not_before = now - day * 30;
                leaf_params.not_after = now - day;
            }
            Validity::NotYetValid => {
                leaf_params.not_before = now + day;
                leaf_params.not_after = now + day * 365;
            }
        }
        let leaf_key = kind.key_pair(2);
        let leaf = leaf_params.signed_by(&leaf_key, &int).unwrap();

        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let ca_pem = write("ca.pem", &ca.pem());
        let leaf_pem = write("leaf.pem", &leaf.pem());
        let intermediate_pem = write("intermediate.pem", &int.pem());
        let chain_pem = write("chain.pem", &format!("{}{}", leaf.pem(), int.pem()));
        let key_pem = write(
            "key.pem",
            &pkcs8_pem_for_peers(kind, &leaf_key.serialize_der()),
        );
        Self {
            ca_der: ca.der().clone(),
            chain: vec![leaf.der().clone(), int.der().clone()],
            key_der: leaf_key.serialize_der(),
            dir,
            ca_pem,
            chain_pem,
            leaf_pem,
            intermediate_pem,
            key_pem,
            kind,
        }
    }

    /// The leaf's private key for rustls.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

fn ca_issuer_usages() -> Vec<rcgen::KeyUsagePurpose> {
    vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ]
}

fn dn(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    dn
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "overture-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether missing peers must fail the tests (`OVERTURE_REQUIRE_PEERS=1`).
pub fn peers_required() -> bool {
    std::env::var("OVERTURE_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Whether `tool` is installed; when it is not, says so, and panics under
/// `OVERTURE_REQUIRE_PEERS=1`.
pub fn peer_available(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
    if !found {
        assert!(
            !peers_required(),
            "{tool} is not installed and OVERTURE_REQUIRE_PEERS=1"
        );
        eprintln!("SKIP: {tool} is not installed");
    }
    found
}

/// Runs the `openssl` CLI in `dir` with `args` (making keys and certificates); panics with its
/// stderr if it fails.
pub fn openssl_cli(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An external server process, killed on drop.
pub struct Peer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it is, for messages.
    pub name: String,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openssl s_server` on 127.0.0.1 with an ephemeral port, serving `pki`'s chain, with
/// `extra` arguments (e.g. `-tls1_3`, `-ciphersuites`, `-groups`, `-www`).
pub fn openssl_s_server(pki: &Pki, extra: &[&str]) -> Option<Peer> {
    openssl_s_server_in(pki, None, extra)
}

/// [`openssl_s_server`] run in directory `dir` (what `-WWW` serves files from: it takes
/// request paths relative to its working directory and refuses `..`).
pub fn openssl_s_server_in(pki: &Pki, dir: Option<&Path>, extra: &[&str]) -> Option<Peer> {
    spawn_s_server(pki, dir, extra, None)
}

/// [`openssl_s_server`] whose output (stdout, and stderr lines prefixed `stderr: `) is kept
/// in the returned buffer as it comes: s_server prints what it reads (early data under
/// "Early data received:"), the connections' parameters and its errors.
pub fn openssl_s_server_logged(pki: &Pki, extra: &[&str]) -> Option<(Peer, Arc<Mutex<String>>)> {
    let log = Arc::new(Mutex::new(String::new()));
    spawn_s_server(pki, None, extra, Some(log.clone())).map(|p| (p, log))
}

fn spawn_s_server(
    pki: &Pki,
    dir: Option<&Path>,
    extra: &[&str],
    log: Option<Arc<Mutex<String>>>,
) -> Option<Peer> {
    if !peer_available("openssl") {
        return None;
    }
    let mut cmd = Command::new("openssl");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .arg("s_server")
        .args(["-accept", "127.0.0.1:0", "-naccept", "1000"])
        .arg("-cert")
        .arg(&pki.leaf_pem)
        .arg("-cert_chain")
        .arg(&pki.intermediate_pem)
        .arg("-key")
        .arg(&pki.key_pem)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if log.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("spawn openssl s_server");
    let stdout = child.stdout.take().unwrap();
    if let (Some(stderr), Some(log)) = (child.stderr.take(), log.clone()) {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut l) = log.lock() {
                    l.push_str("stderr: ");
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining (and logging) so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(addr) = line.strip_prefix("ACCEPT ") {
                let _ = tx.send(addr.to_string());
            }
            if let Some(Ok(mut l)) = log.as_ref().map(|l| l.lock()) {
                l.push_str(&line);
                l.push('\n');
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("openssl s_server did not report its port");
    let addr: SocketAddr = addr.parse().expect("s_server address");
    wait_listening(addr);
    Some(Peer {
        child,
        addr,
        name: format!("openssl s_server {}", extra.join(" ")),
    })
}

/// Starts `gnutls-serv` on a free port with `priority` (a GnuTLS priority string), serving
/// `pki`'s chain; `mode` is `--echo` or `--http`.
pub fn gnutls_serv(pki: &Pki, priority: &str, mode: &str) -> Option<Peer> {
    gnutls_serv_with(pki, priority, &[mode])
}

/// [`gnutls_serv`] with any further arguments (`--echo` or `--http` among them, e.g.
/// `["--echo", "--recordsize=512"]`).
pub fn gnutls_serv_with(pki: &Pki, priority: &str, args: &[&str]) -> Option<Peer> {
    spawn_gnutls_serv(pki, priority, args, None)
}

/// [`gnutls_serv_with`] with its stderr (the debug log, with `-d N`) written to `log`.
pub fn gnutls_serv_logged(pki: &Pki, priority: &str, args: &[&str], log: &Path) -> Option<Peer> {
    spawn_gnutls_serv(pki, priority, args, Some(log))
}

fn spawn_gnutls_serv(pki: &Pki, priority: &str, args: &[&str], log: Option<&Path>) -> Option<Peer> {
    if !peer_available("gnutls-serv") {
        return None;
    }
    for _ in 0..10 {
        let port = free_port();
        let mut child = Command::new("gnutls-serv")
            .arg(format!("--port={port}"))
            .arg(format!("--x509certfile={}", pki.chain_pem.display()))
            .arg(format!("--x509keyfile={}", pki.key_pem.display()))
            .arg(format!("--priority={priority}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("gnutls-serv log")),
                None => Stdio::null(),
            })
            .spawn()
            .expect("spawn gnutls-serv");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break; // it exited: the port was taken; try another
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Some(Peer {
                    child,
                    addr,
                    name: format!("gnutls-serv {priority} {}", args.join(" ")),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("gnutls-serv did not start");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no server listening on {addr}");
}

/// The rustls `ServerConfig` for `pki` restricted to `versions`, `suites` and `groups` (empty
/// means all of ring's).
pub fn rustls_server_config(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: &[rustls::SupportedCipherSuite],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
) -> Arc<rustls::ServerConfig> {
    let base = rustls::crypto::ring::default_provider();
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: if suites.is_empty() {
            base.cipher_suites.clone()
        } else {
            suites.to_vec()
        },
        kx_groups: if groups.is_empty() {
            base.kx_groups.clone()
        } else {
            groups.to_vec()
        },
        ..base
    };
    let versions = if versions.is_empty() {
        rustls::ALL_VERSIONS
    } else {
        versions
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.chain.clone(), pki.private_key())
        .unwrap();
    config.max_early_data_size = 0;
    Arc::new(config)
}

/// An in-process rustls server on 127.0.0.1: each connection completes the handshake, then
/// echoes what it reads until the client closes. Stopped on drop.
pub struct RustlsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl RustlsServer {
    /// Starts serving `config`.
    pub fn start(config: Arc<rustls::ServerConfig>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (stop2, accepted2) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        accepted2.fetch_add(1, Ordering::Relaxed);
                        let config = config.clone();
                        std::thread::spawn(move || serve_echo(config, tcp));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// How many connections were accepted.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for RustlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_echo(config: Arc<rustls::ServerConfig>, tcp: TcpStream) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 16384];
    loop {
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tls.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// A rustls server config serving exactly `chain` with `key` (for broken-chain scenarios).
pub fn rustls_config_with_chain(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    )
}

/// A one-connection TCP server on 127.0.0.1 that runs `script` on the accepted socket (with
/// 10 s timeouts), for peers that misbehave on purpose.
pub struct ScriptedServer {
    /// Where it listens.
    pub addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    /// Starts the server; `script` runs once, on the first connection.
    pub fn start(script: impl FnOnce(TcpStream) + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            if let Ok((tcp, _)) = listener.accept() {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = tcp.set_write_timeout(Some(Duration::from_secs(10)));
                script(tcp);
            }
        });
        Self {
            addr,
            thread: Some(thread),
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one TLS record (header and body) from `tcp`.
pub fn read_record(tcp: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 5];
    tcp.read_exact(&mut header)?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut rec = header.to_vec();
    rec.resize(5 + len, 0);
    tcp.read_exact(&mut rec[5..])?;
    Ok(rec)
}

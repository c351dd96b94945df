//! The post-quantum and ECH interop peers (issue #16): our own small servers in `tests/peers/`
//! on toolchains from PyPI, which `.ci/run` installs into a virtualenv and names through
//! `OVERTURE_NODE` and `OVERTURE_GO`:
//!
//! - `node-tls-server.js` on Node >= 24, whose OpenSSL 3.5 offers X25519MLKEM768 first;
//! - `go-tls-server.go` on Go >= 1.24 (`crypto/tls`: X25519MLKEM768, SecP256r1MLKEM768, an
//!   ECH server with keys it generates and an ECHConfigList it writes to a file).
//!
//! ```text
//!   node_tls_server(pki, args) / go_tls_server(pki, args) ─► ReportingPeer
//!        child's stdout: "ACCEPT addr" ─► addr;  "HANDSHAKE group=… ech=… server_name=…"
//!        ─► ReportingPeer::handshake(i): what the *server* saw (group, version, ECH, inner SNI)
//! ```
//!
//! Without the toolchain (or with one too old) a test skips with a message, and fails under
//! `OVERTURE_REQUIRE_PEERS=1`, like every peer here.

use crate::{Peer, Pki, peers_required, temp_dir};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// What a peer server reported about one handshake (its `HANDSHAKE` line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHandshake {
    /// The group's IANA name (`x25519`, `X25519MLKEM768`, `secp256r1`, …).
    pub group: String,
    /// `TLS1.3` or `TLS1.2`.
    pub version: String,
    /// Whether the session was resumed.
    pub resumed: bool,
    /// Whether ECH was accepted (Go only; Node: always false).
    pub ech: bool,
    /// The server name the handshake completed with (the inner one when ECH was accepted).
    pub server_name: String,
    /// How many certificates the client sent (Go with `-request-client-cert`; else 0).
    pub client_certs: usize,
}

impl ServerHandshake {
    fn parse(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("HANDSHAKE ")?;
        let field = |name: &str| -> Option<String> {
            rest.split(' ')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .map(str::to_string)
        };
        Some(Self {
            group: field("group")?,
            version: field("version")?,
            resumed: field("resumed")? == "true",
            ech: field("ech")? == "true",
            server_name: field("server_name")?,
            client_certs: field("client_certs")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }
}

/// A peer server started from `tests/peers/`, with what it reports on stdout.
pub struct ReportingPeer {
    /// The process (killed on drop) and its address.
    pub peer: Peer,
    /// The ECHConfigList file it serves ECH with (`go_tls_server` with `-ech-config-out`).
    pub ech_config_list: Option<PathBuf>,
    /// An ECHConfigList for a key the server does not hold (`-ech-stale-config-out`).
    pub stale_ech_config_list: Option<PathBuf>,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl ReportingPeer {
    /// The `index`-th handshake the server reported (0-based), waiting up to 10 s for it.
    /// Panics with the server's output if it does not come (or the server reported an error).
    pub fn handshake(&self, index: usize) -> ServerHandshake {
        let (lock, cvar) = &*self.lines;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = lock.lock().unwrap();
        loop {
            let done: Vec<ServerHandshake> = lines
                .iter()
                .filter_map(|l| ServerHandshake::parse(l))
                .collect();
            if let Some(h) = done.get(index) {
                return h.clone();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "{}: no handshake #{index} reported; its output: {lines:?}",
                self.peer.name
            );
            lines = cvar.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }
}

/// The directory of our peer programs.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Where built peers and Go's build cache live: `<target>/overture-peers`.
fn build_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("overture-peers");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reports a missing or unusable toolchain: a skip, or a failure under
/// `OVERTURE_REQUIRE_PEERS=1`.
fn missing(what: &str) -> Option<PathBuf> {
    assert!(
        !peers_required(),
        "{what} (OVERTURE_REQUIRE_PEERS=1; .ci/run installs it)"
    );
    eprintln!("SKIP: {what}");
    None
}

fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `(major, minor)` of a dotted version string.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    });
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Node >= 24 with OpenSSL >= 3.5: `OVERTURE_NODE`, else `node` on the `PATH`.
pub fn node_binary() -> Option<PathBuf> {
    static NODE: OnceLock<Option<PathBuf>> = OnceLock::new();
    NODE.get_or_init(|| {
        let node = std::env::var_os("OVERTURE_NODE").map_or_else(|| "node".into(), PathBuf::from);
        let Some(v) = output_of(Command::new(&node).args([
            "-p",
            "process.versions.node + ' ' + process.versions.openssl",
        ])) else {
            return missing(&format!("{} is not installed", node.display()));
        };
        let (node_v, openssl_v) = v.split_once(' ').unwrap_or((&v, ""));
        match (major_minor(node_v), major_minor(openssl_v)) {
            (Some((n, _)), Some(o)) if n >= 24 && o >= (3, 5) => Some(node),
            _ => missing(&format!(
                "{} is Node {node_v} with OpenSSL {openssl_v}; the PQ peer needs Node >= 24 with OpenSSL >= 3.5",
                node.display()
            )),
        }
    })
    .clone()
}

/// `go-tls-server`, built once with the Go toolchain (`OVERTURE_GO`, else `go` on the
/// `PATH`; Go >= 1.24, `GOTOOLCHAIN=local`, standard library only).
pub fn go_tls_server_binary() -> Option<PathBuf> {
    static GO: OnceLock<Option<PathBuf>> = OnceLock::new();
    GO.get_or_init(|| {
        let go = std::env::var_os("OVERTURE_GO").map_or_else(|| "go".into(), PathBuf::from);
        let dir = build_dir();
        let go_cmd = |args: &[&str]| {
            let mut c = Command::new(&go);
            c.args(args)
                .env("GOTOOLCHAIN", "local")
                .env("GOCACHE", dir.join("gocache"))
                .env("GOPATH", dir.join("gopath"))
                .env("GOFLAGS", "")
                .env("CGO_ENABLED", "0");
            c
        };
        let Some(v) = output_of(&mut go_cmd(&["env", "GOVERSION"])) else {
            return missing(&format!("{} is not installed", go.display()));
        };
        match major_minor(v.trim_start_matches("go")) {
            Some(mm) if mm >= (1, 24) => {}
            _ => {
                return missing(&format!(
                    "{} is {v}; the PQ/ECH peer needs Go >= 1.24",
                    go.display()
                ));
            }
        }
        // Build to a unique name, then rename: test processes may build at the same time.
        let exe = dir.join("go-tls-server");
        let tmp = dir.join(format!("go-tls-server.{}", std::process::id()));
        let status = go_cmd(&["build", "-o"])
            .arg(&tmp)
            .arg(peers_dir().join("go-tls-server.go"))
            .status()
            .expect("run go build");
        assert!(
            status.success(),
            "go build tests/peers/go-tls-server.go failed"
        );
        std::fs::rename(&tmp, &exe).unwrap();
        Some(exe)
    })
    .clone()
}

/// Starts `cmd`, waits for its `ACCEPT addr` line and keeps collecting its stdout.
fn start(mut cmd: Command, name: String) -> ReportingPeer {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.strip_prefix("ACCEPT ") {
                let _ = tx.send(addr.to_string());
            }
            let (lock, cvar) = &*sink;
            lock.lock().unwrap().push(line);
            cvar.notify_all();
        }
    });
    // Building nothing here: the Go peer is prebuilt, Node starts in well under a second.
    let addr: SocketAddr = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{name} did not report its address"))
        .parse()
        .unwrap();
    ReportingPeer {
        peer: Peer { child, addr, name },
        ech_config_list: None,
        stale_ech_config_list: None,
        lines,
    }
}

/// Starts `node-tls-server.js` serving `pki`'s chain on 127.0.0.1, with `extra` arguments
/// (`--groups X25519MLKEM768:x25519`, `--max-version TLSv1.2`, `--alpn h2`).
pub fn node_tls_server(pki: &Pki, extra: &[&str]) -> Option<ReportingPeer> {
    let node = node_binary()?;
    let mut cmd = Command::new(node);
    cmd.arg(peers_dir().join("node-tls-server.js"))
        .arg("--cert")
        .arg(&pki.chain_pem)
        .arg("--key")
        .arg(&pki.key_pem)
        .args(extra);
    Some(start(cmd, format!("node-tls-server {}", extra.join(" "))))
}

/// Starts `go-tls-server` serving `pki`'s chain on 127.0.0.1 with `extra` arguments
/// (`-groups X25519MLKEM768,x25519`, `-alpn h2`). With `ech` it also serves ECH: it writes
/// [`ReportingPeer::ech_config_list`] (public name `public_name`; `pki` should name it too,
/// for a rejected ECH's outer handshake) and a stale list for a key it does not hold.
pub fn go_tls_server(pki: &Pki, ech: Option<&str>, extra: &[&str]) -> Option<ReportingPeer> {
    let exe = go_tls_server_binary()?;
    let mut cmd = Command::new(exe);
    cmd.arg("-cert")
        .arg(&pki.chain_pem)
        .arg("-key")
        .arg(&pki.key_pem)
        .args(extra);
    let files = ech.map(|public_name| {
        let dir = temp_dir("ech");
        let (list, stale) = (dir.join("ech.list"), dir.join("stale.list"));
        cmd.arg("-ech-config-out")
            .arg(&list)
            .arg("-ech-stale-config-out")
            .arg(&stale)
            .args(["-ech-public-name", public_name]);
        (list, stale)
    });
    let mut peer = start(cmd, format!("go-tls-server {}", extra.join(" ")));
    if let Some((list, stale)) = files {
        peer.ech_config_list = Some(list);
        peer.stale_ech_config_list = Some(stale);
    }
    Some(peer)
}

//! The differential suite against OpenSSL's real `SSL_connect` (issue 18): every scenario is
//! driven once through the system libssl (`tests/openssl-diff/driver.c`, compiled here with the
//! C compiler, printing each call's raw return value and `SSL_get_error` code) and once through
//! `overture::compat` (the Rust twin below, same operations, same output language), over a
//! blocking socket, a non-blocking socket (poll loop) and a BIO pair pumped by hand, against the
//! same server behaviour: `openssl s_server` and the scripted servers of
//! `overture_tests::hostile` (a fresh one per client, so both clients meet the same script).
//!
//! ```text
//!  scenario (server + ops + timeouts) ──► transport ──┬─► driver.c (libssl)  ──► lines ─┐
//!                                                      └─► run_overture (compat) ─► lines ┴─► same?
//!  different ──► listed in tests/openssl-diff-expectations.json with both sequences and a reason
//! ```
//!
//! Each operation prints one line: its first result that is not a retry (`connect -1 1`), or
//! `connect timeout 2` when it still wanted to read (2) or write (3) after `wait_ms`. Retries are
//! retried the same way on both sides (at once on a blocking socket, where only `SO_RCVTIMEO`
//! makes one; after `poll(2)` on a non-blocking one; after moving bytes on a pair), so how many
//! retries a run took — a matter of scheduling — never shows, only what the library finally said.
//! A scripted server adds the final outcome as seen from the wire: `peer got alert 2 unknown_ca`
//! (the alert the client sent, decoded under whatever key it used) or `peer got no alert`.
//!
//! Needs a C compiler and the libssl headers (`.ci/run` installs `libssl-dev`); without them the
//! test skips with a message, or fails under `OVERTURE_REQUIRE_PEERS=1` as CI runs it.
//!
//! The test fails on a difference the expectations file does not list (or lists with other
//! sequences) and on a listed difference that is gone. `OVERTURE_DIFF_PRINT=1` prints the
//! observed differences in the file's format (reasons kept from the file where the entry is
//! unchanged; new ones say `TODO`), to re-derive the file after a behaviour change;
//! `OVERTURE_DIFF_VERBOSE=1` prints both sequences of every case.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

use overture::bio::{Bio, BioPair, BioPairEnd, SocketBio, Transfer};
use overture::compat::{self, SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE};
use overture::types::NamedGroup;
use overture::{ClientConfig, Ssl};
use overture_tests::hostile::{
    Conn, Fixture, HostileServer, Script, ServerHelloSpec, TLS12, ct, ext, plain,
};
use overture_tests::{KeyKind, Peer, Pki, Validity, openssl_s_server, peers_required};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The request `write` sends (both drivers).
const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    /// A blocking socket (`SSL_set_fd` / `Ssl::set_socket`).
    Block,
    /// A non-blocking socket, retried after `poll(2)`.
    Nonblock,
    /// A BIO pair of 16 KiB per direction, bytes moved by hand to and from the socket.
    Pair,
    /// A BIO pair of 16 bytes per direction: smaller than most records, so writes (a
    /// close_notify, the final flight) stop half-way with *want write*.
    TinyPair,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Nonblock => "nonblock",
            Self::Pair => "pair",
            Self::TinyPair => "tiny-pair",
        }
    }

    fn driver_arg(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Nonblock => "nonblock",
            Self::Pair | Self::TinyPair => "pair",
        }
    }

    fn pair_capacity(self) -> usize {
        match self {
            Self::TinyPair => 16,
            _ => 16 * 1024,
        }
    }
}

const SOCKETS_AND_PAIR: &[Transport] = &[Transport::Block, Transport::Nonblock, Transport::Pair];
const ALL: &[Transport] = &[
    Transport::Block,
    Transport::Nonblock,
    Transport::Pair,
    Transport::TinyPair,
];

/// Which certificate the scripted server presents (the client always trusts `Pki::ca_pem` of
/// the PKI named here, except `Untrusted`).
#[derive(Clone, Copy, Debug)]
enum Cert {
    Good,
    Untrusted,
    Expired,
    WrongName,
}

#[derive(Clone, Copy)]
enum Server {
    /// A scripted server (one per client run) with this certificate.
    Scripted(Script, Cert),
    /// `openssl s_server` with these arguments (one per scenario, shared by its runs).
    SServer(&'static [&'static str]),
}

struct Scenario {
    name: &'static str,
    server: Server,
    ops: &'static [&'static str],
    /// `SO_RCVTIMEO` on the blocking socket, both clients (0: none).
    rcvtimeo_ms: u64,
    /// How long one operation may keep retrying (and `poll` may wait).
    wait_ms: u64,
    transports: &'static [Transport],
}

/// The default for `wait_ms`: generous, as only a divergence ever waits it out.
const WAIT: u64 = 5000;

const fn sc(
    name: &'static str,
    server: Server,
    ops: &'static [&'static str],
    transports: &'static [Transport],
) -> Scenario {
    Scenario {
        name,
        server,
        ops,
        // A safety net only: no scenario without its own timeout waits this long.
        rcvtimeo_ms: 20_000,
        wait_ms: WAIT,
        transports,
    }
}

// ---- scripted server behaviours (after the ClientHello was read) ----

/// The client's Finished arrived (its first protected record; the CCS before it is skipped).
fn client_finished(c: &mut Conn) -> io::Result<()> {
    loop {
        if c.read_record()?[0] == ct::APPDATA {
            return Ok(());
        }
    }
}

fn s_ok(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    c.hello_and_close()
}

fn s_server_speaks_first(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    client_finished(c)?;
    c.hello_and_close()
}

fn s_silence(c: &mut Conn) -> io::Result<()> {
    c.wait_for_client_close(Duration::from_secs(20));
    Ok(())
}

fn s_slow(c: &mut Conn) -> io::Result<()> {
    // Far longer than the client's 100 ms SO_RCVTIMEO, so it times out at least once.
    std::thread::sleep(Duration::from_millis(1200));
    s_ok(c)
}

fn s_fin_after_client_hello(c: &mut Conn) -> io::Result<()> {
    c.hang_up()
}

fn s_rst_after_client_hello(c: &mut Conn) -> io::Result<()> {
    c.reset();
    Ok(())
}

fn server_hello(c: &mut Conn) -> io::Result<()> {
    let sh = c.default_server_hello();
    c.send_server_hello(&sh)
}

fn s_fin_after_server_hello(c: &mut Conn) -> io::Result<()> {
    server_hello(c)?;
    c.hang_up()
}

fn s_rst_after_server_hello(c: &mut Conn) -> io::Result<()> {
    server_hello(c)?;
    c.reset();
    Ok(())
}

fn to_certificate_verify(c: &mut Conn) -> io::Result<()> {
    server_hello(c)?;
    let ee = c.encrypted_extensions(&[]);
    c.send_hs(&ee)?;
    c.send_certificate()?;
    c.send_certificate_verify()
}

fn s_fin_before_finished(c: &mut Conn) -> io::Result<()> {
    to_certificate_verify(c)?;
    c.hang_up()
}

fn s_rst_before_finished(c: &mut Conn) -> io::Result<()> {
    to_certificate_verify(c)?;
    c.reset();
    Ok(())
}

fn s_fin_after_handshake(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    c.hang_up()
}

fn s_rst_after_handshake(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    client_finished(c)?;
    c.reset();
    Ok(())
}

fn s_data_then_fin(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    let rec = c.enc(ct::APPDATA, overture_tests::hostile::GREETING);
    c.send(&rec)?;
    c.hang_up()
}

fn s_warning_alert_first(c: &mut Conn) -> io::Result<()> {
    // unrecognized_name(112) at warning level, as TLS 1.2 servers send for an unknown SNI.
    c.send(&plain(ct::ALERT, &[1, 112]))?;
    s_ok(c)
}

fn s_fatal_alert_first(c: &mut Conn) -> io::Result<()> {
    c.send(&plain(ct::ALERT, &[2, 40]))
}

fn s_fatal_alert_after_server_hello(c: &mut Conn) -> io::Result<()> {
    server_hello(c)?;
    let rec = c.enc(ct::ALERT, &[2, 40]);
    c.send(&rec)
}

fn s_close_notify_first(c: &mut Conn) -> io::Result<()> {
    c.send(&plain(ct::ALERT, &[1, 0]))
}

fn s_not_tls(c: &mut Conn) -> io::Result<()> {
    c.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
}

/// Completes the handshake, waits for the client's close_notify, then answers with its own.
fn s_close_on_request(c: &mut Conn) -> io::Result<()> {
    c.full_handshake()?;
    client_finished(c)?;
    c.read_record()?;
    let rec = c.enc(ct::ALERT, &[1, 0]);
    c.send(&rec)
}

fn s_hello_retry(c: &mut Conn) -> io::Result<()> {
    let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
    c.send_hrr(&hrr)?;
    s_ok(c)
}

/// A HelloRetryRequest for the group the client already sent a share for (RFC 8446 §4.1.4: the
/// client aborts with illegal_parameter).
fn s_hello_retry_for_sent_share(c: &mut Conn) -> io::Result<()> {
    let group = c.client_shares()[0].0;
    let hrr = c.default_hrr(Some(group), None);
    c.send_hrr(&hrr)
}

/// A TLS 1.2 ServerHello: ECDHE-ECDSA-AES128-GCM-SHA256 with renegotiation_info, the extended
/// master secret and uncompressed points (what `Conn::tls12_*` implements).
fn server_hello_12() -> ServerHelloSpec {
    ServerHelloSpec {
        legacy_version: TLS12,
        random: [7; 32],
        session_id: vec![],
        suite: 0xc02b,
        compression: 0,
        extensions: vec![ext(0xff01, &[0]), ext(23, &[]), ext(11, &[1, 0])],
    }
}

fn s_ok_12(c: &mut Conn) -> io::Result<()> {
    c.tls12_handshake(&server_hello_12())?;
    c.tls12_hello_and_close()
}

fn s_warning_alert_first_12(c: &mut Conn) -> io::Result<()> {
    c.send(&plain(ct::ALERT, &[1, 112]))?;
    s_ok_12(c)
}

fn s_fin_after_server_hello_done_12(c: &mut Conn) -> io::Result<()> {
    c.tls12_to_server_hello_done(&server_hello_12())?;
    c.hang_up()
}

fn scenarios() -> Vec<Scenario> {
    use Server::{SServer, Scripted};
    let ok = Scripted(s_ok, Cert::Good);
    let sss = Scripted(s_server_speaks_first, Cert::Good);
    vec![
        sc(
            "handshake-read-close",
            ok,
            &["connect", "read", "read", "shutdown"],
            ALL,
        ),
        sc(
            "connect-again-after-success",
            ok,
            &["connect", "connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "server-speaks-first",
            sss,
            &["connect", "poll", "read"],
            ALL,
        ),
        sc(
            "tls12-handshake-read-close",
            Scripted(s_ok_12, Cert::Good),
            &["connect", "read", "read", "shutdown"],
            ALL,
        ),
        sc(
            "tls12-warning-alert-before-server-hello",
            Scripted(s_warning_alert_first_12, Cert::Good),
            &["connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "tls12-fin-after-server-hello-done",
            Scripted(s_fin_after_server_hello_done_12, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "hello-retry-request",
            Scripted(s_hello_retry, Cert::Good),
            &["connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "hello-retry-request-for-sent-share",
            Scripted(s_hello_retry_for_sent_share, Cert::Good),
            &["connect", "connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "shutdown-instead-of-connect",
            ok,
            &["shutdown", "connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "write-after-close-notify",
            ok,
            &["connect", "read", "read", "write", "shutdown"],
            SOCKETS_AND_PAIR,
        ),
        sc("implicit-handshake-read", sss, &["read", "read"], ALL),
        sc(
            "implicit-handshake-write",
            sss,
            &["write", "read", "read"],
            ALL,
        ),
        Scenario {
            rcvtimeo_ms: 150,
            wait_ms: 700,
            ..sc(
                "silent-server",
                Scripted(s_silence, Cert::Good),
                &["connect"],
                SOCKETS_AND_PAIR,
            )
        },
        Scenario {
            rcvtimeo_ms: 100,
            wait_ms: 10_000,
            ..sc(
                "rcvtimeo-then-retry",
                Scripted(s_slow, Cert::Good),
                &["connect", "read"],
                &[Transport::Block],
            )
        },
        sc(
            "fin-after-client-hello",
            Scripted(s_fin_after_client_hello, Cert::Good),
            &["connect", "connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "rst-after-client-hello",
            Scripted(s_rst_after_client_hello, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "fin-after-server-hello",
            Scripted(s_fin_after_server_hello, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "rst-after-server-hello",
            Scripted(s_rst_after_server_hello, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "fin-before-finished",
            Scripted(s_fin_before_finished, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "rst-before-finished",
            Scripted(s_rst_before_finished, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "fin-after-handshake",
            Scripted(s_fin_after_handshake, Cert::Good),
            &["connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "rst-after-handshake",
            Scripted(s_rst_after_handshake, Cert::Good),
            &["connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "data-then-fin",
            Scripted(s_data_then_fin, Cert::Good),
            &["connect", "read", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "warning-alert-before-server-hello",
            Scripted(s_warning_alert_first, Cert::Good),
            &["connect", "read"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "fatal-alert-before-server-hello",
            Scripted(s_fatal_alert_first, Cert::Good),
            &["connect", "connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "fatal-alert-after-server-hello",
            Scripted(s_fatal_alert_after_server_hello, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "close-notify-before-server-hello",
            Scripted(s_close_notify_first, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "non-tls-bytes",
            Scripted(s_not_tls, Cert::Good),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "untrusted-certificate",
            Scripted(s_ok, Cert::Untrusted),
            &["connect", "connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "expired-certificate",
            Scripted(s_ok, Cert::Expired),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "wrong-name-certificate",
            Scripted(s_ok, Cert::WrongName),
            &["connect"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "shutdown-then-peer-close",
            Scripted(s_close_on_request, Cert::Good),
            &["connect", "shutdown", "shutdown"],
            ALL,
        ),
        sc(
            "s_server-tls13",
            SServer(&["-www", "-tls1_3"]),
            &["connect", "write", "drain", "shutdown"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "s_server-tls12",
            SServer(&["-www", "-tls1_2"]),
            &["connect", "write", "drain", "shutdown"],
            SOCKETS_AND_PAIR,
        ),
        sc(
            "s_server-connect-twice",
            SServer(&["-www"]),
            &["connect", "connect", "write", "drain"],
            SOCKETS_AND_PAIR,
        ),
    ]
}

// ---- the Overture twin of driver.c ----

fn poll_fd(tcp: &TcpStream, flags: PollFlags, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap(),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(tcp, flags)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

/// The far end of the pair and the socket it is pumped to (driver.c's `pump_out`/`pump_in`).
struct Pump {
    far: BioPairEnd,
    tcp: TcpStream,
    eof: bool,
}

impl Pump {
    fn pump_out(&mut self, deadline: Instant) {
        let mut buf = [0u8; 4096];
        while let Ok(Transfer::Bytes(n @ 1..)) = self.far.read(&mut buf) {
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                match self.tcp.write(rest) {
                    Ok(0) => return,
                    Ok(k) => rest = &rest[k..],
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if !poll_fd(&self.tcp, PollFlags::OUT, deadline) {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        }
    }

    fn pump_in(&mut self, deadline: Instant) -> bool {
        let mut buf = [0u8; 16384];
        let space = self.far.write_guarantee().min(buf.len());
        if space == 0 || self.eof || !poll_fd(&self.tcp, PollFlags::IN, deadline) {
            return false;
        }
        match self.tcp.read(&mut buf[..space]) {
            Ok(n @ 1..) => {
                let _ = self.far.write(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(0) | Err(_) => {
                self.eof = true;
                let _ = self.far.shutdown_write();
            }
        }
        true
    }
}

struct Run<'a> {
    scenario: &'a Scenario,
    transport: Transport,
    addr: SocketAddr,
    ca: &'a Path,
}

fn run_overture(r: &Run<'_>) -> Vec<String> {
    let tcp = TcpStream::connect(r.addr).expect("connect to the server");
    let watch = tcp.try_clone().unwrap();
    if r.transport == Transport::Block && r.scenario.rcvtimeo_ms > 0 {
        tcp.set_read_timeout(Some(Duration::from_millis(r.scenario.rcvtimeo_ms)))
            .unwrap();
    }
    if r.transport != Transport::Block {
        tcp.set_nonblocking(true).unwrap();
    }
    let config = ClientConfig::builder()
        .with_ca_file(r.ca)
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    let mut pump = None;
    match r.transport {
        Transport::Block | Transport::Nonblock => {
            ssl.set_socket(SocketBio::new(tcp)).unwrap();
        }
        Transport::Pair | Transport::TinyPair => {
            let (near, far) = BioPair::new(r.transport.pair_capacity()).unwrap();
            ssl.set_bio(Box::new(near));
            pump = Some(Pump {
                far,
                tcp,
                eof: false,
            });
        }
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16384];
    for &op in r.scenario.ops {
        let deadline = Instant::now() + Duration::from_millis(r.scenario.wait_ms);
        if op == "poll" {
            if let Some(p) = pump.as_mut() {
                p.pump_out(deadline);
            }
            let readable = poll_fd(&watch, PollFlags::IN, deadline);
            out.push(format!("poll {}", u8::from(readable)));
            continue;
        }
        loop {
            let ret = match op {
                "connect" => compat::connect(&mut ssl),
                "read" | "drain" => compat::read(&mut ssl, &mut buf),
                "write" => compat::write(&mut ssl, REQUEST),
                "shutdown" => compat::shutdown(&mut ssl),
                other => panic!("unknown op {other}"),
            };
            let err = compat::get_error(&ssl, ret);
            if let Some(p) = pump.as_mut() {
                p.pump_out(deadline);
            }
            if ret > 0 && op == "drain" {
                continue;
            }
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE {
                let progressed = Instant::now() < deadline
                    && match (r.transport, pump.as_mut()) {
                        (Transport::Block, _) => true,
                        (_, Some(p)) => {
                            p.pump_out(deadline);
                            err == SSL_ERROR_WANT_WRITE || p.pump_in(deadline)
                        }
                        (_, None) => {
                            let flags = if err == SSL_ERROR_WANT_WRITE {
                                PollFlags::OUT
                            } else {
                                PollFlags::IN
                            };
                            poll_fd(&watch, flags, deadline)
                        }
                    };
                if progressed {
                    continue;
                }
                out.push(format!("{op} timeout {err}"));
                break;
            }
            out.push(format!("{op} {ret} {err}"));
            break;
        }
    }
    out
}

fn run_openssl(driver: &Path, r: &Run<'_>) -> Vec<String> {
    let output = Command::new(driver)
        .arg(r.transport.driver_arg())
        .arg(r.addr.port().to_string())
        .arg(r.ca)
        .arg(if r.transport == Transport::Block {
            r.scenario.rcvtimeo_ms.to_string()
        } else {
            "0".into()
        })
        .arg(r.scenario.wait_ms.to_string())
        .arg(r.transport.pair_capacity().to_string())
        .args(r.scenario.ops)
        .output()
        .expect("run the OpenSSL driver");
    assert!(
        output.status.success(),
        "OpenSSL driver failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Compiles driver.c against the system libssl; `None` (skip) when there is no compiler or no
/// libssl headers, unless `OVERTURE_REQUIRE_PEERS=1`.
fn build_driver() -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("openssl-diff/driver.c");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openssl-diff-driver");
    // `CC` if set, else `cc`, else `gcc` (the CI machine has gcc).
    let mut compilers: Vec<String> = std::env::var("CC").into_iter().collect();
    compilers.extend(["cc".to_owned(), "gcc".to_owned()]);
    let cc = compilers
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .unwrap_or_else(|| "cc".to_owned());
    let result = Command::new(&cc)
        .args(["-O1", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&out)
        .arg(&src)
        .args(["-lssl", "-lcrypto"])
        .output();
    match result {
        Ok(o) if o.status.success() => Some(out),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                !peers_required(),
                "cannot build the OpenSSL driver with `{cc}` (libssl-dev installed?): {why}"
            );
            println!("skip openssl-diff: cannot build the OpenSSL driver: {why}");
            None
        }
    }
}

struct Pkis {
    good: Pki,
    other: Pki,
    expired: Pki,
    wrong_name: Pki,
}

impl Pkis {
    /// The certificate the server presents and the CA file the clients trust.
    fn pick(&self, cert: Cert) -> (&Pki, &Path) {
        match cert {
            Cert::Good => (&self.good, &self.good.ca_pem),
            Cert::Untrusted => (&self.other, &self.good.ca_pem),
            Cert::Expired => (&self.expired, &self.expired.ca_pem),
            Cert::WrongName => (&self.wrong_name, &self.wrong_name.ca_pem),
        }
    }
}

/// One entry of the expectations file.
#[derive(Clone, PartialEq)]
struct Difference {
    openssl: Vec<String>,
    overture: Vec<String>,
    reason: String,
}

fn key(scenario: &str, transport: &str) -> String {
    format!("{scenario} / {transport}")
}

fn load_expectations(path: &Path) -> BTreeMap<String, Difference> {
    let text = std::fs::read_to_string(path).expect("read the expectations file");
    let v: Value = serde_json::from_str(&text).expect("expectations JSON");
    let lines = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("an array of lines")
            .iter()
            .map(|l| l.as_str().expect("a line").to_owned())
            .collect()
    };
    v["differences"]
        .as_array()
        .expect("{\"differences\": [...]}")
        .iter()
        .map(|d| {
            let k = key(
                d["scenario"].as_str().expect("scenario"),
                d["transport"].as_str().expect("transport"),
            );
            let diff = Difference {
                openssl: lines(&d["openssl"]),
                overture: lines(&d["overture"]),
                reason: d["reason"].as_str().expect("reason").to_owned(),
            };
            (k, diff)
        })
        .collect()
}

/// What OpenSSL printed, what Overture printed.
type Sequences = (Vec<String>, Vec<String>);

/// How many cases run at once.
const WORKERS: usize = 4;

/// One scenario over one transport.
struct Case<'a> {
    scenario: &'a Scenario,
    transport: Transport,
    /// The scenario's `s_server`, if it uses one.
    s_server: Option<SocketAddr>,
}

/// Runs `case` through OpenSSL then Overture, each against a server of its own (or the
/// scenario's `s_server`): the two output sequences.
fn run_case(driver: &Path, pkis: &Pkis, case: &Case<'_>) -> Sequences {
    let mut results = Vec::new();
    for side in ["openssl", "overture"] {
        let (server, addr, ca) = match (case.scenario.server, case.s_server) {
            (Server::Scripted(script, cert), _) => {
                let (pki, ca) = pkis.pick(cert);
                let fixture = Arc::new(Fixture::new(pki.chain.clone(), pki.key_der.clone()));
                let server = HostileServer::start(fixture, script);
                let addr = server.addr;
                (Some(server), addr, ca.to_path_buf())
            }
            (Server::SServer(_), Some(addr)) => (None, addr, pkis.good.ca_pem.clone()),
            (Server::SServer(_), None) => unreachable!("s_server scenarios have their server"),
        };
        let run = Run {
            scenario: case.scenario,
            transport: case.transport,
            addr,
            ca: &ca,
        };
        let mut lines = if side == "openssl" {
            run_openssl(driver, &run)
        } else {
            run_overture(&run)
        };
        if let Some(server) = server {
            // The client hung up: the scripted server ends within its own waits, and says
            // which alert the client sent (the final outcome seen from the wire).
            let report = server
                .finish(Duration::from_secs(30))
                .expect("the scripted server finished");
            lines.push(match report.alert {
                Some((level, desc)) => format!("peer got alert {level} {desc}"),
                None => "peer got no alert".to_owned(),
            });
        }
        results.push(lines);
    }
    let overture = results.pop().unwrap();
    let openssl = results.pop().unwrap();
    (openssl, overture)
}

#[test]
fn openssl_diff() {
    let Some(driver) = build_driver() else {
        return;
    };
    let version = Command::new(&driver).arg("version").output().unwrap();
    // The expectations were measured with OpenSSL 3.0; another version may answer otherwise.
    println!(
        "openssl-diff: against {}",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    let pkis = Pkis {
        good: Pki::new(KeyKind::EcdsaP256),
        other: Pki::new(KeyKind::EcdsaP256),
        expired: Pki::build(KeyKind::EcdsaP256, Validity::Expired, &["localhost"]),
        wrong_name: Pki::build(KeyKind::EcdsaP256, Validity::Current, &["example.com"]),
    };
    let exp_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("openssl-diff-expectations.json");
    let expected = load_expectations(&exp_path);

    // OVERTURE_DIFF_VERBOSE=1: both sequences of every case, not only the differences.
    let verbose = std::env::var_os("OVERTURE_DIFF_VERBOSE").is_some();
    let scenarios = scenarios();
    // One s_server per scenario that uses it, for all its runs.
    let mut peers: Vec<Peer> = Vec::new();
    let mut cases: Vec<Case<'_>> = Vec::new();
    for scenario in &scenarios {
        let s_server = match scenario.server {
            Server::SServer(args) => match openssl_s_server(&pkis.good, args) {
                Some(p) => {
                    let addr = p.addr;
                    peers.push(p);
                    Some(addr)
                }
                None => {
                    println!("skip {}: openssl s_server not installed", scenario.name);
                    continue;
                }
            },
            Server::Scripted(..) => None,
        };
        for &transport in scenario.transports {
            cases.push(Case {
                scenario,
                transport,
                s_server,
            });
        }
    }
    // The cases are independent and mostly wait on the network: a few run at once.
    let results: Vec<std::sync::Mutex<Option<Sequences>>> =
        cases.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let r = run_case(&driver, &pkis, case);
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    drop(peers);

    let (run_n, mut same) = (cases.len(), 0usize);
    let mut observed: BTreeMap<String, (String, String, Vec<String>, Vec<String>)> =
        BTreeMap::new();
    for (case, result) in cases.iter().zip(results) {
        let (openssl, overture) = result.into_inner().unwrap().expect("every case ran");
        let (name, transport) = (case.scenario.name, case.transport.name());
        if verbose {
            println!("{name} / {transport}");
            println!("  openssl:  {}", openssl.join(" | "));
            println!("  overture: {}", overture.join(" | "));
        }
        if openssl == overture {
            same += 1;
        } else {
            observed.insert(
                key(name, transport),
                (name.to_owned(), transport.to_owned(), openssl, overture),
            );
        }
    }

    let mut unlisted = Vec::new();
    let mut changed = Vec::new();
    for (k, (_, _, openssl, overture)) in &observed {
        match expected.get(k) {
            None => unlisted.push(k.clone()),
            Some(d) if &d.openssl != openssl || &d.overture != overture => {
                changed.push(k.clone());
            }
            Some(d) => println!("known difference {k}: {}", d.reason),
        }
        println!("  openssl:  {}", openssl.join(" | "));
        println!("  overture: {}", overture.join(" | "));
    }
    let gone: Vec<&String> = expected
        .keys()
        .filter(|k| !observed.contains_key(*k))
        .collect();

    if std::env::var_os("OVERTURE_DIFF_PRINT").is_some() {
        let entries: Vec<Value> = observed
            .iter()
            .map(|(k, (scenario, transport, openssl, overture))| {
                let reason = expected
                    .get(k)
                    .filter(|d| &d.openssl == openssl && &d.overture == overture)
                    .map_or_else(
                        || "TODO: why a porting user can accept this".to_owned(),
                        |d| d.reason.clone(),
                    );
                json!({
                    "scenario": scenario,
                    "transport": transport,
                    "openssl": openssl,
                    "overture": overture,
                    "reason": reason,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "differences": entries })).unwrap()
        );
    }

    let different = observed.len();
    let all_listed = if unlisted.is_empty() && changed.is_empty() {
        "all listed"
    } else {
        "NOT all listed"
    };
    println!("corpus openssl-diff: {run_n} run, {same} same, {different} different ({all_listed})");
    assert!(
        unlisted.is_empty() && changed.is_empty() && gone.is_empty(),
        "openssl-diff-expectations.json is out of date: differences it does not list {unlisted:?}, \
         listed with other sequences {changed:?}, listed but gone {gone:?} \
         (OVERTURE_DIFF_PRINT=1 prints the observed set in the file's format)"
    );
}

//! The shim against the runner's side of the BoGo protocol, played here by an in-process
//! rustls server (not BoringSSL's runner, which is never in the repository): the shim must
//! connect, send its id (8 bytes little-endian), complete the handshake through `Ssl`, echo
//! the message XOR 0xff, honour `-shim-writes-first`, `-async`, `-resume-count`,
//! `-check-close-notify` and `-expect-*`, and exit 89 for what it does not implement.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture_tests::{KeyKind, Pki, Validity, rustls_server_config};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const SHIM_ID: u64 = 0x0102_0304_0506_0708;

/// One run of the shim: its exit code and stderr.
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

fn spawn(port: u16, flags: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bogo-shim"))
        .args(["-port", &port.to_string(), "-shim-id", &SHIM_ID.to_string()])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(mut child: Child) -> Outcome {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    Outcome {
        code: status.code(),
        stderr,
    }
}

/// Accepts one shim connection and checks its id.
fn accept(listener: &TcpListener) -> TcpStream {
    let (mut tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut id = [0u8; 8];
    tcp.read_exact(&mut id).unwrap();
    assert_eq!(
        u64::from_le_bytes(id),
        SHIM_ID,
        "the shim id, little-endian"
    );
    tcp
}

/// The runner's exchange: optional "hello" from the shim, one message echoed XOR 0xff, then
/// close_notify. Returns whether the shim's close_notify came back.
fn exchange(config: &Arc<rustls::ServerConfig>, tcp: TcpStream, shim_writes_first: bool) -> bool {
    let conn = rustls::ServerConnection::new(config.clone()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let message: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(7)).collect();
    tls.write_all(&message).unwrap();
    if shim_writes_first {
        let mut hello = [0u8; 5];
        tls.read_exact(&mut hello).unwrap();
        assert_eq!(&hello, b"hello");
    }
    let mut reply = vec![0u8; message.len()];
    tls.read_exact(&mut reply).unwrap();
    let want: Vec<u8> = message.iter().map(|b| b ^ 0xff).collect();
    assert_eq!(reply, want, "the shim echoes XOR 0xff");
    tls.conn.send_close_notify();
    tls.flush().unwrap();
    let mut rest = Vec::new();
    // The shim's close_notify (with -check-close-notify) ends the stream cleanly.
    tls.read_to_end(&mut rest).is_ok() && rest.is_empty()
}

/// Serves a shim that is expected to give up: writes a byte, reads until it goes away.
fn serve_until_closed(config: &Arc<rustls::ServerConfig>, tcp: TcpStream) {
    let conn = rustls::ServerConnection::new(config.clone()).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let _ = tls.write_all(b"x");
    let _ = tls.read_to_end(&mut Vec::new());
}

fn server(versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<rustls::ServerConfig> {
    // The runner's certificates are issued for "test": the shim's name without -host-name.
    let pki = Pki::build(KeyKind::EcdsaP256, Validity::Current, &["test"]);
    rustls_server_config(&pki, versions, &[], &[])
}

fn run(
    versions: &[&'static rustls::SupportedProtocolVersion],
    flags: &[&str],
    connections: usize,
    shim_writes_first: bool,
) -> (Outcome, Vec<bool>) {
    let config = server(versions);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let child = spawn(listener.local_addr().unwrap().port(), flags);
    let closes = (0..connections)
        .map(|_| exchange(&config, accept(&listener), shim_writes_first))
        .collect();
    (finish(child), closes)
}

#[test]
fn handshake_and_echo_blocking_tls13() {
    let (out, _) = run(&[&rustls::version::TLS13], &[], 1, false);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn async_writes_first_and_close_notify_tls12() {
    let (out, closes) = run(
        &[&rustls::version::TLS12],
        &[
            "-async",
            "-shim-writes-first",
            "-check-close-notify",
            "-expect-version",
            "771",
        ],
        1,
        true,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(closes, [true], "-check-close-notify sends close_notify");
}

#[test]
fn resumption_through_the_session_api() {
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (out, _) = run(&[version], &["-resume-count", "1"], 2, false);
        assert_eq!(out.code, Some(0), "{version:?}: {}", out.stderr);
    }
}

#[test]
fn signature_scheme_and_hrr_expectations() {
    // The server's key is ECDSA P-256: it signs with ecdsa_secp256r1_sha256 (1027), and
    // rustls sends no HelloRetryRequest when our first key share fits. The resumed
    // connection reports the scheme (and, in TLS 1.2, the group) of the session's full
    // handshake, as BoringSSL does.
    let flags = [
        "-expect-curve-id",
        "29",
        "-verify-prefs",
        "1027",
        "-expect-peer-signature-algorithm",
        "1027",
        "-expect-no-hrr",
        "-resume-count",
        "1",
    ];
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let (out, _) = run(&[version], &flags, 2, false);
        assert_eq!(out.code, Some(0), "{version:?}: {}", out.stderr);
    }
    let out = run_failing(&["-expect-hrr"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("got no HelloRetryRequest"),
        "{}",
        out.stderr
    );
    let out = run_failing(&["-expect-peer-signature-algorithm", "1283"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("peer signature algorithm was 0403, wanted 0503"),
        "{}",
        out.stderr
    );
}

/// One TLS 1.3 connection from a shim that is expected to fail.
fn run_failing(flags: &[&str]) -> Outcome {
    let config = server(&[&rustls::version::TLS13]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let child = spawn(listener.local_addr().unwrap().port(), flags);
    serve_until_closed(&config, accept(&listener));
    finish(child)
}

#[test]
fn verify_prefs_restrict_what_the_server_may_sign_with() {
    // Only rsa_pss_rsae_sha256 accepted: the ECDSA server has nothing to sign with.
    let out = run_failing(&["-verify-prefs", "2052"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.starts_with("overture error: "), "{}", out.stderr);
}

#[test]
fn a_failed_expectation_fails_with_its_reason() {
    let config = server(&[&rustls::version::TLS13]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let child = spawn(
        listener.local_addr().unwrap().port(),
        &["-expect-alpn", "foo"],
    );
    serve_until_closed(&config, accept(&listener));
    let out = finish(child);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("negotiated alpn proto mismatch"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_session_miss_is_reported() {
    // The server keeps no sessions: a resumption that does not happen fails the default
    // expectation, and passes with -expect-session-miss.
    let pki = Pki::build(KeyKind::EcdsaP256, Validity::Current, &["test"]);
    let mut config = (*rustls_server_config(&pki, &[&rustls::version::TLS12], &[], &[])).clone();
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.ticketer = Arc::new(NoTickets);
    let config = Arc::new(config);
    for (flags, code) in [(&[][..], Some(1)), (&["-expect-session-miss"][..], Some(0))] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut args = vec!["-resume-count", "1"];
        args.extend_from_slice(flags);
        let child = spawn(listener.local_addr().unwrap().port(), &args);
        exchange(&config, accept(&listener), false);
        if code == Some(0) {
            exchange(&config, accept(&listener), false);
        } else {
            // The shim gives up after the resumption's handshake.
            serve_until_closed(&config, accept(&listener));
        }
        let out = finish(child);
        assert_eq!(out.code, code, "{flags:?}: {}", out.stderr);
        if code == Some(1) {
            assert!(out.stderr.contains("session unexpectedly was not reused"));
        }
    }
}

/// A ticketer that issues no tickets.
#[derive(Debug)]
struct NoTickets;

impl rustls::server::ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }
    fn lifetime(&self) -> u32 {
        0
    }
    fn encrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
    fn decrypt(&self, _: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

#[test]
fn unimplemented_modes_and_flags_exit_89_before_connecting() {
    // No listener: the shim must not even try to connect.
    for flags in [
        &["-server"][..],
        &["-dtls"],
        &["-quic"],
        &["-false-start"],
        &["-expect-early-data-reason", "alps_mismatch"],
        // rsa_pkcs1_sha1: a scheme Overture does not support (RFC 9155).
        &["-verify-prefs", "513"],
        &["-new-x509-credential", "-signing-prefs", "2052"],
        &["-max-version", "65277"],
    ] {
        let out = finish(spawn(1, flags));
        assert_eq!(out.code, Some(89), "{flags:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("unimplemented: "), "{}", out.stderr);
    }
}

#[test]
fn handshaker_question_answered_no() {
    let out = Command::new(env!("CARGO_BIN_EXE_bogo-shim"))
        .args(["-server", "-is-handshaker-supported"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "No");
}

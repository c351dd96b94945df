//! The hostile-server corpus: `overture::Ssl::connect()` (and `read()` after it) against a
//! scripted TLS 1.3 / TLS 1.2 server that misbehaves in one way per scenario (see
//! `overture_tests::hostile`). Every scenario runs over a blocking and a non-blocking socket,
//! in its own client thread with a timeout around it, and asserts:
//!
//! - the `ErrorKind` the call returns, and the exact alert we sent (as `Error::alert_sent()`
//!   says *and* as the server decoded it off the wire), or that the handshake completes;
//! - that a failed `connect()` returns the same error when called again;
//! - the peak heap of the connection (this thread's allocations, counted by a global allocator
//!   from `allocation-counter`) stays under [`PEAK_HEAP_BOUND`].
//!
//! Prints `corpus hostile: R run, P passed, F failed, S skipped`.

#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture::bio::SocketBio;
use overture::types::AlertDescription as A;
use overture::{ClientConfig, Error, ErrorKind, ShutdownState, Ssl};
use overture_tests::hostile::{
    Conn, Fixture, GREETING, HostileServer, KeyUsed, Script, ServerHelloSpec, ct, ext, ext_block,
    hs, hs_msg, key_share_ext, offers_early_data, plain, plain_v, supported_versions_ext, u16b,
    u24,
};
use overture_tests::{KeyKind, Pki};
use overture_types::NamedGroup;
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Peak heap of one connection (client side, `Ssl::new` to drop, certificate verification
/// included), asserted for every scenario. Measured (debug build, ring): a normal handshake
/// peaks at 24 KiB (the record layer's 18 KiB input buffer, the joiner, the chain, the
/// transcript); 1,000 KeyUpdate requests at 66 KiB (the answers queued for the socket); the
/// 100-certificate chains (a ~40 KiB Certificate message) at 165 KiB, because the joiner holds
/// the whole message and the chain is copied out of it (decoded entries, the PeerCertificates
/// event, the inspectable peer chain). The worst legitimate case is a Certificate message at the
/// 64 KiB limit: about four copies of it plus the input buffer, ~300 KiB. 512 KiB is that with a
/// margin for allocator and library changes, and still catches anything that grows with the
/// peer's input (a 16 MiB length honoured, a flood retained), which would go far past it.
const PEAK_HEAP_BOUND: u64 = 512 * 1024;

/// The socket timeout / driver deadline a user configured for normal scenarios.
const USER_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout configured for the stall scenarios (they must end by it).
const STALL_TIMEOUT: Duration = Duration::from_millis(300);
/// The watchdog around each run: a run that takes longer is a hang.
const WATCHDOG: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Blocking,
    NonBlocking,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Connect,
    Read,
}

/// What a scenario must produce.
#[derive(Clone, Copy, Debug)]
struct Expect {
    /// Which call fails (or, with `kind: None`, completes: connect, then read gets the
    /// greeting and then `ZeroReturn`).
    phase: Phase,
    kind: Option<ErrorKind>,
    sent: Option<A>,
    received: Option<A>,
    io: Option<io::ErrorKind>,
    /// The client refuses the TLS 1.3 ServerHello itself, so it never has the handshake key
    /// and its alert is plaintext; everywhere else after a ServerHello it must be protected.
    hello_refused: bool,
}

/// `connect()` fails with `Ssl` and we send `alert`.
const fn bad(alert: A) -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::Ssl),
        sent: Some(alert),
        received: None,
        io: None,
        hello_refused: false,
    }
}

/// `connect()` fails with `Ssl` and we send `alert` in plaintext: the client refused the
/// ServerHello (or the record carrying it), so it never installed the handshake key.
const fn bad_hello(alert: A) -> Expect {
    Expect {
        hello_refused: true,
        ..bad(alert)
    }
}

/// `connect()` succeeds; the following `read()` fails with `Ssl` and we send `alert`.
const fn read_bad(alert: A) -> Expect {
    Expect {
        phase: Phase::Read,
        ..bad(alert)
    }
}

/// The handshake completes; `read()` returns the greeting, then `ZeroReturn`.
const fn ok() -> Expect {
    Expect {
        phase: Phase::Read,
        kind: None,
        sent: None,
        received: None,
        io: None,
        hello_refused: false,
    }
}

/// `connect()` fails with `Io` of this kind, no alert sent.
const fn io_err(kind: io::ErrorKind) -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::Io),
        sent: None,
        received: None,
        hello_refused: false,
        io: Some(kind),
    }
}

/// `connect()` runs into the user's timeout: on a blocking socket its `SO_RCVTIMEO`, which is
/// `WantRead` (kind `TimedOut`) as in OpenSSL — calling again would go on waiting; on a
/// non-blocking one the driver's deadline (`Io`, `TimedOut`).
const fn timed_out() -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::WantRead),
        sent: None,
        received: None,
        hello_refused: false,
        io: Some(io::ErrorKind::TimedOut),
    }
}

/// `connect()` fails with `Ssl` because the transport closed during the handshake: OpenSSL 3's
/// "unexpected eof while reading", with its decode_error alert to a peer that only closed its
/// side.
const fn eof_in_handshake() -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::Ssl),
        sent: Some(A::DecodeError),
        received: None,
        hello_refused: false,
        io: Some(io::ErrorKind::UnexpectedEof),
    }
}

/// `connect()` fails with `ZeroReturn`.
const fn zero_return() -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::ZeroReturn),
        sent: None,
        received: None,
        io: None,
        hello_refused: false,
    }
}

/// `connect()` fails with `Ssl` naming the peer's alert; we send none back.
const fn peer_alert(alert: A) -> Expect {
    Expect {
        phase: Phase::Connect,
        kind: Some(ErrorKind::Ssl),
        sent: None,
        received: Some(alert),
        io: None,
        hello_refused: false,
    }
}

struct Scenario {
    area: &'static str,
    name: &'static str,
    script: Script,
    expect: Expect,
    /// The user's timeout (socket read timeout / driver deadline).
    timeout: Duration,
    /// A first connection that must complete (with the same config) before the scenario's
    /// own, e.g. to have the client hold a ticket.
    prelude: Option<Script>,
    /// What the client does once connected.
    flow: Flow,
    /// The peak heap this scenario's connection must stay under: [`PEAK_HEAP_BOUND`], or a
    /// tighter bound where the scenario proves that a flood leaves the heap flat.
    peak_bound: u64,
    /// The record_size_limit the client offers (RFC 8449), if any.
    record_size_limit: Option<u16>,
    /// The client offers ECH with the fixture's ECHConfigList (public name `localhost`).
    ech: bool,
    /// The client sends no SNI for its own name (`ConfigBuilder::with_sni(false)`).
    no_sni: bool,
    /// The client asks for a stapled OCSP response and SCTs (`with_ocsp_stapling`,
    /// `with_signed_certificate_timestamps`).
    ocsp: bool,
    /// 0-RTT: the config enables early data and the client writes these bytes with
    /// `write_early_data` before `connect()` (sent when its ticket allows early data).
    early_data: Option<&'static [u8]>,
}

/// What the client does after `connect()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// `read()` until an error (the greeting, then `ZeroReturn` for a scenario that completes).
    Read,
    /// `shutdown()` until it reports `Complete` (our close_notify sent, the peer's received);
    /// the scenario completes when it does.
    Shutdown,
}

/// The bound the flood scenarios assert, proving that their megabytes are not buffered: a
/// normal handshake peaks at ~24 KiB (see [`PEAK_HEAP_BOUND`]); records of 2^14 bytes grow
/// the input buffer to one maximal record (~18 KiB) and the plaintext buffer up to one more
/// (measured, debug build, ring: 36–38 KiB for 8 MiB of records and for 100,000 HelloRequests,
/// 54 KiB for 100,000 KeyUpdates).
/// 64 KiB leaves a margin for allocator and library changes; anything that kept a share of a
/// flood would go far past it.
const FLAT_HEAP_BOUND: u64 = 64 * 1024;

/// `s`, whose peak heap must stay under [`FLAT_HEAP_BOUND`].
fn flat(s: Scenario) -> Scenario {
    Scenario {
        peak_bound: FLAT_HEAP_BOUND,
        ..s
    }
}

fn sc(area: &'static str, name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        area,
        name,
        script,
        expect,
        timeout: USER_TIMEOUT,
        prelude: None,
        flow: Flow::Read,
        peak_bound: PEAK_HEAP_BOUND,
        record_size_limit: None,
        ech: false,
        no_sni: false,
        ocsp: false,
        early_data: None,
    }
}

/// A scenario on the connection after one that issued a ticket (the client offers a PSK).
fn resumed(area: &'static str, name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        prelude: Some(issue_ticket),
        ..sc(area, name, expect, script)
    }
}

// ---- script building blocks ----------------------------------------------------------------

type R = io::Result<()>;

/// A default ServerHello changed by `f`, sent in its own record.
fn sh_with(c: &mut Conn, f: impl FnOnce(&mut ServerHelloSpec)) -> R {
    let mut sh = c.default_server_hello();
    f(&mut sh);
    c.send_server_hello(&sh)
}

/// A ServerHello whose encoded message is changed by `f` (lengths broken on purpose).
fn sh_bytes(c: &mut Conn, f: impl FnOnce(&mut Vec<u8>)) -> R {
    let sh = c.default_server_hello();
    let mut msg = sh.encode();
    f(&mut msg);
    c.send(&plain(ct::HANDSHAKE, &msg))
}

/// A ServerHello whose key_share is replaced by one for `group` with `share`.
fn sh_share(c: &mut Conn, group: NamedGroup, share: &[u8]) -> R {
    sh_with(c, |sh| {
        sh.without(ext::KEY_SHARE);
        sh.extensions.push(key_share_ext(group, share));
    })
}

fn to_sh(c: &mut Conn) -> R {
    let sh = c.default_server_hello();
    c.send_server_hello(&sh)
}

fn to_ee(c: &mut Conn) -> R {
    to_sh(c)?;
    let ee = c.encrypted_extensions(&[]);
    c.send_hs(&ee)
}

fn to_cert(c: &mut Conn) -> R {
    to_ee(c)?;
    c.send_certificate()
}

fn to_cv(c: &mut Conn) -> R {
    to_cert(c)?;
    c.send_certificate_verify()
}

/// A complete handshake (application keys installed on the server side).
fn handshake(c: &mut Conn) -> R {
    c.full_handshake()
}

/// The body of a handshake message with its 4-byte header removed.
fn body_of(msg: &[u8]) -> Vec<u8> {
    msg[4..].to_vec()
}

/// The EncryptedExtensions with these raw extensions, then the rest of a correct flight.
fn ee_with(c: &mut Conn, exts: &[Vec<u8>]) -> R {
    to_sh(c)?;
    let ee = c.encrypted_extensions(exts);
    c.send_hs(&ee)?;
    c.send_certificate()?;
    c.send_certificate_verify()?;
    c.send_finished()
}

/// Sends `msg` as the server's Certificate, then a (then meaningless) CertificateVerify and
/// Finished so that a client that accepts it has something to chew on.
fn cert_msg(c: &mut Conn, msg: &[u8]) -> R {
    to_ee(c)?;
    c.send_hs(msg)?;
    c.send_certificate_verify()?;
    c.send_finished()
}

/// The fixture's TLS 1.3 Certificate with `leaf_exts` (type, body) in the end entity's entry.
fn cert_with_leaf_exts(c: &Conn, leaf_exts: &[(u16, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (i, cert) in c.fixture.chain.iter().enumerate() {
        list.extend_from_slice(&u24(cert.len()));
        list.extend_from_slice(cert);
        let exts: Vec<Vec<u8>> = if i == 0 {
            leaf_exts.iter().map(|(t, b)| ext(*t, b)).collect()
        } else {
            Vec::new()
        };
        list.extend_from_slice(&ext_block(&exts));
    }
    let mut body = vec![0u8];
    body.extend_from_slice(&u24(list.len()));
    body.extend_from_slice(&list);
    hs_msg(hs::CERTIFICATE, &body)
}

/// A scenario whose client asks for OCSP stapling and SCTs.
fn ocsp(name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        ocsp: true,
        ..sc("certificate", name, expect, script)
    }
}

fn cert_chain(c: &mut Conn, name: &str) -> R {
    let msg = Conn::certificate_for(c.fixture.chain_named(name));
    cert_msg(c, &msg)
}

fn cv_msg(c: &mut Conn, make: impl FnOnce(&Conn) -> Vec<u8>) -> R {
    to_cert(c)?;
    let msg = make(c);
    c.send_hs(&msg)?;
    c.send_finished()
}

fn fin_msg(c: &mut Conn, make: impl FnOnce(&Conn) -> Vec<u8>) -> R {
    to_cv(c)?;
    let msg = make(c);
    c.send_hs(&msg)
}

/// After a complete handshake: `post` records under the application key, then the greeting and
/// close_notify.
fn post(c: &mut Conn, msgs: &[Vec<u8>]) -> R {
    handshake(c)?;
    for m in msgs {
        let rec = c.enc(ct::HANDSHAKE, m);
        c.send(&rec)?;
    }
    c.hello_and_close()
}

fn nst(lifetime: u32, ticket: &[u8], exts: &[Vec<u8>]) -> Vec<u8> {
    let mut b = lifetime.to_be_bytes().to_vec();
    b.extend_from_slice(&7u32.to_be_bytes());
    b.extend_from_slice(&[1, 0]); // nonce
    b.extend_from_slice(&u16b(ticket.len()));
    b.extend_from_slice(ticket);
    b.extend_from_slice(&ext_block(exts));
    hs_msg(hs::NEW_SESSION_TICKET, &b)
}

fn hrr_then_continue(c: &mut Conn, group: NamedGroup) -> R {
    let hrr = c.default_hrr(Some(group), None);
    c.send_hrr(&hrr)?;
    let sh = c.default_server_hello();
    c.send_server_hello(&sh)?;
    c.rest_of_flight()?;
    c.hello_and_close()
}

/// KeyUpdates in a row the client accepts without application data (`MAX_KEY_UPDATES`).
const MAX_KEY_UPDATES_IN_A_ROW: usize = 32;

/// After the handshake, `n` KeyUpdate(update_not_requested) in one burst (the server rotates its
/// key after each), then the greeting.
fn key_updates(c: &mut Conn, n: usize) -> R {
    handshake(c)?;
    let mut burst = Vec::new();
    for _ in 0..n {
        burst.extend_from_slice(&c.enc(ct::HANDSHAKE, &hs_msg(hs::KEY_UPDATE, &[0])));
        c.rotate_write_key();
    }
    c.send(&burst)?;
    c.hello_and_close()
}

/// After the handshake, `n` KeyUpdate(update_requested) in one burst; the server then waits for
/// the client's KeyUpdate(update_not_requested) — decrypted under the client's keys as it
/// rotates them — and only then sends the greeting (else a fatal alert, so the run fails).
/// With `answers`, the client must have sent exactly that many KeyUpdates: requests that
/// arrive while its answer has not left are answered by that answer (RFC 8446 §4.6.3 asks for
/// one KeyUpdate before our next application data; BoGo's KeyUpdate-Requested).
fn key_update_requests(c: &mut Conn, n: usize, answers: Option<usize>) -> R {
    handshake(c)?;
    let mut burst = Vec::new();
    for _ in 0..n {
        burst.extend_from_slice(&c.enc(ct::HANDSHAKE, &hs_msg(hs::KEY_UPDATE, &[1])));
        c.rotate_write_key();
    }
    c.send(&burst)?;
    let is_answer = |(t, p): &(u8, Vec<u8>)| {
        *t == ct::HANDSHAKE && p.as_slice() == [hs::KEY_UPDATE, 0, 0, 1, 0]
    };
    let count = |recs: &[(u8, Vec<u8>)]| recs.iter().filter(|r| is_answer(r)).count();
    let answered = c.wait_client(Duration::from_secs(5), |recs| count(recs) > 0);
    // A second answer would follow the first at once: give it a moment to show.
    let _ = c.wait_client(Duration::from_millis(200), |recs| count(recs) > 1);
    let got = count(&c.client_application_records());
    if !answered || answers.is_some_and(|a| a != got) {
        let rec = c.enc(ct::ALERT, &[2, 80]);
        c.send(&rec)?;
        return Err(io::Error::other(format!(
            "the client sent {got} KeyUpdate answers to {n} requests, expected {answers:?}"
        )));
    }
    c.hello_and_close()
}

/// After the handshake, `n` KeyUpdate(update_requested) one at a time, the first answered
/// before the next leaves: the client writes no application data meanwhile, so its one answer
/// answers them all (RFC 8446 §4.6.3: a receiver of several requests "while it is silent"
/// responds with a single update; BoGo's KeyUpdate-Requested rejects a second one).
fn key_update_requests_apart(c: &mut Conn, n: usize) -> R {
    handshake(c)?;
    let is_answer = |(t, p): &(u8, Vec<u8>)| {
        *t == ct::HANDSHAKE && p.as_slice() == [hs::KEY_UPDATE, 0, 0, 1, 0]
    };
    let count = |recs: &[(u8, Vec<u8>)]| recs.iter().filter(|r| is_answer(r)).count();
    for i in 0..n {
        let rec = c.enc(ct::HANDSHAKE, &hs_msg(hs::KEY_UPDATE, &[1]));
        c.rotate_write_key();
        c.send(&rec)?;
        if i == 0 && !c.wait_client(Duration::from_secs(5), |recs| count(recs) > 0) {
            return Err(io::Error::other(
                "the client never answered the first request",
            ));
        }
        // A second answer would follow at once: give it a moment to show.
        let _ = c.wait_client(Duration::from_millis(50), |recs| count(recs) > 1);
    }
    let got = count(&c.client_application_records());
    if got != 1 {
        let rec = c.enc(ct::ALERT, &[2, 80]);
        c.send(&rec)?;
        return Err(io::Error::other(format!(
            "the client sent {got} KeyUpdate answers to {n} requests while silent, expected 1"
        )));
    }
    c.hello_and_close()
}

/// A correct handshake that issues one ticket (nonce `[0]`), whose PSK it leaves for the
/// scenario's next connection.
fn issue_ticket(c: &mut Conn) -> R {
    handshake(c)?;
    c.ticket_psk(&[0]);
    let rec = c.enc(ct::HANDSHAKE, &nst(3600, &[7; 32], &[]));
    c.send(&rec)?;
    c.hello_and_close()
}

/// The client must offer the ticket; then `f` changes a ServerHello that accepts it.
fn psk_server_hello(c: &mut Conn, f: impl FnOnce(&mut ServerHelloSpec)) -> R {
    if !c.client_offers_psk() {
        return Err(io::Error::other(
            "the client offered no PSK after receiving a ticket",
        ));
    }
    c.psk = c.carried_psk();
    let mut sh = c.default_server_hello();
    sh.extensions.push(ext(ext::PRE_SHARED_KEY, &[0, 0]));
    f(&mut sh);
    c.send_server_hello(&sh)
}

fn stall(c: &mut Conn) -> R {
    c.wait_for_client_close(Duration::from_secs(10));
    Ok(())
}

// ---- TLS 1.2 building blocks (the server pretends to be a TLS 1.2-only server) -------------

const TLS12_ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_EMS: u16 = 23;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;
const SERVER_RANDOM_12: [u8; 32] = [7; 32];

/// A correct TLS 1.2 ServerHello: ECDHE-ECDSA-AES128-GCM, EMS, secure renegotiation,
/// uncompressed points, a fresh (empty) session id, no downgrade sentinel.
fn sh12() -> ServerHelloSpec {
    ServerHelloSpec {
        legacy_version: 0x0303,
        random: SERVER_RANDOM_12,
        session_id: vec![],
        suite: TLS12_ECDHE_ECDSA_AES128_GCM,
        compression: 0,
        extensions: vec![
            ext(EXT_RENEGOTIATION_INFO, &[0]),
            ext(EXT_EMS, &[]),
            ext(EXT_EC_POINT_FORMATS, &[1, 0]),
        ],
    }
}

fn send_sh12(c: &mut Conn, f: impl FnOnce(&mut ServerHelloSpec)) -> R {
    let mut sh = sh12();
    f(&mut sh);
    c.send(&plain(ct::HANDSHAKE, &sh.encode()))
}

/// A TLS 1.2 Certificate message for the fixture's chain.
fn cert12(c: &Conn) -> Vec<u8> {
    c.tls12_certificate()
}

/// ServerHello and Certificate (one plaintext record each).
fn to_cert12(c: &mut Conn) -> R {
    send_sh12(c, |_| {})?;
    let cert = cert12(c);
    c.send(&plain(ct::HANDSHAKE, &cert))
}

/// A correct ServerKeyExchange for `group` / `public`, then changed by `f` (the body, after
/// the 4-byte handshake header).
fn ske(c: &Conn, group: NamedGroup, public: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut body = body_of(&c.tls12_server_key_exchange(group, public, &SERVER_RANDOM_12));
    f(&mut body);
    hs_msg(12, &body)
}

fn send_ske(c: &mut Conn, group: NamedGroup, f: impl FnOnce(&mut Vec<u8>)) -> R {
    to_cert12(c)?;
    let m = ske(c, group, &[9; 32], f);
    c.send(&plain(ct::HANDSHAKE, &m))
}

/// A TLS 1.2 handshake up to the client's flight; then our CCS (and encryption).
fn tls12_to_ccs(c: &mut Conn) -> R {
    c.tls12_to_server_hello_done(&sh12())?;
    c.tls12_read_client_flight()?;
    c.send(&plain(ct::CCS, &[1]))?;
    c.tls12_start_encryption();
    Ok(())
}

/// A complete TLS 1.2 handshake, then `records` (built under our key), then the greeting.
fn tls12_post(c: &mut Conn, records: impl FnOnce(&mut Conn) -> Vec<u8>) -> R {
    c.tls12_handshake(&sh12())?;
    let recs = records(c);
    c.send(&recs)?;
    c.tls12_hello_and_close()
}

// ---- the scenarios -------------------------------------------------------------------------

fn scenarios() -> Vec<Scenario> {
    use NamedGroup as G;
    let mut v = vec![
        // ServerHello: malformed, truncated, over-long lengths.
        sc(
            "server-hello",
            "truncated after random",
            bad(A::DecodeError),
            |c| {
                sh_bytes(c, |m| {
                    m.truncate(4 + 34);
                    let l = u24(34);
                    m[1..4].copy_from_slice(&l);
                })
            },
        ),
        sc(
            "server-hello",
            "trailing byte after extensions",
            bad(A::DecodeError),
            |c| {
                sh_bytes(c, |m| {
                    m.push(0);
                    let l = u24(m.len() - 4);
                    m[1..4].copy_from_slice(&l);
                })
            },
        ),
        sc(
            "server-hello",
            "session id length 33",
            bad(A::DecodeError),
            |c| sh_bytes(c, |m| m[4 + 34] = 33),
        ),
        sc(
            "server-hello",
            "session id length past the end",
            bad(A::DecodeError),
            |c| sh_bytes(c, |m| m[4 + 34] = 0xff),
        ),
        sc(
            "server-hello",
            "extensions block over-long",
            bad(A::DecodeError),
            |c| {
                sh_bytes(c, |m| {
                    let at = 4 + 2 + 32 + 1 + 32 + 2 + 1;
                    m[at] = 0x7f;
                })
            },
        ),
        sc(
            "server-hello",
            "extension length over-long",
            bad(A::DecodeError),
            |c| {
                sh_bytes(c, |m| {
                    // first extension's length field (supported_versions)
                    let at = 4 + 2 + 32 + 1 + 32 + 2 + 1 + 2 + 2;
                    m[at] = 0x01;
                })
            },
        ),
        sc(
            "server-hello",
            "key_share public key length over-long",
            bad_hello(A::DecodeError),
            |c| {
                sh_with(c, |sh| {
                    sh.without(ext::KEY_SHARE);
                    let mut b = G::X25519.get().to_be_bytes().to_vec();
                    b.extend_from_slice(&[0x00, 0x40]);
                    b.extend_from_slice(&[9; 32]);
                    sh.extensions.push(ext(ext::KEY_SHARE, &b));
                })
            },
        ),
        sc(
            "server-hello",
            "handshake length says more than the record, then silence",
            timed_out(),
            |c| {
                sh_bytes(c, |m| {
                    let l = u24(m.len() - 4 + 10);
                    m[1..4].copy_from_slice(&l);
                })?;
                stall(c)
            },
        ),
        sc(
            "server-hello",
            "16 MiB handshake length",
            bad(A::DecodeError),
            |c| sh_bytes(c, |m| m[1..4].copy_from_slice(&[0xff, 0xff, 0xff])),
        ),
        // ServerHello: choices we did not offer.
        sc(
            "server-hello",
            "suite not offered (TLS_AES_128_CCM_8_SHA256)",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.suite = 0x1305),
        ),
        sc(
            "server-hello",
            "TLS 1.2 suite with TLS 1.3",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.suite = 0xc02b),
        ),
        sc(
            "server-hello",
            "key share for a group not offered (secp521r1)",
            bad_hello(A::IllegalParameter),
            |c| sh_share(c, G::secp521r1, &[4; 133]),
        ),
        sc(
            "server-hello",
            "key share for an offered group we sent no share for",
            bad_hello(A::IllegalParameter),
            |c| sh_share(c, G::secp256r1, &[4; 65]),
        ),
        sc(
            "server-hello",
            "X25519 share of 31 bytes",
            bad_hello(A::IllegalParameter),
            |c| sh_share(c, G::X25519, &[9; 31]),
        ),
        sc(
            "server-hello",
            "X25519MLKEM768 share one byte short (1,119)",
            bad_hello(A::IllegalParameter),
            |c| {
                // The ML-KEM ciphertext (1,088) then X25519 (32): any other length is refused
                // before decapsulation (draft-ietf-tls-ecdhe-mlkem §4).
                sh_share(c, G::X25519MLKEM768, &[9; 1088 + 32 - 1])
            },
        ),
        sc(
            "server-hello",
            "X25519MLKEM768 share one byte long (1,121)",
            bad_hello(A::IllegalParameter),
            |c| {
                // The ML-KEM ciphertext (1,088) then X25519 (32): any other length is refused
                // before decapsulation (draft-ietf-tls-ecdhe-mlkem §4).
                sh_share(c, G::X25519MLKEM768, &[9; 1088 + 32 + 1])
            },
        ),
        sc(
            "server-hello",
            "X25519MLKEM768 share of an X25519 share's 32 bytes",
            bad_hello(A::IllegalParameter),
            |c| {
                // The ML-KEM ciphertext (1,088) then X25519 (32): any other length is refused
                // before decapsulation (draft-ietf-tls-ecdhe-mlkem §4).
                sh_share(c, G::X25519MLKEM768, &[9; 32])
            },
        ),
        sc(
            "server-hello",
            "X25519 all-zero share",
            bad_hello(A::IllegalParameter),
            |c| sh_share(c, G::X25519, &[0; 32]),
        ),
        sc(
            "server-hello",
            "supported_versions selects TLS 1.2",
            bad_hello(A::IllegalParameter),
            |c| {
                sh_with(c, |sh| {
                    sh.without(ext::SUPPORTED_VERSIONS);
                    sh.extensions.push(supported_versions_ext(0x0303));
                })
            },
        ),
        sc(
            "server-hello",
            "supported_versions selects an unknown version",
            bad_hello(A::IllegalParameter),
            |c| {
                sh_with(c, |sh| {
                    sh.without(ext::SUPPORTED_VERSIONS);
                    sh.extensions.push(supported_versions_ext(0x0305));
                })
            },
        ),
        sc(
            "server-hello",
            "legacy_version 0x0304 with TLS 1.3",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.legacy_version = 0x0304),
        ),
        sc(
            "server-hello",
            "TLS 1.1 without supported_versions",
            bad_hello(A::ProtocolVersion),
            |c| {
                sh_with(c, |sh| {
                    sh.legacy_version = 0x0302;
                    sh.extensions.clear();
                })
            },
        ),
        sc(
            "server-hello",
            "downgrade sentinel DOWNGRD01 in a TLS 1.2 ServerHello",
            bad_hello(A::IllegalParameter),
            |c| {
                sh_with(c, |sh| {
                    sh.extensions.clear();
                    sh.random[24..].copy_from_slice(b"DOWNGRD\x01");
                })
            },
        ),
        sc(
            "server-hello",
            "downgrade sentinel DOWNGRD00 in a TLS 1.2 ServerHello",
            bad_hello(A::IllegalParameter),
            |c| {
                sh_with(c, |sh| {
                    sh.extensions.clear();
                    sh.random[24..].copy_from_slice(b"DOWNGRD\x00");
                })
            },
        ),
        sc(
            "server-hello",
            "wrong legacy_session_id echo",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.session_id[0] ^= 1),
        ),
        sc(
            "server-hello",
            "empty legacy_session_id echo",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.session_id.clear()),
        ),
        sc(
            "server-hello",
            "compression method 1",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.compression = 1),
        ),
        sc(
            "server-hello",
            "no key_share",
            bad_hello(A::MissingExtension),
            |c| sh_with(c, |sh| sh.without(ext::KEY_SHARE)),
        ),
        sc(
            "server-hello",
            "key_share twice",
            bad_hello(A::IllegalParameter),
            |c| {
                sh_with(c, |sh| {
                    let ks = sh.extensions[1].clone();
                    sh.extensions.push(ks);
                })
            },
        ),
        sc(
            "server-hello",
            "unknown extension 0x1234",
            bad_hello(A::UnsupportedExtension),
            |c| sh_with(c, |sh| sh.extensions.push(ext(0x1234, &[]))),
        ),
        sc(
            "server-hello",
            "pre_shared_key never offered",
            bad_hello(A::UnsupportedExtension),
            |c| {
                sh_with(c, |sh| {
                    sh.extensions.push(ext(ext::PRE_SHARED_KEY, &[0, 0]))
                })
            },
        ),
        sc(
            "server-hello",
            "server_name (offered, not allowed in ServerHello)",
            bad_hello(A::IllegalParameter),
            |c| sh_with(c, |sh| sh.extensions.push(ext(ext::SERVER_NAME, &[]))),
        ),
        sc(
            "server-hello",
            "cookie in a ServerHello",
            bad_hello(A::UnsupportedExtension),
            |c| sh_with(c, |sh| sh.extensions.push(ext(ext::COOKIE, &[0, 1, 7]))),
        ),
        // HelloRetryRequest.
        sc(
            "hello-retry",
            "valid HRR (secp256r1 and a cookie) completes",
            ok(),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), Some(b"cookie"));
                c.send_hrr(&hrr)?;
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc("hello-retry", "HRR twice", bad(A::UnexpectedMessage), |c| {
            let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
            c.send_hrr(&hrr)?;
            let hrr = c.default_hrr(Some(NamedGroup::secp384r1), None);
            c.send_hrr(&hrr)
        }),
        sc(
            "hello-retry",
            "HRR that changes nothing",
            bad(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(None, None);
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR for the group we already sent",
            bad(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::X25519), None);
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR for a group not offered",
            bad(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp521r1), None);
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR with a suite not offered",
            bad(A::IllegalParameter),
            |c| {
                let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                hrr.suite = 0x1305;
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR with an unknown extension",
            bad(A::UnsupportedExtension),
            |c| {
                let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                hrr.extensions.push(ext(0x1234, &[]));
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR with an empty cookie",
            bad(A::DecodeError),
            |c| {
                let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                hrr.extensions.push(ext(ext::COOKIE, &[0, 0]));
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "ServerHello after HRR changes the suite",
            bad_hello(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                c.send_hrr(&hrr)?;
                sh_with(c, |sh| sh.suite = 0x1302)
            },
        ),
        sc(
            "hello-retry",
            "ServerHello after HRR uses the old group",
            bad_hello(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                c.send_hrr(&hrr)?;
                sh_share(c, G::X25519, &[9; 32])
            },
        ),
        // Order and unexpected messages.
        sc(
            "order",
            "EncryptedExtensions before ServerHello",
            bad(A::UnexpectedMessage),
            |c| {
                let ee = c.encrypted_extensions(&[]);
                c.send(&plain(ct::HANDSHAKE, &ee))
            },
        ),
        sc(
            "order",
            "ServerHello twice",
            bad(A::UnexpectedMessage),
            |c| {
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)?;
                c.send_hs(&sh.encode())
            },
        ),
        sc(
            "order",
            "Certificate instead of EncryptedExtensions",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                c.send_certificate()
            },
        ),
        sc(
            "order",
            "CertificateVerify before Certificate",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_certificate_verify()
            },
        ),
        sc(
            "order",
            "Finished without Certificate",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_finished()
            },
        ),
        sc(
            "order",
            "Finished before CertificateVerify",
            bad(A::UnexpectedMessage),
            |c| {
                to_cert(c)?;
                c.send_finished()
            },
        ),
        sc(
            "order",
            "NewSessionTicket during the handshake",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_hs(&nst(60, b"ticket", &[]))
            },
        ),
        sc(
            "order",
            "KeyUpdate during the handshake",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_hs(&hs_msg(hs::KEY_UPDATE, &[0]))
            },
        ),
        sc(
            "order",
            "a ClientHello from the server",
            bad(A::UnexpectedMessage),
            |c| {
                // The client's own (well-formed) ClientHello, echoed back.
                let ch = c.client_hello.clone().unwrap();
                let msg = overture_handshake::msgs::HandshakeMessage::ClientHello(ch)
                    .encode()
                    .unwrap();
                c.send(&plain(ct::HANDSHAKE, &msg))
            },
        ),
        sc(
            "order",
            "HelloRequest (TLS 1.2 only) first",
            bad(A::UnexpectedMessage),
            |c| c.send(&plain(ct::HANDSHAKE, &hs_msg(hs::HELLO_REQUEST, &[]))),
        ),
        sc(
            "order",
            "EndOfEarlyData from the server",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_hs(&hs_msg(hs::END_OF_EARLY_DATA, &[]))
            },
        ),
        sc(
            "order",
            "unknown handshake type 99",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                c.send_hs(&hs_msg(99, &[1, 2, 3]))
            },
        ),
        sc(
            "order",
            "application data before ServerHello",
            bad(A::UnexpectedMessage),
            |c| c.send(&plain(ct::APPDATA, b"early")),
        ),
        sc(
            "order",
            "application data before Finished",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                let rec = c.enc(ct::APPDATA, b"too early");
                c.send(&rec)
            },
        ),
        sc(
            "order",
            "plaintext handshake record after the key change",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[]);
                c.send(&plain(ct::HANDSHAKE, &ee))
            },
        ),
        // EncryptedExtensions.
        sc(
            "encrypted-extensions",
            "unknown extension",
            bad(A::UnsupportedExtension),
            |c| ee_with(c, &[ext(0x1234, &[])]),
        ),
        sc(
            "encrypted-extensions",
            "server_name twice",
            bad(A::IllegalParameter),
            |c| ee_with(c, &[ext(ext::SERVER_NAME, &[]), ext(ext::SERVER_NAME, &[])]),
        ),
        sc(
            "encrypted-extensions",
            "key_share (not allowed here)",
            bad(A::IllegalParameter),
            |c| ee_with(c, &[key_share_ext(G::X25519, &[9; 32])]),
        ),
        sc(
            "encrypted-extensions",
            "ALPN never offered",
            bad(A::UnsupportedExtension),
            |c| ee_with(c, &[ext(ext::ALPN, &[0, 3, 2, b'h', b'2'])]),
        ),
        sc(
            "encrypted-extensions",
            "status_request never offered",
            bad(A::UnsupportedExtension),
            |c| ee_with(c, &[ext(ext::STATUS_REQUEST, &[])]),
        ),
        sc(
            "encrypted-extensions",
            "supported_groups (allowed) completes",
            ok(),
            |c| {
                ee_with(c, &[ext(ext::SUPPORTED_GROUPS, &[0, 2, 0, 0x17])])?;
                c.application_keys();
                c.hello_and_close()
            },
        ),
        sc(
            "encrypted-extensions",
            "extensions length over-long",
            bad(A::DecodeError),
            |c| {
                to_sh(c)?;
                c.send_hs(&hs_msg(hs::ENCRYPTED_EXTENSIONS, &[0, 9, 0, 0]))
            },
        ),
        sc(
            "encrypted-extensions",
            "truncated to one byte",
            bad(A::DecodeError),
            |c| {
                to_sh(c)?;
                c.send_hs(&hs_msg(hs::ENCRYPTED_EXTENSIONS, &[0]))
            },
        ),
        sc(
            "encrypted-extensions",
            "trailing bytes",
            bad(A::DecodeError),
            |c| {
                to_sh(c)?;
                c.send_hs(&hs_msg(hs::ENCRYPTED_EXTENSIONS, &[0, 0, 1]))
            },
        ),
        // Certificate.
        sc(
            "certificate",
            "empty certificate list",
            bad(A::DecodeError),
            |c| cert_msg(c, &hs_msg(hs::CERTIFICATE, &[0, 0, 0, 0])),
        ),
        sc(
            "certificate",
            "non-empty request context",
            bad(A::IllegalParameter),
            |c| {
                let mut m = c.certificate();
                let mut body = vec![1u8, 7];
                body.extend_from_slice(&m[5..]);
                m = hs_msg(hs::CERTIFICATE, &body);
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate",
            "certificate list length over-long",
            bad(A::DecodeError),
            |c| {
                let mut m = c.certificate();
                m[5] = 0x0f;
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate",
            "certificate entry length over-long",
            bad(A::DecodeError),
            |c| {
                let mut m = c.certificate();
                m[8] = 0x0f;
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate",
            "zero-length certificate entry",
            bad(A::DecodeError),
            |c| cert_msg(c, &hs_msg(hs::CERTIFICATE, &[0, 0, 0, 5, 0, 0, 0, 0, 0])),
        ),
        ocsp(
            "stapled OCSP response and SCT list in the end entity's entry, both asked for \
             (RFC 8446 §4.4.2.1; completes)",
            ok(),
            |c| {
                to_ee(c)?;
                let m = cert_with_leaf_exts(
                    c,
                    &[
                        (ext::STATUS_REQUEST, &[1, 0, 0, 2, 0x30, 0]),
                        (18, &[0, 4, 0, 2, 7, 7]),
                    ],
                );
                c.send_hs(&m)?;
                c.send_certificate_verify()?;
                c.finish_and_greet()
            },
        ),
        ocsp(
            "empty OCSP response in the entry (RFC 6066 §8: 1 byte at least): decode_error",
            bad(A::DecodeError),
            |c| {
                let m = cert_with_leaf_exts(c, &[(ext::STATUS_REQUEST, &[1, 0, 0, 0])]);
                cert_msg(c, &m)
            },
        ),
        ocsp(
            "CertificateStatus of an unknown status_type in the entry: illegal_parameter",
            bad(A::IllegalParameter),
            |c| {
                let m = cert_with_leaf_exts(c, &[(ext::STATUS_REQUEST, &[2, 0, 0, 1, 0x30])]);
                cert_msg(c, &m)
            },
        ),
        ocsp(
            "empty SCT list, or an empty SCT in it, in the entry (RFC 6962 §3.3): decode_error",
            bad(A::DecodeError),
            |c| {
                let m = cert_with_leaf_exts(c, &[(18, &[0, 6, 0, 2, 1, 2, 0, 0])]);
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate",
            "entry extension never offered (status_request)",
            bad(A::UnsupportedExtension),
            |c| {
                let leaf = c.fixture.chain[0].clone();
                let mut list = u24(leaf.len()).to_vec();
                list.extend_from_slice(&leaf);
                list.extend_from_slice(&ext_block(&[ext(ext::STATUS_REQUEST, &[1, 0, 0, 0, 0])]));
                let mut body = vec![0u8];
                body.extend_from_slice(&u24(list.len()));
                body.extend_from_slice(&list);
                cert_msg(c, &hs_msg(hs::CERTIFICATE, &body))
            },
        ),
        sc(
            "certificate",
            "garbage instead of DER",
            bad(A::DecodeError),
            |c| {
                let m = Conn::certificate_for(&[overture::types::CertificateDer::from(
                    b"hello, I am a certificate".to_vec(),
                )]);
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate",
            "self-signed leaf nobody trusts",
            bad(A::UnknownCa),
            |c| cert_chain(c, "self-signed"),
        ),
        sc(
            "certificate",
            "100 certificates (the real path among them) completes",
            ok(),
            |c| {
                let m = Conn::certificate_for(c.fixture.chain_named("hundred-valid"));
                to_ee(c)?;
                c.send_hs(&m)?;
                c.send_certificate_verify()?;
                c.finish_and_greet()
            },
        ),
        sc(
            "certificate",
            "100 certificates, 99 look-alike issuers, no path",
            bad(A::UnknownCa),
            |c| cert_chain(c, "hundred-lookalikes"),
        ),
        sc(
            "certificate",
            "16 MiB Certificate length",
            bad(A::DecodeError),
            |c| {
                to_ee(c)?;
                let mut m = vec![hs::CERTIFICATE, 0xff, 0xff, 0xff];
                m.extend_from_slice(&[0; 100]);
                let rec = c.enc(ct::HANDSHAKE, &m);
                c.send(&rec)?;
                stall(c)
            },
        ),
        sc(
            "certificate",
            "64 KiB + 1 Certificate length (one over the limit)",
            bad(A::DecodeError),
            |c| {
                to_ee(c)?;
                let mut m = vec![hs::CERTIFICATE];
                m.extend_from_slice(&u24(64 * 1024 + 1));
                m.extend_from_slice(&[0; 100]);
                let rec = c.enc(ct::HANDSHAKE, &m);
                c.send(&rec)?;
                stall(c)
            },
        ),
        // CertificateRequest.
        sc(
            "certificate-request",
            "unknown extension is ignored; empty client Certificate; completes",
            ok(),
            |c| {
                to_ee(c)?;
                let exts = ext_block(&[
                    ext(ext::SIGNATURE_ALGORITHMS, &[0, 2, 4, 3]),
                    ext(0x1234, &[1]),
                ]);
                let mut body = vec![0u8];
                body.extend_from_slice(&exts);
                c.send_hs(&hs_msg(hs::CERTIFICATE_REQUEST, &body))?;
                c.send_certificate()?;
                c.send_certificate_verify()?;
                c.finish_and_greet()
            },
        ),
        sc(
            "certificate-request",
            "without signature_algorithms",
            bad(A::MissingExtension),
            |c| {
                to_ee(c)?;
                let mut body = vec![0u8];
                body.extend_from_slice(&ext_block(&[ext(0x1234, &[1])]));
                c.send_hs(&hs_msg(hs::CERTIFICATE_REQUEST, &body))
            },
        ),
        sc(
            "certificate-request",
            "non-empty context during the handshake",
            bad(A::IllegalParameter),
            |c| {
                to_ee(c)?;
                let mut body = vec![1u8, 9];
                body.extend_from_slice(&ext_block(&[ext(
                    ext::SIGNATURE_ALGORITHMS,
                    &[0, 2, 4, 3],
                )]));
                c.send_hs(&hs_msg(hs::CERTIFICATE_REQUEST, &body))
            },
        ),
        // CertificateVerify.
        sc(
            "certificate-verify",
            "signature with one bit flipped",
            bad(A::DecryptError),
            |c| {
                cv_msg(c, |c| {
                    let mut cv = c.certificate_verify();
                    let last = cv.len() - 5;
                    cv[last] ^= 1;
                    cv
                })
            },
        ),
        sc(
            "certificate-verify",
            "signature over the client's context string",
            bad(A::DecryptError),
            |c| {
                to_cert(c)?;
                let content = c.cv_content(b"TLS 1.3, client CertificateVerify");
                let signer = c.fixture.key.choose_scheme(&[c.fixture.scheme]).unwrap();
                let cv = Conn::certificate_verify_raw(
                    c.fixture.scheme.get(),
                    &signer.sign(&content).unwrap(),
                );
                c.send_hs(&cv)
            },
        ),
        sc(
            "certificate-verify",
            "rsa_pkcs1_sha256 (forbidden in TLS 1.3)",
            bad(A::IllegalParameter),
            |c| cv_msg(c, |_| Conn::certificate_verify_raw(0x0401, &[1; 256])),
        ),
        sc(
            "certificate-verify",
            "ed448 (never offered)",
            bad(A::IllegalParameter),
            |c| cv_msg(c, |_| Conn::certificate_verify_raw(0x0808, &[1; 114])),
        ),
        // The scheme cannot be used with the certificate's key at all: the certificate does not
        // fit (bad_certificate), rather than a signature that failed (decrypt_error).
        sc(
            "certificate-verify",
            "ecdsa_secp384r1_sha384 with a P-256 key",
            bad(A::BadCertificate),
            |c| {
                cv_msg(c, |c| {
                    let cv = c.certificate_verify();
                    let sig = body_of(&cv)[4..].to_vec();
                    Conn::certificate_verify_raw(0x0503, &sig)
                })
            },
        ),
        sc(
            "certificate-verify",
            "empty signature",
            bad(A::DecryptError),
            |c| cv_msg(c, |_| Conn::certificate_verify_raw(0x0403, &[])),
        ),
        sc(
            "certificate-verify",
            "signature length over-long",
            bad(A::DecodeError),
            |c| {
                cv_msg(c, |c| {
                    let mut cv = c.certificate_verify();
                    cv[6] = 0x7f;
                    cv
                })
            },
        ),
        // Finished.
        sc(
            "finished",
            "verify_data with one bit flipped",
            bad(A::DecryptError),
            |c| {
                fin_msg(c, |c| {
                    let mut fin = c.finished();
                    fin[10] ^= 0x80;
                    fin
                })
            },
        ),
        sc(
            "finished",
            "verify_data one byte short",
            bad(A::DecryptError),
            |c| {
                fin_msg(c, |c| {
                    let b = body_of(&c.finished());
                    hs_msg(hs::FINISHED, &b[..b.len() - 1])
                })
            },
        ),
        sc(
            "finished",
            "verify_data one byte long",
            bad(A::DecryptError),
            |c| {
                fin_msg(c, |c| {
                    let mut b = body_of(&c.finished());
                    b.push(0);
                    hs_msg(hs::FINISHED, &b)
                })
            },
        ),
        sc("finished", "empty verify_data", bad(A::DecodeError), |c| {
            fin_msg(c, |_| hs_msg(hs::FINISHED, &[]))
        }),
        // Record layer, framing and key changes.
        sc(
            "record",
            "plaintext EncryptedExtensions packed behind ServerHello (RUSTSEC-2026-0285)",
            bad_hello(A::UnexpectedMessage),
            |c| {
                let sh = c.default_server_hello();
                let msg = sh.encode();
                c.server_hello_keys(&msg);
                let ee = c.encrypted_extensions(&[]);
                c.send(&plain(ct::HANDSHAKE, &[msg, ee].concat()))
            },
        ),
        sc(
            "record",
            "EncryptedExtensions header spanning the key change",
            bad_hello(A::UnexpectedMessage),
            |c| {
                let sh = c.default_server_hello();
                let msg = sh.encode();
                c.server_hello_keys(&msg);
                let ee = c.encrypted_extensions(&[]);
                c.send(&plain(ct::HANDSHAKE, &[&msg[..], &ee[..2]].concat()))?;
                let rec = c.enc(ct::HANDSHAKE, &ee[2..]);
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "NewSessionTicket packed behind the server Finished (spans the key change)",
            bad(A::UnexpectedMessage),
            |c| {
                to_cv(c)?;
                let fin = c.finished();
                c.add_transcript(&fin);
                let rec = c.enc(ct::HANDSHAKE, &[fin, nst(60, b"ticket", &[])].concat());
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "plaintext record of 2^14 + 1 bytes",
            bad(A::RecordOverflow),
            |c| c.send(&plain(ct::HANDSHAKE, &vec![0u8; (1 << 14) + 1])),
        ),
        sc(
            "record",
            "record length field 0xffff",
            bad(A::RecordOverflow),
            |c| {
                c.send(&[ct::HANDSHAKE, 3, 3, 0xff, 0xff])?;
                stall(c)
            },
        ),
        sc(
            "record",
            "protected record of 2^14 + 256 + 1 bytes",
            bad(A::RecordOverflow),
            |c| {
                to_sh(c)?;
                let inner = vec![0u8; (1 << 14) + 256 + 1 - 16];
                let rec = c.write.as_mut().unwrap().seal_inner(&inner, None);
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "inner plaintext of 2^14 + 2 bytes",
            bad(A::RecordOverflow),
            |c| {
                to_sh(c)?;
                let rec =
                    c.write
                        .as_mut()
                        .unwrap()
                        .seal(ct::HANDSHAKE, &vec![1u8; (1 << 14) + 1], 0);
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "bad record MAC on EncryptedExtensions",
            bad(A::BadRecordMac),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[]);
                let mut rec = c.enc(ct::HANDSHAKE, &ee);
                let last = rec.len() - 1;
                rec[last] ^= 1;
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "ciphertext byte flipped",
            bad(A::BadRecordMac),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[]);
                let mut rec = c.enc(ct::HANDSHAKE, &ee);
                rec[5] ^= 1;
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "protected record shorter than a tag",
            bad(A::BadRecordMac),
            |c| {
                to_sh(c)?;
                c.send(&plain(ct::APPDATA, &[1, 2, 3]))
            },
        ),
        sc(
            "record",
            "unknown record type 99",
            bad(A::UnexpectedMessage),
            |c| c.send(&plain(99, &[1, 2])),
        ),
        sc(
            "record",
            "record version 0x0200",
            bad(A::ProtocolVersion),
            |c| {
                let sh = c.default_server_hello();
                c.send(&plain_v(ct::HANDSHAKE, 0x0200, &sh.encode()))
            },
        ),
        sc(
            "record",
            "protected record with no inner content type",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let rec = c.write.as_mut().unwrap().seal_inner(&[0, 0, 0], None);
                c.send(&rec)
            },
        ),
        sc(
            "record",
            "protected record of inner type 99",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let rec = c.write.as_mut().unwrap().seal(99, b"x", 0);
                c.send(&rec)
            },
        ),
        sc("record", "maximal padding (completes)", ok(), |c| {
            to_sh(c)?;
            let ee = c.encrypted_extensions(&[]);
            c.add_transcript(&ee);
            let pad = (1 << 14) - ee.len();
            let rec = c.write.as_mut().unwrap().seal(ct::HANDSHAKE, &ee, pad);
            c.send(&rec)?;
            c.send_certificate()?;
            c.send_certificate_verify()?;
            c.finish_and_greet()
        }),
        sc(
            "record",
            "whole flight in one protected record (completes)",
            ok(),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[]);
                c.add_transcript(&ee);
                let cert = c.certificate();
                c.add_transcript(&cert);
                let cv = c.certificate_verify();
                c.add_transcript(&cv);
                let fin = c.finished();
                c.add_transcript(&fin);
                let rec = c.enc(ct::HANDSHAKE, &[ee, cert, cv, fin].concat());
                c.send(&rec)?;
                c.application_keys();
                c.hello_and_close()
            },
        ),
        sc(
            "record",
            "every handshake byte in its own record (completes)",
            ok(),
            |c| {
                let sh = c.default_server_hello();
                let msg = sh.encode();
                c.server_hello_keys(&msg);
                for b in &msg {
                    c.send(&plain(ct::HANDSHAKE, std::slice::from_ref(b)))?;
                }
                let ee = c.encrypted_extensions(&[]);
                c.add_transcript(&ee);
                let cert = c.certificate();
                c.add_transcript(&cert);
                let cv = c.certificate_verify();
                c.add_transcript(&cv);
                let fin = c.finished();
                c.add_transcript(&fin);
                for b in [ee, cert, cv, fin].concat() {
                    let rec = c.enc(ct::HANDSHAKE, &[b]);
                    c.send(&rec)?;
                }
                c.application_keys();
                c.hello_and_close()
            },
        ),
        // Empty records and floods.
        sc(
            "empty-records",
            "0-length plaintext handshake record",
            bad(A::UnexpectedMessage),
            |c| c.send(&plain(ct::HANDSHAKE, &[])),
        ),
        sc(
            "empty-records",
            "0-length protected handshake record",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let rec = c.enc(ct::HANDSHAKE, &[]);
                c.send(&rec)
            },
        ),
        sc(
            "empty-records",
            "0-length alert record",
            bad(A::DecodeError),
            |c| c.send(&plain(ct::ALERT, &[])),
        ),
        sc(
            "empty-records",
            "0-length application data during the handshake",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                let rec = c.enc(ct::APPDATA, &[]);
                c.send(&rec)
            },
        ),
        sc(
            "empty-records",
            "10,000 empty application-data records after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                handshake(c)?;
                let mut burst = Vec::new();
                for _ in 0..10_000 {
                    burst.extend_from_slice(&c.enc(ct::APPDATA, &[]));
                }
                c.send(&burst)?;
                c.hello_and_close()
            },
        ),
        // RFC 8446 §6 (BoGo WrongMessageType-TLS13-*): once the client accepted the
        // ServerHello its alert is protected under its handshake key; the server decodes it
        // only under that key (a plaintext one fails the run, as for every scenario).
        sc(
            "alerts",
            "our alert after the ServerHello is under the client handshake key",
            bad(A::UnexpectedMessage),
            |c| {
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)?;
                let ee = c.encrypted_extensions(&[]);
                c.send_hs(&ee)?;
                // CertificateVerify where the Certificate belongs.
                c.send_certificate_verify()
            },
        ),
        sc(
            "alerts",
            "our alert after a HelloRetryRequest and ServerHello is under the handshake key",
            bad(A::UnexpectedMessage),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                c.send_hrr(&hrr)?;
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)?;
                // Finished where EncryptedExtensions belongs.
                c.send_finished()
            },
        ),
        sc(
            "alerts",
            "alert record of 3 bytes",
            bad(A::DecodeError),
            |c| c.send(&plain(ct::ALERT, &[1, 0, 0])),
        ),
        sc(
            "alerts",
            "warning unrecognized_name before the ServerHello is ignored (completes)",
            ok(),
            |c| {
                // Some TLS 1.2 servers send it when the SNI names no virtual host; until the
                // ServerHello names the version, TLS 1.2's rules apply (issue 18, as OpenSSL).
                c.send(&plain(ct::ALERT, &[1, 112]))?;
                handshake(c)?;
                c.hello_and_close()
            },
        ),
        sc(
            "alerts",
            "alert of unknown level 0x42 before the ServerHello (TLS 1.2 rules: RFC 5246 §7.2)",
            bad(A::IllegalParameter),
            |c| c.send(&plain(ct::ALERT, &[0x42, 10])),
        ),
        sc(
            "alerts",
            "alert of unknown level in TLS 1.3: the level is ignored, the alert is fatal",
            peer_alert(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                let rec = c.enc(ct::ALERT, &[0x42, 10]);
                c.send(&rec)
            },
        ),
        sc(
            "alerts",
            "five warning alerts before the ServerHello: a flood",
            bad(A::UnexpectedMessage),
            |c| c.send(&plain(ct::ALERT, &[1, 112]).repeat(5)),
        ),
        sc(
            "alerts",
            "fatal handshake_failure from the server",
            peer_alert(A::HandshakeFailure),
            |c| c.send(&plain(ct::ALERT, &[2, 40])),
        ),
        sc(
            "alerts",
            "warning-level bad_certificate in TLS 1.3 is fatal",
            peer_alert(A::BadCertificate),
            |c| {
                to_ee(c)?;
                let rec = c.enc(ct::ALERT, &[1, 42]);
                c.send(&rec)
            },
        ),
        sc(
            "alerts",
            "flood of 1,000 user_canceled warnings during the handshake",
            bad(A::UnexpectedMessage),
            |c| {
                to_ee(c)?;
                let mut burst = Vec::new();
                for _ in 0..1000 {
                    burst.extend_from_slice(&c.enc(ct::ALERT, &[1, 90]));
                }
                c.send(&burst)
            },
        ),
        sc(
            "alerts",
            "flood of 1,000 user_canceled warnings after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                handshake(c)?;
                let mut burst = Vec::new();
                for _ in 0..1000 {
                    burst.extend_from_slice(&c.enc(ct::ALERT, &[1, 90]));
                }
                c.send(&burst)?;
                c.hello_and_close()
            },
        ),
        sc(
            "close",
            "close_notify before ServerHello",
            zero_return(),
            |c| {
                c.send(&plain(ct::ALERT, &[1, 0]))?;
                stall(c)
            },
        ),
        sc(
            "close",
            "close_notify after EncryptedExtensions",
            zero_return(),
            |c| {
                to_ee(c)?;
                let rec = c.enc(ct::ALERT, &[1, 0]);
                c.send(&rec)?;
                stall(c)
            },
        ),
        sc(
            "close",
            "TCP FIN after ServerHello",
            eof_in_handshake(),
            |c| {
                to_sh(c)?;
                c.hang_up()
            },
        ),
        sc(
            "close",
            "TCP reset after ServerHello",
            io_err(io::ErrorKind::ConnectionReset),
            |c| {
                to_sh(c)?;
                std::thread::sleep(Duration::from_millis(20));
                c.reset();
                Ok(())
            },
        ),
        // ChangeCipherSpec.
        sc(
            "ccs",
            "compatibility CCS after ServerHello (completes)",
            ok(),
            |c| {
                to_sh(c)?;
                c.send(&plain(ct::CCS, &[1]))?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "ccs",
            "compatibility CCS before ServerHello (RFC 8446 §5: any time after ClientHello; completes)",
            ok(),
            |c| {
                c.send(&plain(ct::CCS, &[1]))?;
                to_sh(c)?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "ccs",
            "compatibility CCS right after a HelloRetryRequest (RFC 8446 D.4; completes)",
            ok(),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                let msg = hrr.encode();
                // HRR and CCS leave together, before the client's second ClientHello.
                c.send(&plain(ct::CCS, &[1]))?;
                c.send_hrr(&hrr)?;
                let _ = msg;
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "hello-retry",
            "HelloRetryRequest with the start of a ServerHello behind it in its record: the \
             flight ended with bytes pending (RFC 8446 §4.1.4; BoGo \
             PartialServerHelloWithHelloRetryRequest)",
            bad(A::UnexpectedMessage),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                let partial = &c.default_server_hello().encode()[..10];
                c.send(&plain(
                    ct::HANDSHAKE,
                    &[hrr.encode(), partial.to_vec()].concat(),
                ))?;
                let _ = c.read_record();
                Ok(())
            },
        ),
        sc(
            "ccs",
            "CCS before ServerHello, then another after it (RFC 8446 §5: each is dropped; \
             completes)",
            ok(),
            |c| {
                c.send(&plain(ct::CCS, &[1]))?;
                to_sh(c)?;
                c.send(&plain(ct::CCS, &[1]))?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "ccs",
            "32 CCS records in a row: the empty-record limit (completes)",
            ok(),
            |c| {
                to_sh(c)?;
                let burst: Vec<u8> = (0..32).flat_map(|_| plain(ct::CCS, &[1])).collect();
                c.send(&burst)?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "ccs",
            "33 CCS records in a row: a flood (BoGo's TooManyChangeCipherSpec)",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let burst: Vec<u8> = (0..33).flat_map(|_| plain(ct::CCS, &[1])).collect();
                c.send(&burst)
            },
        ),
        sc(
            "ccs",
            "CCS with payload 0x02",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                c.send(&plain(ct::CCS, &[2]))
            },
        ),
        sc("ccs", "CCS of two bytes", bad(A::UnexpectedMessage), |c| {
            to_sh(c)?;
            c.send(&plain(ct::CCS, &[1, 1]))
        }),
        sc("ccs", "protected CCS", bad(A::UnexpectedMessage), |c| {
            to_ee(c)?;
            let rec = c.enc(ct::CCS, &[1]);
            c.send(&rec)
        }),
        sc(
            "ccs",
            "CCS after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                handshake(c)?;
                c.send(&plain(ct::CCS, &[1]))?;
                c.hello_and_close()
            },
        ),
        // Timing: trickle and stall.
        sc(
            "timing",
            "server sends 1 byte per write (completes)",
            ok(),
            |c| {
                c.trickle = true;
                handshake(c)?;
                c.hello_and_close()
            },
        ),
        // Post-handshake messages.
        sc(
            "post-handshake",
            "32 KeyUpdates (update_not_requested) in a row: the limit (completes)",
            ok(),
            |c| key_updates(c, MAX_KEY_UPDATES_IN_A_ROW),
        ),
        sc(
            "post-handshake",
            "33 KeyUpdates in a row without application data: unexpected_message",
            read_bad(A::UnexpectedMessage),
            |c| key_updates(c, MAX_KEY_UPDATES_IN_A_ROW + 1),
        ),
        sc(
            "post-handshake",
            "32 KeyUpdate requests in one burst: one answer (completes)",
            ok(),
            |c| key_update_requests(c, 32, Some(1)),
        ),
        sc(
            "post-handshake",
            "5 KeyUpdate requests sent apart while the client is silent: one answer (completes)",
            ok(),
            |c| key_update_requests_apart(c, 5),
        ),
        flat(sc(
            "bounds",
            "100,000 KeyUpdate requests (20 between empty application data records): answers \
             coalesce, heap flat (completes)",
            ok(),
            |c| {
                handshake(c)?;
                let mut burst = Vec::new();
                for _ in 0..5_000 {
                    for _ in 0..20 {
                        burst.extend_from_slice(
                            &c.enc(ct::HANDSHAKE, &hs_msg(hs::KEY_UPDATE, &[1])),
                        );
                        c.rotate_write_key();
                    }
                    burst.extend_from_slice(&c.enc(ct::APPDATA, &[]));
                }
                c.send(&burst)?;
                let answers = |recs: &[(u8, Vec<u8>)]| {
                    recs.iter()
                        .filter(|(t, p)| *t == ct::HANDSHAKE && p.first() == Some(&hs::KEY_UPDATE))
                        .count()
                };
                if !c.wait_client(Duration::from_secs(10), |r| answers(r) > 0) {
                    return Err(io::Error::other("the client never answered"));
                }
                // One answer per batch of requests the client read at once, never one per
                // request (the client reads ~16 KiB, ~600 requests, per transport read).
                let n = answers(&c.client_application_records());
                if n > 5_000 {
                    return Err(io::Error::other(format!("{n} KeyUpdate answers")));
                }
                c.hello_and_close()
            },
        )),
        Scenario {
            flow: Flow::Shutdown,
            ..flat(sc(
                "bounds",
                "8 MiB of application data after our close_notify: discarded, heap flat",
                ok(),
                |c| {
                    handshake(c)?;
                    let closed = c.wait_client(Duration::from_secs(10), |recs| {
                        recs.iter()
                            .any(|(t, p)| *t == ct::ALERT && p.as_slice() == [1, 0])
                    });
                    if !closed {
                        return Err(io::Error::other("no close_notify from the client"));
                    }
                    let chunk = vec![0x5a; 16 * 1024];
                    for _ in 0..32 {
                        let burst: Vec<u8> =
                            (0..16).flat_map(|_| c.enc(ct::APPDATA, &chunk)).collect();
                        c.send(&burst)?;
                    }
                    let rec = c.enc(ct::ALERT, &[1, 0]);
                    c.send(&rec)
                },
            ))
        },
        sc(
            "post-handshake",
            "one KeyUpdate (update_requested): the client answers under its keys (completes)",
            ok(),
            |c| key_update_requests(c, 1, Some(1)),
        ),
        sc(
            "post-handshake",
            "10,000 NewSessionTickets (completes)",
            ok(),
            |c| {
                handshake(c)?;
                let mut burst = Vec::new();
                let t = nst(3600, &[7; 64], &[]);
                for _ in 0..10_000 {
                    burst.extend_from_slice(&c.enc(ct::HANDSHAKE, &t));
                }
                c.send(&burst)?;
                c.hello_and_close()
            },
        ),
        sc(
            "post-handshake",
            "NewSessionTickets packed 250 to a record (completes)",
            ok(),
            |c| {
                let t = nst(3600, &[7; 40], &[]);
                let many: Vec<u8> = std::iter::repeat_n(t, 250).flatten().collect();
                post(c, &[many])
            },
        ),
        sc(
            "post-handshake",
            "NewSessionTicket with an unknown extension (ignored; completes)",
            ok(),
            |c| post(c, &[nst(60, b"ticket", &[ext(0x1234, &[1, 2])])]),
        ),
        sc(
            "post-handshake",
            "NewSessionTicket lifetime over seven days",
            read_bad(A::IllegalParameter),
            |c| post(c, &[nst(604_801, b"ticket", &[])]),
        ),
        sc(
            "post-handshake",
            "NewSessionTicket with an empty ticket",
            read_bad(A::DecodeError),
            |c| post(c, &[nst(60, b"", &[])]),
        ),
        sc(
            "post-handshake",
            "NewSessionTicket truncated",
            read_bad(A::DecodeError),
            |c| post(c, &[hs_msg(hs::NEW_SESSION_TICKET, &[0, 0, 0, 60, 0])]),
        ),
        sc(
            "post-handshake",
            "16 MiB NewSessionTicket length",
            read_bad(A::DecodeError),
            |c| {
                handshake(c)?;
                let mut m = vec![hs::NEW_SESSION_TICKET, 0xff, 0xff, 0xff];
                m.extend_from_slice(&[0; 64]);
                let rec = c.enc(ct::HANDSHAKE, &m);
                c.send(&rec)?;
                stall(c)
            },
        ),
        sc(
            "post-handshake",
            "KeyUpdate request value 2",
            read_bad(A::IllegalParameter),
            |c| post(c, &[hs_msg(hs::KEY_UPDATE, &[2])]),
        ),
        sc(
            "post-handshake",
            "KeyUpdate with a trailing byte",
            read_bad(A::DecodeError),
            |c| post(c, &[hs_msg(hs::KEY_UPDATE, &[0, 0])]),
        ),
        sc(
            "post-handshake",
            "KeyUpdate with a message behind it in the same record",
            read_bad(A::UnexpectedMessage),
            |c| {
                post(
                    c,
                    &[[hs_msg(hs::KEY_UPDATE, &[0]), nst(60, b"t", &[])].concat()],
                )
            },
        ),
        sc(
            "post-handshake",
            "CertificateRequest after the handshake (post-handshake auth not offered)",
            read_bad(A::UnexpectedMessage),
            |c| {
                let mut body = vec![1u8, 1];
                body.extend_from_slice(&ext_block(&[ext(
                    ext::SIGNATURE_ALGORITHMS,
                    &[0, 2, 4, 3],
                )]));
                post(c, &[hs_msg(hs::CERTIFICATE_REQUEST, &body)])
            },
        ),
        sc(
            "post-handshake",
            "a second ServerHello after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                let sh = ServerHelloSpec {
                    legacy_version: 0x0303,
                    random: [1; 32],
                    session_id: vec![],
                    suite: 0x1301,
                    compression: 0,
                    extensions: vec![],
                };
                post(c, &[sh.encode()])
            },
        ),
        sc(
            "post-handshake",
            "application data record overflow (inner 2^14 + 2)",
            read_bad(A::RecordOverflow),
            |c| {
                handshake(c)?;
                let rec = c
                    .write
                    .as_mut()
                    .unwrap()
                    .seal(ct::APPDATA, &vec![1u8; (1 << 14) + 1], 0);
                c.send(&rec)?;
                c.hello_and_close()
            },
        ),
        sc(
            "post-handshake",
            "bad record MAC on application data",
            read_bad(A::BadRecordMac),
            |c| {
                handshake(c)?;
                let mut rec = c.enc(ct::APPDATA, GREETING);
                rec[7] ^= 4;
                c.send(&rec)?;
                c.hello_and_close()
            },
        ),
        // TLS 1.2 (offered beside TLS 1.3): the server is a TLS 1.2-only server.
        sc(
            "tls12",
            "ServerHello without extended_master_secret (RFC 7627)",
            bad(A::HandshakeFailure),
            |c| send_sh12(c, |sh| sh.without(EXT_EMS)),
        ),
        sc(
            "tls12",
            "ServerHello without renegotiation_info (RFC 5746)",
            bad(A::HandshakeFailure),
            |c| send_sh12(c, |sh| sh.without(EXT_RENEGOTIATION_INFO)),
        ),
        sc(
            "tls12",
            "renegotiation_info not empty in an initial handshake",
            bad(A::HandshakeFailure),
            |c| {
                send_sh12(c, |sh| {
                    sh.without(EXT_RENEGOTIATION_INFO);
                    sh.extensions.push(ext(EXT_RENEGOTIATION_INFO, &[2, 1, 1]));
                })
            },
        ),
        sc(
            "tls12",
            "ServerHello choosing a TLS 1.3 suite",
            bad(A::IllegalParameter),
            |c| send_sh12(c, |sh| sh.suite = 0x1301),
        ),
        sc(
            "tls12",
            "ServerHello choosing a CBC suite (not offered)",
            bad(A::IllegalParameter),
            |c| send_sh12(c, |sh| sh.suite = 0xc013),
        ),
        sc(
            "tls12",
            "ec_point_formats without uncompressed",
            bad(A::IllegalParameter),
            |c| {
                send_sh12(c, |sh| {
                    sh.without(EXT_EC_POINT_FORMATS);
                    sh.extensions.push(ext(EXT_EC_POINT_FORMATS, &[1, 1]));
                })
            },
        ),
        sc(
            "tls12",
            "key_share in a TLS 1.2 ServerHello",
            bad(A::IllegalParameter),
            |c| {
                send_sh12(c, |sh| {
                    sh.extensions.push(key_share_ext(G::X25519, &[9; 32]))
                })
            },
        ),
        sc(
            "tls12",
            "echoes our compatibility session id (no resumption offered)",
            bad(A::IllegalParameter),
            |c| {
                let id = c.client_session_id();
                send_sh12(c, |sh| sh.session_id = id)
            },
        ),
        sc(
            "tls12",
            "TLS 1.2 after a HelloRetryRequest",
            bad(A::IllegalParameter),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                c.send_hrr(&hrr)?;
                send_sh12(c, |_| {})
            },
        ),
        sc(
            "tls12",
            "ServerHelloDone without Certificate",
            bad(A::UnexpectedMessage),
            |c| {
                send_sh12(c, |_| {})?;
                c.send(&plain(ct::HANDSHAKE, &hs_msg(14, &[])))
            },
        ),
        sc("tls12", "empty Certificate", bad(A::DecodeError), |c| {
            send_sh12(c, |_| {})?;
            c.send(&plain(ct::HANDSHAKE, &hs_msg(hs::CERTIFICATE, &[0, 0, 0])))
        }),
        sc(
            "tls12",
            "Certificate list length over-long",
            bad(A::DecodeError),
            |c| {
                send_sh12(c, |_| {})?;
                let mut m = cert12(c);
                m[4] = 0x0f;
                c.send(&plain(ct::HANDSHAKE, &m))
            },
        ),
        sc(
            "tls12",
            "ServerKeyExchange for a group not offered (secp521r1)",
            bad(A::IllegalParameter),
            |c| send_ske(c, G::secp521r1, |_| {}),
        ),
        sc(
            "tls12",
            "ServerKeyExchange with explicit curve parameters",
            bad(A::IllegalParameter),
            |c| send_ske(c, G::X25519, |b| b[0] = 1),
        ),
        sc(
            "tls12",
            "ServerKeyExchange signed with a scheme that does not fit the suite",
            bad(A::IllegalParameter),
            |c| {
                send_ske(c, G::X25519, |b| {
                    let at = 4 + 32;
                    b[at..at + 2].copy_from_slice(&0x0804u16.to_be_bytes());
                })
            },
        ),
        sc(
            "tls12",
            "ServerKeyExchange with a bad signature",
            bad(A::DecryptError),
            |c| {
                send_ske(c, G::X25519, |b| {
                    let last = b.len() - 3;
                    b[last] ^= 1;
                })
            },
        ),
        sc(
            "tls12",
            "ServerKeyExchange signature length over-long",
            bad(A::DecodeError),
            |c| send_ske(c, G::X25519, |b| b[4 + 32 + 2] = 0x7f),
        ),
        sc(
            "tls12",
            "ChangeCipherSpec before ServerHelloDone",
            bad(A::UnexpectedMessage),
            |c| {
                send_ske(c, G::X25519, |_| {})?;
                c.send(&plain(ct::CCS, &[1]))
            },
        ),
        sc(
            "tls12",
            "application data before the handshake",
            bad(A::UnexpectedMessage),
            |c| {
                send_ske(c, G::X25519, |_| {})?;
                c.send(&plain(ct::APPDATA, b"early"))
            },
        ),
        // Interleaving (RFC 8446 §5.1: no other record type between the fragments of a
        // handshake message).
        sc(
            "interleave",
            "user_canceled alert between two fragments of EncryptedExtensions",
            bad(A::UnexpectedMessage),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[ext(ext::SUPPORTED_GROUPS, &[0, 2, 0, 0x17])]);
                c.add_transcript(&ee);
                let a = c.enc(ct::HANDSHAKE, &ee[..3]);
                let alert = c.enc(ct::ALERT, &[1, 90]);
                let b = c.enc(ct::HANDSHAKE, &ee[3..]);
                c.send(&[a, alert, b].concat())
            },
        ),
        sc(
            "interleave",
            "application data between two fragments of a NewSessionTicket",
            read_bad(A::UnexpectedMessage),
            |c| {
                handshake(c)?;
                let t = nst(60, b"ticket", &[]);
                let a = c.enc(ct::HANDSHAKE, &t[..5]);
                let data = c.enc(ct::APPDATA, b"interleaved");
                let b = c.enc(ct::HANDSHAKE, &t[5..]);
                c.send(&[a, data, b].concat())?;
                c.hello_and_close()
            },
        ),
        // RFC 8446 §5: a compatibility CCS is dropped "without further processing" wherever
        // it comes before the server's Finished, so it does not count as interleaving.
        sc(
            "interleave",
            "compatibility CCS between two fragments of ServerHello is dropped (completes)",
            ok(),
            |c| {
                let sh = c.default_server_hello();
                let msg = sh.encode();
                c.server_hello_keys(&msg);
                c.send(&plain(ct::HANDSHAKE, &msg[..10]))?;
                c.send(&plain(ct::CCS, &[1]))?;
                c.send(&plain(ct::HANDSHAKE, &msg[10..]))?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        sc(
            "interleave",
            "fatal alert between two fragments of Certificate is the peer's alert",
            peer_alert(A::InternalError),
            |c| {
                to_ee(c)?;
                let cert = c.certificate();
                let a = c.enc(ct::HANDSHAKE, &cert[..20]);
                let alert = c.enc(ct::ALERT, &[2, 80]);
                c.send(&[a, alert].concat())
            },
        ),
        // More malformed lengths.
        sc(
            "hello-retry",
            "HRR key_share of three bytes",
            bad(A::DecodeError),
            |c| {
                let mut hrr = c.default_hrr(None, None);
                hrr.extensions.push(ext(ext::KEY_SHARE, &[0, 0x17, 0]));
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "certificate-request",
            "extensions length over-long",
            bad(A::DecodeError),
            |c| {
                to_ee(c)?;
                c.send_hs(&hs_msg(
                    hs::CERTIFICATE_REQUEST,
                    &[0, 0x40, 0, 0, 13, 0, 4, 0, 2, 4, 3],
                ))
            },
        ),
        sc(
            "certificate-request",
            "context length past the end",
            bad(A::DecodeError),
            |c| {
                to_ee(c)?;
                c.send_hs(&hs_msg(hs::CERTIFICATE_REQUEST, &[9, 0]))
            },
        ),
        sc(
            "certificate-request",
            "signature_algorithms of odd length",
            bad(A::DecodeError),
            |c| {
                to_ee(c)?;
                let exts = ext_block(&[ext(ext::SIGNATURE_ALGORITHMS, &[0, 3, 4, 3, 5])]);
                let mut body = vec![0u8];
                body.extend_from_slice(&exts);
                c.send_hs(&hs_msg(hs::CERTIFICATE_REQUEST, &body))
            },
        ),
        sc(
            "certificate",
            "message ends inside an entry's extensions",
            bad(A::DecodeError),
            |c| {
                let mut m = c.certificate();
                // Drop the last entry's extensions length (2 bytes) and fix up the lengths.
                m.truncate(m.len() - 1);
                let body_len = m.len() - 4;
                m[1..4].copy_from_slice(&u24(body_len));
                m[5..8].copy_from_slice(&u24(body_len - 4));
                cert_msg(c, &m)
            },
        ),
        sc(
            "certificate-verify",
            "only the scheme",
            bad(A::DecodeError),
            |c| cv_msg(c, |_| hs_msg(hs::CERTIFICATE_VERIFY, &[4, 3])),
        ),
        sc(
            "post-handshake",
            "NewSessionTicket extensions length over-long",
            read_bad(A::DecodeError),
            |c| {
                let mut t = nst(60, b"ticket", &[]);
                let n = t.len();
                t[n - 2] = 0x10;
                post(c, &[t])
            },
        ),
        sc(
            "post-handshake",
            "NewSessionTicket nonce length past the end",
            read_bad(A::DecodeError),
            |c| {
                let mut t = nst(60, b"ticket", &[]);
                t[12] = 0xff;
                post(c, &[t])
            },
        ),
        // More probes of the handshake's rules.
        sc(
            "hello-retry",
            "HRR selecting TLS 1.2 in supported_versions",
            bad(A::IllegalParameter),
            |c| {
                let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                hrr.without(ext::SUPPORTED_VERSIONS);
                hrr.extensions.push(supported_versions_ext(0x0303));
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "hello-retry",
            "HRR with a wrong legacy_session_id echo",
            bad(A::IllegalParameter),
            |c| {
                let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                hrr.session_id[0] ^= 0x80;
                c.send_hrr(&hrr)
            },
        ),
        sc(
            "server-hello",
            "supported_versions body of three bytes",
            bad_hello(A::DecodeError),
            |c| {
                sh_with(c, |sh| {
                    sh.without(ext::SUPPORTED_VERSIONS);
                    sh.extensions.push(ext(ext::SUPPORTED_VERSIONS, &[3, 4, 0]));
                })
            },
        ),
        sc(
            "encrypted-extensions",
            "early_data never offered",
            bad(A::UnsupportedExtension),
            |c| ee_with(c, &[ext(ext::EARLY_DATA, &[])]),
        ),
        sc(
            "encrypted-extensions",
            "record_size_limit never offered",
            bad(A::UnsupportedExtension),
            |c| ee_with(c, &[ext(28, &[0x40, 0])]),
        ),
        sc(
            "certificate",
            "an undecodable extra certificate beside a valid path (completes)",
            ok(),
            |c| {
                let chain = vec![
                    c.fixture.chain[0].clone(),
                    overture::types::CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]),
                    c.fixture.chain[1].clone(),
                ];
                let m = Conn::certificate_for(&chain);
                to_ee(c)?;
                c.send_hs(&m)?;
                c.send_certificate_verify()?;
                c.finish_and_greet()
            },
        ),
        sc(
            "certificate-verify",
            "signed by another P-256 key than the certificate's",
            bad(A::DecryptError),
            |c| {
                cv_msg(c, |c| {
                    let other =
                        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
                    let key = overture::crypto::KeyProvider::load_private_key(
                        &overture::crypto::ring::KEY_PROVIDER,
                        overture::types::PrivateKeyDer::Pkcs8(other.serialize_der().into()),
                    )
                    .unwrap();
                    let content = c.cv_content(b"TLS 1.3, server CertificateVerify");
                    let signer = key.choose_scheme(&[c.fixture.scheme]).unwrap();
                    Conn::certificate_verify_raw(
                        c.fixture.scheme.get(),
                        &signer.sign(&content).unwrap(),
                    )
                })
            },
        ),
        sc(
            "post-handshake",
            "NewSessionTicket early_data extension of three bytes",
            read_bad(A::DecodeError),
            |c| {
                post(
                    c,
                    &[nst(60, b"ticket", &[ext(ext::EARLY_DATA, &[0, 0, 1])])],
                )
            },
        ),
        // TLS 1.2 after the key exchange: the scripted server completes a real TLS 1.2
        // handshake (ECDHE-ECDSA-AES128-GCM-SHA256, extended master secret) and misbehaves.
        sc(
            "tls12",
            "server sends 1 byte per write (completes)",
            ok(),
            |c| {
                c.trickle = true;
                c.tls12_handshake(&sh12())?;
                c.tls12_hello_and_close()
            },
        ),
        sc(
            "tls12",
            "server Finished split into 1-byte protected records (completes)",
            ok(),
            |c| {
                c.tls12_to_server_hello_done(&sh12())?;
                c.tls12_read_client_flight()?;
                c.send(&plain(ct::CCS, &[1]))?;
                c.tls12_start_encryption();
                let fin = c.tls12_finished();
                let recs: Vec<u8> = fin
                    .iter()
                    .flat_map(|b| c.enc12(ct::HANDSHAKE, &[*b]))
                    .collect();
                c.send(&recs)?;
                c.tls12_hello_and_close()
            },
        ),
        sc(
            "tls12",
            "complete TLS 1.2 handshake (completes)",
            ok(),
            |c| {
                c.tls12_handshake(&sh12())?;
                c.tls12_hello_and_close()
            },
        ),
        sc(
            "tls12",
            "server Finished with one bit flipped",
            bad(A::DecryptError),
            |c| {
                tls12_to_ccs(c)?;
                let mut fin = c.tls12_finished();
                fin[6] ^= 1;
                let rec = c.enc12(ct::HANDSHAKE, &fin);
                c.send(&rec)
            },
        ),
        sc(
            "tls12",
            "server Finished without ChangeCipherSpec",
            bad(A::UnexpectedMessage),
            |c| {
                c.tls12_to_server_hello_done(&sh12())?;
                c.tls12_read_client_flight()?;
                let fin = c.tls12_finished();
                c.send(&plain(ct::HANDSHAKE, &fin))
            },
        ),
        sc(
            "tls12",
            "bad record MAC on the server Finished",
            bad(A::BadRecordMac),
            |c| {
                tls12_to_ccs(c)?;
                let fin = c.tls12_finished();
                let mut rec = c.enc12(ct::HANDSHAKE, &fin);
                let last = rec.len() - 1;
                rec[last] ^= 1;
                c.send(&rec)
            },
        ),
        sc(
            "tls12",
            "protected record shorter than explicit nonce and tag",
            bad(A::BadRecordMac),
            |c| {
                tls12_to_ccs(c)?;
                c.send(&plain(ct::HANDSHAKE, &[0; 20]))
            },
        ),
        sc(
            "tls12",
            "application data before the server Finished",
            bad(A::UnexpectedMessage),
            |c| {
                tls12_to_ccs(c)?;
                let rec = c.enc12(ct::APPDATA, b"early");
                c.send(&rec)
            },
        ),
        sc(
            "tls12",
            "two ChangeCipherSpec",
            bad(A::UnexpectedMessage),
            |c| {
                tls12_to_ccs(c)?;
                c.send(&plain(ct::CCS, &[1]))
            },
        ),
        sc(
            "tls12",
            "record version 0x0301 after ServerHello",
            bad(A::ProtocolVersion),
            |c| {
                send_sh12(c, |_| {})?;
                let cert = cert12(c);
                c.send(&plain_v(ct::HANDSHAKE, 0x0301, &cert))
            },
        ),
        sc(
            "tls12",
            "ServerHelloDone with a body",
            bad(A::DecodeError),
            |c| {
                to_cert12(c)?;
                let m = ske(c, G::X25519, &[9; 32], |_| {});
                c.send(&plain(ct::HANDSHAKE, &m))?;
                c.send(&plain(ct::HANDSHAKE, &hs_msg(14, &[0])))
            },
        ),
        sc(
            "tls12",
            "protected record over 2^14 + 2048 bytes",
            bad(A::RecordOverflow),
            |c| {
                tls12_to_ccs(c)?;
                let mut rec = vec![ct::HANDSHAKE, 3, 3];
                rec.extend_from_slice(&u16b((1 << 14) + 2049));
                rec.resize(5 + (1 << 14) + 2049, 0);
                c.send(&rec)
            },
        ),
        sc(
            "tls12",
            "four warning alerts after the handshake (tolerated; completes)",
            ok(),
            |c| {
                tls12_post(c, |c| {
                    (0..4).flat_map(|_| c.enc12(ct::ALERT, &[1, 43])).collect()
                })
            },
        ),
        sc(
            "tls12",
            "ServerHelloDone with the start of a NewSessionTicket behind it in its record: \
             the flight ended with bytes pending (BoGo PartialNewSessionTicketWithServerHelloDone)",
            bad(A::UnexpectedMessage),
            |c| {
                let partial = &hs_msg(hs::NEW_SESSION_TICKET, &[0; 10])[..6];
                c.tls12_to_server_hello_done_then(&sh12(), partial)?;
                let _ = c.read_record();
                Ok(())
            },
        ),
        Scenario {
            flow: Flow::Shutdown,
            ..sc(
                "tls12",
                "HelloRequest after our close_notify: ignored, nothing more sent (completes)",
                ok(),
                |c| {
                    c.tls12_handshake(&sh12())?;
                    // The client shuts down at once; its close_notify is its only alert.
                    let alerts = |c: &Conn| {
                        c.client_record_types()
                            .iter()
                            .filter(|&&t| t == ct::ALERT)
                            .count()
                    };
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while alerts(c) == 0 && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let req = c.enc12(ct::HANDSHAKE, &hs_msg(hs::HELLO_REQUEST, &[]));
                    c.send(&req)?;
                    std::thread::sleep(Duration::from_millis(100));
                    let rec = c.enc12(ct::ALERT, &[1, 0]);
                    c.send(&rec)?;
                    c.wait_for_client_close(Duration::from_secs(5));
                    match alerts(c) {
                        1 => Ok(()),
                        n => Err(io::Error::other(format!(
                            "{n} alert records from the client, expected its close_notify only"
                        ))),
                    }
                },
            )
        },
        sc(
            "tls12",
            "alert of unknown level 0x42 after the handshake (RFC 5246 §7.2)",
            read_bad(A::IllegalParameter),
            |c| tls12_post(c, |c| c.enc12(ct::ALERT, &[0x42, 10])),
        ),
        sc(
            "tls12",
            "five warning alerts in a row after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                tls12_post(c, |c| {
                    (0..5).flat_map(|_| c.enc12(ct::ALERT, &[1, 43])).collect()
                })
            },
        ),
        sc(
            "tls12",
            "10,000 empty application-data records after the handshake",
            read_bad(A::UnexpectedMessage),
            |c| {
                tls12_post(c, |c| {
                    (0..10_000)
                        .flat_map(|_| c.enc12(ct::APPDATA, &[]))
                        .collect()
                })
            },
        ),
        flat(sc(
            "bounds",
            "100,000 TLS 1.2 HelloRequests: one no_renegotiation warning pending at a time, \
             heap flat (completes)",
            ok(),
            |c| {
                tls12_post(c, |c| {
                    let requests = hs_msg(hs::HELLO_REQUEST, &[]).repeat(100_000);
                    requests
                        .chunks(16 * 1024)
                        .flat_map(|r| c.enc12(ct::HANDSHAKE, r))
                        .collect()
                })
            },
        )),
        sc(
            "tls12",
            "HelloRequest after the handshake (no renegotiation; completes)",
            ok(),
            |c| {
                tls12_post(c, |c| {
                    c.enc12(ct::HANDSHAKE, &hs_msg(hs::HELLO_REQUEST, &[]))
                })
            },
        ),
        sc(
            "tls12",
            "bad record MAC on application data",
            read_bad(A::BadRecordMac),
            |c| {
                tls12_post(c, |c| {
                    let mut rec = c.enc12(ct::APPDATA, b"data");
                    rec[14] ^= 1;
                    rec
                })
            },
        ),
        // Resumption: the connection after one that issued a ticket.
        resumed(
            "resumption",
            "PSK resumption without a certificate (completes)",
            ok(),
            |c| {
                psk_server_hello(c, |_| {})?;
                let ee = c.encrypted_extensions(&[]);
                c.send_hs(&ee)?;
                c.finish_and_greet()
            },
        ),
        resumed(
            "resumption",
            "PSK accepted, then a Certificate anyway",
            bad(A::UnexpectedMessage),
            |c| {
                psk_server_hello(c, |_| {})?;
                let ee = c.encrypted_extensions(&[]);
                c.send_hs(&ee)?;
                c.send_certificate()
            },
        ),
        resumed(
            "resumption",
            "the server keys the handshake with another PSK",
            bad(A::BadRecordMac),
            |c| {
                if !c.client_offers_psk() {
                    return Err(io::Error::other("the client offered no PSK"));
                }
                c.psk = Some(vec![0x55; 32]);
                let mut sh = c.default_server_hello();
                sh.extensions.push(ext(ext::PRE_SHARED_KEY, &[0, 0]));
                c.send_server_hello(&sh)?;
                let ee = c.encrypted_extensions(&[]);
                c.send_hs(&ee)
            },
        ),
        resumed(
            "resumption",
            "selected_identity out of range",
            bad_hello(A::IllegalParameter),
            |c| {
                psk_server_hello(c, |sh| {
                    sh.without(ext::PRE_SHARED_KEY);
                    sh.extensions.push(ext(ext::PRE_SHARED_KEY, &[0, 1]));
                })
            },
        ),
        resumed(
            "resumption",
            "PSK with a suite of another hash (SHA-384)",
            bad_hello(A::IllegalParameter),
            |c| {
                c.suite = &overture::crypto::ring::TLS13_AES_256_GCM_SHA384;
                psk_server_hello(c, |_| {})
            },
        ),
        resumed(
            "resumption",
            "pre_shared_key of three bytes",
            bad_hello(A::DecodeError),
            |c| {
                psk_server_hello(c, |sh| {
                    sh.without(ext::PRE_SHARED_KEY);
                    sh.extensions.push(ext(ext::PRE_SHARED_KEY, &[0, 0, 0]));
                })
            },
        ),
        resumed(
            "resumption",
            "PSK accepted without key_share (only psk_dhe_ke offered)",
            bad_hello(A::MissingExtension),
            |c| psk_server_hello(c, |sh| sh.without(ext::KEY_SHARE)),
        ),
        sc("baseline", "correct handshake (completes)", ok(), |c| {
            handshake(c)?;
            c.hello_and_close()
        }),
        sc("baseline", "HRR for secp384r1 (completes)", ok(), |c| {
            hrr_then_continue(c, NamedGroup::secp384r1)
        }),
    ];
    for (name, script) in [
        (
            "server stalls before ServerHello (times out as configured)",
            stall as Script,
        ),
        (
            "server stalls after Certificate (times out as configured)",
            |c: &mut Conn| {
                to_cert(c)?;
                stall(c)
            },
        ),
    ] {
        v.push(Scenario {
            area: "timing",
            name,
            script,
            expect: timed_out(),
            timeout: STALL_TIMEOUT,
            prelude: None,
            flow: Flow::Read,
            peak_bound: PEAK_HEAP_BOUND,
            record_size_limit: None,
            ech: false,
            no_sni: false,
            ocsp: false,
            early_data: None,
        });
    }
    // The over-long handshake length waits for bytes that never come: it times out too.
    for s in v.iter_mut() {
        if s.name.starts_with("handshake length says more") {
            s.timeout = STALL_TIMEOUT;
        }
    }
    v.extend(record_size_limit_scenarios());
    v.extend(ech_scenarios());
    v.extend(early_data_scenarios());
    v
}

// ---- record_size_limit (RFC 8449) ----------------------------------------------------------

/// The limit the client offers in these scenarios: a TLS 1.3 inner plaintext (content, type
/// and padding) of at most 512 bytes, so at most 511 content bytes.
const OUR_RSL: u16 = 512;

/// Adds `msg` to the transcript and sends it in protected handshake records of at most
/// `fragment` bytes each.
fn send_hs_fragmented(c: &mut Conn, msg: &[u8], fragment: usize) -> R {
    c.add_transcript(msg);
    for part in msg.chunks(fragment) {
        let rec = c.enc(ct::HANDSHAKE, part);
        c.send(&rec)?;
    }
    Ok(())
}

/// A complete handshake whose EncryptedExtensions carries `server_limit` as the server's
/// record_size_limit (none: the server does not know the extension), and whose handshake
/// messages go out in records of at most `fragment` content bytes.
fn rsl_handshake(c: &mut Conn, server_limit: Option<u16>, fragment: usize) -> R {
    to_sh(c)?;
    let exts: Vec<Vec<u8>> = server_limit
        .map(|l| ext(ext::RECORD_SIZE_LIMIT, &l.to_be_bytes()))
        .into_iter()
        .collect();
    let ee = c.encrypted_extensions(&exts);
    send_hs_fragmented(c, &ee, fragment)?;
    let cert = c.certificate();
    send_hs_fragmented(c, &cert, fragment)?;
    let cv = c.certificate_verify();
    send_hs_fragmented(c, &cv, fragment)?;
    let fin = c.finished();
    send_hs_fragmented(c, &fin, fragment)?;
    c.application_keys();
    Ok(())
}

/// The most content bytes a TLS 1.3 record within [`OUR_RSL`] holds.
const RSL_FRAGMENT: usize = OUR_RSL as usize - 1;

fn rsl(name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        record_size_limit: Some(OUR_RSL),
        ..sc("record_size_limit", name, expect, script)
    }
}

fn record_size_limit_scenarios() -> Vec<Scenario> {
    vec![
        rsl(
            "server answers 1024, every record within our 512: completes",
            ok(),
            |c| {
                // The Certificate (over 512 bytes) goes out in records of the largest size we
                // accept: 511 content bytes + the type = 512.
                rsl_handshake(c, Some(1024), RSL_FRAGMENT)?;
                c.hello_and_close()
            },
        ),
        rsl(
            "server does not answer: a Certificate record over 512 still accepted",
            ok(),
            |c| {
                rsl_handshake(c, None, 1 << 14)?;
                c.hello_and_close()
            },
        ),
        rsl(
            "application data record of inner plaintext 513 over our 512",
            read_bad(A::RecordOverflow),
            |c| {
                rsl_handshake(c, Some(1024), RSL_FRAGMENT)?;
                let rec = c.enc(ct::APPDATA, &[b'x'; RSL_FRAGMENT + 1]);
                c.send(&rec)?;
                c.hello_and_close()
            },
        ),
        rsl(
            "padding takes the inner plaintext to 513 over our 512",
            read_bad(A::RecordOverflow),
            |c| {
                rsl_handshake(c, Some(1024), RSL_FRAGMENT)?;
                // 100 content bytes + type + 412 zeros = 513.
                let rec = c
                    .write
                    .as_mut()
                    .unwrap()
                    .seal(ct::APPDATA, &[b'x'; 100], 412);
                c.send(&rec)?;
                c.hello_and_close()
            },
        ),
        rsl(
            "a record header announcing 512 + 256 bytes: refused before its body",
            read_bad(A::RecordOverflow),
            |c| {
                rsl_handshake(c, Some(1024), RSL_FRAGMENT)?;
                // 512 + 255 is the most a TLS 1.3 record within our limit can take.
                c.send(&[ct::APPDATA, 3, 3, 0x03, 0x00])?;
                stall(c)
            },
        ),
        rsl(
            "handshake record over our 512 after the server agreed to it",
            bad(A::RecordOverflow),
            |c| {
                to_sh(c)?;
                let ee =
                    c.encrypted_extensions(&[ext(ext::RECORD_SIZE_LIMIT, &1024u16.to_be_bytes())]);
                c.send_hs(&ee)?;
                // The Certificate (two certificates, well over 512 bytes) in one record.
                let cert = c.certificate();
                if cert.len() < usize::from(OUR_RSL) {
                    return Err(io::Error::other("the Certificate fits in our limit"));
                }
                c.send_hs(&cert)?;
                c.send_certificate_verify()?;
                c.send_finished()
            },
        ),
    ]
}

// ---- Encrypted Client Hello (RFC 9849) -------------------------------------------------------

/// A scenario where the client offers ECH with the fixture's config (public name localhost).
fn ech(name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        ech: true,
        ..sc("ech", name, expect, script)
    }
}

/// The ServerHello of a server that accepted ECH (decrypted, confirmed), and `ee_exts`.
fn ech_accepted_to_ee(c: &mut Conn, ee_exts: &[Vec<u8>]) -> R {
    c.ech_accept()?;
    let mut sh = c.default_server_hello();
    c.ech_confirm_server_hello(&mut sh);
    c.send_server_hello(&sh)?;
    let ee = c.encrypted_extensions(ee_exts);
    c.send_hs(&ee)
}

/// A HelloRetryRequest (for secp256r1, offered without a share) from a server that decrypted
/// ClientHelloInner1, with `confirmation` as its ECH extension (`None`: the correct one);
/// then the second ClientHello is read (and decrypted when `open_second`).
fn ech_hrr(c: &mut Conn, confirmation: Option<&[u8]>, open_second: bool) -> R {
    c.ech_accept()?;
    let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
    match confirmation {
        None => c.ech_confirm_hrr(&mut hrr),
        Some(bytes) => hrr.extensions.push(ext(0xfe0d, bytes)),
    }
    let msg = hrr.encode();
    c.send(&plain(ct::HANDSHAKE, &msg))?;
    c.accept()?;
    if open_second {
        c.ech_accept_retry(&msg)?;
    }
    Ok(())
}

/// The outer handshake of a server that does not decrypt (rejects ECH), with `ee_exts`, up
/// to its Finished: a client that authenticated the public name sends its Finished, then
/// ech_required under its application key (which the server decodes it with).
fn ech_rejected(c: &mut Conn, ee_exts: &[Vec<u8>]) -> R {
    to_sh(c)?;
    let ee = c.encrypted_extensions(ee_exts);
    c.send_hs(&ee)?;
    c.send_certificate()?;
    c.send_certificate_verify()?;
    c.send_finished()?;
    c.application_keys();
    Ok(())
}

/// An ECH-accepted handshake that issues a ticket (the prelude of a resumption scenario).
fn ech_issue_ticket(c: &mut Conn) -> R {
    ech_accepted_to_ee(c, &[])?;
    c.send_certificate()?;
    c.send_certificate_verify()?;
    c.send_finished()?;
    c.application_keys();
    c.ticket_psk(&[0]);
    let rec = c.enc(ct::HANDSHAKE, &nst(3600, &[7; 32], &[]));
    c.send(&rec)?;
    c.hello_and_close()
}

/// [`ech_rejected`] after a HelloRetryRequest: the ServerHello, then the outer handshake.
fn ech_rejected_after_hello(c: &mut Conn) -> R {
    let sh = c.default_server_hello();
    c.send_server_hello(&sh)?;
    let ee = c.encrypted_extensions(&[]);
    c.send_hs(&ee)?;
    c.send_certificate()?;
    c.send_certificate_verify()?;
    c.send_finished()?;
    c.application_keys();
    Ok(())
}

fn ech_scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            prelude: Some(ech_issue_ticket),
            ..ech(
                "ECH rejected, yet the ServerHello selects the PSK the client offered only in \
                 the inner hello (the outer one carries a GREASE PSK): illegal_parameter",
                bad_hello(A::IllegalParameter),
                |c| psk_server_hello(c, |_| {}),
            )
        },
        ech(
            "ECH: server decrypts ClientHelloInner and confirms it: accepted, completes",
            ok(),
            |c| {
                ech_accepted_to_ee(c, &[])?;
                c.send_certificate()?;
                c.send_certificate_verify()?;
                c.finish_and_greet()
            },
        ),
        ech(
            "ECH: HelloRetryRequest and ServerHello both confirm: the second ClientHelloOuter \
             opens with the same HPKE context, completes",
            ok(),
            |c| {
                ech_hrr(c, None, true)?;
                let mut sh = c.default_server_hello();
                c.ech_confirm_server_hello(&mut sh);
                c.send_server_hello(&sh)?;
                c.rest_of_flight()?;
                c.hello_and_close()
            },
        ),
        ech(
            "ECH: ServerHello.random without a valid confirmation: rejected, the outer handshake \
             authenticates the public name and ends with ech_required",
            bad(A::EchRequired),
            |c| {
                let list = c.fixture.ech.list.clone();
                ech_rejected(c, &[ext(0xfe0d, &list)])
            },
        ),
        Scenario {
            no_sni: true,
            ..ech(
                "ECH rejected by a HelloRetryRequest, SNI off for the inner name: the second \
                 ClientHello repeats the first outer one, public_name SNI included (RFC 8446 \
                 §4.1.2; BoGo TLS-ECH-Client-Reject-HelloRetryRequest), then ech_required",
                bad(A::EchRequired),
                |c| {
                    let mut hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                    // A confirmation that does not verify: ECH is rejected here.
                    hrr.extensions.push(ext(0xfe0d, &[0; 8]));
                    c.send_hrr(&hrr)?;
                    ech_rejected_after_hello(c)
                },
            )
        },
        ech(
            "ECH rejected with ~64 KiB of retry_configs (a thousand configs): kept within the \
             handshake message limit, heap bounded, ech_required",
            bad(A::EchRequired),
            |c| {
                let config = &c.fixture.ech.config;
                let n = 64_000 / config.len();
                let body: Vec<u8> = config.repeat(n);
                let mut list = u16b(body.len()).to_vec();
                list.extend_from_slice(&body);
                ech_rejected(c, &[ext(0xfe0d, &list)])
            },
        ),
        ech(
            "ECH rejected without retry_configs: ech_required",
            bad(A::EchRequired),
            |c| ech_rejected(c, &[]),
        ),
        ech(
            "ECH: a HelloRetryRequest without the ECH extension rejects it: the second \
             ClientHello is the outer one (its ECH extension repeated), the outer handshake \
             ends with ech_required",
            bad(A::EchRequired),
            |c| {
                let hrr = c.default_hrr(Some(NamedGroup::secp256r1), None);
                c.send_hrr(&hrr)?;
                let list = c.fixture.ech.list.clone();
                ech_rejected(c, &[ext(0xfe0d, &list)])
            },
        ),
        ech(
            "ECH: the HelloRetryRequest confirms, the ServerHello does not: illegal_parameter",
            bad_hello(A::IllegalParameter),
            |c| {
                ech_hrr(c, None, true)?;
                let sh = c.default_server_hello();
                c.send_server_hello(&sh)
            },
        ),
        ech(
            "ECH: the HelloRetryRequest's confirmation is 7 bytes: decode_error",
            bad(A::DecodeError),
            |c| ech_hrr(c, Some(&[0; 7]), false),
        ),
        ech(
            "ECH retry_configs in EncryptedExtensions after an acceptance: unsupported_extension",
            bad(A::UnsupportedExtension),
            |c| {
                let list = c.fixture.ech.list.clone();
                ech_accepted_to_ee(c, &[ext(0xfe0d, &list)])
            },
        ),
        ech(
            "ECH: malformed retry_configs after a rejection: decode_error",
            bad(A::DecodeError),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[ext(0xfe0d, &[0, 5, 0xfe, 0x0d, 0, 9])]);
                c.send_hs(&ee)
            },
        ),
    ]
}

// ---- 0-RTT early data (RFC 8446 §4.2.10) ---------------------------------------------------

/// What the early-data scenarios' client writes as 0-RTT data.
const EARLY: &[u8] = b"GET /replayable HTTP/1.1\r\n\r\n";
/// The max_early_data_size of the small ticket: less than [`EARLY`].
const SMALL_EARLY: usize = 10;

/// A correct handshake that issues one ticket allowing `max` bytes of 0-RTT data.
fn issue_ticket_allowing(c: &mut Conn, max: u32) -> R {
    handshake(c)?;
    c.ticket_psk(&[0]);
    let early_data = ext(ext::EARLY_DATA, &max.to_be_bytes());
    let rec = c.enc(ct::HANDSHAKE, &nst(3600, &[7; 32], &[early_data]));
    c.send(&rec)?;
    c.hello_and_close()
}

/// A ticket allowing 16 KiB of early data.
fn issue_early_ticket(c: &mut Conn) -> R {
    issue_ticket_allowing(c, 16384)
}

/// A ticket allowing [`SMALL_EARLY`] bytes of early data.
fn issue_small_early_ticket(c: &mut Conn) -> R {
    issue_ticket_allowing(c, SMALL_EARLY as u32)
}

/// A scenario whose client holds a ticket allowing early data and writes [`EARLY`] before
/// `connect()`.
fn early(name: &'static str, expect: Expect, script: Script) -> Scenario {
    Scenario {
        prelude: Some(issue_early_ticket),
        early_data: Some(EARLY),
        ..sc("early_data", name, expect, script)
    }
}

/// The client must have offered early_data with its ticket.
fn expect_early_offer(c: &Conn) -> R {
    match &c.client_hello {
        Some(ch) if c.client_offers_psk() && offers_early_data(ch) => Ok(()),
        _ => Err(io::Error::other(
            "the client offered no early data with a ticket allowing it",
        )),
    }
}

/// Ends a scenario whose client broke an early-data rule: a fatal alert (so the run fails
/// on the client side too) and the reason.
fn refuse(c: &mut Conn, why: String) -> R {
    let rec = c.enc(ct::ALERT, &[2, 10]);
    let _ = c.send(&rec);
    Err(io::Error::other(why))
}

/// Waits (at most 5 s) for the client's Finished, under its handshake key.
fn wait_client_finished(c: &Conn) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let done = c.client_records().iter().any(|(k, t, b)| {
            *k == KeyUsed::Handshake && *t == ct::HANDSHAKE && b.first() == Some(&hs::FINISHED)
        });
        if done || Instant::now() > deadline {
            return done;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The client's records after the server's flight: its 0-RTT data must be exactly `want`,
/// then (accepted) EndOfEarlyData under the early key, and after its first handshake-key
/// record no early record at all.
fn check_client_records(c: &Conn, accepted: bool, want: &[u8]) -> Result<(), String> {
    let recs = c.client_records();
    let first_hs = recs
        .iter()
        .position(|(k, _, _)| *k == KeyUsed::Handshake)
        .ok_or("no record under the client handshake key")?;
    if let Some(i) = recs
        .iter()
        .skip(first_hs)
        .position(|(k, _, _)| *k == KeyUsed::Early)
    {
        return Err(format!(
            "an early-key record after the handshake key (record {})",
            first_hs + i
        ));
    }
    if recs.iter().any(|(k, _, _)| *k == KeyUsed::Unknown) {
        return Err("a record no key of the client opens".into());
    }
    let early: Vec<_> = recs
        .iter()
        .filter(|(k, _, _)| *k == KeyUsed::Early)
        .collect();
    let data: Vec<u8> = early
        .iter()
        .filter(|(_, t, _)| *t == ct::APPDATA)
        .flat_map(|(_, _, b)| b.clone())
        .collect();
    if data != want {
        return Err(format!("0-RTT data {data:?}, expected {want:?}"));
    }
    let eoed = early
        .last()
        .is_some_and(|(_, t, b)| *t == ct::HANDSHAKE && b[..] == [hs::END_OF_EARLY_DATA, 0, 0, 0]);
    if eoed != accepted {
        return Err(format!(
            "EndOfEarlyData {} under the early key",
            if accepted { "missing" } else { "sent" }
        ));
    }
    Ok(())
}

/// PSK accepted, EncryptedExtensions with `exts`, Finished; then the client's records are
/// checked ([`check_client_records`]) before the greeting.
fn early_answer(c: &mut Conn, exts: &[Vec<u8>], accepted: bool) -> R {
    early_answer_expecting(c, exts, accepted, EARLY)
}

/// [`early_answer`] where the client's 0-RTT data must be `want`.
fn early_answer_expecting(c: &mut Conn, exts: &[Vec<u8>], accepted: bool, want: &[u8]) -> R {
    expect_early_offer(c)?;
    psk_server_hello(c, |_| {})?;
    let ee = c.encrypted_extensions(exts);
    c.send_hs(&ee)?;
    c.send_finished()?;
    c.application_keys();
    if !wait_client_finished(c) {
        return refuse(c, "the client sent no Finished".into());
    }
    if let Err(why) = check_client_records(c, accepted, want) {
        return refuse(c, why);
    }
    c.hello_and_close()
}

fn early_data_scenarios() -> Vec<Scenario> {
    vec![
        // The bound is the ticket's: of the request, exactly what it allows leaves as 0-RTT
        // data (one byte more and a server fails the connection, RFC 8446 §4.2.10).
        Scenario {
            prelude: Some(issue_small_early_ticket),
            ..early(
                "the ticket allows 10 bytes: exactly 10 leave as 0-RTT data (completes)",
                ok(),
                |c| {
                    early_answer_expecting(
                        c,
                        &[ext(ext::EARLY_DATA, &[])],
                        true,
                        &EARLY[..SMALL_EARLY],
                    )
                },
            )
        },
        early(
            "accepted: 0-RTT data, EndOfEarlyData under the early key, then Finished (completes)",
            ok(),
            |c| early_answer(c, &[ext(ext::EARLY_DATA, &[])], true),
        ),
        early(
            "rejected by EncryptedExtensions: no early record after it, no EndOfEarlyData (completes)",
            ok(),
            |c| early_answer(c, &[], false),
        ),
        early(
            "rejected by a full handshake (PSK declined): no early record after it (completes)",
            ok(),
            |c| {
                expect_early_offer(c)?;
                c.full_handshake()?;
                if !wait_client_finished(c) {
                    return refuse(c, "the client sent no Finished".into());
                }
                if let Err(why) = check_client_records(c, false, EARLY) {
                    return refuse(c, why);
                }
                c.hello_and_close()
            },
        ),
        early(
            "rejected by a HelloRetryRequest: the second ClientHello in plaintext, without \
             early_data (completes)",
            ok(),
            |c| {
                expect_early_offer(c)?;
                hrr_then_continue(c, NamedGroup::secp384r1)
            },
        ),
        early(
            "accepted in a full handshake (the PSK was declined)",
            bad(A::IllegalParameter),
            |c| {
                expect_early_offer(c)?;
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[ext(ext::EARLY_DATA, &[])]);
                c.send_hs(&ee)
            },
        ),
        early(
            "accepted with a non-empty early_data extension",
            bad(A::DecodeError),
            |c| {
                expect_early_offer(c)?;
                psk_server_hello(c, |_| {})?;
                let ee = c.encrypted_extensions(&[ext(ext::EARLY_DATA, &[0, 0, 0x40, 0])]);
                c.send_hs(&ee)
            },
        ),
        early(
            "accepted, then the server sends EndOfEarlyData itself",
            bad(A::UnexpectedMessage),
            |c| {
                expect_early_offer(c)?;
                psk_server_hello(c, |_| {})?;
                let ee = c.encrypted_extensions(&[ext(ext::EARLY_DATA, &[])]);
                c.send_hs(&ee)?;
                c.send_hs(&hs_msg(hs::END_OF_EARLY_DATA, &[]))
            },
        ),
        // Offered, but answered in the wrong message (RFC 8446 §4.2: illegal_parameter). The
        // alert goes under the early key, still the client's write key (what a server that
        // reads our 0-RTT data reads), never in plaintext.
        early(
            "early_data in the ServerHello",
            bad(A::IllegalParameter),
            |c| {
                expect_early_offer(c)?;
                psk_server_hello(c, |sh| sh.extensions.push(ext(ext::EARLY_DATA, &[])))
            },
        ),
        // The client offered none (its ticket allows none): an acceptance is an extension
        // it never sent (RFC 8446 §4.2: unsupported_extension).
        resumed(
            "early_data",
            "accepted although the ClientHello offered no early_data (resumed)",
            bad(A::UnsupportedExtension),
            |c| {
                psk_server_hello(c, |_| {})?;
                let ee = c.encrypted_extensions(&[ext(ext::EARLY_DATA, &[])]);
                c.send_hs(&ee)
            },
        ),
        sc(
            "early_data",
            "accepted although the ClientHello offered no early_data (full handshake)",
            bad(A::UnsupportedExtension),
            |c| {
                to_sh(c)?;
                let ee = c.encrypted_extensions(&[ext(ext::EARLY_DATA, &[])]);
                c.send_hs(&ee)
            },
        ),
    ]
}

// ---- the client side -----------------------------------------------------------------------

fn fixture(pki: &Pki) -> Fixture {
    let mut f = Fixture::new(pki.chain.clone(), pki.key_der.clone());
    // A self-signed leaf for localhost.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    f.extra_chains
        .push(("self-signed", vec![leaf.der().clone()]));
    // Leaf, intermediate, and 98 unrelated CA certificates.
    let mut hundred = pki.chain.clone();
    let mut lookalikes = vec![pki.chain[0].clone()];
    for i in 0..99 {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, format!("Unrelated CA {i}"));
        p.distinguished_name = dn;
        let unrelated = p.self_signed(&key).unwrap();
        if hundred.len() < 100 {
            hundred.push(unrelated.der().clone());
        }
        // Same name as the real intermediate, another key: every candidate fails its signature.
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "Overture Test Intermediate CA");
        p.distinguished_name = dn;
        lookalikes.push(p.self_signed(&key).unwrap().der().clone());
    }
    assert_eq!((hundred.len(), lookalikes.len()), (100, 100));
    f.extra_chains.push(("hundred-valid", hundred));
    f.extra_chains.push(("hundred-lookalikes", lookalikes));
    f
}

/// What the client thread reports.
struct ClientRun {
    connect: Result<(), Error>,
    again: Option<Error>,
    read: Option<(Vec<u8>, Error)>,
    /// [`Flow::Shutdown`]: what the second `shutdown()` returned.
    shutdown: Option<Result<ShutdownState, Error>>,
    peak: u64,
}

fn poll_until(tcp: &TcpStream, flags: PollFlags, deadline: Instant) -> bool {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap(),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(tcp, flags)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("poll: {e}"),
        }
    }
}

/// Repeats `call` over a non-blocking socket until it stops wanting, or the user's deadline.
fn drive<T>(
    ssl: &mut Ssl,
    poller: Option<&TcpStream>,
    deadline: Instant,
    mut call: impl FnMut(&mut Ssl) -> Result<T, Error>,
) -> Result<T, Error> {
    loop {
        match call(ssl) {
            Err(e) if e.kind().is_retry() => {
                // A blocking socket wants only when its timeout passed: the user's deadline.
                let Some(tcp) = poller else {
                    return Err(e);
                };
                let flags = if e.kind() == ErrorKind::WantRead {
                    PollFlags::IN
                } else {
                    PollFlags::OUT
                };
                if !poll_until(tcp, flags, deadline) {
                    return Err(Error::from_io(
                        &io::Error::new(io::ErrorKind::TimedOut, "the user's deadline passed"),
                        "waiting for the server",
                    ));
                }
            }
            other => return other,
        }
    }
}

fn client(
    config: &ClientConfig,
    addr: SocketAddr,
    mode: Mode,
    timeout: Duration,
    flow: Flow,
    early: Option<&[u8]>,
) -> ClientRun {
    let mut run = ClientRun {
        connect: Ok(()),
        again: None,
        read: None,
        shutdown: None,
        peak: 0,
    };
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let poller = tcp.try_clone().unwrap();
    let info = allocation_counter::measure(|| {
        let mut ssl = Ssl::new(config, "localhost").unwrap();
        let bio = SocketBio::new(tcp);
        let poller = match mode {
            Mode::Blocking => {
                bio.set_read_timeout(Some(timeout)).unwrap();
                bio.set_write_timeout(Some(timeout)).unwrap();
                None
            }
            Mode::NonBlocking => {
                bio.set_nonblocking(true).unwrap();
                Some(&poller)
            }
        };
        ssl.set_bio(Box::new(bio));
        let deadline = Instant::now() + timeout;
        // 0-RTT: what the ticket allows goes out before the handshake (none without one).
        if let Some(data) = early {
            let _ = drive(&mut ssl, poller, deadline, |s| s.write_early_data(data));
        }
        run.connect = drive(&mut ssl, poller, deadline, |s| s.connect()).map(|_| ());
        if run.connect.is_err() {
            run.again = ssl.connect().err();
            return;
        }
        if flow == Flow::Shutdown {
            let deadline = Instant::now() + timeout;
            run.shutdown = Some(
                drive(&mut ssl, poller, deadline, |s| s.shutdown())
                    .and_then(|_| drive(&mut ssl, poller, deadline, |s| s.shutdown())),
            );
            return;
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + timeout;
        let e = loop {
            match drive(&mut ssl, poller, deadline, |s| s.read(&mut buf)) {
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        run.read = Some((data, e));
        // `ssl` (and its socket handle) dropped here, inside the measurement.
    });
    run.peak = info.bytes_max;
    // Close gracefully: a close with unread data would reset the connection, and a reset can
    // discard the alert we sent before the server read it. Drain until the server hangs up.
    let _ = poller.set_nonblocking(false);
    let _ = poller.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = poller.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 16384];
    while matches!(io::Read::read(&mut &poller, &mut sink), Ok(n) if n > 0) {}
    run
}

fn describe(e: &Error) -> String {
    format!(
        "{:?} sent={:?} received={:?} io={:?}: {}",
        e.kind(),
        e.alert_sent(),
        e.alert_received(),
        e.io_kind(),
        e.reason()
    )
}

fn matches(e: &Error, x: &Expect, mode: Mode) -> bool {
    let driver_deadline = mode == Mode::NonBlocking
        && x.kind == Some(ErrorKind::WantRead)
        && e.kind() == ErrorKind::Io;
    (Some(e.kind()) == x.kind || driver_deadline)
        && e.alert_sent() == x.sent
        && e.alert_received() == x.received
        && (x.io.is_none() || e.io_kind() == x.io)
}

/// Runs one scenario in one mode; `Err` says what went wrong.
fn run_one(
    s: &Scenario,
    mode: Mode,
    fixture: &Arc<Fixture>,
    ca_pem: &std::path::Path,
) -> Result<(u64, String), String> {
    // A fresh config per run: its session store starts empty, so no scenario depends on the
    // tickets an earlier one issued.
    let mut builder = ClientConfig::builder().with_ca_file(ca_pem).unwrap();
    if let Some(limit) = s.record_size_limit {
        builder = builder.with_record_size_limit(limit);
    }
    if s.ech {
        builder = builder.with_ech_config_list(&fixture.ech.list).unwrap();
    }
    if s.no_sni {
        builder = builder.with_sni(false);
    }
    if s.ocsp {
        builder = builder
            .with_ocsp_stapling(true)
            .with_signed_certificate_timestamps(true);
    }
    if s.early_data.is_some() {
        builder = builder.with_early_data(true);
    }
    let config = &builder.build().unwrap();
    *fixture.carry.lock().unwrap() = None;
    if let Some(prelude) = s.prelude {
        let server = HostileServer::start(fixture.clone(), prelude);
        let (tx, rx) = std::sync::mpsc::channel();
        let (config, addr) = (config.clone(), server.addr);
        std::thread::spawn(move || {
            let _ = tx.send(client(
                &config,
                addr,
                Mode::Blocking,
                USER_TIMEOUT,
                Flow::Read,
                None,
            ));
        });
        let run = rx
            .recv_timeout(WATCHDOG)
            .map_err(|_| "prelude: the client hangs".to_string())?;
        server.finish(Duration::from_secs(20))?;
        match (&run.connect, &run.read) {
            (Ok(()), Some((data, e))) if data == GREETING && e.kind() == ErrorKind::ZeroReturn => {}
            _ => return Err("prelude: the ticket-issuing connection did not complete".into()),
        }
    }
    let server = HostileServer::start(fixture.clone(), s.script);
    let (tx, rx) = std::sync::mpsc::channel();
    let (config, addr, timeout, flow) = (config.clone(), server.addr, s.timeout, s.flow);
    let early = s.early_data;
    std::thread::spawn(move || {
        let _ = tx.send(client(&config, addr, mode, timeout, flow, early));
    });
    let run = rx
        .recv_timeout(WATCHDOG)
        .map_err(|_| format!("no result within {WATCHDOG:?}: the client hangs"))?;
    let report = server.finish(Duration::from_secs(20))?;
    let x = &s.expect;
    match (x.phase, &run.connect, &run.read) {
        (Phase::Connect, Err(e), _) => {
            if !matches(e, x, mode) {
                return Err(format!("connect(): {}; expected {x:?}", describe(e)));
            }
            let again = run.again.as_ref().ok_or("a second connect() succeeded")?;
            // The non-blocking deadline is the driver's, not a failure of the connection.
            let driver_timeout = mode == Mode::NonBlocking && x.io == Some(io::ErrorKind::TimedOut);
            if !driver_timeout && (again.kind() != e.kind() || again.alert_sent() != e.alert_sent())
            {
                return Err(format!("second connect(): {}", describe(again)));
            }
        }
        (Phase::Connect, Ok(()), _) => {
            return Err(format!("connect() succeeded; expected {x:?}"));
        }
        (Phase::Read, Err(e), _) => {
            return Err(format!(
                "connect(): {}; expected it to succeed",
                describe(e)
            ));
        }
        (Phase::Read, Ok(()), Some((data, e))) => match x.kind {
            None => {
                if data != GREETING || e.kind() != ErrorKind::ZeroReturn {
                    return Err(format!(
                        "read {} bytes ({:?}), then {}; expected the greeting then ZeroReturn",
                        data.len(),
                        String::from_utf8_lossy(data),
                        describe(e)
                    ));
                }
            }
            Some(_) => {
                if !matches(e, x, mode) {
                    return Err(format!("read(): {}; expected {x:?}", describe(e)));
                }
            }
        },
        (Phase::Read, Ok(()), None) => match &run.shutdown {
            Some(Ok(ShutdownState::Complete)) => {}
            Some(Ok(state)) => return Err(format!("the second shutdown() returned {state:?}")),
            Some(Err(e)) => return Err(format!("shutdown(): {}", describe(e))),
            None => return Err("read() did not run".into()),
        },
    }
    if let Some(alert) = x.sent {
        match report.alert {
            Some((2, a)) if a == alert => {}
            other => {
                return Err(format!(
                    "the server saw alert {other:?} on the wire, expected fatal {alert} \
                     (script: {:?})",
                    report.script_error
                ));
            }
        }
        // RFC 8446 §6: after a ServerHello the client accepted, the server reads under the
        // client handshake key; a plaintext alert there is a record it cannot open.
        if report.plaintext_after_server_hello != x.hello_refused {
            return Err(if x.hello_refused {
                "the client refused the ServerHello, yet its alert was protected".into()
            } else {
                "the alert went out in plaintext after a TLS 1.3 ServerHello the client \
                 accepted (a real server reads it under the client handshake key: \
                 bad_record_mac)"
                    .into()
            });
        }
    }
    if run.peak > s.peak_bound {
        return Err(format!(
            "peak heap {} bytes exceeds the bound of {}",
            run.peak, s.peak_bound
        ));
    }
    let detail = match (&run.connect, &run.read) {
        (Err(e), _) | (Ok(()), Some((_, e))) => describe(e),
        _ => String::new(),
    };
    Ok((run.peak, detail))
}

#[test]
fn hostile_corpus() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let fixture = Arc::new(fixture(&pki));
    let only = std::env::var("HOSTILE_ONLY").ok();
    let scenarios = scenarios();
    let (mut run, mut passed, mut failed) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut peak = (0u64, "");
    let mut areas: Vec<(&str, usize)> = Vec::new();
    let started = Instant::now();
    for s in &scenarios {
        if only.as_ref().is_some_and(|o| !s.name.contains(o.as_str())) {
            continue;
        }
        match areas.iter_mut().find(|(a, _)| *a == s.area) {
            Some((_, n)) => *n += 1,
            None => areas.push((s.area, 1)),
        }
        for mode in [Mode::Blocking, Mode::NonBlocking] {
            run += 1;
            let t = Instant::now();
            match run_one(s, mode, &fixture, &pki.ca_pem) {
                Ok((p, detail)) => {
                    passed += 1;
                    if p > peak.0 {
                        peak = (p, s.name);
                    }
                    if std::env::var("HOSTILE_VERBOSE").is_ok() {
                        eprintln!(
                            "ok   {} / {} [{mode:?}] peak {p} B in {:?}: {detail}",
                            s.area,
                            s.name,
                            t.elapsed()
                        );
                    }
                }
                Err(why) => {
                    failed += 1;
                    failures.push(format!("{} / {} [{mode:?}]: {why}", s.area, s.name));
                }
            }
        }
    }
    for f in &failures {
        eprintln!("FAILED: {f}");
    }
    let list: Vec<String> = areas.iter().map(|(a, n)| format!("{a} {n}")).collect();
    println!(
        "hostile scenarios: {} ({}), each over a blocking and a non-blocking socket; {:?}",
        areas.iter().map(|(_, n)| n).sum::<usize>(),
        list.join(", "),
        started.elapsed()
    );
    println!(
        "hostile peak heap per connection: max {} bytes ({}), bound {PEAK_HEAP_BOUND}",
        peak.0, peak.1
    );
    println!("corpus hostile: {run} run, {passed} passed, {failed} failed, 0 skipped");
    assert_eq!(failed, 0, "{} hostile scenario runs failed", failed);
    if only.is_none() {
        assert!(
            scenarios.len() >= 80,
            "the corpus has {} scenarios",
            scenarios.len()
        );
    }
}

//! Runs `overture connect`: builds the config, connects once plus `--reconnect N` times over the
//! chosen transport, and reports each connection.

use crate::args::{ConnectOpts, Transport, Version};
use overture::bio::{Bio, BioPair, BioPairEnd, SocketBio, Transfer};
use overture::types::{CertificateDer, CipherSuite, NamedGroup, ProtocolVersion};
use overture::{
    ClientConfig, EarlyDataRejected, EarlyDataStatus, ErrorKind, FinalFlight, Negotiated, Ssl,
};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The silence after which `--request` stops reading.
const SILENCE: Duration = Duration::from_secs(2);
/// The BIO pair's buffer size: one full record plus headers fits.
const PAIR_CAPACITY: usize = 17 * 1024;

struct Report {
    outcome: Result<Negotiated, overture::Error>,
    want_read: u64,
    want_write: u64,
    handshake: Duration,
    response: Vec<u8>,
    /// The peer's chain, kept for `--showcerts` (also when the handshake failed).
    chain: Vec<CertificateDer<'static>>,
    /// `--early-data`: how many bytes left as 0-RTT data.
    early_bytes: usize,
}

pub(crate) fn run(o: &ConnectOpts) -> Result<bool, String> {
    let config = build_config(o)?;
    let addr = o
        .target
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", o.target))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", o.target))?;
    let name = o.server_name.clone().unwrap_or_else(|| host_of(&o.target));
    let mut all_ok = true;
    for _ in 0..=o.reconnect {
        let report = connect_once(o, &config, addr, &name);
        all_ok &= report.outcome.is_ok();
        print_report(o, &name, &report);
    }
    Ok(all_ok)
}

fn host_of(target: &str) -> String {
    let host = match target.rsplit_once(':') {
        Some((h, _)) => h,
        None => target,
    };
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

fn build_config(o: &ConnectOpts) -> Result<ClientConfig, String> {
    let mut b = ClientConfig::builder();
    if let Some(ca) = &o.ca_file {
        b = b.with_ca_file(ca).map_err(|e| e.to_string())?;
    } else {
        b = b.with_system_roots().map_err(|e| e.to_string())?;
    }
    b = b.with_protocol_versions(match o.version {
        Some(Version::Tls12) => &[ProtocolVersion::TLSv1_2],
        Some(Version::Tls13) => &[ProtocolVersion::TLSv1_3],
        None => &[ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
    });
    if !o.cipher_suites.is_empty() {
        let suites = o
            .cipher_suites
            .iter()
            .map(|n| CipherSuite::from_name(n).ok_or_else(|| format!("unknown cipher suite `{n}`")))
            .collect::<Result<Vec<_>, _>>()?;
        b = b.with_cipher_suites(&suites).map_err(|e| e.to_string())?;
    }
    if !o.groups.is_empty() {
        let groups = o
            .groups
            .iter()
            .map(|n| group_by_name(n).ok_or_else(|| format!("unknown group `{n}`")))
            .collect::<Result<Vec<_>, _>>()?;
        b = b.with_groups(&groups).map_err(|e| e.to_string())?;
    }
    if !o.alpn.is_empty() {
        b = b.with_alpn(o.alpn.iter().map(|p| p.as_bytes().to_vec()).collect());
    }
    if let (Some(cert), Some(key)) = (&o.cert, &o.key) {
        b = b
            .with_client_cert_files(cert, key)
            .map_err(|e| e.to_string())?;
    }
    if let Some(path) = &o.keylog {
        b = b.with_key_log_file(path);
    }
    b = b.with_tcp_nodelay(o.nodelay);
    if let Some(limit) = o.record_size_limit {
        b = b.with_record_size_limit(limit);
    }
    b = b.with_ocsp_stapling(o.status);
    if o.early_data.is_some() {
        // The early data is a request whose reply we print: a rejected one is sent again.
        b = b
            .with_early_data(true)
            .with_early_data_rejected(EarlyDataRejected::Resend);
    }
    if let Some(path) = &o.ech_config {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        b = b
            .with_ech_config_list(&ech_config_bytes(&bytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    b = b.with_ech_grease(o.ech_grease);
    if o.starttls.is_some() {
        // After a STARTTLS preamble the application protocol may wait for the server (and
        // the server for our Finished): never hold the final flight for a first write.
        b = b.with_final_flight(FinalFlight::Send);
    }
    b.build().map_err(|e| e.to_string())
}

fn group_by_name(name: &str) -> Option<NamedGroup> {
    NamedGroup::from_name(name).or(match name.to_ascii_lowercase().as_str() {
        "p-256" | "prime256v1" => Some(NamedGroup::secp256r1),
        "p-384" => Some(NamedGroup::secp384r1),
        _ => None,
    })
}

/// The far side of the transport, for waiting on readiness and pumping a BIO pair.
enum Link {
    Socket(TcpStream),
    Pair { net: BioPairEnd, tcp: TcpStream },
}

fn connect_once(o: &ConnectOpts, config: &ClientConfig, addr: SocketAddr, name: &str) -> Report {
    let mut report = Report {
        outcome: Err(overture::Error::usage("not started")),
        want_read: 0,
        want_write: 0,
        handshake: Duration::ZERO,
        response: Vec::new(),
        chain: Vec::new(),
        early_bytes: 0,
    };
    let (mut ssl, mut link) = match setup(o, config, addr, name) {
        Ok(x) => x,
        Err(e) => {
            report.outcome = Err(e);
            return report;
        }
    };
    let deadline = Instant::now() + o.timeout;
    let start = Instant::now();
    if let Some(early) = &o.early_data {
        match send_early(&mut ssl, &mut link, early, deadline) {
            Ok(n) => report.early_bytes = n,
            Err(e) => {
                report.outcome = Err(e);
                return report;
            }
        }
    }
    let outcome = loop {
        match ssl.connect() {
            Ok(n) => break Ok(n),
            Err(e) if e.kind().is_retry() => {
                if e.kind() == ErrorKind::WantRead {
                    report.want_read += 1;
                } else {
                    report.want_write += 1;
                }
                if let Err(e) = wait(&mut link, e.kind(), deadline) {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    if o.showcerts {
        report.chain = ssl.peer_certificates().to_vec();
    }
    let negotiated = match outcome {
        Ok(n) => n,
        Err(e) => {
            report.outcome = Err(e);
            return report;
        }
    };
    report.handshake = start.elapsed();
    // With early data sent, its reply is read even without --request.
    let request = match (&o.request, report.early_bytes) {
        (Some(req), _) => Some(req.as_slice()),
        (None, n) if n > 0 => Some(&[][..]),
        (None, _) => None,
    };
    if let Some(req) = request
        && let Err(e) = exchange(&mut ssl, &mut link, req, deadline, &mut report.response)
    {
        report.outcome = Err(e);
        return report;
    }
    // TLS 1.3 tickets arrive after the handshake: before the next connection reuses the
    // session, read until one came (bounded), so that `--reconnect` really resumes.
    if o.reconnect > 0
        && !ssl.session_ready()
        && let Err(e) = wait_for_session(&mut ssl, &mut link, &mut report.response)
    {
        report.outcome = Err(e);
        return report;
    }
    // Best effort: tell the server we are done (a close_notify), without waiting for its own.
    let _ = ssl.shutdown();
    if let Link::Pair { net, tcp } = &mut link {
        let _ = pump_out(net, tcp, Instant::now() + Duration::from_millis(200));
    }
    report.outcome = Ok(negotiated);
    report
}

fn setup(
    o: &ConnectOpts,
    config: &ClientConfig,
    addr: SocketAddr,
    name: &str,
) -> Result<(Ssl, Link), overture::Error> {
    let mut ssl = Ssl::new(config, name)?;
    let mut tcp = TcpStream::connect_timeout(&addr, o.timeout)
        .map_err(|e| overture::Error::from_io(&e, "TCP connect"))?;
    let io = |e: std::io::Error| overture::Error::from_io(&e, "socket setup");
    if let Some(proto) = o.starttls {
        tcp.set_read_timeout(Some(o.timeout)).map_err(io)?;
        tcp.set_write_timeout(Some(o.timeout)).map_err(io)?;
        let client = match tcp.local_addr().map_err(io)? {
            SocketAddr::V4(a) => format!("[{}]", a.ip()),
            SocketAddr::V6(a) => format!("[IPv6:{}]", a.ip()),
        };
        crate::starttls::preamble(proto, &mut tcp, name, &client)
            .map_err(|e| overture::Error::from_io(&std::io::Error::other(e), proto.name()))?;
    }
    match o.transport {
        Transport::Blocking | Transport::NonBlocking => {
            let peer = tcp.try_clone().map_err(io)?;
            let bio = SocketBio::new(tcp);
            bio.set_nonblocking(o.transport == Transport::NonBlocking)
                .map_err(io)?;
            if o.transport == Transport::Blocking {
                bio.set_read_timeout(Some(o.timeout)).map_err(io)?;
                bio.set_write_timeout(Some(o.timeout)).map_err(io)?;
            }
            if o.nodelay {
                bio.set_tcp_nodelay(true).map_err(io)?;
            }
            ssl.set_bio(Box::new(bio));
            Ok((ssl, Link::Socket(peer)))
        }
        Transport::BioPair => {
            tcp.set_nonblocking(true).map_err(io)?;
            if o.nodelay {
                tcp.set_nodelay(true).map_err(io)?;
            }
            let (near, net) = BioPair::new(PAIR_CAPACITY)
                .map_err(|e| overture::Error::usage(format!("BIO pair: {e}")))?;
            ssl.set_bio(Box::new(near));
            Ok((ssl, Link::Pair { net, tcp }))
        }
    }
}

/// Satisfies a *want read* / *want write*: polls the socket, or pumps the BIO pair.
fn wait(link: &mut Link, kind: ErrorKind, deadline: Instant) -> Result<(), overture::Error> {
    match link {
        Link::Socket(tcp) => {
            let flags = if kind == ErrorKind::WantRead {
                PollFlags::IN
            } else {
                PollFlags::OUT
            };
            if poll_until(tcp, flags, deadline)? {
                Ok(())
            } else {
                Err(timed_out())
            }
        }
        Link::Pair { net, tcp } => {
            pump_out(net, tcp, deadline)?;
            if kind == ErrorKind::WantRead {
                pump_in(net, tcp, deadline)?;
            }
            Ok(())
        }
    }
}

fn timed_out() -> overture::Error {
    overture::Error::from_io(
        &std::io::Error::new(std::io::ErrorKind::TimedOut, "no progress before --timeout"),
        "waiting for the server",
    )
}

/// Polls `tcp` for `flags` until `deadline`; `Ok(false)` on timeout.
fn poll_until(
    tcp: &TcpStream,
    flags: PollFlags,
    deadline: Instant,
) -> Result<bool, overture::Error> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [PollFd::new(tcp, flags)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(overture::Error::from_io(&e.into(), "poll")),
        }
    }
}

/// Moves everything the TLS side wrote into the pair out to the socket.
fn pump_out(
    net: &mut BioPairEnd,
    tcp: &mut TcpStream,
    deadline: Instant,
) -> Result<(), overture::Error> {
    let mut buf = [0u8; 16384];
    loop {
        let n = match net.read(&mut buf) {
            Ok(Transfer::Bytes(n)) => n,
            Ok(_) => return Ok(()),
            Err(e) => return Err(overture::Error::from_io(&e, "BIO pair")),
        };
        let mut chunk = buf.get(..n).unwrap_or_default();
        while !chunk.is_empty() {
            match tcp.write(chunk) {
                Ok(w) => chunk = chunk.get(w..).unwrap_or_default(),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if !poll_until(tcp, PollFlags::OUT, deadline)? {
                        return Err(timed_out());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(overture::Error::from_io(&e, "TCP write")),
            }
        }
    }
}

/// Waits for the socket to be readable and moves what arrived into the pair.
fn pump_in(
    net: &mut BioPairEnd,
    tcp: &mut TcpStream,
    deadline: Instant,
) -> Result<(), overture::Error> {
    if !poll_until(tcp, PollFlags::IN, deadline)? {
        return Err(timed_out());
    }
    let room = net.write_guarantee().min(16384);
    if room == 0 {
        return Ok(()); // the TLS side has unread bytes in the pair already
    }
    let mut buf = vec![0u8; room];
    match tcp.read(&mut buf) {
        Ok(0) => {
            let _ = net.shutdown_write();
            Ok(())
        }
        Ok(n) => {
            let mut chunk = buf.get(..n).unwrap_or_default();
            while !chunk.is_empty() {
                match net.write(chunk) {
                    Ok(Transfer::Bytes(w)) => chunk = chunk.get(w..).unwrap_or_default(),
                    Ok(_) => break,
                    Err(e) => return Err(overture::Error::from_io(&e, "BIO pair")),
                }
            }
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(overture::Error::from_io(&e, "TCP read")),
    }
}

/// `--early-data`: writes it as 0-RTT data before the handshake completes, as far as the
/// resumed ticket allows; returns how many bytes went. No ticket that allows early data (the
/// first connection, a server without 0-RTT) sends none and is not an error.
fn send_early(
    ssl: &mut Ssl,
    link: &mut Link,
    early: &[u8],
    deadline: Instant,
) -> Result<usize, overture::Error> {
    let mut off = 0;
    while off < early.len() {
        match ssl.write_early_data(early.get(off..).unwrap_or_default()) {
            Ok(n) => off += n,
            Err(e) if e.kind().is_retry() => wait(link, e.kind(), deadline)?,
            // Not offered, or the ticket's limit reached: the rest goes as ordinary data
            // only if the early data is rejected and resent.
            Err(e) if e.kind() == ErrorKind::Usage => break,
            Err(e) => return Err(e),
        }
    }
    Ok(off)
}

/// The `--json` value of `early_data`: `"accepted"`, `"rejected"`, or null when none was
/// offered.
fn early_data_name(status: EarlyDataStatus) -> Option<&'static str> {
    match status {
        EarlyDataStatus::Accepted => Some("accepted"),
        EarlyDataStatus::Rejected => Some("rejected"),
        _ => None,
    }
}

/// `--request`: write it, then read the reply until the peer closes or `SILENCE` passes.
fn exchange(
    ssl: &mut Ssl,
    link: &mut Link,
    request: &[u8],
    deadline: Instant,
    response: &mut Vec<u8>,
) -> Result<(), overture::Error> {
    let mut off = 0;
    while off < request.len() {
        match ssl.write(request.get(off..).unwrap_or_default()) {
            Ok(n) => off += n,
            Err(e) if e.kind().is_retry() => wait(link, e.kind(), deadline)?,
            Err(e) => return Err(e),
        }
    }
    loop {
        match ssl.flush() {
            Ok(()) => break,
            Err(e) if e.kind().is_retry() => wait(link, e.kind(), deadline)?,
            Err(e) => return Err(e),
        }
    }
    if let Link::Socket(tcp) = link {
        // A blocking socket waits inside read(): bound that wait by the silence timeout.
        let _ = tcp.set_read_timeout(Some(SILENCE));
    }
    let mut buf = [0u8; 16384];
    loop {
        match ssl.read(&mut buf) {
            Ok(n) => response.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::ZeroReturn => return Ok(()),
            Err(e) if e.kind().is_retry() => {
                let silence = Instant::now() + SILENCE;
                match wait(link, e.kind(), silence) {
                    Ok(()) => {}
                    Err(w) if w.io_kind() == Some(std::io::ErrorKind::TimedOut) => return Ok(()),
                    Err(w) => return Err(w),
                }
            }
            Err(e)
                if e.kind() == ErrorKind::Io
                    && matches!(
                        e.io_kind(),
                        Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
                    ) =>
            {
                return Ok(()); // 2 s of silence on a blocking socket
            }
            // A server that closes without close_notify after answering (common for HTTP/1.0):
            // the reply is complete as far as we can tell; report what came.
            Err(e) if e.kind() == ErrorKind::Io && !response.is_empty() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// How long `--reconnect` waits for the server's session ticket after a TLS 1.3 handshake.
const TICKET_WAIT: Duration = Duration::from_secs(1);

/// Reads until the server has given a resumable session, the peer closes, or [`TICKET_WAIT`]
/// passes (a server that sends no ticket is not an error: the next connection is a full one).
fn wait_for_session(
    ssl: &mut Ssl,
    link: &mut Link,
    response: &mut Vec<u8>,
) -> Result<(), overture::Error> {
    let deadline = Instant::now() + TICKET_WAIT;
    if let Link::Socket(tcp) = link {
        // A blocking socket waits inside read(): bound that wait.
        let _ = tcp.set_read_timeout(Some(TICKET_WAIT));
    }
    let mut buf = [0u8; 16384];
    while !ssl.session_ready() && Instant::now() < deadline {
        match ssl.read(&mut buf) {
            Ok(n) => response.extend_from_slice(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind().is_retry() => match wait(link, e.kind(), deadline) {
                Ok(()) => {}
                Err(w) if w.io_kind() == Some(std::io::ErrorKind::TimedOut) => return Ok(()),
                Err(w) => return Err(w),
            },
            // No ticket before the peer closed or went quiet: nothing to resume with.
            Err(e) if matches!(e.kind(), ErrorKind::ZeroReturn | ErrorKind::Io) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An `--ech-config` file's ECHConfigList: the bytes as they are when they parse as one,
/// else the file read as base64 text (whitespace ignored), else the bytes (whose parse error
/// the config builder reports).
fn ech_config_bytes(file: &[u8]) -> Vec<u8> {
    if overture::handshake::EchConfigList::parse(file).is_ok() {
        return file.to_vec();
    }
    base64_decode(file).unwrap_or_else(|| file.to_vec())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with optional padding; `None` for anything else.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let body = digits
        .strip_suffix(b"==")
        .or_else(|| digits.strip_suffix(b"="))
        .unwrap_or(&digits);
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body {
        let v = BASE64.iter().position(|b| b == c)?;
        acc = (acc << 6) | u32::try_from(v).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    (bits < 6 && body.len() % 4 != 1).then_some(out)
}

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(BASE64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn print_report(o: &ConnectOpts, name: &str, r: &Report) {
    match (&r.outcome, o.json) {
        (Ok(n), true) => {
            let v = serde_json::json!({
                "ok": true,
                "protocol": n.version().name().unwrap_or("unknown"),
                "cipher_suite": n.cipher_suite().name().unwrap_or("unknown"),
                "group": n.group().and_then(|g| g.name()),
                "alpn": n.alpn().map(|a| String::from_utf8_lossy(a).into_owned()),
                "resumed": n.resumed(),
                "hello_retry_request": n.hello_retry_request(),
                "server_name": name,
                "peer_chain_len": n.peer_chain().len(),
                "want_read": r.want_read,
                "want_write": r.want_write,
                "handshake_us": u64::try_from(r.handshake.as_micros()).unwrap_or(u64::MAX),
                "response_bytes": r.response.len(),
                "peer_record_size_limit": n.peer_record_size_limit(),
                "ocsp_response_bytes": n.ocsp_response().map(<[u8]>::len),
                "early_data": early_data_name(n.early_data()),
                "early_data_bytes": r.early_bytes,
                "ech": n.ech().name(),
            });
            println!("{}", with_certs(o, r, v));
        }
        (Err(e), true) => {
            let v = serde_json::json!({
                "ok": false,
                "error_kind": e.kind().to_string(),
                "alert": e.alert_sent().or(e.alert_received()).and_then(|a| a.name()),
                "reason": e.reason(),
                "ech": e.ech_status().name(),
                "ech_retry_configs": e.ech_retry_configs().map(base64_encode),
            });
            println!("{}", with_certs(o, r, v));
        }
        (Ok(n), false) => {
            println!("CONNECTED to {} ({name})", o.target);
            println!(
                "  protocol {}, cipher {}, group {}, ALPN {}",
                n.version(),
                n.cipher_suite(),
                n.group().map_or("-".to_string(), |g| g.to_string()),
                n.alpn()
                    .map_or("-".to_string(), |a| String::from_utf8_lossy(a).into_owned())
            );
            println!(
                "  peer chain: {} certificate(s); resumed: {}; handshake {} us; want_read {}, want_write {}",
                n.peer_chain().len(),
                n.resumed(),
                r.handshake.as_micros(),
                r.want_read,
                r.want_write
            );
            if let Some(limit) = n.peer_record_size_limit() {
                println!("  server record_size_limit {limit}");
            }
            if o.status {
                match n.ocsp_response() {
                    Some(r) => println!("  OCSP response: {} bytes (not validated)", r.len()),
                    None => println!("  OCSP response: no response sent"),
                }
            }
            if let Some(early) = early_data_name(n.early_data()) {
                println!(
                    "  early data: {early} ({} bytes sent as 0-RTT)",
                    r.early_bytes
                );
            }
            if let Some(ech) = n.ech().name() {
                println!("  ECH {ech}");
            }
            if o.showcerts {
                println!("{}", crate::certs::chain_text(&r.chain));
            }
            if !r.response.is_empty() {
                println!("---");
                let mut out = std::io::stdout();
                let _ = out.write_all(&r.response);
                let _ = out.flush();
                println!();
            }
        }
        (Err(e), false) => {
            println!("FAILED to connect to {} ({name})", o.target);
            println!("  {e}");
            if let Some(configs) = e.ech_retry_configs() {
                println!("  ECH retry configs (base64): {}", base64_encode(configs));
            }
            if o.showcerts && !r.chain.is_empty() {
                println!("{}", crate::certs::chain_text(&r.chain));
            }
        }
    }
}

/// `--showcerts --json`: the report with a `peer_certificates` array added.
fn with_certs(o: &ConnectOpts, r: &Report, mut v: serde_json::Value) -> serde_json::Value {
    if o.showcerts
        && let Some(map) = v.as_object_mut()
    {
        map.insert(
            "peer_certificates".into(),
            crate::certs::chain_json(&r.chain),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a STARTTLS preamble the final flight leaves before `connect()` returns, whatever
    /// the socket's Nagle setting (a held Finished would stall a server-speaks-first protocol).
    #[test]
    fn starttls_never_holds_the_final_flight() {
        let pki = overture_tests::Pki::new(overture_tests::KeyKind::EcdsaP256);
        let config = |extra: &str| {
            let argv: Vec<String> =
                format!("connect h:1 --ca-file {} {extra}", pki.ca_pem.display())
                    .split_whitespace()
                    .map(String::from)
                    .collect();
            match crate::args::parse(&argv) {
                Ok(crate::args::Command::Connect(o)) => build_config(&o).unwrap(),
                _ => panic!("not a connect command"),
            }
        };
        assert_eq!(config("--starttls imap").final_flight(), FinalFlight::Send);
        assert_eq!(config("").final_flight(), FinalFlight::default());
    }

    /// RFC 4648 §10's vectors, both ways; bad text is `None`.
    #[test]
    fn base64_follows_rfc_4648() {
        let vectors: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
        ];
        for (raw, text) in vectors {
            assert_eq!(base64_encode(raw), text);
            assert_eq!(
                base64_decode(text.as_bytes()).as_deref(),
                Some(raw),
                "{text}"
            );
        }
        assert_eq!(
            base64_decode(b"Zm9v\nYmFy\n").as_deref(),
            Some(&b"foobar"[..])
        );
        for bad in [&b"Zm9v!"[..], b"Z", b"Zm=9v"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    /// `--ech-config` takes the raw list or its base64 text.
    #[test]
    fn ech_config_files_are_raw_or_base64() {
        let mut config = vec![0xfe, 0x0d, 0, 0];
        let contents: &[u8] = &[
            7, 0, 0x20, 0, 32, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 4, 0, 1, 0, 1, 0, 1, b'a', 0, 0,
        ];
        config[3] = u8::try_from(contents.len()).unwrap();
        config.extend_from_slice(contents);
        let mut list = vec![0, u8::try_from(config.len()).unwrap()];
        list.extend_from_slice(&config);
        assert!(overture::handshake::EchConfigList::parse(&list).is_ok());
        assert_eq!(ech_config_bytes(&list), list);
        let text = format!("{}\n", base64_encode(&list));
        assert_eq!(ech_config_bytes(text.as_bytes()), list);
    }
}

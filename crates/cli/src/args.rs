//! Command-line parsing (by hand: the grammar is small and fixed by the client issue).

use crate::starttls::Protocol;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str =
    "usage: overture connect HOST:PORT [--server-name NAME] [--ca-file PEM]
                        [--tls1.2 | --tls1.3] [--cipher-suites LIST] [--groups LIST]
                        [--alpn LIST] [--cert PEM --key PEM] [--non-blocking] [--bio-pair]
                        [--nodelay] [--reconnect N] [--request STRING] [--keylog FILE]
                        [--timeout SECS] [--showcerts] [--starttls PROTO] [--trace] [--json]
                        [--record-size-limit N] [--early-data STRING]
                        [--ech-config FILE | --ech-grease] [--status]
  LISTs are comma-separated IANA names: TLS_AES_128_GCM_SHA256, x25519, secp256r1, h2, ...
  --request writes STRING (\\r \\n \\t \\\\ escapes) after the handshake and prints the reply
  until the peer closes or 2 s of silence.
  --showcerts prints the server's chain as PEM with subject, issuer and validity lines
  (as openssl s_client -showcerts; with --json, a `peer_certificates` array).
  --starttls PROTO (smtp|imap|pop3|ftp|xmpp|postgres) speaks the protocol's plaintext
  preamble, then the TLS handshake on the same socket.
  --trace prints each handshake message and alert as openssl s_client -msg does
  (>>> sent, <<< received; on stderr with --json).
  --record-size-limit N (64..16385) offers RFC 8449's record_size_limit: the server's records
  must stay within N (else record_overflow), ours stay within the limit it answers
  (with --json, `peer_record_size_limit`).
  --early-data STRING (with --reconnect N; \\r \\n \\t \\\\ escapes) sends STRING as TLS 1.3 0-RTT
  early data on every resumed connection whose ticket allows it, prints the reply, and
  reports whether the server accepted it (with --json, `early_data`: \"accepted\",
  \"rejected\" or null when none was sent); rejected early data is resent after the
  handshake. Early data can be replayed by an attacker: send only what is safe to repeat.
  --ech-config FILE offers Encrypted Client Hello (RFC 9849) with the ECHConfigList in FILE
  (raw bytes, or base64 text as in a DNS HTTPS record's ech=): the real name travels
  encrypted, the visible one is the config's public name; TLS 1.3 only. A server that
  rejects ECH fails the connection (its retry configs, base64, in `ech_retry_configs`).
  --ech-grease sends a GREASE ECH extension instead (with --json, `ech` says which).
  --status asks for the server's stapled OCSP response (status_request, as openssl s_client
  -status) and prints its size (with --json, `ocsp_response_bytes`, null when none came); the
  response is not validated.
  Exit status: 0 all connections succeeded, 1 one failed, 2 usage error.";

/// How the bytes move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Blocking,
    NonBlocking,
    BioPair,
}

/// `overture connect` options.
#[derive(Debug)]
pub(crate) struct ConnectOpts {
    pub(crate) target: String,
    pub(crate) server_name: Option<String>,
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) version: Option<Version>,
    pub(crate) cipher_suites: Vec<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) alpn: Vec<String>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) transport: Transport,
    pub(crate) nodelay: bool,
    pub(crate) reconnect: u32,
    pub(crate) request: Option<Vec<u8>>,
    pub(crate) keylog: Option<PathBuf>,
    pub(crate) timeout: Duration,
    pub(crate) json: bool,
    pub(crate) showcerts: bool,
    /// `--trace`: each handshake message and alert as `s_client -msg` prints it.
    pub(crate) trace: bool,
    pub(crate) starttls: Option<Protocol>,
    pub(crate) record_size_limit: Option<u16>,
    /// `--status`: ask for a stapled OCSP response.
    pub(crate) status: bool,
    /// `--early-data`: sent as 0-RTT on resumed connections.
    pub(crate) early_data: Option<Vec<u8>>,
    /// `--ech-config FILE`.
    pub(crate) ech_config: Option<PathBuf>,
    /// `--ech-grease`.
    pub(crate) ech_grease: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Tls12,
    Tls13,
}

pub(crate) enum Command {
    Connect(Box<ConnectOpts>),
    Help,
}

pub(crate) fn parse(argv: &[String]) -> Result<Command, String> {
    let mut it = argv.iter();
    match it.next().map(String::as_str) {
        Some("connect") => {}
        Some("-h" | "--help" | "help") | None => return Ok(Command::Help),
        Some(other) => return Err(format!("unknown command `{other}`")),
    }
    let mut o = ConnectOpts {
        target: String::new(),
        server_name: None,
        ca_file: None,
        version: None,
        cipher_suites: vec![],
        groups: vec![],
        alpn: vec![],
        cert: None,
        key: None,
        transport: Transport::Blocking,
        nodelay: false,
        reconnect: 0,
        request: None,
        keylog: None,
        timeout: Duration::from_secs(10),
        json: false,
        showcerts: false,
        trace: false,
        starttls: None,
        record_size_limit: None,
        status: false,
        early_data: None,
        ech_config: None,
        ech_grease: false,
    };
    let mut transport_set = false;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--server-name" => o.server_name = Some(value(arg)?),
            "--ca-file" => o.ca_file = Some(value(arg)?.into()),
            "--tls1.2" | "--tls1.3" => {
                let v = if arg == "--tls1.2" {
                    Version::Tls12
                } else {
                    Version::Tls13
                };
                if o.version.is_some_and(|old| old != v) {
                    return Err("--tls1.2 and --tls1.3 exclude each other".into());
                }
                o.version = Some(v);
            }
            "--cipher-suites" => o.cipher_suites = list(&value(arg)?),
            "--groups" => o.groups = list(&value(arg)?),
            "--alpn" => o.alpn = list(&value(arg)?),
            "--cert" => o.cert = Some(value(arg)?.into()),
            "--key" => o.key = Some(value(arg)?.into()),
            "--non-blocking" | "--bio-pair" => {
                if transport_set {
                    return Err("--non-blocking and --bio-pair exclude each other".into());
                }
                transport_set = true;
                o.transport = if arg == "--non-blocking" {
                    Transport::NonBlocking
                } else {
                    Transport::BioPair
                };
            }
            "--nodelay" => o.nodelay = true,
            "--reconnect" => {
                let v = value(arg)?;
                o.reconnect = v
                    .parse()
                    .map_err(|_| format!("--reconnect takes a count, not `{v}`"))?;
            }
            "--request" => o.request = Some(unescape(&value(arg)?)?),
            "--keylog" => o.keylog = Some(value(arg)?.into()),
            "--timeout" => {
                let v = value(arg)?;
                let secs: f64 = v
                    .parse()
                    .map_err(|_| format!("--timeout takes seconds, not `{v}`"))?;
                if !(secs > 0.0 && secs < 86_400.0) {
                    return Err("--timeout must be between 0 and 86400 seconds".into());
                }
                o.timeout = Duration::from_secs_f64(secs);
            }
            "--json" => o.json = true,
            "--record-size-limit" => {
                let v = value(arg)?;
                let n = v
                    .parse::<u16>()
                    .ok()
                    .filter(|n| (64..=16385).contains(n))
                    .ok_or_else(|| format!("--record-size-limit takes 64..16385, not `{v}`"))?;
                o.record_size_limit = Some(n);
            }
            "--early-data" => o.early_data = Some(unescape(&value(arg)?)?),
            "--ech-config" => o.ech_config = Some(value(arg)?.into()),
            "--ech-grease" => o.ech_grease = true,
            "--status" => o.status = true,
            "--showcerts" => o.showcerts = true,
            "--trace" => o.trace = true,
            "--starttls" => {
                let v = value(arg)?;
                o.starttls = Some(Protocol::from_name(&v).ok_or_else(|| {
                    format!("--starttls takes one of {}, not `{v}`", Protocol::NAMES)
                })?);
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`")),
            target => {
                if !o.target.is_empty() {
                    return Err(format!("unexpected argument `{target}`"));
                }
                o.target = target.to_string();
            }
        }
    }
    if o.target.is_empty() {
        return Err("connect needs HOST:PORT".into());
    }
    if o.early_data.is_some() && o.reconnect == 0 {
        return Err(
            "--early-data needs --reconnect N: only a resumed connection can send it".into(),
        );
    }
    if o.early_data.is_some() && o.version == Some(Version::Tls12) {
        return Err("--early-data needs TLS 1.3".into());
    }
    if o.cert.is_some() != o.key.is_some() {
        return Err("--cert and --key go together".into());
    }
    Ok(Command::Connect(Box::new(o)))
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// `\r`, `\n`, `\t`, `\\` escapes, as `s_client`-driving scripts write requests.
pub(crate) fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('\\') => out.push(b'\\'),
            Some(other) => return Err(format!("unknown escape `\\{other}` in --request")),
            None => return Err("--request ends with a lone backslash".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_documented_flags() {
        let Command::Connect(o) = parse(&args(
            "connect 127.0.0.1:4433 --server-name localhost --ca-file ca.pem --tls1.3 \
             --cipher-suites TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384 --groups x25519 \
             --alpn h2,http/1.1 --bio-pair --nodelay --reconnect 3 --request GET\\r\\n --json \
             --showcerts --starttls SMTP --record-size-limit 512 --ech-config e.list --ech-grease \
             --status",
        ))
        .unwrap() else {
            panic!("not connect")
        };
        assert_eq!(o.target, "127.0.0.1:4433");
        assert_eq!(o.version, Some(Version::Tls13));
        assert_eq!(o.cipher_suites.len(), 2);
        assert_eq!(o.alpn, ["h2", "http/1.1"]);
        assert_eq!(o.transport, Transport::BioPair);
        assert_eq!(o.reconnect, 3);
        assert_eq!(o.request.as_deref(), Some(&b"GET\r\n"[..]));
        assert!(o.json && o.nodelay && o.showcerts);
        assert_eq!(o.starttls, Some(Protocol::Smtp));
        assert_eq!(o.record_size_limit, Some(512));
        assert_eq!(
            o.ech_config.as_deref(),
            Some(std::path::Path::new("e.list"))
        );
        assert!(o.ech_grease && o.status);
    }

    #[test]
    fn rejects_contradictions_and_unknowns() {
        assert!(parse(&args("connect h:1 --tls1.2 --tls1.3")).is_err());
        assert!(parse(&args("connect h:1 --non-blocking --bio-pair")).is_err());
        assert!(parse(&args("connect h:1 --cert c.pem")).is_err());
        assert!(parse(&args("connect h:1 --frobnicate")).is_err());
        assert!(parse(&args("connect")).is_err());
        assert!(parse(&args("connect h:1 --reconnect x")).is_err());
        for bad in ["63", "16386", "x", "-1"] {
            let argv = args(&format!("connect h:1 --record-size-limit {bad}"));
            assert!(parse(&argv).is_err(), "{bad}");
        }
        assert!(parse(&args("connect h:1 --starttls lmtp")).is_err());
        assert!(parse(&args("connect h:1 --starttls")).is_err());
        assert!(unescape("a\\q").is_err());
        assert!(parse(&args("connect h:1 --early-data x")).is_err());
        assert!(parse(&args("connect h:1 --early-data x --reconnect 1 --tls1.2")).is_err());
        let Ok(Command::Connect(o)) = parse(&args("connect h:1 --early-data a\\n --reconnect 1"))
        else {
            panic!("--early-data with --reconnect")
        };
        assert_eq!(o.early_data.as_deref(), Some(&b"a\n"[..]));
    }
}

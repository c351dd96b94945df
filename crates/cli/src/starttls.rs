//! `--starttls PROTO`: the plaintext preamble a protocol speaks before its TLS handshake on the
//! same socket, as `openssl s_client -starttls` does it.
//!
//! ```text
//! TCP connect ─► preamble (blocking, bounded, byte by byte) ─► TLS handshake on that socket
//! ```
//!
//! The preamble reads one byte at a time so that nothing past the server's last plaintext
//! byte is consumed (the TLS layer must see the server's first record whole; PostgreSQL's
//! CVE-2021-23214 was a client that buffered past its SSLRequest answer). Every read is
//! bounded: a line by [`MAX_LINE`], a reply by [`MAX_LINES`], XMPP's XML by [`MAX_XML`]; a
//! silent server by the socket timeout (`--timeout`).

use std::io::{Read, Write};

/// The longest line accepted from the server (SMTP's limit is 512 octets, RFC 5321 §4.5.3.1.5;
/// IMAP capability lines can be long).
pub(crate) const MAX_LINE: usize = 8192;
/// The most lines in one reply (an SMTP EHLO reply, an FTP banner, IMAP untagged responses).
pub(crate) const MAX_LINES: usize = 256;
/// The most bytes of XMPP stream header and features, and of the answer to `<starttls/>`.
pub(crate) const MAX_XML: usize = 64 * 1024;

/// PostgreSQL's SSLRequest: length 8, then the code 80877103 (0x04d2162f).
const PG_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
const XMPP_TLS_NS: &str = "urn:ietf:params:xml:ns:xmpp-tls";

/// The protocols `--starttls` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// RFC 3207: greeting 220, `EHLO`, `STARTTLS` → 220.
    Smtp,
    /// RFC 3501 §6.2.1 / RFC 2595: greeting `* OK`, `CAPABILITY`, `STARTTLS` → tagged OK.
    Imap,
    /// RFC 2595 §4: greeting `+OK`, `STLS` → `+OK`.
    Pop3,
    /// RFC 4217 §4: greeting 220, `AUTH TLS` → 234.
    Ftp,
    /// RFC 6120 §5: stream header, features with `<starttls/>`, `<starttls/>` → `<proceed/>`.
    Xmpp,
    /// PostgreSQL protocol §53.2.10: SSLRequest → `S`.
    Postgres,
}

impl Protocol {
    pub(crate) const NAMES: &'static str = "smtp|imap|pop3|ftp|xmpp|postgres";

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "smtp" => Self::Smtp,
            "imap" => Self::Imap,
            "pop3" => Self::Pop3,
            "ftp" => Self::Ftp,
            "xmpp" => Self::Xmpp,
            "postgres" => Self::Postgres,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Imap => "imap",
            Self::Pop3 => "pop3",
            Self::Ftp => "ftp",
            Self::Xmpp => "xmpp",
            Self::Postgres => "postgres",
        }
    }
}

/// Speaks `proto`'s preamble over `io` until the server has agreed to start TLS. `server` is
/// the server's name (XMPP's `to`), `client` how we name ourselves (SMTP's `EHLO`).
pub(crate) fn preamble(
    proto: Protocol,
    io: &mut (impl Read + Write),
    server: &str,
    client: &str,
) -> Result<(), String> {
    match proto {
        Protocol::Smtp => {
            expect_code(io, "greeting", &["220"])?;
            send(io, &format!("EHLO {client}\r\n"))?;
            expect_code(io, "EHLO", &["250"])?;
            send(io, "STARTTLS\r\n")?;
            expect_code(io, "STARTTLS", &["220"]).map(drop)
        }
        Protocol::Ftp => {
            // 120: "service ready in nnn minutes", then the 220 follows (RFC 959 §4.2).
            if expect_code(io, "greeting", &["220", "120"])? == "120" {
                expect_code(io, "greeting", &["220"])?;
            }
            send(io, "AUTH TLS\r\n")?;
            expect_code(io, "AUTH TLS", &["234"]).map(drop)
        }
        Protocol::Pop3 => {
            expect_pop3_ok(io, "greeting")?;
            send(io, "STLS\r\n")?;
            expect_pop3_ok(io, "STLS")
        }
        Protocol::Imap => {
            let greeting = line(io)?;
            if !starts_with_ci(&greeting, "* OK") {
                return Err(refused("greeting", &greeting));
            }
            send(io, "o1 CAPABILITY\r\n")?;
            imap_tagged_ok(io, "o1", "CAPABILITY")?;
            send(io, "o2 STARTTLS\r\n")?;
            imap_tagged_ok(io, "o2", "STARTTLS")
        }
        Protocol::Xmpp => {
            send(
                io,
                &format!(
                    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='{}' version='1.0'>",
                    xml_attr(server)
                ),
            )?;
            let features = read_until(io, &["</stream:features>", "<stream:features/>"])?;
            let offered = features
                .find("<starttls")
                .and_then(|at| features.get(at..))
                .is_some_and(|rest| rest.contains(XMPP_TLS_NS));
            if !offered {
                return Err(
                    "starttls: the XMPP server offers no <starttls/> in its stream features".into(),
                );
            }
            send(io, &format!("<starttls xmlns='{XMPP_TLS_NS}'/>"))?;
            let answer = read_until(io, &["<proceed", "<failure"])?;
            if answer.ends_with("<failure") {
                let _ = read_until(io, &[">"]);
                return Err("starttls: the XMPP server answered <failure/>".into());
            }
            // The rest of the (empty) <proceed/> element.
            let tail = read_until(io, &["/>", "</proceed>"])?;
            if tail.contains('<') && !tail.ends_with("</proceed>") {
                return Err(format!("starttls: unexpected XMPP answer `<proceed{tail}`"));
            }
            Ok(())
        }
        Protocol::Postgres => {
            io.write_all(&PG_SSL_REQUEST)
                .and_then(|()| io.flush())
                .map_err(|e| format!("starttls: sending SSLRequest: {e}"))?;
            match byte(io)? {
                b'S' => Ok(()),
                b'N' => {
                    Err("starttls: the PostgreSQL server does not accept SSL (answered N)".into())
                }
                b'E' => Err(
                    "starttls: the PostgreSQL server answered SSLRequest with an ErrorResponse"
                        .into(),
                ),
                other => Err(format!(
                    "starttls: unexpected answer 0x{other:02x} to PostgreSQL's SSLRequest"
                )),
            }
        }
    }
}

fn send(io: &mut impl Write, text: &str) -> Result<(), String> {
    io.write_all(text.as_bytes())
        .and_then(|()| io.flush())
        .map_err(|e| format!("starttls: sending `{}`: {e}", text.trim_end()))
}

fn byte(io: &mut impl Read) -> Result<u8, String> {
    let mut b = [0u8; 1];
    loop {
        return match io.read(&mut b) {
            Ok(0) => Err("starttls: the server closed the connection during the preamble".into()),
            Ok(_) => Ok(b[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Err(format!("starttls: reading the server's reply: {e}")),
        };
    }
}

/// One line without its CR LF, at most [`MAX_LINE`] bytes.
fn line(io: &mut impl Read) -> Result<String, String> {
    let mut out = Vec::new();
    loop {
        match byte(io)? {
            b'\n' => break,
            b => {
                if out.len() == MAX_LINE {
                    return Err(format!(
                        "starttls: a line from the server is longer than {MAX_LINE} bytes"
                    ));
                }
                out.push(b);
            }
        }
    }
    if out.last() == Some(&b'\r') {
        out.pop();
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Reads an SMTP/FTP reply (`ddd-text` lines, then `ddd text`) and returns its code, which
/// must be one of `codes`.
fn expect_code(io: &mut impl Read, what: &str, codes: &[&str]) -> Result<String, String> {
    for _ in 0..MAX_LINES {
        let l = line(io)?;
        let code = l.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
        let Some(code) = code else {
            return Err(format!("starttls: {what}: not a reply line: `{l}`"));
        };
        if l.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        return if codes.contains(&code) {
            Ok(code.to_string())
        } else {
            Err(refused(what, &l))
        };
    }
    Err(format!(
        "starttls: {what}: a reply of more than {MAX_LINES} lines"
    ))
}

fn expect_pop3_ok(io: &mut impl Read, what: &str) -> Result<(), String> {
    let l = line(io)?;
    if l.starts_with("+OK") {
        Ok(())
    } else {
        Err(refused(what, &l))
    }
}

/// Reads untagged lines until the line tagged `tag`, which must say OK.
fn imap_tagged_ok(io: &mut impl Read, tag: &str, what: &str) -> Result<(), String> {
    for _ in 0..MAX_LINES {
        let l = line(io)?;
        if let Some(rest) = l.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            return if starts_with_ci(rest, "OK") {
                Ok(())
            } else {
                Err(refused(what, &l))
            };
        }
    }
    Err(format!(
        "starttls: {what}: more than {MAX_LINES} lines without the tagged answer"
    ))
}

/// Reads until the text ends with one of `ends` (at most [`MAX_XML`] bytes); returns it.
fn read_until(io: &mut impl Read, ends: &[&str]) -> Result<String, String> {
    let mut buf = Vec::new();
    while buf.len() < MAX_XML {
        buf.push(byte(io)?);
        if ends.iter().any(|e| buf.ends_with(e.as_bytes())) {
            return Ok(String::from_utf8_lossy(&buf).into_owned());
        }
    }
    Err(format!(
        "starttls: more than {MAX_XML} bytes of XML without `{}`",
        ends.join("` or `")
    ))
}

fn refused(what: &str, reply: &str) -> String {
    format!("starttls: the server refused ({what}): `{reply}`")
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// `s` escaped for a single-quoted XML attribute.
fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's side as bytes; what the client wrote is kept.
    struct Script {
        input: std::io::Cursor<Vec<u8>>,
        written: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.input.read(buf)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Runs `proto` against `server`'s bytes; returns the outcome, what the client sent and
    /// how many of the server's bytes were left unread (the TLS layer's).
    fn run(proto: Protocol, server: &[u8]) -> (Result<(), String>, Vec<u8>, usize) {
        let mut s = Script {
            input: std::io::Cursor::new(server.to_vec()),
            written: Vec::new(),
        };
        let r = preamble(proto, &mut s, "mail.example", "[127.0.0.1]");
        let left = server.len() - usize::try_from(s.input.position()).unwrap();
        (r, s.written, left)
    }

    #[test]
    fn each_protocol_stops_at_the_servers_last_plaintext_byte() {
        let tls = b"\x16\x03\x03"; // what follows belongs to TLS
        let cases: [(Protocol, &[u8], &[u8]); 6] = [
            (
                Protocol::Smtp,
                b"220-mail.example ESMTP\r\n220 ready\r\n250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 2.0.0 go ahead\r\n",
                b"EHLO [127.0.0.1]\r\nSTARTTLS\r\n",
            ),
            (
                Protocol::Imap,
                b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\no1 OK done\r\no2 OK Begin TLS negotiation now\r\n",
                b"o1 CAPABILITY\r\no2 STARTTLS\r\n",
            ),
            (
                Protocol::Pop3,
                b"+OK POP3 ready\r\n+OK Begin TLS negotiation\r\n",
                b"STLS\r\n",
            ),
            (
                Protocol::Ftp,
                b"120 wait\r\n220-welcome\r\n220 ready\r\n234 AUTH TLS OK.\r\n",
                b"AUTH TLS\r\n",
            ),
            (
                Protocol::Xmpp,
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='mail.example' version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='mail.example' version='1.0'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            ),
            (
                Protocol::Postgres,
                b"S",
                b"\0\0\0\x08\x04\xd2\x16\x2f",
            ),
        ];
        for (proto, server, sent) in cases {
            let (r, written, left) = run(proto, &[server, &tls[..]].concat());
            assert_eq!(r, Ok(()), "{proto:?}");
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(sent),
                "{proto:?}"
            );
            assert_eq!(left, tls.len(), "{proto:?} read past its preamble");
        }
    }

    #[test]
    fn refusals_are_errors_that_quote_the_server() {
        let cases: [(Protocol, &[u8], &str); 7] = [
            (Protocol::Smtp, b"220 hi\r\n250 hi\r\n454 4.7.0 TLS not available\r\n", "454 4.7.0"),
            (Protocol::Smtp, b"554 go away\r\n", "554 go away"),
            (Protocol::Imap, b"* OK hi\r\no1 OK\r\no2 NO no TLS\r\n", "o2 NO"),
            (Protocol::Pop3, b"+OK hi\r\n-ERR not now\r\n", "-ERR not now"),
            (Protocol::Ftp, b"220 hi\r\n530 no\r\n", "530 no"),
            (
                Protocol::Xmpp,
                b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features><failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                "<failure/>",
            ),
            (Protocol::Postgres, b"N", "does not accept SSL"),
        ];
        for (proto, server, quoted) in cases {
            let e = run(proto, server).0.unwrap_err();
            assert!(e.contains(quoted), "{proto:?}: {e}");
        }
        let e = run(
            Protocol::Xmpp,
            b"<stream:features><bind/></stream:features>",
        )
        .0
        .unwrap_err();
        assert!(e.contains("offers no <starttls/>"), "{e}");
        let e = run(Protocol::Smtp, b"220 hi\r\n").0.unwrap_err();
        assert!(e.contains("closed the connection"), "{e}");
    }

    #[test]
    fn hostile_servers_hit_the_bounds() {
        let long = vec![b'A'; MAX_LINE + 10];
        let e = run(Protocol::Pop3, &long).0.unwrap_err();
        assert!(e.contains("longer than 8192"), "{e}");

        let many = "250-x\r\n".repeat(MAX_LINES + 1);
        let e = run(Protocol::Smtp, format!("220 hi\r\n{many}").as_bytes())
            .0
            .unwrap_err();
        assert!(e.contains("more than 256 lines"), "{e}");

        let endless = vec![b' '; MAX_XML + 10];
        let e = run(Protocol::Xmpp, &endless).0.unwrap_err();
        assert!(e.contains("more than 65536 bytes"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for n in Protocol::NAMES.split('|') {
            assert_eq!(Protocol::from_name(n).map(Protocol::name), Some(n));
        }
        assert_eq!(Protocol::from_name("lmtp"), None);
    }
}

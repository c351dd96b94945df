//! `overture connect --starttls PROTO` against a small scripted server per protocol: the
//! server speaks its side of the plaintext preamble (RFC 3207 SMTP, RFC 3501/2595 IMAP,
//! RFC 2595 POP3, RFC 4217 FTP, RFC 6120 XMPP, PostgreSQL's SSLRequest), checks what the
//! client sent, then runs a real rustls server on the same socket and echoes one request.
//! Also `--showcerts`: the printed chain is the served chain.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::types::CertificateDer;
use overture::types::pki::pem::PemObject;
use overture_tests::{KeyKind, Pki, rustls_server_config};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// One byte at a time: the server must not eat the ClientHello either.
fn read_line(tcp: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while tcp.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    String::from_utf8(line)
        .unwrap()
        .trim_end_matches('\r')
        .to_string()
}

fn read_until(tcp: &mut TcpStream, end: &str) -> String {
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(end.as_bytes()) && tcp.read(&mut b).unwrap() == 1 {
        got.push(b[0]);
    }
    String::from_utf8(got).unwrap()
}

/// The server's half of each preamble; returns what the client said, in order.
fn server_preamble(proto: &str, tcp: &mut TcpStream, refuse: bool) -> Vec<String> {
    let mut said = Vec::new();
    let w = |tcp: &mut TcpStream, s: &str| tcp.write_all(s.as_bytes()).unwrap();
    match proto {
        "smtp" => {
            w(tcp, "220-mail.test ESMTP\r\n220 mail.test ready\r\n");
            said.push(read_line(tcp));
            w(
                tcp,
                "250-mail.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n",
            );
            said.push(read_line(tcp));
            w(
                tcp,
                if refuse {
                    "454 4.7.0 TLS not available due to temporary reason\r\n"
                } else {
                    "220 2.0.0 Ready to start TLS\r\n"
                },
            );
        }
        "imap" => {
            w(
                tcp,
                "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
            );
            let cap = read_line(tcp);
            let tag = cap.split(' ').next().unwrap().to_string();
            w(
                tcp,
                &format!("* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n{tag} OK done\r\n"),
            );
            said.push(cap.replacen(&tag, "TAG", 1));
            let st = read_line(tcp);
            let tag = st.split(' ').next().unwrap().to_string();
            w(tcp, &format!("{tag} OK Begin TLS negotiation now\r\n"));
            said.push(st.replacen(&tag, "TAG", 1));
        }
        "pop3" => {
            w(tcp, "+OK POP3 server ready\r\n");
            said.push(read_line(tcp));
            w(tcp, "+OK Begin TLS negotiation\r\n");
        }
        "ftp" => {
            w(tcp, "220-Welcome\r\n220 FTP server ready\r\n");
            said.push(read_line(tcp));
            w(tcp, "234 AUTH TLS successful\r\n");
        }
        "xmpp" => {
            said.push(read_until(tcp, "version='1.0'>"));
            w(
                tcp,
                "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                 xmlns:stream='http://etherx.jabber.org/streams' id='c2s1' from='localhost' \
                 version='1.0'><stream:features><starttls \
                 xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>\
                 <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN\
                 </mechanism></mechanisms></stream:features>",
            );
            said.push(read_until(tcp, "/>"));
            w(tcp, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        }
        "postgres" => {
            let mut req = [0u8; 8];
            tcp.read_exact(&mut req).unwrap();
            said.push(format!("{req:02x?}"));
            w(tcp, "S");
        }
        other => panic!("no script for {other}"),
    }
    said
}

struct Server {
    port: u16,
    thread: JoinHandle<Vec<String>>,
}

/// Preamble, then a rustls server on the same socket that echoes one request and closes.
fn start(proto: &'static str, pki: &Pki, refuse: bool) -> Server {
    let config = rustls_server_config(pki, &[], &[], &[]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let said = server_preamble(proto, &mut tcp, refuse);
        if refuse {
            return said;
        }
        let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut buf = [0u8; 1024];
        let n = tls.read(&mut buf).unwrap();
        tls.write_all(&buf[..n]).unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        said
    });
    Server { port, thread }
}

fn overture(args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_overture"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "no JSON line; stdout {stdout}, stderr {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(line).unwrap(),
    )
}

/// `overture connect localhost:PORT --ca-file CA --starttls PROTO --json EXTRA...`.
fn connect_starttls(proto: &str, pki: &Pki, port: u16, extra: &[&str]) -> (i32, serde_json::Value) {
    let target = format!("localhost:{port}");
    let mut args = vec![
        "connect",
        &target,
        "--ca-file",
        pki.ca_pem.to_str().unwrap(),
        "--starttls",
        proto,
        "--json",
    ];
    args.extend_from_slice(extra);
    overture(&args)
}

#[test]
fn every_protocol_then_tls_on_the_same_socket_with_showcerts() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let pg_request = format!("{:02x?}", [0u8, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    let xmpp_header = "<?xml version='1.0'?><stream:stream \
        xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='localhost' \
        version='1.0'>";
    let cases: [(&str, Vec<&str>); 6] = [
        ("smtp", vec!["EHLO [127.0.0.1]", "STARTTLS"]),
        ("imap", vec!["TAG CAPABILITY", "TAG STARTTLS"]),
        ("pop3", vec!["STLS"]),
        ("ftp", vec!["AUTH TLS"]),
        (
            "xmpp",
            vec![
                xmpp_header,
                "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
            ],
        ),
        ("postgres", vec![pg_request.as_str()]),
    ];
    for (proto, expected) in cases {
        let server = start(proto, &pki, false);
        let (code, json) = connect_starttls(
            proto,
            &pki,
            server.port,
            &["--request", "PING\\r\\n", "--showcerts", "--timeout", "10"],
        );
        let said = server.thread.join().unwrap();
        assert_eq!(said, expected, "{proto}: what the client said");
        assert_eq!(
            (code, &json["ok"]),
            (0, &serde_json::json!(true)),
            "{proto}: {json}"
        );
        assert_eq!(json["response_bytes"], 6, "{proto}: echoed over TLS");
        let certs = json["peer_certificates"].as_array().unwrap();
        assert_eq!(certs.len(), 2, "{proto}");
        assert_eq!(certs[0]["subject"], "CN = localhost");
        assert_eq!(certs[0]["issuer"], "CN = Overture Test Intermediate CA");
        assert_eq!(certs[1]["subject"], "CN = Overture Test Intermediate CA");
        assert_eq!(certs[1]["issuer"], "CN = Overture Test Root CA");
        assert!(certs[0]["not_after"].as_str().unwrap().ends_with(" GMT"));
        let pems: String = certs.iter().map(|c| c["pem"].as_str().unwrap()).collect();
        let ders: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pems.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ders, pki.chain, "{proto}: the PEM is the served chain");
    }
}

#[test]
fn a_refused_starttls_fails_with_the_servers_reply() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = start("smtp", &pki, true);
    let (code, json) = connect_starttls("smtp", &pki, server.port, &[]);
    server.thread.join().unwrap();
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["ok"], false);
    assert!(
        json["reason"].as_str().unwrap().contains("454 4.7.0"),
        "{json}"
    );
}

/// The text form prints the chain as `openssl s_client -showcerts` does.
#[test]
fn showcerts_text_form() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let server = overture_tests::RustlsServer::start(rustls_server_config(&pki, &[], &[], &[]));
    let out = Command::new(env!("CARGO_BIN_EXE_overture"))
        .args([
            "connect",
            &format!("localhost:{}", server.addr.port()),
            "--ca-file",
            pki.ca_pem.to_str().unwrap(),
            "--showcerts",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("---\nCertificate chain\n 0 s:CN = localhost\n   i:CN = Overture Test Intermediate CA\n   v:NotBefore: "), "{text}");
    assert!(
        text.contains(
            "\n 1 s:CN = Overture Test Intermediate CA\n   i:CN = Overture Test Root CA\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("-----BEGIN CERTIFICATE-----\n").count(),
        2,
        "{text}"
    );
}

/// The preamble runs on the blocking socket before the transport is chosen: the handshake
/// then goes on over a non-blocking socket or a BIO pair just the same.
#[test]
fn starttls_over_the_other_transports() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    for transport in ["--non-blocking", "--bio-pair"] {
        let server = start("pop3", &pki, false);
        let (code, json) = connect_starttls(
            "pop3",
            &pki,
            server.port,
            &["--request", "PING\\r\\n", transport],
        );
        assert_eq!(server.thread.join().unwrap(), ["STLS"]);
        assert_eq!(code, 0, "{transport}: {json}");
        assert_eq!(json["response_bytes"], 6, "{transport}: {json}");
        assert!(
            json.get("peer_certificates").is_none(),
            "only with --showcerts"
        );
    }
}

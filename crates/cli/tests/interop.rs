//! `overture connect ... --json` against servers no one here wrote: `openssl s_server` and
//! `gnutls-serv` on 127.0.0.1, for every suite and group in scope, TLS 1.3 and TLS 1.2, every
//! certificate type, and all three transports; resumption with `--reconnect` (TLS 1.3 tickets,
//! TLS 1.2 session ids and tickets). Prints the interop matrix as pass counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture_tests::{KeyKind, Peer, Pki, gnutls_serv, gnutls_serv_with, openssl_s_server};
use std::process::Command;

const TLS13_SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
const TLS12_ECDSA_SUITES: [&str; 3] = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
];
const TLS12_RSA_SUITES: [&str; 3] = [
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];
const GROUPS: [&str; 3] = ["x25519", "secp256r1", "secp384r1"];
const TRANSPORTS: [&[&str]; 3] = [&[], &["--non-blocking"], &["--bio-pair"]];

#[derive(Clone, Copy, PartialEq)]
enum Version {
    Tls13,
    Tls12,
}

impl Version {
    fn flag(self) -> &'static str {
        match self {
            Self::Tls13 => "--tls1.3",
            Self::Tls12 => "--tls1.2",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Tls13 => "TLSv1.3",
            Self::Tls12 => "TLSv1.2",
        }
    }

    /// The suites in scope for a certificate of `kind`, or none: TLS 1.2's scope is ECDSA
    /// P-256/P-384 and RSA-2048 certificates.
    fn suites(self, kind: KeyKind) -> &'static [&'static str] {
        match (self, kind) {
            (Self::Tls13, _) => &TLS13_SUITES,
            (Self::Tls12, KeyKind::EcdsaP256 | KeyKind::EcdsaP384) => &TLS12_ECDSA_SUITES,
            (Self::Tls12, KeyKind::Rsa2048) => &TLS12_RSA_SUITES,
            (Self::Tls12, KeyKind::Ed25519) => &[],
        }
    }
}

fn overture(args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overture"))
        .args(args)
        .output()
        .expect("run overture");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// `overture connect <peer> --server-name localhost --ca-file <ca> --json <extra…>`: the
/// arguments every case shares, then the case's own.
fn connect_json(peer: &Peer, ca: &Pki, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let addr = peer.addr.to_string();
    let mut args = vec![
        "connect",
        &addr,
        "--server-name",
        "localhost",
        "--ca-file",
        ca.ca_pem.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    overture(&args)
}

/// Runs the suite × group × transport matrix of `version` against `peer`; returns (run,
/// passed).
fn matrix(peer: &Peer, pki: &Pki, version: Version, failures: &mut Vec<String>) -> (usize, usize) {
    let (mut run, mut passed) = (0, 0);
    for suite in version.suites(pki.kind) {
        for group in GROUPS {
            // TLS 1.2 (RFC 8422 §5.1.1): supported_groups also names the curves the client
            // accepts in the server's ECDSA certificate, and OpenSSL refuses a certificate on a
            // curve the client did not list. So the certificate's curve is offered after the
            // group under test (the server still takes the client's first choice).
            let groups = match (version, pki.kind) {
                (Version::Tls12, KeyKind::EcdsaP256) if group != "secp256r1" => {
                    format!("{group},secp256r1")
                }
                (Version::Tls12, KeyKind::EcdsaP384) if group != "secp384r1" => {
                    format!("{group},secp384r1")
                }
                _ => group.to_string(),
            };
            for transport in TRANSPORTS {
                run += 1;
                let mut args = vec![
                    version.flag(),
                    "--cipher-suites",
                    suite,
                    "--groups",
                    &groups,
                    "--timeout",
                    "10",
                ];
                args.extend_from_slice(transport);
                let (code, json, text) = connect_json(peer, pki, &args);
                let ok = code == 0
                    && json.len() == 1
                    && json[0]["ok"] == true
                    && json[0]["protocol"] == version.name()
                    && json[0]["cipher_suite"] == *suite
                    && json[0]["group"] == group
                    && json[0]["server_name"] == "localhost"
                    && json[0]["peer_chain_len"] == 2
                    && json[0]["resumed"] == false;
                if ok {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{} {} {} {suite} {group} {transport:?}: exit {code}: {text}",
                        peer.name,
                        version.name(),
                        pki.kind.name()
                    ));
                }
            }
        }
    }
    (run, passed)
}

fn report(peer_name: &str, results: &[(Version, KeyKind, usize, usize)], failures: &[String]) {
    for (version, kind, run, passed) in results {
        println!(
            "interop {peer_name} {} {}: {passed}/{run} passed",
            version.name(),
            kind.name()
        );
    }
    for f in failures.iter().take(10) {
        eprintln!("FAILED: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} interop failures against {peer_name}",
        failures.len()
    );
}

/// The whole matrix against one kind of peer: every version × certificate type in scope, a
/// fresh peer for each, started by `start` (`None`: the peer is not installed, skip).
fn peer_matrix(peer_name: &str, start: impl Fn(&Pki, Version) -> Option<Peer>) {
    let mut results = vec![];
    let mut failures = vec![];
    for version in [Version::Tls13, Version::Tls12] {
        for kind in KeyKind::ALL {
            if version.suites(kind).is_empty() {
                continue;
            }
            let pki = Pki::new(kind);
            let Some(peer) = start(&pki, version) else {
                return;
            };
            let (run, passed) = matrix(&peer, &pki, version, &mut failures);
            results.push((version, kind, run, passed));
        }
    }
    report(peer_name, &results, &failures);
}

#[test]
fn openssl_s_server_matrix() {
    peer_matrix("openssl-s_server", |pki, version| {
        let flag = match version {
            Version::Tls13 => "-tls1_3",
            Version::Tls12 => "-tls1_2",
        };
        openssl_s_server(pki, &[flag])
    });
}

#[test]
fn gnutls_serv_matrix() {
    peer_matrix("gnutls-serv", |pki, version| {
        let priority = match version {
            Version::Tls13 => "NORMAL:-VERS-ALL:+VERS-TLS1.3:+CHACHA20-POLY1305:+GROUP-ALL",
            Version::Tls12 => "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CHACHA20-POLY1305:+GROUP-ALL",
        };
        gnutls_serv(pki, priority, "--echo")
    });
}

/// `--reconnect 3` resumes connections 2 to 4 (`"resumed":true`).
fn assert_resumes(peer: &Peer, pki: &Pki, version: Version, what: &str) {
    let (code, json, text) = connect_json(peer, pki, &[version.flag(), "--reconnect", "3"]);
    assert_eq!(code, 0, "{what}: {text}");
    assert_eq!(json.len(), 4, "{what}: {text}");
    assert!(
        json.iter().all(|j| j["protocol"] == version.name()),
        "{what}: {text}"
    );
    assert_eq!(json[0]["resumed"], false, "{what}: {text}");
    for j in &json[1..] {
        assert_eq!(j["resumed"], true, "{what}: {text}");
    }
    println!("resumption {what}: connections 2-4 resumed");
}

#[test]
fn reconnect_resumes_against_openssl_and_gnutls() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let cases: [(&str, Version, &[&str]); 3] = [
        ("openssl TLS 1.3 tickets", Version::Tls13, &["-tls1_3"]),
        ("openssl TLS 1.2 tickets", Version::Tls12, &["-tls1_2"]),
        (
            "openssl TLS 1.2 session ids",
            Version::Tls12,
            &["-tls1_2", "-no_ticket"],
        ),
    ];
    for (what, version, args) in cases {
        let Some(peer) = openssl_s_server(&pki, args) else {
            return;
        };
        assert_resumes(&peer, &pki, version, what);
    }
    for (what, version, priority) in [
        (
            "gnutls TLS 1.3 tickets",
            Version::Tls13,
            "NORMAL:-VERS-ALL:+VERS-TLS1.3",
        ),
        (
            "gnutls TLS 1.2 tickets",
            Version::Tls12,
            "NORMAL:-VERS-ALL:+VERS-TLS1.2",
        ),
        (
            "gnutls TLS 1.2 session ids",
            Version::Tls12,
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS",
        ),
    ] {
        let Some(peer) = gnutls_serv(&pki, priority, "--echo") else {
            return;
        };
        assert_resumes(&peer, &pki, version, what);
    }
}

#[test]
fn request_reads_the_reply() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3", "-www"]) else {
        return;
    };
    for transport in TRANSPORTS {
        let mut args = vec!["--request", "GET / HTTP/1.0\\r\\n\\r\\n"];
        args.extend_from_slice(transport);
        let (code, json, text) = connect_json(&peer, &pki, &args);
        assert_eq!(code, 0, "{text}");
        assert!(json[0]["response_bytes"].as_u64().unwrap() > 100, "{text}");
    }
}

/// `--record-size-limit`: offered, gnutls-serv's `--recordsize=512` answered and reported in
/// `--json`; a 3000-byte request goes out in records within it and comes back echoed (the
/// per-record check on the wire is tests/tests/record_size_limit.rs).
#[test]
fn record_size_limit_is_negotiated_with_gnutls() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    for priority in [
        "NORMAL:-VERS-ALL:+VERS-TLS1.3",
        "NORMAL:-VERS-ALL:+VERS-TLS1.2",
    ] {
        let Some(peer) = gnutls_serv_with(&pki, priority, &["--echo", "--recordsize=512"]) else {
            return;
        };
        let request = format!("{}\\n", "r".repeat(2999));
        let (code, json, text) = connect_json(
            &peer,
            &pki,
            &["--record-size-limit", "1024", "--request", &request],
        );
        assert_eq!(code, 0, "{text}");
        let limit = json[0]["peer_record_size_limit"].as_u64().unwrap();
        assert!((512..=513).contains(&limit), "{text}");
        assert_eq!(json[0]["response_bytes"].as_u64(), Some(3000), "{text}");
    }
    // Without the flag nothing is offered, so nothing is answered.
    let peer = gnutls_serv_with(&pki, "NORMAL", &["--echo", "--recordsize=512"]).unwrap();
    let (code, json, text) = connect_json(&peer, &pki, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(json[0]["peer_record_size_limit"].is_null(), "{text}");
}

#[test]
fn failures_report_the_alert_and_exit_1() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256); // a CA the server's chain does not lead to
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let (code, json, text) = connect_json(&peer, &other, &[]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(json[0]["ok"], false);
    assert_eq!(json[0]["error_kind"], "Ssl");
    assert_eq!(json[0]["alert"], "unknown_ca", "{text}");
    // Usage errors exit 2.
    let addr = peer.addr.to_string();
    let (code, _, _) = overture(&["connect", &addr, "--tls1.2", "--tls1.3"]);
    assert_eq!(code, 2);
}

#[test]
fn reconnect_prints_one_object_per_connection() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let (code, json, text) = connect_json(&peer, &pki, &["--reconnect", "2"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json.len(), 3, "{text}");
    assert!(json.iter().all(|j| j["ok"] == true));
}

/// `--early-data` with `--reconnect`: the first connection gets a ticket (no early data:
/// `early_data` null), the resumed ones send the string as 0-RTT data, which `openssl s_server
/// -early_data` and `gnutls-serv --earlydata` accept (`early_data: "accepted"`, the bytes
/// counted in `early_data_bytes`); gnutls-serv's echo of it is the reply read afterwards.
#[test]
fn early_data_is_accepted_on_reconnect() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let early = "GET-EARLY\\n";
    let mut peers = Vec::new();
    if let Some(p) = openssl_s_server(&pki, &["-tls1_3", "-early_data"]) {
        peers.push(p);
    }
    if let Some(p) = gnutls_serv_with(
        &pki,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3",
        &["--echo", "--earlydata", "--maxearlydata=4096"],
    ) {
        peers.push(p);
    }
    for (i, peer) in peers.iter().enumerate() {
        // Every transport against s_server, the blocking one against gnutls-serv (each run
        // waits for 2 s of silence after the reply).
        let transports = if i == 0 {
            &TRANSPORTS[..]
        } else {
            &TRANSPORTS[..1]
        };
        for transport in transports {
            let mut args = vec!["--reconnect", "1", "--early-data", early];
            args.extend_from_slice(transport);
            let (code, json, text) = connect_json(peer, &pki, &args);
            assert_eq!(code, 0, "{}: {text}", peer.name);
            assert_eq!(json.len(), 2, "{text}");
            assert!(json[0]["early_data"].is_null(), "{text}");
            assert_eq!(json[0]["early_data_bytes"], 0, "{text}");
            assert_eq!(json[1]["resumed"], true, "{}: {text}", peer.name);
            assert_eq!(json[1]["early_data"], "accepted", "{}: {text}", peer.name);
            assert_eq!(json[1]["early_data_bytes"], 10, "{text}");
        }
    }
}

/// `--status` asks for the stapled OCSP response (status_request) and reports its size:
/// `openssl s_server -status_file` staples a response made by `openssl ocsp` (its status
/// "unknown": the responder's index is empty; the client only carries the bytes), in TLS 1.3
/// (CertificateEntry extension) and TLS 1.2 (CertificateStatus); without `--status` nothing
/// is asked and nothing comes.
#[test]
fn status_reports_the_stapled_ocsp_response() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    if !overture_tests::peer_available("openssl") {
        assert!(!overture_tests::peers_required(), "openssl is required");
        return;
    }
    let dir = &pki.dir;
    std::fs::write(dir.join("index.txt"), "").unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    overture_tests::openssl_cli(
        dir,
        &[
            "ocsp",
            "-issuer",
            &path("intermediate.pem"),
            "-cert",
            &path("leaf.pem"),
            "-no_nonce",
            "-reqout",
            &path("req.der"),
        ],
    );
    overture_tests::openssl_cli(
        dir,
        &[
            "ocsp",
            "-index",
            &path("index.txt"),
            "-CA",
            &path("intermediate.pem"),
            "-rsigner",
            &path("leaf.pem"),
            "-rkey",
            &path("key.pem"),
            "-reqin",
            &path("req.der"),
            "-respout",
            &path("resp.der"),
            "-ndays",
            "1",
        ],
    );
    let response_len = std::fs::metadata(dir.join("resp.der")).unwrap().len();
    assert!(
        response_len > 100,
        "an OCSP response of {response_len} bytes"
    );
    for version in ["-tls1_3", "-tls1_2"] {
        let peer = openssl_s_server(&pki, &[version, "-status_file", &path("resp.der")]).unwrap();
        let (code, json, text) = connect_json(&peer, &pki, &["--status"]);
        assert_eq!(code, 0, "{version}: {text}");
        assert_eq!(
            json[0]["ocsp_response_bytes"], response_len,
            "{version}: {text}"
        );
        let (code, json, text) = connect_json(&peer, &pki, &[]);
        assert_eq!(code, 0, "{version}: {text}");
        assert!(
            json[0]["ocsp_response_bytes"].is_null(),
            "{version}: {text}"
        );
    }
}

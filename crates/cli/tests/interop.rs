//! `overture connect ... --json` against servers no one here wrote: `openssl s_server` and
//! `gnutls-serv` on 127.0.0.1, for every TLS 1.3 suite and group in scope, every certificate
//! type, and all three transports. Prints the interop matrix as pass counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture_tests::{KeyKind, Peer, Pki, gnutls_serv, openssl_s_server};
use std::process::Command;

const SUITES: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
const GROUPS: [&str; 3] = ["x25519", "secp256r1", "secp384r1"];
const TRANSPORTS: [&[&str]; 3] = [&[], &["--non-blocking"], &["--bio-pair"]];

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

/// Runs the suite × group × transport matrix against `peer`; returns (run, passed).
fn matrix(peer: &Peer, pki: &Pki, failures: &mut Vec<String>) -> (usize, usize) {
    let addr = peer.addr.to_string();
    let ca = pki.ca_pem.to_str().unwrap();
    let (mut run, mut passed) = (0, 0);
    for suite in SUITES {
        for group in GROUPS {
            for transport in TRANSPORTS {
                run += 1;
                let mut args = vec![
                    "connect",
                    &addr,
                    "--server-name",
                    "localhost",
                    "--ca-file",
                    ca,
                    "--tls1.3",
                    "--cipher-suites",
                    suite,
                    "--groups",
                    group,
                    "--json",
                    "--timeout",
                    "10",
                ];
                args.extend_from_slice(transport);
                let (code, json, text) = overture(&args);
                let ok = code == 0
                    && json.len() == 1
                    && json[0]["ok"] == true
                    && json[0]["protocol"] == "TLSv1.3"
                    && json[0]["cipher_suite"] == suite
                    && json[0]["group"] == group
                    && json[0]["server_name"] == "localhost"
                    && json[0]["peer_chain_len"] == 2
                    && json[0]["resumed"] == false;
                if ok {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{} {} {suite} {group} {transport:?}: exit {code}: {text}",
                        peer.name,
                        pki.kind.name()
                    ));
                }
            }
        }
    }
    (run, passed)
}

fn report(peer_name: &str, results: &[(KeyKind, usize, usize)], failures: &[String]) {
    for (kind, run, passed) in results {
        println!(
            "interop {peer_name} TLSv1.3 {}: {passed}/{run} passed",
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

#[test]
fn openssl_s_server_tls13_matrix() {
    let mut results = vec![];
    let mut failures = vec![];
    for kind in KeyKind::ALL {
        let pki = Pki::new(kind);
        let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
            return;
        };
        let (run, passed) = matrix(&peer, &pki, &mut failures);
        results.push((kind, run, passed));
    }
    report("openssl-s_server", &results, &failures);
}

#[test]
fn gnutls_serv_tls13_matrix() {
    let mut results = vec![];
    let mut failures = vec![];
    for kind in KeyKind::ALL {
        let pki = Pki::new(kind);
        let Some(peer) = gnutls_serv(
            &pki,
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+CHACHA20-POLY1305:+GROUP-ALL",
            "--echo",
        ) else {
            return;
        };
        let (run, passed) = matrix(&peer, &pki, &mut failures);
        results.push((kind, run, passed));
    }
    report("gnutls-serv", &results, &failures);
}

#[test]
fn request_reads_the_reply() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3", "-www"]) else {
        return;
    };
    let addr = peer.addr.to_string();
    for transport in TRANSPORTS {
        let mut args = vec![
            "connect",
            &addr,
            "--server-name",
            "localhost",
            "--ca-file",
            pki.ca_pem.to_str().unwrap(),
            "--request",
            "GET / HTTP/1.0\\r\\n\\r\\n",
            "--json",
        ];
        args.extend_from_slice(transport);
        let (code, json, text) = overture(&args);
        assert_eq!(code, 0, "{text}");
        assert!(json[0]["response_bytes"].as_u64().unwrap() > 100, "{text}");
    }
}

#[test]
fn failures_report_the_alert_and_exit_1() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let other = Pki::new(KeyKind::EcdsaP256); // a CA the server's chain does not lead to
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let addr = peer.addr.to_string();
    let (code, json, text) = overture(&[
        "connect",
        &addr,
        "--server-name",
        "localhost",
        "--ca-file",
        other.ca_pem.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(json[0]["ok"], false);
    assert_eq!(json[0]["error_kind"], "Ssl");
    assert_eq!(json[0]["alert"], "unknown_ca", "{text}");
    // Usage errors exit 2.
    let (code, _, _) = overture(&["connect", &addr, "--tls1.2", "--tls1.3"]);
    assert_eq!(code, 2);
}

#[test]
fn reconnect_prints_one_object_per_connection() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let addr = peer.addr.to_string();
    let (code, json, text) = overture(&[
        "connect",
        &addr,
        "--server-name",
        "localhost",
        "--ca-file",
        pki.ca_pem.to_str().unwrap(),
        "--reconnect",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json.len(), 3, "{text}");
    assert!(json.iter().all(|j| j["ok"] == true));
}

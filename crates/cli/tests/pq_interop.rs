//! `overture connect ... --json` and X25519MLKEM768 (issue #16) against servers no one here
//! wrote: Node's OpenSSL 3.5 and Go's crypto/tls (`tests/peers/`, skipped without Node / Go as
//! `overture_tests::pq_peers` says), and `openssl s_server` 3.0, which has no ML-KEM. The
//! default groups report `"group":"X25519MLKEM768"`, full and resumed, with no
//! HelloRetryRequest; OpenSSL 3.0 gets x25519 with no HelloRetryRequest; `--groups` takes the
//! hybrid names.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture_tests::pq_peers::{go_tls_server, node_tls_server};
use overture_tests::{KeyKind, Peer, Pki, openssl_s_server};
use std::process::Command;

/// `overture connect <peer> --server-name localhost --ca-file <ca> --json <extra…>`: the exit
/// code, the JSON objects printed, and all the output (for messages).
fn connect_json(peer: &Peer, pki: &Pki, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let addr = peer.addr.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_overture"))
        .args(["connect", &addr, "--server-name", "localhost", "--ca-file"])
        .arg(&pki.ca_pem)
        .arg("--json")
        .args(extra)
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

/// The default groups: X25519MLKEM768 on the first connection and on the resumed one, with
/// no HelloRetryRequest.
fn assert_default_is_x25519mlkem768(name: &str, peer: &Peer, pki: &Pki) {
    let (code, json, text) = connect_json(peer, pki, &["--reconnect", "1"]);
    assert_eq!(code, 0, "{name}: {text}");
    assert_eq!(json.len(), 2, "{name}: {text}");
    for (i, j) in json.iter().enumerate() {
        assert_eq!(j["protocol"], "TLSv1.3", "{name}: {text}");
        assert_eq!(j["group"], "X25519MLKEM768", "{name}: {text}");
        assert_eq!(j["hello_retry_request"], false, "{name}: {text}");
        assert_eq!(j["resumed"], i == 1, "{name}: {text}");
    }
}

#[test]
fn default_groups_report_x25519mlkem768_against_node_openssl_3_5() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = node_tls_server(&pki, &[]) else {
        return;
    };
    assert_default_is_x25519mlkem768("node", &peer.peer, &pki);
}

#[test]
fn default_groups_and_hybrid_names_against_go_crypto_tls() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = go_tls_server(&pki, None, &[]) else {
        return;
    };
    assert_default_is_x25519mlkem768("go", &peer.peer, &pki);
    // --groups by name: an x25519 share first reaches ML-KEM through Go's HelloRetryRequest;
    // SecP256r1MLKEM768 (not a default group) can be asked for.
    let cases = [
        ("x25519,X25519MLKEM768", "X25519MLKEM768", true),
        ("SecP256r1MLKEM768", "SecP256r1MLKEM768", false),
    ];
    for (groups, group, hrr) in cases {
        let (code, json, text) = connect_json(&peer.peer, &pki, &["--groups", groups]);
        assert_eq!(code, 0, "--groups {groups}: {text}");
        assert_eq!(json[0]["group"], group, "--groups {groups}: {text}");
        assert_eq!(
            json[0]["hello_retry_request"], hrr,
            "--groups {groups}: {text}"
        );
    }
}

#[test]
fn default_groups_fall_back_to_x25519_against_openssl_3_0_without_a_retry() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let Some(peer) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let (code, json, text) = connect_json(&peer, &pki, &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json[0]["group"], "x25519", "{text}");
    assert_eq!(json[0]["hello_retry_request"], false, "{text}");
}

/// `--ech-config FILE` against Go's ECH server: `"ech":"accepted"` and Go saw the real name;
/// with a config for a key the server does not hold, `"ech":"rejected"` with the server's
/// list in `ech_retry_configs` (base64), which a second run takes as its `--ech-config`;
/// `--ech-grease` against `openssl s_server`: `"ech":"grease"`. Without ECH the key is null.
#[test]
fn ech_config_and_grease_report_in_json() {
    let pki = Pki::build(
        KeyKind::EcdsaP256,
        overture_tests::Validity::Current,
        &["localhost", "public.example"],
    );
    let Some(peer) = go_tls_server(&pki, Some("public.example"), &[]) else {
        return;
    };
    let list = peer.ech_config_list.clone().unwrap();
    let (code, json, text) =
        connect_json(&peer.peer, &pki, &["--ech-config", list.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json[0]["ech"], "accepted", "{text}");
    assert_eq!(json[0]["protocol"], "TLSv1.3", "{text}");
    let seen = peer.handshake(0);
    assert!(seen.ech && seen.server_name == "localhost", "{seen:?}");

    let stale = peer.stale_ech_config_list.clone().unwrap();
    let (code, json, text) =
        connect_json(&peer.peer, &pki, &["--ech-config", stale.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    assert_eq!(json[0]["ok"], false, "{text}");
    assert_eq!(json[0]["ech"], "rejected", "{text}");
    assert_eq!(json[0]["alert"], "ech_required", "{text}");
    let retry = json[0]["ech_retry_configs"]
        .as_str()
        .expect("retry configs")
        .to_string();
    let file = overture_tests::temp_dir("ech-retry").join("retry.b64");
    std::fs::write(&file, retry).unwrap();
    let (code, json, text) =
        connect_json(&peer.peer, &pki, &["--ech-config", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json[0]["ech"], "accepted", "{text}");

    let Some(openssl) = openssl_s_server(&pki, &["-tls1_3"]) else {
        return;
    };
    let (code, json, text) = connect_json(&openssl, &pki, &["--ech-grease"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(json[0]["ech"], "grease", "{text}");
    let (code, json, text) = connect_json(&openssl, &pki, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(json[0]["ech"].is_null(), "{text}");
}

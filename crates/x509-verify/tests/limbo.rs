//! The x509-limbo corpus (C2SP): every testcase, SERVER and CLIENT kinds.
//!
//! `cargo test -p overture-x509-verify --test limbo -- --nocapture`
//! (`cargo xtask corpus x509-limbo`). Every case runs under both profiles, [`Profile::Default`]
//! and [`Profile::Strict`], each with its summary line (`corpus x509-limbo [default]: ...`,
//! `corpus x509-limbo [strict]: ...`). Cases we knowingly decide differently are listed, with
//! the reason, in `tests/limbo-expectations.json`: `both` for divergences of both profiles,
//! `default` and `strict` for those of one profile only (so `default` gives the reason for
//! every case the default profile accepts beyond the strict one). Any other failing case
//! fails the test, and so does a listed case that now passes (so the lists stay exact).
//! `refused_although_the_baselines_accept` records, with the reason, each case OpenSSL 3's
//! default verification and rustls-webpki accept that we still refuse under both profiles
//! (checked: it exists, expects FAILURE, and Profile::Default refuses it).
//! `LIMBO_VERBOSE=1` prints every case's verdict and error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_x509_verify::{
    Certificate, Error, KeyPurpose, PeerName, Profile, RootStore, Verifier,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::rfc3339;

#[derive(Deserialize)]
struct Limbo {
    testcases: Vec<Case>,
}

#[derive(Deserialize)]
struct Name {
    kind: String,
    value: String,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    validation_kind: String,
    trusted_certs: Vec<String>,
    untrusted_intermediates: Vec<String>,
    peer_certificate: String,
    validation_time: Option<String>,
    expected_peer_name: Option<Name>,
    #[serde(default)]
    expected_peer_names: Vec<Name>,
    #[serde(default)]
    signature_algorithms: Vec<String>,
    #[serde(default)]
    key_usage: Vec<String>,
    #[serde(default)]
    extended_key_usage: Vec<String>,
    max_chain_depth: Option<usize>,
    #[serde(default)]
    crls: Vec<String>,
    expected_result: String,
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM certificate in limbo.json")
}

fn peer_name(n: &Name) -> PeerName<'_> {
    match n.kind.as_str() {
        "DNS" => PeerName::Dns(&n.value),
        "IP" => PeerName::Ip(n.value.parse().expect("IP address")),
        "RFC822" => PeerName::Email(&n.value),
        k => panic!("unknown peer name kind {k}"),
    }
}

/// Runs one case: Ok(()) if accepted, Err(why) if rejected.
fn run(
    case: &Case,
    provider: &overture_crypto_provider::CryptoProvider,
    profile: Profile,
) -> Result<(), Error> {
    let mut roots = RootStore::new();
    for pem in &case.trusted_certs {
        // An anchor we cannot parse (e.g. an unknown critical extension) is not an anchor.
        let _ = roots.add_der(&der(pem));
    }
    let mut verifier = Verifier::new(Arc::new(roots), provider).with_profile(profile);
    if !case.crls.is_empty() {
        let crls = case
            .crls
            .iter()
            .map(|p| CertificateRevocationListDer::from_pem_slice(p.as_bytes()).expect("PEM CRL"));
        verifier = verifier.with_crls(crls)?;
    }
    if let Some(max) = case.max_chain_depth {
        verifier = verifier.with_max_intermediates(max);
    }
    let ee = der(&case.peer_certificate);
    let inters: Vec<_> = case
        .untrusted_intermediates
        .iter()
        .map(|p| der(p))
        .collect();
    let now = case
        .validation_time
        .as_deref()
        .map_or_else(UnixTime::now, rfc3339);
    let purpose = if case.extended_key_usage.iter().any(|e| e == "clientAuth")
        || (case.validation_kind == "CLIENT" && case.extended_key_usage.is_empty())
    {
        KeyPurpose::ClientAuth
    } else {
        KeyPurpose::ServerAuth
    };
    let names: Vec<PeerName<'_>> = match case.validation_kind.as_str() {
        "SERVER" => case.expected_peer_name.iter().map(peer_name).collect(),
        _ => case.expected_peer_names.iter().map(peer_name).collect(),
    };
    verifier.verify(&ee, &inters, purpose, &names, now)?;
    // Key usages the case requires of the end entity (absent keyUsage allows all).
    let cert = Certificate::parse(&ee)?;
    for ku in &case.key_usage {
        if !cert.key_usage_allows(ku) {
            return Err(Error::InvalidCertificate {
                what: "required key usage not allowed",
            });
        }
    }
    Ok(())
}

/// The expectations file: known divergences, each with its reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectations {
    /// Divergences of both profiles.
    both: BTreeMap<String, String>,
    /// Divergences of the default profile only.
    default: BTreeMap<String, String>,
    /// Divergences of the strict profile only.
    strict: BTreeMap<String, String>,
    /// Cases that OpenSSL 3 (default flags) and rustls-webpki accept and both our profiles
    /// refuse, with the reason (each must exist, expect FAILURE, and be refused by
    /// Profile::Default).
    refused_although_the_baselines_accept: BTreeMap<String, String>,
}

#[test]
fn x509_limbo() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/x509-limbo");
    let path = dir.join("limbo.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "x509-limbo corpus missing at {} ({e}); see its SOURCE.md",
            path.display()
        )
    });
    let limbo: Limbo = serde_json::from_str(&text).expect("limbo.json parses");
    let exp_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/limbo-expectations.json");
    let exp: Expectations =
        serde_json::from_str(&std::fs::read_to_string(&exp_path).expect("expectations file"))
            .expect("expectations JSON: {both, default, strict: {id: reason}}");
    for id in exp.default.keys().chain(exp.strict.keys()) {
        assert!(
            !exp.both.contains_key(id),
            "{id} is listed under `both` and under one profile"
        );
    }
    let mut problems = Vec::new();
    for (name, profile, own) in [
        ("default", Profile::Default, &exp.default),
        ("strict", Profile::Strict, &exp.strict),
    ] {
        let mut expected = exp.both.clone();
        expected.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
        problems.extend(run_corpus(&limbo, name, profile, &expected));
    }
    let provider = overture_crypto_provider::ring::default_provider();
    for (id, reason) in &exp.refused_although_the_baselines_accept {
        match limbo.testcases.iter().find(|c| &c.id == id) {
            None => problems.push(format!("{id}: no such case")),
            Some(c) if c.expected_result != "FAILURE" => {
                problems.push(format!("{id}: listed as refused but expects SUCCESS"))
            }
            Some(c) => match run(c, &provider, Profile::Default) {
                Ok(()) => problems.push(format!("{id}: listed as refused but accepted")),
                Err(e) => {
                    println!("[default] refused ({e}) although the baselines accept {id}: {reason}")
                }
            },
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Runs every case under `profile`, prints the summary lines, and returns what is wrong
/// (failing cases not in `expected`, listed cases that pass or do not exist).
fn run_corpus(
    limbo: &Limbo,
    name: &str,
    profile: Profile,
    expected: &BTreeMap<String, String>,
) -> Vec<String> {
    let provider = overture_crypto_provider::ring::default_provider();
    // LIMBO_VERBOSE=1: every case's verdict and error, not only the failures.
    let verbose = std::env::var_os("LIMBO_VERBOSE").is_some();

    let (mut run_n, mut passed, mut failed, mut skipped, mut false_accepts) = (0, 0, 0, 0, 0);
    let mut unexplained = Vec::new();
    let mut stale = Vec::new();
    let mut unexplained_accepts = 0;
    for case in &limbo.testcases {
        if !case.signature_algorithms.is_empty() {
            skipped += 1;
            println!(
                "[{name}] skip {}: signature_algorithms restriction not supported",
                case.id
            );
            continue;
        }
        run_n += 1;
        let start = std::time::Instant::now();
        let result = run(case, &provider, profile);
        let took = start.elapsed();
        let want_success = case.expected_result == "SUCCESS";
        let ok = result.is_ok() == want_success;
        if took > Duration::from_millis(200) {
            println!("[{name}] slow {}: {took:?}", case.id);
        }
        if verbose {
            match &result {
                Ok(()) => println!("[{name}] {} {}: accepted", case.id, case.expected_result),
                Err(e) => println!(
                    "[{name}] {} {}: rejected: {e}",
                    case.id, case.expected_result
                ),
            }
        }
        if ok {
            passed += 1;
            if expected.contains_key(&case.id) {
                stale.push(case.id.clone());
            }
        } else {
            failed += 1;
            if !want_success {
                false_accepts += 1;
            }
            let why = match &result {
                Ok(()) => "accepted".to_owned(),
                Err(e) => format!("rejected: {e}"),
            };
            match expected.get(&case.id) {
                Some(reason) => {
                    println!("[{name}] known divergence {} ({why}): {reason}", case.id)
                }
                None => {
                    if !want_success {
                        unexplained_accepts += 1;
                    }
                    println!(
                        "[{name}] FAIL {} expected {} but {why}",
                        case.id, case.expected_result
                    );
                    unexplained.push(case.id.clone());
                }
            }
        }
    }
    for id in expected.keys() {
        if !limbo.testcases.iter().any(|c| &c.id == id) {
            stale.push(format!("{id} (no such case)"));
        }
    }
    println!(
        "corpus x509-limbo [{name}]: {run_n} run, {passed} passed, {failed} failed, {skipped} skipped"
    );
    println!(
        "x509-limbo [{name}] false accepts: {false_accepts} ({unexplained_accepts} not explained)"
    );
    let mut problems = Vec::new();
    if !unexplained.is_empty() {
        problems.push(format!(
            "[{name}] {} cases fail that the expectations file does not list: {unexplained:?}",
            unexplained.len()
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "[{name}] cases listed in limbo-expectations.json now pass or do not exist (remove \
             them): {stale:?}"
        ));
    }
    problems
}

/// `Certificate::signature_key_of` (the cheap read for a handshake signature) agrees with a
/// full parse on every certificate of the corpus that parses: same key algorithm and key,
/// same keyUsage verdict on digitalSignature.
#[test]
fn signature_key_agrees_with_a_full_parse() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/x509-limbo/limbo.json");
    let text = std::fs::read_to_string(&path).expect("x509-limbo corpus (see its SOURCE.md)");
    let limbo: Limbo = serde_json::from_str(&text).expect("limbo.json parses");
    let (mut parsed, mut without_signing) = (0, 0);
    for case in &limbo.testcases {
        let pems = case
            .trusted_certs
            .iter()
            .chain(&case.untrusted_intermediates)
            .chain([&case.peer_certificate]);
        for pem in pems {
            let der = der(pem);
            let Ok(cert) = Certificate::parse(&der) else {
                continue;
            };
            let key = Certificate::signature_key_of(der.as_ref())
                .unwrap_or_else(|e| panic!("{}: parses but signature_key_of fails: {e}", case.id));
            assert_eq!(
                key.public_key_alg_id,
                cert.public_key_alg_id(),
                "{}",
                case.id
            );
            assert_eq!(key.public_key, cert.public_key(), "{}", case.id);
            let allowed = cert.key_usage_allows("digitalSignature");
            assert_eq!(key.digital_signature, allowed, "{}", case.id);
            parsed += 1;
            without_signing += usize::from(!allowed);
        }
    }
    println!("{parsed} certificates, {without_signing} without digitalSignature");
    assert!(parsed > 500, "{parsed} certificates");
    assert!(
        without_signing > 10,
        "{without_signing} without digitalSignature"
    );
}

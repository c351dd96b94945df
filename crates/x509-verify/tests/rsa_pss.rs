//! RSASSA-PSS keys (`id-RSASSA-PSS` SubjectPublicKeyInfo, RFC 4055; TLS `rsa_pss_pss_*`,
//! RFC 8446 §4.2.3) in certificates made by OpenSSL (`openssl req -newkey rsa-pss`), at run
//! time: chains verify with both providers, handshake-style signatures by such a key verify
//! through the `rsa_pss_pss_*` verifiers, and keys whose parameters are not those of a TLS
//! scheme are refused. Needs `openssl` on PATH (CI installs it); without it the tests say so
//! and pass, unless `OVERTURE_REQUIRE_PEERS` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use overture_crypto_provider::{CryptoProvider, RSA_PSS_KEY_ALG_ID};
use overture_types::SignatureScheme;
use overture_x509_verify::{Certificate, Error, Profile, RootStore, Verifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime, alg_id};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A scratch directory of its own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("overture-pss-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether `openssl` runs; if not, the test is skipped (or fails when peers are required).
fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("OVERTURE_REQUIRE_PEERS").is_none(),
            "openssl is required (OVERTURE_REQUIRE_PEERS) but not on PATH"
        );
        println!("skipped: openssl not on PATH");
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pem_cert(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

/// `-pkeyopt` arguments for an RSASSA-PSS key tied to `md` (`None`: no parameters).
fn pss_key_opts(md: Option<&str>) -> Vec<String> {
    let mut v = vec!["-pkeyopt".to_owned(), "rsa_keygen_bits:2048".to_owned()];
    if let Some(md) = md {
        let salt = match md {
            "sha256" => 32,
            "sha384" => 48,
            _ => 64,
        };
        for o in [
            format!("rsa_pss_keygen_md:{md}"),
            format!("rsa_pss_keygen_mgf1_md:{md}"),
            format!("rsa_pss_keygen_saltlen:{salt}"),
        ] {
            v.push("-pkeyopt".to_owned());
            v.push(o);
        }
    }
    v
}

/// A self-signed RSASSA-PSS root (`root.pem`, `root.key`) whose key is tied to `md`, or not.
fn make_root(dir: &Path, md: Option<&str>, opts_extra: &[&str]) {
    let opts = pss_key_opts(md);
    let mut args = vec!["req", "-x509", "-newkey", "rsa-pss"];
    args.extend(opts.iter().map(String::as_str));
    args.extend(opts_extra);
    args.extend([
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-days",
        "3650",
        "-nodes",
        "-subj",
        "/CN=Overture PSS Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &args);
}

/// A leaf for `pss.example` with an unrestricted RSASSA-PSS key (`leaf.pem`, `leaf.key`),
/// signed by the root with `md`.
fn make_leaf(dir: &Path, md: &str) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa-pss",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-nodes",
            "-subj",
            "/CN=pss.example",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:pss.example\nextendedKeyUsage=serverAuth\n\
         basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    let digest = format!("-{md}");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-days",
            "365",
            "-out",
            "leaf.pem",
            "-extfile",
            "ext.cnf",
            &digest,
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ],
    );
}

fn providers() -> Vec<(&'static str, CryptoProvider)> {
    vec![
        ("ring", overture_crypto_provider::ring::default_provider()),
        (
            "rustcrypto",
            overture_crypto_provider::rustcrypto::default_provider(),
        ),
    ]
}

fn verifier(root: &CertificateDer<'_>, provider: &CryptoProvider, profile: Profile) -> Verifier {
    let mut roots = RootStore::new();
    roots.add_der(root).unwrap();
    Verifier::new(Arc::new(roots), provider).with_profile(profile)
}

/// Chains whose every key is RSASSA-PSS, signed with SHA-256, SHA-384 and SHA-512, verify with
/// both providers under both profiles; a signature by the leaf's key over handshake-style
/// content verifies through the matching `rsa_pss_pss_*` scheme and no other.
#[test]
fn rsa_pss_keyed_chains_and_signatures_verify() {
    if !have_openssl() {
        return;
    }
    let name = ServerName::try_from("pss.example").unwrap();
    for (root_md, sign_md, scheme) in [
        (
            Some("sha256"),
            "sha256",
            SignatureScheme::RSA_PSS_PSS_SHA256,
        ),
        (None, "sha384", SignatureScheme::RSA_PSS_PSS_SHA384),
        (
            Some("sha512"),
            "sha512",
            SignatureScheme::RSA_PSS_PSS_SHA512,
        ),
    ] {
        let dir = Scratch::new(sign_md);
        make_root(&dir.0, root_md, &[]);
        make_leaf(&dir.0, sign_md);
        let root = pem_cert(&dir.path("root.pem"));
        let leaf = pem_cert(&dir.path("leaf.pem"));
        let parsed = Certificate::parse(&leaf).unwrap();
        // The leaf's key has no parameters: its algorithm is the bare id-RSASSA-PSS.
        assert_eq!(parsed.public_key_alg_id(), RSA_PSS_KEY_ALG_ID.as_ref());
        let root_parsed = Certificate::parse(&root).unwrap();
        if root_md.is_some() {
            // A key tied to one hash: its parameters allow only that signature algorithm.
            assert_ne!(root_parsed.public_key_alg_id(), RSA_PSS_KEY_ALG_ID.as_ref());
        }
        for (pname, p) in providers() {
            for profile in [Profile::Default, Profile::Strict] {
                verifier(&root, &p, profile)
                    .verify_server(&leaf, &[], &name, UnixTime::now())
                    .unwrap_or_else(|e| panic!("{pname} {profile:?} {sign_md}: {e}"));
            }
            // A signature by the leaf's key, as a TLS CertificateVerify would carry it.
            let msg = dir.path("msg");
            std::fs::write(&msg, b"TLS 1.3, server CertificateVerify\0transcript").unwrap();
            let digest = format!("-{sign_md}");
            openssl(
                &dir.0,
                &[
                    "dgst",
                    &digest,
                    "-sign",
                    "leaf.key",
                    "-sigopt",
                    "rsa_padding_mode:pss",
                    "-sigopt",
                    "rsa_pss_saltlen:digest",
                    "-out",
                    "sig",
                    "msg",
                ],
            );
            let sig = std::fs::read(dir.path("sig")).unwrap();
            let message = std::fs::read(&msg).unwrap();
            let (key_alg, key) = Certificate::public_key_of(leaf.as_ref()).unwrap();
            for other in [
                SignatureScheme::RSA_PSS_PSS_SHA256,
                SignatureScheme::RSA_PSS_PSS_SHA384,
                SignatureScheme::RSA_PSS_PSS_SHA512,
                SignatureScheme::RSA_PSS_SHA256,
            ] {
                let v = p.verifier_for_scheme(other).unwrap();
                let fits = Certificate::key_alg_for(key_alg, v.signature_alg_id().as_ref())
                    .is_ok_and(|k| k == v.public_key_alg_id().as_ref());
                let ok = fits && v.verify(key, &message, &sig).is_ok();
                assert_eq!(
                    ok,
                    other == scheme,
                    "{pname}: {other:?} for a {sign_md} signature"
                );
            }
        }
    }
}

/// Keys whose RSASSA-PSS parameters are not those of a TLS scheme are refused when the
/// certificate is parsed, and a key tied to SHA-256 cannot vouch for a SHA-384 signature.
#[test]
fn rsa_pss_key_parameters_are_checked() {
    if !have_openssl() {
        return;
    }
    for (tag, opts) in [
        // MGF1 with another hash than the signature's.
        (
            "mixed-mgf",
            &[
                "-pkeyopt",
                "rsa_pss_keygen_md:sha256",
                "-pkeyopt",
                "rsa_pss_keygen_mgf1_md:sha384",
                "-pkeyopt",
                "rsa_pss_keygen_saltlen:32",
            ][..],
        ),
        // A salt shorter than the hash.
        (
            "short-salt",
            &[
                "-pkeyopt",
                "rsa_pss_keygen_md:sha256",
                "-pkeyopt",
                "rsa_pss_keygen_saltlen:20",
            ][..],
        ),
        // SHA-1.
        (
            "sha1",
            &[
                "-pkeyopt",
                "rsa_pss_keygen_md:sha1",
                "-pkeyopt",
                "rsa_pss_keygen_saltlen:20",
            ][..],
        ),
    ] {
        let dir = Scratch::new(tag);
        make_root(&dir.0, None, opts);
        let root = pem_cert(&dir.path("root.pem"));
        match Certificate::parse(&root) {
            Err(Error::UnsupportedKey { what }) => assert!(what.contains("RSASSA-PSS"), "{what}"),
            other => panic!("{tag}: {other:?}"),
        }
        assert!(RootStore::new().add_der(&root).is_err(), "{tag}");
    }
    let dir = Scratch::new("tied");
    make_root(&dir.0, Some("sha256"), &[]);
    let root = pem_cert(&dir.path("root.pem"));
    let key_alg = Certificate::parse(&root).unwrap().public_key_alg_id();
    assert_eq!(
        Certificate::key_alg_for(key_alg, alg_id::RSA_PSS_SHA256.as_ref()).unwrap(),
        RSA_PSS_KEY_ALG_ID.as_ref()
    );
    for other in [alg_id::RSA_PSS_SHA384, alg_id::RSA_PSS_SHA512] {
        assert!(matches!(
            Certificate::key_alg_for(key_alg, other.as_ref()),
            Err(Error::SignatureAlgorithmMismatch)
        ));
    }
}

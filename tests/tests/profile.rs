//! End to end through `Ssl::connect` (issue 19's X.509 half):
//! - a chain `rcgen` made with its defaults (no authorityKeyIdentifier, no extKeyUsage, a
//!   commonName) served by an in-process rustls server connects with the default verification
//!   profile, in TLS 1.3 and TLS 1.2, as rustls, OpenSSL 3 and Go clients do, and is refused
//!   with `with_verification_profile(Profile::Strict)`;
//! - `openssl s_server` and `gnutls-serv` with an RSASSA-PSS-keyed chain (`openssl req -newkey
//!   rsa-pss`) connect in TLS 1.3 and TLS 1.2 (the client offers `rsa_pss_pss_*`, verifies the chain's PSS
//!   signatures and the server's signature by the PSS key).

#![forbid(unsafe_code)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use overture::bio::SocketBio;
use overture::x509::Profile;
use overture::{ClientConfig, Ssl};
use overture_tests::{
    KeyKind, Pki, RustlsServer, gnutls_serv, openssl_cli, openssl_s_server, peer_available,
    temp_dir,
};
use overture_types::ProtocolVersion;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Connects to `addr` as `host`, writes `ping\n` (or, to an `-www` server, an HTTP request)
/// and returns the negotiated version and the first bytes that came back, or the error text.
fn round_trip(
    config: &ClientConfig,
    addr: SocketAddr,
    host: &str,
    http: bool,
) -> Result<(ProtocolVersion, Vec<u8>), String> {
    let mut ssl = Ssl::new(config, host).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let bio = SocketBio::new(tcp);
    bio.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ssl.set_bio(Box::new(bio));
    let negotiated = ssl
        .connect()
        .map_err(|e| format!("{}: {}", e.kind(), e.reason()))?;
    let request: &[u8] = if http {
        b"GET / HTTP/1.0\r\n\r\n"
    } else {
        b"ping\n"
    };
    ssl.write(request)
        .and_then(|_| ssl.flush())
        .map_err(|e| e.reason().to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 5 {
        match ssl.read(&mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read: {}", e.reason())),
        }
    }
    Ok((negotiated.version(), got))
}

fn ca_file(root_pem: &str) -> std::path::PathBuf {
    let path = temp_dir("profile-ca").join("ca.pem");
    std::fs::write(&path, root_pem).unwrap();
    path
}

/// rcgen's defaults: a root (PEM), an intermediate and a `localhost` leaf, with nothing set
/// but the CA flag and the names.
fn rcgen_default_chain() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    };
    let root_params = ca("rcgen default root");
    let root_key = KeyPair::generate().unwrap();
    let root = root_params.self_signed(&root_key).unwrap().pem();
    let inter_params = ca("rcgen default intermediate");
    let inter_key = KeyPair::generate().unwrap();
    let inter = inter_params
        .signed_by(&inter_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap()
        .der()
        .clone();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &Issuer::from_params(&inter_params, &inter_key))
        .unwrap()
        .der()
        .clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (root, vec![leaf, inter], key)
}

#[test]
fn rcgen_default_chain_connects_to_rustls() {
    // What used to stop it: no authorityKeyIdentifier in the leaf and the intermediate.
    let (root, chain, key) = rcgen_default_chain();
    let config = ClientConfig::builder()
        .with_ca_file(ca_file(&root))
        .unwrap()
        .build()
        .unwrap();
    let strict = ClientConfig::builder()
        .with_ca_file(ca_file(&root))
        .unwrap()
        .with_verification_profile(Profile::Strict)
        .build()
        .unwrap();
    for (version, rustls_versions) in [
        (ProtocolVersion::TLSv1_3, &[&rustls::version::TLS13]),
        (ProtocolVersion::TLSv1_2, &[&rustls::version::TLS12]),
    ] {
        let server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(rustls_versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key.clone_key())
        .unwrap();
        let server = RustlsServer::start(Arc::new(server_config));
        let (got_version, echo) = round_trip(&config, server.addr, "localhost", false)
            .unwrap_or_else(|e| panic!("{version:?}: {e}"));
        assert_eq!(got_version, version);
        assert_eq!(echo, b"ping\n");
        // The name is still checked.
        let err = round_trip(&config, server.addr, "example.com", false).unwrap_err();
        assert!(err.contains("example.com"), "{err}");
        // The strict profile (RFC 5280 / CA/B Forum) is one option away, and refuses it.
        let err = round_trip(&strict, server.addr, "localhost", false).unwrap_err();
        assert!(err.contains("authorityKeyIdentifier"), "{version:?}: {err}");
    }
}

/// An RSASSA-PSS root (key tied to SHA-256), intermediate and `localhost` leaf (unrestricted
/// PSS keys), made by the openssl CLI, as a [`Pki`] for `openssl_s_server`.
fn pss_pki() -> Pki {
    let dir = temp_dir("pss-pki");
    openssl_cli(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa-pss",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-pkeyopt",
            "rsa_pss_keygen_md:sha256",
            "-pkeyopt",
            "rsa_pss_keygen_mgf1_md:sha256",
            "-pkeyopt",
            "rsa_pss_keygen_saltlen:32",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-nodes",
            "-subj",
            "/CN=Overture PSS Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    std::fs::write(
        dir.join("ca.cnf"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("leaf.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n\
         basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .unwrap();
    for (name, cn, issuer, ext, md) in [
        (
            "inter",
            "/CN=Overture PSS Intermediate",
            "ca",
            "ca.cnf",
            "-sha256",
        ),
        ("leaf", "/CN=localhost", "inter", "leaf.cnf", "-sha384"),
    ] {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let (ca_pem, ca_key) = (format!("{issuer}.pem"), format!("{issuer}.key"));
        openssl_cli(
            &dir,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa-pss",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-nodes",
                "-subj",
                cn,
            ],
        );
        openssl_cli(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &ca_pem,
                "-CAkey",
                &ca_key,
                "-CAcreateserial",
                "-days",
                "30",
                "-out",
                &pem,
                "-extfile",
                ext,
                md,
                "-sigopt",
                "rsa_pss_saltlen:digest",
            ],
        );
    }
    let chain_pem = dir.join("chain.pem");
    let leaf = std::fs::read(dir.join("leaf.pem")).unwrap();
    let inter = std::fs::read(dir.join("inter.pem")).unwrap();
    std::fs::write(&chain_pem, [leaf, inter].concat()).unwrap();
    let der = |p: &str| CertificateDer::from_pem_file(dir.join(p)).unwrap();
    Pki {
        ca_pem: dir.join("ca.pem"),
        chain_pem,
        leaf_pem: dir.join("leaf.pem"),
        intermediate_pem: dir.join("inter.pem"),
        key_pem: dir.join("leaf.key"),
        ca_der: der("ca.pem"),
        chain: vec![der("leaf.pem"), der("inter.pem")],
        key_der: Vec::new(),
        // Not used by `openssl_s_server`: the files above are what it serves.
        kind: KeyKind::Rsa2048,
        dir,
    }
}

#[test]
fn rsa_pss_keyed_chain_connects_to_openssl_and_gnutls() {
    if !peer_available("openssl") {
        return;
    }
    let pki = pss_pki();
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    for (flag, version) in [
        ("-tls1_3", ProtocolVersion::TLSv1_3),
        ("-tls1_2", ProtocolVersion::TLSv1_2),
    ] {
        let Some(server) = openssl_s_server(&pki, &[flag, "-www"]) else {
            return;
        };
        let (got, answer) = round_trip(&config, server.addr, "localhost", true)
            .unwrap_or_else(|e| panic!("{}: {e}", server.name));
        assert_eq!(got, version, "{}", server.name);
        assert!(answer.starts_with(b"HTTP/1.0 200"), "{}", server.name);
    }
    // GnuTLS signs with the same key (its RSA-PSS support), TLS 1.3 and TLS 1.2.
    for (priority, version) in [
        ("NORMAL:-VERS-ALL:+VERS-TLS1.3", ProtocolVersion::TLSv1_3),
        ("NORMAL:-VERS-ALL:+VERS-TLS1.2", ProtocolVersion::TLSv1_2),
    ] {
        let Some(server) = gnutls_serv(&pki, priority, "--echo") else {
            return;
        };
        let (got, echo) = round_trip(&config, server.addr, "localhost", false)
            .unwrap_or_else(|e| panic!("{}: {e}", server.name));
        assert_eq!(got, version, "{}", server.name);
        assert_eq!(echo, b"ping\n", "{}", server.name);
    }
}

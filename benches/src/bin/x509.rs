//! `cargo xtask bench x509`: verifying a 3-certificate chain (root → intermediate → server),
//! ECDSA P-256 and RSA-2048 (PKCS#1 SHA-256), beside rustls-webpki verifying the same chain.
//!
//! - `verify-<alg>/cold`: `overture` is `Verifier::verify_server` without a signature cache
//!   (parse, profile checks, path building, 2 signature checks, name check); `rustls-webpki`
//!   is `EndEntityCert::try_from` + `verify_for_usage(serverAuth)` +
//!   `verify_is_valid_for_subject_name` with a prepared trust anchor.
//!   `floor` is the two signature verifications alone (the provider's verifier on the
//!   intermediate's and the end entity's signed data): what any verifier must pay.
//! - `parse-ee-<alg>`: `Certificate::parse` of the end entity (every field and extension
//!   checked) against `EndEntityCert::try_from`.
//! - `verify-<alg>/warm-cache`: the same, `overture` with a `SignatureCache` that already holds
//!   the chain's two signatures (as for a client reconnecting to the same server): every
//!   check but the signature math still runs. rustls-webpki has no cache; it runs as above.

#[cfg(feature = "x509")]
fn main() {
    bench::run();
}

#[cfg(not(feature = "x509"))]
fn main() {
    overture_benches::needs_feature("x509");
}

#[cfg(feature = "x509")]
mod bench {
    use overture_benches::Suite;
    use overture_types::pki::{CertificateDer, ServerName, UnixTime};
    use overture_x509_verify::{Certificate, RootStore, SignatureCache, Verifier};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SignatureAlgorithm,
    };
    use std::hint::black_box;
    use std::sync::Arc;

    fn ca(name: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p
    }

    /// (root, intermediate, end entity) DER.
    fn chain(keys: [KeyPair; 3]) -> [CertificateDer<'static>; 3] {
        let [root_key, ica_key, ee_key] = keys;
        let root_params = ca("Bench Root");
        let root = root_params.self_signed(&root_key).expect("root");
        let mut ica_params = ca("Bench Intermediate");
        ica_params.use_authority_key_identifier_extension = true;
        let ica = ica_params
            .signed_by(&ica_key, &Issuer::from_params(&root_params, &root_key))
            .expect("intermediate");
        let mut ee = CertificateParams::new(vec!["bench.example".to_string()]).expect("params");
        ee.distinguished_name = rcgen::DistinguishedName::new();
        ee.use_authority_key_identifier_extension = true;
        ee.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let ee = ee
            .signed_by(&ee_key, &Issuer::from_params(&ica_params, &ica_key))
            .expect("end entity");
        [root.der().clone(), ica.der().clone(), ee.der().clone()]
    }

    fn rsa_key(file: &str, alg: &'static SignatureAlgorithm) -> KeyPair {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data")
            .join(file);
        let pem = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("RSA test key {}: {e}", path.display()));
        KeyPair::from_pem_and_sign_algo(&pem, alg).expect("RSA key")
    }

    pub(crate) fn run() {
        let mut suite = Suite::from_args("x509");
        let provider = overture_crypto_provider::ring::default_provider();
        let now = UnixTime::now();
        let name = ServerName::try_from("bench.example").expect("name");
        let ecdsa = chain([
            KeyPair::generate().expect("key"),
            KeyPair::generate().expect("key"),
            KeyPair::generate().expect("key"),
        ]);
        let rsa = chain([
            rsa_key("rsa2048-a.pk8.pem", &rcgen::PKCS_RSA_SHA256),
            rsa_key("rsa2048-b.pk8.pem", &rcgen::PKCS_RSA_SHA256),
            rsa_key("rsa2048-a.pk8.pem", &rcgen::PKCS_RSA_SHA256),
        ]);
        for (alg, [root, ica, ee]) in [("ecdsa-p256", ecdsa), ("rsa-2048", rsa)] {
            let mut roots = RootStore::new();
            roots.add_der(&root).expect("root parses");
            let roots = Arc::new(roots);
            let cold = Verifier::new(Arc::clone(&roots), &provider);
            let cache = Arc::new(SignatureCache::new(1024));
            let warm = Verifier::new(Arc::clone(&roots), &provider).with_cache(Arc::clone(&cache));
            let inters = [ica.clone()];
            warm.verify_server(&ee, &inters, &name, now)
                .expect("overture verifies the chain");
            let anchors = [webpki::anchor_from_trusted_cert(&root)
                .expect("anchor")
                .to_owned()];
            let webpki_verify = || {
                let cert = webpki::EndEntityCert::try_from(&ee).expect("ee");
                cert.verify_for_usage(
                    webpki::ALL_VERIFICATION_ALGS,
                    &anchors,
                    &inters,
                    now,
                    webpki::KeyUsage::server_auth(),
                    None,
                    None,
                )
                .expect("rustls-webpki verifies the chain");
                cert.verify_is_valid_for_subject_name(&name).expect("name");
            };
            webpki_verify();
            let pairs = [(&root, &ica), (&ica, &ee)].map(|(issuer, child)| {
                let issuer = Certificate::parse(issuer).expect("parse");
                let child = Certificate::parse(child).expect("parse");
                let v = provider
                    .verifiers_for_alg_ids(issuer.public_key_alg_id(), child.signature_alg_id())
                    .next()
                    .expect("a verifier");
                (
                    v,
                    issuer.public_key().to_vec(),
                    child.signed_data().to_vec(),
                    child.signature().to_vec(),
                )
            });
            let mut floor = || {
                for (v, key, msg, sig) in &pairs {
                    v.verify(key, msg, sig).expect("signature");
                }
            };
            suite.time(
                &format!("parse-ee-{alg}"),
                &mut [
                    ("overture", &mut || {
                        black_box(Certificate::parse(black_box(&ee)).expect("parse"));
                    }),
                    ("rustls-webpki", &mut || {
                        black_box(webpki::EndEntityCert::try_from(black_box(&ee)).expect("parse"));
                    }),
                ],
            );
            let mut w1 = webpki_verify;
            let mut w2 = webpki_verify;
            suite.time(
                &format!("verify-{alg}/cold"),
                &mut [
                    ("overture", &mut || {
                        black_box(
                            cold.verify_server(&ee, &inters, &name, now)
                                .expect("verify"),
                        );
                    }),
                    ("rustls-webpki", &mut w1),
                    ("floor", &mut floor),
                ],
            );
            suite.time(
                &format!("verify-{alg}/warm-cache"),
                &mut [
                    ("overture", &mut || {
                        black_box(
                            warm.verify_server(&ee, &inters, &name, now)
                                .expect("verify"),
                        );
                    }),
                    ("rustls-webpki", &mut w2),
                ],
            );
        }
        suite.finish();
    }
}

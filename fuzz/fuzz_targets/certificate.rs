//! `overture_x509_verify` parsing: certificates (every accessor), trust anchors (DER, PEM,
//! bare), CRLs. Input: a selector byte, then the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture_fuzz::length_prefixed;
use overture_types::{CertificateDer, CertificateRevocationListDer};
use overture_x509_verify::{Certificate, RootStore, Verifier};

const KEY_USAGES: [&str; 10] = [
    "digitalSignature",
    "contentCommitment",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
    "noSuchUsage",
];

fn certificate(der: &[u8]) {
    let Ok(cert) = Certificate::from_der(der) else {
        return;
    };
    assert_eq!(cert.der(), der);
    let (not_before, not_after) = cert.validity();
    let _ = (
        not_before <= not_after,
        cert.serial(),
        cert.subject(),
        cert.issuer(),
    );
    let _ = (
        cert.public_key_alg_id(),
        cert.public_key(),
        cert.subject_public_key_info(),
    );
    for usage in KEY_USAGES {
        let _ = cert.key_usage_allows(usage);
    }
    let _ = format!("{cert:?}");
}

fuzz_target!(|data: &[u8]| {
    let [selector, bytes @ ..] = data else {
        return;
    };
    match selector % 8 {
        0..=2 => certificate(bytes),
        3 => {
            let mut store = RootStore::new();
            store.set_strict_anchors(selector & 8 != 0);
            if let Err(e) = store.add_der(&CertificateDer::from(bytes)) {
                let _ = (e.to_string(), e.specificity());
            }
        }
        4 => {
            let mut store = RootStore::new();
            let _ = store.add_pem(bytes);
            assert!(store.len() <= bytes.len());
        }
        5 => {
            let parts = length_prefixed(bytes, 3);
            let subject = parts.first().copied().unwrap_or_default();
            let spki = parts.get(1).copied().unwrap_or_default();
            let _ = RootStore::new().add_bare(subject, spki, parts.get(2).copied());
        }
        _ => {
            let provider = overture_crypto_provider::ring::default_provider();
            let verifier = Verifier::new(std::sync::Arc::new(RootStore::new()), &provider);
            let crl = CertificateRevocationListDer::from(bytes.to_vec());
            if let Err(e) = verifier.with_crls([crl]) {
                let _ = e.to_string();
            }
        }
    }
});

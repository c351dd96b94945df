//! `overture_x509_verify` path building: a fuzzed end entity and intermediates against a
//! fixed generated root (fuzz/data/root.der), at a fixed time. Input: `flags`, then
//! length-prefixed DER items (big-endian u16 length each): the end entity, then up to 15
//! intermediates (with flag bit 5, the last item is a CRL instead).
//!
//! flags: bits 0-1 the name (example.com, www.example.com, 127.0.0.1, user@example.com);
//! bit 2 clientAuth instead of serverAuth; bit 3 real signature checks (ring) instead of
//! every signature accepted; bit 4 a fresh signature cache; bit 5 CRL; bit 6 at most 2
//! intermediates; bit 7 a small budget.
#![no_main]

use libfuzzer_sys::fuzz_target;
use overture_crypto_provider::{CryptoProvider, ring};
use overture_fuzz::{accept_all_signatures, debug, length_prefixed};
use overture_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use overture_x509_verify::{Budget, KeyPurpose, PeerName, RootStore, SignatureCache, Verifier};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static ROOT: &[u8] = include_bytes!("../data/root.der");
/// 2027-01-01T00:00:00Z: inside the generated certificates' validity (2026-11-25 + 20 years).
const NOW: u64 = 1_798_761_600;

static ROOTS: LazyLock<Arc<RootStore>> = LazyLock::new(|| {
    let mut roots = RootStore::new();
    roots
        .add_der(&CertificateDer::from(ROOT))
        .expect("fuzz/data/root.der is a valid trust anchor");
    Arc::new(roots)
});
static ACCEPTING: LazyLock<CryptoProvider> = LazyLock::new(accept_all_signatures);
static RING: LazyLock<CryptoProvider> = LazyLock::new(ring::default_provider);

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let mut items = length_prefixed(rest, 16);
    let crl = if flags & 32 != 0 { items.pop() } else { None };
    let Some((ee, inters)) = items.split_first() else {
        return;
    };
    let provider = if flags & 8 != 0 { &*RING } else { &*ACCEPTING };
    let mut verifier = Verifier::new(ROOTS.clone(), provider);
    if flags & 16 != 0 {
        verifier = verifier.with_cache(Arc::new(SignatureCache::new(8)));
    }
    if flags & 64 != 0 {
        verifier = verifier.with_max_intermediates(2);
    }
    if flags & 128 != 0 {
        verifier = verifier.with_budget(Budget {
            signatures: 4,
            build_calls: 20,
            depth: 4,
        });
    }
    if let Some(crl) = crl {
        match verifier.with_crls([CertificateRevocationListDer::from(crl.to_vec())]) {
            Ok(v) => verifier = v,
            Err(_) => return,
        }
    }
    let name = match flags & 3 {
        0 => PeerName::Dns("example.com"),
        1 => PeerName::Dns("www.example.com"),
        2 => PeerName::Ip([127, 0, 0, 1].into()),
        _ => PeerName::Email("user@example.com"),
    };
    let purpose = if flags & 4 != 0 {
        KeyPurpose::ClientAuth
    } else {
        KeyPurpose::ServerAuth
    };
    let inters: Vec<CertificateDer<'_>> = inters.iter().map(|d| CertificateDer::from(*d)).collect();
    let now = UnixTime::since_unix_epoch(Duration::from_secs(NOW));
    match verifier.verify(&CertificateDer::from(*ee), &inters, purpose, &[name], now) {
        Ok(path) => {
            if debug() {
                eprintln!("verified: {path:?}");
            }
            assert!(path.anchor < ROOTS.len());
            assert!(path.intermediates.iter().all(|&i| i < inters.len()));
            // A path never uses one intermediate twice.
            let mut seen = path.intermediates.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), path.intermediates.len(), "{path:?}");
        }
        Err(e) => {
            if debug() {
                eprintln!("rejected: {e}");
            }
            let _ = (e.to_string(), e.specificity());
        }
    }
});

//! Unit tests per concern, with certificates generated here by rcgen.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_x509_verify::{
    Budget, Certificate, Error, KeyPurpose, PeerName, Profile, RootStore, SignatureCache, Verifier,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CidrSubnet,
    CustomExtension, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints, RevokedCertParams, SanType, SerialNumber, date_time_ymd,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;
use std::time::Duration;

/// 2030-01-01, inside every default validity window below.
fn now() -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(1_893_456_000))
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn ca_params(name: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p
}

fn root(name: &str) -> Ca {
    root_with(ca_params(name, None))
}

fn root_with(mut params: CertificateParams) -> Ca {
    params.use_authority_key_identifier_extension = false;
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    Ca { params, key, der }
}

fn intermediate(name: &str, path_len: Option<u8>, issuer: &Ca) -> Ca {
    intermediate_with(ca_params(name, path_len), issuer)
}

fn intermediate_with(params: CertificateParams, issuer: &Ca) -> Ca {
    let key = KeyPair::generate().unwrap();
    let der = params
        .signed_by(&key, &issuer.issuer())
        .unwrap()
        .der()
        .clone();
    Ca { params, key, der }
}

fn ee_params(sans: &[&str]) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p
}

fn ee_with(params: CertificateParams, issuer: &Ca) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    params
        .signed_by(&key, &issuer.issuer())
        .unwrap()
        .der()
        .clone()
}

fn ee(sans: &[&str], issuer: &Ca) -> CertificateDer<'static> {
    ee_with(ee_params(sans), issuer)
}

fn verifier(roots: &[&Ca]) -> Verifier {
    let mut store = RootStore::new();
    for r in roots {
        store.add_der(&r.der).unwrap();
    }
    Verifier::new(
        Arc::new(store),
        &overture_crypto_provider::ring::default_provider(),
    )
}

fn server(
    v: &Verifier,
    ee: &CertificateDer<'_>,
    inters: &[CertificateDer<'_>],
    name: &str,
) -> Result<(), Error> {
    let name = ServerName::try_from(name).unwrap();
    v.verify_server(ee, inters, &name, now()).map(|_| ())
}

// ---- names and wildcards -------------------------------------------------------------------

#[test]
fn dns_names_match_exactly_and_report_what_was_presented() {
    let r = root("Root");
    let leaf = ee(&["example.com", "www.example.com"], &r);
    let v = verifier(&[&r]);
    server(&v, &leaf, &[], "example.com").unwrap();
    server(&v, &leaf, &[], "WWW.Example.com").unwrap();
    match server(&v, &leaf, &[], "api.example.com") {
        Err(Error::NotValidForName {
            expected,
            presented,
        }) => {
            assert_eq!(expected, "api.example.com");
            assert_eq!(presented, vec!["example.com", "www.example.com"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wildcards_follow_rfc6125() {
    let r = root("Root");
    let leaf = ee(&["*.example.com"], &r);
    let v = verifier(&[&r]);
    server(&v, &leaf, &[], "foo.example.com").unwrap();
    assert!(matches!(
        server(&v, &leaf, &[], "example.com"),
        Err(Error::NotValidForName { .. })
    ));
    assert!(matches!(
        server(&v, &leaf, &[], "a.b.example.com"),
        Err(Error::NotValidForName { .. })
    ));
    // A wildcard over a single label (a TLD) is malformed.
    let bad = ee(&["*.com"], &r);
    assert!(matches!(
        server(&v, &bad, &[], "example.com"),
        Err(Error::InvalidCertificate { .. })
    ));
    // Not the whole leftmost label.
    let partial = ee(&["f*.example.com"], &r);
    assert!(server(&v, &partial, &[], "foo.example.com").is_err());
}

#[test]
fn ip_addresses_match_ip_sans_only() {
    let r = root("Root");
    let mut p = ee_params(&[]);
    p.subject_alt_names = vec![
        SanType::IpAddress("192.0.2.7".parse().unwrap()),
        SanType::DnsName("host.example".try_into().unwrap()),
    ];
    let leaf = ee_with(p, &r);
    let v = verifier(&[&r]);
    server(&v, &leaf, &[], "192.0.2.7").unwrap();
    assert!(matches!(
        server(&v, &leaf, &[], "192.0.2.8"),
        Err(Error::NotValidForName { .. })
    ));
    let ip6 = PeerName::Ip("2001:db8::1".parse().unwrap());
    assert!(
        v.verify(&leaf, &[], KeyPurpose::ServerAuth, &[ip6], now())
            .is_err()
    );
}

#[test]
fn common_name_is_never_used_and_gets_its_own_error() {
    let r = root("Root");
    let mut p = ee_params(&[]);
    p.subject_alt_names.clear();
    p.distinguished_name.push(DnType::CommonName, "example.com");
    let leaf = ee_with(p, &r);
    let v = verifier(&[&r]);
    match server(&v, &leaf, &[], "example.com") {
        Err(Error::CommonNameOnly { common_name }) => assert_eq!(common_name, "example.com"),
        other => panic!("{other:?}"),
    }
}

// ---- extended key usage --------------------------------------------------------------------

#[test]
fn eku_must_allow_the_purpose() {
    let r = root("Root");
    let mut p = ee_params(&["client.example"]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client = ee_with(p, &r);
    let v = verifier(&[&r]);
    assert_eq!(
        server(&v, &client, &[], "client.example"),
        Err(Error::RequiredEkuNotFound {
            needed: "serverAuth"
        })
    );
    v.verify_client(&client, &[], now()).unwrap();
    // No EKU at all: any purpose (RFC 5280 4.2.1.12).
    let mut p = ee_params(&["any.example"]);
    p.extended_key_usages.clear();
    server(&v, &ee_with(p, &r), &[], "any.example").unwrap();
    // An intermediate's EKU restricts what it may issue for.
    let mut ip = ca_params("Client-only CA", None);
    ip.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let ica = intermediate_with(ip, &r);
    let leaf = ee(&["x.example"], &ica);
    assert!(matches!(
        server(&v, &leaf, std::slice::from_ref(&ica.der), "x.example"),
        Err(Error::RequiredEkuNotFound { .. })
    ));
}

// ---- name constraints ----------------------------------------------------------------------

#[test]
fn name_constraints_permit_and_exclude() {
    let r = root("Root");
    let mut p = ca_params("Constrained CA", None);
    p.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("example.com".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_v4_prefix([192, 0, 2, 0], 24)),
        ],
        excluded_subtrees: vec![GeneralSubtree::DnsName("secret.example.com".into())],
    });
    let ica = intermediate_with(p, &r);
    let chain = std::slice::from_ref(&ica.der);
    let v = verifier(&[&r]);
    server(
        &v,
        &ee(&["a.b.example.com"], &ica),
        chain,
        "a.b.example.com",
    )
    .unwrap();
    let outside = ee(&["example.org"], &ica);
    assert_eq!(
        server(&v, &outside, chain, "example.org"),
        Err(Error::NameConstraintViolation {
            name: "example.org".into()
        })
    );
    let excluded = ee(&["x.secret.example.com"], &ica);
    assert!(matches!(
        server(&v, &excluded, chain, "x.secret.example.com"),
        Err(Error::NameConstraintViolation { .. })
    ));
    // A wildcard that could match an excluded name is rejected.
    let wild = ee(&["*.secret.example.com"], &ica);
    assert!(matches!(
        server(&v, &wild, chain, "a.secret.example.com"),
        Err(Error::NameConstraintViolation { .. })
    ));
    let mut ipee = ee_params(&[]);
    ipee.subject_alt_names = vec![SanType::IpAddress("198.51.100.1".parse().unwrap())];
    assert!(matches!(
        server(&v, &ee_with(ipee, &ica), chain, "198.51.100.1"),
        Err(Error::NameConstraintViolation { .. })
    ));
}

// ---- path length, depth, budget ------------------------------------------------------------

#[test]
fn path_length_constraint_is_enforced() {
    let r = root("Root");
    let i1 = intermediate("I1", Some(0), &r);
    let i2 = intermediate("I2", None, &i1);
    let leaf = ee(&["x.example"], &i2);
    let v = verifier(&[&r]);
    assert_eq!(
        server(&v, &leaf, &[i2.der.clone(), i1.der.clone()], "x.example"),
        Err(Error::PathLenExceeded)
    );
    // pathLen 0 directly above the end entity is fine.
    let leaf1 = ee(&["y.example"], &i1);
    server(&v, &leaf1, std::slice::from_ref(&i1.der), "y.example").unwrap();
    // And the user's own depth limit.
    let v1 = verifier(&[&r]).with_max_intermediates(0);
    assert_eq!(
        server(&v1, &leaf1, std::slice::from_ref(&i1.der), "y.example"),
        Err(Error::MaxDepthExceeded { max: 0 })
    );
}

#[test]
fn backtracks_past_an_expired_cross_sign_and_keeps_the_most_specific_error() {
    let r = root("Root");
    let old_root = root("Old Root");
    // Two certificates for the same intermediate (same key): one by the old root (expired),
    // one by the current root.
    let key = KeyPair::generate().unwrap();
    let mut expired = ca_params("ICA", None);
    expired.not_after = date_time_ymd(2021, 1, 1);
    let expired_der = expired
        .signed_by(&key, &old_root.issuer())
        .unwrap()
        .der()
        .clone();
    let good_params = ca_params("ICA", None);
    let good_der = good_params
        .signed_by(&key, &r.issuer())
        .unwrap()
        .der()
        .clone();
    let ica = Ca {
        params: good_params,
        key,
        der: good_der.clone(),
    };
    let leaf = ee(&["x.example"], &ica);
    let v = verifier(&[&r, &old_root]);
    // The expired one comes first and must be skipped.
    let path = v
        .verify_server(
            &leaf,
            &[expired_der.clone(), good_der],
            &ServerName::try_from("x.example").unwrap(),
            now(),
        )
        .unwrap();
    assert_eq!(path.intermediates, vec![1]);
    // With only the expired path available, the error says so (not "unknown issuer").
    match server(&v, &leaf, &[expired_der], "x.example") {
        Err(Error::Expired { not_after, now: n }) => {
            assert_eq!(n, now());
            assert_eq!(not_after.as_secs(), 1_609_459_200);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hostile_mesh_of_50_intermediates_ends_with_a_budget_error() {
    // 50 self-issued CAs with the same name and different keys, each signed by the next: every
    // one is a candidate issuer of every other, and none leads to a trust anchor.
    let keys: Vec<KeyPair> = (0..50).map(|_| KeyPair::generate().unwrap()).collect();
    let mut params = ca_params("Mesh CA", None);
    params.use_authority_key_identifier_extension = false;
    let mesh: Vec<CertificateDer<'static>> = (0..50)
        .map(|i| {
            let signer = Issuer::from_params(&params, &keys[(i + 1) % 50]);
            params.signed_by(&keys[i], &signer).unwrap().der().clone()
        })
        .collect();
    // The leaf names its issuer's key (AKI); the mesh certificates do not, so at every step
    // above the leaf all 49 others are candidates.
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = ee_params(&["x.example"])
        .signed_by(&leaf_key, &Issuer::from_params(&params, &keys[0]))
        .unwrap()
        .der()
        .clone();
    let unrelated = root("Unrelated Root");
    let v = verifier(&[&unrelated]);
    let start = std::time::Instant::now();
    let err = v
        .verify(&leaf, &mesh, KeyPurpose::ServerAuth, &[], now())
        .unwrap_err();
    println!("mesh search ended after {:?}: {err}", start.elapsed());
    assert!(matches!(err, Error::BudgetExceeded { .. }), "{err:?}");
    // A smaller budget ends it sooner, with the same kind of error.
    let small = v.with_budget(Budget {
        signatures: 10,
        build_calls: 100,
        depth: 4,
    });
    let err = small
        .verify(&leaf, &mesh, KeyPurpose::ServerAuth, &[], now())
        .unwrap_err();
    assert!(matches!(err, Error::BudgetExceeded { .. }), "{err:?}");
}

// ---- validity ------------------------------------------------------------------------------

#[test]
fn expiry_and_not_yet_valid_carry_the_times() {
    let r = root("Root");
    let mut p = ee_params(&["x.example"]);
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(2027, 1, 1);
    let leaf = ee_with(p, &r);
    let v = verifier(&[&r]);
    let name = ServerName::try_from("x.example").unwrap();
    let at = |secs| UnixTime::since_unix_epoch(Duration::from_secs(secs));
    // notAfter is inclusive.
    v.verify_server(&leaf, &[], &name, at(1_798_761_600))
        .unwrap();
    assert_eq!(
        v.verify_server(&leaf, &[], &name, at(1_798_761_601)),
        Err(Error::Expired {
            not_after: at(1_798_761_600),
            now: at(1_798_761_601)
        })
    );
    assert_eq!(
        v.verify_server(&leaf, &[], &name, at(1_767_225_599)),
        Err(Error::NotValidYet {
            not_before: at(1_767_225_600),
            now: at(1_767_225_599)
        })
    );
}

// ---- extensions, keys, CRLs ----------------------------------------------------------------

#[test]
fn unknown_critical_extensions_are_rejected() {
    let r = root("Root");
    let mut p = ee_params(&["x.example"]);
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55738, 666, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    p.custom_extensions.push(ext);
    let leaf = ee_with(p, &r);
    assert_eq!(
        Certificate::parse(&leaf).unwrap_err(),
        Error::UnknownCriticalExtension {
            oid: "1.3.6.1.4.1.55738.666.1".into()
        }
    );
    assert!(server(&verifier(&[&r]), &leaf, &[], "x.example").is_err());
}

#[test]
fn ca_as_end_entity_and_unknown_issuer() {
    let r = root("Root");
    let ica = intermediate("ICA", None, &r);
    let v = verifier(&[&r]);
    assert_eq!(
        v.verify(&ica.der, &[], KeyPurpose::ServerAuth, &[], now()),
        Err(Error::CaUsedAsEndEntity)
    );
    let other = root("Other");
    let leaf = ee(&["x.example"], &other);
    match server(&v, &leaf, &[], "x.example") {
        Err(Error::UnknownIssuer { issuer }) => assert_eq!(issuer, "CN=Other"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn crls_revoke_and_must_be_current() {
    let r = root("Root");
    let mut p = ee_params(&["x.example"]);
    p.serial_number = Some(SerialNumber::from(vec![0x42]));
    let leaf = ee_with(p, &r);
    let crl = |next_update| {
        CertificateRevocationListParams {
            this_update: date_time_ymd(2029, 1, 1),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            // unsorted, several: the verifier sorts them once and binary-searches
            revoked_certs: [vec![0x99], vec![0x42], vec![0x07], vec![0x01, 0x00]]
                .into_iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from(serial),
                    revocation_time: date_time_ymd(2029, 1, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&r.issuer())
        .unwrap()
        .der()
        .clone()
    };
    let v = verifier(&[&r])
        .with_crls([crl(date_time_ymd(2031, 1, 1))])
        .unwrap();
    assert_eq!(
        server(&v, &leaf, &[], "x.example"),
        Err(Error::Revoked {
            serial: "42".into()
        })
    );
    let stale = verifier(&[&r])
        .with_crls([crl(date_time_ymd(2029, 6, 1))])
        .unwrap();
    assert!(matches!(
        server(&stale, &leaf, &[], "x.example"),
        Err(Error::InvalidCrl { .. })
    ));
    // Another certificate of the same CA is not affected.
    server(&v, &ee(&["y.example"], &r), &[], "y.example").unwrap();
    for serial in [vec![0x99], vec![0x07], vec![0x01, 0x00]] {
        let mut p = ee_params(&["z.example"]);
        p.serial_number = Some(SerialNumber::from(serial));
        assert!(matches!(
            server(&v, &ee_with(p, &r), &[], "z.example"),
            Err(Error::Revoked { .. })
        ));
    }
    let mut p = ee_params(&["z.example"]);
    p.serial_number = Some(SerialNumber::from(vec![0x43]));
    server(&v, &ee_with(p, &r), &[], "z.example").unwrap();
}

// ---- the signature cache -------------------------------------------------------------------

#[test]
fn cache_hits_on_repeat_and_never_accepts_a_changed_signature() {
    let r = root("Root");
    let ica = intermediate("ICA", None, &r);
    let leaf = ee(&["x.example"], &ica);
    let chain = vec![ica.der.clone()];
    let cache = Arc::new(SignatureCache::new(16));
    let v = verifier(&[&r]).with_cache(Arc::clone(&cache));
    server(&v, &leaf, &chain, "x.example").unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.stats(), (0, 2));
    server(&v, &leaf, &chain, "x.example").unwrap();
    assert_eq!(cache.stats(), (2, 2));
    // Names and time are still checked on a cache hit.
    assert!(matches!(
        server(&v, &leaf, &chain, "y.example"),
        Err(Error::NotValidForName { .. })
    ));
    // A flipped bit in the leaf's signature: a miss, and a bad signature.
    let mut bad = leaf.as_ref().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let bad = CertificateDer::from(bad);
    let (hits, _) = cache.stats();
    assert_eq!(
        server(&v, &bad, &chain, "x.example"),
        Err(Error::BadSignature)
    );
    assert_eq!(cache.stats().0, hits, "a changed signature must miss");
    assert_eq!(cache.len(), 2, "a failed signature is never remembered");
}

// ---- hostile input -------------------------------------------------------------------------

#[test]
fn verifier_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Verifier>();
    assert_send_sync::<SignatureCache>();
    assert_send_sync::<RootStore>();
}

#[test]
fn mutated_and_truncated_certificates_never_panic() {
    let r = root("Root");
    let ica = intermediate("ICA", None, &r);
    let leaf = ee(&["x.example"], &ica);
    let v = verifier(&[&r]);
    let name = ServerName::try_from("x.example").unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut accepted, mut tried) = (0, 0);
    for target in 0..2 {
        let original = if target == 0 {
            leaf.to_vec()
        } else {
            ica.der.to_vec()
        };
        for i in 0..original.len() {
            for variant in 0..3 {
                let mut m = original.clone();
                match variant {
                    0 => m[i] ^= 1 << (next() % 8),
                    1 => m[i] = m[i].wrapping_add(1 + (next() % 255) as u8),
                    _ => m.truncate(i),
                }
                let m = CertificateDer::from(m);
                let (ee_der, chain) = if target == 0 {
                    (m, vec![ica.der.clone()])
                } else {
                    (leaf.clone(), vec![m])
                };
                let _ = Certificate::parse(&ee_der);
                tried += 1;
                if v.verify_server(&ee_der, &chain, &name, now()).is_ok() {
                    accepted += 1;
                }
            }
        }
    }
    // Every byte of a certificate is either signed (tbsCertificate) or the signature and its
    // algorithm, so no changed or truncated certificate may verify.
    println!("{accepted} of {tried} mutations still verify");
    assert_eq!(accepted, 0, "{accepted} of {tried} mutations verified");
}

#[test]
fn common_name_policy() {
    use overture_x509_verify::CommonNamePolicy;
    let r = root("Root");
    let with_cn = |cn: &str, san: &str| {
        let mut p = ee_params(&[san]);
        p.distinguished_name.push(DnType::CommonName, cn);
        ee_with(p, &r)
    };
    // Profile::Strict's policy is Consistent; Profile::Default's is Ignore.
    let v = verifier(&[&r]).with_profile(Profile::Strict);
    assert_eq!(v.common_name_policy(), CommonNamePolicy::Consistent);
    let strict = verifier(&[&r]).with_common_name_policy(CommonNamePolicy::InSan);
    let ignore = verifier(&[&r]);
    assert_eq!(ignore.common_name_policy(), CommonNamePolicy::Ignore);
    // A verbatim copy passes everywhere.
    let same = with_cn("example.com", "example.com");
    server(&v, &same, &[], "example.com").unwrap();
    server(&strict, &same, &[], "example.com").unwrap();
    // A mis-spelt copy (case, U-label, IP-like) is rejected by Consistent.
    for (cn, san) in [
        ("EXAMPLE.com", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
    ] {
        let c = with_cn(cn, san);
        assert!(
            matches!(
                server(&v, &c, &[], san),
                Err(Error::CommonNameNotInSan { .. })
            ),
            "{cn}"
        );
        server(&ignore, &c, &[], san).unwrap();
    }
    let mut ip = ee_params(&[]);
    ip.subject_alt_names = vec![SanType::IpAddress("192.168.1.1".parse().unwrap())];
    ip.distinguished_name
        .push(DnType::CommonName, "192.168.001.001");
    assert!(matches!(
        server(&v, &ee_with(ip, &r), &[], "192.168.1.1"),
        Err(Error::CommonNameNotInSan { .. })
    ));
    // A label naming nothing in the SAN: tolerated by Consistent, rejected by InSan.
    let label = with_cn("My Server", "host.example");
    server(&v, &label, &[], "host.example").unwrap();
    assert!(matches!(
        server(&strict, &label, &[], "host.example"),
        Err(Error::CommonNameNotInSan { .. })
    ));
}

#[test]
fn every_supported_key_type_verifies() {
    let rsa = |file: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data")
            .join(file);
        let pem = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("RSA test key {}: {e}", path.display()));
        KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap()
    };
    let kinds: Vec<(&str, [KeyPair; 3])> = vec![
        ("P-256", [(); 3].map(|()| KeyPair::generate().unwrap())),
        (
            "P-384",
            [(); 3].map(|()| KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap()),
        ),
        (
            "Ed25519",
            [(); 3].map(|()| KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap()),
        ),
        (
            "RSA-2048",
            [
                rsa("rsa2048-a.pk8.pem"),
                rsa("rsa2048-b.pk8.pem"),
                rsa("rsa2048-c.pk8.pem"),
            ],
        ),
    ];
    for (kind, [root_key, ica_key, ee_key]) in kinds {
        let mut rp = ca_params("Root", None);
        rp.use_authority_key_identifier_extension = false;
        let root_der = rp.self_signed(&root_key).unwrap().der().clone();
        let r = Ca {
            params: rp,
            key: root_key,
            der: root_der,
        };
        let ip = ca_params("ICA", Some(0));
        let ica_der = ip.signed_by(&ica_key, &r.issuer()).unwrap().der().clone();
        let ica = Ca {
            params: ip,
            key: ica_key,
            der: ica_der,
        };
        let leaf = ee_params(&["x.example"])
            .signed_by(&ee_key, &ica.issuer())
            .unwrap()
            .der()
            .clone();
        let v = verifier(&[&r]);
        server(&v, &leaf, std::slice::from_ref(&ica.der), "x.example")
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        // The TLS layer reads the end entity's key through the same parser.
        let cert = Certificate::parse(&leaf).unwrap();
        let provider = overture_crypto_provider::ring::default_provider();
        assert!(
            provider
                .signature_verifiers
                .iter()
                .any(|sv| sv.public_key_alg_id().as_ref() == cert.public_key_alg_id()),
            "{kind}"
        );
    }
}

#[test]
fn directory_name_constraints_apply_to_the_subject() {
    let dn = |cn: &str| {
        let mut d = rcgen::DistinguishedName::new();
        d.push(DnType::CommonName, cn);
        d
    };
    let r = root("Root");
    let constrained = |permitted: Vec<GeneralSubtree>, excluded: Vec<GeneralSubtree>| {
        let mut p = ca_params("DN CA", None);
        p.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: excluded,
        });
        intermediate_with(p, &r)
    };
    let leaf = |cn: &str, ica: &Ca| {
        let mut p = ee_params(&["x.example"]);
        p.distinguished_name = dn(cn);
        ee_with(p, ica)
    };
    let v = verifier(&[&r]).with_common_name_policy(overture_x509_verify::CommonNamePolicy::Ignore);
    let excl = constrained(vec![], vec![GeneralSubtree::DirectoryName(dn("foo"))]);
    let chain = std::slice::from_ref(&excl.der);
    assert!(matches!(
        server(&v, &leaf("foo", &excl), chain, "x.example"),
        Err(Error::NameConstraintViolation { .. })
    ));
    server(&v, &leaf("bar", &excl), chain, "x.example").unwrap();
    let perm = constrained(vec![GeneralSubtree::DirectoryName(dn("foo"))], vec![]);
    let chain = std::slice::from_ref(&perm.der);
    server(&v, &leaf("foo", &perm), chain, "x.example").unwrap();
    assert!(matches!(
        server(&v, &leaf("bar", &perm), chain, "x.example"),
        Err(Error::NameConstraintViolation { .. })
    ));
}

#[test]
fn too_many_presented_intermediates_are_refused_up_front() {
    let r = root("Root");
    let ica = intermediate("ICA", None, &r);
    let leaf = ee(&["x.example"], &ica);
    let v = verifier(&[&r]);
    let mut chain = vec![ica.der.clone(); overture_x509_verify::MAX_PRESENTED_INTERMEDIATES];
    server(&v, &leaf, &chain, "x.example").unwrap();
    chain.push(ica.der.clone());
    assert!(matches!(
        server(&v, &leaf, &chain, "x.example"),
        Err(Error::BudgetExceeded { .. })
    ));
}

// ---- profiles --------------------------------------------------------------------------------

/// A root → intermediate → leaf chain made with rcgen's defaults (no authorityKeyIdentifier
/// anywhere, no extKeyUsage, a commonName in the leaf), as Rust test setups and private PKIs
/// make them: OpenSSL 3, rustls and Go accept it, so Profile::Default does; Profile::Strict
/// wants RFC 5280's AKI.
#[test]
fn rcgen_default_chain_passes_the_default_profile_only() {
    let ca = |name: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p
    };
    let root_params = ca("rcgen root");
    let root_key = KeyPair::generate().unwrap();
    let root_der = root_params.self_signed(&root_key).unwrap().der().clone();
    let root_issuer = Issuer::from_params(&root_params, &root_key);
    let inter_params = ca("rcgen intermediate");
    let inter_key = KeyPair::generate().unwrap();
    let inter_der = inter_params
        .signed_by(&inter_key, &root_issuer)
        .unwrap()
        .der()
        .clone();
    let inter_issuer = Issuer::from_params(&inter_params, &inter_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["example.com".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &inter_issuer)
        .unwrap()
        .der()
        .clone();
    assert!(
        Certificate::parse(&leaf).is_ok(),
        "rcgen's default leaf parses"
    );
    let mut store = RootStore::new();
    store.add_der(&root_der).unwrap();
    let v = Verifier::new(
        Arc::new(store),
        &overture_crypto_provider::ring::default_provider(),
    );
    assert_eq!(v.profile(), Profile::Default);
    let inters = [inter_der];
    let name = ServerName::try_from("example.com").unwrap();
    v.verify_server(&leaf, &inters, &name, UnixTime::now())
        .unwrap();
    // Still every check with weight: the wrong name, a missing intermediate.
    let other = ServerName::try_from("example.org").unwrap();
    assert!(matches!(
        v.verify_server(&leaf, &inters, &other, UnixTime::now()),
        Err(Error::NotValidForName { .. })
    ));
    assert!(matches!(
        v.verify_server(&leaf, &[], &name, UnixTime::now()),
        Err(Error::UnknownIssuer { .. })
    ));
    let strict = v.with_profile(Profile::Strict);
    let err = strict
        .verify_server(&leaf, &inters, &name, UnixTime::now())
        .unwrap_err();
    assert!(
        err.to_string().contains("authorityKeyIdentifier"),
        "strict: {err}"
    );
}

/// A wildcard over a public suffix matches nothing: ICANN-section suffixes in both profiles,
/// private-section ones (where the suffix's owner holds the wildcard, as GitHub Pages does)
/// in Profile::Strict only. The certificate's other names still count.
#[test]
fn wildcards_over_public_suffixes_never_match() {
    let r = root("Root");
    let v = verifier(&[&r]);
    let strict = verifier(&[&r]).with_profile(Profile::Strict);
    let c = ee(&["*.co.uk", "example.co.uk"], &r);
    for v in [&v, &strict] {
        server(v, &c, &[], "example.co.uk").unwrap();
        match server(v, &c, &[], "victim.co.uk") {
            Err(Error::NotValidForName { presented, .. }) => {
                assert!(
                    presented
                        .iter()
                        .any(|p| p.starts_with("*.co.uk") && p.contains("public suffix")),
                    "{presented:?}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let pages = ee(&["*.github.io", "github.io"], &r);
    server(&v, &pages, &[], "user.github.io").unwrap();
    assert!(matches!(
        server(&strict, &pages, &[], "user.github.io"),
        Err(Error::NotValidForName { .. })
    ));
    server(&strict, &pages, &[], "github.io").unwrap();
}

/// anyExtendedKeyUsage alone means any purpose in Profile::Default (RFC 5280 4.2.1.12, as
/// OpenSSL, rustls-webpki and Go read it); Profile::Strict wants the purpose named. A present
/// EKU without either still fails in both.
#[test]
fn any_extended_key_usage_by_profile() {
    let r = root("Root");
    let mut p = ee_params(&["example.com"]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Any];
    let any = ee_with(p, &r);
    let mut p = ee_params(&["example.com"]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    let code = ee_with(p, &r);
    let v = verifier(&[&r]);
    let strict = verifier(&[&r]).with_profile(Profile::Strict);
    let name = [PeerName::Dns("example.com")];
    for purpose in [KeyPurpose::ServerAuth, KeyPurpose::ClientAuth] {
        let names: &[PeerName<'_>] = if purpose == KeyPurpose::ServerAuth {
            &name
        } else {
            &[]
        };
        v.verify(&any, &[], purpose, names, now()).unwrap();
        assert!(
            strict.verify(&any, &[], purpose, names, now()).is_err(),
            "{purpose:?}"
        );
        for v in [&v, &strict] {
            assert!(matches!(
                v.verify(&code, &[], purpose, names, now()),
                Err(Error::RequiredEkuNotFound { .. })
            ));
        }
    }
}

//! `overture-x509-verify`: X.509 certificate parsing, path building and name checks for the
//! Overture TLS stack. It knows nothing of TLS; it reaches crypto only through the provider's
//! `SignatureVerifier` (signatures) and `Hash` (SHA-256 for the cache).
//!
//! ```text
//!  end entity DER ─┐
//!  intermediates ──┼─► Certificate::parse (der + spki, strict DER, borrowed;
//!                  │        │              RSASSA-PSS key parameters checked)
//!                  │   end-entity checks: Profile (Default | Strict), EKU, SAN syntax,
//!                  │        │  CN policy, name match (no wildcard over a public suffix: PSL)
//!                  │        │
//!  RootStore ──────┼─► path building (depth first, several issuers per step, back-tracking,
//!  (PEM/DER/system/│    loop and cross-sign detection, Budget: signatures · steps · depth)
//!   webpki-roots)  │        │  per issuer: profile, CA, pathLen, validity, EKU nesting,
//!                  │        │  signature ──► SignatureCache (SHA-256 key) ──► SignatureVerifier
//!                  │        │  name constraints of the issuer over everything below it
//!  CRLs ───────────┘        ▼
//!                      revocation of each certificate of the found path
//!                           │
//!                           ▼
//!        Ok(VerifiedPath) or the most specific Error over every path tried
//! ```
//!
//! [`Profile::Default`] accepts what OpenSSL 3 (default flags), rustls-webpki and Go all
//! accept where the difference carries no security weight (a missing authorityKeyIdentifier,
//! as in `rcgen`'s default certificates, is the common case); [`Profile::Strict`] holds chains
//! to RFC 5280 and the CA/B Forum Baseline Requirements. Every rule with security weight is the
//! same in both.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use overture_x509_verify::{RootStore, SignatureCache, Verifier};
//! use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
//! use std::sync::Arc;
//!
//! // A root and a server certificate (generated here; normally read from files / the peer).
//! let ca_key = rcgen::KeyPair::generate()?;
//! let mut ca = rcgen::CertificateParams::new(Vec::<String>::new())?;
//! ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
//! ca.distinguished_name.push(rcgen::DnType::CommonName, "Example Root");
//! ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
//! let ca_cert = ca.self_signed(&ca_key)?;
//! let issuer = rcgen::Issuer::new(ca, ca_key);
//! let ee_key = rcgen::KeyPair::generate()?;
//! let mut ee = rcgen::CertificateParams::new(vec!["example.com".into()])?;
//! ee.distinguished_name = rcgen::DistinguishedName::new();
//! ee.use_authority_key_identifier_extension = true;
//! let ee_cert = ee.signed_by(&ee_key, &issuer)?;
//!
//! let mut roots = RootStore::new();
//! roots.add_der(ca_cert.der())?;
//! let provider = overture_crypto_provider::ring::default_provider();
//! let verifier = Verifier::new(Arc::new(roots), &provider)
//!     .with_cache(Arc::new(SignatureCache::new(1024)));
//! let name = ServerName::try_from("example.com")?;
//! verifier.verify_server(ee_cert.der(), &[], &name, UnixTime::now())?;
//!
//! let wrong = ServerName::try_from("example.org")?;
//! let err = verifier.verify_server(ee_cert.der(), &[], &wrong, UnixTime::now()).unwrap_err();
//! assert!(err.to_string().contains("not valid for example.org"));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod cache;
mod cert;
mod crl;
mod dn;
mod error;
mod names;
mod roots;
mod verify;

pub use cache::SignatureCache;
pub use cert::{Certificate, SignatureKey};
pub use dn::{NameAttribute, NameAttributes, name_attributes, oid_to_string};
pub use error::Error;
pub use roots::RootStore;
pub use verify::{
    Budget, CommonNamePolicy, KeyPurpose, MAX_PRESENTED_INTERMEDIATES, PeerName, Profile,
    VerifiedPath, Verifier,
};

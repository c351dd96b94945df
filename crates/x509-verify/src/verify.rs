//! Path building and validation.

use crate::Error;
use crate::asn1::{self, Der};
use crate::cache::{Key, SignatureCache};
use crate::cert::{Certificate, GeneralName, ku, oid};
use crate::crl::OwnedCrl;
use crate::names;
use crate::roots::{Anchor, RootStore};
use overture_crypto_provider::{CryptoProvider, Hash, HashAlgorithm, SignatureVerifier};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, CertificateRevocationListDer, ServerName, UnixTime, alg_id,
};
use std::sync::Arc;

/// Presented intermediates one verification looks at. Servers send 1–4; 100 is OpenSSL's
/// default verify depth. More is refused up front: every build step scans the list, so a
/// 16 MB certificate message of thousands of tiny certificates would otherwise cost tens of
/// milliseconds per handshake.
pub const MAX_PRESENTED_INTERMEDIATES: usize = 100;

/// Limits on the work one verification may do, against hostile chains (meshes of
/// cross-signed intermediates, cycles, 100-deep chains).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Signature verifications (certificates and CRLs). A valid web chain needs 2–4 (plus one
    /// per applicable CRL); back-tracking over a few wrong candidates stays far below 100.
    /// 100 is the cost ceiling: about 5 ms of P-256 or 10 ms of RSA-4096 verification per
    /// handshake, which a hostile server cannot multiply (the 50-CA mesh test ends here).
    pub signatures: usize,
    /// Path-building steps (one per candidate issuer considered). A step is a name
    /// comparison and a few field checks, no crypto (~1 µs); a web chain takes 2–10 steps,
    /// 2,000 cover any sane graph, and bound the searches the signature budget does not see
    /// (candidates rejected before their signature is checked) to a few milliseconds.
    pub build_calls: usize,
    /// Intermediates between end entity and anchor, hard limit (self-issued ones included).
    /// Web PKI paths have at most 3; 10 leaves room for deep private PKIs and bounds the
    /// recursion depth. Exceeding it on one branch is not fatal: other branches are tried.
    pub depth: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            signatures: 100,
            build_calls: 2_000,
            depth: 10,
        }
    }
}

/// Which certificate profile a [`Verifier`] holds chains to.
///
/// Both profiles check everything that carries security weight the same way: signatures,
/// validity, the CA flag and pathLenConstraint, keyCertSign of issuers, EKU of the end entity
/// and its nesting in CAs, name constraints, names, key sizes, CRLs, unknown critical
/// extensions, well-formed DER. They differ only in encoding rules of RFC 5280 and the CA/B
/// Forum Baseline Requirements that OpenSSL 3's default verification, rustls-webpki and Go
/// all leave unchecked (see [`Profile::Default`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// (Default.) What OpenSSL 3 (default flags), rustls-webpki and Go all accept where the
    /// difference carries no security weight. Against [`Profile::Strict`] it accepts:
    /// a missing authorityKeyIdentifier or subjectKeyIdentifier (path-building hints; rcgen's
    /// default certificates have neither), and an AKI with only one of authorityCertIssuer and
    /// authorityCertSerialNumber (never used); a CA's basicConstraints not marked critical (it
    /// is read and enforced all the same); a subjectAltName whose criticality does not follow
    /// the subject's emptiness (RFC 5280 §4.2.1.6 is a rule for the issuing CA; BoringSSL's
    /// test certificates); a zero or over-long (> 20 octets) serial number; a non-critical
    /// policyConstraints (policies are not processed); nameConstraints in a non-CA
    /// certificate (it has nothing below it to constrain) and keyCertSign in one (without
    /// cA=TRUE it still cannot issue); anyExtendedKeyUsage or a critical extKeyUsage in the
    /// end entity (anyExtendedKeyUsage means any purpose, RFC 5280 §4.2.1.12); `_` in a DNS
    /// name (matched byte for byte, it cannot spoof another name); a DNS name constraint
    /// `.example.com` (read as "subdomains only", as OpenSSL and Go do); RSA moduli whose
    /// size is not a multiple of 8 bits (still ≥ 2048); trust anchors outside the CA/B root
    /// profile (their AKI, SKI, extKeyUsage presence, basicConstraints criticality: an anchor
    /// is trusted by configuration; its extKeyUsage still restricts the path); a wildcard over a
    /// suffix of the Public Suffix List's private section (`*.github.io`, held by the suffix's
    /// owner; ICANN-section ones such as `*.co.uk` never match in either profile); and it
    /// ignores the commonName ([`CommonNamePolicy::Ignore`]; names never come from it).
    #[default]
    Default,
    /// RFC 5280 and the CA/B Forum Baseline Requirements as x509-limbo reads them: everything
    /// [`Profile::Default`] lets pass is refused, hand-added trust anchors
    /// ([`RootStore::new`]) must meet the CA/B root profile
    /// ([`RootStore::set_strict_anchors`]), and the commonName must be consistent with the
    /// subjectAltNames ([`CommonNamePolicy::Consistent`]).
    Strict,
}

impl Profile {
    fn strict(self) -> bool {
        self == Self::Strict
    }
}

/// How a server certificate's subject commonName must relate to its subjectAltNames. Names
/// are never *taken* from the commonName; this is only about rejecting inconsistent ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommonNamePolicy {
    /// Ignore the commonName (default of [`Profile::Default`]).
    Ignore,
    /// (Default of [`Profile::Strict`], and `CommonNamePolicy::default()`.) A commonName that
    /// names one of the subjectAltName identities must be its
    /// exact text (same case; an IP address in canonical form, CA/B Forum BR 7.1.4.3
    /// encoding rules), and a commonName that looks like an IP address must be one of the
    /// iPAddress entries in canonical form. A commonName naming nothing in the SAN (a label
    /// such as `example.com` or `My Server` in a private PKI) is tolerated.
    #[default]
    Consistent,
    /// CA/B Forum BR 7.1.4.3 in full: every commonName is, character for character, one of
    /// the subjectAltName entries.
    InSan,
}

/// What the end-entity certificate will be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyPurpose {
    /// A TLS server (id-kp-serverAuth); CA/Browser Forum rules on names apply.
    ServerAuth,
    /// A TLS client (id-kp-clientAuth).
    ClientAuth,
}

impl KeyPurpose {
    fn oid(self) -> &'static [u8] {
        match self {
            Self::ServerAuth => oid::SERVER_AUTH,
            Self::ClientAuth => oid::CLIENT_AUTH,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::ServerAuth => "serverAuth",
            Self::ClientAuth => "clientAuth",
        }
    }
}

/// A name the end-entity certificate must be valid for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerName<'a> {
    /// A DNS name (reference identifier, no wildcard).
    Dns(&'a str),
    /// An IP address.
    Ip(std::net::IpAddr),
    /// An email address (rfc822Name).
    Email(&'a str),
}

impl core::fmt::Display for PeerName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Dns(d) => f.write_str(d),
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Email(e) => f.write_str(e),
        }
    }
}

/// How many presented intermediates are parsed on the stack (more go to the heap).
const INLINE_INTERMEDIATES: usize = 4;

/// The path that verified: which presented intermediates (indices into the `intermediates`
/// argument, end-entity side first) and which trust anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPath {
    /// Indices of the intermediates used, from the one that issued the end entity upwards.
    pub intermediates: Vec<usize>,
    /// Index of the trust anchor in the root store.
    pub anchor: usize,
}

/// Verifies certificate chains against a [`RootStore`].
#[derive(Clone)]
pub struct Verifier {
    roots: Arc<RootStore>,
    algs: Vec<Alg>,
    sha256: Option<&'static dyn Hash>,
    cache: Option<Arc<SignatureCache>>,
    crls: Vec<OwnedCrl>,
    max_intermediates: Option<usize>,
    budget: Budget,
    profile: Profile,
    /// `None`: the profile's default.
    common_name: Option<CommonNamePolicy>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("roots", &self.roots)
            .field("signature_algorithms", &self.algs.len())
            .field("cache", &self.cache)
            .field("crls", &self.crls.len())
            .field("max_intermediates", &self.max_intermediates)
            .field("budget", &self.budget)
            .field("profile", &self.profile)
            .field("common_name", &self.common_name_policy())
            .finish()
    }
}

/// A provider's signature verifier with its two algorithm identifiers read once, so that the
/// lookups of every verification compare bytes instead of making two dynamic calls per
/// verifier.
#[derive(Clone, Copy)]
struct Alg {
    key: AlgorithmIdentifier,
    sig: AlgorithmIdentifier,
    verifier: &'static dyn SignatureVerifier,
}

/// An issuer candidate: a presented intermediate or a trust anchor.
#[derive(Clone, Copy)]
struct Issuer<'a> {
    spki_alg: &'a [u8],
    public_key: &'a [u8],
    /// The certificate, unless a bare anchor.
    cert: Option<&'a Certificate<'a>>,
    name_constraints: Option<&'a [u8]>,
    /// Constraints from a root program (bare anchor): `.suffix` DNS form allowed.
    lenient_constraints: bool,
}

/// A trust anchor made ready to be an [`Issuer`]: its certificate (which the issuer borrows)
/// or, for a bare anchor, the issuer itself. A short-lived local: boxing the certificate
/// would cost an allocation per anchor tried.
#[allow(clippy::large_enum_variant)]
enum Anchored<'a> {
    Cert(Certificate<'a>),
    Bare(Issuer<'a>),
}

impl<'a> Issuer<'a> {
    fn from_cert(cert: &'a Certificate<'a>) -> Self {
        Self {
            spki_alg: cert.spki_alg,
            public_key: cert.public_key,
            name_constraints: cert.ext.name_constraints.map(|e| e.value),
            lenient_constraints: false,
            cert: Some(cert),
        }
    }

    /// The anchor's certificate from its kept parse (parsed again only if that is missing).
    fn anchored(anchor: &'a Anchor) -> Result<Anchored<'a>, Error> {
        match anchor {
            Anchor::Cert { der, shape } => {
                match shape.as_deref().and_then(|s| s.certificate(der)) {
                    Some(cert) => Ok(Anchored::Cert(cert)),
                    None => Certificate::from_der(der).map(Anchored::Cert),
                }
            }
            Anchor::Bare {
                spki,
                name_constraints,
            } => {
                let (spki_alg, public_key) = crate::cert::parse_spki(spki)?;
                Ok(Anchored::Bare(Self {
                    spki_alg,
                    public_key,
                    cert: None,
                    name_constraints: name_constraints.as_deref(),
                    lenient_constraints: true,
                }))
            }
        }
    }
}

/// Per-verification state.
struct Ctx<'a, 'v> {
    v: &'v Verifier,
    ee: &'a Certificate<'a>,
    /// The presented intermediates, each parsed once for the whole verification.
    inters: &'a [Result<Certificate<'a>, Error>],
    purpose: KeyPurpose,
    now: u64,
    signatures: usize,
    calls: usize,
    nc_work: usize,
    best: Option<Error>,
}

enum Role {
    EndEntity,
    Intermediate,
    /// `strict`: the anchor must also meet the CA/B Forum root profile (AKI/SKI form,
    /// critical basicConstraints, no EKU); see [`RootStore::set_strict_anchors`].
    Anchor {
        strict: bool,
    },
}

impl Verifier {
    /// A verifier trusting `roots`, checking signatures with `provider`'s verifiers, with
    /// the default [`Budget`], no signature cache and no CRLs.
    pub fn new(roots: Arc<RootStore>, provider: &CryptoProvider) -> Self {
        Self {
            roots,
            algs: provider
                .signature_verifiers
                .iter()
                .map(|&verifier| Alg {
                    key: verifier.public_key_alg_id(),
                    sig: verifier.signature_alg_id(),
                    verifier,
                })
                .collect(),
            sha256: provider.hash(HashAlgorithm::Sha256),
            cache: None,
            crls: Vec::new(),
            max_intermediates: None,
            budget: Budget::default(),
            profile: Profile::default(),
            common_name: None,
        }
    }

    /// Holds chains to `profile` ([`Profile::Default`] unless set).
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The profile chains are held to.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The commonName policy in force: the one set, else the profile's.
    pub fn common_name_policy(&self) -> CommonNamePolicy {
        self.common_name.unwrap_or(match self.profile {
            Profile::Default => CommonNamePolicy::Ignore,
            Profile::Strict => CommonNamePolicy::Consistent,
        })
    }

    /// Memoises verified signatures in `cache` (share one cache between verifiers freely).
    /// Needs the provider to have SHA-256; without it the cache is not used.
    pub fn with_cache(mut self, cache: Arc<SignatureCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Turns the signature cache off again.
    pub fn without_cache(mut self) -> Self {
        self.cache = None;
        self
    }

    /// Checks every certificate of a path against these CRLs: each CRL whose issuer name is
    /// the certificate's issuer must be signed by that issuer (with cRLSign if it has a
    /// keyUsage), current at `now` (thisUpdate ≤ now ≤ nextUpdate), complete (CRLNumber
    /// present and non-critical; no delta, no issuingDistributionPoint, no unknown critical
    /// extension), and must not list the certificate's serial. A certificate none of the CRLs
    /// speaks for is not checked (unknown status is allowed). Fails if a CRL does not parse.
    pub fn with_crls(
        mut self,
        crls: impl IntoIterator<Item = CertificateRevocationListDer<'static>>,
    ) -> Result<Self, Error> {
        for crl in crls {
            self.crls.push(OwnedCrl::new(crl.as_ref().to_vec())?);
        }
        Ok(self)
    }

    /// Allows at most `max` intermediates (self-issued ones not counted, as for
    /// pathLenConstraint).
    pub fn with_max_intermediates(mut self, max: usize) -> Self {
        self.max_intermediates = Some(max);
        self
    }

    /// Sets how a server certificate's commonName must relate to its subjectAltNames
    /// (overrides the profile's choice).
    pub fn with_common_name_policy(mut self, policy: CommonNamePolicy) -> Self {
        self.common_name = Some(policy);
        self
    }

    /// Replaces the work budget.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// The trust anchors.
    pub fn roots(&self) -> &Arc<RootStore> {
        &self.roots
    }

    /// Verifies a TLS server's chain for `name` at `now`.
    pub fn verify_server(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<VerifiedPath, Error> {
        let peer = match name {
            ServerName::DnsName(d) => PeerName::Dns(d.as_ref()),
            ServerName::IpAddress(ip) => PeerName::Ip(std::net::IpAddr::from(*ip)),
            _ => {
                return Err(Error::NotValidForName {
                    expected: format!("{name:?}"),
                    presented: Vec::new(),
                });
            }
        };
        self.verify(
            end_entity,
            intermediates,
            KeyPurpose::ServerAuth,
            &[peer],
            now,
        )
    }

    /// Verifies a TLS client's chain (clientAuth) at `now`.
    pub fn verify_client(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<VerifiedPath, Error> {
        self.verify(end_entity, intermediates, KeyPurpose::ClientAuth, &[], now)
    }

    /// Verifies `end_entity` for `purpose` and every one of `names` (none: no name check)
    /// at `now`, building a path through `intermediates` (any order, unrelated ones allowed)
    /// to a trust anchor. On failure, the most specific error over all candidate paths.
    ///
    /// Checked every time, cache or not: the end entity's profile (v3, serial, AKI, key
    /// usage, no CA flag), its EKU, the CA/B name rules for servers, the names; for each
    /// issuer its profile, CA flag, keyCertSign, validity, EKU nesting, pathLenConstraint,
    /// the depth limits and its name constraints over everything below it; then CRLs.
    pub fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        purpose: KeyPurpose,
        names: &[PeerName<'_>],
        now: UnixTime,
    ) -> Result<VerifiedPath, Error> {
        if self.roots.is_empty() {
            return Err(Error::NoTrustAnchors);
        }
        if intermediates.len() > MAX_PRESENTED_INTERMEDIATES {
            return Err(Error::BudgetExceeded {
                what: "presented intermediates (at most 100)",
            });
        }
        let now = now.as_secs();
        let ee = Certificate::parse(end_entity)?;
        self.check_end_entity(&ee, purpose, names)?;
        check_time(&ee, now)?;
        // The usual chain has one to three intermediates: parsed on the stack, no allocation
        // (the unused slots hold a placeholder error and are never looked at). Each is parsed
        // into its slot; the array is not built and then moved as a whole.
        let mut on_stack: [Result<Certificate<'_>, Error>; INLINE_INTERMEDIATES] =
            [const { Err(Error::NoTrustAnchors) }; INLINE_INTERMEDIATES];
        let on_heap: Vec<Result<Certificate<'_>, Error>>;
        let inters: &[Result<Certificate<'_>, Error>] =
            if intermediates.len() <= INLINE_INTERMEDIATES {
                for (slot, der) in on_stack.iter_mut().zip(intermediates) {
                    *slot = Certificate::parse(der);
                }
                on_stack.get(..intermediates.len()).unwrap_or_default()
            } else {
                on_heap = intermediates.iter().map(Certificate::parse).collect();
                &on_heap
            };
        let mut ctx = Ctx {
            v: self,
            ee: &ee,
            inters,
            purpose,
            now,
            signatures: 0,
            calls: 0,
            nc_work: 0,
            best: None,
        };
        let mut path = Vec::new();
        if let Some(anchor) = ctx.build(&ee, &mut path)? {
            return Ok(VerifiedPath {
                intermediates: path,
                anchor,
            });
        }
        // No candidate got anywhere: a presented certificate that does not parse may have been
        // the issuer, and says more than "unknown issuer".
        let unparseable = ctx.inters.iter().find_map(|r| r.as_ref().err().cloned());
        Err(ctx
            .best
            .or(unparseable)
            .unwrap_or_else(|| Error::UnknownIssuer {
                issuer: dn_text(ee.issuer),
            }))
    }

    fn check_end_entity(
        &self,
        ee: &Certificate<'_>,
        purpose: KeyPurpose,
        names: &[PeerName<'_>],
    ) -> Result<(), Error> {
        let strict = self.profile.strict();
        profile(ee, &Role::EndEntity, &self.algs, strict)?;
        if ee.is_ca() {
            return Err(Error::CaUsedAsEndEntity);
        }
        // Extended key usage: absent means any (RFC 5280); present must name the purpose.
        if let Some(eku) = ee.ext.eku {
            let mut found = false;
            let mut any = false;
            for p in ekus(eku.value)? {
                let p = p?;
                found |= p == purpose.oid();
                any |= p == oid::ANY_EKU;
            }
            if strict && purpose == KeyPurpose::ServerAuth && (any || eku.critical) {
                return Err(Error::invalid(
                    "server certificate with anyExtendedKeyUsage or a critical extKeyUsage \
                     (CA/B Forum 7.1.2.7.10)",
                ));
            }
            // RFC 5280 4.2.1.12: anyExtendedKeyUsage allows any purpose (Profile::Strict wants
            // the purpose itself named).
            if !found && (strict || !any) {
                return Err(Error::RequiredEkuNotFound {
                    needed: purpose.name(),
                });
            }
        }
        if purpose == KeyPurpose::ServerAuth {
            check_server_names(ee, self.common_name_policy(), strict)?;
        }
        for name in names {
            check_name(ee, name, strict)?;
        }
        Ok(())
    }

    /// Checks `signature` over `message` by the key (`spki_alg`, `key`), through the cache.
    fn check_signature(
        &self,
        counter: &mut usize,
        spki_alg: &[u8],
        key: &[u8],
        sig_alg: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        *counter += 1;
        if *counter > self.budget.signatures {
            return Err(Error::BudgetExceeded {
                what: "signature checks",
            });
        }
        check_key(spki_alg, key, &self.algs, self.profile.strict())?;
        // An RSASSA-PSS key is looked up under its bare algorithm, with its parameters' one
        // signature algorithm if it has parameters.
        let lookup = Certificate::key_alg_for(spki_alg, sig_alg)?;
        let verifier = self
            .algs
            .iter()
            .find(|a| a.key.as_ref() == lookup && a.sig.as_ref() == sig_alg)
            .map(|a| a.verifier);
        let Some(verifier) = verifier else {
            let known = self.algs.iter().any(|a| a.sig.as_ref() == sig_alg);
            return Err(if known {
                Error::SignatureAlgorithmMismatch
            } else {
                Error::UnsupportedSignatureAlgorithm
            });
        };
        let cache = self.cache.as_ref().zip(self.sha256);
        let key_hash = cache.map(|(_, h)| cache_key(h, spki_alg, key, sig_alg, message, signature));
        if let (Some((c, _)), Some(k)) = (cache, key_hash.as_ref())
            && c.contains(k)
        {
            return Ok(());
        }
        verifier
            .verify(key, message, signature)
            .map_err(|_| Error::BadSignature)?;
        if let (Some((c, _)), Some(k)) = (cache, key_hash) {
            c.insert(k);
        }
        Ok(())
    }
}

/// SHA-256 over the length-prefixed tuple (public key algorithm, public key, signature
/// algorithm, signed data, signature).
pub(crate) fn cache_key(
    h: &dyn Hash,
    spki_alg: &[u8],
    key: &[u8],
    sig_alg: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Key {
    let mut ctx = h.start();
    for part in [spki_alg, key, sig_alg, message, signature] {
        ctx.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        ctx.update(part);
    }
    let out = ctx.finish();
    let mut k = [0u8; 32];
    for (d, s) in k.iter_mut().zip(out.as_ref()) {
        *d = *s;
    }
    k
}

impl<'a> Ctx<'a, '_> {
    /// Depth-first search for an issuer of `child`. `path` holds the intermediates (indices)
    /// between the end entity and `child` inclusive, and on success (the anchor's index) the
    /// whole path; `Err` only for budget exhaustion.
    fn build(
        &mut self,
        child: &Certificate<'a>,
        path: &mut Vec<usize>,
    ) -> Result<Option<usize>, Error> {
        let roots = Arc::clone(&self.v.roots);
        for (ai, anchor) in roots.by_subject(child.issuer) {
            self.step()?;
            let anchored = match Issuer::anchored(anchor) {
                Ok(a) => a,
                Err(e) => {
                    Error::most_specific(&mut self.best, e);
                    continue;
                }
            };
            let issuer = match &anchored {
                Anchored::Cert(cert) => Issuer::from_cert(cert),
                Anchored::Bare(issuer) => *issuer,
            };
            match self.try_issuer(
                child,
                &issuer,
                path,
                &Role::Anchor {
                    strict: self.v.profile.strict() && roots.strict_anchors(),
                },
            ) {
                Ok(()) => match self.check_revocation(&issuer, path) {
                    Ok(()) => return Ok(Some(ai)),
                    Err(e) => self.record(e)?,
                },
                Err(e) => self.record(e)?,
            }
        }
        if path.len() >= self.v.budget.depth {
            // Not fatal: another branch may still reach an anchor in fewer steps.
            let e = Error::MaxDepthExceeded {
                max: self.v.budget.depth,
            };
            Error::most_specific(&mut self.best, e);
            return Ok(None);
        }
        let inters = self.inters;
        for (i, cand) in inters.iter().enumerate() {
            let cand = match cand {
                Ok(c) if c.subject == child.issuer => c,
                // Unparseable certificates are reported only if no path got anywhere (see
                // `verify`): their subject is unknown, so they may be unrelated.
                _ => continue,
            };
            if path.contains(&i) || self.repeats_key(cand, child, path) {
                continue; // a loop, or the same CA again through a cross-signature
            }
            self.step()?;
            let issuer = Issuer::from_cert(cand);
            if let Err(e) = self.try_issuer(child, &issuer, path, &Role::Intermediate) {
                self.record(e)?;
                continue;
            }
            path.push(i);
            let found = self.build(cand, path)?;
            if found.is_some() {
                return Ok(found); // `path` is the verified path
            }
            path.pop();
        }
        Ok(None)
    }

    fn step(&mut self) -> Result<(), Error> {
        self.calls += 1;
        if self.calls > self.v.budget.build_calls {
            return Err(Error::BudgetExceeded {
                what: "path-building steps",
            });
        }
        Ok(())
    }

    /// Budget errors end the search; others are remembered if more specific.
    fn record(&mut self, e: Error) -> Result<(), Error> {
        if matches!(e, Error::BudgetExceeded { .. }) {
            return Err(e);
        }
        Error::most_specific(&mut self.best, e);
        Ok(())
    }

    /// Whether `cand` has the same subject and key as the child or a certificate already
    /// on the path (so using it would revisit a CA).
    fn repeats_key(&self, cand: &Certificate<'_>, child: &Certificate<'_>, path: &[usize]) -> bool {
        let same = |c: &Certificate<'_>| c.subject == cand.subject && c.spki == cand.spki;
        same(child)
            || path
                .iter()
                .filter_map(|&i| self.inters.get(i).and_then(|r| r.as_ref().ok()))
                .any(same)
    }

    fn cert_at(&self, i: usize) -> Option<&Certificate<'a>> {
        self.inters.get(i).and_then(|r| r.as_ref().ok())
    }

    /// All checks of `issuer` as the issuer of `child` (whose own checks are done).
    fn try_issuer(
        &mut self,
        child: &Certificate<'_>,
        issuer: &Issuer<'_>,
        path: &[usize],
        role: &Role,
    ) -> Result<(), Error> {
        // A cheap filter before any signature: the child's AKI names the issuer's key.
        if let (Some(aki), Some(cert)) = (child.ext.aki.and_then(|a| a.key_id), &issuer.cert)
            && let Some(ski) = cert.ext.ski
            && asn1::single(ski.value, asn1::OCTET_STRING, "ski").ok() != Some(aki)
        {
            return Err(Error::UnknownIssuer {
                issuer: dn_text(child.issuer),
            });
        }
        let strict = self.v.profile.strict();
        if let Some(cert) = &issuer.cert {
            profile(cert, role, &self.v.algs, strict)?;
            if !cert.is_ca() {
                return Err(Error::EndEntityUsedAsCa);
            }
            check_time(cert, self.now)?;
            if let Some(eku) = cert.ext.eku {
                if matches!(role, Role::Anchor { strict: true }) && cert.self_issued() {
                    return Err(Error::invalid(
                        "root certificate with extKeyUsage (CA/B Forum 7.1.2.1.2)",
                    ));
                }
                let mut ok = false;
                for p in ekus(eku.value)? {
                    let p = p?;
                    ok |= p == self.purpose.oid() || p == oid::ANY_EKU;
                }
                if !ok {
                    return Err(Error::RequiredEkuNotFound {
                        needed: self.purpose.name(),
                    });
                }
            }
            // pathLenConstraint counts the non-self-issued intermediates below this CA.
            let below = self.non_self_issued(path);
            if let Some(bc) = cert.ext.basic_constraints
                && let Some(max) = bc.path_len
                && below > usize::from(max)
            {
                return Err(Error::PathLenExceeded);
            }
        }
        if let Some(max) = self.v.max_intermediates {
            let mut n = self.non_self_issued(path);
            if matches!(role, Role::Intermediate)
                && !issuer.cert.as_ref().is_some_and(|c| c.self_issued())
            {
                n += 1;
            }
            if n > max {
                return Err(Error::MaxDepthExceeded { max });
            }
        }
        self.v.check_signature(
            &mut self.signatures,
            issuer.spki_alg,
            issuer.public_key,
            child.sig_alg,
            child.tbs,
            child.signature,
        )?;
        if let Some(nc) = issuer.name_constraints {
            // Applies to the end entity and every non-self-issued intermediate below.
            // The end entity is checked through `child` when the path is empty.
            let inters = &self.inters;
            let below = path
                .iter()
                .filter_map(|&i| inters.get(i).and_then(|r| r.as_ref().ok()))
                .filter(|c| !c.self_issued());
            let lenient = issuer.lenient_constraints || !strict;
            for cert in core::iter::once(self.ee).chain(below) {
                names::check_constraints(nc, cert, &mut self.nc_work, lenient)?;
            }
        }
        Ok(())
    }

    fn non_self_issued(&self, path: &[usize]) -> usize {
        path.iter()
            .filter_map(|&i| self.cert_at(i))
            .filter(|c| !c.self_issued())
            .count()
    }
}

/// The purposes of an extKeyUsage value, as an iterator (no allocation): the value was
/// checked when the certificate was parsed, but a malformed purpose is still an error here.
fn ekus(value: &[u8]) -> Result<impl Iterator<Item = Result<&[u8], Error>>, Error> {
    let seq = asn1::single(value, asn1::SEQUENCE, "extKeyUsage")?;
    let mut d = Der::new(seq, "extKeyUsage")?;
    Ok(core::iter::from_fn(move || {
        if d.is_empty() {
            return None;
        }
        let p = d.expect(asn1::OID, "KeyPurposeId");
        if p.is_err() {
            d = Der::empty(); // one error ends the list
        }
        Some(p)
    }))
}

fn check_time(cert: &Certificate<'_>, now: u64) -> Result<(), Error> {
    if now < cert.not_before {
        return Err(Error::NotValidYet {
            not_before: UnixTime::since_unix_epoch(core::time::Duration::from_secs(
                cert.not_before,
            )),
            now: UnixTime::since_unix_epoch(core::time::Duration::from_secs(now)),
        });
    }
    if now > cert.not_after {
        return Err(Error::Expired {
            not_after: UnixTime::since_unix_epoch(core::time::Duration::from_secs(cert.not_after)),
            now: UnixTime::since_unix_epoch(core::time::Duration::from_secs(now)),
        });
    }
    Ok(())
}

/// The key must be one the provider can use, and RSA keys at least 2048 bits, a multiple of
/// 8 (CA/B Forum 6.1.5; the multiple only when `strict`).
fn check_key(spki_alg: &[u8], key: &[u8], algs: &[Alg], strict: bool) -> Result<(), Error> {
    let lookup = crate::cert::key_alg(spki_alg)?.lookup;
    if !algs.iter().any(|a| a.key.as_ref() == lookup) {
        return Err(Error::UnsupportedKey {
            what: "key algorithm or curve not supported (DSA, P-192 and explicit curves never are)",
        });
    }
    if lookup == alg_id::RSA_ENCRYPTION.as_ref()
        || lookup == overture_crypto_provider::RSA_PSS_KEY_ALG_ID.as_ref()
    {
        let seq = asn1::single(key, asn1::SEQUENCE, "RSAPublicKey")?;
        let mut d = Der::new(seq, "RSAPublicKey")?;
        let n = asn1::unsigned(d.expect(asn1::INTEGER, "modulus")?, "modulus")?;
        asn1::unsigned(d.expect(asn1::INTEGER, "publicExponent")?, "publicExponent")?;
        d.finish("RSAPublicKey")?;
        let lead = n.first().map_or(0, |b| 8 - b.leading_zeros());
        let bits = n
            .len()
            .saturating_sub(1)
            .saturating_mul(8)
            .saturating_add(usize::try_from(lead).unwrap_or(0));
        if bits < 2048 {
            return Err(Error::UnsupportedKey {
                what: "RSA key shorter than 2048 bits",
            });
        }
        if strict && bits % 8 != 0 {
            return Err(Error::UnsupportedKey {
                what: "RSA key size not a multiple of 8 bits",
            });
        }
    }
    Ok(())
}

impl Ctx<'_, '_> {
    /// CRL checks for every certificate of a found path (end entity first), each against
    /// its issuer: the next certificate, or `anchor` for the last.
    fn check_revocation(&mut self, anchor: &Issuer<'_>, path: &[usize]) -> Result<(), Error> {
        if self.v.crls.is_empty() {
            return Ok(());
        }
        let inters = self.inters;
        let mut certs = vec![self.ee];
        certs.extend(
            path.iter()
                .filter_map(|&i| inters.get(i).and_then(|r| r.as_ref().ok())),
        );
        for (k, cert) in certs.iter().enumerate() {
            match certs.get(k + 1) {
                Some(next) => {
                    let issuer = Issuer::from_cert(next);
                    self.check_crls(cert, &issuer)?;
                }
                None => self.check_crls(cert, anchor)?,
            }
        }
        Ok(())
    }

    fn check_crls(&mut self, cert: &Certificate<'_>, issuer: &Issuer<'_>) -> Result<(), Error> {
        let v = self.v;
        for crl in &v.crls {
            if crl.issuer() != cert.issuer {
                continue; // another CA's list says nothing about this certificate
            }
            if let Some((_, bits)) = issuer.cert.as_ref().and_then(|c| c.ext.key_usage)
                && bits & ku::CRL_SIGN == 0
            {
                return Err(Error::InvalidCrl {
                    what: "the CRL issuer's keyUsage lacks cRLSign",
                });
            }
            if let Some(what) = crl.unusable {
                return Err(Error::InvalidCrl { what });
            }
            self.v
                .check_signature(
                    &mut self.signatures,
                    issuer.spki_alg,
                    issuer.public_key,
                    crl.sig_alg(),
                    crl.tbs(),
                    crl.signature(),
                )
                .map_err(|e| match e {
                    Error::BudgetExceeded { .. } => e,
                    _ => Error::InvalidCrl {
                        what: "the CRL signature does not verify with the issuer's key",
                    },
                })?;
            if crl.this_update > self.now {
                return Err(Error::InvalidCrl {
                    what: "CRL not valid yet (thisUpdate is in the future)",
                });
            }
            if crl.next_update.is_some_and(|n| n < self.now) {
                return Err(Error::InvalidCrl {
                    what: "expired CRL (nextUpdate has passed)",
                });
            }
            if crl.is_revoked(cert.serial) {
                return Err(Error::Revoked {
                    serial: asn1::hex(cert.serial),
                });
            }
        }
        Ok(())
    }
}

/// The RFC 5280 / CA/B Forum profile rules a certificate must meet in its `role`; the rules
/// without security weight only when `strict` ([`Profile`]).
fn profile(cert: &Certificate<'_>, role: &Role, algs: &[Alg], strict: bool) -> Result<(), Error> {
    if cert.version != 2 {
        return Err(Error::invalid("not an X.509 v3 certificate"));
    }
    // A trust anchor is trusted by configuration: its serial number and its own issuer
    // (authorityKeyIdentifier) do not matter (real roots have serial 0, cross-signed anchors
    // lack AKIs).
    let anchor = matches!(role, Role::Anchor { .. });
    // `Role::Anchor { strict }` is only true under the strict profile.
    let root_profile = match role {
        Role::Anchor { strict } => *strict,
        _ => strict,
    };
    if !anchor {
        match cert.serial.first() {
            Some(b) if b & 0x80 != 0 => return Err(Error::invalid("negative serial number")),
            _ => {}
        }
        if strict && cert.serial.iter().all(|b| *b == 0) {
            return Err(Error::invalid("zero serial number"));
        }
        if strict && cert.serial.len() > 20 {
            return Err(Error::invalid("serial number longer than 20 octets"));
        }
    }
    if cert.issuer.is_empty() {
        return Err(Error::invalid("empty issuer name"));
    }
    let ca_role = !matches!(role, Role::EndEntity);
    if ca_role && cert.subject.is_empty() {
        return Err(Error::invalid("CA certificate with an empty subject"));
    }
    let ski = match cert.ext.ski {
        Some(s) if s.critical => {
            return Err(Error::invalid("critical subjectKeyIdentifier"));
        }
        Some(s) => Some(asn1::single(
            s.value,
            asn1::OCTET_STRING,
            "subjectKeyIdentifier",
        )?),
        None => None,
    };
    if ca_role && ski.is_none() && root_profile {
        return Err(Error::invalid(
            "CA certificate without subjectKeyIdentifier",
        ));
    }
    match cert.ext.aki {
        Some(a) if a.critical => return Err(Error::invalid("critical authorityKeyIdentifier")),
        Some(a) if cert.self_issued() && anchor => {
            // Grandfathered root encodings pass when not strict (RootStore::set_strict_anchors).
            if root_profile && (a.has_issuer_or_serial || a.key_id.is_none() || a.key_id != ski) {
                return Err(Error::invalid(
                    "root authorityKeyIdentifier must hold only a keyIdentifier equal to the \
                     subjectKeyIdentifier",
                ));
            }
        }
        Some(a) if strict && !a.issuer_serial_paired => {
            return Err(Error::invalid(
                "authorityCertIssuer and authorityCertSerialNumber must come together",
            ));
        }
        Some(a) if a.key_id.is_some() => {}
        _ if cert.self_issued() || anchor || !strict => {}
        _ => {
            return Err(Error::invalid(
                "authorityKeyIdentifier keyIdentifier missing (RFC 5280 4.2.1.1)",
            ));
        }
    }
    if let Some(bc) = cert.ext.basic_constraints {
        if bc.ca && !bc.critical && root_profile {
            return Err(Error::invalid("CA basicConstraints not marked critical"));
        }
        if !bc.ca && bc.path_len.is_some() {
            return Err(Error::invalid("pathLenConstraint in a non-CA certificate"));
        }
    }
    if let Some((_, bits)) = cert.ext.key_usage {
        let cert_sign = bits & ku::KEY_CERT_SIGN != 0;
        if cert.is_ca() && !cert_sign {
            return Err(Error::invalid(
                "CA certificate whose keyUsage lacks keyCertSign",
            ));
        }
        if strict && !cert.is_ca() && cert_sign {
            return Err(Error::invalid(
                "keyCertSign in a certificate that is not a CA",
            ));
        }
    }
    if let Some(nc) = cert.ext.name_constraints {
        if strict && !cert.is_ca() {
            return Err(Error::invalid(
                "nameConstraints in a certificate that is not a CA",
            ));
        }
        names::validate_constraints(nc.value, !strict)?;
    }
    if cert.ext.aia.is_some_and(|a| a.critical) {
        return Err(Error::invalid("critical authorityInfoAccess"));
    }
    if strict && cert.ext.policy_constraints.is_some_and(|p| !p.critical) {
        return Err(Error::invalid("policyConstraints not marked critical"));
    }
    if let Some(san) = cert.ext.san.filter(|_| strict) {
        if cert.subject.is_empty() && !san.critical {
            return Err(Error::invalid(
                "subjectAltName must be critical when the subject is empty",
            ));
        }
        if !cert.subject.is_empty() && san.critical {
            return Err(Error::invalid(
                "subjectAltName must not be critical when the subject is not empty",
            ));
        }
    }
    check_key(cert.spki_alg, cert.public_key, algs, strict)
}

/// CA/B Forum name rules for a server certificate: subjectAltName present and well formed,
/// every commonName a verbatim copy of one of its entries.
/// `_` in a dNSName passes unless `strict`.
fn check_server_names(
    ee: &Certificate<'_>,
    policy: CommonNamePolicy,
    strict: bool,
) -> Result<(), Error> {
    let Some(san) = ee.san() else {
        return Err(match crate::cert::common_names(ee.subject).next() {
            Some(cn) => Error::CommonNameOnly {
                common_name: String::from_utf8_lossy(cn.value).into_owned(),
            },
            None => Error::invalid("server certificate without subjectAltName"),
        });
    };
    // First the SAN entries alone, then each commonName against them (a second walk over
    // the SAN per commonName, usually none or one, instead of collected lists).
    for n in san {
        match n? {
            GeneralName::Dns(d) if !names::valid_presented_dns(d, !strict) => {
                return Err(Error::invalid("malformed dNSName in subjectAltName"));
            }
            GeneralName::Ip(a) if a.len() != 4 && a.len() != 16 => {
                return Err(Error::invalid("malformed iPAddress in subjectAltName"));
            }
            _ => {}
        }
    }
    if policy == CommonNamePolicy::Ignore {
        return Ok(());
    }
    for cn in crate::cert::common_names(ee.subject) {
        // PrintableString, UTF8String, IA5String
        let text_type = matches!(cn.tag, 0x13 | 0x0c | 0x16);
        let v = cn.value;
        let entries = || ee.san().into_iter().flatten().filter_map(Result::ok);
        let listed = text_type
            && entries().any(|n| match n {
                GeneralName::Dns(d) => d == v,
                GeneralName::Ip(a) => names::ip_text(a).as_bytes() == v,
                _ => false,
            });
        let inconsistent = match policy {
            CommonNamePolicy::Ignore => false,
            CommonNamePolicy::InSan => !listed,
            CommonNamePolicy::Consistent => {
                // The A-label spelling of a UTF8String commonName, to catch a U-label copy.
                let a_labels = core::str::from_utf8(v).ok().and_then(names::to_a_labels);
                let names_a_san = |n: GeneralName<'_>| match n {
                    GeneralName::Dns(d) => {
                        d.eq_ignore_ascii_case(v)
                            || a_labels
                                .as_deref()
                                .is_some_and(|a| d.eq_ignore_ascii_case(a.as_bytes()))
                    }
                    _ => false,
                };
                !listed && (entries().any(names_a_san) || looks_like_ip(v))
            }
        };
        if inconsistent {
            return Err(Error::CommonNameNotInSan {
                common_name: String::from_utf8_lossy(cn.value).into_owned(),
            });
        }
    }
    Ok(())
}

/// Text an IP parser (strict or the lenient `inet_aton` kind, with hex, octal, leading zeros
/// or fewer parts) could take for an address: hex digits, `x`, dots and colons only, with
/// at least one dot or colon, or a `0x` number.
fn looks_like_ip(v: &[u8]) -> bool {
    let charset = v
        .iter()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'x' | b'X'));
    let digit = v.iter().any(u8::is_ascii_digit);
    let sep = v.contains(&b':') || v.iter().filter(|b| **b == b'.').count() == 3;
    let hex_number = v.len() > 2 && (v.starts_with(b"0x") || v.starts_with(b"0X"));
    !v.is_empty() && charset && digit && (sep || hex_number)
}

/// Is `ee` valid for `name` (subjectAltName only, never the commonName)? A wildcard over a
/// public suffix matches nothing (as in Chrome): over the list's ICANN section always, over
/// its private section too when `strict` ([`Profile`]). The certificate's other names still
/// count (the real `s3.amazonaws.com` certificate carries `*.s3.amazonaws.com`).
fn check_name(ee: &Certificate<'_>, name: &PeerName<'_>, strict: bool) -> Result<(), Error> {
    let mut presented = Vec::new();
    let Some(san) = ee.san() else {
        return Err(match crate::cert::common_names(ee.subject).next() {
            Some(cn) => Error::CommonNameOnly {
                common_name: String::from_utf8_lossy(cn.value).into_owned(),
            },
            None => Error::NotValidForName {
                expected: name.to_string(),
                presented,
            },
        });
    };
    for n in san {
        let n = n?;
        if let GeneralName::Dns(p) = n
            && names::wildcard_over_public_suffix(p, strict)
        {
            presented.push(format!(
                "{} (a wildcard over a public suffix: never matched)",
                n.text()
            ));
            continue;
        }
        let hit = match (name, &n) {
            (PeerName::Dns(r), GeneralName::Dns(p)) => names::dns_matches(p, r.as_bytes()),
            (PeerName::Ip(std::net::IpAddr::V4(r)), GeneralName::Ip(p)) => *p == r.octets(),
            (PeerName::Ip(std::net::IpAddr::V6(r)), GeneralName::Ip(p)) => *p == r.octets(),
            (PeerName::Email(r), GeneralName::Email(p)) => *p == r.as_bytes(),
            _ => false,
        };
        if hit {
            return Ok(());
        }
        presented.push(n.text());
    }
    Err(Error::NotValidForName {
        expected: name.to_string(),
        presented,
    })
}

/// A Name (contents) as RFC 4514-like text, for messages.
pub(crate) fn dn_text(name: &[u8]) -> String {
    let mut parts = Vec::new();
    for attr in crate::dn::name_attributes(name) {
        match attr {
            Ok(a) => parts.push(format!("{}={}", a.key(), a.value_text())),
            Err(_) => return "<malformed name>".into(),
        }
    }
    if parts.is_empty() {
        "<empty name>".into()
    } else {
        parts.reverse();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_byte_anywhere_in_the_tuple_misses_the_cache() {
        let h = &overture_crypto_provider::ring::SHA256;
        let parts: [Vec<u8>; 5] = [
            b"spki-alg".to_vec(),
            b"public-key".to_vec(),
            b"sig-alg".to_vec(),
            b"signed data".to_vec(),
            b"signature".to_vec(),
        ];
        let key = |p: &[Vec<u8>; 5]| cache_key(h, &p[0], &p[1], &p[2], &p[3], &p[4]);
        let cache = SignatureCache::new(8);
        cache.insert(key(&parts));
        assert!(cache.contains(&key(&parts)));
        for which in 0..parts.len() {
            for at in 0..parts[which].len() {
                let mut changed = parts.clone();
                changed[which][at] ^= 0x01;
                assert!(!cache.contains(&key(&changed)), "part {which} byte {at}");
            }
            // Moving a byte from one part to the next changes the key too (length prefixes).
            if which + 1 < parts.len() {
                let mut shifted = parts.clone();
                let b = shifted[which].pop().unwrap();
                shifted[which + 1].insert(0, b);
                assert!(
                    !cache.contains(&key(&shifted)),
                    "boundary after part {which}"
                );
            }
        }
    }
}

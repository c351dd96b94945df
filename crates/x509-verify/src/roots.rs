//! Trust anchors: from DER, PEM files and directories, the system store, and `webpki-roots`.

use crate::Error;
use crate::cert::Certificate;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::collections::HashMap;
use std::path::Path;

/// How a trust anchor is known.
#[derive(Clone, Debug)]
pub(crate) enum Anchor {
    /// A whole certificate (DER): checked like any CA certificate (validity, constraints,
    /// profile). `shape` is its parse, kept so that verifications do not parse it again.
    Cert {
        der: Vec<u8>,
        shape: Option<Box<crate::cert::Shape>>,
    },
    /// Only subject, SubjectPublicKeyInfo (whole TLV) and name constraints (the extension
    /// value), as `webpki-roots` ships them.
    Bare {
        spki: Vec<u8>,
        name_constraints: Option<Vec<u8>>,
    },
}

/// A set of trust anchors, indexed by subject name.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let key = rcgen::KeyPair::generate()?;
/// # let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
/// # params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
/// # let pem = params.self_signed(&key)?.pem();
/// use overture_x509_verify::RootStore;
/// let mut roots = RootStore::new();
/// assert_eq!(roots.add_pem(pem.as_bytes())?, 1);
/// assert_eq!(roots.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RootStore {
    pub(crate) anchors: Vec<Anchor>,
    by_subject: HashMap<Vec<u8>, Vec<usize>, BuildNameHasher>,
    skipped: usize,
    strict: bool,
}

impl core::fmt::Debug for RootStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A count, not 150 certificates' bytes, in a config's debug output.
        f.debug_struct("RootStore")
            .field("anchors", &self.anchors.len())
            .field("skipped", &self.skipped)
            .field("strict_anchors", &self.strict)
            .finish()
    }
}

impl Default for RootStore {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            by_subject: HashMap::default(),
            skipped: 0,
            strict: true,
        }
    }
}

/// The hash of the subject index: a multiply-rotate over 8-byte words (FxHash's), a few
/// instructions per word where SipHash took ~250 per lookup. Keyless hashing is safe here: the
/// table holds only trusted anchors' names, so a peer's lookups (its certificates' issuer
/// names) cannot lengthen its probe sequences, only land on one of them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BuildNameHasher;

impl core::hash::BuildHasher for BuildNameHasher {
    type Hasher = NameHasher;
    fn build_hasher(&self) -> NameHasher {
        NameHasher(0)
    }
}

/// See [`BuildNameHasher`].
pub(crate) struct NameHasher(u64);

impl NameHasher {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl core::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(
                <[u8; 8]>::try_from(w).unwrap_or_default(),
            ));
        }
        let mut tail = [0u8; 8];
        for (d, s) in tail.iter_mut().zip(words.remainder()) {
            *d = *s;
        }
        self.add(u64::from_le_bytes(tail));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(u64::try_from(n).unwrap_or(u64::MAX));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The usual CA bundle locations of Linux distributions (and BSD/macOS OpenSSL layouts).
const BUNDLE_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Gentoo, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7+
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/ssl/cert.pem",                  // Alpine, OpenBSD, macOS
    "/usr/local/share/certs/ca-root-nss.crt", // FreeBSD
];
const BUNDLE_DIRS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/system/etc/security/cacerts",
];

/// Upper bound on one trust-anchor file (the Mozilla bundle is ~220 KB).
const MAX_FILE: u64 = 16 << 20;

fn io_err(path: &Path, e: impl core::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        error: e.to_string(),
    }
}

impl RootStore {
    /// An empty store, with strict anchors (see [`RootStore::set_strict_anchors`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether anchors must also meet the CA/B Forum root profile under
    /// [`crate::Profile::Strict`] (the default profile never applies it: an anchor is trusted
    /// by configuration): an AKI, if present, holds only a keyIdentifier equal to the SKI; an
    /// SKI is present; basicConstraints is critical; no extKeyUsage. On for [`RootStore::new`]
    /// (anchors chosen by hand); off for the stores
    /// built from CA bundles ([`RootStore::system`], [`RootStore::from_pem_file`],
    /// [`RootStore::from_pem_dir`], `webpki_roots`), whose root programs grandfather older
    /// encodings (8 of the 144 Debian/Mozilla roots, e.g. Go Daddy Class 2, break one of these
    /// rules). Either way every anchor must be a CA, in its validity period, with an
    /// acceptable key, no unknown critical extension, and keyCertSign if it has a keyUsage.
    pub fn set_strict_anchors(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// See [`RootStore::set_strict_anchors`].
    pub fn strict_anchors(&self) -> bool {
        self.strict
    }

    /// How many anchors it holds.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many certificates offered from files, directories or the system store were left
    /// out because they do not parse.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Adds one DER certificate as a trust anchor (a duplicate is ignored).
    pub fn add_der(&mut self, der: &CertificateDer<'_>) -> Result<(), Error> {
        let cert = Certificate::parse(der)?;
        crate::cert::validate_spki(cert.spki)?;
        let subject = cert.subject.to_vec();
        if let Some(existing) = self.by_subject.get(&subject) {
            for &i in existing {
                if matches!(self.anchors.get(i), Some(Anchor::Cert { der: d, .. }) if d.as_slice() == der.as_ref())
                {
                    return Ok(());
                }
            }
        }
        let shape = cert.shape().map(Box::new);
        self.push(
            subject,
            Anchor::Cert {
                der: der.as_ref().to_vec(),
                shape,
            },
        );
        Ok(())
    }

    /// Adds an anchor known only by subject (Name contents), SubjectPublicKeyInfo (contents,
    /// as `rustls_pki_types::TrustAnchor` has it) and name constraints (contents).
    pub fn add_bare(
        &mut self,
        subject: &[u8],
        spki_contents: &[u8],
        name_constraints: Option<&[u8]>,
    ) -> Result<(), Error> {
        crate::cert::check_name(subject)?;
        let spki = wrap_sequence(spki_contents);
        crate::cert::parse_spki(&spki)?;
        crate::cert::validate_spki(&spki)?;
        let nc = name_constraints.map(wrap_sequence);
        if let Some(nc) = &nc {
            // Root programs' own constraints may use the `.suffix` form (Mozilla: TUBITAK `.tr`).
            crate::names::validate_constraints(nc, true)?;
        }
        self.push(
            subject.to_vec(),
            Anchor::Bare {
                spki,
                name_constraints: nc,
            },
        );
        Ok(())
    }

    fn push(&mut self, subject: Vec<u8>, anchor: Anchor) {
        self.by_subject
            .entry(subject)
            .or_default()
            .push(self.anchors.len());
        self.anchors.push(anchor);
    }

    /// Adds every certificate of a PEM text; returns how many were added. Certificates that
    /// do not parse are counted in [`RootStore::skipped`].
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, Error> {
        let mut added = 0;
        for item in CertificateDer::pem_slice_iter(pem) {
            let der = item.map_err(|e| Error::Io {
                path: "<PEM>".into(),
                error: e.to_string(),
            })?;
            match self.add_der(&der) {
                Ok(()) => added += 1,
                Err(_) => self.skipped += 1,
            }
        }
        Ok(added)
    }

    /// The certificates of a PEM bundle file. Fails when the file cannot be read or holds no
    /// usable certificate.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let mut store = Self::new();
        store.strict = false;
        store.add_pem_file(path.as_ref())?;
        if store.is_empty() {
            return Err(io_err(path.as_ref(), "no usable certificate"));
        }
        Ok(store)
    }

    /// The certificates of every PEM file in a directory (OpenSSL `-CApath` layout; other
    /// files are ignored).
    pub fn from_pem_dir(path: impl AsRef<Path>) -> Result<Self, Error> {
        let mut store = Self::new();
        store.strict = false;
        store.add_pem_dir(path.as_ref())?;
        if store.is_empty() {
            return Err(io_err(path.as_ref(), "no usable certificate"));
        }
        Ok(store)
    }

    /// Adds a PEM bundle file.
    pub fn add_pem_file(&mut self, path: &Path) -> Result<usize, Error> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
        if meta.len() > MAX_FILE {
            return Err(io_err(path, "file too large for a certificate bundle"));
        }
        let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
        self.add_pem(&bytes).map_err(|e| io_err(path, e))
    }

    /// Adds every readable PEM file of a directory.
    pub fn add_pem_dir(&mut self, path: &Path) -> Result<usize, Error> {
        let mut added = 0;
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| io_err(path, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_file() {
                // Unreadable or non-PEM files in a CA directory are not an error.
                added += self.add_pem_file(&p).unwrap_or(0);
            }
        }
        Ok(added)
    }

    /// The operating system's trust store: `SSL_CERT_FILE` and `SSL_CERT_DIR` (colon
    /// separated) when set, else the first usual bundle file that exists, else the usual
    /// directories.
    pub fn system() -> Result<Self, Error> {
        let mut store = Self::new();
        store.strict = false;
        let file = std::env::var_os("SSL_CERT_FILE");
        let dirs = std::env::var_os("SSL_CERT_DIR");
        if file.is_some() || dirs.is_some() {
            if let Some(f) = file {
                store.add_pem_file(Path::new(&f))?;
            }
            if let Some(d) = dirs {
                for dir in std::env::split_paths(&d) {
                    store.add_pem_dir(&dir)?;
                }
            }
        } else if let Some(f) = BUNDLE_FILES.iter().map(Path::new).find(|p| p.is_file()) {
            store.add_pem_file(f)?;
        } else {
            for d in BUNDLE_DIRS.iter().map(Path::new).filter(|p| p.is_dir()) {
                store.add_pem_dir(d)?;
            }
        }
        if store.is_empty() {
            return Err(Error::NoTrustAnchors);
        }
        Ok(store)
    }

    /// The Mozilla roots compiled in by the `webpki-roots` crate.
    #[cfg(feature = "webpki-roots")]
    pub fn webpki_roots() -> Self {
        let mut store = Self::new();
        store.strict = false;
        for ta in webpki_roots::TLS_SERVER_ROOTS {
            let nc = ta.name_constraints.as_ref().map(|d| d.as_ref());
            if store
                .add_bare(ta.subject.as_ref(), ta.subject_public_key_info.as_ref(), nc)
                .is_err()
            {
                store.skipped += 1;
            }
        }
        store
    }

    /// The anchors whose subject is `name` (Name contents).
    pub(crate) fn by_subject(&self, name: &[u8]) -> impl Iterator<Item = (usize, &Anchor)> {
        self.by_subject
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.anchors.get(i).map(|a| (i, a)))
    }
}

/// `SEQUENCE { contents }` in DER.
fn wrap_sequence(contents: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    let len = contents.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or(&[]);
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(contents);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::hash::BuildHasher;

    #[test]
    fn name_hash_sees_every_byte_and_the_length() {
        let h = |b: &[u8]| BuildNameHasher.hash_one(b);
        let name: Vec<u8> = (0u8..37).collect();
        assert_eq!(h(&name), h(&name.clone()));
        for i in 0..name.len() {
            let mut other = name.clone();
            other[i] ^= 0x20;
            assert_ne!(h(&name), h(&other), "byte {i}");
        }
        // a trailing zero byte (padding of the last word) still changes the hash
        let mut longer = name.clone();
        longer.push(0);
        assert_ne!(h(&name), h(&longer));
        assert_ne!(h(&[]), h(&[0]));
    }

    #[test]
    fn anchors_are_found_by_subject() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut store = RootStore::new();
        let mut subjects = Vec::new();
        for cn in ["Root A", "Root B", "Root C"] {
            let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let der = p.self_signed(&key).unwrap().der().clone();
            store.add_der(&der).unwrap();
            subjects.push(Certificate::parse(&der).unwrap().subject.to_vec());
        }
        for (i, s) in subjects.iter().enumerate() {
            let found: Vec<usize> = store.by_subject(s).map(|(i, _)| i).collect();
            assert_eq!(found, [i]);
        }
        assert_eq!(store.by_subject(b"\x31\x00").count(), 0);
    }
}

//! Borrowed, zero-copy X.509 v3 certificate parsing (RFC 5280 §4), strict DER.

use crate::Error;
use crate::asn1::{self, Der, Tlv};
use rustls_pki_types::CertificateDer;

/// Extension OIDs (contents of the OBJECT IDENTIFIER).
pub(crate) mod oid {
    pub(crate) const SKI: &[u8] = &[0x55, 0x1d, 0x0e];
    pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    pub(crate) const SAN: &[u8] = &[0x55, 0x1d, 0x11];
    pub(crate) const IAN: &[u8] = &[0x55, 0x1d, 0x12];
    pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    pub(crate) const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];
    pub(crate) const CRL_DP: &[u8] = &[0x55, 0x1d, 0x1f];
    pub(crate) const CERT_POLICIES: &[u8] = &[0x55, 0x1d, 0x20];
    pub(crate) const POLICY_MAPPINGS: &[u8] = &[0x55, 0x1d, 0x21];
    pub(crate) const AKI: &[u8] = &[0x55, 0x1d, 0x23];
    pub(crate) const POLICY_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x24];
    pub(crate) const EKU: &[u8] = &[0x55, 0x1d, 0x25];
    pub(crate) const INHIBIT_ANY_POLICY: &[u8] = &[0x55, 0x1d, 0x36];
    pub(crate) const AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
    pub(crate) const SCT_LIST: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
    pub(crate) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    pub(crate) const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    pub(crate) const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    pub(crate) const ANY_EKU: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
}

/// keyUsage bits (RFC 5280 §4.2.1.3), as bit positions in our `u16` (bit 0 = digitalSignature).
pub(crate) mod ku {
    pub(crate) const DIGITAL_SIGNATURE: u16 = 1;
    pub(crate) const KEY_CERT_SIGN: u16 = 1 << 5;
    pub(crate) const CRL_SIGN: u16 = 1 << 6;
}

/// An extension as it appears in the certificate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ext<'a> {
    pub(crate) critical: bool,
    pub(crate) value: &'a [u8],
}

/// basicConstraints.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BasicConstraints {
    pub(crate) critical: bool,
    pub(crate) ca: bool,
    pub(crate) path_len: Option<u8>,
}

/// authorityKeyIdentifier.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Aki<'a> {
    pub(crate) critical: bool,
    pub(crate) key_id: Option<&'a [u8]>,
    pub(crate) has_issuer_or_serial: bool,
    /// authorityCertIssuer and authorityCertSerialNumber both present or both absent (X.509
    /// requires the pair; only [`crate::Profile::Strict`] enforces it).
    pub(crate) issuer_serial_paired: bool,
}

/// One GeneralName (RFC 5280 §4.2.1.6), borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GeneralName<'a> {
    Other(&'a [u8]),
    Email(&'a [u8]),
    Dns(&'a [u8]),
    X400,
    /// Contents of the Name SEQUENCE.
    Directory(&'a [u8]),
    EdiParty,
    Uri(&'a [u8]),
    Ip(&'a [u8]),
    RegisteredId,
}

impl GeneralName<'_> {
    /// The CHOICE index (its context tag number).
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Self::Other(_) => 0,
            Self::Email(_) => 1,
            Self::Dns(_) => 2,
            Self::X400 => 3,
            Self::Directory(_) => 4,
            Self::EdiParty => 5,
            Self::Uri(_) => 6,
            Self::Ip(_) => 7,
            Self::RegisteredId => 8,
        }
    }

    /// Text for error messages.
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Email(b) | Self::Dns(b) | Self::Uri(b) => String::from_utf8_lossy(b).into_owned(),
            Self::Ip(b) => crate::names::ip_text(b),
            Self::Directory(_) => "directoryName".into(),
            Self::Other(_) => "otherName".into(),
            _ => "unsupported name form".into(),
        }
    }
}

/// Parses one GeneralName TLV.
pub(crate) fn general_name<'a>(tlv: Tlv<'a>) -> Result<GeneralName<'a>, Error> {
    let ia5 = |v: &'a [u8]| {
        if v.is_ascii() {
            Ok(v)
        } else {
            Err(Error::bad("non-ASCII IA5String in a GeneralName"))
        }
    };
    Ok(match tlv.tag {
        0xa0 => GeneralName::Other(tlv.value),
        0x81 => GeneralName::Email(ia5(tlv.value)?),
        0x82 => GeneralName::Dns(ia5(tlv.value)?),
        0xa3 => GeneralName::X400,
        0xa4 => {
            let name = asn1::single(tlv.value, asn1::SEQUENCE, "directoryName")?;
            check_name(name)?;
            GeneralName::Directory(name)
        }
        0xa5 => GeneralName::EdiParty,
        0x86 => GeneralName::Uri(ia5(tlv.value)?),
        0x87 => GeneralName::Ip(tlv.value),
        0x88 => GeneralName::RegisteredId,
        _ => return Err(Error::bad("unknown GeneralName form")),
    })
}

/// Iterates a GeneralNames SEQUENCE's contents.
pub(crate) struct GeneralNames<'a>(Der<'a>);

impl<'a> GeneralNames<'a> {
    pub(crate) fn new(contents: &'a [u8]) -> Result<Self, Error> {
        Der::new(contents, "GeneralNames").map(Self)
    }
}

impl<'a> Iterator for GeneralNames<'a> {
    type Item = Result<GeneralName<'a>, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        Some(self.0.next("GeneralName").and_then(general_name))
    }
}

/// Checks a Name's structure: SEQUENCE OF SET (non-empty) OF SEQUENCE { OID, value }.
pub(crate) fn check_name(contents: &[u8]) -> Result<(), Error> {
    let mut rdns = Der::new(contents, "Name")?;
    while !rdns.is_empty() {
        let set = rdns.expect(asn1::SET, "RelativeDistinguishedName")?;
        let mut atvs = Der::new(set, "RelativeDistinguishedName")?;
        if atvs.is_empty() {
            return Err(Error::bad("empty RelativeDistinguishedName"));
        }
        while !atvs.is_empty() {
            let atv = atvs.expect(asn1::SEQUENCE, "AttributeTypeAndValue")?;
            let mut d = Der::new(atv, "AttributeTypeAndValue")?;
            d.expect(asn1::OID, "attribute type")?;
            d.next("attribute value")?;
            d.finish("AttributeTypeAndValue")?;
        }
    }
    Ok(())
}

/// The commonName values of a Name (any string type), borrowed, in order; an iterator, so
/// that nothing is allocated. Stops at a malformed part (parsed Names were checked already).
pub(crate) fn common_names(contents: &[u8]) -> CommonNames<'_> {
    CommonNames {
        rdns: Der::new(contents, "Name").unwrap_or_else(|_| Der::empty()),
        atvs: Der::empty(),
    }
}

/// See [`common_names`].
pub(crate) struct CommonNames<'a> {
    rdns: Der<'a>,
    atvs: Der<'a>,
}

impl<'a> Iterator for CommonNames<'a> {
    type Item = Tlv<'a>;
    fn next(&mut self) -> Option<Tlv<'a>> {
        loop {
            if self.atvs.is_empty() {
                let set = self.rdns.expect(asn1::SET, "RDN").ok()?;
                self.atvs = Der::new(set, "RDN").ok()?;
                continue;
            }
            let Ok(atv) = self.atvs.expect(asn1::SEQUENCE, "ATV") else {
                self.atvs = Der::empty();
                continue;
            };
            let Ok(mut d) = Der::new(atv, "ATV") else {
                self.atvs = Der::empty();
                continue;
            };
            if let (Ok(t), Ok(v)) = (d.expect(asn1::OID, "type"), d.next("value"))
                && t == oid::COMMON_NAME
            {
                return Some(v);
            }
        }
    }
}

/// A parsed certificate borrowing from its DER.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let key = rcgen::KeyPair::generate()?;
/// # let der = rcgen::CertificateParams::new(vec!["example.com".into()])?.self_signed(&key)?.der().clone();
/// use overture_x509_verify::Certificate;
/// let cert = Certificate::parse(&der)?;
/// assert!(!cert.public_key().is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Certificate<'a> {
    pub(crate) der: &'a [u8],
    pub(crate) tbs: &'a [u8],
    pub(crate) sig_alg: &'a [u8],
    pub(crate) signature: &'a [u8],
    pub(crate) version: u8,
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) subject: &'a [u8],
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) spki: &'a [u8],
    pub(crate) spki_alg: &'a [u8],
    pub(crate) public_key: &'a [u8],
    pub(crate) ext: Extensions<'a>,
}

/// The extensions this crate understands; anything else critical is an error at parse time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Extensions<'a> {
    pub(crate) basic_constraints: Option<BasicConstraints>,
    pub(crate) key_usage: Option<(bool, u16)>,
    pub(crate) eku: Option<Ext<'a>>,
    pub(crate) san: Option<Ext<'a>>,
    pub(crate) name_constraints: Option<Ext<'a>>,
    pub(crate) ski: Option<Ext<'a>>,
    pub(crate) aki: Option<Aki<'a>>,
    pub(crate) aia: Option<Ext<'a>>,
    pub(crate) policy_constraints: Option<Ext<'a>>,
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate strictly (DER framing, v3 fields in order, Names, times,
    /// SPKI, every extension this crate knows); rejects unknown critical extensions,
    /// duplicate extensions, more than 64 extensions, and mismatched signature algorithms.
    /// Borrows from `der`: nothing is copied.
    pub fn parse(der: &'a CertificateDer<'_>) -> Result<Certificate<'a>, Error> {
        Self::from_der(der.as_ref())
    }

    /// [`Certificate::parse`] over a plain byte slice.
    pub fn from_der(der: &'a [u8]) -> Result<Certificate<'a>, Error> {
        let cert = asn1::single(der, asn1::SEQUENCE, "Certificate")?;
        let mut outer = Der::new(cert, "Certificate")?;
        let tbs_tlv = outer.next("TBSCertificate")?;
        if tbs_tlv.tag != asn1::SEQUENCE {
            return Err(Error::bad("TBSCertificate"));
        }
        let sig_alg = outer.expect(asn1::SEQUENCE, "signatureAlgorithm")?;
        let sig = outer.expect(asn1::BIT_STRING, "signatureValue")?;
        outer.finish("Certificate")?;
        let signature = asn1::bit_string_bytes(sig, "signatureValue")?;

        let mut tbs = Der::new(tbs_tlv.value, "TBSCertificate")?;
        let version = match tbs.optional(0xa0, "version")? {
            Some(v) => {
                let n = asn1::single(v, asn1::INTEGER, "version")?;
                match n {
                    [0x01] => 1,
                    [0x02] => 2,
                    // v1 must be encoded by omitting the DEFAULT field
                    _ => return Err(Error::bad("version")),
                }
            }
            None => 0,
        };
        let serial_tlv = tbs.next("serialNumber")?;
        if serial_tlv.tag != asn1::INTEGER || serial_tlv.value.is_empty() {
            return Err(Error::bad("serialNumber"));
        }
        let tbs_sig = tbs.expect(asn1::SEQUENCE, "signature")?;
        if tbs_sig != sig_alg {
            return Err(Error::SignatureAlgorithmMismatch);
        }
        let issuer = tbs.expect(asn1::SEQUENCE, "issuer")?;
        check_name(issuer)?;
        let validity = tbs.expect(asn1::SEQUENCE, "validity")?;
        let mut v = Der::new(validity, "validity")?;
        let nb = v.next("notBefore")?;
        let na = v.next("notAfter")?;
        v.finish("validity")?;
        let not_before = asn1::time(&nb, "notBefore")?;
        let not_after = asn1::time(&na, "notAfter")?;
        let subject = tbs.expect(asn1::SEQUENCE, "subject")?;
        check_name(subject)?;
        let spki_tlv = tbs.next("subjectPublicKeyInfo")?;
        if spki_tlv.tag != asn1::SEQUENCE {
            return Err(Error::bad("subjectPublicKeyInfo"));
        }
        let (spki_alg, public_key) = parse_spki(spki_tlv.raw)?;
        key_alg(spki_alg)?; // RSASSA-PSS parameters checked here (other keys: a prefix test)
        // issuerUniqueID [1] / subjectUniqueID [2]: v2/v3 only, ignored. (Almost always
        // absent: extensions or the end come next, and the four probes are skipped.)
        if !matches!(tbs.peek_tag(), None | Some(0xa3)) {
            for tag in [0x81, 0xa1, 0x82, 0xa2] {
                if tbs.optional(tag, "uniqueID")?.is_some() && version == 0 {
                    return Err(Error::bad("uniqueID in a v1 certificate"));
                }
            }
        }
        let mut ext = Extensions::default();
        if let Some(exts) = tbs.optional(0xa3, "extensions")? {
            if version != 2 {
                return Err(Error::bad("extensions in a certificate that is not v3"));
            }
            ext = parse_extensions(asn1::single(exts, asn1::SEQUENCE, "Extensions")?)?;
        }
        tbs.finish("TBSCertificate")?;
        Ok(Certificate {
            der,
            tbs: tbs_tlv.raw,
            sig_alg,
            signature,
            version,
            serial: serial_tlv.value,
            issuer,
            subject,
            not_before,
            not_after,
            spki: spki_tlv.raw,
            spki_alg,
            public_key,
            ext,
        })
    }

    /// `(public_key_alg_id, public_key)` of a certificate that was already parsed and verified
    /// (the end entity after [`crate::Verifier::verify_server`], for the handshake signature),
    /// reading only the TBSCertificate's framing up to the SubjectPublicKeyInfo: DER framing
    /// and the SPKI structure are checked, the other fields' contents are not (nine TLV
    /// headers instead of a whole [`Certificate::from_der`]); use that for anything not
    /// verified yet.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let key = rcgen::KeyPair::generate()?;
    /// # let der = rcgen::CertificateParams::new(vec!["example.com".into()])?.self_signed(&key)?.der().clone();
    /// use overture_x509_verify::Certificate;
    /// let cert = Certificate::parse(&der)?;
    /// let (alg, key) = Certificate::public_key_of(&der)?;
    /// assert_eq!((alg, key), (cert.public_key_alg_id(), cert.public_key()));
    /// # Ok(()) }
    /// ```
    pub fn public_key_of(der: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), Error> {
        let cert = asn1::single(der, asn1::SEQUENCE, "Certificate")?;
        let tbs = Der::new(cert, "Certificate")?.expect(asn1::SEQUENCE, "TBSCertificate")?;
        spki_of_tbs(&mut Der::over(tbs))
    }

    /// The key a certificate signs TLS handshakes with (the TLS 1.3 CertificateVerify, a TLS
    /// 1.2 ServerKeyExchange): its SPKI algorithm and key as [`Certificate::public_key_of`]
    /// returns them, and whether its keyUsage, when present, allows digitalSignature
    /// (RFC 8446 §4.4.2.2, RFC 5280 §4.2.1.3).
    ///
    /// For a certificate already parsed in full (the end entity after
    /// [`crate::Verifier::verify_server`]): the whole DER framing is checked, each
    /// TBSCertificate field has its tag, the SPKI and an RSASSA-PSS key's parameters are
    /// checked as [`Certificate::parse`] checks them, and keyUsage is parsed strictly (a
    /// repeated one is an error), but the other fields' and extensions' contents are not
    /// looked at: about a third of a parse. Use [`Certificate::parse`] for anything not
    /// parsed yet.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let key = rcgen::KeyPair::generate()?;
    /// # let mut params = rcgen::CertificateParams::new(vec!["example.com".into()])?;
    /// # params.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
    /// # let der = params.self_signed(&key)?.der().clone();
    /// use overture_x509_verify::Certificate;
    /// let cert = Certificate::parse(&der)?;
    /// let key = Certificate::signature_key_of(&der)?;
    /// assert_eq!(key.public_key, cert.public_key());
    /// assert_eq!(key.public_key_alg_id, cert.public_key_alg_id());
    /// assert!(!key.digital_signature); // keyEncipherment only
    /// # Ok(()) }
    /// ```
    pub fn signature_key_of(der: &'a [u8]) -> Result<SignatureKey<'a>, Error> {
        let cert = asn1::single(der, asn1::SEQUENCE, "Certificate")?;
        let mut outer = Der::over(cert);
        let tbs = outer.expect(asn1::SEQUENCE, "TBSCertificate")?;
        outer.expect(asn1::SEQUENCE, "signatureAlgorithm")?;
        outer.expect(asn1::BIT_STRING, "signatureValue")?;
        outer.finish("Certificate")?;
        let mut tbs = Der::over(tbs);
        let (public_key_alg_id, public_key) = spki_of_tbs(&mut tbs)?;
        key_alg(public_key_alg_id)?;
        if !matches!(tbs.peek_tag(), None | Some(0xa3)) {
            for tag in [0x81, 0xa1, 0x82, 0xa2] {
                tbs.optional(tag, "uniqueID")?;
            }
        }
        let mut usage = None;
        if let Some(exts) = tbs.optional(0xa3, "extensions")? {
            let mut d = Der::over(asn1::single(exts, asn1::SEQUENCE, "Extensions")?);
            while !d.is_empty() {
                let mut x = Der::over(d.expect(asn1::SEQUENCE, "Extension")?);
                if x.expect(asn1::OID, "extnID")? != oid::KEY_USAGE {
                    continue;
                }
                if usage.is_some() {
                    return Err(Error::invalid("duplicate extension"));
                }
                x.optional(asn1::BOOLEAN, "critical")?;
                usage = Some(key_usage(x.expect(asn1::OCTET_STRING, "extnValue")?)?);
                x.finish("Extension")?;
            }
        }
        tbs.finish("TBSCertificate")?;
        Ok(SignatureKey {
            public_key_alg_id,
            public_key,
            digital_signature: usage.is_none_or(|bits| bits & ku::DIGITAL_SIGNATURE != 0),
        })
    }

    /// The provider public-key algorithm identifier (contents) under which a key whose SPKI
    /// algorithm is `public_key_alg_id` (as [`Certificate::public_key_of`] returns it) verifies
    /// signatures of `signature_alg_id` (a `SignatureVerifier::signature_alg_id()`): the
    /// identifier itself, or for an RSASSA-PSS key
    /// `overture_crypto_provider::RSA_PSS_KEY_ALG_ID`, once its parameters (RFC 4055 §3.1,
    /// RFC 8446 §4.2.3: hash, MGF1 hash, salt length) are found to allow that signature
    /// algorithm. Compare the result with the verifier's `public_key_alg_id()`.
    ///
    /// ```
    /// use overture_crypto_provider::RSA_PSS_KEY_ALG_ID;
    /// use overture_x509_verify::Certificate;
    /// use rustls_pki_types::alg_id;
    /// // An RSASSA-PSS key without parameters: any TLS RSASSA-PSS signature.
    /// let pss_key = RSA_PSS_KEY_ALG_ID.as_ref();
    /// let lookup = Certificate::key_alg_for(pss_key, alg_id::RSA_PSS_SHA384.as_ref())?;
    /// assert_eq!(lookup, RSA_PSS_KEY_ALG_ID.as_ref());
    /// // A key tied to SHA-256 (its parameters are those of the signature algorithm).
    /// let tied = alg_id::RSA_PSS_SHA256.as_ref();
    /// assert!(Certificate::key_alg_for(tied, alg_id::RSA_PSS_SHA256.as_ref()).is_ok());
    /// assert!(Certificate::key_alg_for(tied, alg_id::RSA_PSS_SHA384.as_ref()).is_err());
    /// // Other keys are looked up as they are.
    /// let rsa = alg_id::RSA_ENCRYPTION.as_ref();
    /// assert_eq!(Certificate::key_alg_for(rsa, alg_id::RSA_PSS_SHA256.as_ref())?, rsa);
    /// # Ok::<(), overture_x509_verify::Error>(())
    /// ```
    pub fn key_alg_for<'k>(
        public_key_alg_id: &'k [u8],
        signature_alg_id: &[u8],
    ) -> Result<&'k [u8], Error> {
        let k = key_alg(public_key_alg_id)?;
        match k.only_signature {
            Some(only) if only != signature_alg_id => Err(Error::SignatureAlgorithmMismatch),
            _ => Ok(k.lookup),
        }
    }

    /// Contents of the SubjectPublicKeyInfo AlgorithmIdentifier SEQUENCE (comparable to
    /// `SignatureVerifier::public_key_alg_id().as_ref()`, except for RSASSA-PSS keys with
    /// parameters: see [`Certificate::key_alg_for`]).
    pub fn public_key_alg_id(&self) -> &'a [u8] {
        self.spki_alg
    }

    /// The subjectPublicKey BIT STRING contents.
    pub fn public_key(&self) -> &'a [u8] {
        self.public_key
    }

    /// The signed part (the whole tbsCertificate TLV).
    pub fn signed_data(&self) -> &'a [u8] {
        self.tbs
    }

    /// The signature (BIT STRING contents after the unused-bits octet).
    pub fn signature(&self) -> &'a [u8] {
        self.signature
    }

    /// Contents of the signatureAlgorithm AlgorithmIdentifier SEQUENCE (comparable to
    /// `SignatureVerifier::signature_alg_id().as_ref()`).
    pub fn signature_alg_id(&self) -> &'a [u8] {
        self.sig_alg
    }

    /// The whole SubjectPublicKeyInfo, DER.
    pub fn subject_public_key_info(&self) -> &'a [u8] {
        self.spki
    }

    /// The subject Name (contents of its SEQUENCE).
    pub fn subject(&self) -> &'a [u8] {
        self.subject
    }

    /// The issuer Name (contents of its SEQUENCE).
    pub fn issuer(&self) -> &'a [u8] {
        self.issuer
    }

    /// The serialNumber INTEGER's contents.
    pub fn serial(&self) -> &'a [u8] {
        self.serial
    }

    /// notBefore and notAfter, seconds since the Unix epoch.
    pub fn validity(&self) -> (u64, u64) {
        (self.not_before, self.not_after)
    }

    /// The certificate's DER.
    pub fn der(&self) -> &'a [u8] {
        self.der
    }

    /// Whether the keyUsage extension allows `usage` (RFC 5280 names: `digitalSignature`,
    /// `keyCertSign`, ...); an absent extension allows every usage.
    pub fn key_usage_allows(&self, usage: &str) -> bool {
        const NAMES: [&str; 9] = [
            "digitalSignature",
            "contentCommitment",
            "keyEncipherment",
            "dataEncipherment",
            "keyAgreement",
            "keyCertSign",
            "cRLSign",
            "encipherOnly",
            "decipherOnly",
        ];
        let Some((_, bits)) = self.ext.key_usage else {
            return true;
        };
        NAMES
            .iter()
            .position(|n| *n == usage)
            .is_some_and(|i| bits & (1u16 << i) != 0)
    }

    pub(crate) fn is_ca(&self) -> bool {
        self.ext.basic_constraints.is_some_and(|b| b.ca)
    }

    pub(crate) fn self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    pub(crate) fn san(&self) -> Option<GeneralNames<'a>> {
        self.ext
            .san
            .and_then(|e| asn1::single(e.value, asn1::SEQUENCE, "SAN").ok())
            .and_then(|v| GeneralNames::new(v).ok())
    }
}

/// What [`Certificate::signature_key_of`] reads from a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureKey<'a> {
    /// Contents of the SubjectPublicKeyInfo AlgorithmIdentifier SEQUENCE (see
    /// [`Certificate::public_key_alg_id`]).
    pub public_key_alg_id: &'a [u8],
    /// The subjectPublicKey BIT STRING contents.
    pub public_key: &'a [u8],
    /// Whether the key may sign handshakes: no keyUsage extension, or one with
    /// digitalSignature.
    pub digital_signature: bool,
}

/// Most borrowed fields a [`Certificate`] has: ten always, seven in extensions.
const MAX_SPANS: usize = 17;

/// A certificate parsed once, kept beside its owned DER (a trust anchor in a
/// [`crate::RootStore`]) as its non-borrowed fields plus the offsets of its borrowed ones, so
/// that every verification gets the [`Certificate`] back with a few bounds checks instead of
/// a parse.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    /// The parsed certificate with every borrowed field empty.
    template: Certificate<'static>,
    /// (offset, length) in the DER of each borrowed field, in [`Certificate::map_slices`] order.
    spans: [(usize, usize); MAX_SPANS],
}

impl Shape {
    /// The certificate `der` (the DER this shape was taken from) parses to; `None` if `der`
    /// is too short for a field (then parse it instead).
    pub(crate) fn certificate<'b>(&self, der: &'b [u8]) -> Option<Certificate<'b>> {
        let mut spans = self.spans.iter();
        self.template.map_slices(&mut |_| {
            let &(off, len) = spans.next()?;
            der.get(off..off.checked_add(len)?)
        })
    }
}

fn map_ext<'a, 'b>(
    x: Option<Ext<'a>>,
    f: &mut impl FnMut(&'a [u8]) -> Option<&'b [u8]>,
) -> Result<Option<Ext<'b>>, ()> {
    match x {
        None => Ok(None),
        Some(x) => Ok(Some(Ext {
            critical: x.critical,
            value: f(x.value).ok_or(())?,
        })),
    }
}

impl<'a> Certificate<'a> {
    /// The same certificate with every borrowed field replaced by `f` of it, in a fixed
    /// order; `None` if `f` fails.
    fn map_slices<'b>(
        &self,
        f: &mut impl FnMut(&'a [u8]) -> Option<&'b [u8]>,
    ) -> Option<Certificate<'b>> {
        let e = &self.ext;
        let aki = match e.aki {
            None => None,
            Some(a) => Some(Aki {
                critical: a.critical,
                key_id: match a.key_id {
                    Some(k) => Some(f(k)?),
                    None => None,
                },
                has_issuer_or_serial: a.has_issuer_or_serial,
                issuer_serial_paired: a.issuer_serial_paired,
            }),
        };
        Some(Certificate {
            der: f(self.der)?,
            tbs: f(self.tbs)?,
            sig_alg: f(self.sig_alg)?,
            signature: f(self.signature)?,
            version: self.version,
            serial: f(self.serial)?,
            issuer: f(self.issuer)?,
            subject: f(self.subject)?,
            not_before: self.not_before,
            not_after: self.not_after,
            spki: f(self.spki)?,
            spki_alg: f(self.spki_alg)?,
            public_key: f(self.public_key)?,
            ext: Extensions {
                basic_constraints: e.basic_constraints,
                key_usage: e.key_usage,
                eku: map_ext(e.eku, f).ok()?,
                san: map_ext(e.san, f).ok()?,
                name_constraints: map_ext(e.name_constraints, f).ok()?,
                ski: map_ext(e.ski, f).ok()?,
                aki,
                aia: map_ext(e.aia, f).ok()?,
                policy_constraints: map_ext(e.policy_constraints, f).ok()?,
            },
        })
    }

    /// This certificate as a [`Shape`] of its DER; `None` if a field is not inside it.
    pub(crate) fn shape(&self) -> Option<Shape> {
        let base = self.der;
        let start = base.as_ptr().addr();
        let mut spans = [(0usize, 0usize); MAX_SPANS];
        let mut n = 0usize;
        let template = self.map_slices(&mut |s: &'a [u8]| -> Option<&'static [u8]> {
            let off = s.as_ptr().addr().checked_sub(start)?;
            if off.checked_add(s.len())? > base.len() {
                return None;
            }
            *spans.get_mut(n)? = (off, s.len());
            n += 1;
            Some(&[])
        })?;
        Some(Shape { template, spans })
    }
}

/// Reads a TBSCertificate's fields up to and including the SubjectPublicKeyInfo, checking only
/// their framing and tags, and splits the SPKI ([`parse_spki`]); `tbs` is left after it.
fn spki_of_tbs<'a>(tbs: &mut Der<'a>) -> Result<(&'a [u8], &'a [u8]), Error> {
    tbs.optional(0xa0, "version")?;
    tbs.expect(asn1::INTEGER, "serialNumber")?;
    tbs.expect(asn1::SEQUENCE, "signature")?;
    tbs.expect(asn1::SEQUENCE, "issuer")?;
    tbs.expect(asn1::SEQUENCE, "validity")?;
    tbs.expect(asn1::SEQUENCE, "subject")?;
    let spki = tbs.next("subjectPublicKeyInfo")?;
    if spki.tag != asn1::SEQUENCE {
        return Err(Error::bad("subjectPublicKeyInfo"));
    }
    parse_spki(spki.raw)
}

/// Splits an SPKI TLV into (algorithm contents, key bytes), strictly (one SEQUENCE of an
/// AlgorithmIdentifier SEQUENCE and a BIT STRING without unused bits). The algorithm is
/// later matched byte for byte against the provider's known identifiers, so a malformed one
/// is simply unsupported.
pub(crate) fn parse_spki(raw: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let spki = asn1::single(raw, asn1::SEQUENCE, "subjectPublicKeyInfo")?;
    let mut d = Der::new(spki, "subjectPublicKeyInfo")?;
    let alg = d.expect(asn1::SEQUENCE, "SPKI algorithm")?;
    let key = d.expect(asn1::BIT_STRING, "subjectPublicKey")?;
    d.finish("subjectPublicKeyInfo")?;
    Ok((alg, asn1::bit_string_bytes(key, "subjectPublicKey")?))
}

/// The DER of the `id-RSASSA-PSS` OID (RFC 4055 §1.2), as an AlgorithmIdentifier starts.
const RSASSA_PSS_OID_TLV: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
];
/// id-mgf1 (RFC 4055 §2.2), OID contents.
const MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];

/// How a certificate's key verifies signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyAlg<'a> {
    /// The provider's public-key algorithm identifier to look verifiers up under (contents).
    pub(crate) lookup: &'a [u8],
    /// For an RSASSA-PSS key with parameters: the one signature algorithm they allow.
    pub(crate) only_signature: Option<&'static [u8]>,
}

/// The [`KeyAlg`] of an SPKI algorithm (contents of its AlgorithmIdentifier). Any key but an
/// RSASSA-PSS one is looked up as it is. An RSASSA-PSS key (RFC 4055 §1.2) without parameters
/// may make any of the TLS RSASSA-PSS signatures; with parameters (RFC 4055 §3.1) they must be
/// those of one TLS scheme, RFC 8446 §4.2.3 — hash SHA-256/384/512, MGF1 with the same hash,
/// salt length equal to the hash length, the default trailer — and tie the key to it; any
/// other parameters (SHA-1 defaults, mixed hashes, other salt lengths) are refused.
pub(crate) fn key_alg(spki_alg: &[u8]) -> Result<KeyAlg<'_>, Error> {
    use rustls_pki_types::alg_id;
    let Some(rest) = spki_alg.strip_prefix(RSASSA_PSS_OID_TLV) else {
        return Ok(KeyAlg {
            lookup: spki_alg,
            only_signature: None,
        });
    };
    let lookup = overture_crypto_provider::RSA_PSS_KEY_ALG_ID.as_ref();
    if rest.is_empty() {
        return Ok(KeyAlg {
            lookup,
            only_signature: None,
        });
    }
    let unsupported = |what| Error::UnsupportedKey { what };
    let params = asn1::single(rest, asn1::SEQUENCE, "RSASSA-PSS-params")?;
    let mut d = Der::new(params, "RSASSA-PSS-params")?;
    let hash = d.optional(0xa0, "hashAlgorithm")?.ok_or(unsupported(
        "RSASSA-PSS key with SHA-1 (the default hashAlgorithm)",
    ))?;
    let (only_signature, hash_len) = match pss_hash(hash)? {
        256 => (alg_id::RSA_PSS_SHA256.as_ref(), 32u8),
        384 => (alg_id::RSA_PSS_SHA384.as_ref(), 48),
        512 => (alg_id::RSA_PSS_SHA512.as_ref(), 64),
        _ => {
            return Err(unsupported(
                "RSASSA-PSS key hash other than SHA-256/384/512",
            ));
        }
    };
    let mgf = d
        .optional(0xa1, "maskGenAlgorithm")?
        .ok_or(unsupported("RSASSA-PSS key with MGF1-SHA-1 (the default)"))?;
    let mgf = asn1::single(mgf, asn1::SEQUENCE, "maskGenAlgorithm")?;
    let mut m = Der::new(mgf, "maskGenAlgorithm")?;
    if m.expect(asn1::OID, "maskGenAlgorithm")? != MGF1 {
        return Err(unsupported(
            "RSASSA-PSS key mask generation other than MGF1",
        ));
    }
    let mgf_hash = m.next("MGF1 hash")?;
    m.finish("maskGenAlgorithm")?;
    if mgf_hash.tag != asn1::SEQUENCE || pss_hash(mgf_hash.raw)? != u16::from(hash_len) * 8 {
        return Err(unsupported(
            "RSASSA-PSS key whose MGF1 hash is not its hash",
        ));
    }
    let salt = d.optional(0xa2, "saltLength")?.ok_or(unsupported(
        "RSASSA-PSS key with salt length 20 (the default)",
    ))?;
    let salt = asn1::small_unsigned(
        asn1::single(salt, asn1::INTEGER, "saltLength")?,
        "saltLength",
    )?;
    if salt != hash_len {
        return Err(unsupported(
            "RSASSA-PSS key whose salt length is not its hash length",
        ));
    }
    // trailerField DEFAULT trailerFieldBC: DER omits it, and there is no other value.
    d.finish("RSASSA-PSS-params (trailerField must be omitted)")?;
    Ok(KeyAlg {
        lookup,
        only_signature: Some(only_signature),
    })
}

/// The SHA-2 size (256/384/512) of a hash AlgorithmIdentifier TLV (parameters absent or NULL,
/// RFC 5754 §2); 0 for any other hash.
fn pss_hash(tlv: &[u8]) -> Result<u16, Error> {
    const SHA2: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
    let seq = asn1::single(tlv, asn1::SEQUENCE, "hash AlgorithmIdentifier")?;
    let mut d = Der::new(seq, "hash AlgorithmIdentifier")?;
    let oid = d.expect(asn1::OID, "hash algorithm")?;
    if d.optional(0x05, "hash parameters")?
        .is_some_and(|p| !p.is_empty())
    {
        return Err(Error::bad("hash parameters"));
    }
    d.finish("hash AlgorithmIdentifier")?;
    Ok(match oid.strip_prefix(SHA2) {
        Some([1]) => 256,
        Some([2]) => 384,
        Some([3]) => 512,
        _ => 0,
    })
}

/// Full validation of an SPKI by the `spki` crate (OID syntax, parameters), for trust anchors
/// when they enter a [`crate::RootStore`]. Peer certificates skip it: it cost 40 % of a
/// certificate parse, and [`parse_spki`] plus the exact algorithm match already bound what a
/// peer's SPKI can do.
pub(crate) fn validate_spki(raw: &[u8]) -> Result<(), Error> {
    use der::Decode;
    spki::SubjectPublicKeyInfoRef::from_der(raw)
        .map(|_| ())
        .map_err(|_| Error::bad("subjectPublicKeyInfo"))
}

/// Extensions one certificate may carry (real ones carry about ten).
const MAX_EXTENSIONS: usize = 64;

/// Indices of the extension OIDs this crate knows ([`known_extension`]).
mod ext_index {
    pub(super) const SKI: u32 = 0;
    pub(super) const KEY_USAGE: u32 = 1;
    pub(super) const SAN: u32 = 3;
    pub(super) const IAN: u32 = 4;
    pub(super) const BASIC_CONSTRAINTS: u32 = 5;
    pub(super) const NAME_CONSTRAINTS: u32 = 6;
    pub(super) const CRL_DP: u32 = 7;
    pub(super) const CERT_POLICIES: u32 = 8;
    pub(super) const POLICY_MAPPINGS: u32 = 9;
    pub(super) const AKI: u32 = 11;
    pub(super) const POLICY_CONSTRAINTS: u32 = 12;
    pub(super) const EKU: u32 = 13;
    pub(super) const INHIBIT_ANY_POLICY: u32 = 14;
    pub(super) const AIA: u32 = 15;
    pub(super) const SCT_LIST: u32 = 16;
}

/// An index of its own (below 32) for each extension OID this crate knows, for the duplicate
/// check (one bit each) and the dispatch; `None` for the others (a byte-pattern match: the
/// compiler turns it into a few comparisons).
fn known_extension(id: &[u8]) -> Option<u32> {
    Some(match id {
        oid::SKI => ext_index::SKI,
        oid::KEY_USAGE => ext_index::KEY_USAGE,
        oid::SAN => ext_index::SAN,
        oid::IAN => ext_index::IAN,
        oid::BASIC_CONSTRAINTS => ext_index::BASIC_CONSTRAINTS,
        oid::NAME_CONSTRAINTS => ext_index::NAME_CONSTRAINTS,
        oid::CRL_DP => ext_index::CRL_DP,
        oid::CERT_POLICIES => ext_index::CERT_POLICIES,
        oid::POLICY_MAPPINGS => ext_index::POLICY_MAPPINGS,
        oid::AKI => ext_index::AKI,
        oid::POLICY_CONSTRAINTS => ext_index::POLICY_CONSTRAINTS,
        oid::EKU => ext_index::EKU,
        oid::INHIBIT_ANY_POLICY => ext_index::INHIBIT_ANY_POLICY,
        oid::AIA => ext_index::AIA,
        oid::SCT_LIST => ext_index::SCT_LIST,
        _ => return None,
    })
}

/// The extnIDs of the first `n` extensions of an Extensions SEQUENCE's contents (already
/// read once, so well formed).
fn earlier_extension_ids(contents: &[u8], n: usize) -> impl Iterator<Item = &[u8]> {
    let mut d = Der::new(contents, "Extensions").unwrap_or_else(|_| Der::empty());
    core::iter::from_fn(move || {
        let e = d.expect(asn1::SEQUENCE, "Extension").ok()?;
        Der::new(e, "Extension")
            .ok()?
            .expect(asn1::OID, "extnID")
            .ok()
    })
    .take(n)
}

fn parse_extensions(contents: &[u8]) -> Result<Extensions<'_>, Error> {
    let mut out = Extensions::default();
    // Duplicates: the extensions this crate knows are one bit each in `known`; an unknown
    // OID is compared with the earlier extensions' OIDs by reading them again (real
    // certificates carry zero to two unknown ones). 64 extensions at most bounds that work.
    let mut known: u32 = 0;
    let mut count = 0usize;
    let mut d = Der::new(contents, "Extensions")?;
    if d.is_empty() {
        return Err(Error::bad("empty Extensions"));
    }
    while !d.is_empty() {
        let e = d.expect(asn1::SEQUENCE, "Extension")?;
        let mut x = Der::new(e, "Extension")?;
        let id = x.expect(asn1::OID, "extnID")?;
        let critical = match x.optional(asn1::BOOLEAN, "critical")? {
            // DER: a DEFAULT FALSE must be omitted, never encoded.
            Some(b) => {
                if !asn1::boolean(b, "critical")? {
                    return Err(Error::bad("critical FALSE encoded explicitly"));
                }
                true
            }
            None => false,
        };
        let value = x.expect(asn1::OCTET_STRING, "extnValue")?;
        x.finish("Extension")?;
        let index = known_extension(id);
        let duplicate = match index {
            Some(i) => {
                let bit = 1u32 << i;
                let dup = known & bit != 0;
                known |= bit;
                dup
            }
            None => earlier_extension_ids(contents, count).any(|earlier| earlier == id),
        };
        if duplicate {
            return Err(Error::invalid("duplicate extension"));
        }
        if count >= MAX_EXTENSIONS {
            return Err(Error::BadEncoding {
                what: "more than 64 extensions",
            });
        }
        count += 1;
        let ext = Ext { critical, value };
        match index {
            Some(ext_index::BASIC_CONSTRAINTS) => {
                out.basic_constraints = Some(basic_constraints(ext)?)
            }
            Some(ext_index::KEY_USAGE) => out.key_usage = Some((critical, key_usage(value)?)),
            Some(ext_index::EKU) => {
                let seq = asn1::single(value, asn1::SEQUENCE, "extKeyUsage")?;
                let mut p = Der::new(seq, "extKeyUsage")?;
                if p.is_empty() {
                    return Err(Error::invalid("empty extKeyUsage"));
                }
                while !p.is_empty() {
                    p.expect(asn1::OID, "KeyPurposeId")?;
                }
                out.eku = Some(ext);
            }
            Some(ext_index::SAN) => {
                let seq = asn1::single(value, asn1::SEQUENCE, "subjectAltName")?;
                let mut names = GeneralNames::new(seq)?.peekable();
                if names.peek().is_none() {
                    return Err(Error::invalid("empty subjectAltName"));
                }
                for n in names {
                    n?;
                }
                out.san = Some(ext);
            }
            Some(ext_index::NAME_CONSTRAINTS) => out.name_constraints = Some(ext),
            Some(ext_index::SKI) => {
                asn1::single(value, asn1::OCTET_STRING, "subjectKeyIdentifier")?;
                out.ski = Some(ext);
            }
            Some(ext_index::AKI) => out.aki = Some(aki(ext)?),
            Some(ext_index::AIA) => {
                let seq = asn1::single(value, asn1::SEQUENCE, "authorityInfoAccess")?;
                let mut p = Der::new(seq, "authorityInfoAccess")?;
                if p.is_empty() {
                    return Err(Error::invalid("empty authorityInfoAccess"));
                }
                while !p.is_empty() {
                    let ad = p.expect(asn1::SEQUENCE, "AccessDescription")?;
                    let mut a = Der::new(ad, "AccessDescription")?;
                    a.expect(asn1::OID, "accessMethod")?;
                    general_name(a.next("accessLocation")?)?;
                    a.finish("AccessDescription")?;
                }
                out.aia = Some(ext);
            }
            Some(ext_index::POLICY_CONSTRAINTS) => out.policy_constraints = Some(ext),
            // Understood well enough to accept when critical: policies are not processed
            // (no policy is required by any caller, as in web PKI clients).
            Some(ext_index::CERT_POLICIES)
            | Some(ext_index::POLICY_MAPPINGS)
            | Some(ext_index::INHIBIT_ANY_POLICY) => {}
            Some(ext_index::CRL_DP) | Some(ext_index::IAN) | Some(ext_index::SCT_LIST) => {}
            _ => {
                if critical {
                    return Err(Error::UnknownCriticalExtension {
                        oid: asn1::oid_text(id),
                    });
                }
            }
        }
    }
    Ok(out)
}

fn basic_constraints(ext: Ext<'_>) -> Result<BasicConstraints, Error> {
    let seq = asn1::single(ext.value, asn1::SEQUENCE, "basicConstraints")?;
    let mut d = Der::new(seq, "basicConstraints")?;
    let ca = match d.optional(asn1::BOOLEAN, "cA")? {
        Some(b) => {
            if !asn1::boolean(b, "cA")? {
                return Err(Error::bad("cA FALSE encoded explicitly"));
            }
            true
        }
        None => false,
    };
    let path_len = match d.optional(asn1::INTEGER, "pathLenConstraint")? {
        Some(v) => Some(asn1::small_unsigned(v, "pathLenConstraint")?),
        None => None,
    };
    d.finish("basicConstraints")?;
    Ok(BasicConstraints {
        critical: ext.critical,
        ca,
        path_len,
    })
}

fn key_usage(value: &[u8]) -> Result<u16, Error> {
    let bits = asn1::single(value, asn1::BIT_STRING, "keyUsage")?;
    let (unused, bytes) = bits.split_first().ok_or_else(|| Error::bad("keyUsage"))?;
    if *unused > 7 || bytes.is_empty() || bytes.len() > 2 {
        return Err(Error::bad("keyUsage"));
    }
    let mut out: u16 = 0;
    for (i, b) in bytes.iter().enumerate() {
        for bit in 0..8u16 {
            if b & (0x80 >> bit) != 0 {
                let pos = u16::try_from(i).unwrap_or(1) * 8 + bit;
                out |= 1 << pos;
            }
        }
    }
    if out == 0 {
        return Err(Error::invalid("keyUsage with no bit set"));
    }
    Ok(out)
}

fn aki(ext: Ext<'_>) -> Result<Aki<'_>, Error> {
    let seq = asn1::single(ext.value, asn1::SEQUENCE, "authorityKeyIdentifier")?;
    let mut d = Der::new(seq, "authorityKeyIdentifier")?;
    let key_id = d.optional(0x80, "keyIdentifier")?;
    let issuer = d.optional(0xa1, "authorityCertIssuer")?;
    let serial = d.optional(0x82, "authorityCertSerialNumber")?;
    d.finish("authorityKeyIdentifier")?;
    Ok(Aki {
        critical: ext.critical,
        key_id,
        has_issuer_or_serial: issuer.is_some() || serial.is_some(),
        issuer_serial_paired: issuer.is_some() == serial.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER TLV with a short or one-octet long length.
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = value.len();
        if len >= 0x80 {
            out.push(0x81);
        }
        out.push(u8::try_from(len).unwrap());
        out.extend_from_slice(value);
        out
    }

    /// One Extension SEQUENCE (non-critical) with `oid` and an OCTET STRING `value`.
    fn ext(oid: &[u8], value: &[u8]) -> Vec<u8> {
        let mut body = tlv(asn1::OID, oid);
        body.extend(tlv(asn1::OCTET_STRING, value));
        tlv(asn1::SEQUENCE, &body)
    }

    fn parse(exts: &[Vec<u8>]) -> Result<(), Error> {
        let contents: Vec<u8> = exts.concat();
        parse_extensions(&contents).map(|_| ())
    }

    /// An unknown private OID 1.3.6.1.4.1.99999.n (distinct for every n < 128).
    fn private_oid(n: u8) -> Vec<u8> {
        vec![0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, n]
    }

    #[test]
    fn rsassa_pss_key_parameters() {
        use rustls_pki_types::alg_id;
        let pss = overture_crypto_provider::RSA_PSS_KEY_ALG_ID.as_ref();
        // No parameters: any TLS RSASSA-PSS signature.
        assert_eq!(key_alg(pss).unwrap().only_signature, None);
        assert_eq!(key_alg(pss).unwrap().lookup, pss);
        // The parameters of each TLS scheme tie the key to it.
        for sig in [
            alg_id::RSA_PSS_SHA256,
            alg_id::RSA_PSS_SHA384,
            alg_id::RSA_PSS_SHA512,
        ] {
            let k = key_alg(sig.as_ref()).unwrap();
            assert_eq!((k.lookup, k.only_signature), (pss, Some(sig.as_ref())));
        }
        let good = alg_id::RSA_PSS_SHA256.as_ref();
        // Every truncation of the parameters is refused, never a panic.
        for n in pss.len() + 1..good.len() {
            assert!(key_alg(&good[..n]).is_err(), "{n}");
        }
        // Salt 20 instead of 32.
        let mut salt = good.to_vec();
        *salt.last_mut().unwrap() = 20;
        assert!(matches!(key_alg(&salt), Err(Error::UnsupportedKey { .. })));
        // An explicit trailerField (DER omits the default, and no other value exists).
        let mut trailer = good.to_vec();
        trailer[pss.len() + 1] += 5;
        trailer.extend_from_slice(&[0xa3, 0x03, 0x02, 0x01, 0x01]);
        assert!(key_alg(&trailer).is_err());
        // Other keys pass through untouched.
        let rsa = alg_id::RSA_ENCRYPTION.as_ref();
        assert_eq!(key_alg(rsa).unwrap().lookup, rsa);
    }

    #[test]
    fn every_known_extension_has_its_own_duplicate_bit() {
        let known = [
            oid::SKI,
            oid::KEY_USAGE,
            oid::SAN,
            oid::IAN,
            oid::BASIC_CONSTRAINTS,
            oid::NAME_CONSTRAINTS,
            oid::CRL_DP,
            oid::CERT_POLICIES,
            oid::POLICY_MAPPINGS,
            oid::AKI,
            oid::POLICY_CONSTRAINTS,
            oid::EKU,
            oid::INHIBIT_ANY_POLICY,
            oid::AIA,
            oid::SCT_LIST,
        ];
        let mut all = 0u32;
        for id in known {
            let bit = 1u32 << known_extension(id).unwrap();
            assert_eq!(bit.count_ones(), 1);
            assert_eq!(all & bit, 0, "{}", asn1::oid_text(id));
            all |= bit;
        }
        assert_eq!(known_extension(&private_oid(1)), None);
        assert_eq!(known_extension(&[0x55, 0x1d, 0x0e, 0x01]), None);
        assert_eq!(known_extension(&[0x55, 0x1d]), None);
        // each index names its own OID
        for (id, i) in [
            (oid::SKI, ext_index::SKI),
            (oid::KEY_USAGE, ext_index::KEY_USAGE),
            (oid::SAN, ext_index::SAN),
            (oid::IAN, ext_index::IAN),
            (oid::BASIC_CONSTRAINTS, ext_index::BASIC_CONSTRAINTS),
            (oid::NAME_CONSTRAINTS, ext_index::NAME_CONSTRAINTS),
            (oid::CRL_DP, ext_index::CRL_DP),
            (oid::CERT_POLICIES, ext_index::CERT_POLICIES),
            (oid::POLICY_MAPPINGS, ext_index::POLICY_MAPPINGS),
            (oid::AKI, ext_index::AKI),
            (oid::POLICY_CONSTRAINTS, ext_index::POLICY_CONSTRAINTS),
            (oid::EKU, ext_index::EKU),
            (oid::INHIBIT_ANY_POLICY, ext_index::INHIBIT_ANY_POLICY),
            (oid::AIA, ext_index::AIA),
            (oid::SCT_LIST, ext_index::SCT_LIST),
        ] {
            assert_eq!(known_extension(id), Some(i), "{}", asn1::oid_text(id));
        }
        // privateKeyUsagePeriod (2.5.29.16) and 2.5.29.34 are not known: critical, they are
        // unknown critical extensions
        for id in [&[0x55u8, 0x1d, 0x10][..], &[0x55, 0x1d, 0x22]] {
            let e = {
                let mut body = tlv(asn1::OID, id);
                body.extend(tlv(asn1::BOOLEAN, &[0xff]));
                body.extend(tlv(asn1::OCTET_STRING, &[0x05, 0x00]));
                tlv(asn1::SEQUENCE, &body)
            };
            assert!(matches!(
                parse(&[e]),
                Err(Error::UnknownCriticalExtension { .. })
            ));
        }
    }

    #[test]
    fn duplicates_are_refused_known_or_not() {
        let ski = ext(oid::SKI, &tlv(asn1::OCTET_STRING, &[1, 2, 3]));
        let private = ext(&private_oid(7), &[0x05, 0x00]);
        assert!(parse(&[ski.clone(), private.clone()]).is_ok());
        let dup = |e: Result<(), Error>| {
            matches!(
                e,
                Err(Error::InvalidCertificate {
                    what: "duplicate extension"
                })
            )
        };
        assert!(dup(parse(&[ski.clone(), private.clone(), ski.clone()])));
        assert!(dup(parse(&[private.clone(), ski.clone(), private.clone()])));
        // the same first bytes, another OID: not a duplicate
        let other = ext(&private_oid(8), &[0x05, 0x00]);
        assert!(parse(&[private, ski, other]).is_ok());
    }

    #[test]
    fn at_most_64_extensions() {
        let many: Vec<Vec<u8>> = (0..64).map(|n| ext(&private_oid(n), &[])).collect();
        assert!(parse(&many).is_ok());
        let mut too_many = many.clone();
        too_many.push(ext(&private_oid(64), &[]));
        assert!(matches!(
            parse(&too_many),
            Err(Error::BadEncoding {
                what: "more than 64 extensions"
            })
        ));
        // a 65th that repeats an earlier one is reported as the duplicate
        let mut dup = many;
        dup.push(ext(&private_oid(3), &[]));
        assert!(matches!(
            parse(&dup),
            Err(Error::InvalidCertificate {
                what: "duplicate extension"
            })
        ));
    }

    /// A shape gives back exactly what parsing gives, for certificates with and without the
    /// optional fields.
    #[test]
    fn shape_round_trips() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(2));
        ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        ca.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.com".into())],
            excluded_subtrees: vec![],
        });
        let ca_der = ca.self_signed(&key).unwrap().der().to_vec();
        let mut ee = rcgen::CertificateParams::new(vec!["a.example.com".into()]).unwrap();
        ee.use_authority_key_identifier_extension = true;
        ee.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = rcgen::Issuer::from_params(&ca, &key);
        let ee_der = ee.signed_by(&key, &issuer).unwrap().der().to_vec();
        for der in [ca_der, ee_der] {
            let parsed = Certificate::from_der(&der).unwrap();
            let shape = parsed.shape().unwrap();
            // The shape outlives the parse; a copy of the DER elsewhere in memory works too.
            let copy = der.clone();
            let back = shape.certificate(&copy).unwrap();
            assert_eq!(format!("{parsed:?}"), format!("{back:?}"));
            assert!(shape.certificate(copy.get(..10).unwrap()).is_none());
        }
    }

    #[test]
    fn public_key_of_is_the_parsed_key() {
        for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let params = rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap();
            let der = params.self_signed(&key).unwrap().der().to_vec();
            let cert = Certificate::from_der(&der).unwrap();
            assert_eq!(
                Certificate::public_key_of(&der).unwrap(),
                (cert.public_key_alg_id(), cert.public_key())
            );
            // framing is still checked
            assert!(Certificate::public_key_of(der.get(..der.len() - 1).unwrap()).is_err());
            let mut trailing = der.clone();
            trailing.push(0);
            assert!(Certificate::public_key_of(&trailing).is_err());
        }
        assert!(Certificate::public_key_of(&[0x30, 0x00]).is_err());
    }

    #[test]
    fn signature_key_reads_key_usage_strictly() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert_with = |usages: Vec<rcgen::KeyUsagePurpose>, extra_ku: Option<u8>| {
            let mut params = rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap();
            params.key_usages = usages;
            if let Some(bits) = extra_ku {
                // a second keyUsage extension: BIT STRING with 7 unused bits
                params
                    .custom_extensions
                    .push(rcgen::CustomExtension::from_oid_content(
                        &[2, 5, 29, 15],
                        vec![0x03, 0x02, 0x07, bits],
                    ));
            }
            params.self_signed(&key).unwrap().der().to_vec()
        };
        use rcgen::KeyUsagePurpose::{DigitalSignature, KeyEncipherment};
        for (usages, allowed) in [
            (vec![], true),
            (vec![DigitalSignature], true),
            (vec![KeyEncipherment], false),
            (vec![KeyEncipherment, DigitalSignature], true),
        ] {
            let der = cert_with(usages, None);
            let cert = Certificate::from_der(&der).unwrap();
            let k = Certificate::signature_key_of(&der).unwrap();
            assert_eq!(k.digital_signature, allowed);
            assert_eq!(
                (k.public_key_alg_id, k.public_key),
                (cert.public_key_alg_id(), cert.public_key())
            );
            // framing is checked to the end
            assert!(Certificate::signature_key_of(der.get(..der.len() - 1).unwrap()).is_err());
            let mut trailing = der.clone();
            trailing.push(0);
            assert!(Certificate::signature_key_of(&trailing).is_err());
        }
        // A second keyUsage (here allowing digitalSignature after one that does not) is refused,
        // as the full parse refuses it.
        let twice = cert_with(vec![KeyEncipherment], Some(0x80));
        assert!(Certificate::from_der(&twice).is_err());
        assert!(Certificate::signature_key_of(&twice).is_err());
        // A keyUsage with no bit set is refused by both.
        let empty = cert_with(vec![], Some(0x00));
        assert!(Certificate::from_der(&empty).is_err());
        assert!(Certificate::signature_key_of(&empty).is_err());
    }

    #[test]
    fn common_names_in_order() {
        let atv = |oid: &[u8], tag: u8, v: &[u8]| {
            let mut b = tlv(asn1::OID, oid);
            b.extend(tlv(tag, v));
            tlv(asn1::SEQUENCE, &b)
        };
        let mut name = tlv(asn1::SET, &atv(oid::COMMON_NAME, 0x0c, b"a"));
        name.extend(tlv(asn1::SET, &atv(&[0x55, 0x04, 0x0a], 0x0c, b"org")));
        let mut two = atv(oid::COMMON_NAME, 0x13, b"b");
        two.extend(atv(oid::COMMON_NAME, 0x16, b"c"));
        name.extend(tlv(asn1::SET, &two));
        check_name(&name).unwrap();
        let cns: Vec<(u8, &[u8])> = common_names(&name).map(|t| (t.tag, t.value)).collect();
        assert_eq!(
            cns,
            [(0x0c, &b"a"[..]), (0x13, &b"b"[..]), (0x16, &b"c"[..])]
        );
        assert_eq!(common_names(&[]).count(), 0);
    }
}

//! Certificate revocation lists (RFC 5280 §5), as supplied by the caller.

use crate::Error;
use crate::asn1::{self, Der};
use core::ops::Range;

const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const AKI: &[u8] = &[0x55, 0x1d, 0x23];
const FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 0x2e];
const AUTHORITY_INFO_ACCESS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
const INVALIDITY_DATE: &[u8] = &[0x55, 0x1d, 0x18];

/// A parsed CRL borrowing from its DER.
pub(crate) struct Crl<'a> {
    pub(crate) tbs: &'a [u8],
    pub(crate) sig_alg: &'a [u8],
    pub(crate) signature: &'a [u8],
    pub(crate) issuer: &'a [u8],
    pub(crate) this_update: u64,
    pub(crate) next_update: Option<u64>,
    revoked: Option<&'a [u8]>,
    /// Why this CRL cannot be relied on, found at parse time (checked once it applies).
    pub(crate) unusable: Option<&'static str>,
}

impl<'a> Crl<'a> {
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, Error> {
        let list = asn1::single(der, asn1::SEQUENCE, "CertificateList")?;
        let mut outer = Der::new(list, "CertificateList")?;
        let tbs_tlv = outer.next("TBSCertList")?;
        if tbs_tlv.tag != asn1::SEQUENCE {
            return Err(Error::bad("TBSCertList"));
        }
        let sig_alg = outer.expect(asn1::SEQUENCE, "CRL signatureAlgorithm")?;
        let signature = asn1::bit_string_bytes(
            outer.expect(asn1::BIT_STRING, "CRL signature")?,
            "CRL signature",
        )?;
        outer.finish("CertificateList")?;

        let mut t = Der::new(tbs_tlv.value, "TBSCertList")?;
        let mut v2 = false;
        if let Some(v) = t.optional(asn1::INTEGER, "CRL version")? {
            if v != [0x01] {
                return Err(Error::bad("CRL version"));
            }
            v2 = true;
        }
        if t.expect(asn1::SEQUENCE, "CRL signature")? != sig_alg {
            return Err(Error::SignatureAlgorithmMismatch);
        }
        let issuer = t.expect(asn1::SEQUENCE, "CRL issuer")?;
        crate::cert::check_name(issuer)?;
        let this_update = asn1::time(&t.next("thisUpdate")?, "thisUpdate")?;
        let next_update = match t.peek_tag() {
            Some(asn1::UTC_TIME | asn1::GENERALIZED_TIME) => {
                Some(asn1::time(&t.next("nextUpdate")?, "nextUpdate")?)
            }
            _ => None,
        };
        let revoked = t.optional(asn1::SEQUENCE, "revokedCertificates")?;
        let mut unusable = None;
        let mut has_number = false;
        if let Some(exts) = t.optional(0xa0, "crlExtensions")? {
            if !v2 {
                return Err(Error::bad("extensions in a v1 CRL"));
            }
            let seq = asn1::single(exts, asn1::SEQUENCE, "crlExtensions")?;
            let mut d = Der::new(seq, "crlExtensions")?;
            while !d.is_empty() {
                let (id, critical, _) = extension(&mut d)?;
                match id {
                    CRL_NUMBER => {
                        has_number = true;
                        if critical {
                            unusable = Some("critical CRLNumber extension");
                        }
                    }
                    DELTA_CRL_INDICATOR => unusable = Some("delta CRLs are not supported"),
                    ISSUING_DISTRIBUTION_POINT => {
                        unusable =
                            Some("partitioned CRLs (issuingDistributionPoint) are not supported")
                    }
                    AKI | FRESHEST_CRL | AUTHORITY_INFO_ACCESS if !critical => {}
                    _ if critical => unusable = Some("unknown critical CRL extension"),
                    _ => {}
                }
            }
        }
        t.finish("TBSCertList")?;
        if !has_number && unusable.is_none() {
            unusable = Some("CRL without the mandatory CRLNumber extension");
        }
        if let Some(r) = revoked {
            // Entries are checked for form here, so a lookup cannot meet a malformed one.
            let mut d = Der::new(r, "revokedCertificates")?;
            while !d.is_empty() {
                let entry = entry(d.expect(asn1::SEQUENCE, "revoked entry")?)?;
                if entry.1 && unusable.is_none() {
                    unusable = Some("unknown critical CRL entry extension");
                }
            }
        }
        Ok(Crl {
            tbs: tbs_tlv.raw,
            sig_alg,
            signature,
            issuer,
            this_update,
            next_update,
            revoked,
            unusable,
        })
    }

    /// The listed serial numbers (INTEGER contents).
    fn serials(&self) -> Result<Vec<&'a [u8]>, Error> {
        let mut out = Vec::new();
        if let Some(r) = self.revoked {
            let mut d = Der::new(r, "revokedCertificates")?;
            while !d.is_empty() {
                out.push(entry(d.expect(asn1::SEQUENCE, "revoked entry")?)?.0);
            }
        }
        Ok(out)
    }
}

/// A CRL parsed and validated once (by `Verifier::with_crls`), so a verification neither
/// re-parses it nor scans it: its serials are sorted for binary search.
#[derive(Clone, Debug)]
pub(crate) struct OwnedCrl {
    der: Vec<u8>,
    tbs: Range<usize>,
    sig_alg: Range<usize>,
    signature: Range<usize>,
    issuer: Range<usize>,
    pub(crate) this_update: u64,
    pub(crate) next_update: Option<u64>,
    pub(crate) unusable: Option<&'static str>,
    revoked: Vec<Range<usize>>,
}

impl OwnedCrl {
    pub(crate) fn new(der: Vec<u8>) -> Result<Self, Error> {
        let base = der.as_ptr().addr();
        let at = |s: &[u8]| {
            let start = s.as_ptr().addr().saturating_sub(base);
            start..start.saturating_add(s.len())
        };
        let crl = Crl::parse(&der)?;
        let mut revoked: Vec<Range<usize>> = crl.serials()?.into_iter().map(at).collect();
        revoked.sort_by(|a, b| der.get(a.clone()).cmp(&der.get(b.clone())));
        let (tbs, sig_alg, signature, issuer) = (
            at(crl.tbs),
            at(crl.sig_alg),
            at(crl.signature),
            at(crl.issuer),
        );
        let (this_update, next_update, unusable) = (crl.this_update, crl.next_update, crl.unusable);
        Ok(Self {
            der,
            tbs,
            sig_alg,
            signature,
            issuer,
            this_update,
            next_update,
            unusable,
            revoked,
        })
    }

    fn part(&self, r: &Range<usize>) -> &[u8] {
        self.der.get(r.clone()).unwrap_or(&[])
    }

    pub(crate) fn tbs(&self) -> &[u8] {
        self.part(&self.tbs)
    }

    pub(crate) fn sig_alg(&self) -> &[u8] {
        self.part(&self.sig_alg)
    }

    pub(crate) fn signature(&self) -> &[u8] {
        self.part(&self.signature)
    }

    pub(crate) fn issuer(&self) -> &[u8] {
        self.part(&self.issuer)
    }

    /// Whether the serial (INTEGER contents) is listed.
    pub(crate) fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked
            .binary_search_by(|r| self.part(r).cmp(serial))
            .is_ok()
    }
}

fn extension<'a>(d: &mut Der<'a>) -> Result<(&'a [u8], bool, &'a [u8]), Error> {
    let e = d.expect(asn1::SEQUENCE, "Extension")?;
    let mut x = Der::new(e, "Extension")?;
    let id = x.expect(asn1::OID, "extnID")?;
    let critical = match x.optional(asn1::BOOLEAN, "critical")? {
        Some(b) => asn1::boolean(b, "critical")?,
        None => false,
    };
    let value = x.expect(asn1::OCTET_STRING, "extnValue")?;
    x.finish("Extension")?;
    Ok((id, critical, value))
}

/// (serial contents, has an unknown critical entry extension)
fn entry(contents: &[u8]) -> Result<(&[u8], bool), Error> {
    let mut d = Der::new(contents, "revoked entry")?;
    let serial = d.expect(asn1::INTEGER, "userCertificate")?;
    asn1::time(&d.next("revocationDate")?, "revocationDate")?;
    let mut unknown_critical = false;
    if let Some(exts) = d.optional(asn1::SEQUENCE, "crlEntryExtensions")? {
        let mut e = Der::new(exts, "crlEntryExtensions")?;
        while !e.is_empty() {
            let (id, critical, _) = extension(&mut e)?;
            if critical && id != REASON_CODE && id != INVALIDITY_DATE {
                unknown_critical = true;
            }
        }
    }
    d.finish("revoked entry")?;
    Ok((serial, unknown_critical))
}

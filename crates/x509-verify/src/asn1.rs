//! A strict DER reader over borrowed bytes, on top of the `der` crate: every TLV is checked by
//! `der` (minimal length encodings, no indefinite lengths, lengths bounded by the input), and
//! values are returned as sub-slices of the input (zero-copy).

use crate::Error;
use der::Decode;
use der::asn1::{GeneralizedTime, UtcTime};

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;

/// One tag-length-value: its identifier octet, its contents and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
}

/// A cursor over a sequence of TLVs.
///
/// The framing is read here rather than through `der::Reader`: it is the innermost loop of
/// certificate parsing, and `der`'s generic header decoding made a certificate parse ~5× slower
/// than rustls-webpki's. The rules are DER's: low tag numbers only (X.509 uses no others),
/// definite lengths in the shortest form, at most 16 MiB, within the input.
pub(crate) struct Der<'a> {
    bytes: &'a [u8],
}

impl<'a> Der<'a> {
    pub(crate) fn new(bytes: &'a [u8], _what: &'static str) -> Result<Self, Error> {
        Ok(Self { bytes })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// The next TLV, whatever its tag.
    pub(crate) fn next(&mut self, what: &'static str) -> Result<Tlv<'a>, Error> {
        let bad = || Error::bad(what);
        let (&tag, rest) = self.bytes.split_first().ok_or_else(bad)?;
        if tag & 0x1f == 0x1f {
            return Err(bad());
        }
        let (&first, mut rest) = rest.split_first().ok_or_else(bad)?;
        let len = match first {
            0x00..=0x7f => usize::from(first),
            0x81..=0x83 => {
                let n = usize::from(first & 0x7f);
                let (octets, after) = (
                    rest.get(..n).ok_or_else(bad)?,
                    rest.get(n..).ok_or_else(bad)?,
                );
                rest = after;
                let len = octets
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                // shortest form: a long form must need all its octets and exceed 127
                if len < 0x80 || octets.first() == Some(&0) {
                    return Err(bad());
                }
                len
            }
            // 0x80: indefinite (BER only); 0x84..: 4 GiB and beyond
            _ => return Err(bad()),
        };
        let value = rest.get(..len).ok_or_else(bad)?;
        let header = self.bytes.len() - rest.len();
        let raw = self.bytes.get(..header + len).ok_or_else(bad)?;
        self.bytes = rest.get(len..).ok_or_else(bad)?;
        Ok(Tlv { tag, value, raw })
    }

    /// The next TLV, which must carry `tag`; returns its contents.
    pub(crate) fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Error> {
        let tlv = self.next(what)?;
        if tlv.tag != tag {
            return Err(Error::bad(what));
        }
        Ok(tlv.value)
    }

    /// The next TLV's contents if it carries `tag`.
    pub(crate) fn optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<&'a [u8]>, Error> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag, what).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(self, what: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::bad(what))
        }
    }
}

/// Parses `bytes` as exactly one TLV with `tag`, returning its contents.
pub(crate) fn single<'a>(bytes: &'a [u8], tag: u8, what: &'static str) -> Result<&'a [u8], Error> {
    let mut d = Der::new(bytes, what)?;
    let v = d.expect(tag, what)?;
    d.finish(what)?;
    Ok(v)
}

/// A DER BOOLEAN's contents (exactly 0x00 or 0xFF).
pub(crate) fn boolean(value: &[u8], what: &'static str) -> Result<bool, Error> {
    match value {
        [0x00] => Ok(false),
        [0xff] => Ok(true),
        _ => Err(Error::bad(what)),
    }
}

/// A DER INTEGER's contents that must be a minimal, non-negative encoding; the magnitude
/// without a leading zero octet.
pub(crate) fn unsigned<'a>(value: &'a [u8], what: &'static str) -> Result<&'a [u8], Error> {
    match value {
        [] => Err(Error::bad(what)),
        [first, ..] if first & 0x80 != 0 => Err(Error::bad(what)),
        [0x00] => Ok(&[]),
        [0x00, rest @ ..] => match rest.first() {
            Some(b) if b & 0x80 != 0 => Ok(rest),
            _ => Err(Error::bad(what)),
        },
        v => Ok(v),
    }
}

/// A small non-negative INTEGER (e.g. pathLenConstraint), saturated at `u8::MAX`.
pub(crate) fn small_unsigned(value: &[u8], what: &'static str) -> Result<u8, Error> {
    let mag = unsigned(value, what)?;
    match mag {
        [] => Ok(0),
        [b] => Ok(*b),
        _ => Ok(u8::MAX),
    }
}

/// A UTCTime or GeneralizedTime TLV as seconds since the Unix epoch (RFC 5280: `Z`, seconds
/// present, no fractions).
pub(crate) fn time(tlv: &Tlv<'_>, what: &'static str) -> Result<u64, Error> {
    let d = match tlv.tag {
        UTC_TIME => UtcTime::from_der(tlv.raw)
            .map_err(|_| Error::bad(what))?
            .to_unix_duration(),
        GENERALIZED_TIME => GeneralizedTime::from_der(tlv.raw)
            .map_err(|_| Error::bad(what))?
            .to_unix_duration(),
        _ => return Err(Error::bad(what)),
    };
    Ok(d.as_secs())
}

/// A BIT STRING's contents with no unused bits: the bytes.
pub(crate) fn bit_string_bytes<'a>(value: &'a [u8], what: &'static str) -> Result<&'a [u8], Error> {
    match value.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(Error::bad(what)),
    }
}

/// Dotted text of an OID's contents (for error messages only).
pub(crate) fn oid_text(value: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for b in value {
        acc = acc.saturating_mul(128).saturating_add(u64::from(b & 0x7f));
        if b & 0x80 == 0 {
            parts.push(acc);
            acc = 0;
        }
    }
    let mut out = String::new();
    if let Some((first, rest)) = parts.split_first() {
        let (a, b) = match *first {
            f if f < 40 => (0, f),
            f if f < 80 => (1, f - 40),
            f => (2, f - 80),
        };
        out = format!("{a}.{b}");
        for p in rest {
            out.push('.');
            out.push_str(&p.to_string());
        }
    }
    out
}

/// Hex text (for serial numbers in messages).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_minimal_length_and_trailing_bytes() {
        // SEQUENCE with a long-form length for 1 byte: not DER.
        assert!(single(&[0x30, 0x81, 0x01, 0x00], SEQUENCE, "t").is_err());
        assert!(single(&[0x30, 0x01, 0x00, 0x00], SEQUENCE, "t").is_err());
        assert!(single(&[0x30, 0x05, 0x00], SEQUENCE, "t").is_err());
        assert_eq!(single(&[0x30, 0x01, 0x00], SEQUENCE, "t").unwrap(), &[0]);
    }

    #[test]
    fn framing_is_der() {
        let ok = |b: &[u8]| {
            Der::new(b, "t")
                .unwrap()
                .next("t")
                .map(|t| (t.tag, t.value.len()))
        };
        assert_eq!(ok(&[0x04, 0x00]).unwrap(), (0x04, 0));
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert_eq!(ok(&long).unwrap(), (0x04, 0x80));
        let mut two = vec![0x04, 0x82, 0x01, 0x00];
        two.extend([0u8; 0x100]);
        assert_eq!(ok(&two).unwrap(), (0x04, 0x100));
        assert!(ok(&[0x04, 0x80, 0x00, 0x00]).is_err(), "indefinite length");
        assert!(
            ok(&[0x04, 0x81, 0x05, 0, 0, 0, 0, 0]).is_err(),
            "long form for < 128"
        );
        assert!(
            ok(&[0x04, 0x82, 0x00, 0x80]).is_err(),
            "leading zero length octet"
        );
        assert!(
            ok(&[0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0x00]).is_err(),
            "4-octet length"
        );
        assert!(ok(&[0x1f, 0x21, 0x00]).is_err(), "high tag number");
        assert!(ok(&[0x04, 0x02, 0x00]).is_err(), "length beyond input");
        assert!(ok(&[0x04]).is_err(), "no length");
        assert!(ok(&[]).is_err(), "nothing");
    }

    #[test]
    fn integers_and_booleans_are_strict() {
        assert!(unsigned(&[0x00, 0x01], "t").is_err());
        assert!(unsigned(&[0x80], "t").is_err());
        assert_eq!(unsigned(&[0x00, 0x80], "t").unwrap(), &[0x80]);
        assert!(boolean(&[0x01], "t").is_err());
        assert!(boolean(&[0xff], "t").unwrap());
    }

    #[test]
    fn oid_as_text() {
        assert_eq!(oid_text(&[0x55, 0x1d, 0x13]), "2.5.29.19");
    }
}

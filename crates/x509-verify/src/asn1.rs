//! A strict DER reader over borrowed bytes, on top of the `der` crate: every TLV is checked by
//! `der` (minimal length encodings, no indefinite lengths, lengths bounded by the input), and
//! values are returned as sub-slices of the input (zero-copy).

use crate::Error;

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
    #[inline]
    pub(crate) fn new(bytes: &'a [u8], _what: &'static str) -> Result<Self, Error> {
        Ok(Self::over(bytes))
    }

    /// A cursor over `bytes` (no check yet: each TLV is checked as it is read).
    #[inline]
    pub(crate) fn over(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// A cursor with nothing left to read.
    #[inline]
    pub(crate) fn empty() -> Self {
        Self { bytes: &[] }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    #[inline]
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.bytes.first().copied()
    }

    /// The next TLV, whatever its tag.
    #[inline]
    pub(crate) fn next(&mut self, what: &'static str) -> Result<Tlv<'a>, Error> {
        let bad = || Error::bad(what);
        let [tag, first, rest @ ..] = self.bytes else {
            return Err(bad());
        };
        if tag & 0x1f == 0x1f {
            return Err(bad());
        }
        let (header, len) = match *first {
            0x00..=0x7f => (2, usize::from(*first)),
            0x81..=0x83 => {
                let n = usize::from(first & 0x7f);
                let octets = rest.get(..n).ok_or_else(bad)?;
                let len = octets
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
                // shortest form: a long form must need all its octets and exceed 127
                if len < 0x80 || octets.first() == Some(&0) {
                    return Err(bad());
                }
                (2 + n, len)
            }
            // 0x80: indefinite (BER only); 0x84..: 4 GiB and beyond
            _ => return Err(bad()),
        };
        // One split for the whole TLV and what follows (a length beyond the input fails).
        let (raw, after) = self.bytes.split_at_checked(header + len).ok_or_else(bad)?;
        let value = raw.get(header..).ok_or_else(bad)?;
        self.bytes = after;
        Ok(Tlv {
            tag: *tag,
            value,
            raw,
        })
    }

    /// The next TLV, which must carry `tag`; returns its contents.
    #[inline]
    pub(crate) fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Error> {
        let tlv = self.next(what)?;
        if tlv.tag != tag {
            return Err(Error::bad(what));
        }
        Ok(tlv.value)
    }

    /// The next TLV's contents if it carries `tag`.
    #[inline]
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
    #[inline]
    pub(crate) fn finish(self, what: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::bad(what))
        }
    }
}

/// Parses `bytes` as exactly one TLV with `tag`, returning its contents.
#[inline]
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

/// A UTCTime or GeneralizedTime TLV as seconds since the Unix epoch, by the RFC 5280
/// §4.1.2.5 rules: `YYMMDDHHMMSSZ` (UTCTime, YY ≥ 50 is 19YY, else 20YY) or
/// `YYYYMMDDHHMMSSZ` (GeneralizedTime); `Z` and the seconds required, no fractions, every
/// field in range (a real day of its month, hour ≤ 23, minute and second ≤ 59). Years before
/// 1970 are refused, as the `der` crate this replaces refused them (a `u64` count of seconds
/// since 1970 cannot hold them).
pub(crate) fn time(tlv: &Tlv<'_>, what: &'static str) -> Result<u64, Error> {
    time_secs(tlv.tag, tlv.value).ok_or_else(|| Error::bad(what))
}

/// [`time`] without the error value (so that the whole conversion stays in registers).
fn time_secs(tag: u8, value: &[u8]) -> Option<u64> {
    let (year, rest) = match (tag, value) {
        (UTC_TIME, [y1, y2, rest @ ..]) => {
            let yy = u64::from(decimal2(*y1, *y2)?);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, rest)
        }
        (GENERALIZED_TIME, [y1, y2, y3, y4, rest @ ..]) => {
            let hi = u64::from(decimal2(*y1, *y2)?);
            let lo = u64::from(decimal2(*y3, *y4)?);
            (hi * 100 + lo, rest)
        }
        _ => return None,
    };
    let [mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2, b'Z'] = rest else {
        return None;
    };
    let month = decimal2(*mo1, *mo2)?;
    let day = decimal2(*d1, *d2)?;
    let hour = decimal2(*h1, *h2)?;
    let minute = decimal2(*mi1, *mi2)?;
    let second = decimal2(*s1, *s2)?;
    if year < 1970
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(days * 86_400 + u64::from(hour) * 3_600 + u64::from(minute) * 60 + u64::from(second))
}

/// Two ASCII decimal digits as a number.
#[inline]
fn decimal2(hi: u8, lo: u8) -> Option<u8> {
    if hi.is_ascii_digit() && lo.is_ascii_digit() {
        Some((hi - b'0') * 10 + (lo - b'0'))
    } else {
        None
    }
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1–12) of `year`.
fn days_in_month(year: u64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year`-`month`-`day` (proleptic Gregorian; `year` ≥ 1970,
/// `month` 1–12, `day` valid for the month): Howard Hinnant's `days_from_civil`, in
/// unsigned arithmetic (years counted from March, so the leap day ends a year).
fn days_since_epoch(year: u64, month: u8, day: u8) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400; // [0, 399]
    let m = u64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + u64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    // 719_468: days from 0000-03-01 to 1970-01-01.
    era * 146_097 + doe - 719_468
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

    /// `time` over `value` with `tag`, and what the `der` crate (the previous implementation)
    /// makes of the same TLV.
    fn both(tag: u8, value: &[u8]) -> (Option<u64>, Option<u64>) {
        use der::Decode;
        use der::asn1::{GeneralizedTime, UtcTime};
        let mut raw = vec![tag, u8::try_from(value.len()).unwrap()];
        raw.extend_from_slice(value);
        let tlv = Tlv {
            tag,
            value,
            raw: &raw,
        };
        let ours = time(&tlv, "t").ok();
        let theirs = if tag == UTC_TIME {
            UtcTime::from_der(&raw)
                .ok()
                .map(|t| t.to_unix_duration().as_secs())
        } else {
            GeneralizedTime::from_der(&raw)
                .ok()
                .map(|t| t.to_unix_duration().as_secs())
        };
        (ours, theirs)
    }

    #[test]
    fn times_known_answers() {
        let t = |tag, s: &str| both(tag, s.as_bytes()).0;
        assert_eq!(t(UTC_TIME, "700101000000Z"), Some(0));
        assert_eq!(t(GENERALIZED_TIME, "19700101000000Z"), Some(0));
        // 2000-02-29 12:34:56 UTC = 951827696 (date -u -d @951827696)
        assert_eq!(t(UTC_TIME, "000229123456Z"), Some(951_827_696));
        assert_eq!(t(GENERALIZED_TIME, "20000229123456Z"), Some(951_827_696));
        // 2049-12-31 23:59:59 and 2050-01-01 00:00:00 (the UTCTime / GeneralizedTime switch)
        assert_eq!(t(UTC_TIME, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(t(GENERALIZED_TIME, "20500101000000Z"), Some(2_524_608_000));
        assert_eq!(
            t(GENERALIZED_TIME, "99991231235959Z"),
            Some(253_402_300_799)
        );
        // YY >= 50 is 19YY: 1950-1969 are before the epoch, refused (as `der` refused them).
        assert_eq!(t(UTC_TIME, "500101000000Z"), None);
        assert_eq!(t(UTC_TIME, "691231235959Z"), None);
        assert_eq!(t(UTC_TIME, "991231235959Z"), Some(946_684_799));
        for bad in [
            "700101000000", // no Z
            "7001010000Z",  // no seconds
            "700101000000+0000",
            "700101000060Z", // second 60
            "700101006000Z", // minute 60
            "700101240000Z", // hour 24
            "700100000000Z", // day 0
            "700132000000Z", // day 32
            "700001000000Z", // month 0
            "701301000000Z", // month 13
            "010229000000Z", // 2001 is not a leap year
            "700431000000Z", // April has 30 days
            "7001010000 0Z",
            "-70101000000Z",
            "",
        ] {
            assert_eq!(t(UTC_TIME, bad), None, "{bad}");
        }
        assert_eq!(
            t(GENERALIZED_TIME, "21000229000000Z"),
            None,
            "2100 not leap"
        );
        assert_eq!(t(GENERALIZED_TIME, "24000229000000Z"), Some(13_574_563_200));
        assert_eq!(t(GENERALIZED_TIME, "20000101000000.5Z"), None, "fraction");
        assert_eq!(t(GENERALIZED_TIME, "200001010000Z"), None, "no seconds");
        assert_eq!(t(GENERALIZED_TIME, "19691231235959Z"), None);
        assert_eq!(t(0x04, "700101000000Z"), None, "not a time tag");
    }

    /// Every day of 1970-2100 and 2390-2410 at a few times, plus every invalid month/day/hour
    /// /minute/second value: the result is the `der` crate's, to the second.
    #[test]
    fn times_agree_with_the_der_crate() {
        let mut checked = 0;
        let years = (1950..=2100).chain(2390..=2410).chain([9999]);
        for year in years {
            for month in 0..=13u32 {
                for day in 0..=32u32 {
                    for (h, mi, s) in [
                        (0, 0, 0),
                        (23, 59, 59),
                        (12, 30, 7),
                        (24, 0, 0),
                        (0, 60, 0),
                        (0, 0, 60),
                    ] {
                        let g = format!("{year:04}{month:02}{day:02}{h:02}{mi:02}{s:02}Z");
                        let (ours, theirs) = both(GENERALIZED_TIME, g.as_bytes());
                        assert_eq!(ours, theirs, "{g}");
                        if (1950..2050).contains(&year) {
                            let u = g.get(2..).unwrap();
                            let (ours, theirs) = both(UTC_TIME, u.as_bytes());
                            assert_eq!(ours, theirs, "{u}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }

    #[test]
    fn oid_as_text() {
        assert_eq!(oid_text(&[0x55, 0x1d, 0x13]), "2.5.29.19");
    }
}

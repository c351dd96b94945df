//! Distinguished names as attributes: the one walk over a DER `Name` (RDNSequence) that every
//! place rendering a subject or issuer shares — the verifier's messages, the client's trace
//! events and the CLI's `--showcerts`.

use crate::{Error, asn1};

/// One attribute of a distinguished name (an AttributeTypeAndValue), borrowed from the DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NameAttribute<'a> {
    /// The attribute type: the contents of its OBJECT IDENTIFIER (e.g. `55 04 03` for CN).
    pub oid: &'a [u8],
    /// The value's tag (e.g. 0x0c UTF8String, 0x13 PrintableString, 0x1e BMPString).
    pub tag: u8,
    /// The value's contents.
    pub value: &'a [u8],
}

impl NameAttribute<'_> {
    /// The short name OpenSSL prints for a well-known attribute type (`CN`, `O`, `DC`, ...).
    pub fn short_name(&self) -> Option<&'static str> {
        Some(match self.oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x05] => "serialNumber",
            [0x55, 0x04, 0x06] => "C",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            [0x55, 0x04, 0x09] => "street",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
            _ => return None,
        })
    }

    /// The short name, or the type in dotted form (`2.5.4.97`) when it has none.
    pub fn key(&self) -> std::borrow::Cow<'static, str> {
        match self.short_name() {
            Some(name) => name.into(),
            None => oid_to_string(self.oid).into(),
        }
    }

    /// The value as text: BMPString as UTF-16BE, UniversalString as UTF-32BE, every other
    /// string type as UTF-8; invalid sequences become U+FFFD. Not escaped.
    pub fn value_text(&self) -> String {
        match self.tag {
            0x1e => {
                let units = self.value.chunks(2).map(|c| match c {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    _ => 0xfffd,
                });
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect()
            }
            0x1c => self
                .value
                .chunks(4)
                .map(|c| match c {
                    [a, b, c, d] => char::from_u32(u32::from_be_bytes([*a, *b, *c, *d]))
                        .unwrap_or(char::REPLACEMENT_CHARACTER),
                    _ => char::REPLACEMENT_CHARACTER,
                })
                .collect(),
            _ => String::from_utf8_lossy(self.value).into_owned(),
        }
    }
}

/// The attributes of a `Name`, given the contents of its SEQUENCE (as
/// [`Certificate::subject`](crate::Certificate::subject) returns them), in encoding order
/// (the most significant RDN first; RFC 4514 text reverses it).
///
/// Each item is an attribute or, once, the encoding error that ends the walk: the reader is
/// the crate's strict DER reader, so a truncated or non-DER name is reported, never guessed.
///
/// ```
/// use overture_x509_verify::name_attributes;
/// // SET { SEQUENCE { OID 2.5.4.3, UTF8String "example" } }
/// let name = [0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x03,
///             0x0c, 0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e'];
/// let attrs: Vec<_> = name_attributes(&name).collect::<Result<_, _>>().unwrap();
/// assert_eq!(attrs[0].key(), "CN");
/// assert_eq!(attrs[0].value_text(), "example");
/// ```
pub fn name_attributes(name: &[u8]) -> NameAttributes<'_> {
    NameAttributes {
        rdns: asn1::Der::over(name),
        set: asn1::Der::empty(),
        done: false,
    }
}

/// Iterator returned by [`name_attributes`].
pub struct NameAttributes<'a> {
    rdns: asn1::Der<'a>,
    set: asn1::Der<'a>,
    done: bool,
}

impl<'a> NameAttributes<'a> {
    fn step(&mut self) -> Result<Option<NameAttribute<'a>>, Error> {
        while self.set.is_empty() {
            if self.rdns.is_empty() {
                return Ok(None);
            }
            let set = self.rdns.expect(asn1::SET, "Name RDN")?;
            if set.is_empty() {
                return Err(Error::bad("Name RDN"));
            }
            self.set = asn1::Der::over(set);
        }
        let atv = self.set.expect(asn1::SEQUENCE, "Name attribute")?;
        let mut atv = asn1::Der::over(atv);
        let oid = atv.expect(asn1::OID, "Name attribute type")?;
        let value = atv.next("Name attribute value")?;
        atv.finish("Name attribute")?;
        Ok(Some(NameAttribute {
            oid,
            tag: value.tag,
            value: value.value,
        }))
    }
}

impl<'a> Iterator for NameAttributes<'a> {
    type Item = Result<NameAttribute<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(attr)) => Some(Ok(attr)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl std::iter::FusedIterator for NameAttributes<'_> {}

/// An OBJECT IDENTIFIER's contents in dotted form (`2.5.29.19`).
pub fn oid_to_string(oid: &[u8]) -> String {
    asn1::oid_text(oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &[u8] = &[
        0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S', // C=US
        0x31, 0x0f, 0x30, 0x0d, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x06, 0, b'a', 0, b'b', 0,
        b'c', // CN=abc (BMPString)
        0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x61, 0x0c, 0x01, b'x', // 2.5.4.97=x
    ];

    #[test]
    fn walks_every_attribute_in_order() {
        let attrs: Vec<_> = name_attributes(NAME).collect::<Result<_, _>>().unwrap();
        let text: Vec<_> = attrs
            .iter()
            .map(|a| format!("{}={}", a.key(), a.value_text()))
            .collect();
        assert_eq!(text, ["C=US", "CN=abc", "2.5.4.97=x"]);
    }

    #[test]
    fn every_truncation_ends_in_one_error() {
        // 13 and 30 end an RDN: a shorter, well-formed name.
        for cut in (1..NAME.len()).filter(|c| ![13, 30].contains(c)) {
            let items: Vec<_> = name_attributes(&NAME[..cut]).collect();
            let errors = items.iter().filter(|i| i.is_err()).count();
            assert_eq!(errors, 1, "cut {cut}: {items:?}");
            assert!(items.last().unwrap().is_err(), "cut {cut}");
        }
        assert_eq!(name_attributes(&NAME[..13]).count(), 1);
        assert_eq!(name_attributes(&NAME[..30]).count(), 2);
        assert_eq!(name_attributes(&[]).count(), 0);
    }

    #[test]
    fn an_empty_rdn_set_is_malformed() {
        assert!(name_attributes(&[0x31, 0x00]).next().unwrap().is_err());
    }
}

//! `--showcerts`: the peer's chain as `openssl s_client -showcerts` prints it — per
//! certificate its subject, issuer and validity, then the PEM.
//!
//! ```text
//!  0 s:CN = localhost
//!    i:CN = Overture Test Intermediate CA
//!    v:NotBefore: Dec  3 12:00:00 2026 GMT; NotAfter: Dec  3 12:00:00 2027 GMT
//! -----BEGIN CERTIFICATE-----
//! ```
//!
//! Names are rendered in OpenSSL's one-line form (`KEY = value`, in the certificate's RDN
//! order). The certificate comes from the peer: it is parsed by x509-verify's strict parser
//! and its Names are walked by x509-verify's `name_attributes`, so a malformed one prints as such.

use overture::types::CertificateDer;
use overture::x509::Certificate;

/// What `--showcerts` shows of one certificate.
pub(crate) struct Shown {
    pub(crate) subject: String,
    pub(crate) issuer: String,
    pub(crate) not_before: String,
    pub(crate) not_after: String,
    pub(crate) pem: String,
}

pub(crate) fn show(der: &CertificateDer<'_>) -> Shown {
    let pem = pem(der.as_ref());
    match Certificate::from_der(der.as_ref()) {
        Ok(c) => {
            let (nb, na) = c.validity();
            Shown {
                subject: name_text(c.subject()),
                issuer: name_text(c.issuer()),
                not_before: openssl_time(nb),
                not_after: openssl_time(na),
                pem,
            }
        }
        Err(e) => {
            let bad = format!("<unparsable certificate: {e}>");
            Shown {
                subject: bad.clone(),
                issuer: bad,
                not_before: "-".into(),
                not_after: "-".into(),
                pem,
            }
        }
    }
}

/// The chain in `s_client -showcerts` form.
pub(crate) fn chain_text(chain: &[CertificateDer<'_>]) -> String {
    let mut out = String::from("---\nCertificate chain\n");
    for (i, der) in chain.iter().enumerate() {
        let s = show(der);
        out.push_str(&format!(
            "{i:>2} s:{}\n   i:{}\n   v:NotBefore: {}; NotAfter: {}\n{}",
            s.subject, s.issuer, s.not_before, s.not_after, s.pem
        ));
    }
    out.push_str("---");
    out
}

/// The chain as JSON objects (`--showcerts --json`).
pub(crate) fn chain_json(chain: &[CertificateDer<'_>]) -> serde_json::Value {
    chain
        .iter()
        .map(|der| {
            let s = show(der);
            serde_json::json!({
                "subject": s.subject,
                "issuer": s.issuer,
                "not_before": s.not_before,
                "not_after": s.not_after,
                "pem": s.pem,
            })
        })
        .collect()
}

/// A Name's contents (RDNSequence) as `KEY = value, KEY = value`, OpenSSL's one-line form.
pub(crate) fn name_text(name: &[u8]) -> String {
    let mut parts = Vec::new();
    for attr in overture::x509::name_attributes(name) {
        let Ok(attr) = attr else {
            return "<malformed name>".into();
        };
        parts.push(format!("{} = {}", attr.key(), escaped(&attr.value_text())));
    }
    parts.join(", ")
}

/// Control characters escaped as Rust does; quotes left as they are.
fn escaped(text: &str) -> String {
    text.chars()
        .flat_map(char::escape_default)
        .collect::<String>()
        .replace("\\'", "'")
        .replace("\\\"", "\"")
}

/// Seconds since the epoch as OpenSSL prints them: `Dec  3 12:00:00 2026 GMT`.
pub(crate) fn openssl_time(secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, for days >= 0).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let name = usize::try_from(month - 1)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("???");
    format!(
        "{name} {day:>2} {:02}:{:02}:{:02} {year} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `-----BEGIN CERTIFICATE-----`, base64 in 64-character lines, `-----END CERTIFICATE-----`.
pub(crate) fn pem(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| {
        char::from(
            B64.get(usize::try_from(v & 63).unwrap_or(0))
                .copied()
                .unwrap_or(b'='),
        )
    };
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|i| chunk.get(i).map_or(0, |&x| u32::from(x)));
        let n = (a << 16) | (b << 8) | c;
        b64.push(sym(n >> 18));
        b64.push(sym(n >> 12));
        b64.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        b64.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_openssl_prints_them() {
        assert_eq!(openssl_time(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(openssl_time(951_782_400), "Feb 29 00:00:00 2000 GMT");
        assert_eq!(openssl_time(1_796_300_000), "Dec  3 12:13:20 2026 GMT");
        assert_eq!(openssl_time(253_402_300_799), "Dec 31 23:59:59 9999 GMT");
    }

    #[test]
    fn pem_is_standard_base64() {
        assert_eq!(
            pem(b"foobar!"),
            "-----BEGIN CERTIFICATE-----\nZm9vYmFyIQ==\n-----END CERTIFICATE-----\n"
        );
        let long = pem(&[0u8; 49]);
        let lines: Vec<&str> = long.lines().collect();
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2], "AA==");
    }

    #[test]
    fn names_in_certificate_order_and_malformed_ones_say_so() {
        // C=US, O=Example, CN=a.example (DER contents of the RDNSequence).
        let name = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S', //
            0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x07, b'E', b'x', b'a',
            b'm', b'p', b'l', b'e', //
            0x31, 0x12, 0x30, 0x10, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x09, b'a', b'.', b'e',
            b'x', b'a', b'm', b'p', b'l', b'e',
        ];
        assert_eq!(name_text(&name), "C = US, O = Example, CN = a.example");
        for cut in 1..name.len() {
            if cut != 13 && cut != 31 {
                assert_eq!(name_text(&name[..cut]), "<malformed name>", "cut {cut}");
            }
        }
        assert_eq!(
            overture::x509::oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }
}

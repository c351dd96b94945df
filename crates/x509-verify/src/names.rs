//! Name syntax and matching: DNS names with RFC 6125 wildcards, IP addresses, and RFC 5280
//! §4.2.1.10 name constraints (DNS, IP, email, URI, directoryName; permitted and excluded).

use crate::Error;
use crate::asn1::{self, Der};
use crate::cert::{Certificate, GeneralName, general_name};

/// Name-constraint comparisons allowed in one verification. Real constraint sets have a few
/// dozen subtrees and leaves a few dozen names (~10^3 comparisons); 2^16 leaves room for big
/// private PKIs while a hostile 2048 × 4096 cross product (x509-limbo nc-dos) stops after
/// ~1 ms of work instead of ~100 ms.
pub(crate) const MAX_NAME_CONSTRAINT_CHECKS: usize = 1 << 16;

fn valid_label(label: &[u8]) -> bool {
    valid_label_with(label, false)
}

/// An LDH label, with `_` too if `underscore` (names outside the web PKI: SRV-style
/// `_service` labels, Windows host names).
fn valid_label_with(label: &[u8], underscore: bool) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || (underscore && *b == b'_'))
        && label.first() != Some(&b'-')
        && label.last() != Some(&b'-')
}

/// A DNS name as a certificate may present it: LDH labels, optionally `*.` followed by at
/// least two labels; no empty labels, no trailing dot, last label not all-numeric (which
/// would make it an IP address written as a DNS name). `underscore`: `_` allowed in labels.
pub(crate) fn valid_presented_dns(name: &[u8], underscore: bool) -> bool {
    let rest = name.strip_prefix(b"*.").unwrap_or(name);
    let wildcard = rest.len() != name.len();
    if rest.is_empty() || rest.len() > 253 {
        return false;
    }
    let mut labels = 0usize;
    let mut last: &[u8] = &[];
    for label in rest.split(|b| *b == b'.') {
        if !valid_label_with(label, underscore) {
            return false;
        }
        labels += 1;
        last = label;
    }
    // `*.tld` is refused; an all-numeric last label would be an IPv4 address.
    let wildcard_on_one_label = wildcard && labels < 2;
    let numeric_last = last.iter().all(u8::is_ascii_digit);
    !wildcard_on_one_label && !numeric_last
}

/// Whether a presented wildcard `*.rest` spans a public suffix: `rest` is itself a suffix of
/// the Public Suffix List (A-labels) — of its ICANN section (`*.co.uk`: registrants of
/// `co.uk` are unrelated, no one may hold such a wildcard), or, if `private` is set, of its
/// private section too (`*.s3.amazonaws.com`, `*.github.io`: there the suffix's owner runs
/// the wildcard itself, so this is the CA/B Forum 3.2.2.6 reading, not a security rule).
/// Unknown top-level domains (the list's implicit `*` rule) are not counted: `*.tld` has
/// fewer than two labels after the wildcard and is refused by [`valid_presented_dns`].
pub(crate) fn wildcard_over_public_suffix(name: &[u8], private: bool) -> bool {
    use psl::Psl;
    let Some(rest) = name.strip_prefix(b"*.") else {
        return false;
    };
    // The list is lower case; a presented name is at most 253 octets (checked before).
    let lower = rest.to_ascii_lowercase();
    psl::List.suffix(&lower).is_some_and(|s| {
        s.as_bytes().len() == lower.len()
            && match s.typ() {
                Some(psl::Type::Icann) => true,
                Some(psl::Type::Private) => private,
                None => false,
            }
    })
}

/// A DNS name constraint: empty (matches everything) or LDH labels (no wildcard, no leading
/// or trailing period).
fn valid_dns_constraint(name: &[u8]) -> bool {
    name.is_empty() || (name.len() <= 253 && name.split(|b| *b == b'.').all(valid_label))
}

/// Does presented `pattern` (maybe `*.rest`) match the reference DNS name?
pub(crate) fn dns_matches(pattern: &[u8], reference: &[u8]) -> bool {
    let reference = reference.strip_suffix(b".").unwrap_or(reference);
    match pattern.strip_prefix(b"*.") {
        Some(rest) => match reference.iter().position(|b| *b == b'.') {
            Some(dot) => {
                dot > 0
                    && reference
                        .get(dot + 1..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(rest))
            }
            None => false,
        },
        // Byte-equal (the usual case, both lower case) is one memcmp; else fold case.
        None => pattern == reference || pattern.eq_ignore_ascii_case(reference),
    }
}

/// `name` is `base` or a subdomain of it (case-insensitive, label boundaries).
fn dns_within(name: &[u8], base: &[u8]) -> bool {
    if base.is_empty() {
        return true;
    }
    if name.len() == base.len() {
        return name.eq_ignore_ascii_case(base);
    }
    name.len() > base.len()
        && name
            .get(name.len() - base.len()..)
            .is_some_and(|t| t.eq_ignore_ascii_case(base))
        && name.get(name.len() - base.len() - 1) == Some(&b'.')
}

/// The A-label form (RFC 3492 punycode, `xn--` prefix) of a domain name written with
/// U-labels; ASCII labels are only lower-cased. No IDNA mapping or normalisation beyond
/// lower case: enough to recognise a commonName that is the U-label spelling of a dNSName.
/// `None` if a label would overflow.
pub(crate) fn to_a_labels(name: &str) -> Option<String> {
    let mut out = Vec::new();
    for label in name.split('.') {
        let lower = label.to_lowercase();
        if lower.is_ascii() {
            out.push(lower);
        } else {
            out.push(format!("xn--{}", punycode(&lower)?));
        }
    }
    Some(out.join("."))
}

/// RFC 3492 §6.3 encoding of one label.
fn punycode(label: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    // 0..=25 are a..=z, 26..=35 are 0..=9
    let digit = |d: u32| match d {
        0..=25 => char::from_u32(u32::from(b'a') + d),
        26..=35 => char::from_u32(u32::from(b'0') + d - 26),
        _ => None,
    };
    let input: Vec<u32> = label.chars().map(u32::from).collect();
    let mut out: String = label.chars().filter(char::is_ascii).collect();
    let basic = u32::try_from(out.len()).ok()?;
    let total = u32::try_from(input.len()).ok()?;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias, mut h) = (128u32, 0u32, 72u32, basic);
    while h < total {
        let m = input.iter().copied().filter(|c| *c >= n).min()?;
        delta = delta.checked_add(m.checked_sub(n)?.checked_mul(h.checked_add(1)?)?)?;
        n = m;
        for &c in &input {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t))?);
                    q = (q - t) / (BASE - t);
                    k = k.checked_add(BASE)?;
                }
                out.push(digit(q)?);
                bias = adapt(delta, h + 1, h == basic);
                delta = 0;
                h += 1;
            }
        }
        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }
    Some(out)
}

fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / 700 } else { delta / 2 };
    delta += delta / points.max(1);
    let mut k = 0;
    while delta > ((36 - 1) * 26) / 2 {
        delta /= 36 - 1;
        k += 36;
    }
    k + (36 * delta) / (delta + 38)
}

/// Text of an IP address: dotted decimal, or RFC 5952 (lower case, longest run of two or
/// more zero groups compressed, the first such run on a tie).
pub(crate) fn ip_text(b: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(b) {
        // std formats IPv6 per RFC 5952.
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    format!("<{} byte address>", b.len())
}

/// One subtree base of a NameConstraints extension.
#[derive(Clone, Copy)]
struct Subtree<'a>(GeneralName<'a>);

fn subtrees(contents: &[u8], lenient: bool) -> Result<Vec<Subtree<'_>>, Error> {
    let mut out = Vec::new();
    let mut d = Der::new(contents, "GeneralSubtrees")?;
    if d.is_empty() {
        return Err(Error::invalid("empty GeneralSubtrees in nameConstraints"));
    }
    while !d.is_empty() {
        let st = d.expect(asn1::SEQUENCE, "GeneralSubtree")?;
        let mut s = Der::new(st, "GeneralSubtree")?;
        let base = general_name(s.next("GeneralSubtree base")?)?;
        // minimum MUST be zero (so absent, DER DEFAULT) and maximum MUST be absent.
        s.finish("GeneralSubtree minimum/maximum are not allowed")?;
        let ok = match base {
            GeneralName::Dns(n) => match n.strip_prefix(b".") {
                Some(rest) if lenient => !rest.is_empty() && valid_dns_constraint(rest),
                _ => valid_dns_constraint(n),
            },
            GeneralName::Ip(a) => valid_ip_constraint(a),
            GeneralName::Email(e) => valid_email_constraint(e),
            GeneralName::Uri(u) => {
                let host = u.strip_prefix(b".").unwrap_or(u);
                !host.is_empty() && valid_dns_constraint(host)
            }
            _ => true,
        };
        if !ok {
            return Err(Error::invalid("malformed name constraint"));
        }
        out.push(Subtree(base));
    }
    Ok(out)
}

fn valid_ip_constraint(a: &[u8]) -> bool {
    let half = a.len() / 2;
    if a.len() != 8 && a.len() != 32 {
        return false;
    }
    let (addr, mask) = a.split_at(half);
    // The mask must be a CIDR prefix: ones then zeros.
    let mut seen_zero = false;
    for byte in mask {
        for bit in (0..8).rev() {
            let one = byte & (1 << bit) != 0;
            if one && seen_zero {
                return false;
            }
            seen_zero |= !one;
        }
    }
    // and the address may not have bits outside the prefix.
    addr.iter().zip(mask).all(|(a, m)| a & !m == 0)
}

fn valid_email_constraint(e: &[u8]) -> bool {
    match split_mailbox(e) {
        Some((local, domain)) => {
            !local.is_empty() && valid_dns_constraint(domain) && !domain.is_empty()
        }
        None => {
            if e.contains(&b'@') {
                return false;
            }
            let host = e.strip_prefix(b".").unwrap_or(e);
            !host.is_empty() && valid_dns_constraint(host)
        }
    }
}

/// `local@domain` with exactly one `@`.
fn split_mailbox(e: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = e.iter().position(|b| *b == b'@')?;
    let (local, rest) = e.split_at(at);
    let domain = rest.get(1..)?;
    if domain.contains(&b'@') {
        return None;
    }
    Some((local, domain))
}

fn uri_host(uri: &[u8]) -> Option<&[u8]> {
    let pos = uri.windows(3).position(|w| w == b"://")?;
    let rest = uri.get(pos + 3..)?;
    let end = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..end)?;
    let host_port = match authority.iter().rposition(|b| *b == b'@') {
        Some(at) => authority.get(at + 1..)?,
        None => authority,
    };
    if host_port.first() == Some(&b'[') {
        return None; // IP-literal hosts cannot satisfy DNS-style URI constraints
    }
    let host = match host_port.iter().position(|b| *b == b':') {
        Some(c) => host_port.get(..c)?,
        None => host_port,
    };
    (!host.is_empty()).then_some(host)
}

/// Result of comparing one name with one subtree of the same kind.
fn subtree_matches(
    name: &GeneralName<'_>,
    subtree: &GeneralName<'_>,
    excluded: bool,
) -> Result<bool, Error> {
    Ok(match (name, subtree) {
        // `.suffix` (lenient trust-anchor form): strict subdomains of `suffix`.
        (GeneralName::Dns(n), GeneralName::Dns(c)) if c.first() == Some(&b'.') => {
            let n = n.strip_prefix(b"*").unwrap_or(n);
            n.len() > c.len()
                && n.get(n.len() - c.len()..)
                    .is_some_and(|t| t.eq_ignore_ascii_case(c))
        }
        (GeneralName::Dns(n), GeneralName::Dns(c)) => match n.strip_prefix(b"*.") {
            // A wildcard stands for every one-label extension of its base: it is permitted
            // only if all of them are, and excluded if any of them could be.
            Some(base) => {
                if excluded {
                    dns_within(base, c) || (c.len() > base.len() && dns_within(c, base))
                } else {
                    dns_within(base, c)
                }
            }
            None => dns_within(n, c),
        },
        (GeneralName::Ip(n), GeneralName::Ip(c)) => {
            let half = c.len() / 2;
            let (addr, mask) = c.split_at(half);
            n.len() == half
                && n.iter()
                    .zip(addr.iter().zip(mask))
                    .all(|(n, (a, m))| n & m == a & m)
        }
        (GeneralName::Email(n), GeneralName::Email(c)) => {
            let (_, domain) = split_mailbox(n).ok_or_else(|| Error::NameConstraintViolation {
                name: String::from_utf8_lossy(n).into_owned(),
            })?;
            match split_mailbox(c) {
                Some((cl, cd)) => {
                    split_mailbox(n).is_some_and(|(nl, _)| nl == cl)
                        && domain.eq_ignore_ascii_case(cd)
                }
                None => match c.strip_prefix(b".") {
                    Some(base) => domain.len() > base.len() && dns_within(domain, base),
                    None => domain.eq_ignore_ascii_case(c),
                },
            }
        }
        (GeneralName::Uri(n), GeneralName::Uri(c)) => match uri_host(n) {
            Some(host) => match c.strip_prefix(b".") {
                Some(base) => host.len() > base.len() && dns_within(host, base),
                None => host.eq_ignore_ascii_case(c),
            },
            // A URI without a host cannot be shown to be inside a permitted subtree, and
            // could be inside an excluded one.
            None => excluded,
        },
        (GeneralName::Directory(n), GeneralName::Directory(c)) => dn_within(n, c)?,
        // Forms we cannot evaluate: never "permitted", always "possibly excluded".
        (a, b) if a.kind() == b.kind() => excluded,
        _ => false,
    })
}

/// `name` (Name contents) starts with the RDNs of `base`.
fn dn_within(name: &[u8], base: &[u8]) -> Result<bool, Error> {
    let mut n = Der::new(name, "Name")?;
    let mut b = Der::new(base, "Name")?;
    while !b.is_empty() {
        if n.is_empty() {
            return Ok(false);
        }
        if n.next("RDN")?.raw != b.next("RDN")?.raw {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Parses and validates a nameConstraints extension value: (permitted, excluded).
fn parse_constraints(
    value: &[u8],
    lenient: bool,
) -> Result<(Vec<Subtree<'_>>, Vec<Subtree<'_>>), Error> {
    let seq = asn1::single(value, asn1::SEQUENCE, "nameConstraints")?;
    let mut d = Der::new(seq, "nameConstraints")?;
    let permitted = match d.optional(0xa0, "permittedSubtrees")? {
        Some(p) => subtrees(p, lenient)?,
        None => Vec::new(),
    };
    let excluded = match d.optional(0xa1, "excludedSubtrees")? {
        Some(e) => subtrees(e, lenient)?,
        None => Vec::new(),
    };
    d.finish("nameConstraints")?;
    if permitted.is_empty() && excluded.is_empty() {
        return Err(Error::invalid(
            "nameConstraints with neither permitted nor excluded subtrees",
        ));
    }
    Ok((permitted, excluded))
}

/// Checks that a nameConstraints extension is well formed. `lenient` also accepts DNS
/// constraints of the form `.suffix` (subdomains only), which RFC 5280 does not define but
/// root programs use for trust-anchor constraints.
pub(crate) fn validate_constraints(value: &[u8], lenient: bool) -> Result<(), Error> {
    parse_constraints(value, lenient).map(|_| ())
}

/// Checks `cert`'s subject and subjectAltNames against a CA's name constraints.
pub(crate) fn check_constraints(
    value: &[u8],
    cert: &Certificate<'_>,
    work: &mut usize,
    lenient: bool,
) -> Result<(), Error> {
    let (permitted, excluded) = parse_constraints(value, lenient)?;
    let mut names: Vec<GeneralName<'_>> = Vec::new();
    if !cert.subject.is_empty() {
        names.push(GeneralName::Directory(cert.subject));
    }
    if let Some(san) = cert.san() {
        for n in san {
            names.push(n?);
        }
    }
    let cost = names
        .len()
        .saturating_mul(permitted.len().saturating_add(excluded.len()));
    *work = work.saturating_add(cost);
    if *work > MAX_NAME_CONSTRAINT_CHECKS {
        return Err(Error::BudgetExceeded {
            what: "name-constraint comparisons",
        });
    }
    for name in &names {
        let violation = || Error::NameConstraintViolation { name: name.text() };
        if let GeneralName::Ip(ip) = name
            && ip.len() != 4
            && ip.len() != 16
        {
            return Err(violation());
        }
        for ex in &excluded {
            if ex.0.kind() == name.kind() && subtree_matches(name, &ex.0, true)? {
                return Err(violation());
            }
        }
        let mut any_of_kind = false;
        let mut ok = false;
        for p in &permitted {
            if p.0.kind() == name.kind() && !ip_family_differs(name, &p.0) {
                any_of_kind = true;
                if subtree_matches(name, &p.0, false)? {
                    ok = true;
                    break;
                }
            }
        }
        if any_of_kind && !ok {
            return Err(violation());
        }
    }
    Ok(())
}

/// IPv4 names are constrained only by IPv4 subtrees, IPv6 by IPv6 ones.
fn ip_family_differs(name: &GeneralName<'_>, subtree: &GeneralName<'_>) -> bool {
    match (name, subtree) {
        (GeneralName::Ip(n), GeneralName::Ip(c)) => n.len() * 2 != c.len(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_dns_syntax() {
        assert!(valid_presented_dns(b"example.com", false));
        assert!(valid_presented_dns(b"*.example.com", false));
        assert!(!valid_presented_dns(b"*.com", false));
        assert!(!valid_presented_dns(b"*", false));
        assert!(!valid_presented_dns(b"foo.*.example.com", false));
        assert!(!valid_presented_dns(b"ba*.example.com", false));
        assert!(!valid_presented_dns(b".example.com", false));
        assert!(!valid_presented_dns(b"under_score.example.com", false));
        assert!(valid_presented_dns(b"under_score.example.com", true));
        assert!(!valid_presented_dns(b"*.under_score", true));
        assert!(!valid_presented_dns(b"8.8.8.8", false));
    }

    #[test]
    fn wildcards_over_public_suffixes() {
        for over in [
            &b"*.co.uk"[..],
            b"*.CO.UK",
            b"*.anything.ck",   // `*.ck` rule: every label under ck is a suffix
            b"*.xn--55qx5d.cn", // 公司.cn, A-label
        ] {
            assert!(wildcard_over_public_suffix(over, false), "{over:?}");
            assert!(wildcard_over_public_suffix(over, true), "{over:?}");
        }
        // The private section only when asked.
        for private in [&b"*.s3.amazonaws.com"[..], b"*.github.io"] {
            assert!(!wildcard_over_public_suffix(private, false), "{private:?}");
            assert!(wildcard_over_public_suffix(private, true), "{private:?}");
        }
        for fine in [
            &b"*.example.com"[..],
            b"*.example.co.uk",
            b"*.bucket.s3.amazonaws.com",
            b"*.www.ck", // the list's exception `!www.ck`
            b"*.example.unknowntld",
            b"co.uk",
            b"example.com",
        ] {
            assert!(!wildcard_over_public_suffix(fine, true), "{fine:?}");
        }
        // Hostile shapes (client-auth SANs reach it without the LDH check): no panic.
        let long = [b"*.".as_slice(), &[b'a'; 10_000], b".co.uk"].concat();
        for odd in [
            &b"*."[..],
            b"*..",
            b"*...",
            b"*.co..uk",
            b"*..co.uk",
            b"*.co.uk.",
            b"*.co.uk..",
            b"*.-.uk",
            b"*.*.co.uk",
            &long,
        ] {
            let _ = wildcard_over_public_suffix(odd, true);
            let _ = wildcard_over_public_suffix(odd, false);
        }
    }

    #[test]
    fn wildcards_match_one_label() {
        assert!(dns_matches(b"*.example.com", b"foo.example.com"));
        assert!(dns_matches(b"*.EXAMPLE.com", b"foo.example.COM"));
        assert!(!dns_matches(b"*.example.com", b"foo.bar.example.com"));
        assert!(!dns_matches(b"*.example.com", b"example.com"));
        assert!(!dns_matches(b"example.com", b"abc.example.com"));
    }

    #[test]
    fn leading_period_dns_constraints_only_from_root_programs() {
        // permittedSubtrees { dNSName ".tr" }
        let nc = [
            0x30, 0x09, 0xa0, 0x07, 0x30, 0x05, 0x82, 0x03, b'.', b't', b'r',
        ];
        assert!(validate_constraints(&nc, false).is_err());
        assert!(validate_constraints(&nc, true).is_ok());
        let c = GeneralName::Dns(b".tr");
        assert!(subtree_matches(&GeneralName::Dns(b"gov.tr"), &c, false).unwrap());
        assert!(subtree_matches(&GeneralName::Dns(b"*.gov.TR"), &c, false).unwrap());
        assert!(!subtree_matches(&GeneralName::Dns(b"tr"), &c, false).unwrap());
        assert!(!subtree_matches(&GeneralName::Dns(b"example.com"), &c, false).unwrap());
    }

    #[test]
    fn ip_constraints_must_be_cidr() {
        assert!(valid_ip_constraint(&[192, 0, 2, 0, 255, 255, 255, 0]));
        assert!(!valid_ip_constraint(&[192, 0, 2, 0, 255, 0, 255, 0]));
        assert!(!valid_ip_constraint(&[192, 0, 2, 1, 255, 255, 255, 0]));
        assert!(!valid_ip_constraint(&[192, 0, 2, 0]));
    }

    #[test]
    fn punycode_matches_rfc3492() {
        assert_eq!(
            to_a_labels("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            to_a_labels("test-測試.com").unwrap(),
            "xn--test--gs1lv54n.com"
        );
        assert_eq!(to_a_labels("Example.COM").unwrap(), "example.com");
        assert_eq!(
            to_a_labels("😜.example.com").unwrap(),
            "xn--628h.example.com"
        );
    }

    #[test]
    fn ipv6_text_is_rfc5952() {
        let mut a = [0u8; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        a[2] = 0x0d;
        a[3] = 0xb8;
        a[15] = 1;
        assert_eq!(ip_text(&a), "2001:db8::1");
    }
}

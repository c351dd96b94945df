//! The TLS 1.3 handshake messages, with the codec of `overture-types`.
//!
//! Every message reads from a bounded [`Reader`] and encodes to a `Vec<u8>`; lengths and their
//! bounds live in the field types ([`PayloadU8`], [`VecU16`], ...), so each struct reads like
//! the RFC's. The extension blocks of the server's messages stay as raw [`Extension`]s: which
//! extension is allowed, offered or duplicated is the state machine's decision (RFC 8446 §4.2),
//! made in one place ([`check_extensions`]).

use crate::error::{Error, PeerMisbehaved};
use overture_types::{
    CipherSuite, Codec, Compression, EcCurveType, EncodeError, ExtensionType, HandshakeType,
    InvalidMessage, KeyUpdateRequest, LazyU8, LazyU16, LazyU24, LengthWidth, NamedGroup, PayloadU8,
    PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, Reader, ServerNameType,
    SignatureScheme, VecU16, encode_bytes, encode_items, encode_prefixed, read_items,
};
use std::borrow::Cow;

/// `ServerHello.random` of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The last 8 bytes of ServerHello.random of a TLS 1.3 server negotiating TLS 1.2
/// (RFC 8446 §4.1.3).
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// The same for TLS 1.1 or below.
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// One extension as it is on the wire: type and opaque body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension type.
    pub typ: ExtensionType,
    /// The `extension_data`.
    pub data: PayloadU16<'a>,
}

impl Extension<'_> {
    /// An extension of `typ` whose body is the encoding of `body`; fails when that encoding
    /// fails or is longer than an extension can be.
    pub fn new(
        typ: ExtensionType,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    ) -> Result<Self, EncodeError> {
        let mut data = Vec::new();
        body(&mut data)?;
        let max = LengthWidth::U16.max_len();
        if data.len() > max {
            return Err(EncodeError {
                len: data.len(),
                max,
            });
        }
        Ok(Self {
            typ,
            data: PayloadU16(data.into()),
        })
    }

    /// The same extension owning its body (a copy when it was borrowed).
    pub fn into_owned(self) -> Extension<'static> {
        Extension {
            typ: self.typ,
            data: self.data.into_owned(),
        }
    }
}

impl<'a> Codec<'a> for Extension<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.typ.encode(out)?;
        self.data.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            typ: ExtensionType::read(r)?,
            data: PayloadU16::read(r)?,
        })
    }
}

/// An extension block as the server's messages carry it, read in place: each iteration reads
/// the extensions again from the message (no allocation).
pub type Extensions<'a> = LazyU16<'a, Extension<'a>>;

/// Which extensions a message may carry (RFC 8446 §4.2 table; RFC 8449 for record_size_limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionContext {
    /// ServerHello.
    ServerHello,
    /// HelloRetryRequest.
    HelloRetryRequest,
    /// EncryptedExtensions.
    EncryptedExtensions,
    /// CertificateRequest (unknown extensions are ignored there).
    CertificateRequest,
    /// A CertificateEntry of the server's Certificate.
    Certificate,
    /// NewSessionTicket (unknown extensions are ignored there).
    NewSessionTicket,
    /// A TLS 1.2 ServerHello (RFC 5246 §7.4.1.4, RFC 5746, RFC 7627, RFC 8422, RFC 5077).
    Tls12ServerHello,
}

impl ExtensionContext {
    fn allows(self, typ: ExtensionType) -> bool {
        use ExtensionType as E;
        match self {
            Self::ServerHello => {
                matches!(typ, E::KeyShare | E::SupportedVersions | E::PreSharedKey)
            }
            Self::HelloRetryRequest => matches!(
                typ,
                E::KeyShare | E::SupportedVersions | E::Cookie | E::EncryptedClientHello
            ),
            Self::EncryptedExtensions => matches!(
                typ,
                E::ServerName
                    | E::MaxFragmentLength
                    | E::SupportedGroups
                    | E::UseSrtp
                    | E::Heartbeat
                    | E::ApplicationLayerProtocolNegotiation
                    | E::ClientCertificateType
                    | E::ServerCertificateType
                    | E::EarlyData
                    | E::RecordSizeLimit
                    | E::EncryptedClientHello
            ),
            Self::CertificateRequest => matches!(
                typ,
                E::StatusRequest
                    | E::SignatureAlgorithms
                    | E::SignedCertificateTimestamp
                    | E::CertificateAuthorities
                    | E::OidFilters
                    | E::SignatureAlgorithmsCert
            ),
            Self::Certificate => matches!(typ, E::StatusRequest | E::SignedCertificateTimestamp),
            Self::NewSessionTicket => matches!(typ, E::EarlyData),
            // supported_groups is not a TLS 1.2 ServerHello extension (RFC 8422 §5.2 has the
            // client send it), but servers send it (BoringSSL tolerates it, BoGo
            // SupportedCurves-ServerHello-TLS12): offered by us, it is accepted and ignored.
            Self::Tls12ServerHello => matches!(
                typ,
                E::StatusRequest
                    | E::SignedCertificateTimestamp
                    | E::SupportedGroups
                    | E::ServerName
                    | E::EcPointFormats
                    | E::ExtendedMasterSecret
                    | E::SessionTicket
                    | E::RenegotiationInfo
                    | E::ApplicationLayerProtocolNegotiation
                    | E::RecordSizeLimit
            ),
        }
    }

    /// Whether an extension this message does not know is ignored rather than rejected
    /// (RFC 8446 §4.3.2 and §4.6.1).
    fn ignores_unknown(self) -> bool {
        matches!(self, Self::CertificateRequest | Self::NewSessionTicket)
    }
}

/// The extension types seen in one block, for the duplicate check: one bit per type, so the
/// check is linear in the block's length (a quadratic scan let ~16,000 ignored extensions in
/// one NewSessionTicket cost ~10^8 comparisons). Types below 128 (nearly all the registered
/// ones) live in a `u128`; any other type switches on a bit set over all 2^16 types, made
/// once per block that has one.
#[derive(Debug, Default)]
pub struct ExtensionSet {
    low: u128,
    high: Option<Vec<u64>>,
    probes: usize,
}

impl ExtensionSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `typ`; `false` if it was already there.
    pub fn insert(&mut self, typ: ExtensionType) -> bool {
        self.probes = self.probes.saturating_add(1);
        let v = typ.get();
        if let Some(bit) = 1u128.checked_shl(u32::from(v)).filter(|_| v < 128) {
            let fresh = self.low & bit == 0;
            self.low |= bit;
            return fresh;
        }
        let words = self.high.get_or_insert_with(|| vec![0u64; 1024]);
        let (word, bit) = (usize::from(v / 64), 1u64 << (v % 64));
        match words.get_mut(word) {
            Some(w) => {
                let fresh = *w & bit == 0;
                *w |= bit;
                fresh
            }
            None => false,
        }
    }

    /// How many times [`ExtensionSet::insert`] ran: the work of a check, which tests compare
    /// against the block's length.
    pub fn probes(&self) -> usize {
        self.probes
    }
}

/// The most extension types one message may carry (EncryptedExtensions: 11).
const MAX_FOUND: usize = 11;

/// The bodies of the extensions of a checked block that its message may carry, noted in the
/// checking pass: looked up without reading the block again (at most one per type: the check
/// refused duplicates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found<'l> {
    items: [Option<(ExtensionType, &'l [u8])>; MAX_FOUND],
}

impl<'l> Found<'l> {
    /// The body of the extension of `typ`, if the block had it.
    pub fn get(&self, typ: ExtensionType) -> Option<&'l [u8]> {
        self.items
            .iter()
            .map_while(|i| *i)
            .find(|(t, _)| *t == typ)
            .map(|(_, body)| body)
    }

    fn note(&mut self, typ: ExtensionType, body: &'l [u8]) {
        if let Some(slot) = self.items.iter_mut().find(|i| i.is_none()) {
            *slot = Some((typ, body));
        }
    }
}

/// Checks a server extension block (RFC 8446 §4.2): no duplicates (`illegal_parameter`), nothing
/// we did not offer (`unsupported_extension`), nothing the message may not carry
/// (`illegal_parameter`). In CertificateRequest and NewSessionTicket, unknown extensions are
/// ignored instead, as the RFC says. One pass, linear in the block's length: one set insertion
/// per extension, and `offered` is our own ClientHello's short list. Returns the bodies of the
/// extensions the message may carry ([`Found`]), borrowed from the message for a read block.
pub fn check_extensions<'l, 'a: 'l, const MIN: usize, const MAX: usize>(
    exts: &'l LazyU16<'a, Extension<'a>, MIN, MAX>,
    offered: &[ExtensionType],
    context: ExtensionContext,
) -> Result<Found<'l>, Error> {
    check_extensions_in(&mut ExtensionSet::new(), exts, offered, context)
}

/// [`check_extensions`] with the caller's [`ExtensionSet`] (to read its work afterwards).
pub fn check_extensions_in<'l, 'a: 'l, const MIN: usize, const MAX: usize>(
    seen: &mut ExtensionSet,
    exts: &'l LazyU16<'a, Extension<'a>, MIN, MAX>,
    offered: &[ExtensionType],
    context: ExtensionContext,
) -> Result<Found<'l>, Error> {
    let mut found = Found::default();
    // The block's structure first (RFC 8446 §4.2: no type twice), then each extension: a
    // duplicated unknown extension is reported as the duplicate it is, so the first refused
    // extension is reported only once the whole block has no duplicate.
    let mut refused: Option<Error> = None;
    let mut visit = |typ: ExtensionType, body: &'l [u8]| -> Result<(), Error> {
        if !seen.insert(typ) {
            return Err(PeerMisbehaved::DuplicateExtension(typ.get()).into());
        }
        if context.allows(typ) {
            found.note(typ, body);
        }
        if refused.is_none() && !context.ignores_unknown() {
            // RFC 8446 §4.2: the one extension a server may send unasked is HRR's cookie.
            let unasked_ok =
                context == ExtensionContext::HelloRetryRequest && typ == ExtensionType::Cookie;
            if !offered.contains(&typ) && !unasked_ok {
                refused = Some(PeerMisbehaved::UnsolicitedExtension(typ.get()).into());
            } else if !context.allows(typ) {
                refused = Some(PeerMisbehaved::ExtensionNotAllowedHere(typ.get()).into());
            }
        }
        Ok(())
    };
    match exts.encoded() {
        // A read block: walked in place (its structure was checked when it was read).
        Some(bytes) => {
            let mut r = Reader::new(bytes);
            while r.any_left() {
                let typ = ExtensionType::read(&mut r)?;
                let body = r
                    .prefixed(LengthWidth::U16, 0, 0xffff, "PayloadU16")?
                    .rest();
                visit(typ, body)?;
            }
        }
        None => {
            for e in exts.owned() {
                visit(e.typ, e.data.as_slice())?;
            }
        }
    }
    match refused {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// A CertificateStatus body (RFC 6066 §8; in TLS 1.3 the status_request extension of a
/// CertificateEntry, RFC 8446 §4.4.2.1): `status_type` ocsp (1) and a non-empty OCSP response
/// (`opaque OCSPResponse<1..2^24-1>`), nothing after it. The response is returned as it came:
/// it is not parsed or validated.
pub fn read_certificate_status(body: &[u8]) -> Result<&[u8], InvalidMessage> {
    let mut r = Reader::new(body);
    if u8::read(&mut r)? != 1 {
        return Err(InvalidMessage::IllegalValue(
            "CertificateStatus status_type",
        ));
    }
    let response = r
        .prefixed(LengthWidth::U24, 1, 0xff_ffff, "PayloadU24")?
        .rest();
    r.expect_empty("CertificateStatus")?;
    Ok(response)
}

/// A SignedCertificateTimestampList (RFC 6962 §3.3): `SerializedSCT
/// sct_list<1..2^16-1>` of `opaque SerializedSCT<1..2^16-1>`, nothing after it. Returns the
/// list's bytes as they came (the SCTs' contents and signatures are not checked).
pub fn read_sct_list(body: &[u8]) -> Result<Vec<u8>, InvalidMessage> {
    let _checked = LazyU16::<PayloadU16<1>, 1>::read_bytes(body)?;
    Ok(body.to_vec())
}

/// The body of the extension of `typ`, if present: borrowed from the message for a list that
/// was read.
pub fn find_extension<'a, const MIN: usize, const MAX: usize>(
    exts: &LazyU16<'a, Extension<'a>, MIN, MAX>,
    typ: ExtensionType,
) -> Option<Cow<'a, [u8]>> {
    exts.iter().find(|e| e.typ == typ).map(|e| e.data.0)
}

/// Reads an extension body that must be exactly one `T`.
pub fn read_extension<'a, T: Codec<'a>>(body: &'a [u8]) -> Result<T, InvalidMessage> {
    T::read_bytes(body)
}

/// A `KeyShareEntry` (RFC 8446 §4.2.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShareEntry<'a> {
    /// The group.
    pub group: NamedGroup,
    /// The public share: borrowed from the message when read, from the key when sent.
    pub key_exchange: PayloadU16<'a, 1>,
}

impl KeyShareEntry<'_> {
    /// The same entry owning its share (a copy when it was borrowed).
    pub fn into_owned(self) -> KeyShareEntry<'static> {
        KeyShareEntry {
            group: self.group,
            key_exchange: self.key_exchange.into_owned(),
        }
    }
}

impl<'a> Codec<'a> for KeyShareEntry<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.group.encode(out)?;
        self.key_exchange.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            group: NamedGroup::read(r)?,
            key_exchange: PayloadU16::read(r)?,
        })
    }
}

/// A slice, borrowed or owned: what `Cow<'a, [T]>` is, without its `ToOwned` projection,
/// which would make the lifetimes inside `T` invariant (a `ClientExtension<'a>` list could
/// then not take values of a longer lifetime). Reads as a slice.
#[derive(Clone)]
pub enum Items<'a, T> {
    /// Borrowed (what the client lends to a ClientHello it builds).
    Borrowed(&'a [T]),
    /// Owned (what a decoder read).
    Owned(Vec<T>),
}

impl<T: Clone> Items<'_, T> {
    /// The items as a vector to change (copied first when borrowed).
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        match self {
            Self::Owned(v) => v,
            Self::Borrowed(b) => {
                let b: &[T] = b;
                *self = Self::Owned(b.to_vec());
                self.to_mut()
            }
        }
    }

    /// The items as a vector (a copy when borrowed).
    pub fn into_owned(self) -> Vec<T> {
        match self {
            Self::Borrowed(b) => b.to_vec(),
            Self::Owned(v) => v,
        }
    }
}

impl<T> core::ops::Deref for Items<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Borrowed(b) => b,
            Self::Owned(v) => v,
        }
    }
}

impl<'s, T> IntoIterator for &'s Items<'_, T> {
    type Item = &'s T;
    type IntoIter = core::slice::Iter<'s, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: PartialEq> PartialEq for Items<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for Items<'_, T> {}

impl<T: core::fmt::Debug> core::fmt::Debug for Items<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

macro_rules! borrowed_list {
    ($(#[$m:meta])* $name:ident, $width:expr, $max:expr, $what:literal) => {
        $(#[$m])*
        ///
        /// `MIN` and `MAX` bound the encoded length in bytes, as in the RFCs' presentation
        /// language; reading outside them is an error. A read owns its items
        /// ([`Items::Owned`]); an encoder lends the slice it has ([`Items::Borrowed`]: the
        /// configuration's suites, groups and schemes go into a ClientHello uncopied).
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name<'a, T: Clone, const MIN: usize = 0, const MAX: usize = { $max }>(
            pub Items<'a, T>,
        );

        impl<'a, T: Clone, const MIN: usize, const MAX: usize> $name<'a, T, MIN, MAX> {
            /// The items.
            pub fn as_slice(&self) -> &[T] {
                &self.0
            }

            /// The same list owning its items (a copy when they were borrowed).
            pub fn into_owned(self) -> $name<'static, T, MIN, MAX>
            where
                T: 'static,
            {
                $name(Items::Owned(self.0.into_owned()))
            }

            /// The same list owning its items, each made owned by `f`.
            pub fn into_owned_with<U: Clone>(
                self,
                f: impl FnMut(T) -> U,
            ) -> $name<'static, U, MIN, MAX> {
                $name(Items::Owned(self.0.into_owned().into_iter().map(f).collect()))
            }
        }

        impl<T: Clone, const MIN: usize, const MAX: usize> Default for $name<'_, T, MIN, MAX> {
            fn default() -> Self {
                Self(Items::Borrowed(&[]))
            }
        }

        impl<T: Clone, const MIN: usize, const MAX: usize> From<Vec<T>>
            for $name<'_, T, MIN, MAX>
        {
            fn from(items: Vec<T>) -> Self {
                Self(Items::Owned(items))
            }
        }

        impl<'a, T: Clone, const MIN: usize, const MAX: usize> From<&'a [T]>
            for $name<'a, T, MIN, MAX>
        {
            fn from(items: &'a [T]) -> Self {
                Self(Items::Borrowed(items))
            }
        }

        impl<T: Clone + core::fmt::Debug, const MIN: usize, const MAX: usize> core::fmt::Debug
            for $name<'_, T, MIN, MAX>
        {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.0.iter()).finish()
            }
        }

        impl<'a, T: Codec<'a> + Clone, const MIN: usize, const MAX: usize> Codec<'a>
            for $name<'a, T, MIN, MAX>
        {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_items(out, $width, self.0.iter())
            }
            fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
                read_items(r, $width, MIN, MAX, $what).map(|items| Self(Items::Owned(items)))
            }
        }
    };
}

borrowed_list!(
    /// A list of `T` behind a one-byte length, borrowed or owned (the ClientHello's lists).
    ListU8, LengthWidth::U8, 0xff, "VecU8"
);
borrowed_list!(
    /// A list of `T` behind a two-byte length, borrowed or owned (the ClientHello's lists).
    ListU16, LengthWidth::U16, 0xffff, "VecU16"
);

/// The `application_layer_protocol_negotiation` body of a ClientHello (RFC 7301 §3.1):
/// `ProtocolName protocol_name_list<2..2^16-1>` of `opaque ProtocolName<1..2^8-1>`. Held as
/// the configuration holds it (a list of byte strings), so a ClientHello lends the
/// configuration's list; encoding checks each name's length (1..=255).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProtocolNames<'a>(pub Cow<'a, [Vec<u8>]>);

impl<'a> Codec<'a> for ProtocolNames<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_prefixed(out, LengthWidth::U16, |out| {
            for name in self.0.iter() {
                if name.is_empty() {
                    return Err(EncodeError { len: 0, max: 0xff });
                }
                encode_bytes(out, LengthWidth::U8, name)?;
            }
            Ok(())
        })
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        let list = VecU16::<PayloadU8<1>, 2>::read(r)?;
        Ok(Self(Cow::Owned(
            list.0.into_iter().map(|p| p.as_slice().to_vec()).collect(),
        )))
    }
}

/// A `PskIdentity` (RFC 8446 §4.2.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PskIdentity<'a> {
    /// The ticket or external identity.
    pub identity: PayloadU16<'a, 1>,
    /// The obfuscated ticket age.
    pub obfuscated_ticket_age: u32,
}

impl PskIdentity<'_> {
    /// The same identity owning its bytes.
    pub fn into_owned(self) -> PskIdentity<'static> {
        PskIdentity {
            identity: self.identity.into_owned(),
            obfuscated_ticket_age: self.obfuscated_ticket_age,
        }
    }
}

impl<'a> Codec<'a> for PskIdentity<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.identity.encode(out)?;
        self.obfuscated_ticket_age.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            identity: PayloadU16::read(r)?,
            obfuscated_ticket_age: r.u32("obfuscated_ticket_age")?,
        })
    }
}

/// `OfferedPsks` (RFC 8446 §4.2.11): encoded here; computing binders is resumption's job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedPsks<'a> {
    /// The identities.
    pub identities: ListU16<'a, PskIdentity<'a>, 7>,
    /// One binder per identity.
    pub binders: ListU16<'a, PayloadU8<'a, 32>, 33>,
}

impl OfferedPsks<'_> {
    /// The same offer owning its bytes.
    pub fn into_owned(self) -> OfferedPsks<'static> {
        OfferedPsks {
            identities: self.identities.into_owned_with(PskIdentity::into_owned),
            binders: self.binders.into_owned_with(|b| b.into_owned()),
        }
    }
}

impl<'a> Codec<'a> for OfferedPsks<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.identities.encode(out)?;
        self.binders.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            identities: ListU16::read(r)?,
            binders: ListU16::read(r)?,
        })
    }
}

/// A ClientHello extension, typed. Every field borrows or owns (`Cow`): a decoded
/// extension borrows from the message, the client's own lend the configuration's lists and
/// the key exchange's public keys, so building a ClientHello copies nothing into it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientExtension<'a> {
    /// `server_name` with one DNS host name.
    ServerName(Cow<'a, [u8]>),
    /// `supported_versions`.
    SupportedVersions(ListU8<'a, ProtocolVersion, 2, 254>),
    /// `supported_groups`.
    SupportedGroups(ListU16<'a, NamedGroup, 2>),
    /// `key_share` (client shares).
    KeyShare(ListU16<'a, KeyShareEntry<'a>>),
    /// `signature_algorithms`.
    SignatureAlgorithms(ListU16<'a, SignatureScheme, 2, 0xfffe>),
    /// `signature_algorithms_cert`.
    SignatureAlgorithmsCert(ListU16<'a, SignatureScheme, 2, 0xfffe>),
    /// `application_layer_protocol_negotiation`.
    Alpn(ProtocolNames<'a>),
    /// `psk_key_exchange_modes`.
    PskKeyExchangeModes(ListU8<'a, PskKeyExchangeMode, 1>),
    /// `cookie`, echoed from a HelloRetryRequest.
    Cookie(PayloadU16<'a, 1>),
    /// `pre_shared_key` (must be last).
    PreSharedKey(OfferedPsks<'a>),
    /// Any other extension, raw.
    Other(Extension<'a>),
}

impl<'a> ClientExtension<'a> {
    /// The same extension owning its bytes (a server keeps the ClientHello it read).
    pub fn into_owned(self) -> ClientExtension<'static> {
        match self {
            Self::ServerName(n) => ClientExtension::ServerName(Cow::Owned(n.into_owned())),
            Self::SupportedVersions(v) => ClientExtension::SupportedVersions(v.into_owned()),
            Self::SupportedGroups(v) => ClientExtension::SupportedGroups(v.into_owned()),
            Self::KeyShare(v) => {
                ClientExtension::KeyShare(v.into_owned_with(KeyShareEntry::into_owned))
            }
            Self::SignatureAlgorithms(v) => ClientExtension::SignatureAlgorithms(v.into_owned()),
            Self::SignatureAlgorithmsCert(v) => {
                ClientExtension::SignatureAlgorithmsCert(v.into_owned())
            }
            Self::Alpn(v) => ClientExtension::Alpn(ProtocolNames(Cow::Owned(v.0.into_owned()))),
            Self::PskKeyExchangeModes(v) => ClientExtension::PskKeyExchangeModes(v.into_owned()),
            Self::Cookie(c) => ClientExtension::Cookie(c.into_owned()),
            Self::PreSharedKey(p) => ClientExtension::PreSharedKey(p.into_owned()),
            Self::Other(e) => ClientExtension::Other(e.into_owned()),
        }
    }

    /// The extension type.
    pub fn typ(&self) -> ExtensionType {
        use ExtensionType as E;
        match self {
            Self::ServerName(_) => E::ServerName,
            Self::SupportedVersions(_) => E::SupportedVersions,
            Self::SupportedGroups(_) => E::SupportedGroups,
            Self::KeyShare(_) => E::KeyShare,
            Self::SignatureAlgorithms(_) => E::SignatureAlgorithms,
            Self::SignatureAlgorithmsCert(_) => E::SignatureAlgorithmsCert,
            Self::Alpn(_) => E::ApplicationLayerProtocolNegotiation,
            Self::PskKeyExchangeModes(_) => E::PskKeyExchangeModes,
            Self::Cookie(_) => E::Cookie,
            Self::PreSharedKey(_) => E::PreSharedKey,
            Self::Other(e) => e.typ,
        }
    }

    /// A raw extension over `data` (borrowed).
    pub fn raw(typ: ExtensionType, data: &'a [u8]) -> Self {
        Self::Other(Extension {
            typ,
            data: PayloadU16(Cow::Borrowed(data)),
        })
    }

    fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self {
            Self::ServerName(name) => encode_prefixed(out, LengthWidth::U16, |out| {
                ServerNameType::HostName.encode(out)?;
                encode_bytes(out, LengthWidth::U16, name)
            }),
            Self::SupportedVersions(v) => v.encode(out),
            Self::SupportedGroups(v) => v.encode(out),
            Self::KeyShare(v) => v.encode(out),
            Self::SignatureAlgorithms(v) | Self::SignatureAlgorithmsCert(v) => v.encode(out),
            Self::Alpn(v) => v.encode(out),
            Self::PskKeyExchangeModes(v) => v.encode(out),
            Self::Cookie(v) => v.encode(out),
            Self::PreSharedKey(v) => v.encode(out),
            Self::Other(e) => {
                out.extend_from_slice(e.data.as_slice());
                Ok(())
            }
        }
    }

    fn read_body(typ: ExtensionType, body: &'a [u8]) -> Result<Self, InvalidMessage> {
        use ExtensionType as E;
        Ok(match typ {
            E::ServerName => {
                let mut r = Reader::new(body);
                let mut list = r.prefixed(LengthWidth::U16, 1, 0xffff, "server_name_list")?;
                r.expect_empty("server_name")?;
                let kind = ServerNameType::read(&mut list)?;
                if kind != ServerNameType::HostName {
                    return Err(InvalidMessage::IllegalValue("server_name type"));
                }
                let name = list
                    .prefixed(LengthWidth::U16, 1, 0xffff, "PayloadU16")?
                    .rest();
                list.expect_empty("server_name_list")?;
                Self::ServerName(Cow::Borrowed(name))
            }
            E::SupportedVersions => Self::SupportedVersions(read_extension(body)?),
            E::SupportedGroups => Self::SupportedGroups(read_extension(body)?),
            E::KeyShare => Self::KeyShare(read_extension(body)?),
            E::SignatureAlgorithms => Self::SignatureAlgorithms(read_extension(body)?),
            E::SignatureAlgorithmsCert => Self::SignatureAlgorithmsCert(read_extension(body)?),
            E::ApplicationLayerProtocolNegotiation => Self::Alpn(read_extension(body)?),
            E::PskKeyExchangeModes => Self::PskKeyExchangeModes(read_extension(body)?),
            E::Cookie => Self::Cookie(read_extension(body)?),
            E::PreSharedKey => Self::PreSharedKey(read_extension(body)?),
            _ => Self::raw(typ, body),
        })
    }
}

impl<'a> Codec<'a> for ClientExtension<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.typ().encode(out)?;
        encode_prefixed(out, LengthWidth::U16, |out| self.encode_body(out))?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        let typ = ExtensionType::read(r)?;
        let body = r
            .prefixed(LengthWidth::U16, 0, 0xffff, "PayloadU16")?
            .rest();
        Self::read_body(typ, body)
    }
}

/// ClientHello (RFC 8446 §4.1.2). The client builds one over borrowed lists and encodes it
/// once (`HandshakeMessage::ClientHello(..).encode()`); a decoded one borrows from the
/// message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// `legacy_version` (0x0303).
    pub legacy_version: ProtocolVersion,
    /// 32 random bytes.
    pub random: [u8; 32],
    /// `legacy_session_id`.
    pub session_id: PayloadU8<'a, 0, 32>,
    /// Offered suites.
    pub cipher_suites: ListU16<'a, CipherSuite, 2, 0xfffe>,
    /// `legacy_compression_methods` (null only).
    pub compression_methods: ListU8<'a, Compression, 1>,
    /// The extensions, in order.
    pub extensions: ListU16<'a, ClientExtension<'a>, 8>,
}

impl ClientHello<'_> {
    /// The same ClientHello owning its bytes (a server keeps the one it read).
    pub fn into_owned(self) -> ClientHello<'static> {
        ClientHello {
            legacy_version: self.legacy_version,
            random: self.random,
            session_id: self.session_id.into_owned(),
            cipher_suites: self.cipher_suites.into_owned(),
            compression_methods: self.compression_methods.into_owned(),
            extensions: self.extensions.into_owned_with(ClientExtension::into_owned),
        }
    }

    /// The bytes of the fields that can make a ClientHello long (key shares, PSK identities,
    /// a cookie, raw extension bodies such as a TLS 1.2 ticket): what its encoding needs
    /// beyond a few hundred bytes.
    fn large_fields_len(&self) -> usize {
        self.extensions
            .0
            .iter()
            .map(|e| match e {
                ClientExtension::KeyShare(v) => {
                    v.0.iter()
                        .map(|k| 4 + k.key_exchange.as_slice().len())
                        .sum()
                }
                ClientExtension::PreSharedKey(p) => p
                    .identities
                    .0
                    .iter()
                    .map(|i| 6 + i.identity.as_slice().len())
                    .sum(),
                ClientExtension::Cookie(c) => c.as_slice().len(),
                ClientExtension::Other(o) => o.data.as_slice().len(),
                _ => 0,
            })
            .sum()
    }
}

impl<'a> Codec<'a> for ClientHello<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.legacy_version.encode(out)?;
        out.extend_from_slice(&self.random);
        self.session_id.encode(out)?;
        self.cipher_suites.encode(out)?;
        self.compression_methods.encode(out)?;
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            legacy_version: ProtocolVersion::read(r)?,
            random: r.take_array("ClientHello.random")?,
            session_id: PayloadU8::read(r)?,
            cipher_suites: ListU16::read(r)?,
            compression_methods: ListU8::read(r)?,
            extensions: ListU16::read(r)?,
        })
    }
}

/// ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4); they share one encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// `legacy_version`.
    pub legacy_version: ProtocolVersion,
    /// 32 bytes; [`HELLO_RETRY_REQUEST_RANDOM`] marks a HelloRetryRequest.
    pub random: [u8; 32],
    /// `legacy_session_id_echo`.
    pub session_id: PayloadU8<'a, 0, 32>,
    /// The chosen suite.
    pub cipher_suite: CipherSuite,
    /// `legacy_compression_method`.
    pub compression_method: Compression,
    /// The extensions (a TLS 1.2 ServerHello may omit the block: empty here).
    pub extensions: LazyU16<'a, Extension<'a>>,
}

impl ServerHello<'_> {
    /// Whether this is a HelloRetryRequest.
    pub fn is_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }
}

impl<'a> Codec<'a> for ServerHello<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.legacy_version.encode(out)?;
        out.extend_from_slice(&self.random);
        self.session_id.encode(out)?;
        self.cipher_suite.encode(out)?;
        self.compression_method.encode(out)?;
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        let legacy_version = ProtocolVersion::read(r)?;
        let random = r.take_array("ServerHello.random")?;
        let session_id = PayloadU8::read(r)?;
        let cipher_suite = CipherSuite::read(r)?;
        let compression_method = Compression::read(r)?;
        let extensions = if r.any_left() {
            LazyU16::read(r)?
        } else {
            LazyU16::default()
        };
        Ok(Self {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }
}

/// EncryptedExtensions (RFC 8446 §4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedExtensions<'a> {
    /// The extensions.
    pub extensions: LazyU16<'a, Extension<'a>>,
}

impl<'a> Codec<'a> for EncryptedExtensions<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            extensions: LazyU16::read(r)?,
        })
    }
}

/// CertificateRequest (RFC 8446 §4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest<'a> {
    /// `certificate_request_context` (empty during the handshake).
    pub context: PayloadU8<'a>,
    /// The extensions (signature_algorithms is required).
    pub extensions: LazyU16<'a, Extension<'a>, 2>,
}

impl<'a> Codec<'a> for CertificateRequest<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.context.encode(out)?;
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            context: PayloadU8::read(r)?,
            extensions: LazyU16::read(r)?,
        })
    }
}

/// A `CertificateEntry` (X.509 only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry<'a> {
    /// The DER certificate.
    pub cert_data: PayloadU24<'a, 1>,
    /// Per-certificate extensions.
    pub extensions: LazyU16<'a, Extension<'a>>,
}

impl<'a> Codec<'a> for CertificateEntry<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.cert_data.encode(out)?;
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            cert_data: PayloadU24::read(r)?,
            extensions: LazyU16::read(r)?,
        })
    }
}

/// Certificate (RFC 8446 §4.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate<'a> {
    /// `certificate_request_context`.
    pub context: PayloadU8<'a>,
    /// The chain, end entity first.
    pub entries: LazyU24<'a, CertificateEntry<'a>>,
}

impl<'a> Codec<'a> for Certificate<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.context.encode(out)?;
        self.entries.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            context: PayloadU8::read(r)?,
            entries: LazyU24::read(r)?,
        })
    }
}

/// CertificateVerify (RFC 8446 §4.4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateVerify<'a> {
    /// The scheme.
    pub scheme: SignatureScheme,
    /// The signature.
    pub signature: PayloadU16<'a>,
}

impl<'a> Codec<'a> for CertificateVerify<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.scheme.encode(out)?;
        self.signature.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            scheme: SignatureScheme::read(r)?,
            signature: PayloadU16::read(r)?,
        })
    }
}

/// NewSessionTicket (RFC 8446 §4.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicket<'a> {
    /// Lifetime in seconds.
    pub lifetime: u32,
    /// Added to the ticket age (mod 2^32).
    pub age_add: u32,
    /// The per-ticket nonce.
    pub nonce: PayloadU8<'a>,
    /// The opaque ticket.
    pub ticket: PayloadU16<'a, 1>,
    /// Extensions.
    pub extensions: LazyU16<'a, Extension<'a>>,
}

impl<'a> Codec<'a> for NewSessionTicket<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.lifetime.encode(out)?;
        self.age_add.encode(out)?;
        self.nonce.encode(out)?;
        self.ticket.encode(out)?;
        self.extensions.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            lifetime: r.u32("ticket_lifetime")?,
            age_add: r.u32("ticket_age_add")?,
            nonce: PayloadU8::read(r)?,
            ticket: PayloadU16::read(r)?,
            extensions: LazyU16::read(r)?,
        })
    }
}

/// The type and body of one whole handshake message; the body must span exactly the length
/// in the header.
fn split_header(bytes: &[u8]) -> Result<(HandshakeType, &[u8]), InvalidMessage> {
    let mut r = Reader::new(bytes);
    let typ = HandshakeType::read(&mut r)?;
    let len = usize::try_from(r.u24("handshake length")?)
        .map_err(|_| InvalidMessage::IllegalValue("handshake length"))?;
    let body = r.take_for(len, "handshake body")?;
    r.expect_empty("handshake message")?;
    Ok((typ, body))
}

/// A decoded handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeMessage<'a> {
    /// ClientHello.
    ClientHello(ClientHello<'a>),
    /// ServerHello or HelloRetryRequest.
    ServerHello(ServerHello<'a>),
    /// EncryptedExtensions.
    EncryptedExtensions(EncryptedExtensions<'a>),
    /// CertificateRequest.
    CertificateRequest(CertificateRequest<'a>),
    /// Certificate.
    Certificate(Certificate<'a>),
    /// CertificateVerify.
    CertificateVerify(CertificateVerify<'a>),
    /// Finished: the verify_data.
    Finished(&'a [u8]),
    /// NewSessionTicket.
    NewSessionTicket(NewSessionTicket<'a>),
    /// KeyUpdate.
    KeyUpdate(KeyUpdateRequest),
    /// EndOfEarlyData (empty).
    EndOfEarlyData,
    /// A type this crate does not handle in TLS 1.3, kept for the error message.
    Other(HandshakeType),
}

impl<'a> HandshakeMessage<'a> {
    /// The handshake type.
    pub fn typ(&self) -> HandshakeType {
        use HandshakeType as T;
        match self {
            Self::ClientHello(_) => T::ClientHello,
            Self::ServerHello(_) => T::ServerHello,
            Self::EncryptedExtensions(_) => T::EncryptedExtensions,
            Self::CertificateRequest(_) => T::CertificateRequest,
            Self::Certificate(_) => T::Certificate,
            Self::CertificateVerify(_) => T::CertificateVerify,
            Self::Finished(_) => T::Finished,
            Self::NewSessionTicket(_) => T::NewSessionTicket,
            Self::KeyUpdate(_) => T::KeyUpdate,
            Self::EndOfEarlyData => T::EndOfEarlyData,
            Self::Other(t) => *t,
        }
    }

    /// Decodes one whole message (4-byte header included); the body must span exactly the
    /// length in the header.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        use HandshakeType as T;
        let (typ, body) = split_header(bytes)?;
        Ok(match typ {
            T::ClientHello => Self::ClientHello(ClientHello::read_bytes(body)?),
            T::ServerHello => Self::ServerHello(ServerHello::read_bytes(body)?),
            T::EncryptedExtensions => {
                Self::EncryptedExtensions(EncryptedExtensions::read_bytes(body)?)
            }
            T::CertificateRequest => {
                Self::CertificateRequest(CertificateRequest::read_bytes(body)?)
            }
            T::Certificate => Self::Certificate(Certificate::read_bytes(body)?),
            T::CertificateVerify => Self::CertificateVerify(CertificateVerify::read_bytes(body)?),
            T::Finished => {
                if body.is_empty() {
                    return Err(InvalidMessage::MissingData("Finished.verify_data"));
                }
                Self::Finished(body)
            }
            T::NewSessionTicket => Self::NewSessionTicket(NewSessionTicket::read_bytes(body)?),
            T::KeyUpdate => Self::KeyUpdate(KeyUpdateRequest::read_bytes(body)?),
            T::EndOfEarlyData => {
                Reader::new(body).expect_empty("EndOfEarlyData")?;
                Self::EndOfEarlyData
            }
            other => Self::Other(other),
        })
    }

    /// Encodes the whole message with its 4-byte header; fails when a field is longer than
    /// its length prefix can express.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        // One allocation for the messages a client sends: a ClientHello (512 bytes and its
        // large fields: key shares, 1216 bytes for X25519MLKEM768; a ticket; a cookie), a
        // Finished, a KeyUpdate.
        let mut out = Vec::with_capacity(match self {
            Self::ClientHello(m) => 512 + m.large_fields_len(),
            _ => 68,
        });
        self.typ().encode(&mut out)?;
        encode_prefixed(&mut out, LengthWidth::U24, |out| match self {
            Self::ClientHello(m) => m.encode(out),
            Self::ServerHello(m) => m.encode(out),
            Self::EncryptedExtensions(m) => m.encode(out),
            Self::CertificateRequest(m) => m.encode(out),
            Self::Certificate(m) => m.encode(out),
            Self::CertificateVerify(m) => m.encode(out),
            Self::Finished(v) => {
                out.extend_from_slice(v);
                Ok(())
            }
            Self::NewSessionTicket(m) => m.encode(out),
            Self::KeyUpdate(m) => m.encode(out),
            Self::EndOfEarlyData | Self::Other(_) => Ok(()),
        })?;
        Ok(out)
    }
}

/// Appends a Finished message (header and `verify_data`) to `out`: what
/// `HandshakeMessage::Finished(verify_data).encode()` makes, without its allocation.
pub fn encode_finished(out: &mut Vec<u8>, verify_data: &[u8]) -> Result<(), EncodeError> {
    HandshakeType::Finished.encode(out)?;
    encode_bytes(out, LengthWidth::U24, verify_data)
}

/// A TLS 1.2 `ServerKeyExchange` for ECDHE (RFC 8422 §5.4): named-curve parameters and the
/// signature over `client_random ‖ server_random ‖ params`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcdheServerKeyExchange<'a> {
    /// The curve (only `named_curve` parses).
    pub group: NamedGroup,
    /// The server's ephemeral public point.
    pub public: PayloadU8<'a, 1>,
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The signature.
    pub signature: PayloadU16<'a>,
}

impl EcdheServerKeyExchange<'_> {
    /// The signed `ServerECDHParams` bytes.
    pub fn params(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        EcCurveType::NamedCurve.encode(&mut out)?;
        self.group.encode(&mut out)?;
        self.public.encode(&mut out)?;
        Ok(out)
    }
}

impl<'a> Codec<'a> for EcdheServerKeyExchange<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.params()?);
        self.scheme.encode(out)?;
        self.signature.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        if EcCurveType::read(r)? != EcCurveType::NamedCurve {
            return Err(InvalidMessage::IllegalValue(
                "ECCurveType (only named_curve)",
            ));
        }
        Ok(Self {
            group: NamedGroup::read(r)?,
            public: PayloadU8::read(r)?,
            scheme: SignatureScheme::read(r)?,
            signature: PayloadU16::read(r)?,
        })
    }
}

/// A TLS 1.2 `CertificateRequest` (RFC 5246 §7.4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls12CertificateRequest<'a> {
    /// `certificate_types`.
    pub certificate_types: LazyU8<'a, u8, 1>,
    /// `supported_signature_algorithms`.
    pub schemes: LazyU16<'a, SignatureScheme, 2, 0xfffe>,
    /// `certificate_authorities` (DER distinguished names).
    pub authorities: LazyU16<'a, PayloadU16<'a, 1>>,
}

impl<'a> Codec<'a> for Tls12CertificateRequest<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.certificate_types.encode(out)?;
        self.schemes.encode(out)?;
        self.authorities.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            certificate_types: LazyU8::read(r)?,
            schemes: LazyU16::read(r)?,
            authorities: LazyU16::read(r)?,
        })
    }
}

/// A TLS 1.2 `NewSessionTicket` (RFC 5077 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls12NewSessionTicket<'a> {
    /// `ticket_lifetime_hint` in seconds (0: unspecified).
    pub lifetime_hint: u32,
    /// The opaque ticket (empty: the server issues none after all).
    pub ticket: PayloadU16<'a>,
}

impl<'a> Codec<'a> for Tls12NewSessionTicket<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.lifetime_hint.encode(out)?;
        self.ticket.encode(out)?;
        Ok(())
    }
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            lifetime_hint: r.u32("ticket_lifetime_hint")?,
            ticket: PayloadU16::read(r)?,
        })
    }
}

/// A decoded TLS 1.2 server handshake message. TLS 1.2's Certificate, CertificateRequest and
/// NewSessionTicket differ from TLS 1.3's, so a TLS 1.2 handshake decodes with this type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tls12Message<'a> {
    /// HelloRequest (empty).
    HelloRequest,
    /// ServerHello.
    ServerHello(ServerHello<'a>),
    /// Certificate: the chain, end entity first.
    Certificate(LazyU24<'a, PayloadU24<'a, 1>>),
    /// ServerKeyExchange (ECDHE).
    ServerKeyExchange(EcdheServerKeyExchange<'a>),
    /// CertificateRequest.
    CertificateRequest(Tls12CertificateRequest<'a>),
    /// ServerHelloDone (empty).
    ServerHelloDone,
    /// CertificateStatus (RFC 6066 §8): the OCSP response.
    CertificateStatus(&'a [u8]),
    /// NewSessionTicket.
    NewSessionTicket(Tls12NewSessionTicket<'a>),
    /// Finished: the verify_data.
    Finished(&'a [u8]),
    /// Any other type, kept for the error message.
    Other(HandshakeType),
}

impl<'a> Tls12Message<'a> {
    /// The handshake type.
    pub fn typ(&self) -> HandshakeType {
        use HandshakeType as T;
        match self {
            Self::HelloRequest => T::HelloRequest,
            Self::ServerHello(_) => T::ServerHello,
            Self::Certificate(_) => T::Certificate,
            Self::ServerKeyExchange(_) => T::ServerKeyExchange,
            Self::CertificateRequest(_) => T::CertificateRequest,
            Self::ServerHelloDone => T::ServerHelloDone,
            Self::CertificateStatus(_) => T::CertificateStatus,
            Self::NewSessionTicket(_) => T::NewSessionTicket,
            Self::Finished(_) => T::Finished,
            Self::Other(t) => *t,
        }
    }

    /// Decodes one whole message (4-byte header included).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        use HandshakeType as T;
        let (typ, body) = split_header(bytes)?;
        Ok(match typ {
            T::HelloRequest => {
                Reader::new(body).expect_empty("HelloRequest")?;
                Self::HelloRequest
            }
            T::ServerHello => Self::ServerHello(ServerHello::read_bytes(body)?),
            T::Certificate => Self::Certificate(LazyU24::read_bytes(body)?),
            T::ServerKeyExchange => {
                Self::ServerKeyExchange(EcdheServerKeyExchange::read_bytes(body)?)
            }
            T::CertificateRequest => {
                Self::CertificateRequest(Tls12CertificateRequest::read_bytes(body)?)
            }
            T::ServerHelloDone => {
                Reader::new(body).expect_empty("ServerHelloDone")?;
                Self::ServerHelloDone
            }
            T::CertificateStatus => Self::CertificateStatus(read_certificate_status(body)?),
            T::NewSessionTicket => Self::NewSessionTicket(Tls12NewSessionTicket::read_bytes(body)?),
            T::Finished => {
                if body.is_empty() {
                    return Err(InvalidMessage::MissingData("Finished.verify_data"));
                }
                Self::Finished(body)
            }
            other => Self::Other(other),
        })
    }

    /// Encodes the whole message with its 4-byte header; fails when a field is longer than
    /// its length prefix can express.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.typ().encode(&mut out)?;
        encode_prefixed(&mut out, LengthWidth::U24, |out| match self {
            Self::ServerHello(m) => m.encode(out),
            Self::Certificate(m) => m.encode(out),
            Self::ServerKeyExchange(m) => m.encode(out),
            Self::CertificateRequest(m) => m.encode(out),
            Self::NewSessionTicket(m) => m.encode(out),
            Self::CertificateStatus(ocsp) => {
                out.push(1);
                encode_bytes(out, LengthWidth::U24, ocsp)
            }
            Self::Finished(v) => {
                out.extend_from_slice(v);
                Ok(())
            }
            Self::HelloRequest | Self::ServerHelloDone | Self::Other(_) => Ok(()),
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: HandshakeMessage<'_>) {
        let bytes = m.encode().unwrap();
        assert_eq!(HandshakeMessage::decode(&bytes).unwrap(), m, "{m:?}");
        // Every strict prefix is an error, never a panic.
        for cut in 0..bytes.len() {
            assert!(
                HandshakeMessage::decode(&bytes[..cut]).is_err(),
                "{m:?} cut at {cut}"
            );
        }
        // A trailing byte is an error.
        let mut long = bytes.clone();
        long.push(0);
        assert!(HandshakeMessage::decode(&long).is_err());
    }

    fn ext(typ: ExtensionType, data: &[u8]) -> Extension<'static> {
        Extension {
            typ,
            data: PayloadU16(data.to_vec().into()),
        }
    }

    #[test]
    fn every_message_round_trips() {
        round_trip(HandshakeMessage::ClientHello(ClientHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random: [7; 32],
            session_id: PayloadU8(vec![1; 32].into()),
            cipher_suites: ListU16::from(vec![CipherSuite::TLS13_AES_128_GCM_SHA256]),
            compression_methods: ListU8::from(vec![Compression::Null]),
            extensions: ListU16::from(vec![
                ClientExtension::ServerName(b"example.com".to_vec().into()),
                ClientExtension::SupportedVersions(ListU8::from(vec![ProtocolVersion::TLSv1_3])),
                ClientExtension::SupportedGroups(ListU16::from(vec![NamedGroup::X25519])),
                ClientExtension::KeyShare(ListU16::from(vec![KeyShareEntry {
                    group: NamedGroup::X25519,
                    key_exchange: PayloadU16(vec![9; 32].into()),
                }])),
                ClientExtension::SignatureAlgorithms(ListU16::from(vec![SignatureScheme::ED25519])),
                ClientExtension::SignatureAlgorithmsCert(ListU16::from(vec![
                    SignatureScheme::ED25519,
                ])),
                ClientExtension::Alpn(ProtocolNames(vec![b"h2".to_vec()].into())),
                ClientExtension::PskKeyExchangeModes(ListU8::from(vec![
                    PskKeyExchangeMode::PskDheKe,
                ])),
                ClientExtension::Cookie(PayloadU16(vec![1, 2, 3].into())),
                ClientExtension::Other(ext(ExtensionType::Padding, &[0; 5])),
                ClientExtension::PreSharedKey(OfferedPsks {
                    identities: ListU16::from(vec![PskIdentity {
                        identity: PayloadU16(vec![5; 10].into()),
                        obfuscated_ticket_age: 77,
                    }]),
                    binders: ListU16::from(vec![PayloadU8(vec![3; 32].into())]),
                }),
            ]),
        }));
        round_trip(HandshakeMessage::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random: HELLO_RETRY_REQUEST_RANDOM,
            session_id: PayloadU8(vec![].into()),
            cipher_suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            compression_method: Compression::Null,
            extensions: LazyU16::from(vec![ext(ExtensionType::SupportedVersions, &[3, 4])]),
        }));
        round_trip(HandshakeMessage::EncryptedExtensions(EncryptedExtensions {
            extensions: LazyU16::from(vec![ext(ExtensionType::ServerName, &[])]),
        }));
        round_trip(HandshakeMessage::CertificateRequest(CertificateRequest {
            context: PayloadU8(vec![].into()),
            extensions: LazyU16::from(vec![ext(ExtensionType::SignatureAlgorithms, &[0, 2, 8, 7])]),
        }));
        round_trip(HandshakeMessage::Certificate(Certificate {
            context: PayloadU8(vec![].into()),
            entries: LazyU24::from(vec![CertificateEntry {
                cert_data: PayloadU24(vec![0x30, 0].into()),
                extensions: LazyU16::from(vec![]),
            }]),
        }));
        round_trip(HandshakeMessage::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
            signature: PayloadU16(vec![1; 70].into()),
        }));
        round_trip(HandshakeMessage::Finished(&[4; 32]));
        let mut direct = vec![9];
        encode_finished(&mut direct, &[4; 32]).unwrap();
        assert_eq!(
            direct[1..],
            HandshakeMessage::Finished(&[4; 32]).encode().unwrap()
        );
        round_trip(HandshakeMessage::NewSessionTicket(NewSessionTicket {
            lifetime: 7200,
            age_add: 12345,
            nonce: PayloadU8(vec![0, 0].into()),
            ticket: PayloadU16(vec![1; 40].into()),
            extensions: LazyU16::from(vec![ext(ExtensionType::EarlyData, &[0, 0, 0x40, 0])]),
        }));
        round_trip(HandshakeMessage::KeyUpdate(
            KeyUpdateRequest::UpdateRequested,
        ));
    }

    #[test]
    fn certificate_status_and_sct_lists_are_checked() {
        // RFC 6066 §8: ocsp (1), a non-empty response, nothing after it.
        assert_eq!(
            read_certificate_status(&[1, 0, 0, 2, 0x30, 0]).unwrap(),
            [0x30, 0]
        );
        for bad in [
            &[1, 0, 0, 0][..],         // empty response (BoGo RejectEmptyOCSPResponse)
            &[2, 0, 0, 1, 0x30],       // not ocsp
            &[1, 0, 0, 2, 0x30, 0, 9], // trailing byte
            &[1, 0, 0, 3, 0x30, 0],    // truncated
            &[],
        ] {
            assert!(read_certificate_status(bad).is_err(), "{bad:?}");
        }
        // RFC 6962 §3.3: a non-empty list of non-empty SCTs.
        let list = [0, 4, 0, 2, 1, 2];
        assert_eq!(read_sct_list(&list).unwrap(), list);
        for bad in [
            &[0, 0][..],               // empty list
            &[0, 6, 0, 2, 1, 2, 0, 0], // an empty SCT in the list
            &[0, 4, 0, 2, 1, 2, 9],    // trailing byte
            &[],
        ] {
            assert!(read_sct_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tls12_messages_round_trip() {
        let msgs = [
            Tls12Message::HelloRequest,
            Tls12Message::ServerHelloDone,
            Tls12Message::Certificate(LazyU24::from(vec![PayloadU24(vec![0x30, 0].into())])),
            Tls12Message::ServerKeyExchange(EcdheServerKeyExchange {
                group: NamedGroup::X25519,
                public: PayloadU8(vec![9; 32].into()),
                scheme: SignatureScheme::ECDSA_NISTP256_SHA256,
                signature: PayloadU16(vec![1; 70].into()),
            }),
            Tls12Message::CertificateRequest(Tls12CertificateRequest {
                certificate_types: LazyU8::from(vec![1, 64]),
                schemes: LazyU16::from(vec![SignatureScheme::RSA_PKCS1_SHA256]),
                authorities: LazyU16::from(vec![PayloadU16(vec![0x30, 0].into())]),
            }),
            Tls12Message::NewSessionTicket(Tls12NewSessionTicket {
                lifetime_hint: 300,
                ticket: PayloadU16(vec![7; 50].into()),
            }),
            Tls12Message::Finished(&[1; 12]),
            Tls12Message::CertificateStatus(&[0x30, 3, 1, 2, 3]),
        ];
        for m in msgs {
            let bytes = m.encode().unwrap();
            assert_eq!(Tls12Message::decode(&bytes).unwrap(), m);
            for cut in 0..bytes.len() {
                assert!(Tls12Message::decode(&bytes[..cut]).is_err(), "{m:?} {cut}");
            }
        }
        // Explicit curves are refused as illegal values.
        let e = Tls12Message::decode(&[12, 0, 0, 3, 1, 0, 23]).unwrap_err();
        assert!(matches!(e, InvalidMessage::IllegalValue(_)), "{e:?}");
    }

    #[test]
    fn server_hello_without_extensions_decodes() {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[1; 32]);
        body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
        let mut msg = vec![2, 0, 0, u8::try_from(body.len()).unwrap()];
        msg.extend_from_slice(&body);
        let HandshakeMessage::ServerHello(sh) = HandshakeMessage::decode(&msg).unwrap() else {
            panic!()
        };
        assert!(sh.extensions.is_empty());
        assert!(!sh.is_retry_request());
    }

    #[test]
    fn end_of_early_data_and_unknown_types() {
        assert_eq!(
            HandshakeMessage::decode(&[5, 0, 0, 0]).unwrap(),
            HandshakeMessage::EndOfEarlyData
        );
        assert!(HandshakeMessage::decode(&[5, 0, 0, 1, 0]).is_err());
        assert_eq!(
            HandshakeMessage::decode(&[99, 0, 0, 0]).unwrap().typ(),
            HandshakeType::Unknown(99)
        );
        assert!(HandshakeMessage::decode(&[20, 0, 0, 0]).is_err());
    }

    #[test]
    fn extension_checks() {
        use crate::error::PeerMisbehaved as M;
        let offered = [
            ExtensionType::KeyShare,
            ExtensionType::SupportedVersions,
            ExtensionType::ServerName,
        ];
        let dup: LazyU16<Extension> = LazyU16::from(vec![
            ext(ExtensionType::KeyShare, &[]),
            ext(ExtensionType::KeyShare, &[]),
        ]);
        assert_eq!(
            check_extensions(&dup, &offered, ExtensionContext::ServerHello),
            Err(M::DuplicateExtension(51).into())
        );
        let unoffered: LazyU16<Extension> = LazyU16::from(vec![ext(ExtensionType::Cookie, &[])]);
        assert_eq!(
            check_extensions(&unoffered, &offered, ExtensionContext::ServerHello),
            Err(M::UnsolicitedExtension(44).into())
        );
        let misplaced: LazyU16<Extension> =
            LazyU16::from(vec![ext(ExtensionType::ServerName, &[])]);
        assert_eq!(
            check_extensions(&misplaced, &offered, ExtensionContext::ServerHello),
            Err(M::ExtensionNotAllowedHere(0).into())
        );
        assert!(
            check_extensions(&misplaced, &offered, ExtensionContext::EncryptedExtensions).is_ok()
        );
        // One pass, the same precedence: a duplicate after a refused extension is reported
        // as the duplicate; a read block and the same block built by an encoder agree.
        let both: LazyU16<Extension> = LazyU16::from(vec![
            ext(ExtensionType::Cookie, &[]),
            ext(ExtensionType::KeyShare, &[]),
            ext(ExtensionType::KeyShare, &[]),
        ]);
        assert_eq!(
            check_extensions(&both, &offered, ExtensionContext::ServerHello),
            Err(M::DuplicateExtension(51).into())
        );
        let wire = both.get_encoding().unwrap();
        let read = LazyU16::<Extension>::read_bytes(&wire).unwrap();
        assert_eq!(
            check_extensions(&read, &offered, ExtensionContext::ServerHello),
            Err(M::DuplicateExtension(51).into())
        );
        // The bodies the check saw, by type, for the types the message may carry.
        let block: LazyU16<Extension> = LazyU16::from(vec![
            ext(ExtensionType::SupportedVersions, &[3, 4]),
            ext(ExtensionType::KeyShare, &[0, 29, 0, 1, 9]),
        ]);
        let wire = block.get_encoding().unwrap();
        let read = LazyU16::<Extension>::read_bytes(&wire).unwrap();
        for b in [&block, &read] {
            let found = check_extensions(b, &offered, ExtensionContext::ServerHello).unwrap();
            assert_eq!(
                found.get(ExtensionType::KeyShare),
                Some(&[0, 29, 0, 1, 9][..])
            );
            assert_eq!(
                found.get(ExtensionType::SupportedVersions),
                Some(&[3, 4][..])
            );
            assert_eq!(found.get(ExtensionType::PreSharedKey), None);
        }
        // CertificateRequest ignores unknown extensions, but not duplicates.
        let unknown: LazyU16<Extension> =
            LazyU16::from(vec![ext(ExtensionType::Unknown(0x1234), &[])]);
        assert!(check_extensions(&unknown, &offered, ExtensionContext::CertificateRequest).is_ok());
    }
}

#[cfg(test)]
mod rfc8448_codec {
    use super::*;

    /// Every handshake message of every RFC 8448 trace decodes and re-encodes byte for byte.
    #[test]
    fn rfc8448_messages_round_trip() {
        let json = crate::rfc8448_json();
        let mut n = 0;
        for (name, trace) in json["traces"].as_object().unwrap() {
            for m in trace["handshake_messages"].as_array().unwrap() {
                let bytes = hex::decode(m["data"].as_str().unwrap()).unwrap();
                let msg = HandshakeMessage::decode(&bytes)
                    .unwrap_or_else(|e| panic!("{name} {}: {e}", m["type"]));
                assert_eq!(msg.encode().unwrap(), bytes, "{name} {}", m["type"]);
                n += 1;
            }
        }
        assert_eq!(n, 40);
    }
}

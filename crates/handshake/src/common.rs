//! What both versions share: the connection's context ([`Common`]), the ClientHello, the
//! ServerHello with the version dispatch, chain verification through the [`CertVerifier`],
//! the client-certificate choice, the CertificateVerify and certificate-list encodings, the
//! Finished comparison, ALPN, and the `unexpected_message` error. Each step is written once
//! here; `tls13` and `tls12` hold only what differs.
//!
//! ```text
//!  start ─► client_hello ─► ExpectServerHello ─┬─ supported_versions = 1.3 ─► tls13::server_hello
//!                                 ▲            │   (HelloRetryRequest: tls13::retry ─┘ loops back)
//!                                 └────────────┴─ legacy_version = 1.2 ───► tls12::server_hello
//! ```
//!
//! [`CertVerifier`]: crate::CertVerifier

use crate::client::State;
use crate::config::{
    Event, HandshakeConfig, Level, MAX_TICKET_LEN, ServerCertVerified, StartOptions, Tls12Session,
};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::key_schedule::{self, KeySchedule, Transcript};
use crate::msgs::{
    self, CertificateVerify, ClientExtension, ClientHello, HandshakeMessage, Items, KeyShareEntry,
    ListU8, ListU16, OfferedPsks, ProtocolNames, PskIdentity, ServerHello,
};
use crate::{compress, tls12, tls13};
use overture_crypto_provider::{
    ActiveKeyExchange, Hash, HashContext, KeyExchange, Secret, Signer, Tls13CipherSuite,
};
use overture_types::{
    CertificateDer, CipherSuite, Codec, Compression, ExtensionType, HandshakeType, LazyU16,
    NamedGroup, PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, ServerName,
    SignatureScheme, UnixTime,
};
use std::borrow::Cow;
use std::sync::Arc;

/// Test hooks: change the ClientHello's extension list before it is encoded (to reproduce
/// another implementation's ClientHello byte for byte), and observe every named secret.
/// Not part of the API.
#[doc(hidden)]
#[derive(Clone, Default)]
pub struct TestHooks {
    /// Called with the extensions of each ClientHello before encoding.
    pub client_hello: Option<ClientHelloHook>,
    /// Called with each secret and transcript hash, named as RFC 8448's JSON names them.
    pub observe: Option<ObserveHook>,
}

impl core::fmt::Debug for TestHooks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestHooks")
            .field("client_hello", &self.client_hello.is_some())
            .field("observe", &self.observe.is_some())
            .finish()
    }
}

/// See [`TestHooks::client_hello`].
#[doc(hidden)]
pub type ClientHelloHook = Arc<dyn for<'a> Fn(&mut Vec<ClientExtension<'a>>) + Send + Sync>;
/// See [`TestHooks::observe`].
#[doc(hidden)]
pub type ObserveHook = Arc<dyn Fn(&str, &[u8]) + Send + Sync>;

/// Proof that the server's Finished verified (compared in constant time). Only this crate's
/// Finished comparison makes one.
#[derive(Debug)]
pub struct FinishedVerified(());

/// A TLS 1.3 ticket being offered.
pub(crate) struct PskOffer {
    /// The suite of the ticket's connection (its hash is the PSK's).
    pub(crate) suite: &'static Tls13CipherSuite,
    pub(crate) psk: Secret,
    pub(crate) identity: Vec<u8>,
    pub(crate) obfuscated_age: u32,
    /// The ticket's `max_early_data_size` (RFC 8446 §4.6.1), if it allows early data.
    pub(crate) max_early_data: Option<u32>,
    /// The ALPN protocol of the ticket's connection (early data assumes it).
    pub(crate) alpn: Option<Vec<u8>>,
}

/// A short list of `Copy` values (what a ClientHello offers: suites, groups, schemes,
/// extension types), held inline up to `N` entries — no allocation for a connection's usual
/// lists — and on the heap beyond (a provider may have any number of suites). Reads as a
/// slice.
#[derive(Clone, Debug)]
pub(crate) enum ShortList<T: Copy, const N: usize> {
    /// Empty (an empty `Vec` does not allocate), or spilled past `N`.
    Heap(Vec<T>),
    /// `items[..len]`.
    Inline { items: [T; N], len: usize },
}

impl<T: Copy, const N: usize> Default for ShortList<T, N> {
    fn default() -> Self {
        Self::Heap(Vec::new())
    }
}

impl<T: Copy, const N: usize> ShortList<T, N> {
    pub(crate) fn push(&mut self, value: T) {
        match self {
            Self::Heap(v) if v.is_empty() && N > 0 => {
                *self = Self::Inline {
                    items: [value; N],
                    len: 1,
                };
            }
            Self::Heap(v) => v.push(value),
            Self::Inline { items, len } => match items.get_mut(*len) {
                Some(slot) => {
                    *slot = value;
                    *len += 1;
                }
                None => {
                    let mut v = Vec::with_capacity(2 * N);
                    v.extend_from_slice(items);
                    v.push(value);
                    *self = Self::Heap(v);
                }
            },
        }
    }
}

impl<T: Copy, const N: usize> core::ops::Deref for ShortList<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Heap(v) => v,
            Self::Inline { items, len } => items.get(..*len).unwrap_or_default(),
        }
    }
}

impl<T: Copy, const N: usize> Extend<T> for ShortList<T, N> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for v in iter {
            self.push(v);
        }
    }
}

impl<T: Copy, const N: usize> FromIterator<T> for ShortList<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Self::default();
        out.extend(iter);
        out
    }
}

/// The extension types of a ClientHello (19 at most without test hooks).
pub(crate) type OfferedExtensions = ShortList<ExtensionType, 24>;

/// `legacy_session_id`: up to 32 bytes, inline.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SessionId {
    bytes: [u8; 32],
    len: usize,
}

impl SessionId {
    /// A session id of `bytes` (at most 32: longer is `None`).
    pub(crate) fn new(bytes: &[u8]) -> Option<Self> {
        let mut out = Self::default();
        out.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        out.len = bytes.len();
        Some(out)
    }

    /// 32 random bytes.
    fn random(random: &dyn overture_crypto_provider::SecureRandom) -> Result<Self, Error> {
        let mut out = Self {
            bytes: [0; 32],
            len: 32,
        };
        random.fill(&mut out.bytes)?;
        Ok(out)
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// What stays the same for the whole connection. The lists a ClientHello offers are held
/// inline ([`ShortList`]): no allocation per connection for them.
pub(crate) struct Common {
    pub(crate) config: Arc<HandshakeConfig>,
    pub(crate) server_name: ServerName<'static>,
    hooks: TestHooks,
    pub(crate) random: [u8; 32],
    pub(crate) session_id: SessionId,
    /// Extension types of the last ClientHello (after hooks).
    pub(crate) offered: OfferedExtensions,
    pub(crate) offered_suites: ShortList<CipherSuite, 16>,
    pub(crate) offered_groups: ShortList<NamedGroup, 8>,
    /// The groups of the key shares in the last ClientHello: one, or (first flight) a hybrid
    /// and its classical group sharing one key.
    pub(crate) offered_shares: ShortList<NamedGroup, 2>,
    pub(crate) offered_schemes: ShortList<SignatureScheme, 16>,
    ccs_sent: bool,
    pub(crate) alpn: Option<Vec<u8>>,
    /// The TLS 1.2 session offered for resumption (taken at ServerHello).
    pub(crate) tls12_offer: Option<Tls12Session>,
    /// [`StartOptions::allow_tls12_without_ems`].
    pub(crate) allow_no_ems: bool,
    /// [`StartOptions::offer_psk_ke`].
    pub(crate) offer_psk_ke: bool,
    /// The certificate compression algorithms offered (empty: none).
    pub(crate) cert_compression: ShortList<overture_types::CertificateCompressionAlgorithm, 3>,
    /// Whether the next ClientHello offers early_data (only the first one may).
    pub(crate) offer_early_data: bool,
    /// Encrypted Client Hello on this connection (`None`: not sent).
    pub(crate) ech: Option<crate::ech::EchState>,
    /// The last ClientHello's running hash, if [`client_hello`] kept one.
    pub(crate) client_hello_hash: Option<ClientHelloHash>,
}

impl Common {
    pub(crate) fn observe(&self, name: &str, value: &[u8]) {
        if let Some(f) = &self.hooks.observe {
            f(name, value);
        }
    }

    /// Whether an observe hook is set (to compute values only a test looks at).
    pub(crate) fn observing(&self) -> bool {
        self.hooks.observe.is_some()
    }

    pub(crate) fn key_log(&self, label: &str, secret: &Secret) {
        if let Some(kl) = &self.config.key_log {
            kl.log(label, &self.random, secret.as_bytes());
        }
    }

    pub(crate) fn offers(&self, v: ProtocolVersion) -> bool {
        self.config.versions.contains(&v)
    }

    /// The key exchange for `group`, if we offered it.
    pub(crate) fn offered_kx(&self, group: NamedGroup) -> Option<&'static dyn KeyExchange> {
        if !self.offered_groups.contains(&group) {
            return None;
        }
        self.config.provider.find_kx(group)
    }

    /// The one middlebox-compatibility ChangeCipherSpec (RFC 8446 §D.4), before our second
    /// flight: after a HelloRetryRequest or before our Finished, whichever comes first.
    pub(crate) fn compat_ccs(&mut self, events: &mut Vec<Event>) {
        if self.config.middlebox_compat && !self.ccs_sent {
            self.ccs_sent = true;
            events.push(Event::SendCcs);
        }
    }
}

/// Builds the first ClientHello (pushed onto `events`) and the state that waits for the
/// ServerHello; see [`crate::ClientHandshake::start`].
pub(crate) fn start(
    config: Arc<HandshakeConfig>,
    server_name: ServerName<'static>,
    now: UnixTime,
    options: StartOptions,
    events: &mut Vec<Event>,
) -> Result<(Common, ExpectServerHello), Error> {
    let hooks = options.hooks.clone();
    let tls13 = config.versions.contains(&ProtocolVersion::TLSv1_3);
    let tls12 = config.versions.contains(&ProtocolVersion::TLSv1_2);
    if !tls13 && !tls12 {
        return Err(Error::Config("neither TLS 1.3 nor TLS 1.2 is enabled"));
    }
    let provider = &config.provider;
    let mut offered_suites = ShortList::default();
    if tls13 {
        offered_suites.extend(provider.tls13_suites().map(|s| s.suite));
        if offered_suites.is_empty() {
            return Err(Error::Config("no TLS 1.3 cipher suite"));
        }
    }
    if tls12 {
        let before = offered_suites.len();
        offered_suites.extend(provider.tls12_suites().map(|s| s.suite));
        if !tls13 && offered_suites.len() == before {
            return Err(Error::Config("no TLS 1.2 cipher suite"));
        }
    }
    // The hybrid post-quantum groups exist only in TLS 1.3.
    let offered_kx = || {
        provider
            .kx_groups
            .iter()
            .copied()
            .filter(|g| tls13 || !g.tls13_only())
    };
    let offered_groups = offered_kx().map(|g| g.group()).collect();
    let first = offered_kx()
        .next()
        .ok_or(Error::Config("no key-exchange group"))?;
    let supported = config.verifier.supported_schemes();
    let offered_schemes: ShortList<SignatureScheme, 16> = match &config.verify_schemes {
        Some(prefs) => prefs
            .iter()
            .copied()
            .filter(|s| supported.contains(s))
            .collect(),
        None => supported.iter().copied().collect(),
    };
    if offered_schemes.is_empty() {
        return Err(Error::Config(
            "no signature scheme to offer (the verifier supports none of verify_schemes)",
        ));
    }
    let mut random = [0u8; 32];
    provider.secure_random.fill(&mut random)?;

    // TLS 1.3 ticket: offered only when usable (else a full handshake).
    let psk = options.tls13_ticket.filter(|_| tls13).and_then(|t| {
        let age = now.as_secs().checked_sub(t.received_at.as_secs())?;
        if t.server_name != server_name
            || age > u64::from(t.lifetime)
            || t.ticket.is_empty()
            || t.ticket.len() > MAX_TICKET_LEN
        {
            return None;
        }
        let suite = provider.tls13_suites().find(|s| s.suite == t.suite)?;
        // The age we claim must not exceed the real one: GnuTLS refuses early data whose
        // claimed age is above its own measure (and OpenSSL's window allows 10 s below).
        // `UnixTime` has whole seconds, so the difference of two of them may be up to a
        // second above the real age; one second less is never above it.
        let age_ms = u32::try_from(age.saturating_sub(1).checked_mul(1000)?).ok()?;
        Some(PskOffer {
            suite,
            psk: t.psk,
            identity: t.ticket,
            obfuscated_age: age_ms.wrapping_add(t.age_add),
            max_early_data: t.max_early_data.filter(|n| *n > 0),
            alpn: t.alpn,
        })
    });
    // TLS 1.2 session: offered only when usable.
    let tls12_offer = options.tls12_session.filter(|s| {
        tls12
            && s.server_name == server_name
            && offered_suites.contains(&s.suite)
            && !s.suite.is_tls13()
            && (s.extended_master_secret || options.allow_tls12_without_ems)
            && (!s.session_id.is_empty() || s.ticket.is_some())
            && s.session_id.len() <= 32
            && s.ticket.as_ref().is_none_or(|t| t.len() <= MAX_TICKET_LEN)
    });
    let session_id = match &tls12_offer {
        // RFC 5077 §3.4: a session id of our own tells us whether the ticket was taken.
        Some(s) if s.ticket.is_some() => SessionId::random(provider.secure_random)?,
        Some(s) => SessionId::new(&s.session_id)
            .ok_or(Error::Internal("a TLS 1.2 session id longer than 32 bytes"))?,
        None if config.middlebox_compat && tls13 => SessionId::random(provider.secure_random)?,
        None => SessionId::default(),
    };
    let ech = crate::ech::start(&config.extensions.ech, config.hpke_provider(), tls12)?;
    let key_share = if tls13 { Some(first.start()?) } else { None };
    let mut common = Common {
        config,
        server_name,
        hooks,
        random,
        session_id,
        offered: ShortList::default(),
        offered_suites,
        offered_groups,
        offered_shares: ShortList::default(),
        offered_schemes,
        ccs_sent: false,
        alpn: None,
        tls12_offer,
        allow_no_ems: options.allow_tls12_without_ems,
        offer_psk_ke: options.offer_psk_ke,
        cert_compression: ShortList::default(),
        offer_early_data: false,
        ech,
        client_hello_hash: None,
    };
    if tls13 {
        common.cert_compression = common
            .config
            .extensions
            .cert_compression
            .iter()
            .copied()
            .filter(|a| compress::SUPPORTED_ALGORITHMS.contains(a))
            .collect();
        // No early data with ECH offered (a rejection would make it the outer hello's).
        common.offer_early_data = common.config.extensions.early_data
            && psk.as_ref().is_some_and(|p| p.max_early_data.is_some())
            && !matches!(common.ech, Some(crate::ech::EchState::Offered(_)));
    }
    let mut transcript = Transcript::new();
    let ch = client_hello(
        &mut common,
        key_share.as_deref(),
        true,
        None,
        psk.as_ref(),
        &transcript,
    )?;
    add_client_hello(&mut common, &mut transcript, &ch);
    // With ECH offered, `ch` is the inner hello: the outer one carrying it goes out.
    let bytes = crate::ech::wire_hello(&mut common, ch, false)?;
    events.push(Event::Send {
        level: Level::Initial,
        bytes,
    });
    if matches!(common.ech, Some(crate::ech::EchState::Grease(_))) {
        // GREASE is what it is whatever the server answers (TLS 1.2 included).
        events.push(Event::Ech(crate::ech::EchStatus::Grease));
    }
    let early_offered = match (&psk, common.offer_early_data) {
        (Some(p), true) => {
            tls13::early_data_key(&mut common, p, &transcript, events)?;
            true
        }
        _ => false,
    };
    Ok((
        common,
        ExpectServerHello {
            transcript,
            key_share,
            retry_suite: None,
            psk,
            early_offered,
        },
    ))
}

/// The `unexpected_message` error: `got` came where the state waits for `expected`.
pub(crate) fn unexpected(expected: &'static str, got: HandshakeType) -> Error {
    Error::UnexpectedMessage { expected, got }
}

/// The ALPN answer of a ServerHello (1.2) or EncryptedExtensions (1.3): exactly one protocol
/// we offered.
pub(crate) fn parse_alpn(cx: &Common, body: &[u8]) -> Result<Vec<u8>, Error> {
    let list = LazyU16::<PayloadU8<1>, 2>::read_bytes(body)?;
    let mut items = list.iter();
    let (Some(one), None) = (items.next(), items.next()) else {
        return Err(PeerMisbehaved::BadAlpn.into());
    };
    if !cx
        .config
        .alpn_protocols
        .iter()
        .any(|p| p.as_slice() == one.as_slice())
    {
        return Err(PeerMisbehaved::BadAlpn.into());
    }
    Ok(one.as_slice().to_vec())
}

/// The server's record_size_limit (RFC 8449 §4; TLS 1.3 EncryptedExtensions, TLS 1.2
/// ServerHello), if it sent one: below 64 is `illegal_parameter`; otherwise emitted as
/// [`Event::PeerRecordSizeLimit`].
pub(crate) fn peer_record_size_limit(
    body: Option<&[u8]>,
    events: &mut Vec<Event>,
) -> Result<(), Error> {
    if let Some(body) = body {
        let limit = u16::read_bytes(body)?;
        if limit < 64 {
            return Err(PeerMisbehaved::RecordSizeLimitTooSmall(limit).into());
        }
        events.push(Event::PeerRecordSizeLimit(limit));
    }
    Ok(())
}

/// Emits the server's chain (before verifying it, so that a failure can still show it), then
/// verifies it: the end entity (shared with the event's chain, not copied) and the proof.
pub(crate) fn verify_chain(
    cx: &Common,
    chain: Arc<[CertificateDer<'static>]>,
    now: UnixTime,
    events: &mut Vec<Event>,
) -> Result<(EndEntity, ServerCertVerified), Error> {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Err(PeerMisbehaved::EmptyCertificate.into());
    };
    let verified =
        cx.config
            .verifier
            .verify_server_cert(end_entity, intermediates, &cx.server_name, now);
    events.push(Event::PeerCertificates(Arc::clone(&chain)));
    Ok((EndEntity(chain), verified?))
}

/// The server's end entity certificate: the first of its chain, which it shares with the
/// [`Event::PeerCertificates`] the user sees (made by [`verify_chain`], never empty).
pub(crate) struct EndEntity(Arc<[CertificateDer<'static>]>);

impl core::ops::Deref for EndEntity {
    type Target = CertificateDer<'static>;

    fn deref(&self) -> &CertificateDer<'static> {
        // `verify_chain` refuses an empty chain; an empty certificate stands in, unreachable.
        static NONE: CertificateDer<'static> = CertificateDer::from_slice(&[]);
        self.0.first().unwrap_or(&NONE)
    }
}

/// The most extensions one of our ClientHellos carries (19 with every option on; test
/// hooks may add more, on the heap).
const MAX_EXTENSIONS: usize = 20;

/// The binder placeholder's bytes (the longest binder is SHA-512's, 64 bytes).
const ZERO_BINDER: [u8; 64] = [0; 64];

/// `supported_versions` bodies.
const TLS13_AND_TLS12: &[ProtocolVersion] = &[ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2];
/// `psk_key_exchange_modes` bodies.
const PSK_DHE_KE: &[PskKeyExchangeMode] = &[PskKeyExchangeMode::PskDheKe];
const PSK_DHE_KE_AND_PSK_KE: &[PskKeyExchangeMode] =
    &[PskKeyExchangeMode::PskDheKe, PskKeyExchangeMode::PskKe];

/// The extensions of a ClientHello being built, on the stack: they borrow what they carry
/// (the configuration's lists, the key shares' public keys, the ticket), nothing is copied
/// before the one encoding.
struct HelloExtensions<'a> {
    items: [ClientExtension<'a>; MAX_EXTENSIONS],
    len: usize,
}

impl<'a> HelloExtensions<'a> {
    fn new() -> Self {
        Self {
            items: core::array::from_fn(|_| ClientExtension::raw(ExtensionType::Padding, &[])),
            len: 0,
        }
    }

    fn push(&mut self, ext: ClientExtension<'a>) -> Result<(), Error> {
        let slot = self.items.get_mut(self.len).ok_or(Error::Internal(
            "more ClientHello extensions than MAX_EXTENSIONS",
        ))?;
        *slot = ext;
        self.len += 1;
        Ok(())
    }

    fn as_slice(&self) -> &[ClientExtension<'a>] {
        self.items.get(..self.len).unwrap_or_default()
    }
}

/// The key shares of a ClientHello (the first `n` of the array): `key_share`'s, then — when
/// `share_classical` (the first flight; after a HelloRetryRequest only the group it named is
/// sent, RFC 8446 §4.1.2) and the key is a hybrid whose classical group we offer — the
/// classical part of the same key as a share of its own, so a server without the hybrid
/// needs no HelloRetryRequest. The shares borrow the key's public values.
fn key_shares<'k>(
    offered_groups: &[NamedGroup],
    key_share: &'k dyn ActiveKeyExchange,
    share_classical: bool,
) -> ([KeyShareEntry<'k>; 2], usize) {
    let first = KeyShareEntry {
        group: key_share.group(),
        key_exchange: PayloadU16(Cow::Borrowed(key_share.public_key())),
    };
    match key_share
        .classical_component()
        .filter(|(g, _)| share_classical && offered_groups.contains(g))
    {
        Some((group, share)) => {
            let second = KeyShareEntry {
                group,
                key_exchange: PayloadU16(Cow::Borrowed(share)),
            };
            ([first, second], 2)
        }
        None => ([first.clone(), first], 1),
    }
}

/// Builds and encodes a ClientHello; records the offered extension types and key-share groups.
/// With a PSK, the binder is computed over the truncated ClientHello (after `transcript`, RFC
/// 8446 §4.2.11.2) and patched in.
///
/// The hello is built over borrowed values (see [`HelloExtensions`]) and written once: the
/// message's buffer is its one allocation (the test hook, ECH's GREASE body the first time,
/// and a PSK's running hash add theirs).
pub(crate) fn client_hello(
    cx: &mut Common,
    key_share: Option<&dyn ActiveKeyExchange>,
    share_classical: bool,
    cookie: Option<&[u8]>,
    psk: Option<&PskOffer>,
    transcript: &Transcript,
) -> Result<Vec<u8>, Error> {
    cx.client_hello_hash = None;
    let binder_len = psk.map(|p| p.suite.hash.output_len());
    let (mut bytes, offered, offered_shares, fresh_grease) = {
        let cx: &Common = cx;
        let config = &cx.config;
        let tls13 = cx.offers(ProtocolVersion::TLSv1_3);
        let tls12 = cx.offers(ProtocolVersion::TLSv1_2);
        // What the extensions borrow, made before them (and dropped after them).
        let shares = key_share.map(|k| key_shares(&cx.offered_groups, k, share_classical));
        let compress_body = compress::extension_body(&cx.cert_compression);
        let record_size_limit = config.extensions.record_size_limit.map(u16::to_be_bytes);
        let psk_identity = psk.map(|p| PskIdentity {
            identity: PayloadU16(Cow::Borrowed(&p.identity)),
            obfuscated_ticket_age: p.obfuscated_age,
        });
        let psk_binder = binder_len
            .map(|len| ZERO_BINDER.get(..len).map(|z| PayloadU8(Cow::Borrowed(z))))
            .map(|b| b.ok_or(Error::Internal("a binder longer than 64 bytes")))
            .transpose()?;
        // ECH's body is sized from the extensions before it: made once they are there.
        #[allow(clippy::needless_late_init)]
        let ech_body;
        let mut offered = OfferedExtensions::default();
        let mut offered_shares = ShortList::default();
        let mut list = HelloExtensions::new();
        // After a rejected ECH the hello is the outer one, which always names the public name.
        let sni =
            config.enable_sni || matches!(cx.ech, Some(crate::ech::EchState::Rejected { .. }));
        if let (true, ServerName::DnsName(name)) = (sni, &cx.server_name) {
            list.push(ClientExtension::ServerName(Cow::Borrowed(
                name.as_ref().as_bytes(),
            )))?;
        }
        if !config.alpn_protocols.is_empty() {
            if config
                .alpn_protocols
                .iter()
                .any(|p| p.is_empty() || p.len() > 255)
            {
                return Err(Error::Config(
                    "an ALPN protocol is empty or longer than 255 bytes",
                ));
            }
            list.push(ClientExtension::Alpn(ProtocolNames(Cow::Borrowed(
                &config.alpn_protocols,
            ))))?;
        }
        list.push(ClientExtension::SupportedGroups(ListU16(Items::Borrowed(
            &cx.offered_groups,
        ))))?;
        if let Some((shares, n)) = &shares {
            let shares = shares.get(..*n).unwrap_or_default();
            offered_shares.extend(shares.iter().map(|s| s.group));
            list.push(ClientExtension::KeyShare(ListU16(Items::Borrowed(shares))))?;
        }
        if cx.offer_early_data && psk.is_some() {
            list.push(ClientExtension::raw(ExtensionType::EarlyData, &[]))?;
        }
        if tls13 {
            let versions = match tls12 {
                true => TLS13_AND_TLS12,
                false => TLS13_AND_TLS12.get(..1).unwrap_or_default(),
            };
            list.push(ClientExtension::SupportedVersions(ListU8(Items::Borrowed(
                versions,
            ))))?;
        }
        list.push(ClientExtension::SignatureAlgorithms(ListU16(
            Items::Borrowed(&cx.offered_schemes),
        )))?;
        if !cx.cert_compression.is_empty() {
            list.push(ClientExtension::raw(
                ExtensionType::CompressCertificate,
                &compress_body,
            ))?;
        }
        if let Some(c) = cookie {
            list.push(ClientExtension::Cookie(PayloadU16(Cow::Borrowed(c))))?;
        }
        if tls12 {
            // RFC 8422 §5.1.2 (uncompressed only), RFC 7627, RFC 5746 (empty), RFC 5077.
            list.push(ClientExtension::raw(ExtensionType::EcPointFormats, &[1, 0]))?;
            list.push(ClientExtension::raw(
                ExtensionType::ExtendedMasterSecret,
                &[],
            ))?;
            list.push(ClientExtension::raw(ExtensionType::RenegotiationInfo, &[0]))?;
            let ticket = cx
                .tls12_offer
                .as_ref()
                .and_then(|s| s.ticket.as_deref())
                .unwrap_or_default();
            list.push(ClientExtension::raw(ExtensionType::SessionTicket, ticket))?;
        }
        if tls13 {
            let modes = match cx.offer_psk_ke {
                true => PSK_DHE_KE_AND_PSK_KE,
                false => PSK_DHE_KE,
            };
            list.push(ClientExtension::PskKeyExchangeModes(ListU8(
                Items::Borrowed(modes),
            )))?;
        }
        if config.extensions.status_request {
            // RFC 6066 §8: status_type ocsp, no responder ids, no request extensions.
            list.push(ClientExtension::raw(
                ExtensionType::StatusRequest,
                &[1, 0, 0, 0, 0],
            ))?;
        }
        if config.extensions.signed_certificate_timestamps {
            list.push(ClientExtension::raw(
                ExtensionType::SignedCertificateTimestamp,
                &[],
            ))?;
        }
        if let Some(limit) = &record_size_limit {
            list.push(ClientExtension::raw(ExtensionType::RecordSizeLimit, limit))?;
        }
        ech_body = crate::ech::extension_body(cx, list.as_slice())?;
        if let Some(body) = &ech_body {
            list.push(ClientExtension::raw(
                ExtensionType::EncryptedClientHello,
                body,
            ))?;
        }
        if let (Some(identity), Some(binder)) = (&psk_identity, &psk_binder) {
            list.push(ClientExtension::PreSharedKey(OfferedPsks {
                identities: ListU16(Items::Borrowed(core::slice::from_ref(identity))),
                binders: ListU16(Items::Borrowed(core::slice::from_ref(binder))),
            }))?;
        }
        let hooked = cx.hooks.client_hello.as_ref().map(|hook| {
            let mut v = list.as_slice().to_vec();
            hook(&mut v);
            v
        });
        let exts = hooked.as_deref().unwrap_or(list.as_slice());
        if psk.is_some() && !matches!(exts.last(), Some(ClientExtension::PreSharedKey(_))) {
            return Err(Error::Internal("pre_shared_key is not the last extension"));
        }
        offered.extend(exts.iter().map(ClientExtension::typ));
        let bytes = HandshakeMessage::ClientHello(ClientHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random: cx.random,
            session_id: PayloadU8(Cow::Borrowed(cx.session_id.as_slice())),
            cipher_suites: ListU16(Items::Borrowed(&cx.offered_suites)),
            compression_methods: ListU8(Items::Borrowed(&[Compression::Null])),
            extensions: ListU16(Items::Borrowed(exts)),
        })
        .encode()?;
        // The extensions borrow `ech_body`: gone before a fresh GREASE body moves out.
        drop(hooked);
        drop(list);
        let fresh_grease = match ech_body {
            Some(Cow::Owned(body)) => Some(body),
            _ => None,
        };
        (bytes, offered, offered_shares, fresh_grease)
    };
    cx.offered = offered;
    cx.offered_shares = offered_shares;
    if let Some(body) = fresh_grease {
        crate::ech::keep_grease(cx, body);
    }
    if let (Some(p), Some(len)) = (psk, binder_len) {
        // The binders list (u16 length, u8 length, binder) ends the message.
        let cut = bytes
            .len()
            .checked_sub(len.saturating_add(3))
            .ok_or(Error::Internal("ClientHello shorter than its binder"))?;
        let (truncated, binder_slot) = bytes.split_at_mut(cut);
        let mut prefix = transcript.context_with(p.suite.hash, truncated);
        let hash = prefix.fork_finish();
        let ks = KeySchedule::new(p.suite, Some(p.psk.as_bytes()));
        let empty = p.suite.hash.hash(&[]);
        let binder_key = ks.derive(b"res binder", empty.as_bytes())?;
        let finished_key = key_schedule::finished_key(p.suite, &binder_key)?;
        let binder = key_schedule::verify_data(p.suite, &finished_key, hash.as_bytes());
        cx.observe("psk", p.psk.as_bytes());
        cx.observe("binder_key", binder_key.as_bytes());
        cx.observe("psk_binder_finished_key", finished_key.as_bytes());
        cx.observe("psk_binder_truncated_client_hello", truncated);
        cx.observe("psk_binder_transcript_hash", hash.as_bytes());
        cx.observe("psk_binder", binder.as_bytes());
        let slot = binder_slot
            .get_mut(3..)
            .ok_or(Error::Internal("binder slot"))?;
        if slot.len() != binder.as_bytes().len() {
            return Err(Error::Internal("binder length"));
        }
        slot.copy_from_slice(binder.as_bytes());
        // The first ClientHello's hash, kept for the transcript (see `Transcript::add_hashed`).
        if transcript.buffered().is_some_and(<[u8]>::is_empty) {
            prefix.update(binder_slot);
            cx.client_hello_hash = Some(ClientHelloHash {
                hash: p.suite.hash,
                ctx: prefix,
                len: bytes.len(),
            });
        }
    }
    Ok(bytes)
}

/// The running hash of the ClientHello [`client_hello`] made last (only a first ClientHello
/// with a PSK: its binder needed that hash up to the binders), for the transcript to continue
/// rather than hash the message again.
pub(crate) struct ClientHelloHash {
    hash: &'static dyn Hash,
    ctx: Box<dyn HashContext>,
    /// The ClientHello's length, checked when the transcript takes the message.
    len: usize,
}

/// Adds the ClientHello `ch` that [`client_hello`] just made to `transcript`, with its running
/// hash when it kept one.
pub(crate) fn add_client_hello(cx: &mut Common, transcript: &mut Transcript, ch: &[u8]) {
    match cx.client_hello_hash.take() {
        Some(h) if h.len == ch.len() => transcript.add_hashed(ch, h.hash, h.ctx),
        _ => transcript.add(ch),
    }
}

/// The client certificate for a CertificateRequest: the resolver's chain and signer for one of
/// the server's `schemes` that `usable` allows (the version's rules, and in TLS 1.2 the
/// requested certificate types), or an empty chain without a signer (RFC 8446 §4.4.2,
/// RFC 5246 §7.4.6: the server then decides). The schemes go to the resolver in our signing
/// preference order when the configuration has one ([`HandshakeConfig::signing_schemes`]),
/// else in the server's.
pub(crate) fn choose_client_cert(
    cx: &Common,
    schemes: &[SignatureScheme],
    usable: impl Fn(SignatureScheme) -> bool,
) -> (Vec<CertificateDer<'static>>, Option<Box<dyn Signer>>) {
    let usable: Vec<SignatureScheme> = match &cx.config.signing_schemes {
        Some(ours) => ours
            .iter()
            .copied()
            .filter(|s| schemes.contains(s) && usable(*s))
            .collect(),
        None => schemes.iter().copied().filter(|s| usable(*s)).collect(),
    };
    if usable.is_empty() {
        return (Vec::new(), None);
    }
    cx.config
        .client_auth
        .as_ref()
        .and_then(|r| r.resolve(&usable))
        .filter(|(chain, signer)| !chain.is_empty() && usable.contains(&signer.scheme()))
        .map_or((Vec::new(), None), |(chain, signer)| (chain, Some(signer)))
}

/// The key a signature scheme signs with, for the schemes we accept at all (no SHA-1, no
/// scheme we do not know): each version's rules are a filter over this one table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SchemeKey {
    /// RSASSA-PKCS1-v1_5 (TLS 1.2 only, RFC 8446 §4.2.3).
    RsaPkcs1,
    /// RSASSA-PSS with an rsaEncryption key.
    RsaPssRsae,
    /// RSASSA-PSS with an RSASSA-PSS key (`rsa_pss_pss_*`; TLS 1.2 too, RFC 8446 §4.2.3).
    RsaPssPss,
    /// ECDSA (`ecdsa_sign` in TLS 1.2).
    Ecdsa,
    /// Ed25519 / Ed448 (`ecdsa_sign` in TLS 1.2, RFC 8422 §5.5).
    EdDsa,
}

/// The [`SchemeKey`] of `scheme`, `None` for a scheme we never accept.
pub(crate) fn scheme_key(scheme: SignatureScheme) -> Option<SchemeKey> {
    use SignatureScheme as S;
    Some(match scheme {
        S::RSA_PKCS1_SHA256 | S::RSA_PKCS1_SHA384 | S::RSA_PKCS1_SHA512 => SchemeKey::RsaPkcs1,
        S::RSA_PSS_SHA256 | S::RSA_PSS_SHA384 | S::RSA_PSS_SHA512 => SchemeKey::RsaPssRsae,
        S::RSA_PSS_PSS_SHA256 | S::RSA_PSS_PSS_SHA384 | S::RSA_PSS_PSS_SHA512 => {
            SchemeKey::RsaPssPss
        }
        S::ECDSA_NISTP256_SHA256 | S::ECDSA_NISTP384_SHA384 | S::ECDSA_NISTP521_SHA512 => {
            SchemeKey::Ecdsa
        }
        S::ED25519 | S::ED448 => SchemeKey::EdDsa,
        _ => return None,
    })
}

/// Our certificate chain as the `opaque ASN.1Cert<1..2^24-1>` list both versions send.
pub(crate) fn cert_list<'c>(
    chain: &'c [CertificateDer<'_>],
) -> Result<Vec<PayloadU24<'c, 1>>, Error> {
    chain
        .iter()
        .map(|c| PayloadU24::new(c.as_ref()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::Internal("a client certificate is empty or too long"))
}

/// Our CertificateVerify (the same message in both versions): `signer`'s signature over
/// `content`.
pub(crate) fn certificate_verify(signer: &dyn Signer, content: &[u8]) -> Result<Vec<u8>, Error> {
    let signature = PayloadU16::new(signer.sign(content)?)
        .map_err(|_| Error::Internal("signature longer than 65535 bytes"))?;
    Ok(HandshakeMessage::CertificateVerify(CertificateVerify {
        scheme: signer.scheme(),
        signature,
    })
    .encode()?)
}

/// Compares the server's Finished with the one we computed, in constant time.
pub(crate) fn check_finished(expected: &[u8], received: &[u8]) -> Result<FinishedVerified, Error> {
    if bool::from(subtle::ConstantTimeEq::ct_eq(expected, received)) {
        Ok(FinishedVerified(()))
    } else {
        Err(PeerMisbehaved::BadFinished.into())
    }
}

/// Waiting for ServerHello (or HelloRetryRequest).
pub(crate) struct ExpectServerHello {
    pub(crate) transcript: Transcript,
    /// Our TLS 1.3 key share (`None` when only TLS 1.2 is offered).
    pub(crate) key_share: Option<Box<dyn ActiveKeyExchange>>,
    /// The suite of the HelloRetryRequest, once one came.
    pub(crate) retry_suite: Option<&'static Tls13CipherSuite>,
    /// The TLS 1.3 ticket offered, if any.
    pub(crate) psk: Option<PskOffer>,
    /// The first ClientHello offered early data (its outcome is still to be reported).
    pub(crate) early_offered: bool,
}

impl ExpectServerHello {
    /// The version dispatch: checks what both versions check, then hands the ServerHello to
    /// `tls13` (supported_versions) or `tls12` (legacy_version).
    pub(crate) fn handle(
        self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::ServerHello(sh) = msg else {
            return Err(unexpected("ServerHello", msg.typ()));
        };
        // RFC 8446 §4.1.3 / RFC 5246 §7.4.1.3: only the null method was offered. (No RFC
        // names the alert: illegal_parameter, as for any choice we did not offer.)
        if sh.compression_method != Compression::Null {
            return Err(PeerMisbehaved::NonNullCompression.into());
        }
        let exts = &sh.extensions;
        let Some(sv) = msgs::find_extension(exts, ExtensionType::SupportedVersions) else {
            return self.legacy_version(cx, &sh, raw, events);
        };
        // The version first: what the other fields must hold depends on it (a TLS 1.2 server
        // that wrongly sends supported_versions is refused for that, not for its session id).
        let version = ProtocolVersion::read_bytes(&sv)?;
        if version.get() < ProtocolVersion::TLSv1_3.get() {
            // RFC 8446 §4.2.1: a pre-1.3 version in supported_versions is illegal_parameter.
            return Err(PeerMisbehaved::SupportedVersionsBeforeTls13.into());
        }
        if self.retry_suite.is_some() && version != ProtocolVersion::TLSv1_3 {
            // RFC 8446 §4.1.4: the HelloRetryRequest's selected_version must be retained.
            return Err(PeerMisbehaved::VersionChangedAfterRetry.into());
        }
        if version != ProtocolVersion::TLSv1_3 || !cx.offers(ProtocolVersion::TLSv1_3) {
            return Err(PeerMisbehaved::UnofferedVersion.into());
        }
        if sh.session_id.as_slice() != cx.session_id.as_slice() {
            return Err(PeerMisbehaved::SessionIdMismatch.into());
        }
        if sh.legacy_version != ProtocolVersion::TLSv1_2 {
            return Err(PeerMisbehaved::BadLegacyVersion.into());
        }
        let suite = tls13::suite(cx, sh.cipher_suite)?;
        if sh.is_retry_request() {
            return tls13::retry(self, cx, &sh, suite, raw, events).map(State::ServerHello);
        }
        tls13::server_hello(self, cx, &sh, suite, raw, events).map(State::Tls13)
    }

    /// A ServerHello without supported_versions: TLS 1.2 or older.
    fn legacy_version(
        self,
        cx: &mut Common,
        sh: &ServerHello,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let v = sh.legacy_version;
        if v == ProtocolVersion::TLSv1_2 && cx.offers(ProtocolVersion::TLSv1_2) {
            // RFC 8446 §4.1.3: a client that offered TLS 1.3 checks the downgrade sentinel.
            if cx.offers(ProtocolVersion::TLSv1_3)
                && (sh.random.ends_with(&msgs::DOWNGRADE_TLS12)
                    || sh.random.ends_with(&msgs::DOWNGRADE_TLS11))
            {
                return Err(PeerMisbehaved::DowngradeSentinel.into());
            }
            if self.retry_suite.is_some() {
                return Err(PeerMisbehaved::Tls12AfterRetry.into());
            }
            if self.early_offered {
                // RFC 8446 D.3: "A client that attempts to send 0-RTT data MUST fail a
                // connection if it receives a ServerHello with TLS 1.2 or older."
                return Err(PeerMisbehaved::Tls12AfterEarlyData.into());
            }
            return tls12::server_hello(cx, sh, raw, self.transcript, events).map(State::Tls12);
        }
        if v.get() < ProtocolVersion::TLSv1_2.get() {
            return Err(Error::PeerIncompatible(PeerIncompatible::VersionTooOld(
                v.get(),
            )));
        }
        // TLS 1.2 not offered, or a version from the future without supported_versions.
        Err(Error::PeerIncompatible(
            PeerIncompatible::VersionNotOffered(v.get()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_spill_to_the_heap_past_their_capacity() {
        let mut l: ShortList<u16, 2> = ShortList::default();
        assert!(l.is_empty() && matches!(l, ShortList::Heap(ref v) if v.capacity() == 0));
        l.extend([1, 2]);
        assert!(matches!(l, ShortList::Inline { .. }));
        assert_eq!(&*l, &[1, 2]);
        l.push(3);
        assert!(matches!(l, ShortList::Heap(_)));
        assert_eq!(&*l, &[1, 2, 3]);
        let from: ShortList<u16, 4> = (0..9).collect();
        assert_eq!(&*from, &(0..9).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn a_hello_holds_max_extensions_and_refuses_one_more() {
        let mut list = HelloExtensions::new();
        for i in 0..MAX_EXTENSIONS {
            let typ = ExtensionType::from(u16::try_from(i).unwrap());
            list.push(ClientExtension::raw(typ, &[])).unwrap();
        }
        assert_eq!(list.as_slice().len(), MAX_EXTENSIONS);
        assert!(matches!(
            list.push(ClientExtension::raw(ExtensionType::Padding, &[])),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn session_ids_hold_up_to_32_bytes() {
        assert_eq!(SessionId::new(&[7; 32]).unwrap().as_slice(), &[7; 32]);
        assert!(SessionId::new(&[7; 33]).is_none());
        assert!(SessionId::default().as_slice().is_empty());
    }
}

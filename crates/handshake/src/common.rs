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
    self, CertificateVerify, ClientExtension, ClientHello, Extension, HandshakeMessage,
    KeyShareEntry, OfferedPsks, PskIdentity, ServerHello,
};
use crate::{compress, tls12, tls13};
use overture_crypto_provider::{
    ActiveKeyExchange, Hash, HashContext, KeyExchange, Secret, Signer, Tls13CipherSuite,
};
use overture_types::{
    CertificateDer, CipherSuite, Codec, Compression, ExtensionType, HandshakeType, LazyU16,
    NamedGroup, PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, ServerName,
    SignatureScheme, UnixTime, VecU8, VecU16,
};
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

/// What stays the same for the whole connection.
pub(crate) struct Common {
    pub(crate) config: Arc<HandshakeConfig>,
    pub(crate) server_name: ServerName<'static>,
    hooks: TestHooks,
    pub(crate) random: [u8; 32],
    pub(crate) session_id: Vec<u8>,
    /// Extension types of the last ClientHello (after hooks).
    pub(crate) offered: Vec<ExtensionType>,
    pub(crate) offered_suites: Vec<CipherSuite>,
    pub(crate) offered_groups: Vec<NamedGroup>,
    /// The groups of the key shares in the last ClientHello: one, or (first flight) a hybrid
    /// and its classical group sharing one key.
    pub(crate) offered_shares: Vec<NamedGroup>,
    pub(crate) offered_schemes: Vec<SignatureScheme>,
    ccs_sent: bool,
    pub(crate) alpn: Option<Vec<u8>>,
    /// The TLS 1.2 session offered for resumption (taken at ServerHello).
    pub(crate) tls12_offer: Option<Tls12Session>,
    /// [`StartOptions::allow_tls12_without_ems`].
    pub(crate) allow_no_ems: bool,
    /// [`StartOptions::offer_psk_ke`].
    pub(crate) offer_psk_ke: bool,
    /// The certificate compression algorithms offered (empty: none).
    pub(crate) cert_compression: Vec<overture_types::CertificateCompressionAlgorithm>,
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
    let mut offered_suites: Vec<CipherSuite> = Vec::new();
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
    let offered_groups: Vec<NamedGroup> = offered_kx().map(|g| g.group()).collect();
    let first = offered_kx()
        .next()
        .ok_or(Error::Config("no key-exchange group"))?;
    let supported = config.verifier.supported_schemes();
    let offered_schemes: Vec<SignatureScheme> = match &config.verify_schemes {
        Some(prefs) => prefs
            .iter()
            .copied()
            .filter(|s| supported.contains(s))
            .collect(),
        None => supported,
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
    let mut session_id = Vec::new();
    match &tls12_offer {
        // RFC 5077 §3.4: a session id of our own tells us whether the ticket was taken.
        Some(s) if s.ticket.is_some() => {
            session_id = vec![0u8; 32];
            provider.secure_random.fill(&mut session_id)?;
        }
        Some(s) => session_id.clone_from(&s.session_id),
        None if config.middlebox_compat && tls13 => {
            session_id = vec![0u8; 32];
            provider.secure_random.fill(&mut session_id)?;
        }
        None => {}
    }
    let ech = crate::ech::start(&config.extensions.ech, config.hpke_provider(), tls12)?;
    let key_share = if tls13 { Some(first.start()?) } else { None };
    let mut common = Common {
        config,
        server_name,
        hooks,
        random,
        session_id,
        offered: Vec::new(),
        offered_suites,
        offered_groups,
        offered_shares: Vec::new(),
        offered_schemes,
        ccs_sent: false,
        alpn: None,
        tls12_offer,
        allow_no_ems: options.allow_tls12_without_ems,
        offer_psk_ke: options.offer_psk_ke,
        cert_compression: Vec::new(),
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
    exts: &LazyU16<'_, Extension<'_>>,
    events: &mut Vec<Event>,
) -> Result<(), Error> {
    if let Some(body) = msgs::find_extension(exts, ExtensionType::RecordSizeLimit) {
        let limit = u16::read_bytes(&body)?;
        if limit < 64 {
            return Err(PeerMisbehaved::RecordSizeLimitTooSmall(limit).into());
        }
        events.push(Event::PeerRecordSizeLimit(limit));
    }
    Ok(())
}

/// Emits the server's chain (before verifying it, so that a failure can still show it), then
/// verifies it: the end entity and the proof.
pub(crate) fn verify_chain(
    cx: &Common,
    chain: Vec<CertificateDer<'static>>,
    now: UnixTime,
    events: &mut Vec<Event>,
) -> Result<(CertificateDer<'static>, ServerCertVerified), Error> {
    let Some((end_entity, intermediates)) = chain.split_first() else {
        return Err(PeerMisbehaved::EmptyCertificate.into());
    };
    let end_entity = end_entity.clone();
    let verified =
        cx.config
            .verifier
            .verify_server_cert(&end_entity, intermediates, &cx.server_name, now);
    events.push(Event::PeerCertificates(chain));
    Ok((end_entity, verified?))
}

fn raw_ext(typ: ExtensionType, data: &[u8]) -> ClientExtension<'static> {
    ClientExtension::Other(Extension {
        typ,
        data: PayloadU16(data.to_vec().into()),
    })
}

/// The key shares of a ClientHello: `key_share`'s, then — when `share_classical` (the first
/// flight; after a HelloRetryRequest only the group it named is sent, RFC 8446 §4.1.2) and the
/// key is a hybrid whose classical group we offer — the classical part of the same key as a
/// share of its own, so a server without the hybrid needs no HelloRetryRequest.
fn key_shares<'k>(
    offered_groups: &[NamedGroup],
    key_share: &'k dyn ActiveKeyExchange,
    share_classical: bool,
) -> Vec<KeyShareEntry<'k>> {
    let mut shares = vec![KeyShareEntry {
        group: key_share.group(),
        key_exchange: PayloadU16(key_share.public_key().into()),
    }];
    if let Some((group, share)) = key_share
        .classical_component()
        .filter(|(g, _)| share_classical && offered_groups.contains(g))
    {
        shares.push(KeyShareEntry {
            group,
            key_exchange: PayloadU16(share.into()),
        });
    }
    shares
}

/// Builds and encodes a ClientHello; records the offered extension types and key-share groups.
/// With a PSK, the binder is computed over the truncated ClientHello (after `transcript`, RFC
/// 8446 §4.2.11.2) and patched in.
pub(crate) fn client_hello(
    cx: &mut Common,
    key_share: Option<&dyn ActiveKeyExchange>,
    share_classical: bool,
    cookie: Option<&[u8]>,
    psk: Option<&PskOffer>,
    transcript: &Transcript,
) -> Result<Vec<u8>, Error> {
    let config = &cx.config;
    let tls13 = cx.offers(ProtocolVersion::TLSv1_3);
    let tls12 = cx.offers(ProtocolVersion::TLSv1_2);
    cx.client_hello_hash = None;
    // Room for every extension below (up to 16 without hooks): one allocation, no regrowth.
    let mut exts = Vec::with_capacity(16);
    // After a rejected ECH the hello is the outer one, which always names the public name.
    let sni = config.enable_sni || matches!(cx.ech, Some(crate::ech::EchState::Rejected { .. }));
    if let (true, ServerName::DnsName(name)) = (sni, &cx.server_name) {
        exts.push(ClientExtension::ServerName(
            name.as_ref().as_bytes().to_vec(),
        ));
    }
    if !config.alpn_protocols.is_empty() {
        let protocols = config
            .alpn_protocols
            .iter()
            .map(|p| PayloadU8::new(p.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Error::Config("an ALPN protocol is empty or longer than 255 bytes"))?;
        exts.push(ClientExtension::Alpn(VecU16(protocols)));
    }
    exts.push(ClientExtension::SupportedGroups(VecU16(
        cx.offered_groups.clone(),
    )));
    cx.offered_shares.clear();
    if let Some(key_share) = key_share {
        let shares = key_shares(&cx.offered_groups, key_share, share_classical);
        cx.offered_shares.extend(shares.iter().map(|s| s.group));
        exts.push(ClientExtension::KeyShare(VecU16(shares)));
    }
    if cx.offer_early_data && psk.is_some() {
        exts.push(raw_ext(ExtensionType::EarlyData, &[]));
    }
    if tls13 {
        let mut versions = Vec::with_capacity(2);
        versions.push(ProtocolVersion::TLSv1_3);
        if tls12 {
            versions.push(ProtocolVersion::TLSv1_2);
        }
        exts.push(ClientExtension::SupportedVersions(VecU8(versions)));
    }
    exts.push(ClientExtension::SignatureAlgorithms(VecU16(
        cx.offered_schemes.clone(),
    )));
    if !cx.cert_compression.is_empty() {
        exts.push(raw_ext(
            ExtensionType::CompressCertificate,
            &compress::extension_body(&cx.cert_compression),
        ));
    }
    if let Some(c) = cookie {
        exts.push(ClientExtension::Cookie(PayloadU16(c.into())));
    }
    if tls12 {
        // RFC 8422 §5.1.2 (uncompressed only), RFC 7627, RFC 5746 (empty), RFC 5077.
        exts.push(raw_ext(ExtensionType::EcPointFormats, &[1, 0]));
        exts.push(raw_ext(ExtensionType::ExtendedMasterSecret, &[]));
        exts.push(raw_ext(ExtensionType::RenegotiationInfo, &[0]));
        let ticket = cx
            .tls12_offer
            .as_ref()
            .and_then(|s| s.ticket.as_deref())
            .unwrap_or_default();
        exts.push(raw_ext(ExtensionType::SessionTicket, ticket));
    }
    if tls13 {
        let mut modes = vec![PskKeyExchangeMode::PskDheKe];
        if cx.offer_psk_ke {
            modes.push(PskKeyExchangeMode::PskKe);
        }
        exts.push(ClientExtension::PskKeyExchangeModes(VecU8(modes)));
    }
    if config.extensions.status_request {
        // RFC 6066 §8: status_type ocsp, no responder ids, no request extensions.
        exts.push(raw_ext(ExtensionType::StatusRequest, &[1, 0, 0, 0, 0]));
    }
    if config.extensions.signed_certificate_timestamps {
        exts.push(raw_ext(ExtensionType::SignedCertificateTimestamp, &[]));
    }
    if let Some(limit) = config.extensions.record_size_limit {
        exts.push(raw_ext(
            ExtensionType::RecordSizeLimit,
            &limit.to_be_bytes(),
        ));
    }
    if let Some(ech) = crate::ech::client_extension(cx, &exts)? {
        exts.push(ech);
    }
    let binder_len = psk.map(|p| p.suite.hash.output_len());
    if let (Some(p), Some(len)) = (psk, binder_len) {
        exts.push(ClientExtension::PreSharedKey(OfferedPsks {
            identities: VecU16(vec![PskIdentity {
                identity: PayloadU16(p.identity.as_slice().into()),
                obfuscated_ticket_age: p.obfuscated_age,
            }]),
            binders: VecU16(vec![PayloadU8(vec![0u8; len].into())]),
        }));
    }
    if let Some(hook) = &cx.hooks.client_hello {
        hook(&mut exts);
    }
    if psk.is_some() && !matches!(exts.last(), Some(ClientExtension::PreSharedKey(_))) {
        return Err(Error::Internal("pre_shared_key is not the last extension"));
    }
    cx.offered = exts.iter().map(ClientExtension::typ).collect();
    let ch = ClientHello {
        legacy_version: ProtocolVersion::TLSv1_2,
        random: cx.random,
        session_id: PayloadU8(cx.session_id.as_slice().into()),
        cipher_suites: VecU16(cx.offered_suites.clone()),
        compression_methods: VecU8(vec![Compression::Null]),
        extensions: VecU16(exts),
    };
    let mut bytes = HandshakeMessage::ClientHello(ch).encode()?;
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

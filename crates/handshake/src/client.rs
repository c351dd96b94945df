//! The TLS 1.3 client state machine.
//!
//! One `Expect*` state per message the server may send next. Each takes itself by value,
//! handles one message, and returns the next state; a state that verified something carries a
//! proof value ([`ServerCertVerified`], [`SignatureVerified`], [`FinishedVerified`]) that the
//! next state's constructor demands, so a path that skips a check does not compile.

use crate::config::{
    Event, HandshakeConfig, Level, MAX_TICKET_LEN, ServerCertVerified, SignatureVerified,
    StartOptions, Tls12Session, Tls13Ticket,
};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::key_schedule::{self, KeySchedule, Transcript};
use crate::msgs::{
    self, Certificate, CertificateEntry, CertificateVerify, ClientExtension, ClientHello,
    Extension, ExtensionContext, HandshakeMessage, KeyShareEntry, OfferedPsks, PskIdentity,
    ServerHello,
};
use crate::tls12::{self, Tls12State};
use overture_crypto_provider::{ActiveKeyExchange, Secret, SupportedCipherSuite, Tls13CipherSuite};
use overture_types::{
    CertificateDer, CipherSuite, Codec, Compression, ExtensionType, KeyUpdateRequest, NamedGroup,
    PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, Reader, ServerName,
    SignatureScheme, UnixTime, VecU8, VecU16, VecU24,
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
pub type ClientHelloHook = Arc<dyn Fn(&mut Vec<ClientExtension>) + Send + Sync>;
/// See [`TestHooks::observe`].
#[doc(hidden)]
pub type ObserveHook = Arc<dyn Fn(&str, &[u8]) + Send + Sync>;

/// Proof that the server's Finished verified. Only this crate's state machines make one.
#[derive(Debug)]
pub struct FinishedVerified(());

impl FinishedVerified {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

/// Proof that the server selected the PSK we offered (its Finished, keyed by that PSK, then
/// authenticates it). Only the ServerHello handler makes one.
#[derive(Debug)]
struct PskAccepted(());

/// A TLS 1.3 ticket being offered.
struct PskOffer {
    /// The suite of the ticket's connection (its hash is the PSK's).
    suite: &'static Tls13CipherSuite,
    psk: Secret,
    identity: Vec<u8>,
    obfuscated_age: u32,
}
const TLS13_CONTEXT_SERVER: &[u8] = b"TLS 1.3, server CertificateVerify";
const TLS13_CONTEXT_CLIENT: &[u8] = b"TLS 1.3, client CertificateVerify";
/// RFC 8446 §4.6.1: at most seven days.
const MAX_TICKET_LIFETIME: u32 = 604_800;

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
    pub(crate) offered_schemes: Vec<SignatureScheme>,
    ccs_sent: bool,
    pub(crate) alpn: Option<Vec<u8>>,
    /// The TLS 1.2 session offered for resumption (taken at ServerHello).
    pub(crate) tls12_offer: Option<Tls12Session>,
    /// [`StartOptions::allow_tls12_without_ems`].
    pub(crate) allow_no_ems: bool,
    /// [`StartOptions::offer_psk_ke`].
    offer_psk_ke: bool,
}

impl Common {
    pub(crate) fn observe(&self, name: &str, value: &[u8]) {
        if let Some(f) = &self.hooks.observe {
            f(name, value);
        }
    }

    /// Whether an observe hook is set (to compute values only a test looks at).
    fn observing(&self) -> bool {
        self.hooks.observe.is_some()
    }

    pub(crate) fn key_log(&self, label: &str, secret: &Secret) {
        if let Some(kl) = &self.config.key_log {
            kl.log(label, &self.random, secret.as_bytes());
        }
    }

    fn offers(&self, v: ProtocolVersion) -> bool {
        self.config.versions.contains(&v)
    }
}

/// A TLS client handshake in progress (or finished: it then handles post-handshake messages).
pub struct ClientHandshake {
    common: Common,
    state: Option<State>,
}

impl core::fmt::Debug for ClientHandshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientHandshake")
            .field("server_name", &self.common.server_name)
            .field("state", &self.state.as_ref().map(State::name))
            .finish_non_exhaustive()
    }
}

enum State {
    ServerHello(ExpectServerHello),
    EncryptedExtensions(ExpectEncryptedExtensions),
    CertificateOrCertReq(ExpectCertificateOrCertReq),
    Certificate(ExpectCertificate),
    CertificateVerify(ExpectCertificateVerify),
    Finished(ExpectFinished),
    Traffic(ExpectTraffic),
    Tls12(Tls12State),
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            Self::Tls12(s) => s.name(),
            Self::ServerHello(_) => "ServerHello",
            Self::EncryptedExtensions(_) => "EncryptedExtensions",
            Self::CertificateOrCertReq(_) => "Certificate or CertificateRequest",
            Self::Certificate(_) => "Certificate",
            Self::CertificateVerify(_) => "CertificateVerify",
            Self::Finished(_) => "Finished",
            Self::Traffic(_) => "NewSessionTicket or KeyUpdate",
        }
    }
}

fn unexpected(expected: &'static str, got: &HandshakeMessage) -> Error {
    Error::UnexpectedMessage {
        expected,
        got: got.typ(),
    }
}

impl ClientHandshake {
    /// Starts a handshake: pushes the ClientHello onto `events` and returns the state that
    /// waits for the ServerHello. `options` are the per-connection choices (a TLS 1.3 ticket
    /// and/or a TLS 1.2 session to offer, two policy switches; `StartOptions::default()`:
    /// none). `now` dates a ticket's age (RFC 8446 §4.2.11.1) and checks its lifetime.
    ///
    /// This is the one constructor; a configuration that cannot make a ClientHello is an
    /// [`Error::Config`] and nothing is pushed.
    pub fn start(
        config: Arc<HandshakeConfig>,
        server_name: ServerName<'static>,
        now: UnixTime,
        options: StartOptions,
        events: &mut Vec<Event>,
    ) -> Result<Self, Error> {
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
        let offered_groups: Vec<NamedGroup> =
            provider.kx_groups.iter().map(|g| g.group()).collect();
        let first = provider
            .kx_groups
            .first()
            .ok_or(Error::Config("no key-exchange group"))?;
        let offered_schemes = config.verifier.supported_schemes();
        if offered_schemes.is_empty() {
            return Err(Error::Config("the verifier supports no signature scheme"));
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
            let age_ms = u32::try_from(age.checked_mul(1000)?).ok()?;
            Some(PskOffer {
                suite,
                psk: t.psk,
                identity: t.ticket,
                obfuscated_age: age_ms.wrapping_add(t.age_add),
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
            offered_schemes,
            ccs_sent: false,
            alpn: None,
            tls12_offer,
            allow_no_ems: options.allow_tls12_without_ems,
            offer_psk_ke: options.offer_psk_ke,
        };
        let mut transcript = Transcript::new();
        let ch = client_hello(
            &mut common,
            key_share.as_deref(),
            None,
            psk.as_ref(),
            &transcript,
        )?;
        transcript.add(&ch);
        events.push(Event::Send {
            level: Level::Initial,
            bytes: ch,
        });
        Ok(Self {
            common,
            state: Some(State::ServerHello(ExpectServerHello {
                transcript,
                key_share,
                retry_suite: None,
                psk,
            })),
        })
    }

    /// Handles one whole handshake message (4-byte header included) from the server.
    ///
    /// After an error the handshake is dead: every later call fails.
    pub fn handle(
        &mut self,
        message: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let state = self
            .state
            .take()
            .ok_or(Error::Usage("the handshake already failed"))?;
        let cx = &mut self.common;
        if let State::Tls12(s) = state {
            self.state = Some(State::Tls12(s.handle(cx, message, now, events)?));
            return Ok(());
        }
        let msg = HandshakeMessage::decode(message)?;
        let next = match state {
            State::ServerHello(s) => s.handle(cx, msg, message, events)?,
            State::EncryptedExtensions(s) => s.handle(cx, msg, message, events)?,
            State::CertificateOrCertReq(s) => s.handle(cx, msg, message, now, events)?,
            State::Certificate(s) => s.handle(cx, msg, message, now, events)?,
            State::CertificateVerify(s) => s.handle(cx, msg, message, events)?,
            State::Finished(s) => s.handle(cx, msg, message, events)?,
            State::Traffic(s) => s.handle(cx, msg, now, events)?,
            State::Tls12(_) => return Err(Error::Internal("unreachable state")),
        };
        self.state = Some(next);
        Ok(())
    }

    /// TLS 1.2: the server's ChangeCipherSpec record (body `01`) arrived. Call it only after
    /// [`Event::ExpectCcs`] and only for the first CCS record after it; it emits the
    /// [`Event::InstallReadKey`] for the records that follow (the server's Finished). A CCS at
    /// any other point is an error (`unexpected_message`); in TLS 1.3 the record layer drops
    /// the compatibility CCS itself and never calls this.
    pub fn handle_ccs(&mut self, events: &mut Vec<Event>) -> Result<(), Error> {
        let state = self
            .state
            .take()
            .ok_or(Error::Usage("the handshake already failed"))?;
        match state {
            State::Tls12(s) => {
                self.state = Some(State::Tls12(s.handle_ccs(events)?));
                Ok(())
            }
            _ => Err(PeerMisbehaved::UnexpectedChangeCipherSpec.into()),
        }
    }

    /// Sends a KeyUpdate and installs the next write key (RFC 8446 §4.6.3); with
    /// `request_peer`, asks the server to update its key too. Only once the handshake is
    /// complete, and only in TLS 1.3.
    pub fn update_write_key(
        &mut self,
        request_peer: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        match &mut self.state {
            Some(State::Traffic(t)) => t.update_write_key(request_peer, events),
            Some(State::Tls12(_)) => Err(Error::Usage("TLS 1.2 has no key update")),
            _ => Err(Error::Usage("a key update needs a completed handshake")),
        }
    }

    /// Whether the handshake is complete.
    pub fn is_complete(&self) -> bool {
        match &self.state {
            Some(State::Traffic(_)) => true,
            Some(State::Tls12(s)) => s.is_complete(),
            _ => false,
        }
    }

    /// Whether the negotiated version is TLS 1.2 (`false` before the ServerHello).
    pub fn is_tls12(&self) -> bool {
        matches!(self.state, Some(State::Tls12(_)))
    }

    /// TLS-Exporter (RFC 8446 §7.5 / RFC 5705): fills `out` from the exporter master secret.
    /// In TLS 1.3 an absent context and an empty one are the same; in TLS 1.2 (RFC 5705)
    /// they differ, the PRF's own labels are refused, and a session without the extended
    /// master secret has no exporter (RFC 7627 §5.4).
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        match &self.state {
            Some(State::Traffic(t)) => key_schedule::export(
                t.suite,
                &t.exporter_secret,
                label,
                context.unwrap_or_default(),
                out,
            ),
            Some(State::Tls12(s)) => s.export(&self.common, out, label, context),
            _ => Err(Error::Usage(
                "keying material can be exported after the handshake",
            )),
        }
    }
}

/// The ALPN answer of a ServerHello (1.2) or EncryptedExtensions (1.3): exactly one protocol
/// we offered.
pub(crate) fn parse_alpn(cx: &Common, body: &[u8]) -> Result<Vec<u8>, Error> {
    let list = VecU16::<PayloadU8<1>, 2>::read_bytes(body)?;
    let [one] = list.0.as_slice() else {
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
    Ok(one.0.clone())
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

fn raw_ext(typ: ExtensionType, data: &[u8]) -> ClientExtension {
    ClientExtension::Other(Extension {
        typ,
        data: PayloadU16(data.to_vec()),
    })
}

/// Builds and encodes a ClientHello; records the offered extension types. With a PSK, the
/// binder is computed over the truncated ClientHello (after `transcript`, RFC 8446
/// §4.2.11.2) and patched in.
fn client_hello(
    cx: &mut Common,
    key_share: Option<&dyn ActiveKeyExchange>,
    cookie: Option<&[u8]>,
    psk: Option<&PskOffer>,
    transcript: &Transcript,
) -> Result<Vec<u8>, Error> {
    let config = &cx.config;
    let tls13 = cx.offers(ProtocolVersion::TLSv1_3);
    let tls12 = cx.offers(ProtocolVersion::TLSv1_2);
    let mut exts = Vec::new();
    if let (true, ServerName::DnsName(name)) = (config.enable_sni, &cx.server_name) {
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
    if let Some(key_share) = key_share {
        exts.push(ClientExtension::KeyShare(VecU16(vec![KeyShareEntry {
            group: key_share.group(),
            key_exchange: PayloadU16(key_share.public_key().to_vec()),
        }])));
    }
    if tls13 {
        let mut versions = vec![ProtocolVersion::TLSv1_3];
        if tls12 {
            versions.push(ProtocolVersion::TLSv1_2);
        }
        exts.push(ClientExtension::SupportedVersions(VecU8(versions)));
    }
    exts.push(ClientExtension::SignatureAlgorithms(VecU16(
        cx.offered_schemes.clone(),
    )));
    if let Some(c) = cookie {
        exts.push(ClientExtension::Cookie(PayloadU16(c.to_vec())));
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
    let binder_len = psk.map(|p| p.suite.hash.output_len());
    if let (Some(p), Some(len)) = (psk, binder_len) {
        exts.push(ClientExtension::PreSharedKey(OfferedPsks {
            identities: VecU16(vec![PskIdentity {
                identity: PayloadU16(p.identity.clone()),
                obfuscated_ticket_age: p.obfuscated_age,
            }]),
            binders: VecU16(vec![PayloadU8(vec![0u8; len])]),
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
        session_id: PayloadU8(cx.session_id.clone()),
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
        let hash = transcript.hash_with(p.suite.hash, truncated);
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
    }
    Ok(bytes)
}

/// Waiting for ServerHello (or HelloRetryRequest).
struct ExpectServerHello {
    transcript: Transcript,
    /// Our TLS 1.3 key share (`None` when only TLS 1.2 is offered).
    key_share: Option<Box<dyn ActiveKeyExchange>>,
    /// The suite of the HelloRetryRequest, once one came.
    retry_suite: Option<&'static Tls13CipherSuite>,
    /// The TLS 1.3 ticket offered, if any.
    psk: Option<PskOffer>,
}

impl ExpectServerHello {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::ServerHello(sh) = msg else {
            return Err(unexpected("ServerHello", &msg));
        };
        if sh.compression_method != Compression::Null {
            return Err(PeerMisbehaved::NonNullCompression.into());
        }
        let exts = &sh.extensions.0;
        let Some(sv) = msgs::find_extension(exts, ExtensionType::SupportedVersions) else {
            return self.legacy_version(cx, &sh, raw, events);
        };
        if sh.session_id.as_slice() != cx.session_id.as_slice() {
            return Err(PeerMisbehaved::SessionIdMismatch.into());
        }
        let version = ProtocolVersion::read_bytes(sv)?;
        if version != ProtocolVersion::TLSv1_3 || !cx.offers(ProtocolVersion::TLSv1_3) {
            // RFC 8446 §4.1.3: a pre-1.3 version in supported_versions is illegal_parameter.
            return Err(PeerMisbehaved::UnofferedVersion.into());
        }
        if sh.legacy_version != ProtocolVersion::TLSv1_2 {
            return Err(PeerMisbehaved::BadLegacyVersion.into());
        }
        let suite = self.suite(cx, sh.cipher_suite)?;
        if sh.is_retry_request() {
            return self.retry(cx, &sh, suite, raw, events);
        }
        msgs::check_extensions(exts, &cx.offered, ExtensionContext::ServerHello)?;
        if self
            .retry_suite
            .is_some_and(|first| first.suite != suite.suite)
        {
            return Err(PeerMisbehaved::SuiteChangedAfterRetry.into());
        }
        // RFC 8446 §4.2.11: the server selected our (only) identity, with a suite of its hash.
        let psk = match msgs::find_extension(exts, ExtensionType::PreSharedKey) {
            None => None,
            Some(body) => {
                let selected = u16::read_bytes(body)?;
                let offer = self.psk.take().ok_or(PeerMisbehaved::UnofferedPsk)?;
                if selected != 0 {
                    return Err(PeerMisbehaved::UnofferedPsk.into());
                }
                if offer.suite.hash.algorithm() != suite.hash.algorithm() {
                    return Err(PeerMisbehaved::PskSuiteHashMismatch.into());
                }
                Some(offer)
            }
        };
        let key_share = self
            .key_share
            .take()
            .ok_or(Error::Internal("no key share"))?;
        let (shared, group) = match msgs::find_extension(exts, ExtensionType::KeyShare) {
            Some(share) => {
                let share = KeyShareEntry::read_bytes(share)?;
                if share.group != key_share.group() {
                    return Err(PeerMisbehaved::WrongKeyShareGroup.into());
                }
                let shared = key_share.complete(share.key_exchange.as_slice())?;
                cx.observe("ecdhe_shared_secret", shared.as_bytes());
                (Some(shared), Some(share.group))
            }
            // psk_ke: only when we offered it and the server took our PSK.
            None if psk.is_some() && cx.offer_psk_ke => (None, None),
            None => return Err(PeerMisbehaved::MissingKeyShare.into()),
        };

        self.transcript.start_hash(suite.hash);
        let mut ks = KeySchedule::new(suite, psk.as_ref().map(|p| p.psk.as_bytes()));
        cx.observe("early_secret", ks.current_secret().as_bytes());
        // The early traffic secret (for EndOfEarlyData, if the server accepts early data).
        let early_secret = match &psk {
            Some(_) => {
                let hash = self.transcript.current_hash()?;
                let early = ks.derive(b"c e traffic", hash.as_bytes())?;
                let exporter = ks.derive(b"e exp master", hash.as_bytes())?;
                cx.observe("client_early_traffic_transcript_hash", hash.as_bytes());
                cx.observe("early_exporter_master_transcript_hash", hash.as_bytes());
                cx.observe("client_early_traffic_secret", early.as_bytes());
                cx.observe("early_exporter_master_secret", exporter.as_bytes());
                Some(early)
            }
            None => None,
        };
        self.transcript.add(raw);
        if cx.observing() {
            cx.observe(
                "derived_secret_for_handshake",
                ks.derived_for_next()?.as_bytes(),
            );
        }
        ks.advance(shared.as_ref().map(Secret::as_bytes))?;
        cx.observe("handshake_secret", ks.current_secret().as_bytes());
        let hash = self.transcript.current_hash()?;
        let client_secret = ks.derive(b"c hs traffic", hash.as_bytes())?;
        let server_secret = ks.derive(b"s hs traffic", hash.as_bytes())?;
        cx.observe("client_handshake_traffic_transcript_hash", hash.as_bytes());
        cx.observe("server_handshake_traffic_transcript_hash", hash.as_bytes());
        cx.observe("client_handshake_traffic_secret", client_secret.as_bytes());
        cx.observe("server_handshake_traffic_secret", server_secret.as_bytes());
        cx.key_log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &client_secret);
        cx.key_log("SERVER_HANDSHAKE_TRAFFIC_SECRET", &server_secret);
        let (read_key, server_finished_key) =
            key_schedule::traffic_and_finished_keys(suite, &server_secret)?;
        cx.observe("server_handshake_write_key", read_key.key.as_bytes());
        cx.observe("server_handshake_write_iv", &read_key.iv);

        events.push(Event::ServerHello {
            version: ProtocolVersion::TLSv1_3,
            suite: suite.suite,
            group,
        });
        let psk_accepted = psk.map(|_| PskAccepted(()));
        if psk_accepted.is_some() {
            events.push(Event::Resumed);
        }
        events.push(Event::InstallReadKey(read_key));
        Ok(State::EncryptedExtensions(ExpectEncryptedExtensions {
            hs: HandshakeState {
                suite,
                transcript: self.transcript,
                ks,
                client_secret,
                server_finished_key,
                psk_accepted,
                early_secret,
                early_data_accepted: false,
            },
        }))
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

    fn suite(&self, cx: &Common, suite: CipherSuite) -> Result<&'static Tls13CipherSuite, Error> {
        if !cx.offered_suites.contains(&suite) {
            return Err(PeerMisbehaved::UnofferedCipherSuite.into());
        }
        match cx.config.provider.find_suite(suite) {
            Some(SupportedCipherSuite::Tls13(s)) => Ok(s),
            // A TLS 1.2 suite with TLS 1.3 selected.
            _ => Err(PeerMisbehaved::UnofferedCipherSuite.into()),
        }
    }

    /// HelloRetryRequest (RFC 8446 §4.1.4).
    fn retry(
        mut self,
        cx: &mut Common,
        hrr: &ServerHello,
        suite: &'static Tls13CipherSuite,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        if self.retry_suite.is_some() {
            return Err(PeerMisbehaved::SecondHelloRetryRequest.into());
        }
        let exts = &hrr.extensions.0;
        msgs::check_extensions(exts, &cx.offered, ExtensionContext::HelloRetryRequest)?;
        let group = msgs::find_extension(exts, ExtensionType::KeyShare)
            .map(NamedGroup::read_bytes)
            .transpose()?;
        let cookie = msgs::find_extension(exts, ExtensionType::Cookie)
            .map(PayloadU16::<1>::read_bytes)
            .transpose()?;
        if group.is_none() && cookie.is_none() {
            return Err(PeerMisbehaved::HelloRetryRequestChangesNothing.into());
        }
        let current = self
            .key_share
            .as_ref()
            .map(|k| k.group())
            .ok_or(Error::Internal("no key share"))?;
        if let Some(g) = group {
            if g == current {
                return Err(PeerMisbehaved::HelloRetryRequestSameGroup.into());
            }
            let kx = cx
                .offered_groups
                .contains(&g)
                .then(|| cx.config.provider.find_kx(g))
                .flatten()
                .ok_or(PeerMisbehaved::HelloRetryRequestUnofferedGroup)?;
            self.key_share = Some(kx.start()?);
        }
        // A PSK whose hash is not the retry suite's cannot be used any more (RFC 8446 §4.1.4).
        if self
            .psk
            .as_ref()
            .is_some_and(|p| p.suite.hash.algorithm() != suite.hash.algorithm())
        {
            self.psk = None;
        }
        events.push(Event::HelloRetryRequest { group });
        self.transcript.roll_up_for_retry(suite.hash);
        self.transcript.add(raw);
        let ch2 = client_hello(
            cx,
            self.key_share.as_deref(),
            cookie.as_ref().map(|c| c.as_slice()),
            self.psk.as_ref(),
            &self.transcript,
        )?;
        self.transcript.add(&ch2);
        if cx.config.middlebox_compat && !cx.ccs_sent {
            cx.ccs_sent = true;
            events.push(Event::SendCcs);
        }
        events.push(Event::Send {
            level: Level::Initial,
            bytes: ch2,
        });
        self.retry_suite = Some(suite);
        Ok(State::ServerHello(self))
    }
}

/// The handshake secrets and transcript, from ServerHello to the server's Finished.
struct HandshakeState {
    suite: &'static Tls13CipherSuite,
    transcript: Transcript,
    ks: KeySchedule,
    client_secret: Secret,
    /// The Finished key of `server_handshake_traffic_secret` (made with its read key).
    server_finished_key: Secret,
    /// The server took our PSK: no certificate messages follow.
    psk_accepted: Option<PskAccepted>,
    /// `client_early_traffic_secret`, when a PSK was accepted.
    early_secret: Option<Secret>,
    /// EncryptedExtensions accepted early data: EndOfEarlyData precedes our Finished.
    early_data_accepted: bool,
}

struct ExpectEncryptedExtensions {
    hs: HandshakeState,
}

impl ExpectEncryptedExtensions {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::EncryptedExtensions(ee) = msg else {
            return Err(unexpected("EncryptedExtensions", &msg));
        };
        let exts = &ee.extensions.0;
        msgs::check_extensions(exts, &cx.offered, ExtensionContext::EncryptedExtensions)?;
        if msgs::find_extension(exts, ExtensionType::ServerName).is_some_and(|b| !b.is_empty()) {
            return Err(PeerMisbehaved::BadServerNameAck.into());
        }
        let alpn = msgs::find_extension(exts, ExtensionType::ApplicationLayerProtocolNegotiation)
            .map(|body| parse_alpn(cx, body))
            .transpose()?;
        if let Some(body) = msgs::find_extension(exts, ExtensionType::EarlyData) {
            // Only offered with a PSK; accepted only with it (RFC 8446 §4.2.10).
            Reader::new(body).expect_empty("early_data")?;
            if self.hs.psk_accepted.is_none() {
                return Err(PeerMisbehaved::ExtensionNotAllowedHere(
                    ExtensionType::EarlyData.get(),
                )
                .into());
            }
            self.hs.early_data_accepted = true;
        }
        cx.alpn.clone_from(&alpn);
        events.push(Event::Alpn(alpn));
        self.hs.transcript.add(raw);
        match self.hs.psk_accepted.take() {
            // Resumed: the PSK authenticates the server; its Finished comes next.
            Some(psk) => Ok(State::Finished(ExpectFinished::new(
                self.hs,
                None,
                ServerAuth::Psk(psk),
            ))),
            None => Ok(State::CertificateOrCertReq(ExpectCertificateOrCertReq {
                hs: self.hs,
            })),
        }
    }
}

/// What the server's CertificateRequest asked for.
struct ClientAuthRequest {
    context: Vec<u8>,
    schemes: Vec<SignatureScheme>,
}

struct ExpectCertificateOrCertReq {
    hs: HandshakeState,
}

impl ExpectCertificateOrCertReq {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        match msg {
            HandshakeMessage::Certificate(_) => ExpectCertificate {
                hs: self.hs,
                client_auth: None,
            }
            .handle(cx, msg, raw, now, events),
            HandshakeMessage::CertificateRequest(cr) => {
                if !cr.context.as_slice().is_empty() {
                    return Err(PeerMisbehaved::NonEmptyCertificateContext.into());
                }
                let exts = &cr.extensions.0;
                msgs::check_extensions(exts, &cx.offered, ExtensionContext::CertificateRequest)?;
                let body = msgs::find_extension(exts, ExtensionType::SignatureAlgorithms)
                    .ok_or(PeerMisbehaved::MissingSignatureAlgorithms)?;
                let schemes = VecU16::<SignatureScheme, 2, 0xfffe>::read_bytes(body)?;
                self.hs.transcript.add(raw);
                Ok(State::Certificate(ExpectCertificate {
                    hs: self.hs,
                    client_auth: Some(ClientAuthRequest {
                        context: cr.context.0,
                        schemes: schemes.0,
                    }),
                }))
            }
            other => Err(unexpected("Certificate or CertificateRequest", &other)),
        }
    }
}

struct ExpectCertificate {
    hs: HandshakeState,
    client_auth: Option<ClientAuthRequest>,
}

impl ExpectCertificate {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::Certificate(cert) = msg else {
            return Err(unexpected("Certificate", &msg));
        };
        if !cert.context.as_slice().is_empty() {
            return Err(PeerMisbehaved::NonEmptyCertificateContext.into());
        }
        for entry in &cert.entries.0 {
            msgs::check_extensions(
                &entry.extensions.0,
                &cx.offered,
                ExtensionContext::Certificate,
            )?;
        }
        let chain = cert
            .entries
            .0
            .into_iter()
            .map(|e| CertificateDer::from(e.cert_data.0))
            .collect();
        let (end_entity, cert_verified) = verify_chain(cx, chain, now, events)?;
        self.hs.transcript.add(raw);
        Ok(State::CertificateVerify(ExpectCertificateVerify::new(
            self.hs,
            self.client_auth,
            end_entity,
            cert_verified,
        )))
    }
}

struct ExpectCertificateVerify {
    hs: HandshakeState,
    client_auth: Option<ClientAuthRequest>,
    end_entity: CertificateDer<'static>,
    cert_verified: ServerCertVerified,
}

/// Whether TLS 1.3 allows `scheme` in a CertificateVerify (RFC 8446 §4.2.3: no PKCS#1 v1.5,
/// no SHA-1).
fn tls13_signing_scheme(scheme: SignatureScheme) -> bool {
    use SignatureScheme as S;
    matches!(
        scheme,
        S::ECDSA_NISTP256_SHA256
            | S::ECDSA_NISTP384_SHA384
            | S::ECDSA_NISTP521_SHA512
            | S::RSA_PSS_SHA256
            | S::RSA_PSS_SHA384
            | S::RSA_PSS_SHA512
            | S::ED25519
            | S::ED448
            | S::RSA_PSS_PSS_SHA256
            | S::RSA_PSS_PSS_SHA384
            | S::RSA_PSS_PSS_SHA512
    )
}

/// The content a TLS 1.3 CertificateVerify signs (RFC 8446 §4.4.3).
fn signed_content(context: &[u8], transcript_hash: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    m.resize(64, 0x20);
    m.extend_from_slice(context);
    m.push(0);
    m.extend_from_slice(transcript_hash);
    m
}

impl ExpectCertificateVerify {
    fn new(
        hs: HandshakeState,
        client_auth: Option<ClientAuthRequest>,
        end_entity: CertificateDer<'static>,
        cert_verified: ServerCertVerified,
    ) -> Self {
        Self {
            hs,
            client_auth,
            end_entity,
            cert_verified,
        }
    }

    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::CertificateVerify(cv) = msg else {
            return Err(unexpected("CertificateVerify", &msg));
        };
        if !cx.offered_schemes.contains(&cv.scheme) || !tls13_signing_scheme(cv.scheme) {
            return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
        }
        let hash = self.hs.transcript.current_hash()?;
        let content = signed_content(TLS13_CONTEXT_SERVER, hash.as_bytes());
        let sig_verified = cx.config.verifier.verify_tls13_signature(
            &content,
            &self.end_entity,
            cv.scheme,
            cv.signature.as_slice(),
        )?;
        events.push(Event::PeerSignatureScheme(cv.scheme));
        self.hs.transcript.add(raw);
        Ok(State::Finished(ExpectFinished::new(
            self.hs,
            self.client_auth,
            ServerAuth::Certificate(self.cert_verified, sig_verified),
        )))
    }
}

/// How the server authenticated itself before its Finished.
#[derive(Debug)]
enum ServerAuth {
    /// Its chain and CertificateVerify verified.
    Certificate(ServerCertVerified, SignatureVerified),
    /// It selected our PSK (resumption).
    Psk(PskAccepted),
}

struct ExpectFinished {
    hs: HandshakeState,
    client_auth: Option<ClientAuthRequest>,
    _auth: ServerAuth,
}

impl ExpectFinished {
    fn new(hs: HandshakeState, client_auth: Option<ClientAuthRequest>, auth: ServerAuth) -> Self {
        Self {
            hs,
            client_auth,
            _auth: auth,
        }
    }

    fn handle(
        self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        let HandshakeMessage::Finished(verify_data) = msg else {
            return Err(unexpected("Finished", &msg));
        };
        let Self {
            mut hs,
            client_auth,
            ..
        } = self;
        let suite = hs.suite;
        let hash = hs.transcript.current_hash()?;
        let server_key = &hs.server_finished_key;
        cx.observe("server_finished_key", server_key.as_bytes());
        let expected = key_schedule::verify_data(suite, server_key, hash.as_bytes());
        cx.observe("server_finished_verify_data", expected.as_bytes());
        if !expected.ct_eq(&verify_data) {
            return Err(PeerMisbehaved::BadFinished.into());
        }
        let finished_verified = FinishedVerified(());
        hs.transcript.add(raw);

        // Application secrets from the transcript through the server's Finished.
        let hash = hs.transcript.current_hash()?;
        if cx.observing() {
            cx.observe(
                "derived_secret_for_master",
                hs.ks.derived_for_next()?.as_bytes(),
            );
        }
        hs.ks.advance(None)?;
        cx.observe("master_secret", hs.ks.current_secret().as_bytes());
        let client_ap = hs.ks.derive(b"c ap traffic", hash.as_bytes())?;
        let server_ap = hs.ks.derive(b"s ap traffic", hash.as_bytes())?;
        let exporter = hs.ks.derive(b"exp master", hash.as_bytes())?;
        for name in [
            "client_application_traffic_transcript_hash",
            "server_application_traffic_transcript_hash",
            "exporter_master_transcript_hash",
        ] {
            cx.observe(name, hash.as_bytes());
        }
        cx.observe("client_application_traffic_secret_0", client_ap.as_bytes());
        cx.observe("server_application_traffic_secret_0", server_ap.as_bytes());
        cx.observe("exporter_master_secret", exporter.as_bytes());
        cx.key_log("CLIENT_TRAFFIC_SECRET_0", &client_ap);
        cx.key_log("SERVER_TRAFFIC_SECRET_0", &server_ap);
        cx.key_log("EXPORTER_SECRET", &exporter);
        let read_key = key_schedule::traffic_key(suite, &server_ap)?;
        cx.observe("server_application_write_key", read_key.key.as_bytes());
        cx.observe("server_application_write_iv", &read_key.iv);
        events.push(Event::InstallReadKey(read_key));

        // The client's second flight, under the client handshake key.
        if cx.config.middlebox_compat && !cx.ccs_sent {
            cx.ccs_sent = true;
            events.push(Event::SendCcs);
        }
        if hs.early_data_accepted {
            // RFC 8446 §4.5: EndOfEarlyData under the early traffic key, before the
            // handshake key.
            let early = hs
                .early_secret
                .as_ref()
                .ok_or(Error::Internal("early data without an early secret"))?;
            cx.key_log("CLIENT_EARLY_TRAFFIC_SECRET", early);
            let early_key = key_schedule::traffic_key(suite, early)?;
            cx.observe("client_early_write_key", early_key.key.as_bytes());
            cx.observe("client_early_write_iv", &early_key.iv);
            events.push(Event::InstallWriteKey(early_key));
            let eoed = HandshakeMessage::EndOfEarlyData.encode()?;
            hs.transcript.add(&eoed);
            events.push(Event::Send {
                level: Level::Early,
                bytes: eoed,
            });
        }
        let (hs_write, client_key) =
            key_schedule::traffic_and_finished_keys(suite, &hs.client_secret)?;
        cx.observe("client_handshake_write_key", hs_write.key.as_bytes());
        cx.observe("client_handshake_write_iv", &hs_write.iv);
        events.push(Event::InstallWriteKey(hs_write));
        let mut flight = Vec::new();
        if let Some(req) = client_auth {
            client_certificate(cx, &mut hs.transcript, &req, &mut flight)?;
        }
        cx.observe("client_finished_key", client_key.as_bytes());
        let hash = hs.transcript.current_hash()?;
        let ours = key_schedule::verify_data(suite, &client_key, hash.as_bytes());
        cx.observe("client_finished_verify_data", ours.as_bytes());
        let fin = HandshakeMessage::Finished(ours.as_bytes().to_vec()).encode()?;
        hs.transcript.add(&fin);
        flight.extend_from_slice(&fin);
        let hash = hs.transcript.current_hash()?;
        let resumption = hs.ks.derive(b"res master", hash.as_bytes())?;
        cx.observe("resumption_master_transcript_hash", hash.as_bytes());
        cx.observe("resumption_master_secret", resumption.as_bytes());
        events.push(Event::Send {
            level: Level::Handshake,
            bytes: flight,
        });
        let write_key = key_schedule::traffic_key(suite, &client_ap)?;
        cx.observe("client_application_write_key", write_key.key.as_bytes());
        cx.observe("client_application_write_iv", &write_key.iv);
        events.push(Event::InstallWriteKey(write_key));
        events.push(Event::Complete);
        Ok(State::Traffic(ExpectTraffic::new(
            suite,
            client_ap,
            server_ap,
            exporter,
            resumption,
            finished_verified,
        )))
    }
}

/// Appends the client's Certificate (and CertificateVerify, with a certificate) to `flight`
/// and the transcript.
fn client_certificate(
    cx: &Common,
    transcript: &mut Transcript,
    req: &ClientAuthRequest,
    flight: &mut Vec<u8>,
) -> Result<(), Error> {
    let usable: Vec<SignatureScheme> = req
        .schemes
        .iter()
        .copied()
        .filter(|s| tls13_signing_scheme(*s))
        .collect();
    let resolved = cx
        .config
        .client_auth
        .as_ref()
        .and_then(|r| r.resolve(&usable))
        .filter(|(chain, signer)| !chain.is_empty() && usable.contains(&signer.scheme()));
    let (chain, signer) = match resolved {
        Some((chain, signer)) => (chain, Some(signer)),
        None => (Vec::new(), None),
    };
    let entries = chain
        .iter()
        .map(|c| {
            PayloadU24::new(c.as_ref().to_vec()).map(|cert_data| CertificateEntry {
                cert_data,
                extensions: VecU16::default(),
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Error::Internal("a client certificate is empty or too long"))?;
    let cert = HandshakeMessage::Certificate(Certificate {
        context: PayloadU8(req.context.clone()),
        entries: VecU24(entries),
    })
    .encode()?;
    transcript.add(&cert);
    flight.extend_from_slice(&cert);
    if let Some(signer) = signer {
        let hash = transcript.current_hash()?;
        let content = signed_content(TLS13_CONTEXT_CLIENT, hash.as_bytes());
        let signature = signer.sign(&content)?;
        let cv = HandshakeMessage::CertificateVerify(CertificateVerify {
            scheme: signer.scheme(),
            signature: PayloadU16::new(signature)
                .map_err(|_| Error::Internal("signature longer than 65535 bytes"))?,
        })
        .encode()?;
        transcript.add(&cv);
        flight.extend_from_slice(&cv);
    }
    Ok(())
}

/// The handshake is complete: post-handshake messages only.
struct ExpectTraffic {
    suite: &'static Tls13CipherSuite,
    client_secret: Secret,
    server_secret: Secret,
    exporter_secret: Secret,
    resumption_secret: Secret,
    _finished: FinishedVerified,
}

impl ExpectTraffic {
    fn new(
        suite: &'static Tls13CipherSuite,
        client_secret: Secret,
        server_secret: Secret,
        exporter_secret: Secret,
        resumption_secret: Secret,
        finished: FinishedVerified,
    ) -> Self {
        Self {
            suite,
            client_secret,
            server_secret,
            exporter_secret,
            resumption_secret,
            _finished: finished,
        }
    }

    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<State, Error> {
        match msg {
            HandshakeMessage::NewSessionTicket(nst) => {
                if nst.lifetime > MAX_TICKET_LIFETIME {
                    return Err(PeerMisbehaved::TicketLifetimeTooLong.into());
                }
                let exts = &nst.extensions.0;
                msgs::check_extensions(exts, &cx.offered, ExtensionContext::NewSessionTicket)?;
                let max_early_data = msgs::find_extension(exts, ExtensionType::EarlyData)
                    .map(u32::read_bytes)
                    .transpose()?;
                let kept = nst.ticket.0.len() <= MAX_TICKET_LEN;
                events.push(Event::TicketReceived {
                    version: ProtocolVersion::TLSv1_3,
                    len: nst.ticket.0.len(),
                    kept,
                });
                if !kept {
                    return Ok(State::Traffic(self));
                }
                let psk = key_schedule::ticket_psk(
                    self.suite,
                    &self.resumption_secret,
                    nst.nonce.as_slice(),
                )?;
                cx.observe("resumption_psk", psk.as_bytes());
                events.push(Event::NewSessionTicket(Tls13Ticket {
                    suite: self.suite.suite,
                    ticket: nst.ticket.0,
                    psk,
                    lifetime: nst.lifetime,
                    age_add: nst.age_add,
                    max_early_data,
                    received_at: now,
                    server_name: cx.server_name.clone(),
                    alpn: cx.alpn.clone(),
                }));
            }
            HandshakeMessage::KeyUpdate(req) => {
                let requested = match req {
                    KeyUpdateRequest::UpdateNotRequested => false,
                    KeyUpdateRequest::UpdateRequested => true,
                    _ => return Err(PeerMisbehaved::BadKeyUpdate.into()),
                };
                self.server_secret =
                    key_schedule::next_traffic_secret(self.suite, &self.server_secret)?;
                events.push(Event::InstallReadKey(key_schedule::traffic_key(
                    self.suite,
                    &self.server_secret,
                )?));
                if requested {
                    self.update_write_key(false, events)?;
                }
            }
            other => return Err(unexpected("NewSessionTicket or KeyUpdate", &other)),
        }
        Ok(State::Traffic(self))
    }

    fn update_write_key(
        &mut self,
        request_peer: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let req = if request_peer {
            KeyUpdateRequest::UpdateRequested
        } else {
            KeyUpdateRequest::UpdateNotRequested
        };
        events.push(Event::Send {
            level: Level::Application,
            bytes: HandshakeMessage::KeyUpdate(req).encode()?,
        });
        self.client_secret = key_schedule::next_traffic_secret(self.suite, &self.client_secret)?;
        events.push(Event::InstallWriteKey(key_schedule::traffic_key(
            self.suite,
            &self.client_secret,
        )?));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls13_forbids_pkcs1_and_sha1_in_certificate_verify() {
        assert!(tls13_signing_scheme(SignatureScheme::RSA_PSS_SHA256));
        assert!(tls13_signing_scheme(SignatureScheme::ED25519));
        assert!(!tls13_signing_scheme(SignatureScheme::RSA_PKCS1_SHA256));
        assert!(!tls13_signing_scheme(SignatureScheme::ECDSA_SHA1_Legacy));
        assert!(!tls13_signing_scheme(SignatureScheme::Unknown(0x0202)));
    }

    #[test]
    fn signed_content_layout() {
        let c = signed_content(TLS13_CONTEXT_SERVER, &[7; 32]);
        assert_eq!(c.len(), 64 + 33 + 1 + 32);
        assert!(c[..64].iter().all(|b| *b == 0x20));
        assert_eq!(&c[64..97], b"TLS 1.3, server CertificateVerify");
        assert_eq!(c[97], 0);
        assert_eq!(&c[98..], &[7; 32]);
    }
}

//! The TLS 1.3 client state machine.
//!
//! One `Expect*` state per message the server may send next. Each takes itself by value,
//! handles one message, and returns the next state; a state that verified something carries a
//! proof value ([`ServerCertVerified`], [`SignatureVerified`], [`FinishedVerified`]) that the
//! next state's constructor demands, so a path that skips a check does not compile.

use crate::config::{
    Event, HandshakeConfig, Level, ServerCertVerified, SignatureVerified, Tls13Ticket,
};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::key_schedule::{self, KeySchedule, Transcript};
use crate::msgs::{
    self, Certificate, CertificateEntry, CertificateVerify, ClientExtension, ClientHello,
    ExtensionContext, HandshakeMessage, KeyShareEntry, ServerHello,
};
use overture_crypto_provider::{ActiveKeyExchange, Secret, SupportedCipherSuite, Tls13CipherSuite};
use overture_types::{
    CertificateDer, CipherSuite, Codec, Compression, ExtensionType, KeyUpdateRequest, NamedGroup,
    PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, ServerName,
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

/// See [`TestHooks::client_hello`].
#[doc(hidden)]
pub type ClientHelloHook = Arc<dyn Fn(&mut Vec<ClientExtension>) + Send + Sync>;
/// See [`TestHooks::observe`].
#[doc(hidden)]
pub type ObserveHook = Arc<dyn Fn(&str, &[u8]) + Send + Sync>;

/// Proof that the server's Finished verified. Only this module makes one.
#[derive(Debug)]
pub struct FinishedVerified(());

const TLS13_CONTEXT_SERVER: &[u8] = b"TLS 1.3, server CertificateVerify";
const TLS13_CONTEXT_CLIENT: &[u8] = b"TLS 1.3, client CertificateVerify";
/// RFC 8446 §4.6.1: at most seven days.
const MAX_TICKET_LIFETIME: u32 = 604_800;

/// What stays the same for the whole connection.
struct Common {
    config: Arc<HandshakeConfig>,
    server_name: ServerName<'static>,
    hooks: TestHooks,
    random: [u8; 32],
    session_id: Vec<u8>,
    /// Extension types of the last ClientHello (after hooks).
    offered: Vec<ExtensionType>,
    offered_suites: Vec<CipherSuite>,
    offered_groups: Vec<NamedGroup>,
    offered_schemes: Vec<SignatureScheme>,
    ccs_sent: bool,
    alpn: Option<Vec<u8>>,
}

impl Common {
    fn observe(&self, name: &str, value: &[u8]) {
        if let Some(f) = &self.hooks.observe {
            f(name, value);
        }
    }

    fn key_log(&self, label: &str, secret: &Secret) {
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
}

impl State {
    fn name(&self) -> &'static str {
        match self {
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
    /// waits for the ServerHello.
    pub fn start(
        config: Arc<HandshakeConfig>,
        server_name: ServerName<'static>,
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<Self, Error> {
        Self::start_with_hooks(config, server_name, now, TestHooks::default(), events)
    }

    /// [`ClientHandshake::start`] with test hooks. Not part of the API.
    #[doc(hidden)]
    pub fn start_with_hooks(
        config: Arc<HandshakeConfig>,
        server_name: ServerName<'static>,
        _now: UnixTime,
        hooks: TestHooks,
        events: &mut Vec<Event>,
    ) -> Result<Self, Error> {
        if !config.versions.contains(&ProtocolVersion::TLSv1_3) {
            return Err(Error::Config(
                "TLS 1.3 is not enabled; TLS 1.2 alone is not implemented yet",
            ));
        }
        let provider = &config.provider;
        let mut offered_suites: Vec<CipherSuite> =
            provider.tls13_suites().map(|s| s.suite).collect();
        if offered_suites.is_empty() {
            return Err(Error::Config("no TLS 1.3 cipher suite"));
        }
        if config.versions.contains(&ProtocolVersion::TLSv1_2) {
            offered_suites.extend(provider.tls12_suites().map(|s| s.suite));
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
        let mut session_id = Vec::new();
        if config.middlebox_compat {
            session_id = vec![0u8; 32];
            provider.secure_random.fill(&mut session_id)?;
        }
        let key_share = first.start()?;
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
        };
        let ch = client_hello(&mut common, &*key_share, None)?;
        let mut transcript = Transcript::new();
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
        let msg = HandshakeMessage::decode(message)?;
        let cx = &mut self.common;
        let next = match state {
            State::ServerHello(s) => s.handle(cx, msg, message, events)?,
            State::EncryptedExtensions(s) => s.handle(cx, msg, message, events)?,
            State::CertificateOrCertReq(s) => s.handle(cx, msg, message, now, events)?,
            State::Certificate(s) => s.handle(cx, msg, message, now, events)?,
            State::CertificateVerify(s) => s.handle(cx, msg, message)?,
            State::Finished(s) => s.handle(cx, msg, message, events)?,
            State::Traffic(s) => s.handle(cx, msg, now, events)?,
        };
        self.state = Some(next);
        Ok(())
    }

    /// Sends a KeyUpdate and installs the next write key (RFC 8446 §4.6.3); with
    /// `request_peer`, asks the server to update its key too. Only once the handshake is
    /// complete.
    pub fn update_write_key(
        &mut self,
        request_peer: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        match &mut self.state {
            Some(State::Traffic(t)) => t.update_write_key(request_peer, events),
            _ => Err(Error::Usage("a key update needs a completed handshake")),
        }
    }

    /// Whether the handshake is complete.
    pub fn is_complete(&self) -> bool {
        matches!(self.state, Some(State::Traffic(_)))
    }

    /// TLS-Exporter (RFC 8446 §7.5 / RFC 5705): fills `out` from the exporter master secret.
    /// In TLS 1.3 an absent context and an empty one are the same.
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
            _ => Err(Error::Usage(
                "keying material can be exported after the handshake",
            )),
        }
    }
}

/// Builds and encodes a ClientHello; records the offered extension types.
fn client_hello(
    cx: &mut Common,
    key_share: &dyn ActiveKeyExchange,
    cookie: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    let config = &cx.config;
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
    exts.push(ClientExtension::KeyShare(VecU16(vec![KeyShareEntry {
        group: key_share.group(),
        key_exchange: PayloadU16(key_share.public_key().to_vec()),
    }])));
    let mut versions = vec![ProtocolVersion::TLSv1_3];
    if cx.offers(ProtocolVersion::TLSv1_2) {
        versions.push(ProtocolVersion::TLSv1_2);
    }
    exts.push(ClientExtension::SupportedVersions(VecU8(versions)));
    exts.push(ClientExtension::SignatureAlgorithms(VecU16(
        cx.offered_schemes.clone(),
    )));
    if let Some(c) = cookie {
        exts.push(ClientExtension::Cookie(PayloadU16(c.to_vec())));
    }
    exts.push(ClientExtension::PskKeyExchangeModes(VecU8(vec![
        PskKeyExchangeMode::PskDheKe,
    ])));
    if let Some(hook) = &cx.hooks.client_hello {
        hook(&mut exts);
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
    Ok(HandshakeMessage::ClientHello(ch).encode())
}

/// Waiting for ServerHello (or HelloRetryRequest).
struct ExpectServerHello {
    transcript: Transcript,
    key_share: Box<dyn ActiveKeyExchange>,
    /// The suite of the HelloRetryRequest, once one came.
    retry_suite: Option<&'static Tls13CipherSuite>,
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
        if sh.session_id.as_slice() != cx.session_id.as_slice() {
            return Err(PeerMisbehaved::SessionIdMismatch.into());
        }
        if sh.compression_method != Compression::Null {
            return Err(PeerMisbehaved::NonNullCompression.into());
        }
        let exts = &sh.extensions.0;
        let Some(sv) = msgs::find_extension(exts, ExtensionType::SupportedVersions) else {
            return Err(self.legacy_version(cx, &sh));
        };
        let version = ProtocolVersion::read_bytes(sv)?;
        if version != ProtocolVersion::TLSv1_3 {
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
        let share = msgs::find_extension(exts, ExtensionType::KeyShare)
            .ok_or(PeerMisbehaved::MissingKeyShare)?;
        let share = KeyShareEntry::read_bytes(share)?;
        if share.group != self.key_share.group() {
            return Err(PeerMisbehaved::WrongKeyShareGroup.into());
        }
        let shared = self.key_share.complete(share.key_exchange.as_slice())?;
        cx.observe("ecdhe_shared_secret", shared.as_bytes());

        self.transcript.start_hash(suite.hash);
        self.transcript.add(raw);
        let mut ks = KeySchedule::new(suite, None);
        cx.observe("early_secret", ks.current_secret().as_bytes());
        cx.observe(
            "derived_secret_for_handshake",
            ks.derived_for_next()?.as_bytes(),
        );
        ks.advance(Some(shared.as_bytes()))?;
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
        let read_key = key_schedule::traffic_key(suite, &server_secret)?;
        cx.observe("server_handshake_write_key", read_key.key.as_bytes());
        cx.observe("server_handshake_write_iv", &read_key.iv);

        events.push(Event::ServerHello {
            version: ProtocolVersion::TLSv1_3,
            suite: suite.suite,
            group: Some(share.group),
        });
        events.push(Event::InstallReadKey(read_key));
        Ok(State::EncryptedExtensions(ExpectEncryptedExtensions {
            hs: HandshakeState {
                suite,
                transcript: self.transcript,
                ks,
                client_secret,
                server_secret,
            },
        }))
    }

    /// A ServerHello without supported_versions: TLS 1.2 or older.
    fn legacy_version(&self, cx: &Common, sh: &ServerHello) -> Error {
        let v = sh.legacy_version;
        if v == ProtocolVersion::TLSv1_2 && cx.offers(ProtocolVersion::TLSv1_2) {
            // RFC 8446 §4.1.3: a TLS 1.3 client checks the downgrade sentinel.
            if sh.random.ends_with(&msgs::DOWNGRADE_TLS12)
                || sh.random.ends_with(&msgs::DOWNGRADE_TLS11)
            {
                return PeerMisbehaved::DowngradeSentinel.into();
            }
            return Error::PeerIncompatible(PeerIncompatible::Tls12NotImplemented);
        }
        if v.get() < ProtocolVersion::TLSv1_2.get() {
            return Error::PeerIncompatible(PeerIncompatible::VersionTooOld(v.get()));
        }
        // TLS 1.2 not offered, or a version from the future without supported_versions.
        Error::PeerIncompatible(PeerIncompatible::VersionNotOffered(v.get()))
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
        if let Some(g) = group {
            if g == self.key_share.group() {
                return Err(PeerMisbehaved::HelloRetryRequestSameGroup.into());
            }
            let kx = cx
                .offered_groups
                .contains(&g)
                .then(|| cx.config.provider.find_kx(g))
                .flatten()
                .ok_or(PeerMisbehaved::HelloRetryRequestUnofferedGroup)?;
            self.key_share = kx.start()?;
        }
        self.transcript.roll_up_for_retry(suite.hash);
        self.transcript.add(raw);
        let ch2 = client_hello(cx, &*self.key_share, cookie.as_ref().map(|c| c.as_slice()))?;
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
    server_secret: Secret,
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
        let alpn =
            match msgs::find_extension(exts, ExtensionType::ApplicationLayerProtocolNegotiation) {
                None => None,
                Some(body) => {
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
                    Some(one.0.clone())
                }
            };
        cx.alpn.clone_from(&alpn);
        events.push(Event::Alpn(alpn));
        self.hs.transcript.add(raw);
        Ok(State::CertificateOrCertReq(ExpectCertificateOrCertReq {
            hs: self.hs,
        }))
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
        let chain: Vec<CertificateDer<'static>> = cert
            .entries
            .0
            .into_iter()
            .map(|e| CertificateDer::from(e.cert_data.0))
            .collect();
        let Some((end_entity, intermediates)) = chain.split_first() else {
            return Err(PeerMisbehaved::EmptyCertificate.into());
        };
        self.hs.transcript.add(raw);
        events.push(Event::PeerCertificates(chain.clone()));
        let cert_verified = cx.config.verifier.verify_server_cert(
            end_entity,
            intermediates,
            &cx.server_name,
            now,
        )?;
        Ok(State::CertificateVerify(ExpectCertificateVerify::new(
            self.hs,
            self.client_auth,
            end_entity.clone(),
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
    let mut m = vec![0x20u8; 64];
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
        self.hs.transcript.add(raw);
        Ok(State::Finished(ExpectFinished::new(
            self.hs,
            self.client_auth,
            self.cert_verified,
            sig_verified,
        )))
    }
}

struct ExpectFinished {
    hs: HandshakeState,
    client_auth: Option<ClientAuthRequest>,
    _cert_verified: ServerCertVerified,
    _sig_verified: SignatureVerified,
}

impl ExpectFinished {
    fn new(
        hs: HandshakeState,
        client_auth: Option<ClientAuthRequest>,
        cert_verified: ServerCertVerified,
        sig_verified: SignatureVerified,
    ) -> Self {
        Self {
            hs,
            client_auth,
            _cert_verified: cert_verified,
            _sig_verified: sig_verified,
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
        let server_key = key_schedule::finished_key(suite, &hs.server_secret)?;
        cx.observe("server_finished_key", server_key.as_bytes());
        let expected = key_schedule::verify_data(suite, &server_key, hash.as_bytes());
        cx.observe("server_finished_verify_data", expected.as_bytes());
        if !expected.ct_eq(&verify_data) {
            return Err(PeerMisbehaved::BadFinished.into());
        }
        let finished_verified = FinishedVerified(());
        hs.transcript.add(raw);

        // Application secrets from the transcript through the server's Finished.
        let hash = hs.transcript.current_hash()?;
        cx.observe(
            "derived_secret_for_master",
            hs.ks.derived_for_next()?.as_bytes(),
        );
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
        let hs_write = key_schedule::traffic_key(suite, &hs.client_secret)?;
        cx.observe("client_handshake_write_key", hs_write.key.as_bytes());
        cx.observe("client_handshake_write_iv", &hs_write.iv);
        events.push(Event::InstallWriteKey(hs_write));
        let mut flight = Vec::new();
        if let Some(req) = client_auth {
            client_certificate(cx, &mut hs.transcript, &req, &mut flight)?;
        }
        let client_key = key_schedule::finished_key(suite, &hs.client_secret)?;
        cx.observe("client_finished_key", client_key.as_bytes());
        let hash = hs.transcript.current_hash()?;
        let ours = key_schedule::verify_data(suite, &client_key, hash.as_bytes());
        cx.observe("client_finished_verify_data", ours.as_bytes());
        let fin = HandshakeMessage::Finished(ours.as_bytes().to_vec()).encode();
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
    .encode();
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
        .encode();
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
            bytes: HandshakeMessage::KeyUpdate(req).encode(),
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

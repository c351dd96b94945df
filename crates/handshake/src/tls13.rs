//! The TLS 1.3 client states (RFC 8446): from the ServerHello's key schedule to the
//! post-handshake messages. One `Expect*` state per message the server may send next; each
//! takes itself by value, handles one message, and returns the next state. A state that
//! verified something carries a proof value ([`ServerCertVerified`], [`SignatureVerified`],
//! [`FinishedVerified`], `PskAccepted`) that the next state's constructor demands, so a path
//! that skips a check does not compile.
//!
//! ```text
//!  server_hello ─► ExpectEncryptedExtensions ─┬─(PSK)──────────────────────────► ExpectFinished
//!                                             └─► ExpectCertificateOrCertReq ─► ExpectCertificate
//!                     ─► ExpectCertificateVerify ─► ExpectFinished ─► ExpectTraffic
//! ```

use crate::common::{
    self, Common, EndEntity, ExpectServerHello, FinishedVerified, SchemeKey, client_hello,
    unexpected, verify_chain,
};
use crate::compress;
use crate::config::{
    Event, Level, MAX_TICKET_LEN, ServerCertVerified, SignatureVerified, Tls13Ticket,
};
use crate::error::{Error, PeerMisbehaved};
use crate::key_schedule::{self, KeySchedule, Transcript};
use crate::msgs::{
    self, Certificate, CertificateEntry, ExtensionContext, HandshakeMessage, KeyShareEntry,
    ServerHello,
};
use overture_crypto_provider::{Secret, SupportedCipherSuite, Tls13CipherSuite};
use overture_types::{
    CertificateDer, CipherSuite, Codec, ExtensionType, HandshakeType, KeyUpdateRequest, LazyU16,
    LazyU24, NamedGroup, PayloadU8, PayloadU16, ProtocolVersion, Reader, SignatureScheme, UnixTime,
};

/// Proof that the server selected the PSK we offered (its Finished, keyed by that PSK, then
/// authenticates it). Only [`server_hello`] makes one.
#[derive(Debug)]
struct PskAccepted(());

const TLS13_CONTEXT_SERVER: &[u8] = b"TLS 1.3, server CertificateVerify";
const TLS13_CONTEXT_CLIENT: &[u8] = b"TLS 1.3, client CertificateVerify";
/// RFC 8446 §4.6.1: at most seven days.
const MAX_TICKET_LIFETIME: u32 = 604_800;

/// The TLS 1.3 states after the ServerHello.
pub(crate) enum Tls13State {
    EncryptedExtensions(ExpectEncryptedExtensions),
    CertificateOrCertReq(ExpectCertificateOrCertReq),
    Certificate(ExpectCertificate),
    CertificateVerify(ExpectCertificateVerify),
    Finished(ExpectFinished),
    Traffic(ExpectTraffic),
}

impl Tls13State {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::EncryptedExtensions(_) => "EncryptedExtensions",
            Self::CertificateOrCertReq(_) => "Certificate or CertificateRequest",
            Self::Certificate(_) => "Certificate",
            Self::CertificateVerify(_) => "CertificateVerify",
            Self::Finished(_) => "Finished",
            Self::Traffic(_) => "NewSessionTicket or KeyUpdate",
        }
    }

    /// The completed handshake, if it is.
    pub(crate) fn traffic(&self) -> Option<&ExpectTraffic> {
        match self {
            Self::Traffic(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn handle(
        self,
        cx: &mut Common,
        raw: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<Self, Error> {
        let msg = HandshakeMessage::decode(raw)?;
        match self {
            Self::EncryptedExtensions(s) => s.handle(cx, msg, raw, events),
            Self::CertificateOrCertReq(s) => s.handle(cx, msg, raw, now, events),
            Self::Certificate(s) => s.handle(cx, msg, raw, now, events),
            Self::CertificateVerify(s) => s.handle(cx, msg, raw, events),
            Self::Finished(s) => s.handle(cx, msg, raw, events),
            Self::Traffic(s) => s.handle(cx, msg, now, events),
        }
    }

    pub(crate) fn update_write_key(
        &mut self,
        request_peer: bool,
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        match self {
            Self::Traffic(t) => t.update_write_key(request_peer, events),
            _ => Err(Error::Usage("a key update needs a completed handshake")),
        }
    }
}

/// The negotiated TLS 1.3 suite: offered, and a TLS 1.3 one.
pub(crate) fn suite(cx: &Common, suite: CipherSuite) -> Result<&'static Tls13CipherSuite, Error> {
    if !cx.offered_suites.contains(&suite) {
        return Err(PeerMisbehaved::UnofferedCipherSuite.into());
    }
    match cx.config.provider.find_suite(suite) {
        Some(SupportedCipherSuite::Tls13(s)) => Ok(s),
        // A TLS 1.2 suite with TLS 1.3 selected.
        _ => Err(PeerMisbehaved::UnofferedCipherSuite.into()),
    }
}

/// A TLS 1.3 ServerHello (the dispatch checked version, session id and suite): PSK, key
/// share, the handshake secrets.
pub(crate) fn server_hello(
    mut st: ExpectServerHello,
    cx: &mut Common,
    sh: &ServerHello,
    suite: &'static Tls13CipherSuite,
    raw: &[u8],
    events: &mut Vec<Event>,
) -> Result<Tls13State, Error> {
    // ECH (RFC 9849 §6.1.4) first: which ClientHello the server answered decides the
    // transcript, the offered extensions and the name the certificate must have.
    let ech =
        crate::ech::on_server_hello(cx, &mut st.transcript, suite, raw, st.retry_suite.is_some())?;
    if ech == Some(crate::ech::EchStatus::Rejected) {
        // The outer hello offered no PSK (RFC 9849 §6.1.2: a GREASE one at most).
        st.psk = None;
    }
    let exts = &sh.extensions;
    let found = msgs::check_extensions(exts, &cx.offered, ExtensionContext::ServerHello)?;
    if st
        .retry_suite
        .is_some_and(|first| first.suite != suite.suite)
    {
        return Err(PeerMisbehaved::SuiteChangedAfterRetry.into());
    }
    // RFC 8446 §4.2.11: the server selected our (only) identity, with a suite of its hash.
    // What the early data we offered assumed: the ticket's suite and ALPN.
    let early = st
        .early_offered
        .then(|| st.psk.as_ref().map(|p| (p.suite.suite, p.alpn.clone())))
        .flatten();
    let psk = match found.get(ExtensionType::PreSharedKey) {
        None => None,
        Some(body) => {
            let selected = u16::read_bytes(body)?;
            let offer = st.psk.take().ok_or(PeerMisbehaved::UnofferedPsk)?;
            if selected != 0 {
                return Err(PeerMisbehaved::UnofferedPsk.into());
            }
            if offer.suite.hash.algorithm() != suite.hash.algorithm() {
                return Err(PeerMisbehaved::PskSuiteHashMismatch.into());
            }
            Some(offer)
        }
    };
    let key_share = st.key_share.take().ok_or(Error::Internal("no key share"))?;
    let (shared, group) = match found.get(ExtensionType::KeyShare) {
        Some(share) => {
            let share = KeyShareEntry::read_bytes(share)?;
            let peer = share.key_exchange.as_slice();
            // Our key's own group, or the classical group its hybrid key also shared.
            let shared = if share.group == key_share.group() {
                key_share.complete(peer)?
            } else if cx.offered_shares.contains(&share.group) {
                key_share.complete_classical(peer)?
            } else {
                return Err(PeerMisbehaved::WrongKeyShareGroup.into());
            };
            cx.observe("ecdhe_shared_secret", shared.as_bytes());
            (Some(shared), Some(share.group))
        }
        // psk_ke: only when we offered it and the server took our PSK.
        None if psk.is_some() && cx.offer_psk_ke => (None, None),
        None => return Err(PeerMisbehaved::MissingKeyShare.into()),
    };

    st.transcript.start_hash(suite.hash);
    let mut ks = KeySchedule::new(suite, psk.as_ref().map(|p| p.psk.as_bytes()));
    cx.observe("early_secret", ks.current_secret().as_bytes());
    // The early secrets (the early traffic key itself was made after the ClientHello).
    if psk.is_some() && cx.observing() {
        let hash = st.transcript.current_hash()?;
        let exporter = ks.derive(b"e exp master", hash.as_bytes())?;
        cx.observe("early_exporter_master_transcript_hash", hash.as_bytes());
        cx.observe("early_exporter_master_secret", exporter.as_bytes());
    }
    st.transcript.add(raw);
    if cx.observing() {
        cx.observe(
            "derived_secret_for_handshake",
            ks.derived_for_next()?.as_bytes(),
        );
    }
    ks.advance(shared.as_ref().map(Secret::as_bytes))?;
    cx.observe("handshake_secret", ks.current_secret().as_bytes());
    let hash = st.transcript.current_hash()?;
    let [client_secret, server_secret] =
        ks.derive_many([b"c hs traffic", b"s hs traffic"], hash.as_bytes())?;
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
    if let Some(status) = ech {
        events.push(Event::Ech(status));
    }
    let psk_accepted = psk.map(|_| PskAccepted(()));
    if psk_accepted.is_some() {
        events.push(Event::Resumed);
    }
    events.push(Event::InstallReadKey(read_key));
    let mut hs = HandshakeState {
        suite,
        transcript: st.transcript,
        ks,
        client_secret,
        server_finished_key,
        psk_accepted,
        early,
        early_data_accepted: false,
        write_key_installed: false,
    };
    // RFC 8446 §6: from here on the server reads under our handshake key, so anything we
    // send (an alert above all) is protected under it. With early data offered the early key
    // stays until EncryptedExtensions says whether the server reads it.
    if hs.early.is_none() {
        hs.install_write_key(cx, events)?;
    }
    Ok(Tls13State::EncryptedExtensions(ExpectEncryptedExtensions {
        hs,
    }))
}

/// The early traffic key of a ClientHello that offers early data (RFC 8446 §7.1:
/// `client_early_traffic_secret` over the ClientHello, with the ticket's suite), pushed as
/// [`Event::InstallEarlyWriteKey`] after the compatibility ChangeCipherSpec (RFC 8446 §D.4:
/// sent right after the ClientHello when early data follows).
pub(crate) fn early_data_key(
    cx: &mut Common,
    offer: &common::PskOffer,
    transcript: &Transcript,
    events: &mut Vec<Event>,
) -> Result<(), Error> {
    let max_early_data = offer
        .max_early_data
        .ok_or(Error::Internal("early data without max_early_data"))?;
    let ks = KeySchedule::new(offer.suite, Some(offer.psk.as_bytes()));
    let hash = transcript.hash_with(offer.suite.hash, &[]);
    let secret = ks.derive(b"c e traffic", hash.as_bytes())?;
    cx.observe("client_early_traffic_transcript_hash", hash.as_bytes());
    cx.observe("client_early_traffic_secret", secret.as_bytes());
    cx.key_log("CLIENT_EARLY_TRAFFIC_SECRET", &secret);
    let key = key_schedule::traffic_key(offer.suite, &secret)?;
    cx.observe("client_early_write_key", key.key.as_bytes());
    cx.observe("client_early_write_iv", &key.iv);
    cx.compat_ccs(events);
    events.push(Event::InstallEarlyWriteKey {
        key,
        max_early_data,
    });
    Ok(())
}

/// HelloRetryRequest (RFC 8446 §4.1.4).
pub(crate) fn retry(
    mut st: ExpectServerHello,
    cx: &mut Common,
    hrr: &ServerHello,
    suite: &'static Tls13CipherSuite,
    raw: &[u8],
    events: &mut Vec<Event>,
) -> Result<ExpectServerHello, Error> {
    if st.retry_suite.is_some() {
        return Err(PeerMisbehaved::SecondHelloRetryRequest.into());
    }
    let exts = &hrr.extensions;
    let found = msgs::check_extensions(exts, &cx.offered, ExtensionContext::HelloRetryRequest)?;
    let group = found
        .get(ExtensionType::KeyShare)
        .map(NamedGroup::read_bytes)
        .transpose()?;
    let cookie = found.get(ExtensionType::Cookie);
    let cookie = cookie.map(PayloadU16::<1>::read_bytes).transpose()?;
    if group.is_none() && cookie.is_none() {
        return Err(PeerMisbehaved::HelloRetryRequestChangesNothing.into());
    }
    if st.key_share.is_none() {
        return Err(Error::Internal("no key share"));
    }
    // ECH (RFC 9849 §6.1.4): accepted or not, decided on ClientHelloInner1 before the
    // transcript is rolled up; rejected, the handshake is the outer hello's (no PSK there).
    let ech_ext = found.get(ExtensionType::EncryptedClientHello);
    crate::ech::on_retry(cx, &mut st.transcript, suite, hrr, ech_ext)?;
    if matches!(cx.ech, Some(crate::ech::EchState::Rejected { .. })) {
        st.psk = None;
    }
    if let Some(g) = group {
        // Any group we sent a share for (the hybrid or its classical part) is illegal here.
        if cx.offered_shares.contains(&g) {
            return Err(PeerMisbehaved::HelloRetryRequestSameGroup.into());
        }
        let kx = cx
            .offered_kx(g)
            .ok_or(PeerMisbehaved::HelloRetryRequestUnofferedGroup)?;
        st.key_share = Some(kx.start()?);
    }
    // A PSK whose hash is not the retry suite's cannot be used any more (RFC 8446 §4.1.4).
    if st
        .psk
        .as_ref()
        .is_some_and(|p| p.suite.hash.algorithm() != suite.hash.algorithm())
    {
        st.psk = None;
    }
    events.push(Event::HelloRetryRequest { group });
    // RFC 8446 §4.1.2: the second ClientHello offers no early data; the first one's is lost.
    if st.early_offered {
        st.early_offered = false;
        events.push(Event::EarlyData { accepted: false });
    }
    cx.offer_early_data = false;
    st.transcript.roll_up_for_retry(suite.hash);
    st.transcript.add(raw);
    let ch2 = client_hello(
        cx,
        st.key_share.as_deref(),
        // A HelloRetryRequest without key_share (a cookie only) keeps our shares unchanged.
        group.is_none(),
        cookie.as_ref().map(|c| c.as_slice()),
        st.psk.as_ref(),
        &st.transcript,
    )?;
    st.transcript.add(&ch2);
    let bytes = crate::ech::wire_hello(cx, ch2, true)?;
    cx.compat_ccs(events);
    events.push(Event::Send {
        level: Level::Initial,
        bytes,
    });
    st.retry_suite = Some(suite);
    Ok(st)
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
    /// We offered early data: the ticket's suite and ALPN, which acceptance must keep.
    early: Option<(CipherSuite, Option<Vec<u8>>)>,
    /// EncryptedExtensions accepted early data: EndOfEarlyData precedes our Finished.
    early_data_accepted: bool,
    /// `InstallWriteKey` for the client handshake key was emitted.
    write_key_installed: bool,
}

impl HandshakeState {
    /// The compatibility CCS (never protected, so before the key) and
    /// [`Event::InstallWriteKey`] for the client handshake traffic key, once: after the
    /// ServerHello, or with early data offered after EncryptedExtensions (rejected) or
    /// EndOfEarlyData (accepted).
    fn install_write_key(&mut self, cx: &mut Common, events: &mut Vec<Event>) -> Result<(), Error> {
        if self.write_key_installed {
            return Ok(());
        }
        cx.compat_ccs(events);
        let hs_write = key_schedule::traffic_key(self.suite, &self.client_secret)?;
        cx.observe("client_handshake_write_key", hs_write.key.as_bytes());
        cx.observe("client_handshake_write_iv", &hs_write.iv);
        events.push(Event::InstallWriteKey(hs_write));
        self.write_key_installed = true;
        Ok(())
    }
}

pub(crate) struct ExpectEncryptedExtensions {
    hs: HandshakeState,
}

impl ExpectEncryptedExtensions {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: HandshakeMessage,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<Tls13State, Error> {
        let HandshakeMessage::EncryptedExtensions(ee) = msg else {
            return Err(unexpected("EncryptedExtensions", msg.typ()));
        };
        let exts = &ee.extensions;
        let found =
            msgs::check_extensions(exts, &cx.offered, ExtensionContext::EncryptedExtensions)?;
        if found
            .get(ExtensionType::ServerName)
            .is_some_and(|b| !b.is_empty())
        {
            return Err(PeerMisbehaved::BadServerNameAck.into());
        }
        crate::ech::on_encrypted_extensions(cx, found.get(ExtensionType::EncryptedClientHello))?;
        let alpn = found
            .get(ExtensionType::ApplicationLayerProtocolNegotiation)
            .map(|body| common::parse_alpn(cx, body))
            .transpose()?;
        if let Some(body) = found.get(ExtensionType::EarlyData) {
            // Only offered with a PSK; accepted only with it (RFC 8446 §4.2.10), with the
            // ticket's suite and ALPN (the early data was written under those).
            Reader::new(body).expect_empty("early_data")?;
            let kept = self.hs.early.as_ref().is_some_and(|(suite, ticket_alpn)| {
                *suite == self.hs.suite.suite && *ticket_alpn == alpn
            });
            if self.hs.psk_accepted.is_none() || !kept {
                return Err(PeerMisbehaved::EarlyDataAcceptedWithChanges.into());
            }
            self.hs.early_data_accepted = true;
        }
        cx.alpn.clone_from(&alpn);
        events.push(Event::Alpn(alpn));
        common::peer_record_size_limit(found.get(ExtensionType::RecordSizeLimit), events)?;
        if self.hs.early.is_some() {
            events.push(Event::EarlyData {
                accepted: self.hs.early_data_accepted,
            });
            // Rejected: the server skips our early records and reads the handshake key.
            if !self.hs.early_data_accepted {
                self.hs.install_write_key(cx, events)?;
            }
        }
        self.hs.transcript.add(raw);
        match self.hs.psk_accepted.take() {
            // Resumed: the PSK authenticates the server; its Finished comes next.
            Some(psk) => Ok(Tls13State::Finished(ExpectFinished::new(
                self.hs,
                None,
                ServerAuth::Psk(psk),
            ))),
            None => Ok(Tls13State::CertificateOrCertReq(
                ExpectCertificateOrCertReq { hs: self.hs },
            )),
        }
    }
}

/// What the server's CertificateRequest asked for.
struct ClientAuthRequest {
    context: Vec<u8>,
    schemes: Vec<SignatureScheme>,
}

pub(crate) struct ExpectCertificateOrCertReq {
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
    ) -> Result<Tls13State, Error> {
        match msg {
            HandshakeMessage::Certificate(_)
            | HandshakeMessage::Other(HandshakeType::CompressedCertificate) => ExpectCertificate {
                hs: self.hs,
                client_auth: None,
            }
            .handle(cx, msg, raw, now, events),
            HandshakeMessage::CertificateRequest(cr) => {
                if !cr.context.as_slice().is_empty() {
                    return Err(PeerMisbehaved::NonEmptyCertificateContext.into());
                }
                let exts = &cr.extensions;
                let found = msgs::check_extensions(
                    exts,
                    &cx.offered,
                    ExtensionContext::CertificateRequest,
                )?;
                let body = found
                    .get(ExtensionType::SignatureAlgorithms)
                    .ok_or(PeerMisbehaved::MissingSignatureAlgorithms)?;
                let schemes = LazyU16::<SignatureScheme, 2, 0xfffe>::read_bytes(body)?;
                self.hs.transcript.add(raw);
                Ok(Tls13State::Certificate(ExpectCertificate {
                    hs: self.hs,
                    client_auth: Some(ClientAuthRequest {
                        context: cr.context.into_vec(),
                        schemes: schemes.to_vec(),
                    }),
                }))
            }
            other => Err(unexpected("Certificate or CertificateRequest", other.typ())),
        }
    }
}

pub(crate) struct ExpectCertificate {
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
    ) -> Result<Tls13State, Error> {
        let plain;
        let cert = match msg {
            HandshakeMessage::Certificate(cert) => cert,
            // RFC 8879 §4: only when offered; the transcript keeps the message as received.
            HandshakeMessage::Other(HandshakeType::CompressedCertificate)
                if !cx.cert_compression.is_empty() =>
            {
                plain = compress::decompress_certificate(
                    raw,
                    &cx.cert_compression,
                    cx.config.extensions.max_handshake_message,
                )?;
                Certificate::read_bytes(&plain)?
            }
            other => return Err(unexpected("Certificate", other.typ())),
        };
        if !cert.context.as_slice().is_empty() {
            return Err(PeerMisbehaved::NonEmptyCertificateContext.into());
        }
        for entry in cert.entries.iter() {
            msgs::check_extensions(
                &entry.extensions,
                &cx.offered,
                ExtensionContext::Certificate,
            )?;
        }
        // The end entity's stapled OCSP response and SCTs (RFC 8446 §4.4.2.1), when asked
        // for (check_extensions refused them otherwise); other entries' are not used.
        if let Some(leaf) = cert.entries.iter().next() {
            let found = msgs::check_extensions(
                &leaf.extensions,
                &cx.offered,
                ExtensionContext::Certificate,
            )?;
            if let Some(body) = found.get(ExtensionType::StatusRequest) {
                let ocsp = msgs::read_certificate_status(body)?;
                events.push(Event::OcspResponse(ocsp.to_vec()));
            }
            if let Some(body) = found.get(ExtensionType::SignedCertificateTimestamp) {
                events.push(Event::SignedCertificateTimestamps(msgs::read_sct_list(
                    body,
                )?));
            }
        }
        // The one copy of each certificate: from the message into the chain the connection
        // keeps (the decoded entries borrow from the message).
        let chain = cert
            .entries
            .iter()
            .map(|e| CertificateDer::from(e.cert_data.into_vec()))
            .collect();
        let (end_entity, cert_verified) = verify_chain(cx, chain, now, events)?;
        self.hs.transcript.add(raw);
        Ok(Tls13State::CertificateVerify(ExpectCertificateVerify::new(
            self.hs,
            self.client_auth,
            end_entity,
            cert_verified,
        )))
    }
}

pub(crate) struct ExpectCertificateVerify {
    hs: HandshakeState,
    client_auth: Option<ClientAuthRequest>,
    end_entity: EndEntity,
    cert_verified: ServerCertVerified,
}

/// Whether TLS 1.3 allows `scheme` in a CertificateVerify (RFC 8446 §4.2.3: no PKCS#1 v1.5,
/// no SHA-1).
fn tls13_signing_scheme(scheme: SignatureScheme) -> bool {
    common::scheme_key(scheme).is_some_and(|k| k != SchemeKey::RsaPkcs1)
}

/// The longest content a CertificateVerify signs: 64 spaces, a 33-byte context string, the
/// 0 separator and a transcript hash.
const SIGNED_CONTENT_MAX: usize =
    64 + TLS13_CONTEXT_SERVER.len() + 1 + overture_crypto_provider::MAX_OUTPUT_LEN;

/// The content a TLS 1.3 CertificateVerify signs, on the stack (no allocation per handshake).
struct SignedContent {
    buf: [u8; SIGNED_CONTENT_MAX],
    len: usize,
}

impl SignedContent {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

/// The content a TLS 1.3 CertificateVerify signs (RFC 8446 §4.4.3).
fn signed_content(context: &[u8], transcript_hash: &[u8]) -> Result<SignedContent, Error> {
    let too_long = || Error::Internal("CertificateVerify content longer than its buffer");
    let len = 64 + context.len() + 1 + transcript_hash.len();
    let mut buf = [0x20; SIGNED_CONTENT_MAX];
    let tail = buf.get_mut(64..len).ok_or_else(too_long)?;
    let (ctx, rest) = tail.split_at_mut(context.len());
    ctx.copy_from_slice(context);
    let (zero, hash) = rest.split_first_mut().ok_or_else(too_long)?;
    *zero = 0;
    hash.copy_from_slice(transcript_hash);
    Ok(SignedContent { buf, len })
}

impl ExpectCertificateVerify {
    fn new(
        hs: HandshakeState,
        client_auth: Option<ClientAuthRequest>,
        end_entity: EndEntity,
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
    ) -> Result<Tls13State, Error> {
        let HandshakeMessage::CertificateVerify(cv) = msg else {
            return Err(unexpected("CertificateVerify", msg.typ()));
        };
        if !cx.offered_schemes.contains(&cv.scheme) || !tls13_signing_scheme(cv.scheme) {
            return Err(PeerMisbehaved::UnofferedSignatureScheme.into());
        }
        let hash = self.hs.transcript.current_hash()?;
        let content = signed_content(TLS13_CONTEXT_SERVER, hash.as_bytes())?;
        let sig_verified = cx.config.verifier.verify_tls13_signature(
            content.as_bytes(),
            &self.end_entity,
            cv.scheme,
            cv.signature.as_slice(),
        )?;
        events.push(Event::PeerSignatureScheme(cv.scheme));
        self.hs.transcript.add(raw);
        Ok(Tls13State::Finished(ExpectFinished::new(
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

pub(crate) struct ExpectFinished {
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
    ) -> Result<Tls13State, Error> {
        let HandshakeMessage::Finished(verify_data) = msg else {
            return Err(unexpected("Finished", msg.typ()));
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
        let finished_verified = common::check_finished(expected.as_bytes(), verify_data)?;
        // ECH rejected: the outer handshake authenticated the public name; it completes (our
        // flight, with an empty Certificate if one was asked for) and then ends with
        // ech_required and the retry configs (RFC 9849 §6.1.6, §6.1.7).
        let ech_rejected = crate::ech::rejection(cx);
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
        let [client_ap, server_ap, exporter] = hs.ks.derive_many(
            [b"c ap traffic", b"s ap traffic", b"exp master"],
            hash.as_bytes(),
        )?;
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

        // The client's second flight, under the client handshake key (installed after the
        // ServerHello, or here after EndOfEarlyData).
        if hs.early_data_accepted {
            // RFC 8446 §4.5: EndOfEarlyData under the early traffic key (still installed
            // since Event::InstallEarlyWriteKey), before the handshake key.
            let eoed = HandshakeMessage::EndOfEarlyData.encode()?;
            hs.transcript.add(&eoed);
            events.push(Event::Send {
                level: Level::Early,
                bytes: eoed,
            });
        }
        hs.install_write_key(cx, events)?;
        let client_key = key_schedule::finished_key(suite, &hs.client_secret)?;
        // Without client authentication the flight is the Finished alone: one allocation.
        let mut flight = Vec::with_capacity(4 + suite.hash.output_len());
        if let Some(req) = client_auth {
            let usable = ech_rejected.is_none();
            client_certificate(cx, &mut hs.transcript, &req, usable, &mut flight)?;
        }
        cx.observe("client_finished_key", client_key.as_bytes());
        let hash = hs.transcript.current_hash()?;
        let ours = key_schedule::verify_data(suite, &client_key, hash.as_bytes());
        cx.observe("client_finished_verify_data", ours.as_bytes());
        let at = flight.len();
        msgs::encode_finished(&mut flight, ours.as_bytes())?;
        hs.transcript.add(flight.get(at..).unwrap_or_default());
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
        if let Some(rejected) = ech_rejected {
            // The events so far go out (the client applies them for this error), then the
            // alert under the application key, as Go does; no Complete.
            return Err(rejected);
        }
        events.push(Event::Complete);
        Ok(Tls13State::Traffic(ExpectTraffic::new(
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
/// and the transcript; an empty Certificate unless `usable` (RFC 9849 §6.1.7: a rejected
/// ECH's outer handshake sends none).
fn client_certificate(
    cx: &Common,
    transcript: &mut Transcript,
    req: &ClientAuthRequest,
    usable: bool,
    flight: &mut Vec<u8>,
) -> Result<(), Error> {
    let (chain, signer) = if usable {
        common::choose_client_cert(cx, &req.schemes, tls13_signing_scheme)
    } else {
        (Vec::new(), None)
    };
    let entries: Vec<_> = common::cert_list(&chain)?
        .into_iter()
        .map(|cert_data| CertificateEntry {
            cert_data,
            extensions: LazyU16::default(),
        })
        .collect();
    let cert = HandshakeMessage::Certificate(Certificate {
        context: PayloadU8(req.context.as_slice().into()),
        entries: LazyU24::from(entries),
    })
    .encode()?;
    transcript.add(&cert);
    flight.extend_from_slice(&cert);
    if let Some(signer) = signer {
        let hash = transcript.current_hash()?;
        let content = signed_content(TLS13_CONTEXT_CLIENT, hash.as_bytes())?;
        let cv = common::certificate_verify(signer.as_ref(), content.as_bytes())?;
        transcript.add(&cv);
        flight.extend_from_slice(&cv);
    }
    Ok(())
}

/// The handshake is complete: post-handshake messages only.
pub(crate) struct ExpectTraffic {
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
    ) -> Result<Tls13State, Error> {
        match msg {
            HandshakeMessage::NewSessionTicket(nst) => {
                if nst.lifetime > MAX_TICKET_LIFETIME {
                    return Err(PeerMisbehaved::TicketLifetimeTooLong.into());
                }
                let exts = &nst.extensions;
                let found =
                    msgs::check_extensions(exts, &cx.offered, ExtensionContext::NewSessionTicket)?;
                let max_early_data = found
                    .get(ExtensionType::EarlyData)
                    .map(u32::read_bytes)
                    .transpose()?;
                // RFC 8446 §4.6.1: a lifetime of zero means "discard immediately".
                let kept = nst.ticket.0.len() <= MAX_TICKET_LEN && nst.lifetime > 0;
                events.push(Event::TicketReceived {
                    version: ProtocolVersion::TLSv1_3,
                    len: nst.ticket.0.len(),
                    kept,
                });
                if !kept {
                    return Ok(Tls13State::Traffic(self));
                }
                let psk = key_schedule::ticket_psk(
                    self.suite,
                    &self.resumption_secret,
                    nst.nonce.as_slice(),
                )?;
                cx.observe("resumption_psk", psk.as_bytes());
                events.push(Event::NewSessionTicket(Box::new(Tls13Ticket {
                    suite: self.suite.suite,
                    ticket: nst.ticket.into_vec(),
                    psk,
                    lifetime: nst.lifetime,
                    age_add: nst.age_add,
                    max_early_data,
                    received_at: now,
                    server_name: cx.server_name.clone(),
                    alpn: cx.alpn.clone(),
                })));
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
            other => return Err(unexpected("NewSessionTicket or KeyUpdate", other.typ())),
        }
        Ok(Tls13State::Traffic(self))
    }

    /// TLS-Exporter (RFC 8446 §7.5): an absent context and an empty one are the same.
    pub(crate) fn export(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        key_schedule::export(
            self.suite,
            &self.exporter_secret,
            label,
            context.unwrap_or_default(),
            out,
        )
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
        let c = signed_content(TLS13_CONTEXT_SERVER, &[7; 32]).unwrap();
        let c = c.as_bytes();
        assert_eq!(c.len(), 64 + 33 + 1 + 32);
        assert!(c[..64].iter().all(|b| *b == 0x20));
        assert_eq!(&c[64..97], b"TLS 1.3, server CertificateVerify");
        assert_eq!(c[97], 0);
        assert_eq!(&c[98..], &[7; 32]);
        let c = signed_content(TLS13_CONTEXT_CLIENT, &[9; 64]).unwrap();
        assert_eq!(c.as_bytes().len(), SIGNED_CONTENT_MAX);
        assert_eq!(&c.as_bytes()[64..97], b"TLS 1.3, client CertificateVerify");
        assert_eq!(&c.as_bytes()[98..], &[9; 64]);
        assert!(signed_content(TLS13_CONTEXT_CLIENT, &[9; 65]).is_err());
    }
}

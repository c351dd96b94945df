//! The TLS 1.2 client (RFC 5246 with ECDHE and AEAD suites only): its own `Expect*` states
//! behind the same [`Event`] API, the PRF, extended master secret (RFC 7627), secure
//! renegotiation indication (RFC 5746), session resumption by id and by ticket (RFC 5077).
//!
//! ```text
//! full:        ServerHello ─► Certificate ─► ServerKeyExchange ─► [CertificateRequest]
//!              ─► ServerHelloDone ─► (send [Certificate], ClientKeyExchange, CCS, Finished)
//!              ─► [NewSessionTicket] ─► ExpectCcs ─► handle_ccs ─► Finished ─► Traffic
//! abbreviated: ServerHello ─► [NewSessionTicket] ─► ExpectCcs ─► handle_ccs ─► Finished
//!              ─► (send CCS, Finished) ─► Traffic
//! ```

use crate::common::{self, Common, FinishedVerified, SchemeKey, unexpected};
use crate::config::{
    Event, Level, MAX_TICKET_LEN, ServerCertVerified, SignatureVerified, Tls12Session,
};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};
use crate::key_schedule::{TrafficKey, Transcript};
use crate::msgs::{
    self, EcdheServerKeyExchange, ExtensionContext, HandshakeMessage, ServerHello, Tls12Message,
    Tls12NewSessionTicket,
};
use overture_crypto_provider::{
    Hmac, NONCE_LEN, Output, Secret, SupportedCipherSuite, Tls12CipherSuite, Tls12KxSignature,
};
use overture_types::{
    AlertDescription, CertificateDer, Codec, ExtensionType, HandshakeType, LazyU8, LazyU24,
    LengthWidth, PayloadU8, ProtocolVersion, SignatureScheme, UnixTime, encode_prefixed,
};
use zeroize::Zeroizing;

/// Length of a TLS 1.2 master secret.
const MASTER_SECRET_LEN: usize = 48;
/// Length of a TLS 1.2 Finished verify_data for every suite in scope.
const VERIFY_DATA_LEN: usize = 12;
/// The PRF labels TLS 1.2 itself uses, which an exporter must not (RFC 5705 §4).
const RESERVED_EXPORTER_LABELS: [&[u8]; 5] = [
    b"client finished",
    b"server finished",
    b"master secret",
    b"key expansion",
    b"extended master secret",
];

/// The TLS 1.2 PRF (RFC 5246 §5): `P_hash(secret, label ‖ seed)` with the suite's HMAC.
pub fn prf(hmac: &dyn Hmac, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let key = hmac.with_key(secret);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(seed.len().saturating_add(2));
    parts.push(label);
    parts.extend_from_slice(seed);
    // A(1) = HMAC(secret, label ‖ seed)
    let mut a = key.sign(&parts);
    for chunk in out.chunks_mut(hmac.tag_len().max(1)) {
        let mut with_a: Vec<&[u8]> = Vec::with_capacity(parts.len().saturating_add(1));
        with_a.push(a.as_bytes());
        with_a.extend_from_slice(&parts);
        let p = Zeroizing::new(key.sign(&with_a).as_bytes().to_vec());
        for (d, s) in chunk.iter_mut().zip(p.iter()) {
            *d = *s;
        }
        a = key.sign(&[a.as_bytes()]);
    }
}

/// The master secret: with EMS `PRF(pms, "extended master secret", session_hash)`
/// (RFC 7627 §4), else `PRF(pms, "master secret", client_random ‖ server_random)`.
fn master_secret(
    suite: &Tls12CipherSuite,
    pms: &[u8],
    ems_session_hash: Option<&[u8]>,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<Secret, Error> {
    let mut ms = Secret::zeroed(MASTER_SECRET_LEN).ok_or(Error::Internal("master secret"))?;
    match ems_session_hash {
        Some(h) => prf(
            suite.hmac,
            pms,
            b"extended master secret",
            &[h],
            ms.as_mut_bytes(),
        ),
        None => prf(
            suite.hmac,
            pms,
            b"master secret",
            &[client_random, server_random],
            ms.as_mut_bytes(),
        ),
    }
    Ok(ms)
}

/// The two directions' keys from the key block (RFC 5246 §6.3; AEAD suites have no MAC key).
fn key_block(
    suite: &'static Tls12CipherSuite,
    ms: &Secret,
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<(TrafficKey, TrafficKey), Error> {
    let key_len = suite.aead.key_len();
    let iv_len = suite.fixed_iv_len;
    if iv_len > NONCE_LEN {
        return Err(Error::Internal("TLS 1.2 fixed IV longer than a nonce"));
    }
    let total = key_len
        .checked_add(iv_len)
        .and_then(|n| n.checked_mul(2))
        .ok_or(Error::Internal("key block length"))?;
    let mut block = Zeroizing::new(vec![0u8; total]);
    prf(
        suite.hmac,
        ms.as_bytes(),
        b"key expansion",
        &[server_random, client_random],
        &mut block,
    );
    let mut r = overture_types::Reader::new(&block);
    let short = |_| Error::Internal("key block too short");
    let ck = r.take_for(key_len, "key").map_err(short)?;
    let sk = r.take_for(key_len, "key").map_err(short)?;
    let civ = r.take_for(iv_len, "iv").map_err(short)?;
    let siv = r.take_for(iv_len, "iv").map_err(short)?;
    let make = |key: &[u8], fixed: &[u8]| -> Result<TrafficKey, Error> {
        let mut iv = [0u8; NONCE_LEN];
        for (d, s) in iv.iter_mut().zip(fixed) {
            *d = *s;
        }
        Ok(TrafficKey {
            aead: suite.aead,
            key: Secret::new(key).ok_or(Error::Internal("AEAD key too long"))?,
            iv,
            tls12: Some(suite),
        })
    };
    Ok((make(ck, civ)?, make(sk, siv)?))
}

fn verify_data(suite: &Tls12CipherSuite, ms: &Secret, label: &[u8], hash: &Output) -> Vec<u8> {
    let mut out = vec![0u8; VERIFY_DATA_LEN];
    prf(
        suite.hmac,
        ms.as_bytes(),
        label,
        &[hash.as_bytes()],
        &mut out,
    );
    out
}

fn finished_message(verify_data: Vec<u8>) -> Result<Vec<u8>, Error> {
    Ok(HandshakeMessage::Finished(&verify_data).encode()?)
}

/// Whether `scheme` may sign a TLS 1.2 ServerKeyExchange of a suite with `kx` (RFC 8422 §5.4,
/// RFC 5246 §7.4.3, RFC 8446 §4.2.3 for RSASSA-PSS in TLS 1.2). No SHA-1.
fn fits_tls12_suite(kx: Tls12KxSignature, scheme: SignatureScheme) -> bool {
    let key = common::scheme_key(scheme);
    match kx {
        Tls12KxSignature::Ecdsa => matches!(key, Some(SchemeKey::Ecdsa | SchemeKey::EdDsa)),
        Tls12KxSignature::Rsa => matches!(
            key,
            Some(SchemeKey::RsaPkcs1 | SchemeKey::RsaPssRsae | SchemeKey::RsaPssPss)
        ),
    }
}

/// Whether we may sign a TLS 1.2 CertificateVerify with `scheme` (no SHA-1).
fn tls12_client_scheme(scheme: SignatureScheme) -> bool {
    fits_tls12_suite(Tls12KxSignature::Ecdsa, scheme)
        || fits_tls12_suite(Tls12KxSignature::Rsa, scheme)
}

/// `certificate_types` values of a TLS 1.2 CertificateRequest (RFC 5246 §7.4.4, RFC 8422
/// §5.5: `ecdsa_sign` covers ECDSA and EdDSA keys).
const RSA_SIGN: u8 = 1;
const ECDSA_SIGN: u8 = 64;

/// Whether a client key signing with `scheme` is of a certificate type the server asked for
/// (RFC 5246 §7.4.6: the certificate must match one of `certificate_types`).
fn fits_certificate_types(types: &[u8], scheme: SignatureScheme) -> bool {
    if fits_tls12_suite(Tls12KxSignature::Rsa, scheme) {
        types.contains(&RSA_SIGN)
    } else {
        fits_tls12_suite(Tls12KxSignature::Ecdsa, scheme) && types.contains(&ECDSA_SIGN)
    }
}

/// What a TLS 1.2 handshake carries from ServerHello to the end.
struct Hs12 {
    suite: &'static Tls12CipherSuite,
    transcript: Transcript,
    server_random: [u8; 32],
    ems: bool,
    /// The server's session id (ours echoed when resuming).
    session_id: Vec<u8>,
    /// ServerHello carried session_ticket: a NewSessionTicket comes before the server's CCS.
    ticket_promised: bool,
    /// A ticket received (or the resumed session's, when none came).
    ticket: Option<(Vec<u8>, u32)>,
    /// The handshake messages themselves, kept only when a client certificate may be sent
    /// (a TLS 1.2 CertificateVerify signs them, RFC 5246 §7.4.8).
    messages: Option<Vec<u8>>,
}

impl Hs12 {
    fn add(&mut self, message: &[u8]) {
        self.transcript.add(message);
        if let Some(m) = &mut self.messages {
            m.extend_from_slice(message);
        }
    }
}

/// The TLS 1.2 states.
pub(crate) enum Tls12State {
    Certificate(ExpectCertificate),
    ServerKeyExchange(ExpectServerKeyExchange),
    CertReqOrDone(ExpectCertReqOrDone),
    NewTicket(ExpectNewTicket),
    Ccs(ExpectCcs),
    Finished(ExpectFinished),
    Traffic(Traffic),
}

impl Tls12State {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Certificate(_) => "TLS 1.2 Certificate",
            Self::ServerKeyExchange(_) => "TLS 1.2 ServerKeyExchange",
            Self::CertReqOrDone(_) => "TLS 1.2 CertificateRequest or ServerHelloDone",
            Self::NewTicket(_) => "TLS 1.2 NewSessionTicket",
            Self::Ccs(_) => "TLS 1.2 ChangeCipherSpec",
            Self::Finished(_) => "TLS 1.2 Finished",
            Self::Traffic(_) => "TLS 1.2 application data",
        }
    }

    /// The completed handshake, if it is.
    pub(crate) fn traffic(&self) -> Option<&Traffic> {
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
        let msg = Tls12Message::decode(raw)?;
        if let Self::Traffic(t) = self {
            return t.handle(msg, events);
        }
        if msg == Tls12Message::HelloRequest {
            // RFC 5246 §7.4.1.1: ignored while negotiating; never in the transcript.
            return Ok(self);
        }
        match self {
            Self::Certificate(s) => s.handle(cx, msg, raw, now, events),
            Self::ServerKeyExchange(s) => s.handle(cx, msg, raw, events),
            Self::CertReqOrDone(s) => s.handle(cx, msg, raw, events),
            Self::NewTicket(s) => s.handle(msg, raw, events),
            Self::Ccs(_) => Err(unexpected("ChangeCipherSpec", msg.typ())),
            Self::Finished(s) => s.handle(cx, msg, raw, now, events),
            Self::Traffic(_) => Err(Error::Internal("unreachable TLS 1.2 state")),
        }
    }

    pub(crate) fn handle_ccs(self, events: &mut Vec<Event>) -> Result<Self, Error> {
        match self {
            Self::Ccs(s) => {
                events.push(Event::InstallReadKey(s.server_key));
                Ok(Self::Finished(s.next))
            }
            Self::NewTicket(_) => Err(PeerMisbehaved::MissingNewSessionTicket.into()),
            _ => Err(PeerMisbehaved::UnexpectedChangeCipherSpec.into()),
        }
    }
}

impl Traffic {
    /// TLS-Exporter (RFC 5705): an absent context and an empty one differ, the PRF's own
    /// labels are refused, and a session without EMS has none (RFC 7627 §5.4).
    pub(crate) fn export(
        &self,
        cx: &Common,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        let t = self;
        // RFC 7627 §5.4: without EMS the exporter's output can be shared with an attacker.
        if !t.ems {
            return Err(Error::Usage(
                "no exporter without the extended master secret (RFC 7627 §5.4)",
            ));
        }
        // RFC 5705 §4: labels of the TLS PRF itself are reserved.
        if RESERVED_EXPORTER_LABELS.contains(&label) {
            return Err(Error::Usage("a reserved TLS PRF label (RFC 5705 §4)"));
        }
        // RFC 5705 §4: seed = client_random ‖ server_random [‖ u16 length ‖ context].
        let mut ctx = Vec::new();
        if let Some(c) = context {
            let len = u16::try_from(c.len())
                .map_err(|_| Error::Usage("exporter context longer than 65535 bytes"))?;
            len.encode(&mut ctx)?;
            ctx.extend_from_slice(c);
        }
        prf(
            t.suite.hmac,
            t.master_secret.as_bytes(),
            label,
            &[&cx.random, &t.server_random, &ctx],
            out,
        );
        Ok(())
    }
}

/// A TLS 1.2 ServerHello (the caller checked version, compression and the downgrade sentinel).
pub(crate) fn server_hello(
    cx: &mut Common,
    sh: &ServerHello<'_>,
    raw: &[u8],
    mut transcript: Transcript,
    events: &mut Vec<Event>,
) -> Result<Tls12State, Error> {
    let echoed = !sh.session_id.as_slice().is_empty()
        && sh.session_id.as_slice() == cx.session_id.as_slice();
    // A resumption of what was never a TLS 1.2 session (our middlebox-compatibility session
    // id, or a TLS 1.3 session's) is refused before its cipher suite is looked at: the server
    // resumed at another version, whatever suite it names.
    if echoed && cx.tls12_offer.is_none() {
        return Err(PeerMisbehaved::BadResumption.into());
    }
    let suite = match cx.config.provider.find_suite(sh.cipher_suite) {
        Some(SupportedCipherSuite::Tls12(s)) if cx.offered_suites.contains(&s.suite) => s,
        _ => return Err(PeerMisbehaved::UnofferedCipherSuite.into()),
    };
    let exts = &sh.extensions;
    let found = msgs::check_extensions(exts, &cx.offered, ExtensionContext::Tls12ServerHello)?;
    // RFC 5746 §3.4: an initial handshake's renegotiation_info is empty (one zero byte).
    match found.get(ExtensionType::RenegotiationInfo) {
        None => {
            return Err(Error::PeerIncompatible(
                PeerIncompatible::NoSecureRenegotiation,
            ));
        }
        Some([0]) => {}
        Some(_) => return Err(PeerMisbehaved::BadRenegotiationInfo.into()),
    }
    if let Some(body) = found.get(ExtensionType::EcPointFormats) {
        let formats = LazyU8::<u8, 1>::read_bytes(body)?;
        if !formats.iter().any(|f| f == 0) {
            return Err(PeerMisbehaved::BadEcPointFormats.into());
        }
    }
    if found
        .get(ExtensionType::ServerName)
        .is_some_and(|b| !b.is_empty())
    {
        return Err(PeerMisbehaved::BadServerNameAck.into());
    }
    let empty_ext = |typ| -> Result<bool, Error> {
        match found.get(typ) {
            None => Ok(false),
            Some([]) => Ok(true),
            Some(_) => Err(overture_types::InvalidMessage::TrailingData("empty extension").into()),
        }
    };
    let ems = empty_ext(ExtensionType::ExtendedMasterSecret)?;
    // RFC 6066 §8: an empty status_request answer announces a CertificateStatus message.
    let status_acked = empty_ext(ExtensionType::StatusRequest)?;
    let scts = found
        .get(ExtensionType::SignedCertificateTimestamp)
        .map(msgs::read_sct_list)
        .transpose()?;
    let ticket_promised = empty_ext(ExtensionType::SessionTicket)?;
    let alpn = found
        .get(ExtensionType::ApplicationLayerProtocolNegotiation)
        .map(|b| common::parse_alpn(cx, b))
        .transpose()?;

    let mut messages = cx
        .config
        .client_auth
        .is_some()
        .then(|| transcript.buffered().unwrap_or_default().to_vec());
    if let Some(m) = &mut messages {
        m.extend_from_slice(raw);
    }
    transcript.start_hash(suite.hash);
    transcript.add(raw);
    let offered = cx.tls12_offer.take();
    let resumed = match (echoed, offered) {
        (false, _) => None,
        (true, Some(session)) => {
            if session.suite != suite.suite {
                return Err(PeerMisbehaved::BadResumption.into());
            }
            if session.extended_master_secret != ems {
                return Err(PeerMisbehaved::ResumptionEmsMismatch.into());
            }
            Some((session, SessionAccepted(())))
        }
        // Our middlebox-compatibility session id was never a TLS 1.2 session.
        (true, None) => return Err(PeerMisbehaved::BadResumption.into()),
    };
    if resumed.is_none() && !ems && !cx.allow_no_ems {
        return Err(Error::PeerIncompatible(
            PeerIncompatible::NoExtendedMasterSecret,
        ));
    }
    events.push(Event::ServerHello {
        version: ProtocolVersion::TLSv1_2,
        suite: suite.suite,
        group: None,
    });
    cx.alpn.clone_from(&alpn);
    events.push(Event::Alpn(alpn));
    common::peer_record_size_limit(found.get(ExtensionType::RecordSizeLimit), events)?;
    let hs = Hs12 {
        suite,
        transcript,
        server_random: sh.random,
        ems,
        session_id: sh.session_id.as_slice().to_vec(),
        ticket_promised,
        ticket: None,
        messages,
    };
    let Some((session, accepted)) = resumed else {
        if let Some(list) = scts {
            events.push(Event::SignedCertificateTimestamps(list));
        }
        return Ok(Tls12State::Certificate(ExpectCertificate {
            hs,
            status_acked,
        }));
    };
    // A resumption has no certificate: SCTs in its ServerHello are ignored (the session's
    // are those of its full handshake; BoringSSL tolerates them too, BoGo SendSCTListOnResume).
    events.push(Event::Resumed);
    let ms = session.master_secret.clone();
    cx.key_log("CLIENT_RANDOM", &ms);
    let (client_key, server_key) = key_block(suite, &ms, &cx.random, &hs.server_random)?;
    let mut hs = hs;
    hs.ticket = session
        .ticket
        .clone()
        .map(|t| (t, session.ticket_lifetime_hint));
    let created_at = session.created_at;
    let finished = ExpectFinished::new(
        hs,
        ms,
        ServerAuth::Resumed(accepted),
        Some(Abbreviated {
            client_key,
            created_at,
        }),
    );
    Ok(ccs_or_ticket(finished, server_key, events))
}

/// After the client's flight (full) or the ServerHello (abbreviated): a promised
/// NewSessionTicket first, else the server's CCS.
fn ccs_or_ticket(
    next: ExpectFinished,
    server_key: TrafficKey,
    events: &mut Vec<Event>,
) -> Tls12State {
    if next.hs.ticket_promised {
        Tls12State::NewTicket(ExpectNewTicket { next, server_key })
    } else {
        events.push(Event::ExpectCcs);
        Tls12State::Ccs(ExpectCcs { next, server_key })
    }
}

pub(crate) struct ExpectCertificate {
    hs: Hs12,
    /// The server answered status_request: a CertificateStatus may follow the Certificate.
    status_acked: bool,
}

impl ExpectCertificate {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: Tls12Message,
        raw: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<Tls12State, Error> {
        let Tls12Message::Certificate(list) = msg else {
            return Err(unexpected("Certificate", msg.typ()));
        };
        // The one copy of each certificate: into the chain the connection keeps.
        let chain = list
            .iter()
            .map(|c| CertificateDer::from(c.into_vec()))
            .collect();
        let (end_entity, cert_verified) = common::verify_chain(cx, chain, now, events)?;
        self.hs.add(raw);
        Ok(Tls12State::ServerKeyExchange(ExpectServerKeyExchange {
            hs: self.hs,
            end_entity,
            cert_verified,
            status_expected: self.status_acked,
        }))
    }
}

pub(crate) struct ExpectServerKeyExchange {
    hs: Hs12,
    end_entity: common::EndEntity,
    cert_verified: ServerCertVerified,
    /// A CertificateStatus may come first (RFC 6066 §8: right after the Certificate; the
    /// server may also leave it out).
    status_expected: bool,
}

impl ExpectServerKeyExchange {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: Tls12Message,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<Tls12State, Error> {
        if let Tls12Message::CertificateStatus(ocsp) = msg {
            if !self.status_expected {
                return Err(unexpected(
                    "ServerKeyExchange",
                    HandshakeType::CertificateStatus,
                ));
            }
            self.status_expected = false;
            self.hs.add(raw);
            events.push(Event::OcspResponse(ocsp.to_vec()));
            return Ok(Tls12State::ServerKeyExchange(self));
        }
        let Tls12Message::ServerKeyExchange(ske) = msg else {
            return Err(unexpected("ServerKeyExchange", msg.typ()));
        };
        let EcdheServerKeyExchange {
            group,
            ref public,
            scheme,
            ref signature,
        } = ske;
        let kx = cx.offered_kx(group).ok_or(PeerMisbehaved::UnofferedGroup)?;
        if kx.tls13_only() {
            return Err(PeerMisbehaved::Tls13OnlyGroupInTls12.into());
        }
        if !cx.offered_schemes.contains(&scheme)
            || !fits_tls12_suite(self.hs.suite.kx_signature, scheme)
        {
            return Err(PeerMisbehaved::UnofferedTls12SignatureScheme.into());
        }
        let mut signed = Vec::with_capacity(64 + 4 + public.as_slice().len());
        signed.extend_from_slice(&cx.random);
        signed.extend_from_slice(&self.hs.server_random);
        signed.extend_from_slice(&ske.params()?);
        let sig_verified = cx.config.verifier.verify_tls12_signature(
            &signed,
            &self.end_entity,
            scheme,
            signature.as_slice(),
        )?;
        events.push(Event::PeerSignatureScheme(scheme));
        let ours = kx.start()?;
        let our_public = ours.public_key().to_vec();
        let pms = ours.complete(public.as_slice())?;
        self.hs.add(raw);
        events.push(Event::KeyExchangeGroup(group));
        Ok(Tls12State::CertReqOrDone(ExpectCertReqOrDone {
            hs: self.hs,
            pms,
            our_public,
            cert_request: None,
            cert_verified: self.cert_verified,
            kx_verified: sig_verified,
        }))
    }
}

/// What the server's CertificateRequest asked for.
struct CertRequest {
    /// `supported_signature_algorithms`.
    schemes: Vec<SignatureScheme>,
    /// `certificate_types`.
    types: Vec<u8>,
}

pub(crate) struct ExpectCertReqOrDone {
    hs: Hs12,
    pms: Secret,
    our_public: Vec<u8>,
    /// The schemes of the server's CertificateRequest, once one came.
    cert_request: Option<CertRequest>,
    cert_verified: ServerCertVerified,
    kx_verified: SignatureVerified,
}

impl ExpectCertReqOrDone {
    fn handle(
        mut self,
        cx: &mut Common,
        msg: Tls12Message,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<Tls12State, Error> {
        match msg {
            Tls12Message::CertificateRequest(cr) if self.cert_request.is_none() => {
                self.hs.add(raw);
                self.cert_request = Some(CertRequest {
                    schemes: cr.schemes.to_vec(),
                    types: cr.certificate_types.to_vec(),
                });
                Ok(Tls12State::CertReqOrDone(self))
            }
            Tls12Message::ServerHelloDone => {
                self.hs.add(raw);
                self.client_flight(cx, events)
            }
            other => Err(unexpected(
                "CertificateRequest or ServerHelloDone",
                other.typ(),
            )),
        }
    }

    /// [Certificate], ClientKeyExchange, CCS, Finished (RFC 5246 §7.3).
    fn client_flight(self, cx: &mut Common, events: &mut Vec<Event>) -> Result<Tls12State, Error> {
        let Self {
            mut hs,
            pms,
            our_public,
            cert_request,
            cert_verified,
            kx_verified,
        } = self;
        let mut flight = Vec::new();
        let mut signer = None;
        if let Some(req) = cert_request {
            // RFC 5246 §7.4.6: a chain of a type the server asked for (certificate_types),
            // signing with a scheme it offered, or an empty one (the server decides).
            let chain;
            (chain, signer) = common::choose_client_cert(cx, &req.schemes, |s| {
                tls12_client_scheme(s) && fits_certificate_types(&req.types, s)
            });
            let cert =
                Tls12Message::Certificate(LazyU24::from(common::cert_list(&chain)?)).encode()?;
            hs.add(&cert);
            flight.extend_from_slice(&cert);
        }
        let mut cke = Vec::new();
        HandshakeType::ClientKeyExchange.encode(&mut cke)?;
        let point = PayloadU8::<1>::new(our_public)
            .map_err(|_| Error::Internal("our key share does not fit a ClientKeyExchange"))?;
        encode_prefixed(&mut cke, LengthWidth::U24, |o| point.encode(o))?;
        hs.add(&cke);
        flight.extend_from_slice(&cke);
        // RFC 7627 §3: the session hash covers the messages up to ClientKeyExchange.
        let session_hash = hs.transcript.current_hash()?;
        if let Some(signer) = signer {
            let messages = hs
                .messages
                .as_deref()
                .ok_or(Error::Internal("handshake messages were not kept"))?;
            let cv = common::certificate_verify(signer.as_ref(), messages)?;
            hs.add(&cv);
            flight.extend_from_slice(&cv);
        }
        let ms = master_secret(
            hs.suite,
            pms.as_bytes(),
            hs.ems.then_some(session_hash.as_bytes()),
            &cx.random,
            &hs.server_random,
        )?;
        cx.key_log("CLIENT_RANDOM", &ms);
        let (client_key, server_key) = key_block(hs.suite, &ms, &cx.random, &hs.server_random)?;
        events.push(Event::Send {
            level: Level::Initial,
            bytes: flight,
        });
        let hash = hs.transcript.current_hash()?;
        let fin = finished_message(verify_data(hs.suite, &ms, b"client finished", &hash))?;
        hs.add(&fin);
        events.push(Event::SendCcs);
        events.push(Event::InstallWriteKey(client_key));
        events.push(Event::Send {
            level: Level::Handshake,
            bytes: fin,
        });
        let next = ExpectFinished::new(hs, ms, ServerAuth::Full(cert_verified, kx_verified), None);
        Ok(ccs_or_ticket(next, server_key, events))
    }
}

pub(crate) struct ExpectNewTicket {
    next: ExpectFinished,
    server_key: TrafficKey,
}

impl ExpectNewTicket {
    fn handle(
        mut self,
        msg: Tls12Message,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<Tls12State, Error> {
        let Tls12Message::NewSessionTicket(Tls12NewSessionTicket {
            lifetime_hint,
            ticket,
        }) = msg
        else {
            return Err(unexpected("NewSessionTicket", msg.typ()));
        };
        self.next.hs.add(raw);
        if !ticket.0.is_empty() {
            let kept = ticket.0.len() <= MAX_TICKET_LEN;
            events.push(Event::TicketReceived {
                version: ProtocolVersion::TLSv1_2,
                len: ticket.0.len(),
                kept,
            });
            // A new ticket replaces the resumed session's; one too long to send back leaves
            // the session resumable by id only (or not at all).
            self.next.hs.ticket = kept.then(|| (ticket.into_vec(), lifetime_hint));
        }
        events.push(Event::ExpectCcs);
        Ok(Tls12State::Ccs(ExpectCcs {
            next: self.next,
            server_key: self.server_key,
        }))
    }
}

pub(crate) struct ExpectCcs {
    next: ExpectFinished,
    server_key: TrafficKey,
}

/// Proof that the server accepted the session we offered: it echoed our session id, with the
/// session's suite and EMS use. Only [`server_hello`] makes one; the server's Finished, keyed
/// by the session's master secret, then authenticates it.
#[derive(Debug)]
struct SessionAccepted(());

/// How the server authenticated itself before its Finished.
#[derive(Debug)]
enum ServerAuth {
    /// Full handshake: its chain verified, and its ServerKeyExchange signature.
    Full(ServerCertVerified, SignatureVerified),
    /// Abbreviated handshake: it accepted our session.
    Resumed(SessionAccepted),
}

/// What an abbreviated handshake does after the server's Finished.
struct Abbreviated {
    /// Our write key, installed after the server's Finished.
    client_key: TrafficKey,
    /// When the resumed session was made.
    created_at: UnixTime,
}

pub(crate) struct ExpectFinished {
    hs: Hs12,
    ms: Secret,
    auth: ServerAuth,
    abbreviated: Option<Abbreviated>,
}

impl ExpectFinished {
    /// The only way to the server's Finished: with the proof of how it authenticated.
    fn new(hs: Hs12, ms: Secret, auth: ServerAuth, abbreviated: Option<Abbreviated>) -> Self {
        Self {
            hs,
            ms,
            auth,
            abbreviated,
        }
    }

    fn handle(
        self,
        cx: &mut Common,
        msg: Tls12Message,
        raw: &[u8],
        now: UnixTime,
        events: &mut Vec<Event>,
    ) -> Result<Tls12State, Error> {
        let Tls12Message::Finished(theirs) = msg else {
            return Err(unexpected("Finished", msg.typ()));
        };
        let Self {
            mut hs,
            ms,
            auth,
            abbreviated,
        } = self;
        let hash = hs.transcript.current_hash()?;
        let expected = verify_data(hs.suite, &ms, b"server finished", &hash);
        let finished = common::check_finished(&expected, theirs)?;
        hs.add(raw);
        let mut created_at = None;
        if let Some(Abbreviated {
            client_key,
            created_at: made,
        }) = abbreviated
        {
            created_at = Some(made);
            // Abbreviated: our CCS and Finished come last.
            let hash = hs.transcript.current_hash()?;
            let fin = finished_message(verify_data(hs.suite, &ms, b"client finished", &hash))?;
            hs.add(&fin);
            events.push(Event::SendCcs);
            events.push(Event::InstallWriteKey(client_key));
            events.push(Event::Send {
                level: Level::Handshake,
                bytes: fin,
            });
        }
        if !hs.session_id.is_empty() || hs.ticket.is_some() {
            let (ticket, hint) = match hs.ticket.take() {
                Some((t, h)) => (Some(t), h),
                None => (None, 0),
            };
            events.push(Event::Tls12Session(Box::new(Tls12Session {
                suite: hs.suite.suite,
                master_secret: ms.clone(),
                session_id: hs.session_id.clone(),
                ticket,
                ticket_lifetime_hint: hint,
                extended_master_secret: hs.ems,
                server_name: cx.server_name.clone(),
                created_at: created_at.unwrap_or(now),
                alpn: cx.alpn.clone(),
            })));
        }
        events.push(Event::Complete);
        Ok(Tls12State::Traffic(Traffic::new(
            hs.suite,
            ms,
            hs.server_random,
            hs.ems,
            auth,
            finished,
        )))
    }
}

/// The TLS 1.2 handshake is complete.
pub(crate) struct Traffic {
    suite: &'static Tls12CipherSuite,
    master_secret: Secret,
    server_random: [u8; 32],
    ems: bool,
    _auth: ServerAuth,
    _finished: FinishedVerified,
}

impl Traffic {
    /// The only way to a completed TLS 1.2 handshake: with the server's authentication and
    /// its verified Finished.
    fn new(
        suite: &'static Tls12CipherSuite,
        master_secret: Secret,
        server_random: [u8; 32],
        ems: bool,
        auth: ServerAuth,
        finished: FinishedVerified,
    ) -> Self {
        Self {
            suite,
            master_secret,
            server_random,
            ems,
            _auth: auth,
            _finished: finished,
        }
    }
}

impl Traffic {
    fn handle(self, msg: Tls12Message, events: &mut Vec<Event>) -> Result<Tls12State, Error> {
        match msg {
            Tls12Message::HelloRequest => {
                // We never renegotiate (RFC 5746 §4.2 lets us refuse with a warning).
                events.push(Event::SendWarningAlert(AlertDescription::NoRenegotiation));
                Ok(Tls12State::Traffic(self))
            }
            other => Err(unexpected(
                "HelloRequest (or application data)",
                other.typ(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_crypto_provider::ring;

    #[test]
    fn signature_schemes_fit_the_suite() {
        use SignatureScheme as S;
        assert!(fits_tls12_suite(Tls12KxSignature::Rsa, S::RSA_PKCS1_SHA256));
        assert!(fits_tls12_suite(Tls12KxSignature::Rsa, S::RSA_PSS_SHA384));
        assert!(!fits_tls12_suite(
            Tls12KxSignature::Rsa,
            S::ECDSA_NISTP256_SHA256
        ));
        assert!(!fits_tls12_suite(Tls12KxSignature::Rsa, S::RSA_PKCS1_SHA1));
        assert!(fits_tls12_suite(
            Tls12KxSignature::Ecdsa,
            S::ECDSA_NISTP384_SHA384
        ));
        assert!(!fits_tls12_suite(
            Tls12KxSignature::Ecdsa,
            S::RSA_PKCS1_SHA256
        ));
        assert!(!fits_tls12_suite(
            Tls12KxSignature::Ecdsa,
            S::ECDSA_SHA1_Legacy
        ));
    }

    /// P_SHA256 by its definition, with a separate HMAC computation per block, against `prf`
    /// for lengths around the block size.
    #[test]
    fn prf_matches_its_definition() {
        let h = &ring::HMAC_SHA256;
        let secret = [0x0bu8; 20];
        let label = b"test label";
        let seed = [0xa0u8; 16];
        let key = h.with_key(&secret);
        let mut a = key.sign(&[label, &seed]).as_bytes().to_vec();
        let mut expected = Vec::new();
        while expected.len() < 100 {
            expected.extend_from_slice(key.sign(&[&a, label, &seed]).as_bytes());
            a = key.sign(&[&a]).as_bytes().to_vec();
        }
        for n in [1, 12, 32, 33, 48, 64, 100] {
            let mut out = vec![0u8; n];
            prf(h, &secret, label, &[&seed[..8], &seed[8..]], &mut out);
            assert_eq!(out, expected[..n], "{n}");
        }
    }

    /// The TLS 1.2 PRF vectors posted to the IETF TLS working group
    /// (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html), for P_SHA256 and
    /// P_SHA384. /work/shared/testdata has no PRF corpus, so they are inline.
    #[test]
    fn prf_known_answers() {
        let cases: [(&dyn Hmac, &str, &str, &str); 2] = [
            (
                &ring::HMAC_SHA256,
                "9bbe436ba940f017b17652849a71db35",
                "a0ba9f936cda311827a6f796ffd5198c",
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a\
                 6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab\
                 4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701\
                 87347b66",
            ),
            (
                &ring::HMAC_SHA384,
                "b80b733d6ceefcdc71566ea48e5567df",
                "cd665cf6a8447dd6ff8b27555edb7465",
                "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd\
                 e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd\
                 8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425\
                 9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6\
                 91c8f3a26854308d5eaa3be85e0990703d73e56f",
            ),
        ];
        for (hmac, secret, seed, want) in cases {
            let want = hex::decode(want).unwrap();
            let mut out = vec![0u8; want.len()];
            let seed = hex::decode(seed).unwrap();
            prf(
                hmac,
                &hex::decode(secret).unwrap(),
                b"test label",
                &[&seed],
                &mut out,
            );
            assert_eq!(out, want, "{:?}", hmac.hash_algorithm());
        }
    }

    #[test]
    fn key_block_layout() {
        let ms = Secret::new(&[7; 48]).unwrap();
        let suite = &ring::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
        let (c, s) = key_block(suite, &ms, &[1; 32], &[2; 32]).unwrap();
        let mut block = vec![0u8; 40];
        prf(
            suite.hmac,
            ms.as_bytes(),
            b"key expansion",
            &[&[2; 32], &[1; 32]],
            &mut block,
        );
        assert_eq!(c.key.as_bytes(), &block[..16]);
        assert_eq!(s.key.as_bytes(), &block[16..32]);
        assert_eq!(c.fixed_iv(), &block[32..36]);
        assert_eq!(s.fixed_iv(), &block[36..40]);
        assert_eq!(&c.iv[4..], &[0; 8]);
        let chacha = &ring::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256;
        let (c, _) = key_block(chacha, &ms, &[1; 32], &[2; 32]).unwrap();
        assert_eq!(c.fixed_iv().len(), 12);
        assert_eq!(c.key.len(), 32);
    }
}

//! Encrypted Client Hello (RFC 9849), client side: the ECHConfigList, the two ClientHellos,
//! the acceptance signals, GREASE.
//!
//! ```text
//!  ECHConfigList bytes ─► EchConfigList::parse (bounded Reader; versions other than 0xfe0d
//!        │                 skipped, configs with an unknown mandatory extension or a bad
//!        │                 public_name ignored)
//!        ▼ select(provider): first config with DHKEM(X25519) and a KDF/AEAD pair we have
//!  start: HPKE SetupBaseS(pkR, "tls ech" ‖ 0 ‖ ECHConfig) ─► enc, context (kept for an HRR)
//!        ClientHelloInner  (real SNI, ALPN, PSK, `encrypted_client_hello` = inner) ─► transcript
//!        EncodedClientHelloInner = inner body, empty session id, zero padding (RFC 9849 §6.1.3)
//!        ClientHelloOuter  (public_name SNI, fresh random, GREASE PSK, the same key shares
//!                           and other extensions, ALPN included as Chrome sends it,
//!                           `encrypted_client_hello` = outer: suite, config_id, enc,
//!                           payload = context.Seal(ClientHelloOuterAAD, EncodedClientHelloInner))
//!        ─► the wire; the outer hello goes into a second transcript
//!  HelloRetryRequest: its ECH extension = HKDF-Expand-Label(HKDF-Extract(0, inner.random),
//!        "hrr ech accept confirmation", H(message_hash(CHI1) ‖ HRR with 8 zero bytes), 8)?
//!        yes: ClientHelloInner2 + ClientHelloOuter2 (enc empty, same context: sequence 1)
//!        no:  rejected ─► go on with the outer hello
//!  ServerHello: random[24..32] = HKDF-Expand-Label(.., "ech accept confirmation",
//!        H(transcript ‖ ServerHello with those 8 bytes zero), 8)?
//!        yes: accepted, the inner transcript goes on (no after an accepting HRR: illegal_parameter)
//!        no:  rejected: outer transcript, the certificate checked for public_name,
//!             EncryptedExtensions' retry_configs kept; after the server's Finished verifies
//!             our flight is emitted (an empty Certificate if one is asked for), then
//!             Error::EchRejected (alert ech_required) carries them
//! ```
//!
//! Outer-extension compression (RFC 9849 §5.1): the key shares (1,248 bytes with the default
//! X25519MLKEM768 + x25519 shares) are the same in both hellos, so EncodedClientHelloInner
//! carries `ech_outer_extensions = [key_share]` in their place; every other extension is
//! encrypted in full (they are small, and some — SNI, ALPN, PSK — differ). HPKE is
//! `overture_crypto_provider::hpke`, on the provider's own X25519, HKDF and AEAD.

use crate::common::Common;
use crate::error::{Error, PeerMisbehaved};
use crate::key_schedule::Transcript;
use crate::msgs::{
    ClientExtension, ClientHello, HandshakeMessage, Items, ListU8, ListU16, OfferedPsks,
    PskIdentity,
};
use overture_crypto_provider::hpke::{self, Hpke, HpkeContext};
use overture_crypto_provider::{CryptoProvider, SecureRandom, TAG_LEN, Tls13CipherSuite};
use overture_types::{
    Codec, ExtensionType, InvalidMessage, LengthWidth, PayloadU8, PayloadU16, Reader, ServerName,
};
use std::borrow::Cow;

/// The ECHConfig version (and extension code point) of RFC 9849.
pub const ECH_VERSION: u16 = 0xfe0d;
/// `ECHClientHelloType` outer.
const OUTER: u8 = 0;
/// `ECHClientHelloType` inner.
const INNER: u8 = 1;
/// The acceptance signals are 8 bytes.
const CONFIRMATION_LEN: usize = 8;
/// Where ServerHello.random's last 8 bytes are in the whole message: header (4),
/// legacy_version (2), random[..24].
const SH_CONFIRMATION_AT: usize = 4 + 2 + 24;
const HPKE_INFO_PREFIX: &[u8] = b"tls ech\0";
/// `ech_outer_extensions` (RFC 9849 §5.1).
const OUTER_EXTENSIONS: ExtensionType = ExtensionType::Unknown(0xfd00);
/// Its body for key_share alone: `ExtensionType OuterExtensions<2..254>` = [key_share].
const OUTER_KEY_SHARE: [u8; 3] = [2, 0x00, 0x33];

/// One ECHConfig of version 0xfe0d (RFC 9849 §4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchConfig {
    /// The whole ECHConfig as received (version, length, contents): HPKE's `info` ends with it.
    raw: Vec<u8>,
    /// `config_id`.
    pub config_id: u8,
    /// `kem_id`.
    pub kem_id: u16,
    /// `public_key`.
    pub public_key: Vec<u8>,
    /// `cipher_suites`: (kdf_id, aead_id) pairs in the server's preference order.
    pub cipher_suites: Vec<(u16, u16)>,
    /// `maximum_name_length` (padding, RFC 9849 §6.1.3).
    pub maximum_name_length: u8,
    /// `public_name`, as received.
    pub public_name: Vec<u8>,
    /// The extension types of `extensions` (none is supported: one with the high bit set
    /// makes the config unusable, RFC 9849 §4.2).
    pub extension_types: Vec<u16>,
}

impl EchConfig {
    /// Whether a client may use this config at all (RFC 9849 §4.2 and §6.1.7): no mandatory
    /// extension (we support none) and a `public_name` that is a valid DNS host name, not an
    /// IPv4 literal.
    pub fn is_usable(&self) -> bool {
        !self.extension_types.iter().any(|t| t & 0x8000 != 0)
            && valid_public_name(&self.public_name)
    }

    /// The HPKE suite this `provider` can use with this config: DHKEM(X25519, HKDF-SHA256)
    /// and the first (KDF, AEAD) pair of the config's list that HPKE has on the provider.
    pub fn hpke(&self, provider: &CryptoProvider) -> Option<Hpke> {
        if !self.is_usable() {
            return None;
        }
        self.cipher_suites
            .iter()
            .find_map(|(kdf, aead)| Hpke::from_provider(provider, self.kem_id, *kdf, *aead).ok())
    }

    fn public_name_str(&self) -> Option<ServerName<'static>> {
        let name = core::str::from_utf8(&self.public_name).ok()?;
        ServerName::try_from(name).ok().map(|n| n.to_owned())
    }
}

/// An ECHConfigList (RFC 9849 §4), parsed: the configs of version 0xfe0d in the server's
/// order; configs of other versions are skipped as the RFC says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchConfigList {
    raw: Vec<u8>,
    configs: Vec<EchConfig>,
}

impl EchConfigList {
    /// Parses an ECHConfigList as it is on the wire (and in DNS HTTPS records): a 16-bit
    /// length, then ECHConfigs. Any syntax error is an error (`decode_error` when it comes
    /// from a server); a 0xfe0d config whose contents do not parse too. A list of only
    /// unknown versions parses (to no config).
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut configs = Vec::new();
        for_each_config(bytes, |c| configs.push(c))?;
        Ok(Self {
            raw: bytes.to_vec(),
            configs,
        })
    }

    /// The list as it was given.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The 0xfe0d configs, in order.
    pub fn configs(&self) -> &[EchConfig] {
        &self.configs
    }

    /// The first config `provider` can use, with its HPKE suite (RFC 9849 §6.1).
    pub fn select(&self, provider: &CryptoProvider) -> Option<(&EchConfig, Hpke)> {
        self.configs
            .iter()
            .find_map(|c| c.hpke(provider).map(|h| (c, h)))
    }
}

/// Parses the ECHConfigList `bytes` and hands each 0xfe0d config to `f` in order, keeping
/// none: a server's retry_configs are checked in one pass without holding a parsed copy of
/// up to 64 KiB of configs (the hostile corpus bounds the heap of that case).
fn for_each_config(bytes: &[u8], mut f: impl FnMut(EchConfig)) -> Result<(), InvalidMessage> {
    let mut r = Reader::new(bytes);
    let mut list = r.prefixed(LengthWidth::U16, 4, 0xffff, "ECHConfigList")?;
    r.expect_empty("ECHConfigList")?;
    while list.any_left() {
        let start = list.used();
        let version = list.u16("ECHConfig.version")?;
        let contents = list.prefixed(LengthWidth::U16, 0, 0xffff, "ECHConfig.contents")?;
        if version != ECH_VERSION {
            continue;
        }
        let raw = bytes
            .get(2 + start..2 + list.used())
            .ok_or(InvalidMessage::MissingData("ECHConfig"))?
            .to_vec();
        f(read_contents(contents, raw)?);
    }
    Ok(())
}

fn read_contents(mut r: Reader<'_>, raw: Vec<u8>) -> Result<EchConfig, InvalidMessage> {
    let config_id = r.u8("config_id")?;
    let kem_id = r.u16("kem_id")?;
    let public_key = r
        .prefixed(LengthWidth::U16, 1, 0xffff, "public_key")?
        .rest()
        .to_vec();
    let mut suites = r.prefixed(LengthWidth::U16, 4, 0xfffc, "cipher_suites")?;
    let mut cipher_suites = Vec::new();
    while suites.any_left() {
        cipher_suites.push((suites.u16("kdf_id")?, suites.u16("aead_id")?));
    }
    let maximum_name_length = r.u8("maximum_name_length")?;
    let public_name = r
        .prefixed(LengthWidth::U8, 1, 0xff, "public_name")?
        .rest()
        .to_vec();
    let mut exts = r.prefixed(LengthWidth::U16, 0, 0xffff, "ECHConfig.extensions")?;
    let mut extension_types: Vec<u16> = Vec::new();
    while exts.any_left() {
        let typ = exts.u16("ECHConfigExtension.type")?;
        exts.prefixed(LengthWidth::U16, 0, 0xffff, "ECHConfigExtension.data")?;
        extension_types.push(typ);
    }
    // RFC 9849 §4.2: no type twice. Up to 16,383 entries: sorted once (n log n), not a
    // search per entry (quadratic: the fuzzer's ech_config target found ~1 s per 64 KiB
    // config under instrumentation).
    let mut sorted = extension_types.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        return Err(InvalidMessage::IllegalValue("ECHConfig extension repeated"));
    }
    r.expect_empty("ECHConfigContents")?;
    Ok(EchConfig {
        raw,
        config_id,
        kem_id,
        public_key,
        cipher_suites,
        maximum_name_length,
        public_name,
        extension_types,
    })
}

/// RFC 9849 §6.1.7: dot-separated LDH labels of 1..=63 octets, no leading or trailing dot,
/// and a last label that is neither all digits nor `0x`/`0X` followed by hex digits (an IPv4
/// literal).
pub fn valid_public_name(name: &[u8]) -> bool {
    let ldh = |l: &[u8]| {
        !l.is_empty()
            && l.len() <= 63
            && l.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && !l.starts_with(b"-")
            && !l.ends_with(b"-")
    };
    let labels: Vec<&[u8]> = name.split(|c| *c == b'.').collect();
    let Some(last) = labels.last() else {
        return false;
    };
    let numeric = last.iter().all(u8::is_ascii_digit)
        || ((last.starts_with(b"0x") || last.starts_with(b"0X"))
            && last
                .get(2..)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    labels.iter().all(|l| ldh(l)) && !numeric
}

/// What the client does about ECH ([`crate::ExtensionOptions::ech`]).
#[derive(Clone, Debug, Default)]
pub enum EchMode {
    /// No `encrypted_client_hello` extension (the default).
    #[default]
    Off,
    /// GREASE ECH (RFC 9849 §6.2.1, as Chrome sends it): a plausible extension with a random
    /// config id, enc and payload, which any server ignores. Status [`EchStatus::Grease`].
    Grease,
    /// Offer ECH with the first usable config of the list. Needs TLS 1.3 only (the inner
    /// hello must not offer TLS 1.2, RFC 9849 §6.1; as Go, the outer does not either) and
    /// sends no early data; [`crate::ClientHandshake::start`] refuses a configuration with
    /// TLS 1.2 or with no usable config.
    Enabled(EchConfigList),
}

/// What became of ECH on a connection ([`crate::Event::Ech`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum EchStatus {
    /// No ECH extension was sent.
    #[default]
    NotOffered,
    /// A GREASE ECH extension was sent.
    Grease,
    /// The server accepted ECH: the handshake is the inner ClientHello's.
    Accepted,
    /// The server rejected ECH: the handshake goes on with the outer ClientHello, checked
    /// against the config's public name, and ends in [`Error::EchRejected`].
    Rejected,
}

impl EchStatus {
    /// `"accepted"`, `"rejected"`, `"grease"`, or `None` when not offered.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::NotOffered => None,
            Self::Grease => Some("grease"),
            Self::Accepted => Some("accepted"),
            Self::Rejected => Some("rejected"),
        }
    }
}

/// ECH on one connection.
pub(crate) enum EchState {
    /// Offered; undecided (first flight) or accepted by a HelloRetryRequest.
    Offered(Box<EchOffer>),
    /// Accepted: the inner hello's handshake.
    Accepted,
    /// Rejected: the outer hello's handshake. `outer_ext` is the first outer hello's
    /// extension (sent again after a HelloRetryRequest); `retry_configs` the server's, when
    /// it sent a list with a config we can use.
    Rejected {
        outer_ext: Vec<u8>,
        retry_configs: Option<Vec<u8>>,
    },
    /// GREASE: the extension body, made once and repeated after a HelloRetryRequest.
    Grease(Option<Vec<u8>>),
}

impl EchState {
    pub(crate) fn status(&self) -> EchStatus {
        match self {
            Self::Offered(_) => EchStatus::NotOffered,
            Self::Accepted => EchStatus::Accepted,
            Self::Rejected { .. } => EchStatus::Rejected,
            Self::Grease(_) => EchStatus::Grease,
        }
    }
}

/// An ECH offer waiting for the server's answer.
pub(crate) struct EchOffer {
    config: EchConfig,
    hpke: Hpke,
    /// The HPKE context (its sequence number moves with each seal: the second ClientHello
    /// after a HelloRetryRequest uses sequence 1, RFC 9849 §6.1.5).
    context: HpkeContext,
    enc: Vec<u8>,
    /// The outer hello's SNI (the config's public_name) and random.
    public_name: ServerName<'static>,
    outer_random: [u8; 32],
    /// The outer hellos sent, for a rejection.
    outer_transcript: Transcript,
    outer_offered: crate::common::OfferedExtensions,
    /// The first outer hello's `encrypted_client_hello` body.
    first_outer_ext: Vec<u8>,
}

/// The ECH state for a new connection under `mode`: `Err` (a configuration error) when ECH
/// is enabled but cannot be offered.
pub(crate) fn start(
    mode: &EchMode,
    provider: &CryptoProvider,
    tls12: bool,
) -> Result<Option<EchState>, Error> {
    match mode {
        EchMode::Off => Ok(None),
        EchMode::Grease => Ok(Some(EchState::Grease(None))),
        EchMode::Enabled(list) => {
            if tls12 {
                return Err(Error::Config(
                    "ECH needs TLS 1.3 only (RFC 9849 §6.1): remove TLS 1.2 from the versions",
                ));
            }
            let (config, hpke) = list
                .select(provider)
                .ok_or(Error::Config("no ECHConfig in the list is usable"))?;
            let public_name = config.public_name_str().ok_or(Error::Config(
                "the ECHConfig's public_name is not a DNS name",
            ))?;
            let info = [HPKE_INFO_PREFIX, &config.raw].concat();
            let (enc, context) = hpke.setup_base_sender(&config.public_key, &info)?;
            let mut outer_random = [0u8; 32];
            provider.secure_random.fill(&mut outer_random)?;
            Ok(Some(EchState::Offered(Box::new(EchOffer {
                config: config.clone(),
                hpke,
                context,
                enc,
                public_name,
                outer_random,
                outer_transcript: Transcript::new(),
                outer_offered: Default::default(),
                first_outer_ext: Vec::new(),
            }))))
        }
    }
}

/// The body of the `encrypted_client_hello` extension of a ClientHello being built, placed
/// before pre_shared_key (`None`: no extension): the inner variant when offering, the first
/// outer one again after a rejecting HelloRetryRequest, or GREASE — made once, sized like a
/// real outer extension for this hello (`others` are the extensions so far), returned owned
/// the first time for the caller to keep with [`keep_grease`], borrowed after that.
pub(crate) fn extension_body<'c>(
    cx: &'c Common,
    others: &[ClientExtension<'_>],
) -> Result<Option<Cow<'c, [u8]>>, Error> {
    Ok(Some(match &cx.ech {
        None | Some(EchState::Accepted) => return Ok(None),
        Some(EchState::Offered(_)) => Cow::Borrowed(&[INNER]),
        Some(EchState::Rejected { outer_ext, .. }) => Cow::Borrowed(outer_ext),
        Some(EchState::Grease(Some(body))) => Cow::Borrowed(body),
        Some(EchState::Grease(None)) => {
            // The inner hello a real offer would encrypt: these extensions (key_share as
            // ech_outer_extensions) and the inner ECH extension.
            let mut inner_len = 2 + 32 + 1 + 2 + 2 * cx.offered_suites.len() + 2 + 2 + 5;
            let mut scratch = Vec::new();
            for e in others {
                scratch.clear();
                match e {
                    ClientExtension::KeyShare(_) => {
                        ClientExtension::raw(OUTER_EXTENSIONS, &OUTER_KEY_SHARE)
                            .encode(&mut scratch)?;
                    }
                    e => e.encode(&mut scratch)?,
                }
                inner_len += scratch.len();
            }
            Cow::Owned(grease_body(
                cx.config.provider.secure_random,
                padded_len(inner_len),
            )?)
        }
    }))
}

/// Keeps the GREASE body [`extension_body`] made, for the ClientHello after a
/// HelloRetryRequest.
pub(crate) fn keep_grease(cx: &mut Common, body: Vec<u8>) {
    if let Some(EchState::Grease(slot @ None)) = &mut cx.ech {
        *slot = Some(body);
    }
}

/// `len` rounded up to a multiple of 32 (RFC 9849 §6.1.3's last step).
fn padded_len(len: usize) -> usize {
    len.div_ceil(32).saturating_mul(32).max(32)
}

/// A GREASE `encrypted_client_hello` body (RFC 9849 §6.2.1): random config id, HKDF-SHA256
/// with AES-128-GCM (the mandatory suite), a random 32-byte X25519 enc (any 32 bytes are a
/// public key), a random payload of `inner_len` + the tag.
fn grease_body(random: &dyn SecureRandom, inner_len: usize) -> Result<Vec<u8>, Error> {
    let mut id = [0u8; 1];
    random.fill(&mut id)?;
    let mut enc = vec![0u8; 32];
    random.fill(&mut enc)?;
    let mut payload = vec![0u8; inner_len + TAG_LEN];
    random.fill(&mut payload)?;
    outer_body(
        (hpke::KDF_HKDF_SHA256, hpke::AEAD_AES_128_GCM),
        id[0],
        &enc,
        &payload,
    )
}

fn outer_body(
    (kdf, aead): (u16, u16),
    config_id: u8,
    enc: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut b = vec![OUTER];
    kdf.encode(&mut b)?;
    aead.encode(&mut b)?;
    b.push(config_id);
    overture_types::encode_bytes(&mut b, LengthWidth::U16, enc)?;
    overture_types::encode_bytes(&mut b, LengthWidth::U16, payload)?;
    Ok(b)
}

/// What goes on the wire for the ClientHello `hello` (the inner one when ECH is offered):
/// with an undecided offer, the ClientHelloOuter that carries it (its extensions recorded
/// for a rejection, its bytes added to the outer transcript); otherwise `hello` itself.
/// `second`: the answer to a HelloRetryRequest (enc empty, the context's next sequence).
pub(crate) fn wire_hello(cx: &mut Common, hello: Vec<u8>, second: bool) -> Result<Vec<u8>, Error> {
    let random = cx.config.provider.secure_random;
    let Some(EchState::Offered(offer)) = &mut cx.ech else {
        return Ok(hello);
    };
    let outer = outer_hello(offer, &hello, random, second)?;
    offer.outer_transcript.add(&outer);
    Ok(outer)
}

/// Builds the ClientHelloOuter for the encoded inner hello `inner` (RFC 9849 §5.1, §6.1,
/// §6.1.1).
/// `ch`'s version, suites and compression methods with `session_id`, `random` and
/// `extensions`, borrowed.
fn rebuilt<'a>(
    ch: &'a ClientHello<'_>,
    session_id: &'a [u8],
    random: [u8; 32],
    extensions: &'a [ClientExtension<'a>],
) -> ClientHello<'a> {
    ClientHello {
        legacy_version: ch.legacy_version,
        random,
        session_id: PayloadU8(Cow::Borrowed(session_id)),
        cipher_suites: ListU16(Items::Borrowed(ch.cipher_suites.as_slice())),
        compression_methods: ListU8(Items::Borrowed(ch.compression_methods.as_slice())),
        extensions: ListU16(Items::Borrowed(extensions)),
    }
}

fn outer_hello(
    offer: &mut EchOffer,
    inner: &[u8],
    random: &dyn SecureRandom,
    second: bool,
) -> Result<Vec<u8>, Error> {
    let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(inner)? else {
        return Err(Error::Internal("ECH: the inner hello is not a ClientHello"));
    };
    // EncodedClientHelloInner: the inner body with an empty legacy_session_id and key_share
    // replaced by ech_outer_extensions (the outer hello carries the same shares), then
    // padding.
    let compressed: Vec<ClientExtension<'_>> = ch
        .extensions
        .0
        .iter()
        .map(|e| match e {
            ClientExtension::KeyShare(_) => {
                ClientExtension::raw(OUTER_EXTENSIONS, &OUTER_KEY_SHARE)
            }
            other => other.clone(),
        })
        .collect();
    let mut encoded = Vec::with_capacity(inner.len());
    rebuilt(&ch, &[], ch.random, &compressed).encode(&mut encoded)?;
    let name_len = ch.extensions.0.iter().find_map(|e| match e {
        ClientExtension::ServerName(n) => Some(n.len()),
        _ => None,
    });
    let max_name = usize::from(offer.config.maximum_name_length);
    let sni_padding = match name_len {
        Some(d) => max_name.saturating_sub(d),
        None => max_name + 9,
    };
    let len = encoded.len() + sni_padding;
    encoded.resize(padded_len(len), 0);

    // The outer hello: the inner one with the public name, a fresh random, a GREASE PSK
    // (RFC 9849 §6.1.2), and the outer ECH extension with a zero payload for the AAD.
    let public_name = match &offer.public_name {
        ServerName::DnsName(d) => d.as_ref().as_bytes(),
        _ => return Err(Error::Internal("ECH: public_name is not a DNS name")),
    };
    let payload_len = encoded.len() + TAG_LEN;
    let enc: &[u8] = if second { &[] } else { &offer.enc };
    let (kdf, aead) = (offer.hpke.ids().1, offer.hpke.ids().2);
    let zero_body = outer_body(
        (kdf, aead),
        offer.config.config_id,
        enc,
        &vec![0; payload_len],
    )?;
    // The real extension body (made after the AAD's encoding): declared before the
    // extensions that borrow it.
    #[allow(clippy::needless_late_init)]
    let body;
    let mut exts = Vec::with_capacity(ch.extensions.0.len() + 1);
    if name_len.is_none() {
        exts.push(ClientExtension::ServerName(Cow::Borrowed(public_name)));
    }
    for e in ch.extensions.0.iter() {
        exts.push(match e {
            ClientExtension::ServerName(_) => {
                ClientExtension::ServerName(Cow::Borrowed(public_name))
            }
            ClientExtension::PreSharedKey(psks) => {
                ClientExtension::PreSharedKey(grease_psk(psks, random)?)
            }
            ClientExtension::Other(x) if x.typ == ExtensionType::EncryptedClientHello => {
                ClientExtension::raw(ExtensionType::EncryptedClientHello, &zero_body)
            }
            other => other.clone(),
        });
    }
    let session_id = ch.session_id.as_slice();
    let aad_message =
        HandshakeMessage::ClientHello(rebuilt(&ch, session_id, offer.outer_random, &exts))
            .encode()?;
    let aad = aad_message
        .get(4..)
        .ok_or(Error::Internal("ECH: a ClientHello without its header"))?;
    let payload = offer.context.seal(aad, &encoded)?;
    if payload.len() != payload_len {
        return Err(Error::Internal("ECH: unexpected ciphertext length"));
    }
    body = outer_body((kdf, aead), offer.config.config_id, enc, &payload)?;
    for e in &mut exts {
        if let ClientExtension::Other(x) = e
            && x.typ == ExtensionType::EncryptedClientHello
        {
            x.data = PayloadU16(Cow::Borrowed(&body));
        }
    }
    let outer = HandshakeMessage::ClientHello(rebuilt(&ch, session_id, offer.outer_random, &exts))
        .encode()?;
    let offered = exts.iter().map(ClientExtension::typ).collect();
    drop(exts);
    if !second {
        offer.first_outer_ext = body;
        offer.outer_offered = offered;
    }
    Ok(outer)
}

/// A GREASE pre_shared_key mirroring `real`'s shape: random identities and binders of the
/// same lengths, random ages.
fn grease_psk<'b>(
    real: &OfferedPsks<'_>,
    random: &dyn SecureRandom,
) -> Result<OfferedPsks<'b>, Error> {
    let identities = real
        .identities
        .0
        .iter()
        .map(|id| {
            let mut identity = vec![0u8; id.identity.as_slice().len()];
            random.fill(&mut identity)?;
            let mut age = [0u8; 4];
            random.fill(&mut age)?;
            Ok(PskIdentity {
                identity: PayloadU16(Cow::Owned(identity)),
                obfuscated_ticket_age: u32::from_be_bytes(age),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let binders = real
        .binders
        .0
        .iter()
        .map(|b| {
            let mut binder = vec![0u8; b.as_slice().len()];
            random.fill(&mut binder)?;
            Ok(PayloadU8(Cow::Owned(binder)))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(OfferedPsks {
        identities: ListU16(Items::Owned(identities)),
        binders: ListU16(Items::Owned(binders)),
    })
}

/// `HKDF-Expand-Label(HKDF-Extract(0, inner_random), label, transcript_hash, 8)`.
fn confirmation(
    suite: &Tls13CipherSuite,
    inner_random: &[u8; 32],
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<[u8; CONFIRMATION_LEN], Error> {
    let prk = suite.hkdf.extract(&[], inner_random);
    let mut out = [0u8; CONFIRMATION_LEN];
    suite.hkdf.with_expander(prk.as_bytes(), &mut |e| {
        overture_crypto_provider::expand_label(e, label, transcript_hash, &mut out)
    })?;
    Ok(out)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

/// A HelloRetryRequest: decides acceptance (RFC 9849 §6.1.4) for an undecided offer, checks a
/// GREASE answer's syntax. `inner` is the transcript so far (ClientHelloInner1, buffered),
/// `hrr` the message decoded and `ech_ext` its extension's body. On a rejection the
/// handshake switches to the outer hello (`transcript` included).
pub(crate) fn on_retry(
    cx: &mut Common,
    transcript: &mut Transcript,
    suite: &Tls13CipherSuite,
    hrr: &crate::msgs::ServerHello,
    ech_ext: Option<&[u8]>,
) -> Result<(), Error> {
    let signal = ech_ext
        .map(|b| {
            let mut r = Reader::new(b);
            let s: [u8; CONFIRMATION_LEN] = r.take_array("ECHHelloRetryRequest")?;
            r.expect_empty("ECHHelloRetryRequest")?;
            Ok::<_, InvalidMessage>(s)
        })
        .transpose()?;
    let Some(EchState::Offered(_)) = &cx.ech else {
        return Ok(());
    };
    let accepted = match signal {
        None => false,
        Some(signal) => {
            let ch1 = transcript.buffered().ok_or(Error::Internal(
                "ECH: the first ClientHello is not buffered",
            ))?;
            let mut conf = Transcript::new();
            conf.add(ch1);
            conf.roll_up_for_retry(suite.hash);
            let mut zeroed = hrr.clone();
            for e in zeroed.extensions.to_mut() {
                if e.typ == ExtensionType::EncryptedClientHello {
                    e.data = PayloadU16(vec![0; CONFIRMATION_LEN].into());
                }
            }
            let zeroed = HandshakeMessage::ServerHello(zeroed).encode()?;
            let hash = conf.hash_with(suite.hash, &zeroed);
            let expected = confirmation(
                suite,
                &cx.random,
                b"hrr ech accept confirmation",
                hash.as_bytes(),
            )?;
            ct_eq(&expected, &signal)
        }
    };
    if !accepted {
        reject(cx, transcript);
    }
    Ok(())
}

/// A TLS 1.3 ServerHello (RFC 9849 §6.1.4): for an undecided offer, checks the confirmation
/// in its random over `transcript` (the inner one); accepted, the offer ends; rejected, the
/// handshake switches to the outer hello — unless a HelloRetryRequest had accepted
/// (`after_retry`), which is `illegal_parameter`. Returns the status to report, `None`
/// without ECH.
pub(crate) fn on_server_hello(
    cx: &mut Common,
    transcript: &mut Transcript,
    suite: &Tls13CipherSuite,
    raw: &[u8],
    after_retry: bool,
) -> Result<Option<EchStatus>, Error> {
    match &cx.ech {
        // GREASE was reported with the ClientHello.
        None | Some(EchState::Grease(_)) => return Ok(None),
        Some(EchState::Offered(_)) => {}
        Some(other) => return Ok(Some(other.status())),
    }
    let mut zeroed = raw.to_vec();
    let signal = zeroed
        .get_mut(SH_CONFIRMATION_AT..SH_CONFIRMATION_AT + CONFIRMATION_LEN)
        .ok_or(Error::Internal("ECH: ServerHello shorter than its random"))?;
    let received: [u8; CONFIRMATION_LEN] = (&*signal)
        .try_into()
        .map_err(|_| Error::Internal("ECH: confirmation length"))?;
    signal.fill(0);
    let hash = transcript.hash_with(suite.hash, &zeroed);
    let expected = confirmation(
        suite,
        &cx.random,
        b"ech accept confirmation",
        hash.as_bytes(),
    )?;
    if ct_eq(&expected, &received) {
        cx.ech = Some(EchState::Accepted);
        return Ok(Some(EchStatus::Accepted));
    }
    if after_retry {
        return Err(PeerMisbehaved::EchAcceptanceWithdrawn.into());
    }
    reject(cx, transcript);
    Ok(Some(EchStatus::Rejected))
}

/// Rejected: from now on the handshake is the outer hello's — its transcript, random, SNI
/// (the certificate is checked for the public name, RFC 9849 §6.1.7) and extensions.
fn reject(cx: &mut Common, transcript: &mut Transcript) {
    let Some(EchState::Offered(offer)) = cx.ech.take() else {
        return;
    };
    let offer = *offer;
    *transcript = offer.outer_transcript;
    cx.server_name = offer.public_name;
    cx.random = offer.outer_random;
    cx.offered = offer.outer_offered;
    cx.ech = Some(EchState::Rejected {
        outer_ext: offer.first_outer_ext,
        retry_configs: None,
    });
}

/// EncryptedExtensions' `encrypted_client_hello` (RFC 9849 §5, §6.1.6, §6.2.1): after an
/// acceptance `unsupported_extension`; otherwise it must parse (`decode_error`); after a
/// rejection its retry configs are kept when one of them is usable, GREASE ignores them.
pub(crate) fn on_encrypted_extensions(cx: &mut Common, body: Option<&[u8]>) -> Result<(), Error> {
    let Some(body) = body else {
        return Ok(());
    };
    if matches!(cx.ech, Some(EchState::Accepted)) {
        return Err(PeerMisbehaved::EchRetryConfigsAfterAcceptance.into());
    }
    let provider = cx.config.hpke_provider();
    let mut usable = false;
    for_each_config(body, |c| usable = usable || c.hpke(provider).is_some()).map_err(|e| {
        match e {
            // A syntax error in retry_configs is decode_error (RFC 9849 §6.1.6).
            InvalidMessage::IllegalValue(what) => InvalidMessage::MissingData(what),
            other => other,
        }
    })?;
    if let Some(EchState::Rejected { retry_configs, .. }) = &mut cx.ech
        && usable
    {
        *retry_configs = Some(body.to_vec());
    }
    Ok(())
}

/// The error that ends a handshake whose ECH was rejected, once the server's Finished
/// verified and our flight is out (RFC 9849 §6.1.6); `None` otherwise.
pub(crate) fn rejection(cx: &mut Common) -> Option<Error> {
    match &mut cx.ech {
        Some(EchState::Rejected { retry_configs, .. }) => Some(Error::EchRejected {
            retry_configs: retry_configs.take(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(version: u16, public_name: &[u8], exts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut c = vec![7u8];
        c.extend_from_slice(&0x0020u16.to_be_bytes());
        c.extend_from_slice(&32u16.to_be_bytes());
        c.extend_from_slice(&[9; 32]);
        c.extend_from_slice(&8u16.to_be_bytes());
        c.extend_from_slice(&[0, 1, 0, 1, 0, 1, 0, 3]);
        c.push(0);
        c.push(u8::try_from(public_name.len()).unwrap());
        c.extend_from_slice(public_name);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&u16::try_from(d.len()).unwrap().to_be_bytes());
            e.extend_from_slice(d);
        }
        c.extend_from_slice(&u16::try_from(e.len()).unwrap().to_be_bytes());
        c.extend_from_slice(&e);
        let mut out = version.to_be_bytes().to_vec();
        out.extend_from_slice(&u16::try_from(c.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&c);
        out
    }

    fn list(configs: &[Vec<u8>]) -> Vec<u8> {
        let body = configs.concat();
        let mut out = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn parses_skips_unknown_versions_and_keeps_raw_configs() {
        let a = config(0xfe0c, b"old.example", &[]);
        let b = config(ECH_VERSION, b"public.example", &[(0x0001, b"x")]);
        let bytes = list(&[a, b.clone()]);
        let l = EchConfigList::parse(&bytes).unwrap();
        assert_eq!(l.configs().len(), 1);
        let c = &l.configs()[0];
        assert_eq!(c.raw, b, "HPKE's info needs the config byte for byte");
        assert_eq!((c.config_id, c.kem_id, c.public_key.len()), (7, 0x0020, 32));
        assert_eq!(c.cipher_suites, [(1, 1), (1, 3)]);
        assert_eq!(c.public_name, b"public.example");
        assert!(c.is_usable());
        let provider = overture_crypto_provider::ring::default_provider();
        let (chosen, hpke) = l.select(&provider).unwrap();
        assert_eq!(chosen.config_id, 7);
        assert_eq!(hpke.ids(), (0x0020, 1, 1));
    }

    #[test]
    fn extension_lists_are_checked_for_repeats_at_any_size() {
        // The largest list a config holds (16,360 empty extensions), all distinct: parses,
        // in order; the same with the first type again at the end: refused.
        let types: Vec<u16> = (0..16_360u16).map(|i| i.wrapping_mul(40_503)).collect();
        let exts: Vec<(u16, &[u8])> = types.iter().map(|t| (*t, &[][..])).collect();
        let l = EchConfigList::parse(&list(&[config(ECH_VERSION, b"a.example", &exts)])).unwrap();
        assert_eq!(l.configs()[0].extension_types, types);
        let mut repeated = exts.clone();
        repeated.pop();
        repeated.push(exts[0]);
        assert_eq!(
            EchConfigList::parse(&list(&[config(ECH_VERSION, b"a.example", &repeated)])),
            Err(InvalidMessage::IllegalValue("ECHConfig extension repeated"))
        );
    }

    #[test]
    fn unusable_configs_are_ignored() {
        let provider = overture_crypto_provider::ring::default_provider();
        // A mandatory extension (high bit) we do not know.
        let m = list(&[config(ECH_VERSION, b"a.example", &[(0xfa00, b"")])]);
        assert!(
            EchConfigList::parse(&m)
                .unwrap()
                .select(&provider)
                .is_none()
        );
        // Public names that are IPv4 literals or not LDH host names.
        for bad in [
            &b"192.0.2.1"[..],
            b"a.0x1f",
            b"a.0X",
            b".a.example",
            b"a.example.",
            b"a..example",
            b"a_b.example",
            b"-a.example",
        ] {
            let l = list(&[config(ECH_VERSION, bad, &[])]);
            let l = EchConfigList::parse(&l).unwrap();
            assert!(l.select(&provider).is_none(), "{bad:?}");
        }
        assert!(valid_public_name(b"a.0xz1") && valid_public_name(b"x1.example"));
        // A KEM we lack: skipped for the next config.
        let mut p256 = config(ECH_VERSION, b"a.example", &[]);
        p256[5..7].copy_from_slice(&0x0010u16.to_be_bytes());
        let l = list(&[p256, config(ECH_VERSION, b"b.example", &[])]);
        let l = EchConfigList::parse(&l).unwrap();
        assert_eq!(l.select(&provider).unwrap().0.public_name, b"b.example");
    }

    #[test]
    fn malformed_lists_are_errors_never_panics() {
        let good = list(&[config(ECH_VERSION, b"public.example", &[(1, b"ab")])]);
        for cut in 0..good.len() {
            assert!(EchConfigList::parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert!(EchConfigList::parse(&long).is_err());
        // A duplicated config extension, trailing bytes inside the contents, an odd
        // cipher_suites length.
        let dup = list(&[config(ECH_VERSION, b"a.example", &[(1, b""), (1, b"")])]);
        assert!(EchConfigList::parse(&dup).is_err());
        let mut c = config(ECH_VERSION, b"a.example", &[]);
        c.push(0);
        c[3] += 1;
        assert!(EchConfigList::parse(&list(&[c])).is_err());
        let mut c = config(ECH_VERSION, b"a.example", &[]);
        c[42] = 7; // cipher_suites length 8 -> 7
        assert!(EchConfigList::parse(&list(&[c])).is_err());
        // Empty and too-short lists.
        assert!(EchConfigList::parse(&[0, 0]).is_err());
        assert!(EchConfigList::parse(&[]).is_err());
    }

    /// The bound: a list is one 16-bit vector. The largest one (65,535 bytes of minimal
    /// configs) parses in one pass to that many configs; a length beyond the bytes present
    /// is an error, never a read past them.
    #[test]
    fn the_largest_list_parses_and_lengths_are_checked() {
        let one = config(ECH_VERSION, b"a.example", &[]);
        let n = 0xffff / one.len();
        let mut configs = vec![one.clone(); n];
        // Fill the rest of the 65,535 bytes with one config of another version.
        let rest = 0xffff - n * one.len();
        if rest >= 4 {
            let mut filler = vec![0xfe, 0x0c];
            filler.extend_from_slice(&u16::try_from(rest - 4).unwrap().to_be_bytes());
            filler.resize(rest, 0);
            configs.push(filler);
        }
        let bytes = list(&configs);
        let parsed = EchConfigList::parse(&bytes).unwrap();
        assert_eq!(parsed.configs().len(), n);
        let mut lying = bytes.clone();
        lying.truncate(1000);
        assert!(EchConfigList::parse(&lying).is_err());
    }

    #[test]
    fn padding_rounds_to_32() {
        assert_eq!(padded_len(1), 32);
        assert_eq!(padded_len(32), 32);
        assert_eq!(padded_len(33), 64);
        assert_eq!(padded_len(0), 32);
    }

    #[test]
    fn status_names_are_the_cli_json_values() {
        assert_eq!(EchStatus::Accepted.name(), Some("accepted"));
        assert_eq!(EchStatus::Rejected.name(), Some("rejected"));
        assert_eq!(EchStatus::Grease.name(), Some("grease"));
        assert_eq!(EchStatus::NotOffered.name(), None);
    }
}

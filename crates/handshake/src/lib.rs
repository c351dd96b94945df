//! `overture-handshake`: the sans-IO TLS client handshake state machine and key schedule.
//!
//! No I/O, no clock, no records: whole handshake messages go in, [`Event`]s come out, and the
//! client crate carries them to the record layer in order. Time is an argument (`now`).
//!
//! ```text
//!  client crate                         overture-handshake
//!  ───────────                          ──────────────────
//!  ClientHandshake::start(config, name, now, options) ─► ExpectServerHello ─► Send(ClientHello)
//!                                          │        [GREASE ECH: Ech(Grease)]
//!                                          │        [0-RTT: SendCcs, InstallEarlyWriteKey]
//!  record layer ─► joiner ─► message ──► hs.handle(message, now, &mut events)
//!                                          │  ExpectServerHello ─(HRR)─► HelloRetryRequest,
//!                                          │        │ [EarlyData{false}], [SendCcs], Send(ClientHello2)
//!                                          │        │ ServerHello: ServerHello{..}, [Ech(Accepted|Rejected)],
//!                                          │        │ [Resumed], InstallReadKey,
//!                                          │        │ [SendCcs], InstallWriteKey (no early data offered)
//!                                          │  ExpectEncryptedExtensions ─► Alpn,
//!                                          │        │ [PeerRecordSizeLimit], [EarlyData{accepted}]
//!                                          │        │ (offered, rejected: [SendCcs], InstallWriteKey)
//!                                          │  ExpectCertificateOrCertReq ─► (CertificateRequest)
//!                                          │  ExpectCertificate ─► PeerCertificates
//!                                          │        │ (a CompressedCertificate: inflated, bounded)
//!                                          │        │ CertVerifier::verify_server_cert ─► ServerCertVerified
//!                                          │  ExpectCertificateVerify
//!                                          │        │ CertVerifier::verify_tls13_signature ─► SignatureVerified,
//!                                          │        │ PeerSignatureScheme
//!                                          │  ExpectFinished (constant-time) ─► FinishedVerified
//!                                          │        │ InstallReadKey, (early data accepted:
//!                                          │        │ Send(Early: EndOfEarlyData), [SendCcs], InstallWriteKey),
//!                                          │        │ Send(Certificate, CertificateVerify, Finished),
//!                                          │        │ InstallWriteKey, Complete
//!                                          ▼  ExpectTraffic ─► TicketReceived, [NewSessionTicket], KeyUpdate
//!  events ◄─────────────────────────────── Send / SendCcs / Install*Key / ServerHello / Alpn / ...
//!           key_schedule (RFC 8446 §7) and the transcript run through overture-crypto-provider
//! ```
//!
//! The code has the rustls layout: `common` holds what both versions share (the context, the
//! ClientHello, the ServerHello with the version dispatch, chain verification, the
//! client-certificate choice, the CertificateVerify and certificate-list encodings, the
//! Finished comparison, `unexpected`), `tls13` the TLS 1.3 states, `tls12` the TLS 1.2 ones,
//! and `client` the [`ClientHandshake`] front that dispatches to them.
//!
//! TLS 1.2 (RFC 5246 with ECDHE and AEAD suites) runs its own states behind the same API,
//! with the same proof values: a full handshake's `ExpectFinished` and `Traffic` hold the
//! chain's `ServerCertVerified` and the ServerKeyExchange's `SignatureVerified`, a resumed
//! one the proof that the server accepted our session; neither can be built without them:
//!
//! ```text
//!  ExpectServerHello ─(legacy_version 1.2, no supported_versions)─► downgrade sentinel check
//!     │ full: ServerHello{1.2, group None}, Alpn ─► Certificate ─► PeerCertificates
//!     │        ─► ServerKeyExchange (CertVerifier::verify_tls12_signature)
//!     │           ─► PeerSignatureScheme, KeyExchangeGroup
//!     │        ─► [CertificateRequest] ─► ServerHelloDone
//!     │        ─► Send(Initial: [Certificate], ClientKeyExchange, [CertificateVerify]),
//!     │           SendCcs, InstallWriteKey, Send(Handshake: Finished)
//!     │        ─► [NewSessionTicket: TicketReceived] ─► ExpectCcs
//!     │        ─► handle_ccs ─► InstallReadKey ─► Finished ─► [Tls12Session], Complete
//!     │ abbreviated: ServerHello{1.2}, Alpn, Resumed ─► [NewSessionTicket] ─► ExpectCcs
//!     │        ─► handle_ccs ─► InstallReadKey ─► Finished
//!     │        ─► SendCcs, InstallWriteKey, Send(Handshake: Finished), Tls12Session, Complete
//!     ▼  Traffic: HelloRequest ─► SendWarningAlert(no_renegotiation)
//! ```
//!
//! # The order the client follows
//!
//! Apply the events of each call strictly in order. `Send` is sealed with the write key
//! installed by the events before it (plaintext before the first `InstallWriteKey`).
//!
//! * **TLS 1.3**: as in the first picture. The client handshake write key comes right after
//!   the ServerHello's read key (RFC 8446 §6: from then on the server reads under it, so an
//!   alert we send is protected), after the one compatibility `SendCcs` (a CCS is never
//!   protected); with early data offered it comes after `EarlyData { accepted: false }` or,
//!   accepted, after EndOfEarlyData, and never a second time. A resumed handshake (a [`Tls13Ticket`] given in
//!   [`StartOptions`]) emits `Resumed` after `ServerHello` and no `PeerCertificates`. After a
//!   HelloRetryRequest, `HelloRetryRequest` comes first: from then on records say 0x0303.
//! * **Optional extensions** ([`ExtensionOptions`]): certificate compression is invisible in
//!   the events (a CompressedCertificate ends in the same `PeerCertificates`); an offered
//!   record_size_limit answered by the server gives [`Event::PeerRecordSizeLimit`] after
//!   `Alpn`; 0-RTT gives [`Event::InstallEarlyWriteKey`] after the ClientHello (early
//!   application data goes out under it) and one [`Event::EarlyData`] with the outcome (a
//!   rejection removes the early key: plaintext writes again until the next
//!   `InstallWriteKey`).
//! * **Encrypted Client Hello** ([`ech`], RFC 9849, [`ExtensionOptions::ech`]): with a config
//!   the first ClientHello sent is the outer one (public name) carrying the HPKE-sealed inner
//!   one (real name); [`Event::Ech`] after `ServerHello` says whether the server accepted.
//!   Rejected, the handshake goes on with the outer hello, authenticates the public name, and
//!   at the server's Finished emits our flight (an empty Certificate if asked for) and its
//!   keys as usual, then returns [`Error::EchRejected`] (alert `ech_required`) with the
//!   server's retry configs instead of `Complete`: apply that call's events before sending
//!   the alert (RFC 9849 §6.1.6: the handshake completes, then the client aborts).
//! * **Tickets**: every NewSessionTicket gives `TicketReceived { kept }`; a ticket longer than
//!   [`MAX_TICKET_LEN`] is not kept (it could never be sent back).
//! * **TLS 1.2 full**: `ServerHello { version: TLSv1_2, group: None }` → switch the record
//!   layer to TLS 1.2 → `Alpn` → `PeerCertificates` → `KeyExchangeGroup(g)` → (after
//!   ServerHelloDone) `Send` (plaintext) → `SendCcs` (plaintext CCS) → `InstallWriteKey` →
//!   `Send` (Finished, under the new key) → `ExpectCcs`.
//! * **TLS 1.2 abbreviated**: `ServerHello` → `Alpn` → `Resumed` → `ExpectCcs` (or, when the
//!   server promised a ticket, `ExpectCcs` after its NewSessionTicket).
//! * **The server's CCS** (TLS 1.2): after `ExpectCcs`, accept exactly one
//!   ChangeCipherSpec record; when it arrives (not before, and before opening any later
//!   record) call [`ClientHandshake::handle_ccs`] and apply its single `InstallReadKey`; the
//!   next record is the server's encrypted Finished, whose `handle` emits — full:
//!   `[Tls12Session]`, `Complete`; abbreviated: `SendCcs`, `InstallWriteKey`, `Send`
//!   (Finished), `Tls12Session`, `Complete`. A CCS record at any other time is an
//!   `unexpected_message` (in TLS 1.3 the record layer drops the compatibility CCS itself).
//! * **TLS 1.2 key**: a [`TrafficKey`] with `tls12: Some(suite)` builds
//!   `RecordKey::tls12(suite, key.key.as_bytes(), key.fixed_iv())`.
//!
//! Every state takes itself by value and returns the next; a state that verified something
//! carries the proof into the next one's constructor, so a path that skips a check does not
//! compile. Errors are one [`Error`] type whose [`Error::alert`] is the one mapping to the alert
//! we send.
//!
//! ```
//! use std::sync::Arc;
//! use overture_crypto_provider::ring;
//! use overture_handshake::msgs::HandshakeMessage;
//! use overture_handshake::*;
//! use overture_types::{CertificateDer, ServerName, SignatureScheme, UnixTime, ProtocolVersion};
//!
//! #[derive(Debug)]
//! struct RefuseAll;
//! impl CertVerifier for RefuseAll {
//!     fn verify_server_cert(&self, _: &CertificateDer<'_>, _: &[CertificateDer<'_>],
//!                           _: &ServerName<'_>, _: UnixTime) -> Result<ServerCertVerified, Error> {
//!         Err(Error::InvalidCertificate(CertificateError::UnknownIssuer))
//!     }
//!     fn verify_tls13_signature(&self, _: &[u8], _: &CertificateDer<'_>, _: SignatureScheme,
//!                               _: &[u8]) -> Result<SignatureVerified, Error> {
//!         Err(Error::InvalidCertificate(CertificateError::BadSignature))
//!     }
//!     fn supported_schemes(&self) -> Vec<SignatureScheme> {
//!         vec![SignatureScheme::ECDSA_NISTP256_SHA256, SignatureScheme::ED25519]
//!     }
//! }
//!
//! let config = Arc::new(HandshakeConfig {
//!     provider: Arc::new(ring::default_provider()),
//!     versions: vec![ProtocolVersion::TLSv1_3],
//!     alpn_protocols: vec![b"h2".to_vec()],
//!     enable_sni: true,
//!     middlebox_compat: true,
//!     verifier: Arc::new(RefuseAll),
//!     client_auth: None,
//!     verify_schemes: None,
//!     signing_schemes: None,
//!     key_log: None,
//!     extensions: ExtensionOptions::default(),
//! });
//! let mut events = Vec::new();
//! let mut hs = ClientHandshake::start(
//!     config.clone(),
//!     ServerName::try_from("example.com").unwrap(),
//!     UnixTime::now(),
//!     StartOptions::default(),
//!     &mut events,
//! )
//! .unwrap();
//!
//! // The first event is the ClientHello, to send in a plaintext record.
//! let Some(Event::Send { level: Level::Initial, bytes }) = events.pop() else { panic!() };
//! let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(&bytes).unwrap() else {
//!     panic!()
//! };
//! assert_eq!(ch.session_id.0.len(), 32); // middlebox compatibility mode
//!
//! // A server that answers with garbage gets a decode_error alert, never a panic.
//! let err = hs.handle(&[2, 0, 0, 1, 0], UnixTime::now(), &mut events).unwrap_err();
//! assert_eq!(err.alert(), Some(overture_types::AlertDescription::DecodeError));
//!
//! // A TLS 1.2-only client: extended_master_secret and renegotiation_info are always offered,
//! // no TLS 1.3 extension is.
//! let tls12 = Arc::new(HandshakeConfig {
//!     versions: vec![ProtocolVersion::TLSv1_2],
//!     ..(*config).clone()
//! });
//! let mut events = Vec::new();
//! ClientHandshake::start(
//!     tls12,
//!     ServerName::try_from("example.com").unwrap(),
//!     UnixTime::now(),
//!     StartOptions::default(),
//!     &mut events,
//! )
//! .unwrap();
//! let Some(Event::Send { bytes, .. }) = events.pop() else { panic!() };
//! let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(&bytes).unwrap() else {
//!     panic!()
//! };
//! use overture_types::ExtensionType as E;
//! let offered: Vec<E> = ch.extensions.0.iter().map(|e| e.typ()).collect();
//! assert!(offered.contains(&E::ExtendedMasterSecret) && offered.contains(&E::RenegotiationInfo));
//! assert!(!offered.contains(&E::SupportedVersions) && !offered.contains(&E::KeyShare));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod common;
pub mod compress;
mod config;
pub mod ech;
pub mod error;
pub mod key_schedule;
pub mod msgs;
mod session;
mod tls12;
mod tls13;

pub use client::ClientHandshake;
pub use common::{ClientHelloHook, FinishedVerified, ObserveHook, TestHooks};
pub use config::{
    CertVerifier, ClientCertResolver, Event, ExtensionOptions, HandshakeConfig, KeyLog, Level,
    MAX_TICKET_LEN, ServerCertVerified, SignatureVerified, StartOptions, Tls12Session, Tls13Ticket,
    record_content_limit,
};
pub use ech::{EchConfigList, EchMode, EchStatus};
pub use error::{CertificateError, Error, PeerIncompatible, PeerMisbehaved};
pub use key_schedule::TrafficKey;
pub use tls12::prf as tls12_prf;

/// The parsed `rfc8448.json` for the unit tests (the integration tests have theirs in
/// `tests/common`); fails with a clear message when the corpus is missing.
#[cfg(test)]
pub(crate) fn rfc8448_json() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/rfc8448/rfc8448.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("RFC 8448 test data missing at {path}: {e} (see SOURCE.md)"));
    serde_json::from_str(&text).expect("rfc8448.json is not JSON")
}

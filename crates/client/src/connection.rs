//! `Connection`: the client's protocol engine, sans-IO and deterministic.

use crate::config::{ClientConfig, EarlyDataRejected, UnexpectedEof};
use crate::error::{Error, ErrorKind};
use crate::session::Session;
use crate::trace::{Dir, Trace};
use overture_handshake::msgs::HELLO_RETRY_REQUEST_RANDOM;
use overture_handshake::{ClientHandshake, EchStatus, Event, Level, StartOptions, TrafficKey};
use overture_record_layer::{HandshakeJoiner, RecordKey, RecordLayer};
use overture_types::{
    AlertDescription, AlertLevel, CertificateDer, CipherSuite, ContentType, NamedGroup,
    ProtocolVersion, ServerName, SignatureScheme, UnixTime,
};
use std::io;
use std::sync::Arc;

mod lend;
pub(crate) use lend::{Sink, fill_once};

/// The output queue's bound: [`Connection::write`] takes data only while fewer bytes than this
/// wait to be sent, and [`Connection::process`] opens no record while more do (so a peer that
/// never reads cannot make us buffer its answers without limit). The queue never holds more
/// than this plus one call's sealing overhead and one alert.
pub const MAX_OUTPUT: usize = 256 * 1024;
/// The plaintext buffer's bound: no record is opened while this many decrypted bytes wait
/// for [`Connection::read`], so the buffer holds less than this plus one record (2^14 bytes).
pub const MAX_PLAINTEXT: usize = 16 * 1024;
/// The most 0-RTT early data one connection writes, whatever the ticket's `max_early_data_size`
/// allows (a server may announce up to 4 GiB): 64 KiB, four times OpenSSL's and GnuTLS's
/// default server limit (16 KiB). With [`EarlyDataRejected::Resend`] the connection keeps a
/// copy of what it wrote until the server answers, so this also bounds that copy.
pub const MAX_EARLY_DATA: usize = 64 * 1024;
/// KeyUpdates in a row without application data between them that we accept; the next one is
/// refused with `unexpected_message`. Each costs a key derivation (and, if requested, an answer):
/// a peer has no reason to send more than a few, and 32 is BoringSSL's limit
/// (`kMaxKeyUpdates`), which its test suite expects (`TooManyKeyUpdates`).
pub const MAX_KEY_UPDATES: u32 = 32;
/// Warning alerts in a row we tolerate before calling it an alert flood: TLS 1.2 warnings, and
/// user_canceled in either version (TLS 1.3 has no other warnings besides close_notify).
const MAX_WARNING_ALERTS: u32 = 4;
/// The handshake type of ServerHelloDone (RFC 5246 §7.4).
const SERVER_HELLO_DONE: u8 = 14;
/// A KeyUpdate(update_requested) message as it arrives (type 24, length 1, value 1).
const KEY_UPDATE_REQUESTED: [u8; 5] = [24, 0, 0, 1, 1];
/// The same message with `update_not_requested`.
const KEY_UPDATE_NOT_REQUESTED: [u8; 5] = [24, 0, 0, 1, 0];

/// Whether 0-RTT early data was offered and what the server made of it: OpenSSL's
/// `SSL_get_early_data_status()` ([`Connection::early_data_status`],
/// [`crate::Ssl::early_data_status`], [`Negotiated::early_data`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EarlyDataStatus {
    /// No early data was offered: not enabled ([`crate::ConfigBuilder::with_early_data`]), no
    /// resumed ticket that allows it, or the handshake has not started
    /// (`SSL_EARLY_DATA_NOT_SENT`).
    #[default]
    NotSent,
    /// The ClientHello offered early data and the server has not answered yet:
    /// [`Connection::write_early_data`] writes it (OpenSSL reports `SSL_EARLY_DATA_REJECTED`
    /// until the server accepts).
    Offered,
    /// The server accepted the early data: it read every early byte we wrote
    /// (`SSL_EARLY_DATA_ACCEPTED`).
    Accepted,
    /// The server rejected it (or answered with a HelloRetryRequest; TLS 1.2 is an error,
    /// RFC 8446 D.3): it read none
    /// of it; [`crate::EarlyDataRejected`] says whether it was resent
    /// (`SSL_EARLY_DATA_REJECTED`).
    Rejected,
}

/// The 0-RTT side of a connection.
#[derive(Default)]
struct Early {
    status: EarlyDataStatus,
    /// Bytes the early key may still carry (the ticket's limit, at most [`MAX_EARLY_DATA`]),
    /// while [`EarlyDataStatus::Offered`].
    room: usize,
    /// Bytes of early data written.
    written: usize,
    /// With [`EarlyDataRejected::Resend`]: a copy of what was written, until the server
    /// answers (at most [`MAX_EARLY_DATA`] bytes).
    copy: Vec<u8>,
}

/// What a completed handshake negotiated. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Negotiated {
    version: ProtocolVersion,
    cipher_suite: CipherSuite,
    group: Option<NamedGroup>,
    alpn: Option<Vec<u8>>,
    resumed: bool,
    /// The name the connection verifies; sent as SNI when `sni` says so.
    server_name: ServerName<'static>,
    sni: bool,
    peer_chain: Arc<[CertificateDer<'static>]>,
    hello_retry: bool,
    peer_signature_scheme: Option<SignatureScheme>,
    peer_record_size_limit: Option<u16>,
    ocsp_response: Option<Arc<[u8]>>,
    signed_certificate_timestamps: Option<Arc<[u8]>>,
    early_data: EarlyDataStatus,
    ech: EchStatus,
}

impl Negotiated {
    /// The OCSP response the server stapled (`SSL_get0_ocsp_response`), when
    /// `ConfigBuilder::with_ocsp_stapling` asked for one and the server sent it in this
    /// handshake (TLS 1.3: in the end entity's CertificateEntry; TLS 1.2: the
    /// CertificateStatus message); `None` on a resumption, which has no certificate.
    /// **Not validated**: DER bytes as the server sent them, for the application to check.
    pub fn ocsp_response(&self) -> Option<&[u8]> {
        self.ocsp_response.as_deref()
    }

    /// The server's SignedCertificateTimestampList (RFC 6962 §3.3,
    /// `SSL_get0_signed_cert_timestamp_list`), when `ConfigBuilder::with_signed_certificate_timestamps`
    /// asked for it and this full handshake carried it. Structure checked, SCTs **not**
    /// verified.
    pub fn signed_certificate_timestamps(&self) -> Option<&[u8]> {
        self.signed_certificate_timestamps.as_deref()
    }

    /// What became of the 0-RTT early data: [`EarlyDataStatus::Accepted`] or
    /// [`EarlyDataStatus::Rejected`] when it was offered, else [`EarlyDataStatus::NotSent`].
    pub fn early_data(&self) -> EarlyDataStatus {
        self.early_data
    }

    /// What became of Encrypted Client Hello: `Accepted` (the server saw the real name only
    /// encrypted), `Grease`, or `NotOffered`. (A rejection never completes a handshake: it is
    /// an error, whose [`Error::ech_status`](crate::Error::ech_status) says `Rejected`; see
    /// [`Error::ech_retry_configs`](crate::Error::ech_retry_configs).)
    pub fn ech(&self) -> EchStatus {
        self.ech
    }

    /// Whether the server sent a HelloRetryRequest (TLS 1.3).
    pub fn hello_retry_request(&self) -> bool {
        self.hello_retry
    }

    /// The scheme of the server's handshake signature (TLS 1.3 CertificateVerify, TLS 1.2
    /// ServerKeyExchange); `None` for a resumed handshake.
    pub fn peer_signature_scheme(&self) -> Option<SignatureScheme> {
        self.peer_signature_scheme
    }

    /// The server's record_size_limit (RFC 8449), when we offered ours and it answered: every
    /// record we send stays within it.
    pub fn peer_record_size_limit(&self) -> Option<u16> {
        self.peer_record_size_limit
    }

    /// The protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.cipher_suite
    }

    /// The key-exchange group (`None` for a PSK-only resumption).
    pub fn group(&self) -> Option<NamedGroup> {
        self.group
    }

    /// The application protocol the server chose, if ALPN was offered and accepted.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// Whether the session was resumed.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// The server name sent in the SNI extension (none for IP addresses or with SNI off).
    pub fn sni(&self) -> Option<&str> {
        match &self.server_name {
            ServerName::DnsName(d) if self.sni => Some(d.as_ref()),
            _ => None,
        }
    }

    /// The certificates the server presented, end entity first, as verified.
    pub fn peer_chain(&self) -> &[CertificateDer<'static>] {
        &self.peer_chain
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    New,
    Handshaking,
    Established,
}

/// Sealed records waiting for the transport, with the running count of bytes taken so that a
/// queued record can be asked "has it left yet?" by its end offset.
#[derive(Default)]
struct OutQueue {
    buf: Vec<u8>,
    pos: usize,
    /// Bytes taken by the transport since the connection began.
    taken: u64,
}

impl OutQueue {
    fn queued(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// The stream offset just after the last queued byte.
    fn end(&self) -> u64 {
        self.taken + u64::try_from(self.queued()).unwrap_or(u64::MAX)
    }

    /// Whether the byte before stream offset `end` is still queued.
    fn holds(&self, end: u64) -> bool {
        self.taken < end
    }

    /// The buffer to append sealed records to (taken bytes dropped first).
    fn tail(&mut self) -> &mut Vec<u8> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        &mut self.buf
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.queued());
        self.pos += n;
        self.taken += u64::try_from(n).unwrap_or(u64::MAX);
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }
}

/// Bytes a transport lends to [`Connection::process_in_place`]: records are deframed from
/// `pos` and opened where they lie.
struct Lent<'a> {
    bytes: &'a mut [u8],
    /// The first byte not yet deframed.
    pos: usize,
}

/// One step the handshake state machine takes: the only inputs it has after its start.
enum Step<'a> {
    /// A whole handshake message from the server, at this time.
    Message(&'a [u8], UnixTime),
    /// TLS 1.2: the server's ChangeCipherSpec.
    Ccs,
    /// Our write key is near its usage limit: send a KeyUpdate.
    UpdateKey,
}

/// One TLS client connection as a deterministic state machine: bytes and time in, bytes and
/// plaintext out.
///
/// ```text
///  transport bytes ──► receive_buffer()/received(n), feed(&[u8]), read_tls(&mut Read)
///                          │
///                          ▼
///   process(now) ── RecordLayer ──► records ──► HandshakeJoiner ──► ClientHandshake
///                          │                                          │ events
///                          ▼                                          ▼
///                   plaintext (bounded) ◄─ application data    apply_events: keys, flights,
///                          │                                   alerts, sessions, negotiated
///                          ▼                                          │
///              read(&mut [u8]) / process_into(now, buf)               ▼
///  write(&[u8]) ─────────────────────────────► seal ──► output queue (bounded)
///                                                              │
///  transport ◄── pending_output()/consume_output(n), write_tls(&mut Write)
/// ```
///
/// A `Connection` never touches a socket, a BIO or a clock: bytes come in through
/// [`Connection::feed`] (or the lent [`Connection::receive_buffer`], or
/// [`Connection::read_tls`]), are processed by [`Connection::process`] with the time as an
/// argument, and leave through [`Connection::pending_output`] / [`Connection::consume_output`]
/// (or [`Connection::write_tls`]). Its answers to "would block" are explicit:
/// [`ErrorKind::WantRead`] means "give me transport bytes", [`ErrorKind::WantWrite`] means "take
/// my output first". [`crate::Ssl`] (a BIO), [`crate::Stream`] and [`crate::StreamOwned`] (any
/// `Read + Write`) are thin fronts over it; an async adapter is another.
///
/// Every buffer is bounded: the output queue by [`MAX_OUTPUT`] (past it the connection stops
/// processing input until the queue drains, and [`Connection::write`] takes nothing), the
/// plaintext by [`MAX_PLAINTEXT`] (past it no record is opened), the input by the record layer
/// (one maximal record) and the joiner (the handshake-message limit). What a peer can make us
/// queue is coalesced: at most one KeyUpdate of ours and one warning alert wait in the queue.
///
/// ```
/// use overture::{ClientConfig, Connection, ErrorKind};
/// use overture::types::UnixTime;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let config = ClientConfig::builder().dangerous().with_no_certificate_verification().build()?;
/// let mut conn = Connection::new(&config, "example.com")?;
/// conn.start(UnixTime::now())?;
/// // The ClientHello waits in the output queue: hand it to the transport.
/// let hello = conn.pending_output().to_vec();
/// conn.consume_output(hello.len());
/// assert_eq!(hello[0], 0x16); // a handshake record
/// // Until the server answers, there is nothing to read.
/// let mut buf = [0u8; 1024];
/// assert_eq!(conn.read(&mut buf).unwrap_err().kind(), ErrorKind::WantRead);
/// assert!(conn.is_handshaking() && conn.wants_read() && !conn.wants_write());
/// # Ok(()) }
/// ```
pub struct Connection {
    config: ClientConfig,
    handshake: Option<ClientHandshake>,
    record: RecordLayer,
    joiner: HandshakeJoiner,
    /// The event list the handshake fills, kept to reuse its allocation.
    events: Vec<Event>,
    /// While a handshake message is handled: the bytes of handshake records behind it not yet
    /// handled (in the joiner, or in the lent record it was taken from). A read key must not
    /// change while any wait (RFC 8446 §5.1).
    behind: usize,
    out: OutQueue,
    /// Decrypted application data not yet read.
    plain: Vec<u8>,
    plain_pos: usize,
    phase: Phase,
    failure: Option<Error>,
    /// The transport has no more bytes (end of file was fed).
    eof: bool,
    peer_closed: bool,
    close_queued: bool,
    warnings_in_a_row: u32,
    key_updates_in_a_row: u32,
    /// What the handshake told us so far; public once the handshake is complete.
    negotiated: Negotiated,
    offered: Option<Session>,
    session: Option<Session>,
    /// TLS 1.2: the handshake waits for the server's ChangeCipherSpec.
    expect_ccs: bool,
    records_in: u64,
    /// Stream offsets (see [`OutQueue::end`]) just after our last handshake flight, our last
    /// KeyUpdate and our last warning alert (with its description).
    flight_end: u64,
    /// We sent a KeyUpdate and no application data since: RFC 8446 §4.6.3 — a receiver of
    /// several requests "while it is silent" answers with a single update, so further requests
    /// need no new one until we write application data.
    key_update_silent: bool,
    warning_end: (u64, Option<AlertDescription>),
    early: Early,
    /// The `tracing` spans (nothing without the `tracing` feature).
    trace: Trace,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("server_name", &self.negotiated.server_name)
            .field("phase", &self.phase)
            .field("failure", &self.failure)
            .field("queued", &self.out.queued())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A new connection to `server_name` (a DNS name or an IP address), not yet started.
    pub fn new(config: &ClientConfig, server_name: &str) -> Result<Self, Error> {
        let server_name = ServerName::try_from(server_name)
            .map_err(|_| Error::usage(format!("`{server_name}` is not a valid server name")))?
            .to_owned();
        Ok(Self {
            trace: Trace::new(&server_name),
            record: RecordLayer::new(),
            joiner: HandshakeJoiner::new(config.max_handshake_message()),
            config: config.clone(),
            handshake: None,
            events: Vec::new(),
            behind: 0,
            out: OutQueue::default(),
            plain: Vec::new(),
            plain_pos: 0,
            phase: Phase::New,
            failure: None,
            eof: false,
            peer_closed: false,
            close_queued: false,
            warnings_in_a_row: 0,
            key_updates_in_a_row: 0,
            negotiated: Negotiated {
                version: ProtocolVersion::Unknown(0),
                cipher_suite: CipherSuite::Unknown(0),
                group: None,
                alpn: None,
                resumed: false,
                server_name,
                sni: false,
                // An empty shared slice: no allocation.
                peer_chain: Arc::default(),
                hello_retry: false,
                peer_signature_scheme: None,
                peer_record_size_limit: None,
                ocsp_response: None,
                signed_certificate_timestamps: None,
                early_data: EarlyDataStatus::NotSent,
                ech: EchStatus::NotOffered,
            },
            offered: None,
            session: None,
            expect_ccs: false,
            records_in: 0,
            flight_end: 0,
            key_update_silent: false,
            warning_end: (0, None),
            early: Early::default(),
        })
    }

    /// Offers `session` for resumption when the handshake starts, instead of one from the
    /// config's session store.
    pub fn set_session(&mut self, session: &Session) {
        self.offered = Some(session.clone());
    }

    /// Starts the handshake: the ClientHello is queued for sending. Does nothing once started.
    pub fn start(&mut self, now: UnixTime) -> Result<(), Error> {
        if self.phase != Phase::New {
            return self.check();
        }
        self.phase = Phase::Handshaking;
        // The session to offer: the one set by hand, else one from the config's store.
        let offered = self.offered.take().or_else(|| {
            self.config
                .session_store()
                .and_then(|store| store.take(&self.negotiated.server_name, now))
        });
        let (tls13_ticket, tls12_session) = offered.map(Session::into_parts).unwrap_or_default();
        let options = StartOptions {
            tls13_ticket,
            tls12_session,
            allow_tls12_without_ems: self.config.allow_tls12_without_ems(),
            offer_psk_ke: self.config.offer_psk_ke(),
            ..StartOptions::default()
        };
        // RFC 8446 §5: a compatibility ChangeCipherSpec may arrive at any time after our first
        // ClientHello (e.g. right after a HelloRetryRequest, RFC 8446 D.4).
        let hs_config = self.config.handshake_config();
        self.trace.handshake_started(&hs_config.versions);
        self.record
            .allow_ccs(hs_config.versions.contains(&ProtocolVersion::TLSv1_3));
        let mut events = std::mem::take(&mut self.events);
        let started = ClientHandshake::start(
            hs_config,
            self.negotiated.server_name.clone(),
            now,
            options,
            &mut events,
        );
        let result = started.map(|hs| self.handshake = Some(hs));
        self.finish_step(result, events)
    }

    // ---- input ----------------------------------------------------------------------------

    /// Free space to receive transport bytes into (then call [`Connection::received`]); empty
    /// when the connection takes no input now (see [`Connection::wants_read`]).
    pub fn receive_buffer(&mut self) -> &mut [u8] {
        if self.wants_read() {
            self.record.spare()
        } else {
            &mut []
        }
    }

    /// `n` bytes were written at the start of [`Connection::receive_buffer`].
    pub fn received(&mut self, n: usize) {
        self.record.advance(n);
    }

    /// Copies transport bytes in; returns how many were taken (fewer than `data.len()` when
    /// the input buffer is full or the connection takes no input now: process, drain the
    /// output or read plaintext, then feed the rest).
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let mut taken = 0;
        while let Some(rest) = data.get(taken..).filter(|r| !r.is_empty()) {
            // Appended to the record layer's input: no zero-filled room first.
            let n = if self.wants_read() {
                self.record.fill(rest)
            } else {
                0
            };
            if n == 0 {
                break;
            }
            taken += n;
        }
        taken
    }

    /// The transport reached end of file: no more bytes will come.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Reads transport bytes from `rd` once (rustls's `read_tls`). `Ok(0)` is end of file (and
    /// is remembered as [`Connection::feed_eof`]); an error from `rd` (e.g. `WouldBlock`) is
    /// returned as is. When the connection takes no input now, returns an error of kind
    /// `Other` without reading: call [`Connection::process`], drain the output or read the
    /// plaintext first.
    pub fn read_tls(&mut self, rd: &mut dyn io::Read) -> io::Result<usize> {
        let spare = self.receive_buffer();
        if spare.is_empty() {
            return Err(io::Error::other(
                "the connection takes no input now: process it, take its output or read its plaintext",
            ));
        }
        let n = rd.read(spare)?;
        if n == 0 {
            self.feed_eof();
        }
        self.received(n);
        Ok(n)
    }

    /// Processes every complete record buffered, as far as the bounds allow and up to the end of
    /// the handshake (the record that completes it ends the call; call again for what follows
    /// it): handshake messages go to the state machine (which may queue output), application
    /// data to the plaintext buffer, alerts end or close the connection. `now` is the time the handshake
    /// checks certificates and tickets against. After a fatal error, our alert (if any) is
    /// queued: send it, then drop the connection; every later call returns the same error.
    pub fn process(&mut self, now: UnixTime) -> Result<(), Error> {
        self.process_into(now, &mut []).map(|_| ())
    }

    /// [`Connection::process`], and while no plaintext is buffered the first application data
    /// record's plaintext is copied straight into `buf` (as much as fits; the rest is
    /// buffered): returns how many bytes went into `buf`. One copy less than through
    /// [`Connection::read`].
    pub fn process_into(&mut self, now: UnixTime, buf: &mut [u8]) -> Result<usize, Error> {
        let mut sink = Sink::copy(buf);
        self.process_from(now, None, &mut sink)?;
        Ok(sink.taken().unwrap_or(0))
    }

    /// [`Connection::process_into`] on bytes the transport lends where they lie (a BIO's own
    /// buffer, as `Bio::read_in_place` lends it) instead of bytes copied into the connection
    /// first: each whole record is opened in place there — one copy fewer — and handled as
    /// `process_into` handles it (application data into `buf` while no plaintext is
    /// buffered, the rest into the plaintext buffer). What follows the records processed: a
    /// partial record is copied into the connection's input (it is taken); whole records left
    /// behind because a bound or the end of the handshake stopped the call are not taken.
    /// Returns how many bytes of `input` were taken (the transport drops them; only those
    /// were changed) and how many plaintext bytes went into `buf`. While the connection holds
    /// a partial record itself, `input` is copied in as by [`Connection::feed`] and processed.
    /// After a fatal error the connection is dead: what it was lent no longer matters.
    pub fn process_in_place(
        &mut self,
        now: UnixTime,
        input: &mut [u8],
        buf: &mut [u8],
    ) -> Result<(usize, usize), Error> {
        let mut sink = Sink::copy(buf);
        let taken = self.process_in_place_to(now, input, &mut sink)?;
        Ok((taken, sink.taken().unwrap_or(0)))
    }

    /// [`Connection::process_in_place`] with the application data going into `sink`: returns
    /// how many bytes of `input` were taken.
    pub(crate) fn process_in_place_to(
        &mut self,
        now: UnixTime,
        input: &mut [u8],
        sink: &mut Sink<'_>,
    ) -> Result<usize, Error> {
        if self.record.buffered_len() > 0 {
            let taken = self.feed(input);
            self.process_from(now, None, sink)?;
            return Ok(taken);
        }
        let mut lent = Lent {
            bytes: input,
            pos: 0,
        };
        self.process_from(now, Some(&mut lent), sink)?;
        let Lent { bytes, mut pos } = lent;
        let rest = bytes.get(pos..).unwrap_or_default();
        let whole = matches!(self.record.record_len(rest), Ok(Some(len)) if len <= rest.len());
        if !whole && self.failure.is_none() {
            // A partial record (or bytes the deframer will refuse once they are its own).
            pos += self.feed(rest);
        }
        Ok(pos)
    }

    /// Processes records (from `lent`, else from the input buffer), the first application
    /// data record's plaintext into `sink` while no plaintext is buffered.
    fn process_from(
        &mut self,
        now: UnixTime,
        mut lent: Option<&mut Lent<'_>>,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        self.check()?;
        while self.may_open_record() {
            let handshaking = self.phase != Phase::Established;
            let Some(progress) = self.next_record(now, lent.as_deref_mut(), sink)? else {
                break;
            };
            // The record that completes the handshake ends the call: what follows is
            // post-handshake traffic, for the caller's next call (a post-handshake record never
            // makes the handshake fail).
            if progress && sink.taken().is_some() || handshaking && self.phase == Phase::Established
            {
                break;
            }
        }
        if self.eof && self.phase != Phase::Established && !self.peer_closed {
            return Err(
                self.unexpected_eof("the server closed the connection during the handshake")
            );
        }
        Ok(())
    }

    // ---- output ---------------------------------------------------------------------------

    /// The bytes waiting to be sent, oldest first (lent: call
    /// [`Connection::consume_output`] with how many the transport took).
    pub fn pending_output(&self) -> &[u8] {
        self.out.pending()
    }

    /// The transport took the first `n` bytes of [`Connection::pending_output`].
    pub fn consume_output(&mut self, n: usize) {
        self.out.consume(n);
        if self.out.queued() == 0 && self.phase == Phase::Established {
            // Nothing waits: an established connection holds no output buffer between writes
            // (the handshake's flights, or the records of the last write, are out; the next
            // write reserves what it needs).
            self.out.buf = Vec::new();
            self.flight_end = 0;
        }
    }

    /// Gives back the memory of the connection's record buffers that hold no byte now: the
    /// input buffer (one record at most) and the plaintext buffer. Call it when the
    /// connection goes idle — [`crate::Ssl`] does when a read finds nothing to read; the
    /// output queue gives its memory back by itself once drained. The buffers grow again
    /// with the next record.
    pub fn release_buffers(&mut self) {
        self.record.release_input();
        if self.plain_pos == self.plain.len() {
            self.plain = Vec::new();
            self.plain_pos = 0;
        }
    }

    /// Writes pending output to `wr` once (rustls's `write_tls`); returns how many bytes it
    /// took. Errors from `wr` (e.g. `WouldBlock`) are returned as is.
    pub fn write_tls(&mut self, wr: &mut dyn io::Write) -> io::Result<usize> {
        let n = wr.write(self.out.pending())?;
        self.consume_output(n);
        Ok(n)
    }

    // ---- plaintext ------------------------------------------------------------------------

    /// Copies buffered plaintext into `buf` (`SSL_read` without the transport): at least one
    /// byte, or `Ok(0)` for an empty `buf`; else [`ErrorKind::ZeroReturn`] once the peer has
    /// closed, the fatal error, [`ErrorKind::Io`] (`UnexpectedEof`) when the transport ended
    /// without close_notify, or [`ErrorKind::WantRead`]: feed bytes and process. Call
    /// [`Connection::process`] first: only processed records count.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut sink = Sink::copy(buf);
        self.read_to(&mut sink)?;
        Ok(sink.taken().unwrap_or(0))
    }

    /// Whether [`Connection::read`] would return [`ErrorKind::WantRead`] now: no plaintext
    /// buffered, the peer has not closed, the connection has not failed and the transport has
    /// not ended (lets a front wait without building the error).
    pub fn read_would_block(&self) -> bool {
        self.plain_pos == self.plain.len()
            && !self.peer_closed
            && self.failure.is_none()
            && !(self.eof && self.may_open_record())
    }

    /// Seals application data into the output queue (`SSL_write` without the transport):
    /// returns how many bytes of `data` were taken — all of it if the queue has room, else
    /// what fits; [`ErrorKind::WantWrite`] when the queue is full (take its output first).
    /// Only once the handshake is complete, and not after [`Connection::send_close_notify`].
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.check_writable()?;
        if data.is_empty() {
            return Ok(0);
        }
        let room = MAX_OUTPUT.saturating_sub(self.out.queued());
        if room == 0 {
            return Err(Error::want_write());
        }
        let n = data.len().min(room);
        if self.record.write_needs_key_update() {
            self.step(Step::UpdateKey)?;
        }
        let chunk = data.get(..n).unwrap_or_default();
        if let Err(e) = self
            .record
            .seal(ContentType::ApplicationData, chunk, self.out.tail())
        {
            return Err(self.die(Error::from_record(e)));
        }
        self.key_update_silent = false;
        Ok(n)
    }

    /// [`Connection::write`] straight into space the transport lends (a BIO's own buffer, as
    /// `Bio::write_in_place` lends it) instead of into the output queue: as many whole records
    /// of `data` as fit in `out` are sealed there, each chunk of `data` copied once into its
    /// place and encrypted where it lies — one copy fewer than through the queue. Returns how
    /// many bytes of `data` were taken and how many bytes of `out` were written (they now
    /// belong to the transport). `(0, 0)` when this cannot be done now — output is queued
    /// (it must go first; a KeyUpdate this call found due is queued too), or not even one
    /// record fits in `out` — then use [`Connection::write`]. [`Connection::sealed_len`] says
    /// how much room all of `data` takes. The same errors as [`Connection::write`].
    pub fn write_in_place(&mut self, data: &[u8], out: &mut [u8]) -> Result<(usize, usize), Error> {
        self.check_writable()?;
        if data.is_empty() || self.wants_write() {
            return Ok((0, 0));
        }
        if self.record.write_needs_key_update() {
            // The KeyUpdate is queued: it leaves before this data, through the queue.
            self.step(Step::UpdateKey)?;
            return Ok((0, 0));
        }
        let data = data.get(..data.len().min(MAX_OUTPUT)).unwrap_or_default();
        match self
            .record
            .seal_into(ContentType::ApplicationData, data, out)
        {
            Ok(r) => Ok(r),
            Err(e) => Err(self.die(Error::from_record(e))),
        }
    }

    /// How many bytes the records of `data_len` bytes of application data take, sealed now
    /// (at most [`MAX_OUTPUT`] bytes of data per call, as [`Connection::write`] takes).
    pub fn sealed_len(&self, data_len: usize) -> usize {
        let len = data_len.min(MAX_OUTPUT);
        let fragment = self.record.send_limit().max(1);
        let full = len / fragment;
        let rest = len % fragment;
        let typ = ContentType::ApplicationData;
        let mut total = full.saturating_mul(self.record.sealed_len(typ, fragment));
        if rest > 0 {
            total = total.saturating_add(self.record.sealed_len(typ, rest));
        }
        total
    }

    /// Whether [`Connection::write_in_place`] may take data now: established, alive, not
    /// closing, nothing queued.
    pub fn can_write_in_place(&self) -> bool {
        self.is_established() && !self.close_queued && !self.wants_write()
    }

    /// The errors of [`Connection::write`] before any data is looked at.
    fn check_writable(&self) -> Result<(), Error> {
        self.check()?;
        if self.phase != Phase::Established {
            return Err(Error::usage("write before the handshake is complete"));
        }
        if self.close_queued {
            return Err(Error::usage("write after close_notify"));
        }
        Ok(())
    }

    /// Seals 0-RTT early data into the output queue, right behind the ClientHello
    /// (`SSL_write_early_data` without the transport): returns how many bytes of `data` were
    /// taken — all of it, or what fits in the ticket's `max_early_data_size` (at most
    /// [`MAX_EARLY_DATA`] per connection, counted over every call) and the output queue.
    ///
    /// Possible from [`Connection::start`] until the server answers
    /// ([`Connection::early_data_status`] is [`EarlyDataStatus::Offered`]): the config enabled
    /// early data ([`crate::ConfigBuilder::with_early_data`]) and the ticket being resumed
    /// allows it. Otherwise, and once the limit is used up, it is an [`ErrorKind::Usage`] error
    /// and nothing is sent; [`ErrorKind::WantWrite`] when the output queue is full. Once the
    /// server answered, the outcome is in [`Connection::early_data_status`]: accepted, the
    /// server read it all; rejected, it read none of it and it was reported or resent as the
    /// config says ([`EarlyDataRejected`]).
    ///
    /// **Replay risk**: an attacker can replay early data to the server, which may then
    /// process it more than once; write only requests that are safe to repeat (see
    /// [`crate::ConfigBuilder::with_early_data`]).
    pub fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.check()?;
        match self.early.status {
            EarlyDataStatus::Offered => {}
            EarlyDataStatus::NotSent if self.phase == Phase::New => {
                return Err(Error::usage(
                    "early data: start the handshake first (the ClientHello must offer it)",
                ));
            }
            EarlyDataStatus::NotSent => {
                return Err(Error::usage(
                    "early data was not offered: not enabled in the config, or no resumed ticket allows it",
                ));
            }
            EarlyDataStatus::Accepted | EarlyDataStatus::Rejected => {
                return Err(Error::usage(
                    "early data can no longer be written: the server has answered",
                ));
            }
        }
        if data.is_empty() {
            return Ok(0);
        }
        if self.early.room == 0 {
            return Err(Error::usage(format!(
                "the early data limit is used up ({} bytes written)",
                self.early.written
            )));
        }
        let room = MAX_OUTPUT.saturating_sub(self.out.queued());
        if room == 0 {
            return Err(Error::want_write());
        }
        let n = data.len().min(room).min(self.early.room);
        let chunk = data.get(..n).unwrap_or_default();
        if let Err(e) = self
            .record
            .seal(ContentType::ApplicationData, chunk, self.out.tail())
        {
            return Err(self.die(Error::from_record(e)));
        }
        self.early.room -= n;
        self.early.written += n;
        if self.config.early_data_rejected() == EarlyDataRejected::Resend {
            self.early.copy.extend_from_slice(chunk);
        }
        Ok(n)
    }

    /// Whether 0-RTT early data was offered and what the server made of it
    /// (`SSL_get_early_data_status`).
    pub fn early_data_status(&self) -> EarlyDataStatus {
        self.early.status
    }

    /// Whether the server accepted our early data (it read every byte of it).
    pub fn early_data_accepted(&self) -> bool {
        self.early.status == EarlyDataStatus::Accepted
    }

    /// How many more bytes [`Connection::write_early_data`] may write now (0 unless
    /// [`EarlyDataStatus::Offered`]).
    pub fn early_data_room(&self) -> usize {
        match self.early.status {
            EarlyDataStatus::Offered => self.early.room,
            _ => 0,
        }
    }

    /// How many bytes of early data were written.
    pub fn early_data_written(&self) -> usize {
        self.early.written
    }

    /// The server answered our early data: no more is written; a rejected one removes the
    /// early key (what follows it before a handshake key — a second ClientHello, a TLS 1.2
    /// flight — is plaintext).
    fn early_data_answered(&mut self, accepted: bool) {
        let status = if accepted {
            EarlyDataStatus::Accepted
        } else {
            EarlyDataStatus::Rejected
        };
        self.early.status = status;
        self.negotiated.early_data = status;
        self.early.room = 0;
        if accepted {
            self.early.copy = Vec::new();
        } else {
            self.record.clear_write_key();
        }
    }

    /// At the end of a handshake that rejected our early data with
    /// [`EarlyDataRejected::Resend`]: the copy goes out as application data, after our
    /// Finished.
    fn resend_early_data(&mut self) -> Result<(), Error> {
        let copy = std::mem::take(&mut self.early.copy);
        if self.early.status != EarlyDataStatus::Rejected || copy.is_empty() {
            return Ok(());
        }
        self.record
            .seal(ContentType::ApplicationData, &copy, self.out.tail())
            .map_err(|e| self.die(Error::from_record(e)))
    }

    /// Queues our close_notify (once). Application data that arrives after it is discarded
    /// (as OpenSSL does while `SSL_shutdown` waits for the peer's close_notify), so a peer that
    /// keeps sending cannot grow our buffers; already buffered plaintext is dropped too.
    pub fn send_close_notify(&mut self) {
        if !self.close_queued {
            self.close_queued = true;
            self.plain = Vec::new();
            self.plain_pos = 0;
            self.queue_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
        }
    }

    // ---- state ----------------------------------------------------------------------------

    /// Whether the connection takes transport bytes now: it is alive, the peer has not
    /// closed, and neither the output queue nor the plaintext buffer is over its bound.
    pub fn wants_read(&self) -> bool {
        self.failure.is_none()
            && !self.peer_closed
            && !self.eof
            && !self.output_full()
            && self.plain.len() - self.plain_pos < MAX_PLAINTEXT
    }

    /// Whether the output queue is at its bound ([`MAX_OUTPUT`]): no input is processed and no
    /// application data taken until the transport takes some of it.
    pub fn output_full(&self) -> bool {
        self.out.queued() >= MAX_OUTPUT
    }

    /// Whether output waits to be sent.
    pub fn wants_write(&self) -> bool {
        self.out.queued() > 0
    }

    /// Whether the handshake is under way (started, neither complete nor failed).
    pub fn is_handshaking(&self) -> bool {
        self.phase == Phase::Handshaking && self.failure.is_none()
    }

    /// Whether the handshake is complete and the connection has not failed.
    pub fn is_established(&self) -> bool {
        self.phase == Phase::Established && self.failure.is_none()
    }

    /// Whether the handshake has been started.
    pub fn is_started(&self) -> bool {
        self.phase != Phase::New
    }

    /// Whether some of our handshake flight (the final flight included) is still queued: until
    /// it is sent the server cannot go on, so nothing should wait for the server before it.
    pub fn flight_pending(&self) -> bool {
        self.out.holds(self.flight_end)
    }

    /// Whether the transport's end of file was fed.
    pub fn received_eof(&self) -> bool {
        self.eof
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether the peer has sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Whether our close_notify has been queued ([`Connection::send_close_notify`]).
    pub fn close_queued(&self) -> bool {
        self.close_queued
    }

    /// Decrypted application bytes ready for [`Connection::read`].
    pub fn plaintext_pending(&self) -> usize {
        self.plain.len() - self.plain_pos
    }

    /// The fatal error the connection died of, if any.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// What the handshake negotiated; `None` until it is complete.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        (self.phase == Phase::Established).then_some(&self.negotiated)
    }

    /// The peer's certificates (end entity first) as received, also after a failed
    /// verification for inspection.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.negotiated.peer_chain
    }

    /// The newest resumable session the server gave this connection.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The server name this connection verifies (and sends as SNI unless it is an IP address).
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.negotiated.server_name
    }

    /// Records received and processed.
    pub fn records_in(&self) -> u64 {
        self.records_in
    }

    /// Keying material exported from the session (RFC 8446 §7.5 TLS-Exporter, RFC 5705 in
    /// TLS 1.2): fills `out` for `label` and `context`. Only once the handshake is complete.
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        match (&self.handshake, self.is_established()) {
            (Some(hs), true) => hs
                .export_keying_material(out, label, context)
                .map_err(|e| Error::usage(format!("export_keying_material: {e}"))),
            _ => Err(Error::usage(
                "keying material can be exported once the handshake is complete",
            )),
        }
    }

    // ---- records --------------------------------------------------------------------------

    fn check(&self) -> Result<(), Error> {
        match &self.failure {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Whether another record may be opened now: the peer has not closed, the output queue
    /// and the plaintext buffer are within their bounds.
    fn may_open_record(&self) -> bool {
        !self.peer_closed
            && !self.output_full()
            && self.plain.len() - self.plain_pos < MAX_PLAINTEXT
    }

    /// Opens and handles one record. `None` when no complete record is buffered; `Some(true)`
    /// when it produced plaintext (into `direct` or the buffer) or closed the connection.
    fn next_record(
        &mut self,
        now: UnixTime,
        lent: Option<&mut Lent<'_>>,
        sink: &mut Sink<'_>,
    ) -> Result<Option<bool>, Error> {
        let record = match lent {
            None => self.record.next_record(),
            Some(Lent { bytes, pos }) => {
                let rest = bytes.get_mut(*pos..).unwrap_or_default();
                match self.record.record_len(rest) {
                    Ok(Some(len)) if len <= rest.len() => {
                        *pos += len;
                        match self
                            .record
                            .open_in_place(rest.get_mut(..len).unwrap_or_default())
                        {
                            // A swallowed compatibility ChangeCipherSpec: on to the next one.
                            Ok(None) => return Ok(Some(false)),
                            // Handshake messages are handled where the record was opened,
                            // not copied into the joiner first (only a message that goes on in
                            // the next record is).
                            Ok(Some(r))
                                if r.typ == ContentType::Handshake && self.joiner.is_empty() =>
                            {
                                self.records_in += 1;
                                self.warnings_in_a_row = 0;
                                self.handle_handshake_in_place(now, r.payload)?;
                                return Ok(Some(false));
                            }
                            opened => opened,
                        }
                    }
                    Ok(_) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        };
        let record = match record {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.die(Error::from_record(e))),
        };
        self.records_in += 1;
        let typ = record.typ;
        // RFC 8446 §5.1, RFC 5246 §6.2.1: no other record between the fragments of a
        // handshake message. (A fatal alert still ends the connection as the peer's alert.)
        let fatal_alert = typ == ContentType::Alert && record.payload.first() == Some(&2);
        if typ != ContentType::Handshake && !self.joiner.is_empty() && !fatal_alert {
            return Err(self.fatal(
                AlertDescription::UnexpectedMessage,
                format!("a {typ} record between the fragments of a handshake message"),
            ));
        }
        match typ {
            ContentType::Handshake => {
                if let Err(e) = self.joiner.push(record.payload) {
                    return Err(self.die(Error::from_record(e)));
                }
                self.warnings_in_a_row = 0;
                self.handle_handshake_messages(now)?;
                Ok(Some(false))
            }
            ContentType::ApplicationData => {
                if self.phase != Phase::Established {
                    return Err(self.fatal(
                        AlertDescription::UnexpectedMessage,
                        "application data before the handshake completed".into(),
                    ));
                }
                self.warnings_in_a_row = 0;
                self.key_updates_in_a_row = 0;
                let payload = record.payload;
                if self.close_queued || payload.is_empty() {
                    // After our close_notify, application data is discarded.
                    return Ok(Some(false));
                }
                if self.plain.is_empty() {
                    // Into the caller's sink (copied or lent), the rest buffered.
                    sink.deliver_record(payload, &mut self.plain);
                } else {
                    self.plain.extend_from_slice(payload);
                }
                Ok(Some(true))
            }
            ContentType::Alert => {
                let payload: [u8; 2] = match record.payload.try_into() {
                    Ok(p) => p,
                    Err(_) => {
                        return Err(self.fatal(
                            AlertDescription::DecodeError,
                            "an alert record must hold exactly two bytes".into(),
                        ));
                    }
                };
                self.handle_alert(payload)?;
                Ok(Some(self.peer_closed))
            }
            ContentType::ChangeCipherSpec if self.expect_ccs => {
                // TLS 1.2: the server's CCS switches the read key, before the next record is
                // opened (the record layer opens one record per call).
                self.expect_ccs = false;
                self.trace.ccs(Dir::Received, self.record.version());
                self.step(Step::Ccs)?;
                Ok(Some(false))
            }
            other => Err(self.fatal(
                AlertDescription::UnexpectedMessage,
                format!("unexpected {other} record"),
            )),
        }
    }

    fn handle_alert(&mut self, [level, desc]: [u8; 2]) -> Result<(), Error> {
        let level = AlertLevel::from(level);
        let desc = AlertDescription::from(desc);
        self.trace
            .alert(Dir::Received, self.record.version(), level, desc);
        if desc == AlertDescription::CloseNotify {
            self.peer_closed = true;
            return Ok(());
        }
        // Until the ServerHello names the version, TLS 1.2's rules apply (RFC 8446 §6 has no
        // warnings, but a TLS 1.2 server may send one — e.g. unrecognized_name for an SNI it
        // has no host for — before the version is known; OpenSSL ignores it).
        let tls13 = self.negotiated.version == ProtocolVersion::TLSv1_3;
        // RFC 5246 §7.2 knows two levels; another is illegal_parameter (OpenSSL's
        // UNKNOWN_ALERT_TYPE). In TLS 1.3 the level "can safely be ignored" (RFC 8446 §6) and
        // any alert but close_notify and user_canceled ends the connection, as in OpenSSL.
        if !tls13 && !matches!(level, AlertLevel::Warning | AlertLevel::Fatal) {
            return Err(self.fatal(
                AlertDescription::IllegalParameter,
                format!("an alert of unknown level {level:?} ({desc})"),
            ));
        }
        // RFC 8446 §6.1: user_canceled is followed by close_notify; keep going, but count it
        // with the warnings, so that a flood of them cannot spin the reader forever.
        if desc == AlertDescription::UserCanceled || level == AlertLevel::Warning && !tls13 {
            self.warnings_in_a_row += 1;
            if self.warnings_in_a_row > MAX_WARNING_ALERTS {
                return Err(self.fatal(
                    AlertDescription::UnexpectedMessage,
                    format!("too many warning alerts in a row (last: {desc})"),
                ));
            }
            return Ok(());
        }
        let err = Error::new(
            ErrorKind::Ssl,
            format!("the peer sent a fatal {desc} alert"),
        )
        .with_alert_received(desc);
        // No alert goes back in answer to a fatal alert.
        self.trace.failure(&err, &self.negotiated.peer_chain);
        self.failure = Some(err.clone());
        Err(err)
    }

    /// Handles the whole handshake messages the joiner holds.
    fn handle_handshake_messages(&mut self, now: UnixTime) -> Result<(), Error> {
        // The messages borrow the joiner: it is out of `self` while they are handled (a
        // default joiner, which holds no memory, stands in).
        let mut joiner = std::mem::take(&mut self.joiner);
        let result = loop {
            let buffered = joiner.buffered_len();
            let message = match joiner.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break Ok(()),
                Err(e) => break Err(self.die(Error::from_record(e))),
            };
            let handled = self.handle_message(now, message, buffered - message.len());
            joiner.consume();
            if let Err(e) = handled {
                break Err(e);
            }
        };
        self.joiner = joiner;
        if self.phase == Phase::Established && self.joiner.is_empty() {
            self.release_joiner();
        }
        result
    }

    /// Handles a handshake record opened where the transport lent it, while the joiner holds
    /// nothing: its whole messages are handled where they lie, with the joiner's checks; what
    /// is left (a message that goes on in the next record) is pushed into the joiner.
    fn handle_handshake_in_place(&mut self, now: UnixTime, payload: &[u8]) -> Result<(), Error> {
        if let Err(e) = self.joiner.check_record(payload) {
            return Err(self.die(Error::from_record(e)));
        }
        let mut rest = payload;
        loop {
            let message = match self.joiner.whole_message(rest) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => return Err(self.die(Error::from_record(e))),
            };
            rest = rest.get(message.len()..).unwrap_or_default();
            self.handle_message(now, message, rest.len())?;
        }
        if !rest.is_empty()
            && let Err(e) = self.joiner.push(rest)
        {
            return Err(self.die(Error::from_record(e)));
        }
        Ok(())
    }

    /// Handles one whole handshake message from the server; `behind` handshake bytes follow
    /// it, not yet handled.
    fn handle_message(
        &mut self,
        now: UnixTime,
        message: &[u8],
        behind: usize,
    ) -> Result<(), Error> {
        self.trace
            .messages(Dir::Received, self.record.version(), message);
        let message = if message.first() == Some(&KEY_UPDATE_REQUESTED[0]) {
            self.key_updates_in_a_row += 1;
            if self.key_updates_in_a_row > MAX_KEY_UPDATES {
                return Err(self.fatal(
                    AlertDescription::UnexpectedMessage,
                    format!("more than {MAX_KEY_UPDATES} KeyUpdates without application data"),
                ));
            }
            // RFC 8446 §4.6.3 asks for one KeyUpdate of ours before our next application
            // data, and a receiver of several requests while it is silent answers with a
            // single update: the one we sent since our last application data answers
            // this request too.
            if message == KEY_UPDATE_REQUESTED && self.key_update_silent {
                &KEY_UPDATE_NOT_REQUESTED[..]
            } else {
                message
            }
        } else {
            message
        };
        // A message that ends the server's flight (TLS 1.2's ServerHelloDone; a
        // HelloRetryRequest, after which the server waits for our second ClientHello, RFC
        // 8446 §4.1.4) has nothing behind it: bytes already there were sent before our
        // answer could be read (BoringSSL's EXCESS_HANDSHAKE_DATA; RFC 8446 §5.1 for a key
        // change). Checked before we answer.
        let ends_flight = match message {
            [SERVER_HELLO_DONE, ..] => self.negotiated.version == ProtocolVersion::TLSv1_2,
            [2, _, _, _, _, _, random @ ..] => {
                random.get(..32) == Some(&HELLO_RETRY_REQUEST_RANDOM[..])
            }
            _ => false,
        };
        if ends_flight && behind > 0 {
            return Err(self.fatal(
                AlertDescription::UnexpectedMessage,
                "handshake bytes behind the message that ended the server's flight".into(),
            ));
        }
        let result = match self.handshake.as_mut() {
            Some(hs) => Self::call(hs, Step::Message(message, now), &mut self.events),
            None => Err(overture_handshake::Error::Usage(
                "the handshake never started",
            )),
        };
        self.behind = behind;
        let events = std::mem::take(&mut self.events);
        let applied = self.finish_step(result, events);
        self.behind = 0;
        applied
    }

    /// Gives back the joiner's memory (once the handshake is complete and it holds nothing:
    /// post-handshake messages are small and rare, it grows again if needed).
    fn release_joiner(&mut self) {
        self.joiner = HandshakeJoiner::new(self.joiner.max_message());
    }

    // ---- the handshake: every call into it, and every event out of it ---------------------

    /// Takes one step of the handshake and applies what it says.
    fn step(&mut self, step: Step<'_>) -> Result<(), Error> {
        let result = match self.handshake.as_mut() {
            Some(hs) => Self::call(hs, step, &mut self.events),
            None => Err(overture_handshake::Error::Usage(
                "the handshake never started",
            )),
        };
        let events = std::mem::take(&mut self.events);
        self.finish_step(result, events)
    }

    /// The one place that calls the handshake state machine after its start.
    fn call(
        hs: &mut ClientHandshake,
        step: Step<'_>,
        events: &mut Vec<Event>,
    ) -> Result<(), overture_handshake::Error> {
        match step {
            Step::Message(message, now) => hs.handle(message, now, events),
            Step::Ccs => hs.handle_ccs(events),
            Step::UpdateKey => hs.update_write_key(false, events),
        }
    }

    /// Applies the events of a handshake step, or turns its error into ours (the server's
    /// chain stays inspectable after a verification failure).
    fn finish_step(
        &mut self,
        result: Result<(), overture_handshake::Error>,
        mut events: Vec<Event>,
    ) -> Result<(), Error> {
        let was_handshaking = self.phase != Phase::Established;
        let applied = match result {
            Ok(()) => self.apply_events(&mut events),
            // A rejected ECH (RFC 9849 §6.1.6): the outer handshake completed, so our flight
            // goes out first and the ech_required alert under the application key after it.
            Err(e @ overture_handshake::Error::EchRejected { .. }) => {
                let applied = self.apply_events(&mut events);
                applied.and_then(|()| Err(self.die(Error::from_handshake(e))))
            }
            Err(e) => {
                for ev in events.drain(..) {
                    if let Event::PeerCertificates(chain) = ev {
                        self.negotiated.peer_chain = chain;
                    }
                }
                Err(self.die(Error::from_handshake(e)))
            }
        };
        events.clear();
        if was_handshaking && self.phase == Phase::Established {
            // The flights, chain and keys of the handshake are applied: give their memory
            // back (post-handshake messages are small and rare; the buffers grow again if
            // needed). The joiner is replaced only when no message is pending in it.
            events = Vec::new();
            if self.joiner.is_empty() {
                self.release_joiner();
            }
        }
        self.events = events;
        applied
    }

    /// RFC 8449: the server answered our record_size_limit with its own `limit` (so it also
    /// agreed to ours). Its limit caps the records we seal from now on; ours bounds the
    /// protected records we open (larger: `record_overflow`).
    fn apply_record_size_limit(&mut self, limit: u16) {
        self.negotiated.peer_record_size_limit = Some(limit);
        let version = self.negotiated.version;
        self.record
            .set_send_limit(overture_handshake::record_content_limit(version, limit));
        if let Some(ours) = self.config.record_size_limit() {
            self.record.set_receive_limit(usize::from(ours));
        }
    }

    fn apply_events(&mut self, events: &mut Vec<Event>) -> Result<(), Error> {
        for event in events.drain(..) {
            match event {
                Event::Send { bytes, level } => {
                    self.trace
                        .messages(Dir::Sent, self.record.version(), &bytes);
                    let sealed = self
                        .record
                        .seal(ContentType::Handshake, &bytes, self.out.tail());
                    if let Err(e) = sealed {
                        return Err(self.die(Error::from_record(e)));
                    }
                    if level == Level::Application && self.phase == Phase::Established {
                        self.key_update_silent = true;
                    } else {
                        self.flight_end = self.out.end();
                    }
                }
                Event::SendCcs => {
                    // Before any ServerHello, a CCS is the compatibility one of a ClientHello
                    // that offers 0-RTT: it and the early data are TLS 1.3 records, which say
                    // 0x0303 (RFC 8446 §5.1: only the initial ClientHello may say 0x0301).
                    if self.record.version().is_none() {
                        self.record.set_version(ProtocolVersion::TLSv1_3);
                    }
                    self.trace.ccs(Dir::Sent, self.record.version());
                    let sealed =
                        self.record
                            .seal(ContentType::ChangeCipherSpec, &[1], self.out.tail());
                    if let Err(e) = sealed {
                        return Err(self.die(Error::from_record(e)));
                    }
                    self.flight_end = self.out.end();
                }
                Event::InstallReadKey(key) => {
                    // A handshake message must not span a key change.
                    let spans = match self.joiner.check_key_change() {
                        Ok(()) if self.behind > 0 => {
                            Err(overture_record_layer::Error::HandshakeSpansKeyChange {
                                buffered: self.behind,
                            })
                        }
                        checked => checked,
                    };
                    if let Err(e) = spans {
                        return Err(self.die(Error::from_record(e)));
                    }
                    self.trace.key_change(Dir::Received);
                    match record_key(&key) {
                        Ok(k) => self.record.set_read_key(k),
                        Err(e) => return Err(self.die(Error::from_record(e))),
                    }
                }
                Event::InstallWriteKey(key) => self.install_write_key(&key)?,
                Event::InstallEarlyWriteKey {
                    key,
                    max_early_data,
                } => {
                    // Early data goes out in TLS 1.3 records (0x0303, RFC 8446 §5.1).
                    if self.record.version().is_none() {
                        self.record.set_version(ProtocolVersion::TLSv1_3);
                    }
                    self.install_write_key(&key)?;
                    self.early.status = EarlyDataStatus::Offered;
                    self.early.room = usize::try_from(max_early_data)
                        .unwrap_or(usize::MAX)
                        .min(MAX_EARLY_DATA);
                }
                Event::PeerRecordSizeLimit(limit) => self.apply_record_size_limit(limit),
                Event::OcspResponse(r) => self.negotiated.ocsp_response = Some(Arc::from(r)),
                Event::SignedCertificateTimestamps(l) => {
                    self.negotiated.signed_certificate_timestamps = Some(Arc::from(l));
                }
                Event::EarlyData { accepted } => self.early_data_answered(accepted),
                Event::ServerHello {
                    version,
                    suite,
                    group,
                } => {
                    self.negotiated.version = version;
                    self.negotiated.cipher_suite = suite;
                    self.negotiated.group = group;
                    self.record.set_version(version);
                    // RFC 8446 §5: compat-mode ChangeCipherSpecs may arrive until the server's
                    // Finished; allowed since the ClientHello, refused in TLS 1.2 (where the
                    // handshake reads the real one).
                    if version != ProtocolVersion::TLSv1_3 {
                        self.record.allow_ccs(false);
                    }
                }
                Event::HelloRetryRequest { .. } => {
                    // TLS 1.3 from here on: the compatibility CCS and the second ClientHello go
                    // out in 0x0303 records (RFC 8446 §5.1: only the initial ClientHello may
                    // say 0x0301).
                    self.record.set_version(ProtocolVersion::TLSv1_3);
                    self.negotiated.hello_retry = true;
                }
                Event::PeerSignatureScheme(s) => {
                    self.negotiated.peer_signature_scheme = Some(s);
                    // The server's certificate and signature are verified: the application's
                    // OCSP check (OpenSSL's client status callback) has its say.
                    let refused = self
                        .config
                        .ocsp_response_check()
                        .is_some_and(|c| !c.accepts(self.negotiated.ocsp_response()));
                    if refused {
                        return Err(self.fatal(
                            AlertDescription::BadCertificateStatusResponse,
                            "the application's OCSP response check refused the server's \
                             stapled response"
                                .into(),
                        ));
                    }
                }
                Event::Ech(status) => self.negotiated.ech = status,
                // Kept tickets arrive as NewSessionTicket / Tls12Session; a dropped one needs
                // nothing.
                Event::TicketReceived { .. } => {}
                Event::Alpn(p) => self.negotiated.alpn = p,
                Event::KeyExchangeGroup(g) => self.negotiated.group = Some(g),
                Event::Resumed => self.negotiated.resumed = true,
                Event::ExpectCcs => self.expect_ccs = true,
                Event::SendWarningAlert(desc) => {
                    // A flood of requests (TLS 1.2 HelloRequests) gets one answer while the
                    // previous identical one has not left. After our close_notify nothing more
                    // goes out (RFC 5246 §7.2.1): the request is ignored, as OpenSSL ignores
                    // handshake records once it sent its close_notify.
                    let (end, last) = self.warning_end;
                    let repeated = last == Some(desc) && self.out.holds(end);
                    if !self.close_queued && !repeated {
                        self.queue_alert(AlertLevel::Warning, desc);
                        self.warning_end = (self.out.end(), Some(desc));
                    }
                }
                Event::NewSessionTicket(ticket) => self.keep_session(Session::tls13(*ticket)),
                Event::Tls12Session(session) => self.keep_session(Session::tls12(*session)),
                Event::PeerCertificates(chain) => {
                    if let Some(curve) = self.unoffered_leaf_curve(chain.first()) {
                        return Err(self.fatal(
                            AlertDescription::IllegalParameter,
                            format!(
                                "the server's ECDSA certificate is on {curve}, a curve we did \
                                 not offer (RFC 8422 §5.3)"
                            ),
                        ));
                    }
                    self.negotiated.peer_chain = chain;
                }
                Event::Complete => {
                    self.record.allow_ccs(false);
                    // The name is the connection's own: no copy (see `Negotiated::sni`).
                    self.negotiated.sni = self.config.sni();
                    self.phase = Phase::Established;
                    self.trace.handshake_ended();
                    // The handshake's input buffer may have grown to its largest record (a
                    // certificate chain); an idle connection needs none until data comes.
                    self.record.release_input();
                    self.resend_early_data()?;
                }
            }
        }
        Ok(())
    }

    fn install_write_key(&mut self, key: &TrafficKey) -> Result<(), Error> {
        self.trace.key_change(Dir::Sent);
        match record_key(key) {
            Ok(k) => {
                self.record.set_write_key(k);
                Ok(())
            }
            Err(e) => Err(self.die(Error::from_record(e))),
        }
    }

    fn keep_session(&mut self, session: Session) {
        if let Some(store) = self.config.session_store() {
            store.put(&self.negotiated.server_name, session.clone());
        }
        self.session = Some(session);
    }

    // ---- failures -------------------------------------------------------------------------

    /// The transport ended without close_notify: fatal, reported as the config says
    /// ([`UnexpectedEof`]): by default as OpenSSL 3 does — `SSL_ERROR_SSL`, and a
    /// decode_error alert to a peer that may still be reading (it only closed its side); as
    /// OpenSSL 1.1.1, `SSL_ERROR_SYSCALL` and no alert.
    pub(crate) fn unexpected_eof(&mut self, what: &str) -> Error {
        let (kind, alert) = match self.config.unexpected_eof() {
            UnexpectedEof::Syscall => (ErrorKind::Io, None),
            _ => (ErrorKind::Ssl, Some(AlertDescription::DecodeError)),
        };
        let e = Error::new(kind, format!("unexpected eof while reading: {what}"))
            .with_io_kind(io::ErrorKind::UnexpectedEof)
            .with_alert_sent(alert);
        self.die(e)
    }

    fn fatal(&mut self, alert: AlertDescription, reason: String) -> Error {
        let err = Error::new(ErrorKind::Ssl, reason).with_alert_sent(Some(alert));
        self.die(err)
    }

    /// TLS 1.2: the curve of the server's ECDSA certificate when it is not one our
    /// `supported_groups` offered (RFC 8422 §5.1.1: the extension names the curves we accept
    /// in certificates too; §5.3: the server's certificate must use one). TLS 1.3 signature
    /// schemes name their curve and need no such check.
    fn unoffered_leaf_curve(&self, leaf: Option<&CertificateDer<'static>>) -> Option<NamedGroup> {
        use overture_types::pki::alg_id;
        if self.negotiated.version != ProtocolVersion::TLSv1_2 {
            return None;
        }
        let (key_alg, _) = overture_x509_verify::Certificate::public_key_of(leaf?.as_ref()).ok()?;
        let curves = [
            (alg_id::ECDSA_P256, NamedGroup::secp256r1),
            (alg_id::ECDSA_P384, NamedGroup::secp384r1),
            (alg_id::ECDSA_P521, NamedGroup::secp521r1),
        ];
        let (_, curve) = curves.into_iter().find(|(id, _)| id.as_ref() == key_alg)?;
        let offered = self.handshake.as_ref()?.offered_groups();
        (!offered.contains(&curve)).then_some(curve)
    }

    /// Records a fatal error: queues our alert (if any) and remembers the error so that every
    /// later call returns it.
    fn die(&mut self, err: Error) -> Error {
        if self.failure.is_none() {
            let err = err.with_ech(self.negotiated.ech);
            if let Some(alert) = err.alert_sent() {
                self.queue_alert(AlertLevel::Fatal, alert);
            }
            self.trace.failure(&err, &self.negotiated.peer_chain);
            self.failure = Some(err.clone());
            return err;
        }
        self.failure.clone().unwrap_or(err)
    }

    /// Marks the connection failed by a transport error from its front (the error is kept and
    /// returned by every later call).
    pub(crate) fn fail(&mut self, err: Error) -> Error {
        self.die(err)
    }

    fn queue_alert(&mut self, level: AlertLevel, desc: AlertDescription) {
        self.trace
            .alert(Dir::Sent, self.record.version(), level, desc);
        let payload = [level.get(), desc.get()];
        // Sealing an alert can only fail when the write sequence is exhausted; then the
        // connection is dead anyway and the peer will see the transport close.
        let _ = self
            .record
            .seal(ContentType::Alert, &payload, self.out.tail());
    }
}

fn record_key(key: &TrafficKey) -> Result<RecordKey, overture_record_layer::Error> {
    match key.tls12 {
        None => RecordKey::tls13(key.aead, key.key.as_bytes(), &key.iv),
        Some(suite) => RecordKey::tls12(suite, key.key.as_bytes(), key.fixed_iv()),
    }
}

//! `Ssl`: one TLS connection over a BIO, with `SSL_connect()`'s contract.

use crate::config::{ClientConfig, FinalFlight};
use crate::error::{Error, ErrorKind};
use crate::session::Session;
use overture_bio::{Bio, SocketBio, Transfer};
use overture_handshake::{ClientHandshake, Event, StartOptions, TrafficKey};
use overture_record_layer::{HandshakeJoiner, RecordKey, RecordLayer};
use overture_types::{
    AlertDescription, AlertLevel, CertificateDer, CipherSuite, ContentType, NamedGroup,
    ProtocolVersion, ServerName, SignatureScheme, UnixTime,
};
use std::sync::Arc;

/// What a completed handshake negotiated. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Negotiated {
    version: ProtocolVersion,
    cipher_suite: CipherSuite,
    group: Option<NamedGroup>,
    alpn: Option<Vec<u8>>,
    resumed: bool,
    sni: Option<String>,
    peer_chain: Arc<[CertificateDer<'static>]>,
    hello_retry: bool,
    peer_signature_scheme: Option<SignatureScheme>,
}

impl Negotiated {
    fn empty() -> Self {
        Self {
            version: ProtocolVersion::Unknown(0),
            cipher_suite: CipherSuite::Unknown(0),
            group: None,
            alpn: None,
            resumed: false,
            sni: None,
            peer_chain: Arc::from(Vec::new()),
            hello_retry: false,
            peer_signature_scheme: None,
        }
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
        self.sni.as_deref()
    }

    /// The certificates the server presented, end entity first, as verified.
    pub fn peer_chain(&self) -> &[CertificateDer<'static>] {
        &self.peer_chain
    }
}

/// Counters a caller (or a test) can read: how often the connection had to wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls that returned [`ErrorKind::WantRead`].
    pub want_read: u64,
    /// Calls that returned [`ErrorKind::WantWrite`].
    pub want_write: u64,
    /// Records received.
    pub records_in: u64,
    /// Transport writes made.
    pub writes: u64,
}

/// The result of [`Ssl::shutdown`], like `SSL_shutdown()`'s 0 and 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownState {
    /// Our close_notify is sent; the peer's has not arrived (call again to wait for it).
    Sent,
    /// Both close_notify alerts have been exchanged.
    Complete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    New,
    Handshaking,
    Established,
}

/// Most application data one `write` call seals before it hands the bytes to the BIO.
const MAX_WRITE_CHUNK: usize = 16 * 16384;
/// Warning alerts in a row we tolerate before calling it an alert flood: TLS 1.2 warnings, and
/// user_canceled in either version (TLS 1.3 has no other warnings besides close_notify).
const MAX_WARNING_ALERTS: u32 = 4;

/// One TLS client connection: the counterpart of OpenSSL's `SSL` object.
///
/// ```no_run
/// use overture::{ClientConfig, Ssl};
/// use overture::bio::SocketBio;
///
/// let config = ClientConfig::builder().with_ca_file("ca.pem")?.build()?;
/// let mut ssl = Ssl::new(&config, "localhost")?;
/// ssl.set_socket(SocketBio::connect("127.0.0.1:4433")?)?; // blocking
/// let negotiated = ssl.connect()?;                        // SSL_connect()
/// println!("{:?} {:?}", negotiated.version(), negotiated.cipher_suite());
/// ssl.write(b"GET / HTTP/1.0\r\n\r\n")?;
/// let mut buf = [0u8; 4096];
/// let n = ssl.read(&mut buf)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Ssl {
    config: ClientConfig,
    server_name: ServerName<'static>,
    bio: Option<Box<dyn Bio + Send>>,
    handshake: Option<ClientHandshake>,
    record: RecordLayer,
    joiner: HandshakeJoiner,
    events: Vec<Event>,
    /// Sealed records the BIO has not taken yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Decrypted application data not yet read.
    app: Vec<u8>,
    app_pos: usize,
    phase: Phase,
    failure: Option<Error>,
    last_error: Option<ErrorKind>,
    peer_closed: bool,
    close_sent: bool,
    warnings_in_a_row: u32,
    negotiated: Negotiated,
    stats: Stats,
    /// The BIO is a TCP socket (given through `set_socket`) with Nagle's algorithm on.
    nagle_socket: bool,
    /// The session to offer (`set_session`), taken by `connect()`.
    offered: Option<Session>,
    /// The newest session the server gave this connection.
    session: Option<Session>,
    /// TLS 1.2: the handshake waits for the server's ChangeCipherSpec.
    expect_ccs: bool,
    /// The final flight is queued in `out` and held for the application's first write (see
    /// [`FinalFlight`]); `connect()` returned without flushing it.
    held: bool,
}

impl core::fmt::Debug for Ssl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ssl")
            .field("server_name", &self.server_name)
            .field("phase", &self.phase)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Ssl {
    /// A new connection to `server_name` (a DNS name or an IP address), not yet connected.
    pub fn new(config: &ClientConfig, server_name: &str) -> Result<Self, Error> {
        let server_name = ServerName::try_from(server_name)
            .map_err(|_| Error::usage(format!("`{server_name}` is not a valid server name")))?
            .to_owned();
        Ok(Self {
            record: RecordLayer::new(),
            joiner: HandshakeJoiner::new(config.max_handshake_message()),
            config: config.clone(),
            server_name,
            bio: None,
            handshake: None,
            events: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            app: Vec::new(),
            app_pos: 0,
            phase: Phase::New,
            failure: None,
            last_error: None,
            peer_closed: false,
            close_sent: false,
            warnings_in_a_row: 0,
            negotiated: Negotiated::empty(),
            stats: Stats::default(),
            nagle_socket: false,
            held: false,
            offered: None,
            session: None,
            expect_ccs: false,
        })
    }

    /// Sets the transport (`SSL_set_bio`). Any BIO works: a socket (blocking or not), a BIO pair
    /// end, a memory BIO, or any `Read + Write` through `overture::bio::IoBio`.
    pub fn set_bio(&mut self, bio: Box<dyn Bio + Send>) {
        self.bio = Some(bio);
        self.nagle_socket = false;
    }

    /// Sets a socket as the transport after applying the config's TCP_NODELAY policy.
    pub fn set_socket(&mut self, socket: SocketBio) -> Result<(), Error> {
        if self.config.tcp_nodelay() && socket.as_tcp().is_some() {
            socket
                .set_tcp_nodelay(true)
                .map_err(|e| Error::io(&e, "setting TCP_NODELAY"))?;
        }
        // Read back from the kernel: a socket the caller configured counts as it really is.
        // (A Unix-domain socket has no Nagle: `tcp_nodelay` fails there, and nothing is held.)
        let nagle = socket.as_tcp().is_some() && socket.tcp_nodelay().is_ok_and(|on| !on);
        self.set_bio(Box::new(socket));
        self.nagle_socket = nagle;
        Ok(())
    }

    /// The BIO, to inspect it (e.g. a pair end's pending bytes).
    pub fn bio_mut(&mut self) -> Option<&mut (dyn Bio + Send + 'static)> {
        self.bio.as_deref_mut()
    }

    /// Runs the handshake (`SSL_connect()`).
    ///
    /// Over a blocking BIO it returns only when the handshake has finished or failed. Over a
    /// non-blocking BIO (or a BIO pair) it also returns `Err` with [`ErrorKind::WantRead`] or
    /// [`ErrorKind::WantWrite`]: make the BIO ready (poll the socket, pump the pair) and call
    /// again; it continues where it stopped, without re-sending or losing a byte. After success
    /// another call returns `Ok` at once; after a fatal error it returns the same error.
    ///
    /// A close_notify from the peer during the handshake gives [`ErrorKind::ZeroReturn`]; a
    /// fatal alert from the peer gives [`ErrorKind::Ssl`] naming it
    /// ([`Error::alert_received`]); an error we detect sends our alert first and names it
    /// ([`Error::alert_sent`]).
    ///
    /// When the client speaks last (TLS 1.3; a TLS 1.2 resumption) and the transport is a TCP
    /// socket with Nagle on, the final flight may be held for the first `write()` so both leave
    /// in one segment: see [`FinalFlight`](crate::FinalFlight).
    pub fn connect(&mut self) -> Result<Negotiated, Error> {
        let r = self.drive_handshake();
        self.note(r.map(|()| self.negotiated.clone()))
    }

    fn drive_handshake(&mut self) -> Result<(), Error> {
        if let Some(e) = &self.failure {
            let e = e.clone();
            let _ = self.flush_out();
            return Err(e);
        }
        if self.bio.is_none() {
            return Err(Error::usage("no BIO set: call set_bio() before connect()"));
        }
        if self.phase == Phase::New {
            self.start()?;
        }
        // A flight held by an earlier call leaves now.
        self.held = false;
        loop {
            if self.phase == Phase::Established && self.held {
                return Ok(());
            }
            self.flush_out()?;
            if self.phase == Phase::Established {
                // The flights are out: `out` is empty; give back what they took (the first
                // write reserves what it needs).
                self.out = Vec::new();
                return Ok(());
            }
            if self.process_input()? {
                continue;
            }
            if self.peer_closed {
                return Err(Error::new(
                    ErrorKind::ZeroReturn,
                    "the server sent close_notify during the handshake",
                ));
            }
            self.fill("the server closed the connection during the handshake")?;
        }
    }

    fn start(&mut self) -> Result<(), Error> {
        let now = UnixTime::now();
        let mut events = std::mem::take(&mut self.events);
        // The session to offer: the one set by hand, else one from the config's store.
        let offered = self.offered.take().or_else(|| {
            self.config
                .session_store()
                .and_then(|store| store.take(&self.server_name, now))
        });
        let (tls13_ticket, tls12_session) = offered.map(Session::into_parts).unwrap_or_default();
        let options = StartOptions {
            tls13_ticket,
            tls12_session,
            allow_tls12_without_ems: self.config.allow_tls12_without_ems(),
            offer_psk_ke: self.config.offer_psk_ke(),
            ..StartOptions::default()
        };
        let started = ClientHandshake::start(
            self.config.handshake_config(),
            self.server_name.clone(),
            now,
            options,
            &mut events,
        );
        self.phase = Phase::Handshaking;
        match started {
            Ok(hs) => {
                self.handshake = Some(hs);
                // RFC 8446 §5: a compatibility ChangeCipherSpec may arrive at any time after
                // our first ClientHello (e.g. right after a HelloRetryRequest, RFC 8446 D.4),
                // not only after ServerHello.
                let tls13 = self
                    .config
                    .handshake_config()
                    .versions
                    .contains(&ProtocolVersion::TLSv1_3);
                self.record.allow_ccs(tls13);
                self.apply_events(&mut events)?;
                self.events = events;
                Ok(())
            }
            Err(e) => {
                let alert = e.alert();
                Err(self.fatal(alert, format!("cannot start the handshake: {e}")))
            }
        }
    }

    /// Reads decrypted application data (`SSL_read()`), running the handshake first if needed.
    /// Returns at least one byte, or an error: [`ErrorKind::ZeroReturn`] once the peer has
    /// sent close_notify, [`ErrorKind::WantRead`] on a non-blocking BIO with nothing yet.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let r = self.read_inner(buf);
        self.note(r)
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        // A held final flight leaves before we wait for the peer.
        self.held = false;
        if self.phase != Phase::Established || self.failure.is_some() {
            self.drive_handshake()?;
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.app_pos < self.app.len() {
                let avail = self.app.get(self.app_pos..).unwrap_or_default();
                let n = avail.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.app_pos += n;
                if self.app_pos == self.app.len() {
                    self.app.clear();
                    self.app_pos = 0;
                }
                return Ok(n);
            }
            if self.peer_closed {
                return Err(Error::new(
                    ErrorKind::ZeroReturn,
                    "the peer sent close_notify",
                ));
            }
            // Post-handshake answers (KeyUpdate) go out as soon as the BIO takes them.
            match self.flush_out() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::WantWrite => {}
                Err(e) => return Err(e),
            }
            // With nothing buffered, a record's plaintext goes straight into `buf`; only what
            // does not fit is kept in `app`.
            let mut direct = 0;
            if self.process_input_into(buf, &mut direct)? {
                if direct > 0 {
                    return Ok(direct);
                }
                continue;
            }
            self.fill("the peer closed the connection without close_notify")?;
        }
    }

    /// Encrypts and sends application data (`SSL_write()`), running the handshake first if
    /// needed. Returns how many bytes of `data` were taken (at most 256 KiB per call); they are
    /// sealed and handed to the BIO, and any the BIO could not take yet stay queued for the
    /// next `write`, `flush` or `read` — call [`Ssl::flush`] to push them out.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, Error> {
        let r = self.write_inner(data);
        self.note(r)
    }

    fn write_inner(&mut self, data: &[u8]) -> Result<usize, Error> {
        if self.phase != Phase::Established || self.failure.is_some() {
            self.drive_handshake()?;
        }
        if self.close_sent {
            return Err(Error::usage("write after shutdown()"));
        }
        // Only queue more when the BIO has taken what we queued before — except a held final
        // flight, which leaves together with this first record in one transport write.
        if !std::mem::take(&mut self.held) {
            self.flush_out()?;
        }
        if data.is_empty() {
            return Ok(0);
        }
        let n = data.len().min(MAX_WRITE_CHUNK);
        if self.record.write_needs_key_update() {
            self.key_update()?;
        }
        let chunk = data.get(..n).unwrap_or_default();
        self.record
            .seal(ContentType::ApplicationData, chunk, &mut self.out)
            .map_err(|e| self.record_error(e))?;
        match self.flush_out() {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == ErrorKind::WantWrite => Ok(n),
            Err(e) => Err(e),
        }
    }

    /// Hands every queued byte to the BIO and flushes it.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.held = false;
        let r = self.flush_out();
        self.note(r)
    }

    /// Sends close_notify (`SSL_shutdown()`): the first call sends ours and returns
    /// [`ShutdownState::Sent`] (or `Complete` if the peer's already came); calling again waits
    /// for the peer's and returns [`ShutdownState::Complete`].
    pub fn shutdown(&mut self) -> Result<ShutdownState, Error> {
        let r = self.shutdown_inner();
        self.note(r)
    }

    fn shutdown_inner(&mut self) -> Result<ShutdownState, Error> {
        self.held = false;
        if self.bio.is_none() {
            return Err(Error::usage("no BIO set"));
        }
        if !self.close_sent {
            if let Some(e) = &self.failure {
                return Err(e.clone());
            }
            self.close_sent = true;
            self.queue_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
            self.flush_out()?;
            if let Some(bio) = self.bio.as_mut() {
                let _ = bio.shutdown_write();
            }
            return Ok(if self.peer_closed {
                ShutdownState::Complete
            } else {
                ShutdownState::Sent
            });
        }
        self.flush_out()?;
        while !self.peer_closed {
            if self.process_input()? {
                continue;
            }
            self.fill("the peer closed the connection without close_notify")?;
        }
        Ok(ShutdownState::Complete)
    }

    /// Offers `session` for resumption at the next `connect()` (`SSL_set_session`), instead of
    /// one from the config's session store. Call it before `connect()`. If the server declines
    /// (or the session does not fit the config), the handshake is a full one.
    pub fn set_session(&mut self, session: &Session) {
        self.offered = Some(session.clone());
    }

    /// The newest resumable session the server gave this connection (`SSL_get1_session`).
    ///
    /// In TLS 1.2 it is there when `connect()` returns. **In TLS 1.3 the server sends its
    /// tickets after the handshake**: they are processed by the first `read()` (or `write()`
    /// that reads) after `connect()`, so right after `connect()` this is usually `None` — see
    /// [`Ssl::session_ready`]. Sessions also go to the config's session store as they arrive.
    pub fn session(&self) -> Option<Session> {
        self.session.clone()
    }

    /// Whether the server has given this connection a resumable session yet.
    pub fn session_ready(&self) -> bool {
        self.session.is_some()
    }

    /// Decrypted application bytes ready to read without touching the BIO (`SSL_pending()`).
    pub fn pending(&self) -> usize {
        self.app.len() - self.app_pos
    }

    /// The kind of the last error returned by any call (`SSL_get_error()`), or `None` if the
    /// last call succeeded.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.last_error
    }

    /// The fatal error the connection died of, if any.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// Whether the handshake is complete.
    pub fn is_established(&self) -> bool {
        self.phase == Phase::Established && self.failure.is_none()
    }

    /// What the handshake negotiated (meaningful once established).
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The peer's certificates (end entity first), also available after a failed
    /// verification for inspection.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        self.negotiated.peer_chain()
    }

    /// Wait counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The server name this connection verifies (and sends as SNI unless it is an IP address).
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    // ---- internals ------------------------------------------------------------------------

    fn note<T>(&mut self, r: Result<T, Error>) -> Result<T, Error> {
        match &r {
            Ok(_) => self.last_error = None,
            Err(e) => {
                self.last_error = Some(e.kind());
                match e.kind() {
                    ErrorKind::WantRead => self.stats.want_read += 1,
                    ErrorKind::WantWrite => self.stats.want_write += 1,
                    _ => {}
                }
            }
        }
        r
    }

    /// Records a fatal error: queues our alert (if any), tries once to send it, and remembers
    /// the error so every later call returns it.
    fn fatal(&mut self, alert: Option<AlertDescription>, reason: String) -> Error {
        let err = Error::new(ErrorKind::Ssl, reason).with_alert_sent(alert);
        self.die(err)
    }

    fn die(&mut self, err: Error) -> Error {
        if self.failure.is_none() {
            if let Some(alert) = err.alert_sent() {
                self.queue_alert(AlertLevel::Fatal, alert);
                let _ = self.flush_out();
            }
            self.failure = Some(err.clone());
        }
        self.failure.clone().unwrap_or(err)
    }

    fn record_error(&mut self, e: overture_record_layer::Error) -> Error {
        let alert = e.alert();
        self.fatal(Some(alert), format!("record layer: {e}"))
    }

    fn handshake_error(&mut self, e: overture_handshake::Error) -> Error {
        let alert = e.alert();
        self.fatal(alert, format!("handshake: {e}"))
    }

    fn queue_alert(&mut self, level: AlertLevel, desc: AlertDescription) {
        let payload = [level.get(), desc.get()];
        // Sealing an alert can only fail when the write sequence is exhausted; then the
        // connection is dead anyway and the peer will see the transport close.
        let _ = self
            .record
            .seal(ContentType::Alert, &payload, &mut self.out);
    }

    /// Hands queued bytes to the BIO until it has taken them all.
    fn flush_out(&mut self) -> Result<(), Error> {
        let Some(bio) = self.bio.as_mut() else {
            return Err(Error::usage("no BIO set"));
        };
        while self.out_pos < self.out.len() {
            let pending = self.out.get(self.out_pos..).unwrap_or_default();
            match bio.write(pending) {
                Ok(Transfer::Bytes(n)) => {
                    self.stats.writes += 1;
                    self.out_pos += n;
                }
                Ok(Transfer::WouldBlock) => return Err(Error::want_write()),
                Ok(Transfer::Eof) => {
                    let e = Error::new(ErrorKind::Io, "the transport is closed for writing")
                        .with_io_kind(std::io::ErrorKind::BrokenPipe);
                    return Err(self.die(e));
                }
                Err(e) => {
                    let e = Error::io(&e, "writing to the transport");
                    return Err(self.die(e));
                }
            }
        }
        self.out.clear();
        self.out_pos = 0;
        let Some(bio) = self.bio.as_mut() else {
            return Ok(());
        };
        match bio.flush() {
            Ok(Transfer::WouldBlock) => Err(Error::want_write()),
            Ok(_) => Ok(()),
            Err(e) => {
                let e = Error::io(&e, "flushing the transport");
                Err(self.die(e))
            }
        }
    }

    /// Reads from the BIO into the record layer. `Err(WantRead)` when nothing is there yet.
    fn fill(&mut self, eof_reason: &str) -> Result<(), Error> {
        let Some(bio) = self.bio.as_mut() else {
            return Err(Error::usage("no BIO set"));
        };
        let spare = self.record.spare();
        if spare.is_empty() {
            // The record layer bounds its buffer to one maximal record; a full buffer with no
            // complete record cannot happen, so treat it as an internal error.
            return Err(self.fatal(
                Some(AlertDescription::InternalError),
                "record buffer full without a complete record".into(),
            ));
        }
        match bio.read(spare) {
            Ok(Transfer::Bytes(n)) => {
                self.record.advance(n);
                Ok(())
            }
            Ok(Transfer::WouldBlock) => Err(Error::want_read()),
            Ok(Transfer::Eof) => {
                let e = Error::new(ErrorKind::Io, eof_reason.to_string())
                    .with_io_kind(std::io::ErrorKind::UnexpectedEof);
                Err(self.die(e))
            }
            Err(e) => {
                let e = Error::io(&e, "reading from the transport");
                Err(self.die(e))
            }
        }
    }

    /// Processes every complete record buffered. Returns whether any was processed.
    fn process_input(&mut self) -> Result<bool, Error> {
        self.process_input_into(&mut [], &mut 0)
    }

    /// [`Ssl::process_input`], and while `app` is empty the plaintext of an application data
    /// record is copied into `direct` (as much as fits; the rest goes to `app`) and its length
    /// stored in `direct_len`: one copy less than through `app`.
    fn process_input_into(
        &mut self,
        direct: &mut [u8],
        direct_len: &mut usize,
    ) -> Result<bool, Error> {
        let mut progressed = false;
        loop {
            let record = match self.record.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(progressed),
                Err(e) => return Err(self.record_error(e)),
            };
            progressed = true;
            self.stats.records_in += 1;
            let typ = record.typ;
            // RFC 8446 §5.1, RFC 5246 §6.2.1: no other record between the fragments of a
            // handshake message. (A fatal alert still ends the connection as the peer's alert.)
            let fatal_alert = typ == ContentType::Alert && record.payload.first() == Some(&2);
            if typ != ContentType::Handshake && !self.joiner.is_empty() && !fatal_alert {
                return Err(self.fatal(
                    Some(AlertDescription::UnexpectedMessage),
                    format!("a {typ} record between the fragments of a handshake message"),
                ));
            }
            match typ {
                ContentType::Handshake => {
                    let pushed = self.joiner.push(record.payload);
                    if let Err(e) = pushed {
                        return Err(self.record_error(e));
                    }
                    self.warnings_in_a_row = 0;
                    let was_handshaking = self.phase != Phase::Established;
                    self.handle_handshake_messages()?;
                    if was_handshaking && self.phase == Phase::Established {
                        // The handshake is complete: what follows is read()'s business, so a
                        // post-handshake record never makes connect() fail.
                        self.release_handshake_buffers();
                        return Ok(true);
                    }
                }
                ContentType::ApplicationData => {
                    if self.phase != Phase::Established {
                        return Err(self.fatal(
                            Some(AlertDescription::UnexpectedMessage),
                            "application data before the handshake completed".into(),
                        ));
                    }
                    let payload = record.payload;
                    self.warnings_in_a_row = 0;
                    if self.app.is_empty() && !direct.is_empty() && !payload.is_empty() {
                        let n = payload.len().min(direct.len());
                        if let (Some(dst), Some(src), Some(rest)) =
                            (direct.get_mut(..n), payload.get(..n), payload.get(n..))
                        {
                            dst.copy_from_slice(src);
                            self.app.extend_from_slice(rest);
                            *direct_len = n;
                            return Ok(true);
                        }
                    }
                    self.app.extend_from_slice(payload);
                    if !self.app.is_empty() {
                        return Ok(true);
                    }
                }
                ContentType::Alert => {
                    let payload: [u8; 2] = match record.payload.try_into() {
                        Ok(p) => p,
                        Err(_) => {
                            return Err(self.fatal(
                                Some(AlertDescription::DecodeError),
                                "an alert record must hold exactly two bytes".into(),
                            ));
                        }
                    };
                    self.handle_alert(payload)?;
                    if self.peer_closed {
                        return Ok(true);
                    }
                }
                ContentType::ChangeCipherSpec if self.expect_ccs => {
                    // TLS 1.2: the server's CCS switches the read key, before the next record
                    // is opened (the record layer opens one record per call).
                    self.expect_ccs = false;
                    self.handle_ccs()?;
                }
                other => {
                    return Err(self.fatal(
                        Some(AlertDescription::UnexpectedMessage),
                        format!("unexpected {other} record"),
                    ));
                }
            }
        }
    }

    fn handle_alert(&mut self, [level, desc]: [u8; 2]) -> Result<(), Error> {
        let level = AlertLevel::from(level);
        let desc = AlertDescription::from(desc);
        if desc == AlertDescription::CloseNotify {
            self.peer_closed = true;
            return Ok(());
        }
        let tls13 = self.negotiated.version == ProtocolVersion::TLSv1_3
            || self.phase == Phase::Handshaking
                && self.negotiated.version != ProtocolVersion::TLSv1_2;
        // RFC 8446 §6.1: user_canceled is followed by close_notify; keep going, but count it
        // with the warnings, so that a flood of them cannot spin the reader forever.
        if desc == AlertDescription::UserCanceled || level == AlertLevel::Warning && !tls13 {
            self.warnings_in_a_row += 1;
            if self.warnings_in_a_row > MAX_WARNING_ALERTS {
                return Err(self.fatal(
                    Some(AlertDescription::UnexpectedMessage),
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
        self.failure = Some(err.clone());
        Err(err)
    }

    fn handle_handshake_messages(&mut self) -> Result<(), Error> {
        loop {
            let message = match self.joiner.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.record_error(e)),
            };
            let Some(hs) = self.handshake.as_mut() else {
                return Err(self.fatal(
                    Some(AlertDescription::UnexpectedMessage),
                    "handshake message before the handshake started".into(),
                ));
            };
            let mut events = std::mem::take(&mut self.events);
            let handled = hs.handle(message, UnixTime::now(), &mut events);
            self.joiner.consume();
            if let Err(e) = handled {
                // The chain stays inspectable after a verification failure.
                for ev in events.drain(..) {
                    if let Event::PeerCertificates(chain) = ev {
                        self.negotiated.peer_chain = Arc::from(chain);
                    }
                }
                self.events = events;
                return Err(self.handshake_error(e));
            }
            let applied = self.apply_events(&mut events);
            self.events = events;
            applied?;
        }
    }

    fn apply_events(&mut self, events: &mut Vec<Event>) -> Result<(), Error> {
        for event in events.drain(..) {
            match event {
                Event::Send { bytes, .. } => {
                    self.record
                        .seal(ContentType::Handshake, &bytes, &mut self.out)
                        .map_err(|e| self.record_error(e))?;
                }
                Event::SendCcs => {
                    self.record
                        .seal(ContentType::ChangeCipherSpec, &[1], &mut self.out)
                        .map_err(|e| self.record_error(e))?;
                }
                Event::InstallReadKey(key) => {
                    // A handshake message must not span a key change.
                    if let Err(e) = self.joiner.check_key_change() {
                        return Err(self.record_error(e));
                    }
                    let key = record_key(&key).map_err(|e| self.record_error(e))?;
                    self.record.set_read_key(key);
                }
                Event::InstallWriteKey(key) | Event::InstallEarlyWriteKey { key, .. } => {
                    let key = record_key(&key).map_err(|e| self.record_error(e))?;
                    self.record.set_write_key(key);
                }
                // This client offers neither record_size_limit nor early data yet
                // (ExtensionOptions default), so neither outcome can arrive.
                Event::PeerRecordSizeLimit(_) | Event::EarlyData { .. } => {}
                Event::ServerHello {
                    version,
                    suite,
                    group,
                } => {
                    self.negotiated.version = version;
                    self.negotiated.cipher_suite = suite;
                    self.negotiated.group = group;
                    self.record.set_version(version);
                    // RFC 8446 §5: one compat-mode ChangeCipherSpec may arrive until the
                    // server's Finished. It was allowed since the ClientHello; allowing it again
                    // here would accept a second one after an early one was swallowed.
                    if version != ProtocolVersion::TLSv1_3 {
                        self.record.allow_ccs(false);
                    }
                }
                Event::HelloRetryRequest { .. } => {
                    // TLS 1.3 from here on: the compat CCS and the second ClientHello go out in
                    // 0x0303 records (RFC 8446 §5.1: only the initial ClientHello may say
                    // 0x0301).
                    self.record.set_version(ProtocolVersion::TLSv1_3);
                    self.negotiated.hello_retry = true;
                }
                Event::PeerSignatureScheme(s) => self.negotiated.peer_signature_scheme = Some(s),
                // Kept tickets arrive as NewSessionTicket / Tls12Session; a dropped one needs
                // nothing.
                Event::TicketReceived { .. } => {}
                Event::Alpn(p) => self.negotiated.alpn = p,
                Event::KeyExchangeGroup(g) => self.negotiated.group = Some(g),
                Event::Resumed => self.negotiated.resumed = true,
                Event::ExpectCcs => self.expect_ccs = true,
                Event::SendWarningAlert(desc) => self.queue_alert(AlertLevel::Warning, desc),
                Event::NewSessionTicket(ticket) => self.keep_session(Session::tls13(ticket)),
                Event::Tls12Session(session) => self.keep_session(Session::tls12(session)),
                Event::PeerCertificates(chain) => self.negotiated.peer_chain = Arc::from(chain),
                Event::Complete => {
                    self.record.allow_ccs(false);
                    self.negotiated.sni = match &self.server_name {
                        ServerName::DnsName(d) if self.config.sni() => Some(d.as_ref().to_string()),
                        _ => None,
                    };
                    self.phase = Phase::Established;
                    // The handshake's input buffer may have grown to its largest record (a
                    // certificate chain); an idle connection needs none until data comes.
                    self.record.release_input();
                    self.held = !self.out.is_empty()
                        && match self.config.final_flight() {
                            FinalFlight::Hold => true,
                            FinalFlight::Auto => self.nagle_socket,
                            FinalFlight::Send => false,
                        };
                }
            }
        }
        Ok(())
    }

    /// Gives back the memory the handshake's messages took, once it is complete: the events
    /// (flights, chain, keys), and the joiner's buffer (grown to the largest message, e.g. the
    /// certificate chain) when no post-handshake message is pending in it. What comes after
    /// (tickets, KeyUpdate) is small and rare; the buffers grow again if needed.
    fn release_handshake_buffers(&mut self) {
        self.events = Vec::new();
        if self.joiner.is_empty() {
            self.joiner = HandshakeJoiner::new(self.joiner.max_message());
        }
    }

    fn keep_session(&mut self, session: Session) {
        if let Some(store) = self.config.session_store() {
            store.put(&self.server_name, session.clone());
        }
        self.session = Some(session);
    }

    fn handle_ccs(&mut self) -> Result<(), Error> {
        let Some(hs) = self.handshake.as_mut() else {
            return Err(self.fatal(
                Some(AlertDescription::UnexpectedMessage),
                "ChangeCipherSpec before the handshake started".into(),
            ));
        };
        let mut events = std::mem::take(&mut self.events);
        let r = hs.handle_ccs(&mut events);
        if let Err(e) = r {
            self.events = events;
            return Err(self.handshake_error(e));
        }
        let applied = self.apply_events(&mut events);
        self.events = events;
        applied
    }

    fn key_update(&mut self) -> Result<(), Error> {
        let Some(hs) = self.handshake.as_mut() else {
            return Ok(());
        };
        let mut events = std::mem::take(&mut self.events);
        let r = hs.update_write_key(false, &mut events);
        if let Err(e) = r {
            self.events = events;
            return Err(self.handshake_error(e));
        }
        let applied = self.apply_events(&mut events);
        self.events = events;
        applied
    }
}

fn record_key(key: &TrafficKey) -> Result<RecordKey, overture_record_layer::Error> {
    match key.tls12 {
        None => RecordKey::tls13(key.aead, key.key.as_bytes(), &key.iv),
        Some(suite) => RecordKey::tls12(suite, key.key.as_bytes(), key.fixed_iv()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_bio::{BioPair, BioPairEnd};
    use overture_tests::{KeyKind, Pki, rustls_server_config};
    use std::io::{Read as _, Write as _};

    /// Moves every byte between the client's pair end and the in-memory rustls server.
    fn pump(far: &mut BioPairEnd, server: &mut rustls::ServerConnection) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Transfer::Bytes(n) = far.read(&mut buf).unwrap() {
            let mut input = &buf[..n];
            while !input.is_empty() {
                server.read_tls(&mut input).unwrap();
            }
            server.process_new_packets().unwrap();
        }
        let mut out = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut out).unwrap();
        }
        if !out.is_empty() {
            assert!(matches!(far.write(&out).unwrap(), Transfer::Bytes(n) if n == out.len()));
        }
    }

    /// Reads of every size give the server's bytes in order: straight into the caller's buffer
    /// when nothing is pending, the rest of a record kept for the next reads (`pending`).
    #[test]
    fn reads_of_any_size_get_every_byte_in_order() {
        let pki = Pki::new(KeyKind::EcdsaP256);
        let mut server =
            rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
        let config = ClientConfig::builder()
            .with_ca_file(&pki.ca_pem)
            .unwrap()
            .build()
            .unwrap();
        let mut ssl = Ssl::new(&config, "localhost").unwrap();
        let (near, mut far) = BioPair::new(256 * 1024).unwrap();
        ssl.set_bio(Box::new(near));
        loop {
            match ssl.connect() {
                Ok(_) => break,
                Err(e) if e.kind().is_retry() => pump(&mut far, &mut server),
                Err(e) => panic!("{e}"),
            }
        }
        pump(&mut far, &mut server);
        let sent: Vec<u8> = (0..50_000u32)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        server.writer().write_all(&sent).unwrap();
        pump(&mut far, &mut server);
        let mut got = Vec::new();
        let sizes = [1usize, 7, 16 * 1024, 20_000, 3, 4096, 40_000];
        let mut buf = vec![0u8; 40_000];
        for size in sizes.iter().cycle() {
            if got.len() == sent.len() {
                break;
            }
            let n = ssl.read(&mut buf[..*size]).unwrap();
            assert!(n > 0 && n <= *size);
            got.extend_from_slice(&buf[..n]);
            assert!(ssl.pending() <= 16 * 1024);
        }
        assert_eq!(got, sent);
        assert_eq!(ssl.pending(), 0);
        // And the other way, after reads that left nothing pending.
        assert_eq!(ssl.write(b"ping").unwrap(), 4);
        pump(&mut far, &mut server);
        let mut echo = [0u8; 4];
        server.reader().read_exact(&mut echo).unwrap();
        assert_eq!(&echo, b"ping");
    }
}

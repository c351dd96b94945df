//! `Ssl`: a [`Connection`] over a BIO ([`Transport`] moves the bytes), with `SSL_connect()`'s
//! contract: when to send, when to wait, and how each outcome maps to `SSL_get_error()`.

use crate::config::{ClientConfig, FinalFlight};
use crate::connection::{Connection, EarlyDataStatus, MAX_OUTPUT, Negotiated, Sink, fill_once};
use crate::error::{Error, ErrorKind};
use crate::session::Session;
use crate::transport::Transport;
use overture_bio::{Bio, SocketBio};
use overture_types::{CertificateDer, ServerName, UnixTime};

/// Counters a caller (or a test) can read: how often the connection had to wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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

/// One TLS client connection over a BIO: the counterpart of OpenSSL's `SSL` object.
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
    conn: Connection,
    transport: Option<Transport>,
    last_error: Option<ErrorKind>,
    stats: Stats,
    /// The socket had Nagle on when it was given: TCP_NODELAY is switched on for the final
    /// flight and the first application write, then off again.
    nagle: bool,
    /// TCP_NODELAY is on for now and must be switched off after the first write.
    nodelay_to_restore: bool,
    /// `shutdown()` has reported our close_notify as sent.
    close_reported: bool,
}

impl core::fmt::Debug for Ssl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ssl")
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

impl Ssl {
    /// A new connection to `server_name` (a DNS name or an IP address), not yet connected.
    pub fn new(config: &ClientConfig, server_name: &str) -> Result<Self, Error> {
        Ok(Self {
            conn: Connection::new(config, server_name)?,
            transport: None,
            last_error: None,
            stats: Stats::default(),
            nagle: false,
            nodelay_to_restore: false,
            close_reported: false,
        })
    }

    /// Sets the transport (`SSL_set_bio`). Any BIO works: a socket (blocking or not), a BIO pair
    /// end, a memory BIO, or any `Read + Write` through `overture::bio::IoBio`.
    pub fn set_bio(&mut self, bio: Box<dyn Bio + Send>) {
        self.transport = Some(Transport::Other(bio));
        self.nagle = false;
    }

    /// Sets a socket as the transport after applying the config's TCP_NODELAY policy.
    pub fn set_socket(&mut self, socket: SocketBio) -> Result<(), Error> {
        if self.config().tcp_nodelay() && socket.as_tcp().is_some() {
            socket
                .set_tcp_nodelay(true)
                .map_err(|e| Error::io(&e, "setting TCP_NODELAY"))?;
        }
        // Read back from the kernel: a socket the caller configured counts as it really is.
        // (A Unix-domain socket has no Nagle: `tcp_nodelay` fails there.)
        self.nagle = socket.as_tcp().is_some() && socket.tcp_nodelay().is_ok_and(|on| !on);
        self.transport = Some(Transport::Socket(socket));
        Ok(())
    }

    /// The BIO, to inspect it (e.g. a pair end's pending bytes).
    pub fn bio_mut(&mut self) -> Option<&mut (dyn Bio + Send + 'static)> {
        self.transport.as_mut().map(Transport::bio)
    }

    /// The protocol engine under this `Ssl`.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs the handshake (`SSL_connect()`).
    ///
    /// Over a blocking BIO it returns only when the handshake has finished or failed, or the
    /// socket's receive timeout (`SO_RCVTIMEO`) passed: then [`ErrorKind::WantRead`] (with
    /// [`Error::io_kind`] `TimedOut`), and calling again continues, as with OpenSSL. Over a
    /// non-blocking BIO (or a BIO pair) it also returns [`ErrorKind::WantRead`] or
    /// [`ErrorKind::WantWrite`]: make the BIO ready (poll the socket, pump the pair) and call
    /// again; it continues where it stopped, without re-sending or losing a byte. After success
    /// another call returns `Ok` at once; after a fatal error it returns the same error.
    ///
    /// `Ok` means our whole final flight is on the wire (handed to the BIO), as with OpenSSL —
    /// unless the config chose [`FinalFlight::Hold`]. A close_notify from the peer during the
    /// handshake gives [`ErrorKind::ZeroReturn`]; a fatal alert from the peer gives
    /// [`ErrorKind::Ssl`] naming it ([`Error::alert_received`]); an error we detect sends our
    /// alert first and names it ([`Error::alert_sent`]); the transport closing before the
    /// handshake completes is [`ErrorKind::Ssl`] with `io_kind` `UnexpectedEof` (OpenSSL 3's
    /// "unexpected eof while reading").
    pub fn connect(&mut self) -> Result<Negotiated, Error> {
        let r = self.handshake();
        let r = r.and_then(|()| {
            self.conn
                .negotiated()
                .cloned()
                .ok_or_else(|| Error::usage("no handshake"))
        });
        self.note(r)
    }

    /// Drives the handshake until it is complete and our flights are out (or held).
    fn handshake(&mut self) -> Result<(), Error> {
        if self.transport.is_none() {
            return Err(Error::usage("no BIO set: call set_bio() before connect()"));
        }
        if !self.conn.is_started() {
            let r = self.conn.start(UnixTime::now());
            self.on_error(r)?;
        }
        loop {
            let r = self.conn.process(UnixTime::now());
            self.on_error(r)?;
            if self.conn.is_established() {
                if self.config().final_flight() == FinalFlight::Hold && self.conn.flight_pending() {
                    return Ok(());
                }
                let auto = self.config().final_flight() == FinalFlight::Auto;
                if auto && self.nagle && self.conn.flight_pending() && !self.nodelay_to_restore {
                    self.set_nodelay(true)?;
                    self.nodelay_to_restore = true;
                }
                return self.send();
            }
            // Our flight leaves before we wait for the server.
            self.send()?;
            if self.conn.peer_closed() {
                return Err(Error::new(
                    ErrorKind::ZeroReturn,
                    "the server sent close_notify during the handshake",
                ));
            }
            self.recv(&mut Sink::copy(&mut []))?;
        }
    }

    /// Reads decrypted application data (`SSL_read()`), running the handshake first if needed.
    /// Returns at least one byte, or an error: [`ErrorKind::ZeroReturn`] once the peer has
    /// sent close_notify, [`ErrorKind::WantRead`] on a non-blocking BIO with nothing yet,
    /// [`ErrorKind::WantWrite`] while our handshake flight (or a full output queue) waits for
    /// the BIO — the server cannot answer before it has it.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let r = self.read_inner(&mut Sink::copy(buf));
        self.note(r)
    }

    /// `SSL_read()` without the copy (an Overture addition, not an OpenSSL call): the
    /// decrypted application data is **lent** to `take` where the record was opened — in the
    /// BIO's own buffer when the BIO lends it ([`Bio::read_in_place`], e.g. a
    /// [`BioPair`](crate::bio::BioPair) end), else in the connection's input buffer — instead
    /// of copied into a buffer of the caller's. `take` gets the plaintext of one record (or of
    /// what an earlier call left buffered), never empty, and returns how many bytes from its
    /// start it used; what it leaves is kept for the next `read` or `read_in_place` (one copy,
    /// of that rest only). Returns what `take` returned (at most the slice's length).
    ///
    /// Everything else is [`Ssl::read`]'s, by the same code: the handshake runs first if
    /// needed; errors ([`ErrorKind::ZeroReturn`] after close_notify, `WantRead` / `WantWrite`,
    /// a fatal alert, an unexpected end of file) come back as from `read`, and `take` is then
    /// not called; KeyUpdates and tickets are handled on the way.
    ///
    /// ```no_run
    /// # fn demo(ssl: &mut overture::Ssl, out: &mut Vec<u8>) -> Result<(), overture::Error> {
    /// // Hash, parse or forward the plaintext where it lies:
    /// let used = ssl.read_in_place(|plaintext| {
    ///     out.extend_from_slice(plaintext);
    ///     plaintext.len()
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn read_in_place(&mut self, take: impl FnOnce(&[u8]) -> usize) -> Result<usize, Error> {
        let mut take = Some(take);
        let mut lend = |p: &[u8]| take.take().map_or(0, |f| f(p));
        let r = self.read_inner(&mut Sink::lend(&mut lend));
        self.note(r)
    }

    /// `SSL_read`'s loop, the plaintext going into `sink` (copied by [`Ssl::read`], lent by
    /// [`Ssl::read_in_place`]); returns how many bytes the caller took.
    fn read_inner(&mut self, sink: &mut Sink<'_>) -> Result<usize, Error> {
        if !self.conn.is_established() {
            self.handshake()?;
        }
        // One clock reading per call (it dates post-handshake messages only; a read is short).
        let now = UnixTime::now();
        loop {
            if sink.wants() && self.conn.plaintext_pending() > 0 {
                // Plaintext left by an earlier call comes first (as `SSL_read` returns a
                // record's rest before it looks at the next record, which may be bad).
                let r = self.conn.read_to(sink);
                self.on_error(r)?;
                return Ok(sink.taken().unwrap_or(0));
            }
            let r = self.conn.process_to(now, sink);
            self.on_error(r)?;
            if let Some(n) = sink.taken() {
                return Ok(n);
            }
            if !sink.wants() || !self.conn.read_would_block() {
                // A failure found here (the transport's end) may have queued our alert.
                let r = self.conn.read_to(sink);
                self.on_error(r)?;
                return Ok(sink.taken().unwrap_or(0));
            }
            // Post-handshake answers (a KeyUpdate) go out as soon as the BIO takes them; what
            // must be sent first (our flight, a full queue) makes the call want write.
            match self.send() {
                Ok(()) => self.restore_nodelay()?,
                Err(e) if e.kind() == ErrorKind::WantWrite && !self.must_send_first() => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.recv_at(now, sink) {
                if e.kind() == ErrorKind::WantRead {
                    // Idle until the peer sends more: hold no empty record buffer.
                    self.conn.release_buffers();
                }
                return Err(e);
            }
            if let Some(n) = sink.taken() {
                return Ok(n);
            }
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

    /// What every application write does first: the handshake if needed, then send what was
    /// queued before — except a held final flight, which leaves together with this first
    /// record in one transport write.
    fn begin_write(&mut self) -> Result<(), Error> {
        if !self.conn.is_established() {
            self.handshake()?;
        }
        let held = self.config().final_flight() == FinalFlight::Hold && self.conn.flight_pending();
        if !held {
            self.send()?;
        }
        Ok(())
    }

    /// What every application write does last: hand the new records to the BIO (what it does
    /// not take stays queued: not an error), then give Nagle back if the final flight took it.
    fn end_write(&mut self, n: usize) -> Result<usize, Error> {
        match self.send() {
            Ok(()) => self.restore_nodelay()?,
            Err(e) if e.kind() == ErrorKind::WantWrite => {}
            Err(e) => return Err(e),
        }
        Ok(n)
    }

    fn write_inner(&mut self, data: &[u8]) -> Result<usize, Error> {
        self.begin_write()?;
        let lent = match self.transport.as_mut() {
            Some(t) => t.write_in_place(&mut self.conn, data, &mut self.stats.writes),
            None => Ok(None),
        };
        let n = match self.on_error(lent)? {
            // What did not fit in the BIO's room is queued, as a write through the queue
            // would take it: the call takes as much as ever (all, up to `MAX_OUTPUT`).
            Some(n) => match data.get(n..data.len().min(MAX_OUTPUT)) {
                Some(rest) if !rest.is_empty() => n + self.conn.write(rest)?,
                _ => n,
            },
            None => self.conn.write(data)?,
        };
        self.end_write(n)
    }

    /// `SSL_write()` of one record without the copy from a buffer of the caller's (an Overture
    /// addition, not an OpenSSL call): `fill` gets the record's plaintext room — `max` bytes,
    /// at most [`Connection::record_room`] (16 KiB), of unspecified content — in the BIO's own
    /// buffer when the BIO lends it ([`Bio::write_in_place`], e.g. a
    /// [`BioPair`](crate::bio::BioPair) end) and nothing is queued, else in the output queue;
    /// it writes its plaintext from the start and returns how many bytes it wrote, and the
    /// record is sealed in place there and sent. Returns that count (`Ok(0)` when `fill`
    /// wrote nothing or `max` is 0: nothing is sent).
    ///
    /// It moves the copy, it does not remove it: an application whose data already sits in a
    /// buffer copies it in `fill` — the same work as [`Ssl::write`]; one that produces its
    /// data (serializes a message, frames a stream, reads a file) writes it once, straight
    /// into the record. Everything else is `write`'s: the handshake runs first if needed, the
    /// same errors (`fill` is then not called), a KeyUpdate when the key's limit is near.
    ///
    /// ```no_run
    /// # fn demo(ssl: &mut overture::Ssl) -> Result<(), overture::Error> {
    /// use std::io::Write as _;
    /// // Format a request straight into the record.
    /// let n = ssl.write_with(512, |mut room| {
    ///     let len = room.len();
    ///     write!(room, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").map_or(0, |()| len - room.len())
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn write_with(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, Error> {
        let r = self.write_with_inner(max, &mut fill_once(fill));
        self.note(r)
    }

    fn write_with_inner(
        &mut self,
        max: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Result<usize, Error> {
        self.begin_write()?;
        // In the BIO's own room when it lends one and nothing is queued.
        let lent = match self.transport.as_mut() {
            Some(t) => {
                let want = self.conn.sealed_len(max.min(self.conn.record_room()));
                t.seal_in_place(
                    &mut self.conn,
                    want,
                    &mut self.stats.writes,
                    &mut |c, room| c.write_with_to(max, Some(room), fill),
                )
            }
            None => Ok(None),
        };
        let in_place = self.on_error(lent)?;
        let n = match in_place {
            Some(n) => n,
            None => self.conn.write_with_to(max, None, fill).map(|(n, _)| n)?,
        };
        self.end_write(n)
    }

    /// Writes TLS 1.3 0-RTT early data (`SSL_write_early_data()`): before or instead of
    /// [`Ssl::connect`], with a session being resumed whose server allows early data and the
    /// config's [`with_early_data`](crate::ConfigBuilder::with_early_data) on. The first call
    /// starts the handshake: the ClientHello and the early data leave in one transport write
    /// when the BIO takes both. Returns how many bytes of `data` were taken (what fits in the
    /// ticket's `max_early_data_size`, at most [`crate::MAX_EARLY_DATA`] over all calls);
    /// they are sealed and handed to the BIO, and any it could not take yet stay queued and
    /// leave with the next call (`connect`, `write_early_data`, `flush`...).
    ///
    /// Then call [`Ssl::connect`] (or `read`/`write`) to finish the handshake, and
    /// [`Ssl::early_data_status`] to learn whether the server read the early data:
    /// [`EarlyDataStatus::Accepted`], or [`EarlyDataStatus::Rejected`] — reported, or resent
    /// after the handshake, as [`crate::EarlyDataRejected`] chose.
    ///
    /// Errors: [`ErrorKind::Usage`] when early data is not possible (not enabled, no ticket
    /// allowing it — check [`Ssl::early_data_status`] after the first call: `NotSent` — the
    /// server already answered, or the limit is used up); [`ErrorKind::WantWrite`] when the
    /// output queue is full and the BIO takes nothing now (call again once it is writable).
    /// It never waits for the server: it does not read the BIO.
    ///
    /// **Replay risk**: the server may process early data more than once (an attacker can
    /// replay it); send only requests that are safe to repeat.
    ///
    /// ```no_run
    /// use overture::{ClientConfig, EarlyDataStatus, ErrorKind, Ssl};
    /// use overture::bio::SocketBio;
    ///
    /// let config = ClientConfig::builder().with_ca_file("ca.pem")?.with_early_data(true).build()?;
    /// let request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    /// for _ in 0..2 {
    ///     // The first connection brings a ticket (into the config's session store); the
    ///     // second resumes with it and sends the request as 0-RTT data.
    ///     let mut ssl = Ssl::new(&config, "localhost")?;
    ///     ssl.set_socket(SocketBio::connect("127.0.0.1:4433")?)?;
    ///     let early = match ssl.write_early_data(request) {
    ///         Ok(n) => n,
    ///         Err(e) if e.kind() == ErrorKind::Usage => 0, // no ticket allowing it
    ///         Err(e) => return Err(e.into()),
    ///     };
    ///     ssl.connect()?;
    ///     if ssl.early_data_status() != EarlyDataStatus::Accepted {
    ///         // Not sent or rejected (the server read none of it): send it now.
    ///         ssl.write(request)?;
    ///     } else if early < request.len() {
    ///         ssl.write(&request[early..])?;
    ///     }
    ///     let mut reply = [0u8; 4096];
    ///     let n = ssl.read(&mut reply)?; // also takes in the server's tickets
    ///     let _ = ssl.shutdown();
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Error> {
        let r = self.write_early_inner(data);
        self.note(r)
    }

    fn write_early_inner(&mut self, data: &[u8]) -> Result<usize, Error> {
        if self.transport.is_none() {
            return Err(no_bio());
        }
        if !self.conn.is_started() {
            let r = self.conn.start(UnixTime::now());
            self.on_error(r)?;
        }
        if self.conn.output_full() {
            self.send()?;
        }
        let n = self.conn.write_early_data(data)?;
        match self.send() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::WantWrite => {}
            Err(e) => return Err(e),
        }
        Ok(n)
    }

    /// Whether 0-RTT early data was offered and what the server made of it
    /// (`SSL_get_early_data_status()`); final once [`Ssl::connect`] returned `Ok`.
    pub fn early_data_status(&self) -> EarlyDataStatus {
        self.conn.early_data_status()
    }

    /// Whether the server accepted our early data.
    pub fn early_data_accepted(&self) -> bool {
        self.conn.early_data_accepted()
    }

    /// Hands every queued byte to the BIO and flushes it.
    pub fn flush(&mut self) -> Result<(), Error> {
        let r = self.send();
        self.note(r)
    }

    /// Sends close_notify (`SSL_shutdown()`): the first call queues ours and returns
    /// [`ShutdownState::Sent`] once the BIO took it (or `Complete` if the peer's already came;
    /// over a non-blocking BIO it may first want write, and the retry reports `Sent`); calling
    /// again waits for the peer's and returns [`ShutdownState::Complete`]. Application data
    /// that arrives meanwhile is discarded, as OpenSSL does.
    pub fn shutdown(&mut self) -> Result<ShutdownState, Error> {
        let r = self.shutdown_inner();
        self.note(r)
    }

    fn shutdown_inner(&mut self) -> Result<ShutdownState, Error> {
        if self.transport.is_none() {
            return Err(Error::usage("no BIO set"));
        }
        if !self.conn.close_queued() {
            if let Some(e) = self.conn.failure() {
                return Err(e.clone());
            }
            self.conn.send_close_notify();
        }
        self.send()?;
        if !self.close_reported {
            self.close_reported = true;
            if let Some(t) = self.transport.as_mut() {
                let _ = t.bio().shutdown_write();
            }
            if !self.conn.peer_closed() {
                return Ok(ShutdownState::Sent);
            }
        }
        loop {
            let r = self.conn.process(UnixTime::now());
            self.on_error(r)?;
            if self.conn.peer_closed() {
                return Ok(ShutdownState::Complete);
            }
            if self.conn.received_eof() {
                return Err(self
                    .conn
                    .unexpected_eof("the peer closed without close_notify"));
            }
            self.recv(&mut Sink::copy(&mut []))?;
        }
    }

    /// Offers `session` for resumption at the next `connect()` (`SSL_set_session`), instead of
    /// one from the config's session store. Call it before `connect()`. If the server declines
    /// (or the session does not fit the config), the handshake is a full one.
    pub fn set_session(&mut self, session: &Session) {
        self.conn.set_session(session);
    }

    /// The newest resumable session the server gave this connection (`SSL_get1_session`).
    ///
    /// In TLS 1.2 it is there when `connect()` returns. **In TLS 1.3 the server sends its
    /// tickets after the handshake**: they are processed by the first `read()` (or `write()`
    /// that reads) after `connect()`, so right after `connect()` this is usually `None` — see
    /// [`Ssl::session_ready`]. Sessions also go to the config's session store as they arrive.
    pub fn session(&self) -> Option<Session> {
        self.conn.session().cloned()
    }

    /// Whether the server has given this connection a resumable session yet.
    pub fn session_ready(&self) -> bool {
        self.conn.session().is_some()
    }

    /// Decrypted application bytes ready to read without touching the BIO (`SSL_pending()`).
    pub fn pending(&self) -> usize {
        self.conn.plaintext_pending()
    }

    /// The kind of the last error returned by any call (`SSL_get_error()`), or `None` if the
    /// last call succeeded.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.last_error
    }

    /// The fatal error the connection died of, if any.
    pub fn failure(&self) -> Option<&Error> {
        self.conn.failure()
    }

    /// Whether the handshake is complete.
    pub fn is_established(&self) -> bool {
        self.conn.is_established()
    }

    /// What the handshake negotiated; `None` until it is complete.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conn.negotiated()
    }

    /// The peer's certificates (end entity first), also available after a failed
    /// verification for inspection.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        self.conn.peer_certificates()
    }

    /// Keying material exported from the session (`SSL_export_keying_material`): RFC 8446
    /// §7.5 in TLS 1.3, RFC 5705 in TLS 1.2. Only once the handshake is complete.
    pub fn export_keying_material(
        &self,
        out: &mut [u8],
        label: &[u8],
        context: Option<&[u8]>,
    ) -> Result<(), Error> {
        self.conn.export_keying_material(out, label, context)
    }

    /// Wait counters.
    pub fn stats(&self) -> Stats {
        Stats {
            records_in: self.conn.records_in(),
            ..self.stats
        }
    }

    /// The server name this connection verifies (and sends as SNI unless it is an IP address).
    pub fn server_name(&self) -> &ServerName<'static> {
        self.conn.server_name()
    }

    // ---- moving bytes between the BIO and the connection -----------------------------------

    fn config(&self) -> &ClientConfig {
        self.conn.config()
    }

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

    /// After a fatal error of the connection, tries once to send the alert it queued.
    fn on_error<T>(&mut self, r: Result<T, Error>) -> Result<T, Error> {
        if r.is_err() {
            let _ = self.send();
        }
        r
    }

    /// Hands every queued byte to the BIO (see [`Transport::send`]).
    fn send(&mut self) -> Result<(), Error> {
        let t = self.transport.as_mut().ok_or_else(no_bio)?;
        t.send(&mut self.conn, &mut self.stats.writes)
    }

    /// Reads the BIO once into the connection (see [`Transport::recv`]; records the BIO lends
    /// are processed now, their application data into `sink`). A fatal error found in them
    /// sends its alert, as after [`Connection::process`].
    fn recv(&mut self, sink: &mut Sink<'_>) -> Result<(), Error> {
        self.recv_at(UnixTime::now(), sink)
    }

    /// [`Ssl::recv`] at a time the caller read.
    fn recv_at(&mut self, now: UnixTime, sink: &mut Sink<'_>) -> Result<(), Error> {
        let t = self.transport.as_mut().ok_or_else(no_bio)?;
        let r = t.recv(&mut self.conn, now, sink);
        if r.is_err() && self.conn.failure().is_some() {
            let _ = self.send();
        }
        r
    }

    fn set_nodelay(&mut self, on: bool) -> Result<(), Error> {
        match &self.transport {
            Some(t) => t.set_nodelay(on),
            None => Ok(()),
        }
    }

    /// Whether queued output must leave before we wait for the peer: our handshake flight
    /// (the server waits for it), or a queue over its bound (no input is taken until it drains).
    fn must_send_first(&self) -> bool {
        self.conn.flight_pending() || self.conn.output_full()
    }

    /// Switches Nagle back on once the final flight and the first write are out.
    fn restore_nodelay(&mut self) -> Result<(), Error> {
        if std::mem::take(&mut self.nodelay_to_restore) {
            self.set_nodelay(false)?;
        }
        Ok(())
    }
}

fn no_bio() -> Error {
    Error::usage("no BIO set")
}

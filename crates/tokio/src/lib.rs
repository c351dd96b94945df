//! `overture-tokio`: Overture as a tokio `AsyncRead + AsyncWrite` stream.
//!
//! A [`TlsConnector`] is made from a shared [`ClientConfig`]; [`TlsConnector::connect`] runs the
//! handshake over any `AsyncRead + AsyncWrite + Unpin` transport (a `TcpStream`, a
//! `tokio::io::duplex` half, a proxy tunnel) and gives a [`TlsStream`], itself
//! `AsyncRead + AsyncWrite`. Underneath is the sans-IO [`Connection`]: this crate only moves
//! bytes between it and the transport, the way [`overture::StreamOwned`] does for blocking
//! `Read + Write`. No thread, no `block_on`, no `unsafe`.
//!
//! ```text
//!  app ── poll_write(buf) ──► Connection::write (seal) ──► output queue (≤ MAX_OUTPUT) ─┐
//!                                                                                       │
//!  transport ◄── poll_write(pending_output()) / consume_output(n) ◄────────────────────┘
//!      │           poll_flush / poll_shutdown (close_notify first)
//!      ▼
//!  poll_read(receive_buffer()) / received(n), EOF ─► feed_eof
//!      │
//!      ▼
//!  Connection::process_into(now, buf) ── records ──► plaintext (≤ MAX_PLAINTEXT)
//!      │                                                  │
//!      └── handshake flights, KeyUpdate answers, alerts   ▼
//!          queued for the transport               app ◄── poll_read(buf)
//! ```
//!
//! ## From tokio-rustls and tokio-openssl
//!
//! | tokio-rustls                             | tokio-openssl                           | here                                     |
//! |------------------------------------------|-----------------------------------------|------------------------------------------|
//! | `TlsConnector::from(Arc<ClientConfig>)`  | `Ssl::new(&ctx)` + `SslStream::new`     | `TlsConnector::from(ClientConfig)` (or `Arc<ClientConfig>`) |
//! | `connector.connect(ServerName, io).await`| `Pin::new(&mut s).connect().await`      | `connector.connect("name", io).await`    |
//! | `client::TlsStream<IO>`                  | `SslStream<S>`                          | [`TlsStream<IO>`]                        |
//! | `stream.get_ref() -> (&IO, &ClientConnection)` | `stream.ssl()`, `stream.get_ref()` | [`TlsStream::get_ref`] `-> (&IO, &Connection)` |
//! | `conn.alpn_protocol()`                   | `ssl.selected_alpn_protocol()`          | [`TlsStream::negotiated`]`.alpn()`       |
//! | `stream.into_inner()`                    | —                                       | [`TlsStream::into_inner`]                |
//! | `poll_shutdown`: close_notify, then the transport's shutdown | `SSL_shutdown`, then the transport's | the same |
//! | `connector.early_data(true)`, then `poll_write` before the handshake | `write_early_data` | [`TlsConnector::connect_with_early_data`]`(name, io, data, f)`, [`TlsStream::early_data_status`], [`TlsStream::early_data_sent`] |
//!
//! Server names are `&str` (a DNS name or an IP address), checked when the connection is made;
//! the verifier, ALPN, session resumption, key log and versions come from the [`ClientConfig`]
//! (a resumable session from an earlier connection is offered automatically through the
//! config's session store, as rustls's resumption does).
//!
//! ## Ends of the stream
//!
//! - The peer's close_notify reads as a clean end of file (`Ok(())` with nothing filled).
//! - The transport ending without close_notify is an error of kind
//!   [`io::ErrorKind::UnexpectedEof`] (a truncation attack looks exactly like that), during the
//!   handshake and after it.
//! - `AsyncWriteExt::shutdown` (`poll_shutdown`) sends our close_notify,
//!   flushes it, then shuts the transport's write side. After it, application data from the
//!   peer is discarded (as OpenSSL does while `SSL_shutdown` waits for the peer's close_notify),
//!   so a peer that keeps sending cannot grow our buffers; its close_notify still reads as EOF.
//!
//! ## Cancel safety
//!
//! All state lives in the [`TlsStream`] (and in the [`Connect`] future until it completes);
//! a future that polls it holds nothing of its own, so dropping it at any `.await` loses
//! nothing:
//!
//! - `read` / `read_buf` (`AsyncReadExt`) are **cancel-safe**: a
//!   record received but not yet returned stays buffered in the connection (whole or in part)
//!   and is returned by the next read.
//! - `write` / `write_vectored` are **cancel-safe**: when they pend, nothing of the buffer was
//!   taken; when they return `Ok(n)`, `n` bytes are sealed and will be sent by a later
//!   `flush`, `write` or `shutdown`.
//! - `flush` and `shutdown` are cancel-safe in the same sense: what was sent stays sent, the
//!   rest stays queued, and calling them again continues.
//! - `write_all`, `read_exact` and friends are *not* cancel-safe, as for any tokio stream:
//!   how much of the buffer went is lost with the future.
//! - Dropping the [`Connect`] future aborts the handshake and drops the transport (nothing is
//!   stored in the session store by a handshake that did not complete); it never panics and
//!   leaves the connector usable.
//!
//! ## Back-pressure
//!
//! A write seals into the connection's output queue and hands it to the transport at once;
//! while [`MAX_WRITE_BACKLOG`] bytes wait there, `poll_write` takes nothing and pends until
//! the transport takes some, so a peer that does not read makes writes pend instead of growing
//! a buffer. Reading is bounded by [`overture::MAX_PLAINTEXT`], and a read never waits for the
//! write side, so two peers writing to each other (an echo) cannot deadlock.
//!
//! ## 0-RTT early data
//!
//! [`TlsConnector::connect_with_early_data`] names the bytes to send as TLS 1.3 early data: they
//! are sealed with [`Connection::write_early_data`] right behind the ClientHello (when the
//! config enables early data and the resumed ticket allows it), so the request travels in the
//! first flight. Early data **can be replayed** by an attacker: only idempotent requests.
//! Unlike tokio-rustls's `early_data(true)` flag, no ordinary `write` ever becomes early data
//! by timing: what may be replayed is exactly what the call names. Afterwards
//! [`TlsStream::early_data_sent`] says how much of it reached the server (accepted, or rejected
//! and resent under [`EarlyDataRejected::Resend`]; 0 when rejected under the default
//! [`EarlyDataRejected::Report`]): write the rest.
//!
//! ```no_run
//! use overture::ClientConfig;
//! use overture_tokio::TlsConnector;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::TcpStream;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::builder().with_system_roots()?.with_early_data(true).build()?;
//! let connector = TlsConnector::from(config);
//! let request = b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"; // safe to replay
//! for _ in 0..2 {
//!     // The first connection gets a ticket; the second sends the request as early data.
//!     let tcp = TcpStream::connect("example.com:443").await?;
//!     let mut tls = connector
//!         .connect_with_early_data("example.com", tcp, request, |_| ())
//!         .await?;
//!     let sent = tls.early_data_sent();
//!     tls.write_all(&request[sent..]).await?;
//!     let mut reply = Vec::new();
//!     tls.read_to_end(&mut reply).await?;
//!     println!("{:?}: {} bytes", tls.early_data_status(), reply.len());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Example
//!
//! ```no_run
//! use overture::ClientConfig;
//! use overture_tokio::TlsConnector;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tokio::net::TcpStream;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::builder().with_system_roots()?.build()?;
//! let connector = TlsConnector::from(config);
//! let tcp = TcpStream::connect("example.com:443").await?;
//! let mut tls = connector.connect("example.com", tcp).await?;
//! tls.write_all(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n").await?;
//! let mut reply = Vec::new();
//! tls.read_to_end(&mut reply).await?;
//! tls.shutdown().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use overture::types::UnixTime;
use overture::{
    ClientConfig, Connection, EarlyDataRejected, EarlyDataStatus, Error, ErrorKind, Negotiated,
    Session,
};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The largest plaintext one TLS record carries: a vectored write gathers up to this much
/// into one record instead of sealing each slice on its own.
const MAX_RECORD_PLAINTEXT: usize = 16 * 1024;

/// How many sealed bytes a [`TlsStream`] lets wait for the transport before its writes pend
/// (the back-pressure bound; the connection's own queue bound, [`overture::MAX_OUTPUT`], is
/// kept for what the peer makes us send). It stays well under that bound because a connection
/// whose queue is full takes no input: two peers that write to each other without reading
/// (an echo) would deadlock if our own writes could fill it.
pub const MAX_WRITE_BACKLOG: usize = 64 * 1024;

/// Makes TLS client connections over async transports from one shared [`ClientConfig`].
/// Cheap to clone (the config is shared).
#[derive(Clone, Debug)]
pub struct TlsConnector {
    config: ClientConfig,
}

impl From<ClientConfig> for TlsConnector {
    fn from(config: ClientConfig) -> Self {
        Self { config }
    }
}

impl From<Arc<ClientConfig>> for TlsConnector {
    fn from(config: Arc<ClientConfig>) -> Self {
        Self {
            config: ClientConfig::clone(&config),
        }
    }
}

impl TlsConnector {
    /// The config connections are made with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Runs the handshake with `server_name` (a DNS name or an IP address) over `io`. The
    /// future completes when the handshake is complete and our last flight is flushed to
    /// `io`. Dropping it aborts the handshake (see the crate docs on cancel safety).
    pub fn connect<IO>(&self, server_name: &str, io: IO) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.connect_with(server_name, io, |_| ())
    }

    /// [`TlsConnector::connect`], with `f` given the [`Connection`] before the handshake
    /// starts (e.g. to [`Connection::set_session`] by hand).
    pub fn connect_with<IO, F>(&self, server_name: &str, io: IO, f: F) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&mut Connection),
    {
        // No early data: nothing is written before the handshake.
        self.connect_with_early_data(server_name, io, &[], f)
    }

    /// [`TlsConnector::connect_with`], and 0-RTT: `early_data` is sealed as TLS 1.3 early data
    /// right behind the ClientHello ([`Connection::write_early_data`]) and goes out with it,
    /// before the handshake — when the config enables it
    /// ([`overture::ConfigBuilder::with_early_data`]) and the session being resumed (from the
    /// config's session store, or set by `f`) allows it; at most the ticket's
    /// `max_early_data_size` ([`overture::MAX_EARLY_DATA`] at most) is taken. Otherwise
    /// nothing is sent early and the handshake is the ordinary one.
    ///
    /// Once connected, [`TlsStream::early_data_status`] says what the server made of it, and
    /// [`TlsStream::early_data_sent`] how many bytes of `early_data` reach the server on this
    /// connection: write `early_data[sent..]` as ordinary data to deliver all of it. That is
    /// what the server accepted, or, rejected, what the connection resent after the handshake
    /// ([`EarlyDataRejected::Resend`]); with [`EarlyDataRejected::Report`] (the default) a
    /// rejection sends nothing more and `sent` is 0: the application decides, knowing what the
    /// handshake negotiated (e.g. another ALPN protocol).
    ///
    /// **Replay risk**: an attacker who records the ClientHello can replay early data to the
    /// server, which may process it more than once. Send only requests that are safe to repeat
    /// (an idempotent GET), never a payment or a state change.
    pub fn connect_with_early_data<IO, F>(
        &self,
        server_name: &str,
        io: IO,
        early_data: &[u8],
        f: F,
    ) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
        F: FnOnce(&mut Connection),
    {
        let state = Connection::new(&self.config, server_name).and_then(|mut conn| {
            f(&mut conn);
            conn.start(UnixTime::now())?;
            if conn.early_data_status() == EarlyDataStatus::Offered {
                write_early(&mut conn, early_data)?;
            }
            let mut stream = TlsStream::new(conn, io);
            stream.resend_early = self.config.early_data_rejected() == EarlyDataRejected::Resend;
            Ok(stream)
        });
        Connect(Some(state.map_err(io::Error::from)))
    }

    /// [`TlsConnector::connect`] offering `session` for resumption (instead of one from the
    /// config's session store).
    pub fn connect_resuming<IO>(&self, server_name: &str, io: IO, session: &Session) -> Connect<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        self.connect_with(server_name, io, |conn| conn.set_session(session))
    }
}

/// Seals as much of `data` as the ticket allows as early data (the output queue holds only the
/// ClientHello, so it has room; the ticket's limit stops the loop).
fn write_early(conn: &mut Connection, data: &[u8]) -> Result<(), Error> {
    let mut rest = data;
    while !rest.is_empty() && conn.early_data_room() > 0 {
        match conn.write_early_data(rest) {
            Ok(0) => break,
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::WantWrite => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The handshake in progress: resolves to the [`TlsStream`] once it is complete. Dropping it
/// drops the transport.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Connect<IO>(Option<io::Result<TlsStream<IO>>>);

impl<IO> Connect<IO> {
    /// The transport, while the handshake runs (e.g. to read its peer address).
    pub fn get_ref(&self) -> Option<&IO> {
        match &self.0 {
            Some(Ok(s)) => Some(&s.io),
            _ => None,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Future for Connect<IO> {
    type Output = io::Result<TlsStream<IO>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let stream = match this.0.as_mut() {
            Some(Ok(stream)) => stream,
            Some(Err(_)) => {
                return Poll::Ready(match this.0.take() {
                    Some(Err(e)) => Err(e),
                    _ => Err(polled_after_completion()),
                });
            }
            None => return Poll::Ready(Err(polled_after_completion())),
        };
        ready!(stream.poll_handshake(cx))?;
        match this.0.take() {
            Some(Ok(stream)) => Poll::Ready(Ok(stream)),
            _ => Poll::Ready(Err(polled_after_completion())),
        }
    }
}

fn polled_after_completion() -> io::Error {
    io::Error::other("the connect future was polled after it completed")
}

/// A TLS client connection over the async transport `IO`: `AsyncRead + AsyncWrite`.
#[derive(Debug)]
pub struct TlsStream<IO> {
    io: IO,
    conn: Connection,
    /// Reused by vectored writes to gather small slices into one record.
    gather: Vec<u8>,
    /// The config resends rejected early data ([`EarlyDataRejected::Resend`]).
    resend_early: bool,
}

impl<IO> TlsStream<IO> {
    fn new(conn: Connection, io: IO) -> Self {
        Self {
            io,
            conn,
            gather: Vec::new(),
            resend_early: false,
        }
    }

    /// The transport and the connection.
    pub fn get_ref(&self) -> (&IO, &Connection) {
        (&self.io, &self.conn)
    }

    /// The transport and the connection, mutably. Bytes written to or read from the transport
    /// directly break the TLS stream.
    pub fn get_mut(&mut self) -> (&mut IO, &mut Connection) {
        (&mut self.io, &mut self.conn)
    }

    /// Unwraps the transport and the connection (output still queued in the connection is
    /// not sent).
    pub fn into_inner(self) -> (IO, Connection) {
        (self.io, self.conn)
    }

    /// What the handshake negotiated (version, cipher suite, ALPN, resumption, peer chain).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conn.negotiated()
    }

    /// Whether 0-RTT early data was offered ([`TlsConnector::connect_with_early_data`]) and
    /// what the server made of it (`SSL_get_early_data_status`; also
    /// [`Negotiated::early_data`]).
    pub fn early_data_status(&self) -> EarlyDataStatus {
        self.conn.early_data_status()
    }

    /// How many bytes of the early data given to
    /// [`TlsConnector::connect_with_early_data`] reach the server on this connection: all that
    /// was written early when the server accepted it, or when it rejected it and the config
    /// resends ([`EarlyDataRejected::Resend`]); 0 when it was rejected and only reported
    /// ([`EarlyDataRejected::Report`]) or never offered. Write the rest as ordinary data.
    pub fn early_data_sent(&self) -> usize {
        match self.conn.early_data_status() {
            EarlyDataStatus::Accepted => self.conn.early_data_written(),
            EarlyDataStatus::Rejected if self.resend_early => self.conn.early_data_written(),
            _ => 0,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// Hands every queued byte to the transport (without flushing it). Pending while the
    /// transport takes no more; a transport that takes nothing is `WriteZero`.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, self.conn.pending_output()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.consume_output(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Sends everything queued and flushes the transport.
    fn poll_send_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Reads the transport once into the connection (end of file included); `false` when the
    /// connection takes no input now and nothing waits to be sent (after a failure, the peer's
    /// close_notify or end of file: `process` and `read` say which). Queued output is sent
    /// first as far as the transport takes it (the peer may be waiting for it), but a read
    /// never waits on the write side unless the output queue is full, so two peers writing to
    /// each other cannot deadlock.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.conn.wants_write() {
            if let Poll::Ready(Err(e)) = self.poll_send_flush(cx) {
                return Poll::Ready(Err(e));
            }
            if self.conn.output_full() {
                // No input is processed until the queue drains: the write side's waker is set.
                return Poll::Pending;
            }
        }
        let spare = self.conn.receive_buffer();
        if spare.is_empty() {
            return Poll::Ready(Ok(false));
        }
        let mut buf = ReadBuf::new(spare);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        let n = buf.filled().len();
        if n == 0 {
            self.conn.feed_eof();
        }
        self.conn.received(n);
        Poll::Ready(Ok(true))
    }

    /// A fatal error of the connection: its alert (queued by the connection) is sent, as far
    /// as the transport takes it now, then the error is returned.
    fn fail(&mut self, cx: &mut Context<'_>, err: Error) -> Poll<io::Error> {
        if self.conn.failure().is_some() && self.conn.wants_write() {
            // Best effort: the error is what counts, not whether its alert left.
            ready!(self.poll_send_flush(cx)).ok();
        }
        Poll::Ready(err.into())
    }

    /// Drives the handshake until it is complete and our flights are flushed.
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Err(e) = self.conn.process(UnixTime::now()) {
                return self.fail(cx, e).map(Err);
            }
            ready!(self.poll_send_flush(cx))?;
            if self.conn.is_established() {
                return Poll::Ready(Ok(()));
            }
            if self.conn.peer_closed() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the server sent close_notify during the handshake",
                )));
            }
            if !ready!(self.poll_recv(cx))? {
                // No input possible: `process` has the reason.
                if let Err(e) = self.conn.process(UnixTime::now()) {
                    return self.fail(cx, e).map(Err);
                }
                return Poll::Ready(Err(stalled()));
            }
        }
    }
}

/// The connection takes no input and has nothing to say why (a bug, never a peer's doing).
fn stalled() -> io::Error {
    io::Error::other("the connection takes no input and reports no end")
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            // Records already received (e.g. right behind the server's Finished) come first.
            let out = buf.initialize_unfilled();
            let n = match this.conn.process_into(UnixTime::now(), out) {
                Ok(0) => this.conn.read(out),
                other => other,
            };
            match n {
                Ok(n) => {
                    buf.advance(n);
                    // Answers (a KeyUpdate) leave with the next transport write; try now.
                    if this.conn.wants_write() {
                        let _ = this.poll_send_flush(cx);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == ErrorKind::ZeroReturn => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == ErrorKind::WantRead => {
                    if !ready!(this.poll_recv(cx))? {
                        return Poll::Ready(Err(stalled()));
                    }
                }
                Err(e) => return this.fail(cx, e).map(Err),
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// Seals what of `data` fits under [`MAX_WRITE_BACKLOG`]; pends only when nothing was
    /// taken (the transport takes nothing and the backlog is full).
    fn poll_seal(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        if self.conn.pending_output().len() >= MAX_WRITE_BACKLOG {
            // Sends what the transport takes; pends only if it leaves the backlog full.
            if let Poll::Ready(Err(e)) = self.poll_send(cx) {
                return Poll::Ready(Err(e));
            }
            if self.conn.pending_output().len() >= MAX_WRITE_BACKLOG {
                return Poll::Pending;
            }
        }
        let room = MAX_WRITE_BACKLOG - self.conn.pending_output().len();
        let chunk = data.get(..data.len().min(room)).unwrap_or_default();
        match self.conn.write(chunk) {
            Ok(n) => {
                // Hand it to the transport now, as far as it takes it: `n` is ours anyway.
                if let Poll::Ready(Err(e)) = self.poll_send(cx) {
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(Ok(n))
            }
            // (No `WantWrite`: the chunk fits, the queue being under the backlog bound.)
            Err(e) => self.fail(cx, e).map(Err),
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_seal(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        let first = nonempty.next();
        match (first, nonempty.next()) {
            (None, _) => return Poll::Ready(Ok(0)),
            (Some(one), None) => return this.poll_seal(cx, one),
            _ => {}
        }
        // Several slices: gather up to one record's worth, seal it as one record.
        let mut gather = std::mem::take(&mut this.gather);
        gather.clear();
        for b in bufs {
            let room = MAX_RECORD_PLAINTEXT - gather.len();
            if room == 0 {
                break;
            }
            gather.extend_from_slice(b.get(..room.min(b.len())).unwrap_or_default());
        }
        let result = this.poll_seal(cx, &gather);
        this.gather = gather;
        result
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_send_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.conn.is_established() {
            this.conn.send_close_notify();
        }
        ready!(this.poll_send_flush(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

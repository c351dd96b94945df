//! `Stream`: `std::io::Read + Write` over an [`Ssl`]; `StreamOwned`: the same over a
//! [`Connection`] and any `Read + Write` transport.

use crate::{Connection, ErrorKind, Ssl};
use overture_types::UnixTime;
use std::io;

/// An [`Ssl`] as `std::io::Read + Write`. It connects on first use if needed; a close_notify
/// from the peer reads as end of file (`Ok(0)`); *want read/write* become
/// `io::ErrorKind::WouldBlock`.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use overture::{ClientConfig, Ssl, Stream};
/// use overture::bio::SocketBio;
///
/// let config = ClientConfig::builder().with_ca_file("ca.pem")?.build()?;
/// let mut ssl = Ssl::new(&config, "localhost")?;
/// ssl.set_socket(SocketBio::connect("127.0.0.1:4433")?)?;
/// let mut stream = Stream::new(ssl);
/// stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
/// let mut reply = Vec::new();
/// stream.read_to_end(&mut reply)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Stream {
    ssl: Ssl,
}

impl Stream {
    /// Wraps `ssl` (connected or not).
    pub fn new(ssl: Ssl) -> Self {
        Self { ssl }
    }

    /// The connection.
    pub fn ssl(&self) -> &Ssl {
        &self.ssl
    }

    /// The connection, mutably.
    pub fn ssl_mut(&mut self) -> &mut Ssl {
        &mut self.ssl
    }

    /// Unwraps the connection.
    pub fn into_inner(self) -> Ssl {
        self.ssl
    }
}

impl io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.ssl.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::ZeroReturn => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

impl io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.ssl.write(buf).map_err(Into::into)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.ssl.flush().map_err(Into::into)
    }
}

/// A [`Connection`] and the transport it runs over, owned together, as `std::io::Read +
/// Write` (rustls's `StreamOwned` shape): for a transport that is not a BIO — any blocking
/// `Read + Write` (a `TcpStream`, a TLS-in-TLS tunnel, a pipe). It starts and completes the
/// handshake on first use; a close_notify from the peer reads as end of file (`Ok(0)`); the
/// transport's own errors (e.g. `WouldBlock` from a non-blocking one) come back as they are
/// and the call can be repeated.
///
/// ```no_run
/// use std::io::{Read, Write};
/// use std::net::TcpStream;
/// use overture::{ClientConfig, Connection, StreamOwned};
///
/// let config = ClientConfig::builder().with_ca_file("ca.pem")?.build()?;
/// let conn = Connection::new(&config, "localhost")?;
/// let mut stream = StreamOwned::new(conn, TcpStream::connect("127.0.0.1:4433")?);
/// stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
/// let mut reply = Vec::new();
/// stream.read_to_end(&mut reply)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StreamOwned<T: io::Read + io::Write> {
    /// The connection.
    pub conn: Connection,
    /// The transport.
    pub sock: T,
}

impl<T: io::Read + io::Write> StreamOwned<T> {
    /// Wraps `conn` (started or not) and its transport.
    pub fn new(conn: Connection, sock: T) -> Self {
        Self { conn, sock }
    }

    /// Unwraps the connection and the transport.
    pub fn into_parts(self) -> (Connection, T) {
        (self.conn, self.sock)
    }

    /// Writes TLS 1.3 0-RTT early data before the handshake completes
    /// ([`Connection::write_early_data`]): starts the handshake, queues what the ticket
    /// allows behind the ClientHello and writes both to the transport; returns how many bytes
    /// of `data` were taken. The next `read` or `write` completes the handshake;
    /// `self.conn.early_data_status()` then says whether the server read it. Replay risk: see
    /// [`crate::ConfigBuilder::with_early_data`].
    pub fn write_early_data(&mut self, data: &[u8]) -> io::Result<usize> {
        self.conn.start(UnixTime::now())?;
        self.write_then_send(|conn| conn.write_early_data(data))
    }

    /// Runs `write` on the connection, sending queued output whenever its queue is full, then
    /// sends what it queued; returns how many bytes it took.
    fn write_then_send(
        &mut self,
        mut write: impl FnMut(&mut Connection) -> Result<usize, crate::Error>,
    ) -> io::Result<usize> {
        let n = loop {
            match write(&mut self.conn) {
                Err(e) if e.kind() == ErrorKind::WantWrite => self.send()?,
                other => break other?,
            }
        };
        self.send()?;
        Ok(n)
    }

    /// Writes all queued output to the transport.
    fn send(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        self.sock.flush()
    }

    /// Reads the transport once into the connection (end of file included).
    fn recv(&mut self) -> io::Result<()> {
        self.conn.read_tls(&mut self.sock).map(|_| ())
    }

    /// `read` without the copy: the plaintext of the next record is lent to `take` where it
    /// was opened, in the connection's input buffer ([`Connection::process_with`]; plaintext
    /// left buffered by an earlier call is lent first, where it lies). `take` returns how many
    /// bytes it used (the rest stays for the next call); returns that count, or `Ok(0)` at end
    /// of file (the peer's close_notify; `take` is not called). Over a socket the kernel's copy
    /// into the input buffer is then the only one. Errors, KeyUpdates and post-handshake
    /// messages as `read`.
    pub fn read_in_place(&mut self, take: impl FnOnce(&[u8]) -> usize) -> io::Result<usize> {
        self.complete_handshake()?;
        let mut take = Some(take);
        loop {
            let pending = self.conn.buffered_plaintext();
            if !pending.is_empty() {
                let n = take.take().map_or(0, |f| f(pending)).min(pending.len());
                self.conn.consume_plaintext(n);
                return Ok(n);
            }
            let lent = self
                .conn
                .process_with(UnixTime::now(), |p| take.take().map_or(0, |f| f(p)))?;
            if let Some(n) = lent {
                return Ok(n);
            }
            if self.conn.buffered_plaintext().is_empty() && !self.more_records()? {
                return Ok(0);
            }
        }
    }

    /// With no plaintext buffered: `false` at end of file (the peer's close_notify), an error
    /// when the connection failed or the transport ended, else our answers sent and the
    /// transport read once (`true`: process again).
    fn more_records(&mut self) -> io::Result<bool> {
        if !self.conn.read_would_block() {
            // Closed, failed or at the transport's end: `read`'s answer.
            return match self.conn.read(&mut [0]) {
                Err(e) if e.kind() == ErrorKind::ZeroReturn => Ok(false),
                Err(e) => Err(e.into()),
                Ok(_) => Ok(true),
            };
        }
        // Answers (a KeyUpdate) leave before we wait for the peer.
        self.send()?;
        self.recv()?;
        Ok(true)
    }

    /// Runs the handshake to completion (our flights sent).
    fn complete_handshake(&mut self) -> io::Result<()> {
        self.conn.start(UnixTime::now())?;
        loop {
            self.conn.process(UnixTime::now())?;
            self.send()?;
            if self.conn.is_established() {
                return Ok(());
            }
            if self.conn.peer_closed() {
                return Err(io::ErrorKind::ConnectionAborted.into());
            }
            self.recv()?;
        }
    }
}

impl<T: io::Read + io::Write> io::Read for StreamOwned<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.complete_handshake()?;
        loop {
            // Records already received (e.g. behind the server's Finished) come first.
            let n = self.conn.process_into(UnixTime::now(), buf)?;
            if n > 0 {
                return Ok(n);
            }
            match self.conn.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::ZeroReturn => return Ok(0),
                Err(e) if e.kind() == ErrorKind::WantRead => {
                    // Answers (a KeyUpdate) leave before we wait for the peer.
                    self.send()?;
                    self.recv()?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Lends the connection's buffered plaintext (`fill_buf`) instead of copying it out: the
/// records are opened in the connection's input buffer and their plaintext copied once, into
/// its plaintext buffer (the one copy `read` makes into the caller's buffer), from which
/// `fill_buf` lends it and `consume` takes it — no second copy for a caller that parses lines
/// or frames where they lie (`read_line`, `read_until`, `lines`). Empty once the peer has sent
/// close_notify (end of file); errors, KeyUpdates and post-handshake messages as `read`.
impl<T: io::Read + io::Write> io::BufRead for StreamOwned<T> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.complete_handshake()?;
        while self.conn.buffered_plaintext().is_empty() {
            self.conn.process(UnixTime::now())?;
            if self.conn.buffered_plaintext().is_empty() && !self.more_records()? {
                break;
            }
        }
        Ok(self.conn.buffered_plaintext())
    }

    fn consume(&mut self, amt: usize) {
        self.conn.consume_plaintext(amt);
    }
}

impl<T: io::Read + io::Write> io::Write for StreamOwned<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.complete_handshake()?;
        self.write_then_send(|conn| conn.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

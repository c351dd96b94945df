//! `Transport`: the one place that moves bytes between a BIO and a [`Connection`].

use crate::connection::{Connection, Sink};
use crate::error::{Error, ErrorKind};
use overture_bio::{Bio, SocketBio, Transfer};
use overture_types::UnixTime;

/// The transport: a socket kept as such (its TCP_NODELAY can be switched), or any BIO.
pub(crate) enum Transport {
    Socket(SocketBio),
    Other(Box<dyn Bio + Send>),
}

impl Transport {
    pub(crate) fn bio(&mut self) -> &mut (dyn Bio + Send + 'static) {
        match self {
            Self::Socket(s) => s,
            Self::Other(b) => b.as_mut(),
        }
    }
}

/// Seals one record into lent room: the plaintext bytes taken and the record bytes written
/// (`(0, 0)` when nothing could be sealed there).
pub(crate) type SealInto<'f> =
    dyn FnMut(&mut Connection, &mut [u8]) -> Result<(usize, usize), Error> + 'f;

impl Transport {
    /// Hands every byte the connection queued to the BIO and flushes it (counting the BIO
    /// writes in `writes`); [`ErrorKind::WantWrite`] when the BIO cannot take them now (a
    /// blocking socket's send timeout included). A transport error is fatal for the connection.
    pub(crate) fn send(&mut self, conn: &mut Connection, writes: &mut u64) -> Result<(), Error> {
        let bio = self.bio();
        while conn.wants_write() {
            let e = match bio.write(conn.pending_output()) {
                Ok(Transfer::Bytes(n)) => {
                    *writes += 1;
                    conn.consume_output(n);
                    continue;
                }
                Ok(Transfer::WouldBlock) => return Err(Error::want_write()),
                Err(e) if is_timeout(&e) => {
                    return Err(
                        Error::io(&e, "writing to the transport").with_kind(ErrorKind::WantWrite)
                    );
                }
                Ok(Transfer::Eof) => {
                    Error::new(ErrorKind::Io, "the transport is closed for writing")
                        .with_io_kind(std::io::ErrorKind::BrokenPipe)
                }
                Err(e) => Error::io(&e, "writing to the transport"),
            };
            return Err(conn.fail(e));
        }
        match bio.flush() {
            Ok(Transfer::WouldBlock) => Err(Error::want_write()),
            Ok(_) => Ok(()),
            Err(e) => Err(conn.fail(Error::io(&e, "flushing the transport"))),
        }
    }

    /// Seals `data` straight into the BIO's own buffer when the BIO lends it
    /// ([`Bio::write_in_place`]) and nothing is queued: each 16 KiB chunk is copied once, into
    /// the record in the BIO, and encrypted there (through the output queue it would be copied
    /// in, sealed, and copied again into the BIO). Returns how many bytes of `data` were
    /// taken; `None` when the queue must be used: this BIO does not lend, it has no room for
    /// one record now, or the connection cannot write in place now (see
    /// [`Connection::can_write_in_place`]; [`Connection::write`] then gives its answer).
    pub(crate) fn write_in_place(
        &mut self,
        conn: &mut Connection,
        data: &[u8],
        writes: &mut u64,
    ) -> Result<Option<usize>, Error> {
        if data.is_empty() {
            return Ok(None);
        }
        let want = conn.sealed_len(data.len());
        self.seal_in_place(conn, want, writes, &mut |conn, room| {
            conn.write_in_place(data, room)
        })
    }

    /// The lending step of every in-place write: when the connection can write in place,
    /// asks the BIO for `want` bytes of its own buffer and lets `seal` seal a record there
    /// (returning the plaintext bytes taken and the record bytes written). Returns the
    /// plaintext taken; `None` when the queue must be used (the BIO does not lend, has no room
    /// now, or `seal` sealed nothing).
    pub(crate) fn seal_in_place(
        &mut self,
        conn: &mut Connection,
        want: usize,
        writes: &mut u64,
        seal: &mut SealInto<'_>,
    ) -> Result<Option<usize>, Error> {
        if !conn.can_write_in_place() {
            return Ok(None);
        }
        let mut sealed = Ok((0, 0));
        let lent = self.bio().write_in_place(want, &mut |room| {
            sealed = seal(conn, room);
            sealed.as_ref().map_or(0, |(_, written)| *written)
        });
        match lent {
            Ok(Some(Transfer::Bytes(n))) => {
                let (taken, _) = sealed?;
                if n == 0 || taken == 0 {
                    return Ok(None);
                }
                *writes += 1;
                Ok(Some(taken))
            }
            // Would block, EOF, an error: the queue's path meets them again and reports them.
            Ok(_) | Err(_) => sealed.map(|_| None),
        }
    }

    /// Reads the BIO once into the connection: [`ErrorKind::WantRead`] when there is nothing
    /// yet (a blocking socket's receive timeout included, as OpenSSL's socket BIO reports it),
    /// [`ErrorKind::WantWrite`] when the connection takes no input before its output is sent.
    /// End of file is handed to the connection.
    ///
    /// A BIO that lends its bytes ([`Bio::read_in_place`]) has its whole records opened where
    /// they lie and processed now ([`Connection::process_in_place`]: one copy fewer than
    /// copying them into the connection first), application data going into `buf` as
    /// [`Connection::process_into`] would put it, into `sink` (copied or lent; nothing for a
    /// BIO that does not lend: process the connection next).
    pub(crate) fn recv(
        &mut self,
        conn: &mut Connection,
        now: UnixTime,
        sink: &mut Sink<'_>,
    ) -> Result<(), Error> {
        if !conn.wants_read() {
            return Err(Error::want_write());
        }
        let mut processed = Ok(0);
        let lent = self.bio().read_in_place(&mut |bytes| {
            processed = conn.process_in_place_to(now, bytes, sink);
            processed.as_ref().map_or(bytes.len(), |taken| *taken)
        });
        let (read, in_place) = match lent {
            Ok(None) => {
                let spare = conn.receive_buffer();
                if spare.is_empty() {
                    return Err(Error::want_write());
                }
                (self.bio().read(spare), false)
            }
            other => (other.map(|t| t.unwrap_or(Transfer::WouldBlock)), true),
        };
        match read {
            Ok(Transfer::Bytes(_)) if in_place => processed.map(|_| ()),
            Ok(Transfer::Bytes(n)) => {
                conn.received(n);
                Ok(())
            }
            Ok(Transfer::WouldBlock) => Err(Error::want_read()),
            Ok(Transfer::Eof) => {
                conn.feed_eof();
                Ok(())
            }
            Err(e) if is_timeout(&e) => {
                Err(Error::io(&e, "reading from the transport").with_kind(ErrorKind::WantRead))
            }
            Err(e) => Err(conn.fail(Error::io(&e, "reading from the transport"))),
        }
    }

    /// Switches TCP_NODELAY on a TCP socket (other transports have no Nagle).
    pub(crate) fn set_nodelay(&self, on: bool) -> Result<(), Error> {
        match self {
            Self::Socket(s) if s.as_tcp().is_some() => s
                .set_tcp_nodelay(on)
                .map_err(|e| Error::io(&e, "setting TCP_NODELAY")),
            _ => Ok(()),
        }
    }
}

/// A blocking socket's timeout (`SO_RCVTIMEO` / `SO_SNDTIMEO`): a retry, as OpenSSL's socket
/// BIO reports it, not a failure of the connection.
fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

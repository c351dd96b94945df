//! `Transport`: the one place that moves bytes between a BIO and a [`Connection`].

use crate::connection::Connection;
use crate::error::{Error, ErrorKind};
use overture_bio::{Bio, SocketBio, Transfer};

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

    /// Reads the BIO once into the connection's receive buffer: [`ErrorKind::WantRead`] when
    /// there is nothing yet (a blocking socket's receive timeout included, as OpenSSL's socket
    /// BIO reports it), [`ErrorKind::WantWrite`] when the connection takes no input before its
    /// output is sent. End of file is handed to the connection.
    pub(crate) fn recv(&mut self, conn: &mut Connection) -> Result<(), Error> {
        let spare = conn.receive_buffer();
        if spare.is_empty() {
            return Err(Error::want_write());
        }
        match self.bio().read(spare) {
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

//! `Stream`: `std::io::Read + Write` over an [`Ssl`], for code that wants plain I/O traits.

use crate::{ErrorKind, Ssl};
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

//! `overture-bio`: the transports under a TLS connection, with OpenSSL's BIO semantics.
//!
//! `SSL_connect()` behaves according to its BIO: over a blocking socket it returns when the
//! handshake is done, over a non-blocking socket or a BIO pair it also returns *want read* /
//! *want write*. This crate is that BIO layer. It knows nothing of TLS; it moves bytes and says,
//! for every call, which of four things happened:
//!
//! | result                        | meaning                                              | what `Ssl` makes of it |
//! |-------------------------------|------------------------------------------------------|------------------------|
//! | `Ok(Transfer::Bytes(n))`      | `n` bytes were read / taken                          | progress               |
//! | `Ok(Transfer::WouldBlock)`    | nothing now; retry when the transport is ready       | `WantRead` / `WantWrite` |
//! | `Ok(Transfer::Eof)`           | the other side closed: no byte will ever come / go   | peer closed            |
//! | `Err(e)`                      | the transport failed (refused, reset, timed out, …) | `ErrorKind::Io`        |
//!
//! # Where the BIO sits
//!
//! ```text
//!   application
//!       │ ssl.connect() / ssl.read() / ssl.write() / ssl.shutdown()
//!       ▼
//!   overture::Ssl ───── handshake state machine + record layer (sans-IO, no sockets)
//!       │ sealed records                         ▲ raw bytes into the record layer's spare()
//!       │ Bio::write / Bio::write_vectored       │ Bio::read
//!       │ Bio::flush (end of every flight)       │
//!       │ Bio::write_in_place: records sealed    │ Bio::read_in_place: records opened
//!       │   in the BIO's own free space          │   where the BIO holds them
//!       ▼                                        │   (BioPairEnd lends both, MemBio its bytes)
//!   ┌──────────────── Box<dyn Bio + Send> ───────┴──────────────────────┐
//!   │ SocketBio        MemBio           BioPairEnd         IoBio<T>     │
//!   │ TCP / Unix fd    one growable     bounded buffer     any Read +   │
//!   │ (blocking or     buffer           to its twin end    Write        │
//!   │  non-blocking)   (BIO_s_mem)      (BIO_new_bio_pair)              │
//!   └───────┬─────────────────┬─────────────────┬───────────────────┬───┘
//!           ▼                 ▼                 ▼                   ▼
//!       the kernel      the application    the other end:      a file, a pipe,
//!       (poll the fd    fills / drains     the application     a TLS-in-TLS
//!        on WouldBlock)  it                pumps it to a       stream, a test
//!                                          socket or a queue   double
//! ```
//!
//! # The kinds
//!
//! * [`SocketBio`] — a `TcpStream` (or a `UnixStream`) as a BIO; blocking or non-blocking and
//!   switchable ([`SocketBio::set_nonblocking`]); [`SocketBio::set_tcp_nodelay`] /
//!   [`SocketBio::tcp_nodelay`] are `BIO_set_tcp_ndelay`'s counterpart, read back from the
//!   kernel; [`SocketBio::connect_timeout`]; `AsRawFd` / `AsFd` for `poll` users.
//! * [`MemBio`] — `BIO_s_mem`: one growable buffer; reading it empty says *would block*, or EOF
//!   once [`MemBio::set_eof`] was called (the `BIO_set_mem_eof_return` choice).
//! * [`BioPair`] — `BIO_new_bio_pair`: two linked ends with bounded buffers; a write takes what
//!   fits or says *would block*; [`BioPairEnd::pending`] and [`BioPairEnd::write_guarantee`].
//! * [`IoBio`] — any `Read + Write` as a BIO.
//!
//! # Example: a BIO pair
//!
//! ```
//! use overture_bio::{Bio, BioPair, Transfer};
//!
//! let (mut tls_side, mut net_side) = BioPair::new(8)?;
//! assert_eq!(tls_side.write(b"hello, world")?, Transfer::Bytes(8)); // only 8 fit
//! assert_eq!(tls_side.write(b"orld")?, Transfer::WouldBlock);        // full
//! assert_eq!(net_side.pending(), 8);
//!
//! let mut buf = [0u8; 16];
//! assert_eq!(net_side.read(&mut buf)?, Transfer::Bytes(8));
//! assert_eq!(&buf[..8], b"hello, w");
//! assert_eq!(net_side.read(&mut buf)?, Transfer::WouldBlock);       // empty, still open
//!
//! tls_side.shutdown_write()?;
//! assert_eq!(net_side.read(&mut buf)?, Transfer::Eof);              // empty and closed
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Example: a memory BIO
//!
//! ```
//! use overture_bio::{Bio, MemBio, Transfer};
//!
//! let mut mem = MemBio::new();
//! let mut buf = [0u8; 4];
//! assert_eq!(mem.read(&mut buf)?, Transfer::WouldBlock); // empty: more may come
//! assert_eq!(mem.write(b"abc")?, Transfer::Bytes(3));
//! assert_eq!(mem.read(&mut buf)?, Transfer::Bytes(3));
//! mem.set_eof();
//! assert_eq!(mem.read(&mut buf)?, Transfer::Eof);        // empty and marked EOF
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Example: a socket, blocking then non-blocking
//!
//! ```
//! use overture_bio::{Bio, SocketBio, Transfer};
//! use std::io::Write;
//! use std::net::TcpListener;
//!
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut bio = SocketBio::connect(listener.local_addr()?)?;
//! let (mut server, _) = listener.accept()?;
//!
//! bio.set_tcp_nodelay(true)?;
//! assert!(bio.tcp_nodelay()?); // read back from the kernel
//!
//! bio.set_nonblocking(true)?;
//! let mut buf = [0u8; 16];
//! assert_eq!(bio.read(&mut buf)?, Transfer::WouldBlock); // nothing sent yet
//!
//! bio.set_nonblocking(false)?;
//! server.write_all(b"ping")?;
//! assert_eq!(bio.read(&mut buf)?, Transfer::Bytes(4));  // blocks until it arrives
//! drop(server);
//! assert_eq!(bio.read(&mut buf)?, Transfer::Eof);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Example: any `Read + Write`
//!
//! ```
//! use overture_bio::{Bio, IoBio, Transfer};
//! use std::io::Cursor;
//!
//! let mut bio = IoBio::new(Cursor::new(b"from the peer".to_vec()));
//! let mut buf = [0u8; 32];
//! assert_eq!(bio.read(&mut buf)?, Transfer::Bytes(13));
//! assert_eq!(bio.read(&mut buf)?, Transfer::Eof); // Read returned 0
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Writing a BIO on top of a BIO
//!
//! The contract leaves room for layers that sit between `Ssl` and a transport (a write-coalescing
//! layer that holds the client's final handshake flight until the first application record, so
//! both leave in one TCP segment despite Nagle's algorithm; a counting or tracing layer):
//!
//! * `write` returning `Bytes(n)` means the BIO **took** `n` bytes, not that they left the
//!   machine. A BIO may hold them; [`Bio::flush`] pushes held bytes on and says `WouldBlock` while
//!   some are still held. Callers flush at the end of every flight (the client does).
//! * [`Bio::write_vectored`] hands several buffers to the transport in one call (`writev(2)` for
//!   a socket), so a layer can send a held flight and a new record together without copying.
//! * `Box<B>` and `&mut B` are BIOs whenever `B` is (also for `B = dyn Bio + Send`), so a layer can
//!   be generic over its inner BIO and still wrap whatever `Ssl::set_bio` was given.
//! * [`SocketBio::tcp_nodelay`] tells such a layer whether Nagle's algorithm is on.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod io_bio;
mod mem;
mod pair;
mod socket;

pub use io_bio::IoBio;
pub use mem::MemBio;
pub use pair::{BioPair, BioPairEnd};
pub use socket::SocketBio;

use std::io::{self, IoSlice};

/// The outcome of one BIO call that did not fail.
///
/// Errors (a refused or reset connection, a timeout on a blocking socket, …) are the `Err` of the
/// surrounding `io::Result`; *would block* and EOF are not errors.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transfer {
    /// This many bytes were read, or taken for writing. `Bytes(0)` only for an empty buffer
    /// (and from `flush` when nothing was held).
    Bytes(usize),
    /// Nothing could be moved now; retry when the transport is ready (a non-blocking socket that
    /// `poll` reports ready, a pair whose other end was pumped, a memory BIO that was filled).
    WouldBlock,
    /// The other side closed: from `read`, no byte will ever arrive again (for a memory BIO:
    /// empty and marked EOF); from `write`, no reader is left to take bytes.
    Eof,
}

impl Transfer {
    /// The number of bytes moved, or `None` for `WouldBlock` and `Eof`.
    pub fn bytes(self) -> Option<usize> {
        match self {
            Self::Bytes(n) => Some(n),
            Self::WouldBlock | Self::Eof => None,
        }
    }
}

/// A transport under a TLS connection: OpenSSL's `BIO`, with results that say what happened.
///
/// The trait is object safe: the client keeps its BIO as `Box<dyn Bio + Send>`.
///
/// ```
/// use overture_bio::{Bio, MemBio, Transfer};
///
/// /// A BIO that counts the bytes written through it.
/// struct Counting<B> { inner: B, written: usize }
///
/// impl<B: Bio> Bio for Counting<B> {
///     fn read(&mut self, buf: &mut [u8]) -> std::io::Result<Transfer> {
///         self.inner.read(buf)
///     }
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<Transfer> {
///         let t = self.inner.write(buf)?;
///         self.written += t.bytes().unwrap_or(0);
///         Ok(t)
///     }
///     fn flush(&mut self) -> std::io::Result<Transfer> {
///         self.inner.flush()
///     }
///     fn shutdown_write(&mut self) -> std::io::Result<()> {
///         self.inner.shutdown_write()
///     }
/// }
///
/// let inner: Box<dyn Bio + Send> = Box::new(MemBio::new());
/// let mut bio = Counting { inner, written: 0 };
/// assert_eq!(bio.write(b"12345")?, Transfer::Bytes(5));
/// assert_eq!(bio.written, 5);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Bio {
    /// Reads into `buf`: `Bytes(n)` with `1 <= n <= buf.len()`, `WouldBlock` when nothing is there
    /// yet, `Eof` when nothing will ever come again. An empty `buf` gives `Bytes(0)`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Transfer>;

    /// Writes from `buf`: `Bytes(n)` when the BIO took the first `n` bytes (`n` may be less than
    /// `buf.len()`: a short write), `WouldBlock` when it can take none now, `Eof` when no reader is
    /// left. An empty `buf` gives `Bytes(0)`. Taken bytes may be held until [`Bio::flush`].
    fn write(&mut self, buf: &[u8]) -> io::Result<Transfer>;

    /// Pushes on any bytes the BIO holds: `Bytes(n)` when none is held any more (`n` of them moved
    /// by this call; `Bytes(0)` for BIOs that never hold bytes), `WouldBlock` while some are still
    /// held. A BIO that can no longer deliver held bytes returns an error.
    fn flush(&mut self) -> io::Result<Transfer>;

    /// Closes the write direction (TCP `shutdown(SHUT_WR)`, or EOF for the reader of a memory BIO
    /// or of the other pair end, after the bytes already written). Writing afterwards is an
    /// error. Calling it twice is not.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// Writes from several buffers in order, as one transport write where the BIO can
    /// (`writev(2)` for a socket). Same results as [`Bio::write`], counting bytes across the
    /// buffers. The default writes the first non-empty buffer.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<Transfer> {
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(b) => self.write(b),
            None => Ok(Transfer::Bytes(0)),
        }
    }

    /// Lends the BIO's own free space so that the caller writes into it in place (a TLS
    /// record sealed where it will be read from, instead of sealed elsewhere and copied in).
    /// `fill` gets one contiguous slice of at most `want` bytes (possibly fewer: what is free
    /// and contiguous now) and returns how many bytes it wrote at its start; those are taken
    /// as by [`Bio::write`]: `Some(Bytes(n))`. `Some(WouldBlock)` / `Some(Eof)` without
    /// calling `fill` when no byte fits now / no reader is left. `None` (the default) when
    /// this BIO does not lend its space (a socket: the kernel copies anyway): use
    /// [`Bio::write`].
    fn write_in_place(
        &mut self,
        want: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> io::Result<Option<Transfer>> {
        let _ = (want, fill);
        Ok(None)
    }

    /// Lends the bytes waiting to be read, in place and writable, so that the caller can use
    /// them where they are (a TLS record opened in the BIO's buffer instead of copied out
    /// first). `take` gets one contiguous slice of buffered bytes (possibly not all of them)
    /// and returns how many from its start it consumed; it may modify those bytes, never the
    /// others. `Some(Bytes(n))` for `n` consumed; `Some(WouldBlock)` / `Some(Eof)` without
    /// calling `take` as [`Bio::read`] would say them. `None` (the default) when this BIO
    /// does not lend its bytes: use [`Bio::read`].
    fn read_in_place(
        &mut self,
        take: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> io::Result<Option<Transfer>> {
        let _ = take;
        Ok(None)
    }
}

/// `Box<B>` and `&mut B` are BIOs that forward every call (including `write_vectored` and the
/// in-place calls).
macro_rules! forward_bio {
    ($($t:ty),*) => {$(
        impl<B: Bio + ?Sized> Bio for $t {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<Transfer> {
                (**self).read(buf)
            }
            fn write(&mut self, buf: &[u8]) -> io::Result<Transfer> {
                (**self).write(buf)
            }
            fn flush(&mut self) -> io::Result<Transfer> {
                (**self).flush()
            }
            fn shutdown_write(&mut self) -> io::Result<()> {
                (**self).shutdown_write()
            }
            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<Transfer> {
                (**self).write_vectored(bufs)
            }
            fn write_in_place(
                &mut self,
                want: usize,
                fill: &mut dyn FnMut(&mut [u8]) -> usize,
            ) -> io::Result<Option<Transfer>> {
                (**self).write_in_place(want, fill)
            }
            fn read_in_place(
                &mut self,
                take: &mut dyn FnMut(&mut [u8]) -> usize,
            ) -> io::Result<Option<Transfer>> {
                (**self).read_in_place(take)
            }
        }
    )*};
}

forward_bio!(&mut B, Box<B>);

/// The error for a write after `shutdown_write`.
fn write_after_shutdown() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write after shutdown_write: this BIO's write side is closed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles only if `Bio` is object safe and boxes/references of it are BIOs.
    #[test]
    fn object_safe_and_forwarding() {
        let mut boxed: Box<dyn Bio + Send> = Box::new(MemBio::new());
        assert_eq!(boxed.write(b"xy").unwrap(), Transfer::Bytes(2));
        let by_ref: &mut dyn Bio = &mut boxed;
        let mut buf = [0u8; 4];
        assert_eq!(by_ref.read(&mut buf).unwrap(), Transfer::Bytes(2));
        assert_eq!(&buf[..2], b"xy");
        let mut twice = &mut boxed;
        assert_eq!(
            Bio::write_vectored(&mut twice, &[IoSlice::new(b""), IoSlice::new(b"z")]).unwrap(),
            Transfer::Bytes(1)
        );
        twice.shutdown_write().unwrap();
        assert_eq!(twice.read(&mut buf).unwrap(), Transfer::Bytes(1));
        assert_eq!(twice.read(&mut buf).unwrap(), Transfer::Eof);
        assert_eq!(twice.flush().unwrap(), Transfer::Bytes(0));
    }

    #[test]
    fn default_write_vectored_takes_first_non_empty_buffer() {
        struct One(Vec<u8>);
        impl Bio for One {
            fn read(&mut self, _: &mut [u8]) -> io::Result<Transfer> {
                Ok(Transfer::WouldBlock)
            }
            fn write(&mut self, buf: &[u8]) -> io::Result<Transfer> {
                self.0.extend_from_slice(buf);
                Ok(Transfer::Bytes(buf.len()))
            }
            fn flush(&mut self) -> io::Result<Transfer> {
                Ok(Transfer::Bytes(0))
            }
            fn shutdown_write(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut one = One(Vec::new());
        let bufs = [IoSlice::new(b""), IoSlice::new(b"ab"), IoSlice::new(b"cd")];
        assert_eq!(one.write_vectored(&bufs).unwrap(), Transfer::Bytes(2));
        assert_eq!(one.0, b"ab");
        assert_eq!(one.write_vectored(&[]).unwrap(), Transfer::Bytes(0));
    }

    #[test]
    fn transfer_bytes() {
        assert_eq!(Transfer::Bytes(3).bytes(), Some(3));
        assert_eq!(Transfer::WouldBlock.bytes(), None);
        assert_eq!(Transfer::Eof.bytes(), None);
    }
}

//! `SocketBio`: a TCP (or Unix-domain) stream socket as a BIO, `BIO_s_socket`.

use crate::io_bio::retry;
use crate::{Bio, Transfer, write_after_shutdown};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
use std::path::Path;

/// `MSG_NOSIGNAL` (the same value on every Linux architecture): std passes it for
/// `TcpStream::write` but not for `write_vectored` nor for `UnixStream`, so a write to a peer that
/// is gone could raise `SIGPIPE` in a process that did not ignore it (a C host, say).
#[cfg(any(target_os = "linux", target_os = "android"))]
const MSG_NOSIGNAL: std::ffi::c_int = 0x4000;

#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Runs the same expression on whichever stream the BIO holds.
macro_rules! on_stream {
    ($stream:expr, $s:ident => $e:expr) => {
        match $stream {
            Stream::Tcp($s) => $e,
            #[cfg(unix)]
            Stream::Unix($s) => $e,
        }
    };
    // `Read` / `Write` are implemented for `&TcpStream` / `&UnixStream`: bind a mutable copy of
    // the shared reference.
    ($stream:expr, mut $s:ident => $e:expr) => {
        match $stream {
            Stream::Tcp(s) => {
                let mut $s = s;
                $e
            }
            #[cfg(unix)]
            Stream::Unix(s) => {
                let mut $s = s;
                $e
            }
        }
    };
}

// Elsewhere than Linux these are the write path; on Linux only the tests use them (so that the
// code is compiled and exercised on the machine it is developed on).
#[cfg_attr(
    any(target_os = "linux", target_os = "android"),
    allow(dead_code, reason = "the write path on other systems; tested here")
)]
impl Stream {
    /// std's `write`.
    fn write_std(&self, buf: &[u8]) -> io::Result<usize> {
        on_stream!(self, mut s => s.write(buf))
    }

    /// std's `write_vectored` (`writev(2)`).
    fn write_vectored_std(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        on_stream!(self, mut s => s.write_vectored(bufs))
    }
}

/// A connected stream socket as a [`Bio`]: a `TcpStream`, or a `UnixStream` on Unix.
///
/// * **Blocking** (the default for a new socket): `read` waits for bytes, `write` for room; it
///   never says [`Transfer::WouldBlock`]. When a read or write timeout is set and passes, the call
///   fails with an `io::ErrorKind::TimedOut` error, since a blocking `Ssl::connect()` must finish
///   or fail rather than ask to be called again.
/// * **Non-blocking** ([`SocketBio::set_nonblocking`]`(true)`): `read` and `write` say
///   [`Transfer::WouldBlock`] when the kernel would have to wait; `poll` the descriptor
///   (`AsFd` / `AsRawFd`) for readable / writable and call again. The mode can be switched at
///   any time; the decision is taken from the kernel's `O_NONBLOCK` flag at the moment the kernel
///   says `EAGAIN`, so a mode set through a cloned handle is honoured too.
///
/// `read` returning 0 bytes is [`Transfer::Eof`] (the peer sent FIN); `EINTR` is retried; a
/// refused, reset or otherwise failed connection is an `Err`.
///
/// [`SocketBio::set_tcp_nodelay`] / [`SocketBio::tcp_nodelay`] are `BIO_set_tcp_ndelay`'s
/// counterpart; the getter asks the kernel, it does not remember what was set.
///
/// ```
/// use overture_bio::{Bio, SocketBio, Transfer};
/// use std::io::Read;
/// use std::net::TcpListener;
/// use std::time::Duration;
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let mut bio = SocketBio::connect_timeout(&addr, Duration::from_secs(5))?;
/// let (mut server, _) = listener.accept()?;
///
/// assert_eq!(bio.write(b"hello")?, Transfer::Bytes(5));
/// bio.shutdown_write()?; // FIN: the server reads "hello", then EOF
/// let mut got = Vec::new();
/// server.read_to_end(&mut got)?;
/// assert_eq!(got, b"hello");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SocketBio {
    stream: Stream,
    /// The mode last set through this BIO: the answer where the kernel cannot be asked.
    nonblocking: AtomicBool,
    write_shut: bool,
}

impl SocketBio {
    /// Wraps a connected TCP stream. The stream keeps its current mode and options.
    pub fn new(stream: TcpStream) -> Self {
        Self::from_stream(Stream::Tcp(stream))
    }

    /// Wraps a connected Unix-domain stream. The stream keeps its current mode.
    #[cfg(unix)]
    pub fn from_unix(stream: UnixStream) -> Self {
        Self::from_stream(Stream::Unix(stream))
    }

    fn from_stream(stream: Stream) -> Self {
        // The mode is not read here: where the kernel can be asked, `is_nonblocking` asks it
        // each time (one `fcntl` less per connection); elsewhere only a mode set through this
        // BIO is known.
        Self {
            stream,
            nonblocking: AtomicBool::new(false),
            write_shut: false,
        }
    }

    /// Connects a blocking TCP socket to the first address of `addr` that accepts.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        TcpStream::connect(addr).map(Self::new)
    }

    /// Connects a blocking TCP socket to `addr`, failing with `TimedOut` after `timeout`.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<Self> {
        TcpStream::connect_timeout(addr, timeout).map(Self::new)
    }

    /// Connects a blocking Unix-domain stream socket to `path`.
    #[cfg(unix)]
    pub fn connect_unix(path: impl AsRef<Path>) -> io::Result<Self> {
        UnixStream::connect(path).map(Self::from_unix)
    }

    /// Switches between blocking and non-blocking mode (`BIO_set_nbio`).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        on_stream!(&self.stream, s => s.set_nonblocking(nonblocking))?;
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the socket is in non-blocking mode: the kernel's `O_NONBLOCK` on Unix, the mode
    /// last set through this BIO elsewhere.
    pub fn is_nonblocking(&self) -> bool {
        self.kernel_nonblocking()
            .unwrap_or_else(|| self.nonblocking.load(Ordering::Relaxed))
    }

    #[cfg(unix)]
    fn kernel_nonblocking(&self) -> Option<bool> {
        let fd = self.as_fd();
        socket2::SockRef::from(&fd).nonblocking().ok()
    }

    #[cfg(not(unix))]
    fn kernel_nonblocking(&self) -> Option<bool> {
        None
    }

    /// Turns Nagle's algorithm off (`true`: small writes leave at once) or on (`false`)
    /// (`BIO_set_tcp_ndelay`). A Unix-domain socket has no such option: `Unsupported`.
    pub fn set_tcp_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.tcp("TCP_NODELAY")?.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set, read back from the kernel (`getsockopt`), not a remembered
    /// value. A Unix-domain socket has no such option: `Unsupported`.
    pub fn tcp_nodelay(&self) -> io::Result<bool> {
        self.tcp("TCP_NODELAY")?.nodelay()
    }

    fn tcp(&self, option: &str) -> io::Result<&TcpStream> {
        self.as_tcp().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{option}: not a TCP socket (a Unix-domain socket has no such option)"),
            )
        })
    }

    /// Bounds how long a blocking `read` waits (`SO_RCVTIMEO`); `None` waits forever. When it
    /// passes, `read` fails with `TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        on_stream!(&self.stream, s => s.set_read_timeout(timeout))
    }

    /// Bounds how long a blocking `write` waits (`SO_SNDTIMEO`); `None` waits forever. When it
    /// passes, `write` fails with `TimedOut`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        on_stream!(&self.stream, s => s.set_write_timeout(timeout))
    }

    /// The read timeout, from the kernel.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        on_stream!(&self.stream, s => s.read_timeout())
    }

    /// The write timeout, from the kernel.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        on_stream!(&self.stream, s => s.write_timeout())
    }

    /// The TCP stream, if this is a TCP socket (for `peer_addr`, `local_addr`, `ttl`, …).
    pub fn as_tcp(&self) -> Option<&TcpStream> {
        match &self.stream {
            Stream::Tcp(s) => Some(s),
            #[cfg(unix)]
            Stream::Unix(_) => None,
        }
    }

    /// The Unix-domain stream, if this is one.
    #[cfg(unix)]
    pub fn as_unix(&self) -> Option<&UnixStream> {
        match &self.stream {
            Stream::Tcp(_) => None,
            Stream::Unix(s) => Some(s),
        }
    }

    /// A second handle to the same socket (`dup`): for a thread that polls it, say. Both share
    /// the blocking mode and the options.
    pub fn try_clone(&self) -> io::Result<Self> {
        let stream = match &self.stream {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            #[cfg(unix)]
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        };
        Ok(Self::from_stream(stream))
    }

    /// One `send(2)` that cannot raise `SIGPIPE` (a peer that is gone is `EPIPE`, never a signal
    /// that kills a host process which did not ignore it).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        socket2::SockRef::from(&self.as_fd()).send_with_flags(buf, MSG_NOSIGNAL)
    }

    /// One `sendmsg(2)` of every buffer, without `SIGPIPE`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        socket2::SockRef::from(&self.as_fd()).send_vectored_with_flags(bufs, MSG_NOSIGNAL)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.stream.write_std(buf)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.stream.write_vectored_std(bufs)
    }

    /// The kernel said `EAGAIN`: *would block* in non-blocking mode, a timeout in blocking mode.
    fn would_block(&self, result: io::Result<Transfer>, what: &str) -> io::Result<Transfer> {
        match result {
            Ok(Transfer::WouldBlock) if !self.is_nonblocking() => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{what} on a blocking socket timed out (its {what} timeout passed)"),
            )),
            other => other,
        }
    }
}

impl From<TcpStream> for SocketBio {
    fn from(stream: TcpStream) -> Self {
        Self::new(stream)
    }
}

#[cfg(unix)]
impl From<UnixStream> for SocketBio {
    fn from(stream: UnixStream) -> Self {
        Self::from_unix(stream)
    }
}

#[cfg(unix)]
impl AsFd for SocketBio {
    fn as_fd(&self) -> BorrowedFd<'_> {
        on_stream!(&self.stream, s => s.as_fd())
    }
}

#[cfg(unix)]
impl AsRawFd for SocketBio {
    fn as_raw_fd(&self) -> RawFd {
        on_stream!(&self.stream, s => s.as_raw_fd())
    }
}

impl Bio for SocketBio {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Transfer> {
        let empty = buf.is_empty();
        let r = on_stream!(&mut self.stream, s => retry(empty, || s.read(buf)));
        self.would_block(r, "read")
    }

    /// A write of a non-empty buffer that the kernel reports as 0 bytes is an error
    /// (`WriteZero`); a peer that is gone shows as `BrokenPipe` / `ConnectionReset`.
    fn write(&mut self, buf: &[u8]) -> io::Result<Transfer> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        let r = retry(buf.is_empty(), || self.send(buf));
        self.would_block(zero_write_is_error(r), "write")
    }

    /// One `writev(2)`: every buffer in one transport write, as far as the kernel takes it.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<Transfer> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        let empty = bufs.iter().all(|b| b.is_empty());
        let r = retry(empty, || self.send_vectored(bufs));
        self.would_block(zero_write_is_error(r), "write")
    }

    /// A socket holds no bytes in user space: always `Bytes(0)`.
    fn flush(&mut self) -> io::Result<Transfer> {
        Ok(Transfer::Bytes(0))
    }

    /// `shutdown(SHUT_WR)`: the peer reads what was sent, then EOF. Reading still works.
    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.write_shut {
            on_stream!(&self.stream, s => s.shutdown(Shutdown::Write))?;
            self.write_shut = true;
        }
        Ok(())
    }
}

/// For a socket, "0 bytes written" of a non-empty buffer is not a clean end: make it an error.
fn zero_write_is_error(r: io::Result<Transfer>) -> io::Result<Transfer> {
    match r {
        Ok(Transfer::Eof) => Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the socket took 0 bytes of a non-empty write",
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (SocketBio, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let bio = SocketBio::connect(l.local_addr().unwrap()).unwrap();
        let (peer, _) = l.accept().unwrap();
        (bio, peer)
    }

    #[test]
    fn mode_is_read_from_the_kernel() {
        let (bio, _peer) = pair();
        assert!(!bio.is_nonblocking());
        bio.set_nonblocking(true).unwrap();
        assert!(bio.is_nonblocking());
        // A mode switched through another handle of the same socket is seen too.
        let clone = bio.try_clone().unwrap();
        assert!(clone.is_nonblocking());
        clone.set_nonblocking(false).unwrap();
        assert!(!bio.is_nonblocking());
        // A stream that is already non-blocking when wrapped.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let s = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        s.set_nonblocking(true).unwrap();
        assert!(SocketBio::from(s).is_nonblocking());
    }

    #[test]
    fn blocking_read_timeout_is_timed_out_not_would_block() {
        let (mut bio, _peer) = pair();
        bio.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        assert_eq!(bio.read_timeout().unwrap(), Some(Duration::from_millis(20)));
        let mut buf = [0u8; 4];
        let e = bio.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
        bio.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(bio.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn shutdown_write_is_idempotent_and_reading_goes_on() {
        let (mut bio, mut peer) = pair();
        bio.shutdown_write().unwrap();
        bio.shutdown_write().unwrap();
        assert_eq!(
            bio.write(b"x").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert!(got.is_empty());
        peer.write_all(b"still open").unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(10));
    }

    #[test]
    fn std_write_path_used_on_other_systems() {
        let (bio, mut peer) = pair();
        assert_eq!(bio.stream.write_std(b"std ").unwrap(), 4);
        let bufs = [IoSlice::new(b"write"), IoSlice::new(b"v")];
        assert_eq!(bio.stream.write_vectored_std(&bufs).unwrap(), 6);
        drop(bio);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"std writev");
    }

    #[test]
    fn vectored_write_is_one_segment_of_all_buffers() {
        let (mut bio, mut peer) = pair();
        let bufs = [IoSlice::new(b"finished|"), IoSlice::new(b"first record")];
        assert_eq!(bio.write_vectored(&bufs).unwrap(), Transfer::Bytes(21));
        drop(bio);
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"finished|first record");
    }
}

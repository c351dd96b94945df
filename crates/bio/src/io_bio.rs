//! `IoBio`: any `Read + Write` as a BIO.

use crate::{Bio, Transfer, write_after_shutdown};
use std::io::{self, IoSlice, Read, Write};

/// Any `Read + Write` as a [`Bio`]: a pipe, a file, a `Cursor`, another TLS stream, a test double.
///
/// The mapping from `std::io` results: `Ok(0)` from `read` (with a non-empty buffer) is
/// [`Transfer::Eof`]; `Ok(0)` from `write` (with a non-empty buffer) is [`Transfer::Eof`] too
/// (the sink takes no more); an error of kind `WouldBlock` is [`Transfer::WouldBlock`];
/// `Interrupted` is retried; every other error is returned.
///
/// `shutdown_write` flushes and then refuses further writes; a plain `Write` has no way to tell
/// its peer about the close. For a socket use [`crate::SocketBio`], whose `shutdown_write` sends
/// a FIN.
///
/// ```
/// use overture_bio::{Bio, IoBio, Transfer};
///
/// let mut bio = IoBio::new(std::io::Cursor::new(Vec::new()));
/// assert_eq!(bio.write(b"ClientHello")?, Transfer::Bytes(11));
/// assert_eq!(bio.flush()?, Transfer::Bytes(0));
/// assert_eq!(bio.get_ref().get_ref(), b"ClientHello");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct IoBio<T> {
    inner: T,
    write_shut: bool,
}

impl<T: Read + Write> IoBio<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            write_shut: false,
        }
    }
}

impl<T> IoBio<T> {
    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value, mutably (reading or writing it directly bypasses the BIO).
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// Runs `op` until it does not fail with `Interrupted`, and maps the result to a `Transfer`.
pub(crate) fn retry(
    buf_empty: bool,
    mut op: impl FnMut() -> io::Result<usize>,
) -> io::Result<Transfer> {
    if buf_empty {
        return Ok(Transfer::Bytes(0));
    }
    loop {
        return match op() {
            Ok(0) => Ok(Transfer::Eof),
            Ok(n) => Ok(Transfer::Bytes(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Transfer::WouldBlock),
            Err(e) => Err(e),
        };
    }
}

impl<T: Read + Write> Bio for IoBio<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<Transfer> {
        let empty = buf.is_empty();
        retry(empty, || self.inner.read(buf))
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<Transfer> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        retry(buf.is_empty(), || self.inner.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<Transfer> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        let empty = bufs.iter().all(|b| b.is_empty());
        retry(empty, || self.inner.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<Transfer> {
        loop {
            return match self.inner.flush() {
                Ok(()) => Ok(Transfer::Bytes(0)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Transfer::WouldBlock),
                Err(e) => Err(e),
            };
        }
    }

    /// Flushes, then refuses further writes (the wrapped value is not told).
    fn shutdown_write(&mut self) -> io::Result<()> {
        if !self.write_shut {
            self.inner.flush()?;
            self.write_shut = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Scripted results, to reach every mapping.
    struct Script {
        reads: VecDeque<io::Result<usize>>,
        writes: VecDeque<io::Result<usize>>,
        flushes: VecDeque<io::Result<()>>,
    }

    impl Read for Script {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            self.reads.pop_front().unwrap()
        }
    }

    impl Write for Script {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.writes.pop_front().unwrap()
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes.pop_front().unwrap()
        }
    }

    fn err(kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, "scripted")
    }

    #[test]
    fn maps_every_std_result() {
        use io::ErrorKind::*;
        let mut bio = IoBio::new(Script {
            reads: VecDeque::from([
                Err(err(Interrupted)),
                Err(err(Interrupted)),
                Ok(3),
                Err(err(WouldBlock)),
                Ok(0),
                Err(err(ConnectionReset)),
            ]),
            writes: VecDeque::from([Err(err(Interrupted)), Ok(2), Err(err(WouldBlock)), Ok(0)]),
            flushes: VecDeque::from([
                Err(err(Interrupted)),
                Ok(()),
                Err(err(WouldBlock)),
                Err(err(BrokenPipe)),
                Ok(()),
            ]),
        });
        let mut buf = [0u8; 8];
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(3));
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::WouldBlock);
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Eof);
        assert_eq!(bio.read(&mut buf).unwrap_err().kind(), ConnectionReset);
        assert_eq!(bio.read(&mut []).unwrap(), Transfer::Bytes(0)); // not forwarded
        assert_eq!(bio.write(b"ab").unwrap(), Transfer::Bytes(2));
        assert_eq!(bio.write(b"ab").unwrap(), Transfer::WouldBlock);
        assert_eq!(bio.write(b"ab").unwrap(), Transfer::Eof);
        assert_eq!(bio.write(b"").unwrap(), Transfer::Bytes(0)); // not forwarded
        assert_eq!(bio.flush().unwrap(), Transfer::Bytes(0));
        assert_eq!(bio.flush().unwrap(), Transfer::WouldBlock);
        assert_eq!(bio.flush().unwrap_err().kind(), BrokenPipe);
        bio.shutdown_write().unwrap();
        bio.shutdown_write().unwrap(); // flushes once
        assert_eq!(bio.write(b"x").unwrap_err().kind(), BrokenPipe);
        assert_eq!(
            bio.write_vectored(&[IoSlice::new(b"x")])
                .unwrap_err()
                .kind(),
            BrokenPipe
        );
        let inner = bio.into_inner();
        assert!(inner.reads.is_empty() && inner.writes.is_empty() && inner.flushes.is_empty());
    }

    #[test]
    fn vectored_write_through_a_vec() {
        let mut bio = IoBio::new(io::Cursor::new(Vec::new()));
        let bufs = [
            IoSlice::new(b"fin"),
            IoSlice::new(b""),
            IoSlice::new(b"data"),
        ];
        assert_eq!(bio.write_vectored(&bufs).unwrap(), Transfer::Bytes(7));
        assert_eq!(bio.get_ref().get_ref(), b"findata");
        assert_eq!(bio.write_vectored(&[]).unwrap(), Transfer::Bytes(0));
        bio.get_mut().set_position(0);
        let mut buf = [0u8; 16];
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(7));
    }
}

//! `MemBio`: one growable memory buffer, OpenSSL's `BIO_s_mem`.

use crate::{Bio, Transfer, write_after_shutdown};
use std::io;

/// A growable memory buffer as a BIO (`BIO_s_mem`): `write` appends, `read` takes from the front.
///
/// Reading it empty says [`Transfer::WouldBlock`] (more may be written), or [`Transfer::Eof`] once
/// [`MemBio::set_eof`] was called — the `BIO_set_mem_eof_return` choice. Writes are never short:
/// the buffer grows (an allocation failure is an `OutOfMemory` error, not an abort).
///
/// ```
/// use overture_bio::{Bio, MemBio, Transfer};
///
/// // Feed a TLS client canned server bytes, collect what it writes in another MemBio.
/// let mut from_server = MemBio::from(&b"\x16\x03\x03\x00\x02hi"[..]);
/// from_server.set_eof(); // after these bytes the "server" is gone
/// let mut buf = [0u8; 5];
/// assert_eq!(from_server.read(&mut buf)?, Transfer::Bytes(5));
/// assert_eq!(from_server.pending(), 2);
/// assert_eq!(from_server.data(), b"hi");
/// assert_eq!(from_server.read(&mut buf)?, Transfer::Bytes(2));
/// assert_eq!(from_server.read(&mut buf)?, Transfer::Eof);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemBio {
    /// Bytes written; `buf[pos..]` is unread.
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    write_closed: bool,
}

impl MemBio {
    /// An empty memory BIO; reading it says *would block* until bytes are written.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty memory BIO with room for `capacity` bytes before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
            ..Self::default()
        }
    }

    /// From now on, reading the BIO empty says [`Transfer::Eof`] instead of
    /// [`Transfer::WouldBlock`] (`BIO_set_mem_eof_return(b, 0)`). Bytes already written, and
    /// bytes written later, are still read first.
    pub fn set_eof(&mut self) {
        self.eof = true;
    }

    /// Whether reading the BIO empty says EOF ([`MemBio::set_eof`] or `shutdown_write` was called).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Bytes written and not yet read (`BIO_ctrl_pending`).
    pub fn pending(&self) -> usize {
        self.data().len()
    }

    /// The unread bytes, without consuming them (`BIO_get_mem_data`).
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Takes all unread bytes out, leaving the BIO empty (its EOF mark stays).
    pub fn take(&mut self) -> Vec<u8> {
        let mut all = std::mem::take(&mut self.buf);
        all.drain(..self.pos.min(all.len()));
        self.pos = 0;
        all
    }

    /// Moves the unread bytes to the front, so the space of read bytes is reused.
    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos.min(self.buf.len()));
            self.pos = 0;
        }
    }
}

impl From<Vec<u8>> for MemBio {
    /// A memory BIO holding `data`, unread (not marked EOF).
    fn from(data: Vec<u8>) -> Self {
        Self {
            buf: data,
            ..Self::default()
        }
    }
}

impl From<&[u8]> for MemBio {
    /// A memory BIO holding a copy of `data`, unread (not marked EOF).
    fn from(data: &[u8]) -> Self {
        Self::from(data.to_vec())
    }
}

impl Bio for MemBio {
    fn read(&mut self, out: &mut [u8]) -> io::Result<Transfer> {
        if out.is_empty() {
            return Ok(Transfer::Bytes(0));
        }
        let unread = self.data();
        if unread.is_empty() {
            return Ok(if self.eof {
                Transfer::Eof
            } else {
                Transfer::WouldBlock
            });
        }
        let n = unread.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), unread.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        if self.pos >= self.buf.len() {
            // Drained: start over at the front without freeing the allocation.
            self.buf.clear();
            self.pos = 0;
        }
        Ok(Transfer::Bytes(n))
    }

    fn write(&mut self, data: &[u8]) -> io::Result<Transfer> {
        if self.write_closed {
            return Err(write_after_shutdown());
        }
        if data.is_empty() {
            return Ok(Transfer::Bytes(0));
        }
        if self.buf.capacity() - self.buf.len() < data.len() {
            // Reuse the space of read bytes before growing.
            self.compact();
            self.buf.try_reserve(data.len()).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("memory BIO: cannot grow by {} bytes: {e}", data.len()),
                )
            })?;
        }
        self.buf.extend_from_slice(data);
        Ok(Transfer::Bytes(data.len()))
    }

    fn flush(&mut self) -> io::Result<Transfer> {
        Ok(Transfer::Bytes(0))
    }

    /// Lends every unread byte (they are contiguous). Writes are not lent: new space would
    /// have to be zero-filled first, which costs what the copy it saves does.
    fn read_in_place(
        &mut self,
        take: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> io::Result<Option<Transfer>> {
        let unread = self.buf.get_mut(self.pos..).unwrap_or_default();
        if unread.is_empty() {
            return Ok(Some(if self.eof {
                Transfer::Eof
            } else {
                Transfer::WouldBlock
            }));
        }
        let n = take(unread).min(unread.len());
        self.pos += n;
        if self.pos >= self.buf.len() {
            // Drained: start over at the front without freeing the allocation.
            self.buf.clear();
            self.pos = 0;
        }
        Ok(Some(Transfer::Bytes(n)))
    }

    /// Marks the BIO EOF (as [`MemBio::set_eof`]) and refuses further writes.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.write_closed = true;
        self.eof = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_read_would_block_until_eof_is_set() {
        let mut m = MemBio::new();
        let mut buf = [0u8; 8];
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::WouldBlock);
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::WouldBlock);
        assert!(!m.is_eof());
        m.set_eof();
        assert!(m.is_eof());
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Eof);
        // Writing after set_eof is allowed; those bytes are read before EOF again.
        assert_eq!(m.write(b"late").unwrap(), Transfer::Bytes(4));
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Bytes(4));
        assert_eq!(&buf[..4], b"late");
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Eof);
    }

    #[test]
    fn buffered_bytes_come_before_eof() {
        let mut m = MemBio::from(vec![1, 2, 3]);
        m.set_eof();
        let mut buf = [0u8; 2];
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Bytes(2));
        assert_eq!(buf, [1, 2]);
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Bytes(1));
        assert_eq!(buf[0], 3);
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Eof);
    }

    #[test]
    fn shutdown_write_means_eof_and_no_more_writes() {
        let mut m = MemBio::new();
        assert_eq!(m.write(b"ab").unwrap(), Transfer::Bytes(2));
        m.shutdown_write().unwrap();
        m.shutdown_write().unwrap();
        let e = m.write(b"c").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        let mut buf = [0u8; 4];
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Bytes(2));
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::Eof);
    }

    #[test]
    fn empty_buffers_move_nothing() {
        let mut m = MemBio::new();
        assert_eq!(m.read(&mut []).unwrap(), Transfer::Bytes(0));
        assert_eq!(m.write(&[]).unwrap(), Transfer::Bytes(0));
        assert_eq!(m.flush().unwrap(), Transfer::Bytes(0));
        assert_eq!(m.pending(), 0);
    }

    #[test]
    fn fifo_order_across_compaction_and_growth() {
        let mut m = MemBio::with_capacity(8);
        let mut expect = std::collections::VecDeque::new();
        let mut next = 0u8;
        let mut buf = [0u8; 7];
        let mut peak = 0;
        for round in 0..500usize {
            let w: Vec<u8> = (0..(round % 13))
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            assert_eq!(m.write(&w).unwrap(), Transfer::Bytes(w.len()));
            expect.extend(w.iter().copied());
            let want = round % 11;
            match m.read(&mut buf[..want.min(7)]).unwrap() {
                Transfer::Bytes(n) => {
                    for b in &buf[..n] {
                        assert_eq!(Some(*b), expect.pop_front());
                    }
                }
                Transfer::WouldBlock => assert!(expect.is_empty()),
                Transfer::Eof => panic!("not marked EOF"),
            }
            assert_eq!(m.pending(), expect.len());
            assert!(m.data().iter().copied().eq(expect.iter().copied()));
            // Memory stays bounded by the peak of live bytes (compaction reuses read space).
            peak = peak.max(expect.len());
            assert!(
                m.buf.capacity() <= 2 * (peak + 13) + 8,
                "{}",
                m.buf.capacity()
            );
        }
        let rest = m.take();
        assert!(rest.iter().copied().eq(expect.iter().copied()));
        assert_eq!(m.pending(), 0);
        assert_eq!(m.read(&mut buf).unwrap(), Transfer::WouldBlock);
    }

    #[test]
    fn unread_bytes_are_lent_in_place() {
        let mut bio = MemBio::from(&b"abcdef"[..]);
        let t = bio.read_in_place(&mut |bytes| {
            assert_eq!(bytes, b"abcdef");
            bytes[0] = b'X';
            2
        });
        assert_eq!(t.unwrap(), Some(Transfer::Bytes(2)));
        assert_eq!(bio.data(), b"cdef");
        let t = bio.read_in_place(&mut |bytes| bytes.len());
        assert_eq!(t.unwrap(), Some(Transfer::Bytes(4)));
        assert_eq!(
            bio.read_in_place(&mut |_| unreachable!()).unwrap(),
            Some(Transfer::WouldBlock)
        );
        bio.set_eof();
        assert_eq!(
            bio.read_in_place(&mut |_| unreachable!()).unwrap(),
            Some(Transfer::Eof)
        );
        // Writes are not lent.
        assert_eq!(
            bio.write_in_place(4, &mut |_| unreachable!()).unwrap(),
            None
        );
    }
}

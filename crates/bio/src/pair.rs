//! `BioPair`: two linked ends with bounded buffers, OpenSSL's `BIO_new_bio_pair`.

use crate::{Bio, Transfer, write_after_shutdown};
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The smallest allocation a pair buffer grows to on its first write (less if the capacity is
/// smaller). Buffers grow by doubling up to their capacity, so an idle or lightly used pair holds
/// little memory whatever capacity it was given.
const MIN_ALLOCATION: usize = 1024;

/// Creates linked BIO pairs (`BIO_new_bio_pair`): what one end writes, the other end reads.
///
/// Each direction has a bounded buffer. A write takes what fits (a short write when the buffer is
/// partly full) or says [`Transfer::WouldBlock`] when it is full; a read on an empty buffer says
/// `WouldBlock` until the writing end calls [`Bio::shutdown_write`] or is dropped, then
/// [`Transfer::Eof`] (after every buffered byte). Writing towards a dropped end says `Eof`.
///
/// The usual use: give one end to `Ssl`, and pump the other end to the network yourself (an event
/// loop, a userspace TCP stack, a test that injects faults).
///
/// ```
/// use overture_bio::{Bio, BioPair, Transfer};
///
/// let (mut near, mut far) = BioPair::new(4)?;
/// assert_eq!(near.write_guarantee(), 4);
/// assert_eq!(near.write(b"abcdef")?, Transfer::Bytes(4)); // short write: 4 fit
/// assert_eq!(near.write_guarantee(), 0);
/// assert_eq!(far.pending(), 4);
///
/// // The ends are Send: the far end can be pumped from another thread.
/// let pumped = std::thread::spawn(move || {
///     let mut buf = [0u8; 8];
///     let n = far.read(&mut buf).map(|t| t.bytes().unwrap_or(0));
///     (n, buf)
/// })
/// .join()
/// .map_err(|_| std::io::Error::other("pump thread panicked"))?;
/// assert_eq!(pumped.0?, 4);
/// assert_eq!(&pumped.1[..4], b"abcd");
/// assert_eq!(near.write(b"ef")?, Transfer::Eof); // the far end is gone
///
/// assert!(BioPair::new(0).is_err()); // a pair that can never carry a byte is refused
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub enum BioPair {}

impl BioPair {
    /// Two linked ends, each direction buffering at most `capacity` bytes.
    ///
    /// A capacity of 0 is an `InvalidInput` error: such a pair could never move a byte.
    #[allow(
        clippy::new_ret_no_self,
        reason = "`BioPair::new` is `BIO_new_bio_pair`'s name; a pair is its two ends"
    )]
    pub fn new(capacity: usize) -> io::Result<(BioPairEnd, BioPairEnd)> {
        Self::with_capacities(capacity, capacity)
    }

    /// Two linked ends whose directions have different capacities (`BIO_new_bio_pair`'s
    /// `writebuf1` and `writebuf2`): the first end can write `first_to_second` bytes ahead of the
    /// second end's reads, the second end `second_to_first` ahead of the first's.
    pub fn with_capacities(
        first_to_second: usize,
        second_to_first: usize,
    ) -> io::Result<(BioPairEnd, BioPairEnd)> {
        if first_to_second == 0 || second_to_first == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "BIO pair capacity must be at least 1 byte",
            ));
        }
        let shared = Arc::new(Mutex::new(Shared {
            first_to_second: Pipe::new(first_to_second),
            second_to_first: Pipe::new(second_to_first),
        }));
        Ok((
            BioPairEnd {
                shared: Arc::clone(&shared),
                side: Side::First,
                write_shut: false,
            },
            BioPairEnd {
                shared,
                side: Side::Second,
                write_shut: false,
            },
        ))
    }
}

/// One direction of a pair: a ring over storage that is initialised once as it grows, so that
/// its free space and its bytes can be lent in place ([`Bio::write_in_place`],
/// [`Bio::read_in_place`]) without zero-filling anything again.
struct Pipe {
    /// The ring's storage: grows by doubling (zero-filled once, when it grows), never beyond
    /// `capacity`. The buffered bytes are `len` bytes from `head`, wrapping at the end.
    ring: Vec<u8>,
    head: usize,
    len: usize,
    capacity: usize,
    /// The writing end shut down its write side or was dropped: once empty, reads say EOF.
    writer_closed: bool,
    /// The reading end was dropped: writes say EOF.
    reader_gone: bool,
}

impl Pipe {
    fn new(capacity: usize) -> Self {
        Self {
            ring: Vec::new(),
            head: 0,
            len: 0,
            capacity,
            writer_closed: false,
            reader_gone: false,
        }
    }

    fn free(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// The buffered bytes, oldest first, in at most two pieces.
    fn slices(&self) -> (&[u8], &[u8]) {
        let end = self.head + self.len;
        match end.checked_sub(self.ring.len()).filter(|w| *w > 0) {
            None => (self.ring.get(self.head..end).unwrap_or_default(), &[]),
            Some(wrapped) => (
                self.ring.get(self.head..).unwrap_or_default(),
                self.ring.get(..wrapped).unwrap_or_default(),
            ),
        }
    }

    /// Makes the storage hold at least `total` bytes (`total` ≤ capacity): doubling, at least
    /// [`MIN_ALLOCATION`], never beyond the capacity; the buffered bytes move to its front.
    fn reserve(&mut self, total: usize) -> io::Result<()> {
        if self.ring.len() >= total {
            return Ok(());
        }
        let target = total
            .max(self.ring.len().saturating_mul(2))
            .max(MIN_ALLOCATION)
            .min(self.capacity);
        let mut grown = Vec::new();
        grown.try_reserve_exact(target).map_err(|e| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("BIO pair: cannot grow the buffer to {target} bytes: {e}"),
            )
        })?;
        let (front, back) = self.slices();
        grown.extend_from_slice(front);
        grown.extend_from_slice(back);
        grown.resize(target, 0);
        self.ring = grown;
        self.head = 0;
        Ok(())
    }

    /// Where the next byte goes (the storage is not empty).
    fn tail(&self) -> usize {
        let end = self.head + self.len;
        end.checked_sub(self.ring.len()).unwrap_or(end)
    }

    /// Appends `data` (which fits: at most [`Pipe::free`] bytes).
    fn push(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.len == 0 {
            self.head = 0;
        }
        self.reserve(self.len.saturating_add(data.len()))?;
        let tail = self.tail();
        let first = data.len().min(self.ring.len() - tail);
        let (a, b) = data.split_at(first);
        if let Some(dst) = self.ring.get_mut(tail..tail + first) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = self.ring.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
        self.len += data.len();
        Ok(())
    }

    /// Contiguous free space after the buffered bytes, up to `want` bytes (fewer when the
    /// capacity or the ring's wrap point is nearer).
    fn room(&mut self, want: usize) -> io::Result<&mut [u8]> {
        if self.len == 0 {
            self.head = 0;
        }
        let want = want.min(self.free());
        self.reserve(self.len.saturating_add(want))?;
        let tail = self.tail();
        let end = if tail >= self.head && self.len < self.ring.len() {
            self.ring.len()
        } else {
            self.head
        };
        let end = end.min(tail.saturating_add(want));
        Ok(self.ring.get_mut(tail..end).unwrap_or_default())
    }

    /// Drops the `n` oldest bytes.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        self.head += n;
        if self.len == 0 || self.head >= self.ring.len() {
            // Start over at the front: the next write and read are one contiguous piece each.
            self.head = self.head.checked_sub(self.ring.len()).unwrap_or(self.head);
            if self.len == 0 {
                self.head = 0;
            }
        }
    }

    /// Moves as many bytes as fit from the front into `out` (both pieces of the ring, so a read
    /// is never short while bytes are buffered).
    fn pop_into(&mut self, out: &mut [u8]) -> usize {
        let (front, back) = self.slices();
        let n1 = front.len().min(out.len());
        let n2 = back.len().min(out.len() - n1);
        if let (Some(dst), Some(src)) = (out.get_mut(..n1), front.get(..n1)) {
            dst.copy_from_slice(src);
        }
        if let (Some(dst), Some(src)) = (out.get_mut(n1..n1 + n2), back.get(..n2)) {
            dst.copy_from_slice(src);
        }
        self.consume(n1 + n2);
        n1 + n2
    }

    /// The oldest buffered bytes that are contiguous in the ring, writable.
    fn front_mut(&mut self) -> &mut [u8] {
        let end = (self.head + self.len).min(self.ring.len());
        self.ring.get_mut(self.head..end).unwrap_or_default()
    }
}

struct Shared {
    first_to_second: Pipe,
    second_to_first: Pipe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    First,
    Second,
}

/// One end of a [`BioPair`]: a [`Bio`] whose reads take what the other end wrote.
pub struct BioPairEnd {
    shared: Arc<Mutex<Shared>>,
    side: Side,
    /// This end called `shutdown_write`.
    write_shut: bool,
}

impl BioPairEnd {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // No code path panics while holding the lock; if a caller's panic poisoned it anyway,
        // the buffers are still consistent (every mutation completes before unlocking).
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// (what this end writes into, what this end reads from)
    fn pipes(side: Side, shared: &mut Shared) -> (&mut Pipe, &mut Pipe) {
        match side {
            Side::First => (&mut shared.first_to_second, &mut shared.second_to_first),
            Side::Second => (&mut shared.second_to_first, &mut shared.first_to_second),
        }
    }

    /// Bytes the other end wrote that this end can read now (`BIO_ctrl_pending`).
    pub fn pending(&self) -> usize {
        let mut shared = self.lock();
        let (_, incoming) = Self::pipes(self.side, &mut shared);
        incoming.len
    }

    /// Bytes this end can write now without a short write (`BIO_ctrl_get_write_guarantee`):
    /// the free space towards the other end; 0 after `shutdown_write` or once the other end is
    /// dropped.
    pub fn write_guarantee(&self) -> usize {
        if self.write_shut {
            return 0;
        }
        let mut shared = self.lock();
        let (outgoing, _) = Self::pipes(self.side, &mut shared);
        if outgoing.reader_gone {
            0
        } else {
            outgoing.free()
        }
    }

    /// The most bytes this end can have buffered towards the other end.
    pub fn capacity(&self) -> usize {
        let mut shared = self.lock();
        let (outgoing, _) = Self::pipes(self.side, &mut shared);
        outgoing.capacity
    }
}

impl Bio for BioPairEnd {
    fn read(&mut self, out: &mut [u8]) -> io::Result<Transfer> {
        if out.is_empty() {
            return Ok(Transfer::Bytes(0));
        }
        let mut shared = self.lock();
        let (_, incoming) = Self::pipes(self.side, &mut shared);
        if incoming.len == 0 {
            return Ok(if incoming.writer_closed {
                Transfer::Eof
            } else {
                Transfer::WouldBlock
            });
        }
        Ok(Transfer::Bytes(incoming.pop_into(out)))
    }

    fn write(&mut self, data: &[u8]) -> io::Result<Transfer> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        if data.is_empty() {
            return Ok(Transfer::Bytes(0));
        }
        let mut shared = self.lock();
        let (outgoing, _) = Self::pipes(self.side, &mut shared);
        if outgoing.reader_gone {
            return Ok(Transfer::Eof);
        }
        let n = outgoing.free().min(data.len());
        if n == 0 {
            return Ok(Transfer::WouldBlock);
        }
        outgoing.push(data.get(..n).unwrap_or_default())?;
        Ok(Transfer::Bytes(n))
    }

    fn flush(&mut self) -> io::Result<Transfer> {
        Ok(Transfer::Bytes(0))
    }

    /// Lends the free space towards the other end: contiguous, so at most what is free up to
    /// the ring's wrap point (all of it when nothing is buffered).
    fn write_in_place(
        &mut self,
        want: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> io::Result<Option<Transfer>> {
        if self.write_shut {
            return Err(write_after_shutdown());
        }
        let mut shared = self.lock();
        let (outgoing, _) = Self::pipes(self.side, &mut shared);
        if outgoing.reader_gone {
            return Ok(Some(Transfer::Eof));
        }
        if want == 0 {
            return Ok(Some(Transfer::Bytes(0)));
        }
        if outgoing.free() == 0 {
            return Ok(Some(Transfer::WouldBlock));
        }
        let room = outgoing.room(want)?;
        let n = fill(room).min(room.len());
        outgoing.len += n;
        Ok(Some(Transfer::Bytes(n)))
    }

    /// Lends the oldest buffered bytes that are contiguous in the ring (all of them unless
    /// they wrap around its end).
    fn read_in_place(
        &mut self,
        take: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> io::Result<Option<Transfer>> {
        let mut shared = self.lock();
        let (_, incoming) = Self::pipes(self.side, &mut shared);
        if incoming.len == 0 {
            return Ok(Some(if incoming.writer_closed {
                Transfer::Eof
            } else {
                Transfer::WouldBlock
            }));
        }
        let front = incoming.front_mut();
        let n = take(front).min(front.len());
        incoming.consume(n);
        Ok(Some(Transfer::Bytes(n)))
    }

    /// The other end reads every byte already written, then EOF.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.write_shut = true;
        let mut shared = self.lock();
        let (outgoing, _) = Self::pipes(self.side, &mut shared);
        outgoing.writer_closed = true;
        Ok(())
    }
}

impl Drop for BioPairEnd {
    /// The other end reads what this end wrote, then EOF; its writes say EOF from now on.
    fn drop(&mut self) {
        let mut shared = self.lock();
        let (outgoing, incoming) = Self::pipes(self.side, &mut shared);
        outgoing.writer_closed = true;
        incoming.reader_gone = true;
        // Nobody will read these bytes: give the memory back now.
        incoming.ring = Vec::new();
        incoming.head = 0;
        incoming.len = 0;
    }
}

impl fmt::Debug for BioPairEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shared = self.lock();
        let (outgoing, incoming) = Self::pipes(self.side, &mut shared);
        f.debug_struct("BioPairEnd")
            .field("side", &self.side)
            .field("pending", &incoming.len)
            .field("other_end_closed_write", &incoming.writer_closed)
            .field("buffered_for_other_end", &outgoing.len)
            .field("capacity", &outgoing.capacity)
            .field("write_shut", &self.write_shut)
            .field("other_end_dropped", &outgoing.reader_gone)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(end: &mut BioPairEnd) -> (Vec<u8>, Transfer) {
        let mut got = Vec::new();
        let mut buf = [0u8; 3];
        loop {
            match end.read(&mut buf).unwrap() {
                Transfer::Bytes(n) => got.extend_from_slice(&buf[..n]),
                last => return (got, last),
            }
        }
    }

    #[test]
    fn capacity_zero_is_an_error() {
        assert_eq!(
            BioPair::new(0).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(BioPair::with_capacities(1, 0).is_err());
        assert!(BioPair::with_capacities(0, 1).is_err());
    }

    #[test]
    fn short_write_then_would_block_then_room_again() {
        let (mut a, mut b) = BioPair::new(5).unwrap();
        assert_eq!(a.write(b"abc").unwrap(), Transfer::Bytes(3));
        assert_eq!(a.write_guarantee(), 2);
        assert_eq!(a.write(b"defg").unwrap(), Transfer::Bytes(2));
        assert_eq!(a.write(b"g").unwrap(), Transfer::WouldBlock);
        assert_eq!(a.write_guarantee(), 0);
        assert_eq!(b.pending(), 5);
        let mut two = [0u8; 2];
        assert_eq!(b.read(&mut two).unwrap(), Transfer::Bytes(2));
        assert_eq!(&two, b"ab");
        assert_eq!(a.write_guarantee(), 2);
        assert_eq!(a.write(b"gh").unwrap(), Transfer::Bytes(2));
        assert_eq!(read_all(&mut b), (b"cdegh".to_vec(), Transfer::WouldBlock));
    }

    #[test]
    fn directions_are_independent() {
        let (mut a, mut b) = BioPair::with_capacities(2, 6).unwrap();
        assert_eq!(a.capacity(), 2);
        assert_eq!(b.capacity(), 6);
        assert_eq!(a.write(b"xyz").unwrap(), Transfer::Bytes(2));
        assert_eq!(b.write(b"123456789").unwrap(), Transfer::Bytes(6));
        assert_eq!(a.pending(), 6);
        assert_eq!(b.pending(), 2);
        assert_eq!(read_all(&mut a), (b"123456".to_vec(), Transfer::WouldBlock));
        assert_eq!(read_all(&mut b), (b"xy".to_vec(), Transfer::WouldBlock));
    }

    #[test]
    fn shutdown_write_gives_eof_after_buffered_bytes() {
        let (mut a, mut b) = BioPair::new(16).unwrap();
        assert_eq!(a.write(b"last words").unwrap(), Transfer::Bytes(10));
        a.shutdown_write().unwrap();
        a.shutdown_write().unwrap();
        assert_eq!(a.write_guarantee(), 0);
        assert_eq!(a.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(read_all(&mut b), (b"last words".to_vec(), Transfer::Eof));
        assert_eq!(read_all(&mut b), (Vec::new(), Transfer::Eof));
        // The other direction still works: a half-closed pair.
        assert_eq!(b.write(b"reply").unwrap(), Transfer::Bytes(5));
        assert_eq!(read_all(&mut a), (b"reply".to_vec(), Transfer::WouldBlock));
    }

    #[test]
    fn dropping_an_end() {
        let (mut a, b) = BioPair::new(16).unwrap();
        let (mut c, mut d) = BioPair::new(16).unwrap();
        // b dropped: a's writes say EOF, a reads what b wrote (nothing) then EOF.
        drop(b);
        assert_eq!(a.write(b"anyone?").unwrap(), Transfer::Eof);
        assert_eq!(a.write_guarantee(), 0);
        assert_eq!(read_all(&mut a), (Vec::new(), Transfer::Eof));
        // c writes then is dropped: d still reads the bytes, then EOF.
        assert_eq!(c.write(b"bye").unwrap(), Transfer::Bytes(3));
        drop(c);
        assert_eq!(read_all(&mut d), (b"bye".to_vec(), Transfer::Eof));
    }

    #[test]
    fn buffers_grow_lazily_and_never_beyond_capacity() {
        let (mut a, b) = BioPair::new(100_000).unwrap();
        assert_eq!(a.lock().first_to_second.ring.len(), 0);
        assert_eq!(a.write(&[7u8; 10]).unwrap(), Transfer::Bytes(10));
        let cap = a.lock().first_to_second.ring.len();
        assert!((10..=2 * MIN_ALLOCATION).contains(&cap), "{cap}");
        let big = vec![1u8; 200_000];
        assert_eq!(a.write(&big).unwrap(), Transfer::Bytes(100_000 - 10));
        assert!(a.lock().first_to_second.ring.len() <= 2 * 100_000);
        assert_eq!(b.pending(), 100_000);
        // A tiny pair allocates only its capacity.
        let (mut t, _u) = BioPair::new(3).unwrap();
        assert_eq!(t.write(b"abcd").unwrap(), Transfer::Bytes(3));
        assert!(t.lock().first_to_second.ring.len() <= 8);
    }

    #[test]
    fn lent_space_and_bytes_in_place() {
        let (mut a, mut b) = BioPair::new(8).unwrap();
        // Writing in place: the slice is the pair's own free space.
        let t = a.write_in_place(5, &mut |room| {
            assert_eq!(room.len(), 5);
            room[..3].copy_from_slice(b"abc");
            3
        });
        assert_eq!(t.unwrap(), Some(Transfer::Bytes(3)));
        assert_eq!(b.pending(), 3);
        // Reading in place: the bytes may be changed where they are; only consumed ones go.
        let t = b.read_in_place(&mut |bytes| {
            assert_eq!(bytes, b"abc");
            bytes[0] = b'X';
            1
        });
        assert_eq!(t.unwrap(), Some(Transfer::Bytes(1)));
        assert_eq!(read_all(&mut b), (b"bc".to_vec(), Transfer::WouldBlock));
        // Wrap-around: 6 written, 5 read, then the free space is lent in contiguous pieces up
        // to the ring's end, and the bytes in pieces up to it too.
        assert_eq!(a.write(b"123456").unwrap(), Transfer::Bytes(6));
        let mut five = [0u8; 5];
        assert_eq!(b.read(&mut five).unwrap(), Transfer::Bytes(5));
        let ring_len = a.lock().first_to_second.ring.len();
        assert_eq!(ring_len, 8);
        let mut lent = 0;
        let t = a.write_in_place(8, &mut |room| {
            lent = room.len();
            room.fill(b'w');
            room.len()
        });
        assert_eq!(t.unwrap(), Some(Transfer::Bytes(lent)));
        assert!((1..=7).contains(&lent), "{lent}");
        let t = a.write_in_place(8, &mut |room| {
            room.fill(b'z');
            room.len()
        });
        let more = t.unwrap().and_then(Transfer::bytes).unwrap();
        assert_eq!(lent + more, 7, "the pair is full after both");
        assert_eq!(
            a.write_in_place(1, &mut |_| unreachable!()).unwrap(),
            Some(Transfer::WouldBlock)
        );
        let mut seen = Vec::new();
        while let Some(Transfer::Bytes(n)) = b
            .read_in_place(&mut |bytes| {
                seen.extend_from_slice(bytes);
                bytes.len()
            })
            .unwrap()
        {
            assert!(n > 0);
        }
        let mut expected = b"6".to_vec();
        expected.extend(std::iter::repeat_n(b'w', lent));
        expected.extend(std::iter::repeat_n(b'z', more));
        assert_eq!(seen, expected);
        // Ends: EOF after shutdown, EOF towards a dropped reader, an error after our shutdown.
        a.shutdown_write().unwrap();
        assert_eq!(
            b.read_in_place(&mut |_| unreachable!()).unwrap(),
            Some(Transfer::Eof)
        );
        assert!(a.write_in_place(1, &mut |_| 0).is_err());
        drop(a);
        assert_eq!(
            b.write_in_place(1, &mut |_| unreachable!()).unwrap(),
            Some(Transfer::Eof)
        );
    }

    #[test]
    fn growing_keeps_wrapped_bytes_in_order() {
        let (mut a, mut b) = BioPair::new(4096).unwrap();
        let mut sent = Vec::new();
        let mut got = Vec::new();
        let mut buf = [0u8; 700];
        for i in 0..40u8 {
            let chunk = vec![i; 100 + usize::from(i) * 7];
            if let Transfer::Bytes(n) = a.write(&chunk).unwrap() {
                sent.extend_from_slice(&chunk[..n]);
            }
            if i % 3 == 0
                && let Transfer::Bytes(n) = b.read(&mut buf).unwrap()
            {
                got.extend_from_slice(&buf[..n]);
            }
        }
        got.extend(read_all(&mut b).0);
        assert_eq!(got, sent);
    }

    #[test]
    fn empty_buffers_move_nothing() {
        let (mut a, mut b) = BioPair::new(1).unwrap();
        assert_eq!(a.write(b"x").unwrap(), Transfer::Bytes(1));
        assert_eq!(a.write(&[]).unwrap(), Transfer::Bytes(0)); // even when full
        assert_eq!(b.read(&mut []).unwrap(), Transfer::Bytes(0));
        assert_eq!(a.flush().unwrap(), Transfer::Bytes(0));
        assert!(format!("{a:?}").contains("buffered_for_other_end: 1"));
    }
}

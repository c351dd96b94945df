//! Where application data goes when a record is opened: copied into the caller's buffer
//! ([`Connection::process_into`], [`Connection::read`]) or lent to the caller's closure where
//! the record was opened ([`Connection::process_with`], [`crate::Ssl::read_in_place`]) — the
//! read path without a copy.
//!
//! ```text
//!  record opened in place ─┬─ Sink::Copy(buf) ── copy ──► caller's buf   (rest ─► plaintext buffer)
//!  (the BIO's buffer, or   │
//!   the connection's input)└─ Sink::Lend(f) ─── f(&plaintext) ─► n taken (rest ─► plaintext buffer)
//! ```
//!
//! One sink takes at most one record's plaintext per call (or, when plaintext is already
//! buffered, a slice of the buffer, lent where it lies): the bounds are those of the copying
//! path, since what the caller does not take goes to the same bounded plaintext buffer.
//!
//! The other way, [`Connection::write_with`] (and [`crate::Ssl::write_with`]) lends the
//! plaintext room of one record — in the output queue, or in the BIO's own buffer — to the
//! caller's closure, which writes its data there, and seals it in place: the copy from a
//! caller's buffer into the record becomes the caller's own writing of its data.

use super::{Connection, MAX_OUTPUT, Step};
use crate::error::{Error, ErrorKind};
use overture_types::{ContentType, UnixTime};

/// Where the plaintext of the next application data record goes.
pub(crate) struct Sink<'s> {
    to: To<'s>,
    /// How many bytes the caller took, once a record's (or the buffer's) plaintext was
    /// delivered; `None` until then.
    taken: Option<usize>,
}

enum To<'s> {
    /// Copied into this buffer (nothing is delivered into an empty one).
    Copy(&'s mut [u8]),
    /// Lent, where it lies, to this closure, which returns how many bytes it took.
    Lend(&'s mut dyn FnMut(&[u8]) -> usize),
}

impl<'s> Sink<'s> {
    /// Plaintext is copied into `buf`.
    pub(crate) fn copy(buf: &'s mut [u8]) -> Self {
        Self {
            to: To::Copy(buf),
            taken: None,
        }
    }

    /// Plaintext is lent to `take` (called at most once per sink, with a non-empty slice).
    pub(crate) fn lend(take: &'s mut dyn FnMut(&[u8]) -> usize) -> Self {
        Self {
            to: To::Lend(take),
            taken: None,
        }
    }

    /// Whether this sink still takes plaintext (nothing delivered yet, and room for it).
    pub(crate) fn wants(&self) -> bool {
        self.taken.is_none()
            && match &self.to {
                To::Copy(buf) => !buf.is_empty(),
                To::Lend(_) => true,
            }
    }

    /// How many bytes the caller took, once plaintext was delivered.
    pub(crate) fn taken(&self) -> Option<usize> {
        self.taken
    }

    /// Hands `plaintext` (non-empty) to the caller and returns how many bytes it took (at
    /// most `plaintext.len()`; 0 when this sink takes nothing more).
    fn deliver(&mut self, plaintext: &[u8]) -> usize {
        if !self.wants() {
            return 0;
        }
        let n = match &mut self.to {
            To::Copy(buf) => {
                let n = plaintext.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), plaintext.get(..n)) {
                    dst.copy_from_slice(src);
                }
                n
            }
            To::Lend(take) => take(plaintext).min(plaintext.len()),
        };
        self.taken = Some(n);
        n
    }

    /// Delivers the plaintext of one application data record, where it was opened; what the
    /// caller does not take is appended to `plain` (the connection's bounded plaintext buffer).
    pub(super) fn deliver_record(&mut self, payload: &[u8], plain: &mut Vec<u8>) {
        let n = self.deliver(payload);
        plain.extend_from_slice(payload.get(n..).unwrap_or_default());
    }
}

impl Connection {
    /// [`Connection::process`], and while no plaintext is buffered the first application data
    /// record's plaintext is **lent** to `take` where it was opened — in the connection's input
    /// buffer, no copy — instead of copied ([`Connection::process_into`]). `take` returns how
    /// many bytes it took (from the start); the rest is buffered for the next
    /// [`Connection::read`] (or [`Connection::buffered_plaintext`]). `take` is called at most
    /// once, never with an empty slice, and only when this call opened an application data
    /// record; returns `Some(n)` with what it took then, `None` when it was not called
    /// (nothing to deliver, or plaintext was already buffered: read that first).
    ///
    /// Errors, close_notify, KeyUpdates and other post-handshake messages are handled exactly
    /// as by [`Connection::process_into`] (the same code: only the last step, where the
    /// plaintext goes, differs).
    pub fn process_with(
        &mut self,
        now: UnixTime,
        take: impl FnOnce(&[u8]) -> usize,
    ) -> Result<Option<usize>, Error> {
        let mut take = Some(take);
        let mut lend = |p: &[u8]| take.take().map_or(0, |f| f(p));
        let mut sink = Sink::lend(&mut lend);
        self.process_to(now, &mut sink)?;
        Ok(sink.taken())
    }

    /// [`Connection::process_into`] with the plaintext going into `sink` (copied or lent).
    pub(crate) fn process_to(&mut self, now: UnixTime, sink: &mut Sink<'_>) -> Result<(), Error> {
        self.process_from(now, None, sink)
    }

    /// The decrypted application data buffered now, where it lies (`BufRead::fill_buf` over
    /// the connection's plaintext buffer; empty when none). Take bytes with
    /// [`Connection::consume_plaintext`]. Only processed records count, as for
    /// [`Connection::read`].
    pub fn buffered_plaintext(&self) -> &[u8] {
        self.plain.get(self.plain_pos..).unwrap_or_default()
    }

    /// The caller took the first `n` bytes of [`Connection::buffered_plaintext`]
    /// (`BufRead::consume`; more than are buffered counts as all of them).
    pub fn consume_plaintext(&mut self, n: usize) {
        self.plain_pos = self.plain_pos.saturating_add(n).min(self.plain.len());
        if self.plain_pos == self.plain.len() {
            self.plain.clear();
            self.plain_pos = 0;
        }
    }

    /// Delivers buffered plaintext into `sink` (the part of `SSL_read` after processing): a
    /// slice of the buffer, or, when none is buffered and the sink takes any, the reason why
    /// not — [`ErrorKind::ZeroReturn`] once the peer has closed, the fatal error, an unexpected
    /// end of file, or [`ErrorKind::WantRead`]. `Ok` with nothing delivered for a sink that
    /// takes nothing (an empty buffer).
    pub(crate) fn read_to(&mut self, sink: &mut Sink<'_>) -> Result<(), Error> {
        let pending = self.plain.get(self.plain_pos..).unwrap_or_default();
        if !pending.is_empty() {
            let n = sink.deliver(pending);
            self.consume_plaintext(n);
            return Ok(());
        }
        if !sink.wants() {
            return Ok(());
        }
        if self.peer_closed {
            return Err(Error::new(
                ErrorKind::ZeroReturn,
                "the peer sent close_notify",
            ));
        }
        self.check()?;
        if self.eof && self.may_open_record() {
            return Err(self.unexpected_eof("the peer closed the connection without close_notify"));
        }
        Err(Error::want_read())
    }
}

impl Connection {
    /// The most plaintext one record we seal now may carry (2^14 bytes, or less under the
    /// server's record_size_limit): the room [`Connection::write_with`] lends at most.
    pub fn record_room(&self) -> usize {
        self.record.send_limit()
    }

    /// [`Connection::write`] of one record whose plaintext `fill` writes where the record is
    /// sealed (in the output queue) instead of copied there from a buffer of the caller's:
    /// `fill` gets the record's plaintext room — `max` bytes, at most
    /// [`Connection::record_room`], of unspecified content (zeros, or bytes already sent) —
    /// and returns how many bytes from its start it wrote; those are sealed in place as one
    /// record. Returns that count (`Ok(0)`, nothing sent, when `fill` wrote nothing or `max`
    /// is 0; `fill` is not called then). The same errors as [`Connection::write`]
    /// ([`ErrorKind::WantWrite`] when the queue is full: `fill` is not called).
    ///
    /// This moves the copy, it does not remove it: an application whose data sits in a
    /// buffer of its own copies it in `fill`, as `write` would; one that produces its data (a
    /// serializer, a framing layer, a file read) writes it once, here, instead of into its own
    /// buffer first.
    pub fn write_with(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> usize,
    ) -> Result<usize, Error> {
        self.write_with_to(max, None, &mut fill_once(fill))
            .map(|(n, _)| n)
    }

    /// [`Connection::write_with`] into `out`, space the transport lends (a BIO's own buffer),
    /// when given: returns how many plaintext bytes were sealed and how many bytes of `out`
    /// the record took. `(0, 0)` without calling `fill` when it cannot be done there now —
    /// output is queued (it must go first; a KeyUpdate this call found due is queued too), or
    /// the record does not fit in `out` — then call it without `out`.
    pub(crate) fn write_with_to(
        &mut self,
        max: usize,
        out: Option<&mut [u8]>,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Result<(usize, usize), Error> {
        self.check_writable()?;
        let typ = ContentType::ApplicationData;
        let mut len = max.min(self.record.send_limit());
        if len == 0 {
            return Ok((0, 0));
        }
        if out.is_some() && self.wants_write() {
            return Ok((0, 0));
        }
        if out.is_none() {
            let room = MAX_OUTPUT.saturating_sub(self.out.queued());
            if room == 0 {
                return Err(Error::want_write());
            }
            len = len.min(room);
        }
        if self.record.write_needs_key_update() {
            self.step(Step::UpdateKey)?;
            if out.is_some() {
                // The KeyUpdate is queued: it leaves before this record, through the queue.
                return Ok((0, 0));
            }
        }
        let head = self.record.seal_headroom(typ);
        let total = self.record.sealed_len(typ, len);
        let sealed = match out {
            Some(out) => {
                let Some(rec) = out.get_mut(..total) else {
                    return Ok((0, 0));
                };
                match Self::fill_room(rec, head, len, fill) {
                    0 => Ok((0, 0)),
                    n => self.record.seal_in_place(typ, rec, n).map(|w| (n, w)),
                }
            }
            None => {
                let tail = self.out.tail();
                let start = tail.len();
                tail.resize(start + total, 0);
                let rec = tail.get_mut(start..).unwrap_or_default();
                let n = Self::fill_room(rec, head, len, fill);
                let sealed = match n {
                    0 => Ok(0),
                    _ => self.record.seal_in_place(typ, rec, n),
                };
                // Only the sealed record stays queued (nothing on an error or an empty fill).
                let keep = sealed.as_ref().map_or(0, |w| *w);
                self.out.tail().truncate(start + keep);
                sealed.map(|_| (n, 0))
            }
        };
        match sealed {
            Ok((0, _)) => Ok((0, 0)),
            Ok(r) => {
                self.key_update_silent = false;
                Ok(r)
            }
            Err(e) => Err(self.die(Error::from_record(e))),
        }
    }

    /// Lends `fill` the `len` bytes of plaintext room at `head` in `record`; what it wrote.
    fn fill_room(
        record: &mut [u8],
        head: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> usize {
        record
            .get_mut(head..head + len)
            .map_or(0, |room| fill(room).min(len))
    }
}

/// `write_with`'s `fill` as the `FnMut` that [`Connection::write_with_to`] takes (a lent room
/// may be refused before `fill` runs, and the queue tried next): it runs `fill` once, and
/// writes nothing on any later call.
pub(crate) fn fill_once(fill: impl FnOnce(&mut [u8]) -> usize) -> impl FnMut(&mut [u8]) -> usize {
    let mut fill = Some(fill);
    move |room| fill.take().map_or(0, |f| f(room))
}

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

use super::Connection;
use crate::error::{Error, ErrorKind};
use overture_types::UnixTime;

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

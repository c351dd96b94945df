//! Whole handshake messages from handshake-record payloads.

use crate::{Error, MAX_FRAGMENT_LEN};
use overture_types::Reader;

/// The default largest handshake message body we accept: 64 KiB (certificate chains included).
pub const DEFAULT_MAX_HANDSHAKE_MESSAGE: usize = 64 * 1024;

/// The handshake message header: type (1) and body length (3).
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Joins handshake-record payloads into whole handshake messages: a message may span records,
/// a record may hold several messages. Memory is bounded by the largest message allowed plus
/// one record; a header announcing a longer message fails as soon as its 4 bytes are in.
///
/// A message must not span a key change (RFC 8446 §5.1): call
/// [`HandshakeJoiner::check_key_change`] before installing a new read key (TLS 1.3) or on a
/// ChangeCipherSpec (TLS 1.2). It fails if any byte of the old epoch is still buffered — which is
/// how a plaintext message packed behind ServerHello in the same record is refused.
///
/// ```
/// use overture_record_layer::HandshakeJoiner;
///
/// let mut j = HandshakeJoiner::default();
/// j.push(&[20, 0, 0, 3, 1])?;          // a Finished split across two records
/// assert_eq!(j.next_message()?, None);
/// j.push(&[2, 3, 14, 0, 0, 0])?;       // ...its end, then a whole ServerHelloDone
/// assert_eq!(j.next_message()?, Some(&[20, 0, 0, 3, 1, 2, 3][..]));
/// j.consume();
/// assert_eq!(j.next_message()?, Some(&[14, 0, 0, 0][..]));
/// j.consume();
/// j.check_key_change()?;               // nothing pending: keys may change
/// # Ok::<(), overture_record_layer::Error>(())
/// ```
#[derive(Debug)]
pub struct HandshakeJoiner {
    buf: Vec<u8>,
    /// The first byte not yet consumed.
    start: usize,
    /// The length of the message `next_message` returned last, until `consume`.
    current: Option<usize>,
    max_message: usize,
}

impl Default for HandshakeJoiner {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_HANDSHAKE_MESSAGE)
    }
}

impl HandshakeJoiner {
    /// A joiner that accepts messages whose body is at most `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            current: None,
            max_message,
        }
    }

    /// The largest body length accepted.
    pub fn max_message(&self) -> usize {
        self.max_message
    }

    /// Adds the payload of one handshake record. Fails on an empty payload, on a header that
    /// announces a message above the maximum, and if the caller left more than one record's
    /// worth of whole messages unconsumed.
    pub fn push(&mut self, record_payload: &[u8]) -> Result<(), Error> {
        if record_payload.is_empty() {
            return Err(Error::EmptyHandshakeRecord);
        }
        if self.buffered_len().saturating_add(record_payload.len()) > self.limit() {
            return Err(Error::HandshakeBufferFull);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(record_payload);
        self.check_headers(self.buf.get(self.start..).unwrap_or_default())
    }

    /// While nothing is buffered: the checks [`HandshakeJoiner::push`] makes on a record
    /// payload, without copying it in, so that its whole messages can be taken where they lie
    /// with [`HandshakeJoiner::whole_message`] (and only a message that goes on in the next
    /// record is pushed). Fails as `push` would on the same payload, and with
    /// [`Error::HandshakeBufferFull`] when bytes are buffered (the payload must then be pushed).
    ///
    /// ```
    /// use overture_record_layer::HandshakeJoiner;
    ///
    /// let j = HandshakeJoiner::default();
    /// let record = [20, 0, 0, 1, 9, 14, 0, 0, 0, 11, 0];
    /// j.check_record(&record)?;
    /// let first = j.whole_message(&record)?.unwrap_or_default();
    /// assert_eq!(first, &[20, 0, 0, 1, 9][..]);
    /// let second = j.whole_message(&record[5..])?.unwrap_or_default();
    /// assert_eq!(second, &[14, 0, 0, 0][..]);
    /// assert_eq!(j.whole_message(&record[9..])?, None); // part of a header: push it
    /// # Ok::<(), overture_record_layer::Error>(())
    /// ```
    pub fn check_record(&self, record_payload: &[u8]) -> Result<(), Error> {
        if record_payload.is_empty() {
            return Err(Error::EmptyHandshakeRecord);
        }
        if !self.is_empty() || record_payload.len() > self.limit() {
            return Err(Error::HandshakeBufferFull);
        }
        self.check_headers(record_payload)
    }

    /// The bytes [`HandshakeJoiner::push`] accepts buffered at once: the largest message and
    /// one record.
    fn limit(&self) -> usize {
        self.max_message
            .saturating_add(HANDSHAKE_HEADER_LEN)
            .saturating_add(MAX_FRAGMENT_LEN)
    }

    /// The whole message at the start of `bytes` (header included), `None` when `bytes` hold
    /// only part of one; fails on a header that announces a message above the maximum.
    pub fn whole_message<'b>(&self, bytes: &'b [u8]) -> Result<Option<&'b [u8]>, Error> {
        let mut r = Reader::new(bytes);
        if r.left() < HANDSHAKE_HEADER_LEN {
            return Ok(None);
        }
        let len = self.header_len(&mut r)?;
        if r.left() < len {
            return Ok(None);
        }
        Ok(bytes.get(..HANDSHAKE_HEADER_LEN.saturating_add(len)))
    }

    /// Checks the length of every message header that is complete in `bytes`.
    fn check_headers(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut r = Reader::new(bytes);
        while r.left() >= HANDSHAKE_HEADER_LEN {
            let len = self.header_len(&mut r)?;
            if r.take(len).is_none() {
                break;
            }
        }
        Ok(())
    }

    fn header_len(&self, r: &mut Reader<'_>) -> Result<usize, Error> {
        let (Ok(_typ), Ok(len)) = (r.u8("type"), r.u24("length")) else {
            return Ok(usize::MAX);
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > self.max_message {
            return Err(Error::HandshakeMessageTooLarge {
                len,
                max: self.max_message,
            });
        }
        Ok(len)
    }

    /// The next whole message, header included, or `None` until more records arrive. The same
    /// message is returned again until [`HandshakeJoiner::consume`].
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, Error> {
        let rest = self.buf.get(self.start..).unwrap_or_default();
        let message = Self::whole_message(self, rest)?;
        self.current = message.map(<[u8]>::len);
        Ok(message)
    }

    /// Drops the message [`HandshakeJoiner::next_message`] returned last (nothing if none).
    pub fn consume(&mut self) {
        if let Some(n) = self.current.take() {
            self.start = self.start.saturating_add(n).min(self.buf.len());
        }
        if self.start == self.buf.len() {
            self.start = 0;
            self.buf.clear();
            // Give back what a large certificate chain took; keep one record's worth.
            if self.buf.capacity() > 2 * MAX_FRAGMENT_LEN {
                self.buf = Vec::new();
            }
        }
    }

    /// Before the read keys change: fails with `unexpected_message` if any byte is buffered
    /// (a partial message, or a whole one not yet consumed).
    pub fn check_key_change(&self) -> Result<(), Error> {
        match self.buffered_len() {
            0 => Ok(()),
            buffered => Err(Error::HandshakeSpansKeyChange { buffered }),
        }
    }

    /// How many bytes are buffered and not consumed.
    pub fn buffered_len(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Whether nothing is buffered (e.g. to refuse other record types interleaved inside a
    /// handshake message, RFC 8446 §5.1).
    pub fn is_empty(&self) -> bool {
        self.buffered_len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_types::AlertDescription;

    fn msg(typ: u8, body_len: usize) -> Vec<u8> {
        let mut m = vec![typ];
        m.extend_from_slice(&u32::try_from(body_len).unwrap().to_be_bytes()[1..]);
        m.extend((0..body_len).map(|i| u8::try_from(i % 256).unwrap()));
        m
    }

    #[test]
    fn several_messages_in_one_record() {
        let a = msg(2, 10);
        let b = msg(8, 3);
        let c = msg(11, 0);
        let mut j = HandshakeJoiner::default();
        j.push(&[a.clone(), b.clone(), c.clone()].concat()).unwrap();
        for m in [&a, &b, &c] {
            assert_eq!(j.next_message().unwrap(), Some(&m[..]));
            // Returned again until consumed.
            assert_eq!(j.next_message().unwrap(), Some(&m[..]));
            j.consume();
        }
        assert_eq!(j.next_message().unwrap(), None);
        assert!(j.is_empty());
    }

    #[test]
    fn one_message_over_many_records_one_byte_each() {
        let m = msg(11, 40_000);
        let mut j = HandshakeJoiner::default();
        for (i, b) in m.iter().enumerate() {
            assert_eq!(j.next_message().unwrap(), None, "at byte {i}");
            j.push(&[*b]).unwrap();
        }
        assert_eq!(j.next_message().unwrap(), Some(&m[..]));
        j.consume();
        assert_eq!(j.buffered_len(), 0);
    }

    #[test]
    fn message_limit_is_enforced_on_the_header() {
        let mut j = HandshakeJoiner::new(100);
        assert!(j.push(&msg(11, 100)).is_ok());
        j.next_message().unwrap().unwrap();
        j.consume();
        // Only the header of a too-long message: refused before its body is buffered.
        let e = j.push(&[11, 0, 0, 101]).unwrap_err();
        assert_eq!(e, Error::HandshakeMessageTooLarge { len: 101, max: 100 });
        assert_eq!(e.alert(), AlertDescription::DecodeError);
        // The default: 64 KiB, and a header of 2^24-1 bytes is refused.
        let mut j = HandshakeJoiner::default();
        let e = j.push(&[11, 0xff, 0xff, 0xff]).unwrap_err();
        assert_eq!(e.alert(), AlertDescription::DecodeError);
        let mut j = HandshakeJoiner::default();
        assert!(j.push(&[11, 0x01, 0x00, 0x00]).is_ok());
        assert!(j.push(&[11, 0x01, 0x00, 0x01]).is_ok()); // still within the first body
        let mut j = HandshakeJoiner::default();
        assert!(j.push(&[11, 0x01, 0x00, 0x01]).is_err());
    }

    #[test]
    fn a_too_long_message_behind_a_good_one_is_refused() {
        let mut j = HandshakeJoiner::new(100);
        let e = j
            .push(&[msg(2, 5), vec![11, 0, 1, 0]].concat())
            .unwrap_err();
        assert_eq!(e.alert(), AlertDescription::DecodeError);
    }

    #[test]
    fn unconsumed_messages_are_bounded() {
        let mut j = HandshakeJoiner::new(16);
        let record = msg(2, 16).repeat(16384 / 20);
        j.push(&record).unwrap();
        let e = j.push(&record).unwrap_err();
        assert_eq!(e, Error::HandshakeBufferFull);
        assert_eq!(e.alert(), AlertDescription::InternalError);
    }

    #[test]
    fn empty_payload_is_refused() {
        let e = HandshakeJoiner::default().push(&[]).unwrap_err();
        assert_eq!(e.alert(), AlertDescription::UnexpectedMessage);
    }

    #[test]
    fn key_change_with_partial_or_whole_pending_bytes_fails() {
        let mut j = HandshakeJoiner::default();
        j.check_key_change().unwrap();
        j.push(&[20, 0, 0]).unwrap();
        let e = j.check_key_change().unwrap_err();
        assert_eq!(e, Error::HandshakeSpansKeyChange { buffered: 3 });
        assert_eq!(e.alert(), AlertDescription::UnexpectedMessage);

        let mut j = HandshakeJoiner::default();
        j.push(&msg(20, 32)).unwrap();
        assert!(j.next_message().unwrap().is_some());
        // Returned but not consumed: still pending.
        assert!(j.check_key_change().is_err());
        j.consume();
        j.check_key_change().unwrap();
    }

    /// RUSTSEC-2026-0285: a plaintext handshake message packed behind ServerHello in the same
    /// record must not survive the switch to the handshake keys.
    #[test]
    fn plaintext_message_behind_server_hello_is_refused_at_the_key_change() {
        let server_hello = msg(2, 86);
        let encrypted_extensions = msg(8, 2);
        let mut j = HandshakeJoiner::default();
        j.push(&[server_hello.clone(), encrypted_extensions].concat())
            .unwrap();
        assert_eq!(j.next_message().unwrap(), Some(&server_hello[..]));
        j.consume();
        // The client now installs the server handshake key.
        let e = j.check_key_change().unwrap_err();
        assert_eq!(e, Error::HandshakeSpansKeyChange { buffered: 6 });
        assert_eq!(e.alert(), AlertDescription::UnexpectedMessage);
    }

    #[test]
    fn memory_of_a_large_message_is_given_back() {
        let mut j = HandshakeJoiner::default();
        for chunk in msg(11, 60_000).chunks(16384) {
            j.push(chunk).unwrap();
        }
        assert!(j.next_message().unwrap().is_some());
        j.consume();
        assert!(j.buf.capacity() <= 2 * MAX_FRAGMENT_LEN);
    }
    #[test]
    fn a_record_checked_in_place_fails_as_a_pushed_one() {
        let j = HandshakeJoiner::new(100);
        let records = [
            vec![],
            [msg(2, 5), vec![11, 0, 1, 0]].concat(),
            vec![11, 0, 0, 101],
            msg(2, 5),
            [msg(2, 5), vec![11, 0]].concat(),
        ];
        for record in records {
            let pushed = HandshakeJoiner::new(100).push(&record);
            assert_eq!(j.check_record(&record), pushed, "{record:?}");
        }
        // Whole messages are taken where they lie; a part of one is not a message.
        let record = [msg(2, 5), msg(20, 3), vec![11, 0, 0]].concat();
        let first = j.whole_message(&record).unwrap().unwrap();
        assert_eq!(first, &msg(2, 5)[..]);
        let second = j.whole_message(&record[9..]).unwrap().unwrap();
        assert_eq!(second, &msg(20, 3)[..]);
        assert_eq!(j.whole_message(&record[16..]).unwrap(), None);
        assert_eq!(
            j.whole_message(&[11, 0, 0, 101]).unwrap_err(),
            Error::HandshakeMessageTooLarge { len: 101, max: 100 }
        );
    }

    #[test]
    fn a_record_is_not_checked_in_place_behind_buffered_bytes() {
        let mut j = HandshakeJoiner::default();
        j.push(&[20, 0, 0, 3, 1]).unwrap();
        assert_eq!(j.check_record(&[2, 3]), Err(Error::HandshakeBufferFull));
        // ...it is pushed, as before.
        j.push(&[2, 3]).unwrap();
        assert_eq!(j.next_message().unwrap(), Some(&[20, 0, 0, 3, 1, 2, 3][..]));
    }
}

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
        let limit = self
            .max_message
            .saturating_add(HANDSHAKE_HEADER_LEN)
            .saturating_add(MAX_FRAGMENT_LEN);
        if self.buffered_len().saturating_add(record_payload.len()) > limit {
            return Err(Error::HandshakeBufferFull);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(record_payload);
        self.check_headers()
    }

    /// Checks the length of every message header that is complete in the buffer.
    fn check_headers(&self) -> Result<(), Error> {
        let mut r = Reader::new(self.buf.get(self.start..).unwrap_or_default());
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
        let mut r = Reader::new(rest);
        if r.left() < HANDSHAKE_HEADER_LEN {
            return Ok(None);
        }
        let len = self.header_len(&mut r)?;
        if r.left() < len {
            return Ok(None);
        }
        let total = HANDSHAKE_HEADER_LEN.saturating_add(len);
        self.current = Some(total);
        Ok(rest.get(..total))
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
}

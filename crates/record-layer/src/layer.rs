//! The record layer: deframing, record protection, sequence numbers and limits.

use crate::error::Direction;
use crate::key::{Padding, RecordKey, Style};
use crate::{
    Error, HEADER_LEN, INPUT_BUFFER_LEN, KEY_UPDATE_MARGIN, MAX_EMPTY_RECORDS, MAX_FRAGMENT_LEN,
    MAX_INNER_PLAINTEXT_LEN, MAX_TLS12_CIPHERTEXT_LEN, MAX_TLS13_CIPHERTEXT_LEN, MIN_READ,
};
use core::fmt;
use overture_crypto_provider::TAG_LEN;
use overture_types::{ContentType, ProtocolVersion, Reader};

/// One record, opened: its (inner) content type and plaintext, borrowed from the input buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The content type (for a TLS 1.3 protected record, the inner type).
    pub typ: ContentType,
    /// The plaintext: padding, inner type, explicit nonce and tag removed.
    pub payload: &'a [u8],
}

struct ReadState {
    key: RecordKey,
    seq: u64,
    failures: u64,
}

struct WriteState {
    key: RecordKey,
    seq: u64,
}

/// What one step of the deframer found.
enum Step {
    NeedMore,
    Swallowed,
    Record {
        typ: ContentType,
        start: usize,
        end: usize,
    },
}

/// Legacy version of records we send before a version is negotiated (RFC 8446 §5.1 allows
/// 0x0301 for the initial ClientHello).
const INITIAL_RECORD_VERSION: u16 = 0x0301;
/// Legacy version of every TLS 1.3 / TLS 1.2 record after that, and of every protected record.
const TLS12_RECORD_VERSION: u16 = 0x0303;

/// A TLS record layer for one connection: an input buffer of one maximal record that the
/// caller fills ([`RecordLayer::spare`], [`RecordLayer::advance`]) and from which whole records
/// are opened in place ([`RecordLayer::next_record`]); and sealing, in place into the caller's
/// buffer ([`RecordLayer::seal_in_place`]) or appended to a `Vec` ([`RecordLayer::seal`]).
///
/// Until keys are installed records are plaintext. A TLS 1.3 key protects with IV xor seq,
/// the inner content type and the record header as AAD; a TLS 1.2 key with the RFC 5288 or
/// RFC 7905 nonce and the `seq ‖ type ‖ version ‖ length` AAD. Which one is the key's business
/// ([`RecordKey`]); [`RecordLayer::set_version`] only decides the record version we write and
/// check.
pub struct RecordLayer {
    input: Vec<u8>,
    /// First byte not yet deframed.
    start: usize,
    /// End of the bytes received.
    end: usize,
    version: Option<ProtocolVersion>,
    rx: Rx,
    write: Option<WriteState>,
    padding: Padding,
    /// The most content bytes one protected record we seal may carry (the peer's
    /// record_size_limit, RFC 8449; 2^14 without one).
    send_limit: usize,
}

impl Default for RecordLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RecordLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordLayer")
            .field("version", &self.version)
            .field("buffered", &self.buffered_len())
            .field("read_key", &self.rx.read.as_ref().map(|r| (&r.key, r.seq)))
            .field("write_key", &self.write.as_ref().map(|w| (&w.key, w.seq)))
            .field("ccs_allowed", &self.rx.ccs_allowed)
            .finish_non_exhaustive()
    }
}

impl RecordLayer {
    /// A record layer with no keys (plaintext records) and no version yet.
    pub fn new() -> Self {
        Self {
            input: Vec::new(),
            start: 0,
            end: 0,
            version: None,
            rx: Rx {
                read: None,
                ccs_allowed: false,
                empty_run: 0,
                limit: None,
            },
            write: None,
            padding: Padding::None,
            send_limit: MAX_FRAGMENT_LEN,
        }
    }

    /// The negotiated version (once ServerHello chose it; also on HelloRetryRequest). Records
    /// we send carry 0x0301 before this and 0x0303 after; records we receive must then carry
    /// exactly the version for TLS 1.2, and any `0x03xx` for TLS 1.3 (RFC 8446 §5.1: the field
    /// is ignored; we only check that it looks like TLS).
    pub fn set_version(&mut self, version: ProtocolVersion) {
        self.version = Some(version);
    }

    /// The version set with [`RecordLayer::set_version`].
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// TLS 1.3 middlebox-compatibility mode (RFC 8446 §5, D.4): while on, unprotected
    /// ChangeCipherSpec records whose payload is exactly `0x01` are swallowed (RFC 8446 §5:
    /// "at any time ... before the peer's Finished"), at most [`MAX_EMPTY_RECORDS`] in a row
    /// (they count as records without content). Any other one is `unexpected_message`. Turn it
    /// off when the handshake completes.
    pub fn allow_ccs(&mut self, allow: bool) {
        self.rx.ccs_allowed = allow;
    }

    /// The padding we add to TLS 1.3 records (none by default).
    pub fn set_padding(&mut self, padding: Padding) {
        self.padding = padding;
    }

    /// Caps the content of every protected record we seal at `content` bytes (RFC 8449: the
    /// peer's record_size_limit, as `overture_handshake::record_content_limit` turns it into
    /// content bytes — TLS 1.3: limit − 1 for the inner content type). Clamped to 1..=2^14.
    /// [`RecordLayer::seal`] splits data into records of at most this; a larger payload given
    /// to [`RecordLayer::seal_in_place`] is refused. Plaintext records (the ClientHello,
    /// ChangeCipherSpec) are not capped: the limit only protects records under a key.
    pub fn set_send_limit(&mut self, content: usize) {
        self.send_limit = content.clamp(1, MAX_FRAGMENT_LEN);
    }

    /// The most content bytes a protected record we seal carries now (2^14 by default).
    pub fn send_limit(&self) -> usize {
        self.send_limit
    }

    /// Our own record_size_limit (RFC 8449), once the peer agreed to it: every protected
    /// record we open whose plaintext is longer than `limit` bytes is
    /// [`Error::RecordOverflow`] (`record_overflow`). TLS 1.3 counts the whole inner plaintext
    /// (content, content type byte and padding), TLS 1.2 the plaintext. Plaintext records
    /// are exempt (they may precede the peer's knowledge of our limit). The protocol maxima
    /// still apply above it.
    pub fn set_receive_limit(&mut self, limit: usize) {
        self.rx.limit = Some(limit);
    }

    /// Installs a new read key; its sequence number starts at 0.
    pub fn set_read_key(&mut self, key: RecordKey) {
        self.rx.read = Some(ReadState {
            key,
            seq: 0,
            failures: 0,
        });
    }

    /// Installs a new write key; its sequence number starts at 0.
    pub fn set_write_key(&mut self, key: RecordKey) {
        self.write = Some(WriteState { key, seq: 0 });
    }

    /// Removes the write key: records we seal are plaintext again (TLS 1.3 0-RTT rejected
    /// before any handshake key: after a HelloRetryRequest the second ClientHello, and after a
    /// TLS 1.2 ServerHello the client's first flight, go out unprotected).
    pub fn clear_write_key(&mut self) {
        self.write = None;
    }

    /// The sequence number of the next record we open (0 without a key).
    pub fn read_seq(&self) -> u64 {
        self.rx.read.as_ref().map_or(0, |r| r.seq)
    }

    /// The sequence number of the next record we seal (0 without a key).
    pub fn write_seq(&self) -> u64 {
        self.write.as_ref().map_or(0, |w| w.seq)
    }

    /// Whether the write key is within [`KEY_UPDATE_MARGIN`] records of its usage limit
    /// (RFC 8446 §5.5, or of sequence-number exhaustion): a TLS 1.3 client sends KeyUpdate
    /// now; a TLS 1.2 connection should be closed. At the limit itself sealing fails.
    pub fn write_needs_key_update(&self) -> bool {
        self.write.as_ref().is_some_and(|w| {
            w.seq
                >= w.key
                    .algorithm
                    .confidentiality_limit()
                    .saturating_sub(KEY_UPDATE_MARGIN)
        })
    }

    /// Test hook: sets the read state's sequence number and failure count.
    #[cfg(test)]
    pub(crate) fn set_read_state(&mut self, seq: u64, failures: u64) {
        if let Some(r) = self.rx.read.as_mut() {
            r.seq = seq;
            r.failures = failures;
        }
    }

    /// Test hook: sets the write sequence number.
    #[cfg(test)]
    pub(crate) fn set_write_seq(&mut self, seq: u64) {
        if let Some(w) = self.write.as_mut() {
            w.seq = seq;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Input

    /// The free input space: read the transport into it, then call [`RecordLayer::advance`].
    /// Never empty while no whole record is buffered.
    ///
    /// The buffer grows with what arrives — at least [`MIN_READ`] bytes of room, enough for
    /// the record being read, never more than one maximal record ([`INPUT_BUFFER_LEN`]) — so a
    /// connection that only ever sees small records never holds (or zeroes) 18 KiB; a partial
    /// record is moved to the front only when it would not fit behind. Space handed out here
    /// must be initialised (safe Rust reads only into initialised bytes), so new space is
    /// zero-filled once as the buffer grows; [`RecordLayer::fill`] appends without that.
    pub fn spare(&mut self) -> &mut [u8] {
        let want = self.make_room(0);
        if self.input.len() < want {
            self.input.resize(want, 0);
        }
        self.input.get_mut(self.end..).unwrap_or_default()
    }

    /// Copies the start of `data` into the input (as much as [`RecordLayer::spare`] would
    /// offer) and returns how many bytes it took: the same bounds, but space beyond what the
    /// buffer had initialised is appended to, never zero-filled first (for a transport that
    /// lends its bytes, or a caller that has them in memory).
    pub fn fill(&mut self, data: &[u8]) -> usize {
        // With nothing buffered, the header in `data` says how long the record is: room for
        // all of it at once (no growing, and no copying, as its bytes arrive).
        let hint = if self.start == self.end {
            record_len_hint(data)
        } else {
            0
        };
        let want = self.make_room(hint).max(self.input.len());
        let n = want.saturating_sub(self.end).min(data.len());
        let (src, _) = data.split_at(n);
        let inited = self.input.len().clamp(self.end, self.end + n) - self.end;
        let (copy, append) = src.split_at(inited);
        if let Some(dst) = self.input.get_mut(self.end..self.end + inited) {
            dst.copy_from_slice(copy);
        }
        if !append.is_empty() {
            self.input.truncate(self.end + inited);
            self.input.extend_from_slice(append);
        }
        self.end += n;
        n
    }

    /// Gets the buffer ready for more input: drops what was deframed, moves a partial record
    /// to the front when it would not fit behind, reserves (without initialising) enough for
    /// the record being read (or `hint` bytes, a record about to be appended, when longer);
    /// returns how long the buffer may be now.
    fn make_room(&mut self, hint: usize) -> usize {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            let need = self.pending_record_len();
            if self.start.saturating_add(need) > INPUT_BUFFER_LEN {
                self.input.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
        }
        let want = self
            .start
            .saturating_add(self.pending_record_len())
            .max(self.end.saturating_add(MIN_READ))
            .max(hint)
            .min(INPUT_BUFFER_LEN);
        if self.input.capacity() < want {
            // Grow by doubling as `Vec` would, but never past one maximal record: left to
            // itself, `resize` could double 16 KiB into 32 KiB for an 18 KiB need.
            let target = want
                .max(self.input.capacity().saturating_mul(2))
                .min(INPUT_BUFFER_LEN);
            self.input.reserve_exact(target - self.input.len());
        }
        want
    }

    /// Gives the input buffer's memory back when it holds no byte (e.g. once a handshake is
    /// complete and before bulk data flows); the next [`RecordLayer::spare`] grows it again.
    pub fn release_input(&mut self) {
        if self.start == self.end {
            self.input = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }

    /// `n` bytes were written at the start of [`RecordLayer::spare`].
    pub fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.input.len() - self.end, "advance beyond spare()");
        self.end = self.end.saturating_add(n).min(self.input.len());
    }

    /// Bytes received and not yet returned as records.
    pub fn buffered_len(&self) -> usize {
        self.end - self.start
    }

    /// The length of the record at `start` if its header is in, else the header length.
    fn pending_record_len(&self) -> usize {
        let mut r = Reader::new(self.input.get(self.start..self.end).unwrap_or_default());
        match (r.take(3), r.u16("length")) {
            (Some(_), Ok(len)) => HEADER_LEN + usize::from(len),
            _ => HEADER_LEN,
        }
    }

    /// The next whole record, opened in place, or `None` until more bytes arrive. A swallowed
    /// compatibility ChangeCipherSpec is not returned. Errors are fatal for the connection:
    /// send [`Error::alert`].
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, Error> {
        loop {
            match self.step()? {
                Step::NeedMore => return Ok(None),
                Step::Swallowed => {}
                Step::Record { typ, start, end } => {
                    let payload = self.input.get(start..end).unwrap_or_default();
                    return Ok(Some(Record { typ, payload }));
                }
            }
        }
    }

    fn step(&mut self) -> Result<Step, Error> {
        let avail = self.input.get(self.start..self.end).unwrap_or_default();
        let Some((typ, len)) = self.rx.header(self.version, avail)? else {
            return Ok(Step::NeedMore);
        };
        let rec_start = self.start;
        let rec_end = rec_start + HEADER_LEN + len;
        if self.end < rec_end {
            return Ok(Step::NeedMore);
        }
        // The record is taken whatever happens next: a failed record is never looked at again.
        self.start = rec_end;
        let record = self.input.get_mut(rec_start..rec_end).unwrap_or_default();
        Ok(match self.rx.process(self.version, typ, record)? {
            Step::Record { typ, start, end } => Step::Record {
                typ,
                start: rec_start + start,
                end: rec_start + end,
            },
            other => other,
        })
    }

    /// Opens one whole record (header ‖ body, exactly) that the caller holds in its own buffer,
    /// in place: the low-level path, with the same checks, keys and sequence numbers as
    /// [`RecordLayer::next_record`] (do not mix the two for one direction's byte stream).
    /// `Ok(None)` for a swallowed compatibility ChangeCipherSpec.
    pub fn open_in_place<'b>(&mut self, record: &'b mut [u8]) -> Result<Option<Record<'b>>, Error> {
        let given = record.len();
        let Some((typ, len)) = self.rx.header(self.version, record)? else {
            return Err(Error::RecordLength {
                given,
                expected: HEADER_LEN,
            });
        };
        if given != HEADER_LEN + len {
            return Err(Error::RecordLength {
                given,
                expected: HEADER_LEN + len,
            });
        }
        match self.rx.process(self.version, typ, record)? {
            Step::Record { typ, start, end } => {
                let record: &'b [u8] = record;
                let payload = record.get(start..end).unwrap_or_default();
                Ok(Some(Record { typ, payload }))
            }
            Step::Swallowed | Step::NeedMore => Ok(None),
        }
    }

    /// The whole length (header included) of the record that starts `bytes`, judged as
    /// [`RecordLayer::next_record`] judges a header (type, version, length limits: garbage
    /// fails as soon as it is in); `None` while the header is incomplete. For a caller that
    /// deframes a buffer of its own and opens each record with [`RecordLayer::open_in_place`].
    pub fn record_len(&self, bytes: &[u8]) -> Result<Option<usize>, Error> {
        Ok(self
            .rx
            .header(self.version, bytes)?
            .map(|(_, len)| HEADER_LEN + len))
    }

    // -----------------------------------------------------------------------------------------
    // Output

    /// Whether a record of `typ` is protected now (ChangeCipherSpec never is).
    fn protects(&self, typ: ContentType) -> Option<&WriteState> {
        match typ {
            ContentType::ChangeCipherSpec => None,
            _ => self.write.as_ref(),
        }
    }

    /// Where the payload starts in a buffer given to [`RecordLayer::seal_in_place`]: the
    /// record header, plus the explicit nonce of TLS 1.2 AES-GCM.
    pub fn seal_headroom(&self, typ: ContentType) -> usize {
        HEADER_LEN + self.protects(typ).map_or(0, |w| w.key.explicit_len())
    }

    /// How many bytes a record of `typ` holding `payload_len` bytes takes in all (header,
    /// explicit nonce, payload, TLS 1.3 content type and padding, tag).
    pub fn sealed_len(&self, typ: ContentType, payload_len: usize) -> usize {
        let tail = match self.protects(typ) {
            None => 0,
            Some(w) if w.key.style == Style::Tls13 => 1 + self.pad_len(payload_len) + TAG_LEN,
            Some(_) => TAG_LEN,
        };
        self.seal_headroom(typ) + payload_len + tail
    }

    /// The TLS 1.3 padding for a protected record of `payload_len` content bytes: the padding
    /// policy's, cut so that content, type and padding stay within the send limit + 1 (RFC 8449
    /// counts padding in the peer's limit).
    fn pad_len(&self, payload_len: usize) -> usize {
        self.padding
            .pad_len(payload_len)
            .min(self.send_limit.saturating_sub(payload_len))
    }

    /// Seals one record in place. `buf[seal_headroom(typ)..][..payload_len]` holds the payload
    /// (at most 2^14 bytes) and `buf` is at least `sealed_len(typ, payload_len)` long; on
    /// return `buf[..n]` is the record, `n` the returned length. No allocation, no copy.
    pub fn seal_in_place(
        &mut self,
        typ: ContentType,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<usize, Error> {
        if payload_len > MAX_FRAGMENT_LEN
            || (payload_len > self.send_limit && self.protects(typ).is_some())
        {
            return Err(Error::FragmentTooLong(payload_len));
        }
        let total = self.sealed_len(typ, payload_len);
        if buf.len() < total {
            return Err(Error::SealBuffer {
                needed: total,
                given: buf.len(),
            });
        }
        let pad = self.pad_len(payload_len);
        let plain_version = match self.version {
            None => INITIAL_RECORD_VERSION,
            Some(ProtocolVersion::TLSv1_3) => TLS12_RECORD_VERSION,
            Some(v) => v.get(),
        };
        let write = match typ {
            ContentType::ChangeCipherSpec => None,
            _ => self.write.as_mut(),
        };
        let Some(w) = write else {
            if typ == ContentType::ApplicationData {
                return Err(Error::NoWriteKey);
            }
            let (hdr, _) = split(buf, HEADER_LEN)?;
            hdr.copy_from_slice(&header(typ.get(), plain_version, payload_len)?);
            return Ok(total);
        };
        check_write_budget(w, 1)?;
        let seq = w.seq;
        let body_len = total - HEADER_LEN;
        let record = buf.get_mut(..total).unwrap_or_default();
        let (hdr, body) = split(record, HEADER_LEN)?;
        let (sealed, tag_slot) = match w.key.style {
            Style::Tls13 => {
                let hb = header(
                    ContentType::ApplicationData.get(),
                    TLS12_RECORD_VERSION,
                    body_len,
                )?;
                hdr.copy_from_slice(&hb);
                let (in_out, tag_slot) = split(body, payload_len + 1 + pad)?;
                let (_, trailer) = split(in_out, payload_len)?;
                if let Some((t, zeros)) = trailer.split_first_mut() {
                    *t = typ.get();
                    zeros.fill(0);
                }
                let tag = w.key.aead.seal_in_place(w.key.nonce(seq), &hb, in_out);
                (tag, tag_slot)
            }
            Style::Tls12Gcm | Style::Tls12Xor => {
                hdr.copy_from_slice(&header(typ.get(), TLS12_RECORD_VERSION, body_len)?);
                let aad = tls12_aad(seq, typ.get(), TLS12_RECORD_VERSION, payload_len)?;
                let (explicit, rest) = split(body, w.key.explicit_len())?;
                // Our explicit nonce is the sequence number (RFC 5288 §3 leaves the choice).
                for (d, s) in explicit.iter_mut().zip(seq.to_be_bytes()) {
                    *d = s;
                }
                let (in_out, tag_slot) = split(rest, payload_len)?;
                let tag = w.key.aead.seal_in_place(w.key.nonce(seq), &aad, in_out);
                (tag, tag_slot)
            }
        };
        let tag = sealed.map_err(|_| Error::SealFailed)?;
        for (d, s) in tag_slot.iter_mut().zip(tag.0) {
            *d = s;
        }
        w.seq = seq + 1;
        Ok(total)
    }

    /// Seals the start of `data` as whole records of at most 2^14 bytes each (protected ones:
    /// at most [`RecordLayer::send_limit`]) straight into `out`, as many as fit: each chunk is
    /// copied once into its place in `out` and sealed there. Returns how many bytes of `data`
    /// were taken and how many of `out` were written (`(0, 0)` when not even one record
    /// fits). On an error nothing of this call counts as written.
    pub fn seal_into(
        &mut self,
        typ: ContentType,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), Error> {
        let fragment = match self.protects(typ) {
            Some(_) => self.send_limit,
            None => MAX_FRAGMENT_LEN,
        };
        let head = self.seal_headroom(typ);
        let (mut taken, mut written) = (0, 0);
        for chunk in data.chunks(fragment) {
            let total = self.sealed_len(typ, chunk.len());
            let Some(rec) = out.get_mut(written..written + total) else {
                break;
            };
            if let Some(dst) = rec.get_mut(head..head + chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.seal_in_place(typ, rec, chunk.len())?;
            taken += chunk.len();
            written += total;
        }
        Ok((taken, written))
    }

    /// Seals `data` as records of at most 2^14 bytes each (protected ones: at most
    /// [`RecordLayer::send_limit`]) and appends them to `out`: one copy of `data`, one
    /// reservation. Nothing is appended for empty `data`, and nothing at all if any record
    /// could not be sealed (e.g. the key's usage limit would be crossed).
    pub fn seal(&mut self, typ: ContentType, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let fragment = match self.protects(typ) {
            Some(_) => self.send_limit,
            None => MAX_FRAGMENT_LEN,
        };
        let records = data.len().div_ceil(fragment);
        if let Some(w) = self.protects(typ) {
            check_write_budget(w, u64::try_from(records).unwrap_or(u64::MAX))?;
        }
        let full = self.sealed_len(typ, fragment) - fragment;
        out.reserve(data.len() + records * full);
        let at = out.len();
        for chunk in data.chunks(fragment) {
            let rec = out.len();
            let head = self.seal_headroom(typ);
            let total = self.sealed_len(typ, chunk.len());
            out.resize(rec + head, 0);
            out.extend_from_slice(chunk);
            out.resize(rec + total, 0);
            let buf = out.get_mut(rec..).unwrap_or_default();
            if let Err(e) = self.seal_in_place(typ, buf, chunk.len()) {
                out.truncate(at);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The receive side's state, apart from the input buffer (so that records in the caller's
/// buffer and in ours are processed alike).
struct Rx {
    read: Option<ReadState>,
    ccs_allowed: bool,
    empty_run: usize,
    /// Our record_size_limit once agreed: the longest (inner) plaintext of a protected record.
    limit: Option<usize>,
}

impl Rx {
    /// Judges the header at the start of `bytes`, each field as soon as it is in (garbage
    /// fails fast). `None` while the header is incomplete; else the type and body length.
    fn header(
        &self,
        version: Option<ProtocolVersion>,
        bytes: &[u8],
    ) -> Result<Option<(ContentType, usize)>, Error> {
        let mut r = Reader::new(bytes);
        let Ok(typ_byte) = r.u8("type") else {
            return Ok(None);
        };
        let typ = ContentType::from(typ_byte);
        if !matches!(
            typ,
            ContentType::ChangeCipherSpec
                | ContentType::Alert
                | ContentType::Handshake
                | ContentType::ApplicationData
        ) {
            return Err(Error::UnknownContentType(typ_byte));
        }
        let Ok(v) = r.u16("version") else {
            return Ok(None);
        };
        check_version(version, v)?;
        let Ok(len) = r.u16("length") else {
            return Ok(None);
        };
        let len = usize::from(len);
        let (what, max) = match self.read.as_ref().map(|r| r.key.style) {
            None => ("plaintext", MAX_FRAGMENT_LEN),
            Some(Style::Tls13) => ("ciphertext", MAX_TLS13_CIPHERTEXT_LEN),
            Some(Style::Tls12Gcm | Style::Tls12Xor) => ("ciphertext", MAX_TLS12_CIPHERTEXT_LEN),
        };
        // Under our record_size_limit the protocol's expansion allowance applies to it: a
        // record that cannot fit is refused on its header, before its bytes are buffered.
        let max = match (self.limit, self.read.as_ref().map(|r| r.key.style)) {
            (Some(limit), Some(Style::Tls13)) => {
                max.min(limit + (MAX_TLS13_CIPHERTEXT_LEN - MAX_INNER_PLAINTEXT_LEN))
            }
            (Some(limit), Some(_)) => {
                max.min(limit + (MAX_TLS12_CIPHERTEXT_LEN - MAX_FRAGMENT_LEN))
            }
            _ => max,
        };
        if len > max {
            return Err(Error::RecordOverflow { what, len, max });
        }
        Ok(Some((typ, len)))
    }

    /// Processes one whole record whose header [`Rx::header`] accepted: opens it in place if a
    /// read key is in, applies the content rules. Positions are relative to `record`.
    fn process(
        &mut self,
        version: Option<ProtocolVersion>,
        typ: ContentType,
        record: &mut [u8],
    ) -> Result<Step, Error> {
        let len = record.len();
        if typ == ContentType::ChangeCipherSpec {
            return self.change_cipher_spec(version, record);
        }
        let (typ, start, end) = match self.read.as_mut() {
            None if typ == ContentType::ApplicationData => {
                return Err(Error::UnexpectedRecord {
                    typ,
                    why: "application data before any key",
                });
            }
            None => (typ, HEADER_LEN, len),
            Some(read) => open(read, typ, record, self.limit)?,
        };
        self.check_content(typ, end - start)?;
        Ok(Step::Record { typ, start, end })
    }

    fn change_cipher_spec(
        &mut self,
        version: Option<ProtocolVersion>,
        record: &[u8],
    ) -> Result<Step, Error> {
        let is_one = record.get(HEADER_LEN..) == Some(&[1][..]);
        if self.ccs_allowed {
            if !is_one {
                return Err(Error::UnexpectedChangeCipherSpec("payload is not 0x01"));
            }
            // RFC 8446 §5: every such record until the peer's Finished "MUST simply [be
            // dropped]"; a run of them counts as records without content, so a flood ends at
            // the empty-record limit (as BoringSSL counts them).
            self.empty_run += 1;
            if self.empty_run > MAX_EMPTY_RECORDS {
                return Err(Error::TooManyEmptyRecords(self.empty_run));
            }
            return Ok(Step::Swallowed);
        }
        if version == Some(ProtocolVersion::TLSv1_2) && self.read.is_none() {
            if !is_one {
                return Err(Error::MalformedChangeCipherSpec);
            }
            self.empty_run = 0;
            return Ok(Step::Record {
                typ: ContentType::ChangeCipherSpec,
                start: HEADER_LEN,
                end: record.len(),
            });
        }
        Err(Error::UnexpectedChangeCipherSpec(
            "not allowed here (compat-mode CCS already seen, or not in TLS 1.3 compat mode)",
        ))
    }

    fn check_content(&mut self, typ: ContentType, len: usize) -> Result<(), Error> {
        match (typ, len) {
            (ContentType::Handshake, 0) => Err(Error::EmptyHandshakeRecord),
            (ContentType::Alert, n) if n != 2 => Err(Error::BadAlertLength(n)),
            (_, 0) => {
                self.empty_run += 1;
                if self.empty_run > MAX_EMPTY_RECORDS {
                    return Err(Error::TooManyEmptyRecords(self.empty_run));
                }
                Ok(())
            }
            _ => {
                self.empty_run = 0;
                Ok(())
            }
        }
    }
}

fn check_version(negotiated: Option<ProtocolVersion>, v: u16) -> Result<(), Error> {
    if v >> 8 != 0x03 {
        return Err(Error::BadRecordVersion(v));
    }
    match negotiated {
        None | Some(ProtocolVersion::TLSv1_3) => Ok(()),
        Some(n) if n.get() == v => Ok(()),
        Some(_) => Err(Error::BadRecordVersion(v)),
    }
}

/// Fails unless `records` more records may be sealed under `w` (sequence numbers
/// `seq..seq + records`, never wrapping, never beyond the key's confidentiality limit).
fn check_write_budget(w: &WriteState, records: u64) -> Result<(), Error> {
    let after = w
        .seq
        .checked_add(records)
        .ok_or(Error::SequenceExhausted(Direction::Write))?;
    if after > w.key.algorithm.confidentiality_limit() {
        return Err(Error::KeyLimitReached);
    }
    Ok(())
}

/// Opens `record` (header ‖ body) in place under `read`; returns the inner type and the
/// payload's range within `record`.
fn open(
    read: &mut ReadState,
    outer: ContentType,
    record: &mut [u8],
    limit: Option<usize>,
) -> Result<(ContentType, usize, usize), Error> {
    if read.failures >= read.key.algorithm.integrity_limit() {
        return Err(Error::IntegrityLimitReached);
    }
    if read.seq == u64::MAX {
        return Err(Error::SequenceExhausted(Direction::Read));
    }
    let seq = read.seq;
    let (hdr, body) = split(record, HEADER_LEN)?;
    let hdr: &[u8] = hdr;
    let opened = match read.key.style {
        Style::Tls13 => {
            if outer != ContentType::ApplicationData {
                return Err(Error::UnexpectedRecord {
                    typ: outer,
                    why: "not protected after the read key was installed",
                });
            }
            read.key
                .aead
                .open_in_place(read.key.nonce(seq), hdr, body)
                .map(|n| (0, n))
        }
        Style::Tls12Gcm | Style::Tls12Xor => {
            let explicit_len = read.key.explicit_len();
            let Some(plain_len) = body
                .len()
                .checked_sub(explicit_len)
                .and_then(|l| l.checked_sub(TAG_LEN))
            else {
                read.failures += 1;
                return Err(Error::DecryptFailed);
            };
            let version = u16::from_be_bytes(hdr_version(hdr));
            let aad = tls12_aad(seq, outer.get(), version, plain_len)?;
            let (explicit, ciphertext) = split(body, explicit_len)?;
            let nonce = match read.key.style {
                Style::Tls12Gcm => read.key.gcm_nonce(explicit),
                _ => read.key.nonce(seq),
            };
            read.key
                .aead
                .open_in_place(nonce, &aad, ciphertext)
                .map(|n| (explicit_len, n))
        }
    };
    let Ok((offset, n)) = opened else {
        read.failures += 1;
        return Err(Error::DecryptFailed);
    };
    read.seq = seq + 1;
    let start = HEADER_LEN + offset;
    // RFC 8449 §4: our advertised limit counts the TLS 1.3 inner plaintext (content, type,
    // padding) or the TLS 1.2 plaintext.
    if let Some(max) = limit.filter(|max| n > *max) {
        return Err(Error::RecordOverflow {
            what: "plaintext (our record_size_limit)",
            len: n,
            max,
        });
    }
    if read.key.style != Style::Tls13 {
        if n > MAX_FRAGMENT_LEN {
            return Err(Error::RecordOverflow {
                what: "plaintext",
                len: n,
                max: MAX_FRAGMENT_LEN,
            });
        }
        return Ok((outer, start, start + n));
    }
    // TLS 1.3: TLSInnerPlaintext = content ‖ type ‖ zeros (RFC 8446 §5.4).
    if n > MAX_INNER_PLAINTEXT_LEN {
        return Err(Error::RecordOverflow {
            what: "inner plaintext",
            len: n,
            max: MAX_INNER_PLAINTEXT_LEN,
        });
    }
    let inner = record.get(start..start + n).unwrap_or_default();
    let Some(type_at) = inner.iter().rposition(|b| *b != 0) else {
        return Err(Error::MissingInnerContentType);
    };
    let inner_type = inner.get(type_at).copied().unwrap_or(0);
    let typ = ContentType::from(inner_type);
    match typ {
        ContentType::Handshake | ContentType::Alert | ContentType::ApplicationData => {
            Ok((typ, start, start + type_at))
        }
        ContentType::ChangeCipherSpec => Err(Error::UnexpectedChangeCipherSpec(
            "a protected change_cipher_spec",
        )),
        _ => Err(Error::UnknownContentType(inner_type)),
    }
}

/// The whole length a record header at the start of `bytes` announces (0 without a header);
/// only a size hint: the header is judged when the record is deframed.
fn record_len_hint(bytes: &[u8]) -> usize {
    match bytes {
        [_, _, _, l0, l1, ..] => HEADER_LEN + usize::from(u16::from_be_bytes([*l0, *l1])),
        _ => 0,
    }
}

fn hdr_version(hdr: &[u8]) -> [u8; 2] {
    let mut v = [0u8; 2];
    for (d, s) in v.iter_mut().zip(hdr.iter().skip(1)) {
        *d = *s;
    }
    v
}

/// `buf.split_at_mut(at)` without a panic path.
fn split(buf: &mut [u8], at: usize) -> Result<(&mut [u8], &mut [u8]), Error> {
    let given = buf.len();
    buf.split_at_mut_checked(at)
        .ok_or(Error::SealBuffer { needed: at, given })
}

fn len16(len: usize) -> Result<[u8; 2], Error> {
    u16::try_from(len)
        .map(u16::to_be_bytes)
        .map_err(|_| Error::FragmentTooLong(len))
}

fn header(typ: u8, version: u16, len: usize) -> Result<[u8; HEADER_LEN], Error> {
    let [v0, v1] = version.to_be_bytes();
    let [l0, l1] = len16(len)?;
    Ok([typ, v0, v1, l0, l1])
}

/// TLS 1.2 AEAD additional data: seq_num ‖ type ‖ version ‖ length (RFC 5246 §6.2.3.3).
fn tls12_aad(seq: u64, typ: u8, version: u16, len: usize) -> Result<[u8; 13], Error> {
    let mut aad = [0u8; 13];
    let [v0, v1] = version.to_be_bytes();
    let [l0, l1] = len16(len)?;
    for (d, s) in aad
        .iter_mut()
        .zip(seq.to_be_bytes().into_iter().chain([typ, v0, v1, l0, l1]))
    {
        *d = s;
    }
    Ok(aad)
}

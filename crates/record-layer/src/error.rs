//! This crate's errors and the one place that maps each to the alert we send.

use core::fmt;
use overture_types::{AlertDescription, ContentType};

/// Which direction of the connection an error concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Records we receive.
    Read,
    /// Records we send.
    Write,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
        })
    }
}

/// Everything that can go wrong in the record layer. Each variant names what the peer (or the
/// caller) did; [`Error::alert`] gives the alert to send for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A record's content type is not one TLS 1.2/1.3 defines for records we accept
    /// (RFC 8446 §5: `unexpected_message`).
    UnknownContentType(u8),
    /// A record's legacy version field is not a TLS version (`0x03xx`), or, once TLS 1.2 was
    /// negotiated, differs from it.
    BadRecordVersion(u16),
    /// A record (or, after decryption, its plaintext) is longer than the protocol allows.
    RecordOverflow {
        /// What was too long: `"ciphertext"`, `"plaintext"`, `"inner plaintext"` or
        /// `"plaintext (our record_size_limit)"`.
        what: &'static str,
        /// The length found.
        len: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A protected record failed to decrypt (bad tag, or too short to hold one).
    DecryptFailed,
    /// Too many records failed to decrypt under one key (RFC 9147 §4.5.3 integrity limit).
    IntegrityLimitReached,
    /// A TLS 1.3 record decrypted to an inner plaintext with no non-zero content-type byte
    /// (RFC 8446 §5.4).
    MissingInnerContentType,
    /// A record of this type arrived where it is not allowed (e.g. a plaintext handshake record
    /// after encryption started, application data before any key, CCS inside encryption).
    UnexpectedRecord {
        /// The record's (inner) content type.
        typ: ContentType,
        /// Why it is not allowed.
        why: &'static str,
    },
    /// A ChangeCipherSpec record we do not accept: a second one, a protected one, one whose
    /// payload is not exactly `0x01`, or one outside TLS 1.3 compatibility mode.
    UnexpectedChangeCipherSpec(&'static str),
    /// A TLS 1.2 ChangeCipherSpec whose payload is not the single byte `0x01`.
    MalformedChangeCipherSpec,
    /// A zero-length handshake record (RFC 8446 §5.1, RFC 5246 §6.2.1).
    EmptyHandshakeRecord,
    /// More consecutive empty records than we tolerate (a flood that would spin the reader).
    TooManyEmptyRecords(usize),
    /// An alert record that does not hold exactly one two-byte alert (RFC 8446 §5.1).
    BadAlertLength(usize),
    /// A handshake message announces a length above the configured maximum.
    HandshakeMessageTooLarge {
        /// The announced body length.
        len: usize,
        /// The largest body length allowed.
        max: usize,
    },
    /// Handshake bytes were still buffered when the keys changed: a message must not span a
    /// key change (RFC 8446 §5.1).
    HandshakeSpansKeyChange {
        /// How many bytes were buffered.
        buffered: usize,
    },
    /// The caller pushed more handshake bytes without consuming the messages already whole.
    HandshakeBufferFull,
    /// The sequence number of this direction would wrap (RFC 8446 §5.3).
    SequenceExhausted(Direction),
    /// The write key has protected as many records as its AEAD allows (RFC 8446 §5.5); a
    /// KeyUpdate (TLS 1.3) or a new connection is needed.
    KeyLimitReached,
    /// A key could not be used: wrong length, or an AEAD not valid for the nonce style.
    InvalidKey(&'static str),
    /// Application data cannot be sent before a write key is installed.
    NoWriteKey,
    /// The buffer given to a low-level seal has no room for header, payload and tag, or the
    /// payload exceeds 2^14 bytes.
    SealBuffer {
        /// The length needed.
        needed: usize,
        /// The length given.
        given: usize,
    },
    /// A buffer given to [`crate::RecordLayer::open_in_place`] is not exactly one record.
    RecordLength {
        /// The bytes given.
        given: usize,
        /// The bytes the header announces (or a header's length if shorter).
        expected: usize,
    },
    /// The caller asked to seal more than 2^14 bytes in one record.
    FragmentTooLong(usize),
    /// The AEAD failed to seal (a provider failure).
    SealFailed,
}

impl Error {
    /// The alert we send for this error. This is the only place in this crate that decides it.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::UnknownContentType(_)
            | Self::MissingInnerContentType
            | Self::UnexpectedRecord { .. }
            | Self::UnexpectedChangeCipherSpec(_)
            | Self::EmptyHandshakeRecord
            | Self::TooManyEmptyRecords(_)
            | Self::HandshakeSpansKeyChange { .. } => AlertDescription::UnexpectedMessage,
            Self::BadRecordVersion(_) => AlertDescription::ProtocolVersion,
            Self::RecordOverflow { .. } => AlertDescription::RecordOverflow,
            Self::DecryptFailed | Self::IntegrityLimitReached => AlertDescription::BadRecordMac,
            Self::MalformedChangeCipherSpec
            | Self::BadAlertLength(_)
            | Self::RecordLength { .. }
            | Self::HandshakeMessageTooLarge { .. } => AlertDescription::DecodeError,
            Self::HandshakeBufferFull
            | Self::SequenceExhausted(_)
            | Self::KeyLimitReached
            | Self::InvalidKey(_)
            | Self::NoWriteKey
            | Self::SealBuffer { .. }
            | Self::FragmentTooLong(_)
            | Self::SealFailed => AlertDescription::InternalError,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownContentType(t) => write!(f, "record of unknown content type {t}"),
            Self::BadRecordVersion(v) => write!(f, "record has version 0x{v:04x}"),
            Self::RecordOverflow { what, len, max } => {
                write!(f, "record {what} of {len} bytes exceeds the limit of {max}")
            }
            Self::DecryptFailed => f.write_str("record failed to decrypt (bad record MAC)"),
            Self::IntegrityLimitReached => {
                f.write_str("too many records failed to decrypt under one key")
            }
            Self::MissingInnerContentType => {
                f.write_str("protected record has no content type (all-zero plaintext)")
            }
            Self::UnexpectedRecord { typ, why } => write!(f, "unexpected {typ} record: {why}"),
            Self::UnexpectedChangeCipherSpec(why) => {
                write!(f, "unexpected change_cipher_spec: {why}")
            }
            Self::MalformedChangeCipherSpec => {
                f.write_str("change_cipher_spec payload is not the single byte 0x01")
            }
            Self::EmptyHandshakeRecord => f.write_str("zero-length handshake record"),
            Self::TooManyEmptyRecords(n) => write!(f, "{n} empty records in a row"),
            Self::BadAlertLength(n) => {
                write!(f, "alert record of {n} bytes (must be exactly 2)")
            }
            Self::HandshakeMessageTooLarge { len, max } => write!(
                f,
                "handshake message of {len} bytes exceeds the limit of {max}"
            ),
            Self::HandshakeSpansKeyChange { buffered } => write!(
                f,
                "{buffered} handshake bytes of the old epoch were pending at a key change"
            ),
            Self::HandshakeBufferFull => {
                f.write_str("handshake buffer full: whole messages were not consumed")
            }
            Self::SequenceExhausted(d) => write!(f, "{d} sequence number would wrap"),
            Self::KeyLimitReached => f.write_str("write key usage limit reached"),
            Self::InvalidKey(why) => write!(f, "invalid record key: {why}"),
            Self::NoWriteKey => f.write_str("application data before a write key"),
            Self::SealBuffer { needed, given } => {
                write!(f, "seal buffer of {given} bytes, {needed} needed")
            }
            Self::RecordLength { given, expected } => {
                write!(
                    f,
                    "{given} bytes given as one record, its header says {expected}"
                )
            }
            Self::FragmentTooLong(n) => {
                write!(f, "cannot seal {n} bytes in one record (at most 2^14)")
            }
            Self::SealFailed => f.write_str("record sealing failed"),
        }
    }
}

impl std::error::Error for Error {}

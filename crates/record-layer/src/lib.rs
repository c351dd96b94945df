//! `overture-record-layer`: TLS 1.3 / TLS 1.2 record framing, record protection, handshake
//! message joining and alerts.
//!
//! ```text
//!  transport ──read into──► RecordLayer::spare() / advance(n)      (one maximal record of input)
//!            ──or append──► RecordLayer::fill(&bytes)              (same bound, no zero-filling)
//!                                │
//!                      next_record(): header checks (type, version, length limits)
//!                                │    open in place: AEAD(IV ^ seq | salt ‖ explicit, AAD)
//!                                │    TLS 1.3: strip padding, take the inner content type
//!                                ▼    compat CCS swallowed, empty-record flood bounded
//!                   Record { typ, payload: &[u8] }  (borrowed from the input buffer)
//!                   (open_in_place(&mut record): the same on a record in the caller's buffer,
//!                    record_len(&bytes) deframes one: e.g. a transport's buffer lent in place)
//!                     │ handshake        │ alert            │ application data
//!                     ▼                  ▼                  ▼
//!           HandshakeJoiner::push   Alert::decode      the application
//!           next_message / consume
//!           check_key_change ◄── before every read-key change
//!
//!  the application / handshake ──► seal(typ, data, &mut Vec)   fragments ≤ 2^14, one copy
//!                                   seal_into(typ, data, &mut out)  whole records into a
//!                                                     lent buffer, one copy, as many as fit
//!                                   seal_in_place(typ, buf, n)  caller's buffer, no copy
//!                                      header ‖ [explicit] ‖ payload ‖ [type ‖ pad] ‖ tag
//! ```
//!
//! Keys come from the caller as [`RecordKey`]s (built from the provider's `Aead`); this crate
//! never sees the handshake. Every error maps to the alert we send in one place,
//! [`Error::alert`].
//!
//! The caller's duties at key changes: before installing a new read key (TLS 1.3: after
//! ServerHello, after the server's Finished, on KeyUpdate), call
//! [`HandshakeJoiner::check_key_change`]. In TLS 1.3 call [`RecordLayer::set_version`] on
//! ServerHello *and* HelloRetryRequest (later records then carry 0x0303) and
//! [`RecordLayer::allow_ccs`] from then until the handshake completes. In TLS 1.2 the peer's
//! ChangeCipherSpec is returned as a record (payload `0x01`): check the joiner, then install the
//! read key built with [`RecordKey::tls12`].
//!
//! ```
//! use overture_crypto_provider::ring;
//! use overture_record_layer::{RecordKey, RecordLayer};
//! use overture_types::{ContentType, ProtocolVersion};
//!
//! let key = || RecordKey::tls13(&ring::AES_128_GCM, &[7; 16], &[9; 12]);
//! let (mut client, mut server) = (RecordLayer::new(), RecordLayer::new());
//! for rl in [&mut client, &mut server] {
//!     rl.set_version(ProtocolVersion::TLSv1_3);
//! }
//! client.set_write_key(key()?);
//! server.set_read_key(key()?);
//!
//! let mut wire = Vec::new();
//! client.seal(ContentType::ApplicationData, b"hello", &mut wire)?;
//! assert_eq!(wire.len(), 5 + 5 + 1 + 16); // header, data, inner type, tag
//!
//! // The peer's bytes may arrive in any split.
//! for byte in &wire {
//!     assert!(server.next_record()?.is_none());
//!     server.spare()[0] = *byte;
//!     server.advance(1);
//! }
//! let record = server.next_record()?.expect("a whole record");
//! assert_eq!((record.typ, record.payload), (ContentType::ApplicationData, &b"hello"[..]));
//! # Ok::<(), overture_record_layer::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alert;
mod error;
mod joiner;
mod key;
mod layer;

#[cfg(test)]
mod tests;

pub use alert::Alert;
pub use error::{Direction, Error};
pub use joiner::{DEFAULT_MAX_HANDSHAKE_MESSAGE, HANDSHAKE_HEADER_LEN, HandshakeJoiner};
pub use key::{Padding, RecordKey};
pub use layer::{Record, RecordLayer};

/// The record header: type (1), legacy version (2), length (2).
pub const HEADER_LEN: usize = 5;
/// The largest plaintext fragment: 2^14 bytes (RFC 8446 §5.1, RFC 5246 §6.2.1).
pub const MAX_FRAGMENT_LEN: usize = 1 << 14;
/// The largest TLS 1.3 TLSInnerPlaintext: 2^14 + 1 bytes (RFC 8446 §5.4).
pub const MAX_INNER_PLAINTEXT_LEN: usize = MAX_FRAGMENT_LEN + 1;
/// The largest TLS 1.3 record body: 2^14 + 256 bytes (RFC 8446 §5.2).
pub const MAX_TLS13_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 256;
/// The largest TLS 1.2 record body: 2^14 + 2048 bytes (RFC 5246 §6.2.3).
pub const MAX_TLS12_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 2048;
/// The input buffer: one maximal record with its header.
pub const INPUT_BUFFER_LEN: usize = HEADER_LEN + MAX_TLS12_CIPHERTEXT_LEN;
/// The least room [`RecordLayer::spare`] offers: a handshake flight or a few small records
/// arrive in one transport read without growing the buffer to a maximal record.
pub const MIN_READ: usize = 4096;
/// How many empty records in a row we accept before calling it a flood (as OpenSSL).
pub const MAX_EMPTY_RECORDS: usize = 32;
/// [`RecordLayer::write_needs_key_update`] turns true this many records before the write
/// key's usage limit, leaving room for the KeyUpdate and what is in flight.
pub const KEY_UPDATE_MARGIN: u64 = 1 << 12;

//! OpenSSL-shaped calls for code being ported from OpenSSL: integer returns and
//! `SSL_get_error()` codes, on top of the Rust API (never instead of it). Every behaviour below
//! comes from [`Ssl`] itself; this module only turns its results into integers.
//!
//! Overture follows **OpenSSL 3** (the 1.1.1 differences are named):
//!
//! | situation | OpenSSL 3 | Overture |
//! |---|---|---|
//! | handshake completes | `SSL_connect` 1, `SSL_ERROR_NONE`; our Finished is on the wire | same (with [`FinalFlight::Hold`](crate::FinalFlight) the Finished waits for the first write) |
//! | non-blocking BIO, nothing to read / cannot write | -1, `WANT_READ` / `WANT_WRITE`; call again | same |
//! | blocking socket, `SO_RCVTIMEO` passes | -1, `WANT_READ`; calling again continues | same ([`Error::io_kind`](crate::Error::io_kind) is `TimedOut`) |
//! | fatal alert from the peer | -1, `SSL_ERROR_SSL` | same; [`Error::alert_received`](crate::Error::alert_received) names it |
//! | we refuse the peer (bad certificate, bad message) | -1, `SSL_ERROR_SSL`, our alert sent | same; [`Error::alert_sent`](crate::Error::alert_sent) names it |
//! | warning alert before the ServerHello (`unrecognized_name`) | ignored | ignored (more than 4 in a row: `unexpected_message`) |
//! | transport EOF during the handshake | -1, `SSL_ERROR_SSL` ("unexpected eof while reading"), a decode_error alert sent; 1.1.1: `SSL_ERROR_SYSCALL` | same; [`UnexpectedEof::Syscall`](crate::UnexpectedEof) for 1.1.1's |
//! | `SSL_connect` again after success / after a failure | 1 / -1 with the same error | same |
//! | `SSL_read`/`SSL_write` while our final flight is partly written | -1, `WANT_WRITE` until it is out | same, also when they drive the handshake themselves |
//! | `SSL_shutdown` over a non-blocking BIO | -1 `WANT_WRITE` until our close_notify leaves, then 0, then 1 once the peer's arrived | same; application data meanwhile is discarded |
//! | `SSL_read` after the peer's close_notify | 0, `SSL_ERROR_ZERO_RETURN` | same |
//! | `SSL_read`, transport EOF without close_notify | 0, `SSL_ERROR_SSL`, a decode_error alert sent; 1.1.1: 0, `SSL_ERROR_SYSCALL` | same; [`UnexpectedEof::Syscall`](crate::UnexpectedEof) for 1.1.1's |
//!
//! Overture additions with no OpenSSL counterpart have no integer wrapper here: e.g.
//! [`Ssl::read_in_place`] (an `SSL_read` that lends the plaintext where the record was opened
//! instead of copying it; its errors are `SSL_read`'s, so [`get_error`] maps them alike when
//! given `-1`).
//!
//! ```no_run
//! # fn demo(ssl: &mut overture::Ssl) {
//! use overture::compat::{self, SSL_ERROR_WANT_READ};
//!
//! let ret = compat::connect(ssl); // SSL_connect(ssl)
//! if ret != 1 {
//!     match compat::get_error(ssl, ret) {            // SSL_get_error(ssl, ret)
//!         SSL_ERROR_WANT_READ => { /* poll for readable, call connect again */ }
//!         code => eprintln!("handshake failed: {code}"),
//!     }
//! }
//! # }
//! ```
#![doc = include_str!("../compat-table.md")]

use crate::{ErrorKind, Ssl};

/// `SSL_ERROR_NONE`: the call succeeded.
pub const SSL_ERROR_NONE: i32 = 0;
/// `SSL_ERROR_SSL`: a protocol failure.
pub const SSL_ERROR_SSL: i32 = 1;
/// `SSL_ERROR_WANT_READ`: call again when the BIO is readable.
pub const SSL_ERROR_WANT_READ: i32 = 2;
/// `SSL_ERROR_WANT_WRITE`: call again when the BIO is writable.
pub const SSL_ERROR_WANT_WRITE: i32 = 3;
/// `SSL_ERROR_SYSCALL`: a transport failure or EOF without close_notify.
pub const SSL_ERROR_SYSCALL: i32 = 5;
/// `SSL_ERROR_ZERO_RETURN`: the peer sent close_notify.
pub const SSL_ERROR_ZERO_RETURN: i32 = 6;

/// `SSL_connect()`: 1 when the handshake completed; 0 when it was shut down in a controlled
/// way (the peer's close_notify); -1 for a fatal error (a fatal alert from the peer included,
/// with `SSL_ERROR_SSL`, as OpenSSL) or a retry (*want read/write*).
pub fn connect(ssl: &mut Ssl) -> i32 {
    match ssl.connect() {
        Ok(_) => 1,
        Err(e) if e.kind() == ErrorKind::ZeroReturn => 0,
        Err(_) => -1,
    }
}

/// `SSL_read()`: the number of bytes read (> 0), or ≤ 0 with the reason in [`get_error`]:
/// 0 for the peer's close_notify and, as OpenSSL 3, for the transport ending without one
/// (`SSL_ERROR_SSL`, or `SSL_ERROR_SYSCALL` with [`UnexpectedEof::Syscall`]).
///
/// [`UnexpectedEof::Syscall`]: crate::UnexpectedEof::Syscall
pub fn read(ssl: &mut Ssl, buf: &mut [u8]) -> i32 {
    match ssl.read(buf) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) if e.kind() == ErrorKind::ZeroReturn => 0,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::UnexpectedEof) => 0,
        Err(_) => -1,
    }
}

/// `SSL_write()`: the number of bytes written (> 0), or ≤ 0 with the reason in [`get_error`].
pub fn write(ssl: &mut Ssl, buf: &[u8]) -> i32 {
    match ssl.write(buf) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(_) => -1,
    }
}

/// `SSL_shutdown()`: 0 when our close_notify was sent and the peer's has not arrived yet, 1
/// when both have, -1 on error or retry.
pub fn shutdown(ssl: &mut Ssl) -> i32 {
    match ssl.shutdown() {
        Ok(crate::ShutdownState::Sent) => 0,
        Ok(crate::ShutdownState::Complete) => 1,
        Err(_) => -1,
    }
}

/// `SSL_EARLY_DATA_NOT_SENT`: no early data was offered.
pub const SSL_EARLY_DATA_NOT_SENT: i32 = 0;
/// `SSL_EARLY_DATA_REJECTED`: offered and not (yet) accepted.
pub const SSL_EARLY_DATA_REJECTED: i32 = 1;
/// `SSL_EARLY_DATA_ACCEPTED`: the server read the early data.
pub const SSL_EARLY_DATA_ACCEPTED: i32 = 2;

/// `SSL_write_early_data(ssl, buf, num, &written)`: 1 with `*written` set to the bytes taken,
/// or 0 with the reason in [`get_error`] (`SSL_ERROR_WANT_WRITE`: call again with the same
/// data; `SSL_ERROR_SSL`: early data is not possible now). See [`Ssl::write_early_data`].
pub fn write_early_data(ssl: &mut Ssl, buf: &[u8], written: &mut usize) -> i32 {
    match ssl.write_early_data(buf) {
        Ok(n) => {
            *written = n;
            1
        }
        Err(_) => {
            *written = 0;
            0
        }
    }
}

/// `SSL_get_early_data_status(ssl)`: as OpenSSL's client, `SSL_EARLY_DATA_REJECTED` from the
/// moment early data is offered until the server accepts it.
pub fn get_early_data_status(ssl: &Ssl) -> i32 {
    match ssl.early_data_status() {
        crate::EarlyDataStatus::Accepted => SSL_EARLY_DATA_ACCEPTED,
        crate::EarlyDataStatus::Offered | crate::EarlyDataStatus::Rejected => {
            SSL_EARLY_DATA_REJECTED
        }
        _ => SSL_EARLY_DATA_NOT_SENT,
    }
}

/// `SSL_get_error(ssl, ret)`: the reason behind the return value `ret` of the last call.
pub fn get_error(ssl: &Ssl, ret: i32) -> i32 {
    if ret > 0 {
        return SSL_ERROR_NONE;
    }
    match ssl.error_kind() {
        None => SSL_ERROR_NONE,
        Some(ErrorKind::WantRead) => SSL_ERROR_WANT_READ,
        Some(ErrorKind::WantWrite) => SSL_ERROR_WANT_WRITE,
        Some(ErrorKind::ZeroReturn) => SSL_ERROR_ZERO_RETURN,
        Some(ErrorKind::Io) => SSL_ERROR_SYSCALL,
        Some(_) => SSL_ERROR_SSL,
    }
}

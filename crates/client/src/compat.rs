//! OpenSSL-shaped calls for code being ported from OpenSSL: integer returns and
//! `SSL_get_error()` codes, on top of the Rust API (never instead of it).
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
/// way (the peer's close_notify or alert); -1 for a fatal error or a retry (*want read/write*).
pub fn connect(ssl: &mut Ssl) -> i32 {
    match ssl.connect() {
        Ok(_) => 1,
        Err(e) if e.kind() == ErrorKind::ZeroReturn => 0,
        Err(e) if e.kind() == ErrorKind::Ssl && e.alert_received().is_some() => 0,
        Err(_) => -1,
    }
}

/// `SSL_read()`: the number of bytes read (> 0), or ≤ 0 with the reason in [`get_error`].
pub fn read(ssl: &mut Ssl, buf: &mut [u8]) -> i32 {
    match ssl.read(buf) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(e) if e.kind() == ErrorKind::ZeroReturn => 0,
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

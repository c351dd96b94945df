//! `overture`: a TLS client with the contract of OpenSSL's `SSL_connect()` over any BIO.
//!
//! ```text
//!  application ── connect / read / write / shutdown ──► Ssl (BIO + SSL_get_error) ──► Stream
//!                                    StreamOwned<T: Read + Write> ─┐   │
//!                                                                  ▼   ▼
//!  Connection (sans-IO, time as an argument): bytes in ──► RecordLayer ──► records
//!        │        ┌──────────── handshake messages ◄── joiner ◄──────────┤
//!        │        ▼                                                      ▼
//!        │  ClientHandshake ── events: Send, Install*Key, ServerHello,  plaintext (bounded)
//!        │        │            Alpn, PeerCertificates, Complete, ...
//!        │        └─ CertVerifier = X509Verifier (x509-verify + provider signatures)
//!        └─ sealed records ──► output queue (bounded) ──► bytes out ──► BIO / transport
//! ```
//!
//! [`Connection`] is the engine: feed it transport bytes, call `process(now)`, take its output
//! and plaintext; it never touches a socket or a clock. [`Ssl`] runs it over a BIO with
//! OpenSSL's contract.
//!
//! `Ssl::connect()` over a blocking BIO returns when the handshake is done or failed; over a
//! non-blocking BIO or a BIO pair it may also return [`ErrorKind::WantRead`] /
//! [`ErrorKind::WantWrite`]: make the BIO ready and call again. [`compat`] gives the same with
//! OpenSSL's integer returns.
//!
//! ```no_run
//! use overture::{ClientConfig, ErrorKind, Ssl};
//! use overture::bio::SocketBio;
//!
//! let config = ClientConfig::builder().with_ca_file("ca.pem")?.build()?;
//! let mut ssl = Ssl::new(&config, "localhost")?;
//! let socket = SocketBio::connect("127.0.0.1:4433")?;
//! socket.set_nonblocking(true)?;
//! ssl.set_bio(Box::new(socket));
//! let negotiated = loop {
//!     match ssl.connect() {
//!         Ok(n) => break n,
//!         Err(e) if e.kind() == ErrorKind::WantRead || e.kind() == ErrorKind::WantWrite => {
//!             // poll(2) the socket for the direction asked, then call connect() again
//!         }
//!         Err(e) => return Err(e.into()),
//!     }
//! };
//! println!("{} with {}", negotiated.version(), negotiated.cipher_suite());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compat;
mod config;
mod connection;
mod error;
mod keylog;
mod session;
mod ssl;
mod stream;
mod trace;
mod transport;
mod verify;

#[cfg(test)]
mod tests;

pub use config::{
    ClientConfig, ConfigBuilder, DEFAULT_MAX_HANDSHAKE_MESSAGE, DEFAULT_SESSION_CACHE,
    DEFAULT_SIGNATURE_CACHE, DangerousConfigBuilder, EarlyDataRejected, FinalFlight, UnexpectedEof,
};
pub use connection::{
    Connection, EarlyDataStatus, MAX_EARLY_DATA, MAX_KEY_UPDATES, MAX_OUTPUT, MAX_PLAINTEXT,
    Negotiated,
};
pub use error::{Error, ErrorKind};
pub use keylog::KeyLogFile;
pub use overture_handshake::EchStatus;
pub use session::{MemorySessionStore, Session, SessionStore};
pub use ssl::{ShutdownState, Ssl, Stats};
pub use stream::{Stream, StreamOwned};
pub use verify::X509Verifier;

/// The BIO layer (`overture-bio`).
pub use overture_bio as bio;
/// The crypto provider layer (`overture-crypto-provider`).
pub use overture_crypto_provider as crypto;
/// The handshake layer (`overture-handshake`), for custom verifiers and key logs.
pub use overture_handshake as handshake;
/// Code points and pki types (`overture-types`).
pub use overture_types as types;
/// Certificate verification (`overture-x509-verify`).
pub use overture_x509_verify as x509;

//! What `connect`, `read`, `write` and `shutdown` report: an [`ErrorKind`] that maps one to one
//! onto OpenSSL's `SSL_get_error()` codes, plus the alert we sent or received and why.

use core::fmt;
use overture_handshake::CertificateError;
use overture_types::AlertDescription;
use std::sync::Arc;

/// What an [`Error`] came from, kept for [`std::error::Error::source`] and the typed accessors.
#[derive(Debug)]
enum Cause {
    Handshake(overture_handshake::Error),
    Record(overture_record_layer::Error),
    Io(std::io::Error),
}

/// The kind of an [`Error`]: the counterpart of `SSL_get_error()`'s result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The BIO had nothing to read: call again once it is readable (`SSL_ERROR_WANT_READ`).
    WantRead,
    /// The BIO could not take our bytes: call again once it is writable
    /// (`SSL_ERROR_WANT_WRITE`).
    WantWrite,
    /// The peer closed the TLS connection with a `close_notify` alert (`SSL_ERROR_ZERO_RETURN`).
    ZeroReturn,
    /// A TLS protocol failure: we sent a fatal alert, or received one (`SSL_ERROR_SSL`).
    Ssl,
    /// The transport failed, or closed without `close_notify` (`SSL_ERROR_SYSCALL`).
    Io,
    /// The call is not possible in this state (no BIO set, data before the handshake, …).
    Usage,
}

impl ErrorKind {
    /// Whether the call should simply be repeated once the BIO is ready.
    pub fn is_retry(self) -> bool {
        matches!(self, Self::WantRead | Self::WantWrite)
    }

    /// The OpenSSL name of the `SSL_get_error()` code.
    pub fn openssl_name(self) -> &'static str {
        match self {
            Self::WantRead => "SSL_ERROR_WANT_READ",
            Self::WantWrite => "SSL_ERROR_WANT_WRITE",
            Self::ZeroReturn => "SSL_ERROR_ZERO_RETURN",
            Self::Ssl | Self::Usage => "SSL_ERROR_SSL",
            Self::Io => "SSL_ERROR_SYSCALL",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WantRead => "WantRead",
            Self::WantWrite => "WantWrite",
            Self::ZeroReturn => "ZeroReturn",
            Self::Ssl => "Ssl",
            Self::Io => "Io",
            Self::Usage => "Usage",
        })
    }
}

/// An error from a connection. Cheap to clone: after a fatal error, every later call returns
/// the same error again.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    alert_sent: Option<AlertDescription>,
    alert_received: Option<AlertDescription>,
    io_kind: Option<std::io::ErrorKind>,
    /// What became of ECH before the failure (`NotOffered` for errors outside a connection).
    ech: overture_handshake::EchStatus,
    reason: Reason,
    /// Boxed: an `Error` stays small in the `Result`s of the hot paths.
    cause: Option<Arc<Cause>>,
}

/// Why, in words: fixed text (no allocation: the would-block errors are frequent) or built.
#[derive(Clone)]
enum Reason {
    Fixed(&'static str),
    Built(Arc<str>),
}

impl Reason {
    fn as_str(&self) -> &str {
        match self {
            Self::Fixed(s) => s,
            Self::Built(s) => s,
        }
    }
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, reason: impl Into<Arc<str>>) -> Self {
        Self {
            reason: Reason::Built(reason.into()),
            ..Self::fixed(kind, "")
        }
    }

    /// An error with fixed text: no allocation (the would-block errors are frequent).
    const fn fixed(kind: ErrorKind, reason: &'static str) -> Self {
        Self {
            kind,
            alert_sent: None,
            alert_received: None,
            io_kind: None,
            ech: overture_handshake::EchStatus::NotOffered,
            reason: Reason::Fixed(reason),
            cause: None,
        }
    }

    /// A [`ErrorKind::Usage`] error: the call does not fit the connection's state or config.
    pub fn usage(reason: impl Into<Arc<str>>) -> Self {
        Self::new(ErrorKind::Usage, reason)
    }

    /// An [`ErrorKind::Io`] error from a transport error met while `doing` something (for
    /// code that drives the transport itself, such as a BIO-pair pump).
    pub fn from_io(e: &std::io::Error, doing: &str) -> Self {
        Self::io(e, doing)
    }

    pub(crate) fn want_read() -> Self {
        Self::fixed(ErrorKind::WantRead, "the BIO has no data to read yet")
    }

    pub(crate) fn want_write() -> Self {
        Self::fixed(ErrorKind::WantWrite, "the BIO cannot take more data yet")
    }

    pub(crate) fn io(e: &std::io::Error, doing: &str) -> Self {
        let mut err = Self::new(ErrorKind::Io, format!("{doing}: {e}"));
        err.io_kind = Some(e.kind());
        // `io::Error` is not `Clone`: keep an equivalent one (kind and message) as the cause.
        err.cause = Some(Arc::new(Cause::Io(std::io::Error::new(
            e.kind(),
            e.to_string(),
        ))));
        err
    }

    /// A fatal error the handshake reported; we send `alert` (if any) for it.
    pub(crate) fn from_handshake(e: overture_handshake::Error) -> Self {
        let alert = e.alert();
        let mut err = Self::new(ErrorKind::Ssl, format!("handshake: {e}")).with_alert_sent(alert);
        err.cause = Some(Arc::new(Cause::Handshake(e)));
        err
    }

    /// A fatal error the record layer reported; we send its alert.
    pub(crate) fn from_record(e: overture_record_layer::Error) -> Self {
        let alert = e.alert();
        let mut err =
            Self::new(ErrorKind::Ssl, format!("record layer: {e}")).with_alert_sent(Some(alert));
        err.cause = Some(Arc::new(Cause::Record(e)));
        err
    }

    /// The same error with another kind (e.g. a blocking socket's timeout, reported as a
    /// retry).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn with_alert_sent(mut self, alert: Option<AlertDescription>) -> Self {
        self.alert_sent = alert;
        self
    }

    pub(crate) fn with_alert_received(mut self, alert: AlertDescription) -> Self {
        self.alert_received = Some(alert);
        self
    }

    pub(crate) fn with_io_kind(mut self, kind: std::io::ErrorKind) -> Self {
        self.io_kind = Some(kind);
        self
    }

    pub(crate) fn with_ech(mut self, status: overture_handshake::EchStatus) -> Self {
        self.ech = status;
        self
    }

    /// What became of Encrypted Client Hello on the connection before it failed: `Rejected`
    /// once the server's ServerHello rejected it (whatever failed after: the certificate for
    /// the public name, or the handshake completing into [`Error::ech_rejected`]), `Grease`,
    /// `Accepted`, or `NotOffered`.
    pub fn ech_status(&self) -> overture_handshake::EchStatus {
        self.ech
    }

    /// What kind of failure (or retry) this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The fatal alert we sent the peer, if any.
    pub fn alert_sent(&self) -> Option<AlertDescription> {
        self.alert_sent
    }

    /// The alert the peer sent us, if that is what ended the connection.
    pub fn alert_received(&self) -> Option<AlertDescription> {
        self.alert_received
    }

    /// The I/O error kind, for [`ErrorKind::Io`].
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        self.io_kind
    }

    /// Why, in words (for people: decide on [`Error::kind`], the alerts and the typed
    /// causes, never on this text).
    pub fn reason(&self) -> &str {
        self.reason.as_str()
    }

    /// The handshake error this came from, if the handshake failed (typed: `matches!` on it).
    pub fn handshake_error(&self) -> Option<&overture_handshake::Error> {
        match self.cause.as_deref() {
            Some(Cause::Handshake(e)) => Some(e),
            _ => None,
        }
    }

    /// The record-layer error this came from, if a record was refused (or could not be sealed).
    pub fn record_error(&self) -> Option<&overture_record_layer::Error> {
        match self.cause.as_deref() {
            Some(Cause::Record(e)) => Some(e),
            _ => None,
        }
    }

    /// Whether the server rejected Encrypted Client Hello
    /// ([`ConfigBuilder::with_ech_config_list`](crate::ConfigBuilder::with_ech_config_list)):
    /// the handshake with the config's public name completed and authenticated, and we ended
    /// it with an `ech_required` alert (RFC 9849 §6.1.6).
    pub fn ech_rejected(&self) -> bool {
        matches!(
            self.handshake_error(),
            Some(overture_handshake::Error::EchRejected { .. })
        )
    }

    /// After an ECH rejection, the ECHConfigList the server sent to retry with (at least one
    /// of its configs is usable): build a config with it and connect again, on a new
    /// connection, once (RFC 9849 §6.1.6). `None` for any other error, and when the server
    /// sent no usable retry configs (it has securely disabled ECH).
    pub fn ech_retry_configs(&self) -> Option<&[u8]> {
        match self.handshake_error() {
            Some(overture_handshake::Error::EchRejected { retry_configs }) => {
                retry_configs.as_deref()
            }
            _ => None,
        }
    }

    /// Why the server's certificate was refused, if that is what failed: the verifier's
    /// verdict without a text wrapper (`CertificateError::Expired { not_after, now }` with
    /// its times, `UnknownIssuer`, ...).
    pub fn certificate_error(&self) -> Option<&CertificateError> {
        match self.handshake_error() {
            Some(overture_handshake::Error::InvalidCertificate(c)) => Some(c.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.alert_sent, self.alert_received) {
            (Some(a), _) => write!(f, "{} (we sent alert {a}): {}", self.kind, self.reason()),
            (None, Some(a)) => write!(f, "{} (peer sent alert {a}): {}", self.kind, self.reason()),
            (None, None) => write!(f, "{}: {}", self.kind, self.reason()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.cause.as_deref() {
            Some(Cause::Handshake(e)) => Some(e),
            Some(Cause::Record(e)) => Some(e),
            Some(Cause::Io(e)) => Some(e),
            None => None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e.kind {
            ErrorKind::WantRead | ErrorKind::WantWrite => std::io::ErrorKind::WouldBlock,
            ErrorKind::ZeroReturn => std::io::ErrorKind::UnexpectedEof,
            ErrorKind::Io => e.io_kind.unwrap_or(std::io::ErrorKind::Other),
            // The transport ending without close_notify stays `UnexpectedEof` for `io` users.
            ErrorKind::Ssl => e.io_kind.unwrap_or(std::io::ErrorKind::InvalidData),
            ErrorKind::Usage => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, e)
    }
}

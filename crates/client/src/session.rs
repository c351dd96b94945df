//! Sessions for resumption: [`Session`] (`SSL_SESSION`), the [`SessionStore`] a
//! [`ClientConfig`](crate::ClientConfig) keeps them in, and its default [`MemorySessionStore`].
//!
//! A connection stores what the server gives it (a TLS 1.3 NewSessionTicket, a TLS 1.2 session
//! id or ticket) and the next connection to the same server name offers it, so resumption is
//! automatic. [`Ssl::session`](crate::Ssl::session) / [`Ssl::set_session`](crate::Ssl::set_session)
//! do the same by hand, like `SSL_get1_session` / `SSL_set_session`.
//!
//! A session holds a secret (a resumption PSK or a master secret): treat its bytes like a
//! private key. It is zeroized when dropped.

use overture_handshake::{Tls12Session, Tls13Ticket};
use overture_types::{CipherSuite, ProtocolVersion, ServerName, UnixTime};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// How long a TLS 1.2 session is offered after its full handshake when the server named no
/// ticket lifetime: servers commonly keep session ids for 2 hours (OpenSSL's and GnuTLS's
/// defaults are 300 s and 3 hours); offering an expired one costs only a full handshake.
const TLS12_DEFAULT_LIFETIME: u64 = 2 * 60 * 60;

/// A resumable session (`SSL_SESSION`): a TLS 1.3 ticket or a TLS 1.2 session.
///
/// Cloning copies the secret. A TLS 1.3 ticket is meant to be used once (a server may refuse a
/// second use, and two uses link the connections): the config's store hands each out once, and
/// a clone you keep from [`Ssl::session`](crate::Ssl::session) should be offered once too.
#[derive(Clone)]
pub struct Session {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Tls13(Tls13Ticket),
    Tls12(Tls12Session),
}

impl Session {
    pub(crate) fn tls13(ticket: Tls13Ticket) -> Self {
        Self {
            inner: Inner::Tls13(ticket),
        }
    }

    pub(crate) fn tls12(session: Tls12Session) -> Self {
        Self {
            inner: Inner::Tls12(session),
        }
    }

    pub(crate) fn into_parts(self) -> (Option<Tls13Ticket>, Option<Tls12Session>) {
        match self.inner {
            Inner::Tls13(t) => (Some(t), None),
            Inner::Tls12(s) => (None, Some(s)),
        }
    }

    /// The protocol version it resumes.
    pub fn version(&self) -> ProtocolVersion {
        match &self.inner {
            Inner::Tls13(_) => ProtocolVersion::TLSv1_3,
            Inner::Tls12(_) => ProtocolVersion::TLSv1_2,
        }
    }

    /// The cipher suite of the connection it came from.
    pub fn cipher_suite(&self) -> CipherSuite {
        match &self.inner {
            Inner::Tls13(t) => t.suite,
            Inner::Tls12(s) => s.suite,
        }
    }

    /// The server it is for.
    pub fn server_name(&self) -> &ServerName<'static> {
        match &self.inner {
            Inner::Tls13(t) => &t.server_name,
            Inner::Tls12(s) => &s.server_name,
        }
    }

    /// When it stops being offered: the ticket's lifetime (TLS 1.3, and TLS 1.2 tickets with a
    /// lifetime hint), or two hours after the handshake for a TLS 1.2 session id.
    pub fn expires_at(&self) -> UnixTime {
        let (start, lifetime) = match &self.inner {
            Inner::Tls13(t) => (t.received_at, u64::from(t.lifetime)),
            Inner::Tls12(s) if s.ticket.is_some() && s.ticket_lifetime_hint > 0 => {
                (s.created_at, u64::from(s.ticket_lifetime_hint))
            }
            Inner::Tls12(s) => (s.created_at, TLS12_DEFAULT_LIFETIME),
        };
        UnixTime::since_unix_epoch(
            start
                .as_secs()
                .checked_add(lifetime)
                .map_or(Duration::MAX, Duration::from_secs),
        )
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now.as_secs() >= self.expires_at().as_secs()
    }

    /// How many bytes of 0-RTT early data the server accepts when this session is resumed
    /// (its ticket's `max_early_data_size`, RFC 8446 §4.6.1; `SSL_SESSION_get_max_early_data`):
    /// 0 for a ticket without early data and for TLS 1.2.
    pub fn max_early_data(&self) -> u32 {
        match &self.inner {
            Inner::Tls13(t) => t.max_early_data.unwrap_or(0),
            Inner::Tls12(_) => 0,
        }
    }

    /// Whether offering it consumes it: a TLS 1.3 ticket is used once (RFC 8446 §C.4); a TLS
    /// 1.2 session may be offered again.
    pub fn single_use(&self) -> bool {
        matches!(self.inner, Inner::Tls13(_))
    }

    /// The session as bytes, to keep it across processes ([`Session::from_bytes`] reads them).
    /// **The bytes contain the session's secret**: store them like a private key.
    ///
    /// Fails only if a field is too long for the format, which a session made by a handshake
    /// or read by [`Session::from_bytes`] never is (tickets are bounded when they arrive).
    pub fn to_bytes(&self) -> Result<Vec<u8>, crate::Error> {
        match &self.inner {
            Inner::Tls13(t) => t.to_bytes(),
            Inner::Tls12(s) => s.to_bytes(),
        }
        .map_err(|e| crate::Error::usage(format!("cannot encode the session: {e}")))
    }

    /// A session from [`Session::to_bytes`]. The bytes are parsed as untrusted input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::Error> {
        let bad = |e| crate::Error::usage(format!("not a session: {e}"));
        // Each format starts with its own tag; try the one it says.
        match Tls13Ticket::from_bytes(bytes) {
            Ok(t) => Ok(Self::tls13(t)),
            Err(_) => Tls12Session::from_bytes(bytes)
                .map(Self::tls12)
                .map_err(bad),
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("version", &self.version())
            .field("cipher_suite", &self.cipher_suite())
            .field("server_name", self.server_name())
            .field("expires_at", &self.expires_at().as_secs())
            .finish_non_exhaustive()
    }
}

/// Where a [`ClientConfig`](crate::ClientConfig) keeps sessions between connections. Shared by
/// every connection made from the config, so it must be thread-safe.
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Keeps `session`, received from the server `server_name`.
    fn put(&self, server_name: &ServerName<'_>, session: Session);

    /// A session to offer to `server_name` at `now`, if one is kept: single-use ones (TLS 1.3
    /// tickets) are removed; expired ones are dropped, never returned.
    fn take(&self, server_name: &ServerName<'_>, now: UnixTime) -> Option<Session>;
}

/// The default [`SessionStore`]: in memory, bounded, keyed by server name, newest first.
///
/// It keeps at most `capacity` sessions in all (the oldest goes first) and at most
/// [`MemorySessionStore::PER_SERVER`] per server name (servers send two TLS 1.3 tickets by
/// default: one for each of the next connections).
#[derive(Debug)]
pub struct MemorySessionStore {
    capacity: usize,
    sessions: Mutex<VecDeque<(ServerName<'static>, Session)>>,
}

impl MemorySessionStore {
    /// How many sessions are kept for one server name.
    pub const PER_SERVER: usize = 4;

    /// A store of at most `capacity` sessions (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            sessions: Mutex::new(VecDeque::new()),
        }
    }

    /// How many sessions are kept now.
    pub fn len(&self) -> usize {
        self.sessions.lock().map_or(0, |s| s.len())
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionStore for MemorySessionStore {
    fn put(&self, server_name: &ServerName<'_>, session: Session) {
        if self.capacity == 0 {
            return;
        }
        // A poisoned lock only means another thread panicked mid-update of a cache: start
        // over rather than propagate the panic.
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.clear();
            g
        });
        let name = server_name.to_owned();
        // TLS 1.2: the newest session replaces the older ones for this server.
        if !session.single_use() {
            sessions.retain(|(n, s)| *n != name || s.single_use());
        }
        let for_this = sessions.iter().filter(|(n, _)| *n == name).count();
        if for_this >= Self::PER_SERVER
            && let Some(oldest) = sessions.iter().rposition(|(n, _)| *n == name)
        {
            sessions.remove(oldest);
        }
        sessions.push_front((name, session));
        sessions.truncate(self.capacity);
    }

    fn take(&self, server_name: &ServerName<'_>, now: UnixTime) -> Option<Session> {
        let mut sessions = self.sessions.lock().ok()?;
        sessions.retain(|(_, s)| !s.is_expired(now));
        // Compared where it lies: no copy of the name per connection.
        let i = sessions.iter().position(|(n, _)| n == server_name)?;
        if sessions.get(i)?.1.single_use() {
            sessions.remove(i).map(|(_, s)| s)
        } else {
            sessions.get(i).map(|(_, s)| s.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overture_crypto_provider::Secret;

    fn ticket(name: &str, received_at: u64, lifetime: u32, tag: u8) -> Session {
        Session::tls13(Tls13Ticket {
            suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            ticket: vec![tag; 8],
            psk: Secret::new(&[tag; 32]).unwrap(),
            lifetime,
            age_add: 7,
            max_early_data: None,
            received_at: UnixTime::since_unix_epoch(Duration::from_secs(received_at)),
            server_name: ServerName::try_from(name).unwrap().to_owned(),
            alpn: None,
        })
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn name(n: &str) -> ServerName<'static> {
        ServerName::try_from(n).unwrap().to_owned()
    }

    #[test]
    fn tickets_are_single_use_newest_first_and_per_server() {
        let store = MemorySessionStore::new(16);
        store.put(&name("a.example"), ticket("a.example", 100, 600, 1));
        store.put(&name("a.example"), ticket("a.example", 100, 600, 2));
        store.put(&name("b.example"), ticket("b.example", 100, 600, 3));
        let first = store.take(&name("a.example"), at(200)).unwrap();
        assert_eq!(
            first.to_bytes().unwrap(),
            ticket("a.example", 100, 600, 2).to_bytes().unwrap()
        );
        let second = store.take(&name("a.example"), at(200)).unwrap();
        assert_eq!(
            second.to_bytes().unwrap(),
            ticket("a.example", 100, 600, 1).to_bytes().unwrap()
        );
        assert!(store.take(&name("a.example"), at(200)).is_none());
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn max_early_data_comes_from_the_ticket() {
        let mut t = ticket("a.example", 100, 600, 1);
        assert_eq!(t.max_early_data(), 0);
        if let Inner::Tls13(ticket) = &mut t.inner {
            ticket.max_early_data = Some(16384);
        }
        assert_eq!(t.max_early_data(), 16384);
    }

    #[test]
    fn expired_sessions_are_never_returned() {
        let store = MemorySessionStore::new(16);
        store.put(&name("a.example"), ticket("a.example", 100, 60, 1));
        assert!(store.take(&name("a.example"), at(160)).is_none());
        assert!(store.is_empty());
    }

    #[test]
    fn the_store_is_bounded() {
        let store = MemorySessionStore::new(3);
        for i in 0..10u8 {
            store.put(&name("a.example"), ticket("a.example", 100, 600, i));
        }
        assert!(store.len() <= MemorySessionStore::PER_SERVER.min(3));
        for i in 0..10u8 {
            let host = format!("h{i}.example");
            store.put(&name(&host), ticket(&host, 100, 600, i));
        }
        assert_eq!(store.len(), 3);
        let none = MemorySessionStore::new(0);
        none.put(&name("a.example"), ticket("a.example", 100, 600, 1));
        assert!(none.is_empty());
    }

    #[test]
    fn bytes_round_trip_and_garbage_is_an_error() {
        let t = ticket("a.example", 100, 600, 9);
        let back = Session::from_bytes(&t.to_bytes().unwrap()).unwrap();
        assert_eq!(back.to_bytes().unwrap(), t.to_bytes().unwrap());
        assert_eq!(back.version(), ProtocolVersion::TLSv1_3);
        assert_eq!(back.expires_at().as_secs(), 700);
        assert!(Session::from_bytes(b"not a session").is_err());
        assert!(Session::from_bytes(&t.to_bytes().unwrap()[..10]).is_err());
    }
}

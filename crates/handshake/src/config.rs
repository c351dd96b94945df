//! What the client crate gives the handshake: the configuration and the traits it implements
//! (certificate verification, client certificates, key logging), and what the handshake gives
//! back: [`Event`]s.

use crate::error::Error;
use crate::key_schedule::TrafficKey;
use core::fmt;
use overture_crypto_provider::{CryptoProvider, Secret, Signer};
use overture_types::{
    CertificateDer, CipherSuite, NamedGroup, ProtocolVersion, ServerName, SignatureScheme, UnixTime,
};
use std::sync::Arc;

/// The handshake's configuration, shared by every connection of a client configuration.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// The cryptography: suites, groups (the first gets a key share), randomness.
    pub provider: Arc<CryptoProvider>,
    /// The versions to offer (TLS 1.3; TLS 1.2 may be listed but is not implemented yet: a
    /// server choosing it fails the handshake with a clear error).
    pub versions: Vec<ProtocolVersion>,
    /// ALPN protocols to offer, in preference order (empty: no ALPN).
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Whether to send server_name for DNS names.
    pub enable_sni: bool,
    /// Middlebox compatibility mode (RFC 8446 §D.4): a random legacy_session_id and one
    /// ChangeCipherSpec before the client's second flight.
    pub middlebox_compat: bool,
    /// Verifies the server's certificate chain and handshake signature.
    pub verifier: Arc<dyn CertVerifier>,
    /// Chooses a client certificate when the server asks for one (`None`: send none).
    pub client_auth: Option<Arc<dyn ClientCertResolver>>,
    /// Receives the secrets in NSS key log format (for Wireshark), if set.
    pub key_log: Option<Arc<dyn KeyLog>>,
}

/// Proof that the server's certificate chain was verified. Only a [`CertVerifier`] makes one.
#[derive(Debug)]
pub struct ServerCertVerified(());

impl ServerCertVerified {
    /// Asserts that the chain was verified (for [`CertVerifier`] implementations).
    pub fn assertion() -> Self {
        Self(())
    }
}

/// Proof that a handshake signature was verified. Only a [`CertVerifier`] makes one.
#[derive(Debug)]
pub struct SignatureVerified(());

impl SignatureVerified {
    /// Asserts that the signature was verified (for [`CertVerifier`] implementations).
    pub fn assertion() -> Self {
        Self(())
    }
}

/// Verifies the server's identity.
pub trait CertVerifier: Send + Sync + fmt::Debug {
    /// Verifies `end_entity` (with `intermediates`) for `server_name` at `now`.
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error>;

    /// Verifies a TLS 1.3 CertificateVerify `signature` over `message` (the context string,
    /// the zero byte and the transcript hash) with the key of `end_entity`.
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, Error>;

    /// The schemes to offer in signature_algorithms, in preference order.
    fn supported_schemes(&self) -> Vec<SignatureScheme>;
}

/// Chooses a client certificate when a server sends a CertificateRequest.
pub trait ClientCertResolver: Send + Sync + fmt::Debug {
    /// The chain (end entity first) and a signer for one of `offered_schemes` (the server's,
    /// in its preference order, restricted to schemes TLS 1.3 allows), or `None` to send an
    /// empty Certificate.
    fn resolve(
        &self,
        offered_schemes: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)>;
}

/// Receives secrets in the NSS key log format: `label`, the ClientHello random, the secret.
pub trait KeyLog: Send + Sync {
    /// Logs one secret. Labels: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
    /// `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`,
    /// `EXPORTER_SECRET`.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

impl fmt::Debug for dyn KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyLog")
    }
}

/// Which keys protect a [`Event::Send`]: the client seals it with the write key current at
/// that point in the event sequence; the level says which one that is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Level {
    /// Plaintext (ClientHello).
    Initial,
    /// Handshake traffic keys.
    Handshake,
    /// Application traffic keys (post-handshake messages such as KeyUpdate).
    Application,
}

/// A TLS 1.3 session ticket with the PSK derived for it (RFC 8446 §4.6.1), for resumption.
pub struct Tls13Ticket {
    /// The suite of the connection that received it (resumption needs the same hash).
    pub suite: CipherSuite,
    /// The opaque ticket, sent back as a PSK identity.
    pub ticket: Vec<u8>,
    /// `HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, HashLen)`.
    pub psk: Secret,
    /// Lifetime in seconds (at most 7 days).
    pub lifetime: u32,
    /// `ticket_age_add`.
    pub age_add: u32,
    /// `max_early_data_size`, if the server allows 0-RTT with it.
    pub max_early_data: Option<u32>,
    /// When it arrived (the `now` of the `handle` call).
    pub received_at: UnixTime,
    /// The server it is for.
    pub server_name: ServerName<'static>,
    /// The ALPN protocol negotiated on that connection.
    pub alpn: Option<Vec<u8>>,
}

impl fmt::Debug for Tls13Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls13Ticket")
            .field("suite", &self.suite)
            .field("ticket_len", &self.ticket.len())
            .field("lifetime", &self.lifetime)
            .field("max_early_data", &self.max_early_data)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// What the handshake asks of the client, in order: the client applies them strictly in
/// sequence (a `Send` is sealed with the write key installed by the events before it).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Handshake message(s) to send.
    Send {
        /// The encryption level (informative: the current write key applies).
        level: Level,
        /// Whole handshake messages, concatenated.
        bytes: Vec<u8>,
    },
    /// A middlebox-compatibility ChangeCipherSpec record (`14 03 03 00 01 01`), unprotected.
    SendCcs,
    /// Install this key for reading records from now on.
    InstallReadKey(TrafficKey),
    /// Install this key for writing records from now on.
    InstallWriteKey(TrafficKey),
    /// The server chose version, suite and group (`None` for a PSK-only handshake).
    ServerHello {
        /// The negotiated version.
        version: ProtocolVersion,
        /// The negotiated suite.
        suite: CipherSuite,
        /// The key-exchange group.
        group: Option<NamedGroup>,
    },
    /// The ALPN protocol the server chose (`None`: none).
    Alpn(Option<Vec<u8>>),
    /// The server's chain as received (emitted before it is verified, so that a failure can
    /// still show it).
    PeerCertificates(Vec<CertificateDer<'static>>),
    /// The handshake is complete: application data may flow.
    Complete,
    /// A session ticket arrived (post-handshake).
    NewSessionTicket(Tls13Ticket),
}

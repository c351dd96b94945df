//! `ClientConfig`: what every connection made from it shares. Built once, cheap to clone, safe
//! to share across threads.

use crate::error::Error;
use crate::keylog::KeyLogFile;
use crate::session::{MemorySessionStore, SessionStore};
use crate::verify::X509Verifier;
use overture_crypto_provider::{CryptoProvider, Signer, SigningKey, SupportedCipherSuite};
use overture_handshake::{CertVerifier, ClientCertResolver, HandshakeConfig, KeyLog};
use overture_types::pki::pem::PemObject;
use overture_types::{
    CertificateDer, CertificateRevocationListDer, CipherSuite, NamedGroup, PrivateKeyDer,
    ProtocolVersion, SignatureScheme,
};
use overture_x509_verify::RootStore;
use std::path::Path;
use std::sync::Arc;

/// The largest handshake message accepted by default (a certificate chain must fit in it).
pub const DEFAULT_MAX_HANDSHAKE_MESSAGE: usize = 64 * 1024;
/// Sessions a config's default [`MemorySessionStore`] keeps.
pub const DEFAULT_SESSION_CACHE: usize = 256;
/// Signature-cache entries by default (verified certificate signatures, see x509-verify).
pub const DEFAULT_SIGNATURE_CACHE: usize = 1024;

/// What to do with the client's final handshake flight (its Finished; in a TLS 1.2 resumption
/// also its ChangeCipherSpec) when `connect()` produced it last.
///
/// With Nagle's algorithm on, a client that writes its first request right after the
/// handshake sends two small segments back to back: the second waits for the ACK of the
/// first, which the server may delay (the delayed-ACK stall, often 40 ms).
///
/// By default (`Auto`) `connect()` returns only once the final flight is handed to the
/// transport — `SSL_connect()` returning 1 means the handshake is done on the wire, which a
/// server-speaks-first protocol (SMTP, IMAP, POP3, XMPP, FTP after AUTH TLS) depends on — and
/// the stall is avoided differently: on a TCP socket given through `Ssl::set_socket` with Nagle
/// on, TCP_NODELAY is switched on for the final flight and the first application write (or
/// read), then switched off again (two `setsockopt` calls per connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FinalFlight {
    /// Send it before `connect()` returns; on a TCP socket with Nagle on, with TCP_NODELAY on
    /// until the first write is out, then the socket's own setting back.
    #[default]
    Auto,
    /// Hold it until the first `write()` and send both in **one transport write** (one segment,
    /// without touching the socket's options). **Risk:** `connect()` then returns while the
    /// server still waits for our Finished; it leaves with the next call that does I/O on the
    /// connection (`write`, `flush`, `read`, `shutdown`, `connect`) and there is no timer.
    /// A program that, after `connect()`, waits on the raw socket for the server to speak
    /// first would wait forever: call `flush()` before, or do not use `Hold`.
    Hold,
    /// Send it before `connect()` returns and leave the socket's options alone (OpenSSL's
    /// behaviour, Nagle stall included).
    Send,
}

/// How the transport closing without close_notify is reported (OpenSSL changed it in 3.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnexpectedEof {
    /// As OpenSSL 3: [`ErrorKind::Ssl`](crate::ErrorKind::Ssl) (`SSL_ERROR_SSL`, "unexpected
    /// eof while reading"), during the handshake and after it. The error's `io_kind` is
    /// `UnexpectedEof` either way.
    #[default]
    Ssl,
    /// As OpenSSL 1.1.1: [`ErrorKind::Io`](crate::ErrorKind::Io) (`SSL_ERROR_SYSCALL` with no
    /// error queued).
    Syscall,
}

/// What happens to early data (0-RTT) the server rejected
/// ([`ConfigBuilder::with_early_data_rejected`]).
///
/// A server that rejects 0-RTT skips every early record unread; the connection still
/// completes (as a resumed or a full handshake).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EarlyDataRejected {
    /// Report it and send nothing more: [`Connection::early_data_status`] (and
    /// [`Ssl::early_data_status`]) say [`EarlyDataStatus::Rejected`] and the application
    /// resends what it wants delivered, now that it knows what the handshake negotiated (the
    /// ALPN protocol may differ from the ticket's). This is OpenSSL's and rustls's behaviour, so
    /// code ported from `SSL_write_early_data` keeps working unchanged.
    ///
    /// [`Connection::early_data_status`]: crate::Connection::early_data_status
    /// [`Ssl::early_data_status`]: crate::Ssl::early_data_status
    /// [`EarlyDataStatus::Rejected`]: crate::EarlyDataStatus::Rejected
    #[default]
    Report,
    /// Resend it as ordinary application data right after the handshake completes (in the
    /// same transport write as our Finished when the transport takes both), and still report
    /// [`EarlyDataStatus::Rejected`](crate::EarlyDataStatus::Rejected). The connection keeps a
    /// copy of the early data until the server's answer (at most
    /// [`MAX_EARLY_DATA`](crate::MAX_EARLY_DATA) bytes). The data then goes to whatever the
    /// handshake negotiated, e.g. another ALPN protocol than the ticket's.
    Resend,
}

/// Settings shared by connections. Clone it freely: clones share one allocation.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    handshake: Arc<HandshakeConfig>,
    tcp_nodelay: bool,
    max_handshake_message: usize,
    sni: bool,
    final_flight: FinalFlight,
    session_store: Option<Arc<dyn SessionStore>>,
    allow_tls12_without_ems: bool,
    offer_psk_ke: bool,
    unexpected_eof: UnexpectedEof,
    early_data_rejected: EarlyDataRejected,
    ocsp_response_check: Option<OcspResponseCheck>,
}

/// The application's decision on the server's stapled OCSP response
/// ([`ConfigBuilder::with_ocsp_response_check`]).
#[derive(Clone)]
pub(crate) struct OcspResponseCheck(Arc<OcspCheckFn>);

/// The function behind an [`OcspResponseCheck`]: the stapled response (`None`: none) →
/// accepted.
type OcspCheckFn = dyn Fn(Option<&[u8]>) -> bool + Send + Sync;

impl OcspResponseCheck {
    pub(crate) fn accepts(&self, response: Option<&[u8]>) -> bool {
        (self.0)(response)
    }
}

impl core::fmt::Debug for OcspResponseCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("OcspResponseCheck(..)")
    }
}

impl ClientConfig {
    /// A builder with the default provider and everything in scope enabled: TLS 1.3 and 1.2,
    /// every AEAD suite, X25519/P-256/P-384. Trust anchors must still be chosen.
    ///
    /// The provider follows this crate's features: `ring` (the default, and the one chosen
    /// when both are on), else `rustcrypto`. With neither (a provider of your own: a FIPS
    /// module, an HSM), there is no default to pick and this function does not exist; use
    /// [`builder_with_provider`](Self::builder_with_provider).
    #[cfg(any(feature = "ring", feature = "rustcrypto"))]
    pub fn builder() -> ConfigBuilder {
        #[cfg(feature = "ring")]
        let provider = overture_crypto_provider::ring::default_provider();
        #[cfg(not(feature = "ring"))]
        let provider = overture_crypto_provider::rustcrypto::default_provider();
        Self::builder_with_provider(provider)
    }

    /// A builder over `provider` (or a provider with some pieces replaced).
    pub fn builder_with_provider(provider: CryptoProvider) -> ConfigBuilder {
        ConfigBuilder {
            provider,
            versions: vec![ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
            suites: None,
            groups: None,
            alpn: Vec::new(),
            sni: true,
            roots: None,
            crls: Vec::new(),
            profile: overture_x509_verify::Profile::Default,
            verifier: None,
            client_auth: None,
            key_log: None,
            tcp_nodelay: false,
            final_flight: FinalFlight::Auto,
            session_store: Some(Arc::new(MemorySessionStore::new(DEFAULT_SESSION_CACHE))),
            allow_tls12_without_ems: false,
            offer_psk_ke: false,
            signature_cache: DEFAULT_SIGNATURE_CACHE,
            max_handshake_message: DEFAULT_MAX_HANDSHAKE_MESSAGE,
            middlebox_compat: true,
            record_size_limit: None,
            ocsp_stapling: false,
            signed_certificate_timestamps: false,
            ocsp_response_check: None,
            early_data: false,
            early_data_rejected: EarlyDataRejected::Report,
            unexpected_eof: UnexpectedEof::Ssl,
            verify_schemes: None,
            signing_schemes: None,
            ech: overture_handshake::EchMode::Off,
        }
    }

    /// The record_size_limit we offer (RFC 8449), if any: [`ConfigBuilder::with_record_size_limit`].
    pub fn record_size_limit(&self) -> Option<u16> {
        self.inner.handshake.extensions.record_size_limit
    }

    /// Whether 0-RTT early data is offered when a ticket allows it:
    /// [`ConfigBuilder::with_early_data`].
    pub fn early_data(&self) -> bool {
        self.inner.handshake.extensions.early_data
    }

    /// What happens to rejected early data: [`ConfigBuilder::with_early_data_rejected`].
    pub fn early_data_rejected(&self) -> EarlyDataRejected {
        self.inner.early_data_rejected
    }

    pub(crate) fn ocsp_response_check(&self) -> Option<&OcspResponseCheck> {
        self.inner.ocsp_response_check.as_ref()
    }

    pub(crate) fn handshake_config(&self) -> Arc<HandshakeConfig> {
        self.inner.handshake.clone()
    }

    /// Whether sockets given through `Ssl::set_socket` get TCP_NODELAY.
    pub fn tcp_nodelay(&self) -> bool {
        self.inner.tcp_nodelay
    }

    /// The handshake-message size limit.
    pub fn max_handshake_message(&self) -> usize {
        self.inner.max_handshake_message
    }

    /// The final-flight policy (see [`FinalFlight`]).
    pub fn final_flight(&self) -> FinalFlight {
        self.inner.final_flight
    }

    /// Where sessions are kept for resumption (`None`: resumption off).
    pub fn session_store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.inner.session_store.as_ref()
    }

    pub(crate) fn allow_tls12_without_ems(&self) -> bool {
        self.inner.allow_tls12_without_ems
    }

    pub(crate) fn offer_psk_ke(&self) -> bool {
        self.inner.offer_psk_ke
    }

    /// How the transport closing without close_notify is reported (see [`UnexpectedEof`]).
    pub fn unexpected_eof(&self) -> UnexpectedEof {
        self.inner.unexpected_eof
    }

    /// Whether SNI is sent.
    pub fn sni(&self) -> bool {
        self.inner.sni
    }

    /// The crypto provider, as filtered by the builder.
    pub fn provider(&self) -> &CryptoProvider {
        &self.inner.handshake.provider
    }
}

/// Builds a [`ClientConfig`].
#[must_use]
pub struct ConfigBuilder {
    provider: CryptoProvider,
    versions: Vec<ProtocolVersion>,
    suites: Option<Vec<CipherSuite>>,
    groups: Option<Vec<NamedGroup>>,
    alpn: Vec<Vec<u8>>,
    sni: bool,
    roots: Option<RootStore>,
    crls: Vec<CertificateRevocationListDer<'static>>,
    profile: overture_x509_verify::Profile,
    verifier: Option<Arc<dyn CertVerifier>>,
    client_auth: Option<Arc<dyn ClientCertResolver>>,
    key_log: Option<Arc<dyn KeyLog>>,
    tcp_nodelay: bool,
    final_flight: FinalFlight,
    session_store: Option<Arc<dyn SessionStore>>,
    allow_tls12_without_ems: bool,
    offer_psk_ke: bool,
    signature_cache: usize,
    max_handshake_message: usize,
    middlebox_compat: bool,
    record_size_limit: Option<u16>,
    ocsp_stapling: bool,
    signed_certificate_timestamps: bool,
    ocsp_response_check: Option<OcspResponseCheck>,
    early_data: bool,
    early_data_rejected: EarlyDataRejected,
    unexpected_eof: UnexpectedEof,
    verify_schemes: Option<Vec<SignatureScheme>>,
    signing_schemes: Option<Vec<SignatureScheme>>,
    ech: overture_handshake::EchMode,
}

impl ConfigBuilder {
    /// Also trusts the certificates in a PEM file (`SSL_CTX_load_verify_locations` with a
    /// file): they are added to the roots chosen so far (another CA file, the system store, a
    /// root store), as OpenSSL adds to its store.
    pub fn with_ca_file(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let file = RootStore::from_pem_file(path)
            .map_err(|e| Error::usage(format!("CA file {}: {e}", path.display())))?;
        match self.roots.as_mut() {
            Some(roots) => {
                // Anchors from a CA bundle are checked leniently, as `from_pem_file` does.
                let strict = roots.strict_anchors();
                roots.set_strict_anchors(false);
                let added = roots.add_pem_file(path);
                roots.set_strict_anchors(strict);
                added.map_err(|e| Error::usage(format!("CA file {}: {e}", path.display())))?;
            }
            None => self.roots = Some(file),
        }
        Ok(self)
    }

    /// Checks server chains against these certificate revocation lists
    /// (`X509_STORE_add_crl` with `X509_V_FLAG_CRL_CHECK_ALL`): a revoked certificate anywhere
    /// in the path fails with `certificate_revoked`; a CRL that is expired, from the wrong
    /// issuer, or has an unknown critical extension fails the verification. Certificates no
    /// given CRL covers pass (there is no OCSP or CRL fetching).
    pub fn with_crls(mut self, crls: Vec<CertificateRevocationListDer<'static>>) -> Self {
        self.crls = crls;
        self
    }

    /// The certificate profile server chains are held to: [`overture_x509_verify::Profile`]'s
    /// `Default` (what OpenSSL 3, rustls and Go all accept where the difference carries no
    /// security weight; the default) or `Strict` (RFC 5280 and the CA/B Forum Baseline
    /// Requirements, as x509-limbo reads them).
    pub fn with_verification_profile(mut self, profile: overture_x509_verify::Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Trusts these roots.
    pub fn with_root_store(mut self, roots: RootStore) -> Self {
        self.roots = Some(roots);
        self
    }

    /// Trusts the operating system's store (`SSL_CERT_FILE`, `SSL_CERT_DIR`, the usual bundle
    /// paths).
    pub fn with_system_roots(mut self) -> Result<Self, Error> {
        let store =
            RootStore::system().map_err(|e| Error::usage(format!("system trust store: {e}")))?;
        self.roots = Some(store);
        Ok(self)
    }

    /// The protocol versions to offer (TLS 1.3 and/or TLS 1.2).
    pub fn with_protocol_versions(mut self, versions: &[ProtocolVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// The cipher suites to offer, in preference order. Each must be one the provider has.
    pub fn with_cipher_suites(mut self, suites: &[CipherSuite]) -> Result<Self, Error> {
        for s in suites {
            if self.provider.find_suite(*s).is_none() {
                return Err(Error::usage(format!("cipher suite {s} is not supported")));
            }
        }
        self.suites = Some(suites.to_vec());
        Ok(self)
    }

    /// The key-exchange groups to offer, in preference order: any of the provider's
    /// `kx_groups` (default: X25519MLKEM768, x25519, secp256r1, secp384r1) or
    /// `extra_kx_groups` (SecP256r1MLKEM768). The first gets a key share; a hybrid first also
    /// shares its classical group from the same key when that group is listed too, so
    /// `[X25519MLKEM768, X25519]` sends two shares and `[X25519, X25519MLKEM768]` one.
    pub fn with_groups(mut self, groups: &[NamedGroup]) -> Result<Self, Error> {
        for g in groups {
            if self.provider.find_kx(*g).is_none() {
                return Err(Error::usage(format!("group {g} is not supported")));
            }
        }
        self.groups = Some(groups.to_vec());
        Ok(self)
    }

    /// The ALPN protocols to offer, in preference order.
    pub fn with_alpn(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// Whether to send SNI (on by default; never sent for IP addresses).
    pub fn with_sni(mut self, on: bool) -> Self {
        self.sni = on;
        self
    }

    /// A client certificate chain and its private key, offered when the server asks.
    pub fn with_client_cert(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        let key = self
            .provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| Error::usage(format!("client key: {e}")))?;
        self.client_auth = Some(Arc::new(SingleCert { chain, key }));
        Ok(self)
    }

    /// A client certificate chain and key from PEM files.
    pub fn with_client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, Error> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| Error::usage(format!("certificate file {}: {e}", cert.display())))?;
        if chain.is_empty() {
            return Err(Error::usage(format!(
                "no certificate in {}",
                cert.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .map_err(|e| Error::usage(format!("key file {}: {e}", key.display())))?;
        self.with_client_cert(chain, key)
    }

    /// A custom client-certificate resolver.
    pub fn with_client_cert_resolver(mut self, resolver: Arc<dyn ClientCertResolver>) -> Self {
        self.client_auth = Some(resolver);
        self
    }

    /// Logs secrets in NSS key log format through `key_log`.
    pub fn with_key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
        self.key_log = Some(key_log);
        self
    }

    /// Logs secrets to `path` in NSS key log format.
    pub fn with_key_log_file(self, path: impl AsRef<Path>) -> Self {
        self.with_key_log(Arc::new(KeyLogFile::new(path)))
    }

    /// Logs secrets to the file `SSLKEYLOGFILE` names, if it is set.
    pub fn with_key_log_from_env(self) -> Self {
        match KeyLogFile::from_env() {
            Some(k) => self.with_key_log(Arc::new(k)),
            None => self,
        }
    }

    /// Sets TCP_NODELAY on sockets given through `Ssl::set_socket` (`BIO_set_tcp_ndelay`).
    pub fn with_tcp_nodelay(mut self, on: bool) -> Self {
        self.tcp_nodelay = on;
        self
    }

    /// How the transport closing without close_notify is reported (default
    /// [`UnexpectedEof::Ssl`], as OpenSSL 3; [`UnexpectedEof::Syscall`] as OpenSSL 1.1.1).
    pub fn with_unexpected_eof(mut self, policy: UnexpectedEof) -> Self {
        self.unexpected_eof = policy;
        self
    }

    /// What to do with the client's final flight when `connect()` produced it last (default
    /// [`FinalFlight::Auto`]: send it, with TCP_NODELAY on for it and the first write on a socket
    /// with Nagle on).
    pub fn with_final_flight(mut self, policy: FinalFlight) -> Self {
        self.final_flight = policy;
        self
    }

    /// Where to keep sessions for resumption (default: a [`MemorySessionStore`] of
    /// [`DEFAULT_SESSION_CACHE`] sessions; `None` turns resumption off). Every connection made
    /// from the config stores what its server gives it and offers it to the same server name
    /// next time. Do not share one store between a config with ECH and one without: a ticket
    /// from a connection whose server name was encrypted would be offered in a ClientHello
    /// that names the server in the clear, and its PSK identity links the two connections
    /// (each config's default store is its own).
    pub fn with_session_store(mut self, store: Option<Arc<dyn SessionStore>>) -> Self {
        self.session_store = store;
        self
    }

    /// Whether a TLS 1.3 resumption may skip the (EC)DHE exchange (`psk_ke`; default off:
    /// only `psk_dhe_ke` is offered, which keeps forward secrecy).
    pub fn with_psk_ke(mut self, on: bool) -> Self {
        self.offer_psk_ke = on;
        self
    }

    /// How many verified certificate signatures to remember (0 turns the cache off).
    pub fn with_signature_cache(mut self, entries: usize) -> Self {
        self.signature_cache = entries;
        self
    }

    /// The largest handshake message to accept (default 64 KiB).
    pub fn with_max_handshake_message(mut self, bytes: usize) -> Self {
        self.max_handshake_message = bytes;
        self
    }

    /// Offers the record_size_limit extension (RFC 8449) with `limit`: the largest record
    /// plaintext we accept (TLS 1.3: content plus the inner content type byte), 64..=16385
    /// (`build` refuses others). When the server answers with its own limit, every protected
    /// record it sends above ours is `record_overflow`, and every record we send stays within
    /// its limit. Default: not offered (the server may send records up to 2^14).
    pub fn with_record_size_limit(mut self, limit: u16) -> Self {
        self.record_size_limit = Some(limit);
        self
    }

    /// Asks the server to staple an OCSP response (the status_request extension, RFC 6066 §8,
    /// as `SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp)`): the response arrives in
    /// [`crate::Negotiated::ocsp_response`]. Overture does **not** validate it (no OCSP
    /// parsing, signature, freshness or revocation decision): it is handed to the application
    /// as the server sent it. Default off.
    pub fn with_ocsp_stapling(mut self, enable: bool) -> Self {
        self.ocsp_stapling = enable;
        self
    }

    /// The application's own check of the stapled OCSP response (OpenSSL's
    /// `SSL_CTX_set_tlsext_status_cb` on a client): in every full handshake, once the server's
    /// certificate and handshake signature are verified, `check` gets the response the server
    /// stapled (`None` when it sent none; ask for one with [`Self::with_ocsp_stapling`]).
    /// Returning `false` fails the handshake with a `bad_certificate_status_response` alert.
    /// Overture itself never parses the response: validating it (signature, freshness,
    /// status) is up to `check`. Not called on a resumption (no certificate).
    pub fn with_ocsp_response_check(
        mut self,
        check: impl Fn(Option<&[u8]>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.ocsp_response_check = Some(OcspResponseCheck(Arc::new(check)));
        self
    }

    /// Asks the server for its signed certificate timestamps (the signed_certificate_timestamp
    /// extension, RFC 6962 §3.3.1): the SignedCertificateTimestampList arrives in
    /// [`crate::Negotiated::signed_certificate_timestamps`]. Only its structure is checked
    /// (a non-empty list of non-empty SCTs); the SCTs are **not** verified against any log.
    /// Default off.
    pub fn with_signed_certificate_timestamps(mut self, enable: bool) -> Self {
        self.signed_certificate_timestamps = enable;
        self
    }

    /// Offers TLS 1.3 0-RTT early data (RFC 8446 §2.3, §4.2.10) when resuming with a ticket
    /// whose server allows it (its `max_early_data_size`); off by default. The application
    /// then writes early data with [`Connection::write_early_data`] /
    /// [`Ssl::write_early_data`] before the handshake completes, and learns whether the
    /// server read it from `early_data_status()`; a rejection is reported or resent as
    /// [`ConfigBuilder::with_early_data_rejected`] says.
    ///
    /// **Early data can be replayed.** It is protected by a key derived from the ticket alone,
    /// with no fresh contribution from the server: an attacker who records it can send it to
    /// the server again (to another instance of it, or after the server forgot the ticket),
    /// and the server may process it twice, and it has no forward secrecy against a later
    /// compromise of the ticket key (RFC 8446 §8, §E.5). Send in it only requests that are
    /// safe to repeat (an idempotent `GET` with no side effects), as OpenSSL
    /// (`SSL_write_early_data`) and rustls (`enable_early_data`) warn too; the server's
    /// anti-replay defences are its own and partial.
    ///
    /// [`Connection::write_early_data`]: crate::Connection::write_early_data
    /// [`Ssl::write_early_data`]: crate::Ssl::write_early_data
    pub fn with_early_data(mut self, on: bool) -> Self {
        self.early_data = on;
        self
    }

    /// What happens to early data the server rejected (default
    /// [`EarlyDataRejected::Report`], as OpenSSL and rustls: the application resends it).
    pub fn with_early_data_rejected(mut self, policy: EarlyDataRejected) -> Self {
        self.early_data_rejected = policy;
        self
    }

    /// Whether to use TLS 1.3 middlebox compatibility mode (default on).
    pub fn with_middlebox_compat(mut self, on: bool) -> Self {
        self.middlebox_compat = on;
        self
    }

    /// The signature schemes to accept from the server (offered in signature_algorithms), in
    /// preference order (default: every scheme the verifier supports). Schemes the verifier
    /// cannot check are left out; `build` fails when none is left.
    pub fn with_verify_schemes(mut self, schemes: &[SignatureScheme]) -> Self {
        self.verify_schemes = Some(schemes.to_vec());
        self
    }

    /// The signature schemes to sign a client CertificateVerify with, in preference order
    /// (default: any the server offers, in its order). Only these are used, and only when the
    /// server offered them and the negotiated version allows them.
    pub fn with_signing_schemes(mut self, schemes: &[SignatureScheme]) -> Self {
        self.signing_schemes = Some(schemes.to_vec());
        self
    }

    /// Offers Encrypted Client Hello (RFC 9849) with the first usable config of
    /// `config_list`, an ECHConfigList as the server publishes it (the bytes of a DNS HTTPS
    /// record's `ech` parameter, or an error's [`Error::ech_retry_configs`]). The real server
    /// name and ALPN go only into the encrypted inner ClientHello; the outer one names the
    /// config's public name. Connections then offer TLS 1.3 only (the inner hello must not
    /// offer TLS 1.2; `build` fails when TLS 1.3 is not enabled) and send no early data.
    /// [`Negotiated::ech`](crate::Negotiated::ech) says `Accepted`; a server that rejects ECH
    /// makes `connect` fail (alert `ech_required`) with the retry configs it sent, after
    /// authenticating it for the public name. Fails now when the list does not parse, and at
    /// `build` when no config is usable with the provider (HPKE DHKEM(X25519, HKDF-SHA256)
    /// with HKDF-SHA256 and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use overture::{ClientConfig, EchStatus, Ssl};
    /// let list = std::fs::read("ech-config-list.bin")?; // e.g. from the HTTPS record
    /// let config = |list: &[u8]| {
    ///     ClientConfig::builder()
    ///         .with_system_roots()?
    ///         .with_ech_config_list(list)?
    ///         .build()
    /// };
    /// let connect = |config: &ClientConfig| -> Result<_, overture::Error> {
    ///     let socket = overture::bio::SocketBio::connect(("192.0.2.1", 443))
    ///         .map_err(|e| overture::Error::from_io(&e, "connect"))?;
    ///     let mut ssl = Ssl::new(config, "private.example")?;
    ///     ssl.set_socket(socket)?;
    ///     ssl.connect()
    /// };
    /// let negotiated = match connect(&config(&list)?) {
    ///     // The server rotated its keys: retry once with the configs it sent.
    ///     Err(e) if e.ech_retry_configs().is_some() => {
    ///         connect(&config(e.ech_retry_configs().unwrap_or_default())?)?
    ///     }
    ///     other => other?,
    /// };
    /// assert_eq!(negotiated.ech(), EchStatus::Accepted);
    /// # Ok(()) }
    /// ```
    pub fn with_ech_config_list(mut self, config_list: &[u8]) -> Result<Self, Error> {
        let list = overture_handshake::EchConfigList::parse(config_list)
            .map_err(|e| Error::usage(format!("ECHConfigList: {e}")))?;
        self.ech = overture_handshake::EchMode::Enabled(list);
        Ok(self)
    }

    /// Sends a GREASE ECH extension (RFC 9849 §6.2.1, as Chrome does) when no config list is
    /// set: random bytes shaped like a real offer, which servers ignore, so that real ECH
    /// connections do not stand out. Off by default.
    pub fn with_ech_grease(mut self, on: bool) -> Self {
        if !matches!(self.ech, overture_handshake::EchMode::Enabled(_)) {
            self.ech = if on {
                overture_handshake::EchMode::Grease
            } else {
                overture_handshake::EchMode::Off
            };
        }
        self
    }

    /// Options that weaken security, named so nobody uses them by accident.
    pub fn dangerous(self) -> DangerousConfigBuilder {
        DangerousConfigBuilder(self)
    }

    /// The config. Fails when no trust anchors (or custom verifier) were chosen, or when the
    /// choices leave nothing to negotiate.
    pub fn build(self) -> Result<ClientConfig, Error> {
        if let Some(limit) = self.record_size_limit.filter(|l| !(64..=16385).contains(l)) {
            return Err(Error::usage(format!(
                "record_size_limit {limit} is outside 64..=16385 (RFC 8449 §4)"
            )));
        }
        let mut versions = self.versions;
        if let overture_handshake::EchMode::Enabled(list) = &self.ech {
            // RFC 9849 §6.1: the inner ClientHello offers TLS 1.3 only, and so do we.
            if !versions.contains(&ProtocolVersion::TLSv1_3) {
                return Err(Error::usage("ECH needs TLS 1.3"));
            }
            versions.retain(|v| *v == ProtocolVersion::TLSv1_3);
            if list.select(&self.provider).is_none() {
                return Err(Error::usage(
                    "no config of the ECHConfigList is usable (a supported version, \
                     DHKEM(X25519, HKDF-SHA256) with a KDF/AEAD pair of the provider, a valid \
                     public_name, no unknown mandatory extension)",
                ));
            }
        }
        // HPKE's suite is the ECHConfig's: its pieces come from the whole provider, not the
        // TLS suites and groups chosen below.
        let ech_hpke_provider = matches!(self.ech, overture_handshake::EchMode::Enabled(_))
            .then(|| Arc::new(self.provider.clone()));
        let mut provider = self.provider;
        if let Some(order) = &self.suites {
            provider.cipher_suites = order
                .iter()
                .filter_map(|s| provider.find_suite(*s))
                .collect();
        }
        provider
            .cipher_suites
            .retain(|s: &SupportedCipherSuite| versions.contains(&s.version()));
        if provider.cipher_suites.is_empty() {
            return Err(Error::usage(
                "no cipher suite left for the chosen protocol versions",
            ));
        }
        if let Some(order) = &self.groups {
            provider.kx_groups = order.iter().filter_map(|g| provider.find_kx(*g)).collect();
        }
        if provider.kx_groups.is_empty() {
            return Err(Error::usage("no key-exchange group to offer"));
        }
        let provider = Arc::new(provider);
        let verifier: Arc<dyn CertVerifier> = match (self.verifier, self.roots) {
            (Some(v), _) => v,
            (None, Some(roots)) => Arc::new(
                X509Verifier::new(Arc::new(roots), provider.clone(), self.signature_cache)
                    .with_profile(self.profile)
                    .with_crls(self.crls)
                    .map_err(|e| Error::usage(format!("certificate revocation list: {e}")))?,
            ),
            (None, None) => {
                return Err(Error::usage(
                    "no trust anchors: use with_ca_file, with_root_store or with_system_roots",
                ));
            }
        };
        if let Some(wanted) = &self.verify_schemes {
            let supported = verifier.supported_schemes();
            if !wanted.iter().any(|s| supported.contains(s)) {
                return Err(Error::usage(
                    "no signature scheme to accept: the verifier supports none of with_verify_schemes",
                ));
            }
        }
        let handshake = HandshakeConfig {
            provider,
            versions,
            alpn_protocols: self.alpn,
            enable_sni: self.sni,
            middlebox_compat: self.middlebox_compat,
            verifier,
            client_auth: self.client_auth,
            verify_schemes: self.verify_schemes,
            signing_schemes: self.signing_schemes,
            key_log: self.key_log,
            extensions: overture_handshake::ExtensionOptions {
                max_handshake_message: self.max_handshake_message,
                record_size_limit: self.record_size_limit,
                status_request: self.ocsp_stapling,
                signed_certificate_timestamps: self.signed_certificate_timestamps,
                early_data: self.early_data,
                ech: self.ech,
                ech_hpke_provider,
                ..Default::default()
            },
        };
        Ok(ClientConfig {
            inner: Arc::new(Inner {
                handshake: Arc::new(handshake),
                tcp_nodelay: self.tcp_nodelay,
                final_flight: self.final_flight,
                session_store: self.session_store,
                allow_tls12_without_ems: self.allow_tls12_without_ems,
                offer_psk_ke: self.offer_psk_ke,
                max_handshake_message: self.max_handshake_message,
                sni: self.sni,
                unexpected_eof: self.unexpected_eof,
                early_data_rejected: self.early_data_rejected,
                ocsp_response_check: self.ocsp_response_check,
            }),
        })
    }
}

/// The options of [`ConfigBuilder::dangerous`].
#[must_use]
pub struct DangerousConfigBuilder(ConfigBuilder);

impl DangerousConfigBuilder {
    /// Verifies server certificates with `verifier` instead of the built-in path validation.
    pub fn with_custom_verifier(mut self, verifier: Arc<dyn CertVerifier>) -> ConfigBuilder {
        self.0.verifier = Some(verifier);
        self.0
    }

    /// Accepts a TLS 1.2 server that does not support the extended master secret (RFC 7627).
    /// Without it, a TLS 1.2 session's keys are not bound to its handshake (the triple
    /// handshake attack), so such servers are refused by default.
    pub fn allow_tls12_without_ems(mut self) -> ConfigBuilder {
        self.0.allow_tls12_without_ems = true;
        self.0
    }

    /// Accepts any server certificate for any name (the handshake signature is still checked,
    /// so the server must hold the certificate's key). For tests against throwaway servers only.
    pub fn with_no_certificate_verification(mut self) -> ConfigBuilder {
        let provider = Arc::new(self.0.provider.clone());
        self.0.verifier = Some(Arc::new(X509Verifier::accepting_any_chain(provider)));
        self.0
    }
}

/// One client certificate chain and key.
#[derive(Debug)]
struct SingleCert {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<dyn SigningKey>,
}

impl ClientCertResolver for SingleCert {
    fn resolve(
        &self,
        offered_schemes: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)> {
        let signer = self.key.choose_scheme(offered_schemes)?;
        Some((self.chain.clone(), signer))
    }
}

//! `bogo-shim`: the program BoringSSL's BoGo runner (`ssl/test/runner`) starts once per test to
//! play the TLS client through Overture's public API.
//!
//! ```text
//!  runner (Go TLS server with deliberate misbehaviours)
//!     │ starts: bogo-shim -port P -shim-id N [-ipv6] ...flags
//!     ▼
//!  bogo-shim ── TCP 127.0.0.1:P ──► sends N (8 bytes LE), then TLS through
//!     overture::Ssl over a SocketBio (blocking, or non-blocking with -async: the
//!     WantRead / WantWrite poll loop a user writes)
//!     ├─ connect(), check every -expect-* flag against Negotiated
//!     ├─ [-shim-writes-first] write "hello"
//!     ├─ echo: read ≤ 512 bytes, XOR 0xff, write back, until the runner closes
//!     ├─ [-check-close-notify] shutdown() must complete (close_notify both ways)
//!     └─ -resume-count R: R more connections offering the newest Session
//! ```
//!
//! Exit codes (the runner's protocol): 0 success, 1 failure with `overture error: <our error>`
//! (or `shim: <why>`) on stderr — the config's `ErrorMap` maps BoringSSL's expected error
//! strings onto ours — and 89 for any flag or mode this shim does not implement (`-server`,
//! DTLS, QUIC, features Overture lacks), which the runner counts as *unimplemented*. An
//! unknown flag is never guessed at.

#![forbid(unsafe_code)]

use overture::bio::SocketBio;
use overture::crypto::{Signer, SigningKey};
use overture::handshake::{
    CertVerifier, CertificateError, ClientCertResolver, Error as HsError, ServerCertVerified,
    SignatureVerified,
};
use overture::types::pki::pem::PemObject;
use overture::types::{
    CertificateDer, CipherSuite, NamedGroup, PrivateKeyDer, ProtocolVersion, ServerName,
    SignatureScheme, UnixTime,
};
use overture::x509::RootStore;
use overture::{
    ClientConfig, EarlyDataStatus, EchStatus, Error, ErrorKind, Session, ShutdownState, Ssl,
    X509Verifier,
};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use std::fmt;
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// The runner's exit code for "this shim does not implement the test".
const UNIMPLEMENTED: u8 = 89;
/// What the shim writes first with `-shim-writes-first` (the runner's `shimInitialWrite`).
const INITIAL_WRITE: &[u8] = b"hello";
/// How long a non-blocking wait may last before the shim gives up (the runner's own idle
/// timeout is shorter, so this only stops a shim orphaned by its runner).
const POLL_TIMEOUT_SECS: i64 = 60;
/// The name the runner's certificates are issued for; the reference identity when the test
/// gives no `-host-name` (then no SNI is sent, as BoringSSL's shim sends none).
const DEFAULT_NAME: &str = "test";
/// Resumptions the shim accepts (`-resume-count`): the runner asks for at most 2.
const MAX_RESUMES: u32 = 16;
/// The most keying material `-export-keying-material` may ask for (the runner asks ≤ 1 KiB).
const MAX_EXPORT: usize = 1 << 16;

/// Why the shim stops.
enum Stop {
    /// A flag or mode we do not implement: exit 89.
    Unimplemented(String),
    /// Overture returned an error (the expected reason of a must-fail test, mapped by the
    /// config's `ErrorMap`).
    Tls(Error),
    /// A check of the shim failed (an `-expect-*` flag, the runner's protocol).
    Check(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unimplemented(why) => write!(f, "unimplemented: {why}"),
            Self::Tls(e) => write!(f, "overture error: {e}"),
            Self::Check(why) => write!(f, "shim: {why}"),
        }
    }
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Self::Tls(e)
    }
}

fn check(ok: bool, why: impl FnOnce() -> String) -> Result<(), Stop> {
    if ok { Ok(()) } else { Err(Stop::Check(why())) }
}

/// How a flag applies: to every connection, the first only, or the resumptions only
/// (BoringSSL's `-on-initial-` / `-on-resume-` prefixes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    Initial,
    Resume,
    /// BoringSSL's `-on-retry-`: the rest of a resumption whose 0-RTT data the server
    /// rejected (its flags are the unprefixed ones and these, not the `-on-resume-` ones).
    Retry,
}

/// Flags that take no value and are settings of a connection.
const BOOL_FLAGS: &[&str] = &[
    "-async",
    "-shim-writes-first",
    "-shim-shuts-down",
    "-check-close-notify",
    "-verify-peer",
    "-implicit-handshake",
    "-verify-fail",
    "-expect-verify-result",
    "-expect-session-miss",
    "-expect-no-session",
    "-no-tls13",
    "-no-tls12",
    // TLS 1.1 and 1.0 are never offered: disabling them is what Overture always does.
    "-no-tls11",
    "-no-tls1",
    // Overture never renegotiates: a HelloRequest is refused (RFC 5746 servers get a
    // no_renegotiation answer), which is what this flag asks for.
    "-forbid-renegotiation-after-handshake",
    // A TLS 1.2 handshake completes only with secure renegotiation indication and the
    // extended master secret (both required by Overture), so once the handshake is done these
    // expectations hold; the shim still checks that TLS 1.2 or 1.3 was negotiated.
    "-expect-secure-renegotiation",
    "-expect-extended-master-secret",
    // BoringSSL's custom-verify callback accepts unless `-verify-fail`: the same decision as
    // this shim's verifier (see `-verify-peer`).
    "-use-custom-verify-callback",
    // Starts another X.509 credential: the -cert-file / -key-file after it are its own.
    "-new-x509-credential",
    // BoringSSL's client-certificate callback: the certificate comes from a callback when the
    // server asks; Overture's is a `ClientCertResolver`, which the shim then uses.
    "-use-old-client-cert-callback",
    // Whether the server sent a HelloRetryRequest (`Negotiated::hello_retry_request`).
    "-expect-hrr",
    "-expect-no-hrr",
    // Exporters (`Ssl::export_keying_material`): with the -export-context, else none.
    "-use-export-context",
    // `ConfigBuilder::with_ocsp_stapling` / `with_signed_certificate_timestamps`.
    "-enable-ocsp-stapling",
    "-enable-signed-cert-timestamps",
    // BoringSSL's client OCSP status callback, accepting unless -fail-ocsp-callback:
    // `ConfigBuilder::with_ocsp_response_check`.
    "-use-ocsp-callback",
    "-fail-ocsp-callback",
    // BoringSSL's compliance policies, expressed through ConfigBuilder's suite, group and
    // signature-scheme lists (see `Policy`).
    "-fips-202205",
    "-wpa-202304",
    // 0-RTT (`ConfigBuilder::with_early_data`, `Ssl::write_early_data`,
    // `Ssl::early_data_status`, `Session::max_early_data`).
    "-enable-early-data",
    "-expect-ticket-supports-early-data",
    "-expect-accept-early-data",
    "-expect-reject-early-data",
    "-expect-no-offer-early-data",
    // ECH (`ConfigBuilder::with_ech_grease`, `Negotiated::ech`, `Error::ech_retry_configs`).
    "-enable-ech-grease",
    "-expect-ech-accept",
    "-expect-no-ech-retry-configs",
];

/// Flags that take one value and are settings of a connection.
const VALUE_FLAGS: &[&str] = &[
    "-trust-cert",
    "-cert-file",
    "-key-file",
    "-curves",
    "-advertise-alpn",
    "-expect-alpn",
    "-host-name",
    "-min-version",
    "-max-version",
    "-expect-version",
    "-expect-curve-id",
    "-max-cert-list",
    "-read-size",
    "-expect-peer-cert-file",
    "-expect-selected-credential",
    // Repeated: one signature scheme code point each, in preference order.
    "-signing-prefs",
    "-verify-prefs",
    "-expect-peer-signature-algorithm",
    // After the handshake, export this many bytes of keying material and send them.
    "-export-keying-material",
    "-export-label",
    "-export-context",
    // Base64: what `Negotiated::ocsp_response` / `signed_certificate_timestamps` must hold.
    "-expect-ocsp-response",
    "-expect-signed-cert-timestamps",
    // Base64 ECHConfigList (`ConfigBuilder::with_ech_config_list`) / expected retry configs.
    "-ech-config-list",
    "-expect-ech-retry-configs",
    // BoringSSL's early-data reason, for the reasons Overture's state tells apart.
    "-expect-early-data-reason",
    // The cipher suite's code point (`Negotiated::cipher_suite`).
    "-expect-cipher",
];

/// One connection's settings.
#[derive(Clone, Default)]
struct Opts {
    async_io: bool,
    shim_writes_first: bool,
    shim_shuts_down: bool,
    check_close_notify: bool,
    verify_peer: bool,
    verify_fail: bool,
    expect_verify_result: bool,
    implicit_handshake: bool,
    expect_session_miss: bool,
    expect_no_session: bool,
    no_tls13: bool,
    no_tls12: bool,
    expect_secure_renegotiation: bool,
    trust_cert: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    /// `-new-x509-credential` lists (certificate file, key file), in preference order; the
    /// default credential (`cert_file` / `key_file`) comes after them.
    credentials: Vec<(Option<String>, Option<String>)>,
    cert_callback: bool,
    expect_selected_credential: Option<i64>,
    curves: Vec<u16>,
    advertise_alpn: Vec<Vec<u8>>,
    expect_alpn: Vec<u8>,
    host_name: Option<String>,
    min_version: Option<u16>,
    max_version: Option<u16>,
    expect_version: Option<u16>,
    expect_curve_id: Option<u16>,
    max_cert_list: Option<usize>,
    read_size: Option<usize>,
    expect_peer_cert_file: Option<String>,
    expect_hrr: Option<bool>,
    /// `-signing-prefs`: `ClientConfig` signing preferences (`None`: the default).
    signing_prefs: Option<Vec<SignatureScheme>>,
    /// `-verify-prefs`: `ClientConfig` verification preferences (`None`: the default).
    verify_prefs: Option<Vec<SignatureScheme>>,
    expect_peer_signature_algorithm: Option<u16>,
    /// `-export-keying-material N`: bytes to export (RFC 8446 §7.5 / RFC 5705) and send.
    export_keying_material: Option<usize>,
    export_label: String,
    export_context: String,
    use_export_context: bool,
    enable_ocsp_stapling: bool,
    enable_signed_cert_timestamps: bool,
    expect_ocsp_response: Option<Vec<u8>>,
    expect_signed_cert_timestamps: Option<Vec<u8>>,
    use_ocsp_callback: bool,
    fail_ocsp_callback: bool,
    policy: Option<Policy>,
    enable_early_data: bool,
    expect_ticket_supports_early_data: bool,
    expect_accept_early_data: bool,
    expect_reject_early_data: bool,
    expect_no_offer_early_data: bool,
    expect_early_data_reason: Option<EarlyReason>,
    enable_ech_grease: bool,
    ech_config_list: Option<Vec<u8>>,
    expect_ech_accept: bool,
    /// `Some(empty)`: `-expect-no-ech-retry-configs`.
    expect_ech_retry_configs: Option<Vec<u8>>,
    expect_cipher: Option<u16>,
}

/// BoringSSL's compliance policies (`SSL_set_compliance_policy`) as a user of Overture would
/// configure them: TLS 1.2 and 1.3 (Overture's only versions), and these suites, groups and
/// signature schemes, for verifying and for signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    /// `ssl_compliance_policy_fips_202205`: AES-GCM, P-256 and P-384, no Ed25519 or SHA-1.
    Fips202205,
    /// `ssl_compliance_policy_wpa3_192_202304`: AES-256-GCM, P-384, SHA-384 and up.
    Wpa202304,
}

impl Policy {
    fn suites(self) -> Vec<CipherSuite> {
        use CipherSuite as C;
        match self {
            Self::Fips202205 => vec![
                C::TLS13_AES_128_GCM_SHA256,
                C::TLS13_AES_256_GCM_SHA384,
                C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ],
            Self::Wpa202304 => vec![
                C::TLS13_AES_256_GCM_SHA384,
                C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            ],
        }
    }

    fn groups(self) -> Vec<NamedGroup> {
        match self {
            Self::Fips202205 => vec![NamedGroup::secp256r1, NamedGroup::secp384r1],
            Self::Wpa202304 => vec![NamedGroup::secp384r1],
        }
    }

    fn schemes(self) -> Vec<SignatureScheme> {
        use SignatureScheme as S;
        match self {
            Self::Fips202205 => vec![
                S::ECDSA_NISTP256_SHA256,
                S::ECDSA_NISTP384_SHA384,
                S::RSA_PSS_SHA256,
                S::RSA_PSS_SHA384,
                S::RSA_PSS_SHA512,
                S::RSA_PKCS1_SHA256,
                S::RSA_PKCS1_SHA384,
                S::RSA_PKCS1_SHA512,
            ],
            Self::Wpa202304 => vec![
                S::ECDSA_NISTP384_SHA384,
                S::RSA_PSS_SHA384,
                S::RSA_PSS_SHA512,
                S::RSA_PKCS1_SHA384,
                S::RSA_PKCS1_SHA512,
            ],
        }
    }
}

/// BoringSSL's `SSL_early_data_reason_string` values that Overture's observable state tells
/// apart (the others need BoringSSL's internal reasons: unimplemented).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EarlyReason {
    /// The server accepted.
    Accept,
    /// The client did not enable early data.
    Disabled,
    /// No session was offered.
    NoSessionOffered,
    /// The session's ticket allows no early data.
    UnsupportedForSession,
    /// The server did not resume the session.
    SessionNotResumed,
    /// The server negotiated TLS 1.2.
    ProtocolVersion,
    /// The server sent a HelloRetryRequest.
    HelloRetryRequest,
    /// The server resumed but declined the early data.
    PeerDeclined,
}

impl EarlyReason {
    fn parse(value: &str) -> Result<Self, Stop> {
        Ok(match value {
            "accept" => Self::Accept,
            "disabled" => Self::Disabled,
            "no_session_offered" => Self::NoSessionOffered,
            "unsupported_for_session" => Self::UnsupportedForSession,
            "session_not_resumed" => Self::SessionNotResumed,
            "protocol_version" => Self::ProtocolVersion,
            "hello_retry_request" => Self::HelloRetryRequest,
            "peer_declined" => Self::PeerDeclined,
            other => {
                return Err(Stop::Unimplemented(format!(
                    "-expect-early-data-reason {other}: a BoringSSL-internal reason"
                )));
            }
        })
    }

    /// The reason for what became of the early data on `ssl` (handshake complete).
    fn of(ssl: &Ssl, opts: &Opts, offer: Option<&Offer>) -> Option<Self> {
        let n = ssl.negotiated()?;
        // In BoringSSL's order: the client's own reasons not to offer, then the server's.
        let tls13 = ProtocolVersion::TLSv1_3;
        Some(if !opts.enable_early_data {
            Self::Disabled
        } else if !opts.versions().contains(&tls13) {
            Self::ProtocolVersion
        } else if offer.is_none() {
            Self::NoSessionOffered
        } else if offer.is_some_and(|o| o.session.version() != tls13) {
            Self::ProtocolVersion
        } else if offer.is_some_and(|o| o.session.max_early_data() == 0) {
            Self::UnsupportedForSession
        } else if ssl.early_data_status() == EarlyDataStatus::Accepted {
            Self::Accept
        } else if n.version() != tls13 {
            Self::ProtocolVersion
        } else if n.hello_retry_request() {
            Self::HelloRetryRequest
        } else if !n.resumed() {
            Self::SessionNotResumed
        } else {
            Self::PeerDeclined
        })
    }
}

fn int<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, Stop> {
    value
        .parse()
        .map_err(|_| Stop::Check(format!("bad value `{value}` for {flag}")))
}

/// A TLS protocol version given as a decimal number; DTLS versions are not ours.
fn tls_version(flag: &str, value: &str) -> Result<u16, Stop> {
    let v: u16 = int(flag, value)?;
    if (0x0300..=0x0304).contains(&v) {
        Ok(v)
    } else {
        Err(Stop::Unimplemented(format!(
            "{flag} {v:#06x} is not a TLS version (DTLS is not implemented)"
        )))
    }
}

/// Standard base64 with padding (RFC 4648 §4), as the runner encodes binary flag values.
fn base64(flag: &str, value: &str) -> Result<Vec<u8>, Stop> {
    let bad = || Stop::Check(format!("bad base64 for {flag}: {value:?}"));
    let digit = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let bytes = value.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, quad) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return Err(bad());
        }
        let mut n = 0u32;
        for &c in quad.get(..4 - pad).unwrap_or_default() {
            n = (n << 6) | digit(c).ok_or_else(bad)?;
        }
        n <<= 6 * pad;
        let three = n.to_be_bytes();
        out.extend_from_slice(three.get(1..4 - pad).unwrap_or_default());
    }
    Ok(out)
}

/// ALPN protocols in wire form (each prefixed by its length), as `-advertise-alpn` gives them.
fn alpn_list(value: &str) -> Result<Vec<Vec<u8>>, Stop> {
    let mut bytes = value.as_bytes();
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let len = usize::from(len);
        let (proto, rest) = rest
            .split_at_checked(len)
            .ok_or_else(|| Stop::Check(format!("bad -advertise-alpn value {value:?}")))?;
        out.push(proto.to_vec());
        bytes = rest;
    }
    Ok(out)
}

/// A signature scheme given as a decimal code point, which Overture must support: BoringSSL
/// would use a scheme we lack, so the test could not run as written.
fn supported_scheme(flag: &str, value: &str) -> Result<SignatureScheme, Stop> {
    let scheme = SignatureScheme::from(int::<u16>(flag, value)?);
    let provider = overture::crypto::ring::default_provider();
    if provider.supported_schemes().contains(&scheme) {
        Ok(scheme)
    } else {
        Err(Stop::Unimplemented(format!(
            "{flag} {scheme:?}: a signature scheme Overture does not support"
        )))
    }
}

impl Opts {
    fn apply(&mut self, flag: &str, value: Option<&str>) -> Result<(), Stop> {
        let v = value.unwrap_or_default();
        match flag {
            "-async" => self.async_io = true,
            "-shim-writes-first" => self.shim_writes_first = true,
            "-shim-shuts-down" => self.shim_shuts_down = true,
            "-check-close-notify" => self.check_close_notify = true,
            "-verify-peer" => self.verify_peer = true,
            "-implicit-handshake" => self.implicit_handshake = true,
            "-verify-fail" => self.verify_fail = true,
            "-expect-verify-result" => self.expect_verify_result = true,
            "-expect-session-miss" => self.expect_session_miss = true,
            "-expect-no-session" => self.expect_no_session = true,
            "-no-tls13" => self.no_tls13 = true,
            "-no-tls12" => self.no_tls12 = true,
            "-no-tls11" | "-no-tls1" | "-forbid-renegotiation-after-handshake" => {}
            "-expect-secure-renegotiation" | "-expect-extended-master-secret" => {
                self.expect_secure_renegotiation = true;
            }
            "-use-custom-verify-callback" => {}
            "-trust-cert" => self.trust_cert = Some(v.to_owned()),
            "-new-x509-credential" => self.credentials.push((None, None)),
            "-use-old-client-cert-callback" => self.cert_callback = true,
            "-cert-file" => match self.credentials.last_mut() {
                Some(c) => c.0 = Some(v.to_owned()),
                None => self.cert_file = Some(v.to_owned()),
            },
            "-key-file" => match self.credentials.last_mut() {
                Some(c) => c.1 = Some(v.to_owned()),
                None => self.key_file = Some(v.to_owned()),
            },
            "-expect-selected-credential" => {
                self.expect_selected_credential = Some(int(flag, v)?);
            }
            "-curves" => self.curves.push(int(flag, v)?),
            "-advertise-alpn" => self.advertise_alpn = alpn_list(v)?,
            "-expect-alpn" => self.expect_alpn = v.as_bytes().to_vec(),
            "-host-name" => self.host_name = Some(v.to_owned()),
            "-min-version" => self.min_version = Some(tls_version(flag, v)?),
            "-max-version" => self.max_version = Some(tls_version(flag, v)?),
            "-expect-version" => self.expect_version = Some(tls_version(flag, v)?),
            "-expect-curve-id" => self.expect_curve_id = Some(int(flag, v)?),
            "-max-cert-list" => self.max_cert_list = Some(int(flag, v)?),
            "-read-size" => self.read_size = Some(int(flag, v)?),
            "-expect-peer-cert-file" => self.expect_peer_cert_file = Some(v.to_owned()),
            "-expect-hrr" => self.expect_hrr = Some(true),
            "-expect-no-hrr" => self.expect_hrr = Some(false),
            "-signing-prefs" => {
                if !self.credentials.is_empty() {
                    // BoringSSL's per-credential preferences: Overture's are per config.
                    return Err(Stop::Unimplemented(
                        "-signing-prefs of a -new-x509-credential".into(),
                    ));
                }
                let scheme = supported_scheme(flag, v)?;
                self.signing_prefs.get_or_insert_default().push(scheme);
            }
            "-verify-prefs" => {
                let scheme = supported_scheme(flag, v)?;
                self.verify_prefs.get_or_insert_default().push(scheme);
            }
            "-expect-peer-signature-algorithm" => {
                self.expect_peer_signature_algorithm = Some(int(flag, v)?);
            }
            "-export-keying-material" => {
                let n: usize = int(flag, v)?;
                check(n <= MAX_EXPORT, || format!("{flag} {n} above {MAX_EXPORT}"))?;
                self.export_keying_material = Some(n);
            }
            "-export-label" => self.export_label = v.to_owned(),
            "-export-context" => self.export_context = v.to_owned(),
            "-use-export-context" => self.use_export_context = true,
            "-enable-ocsp-stapling" => self.enable_ocsp_stapling = true,
            "-enable-signed-cert-timestamps" => self.enable_signed_cert_timestamps = true,
            "-use-ocsp-callback" => self.use_ocsp_callback = true,
            "-fips-202205" => self.policy = Some(Policy::Fips202205),
            "-wpa-202304" => self.policy = Some(Policy::Wpa202304),
            "-fail-ocsp-callback" => self.fail_ocsp_callback = true,
            "-enable-early-data" => self.enable_early_data = true,
            "-expect-ticket-supports-early-data" => self.expect_ticket_supports_early_data = true,
            "-expect-accept-early-data" => self.expect_accept_early_data = true,
            "-expect-reject-early-data" => self.expect_reject_early_data = true,
            "-expect-no-offer-early-data" => self.expect_no_offer_early_data = true,
            "-expect-early-data-reason" => {
                self.expect_early_data_reason = Some(EarlyReason::parse(v)?);
            }
            "-enable-ech-grease" => self.enable_ech_grease = true,
            "-ech-config-list" => self.ech_config_list = Some(base64(flag, v)?),
            "-expect-ech-accept" => self.expect_ech_accept = true,
            "-expect-no-ech-retry-configs" => self.expect_ech_retry_configs = Some(Vec::new()),
            "-expect-ech-retry-configs" => self.expect_ech_retry_configs = Some(base64(flag, v)?),
            "-expect-cipher" => self.expect_cipher = Some(int(flag, v)?),
            "-expect-ocsp-response" => self.expect_ocsp_response = Some(base64(flag, v)?),
            "-expect-signed-cert-timestamps" => {
                self.expect_signed_cert_timestamps = Some(base64(flag, v)?);
            }
            other => return Err(Stop::Unimplemented(format!("flag {other}"))),
        }
        Ok(())
    }

    /// The versions to offer: TLS 1.3 and 1.2 within `-min-version`..=`-max-version`, minus
    /// `-no-tls13` / `-no-tls12`. TLS 1.1 and older are never offered.
    fn versions(&self) -> Vec<ProtocolVersion> {
        let (min, max) = (
            self.min_version.unwrap_or(0x0300),
            self.max_version.unwrap_or(0x0304),
        );
        let mut out = Vec::new();
        if (min..=max).contains(&0x0304) && !self.no_tls13 {
            out.push(ProtocolVersion::TLSv1_3);
        }
        if (min..=max).contains(&0x0303) && !self.no_tls12 {
            out.push(ProtocolVersion::TLSv1_2);
        }
        out
    }

    /// The credential list: every `-new-x509-credential` in order, then the default one.
    fn credential_list(&self, selected: &Selected) -> Result<CredentialList, Stop> {
        let provider = overture::crypto::ring::default_provider();
        let default = (self.cert_file.clone(), self.key_file.clone());
        let mut creds = Vec::new();
        let listed = self.credentials.iter().zip(0i64..);
        for (files, index) in listed.chain(std::iter::once((&default, -1))) {
            let (cert, key) = match files {
                (Some(cert), Some(key)) => (cert, key),
                (None, None) if index == -1 => continue,
                _ => {
                    return Err(Stop::Unimplemented(
                        "a credential without both -cert-file and -key-file".into(),
                    ));
                }
            };
            let chain = pem_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Stop::Check(format!("{key}: {e}")))?;
            let key = provider
                .key_provider
                .load_private_key(key)
                .map_err(|e| Stop::Unimplemented(format!("client credential: {e}")))?;
            creds.push((chain, key, index));
        }
        Ok(CredentialList {
            creds,
            selected: selected.clone(),
        })
    }

    /// The config for one connection, through the public builder. `selected` records which
    /// credential of a list was sent.
    fn config(&self, selected: &Selected) -> Result<ClientConfig, Stop> {
        let mut b = ClientConfig::builder()
            .with_protocol_versions(&self.versions())
            .with_alpn(self.advertise_alpn.clone())
            .with_sni(self.host_name.is_some())
            // Sessions go from one connection to the next through `Ssl::session` /
            // `Ssl::set_session`, as BoringSSL's shim passes them.
            .with_session_store(None);
        if !self.curves.is_empty() {
            let groups: Vec<NamedGroup> =
                self.curves.iter().map(|&g| NamedGroup::from(g)).collect();
            b = b
                .with_groups(&groups)
                .map_err(|e| Stop::Unimplemented(format!("-curves: {}", e.reason())))?;
        }
        if let Some(schemes) = &self.signing_prefs {
            b = b.with_signing_schemes(schemes);
        }
        if let Some(schemes) = &self.verify_prefs {
            b = b.with_verify_schemes(schemes);
        }
        if let Some(n) = self.max_cert_list {
            b = b.with_max_handshake_message(n);
        }
        b = b
            .with_ocsp_stapling(self.enable_ocsp_stapling)
            .with_signed_certificate_timestamps(self.enable_signed_cert_timestamps)
            .with_early_data(self.enable_early_data)
            .with_ech_grease(self.enable_ech_grease);
        if let Some(policy) = self.policy {
            b = b
                .with_cipher_suites(&policy.suites())?
                .with_groups(&policy.groups())?
                .with_verify_schemes(&policy.schemes())
                .with_signing_schemes(&policy.schemes());
        }
        if self.use_ocsp_callback {
            let accept = !self.fail_ocsp_callback;
            b = b.with_ocsp_response_check(move |_| accept);
        }
        if let Some(list) = &self.ech_config_list {
            b = b.with_ech_config_list(list)?;
        }
        if self.credentials.is_empty() && !self.cert_callback {
            match (&self.cert_file, &self.key_file) {
                (Some(cert), Some(key)) => {
                    // A key type Overture cannot sign with is a missing feature, not a failure.
                    b = b
                        .with_client_cert_files(cert, key)
                        .map_err(|e| Stop::Unimplemented(format!("client credential: {e}")))?;
                }
                (None, None) => {}
                _ => return Err(Stop::Unimplemented("-cert-file without -key-file".into())),
            }
        } else {
            b = b.with_client_cert_resolver(Arc::new(self.credential_list(selected)?));
        }
        // BoringSSL's shim verifies the chain only with -verify-peer (SSL_VERIFY_NONE
        // otherwise); the handshake signature is always checked against the presented key.
        // `-expect-verify-result` asks for the chain verification's outcome: Overture has it
        // only when it verified the chain.
        if self.expect_verify_result && !self.verify_peer {
            return Err(Stop::Unimplemented(
                "-expect-verify-result without -verify-peer (no verification result)".into(),
            ));
        }
        b = if self.verify_fail {
            // The application's verifier rejects the chain (BoringSSL's verify callback
            // failing); the handshake signature is still checked by the library's verifier.
            b.dangerous()
                .with_custom_verifier(Arc::new(RejectingVerifier::new()))
        } else if self.verify_peer {
            let ca = self
                .trust_cert
                .as_deref()
                .ok_or_else(|| Stop::Check("-verify-peer without -trust-cert".into()))?;
            b.with_ca_file(ca)?
        } else {
            b.dangerous().with_no_certificate_verification()
        };
        Ok(b.build()?)
    }
}

/// Which credential of a list was sent (`-expect-selected-credential`; -1 is the default).
type Selected = Arc<Mutex<Option<i64>>>;

/// BoringSSL's credential list: the first credential whose key can sign with a scheme the
/// server offered, in list order.
#[derive(Debug)]
struct CredentialList {
    creds: Vec<(Vec<CertificateDer<'static>>, Arc<dyn SigningKey>, i64)>,
    selected: Selected,
}

impl ClientCertResolver for CredentialList {
    fn resolve(
        &self,
        offered_schemes: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)> {
        let (chain, signer, index) = self.creds.iter().find_map(|(chain, key, index)| {
            key.choose_scheme(offered_schemes)
                .map(|signer| (chain.clone(), signer, *index))
        })?;
        if let Ok(mut s) = self.selected.lock() {
            *s = Some(index);
        }
        Some((chain, signer))
    }
}

/// `-verify-fail`: a verifier that refuses every chain, as an application's own check would,
/// and leaves the handshake signatures to Overture's [`X509Verifier`].
#[derive(Debug)]
struct RejectingVerifier {
    signatures: X509Verifier,
}

impl RejectingVerifier {
    fn new() -> Self {
        let provider = Arc::new(overture::crypto::ring::default_provider());
        Self {
            signatures: X509Verifier::new(Arc::new(RootStore::new()), provider, 16),
        }
    }
}

impl CertVerifier for RejectingVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, HsError> {
        Err(HsError::InvalidCertificate(CertificateError::Other(
            "rejected by the application's verifier (-verify-fail)".into(),
        )))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, HsError> {
        self.signatures
            .verify_tls13_signature(message, end_entity, scheme, signature)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, HsError> {
        self.signatures
            .verify_tls12_signature(message, end_entity, scheme, signature)
    }

    fn supported_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_schemes()
    }
}

/// The command line: the runner's protocol flags and the connection settings per scope.
struct Args {
    port: u16,
    shim_id: u64,
    ipv6: bool,
    resume_count: u32,
    settings: Vec<(Scope, String, Option<String>)>,
}

fn parse(args: &[String]) -> Result<Args, Stop> {
    let mut out = Args {
        port: 0,
        shim_id: 0,
        ipv6: false,
        resume_count: 0,
        settings: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Stop::Check(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "-port" => out.port = int(arg, &value(arg)?)?,
            "-shim-id" => out.shim_id = int(arg, &value(arg)?)?,
            "-ipv6" => out.ipv6 = true,
            "-resume-count" => {
                out.resume_count = int(arg, &value(arg)?)?;
                if out.resume_count > MAX_RESUMES {
                    return Err(Stop::Check(format!(
                        "-resume-count {} above {MAX_RESUMES}",
                        out.resume_count
                    )));
                }
            }
            "-server" => return Err(Stop::Unimplemented("the server role (-server)".into())),
            "-dtls" => return Err(Stop::Unimplemented("DTLS (-dtls)".into())),
            "-quic" => return Err(Stop::Unimplemented("QUIC (-quic)".into())),
            flag => {
                let (scope, name) = if let Some(rest) = flag.strip_prefix("-on-initial") {
                    (Scope::Initial, rest)
                } else if let Some(rest) = flag.strip_prefix("-on-resume") {
                    (Scope::Resume, rest)
                } else if let Some(rest) = flag.strip_prefix("-on-retry") {
                    (Scope::Retry, rest)
                } else {
                    (Scope::All, flag)
                };
                if BOOL_FLAGS.contains(&name) {
                    out.settings.push((scope, name.to_owned(), None));
                } else if VALUE_FLAGS.contains(&name) {
                    let v = value(flag)?;
                    out.settings.push((scope, name.to_owned(), Some(v)));
                } else {
                    return Err(Stop::Unimplemented(format!("flag {flag}")));
                }
            }
        }
    }
    check(out.port != 0, || "no -port".into())?;
    Ok(out)
}

impl Args {
    /// The settings of connection `n` (0 is the initial one, the others resume).
    fn opts(&self, n: u32) -> Result<Opts, Stop> {
        self.opts_in(|scope| match scope {
            Scope::All => true,
            Scope::Initial => n == 0,
            Scope::Resume => n > 0,
            Scope::Retry => false,
        })
    }

    /// The settings after a 0-RTT rejection (BoringSSL's retry config): the unprefixed flags
    /// and the `-on-retry-` ones.
    fn retry_opts(&self) -> Result<Opts, Stop> {
        self.opts_in(|scope| matches!(scope, Scope::All | Scope::Retry))
    }

    fn opts_in(&self, applies: impl Fn(Scope) -> bool) -> Result<Opts, Stop> {
        let mut opts = Opts::default();
        for (scope, flag, value) in &self.settings {
            let applies = applies(*scope);
            if applies {
                opts.apply(flag, value.as_deref())?;
            }
        }
        Ok(opts)
    }
}

/// Waits for the socket to be ready in the direction a non-blocking call asked for.
struct Poller {
    socket: SocketBio,
}

impl Poller {
    fn wait(&self, kind: ErrorKind) -> Result<(), Stop> {
        let flags = if kind == ErrorKind::WantWrite {
            PollFlags::OUT
        } else {
            PollFlags::IN
        };
        let ts = Timespec {
            tv_sec: POLL_TIMEOUT_SECS,
            tv_nsec: 0,
        };
        loop {
            let mut fds = [PollFd::new(&self.socket, flags)];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => return Err(Stop::Check("timed out waiting for the socket".into())),
                Ok(_) => return Ok(()),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Stop::Check(format!("poll: {e}"))),
            }
        }
    }

    /// Runs `op` until it stops asking to retry: the loop a non-blocking user writes. (A
    /// blocking socket never asks.)
    fn drive<T>(
        &self,
        ssl: &mut Ssl,
        mut op: impl FnMut(&mut Ssl) -> Result<T, Error>,
    ) -> Result<T, Error> {
        loop {
            match op(ssl) {
                Err(e) if e.kind().is_retry() => {
                    if let Err(stop) = self.wait(e.kind()) {
                        // The poll itself failed: report the retry error with the cause.
                        return Err(Error::usage(format!("{e}; {stop}")));
                    }
                }
                r => return r,
            }
        }
    }

    fn write_all(&self, ssl: &mut Ssl, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = self.drive(ssl, |s| s.write(data))?;
            data = data.get(n..).unwrap_or_default();
        }
        self.drive(ssl, Ssl::flush)
    }
}

fn connect_socket(args: &Args) -> Result<TcpStream, Stop> {
    let addr = if args.ipv6 {
        SocketAddr::from((Ipv6Addr::LOCALHOST, args.port))
    } else {
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))
    };
    let mut tcp =
        TcpStream::connect(addr).map_err(|e| Stop::Check(format!("connect {addr}: {e}")))?;
    tcp.write_all(&args.shim_id.to_le_bytes())
        .map_err(|e| Stop::Check(format!("sending the shim id: {e}")))?;
    Ok(tcp)
}

/// Certificates of a PEM file, in order.
fn pem_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, Stop> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Stop::Check(format!("{path}: {e}")))
}

/// A session to offer, with the scheme of the server's signature and the key-exchange group
/// of the full handshake that made it (BoringSSL keeps both in the session and reports them
/// again on a resumption that does no signature or key exchange).
struct Offer {
    session: Session,
    peer_scheme: Option<SignatureScheme>,
    group: Option<NamedGroup>,
    /// The stapled OCSP response and SCT list of the full handshake (BoringSSL keeps them in
    /// the session and reports them on a resumption, which has no certificate).
    ocsp: Option<Vec<u8>>,
    scts: Option<Vec<u8>>,
}

/// `Negotiated::ocsp_response` as BoringSSL's `SSL_get0_ocsp_response` reports it: this
/// handshake's, or on resumption the session's.
fn ocsp_response(ssl: &Ssl, offer: Option<&Offer>) -> Option<Vec<u8>> {
    let n = ssl.negotiated()?;
    if n.resumed() {
        offer.and_then(|o| o.ocsp.clone())
    } else {
        n.ocsp_response().map(<[u8]>::to_vec)
    }
}

/// The SCT list, as [`ocsp_response`].
fn sct_list(ssl: &Ssl, offer: Option<&Offer>) -> Option<Vec<u8>> {
    let n = ssl.negotiated()?;
    if n.resumed() {
        offer.and_then(|o| o.scts.clone())
    } else {
        n.signed_certificate_timestamps().map(<[u8]>::to_vec)
    }
}

/// The server's signature scheme as BoringSSL's `SSL_get_peer_signature_algorithm` reports
/// it: this handshake's, or on resumption the one of the session's full handshake.
fn peer_scheme(ssl: &Ssl, offer: Option<&Offer>) -> Option<SignatureScheme> {
    let n = ssl.negotiated()?;
    if n.resumed() {
        offer.and_then(|o| o.peer_scheme)
    } else {
        n.peer_signature_scheme()
    }
}

/// The group as BoringSSL's `SSL_get_curve_id` reports it: this handshake's, or on a
/// resumption without a key exchange (TLS 1.2, TLS 1.3 psk_ke) the session's.
fn group(ssl: &Ssl, offer: Option<&Offer>) -> Option<NamedGroup> {
    let n = ssl.negotiated()?;
    match n.group() {
        None if n.resumed() => offer.and_then(|o| o.group),
        g => g,
    }
}

/// BoringSSL's `CheckHandshakeProperties`, for what Overture's API exposes.
fn check_negotiated(
    ssl: &Ssl,
    opts: &Opts,
    is_resume: bool,
    offer: Option<&Offer>,
) -> Result<(), Stop> {
    let n = ssl
        .negotiated()
        .ok_or_else(|| Stop::Check("the handshake is not complete".into()))?;
    let version = u16::from(n.version());
    if let Some(want) = opts.expect_version {
        check(version == want, || {
            format!("want version {want:04x}, got {version:04x}")
        })?;
    }
    let expect_resume = is_resume && !opts.expect_session_miss;
    check(n.resumed() == expect_resume, || {
        format!(
            "session unexpectedly was{} reused",
            if n.resumed() { "" } else { " not" }
        )
    })?;
    let alpn = n.alpn().unwrap_or_default();
    check(alpn == opts.expect_alpn.as_slice(), || {
        format!(
            "negotiated alpn proto mismatch: got {:?}, wanted {:?}",
            String::from_utf8_lossy(alpn),
            String::from_utf8_lossy(&opts.expect_alpn)
        )
    })?;
    if let Some(want) = opts.expect_curve_id {
        let got = group(ssl, offer).map(u16::from);
        check(got == Some(want), || {
            format!("curve_id was {got:04x?}, wanted {want:04x}")
        })?;
    }
    if opts.expect_secure_renegotiation {
        check(version >= 0x0303, || {
            format!("version {version:04x} has no secure renegotiation / EMS")
        })?;
    }
    if let Some(want) = opts.expect_peer_signature_algorithm {
        let got = peer_scheme(ssl, offer).map_or(0, u16::from);
        check(got == want, || {
            format!("peer signature algorithm was {got:04x}, wanted {want:04x}")
        })?;
    }
    if let Some(want) = opts.expect_hrr {
        let got = n.hello_retry_request();
        check(got == want, || {
            format!(
                "got {}HelloRetryRequest, but wanted the opposite",
                if got { "" } else { "no " }
            )
        })?;
    }
    if let Some(want) = opts.expect_cipher {
        let got = u16::from(n.cipher_suite());
        check(got == want, || {
            format!("cipher was {got:04x}, wanted {want:04x}")
        })?;
    }
    let ech = n.ech() == EchStatus::Accepted;
    check(ech == opts.expect_ech_accept, || {
        format!(
            "ECH was {}accepted, but wanted opposite",
            if ech { "" } else { "not " }
        )
    })?;
    if let Some(want) = opts.expect_early_data_reason {
        let got = EarlyReason::of(ssl, opts, offer);
        check(got == Some(want), || {
            format!("early data reason was {got:?}, wanted {want:?}")
        })?;
    }
    if let Some(want) = &opts.expect_ocsp_response {
        let got = ocsp_response(ssl, offer).unwrap_or_default();
        check(&got == want, || "OCSP response mismatch".into())?;
    }
    if let Some(want) = &opts.expect_signed_cert_timestamps {
        let got = sct_list(ssl, offer).unwrap_or_default();
        check(&got == want, || "SCT list mismatch".into())?;
    }
    if let Some(path) = &opts.expect_peer_cert_file {
        let want = pem_certs(path)?;
        check(n.peer_chain() == want.as_slice(), || {
            format!(
                "peer certificates differ from {path} ({} presented, {} expected)",
                n.peer_chain().len(),
                want.len()
            )
        })?;
    }
    Ok(())
}

/// One connection to the runner; returns the session to offer on the next one.
fn connection(
    args: &Args,
    opts: &Opts,
    retry: &Opts,
    offer: Option<&Offer>,
    is_resume: bool,
) -> Result<Option<Offer>, Stop> {
    let selected = Selected::default();
    let config = opts.config(&selected)?;
    let name = opts.host_name.as_deref().unwrap_or(DEFAULT_NAME);
    let mut ssl = Ssl::new(&config, name)?;
    if let Some(o) = offer {
        ssl.set_session(&o.session);
    }
    let tcp = connect_socket(args)?;
    let raw = tcp
        .try_clone()
        .map_err(|e| Stop::Check(format!("cloning the socket: {e}")))?;
    let socket = SocketBio::new(tcp);
    let poller = Poller {
        socket: socket
            .try_clone()
            .map_err(|e| Stop::Check(format!("cloning the socket: {e}")))?,
    };
    if opts.async_io {
        socket
            .set_nonblocking(true)
            .map_err(|e| Stop::Check(format!("non-blocking socket: {e}")))?;
    }
    ssl.set_socket(socket)?;
    let result = exchange(&mut ssl, &poller, opts, retry, is_resume, offer, &selected);
    if let Err(Stop::Tls(_)) = &result {
        orderly_close(&raw);
    }
    // An ECH rejection is a failed connection whose error carries the retry configs.
    if let Some(want) = &opts.expect_ech_retry_configs {
        match &result {
            Ok(_) => {
                return Err(Stop::Check(
                    "expected ECH rejection, but connection succeeded".into(),
                ));
            }
            Err(Stop::Tls(e)) if e.ech_rejected() => {
                let got = e.ech_retry_configs().unwrap_or_default();
                check(got == want.as_slice(), || {
                    "ECH retry configs did not match expectations".into()
                })?;
            }
            Err(_) => {}
        }
    }
    Ok(result?.map(|session| Offer {
        session,
        peer_scheme: peer_scheme(&ssl, offer),
        group: group(&ssl, offer),
        ocsp: ocsp_response(&ssl, offer),
        scts: sct_list(&ssl, offer),
    }))
}

/// After a fatal error: stop writing and read what the runner still sends until it closes,
/// so that closing with unread bytes does not make the kernel answer with a reset, which can
/// destroy the alert we sent before the runner reads it (rustls's shim does the same).
fn orderly_close(tcp: &TcpStream) {
    use std::io::Read as _;
    let _ = tcp.shutdown(std::net::Shutdown::Write);
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let mut buf = [0u8; 4096];
    let mut left: usize = 16 << 20;
    while let Ok(n @ 1..) = (&*tcp).read(&mut buf) {
        left = left.saturating_sub(n);
        if left == 0 {
            break;
        }
    }
}

/// The TLS part of one connection: handshake, checks, echo, shutdown.
fn exchange(
    ssl: &mut Ssl,
    poller: &Poller,
    opts: &Opts,
    retry: &Opts,
    is_resume: bool,
    offer: Option<&Offer>,
    selected: &Selected,
) -> Result<Option<Session>, Stop> {
    let mut opts = opts;
    // As BoringSSL's client: when the ClientHello offers 0-RTT (early data enabled, a ticket
    // that allows it), the first write goes out as early data.
    let mut early_written = false;
    let mut early_rest: &[u8] = &[];
    if opts.enable_early_data && offer.is_some() {
        match poller.drive(ssl, |s| s.write_early_data(&[])) {
            Ok(_) => {}
            // Not offered (the ClientHello is out all the same): a normal handshake.
            Err(e)
                if e.kind() == ErrorKind::Usage
                    && ssl.early_data_status() == EarlyDataStatus::NotSent => {}
            Err(e) => return Err(e.into()),
        }
        if ssl.early_data_status() == EarlyDataStatus::Offered {
            check(!opts.expect_no_offer_early_data, || {
                "Client unexpectedly offered early data.".into()
            })?;
            // BoringSSL's shim exports right after its handshake returns, here in the early
            // state: no keying material yet.
            if let Some(n) = opts.export_keying_material {
                let mut out = vec![0u8; n];
                ssl.export_keying_material(&mut out, opts.export_label.as_bytes(), None)?;
            }
            if opts.shim_writes_first {
                let mut data = INITIAL_WRITE;
                while !data.is_empty() {
                    match poller.drive(ssl, |s| s.write_early_data(data)) {
                        Ok(n) => data = data.get(n..).unwrap_or_default(),
                        // The ticket's max_early_data is used up: the rest goes after the
                        // handshake (as BoringSSL's SSL_write does).
                        Err(e) if e.kind() == ErrorKind::Usage => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                early_written = true;
                early_rest = data;
            }
        }
    }
    if !opts.implicit_handshake {
        poller.drive(ssl, Ssl::connect)?;
        if is_resume && (opts.expect_accept_early_data || opts.expect_reject_early_data) {
            let status = ssl.early_data_status();
            let want = if opts.expect_accept_early_data {
                EarlyDataStatus::Accepted
            } else {
                EarlyDataStatus::Rejected
            };
            check(status == want, || {
                format!("early data was {status:?}, wanted {want:?}")
            })?;
            if status == EarlyDataStatus::Rejected {
                // BoringSSL's shim resets and goes on with its retry config; Overture goes on
                // by itself (`EarlyDataRejected::Report`: the early data was not resent).
                opts = retry;
                early_written = false;
                early_rest = &[];
            }
        }
        check_negotiated(ssl, opts, is_resume, offer)?;
        if let Some(want) = opts.expect_selected_credential {
            let got = selected.lock().ok().and_then(|s| *s);
            check(got == Some(want), || {
                format!("selected credential {got:?}, wanted {want}")
            })?;
        }
    }
    if let Some(n) = opts.export_keying_material {
        // As BoringSSL's shim: right after the handshake, the exported bytes go to the runner,
        // which derives the same and compares.
        let mut out = vec![0u8; n];
        let context = opts
            .use_export_context
            .then_some(opts.export_context.as_bytes());
        ssl.export_keying_material(&mut out, opts.export_label.as_bytes(), context)?;
        poller.write_all(ssl, &out)?;
    }
    if opts.shim_writes_first && !early_written {
        poller.write_all(ssl, INITIAL_WRITE)?;
    } else if !early_rest.is_empty() {
        poller.write_all(ssl, early_rest)?;
    }
    if !opts.shim_shuts_down {
        let mut buf = vec![0u8; opts.read_size.unwrap_or(512).clamp(1, 1 << 16)];
        loop {
            match poller.drive(ssl, |s| s.read(&mut buf)) {
                Ok(n) => {
                    check(ssl.is_established(), || {
                        "handshake was not completed after read".into()
                    })?;
                    let data = buf.get_mut(..n).unwrap_or_default();
                    for b in data.iter_mut() {
                        *b ^= 0xff;
                    }
                    poller.write_all(ssl, data)?;
                }
                // The runner closed, cleanly or not: the exchange is over (as in BoringSSL's
                // shim, which stops on SSL_ERROR_ZERO_RETURN and on EOF alike).
                Err(e) if e.kind() == ErrorKind::ZeroReturn => break,
                Err(e)
                    if e.kind() == ErrorKind::Io
                        && e.io_kind() == Some(std::io::ErrorKind::UnexpectedEof) =>
                {
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    let new_session = ssl.session();
    if ssl
        .negotiated()
        .is_some_and(|n| n.version() == ProtocolVersion::TLSv1_3)
    {
        let expect_new = !opts.expect_no_session && !opts.shim_shuts_down;
        let got = new_session.is_some();
        check(expect_new == got, || {
            format!(
                "new session was{} cached, but we expected the opposite",
                if got { "" } else { " not" }
            )
        })?;
        if let Some(session) = &new_session
            && (opts.enable_early_data || opts.expect_ticket_supports_early_data)
        {
            let got = session.max_early_data() > 0;
            check(got == opts.expect_ticket_supports_early_data, || {
                format!(
                    "new session did{} support early data, but we expected the opposite",
                    if got { "" } else { " not" }
                )
            })?;
        }
    }

    // Without -check-close-notify BoringSSL's shim shuts down quietly (no close_notify).
    if opts.check_close_notify {
        let first = poller.drive(ssl, Ssl::shutdown)?;
        let last = if opts.shim_shuts_down {
            check(first == ShutdownState::Sent, || {
                format!("unexpected shutdown result {first:?}, wanted Sent")
            })?;
            poller.drive(ssl, Ssl::shutdown)?
        } else {
            first
        };
        check(last == ShutdownState::Complete, || {
            format!("unexpected shutdown result {last:?}, wanted Complete")
        })?;
    }
    // Otherwise a quiet shutdown: the transport closes without a close_notify when the
    // connection is dropped.
    Ok(new_session)
}

fn run(args: &[String]) -> Result<(), Stop> {
    let args = parse(args)?;
    // Every connection's flags are validated before the first one starts: an unimplemented
    // flag on a resumption makes the whole test unimplemented, not a late failure.
    let all: Vec<Opts> = (0..=args.resume_count)
        .map(|n| args.opts(n))
        .collect::<Result<_, _>>()?;
    let retry = args.retry_opts()?;
    let mut offer: Option<Offer> = None;
    for (n, opts) in all.iter().enumerate() {
        offer = connection(&args, opts, &retry, offer.as_ref(), n > 0)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The runner asks this once, after any `-shim-extra-flags`.
    if args.iter().any(|a| a == "-is-handshaker-supported") {
        println!("No");
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(stop) => {
            eprintln!("{stop}");
            match stop {
                Stop::Unimplemented(_) => ExitCode::from(UNIMPLEMENTED),
                Stop::Tls(_) | Stop::Check(_) => ExitCode::FAILURE,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn base64_decodes_the_runners_values() {
        assert_eq!(base64("-f", "").ok().unwrap(), b"");
        assert_eq!(base64("-f", "Zg==").ok().unwrap(), b"f");
        assert_eq!(base64("-f", "Zm8=").ok().unwrap(), b"fo");
        assert_eq!(base64("-f", "Zm9v").ok().unwrap(), b"foo");
        assert_eq!(base64("-f", "AQID/w==").ok().unwrap(), [1, 2, 3, 0xff]);
        for bad in ["Zg=", "Z===", "Zg==Zm9v", "Zm9*"] {
            assert!(base64("-f", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compliance_policies_build_with_the_default_provider() {
        for policy in [Policy::Fips202205, Policy::Wpa202304] {
            let opts = Opts {
                policy: Some(policy),
                ..Opts::default()
            };
            assert!(opts.config(&Selected::default()).is_ok(), "{policy:?}");
        }
    }

    #[test]
    fn alpn_wire_form() {
        assert_eq!(
            alpn_list("\x03foo\x02h2").ok().unwrap(),
            [b"foo".to_vec(), b"h2".to_vec()]
        );
        assert!(alpn_list("\x05foo").is_err(), "a length past the end");
        assert!(alpn_list("").ok().unwrap().is_empty());
    }

    #[test]
    fn versions_follow_min_max_and_no_flags() {
        let mut o = Opts::default();
        assert_eq!(
            o.versions(),
            [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2]
        );
        o.max_version = Some(0x0303);
        assert_eq!(o.versions(), [ProtocolVersion::TLSv1_2]);
        o.max_version = Some(0x0302);
        assert!(
            o.versions().is_empty(),
            "TLS 1.1 and older are never offered"
        );
        let o = Opts {
            no_tls12: true,
            min_version: Some(0x0301),
            ..Opts::default()
        };
        assert_eq!(o.versions(), [ProtocolVersion::TLSv1_3]);
    }

    #[test]
    fn scoped_flags_apply_to_their_connection() {
        let args = parse(&strings(&[
            "-port",
            "1",
            "-resume-count",
            "1",
            "-curves",
            "29",
            "-on-resume-curves",
            "23",
            "-on-initial-expect-alpn",
            "foo",
        ]))
        .ok()
        .unwrap();
        let first = args.opts(0).ok().unwrap();
        let second = args.opts(1).ok().unwrap();
        assert_eq!(first.curves, [29]);
        assert_eq!(second.curves, [29, 23]);
        assert_eq!(first.expect_alpn, b"foo");
        assert!(second.expect_alpn.is_empty());
    }

    #[test]
    fn credential_list_picks_the_first_that_can_sign_in_order() {
        use overture_tests::{KeyKind, Pki};
        let ec = Pki::new(KeyKind::EcdsaP256);
        let rsa = Pki::new(KeyKind::Rsa2048);
        let path = |p: &std::path::Path| Some(p.to_string_lossy().into_owned());
        let opts = Opts {
            credentials: vec![(path(&ec.chain_pem), path(&ec.key_pem))],
            cert_file: path(&rsa.chain_pem),
            key_file: path(&rsa.key_pem),
            ..Opts::default()
        };
        let selected = Selected::default();
        let list = opts.credential_list(&selected).ok().unwrap();
        let pick = |offered: &[SignatureScheme]| {
            *selected.lock().unwrap() = None;
            let chain = list.resolve(offered).map(|(chain, _)| chain);
            (chain, *selected.lock().unwrap())
        };
        let (chain, index) = pick(&[
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::ECDSA_NISTP256_SHA256,
        ]);
        assert_eq!((chain.unwrap(), index), (ec.chain.clone(), Some(0)));
        let (chain, index) = pick(&[SignatureScheme::RSA_PSS_SHA256]);
        assert_eq!((chain.unwrap(), index), (rsa.chain.clone(), Some(-1)));
        assert_eq!(pick(&[SignatureScheme::ED25519]), (None, None));
    }

    #[test]
    fn unknown_flags_are_unimplemented_never_guessed() {
        for flag in ["-false-start", "-on-resume-psk", "-frobnicate"] {
            match parse(&strings(&["-port", "1", flag])) {
                Err(Stop::Unimplemented(why)) => assert!(why.contains(flag), "{why}"),
                _ => panic!("{flag} must be unimplemented"),
            }
        }
        assert!(matches!(
            parse(&strings(&["-port", "1", "-resume-count", "99"])),
            Err(Stop::Check(_))
        ));
    }
}

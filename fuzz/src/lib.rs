//! Shared pieces of the Overture fuzz targets: deterministic test crypto that lets the fuzzer
//! past MACs, key exchange and signatures, and an input splitter.
//!
//! ```text
//!  fuzz input ──► target (fuzz_targets/*.rs, a few lines each)
//!                   │ uses
//!                   ▼
//!   Splitter ········ arbitrary chunk sizes from a seed byte (deframer)
//!   NULL_AEAD ······· "decrypts" by dropping the 16-byte tag: the fuzzer reaches the
//!                     TLS 1.3 inner plaintext / padding / content-type code
//!   test_provider() · fixed random, fixed key shares that accept any peer share of the
//!                     right length, HMAC that always yields zeros (so Finished = 00..00)
//!   AcceptAnything ·· a CertVerifier that accepts every chain and signature
//!   accept_all_signatures() · ring's X.509 verifiers' algorithms, every signature valid
//! ```
//!
//! Nothing here is used outside fuzzing; it is deliberately insecure.

#![forbid(unsafe_code)]

use overture_crypto_provider::{
    ActiveKeyExchange, Aead, AeadAlgorithm, BoundAead, CryptoProvider, Error as CryptoError,
    HashAlgorithm, Hmac, HmacKey, KeyExchange, Nonce, Output, Secret, SecureRandom,
    SignatureVerifier, Signer, SupportedCipherSuite, TAG_LEN, Tag, Tls12CipherSuite,
    Tls12KxSignature, Tls12NonceStyle, Tls13CipherSuite, ring,
};
use overture_handshake::{
    CertVerifier, ClientCertResolver, Error as HsError, HandshakeConfig, KeyLog,
    ServerCertVerified, SignatureVerified,
};
use overture_types::pki::AlgorithmIdentifier;
use overture_types::{
    CertificateDer, NamedGroup, ProtocolVersion, ServerName, SignatureScheme, UnixTime,
};
use std::sync::Arc;

/// Splits `data` into chunks whose sizes come from a xorshift generator seeded by `seed`;
/// `max` bounds a chunk (at least 1).
pub struct Splitter<'a> {
    data: &'a [u8],
    state: u32,
    max: usize,
}

impl<'a> Splitter<'a> {
    /// A splitter over `data`.
    pub fn new(data: &'a [u8], seed: u8, max: usize) -> Self {
        Self {
            data,
            state: 0x9e37_79b9 ^ u32::from(seed),
            max: max.max(1),
        }
    }
}

impl<'a> Iterator for Splitter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.data.is_empty() {
            return None;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = usize::try_from(self.state).unwrap_or(1) % self.max + 1;
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        Some(head)
    }
}

/// An AEAD that does not encrypt: seal appends a zero tag, open drops the last 16 bytes
/// (any tag is accepted). The record layer's code after decryption becomes reachable.
#[derive(Debug)]
pub struct NullAead(pub AeadAlgorithm);

/// [`NullAead`] with AES-128-GCM's key length.
pub static NULL_AEAD: NullAead = NullAead(AeadAlgorithm::Aes128Gcm);

struct NullBound(AeadAlgorithm);

impl Aead for NullAead {
    fn algorithm(&self) -> AeadAlgorithm {
        self.0
    }
    fn with_key(&self, key: &[u8]) -> Result<Box<dyn BoundAead>, CryptoError> {
        if key.len() != self.0.key_len() {
            return Err(CryptoError::InvalidKey);
        }
        Ok(Box::new(NullBound(self.0)))
    }
}

impl BoundAead for NullBound {
    fn seal_in_place(&self, _: Nonce, _: &[u8], _: &mut [u8]) -> Result<Tag, CryptoError> {
        Ok(Tag([0; TAG_LEN]))
    }
    fn open_in_place(&self, _: Nonce, _: &[u8], in_out: &mut [u8]) -> Result<usize, CryptoError> {
        in_out
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(CryptoError::DecryptFailed)
    }
    fn algorithm(&self) -> AeadAlgorithm {
        self.0
    }
}

/// An HMAC whose every tag is zero bytes: TLS 1.3 Finished verify_data is then all zeros.
#[derive(Debug)]
pub struct ZeroHmac(pub HashAlgorithm);

struct ZeroKey(usize);

impl Hmac for ZeroHmac {
    fn hash_algorithm(&self) -> HashAlgorithm {
        self.0
    }
    fn with_key(&self, _: &[u8]) -> Box<dyn HmacKey> {
        Box::new(ZeroKey(self.0.output_len()))
    }
}

impl HmacKey for ZeroKey {
    fn sign(&self, _: &[&[u8]]) -> Output {
        Output::truncated(&[0; 64][..self.0.min(64)])
    }
}

static ZERO_HMAC_SHA256: ZeroHmac = ZeroHmac(HashAlgorithm::Sha256);
static ZERO_HMAC_SHA384: ZeroHmac = ZeroHmac(HashAlgorithm::Sha384);

/// TLS_AES_128_GCM_SHA256 with a zero HMAC.
pub static TEST_AES_128_GCM_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    suite: overture_types::CipherSuite::TLS13_AES_128_GCM_SHA256,
    hash: &ring::SHA256,
    hmac: &ZERO_HMAC_SHA256,
    hkdf: &ring::HKDF_SHA256,
    aead: &ring::AES_128_GCM,
};
/// TLS_AES_256_GCM_SHA384 with a zero HMAC.
pub static TEST_AES_256_GCM_SHA384: Tls13CipherSuite = Tls13CipherSuite {
    suite: overture_types::CipherSuite::TLS13_AES_256_GCM_SHA384,
    hash: &ring::SHA384,
    hmac: &ZERO_HMAC_SHA384,
    hkdf: &ring::HKDF_SHA384,
    aead: &ring::AES_256_GCM,
};
/// TLS_CHACHA20_POLY1305_SHA256 with a zero HMAC.
pub static TEST_CHACHA20_POLY1305_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    suite: overture_types::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    hash: &ring::SHA256,
    hmac: &ZERO_HMAC_SHA256,
    hkdf: &ring::HKDF_SHA256,
    aead: &ring::CHACHA20_POLY1305,
};

/// TLS_AES_128_GCM_SHA256 with a zero HMAC and the [`NULL_AEAD`]: records the fuzzer writes in
/// the clear (inner plaintext ‖ content type ‖ padding ‖ any 16-byte tag) open as if protected.
pub static NULL13_AES_128_GCM_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    aead: &NULL_AEAD,
    ..TEST_AES_128_GCM_SHA256
};

/// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 with a zero HMAC (the PRF yields zeros: Finished
/// verify_data is 12 zero bytes) and the [`NULL_AEAD`] (a record is explicit nonce ‖ plaintext
/// ‖ any 16-byte tag).
pub static NULL12_ECDHE_RSA_AES_128_GCM_SHA256: Tls12CipherSuite = Tls12CipherSuite {
    suite: overture_types::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    hash: &ring::SHA256,
    hmac: &ZERO_HMAC_SHA256,
    aead: &NULL_AEAD,
    kx_signature: Tls12KxSignature::Rsa,
    nonce: Tls12NonceStyle::ExplicitGcm,
    fixed_iv_len: 4,
    explicit_nonce_len: 8,
};

/// [`test_provider`] whose suites protect records with the [`NULL_AEAD`]: one TLS 1.3 and one
/// TLS 1.2 suite, so that a fuzzer can drive a whole connection (records included) in both
/// versions, past the TLS 1.2 ChangeCipherSpec.
pub fn null_record_provider() -> CryptoProvider {
    let mut p = test_provider();
    p.cipher_suites = vec![
        SupportedCipherSuite::Tls13(&NULL13_AES_128_GCM_SHA256),
        SupportedCipherSuite::Tls12(&NULL12_ECDHE_RSA_AES_128_GCM_SHA256),
    ];
    p
}

/// Random bytes that are all 0x5a.
#[derive(Debug)]
pub struct FixedRandom;

static FIXED_RANDOM: FixedRandom = FixedRandom;

impl SecureRandom for FixedRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        buf.fill(0x5a);
        Ok(())
    }
}

/// A key exchange with a fixed public key (`0x5a` × len; P-256 with the 0x04 prefix) that
/// accepts any peer share of the group's length and yields a fixed shared secret.
#[derive(Debug)]
pub struct FixedKx {
    group: NamedGroup,
    share_len: usize,
}

/// X25519 (32-byte shares).
pub static FIXED_X25519: FixedKx = FixedKx {
    group: NamedGroup::X25519,
    share_len: 32,
};
/// secp256r1 (65-byte uncompressed shares).
pub static FIXED_SECP256R1: FixedKx = FixedKx {
    group: NamedGroup::secp256r1,
    share_len: 65,
};

struct FixedActive {
    group: NamedGroup,
    public: Vec<u8>,
}

impl KeyExchange for FixedKx {
    fn group(&self) -> NamedGroup {
        self.group
    }
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, CryptoError> {
        let mut public = vec![0x5a; self.share_len];
        if let (65, Some(b)) = (self.share_len, public.first_mut()) {
            *b = 4;
        }
        Ok(Box::new(FixedActive {
            group: self.group,
            public,
        }))
    }
}

impl ActiveKeyExchange for FixedActive {
    fn group(&self) -> NamedGroup {
        self.group
    }
    fn public_key(&self) -> &[u8] {
        &self.public
    }
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<Secret, CryptoError> {
        if peer.len() != self.public.len() {
            return Err(CryptoError::InvalidPeerShare);
        }
        Secret::new(&[0x11; 32]).ok_or(CryptoError::OutputLength)
    }
}

/// ring's provider with: the three TLS 1.3 suites with a zero HMAC, fixed key shares
/// (X25519 first, then P-256, so a HelloRetryRequest for P-256 is valid) and fixed random.
pub fn test_provider() -> CryptoProvider {
    let mut p = ring::default_provider();
    p.cipher_suites = vec![
        SupportedCipherSuite::Tls13(&TEST_AES_128_GCM_SHA256),
        SupportedCipherSuite::Tls13(&TEST_AES_256_GCM_SHA384),
        SupportedCipherSuite::Tls13(&TEST_CHACHA20_POLY1305_SHA256),
    ];
    p.kx_groups = vec![&FIXED_X25519, &FIXED_SECP256R1];
    p.secure_random = &FIXED_RANDOM;
    p
}

/// A certificate verifier that accepts every chain and every signature.
#[derive(Debug)]
pub struct AcceptAnything;

impl CertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: UnixTime,
    ) -> Result<ServerCertVerified, HsError> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: SignatureScheme,
        _: &[u8],
    ) -> Result<SignatureVerified, HsError> {
        Ok(SignatureVerified::assertion())
    }
    fn supported_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::ED25519,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256,
        ]
    }
}

/// A client certificate resolver that always offers a fixed (fake) certificate and a signer
/// for the server's first scheme that returns 64 zero bytes.
#[derive(Debug)]
pub struct FixedClientCert;

#[derive(Debug)]
struct ZeroSigner(SignatureScheme);

impl Signer for ZeroSigner {
    fn scheme(&self) -> SignatureScheme {
        self.0
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(vec![0; 64])
    }
}

impl ClientCertResolver for FixedClientCert {
    fn resolve(
        &self,
        offered: &[SignatureScheme],
    ) -> Option<(Vec<CertificateDer<'static>>, Box<dyn Signer>)> {
        let scheme = *offered.first()?;
        Some((
            vec![CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01])],
            Box::new(ZeroSigner(scheme)),
        ))
    }
}

/// A key log that drops everything (the logging code still runs).
pub struct NullKeyLog;

impl KeyLog for NullKeyLog {
    fn log(&self, _: &str, _: &[u8], _: &[u8]) {}
}

/// The ECHConfigList offered by [`test_handshake_config`] (extension bit 3): one config,
/// id 7, DHKEM(X25519) with a fixed public key, HKDF-SHA256 with AES-128-GCM, public name
/// `public.example`. With the fixed key shares HPKE "works" against any server.
pub fn test_ech_config_list() -> Vec<u8> {
    let name = b"public.example";
    let mut contents = vec![7u8, 0x00, 0x20, 0x00, 0x20];
    contents.extend_from_slice(&[0x42; 32]);
    contents.extend_from_slice(&[0x00, 0x04, 0x00, 0x01, 0x00, 0x01, 0x00]);
    contents.push(u8::try_from(name.len()).unwrap_or(0));
    contents.extend_from_slice(name);
    contents.extend_from_slice(&[0x00, 0x00]);
    let mut config = vec![0xfe, 0x0d];
    config.extend_from_slice(&u16::try_from(contents.len()).unwrap_or(0).to_be_bytes());
    config.extend_from_slice(&contents);
    let mut list = u16::try_from(config.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    list.extend_from_slice(&config);
    list
}

/// A TLS 1.3 ticket for `example.com` (TLS_AES_128_GCM_SHA256, identity `ticket`, a fixed
/// PSK) that allows 16,384 bytes of early data, received at `now`: what the
/// `client_state_machine` target resumes with extension bit 2.
pub fn test_ticket(now: UnixTime) -> overture_handshake::Tls13Ticket {
    overture_handshake::Tls13Ticket {
        suite: overture_types::CipherSuite::TLS13_AES_128_GCM_SHA256,
        ticket: b"ticket".to_vec(),
        psk: Secret::truncated(&[0x33; 32]),
        lifetime: 7200,
        age_add: 12345,
        max_early_data: Some(16_384),
        received_at: now,
        server_name: ServerName::try_from("example.com")
            .expect("a valid name")
            .to_owned(),
        alpn: None,
    }
}

/// The handshake configuration for flag bits `flags`: bit 0 middlebox compatibility,
/// bit 1 ALPN (`h2`, `http/1.1`), bit 2 client certificate, bit 3 also offer TLS 1.2,
/// bit 4 key log, bit 5 SNI off; and extension bits `ext`: bit 0 status_request (OCSP),
/// bit 1 signed_certificate_timestamp, bit 2 early data (the target resumes
/// [`test_ticket`]), bits 3–4 ECH: 1 GREASE, 2 or 3 [`test_ech_config_list`] (TLS 1.3 only:
/// flag bit 3 is then ignored, as `start` refuses ECH with TLS 1.2).
pub fn test_handshake_config(flags: u8, ext: u8) -> HandshakeConfig {
    let ech = match (ext >> 3) & 3 {
        0 => overture_handshake::EchMode::Off,
        1 => overture_handshake::EchMode::Grease,
        _ => overture_handshake::EchMode::Enabled(
            overture_handshake::EchConfigList::parse(&test_ech_config_list())
                .unwrap_or_else(|e| panic!("the test ECHConfigList parses: {e:?}")),
        ),
    };
    let mut versions = vec![ProtocolVersion::TLSv1_3];
    if flags & 8 != 0 && !matches!(ech, overture_handshake::EchMode::Enabled(_)) {
        versions.push(ProtocolVersion::TLSv1_2);
    }
    HandshakeConfig {
        provider: Arc::new(test_provider()),
        versions,
        alpn_protocols: if flags & 2 != 0 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            Vec::new()
        },
        enable_sni: flags & 32 == 0,
        middlebox_compat: flags & 1 != 0,
        verifier: Arc::new(AcceptAnything),
        client_auth: if flags & 4 != 0 {
            Some(Arc::new(FixedClientCert))
        } else {
            None
        },
        verify_schemes: None,
        signing_schemes: None,
        key_log: if flags & 16 != 0 {
            Some(Arc::new(NullKeyLog))
        } else {
            None
        },
        extensions: overture_handshake::ExtensionOptions {
            status_request: ext & 1 != 0,
            signed_certificate_timestamps: ext & 2 != 0,
            early_data: ext & 4 != 0,
            ech,
            ..overture_handshake::ExtensionOptions::default()
        },
    }
}

/// A signature verifier with the algorithm identifiers of a real one whose `verify`
/// accepts every signature: path building, name constraints and validity checks become
/// reachable with fuzzed certificates.
#[derive(Debug)]
pub struct AcceptSignature(pub &'static dyn SignatureVerifier);

impl SignatureVerifier for AcceptSignature {
    fn scheme(&self) -> Option<SignatureScheme> {
        self.0.scheme()
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }
    fn verify(&self, _: &[u8], _: &[u8], _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
}

/// ring's provider whose signature verifiers accept every signature.
pub fn accept_all_signatures() -> CryptoProvider {
    let mut p = ring::default_provider();
    p.signature_verifiers = p
        .signature_verifiers
        .iter()
        .map(|v| -> &'static dyn SignatureVerifier { Box::leak(Box::new(AcceptSignature(*v))) })
        .collect();
    p
}

/// Splits `data` into length-prefixed items: a big-endian u16 length, then that many bytes
/// (the last item takes what is left). At most `max` items.
pub fn length_prefixed(mut data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < max {
        let (len, rest) = match data {
            [a, b, rest @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), rest),
            _ => break,
        };
        let (item, tail) = rest.split_at(len.min(rest.len()));
        out.push(item);
        data = tail;
    }
    out
}

/// Whether `OVERTURE_FUZZ_DEBUG` is set: the targets then print what each input did (for
/// reading a crash or checking that seeds reach where they should; never while fuzzing).
pub fn debug() -> bool {
    static DEBUG: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| std::env::var_os("OVERTURE_FUZZ_DEBUG").is_some());
    *DEBUG
}

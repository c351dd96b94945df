use crate::{Aead, Hash, Hkdf, Hmac};
use overture_types::{CipherSuite, ProtocolVersion};

/// A TLS 1.3 cipher suite: an AEAD and the hash of the key schedule.
#[derive(Debug)]
pub struct Tls13CipherSuite {
    /// The code point.
    pub suite: CipherSuite,
    /// The transcript and key-schedule hash.
    pub hash: &'static dyn Hash,
    /// HMAC over `hash` (Finished).
    pub hmac: &'static dyn Hmac,
    /// HKDF over `hash` (key schedule).
    pub hkdf: &'static dyn Hkdf,
    /// The record protection.
    pub aead: &'static dyn Aead,
}

/// How the server signs its key exchange in a TLS 1.2 ECDHE suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls12KxSignature {
    /// `TLS_ECDHE_ECDSA_*`.
    Ecdsa,
    /// `TLS_ECDHE_RSA_*`.
    Rsa,
}

/// How a TLS 1.2 AEAD suite builds its per-record nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls12NonceStyle {
    /// AES-GCM (RFC 5288): 4-byte implicit salt ‖ 8-byte explicit nonce sent in the record.
    ExplicitGcm,
    /// ChaCha20-Poly1305 (RFC 7905): 12-byte IV XOR sequence number, nothing sent.
    XorSequence,
}

/// A TLS 1.2 ECDHE AEAD cipher suite.
#[derive(Debug)]
pub struct Tls12CipherSuite {
    /// The code point.
    pub suite: CipherSuite,
    /// The PRF and transcript hash.
    pub hash: &'static dyn Hash,
    /// HMAC over `hash` (the PRF, RFC 5246 §5).
    pub hmac: &'static dyn Hmac,
    /// The record protection.
    pub aead: &'static dyn Aead,
    /// The server's signature kind.
    pub kx_signature: Tls12KxSignature,
    /// The nonce construction.
    pub nonce: Tls12NonceStyle,
    /// Fixed IV bytes derived from the key block: 4 for GCM, 12 for ChaCha20-Poly1305.
    pub fixed_iv_len: usize,
    /// Explicit nonce bytes carried in each record: 8 for GCM, 0 for ChaCha20-Poly1305.
    pub explicit_nonce_len: usize,
}

/// A cipher suite of either version.
#[derive(Clone, Copy, Debug)]
pub enum SupportedCipherSuite {
    /// A TLS 1.3 suite.
    Tls13(&'static Tls13CipherSuite),
    /// A TLS 1.2 suite.
    Tls12(&'static Tls12CipherSuite),
}

impl SupportedCipherSuite {
    /// The code point.
    pub fn suite(&self) -> CipherSuite {
        match self {
            Self::Tls13(s) => s.suite,
            Self::Tls12(s) => s.suite,
        }
    }

    /// The protocol version the suite belongs to.
    pub fn version(&self) -> ProtocolVersion {
        match self {
            Self::Tls13(_) => ProtocolVersion::TLSv1_3,
            Self::Tls12(_) => ProtocolVersion::TLSv1_2,
        }
    }

    /// The suite's hash.
    pub fn hash(&self) -> &'static dyn Hash {
        match self {
            Self::Tls13(s) => s.hash,
            Self::Tls12(s) => s.hash,
        }
    }

    /// The suite's AEAD.
    pub fn aead(&self) -> &'static dyn Aead {
        match self {
            Self::Tls13(s) => s.aead,
            Self::Tls12(s) => s.aead,
        }
    }
}

/// The tables every built-in provider module shares: the nine cipher suites, `ALL_CIPHER_SUITES`,
/// `ALL_KX_GROUPS`, `ALL_VERIFIERS` and `default_provider()`, built from the module's own
/// `pub static` pieces, which must be in scope under these names: `SHA256`, `SHA384`, `SHA512`,
/// `HMAC_SHA256`, `HMAC_SHA384`, `HKDF_SHA256`, `HKDF_SHA384`, `AES_128_GCM`, `AES_256_GCM`,
/// `CHACHA20_POLY1305`, `X25519`, `SECP256R1`, `SECP384R1`, the eleven verifiers
/// (`ECDSA_P256_SHA256` … `ED25519`), `RANDOM` and `KEY_PROVIDER`.
#[cfg(any(feature = "ring", feature = "rustcrypto"))]
macro_rules! provider_tables {
    ($provider_doc:literal) => {
        /// `TLS_AES_128_GCM_SHA256`.
        pub static TLS13_AES_128_GCM_SHA256: $crate::Tls13CipherSuite = $crate::Tls13CipherSuite {
            suite: overture_types::CipherSuite::TLS13_AES_128_GCM_SHA256,
            hash: &SHA256,
            hmac: &HMAC_SHA256,
            hkdf: &HKDF_SHA256,
            aead: &AES_128_GCM,
        };
        /// `TLS_AES_256_GCM_SHA384`.
        pub static TLS13_AES_256_GCM_SHA384: $crate::Tls13CipherSuite = $crate::Tls13CipherSuite {
            suite: overture_types::CipherSuite::TLS13_AES_256_GCM_SHA384,
            hash: &SHA384,
            hmac: &HMAC_SHA384,
            hkdf: &HKDF_SHA384,
            aead: &AES_256_GCM,
        };
        /// `TLS_CHACHA20_POLY1305_SHA256`.
        pub static TLS13_CHACHA20_POLY1305_SHA256: $crate::Tls13CipherSuite =
            $crate::Tls13CipherSuite {
                suite: overture_types::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                hash: &SHA256,
                hmac: &HMAC_SHA256,
                hkdf: &HKDF_SHA256,
                aead: &CHACHA20_POLY1305,
            };

        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, SHA256, HMAC_SHA256, AES_128_GCM, Ecdsa,
            ExplicitGcm, 4, 8
        );
        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`.
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, SHA384, HMAC_SHA384, AES_256_GCM, Ecdsa,
            ExplicitGcm, 4, 8
        );
        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`.
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, SHA256, HMAC_SHA256, CHACHA20_POLY1305,
            Ecdsa, XorSequence, 12, 0
        );
        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, SHA256, HMAC_SHA256, AES_128_GCM, Rsa,
            ExplicitGcm, 4, 8
        );
        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, SHA384, HMAC_SHA384, AES_256_GCM, Rsa,
            ExplicitGcm, 4, 8
        );
        $crate::suites::provider_tables!(@tls12
            /// `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`.
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, SHA256, HMAC_SHA256, CHACHA20_POLY1305,
            Rsa, XorSequence, 12, 0
        );

        /// Every suite, in preference order: TLS 1.3 first, then TLS 1.2 (ECDSA before RSA).
        pub static ALL_CIPHER_SUITES: &[$crate::SupportedCipherSuite] = &[
            $crate::SupportedCipherSuite::Tls13(&TLS13_AES_128_GCM_SHA256),
            $crate::SupportedCipherSuite::Tls13(&TLS13_AES_256_GCM_SHA384),
            $crate::SupportedCipherSuite::Tls13(&TLS13_CHACHA20_POLY1305_SHA256),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            $crate::SupportedCipherSuite::Tls12(&TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ];

        /// X25519MLKEM768 (0x11EC): this provider's ML-KEM-768 and X25519, ML-KEM first
        /// (draft-ietf-tls-ecdhe-mlkem). TLS 1.3 only.
        pub static X25519MLKEM768: $crate::hybrid::Hybrid = $crate::hybrid::Hybrid::new(
            overture_types::NamedGroup::X25519MLKEM768,
            &X25519,
            &MLKEM768,
            $crate::hybrid::HybridOrder::KemFirst,
        );
        /// SecP256r1MLKEM768 (0x11EB): P-256 ECDH and this provider's ML-KEM-768, ECDH first
        /// (draft-ietf-tls-ecdhe-mlkem). TLS 1.3 only.
        pub static SECP256R1MLKEM768: $crate::hybrid::Hybrid = $crate::hybrid::Hybrid::new(
            overture_types::NamedGroup::SecP256r1MLKEM768,
            &SECP256R1,
            &MLKEM768,
            $crate::hybrid::HybridOrder::ClassicalFirst,
        );

        /// Every key-exchange group this provider has, in preference order: the classical
        /// groups, then the hybrid post-quantum ones.
        pub static ALL_KX_GROUPS: &[&dyn $crate::KeyExchange] = &[
            &X25519,
            &SECP256R1,
            &SECP384R1,
            &X25519MLKEM768,
            &SECP256R1MLKEM768,
        ];

        /// The groups [`default_provider`] offers, in preference order: X25519MLKEM768 first
        /// (a ClientHello sends its share and, from the same X25519 key, an x25519 share),
        /// then the classical groups.
        pub static DEFAULT_KX_GROUPS: &[&dyn $crate::KeyExchange] =
            &[&X25519MLKEM768, &X25519, &SECP256R1, &SECP384R1];

        /// The groups [`default_provider`] has but does not offer unless asked for
        /// (`CryptoProvider::extra_kx_groups`).
        pub static EXTRA_KX_GROUPS: &[&dyn $crate::KeyExchange] = &[&SECP256R1MLKEM768];

        /// Every verifier, in preference order.
        pub static ALL_VERIFIERS: &[&dyn $crate::SignatureVerifier] = &[
            &ECDSA_P256_SHA256,
            &ECDSA_P384_SHA384,
            &ED25519,
            &RSA_PSS_SHA256,
            &RSA_PSS_SHA384,
            &RSA_PSS_SHA512,
            &RSA_PSS_PSS_SHA256,
            &RSA_PSS_PSS_SHA384,
            &RSA_PSS_PSS_SHA512,
            &RSA_PKCS1_SHA256,
            &RSA_PKCS1_SHA384,
            &RSA_PKCS1_SHA512,
            &ECDSA_P256_SHA384,
            &ECDSA_P384_SHA256,
        ];

        #[doc = $provider_doc]
        pub fn default_provider() -> $crate::CryptoProvider {
            $crate::CryptoProvider {
                cipher_suites: ALL_CIPHER_SUITES.to_vec(),
                kx_groups: DEFAULT_KX_GROUPS.to_vec(),
                extra_kx_groups: EXTRA_KX_GROUPS.to_vec(),
                signature_verifiers: ALL_VERIFIERS.to_vec(),
                hashes: vec![&SHA256, &SHA384, &SHA512],
                kems: vec![&MLKEM768],
                secure_random: &RANDOM,
                key_provider: &KEY_PROVIDER,
            }
        }
    };
    (@tls12 $(#[$m:meta])* $name:ident, $hash:ident, $hmac:ident, $aead:ident, $sig:ident,
        $nonce:ident, $fixed:expr, $explicit:expr) => {
        $(#[$m])*
        pub static $name: $crate::Tls12CipherSuite = $crate::Tls12CipherSuite {
            suite: overture_types::CipherSuite::$name,
            hash: &$hash,
            hmac: &$hmac,
            aead: &$aead,
            kx_signature: $crate::Tls12KxSignature::$sig,
            nonce: $crate::Tls12NonceStyle::$nonce,
            fixed_iv_len: $fixed,
            explicit_nonce_len: $explicit,
        };
    };
}

#[cfg(any(feature = "ring", feature = "rustcrypto"))]
pub(crate) use provider_tables;

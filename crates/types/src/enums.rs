//! TLS code points with their IANA values and names.
//!
//! Every enum keeps values it does not know as `Unknown(v)` instead of rejecting them: a
//! ClientHello or ServerHello may carry code points from the future, and whether one is
//! acceptable is the protocol's decision, not the codec's.

use crate::codec::{Codec, InvalidMessage, Reader};
use core::fmt;

macro_rules! enum_builder {
    (
        $(#[$m:meta])*
        pub enum $name:ident: $ty:ident {
            $( $(#[$vm:meta])* $var:ident => $val:literal $iana:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        #[allow(non_camel_case_types)]
        pub enum $name {
            $( $(#[$vm])* #[doc = concat!("`", $iana, "` (", stringify!($val), ")")] $var, )*
            /// A value this version does not know, kept as it was on the wire.
            Unknown($ty),
        }

        impl $name {
            /// Every known value, in IANA order.
            pub const ALL: &'static [Self] = &[$(Self::$var),*];

            /// The value on the wire.
            pub const fn get(self) -> $ty {
                match self {
                    $( Self::$var => $val, )*
                    Self::Unknown(v) => v,
                }
            }

            /// The IANA name, or `None` for an unknown value.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( Self::$var => Some($iana), )*
                    Self::Unknown(_) => None,
                }
            }

            /// The known value with this IANA name (ASCII case-insensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            }
        }

        impl From<$ty> for $name {
            fn from(v: $ty) -> Self {
                match v {
                    $( $val => Self::$var, )*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(v: $name) -> $ty {
                v.get()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}(0x{:x})", stringify!($name), self.get()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }

        impl Codec<'_> for $name {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), $crate::codec::EncodeError> {
                self.get().encode(out)
            }
            fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                <$ty>::read(r)
                    .map(Self::from)
                    .map_err(|_| InvalidMessage::MissingData(stringify!($name)))
            }
        }
    };
}

enum_builder! {
    /// `ProtocolVersion` (RFC 8446 §4.1.2; legacy values for recognition only).
    pub enum ProtocolVersion: u16 {
        SSLv3 => 0x0300 "SSLv3",
        TLSv1_0 => 0x0301 "TLSv1",
        TLSv1_1 => 0x0302 "TLSv1.1",
        TLSv1_2 => 0x0303 "TLSv1.2",
        TLSv1_3 => 0x0304 "TLSv1.3",
    }
}

enum_builder! {
    /// `ContentType` of a record (RFC 8446 §5.1).
    pub enum ContentType: u8 {
        ChangeCipherSpec => 20 "change_cipher_spec",
        Alert => 21 "alert",
        Handshake => 22 "handshake",
        ApplicationData => 23 "application_data",
        Heartbeat => 24 "heartbeat",
    }
}

enum_builder! {
    /// `HandshakeType` (RFC 8446 §4, RFC 5246 §7.4).
    pub enum HandshakeType: u8 {
        HelloRequest => 0 "hello_request",
        ClientHello => 1 "client_hello",
        ServerHello => 2 "server_hello",
        HelloVerifyRequest => 3 "hello_verify_request",
        NewSessionTicket => 4 "new_session_ticket",
        EndOfEarlyData => 5 "end_of_early_data",
        HelloRetryRequest => 6 "hello_retry_request",
        EncryptedExtensions => 8 "encrypted_extensions",
        Certificate => 11 "certificate",
        ServerKeyExchange => 12 "server_key_exchange",
        CertificateRequest => 13 "certificate_request",
        ServerHelloDone => 14 "server_hello_done",
        CertificateVerify => 15 "certificate_verify",
        ClientKeyExchange => 16 "client_key_exchange",
        Finished => 20 "finished",
        CertificateStatus => 22 "certificate_status",
        KeyUpdate => 24 "key_update",
        CompressedCertificate => 25 "compressed_certificate",
        MessageHash => 254 "message_hash",
    }
}

enum_builder! {
    /// `AlertLevel` (RFC 5246 §7.2; ignored by TLS 1.3 except for close_notify/user_canceled).
    pub enum AlertLevel: u8 {
        Warning => 1 "warning",
        Fatal => 2 "fatal",
    }
}

enum_builder! {
    /// `AlertDescription` (RFC 8446 §6, IANA TLS Alerts registry).
    pub enum AlertDescription: u8 {
        CloseNotify => 0 "close_notify",
        UnexpectedMessage => 10 "unexpected_message",
        BadRecordMac => 20 "bad_record_mac",
        DecryptionFailed => 21 "decryption_failed",
        RecordOverflow => 22 "record_overflow",
        DecompressionFailure => 30 "decompression_failure",
        HandshakeFailure => 40 "handshake_failure",
        NoCertificate => 41 "no_certificate",
        BadCertificate => 42 "bad_certificate",
        UnsupportedCertificate => 43 "unsupported_certificate",
        CertificateRevoked => 44 "certificate_revoked",
        CertificateExpired => 45 "certificate_expired",
        CertificateUnknown => 46 "certificate_unknown",
        IllegalParameter => 47 "illegal_parameter",
        UnknownCa => 48 "unknown_ca",
        AccessDenied => 49 "access_denied",
        DecodeError => 50 "decode_error",
        DecryptError => 51 "decrypt_error",
        ExportRestriction => 60 "export_restriction",
        ProtocolVersion => 70 "protocol_version",
        InsufficientSecurity => 71 "insufficient_security",
        InternalError => 80 "internal_error",
        InappropriateFallback => 86 "inappropriate_fallback",
        UserCanceled => 90 "user_canceled",
        NoRenegotiation => 100 "no_renegotiation",
        MissingExtension => 109 "missing_extension",
        UnsupportedExtension => 110 "unsupported_extension",
        CertificateUnobtainable => 111 "certificate_unobtainable",
        UnrecognizedName => 112 "unrecognized_name",
        BadCertificateStatusResponse => 113 "bad_certificate_status_response",
        BadCertificateHashValue => 114 "bad_certificate_hash_value",
        UnknownPskIdentity => 115 "unknown_psk_identity",
        CertificateRequired => 116 "certificate_required",
        NoApplicationProtocol => 120 "no_application_protocol",
        EchRequired => 121 "ech_required",
    }
}

enum_builder! {
    /// `CipherSuite` (IANA TLS Cipher Suites registry). Only the AEAD suites of DESIGN.md's
    /// scope are offered; the others are named so that logs and errors can name them.
    pub enum CipherSuite: u16 {
        TLS_RSA_WITH_NULL_SHA => 0x0002 "TLS_RSA_WITH_NULL_SHA",
        TLS_RSA_WITH_RC4_128_SHA => 0x0005 "TLS_RSA_WITH_RC4_128_SHA",
        TLS_RSA_WITH_3DES_EDE_CBC_SHA => 0x000a "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        TLS_RSA_WITH_AES_128_CBC_SHA => 0x002f "TLS_RSA_WITH_AES_128_CBC_SHA",
        TLS_DHE_RSA_WITH_AES_128_CBC_SHA => 0x0033 "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
        TLS_RSA_WITH_AES_256_CBC_SHA => 0x0035 "TLS_RSA_WITH_AES_256_CBC_SHA",
        TLS_RSA_WITH_AES_128_GCM_SHA256 => 0x009c "TLS_RSA_WITH_AES_128_GCM_SHA256",
        TLS_RSA_WITH_AES_256_GCM_SHA384 => 0x009d "TLS_RSA_WITH_AES_256_GCM_SHA384",
        TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 => 0x009e "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 => 0x009f "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        TLS_EMPTY_RENEGOTIATION_INFO_SCSV => 0x00ff "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        TLS13_AES_128_GCM_SHA256 => 0x1301 "TLS_AES_128_GCM_SHA256",
        TLS13_AES_256_GCM_SHA384 => 0x1302 "TLS_AES_256_GCM_SHA384",
        TLS13_CHACHA20_POLY1305_SHA256 => 0x1303 "TLS_CHACHA20_POLY1305_SHA256",
        TLS13_AES_128_CCM_SHA256 => 0x1304 "TLS_AES_128_CCM_SHA256",
        TLS13_AES_128_CCM_8_SHA256 => 0x1305 "TLS_AES_128_CCM_8_SHA256",
        TLS_FALLBACK_SCSV => 0x5600 "TLS_FALLBACK_SCSV",
        TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA => 0xc009 "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
        TLS_ECDHE_RSA_WITH_RC4_128_SHA => 0xc011 "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
        TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA => 0xc012 "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA => 0xc013 "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA => 0xc014 "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => 0xc02b "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => 0xc02c "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0xc02f "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 0xc030 "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 => 0xcca8 "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => 0xcca9 "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    }
}

enum_builder! {
    /// `NamedGroup` (RFC 8446 §4.2.7, IANA Supported Groups registry).
    pub enum NamedGroup: u16 {
        secp256r1 => 0x0017 "secp256r1",
        secp384r1 => 0x0018 "secp384r1",
        secp521r1 => 0x0019 "secp521r1",
        X25519 => 0x001d "x25519",
        X448 => 0x001e "x448",
        FFDHE2048 => 0x0100 "ffdhe2048",
        FFDHE3072 => 0x0101 "ffdhe3072",
        FFDHE4096 => 0x0102 "ffdhe4096",
        SecP256r1MLKEM768 => 0x11eb "SecP256r1MLKEM768",
        X25519MLKEM768 => 0x11ec "X25519MLKEM768",
    }
}

enum_builder! {
    /// `SignatureScheme` (RFC 8446 §4.2.3).
    pub enum SignatureScheme: u16 {
        RSA_PKCS1_SHA1 => 0x0201 "rsa_pkcs1_sha1",
        ECDSA_SHA1_Legacy => 0x0203 "ecdsa_sha1",
        RSA_PKCS1_SHA256 => 0x0401 "rsa_pkcs1_sha256",
        ECDSA_NISTP256_SHA256 => 0x0403 "ecdsa_secp256r1_sha256",
        RSA_PKCS1_SHA384 => 0x0501 "rsa_pkcs1_sha384",
        ECDSA_NISTP384_SHA384 => 0x0503 "ecdsa_secp384r1_sha384",
        RSA_PKCS1_SHA512 => 0x0601 "rsa_pkcs1_sha512",
        ECDSA_NISTP521_SHA512 => 0x0603 "ecdsa_secp521r1_sha512",
        RSA_PSS_SHA256 => 0x0804 "rsa_pss_rsae_sha256",
        RSA_PSS_SHA384 => 0x0805 "rsa_pss_rsae_sha384",
        RSA_PSS_SHA512 => 0x0806 "rsa_pss_rsae_sha512",
        ED25519 => 0x0807 "ed25519",
        ED448 => 0x0808 "ed448",
        RSA_PSS_PSS_SHA256 => 0x0809 "rsa_pss_pss_sha256",
        RSA_PSS_PSS_SHA384 => 0x080a "rsa_pss_pss_sha384",
        RSA_PSS_PSS_SHA512 => 0x080b "rsa_pss_pss_sha512",
    }
}

enum_builder! {
    /// `ExtensionType` (IANA TLS ExtensionType Values registry).
    pub enum ExtensionType: u16 {
        ServerName => 0 "server_name",
        MaxFragmentLength => 1 "max_fragment_length",
        StatusRequest => 5 "status_request",
        SupportedGroups => 10 "supported_groups",
        EcPointFormats => 11 "ec_point_formats",
        SignatureAlgorithms => 13 "signature_algorithms",
        UseSrtp => 14 "use_srtp",
        Heartbeat => 15 "heartbeat",
        ApplicationLayerProtocolNegotiation => 16 "application_layer_protocol_negotiation",
        SignedCertificateTimestamp => 18 "signed_certificate_timestamp",
        ClientCertificateType => 19 "client_certificate_type",
        ServerCertificateType => 20 "server_certificate_type",
        Padding => 21 "padding",
        EncryptThenMac => 22 "encrypt_then_mac",
        ExtendedMasterSecret => 23 "extended_master_secret",
        CompressCertificate => 27 "compress_certificate",
        RecordSizeLimit => 28 "record_size_limit",
        SessionTicket => 35 "session_ticket",
        PreSharedKey => 41 "pre_shared_key",
        EarlyData => 42 "early_data",
        SupportedVersions => 43 "supported_versions",
        Cookie => 44 "cookie",
        PskKeyExchangeModes => 45 "psk_key_exchange_modes",
        CertificateAuthorities => 47 "certificate_authorities",
        OidFilters => 48 "oid_filters",
        PostHandshakeAuth => 49 "post_handshake_auth",
        SignatureAlgorithmsCert => 50 "signature_algorithms_cert",
        KeyShare => 51 "key_share",
        EncryptedClientHello => 0xfe0d "encrypted_client_hello",
        RenegotiationInfo => 0xff01 "renegotiation_info",
    }
}

enum_builder! {
    /// `PskKeyExchangeMode` (RFC 8446 §4.2.9).
    pub enum PskKeyExchangeMode: u8 {
        PskKe => 0 "psk_ke",
        PskDheKe => 1 "psk_dhe_ke",
    }
}

enum_builder! {
    /// `KeyUpdateRequest` (RFC 8446 §4.6.3).
    pub enum KeyUpdateRequest: u8 {
        UpdateNotRequested => 0 "update_not_requested",
        UpdateRequested => 1 "update_requested",
    }
}

enum_builder! {
    /// `ECPointFormat` (RFC 8422 §5.1.2; only `uncompressed` is used).
    pub enum EcPointFormat: u8 {
        Uncompressed => 0 "uncompressed",
        AnsiX962CompressedPrime => 1 "ansiX962_compressed_prime",
        AnsiX962CompressedChar2 => 2 "ansiX962_compressed_char2",
    }
}

enum_builder! {
    /// `ServerNameType` (RFC 6066 §3).
    pub enum ServerNameType: u8 {
        HostName => 0 "host_name",
    }
}

enum_builder! {
    /// `CompressionMethod` (RFC 5246 §7.4.1.2; only `null` is ever offered).
    pub enum Compression: u8 {
        Null => 0 "null",
        Deflate => 1 "deflate",
    }
}

enum_builder! {
    /// `CertificateCompressionAlgorithm` (RFC 8879 §7.3).
    pub enum CertificateCompressionAlgorithm: u16 {
        Zlib => 1 "zlib",
        Brotli => 2 "brotli",
        Zstd => 3 "zstd",
    }
}

enum_builder! {
    /// `ECCurveType` in a TLS 1.2 ServerKeyExchange (RFC 8422 §5.4).
    pub enum EcCurveType: u8 {
        ExplicitPrime => 1 "explicit_prime",
        ExplicitChar2 => 2 "explicit_char2",
        NamedCurve => 3 "named_curve",
    }
}

impl ProtocolVersion {
    /// Whether this is a version Overture speaks (TLS 1.2 or TLS 1.3).
    pub const fn is_supported(self) -> bool {
        matches!(self, Self::TLSv1_2 | Self::TLSv1_3)
    }
}

impl CipherSuite {
    /// Whether this is a TLS 1.3 suite (the `0x13xx` range).
    pub const fn is_tls13(self) -> bool {
        (self.get() >> 8) == 0x13
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept() {
        let v = CipherSuite::from(0x1234);
        assert_eq!(v, CipherSuite::Unknown(0x1234));
        assert_eq!(v.get(), 0x1234);
        assert_eq!(format!("{v:?}"), "CipherSuite(0x1234)");
        assert_eq!(CipherSuite::read_bytes(&[0x12, 0x34]).unwrap(), v);
    }

    #[test]
    fn names_and_values_round_trip() {
        assert_eq!(CipherSuite::TLS13_AES_128_GCM_SHA256.get(), 0x1301);
        assert_eq!(
            CipherSuite::from_name("tls_aes_128_gcm_sha256"),
            Some(CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
        assert_eq!(NamedGroup::from_name("x25519"), Some(NamedGroup::X25519));
        assert_eq!(NamedGroup::X25519.to_string(), "x25519");
        assert_eq!(AlertDescription::from(50).name(), Some("decode_error"));
        for v in SignatureScheme::ALL {
            assert_eq!(SignatureScheme::from(v.get()), *v);
        }
        for v in ExtensionType::ALL {
            assert_eq!(
                ExtensionType::read_bytes(&v.get_encoding().unwrap()).unwrap(),
                *v
            );
        }
    }

    #[test]
    fn truncated_code_point_is_an_error() {
        assert!(NamedGroup::read_bytes(&[0]).is_err());
        assert!(CipherSuite::TLS13_AES_256_GCM_SHA384.is_tls13());
        assert!(!CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.is_tls13());
    }
}

//! `overture-types`: the TLS code points and the wire codec shared by every Overture layer.
//!
//! ```text
//!   peer bytes ──► Reader (bounded: takes only what is there)
//!                    │
//!                    ▼
//!              Codec::read ──► ProtocolVersion, CipherSuite, NamedGroup, … (unknown values kept)
//!                                 PayloadU8/16/24, VecU8/16/24 (length bounds in the type)
//!              Codec::encode ◄── the same types, for what we send
//! ```
//!
//! ```
//! use overture_types::{Codec, CipherSuite, VecU16};
//!
//! // A cipher_suites list as a ClientHello carries it: <2..2^16-2>.
//! let suites: VecU16<CipherSuite, 2, 0xfffe> =
//!     VecU16(vec![CipherSuite::TLS13_AES_128_GCM_SHA256, CipherSuite::from(0x0a0a)]);
//! let wire = suites.get_encoding().unwrap();
//! assert_eq!(wire, [0x00, 0x04, 0x13, 0x01, 0x0a, 0x0a]);
//!
//! let back = VecU16::<CipherSuite, 2, 0xfffe>::read_bytes(&wire).unwrap();
//! assert_eq!(back.0[1], CipherSuite::Unknown(0x0a0a)); // unknown values survive
//! assert!(VecU16::<CipherSuite, 2, 0xfffe>::read_bytes(&wire[..5]).is_err()); // truncated
//! ```
//!
//! The certificate, key, name and time types come from `rustls-pki-types` and are re-exported
//! here, so the layers share them with the rest of the Rust TLS ecosystem.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod enums;

pub use codec::{
    Codec, EncodeError, InvalidMessage, LazyIter, LazyU8, LazyU16, LazyU24, LengthWidth, PayloadU8,
    PayloadU16, PayloadU24, Reader, U24, VecU8, VecU16, VecU24, encode_bytes, encode_items,
    encode_prefixed, read_items,
};
pub use enums::{
    AlertDescription, AlertLevel, CertificateCompressionAlgorithm, CipherSuite, Compression,
    ContentType, EcCurveType, EcPointFormat, ExtensionType, HandshakeType, KeyUpdateRequest,
    NamedGroup, ProtocolVersion, PskKeyExchangeMode, ServerNameType, SignatureScheme,
};

/// The certificate, key, name and time types of `rustls-pki-types`.
pub use rustls_pki_types as pki;
pub use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};

use crate::Error;
use core::fmt;
use overture_types::SignatureScheme;
use overture_types::pki::AlgorithmIdentifier;

/// The SubjectPublicKeyInfo algorithm of an RSASSA-PSS key (`id-RSASSA-PSS`, RFC 4055 §1.2)
/// without parameters: the `public_key_alg_id` of the `RSA_PSS_PSS_*` verifiers (TLS
/// `rsa_pss_pss_*`). A certificate's key may carry RSASSA-PSS-params that tie it to one hash;
/// x509-verify checks those and then looks verifiers up under this identifier.
pub const RSA_PSS_KEY_ALG_ID: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
]);

/// One signature algorithm, usable both for TLS handshake signatures (by [`SignatureScheme`])
/// and for X.509 certificate signatures (by AlgorithmIdentifier pair), as webpki's
/// `SignatureVerificationAlgorithm` is.
pub trait SignatureVerifier: Send + Sync + fmt::Debug {
    /// The TLS signature scheme this verifier implements, if it is one (TLS 1.3 binds the curve
    /// to the hash, so e.g. ECDSA P-256 with SHA-384 has none).
    fn scheme(&self) -> Option<SignatureScheme>;

    /// The SubjectPublicKeyInfo algorithm this verifier accepts (contents of the
    /// AlgorithmIdentifier SEQUENCE, as in `rustls_pki_types::alg_id`).
    fn public_key_alg_id(&self) -> AlgorithmIdentifier;

    /// The signature AlgorithmIdentifier it implements (contents of the SEQUENCE).
    fn signature_alg_id(&self) -> AlgorithmIdentifier;

    /// Checks `signature` over `message` with `public_key`, the contents of the
    /// subjectPublicKey BIT STRING (EC: a SEC1 point; RSA: an RSAPublicKey; Ed25519: 32 bytes).
    /// Any failure — malformed key, malformed signature, wrong key size, bad signature — is
    /// [`Error::BadSignature`] or [`Error::InvalidPublicKey`].
    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error>;
}

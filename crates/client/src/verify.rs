//! The adapter from `overture-x509-verify` to the handshake's `CertVerifier` (it lives here
//! because x509-verify knows nothing of TLS, and the handshake nothing of X.509).

use overture_crypto_provider::CryptoProvider;
use overture_handshake::{
    CertVerifier, CertificateError, Error as HsError, ServerCertVerified, SignatureVerified,
};
use overture_types::pki::alg_id;
use overture_types::{
    CertificateDer, CertificateRevocationListDer, ServerName, SignatureScheme, UnixTime,
};
use overture_x509_verify::{Certificate, RootStore, SignatureCache, Verifier};
use std::sync::Arc;

/// Verifies server chains with x509-verify and handshake signatures with the provider.
#[derive(Debug)]
pub struct X509Verifier {
    /// `None`: any chain is accepted (`dangerous().with_no_certificate_verification()`).
    verifier: Option<Verifier>,
    provider: Arc<CryptoProvider>,
    /// The provider's schemes, listed once (each handshake offers them).
    schemes: Vec<SignatureScheme>,
}

impl X509Verifier {
    /// A verifier trusting `roots`, with a signature cache of `cache_entries` (0: none).
    pub fn new(roots: Arc<RootStore>, provider: Arc<CryptoProvider>, cache_entries: usize) -> Self {
        let mut verifier = Verifier::new(roots, &provider);
        if cache_entries > 0 {
            verifier = verifier.with_cache(Arc::new(SignatureCache::new(cache_entries)));
        }
        Self {
            verifier: Some(verifier),
            schemes: provider.supported_schemes(),
            provider,
        }
    }

    /// Checks every certificate of a path against `crls` (revoked, or a CRL that is expired,
    /// from the wrong issuer or has unknown critical extensions: refused). A malformed CRL is
    /// an error here, not at connect time.
    pub fn with_crls(
        mut self,
        crls: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<Self, overture_x509_verify::Error> {
        if let Some(v) = self.verifier.take() {
            self.verifier = Some(v.with_crls(crls)?);
        }
        Ok(self)
    }

    /// Holds chains to `profile` (default [`overture_x509_verify::Profile::Default`]).
    pub fn with_profile(mut self, profile: overture_x509_verify::Profile) -> Self {
        self.verifier = self.verifier.take().map(|v| v.with_profile(profile));
        self
    }

    /// Accepts any chain for any name, but still checks the handshake signature against the
    /// presented end-entity key, so the server must hold the certificate's key. For tests
    /// against throwaway servers only (`dangerous().with_no_certificate_verification()`).
    pub(crate) fn accepting_any_chain(provider: Arc<CryptoProvider>) -> Self {
        Self {
            verifier: None,
            schemes: provider.supported_schemes(),
            provider,
        }
    }
}

impl CertVerifier for X509Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, HsError> {
        let Some(verifier) = &self.verifier else {
            return Ok(ServerCertVerified::assertion());
        };
        verifier
            .verify_server(end_entity, intermediates, server_name, now)
            .map(|_| ServerCertVerified::assertion())
            .map_err(|e| HsError::InvalidCertificate(map_x509_error(&e)))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, HsError> {
        verify_signature(&self.provider, message, end_entity, scheme, signature)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, HsError> {
        verify_tls12_signature(&self.provider, message, end_entity, scheme, signature)
    }

    fn supported_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// The end entity's key algorithm and key, for a handshake signature: the certificate is
/// parsed (bounded, strict DER) and its keyUsage, when present, must allow digitalSignature
/// (RFC 8446 §4.4.2.2; RFC 5280 §4.2.1.3) — checked here, where every handshake signature
/// passes, so it holds also when the chain is not verified.
fn end_entity_key<'a>(end_entity: &'a CertificateDer<'_>) -> Result<(&'a [u8], &'a [u8]), HsError> {
    let cert = Certificate::from_der(end_entity.as_ref())
        .map_err(|e| HsError::InvalidCertificate(map_x509_error(&e)))?;
    if !cert.key_usage_allows("digitalSignature") {
        return Err(HsError::InvalidCertificate(CertificateError::Other(
            "the certificate's keyUsage does not allow digitalSignature".into(),
        )));
    }
    Ok((cert.public_key_alg_id(), cert.public_key()))
}

/// Checks a handshake signature with the end-entity certificate's key.
fn verify_signature(
    provider: &CryptoProvider,
    message: &[u8],
    end_entity: &CertificateDer<'_>,
    scheme: SignatureScheme,
    signature: &[u8],
) -> Result<SignatureVerified, HsError> {
    let (key_alg_id, public_key) = end_entity_key(end_entity)?;
    let verifier = provider.verifier_for_scheme(scheme).ok_or_else(|| {
        HsError::InvalidCertificate(CertificateError::Other(format!(
            "no verifier for signature scheme {scheme}"
        )))
    })?;
    // An RSASSA-PSS key (`rsa_pss_pss_*`) is looked up under its bare algorithm once its
    // parameters allow the scheme's signature algorithm.
    let key_alg_id = Certificate::key_alg_for(key_alg_id, verifier.signature_alg_id().as_ref())
        .map_err(|e| HsError::InvalidCertificate(map_x509_error(&e)))?;
    if verifier.public_key_alg_id().as_ref() != key_alg_id {
        return Err(HsError::InvalidCertificate(CertificateError::Other(
            format!("the certificate's key does not fit signature scheme {scheme}"),
        )));
    }
    verifier
        .verify(public_key, message, signature)
        .map(|()| SignatureVerified::assertion())
        .map_err(|_| HsError::InvalidCertificate(CertificateError::BadSignature))
}

/// A TLS 1.2 ServerKeyExchange signature. TLS 1.2's ECDSA schemes name only the hash (RFC
/// 5246 §7.4.1.4.1; the `secp256r1` in `ecdsa_secp256r1_sha256` is TLS 1.3's binding), so a
/// P-384 key signing with SHA-256 is legal there — servers do it (GnuTLS with a P-384
/// certificate). The verifier is chosen by the certificate's curve and the scheme's hash.
fn verify_tls12_signature(
    provider: &CryptoProvider,
    message: &[u8],
    end_entity: &CertificateDer<'_>,
    scheme: SignatureScheme,
    signature: &[u8],
) -> Result<SignatureVerified, HsError> {
    let ecdsa_with = match scheme {
        SignatureScheme::ECDSA_NISTP256_SHA256 => alg_id::ECDSA_SHA256,
        SignatureScheme::ECDSA_NISTP384_SHA384 => alg_id::ECDSA_SHA384,
        SignatureScheme::ECDSA_NISTP521_SHA512 => alg_id::ECDSA_SHA512,
        _ => return verify_signature(provider, message, end_entity, scheme, signature),
    };
    let (key_alg_id, public_key) = end_entity_key(end_entity)?;
    let verifier = provider
        .verifiers_for_alg_ids(key_alg_id, ecdsa_with.as_ref())
        .next()
        .ok_or_else(|| {
            HsError::InvalidCertificate(CertificateError::Other(format!(
                "no verifier for the certificate's curve with signature scheme {scheme}"
            )))
        })?;
    verifier
        .verify(public_key, message, signature)
        .map(|()| SignatureVerified::assertion())
        .map_err(|_| HsError::InvalidCertificate(CertificateError::BadSignature))
}

fn map_x509_error(e: &overture_x509_verify::Error) -> CertificateError {
    use overture_x509_verify::Error as X;
    let kind = match e {
        // The times are the details: typed fields, no text wrapper.
        X::Expired { not_after, now } => {
            return CertificateError::Expired {
                not_after: *not_after,
                now: *now,
            };
        }
        X::NotValidYet { not_before, now } => {
            return CertificateError::NotValidYet {
                not_before: *not_before,
                now: *now,
            };
        }
        X::UnknownIssuer { .. } => CertificateError::UnknownIssuer,
        X::Revoked { .. } => CertificateError::Revoked,
        X::NotValidForName { .. } => CertificateError::NotValidForName,
        X::BadEncoding { .. } => CertificateError::BadEncoding,
        X::BadSignature => CertificateError::BadSignature,
        other => return CertificateError::Other(other.to_string()),
    };
    // Keep the verifier's words (times, names, the issuer): they say what to fix.
    CertificateError::Detailed(Box::new(kind), e.to_string())
}

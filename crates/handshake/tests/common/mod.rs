//! Helpers shared by the integration tests: the RFC 8448 corpus, a minimal DER walk to the
//! SubjectPublicKeyInfo and a `CertVerifier` that accepts one known certificate and checks
//! signatures for real.
#![allow(dead_code)]

pub(crate) mod framing;

use overture_crypto_provider::CryptoProvider;
use overture_handshake::{
    CertVerifier, CertificateError, Error, ServerCertVerified, SignatureVerified,
};
use overture_types::{CertificateDer, ServerName, SignatureScheme, UnixTime};
use std::sync::Arc;

/// The parsed `rfc8448.json`; fails with a clear message when the corpus is missing.
pub(crate) fn rfc8448() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/rfc8448/rfc8448.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("RFC 8448 test data missing at {path}: {e} (see SOURCE.md)"));
    serde_json::from_str(&text).expect("rfc8448.json is not JSON")
}

/// Reads one DER TLV at `pos`: (tag, contents range, end).
fn tlv(der: &[u8], pos: usize) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let tag = *der.get(pos)?;
    let first = *der.get(pos + 1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*der.get(pos + 2 + i)?);
        }
        (len, 2 + n)
    };
    let start = pos + hdr;
    let end = start.checked_add(len)?;
    (end <= der.len()).then_some((tag, start..end, end))
}

/// (AlgorithmIdentifier contents, subjectPublicKey bits) of a certificate.
pub(crate) fn spki(cert: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (_, cert_body, _) = tlv(cert, 0)?;
    let (_, tbs, _) = tlv(cert, cert_body.start)?;
    let mut pos = tbs.start;
    // [0] version (optional)
    if cert.get(pos) == Some(&0xa0) {
        pos = tlv(cert, pos)?.2;
    }
    // serial, signature, issuer, validity, subject
    for _ in 0..5 {
        pos = tlv(cert, pos)?.2;
    }
    let (_, spki, _) = tlv(cert, pos)?;
    let (_, alg, after_alg) = tlv(cert, spki.start)?;
    let (_, bits, _) = tlv(cert, after_alg)?;
    Some((
        cert.get(alg)?.to_vec(),
        cert.get(bits.start + 1..bits.end)?.to_vec(),
    ))
}

/// Checks a handshake signature with the provider's verifier for `scheme` and the key of `cert`.
pub(crate) fn verify_with_cert(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &[u8],
    scheme: SignatureScheme,
    signature: &[u8],
) -> Result<(), Error> {
    let (alg, key) = spki(cert).ok_or(Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let v = provider.verifier_for_scheme(scheme).ok_or_else(|| {
        Error::InvalidCertificate(CertificateError::Other(format!("no verifier for {scheme}")))
    })?;
    if v.public_key_alg_id().as_ref() != alg.as_slice() {
        return Err(Error::InvalidCertificate(CertificateError::Other(format!(
            "key does not fit {scheme}"
        ))));
    }
    match v.verify(&key, message, signature) {
        Ok(()) => Ok(()),
        // ring refuses RSA keys below 2048 bits; RFC 8448's are 1024-bit. Check those with
        // RustCrypto's `rsa` (which accepts 1024 bits) instead.
        Err(_) if scheme == SignatureScheme::RSA_PSS_SHA256 => {
            rsa_pss_sha256(&key, message, signature)
        }
        Err(_) => Err(Error::InvalidCertificate(CertificateError::BadSignature)),
    }
}

fn rsa_pss_sha256(pkcs1_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::signature::Verifier;
    let bad = || Error::InvalidCertificate(CertificateError::BadSignature);
    let key = rsa::PublicKey::from_pkcs1_der(pkcs1_key).map_err(|_| bad())?;
    let vk = rsa::pss::VerifyingKey::<sha2::Sha256>::new(key);
    let sig = rsa::pss::Signature::try_from(signature).map_err(|_| bad())?;
    vk.verify(message, &sig).map_err(|_| bad())
}

/// Accepts exactly one end-entity certificate (by bytes) for one name; verifies handshake
/// signatures for real with the provider.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    pub(crate) cert: Vec<u8>,
    pub(crate) name: String,
    pub(crate) provider: Arc<CryptoProvider>,
    pub(crate) schemes: Vec<SignatureScheme>,
}

impl CertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if end_entity.as_ref() != self.cert.as_slice() {
            return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
        }
        match server_name {
            ServerName::DnsName(d) if d.as_ref() == self.name => {}
            _ => return Err(Error::InvalidCertificate(CertificateError::NotValidForName)),
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        end_entity: &CertificateDer<'_>,
        scheme: SignatureScheme,
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        verify_with_cert(&self.provider, message, end_entity, scheme, signature)?;
        Ok(SignatureVerified::assertion())
    }

    fn supported_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// A self-signed ECDSA P-256 certificate for `name` and its signing key (ring).
pub(crate) fn ecdsa_identity(
    name: &str,
) -> (
    CertificateDer<'static>,
    Arc<dyn overture_crypto_provider::SigningKey>,
) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .der()
        .clone();
    let der = overture_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let signing = overture_crypto_provider::ring::default_provider()
        .key_provider
        .load_private_key(der)
        .unwrap();
    (cert, signing)
}

/// One key log line: label, client random, secret.
pub(crate) type LogLine = (String, Vec<u8>, Vec<u8>);

/// A key log that keeps every line.
#[derive(Default)]
pub(crate) struct Log(pub(crate) std::sync::Mutex<Vec<LogLine>>);

impl overture_handshake::KeyLog for Log {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.to_string(), client_random.to_vec(), secret.to_vec()));
    }
}

/// Splits concatenated handshake messages.
pub(crate) fn split_messages(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while bytes.len() >= 4 {
        let len =
            (usize::from(bytes[1]) << 16) | (usize::from(bytes[2]) << 8) | usize::from(bytes[3]);
        let (m, rest) = bytes.split_at(4 + len);
        out.push(m.to_vec());
        bytes = rest;
    }
    assert!(bytes.is_empty(), "trailing partial handshake message");
    out
}

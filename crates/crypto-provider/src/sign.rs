use crate::Error;
use core::fmt;
use overture_types::{PrivateKeyDer, SignatureScheme};
use std::sync::Arc;

/// Loads private keys (for client certificates) into [`SigningKey`]s.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// Parses `key` (PKCS#8, or SEC1 / PKCS#1 where supported). Fails with
    /// [`Error::Unsupported`] for a key type the provider cannot sign with.
    fn load_private_key(&self, key: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error>;
}

/// A private key that can sign with one or more signature schemes.
pub trait SigningKey: Send + Sync + fmt::Debug {
    /// A signer for the first scheme of `offered` (the peer's preference order) that this key
    /// supports, or `None`.
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>>;
}

/// A signer bound to one key and one scheme.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The scheme it signs with.
    fn scheme(&self) -> SignatureScheme;

    /// The signature over `message` (the scheme hashes it).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// A source of cryptographically secure random bytes.
pub trait SecureRandom: Send + Sync + fmt::Debug {
    /// Fills `buf`.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;
}

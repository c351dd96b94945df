use crate::{Error, HashAlgorithm, Output};
use core::fmt;

/// HMAC over one hash function.
pub trait Hmac: Send + Sync + fmt::Debug {
    /// The hash function underneath.
    fn hash_algorithm(&self) -> HashAlgorithm;

    /// A key for signing and verifying.
    fn with_key(&self, key: &[u8]) -> Box<dyn HmacKey>;

    /// The tag over the concatenation of `data` with `key`, in one call.
    ///
    /// The same as `self.with_key(key).sign(data)`, which is the default; the built-in
    /// providers key the HMAC on the stack instead (no heap allocation).
    fn sign_once(&self, key: &[u8], data: &[&[u8]]) -> Output {
        self.with_key(key).sign(data)
    }

    /// The tag length in bytes (the hash's output length).
    fn tag_len(&self) -> usize {
        self.hash_algorithm().output_len()
    }
}

/// An HMAC key. Key material is zeroized when the key is dropped.
pub trait HmacKey: Send + Sync {
    /// The tag over the concatenation of `data`.
    fn sign(&self, data: &[&[u8]]) -> Output;

    /// Checks `tag` over the concatenation of `data` in constant time.
    fn verify(&self, data: &[&[u8]], tag: &[u8]) -> Result<(), Error> {
        if self.sign(data).ct_eq(tag) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

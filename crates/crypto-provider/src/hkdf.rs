use crate::{Error, HashAlgorithm, Secret};
use core::fmt;

/// HKDF (RFC 5869) over one hash function.
pub trait Hkdf: Send + Sync + fmt::Debug {
    /// The hash function underneath.
    fn hash_algorithm(&self) -> HashAlgorithm;

    /// HKDF-Extract: the PRK for `salt` and `ikm`. An empty `salt` is treated as HashLen zero
    /// bytes, as RFC 5869 §2.2 says (HMAC pads the key with zeros, so both are the same).
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Secret;

    /// An expander keyed with `prk` (an Extract output, or a TLS 1.3 traffic secret).
    fn expander(&self, prk: &[u8]) -> Result<Box<dyn HkdfExpander>, Error>;

    /// Calls `f` with an expander keyed with `prk`, for as many expansions as `f` makes.
    ///
    /// The same as `f(&*self.expander(prk)?)`, which is the default; the built-in providers
    /// key the expander on the stack instead, so a key-schedule step costs no heap allocation.
    /// The expander is dropped when `f` returns, as a boxed one would be.
    fn with_expander(
        &self,
        prk: &[u8],
        f: &mut dyn FnMut(&dyn HkdfExpander) -> Result<(), Error>,
    ) -> Result<(), Error> {
        f(&*self.expander(prk)?)
    }
}

/// TLS 1.3 `HKDF-Expand-Label(prk, label, context, len)` into a new [`Secret`] (at most 64
/// bytes), through [`Hkdf::with_expander`]: no heap allocation with the built-in providers.
pub fn expand_label_secret_with(
    hkdf: &dyn Hkdf,
    prk: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Secret, Error> {
    let mut out = Secret::zeroed(len).ok_or(Error::OutputLength)?;
    hkdf.with_expander(prk, &mut |e| {
        expand_label(e, label, context, out.as_mut_bytes())
    })?;
    Ok(out)
}

/// HKDF-Expand with a fixed PRK.
pub trait HkdfExpander: Send + Sync {
    /// Fills `out` with HKDF-Expand(PRK, concatenation of `info`, `out.len()`).
    /// Fails with [`Error::OutputLength`] beyond 255 × HashLen.
    fn expand(&self, info: &[&[u8]], out: &mut [u8]) -> Result<(), Error>;

    /// HashLen of the underlying hash.
    fn hash_len(&self) -> usize;
}

/// TLS 1.3 `HKDF-Expand-Label(Secret, Label, Context, Length)` (RFC 8446 §7.1) into `out`.
///
/// The label is prefixed with `"tls13 "`; `label` (without the prefix) must be at most 249
/// bytes, `context` at most 255, and `out` at most 2^16 - 1 bytes.
pub fn expand_label(
    expander: &dyn HkdfExpander,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    const PREFIX: &[u8] = b"tls13 ";
    let length = u16::try_from(out.len()).map_err(|_| Error::OutputLength)?;
    let label_len = u8::try_from(PREFIX.len() + label.len()).map_err(|_| Error::OutputLength)?;
    let context_len = u8::try_from(context.len()).map_err(|_| Error::OutputLength)?;
    let length = length.to_be_bytes();
    if context.is_empty() {
        // Most labels ("key", "iv", "finished", "traffic upd") have no context: one HMAC update less
        // per block.
        expander.expand(&[&length, &[label_len], PREFIX, label, &[0]], out)
    } else {
        expander.expand(
            &[
                &length,
                &[label_len],
                PREFIX,
                label,
                &[context_len],
                context,
            ],
            out,
        )
    }
}

/// [`expand_label`] into a new [`Secret`] of `len` bytes (at most 64).
pub fn expand_label_secret(
    expander: &dyn HkdfExpander,
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Secret, Error> {
    let mut out = Secret::zeroed(len).ok_or(Error::OutputLength)?;
    expand_label(expander, label, context, out.as_mut_bytes())?;
    Ok(out)
}

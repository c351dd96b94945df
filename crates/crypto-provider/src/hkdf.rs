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
///
/// The `HkdfLabel` structure goes to the expander in one piece when it fits in 106 bytes
/// (every label of TLS 1.3 and ECH with a context of at most a
/// SHA-512 hash), so that the HMAC of each output block takes two updates instead of six
/// (each a call and a small copy inside the provider); longer ones in pieces.
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
    let mut buf = [0u8; INLINE_HKDF_LABEL];
    let mut at = 0usize;
    let mut put = |bytes: &[u8]| {
        let end = at + bytes.len();
        let room = buf.get_mut(at..end)?;
        room.copy_from_slice(bytes);
        at = end;
        Some(())
    };
    let inline = put(&length)
        .and_then(|()| put(&[label_len]))
        .and_then(|()| put(PREFIX))
        .and_then(|()| put(label))
        .and_then(|()| put(&[context_len]))
        .and_then(|()| put(context));
    if inline.is_some()
        && let Some(info) = buf.get(..at)
    {
        return expander.expand(&[info], out);
    }
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

/// The longest `HkdfLabel` [`expand_label`] builds on the stack: length, a 32-byte label with
/// its `"tls13 "` prefix, and a 64-byte context, each with its length octet.
const INLINE_HKDF_LABEL: usize = 2 + 1 + 6 + 32 + 1 + 64;

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

#[cfg(all(test, feature = "ring"))]
mod tests {
    use super::*;

    /// `HkdfLabel` by its definition (RFC 8446 §7.1), in one piece.
    fn label_bytes(label: &[u8], context: &[u8], len: u16) -> Vec<u8> {
        let mut v = len.to_be_bytes().to_vec();
        v.extend(u8::try_from(6 + label.len()));
        v.extend_from_slice(b"tls13 ");
        v.extend_from_slice(label);
        v.extend(u8::try_from(context.len()));
        v.extend_from_slice(context);
        v
    }

    /// Both ways `expand_label` hands the label over (on the stack up to 106 bytes, in pieces
    /// beyond) give HKDF-Expand over the whole `HkdfLabel`, at and around the switch.
    #[test]
    fn stack_and_piecewise_labels_agree_with_the_definition() {
        let hkdf: &dyn Hkdf = &crate::ring::HKDF_SHA384;
        let prk = hkdf.extract(b"salt", b"ikm");
        let e = hkdf.expander(prk.as_bytes()).unwrap();
        for (label_len, context_len) in [
            (0, 0),
            (3, 0),
            (12, 48),
            (32, 64),
            (33, 64),
            (32, 65),
            (249, 255),
        ] {
            let label = vec![b'l'; label_len];
            let context = vec![0x5a; context_len];
            for out_len in [12usize, 48, 100] {
                let mut ours = vec![0; out_len];
                expand_label(&*e, &label, &context, &mut ours).unwrap();
                let info = label_bytes(&label, &context, u16::try_from(out_len).unwrap());
                let mut want = vec![0; out_len];
                e.expand(&[&info], &mut want).unwrap();
                assert_eq!(
                    ours, want,
                    "label {label_len}, context {context_len}, {out_len}"
                );
            }
        }
        let mut out = [0u8; 32];
        assert!(expand_label(&*e, &[0; 250], &[], &mut out).is_err());
        assert!(expand_label(&*e, &[], &[0; 256], &mut out).is_err());
    }
}

use core::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// The largest secret or digest this crate hands out: a SHA-512 output.
pub const MAX_OUTPUT_LEN: usize = 64;

/// Secret bytes (a PRK, a traffic secret, a key-exchange result): at most 64 bytes, zeroized
/// on drop, compared in constant time, and never printed.
#[derive(Clone)]
pub struct Secret {
    buf: [u8; MAX_OUTPUT_LEN],
    len: usize,
}

impl Secret {
    /// Copies `bytes` into a new secret; `None` if longer than [`MAX_OUTPUT_LEN`].
    #[inline]
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut buf = [0u8; MAX_OUTPUT_LEN];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self {
            buf,
            len: bytes.len(),
        })
    }

    /// The first [`MAX_OUTPUT_LEN`] bytes of `bytes` (for providers whose outputs always fit).
    #[inline]
    pub fn truncated(bytes: &[u8]) -> Self {
        let len = bytes.len().min(MAX_OUTPUT_LEN);
        let mut buf = [0u8; MAX_OUTPUT_LEN];
        if let (Some(d), Some(s)) = (buf.get_mut(..len), bytes.get(..len)) {
            d.copy_from_slice(s);
        }
        Self { buf, len }
    }

    /// A zeroed secret of `len` bytes for an algorithm to fill; `None` if too long.
    #[inline]
    pub fn zeroed(len: usize) -> Option<Self> {
        if len > MAX_OUTPUT_LEN {
            return None;
        }
        Some(Self {
            buf: [0u8; MAX_OUTPUT_LEN],
            len,
        })
    }

    /// The secret bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The secret bytes, for an algorithm to fill.
    #[inline]
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }

    /// The length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the secret is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Secret {
    /// Zeroizes the `len` bytes in use: the bytes beyond them are never written (every
    /// constructor copies at most `len` bytes into a zeroed buffer and [`Secret::as_mut_bytes`]
    /// lends only the first `len`), so they are zero already. A SHA-256 secret costs 32
    /// volatile stores instead of 64.
    fn drop(&mut self) {
        match self.buf.get_mut(..self.len) {
            Some(used) => used.zeroize(),
            None => self.buf.zeroize(),
        }
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes().ct_eq(other.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.len)
    }
}

/// A hash or MAC output (at most 64 bytes). Not secret, but compared in constant time, since
/// a Finished `verify_data` or a MAC tag is one.
#[derive(Clone, Copy)]
pub struct Output {
    buf: [u8; MAX_OUTPUT_LEN],
    len: usize,
}

impl Output {
    /// Copies `bytes`; `None` if longer than [`MAX_OUTPUT_LEN`].
    #[inline]
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut buf = [0u8; MAX_OUTPUT_LEN];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self {
            buf,
            len: bytes.len(),
        })
    }

    /// The first [`MAX_OUTPUT_LEN`] bytes of `bytes` (for providers whose outputs always fit).
    #[inline]
    pub fn truncated(bytes: &[u8]) -> Self {
        let len = bytes.len().min(MAX_OUTPUT_LEN);
        let mut buf = [0u8; MAX_OUTPUT_LEN];
        if let (Some(d), Some(s)) = (buf.get_mut(..len), bytes.get(..len)) {
            d.copy_from_slice(s);
        }
        Self { buf, len }
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Constant-time comparison with `other` (lengths are public).
    #[inline]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        self.as_bytes().ct_eq(other).into()
    }
}

impl AsRef<[u8]> for Output {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Output {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other.as_bytes())
    }
}

impl Eq for Output {}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Drop` relies on: no constructor leaves a byte beyond `len` non-zero.
    #[test]
    fn bytes_beyond_the_length_stay_zero() {
        let data = [0xa5u8; 80];
        let mut filled = Secret::zeroed(32).unwrap();
        filled.as_mut_bytes().fill(0xff);
        let secrets = [
            Secret::new(&data[..32]).unwrap(),
            Secret::new(&data[..64]).unwrap(),
            Secret::truncated(&data[..17]),
            Secret::truncated(&data),
            filled.clone(),
            filled,
        ];
        for s in &secrets {
            assert!(s.as_bytes().iter().all(|b| *b != 0));
            assert!(s.buf.get(s.len..).unwrap().iter().all(|b| *b == 0));
        }
        assert_eq!(Secret::truncated(&data).len(), MAX_OUTPUT_LEN);
        assert!(Secret::new(&data[..65]).is_none());
        assert!(Secret::zeroed(65).is_none());
        assert_eq!(Output::truncated(&data[..20]).as_bytes(), &data[..20]);
        assert_eq!(Output::truncated(&data).as_bytes(), &data[..64]);
    }
}

//! The wire codec: a bounded [`Reader`], the [`Codec`] trait, and length-prefixed vectors
//! whose length bounds live in their type.
//!
//! A `Reader` can only hand out bytes that are there: every read returns a `Result`, so a
//! truncated or over-long field becomes an [`InvalidMessage`], never a panic.

use core::fmt;
use std::borrow::Cow;

/// Why a peer's bytes did not decode. Maps to the `decode_error` alert (or `illegal_parameter`
/// for [`InvalidMessage::IllegalValue`]) in the crates that speak TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended before the named field was complete.
    MissingData(&'static str),
    /// Bytes were left after the named structure.
    TrailingData(&'static str),
    /// A length-prefixed field's length is outside what its type allows.
    LengthOutOfRange {
        /// The field.
        what: &'static str,
        /// The length found, in bytes.
        len: usize,
        /// The smallest length allowed.
        min: usize,
        /// The largest length allowed.
        max: usize,
    },
    /// A field held a value the protocol forbids there.
    IllegalValue(&'static str),
}

impl fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingData(what) => write!(f, "message truncated: {what} is incomplete"),
            Self::TrailingData(what) => write!(f, "unexpected bytes after {what}"),
            Self::LengthOutOfRange {
                what,
                len,
                min,
                max,
            } => write!(f, "{what} has length {len}, allowed {min}..={max}"),
            Self::IllegalValue(what) => write!(f, "illegal value in {what}"),
        }
    }
}

impl std::error::Error for InvalidMessage {}

/// Why a value could not be encoded: a body longer than its length prefix can express.
///
/// Never a clamp, never a panic: the caller decides (a handshake refuses to send the
/// message; a ticket that could never be sent back is not stored in the first place).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// The body's length in bytes.
    pub len: usize,
    /// The largest length the prefix can express.
    pub max: usize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a field of {} bytes does not fit its length prefix (at most {})",
            self.len, self.max
        )
    }
}

impl std::error::Error for EncodeError {}

/// A cursor over borrowed bytes that can only take what is there.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, positioned at its start.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Takes exactly `n` bytes, or `None` (and takes nothing) if fewer are left.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Takes exactly `n` bytes, or fails naming `what`.
    pub fn take_for(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], InvalidMessage> {
        self.take(n).ok_or(InvalidMessage::MissingData(what))
    }

    /// Takes a fixed-size array, or fails naming `what`.
    pub fn take_array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], InvalidMessage> {
        let bytes = self.take_for(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    /// A sub-reader over the next `len` bytes, which this reader skips.
    pub fn sub(&mut self, len: usize, what: &'static str) -> Result<Reader<'a>, InvalidMessage> {
        self.take_for(len, what).map(Reader::new)
    }

    /// How many bytes are left.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether any bytes are left.
    pub fn any_left(&self) -> bool {
        self.left() > 0
    }

    /// How many bytes have been taken.
    pub fn used(&self) -> usize {
        self.pos
    }

    /// The bytes not yet taken, without taking them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Fails with [`InvalidMessage::TrailingData`] if any bytes are left.
    pub fn expect_empty(&self, what: &'static str) -> Result<(), InvalidMessage> {
        if self.any_left() {
            Err(InvalidMessage::TrailingData(what))
        } else {
            Ok(())
        }
    }

    /// Reads a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, InvalidMessage> {
        Ok(u8::from_be_bytes(self.take_array(what)?))
    }

    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, InvalidMessage> {
        Ok(u16::from_be_bytes(self.take_array(what)?))
    }

    /// Reads a big-endian 24-bit integer.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        let [a, b, c] = self.take_array(what)?;
        Ok(u32::from_be_bytes([0, a, b, c]))
    }

    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, InvalidMessage> {
        Ok(u32::from_be_bytes(self.take_array(what)?))
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, InvalidMessage> {
        Ok(u64::from_be_bytes(self.take_array(what)?))
    }

    /// Reads a length prefix of `width` bytes, checks it against `min..=max`, and returns a
    /// sub-reader over the prefixed bytes.
    pub fn prefixed(
        &mut self,
        width: LengthWidth,
        min: usize,
        max: usize,
        what: &'static str,
    ) -> Result<Reader<'a>, InvalidMessage> {
        let len = match width {
            LengthWidth::U8 => usize::from(self.u8(what)?),
            LengthWidth::U16 => usize::from(self.u16(what)?),
            LengthWidth::U24 => {
                usize::try_from(self.u24(what)?).map_err(|_| InvalidMessage::IllegalValue(what))?
            }
        };
        if len < min || len > max {
            return Err(InvalidMessage::LengthOutOfRange {
                what,
                len,
                min,
                max,
            });
        }
        self.sub(len, what)
    }
}

/// The width of a length prefix on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthWidth {
    /// One byte (`<0..2^8-1>`).
    U8,
    /// Two bytes (`<0..2^16-1>`).
    U16,
    /// Three bytes (`<0..2^24-1>`).
    U24,
}

impl LengthWidth {
    /// The prefix's size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U24 => 3,
        }
    }

    /// The largest length the prefix can express.
    pub const fn max_len(self) -> usize {
        match self {
            Self::U8 => 0xff,
            Self::U16 => 0xffff,
            Self::U24 => 0xff_ffff,
        }
    }
}

/// Writes `body` behind a length prefix of `width` bytes, filling the prefix in afterwards.
///
/// A body longer than the prefix can express is an [`EncodeError`], and `out` is left as it
/// was: nothing half-written goes out.
pub fn encode_prefixed(
    out: &mut Vec<u8>,
    width: LengthWidth,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let at = out.len();
    // The placeholder as fixed-size writes: `resize` would call `memset` for 1 to 3 bytes.
    match width {
        LengthWidth::U8 => out.push(0),
        LengthWidth::U16 => out.extend_from_slice(&[0; 2]),
        LengthWidth::U24 => out.extend_from_slice(&[0; 3]),
    }
    let start = out.len();
    if let Err(e) = body(out) {
        out.truncate(at);
        return Err(e);
    }
    let len = out.len().saturating_sub(start);
    let max = width.max_len();
    let fits = u32::try_from(len).ok().filter(|_| len <= max);
    let Some(len32) = fits else {
        out.truncate(at);
        return Err(EncodeError { len, max });
    };
    let be = len32.to_be_bytes();
    if let (Some(dst), Some(src)) = (out.get_mut(at..start), be.get(4 - width.bytes()..)) {
        // Byte by byte: at most 3 bytes, not worth a `memcpy` call.
        for (d, s) in dst.iter_mut().zip(src) {
            *d = *s;
        }
    }
    Ok(())
}

/// Writes `bytes` behind a length prefix of `width` bytes (see [`encode_prefixed`]).
pub fn encode_bytes(
    out: &mut Vec<u8>,
    width: LengthWidth,
    bytes: &[u8],
) -> Result<(), EncodeError> {
    encode_prefixed(out, width, |o| {
        o.extend_from_slice(bytes);
        Ok(())
    })
}

/// Writes `items` one after the other behind a length prefix of `width` bytes (see
/// [`encode_prefixed`]): the encoding of every list type (`VecU*`, `LazyU*`, and the
/// borrowed lists built on them).
pub fn encode_items<'i, 'a, T: Codec<'a> + 'i>(
    out: &mut Vec<u8>,
    width: LengthWidth,
    items: impl IntoIterator<Item = &'i T>,
) -> Result<(), EncodeError> {
    encode_prefixed(out, width, |out| {
        for item in items {
            item.encode(out)?;
        }
        Ok(())
    })
}

/// Reads a list of `T` behind a length prefix of `width` bytes whose value must lie in
/// `min..=max` (`what` names it in errors): each item read in turn, every byte taken.
pub fn read_items<'a, T: Codec<'a>>(
    r: &mut Reader<'a>,
    width: LengthWidth,
    min: usize,
    max: usize,
    what: &'static str,
) -> Result<Vec<T>, InvalidMessage> {
    let mut sub = r.prefixed(width, min, max, what)?;
    let mut items = Vec::new();
    while sub.any_left() {
        items.push(T::read(&mut sub)?);
    }
    Ok(items)
}

/// A value with one encoding on the wire.
pub trait Codec<'a>: Sized {
    /// Appends the encoding of `self` to `out`; fails (leaving what was appended so far) when
    /// a length does not fit its prefix.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Reads one value, taking exactly its bytes.
    fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage>;

    /// The encoding as a new vector.
    fn get_encoding(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Reads one value that must span all of `bytes`.
    fn read_bytes(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.expect_empty(core::any::type_name::<Self>())?;
        Ok(v)
    }
}

impl Codec<'_> for u8 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(*self);
        Ok(())
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u8("u8")
    }
}

impl Codec<'_> for u16 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_be_bytes());
        Ok(())
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u16("u16")
    }
}

impl Codec<'_> for u32 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_be_bytes());
        Ok(())
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u32("u32")
    }
}

impl Codec<'_> for u64 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.to_be_bytes());
        Ok(())
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u64("u64")
    }
}

/// A 24-bit unsigned integer (handshake message lengths, certificate lengths).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct U24(u32);

impl U24 {
    /// The largest value: 2^24 - 1.
    pub const MAX: u32 = 0xff_ffff;

    /// `v` if it fits in 24 bits.
    pub const fn new(v: u32) -> Option<Self> {
        if v <= Self::MAX { Some(Self(v)) } else { None }
    }

    /// The value.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Codec<'_> for U24 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let [_, a, b, c] = self.0.to_be_bytes();
        out.extend_from_slice(&[a, b, c]);
        Ok(())
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        r.u24("u24").map(Self)
    }
}

macro_rules! payload {
    ($(#[$m:meta])* $name:ident, $width:expr, $max:expr) => {
        $(#[$m])*
        ///
        /// `MIN` and `MAX` bound the length in bytes; reading outside them is an error. A read
        /// borrows the bytes from the message ([`Cow::Borrowed`]: no copy); an encoder builds the
        /// value over a slice it has or over bytes it made ([`Cow::Owned`]).
        #[derive(Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name<'a, const MIN: usize = 0, const MAX: usize = { $max }>(pub Cow<'a, [u8]>);

        impl<'a, const MIN: usize, const MAX: usize> $name<'a, MIN, MAX> {
            /// Wraps `bytes` (borrowed or owned), which must have a length in `MIN..=MAX`.
            pub fn new(bytes: impl Into<Cow<'a, [u8]>>) -> Result<Self, InvalidMessage> {
                let bytes = bytes.into();
                if bytes.len() < MIN || bytes.len() > MAX {
                    return Err(InvalidMessage::LengthOutOfRange {
                        what: stringify!($name),
                        len: bytes.len(),
                        min: MIN,
                        max: MAX,
                    });
                }
                Ok(Self(bytes))
            }

            /// The bytes.
            pub fn as_slice(&self) -> &[u8] {
                &self.0
            }

            /// The bytes as an owned vector (a copy when they were borrowed).
            pub fn into_vec(self) -> Vec<u8> {
                self.0.into_owned()
            }

            /// The same value owning its bytes (a copy when they were borrowed).
            pub fn into_owned(self) -> $name<'static, MIN, MAX> {
                $name(Cow::Owned(self.0.into_owned()))
            }
        }

        impl<const MIN: usize, const MAX: usize> fmt::Debug for $name<'_, MIN, MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for b in self.0.iter() {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }

        impl<'a, const MIN: usize, const MAX: usize> Codec<'a> for $name<'a, MIN, MAX> {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_bytes(out, $width, &self.0)
            }
            fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
                let mut sub = r.prefixed($width, MIN, MAX, stringify!($name))?;
                Ok(Self(Cow::Borrowed(sub.rest())))
            }
        }
    };
}

payload!(
    /// Opaque bytes behind a one-byte length (`opaque x<MIN..MAX>` with `MAX < 2^8`).
    PayloadU8, LengthWidth::U8, 0xff
);
payload!(
    /// Opaque bytes behind a two-byte length (`opaque x<MIN..MAX>` with `MAX < 2^16`).
    PayloadU16, LengthWidth::U16, 0xffff
);
payload!(
    /// Opaque bytes behind a three-byte length (`opaque x<MIN..MAX>` with `MAX < 2^24`).
    PayloadU24, LengthWidth::U24, 0xff_ffff
);

macro_rules! list {
    ($(#[$m:meta])* $name:ident, $width:expr, $max:expr) => {
        $(#[$m])*
        ///
        /// `MIN` and `MAX` bound the encoded length in bytes, as in the RFCs' presentation
        /// language; reading outside them is an error.
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name<T, const MIN: usize = 0, const MAX: usize = { $max }>(pub Vec<T>);

        impl<T, const MIN: usize, const MAX: usize> Default for $name<T, MIN, MAX> {
            fn default() -> Self {
                Self(Vec::new())
            }
        }

        impl<T: fmt::Debug, const MIN: usize, const MAX: usize> fmt::Debug for $name<T, MIN, MAX> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(&self.0).finish()
            }
        }

        impl<'a, T: Codec<'a>, const MIN: usize, const MAX: usize> Codec<'a> for $name<T, MIN, MAX> {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                encode_items(out, $width, &self.0)
            }
            fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
                read_items(r, $width, MIN, MAX, stringify!($name)).map(Self)
            }
        }
    };
}

list!(
    /// A list of `T` behind a one-byte length.
    VecU8, LengthWidth::U8, 0xff
);
list!(
    /// A list of `T` behind a two-byte length.
    VecU16, LengthWidth::U16, 0xffff
);
list!(
    /// A list of `T` behind a three-byte length.
    VecU24, LengthWidth::U24, 0xff_ffff
);

/// An iterator over the items of a [`LazyU8`], [`LazyU16`] or [`LazyU24`]: a read list's items
/// are decoded again from the message (borrowing from it, no allocation); an encoder's are
/// cloned.
#[derive(Clone)]
pub struct LazyIter<'l, 'a, T> {
    inner: LazyIterInner<'l, 'a, T>,
}

#[derive(Clone)]
enum LazyIterInner<'l, 'a, T> {
    Owned(core::slice::Iter<'l, T>),
    Read(Reader<'a>),
}

impl<'a, T: Codec<'a> + Clone> Iterator for LazyIter<'_, 'a, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match &mut self.inner {
            LazyIterInner::Owned(items) => items.next().cloned(),
            LazyIterInner::Read(r) if r.any_left() => match T::read(r) {
                Ok(item) => Some(item),
                // Never: the read checked every item. Ends the iteration for good.
                Err(_) => {
                    *r = Reader::new(&[]);
                    None
                }
            },
            LazyIterInner::Read(_) => None,
        }
    }
}

macro_rules! lazy_list {
    ($(#[$m:meta])* $name:ident, $width:expr, $max:expr) => {
        $(#[$m])*
        ///
        /// `MIN` and `MAX` bound the encoded length in bytes, as in the RFCs' presentation
        /// language. Reading checks the bounds and every item (a list that reads is a list
        /// whose items all read), then keeps the encoding: no allocation, and the items are
        /// decoded again, borrowing from the message, each time they are iterated. An encoder
        /// builds one from a `Vec` (`From`); [`Self::to_mut`] turns a read list into an
        /// owned one (tests that change a message).
        #[derive(Clone)]
        pub struct $name<'a, T, const MIN: usize = 0, const MAX: usize = { $max }> {
            /// The checked encoding (without its length) a read found; `owned` is then empty.
            read: Option<&'a [u8]>,
            /// The items an encoder gave.
            owned: Vec<T>,
        }

        impl<T, const MIN: usize, const MAX: usize> Default for $name<'_, T, MIN, MAX> {
            fn default() -> Self {
                Self {
                    read: None,
                    owned: Vec::new(),
                }
            }
        }

        impl<T, const MIN: usize, const MAX: usize> From<Vec<T>> for $name<'_, T, MIN, MAX> {
            fn from(owned: Vec<T>) -> Self {
                Self { read: None, owned }
            }
        }

        impl<'a, T: Codec<'a> + Clone, const MIN: usize, const MAX: usize> $name<'a, T, MIN, MAX> {
            /// The items, in order.
            pub fn iter(&self) -> LazyIter<'_, 'a, T> {
                LazyIter {
                    inner: match self.read {
                        Some(bytes) => LazyIterInner::Read(Reader::new(bytes)),
                        None => LazyIterInner::Owned(self.owned.iter()),
                    },
                }
            }

            /// The checked encoding of a read list's items (without its length), or `None` for
            /// a list an encoder built (see [`Self::owned`]).
            pub fn encoded(&self) -> Option<&'a [u8]> {
                self.read
            }

            /// The items an encoder gave (empty for a read list, see [`Self::encoded`]).
            pub fn owned(&self) -> &[T] {
                &self.owned
            }

            /// Whether the list has no items.
            pub fn is_empty(&self) -> bool {
                match self.read {
                    Some(bytes) => bytes.is_empty(),
                    None => self.owned.is_empty(),
                }
            }

            /// The items as a vector (decoded: an allocation for a read list).
            pub fn to_vec(&self) -> Vec<T> {
                self.iter().collect()
            }

            /// The items as a vector that can be changed: a read list becomes an owned one.
            pub fn to_mut(&mut self) -> &mut Vec<T> {
                if self.read.is_some() {
                    self.owned = self.to_vec();
                    self.read = None;
                }
                &mut self.owned
            }
        }

        impl<'a, T: Codec<'a> + Clone + PartialEq, const MIN: usize, const MAX: usize> PartialEq
            for $name<'a, T, MIN, MAX>
        {
            fn eq(&self, other: &Self) -> bool {
                self.iter().eq(other.iter())
            }
        }

        impl<'a, T: Codec<'a> + Clone + Eq, const MIN: usize, const MAX: usize> Eq
            for $name<'a, T, MIN, MAX>
        {
        }

        impl<'a, T: Codec<'a> + Clone + fmt::Debug, const MIN: usize, const MAX: usize> fmt::Debug
            for $name<'a, T, MIN, MAX>
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }

        impl<'a, T: Codec<'a>, const MIN: usize, const MAX: usize> Codec<'a>
            for $name<'a, T, MIN, MAX>
        {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
                match self.read {
                    Some(bytes) => encode_bytes(out, $width, bytes),
                    None => encode_items(out, $width, &self.owned),
                }
            }
            fn read(r: &mut Reader<'a>) -> Result<Self, InvalidMessage> {
                let mut sub = r.prefixed($width, MIN, MAX, stringify!($name))?;
                let bytes = sub.peek_rest();
                while sub.any_left() {
                    T::read(&mut sub)?;
                }
                Ok(Self {
                    read: Some(bytes),
                    owned: Vec::new(),
                })
            }
        }
    };
}

lazy_list!(
    /// A list of `T` behind a one-byte length, read in place.
    LazyU8, LengthWidth::U8, 0xff
);
lazy_list!(
    /// A list of `T` behind a two-byte length, read in place.
    LazyU16, LengthWidth::U16, 0xffff
);
lazy_list!(
    /// A list of `T` behind a three-byte length, read in place.
    LazyU24, LengthWidth::U24, 0xff_ffff
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_takes_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(4), None);
        assert_eq!(r.left(), 3);
        assert_eq!(r.u16("x"), Ok(0x0102));
        assert_eq!(r.u16("y"), Err(InvalidMessage::MissingData("y")));
        assert_eq!(r.u8("z"), Ok(3));
        assert!(r.expect_empty("all").is_ok());
        assert_eq!(r.take(usize::MAX), None);
    }

    #[test]
    fn u24_round_trips_and_bounds() {
        let v = U24::new(0x01_0203).unwrap();
        assert_eq!(v.get_encoding().unwrap(), vec![1, 2, 3]);
        assert_eq!(U24::read_bytes(&[1, 2, 3]).unwrap(), v);
        assert_eq!(U24::new(0x100_0000), None);
    }

    #[test]
    fn payload_bounds_are_enforced() {
        type P = PayloadU8<'static, 1, 4>;
        assert_eq!(P::read_bytes(&[2, 9, 9]).unwrap().0, vec![9, 9]);
        assert!(matches!(
            P::read_bytes(&[0]),
            Err(InvalidMessage::LengthOutOfRange { len: 0, min: 1, .. })
        ));
        assert!(matches!(
            P::read_bytes(&[5, 1, 2, 3, 4, 5]),
            Err(InvalidMessage::LengthOutOfRange { len: 5, max: 4, .. })
        ));
        assert_eq!(
            P::read_bytes(&[3, 1]),
            Err(InvalidMessage::MissingData("PayloadU8"))
        );
        assert_eq!(
            P::read_bytes(&[1, 1, 7]),
            Err(InvalidMessage::TrailingData(
                "overture_types::codec::PayloadU8<'_, 1, 4>"
            ))
        );
        assert!(P::new(vec![]).is_err());
    }

    #[test]
    fn list_of_u16_round_trips() {
        let l: VecU16<u16, 2> = VecU16(vec![0x1301, 0x1302]);
        let enc = l.get_encoding().unwrap();
        assert_eq!(enc, vec![0, 4, 0x13, 0x01, 0x13, 0x02]);
        assert_eq!(VecU16::<u16, 2>::read_bytes(&enc).unwrap(), l);
        // An odd length cuts an element in half.
        assert!(VecU16::<u16>::read_bytes(&[0, 3, 1, 2, 3]).is_err());
    }

    /// A read list checks every item once, keeps the encoding (re-encoded byte for byte) and
    /// reads its items again on each iteration; it equals the owned list of the same items.
    #[test]
    fn read_lists_check_every_item_and_keep_the_encoding() {
        type L<'a> = LazyU16<'a, PayloadU8<'a, 1>, 2>;
        let wire = [0, 5, 1, 7, 2, 8, 9];
        let read = L::read_bytes(&wire).unwrap();
        let items: Vec<Vec<u8>> = read.iter().map(PayloadU8::into_vec).collect();
        assert_eq!(items, [vec![7], vec![8, 9]]);
        assert_eq!(read.iter().count(), 2, "iterable again");
        assert_eq!(read.get_encoding().unwrap(), wire);
        let owned = L::from(vec![
            PayloadU8(vec![7].into()),
            PayloadU8(vec![8, 9].into()),
        ]);
        assert_eq!(read, owned);
        assert_eq!(owned.get_encoding().unwrap(), wire);
        // Any bad item fails the read: an empty payload (MIN 1), a truncated last one.
        assert!(L::read_bytes(&[0, 3, 1, 7, 0]).is_err());
        assert!(L::read_bytes(&[0, 3, 1, 7, 2]).is_err());
        // The list's own bounds (MIN 2) and its prefix.
        assert!(matches!(
            L::read_bytes(&[0, 0]),
            Err(InvalidMessage::LengthOutOfRange { len: 0, min: 2, .. })
        ));
        assert_eq!(
            L::read_bytes(&[0, 9, 1]),
            Err(InvalidMessage::MissingData("LazyU16"))
        );
        // An odd length cuts an element in half.
        assert!(LazyU16::<u16>::read_bytes(&[0, 3, 1, 2, 3]).is_err());
        assert!(LazyU16::<u16>::read_bytes(&[0, 0]).unwrap().is_empty());
        // A test changes a read list: it becomes owned.
        let mut changed = L::read_bytes(&wire).unwrap();
        changed.to_mut().pop();
        assert_eq!(changed.get_encoding().unwrap(), [0, 2, 1, 7]);
        assert_ne!(changed, read);
        // Every width.
        let l8 = LazyU8::<u8, 1>::read_bytes(&[2, 0, 1]).unwrap();
        assert_eq!(l8.to_vec(), [0, 1]);
        let l24 = LazyU24::<PayloadU24<'_, 1>>::read_bytes(&[0, 0, 5, 0, 0, 2, 0x30, 0]).unwrap();
        assert_eq!(l24.iter().next().unwrap().as_slice(), [0x30, 0]);
        assert_eq!(l24.get_encoding().unwrap(), [0, 0, 5, 0, 0, 2, 0x30, 0]);
    }

    #[test]
    fn prefixed_u24_encodes_length() {
        let mut out = vec![];
        encode_prefixed(&mut out, LengthWidth::U24, |o| {
            o.extend_from_slice(&[7; 300]);
            Ok(())
        })
        .unwrap();
        assert_eq!(&out[..3], &[0, 1, 44]);
        assert_eq!(PayloadU24::<0>::read_bytes(&out).unwrap().0.len(), 300);
    }

    /// A body one byte longer than its prefix can say is an error for every width, nothing of
    /// it stays in the output, and the largest body that fits still encodes.
    #[test]
    fn too_long_for_the_prefix_is_an_error() {
        for width in [LengthWidth::U8, LengthWidth::U16, LengthWidth::U24] {
            let max = width.max_len();
            let mut out = vec![9];
            let e = encode_prefixed(&mut out, width, |o| {
                o.resize(o.len() + max + 1, 0);
                Ok(())
            });
            assert_eq!(e, Err(EncodeError { len: max + 1, max }));
            assert_eq!(out, [9]);
            encode_prefixed(&mut out, width, |o| {
                o.resize(o.len() + max, 0);
                Ok(())
            })
            .unwrap();
            assert_eq!(out.len(), 1 + width.bytes() + max);
        }
        // Nested: an inner field that fits inside an outer one that does not.
        let ticket = PayloadU16::<0>(vec![1; 65_000].into());
        let outer: VecU16<PayloadU16> = VecU16(vec![ticket.clone(), ticket]);
        assert_eq!(
            outer.get_encoding(),
            Err(EncodeError {
                len: 130_004,
                max: 0xffff
            })
        );
        assert!(
            PayloadU16::<0>(vec![0; 65_536].into())
                .get_encoding()
                .is_err()
        );
    }
}

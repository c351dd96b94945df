use crate::{Error, Secret};
use core::fmt;
use overture_types::NamedGroup;

/// An ephemeral (EC)DH key exchange over one group.
pub trait KeyExchange: Send + Sync + fmt::Debug {
    /// The group.
    fn group(&self) -> NamedGroup;

    /// Generates a fresh key pair.
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error>;

    /// A key pair from a known private key — for known-answer tests (RFC 8448, Wycheproof) and
    /// static keys: X25519 takes the 32 raw bytes, P-256 / P-384 the big-endian scalar of
    /// exactly 32 / 48 bytes. Providers whose library cannot import private keys return
    /// [`Error::Unsupported`] (the default); both built-in providers implement it.
    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let _ = private_key;
        Err(Error::Unsupported)
    }
}

/// A key exchange in progress: our share is sent, the peer's completes it. `complete` consumes
/// the private key, so it cannot run twice.
pub trait ActiveKeyExchange: Send + Sync {
    /// The group.
    fn group(&self) -> NamedGroup;

    /// Our public share as it goes on the wire (X25519: 32 bytes; NIST curves: an uncompressed
    /// SEC1 point).
    fn public_key(&self) -> &[u8];

    /// The shared secret with the peer's share. Invalid shares (wrong length, not on the curve,
    /// the point at infinity, an all-zero X25519 result) fail with [`Error::InvalidPeerShare`].
    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error>;
}

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

    /// The responder's side (a server, or an HPKE sender): completes the exchange with the
    /// initiator's `peer_share` and returns our share and the secret. For (EC)DH groups that
    /// is [`KeyExchange::start`] and [`ActiveKeyExchange::complete`]; a KEM-based group
    /// encapsulates to the peer's key instead.
    fn start_and_complete(&self, peer_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        let ours = self.start()?;
        let share = ours.public_key().to_vec();
        let secret = ours.complete(peer_share)?;
        Ok(CompletedKeyExchange {
            group: self.group(),
            share,
            secret,
        })
    }

    /// Whether the group exists only in TLS 1.3 (the hybrid post-quantum groups): a TLS 1.2
    /// ServerKeyExchange naming it must be refused.
    fn tls13_only(&self) -> bool {
        false
    }
}

/// The result of [`KeyExchange::start_and_complete`].
#[derive(Debug)]
pub struct CompletedKeyExchange {
    /// The group.
    pub group: NamedGroup,
    /// Our share, to send to the peer.
    pub share: Vec<u8>,
    /// The shared secret.
    pub secret: Secret,
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

    /// For a hybrid group: the classical (EC)DH group inside and our share for it, so that a
    /// ClientHello can offer that group too with the same key (one X25519 key serving an
    /// `X25519MLKEM768` and an `x25519` share). `None` for plain groups.
    fn classical_component(&self) -> Option<(NamedGroup, &[u8])> {
        None
    }

    /// For a hybrid group whose peer chose the classical group of
    /// [`ActiveKeyExchange::classical_component`]: completes only that exchange (the ML-KEM
    /// key is dropped unused). [`Error::Unsupported`] for plain groups.
    fn complete_classical(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        let _ = peer_public_key;
        Err(Error::Unsupported)
    }
}

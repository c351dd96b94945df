//! Hybrid post-quantum key exchange for TLS 1.3 (draft-ietf-tls-ecdhe-mlkem, now RFC 10024):
//! an (EC)DH group and ML-KEM-768 run side by side, their shares and secrets concatenated.
//!
//! ```text
//!   X25519MLKEM768 (0x11EC)     client share = ML-KEM ek (1184) ‖ X25519 public (32)   = 1216
//!                               server share = ML-KEM ct (1088) ‖ X25519 public (32)   = 1120
//!                               secret       = ML-KEM ss (32)   ‖ X25519 ss (32)       =   64
//!   SecP256r1MLKEM768 (0x11EB)  client share = P-256 point (65) ‖ ML-KEM ek (1184)     = 1249
//!                               server share = P-256 point (65) ‖ ML-KEM ct (1088)     = 1153
//!                               secret       = ECDH ss (32)     ‖ ML-KEM ss (32)       =   64
//! ```
//!
//! A [`Hybrid`] is a [`KeyExchange`] made of a provider's own (EC)DH piece and a [`Kem`], so
//! each provider builds its hybrids from its own primitives. A server share of any length other
//! than the exact one is refused with [`Error::InvalidPeerShare`] (a TLS `illegal_parameter`)
//! before any cryptography runs.
//!
//! One (EC)DH key for two key shares: [`ActiveKeyExchange::classical_component`] gives the
//! classical group and share inside a hybrid, so a ClientHello may send an `x25519` share with
//! the same bytes, and [`ActiveKeyExchange::complete_classical`] finishes the exchange if the
//! server chose plain `x25519` (as rustls does; draft-ietf-tls-hybrid-design §3.2 allows
//! reusing the classical share).
//!
//! ```
//! # #[cfg(feature = "ring")] {
//! use overture_crypto_provider::{ring, KeyExchange};
//! use overture_types::NamedGroup;
//!
//! let client = ring::X25519MLKEM768.start().unwrap();
//! assert_eq!(client.public_key().len(), 1216);
//! // The server side: encapsulate to the client's key, ECDH with its X25519 share.
//! let server = ring::X25519MLKEM768.start_and_complete(client.public_key()).unwrap();
//! assert_eq!(server.share.len(), 1120);
//! assert_eq!(client.complete(&server.share).unwrap(), server.secret);
//!
//! // The same client key answers a server that chose plain x25519.
//! let client = ring::X25519MLKEM768.start().unwrap();
//! let (group, share) = client.classical_component().unwrap();
//! assert_eq!(group, NamedGroup::X25519);
//! let server = ring::X25519.start_and_complete(share).unwrap();
//! assert_eq!(client.complete_classical(&server.share).unwrap(), server.secret);
//! # }
//! ```

use crate::{
    ActiveKeyExchange, CompletedKeyExchange, Error, Kem, KemDecapsulator, KeyExchange, Secret,
};
use core::fmt;
use overture_types::NamedGroup;

/// Which half comes first on the wire and in the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HybridOrder {
    /// ML-KEM first (X25519MLKEM768).
    KemFirst,
    /// The (EC)DH share first (SecP256r1MLKEM768).
    ClassicalFirst,
}

/// A hybrid group: a classical (EC)DH [`KeyExchange`] and a [`Kem`].
pub struct Hybrid {
    group: NamedGroup,
    classical: &'static dyn KeyExchange,
    kem: &'static dyn Kem,
    order: HybridOrder,
}

impl Hybrid {
    /// The hybrid `group` of `classical` and `kem`, concatenated in `order`.
    pub const fn new(
        group: NamedGroup,
        classical: &'static dyn KeyExchange,
        kem: &'static dyn Kem,
        order: HybridOrder,
    ) -> Self {
        Self {
            group,
            classical,
            kem,
            order,
        }
    }

    /// The classical group inside.
    pub fn classical_group(&self) -> NamedGroup {
        self.classical.group()
    }

    fn finish(
        &self,
        classical: Box<dyn ActiveKeyExchange>,
        kem: Box<dyn KemDecapsulator>,
    ) -> ActiveHybrid {
        let mut public =
            Vec::with_capacity(classical.public_key().len() + kem.encapsulation_key().len());
        let split = match self.order {
            HybridOrder::KemFirst => {
                public.extend_from_slice(kem.encapsulation_key());
                public.extend_from_slice(classical.public_key());
                kem.encapsulation_key().len()
            }
            HybridOrder::ClassicalFirst => {
                public.extend_from_slice(classical.public_key());
                public.extend_from_slice(kem.encapsulation_key());
                classical.public_key().len()
            }
        };
        ActiveHybrid {
            group: self.group,
            order: self.order,
            classical,
            kem,
            public,
            classical_at: match self.order {
                HybridOrder::KemFirst => split,
                HybridOrder::ClassicalFirst => 0,
            },
        }
    }
}

impl fmt::Debug for Hybrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Hybrid({}: {:?} + {:?})",
            self.group, self.classical, self.kem
        )
    }
}

/// `a ‖ b` as one secret (64 bytes for both hybrids here).
fn concat(first: &Secret, second: &Secret) -> Result<Secret, Error> {
    let mut out = Secret::zeroed(first.len() + second.len()).ok_or(Error::OutputLength)?;
    let (a, b) = out.as_mut_bytes().split_at_mut(first.len());
    a.copy_from_slice(first.as_bytes());
    b.copy_from_slice(second.as_bytes());
    Ok(out)
}

/// Splits `share` into `(first, second)` with `first` exactly `first_len` and `second`
/// exactly `second_len` bytes; any other total length is an invalid share.
fn split_exact(share: &[u8], first_len: usize, second_len: usize) -> Result<(&[u8], &[u8]), Error> {
    if share.len() != first_len + second_len {
        return Err(Error::InvalidPeerShare);
    }
    Ok(share.split_at(first_len))
}

impl KeyExchange for Hybrid {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let kem = self.kem.generate()?;
        let classical = self.classical.start()?;
        Ok(Box::new(self.finish(classical, kem)))
    }

    /// A key pair from known private keys: the classical private key (as
    /// [`KeyExchange::start_with_private_key`] of the classical group takes it) followed by
    /// the 64-byte ML-KEM seed `d ‖ z`.
    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let seed_at = private_key
            .len()
            .checked_sub(crate::MLKEM_SEED_LEN)
            .ok_or(Error::InvalidKey)?;
        let (classical, seed) = private_key.split_at(seed_at);
        let kem = self.kem.generate_from_seed(seed)?;
        let classical = self.classical.start_with_private_key(classical)?;
        Ok(Box::new(self.finish(classical, kem)))
    }

    fn start_and_complete(&self, peer_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        let ek_len = self.kem.algorithm().encapsulation_key_len();
        let classical_len = peer_share
            .len()
            .checked_sub(ek_len)
            .ok_or(Error::InvalidPeerShare)?;
        let (ek, theirs) = match self.order {
            HybridOrder::KemFirst => split_exact(peer_share, ek_len, classical_len)?,
            HybridOrder::ClassicalFirst => {
                let (c, k) = split_exact(peer_share, classical_len, ek_len)?;
                (k, c)
            }
        };
        let (ciphertext, kem_secret) = self
            .kem
            .encapsulate(ek)
            .map_err(|_| Error::InvalidPeerShare)?;
        let classical = self.classical.start_and_complete(theirs)?;
        let (share, secret) = match self.order {
            HybridOrder::KemFirst => (
                [&ciphertext[..], &classical.share[..]].concat(),
                concat(&kem_secret, &classical.secret)?,
            ),
            HybridOrder::ClassicalFirst => (
                [&classical.share[..], &ciphertext[..]].concat(),
                concat(&classical.secret, &kem_secret)?,
            ),
        };
        Ok(CompletedKeyExchange {
            group: self.group,
            share,
            secret,
        })
    }

    fn tls13_only(&self) -> bool {
        true
    }
}

/// A hybrid key exchange in progress.
struct ActiveHybrid {
    group: NamedGroup,
    order: HybridOrder,
    classical: Box<dyn ActiveKeyExchange>,
    /// Zeroizes its decapsulation key on drop.
    kem: Box<dyn KemDecapsulator>,
    public: Vec<u8>,
    /// Where the classical share starts in `public`.
    classical_at: usize,
}

impl ActiveKeyExchange for ActiveHybrid {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        let ct_len = self.kem.algorithm().ciphertext_len();
        let classical_len = self.classical.public_key().len();
        match self.order {
            HybridOrder::KemFirst => {
                let (ct, theirs) = split_exact(peer_public_key, ct_len, classical_len)?;
                let kem_secret = self.kem.decapsulate(ct)?;
                let classical_secret = self.classical.complete(theirs)?;
                concat(&kem_secret, &classical_secret)
            }
            HybridOrder::ClassicalFirst => {
                let (theirs, ct) = split_exact(peer_public_key, classical_len, ct_len)?;
                let kem_secret = self.kem.decapsulate(ct)?;
                let classical_secret = self.classical.complete(theirs)?;
                concat(&classical_secret, &kem_secret)
            }
        }
    }

    fn classical_component(&self) -> Option<(NamedGroup, &[u8])> {
        let len = self.classical.public_key().len();
        let share = self
            .public
            .get(self.classical_at..self.classical_at + len)?;
        Some((self.classical.group(), share))
    }

    fn complete_classical(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        // The ML-KEM key is dropped (and zeroized) unused.
        self.classical.complete(peer_public_key)
    }
}

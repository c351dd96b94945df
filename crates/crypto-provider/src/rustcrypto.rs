//! The RustCrypto provider (feature `rustcrypto`).
//!
//! Every piece is a `pub static` so it can be mixed into another provider, as in
//! [`crate::ring`]. This module currently holds the key exchanges (X25519, P-256, P-384) — with
//! [`KeyExchange::start_with_private_key`], which ring cannot offer — and the random source; the
//! remaining pieces follow.

use crate::{ActiveKeyExchange, Error, KeyExchange, Secret, SecureRandom};
use overture_types::NamedGroup;
use p256::elliptic_curve::sec1::ToSec1Point;

// ---------------------------------------------------------------------------------------------
// Randomness

/// The operating system's random source, through `getrandom`.
#[derive(Debug)]
pub struct RustCryptoRandom;

/// The random source.
pub static RANDOM: RustCryptoRandom = RustCryptoRandom;

impl SecureRandom for RustCryptoRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|_| Error::RandomFailed)
    }
}

// ---------------------------------------------------------------------------------------------
// Key exchange

/// Which curve a [`RustCryptoKx`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    X25519,
    P256,
    P384,
}

/// RustCrypto's (EC)DH: `x25519-dalek` for X25519, `p256`/`p384` for the NIST curves.
///
/// [`KeyExchange::start_with_private_key`] takes the raw private key: 32 bytes for X25519 (as
/// in RFC 7748 and RFC 8448, clamped by the library), and the big-endian scalar of exactly the
/// field size (32 / 48 bytes) for P-256 / P-384, which must lie in `[1, n - 1]`.
#[derive(Debug)]
pub struct RustCryptoKx {
    group: NamedGroup,
    curve: Curve,
}

/// X25519.
pub static X25519: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::X25519,
    curve: Curve::X25519,
};
/// ECDH over P-256 (secp256r1).
pub static SECP256R1: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::secp256r1,
    curve: Curve::P256,
};
/// ECDH over P-384 (secp384r1).
pub static SECP384R1: RustCryptoKx = RustCryptoKx {
    group: NamedGroup::secp384r1,
    curve: Curve::P384,
};

/// How many fresh scalars to draw before giving up on a NIST key (each draw fails with
/// probability below 2^-32, so a failure means the random source is broken).
const KEYGEN_ATTEMPTS: usize = 8;

impl KeyExchange for RustCryptoKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let len = match self.curve {
            Curve::X25519 | Curve::P256 => 32,
            Curve::P384 => 48,
        };
        for _ in 0..KEYGEN_ATTEMPTS {
            let mut scalar = Secret::zeroed(len).ok_or(Error::InvalidKey)?;
            RANDOM.fill(scalar.as_mut_bytes())?;
            match self.start_with_private_key(scalar.as_bytes()) {
                // A NIST scalar of zero or >= n: draw again.
                Err(Error::InvalidKey) => continue,
                other => return other,
            }
        }
        Err(Error::RandomFailed)
    }

    fn start_with_private_key(
        &self,
        private_key: &[u8],
    ) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let key = match self.curve {
            Curve::X25519 => {
                let bytes: [u8; 32] = private_key.try_into().map_err(|_| Error::InvalidKey)?;
                let secret = x25519_dalek::StaticSecret::from(bytes);
                let public = x25519_dalek::PublicKey::from(&secret).to_bytes().to_vec();
                KxKey::X25519 { secret, public }
            }
            Curve::P256 => {
                let field: &p256::FieldBytes =
                    private_key.try_into().map_err(|_| Error::InvalidKey)?;
                let secret = p256::SecretKey::from_bytes(field).map_err(|_| Error::InvalidKey)?;
                let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
                KxKey::P256 { secret, public }
            }
            Curve::P384 => {
                let field: &p384::FieldBytes =
                    private_key.try_into().map_err(|_| Error::InvalidKey)?;
                let secret = p384::SecretKey::from_bytes(field).map_err(|_| Error::InvalidKey)?;
                let public = secret.public_key().to_sec1_point(false).as_bytes().to_vec();
                KxKey::P384 { secret, public }
            }
        };
        Ok(Box::new(RustCryptoActiveKx {
            group: self.group,
            key,
        }))
    }
}

/// A private key (zeroized on drop by its library) and our encoded public share.
enum KxKey {
    X25519 {
        secret: x25519_dalek::StaticSecret,
        public: Vec<u8>,
    },
    P256 {
        secret: p256::SecretKey,
        public: Vec<u8>,
    },
    P384 {
        secret: p384::SecretKey,
        public: Vec<u8>,
    },
}

struct RustCryptoActiveKx {
    group: NamedGroup,
    key: KxKey,
}

/// Checks that `peer` is an uncompressed SEC1 point (`0x04 ‖ x ‖ y`) for a field of
/// `field_len` bytes: TLS allows only that form (RFC 8446 §4.2.8.2, RFC 8422 §5.4.1).
fn uncompressed_point(peer: &[u8], field_len: usize) -> Result<&[u8], Error> {
    match peer.split_first() {
        Some((0x04, rest)) if rest.len() == 2 * field_len => Ok(peer),
        _ => Err(Error::InvalidPeerShare),
    }
}

impl ActiveKeyExchange for RustCryptoActiveKx {
    fn group(&self) -> NamedGroup {
        self.group
    }

    fn public_key(&self) -> &[u8] {
        match &self.key {
            KxKey::X25519 { public, .. }
            | KxKey::P256 { public, .. }
            | KxKey::P384 { public, .. } => public,
        }
    }

    fn complete(self: Box<Self>, peer_public_key: &[u8]) -> Result<Secret, Error> {
        let secret = match &self.key {
            KxKey::X25519 { secret, .. } => {
                let peer: [u8; 32] = peer_public_key
                    .try_into()
                    .map_err(|_| Error::InvalidPeerShare)?;
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
                // RFC 7748 §6.1 / RFC 8446 §7.4.2: an all-zero result means a low-order point.
                if !shared.was_contributory() {
                    return Err(Error::InvalidPeerShare);
                }
                Secret::new(shared.as_bytes())
            }
            KxKey::P256 { secret, .. } => {
                let peer = uncompressed_point(peer_public_key, 32)?;
                // Rejects points not on the curve and the identity.
                let peer =
                    p256::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::InvalidPeerShare)?;
                Secret::new(secret.diffie_hellman(&peer).raw_secret_bytes())
            }
            KxKey::P384 { secret, .. } => {
                let peer = uncompressed_point(peer_public_key, 48)?;
                let peer =
                    p384::PublicKey::from_sec1_bytes(peer).map_err(|_| Error::InvalidPeerShare)?;
                Secret::new(secret.diffie_hellman(&peer).raw_secret_bytes())
            }
        };
        secret.ok_or(Error::InvalidPeerShare)
    }
}

/// Every key-exchange group, in preference order.
pub static ALL_KX_GROUPS: &[&dyn KeyExchange] = &[&X25519, &SECP256R1, &SECP384R1];

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn x25519_rfc7748_section_6_1() {
        let alice = unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob = unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let a = X25519.start_with_private_key(&alice).unwrap();
        let b = X25519.start_with_private_key(&bob).unwrap();
        assert_eq!(
            a.public_key(),
            unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        let b_pub = b.public_key().to_vec();
        let a_pub = a.public_key().to_vec();
        let k1 = a.complete(&b_pub).unwrap();
        let k2 = b.complete(&a_pub).unwrap();
        let expected = unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(k1.as_bytes(), expected);
        assert_eq!(k1, k2);
    }

    #[test]
    fn fresh_keys_agree_and_reject_bad_shares() {
        for kx in ALL_KX_GROUPS {
            let a = kx.start().unwrap();
            let b = kx.start().unwrap();
            assert_eq!(a.group(), kx.group());
            let a_pub = a.public_key().to_vec();
            let b_pub = b.public_key().to_vec();
            assert_ne!(a_pub, b_pub);
            assert_eq!(a.complete(&b_pub).unwrap(), b.complete(&a_pub).unwrap());
            // Wrong length, and (for X25519) a low-order point.
            let c = kx.start().unwrap();
            assert_eq!(c.complete(&b_pub[1..]).err(), Some(Error::InvalidPeerShare));
            let d = kx.start().unwrap();
            let zero = vec![0u8; b_pub.len()];
            assert_eq!(d.complete(&zero).err(), Some(Error::InvalidPeerShare));
        }
    }

    #[test]
    fn nist_rejects_compressed_and_off_curve_points() {
        let a = SECP256R1.start().unwrap();
        let b = SECP256R1.start().unwrap();
        let mut off = b.public_key().to_vec();
        off[40] ^= 1;
        assert_eq!(a.complete(&off).err(), Some(Error::InvalidPeerShare));
        let c = SECP256R1.start().unwrap();
        let b_pub = b.public_key();
        let mut compressed = vec![0x02 | (b_pub[64] & 1)];
        compressed.extend_from_slice(&b_pub[1..33]);
        assert_eq!(c.complete(&compressed).err(), Some(Error::InvalidPeerShare));
    }

    #[test]
    fn nist_private_keys_must_be_in_range() {
        assert_eq!(
            SECP256R1.start_with_private_key(&[0u8; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP256R1.start_with_private_key(&[0xff; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert_eq!(
            SECP384R1.start_with_private_key(&[1u8; 32]).err(),
            Some(Error::InvalidKey)
        );
        assert!(SECP384R1.start_with_private_key(&[1u8; 48]).is_ok());
    }
}

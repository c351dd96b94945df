//! The hybrid post-quantum groups X25519MLKEM768 and SecP256r1MLKEM768 (and ML-KEM-768 under
//! them) in both providers: wire layout and secret order of draft-ietf-tls-ecdhe-mlkem checked
//! against the parts computed separately, agreement across the two providers' independent
//! implementations (libcrux-ml-kem + ring, ml-kem + RustCrypto), refusal of every share length
//! but the exact one, and the classical share reused for a plain group.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::vec_init_then_push
)]

use overture_crypto_provider::{
    CryptoProvider, Error, KemAlgorithm, KeyExchange, MLKEM768_CIPHERTEXT_LEN,
    MLKEM768_ENCAPSULATION_KEY_LEN,
};
use overture_types::NamedGroup;

struct P {
    name: &'static str,
    all_groups: &'static [&'static dyn KeyExchange],
    default: CryptoProvider,
}

fn providers() -> Vec<P> {
    let mut out = Vec::new();
    #[cfg(feature = "ring")]
    out.push(P {
        name: "ring",
        all_groups: overture_crypto_provider::ring::ALL_KX_GROUPS,
        default: overture_crypto_provider::ring::default_provider(),
    });
    #[cfg(feature = "rustcrypto")]
    out.push(P {
        name: "rustcrypto",
        all_groups: overture_crypto_provider::rustcrypto::ALL_KX_GROUPS,
        default: overture_crypto_provider::rustcrypto::default_provider(),
    });
    assert!(!out.is_empty(), "no provider compiled in");
    out
}

fn group(p: &P, g: NamedGroup) -> &'static dyn KeyExchange {
    p.all_groups
        .iter()
        .copied()
        .find(|k| k.group() == g)
        .unwrap_or_else(|| panic!("[{}] has no {g}", p.name))
}

/// (hybrid, classical group, classical share length, ML-KEM first?)
const HYBRIDS: [(NamedGroup, NamedGroup, usize, bool); 2] = [
    (NamedGroup::X25519MLKEM768, NamedGroup::X25519, 32, true),
    (
        NamedGroup::SecP256r1MLKEM768,
        NamedGroup::secp256r1,
        65,
        false,
    ),
];

#[test]
fn default_groups_put_x25519mlkem768_first_and_the_hybrids_are_listed() {
    for p in providers() {
        let default: Vec<NamedGroup> = p.default.kx_groups.iter().map(|g| g.group()).collect();
        assert_eq!(
            default,
            [
                NamedGroup::X25519MLKEM768,
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1
            ],
            "[{}]",
            p.name
        );
        // SecP256r1MLKEM768 is there for whoever asks for it, not offered by default.
        let extra: Vec<NamedGroup> = p
            .default
            .extra_kx_groups
            .iter()
            .map(|g| g.group())
            .collect();
        assert_eq!(extra, [NamedGroup::SecP256r1MLKEM768], "[{}]", p.name);
        assert_eq!(
            p.default
                .find_kx(NamedGroup::SecP256r1MLKEM768)
                .map(|g| g.group()),
            Some(NamedGroup::SecP256r1MLKEM768)
        );
        for (hybrid, ..) in HYBRIDS {
            let kx = group(&p, hybrid);
            assert!(kx.tls13_only(), "[{}] {hybrid} is TLS 1.3 only", p.name);
        }
        assert!(!group(&p, NamedGroup::X25519).tls13_only());
        assert!(p.default.find_kem(KemAlgorithm::MlKem768).is_some());
    }
}

/// The client's share and secret, taken apart and recomputed from the parts: the classical
/// half with the classical group's responder, the ML-KEM half with the KEM alone.
#[test]
fn wire_layout_and_secret_order_follow_the_draft() {
    for p in providers() {
        let kem = p.default.find_kem(KemAlgorithm::MlKem768).unwrap();
        for (hybrid, classical, classical_len, kem_first) in HYBRIDS {
            let client = group(&p, hybrid).start().unwrap();
            let share = client.public_key().to_vec();
            assert_eq!(share.len(), MLKEM768_ENCAPSULATION_KEY_LEN + classical_len);
            let (ek, their_classical) = if kem_first {
                share.split_at(MLKEM768_ENCAPSULATION_KEY_LEN)
            } else {
                let (c, k) = share.split_at(classical_len);
                (k, c)
            };
            // The classical half is the one `classical_component` names.
            let (g, component) = client.classical_component().unwrap();
            assert_eq!((g, component), (classical, their_classical));

            let (ct, kem_secret) = kem.encapsulate(ek).unwrap();
            assert_eq!(ct.len(), MLKEM768_CIPHERTEXT_LEN);
            let server = group(&p, classical)
                .start_and_complete(their_classical)
                .unwrap();
            let (server_share, expected) = if kem_first {
                (
                    [&ct[..], &server.share[..]].concat(),
                    [kem_secret.as_bytes(), server.secret.as_bytes()].concat(),
                )
            } else {
                (
                    [&server.share[..], &ct[..]].concat(),
                    [server.secret.as_bytes(), kem_secret.as_bytes()].concat(),
                )
            };
            let secret = client.complete(&server_share).unwrap();
            assert_eq!(secret.len(), 64);
            assert_eq!(secret.as_bytes(), &expected[..], "[{}] {hybrid}", p.name);
        }
    }
}

/// Each provider's client against the other's server, and back: two independent ML-KEM
/// implementations (and ECDH libraries) agree.
#[test]
fn providers_agree_with_each_other() {
    let ps = providers();
    for client_p in &ps {
        for server_p in &ps {
            for (hybrid, ..) in HYBRIDS {
                let client = group(client_p, hybrid).start().unwrap();
                let server = group(server_p, hybrid)
                    .start_and_complete(client.public_key())
                    .unwrap();
                assert_eq!(server.group, hybrid);
                assert_eq!(
                    client.complete(&server.share).unwrap(),
                    server.secret,
                    "{hybrid}: {} client, {} server",
                    client_p.name,
                    server_p.name
                );
            }
        }
    }
}

/// Every server-share length but the exact one is refused before any decapsulation, and so is
/// every client-share length on the responder side; no length panics (up to 3 × the largest).
#[test]
fn wrong_share_lengths_are_refused() {
    for p in providers() {
        for (hybrid, _, classical_len, _) in HYBRIDS {
            let kx = group(&p, hybrid);
            let client = kx.start().unwrap();
            let good = kx.start_and_complete(client.public_key()).unwrap();
            let server_len = MLKEM768_CIPHERTEXT_LEN + classical_len;
            assert_eq!(good.share.len(), server_len);
            for len in (0..3 * server_len)
                .step_by(7)
                .chain([server_len - 1, server_len + 1])
            {
                if len == server_len {
                    continue;
                }
                let mut share = good.share.clone();
                share.resize(len, 0x42);
                let c = kx.start().unwrap();
                assert_eq!(
                    c.complete(&share).err(),
                    Some(Error::InvalidPeerShare),
                    "[{}] {hybrid} server share of {len} bytes",
                    p.name
                );
            }
            let client_len = client.public_key().len();
            for len in (0..3 * client_len)
                .step_by(13)
                .chain([client_len - 1, client_len + 1])
            {
                if len == client_len {
                    continue;
                }
                let mut share = client.public_key().to_vec();
                share.resize(len, 0x42);
                assert!(
                    kx.start_and_complete(&share).is_err(),
                    "[{}] {hybrid} client share of {len} bytes",
                    p.name
                );
            }
            // The right length with a broken classical half: the classical group's own check.
            let mut share = good.share.clone();
            let classical = if hybrid == NamedGroup::X25519MLKEM768 {
                &mut share[MLKEM768_CIPHERTEXT_LEN..]
            } else {
                &mut share[..classical_len]
            };
            classical.fill(0); // X25519: a low-order point; P-256: not a point
            assert_eq!(
                kx.start().unwrap().complete(&share).err(),
                Some(Error::InvalidPeerShare),
                "[{}] {hybrid} with an invalid classical share",
                p.name
            );
        }
    }
}

/// A ciphertext of the right length that is not the one sent decapsulates (implicit
/// rejection) to a different secret: the handshake then fails at Finished, not here.
#[test]
fn a_tampered_ciphertext_gives_another_secret() {
    for p in providers() {
        let kx = group(&p, NamedGroup::X25519MLKEM768);
        let client = kx.start().unwrap();
        let server = kx.start_and_complete(client.public_key()).unwrap();
        let mut share = server.share.clone();
        share[0] ^= 1;
        assert_ne!(
            client.complete(&share).unwrap(),
            server.secret,
            "[{}]",
            p.name
        );
    }
}

/// ML-KEM alone: wrong ciphertext, key, seed and randomness lengths are errors.
#[test]
fn kem_length_checks() {
    for p in providers() {
        let kem = p.default.find_kem(KemAlgorithm::MlKem768).unwrap();
        let dk = kem.generate().unwrap();
        let ek = dk.encapsulation_key().to_vec();
        let (ct, secret) = kem.encapsulate(&ek).unwrap();
        assert_eq!(dk.decapsulate(&ct).unwrap(), secret);
        for bad in [&ct[1..], &[ct.as_slice(), &[0]].concat()[..], &[]] {
            assert_eq!(dk.decapsulate(bad).err(), Some(Error::InvalidPeerShare));
        }
        assert_eq!(
            kem.encapsulate(&ek[1..]).err(),
            Some(Error::InvalidPublicKey)
        );
        assert_eq!(kem.generate_from_seed(&[0; 63]).err().map(|_| ()), Some(()));
        assert_eq!(
            kem.encapsulate_deterministic(&ek, &[0; 31]).err(),
            Some(Error::InvalidKey)
        );
        // Deterministic hooks are deterministic, and the seed is the whole private key.
        let a = kem.generate_from_seed(&[7; 64]).unwrap();
        let b = kem.generate_from_seed(&[7; 64]).unwrap();
        assert_eq!(a.encapsulation_key(), b.encapsulation_key());
        let (c1, s1) = kem
            .encapsulate_deterministic(a.encapsulation_key(), &[9; 32])
            .unwrap();
        let (c2, s2) = kem
            .encapsulate_deterministic(a.encapsulation_key(), &[9; 32])
            .unwrap();
        assert_eq!((c1, s1), (c2, s2));
    }
}

/// One X25519 key for an `X25519MLKEM768` and an `x25519` share: a server that picks plain
/// x25519 is answered with `complete_classical`, and its secret is the plain X25519 one.
#[test]
fn the_classical_share_serves_the_plain_group() {
    for p in providers() {
        for (hybrid, classical, ..) in HYBRIDS {
            let client = group(&p, hybrid).start().unwrap();
            let (g, share) = client.classical_component().unwrap();
            assert_eq!(g, classical);
            let server = group(&p, classical).start_and_complete(share).unwrap();
            assert_eq!(
                client.complete_classical(&server.share).unwrap(),
                server.secret,
                "[{}] {hybrid}",
                p.name
            );
        }
        // Plain groups have no component and refuse `complete_classical`.
        let plain = group(&p, NamedGroup::X25519).start().unwrap();
        assert!(plain.classical_component().is_none());
        let peer = group(&p, NamedGroup::X25519).start().unwrap();
        assert_eq!(
            plain.complete_classical(peer.public_key()).err(),
            Some(Error::Unsupported)
        );
    }
}

/// Known private keys (classical key ‖ ML-KEM seed) give the same shares in both providers.
#[test]
fn imported_private_keys_give_the_same_share_in_both_providers() {
    let ps = providers();
    for (hybrid, _, classical_len, _) in HYBRIDS {
        let mut private = vec![0x11u8; classical_len.min(32)];
        private.extend_from_slice(&[0x22; 64]);
        let shares: Vec<Vec<u8>> = ps
            .iter()
            .map(|p| {
                group(p, hybrid)
                    .start_with_private_key(&private)
                    .unwrap()
                    .public_key()
                    .to_vec()
            })
            .collect();
        assert!(shares.windows(2).all(|w| w[0] == w[1]), "{hybrid}");
        for p in &ps {
            assert!(
                group(p, hybrid)
                    .start_with_private_key(&private[..40])
                    .is_err(),
                "[{}] {hybrid}: a short private key",
                p.name
            );
        }
    }
}

//! `cargo xtask bench crypto`: the two providers beside raw `ring`, in one run.
//!
//! Every operation is measured twice, as two interleaved cases: `<op> [ring]` (our ring
//! provider vs. raw `ring` called directly) and `<op> [rustcrypto]` (our RustCrypto provider vs.
//! the same raw `ring` code). The ratio rows `overture-ring/raw-ring` are the cost of the
//! provider wrapping (target: within 3 %); `overture-rustcrypto/raw-ring` compares the libraries.
//!
//! The provider side goes through `&'static dyn` pieces found in a `CryptoProvider`, as the
//! record layer and the handshake reach them:
//! - `aes128gcm-seal-16k`, `aes256gcm-seal-16k`, `chacha20poly1305-seal-16k`: one 16 KiB record
//!   sealed in place (nonce = IV XOR sequence number, 13-byte TLS 1.3 header as AAD);
//! - `x25519`: a whole ephemeral exchange — generate, public key, agree with a peer share;
//! - `ecdsa-p256-verify`: ECDSA P-256/SHA-256 over a 32-byte message;
//! - `rsa2048-pkcs1-verify`: RSA-2048 PKCS#1 v1.5 SHA-256 (a valid Wycheproof vector);
//! - `hkdf-expand-label`: a record key and IV from a traffic secret's expander —
//!   `expand_label("key", 16)` and `expand_label("iv", 12)` — as on every key change;
//!   `hkdf-expander+expand-label` also builds the expander from the 32-byte secret (on our side
//!   that is one heap allocation: `Hkdf::expander` returns a `Box<dyn HkdfExpander>`).
//! - `mlkem768-keygen`, `mlkem768-encapsulate`, `mlkem768-decapsulate`: the two ML-KEM-768
//!   crates, `libcrux-ml-kem` (the ring provider's) vs `ml-kem` (the rustcrypto provider's),
//!   each through the same `Kem` wrapper with fixed seed / randomness (key generation from a
//!   64-byte seed, encapsulation with a 32-byte message, decapsulation of a valid ciphertext);
//! - `x25519mlkem768-client [ring]` / `[rustcrypto]`: the client's whole hybrid exchange
//!   (ML-KEM keygen + X25519 keygen, share, decapsulate + agree) vs the same provider's plain
//!   `x25519` exchange.

#[cfg(feature = "crypto")]
fn main() {
    use overture_benches::Suite;
    use overture_crypto_provider::{
        CryptoProvider, Nonce, expand_label, ring as ring_provider, rustcrypto,
    };
    use overture_types::{CipherSuite, NamedGroup, SignatureScheme};
    use ring::{aead, agreement, hkdf, rand, signature};
    use std::hint::black_box;

    const RECORD: usize = 16 * 1024;
    const AAD: [u8; 5] = [0x17, 0x03, 0x03, 0x40, 0x11];
    const IV: [u8; 12] = [0x5a; 12];

    /// Raw ring's nonce: the same IV XOR sequence number as `Nonce::xor_seq`.
    fn raw_nonce(seq: u64) -> aead::Nonce {
        let mut n = IV;
        for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        aead::Nonce::assume_unique_for_key(n)
    }

    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }

    /// A valid RSA-2048 PKCS#1 v1.5 SHA-256 case from the Wycheproof corpus:
    /// (RSAPublicKey DER, message, signature).
    fn rsa_vector() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../shared/testdata/wycheproof/testvectors_v1/rsa_signature_2048_sha256_test.json",
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e} (the shared test data is missing)", path.display())
        });
        let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let hex = |v: &serde_json::Value| -> Vec<u8> {
            let s = v.as_str().expect("hex");
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
                .collect()
        };
        for group in doc["testGroups"].as_array().expect("groups") {
            for test in group["tests"].as_array().expect("tests") {
                if test["result"] == "valid" && !hex(&test["msg"]).is_empty() {
                    return (
                        hex(&group["publicKeyAsn"]),
                        hex(&test["msg"]),
                        hex(&test["sig"]),
                    );
                }
            }
        }
        panic!("no valid RSA vector in {}", path.display())
    }

    let mut suite = Suite::from_args("crypto");
    let providers: [(&str, CryptoProvider); 2] = [
        ("overture-ring", ring_provider::default_provider()),
        ("overture-rustcrypto", rustcrypto::default_provider()),
    ];
    let rng = rand::SystemRandom::new();

    // --- AEAD seal of one 16 KiB record ---------------------------------------------------
    for (case, suite_id, raw_alg, key_len) in [
        (
            "aes128gcm-seal-16k",
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            &aead::AES_128_GCM,
            16,
        ),
        (
            "aes256gcm-seal-16k",
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            &aead::AES_256_GCM,
            32,
        ),
        (
            "chacha20poly1305-seal-16k",
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            &aead::CHACHA20_POLY1305,
            32,
        ),
    ] {
        let key = vec![0x42u8; key_len];
        for (name, provider) in &providers {
            let bound = provider
                .find_suite(suite_id)
                .expect("suite")
                .aead()
                .with_key(&key)
                .expect("key");
            let raw = aead::LessSafeKey::new(aead::UnboundKey::new(raw_alg, &key).expect("key"));
            // One buffer for both sides: in-place speed depends on the buffer's alignment
            // (and 4K aliasing), which must not differ between subject and anchor.
            let buf = std::cell::RefCell::new(vec![1u8; RECORD]);
            let (mut ours_seq, mut raw_seq) = (0u64, 0u64);
            suite.throughput(
                &format!("{case} [{}]", &name["overture-".len()..]),
                RECORD as u64,
                &mut [
                    (name, &mut || {
                        ours_seq += 1;
                        let tag = bound
                            .seal_in_place(
                                Nonce::xor_seq(&IV, ours_seq),
                                black_box(&AAD),
                                &mut buf.borrow_mut(),
                            )
                            .expect("seal");
                        black_box(tag);
                    }),
                    ("raw-ring", &mut || {
                        raw_seq += 1;
                        let tag = raw
                            .seal_in_place_separate_tag(
                                raw_nonce(raw_seq),
                                aead::Aad::from(black_box(&AAD)),
                                &mut buf.borrow_mut()[..],
                            )
                            .expect("seal");
                        let _ = black_box(tag);
                    }),
                ],
            );
        }
    }

    // --- X25519: generate, public key, agree ---------------------------------------------
    let peer = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng).expect("peer");
    let peer_share = peer
        .compute_public_key()
        .expect("peer share")
        .as_ref()
        .to_vec();
    for (name, provider) in &providers {
        let kx = provider.find_kx(NamedGroup::X25519).expect("x25519");
        suite.time(
            &format!("x25519 [{}]", &name["overture-".len()..]),
            &mut [
                (name, &mut || {
                    let ours = kx.start().expect("start");
                    black_box(ours.public_key());
                    black_box(ours.complete(black_box(&peer_share)).expect("agree"));
                }),
                ("raw-ring", &mut || {
                    let private =
                        agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
                            .expect("generate");
                    black_box(private.compute_public_key().expect("public"));
                    let peer = agreement::UnparsedPublicKey::new(
                        &agreement::X25519,
                        black_box(&peer_share),
                    );
                    black_box(
                        agreement::agree_ephemeral(private, &peer, |s| {
                            let mut out = [0u8; 32];
                            out.copy_from_slice(s);
                            out
                        })
                        .expect("agree"),
                    );
                }),
            ],
        );
    }

    // --- Signature verification ------------------------------------------------------------
    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("pkcs8");
    let pair = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .expect("pair");
    let message = [0x33u8; 32];
    let ecdsa_sig = pair.sign(&rng, &message).expect("sign").as_ref().to_vec();
    let ecdsa_pub = signature::KeyPair::public_key(&pair).as_ref().to_vec();
    let (rsa_pub, rsa_msg, rsa_sig) = rsa_vector();
    for (case, scheme, raw_alg, public, msg, sig) in [
        (
            "ecdsa-p256-verify",
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &signature::ECDSA_P256_SHA256_ASN1 as &dyn signature::VerificationAlgorithm,
            &ecdsa_pub,
            &message[..],
            &ecdsa_sig,
        ),
        (
            "rsa2048-pkcs1-verify",
            SignatureScheme::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
            &rsa_pub,
            &rsa_msg[..],
            &rsa_sig,
        ),
    ] {
        for (name, provider) in &providers {
            let verifier = provider.verifier_for_scheme(scheme).expect("verifier");
            verifier.verify(public, msg, sig).expect("valid signature");
            suite.time(
                &format!("{case} [{}]", &name["overture-".len()..]),
                &mut [
                    (name, &mut || {
                        verifier
                            .verify(black_box(public), black_box(msg), black_box(sig))
                            .expect("verify");
                    }),
                    ("raw-ring", &mut || {
                        signature::UnparsedPublicKey::new(raw_alg, black_box(public))
                            .verify(black_box(msg), black_box(sig))
                            .expect("verify");
                    }),
                ],
            );
        }
    }

    // --- HKDF-Expand-Label: a record key and IV from a traffic secret --------------------
    /// Raw ring's HKDF-Expand-Label of a key (16) and an IV (12).
    fn raw_key_and_iv(prk: &hkdf::Prk) -> ([u8; 16], [u8; 12]) {
        let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
        for (label, out) in [(&b"key"[..], &mut key[..]), (b"iv", &mut iv[..])] {
            let len = (out.len() as u16).to_be_bytes();
            let label_len = [(6 + label.len()) as u8];
            prk.expand(&[&len, &label_len, b"tls13 ", label, &[0]], Len(out.len()))
                .and_then(|okm| okm.fill(out))
                .expect("expand");
        }
        (key, iv)
    }
    /// The same through the provider traits.
    fn key_and_iv(exp: &dyn overture_crypto_provider::HkdfExpander) -> ([u8; 16], [u8; 12]) {
        let (mut key, mut iv) = ([0u8; 16], [0u8; 12]);
        expand_label(exp, b"key", &[], &mut key).expect("key");
        expand_label(exp, b"iv", &[], &mut iv).expect("iv");
        (key, iv)
    }
    let secret = [0x77u8; 32];
    let raw_prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
    for (name, provider) in &providers {
        let hkdf = provider
            .find_suite(CipherSuite::TLS13_AES_128_GCM_SHA256)
            .and_then(|s| match s {
                overture_crypto_provider::SupportedCipherSuite::Tls13(s) => Some(s.hkdf),
                overture_crypto_provider::SupportedCipherSuite::Tls12(_) => None,
            })
            .expect("hkdf");
        assert_eq!(
            key_and_iv(&*hkdf.expander(&secret).expect("prk")),
            raw_key_and_iv(&raw_prk),
            "{name} and raw ring derive the same key and IV"
        );
        let provider_name = &name["overture-".len()..];
        // The expander (HMAC key schedule of the secret) built once, as the key schedule holds
        // it: two labels.
        let exp = hkdf.expander(&secret).expect("prk");
        suite.time(
            &format!("hkdf-expand-label [{provider_name}]"),
            &mut [
                (name, &mut || {
                    black_box(key_and_iv(black_box(&*exp)));
                }),
                ("raw-ring", &mut || {
                    black_box(raw_key_and_iv(black_box(&raw_prk)));
                }),
            ],
        );
        // Including the expander's construction from the secret (one `Box` on our side: the
        // trait returns `Box<dyn HkdfExpander>`).
        suite.time(
            &format!("hkdf-expander+expand-label [{provider_name}]"),
            &mut [
                (name, &mut || {
                    let exp = hkdf.expander(black_box(&secret)).expect("prk");
                    black_box(key_and_iv(&*exp));
                }),
                ("raw-ring", &mut || {
                    let prk = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, black_box(&secret));
                    black_box(raw_key_and_iv(&prk));
                }),
            ],
        );
    }

    // --- ML-KEM-768: the two candidate crates side by side -------------------------------
    // Both behind the same `Kem` wrapper (ring provider: libcrux-ml-kem, rustcrypto provider:
    // ml-kem), with fixed seeds and randomness so both do exactly the same work.
    let kems: [(&str, &dyn overture_crypto_provider::Kem); 2] = [
        ("libcrux-ml-kem", &ring_provider::MLKEM768),
        ("ml-kem", &rustcrypto::MLKEM768),
    ];
    let seed = [0x5au8; 64];
    let m = [0xa5u8; 32];
    let keys: Vec<_> = kems
        .iter()
        .map(|(_, k)| k.generate_from_seed(&seed).expect("keygen"))
        .collect();
    let ek = keys[0].encapsulation_key().to_vec();
    assert_eq!(
        ek,
        keys[1].encapsulation_key(),
        "the crates agree on keygen"
    );
    let (ct, ss) = kems[0]
        .1
        .encapsulate_deterministic(&ek, &m)
        .expect("encaps");
    assert_eq!(
        (ct.clone(), ss.clone()),
        kems[1]
            .1
            .encapsulate_deterministic(&ek, &m)
            .expect("encaps"),
        "the crates agree on encapsulation"
    );
    {
        let [(a_name, a), (b_name, b)] = kems;
        suite.time(
            "mlkem768-keygen",
            &mut [
                (a_name, &mut || {
                    black_box(a.generate_from_seed(black_box(&seed)).expect("keygen"));
                }),
                (b_name, &mut || {
                    black_box(b.generate_from_seed(black_box(&seed)).expect("keygen"));
                }),
            ],
        );
        suite.time(
            "mlkem768-encapsulate",
            &mut [
                (a_name, &mut || {
                    black_box(
                        a.encapsulate_deterministic(black_box(&ek), &m)
                            .expect("encaps"),
                    );
                }),
                (b_name, &mut || {
                    black_box(
                        b.encapsulate_deterministic(black_box(&ek), &m)
                            .expect("encaps"),
                    );
                }),
            ],
        );
        let (ka, kb) = (&keys[0], &keys[1]);
        suite.time(
            "mlkem768-decapsulate",
            &mut [
                (a_name, &mut || {
                    black_box(ka.decapsulate(black_box(&ct)).expect("decaps"));
                }),
                (b_name, &mut || {
                    black_box(kb.decapsulate(black_box(&ct)).expect("decaps"));
                }),
            ],
        );
    }

    // --- X25519MLKEM768, the client's side: generate, share, complete ---------------------
    // Against the same provider's plain x25519 exchange: the ratio is what post-quantum costs.
    for (name, provider, hybrid) in [
        (
            "overture-ring",
            &providers[0].1,
            &ring_provider::X25519MLKEM768 as &dyn overture_crypto_provider::KeyExchange,
        ),
        (
            "overture-rustcrypto",
            &providers[1].1,
            &rustcrypto::X25519MLKEM768,
        ),
    ] {
        let x25519 = provider.find_kx(NamedGroup::X25519).expect("x25519");
        let server = hybrid
            .start_and_complete(hybrid.start().expect("start").public_key())
            .expect("server share");
        suite.time(
            &format!("x25519mlkem768-client [{}]", &name["overture-".len()..]),
            &mut [
                (name, &mut || {
                    let ours = hybrid.start().expect("start");
                    black_box(ours.public_key());
                    // Decapsulating another key's ciphertext costs the same (implicit
                    // rejection runs the full re-encryption either way).
                    black_box(ours.complete(black_box(&server.share)).expect("complete"));
                }),
                ("x25519", &mut || {
                    let ours = x25519.start().expect("start");
                    black_box(ours.public_key());
                    black_box(ours.complete(black_box(&peer_share)).expect("agree"));
                }),
            ],
        );
    }

    suite.finish();
}

#[cfg(not(feature = "crypto"))]
fn main() {
    overture_benches::needs_feature("crypto")
}

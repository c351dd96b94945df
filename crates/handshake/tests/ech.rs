//! Encrypted Client Hello (RFC 9849) at the handshake's API: the ClientHelloOuter a client
//! sends, opened with the server's HPKE key as RFC 9849 §7.1 says — public name outside, the
//! real name, ALPN and an `inner` ECH extension inside, padding per §6.1.3, the outer hello
//! bound as AAD (§5.2) — GREASE's shape (§6.2.1), and the configurations `start` refuses.
//! The whole exchange (acceptance, HelloRetryRequest, rejection) runs against Go's crypto/tls
//! in `tests/tests/pq_peers.rs` and a scripted server in the hostile corpus.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use common::{PinnedVerifier, ecdsa_identity};
use overture_crypto_provider::hpke::{Hpke, HpkeContext};
use overture_crypto_provider::{Secret, ring};
use overture_handshake::ech::{EchConfigList, EchMode, EchStatus};
use overture_handshake::msgs::{ClientExtension, ClientHello, HandshakeMessage};
use overture_handshake::{
    ClientHandshake, Error, Event, ExtensionOptions, HandshakeConfig, StartOptions,
};
use overture_types::{
    Codec, ExtensionType, LengthWidth, ProtocolVersion, Reader, ServerName, UnixTime,
};
use std::sync::Arc;

/// An ECH key pair and its one-config list (config_id 5, AES-128-GCM then ChaCha20-Poly1305).
struct EchKey {
    secret: Secret,
    config: Vec<u8>,
    list: Vec<u8>,
}

fn ech_key(public_name: &str, maximum_name_length: u8) -> EchKey {
    let hpke = Hpke::from_provider(&ring::default_provider(), 0x20, 1, 1).unwrap();
    let (secret, public) = hpke.generate_key_pair().unwrap();
    let mut c = vec![5u8, 0, 0x20, 0, 32];
    c.extend_from_slice(&public);
    c.extend_from_slice(&[0, 8, 0, 1, 0, 1, 0, 1, 0, 3, maximum_name_length]);
    c.push(u8::try_from(public_name.len()).unwrap());
    c.extend_from_slice(public_name.as_bytes());
    c.extend_from_slice(&[0, 0]);
    let mut config = vec![0xfe, 0x0d];
    config.extend_from_slice(&u16::try_from(c.len()).unwrap().to_be_bytes());
    config.extend_from_slice(&c);
    let mut list = u16::try_from(config.len()).unwrap().to_be_bytes().to_vec();
    list.extend_from_slice(&config);
    EchKey {
        secret,
        config,
        list,
    }
}

fn config(versions: &[ProtocolVersion], ech: EchMode) -> Arc<HandshakeConfig> {
    let (cert, _) = ecdsa_identity("example.com");
    let provider = Arc::new(ring::default_provider());
    Arc::new(HandshakeConfig {
        provider: provider.clone(),
        versions: versions.to_vec(),
        alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        enable_sni: true,
        middlebox_compat: true,
        verifier: Arc::new(PinnedVerifier {
            cert: cert.to_vec(),
            name: "example.com".into(),
            schemes: provider.supported_schemes(),
            provider,
        }),
        client_auth: None,
        verify_schemes: None,
        signing_schemes: None,
        key_log: None,
        extensions: ExtensionOptions {
            ech,
            ..ExtensionOptions::default()
        },
    })
}

/// Starts a handshake to `name`; returns the ClientHello sent and the events.
fn start(
    versions: &[ProtocolVersion],
    ech: EchMode,
    name: &str,
) -> Result<(Vec<u8>, Vec<Event>), Error> {
    let mut events = Vec::new();
    ClientHandshake::start(
        config(versions, ech),
        ServerName::try_from(name).unwrap().to_owned(),
        UnixTime::now(),
        StartOptions::default(),
        &mut events,
    )?;
    let Some(Event::Send { bytes, .. }) = events.first() else {
        panic!("no ClientHello: {events:?}")
    };
    Ok((bytes.clone(), events))
}

fn decode(bytes: &[u8]) -> ClientHello<'_> {
    let HandshakeMessage::ClientHello(ch) = HandshakeMessage::decode(bytes).unwrap() else {
        panic!()
    };
    ch
}

fn sni(ch: &ClientHello) -> Option<String> {
    ch.extensions.0.iter().find_map(|e| match e {
        ClientExtension::ServerName(n) => Some(String::from_utf8(n.to_vec()).unwrap()),
        _ => None,
    })
}

fn ech_body(ch: &ClientHello<'_>) -> Vec<u8> {
    ch.extensions
        .0
        .iter()
        .find_map(|e| match e {
            ClientExtension::Other(x) if x.typ == ExtensionType::EncryptedClientHello => {
                Some(x.data.as_slice().to_vec())
            }
            _ => None,
        })
        .expect("an encrypted_client_hello extension")
}

/// The outer ECH extension's fields: (kdf, aead), config_id, enc, payload.
fn outer_fields(body: &[u8]) -> ((u16, u16), u8, Vec<u8>, Vec<u8>) {
    let mut r = Reader::new(body);
    assert_eq!(r.u8("type").unwrap(), 0, "the outer variant");
    let suite = (r.u16("kdf").unwrap(), r.u16("aead").unwrap());
    let id = r.u8("config_id").unwrap();
    let enc = r
        .prefixed(LengthWidth::U16, 0, 0xffff, "enc")
        .unwrap()
        .rest()
        .to_vec();
    let payload = r
        .prefixed(LengthWidth::U16, 1, 0xffff, "payload")
        .unwrap()
        .rest()
        .to_vec();
    r.expect_empty("ECHClientHello").unwrap();
    (suite, id, enc, payload)
}

/// RFC 9849 §7.1: opens the outer hello's payload with the server's key; returns the
/// EncodedClientHelloInner and the context.
fn open(key: &EchKey, outer: &ClientHello) -> Result<(Vec<u8>, HpkeContext), String> {
    let body = ech_body(outer);
    let ((kdf, aead), _, enc, payload) = outer_fields(&body);
    let mut aad = outer.clone();
    for e in aad.extensions.0.to_mut() {
        if let ClientExtension::Other(x) = e
            && x.typ == ExtensionType::EncryptedClientHello
        {
            let at = x.data.0.len() - payload.len();
            x.data.0.to_mut()[at..].fill(0);
        }
    }
    let mut aad_bytes = Vec::new();
    aad.encode(&mut aad_bytes).unwrap();
    let hpke = Hpke::from_provider(&ring::default_provider(), 0x20, kdf, aead).unwrap();
    let info = [&b"tls ech\0"[..], &key.config].concat();
    let mut ctx = hpke
        .setup_base_receiver(&enc, key.secret.as_bytes(), &info)
        .map_err(|e| e.to_string())?;
    let plain = ctx.open(&aad_bytes, &payload).map_err(|e| e.to_string())?;
    Ok((plain, ctx))
}

#[test]
fn the_outer_hello_carries_the_inner_one_sealed_to_the_config_key() {
    let key = ech_key("public.example", 0);
    let list = EchConfigList::parse(&key.list).unwrap();
    let (bytes, events) = start(
        &[ProtocolVersion::TLSv1_3],
        EchMode::Enabled(list),
        "secret.example.com",
    )
    .unwrap();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Ech(_))),
        "the status comes with the ServerHello"
    );
    let outer = decode(&bytes);
    assert_eq!(sni(&outer).as_deref(), Some("public.example"));
    assert!(
        !bytes.windows(18).any(|w| w == b"secret.example.com"),
        "the real name is not visible"
    );
    let ((kdf, aead), id, enc, payload) = outer_fields(&ech_body(&outer));
    assert_eq!(((kdf, aead), id, enc.len()), ((1, 1), 5, 32));

    let (encoded, _) = open(&key, &outer).unwrap();
    // EncodedClientHelloInner: the inner ClientHello, empty session id, zero padding to a
    // multiple of 32 (RFC 9849 §5.1, §6.1.3).
    assert_eq!(encoded.len() % 32, 0);
    assert_eq!(payload.len(), encoded.len() + 16);
    let mut r = Reader::new(&encoded);
    let inner = ClientHello::read(&mut r).unwrap();
    assert!(r.rest().iter().all(|b| *b == 0), "zero padding");
    assert!(inner.session_id.0.is_empty());
    assert_eq!(outer.session_id.0.len(), 32, "compat mode's id is outside");
    assert_ne!(inner.random, outer.random, "a fresh outer random");
    assert_eq!(sni(&inner).as_deref(), Some("secret.example.com"));
    assert_eq!(ech_body(&inner), [1], "the inner variant");
    // TLS 1.3 only in both.
    for ch in [&inner, &outer] {
        let versions = ch.extensions.0.iter().find_map(|e| match e {
            ClientExtension::SupportedVersions(v) => Some(v.0.to_vec()),
            _ => None,
        });
        assert_eq!(versions, Some(vec![ProtocolVersion::TLSv1_3]));
    }
    // key_share compressed (RFC 9849 §5.1): ech_outer_extensions = [key_share] inside, the
    // shares themselves only outside.
    let has_shares = |ch: &ClientHello| {
        ch.extensions
            .0
            .iter()
            .any(|e| matches!(e, ClientExtension::KeyShare(_)))
    };
    assert!(has_shares(&outer) && !has_shares(&inner));
    let compressed = inner.extensions.0.iter().find_map(|e| match e {
        ClientExtension::Other(x) if x.typ == ExtensionType::Unknown(0xfd00) => {
            Some(x.data.0.clone())
        }
        _ => None,
    });
    assert_eq!(compressed.as_deref(), Some(&[2, 0x00, 0x33][..]));

    // The outer hello is the AAD: change one byte of it and the payload no longer opens.
    let mut tampered = outer.clone();
    tampered.random[0] ^= 1;
    assert!(open(&key, &tampered).is_err());
    // Another key does not open it.
    let other = ech_key("public.example", 0);
    assert!(open(&other, &outer).is_err());
}

#[test]
fn padding_covers_the_longest_name_of_the_anonymity_set() {
    // maximum_name_length 100: a 1-byte name and a 64-byte name pad to the same length.
    let key = ech_key("public.example", 100);
    let mut lens = Vec::new();
    for name in ["a.example", &format!("{}.example", "b".repeat(55))] {
        let list = EchConfigList::parse(&key.list).unwrap();
        let (bytes, _) = start(&[ProtocolVersion::TLSv1_3], EchMode::Enabled(list), name).unwrap();
        let (encoded, _) = open(&key, &decode(&bytes)).unwrap();
        lens.push(encoded.len());
    }
    assert_eq!(lens[0], lens[1], "{lens:?}");
}

#[test]
fn grease_looks_like_an_offer_and_is_reported_at_once() {
    let (bytes, events) = start(
        &[ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2],
        EchMode::Grease,
        "example.com",
    )
    .unwrap();
    assert!(matches!(events.get(1), Some(Event::Ech(EchStatus::Grease))));
    let ch = decode(&bytes);
    assert_eq!(
        sni(&ch).as_deref(),
        Some("example.com"),
        "GREASE hides nothing"
    );
    let ((kdf, aead), _, enc, payload) = outer_fields(&ech_body(&ch));
    assert_eq!((kdf, aead, enc.len()), (1, 1, 32));
    // A payload the size a real offer of this hello would have: a multiple of 32 plus the tag.
    assert_eq!((payload.len() - 16) % 32, 0);
    assert!(payload.len() > 200, "{}", payload.len());
}

#[test]
fn start_refuses_what_ech_cannot_be_offered_with() {
    let key = ech_key("public.example", 0);
    let list = EchConfigList::parse(&key.list).unwrap();
    let both = [ProtocolVersion::TLSv1_3, ProtocolVersion::TLSv1_2];
    let err = start(&both, EchMode::Enabled(list.clone()), "example.com").unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert_eq!(err.alert(), None);
    // A list whose only config is for a KEM we lack.
    let mut p256 = key.list.clone();
    p256[7..9].copy_from_slice(&0x10u16.to_be_bytes());
    let list = EchConfigList::parse(&p256).unwrap();
    let err = start(
        &[ProtocolVersion::TLSv1_3],
        EchMode::Enabled(list),
        "example.com",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

/// The ClientHello sizes of the note: the default groups (an X25519MLKEM768 and an
/// x25519 share), plain and with ECH (`--nocapture` prints them).
#[test]
fn client_hello_sizes() {
    let key = ech_key("public.example", 0);
    let tls13 = [ProtocolVersion::TLSv1_3];
    let (plain, _) = start(&tls13, EchMode::Off, "example.com").unwrap();
    let (grease, _) = start(&tls13, EchMode::Grease, "example.com").unwrap();
    let list = EchConfigList::parse(&key.list).unwrap();
    let (ech, _) = start(&tls13, EchMode::Enabled(list), "example.com").unwrap();
    println!(
        "ClientHello bytes (TLS 1.3 only, example.com, default groups): plain {}, GREASE ECH {}, ECH {}",
        plain.len(),
        grease.len(),
        ech.len()
    );
    // key_share is not repeated inside: the ECH hello is far from twice the plain one, and
    // GREASE is within a few bytes of it (the same padded payload length).
    assert!(ech.len() < plain.len() + 600, "{}", ech.len());
    assert!(
        ech.len().abs_diff(grease.len()) < 16,
        "{} {}",
        ech.len(),
        grease.len()
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Peer input (a server's retry_configs): arbitrary bytes are an error or a list,
        /// never a panic; a list of known configs selects only usable ones.
        #[test]
        fn arbitrary_lists_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(list) = EchConfigList::parse(&bytes) {
                prop_assert_eq!(list.as_bytes(), &bytes[..]);
                if let Some((c, _)) = list.select(&ring::default_provider()) {
                    prop_assert!(c.is_usable());
                }
            }
        }

        /// A real list with one byte changed: parsed or refused, never a panic, and what
        /// parses keeps the 0xfe0d configs' syntax.
        #[test]
        fn mutated_lists_never_panic(at in 0usize..100, value in any::<u8>()) {
            let mut bytes = ech_key("public.example", 0).list;
            let i = at % bytes.len();
            bytes[i] = value;
            if let Ok(list) = EchConfigList::parse(&bytes) {
                for c in list.configs() {
                    prop_assert!(!c.public_key.is_empty() && !c.cipher_suites.is_empty());
                }
            }
        }
    }
}

/// RFC 9849 §6.1.4: a HelloRetryRequest without the ECH extension rejects ECH; the second
/// ClientHello is then the outer one again (same random, same ECH extension, the public name
/// even with SNI off for the real name), and never shows the real name.
#[test]
fn a_rejecting_hello_retry_request_makes_the_second_hello_the_outer_one() {
    use overture_handshake::msgs::{Extension, HELLO_RETRY_REQUEST_RANDOM, ServerHello};
    use overture_types::{CipherSuite, Compression, LazyU16, NamedGroup, PayloadU16};
    let key = ech_key("public.example", 0);
    let list = EchConfigList::parse(&key.list).unwrap();
    let mut cfg = (*config(&[ProtocolVersion::TLSv1_3], EchMode::Enabled(list))).clone();
    cfg.enable_sni = false;
    let mut events = Vec::new();
    let mut hs = ClientHandshake::start(
        Arc::new(cfg),
        ServerName::try_from("secret.example.com").unwrap(),
        UnixTime::now(),
        StartOptions::default(),
        &mut events,
    )
    .unwrap();
    let sent = |events: &[Event]| {
        events
            .iter()
            .find_map(|e| match e {
                Event::Send { bytes, .. } => Some(bytes.clone()),
                _ => None,
            })
            .unwrap()
    };
    let first = sent(&events);
    let ch1 = decode(&first);
    assert_eq!(sni(&ch1).as_deref(), Some("public.example"));
    let (inner, _) = open(&key, &ch1).unwrap();
    assert!(sni(&ClientHello::read(&mut Reader::new(&inner)).unwrap()).is_none());
    let ext = |typ, data: &[u8]| Extension {
        typ,
        data: PayloadU16(data.to_vec().into()),
    };
    let hrr = HandshakeMessage::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::TLSv1_2,
        random: HELLO_RETRY_REQUEST_RANDOM,
        session_id: ch1.session_id.clone(),
        cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        compression_method: Compression::Null,
        extensions: LazyU16::from(vec![
            ext(ExtensionType::SupportedVersions, &[3, 4]),
            ext(
                ExtensionType::KeyShare,
                &NamedGroup::secp256r1.get().to_be_bytes(),
            ),
        ]),
    })
    .encode()
    .unwrap();
    events.clear();
    hs.handle(&hrr, UnixTime::now(), &mut events).unwrap();
    let second = sent(&events);
    let ch2 = decode(&second);
    assert_eq!(ch2.random, ch1.random);
    assert_eq!(sni(&ch2).as_deref(), Some("public.example"));
    assert_eq!(
        ech_body(&ch2),
        ech_body(&ch1),
        "the first outer extension again"
    );
    assert!(!second.windows(18).any(|w| w == b"secret.example.com"));
}

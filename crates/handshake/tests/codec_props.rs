//! Property tests of the message codec: every message built from random field values encodes
//! to bytes that decode to the same message, every strict prefix of those bytes is an error
//! (never a panic), and so is a trailing byte. The fixed examples in `msgs.rs` pin the exact
//! bytes; these cover the value space.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_handshake::msgs::*;
use overture_types::{
    CipherSuite, Compression, ExtensionType, KeyUpdateRequest, LazyU16, LazyU24, NamedGroup,
    PayloadU8, PayloadU16, PayloadU24, ProtocolVersion, PskKeyExchangeMode, SignatureScheme,
};
use proptest::prelude::*;

fn bytes(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), min..=max)
}

/// Raw extensions of types the parser keeps raw in the messages that carry `Extension`s.
fn raw_extensions() -> impl Strategy<Value = Vec<Extension<'static>>> {
    prop::collection::vec(
        (any::<u16>(), bytes(0, 40)).prop_map(|(t, d)| Extension {
            typ: ExtensionType::from(t),
            data: PayloadU16(d.into()),
        }),
        0..5,
    )
}

fn round_trip(m: &HandshakeMessage) -> Result<(), TestCaseError> {
    let wire = m.encode().unwrap();
    prop_assert_eq!(&HandshakeMessage::decode(&wire).unwrap(), m);
    for cut in 0..wire.len() {
        prop_assert!(
            HandshakeMessage::decode(&wire[..cut]).is_err(),
            "cut at {}",
            cut
        );
    }
    let mut long = wire.clone();
    long.push(0);
    prop_assert!(HandshakeMessage::decode(&long).is_err());
    Ok(())
}

fn client_extension() -> impl Strategy<Value = ClientExtension<'static>> {
    prop_oneof![
        prop::collection::vec(any::<u16>(), 1..6).prop_map(|v| ClientExtension::SupportedVersions(
            ListU8::from(v.into_iter().map(ProtocolVersion::from).collect::<Vec<_>>())
        )),
        prop::collection::vec(any::<u16>(), 1..6).prop_map(|v| ClientExtension::SupportedGroups(
            ListU16::from(v.into_iter().map(NamedGroup::from).collect::<Vec<_>>())
        )),
        prop::collection::vec((any::<u16>(), bytes(1, 97)), 0..3).prop_map(|v| {
            ClientExtension::KeyShare(ListU16::from(
                v.into_iter()
                    .map(|(g, k)| KeyShareEntry {
                        group: NamedGroup::from(g),
                        key_exchange: PayloadU16(k.into()),
                    })
                    .collect::<Vec<_>>(),
            ))
        }),
        prop::collection::vec(any::<u16>(), 1..8).prop_map(|v| {
            ClientExtension::SignatureAlgorithms(ListU16::from(
                v.into_iter().map(SignatureScheme::from).collect::<Vec<_>>(),
            ))
        }),
        prop::collection::vec(bytes(1, 12), 1..4)
            .prop_map(|v| ClientExtension::Alpn(ProtocolNames(v.into()))),
        prop::collection::vec(any::<u8>(), 1..3).prop_map(|v| {
            ClientExtension::PskKeyExchangeModes(ListU8::from(
                v.into_iter()
                    .map(PskKeyExchangeMode::from)
                    .collect::<Vec<_>>(),
            ))
        }),
        bytes(1, 40).prop_map(|c| ClientExtension::Cookie(PayloadU16(c.into()))),
        // Types the parser does not interpret (GREASE-like values) stay raw.
        (0u16..16, bytes(0, 20)).prop_map(|(i, d)| ClientExtension::Other(Extension {
            typ: ExtensionType::from(0x0a0a + 0x1010 * i),
            data: PayloadU16(d.into()),
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn client_hello(
        random in any::<[u8; 32]>(),
        session_id in bytes(0, 32),
        suites in prop::collection::vec(any::<u16>(), 1..10),
        // The extension block is at least 8 bytes (two empty extensions) in our codec.
        extensions in prop::collection::vec(client_extension(), 2..6),
    ) {
        round_trip(&HandshakeMessage::ClientHello(ClientHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random,
            session_id: PayloadU8(session_id.into()),
            cipher_suites: ListU16::from(suites.into_iter().map(CipherSuite::from).collect::<Vec<_>>()),
            compression_methods: ListU8::from(vec![Compression::Null]),
            extensions: ListU16::from(extensions),
        }))?;
    }

    #[test]
    fn server_hello(
        random in any::<[u8; 32]>(),
        session_id in bytes(0, 32),
        suite in any::<u16>(),
        extensions in raw_extensions(),
    ) {
        round_trip(&HandshakeMessage::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::TLSv1_2,
            random,
            session_id: PayloadU8(session_id.into()),
            cipher_suite: CipherSuite::from(suite),
            compression_method: Compression::Null,
            extensions: extensions.into(),
        }))?;
    }

    #[test]
    fn encrypted_extensions(extensions in raw_extensions()) {
        round_trip(&HandshakeMessage::EncryptedExtensions(EncryptedExtensions { extensions: extensions.into() }))?;
    }

    #[test]
    fn certificate(
        context in bytes(0, 8),
        entries in prop::collection::vec((bytes(1, 300), raw_extensions()), 0..4),
    ) {
        round_trip(&HandshakeMessage::Certificate(Certificate {
            context: PayloadU8(context.into()),
            entries: LazyU24::from(
                entries
                    .into_iter()
                    .map(|(c, e)| CertificateEntry { cert_data: PayloadU24(c.into()), extensions: e.into() })
                    .collect::<Vec<_>>(),
            ),
        }))?;
    }

    #[test]
    fn certificate_verify(scheme in any::<u16>(), signature in bytes(0, 300)) {
        round_trip(&HandshakeMessage::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::from(scheme),
            signature: PayloadU16(signature.into()),
        }))?;
    }

    #[test]
    fn finished(verify_data in bytes(1, 64)) {
        round_trip(&HandshakeMessage::Finished(&verify_data))?;
    }

    #[test]
    fn new_session_ticket(
        lifetime in any::<u32>(),
        age_add in any::<u32>(),
        nonce in bytes(0, 16),
        ticket in bytes(1, 200),
        extensions in raw_extensions(),
    ) {
        round_trip(&HandshakeMessage::NewSessionTicket(NewSessionTicket {
            lifetime,
            age_add,
            nonce: PayloadU8(nonce.into()),
            ticket: PayloadU16(ticket.into()),
            extensions: extensions.into(),
        }))?;
    }

    /// The encoder under hostile lengths: a ticket, extension or certificate of any length up
    /// to well past its prefix's maximum (the sizes a peer could make us store and send back)
    /// either encodes to bytes that decode to the same message, or is an `EncodeError` exactly
    /// when a field exceeds its prefix; never a panic, never a clamped length.
    #[test]
    fn encoder_refuses_what_its_prefix_cannot_say(
        // A ticket (and a PSK identity) is at least one byte: its type's minimum, which decoding
        // checks and encoding does not (only the prefix bounds what can be encoded).
        ticket_len in prop_oneof![1usize..300, 65_400usize..65_700],
        ext_len in prop_oneof![0usize..100, 65_400usize..65_700],
        cert_len in prop_oneof![1usize..100, 16_777_000usize..16_777_300],
        which in 0u8..3,
    ) {
        let (msg, overflow) = match which {
            0 => (
                HandshakeMessage::NewSessionTicket(NewSessionTicket {
                    lifetime: 1,
                    age_add: 2,
                    nonce: PayloadU8(vec![].into()),
                    ticket: PayloadU16(vec![7; ticket_len].into()),
                    extensions: LazyU16::from(vec![]),
                }),
                ticket_len > 0xffff,
            ),
            1 => {
                // A PSK identity inside the pre_shared_key extension inside the block: each
                // level has its own 16-bit prefix.
                let ch = ClientHello {
                    legacy_version: ProtocolVersion::TLSv1_2,
                    random: [1; 32],
                    session_id: PayloadU8(vec![].into()),
                    cipher_suites: ListU16::from(vec![CipherSuite::TLS13_AES_128_GCM_SHA256]),
                    compression_methods: ListU8::from(vec![Compression::Null]),
                    extensions: ListU16::from(vec![
                        ClientExtension::Other(Extension {
                            typ: ExtensionType::Padding,
                            data: PayloadU16(vec![0; ext_len].into()),
                        }),
                        ClientExtension::PreSharedKey(OfferedPsks {
                            identities: ListU16::from(vec![PskIdentity {
                                identity: PayloadU16(vec![5; ticket_len].into()),
                                obfuscated_ticket_age: 0,
                            }]),
                            binders: ListU16::from(vec![PayloadU8(vec![0; 32].into())]),
                        }),
                    ]),
                };
                // padding ext (4 + len) + psk ext (4 + 2 + 2 + len + 4 + 2 + 33)
                let block = 4 + ext_len + 4 + 2 + 2 + ticket_len + 4 + 2 + 33;
                let overflow = ext_len > 0xffff
                    || ticket_len > 0xffff
                    || 2 + 2 + ticket_len + 4 + 2 + 33 > 0xffff
                    || block > 0xffff;
                (HandshakeMessage::ClientHello(ch), overflow)
            }
            _ => (
                HandshakeMessage::Certificate(Certificate {
                    context: PayloadU8(vec![].into()),
                    entries: LazyU24::from(vec![CertificateEntry {
                        cert_data: PayloadU24(vec![0x30; cert_len].into()),
                        extensions: LazyU16::from(vec![]),
                    }]),
                }),
                // entry: 3 + len + 2; list: 3 + entry; message: 4 + 1 + list (u24 body)
                1 + 3 + 3 + cert_len + 2 > 0xff_ffff,
            ),
        };
        match msg.encode() {
            Ok(wire) => {
                prop_assert!(!overflow, "encoded a message whose field overflows");
                prop_assert_eq!(&HandshakeMessage::decode(&wire).unwrap(), &msg);
            }
            Err(e) => {
                prop_assert!(overflow, "refused a message that fits: {:?}", e);
                prop_assert!(e.len > e.max);
            }
        }
    }

    #[test]
    fn key_update(requested in any::<bool>()) {
        round_trip(&HandshakeMessage::KeyUpdate(if requested {
            KeyUpdateRequest::UpdateRequested
        } else {
            KeyUpdateRequest::UpdateNotRequested
        }))?;
    }
}

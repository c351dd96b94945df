//! Every handshake message parser of `overture_handshake::msgs`, and the round trip: whatever
//! decodes re-encodes to the same bytes (except the non-canonical forms listed below) and
//! decodes again to an equal value; the TLS 1.2 messages (`Tls12Message`, CertificateStatus
//! included) the same way; the extension bodies the client reads (status_request and
//! signed_certificate_timestamp in CertificateEntries, encrypted_client_hello in
//! EncryptedExtensions and HelloRetryRequest, early_data) as it reads them. Input: a selector
//! byte, then the bytes to parse.
#![no_main]

use core::fmt::Debug;
use libfuzzer_sys::fuzz_target;
use overture_handshake::EchConfigList;
use overture_handshake::msgs::{
    Certificate, CertificateEntry, CertificateRequest, CertificateVerify, ClientExtension,
    ClientHello, EncryptedExtensions, Extension, ExtensionContext, HandshakeMessage, KeyShareEntry,
    NewSessionTicket, OfferedPsks, PskIdentity, ServerHello, Tls12Message, check_extensions,
    find_extension, read_certificate_status, read_extension, read_sct_list,
};
use overture_types::{
    Codec, ExtensionType, LazyU16, NamedGroup, PayloadU8, PayloadU16, ProtocolVersion, VecU8,
};

/// `T::read_bytes`, then the round trip (the encoding is the input, so it decodes again to an
/// equal value).
fn round_trip<'a, T: Codec<'a> + PartialEq + Debug>(bytes: &'a [u8]) -> Option<T> {
    let v = T::read_bytes(bytes).ok()?;
    let again = v.get_encoding().expect("what decoded re-encodes");
    assert_eq!(again, bytes, "{v:?} re-encodes differently");
    Some(v)
}

/// A ServerHello re-encodes to its input, or to its input plus an empty extension block when
/// the input had none.
fn server_hello_canonical(sh: &ServerHello<'_>, body: &[u8]) {
    let again = sh.get_encoding().expect("what decoded re-encodes");
    let same =
        again == body || (sh.extensions.is_empty() && again.strip_suffix(&[0, 0]) == Some(body));
    assert!(same, "{sh:?} re-encodes differently");
    assert_eq!(ServerHello::read_bytes(&again).as_ref().ok(), Some(sh));
}

fn whole_message(bytes: &[u8]) {
    let Ok(m) = HandshakeMessage::decode(bytes) else {
        return;
    };
    assert_eq!(bytes.first().copied(), Some(u8::from(m.typ())));
    let again = m.encode().expect("what decoded re-encodes");
    assert_eq!(HandshakeMessage::decode(&again).as_ref(), Ok(&m), "{m:?}");
    // Non-canonical but accepted: a ServerHello without an extension block (TLS 1.2) and the
    // body of a type we do not handle (kept as its type only).
    match &m {
        HandshakeMessage::Other(_) => {}
        HandshakeMessage::ServerHello(sh) => {
            server_hello_canonical(sh, bytes.get(4..).unwrap_or_default());
        }
        _ => assert_eq!(again, bytes, "{m:?} re-encodes differently"),
    }
    // The state machine's extension checks on every server extension block.
    match &m {
        HandshakeMessage::ServerHello(sh) => block(
            &sh.extensions,
            if sh.is_retry_request() {
                ExtensionContext::HelloRetryRequest
            } else {
                ExtensionContext::ServerHello
            },
        ),
        HandshakeMessage::EncryptedExtensions(ee) => {
            block(&ee.extensions, ExtensionContext::EncryptedExtensions)
        }
        HandshakeMessage::CertificateRequest(cr) => {
            block(&cr.extensions, ExtensionContext::CertificateRequest)
        }
        HandshakeMessage::Certificate(c) => {
            for e in c.entries.iter() {
                block(&e.extensions, ExtensionContext::Certificate);
            }
        }
        HandshakeMessage::NewSessionTicket(t) => {
            block(&t.extensions, ExtensionContext::NewSessionTicket)
        }
        _ => {}
    }
}

/// The state machine's checks on one server extension block, and the extension bodies the
/// client reads, as it reads them.
fn block<'a, const MIN: usize, const MAX: usize>(
    exts: &LazyU16<'a, Extension<'a>, MIN, MAX>,
    cx: ExtensionContext,
) {
    let offered = [
        ExtensionType::ServerName,
        ExtensionType::SupportedGroups,
        ExtensionType::KeyShare,
        ExtensionType::SupportedVersions,
        ExtensionType::ApplicationLayerProtocolNegotiation,
        ExtensionType::PreSharedKey,
        ExtensionType::EarlyData,
        ExtensionType::StatusRequest,
        ExtensionType::SignedCertificateTimestamp,
        ExtensionType::EncryptedClientHello,
    ];
    let _ = check_extensions(exts, &offered, cx).map_err(|e| e.to_string());
    if let Some(b) = find_extension(exts, ExtensionType::SupportedVersions) {
        let _ = read_extension::<ProtocolVersion>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::KeyShare) {
        let _ = read_extension::<KeyShareEntry>(&b);
        let _ = read_extension::<NamedGroup>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::ApplicationLayerProtocolNegotiation) {
        let _ = read_extension::<LazyU16<PayloadU8<1>, 2>>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::Cookie) {
        let _ = read_extension::<PayloadU16<1>>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::PreSharedKey) {
        let _ = read_extension::<u16>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::EarlyData) {
        let _ = read_extension::<u32>(&b);
    }
    if let Some(b) = find_extension(exts, ExtensionType::StatusRequest) {
        if let Ok(ocsp) = read_certificate_status(&b) {
            assert!(!ocsp.is_empty() && ocsp.len() + 4 == b.len());
        }
    }
    if let Some(b) = find_extension(exts, ExtensionType::SignedCertificateTimestamp) {
        if let Ok(scts) = read_sct_list(&b) {
            assert_eq!(scts, *b);
        }
    }
    if let Some(b) = find_extension(exts, ExtensionType::EncryptedClientHello) {
        // EncryptedExtensions: retry_configs; HelloRetryRequest: 8 confirmation bytes
        // (compared, never parsed).
        if let Ok(list) = EchConfigList::parse(&b) {
            assert_eq!(list.as_bytes(), &*b);
        }
    }
}

/// A TLS 1.2 server message: decodes, re-encodes to an equal message (and to the same bytes,
/// but for a ServerHello without extension block and unhandled types).
fn tls12_message(bytes: &[u8]) {
    let Ok(m) = Tls12Message::decode(bytes) else {
        return;
    };
    assert_eq!(bytes.first().copied(), Some(u8::from(m.typ())));
    let again = m.encode().expect("what decoded re-encodes");
    assert_eq!(Tls12Message::decode(&again).as_ref(), Ok(&m), "{m:?}");
    match &m {
        Tls12Message::Other(_) => {}
        Tls12Message::ServerHello(sh) => {
            server_hello_canonical(sh, bytes.get(4..).unwrap_or_default());
        }
        _ => assert_eq!(again, bytes, "{m:?} re-encodes differently"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [selector, bytes @ ..] = data else {
        return;
    };
    match selector % 16 {
        0..=2 => whole_message(bytes),
        3 => tls12_message(bytes),
        4 => drop(round_trip::<ClientHello>(bytes)),
        5 => {
            if let Ok(sh) = ServerHello::read_bytes(bytes) {
                server_hello_canonical(&sh, bytes);
            }
        }
        6 => drop(round_trip::<EncryptedExtensions>(bytes)),
        7 => drop(round_trip::<CertificateRequest>(bytes)),
        8 => drop(round_trip::<Certificate>(bytes)),
        9 => drop(round_trip::<CertificateEntry>(bytes)),
        10 => drop(round_trip::<CertificateVerify>(bytes)),
        11 => drop(round_trip::<NewSessionTicket>(bytes)),
        12 => drop(round_trip::<ClientExtension>(bytes)),
        13 => drop(round_trip::<Extension>(bytes)),
        14 => drop(round_trip::<OfferedPsks>(bytes)),
        _ => {
            drop(round_trip::<KeyShareEntry>(bytes));
            drop(round_trip::<PskIdentity>(bytes));
            drop(round_trip::<VecU8<ProtocolVersion, 2, 254>>(bytes));
        }
    }
});

//! The server's handshake messages decode in place: every message of the RFC 8448 traces but
//! the ClientHellos decodes, and its extension blocks, certificate entries and payloads are
//! walked and checked as the client does, without one allocation (a counting global
//! allocator sees every byte allocated in this test binary, which runs this one test).
// The shared test helpers (`mod common`) are held to the integration tests' lint set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

mod common;

use overture_handshake::msgs::{
    self, ExtensionContext, HandshakeMessage, KeyShareEntry, find_extension,
};
use overture_types::{Codec, ExtensionType, HandshakeType};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Every extension type the traces' servers send, as if we had offered it.
const OFFERED: [ExtensionType; 8] = [
    ExtensionType::ServerName,
    ExtensionType::SupportedGroups,
    ExtensionType::KeyShare,
    ExtensionType::SupportedVersions,
    ExtensionType::PreSharedKey,
    ExtensionType::EarlyData,
    ExtensionType::RecordSizeLimit,
    ExtensionType::Cookie,
];

/// Decodes `raw` and walks it as the client's states do; returns how many extensions and
/// certificates it saw (so the walk cannot be optimized away or silently empty).
fn walk(raw: &[u8]) -> usize {
    let mut seen = 0;
    match HandshakeMessage::decode(raw).unwrap() {
        HandshakeMessage::ServerHello(sh) => {
            let cx = if sh.is_retry_request() {
                ExtensionContext::HelloRetryRequest
            } else {
                ExtensionContext::ServerHello
            };
            msgs::check_extensions(&sh.extensions, &OFFERED, cx).unwrap();
            if let Some(share) = find_extension(&sh.extensions, ExtensionType::KeyShare)
                && !sh.is_retry_request()
            {
                let entry = KeyShareEntry::read_bytes(&share).unwrap();
                seen += entry.key_exchange.as_slice().len();
            }
            seen += sh.extensions.iter().count() + sh.session_id.as_slice().len();
        }
        HandshakeMessage::EncryptedExtensions(ee) => {
            msgs::check_extensions(
                &ee.extensions,
                &OFFERED,
                ExtensionContext::EncryptedExtensions,
            )
            .unwrap();
            seen += ee.extensions.iter().count();
        }
        HandshakeMessage::Certificate(c) => {
            for e in c.entries.iter() {
                msgs::check_extensions(&e.extensions, &[], ExtensionContext::Certificate).unwrap();
                seen += e.cert_data.as_slice().len();
            }
        }
        HandshakeMessage::CertificateRequest(cr) => {
            msgs::check_extensions(
                &cr.extensions,
                &OFFERED,
                ExtensionContext::CertificateRequest,
            )
            .unwrap();
            let schemes = find_extension(&cr.extensions, ExtensionType::SignatureAlgorithms);
            seen += schemes.unwrap().len();
        }
        HandshakeMessage::CertificateVerify(cv) => seen += cv.signature.as_slice().len(),
        HandshakeMessage::Finished(f) => seen += f.len(),
        HandshakeMessage::NewSessionTicket(t) => {
            msgs::check_extensions(&t.extensions, &OFFERED, ExtensionContext::NewSessionTicket)
                .unwrap();
            if let Some(max) = find_extension(&t.extensions, ExtensionType::EarlyData) {
                seen += usize::try_from(u32::read_bytes(&max).unwrap()).unwrap();
            }
            seen += t.ticket.as_slice().len() + t.nonce.as_slice().len();
        }
        HandshakeMessage::EndOfEarlyData => seen += 1,
        other => panic!("unexpected {:?}", other.typ()),
    }
    seen
}

#[test]
fn server_messages_decode_without_allocating() {
    let json = common::rfc8448();
    let mut messages = Vec::new();
    for trace in json["traces"].as_object().unwrap().values() {
        for m in trace["handshake_messages"].as_array().unwrap() {
            let bytes = hex::decode(m["data"].as_str().unwrap()).unwrap();
            if bytes.first() != Some(&u8::from(HandshakeType::ClientHello)) {
                messages.push(bytes);
            }
        }
    }
    assert!(messages.len() >= 20, "{} server messages", messages.len());
    let before = ALLOC.total_allocated();
    let seen: usize = messages.iter().map(|m| walk(m)).sum();
    let allocated = ALLOC.total_allocated() - before;
    assert!(seen > 0);
    assert_eq!(
        allocated,
        0,
        "bytes allocated while decoding {} messages",
        messages.len()
    );
}

//! `overture-handshake`: the sans-IO TLS client handshake state machine and key schedule.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
pub mod error;
pub mod key_schedule;
pub mod msgs;

pub use client::{ClientHandshake, ClientHelloHook, FinishedVerified, ObserveHook, TestHooks};
pub use config::{
    CertVerifier, ClientCertResolver, Event, HandshakeConfig, KeyLog, Level, ServerCertVerified,
    SignatureVerified, Tls13Ticket,
};
pub use error::{CertificateError, Error, PeerIncompatible, PeerMisbehaved};
pub use key_schedule::TrafficKey;

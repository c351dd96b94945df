//! `overture-handshake`: the sans-IO TLS client handshake state machine and key schedule.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod key_schedule;
pub mod msgs;

pub use error::{CertificateError, Error, PeerIncompatible, PeerMisbehaved};

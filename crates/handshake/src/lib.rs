//! `overture-handshake`: the sans-IO TLS client handshake state machine and key schedule.
//!
//! Filled by the «handshake» issue.

#![forbid(unsafe_code)]

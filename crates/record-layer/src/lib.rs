//! `overture-record-layer`: TLS record framing, protection, handshake joining and alerts.
//!
//! Filled by the «record-layer» issue.

#![forbid(unsafe_code)]

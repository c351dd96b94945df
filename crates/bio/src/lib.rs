//! `overture-bio`: transports with OpenSSL BIO semantics (socket, memory, BIO pair).
//!
//! Filled by the «bio» issue.

#![forbid(unsafe_code)]

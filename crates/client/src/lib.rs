//! `overture`: a TLS client with the contract of OpenSSL's `SSL_connect()` over any BIO.
//!
//! Filled by the «client» issue.

#![forbid(unsafe_code)]

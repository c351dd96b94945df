//! `overture-x509-verify`: X.509 certificate parsing, path building and name checks.
//!
//! Filled by the «x509-verify» issue.

#![forbid(unsafe_code)]

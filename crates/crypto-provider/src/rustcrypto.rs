//! The RustCrypto provider (feature `rustcrypto`): being written in the Foundation issue; the
//! feature is not usable until this module lands.

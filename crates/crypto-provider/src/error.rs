use core::fmt;

/// One opaque error for crypto failures, as ring does: detail about *why* a tag or a signature
/// failed would only help an attacker. The variants say which operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An AEAD open failed: the tag did not verify, or the input was shorter than a tag.
    DecryptFailed,
    /// A signature did not verify (or the key/signature was malformed for the algorithm).
    BadSignature,
    /// A public key was malformed, of the wrong size, or not on the curve.
    InvalidPublicKey,
    /// The peer's key-exchange share was invalid, or the shared secret was degenerate.
    InvalidPeerShare,
    /// A secret or private key had the wrong length or form.
    InvalidKey,
    /// A requested output length is not possible (e.g. HKDF-Expand beyond 255 × HashLen).
    OutputLength,
    /// The system random source failed.
    RandomFailed,
    /// The algorithm, key type or key size is not supported by this provider.
    Unsupported,
    /// Producing a signature failed.
    SigningFailed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::DecryptFailed => "decryption failed (bad record MAC)",
            Self::BadSignature => "signature verification failed",
            Self::InvalidPublicKey => "invalid public key",
            Self::InvalidPeerShare => "invalid key-exchange share from the peer",
            Self::InvalidKey => "invalid secret key",
            Self::OutputLength => "unsupported output length",
            Self::RandomFailed => "random source failed",
            Self::Unsupported => "unsupported algorithm or key",
            Self::SigningFailed => "signing failed",
        })
    }
}

impl std::error::Error for Error {}

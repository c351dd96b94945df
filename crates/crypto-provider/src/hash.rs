use crate::Output;
use core::fmt;

/// A hash function the TLS stack uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A hash function: one-shot, or incremental through a [`HashContext`].
pub trait Hash: Send + Sync + fmt::Debug {
    /// Which function this is.
    fn algorithm(&self) -> HashAlgorithm;

    /// Starts an incremental hash.
    fn start(&self) -> Box<dyn HashContext>;

    /// Hashes `data` in one go.
    fn hash(&self, data: &[u8]) -> Output {
        let mut ctx = self.start();
        ctx.update(data);
        ctx.finish()
    }

    /// The output length in bytes.
    fn output_len(&self) -> usize {
        self.algorithm().output_len()
    }
}

/// An incremental hash that can be forked: the TLS transcript needs the hash of its prefix at
/// several points while it keeps growing.
pub trait HashContext: Send + Sync {
    /// Feeds `data`.
    fn update(&mut self, data: &[u8]);

    /// An independent copy of the state so far.
    fn fork(&self) -> Box<dyn HashContext>;

    /// The hash of everything fed so far, leaving this context usable.
    fn fork_finish(&self) -> Output;

    /// The hash of everything fed, consuming the context.
    fn finish(self: Box<Self>) -> Output;
}

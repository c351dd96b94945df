//! TLS certificate compression (RFC 8879), the receiving side: the `compress_certificate`
//! extension we offer and the bounded decompression of a server's CompressedCertificate.
//!
//! ```text
//!  ClientHello ── compress_certificate [brotli, zlib] ──►
//!  ◄── CompressedCertificate { algorithm, uncompressed_length, compressed }
//!        algorithm offered?                  no ─► illegal_parameter
//!        uncompressed_length ≤ max message?  no ─► bad_certificate (before any inflating)
//!        inflate into exactly uncompressed_length bytes (never more)
//!        produced == uncompressed_length?    no ─► bad_certificate
//!        ─► Certificate body ─► the usual Certificate checks
//!  transcript: the CompressedCertificate message as received (RFC 8879 §4)
//! ```
//!
//! The decoders are pure Rust: `brotli-decompressor` (the decoder half of the `brotli` crate
//! that rustls uses) and `miniz_oxide` (the inflater behind `flate2`'s default backend). Both
//! write into an output buffer we size; brotli's internal ring buffer is allocated by the
//! stream's own window and block sizes, so its allocator here refuses any single byte
//! allocation above [`MAX_BROTLI_RING`]: a hostile stream (a large-window stream, or a 16 MiB
//! meta-block) fails cleanly instead of taking memory.

use crate::error::{Error, PeerMisbehaved};
use brotli_decompressor::{Allocator, BrotliResult, BrotliState, StandardAlloc};

type Block = <StandardAlloc as Allocator<u8>>::AllocatedMemory;
use overture_types::{CertificateCompressionAlgorithm, Codec, Reader};

/// The algorithms this build can decompress, in the order we offer them by default.
pub const SUPPORTED_ALGORITHMS: &[CertificateCompressionAlgorithm] = &[
    CertificateCompressionAlgorithm::Brotli,
    CertificateCompressionAlgorithm::Zlib,
];

/// The largest single byte allocation brotli's decoder may make: its ring buffer (the
/// window, at most `2^22` bytes for the window every common encoder uses, lgwin 22, plus
/// the decoder's slack). Larger windows (up to 16 MiB, or 1 GiB in large-window mode) are
/// refused: a certificate chain never needs them.
pub const MAX_BROTLI_RING: usize = (1 << 22) + 1024;

/// Why a compressed certificate was refused (inside [`PeerMisbehaved`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecompressionFailure {
    /// `uncompressed_length` is above our maximum handshake message size (checked before
    /// inflating).
    TooLarge {
        /// The declared length.
        declared: u32,
        /// Our maximum.
        max: usize,
    },
    /// The data inflated to more or fewer bytes than `uncompressed_length`, or did not
    /// decode at all.
    LengthMismatch,
    /// The compressed data is not a valid stream of its algorithm (or needs more memory
    /// than we allow).
    Corrupt,
}

impl core::fmt::Display for DecompressionFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLarge { declared, max } => write!(
                f,
                "its uncompressed_length {declared} exceeds our maximum handshake message of \
                 {max} bytes"
            ),
            Self::LengthMismatch => {
                f.write_str("it does not inflate to exactly its uncompressed_length")
            }
            Self::Corrupt => f.write_str("it does not decompress"),
        }
    }
}

/// The `compress_certificate` extension body: `algorithms<2..2^8-2>` (inline, no allocation,
/// up to 7 algorithms).
pub(crate) fn extension_body(
    algorithms: &[CertificateCompressionAlgorithm],
) -> crate::common::ShortList<u8, 15> {
    // At most 127 algorithms fit; a longer configured list is cut (there are three).
    let algorithms = algorithms.get(..127).unwrap_or(algorithms);
    let mut body = crate::common::ShortList::default();
    body.push(u8::try_from(algorithms.len() * 2).unwrap_or(u8::MAX - 1));
    for a in algorithms {
        body.extend(a.get().to_be_bytes());
    }
    body
}

/// Decodes a whole CompressedCertificate message (`raw`, header included): checks the
/// algorithm against `offered` and the declared length against `max`, inflates with a hard
/// bound, and returns the Certificate message body it holds, which the caller decodes (the
/// decoded [`crate::msgs::Certificate`] borrows from it).
pub(crate) fn decompress_certificate(
    raw: &[u8],
    offered: &[CertificateCompressionAlgorithm],
    max: usize,
) -> Result<Vec<u8>, Error> {
    let body = raw.get(4..).ok_or(Error::Internal("handshake header"))?;
    let mut r = Reader::new(body);
    let algorithm = CertificateCompressionAlgorithm::read(&mut r)?;
    let declared = r.u24("uncompressed_length")?;
    let compressed = r
        .prefixed(
            overture_types::LengthWidth::U24,
            1,
            0xff_ffff,
            "compressed_certificate_message",
        )?
        .rest();
    r.expect_empty("CompressedCertificate")?;
    if !offered.contains(&algorithm) || !SUPPORTED_ALGORITHMS.contains(&algorithm) {
        return Err(PeerMisbehaved::UnofferedCertCompression(algorithm.get()).into());
    }
    Ok(decompress(algorithm, compressed, declared, max)
        .map_err(PeerMisbehaved::CertificateDecompression)?)
}

/// Inflates `compressed` to exactly `declared` bytes, `declared` being at most `max`.
/// Never holds more than `declared` output bytes (plus, for brotli, a ring buffer of at most
/// [`MAX_BROTLI_RING`] bytes and its fixed-size tables).
pub fn decompress(
    algorithm: CertificateCompressionAlgorithm,
    compressed: &[u8],
    declared: u32,
    max: usize,
) -> Result<Vec<u8>, DecompressionFailure> {
    let len = usize::try_from(declared)
        .ok()
        .filter(|l| *l <= max)
        .ok_or(DecompressionFailure::TooLarge { declared, max })?;
    match algorithm {
        CertificateCompressionAlgorithm::Zlib => {
            let out = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(compressed, len)
                .map_err(|e| match e.status {
                    miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                        DecompressionFailure::LengthMismatch
                    }
                    _ => DecompressionFailure::Corrupt,
                })?;
            if out.len() != len {
                return Err(DecompressionFailure::LengthMismatch);
            }
            Ok(out)
        }
        CertificateCompressionAlgorithm::Brotli => brotli(compressed, len),
        _ => Err(DecompressionFailure::Corrupt),
    }
}

/// An allocator that refuses (returns an empty block, which the decoder reports as an
/// allocation failure) any byte allocation above [`MAX_BROTLI_RING`].
/// Also records the largest block it granted (for the tests of the bound).
#[derive(Default)]
struct CappedU8 {
    inner: StandardAlloc,
    largest: usize,
}

impl Allocator<u8> for CappedU8 {
    type AllocatedMemory = Block;
    fn alloc_cell(&mut self, len: usize) -> Block {
        if len > MAX_BROTLI_RING {
            return Block::default();
        }
        self.largest = self.largest.max(len);
        <StandardAlloc as Allocator<u8>>::alloc_cell(&mut self.inner, len)
    }
    fn free_cell(&mut self, data: Block) {
        <StandardAlloc as Allocator<u8>>::free_cell(&mut self.inner, data);
    }
}

fn brotli(compressed: &[u8], len: usize) -> Result<Vec<u8>, DecompressionFailure> {
    brotli_bounded(compressed, len).0
}

/// [`brotli`], and the largest byte block the decoder was granted.
fn brotli_bounded(compressed: &[u8], len: usize) -> (Result<Vec<u8>, DecompressionFailure>, usize) {
    let mut state = BrotliState::new(
        CappedU8::default(),
        <StandardAlloc as Default>::default(),
        <StandardAlloc as Default>::default(),
    );
    // One byte more than declared: a stream that fills it is longer than it said.
    let mut out = vec![0u8; len.saturating_add(1)];
    let (mut avail_in, mut in_off) = (compressed.len(), 0usize);
    let (mut avail_out, mut out_off, mut total) = (out.len(), 0usize, 0usize);
    let status = brotli_decompressor::BrotliDecompressStream(
        &mut avail_in,
        &mut in_off,
        compressed,
        &mut avail_out,
        &mut out_off,
        &mut out,
        &mut total,
        &mut state,
    );
    let largest = state.alloc_u8.largest;
    let result = match status {
        // All of it decoded and nothing follows the stream.
        BrotliResult::ResultSuccess if avail_in != 0 => Err(DecompressionFailure::Corrupt),
        BrotliResult::ResultSuccess if out_off == len => {
            out.truncate(len);
            Ok(out)
        }
        BrotliResult::ResultSuccess | BrotliResult::NeedsMoreOutput => {
            Err(DecompressionFailure::LengthMismatch)
        }
        BrotliResult::NeedsMoreInput | BrotliResult::ResultFailure => {
            Err(DecompressionFailure::Corrupt)
        }
    };
    (result, largest)
}

#[cfg(test)]
#[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::msgs::Certificate;
    use overture_types::AlertDescription;
    use std::io::Write;

    const MAX: usize = 64 * 1024;
    type Alg = CertificateCompressionAlgorithm;

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
    }

    /// Brotli with window `lgwin`, written in `chunks` flushed pieces (a flush ends a
    /// meta-block, so only the last one is marked last and the decoder needs the whole
    /// window).
    fn brotli_enc(data: &[u8], lgwin: u32, chunks: usize) -> Vec<u8> {
        let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, lgwin);
        for piece in data.chunks(data.len().div_ceil(chunks).max(1)) {
            w.write_all(piece).unwrap();
            w.flush().unwrap();
        }
        w.into_inner()
    }

    fn cert_message(alg: Alg, declared: u32, compressed: &[u8]) -> Vec<u8> {
        let mut body = alg.get().to_be_bytes().to_vec();
        body.extend_from_slice(&declared.to_be_bytes()[1..]);
        body.extend_from_slice(&(compressed.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(compressed);
        let mut m = vec![25];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(&body);
        m
    }

    /// A Certificate body (empty context, one entry) of `n` bytes of certificate data.
    fn certificate_body(n: usize) -> Vec<u8> {
        let mut entry = (n as u32).to_be_bytes()[1..].to_vec();
        entry.extend((0..n).map(|i| (i % 251) as u8));
        entry.extend_from_slice(&[0, 0]);
        let mut body = vec![0];
        body.extend_from_slice(&(entry.len() as u32).to_be_bytes()[1..]);
        body.extend_from_slice(&entry);
        body
    }

    fn alert(e: Error) -> Option<AlertDescription> {
        e.alert()
    }

    #[test]
    fn both_algorithms_round_trip_through_the_message() {
        let body = certificate_body(3000);
        for (alg, compressed) in [
            (Alg::Zlib, zlib(&body)),
            (Alg::Brotli, brotli_enc(&body, 22, 1)),
            (Alg::Brotli, brotli_enc(&body, 22, 3)),
        ] {
            let m = cert_message(alg, body.len() as u32, &compressed);
            let plain = decompress_certificate(&m, SUPPORTED_ALGORITHMS, MAX).unwrap();
            let cert = Certificate::read_bytes(&plain).unwrap();
            let entries = cert.entries.to_vec();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].cert_data.as_slice().len(), 3000);
        }
    }

    #[test]
    fn an_algorithm_we_did_not_offer_is_illegal_parameter() {
        let body = certificate_body(100);
        let m = cert_message(Alg::Zlib, body.len() as u32, &zlib(&body));
        let e = decompress_certificate(&m, &[Alg::Brotli], MAX).unwrap_err();
        assert_eq!(alert(e), Some(AlertDescription::IllegalParameter));
        // zstd: never decompressible here, even if a caller lists it.
        let m = cert_message(Alg::Zstd, 10, &[1, 2, 3]);
        let e = decompress_certificate(&m, &[Alg::Zstd], MAX).unwrap_err();
        assert_eq!(alert(e), Some(AlertDescription::IllegalParameter));
    }

    /// 16 MiB declared: refused before any inflating (the bomb is never touched, so the only
    /// allocation is none at all), with bad_certificate.
    #[test]
    fn a_16_mib_declared_length_is_refused_before_inflating() {
        let bomb = vec![0u8; 16 << 20];
        for (alg, compressed) in [
            (Alg::Zlib, zlib(&bomb)),
            (Alg::Brotli, brotli_enc(&bomb, 24, 1)),
        ] {
            assert!(
                compressed.len() < 64 * 1024,
                "the bomb is small on the wire"
            );
            assert_eq!(
                decompress(alg, &compressed, 16 << 20, MAX),
                Err(DecompressionFailure::TooLarge {
                    declared: 16 << 20,
                    max: MAX
                })
            );
            let m = cert_message(alg, (16 << 20) - 1, &compressed);
            let e = decompress_certificate(&m, SUPPORTED_ALGORITHMS, MAX).unwrap_err();
            assert_eq!(alert(e), Some(AlertDescription::BadCertificate));
        }
        // The brotli bomb with an allowed declared length stops at that length: output
        // bounded by the declaration, ring buffer by the decoder's own sizing.
        let small = brotli_enc(&bomb, 22, 1);
        let (r, largest) = brotli_bounded(&small, MAX);
        assert_eq!(r, Err(DecompressionFailure::LengthMismatch));
        assert!(largest <= MAX_BROTLI_RING, "granted {largest}");
    }

    /// A lying uncompressed_length, either way, is bad_certificate; the output never grows
    /// past the declared length (plus brotli's one-byte probe).
    #[test]
    fn a_lying_uncompressed_length_is_bad_certificate() {
        let body = certificate_body(5000);
        let n = body.len() as u32;
        for (alg, compressed) in [
            (Alg::Zlib, zlib(&body)),
            (Alg::Brotli, brotli_enc(&body, 22, 1)),
        ] {
            for declared in [n - 1, n + 1, 1, 0] {
                assert_eq!(
                    decompress(alg, &compressed, declared, MAX),
                    Err(DecompressionFailure::LengthMismatch),
                    "{alg:?} declared {declared}"
                );
                let m = cert_message(alg, declared, &compressed);
                let e = decompress_certificate(&m, SUPPORTED_ALGORITHMS, MAX).unwrap_err();
                assert_eq!(alert(e), Some(AlertDescription::BadCertificate));
            }
            assert_eq!(decompress(alg, &compressed, n, MAX).unwrap(), body);
        }
    }

    /// Bombs: 16 MiB of zeros declared as 64 KiB inflate no further than 64 KiB; a brotli
    /// stream whose window is 16 MiB (lgwin 24, several meta-blocks: the decoder would need
    /// the whole window) or 1 GiB is refused instead of allocated.
    #[test]
    fn bombs_and_huge_windows_stay_bounded() {
        let bomb = vec![0u8; 16 << 20];
        assert_eq!(
            decompress(Alg::Zlib, &zlib(&bomb), MAX as u32, MAX),
            Err(DecompressionFailure::LengthMismatch)
        );
        let wide = brotli_enc(&bomb[..1 << 20], 24, 4);
        let (r, largest) = brotli_bounded(&wide, MAX);
        assert_eq!(r, Err(DecompressionFailure::Corrupt));
        assert!(largest <= MAX_BROTLI_RING, "granted {largest}");
        // A valid lgwin-22 multi-block stream of a real message still decodes.
        let body = certificate_body(40_000);
        let ok = brotli_enc(&body, 22, 4);
        let (r, largest) = brotli_bounded(&ok, body.len());
        assert_eq!(r.unwrap(), body);
        assert!(largest <= MAX_BROTLI_RING);
    }

    #[test]
    fn corrupt_and_trailing_data_are_refused() {
        let body = certificate_body(500);
        let n = body.len() as u32;
        let mut z = zlib(&body);
        let mut b = brotli_enc(&body, 22, 1);
        assert!(decompress(Alg::Zlib, &z[..z.len() / 2], n, MAX).is_err());
        assert!(decompress(Alg::Brotli, &b[..b.len() / 2], n, MAX).is_err());
        b.push(0);
        assert!(decompress(Alg::Brotli, &b, n, MAX).is_err());
        z.iter_mut().skip(2).for_each(|x| *x ^= 0x55);
        assert!(decompress(Alg::Zlib, &z, n, MAX).is_err());
        // The message itself: an empty compressed field is a decode error.
        let m = cert_message(Alg::Zlib, n, &[]);
        let e = decompress_certificate(&m, SUPPORTED_ALGORITHMS, MAX).unwrap_err();
        assert_eq!(alert(e), Some(AlertDescription::DecodeError));
    }

    /// Every single-bit change and every truncation of a valid stream of each algorithm is
    /// refused or decodes to exactly the declared length: never a panic, never more output.
    #[test]
    fn mutated_streams_never_panic() {
        let body = certificate_body(300);
        let n = body.len() as u32;
        for (alg, stream) in [
            (Alg::Zlib, zlib(&body)),
            (Alg::Brotli, brotli_enc(&body, 22, 2)),
        ] {
            for cut in 0..stream.len() {
                assert!(
                    decompress(alg, &stream[..cut], n, MAX).is_err(),
                    "{alg:?} {cut}"
                );
            }
            for i in 0..stream.len() {
                for bit in 0..8 {
                    let mut m = stream.clone();
                    m[i] ^= 1 << bit;
                    if let Ok(out) = decompress(alg, &m, n, MAX) {
                        assert_eq!(out.len(), body.len());
                    }
                }
            }
        }
    }

    #[test]
    fn the_extension_lists_the_algorithms() {
        assert_eq!(*extension_body(&[Alg::Brotli, Alg::Zlib]), [4, 0, 2, 0, 1]);
    }
}

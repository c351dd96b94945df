//! `cargo xtask bench bio`: BioPair and MemBio throughput with 16 KiB chunks (each operation
//! writes one chunk in and reads it back out, through `dyn Bio` as the client holds it), beside
//! the memcpy floor: the same two copies (in, then out) through a plain `Vec<u8>`.
//!
//! memcpy speed on x86 depends on the source and destination addresses modulo 4096 (4K
//! aliasing: up to 2x on the machine this was written on). The floor's three buffers therefore
//! sit at fixed, distinct 4 KiB offsets (its best case), and the subjects read from and write to
//! the same source and destination buffers as the floor; only the BIO's own buffer is placed by
//! the allocator. A second anchor, `vec-copy`, does the same two copies through a `Vec<u8>` the
//! allocator placed (as it places a BIO's buffer): the plain-`Vec` comparison.

#[cfg(feature = "bio")]
fn main() {
    use overture_benches::Suite;
    use overture_bio::{Bio, BioPair, MemBio, Transfer};
    use std::hint::black_box;

    const CHUNK: usize = 16 * 1024;
    /// The client's and the CLI's pair size: one full record plus headers.
    const PAIR_CAPACITY: usize = 17 * 1024;
    const PAGE: usize = 4096;

    /// Writes `src` into `into` and reads it back out of `from` into `dst`, whole.
    fn through(into: &mut dyn Bio, from: &mut dyn Bio, src: &[u8], dst: &mut [u8]) {
        match into.write(black_box(src)) {
            Ok(Transfer::Bytes(n)) if n == src.len() => {}
            other => panic!("write took {other:?} of {}", src.len()),
        }
        match from.read(dst) {
            Ok(Transfer::Bytes(n)) if n == dst.len() => {}
            other => panic!("read gave {other:?} of {}", dst.len()),
        }
        black_box(&*dst);
    }

    // One arena, page-aligned by hand: src at page offset 0, mid at 1024, dst at 2048.
    let mut arena = vec![0u8; 3 * (CHUNK + PAGE) + PAGE];
    let skip = (PAGE - arena.as_ptr() as usize % PAGE) % PAGE;
    let (_, rest) = arena.split_at_mut(skip);
    let (src, rest) = rest.split_at_mut(CHUNK + PAGE);
    let (mid, rest) = rest.split_at_mut(CHUNK + PAGE);
    let src = &mut src[..CHUNK];
    let mid = &mut mid[1024..1024 + CHUNK];
    let dst = &mut rest[2048..2048 + CHUNK];
    for (i, b) in src.iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let src: &[u8] = src;

    let mut suite = Suite::from_args("bio");

    let (near, far) = BioPair::new(PAIR_CAPACITY).expect("pair");
    let mut near: Box<dyn Bio + Send> = Box::new(near);
    let mut far: Box<dyn Bio + Send> = Box::new(far);
    let mut mem_in: Box<dyn Bio + Send> = Box::new(MemBio::with_capacity(CHUNK));
    let mem: &mut dyn Bio = &mut *mem_in;
    // A MemBio is read and written through the same object: split the borrow by taking turns.
    let mut mem_through = |dst: &mut [u8]| {
        match mem.write(black_box(src)) {
            Ok(Transfer::Bytes(n)) if n == CHUNK => {}
            other => panic!("write took {other:?}"),
        }
        match mem.read(dst) {
            Ok(Transfer::Bytes(n)) if n == CHUNK => {}
            other => panic!("read gave {other:?}"),
        }
        black_box(&*dst);
    };

    // `dst` is shared by the closures of a case; they run one after another.
    let dst = std::cell::RefCell::new(dst);
    let mid = std::cell::RefCell::new(mid);
    let floor = || {
        let mut mid = mid.borrow_mut();
        let mut dst = dst.borrow_mut();
        mid.copy_from_slice(black_box(src));
        dst.copy_from_slice(&mid);
        black_box(&**dst);
    };

    // The plain version: the middle buffer is a Vec placed by the allocator, as a BIO's is.
    let mut vec_mid: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut vec_copy = || {
        let mut dst = dst.borrow_mut();
        vec_mid.clear();
        vec_mid.extend_from_slice(black_box(src));
        dst.copy_from_slice(&vec_mid);
        black_box(&**dst);
    };

    suite.throughput(
        "bio-pair-16k",
        CHUNK as u64,
        &mut [
            ("overture", &mut || {
                through(&mut *near, &mut *far, src, &mut dst.borrow_mut())
            }),
            ("floor", &mut || floor()),
            ("vec-copy", &mut || vec_copy()),
        ],
    );
    suite.throughput(
        "mem-bio-16k",
        CHUNK as u64,
        &mut [
            ("overture", &mut || mem_through(&mut dst.borrow_mut())),
            ("floor", &mut || floor()),
            ("vec-copy", &mut || vec_copy()),
        ],
    );
    suite.finish();
}

#[cfg(not(feature = "bio"))]
fn main() {
    overture_benches::needs_feature("bio")
}

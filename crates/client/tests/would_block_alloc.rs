//! A would-block return (`WantRead` / `WantWrite`) allocates nothing: a non-blocking caller
//! polls `connect`, `read` and `write` in a loop, so each retry must be free.
//!
//! Its own test binary: the counting global allocator (`cap`, no `unsafe` here) sees the whole
//! process, so this file holds one test and no other thread allocates while it measures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use overture::bio::{Bio as _, BioPair, Transfer};
use overture::{ClientConfig, ErrorKind, Ssl};
use overture_tests::{KeyKind, Pki, rustls_server_config};

#[global_allocator]
static ALLOC: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes allocated (ever, not net) while `f` runs, and its result.
fn allocated_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOC.total_allocated();
    let r = f();
    (ALLOC.total_allocated() - before, r)
}

#[test]
fn would_block_returns_allocate_nothing() {
    let pki = Pki::new(KeyKind::EcdsaP256);
    let mut server =
        rustls::ServerConnection::new(rustls_server_config(&pki, &[], &[], &[])).unwrap();
    let config = ClientConfig::builder()
        .with_ca_file(&pki.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let mut ssl = Ssl::new(&config, "localhost").unwrap();
    // A pair whose far end never reads: a small capacity fills up with the ClientHello.
    let (near, mut far) = BioPair::new(64).unwrap();
    ssl.set_bio(Box::new(near));

    // The first call builds and queues the ClientHello (that allocates); the pair takes only
    // 64 bytes of it: WantWrite. Every retry while the pair stays full is free.
    assert_eq!(ssl.connect().unwrap_err().kind(), ErrorKind::WantWrite);
    for _ in 0..3 {
        let (bytes, r) = allocated_during(|| ssl.connect());
        assert_eq!(r.unwrap_err().kind(), ErrorKind::WantWrite);
        assert_eq!(
            bytes, 0,
            "a WantWrite retry of connect() allocated {bytes} bytes"
        );
    }

    // Drain the pair into the server until the whole ClientHello is across; then the client
    // waits for the server's flight (not yet given to it): WantRead, also free.
    let mut buf = [0u8; 4096];
    loop {
        match ssl.connect() {
            Err(e) if e.kind() == ErrorKind::WantRead => break,
            Err(e) if e.kind() == ErrorKind::WantWrite => {}
            other => panic!("unexpected {other:?}"),
        }
        while let Transfer::Bytes(n) = far.read(&mut buf).unwrap() {
            let mut input = &buf[..n];
            while !input.is_empty() {
                server.read_tls(&mut input).unwrap();
            }
        }
    }
    server.process_new_packets().unwrap();
    for _ in 0..3 {
        let (bytes, r) = allocated_during(|| ssl.connect());
        assert_eq!(r.unwrap_err().kind(), ErrorKind::WantRead);
        assert_eq!(
            bytes, 0,
            "a WantRead retry of connect() allocated {bytes} bytes"
        );
        let (bytes, r) = allocated_during(|| ssl.read(&mut buf));
        assert_eq!(r.unwrap_err().kind(), ErrorKind::WantRead);
        assert_eq!(
            bytes, 0,
            "a WantRead retry of read() allocated {bytes} bytes"
        );
    }
}

//! `SocketBio` against real kernel sockets on 127.0.0.1 (and Unix-domain socket pairs): would
//! block vs EOF vs errors, refused and reset connections, TCP_NODELAY read back from the kernel.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_bio::{Bio, SocketBio, Transfer};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A connected (bio, server-side stream) pair on loopback.
fn connected() -> (SocketBio, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let bio = SocketBio::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (bio, peer)
}

/// An address nobody listens on: bind an ephemeral port, then close it.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

#[test]
fn non_blocking_read_with_nothing_to_read_would_block() {
    let (mut bio, mut peer) = connected();
    bio.set_nonblocking(true).unwrap();
    assert!(bio.is_nonblocking());
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::WouldBlock);
    }
    // Once bytes arrive, the same BIO reads them; after FIN, EOF (not would-block).
    peer.write_all(b"data").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let n = loop {
        match bio.read(&mut buf).unwrap() {
            Transfer::Bytes(n) => break n,
            Transfer::WouldBlock => {
                assert!(Instant::now() < deadline, "bytes never arrived");
                std::thread::sleep(Duration::from_millis(1));
            }
            Transfer::Eof => panic!("EOF before the data"),
        }
    };
    assert_eq!(&buf[..n], &b"data"[..n]);
    peer.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = n;
    loop {
        match bio.read(&mut buf).unwrap() {
            Transfer::Bytes(k) => rest += k,
            Transfer::WouldBlock => {
                assert!(Instant::now() < deadline, "FIN never arrived");
                std::thread::sleep(Duration::from_millis(1));
            }
            Transfer::Eof => break,
        }
    }
    assert_eq!(rest, 4);
}

#[test]
fn non_blocking_write_to_a_stalled_peer_would_block() {
    let (mut bio, _peer) = connected(); // the peer never reads
    bio.set_nonblocking(true).unwrap();
    let chunk = vec![0x5au8; 64 * 1024];
    let mut total = 0usize;
    let blocked = (0..10_000).any(|_| match bio.write(&chunk).unwrap() {
        Transfer::Bytes(n) => {
            total += n;
            false
        }
        Transfer::WouldBlock => true,
        Transfer::Eof => panic!("write EOF on a live socket"),
    });
    assert!(
        blocked,
        "the kernel took {total} bytes without pushing back"
    );
    assert!(total > 0);
    // Blocking mode again: with a write timeout, a full socket is a timeout error, never
    // would-block (a blocking BIO does not ask to be called again).
    bio.set_nonblocking(false).unwrap();
    bio.set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let e = loop {
        match bio.write(&chunk) {
            Ok(Transfer::Bytes(_)) => {}
            Ok(other) => panic!("blocking write said {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
}

#[test]
fn refused_connection_is_an_error() {
    let addr = closed_port();
    let e = SocketBio::connect(addr).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    let e = SocketBio::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}

#[test]
fn connect_timeout_connects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bio = SocketBio::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    let (peer, _) = listener.accept().unwrap();
    assert_eq!(
        bio.as_tcp().unwrap().peer_addr().unwrap(),
        peer.local_addr().unwrap()
    );
}

/// The peer closes with SO_LINGER 0: the kernel sends RST instead of FIN.
fn reset_by_peer(peer: TcpStream) {
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer);
}

#[test]
fn reset_connection_is_an_error_for_blocking_reads() {
    let (mut bio, peer) = connected();
    bio.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    reset_by_peer(peer);
    let mut buf = [0u8; 16];
    let e = bio.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
}

#[test]
fn reset_connection_is_an_error_for_non_blocking_io() {
    let (mut bio, peer) = connected();
    bio.set_nonblocking(true).unwrap();
    reset_by_peer(peer);
    let mut buf = [0u8; 16];
    let deadline = Instant::now() + Duration::from_secs(10);
    let e = loop {
        match bio.read(&mut buf) {
            Ok(Transfer::WouldBlock) => {
                assert!(Instant::now() < deadline, "the RST never arrived");
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(other) => panic!("read after RST said {other:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}");
    // The connection is gone: writing fails too (EPIPE, or ECONNRESET on some kernels).
    let e = bio.write(b"too late").unwrap_err();
    assert!(
        matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{e}"
    );
}

#[test]
fn peer_fin_is_eof_not_an_error() {
    let (mut bio, mut peer) = connected();
    peer.write_all(b"bye").unwrap();
    drop(peer);
    let mut buf = [0u8; 16];
    assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(3));
    assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Eof);
    assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Eof);
}

#[test]
fn tcp_nodelay_is_read_back_from_the_kernel() {
    let (bio, _peer) = connected();
    // An independent view of the same socket, through a dup'ed descriptor.
    let other_handle = bio.as_tcp().unwrap().try_clone().unwrap();
    let kernel = || socket2::SockRef::from(&other_handle).tcp_nodelay().unwrap();
    assert!(!kernel(), "Nagle is on for a new socket");
    assert!(!bio.tcp_nodelay().unwrap());
    bio.set_tcp_nodelay(true).unwrap();
    assert!(kernel());
    assert!(bio.tcp_nodelay().unwrap());
    bio.set_tcp_nodelay(false).unwrap();
    assert!(!kernel());
    assert!(!bio.tcp_nodelay().unwrap());
    // Changed behind the BIO's back: the getter still tells the truth (no cached value).
    other_handle.set_nodelay(true).unwrap();
    assert!(bio.tcp_nodelay().unwrap());
    other_handle.set_nodelay(false).unwrap();
    assert!(!bio.tcp_nodelay().unwrap());
}

#[test]
fn boxed_socket_bio_is_what_the_client_holds() {
    let (bio, mut peer) = connected();
    let mut boxed: Box<dyn Bio + Send> = Box::new(bio);
    assert_eq!(boxed.write(b"GET /").unwrap(), Transfer::Bytes(5));
    assert_eq!(boxed.flush().unwrap(), Transfer::Bytes(0));
    boxed.shutdown_write().unwrap();
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"GET /");
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::net::{UnixListener, UnixStream};

    #[test]
    fn unix_stream_socket_works() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut bio = SocketBio::from(a);
        assert!(bio.as_unix().is_some() && bio.as_tcp().is_none());
        assert_eq!(bio.as_raw_fd(), bio.as_fd().as_raw_fd());

        bio.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 32];
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::WouldBlock);
        assert_eq!(bio.write(b"over unix").unwrap(), Transfer::Bytes(9));
        let mut got = [0u8; 9];
        b.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"over unix");

        b.write_all(b"back").unwrap();
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(4)); // already queued
        drop(b);
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Eof);

        let e = bio.set_tcp_nodelay(true).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
        assert_eq!(
            bio.tcp_nodelay().unwrap_err().kind(),
            io::ErrorKind::Unsupported
        );
    }

    #[test]
    fn connect_unix_and_shutdown_write() {
        let dir = std::env::temp_dir().join(format!("overture-bio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let mut bio = SocketBio::connect_unix(&path).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(bio.write(b"hello").unwrap(), Transfer::Bytes(5));
        bio.shutdown_write().unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
        server.write_all(b"reply").unwrap();
        drop(server);
        let mut buf = [0u8; 8];
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Bytes(5));
        assert_eq!(bio.read(&mut buf).unwrap(), Transfer::Eof);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refused_unix_connect_is_an_error() {
        let path = std::env::temp_dir().join(format!("overture-bio-none-{}", std::process::id()));
        let e = SocketBio::connect_unix(&path).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ),
            "{e}"
        );
    }
}

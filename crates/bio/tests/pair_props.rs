//! Property tests of `BioPair` against a model: random interleavings of writes, reads,
//! shutdowns and drops of random sizes on both ends never lose, duplicate or reorder a byte, and
//! never buffer more than the capacity.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions
)]

use overture_bio::{Bio, BioPair, BioPairEnd, Transfer};
use proptest::prelude::*;
use std::collections::VecDeque;
use std::io;

/// The byte at position `pos` of the stream written by end `end`: a hash, so a lost, repeated
/// or reordered byte shifts the stream and shows.
fn stream_byte(end: usize, pos: u64) -> u8 {
    let x = (pos ^ ((end as u64) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8
}

#[derive(Clone, Debug)]
enum Op {
    Write { end: usize, len: usize },
    Read { end: usize, len: usize },
    Shutdown { end: usize },
    Drop { end: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..2usize, 0..100usize).prop_map(|(end, len)| Op::Write { end, len }),
        10 => (0..2usize, 0..100usize).prop_map(|(end, len)| Op::Read { end, len }),
        1 => (0..2usize).prop_map(|end| Op::Shutdown { end }),
        1 => (0..2usize).prop_map(|end| Op::Drop { end }),
    ]
}

/// One direction of the model: what end `from` wrote and end `1 - from` has not read.
struct Dir {
    capacity: usize,
    buffered: VecDeque<u8>,
    written: u64,
    read: u64,
    writer_shut: bool,
}

struct Model {
    ends: [Option<BioPairEnd>; 2],
    dirs: [Dir; 2], // dirs[e]: bytes written by end e
}

impl Model {
    fn check_gauges(&self) {
        for e in 0..2 {
            let Some(end) = &self.ends[e] else { continue };
            let other = 1 - e;
            let incoming = &self.dirs[other];
            let outgoing = &self.dirs[e];
            assert_eq!(end.pending(), incoming.buffered.len(), "pending of end {e}");
            assert!(incoming.buffered.len() <= incoming.capacity);
            let expect_guarantee = if outgoing.writer_shut || self.ends[other].is_none() {
                0
            } else {
                outgoing.capacity - outgoing.buffered.len()
            };
            assert_eq!(
                end.write_guarantee(),
                expect_guarantee,
                "write_guarantee of end {e}"
            );
            assert!(end.write_guarantee() <= end.capacity());
            assert_eq!(end.capacity(), outgoing.capacity);
        }
    }

    fn write(&mut self, e: usize, len: usize) {
        let other = 1 - e;
        let other_gone = self.ends[other].is_none();
        let dir = &mut self.dirs[e];
        let Some(end) = self.ends[e].as_mut() else {
            return;
        };
        let data: Vec<u8> = (0..len as u64)
            .map(|i| stream_byte(e, dir.written + i))
            .collect();
        let got = end.write(&data);
        if dir.writer_shut {
            assert_eq!(got.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
            return;
        }
        let got = got.unwrap();
        if len == 0 {
            assert_eq!(got, Transfer::Bytes(0));
        } else if other_gone {
            assert_eq!(got, Transfer::Eof);
        } else {
            let free = dir.capacity - dir.buffered.len();
            if free == 0 {
                assert_eq!(got, Transfer::WouldBlock);
            } else {
                let n = free.min(len);
                assert_eq!(
                    got,
                    Transfer::Bytes(n),
                    "short write takes exactly what fits"
                );
                dir.buffered.extend(&data[..n]);
                dir.written += n as u64;
            }
        }
    }

    fn read(&mut self, e: usize, len: usize) {
        let other = 1 - e;
        let writer_closed = self.dirs[other].writer_shut || self.ends[other].is_none();
        let dir = &mut self.dirs[other];
        let Some(end) = self.ends[e].as_mut() else {
            return;
        };
        let mut buf = vec![0u8; len];
        let got = end.read(&mut buf).unwrap();
        if len == 0 {
            assert_eq!(got, Transfer::Bytes(0));
        } else if dir.buffered.is_empty() {
            assert_eq!(
                got,
                if writer_closed {
                    Transfer::Eof
                } else {
                    Transfer::WouldBlock
                }
            );
        } else {
            let n = dir.buffered.len().min(len);
            assert_eq!(got, Transfer::Bytes(n), "a read takes all it can");
            for (i, b) in buf[..n].iter().enumerate() {
                let pos = dir.read + i as u64;
                assert_eq!(
                    *b,
                    stream_byte(other, pos),
                    "byte {pos} of end {other}'s stream"
                );
                assert_eq!(Some(*b), dir.buffered.pop_front());
            }
            dir.read += n as u64;
        }
    }

    fn shutdown(&mut self, e: usize) {
        if let Some(end) = self.ends[e].as_mut() {
            end.shutdown_write().unwrap();
            self.dirs[e].writer_shut = true;
        }
    }

    fn drop_end(&mut self, e: usize) {
        if self.ends[e].take().is_some() {
            // Its writes are closed; what was sent to it is gone with it.
            self.dirs[e].writer_shut = true;
            let incoming = &mut self.dirs[1 - e];
            incoming.read += incoming.buffered.len() as u64;
            incoming.buffered.clear();
        }
    }

    /// Closes both write sides and reads everything left: every byte written arrives, in order.
    fn drain(&mut self) {
        for e in 0..2 {
            self.shutdown(e);
        }
        for e in 0..2 {
            if self.ends[e].is_none() {
                continue;
            }
            loop {
                let before = self.dirs[1 - e].read;
                self.read(e, 7);
                if self.dirs[1 - e].read == before {
                    break;
                }
            }
            assert!(self.dirs[1 - e].buffered.is_empty());
            assert_eq!(
                self.dirs[1 - e].read,
                self.dirs[1 - e].written,
                "no byte lost"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn pair_matches_the_model(
        cap_a in 1..64usize,
        cap_b in 1..64usize,
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        let (a, b) = BioPair::with_capacities(cap_a, cap_b).unwrap();
        let mut m = Model {
            ends: [Some(a), Some(b)],
            dirs: [cap_a, cap_b].map(|capacity| Dir {
                capacity,
                buffered: VecDeque::new(),
                written: 0,
                read: 0,
                writer_shut: false,
            }),
        };
        m.check_gauges();
        for op in ops {
            match op {
                Op::Write { end, len } => m.write(end, len),
                Op::Read { end, len } => m.read(end, len),
                Op::Shutdown { end } => m.shutdown(end),
                Op::Drop { end } => m.drop_end(end),
            }
            m.check_gauges();
        }
        m.drain();
    }
}

/// Two threads push a long stream through a tiny pair in random-sized chunks, each way: the
/// ends are `Send`, and no byte is lost, repeated or reordered under real concurrency.
#[test]
fn two_threads_through_a_small_pair() {
    const TOTAL: u64 = 200_000;
    let (a, b) = BioPair::new(97).unwrap();

    fn run(mut end: BioPairEnd, me: usize, seed: u64) -> u64 {
        let mut rng = seed;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            1 + rng % m
        };
        let (mut sent, mut got) = (0u64, 0u64);
        let mut buf = [0u8; 256];
        let mut peer_done = false;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !(peer_done && sent == TOTAL) {
            assert!(std::time::Instant::now() < deadline, "no progress");
            if sent < TOTAL {
                let len = next(200).min(TOTAL - sent) as usize;
                let data: Vec<u8> = (0..len as u64).map(|i| stream_byte(me, sent + i)).collect();
                match end.write(&data).unwrap() {
                    Transfer::Bytes(n) => sent += n as u64,
                    Transfer::WouldBlock => {}
                    Transfer::Eof => panic!("peer dropped early"),
                }
                if sent == TOTAL {
                    end.shutdown_write().unwrap();
                }
            }
            if !peer_done {
                let len = next(256) as usize;
                match end.read(&mut buf[..len]).unwrap() {
                    Transfer::Bytes(n) => {
                        for (i, byte) in buf[..n].iter().enumerate() {
                            assert_eq!(*byte, stream_byte(1 - me, got + i as u64));
                        }
                        got += n as u64;
                    }
                    Transfer::WouldBlock => std::thread::yield_now(),
                    Transfer::Eof => peer_done = true,
                }
            }
        }
        got
    }

    let ta = std::thread::spawn(move || run(a, 0, 0x1234_5678));
    let tb = std::thread::spawn(move || run(b, 1, 0x9abc_def1));
    assert_eq!(ta.join().unwrap(), TOTAL);
    assert_eq!(tb.join().unwrap(), TOTAL);
}

//! The synchronisation primitives with real threads (on the host, `critical-section`'s `std`
//! implementation is a global mutex and the shared words are `AtomicU32`s), and the ring against
//! a model: random reserve/commit/peek/release sequences, through wrap-around, full and empty.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use flight_memory::sync::ring::{self, Buffer, Consumer, Producer, RingError};
use flight_memory::sync::{Lock, SeqLock, section};
use proptest::prelude::*;

/// splitmix64: the record lengths and contents both sides derive from a record's number.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a over `bytes`.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The payload length of record `seq`: mostly short, sometimes up to `max`.
fn length_of(seq: u64, max: usize) -> usize {
    let r = mix(seq);
    let len =
        if r.is_multiple_of(64) { 12 + (r >> 8) as usize % (max - 11) } else { 12 + (r >> 8) as usize % 120 };
    len.min(max)
}

/// Fills a payload: the record's number, bytes from its seed, and a checksum of both.
fn fill(seq: u64, out: &mut [u8]) {
    let n = out.len();
    out[..8].copy_from_slice(&seq.to_le_bytes());
    let mut state = mix(seq ^ 0x5555);
    for chunk in out[8..n - 4].chunks_mut(8) {
        state = mix(state);
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    let sum = checksum(&out[..n - 4]);
    out[n - 4..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn ring_passes_millions_of_records_between_two_threads_in_order_and_intact() {
    const RECORDS: u64 = 2_000_000;
    let mut buffer = Box::new(Buffer::<{ ring::footprint(4096) }>::new());
    let (mut tx, mut rx) = ring::split(buffer.as_mut_slice()).unwrap();
    let max = tx.max_len();
    assert_eq!(max, 2044);
    let started = Instant::now();
    let full_waits = AtomicU64::new(0);
    let empty_waits = AtomicU64::new(0);
    let bytes = thread::scope(|s| {
        s.spawn(|| {
            for seq in 0..RECORDS {
                let len = length_of(seq, max);
                loop {
                    match tx.reserve(len) {
                        Ok(mut grant) => {
                            fill(seq, &mut grant);
                            grant.commit();
                            break;
                        }
                        Err(RingError::Full { .. }) => {
                            full_waits.fetch_add(1, Ordering::Relaxed);
                            thread::yield_now();
                        }
                        Err(e) => panic!("record {seq}: {e}"),
                    }
                }
            }
        });
        let consumer = s.spawn(|| {
            let mut bytes = 0u64;
            let mut seq = 0u64;
            while seq < RECORDS {
                let Some(record) = rx.peek().unwrap() else {
                    empty_waits.fetch_add(1, Ordering::Relaxed);
                    thread::yield_now();
                    continue;
                };
                let n = record.len();
                assert_eq!(n, length_of(seq, max), "record {seq}: length");
                let got = u64::from_le_bytes(record[..8].try_into().unwrap());
                assert_eq!(got, seq, "records out of order");
                let sum = u32::from_le_bytes(record[n - 4..].try_into().unwrap());
                assert_eq!(sum, checksum(&record[..n - 4]), "record {seq}: checksum");
                let mut expected = vec![0u8; n];
                fill(seq, &mut expected);
                assert!(*record == *expected, "record {seq}: contents");
                bytes += n as u64;
                record.release();
                seq += 1;
            }
            assert!(rx.peek().unwrap().is_none(), "a record after the last");
            bytes
        });
        consumer.join().unwrap()
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{RECORDS} records, {bytes} payload bytes in {secs:.2} s ({:.0} MB/s); producer waited {} times \
         (full), consumer {} times (empty)",
        bytes as f64 / secs / 1e6,
        full_waits.load(Ordering::Relaxed),
        empty_waits.load(Ordering::Relaxed)
    );
    assert!(full_waits.load(Ordering::Relaxed) > 0 || empty_waits.load(Ordering::Relaxed) > 0);
}

#[test]
fn ring_halves_attached_separately_agree_through_the_span() {
    // Two components attach to a ring a third formatted, each through its own raw pointer.
    let mut buffer = Box::new(Buffer::<{ ring::footprint(1024) }>::new());
    let len = buffer.0.len();
    let base = NonNull::from(buffer.as_mut_slice()).cast::<u8>();
    // SAFETY: the buffer outlives both halves (the scope ends first) and is reached only through
    // `base`; one producer and one consumer attach.
    let (mut tx, mut rx) = unsafe {
        assert_eq!(ring::format(base, len).unwrap(), 1024);
        (Producer::attach(base, len).unwrap(), Consumer::attach(base, len).unwrap())
    };
    thread::scope(|s| {
        s.spawn(move || {
            for seq in 0..100_000u64 {
                let payload = seq.to_le_bytes();
                while tx.push(&payload[..1 + (seq % 8) as usize]).is_err() {
                    thread::yield_now();
                }
            }
        });
        s.spawn(move || {
            for seq in 0..100_000u64 {
                let record = loop {
                    if let Some(r) = rx.peek().unwrap() {
                        break r;
                    }
                    thread::yield_now();
                };
                let n = 1 + (seq % 8) as usize;
                assert_eq!(&*record, &seq.to_le_bytes()[..n]);
                record.release();
            }
        });
    });
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Quad {
    a: u64,
    b: u64,
    c: u64,
    d: u64,
}

#[test]
fn seqlock_readers_never_see_a_torn_value() {
    const WRITES: u64 = 1_000_000;
    static SHARED: SeqLock<Quad> = SeqLock::new(Quad { a: 0, b: 0, c: 0, d: 0 });
    let done = AtomicBool::new(false);
    let reads = AtomicU64::new(0);
    let distinct = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let (mut last, mut n, mut changes) = (0u64, 0u64, 0u64);
                while !done.load(Ordering::Relaxed) {
                    let q = SHARED.read();
                    assert!(q.a == q.b && q.b == q.c && q.c == q.d, "torn read: {q:?}");
                    assert!(q.a >= last, "went back from {last} to {}", q.a);
                    changes += u64::from(q.a != last);
                    last = q.a;
                    n += 1;
                }
                reads.fetch_add(n, Ordering::Relaxed);
                distinct.fetch_add(changes, Ordering::Relaxed);
            });
        }
        s.spawn(|| {
            for i in 1..=WRITES {
                if i % 2 == 0 {
                    SHARED.write(Quad { a: i, b: i, c: i, d: i });
                } else {
                    SHARED.update(|q| *q = Quad { a: q.a + 1, b: q.b + 1, c: q.c + 1, d: q.d + 1 });
                }
            }
            done.store(true, Ordering::Relaxed);
        });
    });
    assert_eq!(SHARED.read().a, WRITES);
    assert_eq!(SHARED.sequence(), (WRITES * 2) as u32);
    println!("{} reads, {} saw a new value", reads.load(Ordering::Relaxed), distinct.load(Ordering::Relaxed));
    assert!(distinct.load(Ordering::Relaxed) > 0, "the readers never ran alongside the writer");
}

#[test]
fn lock_keeps_increments_from_several_threads() {
    static COUNTER: Lock<u64> = Lock::new(0);
    static PAIR: Lock<(u64, u64)> = Lock::new((0, 0));
    const THREADS: u64 = 8;
    const EACH: u64 = 50_000;
    thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..EACH {
                    COUNTER.with(|c| *c += 1);
                    // A read-modify-write with a pause inside: lost updates if the lock failed.
                    section(|cs| {
                        let mut pair = PAIR.lock(cs);
                        let (x, y) = *pair;
                        if (i + t) % 1024 == 0 {
                            thread::yield_now();
                        }
                        *pair = (x + 1, y + 2);
                    });
                }
            });
        }
    });
    assert_eq!(COUNTER.with(|c| *c), THREADS * EACH);
    assert_eq!(PAIR.with(|p| *p), (THREADS * EACH, 2 * THREADS * EACH));
}

/// A record length, relative to the ring's largest.
#[derive(Clone, Copy, Debug)]
enum Len {
    /// This many thousandths of `max_len + 4` (so some are too large).
    Share(u16),
    /// `max_len` less this much: the largest records, to hit the skip and full edges often.
    BelowMax(u8),
}

impl Len {
    fn of(self, max: usize) -> usize {
        match self {
            Self::Share(t) => usize::from(t) * (max + 4) / 1000,
            Self::BelowMax(d) => max.saturating_sub(usize::from(d)),
        }
    }
}

/// One step of the ring model test.
#[derive(Clone, Debug)]
enum Op {
    /// Reserve, fill, then commit everything, commit only the first `keep` bytes, or (when
    /// `abandon`) drop the grant.
    Reserve { len: Len, keep: Option<u16>, abandon: bool },
    /// Peek at the oldest record, and release it or not.
    Peek { release: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![4 => (0u16..=1000).prop_map(Len::Share), 1 => (0u8..8).prop_map(Len::BelowMax)];
    prop_oneof![
        1 => (len, proptest::option::weighted(0.2, 0u16..=1000), proptest::bool::weighted(0.1))
            .prop_map(|(len, keep, abandon)| Op::Reserve { len, keep, abandon }),
        1 => proptest::bool::weighted(0.85).prop_map(|release| Op::Peek { release }),
    ]
}

/// What the ring holds, as the format describes it: skips and records between two counters.
#[derive(Debug)]
struct Model {
    capacity: u32,
    head: u32,
    tail: u32,
    /// Skips (`None`, with their size) and records, oldest first.
    entries: VecDeque<(u32, Option<Vec<u8>>)>,
}

impl Model {
    fn size(len: usize) -> u32 {
        4 + (len as u32).next_multiple_of(4)
    }

    /// The skip and the record size a record of `len` takes (a skip first if it cannot fit
    /// before the end), or the bytes needed and free when there is not room.
    fn room(&self, len: usize) -> Result<(u32, u32), (u32, u32)> {
        let pos = self.head % self.capacity;
        let to_end = self.capacity - pos;
        let size = Self::size(len);
        let skip = if size <= to_end { 0 } else { to_end };
        let free = self.capacity - self.head.wrapping_sub(self.tail);
        if skip + size <= free { Ok((skip, size)) } else { Err((skip + size, free)) }
    }

    fn commit(&mut self, skip: u32, payload: Vec<u8>) {
        if skip != 0 {
            self.entries.push_back((skip, None));
            self.head = self.head.wrapping_add(skip);
        }
        let size = Self::size(payload.len());
        self.entries.push_back((size, Some(payload)));
        self.head = self.head.wrapping_add(size);
    }

    /// The oldest record, skipping what precedes it.
    fn peek(&mut self) -> Option<&Vec<u8>> {
        while let Some((n, None)) = self.entries.front() {
            self.tail = self.tail.wrapping_add(*n);
            self.entries.pop_front();
        }
        self.entries.front().and_then(|(_, r)| r.as_ref())
    }

    fn release(&mut self) {
        let (n, _) = self.entries.pop_front().unwrap();
        self.tail = self.tail.wrapping_add(n);
    }
}

/// Formats a ring of `capacity` data bytes with both counters at `start` (as if `start` bytes
/// had already gone through it), and attaches its halves.
fn ring_at(buffer: &mut [u64], capacity: usize, start: u32) -> (Producer<'_>, Consumer<'_>) {
    let len = ring::footprint(capacity);
    assert!(buffer.len() * 8 >= len);
    let base = NonNull::from(buffer).cast::<u8>();
    // SAFETY: the buffer is borrowed for the halves' lifetime and reached only through `base`;
    // the counters (at 0x40 and 0x80, as the format says) are written before either half exists.
    unsafe {
        assert_eq!(ring::format(base, len).unwrap(), capacity);
        base.as_ptr().add(0x40).cast::<u32>().write(start.to_le());
        base.as_ptr().add(0x80).cast::<u32>().write(start.to_le());
        (Producer::attach(base, len).unwrap(), Consumer::attach(base, len).unwrap())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn ring_matches_its_model(
        log_capacity in 4u32..=8,
        start in prop_oneof![Just(0u32), Just(u32::MAX - 40), Just(u32::MAX - 3), any::<u32>()
            .prop_map(|s| s & !3)],
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        let capacity = 1usize << log_capacity;
        let mut buffer = vec![0u64; ring::footprint(capacity).div_ceil(8)];
        let start = start & !3;
        let (mut tx, mut rx) = ring_at(&mut buffer, capacity, start);
        let max = tx.max_len();
        prop_assert_eq!(max, capacity / 2 - 4);
        let mut model = Model { capacity: capacity as u32, head: start, tail: start, entries: VecDeque::new() };
        let mut stamp = 0u8;
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Reserve { len, keep, abandon } => {
                    let len = len.of(max);
                    let keep = keep.map(|k| usize::from(k) * len / 1000);
                    let expected = if len > max { Err(RingError::TooLarge { len, max }) } else {
                        model.room(len).map_err(|(needed, free)| RingError::Full {
                            needed: needed as usize,
                            free: free as usize,
                        })
                    };
                    match (tx.reserve(len), expected) {
                        (Ok(mut grant), Ok((skip, _))) => {
                            prop_assert_eq!(grant.len(), len);
                            prop_assert_eq!(grant.as_ptr() as usize % 4, 0, "payloads are 4-aligned");
                            stamp = stamp.wrapping_add(1);
                            for (i, b) in grant.iter_mut().enumerate() {
                                *b = stamp ^ (i as u8);
                            }
                            let kept = keep.unwrap_or(len);
                            let payload = grant[..kept].to_vec();
                            if abandon {
                                drop(grant);
                            } else {
                                if keep.is_some() { grant.commit_len(kept) } else { grant.commit() }
                                model.commit(skip, payload);
                            }
                        }
                        (Err(got), Err(want)) => prop_assert_eq!(got, want),
                        (got, want) => prop_assert!(false, "reserve({}): {:?}, the model says {:?}",
                            len, got.map(|g| g.len()), want),
                    }
                }
                Op::Peek { release } => {
                    let want = model.peek().cloned();
                    let got = rx.peek().unwrap();
                    prop_assert_eq!(got.as_deref(), want.as_deref());
                    if let Some(record) = got
                        && release
                    {
                        record.release();
                        model.release();
                    }
                }
            }
            // Not after every step: the halves' cached counters must go stale sometimes.
            if step % 5 == 4 {
                prop_assert_eq!(rx.used().unwrap(), model.head.wrapping_sub(model.tail) as usize);
                prop_assert_eq!(tx.free().unwrap(), capacity - model.head.wrapping_sub(model.tail) as usize);
            }
        }
        // Everything left comes out in order.
        while let Some(want) = model.peek().cloned() {
            let record = rx.peek().unwrap().unwrap();
            prop_assert_eq!(&*record, &want[..]);
            record.release();
            model.release();
        }
        prop_assert!(rx.peek().unwrap().is_none());
        prop_assert_eq!(tx.free().unwrap(), capacity);
    }
}

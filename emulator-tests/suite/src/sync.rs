//! The synchronisation checks every console runs, and their timings: the critical-section
//! [`Lock`], the [`SeqLock`] and the shared-memory [`ring`], on the console's own CPU (the
//! PlayStation's without atomics, through the volatile path).
//!
//! There is one core and the suite takes no interrupts, so the ring's producer and consumer
//! take turns: a pseudo-random schedule runs a few steps of one, then of the other, through
//! a ring in a static buffer, so that it wraps, fills and empties many times. The timings
//! report a lock's acquire+release and the ring's throughput from the console's own timer
//! (emulator figures, not hardware).

use core::fmt::Write;
use core::ptr::{NonNull, addr_of_mut};

use flight_memory::sync::ring::{self, Buffer, Consumer, Producer, RingError};
use flight_memory::sync::{Lock, SeqLock, section};

use crate::allocators::{Clock, Rng};
use crate::{Failure, Outcome, Test, ensure};

/// The synchronisation checks.
pub const CHECKS: &[Test] = &[
    Test::new("lock_excludes_and_refuses_nesting", |_| check_lock()),
    Test::new("seqlock_reads_whole_values", |_| check_seqlock()),
    Test::new("ring_hands_records_over_in_place", |_| check_ring()),
];

/// The data bytes of the checks' ring: small, so that it wraps and fills often.
const CAPACITY: usize = 512;
/// The data bytes of the timed ring.
const TIMED_CAPACITY: usize = 4096;

/// The static ring's type.
type RingBuffer = Buffer<{ ring::footprint(TIMED_CAPACITY) }>;

/// The ring's span: the checks and the timings use it in turn, each formatting it afresh.
static mut RING: RingBuffer = Buffer::new();

/// The ring's span, as a pointer and a length (for `format` and `attach`).
fn ring_span() -> (NonNull<u8>, usize) {
    // SAFETY: the address of a static is never null. Only the address is taken: the bytes are
    // reached through this pointer alone, by one check or timing at a time.
    (unsafe { NonNull::new_unchecked(addr_of_mut!(RING).cast::<u8>()) }, core::mem::size_of::<RingBuffer>())
}

/// Formats the first `capacity` data bytes of the static ring and attaches its halves.
fn ring_halves(capacity: usize) -> Result<(Producer<'static>, Consumer<'static>), Failure> {
    let (base, _) = ring_span();
    let len = ring::footprint(capacity);
    // SAFETY: the static is at least `len` bytes, 64-aligned, and used by one check or timing at
    // a time, each of which drops its halves before returning; the halves are the only ones.
    unsafe {
        ring::format(base, len).map_err(|e| Failure(alloc::format!("format: {e}")))?;
        let tx = Producer::attach(base, len).map_err(|e| Failure(alloc::format!("producer: {e}")))?;
        let rx = Consumer::attach(base, len).map_err(|e| Failure(alloc::format!("consumer: {e}")))?;
        Ok((tx, rx))
    }
}

static COUNTER: Lock<u32> = Lock::new(0);
static OTHER: Lock<[u16; 4]> = Lock::new([0; 4]);

fn check_lock() -> Outcome {
    let start = COUNTER.with(|c| *c);
    for _ in 0..1000 {
        COUNTER.with(|c| *c += 1);
    }
    ensure!(COUNTER.with(|c| *c) == start + 1000, "1000 increments gave {}", COUNTER.with(|c| *c) - start);
    let outcome = section(|cs| {
        let mut c = COUNTER.lock(cs);
        let mut o = OTHER.lock(cs);
        ensure!(COUNTER.try_lock(cs).is_none(), "a held lock was locked again in its section");
        *c += 1;
        o[0] = o[0].wrapping_add(1);
        drop(c);
        ensure!(COUNTER.try_lock(cs).is_some(), "a lock stayed held after its guard was dropped");
        Ok(())
    });
    outcome?;
    ensure!(COUNTER.with(|c| *c) == start + 1001, "the guard's increment was lost");
    Ok(())
}

/// Four words written together: a torn read would show two of them different.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Quad([u32; 4]);

static QUAD: SeqLock<Quad> = SeqLock::new(Quad([0; 4]));

fn check_seqlock() -> Outcome {
    let first = QUAD.sequence();
    ensure!(first.is_multiple_of(2), "the sequence is odd ({first}) with no write under way");
    for i in 1..=500u32 {
        if i % 3 == 0 {
            QUAD.update(|q| q.0 = [q.0[0] + 1; 4]);
        } else {
            QUAD.write(Quad([i; 4]));
        }
        let q = QUAD.read();
        ensure!(q == Quad([i; 4]), "write {i} read back as {q:?}");
        ensure!(QUAD.try_read() == Some(q), "an attempt with no writer under way failed");
    }
    let writes = QUAD.sequence().wrapping_sub(first) / 2;
    ensure!(writes == 500, "500 writes moved the sequence by {writes}");
    Ok(())
}

/// The payload of record `seq`: its length (up to `max`), then its bytes.
fn record_len(seq: u32, max: usize) -> usize {
    let r = seq.wrapping_mul(2_654_435_761) >> 7;
    if r.is_multiple_of(8) { max - (r as usize >> 3) % 8 } else { (r as usize >> 3) % 64 }
}

fn record_byte(seq: u32, i: usize) -> u8 {
    (seq as u8).wrapping_mul(31) ^ (i as u8)
}

fn check_ring() -> Outcome {
    const RECORDS: u32 = 3000;
    let (mut tx, rx) = ring_halves(CAPACITY)?;
    let mut rx = Some(rx);
    let max = tx.max_len();
    ensure!(tx.capacity() == CAPACITY && max == CAPACITY / 2 - 4, "capacity {} max {max}", tx.capacity());
    let mut rng = Rng(0x1234_5678);
    let (mut sent, mut received) = (0u32, 0u32);
    let (mut fulls, mut empties, mut wraps, mut reattached) = (0u32, 0u32, 0u32, 0u32);
    let mut last_start = 0usize;
    while received < RECORDS {
        // The producer's turn: a few records, until the ring is full.
        for _ in 0..rng.below(5) {
            if sent == RECORDS {
                break;
            }
            let len = record_len(sent, max);
            match tx.reserve(len) {
                Ok(mut grant) => {
                    let start = grant.as_ptr() as usize;
                    wraps += u32::from(start < last_start);
                    last_start = start;
                    for (i, b) in grant.iter_mut().enumerate() {
                        *b = record_byte(sent, i);
                    }
                    grant.commit();
                    sent += 1;
                }
                Err(RingError::Full { .. }) => {
                    fulls += 1;
                    break;
                }
                Err(e) => return Err(Failure(alloc::format!("record {sent}: {e}"))),
            }
        }
        // Now and then the consumer detaches and a new one attaches to the same span, as a
        // component restarted in another image would.
        if rng.below(64) == 0 {
            let _ = rx.take();
            let (base, _) = ring_span();
            // SAFETY: the previous consumer is gone; the ring was formatted by `ring_halves`
            // and the producer is the only other half.
            let again = unsafe { Consumer::attach(base, ring::footprint(CAPACITY)) };
            rx = Some(again.map_err(|e| Failure(alloc::format!("re-attach: {e}")))?);
            reattached += 1;
        }
        let Some(consumer) = rx.as_mut() else { return Err(Failure("no consumer".into())) };
        // The consumer's turn: a few records, until the ring is empty.
        for _ in 0..rng.below(5) {
            let Some(record) = consumer.peek().map_err(|e| Failure(alloc::format!("peek: {e}")))? else {
                empties += 1;
                break;
            };
            let len = record_len(received, max);
            ensure!(record.len() == len, "record {received}: {} bytes, sent {len}", record.len());
            if let Some(i) = (0..len).find(|&i| record[i] != record_byte(received, i)) {
                return Err(Failure(alloc::format!("record {received}: byte {i} is {:#x}", record[i])));
            }
            record.release();
            received += 1;
        }
    }
    ensure!(sent == RECORDS, "sent {sent} of {RECORDS}");
    let Some(mut consumer) = rx else { return Err(Failure("no consumer".into())) };
    ensure!(matches!(consumer.peek(), Ok(None)), "a record after the last");
    ensure!(tx.free() == Ok(CAPACITY), "the empty ring has {:?} bytes free", tx.free());
    ensure!(
        fulls > 0 && empties > 0 && wraps > 10 && reattached > 0,
        "the schedule missed an edge: {fulls} full, {empties} empty, {wraps} wraps, {reattached} re-attached"
    );
    Ok(())
}

/// Times the lock's acquire+release and the ring's throughput, and prints
/// `time CONSOLE lock: ...` and `time CONSOLE ring: ...` lines.
pub fn time(out: &mut dyn Write, console: &str, clock: &Clock) {
    let enough = u64::from(clock.hz) / 10;
    let (mut ticks, mut done) = (0u64, 0u32);
    while (done < 512 || ticks < enough) && done < 1 << 20 {
        let start = (clock.now)();
        for _ in 0..16 {
            COUNTER.with(|c| *c = c.wrapping_add(1));
        }
        ticks += u64::from(clock.since(start));
        done += 16;
    }
    let ns = ticks * 1_000_000_000 / u64::from(clock.hz.max(1)) / u64::from(done);
    let _ = writeln!(out, "time {console} lock: {ns} ns per acquire+release ({done} pairs, emulator figure)");
    for size in [16usize, 256] {
        let Ok((mut tx, mut rx)) = ring_halves(TIMED_CAPACITY) else { return };
        let (mut ticks, mut records, mut sum) = (0u64, 0u64, 0u32);
        let source = [0x5au8; 256];
        let mut sink = [0u8; 256];
        while (records < 512 || ticks < enough) && records < 1 << 20 {
            let start = (clock.now)();
            // Four records in, four out (short enough for the PlayStation's 16-bit timer not to
            // wrap twice): the producer writes each in place, the consumer copies each out.
            for _ in 0..4 {
                if let Ok(mut grant) = tx.reserve(size) {
                    grant.copy_from_slice(&source[..size]);
                    grant.commit();
                }
            }
            while let Ok(Some(record)) = rx.peek() {
                sink[..record.len()].copy_from_slice(&record);
                sum = sum.wrapping_add(u32::from(sink[size - 1]));
                record.release();
                records += 1;
            }
            ticks += u64::from(clock.since(start));
        }
        let _ = core::hint::black_box(sum);
        let hz = u64::from(clock.hz.max(1));
        let ticks = ticks.max(1);
        let per_second = records * hz / ticks;
        let tenths_mb = records * size as u64 * hz * 10 / ticks / 1_000_000;
        let _ = writeln!(
            out,
            "time {console} ring: {}.{} MB/s, {per_second} records/s ({size} B records, producer and \
             consumer interleaved on one core, {records} records, emulator figure)",
            tenths_mb / 10,
            tenths_mb % 10
        );
    }
}

//! The ring benchmark: flight-memory's single-producer single-consumer ring
//! (`flight_memory::sync::ring`) between two host threads, for records of 16 B, 256 B and
//! 4 KiB, with `std::sync::mpsc::sync_channel` carrying the same records as a reference.
//!
//! ```text
//! cargo run --release -p flight-bench --bin flight-sync-bench              # the full run
//! cargo run --release -p flight-bench --bin flight-sync-bench -- --quick   # a smoke run
//! ```
//!
//! The producer thread writes each record in place (a copy of a source buffer, its number in
//! the first 8 bytes) and commits it; the consumer thread reads it in place, checks the number,
//! copies it out and releases it. Both spin briefly, then yield, when the ring is full or empty.
//! The figures are payload bytes and records per second of wall-clock time, the median of the
//! trials. The channel moves a `Vec<u8>` per record (an allocation and a copy in, a copy out).

mod args;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use flight_memory::sync::ring::{self, RingError};

/// How much a run does.
#[derive(Clone, Copy, Debug)]
struct Config {
    /// "full" or "quick".
    name: &'static str,
    /// Payload bytes per trial (fewer for the smallest records: see `max_records`).
    bytes: u64,
    /// At most this many records per trial.
    max_records: u64,
    /// Trials per figure (the median is reported).
    trials: usize,
}

const FULL: Config = Config { name: "full", bytes: 1 << 30, max_records: 10_000_000, trials: 3 };
const QUICK: Config = Config { name: "quick", bytes: 128 << 20, max_records: 2_000_000, trials: 1 };

/// The record sizes measured.
const SIZES: [usize; 3] = [16, 256, 4096];
/// The ring's data area.
const CAPACITY: usize = 64 * 1024;
/// Records the channel may hold (as many as the ring holds of 256 B).
const CHANNEL_DEPTH: usize = CAPACITY / 260;

fn main() -> ExitCode {
    let config = match args::quick("flight-sync-bench", "fewer records (a smoke run)") {
        Ok(true) => QUICK,
        Ok(false) => FULL,
        Err(code) => return code,
    };
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flight-sync-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One trial's figures.
#[derive(Clone, Copy, Debug)]
struct Trial {
    records: u64,
    elapsed: Duration,
}

impl Trial {
    fn mb_per_s(&self, size: usize) -> f64 {
        (self.records * size as u64) as f64 / self.elapsed.as_secs_f64() / 1e6
    }

    fn records_per_s(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64()
    }
}

/// The trial with the median time.
fn median(mut trials: Vec<Trial>) -> Option<Trial> {
    trials.sort_by_key(|t| t.elapsed);
    trials.get(trials.len() / 2).copied()
}

fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    println!(
        "flight-sync-bench ({}): one producer thread, one consumer thread; ring of {} data bytes ({} B \
         span); {} trial(s) per figure, median; {} core(s)",
        config.name,
        CAPACITY,
        ring::footprint(CAPACITY),
        config.trials,
        thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!(
        "{:>7} {:>11} {:>10} {:>14} | {:>10} {:>14} | {:>6}",
        "record", "records", "ring MB/s", "ring records/s", "mpsc MB/s", "mpsc records/s", "ratio"
    );
    for size in SIZES {
        let records = (config.bytes / size as u64).min(config.max_records);
        let mut ring_trials = Vec::new();
        let mut channel_trials = Vec::new();
        for _ in 0..config.trials {
            ring_trials.push(ring_trial(size, records)?);
            channel_trials.push(channel_trial(size, records)?);
        }
        let (Some(r), Some(c)) = (median(ring_trials), median(channel_trials)) else {
            return Err("no trial ran".into());
        };
        println!(
            "{:>5} B {:>11} {:>10.1} {:>14.0} | {:>10.1} {:>14.0} | {:>5.1}x",
            size,
            records,
            r.mb_per_s(size),
            r.records_per_s(),
            c.mb_per_s(size),
            c.records_per_s(),
            r.mb_per_s(size) / c.mb_per_s(size)
        );
    }
    println!();
    println!("ratio: ring throughput over the channel's (above 1: the ring is faster)");
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Waits a little: spins first, then yields the CPU.
fn back_off(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

/// A 64-aligned span for the ring, on the heap.
#[repr(C, align(64))]
struct Span([MaybeUninit<u8>; ring::footprint(CAPACITY)]);

/// `records` records of `size` bytes through a fresh ring.
fn ring_trial(size: usize, records: u64) -> Result<Trial, String> {
    let mut span = Box::new(Span([MaybeUninit::uninit(); ring::footprint(CAPACITY)]));
    let (mut tx, mut rx) = ring::split(&mut span.0).map_err(|e| e.to_string())?;
    let source: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let start = Instant::now();
    let result = thread::scope(|s| {
        let producer = s.spawn(|| -> Result<(), String> {
            for seq in 0..records {
                let mut spins = 0;
                loop {
                    match tx.reserve(size) {
                        Ok(mut grant) => {
                            grant.copy_from_slice(&source);
                            grant[..8].copy_from_slice(&seq.to_le_bytes());
                            grant.commit();
                            break;
                        }
                        Err(RingError::Full { .. }) => back_off(&mut spins),
                        Err(e) => return Err(format!("producer: {e}")),
                    }
                }
            }
            Ok(())
        });
        let consumer = s.spawn(|| -> Result<(), String> {
            let mut sink = vec![0u8; size];
            for seq in 0..records {
                let mut spins = 0;
                let record = loop {
                    match rx.peek() {
                        Ok(Some(r)) => break r,
                        Ok(None) => back_off(&mut spins),
                        Err(e) => return Err(format!("consumer: {e}")),
                    }
                };
                sink.copy_from_slice(&record);
                if sink[..8] != seq.to_le_bytes() {
                    return Err(format!("record {seq} arrived out of order"));
                }
                record.release();
            }
            black_box(&sink);
            Ok(())
        });
        let p = producer.join().map_err(|_| "the producer panicked".to_string())?;
        let c = consumer.join().map_err(|_| "the consumer panicked".to_string())?;
        p.and(c)
    });
    let elapsed = start.elapsed();
    result.map(|()| Trial { records, elapsed })
}

/// `records` records of `size` bytes through `std::sync::mpsc::sync_channel`.
fn channel_trial(size: usize, records: u64) -> Result<Trial, String> {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(CHANNEL_DEPTH);
    let source: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let start = Instant::now();
    let result = thread::scope(|s| {
        let producer = s.spawn(|| -> Result<(), String> {
            for seq in 0..records {
                let mut record = source.clone();
                record[..8].copy_from_slice(&seq.to_le_bytes());
                tx.send(record).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let consumer = s.spawn(move || -> Result<(), String> {
            let mut sink = vec![0u8; size];
            for seq in 0..records {
                let record = rx.recv().map_err(|e| e.to_string())?;
                sink.copy_from_slice(&record);
                if sink[..8] != seq.to_le_bytes() {
                    return Err(format!("record {seq} arrived out of order"));
                }
            }
            black_box(&sink);
            Ok(())
        });
        let p = producer.join().map_err(|_| "the producer panicked".to_string())?;
        let c = consumer.join().map_err(|_| "the consumer panicked".to_string())?;
        p.and(c)
    });
    let elapsed = start.elapsed();
    result.map(|()| Trial { records, elapsed })
}

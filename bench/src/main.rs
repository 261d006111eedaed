//! The allocator benchmark: flight-memory's heaps against talc (5, and 4), rlsf, linked_list_allocator,
//! embedded-alloc (both heaps) and buddy_system_allocator, in one process, on the same memory
//! and the same action sequences, and a plain-text report on stdout.
//!
//! ```text
//! cargo run --release -p flight-bench              # the full run (a few minutes at most)
//! cargo run --release -p flight-bench -- --quick   # fewer iterations, every allocator
//! ```
//!
//! - (a) talc's random actions (maximum sizes 200, 1,000, 10,000, 30,000 bytes): ns/op, and
//!   the ratio of each heap to ours (`other / ours`: above 1 means ours is faster);
//! - (b) latency of single allocations, frees and resizes (p50/p99/max), from a fenced
//!   time-stamp counter with its overhead subtracted; allocate+free pairs of `Pool`, `Linear`
//!   and every heap;
//! - (c) heap efficiency at the first failure, by talc's method;
//! - the issue's targets, each MET or NOT MET with the numbers that decide it.

mod args;
mod clock;
mod subjects;
mod workloads;

use std::alloc::Layout;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flight_memory::alloc::{Linear, Pool};

use crate::clock::Clock;
use crate::subjects::{Arena, Kind, Null, Ours, Visit, with_subject};
use crate::workloads::{
    Efficiency, EfficiencyResult, Latency, PairLatency, Pairs, Percentiles, RandomActions, talc_steps,
};

/// How much of everything a run does.
#[derive(Clone, Copy, Debug)]
struct Config {
    /// "full" or "quick".
    name: &'static str,
    /// Heap for random actions.
    ra_heap: usize,
    /// Random actions: steps per run.
    ra_steps: usize,
    /// Random actions: runs per heap and size (the median is reported).
    ra_trials: usize,
    /// Latency: heap size.
    lat_heap: usize,
    /// Latency: steps (after the warm-up).
    lat_steps: usize,
    /// Latency: steps run before recording.
    lat_warmup: usize,
    /// Latency: runs per heap (each percentile is the median over the runs).
    lat_runs: usize,
    /// Efficiency: heap size.
    eff_heap: usize,
    /// Efficiency: trials.
    eff_trials: usize,
    /// Allocate+free pairs per batch.
    pairs: usize,
    /// Batches of pairs.
    pair_batches: usize,
}

/// The default run.
const FULL: Config = Config {
    name: "full",
    ra_heap: 64 << 20,
    ra_steps: 400_000,
    ra_trials: 7,
    lat_heap: 4 << 20,
    // At least 200,000 samples of each operation (a seventh of the steps resize).
    lat_steps: 1_500_000,
    lat_warmup: 20_000,
    lat_runs: 5,
    eff_heap: 32 << 20,
    eff_trials: 300,
    pairs: 5_000_000,
    pair_batches: 7,
};

/// `--quick`: every allocator and workload, fewer iterations (a CI smoke run).
const QUICK: Config = Config {
    name: "quick",
    ra_heap: 64 << 20,
    ra_steps: 20_000,
    ra_trials: 1,
    lat_heap: 4 << 20,
    lat_steps: 20_000,
    lat_warmup: 2_000,
    lat_runs: 1,
    eff_heap: 32 << 20,
    eff_trials: 10,
    pairs: 200_000,
    pair_batches: 3,
};

/// talc's random-actions maximum sizes this benchmark uses.
const RA_MAX_SIZES: [usize; 4] = [200, 1_000, 10_000, 30_000];
/// Maximum size of the latency workload's random actions.
const LAT_MAX_SIZE: usize = 1_000;
/// The layout of the allocate+free pairs.
const PAIR_LAYOUT: (usize, usize) = (64, 8);
/// Seed of every generator.
const SEED: u64 = 0x0f11_6477_a110_c8ed;
/// Target: `Pool` and `Linear` allocate+free pairs below this many nanoseconds.
const PAIR_TARGET_NS: f64 = 5.0;
/// Target: no operation of ours above this many nanoseconds at p99.
const P99_TARGET_NS: f64 = 100.0;
/// Aim: heap efficiency of ours at least this many percent.
const EFFICIENCY_AIM: f64 = 99.0;

fn main() -> ExitCode {
    let config = match args::quick("flight-bench", "fewer iterations (CI smoke run), still every allocator") {
        Ok(true) => QUICK,
        Ok(false) => FULL,
        Err(code) => return code,
    };
    run(config);
    ExitCode::SUCCESS
}

/// One general heap's figures from every workload.
#[derive(Clone, Debug)]
struct HeapRow {
    kind: Kind,
    /// (a): ns/op per maximum size.
    ns_per_op: Vec<f64>,
    /// (b): allocation, free and resize latency.
    alloc: Percentiles,
    free: Percentiles,
    realloc: Percentiles,
    /// Allocate+free pair, ns.
    pair: f64,
    /// (c).
    efficiency: EfficiencyResult,
}

fn run(config: Config) {
    let started = Instant::now();
    let clock = Clock::calibrate(Duration::from_millis(100));
    let mut arena = Arena::new(config.ra_heap.max(config.eff_heap).max(config.lat_heap));
    let lock_ns = critical_section_ns(1_000_000);

    println!("flight-bench: flight-memory allocators against talc, rlsf, linked_list_allocator,");
    println!("embedded-alloc and buddy_system_allocator ({} run, one process, seed {SEED:#x})", config.name);
    println!();
    println!("notes:");
    println!("- every heap is built fresh over the same page-aligned, pre-touched arena and sees the same");
    println!("  action sequence; \"ratio = other / ours\" compares with ours: Tlsf (> 1: ours is faster)");
    println!(
        "- competitors unlocked: talc 5's base::Talc (Manual, default binning), talc 4's Talc (ErrOnOom),"
    );
    println!("  rlsf::Tlsf<usize, usize, 52, 64> (talc's");
    println!("  configuration), linked_list_allocator::Heap, buddy_system_allocator::Heap<32>;");
    println!("  (L) = embedded-alloc, which only has locked heaps: every call takes a critical-section");
    println!("  lock, {lock_ns:.1} ns per acquire+release here (critical-section's std implementation),");
    println!("  and its resize is GlobalAlloc's default (allocate, copy, free: three locks)");
    println!("- resizes without an in-place path (linked_list_allocator, buddy_system_allocator) allocate,");
    println!("  copy and free, as their locked GlobalAlloc heaps do");
    println!(
        "- per-operation clock: {}, {:.3} ns/tick, {:.1} ns reading overhead subtracted from every sample;",
        clock.source,
        clock.ns_per_tick,
        clock.overhead_ns()
    );
    if clock.step_ticks > 1.0 {
        println!(
            "  the counter advances in steps of {:.1} ticks ({:.1} ns): a sample is spread evenly over",
            clock.step_ticks,
            clock.step_ns()
        );
        println!("  its step when percentiles are taken (interpolated; max is the raw largest sample)");
    }
    println!();

    let kinds = Kind::ALL;
    let mut rows: Vec<HeapRow> = kinds
        .iter()
        .map(|&kind| HeapRow {
            kind,
            ns_per_op: Vec::new(),
            alloc: Percentiles::default(),
            free: Percentiles::default(),
            realloc: Percentiles::default(),
            pair: 0.0,
            efficiency: EfficiencyResult { percent: 0.0, ops_per_trial: 0.0 },
        })
        .collect();

    // (a) random actions.
    let mut harness = Vec::new();
    for (size_index, &max) in RA_MAX_SIZES.iter().enumerate() {
        let steps = talc_steps(max, config.ra_steps, SEED.wrapping_add(max as u64));
        let mut trials: Vec<Vec<f64>> = vec![Vec::new(); kinds.len()];
        let mut failures = vec![(0usize, 0usize); kinds.len()];
        let mut null_trials = Vec::new();
        let mut workload = RandomActions { steps: &steps };
        for _ in 0..config.ra_trials {
            // Interleaved, so that a slow phase of the machine hits every heap alike.
            for (i, &kind) in kinds.iter().enumerate() {
                let t = with_subject(kind, arena.memory(config.ra_heap), &mut workload);
                trials[i].push(t.elapsed.as_nanos() as f64 / t.counts.ops.max(1) as f64);
                failures[i].0 += t.counts.alloc_failures;
                failures[i].1 += t.counts.realloc_failures;
            }
            let t = workload.visit(&mut Null);
            null_trials.push(t.elapsed.as_nanos() as f64 / t.counts.ops.max(1) as f64);
        }
        for (row, mut t) in rows.iter_mut().zip(trials) {
            row.ns_per_op.push(median(&mut t));
        }
        harness.push(median(&mut null_trials));
        println!(
            "(a) random actions, max size {max} B: {} MiB heap, {} steps x {} run(s), median ns/op",
            config.ra_heap >> 20,
            config.ra_steps,
            config.ra_trials
        );
        println!("  {:<26} {:>9} {:>22}", "allocator", "ns/op", "ratio = other / ours");
        let ours = rows[0].ns_per_op[size_index];
        for (row, &(alloc_fail, realloc_fail)) in rows.iter().zip(&failures) {
            let ns = row.ns_per_op[size_index];
            let failed = if alloc_fail + realloc_fail > 0 {
                format!("   ({alloc_fail} allocs, {realloc_fail} resizes refused)")
            } else {
                String::new()
            };
            println!("  {:<26} {:>9.1} {:>22.2}{failed}", row.kind.name(), ns, ns / ours);
        }
        println!("  {:<26} {:>9.1}   (no allocator: the harness alone)", "(harness)", harness[size_index]);
        println!();
    }

    // (b) latency.
    let lat_steps = talc_steps(LAT_MAX_SIZE, config.lat_warmup + config.lat_steps, SEED ^ 0xb);
    let mut lat_failures = Vec::new();
    for row in rows.iter_mut() {
        let (mut alloc, mut free, mut realloc) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..config.lat_runs.max(1) {
            let mut workload = Latency { steps: &lat_steps, warmup: config.lat_warmup };
            let (mut samples, counts) = with_subject(row.kind, arena.memory(config.lat_heap), &mut workload);
            if run == 0 && counts.alloc_failures + counts.realloc_failures > 0 {
                lat_failures.push(format!(
                    "{}: {} allocs, {} resizes refused",
                    row.kind.name(),
                    counts.alloc_failures,
                    counts.realloc_failures
                ));
            }
            alloc.push(Percentiles::of(&mut samples.alloc, &clock));
            free.push(Percentiles::of(&mut samples.free, &clock));
            realloc.push(Percentiles::of(&mut samples.realloc, &clock));
        }
        (row.alloc, row.free, row.realloc) =
            (Percentiles::median(&alloc), Percentiles::median(&free), Percentiles::median(&realloc));
    }
    let pair_layout = Layout::from_size_align(PAIR_LAYOUT.0, PAIR_LAYOUT.1).expect("a valid layout");
    let mut pair_latency = PairLatency { layout: pair_layout, pairs: config.lat_steps };
    let pool_lat = pool(arena.memory(1 << 20), pair_layout, &mut pair_latency);
    let linear_lat = linear(arena.memory(1 << 20), &mut pair_latency);
    let [pool_alloc, pool_free, linear_alloc, linear_free] =
        [pool_lat.alloc, pool_lat.free, linear_lat.alloc, linear_lat.free]
            .map(|mut s| Percentiles::of(&mut s, &clock));

    println!(
        "(b) latency, ns: random actions (max {LAT_MAX_SIZE} B) on a {} MiB heap, {} steps after {} warm-up, \
         each figure the median of {} run(s)",
        config.lat_heap >> 20,
        config.lat_steps,
        config.lat_warmup,
        config.lat_runs.max(1)
    );
    println!(
        "  {:<26} {:>26} {:>26} {:>26}",
        "allocator", "alloc p50 / p99 / max", "free p50 / p99 / max", "resize p50 / p99 / max"
    );
    for row in &rows {
        println!(
            "  {:<26} {:>26} {:>26} {:>26}",
            row.kind.name(),
            triple(&row.alloc),
            triple(&row.free),
            triple(&row.realloc)
        );
    }
    println!(
        "  {:<26} {:>26} {:>26}   ({} B pairs, idle)",
        "ours: Pool",
        triple(&pool_alloc),
        triple(&pool_free),
        PAIR_LAYOUT.0
    );
    println!(
        "  {:<26} {:>26} {:>26}   ({} B pairs, idle)",
        "ours: Linear",
        triple(&linear_alloc),
        triple(&linear_free),
        PAIR_LAYOUT.0
    );
    if !lat_failures.is_empty() {
        println!("  refused (the sequences diverge from there): {}", lat_failures.join("; "));
    }
    println!();

    // Allocate+free pairs.
    let mut pairs = Pairs { layout: pair_layout, pairs: config.pairs, batches: config.pair_batches };
    let pool_pair = pool(arena.memory(1 << 20), pair_layout, &mut pairs);
    let linear_pair = linear(arena.memory(1 << 20), &mut pairs);
    for row in rows.iter_mut() {
        row.pair = with_subject(row.kind, arena.memory(config.lat_heap), &mut pairs);
    }
    println!(
        "(b) allocate+free pairs, {} B aligned to {}, idle allocator: ns per pair (Instant, median of {} x {})",
        PAIR_LAYOUT.0, PAIR_LAYOUT.1, config.pair_batches, config.pairs
    );
    println!("  {:<26} {:>9.2}", "ours: Pool", pool_pair);
    println!("  {:<26} {:>9.2}", "ours: Linear", linear_pair);
    for row in &rows {
        println!("  {:<26} {:>9.2}", row.kind.name(), row.pair);
    }
    println!();

    // (c) heap efficiency.
    let mut efficiency =
        Efficiency { trials: config.eff_trials, heap_size: config.eff_heap, seed: SEED ^ 0xc };
    println!(
        "(c) heap efficiency at the first failure (talc's method): {} MiB heap, {} trials",
        config.eff_heap >> 20,
        config.eff_trials
    );
    println!("  {:<26} {:>12} {:>16}", "allocator", "efficiency %", "ops per trial");
    for row in rows.iter_mut() {
        row.efficiency = with_subject(row.kind, arena.memory(config.eff_heap), &mut efficiency);
        println!(
            "  {:<26} {:>12.2} {:>16.0}",
            row.kind.name(),
            row.efficiency.percent,
            row.efficiency.ops_per_trial
        );
    }
    println!();

    targets(
        &rows,
        pool_pair,
        linear_pair,
        &[("Pool", &pool_alloc, &pool_free), ("Linear", &linear_alloc, &linear_free)],
    );
    println!();
    println!("({} run took {:.1} s)", config.name, started.elapsed().as_secs_f64());
}

/// Prints the issue's targets, each with what decides it.
fn targets(rows: &[HeapRow], pool_pair: f64, linear_pair: f64, fixed: &[(&str, &Percentiles, &Percentiles)]) {
    let ours = &rows[0];
    debug_assert_eq!(ours.kind, Kind::Tlsf);
    let others: Vec<&HeapRow> = rows.iter().filter(|r| !r.kind.ours()).collect();
    let verdict = |met: bool| if met { "MET" } else { "NOT MET" };

    println!("targets (ours = flight-memory Tlsf unless named; competitors = the six other heaps)");

    println!(
        "1. general-purpose heap at least as fast as the fastest competitor at p50 and p99 (latency, b)"
    );
    let mut all = true;
    for (op, get) in
        [("alloc", (|r: &HeapRow| r.alloc) as fn(&HeapRow) -> Percentiles), ("free", |r: &HeapRow| r.free)]
    {
        for (which, pick) in
            [("p50", (|p: Percentiles| p.p50) as fn(Percentiles) -> f64), ("p99", |p: Percentiles| p.p99)]
        {
            let mine = pick(get(ours));
            let best = others
                .iter()
                .map(|r| (r.kind.name(), pick(get(r))))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or(("none", f64::INFINITY));
            let met = mine <= best.1;
            all &= met;
            println!(
                "   {op:<5} {which}: ours {mine:.1} ns, fastest competitor {} {:.1} ns -> {}",
                best.0,
                best.1,
                verdict(met)
            );
        }
    }
    println!("   => {}", verdict(all));

    println!("2. general-purpose heap at least as efficient as the best competitor (c), aiming at 99%");
    let best = others
        .iter()
        .map(|r| (r.kind.name(), r.efficiency.percent))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("none", 0.0));
    let mine = ours.efficiency.percent;
    println!("   ours {mine:.2}%, best competitor {} {:.2}% -> {}", best.0, best.1, verdict(mine >= best.1));
    println!("   aim {EFFICIENCY_AIM:.0}%: ours {mine:.2}% -> {}", verdict(mine >= EFFICIENCY_AIM));

    println!("3. Pool and Linear allocate+free under {PAIR_TARGET_NS:.0} ns on the host");
    println!("   Pool {pool_pair:.2} ns -> {}", verdict(pool_pair < PAIR_TARGET_NS));
    println!("   Linear {linear_pair:.2} ns -> {}", verdict(linear_pair < PAIR_TARGET_NS));

    println!("4. no operation of ours over {P99_TARGET_NS:.0} ns at p99 (latency, b)");
    let mut ops: Vec<(String, f64)> = Vec::new();
    for row in rows.iter().filter(|r| r.kind.ours()) {
        let name = row.kind.name().trim_start_matches("ours: ");
        ops.push((format!("{name} alloc"), row.alloc.p99));
        ops.push((format!("{name} free"), row.free.p99));
        ops.push((format!("{name} resize"), row.realloc.p99));
    }
    for (name, alloc, free) in fixed {
        ops.push((format!("{name} alloc"), alloc.p99));
        ops.push((format!("{name} free"), free.p99));
    }
    let over: Vec<String> = ops
        .iter()
        .filter(|(_, p99)| *p99 > P99_TARGET_NS)
        .map(|(n, p99)| format!("{n} {p99:.1} ns"))
        .collect();
    let listed: Vec<String> = ops.iter().map(|(n, p99)| format!("{n} {p99:.1}")).collect();
    println!("   p99 (ns): {}", listed.join(", "));
    if over.is_empty() {
        println!("   => MET");
    } else {
        println!("   => NOT MET: over {P99_TARGET_NS:.0} ns: {}", over.join(", "));
    }

    println!("(not a target) random actions (a), ours vs the fastest competitor:");
    for (i, max) in RA_MAX_SIZES.iter().enumerate() {
        let mine = ours.ns_per_op[i];
        let best = others
            .iter()
            .map(|r| (r.kind.name(), r.ns_per_op[i]))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or(("none", f64::INFINITY));
        println!(
            "   max {max:>6} B: ours {mine:.1} ns/op, fastest competitor {} {:.1} ns/op, ratio {:.2}",
            best.0,
            best.1,
            best.1 / mine
        );
    }
}

/// Runs `visit` on a fresh `Pool` of `layout` blocks over `memory`.
fn pool<V: Visit>(memory: &mut [MaybeUninit<u8>], layout: Layout, visit: &mut V) -> V::Output {
    visit.visit(&mut Ours(Pool::new(memory, layout)))
}

/// Runs `visit` on a fresh `Linear` over `memory`.
fn linear<V: Visit>(memory: &mut [MaybeUninit<u8>], visit: &mut V) -> V::Output {
    visit.visit(&mut Ours(Linear::new(memory)))
}

/// Nanoseconds per critical-section acquire and release (what embedded-alloc pays per call).
fn critical_section_ns(iterations: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        critical_section::with(|cs| {
            black_box(cs);
        });
    }
    start.elapsed().as_nanos() as f64 / iterations.max(1) as f64
}

/// The median of `values` (sorted in place); 0 when empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// "p50 / p99 / max" in nanoseconds.
fn triple(p: &Percentiles) -> String {
    if p.count == 0 {
        return "-".to_string();
    }
    format!("{:.1} / {:.1} / {:.0}", p.p50, p.p99, p.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick run's efficiency check for ours completes on a small heap (not a timing test).
    #[test]
    fn quick_efficiency_check_for_ours_completes() {
        let heap = 1 << 20;
        let mut arena = Arena::new(heap);
        let mut efficiency = Efficiency { trials: QUICK.eff_trials, heap_size: heap, seed: SEED ^ 0xc };
        let result = with_subject(Kind::Tlsf, arena.memory(heap), &mut efficiency);
        assert!(result.percent > 0.0 && result.percent <= 100.0, "{result:?}");
        assert!(result.ops_per_trial >= 1.0, "{result:?}");
    }
}

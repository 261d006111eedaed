//! The workloads, after talc's published benchmarks (`SFBdragon/talc`, `benches/`):
//!
//! - **random actions**: each step is, with probability 1/7, a resize of a random live block to
//!   `1..3 * max` bytes; 3/7 a free of a random live block (an allocation instead while fewer
//!   than 300 blocks are live); 3/7 an allocation. Sizes are biased towards small values
//!   (`cap = 16..max`, `size = 4..cap`) and alignments towards the word (`8 << tz(u16) / 2`:
//!   75% 8, 19% 16, 4% 32, ...). The steps are drawn ahead of time from a seeded generator, so
//!   every heap sees the identical sequence and drawing costs nothing in the timed loop.
//! - **heap efficiency**: from an empty heap, 50% allocate (sizes as above up to 10,000), 10%
//!   free, 40% resize to `1..100,000` bytes, until the first allocation or resize fails; the
//!   bytes requested by the live blocks then, over the heap's size, averaged over the trials.
//!   Trial `t` draws from a generator seeded with `t`, so every heap sees the same sequence up
//!   to its own first failure. As in talc's method the heap is not rebuilt between trials (its
//!   blocks are all freed).

use std::alloc::Layout;
use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::clock::{self, Clock};
use crate::subjects::{Subject, Visit};

/// talc's random actions keep at least this many blocks live.
pub const MIN_LIVE: usize = 300;
/// A resize in random actions goes to `1..REALLOC_MULTI * max` bytes.
pub const REALLOC_MULTI: usize = 3;
/// Largest allocation in the heap-efficiency workload.
pub const EFFICIENCY_MAX_SIZE: usize = 10_000;
/// A resize in the heap-efficiency workload goes to `1..EFFICIENCY_MAX_SIZE * this` bytes.
pub const EFFICIENCY_REALLOC_MULTI: usize = 10;

/// talc's size distribution: biased towards small values, at least 4 bytes, below `max`.
pub fn generate_size(rng: &mut fastrand::Rng, max: usize) -> usize {
    let cap = rng.usize(16..max);
    rng.usize(4..cap)
}

/// talc's alignment distribution: 75% the word, 19% two words, 4% four, and so on.
pub fn generate_align(rng: &mut fastrand::Rng) -> usize {
    size_of::<usize>() << (rng.u16(..).trailing_zeros() / 2)
}

/// One step of the random-actions workload, drawn ahead of time. Which operation it becomes
/// also depends on how many blocks are live (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct Step {
    action: u8,
    size: u32,
    align: u32,
    new_size: u32,
    pick: u32,
}

/// `count` steps of random actions with allocations below `max` bytes.
pub fn talc_steps(max: usize, count: usize, seed: u64) -> Vec<Step> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|_| Step {
            action: rng.u8(0..7),
            size: generate_size(&mut rng, max) as u32,
            align: generate_align(&mut rng) as u32,
            new_size: rng.usize(1..max * REALLOC_MULTI) as u32,
            pick: rng.u32(..),
        })
        .collect()
}

/// A live block picked by a 32-bit draw (multiply-shift: no division in the timed loop).
#[inline(always)]
fn pick(draw: u32, len: usize) -> usize {
    ((u64::from(draw) * len as u64) >> 32) as usize
}

/// The three operations timed one by one.
#[derive(Clone, Copy, Debug)]
enum Op {
    Alloc,
    Free,
    Realloc,
}

/// Times (or does not time) single operations.
trait Probe {
    fn start(&self) -> u64;
    fn record(&mut self, op: Op, start: u64);
}

/// No timing: the batch is timed as a whole.
struct Untimed;

impl Probe for Untimed {
    #[inline(always)]
    fn start(&self) -> u64 {
        0
    }

    #[inline(always)]
    fn record(&mut self, _: Op, _: u64) {}
}

/// Clock ticks of every operation, by kind.
#[derive(Default, Debug)]
pub struct Samples {
    /// Allocations.
    pub alloc: Vec<u64>,
    /// Frees.
    pub free: Vec<u64>,
    /// Resizes.
    pub realloc: Vec<u64>,
}

impl Probe for Samples {
    #[inline(always)]
    fn start(&self) -> u64 {
        clock::now()
    }

    #[inline(always)]
    fn record(&mut self, op: Op, start: u64) {
        let ticks = clock::now().wrapping_sub(start);
        match op {
            Op::Alloc => self.alloc.push(ticks),
            Op::Free => self.free.push(ticks),
            Op::Realloc => self.realloc.push(ticks),
        }
    }
}

/// What happened in a run of steps.
#[derive(Clone, Copy, Default, Debug)]
pub struct Counts {
    /// Operations attempted.
    pub ops: usize,
    /// Allocations refused.
    pub alloc_failures: usize,
    /// Resizes refused.
    pub realloc_failures: usize,
}

/// Runs `steps` on `s`, with `live` the blocks live before and after.
#[inline(always)]
fn run_steps<S: Subject, P: Probe>(
    s: &mut S,
    live: &mut Vec<(*mut u8, Layout)>,
    steps: &[Step],
    probe: &mut P,
    counts: &mut Counts,
) {
    for step in steps {
        if step.action == 6 {
            if live.is_empty() {
                continue;
            }
            let i = pick(step.pick, live.len());
            let (ptr, layout) = live[i];
            let new_size = step.new_size as usize;
            let t = probe.start();
            // SAFETY: `ptr` is live with `layout`; `new_size > 0`.
            let moved = unsafe { s.realloc(ptr, layout, new_size) };
            probe.record(Op::Realloc, t);
            counts.ops += 1;
            if moved.is_null() {
                counts.realloc_failures += 1;
            } else {
                // SAFETY: the alignment is the old, valid one; the size is at most 3 * 2^31.
                live[i] = (moved, unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
            }
        } else if step.action < 3 || live.len() < MIN_LIVE {
            // SAFETY: `align` is a power of two up to 2048 and `size` a few thousand bytes.
            let layout =
                unsafe { Layout::from_size_align_unchecked(step.size as usize, step.align as usize) };
            let t = probe.start();
            let ptr = s.alloc(layout);
            probe.record(Op::Alloc, t);
            counts.ops += 1;
            if ptr.is_null() {
                counts.alloc_failures += 1;
            } else {
                live.push((ptr, layout));
            }
        } else {
            let (ptr, layout) = live.swap_remove(pick(step.pick, live.len()));
            let t = probe.start();
            // SAFETY: the block was live with this layout, and is now off the list.
            unsafe { s.dealloc(ptr, layout) };
            probe.record(Op::Free, t);
            counts.ops += 1;
        }
    }
}

/// Frees every block in `live`.
fn free_all<S: Subject>(s: &mut S, live: &mut Vec<(*mut u8, Layout)>) {
    for (ptr, layout) in live.drain(..) {
        // SAFETY: every block on the list is live with its layout.
        unsafe { s.dealloc(ptr, layout) };
    }
}

/// Random actions, timed as one batch.
pub struct RandomActions<'a> {
    /// The steps.
    pub steps: &'a [Step],
}

/// The outcome of one random-actions run.
#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    /// Wall time of the steps (the final clean-up not included).
    pub elapsed: Duration,
    /// What was done.
    pub counts: Counts,
}

impl Visit for RandomActions<'_> {
    type Output = Throughput;

    fn visit<S: Subject>(&mut self, s: &mut S) -> Throughput {
        let mut live = Vec::with_capacity(self.steps.len());
        let mut counts = Counts::default();
        let start = Instant::now();
        run_steps(s, &mut live, self.steps, &mut Untimed, &mut counts);
        let elapsed = start.elapsed();
        free_all(s, &mut live);
        Throughput { elapsed, counts }
    }
}

/// Random actions with every operation timed; the first `warmup` steps are not recorded.
pub struct Latency<'a> {
    /// The steps.
    pub steps: &'a [Step],
    /// Steps run before recording starts.
    pub warmup: usize,
}

impl Visit for Latency<'_> {
    type Output = (Samples, Counts);

    fn visit<S: Subject>(&mut self, s: &mut S) -> (Samples, Counts) {
        let n = self.steps.len();
        let mut live = Vec::with_capacity(n);
        let mut counts = Counts::default();
        let warmup = self.warmup.min(n);
        run_steps(s, &mut live, &self.steps[..warmup], &mut Untimed, &mut counts);
        let mut samples = Samples {
            alloc: Vec::with_capacity(n),
            free: Vec::with_capacity(n),
            realloc: Vec::with_capacity(n),
        };
        counts = Counts::default();
        run_steps(s, &mut live, &self.steps[warmup..], &mut samples, &mut counts);
        free_all(s, &mut live);
        (samples, counts)
    }
}

/// talc's heap-efficiency method over a heap of `heap_size` bytes.
pub struct Efficiency {
    /// Trials (talc runs 300).
    pub trials: usize,
    /// The bytes handed to the heap (the denominator).
    pub heap_size: usize,
    /// Seed of trial 0 (trial `t` uses `seed + t`).
    pub seed: u64,
}

/// The outcome of the heap-efficiency workload.
#[derive(Clone, Copy, Debug)]
pub struct EfficiencyResult {
    /// Average share of the heap requested by live blocks at the first failure, in percent.
    pub percent: f64,
    /// Average operations per trial before the failure.
    pub ops_per_trial: f64,
}

/// Safety net: a trial that has not failed after this many steps ends there (none does: the
/// workload allocates five times as often as it frees).
const MAX_TRIAL_STEPS: usize = 50_000_000;

impl Visit for Efficiency {
    type Output = EfficiencyResult;

    fn visit<S: Subject>(&mut self, s: &mut S) -> EfficiencyResult {
        let mut live: Vec<(*mut u8, Layout)> = Vec::with_capacity(100_000);
        let (mut used, mut total, mut ops) = (0u128, 0u128, 0usize);
        for trial in 0..self.trials {
            let mut rng = fastrand::Rng::with_seed(self.seed.wrapping_add(trial as u64));
            for _ in 0..MAX_TRIAL_STEPS {
                ops += 1;
                match rng.usize(0..=9) {
                    0..=4 => {
                        let size = generate_size(&mut rng, EFFICIENCY_MAX_SIZE);
                        let align = generate_align(&mut rng);
                        let layout = Layout::from_size_align(size, align).expect("a valid layout");
                        let ptr = s.alloc(layout);
                        if ptr.is_null() {
                            break;
                        }
                        live.push((ptr, layout));
                    }
                    5 => {
                        if !live.is_empty() {
                            let (ptr, layout) = live.swap_remove(rng.usize(0..live.len()));
                            // SAFETY: the block was live with this layout, and is now off the list.
                            unsafe { s.dealloc(ptr, layout) };
                        }
                    }
                    _ => {
                        if !live.is_empty() {
                            let i = rng.usize(0..live.len());
                            let new_size = rng.usize(1..EFFICIENCY_MAX_SIZE * EFFICIENCY_REALLOC_MULTI);
                            let (ptr, layout) = live[i];
                            // SAFETY: `ptr` is live with `layout`; `new_size > 0`.
                            let moved = unsafe { s.realloc(ptr, layout, new_size) };
                            if moved.is_null() {
                                break;
                            }
                            let layout =
                                Layout::from_size_align(new_size, layout.align()).expect("a valid layout");
                            live[i] = (moved, layout);
                        }
                    }
                }
            }
            used += live.iter().map(|&(_, layout)| layout.size() as u128).sum::<u128>();
            total += self.heap_size as u128;
            free_all(s, &mut live);
        }
        EfficiencyResult {
            percent: if total == 0 { 0.0 } else { used as f64 / total as f64 * 100.0 },
            ops_per_trial: ops as f64 / self.trials.max(1) as f64,
        }
    }
}

/// Allocate-then-free pairs of one layout on an otherwise idle allocator: nanoseconds per pair
/// (median of `batches` batches of `pairs` pairs, timed with `Instant`).
pub struct Pairs {
    /// The layout allocated.
    pub layout: Layout,
    /// Pairs per batch.
    pub pairs: usize,
    /// Batches.
    pub batches: usize,
}

impl Visit for Pairs {
    type Output = f64;

    fn visit<S: Subject>(&mut self, s: &mut S) -> f64 {
        let layout = black_box(self.layout);
        let mut per_pair: Vec<f64> = (0..self.batches.max(1))
            .map(|_| {
                let start = Instant::now();
                for _ in 0..self.pairs {
                    let ptr = black_box(s.alloc(layout));
                    assert!(!ptr.is_null(), "an idle allocator refused {layout:?}");
                    // SAFETY: just allocated with `layout`.
                    unsafe { s.dealloc(ptr, layout) };
                }
                start.elapsed().as_nanos() as f64 / self.pairs.max(1) as f64
            })
            .collect();
        per_pair.sort_by(f64::total_cmp);
        per_pair[per_pair.len() / 2]
    }
}

/// Allocate-then-free pairs of one layout with each allocation and each free timed alone.
pub struct PairLatency {
    /// The layout allocated.
    pub layout: Layout,
    /// Pairs timed.
    pub pairs: usize,
}

impl Visit for PairLatency {
    type Output = Samples;

    fn visit<S: Subject>(&mut self, s: &mut S) -> Samples {
        let mut samples = Samples {
            alloc: Vec::with_capacity(self.pairs),
            free: Vec::with_capacity(self.pairs),
            realloc: Vec::new(),
        };
        for _ in 0..self.pairs {
            let t = samples.start();
            let ptr = s.alloc(self.layout);
            samples.record(Op::Alloc, t);
            assert!(!ptr.is_null(), "an idle allocator refused {:?}", self.layout);
            let t = samples.start();
            // SAFETY: just allocated with this layout.
            unsafe { s.dealloc(ptr, self.layout) };
            samples.record(Op::Free, t);
        }
        samples
    }
}

/// The 50th and 99th percentiles and the maximum of a set of samples, in nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub count: usize,
}

impl Percentiles {
    /// Each figure's median over `runs` (the sample count: the fewest of any run).
    pub fn median(runs: &[Self]) -> Self {
        let mid = |f: fn(&Self) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        Self {
            p50: mid(|p| p.p50),
            p99: mid(|p| p.p99),
            max: mid(|p| p.max),
            count: runs.iter().map(|p| p.count).min().unwrap_or(0),
        }
    }

    /// Percentiles of `ticks` (reordered), less the clock's overhead. Each sample is spread
    /// evenly over its counter step (see [`Clock`]): the rank `p * n` falls in the run of
    /// samples at some level `L`, and is placed at `L - 1/2 + (rank - run start) / run length`
    /// steps. The maximum is the largest sample, not spread.
    pub fn of(ticks: &mut [u64], clock: &Clock) -> Self {
        if ticks.is_empty() {
            return Self::default();
        }
        let mut levels: Vec<u64> = ticks.iter().map(|&t| clock.level(t)).collect();
        levels.sort_unstable();
        let n = levels.len();
        let at = |p: f64| {
            let rank = (p * n as f64).clamp(f64::MIN_POSITIVE, n as f64);
            let level = levels[(rank.ceil() as usize).clamp(1, n) - 1];
            let first = levels.partition_point(|&l| l < level);
            let end = levels.partition_point(|&l| l <= level);
            let within = (rank - first as f64) / (end - first) as f64;
            clock.level_ns(level as f64 - 0.5 + within)
        };
        Self { p50: at(0.50), p99: at(0.99), max: clock.level_ns(levels[n - 1] as f64), count: n }
    }
}

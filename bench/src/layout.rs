//! The layout benchmark: how much the planner saves over first fit, what planning costs, and
//! what one bounds check costs against a naive scan of the segment table; a plain-text report
//! on stdout.
//!
//! ```text
//! cargo run --release -p flight-bench --bin flight-layout-bench              # the full run
//! cargo run --release -p flight-bench --bin flight-layout-bench -- --quick   # fewer sets and checks
//! ```
//!
//! - (a) waste (guard gaps and alignment padding) of `Strategy::Optimal` and
//!   `Strategy::FirstFit` on random component sets, each in one window sized to fit tightly;
//!   small sets (exact planner) and large sets (heuristic) apart;
//! - (b) planning time per set, mean and p99;
//! - (c) nanoseconds per `Layout::check` on layouts of 8, 64 and 256 segments, against a naive
//!   linear scan of the same table giving the same answers.
//!
//! Everything is drawn from one seeded generator, so every run sees the same sets and accesses.

mod args;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use flight_memory::layout::plan::{PlanSummary, SegmentRequest, Strategy, plan};
use flight_memory::layout::{Access, ComponentId, Layout, Segment, SegmentFlags, Sharer, ViolationKind};
use flight_memory::{Address, Alignment, ByteSize, MemoryMap, Permissions, Region, RegionKind, Span, View};

/// How much of everything a run does.
#[derive(Clone, Copy, Debug)]
struct Config {
    /// "full" or "quick".
    name: &'static str,
    /// Random component sets planned by both strategies.
    sets: usize,
    /// Checks per timed pass (each layout, each checker).
    checks: usize,
    /// Timed passes per layout and checker (the median is reported).
    passes: usize,
}

/// The default run.
const FULL: Config = Config { name: "full", sets: 2_000, checks: 2_000_000, passes: 7 };

/// `--quick`: every measurement, fewer sets and checks (a CI smoke run).
const QUICK: Config = Config { name: "quick", sets: 200, checks: 200_000, passes: 3 };

/// Seed of every generator.
const SEED: u64 = 0x1a70_07be_0c4e_c4ed;
/// Components per set.
const SET_SIZES: std::ops::RangeInclusive<usize> = 4..=40;
/// Sets of at most this many components are planned exactly (2^12 words of scratch).
const EXACT_MAX: usize = 12;
/// Segment sizes, log-uniform.
const MIN_SIZE: u64 = 1 << 10;
const MAX_SIZE: u64 = 2 << 20;
/// One in this many segments is a WebAssembly component's memory (64 KiB pages).
const WASM_ONE_IN: u32 = 8;
/// The guard gap of every layout.
const GUARD: ByteSize = ByteSize::kib(4);
/// The window holds the rounded sizes times this, plus a guard gap per segment.
const SLACK: f64 = 1.15;
/// Calls of `plan` per set and strategy; the fastest is reported.
const TIMED_CALLS: usize = 3;
/// Segments of the checker's layouts.
const CHECK_SIZES: [usize; 3] = [8, 64, 256];
/// Most segments of one layout.
const CAPACITY: usize = 256;

/// A console-like map: 256 MiB of main RAM seen through a cached and an uncached view, 16-byte
/// cache lines and no pages (the default alignment is 16 bytes).
static MAP: MemoryMap = MemoryMap::new(
    "bench",
    &[Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(256))
        .with_views(&[View::cached("k0", 0x8000_0000), View::uncached("k1", 0xa000_0000)])],
);

/// Where every window starts.
const WINDOW_START: u64 = 0x0010_0000;

fn main() -> ExitCode {
    let config = match args::quick("flight-layout-bench", "fewer sets and checks (CI smoke run)") {
        Ok(true) => QUICK,
        Ok(false) => FULL,
        Err(code) => return code,
    };
    run(config);
    ExitCode::SUCCESS
}

fn run(config: Config) {
    let started = Instant::now();
    let names = names(CAPACITY);
    println!("flight-layout-bench: the layout planner against first fit, and the bounds checker against");
    println!("a linear scan ({} run, one process, seed {SEED:#x})", config.name);
    println!();
    planner(config, &names);
    println!();
    checker(config, &names);
    println!();
    println!("({} run took {:.1} s)", config.name, started.elapsed().as_secs_f64());
}

/// `count` distinct segment and component names that live as long as the program.
fn names(count: usize) -> Vec<&'static str> {
    (0..count).map(|i| &*Box::leak(format!("c{i}").into_boxed_str())).collect()
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): the planner.

/// One random segment request.
#[derive(Clone, Copy, Debug)]
struct Draw {
    size: u64,
    align: Option<u64>,
    wasm: bool,
}

impl Draw {
    /// The size the planner places (WebAssembly segments are whole 64 KiB pages).
    fn rounded(&self) -> u64 {
        if self.wasm { self.size.next_multiple_of(64 << 10) } else { self.size }
    }
}

/// A random set of 4..=40 requests.
fn draw_set(rng: &mut fastrand::Rng) -> Vec<Draw> {
    let n = rng.usize(SET_SIZES);
    let (lo, hi) = ((MIN_SIZE as f64).ln(), (MAX_SIZE as f64).ln());
    (0..n)
        .map(|_| Draw {
            size: (lo + rng.f64() * (hi - lo)).exp() as u64,
            align: [None, Some(4 << 10), Some(16 << 10), Some(64 << 10)][rng.usize(0..4)],
            wasm: rng.u32(0..WASM_ONE_IN) == 0,
        })
        .collect()
}

/// The outcome of one strategy on one set.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    /// The plan's summary, if it fitted.
    summary: Option<PlanSummary>,
    /// Planning time.
    ns: f64,
}

/// Plans `set` into a fresh layout with one window sized to fit it tightly.
fn plan_set(set: &[Draw], names: &[&'static str], strategy: Strategy, scratch: &mut [u64]) -> Outcome {
    let rounded: u64 = set.iter().map(Draw::rounded).sum();
    let window = (rounded as f64 * SLACK) as u64 + set.len() as u64 * GUARD.get();
    let requests: Vec<SegmentRequest<'static>> = set
        .iter()
        .zip(names)
        .map(|(d, name)| {
            let mut r = SegmentRequest::new(name, ByteSize::bytes(d.size));
            if let Some(a) = d.align {
                r = r.aligned(Alignment::of(a));
            }
            if d.wasm {
                r = r.with_flags(SegmentFlags::WASM);
            }
            r
        })
        .collect();
    // The best of a few calls, each into a fresh layout: the plan is deterministic, and the
    // fastest call is the one no interrupt or other process slowed down.
    let mut best = f64::INFINITY;
    let mut summary = None;
    for _ in 0..TIMED_CALLS {
        let mut layout: Layout<'static, CAPACITY> = Layout::new(&MAP, GUARD);
        layout
            .add_window("ram", Span::at(WINDOW_START, ByteSize::bytes(window)))
            .expect("the window fits the map");
        let start = Instant::now();
        let result = plan(&mut layout, black_box(&requests), strategy, scratch);
        best = best.min(start.elapsed().as_nanos() as f64);
        summary = result.ok();
    }
    Outcome { summary, ns: best }
}

/// The figures of one group of sets (small or large).
#[derive(Default, Debug)]
struct Group {
    sets: usize,
    /// Sets each strategy fitted: optimal, first fit.
    fit: [usize; 2],
    /// Sets both fitted.
    both: usize,
    /// Over the sets both fitted: waste and bytes used, per strategy.
    waste: [u64; 2],
    used: [u64; 2],
    /// Sets both fitted where the optimal planner wasted more than first fit.
    optimal_worse: usize,
    /// Sets first fit fitted and the optimal planner did not.
    optimal_failed: usize,
    /// Sets whose optimal plan was proven exact.
    exact: usize,
    /// Planning times, ns: optimal, first fit.
    ns: [Vec<f64>; 2],
}

impl Group {
    fn add(&mut self, optimal: Outcome, first_fit: Outcome) {
        self.sets += 1;
        self.ns[0].push(optimal.ns);
        self.ns[1].push(first_fit.ns);
        for (k, o) in [optimal, first_fit].iter().enumerate() {
            self.fit[k] += usize::from(o.summary.is_some());
        }
        self.exact += usize::from(optimal.summary.is_some_and(|s| s.exact));
        match (optimal.summary, first_fit.summary) {
            (Some(o), Some(f)) => {
                self.both += 1;
                for (k, s) in [o, f].iter().enumerate() {
                    self.waste[k] += s.waste().get();
                    self.used[k] += s.used.get();
                }
                self.optimal_worse += usize::from(o.waste() > f.waste());
            }
            (None, Some(_)) => self.optimal_failed += 1,
            _ => {}
        }
    }
}

fn planner(config: Config, names: &[&'static str]) {
    let mut rng = fastrand::Rng::with_seed(SEED ^ 0xa);
    let mut scratch = vec![0u64; 1 << EXACT_MAX];
    // [small, large]
    let mut groups = [Group::default(), Group::default()];
    for _ in 0..config.sets {
        let set = draw_set(&mut rng);
        let optimal = plan_set(&set, names, Strategy::Optimal, &mut scratch);
        let first_fit = plan_set(&set, names, Strategy::FirstFit, &mut scratch);
        groups[usize::from(set.len() > EXACT_MAX)].add(optimal, first_fit);
    }

    println!(
        "(a) planner waste: {} random sets of {}..={} components, sizes log-uniform {} KiB..{} MiB,",
        config.sets,
        SET_SIZES.start(),
        SET_SIZES.end(),
        MIN_SIZE >> 10,
        MAX_SIZE >> 20
    );
    println!(
        "    alignment default (16 B) / 4 / 16 / 64 KiB, 1 in {WASM_ONE_IN} WebAssembly (64 KiB pages), guard {GUARD},"
    );
    println!("    one window of {SLACK} x the rounded sizes + one guard per segment;");
    println!("    waste = guard gaps + alignment padding, over the sets both strategies fit");
    println!(
        "  {:<24} {:<10} {:>9} {:>15} {:>10} {:>15} {:>8}",
        "sets", "strategy", "fit", "waste total", "% of used", "mean waste/set", "exact"
    );
    let labels = [format!("small (<= {EXACT_MAX}, exact)"), format!("large (> {EXACT_MAX}, heuristic)")];
    for (label, g) in labels.iter().zip(&groups) {
        for (k, strategy) in ["optimal", "first fit"].iter().enumerate() {
            let first = if k == 0 { format!("{label}: {}", g.sets) } else { String::new() };
            let exact = if k == 0 { format!("{}", g.exact) } else { "-".to_string() };
            println!(
                "  {:<24} {:<10} {:>9} {:>15} {:>9.2}% {:>15} {:>8}",
                first,
                strategy,
                format!("{}/{}", g.fit[k], g.sets),
                mib(g.waste[k]),
                percent(g.waste[k], g.used[k]),
                kib(g.waste[k] as f64 / g.both.max(1) as f64),
                exact
            );
        }
        println!(
            "  {:<24} ratio first fit / optimal waste: {:.2}   ({} sets both fit; optimal worse on {}, failed on {} that first fit fit)",
            "",
            g.waste[1] as f64 / g.waste[0].max(1) as f64,
            g.both,
            g.optimal_worse,
            g.optimal_failed
        );
    }
    println!();

    println!(
        "(b) planner time per set, microseconds (Instant around `plan`, best of {TIMED_CALLS} calls per set)"
    );
    println!("  {:<24} {:<10} {:>10} {:>10} {:>10}", "sets", "strategy", "mean", "p99", "max");
    for (label, g) in labels.iter().zip(&mut groups) {
        for (k, strategy) in ["optimal", "first fit"].iter().enumerate() {
            let first = if k == 0 { label.as_str() } else { "" };
            let samples = &mut g.ns[k];
            let mean = samples.iter().sum::<f64>() / samples.len().max(1) as f64;
            samples.sort_by(f64::total_cmp);
            let p99 = percentile(samples, 0.99);
            let max = samples.last().copied().unwrap_or(0.0);
            println!(
                "  {:<24} {:<10} {:>10.1} {:>10.1} {:>10.1}",
                first,
                strategy,
                mean / 1e3,
                p99 / 1e3,
                max / 1e3
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (c): the checker.

/// One pregenerated access.
#[derive(Clone, Copy, Debug)]
struct Probe {
    component: ComponentId,
    address: Address,
    len: u64,
    access: Access,
}

/// What kind of answer a probe was drawn to get (the report's mix).
const MIX: [(&str, u32); 4] = [("allowed", 40), ("guard gap", 20), ("other segment", 25), ("outside", 15)];

/// Everyone may read a shared segment's data; one component writes it.
const SHARED_READERS: usize = 4;

/// A layout of `n` segments planned by first fit: component `i` owns segment `i` (read/write),
/// and one segment in eight is shared with a few readers.
fn check_layout(
    n: usize,
    names: &[&'static str],
    sharers: &'static [Sharer<'static>],
    rng: &mut fastrand::Rng,
) -> Layout<'static, CAPACITY> {
    let (lo, hi) = ((256f64).ln(), ((64u64 << 10) as f64).ln());
    let requests: Vec<SegmentRequest<'static>> = names[..n]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let size = (lo + rng.f64() * (hi - lo)).exp() as u64;
            let align = [16u64, 256, 4096][rng.usize(0..3)];
            let r = SegmentRequest::new(name, ByteSize::bytes(size)).aligned(Alignment::of(align));
            if i % 8 == 7 { r.shared_with(sharers) } else { r }
        })
        .collect();
    let mut layout: Layout<'static, CAPACITY> = Layout::new(&MAP, GUARD);
    layout.add_window("ram", Span::at(WINDOW_START, ByteSize::mib(64))).expect("the window fits the map");
    plan(&mut layout, &requests, Strategy::FirstFit, &mut []).expect("the window holds every set");
    layout
}

/// `count` accesses to `layout` in the proportions of [`MIX`].
fn probes(layout: &Layout<'static, CAPACITY>, count: usize, rng: &mut fastrand::Rng) -> Vec<Probe> {
    let segments = layout.segments();
    let guard = layout.guard().get();
    let cpu = |x: u64, cached: bool| Address::new(if cached { 0x8000_0000 } else { 0xa000_0000 } + x);
    let owner = |s: &Segment<'_>| s.access.owner().map_or(ComponentId(0), |(c, _)| c);
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    (0..count)
        .map(|_| {
            let i = rng.usize(..segments.len());
            let s = &segments[i];
            let (start, end) = (s.span.start().get(), s.span.end().get());
            let len = [1u64, 2, 4, 8, 16, 64][rng.usize(0..6)];
            let access = [Access::Read, Access::Write][rng.usize(0..2)];
            let mut pick = rng.u32(..total);
            let mut kind = 0;
            for (k, (_, w)) in MIX.iter().enumerate() {
                if pick < *w {
                    kind = k;
                    break;
                }
                pick -= w;
            }
            let (component, x) = match kind {
                // Inside its own segment.
                0 => (owner(s), start + rng.u64(..(end - start).saturating_sub(len).max(1))),
                // In the guard gap after it (or before it, for the last).
                1 if i + 1 < segments.len() => (owner(s), end + rng.u64(..guard)),
                1 => (owner(s), start - 1 - rng.u64(..guard)),
                // Inside another component's segment.
                2 => {
                    let j = (i + 1 + rng.usize(..segments.len() - 1)) % segments.len();
                    (owner(&segments[j]), start + rng.u64(..end - start))
                }
                // Past the last segment, in free RAM.
                _ => (owner(s), segments[segments.len() - 1].span.end().get() + guard + rng.u64(..1 << 20)),
            };
            Probe { component, address: cpu(x, rng.bool()), len, access }
        })
        .collect()
}

/// The naive checker: the same answers as `Layout::check` for this map, by scanning the whole
/// segment table from the start for every segment the access touches.
fn naive<'l>(
    layout: &'l Layout<'static, CAPACITY>,
    component: ComponentId,
    address: Address,
    len: u64,
    access: Access,
) -> Result<(), (Address, ViolationKind<'l>)> {
    if usize::from(component.0) >= layout.components().len() {
        return Err((address, ViolationKind::UnknownComponent));
    }
    let a = address.get();
    let region = &MAP.regions[0];
    let Some(view) =
        region.views.iter().find(|v| a >= v.base.get() && a - v.base.get() < region.size().get())
    else {
        return Err((address, ViolationKind::Unmapped));
    };
    let base = view.base.get();
    let end = a + len;
    let mut at = a;
    let segments = layout.segments();
    while at < end {
        let x = at - base;
        if x >= region.size().get() {
            return Err((Address::new(at), ViolationKind::Outside));
        }
        let Some(s) = segments.iter().find(|s| s.span.start().get() <= x && x < s.span.end().get()) else {
            let before = segments.iter().rfind(|s| s.span.end().get() <= x);
            let after = segments.iter().find(|s| s.span.start().get() > x);
            let guard = layout.guard().get();
            let kind = match (before, after) {
                (Some(b), Some(n)) if x < b.span.end().get() + guard || x + guard >= n.span.start().get() => {
                    ViolationKind::GuardGap { after: b.name, before: n.name }
                }
                _ => ViolationKind::Outside,
            };
            return Err((Address::new(at), kind));
        };
        let rights = s.access.rights_of(component);
        if rights.is_empty() {
            let kind = match s.access.owner() {
                Some((o, _)) if !s.access.is_shared() => {
                    ViolationKind::OtherSegment { segment: s.name, owner: layout.component_name(o) }
                }
                _ => ViolationKind::NotSharer { segment: s.name },
            };
            return Err((Address::new(at), kind));
        }
        if !rights.contains(access.permission()) {
            return Err((
                Address::new(at),
                ViolationKind::WrongPermission { segment: s.name, allowed: rights },
            ));
        }
        at = base + s.span.end().get();
    }
    Ok(())
}

/// Nanoseconds per call of `check` over `probes`: the median of `passes` timed passes.
fn time_checks(probes: &[Probe], passes: usize, mut check: impl FnMut(&Probe) -> bool) -> (f64, usize) {
    let mut times = Vec::with_capacity(passes);
    let mut allowed = 0;
    for _ in 0..passes {
        allowed = 0;
        let start = Instant::now();
        for p in probes {
            allowed += usize::from(check(black_box(p)));
        }
        times.push(start.elapsed().as_nanos() as f64 / probes.len().max(1) as f64);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], allowed)
}

fn checker(config: Config, names: &[&'static str]) {
    let mut rng = fastrand::Rng::with_seed(SEED ^ 0xc);
    let sharers: &'static [Sharer<'static>] = Box::leak(
        names[CAPACITY - SHARED_READERS..]
            .iter()
            .map(|n| Sharer { component: n, permissions: Permissions::READ })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    println!(
        "(c) checker cost: layouts of {:?} segments (256 B..64 KiB, aligned 16 B / 256 B / 4 KiB, guard {GUARD},",
        CHECK_SIZES
    );
    println!(
        "    one in eight shared with {SHARED_READERS} readers) planned by first fit; {} pregenerated accesses",
        config.checks
    );
    let mix: Vec<String> = MIX.iter().map(|(n, w)| format!("{w}% {n}")).collect();
    println!("    of 1..64 B ({}), through both views;", mix.join(", "));
    println!("    ns per check = median of {} passes (Instant, black_box on every input)", config.passes);
    println!("    (allowed / refused: the same passes over the probes each checker allows / refuses)");
    println!(
        "  {:>8}  {:>24}  {:>24}  {:>10}  {:>8}  {:>6}",
        "segments", "check ns all/ok/refused", "scan ns all/ok/refused", "scan/check", "allowed", "agree"
    );
    for &n in &CHECK_SIZES {
        let layout = check_layout(n, names, sharers, &mut rng);
        let probes = probes(&layout, config.checks, &mut rng);
        // Both give the same answer on every probe (kind and first byte refused).
        let disagree = probes
            .iter()
            .filter(|p| {
                let ours =
                    layout.check(p.component, p.address, p.len, p.access).map_err(|v| (v.address, v.kind));
                ours != naive(&layout, p.component, p.address, p.len, p.access)
            })
            .count();
        let (allowed, refused): (Vec<Probe>, Vec<Probe>) =
            probes.iter().partition(|p| layout.check(p.component, p.address, p.len, p.access).is_ok());
        let check = |p: &Probe| layout.check(p.component, p.address, p.len, p.access).is_ok();
        let scan = |p: &Probe| naive(&layout, p.component, p.address, p.len, p.access).is_ok();
        let [check_ns, scan_ns] = [0, 1].map(|k| {
            [&probes, &allowed, &refused].map(|set| {
                if k == 0 {
                    time_checks(set, config.passes, check)
                } else {
                    time_checks(set, config.passes, scan)
                }
            })
        });
        assert_eq!(check_ns[0].1, scan_ns[0].1, "the two checkers allow the same accesses");
        let triple = |t: &[(f64, usize); 3]| format!("{:.1} / {:.1} / {:.1}", t[0].0, t[1].0, t[2].0);
        println!(
            "  {:>8}  {:>24}  {:>24}  {:>10.2}  {:>7.1}%  {:>6}",
            n,
            triple(&check_ns),
            triple(&scan_ns),
            scan_ns[0].0 / check_ns[0].0,
            100.0 * allowed.len() as f64 / probes.len().max(1) as f64,
            if disagree == 0 { "all".to_string() } else { format!("{disagree} differ") }
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Formatting.

/// `part` as a percentage of `whole`.
fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

/// Bytes as MiB with two decimals.
fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// Bytes as KiB with one decimal.
fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

/// The `p` quantile of sorted `values` (nearest rank); 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

//! Property tests of the layout planner and the dynamic placer.
//!
//! - `Placement::Optimal` against an exhaustive search written here from the rules alone (every
//!   assignment of segments to eligible windows, every order in each window, each segment at
//!   `align_up(previous end + guard)`): the same least waste, the same verdict on fitting, the
//!   same bytes missing when one window is too small.
//! - `Placement::Optimal` never worse than `Placement::FirstFit`, exact (up to 8 segments) or not.
//! - Every plan is clean: `validate_layout` finds nothing, and the placement is checked here too
//!   (aligned, inside an eligible window, neighbours in one window at least the guard apart,
//!   sizes rounded).
//! - `DynamicLayout` against a model of its windows' free space over random allocate / free /
//!   remove-component sequences.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_memory::layout::dynamic::DynamicLayout;
use flight_memory::layout::plan::{PlanError, PlanSummary, SegmentRequest, Strategy as Placement, plan};
use flight_memory::layout::validate::{Finding, validate_layout};
use flight_memory::layout::{Layout, LayoutError, Segment, SegmentFlags};
use flight_memory::{Alignment, Alignments, ByteSize, MemoryMap, Region, RegionKind, Span, View};
use proptest::prelude::*;

/// Two main-RAM regions; the second is out of reach of DMA. 32-byte cache lines, 64-byte DMA,
/// no pages: the default alignment is 32, a DMA segment is rounded to 64.
static TWO_REGIONS: MemoryMap = MemoryMap::new(
    "two-regions",
    &[
        Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(16))
            .with_views(&[View::cached("k0", 0x8000_0000), View::uncached("k1", 0xa000_0000)]),
        Region::cpu("fast", RegionKind::Main, 0x0100_0000, ByteSize::mib(16))
            .with_views(&[View::cached("f", 0x9000_0000)])
            .without_dma(),
    ],
)
.with_alignments(Alignments { cache_line: Alignment::of(32), dma: Alignment::of(64), page: None });

/// One main-RAM region, 4 KiB pages (the default alignment), 16-byte cache lines and DMA.
static ONE_REGION: MemoryMap = MemoryMap::new(
    "one-region",
    &[Region::cpu("ram", RegionKind::Main, 0x0010_0000, ByteSize::mib(32))
        .with_views(&[View::cached("k0", 0x8000_0000)])],
)
.with_alignments(Alignments {
    cache_line: Alignment::of(16),
    dma: Alignment::of(4),
    page: Some(Alignment::of(4096)),
});

/// Segment names (the planner needs `&str`s that outlive the layout).
const NAMES: [&str; 32] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15",
    "s16", "s17", "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30",
    "s31",
];

const WASM_PAGE: u64 = 64 * 1024;

/// A request as drawn.
#[derive(Clone, Copy, Debug)]
struct Req {
    size: u64,
    /// `Some(k)`: aligned to `1 << k`.
    align_log2: Option<u32>,
    dma: bool,
    wasm: bool,
    /// Masked (only with `wasm`): a power of two aligned to itself, 16 free bytes after.
    masked: bool,
}

impl Req {
    fn request(&self, name: &'static str) -> SegmentRequest<'static> {
        let mut r = SegmentRequest::new(name, ByteSize::bytes(self.size));
        if let Some(k) = self.align_log2 {
            r = r.aligned(Alignment::of(1 << k));
        }
        let mut flags = SegmentFlags::NONE;
        if self.dma {
            flags = flags.union(SegmentFlags::DMA);
        }
        if self.wasm {
            flags = flags.union(SegmentFlags::WASM);
        }
        if self.masked {
            flags = flags.union(SegmentFlags::MASKED);
        }
        r.with_flags(flags)
    }

    /// Effective (size, alignment), by the rules: no alignment takes the map's default; DMA
    /// rounds both to max(dma, cache line); WebAssembly to 64 KiB pages; masking the size to
    /// a power of two and the alignment to the size.
    fn effective(&self, map: &MemoryMap) -> (u64, u64) {
        let a = map.alignments;
        let default = match a.page {
            Some(p) => p.get(),
            None => a.cache_line.get(),
        };
        let mut align = self.align_log2.map_or(default, |k| 1 << k);
        let mut size = self.size;
        if self.dma {
            let line = a.dma.get().max(a.cache_line.get());
            align = align.max(line);
            size = size.div_ceil(line) * line;
        }
        if self.wasm {
            align = align.max(WASM_PAGE);
            size = size.div_ceil(WASM_PAGE) * WASM_PAGE;
        }
        if self.masked {
            size = size.next_power_of_two();
            align = align.max(size);
        }
        (size, align)
    }

    /// The bytes kept free after it.
    fn tail(&self) -> u64 {
        if self.masked { 16 } else { 0 }
    }
}

/// Sizes 1 B..=64 KiB, roughly log-uniform; some aligned 16 B..16 KiB; some DMA, some WASM.
fn req() -> impl Strategy<Value = Req> {
    (
        0u32..=16,
        any::<u64>(),
        prop::option::weighted(0.4, 4u32..=14),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.12),
        prop::bool::weighted(0.5),
    )
        .prop_map(|(bits, r, align_log2, dma, wasm, masked)| Req {
            size: 1 + r % (1 << bits),
            align_log2,
            dma,
            wasm,
            masked: wasm && masked,
        })
}

/// Where the windows are.
#[derive(Clone, Copy, Debug)]
enum Topology {
    /// One window in `ram` of `TWO_REGIONS`.
    One,
    /// One window in `ram` and one in `fast` (no DMA) of `TWO_REGIONS`.
    TwoRegions,
    /// Two windows in the one region of `ONE_REGION`, `extra` bytes apart (0: they touch;
    /// windows are separate budgets, no guard gap is owed between them).
    TwoWindows { extra: u64 },
}

/// A planner input.
#[derive(Clone, Debug)]
struct Case {
    reqs: Vec<Req>,
    guard: u64,
    topology: Topology,
    /// Byte offsets of the windows' starts (from a base in their region).
    offsets: [u64; 2],
    /// Window sizes, in percent of what the whole set needs at worst.
    percent: [u64; 2],
}

/// The windows of a case: (region name, span); their sizes follow the set's worst-case need.
fn windows(case: &Case) -> (&'static MemoryMap, Vec<(&'static str, Span)>) {
    let map = match case.topology {
        Topology::One | Topology::TwoRegions => &TWO_REGIONS,
        Topology::TwoWindows { .. } => &ONE_REGION,
    };
    let need: u64 = case
        .reqs
        .iter()
        .map(|r| {
            let (size, align) = r.effective(map);
            size + align + case.guard + r.tail()
        })
        .sum();
    let size = |w: usize| (need * case.percent[w] / 100).max(1);
    let spans = match case.topology {
        Topology::One => vec![("ram", Span::at(0x1_0000 + case.offsets[0], ByteSize::bytes(size(0))))],
        Topology::TwoRegions => vec![
            ("ram", Span::at(0x1_0000 + case.offsets[0], ByteSize::bytes(size(0)))),
            ("fast", Span::at(0x0101_0000 + case.offsets[1], ByteSize::bytes(size(1)))),
        ],
        Topology::TwoWindows { extra } => {
            let first = Span::at(0x0011_0000 + case.offsets[0], ByteSize::bytes(size(0)));
            let second = Span::at(first.end().get() + extra, ByteSize::bytes(size(1)));
            vec![("ram", first), ("ram", second)]
        }
    };
    (map, spans)
}

fn topology() -> impl Strategy<Value = Topology> {
    prop_oneof![
        2 => Just(Topology::One),
        2 => Just(Topology::TwoRegions),
        1 => Just(Topology::TwoWindows { extra: 0 }),
        1 => (0u64..=256).prop_map(|extra| Topology::TwoWindows { extra }),
        1 => (0u64..=(1 << 20)).prop_map(|extra| Topology::TwoWindows { extra }),
    ]
}

fn case(
    segments: std::ops::RangeInclusive<usize>,
    percent: std::ops::Range<u64>,
) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(req(), segments),
        prop_oneof![1 => Just(0u64), 4 => 0u64..=4096],
        topology(),
        [0u64..65_536, 0u64..65_536],
        [percent.clone(), percent],
    )
        .prop_map(|(reqs, guard, topology, offsets, percent)| Case {
            reqs,
            guard,
            topology,
            offsets,
            percent,
        })
}

/// The layout, its windows added, and the requests.
fn setup(case: &Case) -> (Layout<'static, 32>, Vec<SegmentRequest<'static>>) {
    let (map, spans) = windows(case);
    let mut layout = Layout::new(map, ByteSize::bytes(case.guard));
    for (region, span) in spans {
        layout.add_window(region, span).unwrap();
    }
    let requests = case.reqs.iter().zip(NAMES).map(|(r, name)| r.request(name)).collect();
    (layout, requests)
}

fn run(case: &Case, strategy: Placement) -> (Layout<'static, 32>, Result<PlanSummary, PlanError<'static>>) {
    let (mut layout, requests) = setup(case);
    let mut scratch = vec![0u64; 1 << 8];
    let result = plan(&mut layout, &requests, strategy, &mut scratch);
    (layout, result)
}

// ---------------------------------------------------------------------------------------------
// The exhaustive search.

/// A request as the search sees it.
#[derive(Clone, Copy, Debug)]
struct Item {
    size: u64,
    align: u64,
    tail: u64,
}

/// The end of `item` placed after a segment ending at `prev` (`None`: first, at the window's
/// start).
fn place(prev: Option<u64>, start: u64, guard: u64, item: Item) -> u64 {
    let base = prev.map_or(start, |end| end + guard);
    base.div_ceil(item.align) * item.align + item.size + item.tail
}

/// For every subset of `items` (a bit mask; only subsets of `eligible`), the least end of its
/// segments over every order, placed from `start`: a depth-first walk over every sequence of
/// distinct items, each of which is some subset's order. `u64::MAX` for the others.
fn least_ends(items: &[Item], eligible: u32, start: u64, guard: u64) -> Vec<u64> {
    fn walk(
        items: &[Item],
        eligible: u32,
        start: u64,
        guard: u64,
        set: u32,
        end: Option<u64>,
        best: &mut [u64],
    ) {
        let e = end.unwrap_or(start);
        let slot = &mut best[set as usize];
        *slot = (*slot).min(e);
        for (j, &item) in items.iter().enumerate() {
            if eligible & (1 << j) != 0 && set & (1 << j) == 0 {
                walk(items, eligible, start, guard, set | 1 << j, Some(place(end, start, guard, item)), best);
            }
        }
    }
    let mut best = vec![u64::MAX; 1 << items.len()];
    walk(items, eligible, start, guard, 0, None, &mut best);
    best
}

/// What the exhaustive search finds.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Some request has no eligible window at all.
    NoWindow,
    /// The least waste over every assignment and order that fits.
    Fits(u64),
    /// Nothing fits; with one window, the least overflow of any order.
    DoesNotFit(Option<u64>),
}

fn exhaustive(case: &Case) -> Verdict {
    let (map, spans) = windows(case);
    let items: Vec<Item> = case
        .reqs
        .iter()
        .map(|r| {
            let (size, align) = r.effective(map);
            Item { size, align, tail: r.tail() }
        })
        .collect();
    let n = items.len();
    let all = (1u32 << n) - 1;
    // Windows a request may use: main RAM (all of these are), DMA only where the region allows.
    let eligible: Vec<u32> = spans
        .iter()
        .map(|(region, _)| {
            let dma = map.region(region).unwrap().attributes.dma;
            (0..n).filter(|&i| dma || !case.reqs[i].dma).fold(0, |m, i| m | 1 << i)
        })
        .collect();
    if eligible.iter().fold(0, |m, e| m | e) != all {
        return Verdict::NoWindow;
    }
    let g = case.guard;
    let ends: Vec<Vec<u64>> =
        spans.iter().zip(&eligible).map(|((_, s), &e)| least_ends(&items, e, s.start().get(), g)).collect();
    let size_of = |set: u32| (0..n).filter(|&i| set & (1 << i) != 0).map(|i| items[i].size).sum::<u64>();
    let waste = |w: usize, set: u32| ends[w][set as usize] - spans[w].1.start().get() - size_of(set);
    let fits = |w: usize, set: u32| ends[w][set as usize] <= spans[w].1.end().get();
    let mut best: Option<u64> = None;
    if spans.len() == 1 {
        if fits(0, all) {
            best = Some(waste(0, all));
        }
    } else {
        // Every assignment: `set` to the first window, the rest to the second.
        for set in 0..=all {
            let rest = all & !set;
            if set & !eligible[0] != 0 || rest & !eligible[1] != 0 {
                continue;
            }
            if fits(0, set) && fits(1, rest) {
                let w = waste(0, set) + waste(1, rest);
                best = Some(best.map_or(w, |b| b.min(w)));
            }
        }
    }
    match best {
        Some(w) => Verdict::Fits(w),
        None if spans.len() == 1 => Verdict::DoesNotFit(Some(ends[0][all as usize] - spans[0].1.end().get())),
        None => Verdict::DoesNotFit(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks of a placement, independent of `validate_layout`.

/// Every segment: its request's rounded size and alignment, aligned, inside a window of a region
/// that may hold it, at least the guard from its neighbours; and every request placed.
fn check_placement(case: &Case, layout: &Layout<'_, 32>) {
    let (map, spans) = windows(case);
    let segments = layout.segments();
    assert_eq!(segments.len(), case.reqs.len(), "every request placed");
    for s in segments {
        let i = NAMES.iter().position(|n| *n == s.name).unwrap();
        let r = case.reqs[i];
        let (size, align) = r.effective(map);
        assert_eq!((s.span.size().get(), s.align.get(), s.requested.get()), (size, align, r.size), "{s:?}");
        assert_eq!(s.span.start().get() % align, 0, "misaligned: {s:?}");
        let region = &map.regions[usize::from(s.region)];
        let inside = spans.iter().any(|(name, w)| *name == region.name && w.contains_span(s.reach()));
        assert!(inside, "outside every window (its tail included): {s:?}");
        assert_eq!(s.reach().size().get(), size + r.tail(), "{s:?}");
        assert!(!r.dma || region.attributes.dma, "a DMA segment in a region without DMA: {s:?}");
    }
    // The guard gap separates neighbours of one window (windows are separate budgets).
    let window = |s: &Segment<'_>| {
        let region = map.regions[usize::from(s.region)].name;
        spans.iter().position(|(name, w)| *name == region && w.contains_span(s.span))
    };
    for pair in segments.windows(2) {
        if pair[0].region == pair[1].region {
            let (a, b) = (pair[0].reach(), pair[1].span);
            assert!(b.start() >= a.end(), "overlap (a masked tail included): {pair:?}");
            if window(&pair[0]) == window(&pair[1]) {
                assert!(b.start().get() >= a.end().get() + case.guard, "nearer than the guard: {pair:?}");
            }
        }
    }
}

/// The waste of the placement, measured here: per window, last end - start - sizes.
fn measured_waste(case: &Case, layout: &Layout<'_, 32>) -> u64 {
    let (map, spans) = windows(case);
    spans
        .iter()
        .map(|(name, w)| {
            let mine: Vec<&Segment<'_>> = layout
                .segments()
                .iter()
                .filter(|s| map.regions[usize::from(s.region)].name == *name && w.contains_span(s.span))
                .collect();
            let end = mine.iter().map(|s| s.reach().end().get()).max().unwrap_or(w.start().get());
            end - w.start().get() - mine.iter().map(|s| s.span.size().get()).sum::<u64>()
        })
        .sum()
}

fn assert_clean<const N: usize>(layout: &Layout<'_, N>) {
    let report = validate_layout(layout);
    assert!(report.is_ok(), "{report}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The exact planner finds the least waste an exhaustive search finds, and fails exactly
    /// when nothing fits.
    #[test]
    fn optimal_matches_exhaustive_search(case in case(1..=8, 25..130)) {
        let verdict = exhaustive(&case);
        let (layout, result) = run(&case, Placement::Optimal);
        match (&verdict, result) {
            (Verdict::Fits(waste), Ok(summary)) => {
                prop_assert_eq!(summary.waste().get(), *waste, "{:?}", summary);
                prop_assert!(summary.exact, "{:?}", summary);
                prop_assert_eq!(measured_waste(&case, &layout), *waste);
                check_placement(&case, &layout);
                let (map, _) = windows(&case);
                let used: u64 = case.reqs.iter().map(|r| r.effective(map).0).sum();
                let requested: u64 = case.reqs.iter().map(|r| r.size).sum();
                prop_assert_eq!((summary.used.get(), summary.rounding.get()), (used, used - requested));
            }
            (Verdict::DoesNotFit(overflow), Err(PlanError::DoesNotFit { missing, .. })) => {
                if let Some(overflow) = overflow {
                    prop_assert_eq!(missing.get(), *overflow);
                }
                prop_assert!(missing.get() > 0);
            }
            (Verdict::NoWindow, Err(PlanError::NoWindow { .. })) => {}
            (_, other) => prop_assert!(false, "exhaustive search: {:?}, planner: {:?}", verdict, other),
        }
    }

    /// On small sets the exact planner never wastes more than first fit, and fits whenever
    /// first fit does.
    #[test]
    fn optimal_never_worse_than_first_fit(case in case(1..=8, 25..130)) {
        let (ff_layout, first_fit) = run(&case, Placement::FirstFit);
        let (_, optimal) = run(&case, Placement::Optimal);
        if let Ok(ff) = first_fit {
            prop_assert_eq!(ff.waste().get(), measured_waste(&case, &ff_layout));
            let opt = optimal.unwrap();
            prop_assert!(opt.waste() <= ff.waste(), "optimal {:?}, first fit {:?}", opt, ff);
        }
    }

    /// Every successful plan, of either strategy and any size of set, is clean.
    #[test]
    fn every_plan_is_clean(case in case(1..=24, 40..200), first_fit in any::<bool>()) {
        let strategy = if first_fit { Placement::FirstFit } else { Placement::Optimal };
        let (layout, result) = run(&case, strategy);
        match result {
            Ok(_) => {
                check_placement(&case, &layout);
                assert_clean(&layout);
            }
            Err(PlanError::DoesNotFit { missing, .. }) => prop_assert!(missing.get() > 0),
            Err(PlanError::NoWindow { .. }) => {}
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Beyond the exact planner's reach (9 to 24 segments with 256 words of scratch: the
    /// heuristic orders a window; with two windows, a greedy assignment): still never more
    /// waste than first fit, and a plan whenever first fit makes one.
    #[test]
    fn heuristic_never_worse_than_first_fit(case in case(9..=24, 30..130)) {
        let (_, first_fit) = run(&case, Placement::FirstFit);
        let (_, optimal) = run(&case, Placement::Optimal);
        if let Ok(ff) = first_fit {
            let opt = optimal.map_err(|e| TestCaseError::fail(format!("first fit {ff:?}, optimal {e:?}")))?;
            prop_assert!(opt.waste() <= ff.waste(), "heuristic {:?}, first fit {:?}", opt, ff);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic cases.

/// Two 4 KiB segments for two 4 KiB windows of one region that touch, with a 1 KiB guard:
/// windows are separate budgets, so each takes one segment and the two segments touch. The
/// plan is clean (no guard gap is owed between windows), and the checker calls neither a gap.
fn adjacent_windows(strategy: Placement) {
    let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::kib(1));
    layout.add_window("ram", Span::at(0x20_0000, ByteSize::kib(4))).unwrap();
    layout.add_window("ram", Span::at(0x20_1000, ByteSize::kib(4))).unwrap();
    let requests = [SegmentRequest::new("a", ByteSize::kib(4)), SegmentRequest::new("b", ByteSize::kib(4))];
    let summary = plan(&mut layout, &requests, strategy, &mut [0; 4]).unwrap();
    assert_eq!(summary.waste(), ByteSize::ZERO);
    let spans: Vec<Span> = layout.segments().iter().map(|s| s.span).collect();
    assert_eq!(spans, [Span::at(0x20_0000, ByteSize::kib(4)), Span::at(0x20_1000, ByteSize::kib(4))]);
    assert_eq!(layout.guards().count(), 0);
    assert_clean(&layout);
}

/// Fails today: `validate_layout` counts a guard gap between the two windows' segments and
/// reports `region `ram` is over budget: its segments and guard gaps need 9 KiB, the budget is
/// 8 KiB`.
#[test]
fn adjacent_windows_plan_cleanly_optimal() {
    adjacent_windows(Placement::Optimal);
}

/// The same with first fit.
#[test]
fn adjacent_windows_plan_cleanly_first_fit() {
    adjacent_windows(Placement::FirstFit);
}

/// Two 4 KiB windows of one region far apart, each filled by one 4 KiB segment, guard 1 KiB:
/// each segment is inside its window, and no guard gap is owed between windows, so the region
/// is not over budget. Fails today (the same finding as above).
#[test]
fn two_full_windows_of_one_region_are_within_budget() {
    let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::kib(1));
    layout.add_window("ram", Span::at(0x20_0000, ByteSize::kib(4))).unwrap();
    layout.add_window("ram", Span::at(0x40_0000, ByteSize::kib(4))).unwrap();
    let requests = [SegmentRequest::new("a", ByteSize::kib(4)), SegmentRequest::new("b", ByteSize::kib(4))];
    plan(&mut layout, &requests, Placement::Optimal, &mut [0; 4]).unwrap();
    let report = validate_layout(&layout);
    let over: Vec<&Finding<'_>> =
        report.findings.iter().filter(|f| matches!(f, Finding::OverBudget { .. })).collect();
    assert!(over.is_empty(), "{report}");
}

/// The heuristic (scratch too small for the exact planner) on three segments: it must not
/// waste more than first fit. Window start 0x10_0001, guard 15; `a` 50 B aligned to 128, `b`
/// 1 B aligned to 64, `c` 1 B aligned to 256. First fit ends at 0x10_0101 (b, a, c); the
/// heuristic sorts c, a, b (end 0x10_0201), and its pair swaps stop at a, c, b (end
/// 0x10_0141): 64 bytes more waste.
#[test]
fn heuristic_no_worse_than_first_fit_on_three_segments() {
    let run = |strategy| {
        let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::bytes(15));
        layout.add_window("ram", Span::at(0x10_0001, ByteSize::kib(64))).unwrap();
        let requests = [
            SegmentRequest::new("a", ByteSize::bytes(50)).aligned(Alignment::of(128)),
            SegmentRequest::new("b", ByteSize::bytes(1)).aligned(Alignment::of(64)),
            SegmentRequest::new("c", ByteSize::bytes(1)).aligned(Alignment::of(256)),
        ];
        plan(&mut layout, &requests, strategy, &mut []).unwrap()
    };
    let (heuristic, first_fit) = (run(Placement::Optimal), run(Placement::FirstFit));
    assert_eq!(first_fit.waste().get(), 0x100 - 52);
    assert!(heuristic.waste() <= first_fit.waste(), "heuristic {heuristic:?}, first fit {first_fit:?}");
}

/// One window too small for its set: the bytes missing are those of the best order.
#[test]
fn missing_bytes_are_those_of_the_best_order() {
    let mut layout: Layout<'_, 4> = Layout::new(&TWO_REGIONS, ByteSize::bytes(16));
    layout.add_window("ram", Span::at(0x1_0000, ByteSize::bytes(4096 + 100))).unwrap();
    let requests = [
        SegmentRequest::new("a", ByteSize::bytes(100)),
        SegmentRequest::new("b", ByteSize::bytes(4096)).aligned(Alignment::of(4096)),
        SegmentRequest::new("c", ByteSize::bytes(32)),
    ];
    // Best order: b (0..4096), a (4128..4228 after 16 guard bytes aligned to 32), c (4256..4288).
    let e = plan(&mut layout, &requests, Placement::Optimal, &mut [0; 8]).unwrap_err();
    assert!(matches!(e, PlanError::DoesNotFit { missing, .. } if missing.get() == 4288 - 4196), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// The dynamic placer.

/// Segments of the dynamic layouts (at most this many live).
const DYN_N: usize = 12;
type Dynamic = DynamicLayout<'static, DYN_N, { 2 * DYN_N + 1 }>;

const COMPONENTS: [&str; 5] = ["c0", "c1", "c2", "c3", "c4"];

#[derive(Clone, Debug)]
enum DynOp {
    /// Allocate for component `component` (its segment named freshly).
    Alloc { component: usize, req: Req, region: Option<usize> },
    /// Free the live segment at this index (modulo their count).
    Free(usize),
    /// Free a name never given out.
    FreeUnknown,
    /// Allocate again under the name of a live segment.
    Duplicate(usize),
    /// Remove every segment of this component.
    Remove(usize),
}

fn dyn_req() -> impl Strategy<Value = Req> {
    (
        0u32..=14,
        any::<u64>(),
        prop::option::weighted(0.4, 0u32..=12),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(bits, r, align_log2, dma, wasm)| Req {
            size: 1 + r % (1 << bits),
            align_log2,
            dma,
            wasm,
            masked: false,
        })
}

fn dyn_op() -> impl Strategy<Value = DynOp> {
    prop_oneof![
        6 => (0usize..4, dyn_req(), prop::option::weighted(0.2, 0usize..2))
            .prop_map(|(component, req, region)| DynOp::Alloc { component, req, region }),
        3 => any::<usize>().prop_map(DynOp::Free),
        1 => Just(DynOp::FreeUnknown),
        1 => any::<usize>().prop_map(DynOp::Duplicate),
        1 => (0usize..5).prop_map(DynOp::Remove),
    ]
}

/// A live segment in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Live {
    name: &'static str,
    component: usize,
    region: u8,
    span: Span,
}

/// The dynamic layout and its model.
struct DynHarness {
    dynamic: Dynamic,
    map: &'static MemoryMap,
    guard: u64,
    /// (region index, span) of each window, in the order added.
    windows: Vec<(u8, Span)>,
    live: Vec<Live>,
    next_name: usize,
}

impl DynHarness {
    fn new(two_regions: bool, guard: u64, sizes: [u64; 2]) -> Self {
        let (map, spans): (&'static MemoryMap, [(&str, Span); 2]) = if two_regions {
            (
                &TWO_REGIONS,
                [
                    ("ram", Span::at(0x2_0010, ByteSize::bytes(sizes[0]))),
                    ("fast", Span::at(0x0102_0000, ByteSize::bytes(sizes[1]))),
                ],
            )
        } else {
            (
                &ONE_REGION,
                [
                    ("ram", Span::at(0x20_0000, ByteSize::bytes(sizes[0]))),
                    ("ram", Span::at(0x80_0000, ByteSize::bytes(sizes[1]))),
                ],
            )
        };
        let mut dynamic = Dynamic::new(map, ByteSize::bytes(guard));
        let mut windows = Vec::new();
        for (region, span) in spans {
            dynamic.add_window(region, span).unwrap();
            windows.push((map.region_index(region).unwrap() as u8, span));
        }
        Self { dynamic, map, guard, windows, live: Vec::new(), next_name: 0 }
    }

    fn fresh_name(&mut self) -> &'static str {
        self.next_name += 1;
        Box::leak(format!("d{}", self.next_name).into_boxed_str())
    }

    /// Whether window `w` has a free extent for a block of `size + guard` bytes aligned to
    /// `align`: the window less the live segments and their guards behind them.
    fn has_room(&self, w: usize, size: u64, align: u64) -> bool {
        let (region, span) = self.windows[w];
        let mut blocks: Vec<(u64, u64)> = self
            .live
            .iter()
            .filter(|l| l.region == region && span.contains_span(l.span))
            .map(|l| (l.span.start().get(), l.span.end().get() + self.guard))
            .collect();
        blocks.sort_unstable();
        let mut cursor = span.start().get();
        for (start, end) in blocks.into_iter().chain([(span.end().get(), span.end().get())]) {
            let at = cursor.div_ceil(align) * align;
            if at + size + self.guard <= start {
                return true;
            }
            cursor = end;
        }
        false
    }

    fn eligible(&self, w: usize, req: &Req, region: Option<usize>) -> bool {
        let r = &self.map.regions[usize::from(self.windows[w].0)];
        let asked = region.is_none_or(|k| self.windows[k].0 == self.windows[w].0);
        asked && (!req.dma || r.attributes.dma)
    }

    fn request(
        &self,
        name: &'static str,
        component: usize,
        req: &Req,
        region: Option<usize>,
    ) -> SegmentRequest<'static> {
        let mut r = req.request(COMPONENTS[component]).named(name);
        if let Some(k) = region {
            r = r.in_region(self.map.regions[usize::from(self.windows[k].0)].name);
        }
        r
    }

    fn step(&mut self, op: &DynOp) {
        match *op {
            DynOp::Alloc { component, ref req, region } => {
                let name = self.fresh_name();
                let (size, align) = req.effective(self.map);
                let windows: Vec<usize> =
                    (0..self.windows.len()).filter(|&w| self.eligible(w, req, region)).collect();
                let room = windows.iter().any(|&w| self.has_room(w, size, align));
                let request = self.request(name, component, req, region);
                let result = self.dynamic.allocate(&request).copied();
                match result {
                    Ok(s) => {
                        assert!(room, "placed with no room in the model: {s:?}");
                        assert!(self.live.len() < DYN_N);
                        assert_eq!((s.name, s.span.size().get(), s.align.get()), (name, size, align));
                        assert_eq!(s.span.start().get() % align, 0, "misaligned: {s:?}");
                        let w = windows
                            .iter()
                            .copied()
                            .find(|&w| {
                                self.windows[w].0 == s.region && self.windows[w].1.contains_span(s.span)
                            })
                            .unwrap_or_else(|| panic!("in no eligible window: {s:?}"));
                        let end = self.windows[w].1.end().get();
                        assert!(s.span.end().get() + self.guard <= end, "its guard runs past the window");
                        // The block (segment and the guard behind it) was free in the model.
                        let (wr, ws) = self.windows[w];
                        for l in self.live.iter().filter(|l| l.region == wr && ws.contains_span(l.span)) {
                            let apart = l.span.end().get() + self.guard <= s.span.start().get()
                                || s.span.end().get() + self.guard <= l.span.start().get();
                            assert!(apart, "{s:?} too near {l:?}");
                        }
                        self.live.push(Live { name, component, region: s.region, span: s.span });
                    }
                    Err(PlanError::DoesNotFit { missing, .. }) => {
                        assert!(!room, "refused with room in the model: {request:?}");
                        assert!(missing.get() > 0, "does not fit, yet 0 bytes missing: {request:?}");
                    }
                    Err(PlanError::Layout(LayoutError::Full { table: "segments", .. })) => {
                        assert_eq!(self.live.len(), DYN_N, "full with {} live", self.live.len());
                    }
                    Err(PlanError::NoWindow { .. }) => assert!(windows.is_empty()),
                    Err(e) => panic!("{e:?}"),
                }
            }
            DynOp::Free(i) if !self.live.is_empty() => {
                let l = self.live.remove(i % self.live.len());
                let s = self.dynamic.free_segment(l.name).unwrap();
                assert_eq!((s.name, s.region, s.span), (l.name, l.region, l.span));
            }
            DynOp::FreeUnknown => {
                assert_eq!(self.dynamic.free_segment("never"), Err(LayoutError::UnknownSegment("never")));
            }
            DynOp::Duplicate(i) if !self.live.is_empty() => {
                let l = self.live[i % self.live.len()];
                let req = Req { size: 16, align_log2: None, dma: false, wasm: false, masked: false };
                let request = self.request(l.name, l.component, &req, None);
                let e = self.dynamic.allocate(&request).copied().unwrap_err();
                assert_eq!(e, PlanError::Layout(LayoutError::DuplicateSegment(l.name)));
            }
            DynOp::Remove(c) => {
                // The component table never forgets; a component is in it once a segment of
                // its was made (whether or not the segment table then took it).
                let known = self.dynamic.layout().component(COMPONENTS[c]).is_some();
                assert!(known || !self.live.iter().any(|l| l.component == c));
                let result = self.dynamic.remove_component(COMPONENTS[c]);
                if known {
                    let count = self.live.iter().filter(|l| l.component == c).count();
                    assert_eq!(result, Ok(count));
                    self.live.retain(|l| l.component != c);
                } else {
                    assert_eq!(result, Err(LayoutError::UnknownComponent(COMPONENTS[c])));
                }
            }
            _ => {}
        }
        self.check();
    }

    /// The layout against the model; every empty window whole again.
    fn check(&mut self) {
        let layout = self.dynamic.layout();
        let mut expected: Vec<(&str, u8, Span)> =
            self.live.iter().map(|l| (l.name, l.region, l.span)).collect();
        expected.sort_unstable_by_key(|&(_, r, s)| (r, s.start()));
        let actual: Vec<(&str, u8, Span)> =
            layout.segments().iter().map(|s| (s.name, s.region, s.span)).collect();
        assert_eq!(actual, expected);
        for s in layout.segments() {
            let l = self.live.iter().find(|l| l.name == s.name).unwrap();
            assert_eq!(
                s.access.owner().map(|(o, _)| layout.component_name(o)),
                Some(COMPONENTS[l.component])
            );
        }
        let report = validate_layout(layout);
        assert!(report.is_ok(), "{report}");
        // A window with no segment gives back its whole span: a segment of all of it but the
        // guard behind it fits there. (The placer takes the first window of the region with
        // room, so the probe goes where the model says; a full table cannot take it.)
        if self.live.len() == DYN_N {
            return;
        }
        for w in 0..self.windows.len() {
            let (region, span) = self.windows[w];
            let empty = !self.live.iter().any(|l| l.region == region && span.contains_span(l.span));
            if !empty || span.size().get() <= self.guard {
                continue;
            }
            let size = span.size().get() - self.guard;
            let target = (0..self.windows.len())
                .find(|&v| self.windows[v].0 == region && self.has_room(v, size, 1))
                .unwrap();
            let name = self.map.regions[usize::from(region)].name;
            let probe =
                SegmentRequest::new("probe", ByteSize::bytes(size)).aligned(Alignment::BYTE).in_region(name);
            let s = *self
                .dynamic
                .allocate(&probe)
                .unwrap_or_else(|e| panic!("an empty window {span} refused {size} bytes: {e:?}"));
            assert!(self.windows[target].1.contains_span(s.span), "{s:?} not in window {target}");
            if target == w {
                assert_eq!(s.span, Span::at(span.start().get(), ByteSize::bytes(size)));
            }
            self.dynamic.free_segment("probe").unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random allocate / free / remove sequences against the model.
    #[test]
    fn dynamic_layout_matches_its_model(
        ops in prop::collection::vec(dyn_op(), 1..120),
        two_regions in any::<bool>(),
        guard in prop_oneof![1 => Just(0u64), 3 => 0u64..=2048],
        sizes in [4096u64..(256 << 10), 4096u64..(256 << 10)],
    ) {
        let mut h = DynHarness::new(two_regions, guard, sizes);
        for op in &ops {
            h.step(op);
        }
        // Everything back: free what is left, then each window is whole.
        while let Some(l) = h.live.pop() {
            h.dynamic.free_segment(l.name).unwrap();
        }
        h.check();
    }
}

/// Nine 1-byte segments (the default 32-byte alignment, no guard) fit exactly: two in `ram`'s
/// 89-byte window at 0x1_0002, seven in `fast`'s 193 bytes, as first fit finds. With 2^9
/// assignments (past `MAX_ASSIGNMENTS`) the planner assigns greedily, counting 1 byte per
/// segment rather than its 32-byte slot: all nine go to `fast`, which holds seven.
#[test]
fn greedy_assignment_fits_when_first_fit_does() {
    let run = |strategy| {
        let mut layout: Layout<'_, 16> = Layout::new(&TWO_REGIONS, ByteSize::ZERO);
        layout.add_window("ram", Span::at(0x1_0002, ByteSize::bytes(89))).unwrap();
        layout.add_window("fast", Span::at(0x0101_0000, ByteSize::bytes(193))).unwrap();
        let requests: Vec<SegmentRequest<'_>> =
            NAMES[..9].iter().map(|n| SegmentRequest::new(n, ByteSize::bytes(1))).collect();
        plan(&mut layout, &requests, strategy, &mut [0; 256])
    };
    assert!(run(Placement::FirstFit).is_ok());
    let optimal = run(Placement::Optimal);
    assert!(optimal.is_ok(), "{optimal:?}");
}

/// A request that fails only for its alignment: the 96 KiB window starting at 0x2_0010 holds
/// 64 KiB, but not at a 64 KiB boundary (0x3_0000 + 64 KiB is past its end at 0x3_8010). The
/// bytes missing must say so: 0x4_0000 - 0x3_8010 = 32,752.
#[test]
fn dynamic_missing_bytes_count_the_alignment() {
    let mut d: Dynamic = DynamicLayout::new(&TWO_REGIONS, ByteSize::ZERO);
    d.add_window("ram", Span::at(0x2_0010, ByteSize::kib(96))).unwrap();
    let request = SegmentRequest::new("w", ByteSize::bytes(1)).with_flags(SegmentFlags::WASM);
    let e = d.allocate(&request).copied().unwrap_err();
    assert_eq!(
        e,
        PlanError::DoesNotFit { segment: "w", region: "ram", missing: ByteSize::bytes(0x4_0000 - 0x3_8010) }
    );
}

/// A full segment table is reported as such, even when the window's extent table is full too
/// (two 1-byte segments 100 bytes apart aligned to 32 from 0x2_0010 leave five extents: pad,
/// block, pad, block, rest).
#[test]
fn dynamic_full_table_is_reported_as_full() {
    let mut d: DynamicLayout<'_, 2, 5> = DynamicLayout::new(&TWO_REGIONS, ByteSize::bytes(100));
    d.add_window("ram", Span::at(0x2_0010, ByteSize::kib(64))).unwrap();
    for name in ["a", "b"] {
        d.allocate(&SegmentRequest::new(name, ByteSize::bytes(1))).unwrap();
    }
    let e = d.allocate(&SegmentRequest::new("c", ByteSize::bytes(1))).copied().unwrap_err();
    assert_eq!(e, PlanError::Layout(LayoutError::Full { table: "segments", capacity: 2 }));
}

/// A shared region a WebAssembly component reaches lies above that component's segment (a
/// rebased module reaches only addresses at or above its base), whichever strategy places it,
/// though below would waste less; a region only native components share goes where it wastes
/// least.
#[test]
fn shared_regions_of_wasm_sharers_lie_above_them() {
    use flight_memory::layout::Sharer;
    use flight_memory::map::Permissions;
    let ring = [
        Sharer { component: "writer", permissions: Permissions::RW },
        Sharer { component: "reader", permissions: Permissions::READ },
    ];
    let native = [Sharer { component: "native", permissions: Permissions::RW }];
    let requests = [
        SegmentRequest::new("writer", ByteSize::kib(64)).with_flags(SegmentFlags::WASM),
        SegmentRequest::new("reader", ByteSize::kib(64)).with_flags(SegmentFlags::WASM),
        SegmentRequest::new("native", ByteSize::kib(8)),
        SegmentRequest::shared("ring", ByteSize::kib(4), &ring),
        SegmentRequest::shared("frames", ByteSize::kib(4), &native),
    ];
    for (strategy, scratch) in [(Placement::Optimal, 64), (Placement::Optimal, 0), (Placement::FirstFit, 0)] {
        let mut layout: Layout<'_, 8> = Layout::new(&ONE_REGION, ByteSize::kib(4));
        layout.add_window("ram", Span::at(0x10_0000, ByteSize::mib(1))).unwrap();
        plan(&mut layout, &requests, strategy, &mut vec![0; scratch]).unwrap();
        assert_clean(&layout);
        let span = |name: &str| layout.segments().iter().find(|s| s.name == name).unwrap().span;
        let what = format!("{strategy:?} with {scratch} words: {:?}", layout.segments());
        for sharer in ["writer", "reader"] {
            assert!(span("ring").start() >= span(sharer).end(), "{what}");
        }
        if strategy == Placement::Optimal && scratch > 0 {
            // Proven best under the rule: the native region fills the first gap, below.
            assert!(span("frames").end() <= span("writer").start().max(span("reader").start()), "{what}");
        }
    }
}

/// A masked 3 MiB WebAssembly segment becomes 4 MiB aligned to 4 MiB, with 16 free bytes after
/// it; the plan shows the rounding and the padding, a segment placed by hand in its tail is
/// refused, and a masked segment that is not a power of two, or not on a multiple of it, or
/// whose tail leaves its window, is a finding.
#[test]
fn masked_segments_are_powers_of_two_aligned_to_themselves() {
    let masked = SegmentFlags::WASM.union(SegmentFlags::MASKED);
    let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::bytes(0));
    layout.add_window("ram", Span::at(0x10_0000, ByteSize::mib(12))).unwrap();
    let requests = [
        SegmentRequest::new("a", ByteSize::mib(1)),
        SegmentRequest::new("m", ByteSize::mib(3)).with_flags(masked),
    ];
    let summary = plan(&mut layout, &requests, Placement::Optimal, &mut [0; 4]).unwrap();
    let m = *layout.segment("m").unwrap();
    assert_eq!((m.span.start().get(), m.span.size().get()), (0x40_0000, 0x40_0000), "{m:?}");
    assert_eq!(m.reach().end().get(), 0x80_0010);
    assert_eq!(summary.rounding.get(), 1 << 20);
    // `a` goes after m's tail (it would fit before m, but the order after is as good).
    let a = layout.segment("a").unwrap();
    assert!(a.span.end().get() <= 0x40_0000 || a.span.start().get() >= 0x80_0010, "{a:?}");
    assert_clean(&layout);
    let into_tail = Segment { name: "t", span: Span::at(0x80_0008, ByteSize::bytes(8)), ..*a };
    assert!(matches!(layout.insert(into_tail), Err(LayoutError::Collides { .. })));

    // By hand: not a power of two, off its size, and a tail past the window.
    let mut bad: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::bytes(0));
    bad.add_window("ram", Span::at(0x10_0000, ByteSize::mib(4))).unwrap();
    let seg = |name, start, size| Segment { name, span: Span::at(start, ByteSize::bytes(size)), ..m };
    bad.insert_unchecked(seg("odd", 0x10_0000, 0x30_0000)).unwrap();
    bad.insert_unchecked(seg("last", 0x40_0000, 0x10_0000)).unwrap();
    let report = validate_layout(&bad);
    let findings: Vec<String> = report.findings.iter().map(|f| f.to_string()).collect();
    assert!(findings.iter().any(|f| f.contains("`odd` is masked")), "{findings:?}");
    assert!(findings.iter().any(|f| f.contains("`last` lies outside")), "{findings:?}");
    assert!(!findings.iter().any(|f| f.contains("`last` is masked")), "{findings:?}");
    assert!(layout_error(&bad, seg("x", 0x48_0000, 0x8_0000)));
}

/// Whether inserting `s` into a copy of `layout` is refused.
fn layout_error<const N: usize>(layout: &Layout<'static, N>, s: Segment<'static>) -> bool {
    layout.clone().insert(s).is_err()
}

/// A masked request must be a WebAssembly segment with an owner.
#[test]
fn masking_needs_a_webassembly_owner() {
    let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::bytes(0));
    layout.add_window("ram", Span::at(0x10_0000, ByteSize::mib(4))).unwrap();
    let r = SegmentRequest::new("m", ByteSize::kib(64)).with_flags(SegmentFlags::MASKED);
    let e = plan(&mut layout, &[r], Placement::Optimal, &mut [0; 4]).unwrap_err();
    assert!(e.to_string().contains("not flagged wasm"), "{e}");
}

/// The guard gap after a masked segment starts past its tail, so no canary lies where a masked
/// access may land, and the checker calls an access there a guard-gap violation.
#[test]
fn the_guard_gap_after_a_masked_segment_starts_past_its_tail() {
    use flight_memory::layout::{Access, MASK_TAIL, ViolationKind};
    let masked = SegmentFlags::WASM.union(SegmentFlags::MASKED);
    let mut layout: Layout<'_, 4> = Layout::new(&ONE_REGION, ByteSize::kib(4));
    layout.add_window("ram", Span::at(0x10_0000, ByteSize::mib(4))).unwrap();
    let requests = [
        SegmentRequest::new("m", ByteSize::kib(64)).with_flags(masked),
        SegmentRequest::new("n", ByteSize::kib(64)).with_flags(SegmentFlags::WASM),
    ];
    plan(&mut layout, &requests, Placement::Optimal, &mut [0; 4]).unwrap();
    let m = *layout.segment("m").unwrap();
    let n = *layout.segment("n").unwrap();
    let (lo, hi) = if m.span.start() < n.span.start() { (m, n) } else { (n, m) };
    let first = layout.guards().next().unwrap();
    assert_eq!(first.span.start().get(), lo.reach().end().get(), "{first:?}");
    assert!(first.span.end() <= hi.span.start());
    assert_clean(&layout);
    // The planner puts the masked segment first (at the window's aligned start): its tail
    // lies between the two.
    assert_eq!(lo.name, "m");
    {
        let tail = layout.cpu_address(&m).unwrap().get() + m.span.size().get();
        let component = layout.component("n").unwrap();
        let v = layout
            .check(component, flight_memory::Address::new(tail), MASK_TAIL.get(), Access::Read)
            .unwrap_err();
        assert!(matches!(v.kind, ViolationKind::GuardGap { .. }), "{v:?}");
    }
}

//! Static placement: the whole set of segments at once, deterministically, with as little waste
//! (alignment padding and guard gaps) as possible.
//!
//! In one window, any placement sorted by address can slide down, segment by segment, to the
//! lowest address its alignment and the guard gap allow, without moving any segment up. So an
//! optimal placement is an order: each segment follows the previous one at
//! `align_up(previous end + guard)`. The end of a segment placed that way only grows with the end
//! of the one before, so the best order of a set of segments extends the best order of some
//! subset of it by one segment. [`Strategy::Optimal`] uses that:
//!
//! - **Exact** for small sets: a dynamic programme over the subsets of each window's segments
//!   (`best_end[S] = min over j in S of place(best_end[S - j], j)`), O(2^m * m) time and
//!   2^m words of caller-provided scratch for m segments; and, when segments may go in more than
//!   one window, every assignment of segments to windows (up to [`MAX_ASSIGNMENTS`]).
//! - **Heuristic** beyond that: segments by decreasing alignment, then decreasing size (no
//!   padding at all when sizes are multiples of alignments), improved by swapping pairs while
//!   that lowers the end; windows assigned largest segment first to the window with most room.
//!
//! [`Strategy::FirstFit`] is the baseline the planner is measured against: each segment, in the
//! order given, at the lowest address where it fits.
//!
//! One rule binds every strategy: a shared region that a WebAssembly component shares (a
//! sharer owning a segment flagged [`SegmentFlags::WASM`]) lies above that component's
//! segment, since a rebased module reaches only addresses at or above its base. The optimal
//! planner orders such regions after the window's other segments (the dynamic programme skips
//! the orders that break it, the heuristic sorts them last and swaps within each group); first
//! fit places them after the others, each above its WebAssembly sharers' segments.
//!
//! No heap: the plan is written into a [`Layout`], and the only scratch is the slice the
//! caller passes (empty is allowed: the heuristic then orders every window).

use core::fmt;

use super::{Layout, LayoutError, MASK_TAIL, SegmentFlags, Sharer, WASM_PAGE};
use crate::map::Permissions;
use crate::units::{Alignment, ByteSize, Span};

/// The most assignments of segments to windows the exact planner tries.
pub const MAX_ASSIGNMENTS: usize = 256;

/// The most segments of one window the exact planner orders (2^20 words of scratch).
pub const MAX_EXACT: usize = 20;

/// A segment to place.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct SegmentRequest<'a> {
    /// The segment's name, unique in the layout.
    pub name: &'a str,
    /// The component that owns it; `None` for a shared region that only its sharers use.
    pub owner: Option<&'a str>,
    /// What the owner may do.
    pub permissions: Permissions,
    /// The other components that may use it, and how.
    pub sharers: &'a [Sharer<'a>],
    /// How many bytes.
    pub size: ByteSize,
    /// The alignment; `None` takes the map's default ([`Alignments::segment_default`]).
    ///
    /// [`Alignments::segment_default`]: crate::map::Alignments::segment_default
    pub align: Option<Alignment>,
    /// What it needs from its region.
    pub flags: SegmentFlags,
    /// The region it must go in; `None` lets the planner choose among the layout's windows
    /// (main RAM unless the flags ask for video or sound memory).
    pub region: Option<&'a str>,
}

impl<'a> SegmentRequest<'a> {
    /// A read/write segment of `size` bytes owned by `component` and named after it.
    pub const fn new(component: &'a str, size: ByteSize) -> Self {
        Self {
            name: component,
            owner: Some(component),
            permissions: Permissions::RW,
            sharers: &[],
            size,
            align: None,
            flags: SegmentFlags::NONE,
            region: None,
        }
    }

    /// A shared region with no owner, used by `sharers` with their own rights.
    pub const fn shared(name: &'a str, size: ByteSize, sharers: &'a [Sharer<'a>]) -> Self {
        let mut r = Self::new(name, size);
        r.owner = None;
        r.permissions = Permissions::NONE;
        r.sharers = sharers;
        r
    }

    /// The same request under another segment name.
    pub const fn named(mut self, name: &'a str) -> Self {
        self.name = name;
        self
    }

    /// The same request with this alignment.
    pub const fn aligned(mut self, align: Alignment) -> Self {
        self.align = Some(align);
        self
    }

    /// The same request with these flags.
    pub const fn with_flags(mut self, flags: SegmentFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The same request with these rights for the owner.
    pub const fn with_permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// The same request, also usable by `sharers`.
    pub const fn shared_with(mut self, sharers: &'a [Sharer<'a>]) -> Self {
        self.sharers = sharers;
        self
    }

    /// The same request, confined to the region called `region`.
    pub const fn in_region(mut self, region: &'a str) -> Self {
        self.region = Some(region);
        self
    }
}

/// How [`plan`] orders segments.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Strategy {
    /// Least waste: exact for small sets, a heuristic beyond (see the module docs).
    Optimal,
    /// Each segment, in the order given, at the lowest address where it fits.
    FirstFit,
}

/// What a plan cost.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PlanSummary {
    /// The bytes of the segments themselves (as placed: WebAssembly segments are whole pages).
    pub used: ByteSize,
    /// Bytes added to requests to round them up (WebAssembly pages, DMA cache lines).
    pub rounding: ByteSize,
    /// Bytes in guard gaps.
    pub guards: ByteSize,
    /// Alignment padding: bytes between segments (and before the first) beyond the guard gaps.
    pub padding: ByteSize,
    /// Whether every window's order was proven optimal.
    pub exact: bool,
}

impl PlanSummary {
    /// Padding and guard gaps: what the placement itself cost.
    pub const fn waste(&self) -> ByteSize {
        ByteSize::bytes(self.guards.get() + self.padding.get())
    }
}

/// Why no plan was made.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PlanError<'a> {
    /// The layout refused something (a full table, a duplicate name).
    Layout(LayoutError<'a>),
    /// The layout already has segments: plan into an empty one.
    NotEmpty,
    /// A request is malformed.
    Invalid {
        /// The segment.
        segment: &'a str,
        /// What is wrong.
        why: &'static str,
    },
    /// No window of the layout can hold this segment at all.
    NoWindow {
        /// The segment.
        segment: &'a str,
        /// Why the last window considered refused it.
        why: &'static str,
    },
    /// The segments do not fit: `segment` is the first that would cross the end of `region`'s
    /// window, and `missing` how many more bytes the window would need.
    DoesNotFit {
        /// The first segment past the end.
        segment: &'a str,
        /// The region of the window.
        region: &'static str,
        /// Bytes missing.
        missing: ByteSize,
    },
}

impl<'a> From<LayoutError<'a>> for PlanError<'a> {
    fn from(e: LayoutError<'a>) -> Self {
        Self::Layout(e)
    }
}

impl fmt::Display for PlanError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Layout(e) => e.fmt(f),
            Self::NotEmpty => f.write_str("the layout already has segments: plan into an empty layout"),
            Self::Invalid { segment, why } => write!(f, "segment `{segment}`: {why}"),
            Self::NoWindow { segment, why } => write!(f, "segment `{segment}` has nowhere to go: {why}"),
            Self::DoesNotFit { segment, region, missing } => write!(
                f,
                "segment `{segment}` does not fit in the budget of `{region}`: {missing} ({} bytes) missing",
                missing.get()
            ),
        }
    }
}

impl core::error::Error for PlanError<'_> {}

/// A request as the planner sees it: effective size and alignment, eligible windows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub(crate) size: u64,
    pub(crate) align: u64,
    /// Bytes kept free after it: [`MASK_TAIL`] for a masked segment, else 0.
    pub(crate) tail: u64,
    /// Bit w set: window w may hold it.
    pub(crate) windows: u8,
    /// A shared region a WebAssembly sharer reaches: it must lie above that sharer's segment
    /// (a rebased module reaches only addresses at or above its base), so in a window it comes
    /// after every segment that is not such a region.
    pub(crate) late: bool,
}

/// The end of a segment of `item` placed after a segment ending at `prev` (`None`: first in the
/// window starting at `start`), its tail included; `INFEASIBLE` on overflow.
fn place(prev: Option<u64>, start: u64, guard: u64, item: &Item) -> u64 {
    let base = match prev {
        None => Some(start),
        Some(end) => end.checked_add(guard),
    };
    base.and_then(|b| b.checked_add(item.align - 1))
        .map(|b| b & !(item.align - 1))
        .and_then(|a| a.checked_add(item.size + item.tail))
        .filter(|&e| e < INFEASIBLE)
        .unwrap_or(INFEASIBLE)
}

/// An end no placement reaches: larger than any address (ends are kept below 2^58, so they pack
/// with a 6-bit index into a scratch word).
const INFEASIBLE: u64 = (1 << 58) - 1;

/// Why a segment that cannot be placed anywhere in the address space is refused.
const PAST_THE_END: &str = "its alignment and size take it past the end of the address space";

/// The end of the last of `order` placed in sequence from `start`.
fn end_of(order: &[u16], items: &[Item], start: u64, guard: u64) -> u64 {
    let mut end = None;
    for &i in order {
        end = Some(place(end, start, guard, &items[usize::from(i)]));
    }
    end.unwrap_or(start)
}

/// Orders `order` (the items of one window) for the least end: exactly when scratch allows, else
/// by the heuristic. Returns the end and whether the order is proven best.
fn order_window(
    order: &mut [u16],
    items: &[Item],
    start: u64,
    guard: u64,
    scratch: &mut [u64],
) -> (u64, bool) {
    let m = order.len();
    if m <= 1 {
        return (end_of(order, items, start, guard), true);
    }
    if m <= MAX_EXACT && scratch.len() >= 1 << m {
        return (exact(order, items, start, guard, &mut scratch[..1 << m]), true);
    }
    (heuristic(order, items, start, guard), false)
}

/// The dynamic programme over subsets (see the module docs); `best` has 2^m words, each the best
/// end of its subset shifted left by 6, or-ed with the index of the subset's last segment.
fn exact(order: &mut [u16], items: &[Item], start: u64, guard: u64, best: &mut [u64]) -> u64 {
    let m = order.len();
    let item = |j: usize| &items[usize::from(order[j])];
    let late = (0..m).filter(|&j| item(j).late).fold(0usize, |mask, j| mask | 1 << j);
    best[0] = 0;
    for set in 1..best.len() {
        let mut value = u64::MAX;
        let mut rest = set;
        while rest != 0 {
            let j = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let without = set & !(1 << j);
            if !item(j).late && without & late != 0 {
                // A late segment would come before this one.
                continue;
            }
            let prev = (without != 0).then(|| best[without] >> 6);
            let end = place(prev, start, guard, item(j));
            value = value.min(end << 6 | j as u64);
        }
        best[set] = value;
    }
    // Walk back from the whole set, taking each subset's last segment.
    let mut chosen = [0u16; MAX_EXACT];
    let mut set = best.len() - 1;
    for k in (0..m).rev() {
        let j = (best[set] & 63) as usize;
        chosen[k] = order[j];
        set &= !(1 << j);
    }
    order.copy_from_slice(&chosen[..m]);
    end_of(order, items, start, guard)
}

/// Decreasing alignment, then decreasing size; then pair swaps while they lower the end.
fn heuristic(order: &mut [u16], items: &[Item], start: u64, guard: u64) -> u64 {
    order.sort_unstable_by(|&a, &b| {
        let (x, y) = (&items[usize::from(a)], &items[usize::from(b)]);
        (x.late, y.align, y.size, a).cmp(&(y.late, x.align, x.size, b))
    });
    let mut end = end_of(order, items, start, guard);
    for _pass in 0..4 {
        let mut improved = false;
        for i in 0..order.len() {
            for j in i + 1..order.len() {
                if items[usize::from(order[i])].late != items[usize::from(order[j])].late {
                    continue;
                }
                order.swap(i, j);
                let e = end_of(order, items, start, guard);
                if e < end {
                    end = e;
                    improved = true;
                } else {
                    order.swap(i, j);
                }
            }
        }
        if !improved {
            break;
        }
    }
    end
}

/// Places `requests` into the layout's windows (see the module docs). The layout must have no
/// segments yet. `scratch` is working memory for the exact planner: 2^m words order m segments
/// of one window exactly; with less, the heuristic orders that window.
pub fn plan<'a, const N: usize>(
    layout: &mut Layout<'a, N>,
    requests: &[SegmentRequest<'a>],
    strategy: Strategy,
    scratch: &mut [u64],
) -> Result<PlanSummary, PlanError<'a>> {
    if !layout.segments().is_empty() {
        return Err(PlanError::NotEmpty);
    }
    if requests.len() > N {
        return Err(PlanError::Layout(LayoutError::Full { table: "segments", capacity: N }));
    }
    let mut items: heapless::Vec<Item, N> = heapless::Vec::new();
    for r in requests {
        let mut item = item_for(layout, r)?;
        item.late = reached_by_wasm(r, requests);
        // Capacity checked above.
        let _ = items.push(item);
    }
    let exact = match strategy {
        Strategy::FirstFit => {
            first_fit(layout, requests, &items)?;
            false
        }
        Strategy::Optimal => {
            let empty = layout.clone();
            let result = optimal(layout, requests, &items, scratch);
            if matches!(result, Ok(true)) {
                true
            } else {
                // Unproven (the heuristic, or a guessed assignment): first fit may do better, and
                // the planner is never worse than its baseline.
                let mut baseline = empty;
                match (result, first_fit(&mut baseline, requests, &items)) {
                    (Ok(_), Ok(())) => {
                        let waste = |l: &Layout<'a, N>| summarize(l, requests, false).waste();
                        if waste(&baseline) < waste(layout) {
                            *layout = baseline;
                        }
                    }
                    (Ok(_), Err(_)) => {}
                    (Err(_), Ok(())) => *layout = baseline,
                    (Err(e), Err(_)) => return Err(e),
                }
                false
            }
        }
    };
    Ok(summarize(layout, requests, exact))
}

/// Whether `r` is a shared region one of whose sharers is a WebAssembly component (owns a
/// segment flagged [`SegmentFlags::WASM`]).
fn reached_by_wasm(r: &SegmentRequest<'_>, requests: &[SegmentRequest<'_>]) -> bool {
    r.owner.is_none()
        && r.sharers.iter().any(|s| {
            requests.iter().any(|q| q.owner == Some(s.component) && q.flags.contains(SegmentFlags::WASM))
        })
}

/// The effective size, alignment and eligible windows of a request.
pub(crate) fn item_for<'a, const N: usize>(
    layout: &Layout<'a, N>,
    r: &SegmentRequest<'a>,
) -> Result<Item, PlanError<'a>> {
    let map = layout.map();
    let invalid = |why| PlanError::Invalid { segment: r.name, why };
    if r.size == ByteSize::ZERO {
        return Err(invalid("its size is zero"));
    }
    if r.owner.is_none() && r.sharers.is_empty() {
        return Err(invalid("it has neither an owner nor sharers"));
    }
    let mut align = r.align.unwrap_or(map.alignments.segment_default());
    let mut size = r.size.get();
    if r.flags.contains(SegmentFlags::DMA) {
        let line = map.alignments.dma.max(map.alignments.cache_line);
        align = align.max(line);
        size = line.round_up(size).ok_or(invalid("its size overflows"))?;
    }
    if r.flags.contains(SegmentFlags::WASM) {
        let page = Alignment::of(WASM_PAGE.get());
        align = align.max(page);
        size = page.round_up(size).ok_or(invalid("its size overflows"))?;
    }
    let mut tail = 0;
    if r.flags.contains(SegmentFlags::MASKED) {
        if !r.flags.contains(SegmentFlags::WASM) {
            return Err(invalid(
                "it is masked, which confines a WebAssembly component, but it is not flagged wasm",
            ));
        }
        if r.owner.is_none() {
            return Err(invalid(
                "it is masked, but a shared region has no owner whose accesses a mask confines",
            ));
        }
        // A power of two, aligned to itself: the mask keeps every address inside.
        size = size.checked_next_power_of_two().filter(|&p| p < INFEASIBLE).ok_or(invalid(PAST_THE_END))?;
        align = align.max(Alignment::new(size).map_err(|_| invalid(PAST_THE_END))?);
        tail = MASK_TAIL.get();
    }
    if size >= INFEASIBLE {
        return Err(invalid("it is larger than any address space"));
    }
    let mut windows = 0u8;
    let mut why = "the layout has no window";
    for (w, window) in layout.windows().iter().enumerate() {
        let region = layout.region(window.region);
        if let Some(name) = r.region {
            if region.name != name {
                why = "no window is in the region it asks for";
                continue;
            }
        } else if !r.flags.contains(SegmentFlags::VIDEO)
            && !r.flags.contains(SegmentFlags::AUDIO)
            && region.kind != crate::map::RegionKind::Main
        {
            why = "it names no region and no window is in main RAM";
            continue;
        }
        let permissions = r.sharers.iter().fold(r.permissions, |p, s| p.union(s.permissions));
        if let Some(refused) = layout.region_refuses(region, r.flags, permissions) {
            why = refused;
            continue;
        }
        windows |= 1 << w;
    }
    if windows == 0 {
        return Err(PlanError::NoWindow { segment: r.name, why });
    }
    Ok(Item { size, align: align.get(), tail, windows, late: false })
}

/// Places each request, in order, at the lowest address where it fits.
fn first_fit<'a, const N: usize>(
    layout: &mut Layout<'a, N>,
    requests: &[SegmentRequest<'a>],
    items: &[Item],
) -> Result<(), PlanError<'a>> {
    let guard = layout.guard().get();
    // Late segments after the others, each above the segments of its WebAssembly sharers.
    let sequence =
        (0..requests.len()).filter(|&i| !items[i].late).chain((0..requests.len()).filter(|&i| items[i].late));
    for i in sequence {
        let (r, item) = (&requests[i], &items[i]);
        let mut placed = None;
        let mut shortest = u64::MAX;
        let mut short_region = "";
        for (w, window) in layout.windows().iter().enumerate() {
            if item.windows & (1 << w) == 0 {
                continue;
            }
            // The segments already in this window, in address order, bound the holes.
            let inside = layout
                .segments()
                .iter()
                .filter(|s| s.region == window.region && window.span.contains_span(s.span));
            let floor = if item.late {
                layout
                    .segments()
                    .iter()
                    .filter(|s| s.region == window.region && window.span.contains_span(s.span))
                    .filter(|s| {
                        let owner = s.access.owner().map(|(c, _)| layout.component_name(c));
                        s.flags.contains(SegmentFlags::WASM)
                            && r.sharers.iter().any(|sh| owner == Some(sh.component))
                    })
                    .map(|s| s.reach().end().get())
                    .max()
            } else {
                None
            };
            let mut prev: Option<u64> = None;
            let mut found = None;
            for s in inside
                .map(|s| s.reach())
                .chain(core::iter::once(Span::at(window.span.end().get(), ByteSize::ZERO)))
            {
                if floor.is_some_and(|f| s.end().get() <= f && s.size() != ByteSize::ZERO) {
                    // Below a sharer's segment: not a place for this one.
                    prev = Some(s.end().get());
                    continue;
                }
                let end = place(prev, window.span.start().get(), guard, item);
                let limit = if s.size() == ByteSize::ZERO {
                    window.span.end().get()
                } else {
                    s.start().get().saturating_sub(guard)
                };
                if end <= limit {
                    found = Some(end - item.tail - item.size);
                    break;
                }
                if end < INFEASIBLE && end - limit < shortest {
                    shortest = end - limit;
                    short_region = layout.region(window.region).name;
                }
                prev = Some(s.end().get());
            }
            if let Some(start) = found {
                placed = Some((window.region, start));
                break;
            }
        }
        if placed.is_none() && shortest == u64::MAX {
            return Err(PlanError::Invalid { segment: r.name, why: PAST_THE_END });
        }
        let Some((region, start)) = placed else {
            return Err(PlanError::DoesNotFit {
                segment: r.name,
                region: short_region,
                missing: ByteSize::bytes(shortest),
            });
        };
        let segment =
            layout.segment_for(r, region, start, ByteSize::bytes(item.size), Alignment::of(item.align))?;
        layout.insert(segment)?;
    }
    Ok(())
}

/// The exact or heuristic planner (see the module docs).
fn optimal<'a, const N: usize>(
    layout: &mut Layout<'a, N>,
    requests: &[SegmentRequest<'a>],
    items: &[Item],
    scratch: &mut [u64],
) -> Result<bool, PlanError<'a>> {
    let windows = layout.windows().len();
    let guard = layout.guard().get();
    let starts: heapless::Vec<(u64, u64), { super::MAX_WINDOWS }> =
        layout.windows().iter().map(|w| (w.span.start().get(), w.span.end().get())).collect();
    // Each item's choices are the set bits of its window mask; an assignment picks one each.
    let choices = |i: usize| items[i].windows.count_ones() as usize;
    let mut count: usize = 1;
    for i in 0..items.len() {
        count = count.saturating_mul(choices(i));
    }
    let enumerate = count <= MAX_ASSIGNMENTS;
    let mut exact = enumerate;

    let mut best: Option<(u64, u64, heapless::Vec<u8, N>)> = None; // (overflow, waste, assignment)
    let mut assignment: heapless::Vec<u8, N> = heapless::Vec::new();
    for item in items {
        let _ = assignment.push(item.windows.trailing_zeros() as u8);
    }
    if !enumerate {
        greedy_assignment(items, &starts, guard, &mut assignment);
    }
    let mut order: heapless::Vec<u16, N> = heapless::Vec::new();
    loop {
        // Evaluate this assignment: per window, the best order.
        let (mut overflow, mut waste) = (0u64, 0u64);
        for (w, &(start, end)) in starts.iter().enumerate().take(windows) {
            order.clear();
            for (i, &a) in assignment.iter().enumerate() {
                if usize::from(a) == w {
                    let _ = order.push(i as u16);
                }
            }
            if order.is_empty() {
                continue;
            }
            let (last, proven) = order_window(&mut order, items, start, guard, scratch);
            exact &= proven;
            let sizes: u64 = order.iter().map(|&i| items[usize::from(i)].size).sum();
            overflow = overflow.saturating_add(last.saturating_sub(end));
            waste = waste.saturating_add(last.saturating_sub(start).saturating_sub(sizes));
        }
        if best.as_ref().is_none_or(|(o, w, _)| (overflow, waste) < (*o, *w)) {
            best = Some((overflow, waste, assignment.clone()));
        }
        if !enumerate || !next_assignment(items, &mut assignment) {
            break;
        }
    }
    let Some((_, _, assignment)) = best else {
        return Ok(exact);
    };
    // Place the best assignment for real, window by window.
    for (w, &(start, end)) in starts.iter().enumerate().take(windows) {
        order.clear();
        for (i, &a) in assignment.iter().enumerate() {
            if usize::from(a) == w {
                let _ = order.push(i as u16);
            }
        }
        order_window(&mut order, items, start, guard, scratch);
        let region = layout.windows()[w].region;
        let mut prev = None;
        for &i in order.iter() {
            let item = &items[usize::from(i)];
            let seg_end = place(prev, start, guard, item);
            if seg_end >= INFEASIBLE {
                return Err(PlanError::Invalid { segment: requests[usize::from(i)].name, why: PAST_THE_END });
            }
            if seg_end > end {
                let missing = end_of(&order, items, start, guard) - end;
                return Err(PlanError::DoesNotFit {
                    segment: requests[usize::from(i)].name,
                    region: layout.region(region).name,
                    missing: ByteSize::bytes(missing),
                });
            }
            prev = Some(seg_end);
            let r = &requests[usize::from(i)];
            let segment = layout.segment_for(
                r,
                region,
                seg_end - item.tail - item.size,
                ByteSize::bytes(item.size),
                Alignment::of(item.align),
            )?;
            layout.insert(segment)?;
        }
    }
    Ok(exact)
}

/// The next assignment in odometer order; false after the last.
fn next_assignment<const N: usize>(items: &[Item], assignment: &mut heapless::Vec<u8, N>) -> bool {
    for (i, a) in assignment.iter_mut().enumerate() {
        let mask = items[i].windows;
        // The next set bit above the current choice, else wrap to the lowest and carry.
        let above = mask & !((2u16 << *a) - 1) as u8;
        if above != 0 {
            *a = above.trailing_zeros() as u8;
            return true;
        }
        *a = mask.trailing_zeros() as u8;
    }
    false
}

/// Largest first, each to the eligible window with the most room left.
fn greedy_assignment<const N: usize>(
    items: &[Item],
    windows: &[(u64, u64)],
    guard: u64,
    assignment: &mut heapless::Vec<u8, N>,
) {
    let mut order: heapless::Vec<u16, N> = (0..items.len() as u16).collect();
    order.sort_unstable_by(|&a, &b| {
        items[usize::from(b)].size.cmp(&items[usize::from(a)].size).then(a.cmp(&b))
    });
    let mut room: heapless::Vec<u64, { super::MAX_WINDOWS }> = windows.iter().map(|(s, e)| e - s).collect();
    for &i in order.iter() {
        let item = &items[usize::from(i)];
        let best = (0..windows.len())
            .filter(|&w| item.windows & (1 << w) != 0)
            .max_by_key(|&w| (room[w], core::cmp::Reverse(w)));
        if let Some(w) = best {
            room[w] = room[w].saturating_sub(item.size + item.tail + guard);
            assignment[usize::from(i)] = w as u8;
        }
    }
}

/// The cost of the placement in `layout`.
fn summarize<const N: usize>(
    layout: &Layout<'_, N>,
    requests: &[SegmentRequest<'_>],
    exact: bool,
) -> PlanSummary {
    let guard = layout.guard().get();
    let mut s = PlanSummary { exact, ..PlanSummary::default() };
    let requested: u64 = requests.iter().map(|r| r.size.get()).sum();
    for window in layout.windows() {
        let mut prev: Option<u64> = None;
        for seg in layout
            .segments()
            .iter()
            .filter(|s| s.region == window.region && window.span.contains_span(s.span))
        {
            let start = seg.span.start().get();
            let gap = start - prev.unwrap_or(window.span.start().get());
            let g = if prev.is_some() { guard.min(gap) } else { 0 };
            s.guards = ByteSize::bytes(s.guards.get() + g);
            s.padding = ByteSize::bytes(s.padding.get() + gap - g);
            s.used = ByteSize::bytes(s.used.get() + seg.span.size().get());
            // A masked segment's tail is kept free: padding it costs.
            let tail = seg.reach().end().get() - seg.span.end().get();
            s.padding = ByteSize::bytes(s.padding.get() + tail);
            prev = Some(seg.reach().end().get());
        }
    }
    s.rounding = ByteSize::bytes(s.used.get().saturating_sub(requested));
    s
}

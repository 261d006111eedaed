//! The layout engine: components' segments placed in a console's memory map, and the software
//! bounds checker that enforces the placement where there is no MMU.
//!
//! A [`Layout`] is a fixed-capacity table: the components (by name), the [`Window`]s of the map
//! the layout may use (its budget in each region), and the placed [`Segment`]s, sorted by
//! region and address. Every segment has an access list: its owner's [`Permissions`], and
//! those of the other components it is shared with ([`Sharer`]s). A segment with no owner and
//! several sharers is a shared region.
//!
//! ```text
//!  window (the budget in one region)
//!  +---------+-------+--------------+-------+---------+---------------------+
//!  | physics | guard |   renderer   | guard |  audio  |        free         |
//!  +---------+-------+--------------+-------+---------+---------------------+
//!  ^ aligned         ^ aligned              ^ aligned
//! ```
//!
//! Neighbouring segments of a region are always at least the layout's guard size apart. The
//! guard gap after a segment and the one before its neighbour ([`Layout::guards`]) are what
//! [`guard`] fills with a canary and checks; alignment padding beyond them is free space.
//!
//! Segments get into the table three ways, all in `no_std` code that runs on the host at build
//! time and on the console at run time:
//!
//! - [`plan`]: the whole set at once, deterministic, minimising alignment padding and guards;
//! - [`dynamic`]: components added and removed at run time, each segment carved out of a window
//!   by the [`DeviceHeap`](crate::alloc::DeviceHeap) allocator;
//! - [`Layout::insert`]: one segment at a place already decided (a plan read back from its
//!   JSON, a linker script's symbols).
//!
//! [`Layout::check`] answers, for an access by a component, whether it is allowed, in
//! O(log n) for n segments with no heap ([`check`]); [`validate`] reports on the whole table;
//! [`ptr::Checked`] is a pointer whose accesses are checked when the `checked` feature (or a
//! debug build) asks for it.

pub mod check;
pub mod dynamic;
pub mod guard;
pub mod plan;
pub mod ptr;
pub mod trap;
pub mod validate;
pub mod vram;

use core::fmt;

use crate::map::{MemoryMap, Permissions, Region, RegionKind};
use crate::units::{Address, Alignment, ByteSize, Span};

pub use check::{Access, Violation, ViolationKind};
pub use plan::{PlanError, PlanSummary, SegmentRequest, Strategy};

/// The size of a WebAssembly page: segments of WebAssembly components are whole pages, aligned
/// to a page.
pub const WASM_PAGE: ByteSize = ByteSize::kib(64);

/// The bytes a masked component's access may run past the end of its segment
/// ([`SegmentFlags::MASKED`]): a masked address is at most the segment's last byte, and the
/// widest access (a 16-byte vector) starting there ends 15 bytes further on. The layout keeps
/// them free, outside every other segment and inside the segment's window.
pub const MASK_TAIL: ByteSize = ByteSize::bytes(16);

/// The most components one segment's access list can name (its owner included).
pub const MAX_SHARERS: usize = 8;

/// The most windows one layout has.
pub const MAX_WINDOWS: usize = 8;

/// A component: an index into its layout's component table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub struct ComponentId(pub u16);

/// What a segment needs from the memory it is placed in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
pub struct SegmentFlags(u8);

impl SegmentFlags {
    /// No requirement: CPU-addressable main RAM.
    pub const NONE: Self = Self(0);
    /// A DMA controller transfers to or from it: only DMA-capable regions, aligned for DMA and
    /// to whole cache lines.
    pub const DMA: Self = Self(1);
    /// Video memory: only [`RegionKind::Video`] regions.
    pub const VIDEO: Self = Self(2);
    /// A WebAssembly component's linear memory: sizes and alignment are whole 64 KiB pages.
    pub const WASM: Self = Self(4);
    /// Sound memory: only [`RegionKind::Audio`] regions.
    pub const AUDIO: Self = Self(8);
    /// A WebAssembly component confined by masking rather than bounds checks: each address is
    /// masked into the segment, so its size is a power of two and it is aligned to it, and
    /// the [`MASK_TAIL`] bytes after it stay free (an access at its last byte runs into them).
    /// Only with [`WASM`](Self::WASM).
    pub const MASKED: Self = Self(16);

    /// Both sets of flags.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// These flags but those of `other`.
    pub const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags' names, for tables and plans.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (Self::DMA, "dma"),
            (Self::VIDEO, "video"),
            (Self::WASM, "wasm"),
            (Self::AUDIO, "audio"),
            (Self::MASKED, "masked"),
        ]
        .into_iter()
        .filter(move |(f, _)| self.contains(*f))
        .map(|(_, n)| n)
    }

    /// The flag called `name` (as [`names`](Self::names) spells it), but [`MASKED`](Self::MASKED),
    /// which a spec asks for as a component's isolation.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "dma" => Some(Self::DMA),
            "video" | "vram" => Some(Self::VIDEO),
            "wasm" => Some(Self::WASM),
            "audio" => Some(Self::AUDIO),
            _ => None,
        }
    }
}

/// A component other than the owner that may use a segment, and how.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Sharer<'a> {
    /// The component's name.
    pub component: &'a str,
    /// What it may do.
    pub permissions: Permissions,
}

/// A segment's access list: who may touch it, and how.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct AccessList {
    entries: [(ComponentId, Permissions); MAX_SHARERS],
    len: u8,
    owned: bool,
}

impl AccessList {
    /// Nobody yet.
    const EMPTY: Self =
        Self { entries: [(ComponentId(0), Permissions::NONE); MAX_SHARERS], len: 0, owned: false };

    /// The owner, if the segment has one (a shared region has none).
    pub fn owner(&self) -> Option<(ComponentId, Permissions)> {
        if self.owned { self.entries.first().copied() } else { None }
    }

    /// Every component with rights, the owner first.
    pub fn entries(&self) -> &[(ComponentId, Permissions)] {
        &self.entries[..usize::from(self.len)]
    }

    /// The components other than the owner.
    pub fn sharers(&self) -> &[(ComponentId, Permissions)] {
        &self.entries()[usize::from(self.owned)..]
    }

    /// What `component` may do (nothing if it is not on the list).
    pub fn rights_of(&self, component: ComponentId) -> Permissions {
        self.entries().iter().find(|(c, _)| *c == component).map_or(Permissions::NONE, |(_, p)| *p)
    }

    /// Whether this is a shared region or a segment shared with someone.
    pub fn is_shared(&self) -> bool {
        !self.sharers().is_empty()
    }

    /// Adds `component` with `permissions`; a component already on the list gets both sets of
    /// rights. False if the list is full.
    fn push(&mut self, component: ComponentId, permissions: Permissions) -> bool {
        let len = usize::from(self.len);
        if let Some(entry) = self.entries[..len].iter_mut().find(|(c, _)| *c == component) {
            entry.1 = entry.1.union(permissions);
            return true;
        }
        let Some(slot) = self.entries.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = (component, permissions);
        self.len += 1;
        true
    }
}

/// A placed segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Segment<'a> {
    /// Its name: unique in its layout; linker symbols are made from it.
    pub name: &'a str,
    /// The index of its region in the map.
    pub region: u8,
    /// Where it is, in the region's own address space (physical for CPU regions).
    pub span: Span,
    /// The size asked for (the span may be larger: WebAssembly pages).
    pub requested: ByteSize,
    /// The alignment it needed.
    pub align: Alignment,
    /// What it needs from its region.
    pub flags: SegmentFlags,
    /// Who may touch it, and how.
    pub access: AccessList,
}

impl Segment<'_> {
    /// The bytes its owner's accesses may reach: its span, and for a masked segment the
    /// [`MASK_TAIL`] after it.
    pub fn reach(&self) -> Span {
        if self.flags.contains(SegmentFlags::MASKED) {
            Span::at(
                self.span.start().get(),
                ByteSize::bytes(self.span.size().get().saturating_add(MASK_TAIL.get())),
            )
        } else {
            self.span
        }
    }
}

/// The part of a region a layout may use: its budget there.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Window {
    /// The index of the region in the map.
    pub region: u8,
    /// The budget, in the region's own address space.
    pub span: Span,
}

/// A guard gap: bytes between two neighbouring segments that nobody may touch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Guard {
    /// The index of its region in the map.
    pub region: u8,
    /// Where, in the region's own address space.
    pub span: Span,
    /// The index (in [`Layout::segments`]) of the segment before it.
    pub after: usize,
    /// The index of the segment after it.
    pub before: usize,
}

/// Why a layout refused a window, a component or a segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum LayoutError<'a> {
    /// The map has no region of that name.
    UnknownRegion(&'a str),
    /// A window is empty, outside its region, over a reserved part or over another window.
    BadWindow {
        /// The region.
        region: &'static str,
        /// The window asked for.
        span: Span,
        /// What is wrong.
        why: &'static str,
    },
    /// A table is full.
    Full {
        /// Which table: `"segments"`, `"components"`, `"windows"` or `"access list"`.
        table: &'static str,
        /// Its capacity.
        capacity: usize,
    },
    /// Two segments share a name.
    DuplicateSegment(&'a str),
    /// A segment would overlap another or come nearer to it than the guard size.
    Collides {
        /// The segment being inserted.
        segment: &'a str,
        /// The segment already there.
        with: &'a str,
    },
    /// A segment lies outside every window of its region.
    OutsideWindows(&'a str),
    /// No segment of that name.
    UnknownSegment(&'a str),
    /// No component of that name.
    UnknownComponent(&'a str),
}

impl fmt::Display for LayoutError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnknownRegion(r) => write!(f, "the map has no region `{r}`"),
            Self::BadWindow { region, span, why } => write!(f, "window {span} of region `{region}`: {why}"),
            Self::Full { table, capacity } => {
                write!(
                    f,
                    "the layout's {table} table is full ({capacity} entries): give it a larger capacity"
                )
            }
            Self::DuplicateSegment(s) => write!(f, "two segments are called `{s}`"),
            Self::Collides { segment, with } => {
                write!(f, "segment `{segment}` overlaps `{with}` or is nearer to it than the guard size")
            }
            Self::OutsideWindows(s) => write!(f, "segment `{s}` lies outside the layout's windows"),
            Self::UnknownSegment(s) => write!(f, "no segment is called `{s}`"),
            Self::UnknownComponent(c) => write!(f, "no component is called `{c}`"),
        }
    }
}

impl core::error::Error for LayoutError<'_> {}

/// Components' segments placed in a memory map, in fixed-capacity tables of `N` segments and
/// `N` components.
#[derive(Clone, Debug)]
pub struct Layout<'a, const N: usize> {
    map: &'a MemoryMap,
    guard: ByteSize,
    components: heapless::Vec<&'a str, N>,
    windows: heapless::Vec<Window, MAX_WINDOWS>,
    /// Sorted by (region, start).
    segments: heapless::Vec<Segment<'a>, N>,
    /// Each segment's (region, start, end), in the same order: the checker's binary search
    /// reads these 24 bytes an entry instead of whole segments.
    bounds: heapless::Vec<Bound, N>,
    /// The CPU views of the regions that have windows: the checker's fast path.
    views: heapless::Vec<ViewEntry, MAX_VIEWS>,
}

/// A segment's region, start and end, for the checker's search.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Bound {
    pub(crate) region: u8,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// The most CPU views the checker's fast path keeps (of regions with windows).
const MAX_VIEWS: usize = 16;

/// A CPU view of a region with a window, for the checker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ViewEntry {
    /// The CPU address of the region's first byte in this view.
    pub(crate) base: u64,
    /// The region's size.
    pub(crate) size: u64,
    /// The region's index.
    pub(crate) region: u8,
    /// The region's start in its own address space.
    pub(crate) region_start: u64,
}

impl<'a, const N: usize> Layout<'a, N> {
    /// An empty layout of `map` whose neighbouring segments are at least `guard` apart.
    pub const fn new(map: &'a MemoryMap, guard: ByteSize) -> Self {
        Self {
            map,
            guard,
            components: heapless::Vec::new(),
            windows: heapless::Vec::new(),
            segments: heapless::Vec::new(),
            bounds: heapless::Vec::new(),
            views: heapless::Vec::new(),
        }
    }

    /// The CPU views the checker tries first.
    pub(crate) fn fast_views(&self) -> &[ViewEntry] {
        &self.views
    }

    /// The map.
    pub const fn map(&self) -> &'a MemoryMap {
        self.map
    }

    /// The guard gap between neighbouring segments.
    pub const fn guard(&self) -> ByteSize {
        self.guard
    }

    /// The windows, in the order they were added.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The placed segments, sorted by region and address.
    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// The components, indexed by [`ComponentId`].
    pub fn components(&self) -> &[&'a str] {
        &self.components
    }

    /// The region of a segment or window.
    pub fn region(&self, index: u8) -> &'a Region {
        // Indices come from `region_index` of this map, so they are in range.
        &self.map.regions[usize::from(index)]
    }

    /// The name of `component` (`"?"` for an id of another layout).
    pub fn component_name(&self, component: ComponentId) -> &'a str {
        self.components.get(usize::from(component.0)).copied().unwrap_or("?")
    }

    /// The component called `name`.
    pub fn component(&self, name: &str) -> Option<ComponentId> {
        // The table holds at most N <= u16::MAX entries (checked in `add_component`).
        self.components.iter().position(|c| *c == name).map(|i| ComponentId(i as u16))
    }

    /// The component called `name`, added if it is new.
    pub fn add_component(&mut self, name: &'a str) -> Result<ComponentId, LayoutError<'a>> {
        if let Some(id) = self.component(name) {
            return Ok(id);
        }
        let id = u16::try_from(self.components.len())
            .map_err(|_| LayoutError::Full { table: "components", capacity: N })?;
        self.components.push(name).map_err(|_| LayoutError::Full { table: "components", capacity: N })?;
        Ok(ComponentId(id))
    }

    /// Adds a window: `span` of the region called `region`, in the region's own address space. It
    /// must lie inside the region, clear of its reserved parts and of the other windows.
    pub fn add_window(&mut self, region: &'a str, span: Span) -> Result<usize, LayoutError<'a>> {
        let index = self.map.region_index(region).ok_or(LayoutError::UnknownRegion(region))?;
        let r = &self.map.regions[index];
        let bad = |why| LayoutError::BadWindow { region: r.name, span, why };
        if span.size() == ByteSize::ZERO {
            return Err(bad("it is empty"));
        }
        if !r.span.contains_span(span) {
            return Err(bad("it lies outside the region"));
        }
        if let Some(res) = r.reserved.iter().find(|res| res.span.overlaps(span)) {
            let _ = res;
            return Err(bad("it overlaps a part of the region reserved for someone else"));
        }
        // Regions are few (a map is a short constant list).
        let region = index as u8;
        if self.windows.iter().any(|w| w.region == region && w.span.overlaps(span)) {
            return Err(bad("it overlaps another window"));
        }
        self.windows
            .push(Window { region, span })
            .map_err(|_| LayoutError::Full { table: "windows", capacity: MAX_WINDOWS })?;
        if !self.views.iter().any(|v| v.region == region) {
            for v in r.views {
                // A full table only costs speed: the checker falls back to the map.
                let _ = self.views.push(ViewEntry {
                    base: v.base.get(),
                    size: r.size().get(),
                    region,
                    region_start: r.span.start().get(),
                });
            }
        }
        Ok(self.windows.len() - 1)
    }

    /// Adds a window of `size` at the top of the largest free part of the region called
    /// `region`, its start aligned down to the map's default segment alignment. Programs load at
    /// the bottom of free RAM, so the top is where a plan's segments stay out of their way.
    pub fn add_window_at_top(&mut self, region: &'a str, size: ByteSize) -> Result<usize, LayoutError<'a>> {
        let index = self.map.region_index(region).ok_or(LayoutError::UnknownRegion(region))?;
        let r = &self.map.regions[index];
        let free = r.largest_free_span().ok_or(LayoutError::BadWindow {
            region: r.name,
            span: Span::at(r.span.start().get(), size),
            why: "the region has no free part",
        })?;
        let align = self.map.alignments.segment_default().get();
        let start = free.end().get().checked_sub(size.get()).map(|s| s & !(align - 1));
        match start {
            Some(start) if start >= free.start().get() => self.add_window(region, Span::at(start, size)),
            _ => Err(LayoutError::BadWindow {
                region: r.name,
                span: Span::at(free.start().get(), size),
                why: "it is larger than the region's largest free part",
            }),
        }
    }

    /// The window of `region` that holds `span`.
    pub fn window_of(&self, region: u8, span: Span) -> Option<usize> {
        self.windows.iter().position(|w| w.region == region && w.span.contains_span(span))
    }

    /// The segment called `name`.
    pub fn segment(&self, name: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.name == name)
    }

    /// The first CPU address of a segment: through its region's first view that user code may
    /// use (a cached one if there is one), or `None` for a region the CPU cannot address.
    pub fn cpu_address(&self, segment: &Segment<'_>) -> Option<Address> {
        self.cpu_address_in(segment.region, segment.span.start())
    }

    /// The CPU address of `address` of the region with index `region` (as
    /// [`cpu_address`](Self::cpu_address) chooses the view), or `None` where the CPU cannot
    /// address it.
    pub fn cpu_address_in(&self, region: u8, address: Address) -> Option<Address> {
        let region = self.map.regions.get(usize::from(region))?;
        let view = region
            .views
            .iter()
            .filter(|v| !v.privileged)
            .max_by_key(|v| v.cached)
            .or_else(|| region.views.first())?;
        let offset = address.offset_from(region.span.start())?;
        view.base.checked_add(offset)
    }

    /// Inserts a segment at a place already decided, keeping the table sorted. Refused if its
    /// name is taken, if it lies outside every window of its region, or if it overlaps a
    /// segment or comes nearer to one than the guard size (for a masked segment, its
    /// [`reach`](Segment::reach) counts).
    pub fn insert(&mut self, segment: Segment<'a>) -> Result<usize, LayoutError<'a>> {
        if self.segment(segment.name).is_some() {
            return Err(LayoutError::DuplicateSegment(segment.name));
        }
        if self.window_of(segment.region, segment.reach()).is_none() {
            return Err(LayoutError::OutsideWindows(segment.name));
        }
        let at = self.position(segment.region, segment.span.start());
        let guard = self.guard.get();
        let neighbours = [at.checked_sub(1), Some(at)];
        for other in neighbours.into_iter().flatten().filter_map(|i| self.segments.get(i)) {
            if other.region != segment.region {
                continue;
            }
            let (lo, hi) =
                if other.span.start() < segment.span.start() { (other, &segment) } else { (&segment, other) };
            let apart = hi.span.start().get().checked_sub(lo.reach().end().get());
            // Overlaps are refused everywhere; the guard gap separates segments of one window
            // (windows are separate budgets: what lies between them is not the layout's).
            let near = self.same_window(lo, hi) && apart.is_some_and(|gap| gap < guard);
            if apart.is_none() || near {
                return Err(LayoutError::Collides { segment: segment.name, with: other.name });
            }
        }
        self.insert_at(at, segment)
    }

    /// Inserts `segment` at `at` with no check but capacity: for [`validate`] to find what is
    /// wrong with a table read from elsewhere. The table stays sorted.
    pub fn insert_unchecked(&mut self, segment: Segment<'a>) -> Result<usize, LayoutError<'a>> {
        let at = self.position(segment.region, segment.span.start());
        self.insert_at(at, segment)
    }

    fn insert_at(&mut self, at: usize, segment: Segment<'a>) -> Result<usize, LayoutError<'a>> {
        let bound = Bound {
            region: segment.region,
            start: segment.span.start().get(),
            end: segment.span.end().get(),
        };
        self.segments
            .insert(at, segment)
            .map_err(|_| LayoutError::Full { table: "segments", capacity: N })?;
        // Same capacity as `segments`, which just took the segment.
        let _ = self.bounds.insert(at, bound);
        Ok(at)
    }

    /// Removes the segment called `name`, returning it.
    pub fn remove(&mut self, name: &str) -> Option<Segment<'a>> {
        let at = self.segments.iter().position(|s| s.name == name)?;
        self.bounds.remove(at);
        Some(self.segments.remove(at))
    }

    /// The segments' (region, start, end), in table order.
    pub(crate) fn bounds(&self) -> &[Bound] {
        &self.bounds
    }

    /// Where a segment starting at `start` in `region` goes in the sorted table.
    fn position(&self, region: u8, start: Address) -> usize {
        self.segments.partition_point(|s| (s.region, s.span.start()) < (region, start))
    }

    /// The index of the last segment of `region` that starts at or before `addr`.
    pub(crate) fn at_or_before(&self, region: u8, addr: Address) -> Option<usize> {
        let addr = addr.get();
        let after = self.bounds.partition_point(|b| (b.region, b.start) <= (region, addr));
        after.checked_sub(1).filter(|&i| self.bounds[i].region == region)
    }

    /// Whether two segments lie in the same window (and so are neighbours that a guard gap
    /// separates, when nothing lies between them).
    pub fn same_window(&self, a: &Segment<'_>, b: &Segment<'_>) -> bool {
        a.region == b.region && {
            let w = self.window_of(a.region, a.span);
            w.is_some() && w == self.window_of(b.region, b.span)
        }
    }

    /// The guard gaps: for each pair of neighbouring segments of a window, the `guard` bytes
    /// after the first (after its tail, for a masked one) and the `guard` bytes before the second (one gap when they are nearer
    /// than twice the guard size; alignment padding between the two is free space). Segments
    /// of two windows are never neighbours: what lies between windows is not the layout's.
    pub fn guards(&self) -> impl Iterator<Item = Guard> + '_ {
        let g = self.guard.get();
        self.segments
            .windows(2)
            .enumerate()
            .filter(move |(_, w)| g > 0 && self.same_window(&w[0], &w[1]))
            .flat_map(move |(i, w)| {
                // After a masked segment, the gap starts past its tail.
                let (end, next) = (w[0].reach().end().get(), w[1].span.start().get());
                let gap = next.saturating_sub(end);
                let mk = |start: u64, size: u64| Guard {
                    region: w[0].region,
                    span: Span::at(start, ByteSize::bytes(size)),
                    after: i,
                    before: i + 1,
                };
                if gap <= 2 * g {
                    [Some(mk(end, gap)), None]
                } else {
                    [Some(mk(end, g)), Some(mk(next - g, g))]
                }
            })
            .flatten()
            .filter(|g| g.span.size() != ByteSize::ZERO)
    }

    /// Builds a segment for `request` at `start` in `region` (no check: [`insert`](Self::insert)
    /// checks), adding its components.
    pub(crate) fn segment_for(
        &mut self,
        request: &SegmentRequest<'a>,
        region: u8,
        start: u64,
        size: ByteSize,
        align: Alignment,
    ) -> Result<Segment<'a>, LayoutError<'a>> {
        let mut access = AccessList::EMPTY;
        if let Some(owner) = request.owner {
            let id = self.add_component(owner)?;
            access.push(id, request.permissions);
            access.owned = true;
        }
        for s in request.sharers {
            let id = self.add_component(s.component)?;
            if !access.push(id, s.permissions) {
                return Err(LayoutError::Full { table: "access list", capacity: MAX_SHARERS });
            }
        }
        Ok(Segment {
            name: request.name,
            region,
            span: Span::at(start, size),
            requested: request.size,
            align,
            flags: request.flags,
            access,
        })
    }

    /// Whether `region` may hold a segment with these flags and permissions, and if not, why.
    pub fn region_refuses(
        &self,
        region: &Region,
        flags: SegmentFlags,
        permissions: Permissions,
    ) -> Option<&'static str> {
        let a = region.attributes;
        if flags.contains(SegmentFlags::VIDEO) && region.kind != RegionKind::Video {
            return Some("a video segment needs a video region");
        }
        if flags.contains(SegmentFlags::AUDIO) && region.kind != RegionKind::Audio {
            return Some("an audio segment needs a sound region");
        }
        if flags.contains(SegmentFlags::DMA) && !a.dma {
            return Some("a DMA segment needs a DMA-capable region");
        }
        if !a.cpu_addressable && !flags.contains(SegmentFlags::DMA) {
            return Some("the CPU cannot address the region (mark the segment `dma`)");
        }
        if a.volatile || matches!(region.kind, RegionKind::Io | RegionKind::Rom) {
            return Some("segments go in RAM, not in registers or ROM");
        }
        if !a.permissions.contains(permissions) {
            return Some("the region does not allow the segment's permissions");
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;
    use super::*;
    use crate::map::{Reserved, View};

    pub(crate) const RAM: Region = Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(2))
        .with_views(&[View::cached("kseg0", 0x8000_0000), View::uncached("kseg1", 0xa000_0000)])
        .with_reserved(&[Reserved { owner: "bios", span: Span::at(0, ByteSize::kib(64)) }]);
    pub(crate) const VRAM: Region = Region::device("vram", RegionKind::Video, "gpu", ByteSize::mib(1));
    pub(crate) const MAP: MemoryMap = MemoryMap::new("toy", &[RAM, VRAM]);

    fn seg(name: &'static str, start: u64, size: u64) -> Segment<'static> {
        Segment {
            name,
            region: 0,
            span: Span::at(start, ByteSize::bytes(size)),
            requested: ByteSize::bytes(size),
            align: Alignment::BYTE,
            flags: SegmentFlags::NONE,
            access: AccessList::EMPTY,
        }
    }

    #[test]
    fn windows_stay_clear_of_reserved_parts_and_each_other() {
        let mut l: Layout<'_, 4> = Layout::new(&MAP, ByteSize::kib(4));
        assert!(matches!(
            l.add_window("ram", Span::at(0x8000, ByteSize::kib(64))),
            Err(LayoutError::BadWindow { .. })
        ));
        assert!(matches!(
            l.add_window("rom", Span::at(0, ByteSize::kib(4))),
            Err(LayoutError::UnknownRegion("rom"))
        ));
        assert_eq!(l.add_window("ram", Span::at(0x10000, ByteSize::kib(64))), Ok(0));
        assert!(l.add_window("ram", Span::at(0x18000, ByteSize::kib(64))).is_err());
        assert_eq!(l.add_window_at_top("ram", ByteSize::kib(512)), Ok(1));
        assert_eq!(l.windows()[1].span, Span::at(0x18_0000, ByteSize::kib(512)));
        assert!(l.add_window_at_top("ram", ByteSize::mib(4)).is_err());
    }

    #[test]
    fn inserts_keep_order_and_guards() {
        let mut l: Layout<'_, 4> = Layout::new(&MAP, ByteSize::bytes(0x100));
        l.add_window("ram", Span::at(0x10000, ByteSize::kib(64))).unwrap();
        assert_eq!(l.insert(seg("b", 0x12000, 0x1000)), Ok(0));
        assert_eq!(l.insert(seg("a", 0x10000, 0x1000)), Ok(0));
        assert_eq!(l.insert(seg("c", 0x13080, 0x10)), Err(LayoutError::Collides { segment: "c", with: "b" }));
        assert_eq!(
            l.insert(seg("c", 0x1_0f00, 0x10)),
            Err(LayoutError::Collides { segment: "c", with: "a" })
        );
        assert_eq!(l.insert(seg("a", 0x15000, 0x10)), Err(LayoutError::DuplicateSegment("a")));
        assert_eq!(l.insert(seg("far", 0x30000, 0x10)), Err(LayoutError::OutsideWindows("far")));
        assert_eq!(l.insert(seg("c", 0x13100, 0x10)), Ok(2));
        let guards: std::vec::Vec<_> = l.guards().map(|g| (g.span, g.after, g.before)).collect();
        assert_eq!(
            guards,
            [
                (Span::at(0x11000, ByteSize::bytes(0x100)), 0, 1),
                (Span::at(0x11f00, ByteSize::bytes(0x100)), 0, 1),
                (Span::at(0x13000, ByteSize::bytes(0x100)), 1, 2),
            ]
        );
        assert_eq!(l.remove("b").map(|s| s.name), Some("b"));
        assert_eq!(l.segments().iter().map(|s| s.name).collect::<std::vec::Vec<_>>(), ["a", "c"]);
    }
}

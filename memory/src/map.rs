//! A console's memory map as data.
//!
//! A [`MemoryMap`] is a list of [`Region`]s. Each region is one piece of memory (main RAM, VRAM,
//! sound RAM, a scratchpad, an I/O block, a ROM) with:
//!
//! - the [`AddressSpace`] its span is measured in: the physical bus, or the private space of a
//!   device the CPU reaches only by DMA (the PlayStation's VRAM behind its GPU, for example);
//! - its [`Attributes`] (cacheable, DMA-capable, CPU-addressable, volatile);
//! - the CPU [`View`]s through which it appears (a MIPS machine shows the same RAM in its KUSEG,
//!   KSEG0 cached and KSEG1 uncached segments; an SH-4 in P1 and P2);
//! - the [`Reserved`] parts that belong to someone else (the BIOS, a loader, a kernel).
//!
//! Platform crates export their maps as `const` values of these types; [`MemoryMap::validate`]
//! proves a map self-consistent, and the same values drive linker-script checks, the layout
//! planner and the on-console tests.
//!
//! ```
//! use flight_memory::{Address, ByteSize, MemoryMap, Region, RegionKind, View};
//!
//! const RAM: Region = Region::cpu("ram", RegionKind::Main, 0x0, ByteSize::mib(2))
//!     .with_views(&[View::cached("kseg0", 0x8000_0000), View::uncached("kseg1", 0xa000_0000)]);
//! const MAP: MemoryMap = MemoryMap::new("toy", &[RAM]);
//!
//! assert!(MAP.validate().is_ok());
//! let hit = MAP.resolve(Address::new(0xa000_0010)).unwrap();
//! assert_eq!((hit.region.name, hit.view.name, hit.offset.get()), ("ram", "kseg1", 0x10));
//! ```

use core::fmt;

use core::fmt::Write as _;

use crate::units::{Address, Alignment, ByteSize, Span};

/// What a region is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum RegionKind {
    /// General-purpose RAM.
    Main,
    /// Video memory.
    Video,
    /// Sound memory.
    Audio,
    /// Small fast on-chip memory.
    Scratchpad,
    /// Memory-mapped hardware registers.
    Io,
    /// Read-only memory (BIOS, firmware).
    Rom,
}

impl RegionKind {
    /// A short lowercase name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Scratchpad => "scratchpad",
            Self::Io => "io",
            Self::Rom => "rom",
        }
    }
}

/// The address space a region's span is measured in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum AddressSpace {
    /// The CPU's physical bus.
    Physical,
    /// The private address space of a device (named, such as `"gpu"` or `"spu"`), reached by DMA
    /// or by the device's own commands, never by a CPU load or store.
    Device(&'static str),
}

/// Properties of a region.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Attributes {
    /// The CPU can load and store to it directly.
    pub cpu_addressable: bool,
    /// At least one CPU view goes through a cache.
    pub cacheable: bool,
    /// A DMA controller can transfer to and from it.
    pub dma: bool,
    /// Reads and writes have side effects (hardware registers): never cache, never merge.
    pub volatile: bool,
    /// What the CPU (or, for a device region, a DMA transfer) may do with it: ROM is
    /// read/execute, hardware registers read/write, RAM everything.
    pub permissions: Permissions,
}

/// Read, write and execute rights, of a region or of a segment.
///
/// ```
/// use flight_memory::Permissions;
/// let rw = Permissions::READ.union(Permissions::WRITE);
/// assert!(rw.contains(Permissions::WRITE) && !rw.contains(Permissions::RWX));
/// assert_eq!(format!("{rw} {}", Permissions::RX), "rw- r-x");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// No access.
    pub const NONE: Self = Self(0);
    /// Loads.
    pub const READ: Self = Self(1);
    /// Stores.
    pub const WRITE: Self = Self(2);
    /// Instruction fetches.
    pub const EXECUTE: Self = Self(4);
    /// Read and write.
    pub const RW: Self = Self(3);
    /// Read and execute.
    pub const RX: Self = Self(5);
    /// Everything.
    pub const RWX: Self = Self(7);

    /// Both sets of rights.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The rights in both.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether every right of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The rights of `self` that `other` lacks.
    pub const fn missing_from(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Whether there is no right at all.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parses `r`, `rw`, `rx`, `rwx`, `r--`, `rw-`, `r-x` and the like; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut p = Self::NONE;
        for c in text.chars() {
            let bit = match c {
                'r' => Self::READ,
                'w' => Self::WRITE,
                'x' => Self::EXECUTE,
                '-' => Self::NONE,
                _ => return None,
            };
            if !bit.is_empty() && p.contains(bit) {
                return None;
            }
            p = p.union(bit);
        }
        (!text.is_empty()).then_some(p)
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::EXECUTE, 'x')];
        for (bit, c) in bits {
            f.write_char(if self.contains(bit) { c } else { '-' })?;
        }
        Ok(())
    }
}

/// The alignments a platform prefers for its data.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Alignments {
    /// A cache line (of the data cache; of the instruction cache on a CPU without one). Data
    /// that a DMA device and the CPU share should own whole lines.
    pub cache_line: Alignment,
    /// What a DMA transfer's address must be a multiple of.
    pub dma: Alignment,
    /// The page of the memory-management unit, on a profile with virtual memory (or an MMU the
    /// console has but programs leave off); `None` where there is no MMU at all.
    pub page: Option<Alignment>,
}

impl Alignments {
    /// The alignment the planner gives a segment that asks for none: a page where there are
    /// pages, otherwise a cache line.
    pub const fn segment_default(&self) -> Alignment {
        match self.page {
            Some(p) => p,
            None => self.cache_line,
        }
    }
}

/// One window through which the CPU sees a region.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct View {
    /// The name developers use for it (`"kseg0"`, `"p2"`).
    pub name: &'static str,
    /// The CPU address of the region's first byte in this view.
    pub base: Address,
    /// Whether accesses through this view go through the cache.
    pub cached: bool,
    /// Whether only privileged (kernel-mode) code may use this view; user programs fault.
    pub privileged: bool,
}

impl View {
    /// A cached view at `base`.
    pub const fn cached(name: &'static str, base: u64) -> Self {
        Self { name, base: Address::new(base), cached: true, privileged: false }
    }

    /// An uncached view at `base`.
    pub const fn uncached(name: &'static str, base: u64) -> Self {
        Self { name, base: Address::new(base), cached: false, privileged: false }
    }

    /// The same view, usable by privileged (kernel-mode) code only.
    pub const fn privileged(mut self) -> Self {
        self.privileged = true;
        self
    }
}

/// A part of a region that belongs to someone else (a BIOS, a loader, a kernel).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Reserved {
    /// Who owns it.
    pub owner: &'static str,
    /// Where, in the region's own address space.
    pub span: Span,
}

/// One piece of memory of a console.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Region {
    /// The name developers use for it.
    pub name: &'static str,
    /// What it is for.
    pub kind: RegionKind,
    /// The address space `span` is measured in.
    pub space: AddressSpace,
    /// Where it is in `space`.
    pub span: Span,
    /// Its properties.
    pub attributes: Attributes,
    /// The CPU views through which it appears (none if the CPU cannot address it).
    pub views: &'static [View],
    /// The parts owned by someone else.
    pub reserved: &'static [Reserved],
}

impl Region {
    /// A CPU-addressable, writable, DMA-capable region of RAM on the physical bus, with no views
    /// yet. Adjust it with the `with_*` builders.
    pub const fn cpu(name: &'static str, kind: RegionKind, start: u64, size: ByteSize) -> Self {
        Self {
            name,
            kind,
            space: AddressSpace::Physical,
            span: Span::at(start, size),
            attributes: Attributes {
                cpu_addressable: true,
                cacheable: false,
                dma: true,
                volatile: false,
                permissions: Permissions::RWX,
            },
            views: &[],
            reserved: &[],
        }
    }

    /// A region in a device's private address space: not CPU-addressable, reached by DMA.
    pub const fn device(name: &'static str, kind: RegionKind, device: &'static str, size: ByteSize) -> Self {
        let mut r = Self::cpu(name, kind, 0, size);
        r.space = AddressSpace::Device(device);
        r.attributes.cpu_addressable = false;
        r.attributes.permissions = Permissions::RW;
        r
    }

    /// The same region with these views; `cacheable` follows from them.
    pub const fn with_views(mut self, views: &'static [View]) -> Self {
        self.views = views;
        let mut cacheable = false;
        let mut i = 0;
        while i < views.len() {
            cacheable |= views[i].cached;
            i += 1;
        }
        self.attributes.cacheable = cacheable;
        self
    }

    /// The same region with these reserved parts.
    pub const fn with_reserved(mut self, reserved: &'static [Reserved]) -> Self {
        self.reserved = reserved;
        self
    }

    /// The same region marked as hardware registers: volatile, not DMA-capable.
    pub const fn registers(mut self) -> Self {
        self.attributes.volatile = true;
        self.attributes.dma = false;
        self.attributes.permissions = Permissions::RW;
        self
    }

    /// The same region marked as out of reach of every DMA controller.
    pub const fn without_dma(mut self) -> Self {
        self.attributes.dma = false;
        self
    }

    /// The same region marked read-only (read and execute) and not DMA-capable.
    pub const fn read_only(mut self) -> Self {
        self.attributes.permissions = Permissions::RX;
        self.attributes.dma = false;
        self
    }

    /// The region's size.
    pub const fn size(&self) -> ByteSize {
        self.span.size()
    }

    /// The view called `name`.
    pub fn view(&self, name: &str) -> Option<&View> {
        self.views.iter().find(|v| v.name == name)
    }

    /// The CPU address range of the region in `view`.
    pub fn view_span(&self, view: &View) -> Option<Span> {
        Span::new(view.base, self.span.size())
    }

    /// The CPU address of byte `offset` of the region through the view called `view`.
    pub fn address(&self, view: &str, offset: ByteSize) -> Option<Address> {
        if offset >= self.size() {
            return None;
        }
        self.view(view)?.base.checked_add(offset)
    }

    /// The largest part of the region that nobody has reserved, in the region's own space (the
    /// lowest of equal parts).
    pub fn largest_free_span(&self) -> Option<Span> {
        // Walk the region from its start; at each step, jump past any reservation that covers
        // the cursor, otherwise measure the gap up to the nearest reservation ahead.
        let end = self.span.end();
        let mut cursor = self.span.start();
        let mut best: Option<Span> = None;
        while cursor < end {
            if let Some(r) = self.reserved.iter().find(|r| r.span.contains(cursor)) {
                cursor = r.span.end();
                continue;
            }
            let next = self
                .reserved
                .iter()
                .map(|r| r.span.start())
                .filter(|&s| s > cursor && s < end)
                .min()
                .unwrap_or(end);
            let gap = Span::new(cursor, next.offset_from(cursor)?)?;
            if best.is_none_or(|b| gap.size() > b.size()) {
                best = Some(gap);
            }
            cursor = next;
        }
        best
    }
}

/// Where a CPU address lands in a map.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Resolved<'a> {
    /// The region hit.
    pub region: &'a Region,
    /// The view the address belongs to.
    pub view: &'a View,
    /// The offset from the region's first byte.
    pub offset: ByteSize,
}

/// Why a map is inconsistent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum MapError {
    /// A region has size zero.
    EmptyRegion {
        /// The region.
        region: &'static str,
    },
    /// Two regions in the same address space overlap.
    RegionsOverlap {
        /// The first region.
        first: &'static str,
        /// The second region.
        second: &'static str,
    },
    /// Two CPU views, of the same region or of two, overlap.
    ViewsOverlap {
        /// `region/view` of the first.
        first: (&'static str, &'static str),
        /// `region/view` of the second.
        second: (&'static str, &'static str),
    },
    /// A view runs past the end of the address space.
    ViewWraps {
        /// The region.
        region: &'static str,
        /// The view.
        view: &'static str,
    },
    /// A CPU-addressable region has no view, or a device region has one.
    ViewsDisagreeWithAccess {
        /// The region.
        region: &'static str,
    },
    /// A reservation lies partly or wholly OUTSIDE its region.
    ReservedOutside {
        /// The region.
        region: &'static str,
        /// The reservation's owner.
        owner: &'static str,
    },
    /// Two regions share a name.
    DuplicateName {
        /// The name.
        region: &'static str,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EmptyRegion { region } => write!(f, "region `{region}` has size zero"),
            Self::RegionsOverlap { first, second } => {
                write!(f, "regions `{first}` and `{second}` overlap in the same address space")
            }
            Self::ViewsOverlap { first, second } => write!(
                f,
                "view `{}/{}` overlaps view `{}/{}` in the CPU address space",
                first.0, first.1, second.0, second.1
            ),
            Self::ViewWraps { region, view } => {
                write!(f, "view `{region}/{view}` runs past the end of the address space")
            }
            Self::ViewsDisagreeWithAccess { region } => write!(
                f,
                "region `{region}`: a CPU-addressable region needs at least one view, a device region none"
            ),
            Self::ReservedOutside { region, owner } => {
                write!(f, "region `{region}`: the part reserved for `{owner}` lies OUTSIDE it")
            }
            Self::DuplicateName { region } => write!(f, "two regions are called `{region}`"),
        }
    }
}

impl core::error::Error for MapError {}

/// A console's memory map.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct MemoryMap {
    /// The console or board name (`"psx"`).
    pub name: &'static str,
    /// Its regions.
    pub regions: &'static [Region],
    /// The alignments its CPU and DMA controllers prefer.
    pub alignments: Alignments,
    /// Whether programs run in virtual memory (a desktop or phone operating system): then the
    /// regions are parts of a process's address space, not of a bus.
    pub virtual_memory: bool,
}

/// The alignments a map has until told otherwise: 16-byte cache lines, word-aligned DMA, no MMU.
const DEFAULT_ALIGNMENTS: Alignments =
    Alignments { cache_line: Alignment::of(16), dma: Alignment::of(4), page: None };

impl MemoryMap {
    /// A map called `name` made of `regions`, with 16-byte cache lines, word-aligned DMA and no
    /// MMU until [`with_alignments`](Self::with_alignments) says otherwise.
    pub const fn new(name: &'static str, regions: &'static [Region]) -> Self {
        Self { name, regions, alignments: DEFAULT_ALIGNMENTS, virtual_memory: false }
    }

    /// The same map with these preferred alignments.
    pub const fn with_alignments(mut self, alignments: Alignments) -> Self {
        self.alignments = alignments;
        self
    }

    /// The same map, as the address space of a process under an operating system with virtual
    /// memory.
    pub const fn with_virtual_memory(mut self) -> Self {
        self.virtual_memory = true;
        self
    }

    /// The index of the region called `name` in [`regions`](Self::regions).
    pub fn region_index(&self, name: &str) -> Option<usize> {
        self.regions.iter().position(|r| r.name == name)
    }

    /// The region called `name`.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// The regions of one kind.
    pub fn regions_of(&self, kind: RegionKind) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(move |r| r.kind == kind)
    }

    /// Every (region, view) pair.
    pub(crate) fn views(&self) -> impl Iterator<Item = (&Region, &View)> {
        self.regions.iter().flat_map(|r| r.views.iter().map(move |v| (r, v)))
    }

    /// The region, view and offset a CPU address falls in, if any.
    pub fn resolve(&self, addr: Address) -> Option<Resolved<'_>> {
        self.views().find_map(|(region, view)| {
            let span = region.view_span(view)?;
            span.contains(addr).then(|| Resolved {
                region,
                view,
                offset: addr.offset_from(view.base).unwrap_or(ByteSize::ZERO),
            })
        })
    }

    /// Checks that the map is self-consistent: no EMPTY regions, no duplicate names, no overlap
    /// between regions of one address space or between any two CPU views, every view inside the
    /// address space, views exactly on CPU-addressable regions, reservations inside their region.
    pub fn validate(&self) -> Result<(), MapError> {
        for (i, r) in self.regions.iter().enumerate() {
            if r.size() == ByteSize::ZERO {
                return Err(MapError::EmptyRegion { region: r.name });
            }
            if r.attributes.cpu_addressable == r.views.is_empty() {
                return Err(MapError::ViewsDisagreeWithAccess { region: r.name });
            }
            for v in r.views {
                if r.view_span(v).is_none() {
                    return Err(MapError::ViewWraps { region: r.name, view: v.name });
                }
            }
            if let Some(res) = r.reserved.iter().find(|res| !r.span.contains_span(res.span)) {
                return Err(MapError::ReservedOutside { region: r.name, owner: res.owner });
            }
            for other in &self.regions[i + 1..] {
                if other.name == r.name {
                    return Err(MapError::DuplicateName { region: r.name });
                }
                if other.space == r.space && other.span.overlaps(r.span) {
                    return Err(MapError::RegionsOverlap { first: r.name, second: other.name });
                }
            }
        }
        for (i, (ra, va)) in self.views().enumerate() {
            for (rb, vb) in self.views().skip(i + 1) {
                // Both spans exist: checked above.
                let (Some(a), Some(b)) = (ra.view_span(va), rb.view_span(vb)) else {
                    continue;
                };
                if a.overlaps(b) {
                    return Err(MapError::ViewsOverlap {
                        first: (ra.name, va.name),
                        second: (rb.name, vb.name),
                    });
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for MemoryMap {
    /// A table: one line per region, one indented line per view and reservation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} memory map", self.name)?;
        for r in self.regions {
            let space = match r.space {
                AddressSpace::Physical => "phys",
                AddressSpace::Device(d) => d,
            };
            write!(
                f,
                "  {:<14} {:<10} {:>8} at {} {}",
                r.name,
                r.kind.name(),
                r.size(),
                space,
                r.span.start()
            )?;
            let a = r.attributes;
            for (on, word) in [
                (a.cpu_addressable, " cpu"),
                (!a.cpu_addressable, " dma-only"),
                (a.dma && a.cpu_addressable, " dma"),
                (a.volatile, " volatile"),
                (!a.permissions.contains(Permissions::WRITE), " read-only"),
            ] {
                if on {
                    f.write_str(word)?;
                }
            }
            writeln!(f)?;
            for v in r.views {
                let privileged = if v.privileged { " privileged" } else { "" };
                let cached = if v.cached { "cached" } else { "uncached" };
                writeln!(f, "    view {:<8} {} {cached}{privileged}", v.name, v.base)?;
            }
            for res in r.reserved {
                writeln!(f, "    reserved for {}: {}", res.owner, res.span)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    const RAM: Region = Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(2))
        .with_views(&[View::cached("kseg0", 0x8000_0000), View::uncached("kseg1", 0xa000_0000)])
        .with_reserved(&[Reserved { owner: "bios", span: Span::at(0, ByteSize::kib(64)) }]);
    const VRAM: Region = Region::device("vram", RegionKind::Video, "gpu", ByteSize::mib(1));

    #[test]
    fn a_good_map_validates_and_resolves() {
        let map = MemoryMap::new("t", &[RAM, VRAM]);
        assert_eq!(map.validate(), Ok(()));
        let hit = map.resolve(Address::new(0x801f_fff0)).unwrap();
        assert_eq!(
            (hit.region.name, hit.view.name, hit.offset),
            ("ram", "kseg0", ByteSize::bytes(0x1f_fff0))
        );
        assert!(map.resolve(Address::new(0x8020_0000)).is_none());
        assert_eq!(RAM.address("kseg1", ByteSize::kib(64)), Some(Address::new(0xa001_0000)));
        assert_eq!(RAM.address("kseg1", ByteSize::mib(2)), None);
        const { assert!(RAM.attributes.cacheable && !VRAM.attributes.cpu_addressable) };
    }

    #[test]
    fn the_largest_free_span_skips_reservations() {
        assert_eq!(RAM.largest_free_span(), Some(Span::at(0x1_0000, ByteSize::kib(1984))));
        const R: Region = RAM.with_reserved(&[
            Reserved { owner: "a", span: Span::at(0x10_0000, ByteSize::kib(4)) },
            Reserved { owner: "b", span: Span::at(0, ByteSize::kib(4)) },
        ]);
        // Two free parts of 1020 KiB each: the lower one is reported.
        assert_eq!(R.largest_free_span(), Some(Span::at(0x1000, ByteSize::kib(1020))));
    }

    #[test]
    fn each_inconsistency_is_named() {
        const OVERLAPPING: Region = Region::cpu("ram2", RegionKind::Main, 0x10_0000, ByteSize::mib(2))
            .with_views(&[View::cached("x", 0x1000_0000)]);
        assert_eq!(
            MemoryMap::new("t", &[RAM, OVERLAPPING]).validate(),
            Err(MapError::RegionsOverlap { first: "ram", second: "ram2" })
        );
        const VIEW_CLASH: Region = Region::cpu("io", RegionKind::Io, 0x1000_0000, ByteSize::kib(4))
            .with_views(&[View::uncached("kseg1", 0xa010_0000)]);
        assert_eq!(
            MemoryMap::new("t", &[RAM, VIEW_CLASH]).validate(),
            Err(MapError::ViewsOverlap { first: ("ram", "kseg1"), second: ("io", "kseg1") })
        );
        const NO_VIEWS: Region = Region::cpu("bare", RegionKind::Main, 0x1000_0000, ByteSize::kib(4));
        assert_eq!(
            MemoryMap::new("t", &[NO_VIEWS]).validate(),
            Err(MapError::ViewsDisagreeWithAccess { region: "bare" })
        );
        const OUTSIDE: Region =
            RAM.with_reserved(&[Reserved { owner: "bios", span: Span::at(0x1f_ffff, ByteSize::bytes(2)) }]);
        let err = MemoryMap::new("t", &[OUTSIDE]).validate().unwrap_err();
        assert_eq!(err.to_string(), "region `ram`: the part reserved for `bios` lies OUTSIDE it");
        const WRAPS: Region = Region::cpu("top", RegionKind::Main, 0x1000_0000, ByteSize::mib(1))
            .with_views(&[View::cached("hi", u64::MAX - 10)]);
        assert_eq!(
            MemoryMap::new("t", &[WRAPS]).validate(),
            Err(MapError::ViewWraps { region: "top", view: "hi" })
        );
        assert_eq!(
            MemoryMap::new("t", &[VRAM, VRAM]).validate(),
            Err(MapError::DuplicateName { region: "vram" })
        );
        const EMPTY: Region = Region::device("nothing", RegionKind::Audio, "spu", ByteSize::ZERO);
        assert_eq!(
            MemoryMap::new("t", &[EMPTY]).validate(),
            Err(MapError::EmptyRegion { region: "nothing" })
        );
    }

    #[test]
    fn the_map_prints_as_a_table() {
        let text = MemoryMap::new("t", &[RAM, VRAM]).to_string();
        assert!(text.contains("ram            main          2 MiB at phys 0x0000_0000 cpu dma"), "{text}");
        assert!(text.contains("view kseg1    0xa000_0000 uncached"), "{text}");
        assert!(text.contains("reserved for bios: 0x0000_0000..0x0001_0000 (64 KiB)"), "{text}");
        assert!(text.contains("vram           video         1 MiB at gpu 0x0000_0000 dma-only"), "{text}");
    }
}

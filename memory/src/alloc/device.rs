//! The device heap: a general allocator for memory the CPU cannot address, such as the
//! PlayStation's sound RAM (512 KiB in the SPU's own space) or the Dreamcast's sound RAM
//! (2 MiB at `0x0080_0000` in the AICA's space).
//!
//! It hands out device [`Span`]s, never CPU pointers, and keeps all of its metadata in CPU RAM:
//! a table of `N` extents inside the [`DeviceHeap`] value itself, sorted by address, that tiles
//! the managed span with free and used extents. No byte of device memory is ever read or
//! written, so the heap works as well for memory behind a DMA engine as for memory the CPU
//! should not keep metadata in (the PSP's VRAM).
//!
//! ```text
//!  device memory (never touched)                     table in CPU RAM, sorted by address
//!  +--------+--------------+------+--------------+   [0] 0x0000..0x1000 used
//!  |  used  |     free     | used |     free     |   [1] 0x1000..0x3800 free
//!  +--------+--------------+------+--------------+   [2] 0x3800..0x4000 used
//!  0x0000   0x1000         0x3800 0x4000   0x8_0000   [3] 0x4000..0x8_0000 free
//! ```
//!
//! - **Fit**: best fit: the smallest free extent that holds the request at its alignment (the
//!   lowest of equal ones), which keeps large extents whole for large requests. O(N).
//! - **Alignment**: any power of two, of the device address itself. Sizes and alignments are
//!   rounded up to the heap's granule ([`DeviceHeap::with_granule`]: 8 bytes for the SPU,
//!   whose transfer addresses count in 8-byte units).
//! - **Splitting**: the alignment padding before a block and the remainder after it become
//!   free extents of their own, one table entry each. When the table has no entry left for
//!   the padding, the padding (always smaller than the alignment) is kept inside the block until
//!   it is freed; when it has no entry left for the remainder, only an exact fit can be served,
//!   and a request that needed a split fails with [`AllocError::Unsupported`] saying the table
//!   is full (free a block, or give the heap a larger `N`). A table of `2 * blocks + 1` entries
//!   never fills.
//! - **Freeing**: O(N); a freed extent merges with free neighbours at once, so freeing every
//!   block gives back the whole span as one extent. A span that is not a live block is refused
//!   in every build: [`FreeError::DoubleFree`] if it lies in free space, [`FreeError::Foreign`]
//!   otherwise.
//!
//! A failed request leaves the heap as it was (only [`Stats::failures`] counts it).
//!
//! ```
//! use core::alloc::Layout;
//! use flight_memory::alloc::DeviceHeap;
//! use flight_memory::{Alignment, ByteSize, Span};
//!
//! // PlayStation sound RAM past the CD and voice capture buffers (the first 4 KiB).
//! let mut spu: DeviceHeap<32> =
//!     DeviceHeap::with_granule(Span::at(0x1000, ByteSize::kib(508)), Alignment::new(8).unwrap());
//! let sample = spu.allocate(Layout::from_size_align(3000, 16).unwrap()).unwrap();
//! assert_eq!((sample.start().get(), sample.size().get()), (0x1000, 3000));
//! assert_eq!(spu.stats().used, 3000);
//! spu.free(sample).unwrap();
//! assert!(spu.free(sample).is_err(), "the table knows it is free already");
//! assert_eq!(spu.largest_free(), 508 * 1024);
//! ```

use core::alloc::Layout;

use super::{AllocError, FreeError, Stats};
use crate::units::{Address, Alignment, ByteSize, Span};

/// Why a request that would fit was refused: the table has no entry left for a split.
pub const TABLE_FULL: &str = "the allocator's table is full: free a block or give the allocator a larger N";

/// One extent of the managed span: free, or one live block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Extent {
    /// First device address covered.
    start: u64,
    /// One past the last device address covered.
    end: u64,
    /// For a used extent, how far the handed-out block starts past `start` (alignment padding
    /// kept inside the block because the table had no entry for it).
    pad: u64,
    /// For a used extent, the size the caller asked for.
    requested: usize,
    /// Whether the extent is a live block.
    used: bool,
}

impl Extent {
    /// A free extent `[start, end)`.
    const fn free(start: u64, end: u64) -> Self {
        Self { start, end, pad: 0, requested: 0, used: false }
    }

    /// The size in bytes.
    const fn size(&self) -> u64 {
        self.end - self.start
    }

    /// The span handed out for a used extent (or the whole extent for a free one).
    fn block(&self) -> Span {
        span(self.start + self.pad, self.end)
    }
}

/// The span `[start, end)`; callers guarantee `start <= end`, so it never wraps.
fn span(start: u64, end: u64) -> Span {
    let size = ByteSize::bytes(end.saturating_sub(start));
    Span::new(Address::new(start), size).unwrap_or(Span::at(start, ByteSize::ZERO))
}

/// Where a request goes: found by [`DeviceHeap::find`], applied by [`DeviceHeap::commit`].
#[derive(Clone, Copy, Debug)]
struct Fit {
    /// The free extent to carve.
    index: usize,
    /// The device address handed out.
    addr: u64,
    /// One past the block's last byte.
    end: u64,
    /// Whether the padding before `addr` becomes a free extent (otherwise the block keeps it).
    split_pad: bool,
    /// Whether the remainder after `end` becomes a free extent (otherwise there is none).
    split_tail: bool,
}

/// A best-fit allocator over a span of device memory, with its extent table (`N` entries,
/// at least one) inside the value: `const fn` construction lets it live in a `static`.
#[derive(Debug)]
pub struct DeviceHeap<const N: usize> {
    /// The managed span (the given one trimmed to the granule).
    span: Span,
    /// Every block's start and size is a multiple of this (a power of two).
    granule: u64,
    /// The extents, sorted by address, tiling `span`; `table[..len]` are in use.
    table: [Extent; N],
    len: usize,
    stats: Stats,
}

impl<const N: usize> DeviceHeap<N> {
    /// A heap over `span` (device addresses), byte-granular.
    pub const fn new(span: Span) -> Self {
        Self::with_granule(span, Alignment::BYTE)
    }

    /// A heap over `span` whose blocks all start and end on multiples of `granule`: the span is
    /// trimmed inwards to the granule, every size is rounded up to it and every alignment is at
    /// least it. A span longer than `usize::MAX` bytes (only possible on a 32-bit host) is cut
    /// to what [`Stats`] can count.
    pub const fn with_granule(span: Span, granule: Alignment) -> Self {
        const { assert!(N > 0, "a DeviceHeap needs at least one table entry") };
        let mask = granule.get() - 1;
        let start = match span.start().align_up(granule) {
            Some(a) => a.get(),
            None => span.end().get(),
        };
        let end = span.end().get() & !mask;
        let mut size = end.saturating_sub(start);
        let countable = (usize::MAX as u64) & !mask;
        if size > countable {
            size = countable;
        }
        let managed = match Span::new(Address::new(start), ByteSize::bytes(size)) {
            Some(s) => s,
            // Unreachable: `start + size <= end`.
            None => Span::at(start, ByteSize::ZERO),
        };
        let mut table = [Extent::free(0, 0); N];
        let mut len = 0;
        if size > 0 {
            table[0] = Extent::free(start, start + size);
            len = 1;
        }
        Self {
            span: managed,
            granule: granule.get(),
            table,
            len,
            stats: Stats { capacity: size as usize, ..Stats::EMPTY },
        }
    }

    /// The managed span.
    pub const fn span(&self) -> Span {
        self.span
    }

    /// The granule every block is rounded to.
    pub const fn granule(&self) -> u64 {
        self.granule
    }

    /// The number of table entries (`N`).
    pub const fn table_capacity(&self) -> usize {
        N
    }

    /// The number of table entries in use (free and used extents).
    pub const fn table_len(&self) -> usize {
        self.len
    }

    /// A block of at least `layout.size()` bytes (rounded up to the granule) at a device address
    /// aligned to `layout.align()`. The returned span is the block: its size is what the caller
    /// may use, and it is what [`free`](Self::free) takes back.
    ///
    /// Fails with [`AllocError::Exhausted`] when no free extent can hold it, and with
    /// [`AllocError::Unsupported`] for a zero-sized request or when one could, but the table has
    /// no entry left to split it ([`TABLE_FULL`]). A failure changes nothing but the counters.
    pub fn allocate(&mut self, layout: Layout) -> Result<Span, AllocError> {
        match self.find(layout) {
            Ok(fit) => Ok(self.commit(fit, layout)),
            Err(e) => {
                self.stats.failures += 1;
                Err(e)
            }
        }
    }

    /// The best fit for `layout`, or why there is none.
    fn find(&self, layout: Layout) -> Result<Fit, AllocError> {
        if layout.size() == 0 {
            return Err(AllocError::Unsupported {
                layout,
                why: "a zero-sized block has no device address of its own",
            });
        }
        let align = (layout.align() as u64).max(self.granule);
        let exhausted =
            || AllocError::Exhausted { layout, free: self.stats.free(), largest: self.largest_free() };
        let Some(size) = (layout.size() as u64).checked_next_multiple_of(self.granule) else {
            return Err(exhausted());
        };
        let spare = N - self.len;
        let mut best: Option<(Fit, u64)> = None;
        let mut table_full = false;
        for (index, e) in self.table[..self.len].iter().enumerate() {
            if e.used {
                continue;
            }
            let Some(addr) = e.start.checked_add(align - 1).map(|a| a & !(align - 1)) else {
                continue;
            };
            let Some(end) = addr.checked_add(size) else {
                continue;
            };
            if end > e.end {
                continue;
            }
            let split_tail = end < e.end;
            if split_tail && spare == 0 {
                table_full = true;
                continue;
            }
            if best.is_some_and(|(_, s)| s <= e.size()) {
                continue;
            }
            let fit = Fit {
                index,
                addr,
                end,
                split_pad: addr > e.start && spare > usize::from(split_tail),
                split_tail,
            };
            best = Some((fit, e.size()));
        }
        match best {
            Some((fit, _)) => Ok(fit),
            None if table_full => Err(AllocError::Unsupported { layout, why: TABLE_FULL }),
            None => Err(exhausted()),
        }
    }

    /// Carves `fit` out of its free extent.
    fn commit(&mut self, fit: Fit, layout: Layout) -> Span {
        let e = self.table[fit.index];
        let start = if fit.split_pad { fit.addr } else { e.start };
        self.table[fit.index] =
            Extent { start, end: fit.end, pad: fit.addr - start, requested: layout.size(), used: true };
        if fit.split_tail {
            self.insert(fit.index + 1, Extent::free(fit.end, e.end));
        }
        if fit.split_pad {
            self.insert(fit.index, Extent::free(e.start, fit.addr));
        }
        // Every extent lies inside the managed span, whose size fits a usize.
        self.stats.on_alloc((fit.end - start) as usize, layout.size());
        span(fit.addr, fit.end)
    }

    /// Inserts `extent` at `at`, shifting the rest up (callers checked there is room).
    fn insert(&mut self, at: usize, extent: Extent) {
        self.table.copy_within(at..self.len, at + 1);
        self.table[at] = extent;
        self.len += 1;
    }

    /// Removes the extent at `at`, shifting the rest down.
    fn remove(&mut self, at: usize) {
        self.table.copy_within(at + 1..self.len, at);
        self.len -= 1;
    }

    /// Gives back a block returned by [`allocate`](Self::allocate), merging it with free
    /// neighbours. A span that is not a live block of this heap is refused in every build and
    /// changes nothing: [`FreeError::DoubleFree`] if it lies in free space, otherwise
    /// [`FreeError::Foreign`] (the `addr` of either is the device address, saturated to `usize`).
    pub fn free(&mut self, block: Span) -> Result<(), FreeError> {
        let live = &self.table[..self.len];
        let Some(i) = live.iter().position(|e| e.used && e.block() == block) else {
            let addr = usize::try_from(block.start().get()).unwrap_or(usize::MAX);
            let in_free_space = block.size() > ByteSize::ZERO
                && live.iter().any(|e| !e.used && span(e.start, e.end).contains_span(block));
            return Err(if in_free_space {
                FreeError::DoubleFree { addr }
            } else {
                FreeError::Foreign { addr }
            });
        };
        let e = self.table[i];
        self.stats.on_free(e.size() as usize, e.requested);
        self.table[i] = Extent::free(e.start, e.end);
        if i + 1 < self.len && !self.table[i + 1].used {
            self.table[i].end = self.table[i + 1].end;
            self.remove(i + 1);
        }
        if i > 0 && !self.table[i - 1].used {
            self.table[i - 1].end = self.table[i].end;
            self.remove(i);
        }
        Ok(())
    }

    /// Whether `block` is a live block of this heap (exactly as [`allocate`](Self::allocate)
    /// returned it).
    pub fn is_live(&self, block: Span) -> bool {
        self.table[..self.len].iter().any(|e| e.used && e.block() == block)
    }

    /// The live blocks, in address order.
    pub fn blocks(&self) -> impl Iterator<Item = Span> + '_ {
        self.table[..self.len].iter().filter(|e| e.used).map(Extent::block)
    }

    /// The free extents, in address order (never two adjacent).
    pub fn free_spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.table[..self.len].iter().filter(|e| !e.used).map(|e| span(e.start, e.end))
    }

    /// The counters (in bytes; `used` includes granule rounding and any alignment padding the
    /// table had no entry for).
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The largest free extent, in bytes (an aligned request may get less of it). O(N).
    pub fn largest_free(&self) -> usize {
        self.free_spans().map(|s| s.size().get() as usize).max().unwrap_or(0)
    }

    /// `1 - largest free extent / free bytes`: 0 when free memory is one extent.
    pub fn fragmentation(&self) -> f32 {
        super::fragmentation(self.stats.free(), self.largest_free())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Dreamcast sound RAM: 2 MiB at 0x0080_0000 in the AICA's space.
    const AICA: Span = Span::at(0x0080_0000, ByteSize::mib(2));

    #[test]
    fn can_live_in_a_static() {
        static HEAP: DeviceHeap<8> = DeviceHeap::new(AICA);
        assert_eq!(HEAP.stats().capacity, 2 << 20);
        assert_eq!(HEAP.largest_free(), 2 << 20);
        assert_eq!(HEAP.table_len(), 1);
    }

    #[test]
    fn aligns_device_addresses_and_reuses_the_padding() {
        let mut h: DeviceHeap<8> = DeviceHeap::new(Span::at(0x1003, ByteSize::bytes(0x1000)));
        let a = h.allocate(layout(0x10, 0x100)).unwrap();
        assert_eq!(a.start().get(), 0x1100);
        assert_eq!(h.stats().used, 0x10, "the padding stays free");
        // The padding before `a` is the best fit for a small block.
        let b = h.allocate(layout(0x20, 1)).unwrap();
        assert_eq!(b.start().get(), 0x1003);
        let huge = h.allocate(layout(8, 1 << 20));
        assert!(matches!(huge, Err(AllocError::Exhausted { .. })));
    }

    #[test]
    fn best_fit_takes_the_smallest_hole() {
        let mut h: DeviceHeap<16> = DeviceHeap::new(Span::at(0, ByteSize::bytes(1000)));
        let blocks: [Span; 5] =
            core::array::from_fn(|i| h.allocate(layout([100, 300, 100, 50, 100][i], 1)).unwrap());
        h.free(blocks[1]).unwrap(); // a 300-byte hole at 100
        h.free(blocks[3]).unwrap(); // a 50-byte hole at 500
        let c = h.allocate(layout(40, 1)).unwrap();
        assert_eq!(c.start().get(), 500, "the 50-byte hole, not the first one");
        let d = h.allocate(layout(60, 1)).unwrap();
        assert_eq!(d.start().get(), 100);
    }

    #[test]
    fn granule_rounds_sizes_and_trims_the_span() {
        let g = Alignment::new(8).unwrap();
        let mut h: DeviceHeap<8> = DeviceHeap::with_granule(Span::at(3, ByteSize::bytes(30)), g);
        assert_eq!(h.span(), Span::at(8, ByteSize::bytes(24)));
        let a = h.allocate(layout(1, 1)).unwrap();
        assert_eq!(a, Span::at(8, ByteSize::bytes(8)));
        assert_eq!((h.stats().used, h.stats().requested), (8, 1));
    }

    #[test]
    fn refuses_zero_sizes_foreign_and_double_frees() {
        let mut h: DeviceHeap<8> = DeviceHeap::new(AICA);
        assert!(matches!(h.allocate(layout(0, 1)), Err(AllocError::Unsupported { .. })));
        let a = h.allocate(layout(64, 8)).unwrap();
        let b = h.allocate(layout(64, 8)).unwrap();
        let inside = Span::at(a.start().get() + 8, ByteSize::bytes(8));
        assert!(matches!(h.free(inside), Err(FreeError::Foreign { .. })));
        let longer = Span::at(a.start().get(), ByteSize::bytes(128));
        assert!(matches!(h.free(longer), Err(FreeError::Foreign { .. })));
        let outside = Span::at(0x10, ByteSize::bytes(64));
        assert!(matches!(h.free(outside), Err(FreeError::Foreign { .. })));
        h.free(a).unwrap();
        assert!(matches!(h.free(a), Err(FreeError::DoubleFree { .. })));
        assert!(h.is_live(b) && !h.is_live(a));
        assert_eq!((h.stats().live, h.stats().frees, h.stats().failures), (1, 1, 1));
    }

    #[test]
    fn full_table_serves_exact_fits_and_says_why_otherwise() {
        let mut h: DeviceHeap<3> = DeviceHeap::new(Span::at(0, ByteSize::bytes(300)));
        let a = h.allocate(layout(100, 1)).unwrap();
        let b = h.allocate(layout(100, 1)).unwrap();
        assert_eq!(h.table_len(), 3);
        h.free(a).unwrap();
        assert_eq!(h.table_len(), 3, "[free 100][b][free 100]");
        let before = (h.free_spans().count(), h.stats().used, h.largest_free());
        let err = h.allocate(layout(50, 1)).unwrap_err();
        assert_eq!(err, AllocError::Unsupported { layout: layout(50, 1), why: TABLE_FULL });
        assert_eq!(
            before,
            (h.free_spans().count(), h.stats().used, h.largest_free()),
            "a refused request changes nothing"
        );
        let exact = h.allocate(layout(100, 1)).unwrap();
        assert_eq!(exact.start().get(), 0);
        h.free(b).unwrap();
        h.free(exact).unwrap();
        assert_eq!(h.free_spans().count(), 1);
    }

    #[test]
    fn full_table_keeps_the_padding_inside_the_block() {
        let mut h: DeviceHeap<2> = DeviceHeap::new(Span::at(1, ByteSize::bytes(63)));
        let a = h.allocate(layout(8, 16)).unwrap();
        assert_eq!(a, Span::at(16, ByteSize::bytes(8)));
        assert_eq!(h.stats().used, 23, "15 bytes of padding kept in the block");
        assert_eq!(h.stats().requested, 8);
        h.free(a).unwrap();
        assert_eq!((h.stats().used, h.largest_free(), h.table_len()), (0, 63, 1));
    }

    #[test]
    fn exhaustion_leaves_it_intact_and_coalescing_gives_it_all_back() {
        let mut h: DeviceHeap<16> = DeviceHeap::new(AICA);
        let mut blocks = [None; 8];
        for slot in &mut blocks {
            *slot = Some(h.allocate(layout(256 * 1024, 4096)).unwrap());
        }
        assert_eq!(h.stats().free(), 0);
        let err = h.allocate(layout(1, 1)).unwrap_err();
        assert_eq!(err, AllocError::Exhausted { layout: layout(1, 1), free: 0, largest: 0 });
        // Free in an order that exercises merging on both sides.
        for i in [1, 3, 2, 0, 7, 5, 6, 4] {
            h.free(blocks[i].take().unwrap()).unwrap();
            assert!(h.free_spans().zip(h.free_spans().skip(1)).all(|(a, b)| a.end() < b.start()));
        }
        assert_eq!(h.table_len(), 1);
        assert_eq!(h.largest_free(), 2 << 20);
        assert_eq!(h.fragmentation(), 0.0);
        let s = h.stats();
        assert_eq!((s.used, s.requested, s.live, s.peak), (0, 0, 0, 2 << 20));
    }

    #[test]
    fn fragmentation_is_reported() {
        let mut h: DeviceHeap<8> = DeviceHeap::new(Span::at(0, ByteSize::bytes(400)));
        let a = h.allocate(layout(100, 1)).unwrap();
        let _b = h.allocate(layout(100, 1)).unwrap();
        h.free(a).unwrap();
        // 300 free: 100 at the front, 200 at the back.
        assert_eq!(h.largest_free(), 200);
        assert!((h.fragmentation() - (1.0 - 200.0 / 300.0)).abs() < 1e-6);
    }
}

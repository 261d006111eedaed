//! The TLSF heap: see [`Tlsf`], which documents the algorithm, the block layout and the costs.

use core::alloc::Layout;
use core::cmp;
use core::fmt;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, size_of};
use core::ptr::{self, NonNull};

use super::{AllocError, FreeError, RawAllocator, Stats, align_up};

/// A machine word: the header of a used block.
const WORD: usize = size_of::<usize>();
/// Block sizes are multiples of this, and payloads are aligned to it.
const GRANULE: usize = 2 * WORD;
const GRANULE_LOG2: u32 = GRANULE.trailing_zeros();
/// Header, two free-list links, footer.
const MIN_BLOCK: usize = 2 * GRANULE;
/// log2 of the number of second-level classes per first-level row.
const SL_LOG2: u32 = 5;
const SL_COUNT: usize = 1 << SL_LOG2;
/// Sizes below `1 << LINEAR_LOG2` are in row 0, one class per granule.
const LINEAR_LOG2: u32 = SL_LOG2 + GRANULE_LOG2;
/// Blocks are smaller than `1 << SIZE_BITS`.
const SIZE_BITS: u32 = if usize::BITS > 48 { 48 } else { usize::BITS };
const FL_COUNT: usize = (SIZE_BITS - LINEAR_LOG2 + 1) as usize;
const MAX_BLOCK: usize = (usize::MAX >> (usize::BITS - SIZE_BITS)) & !(GRANULE - 1);
/// The sentinel ending a region: header, previous region's sentinel, region's first block.
const SENTINEL: usize = 3 * WORD;

/// Header flag: this block is free.
const FREE: usize = 1;
/// Header flag: the block before this one is free (its footer holds its size).
const PREV_FREE: usize = 2;
/// The low bits of a header that are not part of the size.
const FLAGS: usize = GRANULE - 1;

const _: () = assert!(FL_COUNT <= usize::BITS as usize);
const _: () = assert!(SL_COUNT <= u32::BITS as usize);
const _: () = assert!(MIN_BLOCK < 1 << LINEAR_LOG2);

/// The general-purpose heap: a two-level segregated fit (TLSF) allocator with O(1) allocate
/// and free, immediate coalescing, boundary tags, any power-of-two alignment, in-place growing
/// and shrinking, and more memory added at run time with [`extend`](Self::extend).
///
/// TLSF (Masmano, Ripoll, Crespo and Real, 2004) keeps every free block on one of a fixed set of
/// doubly linked free lists, one per *size class*, and two levels of bitmaps that say which
/// lists are non-empty. Finding a block big enough for a request is two bit scans; freeing a
/// block merges it with its free neighbours (found through boundary tags) and pushes the result
/// on a list. Both are O(1): no loop depends on the number or size of blocks (with the one
/// exception, on the way to failing, described below).
///
/// # Size classes
///
/// A size `s` (a multiple of the [granule](Tlsf::GRANULE)) falls in first-level row `fl` and
/// second-level column `sl`:
///
/// - sizes below `32 * GRANULE` (256 bytes on 32-bit targets) are in row 0, one column per
///   granule: every block of a row-0 class has exactly the same size;
/// - a larger size with its highest set bit at position `b` is in row `fl = b - 8 + 1` (32-bit;
///   `b - 9 + 1` on 64-bit), and its next five bits select one of the 32 columns. Row `fl`
///   covers `[2^b, 2^(b+1))` in 32 classes of `2^b / 32` bytes each.
///
/// ```text
///             fl_bitmap: bit fl set <=> some list of row fl is non-empty
///             |
///             |    sl_bitmap[fl]: bit sl set <=> heads[fl][sl] is non-empty
///             v    sl:  0  1  2  3  4  5  6  7  ...  31
///           +---+     +--+--+--+--+--+--+--+--+-- --+--+
///   fl = 0  | 1 | --> | 0| 0| 1| 0| 1| 0| 0| 0| ... | 0|   sizes [0, 256): exactly 8*sl
///           +---+     +--+--+--+--+--+--+--+--+-- --+--+
///   fl = 1  | 0 | --> | 0| 0| 0| 0| 0| 0| 0| 0| ... | 0|   sizes [256, 512):  steps of 8
///           +---+     +--+--+--+--+--+--+--+--+-- --+--+
///   fl = 2  | 1 | --> | 0| 1| 0| 0| 0| 0| 0| 1| ... | 0|   sizes [512, 1024): steps of 16
///           +---+     +--+--+--+--+--+--+--+--+-- --+--+
///    ...    |...|          |
///           +---+          v
///                     heads[2][1] --> [528 B] <--> [536 B] <--> [528 B]   (free blocks, any
///                                                                          order, in place)
/// ```
///
/// (Figures for a 32-bit target: granule 8. On 64-bit targets the granule is 16 and every
/// boundary doubles.)
///
/// To allocate `n` bytes the request is rounded *up* to the next class boundary, so that every
/// block of the class found fits: `sl_bitmap[fl] & (!0 << sl)` finds a non-empty class in the
/// same row, or else `fl_bitmap & (!0 << (fl + 1))` the next non-empty row, whose lowest set
/// `sl` bit is the class. The head of that list is taken, and what is left after the request is
/// split off and put back as a free block if it is at least a [minimum block](Tlsf::MIN_BLOCK).
///
/// Rounding up means a free block in the request's own class may be big enough yet not be
/// found. Only when the O(1) search finds nothing does `allocate` walk the lists that may hold
/// a fitting block (the request's own class, and for over-aligned requests the classes between)
/// and check each block exactly, before it reports exhaustion. That walk makes the heap use its
/// last bytes (`largest_free` bytes can always be allocated) at a cost paid only on the way to
/// failing.
///
/// # Blocks
///
/// Memory handed to the heap becomes a *region*: a run of blocks that tile it exactly, then a
/// three-word sentinel. Block starts are one word short of a granule boundary, so payloads are
/// aligned to the granule (8 bytes on 32-bit targets, 16 on 64-bit).
///
/// ```text
///       used block                               free block
///  +-------------------------+ <- block   +-------------------------+
///  | size | prev-free | 0    |   1 word   | size | 0 | free         |
///  +-------------------------+ <- ptr     +-------------------------+
///  | payload (size - 1 word) |            | next free in class      |
///  |                         |            | prev free in class      |
///  |                         |            | ...                     |
///  |                         |            | size (footer)           |
///  +-------------------------+            +-------------------------+
///   next block's header                    next block's header (prev-free set)
/// ```
///
/// - A used block costs **one word** (4 bytes on the PlayStation): its header holds the size
///   and two flags in the low bits (free, previous block free). There is no footer: a used
///   block's last word is payload.
/// - A free block keeps its size again in its last word (the boundary tag), read by the next
///   block only when that block's prev-free flag says the footer is there.
/// - The minimum block is four words, header, two links and footer: **16 bytes on 32-bit
///   targets (12 usable), 32 on 64-bit (24 usable)**. A zero-sized request takes one.
/// - Sizes are rounded up to the granule, two words, so a request of `n` bytes reserves
///   `max(16, round_up(n + 4, 8))` bytes on 32-bit targets.
///
/// Freeing merges the block at once with a free successor (its header is right after the
/// block) and a free predecessor (through the footer), so no two free blocks are ever
/// neighbours. Each region ends with a sentinel that looks like a used block of size 0 (so the
/// last block never merges past the end) and records the region's start and the previous
/// region (so debug builds can tell whether a pointer belongs to the heap). Regions are never
/// merged with each other, even when they touch.
///
/// # Alignment
///
/// Requests aligned to at most the granule are served as above. For a larger alignment `a` the
/// search asks for `a + granule` more bytes, which guarantees that the found block has an
/// aligned payload position whose leading gap is either zero or at least a minimum block. The
/// gap is split off as a free block, so only the search, not the heap, pays for the alignment.
///
/// # Parameters and their cost
///
/// | parameter | value | cost |
/// |---|---|---|
/// | second-level classes per row | 32 (`u32` bitmaps) | the list-head table is `rows * 32` pointers, kept in the `Tlsf` value itself: 25 rows, **3,200 bytes on 32-bit targets** (the whole `Tlsf` is about 3.4 KB), 40 rows, 10 KiB on 64-bit. 16 classes would halve it, but the O(1) search passes over blocks up to 1/32 (3 %) larger than a request with 32 classes, 1/16 (6 %) with 16, which fragments more |
/// | granule | 2 words | payloads aligned to 8 (16) bytes; up to a granule minus one of rounding per block |
/// | largest block | `2^32 - 8` on 32-bit; `2^48 - 16` on 64-bit | memory past it in one region is left unused |
/// | per region | at most [`Tlsf::REGION_OVERHEAD`] bytes | alignment of both ends and the three-word sentinel |
///
/// On a console with 2 MiB of RAM the 11 rows above 2 MiB are never used (1,408 bytes of the
/// table); the table is metadata outside the managed memory and not counted in
/// [`Stats::capacity`].
///
/// # Statistics
///
/// - `capacity`: bytes in blocks, summed over the regions (what `used` reaches when the heap is
///   full); the region overhead is not counted.
/// - `used`: the sizes of the live blocks, header and rounding included; `free()` is the sum of
///   the free blocks' sizes.
/// - `requested`: the sizes asked for by live blocks (updated by in-place resizing).
/// - [`largest_free`](RawAllocator::largest_free): the usable size of the largest free block,
///   found on request from the bitmaps and one list. With everything freed, a single region
///   has `largest_free() == capacity - Tlsf::HEADER`.
///
/// # Debug checks
///
/// With `debug_assertions`, every header is stored XOR-ed with a pattern derived from its
/// address, and `deallocate`, the resizing calls and `reallocate` check the pointer before
/// touching anything: it must lie in a region, be granule- and layout-aligned, and the word
/// before it must decode to a used header whose size matches the layout, with consistent
/// neighbours. A header marked free is reported as [`FreeError::DoubleFree`], anything else
/// inconsistent as [`FreeError::Foreign`]. Release builds trust the caller and skip all of it.
///
/// # Example
///
/// ```
/// # use core::alloc::Layout;
/// # use core::mem::MaybeUninit;
/// # use flight_memory::alloc::{RawAllocator, Tlsf};
/// let mut memory = [MaybeUninit::<u8>::uninit(); 4096];
/// let mut heap = Tlsf::new(&mut memory);
/// let layout = Layout::from_size_align(100, 8).unwrap();
/// let block = heap.allocate(layout).unwrap();
/// assert!(block.len() >= 100);
/// // SAFETY: the block came from this heap with this layout.
/// unsafe { heap.deallocate(block.cast(), layout) }.unwrap();
/// assert_eq!(heap.stats().used, 0);
/// ```
pub struct Tlsf<'a> {
    /// Bit `fl` set when some list of row `fl` is non-empty.
    fl_bitmap: usize,
    /// Bit `sl` of entry `fl` set when `heads[fl][sl]` is non-empty.
    sl_bitmap: [u32; FL_COUNT],
    /// First free block of each class, null when empty.
    heads: [[*mut u8; SL_COUNT]; FL_COUNT],
    /// The sentinel of the region added last, null when there is none.
    last_region: *mut u8,
    stats: Stats,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

// SAFETY: a `Tlsf` owns the memory its pointers point into exclusively (borrowed `&'a mut`, or
// promised by the callers of `from_raw_parts` and `extend`), and shares no state with anything
// else, so moving it to another thread moves that ownership along with it.
unsafe impl Send for Tlsf<'_> {}

impl fmt::Debug for Tlsf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tlsf").field("stats", &self.stats).finish_non_exhaustive()
    }
}

impl<'a> Tlsf<'a> {
    /// Bytes of header in every used block: one word (4 bytes on 32-bit targets).
    pub const HEADER: usize = WORD;
    /// Block sizes are multiples of this, and every payload is aligned to it: two words.
    pub const GRANULE: usize = GRANULE;
    /// The smallest block, header included: four words (16 bytes on 32-bit targets).
    pub const MIN_BLOCK: usize = MIN_BLOCK;
    /// The largest block (header included); one region manages at most this many bytes.
    pub const MAX_BLOCK: usize = MAX_BLOCK;
    /// Second-level size classes per power of two.
    pub const SECOND_LEVEL: usize = SL_COUNT;
    /// The most bytes of a region that end up in no block: alignment of its start and end and
    /// the sentinel (a region of `len` bytes adds more than `len - REGION_OVERHEAD` bytes of
    /// capacity, unless it is longer than [`MAX_BLOCK`](Self::MAX_BLOCK)).
    pub const REGION_OVERHEAD: usize = 2 * GRANULE + SENTINEL;

    /// A heap with no memory yet; add some with [`claim`](Self::claim) or
    /// [`extend`](Self::extend).
    pub const fn empty() -> Self {
        Self {
            fl_bitmap: 0,
            sl_bitmap: [0; FL_COUNT],
            heads: [[ptr::null_mut(); SL_COUNT]; FL_COUNT],
            last_region: ptr::null_mut(),
            stats: Stats::EMPTY,
            _memory: PhantomData,
        }
    }

    /// A heap over `memory`. Memory too small for one block gives a heap with capacity 0.
    pub fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        let mut heap = Self::empty();
        heap.claim(memory);
        heap
    }

    /// A heap over `len` bytes at `start`.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, and used by nothing but this heap, for as
    /// long as the heap (or any block it handed out) is used.
    pub unsafe fn from_raw_parts(start: *mut u8, len: usize) -> Self {
        let mut heap = Self::empty();
        // SAFETY: forwarded under the caller's contract; the empty heap manages nothing else.
        unsafe { heap.extend(start, len) };
        heap
    }

    /// Adds `memory` to the heap; returns the bytes of capacity added (0 if it is too small for
    /// a block).
    pub fn claim(&mut self, memory: &'a mut [MaybeUninit<u8>]) -> usize {
        // SAFETY: the slice is borrowed exclusively for `'a`, as long as the heap may use it,
        // and, being a unique borrow, cannot overlap memory the heap already manages.
        unsafe { self.extend(memory.as_mut_ptr().cast(), memory.len()) }
    }

    /// Adds `len` bytes at `memory` to the heap as a new region (an out-of-memory handler can
    /// use this to grow the heap); returns the bytes of capacity added. Memory too small for a
    /// block, a null pointer, and memory overlapping a region of this heap add nothing (0).
    ///
    /// # Safety
    /// The memory must be valid for reads and writes, and used by nothing but this heap, for as
    /// long as the heap (or any block it handed out) is used.
    pub unsafe fn extend(&mut self, memory: *mut u8, len: usize) -> usize {
        if memory.is_null() {
            return 0;
        }
        let start = memory.addr();
        let end = start.saturating_add(len);
        // The first block starts one word before a granule boundary; the sentinel's header too.
        let Some(first) = start.checked_add(WORD).and_then(|a| align_up(a, GRANULE)).map(|a| a - WORD) else {
            return 0;
        };
        let Some(sentinel) =
            end.checked_sub(2 * WORD).map(|a| a & !(GRANULE - 1)).and_then(|a| a.checked_sub(WORD))
        else {
            return 0;
        };
        if sentinel < first || sentinel - first < MIN_BLOCK {
            return 0;
        }
        let size = cmp::min(sentinel - first, MAX_BLOCK);
        let span_end = first + size + SENTINEL;
        if self.regions().any(|(other_first, other_sentinel)| {
            first < other_sentinel.addr() + SENTINEL && other_first.addr() < span_end
        }) {
            return 0;
        }
        // SAFETY: `first..first + size + SENTINEL` lies inside the caller's memory (computed
        // above from its bounds without wrapping), which the heap may now use, and it overlaps
        // no other region; block and sentinel starts are word-aligned.
        unsafe {
            let block = memory.add(first - start);
            let sentinel = block.add(size);
            make_free(block, size);
            self.insert(block, size);
            set_header(sentinel, PREV_FREE);
            sentinel.add(WORD).cast::<*mut u8>().write(self.last_region);
            sentinel.add(2 * WORD).cast::<*mut u8>().write(block);
            self.last_region = sentinel;
        }
        self.stats.capacity += size;
        size
    }

    /// Grows the block at `ptr` to `new_size` bytes without moving it, by taking the free block
    /// after it; its contents are kept. Fails with [`AllocError::Exhausted`] when the next block
    /// is used or too small (the block is then left as it was, and no failure is counted), and
    /// with [`AllocError::Unsupported`] when `new_size < old.size()`, or (debug builds) when
    /// `ptr` is not a live block of this heap.
    ///
    /// # Safety
    /// `ptr` must be a live block of this heap allocated (or last resized) with `old`. On
    /// success the block's layout becomes `new_size` bytes with `old.align()`.
    pub unsafe fn grow_in_place(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let Ok(new) = Layout::from_size_align(new_size, old.align()) else {
            return Err(AllocError::Unsupported { layout: old, why: "the new size overflows" });
        };
        if new_size < old.size() {
            return Err(AllocError::Unsupported { layout: new, why: "grow_in_place to a smaller size" });
        }
        // SAFETY: forwarded under the caller's contract (checked in debug builds).
        let (block, header) = unsafe { self.locate(ptr, old) }.map_err(|_| not_ours(old))?;
        // SAFETY: `locate` found the live block's header.
        match unsafe { self.grow_at(block, header, old.size(), new_size) } {
            Some(grown) => Ok(grown),
            None => Err(self.exhausted(new)),
        }
    }

    /// Shrinks the block at `ptr` to `new_size` bytes without moving it; the tail is given back
    /// as free memory when it makes a block of its own (or joins a free block after it). Always
    /// succeeds for a live block and `new_size <= old.size()`; fails with
    /// [`AllocError::Unsupported`] for a larger `new_size` or (debug builds) a pointer that is
    /// not a live block of this heap.
    ///
    /// # Safety
    /// `ptr` must be a live block of this heap allocated (or last resized) with `old`. The
    /// block's layout becomes `new_size` bytes with `old.align()`.
    pub unsafe fn shrink_in_place(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new_size: usize,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if new_size > old.size() {
            return Err(AllocError::Unsupported { layout: old, why: "shrink_in_place to a larger size" });
        }
        // SAFETY: forwarded under the caller's contract (checked in debug builds).
        let (block, header) = unsafe { self.locate(ptr, old) }.map_err(|_| not_ours(old))?;
        // SAFETY: `locate` found the live block's header.
        Ok(unsafe { self.shrink_at(block, header, old.size(), new_size) })
    }

    /// Walks every region and free list and checks the heap's invariants: blocks tile each
    /// region, flags and footers agree with the neighbours, no two free blocks touch, every
    /// free block is on the list of its class and the bitmaps match the lists, and the
    /// [`Stats`] agree with the blocks. O(number of blocks): meant for tests and debugging.
    pub fn check(&self) -> Result<(), &'static str> {
        let (mut used, mut live, mut free, mut free_blocks, mut capacity) = (0, 0, 0, 0, 0);
        for (first, sentinel) in self.regions() {
            let mut block = first;
            let mut prev_free = false;
            capacity += sentinel.addr() - first.addr();
            while block != sentinel {
                // SAFETY: `block` is a block start of this region: the first one, or the end of
                // the previous block, whose size was checked to stay within the region.
                let header = unsafe { header_of(block) };
                let size = header & !FLAGS;
                if size < MIN_BLOCK || size > sentinel.addr() - block.addr() {
                    return Err("a block size is out of bounds");
                }
                if (header & PREV_FREE != 0) != prev_free {
                    return Err("a prev-free flag disagrees with the previous block");
                }
                if header & FLAGS & !(FREE | PREV_FREE) != 0 {
                    return Err("a header has unknown flags");
                }
                prev_free = header & FREE != 0;
                if prev_free {
                    if header & PREV_FREE != 0 {
                        return Err("two free blocks touch");
                    }
                    // SAFETY: a free block of `size` bytes inside the region ends with its footer.
                    if unsafe { block.add(size - WORD).cast::<usize>().read() } != size {
                        return Err("a free block's footer disagrees with its header");
                    }
                    free += size;
                    free_blocks += 1;
                } else {
                    used += size;
                    live += 1;
                }
                // SAFETY: `size <= sentinel - block`, so the next start is in the region.
                block = unsafe { block.add(size) };
            }
            // SAFETY: the sentinel is in the region's memory.
            let header = unsafe { header_of(sentinel) };
            if header & !PREV_FREE != 0 || (header & PREV_FREE != 0) != prev_free {
                return Err("a region's sentinel is damaged");
            }
        }
        let mut listed = 0;
        for fl in 0..FL_COUNT {
            if (self.fl_bitmap >> fl & 1 != 0) != (self.sl_bitmap[fl] != 0) {
                return Err("the first-level bitmap disagrees with the second level");
            }
            for sl in 0..SL_COUNT {
                let mut block = self.heads[fl][sl];
                if (self.sl_bitmap[fl] >> sl & 1 != 0) == block.is_null() {
                    return Err("a second-level bitmap disagrees with its list");
                }
                let mut prev = ptr::null_mut();
                while !block.is_null() {
                    listed += 1;
                    if listed > free_blocks {
                        return Err("the free lists hold more blocks than the regions");
                    }
                    if self.region_of(block.addr() + WORD).is_none() {
                        return Err("a free list points outside the heap");
                    }
                    // SAFETY: `block` is a block start inside a region (checked just above,
                    // and every block start is where the walk of the regions found one).
                    let (header, back, next) = unsafe { (header_of(block), prev_of(block), next_of(block)) };
                    if header & FREE == 0 || class_of(header & !FLAGS) != (fl, sl) {
                        return Err("a free list holds a block that is used or of another class");
                    }
                    if back != prev {
                        return Err("a free list's back link is wrong");
                    }
                    prev = block;
                    block = next;
                }
            }
        }
        if listed != free_blocks {
            return Err("a free block is on no list");
        }
        let stats = &self.stats;
        if stats.used != used || stats.live != live || stats.capacity != capacity || free != capacity - used {
            return Err("the statistics disagree with the blocks");
        }
        Ok(())
    }

    /// The regions, newest first, as (first block, sentinel).
    fn regions(&self) -> impl Iterator<Item = (*mut u8, *mut u8)> + '_ {
        let mut sentinel = self.last_region;
        core::iter::from_fn(move || {
            if sentinel.is_null() {
                return None;
            }
            // SAFETY: `sentinel` is the sentinel of a region (written by `extend`), whose second
            // and third words link the previous region and name the first block.
            let (previous, first) = unsafe {
                (sentinel.add(WORD).cast::<*mut u8>().read(), sentinel.add(2 * WORD).cast::<*mut u8>().read())
            };
            let region = (first, sentinel);
            sentinel = previous;
            Some(region)
        })
    }

    /// The region in which `payload` could be a block's payload: `first + WORD <= payload` and
    /// `payload - WORD < sentinel`.
    fn region_of(&self, payload: usize) -> Option<(*mut u8, *mut u8)> {
        self.regions()
            .find(|&(first, sentinel)| payload >= first.addr() + WORD && payload - WORD < sentinel.addr())
    }

    /// The O(1) search, then the exact walk: a free block for `need` bytes aligned to `align`,
    /// with its size, the gap to leave before the allocated block, and its class when it is
    /// the head of that class's list (the O(1) search's find).
    #[inline]
    fn find_fit(&self, need: usize, align: usize) -> Option<Fit> {
        if align <= GRANULE {
            // Every block of the class found holds `need`, and payloads are granule-aligned:
            // the head fits with no gap.
            if let Some((fl, sl)) = class_at_least(need)
                && let Some((fl, sl)) = self.non_empty_from(fl, sl)
            {
                let block = self.heads[fl][sl];
                // SAFETY: list heads are free blocks inside regions.
                let size = unsafe { header_of(block) } & !FLAGS;
                return Some((block, size, 0, Some((fl, sl))));
            }
        } else if let Some((fl, sl)) =
            need.checked_add(align).and_then(|s| s.checked_add(GRANULE)).and_then(class_at_least)
            && let Some((fl, sl)) = self.non_empty_from(fl, sl)
        {
            let block = self.heads[fl][sl];
            // SAFETY: list heads are free blocks inside regions.
            let size = unsafe { header_of(block) } & !FLAGS;
            if let Some(gap) = fit(block, size, need, align) {
                return Some((block, size, gap, Some((fl, sl))));
            }
        }
        self.walk_fit(need, align)
    }

    /// The exact walk of [`find_fit`](Self::find_fit), on the way to failing.
    #[cold]
    fn walk_fit(&self, need: usize, align: usize) -> Option<Fit> {
        let (mut fl, mut sl) = class_of(need);
        while let Some((f, s)) = self.non_empty_from(fl, sl) {
            let mut block = self.heads[f][s];
            while !block.is_null() {
                // SAFETY: blocks on the free lists are free blocks inside regions.
                let size = unsafe { header_of(block) } & !FLAGS;
                if let Some(gap) = fit(block, size, need, align) {
                    return Some((block, size, gap, None));
                }
                // SAFETY: as above.
                block = unsafe { next_of(block) };
            }
            (fl, sl) = if s + 1 < SL_COUNT {
                (f, s + 1)
            } else if f + 1 < FL_COUNT {
                (f + 1, 0)
            } else {
                return None;
            };
        }
        None
    }

    /// The first non-empty class at or after `(fl, sl)` in size order.
    #[inline]
    fn non_empty_from(&self, fl: usize, sl: usize) -> Option<(usize, usize)> {
        let in_row = self.sl_bitmap[fl] & (u32::MAX << sl);
        if in_row != 0 {
            return Some((fl, lowest_bit(in_row as usize) as usize));
        }
        let rows = self.fl_bitmap & usize::MAX.checked_shl(fl as u32 + 1).unwrap_or(0);
        if rows == 0 {
            return None;
        }
        let fl = lowest_bit(rows) as usize;
        Some((fl, lowest_bit(self.sl_bitmap[fl] as usize) as usize))
    }

    /// Pushes the free block `block` of `size` bytes on the list of its class.
    ///
    /// # Safety
    /// `block` is a block start inside a region with a free header of `size` bytes, on no list.
    #[inline]
    unsafe fn insert(&mut self, block: *mut u8, size: usize) {
        let (fl, sl) = class_of(size);
        let head = self.heads[fl][sl];
        // SAFETY: `block` and `head` (if any) are free blocks inside regions (caller, lists),
        // with room for their links.
        unsafe {
            set_next(block, head);
            set_prev(block, ptr::null_mut());
            if !head.is_null() {
                set_prev(head, block);
            }
        }
        self.heads[fl][sl] = block;
        self.sl_bitmap[fl] |= 1 << sl;
        self.fl_bitmap |= 1 << fl;
    }

    /// Takes the head of the list of class `(fl, sl)` off it.
    ///
    /// # Safety
    /// The list is not empty.
    #[inline]
    unsafe fn pop_head(&mut self, fl: usize, sl: usize) {
        let block = self.heads[fl][sl];
        // SAFETY: the head and the block after it are free blocks inside regions.
        unsafe {
            let next = next_of(block);
            self.heads[fl][sl] = next;
            if next.is_null() {
                self.sl_bitmap[fl] &= !(1 << sl);
                if self.sl_bitmap[fl] == 0 {
                    self.fl_bitmap &= !(1 << fl);
                }
            } else {
                set_prev(next, ptr::null_mut());
            }
        }
    }

    /// Takes the free block `block` of `size` bytes off its list.
    ///
    /// # Safety
    /// `block` is on the list of the class of `size`.
    #[inline]
    unsafe fn remove(&mut self, block: *mut u8, size: usize) {
        let (fl, sl) = class_of(size);
        // SAFETY: `block` and its list neighbours are free blocks inside regions (caller, lists).
        unsafe {
            let (prev, next) = (prev_of(block), next_of(block));
            if !next.is_null() {
                set_prev(next, prev);
            }
            if prev.is_null() {
                self.heads[fl][sl] = next;
                if next.is_null() {
                    self.sl_bitmap[fl] &= !(1 << sl);
                    if self.sl_bitmap[fl] == 0 {
                        self.fl_bitmap &= !(1 << fl);
                    }
                }
            } else {
                set_next(prev, next);
            }
        }
    }

    /// Turns the free block `block` of `size` bytes (found by `find_fit`, the head of class
    /// `head`'s list if given) into a used block of at least `need` bytes after `gap` bytes;
    /// returns the used block and its size.
    ///
    /// # Safety
    /// `block` is on the free lists with size `size` (the head of `head`'s), and `fit` accepted
    /// `gap` for `need`.
    #[inline]
    unsafe fn take(
        &mut self,
        block: *mut u8,
        size: usize,
        gap: usize,
        need: usize,
        head: Option<(usize, usize)>,
    ) -> (*mut u8, usize) {
        // SAFETY: everything touched lies inside the free block or is the header after it;
        // `gap + need <= size` and the gap is 0 or at least a minimum block (`fit`).
        unsafe {
            match head {
                Some((fl, sl)) => self.pop_head(fl, sl),
                None => self.remove(block, size),
            }
            let (mut block, mut size, mut flags) = (block, size, 0);
            if gap != 0 {
                make_free(block, gap);
                self.insert(block, gap);
                block = block.add(gap);
                size -= gap;
                flags = PREV_FREE;
            }
            let size = self.split_tail(block, size, need);
            set_header(block, size | flags);
            (block, size)
        }
    }

    /// `block` spans `size` free-to-use bytes and is to keep `need` of them: gives the tail back
    /// as a free block when it is big enough, and sets the next block's prev-free flag
    /// accordingly. Returns the size the block keeps. Does not write `block`'s header.
    ///
    /// # Safety
    /// `block..block + size` is in a region, off every list, and followed by a block header;
    /// `need <= size`, both multiples of the granule.
    #[inline]
    unsafe fn split_tail(&mut self, block: *mut u8, size: usize, need: usize) -> usize {
        let rest = size - need;
        // SAFETY: the tail and the next header are inside the region (caller).
        unsafe {
            let after = block.add(size);
            if rest >= MIN_BLOCK {
                let tail = block.add(need);
                make_free(tail, rest);
                self.insert(tail, rest);
                set_header(after, header_of(after) | PREV_FREE);
                need
            } else {
                set_header(after, header_of(after) & !PREV_FREE);
                size
            }
        }
    }

    /// Frees the used block `block` with header `header`, merging it with free neighbours.
    ///
    /// # Safety
    /// `block` is a live block of this heap and `header` its current header.
    unsafe fn release(&mut self, block: *mut u8, header: usize, requested: usize) {
        let mut size = header & !FLAGS;
        self.stats.on_free(size, requested);
        let mut block = block;
        // SAFETY: the neighbours are found through the block's own size and the footer the
        // prev-free flag vouches for; all lie in the block's region.
        unsafe {
            let next = block.add(size);
            let next_header = header_of(next);
            if next_header & FREE != 0 {
                let next_size = next_header & !FLAGS;
                self.remove(next, next_size);
                size += next_size;
            }
            if header & PREV_FREE != 0 {
                if cfg!(debug_assertions) {
                    // Left inside the merged block so that a second free is recognized.
                    set_header(block, header | FREE);
                }
                let prev_size = block.sub(WORD).cast::<usize>().read();
                let prev = block.sub(prev_size);
                self.remove(prev, prev_size);
                block = prev;
                size += prev_size;
            }
            make_free(block, size);
            self.insert(block, size);
            let after = block.add(size);
            set_header(after, header_of(after) | PREV_FREE);
        }
    }

    /// Grows the live block in place; `None` (block unchanged) when there is no room.
    ///
    /// # Safety
    /// `block` is a live block of this heap with header `header` and requested size `old_size`.
    unsafe fn grow_at(
        &mut self,
        block: *mut u8,
        header: usize,
        old_size: usize,
        new_size: usize,
    ) -> Option<NonNull<[u8]>> {
        let size = header & !FLAGS;
        let need = block_size(new_size)?;
        let kept = if need <= size {
            size
        } else {
            // SAFETY: the next header follows the live block in its region.
            let next = unsafe { block.add(size) };
            // SAFETY: as above.
            let next_header = unsafe { header_of(next) };
            let next_size = next_header & !FLAGS;
            if next_header & FREE == 0 || size + next_size < need {
                return None;
            }
            // SAFETY: the next block is free (on its list); block and next span `size +
            // next_size` bytes of the region, followed by a header.
            unsafe {
                self.remove(next, next_size);
                let kept = self.split_tail(block, size + next_size, need);
                set_header(block, kept | (header & PREV_FREE));
                kept
            }
        };
        self.stats.on_resize((size, old_size), (kept, new_size));
        // SAFETY: the payload follows the header.
        Some(user_block(unsafe { block.add(WORD) }, kept - WORD))
    }

    /// Shrinks the live block in place.
    ///
    /// # Safety
    /// `block` is a live block of this heap with header `header` and requested size `old_size
    /// >= new_size`.
    unsafe fn shrink_at(
        &mut self,
        block: *mut u8,
        header: usize,
        old_size: usize,
        new_size: usize,
    ) -> NonNull<[u8]> {
        let size = header & !FLAGS;
        let need = block_size(new_size).unwrap_or(size);
        // SAFETY: the block, its tail and the next header lie in its region; a free next block
        // is on its list.
        let kept = unsafe {
            let next = block.add(size);
            let next_header = header_of(next);
            if next_header & FREE != 0 && size > need {
                let next_size = next_header & !FLAGS;
                self.remove(next, next_size);
                let tail_size = size - need + next_size;
                make_free(block.add(need), tail_size);
                self.insert(block.add(need), tail_size);
                need
            } else if size - need >= MIN_BLOCK {
                make_free(block.add(need), size - need);
                self.insert(block.add(need), size - need);
                set_header(next, next_header | PREV_FREE);
                need
            } else {
                size
            }
        };
        // SAFETY: the block is in its region.
        unsafe { set_header(block, kept | (header & PREV_FREE)) };
        self.stats.on_resize((size, old_size), (kept, new_size));
        // SAFETY: the payload follows the header.
        user_block(unsafe { block.add(WORD) }, kept - WORD)
    }

    /// Moves the live block down into the free block before it (taking the free block after it
    /// too), when together they fit `new` with no gap; `None` (nothing changed) otherwise.
    ///
    /// # Safety
    /// `block` is a live block of this heap with header `header` and requested size
    /// `old_size`; its first `keep` bytes are to be kept.
    unsafe fn move_down(
        &mut self,
        block: *mut u8,
        header: usize,
        old_size: usize,
        new: Layout,
        keep: usize,
    ) -> Option<NonNull<[u8]>> {
        if header & PREV_FREE == 0 {
            return None;
        }
        let size = header & !FLAGS;
        let need = block_size(new.size())?;
        // SAFETY: the prev-free flag vouches for the footer before the block and the free block
        // it sizes; the next header follows the block; all in the block's region.
        let (prev, prev_size, next, next_header) = unsafe {
            let prev_size = block.sub(WORD).cast::<usize>().read();
            let next = block.add(size);
            (block.sub(prev_size), prev_size, next, header_of(next))
        };
        let next_size = if next_header & FREE != 0 { next_header & !FLAGS } else { 0 };
        let total = prev_size + size + next_size;
        if fit(prev, total, need, new.align()) != Some(0) {
            return None;
        }
        // SAFETY: prev, block and next (when free) are contiguous in one region and span
        // `total` bytes followed by a header; the free ones are on their lists. The data is
        // copied (overlapping, downwards) before any header is written over it.
        let kept = unsafe {
            self.remove(prev, prev_size);
            if next_size != 0 {
                self.remove(next, next_size);
            }
            ptr::copy(block.add(WORD), prev.add(WORD), keep);
            let kept = self.split_tail(prev, total, need);
            set_header(prev, kept);
            kept
        };
        self.stats.on_resize((size, old_size), (kept, new.size()));
        // SAFETY: the payload follows the header.
        Some(user_block(unsafe { prev.add(WORD) }, kept - WORD))
    }

    /// The block and header for `ptr`, checked in debug builds.
    ///
    /// # Safety
    /// Unless debug checks are on, `ptr` must be a live block of this heap allocated with
    /// `layout`.
    #[inline]
    unsafe fn locate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(*mut u8, usize), FreeError> {
        if cfg!(debug_assertions) {
            self.validate(ptr, layout)?;
        }
        // SAFETY: a payload is one word past its block's header, in the same region.
        let block = unsafe { ptr.as_ptr().sub(WORD) };
        // SAFETY: as above.
        Ok((block, unsafe { header_of(block) }))
    }

    /// The debug checks of a pointer handed back: see the module documentation.
    fn validate(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let addr = ptr.addr().get();
        let foreign = FreeError::Foreign { addr };
        if !addr.is_multiple_of(GRANULE) || !addr.is_multiple_of(layout.align()) {
            return Err(foreign);
        }
        let Some((first, sentinel)) = self.region_of(addr) else {
            return Err(foreign);
        };
        // SAFETY: `region_of` checked that the word before `addr` lies in the region.
        let block = unsafe { first.add(addr - WORD - first.addr()) };
        // SAFETY: a granule-aligned address minus a word is word-aligned, inside the region.
        let header = unsafe { header_of(block) };
        let size = header & !FLAGS;
        let room = sentinel.addr() - block.addr();
        if header & FLAGS & !PREV_FREE == FREE && size >= MIN_BLOCK && size <= room {
            return Err(FreeError::DoubleFree { addr });
        }
        let Some(need) = block_size(layout.size()) else {
            return Err(foreign);
        };
        if header & FLAGS & !PREV_FREE != 0 || size < need || size - need >= MIN_BLOCK || size > room {
            return Err(foreign);
        }
        if self.stats.live == 0 || layout.size() > self.stats.requested {
            return Err(foreign);
        }
        // SAFETY: `size <= room`, so the next header is in the region (at most the sentinel).
        let next_header = unsafe { header_of(block.add(size)) };
        let next_size = next_header & !FLAGS;
        let next_ok =
            if size == room { next_header == 0 } else { next_size >= MIN_BLOCK && next_size <= room - size };
        if !next_ok || next_header & FLAGS & !FREE != 0 {
            return Err(foreign);
        }
        if header & PREV_FREE != 0 {
            if block == first {
                return Err(foreign);
            }
            // SAFETY: `block > first`, so the word before it is in the region.
            let prev_size = unsafe { block.sub(WORD).cast::<usize>().read() };
            if prev_size % GRANULE != 0 || prev_size < MIN_BLOCK || prev_size > block.addr() - first.addr() {
                return Err(foreign);
            }
            // SAFETY: `prev_size <= block - first`, so the supposed header is in the region.
            if unsafe { header_of(block.sub(prev_size)) } != prev_size | FREE {
                return Err(foreign);
            }
        }
        Ok(())
    }

    fn exhausted(&self, layout: Layout) -> AllocError {
        AllocError::Exhausted { layout, free: self.stats.free(), largest: self.largest_free() }
    }
}

impl RawAllocator for Tlsf<'_> {
    /// O(1) (two bit scans), unless no block of the next class up is free: then the lists of
    /// the classes that may hold a fitting block are walked before exhaustion is reported.
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if let Some(need) = block_size(layout.size())
            && let Some((block, size, gap, head)) = self.find_fit(need, layout.align())
        {
            // SAFETY: `find_fit` found `block` on the free lists (the head of `head`'s), and
            // accepted `gap`.
            let (block, size) = unsafe { self.take(block, size, gap, need, head) };
            self.stats.on_alloc(size, layout.size());
            // SAFETY: the payload follows the header.
            return Ok(user_block(unsafe { block.add(WORD) }, size - WORD));
        }
        self.stats.failures += 1;
        Err(self.exhausted(layout))
    }

    /// O(1): merges with the free neighbours and pushes the result on a list. Debug builds
    /// check the pointer first (see the module documentation).
    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        // SAFETY: forwarded under the caller's contract (checked in debug builds).
        let (block, header) = unsafe { self.locate(ptr, layout) }?;
        // SAFETY: `locate` found the live block's header.
        unsafe { self.release(block, header, layout.size()) };
        Ok(())
    }

    /// Resizes the block at `ptr` from `old` to `new`, keeping the first
    /// `min(old.size(), new.size())` bytes: in place when the block is suitably aligned and can
    /// grow or shrink there, else by moving down into a free block just before it, else by
    /// allocating a new block, copying and freeing the old one. On failure the old block is left
    /// as it was.
    ///
    /// Debug builds refuse (with [`AllocError::Unsupported`]) a pointer that is not a live block
    /// of this heap.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded under the caller's contract (checked in debug builds).
        let (block, header) = unsafe { self.locate(ptr, old) }.map_err(|_| not_ours(old))?;
        let keep = cmp::min(old.size(), new.size());
        if ptr.addr().get().is_multiple_of(new.align()) {
            if new.size() <= old.size() {
                // A block that shrinks to half or less moves into a hole that fits it, if there
                // is one: shrinking in place would leave a small block stranded inside a large
                // run that could later serve a large request (heap efficiency: 95.4% -> 97.5%
                // on the random-actions workload with resizes).
                if new.size() <= old.size() / 2 {
                    let failures = self.stats.failures;
                    let attempt = self.allocate(new);
                    // Finding no hole is not a failure of this request: it shrinks in place.
                    self.stats.failures = failures;
                    if let Ok(moved) = attempt {
                        // SAFETY: the new block is at least `keep` bytes and never overlaps the
                        // live old one; the old block's header is read again, since the
                        // allocation may have changed its prev-free flag.
                        unsafe {
                            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.cast::<u8>().as_ptr(), keep);
                            self.release(block, header_of(block), old.size());
                        }
                        return Ok(moved);
                    }
                }
                // SAFETY: `locate` found the live block's header.
                return Ok(unsafe { self.shrink_at(block, header, old.size(), new.size()) });
            }
            // SAFETY: as above.
            if let Some(grown) = unsafe { self.grow_at(block, header, old.size(), new.size()) } {
                return Ok(grown);
            }
        }
        // SAFETY: as above; `keep` bytes of the block are the caller's data.
        if let Some(moved) = unsafe { self.move_down(block, header, old.size(), new, keep) } {
            return Ok(moved);
        }
        let moved = self.allocate(new)?;
        // SAFETY: the new block is at least `new.size() >= keep` bytes, the old one at least
        // `old.size() >= keep`; a live block and a newly allocated one never overlap. The old
        // block's header is read again: the allocation may have changed its prev-free flag.
        unsafe {
            ptr::copy_nonoverlapping(ptr.as_ptr(), moved.cast::<u8>().as_ptr(), keep);
            self.release(block, header_of(block), old.size());
        }
        Ok(moved)
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn reset_peak(&mut self) {
        self.stats.peak = self.stats.used;
    }

    /// The usable size of the largest free block: the highest non-empty class and a walk of its
    /// list. A request of this size aligned to at most [`Tlsf::GRANULE`] succeeds.
    fn largest_free(&self) -> usize {
        if self.fl_bitmap == 0 {
            return 0;
        }
        let fl = (usize::BITS - 1 - self.fl_bitmap.leading_zeros()) as usize;
        let sl = (u32::BITS - 1 - self.sl_bitmap[fl].leading_zeros()) as usize;
        let (mut block, mut largest) = (self.heads[fl][sl], 0);
        while !block.is_null() {
            // SAFETY: blocks on the free lists are free blocks inside regions.
            largest = cmp::max(largest, unsafe { header_of(block) } & !FLAGS);
            // SAFETY: as above.
            block = unsafe { next_of(block) };
        }
        largest.saturating_sub(WORD)
    }
}

/// A free block found for a request: the block, its size, the gap to leave before the used
/// block, and its class when it is the head of that class's list.
type Fit = (*mut u8, usize, usize, Option<(usize, usize)>);

/// The index of the highest set bit of `x` (not 0): `usize::BITS - 1 - x.leading_zeros()`.
///
/// MIPS before MIPS32 (the PlayStation's R3000, and the PSP as LLVM sees its Allegrex) has no
/// count-leading-zeros instruction, and the compiler's inline replacement is some 35
/// instructions; there ([`NO_CLZ`]), two comparisons and a table lookup take about ten.
#[inline(always)]
fn floor_log2(x: usize) -> u32 {
    if NO_CLZ { floor_log2_by_table(x as u32) } else { usize::BITS - 1 - x.leading_zeros() }
}

/// Whether the target lacks a count-leading-zeros instruction: MIPS I and II, the PlayStation's
/// R3000 and the PSP (LLVM does not know the Allegrex's `clz`).
const NO_CLZ: bool = cfg!(all(target_arch = "mips", target_vendor = "sony"));

/// The index of the lowest set bit of `x` (not 0): `x.trailing_zeros()`; on MIPS before
/// MIPS32, the highest bit of `x & -x` by the table, cheaper than the compiler's multiplication.
#[inline(always)]
fn lowest_bit(x: usize) -> u32 {
    if NO_CLZ { floor_log2_by_table((x & x.wrapping_neg()) as u32) } else { x.trailing_zeros() }
}

/// [`floor_log2`] of a 32-bit `x` (not 0) by two comparisons and a 256-byte table.
#[inline(always)]
fn floor_log2_by_table(x: u32) -> u32 {
    /// The index of the highest set bit of each byte (0 for 0).
    static LOG2: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 2;
        while i < 256 {
            t[i] = t[i / 2] + 1;
            i += 1;
        }
        t
    };
    let (mut x, mut log2) = (x, 0);
    if x >> 16 != 0 {
        x >>= 16;
        log2 += 16;
    }
    if x >> 8 != 0 {
        x >>= 8;
        log2 += 8;
    }
    log2 + u32::from(LOG2[(x & 0xff) as usize])
}

/// The block size that serves a request of `size` bytes, if any block can.
#[inline]
fn block_size(size: usize) -> Option<usize> {
    let need = cmp::max(size.checked_add(WORD + GRANULE - 1)? & !(GRANULE - 1), MIN_BLOCK);
    (need <= MAX_BLOCK).then_some(need)
}

/// The class of a block of `size` bytes (a multiple of the granule, at most `MAX_BLOCK`).
#[inline]
fn class_of(size: usize) -> (usize, usize) {
    if size < 1 << LINEAR_LOG2 {
        (0, size >> GRANULE_LOG2)
    } else {
        let log2 = floor_log2(size);
        ((log2 - LINEAR_LOG2 + 1) as usize, (size >> (log2 - SL_LOG2)) & (SL_COUNT - 1))
    }
}

/// The first class all of whose blocks hold at least `size` bytes, if there is one.
#[inline]
fn class_at_least(size: usize) -> Option<(usize, usize)> {
    let size = if size < 1 << LINEAR_LOG2 {
        size
    } else {
        let log2 = floor_log2(size);
        size.checked_add((1 << (log2 - SL_LOG2)) - 1)?
    };
    let class = class_of(size);
    (class.0 < FL_COUNT).then_some(class)
}

/// Where a block of `need` bytes whose payload is aligned to `align` fits in the free block
/// `block` of `size` bytes: the gap before it (0, or at least a minimum block), if it fits.
#[inline]
fn fit(block: *mut u8, size: usize, need: usize, align: usize) -> Option<usize> {
    let payload = block.addr() + WORD;
    let mut gap = align_up(payload, align)? - payload;
    if gap != 0 && gap < MIN_BLOCK {
        gap = gap.checked_add(align)?;
    }
    (gap.checked_add(need)? <= size).then_some(gap)
}

/// The error for a pointer that the debug checks refused in a resizing call.
fn not_ours(layout: Layout) -> AllocError {
    AllocError::Unsupported { layout, why: "not a live block of this heap" }
}

/// The block handed to the caller.
#[inline]
fn user_block(payload: *mut u8, len: usize) -> NonNull<[u8]> {
    // SAFETY: payloads lie inside regions, which start at a non-null pointer (checked by
    // `extend`) and do not wrap around the address space.
    unsafe { NonNull::new_unchecked(ptr::slice_from_raw_parts_mut(payload, len)) }
}

/// What headers are XOR-ed with: in debug builds a pattern derived from the address, so that a
/// pointer that is not a block start is unlikely to find a plausible header before it.
#[inline(always)]
fn canary(block: *mut u8) -> usize {
    if cfg!(debug_assertions) {
        block.addr().rotate_left(13) ^ (0x5AD1_C0DE_A110_C8ED_u64 as usize)
    } else {
        0
    }
}

/// The header of the block (or sentinel) at `block`.
///
/// # Safety
/// `block` is word-aligned and a word at it is readable (a block start inside a region).
#[inline(always)]
unsafe fn header_of(block: *mut u8) -> usize {
    // SAFETY: caller.
    unsafe { block.cast::<usize>().read() ^ canary(block) }
}

/// # Safety
/// As for [`header_of`], writable.
#[inline(always)]
unsafe fn set_header(block: *mut u8, header: usize) {
    // SAFETY: caller.
    unsafe { block.cast::<usize>().write(header ^ canary(block)) }
}

/// Writes the header and footer of a free block (prev-free clear: its predecessor is used).
///
/// # Safety
/// `block..block + size` is in a region, `size >= MIN_BLOCK`.
#[inline(always)]
unsafe fn make_free(block: *mut u8, size: usize) {
    // SAFETY: caller; both words are inside the block.
    unsafe {
        set_header(block, size | FREE);
        block.add(size - WORD).cast::<usize>().write(size);
    }
}

/// # Safety
/// `block` is a free block inside a region.
#[inline(always)]
unsafe fn next_of(block: *mut u8) -> *mut u8 {
    // SAFETY: caller: a free block's second word is its next link.
    unsafe { block.add(WORD).cast::<*mut u8>().read() }
}

/// # Safety
/// `block` is a free block inside a region.
#[inline(always)]
unsafe fn prev_of(block: *mut u8) -> *mut u8 {
    // SAFETY: caller: a free block's third word is its previous link.
    unsafe { block.add(2 * WORD).cast::<*mut u8>().read() }
}

/// # Safety
/// `block` is a free block inside a region.
#[inline(always)]
unsafe fn set_next(block: *mut u8, next: *mut u8) {
    // SAFETY: caller.
    unsafe { block.add(WORD).cast::<*mut u8>().write(next) }
}

/// # Safety
/// `block` is a free block inside a region.
#[inline(always)]
unsafe fn set_prev(block: *mut u8, prev: *mut u8) {
    // SAFETY: caller.
    unsafe { block.add(2 * WORD).cast::<*mut u8>().write(prev) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_finds_the_highest_bit_as_the_instruction_does() {
        let mut x = 1u32;
        for _ in 0..200_000 {
            for v in [x, x | 1, x.rotate_left(7) | 1, u32::MAX >> (x % 32)] {
                assert_eq!(super::floor_log2_by_table(v), 31 - v.leading_zeros(), "{v:#x}");
            }
            x = x.wrapping_mul(0x9e37_79b9).wrapping_add(1) | 1;
        }
        for b in 0..32 {
            assert_eq!(super::floor_log2_by_table(1 << b), b);
        }
    }

    use super::*;

    const HEAP: usize = 64 * 1024;

    #[repr(C, align(4096))]
    struct Arena<const N: usize>([MaybeUninit<u8>; N]);

    impl<const N: usize> Arena<N> {
        fn new() -> Self {
            Self([MaybeUninit::uninit(); N])
        }
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    fn fill(block: NonNull<[u8]>, byte: u8) {
        // SAFETY: the block is live and `len` bytes long.
        unsafe { block.cast::<u8>().as_ptr().write_bytes(byte, block.len()) };
    }

    fn holds(block: NonNull<[u8]>, len: usize, byte: u8) -> bool {
        // SAFETY: the block is live, at least `len` bytes long, and was filled.
        unsafe { core::slice::from_raw_parts(block.cast::<u8>().as_ptr(), len) }.iter().all(|&b| b == byte)
    }

    fn all_back(heap: &Tlsf<'_>) {
        heap.check().unwrap();
        let stats = heap.stats();
        assert_eq!((stats.used, stats.requested, stats.live), (0, 0, 0));
        assert_eq!(heap.largest_free(), stats.capacity - Tlsf::HEADER);
    }

    #[test]
    fn classes_bound_their_sizes() {
        let mut size = MIN_BLOCK;
        while size < 1 << 20 {
            let (fl, sl) = class_of(size);
            assert!(fl < FL_COUNT && sl < SL_COUNT);
            let (afl, asl) = class_at_least(size).unwrap();
            assert!((afl, asl) >= (fl, sl));
            // The lower bound of the class found is at least `size`.
            let lower = if afl == 0 {
                asl << GRANULE_LOG2
            } else {
                (SL_COUNT + asl) << (afl as u32 - 1 + GRANULE_LOG2)
            };
            assert!(lower >= size, "{size} -> {afl},{asl} ({lower})");
            assert_eq!(class_of(lower), (afl, asl));
            size += GRANULE;
        }
        assert!(class_of(MAX_BLOCK).0 < FL_COUNT);
        assert_eq!(class_at_least(usize::MAX - GRANULE), None);
    }

    #[test]
    fn layout_constants() {
        assert_eq!(Tlsf::HEADER, size_of::<usize>());
        assert_eq!(Tlsf::MIN_BLOCK, 4 * size_of::<usize>());
        assert_eq!(block_size(0), Some(MIN_BLOCK));
        assert_eq!(block_size(MIN_BLOCK - WORD), Some(MIN_BLOCK));
        assert_eq!(block_size(MIN_BLOCK - WORD + 1), Some(MIN_BLOCK + GRANULE));
        assert_eq!(block_size(usize::MAX), None);
    }

    #[test]
    fn tiny_and_null_memory_give_an_empty_heap() {
        let mut small = [MaybeUninit::uninit(); 8];
        let mut heap = Tlsf::new(&mut small);
        assert_eq!(heap.stats().capacity, 0);
        assert_eq!(heap.largest_free(), 0);
        assert!(matches!(
            heap.allocate(layout(0, 1)),
            Err(AllocError::Exhausted { free: 0, largest: 0, .. })
        ));
        // SAFETY: a null pointer adds nothing.
        let heap = unsafe { Tlsf::from_raw_parts(ptr::null_mut(), 4096) };
        assert_eq!(heap.stats().capacity, 0);
        heap.check().unwrap();
    }

    #[test]
    fn capacity_and_region_overhead() {
        let mut arena = Arena::<HEAP>::new();
        for skew in 0..GRANULE {
            let heap = Tlsf::new(&mut arena.0[skew..]);
            let capacity = heap.stats().capacity;
            assert!(capacity > HEAP - skew - Tlsf::REGION_OVERHEAD && capacity <= HEAP - skew);
            all_back(&heap);
        }
    }

    #[test]
    fn every_alignment_up_to_4096() {
        let mut arena = Arena::<HEAP>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let mut live = [None; 13 * 3];
        for shift in 0..=12 {
            for (k, size) in [0, 1, 100].into_iter().enumerate() {
                let l = layout(size, 1 << shift);
                let block = heap.allocate(l).unwrap();
                assert_eq!(block.cast::<u8>().as_ptr().addr() % l.align(), 0);
                assert!(block.len() >= size);
                fill(block, shift as u8);
                live[shift * 3 + k] = Some((block, l));
                heap.check().unwrap();
            }
        }
        for (i, &(block, l)) in live.iter().flatten().enumerate() {
            assert!(holds(block, l.size(), (i / 3) as u8));
            // SAFETY: allocated above with `l`.
            unsafe { heap.deallocate(block.cast(), l) }.unwrap();
            heap.check().unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn leading_gap_becomes_a_free_block() {
        let mut arena = Arena::<HEAP>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let l = layout(64, 4096);
        let block = heap.allocate(l).unwrap();
        // The heap starts 4096-aligned, so the first aligned payload is 4096 bytes in: the gap
        // before it is free, and a small request fits there.
        let start = arena_start(&heap);
        assert!(block.cast::<u8>().as_ptr().addr() - start < 4096 + GRANULE * 2);
        let small = heap.allocate(layout(16, 8)).unwrap();
        assert!(small.cast::<u8>().as_ptr().addr() < block.cast::<u8>().as_ptr().addr());
        heap.check().unwrap();
        // SAFETY: allocated above with these layouts.
        unsafe {
            heap.deallocate(small.cast(), layout(16, 8)).unwrap();
            heap.deallocate(block.cast(), l).unwrap();
        }
        all_back(&heap);
    }

    fn arena_start(heap: &Tlsf<'_>) -> usize {
        heap.regions().last().unwrap().0.addr()
    }

    #[test]
    fn zero_sized_requests_get_distinct_blocks() {
        let mut arena = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let a = heap.allocate(layout(0, 1)).unwrap();
        let b = heap.allocate(layout(0, 1)).unwrap();
        assert_ne!(a.cast::<u8>(), b.cast::<u8>());
        assert_eq!(heap.stats().used, 2 * MIN_BLOCK);
        assert_eq!(heap.stats().requested, 0);
        // SAFETY: allocated above with this layout.
        unsafe {
            heap.deallocate(a.cast(), layout(0, 1)).unwrap();
            heap.deallocate(b.cast(), layout(0, 1)).unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn exact_fit_takes_everything() {
        let mut arena = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let largest = heap.largest_free();
        let l = layout(largest, 1);
        let block = heap.allocate(l).unwrap();
        assert_eq!(block.len(), largest);
        assert_eq!(heap.stats().used, heap.stats().capacity);
        assert_eq!(heap.largest_free(), 0);
        assert!(heap.allocate(layout(0, 1)).is_err());
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(block.cast(), l) }.unwrap();
        all_back(&heap);
        assert!(heap.allocate(layout(largest + 1, 1)).is_err());
    }

    #[test]
    fn exhaustion_leaves_the_heap_intact() {
        let mut arena = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let l = layout(100, 8);
        let mut blocks = [None; 64];
        let mut n = 0;
        let error = loop {
            match heap.allocate(l) {
                Ok(block) => {
                    fill(block, n as u8);
                    blocks[n] = Some(block);
                    n += 1;
                }
                Err(error) => break error,
            }
        };
        let before = heap.stats();
        assert_eq!(before.failures, 1);
        let AllocError::Exhausted { layout: failed, free, largest } = error else { panic!("{error:?}") };
        assert_eq!((failed, free, largest), (l, before.free(), heap.largest_free()));
        assert!(largest < 100);
        assert!(heap.allocate(l).is_err());
        assert_eq!(heap.stats().used, before.used);
        heap.check().unwrap();
        let victim = blocks[n / 2].take().unwrap();
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(victim.cast(), l) }.unwrap();
        let again = heap.allocate(l).unwrap();
        assert_eq!(again.cast::<u8>(), victim.cast::<u8>());
        blocks[n / 2] = Some(again);
        fill(again, (n / 2) as u8);
        for (i, block) in blocks[..n].iter().enumerate() {
            let block = block.unwrap();
            assert!(holds(block, 100, i as u8));
            // SAFETY: allocated above with this layout.
            unsafe { heap.deallocate(block.cast(), l) }.unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn exact_walk_finds_blocks_the_rounded_search_skips() {
        let mut arena = Arena::<HEAP>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        // A free block of 1100 usable bytes between two used blocks, the rest taken.
        let hole = layout(1100, 8);
        let a = heap.allocate(hole).unwrap();
        let guard = heap.allocate(layout(0, 1)).unwrap();
        let rest = layout(heap.largest_free(), 1);
        let filler = heap.allocate(rest).unwrap();
        // SAFETY: allocated above with this layout.
        unsafe { heap.deallocate(a.cast(), hole) }.unwrap();
        // 1090 bytes round up past the hole's class, but the hole fits them.
        let b = heap.allocate(layout(1090, 8)).unwrap();
        assert_eq!(b.cast::<u8>(), a.cast::<u8>());
        heap.check().unwrap();
        // SAFETY: allocated above with these layouts.
        unsafe {
            heap.deallocate(b.cast(), layout(1090, 8)).unwrap();
            heap.deallocate(guard.cast(), layout(0, 1)).unwrap();
            heap.deallocate(filler.cast(), rest).unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn grow_and_shrink_in_place() {
        let mut arena = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let small = layout(40, 8);
        let a = heap.allocate(small).unwrap();
        let b = heap.allocate(small).unwrap();
        let c = heap.allocate(small).unwrap();
        fill(a, 0xA);
        // SAFETY: `b` was allocated with `small`.
        unsafe { heap.deallocate(b.cast(), small) }.unwrap();
        // `a` grows into `b`'s space, keeping its contents and address.
        // SAFETY: `a` is live with layout `small`.
        let grown = unsafe { heap.grow_in_place(a.cast(), small, 80) }.unwrap();
        assert_eq!(grown.cast::<u8>(), a.cast::<u8>());
        assert!(grown.len() >= 80 && holds(grown, 40, 0xA));
        assert_eq!(heap.stats().requested, 120);
        heap.check().unwrap();
        // Too far: `c` is in the way. Nothing changes.
        let before = heap.stats();
        // SAFETY: `a` is live with 80 bytes.
        let error = unsafe { heap.grow_in_place(a.cast(), layout(80, 8), 400) }.unwrap_err();
        assert!(matches!(error, AllocError::Exhausted { .. }));
        assert_eq!(heap.stats(), before);
        // SAFETY: as above.
        let error = unsafe { heap.grow_in_place(a.cast(), layout(80, 8), 10) }.unwrap_err();
        assert!(matches!(error, AllocError::Unsupported { .. }));
        // Shrinking splits off the tail, which the next allocation can use.
        // SAFETY: as above.
        let shrunk = unsafe { heap.shrink_in_place(a.cast(), layout(80, 8), 8) }.unwrap();
        assert_eq!(shrunk.cast::<u8>(), a.cast::<u8>());
        assert!(holds(shrunk, 8, 0xA));
        assert_eq!(heap.stats().used, MIN_BLOCK + block_size(40).unwrap());
        heap.check().unwrap();
        let d = heap.allocate(layout(16, 8)).unwrap();
        assert!(
            d.cast::<u8>().as_ptr() > a.cast::<u8>().as_ptr()
                && d.cast::<u8>().as_ptr() < c.cast::<u8>().as_ptr()
        );
        // Shrinking by less than a block keeps the block as it is, and always succeeds.
        // SAFETY: `c` is live with layout `small`.
        let same = unsafe { heap.shrink_in_place(c.cast(), small, 39) }.unwrap();
        assert_eq!(same.len(), c.len());
        // SAFETY: `c` is live with 39 bytes.
        assert!(unsafe { heap.shrink_in_place(c.cast(), layout(39, 8), 40) }.is_err());
        // The last block grows into the free rest of the heap.
        // SAFETY: `c` is live with 39 bytes.
        let c = unsafe { heap.grow_in_place(c.cast(), layout(39, 8), 2000) }.unwrap();
        heap.check().unwrap();
        // SAFETY: all live with these layouts.
        unsafe {
            heap.deallocate(a.cast(), layout(8, 8)).unwrap();
            heap.deallocate(d.cast(), layout(16, 8)).unwrap();
            heap.deallocate(c.cast(), layout(2000, 8)).unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn reallocate_moves_when_it_must_and_keeps_contents() {
        let mut arena = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let l = layout(50, 8);
        let a = heap.allocate(l).unwrap();
        let b = heap.allocate(l).unwrap();
        fill(a, 1);
        fill(b, 2);
        // `b` is last: grows in place.
        // SAFETY: live with `l`.
        let b2 = unsafe { heap.reallocate(b.cast(), l, layout(500, 8)) }.unwrap();
        assert_eq!(b2.cast::<u8>(), b.cast::<u8>());
        // `a` is blocked by `b`: moves.
        // SAFETY: live with `l`.
        let a2 = unsafe { heap.reallocate(a.cast(), l, layout(300, 8)) }.unwrap();
        assert_ne!(a2.cast::<u8>(), a.cast::<u8>());
        assert!(holds(a2, 50, 1) && holds(b2, 50, 2));
        assert_eq!(heap.stats().live, 2);
        assert_eq!(heap.stats().requested, 800);
        heap.check().unwrap();
        // A new alignment the block does not have moves it too.
        // SAFETY: live with 300 bytes.
        let a3 = unsafe { heap.reallocate(a2.cast(), layout(300, 8), layout(300, 1024)) }.unwrap();
        assert_eq!(a3.cast::<u8>().as_ptr().addr() % 1024, 0);
        assert!(holds(a3, 50, 1));
        let c = heap.allocate(layout(8, 8)).unwrap();
        heap.check().unwrap();
        // SAFETY: live with these layouts.
        unsafe {
            heap.deallocate(c.cast(), layout(8, 8)).unwrap();
            heap.deallocate(a3.cast(), layout(300, 1024)).unwrap();
            heap.deallocate(b2.cast(), layout(500, 8)).unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn reallocate_moves_down_into_a_free_predecessor() {
        let mut arena = Arena::<1024>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let l = layout(200, 8);
        let a = heap.allocate(l).unwrap();
        let b = heap.allocate(l).unwrap();
        let rest = layout(heap.largest_free(), 1);
        let c = heap.allocate(rest).unwrap();
        fill(b, 7);
        // SAFETY: live with `l`.
        unsafe { heap.deallocate(a.cast(), l) }.unwrap();
        // No room after `b`, none elsewhere but before it.
        // SAFETY: live with `l`.
        let moved = unsafe { heap.reallocate(b.cast(), l, layout(380, 8)) }.unwrap();
        assert_eq!(moved.cast::<u8>(), a.cast::<u8>());
        assert!(holds(moved, 200, 7));
        heap.check().unwrap();
        // SAFETY: live with these layouts.
        unsafe {
            heap.deallocate(moved.cast(), layout(380, 8)).unwrap();
            heap.deallocate(c.cast(), rest).unwrap();
        }
        all_back(&heap);
    }

    #[test]
    fn extend_adds_a_region() {
        let mut first = Arena::<2048>::new();
        let mut second = Arena::<4096>::new();
        let mut heap = Tlsf::new(&mut first.0);
        let l = layout(1500, 8);
        let a = heap.allocate(l).unwrap();
        assert!(heap.allocate(l).is_err());
        let capacity = heap.stats().capacity;
        let added = heap.claim(&mut second.0);
        assert!(added > 4096 - Tlsf::REGION_OVERHEAD);
        assert_eq!(heap.stats().capacity, capacity + added);
        let b = heap.allocate(l).unwrap();
        let second_start = second_addr(&heap);
        assert!(b.cast::<u8>().as_ptr().addr() >= second_start);
        heap.check().unwrap();
        // Memory overlapping a region is refused.
        let inside = b.cast::<u8>().as_ptr();
        // SAFETY: refused before anything is written.
        assert_eq!(unsafe { heap.extend(inside, 256) }, 0);
        // SAFETY: live with `l`.
        unsafe {
            heap.deallocate(a.cast(), l).unwrap();
            heap.deallocate(b.cast(), l).unwrap();
        }
        heap.check().unwrap();
        assert_eq!(heap.stats().used, 0);
        assert_eq!(heap.largest_free(), added - Tlsf::HEADER);
    }

    fn second_addr(heap: &Tlsf<'_>) -> usize {
        heap.regions().next().unwrap().0.addr()
    }

    #[test]
    #[cfg(debug_assertions)]
    fn debug_builds_refuse_double_frees_and_foreign_pointers() {
        let mut arena = Arena::<4096>::new();
        let mut outside = Arena::<64>::new();
        let mut heap = Tlsf::new(&mut arena.0);
        let l = layout(64, 8);
        let a = heap.allocate(l).unwrap().cast::<u8>();
        let b = heap.allocate(l).unwrap().cast::<u8>();
        let c = heap.allocate(l).unwrap().cast::<u8>();
        let stats = heap.stats();
        let foreign = |p: NonNull<u8>| Err(FreeError::Foreign { addr: p.as_ptr().addr() });
        let double = |p: NonNull<u8>| Err(FreeError::DoubleFree { addr: p.as_ptr().addr() });
        fn free(heap: &mut Tlsf<'_>, p: NonNull<u8>, l: Layout) -> Result<(), FreeError> {
            // SAFETY: the pointers below are either live blocks with their layout, or refused
            // by the debug checks before anything is touched.
            unsafe { heap.deallocate(p, l) }
        }

        // Outside every region.
        let outside = NonNull::new(outside.0.as_mut_ptr().cast::<u8>()).unwrap();
        assert_eq!(free(&mut heap, outside, l), foreign(outside));
        // Inside a block, aligned or not, whatever the word before it holds.
        for (offset, byte) in [(1, 0), (GRANULE, 0), (2 * GRANULE, 0x10), (GRANULE, 0x10)] {
            // SAFETY: `b` is live and 64 bytes long.
            unsafe { b.as_ptr().write_bytes(byte, 64) };
            // SAFETY: inside `b`.
            let interior = unsafe { b.add(offset) };
            assert_eq!(free(&mut heap, interior, l), foreign(interior));
        }
        // A real block with the wrong layout.
        assert_eq!(free(&mut heap, b, layout(500, 8)), foreign(b));
        // In the resizing calls.
        // SAFETY: refused by the debug checks.
        let grown = unsafe { heap.grow_in_place(outside, l, 100) };
        assert!(matches!(grown, Err(AllocError::Unsupported { .. })));
        // SAFETY: refused by the debug checks.
        let moved = unsafe { heap.reallocate(outside, l, layout(10, 8)) };
        assert!(matches!(moved, Err(AllocError::Unsupported { .. })));
        assert_eq!(heap.stats(), stats);
        heap.check().unwrap();

        // Double frees: a block on its own, merged with its successor, merged into its
        // predecessor.
        assert_eq!(free(&mut heap, b, l), Ok(()));
        assert_eq!(free(&mut heap, b, l), double(b));
        assert_eq!(free(&mut heap, c, l), Ok(()));
        assert_eq!(free(&mut heap, c, l), double(c));
        assert_eq!(free(&mut heap, b, l), double(b));
        assert_eq!(free(&mut heap, a, l), Ok(()));
        assert_eq!(free(&mut heap, a, l), double(a));
        assert_eq!(free(&mut heap, c, l), double(c));
        all_back(&heap);
    }
}

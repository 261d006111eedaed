//! The buddy allocator: power-of-two blocks, split in halves on demand and merged with their
//! buddy on free, O(log n) allocate and free.
//!
//! Every block is `min_block << order` bytes and *naturally aligned in the address space*: a
//! block of `s` bytes starts at a multiple of `s`, and its buddy (the other half of the block it
//! was split from) is at `addr ^ s`. So any power-of-two alignment up to the block size comes for
//! free: a request is served by a block of `max(size, align, min_block)` rounded up to a power
//! of two.
//!
//! The memory is cut into *root blocks*, the largest naturally aligned power-of-two blocks that
//! fit one after another (none is lost to a non-power-of-two length); they never merge with
//! anything outside. When the memory past the metadata starts at a multiple of the largest
//! power of two that fits, that is the top block; a 3 MiB heap at a 2 MiB boundary is a 2 MiB
//! and a 1 MiB root. (A buffer aligned to its own power-of-two size gives its first bytes to
//! the metadata, so its top block is half the buffer: hand over a little more.)
//!
//! ```text
//!  start                                                                          end
//!  | meta |pad| 64 |    128    |          256          |        128        |32 |tail|
//!            ^ the root blocks: largest naturally aligned blocks that fit
//!
//!  a 48-byte request (min_block 32) takes a 64-byte block, split off a free 256-byte root:
//!  order 3 [                  256 (split)                  ]
//!  order 2 [        128 (split)        ][     128 free      ]   buddies: X and X ^ 128
//!  order 1 [ 64 handed out ][ 64 free  ]                        buddies: Y and Y ^ 64
//! ```
//!
//! - **Free lists**: one per order, doubly linked through the free blocks themselves (next and
//!   previous address: the minimum block is at least two pointers, [`MIN_BLOCK`]), so taking a
//!   buddy off its list is O(1). A mask of non-empty lists finds the smallest fitting order in
//!   O(1); splitting down to the requested order and merging back up are O(log n).
//! - **Metadata**: two bitmaps carved from the start of the memory: one *allocated* bit per
//!   minimum block (set at the first minimum block of each live block) and one *split* bit per
//!   possible block of order 1 and up (set while that block is split in two). From these, the
//!   order of any block is found by walking up from the smallest order to the first split
//!   parent. That is fewer than two bits per minimum block: `1 / (4 * min_block)` of the memory,
//!   about 3.1% with the PlayStation's 8-byte minimum block, 1.6% with 16 bytes, 0.4% with 64.
//!   [`Buddy::metadata_bytes`] says exactly. The `Buddy` value itself holds two words per
//!   possible order (free-list heads and bitmap offsets).
//! - **Frees** are checked in every build (the walk that finds a block's order is the check):
//!   a pointer outside the memory, off a minimum-block boundary or inside a live block is
//!   [`FreeError::Foreign`]; one into free memory (a block freed already, perhaps merged since)
//!   is [`FreeError::DoubleFree`]. Nothing changes on a refused free.
//! - **Stats**: `used` counts whole blocks, `requested` the sizes asked for; the slice handed out
//!   is the whole block.
//!
//! A request larger (or more aligned) than the largest root block is
//! [`AllocError::Unsupported`]; one that does not fit now is [`AllocError::Exhausted`] and
//! leaves the allocator as it was.
//!
//! ```
//! use core::alloc::Layout;
//! use core::mem::MaybeUninit;
//! use flight_memory::alloc::{Buddy, RawAllocator};
//!
//! let mut heap = [MaybeUninit::<u8>::uninit(); 8192];
//! let mut buddy = Buddy::new(&mut heap, 32);
//! let top = buddy.top_block();
//! let block = buddy.allocate(Layout::from_size_align(100, 64).unwrap()).unwrap();
//! assert_eq!(block.len(), 128);
//! assert_eq!(block.cast::<u8>().as_ptr() as usize % 128, 0, "naturally aligned");
//! // SAFETY: the block is live, from `buddy`, with this layout.
//! unsafe { buddy.deallocate(block.cast(), Layout::from_size_align(100, 64).unwrap()) }.unwrap();
//! assert_eq!(buddy.largest_free(), top, "merged back");
//! ```

use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr::NonNull;

use super::{AllocError, FreeError, RawAllocator, Stats, align_up, block};

/// The smallest minimum block: two pointers, room for a free block's list links (8 bytes on the
/// PlayStation, 16 on a 64-bit host).
pub const MIN_BLOCK: usize = 2 * size_of::<usize>();

/// Bits in a metadata word.
const WORD_BITS: usize = usize::BITS as usize;

/// The most orders there can be: a block size fits a `usize`.
const ORDERS: usize = usize::BITS as usize;

/// A buddy allocator over memory the caller hands it.
#[derive(Debug)]
pub struct Buddy<'a> {
    /// First managed byte, a multiple of the minimum block.
    lo: usize,
    /// One past the last managed byte, a multiple of the minimum block.
    hi: usize,
    /// log2 of the minimum block size.
    min_shift: u32,
    /// The order of the largest root block (0 when nothing is managed).
    max_order: usize,
    /// The first free block of each order, 0 when there is none.
    heads: [usize; ORDERS],
    /// Bit `k` set when the free list of order `k` is not empty.
    nonempty: usize,
    /// Bit index in `meta` of the first split bit of each order `1..=max_order`.
    split_base: [usize; ORDERS],
    /// The bitmaps carved from the start of the memory: the allocated bits (one per minimum
    /// block of `lo..hi`), then the split bits of order 1, 2, ... (one per block of that order
    /// that overlaps `lo..hi`).
    meta: &'a mut [usize],
    stats: Stats,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

/// Split bits of order `k` (≥ 1): one per block of that order overlapping `lo..hi`.
fn split_bits(lo: usize, hi: usize, shift: u32) -> usize {
    ((hi - 1) >> shift) - (lo >> shift) + 1
}

/// The order of the root block at `at`: the largest naturally aligned block that starts there
/// and ends by `hi` (`lo <= at < hi`, both multiples of `1 << min_shift`).
fn root_order(at: usize, hi: usize, min_shift: u32) -> usize {
    let by_alignment = at.trailing_zeros().min(usize::BITS - 1);
    let by_room = usize::BITS - 1 - (hi - at).leading_zeros();
    (by_alignment.min(by_room) - min_shift) as usize
}

/// The largest root order of `lo..hi`, and the metadata bits that range needs. Both only shrink
/// as `lo` grows.
fn geometry(lo: usize, hi: usize, min_shift: u32) -> (usize, usize) {
    if lo >= hi {
        return (0, 0);
    }
    let mut max_order = 0;
    let mut at = lo;
    while at < hi {
        let order = root_order(at, hi, min_shift);
        max_order = max_order.max(order);
        at += 1 << (min_shift + order as u32);
    }
    let mut bits = (hi - lo) >> min_shift;
    for k in 1..=max_order {
        bits += split_bits(lo, hi, min_shift + k as u32);
    }
    (max_order, bits)
}

impl<'a> Buddy<'a> {
    /// A buddy allocator over `memory`, with blocks of at least `min_block` bytes (rounded up
    /// to a power of two and to [`MIN_BLOCK`]). Its metadata is carved from the start of the
    /// memory.
    pub fn new(memory: &'a mut [MaybeUninit<u8>], min_block: usize) -> Self {
        // SAFETY: the slice is valid and exclusively borrowed for 'a.
        unsafe { Self::from_raw_parts(memory.as_mut_ptr().cast(), memory.len(), min_block) }
    }

    /// A buddy allocator over `len` bytes at `start` (such as a heap between two linker
    /// symbols).
    ///
    /// # Safety
    /// The bytes must be valid for reads and writes, used by nothing else for `'a`, and
    /// `start + len` must not wrap.
    pub unsafe fn from_raw_parts(start: *mut u8, len: usize, min_block: usize) -> Self {
        // A minimum block too large to exist leaves the allocator empty.
        let min = min_block.max(MIN_BLOCK).checked_next_power_of_two().unwrap_or(1 << (usize::BITS - 1));
        let min_shift = min.trailing_zeros();
        let start = start as usize;
        let end = start + len;
        let hi = end & !(min - 1);
        // Size the bitmaps for all of the memory (an upper bound), carve them, then lay them out
        // for what is left.
        let meta_start = align_up(start, align_of::<usize>()).map_or(end, |m| m.min(end));
        let first = align_up(meta_start, min).unwrap_or(end);
        let words = geometry(first, hi, min_shift).1.div_ceil(WORD_BITS);
        let meta_end = meta_start + (words * size_of::<usize>()).min(end - meta_start);
        let words = (meta_end - meta_start) / size_of::<usize>();
        let lo = align_up(meta_end, min).unwrap_or(end);
        let (lo, hi) = if lo < hi { (lo, hi) } else { (hi, hi) };
        let (max_order, _) = geometry(lo, hi, min_shift);
        let meta: &'a mut [usize] = if words == 0 {
            // `meta_start` may be the unaligned end of a tiny memory.
            &mut []
        } else {
            // SAFETY: `words` words from `meta_start` lie inside the memory (before `lo`), are
            // aligned for a usize and are not used for anything else.
            unsafe { core::slice::from_raw_parts_mut(meta_start as *mut usize, words) }
        };
        meta.fill(0);
        let mut split_base = [0; ORDERS];
        let mut next = (hi - lo) >> min_shift;
        for (k, base) in split_base.iter_mut().enumerate().take(max_order + 1).skip(1) {
            *base = next;
            next += split_bits(lo, hi, min_shift + k as u32);
        }
        let mut buddy = Self {
            lo,
            hi,
            min_shift,
            max_order,
            heads: [0; ORDERS],
            nonempty: 0,
            split_base,
            meta,
            stats: Stats { capacity: hi - lo, ..Stats::default() },
            _memory: PhantomData,
        };
        let mut at = lo;
        while at < hi {
            let order = root_order(at, hi, min_shift);
            buddy.push(order, at);
            at += buddy.size(order);
        }
        buddy
    }

    /// The size of the smallest block.
    pub fn min_block(&self) -> usize {
        1 << self.min_shift
    }

    /// The size of the largest block (the largest root block), 0 when nothing is managed.
    pub fn top_block(&self) -> usize {
        if self.hi > self.lo { self.size(self.max_order) } else { 0 }
    }

    /// The bytes carved from the start of the memory for the bitmaps.
    pub fn metadata_bytes(&self) -> usize {
        size_of_val(self.meta)
    }

    /// The block size that would serve `layout`, or `None` if no block can.
    pub fn block_size_for(&self, layout: Layout) -> Option<usize> {
        self.order_for(layout).map(|order| self.size(order))
    }

    /// The size of a block of `order`.
    fn size(&self, order: usize) -> usize {
        1 << (self.min_shift + order as u32)
    }

    /// The order of the block that serves `layout`, if one can.
    fn order_for(&self, layout: Layout) -> Option<usize> {
        let size = layout.size().max(layout.align()).max(self.min_block()).checked_next_power_of_two()?;
        let order = (size.trailing_zeros() - self.min_shift) as usize;
        (self.hi > self.lo && order <= self.max_order).then_some(order)
    }

    fn bit(&self, i: usize) -> bool {
        self.meta.get(i / WORD_BITS).is_some_and(|w| (w >> (i % WORD_BITS)) & 1 != 0)
    }

    fn set_bit(&mut self, i: usize, value: bool) {
        if let Some(w) = self.meta.get_mut(i / WORD_BITS) {
            let mask = 1 << (i % WORD_BITS);
            if value {
                *w |= mask;
            } else {
                *w &= !mask;
            }
        }
    }

    /// The allocated bit of the block starting at `at`.
    fn allocated_bit(&self, at: usize) -> usize {
        (at - self.lo) >> self.min_shift
    }

    /// The split bit of the block of `order` (1..=max_order) containing `at`.
    fn split_bit(&self, order: usize, at: usize) -> usize {
        let shift = self.min_shift + order as u32;
        self.split_base[order] + (at >> shift) - (self.lo >> shift)
    }

    fn is_split(&self, order: usize, at: usize) -> bool {
        order > 0 && self.bit(self.split_bit(order, at))
    }

    /// Whether the block of `order` containing `at` lies inside the managed memory.
    fn inside(&self, order: usize, at: usize) -> bool {
        let size = self.size(order);
        let node = at & !(size - 1);
        node >= self.lo && self.hi - node >= size
    }

    /// The order of the block (free or live) that contains `at`: the child of the lowest split
    /// block containing it, or its root.
    fn order_at(&self, at: usize) -> usize {
        let mut order = 0;
        while order < self.max_order && self.inside(order + 1, at) && !self.is_split(order + 1, at) {
            order += 1;
        }
        order
    }

    /// The order of the live block starting at `addr`, or why `addr` is not one.
    fn live_order(&self, addr: usize) -> Result<usize, FreeError> {
        if addr < self.lo || addr >= self.hi || addr & (self.min_block() - 1) != 0 {
            return Err(FreeError::Foreign { addr });
        }
        let order = self.order_at(addr);
        let start = addr & !(self.size(order) - 1);
        match (start == addr, self.bit(self.allocated_bit(start))) {
            (true, true) => Ok(order),
            (false, true) => Err(FreeError::Foreign { addr }),
            (_, false) => Err(FreeError::DoubleFree { addr }),
        }
    }

    /// Puts the free block `at` of `order` at the head of its list.
    fn push(&mut self, order: usize, at: usize) {
        let head = self.heads[order];
        let links = at as *mut usize;
        // SAFETY: `at` is a free block of this allocator: at least two words long, aligned for
        // them, and owned by nobody else.
        unsafe {
            links.write(head);
            links.add(1).write(0);
        }
        if head != 0 {
            // SAFETY: `head` is a free block on this list; its second word is its `prev` link.
            unsafe { (head as *mut usize).add(1).write(at) };
        }
        self.heads[order] = at;
        self.nonempty |= 1 << order;
    }

    /// Takes the free block `at` off the list of `order`.
    fn unlink(&mut self, order: usize, at: usize) {
        let links = at as *mut usize;
        // SAFETY: `at` is a free block on the list of `order`, holding its `next` and `prev`.
        let (next, prev) = unsafe { (links.read(), links.add(1).read()) };
        if prev == 0 {
            self.heads[order] = next;
        } else {
            // SAFETY: `prev` is a free block on the same list; its first word is its `next`.
            unsafe { (prev as *mut usize).write(next) };
        }
        if next != 0 {
            // SAFETY: `next` is a free block on the same list; its second word is its `prev`.
            unsafe { (next as *mut usize).add(1).write(prev) };
        }
        if self.heads[order] == 0 {
            self.nonempty &= !(1 << order);
        }
    }

    /// Splits the block `at` of `from` down to `to`, freeing the upper half at each step.
    fn split(&mut self, at: usize, from: usize, to: usize) {
        let mut order = from;
        while order > to {
            let bit = self.split_bit(order, at);
            self.set_bit(bit, true);
            order -= 1;
            self.push(order, at + self.size(order));
        }
    }

    /// Frees the block `at` of `order`, merging it with its buddy for as long as that is free.
    fn release(&mut self, mut at: usize, mut order: usize) {
        while order < self.max_order && self.inside(order + 1, at) {
            let size = self.size(order);
            let buddy = at ^ size;
            // The parent is split, so the buddy is whole unless it is split itself.
            if self.is_split(order, buddy) || self.bit(self.allocated_bit(buddy)) {
                break;
            }
            self.unlink(order, buddy);
            at &= !size;
            order += 1;
            let bit = self.split_bit(order, at);
            self.set_bit(bit, false);
        }
        self.push(order, at);
    }
}

impl RawAllocator for Buddy<'_> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let Some(order) = self.order_for(layout) else {
            self.stats.failures += 1;
            return Err(AllocError::Unsupported {
                layout,
                why: "larger or more aligned than the largest block",
            });
        };
        let fitting = self.nonempty & (usize::MAX << order);
        if fitting == 0 {
            self.stats.failures += 1;
            return Err(AllocError::Exhausted {
                layout,
                free: self.stats.free(),
                largest: self.largest_free(),
            });
        }
        let from = fitting.trailing_zeros() as usize;
        let at = self.heads[from];
        self.unlink(from, at);
        self.split(at, from, order);
        let bit = self.allocated_bit(at);
        self.set_bit(bit, true);
        let size = self.size(order);
        self.stats.on_alloc(size, layout.size());
        Ok(block(at, size))
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let at = ptr.as_ptr() as usize;
        let order = self.live_order(at)?;
        let bit = self.allocated_bit(at);
        self.set_bit(bit, false);
        self.stats.on_free(self.size(order), layout.size());
        self.release(at, order);
        Ok(())
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn reset_peak(&mut self) {
        self.stats.peak = self.stats.used;
    }

    fn largest_free(&self) -> usize {
        match self.nonempty {
            0 => 0,
            mask => self.size((usize::BITS - 1 - mask.leading_zeros()) as usize),
        }
    }

    /// In place when the new layout needs a block of the same order or smaller (the upper
    /// halves are freed); otherwise allocate, copy, free. A pointer that is not a live block
    /// is refused with [`AllocError::Unsupported`] before anything is read.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let at = ptr.as_ptr() as usize;
        let Ok(order) = self.live_order(at) else {
            self.stats.failures += 1;
            return Err(AllocError::Unsupported { layout: new, why: "not a live block of this allocator" });
        };
        match self.order_for(new) {
            Some(to) if to <= order => {
                self.split(at, order, to);
                self.stats.used -= self.size(order) - self.size(to);
                self.stats.requested = self.stats.requested.saturating_sub(old.size()) + new.size();
                Ok(block(at, self.size(to)))
            }
            // SAFETY: `at` was checked above to be a live block of this allocator.
            _ => unsafe { super::move_block(self, ptr, old, new) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Memory aligned to its size, so that (after the metadata) the roots are predictable.
    #[repr(C, align(4096))]
    struct Arena([MaybeUninit<u8>; 4096]);

    fn arena() -> Arena {
        Arena([MaybeUninit::uninit(); 4096])
    }

    fn addr(b: NonNull<[u8]>) -> usize {
        b.cast::<u8>().as_ptr() as usize
    }

    #[test]
    fn metadata_is_carved_and_roots_cover_the_rest() {
        let mut mem = arena();
        let base = mem.0.as_ptr() as usize;
        let b = Buddy::new(&mut mem.0, 32);
        assert_eq!(b.min_block(), 32);
        // 4096 / 32 = 128 allocated bits + 64 + 32 + ... split bits: under 256 bits.
        assert!(b.metadata_bytes() <= 256 / 8 + size_of::<usize>());
        assert_eq!(b.stats().capacity, 4096 - align_up(b.metadata_bytes(), 32).unwrap());
        assert_eq!(b.top_block(), 2048, "the upper half is one root");
        assert_eq!(b.largest_free(), 2048);
        assert!(b.lo >= base + b.metadata_bytes());
    }

    #[test]
    fn splits_and_merges_back_to_the_top_block() {
        let mut mem = arena();
        let mut b = Buddy::new(&mut mem.0, 16);
        let top = b.top_block();
        let y = b.allocate(layout(100, 8)).unwrap();
        assert_eq!(y.len(), 128, "the slice is the whole block");
        // Small blocks come from the smallest free blocks first; go on until the top one splits.
        let mut small = [NonNull::dangling(); 256];
        let mut n = 0;
        while b.largest_free() == top {
            small[n] = b.allocate(layout(1, 1)).unwrap().cast::<u8>();
            n += 1;
        }
        assert_eq!((b.stats().used, b.stats().requested, b.stats().live), (n * 16 + 128, n + 100, n + 1));
        // SAFETY: live blocks of `b`, each freed once (every other one first).
        unsafe {
            for p in small[..n].iter().step_by(2).chain(small[1..n].iter().step_by(2)) {
                b.deallocate(*p, layout(1, 1)).unwrap();
            }
            b.deallocate(y.cast(), layout(100, 8)).unwrap();
        }
        assert_eq!(b.largest_free(), top, "coalescing brings back the top block");
        assert_eq!((b.stats().used, b.stats().requested), (0, 0));
        let all = b.allocate(layout(top, 1)).unwrap();
        assert_eq!(all.len(), top);
    }

    #[test]
    fn blocks_are_naturally_aligned() {
        let mut mem = arena();
        let mut b = Buddy::new(&mut mem.0, 16);
        for align in [1, 16, 64, 256, 1024] {
            let x = b.allocate(layout(24, align)).unwrap();
            assert_eq!(addr(x) % align, 0);
            assert_eq!(addr(x) % x.len(), 0, "a block is aligned to its size");
            assert!(x.len() >= 24 && x.len() >= align);
        }
        let too_aligned = b.allocate(layout(8, 2 * b.top_block()));
        assert!(matches!(too_aligned, Err(AllocError::Unsupported { .. })));
    }

    #[test]
    fn exhaustion_leaves_it_intact() {
        let mut mem = arena();
        let mut b = Buddy::new(&mut mem.0, 16);
        let top = b.top_block();
        let whole = b.allocate(layout(top, 1)).unwrap();
        let mut small = 0;
        while b.allocate(layout(16, 1)).is_ok() {
            small += 1;
        }
        let before = b.stats();
        let err = b.allocate(layout(16, 1)).unwrap_err();
        assert_eq!(err, AllocError::Exhausted { layout: layout(16, 1), free: 0, largest: 0 });
        assert_eq!(b.stats().used, before.used);
        assert_eq!(b.stats().failures, before.failures + 1);
        assert_eq!(before.used, before.capacity, "every byte was handed out");
        assert!(small > 0);
        let too_big = b.allocate(layout(2 * top, 1));
        assert!(matches!(too_big, Err(AllocError::Unsupported { .. })));
        // SAFETY: live block, freed once.
        unsafe { b.deallocate(whole.cast(), layout(top, 1)).unwrap() };
        assert_eq!(b.largest_free(), top);
    }

    #[test]
    fn foreign_and_double_frees_are_refused() {
        let mut mem = arena();
        let mut b = Buddy::new(&mut mem.0, 16);
        let x = b.allocate(layout(64, 1)).unwrap().cast::<u8>();
        let y = b.allocate(layout(64, 1)).unwrap().cast::<u8>();
        let mut outside = 0u8;
        let before = b.stats();
        // SAFETY: each of these is refused before anything is touched.
        unsafe {
            let inside = NonNull::new_unchecked(x.as_ptr().add(16));
            let odd = NonNull::new_unchecked(x.as_ptr().add(1));
            assert_eq!(
                b.deallocate(NonNull::from(&mut outside), layout(1, 1)),
                Err(FreeError::Foreign { addr: &raw const outside as usize })
            );
            assert!(matches!(b.deallocate(inside, layout(1, 1)), Err(FreeError::Foreign { .. })));
            assert!(matches!(b.deallocate(odd, layout(1, 1)), Err(FreeError::Foreign { .. })));
        }
        assert_eq!(b.stats(), before, "refused frees change nothing");
        // SAFETY: `x` is live; the second free is refused.
        unsafe {
            b.deallocate(x, layout(64, 1)).unwrap();
            assert_eq!(
                b.deallocate(x, layout(64, 1)),
                Err(FreeError::DoubleFree { addr: x.as_ptr() as usize })
            );
            b.deallocate(y, layout(64, 1)).unwrap();
            // Merged into a larger free block since: still a double free.
            assert!(matches!(b.deallocate(y, layout(64, 1)), Err(FreeError::DoubleFree { .. })));
        }
        assert_eq!(b.stats().live, 0);
    }

    #[test]
    fn unaligned_memory_is_used_up_to_the_last_minimum_block() {
        let mut mem = arena();
        // 3000 bytes starting 48 bytes in: roots of several sizes.
        let mut b = Buddy::new(&mut mem.0[48..3048], 16);
        let cap = b.stats().capacity;
        let mut n = 0;
        while b.allocate(layout(16, 1)).is_ok() {
            n += 1;
        }
        assert_eq!(n * 16, cap, "every minimum block can be handed out");
        assert!(3000 - cap - b.metadata_bytes() < 32, "only alignment and the tail are lost");
    }

    #[test]
    fn reallocate_shrinks_in_place_and_moves_to_grow() {
        let mut mem = arena();
        let mut b = Buddy::new(&mut mem.0, 16);
        let x = b.allocate(layout(200, 8)).unwrap();
        // SAFETY: the block is live and 256 bytes long.
        unsafe { x.cast::<u8>().as_ptr().write_bytes(7, 200) };
        // SAFETY: live block with its layout.
        let y = unsafe { b.reallocate(x.cast(), layout(200, 8), layout(40, 8)) }.unwrap();
        assert_eq!((addr(y), y.len()), (addr(x), 64));
        assert_eq!((b.stats().used, b.stats().requested), (64, 40));
        // SAFETY: live block with its layout.
        let z = unsafe { b.reallocate(y.cast(), layout(40, 8), layout(1000, 8)) }.unwrap();
        assert_eq!(z.len(), 1024);
        // SAFETY: the first 40 bytes were copied.
        let kept = unsafe { core::slice::from_raw_parts(z.cast::<u8>().as_ptr(), 40) };
        assert!(kept.iter().all(|&v| v == 7));
        assert_eq!((b.stats().used, b.stats().live), (1024, 1));
        // SAFETY: live block with its layout.
        unsafe { b.deallocate(z.cast(), layout(1000, 8)).unwrap() };
        assert_eq!(b.largest_free(), b.top_block());
    }

    #[test]
    fn tiny_memory_manages_nothing_without_panicking() {
        let mut whole = arena();
        for (offset, len) in [(0, 0), (1, 0), (1, 5), (3, 8), (0, 16)] {
            let mut b = Buddy::new(&mut whole.0[offset..offset + len], 16);
            assert_eq!((b.stats().capacity, b.top_block(), b.largest_free()), (0, 0, 0));
            assert!(b.allocate(layout(1, 1)).is_err());
        }
        let mut huge = arena();
        let b = Buddy::new(&mut huge.0, usize::MAX);
        assert_eq!(b.stats().capacity, 0);
    }
}

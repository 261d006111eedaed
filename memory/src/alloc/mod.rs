//! Allocators: each a plain type over memory the caller hands it, with no hidden global state.
//!
//! | allocator | for | allocate / free |
//! |---|---|---|
//! | [`Linear`] | per-frame and load-time data; checkpoints roll back | O(1) bump / rollback only |
//! | [`Stack`] | nested lifetimes; markers; out-of-order frees are reported | O(1) / O(1) LIFO |
//! | [`Pool`], [`ObjectPool`] | many objects of one size, zero per-block overhead | O(1) / O(1) |
//! | [`Tlsf`] | the general-purpose heap: two-level segregated fit, one word per used block, grows and shrinks in place | O(1) / O(1) |
//! | [`Buddy`] | general heap: power-of-two blocks, naturally aligned, merged with their buddy; bitmaps carved from its memory | O(log n) split / O(log n) merge |
//! | [`DeviceHeap`] | memory the CPU cannot address (sound RAM): device spans, table in CPU RAM | O(N) best fit / O(N) coalescing |
//! | [`Frames`] | fixed-size frames (pages) over any address span; one bit per frame in a caller's bitmap | O(1) typical next fit, O(n/32) runs / O(run) |
//! | [`Vram`] | PlayStation VRAM rectangles: frame buffers, textures, CLUTs; table in CPU RAM | O(N²)–O(N³) / O(N) |
//!
//! [`Locked`] adapts any CPU-memory allocator to `GlobalAlloc` (behind a `critical-section` lock) and to the
//! `allocator-api2` `Allocator` trait.
//!
//! Every CPU-memory allocator implements [`RawAllocator`]: `allocate` returns the block as a
//! `NonNull<[u8]>` (its length is what the caller may use, at least the requested size), and
//! `deallocate` checks that the pointer is one it handed out and not freed since
//! ([`FreeError`]): in every build where the check is cheap (linear, stack, pool ownership,
//! buddy, frames, the device allocators), and in debug builds where it costs a walk (pool double
//! frees) or a canary (TLSF). Exhaustion returns an [`AllocError`] that says what was asked for and
//! what was left, and leaves the allocator as it was.
//!
//! [`Stats`] are cheap counters kept on every operation; costlier figures (largest free block,
//! fragmentation) are computed on request by [`RawAllocator::largest_free`].
//!
//! An owner that can free or find memory installs an [`OomHandler`] with [`WithOom`]: on
//! exhaustion the handler runs and, if it says so, the request is retried.

mod buddy;
mod device;
mod frames;
mod linear;
mod locked;
mod pool;
mod stack;
mod tlsf;
mod vram2d;

pub use buddy::{Buddy, MIN_BLOCK};
pub use device::{DeviceHeap, TABLE_FULL};
pub use frames::Frames;
pub use linear::{Checkpoint, Linear, MAX_CHECKPOINTS};
pub use locked::{GlobalHeap, Locked, StaticHeap};
pub use pool::{ObjectPool, Pool};
pub use stack::{Marker, Stack};
pub use tlsf::Tlsf;
pub use vram2d::{
    Placement, Rect, TEXTURE_PAGE_HEIGHT, TEXTURE_PAGE_WIDTH, TexelDepth, VRAM_COLUMN, VRAM_HEIGHT,
    VRAM_PIXEL_BYTES, VRAM_WIDTH, Vram,
};

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

/// Why an allocation failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum AllocError {
    /// Not enough free memory for the request.
    Exhausted {
        /// What was asked for.
        layout: Layout,
        /// Free bytes left in all.
        free: usize,
        /// The largest block that could have been handed out.
        largest: usize,
    },
    /// The allocator cannot serve this shape of request at all (a size over a pool's block
    /// size, an alignment over what it supports, a zero-sized request where that is refused).
    Unsupported {
        /// What was asked for.
        layout: Layout,
        /// Why not.
        why: &'static str,
    },
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Exhausted { layout, free, largest } => write!(
                f,
                "out of memory: {} bytes aligned to {} requested, {free} bytes free, largest free block {largest} bytes",
                layout.size(),
                layout.align()
            ),
            Self::Unsupported { layout, why } => {
                write!(f, "cannot allocate {} bytes aligned to {}: {why}", layout.size(), layout.align())
            }
        }
    }
}

impl core::error::Error for AllocError {}

/// Why a free was refused (detected in debug builds; release builds trust the caller).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum FreeError {
    /// The pointer does not belong to this allocator, or is not the start of a block.
    Foreign {
        /// The pointer.
        addr: usize,
    },
    /// The block was already free.
    DoubleFree {
        /// The pointer.
        addr: usize,
    },
    /// A LIFO allocator was asked to free something other than its most recent block.
    OutOfOrder {
        /// The pointer given.
        addr: usize,
        /// The block that must be freed first.
        expected: usize,
    },
}

impl fmt::Display for FreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Foreign { addr } => write!(f, "{addr:#x} was not handed out by this allocator"),
            Self::DoubleFree { addr } => write!(f, "{addr:#x} is already free"),
            Self::OutOfOrder { addr, expected } => {
                write!(
                    f,
                    "freeing {addr:#x} out of order: {expected:#x} was allocated after it and must be freed first"
                )
            }
        }
    }
}

impl core::error::Error for FreeError {}

/// Counters an allocator keeps on every operation.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stats {
    /// Bytes the allocator manages (not counting metadata kept outside that memory).
    pub capacity: usize,
    /// Bytes reserved for live blocks, including rounding and per-block headers.
    pub used: usize,
    /// The highest `used` seen.
    pub peak: usize,
    /// Sum of the sizes asked for by live blocks.
    pub requested: usize,
    /// Live blocks.
    pub live: usize,
    /// Successful allocations so far.
    pub allocations: u64,
    /// Frees so far.
    pub frees: u64,
    /// Failed allocations so far.
    pub failures: u64,
}

impl Stats {
    /// All zero: an allocator with no memory yet.
    pub const EMPTY: Self =
        Self { capacity: 0, used: 0, peak: 0, requested: 0, live: 0, allocations: 0, frees: 0, failures: 0 };

    /// Bytes not reserved.
    pub fn free(&self) -> usize {
        self.capacity - self.used
    }

    /// Records an allocation that reserved `reserved` bytes for a request of `requested`.
    #[inline]
    pub(crate) fn on_alloc(&mut self, reserved: usize, requested: usize) {
        self.used += reserved;
        self.requested += requested;
        self.live += 1;
        self.allocations += 1;
        self.peak = self.peak.max(self.used);
    }

    /// Records a block resized in place: it reserved `old_reserved` bytes for a request of
    /// `old_requested`, and now `new_reserved` for `new_requested`.
    #[inline]
    pub(crate) fn on_resize(
        &mut self,
        (old_reserved, old_requested): (usize, usize),
        (new_reserved, new_requested): (usize, usize),
    ) {
        self.used = self.used - old_reserved + new_reserved;
        self.requested = self.requested - old_requested + new_requested;
        self.peak = self.peak.max(self.used);
    }

    /// Records a free of a block that reserved `reserved` bytes for a request of `requested`.
    #[inline]
    pub(crate) fn on_free(&mut self, reserved: usize, requested: usize) {
        self.used -= reserved;
        self.requested -= requested;
        self.live -= 1;
        self.frees += 1;
    }
}

/// Fragmentation of free memory: 0 when all free memory is one block, approaching 1 when it is
/// scattered in small pieces (`1 - largest free block / free bytes`).
pub fn fragmentation(free: usize, largest: usize) -> f32 {
    if free == 0 { 0.0 } else { 1.0 - largest as f32 / free as f32 }
}

/// The interface every CPU-memory allocator here implements.
pub trait RawAllocator {
    /// A block for `layout`, at least `layout.size()` bytes long, aligned to `layout.align()`.
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError>;

    /// Gives back a block.
    ///
    /// # Safety
    /// `ptr` must come from `allocate` of this allocator with this `layout`, and must not be
    /// used after this call. Debug builds detect foreign pointers and double frees where the
    /// allocator's metadata allows and report them instead of corrupting anything.
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError>;

    /// The counters.
    fn stats(&self) -> Stats;

    /// Starts the peak afresh from what is in use now ([`Stats::peak`] becomes
    /// [`Stats::used`]), to measure the peak of one phase (a level, a frame) alone.
    fn reset_peak(&mut self);

    /// The largest block `allocate` could hand out now (computed on request).
    fn largest_free(&self) -> usize;

    /// Like [`allocate`](Self::allocate), with the block filled with zeroes.
    fn allocate_zeroed(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = self.allocate(layout)?;
        // SAFETY: the block is valid for writes of its whole length and belongs to the caller.
        unsafe { block.cast::<u8>().as_ptr().write_bytes(0, block.len()) };
        Ok(block)
    }

    /// Moves a block to a new layout (same alignment): in place where the allocator can,
    /// otherwise allocate, copy the first `min(old, new)` bytes, free. On error the old block is
    /// untouched and still owned by the caller.
    ///
    /// # Safety
    /// As for [`deallocate`](Self::deallocate): `ptr` is live, from this allocator, with `old`.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded under this method's contract.
        unsafe { move_block(self, ptr, old, new) }
    }

    /// `1 - largest free block / free bytes`.
    fn fragmentation(&self) -> f32 {
        fragmentation(self.stats().free(), self.largest_free())
    }
}

/// Allocate, copy the first `min(old, new)` bytes, free: how a block moves when it cannot be
/// resized in place. On error the old block is untouched and still owned by the caller.
///
/// # Safety
/// As for [`RawAllocator::deallocate`]: `ptr` is live, from `a`, with `old`.
pub(crate) unsafe fn move_block<A: RawAllocator + ?Sized>(
    a: &mut A,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    let block = a.allocate(new)?;
    // SAFETY: both blocks are live and distinct (the old one is not freed yet); the copy stays
    // within the shorter of the two.
    unsafe {
        ptr.as_ptr().copy_to_nonoverlapping(block.cast::<u8>().as_ptr(), old.size().min(new.size()));
        if a.deallocate(ptr, old).is_err() {
            // An allocator that cannot free the old block here (an order it keeps) must move
            // blocks itself; rather than leak the old block, give the new one back and fail.
            let _ = a.deallocate(block.cast(), new);
            return Err(AllocError::Unsupported {
                layout: new,
                why: "this allocator cannot free the block it moves from",
            });
        }
    }
    Ok(block)
}

/// What an owner does when its allocator runs out: free something, hand over more memory, or
/// give up.
pub trait OomHandler<A: ?Sized> {
    /// Called with the allocator and the failed request. Return `true` to have the request
    /// retried (after freeing or adding memory), `false` to let it fail.
    fn handle_oom(&mut self, allocator: &mut A, layout: Layout) -> bool;
}

/// An allocator with an out-of-memory handler: an exhausted request calls the handler and is
/// retried for as long as the handler asks for it.
pub struct WithOom<A, H> {
    /// The allocator.
    pub allocator: A,
    /// The handler.
    pub handler: H,
}

impl<A: RawAllocator, H: OomHandler<A>> RawAllocator for WithOom<A, H> {
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        loop {
            match self.allocator.allocate(layout) {
                Err(AllocError::Exhausted { .. }) if self.handler.handle_oom(&mut self.allocator, layout) => {
                }
                other => return other,
            }
        }
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        // SAFETY: forwarded under the caller's contract.
        unsafe { self.allocator.deallocate(ptr, layout) }
    }

    /// The allocator's own reallocation (in place where it can), retried as `allocate` is.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        loop {
            // SAFETY: forwarded under the caller's contract; a failed attempt leaves the block
            // as it was.
            match unsafe { self.allocator.reallocate(ptr, old, new) } {
                Err(AllocError::Exhausted { .. }) if self.handler.handle_oom(&mut self.allocator, new) => {}
                other => return other,
            }
        }
    }

    fn stats(&self) -> Stats {
        self.allocator.stats()
    }

    fn reset_peak(&mut self) {
        self.allocator.reset_peak();
    }

    fn largest_free(&self) -> usize {
        self.allocator.largest_free()
    }
}

/// A `NonNull<[u8]>` for `len` bytes at `addr` (never null: allocators hand out addresses
/// inside a slice they were given).
pub(crate) fn block(addr: usize, len: usize) -> NonNull<[u8]> {
    let ptr = core::ptr::slice_from_raw_parts_mut(addr as *mut u8, len);
    // SAFETY: `addr` lies inside memory the allocator was handed as a slice, never at 0.
    unsafe { NonNull::new_unchecked(ptr) }
}

/// Rounds `addr` up to `align` (a power of two), or `None` on overflow.
pub(crate) fn align_up(addr: usize, align: usize) -> Option<usize> {
    Some(addr.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::mem::MaybeUninit;
    use std::string::ToString;

    use super::*;

    /// Frees the oldest block it was given when the pool runs out.
    struct FreeOldest(Option<NonNull<u8>>, u32);

    impl<'a> OomHandler<Pool<'a>> for FreeOldest {
        fn handle_oom(&mut self, pool: &mut Pool<'a>, layout: Layout) -> bool {
            self.1 += 1;
            match self.0.take() {
                // SAFETY: the block came from this pool with this layout and is not used again.
                Some(p) => unsafe { pool.deallocate(p, layout) }.is_ok(),
                None => false,
            }
        }
    }

    #[test]
    fn an_oom_handler_frees_and_the_request_is_retried() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 64];
        let layout = Layout::new::<[u64; 2]>();
        let mut heap = WithOom { allocator: Pool::new(&mut memory, layout), handler: FreeOldest(None, 0) };
        let first = heap.allocate(layout).unwrap();
        while heap.allocate(layout).is_ok() {}
        assert_eq!(heap.handler.1, 1, "the handler ran once and declined (nothing to free)");
        heap.handler.0 = Some(first.cast());
        let again = heap.allocate(layout).unwrap();
        assert_eq!(again.cast::<u8>(), first.cast::<u8>(), "the freed block served the retried request");
        assert_eq!(heap.handler.1, 2);
        assert!(heap.allocate(layout).is_err(), "and the handler gives up when it has nothing left");
        assert_eq!(heap.stats().failures, 3);
    }

    #[test]
    fn errors_say_what_failed() {
        let layout = Layout::from_size_align(100, 8).unwrap();
        let e = AllocError::Exhausted { layout, free: 40, largest: 32 };
        assert_eq!(
            e.to_string(),
            "out of memory: 100 bytes aligned to 8 requested, 40 bytes free, largest free block 32 bytes"
        );
        assert!(
            FreeError::OutOfOrder { addr: 0x10, expected: 0x20 }
                .to_string()
                .contains("0x20 was allocated after it")
        );
    }
}

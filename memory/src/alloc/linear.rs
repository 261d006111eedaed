//! The linear (bump, arena) allocator: O(1) allocation by moving a pointer, checkpoints that
//! roll back everything allocated since, and a reset.
//!
//! ```text
//! start                 top                        end
//!   |####|##|#######|####|..........................|
//!    blocks, in order     free
//! ```
//!
//! Freeing the most recent block moves `top` back and gives its bytes back at once; freeing an
//! older one only counts the call: its bytes (and its place in the counters) come back at the
//! next rollback or reset, so the counters always describe the blocks not yet reclaimed and a
//! checkpoint restores them exactly. A free never rolls the top back below the newest
//! checkpoint, so that checkpoint stays valid. Zero-sized blocks take no bytes and are reclaimed the same
//! way. No per-block metadata.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use super::{AllocError, FreeError, RawAllocator, Stats, align_up, block};

/// A bump allocator over memory the caller hands it.
#[derive(Debug)]
pub struct Linear<'a> {
    start: usize,
    end: usize,
    top: usize,
    /// The most recent block since the newest checkpoint: its address (0: none) and the top
    /// before it, so that freeing it rolls `top` back over the block and its alignment padding.
    last: usize,
    last_prev_top: usize,
    /// The counters but `used`, which is always `top - start` (every byte below the top is a
    /// live block's or its padding, or an older block's waiting for a rollback) and is
    /// computed by [`stats`](RawAllocator::stats): a free then does not wait on the top.
    stats: Stats,
    /// The live checkpoints, oldest first: (serial, top) each.
    marks: [(u32, usize); MAX_CHECKPOINTS],
    depth: usize,
    serial: u32,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

/// How many checkpoints may be live at once (nested).
pub const MAX_CHECKPOINTS: usize = 16;

/// A point to roll back to, as often as needed (a frame allocator rolls back to the same
/// checkpoint every frame). Checkpoints nest: rolling back to one discards those taken after
/// it, and a discarded checkpoint is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    top: usize,
    requested: usize,
    live: usize,
    depth: usize,
    serial: u32,
}

impl<'a> Linear<'a> {
    /// An allocator over `memory`.
    pub fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        let start = memory.as_mut_ptr() as usize;
        // SAFETY: the slice is valid and exclusively borrowed for 'a.
        unsafe { Self::from_raw_parts(start as *mut u8, memory.len()) }
    }

    /// An allocator over `len` bytes at `start` (such as a heap between two linker symbols).
    ///
    /// # Safety
    /// The bytes must be valid for reads and writes, used by nothing else for `'a`, and
    /// `start + len` must not wrap.
    pub unsafe fn from_raw_parts(start: *mut u8, len: usize) -> Self {
        let start = start as usize;
        Self {
            start,
            end: start + len,
            top: start,
            last: 0,
            last_prev_top: 0,
            stats: Stats { capacity: len, ..Stats::default() },
            marks: [(0, 0); MAX_CHECKPOINTS],
            depth: 0,
            serial: 0,
            _memory: PhantomData,
        }
    }

    /// The current point, to roll back to later; `None` when [`MAX_CHECKPOINTS`] are live.
    pub fn checkpoint(&mut self) -> Option<Checkpoint> {
        let slot = self.marks.get_mut(self.depth)?;
        self.serial = self.serial.wrapping_add(1);
        *slot = (self.serial, self.top);
        self.depth += 1;
        // A free rolls the top back no further than the newest checkpoint.
        self.last = 0;
        Some(Checkpoint {
            top: self.top,
            requested: self.stats.requested,
            live: self.stats.live,
            depth: self.depth - 1,
            serial: self.serial,
        })
    }

    /// Frees everything allocated since `checkpoint` (blocks allocated after it must not be
    /// used any more) and discards the checkpoints taken after it; `checkpoint` stays valid. A
    /// discarded checkpoint is refused.
    pub fn rollback(&mut self, checkpoint: Checkpoint) -> Result<(), FreeError> {
        let live = checkpoint.depth < self.depth
            && self.marks[checkpoint.depth] == (checkpoint.serial, checkpoint.top);
        if !live {
            return Err(FreeError::Foreign { addr: checkpoint.top });
        }
        self.depth = checkpoint.depth + 1;
        self.restore(checkpoint.top, checkpoint.requested, checkpoint.live);
        Ok(())
    }

    /// Frees everything, and discards every checkpoint.
    pub fn reset(&mut self) {
        self.depth = 0;
        self.restore(self.start, 0, 0);
    }

    fn restore(&mut self, top: usize, requested: usize, live: usize) {
        self.top = top;
        self.stats.requested = requested;
        self.stats.live = live;
        self.last = 0;
    }
}

impl RawAllocator for Linear<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let fits = align_up(self.top, layout.align())
            .and_then(|at| Some((at, at.checked_add(layout.size())?)))
            .filter(|&(_, end)| end <= self.end);
        let Some((at, end)) = fits else {
            self.stats.failures += 1;
            return Err(AllocError::Exhausted {
                layout,
                free: self.end - self.top,
                largest: self.largest_free(),
            });
        };
        if layout.size() == 0 {
            // Zero-sized blocks take no bytes and never become the block a free rolls back.
            self.stats.live += 1;
            self.stats.allocations += 1;
            return Ok(block(at, 0));
        }
        self.stats.requested += layout.size();
        self.stats.live += 1;
        self.stats.allocations += 1;
        if end - self.start > self.stats.peak {
            self.stats.peak = end - self.start;
        }
        (self.last, self.last_prev_top) = (at, self.top);
        self.top = end;
        Ok(block(at, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let addr = ptr.as_ptr() as usize;
        let limit = if layout.size() == 0 { self.end } else { self.top };
        if addr < self.start || addr.checked_add(layout.size()).is_none_or(|end| end > limit) {
            return Err(FreeError::Foreign { addr });
        }
        if addr == self.last && layout.size() > 0 {
            let prev_top = self.last_prev_top;
            // The most recent block: its bytes and its alignment padding come back now.
            self.top = prev_top;
            self.stats.requested -= layout.size();
            self.stats.live -= 1;
            self.stats.frees += 1;
            self.last = 0;
        } else {
            // An older block: reclaimed at the next rollback or reset.
            self.stats.frees += 1;
        }
        Ok(())
    }

    /// The newest block (since the newest checkpoint) grows or shrinks in place; any other moves.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let addr = ptr.as_ptr() as usize;
        if addr == self.last && old.size() > 0 && new.size() > 0 && addr.is_multiple_of(new.align()) {
            let Some(end) = addr.checked_add(new.size()).filter(|&end| end <= self.end) else {
                self.stats.failures += 1;
                return Err(AllocError::Exhausted {
                    layout: new,
                    free: self.end - self.top,
                    largest: self.end - addr,
                });
            };
            self.stats.requested = self.stats.requested - old.size() + new.size();
            self.stats.peak = self.stats.peak.max(end - self.start);
            self.top = end;
            return Ok(block(addr, new.size()));
        }
        // SAFETY: forwarded under this method's contract.
        unsafe { super::move_block(self, ptr, old, new) }
    }

    fn stats(&self) -> Stats {
        Stats { used: self.top - self.start, ..self.stats }
    }

    fn reset_peak(&mut self) {
        self.stats.peak = self.top - self.start;
    }

    fn largest_free(&self) -> usize {
        self.end - self.top
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn bumps_aligns_and_rolls_back() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 256];
        let mut a = Linear::new(&mut mem);
        let x = a.allocate(layout(3, 1)).unwrap();
        let cp = a.checkpoint().unwrap();
        let y = a.allocate(layout(8, 16)).unwrap();
        assert_eq!(y.cast::<u8>().as_ptr() as usize % 16, 0);
        assert!(y.cast::<u8>().as_ptr() as usize >= x.cast::<u8>().as_ptr() as usize + 3);
        assert_eq!(a.stats().live, 2);
        a.rollback(cp).unwrap();
        assert_eq!((a.stats().live, a.stats().requested, a.stats().used), (1, 3, 3));
        let z = a.allocate(layout(8, 16)).unwrap();
        assert_eq!(z, y, "the same bytes again after a rollback");
        a.reset();
        assert_eq!((a.stats().used, a.largest_free()), (0, 256));
    }

    #[test]
    fn exhaustion_leaves_it_intact_and_says_what_was_left() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let mut a = Linear::new(&mut mem);
        a.allocate(layout(60, 1)).unwrap();
        let before = a.stats();
        let err = a.allocate(layout(8, 1)).unwrap_err();
        assert_eq!(err, AllocError::Exhausted { layout: layout(8, 1), free: 4, largest: 4 });
        assert_eq!(a.stats().used, before.used);
        assert_eq!(a.stats().failures, 1);
        a.allocate(layout(4, 1)).unwrap();
    }

    #[test]
    fn freeing_the_last_block_gives_it_back_and_foreign_pointers_are_refused() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let mut a = Linear::new(&mut mem);
        let x = a.allocate(layout(16, 8)).unwrap();
        // SAFETY: x came from `a` with this layout.
        unsafe { a.deallocate(x.cast(), layout(16, 8)).unwrap() };
        assert_eq!(a.stats().used, 0);
        let mut other = 0u64;
        let foreign = NonNull::from(&mut other).cast::<u8>();
        // SAFETY: refused before anything is touched.
        let refused = unsafe { a.deallocate(foreign, layout(8, 8)) };
        assert!(matches!(refused, Err(FreeError::Foreign { .. })));
    }

    #[test]
    fn a_stale_checkpoint_is_refused() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let mut a = Linear::new(&mut mem);
        a.allocate(layout(8, 1)).unwrap();
        let early = a.checkpoint().unwrap();
        let late = a.checkpoint().unwrap();
        a.rollback(early).unwrap();
        assert!(a.rollback(late).is_err(), "discarded by the rollback to an older one");
        let again = a.checkpoint().unwrap();
        a.reset();
        assert!(a.rollback(again).is_err());
        for _ in 0..MAX_CHECKPOINTS {
            assert!(a.checkpoint().is_some());
        }
        assert!(a.checkpoint().is_none());
    }
}

//! The linear (bump, arena) allocator: O(1) allocation by moving a pointer, checkpoints that
//! roll back everything allocated since, and a reset.
//!
//! ```text
//! start                 top                        end
//!   |####|##|#######|####|..........................|
//!    blocks, in order     free
//! ```
//!
//! Freeing the most recent block moves `top` back; freeing an older one only updates the
//! counters (its bytes come back at the next rollback or reset). No per-block metadata.

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
    /// Start of the most recent block, so that freeing it rolls `top` back.
    last: Option<usize>,
    stats: Stats,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

/// A point to roll back to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    top: usize,
    used: usize,
    requested: usize,
    live: usize,
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
            last: None,
            stats: Stats {
                capacity: len,
                ..Stats::default()
            },
            _memory: PhantomData,
        }
    }

    /// The current point, to roll back to later.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            top: self.top,
            used: self.stats.used,
            requested: self.stats.requested,
            live: self.stats.live,
        }
    }

    /// Frees everything allocated since `checkpoint` (blocks allocated after it must not be
    /// used any more). A checkpoint taken after the current point (one already rolled past) is
    /// refused.
    pub fn rollback(&mut self, checkpoint: Checkpoint) -> Result<(), FreeError> {
        if checkpoint.top > self.top || checkpoint.top < self.start {
            return Err(FreeError::Foreign {
                addr: checkpoint.top,
            });
        }
        self.stats.frees += (self.stats.live - checkpoint.live.min(self.stats.live)) as u64;
        self.top = checkpoint.top;
        self.stats.used = checkpoint.used;
        self.stats.requested = checkpoint.requested;
        self.stats.live = checkpoint.live;
        self.last = None;
        Ok(())
    }

    /// Frees everything.
    pub fn reset(&mut self) {
        let start = Checkpoint {
            top: self.start,
            used: 0,
            requested: 0,
            live: 0,
        };
        // A checkpoint at the start is always valid.
        let _ = self.rollback(start);
    }
}

impl RawAllocator for Linear<'_> {
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
        self.stats.on_alloc(end - self.top, layout.size());
        self.last = Some(at);
        self.top = end;
        Ok(block(at, layout.size()))
    }

    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let addr = ptr.as_ptr() as usize;
        if addr < self.start || addr > self.top || addr + layout.size() > self.top {
            return Err(FreeError::Foreign { addr });
        }
        if self.last == Some(addr) {
            // The most recent block: its bytes (and its alignment padding) come back now.
            let reserved = self.top - addr;
            self.top = addr;
            self.stats.on_free(reserved, layout.size());
            self.last = None;
        } else {
            // An older block: its bytes come back at the next rollback or reset.
            self.stats.on_free(0, layout.size());
        }
        Ok(())
    }

    fn stats(&self) -> Stats {
        self.stats
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
        let cp = a.checkpoint();
        let y = a.allocate(layout(8, 16)).unwrap();
        assert_eq!(y.cast::<u8>().as_ptr() as usize % 16, 0);
        assert!(y.cast::<u8>().as_ptr() as usize >= x.cast::<u8>().as_ptr() as usize + 3);
        assert_eq!(a.stats().live, 2);
        a.rollback(cp).unwrap();
        assert_eq!(
            (a.stats().live, a.stats().requested, a.stats().used),
            (1, 3, 3)
        );
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
        assert_eq!(
            err,
            AllocError::Exhausted {
                layout: layout(8, 1),
                free: 4,
                largest: 4
            }
        );
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
        let late = a.checkpoint();
        a.reset();
        assert!(a.rollback(late).is_err());
    }
}

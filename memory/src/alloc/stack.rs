//! The stack allocator: last in, first out, with markers.
//!
//! Each block is preceded by a three-word header holding the stack top and the previous block
//! from before the allocation (and the size asked for, which keeps the counters exact), so freeing the most recent block (or rolling back to a
//! [`Marker`]) restores the exact earlier state. Freeing any other block is refused with
//! [`FreeError::OutOfOrder`], naming the block that must go first; nothing changes.
//!
//! Reallocating the most recent block resizes it in place. Any other block moves to the top,
//! and the old one is marked moved: it is counted free at once, and its bytes come back when
//! the blocks above it are freed (a free, or a marker, pops every moved block it uncovers).
//!
//! ```text
//! start   [hdr|block A][pad|hdr|block B]  top                end
//!           ^ prev: start, none   ^ prev: end of A, A
//! ```

use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, size_of};
use core::ptr::NonNull;

use super::{AllocError, FreeError, RawAllocator, Stats, align_up, block};

/// The header before every block: the state to return to when the block is freed.
#[repr(C)]
#[derive(Clone, Copy)]
struct Header {
    prev_top: usize,
    prev_last: usize,
    /// The size the block was asked for, so that freeing to a marker keeps the counters exact;
    /// with [`MOVED`] set once `reallocate` has moved the block away.
    size: usize,
}

const HEADER: usize = size_of::<Header>();

/// The top bit of a header's size: the block was moved away by `reallocate`, is counted free,
/// and goes when the blocks above it do. (A layout's size is at most `isize::MAX`, so the bit
/// is never part of one.)
const MOVED: usize = 1 << (usize::BITS - 1);

/// A LIFO allocator over memory the caller hands it.
#[derive(Debug)]
pub struct Stack<'a> {
    start: usize,
    end: usize,
    top: usize,
    /// The most recent block's address, 0 when there is none.
    last: usize,
    stats: Stats,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

/// A point to free back to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Marker {
    top: usize,
    last: usize,
}

impl<'a> Stack<'a> {
    /// An allocator over `memory`.
    pub fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        // SAFETY: the slice is valid and exclusively borrowed for 'a.
        unsafe { Self::from_raw_parts(memory.as_mut_ptr().cast(), memory.len()) }
    }

    /// An allocator over `len` bytes at `start`.
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
            stats: Stats { capacity: len, ..Stats::default() },
            _memory: PhantomData,
        }
    }

    /// Pops the moved blocks at the top (see the module's docs): their counters went when they
    /// moved.
    fn pop_moved(&mut self) {
        while self.last != 0 {
            // SAFETY: `last` is a block of this stack, so the header `allocate` wrote precedes it.
            let header = unsafe { ((self.last - HEADER) as *const Header).read() };
            if header.size & MOVED == 0 {
                break;
            }
            self.top = header.prev_top;
            self.last = header.prev_last;
        }
    }

    /// The current point.
    pub fn marker(&self) -> Marker {
        Marker { top: self.top, last: self.last }
    }

    /// Frees every block allocated since `marker`. A marker that no longer describes this
    /// stack (its blocks were freed since, and the space perhaps reused) is refused: the chain
    /// of live blocks is walked back from the most recent one, and must reach the marker's
    /// block with the marker's top right above it. O(blocks freed).
    pub fn free_to(&mut self, marker: Marker) -> Result<(), FreeError> {
        let refused = Err(FreeError::Foreign { addr: marker.top });
        if marker.top > self.top || marker.top < self.start {
            return refused;
        }
        // Walk the live chain down to the marker's block, adding up what the walked blocks
        // hold; `above` is the oldest block newer than the marker.
        let (mut cur, mut above, mut end) = (self.last, None::<Header>, self.top);
        let (mut reserved, mut requested, mut count) = (0usize, 0usize, 0usize);
        while cur != 0 && cur > marker.last {
            // SAFETY: `cur` is a live block of this stack (the chain starts at the most recent
            // block and follows the headers `allocate` wrote), so its header precedes it.
            let header = unsafe { ((cur - HEADER) as *const Header).read() };
            // A moved block was counted free when it moved.
            if header.size & MOVED == 0 {
                reserved += end - header.prev_top;
                requested += header.size;
                count += 1;
            }
            end = header.prev_top;
            above = Some(header);
            cur = header.prev_last;
        }
        let top_matches = match above {
            Some(h) => h.prev_top == marker.top,
            None => self.top == marker.top,
        };
        if cur != marker.last || !top_matches {
            return refused;
        }
        self.stats.used -= reserved;
        self.stats.requested -= requested;
        self.stats.live -= count;
        self.stats.frees += count as u64;
        self.top = marker.top;
        self.last = marker.last;
        self.pop_moved();
        Ok(())
    }
}

impl RawAllocator for Stack<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let align = layout.align().max(align_of::<Header>());
        let fits = self
            .top
            .checked_add(HEADER)
            .and_then(|t| align_up(t, align))
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
        let header = Header { prev_top: self.top, prev_last: self.last, size: layout.size() };
        // SAFETY: `at - HEADER .. at` lies inside the memory (at >= top + HEADER, end <= self.end)
        // and is aligned for Header (at is aligned to at least align_of::<Header>() and HEADER is
        // a multiple of it); nothing else uses those bytes.
        unsafe { ((at - HEADER) as *mut Header).write(header) };
        self.stats.on_alloc(end - self.top, layout.size());
        self.top = end;
        self.last = at;
        Ok(block(at, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let addr = ptr.as_ptr() as usize;
        if addr < self.start + HEADER || addr > self.end {
            return Err(FreeError::Foreign { addr });
        }
        if self.last == 0 || addr > self.last {
            // Inside the memory but above the most recent block: freed already (by a free or a
            // marker).
            return Err(FreeError::DoubleFree { addr });
        }
        if addr != self.last {
            return Err(FreeError::OutOfOrder { addr, expected: self.last });
        }
        // SAFETY: `addr` is the most recent block, so a header written by `allocate` sits just
        // before it, inside the memory.
        let header = unsafe { ((addr - HEADER) as *const Header).read() };
        self.stats.on_free(self.top - header.prev_top, layout.size());
        self.top = header.prev_top;
        self.last = header.prev_last;
        self.pop_moved();
        Ok(())
    }

    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let addr = ptr.as_ptr() as usize;
        if addr == self.last && addr.is_multiple_of(new.align()) {
            // The most recent block: it ends where the stack does, so it resizes in place.
            let Some(end) = addr.checked_add(new.size()).filter(|&end| end <= self.end) else {
                self.stats.failures += 1;
                return Err(AllocError::Exhausted {
                    layout: new,
                    free: self.end - self.top,
                    largest: self.end - addr,
                });
            };
            // SAFETY: the most recent block's header, written by `allocate`, precedes it inside
            // the memory; nothing else refers to it.
            let header = unsafe { &mut *((addr - HEADER) as *mut Header) };
            self.stats
                .on_resize((self.top - header.prev_top, header.size), (end - header.prev_top, new.size()));
            header.size = new.size();
            self.top = end;
            return Ok(block(addr, new.size()));
        }
        // Below the top: a new block at the top takes the contents; the old one is marked moved.
        let moved = self.allocate(new)?;
        // SAFETY: `ptr` is a live block of this stack (the caller's contract), so its header
        // precedes it and nothing else refers to it; the new block is distinct and at least
        // as long as the copy.
        unsafe {
            ptr.as_ptr().copy_to_nonoverlapping(moved.cast::<u8>().as_ptr(), old.size().min(new.size()));
            let header = &mut *((addr - HEADER) as *mut Header);
            self.stats.on_free(addr + header.size - header.prev_top, header.size);
            header.size |= MOVED;
        }
        Ok(moved)
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn reset_peak(&mut self) {
        self.stats.peak = self.stats.used;
    }

    fn largest_free(&self) -> usize {
        self.top
            .checked_add(HEADER)
            .and_then(|t| align_up(t, align_of::<Header>()))
            .map_or(0, |at| self.end.saturating_sub(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn frees_in_lifo_order_and_refuses_others() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 512];
        let mut s = Stack::new(&mut mem);
        let a = s.allocate(layout(10, 4)).unwrap().cast::<u8>();
        let b = s.allocate(layout(20, 64)).unwrap().cast::<u8>();
        assert_eq!(b.as_ptr() as usize % 64, 0);
        // SAFETY: `a` is from `s`; the free is refused before anything changes.
        let err = unsafe { s.deallocate(a, layout(10, 4)) }.unwrap_err();
        assert_eq!(err, FreeError::OutOfOrder { addr: a.as_ptr() as usize, expected: b.as_ptr() as usize });
        assert_eq!(s.stats().live, 2);
        // SAFETY: LIFO order, layouts as allocated.
        unsafe {
            s.deallocate(b, layout(20, 64)).unwrap();
            s.deallocate(a, layout(10, 4)).unwrap();
        }
        assert_eq!((s.stats().used, s.stats().live, s.stats().requested), (0, 0, 0));
        // SAFETY: refused: nothing is live.
        let refused = unsafe { s.deallocate(a, layout(10, 4)) };
        assert!(matches!(refused, Err(FreeError::DoubleFree { .. })));
    }

    #[test]
    fn markers_free_everything_since() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 512];
        let mut s = Stack::new(&mut mem);
        s.allocate(layout(8, 8)).unwrap();
        let m = s.marker();
        let inner = s.allocate(layout(100, 8)).unwrap();
        s.allocate(layout(100, 8)).unwrap();
        s.free_to(m).unwrap();
        assert_eq!(s.stats().live, 1);
        assert_eq!(s.allocate(layout(100, 8)).unwrap(), inner);
    }

    #[test]
    fn a_stale_marker_is_refused() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 512];
        let mut s = Stack::new(&mut mem);
        let a = s.allocate(layout(16, 8)).unwrap();
        let m = s.marker();
        // SAFETY: `a` is the most recent block.
        unsafe { s.deallocate(a.cast(), layout(16, 8)).unwrap() };
        s.allocate(layout(64, 8)).unwrap();
        s.allocate(layout(8, 8)).unwrap();
        assert!(s.free_to(m).is_err(), "the marker's block was freed and its space reused");
        assert_eq!(s.stats().live, 2, "nothing changed");
        let fresh = s.marker();
        s.allocate(layout(8, 8)).unwrap();
        s.free_to(fresh).unwrap();
        assert_eq!(s.stats().live, 2);
    }

    #[test]
    fn exhaustion_is_an_error_and_changes_nothing() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let mut s = Stack::new(&mut mem);
        let before = s.marker();
        assert!(matches!(s.allocate(layout(64, 1)), Err(AllocError::Exhausted { .. })));
        assert_eq!(s.marker(), before);
        assert!(s.allocate(layout(s.largest_free(), 1)).is_ok());
    }
}

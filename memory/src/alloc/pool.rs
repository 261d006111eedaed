//! The pool allocator: blocks of one size, O(1) allocate and free, zero per-block overhead.
//!
//! Free blocks form a singly linked list threaded through the blocks themselves (each free
//! block holds the address of the next), so a pool of `n` blocks of `size` bytes uses exactly
//! `n * size` bytes. Blocks are at least a pointer wide and aligned to the pool's alignment.
//!
//! ```text
//! head -> [next]--+      [used]      +->[next]--> 0
//!                 +------------------+
//! ```
//!
//! A pointer that is not the start of one of the pool's blocks is refused in every build (one
//! range check and one remainder); debug builds also walk the free list to refuse double frees.
//! [`ObjectPool`] types the pool: `T` in, `NonNull<T>` out.

use core::alloc::Layout;
use core::marker::PhantomData;
use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr::NonNull;

use super::{AllocError, FreeError, RawAllocator, Stats, align_up, block};

/// A pool of equal blocks over memory the caller hands it.
#[derive(Debug)]
pub struct Pool<'a> {
    /// First block (aligned).
    base: usize,
    block_size: usize,
    align: usize,
    blocks: usize,
    /// First free block, 0 when none is free.
    head: usize,
    stats: Stats,
    _memory: PhantomData<&'a mut [MaybeUninit<u8>]>,
}

impl<'a> Pool<'a> {
    /// A pool of blocks for `layout` (size rounded up to a pointer and to the alignment) carved
    /// from `memory`. The alignment is at least a pointer's.
    pub fn new(memory: &'a mut [MaybeUninit<u8>], layout: Layout) -> Self {
        // SAFETY: the slice is valid and exclusively borrowed for 'a.
        unsafe { Self::from_raw_parts(memory.as_mut_ptr().cast(), memory.len(), layout) }
    }

    /// A pool over `len` bytes at `start`.
    ///
    /// # Safety
    /// The bytes must be valid for reads and writes, used by nothing else for `'a`, and
    /// `start + len` must not wrap.
    pub unsafe fn from_raw_parts(start: *mut u8, len: usize, layout: Layout) -> Self {
        let align = layout.align().max(align_of::<usize>());
        // A block size that does not fit a usize makes a pool of no blocks.
        let block_size =
            layout.size().max(size_of::<usize>()).checked_next_multiple_of(align).unwrap_or(usize::MAX);
        let start = start as usize;
        let base = align_up(start, align).unwrap_or(start + len).min(start + len);
        let blocks = (start + len - base) / block_size;
        let mut pool = Self {
            base,
            block_size,
            align,
            blocks,
            head: 0,
            stats: Stats { capacity: blocks * block_size, ..Stats::default() },
            _memory: PhantomData,
        };
        // Thread the free list from the last block down, so the first allocation is the first block.
        for i in (0..blocks).rev() {
            let at = base + i * block_size;
            // SAFETY: block `i` lies inside the memory and is aligned for a usize.
            unsafe { (at as *mut usize).write(pool.head) };
            pool.head = at;
        }
        pool
    }

    /// The size of every block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The number of blocks.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Whether `addr` is the start of one of this pool's blocks (a mask instead of a division
    /// when the block size is a power of two, as it usually is).
    #[inline]
    fn owns(&self, addr: usize) -> bool {
        if self.block_size.is_power_of_two() {
            return addr >= self.base
                && addr < self.base + self.blocks * self.block_size
                && (addr - self.base) & (self.block_size - 1) == 0;
        }
        addr >= self.base
            && addr < self.base + self.blocks * self.block_size
            && (addr - self.base).is_multiple_of(self.block_size)
    }

    /// Whether `addr` is on the free list (debug builds: O(free blocks)).
    #[cfg(debug_assertions)]
    fn is_free(&self, addr: usize) -> bool {
        let mut at = self.head;
        while at != 0 {
            if at == addr {
                return true;
            }
            // SAFETY: every address on the free list is a free block holding the next address.
            at = unsafe { (at as *const usize).read() };
        }
        false
    }
}

impl RawAllocator for Pool<'_> {
    #[inline]
    fn allocate(&mut self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() > self.block_size || layout.align() > self.align {
            self.stats.failures += 1;
            return Err(AllocError::Unsupported {
                layout,
                why: "larger or more aligned than the pool's blocks",
            });
        }
        if self.head == 0 {
            self.stats.failures += 1;
            return Err(AllocError::Exhausted { layout, free: 0, largest: 0 });
        }
        let at = self.head;
        // SAFETY: `at` is the head of the free list: a free block holding the next address.
        self.head = unsafe { (at as *const usize).read() };
        self.stats.on_alloc(self.block_size, layout.size());
        Ok(block(at, self.block_size))
    }

    #[inline]
    unsafe fn deallocate(&mut self, ptr: NonNull<u8>, layout: Layout) -> Result<(), FreeError> {
        let addr = ptr.as_ptr() as usize;
        if !self.owns(addr) {
            return Err(FreeError::Foreign { addr });
        }
        #[cfg(debug_assertions)]
        if self.is_free(addr) {
            return Err(FreeError::DoubleFree { addr });
        }
        // SAFETY: `addr` is one of the pool's blocks (checked above), handed back by its owner.
        unsafe { (addr as *mut usize).write(self.head) };
        self.head = addr;
        self.stats.on_free(self.block_size, layout.size());
        Ok(())
    }

    /// In place whenever the new size fits the block (every block is the same size), so a
    /// full pool resizes too; a request larger than a block is refused as `allocate` refuses it.
    unsafe fn reallocate(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if new.size() > self.block_size || new.align() > self.align {
            self.stats.failures += 1;
            return Err(AllocError::Unsupported {
                layout: new,
                why: "larger or more aligned than the pool's blocks",
            });
        }
        self.stats.on_resize((self.block_size, old.size()), (self.block_size, new.size()));
        Ok(block(ptr.as_ptr() as usize, self.block_size))
    }

    fn stats(&self) -> Stats {
        self.stats
    }

    fn reset_peak(&mut self) {
        self.stats.peak = self.stats.used;
    }

    fn largest_free(&self) -> usize {
        if self.head == 0 { 0 } else { self.block_size }
    }
}

/// A pool of `T`s: `insert` moves a value into a free block, `remove` moves it out again.
#[derive(Debug)]
pub struct ObjectPool<'a, T> {
    pool: Pool<'a>,
    _items: PhantomData<T>,
}

impl<'a, T> ObjectPool<'a, T> {
    /// A pool of `T` carved from `memory`.
    pub fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        Self { pool: Pool::new(memory, Layout::new::<T>()), _items: PhantomData }
    }

    /// Moves `value` into the pool; gives it back if the pool is full.
    pub fn insert(&mut self, value: T) -> Result<NonNull<T>, T> {
        match self.pool.allocate(Layout::new::<T>()) {
            Ok(block) => {
                let ptr = block.cast::<T>();
                // SAFETY: the block is free, big enough and aligned for T.
                unsafe { ptr.as_ptr().write(value) };
                Ok(ptr)
            }
            Err(_) => Err(value),
        }
    }

    /// Moves the value at `ptr` out of the pool and frees its block.
    ///
    /// # Safety
    /// `ptr` must come from `insert` on this pool and not have been removed since; no
    /// reference to the value may outlive this call. Foreign pointers (and, in debug builds,
    /// double removes) are refused before anything is read.
    pub unsafe fn remove(&mut self, ptr: NonNull<T>) -> Result<T, FreeError> {
        let addr = ptr.as_ptr() as usize;
        if !self.pool.owns(addr) {
            return Err(FreeError::Foreign { addr });
        }
        #[cfg(debug_assertions)]
        if self.pool.is_free(addr) {
            return Err(FreeError::DoubleFree { addr });
        }
        // SAFETY: a live block of this pool holding a T written by `insert` (caller's contract).
        let value = unsafe { ptr.as_ptr().read() };
        // SAFETY: same block, now moved out of; the checks above already passed.
        unsafe { self.pool.deallocate(ptr.cast(), Layout::new::<T>()) }?;
        Ok(value)
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.pool.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_every_block_once_with_no_overhead() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 16 * 32 + 7];
        let mut p = Pool::new(&mut mem, Layout::new::<[u64; 2]>());
        assert_eq!((p.block_size(), p.stats().capacity), (16, p.blocks() * 16));
        assert!(p.blocks() >= 32);
        let mut seen = [0usize; 64];
        for slot in seen.iter_mut().take(p.blocks()) {
            *slot = p.allocate(Layout::new::<[u64; 2]>()).unwrap().cast::<u8>().as_ptr() as usize;
        }
        let all = &mut seen[..p.blocks()];
        all.sort_unstable();
        assert!(all.windows(2).all(|w| w[1] - w[0] == 16), "disjoint, contiguous blocks");
        assert!(matches!(p.allocate(Layout::new::<u8>()), Err(AllocError::Exhausted { .. })));
        assert!(matches!(p.allocate(Layout::new::<[u64; 4]>()), Err(AllocError::Unsupported { .. })));
    }

    #[test]
    fn foreign_and_double_frees_are_refused() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 256];
        let mut p = Pool::new(&mut mem, Layout::new::<u32>());
        let a = p.allocate(Layout::new::<u32>()).unwrap().cast::<u8>();
        // SAFETY: the misaligned pointer is refused before it is used.
        let inside = unsafe { NonNull::new_unchecked(a.as_ptr().add(1)) };
        // SAFETY: refused by the range check.
        let refused = unsafe { p.deallocate(inside, Layout::new::<u32>()) };
        assert!(matches!(refused, Err(FreeError::Foreign { .. })));
        // SAFETY: `a` is live and from `p`.
        unsafe { p.deallocate(a, Layout::new::<u32>()).unwrap() };
        // Release builds trust the caller: only debug builds walk the free list.
        if cfg!(debug_assertions) {
            // SAFETY: refused: already free.
            let refused = unsafe { p.deallocate(a, Layout::new::<u32>()) };
            assert!(matches!(refused, Err(FreeError::DoubleFree { .. })));
        }
        assert_eq!(p.stats().live, 0);
    }

    #[test]
    fn objects_move_in_and_out() {
        let mut mem = [MaybeUninit::<u8>::uninit(); 64];
        let mut pool: ObjectPool<'_, (u32, u32)> = ObjectPool::new(&mut mem);
        let a = pool.insert((1, 2)).unwrap();
        let mut n = 1;
        while pool.insert((n, n)).is_ok() {
            n += 1;
        }
        assert_eq!(pool.insert((9, 9)), Err((9, 9)), "a full pool gives the value back");
        // SAFETY: `a` came from `insert` and is removed once.
        assert_eq!(unsafe { pool.remove(a) }, Ok((1, 2)));
        assert!(pool.insert((3, 4)).is_ok());
    }
}

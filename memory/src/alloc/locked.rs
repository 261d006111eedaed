//! Adapters: any allocator here as a `GlobalAlloc` behind a `critical-section` lock, and as an
//! `allocator-api2` `Allocator`, so `Vec`, `Box` and friends can use it.
//!
//! ```
//! use core::mem::MaybeUninit;
//! use flight_memory::alloc::{Linear, Locked, RawAllocator};
//!
//! let mut memory = [MaybeUninit::<u8>::uninit(); 1024];
//! let heap = Locked::new(Linear::new(&mut memory));
//! let mut v = allocator_api2::vec::Vec::new_in(&heap);
//! v.extend_from_slice(&[1u32, 2, 3]);
//! assert_eq!(heap.with(|a| a.stats().live), 1);
//! ```
//!
//! The lock is a `critical_section::Mutex`: on a console it masks interrupts (the platform
//! crate provides the implementation), on the host the `std` implementation of
//! `critical-section` serves. `GlobalAlloc` cannot return errors from `dealloc`, so a refused
//! free (a foreign pointer or a double free, detected in debug builds) is counted and the last
//! one kept for [`Locked::free_errors`]; nothing is corrupted.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};

use critical_section::Mutex;

use super::{FreeError, RawAllocator, Tlsf};
use crate::units::Span;

/// An allocator shared behind a critical section.
pub struct Locked<A> {
    inner: Mutex<RefCell<A>>,
    free_errors: Mutex<Cell<(u32, Option<FreeError>)>>,
}

impl<A> Locked<A> {
    /// Wraps `allocator`; `const`, so it can initialise a `static`.
    pub const fn new(allocator: A) -> Self {
        Self { inner: Mutex::new(RefCell::new(allocator)), free_errors: Mutex::new(Cell::new((0, None))) }
    }

    /// Runs `f` with the allocator, inside the critical section.
    pub fn with<R>(&self, f: impl FnOnce(&mut A) -> R) -> R {
        critical_section::with(|cs| f(&mut self.inner.borrow_ref_mut(cs)))
    }

    /// How many frees were refused, and the last refusal.
    pub fn free_errors(&self) -> (u32, Option<FreeError>) {
        critical_section::with(|cs| self.free_errors.borrow(cs).get())
    }

    fn record(&self, result: Result<(), FreeError>) {
        if let Err(e) = result {
            critical_section::with(|cs| {
                let cell = self.free_errors.borrow(cs);
                let (n, _) = cell.get();
                cell.set((n.saturating_add(1), Some(e)));
            });
        }
    }
}

/// A console runtime's global heap: the TLSF heap behind a critical section, empty until the
/// start-up code hands it the memory its linker script reserved.
///
/// ```
/// use flight_memory::alloc::{GlobalHeap, RawAllocator};
///
/// // A console runtime marks it `#[global_allocator]`.
/// static HEAP: GlobalHeap = GlobalHeap::empty();
///
/// // At start-up, the heap the linker script reserved (here: leaked host memory).
/// let memory: &'static mut [u8] = Vec::leak(vec![0u8; 64 * 1024]);
/// let span = flight_memory::Span::at(memory.as_mut_ptr() as u64, flight_memory::ByteSize::kib(64));
/// // SAFETY: the memory is leaked, so valid for the rest of the program, and used by nothing else.
/// let added = unsafe { HEAP.add(span) };
/// assert!(added > 60 * 1024);
/// assert_eq!(HEAP.with(|h| h.stats().capacity), added);
/// ```
pub type GlobalHeap = Locked<Tlsf<'static>>;

impl Locked<Tlsf<'static>> {
    /// A global heap with no memory yet.
    pub const fn empty() -> Self {
        Self::new(Tlsf::empty())
    }

    /// Hands the heap `memory` for good; returns the bytes it added.
    pub fn add_memory(&self, memory: &'static mut [core::mem::MaybeUninit<u8>]) -> usize {
        self.with(|heap| heap.claim(memory))
    }

    /// Hands the heap the CPU memory `span` covers (the span between two linker symbols, say);
    /// returns the bytes it added.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes for the rest of the program and used by
    /// nothing else (such as the span between two linker symbols the script reserves).
    pub unsafe fn add(&self, span: Span) -> usize {
        // SAFETY: the caller's contract is `Tlsf::extend`'s.
        self.with(|heap| unsafe {
            heap.extend(span.start().get() as usize as *mut u8, span.size().get() as usize)
        })
    }
}

/// A global heap with a buffer of its own, claimed on the first allocation: installing it is
/// one safe line, and nothing needs to run before `main`.
///
/// ```
/// use flight_memory::alloc::StaticHeap;
///
/// // #[global_allocator]
/// static HEAP: StaticHeap<{ 64 * 1024 }> = StaticHeap::new();
///
/// let mut v = allocator_api2::vec::Vec::new_in(&HEAP);
/// v.extend_from_slice(&[1u32, 2, 3]);
/// assert!(HEAP.capacity() > 60 * 1024);
/// assert_eq!(HEAP.with(|h| flight_memory::alloc::RawAllocator::stats(h).live), 1);
/// ```
pub struct StaticHeap<const N: usize> {
    heap: GlobalHeap,
    memory: core::cell::UnsafeCell<core::mem::MaybeUninit<[u8; N]>>,
    /// Whether the heap has the buffer: read and written only inside the heap's critical
    /// section.
    claimed: Cell<bool>,
}

// SAFETY: the buffer is touched only by the TLSF heap inside the critical section (claimed there
// once) and by the owners of the blocks it hands out, which are disjoint; `claimed` only inside
// the heap's critical section, which excludes every other context.
unsafe impl<const N: usize> Sync for StaticHeap<N> {}

impl<const N: usize> StaticHeap<N> {
    /// A heap of `N` bytes, not claimed yet; `const`, for a `static`.
    pub const fn new() -> Self {
        Self {
            heap: GlobalHeap::empty(),
            memory: core::cell::UnsafeCell::new(core::mem::MaybeUninit::uninit()),
            claimed: Cell::new(false),
        }
    }

    /// Runs `f` with the heap inside its critical section, the buffer handed over first if it
    /// is not yet.
    pub fn with<R>(&self, f: impl FnOnce(&mut Tlsf<'static>) -> R) -> R {
        self.heap.with(|h| {
            if !self.claimed.get() {
                self.claimed.set(true);
                let start = self.memory.get().cast::<u8>();
                // SAFETY: the buffer is this value's and nothing else's; it is handed over once
                // (the flag, inside the critical section) and from then on only the heap and the
                // owners of its blocks touch it. A block cannot outlive the value: `allocator_api2`
                // borrows it, and a `static` lives for the rest of the program.
                unsafe { h.extend(start, N) };
            }
            f(h)
        })
    }

    /// The heap, its buffer claimed: for [`Locked::free_errors`].
    pub fn heap(&self) -> &GlobalHeap {
        self.with(|_| ());
        &self.heap
    }

    /// The bytes the heap manages (its buffer, less the heap's own overhead).
    pub fn capacity(&self) -> usize {
        self.with(|h| h.stats().capacity)
    }
}

impl<const N: usize> Default for StaticHeap<N> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: forwarded to the claimed `GlobalHeap`, which upholds GlobalAlloc's contract.
unsafe impl<const N: usize> GlobalAlloc for StaticHeap<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.with(|h| h.allocate(layout)).map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.with(|h| h.allocate_zeroed(layout)).map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    // A block exists only once the buffer is claimed: the rest go straight to the heap.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded under the caller's contract.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded under the caller's contract.
        unsafe { self.heap.realloc(ptr, layout, new_size) }
    }
}

// SAFETY: forwarded to the claimed `GlobalHeap`, which upholds Allocator's contract.
unsafe impl<const N: usize> allocator_api2::alloc::Allocator for StaticHeap<N> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        self.with(|h| h.allocate(layout)).map_err(|_| allocator_api2::alloc::AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded under the caller's contract.
        unsafe { allocator_api2::alloc::Allocator::deallocate(&self.heap, ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        // SAFETY: forwarded under the caller's contract.
        unsafe { allocator_api2::alloc::Allocator::grow(&self.heap, ptr, old, new) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        // SAFETY: forwarded under the caller's contract.
        unsafe { allocator_api2::alloc::Allocator::shrink(&self.heap, ptr, old, new) }
    }
}

// SAFETY: every access to the allocator happens inside the critical section, which excludes
// every other context (interrupts masked on the consoles' single core, a global lock on the
// host); the allocator hands out disjoint blocks honouring the layout (RawAllocator's contract).
unsafe impl<A: RawAllocator> GlobalAlloc for Locked<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.with(|a| a.allocate(layout)).map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.with(|a| a.allocate_zeroed(layout)).map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with this layout.
            let result = self.with(|a| unsafe { a.deallocate(p, layout) });
            self.record(result);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (Some(p), Ok(new)) = (NonNull::new(ptr), Layout::from_size_align(new_size, layout.align()))
        else {
            return ptr::null_mut();
        };
        // SAFETY: GlobalAlloc's contract: `ptr` is live, from this allocator, with `layout`.
        self.with(|a| unsafe { a.reallocate(p, layout, new) })
            .map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
    }
}

// SAFETY: blocks stay valid until deallocated (the allocator never moves or reuses a live
// block); the allocator is only touched inside the critical section.
unsafe impl<A: RawAllocator> allocator_api2::alloc::Allocator for Locked<A> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        self.with(|a| a.allocate(layout)).map_err(|_| allocator_api2::alloc::AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: Allocator's contract: `ptr` is live, from this allocator, with `layout`.
        let result = self.with(|a| unsafe { a.deallocate(ptr, layout) });
        self.record(result);
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        // SAFETY: Allocator's contract, as `resize` asks.
        unsafe { self.resize(ptr, old, new) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        // SAFETY: Allocator's contract, as `resize` asks.
        let block = unsafe { self.resize(ptr, old, new) }?;
        // SAFETY: the block is live, the caller's, and at least `new.size() >= old.size()` long.
        unsafe { block.cast::<u8>().as_ptr().add(old.size()).write_bytes(0, block.len() - old.size()) };
        Ok(block)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        // SAFETY: Allocator's contract, as `resize` asks.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl<A: RawAllocator> Locked<A> {
    /// The allocator's own reallocation (in place where it can) for one alignment; across
    /// alignments, a new block, a copy and a free.
    ///
    /// # Safety
    /// `ptr` is live, from this allocator, with `old` (the Allocator trait's contract).
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        let moved = if old.align() == new.align() {
            // SAFETY: forwarded under this method's contract.
            self.with(|a| unsafe { a.reallocate(ptr, old, new) })
        } else {
            // SAFETY: forwarded under this method's contract.
            self.with(|a| unsafe { super::move_block(a, ptr, old, new) })
        };
        moved.map_err(|_| allocator_api2::alloc::AllocError)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use core::mem::MaybeUninit;

    use super::*;
    use crate::alloc::{Pool, Stack};

    #[test]
    fn vec_and_box_use_a_locked_allocator() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 4096];
        let heap = Locked::new(Stack::new(&mut memory));
        {
            let mut v = allocator_api2::vec::Vec::new_in(&heap);
            v.extend(0..100u32);
            let b = allocator_api2::boxed::Box::new_in(7u64, &heap);
            assert_eq!((v.iter().sum::<u32>(), *b), (4950, 7));
            // LIFO: the box goes first (declared last), then the vec.
        }
        assert_eq!(heap.with(|a| a.stats().live), 0);
        assert_eq!(heap.free_errors().0, 0);
    }

    #[test]
    fn global_alloc_refusals_are_counted_not_fatal() {
        let mut memory = [MaybeUninit::<u8>::uninit(); 256];
        let heap = Locked::new(Pool::new(&mut memory, Layout::new::<u64>()));
        let layout = Layout::new::<u64>();
        // SAFETY: GlobalAlloc used as its contract says, except for the deliberate double free,
        // which the pool refuses (debug builds) before touching anything.
        unsafe {
            let p = heap.alloc(layout);
            assert!(!p.is_null());
            heap.dealloc(p, layout);
            let mut foreign = 0u64;
            heap.dealloc((&raw mut foreign).cast(), layout);
        }
        let (count, last) = heap.free_errors();
        assert_eq!(count, 1);
        assert!(matches!(last, Some(FreeError::Foreign { .. })));
    }
}

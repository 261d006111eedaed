//! The allocators under test, each behind one small trait ([`Subject`]), and the memory they
//! are handed ([`Arena`]).
//!
//! Competitors are used in their unlocked form where they have one (`talc::Talc`,
//! `rlsf::Tlsf`, `linked_list_allocator::Heap`, `buddy_system_allocator::Heap`); embedded-alloc
//! only offers heaps behind a `critical-section` lock, so its figures include that lock (the
//! report measures what one acquisition costs here).

use std::alloc::{GlobalAlloc, Layout, handle_alloc_error};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

use flight_memory::alloc::{Buddy, MIN_BLOCK, RawAllocator, Tlsf};

/// An allocator under test, over raw pointers (null means refused), as `GlobalAlloc` has it.
pub trait Subject {
    /// A block for `layout` (`layout.size() > 0`), or null when the allocator refuses.
    fn alloc(&mut self, layout: Layout) -> *mut u8;

    /// Gives a block back.
    ///
    /// # Safety
    /// `ptr` is a live block of this subject, allocated (or last resized) with `layout`.
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout);

    /// Resizes a block to `new_size` bytes (same alignment), keeping its contents; null (and
    /// the old block untouched) when the allocator refuses.
    ///
    /// # Safety
    /// As for [`dealloc`](Self::dealloc); `new_size > 0`.
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8;
}

/// A workload run against whichever subject [`with_subject`] builds.
pub trait Visit {
    /// What the workload reports.
    type Output;

    /// Runs the workload on `subject`.
    fn visit<S: Subject>(&mut self, subject: &mut S) -> Self::Output;
}

/// The general-purpose heaps compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// flight-memory's TLSF heap (ours, the one the targets are about).
    Tlsf,
    /// flight-memory's buddy allocator (ours).
    Buddy,
    /// `talc::Talc` 5 with `Manual` (its memory claimed up front) and its default binning.
    Talc5,
    /// `talc::Talc` 4 with `ErrOnOom`.
    Talc,
    /// `rlsf::Tlsf`, configured as talc's benchmarks configure it.
    Rlsf,
    /// `linked_list_allocator::Heap`.
    LinkedList,
    /// `embedded_alloc::LlffHeap` (locked).
    EmbeddedLlff,
    /// `embedded_alloc::TlsfHeap` (locked).
    EmbeddedTlsf,
    /// `buddy_system_allocator::Heap<32>`.
    BuddySystem,
}

impl Kind {
    /// Every heap, ours first.
    pub const ALL: [Kind; 9] = [
        Kind::Tlsf,
        Kind::Buddy,
        Kind::Talc5,
        Kind::Talc,
        Kind::Rlsf,
        Kind::LinkedList,
        Kind::EmbeddedLlff,
        Kind::EmbeddedTlsf,
        Kind::BuddySystem,
    ];

    /// The name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tlsf => "ours: Tlsf",
            Kind::Buddy => "ours: Buddy",
            Kind::Talc5 => "talc 5",
            Kind::Talc => "talc 4",
            Kind::Rlsf => "rlsf",
            Kind::LinkedList => "linked_list_allocator",
            Kind::EmbeddedLlff => "embedded-alloc Llff (L)",
            Kind::EmbeddedTlsf => "embedded-alloc Tlsf (L)",
            Kind::BuddySystem => "buddy_system_allocator",
        }
    }

    /// Whether the heap is one of ours.
    pub fn ours(self) -> bool {
        matches!(self, Kind::Tlsf | Kind::Buddy)
    }
}

/// `rlsf::Tlsf` as talc's benchmarks configure it: `usize` bitmaps, 52 first-level and 64
/// second-level classes on a 64-bit host.
type RlsfHeap<'a> = rlsf::Tlsf<'a, usize, usize, { usize::BITS as usize - 12 }, { usize::BITS as usize }>;

/// Builds a fresh heap of `kind` over `memory` and runs `visit` on it.
pub fn with_subject<V: Visit>(kind: Kind, memory: &mut [MaybeUninit<u8>], visit: &mut V) -> V::Output {
    let (start, len) = (memory.as_mut_ptr().cast::<u8>(), memory.len());
    match kind {
        Kind::Tlsf => visit.visit(&mut Ours(Tlsf::new(memory))),
        Kind::Buddy => visit.visit(&mut Ours(Buddy::new(memory, MIN_BLOCK))),
        Kind::Talc => {
            let mut talc = talc::Talc::new(talc::ErrOnOom);
            // SAFETY: `memory` is borrowed exclusively for this whole call, which outlives the
            // heap, and nothing else uses it meanwhile.
            unsafe { talc.claim(talc::Span::from_base_size(start, len)) }
                .expect("talc refused the benchmark's memory");
            visit.visit(&mut TalcHeap(talc))
        }
        Kind::Talc5 => {
            let mut talc =
                talc5::base::Talc::<talc5::source::Manual, talc5::DefaultBinning>::new(talc5::source::Manual);
            // SAFETY: as for talc 4.
            unsafe { talc.claim(start, len) }.expect("talc 5 refused the benchmark's memory");
            visit.visit(&mut Talc5Heap(talc))
        }
        Kind::Rlsf => {
            let mut tlsf: RlsfHeap<'_> = rlsf::Tlsf::new();
            tlsf.insert_free_block(memory);
            visit.visit(&mut RlsfSubject(tlsf))
        }
        Kind::LinkedList => {
            let mut heap = linked_list_allocator::Heap::empty();
            // SAFETY: as for talc: the memory is exclusively ours for as long as the heap lives.
            unsafe { heap.init(start, len) };
            visit.visit(&mut LinkedList(heap))
        }
        Kind::EmbeddedLlff => {
            let heap = Box::new(embedded_alloc::LlffHeap::empty());
            // SAFETY: as for talc; `init` is called once on this fresh heap.
            unsafe { heap.init(start.addr(), len) };
            visit.visit(&mut Global(heap))
        }
        Kind::EmbeddedTlsf => {
            // Boxed: the value holds a 32 KiB table of list heads.
            let heap = Box::new(embedded_alloc::TlsfHeap::empty());
            // SAFETY: as for talc; `init` is called once on this fresh heap.
            unsafe { heap.init(start.addr(), len) };
            visit.visit(&mut Global(heap))
        }
        Kind::BuddySystem => {
            let mut heap = buddy_system_allocator::Heap::<32>::new();
            // SAFETY: as for talc: the memory is exclusively ours for as long as the heap lives.
            unsafe { heap.init(start.addr(), len) };
            visit.visit(&mut BuddySystem(heap))
        }
    }
}

/// Any of our allocators, through [`RawAllocator`].
pub struct Ours<A>(pub A);

impl<A: RawAllocator> Subject for Ours<A> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        self.0.allocate(layout).map_or(ptr::null_mut(), |block| block.cast::<u8>().as_ptr())
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract; a live block is never null.
        let freed = unsafe { self.0.deallocate(NonNull::new_unchecked(ptr), layout) };
        debug_assert!(freed.is_ok(), "{freed:?}");
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; the alignment is the old, valid one and the caller
        // keeps sizes far below `isize::MAX`.
        unsafe {
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            self.0.reallocate(NonNull::new_unchecked(ptr), layout, new)
        }
        .map_or(ptr::null_mut(), |block| block.cast::<u8>().as_ptr())
    }
}

/// `talc::Talc`, resized as talc's own `GlobalAlloc` (`Talck`) resizes: grow in place or move,
/// shrink in place.
struct TalcHeap(talc::Talc<talc::ErrOnOom>);

impl Subject for TalcHeap {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: `malloc` only requires a non-zero size, which the caller guarantees.
        unsafe { self.0.malloc(layout) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        unsafe { self.0.free(NonNull::new_unchecked(ptr), layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; `grow` is called only to grow, `shrink` only to shrink.
        unsafe {
            let nn = NonNull::new_unchecked(ptr);
            match new_size.cmp(&layout.size()) {
                std::cmp::Ordering::Greater => {
                    self.0.grow(nn, layout, new_size).map_or(ptr::null_mut(), NonNull::as_ptr)
                }
                std::cmp::Ordering::Less => {
                    self.0.shrink(nn, layout, new_size);
                    ptr
                }
                std::cmp::Ordering::Equal => ptr,
            }
        }
    }
}

/// `talc::Talc` 5, resized as its own `GlobalAlloc` (`TalcLock`) resizes: in place when it
/// can, else a new block, a copy and a free.
struct Talc5Heap(talc5::base::Talc<talc5::source::Manual, talc5::DefaultBinning>);

impl Subject for Talc5Heap {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: `allocate` only requires a non-zero size, which the caller guarantees.
        unsafe { self.0.allocate(layout) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        unsafe { self.0.deallocate(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract: `ptr` is live with `layout`; the new block, if any, is
        // distinct and at least as long as the copy.
        unsafe {
            if new_size <= layout.size() {
                self.0.shrink(ptr, layout, new_size);
                return ptr;
            }
            if self.0.try_grow_in_place(ptr, layout, new_size) {
                return ptr;
            }
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            let Some(moved) = self.0.allocate(new) else { return ptr::null_mut() };
            ptr.copy_to_nonoverlapping(moved.as_ptr(), layout.size());
            self.0.deallocate(ptr, layout);
            moved.as_ptr()
        }
    }
}

/// `rlsf::Tlsf`, with its own in-place-first `reallocate`.
struct RlsfSubject<'a>(RlsfHeap<'a>);

impl Subject for RlsfSubject<'_> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        self.0.allocate(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract; rlsf needs the block's alignment.
        unsafe { self.0.deallocate(NonNull::new_unchecked(ptr), layout.align()) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract; same alignment as the block was allocated with.
        unsafe {
            let new = Layout::from_size_align_unchecked(new_size, layout.align());
            self.0.reallocate(NonNull::new_unchecked(ptr), new)
        }
        .map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

/// Allocate, copy, free: what `GlobalAlloc::realloc` does by default, and so what
/// linked_list_allocator's and buddy_system_allocator's locked heaps do.
///
/// # Safety
/// As for [`Subject::realloc`].
#[inline]
unsafe fn move_block<S: Subject + ?Sized>(
    s: &mut S,
    ptr: *mut u8,
    layout: Layout,
    new_size: usize,
) -> *mut u8 {
    // SAFETY: the alignment is the old, valid one; sizes stay far below `isize::MAX`.
    let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
    let moved = s.alloc(new);
    if !moved.is_null() {
        // SAFETY: both blocks are live, distinct, and at least the copied length long.
        unsafe {
            ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
            s.dealloc(ptr, layout);
        }
    }
    moved
}

/// `linked_list_allocator::Heap` (first fit).
struct LinkedList(linked_list_allocator::Heap);

impl Subject for LinkedList {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        self.0.allocate_first_fit(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        unsafe { self.0.deallocate(NonNull::new_unchecked(ptr), layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { move_block(self, ptr, layout, new_size) }
    }
}

/// `buddy_system_allocator::Heap<32>`.
struct BuddySystem(buddy_system_allocator::Heap<32>);

impl Subject for BuddySystem {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        self.0.alloc(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        unsafe { self.0.dealloc(NonNull::new_unchecked(ptr), layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { move_block(self, ptr, layout, new_size) }
    }
}

/// A heap only reachable through `GlobalAlloc` (embedded-alloc's, each call behind its lock),
/// boxed.
struct Global<G>(Box<G>);

impl<G: GlobalAlloc> Subject for Global<G> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller guarantees a non-zero size.
        unsafe { self.0.alloc(layout) }
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// No allocator at all: hands out the alignment itself as an address, frees nothing and
/// resizes in place. Running a workload on it measures the harness alone.
pub struct Null;

impl Subject for Null {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> *mut u8 {
        ptr::without_provenance_mut(layout.align())
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: *mut u8, _: Layout) {
        std::hint::black_box(ptr);
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: *mut u8, _: Layout, _: usize) -> *mut u8 {
        ptr
    }
}

/// The memory handed to every heap in turn: page-aligned, allocated once, every page touched
/// up front so that no heap pays the first-touch page faults.
pub struct Arena {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl Arena {
    /// An arena of `len` bytes.
    pub fn new(len: usize) -> Self {
        let layout = Layout::from_size_align(len.max(1), 4096).expect("arena size");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(ptr) else { handle_alloc_error(layout) };
        for page in (0..layout.size()).step_by(4096) {
            // SAFETY: `page` is inside the allocation.
            unsafe { ptr.as_ptr().add(page).write_volatile(0xab) };
        }
        Self { ptr, layout }
    }

    /// The first `len` bytes of the arena (at most its length).
    pub fn memory(&mut self, len: usize) -> &mut [MaybeUninit<u8>] {
        let len = len.min(self.layout.size());
        // SAFETY: the arena owns these bytes, and the `&mut self` borrow makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), len) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

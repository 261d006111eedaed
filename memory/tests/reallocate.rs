//! Reallocation through every adapter leaves nothing behind: a `Vec` that grows 2,000 times
//! through `Locked<A>` (the `allocator_api2` path) and the same growth through `GlobalAlloc`'s
//! `realloc` end, once freed, with no live block and no byte in use, for every allocator; and
//! the allocators resize in place where they can (the most recent block of a stack or an arena,
//! a pool's block, TLSF's block with room after it, also behind `WithOom`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;

use allocator_api2::vec::Vec as ApiVec;
use flight_memory::alloc::{Buddy, Linear, Locked, OomHandler, Pool, RawAllocator, Stack, Tlsf, WithOom};

const PUSHES: u32 = 2_000;

fn memory(bytes: usize) -> &'static mut [MaybeUninit<u8>] {
    Box::leak(vec![MaybeUninit::uninit(); bytes].into_boxed_slice())
}

/// Grows a `Vec<u32>` by one push at a time through `heap`, checks its contents, drops it,
/// and returns the allocator's counters then.
fn vec_through<A: RawAllocator>(heap: &Locked<A>) -> flight_memory::alloc::Stats {
    let mut v = ApiVec::new_in(heap);
    for i in 0..PUSHES {
        v.push(i);
    }
    assert!(v.iter().copied().eq(0..PUSHES));
    drop(v);
    heap.with(|a| a.stats())
}

/// The same growth through `GlobalAlloc::realloc`, doubling as a `Vec` does.
fn realloc_through<A: RawAllocator>(heap: &Locked<A>) -> flight_memory::alloc::Stats {
    let mut layout = Layout::array::<u32>(4).unwrap();
    // SAFETY: a fresh block of `layout`, grown with `realloc` and freed with its last layout.
    unsafe {
        let mut p = heap.alloc(layout).cast::<u32>();
        assert!(!p.is_null());
        let mut capacity = 4;
        for i in 0..PUSHES as usize {
            if i == capacity {
                let new = Layout::array::<u32>(capacity * 2).unwrap();
                p = heap.realloc(p.cast(), layout, new.size()).cast();
                assert!(!p.is_null(), "realloc to {} bytes", new.size());
                (layout, capacity) = (new, capacity * 2);
            }
            p.add(i).write(i as u32);
        }
        assert!((0..PUSHES as usize).all(|i| p.add(i).read() == i as u32));
        heap.dealloc(p.cast(), layout);
    }
    heap.with(|a| a.stats())
}

fn assert_empty(what: &str, stats: flight_memory::alloc::Stats) {
    assert_eq!((stats.live, stats.used, stats.requested), (0, 0, 0), "{what}: {stats:?}");
}

#[test]
fn a_growing_vec_leaves_nothing_behind_in_any_allocator() {
    let stack = Locked::new(Stack::new(memory(64 << 10)));
    assert_empty("stack, Vec", vec_through(&stack));
    assert_empty("stack, realloc", realloc_through(&stack));
    let linear = Locked::new(Linear::new(memory(64 << 10)));
    assert_empty("linear, Vec", vec_through(&linear));
    assert_empty("linear, realloc", realloc_through(&linear));
    let tlsf = Locked::new(Tlsf::new(memory(64 << 10)));
    assert_empty("tlsf, Vec", vec_through(&tlsf));
    assert_empty("tlsf, realloc", realloc_through(&tlsf));
    let buddy = Locked::new(Buddy::new(memory(64 << 10), 64));
    assert_empty("buddy, Vec", vec_through(&buddy));
    assert_empty("buddy, realloc", realloc_through(&buddy));
    let pool = Locked::new(Pool::new(memory(64 << 10), Layout::from_size_align(8192, 8).unwrap()));
    assert_empty("pool, Vec", vec_through(&pool));
    assert_empty("pool, realloc", realloc_through(&pool));
}

/// A block below the top of a stack moves, and its bytes come back once what lies above it
/// is freed; a marker taken before both frees everything.
#[test]
fn a_stack_moves_a_block_below_its_top_and_reclaims_it() {
    let mut s = Stack::new(memory(4096));
    let l = |n| Layout::from_size_align(n, 8).unwrap();
    let before = s.marker();
    let a = s.allocate(l(64)).unwrap().cast::<u8>();
    let b = s.allocate(l(64)).unwrap().cast::<u8>();
    // SAFETY: `a` is live with l(64); it moves above `b` and is counted free.
    let a2 = unsafe {
        a.as_ptr().write(7);
        s.reallocate(a, l(64), l(128)).unwrap().cast::<u8>()
    };
    assert_ne!(a2, a);
    // SAFETY: the moved block holds the old contents.
    assert_eq!(unsafe { a2.as_ptr().read() }, 7);
    assert_eq!(s.stats().live, 2);
    // SAFETY: LIFO: the moved block, then `b`; the old `a` goes with `b`.
    unsafe {
        s.deallocate(a2, l(128)).unwrap();
        s.deallocate(b, l(64)).unwrap();
    }
    assert_eq!(s.marker(), before, "the old block came back with `b`");
    assert_eq!((s.stats().live, s.stats().used), (0, 0));

    let a = s.allocate(l(64)).unwrap().cast::<u8>();
    let _b = s.allocate(l(64)).unwrap();
    // SAFETY: `a` is live; it moves.
    unsafe { s.reallocate(a, l(64), l(32)).unwrap() };
    s.free_to(before).unwrap();
    assert_eq!(s.marker(), before);
    assert_eq!((s.stats().live, s.stats().used, s.stats().requested), (0, 0, 0));
}

struct Never;

impl<A> OomHandler<A> for Never {
    fn handle_oom(&mut self, _: &mut A, _: Layout) -> bool {
        false
    }
}

/// In place: a stack's and an arena's newest block, a pool's block (even with the pool full),
/// TLSF's last block behind `WithOom`.
#[test]
fn blocks_resize_in_place_where_they_can() {
    let l = |n| Layout::from_size_align(n, 8).unwrap();
    let mut s = Stack::new(memory(4096));
    let p = s.allocate(l(16)).unwrap().cast::<u8>();
    // SAFETY: `p` is the newest block, live with l(16).
    assert_eq!(unsafe { s.reallocate(p, l(16), l(1024)) }.unwrap().cast::<u8>(), p);
    let mut a = Linear::new(memory(4096));
    let p = a.allocate(l(16)).unwrap().cast::<u8>();
    // SAFETY: as above.
    assert_eq!(unsafe { a.reallocate(p, l(16), l(1024)) }.unwrap().cast::<u8>(), p);
    let mut pool = Pool::new(memory(256), l(64));
    let blocks: Vec<_> = (0..4).map(|_| pool.allocate(l(8)).unwrap().cast::<u8>()).collect();
    assert!(pool.allocate(l(8)).is_err(), "the pool is full");
    // SAFETY: `blocks[0]` is live with l(8).
    assert_eq!(unsafe { pool.reallocate(blocks[0], l(8), l(64)) }.unwrap().cast::<u8>(), blocks[0]);
    assert_eq!(pool.stats().requested, 64 + 3 * 8);
    let mut t = WithOom { allocator: Tlsf::new(memory(8192)), handler: Never };
    let p = t.allocate(l(64)).unwrap().cast::<u8>();
    // SAFETY: `p` is live with l(64); the free space after it lets it grow where it is.
    assert_eq!(unsafe { t.reallocate(p, l(64), l(512)) }.unwrap().cast::<u8>(), p);
}

/// A `StaticHeap` is one safe line, claims its buffer on first use, and grows a `Vec` and a
/// `realloc`ed block leaving nothing behind.
#[test]
fn a_static_heap_needs_no_set_up() {
    use flight_memory::alloc::StaticHeap;
    static HEAP: StaticHeap<{ 64 * 1024 }> = StaticHeap::new();
    let mut v = ApiVec::new_in(&HEAP);
    for i in 0..PUSHES {
        v.push(i);
    }
    assert!(v.iter().copied().eq(0..PUSHES));
    drop(v);
    let stats = HEAP.with(|h| h.stats());
    assert!(stats.capacity > 60 * 1024, "{stats:?}");
    assert_empty("static heap, Vec", stats);
    // SAFETY: a fresh block, grown and freed with its layouts.
    unsafe {
        let l = Layout::from_size_align(16, 8).unwrap();
        let p = HEAP.alloc(l);
        assert!(!p.is_null());
        p.write(5);
        let q = HEAP.realloc(p, l, 4096);
        assert!(!q.is_null());
        assert_eq!(q.read(), 5);
        HEAP.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
    }
    assert_empty("static heap, realloc", HEAP.with(|h| h.stats()));
    assert_eq!(HEAP.heap().free_errors().0, 0);
}

/// `reset_peak` starts the peak afresh from what is in use, through `WithOom` too.
#[test]
fn the_peak_restarts_from_what_is_in_use() {
    let l = |n| Layout::from_size_align(n, 8).unwrap();
    let mut t = WithOom { allocator: Tlsf::new(memory(8192)), handler: Never };
    let a = t.allocate(l(64)).unwrap().cast::<u8>();
    let b = t.allocate(l(2048)).unwrap().cast::<u8>();
    // SAFETY: `b` is live with l(2048).
    unsafe { t.deallocate(b, l(2048)).unwrap() };
    let before = t.stats();
    assert!(before.peak > before.used);
    t.reset_peak();
    assert_eq!(t.stats().peak, before.used);
    // SAFETY: `a` is live with l(64).
    unsafe { t.deallocate(a, l(64)).unwrap() };
    assert_eq!(t.stats().peak, before.used);
}

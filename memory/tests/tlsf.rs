//! Property tests of the TLSF heap: random allocate / free / grow / shrink / reallocate
//! sequences against a model, checked after every step (no overlap, inside the memory,
//! alignment, contents kept, exact accounting, heap invariants), and everything back at the end.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use flight_memory::alloc::{AllocError, RawAllocator, Tlsf};
use proptest::prelude::*;

const HEAP: usize = 64 * 1024;

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
struct Live {
    ptr: NonNull<u8>,
    /// The usable length handed out.
    len: usize,
    layout: Layout,
    fill: u8,
}

#[derive(Clone, Debug)]
enum Op {
    /// Allocate `size` bytes aligned to `1 << align_log2`.
    Alloc { size: usize, align_log2: u32 },
    /// Free the live block at this index (modulo the count).
    Free(usize),
    /// Grow the live block at this index in place by `extra` bytes.
    Grow(usize, usize),
    /// Shrink the live block at this index in place to `percent` of its size.
    Shrink(usize, usize),
    /// Reallocate the live block at this index to a new layout.
    Realloc { index: usize, size: usize, align_log2: u32 },
    /// Free a block freed before (modulo their count) whose address no live block has now:
    /// must be refused in debug builds.
    FreeAgain(usize),
}

fn op(max_size: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0..=max_size, 0u32..=8).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        3 => any::<usize>().prop_map(Op::Free),
        1 => (any::<usize>(), 0usize..=2048).prop_map(|(i, extra)| Op::Grow(i, extra)),
        1 => (any::<usize>(), 0usize..=100).prop_map(|(i, percent)| Op::Shrink(i, percent)),
        1 => (any::<usize>(), 0..=max_size, 0u32..=8)
            .prop_map(|(index, size, align_log2)| Op::Realloc { index, size, align_log2 }),
        1 => any::<usize>().prop_map(Op::FreeAgain),
    ]
}

/// The memory under test: `len` bytes aligned to 16, inside a `Vec`.
fn memory(v: &mut Vec<MaybeUninit<u8>>, len: usize) -> &mut [MaybeUninit<u8>] {
    v.resize(len + 16, MaybeUninit::uninit());
    let off = (16 - (v.as_ptr() as usize % 16)) % 16;
    &mut v[off..off + len]
}

fn fill(block: &Live) {
    // SAFETY: the block is live and `len` bytes long.
    unsafe { block.ptr.as_ptr().write_bytes(block.fill, block.len) };
}

/// Whether the first `len` bytes of the block still hold its fill byte.
fn holds(block: &Live, len: usize) -> bool {
    let pattern = [block.fill; 1024];
    // SAFETY: the block is live and at least `len` bytes long.
    let bytes = unsafe { core::slice::from_raw_parts(block.ptr.as_ptr(), len) };
    bytes.chunks(1024).all(|chunk| chunk == &pattern[..chunk.len()])
}

/// The heap under test, the model, and what the model expects of the counters.
struct Harness<'a> {
    heap: Tlsf<'a>,
    /// The memory ranges handed to the heap.
    ranges: Vec<(usize, usize)>,
    /// The capacity each range added.
    capacities: Vec<usize>,
    live: Vec<Live>,
    /// Live blocks that no operation picks (checked like the others, freed at the end).
    pinned: Vec<Live>,
    freed: Vec<usize>,
    next_fill: u8,
    failures: u64,
}

impl<'a> Harness<'a> {
    fn new(memory: &'a mut [MaybeUninit<u8>]) -> Self {
        let range = (memory.as_ptr() as usize, memory.as_ptr() as usize + memory.len());
        let len = memory.len();
        let heap = Tlsf::new(memory);
        let capacity = heap.stats().capacity;
        assert!(capacity > len - Tlsf::REGION_OVERHEAD && capacity <= len);
        Self {
            heap,
            ranges: vec![range],
            capacities: vec![capacity],
            live: Vec::new(),
            pinned: Vec::new(),
            freed: Vec::new(),
            next_fill: 1,
            failures: 0,
        }
    }

    fn claim(&mut self, memory: &'a mut [MaybeUninit<u8>]) {
        let range = (memory.as_ptr() as usize, memory.as_ptr() as usize + memory.len());
        let added = self.heap.claim(memory);
        assert!(added > range.1 - range.0 - Tlsf::REGION_OVERHEAD);
        self.ranges.push(range);
        self.capacities.push(added);
    }

    fn fill_byte(&mut self) -> u8 {
        self.next_fill = self.next_fill.wrapping_add(1).max(1);
        self.next_fill
    }

    fn record(&mut self, ptr: NonNull<[u8]>, layout: Layout) -> Live {
        let block = Live { ptr: ptr.cast(), len: ptr.len(), layout, fill: self.fill_byte() };
        assert!(block.len >= layout.size(), "block shorter than asked");
        fill(&block);
        self.freed.retain(|&addr| addr != block.ptr.as_ptr() as usize);
        block
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Alloc { size, align_log2 } => {
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                let fits = layout.align() <= Tlsf::GRANULE && size <= self.heap.largest_free();
                let before = self.heap.stats();
                match self.heap.allocate(layout) {
                    Ok(ptr) => {
                        let block = self.record(ptr, layout);
                        self.live.push(block);
                    }
                    Err(error) => {
                        assert!(!fits, "{size} bytes refused with {} free", self.heap.largest_free());
                        assert!(matches!(error, AllocError::Exhausted { .. }), "{error:?}");
                        self.failures += 1;
                        let after = self.heap.stats();
                        assert_eq!((after.used, after.live), (before.used, before.live));
                    }
                }
            }
            Op::Free(i) if !self.live.is_empty() => {
                let block = self.live.swap_remove(i % self.live.len());
                // SAFETY: a live block of this heap with this layout.
                unsafe { self.heap.deallocate(block.ptr, block.layout) }.unwrap();
                self.freed.push(block.ptr.as_ptr() as usize);
            }
            Op::Grow(i, extra) if !self.live.is_empty() => {
                let i = i % self.live.len();
                let old = self.live[i];
                let before = self.heap.stats();
                // SAFETY: a live block of this heap with this layout.
                match unsafe { self.heap.grow_in_place(old.ptr, old.layout, old.layout.size() + extra) } {
                    Ok(ptr) => {
                        assert_eq!(ptr.cast::<u8>(), old.ptr, "grown in place");
                        assert!(holds(&old, old.len.min(ptr.len())), "contents kept");
                        let layout =
                            Layout::from_size_align(old.layout.size() + extra, old.layout.align()).unwrap();
                        self.live[i] = self.record(ptr, layout);
                    }
                    Err(error) => {
                        assert!(matches!(error, AllocError::Exhausted { .. }), "{error:?}");
                        assert_eq!(self.heap.stats(), before, "a failed grow changes nothing");
                    }
                }
            }
            Op::Shrink(i, percent) if !self.live.is_empty() => {
                let i = i % self.live.len();
                let old = self.live[i];
                let size = old.layout.size() * percent / 100;
                // SAFETY: a live block of this heap with this layout.
                let ptr = unsafe { self.heap.shrink_in_place(old.ptr, old.layout, size) }.unwrap();
                assert_eq!(ptr.cast::<u8>(), old.ptr, "shrunk in place");
                assert!(holds(&old, ptr.len()), "contents kept");
                let layout = Layout::from_size_align(size, old.layout.align()).unwrap();
                self.live[i] = self.record(ptr, layout);
            }
            Op::Realloc { index, size, align_log2 } if !self.live.is_empty() => {
                let i = index % self.live.len();
                let old = self.live[i];
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                let before = self.heap.stats();
                // SAFETY: a live block of this heap with this layout.
                match unsafe { self.heap.reallocate(old.ptr, old.layout, layout) } {
                    Ok(ptr) => {
                        let kept = Live { ptr: ptr.cast(), ..old };
                        assert!(holds(&kept, size.min(old.layout.size())), "contents kept");
                        if ptr.cast::<u8>() != old.ptr {
                            self.freed.push(old.ptr.as_ptr() as usize);
                        }
                        self.live[i] = self.record(ptr, layout);
                    }
                    Err(error) => {
                        assert!(matches!(error, AllocError::Exhausted { .. }), "{error:?}");
                        self.failures += 1;
                        let after = self.heap.stats();
                        assert_eq!((after.used, after.live), (before.used, before.live));
                    }
                }
            }
            Op::FreeAgain(i) if cfg!(debug_assertions) && !self.freed.is_empty() => {
                let addr = self.freed[i % self.freed.len()];
                let before = self.heap.stats();
                let ptr = NonNull::new(addr as *mut u8).unwrap();
                let layout = Layout::from_size_align(0, 1).unwrap();
                // SAFETY: no live block starts at `addr`; debug builds refuse it before touching
                // anything.
                assert!(unsafe { self.heap.deallocate(ptr, layout) }.is_err());
                assert_eq!(self.heap.stats(), before);
            }
            _ => {}
        }
        self.check();
    }

    /// The model against the heap and the memory.
    fn check(&self) {
        self.heap.check().unwrap();
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(self.live.len());
        for block in self.live.iter().chain(&self.pinned) {
            let start = block.ptr.as_ptr() as usize;
            let end = start + block.len;
            assert!(
                self.ranges.iter().any(|&(lo, hi)| start >= lo && end <= hi),
                "outside the memory: {block:?}"
            );
            assert_eq!(start % block.layout.align(), 0, "misaligned: {block:?}");
            assert_eq!(start % Tlsf::GRANULE, 0, "payloads are granule-aligned");
            assert!(holds(block, block.len), "contents overwritten: {block:?}");
            spans.push((start, end));
        }
        spans.sort_unstable();
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "overlap: {pair:?}");
        }
        let stats = self.heap.stats();
        let all = || self.live.iter().chain(&self.pinned);
        let requested: usize = all().map(|b| b.layout.size()).sum();
        let reserved: usize = all().map(|b| b.len + Tlsf::HEADER).sum();
        assert_eq!(stats.requested, requested);
        assert_eq!(stats.live, self.live.len() + self.pinned.len());
        assert_eq!(stats.used, reserved, "used counts each block and its header");
        assert!(stats.used >= stats.requested);
        assert!(stats.peak >= stats.used);
        assert_eq!(stats.failures, self.failures);
        assert!(stats.free() >= self.heap.largest_free());
    }

    /// Frees everything (in a shuffled order) and checks that all memory is back.
    fn finish(mut self, order: usize) {
        self.live.append(&mut self.pinned);
        let count = self.live.len();
        for k in 0..count {
            let block = self.live.swap_remove((order.wrapping_mul(k + 7)) % self.live.len());
            // SAFETY: a live block of this heap with this layout.
            unsafe { self.heap.deallocate(block.ptr, block.layout) }.unwrap();
            self.heap.check().unwrap();
        }
        let stats = self.heap.stats();
        assert_eq!((stats.used, stats.requested, stats.live), (0, 0, 0));
        // Each region is one free block again: all its capacity, of which all but a header
        // can be allocated at once.
        assert_eq!(stats.capacity, self.capacities.iter().sum::<usize>());
        let largest = self.capacities.iter().max().unwrap() - Tlsf::HEADER;
        assert_eq!(self.heap.largest_free(), largest);
        for capacity in self.capacities {
            let all = Layout::from_size_align(capacity - Tlsf::HEADER, 1).unwrap();
            assert!(self.heap.allocate(all).is_ok());
        }
        assert_eq!(self.heap.stats().free(), 0);
        self.heap.check().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random sequences on a 64 KiB heap.
    #[test]
    fn random_sequences(ops in prop::collection::vec(op(4096), 1..300), order in any::<usize>()) {
        let mut v = Vec::new();
        let mut h = Harness::new(memory(&mut v, HEAP));
        for op in &ops {
            h.step(op);
        }
        h.finish(order);
    }

    /// A heap of two regions, the second added half-way through.
    #[test]
    fn two_regions(ops in prop::collection::vec(op(4096), 1..300), order in any::<usize>()) {
        let (mut v, mut w) = (Vec::new(), Vec::new());
        let mut h = Harness::new(memory(&mut v, HEAP));
        let second = memory(&mut w, HEAP / 2);
        let (first_half, second_half) = ops.split_at(ops.len() / 2);
        for op in first_half {
            h.step(op);
        }
        h.claim(second);
        for op in second_half {
            h.step(op);
        }
        h.finish(order);
    }

    /// Under exhaustion pressure: mostly large requests on a small part of the heap, so that
    /// most steps run out; the blocks handed out must still never overlap.
    #[test]
    fn never_overlaps_when_exhausted(
        ops in prop::collection::vec(
            prop_oneof![
                6 => (512usize..=4096, 0u32..=8).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
                1 => any::<usize>().prop_map(Op::Free),
                1 => (any::<usize>(), 0usize..=4096).prop_map(|(i, extra)| Op::Grow(i, extra)),
                1 => (any::<usize>(), 512usize..=4096, 0u32..=8)
                    .prop_map(|(index, size, align_log2)| Op::Realloc { index, size, align_log2 }),
            ],
            1..300,
        ),
        order in any::<usize>(),
    ) {
        let mut v = Vec::new();
        let mut h = Harness::new(memory(&mut v, HEAP));
        // Leave roughly 12 KiB: a long-lived block takes the rest.
        let hog = Layout::from_size_align(HEAP - 12 * 1024, 1).unwrap();
        let ptr = h.heap.allocate(hog).unwrap();
        let block = h.record(ptr, hog);
        h.pinned.push(block);
        let mut failed = 0;
        for op in &ops {
            let before = h.failures;
            h.step(op);
            failed += h.failures - before;
        }
        prop_assert!(ops.len() < 40 || failed > 0, "the heap never ran out");
        h.finish(order);
    }
}

/// Small requests until nothing fits: the heap hands out all but a sliver of its memory.
#[test]
fn fills_up_almost_completely() {
    let mut v = Vec::new();
    let mut h = Harness::new(memory(&mut v, HEAP));
    let mut size = 1;
    loop {
        let layout = Layout::from_size_align(size, 8).unwrap();
        match h.heap.allocate(layout) {
            Ok(ptr) => {
                let block = h.record(ptr, layout);
                h.live.push(block);
                size = size * 7 % 509 + 1;
            }
            Err(_) if size > 1 => size = 1,
            Err(_) => break,
        }
    }
    h.failures = h.heap.stats().failures;
    h.check();
    // Free blocks are never smaller than a minimum block, so nothing is left at all.
    let stats = h.heap.stats();
    assert_eq!(stats.free(), 0, "{stats:?}");
    h.finish(3);
}

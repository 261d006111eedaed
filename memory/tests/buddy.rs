//! Property tests: random sequences of allocate, reallocate and free (and refused frees) on the
//! buddy allocator, over memory of random length and alignment, checked against a model after
//! every step: blocks inside the memory and past the metadata, disjoint, naturally aligned and
//! of the expected power-of-two size, contents intact, exact accounting, refused frees change
//! nothing, and every byte is back once everything is freed.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use flight_memory::alloc::{AllocError, Buddy, FreeError, MIN_BLOCK, RawAllocator};
use proptest::prelude::*;

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
struct Live {
    addr: usize,
    /// The whole block handed out.
    len: usize,
    layout: Layout,
    fill: u8,
}

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
    },
    Realloc {
        index: usize,
        size: usize,
    },
    Free(usize),
    /// Frees an address freed earlier (refused unless it is live again).
    Refree(usize),
    /// Frees an address inside a live block, past its start (refused).
    Inside {
        index: usize,
        offset: usize,
    },
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            6 => (0usize..700, 0u32..10).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
            2 => (any::<usize>(), 0usize..1500).prop_map(|(index, size)| Op::Realloc { index, size }),
            5 => any::<usize>().prop_map(Op::Free),
            1 => any::<usize>().prop_map(Op::Refree),
            1 => (any::<usize>(), 1usize..64).prop_map(|(index, offset)| Op::Inside { index, offset }),
        ],
        1..250,
    )
}

fn fill(addr: usize, len: usize, byte: u8) {
    // SAFETY: the block is live and `len` bytes long (the model says so).
    unsafe { (addr as *mut u8).write_bytes(byte, len) };
}

fn ptr(addr: usize) -> NonNull<u8> {
    NonNull::new(addr as *mut u8).unwrap()
}

/// The block size the buddy must use for `layout`.
fn expected_len(layout: Layout, min: usize) -> usize {
    layout.size().max(layout.align()).max(min).next_power_of_two()
}

/// Checks the model against the allocator and the memory.
fn check(model: &[Live], b: &Buddy<'_>, range: (usize, usize)) {
    let meta_end = range.0 + b.metadata_bytes();
    for (i, a) in model.iter().enumerate() {
        assert!(a.addr >= meta_end && a.addr + a.len <= range.1, "{a:?} outside the memory");
        assert_eq!(a.addr % a.layout.align(), 0, "misaligned: {a:?}");
        assert_eq!(a.addr % a.len, 0, "not naturally aligned: {a:?}");
        assert_eq!(a.len, expected_len(a.layout, b.min_block()), "{a:?}");
        for o in &model[i + 1..] {
            assert!(a.addr + a.len <= o.addr || o.addr + o.len <= a.addr, "overlap: {a:?} {o:?}");
        }
        // SAFETY: a live block of `len` bytes.
        let bytes = unsafe { core::slice::from_raw_parts(a.addr as *const u8, a.len) };
        assert!(bytes.iter().all(|&x| x == a.fill), "contents of {a:?} changed");
    }
    let s = b.stats();
    assert_eq!(s.live, model.len());
    assert_eq!(s.requested, model.iter().map(|l| l.layout.size()).sum::<usize>());
    assert_eq!(s.used, model.iter().map(|l| l.len).sum::<usize>());
    assert!(s.used <= s.capacity && s.peak >= s.used);
    assert!(b.largest_free() <= s.free());
    assert!(b.largest_free() <= b.top_block());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn buddy_matches_its_model(
        ops in ops(),
        len in 0usize..6000,
        offset in 0usize..64,
        min_block in prop_oneof![Just(0usize), Just(MIN_BLOCK), Just(24), Just(64)],
    ) {
        let mut backing = vec![MaybeUninit::<u8>::uninit(); len + 64];
        let mem = &mut backing[offset..offset + len];
        let range = (mem.as_ptr() as usize, mem.as_ptr() as usize + len);
        let mut b = Buddy::new(mem, min_block);
        let min = b.min_block();
        let top = b.top_block();
        prop_assert!(min.is_power_of_two() && min >= MIN_BLOCK && min >= min_block);
        prop_assert_eq!(b.largest_free(), top);
        prop_assert!(b.stats().capacity + b.metadata_bytes() <= len);
        let mut model: Vec<Live> = Vec::new();
        let mut freed: Vec<usize> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            let byte = n as u8;
            match *op {
                Op::Alloc { size, align_log2 } => {
                    let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                    let want = expected_len(layout, min);
                    let before = b.stats();
                    match b.allocate(layout) {
                        Ok(blk) => {
                            let addr = blk.cast::<u8>().as_ptr() as usize;
                            fill(addr, blk.len(), byte);
                            model.push(Live { addr, len: blk.len(), layout, fill: byte });
                        }
                        Err(AllocError::Exhausted { free, largest, .. }) => {
                            prop_assert!(want <= top);
                            prop_assert!(largest < want, "a {want}-byte block was free");
                            prop_assert_eq!((free, largest), (before.free(), b.largest_free()));
                            prop_assert_eq!(b.stats().used, before.used);
                        }
                        Err(AllocError::Unsupported { .. }) => prop_assert!(want > top),
                        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                    }
                }
                Op::Realloc { index, size } if !model.is_empty() => {
                    let i = index % model.len();
                    let old = model[i];
                    let new = Layout::from_size_align(size, old.layout.align()).unwrap();
                    // SAFETY: a live block of `b` with its layout.
                    match unsafe { b.reallocate(ptr(old.addr), old.layout, new) } {
                        Ok(blk) => {
                            let addr = blk.cast::<u8>().as_ptr() as usize;
                            let kept = old.layout.size().min(new.size());
                            // SAFETY: the new block is live and at least `kept` bytes long.
                            let bytes = unsafe { core::slice::from_raw_parts(addr as *const u8, kept) };
                            prop_assert!(bytes.iter().all(|&x| x == old.fill), "contents moved");
                            if new.size() <= old.len {
                                prop_assert_eq!(addr, old.addr, "shrinks in place");
                            }
                            fill(addr, blk.len(), byte);
                            if addr != old.addr {
                                freed.push(old.addr);
                            }
                            model[i] = Live { addr, len: blk.len(), layout: new, fill: byte };
                        }
                        Err(_) => prop_assert!(expected_len(new, min) > old.len, "the old block stays"),
                    }
                }
                Op::Free(index) if !model.is_empty() => {
                    let l = model.swap_remove(index % model.len());
                    // SAFETY: a live block of `b` with its layout.
                    unsafe { b.deallocate(ptr(l.addr), l.layout).unwrap() };
                    freed.push(l.addr);
                }
                Op::Refree(index) if !freed.is_empty() => {
                    let addr = freed[index % freed.len()];
                    if model.iter().all(|l| l.addr != addr) {
                        let before = b.stats();
                        // SAFETY: not a live block start: refused before anything is touched.
                        let r = unsafe { b.deallocate(ptr(addr), Layout::new::<u8>()) };
                        let inside_live = model.iter().any(|l| l.addr < addr && addr < l.addr + l.len);
                        if inside_live {
                            prop_assert_eq!(r, Err(FreeError::Foreign { addr }));
                        } else {
                            prop_assert_eq!(r, Err(FreeError::DoubleFree { addr }));
                        }
                        prop_assert_eq!(b.stats(), before);
                    }
                }
                Op::Inside { index, offset } if !model.is_empty() => {
                    let l = model[index % model.len()];
                    let addr = l.addr + offset % l.len;
                    if addr != l.addr {
                        let before = b.stats();
                        // SAFETY: not a block start: refused before anything is touched.
                        let r = unsafe { b.deallocate(ptr(addr), l.layout) };
                        prop_assert_eq!(r, Err(FreeError::Foreign { addr }));
                        prop_assert_eq!(b.stats(), before);
                    }
                }
                _ => {}
            }
            check(&model, &b, range);
        }
        for l in model.drain(..) {
            // SAFETY: a live block of `b` with its layout.
            unsafe { b.deallocate(ptr(l.addr), l.layout).unwrap() };
        }
        prop_assert_eq!((b.stats().used, b.stats().requested, b.stats().live), (0, 0, 0));
        prop_assert_eq!(b.largest_free(), top, "the top block is whole again");
        // Every byte is back: the memory splits into minimum blocks once more.
        let smallest = Layout::from_size_align(1, 1).unwrap();
        let mut count = 0;
        while b.allocate(smallest).is_ok() {
            count += 1;
        }
        prop_assert_eq!(count * min, b.stats().capacity);
    }
}

#[test]
fn a_64_kib_heap_round_trips() {
    // 64 KiB at a 64 KiB boundary: the metadata takes the start, so the largest root is the
    // upper 32 KiB (and 2 KiB .. 16 KiB roots fill the rest).
    let mut backing = vec![MaybeUninit::<u8>::uninit(); 256 * 1024];
    let base = backing.as_ptr() as usize;
    let aligned = base.next_multiple_of(64 * 1024) - base;
    let mem = &mut backing[aligned..aligned + 64 * 1024];
    let mut b = Buddy::new(mem, 8);
    let top = b.top_block();
    assert_eq!(top, 32 * 1024);
    let mut blocks = Vec::new();
    for size in (1..200).map(|i| i * 37 % 1500) {
        match b.allocate(Layout::from_size_align(size, 4).unwrap()) {
            Ok(blk) => blocks.push((blk, size)),
            Err(_) => break,
        }
    }
    for (blk, size) in blocks.into_iter().rev() {
        // SAFETY: live blocks of `b`, each freed once.
        unsafe { b.deallocate(blk.cast(), Layout::from_size_align(size, 4).unwrap()).unwrap() };
    }
    assert_eq!(b.largest_free(), top);
}

//! Property tests: random operation sequences on the linear, stack and pool allocators, checked
//! against a model after every step (no overlap, inside the memory, alignment, contents kept,
//! exact accounting, everything back at the end).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use core::alloc::Layout;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use flight_memory::alloc::{AllocError, FreeError, Linear, Pool, RawAllocator, Stack};
use proptest::prelude::*;

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
struct Live {
    addr: usize,
    layout: Layout,
    fill: u8,
    /// Freed by its owner but not reclaimed yet (linear allocator): counted, not checked.
    released: bool,
}

/// The memory under test: 16-aligned.
fn memory(len: usize) -> Vec<MaybeUninit<u8>> {
    let mut v = Vec::with_capacity(len + 16);
    v.resize(len + 16, MaybeUninit::uninit());
    v
}

fn aligned(v: &mut [MaybeUninit<u8>], len: usize) -> &mut [MaybeUninit<u8>] {
    let off = (16 - (v.as_ptr() as usize % 16)) % 16;
    &mut v[off..off + len]
}

fn fill(addr: usize, len: usize, byte: u8) {
    // SAFETY: the block is live and `len` bytes long (checked by the caller's model).
    unsafe { (addr as *mut u8).write_bytes(byte, len) };
}

/// Checks the model against the allocator and the memory.
fn check(model: &[Live], stats: flight_memory::alloc::Stats, range: (usize, usize)) {
    for (i, a) in model.iter().enumerate() {
        assert!(a.addr >= range.0 && a.addr + a.layout.size() <= range.1, "outside the memory");
        assert_eq!(a.addr % a.layout.align(), 0, "misaligned");
        for b in &model[i + 1..] {
            let disjoint = a.addr + a.layout.size() <= b.addr || b.addr + b.layout.size() <= a.addr;
            assert!(disjoint || a.layout.size() == 0 || b.layout.size() == 0, "overlap: {a:?} {b:?}");
        }
        if a.released {
            continue;
        }
        // SAFETY: live block of `size` bytes.
        let bytes = unsafe { core::slice::from_raw_parts(a.addr as *const u8, a.layout.size()) };
        assert!(bytes.iter().all(|&x| x == a.fill), "contents of {a:?} changed");
    }
    assert_eq!(stats.live, model.len());
    assert_eq!(stats.requested, model.iter().map(|l| l.layout.size()).sum::<usize>());
    assert!(stats.used >= stats.requested && stats.used <= stats.capacity);
}

#[derive(Clone, Debug)]
enum Op {
    Alloc { size: usize, align_log2: u32 },
    Free(usize),
    Mark,
    Rollback,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => (0usize..300, 0u32..7).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
            3 => any::<usize>().prop_map(Op::Free),
            1 => Just(Op::Mark),
            1 => Just(Op::Rollback),
        ],
        1..200,
    )
}

proptest! {
    #[test]
    fn pool_matches_its_model(ops in ops()) {
        let mut backing = memory(4096);
        let mem = aligned(&mut backing, 4096);
        let range = (mem.as_ptr() as usize, mem.as_ptr() as usize + 4096);
        let block = Layout::from_size_align(48, 16).unwrap();
        let mut pool = Pool::new(mem, block);
        let mut model: Vec<Live> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Alloc { size, align_log2 } => {
                    let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                    match pool.allocate(layout) {
                        Ok(b) => {
                            let addr = b.cast::<u8>().as_ptr() as usize;
                            fill(addr, size, n as u8);
                            model.push(Live { addr, layout, fill: n as u8, released: false });
                        }
                        Err(AllocError::Unsupported { .. }) => prop_assert!(size > 48 || (1 << align_log2) > 16),
                        Err(AllocError::Exhausted { .. }) => prop_assert_eq!(model.len(), pool.blocks()),
                        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                    }
                }
                Op::Free(i) if !model.is_empty() => {
                    let l = model.swap_remove(i % model.len());
                    // SAFETY: a live block of this pool with its layout.
                    unsafe { pool.deallocate(NonNull::new(l.addr as *mut u8).unwrap(), l.layout).unwrap() };
                }
                _ => {}
            }
            check(&model, pool.stats(), range);
        }
        for l in model.drain(..) {
            // SAFETY: as above.
            unsafe { pool.deallocate(NonNull::new(l.addr as *mut u8).unwrap(), l.layout).unwrap() };
        }
        prop_assert_eq!(pool.stats().used, 0);
        let all = (0..pool.blocks()).filter(|_| pool.allocate(block).is_ok()).count();
        prop_assert_eq!(all, pool.blocks(), "every block is back");
    }

    #[test]
    fn stack_matches_its_model(ops in ops()) {
        let mut backing = memory(8192);
        let mem = aligned(&mut backing, 8192);
        let range = (mem.as_ptr() as usize, mem.as_ptr() as usize + 8192);
        let mut stack = Stack::new(mem);
        let largest = stack.largest_free();
        let mut model: Vec<Live> = Vec::new();
        let mut marks = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Alloc { size, align_log2 } => {
                    let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                    if let Ok(b) = stack.allocate(layout) {
                        let addr = b.cast::<u8>().as_ptr() as usize;
                        fill(addr, size, n as u8);
                        model.push(Live { addr, layout, fill: n as u8, released: false });
                    }
                }
                Op::Free(i) if !model.is_empty() => {
                    let i = i % model.len();
                    let l = model[i];
                    // SAFETY: a live block of this stack; out-of-order frees are refused untouched.
                    let r = unsafe { stack.deallocate(NonNull::new(l.addr as *mut u8).unwrap(), l.layout) };
                    if i + 1 == model.len() {
                        prop_assert_eq!(r, Ok(()));
                        model.pop();
                    } else {
                        let expected = model.last().unwrap().addr;
                        prop_assert_eq!(r, Err(FreeError::OutOfOrder { addr: l.addr, expected }));
                    }
                }
                Op::Mark => marks.push((stack.marker(), model.len(), false)),
                Op::Rollback => {
                    if let Some((m, len, stale)) = marks.pop() {
                        let r = stack.free_to(m);
                        if !stale {
                            prop_assert_eq!(r, Ok(()));
                            model.truncate(len);
                        } else if r.is_ok() {
                            // The marker's blocks were freed since, and the stack has grown back
                            // to exactly the marker's shape: accepting it frees what lies above.
                            model.truncate(stack.stats().live);
                        } else {
                            prop_assert_eq!(stack.stats().live, model.len(), "a refused marker changed nothing");
                        }
                    }
                }
                _ => {}
            }
            // A marker whose blocks were freed is stale, even once the stack grows back.
            for mark in &mut marks {
                mark.2 |= mark.1 > model.len();
            }
            check(&model, stack.stats(), range);
        }
        while let Some(l) = model.pop() {
            // SAFETY: LIFO order.
            unsafe { stack.deallocate(NonNull::new(l.addr as *mut u8).unwrap(), l.layout).unwrap() };
        }
        prop_assert_eq!((stack.stats().used, stack.largest_free()), (0, largest));
    }

    #[test]
    fn linear_matches_its_model(ops in ops()) {
        let mut backing = memory(8192);
        let mem = aligned(&mut backing, 8192);
        let range = (mem.as_ptr() as usize, mem.as_ptr() as usize + 8192);
        let mut linear = Linear::new(mem);
        let mut model: Vec<Live> = Vec::new();
        let mut marks = Vec::new();
        let mut last: Option<usize> = None;
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Alloc { size, align_log2 } => {
                    let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                    if let Ok(b) = linear.allocate(layout) {
                        let addr = b.cast::<u8>().as_ptr() as usize;
                        fill(addr, size, n as u8);
                        model.push(Live { addr, layout, fill: n as u8, released: false });
                        if size > 0 {
                            last = Some(addr);
                        }
                    }
                }
                Op::Free(i) => {
                    let owned: Vec<usize> = (0..model.len()).filter(|&k| !model[k].released).collect();
                    if owned.is_empty() {
                        continue;
                    }
                    let k = owned[i % owned.len()];
                    let l = model[k];
                    // SAFETY: a block of this allocator its owner still holds, with its layout.
                    unsafe { linear.deallocate(NonNull::new(l.addr as *mut u8).unwrap(), l.layout).unwrap() };
                    // The allocator rolls its top back only for the most recent non-empty block
                    // it handed out (`last`); every other free waits for a rollback or reset.
                    if l.layout.size() > 0 && last == Some(l.addr) && k >= marks.last().map_or(0, |m: &(_, usize)| m.1) {
                        model.remove(k);
                        last = None;
                    } else {
                        model[k].released = true;
                    }
                }
                Op::Mark => {
                    if let Some(c) = linear.checkpoint() {
                        marks.push((c, model.len()));
                    }
                }
                Op::Rollback => {
                    if let Some((c, len)) = marks.pop() {
                        linear.rollback(c).unwrap();
                        {
                            model.truncate(len);
                            last = None;
                            // The rollback restores the counters of the checkpoint.
                            prop_assert_eq!(linear.stats().live, len);
                        }
                    }
                }
            }
            check(&model, linear.stats(), range);
        }
        linear.reset();
        prop_assert_eq!((linear.stats().used, linear.largest_free()), (0, 8192));
    }
}

//! The allocator checks every console runs, and their timings.
//!
//! Each check drives one allocator of `flight-memory` with the same pseudo-random workload
//! (allocations of 1 to 300 bytes at alignments of 1 to 8, frees of random live blocks) over an
//! arena of its own, and after every step checks what the host's property tests check: blocks
//! aligned, inside the arena, disjoint, their contents intact, the counters exact; at the end
//! everything comes back. The timings run a fixed allocate+free loop and report the average
//! from the console's own timer (emulator figures, not hardware).

use core::alloc::Layout;
use core::fmt::Write;
use core::mem::MaybeUninit;
use core::ptr::{NonNull, addr_of_mut};

use flight_memory::alloc::{
    AllocError, Buddy, DeviceHeap, Frames, Linear, Placement, Pool, RawAllocator, Stack, Tlsf, Vram,
};
use flight_memory::{Alignment, ByteSize, Span};

use crate::{Failure, Outcome, Test, ensure};

/// The allocator checks.
pub const CHECKS: &[Test] = &[
    Test::new("linear_allocator", |_| check_linear()),
    Test::new("stack_allocator", |_| check_stack()),
    Test::new("pool_allocator", |_| {
        check_raw("pool", |m| Pool::new(m, Layout::from_size_align(304, 8).unwrap_or(Layout::new::<u64>())))
    }),
    Test::new("tlsf_allocator", |_| check_raw("tlsf", Tlsf::new)),
    Test::new("buddy_allocator", |_| check_raw("buddy", |m| Buddy::new(m, 64))),
    Test::new("reallocation_leaves_nothing_behind", |_| check_reallocation()),
    Test::new("device_heap", |_| check_device()),
    Test::new("frame_allocator", |_| check_frames()),
    Test::new("vram_2d_allocator", |_| check_vram()),
];

/// 17 KiB: a 16 KiB window on a 1 KiB boundary of CPU addresses fits even where the program's
/// addresses are not the CPU's (a WebAssembly linear memory placed anywhere).
const ARENA: usize = 17 * 1024;
const LIVE: usize = 48;
const STEPS: u32 = 600;

/// The arena each check borrows in turn (checks run one after another).
static mut ARENA_BYTES: Arena = Arena([MaybeUninit::uninit(); ARENA]);

/// The arena's bytes, on a 1 KiB boundary (the layout checks plan windows on one).
#[repr(C, align(1024))]
struct Arena([MaybeUninit<u8>; ARENA]);

pub(crate) fn arena() -> &'static mut [MaybeUninit<u8>] {
    // SAFETY: the checks run one at a time and each drops its allocator (and every block) before
    // returning, so no two mutable borrows of the arena are ever alive together.
    unsafe { &mut (*addr_of_mut!(ARENA_BYTES)).0 }
}

/// xorshift32: the same sequence on every console.
pub(crate) struct Rng(pub(crate) u32);

impl Rng {
    pub(crate) fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

#[derive(Clone, Copy)]
struct Live {
    addr: usize,
    layout: Layout,
    fill: u8,
}

/// The workload on any `RawAllocator` over the arena; LIFO frees only when `lifo`.
fn workload<A: RawAllocator>(name: &str, a: &mut A, lo: usize, hi: usize, lifo: bool) -> Outcome {
    let mut live: [Option<Live>; LIVE] = [None; LIVE];
    let mut count = 0usize;
    let mut served = 0u32;
    let mut rng = Rng(0x2545_f491);
    for step in 0..STEPS {
        let alloc = count == 0 || (count < LIVE && rng.below(5) < 3);
        if alloc {
            let size = 1 + rng.below(300) as usize;
            let align = 1usize << rng.below(4);
            let layout = Layout::from_size_align(size, align).map_err(|_| Failure("bad layout".into()))?;
            match a.allocate(layout) {
                Ok(block) => {
                    let addr = block.cast::<u8>().as_ptr() as usize;
                    ensure!(block.len() >= size, "{name}: block of {} for {size} bytes", block.len());
                    ensure!(addr.is_multiple_of(align), "{name}: {addr:#x} not aligned to {align}");
                    ensure!(addr >= lo && addr + size <= hi, "{name}: {addr:#x}+{size} outside the arena");
                    for l in live.iter().flatten() {
                        let apart = addr + size <= l.addr || l.addr + l.layout.size() <= addr;
                        ensure!(apart, "{name}: {addr:#x}+{size} overlaps {:#x}+{}", l.addr, l.layout.size());
                    }
                    let fill = step as u8 | 1;
                    // SAFETY: a fresh block of at least `size` bytes, ours until freed.
                    unsafe { (addr as *mut u8).write_bytes(fill, size) };
                    let slot = live.iter().position(Option::is_none).unwrap_or(0);
                    live[slot] = Some(Live { addr, layout, fill });
                    count += 1;
                    served += 1;
                }
                Err(AllocError::Exhausted { .. }) => {}
                Err(e) => return Err(Failure(alloc::format!("{name}: {e}"))),
            }
        } else {
            let pick = if lifo {
                // The most recent block: the highest address among the live ones.
                (0..LIVE).filter(|&i| live[i].is_some()).max_by_key(|&i| live[i].map_or(0, |l| l.addr))
            } else {
                let mut nth = rng.below(count as u32) as usize;
                (0..LIVE).find(|&i| {
                    live[i].is_some() && {
                        nth = nth.wrapping_sub(1);
                        nth == usize::MAX
                    }
                })
            };
            let Some(i) = pick else { continue };
            let Some(l) = live[i].take() else { continue };
            count -= 1;
            // SAFETY: a live block of `l.layout.size()` bytes handed out by `a`.
            let bytes = unsafe { core::slice::from_raw_parts(l.addr as *const u8, l.layout.size()) };
            ensure!(bytes.iter().all(|&b| b == l.fill), "{name}: the block at {:#x} was overwritten", l.addr);
            let ptr = NonNull::new(l.addr as *mut u8).ok_or_else(|| Failure("null block".into()))?;
            // SAFETY: handed out by `a` with this layout, freed once.
            unsafe { a.deallocate(ptr, l.layout) }.map_err(|e| Failure(alloc::format!("{name}: {e}")))?;
        }
        let s = a.stats();
        let requested: usize = live.iter().flatten().map(|l| l.layout.size()).sum();
        ensure!(
            s.live == count && s.requested == requested,
            "{name}: counters say {} live / {} bytes, model {count} / {requested}",
            s.live,
            s.requested
        );
    }
    // An allocator that refuses everything would match an empty model: require real work.
    ensure!(served >= STEPS / 4, "{name}: only {served} of the workload's allocations were served");
    Ok(())
}

/// A block grown from 16 bytes to 4 KiB by doubling (contents kept at each step), with a newer
/// block after it that it must move past on a stack (an arena's newest block grows alone, in
/// place), then everything freed: nothing stays live or in use, on every allocator.
fn check_reallocation() -> Outcome {
    fn grow<A: RawAllocator>(name: &str, a: &mut A, neighbour: bool) -> Outcome {
        let l = |n| Layout::from_size_align(n, 8).map_err(|_| Failure("bad layout".into()));
        let first = a.allocate(l(16)?).map_err(|e| Failure(alloc::format!("{name}: {e}")))?.cast::<u8>();
        let other = if neighbour {
            Some(a.allocate(l(16)?).map_err(|e| Failure(alloc::format!("{name}: {e}")))?.cast::<u8>())
        } else {
            None
        };
        // SAFETY: `first` is a fresh block of 16 bytes.
        unsafe { first.as_ptr().write_bytes(0x5a, 16) };
        let (mut block, mut size) = (first, 16);
        while size < 4096 {
            // SAFETY: `block` is live with l(size); it is replaced by what comes back.
            let grown = unsafe { a.reallocate(block, l(size)?, l(2 * size)?) }
                .map_err(|e| Failure(alloc::format!("{name}: growing to {} bytes: {e}", 2 * size)))?
                .cast::<u8>();
            // SAFETY: the block holds at least `size` bytes, the first 16 of them the pattern.
            let kept = unsafe { core::slice::from_raw_parts(grown.as_ptr(), 16) };
            ensure!(
                kept.iter().all(|&b| b == 0x5a),
                "{name}: growing to {} bytes lost the contents",
                2 * size
            );
            (block, size) = (grown, 2 * size);
        }
        // SAFETY: both blocks are live with these layouts; the newest goes first (a stack's order).
        unsafe {
            a.deallocate(block, l(size)?).map_err(|e| Failure(alloc::format!("{name}: {e}")))?;
            if let Some(other) = other {
                a.deallocate(other, l(16)?).map_err(|e| Failure(alloc::format!("{name}: {e}")))?;
            }
        }
        let s = a.stats();
        ensure!(
            (s.live, s.used, s.requested) == (0, 0, 0),
            "{name}: {} blocks, {} bytes in use, {} requested left behind",
            s.live,
            s.used,
            s.requested
        );
        Ok(())
    }
    grow("linear", &mut Linear::new(arena()), false)?;
    grow("stack", &mut Stack::new(arena()), true)?;
    let block = Layout::from_size_align(4096, 8).unwrap_or(Layout::new::<u64>());
    grow("pool", &mut Pool::new(arena(), block), true)?;
    grow("tlsf", &mut Tlsf::new(arena()), true)?;
    grow("buddy", &mut Buddy::new(arena(), 64), true)
}

fn bounds(m: &[MaybeUninit<u8>]) -> (usize, usize) {
    (m.as_ptr() as usize, m.as_ptr() as usize + m.len())
}

fn check_raw<A: RawAllocator>(name: &str, make: fn(&'static mut [MaybeUninit<u8>]) -> A) -> Outcome {
    let memory = arena();
    let (lo, hi) = bounds(memory);
    let mut a = make(memory);
    workload(name, &mut a, lo, hi, false)
}

/// Rounds of: a checkpoint, a burst of allocations (checked as in `workload`), a rollback that
/// must restore the counters and give the same addresses again.
fn check_linear() -> Outcome {
    let memory = arena();
    let (lo, hi) = bounds(memory);
    let mut a = Linear::new(memory);
    let mut rng = Rng(3);
    let keep = a.allocate(Layout::new::<u64>()).map_err(|e| Failure(alloc::format!("linear: {e}")))?;
    // One checkpoint, rolled back to every round, as a frame allocator does every frame.
    let cp = a.checkpoint().ok_or_else(|| Failure("linear: no checkpoint".into()))?;
    let before = a.stats();
    for round in 0..40 {
        let mut first = None;
        for _ in 0..1 + rng.below(20) {
            let layout = Layout::from_size_align(1 + rng.below(300) as usize, 1 << rng.below(4))
                .map_err(|_| Failure("bad layout".into()))?;
            let Ok(b) = a.allocate(layout) else { break };
            let addr = b.cast::<u8>().as_ptr() as usize;
            ensure!(
                addr.is_multiple_of(layout.align()) && addr >= lo && addr + layout.size() <= hi,
                "linear: block {addr:#x}"
            );
            first.get_or_insert(addr);
        }
        a.rollback(cp).map_err(|e| Failure(alloc::format!("linear: {e}")))?;
        ensure!(
            a.stats().live == before.live && a.stats().used == before.used,
            "linear: round {round}: rollback left {:?}",
            a.stats()
        );
        if let Some(addr) = first {
            let again = a.allocate(Layout::from_size_align(1, 1).map_err(|_| Failure("bad layout".into()))?);
            ensure!(
                again.is_ok_and(|b| b.cast::<u8>().as_ptr() as usize <= addr),
                "linear: round {round}: memory not reused"
            );
            a.rollback(cp).map_err(|e| Failure(alloc::format!("linear: {e}")))?;
        }
    }
    // SAFETY: `keep` is the most recent live block after the last rollback.
    unsafe { a.deallocate(keep.cast(), Layout::new::<u64>()) }
        .map_err(|e| Failure(alloc::format!("linear: {e}")))?;
    a.reset();
    ensure!(a.stats().used == 0 && a.largest_free() == hi - lo, "linear: not everything came back");
    Ok(())
}

fn check_stack() -> Outcome {
    let memory = arena();
    let (lo, hi) = bounds(memory);
    let mut s = Stack::new(memory);
    workload("stack", &mut s, lo, hi, true)
}

fn check_device() -> Outcome {
    // Sound RAM as the PlayStation's SPU sees it: addresses in the device's own space.
    let span = Span::at(0x1000, ByteSize::kib(512));
    let mut heap: DeviceHeap<32> = DeviceHeap::new(span);
    let mut blocks: [Option<Span>; 16] = [None; 16];
    let mut rng = Rng(7);
    for _ in 0..STEPS {
        let i = rng.below(16) as usize;
        match blocks[i].take() {
            Some(b) => heap.free(b).map_err(|e| Failure(alloc::format!("device heap: {e}")))?,
            None => {
                let size = 16 + rng.below(40_000) as usize;
                let layout = Layout::from_size_align(size, 16).map_err(|_| Failure("bad layout".into()))?;
                if let Ok(b) = heap.allocate(layout) {
                    ensure!(span.contains_span(b) && b.size().get() >= size as u64, "device heap: block {b}");
                    ensure!(b.start().get() % 16 == 0, "device heap: {b} misaligned");
                    for o in blocks.iter().flatten() {
                        ensure!(!o.overlaps(b), "device heap: {b} overlaps {o}");
                    }
                    blocks[i] = Some(b);
                }
            }
        }
    }
    for b in blocks.iter_mut().filter_map(Option::take) {
        heap.free(b).map_err(|e| Failure(alloc::format!("device heap: {e}")))?;
    }
    ensure!(heap.largest_free() as u64 == span.size().get(), "device heap: not everything came back");
    Ok(())
}

fn check_frames() -> Outcome {
    let span = Span::at(0x0010_0000, ByteSize::kib(256));
    let mut bits = [0u32; 2];
    let page = Alignment::new(4096).map_err(|e| Failure(alloc::format!("frames: {e}")))?;
    let mut frames = Frames::new(span, page, &mut bits);
    let mut runs: [Option<Span>; 8] = [None; 8];
    let mut rng = Rng(11);
    for _ in 0..STEPS {
        let i = rng.below(8) as usize;
        match runs[i].take() {
            Some(r) => frames.free_run(r).map_err(|e| Failure(alloc::format!("frames: {e}")))?,
            None => {
                if let Ok(r) = frames.allocate_run(1 + rng.below(6) as usize, 1) {
                    ensure!(span.contains_span(r), "frames: run {r} outside {span}");
                    for o in runs.iter().flatten() {
                        ensure!(!o.overlaps(r), "frames: {r} overlaps {o}");
                    }
                    runs[i] = Some(r);
                }
            }
        }
    }
    for r in runs.iter_mut().filter_map(Option::take) {
        frames.free_run(r).map_err(|e| Failure(alloc::format!("frames: {e}")))?;
    }
    ensure!(frames.free_frames() == 64, "frames: {} of 64 free at the end", frames.free_frames());
    Ok(())
}

fn check_vram() -> Outcome {
    let mut vram: Vram<64> = Vram::new();
    let mut rects = [None; 24];
    let mut rng = Rng(13);
    for _ in 0..300 {
        let i = rng.below(24) as usize;
        match rects[i].take() {
            Some(r) => vram.free(r).map_err(|e| Failure(alloc::format!("vram: {e}")))?,
            None => {
                let (w, h) = (8 + rng.below(120) as u16, 8 + rng.below(120) as u16);
                let placement =
                    if rng.below(2) == 0 { Placement::Any } else { Placement::Texture { within_page: true } };
                if let Ok(r) = vram.allocate(w, h, placement) {
                    ensure!(r.in_vram() && r.w >= w && r.h >= h, "vram: {r:?} for {w}x{h}");
                    for o in rects.iter().flatten() {
                        ensure!(!o.overlaps(r), "vram: {r:?} overlaps {o:?}");
                    }
                    rects[i] = Some(r);
                }
            }
        }
    }
    for r in rects.iter_mut().filter_map(Option::take) {
        vram.free(r).map_err(|e| Failure(alloc::format!("vram: {e}")))?;
    }
    ensure!(vram.free_pixels() == 1024 * 512, "vram: {} pixels free at the end", vram.free_pixels());
    Ok(())
}

/// A console's timer.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// The current count.
    pub now: fn() -> u32,
    /// Counts per second.
    pub hz: u32,
    /// The count wraps at this value (a power of two; 0 for 2^32).
    pub modulus: u32,
}

impl Clock {
    pub(crate) fn since(&self, start: u32) -> u32 {
        let d = (self.now)().wrapping_sub(start);
        if self.modulus == 0 { d } else { d & (self.modulus - 1) }
    }
}

/// Times at least `pairs` allocate+free pairs of 64 bytes (and at least 100 ms of them) on each
/// CPU-memory allocator, in batches short enough for the timer not to wrap, and prints
/// `time CONSOLE NAME: N ns per allocate+free` lines.
pub fn time(out: &mut dyn Write, console: &str, clock: &Clock, pairs: u32) {
    let layout = Layout::new::<[u64; 8]>();
    let mut report = |name: &str, a: &mut dyn RawAllocator| {
        let (mut ticks, mut done) = (0u64, 0u32);
        // At least `pairs`, and at least a tenth of a second of the clock, so that a coarse
        // timer (gxemul's moves in steps of about 10 ms) still averages over many steps.
        let enough = u64::from(clock.hz) / 10;
        while (done < pairs || ticks < enough) && done < 1 << 20 {
            let start = (clock.now)();
            for _ in 0..16 {
                if let Ok(b) = a.allocate(layout) {
                    // SAFETY: just handed out by `a` with this layout.
                    let _ = unsafe { a.deallocate(b.cast(), layout) };
                }
            }
            ticks += u64::from(clock.since(start));
            done += 16;
        }
        let ns = ticks * 1_000_000_000 / u64::from(clock.hz.max(1)) / u64::from(done);
        let _ =
            writeln!(out, "time {console} {name}: {ns} ns per allocate+free ({done} pairs, emulator figure)");
    };
    let memory = arena();
    report("linear", &mut Linear::new(memory));
    let memory = arena();
    report("stack", &mut Stack::new(memory));
    let memory = arena();
    report("pool", &mut Pool::new(memory, layout));
    let memory = arena();
    report("tlsf", &mut Tlsf::new(memory));
    let memory = arena();
    report("buddy", &mut Buddy::new(memory, 64));
}

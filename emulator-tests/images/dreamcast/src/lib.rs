//! What the SH-4 images share: the global allocator, the board description and the checks only
//! the machines can answer.
//!
//! Each image is a WebAssembly module (`wasm32-unknown-unknown`), so it reaches the machine only
//! through the runtime's imports (`flight_platform_dreamcast::rt`): the suite's [`Board`] reads
//! and writes CPU addresses through `read32`/`write32`, and its layout is in CPU addresses (the
//! runtime's arena base plus the module's offsets). The same module runs on both machines; the
//! runtime says which one it is on, and the board takes that machine's map and console name
//! (`dreamcast` in gxemul, `dreamcast-r2d` in qemu).
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, UnsafeCell};
use core::ptr::{self, NonNull};

use flight_memory::Address;
use flight_platform_dreamcast::regs;
use flight_platform_dreamcast::rt::{self, Machine};
use flight_suite::{Board, Memory, Outcome, Test, ensure};
use linked_list_allocator::Heap;

/// The global allocator: a first-fit heap over the layout's heap span, set up on first use.
struct ProgramHeap {
    heap: UnsafeCell<Heap>,
    ready: Cell<bool>,
}

// SAFETY: a `wasm32-unknown-unknown` module built without the `atomics` feature runs on one
// thread and cannot be re-entered (the runtime calls it once, and it takes no interrupts), so
// the cells are never used from two places at once.
unsafe impl Sync for ProgramHeap {}

#[global_allocator]
static HEAP: ProgramHeap = ProgramHeap { heap: UnsafeCell::new(Heap::empty()), ready: Cell::new(false) };

impl ProgramHeap {
    /// The heap, set up over the layout's heap span the first time.
    ///
    /// # Safety
    /// No other reference to the heap may be alive (single thread, no re-entry: see `Sync`).
    unsafe fn get(&self) -> &mut Heap {
        // SAFETY: the caller guarantees exclusive access.
        let heap = unsafe { &mut *self.heap.get() };
        if !self.ready.get() {
            let span = rt::image_layout().heap;
            let start = span.start().get().saturating_sub(rt::arena_base().get()) as usize;
            // SAFETY: the span lies in linear memory between the module's .bss end (its heap
            // base) and the bottom of the stack the runtime placed at the top of memory; nothing
            // else uses it, and this runs once.
            unsafe { heap.init(start as *mut u8, span.size().get() as usize) };
            self.ready.set(true);
        }
        heap
    }
}

// SAFETY: blocks come from `linked_list_allocator`, which hands out disjoint blocks of the
// requested layout inside its span; access is exclusive (see `Sync`).
unsafe impl GlobalAlloc for ProgramHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single thread, no re-entry (allocation does not allocate).
        let heap = unsafe { self.get() };
        heap.allocate_first_fit(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc's contract); access
            // is exclusive as above.
            unsafe { self.get().deallocate(p, layout) };
        }
    }
}

/// The machine as the suite sees it.
pub fn board() -> Board {
    let machine = Machine::current();
    Board {
        console: machine.console(),
        map: machine.map(),
        layout: rt::image_layout(),
        // The runtime promises the stack at the top of linear memory: the memory's size, asked
        // of the module itself, not of the runtime's layout, which the suite checks against it.
        stack_top: Address::new(rt::arena_base().get() + core::arch::wasm32::memory_size(0) as u64 * 65536),
        sync_cache: rt::sync_cache,
        memory: Memory { read32: rt::read32, write32: rt::write32, cpu_address: rt::cpu_address },
    }
}

/// Checks only the SH-4 machines can answer.
pub const SH4_CHECKS: &[Test] = &[
    Test::new("tmu_channel_0_counts_down", tmu_channel_0_counts_down),
    Test::new("vram_keeps_what_is_written", vram_keeps_what_is_written).when(|b| {
        if b.map.regions_of(flight_memory::RegionKind::Video).next().is_none() {
            Some("this machine has no PowerVR VRAM")
        } else {
            None
        }
    }),
];

/// TMU channel 0, which the runtime started at Pφ/4, counts down, and the runtime's `micros`
/// agrees with it.
fn tmu_channel_0_counts_down(_: &Board) -> Outcome {
    let tcnt = || {
        // SAFETY: TCNT0 is an on-chip register of both machines; reading it has no side effect.
        unsafe { rt::read32(Address::new(regs::TMU_TCNT0)) }
    };
    let first = tcnt();
    let mut spins = 0u32;
    let mut now = tcnt();
    while now == first && spins < 1_000_000 {
        spins += 1;
        now = tcnt();
    }
    ensure!(now != first, "TCNT0 stayed at {first:#x} for 1000000 reads");
    ensure!(now < first, "TCNT0 went up, from {first:#x} to {now:#x}");
    // Wait for 10000 counts (0.8 ms on the Dreamcast; gxemul advances the counter in steps
    // of host time, so it may take one step), reading micros() just outside and just inside
    // the counter's two reads: the outer interval spans at least the counts, the inner one at
    // most, whatever the steps.
    let outer_start = rt::micros();
    let start = tcnt();
    let inner_start = rt::micros();
    let mut spins = 0u32;
    while start.wrapping_sub(tcnt()) < 10_000 && spins < 10_000_000 {
        spins += 1;
    }
    let inner = rt::micros() - inner_start;
    let ticks = u64::from(start.wrapping_sub(tcnt()));
    let outer = rt::micros() - outer_start;
    ensure!(ticks >= 10_000, "TCNT0 counted only {ticks} in 10000000 reads");
    // The counter runs at Pφ/4; micros() rounds down, so each side may be 1 µs short.
    let expected = ticks * 4_000_000 / Machine::current().peripheral_hz();
    ensure!(
        outer + 1 >= expected && inner <= expected + 1,
        "TCNT0 counted {ticks} ({expected} µs at Pφ/4), but micros() advanced {inner} µs inside and \
         {outer} µs around that"
    );
    Ok(())
}

/// The last 64 bytes of VRAM, through its linear 32-bit access area, keep what is written there.
fn vram_keeps_what_is_written(board: &Board) -> Outcome {
    let vram = board.map.region("vram").ok_or_else(|| flight_suite::Failure("no vram region".into()))?;
    let view = vram.view("vram32").ok_or_else(|| flight_suite::Failure("no vram32 view".into()))?;
    let base = view.base.get() + vram.size().get() - 64;
    for i in 0..16u64 {
        // SAFETY: the last 64 bytes of VRAM are the suite's: nothing draws here (the runtime
        // never starts the PowerVR), and the map says the area is CPU-addressable.
        unsafe { rt::write32(Address::new(base + i * 4), 0x5eed_0000 ^ (i as u32 * 0x0101_0101)) };
    }
    for i in 0..16u64 {
        // SAFETY: as above.
        let got = unsafe { rt::read32(Address::new(base + i * 4)) };
        let want = 0x5eed_0000 ^ (i as u32 * 0x0101_0101);
        ensure!(got == want, "VRAM word at {} read {got:#x}, wrote {want:#x}", Address::new(base + i * 4));
    }
    Ok(())
}

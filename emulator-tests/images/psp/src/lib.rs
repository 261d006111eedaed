//! What the PSP images share: the board description and the checks only a PSP can answer.
#![no_std]

extern crate alloc;

use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use flight_memory::{ByteSize, Span};
use flight_platform_psp::map::{PSP_1000, USER_CACHED, USER_RAM_BASE, USER_RAM_SIZE_1000};
use flight_platform_psp::{rt, sys};
use flight_suite::{Board, Outcome, Test, ensure};

/// This console as the suite sees it. PPSSPP, like a PSP-1000 and every program without the
/// extended-memory flag, gives a program 24 MiB of user RAM, so the PSP-1000 map applies.
pub fn board() -> Board {
    let layout = rt::image_layout();
    Board {
        console: "psp",
        map: &PSP_1000,
        layout,
        stack_top: layout.stack.end(),
        sync_cache: rt::sync_cache,
        memory: flight_suite::native::MEMORY,
    }
}

/// Checks only a PSP can answer.
pub const PSP_CHECKS: &[Test] = &[
    Test::new("user_ram_and_free_memory_agree_with_the_map", user_ram_and_free_memory_agree_with_the_map),
    Test::new("critical_section_masks_interrupts", critical_section_masks_interrupts),
];

fn user_ram() -> Span {
    Span::at(USER_CACHED + USER_RAM_BASE, USER_RAM_SIZE_1000)
}

/// Every part of the program lies in user RAM as the map places it, and what the kernel says
/// is free fits in what remains of it.
fn user_ram_and_free_memory_agree_with_the_map(board: &Board) -> Outcome {
    let ram = user_ram();
    let l = board.layout;
    for (name, part) in [("code and data", l.loaded), ("bss", l.bss), ("heap", l.heap), ("stack", l.stack)] {
        ensure!(ram.contains_span(part), "the {name} {part} lies outside user RAM {ram}");
    }
    let (free, largest) = rt::free_memory();
    let ours = l.loaded.size().get() + l.bss.size().get() + l.heap.size().get() + l.stack.size().get();
    ensure!(largest <= free, "the largest free block {largest} exceeds the free total {free}");
    ensure!(
        free.get() + ours <= ram.size().get(),
        "free {free} plus this program's {} exceed the map's user RAM {}",
        ByteSize::bytes(ours),
        ram.size()
    );
    ensure!(
        free.get() >= ram.size().get() / 2,
        "only {free} free of {}: the map's user RAM does not match the kernel's",
        ram.size()
    );
    Ok(())
}

/// Incremented by the vertical-blank sub-interrupt handler.
static VBLANKS: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_vblank(_sub: i32, _arg: *mut c_void) -> i32 {
    VBLANKS.fetch_add(1, Ordering::Relaxed);
    -1
}

/// Spins for `micros` microseconds of system time; returns the vblank count at the end.
fn spin(micros: u32) -> u32 {
    let start = rt::micros();
    while rt::micros().wrapping_sub(start) < micros {
        core::hint::spin_loop();
    }
    VBLANKS.load(Ordering::Relaxed)
}

/// An interrupt-driven counter (a vertical-blank handler) moves outside a critical section and
/// stands still inside one.
fn critical_section_masks_interrupts(_: &Board) -> Outcome {
    const SUB: i32 = 5;
    // SAFETY: the handler is a plain function that only touches an atomic; it is released
    // before this check returns.
    let registered = unsafe {
        sys::sceKernelRegisterSubIntrHandler(
            sys::VBLANK_INTERRUPT,
            SUB,
            on_vblank as *const c_void,
            core::ptr::null_mut(),
        )
    };
    ensure!(registered >= 0, "registering a vblank handler failed: {registered:#x}");
    // SAFETY: enables the handler just registered.
    let enabled = unsafe { sys::sceKernelEnableSubIntr(sys::VBLANK_INTERRUPT, SUB) };
    let result = (|| {
        ensure!(enabled >= 0, "enabling the vblank handler failed: {enabled:#x}");
        let before = VBLANKS.load(Ordering::Relaxed);
        let after = spin(100_000);
        ensure!(after > before, "no vblank interrupt in 100 ms with interrupts on");
        let (inside_before, inside_after) = critical_section::with(|_| {
            let b = VBLANKS.load(Ordering::Relaxed);
            (b, spin(100_000))
        });
        ensure!(
            inside_before == inside_after,
            "the vblank counter moved from {inside_before} to {inside_after} inside a critical section"
        );
        let later = spin(100_000);
        ensure!(later > inside_after, "the vblank counter did not move again after the critical section");
        Ok(())
    })();
    // SAFETY: removes the handler registered above.
    unsafe { sys::sceKernelReleaseSubIntrHandler(sys::VBLANK_INTERRUPT, SUB) };
    result
}

//! What the PSX images share: the board description and the platform's own checks.
#![no_std]

extern crate alloc;

use flight_memory::{Address, Span};
use flight_platform_psx::{map, regs, rt};
use flight_suite::{Board, Outcome, Test, ensure};

/// This console as the suite sees it.
pub fn board() -> Board {
    Board {
        console: "psx",
        map: &map::MAP,
        layout: rt::image_layout(),
        stack_top: Address::new(map::STACK_TOP),
        // The R3000 here has no data cache (its cache is the scratchpad).
        sync_cache: |_: Span| {},
    }
}

/// Checks only a PlayStation can answer.
pub const PSX_CHECKS: &[Test] = &[Test { name: "root_counter_2_counts", run: root_counter_2_counts }];

fn root_counter_2_counts(_: &Board) -> Outcome {
    // SAFETY: the root counters are the console's fixed timer block, read through volatile cells.
    let counter = unsafe { &regs::timers().counters[2] };
    // Mode 0: free-running on the system clock, no sync, no interrupt; writing it resets the count.
    // SAFETY: the runtime keeps interrupts masked, so changing this timer's mode affects nothing else.
    unsafe { counter.mode.write(0) };
    let before = counter.value.read() & 0xffff;
    let mut spins = 0u32;
    while counter.value.read() & 0xffff == before && spins < 100_000 {
        spins += 1;
    }
    ensure!(spins < 100_000, "root counter 2 stayed at {before:#x} for 100000 reads");
    Ok(())
}

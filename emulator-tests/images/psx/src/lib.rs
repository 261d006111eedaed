//! What the PSX images share: the board description and the platform's own checks.
#![no_std]

extern crate alloc;

use flight_memory::{Address, Span};
use flight_platform_psx::{mailbox, map, regs, rt};
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
        memory: flight_suite::native::MEMORY,
    }
}

/// Root counter 1 on the system clock (33.8688 MHz): 16 bits, so it wraps every 1.9 ms; the
/// suite times batches shorter than that. (Counter 2 belongs to `root_counter_2_counts`.)
pub fn clock() -> flight_suite::allocators::Clock {
    // SAFETY: the root counters are the console's fixed timer block; the runtime keeps
    // interrupts masked, so this timer's mode is ours to set. Mode 0: system clock, free-running.
    unsafe { regs::timers().counters[1].mode.write(0) };
    flight_suite::allocators::Clock {
        // SAFETY: a volatile read of the timer block.
        now: || unsafe { regs::timers().counters[1].value.read() & 0xffff },
        hz: 33_868_800,
        modulus: 0x1_0000,
    }
}

/// Checks only a PlayStation can answer.
pub const PSX_CHECKS: &[Test] = &[
    Test::new("root_counter_2_counts", root_counter_2_counts),
    Test::new("mailbox_mirrors_the_console", mailbox_mirrors_the_console),
];

/// The mailbox header says what the start-up code wrote, and its ring starts with the first
/// line this image printed.
fn mailbox_mirrors_the_console(_: &Board) -> Outcome {
    let base = map::MAILBOX as usize;
    // SAFETY: the linker script reserves the mailbox; the runtime initialised it and only the
    // console and a host write to it. Reads are volatile since a host may change it.
    let word = |i: usize| unsafe { ((base + i * 4) as *const u32).read_volatile() };
    let (magic, capacity, write, lost) = (word(0), word(1), word(2), word(5));
    ensure!(magic == mailbox::MAGIC, "magic {magic:#x} at {:#x}", map::MAILBOX);
    ensure!(capacity == mailbox::CAPACITY, "capacity {capacity}");
    let begin = flight_suite::protocol::BEGIN_MARKER.as_bytes();
    ensure!(write as usize > begin.len(), "only {write} bytes written");
    if lost == 0 && (write as usize) <= capacity as usize {
        // SAFETY: as above; `begin.len()` bytes of the ring, all written already.
        let first =
            unsafe { core::slice::from_raw_parts((base + mailbox::DATA_OFFSET) as *const u8, begin.len()) };
        ensure!(first == begin, "the ring starts with {first:?}");
    }
    Ok(())
}

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

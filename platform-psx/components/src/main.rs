//! The PlayStation's runtime for merged components: what `flight build --console psx` links
//! with the C that wasm2c wrote for the merged modules, the shared wasm-rt and its frame loop
//! (`rt/wasm2c`), and the plan's linker fragment.
//!
//! Rust gives the C its start-up (the platform's runtime), the console (BIOS TTY and mailbox),
//! the timer, the wasm-rt port (`flight_platform_psx::wasm2c`: fatal errors as panics) and,
//! through compiler-builtins, the 64-bit and soft-float helpers; Debian's libgcc for this triple
//! is MIPS32r2 with hard float and is never linked. Then it runs the frame loop and halts.
#![no_std]
#![no_main]

use core::cell::Cell;
use core::ffi::{c_char, c_int};
use core::fmt::Write;

use critical_section::Mutex;
use flight_platform_psx::bios::Console;
use flight_platform_psx::{regs, rt};

flight_platform_psx::entry!(main);

unsafe extern "C" {
    /// The frame loop (`rt/wasm2c/src/frames.c`).
    fn flight_components_main() -> c_int;
}

/// Root counter 2's mode: free-running, clocked at the system clock / 8 (bits 8-9 = 2).
const COUNTER_2_SYSCLOCK_8: u32 = 0x0200;
/// Root counter 1's mode: free-running, counting horizontal blanks (bits 8-9 = 1).
const COUNTER_1_HBLANK: u32 = 0x0100;
/// Counter 2's rate: 33.8688 MHz / 8.
const TICKS_HZ: u32 = 33_868_800 / 8;
/// Counter 2's ticks per horizontal blank (an NTSC line, 63.56 µs; a PAL line is 0.7% longer).
const TICKS_PER_LINE: u64 = 269;

fn main() -> ! {
    // SAFETY: the root counters are the console's fixed timer block; the runtime keeps
    // interrupts masked, so the modes of counters 1 and 2 are ours to set.
    unsafe {
        regs::timers().counters[2].mode.write(COUNTER_2_SYSCLOCK_8);
        regs::timers().counters[1].mode.write(COUNTER_1_HBLANK);
    }
    // SAFETY: the frame loop is C with no precondition; every module it runs was linked into
    // this image, placed at the plan's addresses, which the link asserted clear of the image.
    unsafe { flight_components_main() };
    rt::halt()
}

#[unsafe(no_mangle)]
extern "C" fn flight_console_write(text: *const c_char, len: u32) {
    // SAFETY: the frame loop passes a buffer of `len` bytes it owns, unchanged until it returns.
    let _ = Console.write_str(unsafe { flight_rt::wasm2c::console_line(text, len) });
}

/// The last readings of counters 2 and 1, and the ticks counted so far.
static TICKS: Mutex<Cell<(u16, u16, u64)>> = Mutex::new(Cell::new((0, 0, 0)));

/// The ticks between two readings: counter 2's 16 bits wrap every 15.5 ms, so counter 1's
/// count of horizontal blanks (which wraps every 4.2 s) says how many times it wrapped; the
/// number whose total lies nearest the lines' estimate is taken. Exact to the tick while calls
/// come less than 15.5 ms apart; within a percent for gaps of seconds.
fn elapsed(fine: u16, lines: u16) -> u64 {
    let estimate = u64::from(lines) * TICKS_PER_LINE;
    let fine = u64::from(fine);
    let wraps = (estimate + 0x8000).saturating_sub(fine) >> 16;
    fine + (wraps << 16)
}

/// Root counter 2 extended to 64 bits (see [`elapsed`]).
#[unsafe(no_mangle)]
extern "C" fn flight_ticks() -> u64 {
    // SAFETY: volatile reads of the timer block.
    let (fine, lines) = unsafe {
        (regs::timers().counters[2].value.read() as u16, regs::timers().counters[1].value.read() as u16)
    };
    critical_section::with(|cs| {
        let cell = TICKS.borrow(cs);
        let (last_fine, last_lines, total) = cell.get();
        let total = total + elapsed(fine.wrapping_sub(last_fine), lines.wrapping_sub(last_lines));
        cell.set((fine, lines, total));
        total
    })
}

#[unsafe(no_mangle)]
extern "C" fn flight_ticks_hz() -> u32 {
    TICKS_HZ
}

#[unsafe(no_mangle)]
extern "C" fn flight_console_name() -> *const c_char {
    c"psx".as_ptr()
}

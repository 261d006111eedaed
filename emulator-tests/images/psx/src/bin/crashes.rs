//! A deliberate crash, for the runner's own tests.
//!
//! pcsxr's HLE BIOS handles every CPU exception itself (the vector in RAM is never run, and
//! faults such as unaligned loads are not raised at all), so the crash here is of the other
//! kind: the emulator dies. Handing the BIOS's `strlen` (A0h:1Bh) a pointer to unmapped memory
//! makes pcsxr dereference a null host pointer. On a console with a real BIOS the same image
//! stops in the runtime's exception reporter.
#![no_std]
#![no_main]

use flight_platform_psx::bios::{call_a0, print};
use flight_suite::protocol::BEGIN_MARKER;

flight_platform_psx::entry!(main);

/// Table A: strlen.
const A0_STRLEN: u32 = 0x1B;
/// Physical address with nothing mapped (between RAM mirrors and the expansion region).
const UNMAPPED: u32 = 0x1000_0000;

fn main() -> ! {
    print(BEGIN_MARKER);
    print("\ntest strlen_of_unmapped_memory ... ");
    // SAFETY: none: this image exists to crash. strlen reads from an address where nothing is.
    let n = unsafe { call_a0(A0_STRLEN, UNMAPPED) };
    print(if n == 0 { "returned 0\n" } else { "returned\n" });
    loop {
        core::hint::spin_loop();
    }
}

//! A deliberate crash, for the runners' own tests, in two steps, because the two emulators fail
//! in different ways:
//!
//! 1. an unaligned load: the console (and pcsx_rearmed with exception emulation on) raises an
//!    address error, and the runtime's exception reporter prints it and stops;
//! 2. pcsxr raises no such error (its HLE BIOS handles every exception itself, and faults such
//!    as unaligned loads are not emulated), so the image goes on to hand the BIOS's `strlen`
//!    (A0h:1Bh) a pointer to unmapped memory, which makes pcsxr dereference a null host
//!    pointer and die: the other kind of crash.
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
    print("\ntest unaligned_load ... ");
    // An address error on emulators that raise one (and on the console): the runtime's
    // exception reporter prints the crash and stops.
    let odd = core::hint::black_box(0x8010_0001usize) as *const u32;
    // SAFETY: none: this image exists to fault.
    let _ = unsafe { odd.read_volatile() };
    print("no exception\ntest strlen_of_unmapped_memory ... ");
    // SAFETY: none: this image exists to crash. strlen reads from an address where nothing is.
    let n = unsafe { call_a0(A0_STRLEN, UNMAPPED) };
    print(if n == 0 { "returned 0\n" } else { "returned\n" });
    loop {
        core::hint::spin_loop();
    }
}

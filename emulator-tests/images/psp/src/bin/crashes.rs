//! A deliberate crash, for the runner's own tests: a load from an address with nothing behind
//! it. The PSP kernel (and PPSSPP) stops the program on the bus error, so the image never
//! reaches its end marker, and the emulator reports the fault.
#![no_std]
#![no_main]

use core::fmt::Write;

use flight_platform_psp::rt::Console;

flight_platform_psp::entry!(main);

fn main() -> ! {
    let _ = writeln!(Console, "{}", flight_suite::protocol::BEGIN_MARKER);
    let _ = writeln!(Console, "test call_into_unmapped_memory ... ");
    let target = core::hint::black_box(4usize);
    // SAFETY: none: this image exists to fault. Nothing is mapped at 0x0000_0004, so the call
    // fetches an instruction from nowhere.
    let f: extern "C" fn() = unsafe { core::mem::transmute(target) };
    f();
    let _ = writeln!(Console, "returned from nowhere");
    flight_platform_psp::rt::exit()
}

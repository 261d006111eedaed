//! A deliberate crash, for the runners' own tests: a real CPU exception, reported by the
//! runtime's exception handler (VBR) as `!!! CPU exception: ...`.
//!
//! First an unaligned 32-bit load through the runtime's `read32`: the SH-4 raises an address
//! error (EXPEVT 0x0E0), and so does qemu's R2D. gxemul does not check alignment, so there the
//! load returns and the image goes on to `trapa #63` (the `breakpoint` import), an
//! unconditional trap (EXPEVT 0x160), which gxemul raises.
#![no_std]
#![no_main]

use core::fmt::Write;

use flight_memory::Address;
use flight_platform_dreamcast::rt::{self, Console};
use flight_suite::protocol::BEGIN_MARKER;

flight_platform_dreamcast::entry!(main);

fn main() -> ! {
    let _ = writeln!(Console, "{BEGIN_MARKER}");
    let _ = write!(Console, "test unaligned_load ... ");
    // An odd address inside this program's own data: RAM on both machines.
    let odd = Address::new(rt::image_layout().loaded.start().get() + core::hint::black_box(1));
    // SAFETY: none needed for the program's state: the load only reads this program's own
    // data; it exists to raise an address error.
    let word = unsafe { rt::read32(odd) };
    let _ = write!(
        Console,
        "no address error (read {word:#x}: this CPU does not check alignment)\ntest trapa ... "
    );
    rt::breakpoint();
    let _ = writeln!(Console, "returned");
    rt::exit(1)
}

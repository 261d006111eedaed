//! The shared on-console suite on the SH-4 machines (`dreamcast` in gxemul, `dreamcast-r2d` in
//! qemu). The status is the number of failed checks.
#![no_std]
#![no_main]

use flight_images_dreamcast::{SH4_CHECKS, board};
use flight_platform_dreamcast::rt::Console;

flight_platform_dreamcast::entry!(main);

fn main() -> ! {
    // The TMU as the runtime extends it: microseconds (qemu's follows host time; gxemul's moves
    // in steps of about 10 ms, so its figures are coarse averages).
    let clock = flight_suite::allocators::Clock {
        now: || flight_platform_dreamcast::rt::micros() as u32,
        hz: 1_000_000,
        modulus: 0,
    };
    flight_platform_dreamcast::rt::exit(
        flight_suite::run_timed(&board(), &mut Console, SH4_CHECKS, Some(&clock)).failed,
    )
}

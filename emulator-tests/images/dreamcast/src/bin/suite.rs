//! The shared on-console suite on the SH-4 machines (`dreamcast` in gxemul, `dreamcast-r2d` in
//! qemu). The status is the number of failed checks.
#![no_std]
#![no_main]

use flight_images_dreamcast::{SH4_CHECKS, board};
use flight_platform_dreamcast::rt::Console;

flight_platform_dreamcast::entry!(main);

fn main() -> u32 {
    flight_suite::run(&board(), &mut Console, SH4_CHECKS).failed
}

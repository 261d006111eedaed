//! The shared on-console suite, on the PlayStation.
#![no_std]
#![no_main]

use flight_images_psx::{PSX_CHECKS, board, clock};
use flight_platform_psx::bios::Console;

flight_platform_psx::entry!(main);

fn main() -> ! {
    flight_suite::run_timed(&board(), &mut Console, PSX_CHECKS, Some(&clock()));
    flight_platform_psx::rt::halt()
}

//! The shared on-console suite, on the PSP.
#![no_std]
#![no_main]

use flight_images_psp::{PSP_CHECKS, board};
use flight_platform_psp::rt::{Console, exit};

flight_platform_psp::entry!(main);

fn main() -> ! {
    let clock =
        flight_suite::allocators::Clock { now: flight_platform_psp::rt::micros, hz: 1_000_000, modulus: 0 };
    flight_suite::run_timed(&board(), &mut Console, PSP_CHECKS, Some(&clock));
    exit()
}

//! The shared on-console suite, on the PSP.
#![no_std]
#![no_main]

use flight_images_psp::{PSP_CHECKS, board};
use flight_platform_psp::rt::{Console, exit};

flight_platform_psp::entry!(main);

fn main() -> ! {
    flight_suite::run(&board(), &mut Console, PSP_CHECKS);
    exit()
}

//! A deliberate failure, for the runners' own tests: the suite plus one check that cannot hold
//! (exit status 1).
#![no_std]
#![no_main]

use flight_images_dreamcast::board;
use flight_platform_dreamcast::rt::Console;

flight_platform_dreamcast::entry!(main);

fn main() -> ! {
    flight_platform_dreamcast::rt::exit(flight_suite::deliberate::fail(&board(), &mut Console).failed)
}

//! A deliberate failure, for the runner's own tests: the suite plus one check that cannot hold.
#![no_std]
#![no_main]

use flight_images_psx::board;
use flight_platform_psx::bios::Console;

flight_platform_psx::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::fail(&board(), &mut Console);
    flight_platform_psx::rt::halt()
}

//! A deliberate failure, for the runner's own tests: the suite plus one check that cannot hold.
#![no_std]
#![no_main]

use flight_images_psx::board;
use flight_platform_psx::bios::Console;
use flight_suite::{Board, Failure, Outcome, Test};

flight_platform_psx::entry!(main);

fn two_is_three(_: &Board) -> Outcome {
    Err(Failure("deliberately failing: 2 != 3".into()))
}

fn main() -> ! {
    flight_suite::run(&board(), &mut Console, &[Test { name: "two_is_three", run: two_is_three }]);
    loop {}
}

//! The shared on-console suite on the Cortex-M3 reference board.
#![no_std]
#![no_main]

use core::fmt::Write;
use cortex_m_rt::entry;

use flight_images_cortex_m::{Console, board, clock, exit, init_heap};

#[entry]
fn main() -> ! {
    init_heap();
    let clock = clock();
    if let Err(why) = clock {
        let _ = writeln!(Console, "no clock, so no timings: {why}");
    }
    exit(flight_suite::run_timed(&board(), &mut Console, &[], clock.as_ref().ok()))
}

//! The shared on-console suite on the Cortex-M3 reference board.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use flight_images_cortex_m::{Console, board, exit, init_heap};

#[entry]
fn main() -> ! {
    init_heap();
    exit(flight_suite::run(&board(), &mut Console, &[]))
}

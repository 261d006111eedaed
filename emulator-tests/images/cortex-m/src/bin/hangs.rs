//! A deliberate hang, for the runner's own tests.
#![no_std]
#![no_main]

use cortex_m_rt::entry;

#[entry]
fn main() -> ! {
    flight_suite::deliberate::hang(&mut flight_images_cortex_m::Console)
}

//! A deliberate panic, for the runner's own tests.
#![no_std]
#![no_main]

flight_platform_psp::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::panic(&mut flight_platform_psp::rt::Console)
}

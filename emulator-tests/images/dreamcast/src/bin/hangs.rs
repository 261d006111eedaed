//! A deliberate hang, for the runners' own tests: begins, then never ends.
#![no_std]
#![no_main]

flight_platform_dreamcast::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::hang(&mut flight_platform_dreamcast::rt::Console)
}

//! A deliberate hang, for the runner's own tests: begins, then never ends.
#![no_std]
#![no_main]

flight_platform_psx::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::hang(&mut flight_platform_psx::bios::Console)
}

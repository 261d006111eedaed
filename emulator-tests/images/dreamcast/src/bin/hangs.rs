//! A deliberate hang, for the runners' own tests: begins, then never ends.
#![no_std]
#![no_main]

// The crate provides the global allocator the suite crate needs.
use flight_images_dreamcast as _;

flight_platform_dreamcast::entry!(main);

fn main() -> u32 {
    flight_suite::deliberate::hang(&mut flight_platform_dreamcast::rt::Console)
}

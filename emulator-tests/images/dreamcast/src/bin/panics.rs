//! A deliberate panic, for the runners' own tests (exit status 101, from the panic handler).
#![no_std]
#![no_main]

// The crate provides the global allocator the suite crate needs.
use flight_images_dreamcast as _;

flight_platform_dreamcast::entry!(main);

fn main() -> u32 {
    flight_suite::deliberate::panic(&mut flight_platform_dreamcast::rt::Console)
}

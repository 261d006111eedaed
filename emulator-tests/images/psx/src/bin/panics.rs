//! A deliberate panic, for the runner's own tests.
#![no_std]
#![no_main]

use flight_platform_psx::bios::print;
use flight_suite::protocol::BEGIN_MARKER;

flight_platform_psx::entry!(main);

fn main() -> ! {
    print(BEGIN_MARKER);
    print("\n");
    let limit = core::hint::black_box(3usize);
    let table = [1u8, 2, 3];
    panic!("deliberate panic: index {limit} of a table of {}", table.len());
}

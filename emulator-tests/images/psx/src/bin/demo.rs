//! The demo: prints the console's memory map and where this image lives, from the same values
//! the host tools use, then allocates from the heap.
#![no_std]
#![no_main]

extern crate alloc;

use core::fmt::Write;

use flight_platform_psx::{bios::Console, map, rt};

flight_platform_psx::entry!(main);

fn main() -> ! {
    let mut out = Console;
    let _ = writeln!(out, "{}", flight_suite::protocol::BEGIN_MARKER);
    let _ = write!(out, "flight-memory on the PlayStation\n{}", map::MAP);
    let layout = rt::image_layout();
    let _ = write!(out, "this image\n{layout}");
    let blocks: alloc::vec::Vec<alloc::boxed::Box<[u8; 256]>> =
        (0..8).map(|i| alloc::boxed::Box::new([i; 256])).collect();
    let _ = writeln!(out, "heap: 8 blocks of 256 B, first at {:p}, last at {:p}", blocks[0], blocks[7]);
    let _ = writeln!(out, "{}", flight_suite::protocol::END_MARKER);
    flight_platform_psx::rt::halt()
}

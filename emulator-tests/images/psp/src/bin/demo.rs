//! The demo: the PSP's memory map, where this module lives, what the kernel says is free.
#![no_std]
#![no_main]

use core::fmt::Write;

use flight_platform_psp::map::PSP_1000;
use flight_platform_psp::rt::{Console, exit, free_memory, image_layout};

flight_platform_psp::entry!(main);

fn main() -> ! {
    let mut out = Console;
    let _ = writeln!(out, "{}", flight_suite::protocol::BEGIN_MARKER);
    let _ = write!(out, "flight-memory on the PSP\n{PSP_1000}");
    let _ = write!(out, "this module\n{}", image_layout());
    let (free, largest) = free_memory();
    let _ = writeln!(out, "kernel: {free} free, largest block {largest}");
    let _ = writeln!(out, "{}", flight_suite::protocol::END_MARKER);
    exit()
}

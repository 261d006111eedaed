//! The demo: prints the machine's memory map and where this program lives, from the same values
//! the host tools use, then times a few things with the TMU.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use core::hint::black_box;

use flight_platform_dreamcast::rt::{self, Console, Machine};
use flight_suite::protocol::{BEGIN_MARKER, END_MARKER};

flight_platform_dreamcast::entry!(main);

/// Microseconds `f` takes.
fn time(f: impl FnOnce()) -> u64 {
    let start = rt::micros();
    f();
    rt::micros() - start
}

fn main() -> ! {
    let mut out = Console;
    let machine = Machine::current();
    let _ = writeln!(out, "{BEGIN_MARKER}");
    let _ = write!(out, "flight-memory on the SH-4 ({})\n{}", machine.console(), machine.map());
    let _ = write!(out, "this program (WebAssembly, arena at {})\n{}", rt::arena_base(), rt::image_layout());

    // The same 64 KiB read as words, once from a 4-aligned start and once from one byte later:
    // the runtime's loads take their fast path for the first and copy bytes for the second.
    let bytes: Vec<u8> = (0..65_540u32).map(|i| i as u8).collect();
    let start = bytes.as_ptr().align_offset(4).min(3);
    let (aligned_bytes, unaligned_bytes) =
        (black_box(&bytes[start..start + 65_536]), black_box(&bytes[start + 1..start + 65_537]));
    let mut sum = 0u32;
    let aligned = time(|| {
        for chunk in aligned_bytes.chunks_exact(4) {
            sum = sum.wrapping_add(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
        }
    });
    let unaligned = time(|| {
        for chunk in unaligned_bytes.chunks_exact(4) {
            sum = sum.wrapping_add(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
        }
    });
    let mut q = 0u64;
    let division = time(|| {
        for i in 1..=10_000u64 {
            q = q.wrapping_add(black_box(0x1234_5678_9abc_def0u64) / black_box(i));
        }
    });
    let _ = writeln!(out, "16384 aligned word loads: {aligned} µs; the same, unaligned: {unaligned} µs");
    let _ = writeln!(out, "10000 64-bit divisions: {division} µs (checksums {sum:#x} {q:#x})");
    let _ = writeln!(out, "{END_MARKER}");
    rt::exit(0)
}

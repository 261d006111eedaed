//! PlayStation (PSX) support for flight-memory.
//!
//! - [`map`]: the console's memory map as values of the `flight-memory` model (main RAM and its
//!   KUSEG/KSEG0/KSEG1 views, the BIOS's part, scratchpad, I/O, BIOS ROM, and the DMA-only VRAM
//!   and sound RAM), plus the image base and initial stack the linker script restates;
//! - [`regs`]: hardware register blocks (interrupts, DMA, root counters, GPU ports) as
//!   `volatile-register` structs over the I/O region;
//! - [`gpu`]: rectangles copied between main RAM and VRAM by the GPU and DMA channel 2, and the
//!   checked transfers that ask a table of shared VRAM rectangles first (the transfers
//!   themselves in console builds with `rt`);
//! - `bios` (console builds): BIOS calls, among them console output;
//! - [`mailbox`]: the RAM ring console output is mirrored to, for hosts that cannot see the
//!   BIOS TTY;
//! - `rt` (feature `rt`, on by default; console builds): start-up code, exception reporter,
//!   panic handler, `critical-section` by interrupt masking, and with feature `heap` a global
//!   allocator over the heap the linker script leaves; without `rt` the crate links into an
//!   existing runtime;
//! - `wasm2c` (feature `wasm2c`; console builds): the port of the shared wasm-rt (`rt/wasm2c`)
//!   for C translated from WebAssembly, linked into a Rust image; its C half is `rt/wasm2c/mips`;
//! - `exe` (feature `exe`, host): the PS-EXE writer that turns a linked ELF into what the BIOS
//!   loads.
//!
//! Images link with `link/psx.ld` (which includes `link/memory.x`): their build script calls
//! `flight_linker::use_script("psx.ld")`. The script places the image at 0x8001_0000, the stack
//! top at 0x801F_FF00 and the heap between `.bss` and the stack, and asserts each of those
//! assumptions at link time.
#![no_std]
#![cfg_attr(target_arch = "mips", feature(asm_experimental_arch))]

#[cfg(feature = "exe")]
extern crate std;

pub mod gpu;
pub mod mailbox;
pub mod map;
pub mod regs;

#[cfg(target_arch = "mips")]
pub mod bios;

#[cfg(all(feature = "rt", target_arch = "mips"))]
pub mod rt;

#[cfg(all(feature = "wasm2c", target_arch = "mips"))]
pub mod wasm2c;

/// Declares the image's entry function, `fn() -> !` (see [`rt`]).
#[cfg(all(feature = "rt", target_arch = "mips"))]
pub use flight_rt::entry;

#[cfg(feature = "exe")]
pub mod exe;

pub use map::MAP;

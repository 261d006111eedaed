//! PlayStation Portable (PSP) support for flight-memory.
//!
//! - [`map`]: the console's memory maps as values of the `flight-memory` model, one per amount
//!   of main RAM: [`PSP_1000`] (32 MiB) and [`PSP_2000`] (64 MiB, the PSP-2000 and every later
//!   model). Each holds main RAM with the kernel's part reserved, its user and kernel views
//!   (cached and uncached: the uncached ones are how DMA-coherent buffers are reached), the
//!   scratchpad, the GE's VRAM and the Media Engine's RAM;
//! - `sys` (console builds): the kernel functions the runtime imports (console output, exit,
//!   free-memory queries, interrupt suspension, sub-interrupt handlers, the microsecond clock,
//!   data-cache write-back), as stubs written in this crate;
//! - `rt` (feature `rt`, default; console builds): module info, the syslib exports,
//!   `module_start`, console output a line per write, the panic handler, `critical-section` by
//!   interrupt suspension, and with `heap` a global allocator over a heap section the linker
//!   script reserves. Without `rt` the crate provides the maps only, for an existing runtime.
//!
//! Images link with `link/psp.ld` (`flight_linker::use_script("psp.ld")` in their build
//! script), which adds the heap section to rustc's built-in PSP script and asserts the module's
//! shape at link time. `cargo xtask build --console psp` packs them as EBOOT.PBP with the
//! `cargo-psp` packers (`prxgen`, `mksfo`, `pack-pbp`), after [`prx::check_segments`] (feature
//! `prx`, host side) has made sure the packer will load the module where it was linked.
#![no_std]
#![cfg_attr(target_os = "psp", feature(asm_experimental_arch))]

pub mod map;

#[cfg(feature = "prx")]
extern crate std;

#[cfg(feature = "prx")]
pub mod prx;

#[cfg(all(feature = "rt", target_os = "psp"))]
pub mod sys;

#[cfg(all(feature = "rt", target_os = "psp"))]
pub mod rt;

/// Declares the image's entry function, `fn() -> !` (end it with [`rt::exit`]).
#[cfg(all(feature = "rt", target_os = "psp"))]
pub use flight_rt::entry;

pub use map::{PSP_1000, PSP_2000};

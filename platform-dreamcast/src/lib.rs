//! Dreamcast support for flight-memory, and the SH-4 toolchain that runs Rust there.
//!
//! - [`map`]: the console's memory map as values of the `flight-memory` model ([`DREAMCAST`]):
//!   main RAM in the SH-4's P0, P1 and P2 areas with the BIOS's part reserved, the PowerVR's
//!   VRAM through its 64-bit and 32-bit access areas, the AICA's sound RAM behind the G2 bus,
//!   and the store queues; plus the image base ([`IMAGE_BASE`]);
//! - [`r2d`]: the second SH-4 machine, qemu's Renesas R2D board ([`R2D`]): 64 MiB of SDRAM and
//!   the FPGA's registers, nothing of the Dreamcast's graphics or sound;
//! - [`regs`]: the SH-4's on-chip registers the runtime and the checks use;
//! - `rt` (feature `rt`, `wasm32` builds): the WebAssembly side of the runtime: the imports
//!   through which a program reaches the machine, the console, the layout, the panic handler,
//!   the `entry!` macro and the `critical-section` implementation (SR.IMASK raised to 15).
//!
//! Rust has no SH-4 backend. Programs are compiled to `wasm32-unknown-unknown`, translated to C
//! by `wasm2c` and compiled with Debian's `sh4-linux-gnu-gcc` against the freestanding runtime
//! in `sh4/` (start-up code, exception reporter, SCIF console, TMU timer, the wasm-rt API over a
//! static arena, 64-bit helpers, and a GCC plugin that switches off a miscompiling pass); see
//! `sh4/README.md`. Images link with `link/dreamcast.ld` (at 0x8C01_0000) or `link/r2d.ld` (at
//! 0x8C80_0000), both of which include `link/sh4-image.ld` and assert its layout at link time.
#![no_std]

pub mod map;
pub mod r2d;
pub mod regs;

#[cfg(all(feature = "rt", target_arch = "wasm32"))]
pub mod rt;

/// Declares the program's entry function, `fn() -> !` (end it with [`rt::exit`]).
#[cfg(all(feature = "rt", target_arch = "wasm32"))]
pub use flight_rt::entry;

pub use map::{DREAMCAST, IMAGE_BASE};
pub use r2d::R2D;

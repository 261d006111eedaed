//! PlayStation Portable (PSP) support for flight-memory.
//!
//! For now the crate is data only:
//!
//! - [`map`]: the console's memory maps as values of the `flight-memory` model, one per amount
//!   of main RAM: [`PSP_1000`] (32 MiB) and [`PSP_2000`] (64 MiB, the PSP-2000 and every later
//!   model). Each holds main RAM with the kernel's part reserved, its user and kernel views
//!   (cached and uncached), the scratchpad, the GE's VRAM and the Media Engine's RAM.
//!
//! The runtime (start-up code, panic handler, heap), the linker script and the EBOOT packing
//! come later, and will read their addresses from [`map`] as the PlayStation crate's do.
#![no_std]

pub mod map;

pub use map::{PSP_1000, PSP_2000};

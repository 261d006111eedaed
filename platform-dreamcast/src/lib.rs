//! Dreamcast support for flight-memory.
//!
//! For now the crate is data only:
//!
//! - [`map`]: the console's memory map as values of the `flight-memory` model ([`DREAMCAST`]):
//!   main RAM in the SH-4's P0, P1 and P2 areas with the BIOS's part reserved, the PowerVR's
//!   VRAM through its 64-bit and 32-bit access areas, the AICA's sound RAM behind the G2 bus,
//!   and the store queues; plus the image base ([`IMAGE_BASE`]).
//!
//! The runtime (start-up code, panic handler, heap), the linker script and the packing of a
//! bootable image come later, and will read their addresses from [`map`] as the PlayStation
//! crate's do.
#![no_std]

pub mod map;

pub use map::{DREAMCAST, IMAGE_BASE};

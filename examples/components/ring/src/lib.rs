//! The shared region of the example: physics publishes its bodies there every frame, the
//! renderer reads them. The region is the plan's `ring` (4 KiB); each component learns its
//! address through `attach`.
//!
//! ```text
//! offset 0   frame  u32   the frame the bodies are of
//! offset 4   count  u32   how many bodies follow
//! offset 8   bodies       count x (x: u8, y: u8, size: u8, colour: u8), pixels of a 128 x 128 view
//! ```
#![no_std]

/// The most bodies the ring holds.
pub const CAPACITY: usize = 1000;

/// A body as published: where, how large and in which shade.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(C)]
pub struct Body {
    /// Column, 0 to 127.
    pub x: u8,
    /// Row, 0 to 127.
    pub y: u8,
    /// Radius in pixels.
    pub size: u8,
    /// Shade, 1 to 255.
    pub shade: u8,
}

/// The ring's layout.
#[repr(C)]
pub struct Ring {
    /// The frame the bodies are of.
    pub frame: u32,
    /// How many bodies follow.
    pub count: u32,
    /// The bodies.
    pub bodies: [Body; CAPACITY],
}

/// The FNV-1a hash of `bytes` from `hash`: every component's per-frame result.
pub fn fnv(mut hash: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    hash
}

/// Where a hash starts.
pub const FNV_START: u32 = 0x811c_9dc5;

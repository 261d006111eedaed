//! The `no_std` core of flight-memory.
//!
//! Everything the consoles and the host tools share about memory lives here, written once:
//!
//! - [`units`]: byte sizes, addresses, alignments and address spans instead of loose integers;
//! - [`image`]: where a linked image put its code, `.bss`, heap and stack;
//! - [`map`]: a console's memory map as data: [`map::Region`]s with their kind, attributes,
//!   permissions and CPU views (cached, uncached), the parts of them a BIOS or loader owns, and
//!   the platform's preferred alignments; [`profiles`] adds 32- and 64-bit machines with
//!   virtual memory;
//! - [`alloc`]: the allocators (linear, stack, pool, TLSF, buddy, frames, device heap, VRAM);
//! - [`layout`]: components' segments placed in a map (planned at once or at run time), and the
//!   software bounds checker that enforces the placement where there is no MMU;
//! - [`sync`]: a critical-section lock, a sequence lock, and a single-producer single-consumer
//!   ring laid over a shared region, for single-core machines with or without atomics.
//!
//! The crate needs no heap and no atomics, so it runs on the PlayStation's R3000 as well as on
//! the host that plans a layout at build time.
#![no_std]

pub mod alloc;
pub mod image;
pub mod layout;
pub mod map;
pub mod profiles;
pub mod sync;
pub mod units;

pub use image::ImageLayout;
pub use map::{
    AddressSpace, Alignments, Attributes, MapError, MemoryMap, Permissions, Region, RegionKind, Reserved,
    View,
};
pub use units::{Address, Alignment, AlignmentError, ByteSize, Span};

#[cfg(test)]
mod tests {
    /// Every error type can be used as `core::error::Error` (boxed, chained, `?` into a
    /// caller's error), and crosses threads.
    #[test]
    fn error_types_are_errors() {
        fn is_error<E: core::error::Error + Send + Sync>() {}
        is_error::<crate::AlignmentError>();
        is_error::<crate::MapError>();
        is_error::<crate::alloc::AllocError>();
        is_error::<crate::alloc::FreeError>();
        is_error::<crate::layout::LayoutError<'static>>();
        is_error::<crate::layout::PlanError<'static>>();
        is_error::<crate::layout::Violation<'static>>();
        is_error::<crate::layout::vram::VramViolation<'static>>();
        is_error::<crate::layout::vram::VramShareError<'static>>();
        is_error::<crate::sync::ring::RingError>();
    }
}

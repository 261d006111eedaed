//! Profiles of machines with virtual memory, for components that also run on a desktop or a
//! phone: a 32-bit and a 64-bit process address space.
//!
//! A process sees one large region of virtual addresses; the operating system maps pages into it
//! on demand. Planning a layout for these profiles answers whether the same components, with the
//! same segment sizes, fit a budget there, and gives the addresses a WebAssembly host or an
//! emulator would reserve.

use crate::map::{Alignments, MemoryMap, Region, RegionKind, View};
use crate::units::{Alignment, ByteSize};

/// The first 64 KiB of a process's address space are never mapped (null-pointer protection).
pub const NULL_GUARD: ByteSize = ByteSize::kib(64);

/// A 32-bit process: 3 GiB of user addresses (the split of 32-bit Linux and Windows with large
/// addresses), 64-byte cache lines, 4 KiB pages.
pub const MODERN_32: MemoryMap = MemoryMap::new(
    "modern-32",
    &[Region::cpu(
        "user",
        RegionKind::Main,
        NULL_GUARD.get(),
        ByteSize::bytes(0xC000_0000 - NULL_GUARD.get()),
    )
    .with_views(&[View::cached("user", NULL_GUARD.get())])],
)
.with_alignments(MODERN_ALIGNMENTS)
.with_virtual_memory();

/// A 64-bit process: 128 TiB of user addresses (48-bit virtual addresses, the lower half), 64-byte
/// cache lines, 4 KiB pages.
pub const MODERN_64: MemoryMap = MemoryMap::new(
    "modern-64",
    &[Region::cpu("user", RegionKind::Main, NULL_GUARD.get(), ByteSize::bytes((1 << 47) - NULL_GUARD.get()))
        .with_views(&[View::cached("user", NULL_GUARD.get())])],
)
.with_alignments(MODERN_ALIGNMENTS)
.with_virtual_memory();

/// 64-byte cache lines (and DMA on whole lines), 4 KiB pages.
const MODERN_ALIGNMENTS: Alignments =
    Alignments { cache_line: Alignment::of(64), dma: Alignment::of(64), page: Some(Alignment::of(4096)) };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_profiles_validate_and_span_their_address_spaces() {
        for map in [MODERN_32, MODERN_64] {
            assert_eq!(map.validate(), Ok(()), "{}", map.name);
            assert!(map.virtual_memory);
            assert_eq!(map.alignments.segment_default().get(), 4096);
        }
        assert_eq!(MODERN_32.regions[0].span.end().get(), 0xC000_0000);
        assert_eq!(MODERN_64.regions[0].span.end().get(), 1 << 47);
    }
}

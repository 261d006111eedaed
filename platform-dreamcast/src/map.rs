//! The Dreamcast's memory map, as values of the `flight-memory` model.
//!
//! The SH-4 splits its 32-bit address space into areas. With the MMU off (as here), P0/U0
//! (0x0000_0000..0x8000_0000) shows the 29-bit physical bus at its own addresses, cached; P1
//! (0x8000_0000) shows it again, cached; P2 (0xA000_0000) shows it uncached; P4 (0xE000_0000)
//! holds the CPU's own control space (store queues, on-chip registers), which is not on the bus.
//! Programs run in P1; buffers shared with DMA devices are reached through P2, or written back
//! from the cache before the transfer starts.
//!
//! Every address of the console is written here once.

use flight_memory::{Alignment, Alignments, ByteSize, MemoryMap, Region, RegionKind, Reserved, Span, View};

/// Base of the P0/U0 area (cached; physical addresses at their own address with the MMU off).
pub const P0: u64 = 0x0000_0000;
/// Base of the cached P1 area.
pub const P1: u64 = 0x8000_0000;
/// Base of the uncached P2 area.
pub const P2: u64 = 0xA000_0000;
/// Base of the P4 control area.
pub const P4: u64 = 0xE000_0000;

/// Physical address of main RAM.
pub const MAIN_RAM_PHYS: u64 = 0x0C00_0000;
/// Size of main RAM.
pub const MAIN_RAM_SIZE: ByteSize = ByteSize::mib(16);
/// The start of main RAM the BIOS and the loader own.
pub const BIOS_RESERVED: ByteSize = ByteSize::kib(64);

/// Physical address of VRAM through the 32-bit access area.
pub const VRAM_PHYS: u64 = 0x0500_0000;
/// Physical address of VRAM through the 64-bit access area.
pub const VRAM64_PHYS: u64 = 0x0400_0000;
/// Size of VRAM.
pub const VRAM_SIZE: ByteSize = ByteSize::mib(8);

/// Physical address of sound RAM (behind the G2 bus).
pub const SOUND_RAM_PHYS: u64 = 0x0080_0000;
/// Size of sound RAM.
pub const SOUND_RAM_SIZE: ByteSize = ByteSize::mib(2);

/// Address of the store queue area (in P4: it has no physical address).
pub const STORE_QUEUES_BASE: u64 = P4;
/// Size of the store queue area.
pub const STORE_QUEUES_SIZE: ByteSize = ByteSize::mib(64);

/// Main RAM: 16 MiB in P0, P1 and P2; the BIOS and the loader own the first 64 KiB.
pub const MAIN_RAM: Region = Region::cpu("main-ram", RegionKind::Main, MAIN_RAM_PHYS, MAIN_RAM_SIZE)
    .with_views(&[
        View::cached("p0", P0 + MAIN_RAM_PHYS),
        View::cached("p1", P1 + MAIN_RAM_PHYS),
        View::uncached("p2", P2 + MAIN_RAM_PHYS),
    ])
    .with_reserved(&[Reserved { owner: "bios", span: Span::at(MAIN_RAM_PHYS, BIOS_RESERVED) }]);

/// VRAM: the PowerVR's 8 MiB, seen by the CPU through two uncached areas that lay the same bytes
/// out differently. The 64-bit access area ("vram64", 0xA400_0000) is the layout the PowerVR
/// reads textures in; the 32-bit access area ("vram32", 0xA500_0000) is linear. The same offset
/// in the two views is therefore not the same byte: an offset is only meaningful with its view.
pub const VRAM: Region = Region::cpu("vram", RegionKind::Video, VRAM_PHYS, VRAM_SIZE)
    .with_views(&[View::uncached("vram64", P2 + VRAM64_PHYS), View::uncached("vram32", P2 + VRAM_PHYS)]);

/// Sound RAM: the AICA's 2 MiB, behind the G2 bus, uncached in P2 (0xA080_0000).
///
/// The CPU can load and store to it, but slowly and only 32 bits at a time, so an allocator that
/// hands out sound RAM keeps its metadata (free lists, block headers) in main RAM and never
/// touches the blocks themselves. Bulk data goes in by DMA.
pub const SOUND_RAM: Region = Region::cpu("sound-ram", RegionKind::Audio, SOUND_RAM_PHYS, SOUND_RAM_SIZE)
    .with_views(&[View::uncached("p2", P2 + SOUND_RAM_PHYS)]);

/// The store queues: two 32-byte write buffers (SQ0, SQ1) in the SH-4's P4 control area.
///
/// Stores to this area fill a queue (address bit 5 picks which); a `pref` to an address in it
/// sends the whole queue to external memory as one 32-byte burst, to the address given by the
/// low address bits and, for the top bits, the QACR0/QACR1 registers. They make fast copies and
/// fills of main RAM and VRAM, and feed the PowerVR's tile accelerator. Having no physical
/// address, the region's span is its P4 address, above anything the 29-bit bus reaches.
pub const STORE_QUEUES: Region =
    Region::cpu("store-queues", RegionKind::Io, STORE_QUEUES_BASE, STORE_QUEUES_SIZE)
        .with_views(&[View::uncached("p4", STORE_QUEUES_BASE)])
        .registers();

/// The whole map.
pub const DREAMCAST: MemoryMap =
    MemoryMap::new("dreamcast", &[MAIN_RAM, VRAM, SOUND_RAM, STORE_QUEUES]).with_alignments(ALIGNMENTS);

/// The SH-4's preferred alignments: 32-byte cache lines, 32-byte DMA transfer units (the DMAC
/// and the PowerVR's DMA move 32 bytes at a time), and 4 KiB pages of the MMU programs here
/// leave off.
pub const ALIGNMENTS: Alignments =
    Alignments { cache_line: Alignment::of(32), dma: Alignment::of(32), page: Some(Alignment::of(4096)) };

/// Where images are loaded and linked: the P1 address just past the BIOS's 64 KiB.
pub const IMAGE_BASE: u64 = P1 + MAIN_RAM_PHYS + BIOS_RESERVED.get();

#[cfg(test)]
mod tests {
    use super::*;
    use flight_memory::Address;

    #[test]
    fn the_map_is_consistent() {
        assert_eq!(DREAMCAST.validate(), Ok(()));
    }

    #[test]
    fn main_ram_appears_in_p0_p1_and_p2() {
        let r = DREAMCAST.resolve(Address::new(0x8C01_0000)).unwrap();
        assert_eq!((r.region.name, r.view.name, r.view.cached), ("main-ram", "p1", true));
        assert_eq!(r.offset, BIOS_RESERVED);
        let u = DREAMCAST.resolve(Address::new(0xACFF_FFFC)).unwrap();
        assert_eq!((u.view.name, u.view.cached, u.offset), ("p2", false, ByteSize::bytes(0xFF_FFFC)));
        let p = DREAMCAST.resolve(Address::new(0x0C00_0040)).unwrap();
        assert_eq!((p.view.name, p.offset), ("p0", ByteSize::bytes(0x40)));
        assert!(DREAMCAST.resolve(Address::new(0x8D00_0000)).is_none(), "16 MiB end at 0x8D00_0000");
        assert_eq!(DREAMCAST.region("main-ram").unwrap().size(), ByteSize::mib(16));
    }

    #[test]
    fn vram_has_two_uncached_access_areas() {
        let a = DREAMCAST.resolve(Address::new(0xA400_0010)).unwrap();
        assert_eq!((a.region.name, a.view.name, a.offset), ("vram", "vram64", ByteSize::bytes(0x10)));
        let b = DREAMCAST.resolve(Address::new(0xA57F_FFFF)).unwrap();
        assert_eq!((b.region.name, b.view.name, b.offset), ("vram", "vram32", ByteSize::bytes(0x7F_FFFF)));
        assert!(VRAM.views.iter().all(|v| !v.cached) && !VRAM.attributes.cacheable);
        assert_eq!(VRAM.size(), ByteSize::mib(8));
    }

    #[test]
    fn sound_ram_is_uncached_behind_the_g2_bus() {
        let s = DREAMCAST.resolve(Address::new(0xA081_0000)).unwrap();
        assert_eq!((s.region.name, s.view.name, s.offset), ("sound-ram", "p2", ByteSize::kib(64)));
        const { assert!(SOUND_RAM.attributes.dma && !SOUND_RAM.attributes.cacheable) };
        assert_eq!(SOUND_RAM.size(), ByteSize::mib(2));
    }

    #[test]
    fn the_store_queues_are_registers() {
        let q = DREAMCAST.resolve(Address::new(0xE000_0020)).unwrap();
        assert_eq!((q.region.name, q.view.name), ("store-queues", "p4"));
        let a = q.region.attributes;
        assert!(a.volatile && !a.dma && !a.cacheable);
        assert_eq!(q.region.kind, RegionKind::Io);
    }

    #[test]
    fn images_load_after_the_bios() {
        assert_eq!(IMAGE_BASE, 0x8C01_0000);
        let free = MAIN_RAM.largest_free_span().unwrap();
        assert_eq!(free.start().get() + P1, IMAGE_BASE);
        assert_eq!(free.end().get() + P1, 0x8D00_0000);
        assert_eq!(free.size(), ByteSize::kib(16 * 1024 - 64));
    }
}

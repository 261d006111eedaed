//! The PlayStation's memory map, as values of the `flight-memory` model.
//!
//! The R3000A sees physical memory through three 512 MiB segments: KUSEG at 0x0000_0000, KSEG0
//! at 0x8000_0000 (cached: the PSX caches instructions only) and KSEG1 at 0xA000_0000
//! (uncached). The scratchpad is on the CPU's data-cache bus and appears in KUSEG and KSEG0
//! only. VRAM (behind the GPU) and sound RAM (behind the SPU) are not on the CPU bus at all:
//! only DMA or the devices' own commands reach them.
//!
//! Every address of the console is written here once; the linker script's numbers are checked
//! against these by this crate's tests.

use flight_memory::{Alignment, Alignments, ByteSize, MemoryMap, Region, RegionKind, Reserved, Span, View};

/// Base of the KUSEG segment.
pub const KUSEG: u64 = 0x0000_0000;
/// Base of the cached KSEG0 segment.
pub const KSEG0: u64 = 0x8000_0000;
/// Base of the uncached KSEG1 segment.
pub const KSEG1: u64 = 0xA000_0000;

/// Size of main RAM.
pub const MAIN_RAM_SIZE: ByteSize = ByteSize::mib(2);
/// The start of main RAM the BIOS owns (exception vectors, kernel tables, its stack).
pub const BIOS_RESERVED: ByteSize = ByteSize::kib(64);
/// The top of main RAM the BIOS keeps for itself, above the initial stack.
pub const BIOS_TOP_RESERVED: ByteSize = ByteSize::bytes(256);

/// Physical address of the scratchpad.
pub const SCRATCHPAD_PHYS: u64 = 0x1F80_0000;
/// Physical address of the I/O ports.
pub const IO_PHYS: u64 = 0x1F80_1000;
/// Physical address of the BIOS ROM.
pub const BIOS_ROM_PHYS: u64 = 0x1FC0_0000;

/// Main RAM: 2 MiB in all three segments; the BIOS owns the first 64 KiB and the last 256 bytes.
pub const MAIN_RAM: Region = Region::cpu("main-ram", RegionKind::Main, 0, MAIN_RAM_SIZE)
    .with_views(&[View::cached("kuseg", KUSEG), View::cached("kseg0", KSEG0), View::uncached("kseg1", KSEG1)])
    .with_reserved(&[
        Reserved { owner: "bios", span: Span::at(0, BIOS_RESERVED) },
        Reserved {
            owner: "bios",
            span: Span::at(MAIN_RAM_SIZE.get() - BIOS_TOP_RESERVED.get(), BIOS_TOP_RESERVED),
        },
    ]);

/// The 1 KiB scratchpad (the data cache used as fast RAM): KUSEG and KSEG0 only, no DMA.
pub const SCRATCHPAD: Region =
    Region::cpu("scratchpad", RegionKind::Scratchpad, SCRATCHPAD_PHYS, ByteSize::kib(1))
        .with_views(&[
            View::uncached("kuseg", KUSEG + SCRATCHPAD_PHYS),
            View::uncached("kseg0", KSEG0 + SCRATCHPAD_PHYS),
        ])
        .without_dma();

/// The hardware registers (memory control, pads, interrupts, DMA, timers, CD-ROM, GPU, MDEC, SPU).
pub const IO: Region = Region::cpu("io", RegionKind::Io, IO_PHYS, ByteSize::kib(8))
    .with_views(&[
        View::uncached("kuseg", KUSEG + IO_PHYS),
        View::uncached("kseg0", KSEG0 + IO_PHYS),
        View::uncached("kseg1", KSEG1 + IO_PHYS),
    ])
    .registers();

/// The 512 KiB BIOS ROM.
pub const BIOS_ROM: Region = Region::cpu("bios-rom", RegionKind::Rom, BIOS_ROM_PHYS, ByteSize::kib(512))
    .with_views(&[
        View::cached("kuseg", KUSEG + BIOS_ROM_PHYS),
        View::cached("kseg0", KSEG0 + BIOS_ROM_PHYS),
        View::uncached("kseg1", KSEG1 + BIOS_ROM_PHYS),
    ])
    .read_only();

/// VRAM: 1 MiB behind the GPU (a 1024x512 surface of 16-bit pixels), reached by GPU DMA only.
pub const VRAM: Region = Region::device("vram", RegionKind::Video, "gpu", ByteSize::mib(1));

/// Sound RAM: 512 KiB behind the SPU, reached by SPU DMA only.
pub const SOUND_RAM: Region = Region::device("sound-ram", RegionKind::Audio, "spu", ByteSize::kib(512));

/// The whole map.
pub const MAP: MemoryMap =
    MemoryMap::new("psx", &[MAIN_RAM, SCRATCHPAD, IO, BIOS_ROM, VRAM, SOUND_RAM]).with_alignments(ALIGNMENTS);

/// The R3000A's preferred alignments: 16-byte lines of its instruction cache (it has no data
/// cache; the scratchpad takes its place), word-aligned DMA, no MMU.
pub const ALIGNMENTS: Alignments =
    Alignments { cache_line: Alignment::of(16), dma: Alignment::of(4), page: None };

/// Where the BIOS loads a PS-EXE: the KSEG0 address just past the BIOS's 64 KiB.
pub const IMAGE_BASE: u64 = KSEG0 + BIOS_RESERVED.get();
/// The size of the output mailbox ([`crate::mailbox`]).
pub const MAILBOX_SIZE: ByteSize = ByteSize::kib(4);
/// The output mailbox: the KSEG0 address of the 4 KiB just below the BIOS's top 256 bytes.
pub const MAILBOX: u64 = KSEG0 + MAIN_RAM_SIZE.get() - BIOS_TOP_RESERVED.get() - MAILBOX_SIZE.get();
/// The initial stack pointer: just below the mailbox.
pub const STACK_TOP: u64 = MAILBOX;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use flight_memory::Address;

    #[test]
    fn the_map_is_consistent() {
        assert_eq!(MAP.validate(), Ok(()));
    }

    #[test]
    fn ram_appears_in_three_views_and_the_scratchpad_in_two() {
        let r = MAP.resolve(Address::new(0xA01F_FFFC)).unwrap();
        assert_eq!((r.region.name, r.view.name, r.view.cached), ("main-ram", "kseg1", false));
        assert_eq!(r.offset, ByteSize::bytes(0x1F_FFFC));
        let s = MAP.resolve(Address::new(0x9F80_03FF)).unwrap();
        assert_eq!((s.region.name, s.view.name), ("scratchpad", "kseg0"));
        assert!(MAP.resolve(Address::new(0xBF80_0000)).is_none(), "no KSEG1 scratchpad");
        assert!(MAP.resolve(Address::new(0x8020_0000)).is_none(), "RAM ends at 2 MiB");
    }

    #[test]
    fn vram_and_sound_ram_are_dma_only() {
        for name in ["vram", "sound-ram"] {
            let r = MAP.region(name).unwrap();
            assert!(!r.attributes.cpu_addressable && r.attributes.dma && r.views.is_empty());
        }
        assert_eq!(VRAM.size(), ByteSize::bytes(1024 * 512 * 2));
        const { assert!(!SCRATCHPAD.attributes.dma) };
    }

    #[test]
    fn images_load_after_the_bios_and_the_stack_ends_below_its_top() {
        assert_eq!(IMAGE_BASE, 0x8001_0000);
        assert_eq!((MAILBOX, STACK_TOP), (0x801F_EF00, 0x801F_EF00));
        let free = MAIN_RAM.largest_free_span().unwrap();
        assert_eq!(free.start().get() + KSEG0, IMAGE_BASE);
        assert_eq!(
            free.end().get() + KSEG0,
            MAILBOX + MAILBOX_SIZE.get(),
            "the mailbox ends where the BIOS's part begins"
        );
    }
}

//! The PSP's memory maps, as values of the `flight-memory` model.
//!
//! The Allegrex (a MIPS32 core without a TLB) sees physical memory through fixed segments. A
//! user-mode program uses two: the addresses of physical memory themselves, cached, and their
//! uncached mirror at 0x4000_0000 + physical. Kernel mode adds the MIPS segments at
//! 0x8000_0000 (cached) and 0xA000_0000 (uncached); the firmware and kernel-mode modules show
//! main RAM there (0x8800_0000, 0xA800_0000).
//!
//! The uncached mirrors are how buffers shared with DMA devices (GE display lists, framebuffers,
//! audio) are reached without cache maintenance: a store through them goes straight to memory.
//! The other way is to write the data cache back over the buffer before the transfer starts.
//!
//! Main RAM is one region, the same chip on every model: 32 MiB on the PSP-1000 ([`PSP_1000`]),
//! 64 MiB on the PSP-2000 and later ([`PSP_2000`]). Its first 8 MiB are the kernel's, and are
//! modelled as a reservation of main RAM (as the PlayStation's BIOS area is), not as a region of
//! their own: the views then describe the RAM as the hardware maps it, and the largest free
//! span of the region is exactly the user RAM a program gets. The firmware's memory protection
//! refuses user-mode accesses to the kernel's part, though the user views cover it.
//!
//! Every address of the console is written here once.

use flight_memory::{Alignment, Alignments, ByteSize, MemoryMap, Region, RegionKind, Reserved, Span, View};

/// Base of the cached user segment: physical memory at its own address.
pub const USER_CACHED: u64 = 0x0000_0000;
/// Base of the uncached user mirror.
pub const USER_UNCACHED: u64 = 0x4000_0000;
/// Base of the cached kernel segment (KSEG0).
pub const KERNEL_CACHED: u64 = 0x8000_0000;
/// Base of the uncached kernel segment (KSEG1).
pub const KERNEL_UNCACHED: u64 = 0xA000_0000;

/// Physical address of main RAM.
pub const MAIN_RAM_PHYS: u64 = 0x0800_0000;
/// Size of main RAM on the PSP-1000.
pub const MAIN_RAM_SIZE_1000: ByteSize = ByteSize::mib(32);
/// Size of main RAM on the PSP-2000 and later.
pub const MAIN_RAM_SIZE_2000: ByteSize = ByteSize::mib(64);
/// The start of main RAM the kernel owns (the firmware's modules and their data).
pub const KERNEL_RAM_SIZE: ByteSize = ByteSize::mib(8);
/// Physical (and cached user) address of user RAM: main RAM past the kernel's part.
pub const USER_RAM_BASE: u64 = MAIN_RAM_PHYS + KERNEL_RAM_SIZE.get();
/// User RAM on the PSP-1000: 24 MiB.
pub const USER_RAM_SIZE_1000: ByteSize = ByteSize::bytes(MAIN_RAM_SIZE_1000.get() - KERNEL_RAM_SIZE.get());
/// User RAM on the PSP-2000 and later: 56 MiB. How much of the upper 32 MiB the firmware hands
/// to a program depends on the firmware and on the program asking for it; the map describes the
/// hardware.
pub const USER_RAM_SIZE_2000: ByteSize = ByteSize::bytes(MAIN_RAM_SIZE_2000.get() - KERNEL_RAM_SIZE.get());

/// Physical address of the scratchpad.
pub const SCRATCHPAD_PHYS: u64 = 0x0001_0000;
/// Size of the scratchpad.
pub const SCRATCHPAD_SIZE: ByteSize = ByteSize::kib(16);
/// Physical address of VRAM.
pub const VRAM_PHYS: u64 = 0x0400_0000;
/// Size of VRAM.
pub const VRAM_SIZE: ByteSize = ByteSize::mib(2);

/// Size of the Media Engine's RAM, as modelled: 2 MiB on every model.
///
/// Sources disagree: some give 2 MiB on the PSP-1000 (and 4 MiB on later models), others 4 MiB.
/// The 4 MiB figure matches the console's embedded DRAM as a whole (this RAM plus the GE's
/// 2 MiB of VRAM), which suggests it counts both. 2 MiB is also the safe figure: a plan that
/// fits in it fits either way, and nothing here places data in this RAM.
pub const ME_RAM_SIZE: ByteSize = ByteSize::mib(2);

/// The views of main RAM: the user segments a program uses, the kernel segments the firmware
/// uses.
const MAIN_RAM_VIEWS: &[View] = &[
    View::cached("user", USER_CACHED + MAIN_RAM_PHYS),
    View::uncached("user-uncached", USER_UNCACHED + MAIN_RAM_PHYS),
    View::cached("kernel", KERNEL_CACHED + MAIN_RAM_PHYS).privileged(),
    View::uncached("kernel-uncached", KERNEL_UNCACHED + MAIN_RAM_PHYS).privileged(),
];

/// The kernel's part of main RAM, in physical addresses.
const KERNEL_RESERVED: &[Reserved] =
    &[Reserved { owner: "kernel", span: Span::at(MAIN_RAM_PHYS, KERNEL_RAM_SIZE) }];

/// Main RAM of `size`, with its four views and the kernel's 8 MiB reserved.
const fn main_ram(size: ByteSize) -> Region {
    Region::cpu("main-ram", RegionKind::Main, MAIN_RAM_PHYS, size)
        .with_views(MAIN_RAM_VIEWS)
        .with_reserved(KERNEL_RESERVED)
}

/// Main RAM of the PSP-1000: 32 MiB, the first 8 MiB the kernel's, user RAM from 0x0880_0000.
pub const MAIN_RAM_1000: Region = main_ram(MAIN_RAM_SIZE_1000);

/// Main RAM of the PSP-2000 and later: 64 MiB, the first 8 MiB the kernel's, user RAM from
/// 0x0880_0000.
pub const MAIN_RAM_2000: Region = main_ram(MAIN_RAM_SIZE_2000);

/// The 16 KiB scratchpad: fast on-chip RAM at its physical address in the user segment. It is
/// not behind the cache (so the view is uncached), and is not treated as a DMA target here.
pub const SCRATCHPAD: Region =
    Region::cpu("scratchpad", RegionKind::Scratchpad, SCRATCHPAD_PHYS, SCRATCHPAD_SIZE)
        .with_views(&[View::uncached("user", USER_CACHED + SCRATCHPAD_PHYS)])
        .without_dma();

/// VRAM: the GE's 2 MiB of embedded DRAM (framebuffers, depth buffer, textures), in the user
/// segment cached and through the uncached mirror (0x4400_0000), which is how programs write
/// framebuffers and share buffers with the GE.
pub const VRAM: Region = Region::cpu("vram", RegionKind::Video, VRAM_PHYS, VRAM_SIZE).with_views(&[
    View::cached("user", USER_CACHED + VRAM_PHYS),
    View::uncached("user-uncached", USER_UNCACHED + VRAM_PHYS),
]);

/// The Media Engine's RAM (see [`ME_RAM_SIZE`] for its size): the second core's own embedded
/// DRAM, used by the firmware's codecs. The Allegrex has no view of it: only code on the Media
/// Engine reaches it, and moves data between it and main RAM.
pub const ME_RAM: Region = Region::device("me-ram", RegionKind::Main, "me", ME_RAM_SIZE);

/// The PSP-1000's map (32 MiB of main RAM).
pub const PSP_1000: MemoryMap =
    MemoryMap::new("psp-1000", &[MAIN_RAM_1000, SCRATCHPAD, VRAM, ME_RAM]).with_alignments(ALIGNMENTS);

/// The map of the PSP-2000 and every later model (64 MiB of main RAM).
pub const PSP_2000: MemoryMap =
    MemoryMap::new("psp-2000", &[MAIN_RAM_2000, SCRATCHPAD, VRAM, ME_RAM]).with_alignments(ALIGNMENTS);

/// The Allegrex's preferred alignments: 64-byte data-cache lines; DMA buffers (GE lists,
/// textures, audio) on whole cache lines so that writing back or invalidating the cache over
/// one never touches a neighbour's data; no TLB.
pub const ALIGNMENTS: Alignments =
    Alignments { cache_line: Alignment::of(64), dma: Alignment::of(64), page: None };

#[cfg(test)]
mod tests {
    use super::*;
    use flight_memory::Address;

    #[test]
    fn both_maps_are_consistent() {
        assert_eq!(PSP_1000.validate(), Ok(()));
        assert_eq!(PSP_2000.validate(), Ok(()));
    }

    #[test]
    fn main_ram_appears_in_user_and_kernel_views() {
        let r = PSP_1000.resolve(Address::new(0x4880_0000)).unwrap();
        assert_eq!((r.region.name, r.view.name, r.view.cached), ("main-ram", "user-uncached", false));
        assert_eq!(r.offset, KERNEL_RAM_SIZE);
        let k = PSP_1000.resolve(Address::new(0xA9FF_FFFC)).unwrap();
        assert_eq!((k.region.name, k.view.name), ("main-ram", "kernel-uncached"));
        assert_eq!(k.offset, ByteSize::bytes(0x1FF_FFFC));
        let c = PSP_1000.resolve(Address::new(0x8800_0010)).unwrap();
        assert_eq!((c.view.name, c.view.cached, c.offset), ("kernel", true, ByteSize::bytes(0x10)));
        assert!(PSP_1000.resolve(Address::new(0x0A00_0000)).is_none(), "32 MiB end at 0x0A00_0000");
        let u = PSP_2000.resolve(Address::new(0x0A00_0000)).unwrap();
        assert_eq!((u.region.name, u.view.name, u.offset), ("main-ram", "user", ByteSize::mib(32)));
        assert!(PSP_2000.resolve(Address::new(0x0C00_0000)).is_none(), "64 MiB end at 0x0C00_0000");
    }

    #[test]
    fn vram_and_the_scratchpad_resolve_in_the_user_segment() {
        let v = PSP_2000.resolve(Address::new(0x441F_FFFF)).unwrap();
        assert_eq!((v.region.name, v.view.name), ("vram", "user-uncached"));
        assert_eq!(v.offset, ByteSize::bytes(0x1F_FFFF));
        assert_eq!(VRAM.address("user", ByteSize::ZERO), Some(Address::new(0x0400_0000)));
        let s = PSP_1000.resolve(Address::new(0x0001_3FFF)).unwrap();
        assert_eq!((s.region.name, s.offset), ("scratchpad", ByteSize::bytes(0x3FFF)));
        assert!(PSP_1000.resolve(Address::new(0x0001_4000)).is_none(), "16 KiB scratchpad");
        const { assert!(!SCRATCHPAD.attributes.dma && VRAM.attributes.dma) };
    }

    #[test]
    fn sizes_match_the_models() {
        assert_eq!(PSP_1000.region("main-ram").unwrap().size(), ByteSize::mib(32));
        assert_eq!(PSP_2000.region("main-ram").unwrap().size(), ByteSize::mib(64));
        assert_eq!(USER_RAM_SIZE_1000, ByteSize::mib(24));
        assert_eq!(USER_RAM_SIZE_2000, ByteSize::mib(56));
        assert_eq!(USER_RAM_BASE, 0x0880_0000);
        assert_eq!(SCRATCHPAD.size(), ByteSize::kib(16));
        assert_eq!(VRAM.size(), ByteSize::mib(2));
    }

    #[test]
    fn the_free_part_of_main_ram_is_user_ram() {
        for (map, size) in [(PSP_1000, USER_RAM_SIZE_1000), (PSP_2000, USER_RAM_SIZE_2000)] {
            let free = map.region("main-ram").unwrap().largest_free_span().unwrap();
            assert_eq!(free, Span::at(USER_RAM_BASE, size), "{}", map.name);
        }
        assert_eq!(Span::at(USER_RAM_BASE, USER_RAM_SIZE_1000).end().get(), 0x0A00_0000);
    }

    #[test]
    fn the_media_engine_ram_is_out_of_the_cpus_reach() {
        let me = PSP_2000.region("me-ram").unwrap();
        assert!(!me.attributes.cpu_addressable && me.views.is_empty());
        assert_eq!(me.size(), ByteSize::mib(2));
    }
}

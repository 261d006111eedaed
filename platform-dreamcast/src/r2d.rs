//! The second SH-4 machine: the Renesas RTS7751R2D board (SH7751R), as qemu's `r2d` machine
//! emulates it.
//!
//! It is not a Dreamcast: it has 64 MiB of SDRAM at the same physical address (0x0C00_0000),
//! no PowerVR, no AICA and no BIOS, and qemu's `-kernel` loads a raw binary at physical
//! 0x0C80_0000 and enters it through P2. It shares the Dreamcast's CPU family (the same SCIF,
//! TMU, caches and exception model), so the same runtime and the same compiled programs run on
//! both; this map tells the suite what to expect here.

use flight_memory::{ByteSize, MemoryMap, Region, RegionKind, Reserved, Span, View};

use crate::map::{P0, P1, P2};

/// Physical address of the SDRAM.
pub const MAIN_RAM_PHYS: u64 = 0x0C00_0000;
/// Size of the SDRAM.
pub const MAIN_RAM_SIZE: ByteSize = ByteSize::mib(64);
/// The start of the SDRAM the loader owns: qemu writes its boot parameters at +0x1000 and loads
/// the image at +8 MiB (the place a Linux kernel goes on this board).
pub const LOADER_RESERVED: ByteSize = ByteSize::mib(8);

/// Physical address of the board's FPGA registers (interrupt control, power-off).
pub const FPGA_PHYS: u64 = 0x0400_0000;
/// Size of the FPGA register block qemu models.
pub const FPGA_SIZE: ByteSize = ByteSize::bytes(0x40);
/// The FPGA's power-off register (P2): writing 16-bit 1 ends qemu.
pub const FPGA_POWER_OFF: u64 = P2 + FPGA_PHYS + 0x30;

/// Main RAM: 64 MiB in P0, P1 and P2; the first 8 MiB are the loader's.
pub const MAIN_RAM: Region = Region::cpu("main-ram", RegionKind::Main, MAIN_RAM_PHYS, MAIN_RAM_SIZE)
    .with_views(&[
        View::cached("p0", P0 + MAIN_RAM_PHYS),
        View::cached("p1", P1 + MAIN_RAM_PHYS),
        View::uncached("p2", P2 + MAIN_RAM_PHYS),
    ])
    .with_reserved(&[Reserved { owner: "loader", span: Span::at(MAIN_RAM_PHYS, LOADER_RESERVED) }]);

/// The FPGA's registers, uncached in P2.
pub const FPGA: Region = Region::cpu("fpga", RegionKind::Io, FPGA_PHYS, FPGA_SIZE)
    .with_views(&[View::uncached("p2", P2 + FPGA_PHYS)])
    .registers();

/// The whole map.
pub const R2D: MemoryMap = MemoryMap::new("r2d", &[MAIN_RAM, FPGA]).with_alignments(crate::map::ALIGNMENTS);

/// Where images are loaded and linked: the P1 address where qemu's `-kernel` puts a raw binary.
pub const IMAGE_BASE: u64 = P1 + MAIN_RAM_PHYS + LOADER_RESERVED.get();

#[cfg(test)]
mod tests {
    use super::*;
    use flight_memory::Address;

    #[test]
    fn the_map_is_consistent() {
        assert_eq!(R2D.validate(), Ok(()));
    }

    #[test]
    fn main_ram_is_64_mib_in_p0_p1_and_p2() {
        let r = R2D.resolve(Address::new(0x8C80_0000)).unwrap();
        assert_eq!((r.region.name, r.view.name, r.offset), ("main-ram", "p1", LOADER_RESERVED));
        let u = R2D.resolve(Address::new(0xAFFF_FFFC)).unwrap();
        assert_eq!((u.view.name, u.view.cached), ("p2", false));
        assert!(R2D.resolve(Address::new(0x9000_0000)).is_none(), "64 MiB end at 0x9000_0000");
        assert!(R2D.resolve(Address::new(0xA500_0000)).is_none(), "no PowerVR VRAM on this board");
    }

    #[test]
    fn images_load_after_the_loader_part() {
        assert_eq!(IMAGE_BASE, 0x8C80_0000);
        let free = MAIN_RAM.largest_free_span().unwrap();
        assert_eq!(free.start().get() + P1, IMAGE_BASE);
        assert_eq!(free.end().get() + P1, 0x9000_0000);
        assert_eq!(FPGA_POWER_OFF, 0xA400_0030);
        let f = R2D.resolve(Address::new(FPGA_POWER_OFF)).unwrap();
        assert_eq!((f.region.name, f.region.kind), ("fpga", RegionKind::Io));
    }
}

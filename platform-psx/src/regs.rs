//! Hardware register blocks, as `volatile-register` structs laid over the I/O region: the
//! interrupt controller, the DMA controller, the root counters and the GPU's ports.
//!
//! Offsets are relative to the start of [`IO`]; addresses come from the map's
//! KUSEG view, so no register address is written anywhere else. The hardware answers in all
//! three views (I/O is never cached), but pcsxr decodes its registers only at their KUSEG
//! addresses: through KSEG1 a timer reads back a stale value, so KUSEG it is.

use volatile_register::RW;

use crate::map::{IO, IO_PHYS, KUSEG};

/// Offset of the interrupt controller from the start of the I/O region.
pub const INTERRUPTS_OFFSET: u64 = 0x70;
/// Offset of the DMA controller.
pub const DMA_OFFSET: u64 = 0x80;
/// Offset of the root counters.
pub const TIMERS_OFFSET: u64 = 0x100;
/// Offset of the GPU's two ports.
pub const GPU_OFFSET: u64 = 0x810;

/// The interrupt controller: `I_STAT` (write 0 to a bit to acknowledge) and `I_MASK`.
#[repr(C)]
pub struct Interrupts {
    /// Pending interrupts.
    pub stat: RW<u32>,
    /// Enabled interrupts.
    pub mask: RW<u32>,
}

/// One DMA channel.
#[repr(C)]
pub struct DmaChannel {
    /// Base address in main RAM (`D_MADR`).
    pub madr: RW<u32>,
    /// Block size and count (`D_BCR`).
    pub bcr: RW<u32>,
    /// Channel control: direction, mode, start (`D_CHCR`).
    pub chcr: RW<u32>,
    _unused: u32,
}

/// The DMA controller: seven channels (MDEC in/out, GPU, CD-ROM, SPU, PIO, OTC).
#[repr(C)]
pub struct Dma {
    /// Channels 0 (MDEC in) to 6 (ordering-table clear).
    pub channels: [DmaChannel; 7],
    /// Channel priorities and enables (`DPCR`).
    pub dpcr: RW<u32>,
    /// DMA interrupt control (`DICR`).
    pub dicr: RW<u32>,
}

/// A DMA channel's number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(usize)]
pub enum DmaPort {
    /// MDEC input.
    MdecIn = 0,
    /// MDEC output.
    MdecOut = 1,
    /// GPU (VRAM transfers, display lists).
    Gpu = 2,
    /// CD-ROM.
    CdRom = 3,
    /// SPU (sound RAM transfers).
    Spu = 4,
    /// Expansion port.
    Pio = 5,
    /// Ordering-table clear.
    Otc = 6,
}

/// The GPU's two ports. Each is two registers: one for writes, another for reads.
#[repr(C)]
pub struct Gpu {
    /// Writes go to GP0 (drawing and VRAM-transfer commands and their data); reads come from
    /// GPUREAD (pixels of a VRAM-to-CPU copy, answers to info requests).
    pub data: RW<u32>,
    /// Writes go to GP1 (reset, display and DMA-direction control); reads come from GPUSTAT.
    pub control: RW<u32>,
}

/// One root counter (timer).
#[repr(C)]
pub struct RootCounter {
    /// The current count (16 bits).
    pub value: RW<u32>,
    /// Clock source, reset and interrupt mode.
    pub mode: RW<u32>,
    /// The target value.
    pub target: RW<u32>,
    _unused: u32,
}

/// The three root counters. Counter 2 counts the system clock (or a eighth of it).
#[repr(C)]
pub struct Timers {
    /// Counters 0 (dot clock), 1 (h-blank), 2 (system clock).
    pub counters: [RootCounter; 3],
}

/// The KUSEG address of a block at `offset` into the I/O region.
pub const fn io_address(offset: u64) -> usize {
    assert!(offset < IO.span.size().get());
    (KUSEG + IO_PHYS + offset) as usize
}

/// The interrupt controller.
///
/// # Safety
/// Only on a PlayStation (or an emulator of one): the address is the console's I/O block.
/// The caller must not create aliasing `&mut` views through other means.
pub unsafe fn interrupts() -> &'static Interrupts {
    // SAFETY: on the console, this address is the interrupt controller, valid for the whole
    // program and only ever accessed through volatile cells (the caller's contract).
    unsafe { &*(io_address(INTERRUPTS_OFFSET) as *const Interrupts) }
}

/// The DMA controller.
///
/// # Safety
/// As for [`interrupts`].
pub unsafe fn dma() -> &'static Dma {
    // SAFETY: as in `interrupts`: a fixed hardware block accessed through volatile cells.
    unsafe { &*(io_address(DMA_OFFSET) as *const Dma) }
}

/// The root counters.
///
/// # Safety
/// As for [`interrupts`].
pub unsafe fn timers() -> &'static Timers {
    // SAFETY: as in `interrupts`: a fixed hardware block accessed through volatile cells.
    unsafe { &*(io_address(TIMERS_OFFSET) as *const Timers) }
}

/// The GPU's ports.
///
/// # Safety
/// As for [`interrupts`].
pub unsafe fn gpu() -> &'static Gpu {
    // SAFETY: as in `interrupts`: a fixed hardware block accessed through volatile cells.
    unsafe { &*(io_address(GPU_OFFSET) as *const Gpu) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn blocks_have_the_hardware_layout() {
        assert_eq!(io_address(INTERRUPTS_OFFSET), 0x1F80_1070);
        assert_eq!(io_address(DMA_OFFSET), 0x1F80_1080);
        assert_eq!(io_address(TIMERS_OFFSET), 0x1F80_1100);
        assert_eq!(io_address(GPU_OFFSET), 0x1F80_1810);
        assert_eq!(GPU_OFFSET as usize + offset_of!(Gpu, control), 0x814);
        assert_eq!(size_of::<DmaChannel>(), 0x10);
        assert_eq!(DMA_OFFSET as usize + offset_of!(Dma, dpcr), 0xF0);
        assert_eq!(DMA_OFFSET as usize + offset_of!(Dma, dicr), 0xF4);
        assert_eq!(
            offset_of!(Dma, channels) + 2 * size_of::<DmaChannel>() + offset_of!(DmaChannel, chcr),
            0x28
        );
        assert_eq!(size_of::<Timers>(), 0x30);
        assert_eq!(offset_of!(RootCounter, target), 8);
        assert_eq!(size_of::<Interrupts>(), 8);
    }
}

//! Transfers between main RAM and VRAM: rectangles of 16-bit pixels copied by the GPU.
//!
//! VRAM is not on the CPU's bus (see [`map::VRAM`](crate::map::VRAM)): a program hands the GPU
//! a command, GP0 0xA0 ("copy rectangle CPU to VRAM") or 0xC0 ("VRAM to CPU"), with the
//! rectangle's position and size, and then the pixels, two to a 32-bit word, row by row.
//!
//! **How the pixels move.** By DMA channel 2 in block mode (sync mode 1), in blocks of 16 words
//! (the GPU's FIFO): `D2_MADR` the buffer's physical address, `D2_BCR` the block count and size,
//! `D2_CHCR` 0x0100_0201 (to the GPU) or 0x0100_0200 (from it), after GP1 0x04 set the GPU's DMA
//! direction (2: to GP0, 3: from GPUREAD). The words that do not fill a last block (at most 15,
//! and a lone last pixel when the rectangle has an odd number of them) go through the ports by
//! the CPU: a DMA block would read past the end of the caller's slice or write past it. Both
//! PlayStation emulators used here emulate GPU DMA in block mode, so no transfer falls back to
//! the CPU alone: pcsxr and pcsx-rearmed move the whole block run when `D2_CHCR` is written
//! (pcsxr recognises exactly these two CHCR values, and only with channel 2 enabled in `DPCR`)
//! and clear CHCR's busy bit a little later, as the hardware does when it is done. The DMA
//! direction stays set until the CPU has moved the last word: pcsxr's GPU plugin ends a VRAM
//! transfer half done when GP1 0x04 changes the direction, and takes what follows as commands.
//!
//! `upload` and `download` (console builds with the `rt` feature) check everything a
//! transfer needs before touching the hardware ([`Plan::new`]: a rectangle with pixels, inside
//! the 1024x512 surface, a slice of exactly its size; [`dma_address`]: a word-aligned buffer in
//! DMA-capable RAM), wait for the transfer to finish, and return only once the hardware is
//! done with the slice. A transfer holds the GPU for itself: a second one started meanwhile
//! (from an interrupt handler) gets [`GpuError::Busy`].
//!
//! `upload_checked` and `download_checked` first ask a [`VramShares`] table whether the
//! component may make the transfer, and refuse before any register is written if not
//! ([`checked`] is that order, for any transfer).

use core::fmt;

use flight_memory::alloc::Rect;
use flight_memory::layout::ComponentId;
use flight_memory::layout::vram::{Direction, RectText, VramShares, VramViolation};
use flight_memory::{Address, ByteSize};

use crate::map::MAP;
use crate::regs::DmaPort;

/// GP0 0x01: clear the texture cache (before VRAM that holds textures changes).
pub const GP0_CLEAR_CACHE: u32 = 0x01 << 24;
/// GP0 0xA0: copy a rectangle from the CPU to VRAM; then its position, its size and the pixels.
pub const GP0_COPY_TO_VRAM: u32 = 0xA0 << 24;
/// GP0 0xC0: copy a rectangle from VRAM to the CPU; then its position and size; the pixels
/// come from GPUREAD.
pub const GP0_COPY_FROM_VRAM: u32 = 0xC0 << 24;
/// GP1 0x01: reset the command buffer (ends a transfer left half done).
pub const GP1_RESET_COMMAND_BUFFER: u32 = 0x01 << 24;
/// GP1 0x04: the GPU's DMA direction, in bits 0-1.
pub const GP1_DMA_DIRECTION: u32 = 0x04 << 24;
/// DMA direction: off.
pub const DMA_DIRECTION_OFF: u32 = 0;
/// DMA direction: from main RAM to GP0.
pub const DMA_DIRECTION_TO_GP0: u32 = 2;
/// DMA direction: from GPUREAD to main RAM.
pub const DMA_DIRECTION_FROM_GPUREAD: u32 = 3;

/// GPUSTAT bit 26: ready to receive a command word.
pub const STAT_READY_FOR_COMMAND: u32 = 1 << 26;
/// GPUSTAT bit 27: ready to send VRAM to the CPU (a 0xC0 copy's pixels are waiting).
pub const STAT_READY_TO_SEND_VRAM: u32 = 1 << 27;
/// GPUSTAT bit 28: ready to receive a DMA block (room in the FIFO).
pub const STAT_READY_FOR_DMA_BLOCK: u32 = 1 << 28;

/// `D_CHCR` to start a block-mode transfer from main RAM to the device.
pub const CHCR_TO_DEVICE_BLOCKS: u32 = 0x0100_0201;
/// `D_CHCR` to start a block-mode transfer from the device to main RAM.
pub const CHCR_FROM_DEVICE_BLOCKS: u32 = 0x0100_0200;
/// `D_CHCR` bit 24: start / busy.
pub const CHCR_BUSY: u32 = 1 << 24;
/// `DPCR`: the GPU channel's enable bit.
pub const DPCR_GPU_ENABLE: u32 = 8 << (4 * DmaPort::Gpu as u32);
/// Words in one DMA block (the GPU's FIFO holds 16).
pub const BLOCK_WORDS: usize = 16;

/// Why a transfer was not made or did not finish.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GpuError {
    /// The rectangle has no pixel.
    Empty(Rect),
    /// The rectangle runs off the 1024x512 surface (the GPU would wrap around).
    OffSurface(Rect),
    /// The slice does not hold exactly the rectangle's pixels.
    Length {
        /// The rectangle.
        rect: Rect,
        /// The slice's length.
        given: usize,
    },
    /// DMA needs the buffer at a word boundary.
    Misaligned(Address),
    /// The buffer is not in memory DMA reaches (the scratchpad, ROM, or no memory at all).
    NotDmaMemory(Address),
    /// Another transfer is under way.
    Busy,
    /// The hardware did not get there in time (the transfer was stopped).
    Timeout {
        /// What was awaited.
        waiting_for: &'static str,
        /// GPUSTAT when the wait ended.
        status: u32,
    },
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty(r) => write!(f, "VRAM rectangle {} has no pixel", RectText(r)),
            Self::OffSurface(r) => write!(f, "VRAM rectangle {} leaves the 1024x512 surface", RectText(r)),
            Self::Length { rect, given } => write!(
                f,
                "VRAM rectangle {} holds {} pixels, the buffer {given}",
                RectText(rect),
                rect.area()
            ),
            Self::Misaligned(a) => write!(f, "the buffer at {a} is not word-aligned, as DMA needs"),
            Self::NotDmaMemory(a) => write!(f, "the buffer at {a} is not in memory DMA reaches"),
            Self::Busy => f.write_str("another VRAM transfer is under way"),
            Self::Timeout { waiting_for, status } => {
                write!(f, "timed out waiting for {waiting_for} (GPUSTAT {status:#010x})")
            }
        }
    }
}

/// A transfer refused by the table or failed on the way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TransferError<'a> {
    /// The [`VramShares`] table refused it: nothing was written to the hardware.
    Refused(VramViolation<'a>),
    /// The GPU transfer itself.
    Gpu(GpuError),
}

impl fmt::Display for TransferError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(v) => write!(f, "refused: {v}"),
            Self::Gpu(e) => e.fmt(f),
        }
    }
}

/// A buffer of `N` pixels at a word boundary, as DMA needs it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C, align(4))]
pub struct WordAligned<const N: usize>(pub [u16; N]);

/// How a transfer of a rectangle goes: the GP0 words, the DMA blocks and what the CPU moves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Plan {
    /// The rectangle.
    pub rect: Rect,
    /// Whole DMA blocks of [`BLOCK_WORDS`] words.
    pub blocks: u16,
    /// Words the CPU moves after the blocks (the last one half used when the pixel count is odd).
    pub cpu_words: usize,
}

impl Plan {
    /// The plan for `rect` with a slice of `len` pixels; refused for an empty rectangle, one off
    /// the surface, or a slice of another length.
    pub fn new(rect: Rect, len: usize) -> Result<Self, GpuError> {
        if rect.is_empty() {
            return Err(GpuError::Empty(rect));
        }
        if !rect.in_vram() {
            return Err(GpuError::OffSurface(rect));
        }
        let pixels = rect.area() as usize;
        if len != pixels {
            return Err(GpuError::Length { rect, given: len });
        }
        let whole_words = pixels / 2;
        // At most 1024 * 512 / 2 / 16 = 16384 blocks: fits BCR's 16-bit count.
        let blocks = (whole_words / BLOCK_WORDS) as u16;
        Ok(Self { rect, blocks, cpu_words: pixels.div_ceil(2) - usize::from(blocks) * BLOCK_WORDS })
    }

    /// GP0's position word: `y` in bits 16-24, `x` in bits 0-9.
    pub const fn position_word(&self) -> u32 {
        (self.rect.y as u32) << 16 | self.rect.x as u32
    }

    /// GP0's size word: height in bits 16-25, width in bits 0-10 (1024 and 512 as themselves).
    pub const fn size_word(&self) -> u32 {
        (self.rect.h as u32) << 16 | self.rect.w as u32
    }

    /// Pixels the DMA blocks move.
    pub const fn dma_pixels(&self) -> usize {
        self.blocks as usize * BLOCK_WORDS * 2
    }

    /// `D_BCR` for the blocks: the count in bits 16-31, the block size in words in bits 0-15.
    pub const fn bcr(&self) -> u32 {
        (self.blocks as u32) << 16 | BLOCK_WORDS as u32
    }
}

/// The physical address `D_MADR` takes for a buffer of `len` bytes at CPU address `at`:
/// refused unless it is word-aligned and wholly inside one DMA-capable region.
pub fn dma_address(at: Address, len: ByteSize) -> Result<u32, GpuError> {
    if !at.get().is_multiple_of(4) {
        return Err(GpuError::Misaligned(at));
    }
    let hit = MAP.resolve(at).ok_or(GpuError::NotDmaMemory(at))?;
    let fits = hit.offset.get().checked_add(len.get()).is_some_and(|end| end <= hit.region.size().get());
    if !hit.region.attributes.dma || !fits {
        return Err(GpuError::NotDmaMemory(at));
    }
    u32::try_from(hit.region.span.start().get() + hit.offset.get()).map_err(|_| GpuError::NotDmaMemory(at))
}

/// Runs `transfer` only if `shares` lets `component` make a transfer of `rect` in `direction`:
/// the refusal comes before anything else happens.
pub fn checked<'a, const N: usize>(
    shares: &VramShares<'a, N>,
    component: ComponentId,
    rect: Rect,
    direction: Direction,
    transfer: impl FnOnce() -> Result<(), GpuError>,
) -> Result<(), TransferError<'a>> {
    shares.check_transfer(component, rect, direction).map_err(TransferError::Refused)?;
    transfer().map_err(TransferError::Gpu)
}

#[cfg(all(feature = "rt", target_arch = "mips"))]
pub use hardware::{download, download_checked, upload, upload_checked};

#[cfg(all(feature = "rt", target_arch = "mips"))]
mod hardware {
    use core::arch::asm;
    use core::cell::Cell;

    use critical_section::Mutex;

    use super::*;
    use crate::regs::{self, Dma, Gpu};

    /// Polls before giving up on the GPU (a good part of a second of R3000 time); a DMA
    /// gets 64 more a word.
    const SPINS: usize = 1_000_000;

    /// Whether a transfer holds the GPU.
    static BUSY: Mutex<Cell<bool>> = Mutex::new(Cell::new(false));

    /// The GPU, held by one transfer: taken with interrupts masked for an instant, given back
    /// on drop.
    struct Claim;

    impl Claim {
        fn take() -> Result<Self, GpuError> {
            critical_section::with(|cs| {
                let busy = BUSY.borrow(cs);
                if busy.replace(true) { Err(GpuError::Busy) } else { Ok(Claim) }
            })
        }
    }

    impl Drop for Claim {
        fn drop(&mut self) {
            critical_section::with(|cs| BUSY.borrow(cs).set(false));
        }
    }

    /// A compiler barrier around a DMA transfer: memory the channel reads is written before it
    /// starts, and memory it writes is read after it ends. (`compiler_fence` cannot stand in:
    /// LLVM lowers it to a `sync` instruction for MIPS, which the R3000 does not have.)
    fn barrier() {
        // SAFETY: an empty assembly block does nothing; without `nomem`, the compiler must
        // assume it reads and writes any memory, so no memory access moves across it.
        unsafe { asm!("", options(nostack, preserves_flags)) }
    }

    fn wait(waiting_for: &'static str, spins: usize, mut done: impl FnMut() -> bool) -> Result<(), GpuError> {
        for _ in 0..spins {
            if done() {
                return Ok(());
            }
        }
        // SAFETY: a volatile read of GPUSTAT, for the report.
        let status = unsafe { regs::gpu() }.control.read();
        Err(GpuError::Timeout { waiting_for, status })
    }

    fn stat(gpu: &Gpu) -> u32 {
        gpu.control.read()
    }

    /// Writes a GP1 command.
    fn gp1(gpu: &Gpu, word: u32) {
        // SAFETY: GP1 is the GPU's control port; the caller holds the `Claim`, so no other
        // transfer is using the GPU.
        unsafe { gpu.control.write(word) }
    }

    /// Writes GP0 words once GPUSTAT has the `ready` bit: a command and its parameters after
    /// bit 26 (they fit the 16-word FIFO), each word of pixels after bit 28.
    fn gp0(gpu: &Gpu, waiting_for: &'static str, ready: u32, words: &[u32]) -> Result<(), GpuError> {
        wait(waiting_for, SPINS, || stat(gpu) & ready != 0)?;
        for &word in words {
            // SAFETY: as in `gp1`, for the data port.
            unsafe { gpu.data.write(word) };
        }
        Ok(())
    }

    /// The CPU address of a buffer.
    fn address_of<T>(p: *const T) -> Address {
        Address::new(p.expose_provenance() as u64)
    }

    /// Runs the plan's DMA blocks on channel 2 from or to physical address `madr`, and waits
    /// until the channel is done with the buffer.
    fn run_dma(dma: &Dma, plan: &Plan, madr: u32, chcr: u32) -> Result<(), GpuError> {
        let channel = &dma.channels[DmaPort::Gpu as usize];
        // Everything the CPU wrote to the buffer is in memory before the channel starts.
        barrier();
        // SAFETY: channel 2 and DPCR are the DMA controller's registers; the caller holds the
        // `Claim`. `madr` is the physical address of a buffer the caller borrows for the whole
        // transfer, checked by `dma_address` to hold `plan.blocks` blocks; the channel is waited
        // for below before the borrow ends.
        unsafe {
            dma.dpcr.modify(|v| v | DPCR_GPU_ENABLE);
            channel.madr.write(madr);
            channel.bcr.write(plan.bcr());
            channel.chcr.write(chcr);
        }
        let words = usize::from(plan.blocks) * BLOCK_WORDS;
        let done = wait("the GPU DMA channel", SPINS + 64 * words, || channel.chcr.read() & CHCR_BUSY == 0);
        if done.is_err() {
            // SAFETY: clearing the start bit stops the channel; the buffer is still borrowed.
            unsafe { channel.chcr.write(chcr & !CHCR_BUSY) };
            if wait("the stopped channel", SPINS, || channel.chcr.read() & CHCR_BUSY == 0).is_err() {
                // The channel may still write to the buffer: returning would end its borrow.
                panic!("the GPU DMA channel does not stop");
            }
        }
        // What the channel wrote is read only after it is done.
        barrier();
        done
    }

    /// Ends a transfer: the DMA direction off, and after a failure the command buffer reset
    /// so that the next command is not taken for pixels.
    fn finish(gpu: &Gpu, result: Result<(), GpuError>) -> Result<(), GpuError> {
        if result.is_err() {
            gp1(gpu, GP1_RESET_COMMAND_BUFFER);
        }
        gp1(gpu, GP1_DMA_DIRECTION | DMA_DIRECTION_OFF);
        result
    }

    /// Copies `pixels` (row by row, `rect.w` to a row) into `rect` of VRAM, and returns once
    /// the GPU has them. The whole 16-word blocks go by DMA: `pixels` must then be word-aligned
    /// in main RAM ([`WordAligned`] is).
    pub fn upload(rect: Rect, pixels: &[u16]) -> Result<(), GpuError> {
        let plan = Plan::new(rect, pixels.len())?;
        let bytes = ByteSize::bytes(2 * plan.dma_pixels() as u64);
        let madr = match plan.blocks {
            0 => 0,
            _ => dma_address(address_of(pixels.as_ptr()), bytes)?,
        };
        let _claim = Claim::take()?;
        // SAFETY: the GPU ports and the DMA controller are fixed hardware blocks, used through
        // volatile cells; the `Claim` keeps other transfers off them.
        let (gpu, dma) = unsafe { (regs::gpu(), regs::dma()) };
        let result = (|| {
            let (ready, command) = (STAT_READY_FOR_COMMAND, "the GPU to take a command");
            gp1(gpu, GP1_DMA_DIRECTION | DMA_DIRECTION_OFF);
            gp0(gpu, command, ready, &[GP0_CLEAR_CACHE])?;
            gp0(gpu, command, ready, &[GP0_COPY_TO_VRAM, plan.position_word(), plan.size_word()])?;
            if plan.blocks > 0 {
                gp1(gpu, GP1_DMA_DIRECTION | DMA_DIRECTION_TO_GP0);
                run_dma(dma, &plan, madr, CHCR_TO_DEVICE_BLOCKS)?;
            }
            // The direction stays until the last word is in: pcsxr's GPU plugin ends a VRAM
            // transfer when GP1 0x04 changes the direction.
            for pair in pixels[plan.dma_pixels()..].chunks(2) {
                let word = u32::from(pair[0]) | pair.get(1).map_or(0, |&p| u32::from(p) << 16);
                gp0(gpu, "room in the GPU's FIFO", STAT_READY_FOR_DMA_BLOCK, &[word])?;
            }
            Ok(())
        })();
        finish(gpu, result)
    }

    /// Copies `rect` of VRAM into `pixels` (row by row, `rect.w` to a row), and returns once
    /// they are there. The whole 16-word blocks go by DMA: `pixels` must then be word-aligned
    /// in main RAM ([`WordAligned`] is).
    pub fn download(rect: Rect, pixels: &mut [u16]) -> Result<(), GpuError> {
        let plan = Plan::new(rect, pixels.len())?;
        let bytes = ByteSize::bytes(2 * plan.dma_pixels() as u64);
        let madr = match plan.blocks {
            0 => 0,
            // The channel writes through this address: it comes from a pointer with write access.
            _ => dma_address(address_of(pixels.as_mut_ptr().cast_const()), bytes)?,
        };
        let _claim = Claim::take()?;
        // SAFETY: as in `upload`.
        let (gpu, dma) = unsafe { (regs::gpu(), regs::dma()) };
        let result = (|| {
            let words = [GP0_COPY_FROM_VRAM, plan.position_word(), plan.size_word()];
            gp1(gpu, GP1_DMA_DIRECTION | DMA_DIRECTION_OFF);
            gp0(gpu, "the GPU to take a command", STAT_READY_FOR_COMMAND, &words)?;
            wait("the GPU to send VRAM", SPINS, || stat(gpu) & STAT_READY_TO_SEND_VRAM != 0)?;
            if plan.blocks > 0 {
                gp1(gpu, GP1_DMA_DIRECTION | DMA_DIRECTION_FROM_GPUREAD);
                // The channel writes the slice through `madr`: its pointer is exposed above,
                // and the barriers in `run_dma` order the CPU's accesses around the transfer.
                run_dma(dma, &plan, madr, CHCR_FROM_DEVICE_BLOCKS)?;
            }
            // As in `upload`, the direction stays until the last word is out.
            let start = plan.dma_pixels();
            for pair in pixels[start..].chunks_mut(2) {
                let word = gpu.data.read();
                pair[0] = word as u16;
                if let Some(high) = pair.get_mut(1) {
                    *high = (word >> 16) as u16;
                }
            }
            Ok(())
        })();
        finish(gpu, result)
    }

    /// [`upload`], if `shares` lets `component` write `rect`; refused before any register is
    /// written otherwise.
    pub fn upload_checked<'a, const N: usize>(
        shares: &VramShares<'a, N>,
        component: ComponentId,
        rect: Rect,
        pixels: &[u16],
    ) -> Result<(), TransferError<'a>> {
        checked(shares, component, rect, Direction::ToVram, || upload(rect, pixels))
    }

    /// [`download`], if `shares` lets `component` read `rect`; refused before any register is
    /// written otherwise.
    pub fn download_checked<'a, const N: usize>(
        shares: &VramShares<'a, N>,
        component: ComponentId,
        rect: Rect,
        pixels: &mut [u16],
    ) -> Result<(), TransferError<'a>> {
        checked(shares, component, rect, Direction::FromVram, || download(rect, pixels))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use flight_memory::Permissions;
    use flight_memory::layout::Sharer;
    use flight_memory::layout::vram::VramViolationKind;
    use std::string::ToString;

    #[test]
    fn plans_split_whole_blocks_from_the_rest() {
        let p = Plan::new(Rect::new(320, 0, 64, 32), 2048).unwrap();
        assert_eq!((p.blocks, p.cpu_words, p.dma_pixels(), p.bcr()), (64, 0, 2048, 0x0040_0010));
        assert_eq!((p.position_word(), p.size_word()), (0x0000_0140, 0x0020_0040));
        // 7 x 5 = 35 pixels: one block of 16 words (32 pixels), then 2 words, the last half used.
        let p = Plan::new(Rect::new(5, 3, 7, 5), 35).unwrap();
        assert_eq!((p.blocks, p.cpu_words, p.dma_pixels()), (1, 2, 32));
        assert_eq!(Plan::new(Rect::new(0, 0, 3, 1), 3).unwrap().blocks, 0);
        let all = Plan::new(Rect::new(0, 0, 1024, 512), 1024 * 512).unwrap();
        assert_eq!((all.blocks, all.cpu_words, all.size_word()), (16384, 0, 0x0200_0400));
        assert_eq!(Plan::new(Rect::new(0, 0, 0, 4), 0), Err(GpuError::Empty(Rect::new(0, 0, 0, 4))));
        let off = Rect::new(1000, 0, 32, 1);
        assert_eq!(Plan::new(off, 32), Err(GpuError::OffSurface(off)));
        let r = Rect::new(0, 0, 4, 4);
        assert_eq!(Plan::new(r, 15), Err(GpuError::Length { rect: r, given: 15 }));
        assert_eq!(
            GpuError::Length { rect: r, given: 15 }.to_string(),
            "VRAM rectangle (x 0, y 0, w 4, h 4) holds 16 pixels, the buffer 15"
        );
    }

    #[test]
    fn dma_reaches_main_ram_only() {
        assert_eq!(dma_address(Address::new(0x8010_0000), ByteSize::kib(4)), Ok(0x0010_0000));
        assert_eq!(dma_address(Address::new(0xA010_0000), ByteSize::kib(4)), Ok(0x0010_0000));
        let odd = Address::new(0x8010_0002);
        assert_eq!(dma_address(odd, ByteSize::bytes(64)), Err(GpuError::Misaligned(odd)));
        let pad = Address::new(0x1F80_0000);
        assert_eq!(dma_address(pad, ByteSize::bytes(64)), Err(GpuError::NotDmaMemory(pad)));
        let end = Address::new(0x801F_FFC0);
        assert_eq!(dma_address(end, ByteSize::bytes(128)), Err(GpuError::NotDmaMemory(end)));
        assert_eq!(core::mem::align_of::<WordAligned<3>>(), 4);
    }

    #[test]
    fn refusals_come_before_the_transfer() {
        let mut shares: VramShares<'_, 4> = VramShares::new();
        let rect = Rect::new(320, 0, 64, 32);
        let renderer = Sharer { component: "renderer", permissions: Permissions::WRITE };
        let physics = Sharer { component: "physics", permissions: Permissions::READ };
        shares.share("sprites", rect, renderer, &[physics]).unwrap();
        let audio = shares.add_component("audio").unwrap();
        let (r, p) = (shares.component("renderer").unwrap(), shares.component("physics").unwrap());
        let mut ran = 0;
        let mut transfer = || {
            ran += 1;
            Ok(())
        };
        assert_eq!(checked(&shares, r, rect, Direction::ToVram, &mut transfer), Ok(()));
        let e = checked(&shares, p, rect, Direction::ToVram, &mut transfer).unwrap_err();
        assert!(
            matches!(e, TransferError::Refused(v) if matches!(v.kind, VramViolationKind::WrongPermission { .. }))
        );
        assert_eq!(
            e.to_string(),
            "refused: `physics`: write to VRAM (x 320, y 0, w 64, h 32): inside shared `sprites` \
             (x 320, y 0, w 64, h 32), where its rights are `r--`"
        );
        let e = checked(&shares, audio, rect, Direction::FromVram, &mut transfer).unwrap_err();
        assert!(
            matches!(e, TransferError::Refused(v) if matches!(v.kind, VramViolationKind::NotSharer { .. }))
        );
        assert_eq!(ran, 1, "only the allowed transfer ran");
        assert_eq!(
            checked(&shares, p, rect, Direction::FromVram, || Err(GpuError::Busy)),
            Err(TransferError::Gpu(GpuError::Busy))
        );
    }
}

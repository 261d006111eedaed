//! What the PSX images share: the board description and the platform's own checks.
#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::ToString;
use core::fmt::Write;

use flight_memory::alloc::{Placement, Rect, Vram};
use flight_memory::layout::vram::{RectText, VramShares, VramViolationKind};
use flight_memory::layout::{ComponentId, Sharer};
use flight_memory::{Address, Permissions, Span};
use flight_platform_psx::bios::Console;
use flight_platform_psx::gpu::{self, TransferError, WordAligned};
use flight_platform_psx::regs::DmaPort;
use flight_platform_psx::{mailbox, map, regs, rt};
use flight_suite::{Board, Failure, Outcome, Test, ensure};

/// This console as the suite sees it.
pub fn board() -> Board {
    Board {
        console: "psx",
        map: &map::MAP,
        layout: rt::image_layout(),
        stack_top: Address::new(map::STACK_TOP),
        // The R3000 here has no data cache (its cache is the scratchpad).
        sync_cache: |_: Span| {},
        memory: flight_suite::native::MEMORY,
    }
}

/// Root counter 1 on the system clock (33.8688 MHz): 16 bits, so it wraps every 1.9 ms; the
/// suite times batches shorter than that. (Counter 2 belongs to `root_counter_2_counts`.)
pub fn clock() -> flight_suite::allocators::Clock {
    // SAFETY: the root counters are the console's fixed timer block; the runtime keeps
    // interrupts masked, so this timer's mode is ours to set. Mode 0: system clock, free-running.
    unsafe { regs::timers().counters[1].mode.write(0) };
    flight_suite::allocators::Clock {
        // SAFETY: a volatile read of the timer block.
        now: || unsafe { regs::timers().counters[1].value.read() & 0xffff },
        hz: 33_868_800,
        modulus: 0x1_0000,
    }
}

/// Checks only a PlayStation can answer.
pub const PSX_CHECKS: &[Test] = &[
    Test::new("root_counter_2_counts", root_counter_2_counts),
    Test::new("mailbox_mirrors_the_console", mailbox_mirrors_the_console),
    Test::new("vram_shared_by_dma_round_trips", vram_shared_by_dma_round_trips),
    Test::new("vram_refusals_come_before_any_transfer", vram_refusals_come_before_any_transfer),
];

/// The mailbox header says what the start-up code wrote, and its ring starts with the first
/// line this image printed.
fn mailbox_mirrors_the_console(_: &Board) -> Outcome {
    let base = map::MAILBOX as usize;
    // SAFETY: the linker script reserves the mailbox; the runtime initialised it and only the
    // console and a host write to it. Reads are volatile since a host may change it.
    let word = |i: usize| unsafe { ((base + i * 4) as *const u32).read_volatile() };
    let (magic, capacity, write, lost) = (word(0), word(1), word(2), word(5));
    ensure!(magic == mailbox::MAGIC, "magic {magic:#x} at {:#x}", map::MAILBOX);
    ensure!(capacity == mailbox::CAPACITY, "capacity {capacity}");
    let begin = flight_suite::protocol::BEGIN_MARKER.as_bytes();
    ensure!(write as usize > begin.len(), "only {write} bytes written");
    if lost == 0 && (write as usize) <= capacity as usize {
        // SAFETY: as above; `begin.len()` bytes of the ring, all written already.
        let first =
            unsafe { core::slice::from_raw_parts((base + mailbox::DATA_OFFSET) as *const u8, begin.len()) };
        ensure!(first == begin, "the ring starts with {first:?}");
    }
    Ok(())
}

fn root_counter_2_counts(_: &Board) -> Outcome {
    // SAFETY: the root counters are the console's fixed timer block, read through volatile cells.
    let counter = unsafe { &regs::timers().counters[2] };
    // Mode 0: free-running on the system clock, no sync, no interrupt; writing it resets the count.
    // SAFETY: the runtime keeps interrupts masked, so changing this timer's mode affects nothing else.
    unsafe { counter.mode.write(0) };
    let before = counter.value.read() & 0xffff;
    let mut spins = 0u32;
    while counter.value.read() & 0xffff == before && spins < 100_000 {
        spins += 1;
    }
    ensure!(spins < 100_000, "root counter 2 stayed at {before:#x} for 100000 reads");
    Ok(())
}

/// The shared rectangle's size: 2048 pixels, 64 whole DMA blocks.
const SHARED_W: u16 = 64;
const SHARED_H: u16 = 32;
const SHARED_PIXELS: usize = SHARED_W as usize * SHARED_H as usize;

/// The writer and the reader of the shared rectangle.
const RENDERER: Sharer<'static> = Sharer { component: "renderer", permissions: Permissions::WRITE };
const PHYSICS: Sharer<'static> = Sharer { component: "physics", permissions: Permissions::READ };

/// A VRAM share table with one rectangle placed by the VRAM allocator, shared by a writer and
/// a reader, and a third component on no list.
struct Shared {
    shares: VramShares<'static, 4>,
    rect: Rect,
    renderer: ComponentId,
    physics: ComponentId,
    audio: ComponentId,
}

fn shared() -> Result<Shared, Failure> {
    let fail = |what: &str, e: &dyn core::fmt::Display| Failure(format!("{what}: {e}"));
    let mut vram: Vram<8> = Vram::new();
    // The display buffers (where the emulators' GPUs show VRAM) stay clear of the test's pixels.
    vram.reserve(Rect::new(0, 0, 320, 512)).map_err(|e| fail("reserve", &e))?;
    let mut shares = VramShares::new();
    let rect = shares
        .share_allocated(
            &mut vram,
            "sprites",
            SHARED_W,
            SHARED_H,
            Placement::Texture { within_page: true },
            RENDERER,
            &[PHYSICS],
        )
        .map_err(|e| fail("share", &e))?;
    let audio = shares.add_component("audio").map_err(|e| fail("component", &e))?;
    let id = |name| shares.component(name).ok_or_else(|| Failure(format!("no component `{name}`")));
    Ok(Shared { renderer: id("renderer")?, physics: id("physics")?, audio, rect, shares })
}

/// A pattern that differs, pixel by pixel, for any two seeds, and sets bit 15 (the mask bit) on
/// about half the pixels.
fn pattern(seed: u16, i: usize) -> u16 {
    (i as u16).wrapping_mul(0x9E37) ^ seed.rotate_left(i as u32 & 15)
}

fn pixels(seed: u16) -> Box<WordAligned<SHARED_PIXELS>> {
    let mut b = Box::new(WordAligned([0u16; SHARED_PIXELS]));
    for (i, p) in b.0.iter_mut().enumerate() {
        *p = pattern(seed, i);
    }
    b
}

/// Fails unless `got` equals `want`, naming the first pixel that differs.
fn same(what: &str, rect: Rect, got: &[u16], want: &[u16]) -> Outcome {
    let differ = got.iter().zip(want).filter(|(g, w)| g != w).count();
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        let (x, y) =
            (usize::from(rect.x) + i % usize::from(rect.w), usize::from(rect.y) + i / usize::from(rect.w));
        return Err(Failure(format!(
            "{what}: {differ} of {} pixels differ; first at ({x}, {y}): read {:#06x}, wrote {:#06x}",
            want.len(),
            got[i],
            want[i]
        )));
    }
    Ok(())
}

fn transfer(what: &str, r: Result<(), TransferError<'_>>) -> Outcome {
    r.map_err(|e| Failure(format!("{what}: {e}")))
}

/// The writer uploads through the checked path, the reader downloads through it and finds
/// the same pixels: twice with different patterns (so stale VRAM cannot pass), then with
/// rectangles whose pixels do not fill whole DMA blocks (the CPU moves the rest, the last word
/// half used) and one too small for any block.
fn vram_shared_by_dma_round_trips(_: &Board) -> Outcome {
    let s = shared()?;
    let rect = s.rect;
    let mut back = pixels(0);
    for seed in [0x5A5A, 0xC3A5] {
        let src = pixels(seed);
        transfer("renderer upload", gpu::upload_checked(&s.shares, s.renderer, rect, &src.0))?;
        // Start from pixels that differ from the pattern everywhere.
        back.0.iter_mut().zip(&src.0).for_each(|(b, p)| *b = !*p);
        transfer("physics download", gpu::download_checked(&s.shares, s.physics, rect, &mut back.0))?;
        same("the shared rectangle read back", rect, &back.0, &src.0)?;
    }
    // The whole rectangle now holds pattern 0xC3A5. Overwrite a 7x5 part (35 pixels: one
    // block and two words) and a 3x1 part (two words, no block), then read both parts and the
    // whole back.
    let mut want = pixels(0xC3A5);
    for (part, seed) in [
        (Rect::new(rect.x + 5, rect.y + 3, 7, 5), 0x1234u16),
        (Rect::new(rect.x + 60, rect.y + 31, 3, 1), 0x4321),
    ] {
        let n = part.area() as usize;
        let mut src = Box::new(WordAligned([0u16; 35]));
        src.0[..n].iter_mut().enumerate().for_each(|(i, p)| *p = pattern(seed, i));
        let at = RectText(part);
        transfer(
            &format!("renderer upload {at}"),
            gpu::upload_checked(&s.shares, s.renderer, part, &src.0[..n]),
        )?;
        let mut got = Box::new(WordAligned([0u16; 35]));
        got.0[..n].iter_mut().zip(&src.0[..n]).for_each(|(g, p)| *g = !*p);
        transfer(
            &format!("physics download {at}"),
            gpu::download_checked(&s.shares, s.physics, part, &mut got.0[..n]),
        )?;
        same("a part read back", part, &got.0[..n], &src.0[..n])?;
        for i in 0..n {
            let (x, y) = (
                usize::from(part.x - rect.x) + i % usize::from(part.w),
                usize::from(part.y - rect.y) + i / usize::from(part.w),
            );
            want.0[y * usize::from(SHARED_W) + x] = src.0[i];
        }
    }
    transfer("physics download", gpu::download_checked(&s.shares, s.physics, rect, &mut back.0))?;
    same("the rectangle around the parts", rect, &back.0, &want.0)
}

/// The DMA channel 2 registers a transfer would write.
fn dma_channel_2() -> [u32; 3] {
    // SAFETY: the DMA controller is a fixed hardware block; these are volatile reads.
    let channel = unsafe { &regs::dma().channels[DmaPort::Gpu as usize] };
    [channel.madr.read(), channel.bcr.read(), channel.chcr.read()]
}

/// A transfer by a component on no list, a write by the reader, a read by a component on no
/// list and a write that straddles the shared rectangle's edge are each refused before
/// anything is written: the DMA channel's registers and the VRAM pixels are as before, and
/// each refusal names the component and the transfer's rectangle.
fn vram_refusals_come_before_any_transfer(_: &Board) -> Outcome {
    let s = shared()?;
    let rect = s.rect;
    let before = pixels(0x0F0F);
    transfer("renderer upload", gpu::upload_checked(&s.shares, s.renderer, rect, &before.0))?;
    let other = pixels(0xF0F0);
    let channel = dma_channel_2();
    let straddling = Rect::new(rect.x.saturating_sub(8), rect.y, 16, 4);
    let mut sentinel = pixels(0xBEEF);
    let attempts = [
        ("audio", rect, gpu::upload_checked(&s.shares, s.audio, rect, &other.0)),
        ("physics", rect, gpu::upload_checked(&s.shares, s.physics, rect, &other.0)),
        ("audio", rect, gpu::download_checked(&s.shares, s.audio, rect, &mut sentinel.0)),
        ("renderer", straddling, gpu::upload_checked(&s.shares, s.renderer, straddling, &other.0[..64])),
    ];
    ensure!(dma_channel_2() == channel, "DMA channel 2 changed: {:x?} -> {:x?}", channel, dma_channel_2());
    for (i, (component, target, result)) in attempts.into_iter().enumerate() {
        let Err(TransferError::Refused(v)) = result else {
            return Err(Failure(format!("attempt {i} by `{component}` was not refused: {result:?}")));
        };
        let expected = match i {
            0 | 2 => VramViolationKind::NotSharer { share: "sprites", rect },
            1 => VramViolationKind::WrongPermission { share: "sprites", rect, allowed: Permissions::READ },
            _ => VramViolationKind::Outside { overlaps: Some(("sprites", rect)) },
        };
        let text = v.to_string();
        let _ = writeln!(Console, "vram refusal {i}: {text}");
        ensure!(v.kind == expected, "attempt {i}: unexpected refusal {text}");
        let named = format!("`{component}`");
        let at = RectText(target).to_string();
        ensure!(
            text.contains(&named) && text.contains(&at),
            "attempt {i}: `{text}` names not {named} and {at}"
        );
    }
    ensure!(sentinel.0 == pixels(0xBEEF).0, "a refused download wrote to its buffer");
    let mut after = pixels(0);
    transfer("physics download", gpu::download_checked(&s.shares, s.physics, rect, &mut after.0))?;
    same("VRAM after the refusals", rect, &after.0, &before.0)
}

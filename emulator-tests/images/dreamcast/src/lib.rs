//! What the SH-4 images share: the board description and the checks only the machines can
//! answer. The global allocator is the platform runtime's (its `heap` feature).
//!
//! Each image is a WebAssembly module (`wasm32-unknown-unknown`), so it reaches the machine only
//! through the runtime's imports (`flight_platform_dreamcast::rt`): the suite's [`Board`] reads
//! and writes CPU addresses through `read32`/`write32`, and its layout is in CPU addresses (the
//! runtime's arena base plus the module's offsets). The same module runs on both machines; the
//! runtime says which one it is on, and the board takes that machine's map and console name
//! (`dreamcast` in gxemul, `dreamcast-r2d` in qemu).
#![no_std]

// The suite's `ensure!` formats its messages into `alloc` strings.
extern crate alloc;

use flight_memory::Address;
use flight_memory::sync::{Lock, section};
use flight_platform_dreamcast::regs;
use flight_platform_dreamcast::rt::{self, Machine};
use flight_suite::{Board, Memory, Outcome, Test, ensure};

/// The machine as the suite sees it.
pub fn board() -> Board {
    let machine = Machine::current();
    Board {
        console: machine.console(),
        map: machine.map(),
        layout: rt::image_layout(),
        // The runtime promises the stack at the top of linear memory: the memory's size, asked
        // of the module itself, not of the runtime's layout, which the suite checks against it.
        stack_top: Address::new(rt::arena_base().get() + core::arch::wasm32::memory_size(0) as u64 * 65536),
        sync_cache: rt::sync_cache,
        memory: Memory { read32: rt::read32, write32: rt::write32, cpu_address: rt::cpu_address },
    }
}

/// Checks only the SH-4 machines can answer.
pub const SH4_CHECKS: &[Test] = &[
    Test::new("sections_mask_interrupts", sections_mask_interrupts),
    Test::new("tmu_channel_0_counts_down", tmu_channel_0_counts_down),
    Test::new("vram_keeps_what_is_written", vram_keeps_what_is_written).when(|b| {
        if b.map.regions_of(flight_memory::RegionKind::Video).next().is_none() {
            Some("this machine has no PowerVR VRAM")
        } else {
            None
        }
    }),
];

/// SR as a lock's closure saw it (written inside the lock's own section).
static SEEN: Lock<u32> = Lock::new(0);

/// SR at each step of a run of sections entered at one mask level.
#[derive(Clone, Copy)]
struct SectionProbe {
    /// Before the first section.
    before: u32,
    /// Inside a section.
    outer: u32,
    /// Inside a section nested in it.
    nested: u32,
    /// Inside the outer section again, after the nested one ended.
    outer_again: u32,
    /// Inside a `Lock::with`.
    locked: u32,
    /// After the sections.
    after: u32,
}

/// Runs the sections at mask level `level` and puts the runtime's level (15) back after.
///
/// # Safety
/// As [`rt::set_interrupt_mask`]: no interrupt source may be armed above `level`.
unsafe fn probe_sections(level: u8) -> SectionProbe {
    // SAFETY: outside any section; the caller vouches for the sources; level 15 is set back
    // below, before anything else runs.
    let runtime = unsafe { rt::set_interrupt_mask(level) };
    let before = rt::status_register();
    let (mut outer, mut nested, mut outer_again) = (0, 0, 0);
    section(|_| {
        outer = rt::status_register();
        section(|_| nested = rt::status_register());
        outer_again = rt::status_register();
    });
    SEEN.with(|seen| *seen = rt::status_register());
    let locked = SEEN.with(|seen| *seen);
    let after = rt::status_register();
    // SAFETY: back to the level the runtime had, outside any section.
    unsafe { rt::set_interrupt_mask(runtime) };
    SectionProbe { before, outer, nested, outer_again, locked, after }
}

/// A critical section (and so a [`Lock`]) raises SR.IMASK to 15 and, when it ends, puts back
/// the level it found, also when sections nest; SR's other control bits stay as they were. The
/// runtime keeps IMASK at 15, so the sections are also run at level 14: priority 15 is the only
/// one that level admits, and neither machine has a source armed there (the internal
/// peripherals' priorities are 0 until an IPR is written, the Dreamcast's Holly signals at 9,
/// 11 and 13, the R2D's FPGA masks all its IRL sources until its mask is written; an interrupt
/// would end the run as a crash report, not pass unseen).
fn sections_mask_interrupts(_: &Board) -> Outcome {
    let start = rt::status_register();
    ensure!(
        rt::interrupt_mask(start) == 15,
        "the runtime left SR.IMASK at {} (SR {start:#010x})",
        rt::interrupt_mask(start)
    );
    for level in [15u8, 14] {
        // SAFETY: at 14 only priority-15 interrupts get in, and no source is armed there (see
        // above); the probe sets 15 back before it returns.
        let p = unsafe { probe_sections(level) };
        let sr = [p.before, p.outer, p.nested, p.outer_again, p.locked, p.after];
        ensure!(
            rt::interrupt_mask(p.before) == level && rt::interrupt_mask(p.after) == level,
            "at level {level}: SR {:#010x} before the sections, {:#010x} after",
            p.before,
            p.after
        );
        ensure!(
            [p.outer, p.nested, p.outer_again, p.locked].iter().all(|&sr| rt::interrupt_mask(sr) == 15),
            "at level {level}: SR.IMASK inside the sections was not 15: SR {:#010x} in a section, \
             {:#010x} nested, {:#010x} after the nested one, {:#010x} in a lock",
            p.outer,
            p.nested,
            p.outer_again,
            p.locked
        );
        let control = regs::SR_MD | regs::SR_RB | regs::SR_BL | regs::SR_FD;
        ensure!(
            sr.iter().all(|&sr| sr & control == start & control),
            "at level {level}: SR's MD, RB, BL or FD changed: {sr:#010x?}, {start:#010x} at the start"
        );
    }
    let end = rt::status_register();
    ensure!(
        rt::interrupt_mask(end) == 15,
        "SR.IMASK is {} after the check (SR {end:#010x})",
        rt::interrupt_mask(end)
    );
    Ok(())
}

/// TMU channel 0, which the runtime started at Pφ/4, counts down, and the runtime's `micros`
/// agrees with it.
fn tmu_channel_0_counts_down(_: &Board) -> Outcome {
    let tcnt = || {
        // SAFETY: TCNT0 is an on-chip register of both machines; reading it has no side effect.
        unsafe { rt::read32(Address::new(regs::TMU_TCNT0)) }
    };
    let first = tcnt();
    let mut spins = 0u32;
    let mut now = tcnt();
    while now == first && spins < 1_000_000 {
        spins += 1;
        now = tcnt();
    }
    ensure!(now != first, "TCNT0 stayed at {first:#x} for 1000000 reads");
    ensure!(now < first, "TCNT0 went up, from {first:#x} to {now:#x}");
    // Wait for 10000 counts (0.8 ms on the Dreamcast; gxemul advances the counter in steps
    // of host time, so it may take one step), reading micros() just outside and just inside
    // the counter's two reads: the outer interval spans at least the counts, the inner one at
    // most, whatever the steps.
    let outer_start = rt::micros();
    let start = tcnt();
    let inner_start = rt::micros();
    let mut spins = 0u32;
    while start.wrapping_sub(tcnt()) < 10_000 && spins < 10_000_000 {
        spins += 1;
    }
    let inner = rt::micros() - inner_start;
    let ticks = u64::from(start.wrapping_sub(tcnt()));
    let outer = rt::micros() - outer_start;
    ensure!(ticks >= 10_000, "TCNT0 counted only {ticks} in 10000000 reads");
    // The counter runs at Pφ/4; micros() rounds down, so each side may be 1 µs short.
    let expected = ticks * 4_000_000 / Machine::current().peripheral_hz();
    ensure!(
        outer + 1 >= expected && inner <= expected + 1,
        "TCNT0 counted {ticks} ({expected} µs at Pφ/4), but micros() advanced {inner} µs inside and \
         {outer} µs around that"
    );
    Ok(())
}

/// The last 64 bytes of VRAM, through its linear 32-bit access area, keep what is written there.
fn vram_keeps_what_is_written(board: &Board) -> Outcome {
    let vram = board.map.region("vram").ok_or_else(|| flight_suite::Failure("no vram region".into()))?;
    let view = vram.view("vram32").ok_or_else(|| flight_suite::Failure("no vram32 view".into()))?;
    let base = view.base.get() + vram.size().get() - 64;
    for i in 0..16u64 {
        // SAFETY: the last 64 bytes of VRAM are the suite's: nothing draws here (the runtime
        // never starts the PowerVR), and the map says the area is CPU-addressable.
        unsafe { rt::write32(Address::new(base + i * 4), 0x5eed_0000 ^ (i as u32 * 0x0101_0101)) };
    }
    for i in 0..16u64 {
        // SAFETY: as above.
        let got = unsafe { rt::read32(Address::new(base + i * 4)) };
        let want = 0x5eed_0000 ^ (i as u32 * 0x0101_0101);
        ensure!(got == want, "VRAM word at {} read {got:#x}, wrote {want:#x}", Address::new(base + i * 4));
    }
    Ok(())
}

//! The layout checks every console runs: the planner, the dynamic placer, the bounds checker and
//! the guard canaries, on the console's own map and in its own RAM.
//!
//! The window is the suite's arena (a static in `.bss`), found in the map through its CPU
//! address, so the segments are real memory: canaries are written into the guard gaps through
//! the board's [`Memory`](crate::Memory), and a stray write into a gap is found there. The plan
//! is the same `no_std` code as on the host, and must give the host's answer: [`EXPECTED`]
//! holds the offsets a host test checks too.

use core::fmt::Write;

use flight_memory::layout::dynamic::DynamicLayout;
use flight_memory::layout::guard::GuardMemory;
use flight_memory::layout::plan::{PlanSummary, plan};
use flight_memory::layout::validate::validate_layout;
use flight_memory::layout::{
    Access, ComponentId, Layout, SegmentFlags, SegmentRequest, Sharer, Strategy, ViolationKind,
};
use flight_memory::{Address, Alignment, ByteSize, MemoryMap, Permissions, Span};

use crate::allocators::{Clock, arena};
use crate::{Board, Failure, Outcome, Test, cpu, ensure};

/// The layout checks.
pub const CHECKS: &[Test] = &[
    Test::new("layout_plan_matches_the_host", |b| with_plan(b, plan_matches_the_host)),
    Test::new("checker_catches_violations", |b| with_plan(b, checker_catches_violations)),
    Test::new("guard_canaries_catch_stray_writes", |b| with_plan(b, guard_canaries_catch_stray_writes)),
    Test::new("dynamic_layout_places_and_frees", dynamic_layout_places_and_frees),
];

/// The guard gap of the on-console plans.
pub const GUARD: ByteSize = ByteSize::bytes(256);

/// The physics-to-renderer buffer's access list: physics writes, the renderer reads.
pub const SHARERS: &[Sharer<'static>] = &[
    Sharer { component: "physics", permissions: Permissions::RW },
    Sharer { component: "renderer", permissions: Permissions::READ },
];

/// The on-console example, a small copy of `flight plan`'s: four components and a shared
/// buffer, in a 16 KiB window. The sizes make the order matter: the renderer's 1 KiB alignment
/// is the planner's to respect without wasting the space before it. Every alignment is given
/// (at least every console's DMA and cache-line alignment), so the plan is the same on all.
pub const REQUESTS: &[SegmentRequest<'static>] = &[
    SegmentRequest::new("physics", ByteSize::bytes(3 * 1024 + 512)).aligned(Alignment::of(64)),
    SegmentRequest::new("renderer", ByteSize::kib(5)).aligned(Alignment::of(1024)),
    SegmentRequest::new("audio", ByteSize::bytes(1536))
        .aligned(Alignment::of(64))
        .with_flags(SegmentFlags::DMA),
    SegmentRequest::new("logic", ByteSize::bytes(800)).aligned(Alignment::of(16)),
    SegmentRequest::shared("bodies", ByteSize::kib(1), SHARERS).aligned(Alignment::of(64)),
];

/// Where the plan puts each segment, as an offset from a window start aligned to 1 KiB: an
/// order with no padding at all, so the waste is the four guard gaps.
pub const EXPECTED: &[(&str, u64)] =
    &[("bodies", 0), ("audio", 1280), ("renderer", 3072), ("physics", 8448), ("logic", 12288)];

/// The waste (guard gaps plus padding) of the expected plan.
pub const EXPECTED_WASTE: ByteSize = ByteSize::bytes(4 * 256);

/// Plans [`REQUESTS`] into a 16 KiB window starting at `start` of the region at index `region`
/// of `map`.
pub fn plan_example(
    map: &'static MemoryMap,
    region: &'static str,
    start: u64,
) -> Result<(Layout<'static, 8>, PlanSummary), Failure> {
    let mut layout = Layout::new(map, GUARD);
    layout
        .add_window(region, Span::at(start, ByteSize::kib(16)))
        .map_err(|e| Failure(alloc::format!("window: {e}")))?;
    let mut scratch = [0u64; 32];
    let summary = plan(&mut layout, REQUESTS, Strategy::Optimal, &mut scratch)
        .map_err(|e| Failure(alloc::format!("plan: {e}")))?;
    Ok((layout, summary))
}

/// The arena as a window: its region and the region-space start of its first 1 KiB-aligned
/// byte, and the CPU address of that byte.
fn arena_window(board: &Board) -> Result<(&'static str, u64, Address), Failure> {
    let bytes = arena();
    let at = cpu(board, bytes.as_ptr());
    let aligned = Address::new(at.get().next_multiple_of(1024));
    let hit = board
        .map
        .resolve(aligned)
        .ok_or_else(|| Failure(alloc::format!("the arena at {at} is in no view")))?;
    ensure!(
        aligned.get() + ByteSize::kib(16).get() <= at.get() + bytes.len() as u64,
        "the arena ({} B) cannot hold a 16 KiB window at a 1 KiB boundary",
        bytes.len()
    );
    Ok((hit.region.name, hit.region.span.start().get() + hit.offset.get(), aligned))
}

/// Runs `check` on the example plan in the arena.
fn with_plan(board: &Board, check: fn(&Board, &Layout<'static, 8>, u64, Address) -> Outcome) -> Outcome {
    let (region, start, cpu_start) = arena_window(board)?;
    let (layout, _) = plan_example(board.map, region, start)?;
    check(board, &layout, start, cpu_start)
}

fn plan_matches_the_host(board: &Board, layout: &Layout<'static, 8>, start: u64, _: Address) -> Outcome {
    let (_, summary) = plan_example(board.map, layout.region(layout.windows()[0].region).name, start)?;
    ensure!(summary.exact, "the plan of five segments was not proven optimal");
    ensure!(
        summary.waste() == EXPECTED_WASTE,
        "waste {} where the host plans {}",
        summary.waste(),
        EXPECTED_WASTE
    );
    for &(name, offset) in EXPECTED {
        let s = layout.segment(name).ok_or_else(|| Failure(alloc::format!("no segment `{name}`")))?;
        let got = s.span.start().get() - start;
        ensure!(got == offset, "`{name}` at window offset {got}, the host plans {offset}");
    }
    let report = validate_layout(layout);
    ensure!(report.is_ok(), "validation: {report}");
    Ok(())
}

/// The CPU address of byte `offset` of segment `name`.
fn at(layout: &Layout<'static, 8>, name: &str, offset: u64) -> Result<Address, Failure> {
    let s = layout.segment(name).ok_or_else(|| Failure(alloc::format!("no segment `{name}`")))?;
    let base = layout.cpu_address(s).ok_or_else(|| Failure(alloc::format!("`{name}` has no CPU address")))?;
    Ok(Address::new(base.get() + offset))
}

fn id(layout: &Layout<'static, 8>, name: &str) -> Result<ComponentId, Failure> {
    layout.component(name).ok_or_else(|| Failure(alloc::format!("no component `{name}`")))
}

fn checker_catches_violations(_: &Board, layout: &Layout<'static, 8>, _: u64, _: Address) -> Outcome {
    let physics = id(layout, "physics")?;
    let renderer = id(layout, "renderer")?;
    let audio = id(layout, "audio")?;
    let size = |n: &str| layout.segment(n).map_or(0, |s| s.span.size().get());
    // Allowed: inside its own segment, the shared buffer by each sharer as its list says.
    ensure!(
        layout.check(physics, at(layout, "physics", 0)?, 4, Access::Write).is_ok(),
        "physics writes its own"
    );
    ensure!(
        layout.check(physics, at(layout, "bodies", 0)?, 64, Access::Write).is_ok(),
        "physics writes bodies"
    );
    ensure!(
        layout.check(renderer, at(layout, "bodies", 60)?, 4, Access::Read).is_ok(),
        "renderer reads bodies"
    );
    // A write past the end of physics: its first bad byte is in the guard gap after it.
    let end = at(layout, "physics", size("physics"))?;
    let e = layout
        .check(physics, Address::new(end.get() - 2), 4, Access::Write)
        .err()
        .ok_or_else(|| Failure("a write across the end of physics was allowed".into()))?;
    ensure!(
        e.address == end && matches!(e.kind, ViolationKind::GuardGap { after: "physics", .. }),
        "across the end of physics: {e}"
    );
    // An out-of-segment write: audio into the renderer's segment.
    let target = at(layout, "renderer", 128)?;
    let e = layout
        .check(audio, target, 4, Access::Write)
        .err()
        .ok_or_else(|| Failure("audio wrote into the renderer's segment".into()))?;
    ensure!(
        e.component == "audio"
            && e.address == target
            && e.kind == ViolationKind::OtherSegment { segment: "renderer", owner: "renderer" },
        "audio into renderer: {e}"
    );
    // A non-sharer, and a sharer without the right.
    let bodies = at(layout, "bodies", 8)?;
    let e = layout
        .check(audio, bodies, 4, Access::Read)
        .err()
        .ok_or_else(|| Failure("audio read bodies".into()))?;
    ensure!(e.kind == ViolationKind::NotSharer { segment: "bodies" }, "audio into bodies: {e}");
    let e = layout
        .check(renderer, bodies, 4, Access::Write)
        .err()
        .ok_or_else(|| Failure("renderer wrote bodies".into()))?;
    ensure!(
        e.kind == ViolationKind::WrongPermission { segment: "bodies", allowed: Permissions::READ },
        "renderer writes bodies: {e}"
    );
    Ok(())
}

/// Guard gaps filled and checked through the board's word access, at the CPU addresses the
/// layout gives them (every size and guard of the suite's plans is a multiple of 4, so gaps are
/// whole words; a gap that is not is out of reach).
pub(crate) struct BoardWords<'b> {
    pub(crate) board: &'b Board,
    pub(crate) layout: &'b Layout<'static, 8>,
}

impl BoardWords<'_> {
    fn words(&self, region: u8, span: Span) -> Option<impl Iterator<Item = Address>> {
        let cpu = self.layout.cpu_address_in(region, span.start())?.get();
        let whole = cpu.is_multiple_of(4) && span.size().get().is_multiple_of(4);
        whole.then(|| (0..span.size().get() / 4).map(move |i| Address::new(cpu + 4 * i)))
    }
}

impl GuardMemory for BoardWords<'_> {
    fn fill(&mut self, region: u8, span: Span, byte: u8) -> bool {
        let Some(words) = self.words(region, span) else { return false };
        for a in words {
            // SAFETY: guard gaps of the suite's own static windows, which nothing else uses
            // while a check runs.
            unsafe { (self.board.memory.write32)(a, u32::from_ne_bytes([byte; 4])) };
        }
        true
    }

    fn first_mismatch(&self, region: u8, span: Span, byte: u8) -> Option<Address> {
        let cpu = self.layout.cpu_address_in(region, span.start())?.get();
        self.words(region, span)?
            // SAFETY: as in `fill`.
            .find(|&a| unsafe { (self.board.memory.read32)(a) } != u32::from_ne_bytes([byte; 4]))
            .map(|a| Address::new(span.start().get() + (a.get() - cpu)))
    }
}

fn guard_canaries_catch_stray_writes(
    board: &Board,
    layout: &Layout<'static, 8>,
    _: u64,
    _: Address,
) -> Outcome {
    let mut memory = BoardWords { board, layout };
    let filled = layout.fill_guards(&mut memory);
    let gaps = layout.guards().count() as u64;
    ensure!(filled >= gaps * GUARD.get().min(4), "filled {filled} guard bytes in {gaps} gaps");
    ensure!(layout.damaged_guards(&memory).next().is_none(), "a guard gap is damaged right after the fill");
    // A stray store into the gap after the renderer, as a buffer overrun would make.
    let renderer = layout.segment("renderer").ok_or_else(|| Failure("no renderer".into()))?;
    let stray = at(layout, "renderer", renderer.span.size().get() + 8)?;
    // SAFETY: a guard gap of the arena window: suite memory nothing else uses now.
    unsafe { (board.memory.write32)(stray, 0x0bad_f00d) };
    let mut damaged = layout.damaged_guards(&memory);
    let d = damaged.next().ok_or_else(|| Failure("the stray write went unnoticed".into()))?;
    ensure!(damaged.next().is_none(), "more than one gap reported damaged");
    let expected = renderer.span.end().get() + 8;
    ensure!(
        d.after == "renderer" && d.address.get() == expected,
        "damage reported after `{}` at {}, expected after `renderer` at {}",
        d.after,
        d.address,
        Address::new(expected)
    );
    Ok(())
}

fn dynamic_layout_places_and_frees(board: &Board) -> Outcome {
    let (region, start, _) = arena_window(board)?;
    let mut dynamic: DynamicLayout<'static, 8, 17> = DynamicLayout::new(board.map, GUARD);
    let window = Span::at(start, ByteSize::kib(16));
    dynamic.add_window(region, window).map_err(|e| Failure(alloc::format!("{e}")))?;
    let fail = |e: &dyn core::fmt::Display| Failure(alloc::format!("{e}"));
    for (name, kib) in [("a", 4), ("b", 4), ("c", 4)] {
        dynamic
            .allocate_segment(name, ByteSize::kib(kib), Alignment::of(64), SegmentFlags::NONE)
            .map_err(|e| fail(&e))?;
    }
    // 12 KiB of segments and three 256-byte guards: 3.25 KiB left, not enough for 4 KiB more.
    ensure!(
        dynamic.allocate_segment("d", ByteSize::kib(4), Alignment::of(64), SegmentFlags::NONE).is_err(),
        "a fourth 4 KiB segment fitted in 16 KiB with guards"
    );
    dynamic.remove_component("b").map_err(|e| fail(&e))?;
    let d = dynamic
        .allocate_segment("d", ByteSize::bytes(3 * 1024), Alignment::of(64), SegmentFlags::NONE)
        .map_err(|e| fail(&e))?;
    ensure!(window.contains_span(d.span), "`d` at {} is outside the window", d.span);
    let report = validate_layout(dynamic.layout());
    ensure!(report.is_ok(), "{report}");
    for name in ["a", "c", "d"] {
        dynamic.remove_component(name).map_err(|e| fail(&e))?;
    }
    let whole = dynamic
        .allocate_segment(
            "all",
            ByteSize::bytes(16 * 1024 - GUARD.get()),
            Alignment::of(64),
            SegmentFlags::NONE,
        )
        .map_err(|e| fail(&e))?;
    ensure!(whole.span.start() == window.start(), "the freed window did not come back whole");
    Ok(())
}

/// Times the checker on the example plan: nanoseconds per check, for an allowed access and
/// for a guard-gap hit.
pub fn time(out: &mut dyn Write, board: &Board, clock: &Clock) {
    let Ok((region, start, _)) = arena_window(board) else { return };
    let Ok((layout, _)) = plan_example(board.map, region, start) else { return };
    let (Ok(physics), Ok(inside), Ok(gap)) = (
        id(&layout, "physics"),
        at(&layout, "physics", 64),
        at(&layout, "physics", layout.segment("physics").map_or(0, |s| s.span.size().get()) + 4),
    ) else {
        return;
    };
    for (what, address) in [("allowed", inside), ("guard-hit", gap)] {
        let (mut ticks, mut done) = (0u64, 0u32);
        let enough = u64::from(clock.hz) / 10;
        while (done < 512 || ticks < enough) && done < 1 << 20 {
            let begin = (clock.now)();
            for _ in 0..16 {
                let _ = core::hint::black_box(layout.check(
                    physics,
                    core::hint::black_box(address),
                    4,
                    Access::Write,
                ));
            }
            ticks += u64::from(clock.since(begin));
            done += 16;
        }
        let ns = ticks * 1_000_000_000 / u64::from(clock.hz.max(1)) / u64::from(done);
        let _ = writeln!(
            out,
            "time {} layout-check {what}: {ns} ns per check of {} segments ({done} checks, emulator figure)",
            board.console,
            layout.segments().len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_memory::{Region, RegionKind, View};

    const RAM: Region = Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(1))
        .with_views(&[View::cached("c", 0x8000_0000)]);
    const MAP: MemoryMap = MemoryMap::new("host", &[RAM]);

    #[test]
    fn the_host_plans_what_the_consoles_must() {
        let (layout, summary) = plan_example(&MAP, "ram", 0x4_0000).unwrap();
        let got: alloc::vec::Vec<(&str, u64)> =
            layout.segments().iter().map(|s| (s.name, s.span.start().get() - 0x4_0000)).collect();
        assert_eq!(got, EXPECTED);
        assert_eq!(summary.waste(), EXPECTED_WASTE);
        assert!(summary.exact);
    }
}

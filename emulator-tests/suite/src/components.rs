//! Components built from a plan, on the console: the memory of three components and the buffer
//! two of them share is planned by the layout engine at start-up, each component allocates from
//! a TLSF heap of its own segment, the physics hands frames to the renderer through a ring in
//! the shared region (the renderer reads them in place), and the checker catches, with component
//! and address, what the missing MMU would have: a write into another component's segment, a
//! write across a segment's end into the guard gap (also found by the gap's canary), a write by
//! a component that is not on the shared region's access list, and one by a sharer that may
//! only read.
//!
//! The window is the suite's arena, a static of the image found in the map through its CPU
//! address, so every address here is real and [`report`] prints the console's own.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::alloc::Layout as BlockLayout;
use core::fmt::Write;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use flight_memory::alloc::{RawAllocator, Tlsf};
use flight_memory::layout::guard::CANARY;
use flight_memory::layout::plan::plan;
use flight_memory::layout::ptr::Checked;
use flight_memory::layout::{Access, Layout, SegmentFlags, SegmentRequest, Sharer, Strategy, ViolationKind};
use flight_memory::sync::ring::{self, Consumer, Producer};
use flight_memory::{Address, Alignment, ByteSize, Permissions, Span};

use crate::allocators::arena;
use crate::layout::BoardWords;
use crate::{Board, Failure, Test, ensure};

/// The check.
pub const CHECKS: &[Test] = &[Test::new("components_run_from_a_plan", |b| scenario(b).map(|_| ()))];

/// The guard gap between segments.
const GUARD: ByteSize = ByteSize::bytes(256);
/// The window the components' memory is planned in.
const WINDOW: usize = 14 * 1024;

/// The shared buffer's access list: the physics writes frames, the renderer reads them.
const SHARERS: &[Sharer<'static>] = &[
    Sharer { component: "physics", permissions: Permissions::RW },
    Sharer { component: "renderer", permissions: Permissions::READ },
];

/// The components' segments and the shared ring.
const REQUESTS: &[SegmentRequest<'static>] = &[
    SegmentRequest::new("physics", ByteSize::kib(4)).aligned(Alignment::of(64)),
    SegmentRequest::new("renderer", ByteSize::kib(4)).aligned(Alignment::of(64)),
    SegmentRequest::new("audio", ByteSize::kib(2)).aligned(Alignment::of(64)).with_flags(SegmentFlags::DMA),
    SegmentRequest::shared("physics-to-renderer", ByteSize::kib(2), SHARERS).aligned(Alignment::of(64)),
];

/// One frame the physics hands to the renderer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(C)]
struct Frame {
    number: u32,
    bodies: [[i32; 2]; 6],
}

impl Frame {
    fn new(number: u32) -> Self {
        let mut bodies = [[0; 2]; 6];
        for (i, b) in bodies.iter_mut().enumerate() {
            *b = [number as i32 * 3 + i as i32, -(number as i32) * 7 + i as i32];
        }
        Self { number, bodies }
    }

    fn bytes(&self) -> [u8; 52] {
        let mut out = [0u8; 52];
        out[..4].copy_from_slice(&self.number.to_le_bytes());
        for (i, b) in self.bodies.iter().flatten().enumerate() {
            out[4 + i * 4..8 + i * 4].copy_from_slice(&b.to_le_bytes());
        }
        out
    }
}

/// Runs the components and the deliberate violations; returns each caught violation's text.
pub fn scenario(board: &Board) -> Result<Vec<String>, Failure> {
    // The suite's arena (1 KiB-aligned, used by one check at a time) holds the window.
    let arena = arena();
    let window: &mut [MaybeUninit<u8>] =
        arena.get_mut(..WINDOW).ok_or_else(|| Failure("the arena is too small".into()))?;
    let base = window.as_mut_ptr() as usize;
    let cpu_base = (board.memory.cpu_address)(base);
    let hit = board
        .map
        .resolve(cpu_base)
        .ok_or_else(|| Failure(format!("the window at {cpu_base} is in no view")))?;
    let region = hit.region.name;
    let start = hit.region.span.start().get() + hit.offset.get();

    // The plan: the same engine as `flight plan` on the host.
    let mut layout: Layout<'static, 8> = Layout::new(board.map, GUARD);
    layout
        .add_window(region, Span::at(start, ByteSize::bytes(WINDOW as u64)))
        .map_err(|e| Failure(format!("{e}")))?;
    let mut scratch = [0u64; 16];
    plan(&mut layout, REQUESTS, Strategy::Optimal, &mut scratch)
        .map_err(|e| Failure(format!("plan: {e}")))?;
    let mut words = BoardWords { board, layout: &layout };
    layout.fill_guards(&mut words);

    // A program pointer and a CPU address for each segment.
    let segment = |name: &str| layout.segment(name).ok_or_else(|| Failure(format!("no segment `{name}`")));
    let offset_of = |name: &str| segment(name).map(|s| (s.span.start().get() - start) as usize);
    let id = |name: &str| layout.component(name).ok_or_else(|| Failure(format!("no component `{name}`")));
    let cpu = |p: usize| (board.memory.cpu_address)(p);

    // Each component's heap: a TLSF allocator over its own segment.
    let mut caught = Vec::new();
    for name in ["physics", "renderer", "audio"] {
        let s = segment(name)?;
        let at = offset_of(name)?;
        let bytes = &mut window[at..at + s.span.size().get() as usize];
        let mut heap = Tlsf::new(bytes);
        let who = id(name)?;
        for size in [24usize, 200, 1000, 64] {
            let layout_ = BlockLayout::from_size_align(size, 8).map_err(|_| Failure("layout".into()))?;
            let block = heap.allocate(layout_).map_err(|e| Failure(format!("{name}'s heap: {e}")))?;
            // The component uses its block through a checked pointer: its own heap, allowed.
            // SAFETY: the block is `size` (at least 8) bytes of the window, 8-aligned, used by
            // nothing else.
            let word = unsafe {
                Checked::translated(block.cast::<u64>().as_ptr(), who, &layout, board.memory.cpu_address)
            };
            let value = 0x5eed_0000_0000_0000 | size as u64;
            word.try_write(value)
                .map_err(|v| Failure(format!("a block of {name}'s own heap is refused: {v}")))?;
            ensure!(word.try_read() == Ok(value), "{name}'s heap block does not hold what was written");
        }
    }

    // The ring in the shared region: the physics produces frames, the renderer reads in place.
    let ring_at = offset_of("physics-to-renderer")?;
    let ring_len = segment("physics-to-renderer")?.span.size().get() as usize;
    let ring_ptr =
        NonNull::new(window[ring_at..].as_mut_ptr().cast::<u8>()).ok_or_else(|| Failure("null".into()))?;
    // SAFETY: the shared segment: `ring_len` bytes of the window, 64-aligned, used by these two
    // halves alone until the end of this function.
    let (mut tx, mut rx) = unsafe {
        ring::format(ring_ptr, ring_len).map_err(|e| Failure(format!("ring: {e}")))?;
        (
            Producer::attach(ring_ptr, ring_len).map_err(|e| Failure(format!("producer: {e}")))?,
            Consumer::attach(ring_ptr, ring_len).map_err(|e| Failure(format!("consumer: {e}")))?,
        )
    };
    let (physics, renderer, audio) = (id("physics")?, id("renderer")?, id("audio")?);
    let shared = segment("physics-to-renderer")?;
    let shared_cpu =
        layout.cpu_address(shared).ok_or_else(|| Failure("the shared region has no CPU address".into()))?;
    let shared = shared.span;
    let (mut next_in, mut next_out) = (0u32, 0u32);
    for round in 0..40u32 {
        for _ in 0..(round % 5) {
            let frame = Frame::new(next_in).bytes();
            let mut grant = match tx.reserve(frame.len()) {
                Ok(g) => g,
                Err(_) => break,
            };
            // The physics writes its frame through a checked pointer into the shared region.
            // SAFETY: the grant is `frame.len()` bytes of the ring, this producer's alone until
            // it commits; a byte array needs no alignment.
            let out = unsafe {
                Checked::translated(
                    grant.as_mut_ptr().cast::<[u8; 52]>(),
                    physics,
                    &layout,
                    board.memory.cpu_address,
                )
            };
            out.try_write(frame).map_err(|v| Failure(format!("the physics may not write its frame: {v}")))?;
            grant.commit();
            next_in += 1;
        }
        for _ in 0..(round % 3) {
            let Some(record) = rx.peek().map_err(|e| Failure(format!("peek: {e}")))? else { break };
            let p = record.as_ptr() as usize;
            ensure!(record.len() == 52, "a record of {} bytes", record.len());
            // Read in place, through a checked pointer: the record lies inside the shared
            // region, where the renderer may read and may not write.
            // SAFETY: the record is 52 bytes of the ring, published and not released; a byte
            // array needs no alignment; only reads go through this pointer.
            let view = unsafe {
                Checked::translated(p as *mut [u8; 52], renderer, &layout, board.memory.cpu_address)
            };
            let bytes =
                view.try_read().map_err(|v| Failure(format!("the renderer may not read its frame: {v}")))?;
            ensure!(
                cpu(p).get() >= shared_cpu.get()
                    && cpu(p).get() + record.len() as u64 <= shared_cpu.get() + shared.size().get(),
                "the record at {} is not in the shared region",
                cpu(p)
            );
            ensure!(bytes == Frame::new(next_out).bytes(), "frame {next_out} arrived changed");
            next_out += 1;
            record.release();
        }
    }
    ensure!(next_out > 10 && next_out <= next_in, "only {next_out} of {next_in} frames arrived");

    // The deliberate violations, each an access a component makes through its checked pointer:
    // refused, and nothing is written.
    // 1. The audio writes into the physics' segment.
    let into_physics = base + offset_of("physics")? + 512;
    let target = cpu(into_physics);
    // SAFETY: a word of the window (inside the physics' segment), 4-aligned; the checker
    // refuses the write, so nothing is stored.
    let stray =
        unsafe { Checked::translated(into_physics as *mut u32, audio, &layout, board.memory.cpu_address) };
    // SAFETY: as above; the word is readable.
    let before = unsafe { (board.memory.read32)(target) };
    let v = stray.try_write(0xbad0_a0d1).err().ok_or_else(|| Failure("audio wrote physics".into()))?;
    ensure!(
        v.kind == ViolationKind::OtherSegment { segment: "physics", owner: "physics" } && v.address == target,
        "audio into physics: {v}"
    );
    // SAFETY: as above.
    ensure!(unsafe { (board.memory.read32)(target) } == before, "the refused write reached the physics");
    caught.push(format!("{v}"));
    // 2. A component writes 8 bytes across the end of its segment (the first owned segment
    //    with a neighbour after it, whichever the plan made that): the checker refuses, and the
    //    stray store, made anyway, is found in the guard gap's canary.
    let segments = layout.segments();
    let (overrun, owner) = segments
        .windows(2)
        .find_map(|w| w[0].access.owner().map(|(o, _)| (w[0], o)))
        .ok_or_else(|| Failure("no owned segment has a neighbour".into()))?;
    let end = cpu(base + (overrun.span.end().get() - start) as usize);
    let v = layout
        .check(owner, Address::new(end.get() - 4), 8, Access::Write)
        .err()
        .ok_or_else(|| Failure(format!("`{}` wrote across its end", overrun.name)))?;
    let after = overrun.name;
    ensure!(
        v.address == end && matches!(v.kind, ViolationKind::GuardGap { after: a, .. } if a == after),
        "{v}"
    );
    caught.push(format!("{v}"));
    // SAFETY: the word after the segment is its guard gap, inside the window.
    unsafe { (board.memory.write32)(end, 0x5717_a7e5) };
    let mut damaged = layout.damaged_guards(&words);
    let d = damaged.next().ok_or_else(|| Failure("the stray store went unnoticed".into()))?;
    ensure!(d.after == after && damaged.next().is_none(), "damage after `{}`", d.after);
    caught.push(format!("canary: the guard gap after `{}` was overwritten at {}", d.after, end));
    // Mend the gap for the next run.
    // SAFETY: as above.
    unsafe { (board.memory.write32)(end, u32::from_ne_bytes([CANARY; 4])) };
    // 3. The audio, not a sharer, writes into the shared region; the renderer, a reader, too.
    let ring_word = base + ring_at;
    // SAFETY: the ring's first word, 4-aligned; every write through these pointers is refused.
    let (by_audio, by_renderer) = unsafe {
        (
            Checked::translated(ring_word as *mut u32, audio, &layout, board.memory.cpu_address),
            Checked::translated(ring_word as *mut u32, renderer, &layout, board.memory.cpu_address),
        )
    };
    // SAFETY: as above; the word is readable.
    let before = unsafe { (board.memory.read32)(shared_cpu) };
    let v = by_audio.try_write(0).err().ok_or_else(|| Failure("audio wrote the ring".into()))?;
    ensure!(
        v.kind == ViolationKind::NotSharer { segment: "physics-to-renderer" } && v.address == shared_cpu,
        "{v}"
    );
    caught.push(format!("{v}"));
    let v = by_renderer.try_write(0).err().ok_or_else(|| Failure("the renderer wrote the ring".into()))?;
    ensure!(matches!(v.kind, ViolationKind::WrongPermission { .. }), "{v}");
    caught.push(format!("{v}"));
    // SAFETY: as above.
    ensure!(unsafe { (board.memory.read32)(shared_cpu) } == before, "a refused write reached the ring");
    ensure!(layout.damaged_guards(&words).next().is_none(), "a guard gap stayed damaged");
    Ok(caught)
}

/// Prints each violation the scenario catches: `caught CONSOLE: ...`, with component and
/// address.
pub fn report(out: &mut dyn Write, board: &Board) {
    if let Ok(caught) = scenario(board) {
        for line in caught {
            let _ = writeln!(out, "caught {}: {line}", board.console);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flight_memory::{ImageLayout, MemoryMap, Region, RegionKind, View};

    /// The host's whole user address space as one region, seen at its own addresses.
    const HOST: MemoryMap = MemoryMap::new(
        "host",
        &[Region::cpu("ram", RegionKind::Main, 0, ByteSize::bytes(1 << 47))
            .with_views(&[View::cached("host", 0)])],
    );

    #[test]
    fn the_scenario_catches_each_violation_on_the_host() {
        let none = Span::at(0, ByteSize::ZERO);
        let board = Board {
            console: "host",
            map: &HOST,
            layout: ImageLayout { loaded: none, bss: none, heap: none, stack: none },
            stack_top: Address::new(0),
            sync_cache: |_| {},
            memory: crate::native::MEMORY,
        };
        let caught = scenario(&board).unwrap();
        assert_eq!(caught.len(), 5, "{caught:#?}");
        assert!(caught[0].starts_with("`audio`: write of 4 B reaches 0x"), "{}", caught[0]);
        assert!(caught[0].ends_with("inside `physics`, which belongs to `physics`"), "{}", caught[0]);
        assert!(caught[1].contains(": guard gap between `"), "{}", caught[1]);
        assert!(caught[2].starts_with("canary: the guard gap after `"), "{}", caught[2]);
        assert!(caught[3].ends_with("inside shared `physics-to-renderer`, not a sharer"), "{}", caught[3]);
        assert!(caught[4].contains("`renderer`: write"), "{}", caught[4]);
        // Twice in a row: the gap was mended.
        assert_eq!(scenario(&board).unwrap(), caught);
    }
}

//! The on-console test suite: one `no_std` suite that every console image runs.
//!
//! An image describes its machine in a [`Board`] (the platform's memory map, where the linker
//! put the image, how to keep caches coherent) and calls [`run`] with any checks of its own. The
//! suite's checks compare the memory-map constants with what the hardware answers:
//!
//! - the map validates on the console itself;
//! - `.bss` was cleared by the start-up code and lies where the linker script says;
//! - the stack is where the script says, and the image, `.bss`, heap and stack are in order
//!   inside one region of the map;
//! - every CPU view of main RAM a program may use reaches the same bytes (a write through one is
//!   read back through each other one);
//! - every scratchpad keeps what is written to it, through each of its views;
//! - a heap allocation round trip (a `Vec`, a `Box`, a `String`) lands inside the heap span;
//! - the units' 64-bit arithmetic and formatting give the host's answers on a 32-bit CPU.
//!
//! Results go out in the text [`protocol`].
#![no_std]

extern crate alloc;

pub mod allocators;
pub mod components;
pub mod deliberate;
pub mod layout;
pub mod protocol;
pub mod sync;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::ptr::{addr_of, addr_of_mut};

use flight_memory::{Address, ByteSize, ImageLayout, MemoryMap, RegionKind, Span};

/// Why a check failed, in words.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Failure(pub String);

/// What a check returns.
pub type Outcome = Result<(), Failure>;

/// Fails with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($why:tt)+) => {
        if !$cond {
            return Err($crate::Failure(alloc::format!($($why)+)));
        }
    };
}

/// One check.
#[derive(Clone, Copy)]
pub struct Test {
    /// The name printed in the protocol.
    pub name: &'static str,
    /// The check.
    pub run: fn(&Board) -> Outcome,
    /// `None` if the check applies to this board, else why not (it is then reported as skipped,
    /// never as passed).
    pub applies: fn(&Board) -> Option<&'static str>,
}

impl Test {
    /// A check that applies to every board.
    pub const fn new(name: &'static str, run: fn(&Board) -> Outcome) -> Self {
        Self { name, run, applies: |_| None }
    }

    /// The same check, only where `applies` returns `None`.
    pub const fn when(mut self, applies: fn(&Board) -> Option<&'static str>) -> Self {
        self.applies = applies;
        self
    }
}

/// The machine an image runs on.
pub struct Board {
    /// The console's name, as the summary line prints it (`psx`).
    pub console: &'static str,
    /// The platform's memory map.
    pub map: &'static MemoryMap,
    /// Where the linker put the image (from the linker script's symbols).
    pub layout: ImageLayout,
    /// The initial stack pointer the platform's map promises.
    pub stack_top: Address,
    /// Writes back and invalidates the data cache over a span (no-op where there is none), so
    /// that a write through a cached view is seen through an uncached one.
    pub sync_cache: fn(Span),
    /// How the suite reads and writes memory by CPU address: [`native::MEMORY`] where the
    /// program can name addresses itself; the runtime's imports where it cannot (a program
    /// compiled to WebAssembly sees only its linear memory).
    pub memory: Memory,
}

/// Word access to memory by CPU address, and the CPU address of a pointer of the program.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// Reads a word.
    ///
    /// # Safety
    /// The address must be word-aligned, in a CPU-addressable region of the map, and owned by
    /// the caller (the suite only touches its own statics and the scratchpad).
    pub read32: unsafe fn(Address) -> u32,
    /// Writes a word, under the same conditions as `read32`.
    pub write32: unsafe fn(Address, u32),
    /// The CPU address of a pointer of the program (the identity natively; the linear
    /// memory's base plus the pointer in WebAssembly).
    pub cpu_address: fn(usize) -> Address,
}

/// Memory access for programs compiled for the console's CPU.
pub mod native {
    use flight_memory::Address;

    use crate::Memory;

    /// Volatile loads and stores at the address itself.
    pub const MEMORY: Memory = Memory { read32, write32, cpu_address: |p| Address::new(p as u64) };

    /// # Safety
    /// As [`Memory::read32`].
    unsafe fn read32(a: Address) -> u32 {
        // SAFETY: the caller vouches for the address (Memory::read32's contract).
        unsafe { (a.get() as usize as *const u32).read_volatile() }
    }

    /// # Safety
    /// As [`Memory::write32`].
    unsafe fn write32(a: Address, v: u32) {
        // SAFETY: the caller vouches for the address (Memory::write32's contract).
        unsafe { (a.get() as usize as *mut u32).write_volatile(v) }
    }
}

/// The suite's own checks, in the order they run. `bss_is_zeroed` runs first, before anything
/// could write to the suite's statics.
pub const CHECKS: &[Test] = &[
    Test::new("bss_is_zeroed", bss_is_zeroed),
    Test::new("data_holds_its_initial_values", data_holds_its_initial_values),
    Test::new("map_validates", map_validates),
    Test::new("stack_is_where_the_script_says", stack_is_where_the_script_says),
    Test::new("image_parts_are_ordered_in_main_ram", image_parts_are_ordered_in_main_ram),
    Test::new("ram_views_alias", ram_views_alias).when(|b| {
        match b.map.resolve(cpu(b, addr_of!(ALIAS_PROBE))) {
            Some(hit) if hit.region.views.iter().filter(|v| !v.privileged).count() < 2 => {
                Some("main RAM has a single CPU view a program may use")
            }
            _ => None,
        }
    }),
    Test::new("scratchpad_is_usable", scratchpad_is_usable).when(|b| {
        match b.map.regions_of(RegionKind::Scratchpad).next() {
            None => Some("the map has no scratchpad"),
            Some(_) => None,
        }
    }),
    Test::new("heap_round_trip", heap_round_trip),
    Test::new("units_compute_as_on_the_host", units_compute_as_on_the_host),
];

/// The totals of a run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Summary {
    /// Checks passed.
    pub passed: u32,
    /// Checks failed.
    pub failed: u32,
}

/// Runs the suite's [`CHECKS`], then `extra` (the platform's own), printing the protocol to `out`:
/// the begin marker first, the summary line and the end marker last.
pub fn run(board: &Board, out: &mut dyn Write, extra: &[Test]) -> Summary {
    run_timed(board, out, extra, None)
}

/// Like [`run`], and with a clock, prints before the summary the clock's rate and the timings
/// of the allocators ([`allocators::time`]), the layout checker and the lock and ring.
pub fn run_timed(
    board: &Board,
    out: &mut dyn Write,
    extra: &[Test],
    clock: Option<&allocators::Clock>,
) -> Summary {
    let _ = writeln!(out, "{}", protocol::BEGIN_MARKER);
    let suite = CHECKS.iter().chain(allocators::CHECKS).chain(layout::CHECKS).chain(sync::CHECKS);
    let suite = suite.chain(components::CHECKS);
    let summary = run_checks(board, out, suite.chain(extra));
    components::report(out, board);
    if let Some(clock) = clock {
        let _ = writeln!(out, "time {} clock: {} Hz", board.console, clock.hz);
        allocators::time(out, board.console, clock, 512);
        layout::time(out, board, clock);
        sync::time(out, board.console, clock);
    }
    finish(board, out, summary)
}

/// Runs `tests` in order and prints a protocol line for each (skipped ones are counted
/// neither way); for images with checks of their own instead of the suite's, which print the
/// begin marker first and end with [`finish`].
pub fn run_checks<'a>(
    board: &Board,
    out: &mut dyn Write,
    tests: impl IntoIterator<Item = &'a Test>,
) -> Summary {
    let mut summary = Summary::default();
    for test in tests {
        if let Some(why) = (test.applies)(board) {
            let _ = writeln!(out, "test {} ... skipped: {}", test.name, why);
            continue;
        }
        // Output errors cannot be reported anywhere else: the console is the only channel.
        let _ = match (test.run)(board) {
            Ok(()) => {
                summary.passed += 1;
                writeln!(out, "test {} ... ok", test.name)
            }
            Err(Failure(why)) => {
                summary.failed += 1;
                writeln!(out, "test {} ... FAILED: {}", test.name, why.replace('\n', " "))
            }
        };
    }
    summary
}

/// Prints the summary line and the end marker; returns `summary`.
pub fn finish(board: &Board, out: &mut dyn Write, summary: Summary) -> Summary {
    let _ = writeln!(out, "{}: {} passed, {} failed", board.console, summary.passed, summary.failed);
    let _ = writeln!(out, "{}", protocol::END_MARKER);
    summary
}

/// The CPU address of a pointer of the program.
pub(crate) fn cpu<T: ?Sized>(board: &Board, p: *const T) -> Address {
    (board.memory.cpu_address)(p as *const u8 as usize)
}

/// Never written except by `bss_is_zeroed`, after it has checked it.
static mut BSS_SENTINEL: [u32; 64] = [0; 64];

fn bss_is_zeroed(board: &Board) -> Outcome {
    let at = addr_of_mut!(BSS_SENTINEL);
    let span = Span::new(cpu(board, at), ByteSize::bytes(core::mem::size_of::<[u32; 64]>() as u64));
    ensure!(
        span.is_some_and(|s| board.layout.bss.contains_span(s)),
        "the sentinel at {} is not inside .bss {}",
        cpu(board, at),
        board.layout.bss
    );
    for i in 0..64 {
        // SAFETY: `at` points to a static array of 64 words that only this check touches.
        let word = unsafe { (at as *mut u32).add(i).read_volatile() };
        ensure!(word == 0, "word {i} of a .bss array holds {word:#x}, not 0");
        // SAFETY: as above; writing marks that the check ran (a second run would fail loudly).
        unsafe { (at as *mut u32).add(i).write_volatile(0xdead_0000 | i as u32) };
    }
    Ok(())
}

/// A `.data` array whose every word differs from its neighbours and from zero; never written.
static mut DATA_SENTINEL: [u32; 64] = {
    let mut words = [0; 64];
    let mut i = 0;
    while i < 64 {
        words[i] = 0x5a00_0000 | (i as u32) << 8 | (i as u32 ^ 0xa5);
        i += 1;
    }
    words
};

/// `.data` was loaded where the code looks for it: a loader or packer that shifts it (the PSP's
/// PRX packer does when the module's segments disagree on their file-offset-to-address delta)
/// shows here.
fn data_holds_its_initial_values(board: &Board) -> Outcome {
    let at = addr_of!(DATA_SENTINEL);
    let span = Span::new(cpu(board, at), ByteSize::bytes(core::mem::size_of::<[u32; 64]>() as u64));
    ensure!(
        span.is_some_and(|s| board.layout.loaded.contains_span(s)),
        "the sentinel at {} is not inside the loaded image {}",
        cpu(board, at),
        board.layout.loaded
    );
    for i in 0..64 {
        // SAFETY: `at` points to a static array of 64 words that nothing writes.
        let word = unsafe { (at as *const u32).add(i).read_volatile() };
        let want = 0x5a00_0000 | (i as u32) << 8 | (i as u32 ^ 0xa5);
        ensure!(word == want, "word {i} of a .data array holds {word:#x}, not {want:#x}");
    }
    Ok(())
}

fn map_validates(board: &Board) -> Outcome {
    board.map.validate().map_err(|e| Failure(format!("{e}")))
}

fn stack_is_where_the_script_says(board: &Board) -> Outcome {
    let local = 0u32;
    let here = cpu(board, &local);
    let stack = board.layout.stack;
    ensure!(
        stack.end() == board.stack_top,
        "the script's stack top {} differs from the map's {}",
        stack.end(),
        board.stack_top
    );
    ensure!(stack.contains(here), "a local lives at {here}, outside the stack {stack}");
    Ok(())
}

fn image_parts_are_ordered_in_main_ram(board: &Board) -> Outcome {
    let l = &board.layout;
    ensure!(l.is_ordered(), "image parts overlap or are out of order:\n{l}");
    let first = board.map.resolve(l.loaded.start());
    let last = board.map.resolve(Address::new(l.stack.end().get() - 1));
    match (first, last) {
        (Some(a), Some(b))
            if a.region.kind == RegionKind::Main && a.region == b.region && a.view == b.view =>
        {
            let free = a.region.largest_free_span().map(|s| s.size()).unwrap_or(ByteSize::ZERO);
            ensure!(
                a.offset.get() + (l.stack.end().get() - l.loaded.start().get()) <= a.region.size().get()
                    && l.stack.end().get() - l.loaded.start().get() <= free.get(),
                "the image spans more than the free part of {}",
                a.region.name
            );
            Ok(())
        }
        _ => Err(Failure(format!(
            "the image {}..{} is not inside one main-RAM view",
            l.loaded.start(),
            l.stack.end()
        ))),
    }
}

/// Written through one view of main RAM and read through the others.
static mut ALIAS_PROBE: [u32; 4] = [0; 4];

fn ram_views_alias(board: &Board) -> Outcome {
    let probe = addr_of!(ALIAS_PROBE);
    let at = cpu(board, probe);
    let hit = board.map.resolve(at).ok_or_else(|| Failure(format!("{at} is in no view of the map")))?;
    let mut seed = 0x5a5a_0000u32;
    let usable = || hit.region.views.iter().filter(|v| !v.privileged);
    for writer in usable() {
        for reader in usable() {
            if writer == reader {
                continue;
            }
            seed += 1;
            let w = writer.base.get() + hit.offset.get();
            let r = reader.base.get() + hit.offset.get();
            // SAFETY: both addresses are views of ALIAS_PROBE, a static only this check uses;
            // every view of the region maps the same physical bytes (what the check verifies),
            // and the map says each is CPU-addressable.
            let got = unsafe {
                (board.memory.write32)(Address::new(w), seed);
                (board.sync_cache)(Span::at(at.get(), ByteSize::bytes(16)));
                (board.memory.read32)(Address::new(r))
            };
            ensure!(
                got == seed,
                "wrote {seed:#x} at {} ({}), read {got:#x} at {} ({})",
                Address::new(w),
                writer.name,
                Address::new(r),
                reader.name
            );
        }
    }
    Ok(())
}

fn scratchpad_is_usable(board: &Board) -> Outcome {
    for pad in board.map.regions_of(RegionKind::Scratchpad) {
        let words = pad.size().get() / 4;
        let first = pad.views.first().ok_or_else(|| Failure(format!("{} has no CPU view", pad.name)))?;
        let pattern = |i: u64| (i as u32).wrapping_mul(0x9e37_79b9) ^ 0xa5a5_a5a5;
        for i in 0..words {
            // SAFETY: the map says this region is CPU-addressable RAM of `words` words at this
            // view; no program data lives in it (the linker script never places anything there).
            unsafe { (board.memory.write32)(Address::new(first.base.get() + i * 4), pattern(i)) };
        }
        for view in pad.views {
            for i in 0..words {
                let a = view.base.get() + i * 4;
                // SAFETY: as above, reading back through each view of the same region.
                let got = unsafe { (board.memory.read32)(Address::new(a)) };
                ensure!(
                    got == pattern(i),
                    "{} word {i} read {got:#x} through {} at {}, wrote {:#x}",
                    pad.name,
                    view.name,
                    Address::new(a),
                    pattern(i)
                );
            }
        }
    }
    Ok(())
}

fn heap_round_trip(board: &Board) -> Outcome {
    let heap = board.layout.heap;
    let inside = |p: *const u8, len: usize| {
        Span::new(cpu(board, p), ByteSize::bytes(len as u64)).is_some_and(|s| heap.contains_span(s))
    };
    let mut v: Vec<u32> = Vec::with_capacity(4096);
    v.extend((0..4096u32).map(|i| i.wrapping_mul(2_654_435_761)));
    ensure!(
        inside(v.as_ptr().cast(), 4096 * 4),
        "a Vec landed at {} outside the heap {heap}",
        cpu(board, v.as_ptr())
    );
    ensure!(
        v.iter().enumerate().all(|(i, &x)| x == (i as u32).wrapping_mul(2_654_435_761)),
        "a Vec did not keep its contents"
    );
    let first = v.as_ptr() as usize;
    drop(v);
    let again: Vec<u32> = Vec::with_capacity(4096);
    ensure!(
        again.as_ptr() as usize == first,
        "freed memory was not reused: first block at {first:#x}, next at {:#x}",
        again.as_ptr() as usize
    );
    let b = Box::new([7u8; 1000]);
    ensure!(inside(b.as_ptr(), 1000), "a Box landed outside the heap {heap}");
    ensure!(b.iter().all(|&x| x == 7), "a Box did not keep its contents");
    let s: String = format!("{}+{}", ByteSize::mib(2), Address::new(0x8001_0000));
    ensure!(s == "2 MiB+0x8001_0000", "formatted {s:?}");
    Ok(())
}

fn units_compute_as_on_the_host(_: &Board) -> Outcome {
    // 64-bit arithmetic on a 32-bit CPU, with values fixed on the host.
    let a = Address::new(0x1_2345_6789);
    let s = Span::new(a, ByteSize::bytes(0xFFFF_FFFF)).ok_or_else(|| Failure("span refused".into()))?;
    ensure!(s.end().get() == 0x2_2345_6788, "end {:#x}", s.end().get());
    let mut text = String::new();
    let _ = write!(text, "{} {} {}", s.end(), ByteSize::kib(1536), ByteSize::bytes(3 << 30));
    ensure!(text == "0x2_2345_6788 1536 KiB 3 GiB", "formatted {text:?}");
    ensure!(Span::new(Address::new(u64::MAX), ByteSize::bytes(1)).is_none(), "a wrapping span was accepted");
    Ok(())
}

impl fmt::Debug for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Board").field("console", &self.console).field("layout", &self.layout).finish()
    }
}

//! The WebAssembly side of the SH-4 runtime: what a program compiled to `wasm32` needs to run
//! on the two SH-4 machines.
//!
//! Rust has no SH-4 backend, so programs for these machines are compiled to WebAssembly and
//! translated to C by `wasm2c`; the C runtime in `sh4/` embeds the result. A WebAssembly program
//! sees only its linear memory, so everything else goes through the runtime's imports (module
//! `env`), declared here once:
//!
//! | import | what it does |
//! |---|---|
//! | `console_write(ptr, len)` | writes bytes of linear memory to the SCIF |
//! | `read32(addr)`, `write32(addr, value)` | a 32-bit access at a CPU address, as the CPU does it |
//! | `sync_cache(addr, len)` | writes back and invalidates the operand cache over a CPU span |
//! | `arena_base()` | the CPU address of linear memory offset 0 |
//! | `layout(part)` | the program's data, `.bss`, heap and stack, as offsets |
//! | `machine()` | which machine runs the program |
//! | `micros()` | microseconds since start-up, from TMU channel 0 |
//! | `irq_disable()` | raises SR.IMASK to 15 and returns SR as it was |
//! | `irq_restore(sr)` | sets SR.IMASK back to the mask bits of `sr`, leaving SR's other bits |
//! | `status_register()` | SR, as it is |
//! | `exit(code)` | ends the run with this status |
//! | `breakpoint()` | `trapa #63`: a CPU exception the runtime's reporter prints |
//!
//! This module also provides the panic handler (it prints `panicked at FILE:LINE:COL:` and the
//! message, then exits with status 101), the `run` export the runtime calls (it sets up the
//! global heap and calls the entry function declared with [`entry!`](crate::entry), a
//! `fn() -> !` that ends with [`exit`]), and the `critical-section` implementation. With the
//! `heap` feature the global allocator is this project's TLSF heap over
//! [`image_layout`]`().heap`.
//!
//! # Critical sections
//!
//! A critical section raises the status register's interrupt mask, SR.IMASK, to 15 through
//! `irq_disable`, and sets it back to what it was through `irq_restore`, so sections nest. The
//! SH-4 accepts an interrupt only if its priority is above IMASK: at 15 it accepts none but NMI,
//! and on the one core nothing else can run. IMASK is the SH-4's own means for this; the other
//! candidate, SR.BL, also blocks exceptions, and an exception with BL set resets the CPU
//! instead of reaching the runtime's reporter: a fault inside a section would go unreported. The
//! runtime starts with IMASK at 15 and installs no interrupt handler, so a section normally
//! finds every interrupt masked already; it still masks them itself, so that a lock holds
//! whatever the mask is when it is taken.

use core::fmt;
use core::sync::atomic::{Ordering, compiler_fence};

use flight_memory::{Address, ImageLayout, MemoryMap, Span};

use crate::regs::SR_IMASK;

mod imports {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        /// Writes `len` bytes at `ptr` (linear memory) to the console; the runtime traps if the
        /// bytes are not all inside linear memory.
        pub safe fn console_write(ptr: *const u8, len: usize);
        /// A 32-bit load at a CPU address.
        pub fn read32(addr: u32) -> u32;
        /// A 32-bit store at a CPU address.
        pub fn write32(addr: u32, value: u32);
        /// Writes back and invalidates the operand cache over a CPU span.
        pub safe fn sync_cache(addr: u32, len: u32);
        /// The CPU address of linear memory offset 0.
        pub safe fn arena_base() -> u32;
        /// One number of the program's layout (see `super::Part`).
        pub safe fn layout(part: u32) -> u32;
        /// 0 on the Dreamcast, 1 on the R2D.
        pub safe fn machine() -> u32;
        /// Microseconds since start-up.
        pub safe fn micros() -> u64;
        /// Raises SR.IMASK to 15 (every interrupt but NMI masked); returns SR as it was.
        pub fn irq_disable() -> u32;
        /// Sets SR.IMASK to the IMASK bits of `sr`; SR's other bits stay as they are.
        pub fn irq_restore(sr: u32);
        /// The status register SR.
        pub safe fn status_register() -> u32;
        /// Ends the run with this status.
        pub safe fn exit(code: u32) -> !;
        /// Executes `trapa #63`.
        pub safe fn breakpoint();
    }
}

/// The numbers of the `layout` import, in its order.
#[derive(Clone, Copy)]
enum Part {
    DataStart = 0,
    DataEnd = 1,
    BssEnd = 2,
    HeapStart = 3,
    HeapEnd = 4,
    StackTop = 5,
}

/// The machine a program runs on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Machine {
    /// The Dreamcast (gxemul's `dreamcast` machine).
    Dreamcast,
    /// The Renesas R2D board (qemu's `r2d` machine).
    R2d,
}

impl Machine {
    /// The machine running this program, as the runtime says.
    pub fn current() -> Self {
        if imports::machine() == 1 { Self::R2d } else { Self::Dreamcast }
    }

    /// Its memory map.
    pub fn map(self) -> &'static MemoryMap {
        match self {
            Self::Dreamcast => &crate::map::DREAMCAST,
            Self::R2d => &crate::r2d::R2D,
        }
    }

    /// The console name the suite prints for it: `dreamcast` or `dreamcast-r2d`.
    pub fn console(self) -> &'static str {
        match self {
            Self::Dreamcast => "dreamcast",
            Self::R2d => "dreamcast-r2d",
        }
    }

    /// The peripheral clock the TMU counts from (at a quarter of it), in Hz.
    pub fn peripheral_hz(self) -> u64 {
        match self {
            Self::Dreamcast => crate::regs::DREAMCAST_PERIPHERAL_HZ,
            Self::R2d => crate::regs::R2D_PERIPHERAL_HZ,
        }
    }
}

/// The console: writes go to the SCIF.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        imports::console_write(s.as_ptr(), s.len());
        Ok(())
    }
}

/// The CPU address of linear memory offset 0 (the start of the runtime's arena).
pub fn arena_base() -> Address {
    Address::new(imports::arena_base().into())
}

/// The CPU address of a pointer of this program.
pub fn cpu_address(ptr: usize) -> Address {
    Address::new(u64::from(imports::arena_base()) + ptr as u64)
}

fn offset(part: Part) -> u64 {
    imports::layout(part as u32).into()
}

/// The span between two of the layout's offsets, as CPU addresses (empty if they are out of
/// order; the suite then reports the layout as out of order).
fn span(from: Part, to: Part) -> Span {
    let base = u64::from(imports::arena_base());
    Span::between(base + offset(from), base + offset(to))
}

/// Where this program's parts are, as CPU addresses: its initialised data (`loaded`), its
/// `.bss`, its heap and its stack, all inside the runtime's arena. The data and `.bss` bounds
/// come from the module (the build reads them and the link asserts them), the stack from the
/// runtime, which puts it at the top of linear memory; the heap lies between.
pub fn image_layout() -> ImageLayout {
    ImageLayout {
        loaded: span(Part::DataStart, Part::DataEnd),
        bss: span(Part::DataEnd, Part::BssEnd),
        heap: span(Part::HeapStart, Part::HeapEnd),
        stack: span(Part::HeapEnd, Part::StackTop),
    }
}

/// The initial stack pointer the runtime gave this program, as a CPU address.
pub fn stack_top() -> Address {
    Address::new(u64::from(imports::arena_base()) + offset(Part::StackTop))
}

fn to_u32(a: Address) -> u32 {
    match u32::try_from(a.get()) {
        Ok(a) => a,
        Err(_) => panic!("{a} lies beyond the SH-4's 32-bit address space"),
    }
}

/// Reads a word at a CPU address.
///
/// # Safety
/// The address must be word-aligned (the SH-4 raises an address error otherwise), name memory
/// or a register the machine has, and not be memory the program or the runtime relies on
/// staying unread (a register whose read has side effects).
pub unsafe fn read32(a: Address) -> u32 {
    // SAFETY: the caller vouches for the address (this function's contract).
    unsafe { imports::read32(to_u32(a)) }
}

/// Writes a word at a CPU address.
///
/// # Safety
/// As [`read32`], and the word must belong to the caller: the runtime's code, data, stacks and
/// the rest of linear memory are not to be written this way.
pub unsafe fn write32(a: Address, value: u32) {
    // SAFETY: the caller vouches for the address and the ownership (this function's contract).
    unsafe { imports::write32(to_u32(a), value) }
}

/// Writes back and invalidates the operand cache over a span of CPU addresses.
pub fn sync_cache(span: Span) {
    let len = u32::try_from(span.size().get()).unwrap_or(u32::MAX);
    imports::sync_cache(to_u32(span.start()), len);
}

/// Microseconds since start-up (TMU channel 0 at Pφ/4).
pub fn micros() -> u64 {
    imports::micros()
}

/// The SH-4's status register SR, as it is now (its fields: `regs::SR_*`).
pub fn status_register() -> u32 {
    imports::status_register()
}

/// The interrupt mask level, SR.IMASK (0 to 15), of a value of SR.
pub fn interrupt_mask(sr: u32) -> u8 {
    ((sr & SR_IMASK) >> SR_IMASK.trailing_zeros()) as u8
}

/// Sets SR.IMASK to `level` (0 to 15) and returns the level it had.
///
/// # Safety
/// Lowering the mask admits the interrupts whose priority is above `level`: the caller must
/// know that no source at such a priority is armed (the runtime installs no interrupt
/// handler; an interrupt it takes ends the run as a crash), must not call this inside a
/// critical section (whose exclusion rests on the mask being 15), and must set the level it
/// got back before it enters one or returns to code that expects the runtime's mask.
///
/// # Panics
/// If `level` is above 15.
pub unsafe fn set_interrupt_mask(level: u8) -> u8 {
    assert!(level <= 15, "SR.IMASK has 4 bits: no level {level}");
    let before = interrupt_mask(imports::status_register());
    compiler_fence(Ordering::SeqCst);
    // SAFETY: changes SR.IMASK only; the caller vouches for the interrupts this admits and
    // for the context (this function's contract).
    unsafe { imports::irq_restore(u32::from(level) << SR_IMASK.trailing_zeros()) };
    compiler_fence(Ordering::SeqCst);
    before
}

/// `critical-section` for the SH-4: a section raises SR.IMASK to 15 (every interrupt but NMI
/// masked) and sets it back to its previous level when it ends (see the module docs for why
/// IMASK and not SR.BL). Single core: that excludes every other context.
struct InterruptMask;
critical_section::set_impl!(InterruptMask);

// SAFETY: with SR.IMASK at 15 the only core takes no interrupt (NMI aside, which nothing here
// raises), so no other context runs until the mask comes down; `release` restores exactly the
// mask `acquire` found, so nested sections compose. The compiler fences keep the compiler from
// moving memory accesses across the imports (the runtime's assembly is a barrier on its side).
unsafe impl critical_section::Impl for InterruptMask {
    unsafe fn acquire() -> u32 {
        // SAFETY: raises the mask only; the matching `release` sets it back.
        let sr = unsafe { imports::irq_disable() };
        compiler_fence(Ordering::SeqCst);
        sr
    }

    unsafe fn release(sr: u32) {
        compiler_fence(Ordering::SeqCst);
        // SAFETY: `sr` is what the matching `acquire` returned (critical-section's contract):
        // its IMASK bits are the mask as it was before the section.
        unsafe { imports::irq_restore(sr) }
    }
}

/// Ends the run with `code` as the exit status (the runtime prints `flight-sh4: exit CODE`).
pub fn exit(code: u32) -> ! {
    imports::exit(code)
}

/// Raises a CPU exception (`trapa #63`), which the runtime's reporter prints as
/// `!!! CPU exception: unconditional trap trapa #63 ...` before it ends the run.
pub fn breakpoint() {
    imports::breakpoint()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    flight_rt::report_panic(&mut Console, info);
    exit(101)
}

/// The module's entry point, the `run` export the runtime calls: sets up the global heap, then
/// runs the entry function declared with [`entry!`](crate::entry), which ends the run with
/// [`exit`] (the status `run` would return is never reached).
#[unsafe(no_mangle)]
pub extern "C" fn run() -> u32 {
    #[cfg(feature = "heap")]
    {
        // The heap as the program's pointers see it: offsets into linear memory.
        let heap = Span::between(offset(Part::HeapStart), offset(Part::HeapEnd));
        // SAFETY: the span lies in linear memory between the module's .bss end (its heap base)
        // and the bottom of the stack the runtime placed at the top of memory; nothing else uses
        // it, and the runtime calls `run` once.
        unsafe { flight_rt::heap::init(heap) };
    }
    flight_rt::main()
}

/// The global heap (this project's TLSF), set up over the heap span by `run`.
#[cfg(feature = "heap")]
pub use flight_rt::heap;

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
//! | `exit(code)` | ends the run with this status |
//! | `breakpoint()` | `trapa #63`: a CPU exception the runtime's reporter prints |
//!
//! This module also provides the panic handler (it prints `panicked at FILE:LINE:COL:` and the
//! message, then exits with status 101) and [`entry!`](crate::entry), which defines the `run`
//! export the runtime calls. The global allocator is the image's choice: its heap is
//! [`image_layout`]`().heap`.

use core::fmt;

use flight_memory::{Address, ByteSize, ImageLayout, MemoryMap, Span};

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
    let (start, end) = (offset(from), offset(to));
    Span::at(u64::from(imports::arena_base()) + start, ByteSize::bytes(end.saturating_sub(start)))
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
    use core::fmt::Write;
    match info.location() {
        Some(l) => {
            let _ = writeln!(Console, "panicked at {}:{}:{}:", l.file(), l.line(), l.column());
        }
        None => {
            let _ = writeln!(Console, "panicked at an unknown location:");
        }
    }
    let _ = writeln!(Console, "{}", info.message());
    exit(101)
}

/// Defines the program's entry point, the `run` export the runtime calls: `$main` is a
/// `fn() -> u32` whose result becomes the exit status (0 for success).
///
/// ```ignore
/// flight_platform_dreamcast::entry!(main);
/// fn main() -> u32 { 0 }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The entry point the runtime calls; its result is the exit status.
        #[unsafe(no_mangle)]
        pub extern "C" fn run() -> u32 {
            let main: fn() -> u32 = $main;
            main()
        }
    };
}

//! The PlayStation's port of the shared wasm-rt (`rt/wasm2c`), on which C translated from
//! WebAssembly by wasm2c runs inside a Rust image.
//!
//! The shared runtime asks its port for three things; on this console Rust answers them:
//! - where the one linear memory lives (`flight_wasm_arena`): the span the image handed to
//!   [`give_arena`] before instantiating the module;
//! - what to do with a fatal runtime error, a trap no handler catches, a failed C `assert` or
//!   an `abort`: each panics, so the runners read the usual panic report;
//! - the two libgcc helpers compiler-builtins lacks (`__popcountsi2`, `__popcountdi2`).
//!
//! Its C half is `c/` in this crate's folder: `setjmp`/`longjmp` for the R3000 (the traps) and
//! `setjmp.h`. Images compile it, the shared wasm-rt and their modules with the flags of
//! `targets/psx.toml`'s `[c]` table (see `emulator-tests/images/psx/build.rs`). Calls into the
//! module that may trap go through C functions that set a handler (`FLIGHT_WASM_TRY`) and return
//! the [`Trap`]; a trap unwinds only C frames, never Rust ones.

use core::cell::Cell;
use core::ffi::{CStr, c_char, c_int};

use critical_section::Mutex;

/// A WebAssembly page.
pub const PAGE: usize = 65536;

/// The arena: its first byte and its size in whole pages (0 until one is given).
static ARENA: Mutex<Cell<(usize, u32)>> = Mutex::new(Cell::new((0, 0)));

/// Why an arena cannot hold linear memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArenaError {
    /// Shorter than one 64 KiB page.
    TooSmall,
    /// Not 8-byte aligned (the generated code's 64-bit loads and stores expect that of
    /// offset 0).
    Misaligned,
}

/// Hands linear memory its place: the module's memory starts at `arena[0]` and may grow over
/// as many whole 64 KiB pages as `arena` holds (a tail shorter than a page is left unused).
/// Call it before instantiating the module; a later call moves nothing already instantiated.
/// Returns the number of pages.
pub fn give_arena(arena: &'static mut [u8]) -> Result<u32, ArenaError> {
    let pages = arena.len() / PAGE;
    if pages == 0 {
        return Err(ArenaError::TooSmall);
    }
    if !(arena.as_ptr() as usize).is_multiple_of(8) {
        return Err(ArenaError::Misaligned);
    }
    let pages = pages as u32;
    critical_section::with(|cs| ARENA.borrow(cs).set((arena.as_mut_ptr() as usize, pages)));
    Ok(pages)
}

/// The arena given, as (first byte, pages), if one was.
pub fn arena() -> Option<(*mut u8, u32)> {
    let (base, pages) = critical_section::with(|cs| ARENA.borrow(cs).get());
    (pages != 0).then_some((base as *mut u8, pages))
}

/// A trap of the WebAssembly code (wabt 1.0.32's `wasm_rt_trap_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trap {
    /// A memory or table access out of bounds.
    OutOfBounds,
    /// Integer overflow on a division or a float-to-integer truncation.
    IntegerOverflow,
    /// Integer division by zero.
    DivideByZero,
    /// A NaN converted to an integer.
    InvalidConversion,
    /// `unreachable` executed.
    Unreachable,
    /// `call_indirect` through a null or out-of-range entry, or with the wrong type.
    CallIndirect,
    /// An exception nobody caught.
    UncaughtException,
    /// The call stack's depth limit reached.
    Exhaustion,
}

impl Trap {
    /// The trap a nonzero code of the C runtime stands for; `None` for 0 (no trap) or a code
    /// it does not define.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => Self::OutOfBounds,
            2 => Self::IntegerOverflow,
            3 => Self::DivideByZero,
            4 => Self::InvalidConversion,
            5 => Self::Unreachable,
            6 => Self::CallIndirect,
            7 => Self::UncaughtException,
            8 => Self::Exhaustion,
            _ => return None,
        })
    }
}

/// A C string from the runtime, for a report.
///
/// # Safety
/// `s` is null or points to a NUL-terminated string.
unsafe fn text<'a>(s: *const c_char) -> &'a str {
    if s.is_null() {
        return "?";
    }
    // SAFETY: the caller vouches for the string.
    unsafe { CStr::from_ptr(s) }.to_str().unwrap_or("(not UTF-8)")
}

#[unsafe(no_mangle)]
extern "C" fn flight_wasm_arena(pages: *mut u32) -> *mut u8 {
    let Some((base, n)) = arena() else {
        panic!("wasm-rt: no arena for linear memory: call wasm2c::give_arena before instantiating");
    };
    // SAFETY: the shared wasm-rt passes a pointer to a local u32.
    unsafe { pages.write(n) };
    base
}

#[unsafe(no_mangle)]
extern "C" fn flight_wasm_fatal(msg: *const c_char) -> ! {
    // SAFETY: the runtime passes string literals.
    panic!("wasm-rt: fatal: {}", unsafe { text(msg) })
}

#[unsafe(no_mangle)]
extern "C" fn flight_wasm_uncaught_trap(code: u32) -> ! {
    panic!("wasm-rt: trap {:?} (code {code}) with no handler (FLIGHT_WASM_TRY)", Trap::from_code(code))
}

#[unsafe(no_mangle)]
extern "C" fn flight_wasm_assert_fail(expr: *const c_char, file: *const c_char, line: c_int) -> ! {
    // SAFETY: assert() passes string literals.
    let (expr, file) = unsafe { (text(expr), text(file)) };
    panic!("wasm-rt: C assertion failed: {expr} at {file}:{line}")
}

#[unsafe(no_mangle)]
extern "C" fn abort() -> ! {
    panic!("wasm-rt: abort() called from C")
}

// The libgcc helpers GCC calls for `__builtin_popcount` (wasm2c's `popcnt`) on a CPU without a
// population-count instruction. Rust's compiler-builtins, which provides every other helper
// the C needs (64-bit division and shifts, soft float, clz/ctz), has none; Debian's libgcc for
// this triple is MIPS32r2 with hard float and must not be linked. LLVM expands `count_ones`
// inline here, so these call nothing themselves.

#[unsafe(no_mangle)]
extern "C" fn __popcountsi2(x: u32) -> c_int {
    x.count_ones() as c_int
}

#[unsafe(no_mangle)]
extern "C" fn __popcountdi2(x: u64) -> c_int {
    x.count_ones() as c_int
}

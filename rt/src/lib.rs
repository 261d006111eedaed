//! What every console runtime shares, so that a console's own runtime (`platform-*/src/rt.rs`)
//! writes only its start-up, its output, its halt and its critical section:
//!
//! - [`entry!`] declares the program's entry function, `fn() -> !`, and [`main`] is how the
//!   console's start-up calls it once the machine is set up;
//! - [`report_panic`] writes the panic report the test runners recognise
//!   (`panicked at FILE:LINE:COL:` and the message), to whatever output the console has;
//! - with the `heap` feature, the `heap` module is the global allocator: this project's TLSF heap behind
//!   a critical section, handed its memory by the start-up code.
#![no_std]

use core::fmt;
use core::panic::PanicInfo;

/// Declares the program's entry function: `entry!(main);` with `fn main() -> !`. The console's
/// runtime calls it through [`main`] once the machine is set up; the program ends through the
/// console's own exit or halt.
///
/// ```ignore
/// flight_platform_psx::entry!(main);
/// fn main() -> ! {
///     flight_platform_psx::bios::print("hello\n");
///     loop {}
/// }
/// ```
#[macro_export]
macro_rules! entry {
    ($path:path) => {
        #[unsafe(export_name = "__flight_main")]
        fn __flight_main() -> ! {
            let f: fn() -> ! = $path;
            f()
        }
    };
}

unsafe extern "Rust" {
    /// The program's entry function, defined by [`entry!`].
    fn __flight_main() -> !;
}

/// Runs the program's entry function: the last step of a console's start-up. A program that
/// declared none fails to link (`__flight_main` is undefined).
#[inline]
pub fn main() -> ! {
    // SAFETY: `entry!` defines this symbol with exactly the signature declared above, and only
    // `entry!` defines it (its name is reserved to this crate).
    unsafe { __flight_main() }
}

/// Writes the panic report the test runners recognise: `panicked at FILE:LINE:COL:` (or
/// `panicked at an unknown location:`) on one line, the message on the next.
pub fn report_panic(out: &mut impl fmt::Write, info: &PanicInfo<'_>) {
    let _ = match info.location() {
        Some(l) => writeln!(out, "panicked at {}:{}:{}:", l.file(), l.line(), l.column()),
        None => writeln!(out, "panicked at an unknown location:"),
    };
    let _ = writeln!(out, "{}", info.message());
}

#[cfg(feature = "heap")]
pub mod heap {
    //! The global allocator: this project's TLSF heap ([`GlobalHeap`]) behind the console's
    //! critical section, empty until the start-up code hands it its memory with [`init`].

    use flight_memory::Span;
    use flight_memory::alloc::{GlobalHeap, RawAllocator, Stats};

    #[global_allocator]
    static HEAP: GlobalHeap = GlobalHeap::empty();

    /// Hands the global heap the memory `span` covers (addresses as the program's pointers
    /// see them); returns the bytes it could use.
    ///
    /// # Safety
    /// The memory must be valid for reads and writes for the rest of the program and used by
    /// nothing else (the span the linker script reserves for the heap), and the same memory
    /// must not be handed over twice.
    pub unsafe fn init(span: Span) -> usize {
        // SAFETY: the caller's contract is `GlobalHeap::add`'s.
        unsafe { HEAP.add(span) }
    }

    /// The global heap's counters.
    pub fn stats() -> Stats {
        HEAP.with(|heap| heap.stats())
    }
}

#[cfg(feature = "wasm2c")]
pub mod wasm2c {
    //! What every console's port of the shared wasm-rt (`rt/wasm2c`) answers the same way,
    //! for C translated from WebAssembly by wasm2c inside a Rust image: a fatal runtime error,
    //! a trap no handler catches, a failed C `assert` or an `abort` each panic, so the runners
    //! read the usual panic report; and the two libgcc helpers compiler-builtins lacks
    //! (`__popcountsi2`, `__popcountdi2`). Where linear memory lives is the console's
    //! (`flight_wasm_arena`), unless the memory is placed (merged components).

    use core::ffi::{CStr, c_char, c_int};

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

    /// The text of a line the frame loop of merged components hands its port
    /// (`flight_console_write`): its `len` bytes from `text`, or a note where they are not
    /// UTF-8.
    ///
    /// # Safety
    /// `text` points to `len` readable bytes that stay unchanged while the result is used.
    pub unsafe fn console_line<'a>(text: *const c_char, len: u32) -> &'a str {
        // SAFETY: the caller vouches for the bytes.
        let bytes = unsafe { core::slice::from_raw_parts(text.cast::<u8>(), len as usize) };
        core::str::from_utf8(bytes).unwrap_or("(a line that is not UTF-8)\n")
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
}

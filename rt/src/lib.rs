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

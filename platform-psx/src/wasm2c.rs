//! The PlayStation's port of the shared wasm-rt (`rt/wasm2c`), on which C translated from
//! WebAssembly by wasm2c runs inside a Rust image.
//!
//! The shared runtime asks its port for three things; on this console Rust answers them:
//! - where the one linear memory lives (`flight_wasm_arena`): the span the image handed to
//!   [`give_arena`] before instantiating the module;
//! - what to do with a fatal runtime error, a trap no handler catches, a failed C `assert` or
//!   an `abort`, and the libgcc helpers compiler-builtins lacks: as every console's Rust port
//!   does ([`flight_rt::wasm2c`], whose [`Trap`] this module re-exports).
//!
//! Its C half is the MIPS consoles' `setjmp`/`longjmp` (the traps) and `setjmp.h`, in
//! `rt/wasm2c/mips`. Images compile it, the shared wasm-rt and their modules with the flags of
//! `targets/psx.toml`'s `[c]` table (see `emulator-tests/images/psx/build.rs`). Calls into the
//! module that may trap go through C functions that set a handler (`FLIGHT_WASM_TRY`) and return
//! the [`Trap`]; a trap unwinds only C frames, never Rust ones.

use core::cell::Cell;

use critical_section::Mutex;
pub use flight_rt::wasm2c::Trap;

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

#[unsafe(no_mangle)]
extern "C" fn flight_wasm_arena(pages: *mut u32) -> *mut u8 {
    let Some((base, n)) = arena() else {
        panic!("wasm-rt: no arena for linear memory: call wasm2c::give_arena before instantiating");
    };
    // SAFETY: the shared wasm-rt passes a pointer to a local u32.
    unsafe { pages.write(n) };
    base
}

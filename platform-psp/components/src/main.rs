//! The PSP's runtime for merged components: what `flight build --console psp` links with the C
//! that wasm2c wrote for the merged modules, the shared wasm-rt and its frame loop
//! (`rt/wasm2c`), and the plan's linker fragment.
//!
//! A PSP program is a relocatable module: the kernel, not the linker, chooses where it lives.
//! So before any component runs, the runtime asks the kernel for each of the plan's budgets at
//! its address (`sceKernelAllocPartitionMemory`, `PSP_SMEM_Addr`), and stops with a sentence
//! naming the address if the kernel cannot give it. Rust gives the C the module runtime
//! (`flight_platform_psp`), the console, the clock, the wasm-rt port (`flight_rt::wasm2c`:
//! fatal errors as panics) and, through compiler-builtins, the double-precision and 64-bit
//! helpers; Debian's libgcc for this triple is MIPS32r2 and is never linked.
#![no_std]
#![no_main]

use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};
use core::fmt::Write;

use critical_section::Mutex;
use flight_platform_psp::rt::{self, Console};
use flight_platform_psp::sys;

flight_platform_psp::entry!(main);

/// A window of the merged memory (`flight-components.h`'s `struct flight_window`).
#[repr(C)]
struct Window {
    start: u32,
    end: u32,
    cpu: usize,
}

unsafe extern "C" {
    /// The frame loop (`rt/wasm2c/src/frames.c`).
    fn flight_components_main() -> c_int;
    /// The plan's window `i` (from the table `flight build` writes), or null past the last.
    fn flight_budget(i: u32) -> *const Window;
}

/// The kernel's user partition.
const USER_PARTITION: i32 = 2;

/// Reserves each of the plan's budgets at its address; panics with a sentence naming the budget
/// the kernel would not give (the runners read the panic report).
fn reserve_budgets() {
    for i in 0.. {
        // SAFETY: the frame loop's accessor takes any index.
        let w = unsafe { flight_budget(i) };
        if w.is_null() {
            break;
        }
        // SAFETY: non-null, it points into the table's constant array of windows.
        let w = unsafe { &*w };
        let size = w.end - w.start;
        let (first, last) = (w.cpu, w.cpu + size as usize);
        // SAFETY: a system call given a string literal and plain values.
        let id = unsafe {
            sys::alloc_partition_memory(
                USER_PARTITION,
                c"flight budget".as_ptr(),
                sys::BlockPlace::At,
                size,
                w.cpu as *mut c_void,
            )
        };
        if id < 0 {
            panic!(
                "the plan's budget {first:#010x}..{last:#010x} cannot be reserved: the kernel refused \
                 (error {:#010x}); part of it is in use (this module, its heap and stack, or the \
                 kernel's): move the budget (its `start` in the spec)",
                id as u32
            );
        }
        // SAFETY: a system call given the block the kernel just returned.
        let head = unsafe { sys::sceKernelGetBlockHeadAddr(id) } as usize;
        assert!(
            head == w.cpu,
            "the plan's budget {first:#010x}..{last:#010x}: the kernel gave a block at {head:#010x} instead"
        );
    }
}

fn main() -> ! {
    reserve_budgets();
    // SAFETY: the frame loop is C with no precondition; the memory it places the modules in is
    // the budgets just reserved.
    unsafe { flight_components_main() };
    rt::exit()
}

#[unsafe(no_mangle)]
extern "C" fn flight_console_write(text: *const c_char, len: u32) {
    // SAFETY: the frame loop passes a buffer of `len` bytes it owns, unchanged until it returns.
    let _ = Console.write_str(unsafe { flight_rt::wasm2c::console_line(text, len) });
}

/// The last reading of the system time's low word, and the microseconds counted so far.
static TICKS: Mutex<Cell<(u32, u64)>> = Mutex::new(Cell::new((0, 0)));

/// The kernel's microsecond clock extended to 64 bits (its low word wraps every 71 minutes).
#[unsafe(no_mangle)]
extern "C" fn flight_ticks() -> u64 {
    let now = rt::micros();
    critical_section::with(|cs| {
        let cell = TICKS.borrow(cs);
        let (last, total) = cell.get();
        let total = total + u64::from(now.wrapping_sub(last));
        cell.set((now, total));
        total
    })
}

#[unsafe(no_mangle)]
extern "C" fn flight_ticks_hz() -> u32 {
    1_000_000
}

#[unsafe(no_mangle)]
extern "C" fn flight_console_name() -> *const c_char {
    c"psp".as_ptr()
}

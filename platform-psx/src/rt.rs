//! The run-time: start-up code, exception reporter, panic handler, critical sections and the
//! global heap.
//!
//! Start-up (`_start`, placed first in the image by `psx.ld`):
//! 1. `$gp` from `_gp`, `$sp` from `_stack_top`;
//! 2. `.bss` cleared a word at a time, the output [mailbox](crate::mailbox) set up;
//! 3. interrupts masked (`I_MASK` = 0, `SR.IEc` = 0): the runtime owns the exception vector,
//!    and every exception that reaches it is reported as a crash;
//! 4. the exception vector at 0x8000_0080 pointed at the reporter, the instruction cache flushed;
//! 5. with the `heap` feature, the global allocator set over `__heap_start..__heap_end`;
//! 6. the image's entry function, declared with [`entry!`](crate::entry) (`flight_rt`'s).
//!
//! A crash prints `!!! CPU exception: ...` with the cause, EPC and bad address; a panic prints
//! `panicked at FILE:LINE:COL:` and its message. Both then stop the CPU in a loop: the test
//! runner recognises both texts.

use core::arch::{asm, global_asm};
use core::fmt::Write;

use flight_memory::{Address, ImageLayout, Span};

use crate::bios::{self, Console};
use crate::regs;

global_asm!(
    r#"
    .section .text.start, "ax"
    .global _start
    .set noreorder
_start:
    la      $gp, _gp
    la      $sp, _stack_top
    la      $t0, __bss_start
    la      $t1, __bss_end
1:  beq     $t0, $t1, 2f
    nop
    sw      $zero, 0($t0)
    b       1b
    addiu   $t0, $t0, 4
2:  jal     __flight_start
    nop
3:  b       3b
    nop

    .section .text.flight_vector, "ax"
    .global __flight_vector
    .global __flight_vector_end
__flight_vector:
    la      $k0, __flight_exception
    jr      $k0
    nop
__flight_vector_end:

    .section .text.flight_exception, "ax"
__flight_exception:
    la      $sp, _stack_top
    mfc0    $a0, $13
    mfc0    $a1, $14
    mfc0    $a2, $8
    jal     __flight_exception_report
    nop
4:  b       4b
    nop
    .set reorder
"#
);

unsafe extern "C" {
    static __image_start: u8;
    static __image_end: u8;
    static __bss_start: u8;
    static __bss_end: u8;
    static __heap_start: u8;
    static __heap_end: u8;
    static __stack_bottom: u8;
    static _stack_top: u8;
    static __flight_vector: u32;
    static __flight_vector_end: u32;
}

/// A span between two linker symbols.
fn between(start: &u8, end: &u8) -> Span {
    Span::between(start as *const u8 as usize as u64, end as *const u8 as usize as u64)
}

/// Where the linker put this image's parts (read from `psx.ld`'s symbols).
pub fn image_layout() -> ImageLayout {
    // SAFETY: only the addresses of these linker-defined symbols are taken; they are never read.
    unsafe {
        ImageLayout {
            loaded: between(&__image_start, &__image_end),
            bss: between(&__bss_start, &__bss_end),
            heap: between(&__heap_start, &__heap_end),
            stack: between(&__stack_bottom, &_stack_top),
        }
    }
}

/// The MIPS general exception vector in KSEG0.
const EXCEPTION_VECTOR: usize = crate::map::KSEG0 as usize + 0x80;

#[unsafe(no_mangle)]
extern "C" fn __flight_start() -> ! {
    crate::mailbox::guest::init();
    interrupts_off();
    // SAFETY: the vector stub is 4 words of position-independent code (an absolute `la` and a
    // `jr`) linked into .text; 0x8000_0080 is the R3000's general exception vector, inside the
    // first 64 KiB of RAM, which the BIOS owns but leaves to the running program for this purpose.
    // Interrupts are off, so no exception can arrive while it is half written.
    unsafe {
        let mut src = &raw const __flight_vector;
        let end = &raw const __flight_vector_end;
        let mut dst = EXCEPTION_VECTOR as *mut u32;
        while src < end {
            dst.write_volatile(src.read());
            src = src.add(1);
            dst = dst.add(1);
        }
    }
    bios::flush_cache();
    // SAFETY: the span is memory the linker script reserves for this heap alone (asserted
    // there), and this runs once, before anything allocates.
    #[cfg(feature = "heap")]
    unsafe {
        heap::init(image_layout().heap)
    };
    flight_rt::main()
}

/// Masks every interrupt source and clears `SR.IEc`.
fn interrupts_off() {
    // SAFETY: the interrupt controller is a fixed hardware block; writing 0 to I_MASK only
    // disables interrupt sources.
    unsafe { regs::interrupts().mask.write(0) };
    // SAFETY: `irq_disable` only clears SR.IEc.
    unsafe { irq_disable() };
}

/// Clears SR.IEc and returns whether it was set.
///
/// # Safety
/// Changes the CPU's interrupt state; the caller restores it as its protocol requires.
unsafe fn irq_disable() -> bool {
    let sr: u32;
    // SAFETY: reads SR, clears bit 0 (IEc) and writes it back (the register allocator may hand out
    // $at, hence `noat`); the two nops cover the R3000's
    // COP0 write hazard before the next instruction may take an interrupt.
    unsafe {
        asm!(
            ".set noat",
            "mfc0 {sr}, $12",
            "nop",
            "and {tmp}, {sr}, {mask}",
            "mtc0 {tmp}, $12",
            "nop",
            "nop",
            ".set at",
            sr = out(reg) sr,
            tmp = out(reg) _,
            mask = in(reg) !1u32,
        );
    }
    sr & 1 != 0
}

/// Sets SR.IEc.
///
/// # Safety
/// Only to restore a state saved by [`irq_disable`].
unsafe fn irq_enable() {
    // SAFETY: sets SR.IEc only; the caller restores a state that had it set.
    unsafe {
        asm!(
            ".set noat",
            "mfc0 {sr}, $12",
            "nop",
            "ori {sr}, {sr}, 1",
            "mtc0 {sr}, $12",
            "nop",
            "nop",
            ".set at",
            sr = out(reg) _,
        );
    }
}

/// `critical-section` for the PSX: the R3000 has no atomic instructions, so a critical section
/// masks interrupts (SR.IEc) and restores the previous state when it ends. Single core: that
/// excludes every other context.
struct InterruptMask;
critical_section::set_impl!(InterruptMask);

// SAFETY: masking interrupts on the only core excludes every other execution context; release
// restores exactly the state acquire saved, so nested sections compose.
unsafe impl critical_section::Impl for InterruptMask {
    unsafe fn acquire() -> u32 {
        // SAFETY: the matching `release` restores the state.
        u32::from(unsafe { irq_disable() })
    }

    unsafe fn release(was_enabled: u32) {
        if was_enabled != 0 {
            // SAFETY: interrupts were enabled when the section began.
            unsafe { irq_enable() }
        }
    }
}

/// Names of the R3000 exception codes (Cause bits 2..6).
fn exception_name(code: u32) -> &'static str {
    match code {
        0 => "interrupt",
        4 => "address error on load",
        5 => "address error on store",
        6 => "bus error on fetch",
        7 => "bus error on data",
        8 => "syscall",
        9 => "breakpoint",
        10 => "reserved instruction",
        11 => "coprocessor unusable",
        12 => "arithmetic overflow",
        _ => "unknown",
    }
}

#[unsafe(no_mangle)]
extern "C" fn __flight_exception_report(cause: u32, epc: u32, bad_vaddr: u32) -> ! {
    let code = (cause >> 2) & 0x1f;
    let _ = writeln!(
        Console,
        "!!! CPU exception: {} (code {}) at epc {}, bad address {}, cause {:#010x}",
        exception_name(code),
        code,
        Address::new(epc.into()),
        Address::new(bad_vaddr.into()),
        cause
    );
    halt()
}

/// Stops here for good: the PlayStation has no way to end a program, so the CPU spins (the
/// test runner ends the emulator once it has read the end marker).
pub fn halt() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: nothing else runs once a panic has started; masking interrupts keeps it so.
    unsafe { irq_disable() };
    flight_rt::report_panic(&mut Console, info);
    halt()
}

/// The global heap (this project's TLSF), set up over `__heap_start..__heap_end` at start-up.
#[cfg(feature = "heap")]
pub use flight_rt::heap;

//! BIOS calls: console output through the A0h function table.
//!
//! A BIOS function is called by jumping to 0xA0 (table A) with its number in `$t1`; it returns
//! to `$ra` and may clobber every caller-saved register. Emulators print what `putchar` writes
//! on their TTY output (pcsxr: `-psxout`).

use core::arch::asm;
use core::fmt;

/// The table A dispatcher.
const TABLE_A: u32 = 0xA0;
/// Table A: write one character to the TTY.
const A0_PUTCHAR: u32 = 0x3C;
/// Table A: flush the instruction cache.
const A0_FLUSH_CACHE: u32 = 0x44;

/// Calls table A function `number` with one argument and returns its result.
///
/// # Safety
/// The function must be one that takes at most one argument, and that argument must be what
/// it expects (a pointer argument must point to memory the function may read or write).
#[inline(never)]
pub unsafe fn call_a0(number: u32, arg: u32) -> u32 {
    let result: u32;
    // SAFETY: the BIOS table A dispatcher at 0xA0 stays resident for the whole life of a PS-EXE;
    // the caller vouches for the function and its argument. The call follows
    // the C ABI: every caller-saved register is declared clobbered and `$ra` is restored.
    unsafe {
        asm!(
            ".set noreorder",
            "move $16, $31",
            "jalr $10",
            "nop",
            "move $31, $16",
            ".set reorder",
            // Registers by number (Rust names no MIPS aliases): $10 = t2, $9 = t1, $4 = a0,
            // $2 = v0. `$ra` may not be an operand: it is kept in $16 (s0, which the BIOS
            // preserves) across the call. The rest are the other caller-saved registers.
            inout("$10") TABLE_A => _,
            inout("$9") number => _,
            inout("$4") arg => _,
            out("$2") result,
            out("$16") _,
            out("$3") _, out("$5") _, out("$6") _, out("$7") _,
            out("$8") _, out("$11") _, out("$12") _, out("$13") _,
            out("$14") _, out("$15") _, out("$24") _, out("$25") _,
        );
    }
    result
}

/// Writes one byte to the BIOS TTY.
pub fn putchar(byte: u8) {
    // SAFETY: putchar takes a character by value.
    unsafe { call_a0(A0_PUTCHAR, u32::from(byte)) };
}

/// Flushes the instruction cache (after writing code, such as an exception vector, to RAM).
pub fn flush_cache() {
    // SAFETY: FlushCache takes no argument.
    unsafe { call_a0(A0_FLUSH_CACHE, 0) };
}

/// Writes `text` to the BIOS TTY and, with the runtime, to the output
/// [mailbox](crate::mailbox).
pub fn print(text: &str) {
    text.bytes().for_each(putchar);
    #[cfg(feature = "rt")]
    crate::mailbox::guest::push(text.as_bytes());
}

/// The console (BIOS TTY and mailbox) as a `core::fmt::Write` sink: `writeln!(Console, "...")`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        print(s);
        Ok(())
    }
}

//! The SH-4's on-chip registers the runtime and the checks use, as P4 addresses. Both machines
//! (the Dreamcast's SH7750 and the R2D's SH7751R) have them at the same addresses.
//!
//! The runtime (`sh4/rt/machine.c`) restates the ones it drives; programs compiled to
//! WebAssembly read them through the runtime's `read32` import.

/// TMU: timer start register (8 bits; bit 0 starts channel 0).
pub const TMU_TSTR: u64 = 0xFFD8_0004;
/// TMU channel 0: constant register (the reload value).
pub const TMU_TCOR0: u64 = 0xFFD8_0008;
/// TMU channel 0: counter (32 bits, counting down at Pφ/4 from start-up).
pub const TMU_TCNT0: u64 = 0xFFD8_000C;
/// TMU channel 0: control register (16 bits).
pub const TMU_TCR0: u64 = 0xFFD8_0010;

/// SCIF: serial control register (16 bits; bit 5 is the transmitter enable).
pub const SCIF_SCSCR2: u64 = 0xFFE8_0008;
/// SCIF: FIFO data count register (16 bits; bits 12..8 count bytes waiting to be sent).
pub const SCIF_SCFDR2: u64 = 0xFFE8_001C;

/// Exception event register: the code of the last exception.
pub const EXPEVT: u64 = 0xFF00_0024;
/// TRAPA exception register: the `trapa` immediate, shifted left by 2.
pub const TRA: u64 = 0xFF00_0020;
/// TLB exception address register: the address an address error or TLB miss concerns.
pub const TEA: u64 = 0xFF00_000C;

/// SR, the status register (a CPU register, not memory-mapped: the runtime's
/// `status_register` import reads it): the interrupt mask level IMASK, bits 7..4. The CPU
/// accepts an interrupt only if its priority is above IMASK; at 15 it accepts none but NMI.
pub const SR_IMASK: u32 = 0x0000_00F0;
/// SR: FPU disable bit.
pub const SR_FD: u32 = 1 << 15;
/// SR: exception and interrupt block bit (an exception while it is set resets the CPU).
pub const SR_BL: u32 = 1 << 28;
/// SR: general register bank select (privileged mode).
pub const SR_RB: u32 = 1 << 29;
/// SR: processor mode (1: privileged).
pub const SR_MD: u32 = 1 << 30;

/// The peripheral clock Pφ of the Dreamcast's SH7750, in Hz (the TMU counts at Pφ/4).
pub const DREAMCAST_PERIPHERAL_HZ: u64 = 50_000_000;
/// The peripheral clock of the R2D's SH7751R as qemu clocks its TMU, in Hz.
pub const R2D_PERIPHERAL_HZ: u64 = 60_000_000;

//! A deliberate crash, for the runner's own tests: a permanently undefined instruction raises a
//! UsageFault, escalated to HardFault (no fault handlers are enabled), which the image reports.
#![no_std]
#![no_main]

use core::fmt::Write;

use cortex_m_rt::entry;
use flight_images_cortex_m::Console;

#[entry]
fn main() -> ! {
    let _ = writeln!(Console, "{}", flight_suite::protocol::BEGIN_MARKER);
    let _ = write!(Console, "test undefined_instruction ... ");
    // SAFETY: none needed for soundness of the program's state: `udf` never returns; the fault
    // handler reports it and ends the run.
    unsafe { core::arch::asm!("udf #0") };
    loop {
        cortex_m::asm::wfi();
    }
}

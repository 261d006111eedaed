//! The no-MMU reference target: an LM3S6965 (Cortex-M3) in qemu, with semihosting.
//!
//! Its map, its board description for the shared suite, console output through semihosting,
//! the panic handler and the HardFault reporter. A run ends with a semihosting exit whose status
//! is the result (0 when every test passed), which becomes qemu's exit status.
#![no_std]

extern crate alloc;

use core::fmt::{self, Write};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{ExceptionFrame, exception};
use cortex_m_semihosting::{debug, hio, nr};
use flight_memory::{Address, ByteSize, ImageLayout, MemoryMap, Region, RegionKind, Span, View};
use flight_suite::allocators::Clock;
use flight_suite::{Board, Summary};

/// 256 KiB of flash at 0: code and read-only data.
pub const FLASH: Region = Region::cpu("flash", RegionKind::Rom, 0, ByteSize::kib(256))
    .with_views(&[View::uncached("code", 0)])
    .read_only();
/// 64 KiB of SRAM.
pub const SRAM: Region = Region::cpu("sram", RegionKind::Main, 0x2000_0000, ByteSize::kib(64))
    .with_views(&[View::uncached("sram", 0x2000_0000)]);
/// The on-chip peripherals.
pub const PERIPHERALS: Region = Region::cpu("peripherals", RegionKind::Io, 0x4000_0000, ByteSize::mib(1))
    .with_views(&[View::uncached("apb-ahb", 0x4000_0000)])
    .registers();
/// The Cortex-M private peripheral bus (SysTick, NVIC, SCB).
pub const PPB: Region = Region::cpu("ppb", RegionKind::Io, 0xE000_0000, ByteSize::mib(1))
    .with_views(&[View::uncached("ppb", 0xE000_0000)])
    .registers();
/// The board's map.
pub const MAP: MemoryMap = MemoryMap::new("lm3s6965", &[FLASH, SRAM, PERIPHERALS, PPB]);

/// The stack cortex-m-rt starts with: the top of SRAM.
pub const STACK_TOP: u64 = 0x2000_0000 + 64 * 1024;
/// The part of SRAM below the stack top that the heap leaves to the stack.
pub const STACK_SIZE: ByteSize = ByteSize::kib(8);

unsafe extern "C" {
    static __sdata: u8;
    static __edata: u8;
    static __sbss: u8;
    static __ebss: u8;
    static __sheap: u8;
    static _stack_start: u8;
}

fn symbol(s: &u8) -> u64 {
    s as *const u8 as usize as u64
}

/// Where cortex-m-rt's `link.x` put this image's RAM parts.
pub fn image_layout() -> ImageLayout {
    // SAFETY: only the addresses of linker-defined symbols are taken; they are never read.
    let (sdata, edata, sbss, ebss, sheap, top) = unsafe {
        (
            symbol(&__sdata),
            symbol(&__edata),
            symbol(&__sbss),
            symbol(&__ebss),
            symbol(&__sheap),
            symbol(&_stack_start),
        )
    };
    let stack_bottom = top - STACK_SIZE.get();
    ImageLayout {
        loaded: Span::between(sdata, edata),
        bss: Span::between(sbss, ebss),
        heap: Span::between(sheap, stack_bottom),
        stack: Span::between(stack_bottom, top),
    }
}

/// Sets up the global heap (`flight_rt`'s TLSF) over the layout's heap span. Call once, first
/// thing in `main`.
pub fn init_heap() {
    // SAFETY: the span runs from cortex-m-rt's `__sheap` (after .bss) to the stack reserve;
    // nothing else uses it, and this runs once before any allocation.
    unsafe { flight_rt::heap::init(image_layout().heap) };
}

/// This board as the suite sees it.
pub fn board() -> Board {
    Board {
        console: "cortex-m",
        map: &MAP,
        layout: image_layout(),
        stack_top: Address::new(STACK_TOP),
        // No data cache on a Cortex-M3.
        sync_cache: |_: Span| {},
        memory: flight_suite::native::MEMORY,
    }
}

/// SysTick counts down through 24 bits.
const SYSTICK_MODULUS: u32 = 1 << 24;

/// SysTick as a count that goes up, wrapping at 2^24.
fn systick() -> u32 {
    (SYSTICK_MODULUS - 1) - SYST::get_current()
}

/// The host's time since qemu started, in ticks of [`host_hz`] (semihosting `SYS_ELAPSED`).
fn host_ticks() -> Option<u64> {
    let mut block = [0u32; 2];
    // SAFETY: SYS_ELAPSED writes two words, low word first, to the block its argument points
    // at; the block is a live local array of two words for the whole call.
    let status = unsafe { cortex_m_semihosting::syscall1(nr::ELAPSED, block.as_mut_ptr() as usize) };
    (status == 0).then(|| u64::from(block[0]) | u64::from(block[1]) << 32)
}

/// The rate of [`host_ticks`] (semihosting `SYS_TICKFREQ`).
fn host_hz() -> Option<u64> {
    // SAFETY: SYS_TICKFREQ takes no argument block and returns the rate, or -1.
    let hz = unsafe { cortex_m_semihosting::syscall1(nr::TICKFREQ, 0) };
    (hz != usize::MAX && hz != 0).then_some(hz as u64)
}

/// The suite's clock: SysTick on the core clock, its rate measured against the host's clock
/// over 50 ms (qemu derives the core clock from the board's clock registers, so it is measured
/// rather than assumed). `Err` names what is missing: the timings are then not printed, and
/// the runner's test fails on their absence.
pub fn clock() -> Result<Clock, &'static str> {
    let mut peripherals = cortex_m::Peripherals::take().ok_or("the core peripherals are already taken")?;
    let syst = &mut peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(SYSTICK_MODULUS - 1);
    syst.clear_current();
    syst.enable_counter();
    let host_hz = host_hz().ok_or("semihosting SYS_TICKFREQ failed")?;
    let begin = host_ticks().ok_or("semihosting SYS_ELAPSED failed")?;
    let (mut last, mut counted) = (systick(), 0u64);
    loop {
        let now = systick();
        counted += u64::from(now.wrapping_sub(last) & (SYSTICK_MODULUS - 1));
        last = now;
        let host = host_ticks().ok_or("semihosting SYS_ELAPSED failed")? - begin;
        if host >= (host_hz / 20).max(1) {
            let hz = u32::try_from(counted * host_hz / host).map_err(|_| "SysTick runs faster than 4 GHz")?;
            return if hz == 0 {
                Err("SysTick does not count")
            } else {
                Ok(Clock { now: systick, hz, modulus: SYSTICK_MODULUS })
            };
        }
    }
}

/// Semihosting console output (qemu prints it on its standard output).
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut out = hio::hstdout().map_err(|()| fmt::Error)?;
        out.write_all(s.as_bytes()).map_err(|()| fmt::Error)
    }
}

/// Ends the run: semihosting exit with success when every test passed.
pub fn exit(summary: Summary) -> ! {
    debug::exit(if summary.failed == 0 && summary.passed > 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    cortex_m::interrupt::disable();
    flight_rt::report_panic(&mut Console, info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    let _ = writeln!(
        Console,
        "!!! CPU exception: HardFault at pc {}, lr {}",
        Address::new(frame.pc().into()),
        Address::new(frame.lr().into())
    );
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

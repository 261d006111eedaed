//! The module runtime: module info, the syslib exports, `module_start`, console output, the
//! panic handler, critical sections and the global heap.
//!
//! The kernel loads the module (a relocatable PRX packed in an EBOOT.PBP), finds
//! `module_info` through `.rodata.sceModuleInfo`, and starts `module_start` in a thread of its
//! own. `module_start` sets up the heap and calls the image's entry function, declared with
//! [`entry!`](crate::entry). A panic prints `panicked at FILE:LINE:COL:` and its message and ends
//! the program, as [`exit`] does.

use core::arch::global_asm;
use core::ffi::c_void;
use core::fmt;

use flight_memory::{ByteSize, ImageLayout, Span};

use crate::sys;

global_asm!(
    r#"
    .set push
    .set noreorder

    .section .rodata.sceModuleInfo, "aR", @progbits
    .p2align 2
    .globl module_info
    .type module_info, @object
module_info:
    .hword 0x0000              # attributes: user mode
    .byte 1, 1                 # version: minor, major
0:  .ascii "flight"            # name, 27 characters and a NUL at most
    .space 28 - (. - 0b)
    .word _gp
    .word __flight_lib_ent_top
    .word __flight_lib_ent_bottom
    .word __flight_lib_stub_top
    .word __flight_lib_stub_bottom
    .size module_info, . - module_info

    .section .lib.ent.top, "aR", @progbits
    .p2align 2
    .word 0
__flight_lib_ent_top:
    .section .lib.ent.btm, "aR", @progbits
    .p2align 2
__flight_lib_ent_bottom:
    .word 0

    .section .lib.stub.top, "aR", @progbits
    .p2align 2
    .word 0
__flight_lib_stub_top:
    .section .lib.stub.btm, "aR", @progbits
    .p2align 2
__flight_lib_stub_bottom:
    .word 0

    # The syslib export table: module_start and module_info, by their NIDs.
    .section .lib.ent, "aR", @progbits
    .p2align 2
    .word 0                    # library name: none (syslib)
    .hword 0x0000              # version
    .hword 0x8000              # attributes: syslib
    .byte 4                    # entry length, words
    .byte 1                    # variables
    .hword 1                   # functions
    .word __flight_syslib_table

    .section .rodata.sceResident, "aR", @progbits
    .p2align 2
__flight_syslib_table:
    .word 0xD632ACDB           # module_start
    .word 0xF01D73A7           # module_info
    .word module_start
    .word module_info

    # prxgen assumes one file-offset/address delta for every segment: start the first one on a
    # 16-byte boundary.
    .section .text.flight_align, "axR", @progbits
    .p2align 4

    .set pop
"#
);

unsafe extern "C" {
    static __heap_start: u8;
    static __heap_end: u8;
    static __flight_image_start: u8;
    static __flight_bss_start: u8;
}

#[unsafe(no_mangle)]
extern "C" fn module_start(_args: usize, _argp: *const c_void) -> i32 {
    // SAFETY: the span is memory the linker script reserves for this heap alone (asserted
    // there), and this runs once, before anything allocates.
    #[cfg(feature = "heap")]
    unsafe {
        heap::init(heap_span())
    };
    flight_rt::main()
}

fn symbol(s: &u8) -> u64 {
    s as *const u8 as usize as u64
}

fn heap_span() -> Span {
    // SAFETY: only the addresses of linker-defined symbols are taken.
    unsafe { Span::between(symbol(&__heap_start), symbol(&__heap_end)) }
}

/// Where the kernel put this module's parts: code and data (from the module's first byte to
/// `_gp`'s data), `.bss`, the heap the script reserves, and the stack of the calling thread (as
/// the kernel reports it).
pub fn image_layout() -> ImageLayout {
    // SAFETY: only the addresses of linker-defined symbols are taken.
    let (start, bss_start, bss_end) =
        unsafe { (symbol(&__flight_image_start), symbol(&__flight_bss_start), symbol(&__heap_start)) };
    let heap = heap_span();
    let stack = thread_stack().unwrap_or(Span::at(heap.end().get(), ByteSize::ZERO));
    ImageLayout {
        loaded: Span::between(start, bss_start),
        bss: Span::between(bss_start, bss_end),
        heap,
        stack,
    }
}

/// The calling thread's stack, as the kernel reports it.
pub fn thread_stack() -> Option<Span> {
    let mut info = core::mem::MaybeUninit::<sys::ThreadInfo>::zeroed();
    // SAFETY: `info` is a zeroed ThreadInfo with its size field set; the kernel writes at most
    // that many bytes.
    let ok = unsafe {
        (*info.as_mut_ptr()).size = core::mem::size_of::<sys::ThreadInfo>() as u32;
        sys::sceKernelReferThreadStatus(sys::sceKernelGetThreadId(), info.as_mut_ptr()) >= 0
    };
    // SAFETY: zero-initialised, and filled in by the kernel when `ok`.
    let info = unsafe { info.assume_init() };
    let size = u64::try_from(info.stack_size).ok()?;
    ok.then(|| Span::between(info.stack.into(), u64::from(info.stack) + size))
}

/// Microseconds since the system started (wraps after about 71 minutes).
pub fn micros() -> u32 {
    // SAFETY: a system call with no arguments.
    unsafe { sys::sceKernelGetSystemTimeLow() }
}

/// Free user memory and the largest free block, as the kernel reports them.
pub fn free_memory() -> (ByteSize, ByteSize) {
    // SAFETY: system calls with no arguments.
    unsafe {
        (
            ByteSize::bytes(sys::sceKernelTotalFreeMemSize().into()),
            ByteSize::bytes(sys::sceKernelMaxFreeMemSize().into()),
        )
    }
}

/// Writes back and invalidates the data cache over `span`.
pub fn sync_cache(span: Span) {
    // SAFETY: the kernel only touches cache lines of the range; any range is accepted.
    unsafe {
        sys::sceKernelDcacheWritebackInvalidateRange(
            span.start().get() as usize as *const c_void,
            span.size().get() as u32,
        )
    }
}

/// Ends the program.
pub fn exit() -> ! {
    Console.flush();
    // SAFETY: a system call with no arguments; it does not return.
    unsafe { sys::sceKernelExitGame() };
    loop {
        core::hint::spin_loop();
    }
}

/// Standard output, a line per write: PPSSPP and PSPLink show each write as one message, so
/// text is gathered until a newline.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

/// The line being gathered.
struct Line {
    bytes: [u8; 256],
    len: usize,
}

static LINE: critical_section::Mutex<core::cell::RefCell<Line>> =
    critical_section::Mutex::new(core::cell::RefCell::new(Line { bytes: [0; 256], len: 0 }));

fn write_out(bytes: &[u8]) {
    if !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of its length for the duration of the call.
        unsafe { sys::sceIoWrite(sys::sceKernelStdout(), bytes.as_ptr().cast(), bytes.len()) };
    }
}

impl Console {
    /// Writes out a partial line.
    pub fn flush(&self) {
        critical_section::with(|cs| {
            let mut line = LINE.borrow_ref_mut(cs);
            let len = line.len;
            write_out(&line.bytes[..len]);
            line.len = 0;
        });
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        critical_section::with(|cs| {
            let mut line = LINE.borrow_ref_mut(cs);
            for &b in s.as_bytes() {
                let len = line.len;
                line.bytes[len] = b;
                line.len += 1;
                if b == b'\n' || line.len == line.bytes.len() {
                    let len = line.len;
                    write_out(&line.bytes[..len]);
                    line.len = 0;
                }
            }
        });
        Ok(())
    }
}

/// `critical-section` for the PSP: suspends interrupts through the kernel and restores the
/// saved state at the end. The Allegrex is the only CPU running user code, so that excludes
/// every other context of the program.
struct SuspendInterrupts;
critical_section::set_impl!(SuspendInterrupts);

// SAFETY: suspending interrupts on the only CPU that runs the program excludes every other
// context; release restores exactly the state acquire saved, so nested sections compose.
unsafe impl critical_section::Impl for SuspendInterrupts {
    unsafe fn acquire() -> u32 {
        // SAFETY: a system call with no arguments; the state is restored by `release`.
        unsafe { sys::sceKernelCpuSuspendIntr() }
    }

    unsafe fn release(state: u32) {
        // SAFETY: `state` came from `acquire`.
        unsafe { sys::sceKernelCpuResumeIntr(state) }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut out = Console;
    out.flush();
    flight_rt::report_panic(&mut out, info);
    exit()
}

/// The global heap (this project's TLSF), set up over the heap the linker script reserves.
#[cfg(feature = "heap")]
pub use flight_rt::heap;

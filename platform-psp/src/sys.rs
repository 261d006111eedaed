//! The kernel functions a module imports, as stubs the loader patches into system calls.
//!
//! Each imported library is one 20-byte entry in `.lib.stub` (name, flags and version, entry
//! length 5 words, function count, NID table, stub table); each function is one NID word in
//! `.rodata.sceNid` and one 8-byte `jr $ra; nop` stub in `.sceStub.text`, which the loader
//! rewrites into a `syscall`. Every section carries the "R" flag so `--gc-sections` keeps it.

use core::arch::{asm, global_asm};
use core::ffi::c_void;

global_asm!(
    r#"
    .set push
    .set noreorder

    .macro FLIGHT_IMPORT_LIB lib, flags
        .section .rodata.sceResident, "aR", @progbits
    __flight_libname_\lib:
        .asciz "\lib"
        .p2align 2
        .section .lib.stub, "aR", @progbits
        .p2align 2
        .word __flight_libname_\lib
        .word \flags
        .hword 5
        .hword (__flight_nids_end_\lib - __flight_nids_\lib) / 4
        .word __flight_nids_\lib
        .word __flight_stubs_\lib
        .section .rodata.sceNid, "aR", @progbits
        .p2align 2
    __flight_nids_\lib:
        .section .sceStub.text, "axR", @progbits
        .p2align 3
    __flight_stubs_\lib:
    .endm

    .macro FLIGHT_IMPORT_FUNC nid, name
        .section .rodata.sceNid, "aR", @progbits
        .word \nid
        .section .sceStub.text, "axR", @progbits
        .globl \name
        .type \name, @function
    \name:
        jr $ra
        nop
        .size \name, 8
    .endm

    .macro FLIGHT_IMPORT_END lib
        .section .rodata.sceNid, "aR", @progbits
    __flight_nids_end_\lib:
    .endm

    FLIGHT_IMPORT_LIB StdioForUser, 0x40010000
    FLIGHT_IMPORT_FUNC 0xA6BAB2E9, sceKernelStdout
    FLIGHT_IMPORT_END StdioForUser

    FLIGHT_IMPORT_LIB IoFileMgrForUser, 0x40010000
    FLIGHT_IMPORT_FUNC 0x42EC03AC, sceIoWrite
    FLIGHT_IMPORT_END IoFileMgrForUser

    FLIGHT_IMPORT_LIB LoadExecForUser, 0x40010000
    FLIGHT_IMPORT_FUNC 0x05572A5F, sceKernelExitGame
    FLIGHT_IMPORT_END LoadExecForUser

    FLIGHT_IMPORT_LIB SysMemUserForUser, 0x40000000
    FLIGHT_IMPORT_FUNC 0xF919F628, sceKernelTotalFreeMemSize
    FLIGHT_IMPORT_FUNC 0xA291F107, sceKernelMaxFreeMemSize
    FLIGHT_IMPORT_FUNC 0x237DBD4F, sceKernelAllocPartitionMemory
    FLIGHT_IMPORT_FUNC 0x9D9A5BA1, sceKernelGetBlockHeadAddr
    FLIGHT_IMPORT_END SysMemUserForUser

    FLIGHT_IMPORT_LIB Kernel_Library, 0x00010000
    FLIGHT_IMPORT_FUNC 0x092968F4, sceKernelCpuSuspendIntr
    FLIGHT_IMPORT_FUNC 0x5F10D406, sceKernelCpuResumeIntr
    FLIGHT_IMPORT_END Kernel_Library

    FLIGHT_IMPORT_LIB InterruptManager, 0x40000000
    FLIGHT_IMPORT_FUNC 0xCA04A2B9, sceKernelRegisterSubIntrHandler
    FLIGHT_IMPORT_FUNC 0xFB8E22EC, sceKernelEnableSubIntr
    FLIGHT_IMPORT_FUNC 0xD61E6961, sceKernelReleaseSubIntrHandler
    FLIGHT_IMPORT_END InterruptManager

    FLIGHT_IMPORT_LIB ThreadManForUser, 0x40010000
    FLIGHT_IMPORT_FUNC 0x369ED59D, sceKernelGetSystemTimeLow
    FLIGHT_IMPORT_FUNC 0x293B45B8, sceKernelGetThreadId
    FLIGHT_IMPORT_FUNC 0x17C1684E, sceKernelReferThreadStatus
    FLIGHT_IMPORT_END ThreadManForUser

    FLIGHT_IMPORT_LIB UtilsForUser, 0x40010000
    FLIGHT_IMPORT_FUNC 0x34B9FA9E, sceKernelDcacheWritebackInvalidateRange
    FLIGHT_IMPORT_END UtilsForUser

    .set pop
"#
);

/// The sub-interrupt of the display's vertical blank.
pub const VBLANK_INTERRUPT: i32 = 30;

/// What `sceKernelReferThreadStatus` fills in (the first fields are enough here; `size` says
/// how much of it the kernel may write).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ThreadInfo {
    /// The size of this structure, set by the caller.
    pub size: u32,
    /// The thread's name.
    pub name: [u8; 32],
    /// Attributes.
    pub attr: u32,
    /// Status.
    pub status: i32,
    /// Entry point.
    pub entry: u32,
    /// The lowest address of the thread's stack.
    pub stack: u32,
    /// The stack's size.
    pub stack_size: i32,
    /// The thread's `$gp`.
    pub gp: u32,
    /// Initial priority.
    pub init_priority: i32,
    /// Current priority.
    pub current_priority: i32,
    /// Wait type.
    pub wait_type: i32,
    /// Wait ID.
    pub wait_id: i32,
    /// Wakeup count.
    pub wakeup_count: i32,
    /// Exit status.
    pub exit_status: i32,
    /// Run clocks (low, high).
    pub run_clocks: [u32; 2],
    /// Interrupt preemptions.
    pub intr_preempt_count: u32,
    /// Thread preemptions.
    pub thread_preempt_count: u32,
    /// Release count.
    pub release_count: u32,
}

unsafe extern "C" {
    /// The file descriptor of standard output.
    pub fn sceKernelStdout() -> i32;
    /// Writes `size` bytes to a file descriptor.
    pub fn sceIoWrite(fd: i32, data: *const c_void, size: usize) -> i32;
    /// Ends the program.
    pub fn sceKernelExitGame();
    /// Free user memory, in bytes.
    pub fn sceKernelTotalFreeMemSize() -> u32;
    /// The largest free block of user memory, in bytes.
    pub fn sceKernelMaxFreeMemSize() -> u32;
    /// The stub of `sceKernelAllocPartitionMemory`, which takes five arguments: call it
    /// through [`alloc_partition_memory`], which passes the fifth where the kernel reads it.
    fn sceKernelAllocPartitionMemory();
    /// The first byte of block `id`.
    pub fn sceKernelGetBlockHeadAddr(id: i32) -> *mut c_void;
    /// Suspends interrupts; returns the state to give to `sceKernelCpuResumeIntr`.
    pub fn sceKernelCpuSuspendIntr() -> u32;
    /// Restores the interrupt state `sceKernelCpuSuspendIntr` returned.
    pub fn sceKernelCpuResumeIntr(flags: u32);
    /// Registers a handler for sub-interrupt `sub` of interrupt `intr`.
    pub fn sceKernelRegisterSubIntrHandler(
        intr: i32,
        sub: i32,
        handler: *const c_void,
        arg: *mut c_void,
    ) -> i32;
    /// Enables a registered sub-interrupt handler.
    pub fn sceKernelEnableSubIntr(intr: i32, sub: i32) -> i32;
    /// Removes a sub-interrupt handler.
    pub fn sceKernelReleaseSubIntrHandler(intr: i32, sub: i32) -> i32;
    /// The low 32 bits of the system time, in microseconds.
    pub fn sceKernelGetSystemTimeLow() -> u32;
    /// The calling thread's ID.
    pub fn sceKernelGetThreadId() -> i32;
    /// Fills `info` for thread `thid`.
    pub fn sceKernelReferThreadStatus(thid: i32, info: *mut ThreadInfo) -> i32;
    /// Writes back and invalidates the data cache over a range.
    pub fn sceKernelDcacheWritebackInvalidateRange(p: *const c_void, size: u32);
}

/// Where [`alloc_partition_memory`] puts the block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum BlockPlace {
    /// The lowest free place (`PSP_SMEM_Low`).
    Low = 0,
    /// The highest free place (`PSP_SMEM_High`).
    High = 1,
    /// At the address given, or nowhere (`PSP_SMEM_Addr`).
    At = 2,
}

/// `sceKernelAllocPartitionMemory`: allocates `size` bytes of partition `partition` (2: user
/// memory) as a block named `name`, placed as `place` says (`addr` for [`BlockPlace::At`]).
/// Returns the block's ID, or a negative error code.
///
/// The kernel takes a fifth argument in `$t0`, as the PSP's own ABI passes it; Rust's o32 would
/// put it on the stack, where the kernel never looks. So the stub is called here with the five
/// arguments in `$a0`-`$a3` and `$t0`, every register a system call may change marked as
/// changed, and `$ra` kept across it.
///
/// # Safety
/// `name` points to a NUL-terminated string.
pub unsafe fn alloc_partition_memory(
    partition: i32,
    name: *const core::ffi::c_char,
    place: BlockPlace,
    size: u32,
    addr: *mut c_void,
) -> i32 {
    let id: i32;
    // SAFETY: the stub becomes a system call that reads $a0-$a3 and $t0 and returns in $v0; it
    // may change the caller-saved registers, all declared here; the caller vouches for `name`.
    unsafe {
        asm!(
            "move $16, $31",
            "jalr {stub}",
            "nop",
            "move $31, $16",
            stub = in(reg) sceKernelAllocPartitionMemory as *const (),
            inout("$4") partition => _,
            inout("$5") name => _,
            inout("$6") place as i32 => _,
            inout("$7") size => _,
            inout("$8") addr => _,
            lateout("$2") id,
            lateout("$3") _,
            lateout("$9") _,
            lateout("$10") _,
            lateout("$11") _,
            lateout("$12") _,
            lateout("$13") _,
            lateout("$14") _,
            lateout("$15") _,
            lateout("$24") _,
            lateout("$25") _,
            lateout("$f0") _,
            lateout("$f1") _,
            lateout("$f2") _,
            lateout("$f3") _,
            lateout("$f4") _,
            lateout("$f5") _,
            lateout("$f6") _,
            lateout("$f7") _,
            lateout("$f8") _,
            lateout("$f9") _,
            lateout("$f10") _,
            lateout("$f11") _,
            lateout("$f12") _,
            lateout("$f13") _,
            lateout("$f14") _,
            lateout("$f15") _,
            lateout("$f16") _,
            lateout("$f17") _,
            lateout("$f18") _,
            lateout("$f19") _,
            // $ra, which the call sets, is kept in $s0 (which the kernel keeps) and put back.
            out("$16") _,
        );
    }
    id
}

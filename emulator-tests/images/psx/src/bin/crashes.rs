//! A deliberate crash, for the runner's own tests.
#![no_std]
#![no_main]
#![feature(asm_experimental_arch)]

use flight_platform_psx::bios::print;

flight_platform_psx::entry!(main);

fn main() -> ! {
    print("syscall\n");
    unsafe { core::arch::asm!("li $4, 0x55", "syscall", "nop", out("$4") _) };
    print("after syscall\n");
    let p = 0x8010_0001usize as *const u32;
    let v = unsafe { p.read_volatile() };
    print("after unaligned load\n");
    unsafe { core::arch::asm!("break", "nop") };
    print("after break\n");
    let v2 = unsafe { (0x1f00_0000usize as *const u32).read_volatile() };
    print("after expansion read\n");
    let f: extern "C" fn() = unsafe { core::mem::transmute(0x0100_0000usize + (v & 0 ^ v2 & 0) as usize) };
    f();
    print("after bad jump\n");
    loop {}
}

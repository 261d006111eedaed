//! WebAssembly → C → PlayStation: a WebAssembly module (`wasm/test.wat`), translated to C by
//! wasm2c and compiled by the console's C toolchain (see `build.rs`), linked into this Rust
//! image with the shared wasm-rt and the platform's port of it
//! (`flight_platform_psx::wasm2c`). Rust instantiates the module in memory it allocated and
//! calls its exports; the module calls back into Rust through its imports. Every expected
//! value is stated here or computed by the compiler on the host (`const` items), never on the
//! console. The checks print the suite's text protocol, and a timing of calls in the console's
//! timer ticks before the summary.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt::Write;
use core::hint::black_box;

use flight_images_psx::{board, clock};
use flight_platform_psx::bios::Console;
use flight_platform_psx::wasm2c::{self, PAGE, Trap};
use flight_suite::allocators::Clock;
use flight_suite::{Board, Outcome, Test, ensure, protocol};

flight_platform_psx::entry!(main);

/// The module's instance (the C side's; opaque here).
#[repr(C)]
struct Instance {
    _opaque: [u8; 0],
}

/// What the module's calls into Rust saw; its address is the imports' context, which the C side
/// hands back to every import (C sees only a pointer: `struct Z_env_instance_t *`).
#[repr(C)]
struct Env {
    /// Where linear memory starts, as instantiation answered.
    memory: Cell<usize>,
    /// The bytes `print` was given last.
    printed: Cell<[u8; 32]>,
    printed_len: Cell<usize>,
    /// The arguments of the last `scale` call, and how many there were.
    scale_x: Cell<u32>,
    scale_k: Cell<u64>,
    scale_calls: Cell<u32>,
}

// SAFETY: the PlayStation runs one thread, with interrupts masked for the whole run (the
// runtime never unmasks them): nothing touches ENV concurrently.
unsafe impl Sync for Env {}

static ENV: Env = Env {
    memory: Cell::new(0),
    printed: Cell::new([0; 32]),
    printed_len: Cell::new(0),
    scale_x: Cell::new(0),
    scale_k: Cell::new(0),
    scale_calls: Cell::new(0),
};

unsafe extern "C" {
    // The embedder (wasm/embed.c). The guarded calls return 0 and write the export's result,
    // or return the trap code.
    fn test_instantiate(env: *const Env) -> *mut u8;
    fn test_instance() -> *mut Instance;
    fn test_memory_size() -> u32;
    fn test_call_depth() -> u32;
    fn test_op64(op: u32, a: u64, b: u64, out: *mut u64) -> u32;
    fn test_fop(op: u32, a: f64, b: f64, out: *mut f64) -> u32;
    fn test_conv(op: u32, a: f64, b: u64, out: *mut u64) -> u32;
    fn test_load64(at: u32, out: *mut u64) -> u32;
    fn test_store64(at: u32, v: u64) -> u32;
    fn test_load32(at: u32, out: *mut u32) -> u32;
    fn test_store32(at: u32, v: u32) -> u32;
    fn test_sum(at: u32, n: u32, out: *mut u32) -> u32;
    fn test_dispatch(i: u32, x: u32, out: *mut u32) -> u32;
    fn test_boom(out: *mut ()) -> u32;
    fn test_deep(n: u32, out: *mut u32) -> u32;
    // Exports that cannot trap, called directly (wasm2c's names).
    #[link_name = "Z_testZ_add"]
    fn export_add(instance: *mut Instance, a: u32, b: u32) -> u32;
    #[link_name = "Z_testZ_calls"]
    fn export_calls(instance: *mut Instance) -> u32;
    #[link_name = "Z_testZ_greet"]
    fn export_greet(instance: *mut Instance);
    #[link_name = "Z_testZ_host"]
    fn export_host(instance: *mut Instance, x: u32, k: u64) -> u64;
    #[link_name = "Z_testZ_lcg"]
    fn export_lcg(instance: *mut Instance, n: u32, seed: u64) -> u64;
}

/// Import `env.print(ptr, len)`: linear-memory bytes, kept and written to the console.
#[unsafe(export_name = "Z_envZ_print")]
extern "C" fn env_print(env: *const Env, ptr: u32, len: u32) {
    // SAFETY: the C side hands back the context instantiation was given: &ENV.
    let env = unsafe { &*env };
    // SAFETY: the module is instantiated (it is calling), so its memory's size is set.
    let size = unsafe { test_memory_size() };
    if u64::from(ptr) + u64::from(len) > u64::from(size) || len as usize > 32 {
        panic!("env.print({ptr}, {len}) outside linear memory or too long");
    }
    // SAFETY: just checked to lie inside linear memory, which starts at env.memory.
    let bytes =
        unsafe { core::slice::from_raw_parts((env.memory.get() + ptr as usize) as *const u8, len as usize) };
    let mut kept = [0; 32];
    kept[..bytes.len()].copy_from_slice(bytes);
    env.printed.set(kept);
    env.printed_len.set(bytes.len());
    let _ = Console.write_str(core::str::from_utf8(bytes).unwrap_or("(not UTF-8)\n"));
}

/// Import `env.scale(x, k) -> x * k` (64-bit, wrapping).
#[unsafe(export_name = "Z_envZ_scale")]
extern "C" fn env_scale(env: *const Env, x: u32, k: u64) -> u64 {
    // SAFETY: as in env_print.
    let env = unsafe { &*env };
    env.scale_x.set(x);
    env.scale_k.set(k);
    env.scale_calls.set(env.scale_calls.get() + 1);
    u64::from(x).wrapping_mul(k)
}

fn instance() -> *mut Instance {
    // SAFETY: returns the address of the embedder's static instance.
    unsafe { test_instance() }
}

fn add(a: u32, b: u32) -> u32 {
    // SAFETY: main instantiates the module before any check runs; `add` cannot trap.
    unsafe { export_add(instance(), a, b) }
}

/// A guarded call's answer: the export's result, or the trap.
fn guard<T: Default>(call: impl FnOnce(*mut T) -> u32) -> Result<T, Trap> {
    let mut out = T::default();
    match call(&mut out) {
        0 => Ok(out),
        code => Err(Trap::from_code(code).unwrap_or_else(|| panic!("unknown trap code {code}"))),
    }
}

// The guarded calls. In each, the module is instantiated (main does it before any check) and
// `out` points to `guard`'s local, which lives for the whole call.
fn op64(op: u32, a: i64, b: i64) -> Result<i64, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_op64(op, a as u64, b as u64, out) }).map(|v: u64| v as i64)
}
fn fop(op: u32, a: f64, b: f64) -> Result<u64, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_fop(op, a, b, out) }).map(f64::to_bits)
}
fn conv(op: u32, a: f64, b: i64) -> Result<i64, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_conv(op, a, b as u64, out) }).map(|v: u64| v as i64)
}
fn load64(at: u32) -> Result<u64, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_load64(at, out) })
}
fn store64(at: u32, v: u64) -> Result<(), Trap> {
    // SAFETY: the module is instantiated; this call writes no result.
    guard(|_: *mut ()| unsafe { test_store64(at, v) })
}
fn load32(at: u32) -> Result<u32, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_load32(at, out) })
}
fn store32(at: u32, v: u32) -> Result<(), Trap> {
    // SAFETY: the module is instantiated; this call writes no result.
    guard(|_: *mut ()| unsafe { test_store32(at, v) })
}
fn sum(at: u32, n: u32) -> Result<u32, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_sum(at, n, out) })
}
fn dispatch(i: u32, x: u32) -> Result<u32, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_dispatch(i, x, out) })
}
fn boom() -> Result<(), Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_boom(out) })
}
fn deep() -> Result<u32, Trap> {
    // SAFETY: the module is instantiated; `out` points to guard's live local.
    guard(|out| unsafe { test_deep(0, out) })
}

/// Linear memory's first byte, as Rust gave it.
fn base() -> *mut u8 {
    wasm2c::arena().map_or(core::ptr::null_mut(), |(base, _)| base)
}

/// The data segment of test.wat, at offset 1024.
const GREETING: &[u8] = b"hello from wasm\n";

fn the_module_lives_where_rust_put_it(_: &Board) -> Outcome {
    let (arena, pages) = wasm2c::arena().ok_or_else(|| flight_suite::Failure("no arena was given".into()))?;
    ensure!(pages == 1, "the arena holds {pages} pages, not the 1 main gave");
    ensure!(
        ENV.memory.get() == arena as usize,
        "memory at {:#x}, not at the arena {arena:p}",
        ENV.memory.get()
    );
    // SAFETY: reads linear memory's size from the instantiated module.
    let size = unsafe { test_memory_size() };
    ensure!(size == PAGE as u32, "linear memory is {size} bytes, not one page");
    // SAFETY: 1024 + 16 bytes lie inside the one page of linear memory.
    let data = unsafe { core::slice::from_raw_parts(arena.add(1024), GREETING.len()) };
    ensure!(data == GREETING, "the data segment reads {data:?} at offset 1024");
    Ok(())
}

fn rust_calls_exports(_: &Board) -> Outcome {
    // SAFETY: the module is instantiated; `calls` cannot trap.
    let before = unsafe { export_calls(instance()) };
    let (sum, wrapped) = (add(2, 40), add(u32::MAX, 2));
    ensure!(sum == 42, "add(2, 40) = {sum}");
    ensure!(wrapped == 1, "add(u32::MAX, 2) = {wrapped} (i32.add wraps)");
    // SAFETY: as above.
    let after = unsafe { export_calls(instance()) };
    ensure!(after == before + 2, "the module's call counter went from {before} to {after}, not up by 2");
    Ok(())
}

fn c_calls_rust(_: &Board) -> Outcome {
    // SAFETY: the module is instantiated; `greet` calls env.print, which cannot trap.
    unsafe { export_greet(instance()) };
    let (printed, n) = (ENV.printed.get(), ENV.printed_len.get());
    ensure!(&printed[..n] == GREETING, "env.print received {:?}", &printed[..n]);
    const K: u64 = 0x1_0000_0003;
    const EXPECTED: u64 = 7u64.wrapping_mul(K) + 1;
    let calls = ENV.scale_calls.get();
    // SAFETY: the module is instantiated; `host` calls env.scale, which cannot trap.
    let got = unsafe { export_host(instance(), 7, K) };
    ensure!(got == EXPECTED, "host(7, {K:#x}) = {got:#x}, not {EXPECTED:#x}");
    ensure!(ENV.scale_calls.get() == calls + 1, "env.scale ran {} times", ENV.scale_calls.get() - calls);
    let seen = (ENV.scale_x.get(), ENV.scale_k.get());
    ensure!(seen == (7, K), "env.scale saw {seen:x?}");
    Ok(())
}

/// Checks `op64` cases: (op, a, b, expected).
fn check_op64(cases: &[(u32, i64, i64, i64)]) -> Outcome {
    for &(op, a, b, want) in cases {
        let got = op64(op, a, b);
        ensure!(got == Ok(want), "op {op} of {a:#x}, {b:#x}: {got:x?}, not {want:#x}");
    }
    Ok(())
}

const MIN: i64 = i64::MIN;
/// i64 cases: expected values computed by the compiler on the host (Rust's wrapping operations
/// are WebAssembly's).
const I64_CASES: &[(u32, i64, i64, i64)] = &[
    (0, i64::MAX, 1, MIN),
    (1, 0, 1, -1),
    (
        2,
        0x1234_5678_9abc_def0,
        -0x0fed_cba9_8765_4321,
        0x1234_5678_9abc_def0i64.wrapping_mul(-0x0fed_cba9_8765_4321),
    ),
    (3, -7_000_000_000_123, 1_000_003, -7_000_000_000_123 / 1_000_003),
    (3, -7, 2, -3),
    (4, -7, 3, ((-7i64 as u64) / 3) as i64),
    (4, MIN, 0x1_0000_0001, ((MIN as u64) / 0x1_0000_0001) as i64),
    (5, -7_000_000_000_123, 1_000_003, -7_000_000_000_123 % 1_000_003),
    (5, -7, 2, -1),
    (5, MIN, -1, 0),
    (6, -1, 10, (u64::MAX % 10) as i64),
    (6, 0xdead_beef_cafe_babeu64 as i64, 0x1_0000_0000, 0xcafe_babe),
    (7, 1, 63, MIN),
    (7, 3, 65, 6),
    (8, -256, 4, -16),
    (9, -256, 4, ((-256i64 as u64) >> 4) as i64),
    (10, MIN + 1, 1, 3),
    (11, 1, 1, MIN),
    (12, 1, 0, 63),
    (12, 0, 0, 64),
    (13, 0x100_0000_0000, 0, 40),
    (14, -1, 0, 64),
    (14, 0x0123_4567_89ab_cdef, 0, 0x0123_4567_89ab_cdefi64.count_ones() as i64),
    (15, -1, 1, 1),
    (16, -1, 1, 0),
];

fn i64_arithmetic(_: &Board) -> Outcome {
    check_op64(I64_CASES)
}

/// i32 cases (ops from 20: on the low halves, the result sign-extended).
const I32_CASES: &[(u32, i64, i64, i64)] = &[
    (
        20,
        0x1234_5678,
        0x9abc_def0u32 as i32 as i64,
        0x1234_5678i32.wrapping_mul(0x9abc_def0u32 as i32) as i64,
    ),
    (21, -7, 2, -3),
    (21, i32::MIN as i64, 3, (i32::MIN / 3) as i64),
    (22, -7, 2, ((-7i32 as u32) / 2) as i32 as i64),
    (23, -7, 2, -1),
    (24, -7, 10, ((-7i32 as u32) % 10) as i64),
    (25, 0x8000_0001u32 as i32 as i64, 33, 3),
    (26, 1, 0, 31),
    (26, 0, 0, 32),
    (27, i32::MIN as i64, 0, 31),
    (28, -1, 0, 32),
    (29, -256, 4, -16),
];

fn i32_arithmetic(_: &Board) -> Outcome {
    check_op64(I32_CASES)
}

/// Checks `fop` cases: (op, a, b, expected bits).
fn check_fop(cases: &[(u32, f64, f64, u64)]) -> Outcome {
    for &(op, a, b, want) in cases {
        let got = fop(op, a, b);
        ensure!(
            got == Ok(want),
            "fop {op} of {a:?}, {b:?}: {got:#x?}, not {want:#x} ({:?})",
            f64::from_bits(want)
        );
    }
    Ok(())
}

/// f32 as WebAssembly's `f32.demote_f64` makes it, promoted back, as bits.
const fn f32_bits(x: f32) -> u64 {
    (x as f64).to_bits()
}

/// f64 cases: results computed by the compiler on the host (IEEE arithmetic in `const`); sqrt(2)
/// stated (0x3ff6a09e667f3bcd, the correctly rounded square root).
const F64_CASES: &[(u32, f64, f64, u64)] = &[
    (0, 0.1, 0.2, (0.1f64 + 0.2).to_bits()),
    (1, 1e16, 1.0, (1e16f64 - 1.0).to_bits()),
    (2, 1.1, 1.1, (1.1f64 * 1.1).to_bits()),
    (3, 1.0, 3.0, (1.0f64 / 3.0).to_bits()),
    (3, -1.0, 0.0, f64::NEG_INFINITY.to_bits()),
    (4, 2.0, 0.0, 0x3ff6_a09e_667f_3bcd),
    (4, 0.25, 0.0, 0.5f64.to_bits()),
    (5, -0.0, 0.0, (-0.0f64).to_bits()),
    (6, 1.5, 2.5, 2.5f64.to_bits()),
    (7, -2.5, 0.0, (-3.0f64).to_bits()),
    (8, -2.5, 0.0, (-2.0f64).to_bits()),
    (9, -2.7, 0.0, (-2.0f64).to_bits()),
    (10, 2.5, 0.0, 2.0f64.to_bits()),
    (10, 3.5, 0.0, 4.0f64.to_bits()),
    (10, -0.5, 0.0, (-0.0f64).to_bits()),
    (11, -3.25, 0.0, 3.25f64.to_bits()),
    (12, 1.0, 0.0, (-1.0f64).to_bits()),
    (13, 2.0, -0.0, (-2.0f64).to_bits()),
    (13, -0.5, 1.0, 0.5f64.to_bits()),
    (14, 1.0, 2.0, 1.0f64.to_bits()),
];

fn f64_arithmetic(_: &Board) -> Outcome {
    check_fop(F64_CASES)
}

/// f32 cases (ops from 20: on a and b demoted to f32); sqrtf(2) stated (0x3fb504f3).
const F32_CASES: &[(u32, f64, f64, u64)] = &[
    (20, 0.1, 0.2, f32_bits(0.1f64 as f32 + 0.2f64 as f32)),
    (21, 1e8, 1.0, f32_bits(1e8f64 as f32 - 1.0)),
    (22, 1.1, 1.1, f32_bits(1.1f64 as f32 * 1.1f64 as f32)),
    (23, 1.0, 3.0, f32_bits(1.0f32 / 3.0)),
    (24, 2.0, 0.0, f32_bits(f32::from_bits(0x3fb5_04f3))),
    (25, 2.5, 0.0, f32_bits(2.0)),
    (26, 0.1, 0.0, f32_bits(0.1f64 as f32)),
];

fn f32_arithmetic(_: &Board) -> Outcome {
    check_fop(F32_CASES)
}

/// Conversion cases: (op, a, b, expected), float results as bits; computed by the compiler on
/// the host (Rust's `as` rounds to nearest and truncates toward zero, as WebAssembly does for
/// values in range).
const CONV_CASES: &[(u32, f64, i64, i64)] = &[
    (0, -123_456_789_012.75, 0, -123_456_789_012),
    (1, 18_446_744_073_709_549_568.0, 0, 18_446_744_073_709_549_568u64 as i64),
    (1, -0.5, 0, 0),
    (2, -2_147_483_648.9, 0, -2_147_483_648),
    (3, 4_294_967_295.5, 0, 4_294_967_295),
    (4, -1.9e9, 0, (-1.9e9f64 as f32) as i32 as i64),
    (5, 0.0, -9_007_199_254_740_993, (-9_007_199_254_740_993i64 as f64).to_bits() as i64),
    (6, 0.0, -1, (u64::MAX as f64).to_bits() as i64),
    (7, 0.0, i64::MAX, (i64::MAX as f32).to_bits() as i64),
    (8, 0.0, -5, (-5.0f64).to_bits() as i64),
    (9, 0.0, 0xffff_fffe, 4_294_967_294f64.to_bits() as i64),
    (10, 0.0, 0xffff_ffff, (u32::MAX as f32).to_bits() as i64),
    (11, 0.1, 0, (0.1f64 as f32).to_bits() as i64),
];

fn conversions(_: &Board) -> Outcome {
    for &(op, a, b, want) in CONV_CASES {
        let got = conv(op, a, b);
        ensure!(got == Ok(want), "conv {op} of {a:?}, {b:#x}: {got:#x?}, not {want:#x}");
    }
    Ok(())
}

fn linear_memory_loads_and_stores(_: &Board) -> Outcome {
    let base = base();
    // SAFETY: offsets 2000..2009 lie inside the one page of linear memory, which no Rust
    // reference covers.
    unsafe {
        for i in 0..9 {
            base.add(2000 + i).write_volatile(i as u8 + 1);
        }
    }
    ensure!(load64(2000) == Ok(0x0807_0605_0403_0201), "load64(2000) = {:x?}", load64(2000));
    ensure!(load64(2001) == Ok(0x0908_0706_0504_0302), "load64(2001) = {:x?}", load64(2001));
    ensure!(load32(2003) == Ok(0x0706_0504), "load32(2003) = {:x?}", load32(2003));
    let v = 0x1122_3344_5566_7788u64;
    ensure!(store64(3001, v) == Ok(()), "store64(3001) trapped");
    ensure!(store32(4094, 0xa1b2_c3d4) == Ok(()), "store32(4094) trapped");
    // SAFETY: as above, offsets 3001..3009 and 4094..4098.
    let (wide, narrow) = unsafe {
        (
            core::array::from_fn::<u8, 8, _>(|i| base.add(3001 + i).read_volatile()),
            core::array::from_fn::<u8, 4, _>(|i| base.add(4094 + i).read_volatile()),
        )
    };
    ensure!(wide == v.to_le_bytes(), "store64(3001) left {wide:x?}");
    ensure!(narrow == 0xa1b2_c3d4u32.to_le_bytes(), "store32(4094) left {narrow:x?}");
    const GREETING_SUM: u32 = {
        let (mut s, mut i) = (0, 0);
        while i < GREETING.len() {
            s += GREETING[i] as u32;
            i += 1;
        }
        s
    };
    ensure!(sum(1024, 16) == Ok(GREETING_SUM), "sum of the data segment: {:?}", sum(1024, 16));
    ensure!(load32(PAGE as u32 - 4) == Ok(0), "the last word of memory: {:x?}", load32(PAGE as u32 - 4));
    Ok(())
}

fn tables_and_function_types(_: &Board) -> Outcome {
    ensure!(dispatch(0, 21) == Ok(42), "table[0](21) = {:?}", dispatch(0, 21));
    ensure!(dispatch(1, 12) == Ok(144), "table[1](12) = {:?}", dispatch(1, 12));
    for (i, what) in [(2, "an entry of another type"), (3, "a null entry"), (4, "past the table's end")] {
        let got = dispatch(i, 1);
        ensure!(got == Err(Trap::CallIndirect), "call_indirect to {what}: {got:?}");
    }
    Ok(())
}

/// Each call traps as stated; after each, the module answers a plain call again and the
/// runtime's call depth is back to 0.
fn traps_are_caught_and_the_module_runs_on(_: &Board) -> Outcome {
    let nan = f64::NAN;
    let cases: [(&str, Result<(), Trap>, Trap); 14] = [
        ("unreachable", boom(), Trap::Unreachable),
        ("i64.div_s by zero", op64(3, 1, 0).map(drop), Trap::DivideByZero),
        ("i64.rem_u by zero", op64(6, 1, 0).map(drop), Trap::DivideByZero),
        ("i32.div_u by zero", op64(22, 1, 0).map(drop), Trap::DivideByZero),
        ("i64.div_s(MIN, -1)", op64(3, MIN, -1).map(drop), Trap::IntegerOverflow),
        ("i32.div_s(MIN, -1)", op64(21, i32::MIN as i64, -1).map(drop), Trap::IntegerOverflow),
        ("an unknown op (unreachable)", op64(99, 0, 0).map(drop), Trap::Unreachable),
        ("i32.trunc_f64_s(3e9)", conv(2, 3e9, 0).map(drop), Trap::IntegerOverflow),
        ("i64.trunc_f64_u(-1)", conv(1, -1.0, 0).map(drop), Trap::IntegerOverflow),
        ("i64.trunc_f64_s(NaN)", conv(0, nan, 0).map(drop), Trap::InvalidConversion),
        ("i32.load past the end", load32(PAGE as u32 - 3).map(drop), Trap::OutOfBounds),
        ("i64.store past the end", store64(PAGE as u32 - 7, 0), Trap::OutOfBounds),
        ("i64.load at 0xffffffff", load64(u32::MAX).map(drop), Trap::OutOfBounds),
        ("endless recursion", deep().map(drop), Trap::Exhaustion),
    ];
    for (what, got, want) in cases {
        ensure!(got == Err(want), "{what}: {got:?}, not {want:?}");
        // SAFETY: reads the runtime's depth counter.
        let depth = unsafe { test_call_depth() };
        ensure!(depth == 0, "after {what}: call depth {depth}");
        ensure!(add(20, 22) == 42, "after {what}: add(20, 22) = {}", add(20, 22));
    }
    ensure!(op64(5, MIN, -1) == Ok(0), "i64.rem_s(MIN, -1) = {:?} (0, no trap)", op64(5, MIN, -1));
    ensure!(load64(PAGE as u32 - 8) == Ok(0), "after the traps: load64 of the last 8 bytes");
    Ok(())
}

/// The 64-bit generator of `lcg`, run by the compiler on the host.
const fn lcg(mut n: u32, mut s: u64) -> u64 {
    while n > 0 {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        n -= 1;
    }
    s
}

fn lcg_on_the_console(n: u32, seed: u64) -> u64 {
    // SAFETY: the module is instantiated; `lcg` cannot trap.
    unsafe { export_lcg(instance(), n, seed) }
}

fn a_64_bit_generator_agrees_with_the_host(_: &Board) -> Outcome {
    const EXPECTED: u64 = lcg(1000, 1);
    let got = lcg_on_the_console(1000, 1);
    ensure!(got == EXPECTED, "lcg(1000, 1) = {got:#x}, not {EXPECTED:#x}");
    Ok(())
}

const CHECKS: &[Test] = &[
    Test::new("wasm2c_memory_lives_where_rust_put_it", the_module_lives_where_rust_put_it),
    Test::new("wasm2c_rust_calls_exports", rust_calls_exports),
    Test::new("wasm2c_c_calls_rust", c_calls_rust),
    Test::new("wasm2c_i64_arithmetic", i64_arithmetic),
    Test::new("wasm2c_i32_arithmetic", i32_arithmetic),
    Test::new("wasm2c_f64_arithmetic", f64_arithmetic),
    Test::new("wasm2c_f32_arithmetic", f32_arithmetic),
    Test::new("wasm2c_conversions", conversions),
    Test::new("wasm2c_linear_memory_loads_and_stores", linear_memory_loads_and_stores),
    Test::new("wasm2c_tables_and_function_types", tables_and_function_types),
    Test::new("wasm2c_traps_are_caught_and_the_module_runs_on", traps_are_caught_and_the_module_runs_on),
    Test::new("wasm2c_64_bit_generator_agrees_with_the_host", a_64_bit_generator_agrees_with_the_host),
];

/// Times `batch` repetitions of `f` until `total` are done, in batches short enough for the
/// 16-bit counter not to wrap; returns the ticks per repetition.
fn ticks_per(clock: &Clock, total: u32, batch: u32, mut f: impl FnMut(u32)) -> u64 {
    let (mut ticks, mut done) = (0u64, 0u32);
    while done < total {
        let start = (clock.now)();
        for i in 0..batch {
            f(done + i);
        }
        ticks += u64::from((clock.now)().wrapping_sub(start) & (clock.modulus - 1));
        done += batch;
    }
    ticks / u64::from(done)
}

/// The timings: calls of an export from Rust, and steps of the module's 64-bit generator.
fn time(out: &mut dyn Write, clock: &Clock) {
    let per_call = ticks_per(clock, 1024, 16, |i| {
        black_box(add(black_box(i), 1));
    });
    let _ = writeln!(
        out,
        "time psx wasm2c call: {per_call} ticks per call of the export `add` from Rust (1024 calls, \
         root counter 1 at {} Hz, emulator figure)",
        clock.hz
    );
    let per_step = ticks_per(clock, 64, 1, |i| {
        black_box(lcg_on_the_console(64, u64::from(black_box(i))));
    }) / 64;
    let _ = writeln!(
        out,
        "time psx wasm2c lcg: {per_step} ticks per step of the module's 64-bit multiply-add loop \
         (64 calls of 64 steps, emulator figure)"
    );
}

fn main() -> ! {
    let mut out = Console;
    let _ = writeln!(out, "{}", protocol::BEGIN_MARKER);
    // Linear memory: one page from the heap, at an address Rust chose.
    let layout = Layout::from_size_align(PAGE, 16).unwrap_or_else(|_| panic!("a page's layout"));
    // SAFETY: the layout's size is not zero.
    let page = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if page.is_null() {
        panic!("no page for linear memory on the heap");
    }
    // SAFETY: `page` is a fresh allocation of PAGE bytes, never freed: from here on it belongs to
    // linear memory, and Rust reaches it only by raw pointer.
    let arena = unsafe { core::slice::from_raw_parts_mut(page, PAGE) };
    if let Err(e) = wasm2c::give_arena(arena) {
        panic!("the heap's page cannot hold linear memory: {e:?}");
    }
    // SAFETY: instantiates the module once, before any call; ENV lives for the whole run.
    let memory = unsafe { test_instantiate(&ENV) };
    ENV.memory.set(memory as usize);
    let board = board();
    let summary = flight_suite::run_checks(&board, &mut out, CHECKS);
    time(&mut out, &clock());
    flight_suite::finish(&board, &mut out, summary);
    flight_platform_psx::rt::halt()
}

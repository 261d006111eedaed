//! Directed differential test: one module with every non-atomic memory instruction (each load
//! and store width, sign-extending loads, SIMD loads, splats, `load*_zero`, lanes, stores), at
//! small and large static offsets, direct and indirect, plus `memory.size`, `memory.grow`,
//! `memory.copy`, `memory.fill`, `memory.init` and `data.drop`, each an export taking its
//! operands as parameters. Long random call sequences, with addresses drawn around the edges of
//! the memory, run on the original and on rebased copies; after each call the results, traps and
//! memories must agree. (Generated modules rarely execute a bulk instruction without trapping;
//! this test does, thousands of times.)

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{Outcome, Rng, Run};
use flight_rebase::{Options, PAGE};
use wasmi::Val;

/// Loads: name, result type, bytes touched.
const LOADS: &[(&str, &str, u32)] = &[
    ("i32.load", "i32", 4),
    ("i64.load", "i64", 8),
    ("f32.load", "f32", 4),
    ("f64.load", "f64", 8),
    ("i32.load8_s", "i32", 1),
    ("i32.load8_u", "i32", 1),
    ("i32.load16_s", "i32", 2),
    ("i32.load16_u", "i32", 2),
    ("i64.load8_s", "i64", 1),
    ("i64.load8_u", "i64", 1),
    ("i64.load16_s", "i64", 2),
    ("i64.load16_u", "i64", 2),
    ("i64.load32_s", "i64", 4),
    ("i64.load32_u", "i64", 4),
    ("v128.load", "v128", 16),
    ("v128.load8x8_s", "v128", 8),
    ("v128.load8x8_u", "v128", 8),
    ("v128.load16x4_s", "v128", 8),
    ("v128.load16x4_u", "v128", 8),
    ("v128.load32x2_s", "v128", 8),
    ("v128.load32x2_u", "v128", 8),
    ("v128.load8_splat", "v128", 1),
    ("v128.load16_splat", "v128", 2),
    ("v128.load32_splat", "v128", 4),
    ("v128.load64_splat", "v128", 8),
    ("v128.load32_zero", "v128", 4),
    ("v128.load64_zero", "v128", 8),
];

/// Stores: name, value type, bytes touched.
const STORES: &[(&str, &str, u32)] = &[
    ("i32.store", "i32", 4),
    ("i64.store", "i64", 8),
    ("f32.store", "f32", 4),
    ("f64.store", "f64", 8),
    ("i32.store8", "i32", 1),
    ("i32.store16", "i32", 2),
    ("i64.store8", "i64", 1),
    ("i64.store16", "i64", 2),
    ("i64.store32", "i64", 4),
    ("v128.store", "v128", 16),
];

/// Lane instructions: name, lane bytes, and whether it stores.
const LANES: &[(&str, u32, bool)] = &[
    ("v128.load8_lane", 1, false),
    ("v128.load16_lane", 2, false),
    ("v128.load32_lane", 4, false),
    ("v128.load64_lane", 8, false),
    ("v128.store8_lane", 1, true),
    ("v128.store16_lane", 2, true),
    ("v128.store32_lane", 4, true),
    ("v128.store64_lane", 8, true),
];

/// Static offsets each access is exported with.
const OFFSETS: [u32; 3] = [0, 3, 65_530];

/// The module's text, and the static offset and size of each access export (by name).
fn module() -> String {
    let mut wat = String::from(
        "(module\n (memory (export \"memory\") 1 3)\n\
         (data (i32.const 100) \"hello, segment\")\n\
         (data $p \"passive bytes 0123456789abcdef\")\n",
    );
    for (name, ty, _) in LOADS {
        for off in OFFSETS {
            wat += &format!(
                " (func (export \"{name} {off}\") (param i32) (result {ty}) local.get 0 {name} offset={off})\n"
            );
        }
    }
    for (name, ty, _) in STORES {
        for off in OFFSETS {
            wat += &format!(
                " (func (export \"{name} {off}\") (param i32 {ty}) local.get 0 local.get 1 {name} offset={off})\n"
            );
        }
    }
    for (name, _, store) in LANES {
        for off in OFFSETS {
            if *store {
                wat += &format!(
                    " (func (export \"{name} {off}\") (param i32 v128) local.get 0 local.get 1 {name} offset={off} 1)\n"
                );
            } else {
                wat += &format!(
                    " (func (export \"{name} {off}\") (param i32 v128) (result v128) \
                     local.get 0 local.get 1 {name} offset={off} 1)\n"
                );
            }
        }
    }
    wat += r#"
 (func (export "const load in bounds") (result i32) i32.const 100 i32.load offset=4)
 (func (export "const load at the end") (result i32) i32.const 65534 i32.load)
 (func (export "const store in bounds") i32.const 200 i64.const 0x0102030405060708 i64.store offset=8)
 (func (export "const store past the end") i32.const 65535 i32.const 7 i32.store16)
 (func (export "const store huge offset") i32.const 0 i32.const 7 i32.store offset=0xfffffff0)
 (func (export "size") (result i32) memory.size)
 (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
 (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
 (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
 (func (export "init") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.init $p)
 (func (export "drop") data.drop $p)
)"#;
    wat
}

/// An address near an interesting place: 0, the data, the end of the current memory (with a
/// static offset taken off), the end of the segment, or anywhere.
fn address(rng: &mut Rng, pages: u64, offset: u64) -> i32 {
    let end = pages * PAGE;
    let near = |rng: &mut Rng, at: u64| at.wrapping_add(rng.below(40)).wrapping_sub(20);
    (match rng.below(8) {
        0 => rng.below(64),
        1 => near(rng, 100),
        2 | 3 => near(rng, end.wrapping_sub(offset)),
        4 => near(rng, (3 * PAGE).wrapping_sub(offset)),
        5 => u64::from(u32::MAX) - rng.below(32),
        6 => rng.below(end + 1),
        _ => rng.next(),
    }) as u32 as i32
}

fn value(rng: &mut Rng, ty: &wasmi::ValType) -> Val {
    common::args(rng, std::slice::from_ref(ty)).remove(0)
}

/// Runs `calls` random calls on the original and on the module rebased with `options`.
/// Without bounds checks, calls the original traps on are not made on the rebased module (it
/// would not trap, only the checks make it).
fn run(seed: u64, options: &Options, calls: usize) -> (usize, usize) {
    let wasm = wat::parse_str(module()).unwrap();
    let (rebased, relocs) = flight_rebase::rebase(&wasm, options).unwrap();
    common::validate(&rebased);
    assert!(relocs.entries.len() > 140, "{}", relocs.entries.len());
    let engine = common::engine();
    let mut original = Run::new(&engine, &wasm, u64::MAX).unwrap();
    let mut moved = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let functions = original.functions();
    let mut rng = Rng(seed);
    let (mut traps, mut ok) = (0, 0);
    for _ in 0..calls {
        let (name, params) = &functions[rng.below(functions.len() as u64) as usize];
        let pages = original.memory().map_or(0, |m| m.len() as u64 / PAGE);
        let offset: u64 = name.rsplit(' ').next().and_then(|o| o.parse().ok()).unwrap_or(0);
        let args: Vec<Val> = match name.as_str() {
            "grow" => vec![Val::I32(rng.below(3) as i32)],
            "copy" | "fill" | "init" => {
                let len = match rng.below(4) {
                    0 => 0,
                    1 => rng.below(40),
                    2 => rng.below(PAGE),
                    _ => rng.next() as u32 as u64,
                };
                let second =
                    if name == "copy" { address(&mut rng, pages, len) } else { rng.below(40) as i32 };
                vec![Val::I32(address(&mut rng, pages, len)), Val::I32(second), Val::I32(len as i32)]
            }
            _ => {
                let mut args = vec![];
                for (i, p) in params.iter().enumerate() {
                    args.push(if i == 0 {
                        Val::I32(address(&mut rng, pages, offset))
                    } else {
                        value(&mut rng, p)
                    });
                }
                args
            }
        };
        let a = original.call(name, &args, u64::MAX);
        let trapped = matches!(a, Outcome::Trap(_));
        traps += usize::from(trapped);
        ok += usize::from(!trapped);
        if trapped && !options.rewrite.bounds_checks {
            continue;
        }
        let b = moved.call(name, &args, u64::MAX);
        assert!(a.matches(&b), "seed {seed}: {name}({args:?}): original {a:?}, rebased {b:?}\n{options:?}");
        let (m, n) = (original.memory().unwrap_or_default(), moved.memory().unwrap_or_default());
        if let Err(e) = common::compare_memory(m, n, options.base as usize) {
            panic!("seed {seed}: after {name}({args:?}): {e}\n{options:?}");
        }
    }
    (traps, ok)
}

#[test]
fn every_instruction_agrees_with_checks() {
    for seed in 0..4 {
        let base = (1 + seed) * PAGE;
        let options =
            Options::new(base, 3 * PAGE).with_bounds_checks(true).with_memory_pages(base / PAGE + 4);
        let (traps, ok) = run(seed, &options, 3000);
        assert!(traps > 300 && ok > 1000, "{traps} traps, {ok} calls without");
    }
}

#[test]
fn every_instruction_agrees_without_checks() {
    for seed in 10..14 {
        let base = (seed - 9) * PAGE;
        let options = Options::new(base, 3 * PAGE).with_memory_pages(base / PAGE + 4);
        run(seed, &options, 3000);
    }
}

#[test]
fn segment_at_the_top_of_4_gib() {
    // The segment's end is the end of the 32-bit address space: offsets near 4 GiB.
    let base = (1 << 32) - 3 * PAGE;
    let options = Options::new(base, 3 * PAGE).with_bounds_checks(true);
    let wasm = wat::parse_str(module()).unwrap();
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
    common::validate(&rebased);
    // `offset=0xfffffff0` plus the base is past 4 GiB: always a trap.
    assert!(relocs.entries.iter().any(|e| matches!(e.change, flight_rebase::RelocationKind::Trap { .. })));
    let analysis = flight_rebase::analyse(&rebased).unwrap();
    assert_eq!(analysis.memories[0].initial, 1 << 16);
}

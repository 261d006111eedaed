//! Real compiler output: a Rust crate compiled to wasm32-unknown-unknown (stack, a heap grown
//! with `memory.grow`, data, `memory.copy` and `memory.fill` from the compiler) and a C file
//! compiled by clang. Each is rebased with and without bounds checks and run side by side with
//! the original under wasmi.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{Outcome, Run};
use flight_rebase::{Options, PAGE};
use wasmi::Val;

/// Calls `script` on the original and on the module rebased with `options`; every result and
/// the memory after each call must agree. Returns the outcomes.
fn side_by_side(wasm: &[u8], options: &Options, script: &[(&str, Vec<Val>)]) -> Vec<Outcome> {
    let (rebased, relocs) = flight_rebase::rebase(wasm, options).unwrap();
    common::validate(&rebased);
    assert!(relocs.entries.iter().any(|e| matches!(e.change, flight_rebase::RelocationKind::Memarg { .. })));
    let engine = common::engine();
    let mut original = Run::limited(&engine, wasm, u64::MAX, Some(options.size)).unwrap();
    let mut moved = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let mut outcomes = Vec::new();
    for (name, args) in script {
        let a = original.call(name, args, u64::MAX);
        let b = moved.call(name, args, u64::MAX);
        assert!(a.matches(&b), "{name}({args:?}): original {a:?}, rebased {b:?} ({options:?})");
        let (m, n) = (original.memory().unwrap(), moved.memory().unwrap());
        if let Err(e) = common::compare_memory(m, n, options.base as usize) {
            panic!("after {name}({args:?}): {e} ({options:?})");
        }
        outcomes.push(a);
    }
    outcomes
}

fn i32s(v: &[i32]) -> Vec<Val> {
    v.iter().map(|x| Val::I32(*x)).collect()
}

/// The Rust fixture's calls: allocation, growth, sorting, formatting, bulk copies, data,
/// statics, and raw accesses inside and outside the memory.
fn rust_script(pages_after: i32) -> Vec<(&'static str, Vec<Val>)> {
    vec![
        ("pages", vec![]),
        ("prime", i32s(&[4])),
        ("tick", vec![]),
        ("tick", vec![]),
        ("sum_squares", i32s(&[1000])),
        ("sort_checksum", i32s(&[5000, 42])),
        ("format_hash", i32s(&[-123_456])),
        ("copy_fill", i32s(&[10_000])),
        ("copy_fill", i32s(&[70_000])),
        ("pages", vec![]),
        ("grow", i32s(&[1])),
        ("pages", vec![]),
        ("poke", i32s(&[64, 0x1234_5678])),
        ("peek", i32s(&[64])),
        ("peek", i32s(&[pages_after * PAGE as i32 - 4])),
        ("peek", i32s(&[pages_after * PAGE as i32 - 3])),
        ("poke", i32s(&[pages_after * PAGE as i32 + 16, 1])),
        ("peek", i32s(&[-4])),
        ("grow", i32s(&[1000])),
        ("sum_squares", i32s(&[100_000])),
        ("pages", vec![]),
    ]
}

#[test]
fn rust_component_runs_rebased() {
    // The fixture's compiler is installed by `cargo xtask setup`: without it the test fails.
    let wasm = common::fixtures::rust().unwrap_or_else(|why| panic!("cannot build the fixture: {why}"));
    let analysis = flight_rebase::analyse(wasm).unwrap();
    assert!(analysis.accesses.len() > 100, "{}", analysis.accesses.len());
    assert!(!analysis.grows.is_empty() && !analysis.sizes.is_empty());
    assert!(analysis.bulk.iter().any(|b| b.instruction == "memory.copy"));
    assert!(analysis.bulk.iter().any(|b| b.instruction == "memory.fill"));
    let initial = analysis.memories[0].initial;
    for checks in [true, false] {
        for base_pages in [1, 37] {
            let size = 32 * PAGE;
            let options = Options::new(base_pages * PAGE, size)
                .with_bounds_checks(checks)
                .with_memory_pages(base_pages + 40);
            // Without checks, accesses past the module's memory do not trap: leave them out.
            let mut script = rust_script(0);
            let outcomes = side_by_side(wasm, &options, &script[..12]);
            let Outcome::Values(v) = &outcomes[11] else { panic!("{outcomes:?}") };
            let pages = v[0] as i32;
            assert!(pages as u64 > initial);
            script = rust_script(pages);
            if !checks {
                script.retain(|(n, a)| !matches!((*n, a.first()), ("peek" | "poke", Some(Val::I32(x))) if *x > 1000 || *x < 0));
            }
            let outcomes = side_by_side(wasm, &options, &script);
            if checks {
                // The last word of the memory reads, one byte further traps, and so does an
                // address whose offset carries it past 4 GiB.
                assert!(matches!(outcomes[14], Outcome::Values(_)), "{outcomes:?}");
                assert!(matches!(outcomes[15], Outcome::Trap(_)), "{outcomes:?}");
                assert!(matches!(outcomes[16], Outcome::Trap(_)), "{outcomes:?}");
                assert!(matches!(outcomes[17], Outcome::Trap(_)), "{outcomes:?}");
                // Growing past the segment fails as memory.grow fails.
                assert_eq!(outcomes[18], Outcome::Values(vec![u32::MAX as u128]));
            }
        }
    }
}

#[test]
fn c_component_runs_rebased() {
    // The fixture's compiler is installed by `cargo xtask setup`: without it the test fails.
    let wasm = common::fixtures::c().unwrap_or_else(|why| panic!("cannot build the fixture: {why}"));
    let analysis = flight_rebase::analyse(wasm).unwrap();
    assert!(analysis.accesses.len() > 20, "{}", analysis.accesses.len());
    assert!(!analysis.grows.is_empty());
    assert!(analysis.bulk.iter().any(|b| b.instruction == "memory.copy"));
    assert!(analysis.bulk.iter().any(|b| b.instruction == "memory.fill"));
    assert!(!analysis.data.is_empty());
    for checks in [true, false] {
        let options = Options::new(5 * PAGE, 8 * PAGE).with_bounds_checks(checks).with_memory_pages(16);
        let mut script = vec![
            ("square", i32s(&[3])),
            ("greeting_sum", vec![]),
            ("shout", vec![]),
            ("count", vec![]),
            ("count", vec![]),
            ("simulate", i32s(&[500, 40])),
            ("copy_fill", i32s(&[100_000])),
            ("sum64", i32s(&[20_000])),
            ("pages", vec![]),
            ("poke", i32s(&[8, 99])),
            ("peek", i32s(&[8])),
            // 3.2 MB of particles: more than the segment holds.
            ("simulate", i32s(&[200_000, 1])),
            ("pages", vec![]),
        ];
        let outcomes = side_by_side(wasm, &options, &script);
        assert_eq!(outcomes[11], Outcome::Values(vec![u32::MAX as u128]), "{outcomes:?}");
        let Outcome::Values(v) = &outcomes[12] else { panic!("{outcomes:?}") };
        let end = v[0] as i32 * PAGE as i32;
        assert!((3..=8).contains(&v[0]), "{outcomes:?}");
        if checks {
            // The last word of the memory reads; one byte further, and past 4 GiB, traps.
            script.extend([("peek", i32s(&[end - 4])), ("peek", i32s(&[end - 2])), ("poke", i32s(&[-2, 5]))]);
            let outcomes = side_by_side(wasm, &options, &script);
            assert!(matches!(outcomes[13], Outcome::Values(_)), "{outcomes:?}");
            assert!(matches!(outcomes[14], Outcome::Trap(_)), "{outcomes:?}");
            assert!(matches!(outcomes[15], Outcome::Trap(_)), "{outcomes:?}");
        }
    }
}

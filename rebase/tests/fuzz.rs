//! Fuzz-style tests: arbitrary bytes, mutated valid modules, and modules generated with every
//! feature wasm-smith knows go to `analyse` and `rebase`, which must answer with a result or an
//! error and never panic; every module `rebase` returns must validate.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use flight_rebase::{Options, PAGE};
use proptest::prelude::*;

/// Small valid modules to mutate: memory instructions of every kind, data, bulk operations.
fn seeds() -> Vec<Vec<u8>> {
    [
        r#"(module (memory 1 2) (data (i32.const 16) "abc") (data "passive")
            (func (export "f") (param i32) (result i32)
              local.get 0 i32.load offset=4 local.get 0 i64.load8_s drop
              local.get 0 i32.const 7 i32.store16 offset=2
              i32.const 1 memory.grow drop memory.size
              local.get 0 i32.const 0 i32.const 4 memory.copy
              local.get 0 i32.const 0 i32.const 4 memory.init 1 data.drop 1
              local.get 0 i32.const 9 i32.const 4 memory.fill i32.add))"#,
        r#"(module (memory 1 1 shared)
            (func (param i32 i64) (result i64)
              local.get 0 local.get 1 local.get 1 i64.atomic.rmw.cmpxchg offset=8
              local.get 0 i32.const 1 i64.const 0 memory.atomic.wait32 drop
              local.get 0 v128.load32_zero i64x2.extract_lane 0 i64.add))"#,
        r#"(module (import "env" "memory" (memory 1)) (global (mut i32) (i32.const 0))
            (func (param i32 v128) (result v128)
              local.get 0 local.get 1 v128.load8_lane 3 i32.const 0 v128.load64_splat i8x16.add))"#,
    ]
    .iter()
    .map(|w| wat::parse_str(w).unwrap())
    .collect()
}

/// Runs both entry points on `bytes`; a rebased module must validate. Without validation the
/// rebaser must not panic either, and what it accepts and validation accepts, it rewrites the
/// same way.
fn never_panics(bytes: &[u8], checks: bool) {
    let _ = flight_rebase::analyse(bytes);
    let options =
        Options::new(2 * PAGE, 4 * PAGE).with_bounds_checks(checks).with_shared(7 * PAGE..7 * PAGE + 64);
    let validated = flight_rebase::rebase(bytes, &options);
    let trusted = flight_rebase::rebase(bytes, &options.with_validation(false));
    if let Ok((out, relocs)) = &validated {
        common::validate(out);
        let _ = relocs.to_string();
        let _ = relocs.to_json();
        assert!(trusted.as_ref().is_ok_and(|(t, r)| t == out && r == relocs), "unvalidated: {trusted:?}");
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400), header in any::<bool>(), checks in any::<bool>()) {
        let mut wasm = if header { b"\0asm\x01\0\0\0".to_vec() } else { Vec::new() };
        wasm.extend(bytes);
        never_panics(&wasm, checks);
    }

    #[test]
    fn mutated_modules(seed in 0usize..3, mutations in proptest::collection::vec(mutation(), 1..6), checks in any::<bool>()) {
        let mut wasm = seeds().swap_remove(seed);
        for m in mutations {
            let n = wasm.len().max(1);
            match m {
                Mutation::Set(i, b) => { let i = i % n; if i < wasm.len() { wasm[i] = b; } }
                Mutation::Insert(i, b) => wasm.insert(i % (wasm.len() + 1), b),
                Mutation::Remove(i) => { if !wasm.is_empty() { wasm.remove(i % wasm.len()); } }
                Mutation::Truncate(i) => wasm.truncate(i % n),
            }
        }
        never_panics(&wasm, checks);
    }
}

#[test]
fn modules_with_every_feature() {
    // wasm-smith's defaults: memory64, several memories, GC, exceptions, threads, SIMD, tail
    // calls, imports of every kind. Most cannot be rebased; none may panic.
    let (mut rebased, mut refused) = (0, 0);
    for seed in 0..300 {
        let mut rng = common::Rng(seed);
        let data = rng.bytes(16 * 1024);
        let mut u = arbitrary::Unstructured::new(&data);
        let mut config: wasm_smith::Config = u.arbitrary().unwrap_or_default();
        config.max_memory32_bytes = config.max_memory32_bytes.min(8 * PAGE);
        config.max_memory64_bytes = config.max_memory64_bytes.min(u128::from(8 * PAGE));
        config.max_funcs = config.max_funcs.min(20);
        config.max_instructions = config.max_instructions.min(200);
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else { continue };
        let wasm = module.to_bytes();
        for checks in [false, true] {
            let _ = flight_rebase::analyse(&wasm);
            match flight_rebase::rebase(&wasm, &Options::new(PAGE, 8 * PAGE).with_bounds_checks(checks)) {
                Ok((out, _)) => {
                    common::validate(&out);
                    rebased += 1;
                }
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!("{rebased} rebased, {refused} refused");
    assert!(rebased > 50, "{rebased} rebased, {refused} refused");
}

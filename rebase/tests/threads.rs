//! Large modules are read and rewritten on several threads: the output, the relocation table
//! and the errors are the same as on one thread.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_rebase::merge::Input;
use flight_rebase::{Error, MergeOptions, Options, PAGE, RelocationKind, RewriteOptions};

/// A module with `functions` functions (about 170 bytes of code each: loads and stores at
/// several offsets, `memory.size`, `memory.grow`, `memory.fill`), function `bad` (if any)
/// ending with `body`'s instructions instead of returning its result.
fn module(functions: usize, bad: Option<(usize, &str)>) -> Vec<u8> {
    let mut wat = String::from(
        "(module (import \"env\" \"f\" (func $f (param i32))) (memory 2 64) (data (i32.const 16) \"hello\")\n",
    );
    for i in 0..functions {
        let tail = match bad {
            Some((b, body)) if b == i => body.to_string(),
            _ => "local.get 1".into(),
        };
        wat.push_str(&format!(
            "(func (export \"f{i}\") (param i32) (result i32) (local i32)
               local.get 0 i32.load offset={o1}
               local.get 0 i64.load8_s offset={o2} i32.wrap_i64 i32.add local.set 1
               local.get 0 local.get 1 i32.store offset={o3}
               i32.const {c} local.get 1 i32.store16
               local.get 0 local.get 0 f64.load offset=8 f64.const 1.5 f64.add f64.store offset=16
               i32.const 8 v128.load i32x4.extract_lane 1 local.get 1 i32.add local.set 1
               memory.size local.get 1 i32.add local.set 1
               block (result i32) i32.const {g} memory.grow end drop
               local.get 0 i32.const 0 i32.const {len} memory.fill
               local.get 1 call $f
               {tail})\n",
            o1 = i * 4 % 60_000,
            o2 = i * 3 % 100,
            o3 = 40_000 + i % 1000,
            c = i * 8 % 65_000,
            g = i % 2,
            len = i % 64,
        ));
    }
    wat.push(')');
    wat::parse_str(&wat).unwrap()
}

fn options() -> Options {
    Options::new(16 * PAGE, 64 * PAGE)
}

#[test]
fn several_threads_write_what_one_writes() {
    let wasm = module(4000, None);
    assert!(wasm.len() > 400 * 1024, "{} bytes: too small to be split", wasm.len());
    for checks in [false, true] {
        for validate in [false, true] {
            let options = options().with_bounds_checks(checks).with_validation(validate);
            let (one, one_relocs) = flight_rebase::rebase(&wasm, &options.clone().with_threads(1)).unwrap();
            for threads in [2, 3, 8] {
                let (many, many_relocs) =
                    flight_rebase::rebase(&wasm, &options.clone().with_threads(threads)).unwrap();
                assert!(one == many, "{threads} threads, checks {checks}: the outputs differ");
                assert_eq!(one_relocs, many_relocs);
            }
            wasmparser::Validator::new_with_features(flight_rebase::FEATURES).validate_all(&one).unwrap();
            // Seven accesses, a memory.size, a memory.grow and a memory.fill per function, the
            // memory and the data segment.
            assert_eq!(one_relocs.entries.len(), 4000 * 10 + 2);
            let c = &one_relocs.counts;
            assert_eq!(
                (c.memargs, c.traps, c.pages, c.calls, c.data, c.memories, c.dropped.len()),
                (4000 * 7, 0, 4000, 4000 * 2, 1, 1, 0)
            );
            let checked = one_relocs
                .entries
                .iter()
                .filter(|e| matches!(e.change, RelocationKind::Memarg { checked: true, .. }));
            assert_eq!(c.checked, checked.count() as u64);
            assert_eq!(c.checked > 0, checks);
            // Without the list: the same output and counts, on any number of threads.
            for threads in [1, 2] {
                let quiet = options.clone().with_relocation_entries(false).with_threads(threads);
                let (out, relocs) = flight_rebase::rebase(&wasm, &quiet).unwrap();
                assert!(out == one, "without entries, {threads} threads: the outputs differ");
                assert!(relocs.entries.is_empty());
                assert_eq!(relocs.counts, one_relocs.counts);
                assert!(
                    relocs.to_string().ends_with(&format!("{} changes, not listed\n", 4000 * 10 + 2)),
                    "{relocs}"
                );
            }
        }
    }
}

#[test]
fn errors_name_the_same_function_whatever_the_threads() {
    // A late function that breaks a typing rule (validation), and one that is malformed.
    let mistyped = module(4000, Some((3900, "f32.const 1")));
    let mut malformed = module(4000, Some((3800, "i32.const 77777777 local.get 1 drop")));
    // `i32.const 77777777` (0x4a2_cb71 in a four-byte LEB128) becomes an unknown opcode.
    let constant = [0x41, 0xf1, 0x96, 0x8b, 0x25];
    let at = malformed.windows(5).position(|w| w == constant).unwrap();
    malformed[at] = 0xff;
    for (wasm, validate, function) in
        [(&mistyped, true, 3901), (&malformed, false, 3801), (&malformed, true, 3801)]
    {
        for threads in [1, 2, 4] {
            let options = options().with_validation(validate).with_threads(threads);
            match flight_rebase::rebase(wasm, &options) {
                Err(Error::Malformed { function: Some(f), .. }) => {
                    assert_eq!(f, function, "{threads} threads")
                }
                other => panic!(
                    "{threads} threads, validate {validate}: {:?}",
                    other.map(|(_, r)| r.entries.len())
                ),
            }
        }
    }
}

#[test]
fn merges_are_the_same_on_any_threads() {
    let wasm = module(4000, None);
    let inputs = [Input::new("a", &wasm, 16 * PAGE, 64 * PAGE), Input::new("b", &wasm, 80 * PAGE, 64 * PAGE)];
    for bounds_checks in [false, true] {
        let merge = |threads| {
            let rewrite = RewriteOptions { bounds_checks, threads, ..RewriteOptions::default() };
            let options = MergeOptions { rewrite, ..MergeOptions::default() };
            (
                flight_rebase::merge(&inputs, &options).unwrap(),
                flight_rebase::merge::separate(&inputs, &options).unwrap(),
            )
        };
        let (one, one_separate) = merge(1);
        wasmparser::Validator::new_with_features(flight_rebase::FEATURES).validate_all(&one.wasm).unwrap();
        for threads in [2, 3, 8] {
            let (many, many_separate) = merge(threads);
            assert!(one.wasm == many.wasm, "{threads} threads, checks {bounds_checks}: the outputs differ");
            assert_eq!(one.relocations, many.relocations);
            assert_eq!(one_separate.modules, many_separate.modules);
        }
        // Counting the changes without listing them changes nothing else.
        let rewrite =
            RewriteOptions { bounds_checks, relocation_entries: false, ..RewriteOptions::default() };
        let quiet = MergeOptions { rewrite, ..MergeOptions::default() };
        let counted = flight_rebase::merge(&inputs, &quiet).unwrap();
        assert!(one.wasm == counted.wasm, "checks {bounds_checks}: the outputs differ without entries");
        for (listed, counted) in one.relocations.modules.iter().zip(&counted.relocations.modules) {
            assert!(counted.rebase.entries.is_empty());
            assert_eq!(listed.rebase.entries.len() as u64, listed.rebase.counts.total());
            assert_eq!(listed.rebase.counts, counted.rebase.counts);
        }
    }
}

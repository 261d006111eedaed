//! The threads proposal's forms: every atomic load, store, read-modify-write, `cmpxchg`,
//! `wait` and `notify` on a shared memory. Structurally: after rebasing, every memarg's offset
//! moved by the base and nothing else changed (alignment, lane, order of instructions). And, as
//! wasmi does not run atomics, under Node's V8 when Node is installed: random calls on the
//! original and the rebased module (with and without bounds checks) must agree.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::Path;
use std::process::Command;

use common::Rng;
use flight_rebase::{Options, PAGE};
use wasmparser::{Operator, Parser, Payload};

/// Atomic instructions: name, operand types after the address, result type.
const ATOMICS: &[(&str, &[&str], Option<&str>)] = &[
    ("i32.atomic.load", &[], Some("i32")),
    ("i64.atomic.load", &[], Some("i64")),
    ("i32.atomic.load8_u", &[], Some("i32")),
    ("i32.atomic.load16_u", &[], Some("i32")),
    ("i64.atomic.load8_u", &[], Some("i64")),
    ("i64.atomic.load16_u", &[], Some("i64")),
    ("i64.atomic.load32_u", &[], Some("i64")),
    ("i32.atomic.store", &["i32"], None),
    ("i64.atomic.store", &["i64"], None),
    ("i32.atomic.store8", &["i32"], None),
    ("i32.atomic.store16", &["i32"], None),
    ("i64.atomic.store8", &["i64"], None),
    ("i64.atomic.store16", &["i64"], None),
    ("i64.atomic.store32", &["i64"], None),
    ("memory.atomic.notify", &["i32"], Some("i32")),
    ("memory.atomic.wait32", &["i32", "i64"], Some("i32")),
    ("memory.atomic.wait64", &["i64", "i64"], Some("i32")),
];

const RMW_OPS: [&str; 6] = ["add", "sub", "and", "or", "xor", "xchg"];

/// Every atomic instruction with its operand and result types.
fn atomics() -> Vec<(String, Vec<&'static str>, Option<&'static str>)> {
    let mut all: Vec<_> = ATOMICS.iter().map(|(n, a, r)| (n.to_string(), a.to_vec(), *r)).collect();
    for ty in ["i32", "i64"] {
        let widths: &[&str] = if ty == "i32" { &["", "8", "16"] } else { &["", "8", "16", "32"] };
        for w in widths {
            let u = if w.is_empty() { "" } else { "_u" };
            for op in RMW_OPS.iter().chain(["cmpxchg"].iter()) {
                let args = if *op == "cmpxchg" { vec![ty, ty] } else { vec![ty] };
                all.push((format!("{ty}.atomic.rmw{w}.{op}{u}"), args, Some(ty)));
            }
        }
    }
    all
}

const OFFSETS: [u32; 3] = [0, 8, 65_528];

/// A module with one export per atomic instruction and offset.
fn module() -> String {
    let mut wat = String::from("(module (memory (export \"memory\") 1 1 shared)\n");
    for (name, args, result) in atomics() {
        for off in OFFSETS {
            let params: String = args.iter().map(|a| format!(" {a}")).collect();
            let gets: String = (1..=args.len()).map(|i| format!(" local.get {i}")).collect();
            let result = result.map_or(String::new(), |r| format!(" (result {r})"));
            wat += &format!(
                " (func (export \"{name} {off}\") (param i32{params}){result} local.get 0{gets} {name} offset={off})\n"
            );
        }
    }
    // Direct accesses: a constant address proven in bounds, and one that is not.
    wat += " (func (export \"direct\") (result i32) i32.const 16 i32.const 5 i32.atomic.rmw.add)\n";
    wat += " (func (export \"direct past the end\") (result i32) i32.const 65532 i32.const 5 i32.const 6 \
            i32.atomic.rmw.cmpxchg offset=4)\n)";
    wat
}

/// The memory instructions of `wasm` in order, as text with their immediates.
fn memory_ops(wasm: &[u8]) -> Vec<String> {
    let mut ops = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            let mut reader = body.get_operators_reader().unwrap();
            while !reader.eof() {
                let op = reader.read().unwrap();
                let text = format!("{op:?}");
                if text.contains("memarg")
                    || matches!(op, Operator::MemoryGrow { .. } | Operator::MemorySize { .. })
                {
                    ops.push(text);
                }
            }
        }
    }
    ops
}

#[test]
fn every_atomic_memarg_moves_by_the_base_and_only_that() {
    let wasm = wat::parse_str(module()).unwrap();
    let before = flight_rebase::analyse(&wasm).unwrap();
    assert_eq!(before.accesses.len(), atomics().len() * OFFSETS.len() + 2);
    assert_eq!(atomics().len(), 66);
    assert!(before.accesses.iter().all(|a| a.atomic));
    let base = 0x30000;
    for checks in [false, true] {
        let options = Options::new(base, PAGE).with_bounds_checks(checks);
        let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
        common::validate(&rebased);
        let after = flight_rebase::analyse(&rebased).unwrap();
        assert_eq!(after.accesses.len(), before.accesses.len());
        for (a, b) in before.accesses.iter().zip(&after.accesses) {
            assert_eq!((a.instruction, a.kind, a.align, a.size), (b.instruction, b.kind, b.align, b.size));
            assert_eq!(b.static_offset, a.static_offset + base, "{}", a.instruction);
        }
        // Operator for operator, the only difference is the offset.
        let (old, new) = (memory_ops(&wasm), memory_ops(&rebased));
        assert_eq!(old.len(), new.len());
        for ((o, n), a) in old.iter().zip(&new).zip(&before.accesses) {
            let moved = o.replace(
                &format!("offset: {},", a.static_offset),
                &format!("offset: {},", a.static_offset + base),
            );
            assert_eq!(&moved, n);
        }
        // The memory stays shared, now the size of the whole memory.
        let m = &after.memories[0];
        assert!(m.shared && m.initial == 4 && m.maximum == Some(4), "{m:?}");
        // Checks before every indirect access; the direct one in bounds has none.
        let checked: Vec<bool> = relocs
            .entries
            .iter()
            .filter_map(|e| match e.change {
                flight_rebase::RelocationKind::Memarg { checked, .. } => Some(checked),
                _ => None,
            })
            .collect();
        let indirect = checked.len() - 2;
        assert!(checked[..indirect].iter().all(|c| *c == checks));
        assert_eq!(checked[indirect..], [false, checks]);
    }
}

#[test]
fn lanes_and_alignment_survive() {
    let wasm = wat::parse_str(
        r#"(module (memory 1)
            (func (param i32 v128) (result v128)
              local.get 0 local.get 1 v128.load16_lane offset=6 align=1 5)
            (func (param i32 v128)
              local.get 0 local.get 1 v128.store64_lane offset=0 align=4 1))"#,
    )
    .unwrap();
    let (rebased, _) =
        flight_rebase::rebase(&wasm, &Options::new(PAGE, PAGE).with_bounds_checks(true)).unwrap();
    common::validate(&rebased);
    let ops = memory_ops(&rebased);
    assert!(
        ops[0].contains("align: 0") && ops[0].contains("offset: 65542") && ops[0].contains("lane: 5"),
        "{ops:?}"
    );
    assert!(
        ops[1].contains("align: 2") && ops[1].contains("offset: 65536") && ops[1].contains("lane: 1"),
        "{ops:?}"
    );
}

/// Runs `calls` under Node on `wasm`, one JSON line per call.
fn node(wasm: &[u8], calls: &str, base: u64, dir: &Path, tag: &str) -> Vec<serde_json::Value> {
    let module = dir.join(format!("{tag}.wasm"));
    let list = dir.join(format!("{tag}.json"));
    std::fs::write(&module, wasm).unwrap();
    std::fs::write(&list, calls).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&module)
        .arg(&list)
        .arg(base.to_string())
        .env("REGION_BYTES", PAGE.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn atomics_run_the_same_under_v8() {
    // Node is installed by `cargo xtask setup`: without it the test fails.
    assert!(
        Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success()),
        "node is not installed: run `cargo xtask setup` (Debian package nodejs)"
    );
    let wasm = wat::parse_str(module()).unwrap();
    let mut rng = Rng(7);
    let exports: Vec<(String, Vec<&str>)> = atomics()
        .into_iter()
        .flat_map(|(n, a, _)| OFFSETS.map(|o| (format!("{n} {o}"), a.clone())))
        .chain([("direct".to_string(), vec![]), ("direct past the end".to_string(), vec![])])
        .collect();
    let mut calls = Vec::new();
    for _ in 0..1500 {
        let (name, args) = &exports[rng.below(exports.len() as u64) as usize];
        let offset: u64 = name.rsplit(' ').next().and_then(|o| o.parse().ok()).unwrap_or(0);
        // Aligned addresses near 0 and near the end, sometimes misaligned or far out.
        let address = match rng.below(5) {
            0 => rng.below(64) & !7,
            1 | 2 => {
                (PAGE - offset).wrapping_sub(rng.below(6) * 8).wrapping_add(rng.below(3) * 8) & 0xffff_fff8
            }
            3 => rng.below(PAGE),
            _ => rng.next() as u32 as u64,
        };
        let mut list = vec![serde_json::json!(["i32", (address as u32 as i32).to_string()])];
        for (i, a) in args.iter().enumerate() {
            // A wait's timeout is 0 so that a matching value does not block.
            // Values from a small set half the time, so that `cmpxchg` and `wait` often find
            // what they expect.
            let v = match rng.below(4) {
                _ if name.contains("wait") && i == 1 => 0,
                0 | 1 => rng.below(3) as i64,
                _ => rng.below(1000) as i64 - 10,
            };
            list.push(serde_json::json!([a, v.to_string()]));
        }
        calls.push(serde_json::json!([name, list]));
    }
    let calls = serde_json::to_string(&calls).unwrap();
    let dir = std::env::temp_dir().join(format!("flight-rebase-atomics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = node(&wasm, &calls, 0, &dir, "original");
    let mut trapped = 0;
    for checks in [true, false] {
        let base = 2 * PAGE;
        let options = Options::new(base, PAGE).with_bounds_checks(checks).with_memory_pages(4);
        let (rebased, _) = flight_rebase::rebase(&wasm, &options).unwrap();
        let moved = node(&rebased, &calls, base, &dir, if checks { "checked" } else { "unchecked" });
        for (a, b) in original.iter().zip(&moved) {
            if a["result"] == "trap" {
                trapped += 1;
                // Without checks an out-of-bounds access may land in the rest of the memory:
                // from there on the runs may differ.
                if !checks {
                    break;
                }
            }
            assert_eq!(a["result"], b["result"], "{a} / {b}");
            assert_eq!(a["region"], b["region"], "{a} / {b}");
            assert_eq!(b["outside"], 0, "{b}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(trapped > 100, "{trapped}");
}

//! `flight merge` as users run it: a plan from `flight plan`, modules merged into one or written
//! separately.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

mod common;

use common::flight;

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flight-merge-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

const PHYSICS: &str = r#"(module
  (memory (export "memory") 1 2)
  (data (i32.const 16) "physics")
  (func (export "get") (param i32) (result i32) local.get 0 i32.load)
  (func $start i32.const 0 i32.const 7 i32.store)
  (start $start))"#;

const SCRIPT: &str = r#"(module
  (import "env" "log" (func (param i32)))
  (memory (export "memory") 2)
  (func (export "get") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "size") (result i32) memory.size))"#;

/// Plans two wasm components on the PSX; writes the modules; returns the plan's path.
fn setup(d: &Path) -> PathBuf {
    let spec = "platform = \"psx\"\n\
                [[component]]\nname = \"physics\"\nsize = \"128 KiB\"\nflags = [\"wasm\"]\n\
                [[component]]\nname = \"script\"\nsize = \"192 KiB\"\nflags = [\"wasm\"]\n";
    std::fs::write(d.join("game.toml"), spec).unwrap();
    let (ok, _, err) = flight(&["plan", &s(&d.join("game.toml")), "--out-dir", &s(d)]);
    assert!(ok, "{err}");
    std::fs::write(d.join("physics.wasm"), wat::parse_str(PHYSICS).unwrap()).unwrap();
    std::fs::write(d.join("logic.wasm"), wat::parse_str(SCRIPT).unwrap()).unwrap();
    d.join("game.plan.json")
}

/// Runs `flight merge --plan PLAN physics.wasm script=logic.wasm` with `rest` after: whether it
/// succeeded, standard output and standard error.
fn merge_both(d: &Path, plan: &Path, rest: &[&str]) -> (bool, String, String) {
    let (plan, physics, script) =
        (s(plan), s(&d.join("physics.wasm")), format!("script={}", s(&d.join("logic.wasm"))));
    let args: Vec<&str> =
        ["merge", "--plan", &plan, &physics, &script].into_iter().chain(rest.iter().copied()).collect();
    flight(&args)
}

fn segment(plan: &Path, name: &str) -> (u64, u64) {
    let plan = flight_plan::read(&std::fs::read_to_string(plan).unwrap()).unwrap();
    let s = plan.segment_for(name).unwrap();
    (s.start, s.size)
}

#[test]
fn merges_modules_into_their_plan_segments() {
    let d = dir("ok");
    let plan = setup(&d);
    let (out_wasm, relocs) = (d.join("game.wasm"), d.join("game.relocs.json"));
    let (ok, out, err) = merge_both(&d, &plan, &["-o", &s(&out_wasm), "--relocs", &s(&relocs), "--checks"]);
    assert!(ok, "{err}");
    let (physics, script) = (segment(&plan, "physics"), segment(&plan, "script"));
    let end = physics.0.max(script.0) + if physics.0 > script.0 { physics.1 } else { script.1 };
    assert!(out.contains(&format!("merged memory: {} pages", end.div_ceil(65536))), "{out}");
    assert!(
        out.contains(&format!("physics: segment [{:#x}, {:#x})", physics.0, physics.0 + physics.1)),
        "{out}"
    );
    assert!(out.contains("script: export `get` renamed `script.get`"), "{out}");
    assert!(out.contains("script: export `memory` renamed `script.memory`"), "{out}");

    let wasm = std::fs::read(&out_wasm).unwrap();
    let analysis = flight_rebase::analyse(&wasm).unwrap();
    assert_eq!(analysis.memories.len(), 1);
    assert_eq!(analysis.memories[0].initial, end.div_ceil(65536));
    assert!(analysis.data.iter().any(|d| matches!(d.mode,
        flight_rebase::DataMode::Active { address: Some(a), .. } if a == physics.0 + 16)));

    let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&relocs).unwrap()).unwrap();
    let modules = table["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 2);
    assert_eq!(modules[1]["module"], "script");
    assert_eq!(modules[1]["rebase"]["base"], script.0);
    assert_eq!(modules[1]["function_imports"], serde_json::json!([0]));

    // Each module's line counts its listed changes; without --relocs they are only counted,
    // and the lines are the same.
    let lines =
        |out: &str| out.lines().filter(|l| l.contains(": segment [")).map(String::from).collect::<Vec<_>>();
    assert_eq!(lines(&out).len(), 2, "{out}");
    for (line, m) in lines(&out).iter().zip(modules) {
        let changes = m["rebase"]["entries"].as_array().unwrap().len();
        assert!(changes >= 3 && line.contains(&format!(", {changes} changes, ")), "{line}");
    }
    let (ok, quiet, err) = merge_both(&d, &plan, &["-o", &s(&d.join("quiet.wasm")), "--checks"]);
    assert!(ok, "{err}");
    assert_eq!(lines(&quiet), lines(&out));
    assert!(std::fs::read(d.join("quiet.wasm")).unwrap() == wasm);
}

#[test]
fn writes_modules_separately_over_one_memory() {
    let d = dir("separate");
    let plan = setup(&d);
    let out_dir = d.join("out");
    let listing = d.join("relocs.txt");
    let (ok, out, err) =
        merge_both(&d, &plan, &["--separate", &s(&out_dir), "--relocs", &s(&listing), "--memory", "1 MiB"]);
    assert!(ok, "{err}");
    assert!(out.contains("merged memory: 16 pages"), "{out}");
    for name in ["physics", "script"] {
        let wasm = std::fs::read(out_dir.join(format!("{name}.wasm"))).unwrap();
        let analysis = flight_rebase::analyse(&wasm).unwrap();
        let m = &analysis.memories[0];
        assert!(m.imported && m.initial == 16, "{name}: {m:?}");
    }
    let text = std::fs::read_to_string(&listing).unwrap();
    assert!(text.contains("module physics") && text.contains("module script"), "{text}");
}

#[test]
fn errors_exit_1_with_the_message() {
    let d = dir("errors");
    let plan = setup(&d);
    let p = s(&plan);
    let physics = s(&d.join("physics.wasm"));
    let logic = s(&d.join("logic.wasm"));
    // The plan has no component `logic` (the file's stem).
    let (ok, _, err) = flight(&["merge", "--plan", &p, &physics, &logic, "-o", &s(&d.join("o.wasm"))]);
    assert!(!ok);
    assert!(err.contains("the plan has no segment named `logic` or owned by it"), "{err}");
    // A segment too small for the module.
    let big = d.join("big.wasm");
    std::fs::write(&big, wat::parse_str("(module (memory 4))").unwrap()).unwrap();
    let (ok, _, err) =
        flight(&["merge", "--plan", &p, &format!("physics={}", s(&big)), "-o", &s(&d.join("o.wasm"))]);
    assert!(!ok);
    assert!(err.starts_with("error: module `physics`: the memory's initial size (4 pages"), "{err}");
    // Neither -o nor --separate; a missing plan.
    let (ok, _, err) = flight(&["merge", "--plan", &p, &physics]);
    assert!(!ok && err.contains("give -o OUT.wasm, or --separate OUTDIR"), "{err}");
    let (ok, _, err) = flight(&["merge", "--plan", "missing.json", &physics, "-o", "x.wasm"]);
    assert!(!ok && err.contains("cannot read missing.json"), "{err}");
    // Overlapping segments in a plan edited by hand: physics made to reach into script's.
    let overlap = d.join("overlap.json");
    let mut edited = flight_plan::read(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let script_start = edited.segment_for("script").unwrap().start;
    let moved = edited.segments.iter_mut().find(|s| s.name == "physics").unwrap();
    moved.start = script_start - 65536;
    moved.end = moved.start + moved.size;
    std::fs::write(&overlap, edited.to_json()).unwrap();
    let (ok, _, err) =
        flight(&["merge", "--plan", &s(&overlap), &physics, &format!("script={logic}"), "-o", "x.wasm"]);
    assert!(!ok);
    let (ps, pe, ss) = (script_start - 65536, script_start - 65536 + 131072, script_start);
    assert_eq!(
        err,
        format!(
            "error: the segments of `physics` [{ps:#x}, {pe:#x}) and `script` [{ss:#x}, {:#x}) overlap\n",
            ss + 196608
        )
    );
    // A memory too small for the segments.
    let (ok, _, err) = flight(&["merge", "--plan", &p, &physics, "--memory", "64 KiB", "-o", "x.wasm"]);
    assert!(!ok && err.contains("does not hold the segments"), "{err}");
}

#[test]
fn sharers_reach_their_shared_regions_with_their_rights() {
    let d = dir("shared");
    let spec = "platform = \"psx\"\n\
                [[component]]\nname = \"writer\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n\
                [[component]]\nname = \"reader\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n\
                [[shared]]\nname = \"ring\"\nsize = \"4 KiB\"\nsharers = { writer = \"rw\", reader = \"r\" }\n";
    std::fs::write(d.join("ring.toml"), spec).unwrap();
    let (ok, _, err) = flight(&["plan", &s(&d.join("ring.toml")), "--out-dir", &s(&d)]);
    assert!(ok, "{err}");
    let module =
        r#"(module (memory 1) (func (export "put") (param i32 i32) local.get 0 local.get 1 i32.store))"#;
    std::fs::write(d.join("m.wasm"), wat::parse_str(module).unwrap()).unwrap();
    let plan_path = d.join("ring.plan.json");
    let m = s(&d.join("m.wasm"));
    let relocs = d.join("ring.relocs.json");
    let (ok, _, err) = flight(&[
        "merge",
        "--plan",
        &s(&plan_path),
        &format!("writer={m}"),
        &format!("reader={m}"),
        "-o",
        &s(&d.join("ring.wasm")),
        "--relocs",
        &s(&relocs),
        "--checks",
    ]);
    assert!(ok, "{err}");
    let plan = flight_plan::read(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let ring = plan.segments.iter().find(|s| s.name == "ring").unwrap();
    let table: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&relocs).unwrap()).unwrap();
    for (m, (name, access)) in
        table["modules"].as_array().unwrap().iter().zip([("writer", "read-write"), ("reader", "read")])
    {
        assert_eq!(m["module"], name);
        let base = m["rebase"]["base"].as_u64().unwrap();
        let shared = &m["rebase"]["shared"][0];
        assert_eq!(shared["range"]["start"].as_u64().unwrap(), ring.start - base, "{name}");
        assert_eq!(shared["access"], access, "{name}");
        assert!(
            ring.start >= base + m["rebase"]["size"].as_u64().unwrap(),
            "{name}: the ring lies above its segment"
        );
    }
}

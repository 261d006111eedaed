//! `flight rebase` as users run it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::flight;

/// A fresh directory for one test's files.
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flight-rebase-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const MODULE: &str = r#"(module
  (memory (export "memory") 1 2)
  (data (i32.const 16) "hello")
  (func (export "get") (param i32) (result i32) local.get 0 i32.load offset=4)
  (func (export "put") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#;

#[test]
fn rebases_a_module_and_writes_the_relocations() {
    let d = dir("ok");
    let input = d.join("in.wasm");
    std::fs::write(&input, wat::parse_str(MODULE).unwrap()).unwrap();
    let (output, json, listing) = (d.join("out.wasm"), d.join("relocs.json"), d.join("relocs.txt"));
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let (ok, out, err) = flight(&[
        "rebase",
        &s(&input),
        "--base",
        "0x20000",
        "--size",
        "128 KiB",
        "-o",
        &s(&output),
        "--relocs",
        &s(&json),
        "--checks",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("segment [0x20000, 0x40000)"), "{out}");
    assert!(out.contains("2 accesses moved (2 checked), 1 data segments"), "{out}");

    let rebased = std::fs::read(&output).unwrap();
    let analysis = flight_rebase::analyse(&rebased).unwrap();
    assert_eq!(analysis.accesses[0].static_offset, 0x20004);
    assert_eq!(analysis.accesses[1].static_offset, 0x20000);

    let relocs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(relocs["base"], 0x20000);
    assert_eq!(relocs["size"], 0x20000);
    assert_eq!(relocs["bounds_checks"], true);
    let kinds: Vec<&str> =
        relocs["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["memory", "memarg", "memarg", "call", "data"]);
    let data = &relocs["entries"][4];
    assert_eq!((data["old_address"].as_u64(), data["new_address"].as_u64()), (Some(16), Some(0x20010)));
    assert_eq!(relocs["helpers"][0]["name"], "memory.grow");

    // A listing when the name does not end in .json.
    let (ok, _, err) = flight(&[
        "rebase",
        &s(&input),
        "--base",
        "128KiB",
        "--size",
        "131072",
        "-o",
        &s(&output),
        "--relocs",
        &s(&listing),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&listing).unwrap();
    assert!(text.starts_with("segment [0x20000, 0x40000) (2 pages), bounds checks off\n"), "{text}");
    assert!(text.contains("i32.load                   offset 0x4 -> 0x20004"), "{text}");
    assert!(text.contains("data 0                     address 0x10 -> 0x20010"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn errors_exit_1_with_the_message() {
    let d = dir("errors");
    let good = d.join("good.wasm");
    std::fs::write(&good, wat::parse_str(MODULE).unwrap()).unwrap();
    let bad = d.join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01\x05").unwrap();
    let out = d.join("out.wasm");
    let (g, b, o) = (good.to_str().unwrap(), bad.to_str().unwrap(), out.to_str().unwrap());
    let cases: &[(&[&str], &str)] = &[
        (
            &["rebase", "missing.wasm", "--base", "0", "--size", "64KiB", "-o", o],
            "error: cannot read missing.wasm",
        ),
        (&["rebase", b, "--base", "0", "--size", "64KiB", "-o", o], "invalid module: at offset 0x"),
        (&["rebase", g, "--base", "12", "--size", "64KiB", "-o", o], "multiples of 64 KiB"),
        (&["rebase", g, "--base", "lots", "--size", "64KiB", "-o", o], "error: --base: `lots` is not a size"),
        (&["rebase", g, "--base", "0", "--size", "64KiB", "-o", o], "maximum (2 pages"),
        (
            &["rebase", g, "--base", "0", "--size", "1MiB", "-o", o, "--shared", "5"],
            "--shared: `5` is not START..END",
        ),
    ];
    for (args, message) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_flight")).args(*args).output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(output.stdout.is_empty());
    }
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn no_validate_skips_typing_errors_but_not_malformed_bytes_and_debug_sections_are_dropped() {
    let d = dir("trusted");
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    let rebase = |input: &PathBuf, extra: &[&str]| {
        let output = d.join("out.wasm");
        let mut args = vec!["rebase".to_string(), s(input), "--base".into(), "0x10000".into()];
        args.extend(["--size", "64 KiB", "-o"].map(String::from));
        args.push(s(&output));
        args.extend(extra.iter().map(|a| a.to_string()));
        flight(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // A load whose result is returned as the wrong type: well formed, badly typed.
    let mut mistyped = wat::parse_str(
        r#"(module (memory 1) (func (param i32) (result i64) local.get 0 i32.load offset=4 i64.extend_i32_u))"#,
    )
    .unwrap();
    let at = mistyped.iter().rposition(|&b| b == 0xad).unwrap(); // i64.extend_i32_u
    mistyped[at] = 0x01; // nop: the function now returns an i32
    // A debug section, which holds code offsets.
    mistyped.extend_from_slice(&[0, 12, 11]);
    mistyped.extend_from_slice(b".debug_info");
    let input = d.join("mistyped.wasm");
    std::fs::write(&input, &mistyped).unwrap();
    let (ok, _, err) = rebase(&input, &[]);
    assert!(!ok && err.contains("type mismatch"), "{err}");
    let (ok, out, err) = rebase(&input, &["--no-validate"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 accesses moved")
            && out.contains("dropped custom sections that hold code offsets: .debug_info"),
        "{out}"
    );

    // An unknown opcode is an error, validation or not, and names the function.
    let mut malformed = mistyped.clone();
    malformed[at] = 0xff;
    let input = d.join("malformed.wasm");
    std::fs::write(&input, &malformed).unwrap();
    for extra in [&[][..], &["--no-validate"][..]] {
        let (ok, _, err) = rebase(&input, extra);
        assert!(!ok && err.contains("function 0") && err.contains("0xff"), "{extra:?}: {err}");
    }
}

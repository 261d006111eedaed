//! The runner's own tests on the Cortex-M3 reference board: one deliberate image per result kind.
//!
//! They need the Cortex-M images (`cargo xtask build --console cortex-m`) and qemu-system-arm
//! (`cargo xtask setup`), so a plain `cargo test` ignores them; `cargo xtask test` runs them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::time::Duration;

use flight_emulator_tests::{Kind, RunResult, qemu};

fn boot(name: &str, timeout: u64) -> RunResult {
    let image = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/images/cortex-m")
        .join(format!("{name}.elf"));
    assert!(image.exists(), "{} is missing: run `cargo xtask build --console cortex-m`", image.display());
    let r = qemu::run_lm3s6965(&image, Duration::from_secs(timeout))
        .unwrap_or_else(|e| panic!("qemu could not run {name}: {e}"));
    common::nothing_left_running(&r);
    r
}

#[test]
#[ignore = "needs the Cortex-M images and qemu: cargo xtask test"]
fn the_suite_passes_and_exits_with_status_0() {
    let r = boot("suite", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Pass, Some(0)), "{r}\n{}", r.log.join("\n"));
    assert!(r.summary.is_some_and(|(p, f)| p >= 6 && f == 0), "{r}");
    // SysTick, measured against the host's clock, times the allocators, the checker and the
    // lock: each figure is there and is not zero.
    let log = r.log.join("\n");
    let figure = |what: &str| {
        let line = r.console.iter().find(|l| l.starts_with(&format!("time cortex-m {what}: ")));
        let line = line.unwrap_or_else(|| panic!("no `time cortex-m {what}` line:\n{log}"));
        let n: f64 =
            line.split(": ").nth(1).and_then(|v| v.split(' ').next()).and_then(|v| v.parse().ok()).unwrap();
        assert!(n > 0.0, "{line}");
        n
    };
    let hz = figure("clock");
    assert!((1e6..4e9).contains(&hz), "SysTick at {hz} Hz");
    for what in ["linear", "stack", "pool", "tlsf", "buddy", "layout-check allowed", "lock", "ring"] {
        figure(what);
    }
}

#[test]
#[ignore = "needs the Cortex-M images and qemu: cargo xtask test"]
fn a_failing_test_is_a_fail_with_status_1() {
    let r = boot("fails", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Fail, Some(1)), "{r}");
}

#[test]
#[ignore = "needs the Cortex-M images and qemu: cargo xtask test"]
fn a_panic_is_a_panic() {
    let r = boot("panics", 30);
    assert_eq!(r.kind, Kind::Panic, "{r}");
    assert!(r.detail.contains("deliberate panic: index 3 of a table of 3"), "{r}");
}

#[test]
#[ignore = "needs the Cortex-M images and qemu: cargo xtask test"]
fn an_undefined_instruction_is_a_crash_with_its_pc() {
    let r = boot("crashes", 30);
    assert_eq!(r.kind, Kind::Crash, "{r}");
    assert!(r.detail.contains("HardFault at pc 0x"), "{r}");
}

#[test]
#[ignore = "needs the Cortex-M images and qemu: cargo xtask test"]
fn no_end_marker_is_a_hang() {
    let r = boot("hangs", 2);
    assert_eq!(r.kind, Kind::Hang, "{r}");
    assert!(r.run_time < Duration::from_secs(6), "{r}");
}

//! The runner's own tests in pcsxr: one deliberate image per result kind.
//!
//! They need the PSX images (`cargo xtask build --console psx`) and pcsxr (`cargo xtask setup`),
//! so they are ignored by a plain `cargo test`; `cargo xtask test` runs them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::time::Duration;

use flight_emulator_tests::{Kind, RunResult, pcsxr};

fn boot(name: &str, timeout: u64) -> RunResult {
    let image =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/images/psx").join(format!("{name}.exe"));
    assert!(image.exists(), "{} is missing: run `cargo xtask build --console psx`", image.display());
    pcsxr::run(&image, Duration::from_secs(timeout))
        .unwrap_or_else(|e| panic!("pcsxr could not run {name}: {e}"))
}

/// pcsxr and Xvfb were both started, and both are gone.
fn nothing_left_running(r: &RunResult) {
    assert_eq!(r.pids.len(), 2, "pcsxr and Xvfb: {:?}", r.pids);
    common::nothing_left_running(r);
}

#[test]
#[ignore = "needs the PSX images and pcsxr: cargo xtask test"]
fn the_suite_passes() {
    let r = boot("suite", 30);
    assert_eq!(r.kind, Kind::Pass, "{r}\n{}", r.log.join("\n"));
    let (passed, failed) = r.summary.unwrap();
    assert!(passed >= 9 && failed == 0, "{r}");
    nothing_left_running(&r);
}

#[test]
#[ignore = "needs the PSX images and pcsxr: cargo xtask test"]
fn a_failing_test_is_a_fail() {
    let r = boot("fails", 30);
    assert_eq!(r.kind, Kind::Fail, "{r}");
    let failed: Vec<_> = r.tests.iter().filter(|t| t.failure.is_some()).map(|t| t.name.as_str()).collect();
    assert_eq!(failed, ["two_is_three"], "{r}");
}

#[test]
#[ignore = "needs the PSX images and pcsxr: cargo xtask test"]
fn a_panic_is_a_panic_with_its_message() {
    let r = boot("panics", 30);
    assert_eq!(r.kind, Kind::Panic, "{r}");
    assert!(r.detail.contains("deliberate panic: index 3 of a table of 3"), "{r}");
    assert!(r.detail.contains("deliberate.rs:"), "{r}");
}

#[test]
#[ignore = "needs the PSX images and pcsxr: cargo xtask test"]
fn an_emulator_that_dies_is_a_crash() {
    let r = boot("crashes", 30);
    assert_eq!(r.kind, Kind::Crash, "{r}");
    assert!(r.detail.contains("SIGSEGV"), "{r}");
    nothing_left_running(&r);
}

#[test]
#[ignore = "needs the PSX images and pcsxr: cargo xtask test"]
fn no_end_marker_is_a_hang_after_the_timeout() {
    let r = boot("hangs", 3);
    assert_eq!(r.kind, Kind::Hang, "{r}");
    assert!(r.run_time >= Duration::from_secs(3) && r.run_time < Duration::from_secs(10), "{r}");
    assert!(r.boot_time.is_some(), "the image did begin: {r}");
    nothing_left_running(&r);
}

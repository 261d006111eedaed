//! The runner's own tests in PPSSPP: one deliberate image per result kind.
//!
//! They need the PSP images (`cargo xtask build --console psp`) and PPSSPP (`cargo xtask
//! setup`), so a plain `cargo test` ignores them; `cargo xtask test` runs them. Each boot starts
//! a Chromium: the tests take turns, so two cores are not asked to run several at once.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use flight_emulator_tests::{Kind, RunResult, ppsspp};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn boot(name: &str, timeout: u64) -> RunResult {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let image =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/images/psp").join(format!("{name}.pbp"));
    assert!(image.exists(), "{} is missing: run `cargo xtask build --console psp`", image.display());
    let r = ppsspp::run(&image, Duration::from_secs(timeout))
        .unwrap_or_else(|e| panic!("PPSSPP could not run {name}: {e}"));
    common::nothing_left_running(&r);
    r
}

#[test]
#[ignore = "needs the PSP images and PPSSPP: cargo xtask test"]
fn the_suite_passes() {
    let r = boot("suite", 60);
    assert_eq!(r.kind, Kind::Pass, "{r}\n{}", r.log.join("\n"));
    assert!(r.summary.is_some_and(|(p, f)| p >= 10 && f == 0), "{r}");
}

#[test]
#[ignore = "needs the PSP images and PPSSPP: cargo xtask test"]
fn a_failing_test_is_a_fail() {
    let r = boot("fails", 60);
    assert_eq!(r.kind, Kind::Fail, "{r}");
    assert!(r.detail.ends_with("two_is_three"), "{r}");
}

#[test]
#[ignore = "needs the PSP images and PPSSPP: cargo xtask test"]
fn a_panic_is_a_panic() {
    let r = boot("panics", 60);
    assert_eq!(r.kind, Kind::Panic, "{r}");
    assert!(r.detail.contains("deliberate panic: index 3 of a table of 3"), "{r}");
}

#[test]
#[ignore = "needs the PSP images and PPSSPP: cargo xtask test"]
fn a_jump_into_nothing_is_a_crash() {
    let r = boot("crashes", 60);
    assert_eq!(r.kind, Kind::Crash, "{r}");
    assert!(r.detail.contains("Invalid exec address 00000004"), "{r}");
}

#[test]
#[ignore = "needs the PSP images and PPSSPP: cargo xtask test"]
fn no_end_marker_is_a_hang() {
    let r = boot("hangs", 15);
    assert_eq!(r.kind, Kind::Hang, "{r}");
    assert!(r.boot_time.is_some(), "the image did begin: {r}");
}

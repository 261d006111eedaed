//! The runner's own tests in pcsx_rearmed: one deliberate image per result kind, and the
//! harness's copy of the mailbox layout against the platform crate's.
//!
//! The emulator tests need the PSX images (`cargo xtask build --console psx`) and the core
//! (`cargo xtask setup`), so a plain `cargo test` ignores them; `cargo xtask test` runs them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::time::Duration;

use flight_emulator_tests::{Kind, RunResult, rearmed};

fn boot(name: &str, timeout: u64) -> RunResult {
    let image =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/images/psx").join(format!("{name}.exe"));
    assert!(image.exists(), "{} is missing: run `cargo xtask build --console psx`", image.display());
    let r = rearmed::run(&image, Duration::from_secs(timeout))
        .unwrap_or_else(|e| panic!("pcsx_rearmed could not run {name}: {e}"));
    common::nothing_left_running(&r);
    r
}

#[test]
fn the_harness_mirrors_the_mailbox_layout() {
    let js = std::fs::read_to_string(rearmed::harness()).unwrap();
    let line =
        js.lines().find(|l| l.starts_with("const MAILBOX = {")).expect("a `const MAILBOX = {...}` line");
    for (field, offset) in flight_platform_psx::mailbox::FIELDS {
        assert!(
            line.contains(&format!("{field}: {offset}")),
            "{field} at {offset} in the platform crate; harness: {line}"
        );
    }
}

#[test]
#[ignore = "needs the PSX images and pcsx_rearmed: cargo xtask test"]
fn the_suite_passes() {
    let r = boot("suite", 60);
    assert_eq!(r.kind, Kind::Pass, "{r}\n{}", r.log.join("\n"));
    assert!(r.summary.is_some_and(|(p, f)| p >= 10 && f == 0), "{r}");
}

#[test]
#[ignore = "needs the PSX images and pcsx_rearmed: cargo xtask test"]
fn a_failing_test_is_a_fail() {
    let r = boot("fails", 60);
    assert_eq!(r.kind, Kind::Fail, "{r}");
    assert!(r.detail.ends_with("two_is_three"), "{r}");
}

#[test]
#[ignore = "needs the PSX images and pcsx_rearmed: cargo xtask test"]
fn a_panic_is_a_panic() {
    let r = boot("panics", 60);
    assert_eq!(r.kind, Kind::Panic, "{r}");
    assert!(r.detail.contains("deliberate panic: index 3 of a table of 3"), "{r}");
}

#[test]
#[ignore = "needs the PSX images and pcsx_rearmed: cargo xtask test"]
fn an_address_error_is_a_crash_reported_by_the_runtime() {
    let r = boot("crashes", 60);
    assert_eq!(r.kind, Kind::Crash, "{r}");
    assert!(
        r.detail.contains("address error on load (code 4)") && r.detail.contains("bad address 0x8010_0001"),
        "{r}"
    );
}

#[test]
#[ignore = "needs the PSX images and pcsx_rearmed: cargo xtask test"]
fn no_end_marker_is_a_hang() {
    let r = boot("hangs", 5);
    assert_eq!(r.kind, Kind::Hang, "{r}");
    assert!(r.boot_time.is_some(), "the image did begin: {r}");
}

//! The R2D runner's own tests on qemu-system-sh4: one deliberate image per result kind, and the
//! SH-4 runtime's self-test with and without its GCC plugin.
//!
//! They need the dreamcast images (`cargo xtask build --console dreamcast`) and gxemul
//! (`cargo xtask setup`), so a plain `cargo test` ignores them; `cargo xtask test` runs them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use std::path::PathBuf;
use std::time::Duration;

use flight_emulator_tests::{Kind, RunResult, qemu_sh4};

fn boot(name: &str, timeout: u64) -> RunResult {
    let image = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/images/dreamcast")
        .join(format!("{name}-r2d.bin"));
    assert!(image.exists(), "{} is missing: run `cargo xtask build --console dreamcast`", image.display());
    let r = qemu_sh4::run_r2d(&image, Duration::from_secs(timeout))
        .unwrap_or_else(|e| panic!("qemu could not run {name}: {e}"));
    assert_eq!(r.pids.len(), 1, "one qemu process: {:?}", r.pids);
    common::nothing_left_running(&r);
    r
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn the_suite_passes_and_exits_with_status_0() {
    let r = boot("suite", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Pass, Some(0)), "{r}\n{}", r.log.join("\n"));
    assert!(r.summary.is_some_and(|(p, f)| p >= 8 && f == 0), "{r}");
    assert!(
        r.console.iter().any(|l| l.starts_with("dreamcast-r2d: ")),
        "the console is not `dreamcast-r2d`: {r}"
    );
    assert!(
        r.console
            .iter()
            .any(|l| l == "test vram_keeps_what_is_written ... skipped: this machine has no PowerVR VRAM"),
        "the R2D has no VRAM, yet its check was not skipped: {r}"
    );
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn a_failing_test_is_a_fail_with_status_1() {
    let r = boot("fails", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Fail, Some(1)), "{r}");
    assert!(r.detail.contains("two_is_three"), "{r}");
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn a_panic_is_a_panic_with_status_101() {
    let r = boot("panics", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Panic, Some(101)), "{r}");
    assert!(r.detail.contains("deliberate panic: index 3 of a table of 3"), "{r}");
}

/// qemu checks alignment as the SH-4 does: the unaligned load raises an address error.
#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn an_unaligned_load_is_a_crash_reported_by_the_vector_handler() {
    let r = boot("crashes", 30);
    assert_eq!((r.kind, r.exit_code), (Kind::Crash, Some(139)), "{r}");
    assert!(r.detail.contains("address error on read (EXPEVT 0x000000e0) at pc 0x8c8"), "{r}");
    assert!(!r.console.iter().any(|l| l.contains("test trapa")), "the load did not fault: {r}");
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn no_end_marker_is_a_hang() {
    let r = boot("hangs", 2);
    assert_eq!(r.kind, Kind::Hang, "{r}");
    assert!(r.run_time < Duration::from_secs(6), "{r}");
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn the_runtime_self_test_passes_with_the_plugin() {
    let r = boot("rttest", 30);
    common::runtime_self_test_passes(&r);
}

#[test]
#[ignore = "needs the dreamcast images and qemu-system-sh4: cargo xtask test"]
fn without_the_plugin_gcc_miscompiles_the_branch() {
    let r = boot("rttest-noplugin", 30);
    common::runtime_self_test_fails_without_the_plugin(&r);
}

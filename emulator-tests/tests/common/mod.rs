//! What the runners' own tests share.

#![allow(dead_code)] // each test file uses the part it needs

use flight_emulator_tests::{Kind, RunResult};

/// Every process the run started is gone: no `/proc` entry, or a zombie its own parent has yet
/// to reap (helpers started in a session of their own are reaped by init).
pub fn nothing_left_running(r: &RunResult) {
    for pid in &r.pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next());
        assert!(stat.is_empty() || state == Some('Z'), "process {pid} of the run is still running: {stat}");
    }
}

/// The SH-4 runtime's self-test, built with the GCC plugin, passes every case.
pub fn runtime_self_test_passes(r: &RunResult) {
    assert_eq!((r.kind, r.exit_code), (Kind::Pass, Some(0)), "{r}\n{}", r.console.join("\n"));
    let names: Vec<&str> = r.tests.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["sh_treg_combine", "setjmp_longjmp", "i64_helpers", "libgcc_division_is_replaced"]);
}

/// Built without the plugin, GCC miscompiles the branch of `sh_treg_combine`, and only that.
pub fn runtime_self_test_fails_without_the_plugin(r: &RunResult) {
    assert_eq!((r.kind, r.exit_code), (Kind::Fail, Some(1)), "{r}");
    let failed: Vec<&str> = r.tests.iter().filter(|t| t.failure.is_some()).map(|t| t.name.as_str()).collect();
    assert_eq!(failed, ["sh_treg_combine"], "{r}");
}

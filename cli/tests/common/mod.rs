//! What the `flight` tests share: running the binary.

use std::process::Command;

/// Runs `flight ARGS`: (success, stdout, stderr).
pub fn flight(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flight")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

//! The no-MMU reference board: an LM3S6965 (Cortex-M3) in `qemu-system-arm`, with semihosting.
//!
//! The image prints through semihosting (qemu writes it to its standard output) and ends with a
//! semihosting exit whose status becomes qemu's: the runner requires it to agree with the
//! protocol, so an image that prints a passing summary but exits with failure does not pass.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Options};
use crate::{Kind, RunResult};

/// The emulator program.
pub const QEMU_ARM: &str = "qemu-system-arm";

pub use crate::StartError as Error;

/// qemu's version (`qemu 7.2.22`).
pub fn version() -> Result<String, Error> {
    crate::reported_version(QEMU_ARM, &["--version"], "QEMU emulator version ")
        .map(|v| format!("qemu {v}"))
        .map_err(Error::Missing)
}

/// Boots an ELF `image` on qemu's `lm3s6965evb` and waits at most `timeout` for the end marker.
pub fn run_lm3s6965(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    if !crate::on_path(QEMU_ARM) {
        return Err(Error::Missing(format!("{QEMU_ARM} is not installed")));
    }
    let image = crate::image_path(image)?;
    let mut cmd = Command::new(QEMU_ARM);
    cmd.args([
        "-M",
        "lm3s6965evb",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "null",
        "-nic",
        "none",
    ])
    .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
    .arg(&image);
    let mut r =
        process::run(&mut cmd, Options { exit_grace: Duration::from_secs(5), ..Options::new(timeout) })?;
    agree_with_exit_status(&mut r);
    Ok(r)
}

/// A pass needs exit status 0; any other result needs a non-zero one (or none, for a hang).
fn agree_with_exit_status(r: &mut RunResult) {
    match (r.kind, r.exit_code) {
        (Kind::Pass, Some(0)) | (Kind::Hang, _) => {}
        (Kind::Pass, code) => {
            r.kind = Kind::Fail;
            r.detail = format!("{}, but the semihosting exit status is {code:?}, not 0", r.detail);
        }
        (_, Some(0)) => r.detail = format!("{} (and yet the exit status is 0)", r.detail),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Stop, classify};

    fn result(text: &str, code: Option<i32>) -> RunResult {
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let mut r = classify(&lines, &Stop::End, |l| l);
        r.exit_code = code;
        agree_with_exit_status(&mut r);
        r
    }

    const PASS: &str = "@@BEGIN@@\ntest a ... ok\ncortex-m: 1 passed, 0 failed\n@@END@@";

    #[test]
    fn a_pass_needs_exit_status_0() {
        assert_eq!(result(PASS, Some(0)).kind, Kind::Pass);
        let r = result(PASS, Some(1));
        assert_eq!(r.kind, Kind::Fail);
        assert!(r.detail.contains("exit status is Some(1), not 0"), "{}", r.detail);
        assert_eq!(result(PASS, None).kind, Kind::Fail, "qemu killed before it exited");
    }
}

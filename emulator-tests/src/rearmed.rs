//! PlayStation images in pcsx_rearmed: the EmulatorJS WebAssembly build of the libretro core,
//! driven by `js/pcsx_rearmed.mjs` under Node, with no display.
//!
//! That build never shows the BIOS TTY, so the harness reads the image's output from the RAM
//! mailbox of `flight_platform_psx::mailbox` (at `flight_platform_psx::map::MAILBOX`) after
//! every frame and prints it; the core's own log goes to standard error, kept for the run's log
//! only. The core is installed by `cargo xtask setup` into `.flight/emulators/pcsx_rearmed`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::RunResult;
use crate::process::{self, Options};

/// The Node harness.
pub fn harness() -> PathBuf {
    crate::harness("pcsx_rearmed.mjs")
}

/// Where the set-up step puts the extracted core.
pub fn core_dir() -> PathBuf {
    crate::emulators_dir().join("pcsx_rearmed")
}

pub use crate::StartError as Error;

/// The core's EmulatorJS release and Node's version (`pcsx_rearmed (EmulatorJS 4.2.3) on Node
/// 20.20.2`).
pub fn version() -> Result<String, Error> {
    let core = crate::installed_version(&core_dir()).map_err(Error::Missing)?;
    let node = crate::reported_version("node", &["--version"], "v").map_err(Error::Missing)?;
    Ok(format!("pcsx_rearmed (EmulatorJS {core}) on Node {node}"))
}

/// Boots `image` (a PS-EXE) and waits at most `timeout` for the end marker.
pub fn run(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    let core = core_dir();
    if !core.is_dir() {
        return Err(Error::Missing(format!("the pcsx_rearmed core is not installed in {}", core.display())));
    }
    let image = crate::image_path(image)?;
    let mut cmd = Command::new("node");
    cmd.arg(harness())
        .arg("--core")
        .arg(&core)
        .arg("--image")
        .arg(&image)
        .arg("--mailbox")
        .arg(format!("{:#x}", flight_platform_psx::map::MAILBOX))
        // The harness's own limit lies beyond ours: the runner, not the harness, calls a hang.
        .arg("--timeout")
        .arg((timeout.as_secs() + 30).to_string());
    let options = Options {
        exit_grace: Duration::from_secs(2),
        console_on_stderr: false,
        term_grace: Duration::from_secs(3),
        ..Options::new(timeout)
    };
    Ok(process::run(&mut cmd, options)?)
}

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
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js/pcsx_rearmed.mjs")
}

/// Where the set-up step puts the extracted core (`FLIGHT_EMULATORS` overrides the parent).
pub fn core_dir() -> PathBuf {
    std::env::var_os("FLIGHT_EMULATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.flight/emulators"))
        .join("pcsx_rearmed")
}

/// Something that stopped a run from starting.
#[derive(Debug)]
pub enum Error {
    /// The core or Node is missing.
    Missing(String),
    /// An I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(what) => write!(f, "{what} (run `cargo xtask setup`)"),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

/// Boots `image` (a PS-EXE) and waits at most `timeout` for the end marker.
pub fn run(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    let core = core_dir();
    if !core.is_dir() {
        return Err(Error::Missing(format!("the pcsx_rearmed core is not installed in {}", core.display())));
    }
    let image =
        image.canonicalize().map_err(|e| Error::Missing(format!("image {}: {e}", image.display())))?;
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
    let options =
        Options { exit_grace: Duration::from_secs(2), console_on_stderr: false, ..Options::new(timeout) };
    process::run(&mut cmd, options).map_err(Error::Io)
}

//! SH-4 images on qemu's R2D board (console `dreamcast-r2d`), headless.
//!
//! `qemu-system-sh4 -M r2d` emulates the Renesas RTS7751R2D: an SH7751R with 64 MiB of SDRAM at
//! the Dreamcast's RAM address, the same SCIF and TMU, and no PowerVR, AICA or BIOS. `-kernel`
//! loads a raw binary (linked at 0x8C80_0000) at physical 0x0C80_0000 and enters it through P2.
//! The SCIF is the board's second serial port; the runner sends it to a file and follows that
//! file ([`crate::file_console`]), as the Dreamcast runner does. The image ends by writing the FPGA's
//! power-off register, which ends qemu with status 0 whatever happened, so the status comes
//! from the runtime's `flight-sh4: exit N` line. `-nic none` is needed: the board's default
//! network card wants a ROM Debian does not ship. `-icount shift=0` makes virtual time count
//! instructions (one nanosecond each) instead of following the host's clock, so the TMU's
//! figures are the same on every run and measure the code, not the machine running qemu.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::StartError as Error;
use crate::file_console::{follow, settle};
use crate::process::Guard;
use crate::{RunResult, on_path};

/// The emulator program.
pub const QEMU_SH4: &str = "qemu-system-sh4";

/// qemu's version (`qemu 7.2.22`).
pub fn version() -> Result<String, Error> {
    crate::reported_version(QEMU_SH4, &["--version"], "QEMU emulator version ")
        .map(|v| format!("qemu {v}"))
        .map_err(Error::Missing)
}

/// Boots `image` (a raw binary linked at 0x8C80_0000) on qemu's R2D board and waits at most
/// `timeout` for the end marker.
pub fn run_r2d(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    if !on_path(QEMU_SH4) {
        return Err(Error::Missing(format!("{QEMU_SH4} is not installed")));
    }
    if !image.is_file() {
        return Err(Error::Image(format!("image {}: no such file", image.display())));
    }
    let dir = tempfile::tempdir()?;
    let serial = dir.path().join("serial.log");
    let log = File::create(dir.path().join("qemu.log"))?;
    let mut serial_arg = std::ffi::OsString::from("file:");
    serial_arg.push(&serial);

    let start = Instant::now();
    let mut cmd = Command::new(QEMU_SH4);
    cmd.args(["-M", "r2d", "-display", "none", "-monitor", "none", "-nic", "none", "-icount", "shift=0"])
        .args(["-serial", "null"])
        .arg("-serial")
        .arg(serial_arg)
        .arg("-kernel")
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    let mut guard = Guard::spawn(&mut cmd)?;
    let console = || Some(serial.clone());
    let followed = follow(&mut guard, console, start, timeout);
    guard.kill();
    let mut result = settle(followed, start);
    result.pids.push(guard.pid());
    let qemu_log = std::fs::read_to_string(dir.path().join("qemu.log")).unwrap_or_default();
    result.log.extend(qemu_log.lines().map(String::from));
    Ok(result)
}

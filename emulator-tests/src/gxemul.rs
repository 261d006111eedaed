//! SH-4 images on gxemul's Dreamcast machine (console `dreamcast`), headless.
//!
//! gxemul 0.7 emulates the Dreamcast's SH7750, its 16 MiB of RAM, the SCIF and the BIOS calls.
//! With `-x` it shows each serial port in a terminal: it runs `$XTERM -title TITLE -e RELAY`,
//! where the relay is a second gxemul process that copies the port to its terminal. Here
//! `$XTERM` is a small script that records the relay's PID and title and runs it with its
//! output going to a file and its input on a FIFO opened read-write (a relay, like gxemul
//! itself, spins when its input reaches end of file). The runner follows the SCIF relay's file.
//!
//! The image (an ELF linked at 0x8C01_0000) ends through the BIOS's exit call, which stops
//! gxemul; the runtime prints `flight-sh4: exit N` first, since that call carries no status.
//! The relays call `setsid()`, so they are not in gxemul's process group: they are killed by
//! PID, after checking `/proc` still names gxemul for that PID. Every run is bounded by its
//! timeout, and every process it started is gone when it returns.
//!
//! The SCIF relay's file is read by [`crate::file_console`], as the R2D runner's is.

use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

pub use crate::StartError as Error;
use crate::file_console::{follow, settle};
use crate::process::Guard;
use crate::{RunResult, on_path};

/// The emulator program.
pub const GXEMUL: &str = "gxemul";

/// The `$XTERM` stand-in: `xterm -geometry G -title TITLE ... -e CMD ARGS...`.
fn xterm_script(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "#!/bin/sh\n\
         title=\n\
         while [ $# -gt 0 ] && [ \"$1\" != -e ]; do\n\
         \x20 [ \"$1\" = -title ] && title=$2\n\
         \x20 shift\n\
         done\n\
         shift\n\
         echo $$ >\"{d}/relay.$$.pid\"\n\
         printf '%s\\n' \"$title\" >\"{d}/relay.$$.title\"\n\
         exec \"$@\" <>\"{d}/in\" >\"{d}/relay.$$.log\" 2>&1\n"
    )
}

/// gxemul's version, from its banner (`gxemul 0.7.0`).
pub fn version() -> Result<String, Error> {
    crate::reported_version(GXEMUL, &["-V"], "GXemul ").map(|v| format!("gxemul {v}")).map_err(Error::Missing)
}

/// Boots `image` (an ELF linked at 0x8C01_0000) on gxemul's Dreamcast machine and waits at
/// most `timeout` for the end marker.
pub fn run(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    if !on_path(GXEMUL) {
        return Err(Error::Missing(format!("{GXEMUL} is not installed")));
    }
    let image = crate::image_path(image)?;
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("in");
    let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_bytes())
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
    // SAFETY: mkfifo(3) reads the NUL-terminated path, which outlives the call.
    if unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) } != 0 {
        return Err(Error::Io(std::io::Error::last_os_error()));
    }
    let xterm = dir.path().join("xterm");
    std::fs::write(&xterm, xterm_script(dir.path()))?;
    std::fs::set_permissions(&xterm, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    // Read-write, so that opening it does not block and it never reports end of file.
    let input = OpenOptions::new().read(true).write(true).open(&fifo)?;
    let log = File::create(dir.path().join("gxemul.log"))?;

    let start = Instant::now();
    let mut cmd = Command::new(GXEMUL);
    cmd.args(["-q", "-x", "-M", "16", "-E", "dreamcast"])
        .arg(&image)
        .env("XTERM", &xterm)
        .stdin(Stdio::from(input))
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    let mut guard = Guard::spawn(&mut cmd)?;
    let console = || scif_log(dir.path());
    let followed = follow(&mut guard, console, start, timeout);
    guard.kill();
    // A relay gxemul started just before it was killed records its PID within moments.
    thread::sleep(Duration::from_millis(20));
    let relays = kill_relays(dir.path());
    let mut result = settle(followed, start);
    result.pids.push(guard.pid());
    result.pids.extend(relays);
    let emulator_log = std::fs::read_to_string(dir.path().join("gxemul.log")).unwrap_or_default();
    result.log.extend(emulator_log.lines().map(String::from));
    Ok(result)
}

/// The SCIF relay's output file, once the relay has started.
fn scif_log(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries.filter_map(Result::ok).map(|e| e.path()).find_map(|p| {
        let is_title = p.extension().is_some_and(|e| e == "title");
        (is_title && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("SCIF")))
            .then(|| p.with_extension("log"))
    })
}

/// Kills every relay the `$XTERM` script recorded, by PID, and waits until each is gone.
/// Returns their PIDs.
fn kill_relays(dir: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return pids };
    for p in entries.filter_map(Result::ok).map(|e| e.path()) {
        if p.extension().is_none_or(|e| e != "pid") {
            continue;
        }
        let Some(pid) = std::fs::read_to_string(&p).ok().and_then(|s| s.trim().parse::<u32>().ok()) else {
            continue;
        };
        pids.push(pid);
        // Only a process that is still a gxemul: a PID that has been reused is left alone.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(GXEMUL) {
            continue;
        }
        if let Ok(id) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) touches no memory of ours; the PID was checked just above to be a
            // gxemul relay started for this run.
            unsafe { libc::kill(id, libc::SIGKILL) };
        }
        // The relay is not our child (gxemul started it and setsid() detached it), so it cannot
        // be reaped here: wait until it is gone or a zombie of its parent.
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && alive(pid) {
            thread::sleep(Duration::from_millis(5));
        }
    }
    pids
}

/// Whether `pid` exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: `PID (NAME) S ...`.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xterm_script_records_the_relay() {
        let s = xterm_script(Path::new("/tmp/x"));
        assert!(s.contains("echo $$ >\"/tmp/x/relay.$$.pid\""), "{s}");
        assert!(s.contains("exec \"$@\" <>\"/tmp/x/in\" >\"/tmp/x/relay.$$.log\" 2>&1"), "{s}");
    }
}

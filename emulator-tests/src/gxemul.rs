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
//! `follow` and `settle`, the parts that read an SH-4 runtime's console from a file and
//! turn it into a [`RunResult`], serve the R2D runner too ([`crate::qemu_sh4`]).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use flight_suite::protocol::{self, Line};

use crate::process::Guard;
use crate::{Kind, RunResult, Stop, classify};

/// The emulator program.
pub const GXEMUL: &str = "gxemul";
/// What the SH-4 runtime prints before it ends a run, followed by the status.
pub const EXIT_PREFIX: &str = "flight-sh4: exit ";
/// How long to keep reading after a panic or crash report, for its message and the status.
const REPORT_GRACE: Duration = Duration::from_millis(500);
/// How long to wait after the end marker for the status line and the emulator's exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How often the console file is read.
const POLL: Duration = Duration::from_millis(5);

/// Something that stopped a run from starting.
#[derive(Debug)]
pub enum Error {
    /// A program the runner needs is missing.
    Missing(String),
    /// The image is missing or unreadable.
    Image(String),
    /// An I/O error while setting up or running.
    Io(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(what) => write!(f, "{what} (run `cargo xtask setup`)"),
            Self::Image(why) => {
                write!(f, "{why} (build the images: `cargo xtask build --console dreamcast`)")
            }
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Whether `program` is an executable file in a folder of `PATH`.
pub(crate) fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

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
    if !installed(GXEMUL) {
        return Err(Error::Missing(format!("{GXEMUL} is not installed")));
    }
    let image = image.canonicalize().map_err(|e| Error::Image(format!("image {}: {e}", image.display())))?;
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

/// What [`follow`] saw.
pub(crate) struct Followed {
    lines: Vec<String>,
    stop: Stop,
    boot_time: Option<Duration>,
    exit_code: Option<i32>,
}

/// Reads the console file `console()` names (once it exists) as it grows, until the end marker
/// and the runtime's status line, a panic or crash report (plus a grace period), the emulator's
/// exit, or `timeout` after `start`. The emulator is left running: the caller kills it.
pub(crate) fn follow(
    guard: &mut Guard,
    console: impl Fn() -> Option<PathBuf>,
    start: Instant,
    timeout: Duration,
) -> Followed {
    let mut file: Option<File> = None;
    let mut pending = Vec::new();
    let mut out =
        Followed { lines: Vec::new(), stop: Stop::Timeout(timeout), boot_time: None, exit_code: None };
    let mut deadline = start + timeout;
    let mut finished: Option<Stop> = None;
    let mut exited: Option<String> = None;
    loop {
        if file.is_none() {
            file = console().and_then(|p| File::open(p).ok());
        }
        if let Some(f) = file.as_mut() {
            let mut chunk = Vec::new();
            let _ = f.read_to_end(&mut chunk);
            pending.extend(chunk);
        }
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_string();
            if let Some(code) = line.strip_prefix(EXIT_PREFIX).and_then(|c| c.trim().parse().ok()) {
                out.exit_code = Some(code);
            }
            match protocol::parse_line(&line) {
                Some(Line::Begin) if out.boot_time.is_none() => out.boot_time = Some(start.elapsed()),
                Some(Line::End) if out.boot_time.is_some() && finished.is_none() => {
                    finished = Some(Stop::End);
                    deadline = (Instant::now() + EXIT_GRACE).min(start + timeout + EXIT_GRACE);
                }
                Some(Line::Panic(_) | Line::Crash(_)) if finished.is_none() => {
                    finished = Some(Stop::Report);
                    deadline = deadline.min(Instant::now() + REPORT_GRACE);
                }
                _ => {}
            }
            out.lines.push(line);
        }
        if exited.is_some() {
            // The last read after the exit has been taken in.
            break;
        }
        if finished.is_some() && out.exit_code.is_some() {
            break;
        }
        if let Ok(Some(status)) = guard.child().try_wait() {
            exited = Some(status.to_string());
            // Read once more: the relay may still have been writing.
            thread::sleep(Duration::from_millis(20));
            continue;
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(POLL);
    }
    if !pending.is_empty() {
        out.lines.push(String::from_utf8_lossy(&pending).trim_end_matches('\r').to_string());
    }
    out.stop = match (finished, exited) {
        (Some(stop), _) => stop,
        (None, Some(status)) => Stop::Exited(status),
        (None, None) => Stop::Timeout(timeout),
    };
    out
}

/// Classifies what [`follow`] saw, and checks the status against it: a pass needs status 0; any
/// other result is noted if the status claims success.
pub(crate) fn settle(followed: Followed, start: Instant) -> RunResult {
    let Followed { lines, stop, boot_time, exit_code } = followed;
    let mut r = classify(&lines, &stop, |l| l);
    r.boot_time = boot_time;
    r.run_time = start.elapsed();
    r.exit_code = exit_code;
    match (r.kind, exit_code) {
        (Kind::Pass, Some(0)) | (Kind::Hang, _) => {}
        (Kind::Pass, code) => {
            r.kind = Kind::Fail;
            r.detail = match code {
                Some(c) => format!("{}, but the program exited with status {c}, not 0", r.detail),
                None => format!("{}, but the runtime printed no exit status", r.detail),
            };
        }
        (_, Some(0)) => r.detail = format!("{} (and yet the exit status is 0)", r.detail),
        _ => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn followed(text: &str, stop: Stop, exit_code: Option<i32>) -> Followed {
        Followed { lines: text.lines().map(String::from).collect(), stop, boot_time: None, exit_code }
    }

    const PASS: &str = "flight-sh4: runtime up on dreamcast\n@@BEGIN@@\ntest a ... ok\n\
                        dreamcast: 1 passed, 0 failed\n@@END@@\nflight-sh4: exit 0";

    #[test]
    fn a_pass_needs_status_0() {
        let now = Instant::now();
        assert_eq!(settle(followed(PASS, Stop::End, Some(0)), now).kind, Kind::Pass);
        let r = settle(followed(PASS, Stop::End, Some(3)), now);
        assert_eq!(r.kind, Kind::Fail);
        assert!(r.detail.contains("exited with status 3, not 0"), "{}", r.detail);
        let r = settle(followed(PASS, Stop::End, None), now);
        assert_eq!(r.kind, Kind::Fail);
        assert!(r.detail.contains("no exit status"), "{}", r.detail);
    }

    #[test]
    fn a_crash_report_is_a_crash_whatever_the_status() {
        let text = "@@BEGIN@@\ntest trapa ... \n!!! CPU exception: unconditional trap trapa #63 (EXPEVT 0x00000160) \
                    at pc 0x8c010a2e\nflight-sh4: exit 139";
        let r = settle(followed(text, Stop::Report, Some(139)), Instant::now());
        assert_eq!(r.kind, Kind::Crash);
        assert!(r.detail.contains("trapa #63"), "{}", r.detail);
    }

    #[test]
    fn the_xterm_script_records_the_relay() {
        let s = xterm_script(Path::new("/tmp/x"));
        assert!(s.contains("echo $$ >\"/tmp/x/relay.$$.pid\""), "{s}");
        assert!(s.contains("exec \"$@\" <>\"/tmp/x/in\" >\"/tmp/x/relay.$$.log\" 2>&1"), "{s}");
    }
}

//! An emulator whose console is a file it writes (a serial port sent to a file, or a terminal
//! relay's log): the file is followed as it grows until the end marker and the SH-4 runtime's
//! status line, a report, the emulator's exit or the timeout, then classified. The Dreamcast
//! ([`crate::gxemul`]) and R2D ([`crate::qemu_sh4`]) runners share it.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use flight_suite::protocol::{self, Line};

use crate::process::Guard;
use crate::{Kind, RunResult, Stop, classify};

/// What the SH-4 runtime prints before it ends a run, followed by the status.
pub const EXIT_PREFIX: &str = "flight-sh4: exit ";
/// How long to keep reading after a panic or crash report, for its message and the status.
const REPORT_GRACE: Duration = Duration::from_millis(500);
/// How long to wait after the end marker for the status line and the emulator's exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);
/// How often the console file is read.
const POLL: Duration = Duration::from_millis(5);

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
}

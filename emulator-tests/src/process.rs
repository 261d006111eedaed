//! One emulator process: started in its own process group, its output streamed line by line,
//! stopped by the protocol or a timeout, and always killed with its whole group.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use flight_suite::protocol::{self, Line};

use crate::{RunResult, Stop, Unprefix, classify};

/// How long to keep reading after a panic or crash report, to collect its message.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// A child process that is killed, with its process group, when dropped.
pub struct Guard {
    child: Child,
    /// How long the group gets to end after SIGTERM before SIGKILL (zero: SIGKILL at once).
    term_grace: Duration,
}

impl Guard {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Self> {
        cmd.process_group(0);
        Ok(Self { child: cmd.spawn()?, term_grace: Duration::ZERO })
    }

    /// The same guard, asking the group to end with SIGTERM first and killing it `grace`
    /// later: a harness that drives a browser closes it on SIGTERM (a browser may run in a
    /// process group of its own, which only its parent can end).
    pub fn with_term_grace(mut self, grace: Duration) -> Self {
        self.term_grace = grace;
        self
    }

    /// The child.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ends the whole group: SIGTERM and the grace period first if one is set, then SIGKILL
    /// (emulators such as pcsxr ignore SIGTERM), sent to the group even when the leader has
    /// exited, since its children may not have; then reaps the leader.
    pub fn kill(&mut self) {
        let pgid = self.child.id();
        if !self.term_grace.is_zero() && matches!(self.child.try_wait(), Ok(None)) {
            signal_group(pgid, libc::SIGTERM);
            let until = Instant::now() + self.term_grace;
            while Instant::now() < until && matches!(self.child.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(20));
            }
        }
        signal_group(pgid, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `signal` to process group `pgid` (a group with no members left is no error).
fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) with a negative PID signals a process group; it touches no memory of ours.
    // The group was created by `Guard::spawn` (process_group(0) makes the child its leader); its
    // ID cannot be reused while the leader is unreaped or any member lives, and the leader is
    // reaped only after the last signal.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// How to run one emulator process.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How long to wait for the end marker.
    pub timeout: Duration,
    /// Strips the emulator's line prefix.
    pub unprefix: Unprefix,
    /// How long to wait, after the end marker or a report, for the emulator to exit by itself
    /// (for emulators whose exit status carries the result); zero kills it at once.
    pub exit_grace: Duration,
    /// Whether standard error carries console output too; if not, it goes to the log only.
    pub console_on_stderr: bool,
    /// How long the process group gets after SIGTERM before SIGKILL (see [`Guard::with_term_grace`]).
    pub term_grace: Duration,
}

impl Options {
    /// Options with no line prefix and no exit grace.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            unprefix: |l| l,
            exit_grace: Duration::ZERO,
            console_on_stderr: true,
            term_grace: Duration::ZERO,
        }
    }
}

/// Runs `cmd` until the image's end marker, a panic or crash report, the process's exit or the
/// timeout, whichever comes first, and classifies what it printed. `stdout` and `stderr` are
/// both read.
pub fn run(cmd: &mut Command, options: Options) -> std::io::Result<RunResult> {
    let Options { timeout, unprefix, exit_grace, console_on_stderr, term_grace } = options;
    let start = Instant::now();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut guard = Guard::spawn(cmd)?.with_term_grace(term_grace);
    let pid = guard.pid();
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    let out: Option<Box<dyn Read + Send>> = guard.child().stdout.take().map(|s| Box::new(s) as _);
    let err: Option<Box<dyn Read + Send>> = guard.child().stderr.take().map(|s| Box::new(s) as _);
    for (is_err, stream) in [(false, out), (true, err)] {
        let Some(stream) = stream else { continue };
        let tx = tx.clone();
        readers.push(thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n') {
                let Ok(line) = line else { break };
                if tx.send((is_err, String::from_utf8_lossy(&line).into_owned())).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);

    let mut lines = Vec::new();
    let mut log_only = Vec::new();
    let mut boot_time = None;
    let mut deadline = start + timeout;
    let mut reported = false;
    let mut exit_code = None;
    let stop = loop {
        let now = Instant::now();
        if now >= deadline {
            break if reported { Stop::Report } else { Stop::Timeout(timeout) };
        }
        match rx.recv_timeout(deadline - now) {
            Ok((true, line)) if !console_on_stderr => log_only.push(line),
            Ok((_, line)) => {
                match protocol::parse_line(unprefix(&line)) {
                    Some(Line::Begin) if boot_time.is_none() => boot_time = Some(start.elapsed()),
                    Some(Line::End) if boot_time.is_some() => {
                        lines.push(line);
                        break Stop::End;
                    }
                    Some(Line::Panic(_) | Line::Crash(_)) if !reported => {
                        reported = true;
                        deadline = deadline.min(Instant::now() + REPORT_GRACE);
                    }
                    _ => {}
                }
                lines.push(line);
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                // Both pipes closed: the process has exited, or closed them and runs on. Wait
                // for it no longer than the deadline.
                let status = loop {
                    match guard.child().try_wait() {
                        Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                        Ok(None) => break None,
                        other => break Some(other),
                    }
                };
                let Some(status) = status else {
                    break if reported { Stop::Report } else { Stop::Timeout(timeout) };
                };
                exit_code = status.as_ref().ok().and_then(|s| s.as_ref()).and_then(|s| s.code());
                let status = match status {
                    Ok(Some(s)) => s.to_string(),
                    Ok(None) => "still running".into(),
                    Err(e) => e.to_string(),
                };
                break if reported { Stop::Report } else { Stop::Exited(status) };
            }
        }
    };
    if exit_code.is_none() && !exit_grace.is_zero() && matches!(stop, Stop::End | Stop::Report) {
        let until = Instant::now() + exit_grace;
        while Instant::now() < until {
            if let Ok(Some(status)) = guard.child().try_wait() {
                exit_code = status.code();
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    guard.kill();
    for r in readers {
        let _ = r.join();
    }
    let mut result = classify(&lines, &stop, unprefix);
    result.boot_time = boot_time;
    result.run_time = start.elapsed();
    result.pids.push(pid);
    result.exit_code = exit_code;
    result.log.extend(log_only);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    fn opts(timeout: Duration) -> Options {
        Options::new(timeout)
    }

    #[test]
    fn a_passing_stream_stops_at_the_end_marker() {
        let r = run(
            &mut sh(
                "echo @@BEGIN@@; echo 'test a ... ok'; echo 'x: 1 passed, 0 failed'; echo @@END@@; sleep 30",
            ),
            opts(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!(r.kind, Kind::Pass, "{r}");
        assert!(r.run_time < Duration::from_secs(5), "did not stop at the end marker: {r}");
    }

    #[test]
    fn an_emulator_that_dies_is_a_crash() {
        let r = run(&mut sh("echo @@BEGIN@@; kill -SEGV $$"), opts(Duration::from_secs(10))).unwrap();
        assert_eq!(r.kind, Kind::Crash, "{r}");
        assert!(r.detail.contains("signal: 11"), "{r}");
    }

    #[test]
    fn a_silent_process_is_a_hang_and_its_whole_group_is_killed() {
        let marker = format!("/tmp/flight-hang-{}", std::process::id());
        // The child starts a grandchild that would outlive it if only the child were killed.
        let script = format!("(sleep 2; touch {marker}) & echo @@BEGIN@@; sleep 30");
        let r = run(&mut sh(&script), opts(Duration::from_millis(500))).unwrap();
        assert_eq!(r.kind, Kind::Hang, "{r}");
        thread::sleep(Duration::from_secs(3));
        assert!(!std::path::Path::new(&marker).exists(), "a process of the group survived the kill");
    }

    #[test]
    fn a_panic_report_ends_the_run_after_its_message() {
        let r = run(
            &mut sh("echo @@BEGIN@@; echo 'panicked at a.rs:1:1:'; echo 'oh no'; sleep 30"),
            opts(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!((r.kind, r.detail.as_str()), (Kind::Panic, "panicked at a.rs:1:1: oh no"));
        assert!(r.run_time < Duration::from_secs(5), "{r}");
    }

    #[test]
    fn a_process_that_closes_its_output_and_runs_on_is_a_hang_not_a_wait() {
        let r = run(&mut sh("echo @@BEGIN@@; exec >&- 2>&-; sleep 30"), opts(Duration::from_millis(800)))
            .unwrap();
        assert_eq!(r.kind, Kind::Hang, "{r}");
        assert!(r.run_time < Duration::from_secs(5), "waited past the timeout: {r}");
    }

    #[test]
    fn children_of_a_leader_that_exited_are_killed_too() {
        let marker = format!("/tmp/flight-orphan-{}", std::process::id());
        let script = format!("echo @@BEGIN@@; (sleep 2; touch {marker}) >/dev/null 2>&1 & exit 0");
        let r = run(&mut sh(&script), opts(Duration::from_secs(10))).unwrap();
        assert_eq!(r.kind, Kind::Crash, "{r}");
        thread::sleep(Duration::from_secs(3));
        assert!(!std::path::Path::new(&marker).exists(), "the leader's child outlived the run");
    }
}

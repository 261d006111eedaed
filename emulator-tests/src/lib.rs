//! Boot console test images in emulators, headless, and tell what happened.
//!
//! A run ends in one of five [`Kind`]s:
//!
//! | kind | how it is recognised |
//! |---|---|
//! | pass | the end marker, a summary line that agrees with the test lines, no failed test; or the end marker after no test line at all (a demo) |
//! | fail | the end marker after a failed test, or a summary with failures or disagreeing with the test lines, or test lines without a summary |
//! | panic | a `panicked at` report |
//! | crash | a CPU exception report, or the emulator exiting before the end marker |
//! | hang | no end marker before the timeout |
//!
//! The image speaks the text protocol of [`flight_suite::protocol`]. Emulators are started in
//! their own process group and killed by PID (with their helpers, such as a private X server)
//! whatever happens, so nothing is left running.
//!
//! [`classify`] is the pure part (lines in, result out); [`process::run`] runs one emulator process
//! and streams its lines; each emulator has a module ([`pcsxr`]), and [`run`] and [`version`]
//! are the one map from an [`Emulator`] to its module.

pub mod file_console;
pub mod frames;
pub mod gxemul;
pub mod pcsxr;
pub mod ppsspp;
pub mod process;
pub mod qemu;
pub mod qemu_sh4;
pub mod rearmed;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flight_suite::protocol::{self, Line};
pub use flight_targets::Emulator;

/// Why a run could not start.
#[derive(Debug)]
pub enum StartError {
    /// An emulator, a helper program, an installed core or the image is missing.
    Missing(String),
    /// The image is missing or unreadable.
    Image(String),
    /// A helper (such as a private X server) did not start.
    Helper(String),
    /// An I/O error while setting up or running.
    Io(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(what) => write!(f, "{what} (run `cargo xtask setup`)"),
            Self::Image(why) => write!(f, "{why} (build the images: `cargo xtask build`)"),
            Self::Helper(why) => f.write_str(why),
            Self::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Boots `image` in `emulator` and waits at most `timeout` for the end marker. The image is in
/// the emulator's format (see [`Emulator::about`]).
pub fn run(emulator: Emulator, image: &Path, timeout: Duration) -> Result<RunResult, StartError> {
    match emulator {
        Emulator::Pcsxr => pcsxr::run(image, timeout),
        Emulator::PcsxRearmed => rearmed::run(image, timeout),
        Emulator::QemuLm3s6965 => qemu::run_lm3s6965(image, timeout),
        Emulator::Ppsspp => ppsspp::run(image, timeout),
        Emulator::Gxemul => gxemul::run(image, timeout),
        Emulator::QemuR2d => qemu_sh4::run_r2d(image, timeout),
    }
}

/// The emulator's name and version as it reports them (`qemu 7.2.22`), for a run's log.
pub fn version(emulator: Emulator) -> Result<String, StartError> {
    match emulator {
        Emulator::Pcsxr => pcsxr::version(),
        Emulator::PcsxRearmed => rearmed::version(),
        Emulator::QemuLm3s6965 => qemu::version(),
        Emulator::Ppsspp => ppsspp::version(),
        Emulator::Gxemul => gxemul::version(),
        Emulator::QemuR2d => qemu_sh4::version(),
    }
}

/// Where the set-up step installs emulators fetched from registries (`FLIGHT_EMULATORS`
/// overrides it).
pub fn emulators_dir() -> PathBuf {
    std::env::var_os("FLIGHT_EMULATORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.flight/emulators"))
}

/// The version `program ARGS` reports: the word after `marker` in what it prints (standard
/// output, then standard error), without a Debian suffix (`0.7.0+dfsg` gives `0.7.0`).
pub fn reported_version(program: &str, args: &[&str], marker: &str) -> Result<String, String> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    version_after(&text, marker).ok_or_else(|| {
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
        format!("{program} reports no version after `{marker}` (it printed `{first}`)")
    })
}

/// The word after the first `marker` in `text`, up to a `+`: the pure part of
/// [`reported_version`].
pub fn version_after(text: &str, marker: &str) -> Option<String> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let word = rest.split_whitespace().next()?.trim_start_matches('v');
    let version = word.split('+').next().unwrap_or(word);
    version.starts_with(|c: char| c.is_ascii_digit()).then(|| version.to_string())
}

/// The version of an emulator the set-up installed from the npm registry: its `.version` file.
pub fn installed_version(dir: &Path) -> Result<String, String> {
    let file = dir.join(".version");
    std::fs::read_to_string(&file)
        .map(|v| v.trim().to_string())
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// Whether `program` is an executable file in a folder of `PATH`.
pub(crate) fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The absolute path of an image, or an error naming it.
pub fn image_path(image: &Path) -> Result<PathBuf, StartError> {
    image.canonicalize().map_err(|e| StartError::Image(format!("image {}: {e}", image.display())))
}

/// A Node harness of `js/`.
pub fn harness(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js").join(name)
}

/// How a run ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Every test passed.
    Pass,
    /// At least one test failed.
    Fail,
    /// The image panicked.
    Panic,
    /// The CPU took an exception, or the emulator died.
    Crash,
    /// No end marker in time.
    Hang,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Panic => "panic",
            Self::Crash => "crash",
            Self::Hang => "hang",
        })
    }
}

/// Why the output stream stopped.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Stop {
    /// The end marker arrived.
    End,
    /// A panic or crash report arrived (and a short grace period to collect its message passed).
    Report,
    /// The emulator exited on its own; its status, as text.
    Exited(String),
    /// The timeout passed.
    Timeout(Duration),
}

/// One test's outcome as the console reported it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// `None` if it passed, else why it failed.
    pub failure: Option<String>,
}

/// What a run produced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RunResult {
    /// How it ended.
    pub kind: Kind,
    /// One line saying why (the failed tests, the panic message, the exit status...).
    pub detail: String,
    /// What the console printed, from the begin marker on, without emulator prefixes.
    pub console: Vec<String>,
    /// Every test line seen.
    pub tests: Vec<TestOutcome>,
    /// The summary line's counts, if one was printed.
    pub summary: Option<(u32, u32)>,
    /// Time from start to the begin marker, if it came.
    pub boot_time: Option<Duration>,
    /// Time from start to the end of the run.
    pub run_time: Duration,
    /// The emulator's own output (everything it printed), for diagnosis.
    pub log: Vec<String>,
    /// The PIDs the run started (emulator, helpers): all killed and reaped when it returns.
    pub pids: Vec<u32>,
    /// The emulator's exit code, if it exited by itself (qemu passes a semihosting exit on).
    pub exit_code: Option<i32>,
}

impl RunResult {
    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.kind == Kind::Pass
    }
}

impl fmt::Display for RunResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)?;
        if let Some(boot) = self.boot_time {
            write!(f, " (boot {:.2} s", boot.as_secs_f64())?;
        } else {
            f.write_str(" (no output")?;
        }
        write!(f, ", run {:.2} s)", self.run_time.as_secs_f64())
    }
}

/// Strips what an emulator puts before a guest's line.
pub type Unprefix = fn(&str) -> &str;

/// Turns the lines of a run and the way it stopped into a result.
///
/// `lines` are the emulator's whole output; `unprefix` removes its line prefix. The times and
/// PIDs of the result are left for the caller to fill in.
pub fn classify(lines: &[String], stop: &Stop, unprefix: Unprefix) -> RunResult {
    let mut console = Vec::new();
    let mut tests = Vec::new();
    let mut summary = None;
    let mut began = false;
    let mut ended = false;
    let mut panic: Option<String> = None;
    let mut crash: Option<String> = None;
    for raw in lines {
        let line = unprefix(raw);
        let parsed = protocol::parse_line(line);
        match parsed {
            Some(Line::Begin) => {
                began = true;
                continue;
            }
            Some(Line::End) if began => {
                ended = true;
                break;
            }
            _ => {}
        }
        if !began && !matches!(parsed, Some(Line::Panic(_) | Line::Crash(_))) {
            continue;
        }
        console.push(line.to_string());
        match parsed {
            Some(Line::Passed { name }) => tests.push(TestOutcome { name: name.into(), failure: None }),
            Some(Line::Failed { name, why }) => {
                tests.push(TestOutcome { name: name.into(), failure: Some(why.into()) })
            }
            Some(Line::Summary { passed, failed, .. }) => summary = Some((passed, failed)),
            Some(Line::Panic(p)) => panic = Some(p.to_string()),
            Some(Line::Crash(c)) => crash = Some(c.to_string()),
            _ => {
                // The line after `panicked at ...:` is the message.
                if let Some(p) = panic.as_mut().filter(|p| p.ends_with(':')) {
                    p.push(' ');
                    p.push_str(line);
                }
            }
        }
    }
    let failed: Vec<&str> = tests.iter().filter(|t| t.failure.is_some()).map(|t| t.name.as_str()).collect();
    let (kind, detail) = if let Some(c) = crash {
        (Kind::Crash, c)
    } else if let Some(p) = panic {
        (Kind::Panic, p)
    } else if ended {
        match summary {
            Some((p, 0)) if failed.is_empty() && p as usize == tests.len() => {
                (Kind::Pass, format!("{p} passed, 0 failed"))
            }
            Some((p, f)) if failed.is_empty() && p as usize + f as usize != tests.len() => (
                Kind::Fail,
                format!(
                    "the summary says {p} passed, {f} failed, but {} test lines were printed",
                    tests.len()
                ),
            ),
            Some((p, f)) => (Kind::Fail, format!("{p} passed, {f} failed: {}", failed.join(", "))),
            None if failed.is_empty() && tests.is_empty() => (Kind::Pass, "finished (no tests)".into()),
            None => (Kind::Fail, format!("no summary line; failed: {}", failed.join(", "))),
        }
    } else {
        match stop {
            Stop::Exited(status) => {
                (Kind::Crash, format!("the emulator exited ({status}) before the end marker"))
            }
            Stop::Timeout(t) => (
                Kind::Hang,
                format!(
                    "no end marker within {:.0} s{}",
                    t.as_secs_f64(),
                    if began { String::new() } else { " (the image printed nothing)".into() }
                ),
            ),
            Stop::End | Stop::Report => (Kind::Hang, "the output stopped without an end marker".into()),
        }
    };
    RunResult {
        kind,
        detail,
        console,
        tests,
        summary,
        boot_time: None,
        run_time: Duration::ZERO,
        log: lines.to_vec(),
        pids: Vec::new(),
        exit_code: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    #[test]
    fn versions_are_read_from_what_the_programs_print() {
        let qemu = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022";
        assert_eq!(version_after(qemu, "QEMU emulator version ").as_deref(), Some("7.2.22"));
        let gxemul =
            "\nNo filename given. Aborting.\nGXemul 0.7.0+dfsg    Copyright (C) 2003-2021  Anders Gavare";
        assert_eq!(version_after(gxemul, "GXemul ").as_deref(), Some("0.7.0"));
        assert_eq!(version_after("v20.20.2\n", "v").as_deref(), Some("20.20.2"));
        assert_eq!(
            version_after("pcsxr 1.9.94\n pcsxr [options] [file]", "pcsxr ").as_deref(),
            Some("1.9.94")
        );
        // A marker followed by no number is no version.
        assert_eq!(version_after("GXemul usage: gxemul [options]", "GXemul "), None);
        assert_eq!(version_after("qemu-system-sh4: unknown option", "QEMU emulator version "), None);
    }

    fn kind(text: &str, stop: Stop) -> (Kind, String) {
        let r = classify(&lines(text), &stop, |l| l.strip_prefix(" * ").unwrap_or(l));
        (r.kind, r.detail)
    }

    const PASS: &str = " * Running\n * @@BEGIN@@\n * test a ... ok\n * test b ... ok\n * psx: 2 passed, 0 failed\n * @@END@@";

    #[test]
    fn each_kind_is_told_apart() {
        assert_eq!(kind(PASS, Stop::End), (Kind::Pass, "2 passed, 0 failed".into()));
        let fail =
            PASS.replace("test b ... ok", "test b ... FAILED: no").replace("2 passed, 0", "1 passed, 1");
        assert_eq!(kind(&fail, Stop::End), (Kind::Fail, "1 passed, 1 failed: b".into()));
        let panic = " * @@BEGIN@@\n * panicked at src/x.rs:3:5:\n * boom";
        assert_eq!(kind(panic, Stop::Report), (Kind::Panic, "panicked at src/x.rs:3:5: boom".into()));
        let crash = " * @@BEGIN@@\n * !!! CPU exception: breakpoint (code 9) at epc 0x8001_0010";
        assert_eq!(kind(crash, Stop::Report).0, Kind::Crash);
        let (k, d) = kind(" * @@BEGIN@@\n * test a ... ok", Stop::Exited("signal 11".into()));
        assert_eq!((k, d.as_str()), (Kind::Crash, "the emulator exited (signal 11) before the end marker"));
        let (k, d) = kind(" * Running", Stop::Timeout(Duration::from_secs(5)));
        assert_eq!((k, d.as_str()), (Kind::Hang, "no end marker within 5 s (the image printed nothing)"));
    }

    #[test]
    fn a_summary_that_disagrees_with_the_lines_fails() {
        let lying = PASS.replace("2 passed", "3 passed");
        assert_eq!(kind(&lying, Stop::End).0, Kind::Fail);
        let missing = PASS.replace(" * psx: 2 passed, 0 failed\n", "");
        assert_eq!(kind(&missing, Stop::End).0, Kind::Fail, "tests without a summary are not a pass");
    }

    #[test]
    fn console_output_excludes_the_emulator_log() {
        let RunResult { console, tests, summary, .. } =
            classify(&lines(PASS), &Stop::End, |l| l.strip_prefix(" * ").unwrap_or(l));
        assert_eq!(console, ["test a ... ok", "test b ... ok", "psx: 2 passed, 0 failed"]);
        assert_eq!(tests.len(), 2);
        assert_eq!(summary, Some((2, 0)));
    }
}

//! The text protocol between a console image and the test runner.
//!
//! An image prints, one line each:
//!
//! ```text
//! @@BEGIN@@
//! test NAME ... ok
//! test NAME ... FAILED: WHY
//! test NAME ... skipped: WHY      (a check that does not apply to this console: not counted)
//! CONSOLE: N passed, M failed
//! @@END@@
//! ```
//!
//! A run of merged components (the host's and each console's, compared line for line) prints
//! between the markers, for each frame, the trap of every component stopped in it and then the
//! frame's results ([`write_frame`], [`write_trap`]):
//!
//! ```text
//! trap COMPONENT: WHY                                 (see flight_memory::layout::trap::Trap)
//! frame N: COMPONENT=RESULT COMPONENT=trap ...        (RESULT: the frame export's i32)
//! ```
//!
//! Emulators may prefix lines (pcsxr writes its TTY as it comes); [`parse_line`] finds the
//! protocol text anywhere in a line. A panic prints `panicked at FILE:LINE:COL:` and a CPU
//! exception `!!! CPU exception: ...`; neither is followed by the end marker.

/// The first line an image prints: what comes before it is the emulator's own log.
pub const BEGIN_MARKER: &str = "@@BEGIN@@";
/// The last line of a finished run.
pub const END_MARKER: &str = "@@END@@";
/// What a panic report starts with.
pub const PANIC_MARKER: &str = "panicked at";
/// What the runtimes' exception reporters print.
pub const CRASH_MARKER: &str = "!!! CPU exception";

/// One protocol line, recognised.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Line<'a> {
    /// `test NAME ... ok`
    Passed {
        /// The test's name.
        name: &'a str,
    },
    /// `test NAME ... FAILED: WHY`
    Failed {
        /// The test's name.
        name: &'a str,
        /// Why it failed.
        why: &'a str,
    },
    /// `test NAME ... skipped: WHY`
    Skipped {
        /// The test's name.
        name: &'a str,
        /// Why it does not apply.
        why: &'a str,
    },
    /// `CONSOLE: N passed, M failed`
    Summary {
        /// The console's name.
        console: &'a str,
        /// Tests passed.
        passed: u32,
        /// Tests failed.
        failed: u32,
    },
    /// `@@BEGIN@@`
    Begin,
    /// `@@END@@`
    End,
    /// A panic report's first line.
    Panic(&'a str),
    /// A CPU exception report.
    Crash(&'a str),
    /// A merged run's `frame N: ...` line, from `frame` on.
    Frame(&'a str),
    /// A merged run's `trap COMPONENT: WHY` line, from `trap` on.
    Trap(&'a str),
}

/// Writes a merged run's frame line: `frame N: NAME=RESULT ...`, `trap` for a component a trap
/// stopped in that frame.
pub fn write_frame(
    out: &mut dyn core::fmt::Write,
    frame: u32,
    results: &[(&str, Option<i32>)],
) -> core::fmt::Result {
    write!(out, "frame {frame}:")?;
    for (name, result) in results {
        match result {
            Some(v) => write!(out, " {name}={v}")?,
            None => write!(out, " {name}=trap")?,
        }
    }
    writeln!(out)
}

/// Writes a merged run's trap line: `trap NAME: WHY`.
pub fn write_trap(
    out: &mut dyn core::fmt::Write,
    name: &str,
    why: flight_memory::layout::trap::Trap,
) -> core::fmt::Result {
    writeln!(out, "trap {name}: {why}")
}

/// Recognises a protocol line, ignoring any prefix an emulator adds.
pub fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim_end();
    if let Some(at) = line.find(CRASH_MARKER) {
        return Some(Line::Crash(&line[at..]));
    }
    if let Some(at) = line.find(PANIC_MARKER) {
        return Some(Line::Panic(&line[at..]));
    }
    if line.ends_with(END_MARKER) {
        return Some(Line::End);
    }
    if line.ends_with(BEGIN_MARKER) {
        return Some(Line::Begin);
    }
    for (marker, frame) in [("frame ", true), ("trap ", false)] {
        if let Some(at) = line.find(marker)
            && line[at + marker.len()..].contains(": ")
            && (at == 0 || line.as_bytes()[at - 1] == b' ')
        {
            let rest = &line[at..];
            return Some(if frame { Line::Frame(rest) } else { Line::Trap(rest) });
        }
    }
    if let Some(at) = line.find("test ") {
        let rest = &line[at + 5..];
        if let Some(name) = rest.strip_suffix(" ... ok") {
            return Some(Line::Passed { name });
        }
        if let Some((name, why)) = rest.split_once(" ... FAILED: ") {
            return Some(Line::Failed { name, why });
        }
        if let Some((name, why)) = rest.split_once(" ... skipped: ") {
            return Some(Line::Skipped { name, why });
        }
    }
    summary(line)
}

fn summary(line: &str) -> Option<Line<'_>> {
    let (head, counts) = line.rsplit_once(": ")?;
    let console = head.rsplit(' ').next()?;
    let (passed, failed) = counts.split_once(" passed, ")?;
    let failed = failed.strip_suffix(" failed")?;
    Some(Line::Summary { console, passed: passed.parse().ok()?, failed: failed.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_line_is_recognised_behind_a_prefix() {
        assert_eq!(parse_line(" * test heap ... ok\n"), Some(Line::Passed { name: "heap" }));
        assert_eq!(
            parse_line("test views ... FAILED: kseg1 read 0x0 after writing 0x5a"),
            Some(Line::Failed { name: "views", why: "kseg1 read 0x0 after writing 0x5a" })
        );
        assert_eq!(
            parse_line(" * psx: 7 passed, 1 failed"),
            Some(Line::Summary { console: "psx", passed: 7, failed: 1 })
        );
        assert_eq!(
            parse_line("test pad ... skipped: no scratchpad"),
            Some(Line::Skipped { name: "pad", why: "no scratchpad" })
        );
        assert_eq!(parse_line("@@END@@"), Some(Line::End));
        assert_eq!(parse_line(" * @@BEGIN@@"), Some(Line::Begin));
        assert_eq!(parse_line("x panicked at src/a.rs:1:2:"), Some(Line::Panic("panicked at src/a.rs:1:2:")));
        assert!(matches!(parse_line("!!! CPU exception: breakpoint"), Some(Line::Crash(_))));
        assert_eq!(parse_line("psx: many passed, 0 failed"), None);
        assert_eq!(parse_line("hello"), None);
        assert_eq!(parse_line(" * frame 3: a=1 b=trap"), Some(Line::Frame("frame 3: a=1 b=trap")));
        assert_eq!(parse_line("trap audio: unreachable"), Some(Line::Trap("trap audio: unreachable")));
    }

    #[test]
    fn merged_runs_print_frames_and_traps() {
        use flight_memory::layout::trap::{Trap, TrapKind};
        let mut s = alloc::string::String::new();
        write_trap(&mut s, "audio", Trap::Check { kind: TrapKind::Write, address: 0x8006_0000 }).unwrap();
        write_frame(&mut s, 99, &[("physics", Some(-5)), ("audio", None)]).unwrap();
        assert_eq!(
            s.as_str(),
            "trap audio: write outside its memory at 0x8006_0000\nframe 99: physics=-5 audio=trap\n"
        );
    }
}

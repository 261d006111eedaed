//! A console's run of merged components against the host's: the same frame and trap lines, in
//! the same order, or the first line where they part.

use flight_suite::protocol::{Line, parse_line};

/// The frame and trap lines of a run's output (a console's or the host's), without prefixes.
pub fn frame_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    lines
        .into_iter()
        .filter_map(|line| match parse_line(line) {
            Some(Line::Frame(rest) | Line::Trap(rest)) => Some(rest),
            _ => None,
        })
        .collect()
}

/// Compares a console's run (`console`, as the runner collected it) with the host's
/// (`host`, `flight run`'s output) line by line. Returns how many frames both printed, or
/// says where they differ: the first differing line of each, a line only one printed, or a
/// run with no frame at all.
pub fn compare(console: &[String], host: &str) -> Result<usize, String> {
    let ours = frame_lines(console.iter().map(String::as_str));
    let theirs = frame_lines(host.lines());
    if theirs.is_empty() {
        return Err("the host's run printed no frame".into());
    }
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if a != b {
            return Err(format!("frame or trap line {}: the console printed `{a}`, the host `{b}`", i + 1));
        }
    }
    match ours.len().cmp(&theirs.len()) {
        std::cmp::Ordering::Less => Err(format!(
            "the console stopped after {} of the host's {} frame and trap lines; the next is `{}`",
            ours.len(),
            theirs.len(),
            theirs[ours.len()]
        )),
        std::cmp::Ordering::Greater => Err(format!(
            "the console printed {} frame and trap lines, the host {}; the first extra is `{}`",
            ours.len(),
            theirs.len(),
            ours[theirs.len()]
        )),
        std::cmp::Ordering::Equal => Ok(ours.iter().filter(|l| l.starts_with("frame ")).count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "@@BEGIN@@\nframe 0: a=1 b=2\ntrap b: write outside its memory at 0x8011_0010\n\
                        frame 1: a=3 b=trap\n@@END@@\n";

    fn console(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_run_equal_to_the_host_passes_whatever_else_it_prints() {
        let run = console(&[
            "@@BEGIN@@",
            "frame 0: a=1 b=2",
            "trap b: write outside its memory at 0x8011_0010",
            "frame 1: a=3 b=trap",
            "time psx components: frame 10 ticks checked, 9 unchecked (1.11x)",
            "@@END@@",
        ]);
        assert_eq!(compare(&run, HOST), Ok(2));
    }

    #[test]
    fn a_run_whose_results_differ_from_the_host_fails_naming_the_line() {
        let differs = console(&[
            "frame 0: a=1 b=2",
            "trap b: write outside its memory at 0x8011_0010",
            "frame 1: a=4 b=trap",
        ]);
        let e = compare(&differs, HOST).unwrap_err();
        assert_eq!(
            e,
            "frame or trap line 3: the console printed `frame 1: a=4 b=trap`, the host `frame 1: a=3 b=trap`"
        );
        // A trap the console missed, or one at another address.
        let missed = console(&["frame 0: a=1 b=2", "frame 1: a=3 b=trap"]);
        assert!(compare(&missed, HOST).unwrap_err().starts_with("frame or trap line 2:"));
        let elsewhere = console(&[
            "frame 0: a=1 b=2",
            "trap b: write outside its memory at 0x8011_0014",
            "frame 1: a=3 b=trap",
        ]);
        assert!(compare(&elsewhere, HOST).is_err());
        // A run cut short, one that goes on, and one that printed nothing.
        let short = console(&["frame 0: a=1 b=2"]);
        assert!(
            compare(&short, HOST).unwrap_err().starts_with("the console stopped after 1 of the host's 3")
        );
        let long = console(&[
            "frame 0: a=1 b=2",
            "trap b: write outside its memory at 0x8011_0010",
            "frame 1: a=3 b=trap",
            "frame 2: a=5 b=6",
        ]);
        assert!(compare(&long, HOST).unwrap_err().contains("the first extra is `frame 2: a=5 b=6`"));
        assert!(compare(&[], HOST).is_err());
        assert_eq!(compare(&[], "@@BEGIN@@\n@@END@@\n").unwrap_err(), "the host's run printed no frame");
    }
}

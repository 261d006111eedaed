//! `cargo xtask`: set-up, console image builds, the demo and the full test run.
//!
//! - `cargo xtask setup`: install what builds and emulator runs need (idempotent);
//! - `cargo xtask build [--console NAME]`: build the console images into `target/images/NAME/`;
//! - `cargo xtask demo [--console NAME]`: build and boot the demo image, print what the console
//!   printed;
//! - `cargo xtask test`: format check, clippy with warnings denied, docs, host tests, every
//!   console build, every emulator run (each console's suite, and the other test images its
//!   settings list, in each of its emulators). A failed step does not stop the others (only a
//!   failed set-up does): the summary names each step, each emulator with its version, and lists
//!   every failure; any failure fails the command.

mod components;
mod setup;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use flight_console_build::components::Console;
use flight_console_build::sh4;
use flight_emulator_tests::RunResult;
use flight_platform_psx::exe::PsExe;
use flight_targets::{Emulator, ImageFormat, Target};

/// A failed step, in words.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs `cmd`, inheriting output; fails with `what` and the status unless it succeeds.
pub fn run_status(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let status =
        cmd.status().map_err(|e| Error::new(format!("{what}: cannot start {:?}: {e}", cmd.get_program())))?;
    if status.success() { Ok(()) } else { Err(Error::new(format!("{what} failed ({status})"))) }
}

#[derive(Parser)]
#[command(about = "Set-up, console image builds, the demo and the full test run")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install every package, compiler and emulator the builds and runs need.
    Setup,
    /// Build console images into target/images/CONSOLE/.
    Build {
        /// One console (default: all).
        #[arg(long)]
        console: Option<String>,
    },
    /// Build the demo image, boot it in the console's emulator and print what it printed.
    Demo {
        /// The console.
        #[arg(long, default_value = "psx")]
        console: String,
    },
    /// The example: four components merged into one console memory, built with `flight build`,
    /// booted in the console's emulator and compared line for line with the host's run.
    Example {
        /// The console: psp (the layout of `flight plan`'s built-in example, in 16 MiB), psx or
        /// dreamcast (scaled).
        #[arg(long, default_value = "psp")]
        console: String,
    },
    /// Build the merged components of the test run for their consoles, boot them and compare
    /// each run with the host's (a part of `test`).
    Components,
    /// The full test run.
    Test,
}

/// The repository's top folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where a console's bootable images go.
fn images_dir(target: &Target) -> PathBuf {
    root().join("target/images").join(&target.name)
}

/// Builds one console's images and converts them to its bootable format. Returns the image
/// paths by binary name.
fn build(target: &Target) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut cmd = Command::new("cargo");
    cmd.args(target.cargo_args())
        .arg("--manifest-path")
        .arg(root().join("emulator-tests/images/Cargo.toml"))
        .arg("--target-dir")
        .arg(root().join("target/console"))
        .arg("--message-format=json-render-diagnostics")
        .envs(target.cargo_env())
        .stdout(Stdio::piped());
    println!("build: {} images ({})", target.name, target.triple);
    let out =
        cmd.output().map_err(|e| Error::new(format!("build {}: cannot run cargo: {e}", target.name)))?;
    if !out.status.success() {
        // cargo renders the compiler's messages on standard error: kept quiet on success (the
        // MIPS-I target warns on every crate), shown whole on a failure.
        let messages = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(format!(
            "build {}: cargo failed ({})\n{}",
            target.name,
            out.status,
            messages.trim_end()
        )));
    }
    let dir = images_dir(target);
    std::fs::create_dir_all(&dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
    let mut images = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(name)) = (msg["executable"].as_str(), msg["target"]["name"].as_str()) else {
            continue;
        };
        let elf = std::fs::read(exe).map_err(|e| Error::new(format!("{exe}: {e}")))?;
        let (file, bytes) = match target.image_format {
            ImageFormat::PsExe => {
                let exe_file = PsExe::from_elf(&elf).map_err(|e| Error::new(format!("{exe}: {e}")))?;
                (dir.join(target.image_format.file_name(name)), exe_file.to_bytes())
            }
            ImageFormat::Elf => (dir.join(target.image_format.file_name(name)), elf),
            ImageFormat::Eboot => (
                dir.join(target.image_format.file_name(name)),
                flight_console_build::eboot(Path::new(exe), name).map_err(|e| Error::new(e.to_string()))?,
            ),
            ImageFormat::Sh4Wasm2c => {
                let settings = target.c.as_ref().ok_or_else(|| {
                    Error::new(format!(
                        "targets/{}.toml: the sh4-wasm2c format needs a [c] table",
                        target.name
                    ))
                })?;
                sh4::images(&dir, name, Path::new(exe), settings).map_err(|e| Error::new(e.to_string()))?
            }
        };
        std::fs::write(&file, &bytes).map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
        println!("  {:<10} {:>7} bytes  {}", name, bytes.len(), file.display());
        images.push((name.to_string(), file));
    }
    if images.is_empty() {
        return Err(Error::new(format!("build {}: cargo produced no executables", target.name)));
    }
    images.sort();
    Ok(images)
}

/// Boots one image in one emulator (an SH-4 machine boots the image built for it).
fn boot(emulator: Emulator, image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    let image = match emulator {
        Emulator::Gxemul => sh4::machine_image(image, sh4::Machine::Dreamcast),
        Emulator::QemuR2d => sh4::machine_image(image, sh4::Machine::R2d),
        _ => image.to_path_buf(),
    };
    flight_emulator_tests::run(emulator, &image, timeout)
        .map_err(|e| Error::new(format!("{emulator} {}: {e}", image.display())))
}

fn image<'a>(images: &'a [(String, PathBuf)], name: &str, target: &Target) -> Result<&'a Path, Error> {
    images
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.as_path())
        .ok_or_else(|| Error::new(format!("console {}: no image `{name}` was built", target.name)))
}

fn demo(console: &str) -> Result<(), Error> {
    let target = Target::load(console).map_err(|e| Error::new(e.to_string()))?;
    setup::ensure(false)?;
    setup::ensure_downloads(false)?;
    let demo =
        target.demo.as_deref().ok_or_else(|| Error::new(format!("console `{console}` has no demo image")))?;
    let emulator = *target
        .emulators
        .first()
        .ok_or_else(|| Error::new(format!("console `{console}` has no emulator")))?;
    let images = build(&target)?;
    let path = image(&images, demo, &target)?;
    println!("demo: booting {} in {emulator} ...", path.display());
    let r = boot(emulator, path, Duration::from_secs(60))?;
    for line in &r.console {
        println!("{line}");
    }
    println!("demo: {r}");
    if r.passed() { Ok(()) } else { Err(Error::new(format!("the demo did not finish: {r}"))) }
}

/// One timed step of the test run and how it ended: what it found, or why it failed.
struct Step {
    name: String,
    time: Duration,
    outcome: Result<String, Error>,
}

/// The steps run so far; a failed step is recorded and the run goes on, so that one failure
/// hides no other result.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    /// Runs one step, prints its header, records how it ended; returns whether it passed.
    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<String, Error>) -> bool {
        println!("\n== {name}");
        let t = Instant::now();
        let outcome = f();
        if let Err(e) = &outcome {
            println!("FAILED: {name}: {e}");
        }
        let ok = outcome.is_ok();
        self.0.push(Step { name: name.to_string(), time: t.elapsed(), outcome });
        ok
    }

    /// The summary table, then every failure again; an error if any step failed.
    fn finish(self, start: Instant) -> Result<(), Error> {
        let width = self.0.iter().map(|s| s.name.len()).max().unwrap_or(0).max(5);
        println!("\n== summary");
        for s in &self.0 {
            let result = match &s.outcome {
                Ok(note) if note.is_empty() => "ok".to_string(),
                Ok(note) => format!("ok: {note}"),
                Err(_) => "FAILED".to_string(),
            };
            println!("  {:<width$} {:>7.1} s  {result}", s.name, s.time.as_secs_f64());
        }
        println!("  {:<width$} {:>7.1} s", "total", start.elapsed().as_secs_f64());
        let failed: Vec<&Step> = self.0.iter().filter(|s| s.outcome.is_err()).collect();
        if failed.is_empty() {
            println!("all tests passed");
            return Ok(());
        }
        println!("\n== failures");
        for s in &failed {
            if let Err(e) = &s.outcome {
                println!("  {}: {e}", s.name);
            }
        }
        let names: Vec<&str> = failed.iter().map(|s| s.name.as_str()).collect();
        Err(Error::new(format!("{} of {} steps failed: {}", failed.len(), self.0.len(), names.join("; "))))
    }
}

fn test() -> Result<(), Error> {
    let start = Instant::now();
    let mut steps = Steps::default();
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.args(args).current_dir(root());
        c
    };
    let done = |r: Result<(), Error>| r.map(|()| String::new());
    let set_up = steps.run("setup", || {
        setup::ensure(true)?;
        setup::ensure_downloads(true)?;
        Ok(String::new())
    });
    if !set_up {
        // Nothing else can run without the compilers and emulators.
        return steps.finish(start);
    }
    steps.run("format", || {
        run_status(&mut cargo(&["fmt", "--all", "--", "--check"]), "cargo fmt --check")?;
        // The console images are a workspace of their own.
        let mut images = cargo(&["fmt", "--all", "--", "--check"]);
        images.current_dir(root().join("emulator-tests/images"));
        done(run_status(&mut images, "cargo fmt --check (emulator-tests/images)"))
    });
    steps.run("clippy", || {
        done(run_status(
            &mut cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
            "cargo clippy",
        ))
    });
    steps.run("docs", || {
        done(run_status(
            cargo(&["doc", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"),
            "cargo doc",
        ))
    });
    let targets = match Target::all() {
        Ok(t) => t,
        Err(e) => {
            steps.run("console targets", || Err(Error::new(e.to_string())));
            Vec::new()
        }
    };
    let mut built = Vec::new();
    for target in &targets {
        steps.run(&format!("build {}", target.name), || {
            let images = build(target)?;
            let n = images.len();
            built.push((target, images));
            Ok(format!("{n} images"))
        });
    }
    let runs = build_components(&mut steps);
    steps.run("host tests", || {
        done(run_status(&mut cargo(&["test", "--workspace", "--quiet", "--no-fail-fast"]), "cargo test"))
    });
    steps.run("image and emulator tests", || {
        done(run_status(
            &mut cargo(&["test", "--workspace", "--quiet", "--no-fail-fast", "--", "--ignored"]),
            "cargo test -- --ignored",
        ))
    });
    // Every run's `time` lines, printed together at the end.
    let mut timings: Vec<(String, Vec<String>)> = Vec::new();
    for (target, images) in &built {
        for &emulator in &target.emulators {
            let version = flight_emulator_tests::version(emulator)
                .unwrap_or_else(|e| format!("{emulator} (version unknown: {e})"));
            // The suite, then the console's other test images, each booted in each emulator.
            for name in std::iter::once(&target.suite).chain(&target.tests) {
                let what = if *name == target.suite { "suite".to_string() } else { format!("{name} image") };
                let step = format!("{what} on {} in {version}", target.name);
                steps.run(&step, || {
                    let r = boot(emulator, image(images, name, target)?, Duration::from_secs(60))?;
                    for line in &r.console {
                        println!("  {line}");
                    }
                    println!("  {r}");
                    timings.push((step.clone(), time_lines(&r.console)));
                    match (r.kind, r.summary) {
                        (flight_emulator_tests::Kind::Pass, Some((passed, 0))) if passed > 0 => {
                            Ok(format!("{passed} passed"))
                        }
                        _ => Err(Error::new(format!("the {} {what} did not pass: {r}", target.name))),
                    }
                });
            }
        }
    }
    boot_components(&mut steps, &runs, &mut timings);
    print_timings(&timings);
    steps.finish(start)
}

/// A run's timing lines (`time CONSOLE WHAT: ...`), reported, not asserted.
fn time_lines(console: &[String]) -> Vec<String> {
    // After any prefix an emulator adds: the word `time` at the start or after a space.
    let start = |l: &str| {
        l.match_indices("time ").map(|(at, _)| at).find(|&at| at == 0 || l.as_bytes()[at - 1] == b' ')
    };
    console.iter().filter_map(|l| start(l).map(|at| l[at..].trim_end().to_string())).collect()
}

/// Every run's timings together, run by run, so that a regression on any console shows in
/// one place.
fn print_timings(timings: &[(String, Vec<String>)]) {
    println!("\n== timings (in each console's own clock; reported, not asserted)");
    for (run, lines) in timings.iter().filter(|(_, lines)| !lines.is_empty()) {
        println!("  {run}");
        for line in lines {
            println!("    {line}");
        }
    }
}

/// Builds every set of merged components for its consoles (`flight build`) and runs it on the
/// host (`flight run`), a step per set.
fn build_components(steps: &mut Steps) -> Vec<components::Built> {
    // The merged components: built for each console with `flight build`, run on the host.
    let mut runs = Vec::new();
    match components::settings() {
        Ok(settings) => {
            for set in &settings.set {
                steps.run(&format!("build {}", set.name), || {
                    let built = components::build(&settings, set, None)?;
                    let consoles: Vec<String> = built.iter().map(|b| b.console.clone()).collect();
                    runs.extend(built);
                    Ok(format!("for {}", consoles.join(", ")))
                });
            }
        }
        Err(e) => {
            steps.run("components", || Err(e));
        }
    }
    // What a check and a mask add to each access in the code each console runs.
    steps.run("cost of a bounds check and a mask", || {
        let mut figures = Vec::new();
        for (console, isa) in
            [(Console::Psx, "MIPS I"), (Console::Psp, "Allegrex"), (Console::Dreamcast, "SH-4")]
        {
            let dir = root().join("target/components/cost").join(console.name());
            let cost =
                flight_console_build::cost::measure(console, &dir).map_err(|e| Error::new(e.to_string()))?;
            let (checked, masked) = (cost.per_access_x100(), cost.per_masked_access_x100());
            figures.push(format!(
                "{isa} {}.{:02} extra instructions per checked access, {}.{:02} per masked one ({} checked, {} masked, {} neither for {})",
                checked / 100,
                checked % 100,
                masked / 100,
                masked % 100,
                cost.checked,
                cost.masked,
                cost.unchecked,
                flight_console_build::cost::ACCESSES
            ));
        }
        Ok(figures.join("; "))
    });
    runs
}

/// Boots each built set in each of its console's emulators, a step per run, and compares the
/// run with the host's.
fn boot_components(steps: &mut Steps, runs: &[components::Built], timings: &mut Vec<(String, Vec<String>)>) {
    // Each console's run of merged components, line for line as the host's.
    for run in runs {
        let target = match Target::load(&run.console) {
            Ok(t) => t,
            Err(e) => {
                steps.run(&format!("{} on {}", run.set, run.console), || Err(Error::new(e.to_string())));
                continue;
            }
        };
        for &emulator in &target.emulators {
            if let Some(why) = run.not_on.get(emulator.name()) {
                println!("\n== {} on {}: not run in {emulator}: {why}", run.set, run.console);
                continue;
            }
            let version = flight_emulator_tests::version(emulator)
                .unwrap_or_else(|e| format!("{emulator} (version unknown: {e})"));
            let step = format!("{} on {} in {version}", run.set, run.console);
            steps.run(&step, || {
                let r = boot(emulator, &run.image, Duration::from_secs(120))?;
                for line in &r.console {
                    println!("  {line}");
                }
                println!("  {r}");
                timings.push((step.clone(), time_lines(&r.console)));
                if !r.passed() {
                    return Err(Error::new(format!("the {} did not finish: {r}", run.set)));
                }
                let frames = flight_emulator_tests::frames::compare(&r.console, &run.host)
                    .map_err(|e| Error::new(format!("the run differs from the host's: {e}")))?;
                let time = r.console.iter().find_map(|l| l.split_once(" components: frame ").map(|(_, t)| t));
                Ok(format!("{frames} frames as on the host; frame {}", time.unwrap_or("(no time line)")))
            });
        }
    }
}

/// `cargo xtask example`: the example's set built for `console`, booted in its first emulator,
/// its lines printed and compared with the host's.
fn example(console: &str) -> Result<(), Error> {
    setup::ensure(false)?;
    setup::ensure_downloads(false)?;
    let settings = components::settings()?;
    let set =
        settings.set.first().ok_or_else(|| Error::new("emulator-tests/components.toml lists no set"))?;
    let built = components::build(&settings, set, Some(console))?;
    let run = built.first().ok_or_else(|| Error::new(format!("nothing was built for {console}")))?;
    let target = Target::load(console).map_err(|e| Error::new(e.to_string()))?;
    let emulator = *target
        .emulators
        .first()
        .ok_or_else(|| Error::new(format!("console `{console}` has no emulator")))?;
    println!("example: booting {} in {emulator} ...", run.image.display());
    let r = boot(emulator, &run.image, Duration::from_secs(120))?;
    for line in &r.console {
        println!("{line}");
    }
    println!("example: {r}");
    if !r.passed() {
        return Err(Error::new(format!("the example did not finish: {r}")));
    }
    let frames = flight_emulator_tests::frames::compare(&r.console, &run.host)
        .map_err(|e| Error::new(format!("the console's run differs from the host's: {e}")))?;
    println!("example: {frames} frames, every frame and trap line as on the host");
    Ok(())
}

/// `cargo xtask components`: the merged components' part of the test run alone.
fn components_only() -> Result<(), Error> {
    setup::ensure(false)?;
    setup::ensure_downloads(false)?;
    let start = Instant::now();
    let mut steps = Steps::default();
    let runs = build_components(&mut steps);
    let mut timings = Vec::new();
    boot_components(&mut steps, &runs, &mut timings);
    print_timings(&timings);
    steps.finish(start)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Setup => setup::ensure(true).and_then(|()| setup::ensure_downloads(true)),
        Cmd::Build { console } => (|| {
            let targets = match console {
                Some(c) => vec![Target::load(&c).map_err(|e| Error::new(e.to_string()))?],
                None => Target::all().map_err(|e| Error::new(e.to_string()))?,
            };
            setup::ensure(false)?;
            setup::ensure_downloads(false)?;
            targets.iter().try_for_each(|t| build(t).map(|_| ()))
        })(),
        Cmd::Demo { console } => demo(&console),
        Cmd::Example { console } => example(&console),
        Cmd::Components => components_only(),
        Cmd::Test => test(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_hides_no_later_step_and_fails_the_run() {
        let mut steps = Steps::default();
        assert!(!steps.run("suite on psx in pcsxr 1.9.94", || Err(Error::new("the psx suite did not pass"))));
        let mut later_ran = false;
        assert!(steps.run("suite on cortex-m in qemu 7.2.22", || {
            later_ran = true;
            Ok("22 passed".into())
        }));
        assert!(later_ran);
        let err = steps.finish(Instant::now()).expect_err("one step failed");
        assert_eq!(err.to_string(), "1 of 2 steps failed: suite on psx in pcsxr 1.9.94");
    }

    #[test]
    fn timing_lines_are_found_after_a_prefix_and_nowhere_else() {
        let console: Vec<String> = [
            "test frame_time ... ok",
            "time psx tlsf: 30493 ns per allocate+free",
            "[emu] time psp pool: 165 ns",
            "runtime error",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            super::time_lines(&console),
            ["time psx tlsf: 30493 ns per allocate+free", "time psp pool: 165 ns"]
        );
        assert!(Steps::default().finish(Instant::now()).is_ok());
    }
}

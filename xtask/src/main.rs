//! `cargo xtask`: set-up, console image builds, the demo and the full test run.
//!
//! - `cargo xtask setup`: install what builds and emulator runs need (idempotent);
//! - `cargo xtask build [--console NAME]`: build the console images into `target/images/NAME/`;
//! - `cargo xtask demo [--console NAME]`: build and boot the demo image, print what the console
//!   printed;
//! - `cargo xtask test`: format check, clippy with warnings denied, docs, host tests, every
//!   console build, every emulator run. Any failure fails the command.

mod setup;
mod sh4;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use flight_emulator_tests::{RunResult, gxemul, pcsxr, ppsspp, qemu, qemu_sh4, rearmed};
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
        return Err(Error::new(format!("build {}: cargo failed ({})", target.name, out.status)));
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
                (dir.join(format!("{name}.exe")), exe_file.to_bytes())
            }
            ImageFormat::Elf => (dir.join(format!("{name}.elf")), elf),
            ImageFormat::Eboot => (dir.join(format!("{name}.pbp")), eboot(Path::new(exe), name)?),
            ImageFormat::Sh4Wasm2c => sh4::images(&dir, name, Path::new(exe))?,
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

/// Packs a linked PSP ELF as an EBOOT.PBP with the cargo-psp packers: `prxgen` (ELF to PRX),
/// `mksfo` (the PARAM.SFO with the title), `pack-pbp`.
fn eboot(elf: &Path, title: &str) -> Result<Vec<u8>, Error> {
    let tmp = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let bin = setup::tools_dir().join("bin");
    let (prx, sfo, pbp) =
        (tmp.path().join("image.prx"), tmp.path().join("PARAM.SFO"), tmp.path().join("EBOOT.PBP"));
    let quiet = |c: &mut Command| {
        c.stdout(Stdio::null());
    };
    let mut c = Command::new(bin.join("prxgen"));
    c.arg(elf).arg(&prx);
    quiet(&mut c);
    run_status(&mut c, &format!("prxgen {}", elf.display()))?;
    let mut c = Command::new(bin.join("mksfo"));
    c.arg(format!("flight {title}")).arg(&sfo);
    quiet(&mut c);
    run_status(&mut c, "mksfo")?;
    let mut c = Command::new(bin.join("pack-pbp"));
    c.arg(&pbp).arg(&sfo).args(["NULL"; 5]).arg(&prx).arg("NULL");
    quiet(&mut c);
    run_status(&mut c, "pack-pbp")?;
    std::fs::read(&pbp).map_err(|e| Error::new(format!("{}: {e}", pbp.display())))
}

/// Boots one image in one emulator.
fn boot(emulator: Emulator, image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    let result = match emulator {
        Emulator::Pcsxr => pcsxr::run(image, timeout).map_err(|e| e.to_string()),
        Emulator::PcsxRearmed => rearmed::run(image, timeout).map_err(|e| e.to_string()),
        Emulator::Ppsspp => ppsspp::run(image, timeout).map_err(|e| e.to_string()),
        Emulator::QemuLm3s6965 => qemu::run_lm3s6965(image, timeout).map_err(|e| e.to_string()),
        Emulator::Gxemul => gxemul::run(&sh4::machine_image(image, sh4::Machine::Dreamcast), timeout)
            .map_err(|e| e.to_string()),
        Emulator::QemuR2d => qemu_sh4::run_r2d(&sh4::machine_image(image, sh4::Machine::R2d), timeout)
            .map_err(|e| e.to_string()),
    };
    result.map_err(|e| Error::new(format!("{emulator:?} {}: {e}", image.display())))
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
    println!("demo: booting {} in {emulator:?} ...", path.display());
    let r = boot(emulator, path, Duration::from_secs(60))?;
    for line in &r.console {
        println!("{line}");
    }
    println!("demo: {r}");
    if r.passed() { Ok(()) } else { Err(Error::new(format!("the demo did not finish: {r}"))) }
}

/// One timed step of the test run.
struct Step {
    name: String,
    time: Duration,
}

fn test() -> Result<(), Error> {
    let start = Instant::now();
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<(), Error>| -> Result<(), Error> {
        println!("\n== {name}");
        let t = Instant::now();
        f().map_err(|e| Error::new(format!("{name}: {e}")))?;
        steps.push(Step { name: name.to_string(), time: t.elapsed() });
        Ok(())
    };
    let cargo = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.args(args).current_dir(root());
        c
    };
    step("setup", &mut || {
        setup::ensure(true)?;
        setup::ensure_downloads(true)
    })?;
    step("format", &mut || {
        run_status(&mut cargo(&["fmt", "--all", "--", "--check"]), "cargo fmt --check")?;
        // The console images are a workspace of their own.
        let mut images = cargo(&["fmt", "--all", "--", "--check"]);
        images.current_dir(root().join("emulator-tests/images"));
        run_status(&mut images, "cargo fmt --check (emulator-tests/images)")
    })?;
    step("clippy", &mut || {
        run_status(
            &mut cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
            "cargo clippy",
        )
    })?;
    step("docs", &mut || {
        run_status(
            cargo(&["doc", "--workspace", "--no-deps", "--quiet"]).env("RUSTDOCFLAGS", "-D warnings"),
            "cargo doc",
        )
    })?;
    let targets = Target::all().map_err(|e| Error::new(e.to_string()))?;
    let mut built = Vec::new();
    for target in &targets {
        step(&format!("build {}", target.name), &mut || {
            built.push((target.clone(), build(target)?));
            Ok(())
        })?;
    }
    step("host tests", &mut || run_status(&mut cargo(&["test", "--workspace", "--quiet"]), "cargo test"))?;
    step("image and emulator tests", &mut || {
        run_status(
            &mut cargo(&["test", "--workspace", "--quiet", "--", "--ignored"]),
            "cargo test -- --ignored",
        )
    })?;
    for (target, images) in &built {
        for &emulator in &target.emulators {
            step(&format!("suite on {} in {emulator:?}", target.name), &mut || {
                let r = boot(emulator, image(images, &target.suite, target)?, Duration::from_secs(60))?;
                for line in &r.console {
                    println!("  {line}");
                }
                println!("  {r}");
                match (r.kind, r.summary) {
                    (flight_emulator_tests::Kind::Pass, Some((passed, 0))) if passed > 0 => Ok(()),
                    _ => Err(Error::new(format!("the {} suite did not pass: {r}", target.name))),
                }
            })?;
        }
    }
    println!("\n== summary");
    for s in &steps {
        println!("  {:<28} {:>7.1} s", s.name, s.time.as_secs_f64());
    }
    println!("  {:<28} {:>7.1} s", "total", start.elapsed().as_secs_f64());
    println!("all tests passed");
    Ok(())
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

//! `flight`: plan and inspect component memory layouts for MMU-less consoles.

mod build;
mod merge;
mod rebase;
mod run;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Plan and inspect component memory layouts for MMU-less consoles.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the consoles this command knows.
    Platforms,
    /// Print a console's memory map: regions, views, reserved parts.
    Map {
        /// The console (see `flight platforms`).
        platform: String,
    },
    /// Plan a layout: place components' segments in a console's memory from a TOML spec.
    ///
    /// Prints the plan as a table with its validation report, and writes it as JSON, a
    /// linker-script fragment and an SVG map per region.
    Plan {
        /// The spec; without one, the built-in example (four components and a shared buffer in
        /// 16 MiB of PSP-1000 user RAM).
        spec: Option<PathBuf>,
        /// Where to write the files (named after the spec: `NAME.plan.json`, `NAME.ld`,
        /// `NAME-REGION.svg`).
        #[arg(long, default_value = "flight-plan")]
        out_dir: PathBuf,
    },
    Rebase(rebase::RebaseArgs),
    Merge(merge::MergeArgs),
    Run(run::RunArgs),
    Build(build::BuildArgs),
}

/// Writes `text` to standard output. A reader that stops early (`flight plan | head`) is not
/// an error: the rest of the output is dropped.
fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// `flight plan`: plans the spec at `path` (the built-in example without one), prints the
/// table and writes the files into `out_dir`. Errors are the lines to print: a spec's start with
/// their place (`SPEC:LINE:COL: error: ...`).
fn plan(path: Option<&Path>, out_dir: &Path) -> Result<(), String> {
    let (shown, stem, source) = match path {
        Some(p) => {
            let source =
                std::fs::read_to_string(p).map_err(|e| format!("error: cannot read {}: {e}", p.display()))?;
            let stem = p.file_stem().map_or("plan".into(), |s| s.to_string_lossy().into_owned());
            (p.display().to_string(), stem, source)
        }
        None => {
            ("examples/psp-1000.toml".to_string(), "example".to_string(), flight_cli::EXAMPLE.to_string())
        }
    };
    let spec = flight_cli::spec::Spec::parse(&source).map_err(|e| e.located(&shown, &source))?;
    let sharers = spec.sharers();
    let planned = flight_cli::plan::plan(&spec, &sharers).map_err(|e| e.located(&shown, &source))?;
    out(&flight_cli::render::table::table(&planned, &stem));
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("error: cannot create {}: {e}", out_dir.display()))?;
    out("\nwrote\n");
    for (name, contents) in flight_cli::render::files(&planned, &stem) {
        let file = out_dir.join(name);
        std::fs::write(&file, contents)
            .map_err(|e| format!("error: cannot write {}: {e}", file.display()))?;
        out(&format!("  {}\n", file.display()));
    }
    Ok(())
}

/// Prints a command's text and succeeds, or says its error and exits with `failure`.
fn finish<E: std::fmt::Display>(result: Result<String, E>, failure: ExitCode) -> ExitCode {
    match result {
        Ok(text) => {
            out(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            failure
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Platforms => {
            for (name, map) in flight_cli::PLATFORMS {
                // Main RAM the CPU runs programs in (not the PSP's Media Engine RAM).
                let ram: u64 = map
                    .regions_of(flight_memory::RegionKind::Main)
                    .filter(|r| r.attributes.cpu_addressable)
                    .map(|r| r.size().get())
                    .sum();
                let regions = map.regions.len();
                let plural = if regions == 1 { "" } else { "s" };
                let vm = if map.virtual_memory { ", virtual memory" } else { "" };
                out(&format!(
                    "{name:<10} {} main RAM, {regions} region{plural}{vm}\n",
                    flight_memory::ByteSize::bytes(ram),
                ));
            }
            ExitCode::SUCCESS
        }
        Command::Map { platform } => {
            finish(flight_cli::platform(&platform).map(|map| map.to_string()), ExitCode::from(2))
        }
        Command::Merge(args) => finish(merge::run(&args), ExitCode::FAILURE),
        Command::Run(args) => finish(run::run(&args), ExitCode::FAILURE),
        Command::Build(args) => finish(build::run(&args), ExitCode::FAILURE),
        Command::Rebase(args) => finish(rebase::run(&args), ExitCode::FAILURE),
        Command::Plan { spec, out_dir } => match plan(spec.as_deref(), &out_dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

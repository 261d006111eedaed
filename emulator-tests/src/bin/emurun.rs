//! `emurun`: boot one console image in an emulator and print what happened.
//!
//! ```text
//! emurun pcsxr target/images/psx/suite.exe
//! emurun qemu-lm3s6965 target/images/cortex-m/suite.elf
//! ```
//!
//! Prints what the console printed, then one result line; exits 0 on pass, 1 on fail, panic,
//! crash or hang, 2 when the run could not start.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use flight_emulator_tests::Emulator;

/// The emulators by name, each with its line of help.
fn emulators() -> impl TypedValueParser<Value = Emulator> {
    PossibleValuesParser::new(Emulator::ALL.map(|e| PossibleValue::new(e.name()).help(e.about())))
        .try_map(|name| name.parse::<Emulator>())
}

/// Boot a console image headless and report pass, fail, panic, crash or hang.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The emulator.
    #[arg(value_parser = emulators())]
    emulator: Emulator,
    /// The image, in the emulator's format (listed with each emulator above).
    image: PathBuf,
    /// Seconds to wait for the end marker before calling it a hang.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Also print the emulator's own log.
    #[arg(long)]
    log: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let timeout = Duration::from_secs(args.timeout);
    let result = flight_emulator_tests::run(args.emulator, &args.image, timeout);
    match result {
        Ok(r) => {
            if args.log {
                r.log.iter().for_each(|l| eprintln!("{l}"));
            }
            r.console.iter().for_each(|l| println!("{l}"));
            println!("result: {r}");
            if r.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(e) => {
            eprintln!("error: {} {}: {e}", args.emulator, args.image.display());
            ExitCode::from(2)
        }
    }
}

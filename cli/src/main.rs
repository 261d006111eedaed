//! `flight`: plan and inspect component memory layouts for MMU-less consoles.

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Platforms => {
            for (name, map) in flight_cli::PLATFORMS {
                let ram: u64 = map.regions_of(flight_memory::RegionKind::Main).map(|r| r.size().get()).sum();
                println!(
                    "{name:<10} {} main RAM, {} regions",
                    flight_memory::ByteSize::bytes(ram),
                    map.regions.len()
                );
            }
            ExitCode::SUCCESS
        }
        Command::Map { platform } => match flight_cli::platform(&platform) {
            Ok(map) => {
                print!("{map}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}

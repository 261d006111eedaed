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

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Emulator {
    /// PlayStation: pcsxr with its HLE BIOS, under a private Xvfb.
    Pcsxr,
    /// PlayStation: pcsx_rearmed (WebAssembly build) under Node, output through the mailbox.
    PcsxRearmed,
    /// Cortex-M3 reference board: qemu-system-arm's lm3s6965evb with semihosting.
    QemuLm3s6965,
    /// PSP: PPSSPP (WebAssembly build) in headless Chromium.
    Ppsspp,
    /// Dreamcast (SH-4): gxemul's Dreamcast machine; the image is an ELF (NAME-gxemul.elf).
    Gxemul,
    /// SH-4 R2D board: qemu-system-sh4's r2d; the image is a raw binary (NAME-r2d.bin).
    QemuR2d,
}

/// Boot a console image headless and report pass, fail, panic, crash or hang.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The emulator.
    emulator: Emulator,
    /// The image (PS-EXE for the PlayStation emulators, EBOOT.PBP for PPSSPP, ELF for qemu).
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
    let result = match args.emulator {
        Emulator::Pcsxr => flight_emulator_tests::pcsxr::run(&args.image, timeout).map_err(|e| e.to_string()),
        Emulator::PcsxRearmed => {
            flight_emulator_tests::rearmed::run(&args.image, timeout).map_err(|e| e.to_string())
        }
        Emulator::Ppsspp => {
            flight_emulator_tests::ppsspp::run(&args.image, timeout).map_err(|e| e.to_string())
        }
        Emulator::QemuLm3s6965 => {
            flight_emulator_tests::qemu::run_lm3s6965(&args.image, timeout).map_err(|e| e.to_string())
        }
        Emulator::Gxemul => {
            flight_emulator_tests::gxemul::run(&args.image, timeout).map_err(|e| e.to_string())
        }
        Emulator::QemuR2d => {
            flight_emulator_tests::qemu_sh4::run_r2d(&args.image, timeout).map_err(|e| e.to_string())
        }
    };
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
            eprintln!("error: {}: {e}", args.image.display());
            ExitCode::from(2)
        }
    }
}

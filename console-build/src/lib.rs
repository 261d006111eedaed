//! What console image builds share on the host, for `cargo xtask build` (the test images) and
//! `flight build` (merged components):
//!
//! - [`sh4`]: the SH-4 route (Rust has no SH-4 backend): WebAssembly translated by wasm2c,
//!   compiled by the SH-4 cross compiler with the runtime in `platform-dreamcast/sh4`, linked
//!   for gxemul's Dreamcast and qemu's R2D;
//! - [`components`]: a bootable image of merged components for the Dreamcast or the
//!   PlayStation, from the C that wasm2c wrote for the merged modules and the plan's linker
//!   fragment;
//! - [`cost`]: the instructions a bounds check adds to each access in that code.
//!
//! Every tool comes from the machine's packages (`cargo xtask setup` installs them); a missing
//! one is an error naming the set-up.

pub mod components;
pub mod cost;
pub mod sh4;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A failed step, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error saying `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The header wasm2c's output needs, from the installed wabt (it must match wasm2c's version).
pub const WABT_HEADER: &str = "/usr/include/wasm-rt.h";

/// The repository's top folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where a program is missing, what to run.
fn missing(program: &std::ffi::OsStr, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{} is not installed: run `cargo xtask setup`", program.to_string_lossy())
    } else {
        format!("cannot start {}: {e}", program.to_string_lossy())
    }
}

/// Runs `cmd`, inheriting output; fails with `what` and the status unless it succeeds.
pub fn run_status(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let status =
        cmd.status().map_err(|e| Error::new(format!("{what}: {}", missing(cmd.get_program(), &e))))?;
    if status.success() { Ok(()) } else { Err(Error::new(format!("{what} failed ({status})"))) }
}

/// Runs `cmd` quietly; fails with `what`, the status and what it printed unless it succeeds.
pub fn run_quiet(cmd: &mut Command, what: &str) -> Result<(), Error> {
    let out = cmd.output().map_err(|e| Error::new(format!("{what}: {}", missing(cmd.get_program(), &e))))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::new(format!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).trim_end()
    )))
}

/// What a command prints on standard output, trimmed; fails unless it succeeds.
pub fn output(cmd: &mut Command, what: &str) -> Result<String, Error> {
    let out = cmd.output().map_err(|e| Error::new(format!("{what}: {}", missing(cmd.get_program(), &e))))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn mkdir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

/// Writes `bytes` to `path` whole or not at all: into a file beside it, renamed over it once
/// complete, so a failed build never leaves a part of an image where the image belongs.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let part = part_of(path);
    write(&part, bytes)?;
    std::fs::rename(&part, path).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        Error::new(format!("{}: {e}", path.display()))
    })
}

/// Where a file is written before it is moved to `path`: beside it, hidden.
fn part_of(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.part"))
}

/// Translates the WebAssembly module `wasm` to C with wasm2c as module `name`: writes `c` and
/// the header beside it.
pub fn wasm2c(wasm: &Path, name: &str, c: &Path) -> Result<(), Error> {
    run_quiet(
        Command::new("wasm2c").arg(wasm).args(["-n", name, "-o"]).arg(c),
        &format!("wasm2c {}", wasm.display()),
    )
}

/// Where the set-up installs tools that are no Debian package (the `cargo-psp` packers).
pub fn tools_dir() -> PathBuf {
    root().join(".flight/tools")
}

/// Packs a linked PSP ELF as an EBOOT.PBP with the cargo-psp packers: `prxgen` (ELF to PRX),
/// `mksfo` (the PARAM.SFO with the title), `pack-pbp`; after
/// `flight_platform_psp::prx::check_segments` made sure the packer loads the module where it
/// was linked.
pub fn eboot(elf: &Path, title: &str) -> Result<Vec<u8>, Error> {
    let bytes = read(elf)?;
    flight_platform_psp::prx::check_segments(&bytes)
        .map_err(|e| Error::new(format!("{}: {e}", elf.display())))?;
    let tmp = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let bin = tools_dir().join("bin");
    let (prx, sfo, pbp) =
        (tmp.path().join("image.prx"), tmp.path().join("PARAM.SFO"), tmp.path().join("EBOOT.PBP"));
    let packer = |name: &str| {
        let path = bin.join(name);
        if path.exists() {
            Ok(Command::new(path))
        } else {
            Err(Error::new(format!("{} is not installed: run `cargo xtask setup`", path.display())))
        }
    };
    run_quiet(packer("prxgen")?.arg(elf).arg(&prx), &format!("prxgen {}", elf.display()))?;
    run_quiet(packer("mksfo")?.arg(format!("flight {title}")).arg(&sfo), "mksfo")?;
    run_quiet(packer("pack-pbp")?.arg(&pbp).arg(&sfo).args(["NULL"; 5]).arg(&prx).arg("NULL"), "pack-pbp")?;
    read(&pbp)
}

/// The C symbol wasm2c (wabt 1.0.32) gives export `export` of a module translated with
/// `-n module`: `Z_` and each name with every character but letters, digits and `_` (and `Z`
/// itself) written `Z` and its two hexadecimal digits.
pub fn wasm2c_symbol(module: &str, export: &str) -> String {
    fn mangle(name: &str, out: &mut String) {
        out.push_str("Z_");
        for b in name.bytes() {
            if (b.is_ascii_alphanumeric() && b != b'Z') || b == b'_' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("Z{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    mangle(module, &mut out);
    mangle(export, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_mangled_as_wasm2c_does() {
        assert_eq!(wasm2c_symbol("components", "frame"), "Z_componentsZ_frame");
        assert_eq!(
            wasm2c_symbol("components", "physics.flight.trap"),
            "Z_componentsZ_physicsZ2EflightZ2Etrap"
        );
        assert_eq!(wasm2c_symbol("m", "Zed-1"), "Z_mZ_Z5AedZ2D1");
    }
}

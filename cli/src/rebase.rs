//! `flight rebase`: moves a WebAssembly module's memory into a segment of a larger memory
//! (see the `flight-rebase` crate), writes the new module and, on request, the relocation table.

use std::path::{Path, PathBuf};

use flight_rebase::{Options, RewriteOptions};

/// Move a WebAssembly module's memory into the segment [BASE, BASE + SIZE) of a larger memory.
///
/// Every load, store and atomic access, every active data segment, memory.size, memory.grow and
/// the bulk instructions move into the segment; with --checks every access that is not proven
/// in bounds is checked and traps outside the module's memory and its shared regions.
#[derive(clap::Args)]
pub struct RebaseArgs {
    /// The module to rebase.
    input: PathBuf,
    /// The segment's first byte in the whole memory: bytes, 0x hex, or a size with a unit; a
    /// multiple of 64 KiB.
    #[arg(long)]
    base: String,
    /// The segment's size (as --base): a multiple of 64 KiB, at least the module's memory.
    #[arg(long)]
    size: String,
    /// Where to write the rebased module.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    rewrite: Rewrite,
    /// A shared region the module may also touch, as absolute `START..END` (repeatable).
    #[arg(long, value_name = "START..END")]
    shared: Vec<String>,
}

/// The options `flight rebase` and `flight merge` share.
#[derive(clap::Args)]
pub(crate) struct Rewrite {
    /// Also write the relocation table: JSON if the name ends in `.json`, a listing otherwise.
    #[arg(long)]
    pub relocs: Option<PathBuf>,
    /// Check every access that is not proven in bounds at rebase time.
    #[arg(long)]
    pub checks: bool,
    /// Mask every address into the segment instead: branch-free, an access past the module's
    /// memory wraps inside its segment. The segment's size must be a power of two and its base
    /// a multiple of it, with 16 free bytes after it; no shared regions.
    #[arg(long, conflicts_with = "checks")]
    pub mask: bool,
    /// Accept a declared maximum larger than the segment (Emscripten declares 2 or 4 GiB):
    /// memory.grow then fails at the segment's end.
    #[arg(long)]
    pub clamp_max: bool,
    /// Do not validate the modules first (they must already be valid, as a compiler's output
    /// is): malformed bytes are still an error, a typing error is not.
    #[arg(long)]
    pub no_validate: bool,
}

impl Rewrite {
    /// The engine's options these flags ask for.
    pub fn options(&self) -> RewriteOptions {
        RewriteOptions {
            bounds_checks: self.checks,
            masking: self.mask,
            clamp_maximum: self.clamp_max,
            validate: !self.no_validate,
            // The summary needs only the counts; the entries cost time and memory for --relocs alone.
            relocation_entries: self.relocs.is_some(),
            threads: 0,
        }
    }
}

/// A size or address as `flight plan` spells them, or an error naming the option.
fn size(option: &str, text: &str) -> Result<u64, String> {
    flight_cli::spec::parse_size(text).map_err(|e| format!("--{option}: {e}"))
}

/// The bytes of `path`, or an error naming it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes `bytes` to `path`, or an error naming it.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes a relocation table to `path`: as JSON if the name ends in `.json`, else as its
/// listing.
pub(crate) fn write_relocations(
    path: &Path,
    listing: &impl std::fmt::Display,
    json: impl FnOnce() -> String,
) -> Result<(), String> {
    let text =
        if path.extension().is_some_and(|e| e == "json") { json() + "\n" } else { listing.to_string() };
    write(path, text.as_bytes())
}

/// Runs `flight rebase`; returns what to print, or the error.
pub fn run(args: &RebaseArgs) -> Result<String, String> {
    let mut options = Options {
        rewrite: args.rewrite.options(),
        ..Options::new(size("base", &args.base)?, size("size", &args.size)?)
    };
    for range in &args.shared {
        let (start, end) =
            range.split_once("..").ok_or_else(|| format!("--shared: `{range}` is not START..END"))?;
        options = options.with_shared(size("shared", start)?..size("shared", end)?);
    }
    let wasm = read(&args.input)?;
    let (rebased, relocs) =
        flight_rebase::rebase(&wasm, &options).map_err(|e| format!("{}: {e}", args.input.display()))?;
    write(&args.output, &rebased)?;
    if let Some(path) = &args.rewrite.relocs {
        write_relocations(path, &relocs, || relocs.to_json())?;
    }
    let c = &relocs.counts;
    let (moved, checked, data, calls, dropped) =
        (c.memargs, c.checked, c.data, c.calls + c.pages, &c.dropped);
    let mut text = format!(
        "{} -> {}: segment [{:#x}, {:#x})\n  {moved} accesses moved ({checked} checked), {data} data segments, \
         {calls} memory.size/grow and bulk instructions replaced, {} helpers added\n  wrote {} bytes\n",
        args.input.display(),
        args.output.display(),
        options.base,
        options.base + options.size,
        relocs.helpers.len(),
        rebased.len()
    );
    if !dropped.is_empty() {
        text += &format!("  dropped custom sections that hold code offsets: {}\n", dropped.join(", "));
    }
    if let Some(path) = &args.rewrite.relocs {
        text += &format!("  relocations in {}\n", path.display());
    }
    Ok(text)
}

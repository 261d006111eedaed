//! `flight merge`: rebases several WebAssembly modules into their segments of a plan and links
//! them into one module with one memory, or writes them separately over one imported memory
//! (see the `flight-rebase` crate's `merge` module).

use std::path::{Path, PathBuf};

use crate::rebase::{Rewrite, read, write, write_relocations};
use flight_cli::components::{inputs, module_arg};
use flight_rebase::merge::{self, MergeOptions};

/// Merge WebAssembly modules into one module with one memory, each in its segment of a plan.
///
/// Each module is rebased into the segment of its component in the plan (the segment named
/// after it, or owned by it), reaching the shared regions the plan lists it in (a reader's
/// writes there trap), and the modules are linked: identical imports shared, exports kept
/// (one whose name an earlier module exports becomes COMPONENT.NAME), start functions chained.
/// The memory ends at the highest segment's end, rounded up to 64 KiB, unless --memory says.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The modules, in order: FILE (the component is the file's stem) or NAME=FILE.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    modules: Vec<String>,
    /// The plan JSON `flight plan` wrote.
    #[arg(long)]
    plan: PathBuf,
    /// Where to write the merged module (required unless --separate).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write the modules separately into this folder instead (NAME.wasm), each importing the
    /// one memory as `env.memory`.
    #[arg(long, value_name = "OUTDIR")]
    separate: Option<PathBuf>,
    #[command(flatten)]
    rewrite: Rewrite,
    /// The merged memory's size (bytes, 0x hex, or a size with a unit), rounded up to 64 KiB.
    #[arg(long)]
    memory: Option<String>,
}

/// Runs `flight merge`; returns what to print, or the error.
pub fn run(args: &MergeArgs) -> Result<String, String> {
    if args.output.is_none() && args.separate.is_none() {
        return Err("give -o OUT.wasm, or --separate OUTDIR".into());
    }
    let json = String::from_utf8(read(&args.plan)?)
        .map_err(|_| format!("{}: the plan is not UTF-8", args.plan.display()))?;
    let plan = flight_plan::read(&json).map_err(|e| format!("{}: {e}", args.plan.display()))?;
    let mut modules = Vec::new();
    for arg in &args.modules {
        let (name, file) = module_arg(arg)?;
        modules.push((name, read(&file)?));
    }
    // Segments the plan marks masked are masked, whatever the checks.
    let inputs = inputs(&plan, &args.plan.display().to_string(), &modules, true)?;
    let memory_pages = match &args.memory {
        Some(text) => Some(
            flight_cli::spec::parse_size(text)
                .map_err(|e| format!("--memory: {e}"))?
                .div_ceil(flight_rebase::PAGE),
        ),
        None => None,
    };
    let options = MergeOptions { rewrite: args.rewrite.options(), memory_pages };
    let mut text = String::new();
    let relocations = match &args.separate {
        Some(dir) => {
            let out = merge::separate(&inputs, &options).map_err(|e| e.to_string())?;
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for (name, wasm) in &out.modules {
                let path = dir.join(format!("{name}.wasm"));
                write(&path, wasm)?;
                text += &format!("  wrote {} ({} bytes)\n", path.display(), wasm.len());
            }
            out.relocations
        }
        None => {
            let merged = merge::merge(&inputs, &options).map_err(|e| e.to_string())?;
            let path = args.output.as_deref().unwrap_or(Path::new("merged.wasm"));
            write(path, &merged.wasm)?;
            text += &format!("  wrote {} ({} bytes)\n", path.display(), merged.wasm.len());
            for e in merged.exports.iter().filter(|e| e.name != e.merged) {
                text += &format!("  {}: export `{}` renamed `{}`\n", e.module, e.name, e.merged);
            }
            merged.relocations
        }
    };
    let mut head = format!("merged memory: {} pages\n", relocations.memory_pages);
    for m in &relocations.modules {
        head += &format!(
            "  {}: segment [{:#x}, {:#x}), {} changes, {} helpers\n",
            m.module,
            m.rebase.base,
            m.rebase.base + m.rebase.size,
            m.rebase.counts.total(),
            m.rebase.helpers.len()
        );
    }
    if let Some(path) = &args.rewrite.relocs {
        write_relocations(path, &relocations, || relocations.to_json())?;
        text += &format!("  relocations in {}\n", path.display());
    }
    Ok(head + &text)
}

//! `flight build`: merged components as a bootable console image.

use std::path::PathBuf;

use flight_cli::components::Confinement;
use flight_console_build::components::{self, CHECKED, Console, PLAN, PLANNED, Sources, TABLE, UNCHECKED};

/// Build a console image of components: plan the spec, merge the components into their
/// segments, each with bounds checks or masked as the spec says (and, for the frame-time
/// comparison, every one checked and none), translate the merged modules to C with wasm2c, compile them for the console with its runtime, the shared
/// frame loop and the table of the plan, and link them with the plan's linker fragment, whose
/// assertions fail the link when the plan and the image overlap.
///
/// The image runs the frames as `flight run` does on the host and prints the same lines, then
/// the frame time of the planned, the all-checked and the unchecked build in the console's
/// ticks. Needs the
/// console's tools (`cargo xtask setup`) and this repository's sources.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// The console: dreamcast (gxemul's Dreamcast and qemu's R2D board), psp or psx.
    #[arg(long)]
    console: String,
    /// The spec (TOML, as `flight plan` reads), for the console's platform.
    spec: PathBuf,
    /// The components, in the order they run: FILE (the component is the file's stem) or
    /// NAME=FILE.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    modules: Vec<String>,
    /// The image: the PS-EXE, the EBOOT.PBP; for the Dreamcast, the name its two images are
    /// made from (`NAME-gxemul.elf`, `NAME-r2d.bin`, beside it).
    #[arg(short, long)]
    out: PathBuf,
    /// How many frames the image runs.
    #[arg(long, default_value_t = 300)]
    frames: u32,
}

/// Runs `flight build`; returns what to print, or the error.
pub fn run(args: &BuildArgs) -> Result<String, String> {
    let console = Console::from_name(&args.console).map_err(|e| e.to_string())?;
    let planned = flight_cli::components::from_spec(&args.spec, &args.modules, Confinement::Planned)?;
    if !console.platforms().contains(&planned.plan.platform.as_str()) {
        return Err(format!(
            "{}: the plan is for platform `{}`, not for console `{}` ({})",
            args.spec.display(),
            planned.plan.platform,
            console.name(),
            console.platforms().join(", ")
        ));
    }
    let checked = if planned.components.iter().any(|c| c.masked) {
        Some(flight_cli::components::from_spec(&args.spec, &args.modules, Confinement::Checks)?)
    } else {
        None
    };
    let unchecked = flight_cli::components::from_spec(&args.spec, &args.modules, Confinement::Nothing)?;
    // The image must not be one of the inputs.
    let same = |a: &std::path::Path, b: &std::path::Path| matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b);
    let mut inputs = vec![args.spec.clone()];
    for arg in &args.modules {
        inputs.push(flight_cli::components::module_arg(arg)?.1);
    }
    for file in console.outputs(&args.out) {
        if let Some(input) = inputs.iter().find(|i| same(i, &file)) {
            return Err(format!(
                "the image {} would overwrite the input {}",
                file.display(),
                input.display()
            ));
        }
    }
    // A failed build leaves no image where the image belongs, not even an older one.
    for file in console.outputs(&args.out) {
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot replace {}: {e}", file.display()));
            }
            _ => {}
        }
    }

    let table = flight_cli::components::c_table(
        &planned,
        checked.as_ref(),
        &unchecked,
        (PLANNED, CHECKED, UNCHECKED),
        args.frames,
    )
    .map_err(|e| format!("{}: {e}", args.spec.display()))?;

    // A fresh work folder per image (named after its path), under the repository's target
    // folder.
    let stem = args.out.file_stem().map_or("image".into(), |s| s.to_string_lossy().into_owned());
    let mut key = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&std::path::absolute(&args.out).unwrap_or_else(|_| args.out.clone()), &mut key);
    let key = std::hash::Hasher::finish(&key) as u32;
    let dir = flight_console_build::root()
        .join("target/flight-build")
        .join(format!("{}-{stem}-{key:08x}", console.name()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    let mut modules = vec![(PLANNED, &planned)];
    modules.extend(checked.as_ref().map(|c| (CHECKED, c)));
    modules.push((UNCHECKED, &unchecked));
    for (module, merged) in modules {
        let wasm = format!("{module}.wasm");
        write(&wasm, &merged.wasm)?;
        flight_console_build::wasm2c(&dir.join(&wasm), module, &dir.join(format!("{module}.c")))
            .map_err(|e| e.to_string())?;
    }
    write(TABLE, table.as_bytes())?;
    write(PLAN, planned.linker.as_bytes())?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let written = components::build(console, &Sources { dir, checked_apart: checked.is_some() }, &args.out)
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    for file in written {
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        out += &format!("wrote {} ({size} bytes)\n", file.display());
    }
    Ok(out)
}

//! A bootable image of merged components, for the Dreamcast (gxemul's machine and qemu's R2D),
//! the PSP or the PlayStation, from a folder `flight build` prepared ([`Sources`]).
//!
//! Every console links the same C: the merged module with bounds checks (wasm2c's module
//! `components`), the same components merged without them (`unchecked`, for the frame-time
//! comparison), the table `flight build` writes from the plan (`flight-table.c`), and from
//! `rt/wasm2c` the shared wasm-rt with its memory placed at the plan's addresses
//! (`-DFLIGHT_WASM_PLACED_MEMORY`) and the frame loop (`frames.c`). wasm2c's own bounds
//! checks are off in both modules (`-DFLIGHT_WASM_NO_BOUNDS_CHECKS`): what keeps the components
//! apart is the check the merge inserted against the plan. The plan's linker fragment
//! (`plan.ld`) reaches the link through the console's `components.ld`, whose assertions keep
//! the image clear of the plan's budget.
//!
//! - Dreamcast: compiled and linked with the SH-4 runtime ([`crate::sh4`]), into
//!   `NAME-gxemul.elf` and `NAME-r2d.bin`.
//! - PlayStation and PSP: compiled with the console's C toolchain into
//!   `libflight-components.a` and linked by cargo into the console's Rust runtime
//!   (`platform-psx/components`, `platform-psp/components`: start-up, output, timer,
//!   compiler-builtins' helpers; on the PSP the budgets reserved from the kernel first), then
//!   written as a PS-EXE or packed as an EBOOT.PBP.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flight_targets::{CToolchain, Target};

use crate::{Error, WABT_HEADER, mkdir, output, read, root, run_quiet, write, write_atomically};

/// The module names wasm2c gives the merged modules: each component confined as the plan
/// says (bounds checks, or masks where it asks for them), what the image runs and prints.
pub const PLANNED: &str = "components";
/// Every component bounds-checked, for the frame-time comparison, when the plan masks some
/// (otherwise the planned module is this one).
pub const CHECKED: &str = "checked";
/// Nothing confined, for the frame-time comparison.
pub const UNCHECKED: &str = "unchecked";
/// The table's file.
pub const TABLE: &str = "flight-table.c";
/// The plan's linker fragment's file.
pub const PLAN: &str = flight_linker::COMPONENTS_PLAN;

/// A console that runs merged components.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Console {
    /// The Dreamcast: gxemul's machine and qemu's R2D board.
    Dreamcast,
    /// The PlayStation.
    Psx,
    /// The PSP.
    Psp,
}

/// A console whose image is a Rust runtime that links the components' C.
struct RustRuntime {
    /// The runtime's package in the images' workspace.
    package: &'static str,
    /// Whether the C objects' `.MIPS.abiflags` go before the link. On the PSP, LLVM marks
    /// Rust's objects double-float though it computes doubles in software (the Allegrex's FPU
    /// is single precision), and ld.lld refuses GCC's honest `-msingle-float` beside them. The
    /// two agree where it matters: floats in FPU registers, doubles in integer registers, and
    /// no float crosses between the C and the Rust but through compiler-builtins' helpers.
    strip_abiflags: bool,
}

impl Console {
    /// Every console, by name.
    pub const ALL: [(&'static str, Self); 3] =
        [("dreamcast", Self::Dreamcast), ("psp", Self::Psp), ("psx", Self::Psx)];

    /// The console called `name`, or an error listing them.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            Error::new(format!("unknown console `{name}`: merged components build for {}", names.join(", ")))
        })
    }

    /// Its name in `targets/`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dreamcast => "dreamcast",
            Self::Psx => "psx",
            Self::Psp => "psp",
        }
    }

    /// The platforms a plan for it may be for (its spec's `platform`).
    pub fn platforms(self) -> &'static [&'static str] {
        match self {
            Self::Dreamcast => &["dreamcast"],
            Self::Psx => &["psx"],
            Self::Psp => &["psp-1000", "psp-2000"],
        }
    }

    fn rust_runtime(self) -> Option<RustRuntime> {
        match self {
            Self::Dreamcast => None,
            Self::Psx => Some(RustRuntime { package: "flight-psx-components", strip_abiflags: false }),
            Self::Psp => Some(RustRuntime { package: "flight-psp-components", strip_abiflags: true }),
        }
    }

    /// The files a build of image `out` writes: the PS-EXE itself, or the Dreamcast's ELF and
    /// the R2D's binary beside it (`NAME-gxemul.elf`, `NAME-r2d.bin`).
    pub fn outputs(self, out: &Path) -> Vec<PathBuf> {
        match self {
            Self::Psx | Self::Psp => vec![out.to_path_buf()],
            Self::Dreamcast => {
                crate::sh4::Machine::ALL.iter().map(|m| crate::sh4::machine_image(out, *m)).collect()
            }
        }
    }
}

/// The folder `flight build` prepared: each of [`Sources::modules`] as wasm2c wrote it
/// (`NAME.c`, `NAME.h`), [`TABLE`] and [`PLAN`].
#[derive(Clone, Debug)]
pub struct Sources {
    /// The folder; the build's objects go there too.
    pub dir: PathBuf,
    /// Whether the folder holds an all-checked module of its own ([`CHECKED`]): the plan
    /// masks some component.
    pub checked_apart: bool,
}

impl Sources {
    /// The merged modules' names, as wasm2c's files are called.
    pub fn modules(&self) -> Vec<&'static str> {
        if self.checked_apart { vec![PLANNED, CHECKED, UNCHECKED] } else { vec![PLANNED, UNCHECKED] }
    }
}

/// The wasm-rt and frame loop every console shares.
fn shared_dir() -> PathBuf {
    root().join("rt/wasm2c")
}

/// The C sources of the components' part, each with the flags it adds.
fn component_sources(sources: &Sources) -> Vec<(PathBuf, Vec<&'static str>)> {
    let shared = shared_dir().join("src");
    // wasm2c's output discards values and leaves labels unused by design: no warnings for it.
    let generated = vec!["-w"];
    let mut files: Vec<(PathBuf, Vec<&'static str>)> =
        sources.modules().iter().map(|m| (sources.dir.join(format!("{m}.c")), generated.clone())).collect();
    files.extend([
        (sources.dir.join(TABLE), vec![]),
        (shared.join("wasm-rt.c"), vec!["-DFLIGHT_WASM_PLACED_MEMORY"]),
        (shared.join("frames.c"), vec![]),
    ]);
    files
}

/// How deep calls may nest in a component before it traps (`call stack exhausted`): the same
/// on the host (`flight run`'s wasmi) and in the consoles' C (wasm2c's
/// `WASM_RT_MAX_CALL_STACK_DEPTH`), so that both trap in the same frame. wabt's own default,
/// which the consoles' C stacks hold.
pub const CALL_DEPTH: u32 = 500;

/// The flags every components' source gets.
const DEFINES: [&str; 2] = ["-DFLIGHT_WASM_NO_BOUNDS_CHECKS", "-DWASM_RT_MAX_CALL_STACK_DEPTH=500"];

/// Copies wabt's header where the shared `wasm-rt.h` includes it from.
fn wabt_header(inc: &Path) -> Result<(), Error> {
    mkdir(inc)?;
    write(
        &inc.join("wasm-rt-wabt.h"),
        &read(Path::new(WABT_HEADER))
            .map_err(|e| Error::new(format!("{e} (wabt's header: run `cargo xtask setup`)")))?,
    )
}

/// The console's settings and its C toolchain.
pub fn settings(console: Console) -> Result<(Target, CToolchain), Error> {
    let target = Target::load(console.name()).map_err(|e| Error::new(e.to_string()))?;
    let c = target
        .c
        .clone()
        .ok_or_else(|| Error::new(format!("targets/{}.toml has no [c] table", target.name)))?;
    Ok((target, c))
}

/// Builds the image of merged components for `console` from `sources` into `out` (see
/// [`Console::outputs`]); returns the files written. Nothing is written at `out` unless the
/// whole build succeeds.
pub fn build(console: Console, sources: &Sources, out: &Path) -> Result<Vec<PathBuf>, Error> {
    let modules = sources.modules().into_iter().map(|m| format!("{m}.c"));
    for file in modules.chain([TABLE.into(), PLAN.into()]) {
        let path = sources.dir.join(&file);
        if !path.exists() {
            return Err(Error::new(format!("{}: missing (written by `flight build`)", path.display())));
        }
    }
    let (target, settings) = settings(console)?;
    match console {
        Console::Dreamcast => {
            crate::sh4::components_images(&sources.dir, &component_sources(sources), &DEFINES, &settings, out)
        }
        Console::Psx | Console::Psp => rust_image(console, &target, &settings, sources, out),
    }
}

/// The flags for the components' C in `dir` on a console with a Rust runtime (the console's,
/// the defines, the include paths; wabt's header copied into `dir/inc`).
/// The MIPS consoles' `setjmp.S` and `include/setjmp.h` (the R3000's and the Allegrex's).
fn mips_dir() -> PathBuf {
    shared_dir().join("mips")
}

fn rust_runtime_flags(settings: &CToolchain, dir: &Path) -> Result<Vec<String>, Error> {
    let inc = dir.join("inc");
    wabt_header(&inc)?;
    let gcc_include =
        output(Command::new(settings.tool("gcc")).arg("-print-file-name=include"), "locate GCC's headers")?;
    let mut flags = settings.cflags.clone();
    flags.extend(DEFINES.map(String::from));
    flags.extend(["-isystem".to_string(), gcc_include]);
    for include in [mips_dir().join("include"), shared_dir().join("include"), inc, dir.to_path_buf()] {
        flags.push(format!("-I{}", include.display()));
    }
    Ok(flags)
}

/// Compiles one C file of merged components for `console` as a build does, into `object`.
pub fn compile(console: Console, source: &Path, object: &Path, dir: &Path) -> Result<(), Error> {
    let (_, settings) = settings(console)?;
    match console {
        Console::Dreamcast => crate::sh4::compile_components(dir, source, object, &DEFINES, &settings),
        Console::Psx | Console::Psp => {
            let cc = settings.tool("gcc");
            run_quiet(
                Command::new(&cc)
                    .args(rust_runtime_flags(&settings, dir)?)
                    .arg("-w")
                    .arg("-c")
                    .arg(source)
                    .arg("-o")
                    .arg(object),
                &format!("{cc} {}", source.display()),
            )
        }
    }
}

/// The image of a console whose runtime is Rust: the components' C compiled into an archive,
/// the runtime linked by cargo with it and the plan, the ELF written in the console's format.
fn rust_image(
    console: Console,
    target: &Target,
    settings: &CToolchain,
    sources: &Sources,
    out: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let runtime = console
        .rust_runtime()
        .ok_or_else(|| Error::new(format!("console {} has no Rust runtime", console.name())))?;
    let dir = &sources.dir;
    let cc = settings.tool("gcc");
    let flags = rust_runtime_flags(settings, dir)?;
    let port = mips_dir();
    let mut all = component_sources(sources);
    all.push((shared_dir().join("src/math.c"), vec![]));
    all.push((port.join("setjmp.S"), vec![]));
    let mut objects = Vec::new();
    for (source, extra) in &all {
        let stem = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let object = dir.join(format!("{stem}.o"));
        run_quiet(
            Command::new(&cc).args(&flags).args(extra).arg("-c").arg(source).arg("-o").arg(&object),
            &format!("{cc} {}", source.display()),
        )?;
        if runtime.strip_abiflags {
            run_quiet(
                Command::new(settings.tool("objcopy"))
                    .args(["--remove-section", ".MIPS.abiflags"])
                    .arg(&object),
                &format!("objcopy {}", object.display()),
            )?;
        }
        objects.push(object);
    }
    let archive = dir.join(flight_linker::COMPONENTS_ARCHIVE);
    let _ = std::fs::remove_file(&archive);
    run_quiet(
        Command::new(settings.tool("ar")).arg("rcs").arg(&archive).args(&objects),
        &format!("{} rcs {}", settings.tool("ar"), archive.display()),
    )?;

    // The Rust runtime, linked by cargo with the archive and the plan.
    let package = runtime.package;
    let target_dir = root().join("target/console");
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(target.cargo_args_for(package))
        .arg("--manifest-path")
        .arg(root().join("emulator-tests/images/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--message-format=json-render-diagnostics")
        .envs(target.cargo_env())
        .env(flight_linker::COMPONENTS_DIR, dir)
        .stdout(Stdio::piped());
    let result = cmd.output().map_err(|e| Error::new(format!("cargo: {e}")))?;
    if !result.status.success() {
        return Err(Error::new(format!(
            "linking the runtime ({package}) failed ({}):\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim_end()
        )));
    }
    // cargo names the executable (with the target's suffix) in its messages.
    let elf = String::from_utf8_lossy(&result.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| Error::new(format!("cargo built no executable for {package}")))?;
    let image = match console {
        Console::Psp => crate::eboot(&elf, "components")?,
        _ => {
            let bytes = read(&elf)?;
            flight_platform_psx::exe::PsExe::from_elf(&bytes)
                .map_err(|e| Error::new(format!("{}: {e}", elf.display())))?
                .to_bytes()
        }
    };
    write_atomically(out, &image)?;
    Ok(vec![out.to_path_buf()])
}

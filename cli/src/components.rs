//! Components merged into one memory, from a spec: the plan, the merged module, and the table
//! a runtime needs to run it (the host's [`host`](crate::host), each console's): every
//! component's exports, segment and shared regions, and where the memory's bytes are on the
//! CPU.
//!
//! # What a component is
//!
//! A core WebAssembly module with one memory (defined or imported) that exports:
//!
//! - `frame(n: i32) -> i32` ([`FRAME_EXPORT`]): advances the component by frame `n` (0, 1, ...)
//!   and returns the frame's result, an integer the run prints (a fixed-point value, a hash of
//!   its state), so that a host's and a console's runs compare exactly;
//! - optionally `attach(index: i32, address: i32)` ([`ATTACH_EXPORT`]), called before the first
//!   frame once for each shared region the plan gives it (`index` in the plan's order of those
//!   regions, from 0), with the address at which the component reaches the region.
//!
//! It imports nothing: the runtimes provide no functions (a component that imports one is
//! refused, naming the import). Every component runs in its segment, confined as asked
//! ([`Confinement`]): with bounds checks, a check that stops a component is reported through
//! its trap export ([`TRAP_EXPORT`]); masked (`isolation = "mask"` in the spec), its addresses
//! wrap inside its segment and nothing traps.

use std::path::{Path, PathBuf};

use flight_memory::layout::trap::{Trap, TrapKind};
use flight_plan::Plan;
use flight_rebase::merge::{self, Input, MergeOptions};
use flight_rebase::{RewriteOptions, Shared, SharedAccess, TRAP_EXPORT};

use crate::spec::Spec;

/// The export a runtime calls every frame.
pub const FRAME_EXPORT: &str = "frame";
/// The export a runtime calls with each shared region's address before the first frame.
pub const ATTACH_EXPORT: &str = "attach";

/// How the components of a merge are kept in their segments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Confinement {
    /// As the plan says: bounds checks, or masks for the segments the plan marks masked.
    Planned,
    /// Bounds checks for every component, masked or not: the comparison masks are measured
    /// against.
    Checks,
    /// Neither: a component can reach any byte of the memory.
    Nothing,
}

/// One component of a merged module.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Component {
    /// Its name.
    pub name: String,
    /// The merged module's name for its [`FRAME_EXPORT`].
    pub frame: String,
    /// The merged module's name for its [`ATTACH_EXPORT`], if it has one.
    pub attach: Option<String>,
    /// The merged module's name for its trap export, if it is checked.
    pub trap: Option<String>,
    /// Whether its addresses are masked into its segment.
    pub masked: bool,
    /// Its segment's first byte in the merged memory.
    pub base: u64,
    /// Its segment's size.
    pub size: u64,
    /// The shared regions it reaches, in the plan's order: name, the address at which the
    /// component reaches it (its start minus `base`), and whether it may write there.
    pub shared: Vec<(String, u64, bool)>,
}

/// Components merged into one module from a spec.
#[derive(Clone, Debug)]
pub struct Components {
    /// The plan.
    pub plan: Plan,
    /// The plan's linker-script fragment.
    pub linker: String,
    /// The merged module.
    pub wasm: Vec<u8>,
    /// Every component, in the order given.
    pub components: Vec<Component>,
}

impl Components {
    /// The CPU address of `address` of the merged memory (the plan's address of a byte of a
    /// window), or `None` where no window of the plan with a CPU view holds it.
    pub fn cpu(&self, address: u64) -> Option<u64> {
        let w = self.plan.windows.iter().find(|w| w.start <= address && address < w.end)?;
        Some(w.cpu_start? + (address - w.start))
    }
}

/// The component's name and the file of a `[NAME=]FILE` argument.
pub fn module_arg(arg: &str) -> Result<(String, PathBuf), String> {
    let (name, file) = match arg.split_once('=') {
        Some((name, file)) => (name.to_string(), PathBuf::from(file)),
        None => {
            let file = PathBuf::from(arg);
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
            (stem.ok_or_else(|| format!("`{arg}` has no file name to take the component's from"))?, file)
        }
    };
    if name.is_empty() {
        return Err(format!("`{arg}`: the component's name is empty"));
    }
    Ok((name, file))
}

/// Each module as the merge takes it: in its segment of `plan`, reaching the shared regions
/// the plan lists it in with its rights there, and masked if the plan marks its segment so
/// (and `masks` allows). `plan_name` names the plan in errors.
pub fn inputs<'a>(
    plan: &Plan,
    plan_name: &str,
    modules: &'a [(String, Vec<u8>)],
    masks: bool,
) -> Result<Vec<Input<'a>>, String> {
    modules
        .iter()
        .map(|(name, wasm)| {
            let segment = plan.segment_for(name).map_err(|e| format!("{plan_name}: {e}"))?;
            let shared = plan
                .shared_with(name)
                .map(|(s, a)| Shared {
                    range: s.start..s.end,
                    access: if a.writes() { SharedAccess::ReadWrite } else { SharedAccess::Read },
                })
                .collect();
            let masked = masks && segment.flags.iter().any(|f| f == "masked");
            Ok(Input { shared, masked, ..Input::new(name.clone(), wasm, segment.start, segment.size) })
        })
        .collect()
}

/// Plans the spec at `spec_path` and merges `modules` (`[NAME=]FILE` arguments) into their
/// segments, confined as `confinement` says.
pub fn from_spec(
    spec_path: &Path,
    modules: &[String],
    confinement: Confinement,
) -> Result<Components, String> {
    let shown = spec_path.display().to_string();
    let source = std::fs::read_to_string(spec_path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let spec = Spec::parse(&source).map_err(|e| e.located(&shown, &source))?;
    let sharers = spec.sharers();
    let planned = crate::plan::plan(&spec, &sharers).map_err(|e| e.located(&shown, &source))?;
    if !planned.report.is_ok() {
        return Err(format!("{shown}: the plan does not validate:\n{}", planned.report));
    }
    let stem = spec_path.file_stem().map_or("plan".into(), |s| s.to_string_lossy().into_owned());
    let plan = crate::render::json::plan(&planned);
    let linker = crate::render::linker::linker(&planned, &stem);
    let mut loaded = Vec::new();
    for arg in modules {
        let (name, file) = module_arg(arg)?;
        let wasm = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        loaded.push((name, wasm));
    }
    let inputs = inputs(&plan, &shown, &loaded, confinement == Confinement::Planned)?;
    let options = MergeOptions {
        rewrite: RewriteOptions {
            bounds_checks: confinement != Confinement::Nothing,
            ..RewriteOptions::default()
        },
        memory_pages: None,
    };
    let merged = merge::merge(&inputs, &options).map_err(|e| e.to_string())?;
    let mut components = Vec::new();
    for input in &inputs {
        let export = |name: &str| {
            merged.exports.iter().find(|e| e.module == input.name && e.name == name).map(|e| e.merged.clone())
        };
        let frame = export(FRAME_EXPORT)
            .ok_or_else(|| format!("component `{}` exports no `{FRAME_EXPORT}` function", input.name))?;
        let shared = plan
            .shared_with(&input.name)
            .map(|(s, a)| (s.name.clone(), s.start - input.base, a.writes()))
            .collect();
        components.push(Component {
            name: input.name.clone(),
            frame,
            attach: export(ATTACH_EXPORT),
            trap: export(TRAP_EXPORT),
            masked: input.masked,
            base: input.base,
            size: input.size,
            shared,
        });
    }
    if let Some(import) = merged_imports(&merged.wasm)?.into_iter().next() {
        return Err(format!(
            "the merged module imports `{import}`: components may import nothing (the runtimes provide no function)"
        ));
    }
    Ok(Components { plan, linker, wasm: merged.wasm, components })
}

/// The merged module's imports, as `MODULE.NAME`.
fn merged_imports(wasm: &[u8]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(reader) = payload.map_err(|e| e.to_string())? {
            for import in reader.into_imports() {
                let import = import.map_err(|e| e.to_string())?;
                out.push(format!("{}.{}", import.module, import.name));
            }
        }
    }
    Ok(out)
}

/// The most shared regions one component reaches in a console's table
/// (`rt/wasm2c/include/flight-components.h`'s `FLIGHT_MAX_SHARED`).
pub const MAX_SHARED: usize = 8;
/// The most components a console's table holds (`FLIGHT_MAX_COMPONENTS`).
pub const MAX_COMPONENTS: usize = 32;

/// The C table a console's frame loop runs the components from (`rt/wasm2c/include/
/// flight-components.h`): `planned` (each component confined as the plan says) translated by
/// wasm2c as module `planned_module`, `checked` (every component bounds-checked; `None` when
/// the plan masks nothing, and `planned` is that module) as `checked_module` and `unchecked`
/// (the same components merged without checks) as `unchecked_module`, each declared in the
/// header of that name (`NAME.h`); the plan's windows, the segments and shared regions to
/// zero, and the number of frames. A console runs the merged memory as one view of its RAM:
/// every window of the plan must have a CPU address, all at the same offset.
pub fn c_table(
    planned: &Components,
    checked: Option<&Components>,
    unchecked: &Components,
    (planned_module, checked_module, unchecked_module): (&str, &str, &str),
    frames: u32,
) -> Result<String, String> {
    let plan = &planned.plan;
    if planned.components.len() > MAX_COMPONENTS {
        return Err(format!(
            "{} components: a console runs at most {MAX_COMPONENTS} in one image",
            planned.components.len()
        ));
    }
    let mut offset = None;
    for w in &plan.windows {
        let cpu = w.cpu_start.ok_or_else(|| {
            format!(
                "the plan's budget in `{}` has no CPU address: a console cannot run components there",
                w.region
            )
        })?;
        let this = cpu.wrapping_sub(w.start);
        if offset.is_some_and(|o| o != this) {
            return Err("the plan's budgets are at different CPU offsets: a console runs the merged memory as one view of its RAM".into());
        }
        offset = Some(this);
    }
    let offset = offset.ok_or("the plan has no budget")?;
    let to_u32 = |v: u64, what: &str| {
        u32::try_from(v).map_err(|_| format!("{what} ({v:#x}) is past a 32-bit console's address space"))
    };
    let mut out = String::from(
        "/* The merged components as the console's frame loop runs them, written by `flight build`\n   from the plan: do not edit. */\n",
    );
    let mut modules = vec![(planned, planned_module, "planned")];
    modules.extend(checked.map(|c| (c, checked_module, "checked")));
    modules.push((unchecked, unchecked_module, "unchecked"));
    for (_, module, _) in &modules {
        out += &format!("#include \"{module}.h\"\n");
    }
    out += "#include \"flight-components.h\"\n";
    for (components, module, tag) in modules {
        out += &module_table(components, module, tag)?;
    }
    if checked.is_none() {
        out += &format!(
            "/* Nothing is masked: the planned module is the checked one. */\n\
             const struct flight_module flight_checked = {{planned_instantiate, planned_components, {}}};\n",
            planned.components.len()
        );
    }
    out += "\nconst struct flight_window flight_windows[] = {\n";
    for w in &plan.windows {
        let cpu = w.cpu_start.unwrap_or_default();
        out += &format!(
            "  {{{:#x}u, {:#x}u, {:#x}u}}, /* {} */\n",
            to_u32(w.start, "a budget's start")?,
            to_u32(w.end, "a budget's end")?,
            to_u32(cpu, "a budget's CPU address")?,
            comment(&w.region)
        );
    }
    out += &format!("}};\nconst uint32_t flight_window_count = {};\n", plan.windows.len());
    out += &format!(
        "const uintptr_t flight_memory_cpu = {:#x}u;\n",
        to_u32(offset & 0xffff_ffff, "the memory's CPU address")?
    );
    // Every segment a component of the merge reaches: its own and the shared regions.
    let reached: Vec<&flight_plan::Segment> = plan
        .segments
        .iter()
        .filter(|s| s.access.iter().any(|a| planned.components.iter().any(|c| c.name == a.component)))
        .collect();
    out += "\nconst struct flight_window flight_zeroed[] = {\n";
    for s in &reached {
        let cpu = planned.cpu(s.start).ok_or_else(|| format!("segment `{}` has no CPU address", s.name))?;
        // A masked segment's tail too: a stray access reads it, as zero on the host.
        let tail =
            if s.flags.iter().any(|f| f == "masked") { flight_memory::layout::MASK_TAIL.get() } else { 0 };
        out += &format!(
            "  {{{:#x}u, {:#x}u, {:#x}u}}, /* {} */\n",
            to_u32(s.start, "a segment's start")?,
            to_u32(s.end + tail, "a segment's end")?,
            to_u32(cpu, "a segment's CPU address")?,
            comment(&s.name)
        );
    }
    if reached.is_empty() {
        out += "  {0, 0, 0},\n";
    }
    out += &format!("}};\nconst uint32_t flight_zeroed_count = {};\n", reached.len());
    out += &format!("const uint32_t flight_frames = {frames}u;\n");
    out += &trap_words();
    out += &format!(
        "\n_Static_assert(FLIGHT_MAX_SHARED == {MAX_SHARED} && FLIGHT_MAX_COMPONENTS == {MAX_COMPONENTS},\n  \
         \"flight-components.h and the table's writer disagree on their limits\");\n"
    );
    Ok(out)
}

/// wasm2c's own traps (wabt 1.0.32's `wasm_rt_trap_t` codes) as the project names them; the
/// code of an uncaught exception (7) is none: the runtimes support no exceptions.
pub const WASM2C_TRAPS: [(u32, Trap); 7] = [
    (1, Trap::OutOfBounds),
    (2, Trap::IntegerOverflow),
    (3, Trap::DivideByZero),
    (4, Trap::InvalidConversion),
    (5, Trap::Unreachable),
    (6, Trap::IndirectCall),
    (8, Trap::CallStackExhausted),
];

/// The trap contract's words as the frame loop prints them, by code: each check kind's
/// (`TrapKind::describe`), the bit its code starts at, and wasm2c's own traps' (`Trap`'s
/// `Display`).
fn trap_words() -> String {
    let quoted = |words: Vec<Option<String>>| -> String {
        words
            .iter()
            .map(|w| w.as_ref().map_or("0".into(), |w| format!("\"{w}\"")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kinds_len = TrapKind::ALL.iter().map(|k| *k as usize).max().unwrap_or(0) + 1;
    let kinds: Vec<Option<String>> = (0..kinds_len)
        .map(|code| TrapKind::ALL.iter().find(|k| **k as usize == code).map(|k| k.describe().to_string()))
        .collect();
    let natives_len = WASM2C_TRAPS.iter().map(|(c, _)| *c as usize).max().unwrap_or(0) + 1;
    let natives: Vec<Option<String>> = (0..natives_len)
        .map(|code| WASM2C_TRAPS.iter().find(|(c, _)| *c as usize == code).map(|(_, t)| t.to_string()))
        .collect();
    format!(
        "\nconst char *const flight_check_kinds[] = {{{}}};\nconst uint32_t flight_check_kind_count = {kinds_len};\n\
         const uint32_t flight_trap_shift = {};\n\
         const char *const flight_native_traps[] = {{{}}};\nconst uint32_t flight_native_trap_count = {natives_len};\n",
        quoted(kinds),
        TrapKind::SHIFT,
        quoted(natives)
    )
}

/// Text safe inside a C comment.
fn comment(text: &str) -> String {
    text.replace("*/", "*_")
}

/// One module's part of the table: its instance, and each component's exports as calls on it.
fn module_table(components: &Components, module: &str, tag: &str) -> Result<String, String> {
    let mut out = format!(
        "\nstatic Z_{module}_instance_t {tag}_instance;\n\
         static void *{tag}_instantiate(void)\n{{\n  Z_{module}_init_module();\n  \
         Z_{module}_instantiate(&{tag}_instance);\n  return &{tag}_instance;\n}}\n"
    );
    let mut rows = Vec::new();
    for (i, c) in components.components.iter().enumerate() {
        if c.shared.len() > MAX_SHARED {
            return Err(format!(
                "component `{}` shares {} regions: a console runs at most {MAX_SHARED}",
                c.name,
                c.shared.len()
            ));
        }
        if !c.name.chars().all(|ch| ch.is_ascii_graphic() && ch != '"' && ch != '\\') {
            return Err(format!("component `{}`: a console prints names of plain ASCII only", c.name));
        }
        let frame = format!("{tag}_frame_{i}");
        out += &format!(
            "static uint32_t {frame}(void *i, uint32_t n) {{ return {}(i, n); }}\n",
            flight_console_build::wasm2c_symbol(module, &c.frame)
        );
        let attach = match &c.attach {
            Some(e) => {
                out += &format!(
                    "static void {tag}_attach_{i}(void *i, uint32_t k, uint32_t a) {{ {}(i, k, a); }}\n",
                    flight_console_build::wasm2c_symbol(module, e)
                );
                format!("{tag}_attach_{i}")
            }
            None => "0".into(),
        };
        let trap = match &c.trap {
            Some(e) => {
                out += &format!(
                    "static uint64_t *{tag}_trap_{i}(void *i) {{ return {}(i); }}\n",
                    flight_console_build::wasm2c_symbol(module, e)
                );
                format!("{tag}_trap_{i}")
            }
            None => "0".into(),
        };
        let shared: Vec<String> = c.shared.iter().map(|(_, address, _)| format!("{address:#x}u")).collect();
        rows.push(format!(
            "  {{\"{}\", {frame}, {attach}, {trap}, {}, {}, {{{}}}}},\n",
            c.name,
            u8::from(c.masked),
            c.shared.len(),
            if shared.is_empty() { "0".to_string() } else { shared.join(", ") }
        ));
    }
    out += &format!("static const struct flight_component {tag}_components[] = {{\n{}}};\n", rows.concat());
    out += &format!(
        "const struct flight_module flight_{tag} = {{{tag}_instantiate, {tag}_components, {}}};\n",
        components.components.len()
    );
    Ok(out)
}

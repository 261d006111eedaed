//! The SH-4 side of the image build: each WebAssembly module becomes one image per SH-4
//! machine.
//!
//! Rust has no SH-4 backend, so the `dreamcast` console's images are built for
//! `wasm32-unknown-unknown` and then, per module:
//!
//! 1. its layout is read from the module (data segments, `__data_end`, `__heap_base`, the
//!    initial stack pointer) and checked;
//! 2. `wasm2c -n image` translates it to C (`image.c`, `image.h`), against the `wasm-rt.h` of the
//!    installed wabt (copied as `wasm-rt-wabt.h`, which the shared `rt/wasm2c/include/wasm-rt.h`
//!    wraps);
//! 3. the SH-4 cross compiler compiles it with the runtime's embedder (`rt/embed.c`), with the
//!    flags of `targets/dreamcast.toml`'s `[c]` table and the GCC plugin that switches off
//!    `sh_treg_combine`;
//! 4. it is linked twice with the runtime (start-up code, exception reporter, console, timer,
//!    64-bit helpers, sqrt, the SH-4's wasm-rt port, and from `rt/wasm2c` the shared wasm-rt,
//!    string and rounding functions, before `-lgcc`): with `link/dreamcast.ld` for gxemul's
//!    Dreamcast (`NAME-gxemul.elf`) and with `link/r2d.ld` for qemu's R2D, whose `-kernel`
//!    wants a raw binary (`NAME-r2d.bin`, by `objcopy -O binary`). The layout goes to the link
//!    as `--defsym`s, where the script asserts that it fits the arena.
//!
//! Before the first module, the runtime is compiled (the plugin with `g++` first), and its
//! self-test is linked for both machines, with the plugin (`rttest-*`) and with the test's
//! branch compiled without it (`rttest-noplugin-*`, which must fail). Work files go to
//! `target/sh4/`; a module's C object is reused while the module, the flags and the headers are
//! unchanged.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use flight_targets::CToolchain;

use crate::{Error, WABT_HEADER, mkdir, output, read, root, run_quiet, run_status, write};

/// An SH-4 machine the images are linked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Machine {
    /// gxemul's Dreamcast machine: an ELF linked at 0x8C01_0000.
    Dreamcast,
    /// qemu's R2D board: a raw binary linked at 0x8C80_0000.
    R2d,
}

impl Machine {
    /// Both machines.
    pub const ALL: [Self; 2] = [Self::Dreamcast, Self::R2d];

    /// The runtime's define for this machine.
    fn define(self) -> &'static str {
        match self {
            Self::Dreamcast => "-DSH4RT_MACHINE_DREAMCAST",
            Self::R2d => "-DSH4RT_MACHINE_R2D",
        }
    }

    /// Its linker script (in `platform-dreamcast/link`).
    fn script(self) -> &'static str {
        match self {
            Self::Dreamcast => "dreamcast.ld",
            Self::R2d => "r2d.ld",
        }
    }

    /// A short name for work files.
    fn tag(self) -> &'static str {
        match self {
            Self::Dreamcast => "gxemul",
            Self::R2d => "r2d",
        }
    }

    /// The bootable file of image `name` for this machine.
    pub fn file_name(self, name: &str) -> String {
        match self {
            Self::Dreamcast => format!("{name}-gxemul.elf"),
            Self::R2d => format!("{name}-r2d.bin"),
        }
    }
}

/// The bootable file for `machine` next to a module written by [`images`] (`NAME.wasm`).
pub fn machine_image(module: &Path, machine: Machine) -> PathBuf {
    let name = module.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    module.with_file_name(machine.file_name(&name))
}

fn platform_dir() -> PathBuf {
    root().join("platform-dreamcast")
}

/// The wasm-rt and C library shims every console shares (`rt/wasm2c`).
fn shared_dir() -> PathBuf {
    root().join("rt/wasm2c")
}

fn work_dir() -> PathBuf {
    root().join("target/sh4")
}

fn path_arg(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs compile jobs, as many at a time as there are CPUs; fails with the first failure.
fn run_jobs(jobs: Vec<(Command, String)>) -> Result<(), Error> {
    let width = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let batch: Vec<_> = jobs.by_ref().take(width).collect();
        let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .into_iter()
                .map(|(mut cmd, what)| s.spawn(move || run_status(&mut cmd, &what)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(Error::new("a compile thread panicked"))))
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>, Error>>()?;
    }
    Ok(())
}

/// The compiled runtime, shared by every module of a build.
struct Runtime {
    /// The toolchain and its flags.
    settings: CToolchain,
    /// The plugin (`no_treg_combine.so`).
    plugin: PathBuf,
    /// `-isystem` for GCC's own freestanding headers.
    gcc_include: PathBuf,
    /// Objects every image links, per machine.
    objects: [(Machine, Vec<PathBuf>); 2],
    /// Objects a WebAssembly image adds (wasm-rt).
    wasm_objects: Vec<PathBuf>,
    /// The port of the wasm-rt alone (fatal errors, uncaught traps), also in `wasm_objects`.
    port_object: PathBuf,
    /// Whether to print each image built.
    announce: bool,
}

impl Runtime {
    /// The compiler flags every C and assembly file gets (the plugin not included): the
    /// settings' flags and the include paths.
    fn cflags(&self) -> Vec<String> {
        let sh4 = platform_dir().join("sh4");
        let mut flags = self.settings.cflags.clone();
        flags.push("-isystem".into());
        flags.push(path_arg(&self.gcc_include));
        flags.push(format!("-I{}", path_arg(&sh4.join("include"))));
        flags.push(format!("-I{}", path_arg(&shared_dir().join("include"))));
        flags.push(format!("-I{}", path_arg(&work_dir().join("inc"))));
        flags
    }

    /// The runtime's objects for `machine`.
    fn machine_objects(&self, machine: Machine) -> &[PathBuf] {
        self.objects.iter().find(|(m, _)| *m == machine).map_or(&[], |(_, o)| o.as_slice())
    }

    fn plugin_flag(&self) -> String {
        format!("-fplugin={}", path_arg(&self.plugin))
    }

    /// A compile command for `source` into `object`, with the plugin unless `plugin` is false.
    fn compile(&self, source: &Path, object: &Path, extra: &[&str], plugin: bool) -> (Command, String) {
        let cc = self.settings.tool("gcc");
        let mut cmd = Command::new(&cc);
        cmd.args(self.cflags()).args(extra);
        if plugin {
            cmd.arg(self.plugin_flag());
        }
        cmd.arg("-c").arg(source).arg("-o").arg(object);
        (cmd, format!("{cc} {}", source.display()))
    }

    /// Links `objects` for `machine` into `elf`, with the module layout `layout` (none for
    /// images without a module).
    fn link(
        &self,
        machine: Machine,
        objects: &[PathBuf],
        layout: Option<&WasmLayout>,
        extra: &[String],
        elf: &Path,
    ) -> Result<(), Error> {
        let link_dir = platform_dir().join("link");
        let mut cmd = Command::new(self.settings.tool("gcc"));
        cmd.args(&self.settings.ldflags)
            .arg(format!("-Wl,-L{}", path_arg(&link_dir)))
            .arg(format!("-Wl,-T{}", machine.script()))
            .arg(format!("-Wl,-Map={}", path_arg(&elf.with_extension("map"))));
        if let Some(l) = layout {
            for (sym, value) in l.symbols() {
                cmd.arg(format!("-Wl,--defsym={sym}={value:#x}"));
            }
        }
        cmd.args(extra);
        cmd.args(self.machine_objects(machine)).args(objects).args(&self.settings.libs).arg("-o").arg(elf);
        run_quiet(&mut cmd, &format!("link {} for {}", elf.display(), machine.tag()))
    }

    /// Links image `name` for every machine (work files in `work`) and writes each machine's
    /// bootable file into `dir`.
    fn link_images(
        &self,
        dir: &Path,
        name: &str,
        work: &Path,
        objects: &[PathBuf],
        layout: Option<&WasmLayout>,
    ) -> Result<(), Error> {
        for machine in Machine::ALL {
            let elf = work.join(format!("{name}-{}.elf", machine.tag()));
            self.link(machine, objects, layout, &[], &elf)?;
            let out = dir.join(machine.file_name(name));
            match machine {
                Machine::Dreamcast => {
                    std::fs::copy(&elf, &out).map_err(|e| Error::new(format!("{}: {e}", out.display())))?;
                }
                Machine::R2d => run_status(
                    Command::new(self.settings.tool("objcopy")).args(["-O", "binary"]).arg(&elf).arg(&out),
                    &format!("objcopy {}", elf.display()),
                )?,
            }
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            if self.announce {
                println!("  {:<10} {:>7} bytes  {}", name, size, out.display());
            }
        }
        Ok(())
    }
}

/// Builds the plugin, the runtime's objects and its self-test images (into `dir`), once per run;
/// `announce`: print each image built.
fn runtime(dir: &Path, settings: &CToolchain, announce: bool) -> Result<&'static Runtime, Error> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| build_runtime(dir, settings, announce).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::new(e.clone()))
}

fn build_runtime(dir: &Path, settings: &CToolchain, announce: bool) -> Result<Runtime, Error> {
    let sh4 = platform_dir().join("sh4");
    let cc = settings.tool("gcc");
    let work = work_dir();
    let inc = work.join("inc");
    mkdir(&inc)?;
    for m in Machine::ALL {
        mkdir(&work.join(m.tag()))?;
    }

    // The plugin, against the cross compiler's plugin headers.
    let plugin_include = PathBuf::from(output(
        Command::new(&cc).arg("-print-file-name=plugin"),
        "locate GCC's plugin headers",
    )?)
    .join("include");
    if !plugin_include.join("gcc-plugin.h").exists() {
        return Err(Error::new(format!(
            "{} has no gcc-plugin.h: install gcc-12-plugin-dev-sh4-linux-gnu (cargo xtask setup)",
            plugin_include.display()
        )));
    }
    let plugin = work.join("no_treg_combine.so");
    run_status(
        Command::new("g++")
            .args(["-shared", "-fPIC", "-fno-rtti", "-O2"])
            .arg(format!("-I{}", path_arg(&plugin_include)))
            .arg(sh4.join("plugin/no_treg_combine.cc"))
            .arg("-o")
            .arg(&plugin),
        "g++ plugin/no_treg_combine.cc",
    )?;
    let gcc_include =
        PathBuf::from(output(Command::new(&cc).arg("-print-file-name=include"), "locate GCC's headers")?);

    // wabt's header, under the name the runtime's wasm-rt.h includes.
    write(&inc.join("wasm-rt-wabt.h"), &read(Path::new(WABT_HEADER))?)?;

    // The self-test's expected values, computed on the host.
    let gen_expect = work.join("gen_expect");
    run_status(
        Command::new("gcc")
            .args(["-O1", "-I"])
            .arg(sh4.join("test"))
            .arg(sh4.join("test/gen_expect.c"))
            .arg("-o")
            .arg(&gen_expect)
            .arg("-lm"),
        "gcc test/gen_expect.c (host)",
    )?;
    let expect = output(&mut Command::new(&gen_expect), "test/gen_expect")?;
    write(&inc.join("rttest_expect.h"), format!("{expect}\n").as_bytes())?;

    let mut rt = Runtime {
        settings: settings.clone(),
        plugin,
        gcc_include,
        objects: [(Machine::Dreamcast, Vec::new()), (Machine::R2d, Vec::new())],
        wasm_objects: Vec::new(),
        port_object: work.join("wasm-port.c.o"),
        announce,
    };
    let mut jobs = Vec::new();
    let mut common = Vec::new();
    let shared = shared_dir().join("src");
    let sources = ["crt0.S", "setjmp.S", "i64.c", "sqrt.c"].map(|f| sh4.join("rt").join(f));
    for source in sources.iter().chain(&["string.c", "math.c"].map(|f| shared.join(f))) {
        let obj = work.join(format!("{}.o", source.file_name().unwrap_or_default().to_string_lossy()));
        jobs.push(rt.compile(source, &obj, &[], true));
        common.push(obj);
    }
    for source in [shared.join("wasm-rt.c"), sh4.join("rt/wasm-port.c")] {
        let obj = work.join(format!("{}.o", source.file_name().unwrap_or_default().to_string_lossy()));
        jobs.push(rt.compile(&source, &obj, &[], true));
        rt.wasm_objects.push(obj);
    }
    for machine in Machine::ALL {
        let obj = work.join(machine.tag()).join("machine.o");
        jobs.push(rt.compile(&sh4.join("rt/machine.c"), &obj, &[machine.define()], true));
        if let Some((_, objects)) = rt.objects.iter_mut().find(|(m, _)| *m == machine) {
            objects.extend(common.iter().cloned());
            objects.push(obj);
        }
    }
    // The self-test: its branch with and without the plugin, and libgcc's own 64-bit division
    // under other names, to show it is still wrong.
    let test = sh4.join("test");
    let (rttest, treg, treg_plain) =
        (work.join("rttest.o"), work.join("treg_test_f.o"), work.join("treg_test_f-noplugin.o"));
    let test_include = format!("-I{}", path_arg(&test));
    jobs.push(rt.compile(&test.join("rttest.c"), &rttest, &[&test_include], true));
    jobs.push(rt.compile(&test.join("treg_test_f.c"), &treg, &[], true));
    jobs.push(rt.compile(&test.join("treg_test_f.c"), &treg_plain, &[], false));
    run_jobs(jobs)?;

    let libgcc = output(Command::new(&cc).arg("-print-libgcc-file-name"), "locate libgcc")?;
    run_status(
        Command::new(settings.tool("ar")).args(["x", &libgcc, "_udivdi3.o", "_umoddi3.o"]).current_dir(&work),
        "extract libgcc's _udivdi3.o and _umoddi3.o",
    )?;
    let mut libgcc_division = Vec::new();
    for f in ["udivdi3", "umoddi3"] {
        let renamed = work.join(format!("libgcc_{f}.o"));
        run_status(
            Command::new(settings.tool("objcopy"))
                .arg(format!("--redefine-sym=__{f}=libgcc_{f}"))
                .arg(work.join(format!("_{f}.o")))
                .arg(&renamed),
            &format!("objcopy libgcc's _{f}.o"),
        )?;
        libgcc_division.push(renamed);
    }
    for (name, branch) in [("rttest", &treg), ("rttest-noplugin", &treg_plain)] {
        let mut objects = vec![rttest.clone(), branch.clone()];
        objects.extend(libgcc_division.iter().cloned());
        if announce {
            println!("  {name} (the runtime's self-test)");
        }
        rt.link_images(dir, name, &work, &objects, None)?;
    }
    Ok(rt)
}

/// Where a module's parts are in its linear memory, read from the module.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct WasmLayout {
    data_start: u32,
    data_end: u32,
    bss_end: u32,
    heap_base: u32,
    stack_pointer: u32,
}

impl WasmLayout {
    /// The linker symbols the scripts read.
    fn symbols(&self) -> [(&'static str, u32); 5] {
        [
            ("_wasm_data_start", self.data_start),
            ("_wasm_data_end", self.data_end),
            ("_wasm_bss_end", self.bss_end),
            ("_wasm_heap_base", self.heap_base),
            ("_wasm_initial_stack_pointer", self.stack_pointer),
        ]
    }
}

/// Reads the layout of a module built by wasm-ld: its active data segments, the exported
/// `__data_end` and `__heap_base`, and global 0 (the stack pointer).
fn wasm_layout(bytes: &[u8]) -> Result<WasmLayout, String> {
    use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, ValType};

    if bytes.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a WebAssembly 1.0 module".into());
    }
    let text = |e: wasmparser::BinaryReaderError| format!("malformed module: {e}");
    let const_i32 = |e: &wasmparser::ConstExpr<'_>| -> Result<u32, String> {
        let mut ops = e.get_operators_reader();
        match (ops.read().map_err(text)?, ops.read().map_err(text)?) {
            (Operator::I32Const { value }, Operator::End) => Ok(value as u32),
            (op, _) => Err(format!("a constant expression other than `i32.const N` (it starts with {op:?})")),
        }
    };
    let mut globals: Vec<(bool, u32)> = Vec::new();
    let mut exports: Vec<(String, u32)> = Vec::new();
    let mut data: Vec<(u32, u32)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(text)? {
            Payload::GlobalSection(s) => {
                for g in s {
                    let g = g.map_err(text)?;
                    if g.ty.content_type != ValType::I32 {
                        return Err(format!("global {} is not an i32", globals.len()));
                    }
                    globals.push((g.ty.mutable, const_i32(&g.init_expr)?));
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(text)?;
                    if e.kind == ExternalKind::Global {
                        exports.push((e.name.to_string(), e.index));
                    }
                }
            }
            Payload::DataSection(s) => {
                for d in s {
                    let d = d.map_err(text)?;
                    if let DataKind::Active { offset_expr, .. } = &d.kind {
                        let o = const_i32(offset_expr)?;
                        let len = u32::try_from(d.data.len()).map_err(|_| "a data segment past 4 GiB")?;
                        data.push((o, o.checked_add(len).ok_or("a data segment wraps")?));
                    }
                }
            }
            _ => {}
        }
    }
    let global = |name: &str| -> Result<u32, String> {
        let (_, index) = exports
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("`{name}` is not exported (link with --export={name})"))?;
        globals.get(*index as usize).map(|g| g.1).ok_or_else(|| format!("`{name}` names no global"))
    };
    let (bss_end, heap_base) = (global("__data_end")?, global("__heap_base")?);
    let stack_pointer = match globals.first() {
        Some(&(true, sp)) => sp,
        _ => return Err("global 0 is not a mutable i32 (wasm-ld's __stack_pointer)".into()),
    };
    let data_start = data.iter().map(|d| d.0).min().unwrap_or(bss_end);
    let data_end = data.iter().map(|d| d.1).max().unwrap_or(bss_end);
    let layout = WasmLayout { data_start, data_end, bss_end, heap_base, stack_pointer };
    if !(stack_pointer <= data_start && data_start <= data_end && data_end <= bss_end && bss_end <= heap_base)
    {
        return Err(format!(
            "unexpected layout (stack pointer, data, .bss end, heap base out of order): {layout:x?}"
        ));
    }
    Ok(layout)
}

/// Turns the module `wasm` (cargo's output for image `name`) into `dir/NAME-gxemul.elf` and
/// `dir/NAME-r2d.bin`; returns the module's own file in `dir` (`NAME.wasm`) and its bytes.
pub fn images(
    dir: &Path,
    name: &str,
    wasm: &Path,
    settings: &CToolchain,
) -> Result<(PathBuf, Vec<u8>), Error> {
    let rt = runtime(dir, settings, true)?;
    let bytes = read(wasm)?;
    let layout = wasm_layout(&bytes).map_err(|e| Error::new(format!("{}: {e}", wasm.display())))?;
    let work = work_dir().join(name);
    mkdir(&work)?;

    let (image_c, image_o, embed_o) = (work.join("image.c"), work.join("image.o"), work.join("embed.o"));
    let (image_job, _) = rt.compile(&image_c, &image_o, &["-w"], true);
    // The object is reused while the module, the command and the headers are the same.
    let mut key = DefaultHasher::new();
    bytes.hash(&mut key);
    format!("{image_job:?}").hash(&mut key);
    let mut headers = Vec::new();
    for include in [platform_dir().join("sh4/include"), shared_dir().join("include")] {
        let dir =
            std::fs::read_dir(&include).map_err(|e| Error::new(format!("{}: {e}", include.display())))?;
        headers.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    headers.sort();
    headers.push(PathBuf::from(WABT_HEADER));
    for h in &headers {
        read(h)?.hash(&mut key);
    }
    let key = format!("{:016x}\n", key.finish());
    let stamp = work.join("image.key");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(key.as_str()) || !image_o.exists() {
        let _ = std::fs::remove_file(&stamp);
        run_status(
            Command::new("wasm2c").arg(wasm).args(["-n", "image", "-o"]).arg(&image_c),
            &format!("wasm2c {}", wasm.display()),
        )?;
        let sh4 = platform_dir().join("sh4");
        let gen_include = format!("-I{}", path_arg(&work));
        run_jobs(vec![
            rt.compile(&image_c, &image_o, &["-w"], true),
            rt.compile(&sh4.join("rt/embed.c"), &embed_o, &[&gen_include], true),
        ])?;
        write(&stamp, key.as_bytes())?;
    }
    let mut objects = vec![embed_o, image_o];
    objects.extend(rt.wasm_objects.iter().cloned());
    rt.link_images(dir, name, &work, &objects, Some(&layout))?;
    Ok((dir.join(format!("{name}.wasm")), bytes))
}

/// Builds the images of merged components: compiles `sources` (each with its own flags, all
/// with `defines` and the include path `dir`) and the SH-4 port of the frame loop
/// (`rt/components-port.c`) into `dir`, links them for each machine with the plan
/// (`dir/plan.ld`, through `link/components.ld`), and writes `out`'s machine images
/// ([`machine_image`]) once both links succeeded. Returns the files written.
pub fn components_images(
    dir: &Path,
    sources: &[(PathBuf, Vec<&str>)],
    defines: &[&str],
    settings: &CToolchain,
    out: &Path,
) -> Result<Vec<PathBuf>, Error> {
    let rt = components_runtime(settings)?;
    let mut all: Vec<(PathBuf, Vec<&str>)> = sources.to_vec();
    all.push((platform_dir().join("sh4/rt/components-port.c"), vec![]));
    let mut jobs = Vec::new();
    let mut objects = Vec::new();
    for (source, extra) in &all {
        let stem = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let object = dir.join(format!("{stem}.o"));
        jobs.push(component_job(rt, dir, source, &object, defines, extra));
        objects.push(object);
    }
    run_jobs(jobs)?;
    objects.push(rt.port_object.clone());
    let plan = vec![format!("-Wl,-L{}", path_arg(dir)), path_arg(&platform_dir().join("link/components.ld"))];
    let mut images = Vec::new();
    for machine in Machine::ALL {
        let elf = dir.join(format!("components-{}.elf", machine.tag()));
        rt.link(machine, &objects, None, &plan, &elf)?;
        let bytes = match machine {
            Machine::Dreamcast => read(&elf)?,
            Machine::R2d => {
                let bin = elf.with_extension("bin");
                run_status(
                    Command::new(rt.settings.tool("objcopy")).args(["-O", "binary"]).arg(&elf).arg(&bin),
                    &format!("objcopy {}", elf.display()),
                )?;
                read(&bin)?
            }
        };
        images.push((machine_image(out, machine), bytes));
    }
    // Both machines' images or neither: each written beside its place, then both moved there.
    let mut parts = Vec::new();
    for (path, bytes) in &images {
        let part = crate::part_of(path);
        if let Err(e) = write(&part, bytes) {
            parts.iter().chain([&part]).for_each(|p: &PathBuf| drop(std::fs::remove_file(p)));
            return Err(e);
        }
        parts.push(part);
    }
    for ((path, _), part) in images.iter().zip(&parts) {
        std::fs::rename(part, path).map_err(|e| {
            parts.iter().for_each(|p| drop(std::fs::remove_file(p)));
            images.iter().for_each(|(p, _)| drop(std::fs::remove_file(p)));
            Error::new(format!("{}: {e}", path.display()))
        })?;
    }
    Ok(images.into_iter().map(|(p, _)| p).collect())
}

/// Compiles one C file of merged components (wasm2c's output, with `defines`, the include path
/// `dir` and wasm2c's warnings off) as [`components_images`] does.
pub fn compile_components(
    dir: &Path,
    source: &Path,
    object: &Path,
    defines: &[&str],
    settings: &CToolchain,
) -> Result<(), Error> {
    let rt = components_runtime(settings)?;
    run_jobs(vec![component_job(rt, dir, source, object, defines, &["-w"])])
}

/// The runtime as merged components' builds use it (its self-test images in `target/sh4/rttest`,
/// built quietly).
fn components_runtime(settings: &CToolchain) -> Result<&'static Runtime, Error> {
    let tests = work_dir().join("rttest");
    mkdir(&tests)?;
    runtime(&tests, settings, false)
}

/// The compile of one components' source: the runtime's flags, `defines`, `extra` and the
/// include path `dir`.
fn component_job(
    rt: &Runtime,
    dir: &Path,
    source: &Path,
    object: &Path,
    defines: &[&str],
    extra: &[&str],
) -> (Command, String) {
    let include = format!("-I{}", path_arg(dir));
    let mut flags: Vec<&str> = defines.to_vec();
    flags.extend(extra.iter().copied());
    flags.push(&include);
    rt.compile(source, object, &flags, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one data segment at 1024 (5 bytes), three globals (the stack pointer,
    /// `__data_end`, `__heap_base`) and their exports, as wasm-ld lays them out.
    fn module(sp: u32, data_end: u32, heap_base: u32) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module
                (memory 1)
                (global (mut i32) (i32.const {sp}))
                (global i32 (i32.const {data_end}))
                (global i32 (i32.const {heap_base}))
                (export "__data_end" (global 1))
                (export "__heap_base" (global 2))
                (data (i32.const 1024) "hello"))"#
        ))
        .unwrap()
    }

    #[test]
    fn the_layout_is_read_from_the_module() {
        let l = wasm_layout(&module(0x10, 2048, 2064)).unwrap();
        assert_eq!(
            l,
            WasmLayout {
                data_start: 1024,
                data_end: 1029,
                bss_end: 2048,
                heap_base: 2064,
                stack_pointer: 16
            }
        );
        assert_eq!(l.symbols()[3], ("_wasm_heap_base", 2064));
    }

    #[test]
    fn bad_modules_are_refused_with_a_reason() {
        let e = wasm_layout(&module(0x10, 2048, 1030)).unwrap_err();
        assert!(e.contains("out of order"), "{e}");
        assert!(wasm_layout(b"\0asm\x02\0\0\0").unwrap_err().contains("not a WebAssembly"));
        let mut cut = module(0x10, 2048, 2064);
        cut.truncate(cut.len() - 3);
        let e = wasm_layout(&cut).unwrap_err();
        assert!(e.starts_with("malformed module: "), "{e}");
        let e =
            wasm_layout(&module(0x10, 2048, 2064)[..8].iter().chain(&[6, 1, 0]).copied().collect::<Vec<_>>())
                .unwrap_err();
        assert!(e.contains("`__data_end` is not exported"), "{e}");
    }

    #[test]
    fn machine_images_sit_next_to_the_module() {
        let m = Path::new("/x/suite.wasm");
        assert_eq!(machine_image(m, Machine::Dreamcast), Path::new("/x/suite-gxemul.elf"));
        assert_eq!(machine_image(m, Machine::R2d), Path::new("/x/suite-r2d.bin"));
    }
}

//! flight-rebase against Binaryen on the same inputs, in one run: MB/s of input for wasmparser
//! alone (parse every operator: the ceiling), our rebase without and with bounds checks (both
//! validate first; `trusted`: the same without validation and without the list of changes), and
//! Binaryen's nearest operations, measured two ways.
//!
//! **Cold**: Binaryen run as programs, one process per run:
//!
//! - `safe-heap`: Debian's `wasm-opt` (108) `-O0 -all --safe-heap`, which instruments every
//!   load and store with a checking call (the counterpart of our bounds checks);
//! - `merge`: npm's `wasm-merge` (132) `-all --rename-export-conflicts` (it does not optimise) of
//!   the input with itself (the wasm-smith set: of all its modules), each copy after the first
//!   without its memory exports;
//! - `lower` and `lower+chk`: npm's `wasm-opt` (132) `-O0 -all --multi-memory-lowering` (and
//!   `--multi-memory-lowering-with-bounds-checks`) of that merged module: its memories put one
//!   after the other in a single memory, the closest Binaryen operation to rebasing modules
//!   into segments of one memory. Its rate is per MB of the merged module.
//!
//! **Merge**: our [`merge`](flight_rebase::merge()) of the same modules as `merge` above, each
//! rebased into a segment of its initial memory and a page more, one after the other from
//! 1 MiB, and linked into one module with one memory (validating first, and `trusted`:
//! without validation and without the list of changes), against `wasm-merge` cold, and
//! against `wasm-merge` followed by `multi-memory-lowering`, which together do the same work.
//! Rates are per MB of the modules.
//!
//! `-O0` runs no optimisation pass, only the transform named; `-n` (no validation) spares
//! Binaryen its validator, which rejects some valid wasm-smith modules (a data segment past the
//! initial memory, unreachable code it types differently), so Binaryen does less than the
//! rebaser, which validates first. A program's time is the best of a few runs, less the best
//! time of the same program on a trivial module (process start-up, Node's loading of Binaryen,
//! reading and writing files), which is printed separately. With small inputs the difference
//! is small beside the start-up and the rate is rough.
//!
//! **Warm**: npm's Binaryen 132 through its JS API, all in one Node process started once per
//! bench run (`js/warm.mjs`), so neither the start-up nor the loading of Binaryen is timed. The
//! modules are read from disk before timing; one run is, for each module,
//! `readBinary(bytes, Features.All)`, `setFeatures(Features.All)`, `runPasses(passes)`,
//! `emitBinary()` and `dispose()`: the work of the `wasm-opt -O0 -all -n` run above without its
//! file I/O (same global options as `-O0`, no validation; the output is byte for byte that of
//! the program). Passes: none (`read+write`: Binaryen's own parse and emit, its ceiling),
//! `safe-heap` on the input, and `multi-memory-lowering` (`lower`) and
//! `multi-memory-lowering-with-bounds-checks` (`lower+chk`) on the merged module of the cold
//! `merge` (per MB of the merged module; none without npm's `wasm-merge`). Node runs with
//! `--no-liftoff`, so Binaryen's code is compiled by V8's optimising compiler on its first call
//! (with V8's default tiering the first measurements ran several times slower). After one
//! warm-up run, runs repeat for about the measuring time and at least three times; the rate is
//! from the mean time per run, as ours is. binaryen.js runs on one thread (it starts no
//! workers), where Debian's `wasm-opt` and our rebase may use several.
//!
//! Inputs: the C and Rust fixtures, a wasm-smith set, the Emscripten module `cargo xtask setup`
//! installs (`.flight/emulators/pcsx_rearmed/pcsx_rearmed_libretro.wasm`, 4.1 MB) when it is
//! there, and the files named on the command line.
//!
//! `cargo bench -p flight-rebase --bench binaryen [-- [--quick] [FILE.wasm ...]]`. Binaryen comes
//! from `cargo xtask setup` (Debian `binaryen`, npm `binaryen` in `rebase/js`); a tool that is
//! missing, or that rejects an input, is reported and its columns are empty.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{generated_with, parse, rate};
use flight_rebase::merge::Input;
use flight_rebase::{MergeOptions, Options, PAGE, RewriteOptions};
use wasmparser::{ExternalKind, Parser, Payload};

/// `(module (memory 1))`.
const TRIVIAL: &[u8] = b"\0asm\x01\0\0\0\x05\x03\x01\x00\x01";
/// `(module (memory 1) (memory 1))`.
const TRIVIAL2: &[u8] = b"\0asm\x01\0\0\0\x05\x05\x02\x00\x01\x00\x01";

/// A Binaryen program: what runs it, and its version line.
struct Tool {
    argv: Vec<String>,
    version: String,
}

impl Tool {
    fn find(argv: Vec<String>) -> Option<Tool> {
        let out = Command::new(&argv[0]).args(&argv[1..]).arg("--version").output().ok()?;
        out.status
            .success()
            .then(|| Tool { argv, version: String::from_utf8_lossy(&out.stdout).trim().to_string() })
    }

    /// Runs it once with `args`: its wall time, or its error.
    fn run(&self, args: &[&Path], flags: &[&str]) -> Result<Duration, String> {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]).args(flags).args(args).stdout(Stdio::null()).stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd.output().map_err(|e| e.to_string())?;
        let time = start.elapsed();
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("{} {}: {}", self.argv.last().unwrap(), flags.join(" "), err.trim()));
        }
        Ok(time)
    }

    /// The best of at least three runs and about `time`.
    fn best(&self, args: &[&Path], flags: &[&str], time: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let mut best = Duration::MAX;
        let mut runs = 0;
        while runs < 3 || (start.elapsed() < time && runs < 50) {
            best = best.min(self.run(args, flags)?);
            runs += 1;
        }
        Ok(best)
    }
}

/// A failed Binaryen run: said, and its columns left empty.
fn report<T>(input: &str, r: Result<T, String>) -> Option<T> {
    r.map_err(|e| eprintln!("{input}: {}", e.lines().next().unwrap_or_default())).ok()
}

/// The module without its memory exports (a second copy in a merge: Binaryen's lowering
/// allows only the first memory to be exported).
fn without_memory_exports(wasm: &[u8]) -> Vec<u8> {
    let mut out = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.unwrap();
        if let Payload::ExportSection(reader) = &payload {
            let mut exports = wasm_encoder::ExportSection::new();
            for e in reader.clone() {
                let e = e.unwrap();
                let kind = match e.kind {
                    ExternalKind::Memory => continue,
                    ExternalKind::Func | ExternalKind::FuncExact => wasm_encoder::ExportKind::Func,
                    ExternalKind::Table => wasm_encoder::ExportKind::Table,
                    ExternalKind::Global => wasm_encoder::ExportKind::Global,
                    ExternalKind::Tag => wasm_encoder::ExportKind::Tag,
                };
                exports.export(e.name, kind, e.index);
            }
            out.section(&exports);
        } else if let Some((id, range)) = payload.as_section() {
            let data = &wasm[range.start as usize..range.end as usize];
            out.section(&wasm_encoder::RawSection { id, data });
        }
    }
    out.finish()
}

/// The merge input as our merge takes it: each module in a segment of its initial memory and
/// one page more, one after the other from 1 MiB; why not, when they do not fit one memory.
fn merge_inputs(parts: &[Vec<u8>]) -> Result<Vec<Input<'_>>, String> {
    let mut base = 16 * PAGE;
    let mut inputs = Vec::new();
    for (i, wasm) in parts.iter().enumerate() {
        let analysis = flight_rebase::analyse(wasm).map_err(|e| e.to_string())?;
        let initial = analysis.memories.first().map_or(0, |m| m.initial);
        let size = (initial + 1) * PAGE;
        inputs.push(Input::new(format!("m{i}"), wasm, base, size));
        base += size;
    }
    if base > 1 << 32 {
        return Err(format!("the segments take {base} bytes, more than 4 GiB"));
    }
    Ok(inputs)
}

/// Where the inputs and outputs of the programs go.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("flight-rebase-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Net seconds of a program's work: its best time less its start-up.
fn net(time: Duration, startup: Duration) -> f64 {
    time.saturating_sub(startup).as_secs_f64()
}

/// MB/s from bytes and net seconds; none when the work is lost in the start-up's noise.
fn mbps(bytes: usize, secs: f64) -> Option<f64> {
    (secs > 1e-4).then(|| bytes as f64 / secs / 1e6)
}

fn cell(v: Option<f64>, width: usize) -> String {
    v.map_or_else(|| format!("{:>width$}", "-"), |v| format!("{v:>width$.1}"))
}

fn ratio(ours: f64, theirs: Option<f64>, width: usize) -> String {
    theirs.map_or_else(|| format!("{:>width$}", "-"), |t| format!("{:>width$}", format!("{:.1}x", ours / t)))
}

/// What Binaryen runs warm: a column's name, its passes, and whether it runs on the merged
/// module (else on the input).
const WARM: [(&str, &[&str], bool); 4] = [
    ("read+write", &[], false),
    ("safe-heap", &["safe-heap"], false),
    ("lower", &["multi-memory-lowering"], true),
    ("lower+chk", &["multi-memory-lowering-with-bounds-checks"], true),
];

/// One warm measurement: bytes in per run, and the mean and best time per run.
#[derive(Clone, Copy)]
struct Warm {
    bytes: usize,
    mean: Duration,
    best: Duration,
}

impl Warm {
    /// MB/s of input, from the mean time per run.
    fn mbps(&self) -> f64 {
        self.bytes as f64 / self.mean.as_secs_f64() / 1e6
    }
}

/// One warm job for `js/warm.mjs`: its id, the files of one run, the passes.
struct WarmJob {
    id: String,
    files: Vec<PathBuf>,
    passes: &'static [&'static str],
}

/// What `js/warm.mjs` printed: its version line, and each job's measurement or error by id.
struct WarmResults {
    version: String,
    jobs: HashMap<String, Result<Warm, String>>,
}

/// Runs `js/warm.mjs` once, in one Node process, on all `jobs`, each measured for about
/// `time`; why not, when Node, the script or npm's Binaryen is missing or the output unreadable.
fn run_warm(jobs: &[WarmJob], time: Duration) -> Result<WarmResults, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/warm.mjs");
    if !script.is_file() {
        return Err(format!("{} is missing", script.display()));
    }
    let job = serde_json::json!({
        "time_ms": time.as_millis() as u64,
        "jobs": jobs.iter().map(|j| serde_json::json!({
            "id": j.id,
            "files": j.files.iter().map(|f| f.to_string_lossy()).collect::<Vec<_>>(),
            "passes": j.passes,
        })).collect::<Vec<_>>(),
    });
    // Without V8's baseline compiler: Binaryen's code is compiled optimised on its first call
    // (in the warm-up run), not tiered up in the middle of the first measurements.
    let mut child = Command::new("node")
        .arg("--no-liftoff")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(job.to_string().as_bytes()).map_err(|e| format!("cannot write to node: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} failed ({}): {}", script.display(), out.status, err.trim()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines().map(serde_json::from_str::<serde_json::Value>);
    let version = match lines.next() {
        Some(Ok(v)) => format!(
            "npm binaryen {} (JS API) in Node {}",
            v["binaryen"].as_str().unwrap_or("?"),
            v["node"].as_str().unwrap_or("?")
        ),
        _ => return Err(format!("{} printed no version line", script.display())),
    };
    let mut results = HashMap::new();
    for line in lines {
        let v = line.map_err(|e| format!("{}: unreadable output: {e}", script.display()))?;
        let Some(id) = v["id"].as_str() else { continue };
        let ns = |key: &str| v[key].as_u64().map(Duration::from_nanos);
        let warm = match (v["bytes"].as_u64(), ns("mean_ns"), ns("best_ns")) {
            (Some(bytes), Some(mean), Some(best)) => Ok(Warm { bytes: bytes as usize, mean, best }),
            _ => Err(v["error"].as_str().unwrap_or("no measurement").to_string()),
        };
        results.insert(id.to_string(), warm);
    }
    Ok(WarmResults { version, jobs: results })
}

struct Row {
    name: String,
    bytes: usize,
    merged: usize,
    parse: f64,
    rebase: f64,
    checks: f64,
    /// Without validation.
    trusted: f64,
    trusted_checks: f64,
    /// Our merge of the merge input into segments of one memory, validating first (and
    /// without validation); none when the modules do not fit one memory.
    our_merge: Option<f64>,
    our_merge_trusted: Option<f64>,
    safe_heap: Option<f64>,
    /// wasm-merge followed by lowering its memories into one, per MB of the merge input.
    merge_lower: Option<f64>,
    merge: Option<f64>,
    lower: Option<f64>,
    lower_checks: Option<f64>,
    /// Best wall times in ms: safe-heap (summed over modules), merge, lower, lower+chk.
    wall: [Option<f64>; 4],
    /// Binaryen warm, in the order of [`WARM`].
    warm: [Option<Warm>; 4],
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let quick = args.iter().any(|a| a == "--quick");
    let time = Duration::from_millis(if quick { 200 } else { 1000 });
    let tool_time = Duration::from_millis(if quick { 100 } else { 300 });

    let npm_bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("js/node_modules/binaryen/bin");
    let node = |tool: &str| vec!["node".to_string(), npm_bin.join(tool).to_string_lossy().into_owned()];
    let safe_heap_tool = Tool::find(vec!["wasm-opt".into()]).filter(|t| t.version.contains("108"));
    let npm_opt = Tool::find(node("wasm-opt"));
    let npm_merge = Tool::find(node("wasm-merge"));
    for (tool, what) in [
        (&safe_heap_tool, "Debian's wasm-opt 108 (apt binaryen)"),
        (&npm_opt, "npm's wasm-opt (rebase/js)"),
        (&npm_merge, "npm's wasm-merge (rebase/js)"),
    ] {
        match tool {
            Some(t) => println!("{what}: {}", t.version),
            None => println!("{what}: missing (cargo xtask setup installs it)"),
        }
    }

    let count = if quick { 10 } else { 50 };
    // Without the proposals Debian's Binaryen 108 cannot read.
    let older = |c: &mut wasm_smith::Config| {
        c.wide_arithmetic_enabled = false;
        c.relaxed_simd_enabled = false;
        // Binaryen reads no block parameters.
        c.multi_value_enabled = false;
        // Binaryen 108 reads no `table.init` or `elem.drop`; 132 mistypes some unreachable
        // code with references.
        c.reference_types_enabled = false;
        c.max_tables = 0;
        c.max_element_segments = 0;
    };
    let inputs = common::inputs((format!("wasm-smith x{count}"), generated_with(count, older)), &args);

    let scratch = Scratch::new();
    let out = scratch.0.join("out.wasm");
    let out = out.as_path();
    let o = |flags: &[&'static str]| -> Vec<&'static str> { [&["-O0", "-all", "-n"], flags].concat() };
    let safe_heap_flags = o(&["--safe-heap", "-o"]);
    let merge_flags = vec!["-all", "-n", "--rename-export-conflicts", "-o"];
    let lower_flags = o(&["--multi-memory-lowering", "-o"]);
    let lower_checks_flags = o(&["--multi-memory-lowering-with-bounds-checks", "-o"]);

    // Start-up: each program on a trivial module, the same flags.
    let t1 = scratch.file("trivial.wasm", TRIVIAL);
    let t2 = scratch.file("trivial2.wasm", TRIVIAL2);
    let startup = |tool: &Option<Tool>, ins: &[&Path], flags: &[&str]| {
        tool.as_ref().and_then(|t| {
            let mut a = vec![out];
            a.extend(ins);
            report("start-up (trivial module)", t.best(&a, flags, tool_time))
        })
    };
    let startups = [
        startup(&safe_heap_tool, &[&t1], &safe_heap_flags),
        startup(&npm_merge, &[&t1, Path::new("a"), &t1, Path::new("b")], &merge_flags),
        startup(&npm_opt, &[&t2], &lower_flags),
        startup(&npm_opt, &[&t2], &lower_checks_flags),
    ];

    let mut rows = Vec::new();
    let mut warm_jobs = Vec::new();
    for (k, (name, modules)) in inputs.iter().enumerate() {
        let bytes: usize = modules.iter().map(Vec::len).sum();
        let options: Vec<Options> = modules
            .iter()
            .map(|m| {
                let memory = &flight_rebase::analyse(m).unwrap().memories[0];
                let pages = (memory.initial + 64).min((1 << 16) - 16);
                Options::new(PAGE * 16, pages * PAGE).with_clamped_maximum(true)
            })
            .collect();
        let checked: Vec<Options> = options.iter().map(|o| o.clone().with_bounds_checks(true)).collect();
        let unvalidated = |options: &[Options]| -> Vec<Options> {
            options.iter().map(|o| o.clone().with_validation(false).with_relocation_entries(false)).collect()
        };
        let parse = rate(bytes, time, || {
            modules.iter().for_each(|m| {
                black_box(parse(m));
            })
        });
        let rebase_with = |options: &[Options]| {
            rate(bytes, time, || {
                for (m, o) in modules.iter().zip(options) {
                    black_box(flight_rebase::rebase(m, o).unwrap());
                }
            })
        };
        let (rebase, checks) = (rebase_with(&options), rebase_with(&checked));
        let (trusted, trusted_checks) =
            (rebase_with(&unvalidated(&options)), rebase_with(&unvalidated(&checked)));

        // The same bytes, as files (kept for the warm runs).
        let files: Vec<PathBuf> =
            modules.iter().enumerate().map(|(i, m)| scratch.file(&format!("in{k}-{i}.wasm"), m)).collect();
        let mut wall = [None; 4];
        let mut secs = [None; 4];
        if let (Some(t), Some(s)) = (&safe_heap_tool, startups[0]) {
            let (mut total, mut n) = (Duration::ZERO, 0.0);
            let all = files.iter().all(|f| {
                let best = t.best(&[out, f], &safe_heap_flags, tool_time / files.len() as u32);
                report(name, best)
                    .inspect(|best| {
                        total += *best;
                        n += net(*best, s);
                    })
                    .is_some()
            });
            if all {
                wall[0] = Some(total.as_secs_f64() * 1e3);
                secs[0] = Some(n);
            }
        }
        // Merge input: the modules (a single one twice), memory exports on the first only.
        let mut parts: Vec<Vec<u8>> = modules.clone();
        if parts.len() == 1 {
            parts.push(parts[0].clone());
        }
        for p in &mut parts[1..] {
            *p = without_memory_exports(p);
        }
        let merge_bytes: usize = parts.iter().map(Vec::len).sum();
        let (our_merge, our_merge_trusted) = match merge_inputs(&parts) {
            Ok(merge_inputs) => {
                // Trusted: neither validation nor the list of changes, as for the rebase.
                let merge_with = |trusted: bool| {
                    let rewrite = RewriteOptions {
                        clamp_maximum: true,
                        validate: !trusted,
                        relocation_entries: !trusted,
                        ..RewriteOptions::default()
                    };
                    let options = MergeOptions { rewrite, ..MergeOptions::default() };
                    let merged = flight_rebase::merge(&merge_inputs, &options);
                    report(name, merged.map_err(|e| format!("our merge: {e}")))?;
                    Some(rate(merge_bytes, time, || {
                        black_box(flight_rebase::merge(&merge_inputs, &options).unwrap());
                    }))
                };
                (merge_with(false), merge_with(true))
            }
            Err(e) => {
                println!("{name}: our merge: {e}");
                (None, None)
            }
        };
        let part_files: Vec<PathBuf> =
            parts.iter().enumerate().map(|(i, p)| scratch.file(&format!("p{i}.wasm"), p)).collect();
        let names: Vec<String> = (0..parts.len()).map(|i| format!("m{i}")).collect();
        let mut merged = 0;
        let mut merged_file = None;
        if let (Some(merge), Some(s)) = (&npm_merge, startups[1]) {
            let file = scratch.0.join(format!("merged{k}.wasm"));
            let mut a: Vec<&Path> = vec![&file];
            for (f, n) in part_files.iter().zip(&names) {
                a.push(f);
                a.push(Path::new(n));
            }
            if let Some(best) = report(name, merge.best(&a, &merge_flags, tool_time)) {
                wall[1] = Some(best.as_secs_f64() * 1e3);
                secs[1] = Some(net(best, s));
                merged = std::fs::metadata(&file).map_or(0, |m| m.len() as usize);
                for (i, flags) in [(2, &lower_flags), (3, &lower_checks_flags)] {
                    let Some(opt) = &npm_opt else { continue };
                    if let Some(best) = report(name, opt.best(&[out, &file], flags, tool_time)) {
                        wall[i] = Some(best.as_secs_f64() * 1e3);
                        secs[i] = startups[i].map(|s| net(best, s));
                    }
                }
                merged_file = Some(file);
            }
        }
        for (key, passes, on_merged) in WARM {
            let files = match (on_merged, &merged_file) {
                (false, _) => files.clone(),
                (true, Some(m)) => vec![m.clone()],
                (true, None) => continue,
            };
            warm_jobs.push(WarmJob { id: format!("{k} {key}"), files, passes });
        }
        rows.push(Row {
            name: name.clone(),
            bytes,
            merged,
            parse,
            rebase,
            checks,
            trusted,
            trusted_checks,
            our_merge,
            our_merge_trusted,
            safe_heap: secs[0].and_then(|s| mbps(bytes, s)),
            merge_lower: secs[1].zip(secs[2]).and_then(|(m, l)| mbps(merge_bytes, m + l)),
            merge: secs[1].and_then(|s| mbps(merge_bytes, s)),
            lower: secs[2].and_then(|s| mbps(merged, s)),
            lower_checks: secs[3].and_then(|s| mbps(merged, s)),
            wall,
            warm: [None; 4],
        });
    }

    // Binaryen warm: one Node process for all inputs.
    match run_warm(&warm_jobs, time) {
        Ok(results) => {
            println!("Binaryen warm: {} (rebase/js/warm.mjs)", results.version);
            for (k, row) in rows.iter_mut().enumerate() {
                for (i, (key, _, _)) in WARM.iter().enumerate() {
                    if let Some(r) = results.jobs.get(&format!("{k} {key}")) {
                        let r = r.clone().map_err(|e| format!("warm {key}: {e}"));
                        row.warm[i] = report(&row.name, r);
                    }
                }
            }
        }
        Err(why) => println!("Binaryen warm: unavailable: {}", why.lines().next().unwrap_or_default()),
    }

    println!(
        "\nCOLD, MB/s of input (Binaryen: one process per run, best wall time less start-up; lower: per MB of the merged module)"
    );
    println!(
        "{:<22} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>7} {:>7} {:>9}",
        "input", "bytes", "merged", "parse", "rebase", "checks", "safe-heap", "merge", "lower", "lower+chk"
    );
    for r in &rows {
        println!(
            "{:<22} {:>8} {:>8} {:>9.1} {:>8.1} {:>8.1} {} {} {} {}",
            r.name,
            r.bytes,
            r.merged,
            r.parse,
            r.rebase,
            r.checks,
            cell(r.safe_heap, 9),
            cell(r.merge, 7),
            cell(r.lower, 7),
            cell(r.lower_checks, 9)
        );
    }
    println!("\nCOLD: share of the parse ceiling, and ours / Binaryen cold (MB/s over MB/s)");
    println!(
        "{:<22} {:>8} {:>8} {:>14} {:>16} {:>18}",
        "input", "rebase", "checks", "rebase/lower", "checks/safe-heap", "checks/lower+chk"
    );
    for r in &rows {
        println!(
            "{:<22} {:>7.1}% {:>7.1}% {} {} {}",
            r.name,
            r.rebase / r.parse * 100.0,
            r.checks / r.parse * 100.0,
            ratio(r.rebase, r.lower, 14),
            ratio(r.checks, r.safe_heap, 16),
            ratio(r.checks, r.lower_checks, 18)
        );
    }
    println!(
        "\nMERGE, MB/s of the merge input (the modules, or the module twice): ours rebases each into its segment of one memory and links them; wasm-merge links them keeping their memories apart, and lowering those into one memory completes the same work"
    );
    println!(
        "{:<22} {:>8} {:>9} {:>10} {:>11} {:>14} {:>17} {:>20}",
        "input",
        "merge",
        "trusted",
        "wasm-merge",
        "then lower",
        "merge/w-merge",
        "trusted/w-merge",
        "merge/(w-merge+lower)"
    );
    for r in &rows {
        let ours = |v: Option<f64>, width: usize| cell(v, width);
        let over = |a: Option<f64>, b: Option<f64>, width: usize| {
            a.map_or_else(|| format!("{:>width$}", "-"), |a| ratio(a, b, width))
        };
        println!(
            "{:<22} {} {} {} {} {} {} {}",
            r.name,
            ours(r.our_merge, 8),
            ours(r.our_merge_trusted, 9),
            cell(r.merge, 10),
            cell(r.merge_lower, 11),
            over(r.our_merge, r.merge, 14),
            over(r.our_merge_trusted, r.merge, 17),
            over(r.our_merge, r.merge_lower, 20)
        );
    }
    println!(
        "\nCOLD: Binaryen wall times in ms (best run; safe-heap summed over the modules), start-up first"
    );
    println!("{:<22} {:>10} {:>10} {:>10} {:>10}", "input", "safe-heap", "merge", "lower", "lower+chk");
    let ms = |v: Option<f64>| v.map_or_else(|| format!("{:>10}", "-"), |v| format!("{v:>10.1}"));
    let s: Vec<Option<f64>> = startups.iter().map(|d| d.map(|d| d.as_secs_f64() * 1e3)).collect();
    println!("{:<22} {} {} {} {}", "start-up (trivial)", ms(s[0]), ms(s[1]), ms(s[2]), ms(s[3]));
    for r in &rows {
        println!("{:<22} {} {} {} {}", r.name, ms(r.wall[0]), ms(r.wall[1]), ms(r.wall[2]), ms(r.wall[3]));
    }
    println!(
        "(wasm-opt flags: -O0 -all -n and the pass; wasm-merge: -all -n --rename-export-conflicts; safe-heap runs once per module: {count} processes for the wasm-smith set)"
    );

    let warm_mbps = |r: &Row, i: usize| r.warm[i].map(|w| w.mbps());
    println!(
        "\nWARM, MB/s of input (Binaryen: JS API in one Node process, mean time per run; lower: per MB of the merged module)"
    );
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>8} {:>8} {:>11} {:>10} {:>9} {:>9} {:>9}",
        "input",
        "bytes",
        "merged",
        "rebase",
        "checks",
        "trusted",
        "trusted+chk",
        "read+write",
        "safe-heap",
        "lower",
        "lower+chk"
    );
    for r in &rows {
        println!(
            "{:<22} {:>8} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>11.1} {} {} {} {}",
            r.name,
            r.bytes,
            r.merged,
            r.rebase,
            r.checks,
            r.trusted,
            r.trusted_checks,
            cell(warm_mbps(r, 0), 10),
            cell(warm_mbps(r, 1), 9),
            cell(warm_mbps(r, 2), 9),
            cell(warm_mbps(r, 3), 9)
        );
    }
    println!("\nWARM: ours / Binaryen warm (MB/s over MB/s)");
    println!(
        "{:<22} {:>11} {:>12} {:>16} {:>17} {:>12} {:>16}",
        "input",
        "rebase/r+w",
        "trusted/r+w",
        "checks/safe-heap",
        "tr+chk/safe-heap",
        "rebase/lower",
        "checks/lower+chk"
    );
    for r in &rows {
        println!(
            "{:<22} {} {} {} {} {} {}",
            r.name,
            ratio(r.rebase, warm_mbps(r, 0), 11),
            ratio(r.trusted, warm_mbps(r, 0), 12),
            ratio(r.checks, warm_mbps(r, 1), 16),
            ratio(r.trusted_checks, warm_mbps(r, 1), 17),
            ratio(r.rebase, warm_mbps(r, 2), 12),
            ratio(r.checks, warm_mbps(r, 3), 16)
        );
    }
    println!("\nWARM: Binaryen ms per run, mean / best");
    println!("{:<22} {:>17} {:>17} {:>17} {:>17}", "input", "read+write", "safe-heap", "lower", "lower+chk");
    let times = |w: Option<Warm>| {
        w.map_or_else(
            || format!("{:>17}", "-"),
            |w| {
                let ms = |d: Duration| d.as_secs_f64() * 1e3;
                format!("{:>17}", format!("{:.2} / {:.2}", ms(w.mean), ms(w.best)))
            },
        )
    };
    for r in &rows {
        println!(
            "{:<22} {} {} {} {}",
            r.name,
            times(r.warm[0]),
            times(r.warm[1]),
            times(r.warm[2]),
            times(r.warm[3])
        );
    }
    println!(
        "(rebase, checks: ours validating first; trusted: without validation, as Binaryen runs here; r+w: Binaryen read+write, no pass)"
    );
}

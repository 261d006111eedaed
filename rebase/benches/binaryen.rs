//! flight-rebase against Binaryen on the same inputs, in one run: MB/s of input for wasmparser
//! alone (parse every operator: the ceiling), our rebase without and with bounds checks, and
//! Binaryen's nearest operations, run as programs:
//!
//! - `safe-heap`: Debian's `wasm-opt` (108) `-O0 -all --safe-heap`, which instruments every
//!   load and store with a checking call (the counterpart of our bounds checks);
//! - `merge`: npm's `wasm-merge` (132) `-all --rename-export-conflicts` (it does not optimise) of the input with
//!   itself (the wasm-smith set: of all its modules), each copy after the first without its
//!   memory exports;
//! - `lower` and `lower+chk`: npm's `wasm-opt` (132) `-O0 -all --multi-memory-lowering` (and
//!   `--multi-memory-lowering-with-bounds-checks`) of that merged module: its memories put one
//!   after the other in a single memory, the closest Binaryen operation to rebasing modules
//!   into segments of one memory. Its rate is per MB of the merged module.
//!
//! `-O0` runs no optimisation pass, only the transform named; `-n` (no validation) spares
//! Binaryen its validator, which rejects some valid wasm-smith modules (a data segment past the
//! initial memory, unreachable code it types differently), so Binaryen does less than the
//! rebaser, which validates first. A program's time is the best of
//! a few runs, less the best time of the same program on a trivial module (process start-up,
//! Node's loading of Binaryen, reading and writing files), which is printed separately. With
//! small inputs the difference is small beside the start-up and the rate is rough.
//!
//! `cargo bench -p flight-rebase --bench binaryen [-- [--quick] [FILE.wasm ...]]`. Binaryen comes
//! from `cargo xtask setup` (Debian `binaryen`, npm `binaryen` in `rebase/js`); a tool that is
//! missing, or that rejects an input, is reported and its columns are empty.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{generated_with, parse, rate};
use flight_rebase::{Options, PAGE};
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

struct Row {
    name: String,
    bytes: usize,
    merged: usize,
    parse: f64,
    rebase: f64,
    checks: f64,
    safe_heap: Option<f64>,
    merge: Option<f64>,
    lower: Option<f64>,
    lower_checks: Option<f64>,
    /// Best wall times in ms: safe-heap (summed over modules), merge, lower, lower+chk.
    wall: [Option<f64>; 4],
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

    let mut inputs: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    match fixtures::rust() {
        Ok(w) => inputs.push(("rust fixture".into(), vec![w.to_vec()])),
        Err(why) => eprintln!("no Rust fixture: {why}"),
    }
    match fixtures::c() {
        Ok(w) => inputs.push(("c fixture".into(), vec![w.to_vec()])),
        Err(why) => eprintln!("no C fixture: {why}"),
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
    inputs.push((format!("wasm-smith x{count}"), generated_with(count, older)));
    for file in args.iter().filter(|a| !a.starts_with("--")) {
        let name =
            std::path::Path::new(file).file_name().map_or(file.clone(), |n| n.to_string_lossy().into());
        inputs.push((name, vec![std::fs::read(file).unwrap()]));
    }

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
        tool.as_ref().map(|t| {
            let mut a = vec![out];
            a.extend(ins);
            t.best(&a, flags, tool_time).unwrap()
        })
    };
    let startups = [
        startup(&safe_heap_tool, &[&t1], &safe_heap_flags),
        startup(&npm_merge, &[&t1, Path::new("a"), &t1, Path::new("b")], &merge_flags),
        startup(&npm_opt, &[&t2], &lower_flags),
        startup(&npm_opt, &[&t2], &lower_checks_flags),
    ];

    let mut rows = Vec::new();
    for (name, modules) in &inputs {
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

        // The same bytes, as files.
        let files: Vec<PathBuf> =
            modules.iter().enumerate().map(|(i, m)| scratch.file(&format!("m{i}.wasm"), m)).collect();
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
        let part_files: Vec<PathBuf> =
            parts.iter().enumerate().map(|(i, p)| scratch.file(&format!("p{i}.wasm"), p)).collect();
        let names: Vec<String> = (0..parts.len()).map(|i| format!("m{i}")).collect();
        let mut merged = 0;
        if let (Some(merge), Some(s)) = (&npm_merge, startups[1]) {
            let merged_file = scratch.0.join("merged.wasm");
            let mut a: Vec<&Path> = vec![&merged_file];
            for (f, n) in part_files.iter().zip(&names) {
                a.push(f);
                a.push(Path::new(n));
            }
            if let Some(best) = report(name, merge.best(&a, &merge_flags, tool_time)) {
                wall[1] = Some(best.as_secs_f64() * 1e3);
                secs[1] = Some(net(best, s));
                merged = std::fs::metadata(&merged_file).unwrap().len() as usize;
                for (k, flags) in [(2, &lower_flags), (3, &lower_checks_flags)] {
                    let Some(opt) = &npm_opt else { continue };
                    if let Some(best) = report(name, opt.best(&[out, &merged_file], flags, tool_time)) {
                        wall[k] = Some(best.as_secs_f64() * 1e3);
                        secs[k] = startups[k].map(|s| net(best, s));
                    }
                }
            }
        }
        rows.push(Row {
            name: name.clone(),
            bytes,
            merged,
            parse,
            rebase,
            checks,
            safe_heap: secs[0].and_then(|s| mbps(bytes, s)),
            merge: secs[1].and_then(|s| mbps(merge_bytes, s)),
            lower: secs[2].and_then(|s| mbps(merged, s)),
            lower_checks: secs[3].and_then(|s| mbps(merged, s)),
            wall,
        });
    }

    println!("\nMB/s of input (Binaryen: best wall time less start-up; lower: per MB of the merged module)");
    println!(
        "{:<20} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9} {:>7} {:>7} {:>9}",
        "input", "bytes", "merged", "parse", "rebase", "checks", "safe-heap", "merge", "lower", "lower+chk"
    );
    for r in &rows {
        println!(
            "{:<20} {:>8} {:>8} {:>9.1} {:>8.1} {:>8.1} {} {} {} {}",
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
    println!("\nshare of the parse ceiling, and ours / Binaryen (MB/s over MB/s)");
    println!(
        "{:<20} {:>8} {:>8} {:>14} {:>16} {:>18}",
        "input", "rebase", "checks", "rebase/lower", "checks/safe-heap", "checks/lower+chk"
    );
    for r in &rows {
        println!(
            "{:<20} {:>7.1}% {:>7.1}% {} {} {}",
            r.name,
            r.rebase / r.parse * 100.0,
            r.checks / r.parse * 100.0,
            ratio(r.rebase, r.lower, 14),
            ratio(r.checks, r.safe_heap, 16),
            ratio(r.checks, r.lower_checks, 18)
        );
    }
    println!("\nBinaryen wall times in ms (best run; safe-heap summed over the modules), start-up first");
    println!("{:<20} {:>10} {:>10} {:>10} {:>10}", "input", "safe-heap", "merge", "lower", "lower+chk");
    let ms = |v: Option<f64>| v.map_or_else(|| format!("{:>10}", "-"), |v| format!("{v:>10.1}"));
    let s: Vec<Option<f64>> = startups.iter().map(|d| d.map(|d| d.as_secs_f64() * 1e3)).collect();
    println!("{:<20} {} {} {} {}", "start-up (trivial)", ms(s[0]), ms(s[1]), ms(s[2]), ms(s[3]));
    for r in &rows {
        println!("{:<20} {} {} {} {}", r.name, ms(r.wall[0]), ms(r.wall[1]), ms(r.wall[2]), ms(r.wall[3]));
    }
    println!(
        "(wasm-opt flags: -O0 -all -n and the pass; wasm-merge: -all -n --rename-export-conflicts; safe-heap runs once per module: {count} processes for the wasm-smith set)"
    );
}

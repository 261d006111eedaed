// Times Binaryen warm: in this one Node process, through Binaryen's JS API, with the
// start-up of Node and the loading of Binaryen paid once, before any timing.
//
// Input: a JSON job, as the first argument or on stdin:
//
//   { "time_ms": 200,
//     "jobs": [ { "id": "c fixture", "files": ["a.wasm", ...], "passes": ["safe-heap"] }, ... ] }
//
// For each job the files are read from disk once (not timed). One run is then, for every
// file in turn:
//
//   binaryen.readBinary(bytes, Features.All)  // copy into Binaryen's heap, parse to its IR
//   module.setFeatures(Features.All)
//   module.runPasses(passes)                  // skipped when `passes` is empty
//   module.emitBinary()                       // write the binary, copied out of the heap
//   module.dispose()
//
// which is the work of `wasm-opt -O0 -all -n --PASS in.wasm -o out.wasm` less its file I/O:
// the global options are set as -O0 sets them (optimize and shrink levels 0, no Stack IR,
// no names section written), and the module is never validated (the JS API validates only on
// `module.validate()`, which is not called, as `-n` skips wasm-opt's validation). After one
// warm-up run, runs repeat until `time_ms` has passed and at least three have run. Run it as
// `node --no-liftoff warm.mjs`, as the benchmark does: Binaryen's code is then compiled by V8's
// optimising compiler on its first call (in the warm-up run) instead of being tiered up from
// the baseline compiler during the first measurements.
//
// Output: one JSON line describing Binaryen and Node, then one line per job:
//
//   { "id", "passes", "bytes" (input bytes per run), "out_bytes" (output bytes per run),
//     "runs", "best_ns", "mean_ns" }            (times per run)
//   { "id", "passes", "error" }                 (when Binaryen rejects a file)
//
// Exit status 2 with a message on stderr when Binaryen cannot be loaded or the job is malformed.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

let binaryen;
try {
  binaryen = (await import("binaryen")).default;
} catch (e) {
  fail(`cannot load the npm package binaryen: ${e.message.split("\n")[0]}`);
}

let version = "unknown";
try {
  version = createRequire(import.meta.url)("binaryen/package.json").version;
} catch {
  // The version is informative only.
}

let job;
try {
  job = JSON.parse(process.argv[2] ?? readFileSync(0, "utf8"));
} catch (e) {
  fail(`cannot read the job: ${e.message}`);
}
const minNs = BigInt(Math.round((job.time_ms ?? 200) * 1e6));

// As `wasm-opt -O0`: the JS API's defaults are -O2 -s1.
binaryen.setOptimizeLevel(0);
binaryen.setShrinkLevel(0);
binaryen.setDebugInfo(false);
binaryen.setGenerateStackIR(false);
binaryen.setOptimizeStackIR(false);
binaryen.setLowMemoryUnused(false);

const features = binaryen.Features.All;

/** One run over `inputs`: the bytes Binaryen wrote. */
function run(inputs, passes) {
  let written = 0;
  for (const bytes of inputs) {
    // `readBinary`'s second argument (the features to read with) is missing from index.d.ts,
    // which declares a `readBinaryWithFeatures` that index.js does not define.
    const module = binaryen.readBinary(bytes, features);
    try {
      module.setFeatures(features);
      if (passes.length > 0) {
        module.runPasses(passes);
      }
      written += module.emitBinary().length;
    } finally {
      module.dispose();
    }
  }
  return written;
}

console.log(JSON.stringify({ binaryen: version, node: process.version }));

for (const { id, files, passes = [] } of job.jobs ?? []) {
  let line;
  try {
    const inputs = files.map((f) => new Uint8Array(readFileSync(f)));
    const bytes = inputs.reduce((n, b) => n + b.length, 0);
    const outBytes = run(inputs, passes);
    let best = null;
    let total = 0n;
    let runs = 0;
    const start = process.hrtime.bigint();
    while (runs < 3 || process.hrtime.bigint() - start < minNs) {
      const t0 = process.hrtime.bigint();
      run(inputs, passes);
      const t = process.hrtime.bigint() - t0;
      best = best === null || t < best ? t : best;
      total += t;
      runs += 1;
    }
    line = {
      id,
      passes,
      bytes,
      out_bytes: outBytes,
      runs,
      best_ns: Number(best),
      mean_ns: Number(total / BigInt(runs)),
    };
  } catch (e) {
    line = { id, passes, error: String(e?.message ?? e).split("\n")[0] };
  }
  console.log(JSON.stringify(line));
}

//! Links every PSX image with the platform's script, and builds the C half of the `wasm2c`
//! image: `wasm/test.wat` assembled (wat2wasm, MVP features only), translated to C by wasm2c
//! (module name `test`), and compiled, with the shared wasm-rt (`rt/wasm2c`), the
//! MIPS `setjmp` (`rt/wasm2c/mips`) and the embedder (`wasm/embed.c`), by the C
//! toolchain of `targets/psx.toml`'s `[c]` table with its flags (this script adds only include
//! paths). The objects reach that image's link alone (`rustc-link-arg-bin`), where Rust's
//! compiler-builtins provides the 64-bit and soft-float helpers the C calls: Debian's libgcc
//! for this triple is MIPS32r2 with hard float, and is never linked.
//!
//! This runs here rather than in `xtask` because the objects belong to one Rust binary's link,
//! which only cargo performs, and cargo then also knows when to compile them again.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The header wasm2c's output needs, from the installed wabt (it must match wasm2c's version).
const WABT_HEADER: &str = "/usr/include/wasm-rt.h";

/// The image that links the C.
const BIN: &str = "wasm2c";

fn main() {
    flight_linker::use_script("psx.ld");
    if let Err(e) = wasm2c() {
        eprintln!("error: the {BIN} image's C half: {e}");
        std::process::exit(1);
    }
}

/// Runs `cmd`; fails with what it printed unless it succeeds.
fn run(cmd: &mut Command) -> Result<String, String> {
    let what = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| format!("cannot start {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn wasm2c() -> Result<(), String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../../..");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?);
    let target = flight_targets::Target::load("psx").map_err(|e| e.to_string())?;
    let c = target.c.as_ref().ok_or("targets/psx.toml has no [c] table")?;

    let shared = root.join("rt/wasm2c");
    let port = root.join("rt/wasm2c/mips");
    let wat = here.join("wasm/test.wat");
    let embed = here.join("wasm/embed.c");
    for input in [&shared, &port, &wat, &embed, &root.join("targets/psx.toml"), &PathBuf::from(WABT_HEADER)] {
        println!("cargo:rerun-if-changed={}", input.display());
    }

    // The module, as C.
    let wasm = out.join("test.wasm");
    run(Command::new("wat2wasm")
        .args([
            "--disable-bulk-memory",
            "--disable-reference-types",
            "--disable-saturating-float-to-int",
            "--disable-sign-extension",
            "--disable-multi-value",
        ])
        .arg(&wat)
        .arg("-o")
        .arg(&wasm))?;
    let test_c = out.join("test.c");
    run(Command::new("wasm2c").arg(&wasm).args(["-n", "test", "-o"]).arg(&test_c))?;
    // wabt's header, under the name the shared wasm-rt.h includes.
    let inc = out.join("inc");
    std::fs::create_dir_all(&inc).map_err(|e| format!("{}: {e}", inc.display()))?;
    std::fs::copy(WABT_HEADER, inc.join("wasm-rt-wabt.h")).map_err(|e| format!("{WABT_HEADER}: {e}"))?;

    let cc = c.tool("gcc");
    let gcc_include = run(Command::new(&cc).arg("-print-file-name=include"))?;
    let mut flags = c.cflags.clone();
    flags.extend(["-isystem".to_string(), gcc_include]);
    for dir in [port.join("include"), shared.join("include"), inc, out.clone()] {
        flags.push(format!("-I{}", dir.display()));
    }
    let sources = [
        (shared.join("src/wasm-rt.c"), "wasm-rt.o"),
        (shared.join("src/math.c"), "math.o"),
        (port.join("setjmp.S"), "setjmp.o"),
        (test_c, "test.o"),
        (embed, "embed.o"),
    ];
    for (source, object) in sources {
        let object = out.join(object);
        let mut cmd = Command::new(&cc);
        cmd.args(&flags);
        if source.ends_with("test.c") {
            // wasm2c's output discards values by design, and `deep` recurses without end on
            // purpose; a call to an undeclared function (a libm function the shims lack, whose
            // result C would take for an int) must stop the build, so no blanket -w.
            cmd.args([
                "-Wno-unused-value",
                "-Wno-infinite-recursion",
                "-Werror=implicit-function-declaration",
            ]);
        }
        run(cmd.arg("-c").arg(&source).arg("-o").arg(&object))?;
        println!("cargo:rustc-link-arg-bin={BIN}={}", object.display());
    }
    Ok(())
}

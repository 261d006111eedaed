//! Real compiler output for the tests and the benchmark: a small Rust crate compiled to
//! wasm32-unknown-unknown by Debian's rustc with -Zbuild-std (rustup's toolchain here has no
//! wasm32 standard library), and a C file compiled by clang --target=wasm32 and wasm-ld.
//! Both are built into `target/rebase-fixtures` (cached by cargo and by file times). When a
//! compiler or linker is missing, the fixture is `Err(why)` and the tests that need it say so
//! and pass; when they are there and the build fails, the tests fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Debian's rustc, which has the library source for -Zbuild-std.
const RUSTC: &str = "/usr/bin/rustc";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    dir.join("rebase-fixtures")
}

/// Runs a build step and reads what it built: a failure is a failed test, not a missing tool.
fn build(cmd: &mut Command, wasm: &Path) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()))
}

/// Whether `tool --version` runs.
fn installed(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The Rust component (`tests/fixtures/rust-component`), or why there is none.
pub fn rust() -> Result<&'static [u8], &'static str> {
    static WASM: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let built = WASM.get_or_init(|| {
        if !Path::new(RUSTC).exists() || !Path::new("/usr/lib/rustlib/src/rust/library/core").exists() {
            return Err(format!(
                "{RUSTC} with its library source (Debian rustc-web, rust-web-src) is not installed"
            ));
        }
        if !installed("wasm-ld") {
            return Err("wasm-ld (Debian lld) is not installed".into());
        }
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust-component/Cargo.toml");
        let target_dir = out_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let flags = ["-C", "linker=wasm-ld", "-C", "link-arg=-zstack-size=65536"].join("\x1f");
        let wasm = target_dir.join("wasm32-unknown-unknown/release/rebase_fixture.wasm");
        let mut cargo = Command::new(cargo);
        cargo
            .args(["build", "--quiet", "--release", "--target", "wasm32-unknown-unknown"])
            .args(["-Zbuild-std=core,alloc", "-Zbuild-std-features=compiler-builtins-mem"])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTC", RUSTC)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_ENCODED_RUSTFLAGS", flags)
            .env_remove("RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER");
        Ok(build(&mut cargo, &wasm))
    });
    built.as_deref().map_err(|e| e.as_str())
}

/// The C component (`tests/fixtures/c-component/component.c`), or why there is none.
pub fn c() -> Result<&'static [u8], &'static str> {
    static WASM: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let built = WASM.get_or_init(|| {
        let clang = ["clang", "clang-14"]
            .into_iter()
            .find(|c| installed(c))
            .ok_or_else(|| "clang is not installed (Debian package `clang`)".to_string())?;
        if !installed("wasm-ld") {
            return Err("wasm-ld (Debian lld) is not installed".into());
        }
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c-component/component.c");
        let dir = out_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let wasm = dir.join("c-component.wasm");
        let mut clang = Command::new(clang);
        clang
            .args(["--target=wasm32", "-O2", "-nostdlib", "-mbulk-memory", "-msign-ext"])
            .args(["-Wl,--no-entry", "-Wl,-z,stack-size=65536", "-Wl,--export=__heap_base"])
            .arg(&source)
            .arg("-o")
            .arg(&wasm);
        Ok(build(&mut clang, &wasm))
    });
    built.as_deref().map_err(|e| e.as_str())
}

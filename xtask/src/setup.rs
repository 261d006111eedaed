//! The one set-up step: installs what console builds and emulator runs need on a fresh Debian 12
//! machine, and does nothing when it is all there.
//!
//! What is needed is the table [`APT`] (Debian packages, pinned by upstream version where the
//! builds and tests are calibrated on one: Debian's rustc 1.96.x, qemu 7.2.x), the packages
//! apt may replace when the machine has other versions of them ([`FAMILIES`]: qemu's), and the
//! rustup components of [`COMPONENTS`]. The decisions are in [`apt`], tested on recorded
//! `dpkg-query` and `apt-cache policy` output. Each check is cheap (one `dpkg-query`), so the
//! demo and test commands call [`ensure`] first.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, run_status};

mod apt;

pub use apt::{Apt, Family};

/// Debian's rustc 1.96 and its std source: the only compiler here that builds console targets.
const RUST_WEB: &str = "1.96";

/// qemu's upstream version: the r2d crash image relies on its SH-4 raising an address error on
/// an unaligned load, which qemu 8 and later no longer do.
const QEMU: &str = "7.2";

/// The packages the set-up may replace, downgrade or remove when the machine has another
/// version of them: all of qemu's packages must be one version, and that version [`QEMU`].
pub const FAMILIES: &[Family] = &[Family {
    source: "qemu",
    version: QEMU,
    why: "the emulator runs are calibrated on qemu 7.2 (qemu 8 and later no longer raise the SH-4 \
          address error the r2d crash image tests), and all of qemu's packages must be one version",
}];

/// Every Debian package, with why.
pub const APT: &[Apt] = &[
    Apt {
        name: "rustc-web",
        version: Some(RUST_WEB),
        why: "rustc 1.96 for console targets (/usr/bin/rustc)",
    },
    Apt { name: "libstd-rust-web-dev", version: Some(RUST_WEB), why: "its standard library" },
    Apt { name: "rust-web-src", version: Some(RUST_WEB), why: "its library source, for -Zbuild-std" },
    Apt {
        name: "rust-web-clippy",
        version: Some(RUST_WEB),
        why: "its clippy, which lints the console images",
    },
    Apt { name: "lld", version: None, why: "ld.lld, the console linker" },
    Apt { name: "binutils-mipsel-linux-gnu", version: None, why: "readelf/objdump for MIPS images" },
    Apt { name: "pcsxr", version: None, why: "the PlayStation emulator" },
    Apt { name: "xvfb", version: None, why: "a private X server for pcsxr" },
    Apt { name: "coreutils", version: None, why: "stdbuf, to line-buffer emulator output" },
    Apt { name: "qemu-system-mips", version: Some(QEMU), why: "the generic MIPS (Malta) machine" },
    Apt { name: "qemu-system-arm", version: Some(QEMU), why: "the Cortex-M3 reference board (lm3s6965evb)" },
    Apt { name: "nodejs", version: None, why: "runs the pcsx_rearmed WebAssembly core" },
    Apt {
        name: "npm",
        version: None,
        why: "fetches the WebAssembly emulators and playwright-core (NodeSource's nodejs provides it)",
    },
    Apt { name: "p7zip-full", version: None, why: "unpacks the pcsx_rearmed core (7z)" },
    Apt { name: "chromium", version: None, why: "the browser PPSSPP (WebAssembly) runs in" },
    Apt { name: "zip", version: None, why: "repacks the WebAssembly cores as stored zips (faster boots)" },
    Apt { name: "gxemul", version: None, why: "the Dreamcast machine (SH-4) for the dreamcast images" },
    Apt { name: "qemu-system-misc", version: Some(QEMU), why: "qemu-system-sh4, the SH-4 R2D board" },
    Apt {
        name: "wabt",
        version: None,
        why: "wasm2c, which turns WebAssembly into C: the SH-4 images, the merged components of every console",
    },
    Apt {
        name: "clang",
        version: None,
        why: "compiles C components to WebAssembly (--target=wasm32): the rebasing tests' and the example's",
    },
    Apt { name: "gcc-sh4-linux-gnu", version: None, why: "the C compiler for the SH-4" },
    Apt { name: "binutils-sh4-linux-gnu", version: None, why: "the SH-4 assembler, linker and objcopy" },
    Apt {
        name: "gcc-mipsel-linux-gnu",
        version: None,
        why: "the C compiler for the PlayStation's and the PSP's wasm2c code (their flags in targets/psx.toml and psp.toml)",
    },
    Apt {
        name: "gcc-12-plugin-dev-sh4-linux-gnu",
        version: None,
        why: "headers for the GCC plugin that turns off the miscompiling sh_treg_combine pass",
    },
    Apt { name: "g++", version: None, why: "builds that GCC plugin (and gcc, the self-test's host part)" },
    Apt {
        name: "binaryen",
        version: None,
        why: "wasm-opt --safe-heap, a yardstick for the rebasing benchmark's bounds checks",
    },
];

/// rustup components the test run uses.
pub const COMPONENTS: &[(&str, &str)] = &[("rustfmt", "fmt"), ("clippy", "clippy")];

/// The installed packages, from `dpkg-query`.
fn installed() -> Result<Vec<apt::Installed>, Error> {
    let out = Command::new("dpkg-query")
        .args(["-W", apt::DPKG_FORMAT])
        .output()
        .map_err(|e| Error::new(format!("setup: cannot run dpkg-query (is this Debian?): {e}")))?;
    Ok(apt::parse_installed(&String::from_utf8_lossy(&out.stdout)))
}

fn missing_components() -> Vec<&'static str> {
    COMPONENTS
        .iter()
        .filter(|(_, sub)| {
            !Command::new("cargo").args([sub, "--version"]).output().is_ok_and(|o| o.status.success())
        })
        .map(|(c, _)| *c)
        .collect()
}

/// `apt-get ARGS` (through `sudo` unless root), non-interactive, in the C locale (its output is
/// read).
fn apt_get(args: &[&str]) -> Command {
    let mut cmd = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    cmd.args(args).arg("-o=Dpkg::Use-Pty=0").env("DEBIAN_FRONTEND", "noninteractive").env("LC_ALL", "C");
    cmd
}

/// Installs whatever is missing; prints what it does. `verbose` also reports what is present.
pub fn ensure(verbose: bool) -> Result<(), Error> {
    let before = installed()?;
    let needs = apt::needs(APT, FAMILIES, &before);
    let components = missing_components();
    if needs.is_empty() && components.is_empty() {
        if verbose {
            println!(
                "setup: everything is installed ({} Debian packages, qemu {QEMU}.x, rustc {RUST_WEB}.x, \
                 rustfmt, clippy): nothing to do",
                APT.len()
            );
        }
        return Ok(());
    }
    if !needs.is_empty() {
        install(&needs, &before)?;
    }
    for c in components {
        println!("setup: adding the rustup component {c}");
        run_status(Command::new("rustup").args(["component", "add", c]), "setup: rustup component add")?;
    }
    println!("setup: done");
    Ok(())
}

/// Asks apt for what `needs` lacks: the exact versions it serves, a simulated install that may
/// change installed packages of [`FAMILIES`] only, then the install; checks the result.
fn install(needs: &[apt::Need<'_>], before: &[apt::Installed]) -> Result<(), Error> {
    run_status(&mut apt_get(&["update", "-q"]), "setup: apt-get update")?;
    let mut names: Vec<&str> = needs
        .iter()
        .map(|n| match n {
            apt::Need::Missing(want) => want.name,
            apt::Need::Version(_, i) | apt::Need::Drift(_, i) => i.name.as_str(),
        })
        .collect();
    names.dedup();
    let policy = Command::new("apt-cache")
        .arg("policy")
        .args(&names)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| Error::new(format!("setup: cannot run apt-cache: {e}")))?;
    let policy = apt::parse_policy(&String::from_utf8_lossy(&policy.stdout));
    let actions = apt::resolve(needs, FAMILIES, &policy).map_err(Error::new)?;
    let specs: Vec<String> = actions.iter().map(apt::Action::spec).collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let install_args = ["install", "-y", "-q", "--allow-downgrades"];

    let sim = apt_get(&[&install_args[..], &["-s"]].concat())
        .args(&specs)
        .output()
        .map_err(|e| Error::new(format!("setup: cannot run apt-get: {e}")))?;
    let text = format!("{}{}", String::from_utf8_lossy(&sim.stdout), String::from_utf8_lossy(&sim.stderr));
    let sim =
        apt::check_simulation(&text, sim.status.success(), &actions, FAMILIES, before).map_err(Error::new)?;

    println!("setup: {} change(s) to Debian packages:", actions.len());
    for a in &actions {
        println!("  {a}");
    }
    if !sim.changes.is_empty() {
        println!(
            "setup: apt's simulated plan (apt-get -s) installs {} new and upgrades {} package(s), and \
             changes these installed ones:",
            sim.new, sim.upgraded
        );
        for line in &sim.changes {
            println!("  {line}");
        }
    }
    run_status(apt_get(&install_args).args(&specs), "setup: apt-get install").map_err(|e| {
        Error::new(format!("{e}\nsetup: these packages could not be installed: {}", specs.join(" ")))
    })?;

    let after = installed()?;
    let still = apt::needs(APT, FAMILIES, &after);
    if !still.is_empty() {
        return Err(Error::new(format!("setup: still not as required after apt-get: {still:?}")));
    }
    for a in &actions {
        if let apt::Action::Replace { name, from, to, why } = a {
            println!("setup: replaced {name} {from} with {to}, because {why}");
        } else if let apt::Action::Remove { name, version, why } = a {
            println!("setup: removed {name} {version}: {why}");
        }
    }
    Ok(())
}

/// Installs what comes from crates.io and the npm registry, each into a folder of the project
/// (`.flight/`, `emulator-tests/js/node_modules`, `rebase/js/node_modules`), skipping what is there in the pinned version.
pub fn ensure_downloads(verbose: bool) -> Result<(), Error> {
    for d in DOWNLOADS {
        if d.present() {
            if verbose {
                println!("setup: {} is installed", d.name);
            }
            continue;
        }
        println!("setup: installing {} ({})", d.name, d.why);
        (d.install)().map_err(|e| Error::new(format!("setup: {}: {e}", d.name)))?;
        if !d.present() {
            return Err(Error::new(format!("setup: {} is still missing after installing it", d.name)));
        }
    }
    Ok(())
}

/// One thing fetched from a registry.
struct Download {
    name: &'static str,
    why: &'static str,
    /// A file whose content is `version` once installed.
    marker: fn() -> PathBuf,
    version: &'static str,
    install: fn() -> Result<(), Error>,
}

impl Download {
    fn present(&self) -> bool {
        std::fs::read_to_string((self.marker)()).is_ok_and(|v| v.trim() == self.version)
    }
}

const CARGO_PSP: &str = "0.2.10";
const EMULATORJS: &str = "4.2.3";
/// npm's Binaryen, pinned in `rebase/js/package.json`: newer than Debian's (108), with
/// `wasm-merge` and `wasm-opt --multi-memory-lowering`.
const BINARYEN_NPM: &str = "132.0.0";

const DOWNLOADS: &[Download] = &[
    Download {
        name: "cargo-psp",
        why: "prxgen, mksfo and pack-pbp, which pack PSP images as EBOOT.PBP",
        marker: || tools_dir().join(".cargo-psp-version"),
        version: CARGO_PSP,
        install: || {
            run_status(
                Command::new("cargo")
                    .args(["install", "--locked", "cargo-psp", "--version", CARGO_PSP, "--root"])
                    .arg(tools_dir()),
                "cargo install cargo-psp",
            )?;
            write(&tools_dir().join(".cargo-psp-version"), CARGO_PSP)
        },
    },
    Download {
        name: "playwright-core",
        why: "drives Chromium for the PPSSPP runner (never downloads a browser)",
        marker: || js_dir().join("node_modules/.flight-version"),
        version: "1.65.1",
        install: || npm_ci(&js_dir(), "1.65.1"),
    },
    Download {
        name: "binaryen (npm)",
        why: "wasm-merge and wasm-opt --multi-memory-lowering, for the rebasing benchmark",
        marker: || rebase_js_dir().join("node_modules/.flight-version"),
        version: BINARYEN_NPM,
        install: || npm_ci(&rebase_js_dir(), BINARYEN_NPM),
    },
    Download {
        name: "pcsx_rearmed (EmulatorJS)",
        why: "the second PlayStation emulator, as WebAssembly, run under Node",
        marker: || emulators_dir().join("pcsx_rearmed/.version"),
        version: EMULATORJS,
        install: install_pcsx_rearmed,
    },
    Download {
        name: "PPSSPP (EmulatorJS)",
        why: "the PSP emulator, as WebAssembly",
        marker: || emulators_dir().join("ppsspp/.version"),
        version: EMULATORJS,
        install: install_ppsspp,
    },
];

/// `.flight/tools`: programs installed with `cargo install`.
pub fn tools_dir() -> PathBuf {
    flight_console_build::tools_dir()
}

/// `npm ci` in `dir` (never running packages' scripts or downloading browsers), then the
/// marker that says `version` is installed there.
fn npm_ci(dir: &Path, version: &str) -> Result<(), Error> {
    run_status(
        Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        "npm ci",
    )?;
    write(&dir.join("node_modules/.flight-version"), version)
}

fn js_dir() -> PathBuf {
    crate::root().join("emulator-tests/js")
}

/// `rebase/js`: Binaryen from npm, for the rebasing benchmark.
fn rebase_js_dir() -> PathBuf {
    crate::root().join("rebase/js")
}

fn emulators_dir() -> PathBuf {
    crate::root().join(".flight/emulators")
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::new(format!("{}: {e}", path.display())))
}

fn run_in(dir: &Path, program: &str, args: &[&str]) -> Result<(), Error> {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir).stdout(std::process::Stdio::null());
    run_status(&mut cmd, &format!("{program} {}", args.first().copied().unwrap_or_default()))
}

/// `npm pack`s the pcsx_rearmed core (RetroArch and the core, compiled to WebAssembly, in a 7z
/// file) and unpacks its single-threaded build.
fn install_pcsx_rearmed() -> Result<(), Error> {
    let out = emulators_dir().join("pcsx_rearmed");
    let tmp = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let t = tmp.path();
    run_in(t, "npm", &["pack", &format!("@emulatorjs/core-pcsx_rearmed@{EMULATORJS}")])?;
    run_in(t, "tar", &["xzf", &format!("emulatorjs-core-pcsx_rearmed-{EMULATORJS}.tgz")])?;
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| Error::new(e.to_string()))?;
    run_in(t, "7z", &["x", "-y", &format!("-o{}", out.display()), "package/pcsx_rearmed-wasm.data"])?;
    write(&out.join(".version"), EMULATORJS)
}

/// `npm pack`s the EmulatorJS page and the PPSSPP core, and lays them out for the harness: the
/// page's `data/` as `emulatorjs/`, the core and its assets repacked as stored zips (unpacking
/// in the page is the slowest part of a boot) in `core/`.
fn install_ppsspp() -> Result<(), Error> {
    let out = emulators_dir().join("ppsspp");
    let tmp = tempfile::tempdir().map_err(|e| Error::new(e.to_string()))?;
    let t = tmp.path();
    let s = |p: &Path| p.to_string_lossy().into_owned();
    run_in(
        t,
        "npm",
        &[
            "pack",
            &format!("@emulatorjs/emulatorjs@{EMULATORJS}"),
            &format!("@emulatorjs/core-ppsspp@{EMULATORJS}"),
        ],
    )?;
    for (tgz, dir) in [("emulatorjs-emulatorjs", "ejs"), ("emulatorjs-core-ppsspp", "core")] {
        std::fs::create_dir_all(t.join(dir)).map_err(|e| Error::new(e.to_string()))?;
        run_in(t, "tar", &["xzf", &format!("{tgz}-{EMULATORJS}.tgz"), "-C", dir])?;
    }
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(out.join("core/reports")).map_err(|e| Error::new(e.to_string()))?;
    run_in(t, "cp", &["-r", "ejs/package/data", &s(&out.join("emulatorjs"))])?;
    run_in(t, "cp", &["core/package/reports/ppsspp.json", &s(&out.join("core/reports/"))])?;
    std::fs::create_dir_all(t.join("c")).map_err(|e| Error::new(e.to_string()))?;
    std::fs::create_dir_all(t.join("a")).map_err(|e| Error::new(e.to_string()))?;
    run_in(t, "7z", &["x", "-y", "-oc", "core/package/ppsspp-thread-wasm.data"])?;
    let files = ["ppsspp_libretro.js", "ppsspp_libretro.wasm", "build.json", "core.json", "license.txt"];
    let mut args = vec!["-q", "-0", "-X"];
    let target = s(&out.join("core/ppsspp-thread-wasm.data"));
    args.push(&target);
    args.extend(files);
    run_in(&t.join("c"), "zip", &args)?;
    run_in(&t.join("a"), "7z", &["x", "-y", &s(&t.join("core/package/ppsspp-assets.zip"))])?;
    run_in(&t.join("a"), "zip", &["-q", "-0", "-X", "-r", &s(&out.join("core/ppsspp-assets.zip")), "."])?;
    write(&out.join(".version"), EMULATORJS)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

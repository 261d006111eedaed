//! The merged components of the test run (`emulator-tests/components.toml`): each set's
//! components built to WebAssembly, then for each console `flight build` of the set's spec, and
//! `flight run` of the same on the host, whose lines each console run must print.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;

use crate::{Error, root, run_status};

/// The file of settings.
const SETTINGS: &str = "emulator-tests/components.toml";

/// The settings file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The sets.
    pub set: Vec<Set>,
    rust: Rust,
    c: C,
}

/// Components merged and run together.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    /// Its name in the run's steps.
    pub name: String,
    dir: PathBuf,
    frames: u32,
    specs: BTreeMap<String, PathBuf>,
    components: Vec<Component>,
    /// Emulators it does not run on (by name), and why.
    #[serde(default, rename = "not-on")]
    not_on: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Component {
    name: String,
    rust: Option<String>,
    c: Option<PathBuf>,
    wat: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Rust {
    target: String,
    rustc: String,
    lint_driver: String,
    bootstrap: bool,
    build_std: Vec<String>,
    rustflags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct C {
    cc: String,
    cflags: Vec<String>,
}

/// One set built for one console: its image and what the host printed.
pub struct Built {
    /// The set's name.
    pub set: String,
    /// The console.
    pub console: String,
    /// The image `flight build` wrote (for the Dreamcast, the name its machines' files have).
    pub image: PathBuf,
    /// `flight run`'s output.
    pub host: String,
    /// Emulators it does not run on (by name), and why.
    pub not_on: BTreeMap<String, String>,
}

/// Reads the settings.
pub fn settings() -> Result<Settings, Error> {
    let path = root().join(SETTINGS);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| Error::new(format!("{SETTINGS}: {e}")))
}

fn out_dir(set: &Set) -> PathBuf {
    root().join("target/components").join(set.name.replace(' ', "-"))
}

/// Builds the set's components; returns each as `NAME=FILE`, in order.
fn components(settings: &Settings, set: &Set) -> Result<Vec<String>, Error> {
    let dir = root().join(&set.dir);
    let out = out_dir(set);
    std::fs::create_dir_all(&out).map_err(|e| Error::new(format!("{}: {e}", out.display())))?;
    let packages: Vec<&str> = set.components.iter().filter_map(|c| c.rust.as_deref()).collect();
    let target_dir = root().join("target/components/cargo");
    if !packages.is_empty() {
        let r = &settings.rust;
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--quiet", "--release", "--target", &r.target])
            .arg(format!("-Zbuild-std={}", r.build_std.join(",")))
            .arg("--manifest-path")
            .arg(dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTC", &r.rustc)
            .env("RUSTC_WRAPPER", &r.lint_driver)
            .env("CARGO_ENCODED_RUSTFLAGS", r.rustflags.join("\u{1f}"));
        if r.bootstrap {
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
        for p in &packages {
            cmd.args(["--package", p]);
        }
        run_status(&mut cmd, &format!("build the Rust components of {}", set.name))?;
    }
    let mut args = Vec::new();
    for c in &set.components {
        let file = out.join(format!("{}.wasm", c.name));
        match (&c.rust, &c.c, &c.wat) {
            (Some(package), None, None) => {
                let built =
                    // cargo names a library after its package, `-` written `_`.
                    target_dir.join(&settings.rust.target).join("release").join(format!("{}.wasm", package.replace('-', "_")));
                std::fs::copy(&built, &file).map_err(|e| Error::new(format!("{}: {e}", built.display())))?;
            }
            (None, Some(source), None) => run_status(
                Command::new(&settings.c.cc)
                    .args(&settings.c.cflags)
                    .arg(dir.join(source))
                    .arg("-o")
                    .arg(&file),
                &format!("{} {}", settings.c.cc, source.display()),
            )?,
            (None, None, Some(source)) => {
                let path = dir.join(source);
                let wasm =
                    wat::parse_file(&path).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
                std::fs::write(&file, wasm).map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
            }
            _ => {
                return Err(Error::new(format!(
                    "{SETTINGS}: component `{}` of `{}` needs exactly one of rust, c, wat",
                    c.name, set.name
                )));
            }
        }
        args.push(format!("{}={}", c.name, file.display()));
    }
    Ok(args)
}

/// The `flight` command of this checkout, run as the README runs it (`cargo flight`).
fn flight(args: &[String]) -> Result<String, Error> {
    let out = Command::new("cargo")
        .args(["run", "--quiet", "--package", "flight-cli", "--bin", "flight", "--"])
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "flight {} failed ({}): {}",
            args.first().map_or("", String::as_str),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Builds `set` for every console it lists (or only `only`): its components, then each
/// console's image with `flight build` and the host's run with `flight run`.
pub fn build(settings: &Settings, set: &Set, only: Option<&str>) -> Result<Vec<Built>, Error> {
    if let Some(console) = only.filter(|c| !set.specs.contains_key(*c)) {
        let consoles: Vec<&str> = set.specs.keys().map(String::as_str).collect();
        return Err(Error::new(format!(
            "{SETTINGS}: `{}` has no spec for console `{console}` (it has: {})",
            set.name,
            consoles.join(", ")
        )));
    }
    let modules = components(settings, set)?;
    let mut built = Vec::new();
    for (console, spec) in set.specs.iter().filter(|(c, _)| only.is_none_or(|o| o == c.as_str())) {
        let spec = root().join(&set.dir).join(spec).display().to_string();
        let format =
            flight_targets::Target::load(console).map_err(|e| Error::new(e.to_string()))?.image_format;
        let image = out_dir(set).join(console).join(format.file_name("components"));
        let mut args = vec!["build".to_string(), "--console".into(), console.clone(), spec.clone()];
        args.extend(modules.iter().cloned());
        args.extend(["-o".into(), image.display().to_string(), "--frames".into(), set.frames.to_string()]);
        print!("{}", flight(&args)?);
        let mut args = vec!["run".to_string(), spec];
        args.extend(modules.iter().cloned());
        args.extend(["--frames".into(), set.frames.to_string()]);
        let host = flight(&args)?;
        built.push(Built {
            set: set.name.clone(),
            console: console.clone(),
            image,
            host,
            not_on: set.not_on.clone(),
        });
    }
    Ok(built)
}

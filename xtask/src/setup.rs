//! The one set-up step: installs what console builds and emulator runs need on a fresh Debian 12
//! machine, and does nothing when it is all there.
//!
//! What is needed is the table [`APT`] (Debian packages, versions pinned where a newer one
//! would break the build) and the rustup components of [`COMPONENTS`]. Each check is cheap
//! (one `dpkg-query` for all packages), so the demo and test commands call [`ensure`] first.

use std::process::Command;

use crate::{Error, run_status};

/// A Debian package the project needs.
pub struct Apt {
    /// The package.
    pub name: &'static str,
    /// The exact version, where one is required.
    pub version: Option<&'static str>,
    /// What it is for.
    pub why: &'static str,
}

/// Debian's rustc 1.96 and its std source: the only compiler here that builds console targets.
const RUST_WEB: &str = "1.96.0+dfsg1-1~deb12u2";

/// Every Debian package, with why.
pub const APT: &[Apt] = &[
    Apt {
        name: "rustc-web",
        version: Some(RUST_WEB),
        why: "rustc 1.96 for console targets (/usr/bin/rustc)",
    },
    Apt { name: "libstd-rust-web-dev", version: Some(RUST_WEB), why: "its standard library" },
    Apt { name: "rust-web-src", version: Some(RUST_WEB), why: "its library source, for -Zbuild-std" },
    Apt { name: "lld", version: None, why: "ld.lld, the console linker" },
    Apt { name: "binutils-mipsel-linux-gnu", version: None, why: "readelf/objdump for MIPS images" },
    Apt { name: "pcsxr", version: None, why: "the PlayStation emulator" },
    Apt { name: "xvfb", version: None, why: "a private X server for pcsxr" },
    Apt { name: "coreutils", version: None, why: "stdbuf, to line-buffer emulator output" },
    Apt { name: "qemu-system-mips", version: None, why: "the generic MIPS (Malta) machine" },
    Apt { name: "qemu-system-arm", version: None, why: "the Cortex-M3 reference board (lm3s6965evb)" },
    Apt { name: "nodejs", version: None, why: "runs the pcsx_rearmed WebAssembly core" },
    Apt { name: "p7zip-full", version: None, why: "unpacks the pcsx_rearmed core (7z)" },
];

/// rustup components the test run uses.
pub const COMPONENTS: &[(&str, &str)] = &[("rustfmt", "fmt"), ("clippy", "clippy")];

/// What is missing: (package spec for apt-get, why).
fn missing_packages() -> Result<Vec<(String, &'static str)>, Error> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\n"])
        .args(APT.iter().map(|p| p.name))
        .output()
        .map_err(|e| Error::new(format!("setup: cannot run dpkg-query (is this Debian?): {e}")))?;
    let listing = String::from_utf8_lossy(&out.stdout);
    let installed: Vec<(&str, &str)> = listing
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (name, version, status) = (w.next()?, w.next()?, w.next()?);
            (status == "ii").then_some((name, version))
        })
        .collect();
    Ok(APT
        .iter()
        .filter(|p| !installed.iter().any(|(n, v)| *n == p.name && p.version.is_none_or(|want| want == *v)))
        .map(|p| (p.version.map_or(p.name.to_string(), |v| format!("{}={v}", p.name)), p.why))
        .collect())
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

/// Installs whatever is missing; prints what it does. `verbose` also reports what is present.
pub fn ensure(verbose: bool) -> Result<(), Error> {
    let packages = missing_packages()?;
    let components = missing_components();
    if packages.is_empty() && components.is_empty() {
        if verbose {
            println!("setup: everything is installed ({} Debian packages, rustfmt, clippy)", APT.len());
        }
        return Ok(());
    }
    if !packages.is_empty() {
        println!("setup: installing {} Debian package(s):", packages.len());
        for (spec, why) in &packages {
            println!("  {spec:<45} {why}");
        }
        let sudo = !is_root();
        let apt = |args: &[&str]| {
            let mut cmd = if sudo { Command::new("sudo") } else { Command::new("apt-get") };
            if sudo {
                cmd.arg("apt-get");
            }
            cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
            cmd
        };
        run_status(apt(&["update", "-q"]).arg("-o=Dpkg::Use-Pty=0"), "setup: apt-get update")?;
        let specs: Vec<&str> = packages.iter().map(|(s, _)| s.as_str()).collect();
        let mut install = apt(&["install", "-y", "-q", "-o=Dpkg::Use-Pty=0"]);
        install.args(&specs);
        run_status(&mut install, "setup: apt-get install").map_err(|e| {
            Error::new(format!("{e}\nsetup: these packages could not be installed: {}", specs.join(" ")))
        })?;
        let still = missing_packages()?;
        if !still.is_empty() {
            let names: Vec<_> = still.iter().map(|(s, _)| s.as_str()).collect();
            return Err(Error::new(format!("setup: still missing after apt-get: {}", names.join(" "))));
        }
    }
    for c in components {
        println!("setup: adding the rustup component {c}");
        run_status(Command::new("rustup").args(["component", "add", c]), "setup: rustup component add")?;
    }
    println!("setup: done");
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

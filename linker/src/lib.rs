//! Linker-script fragments shared by the consoles' hand-written scripts, and the two calls that
//! put a script on an image's link line.
//!
//! The consoles' scripts (`platform-*/link/*.ld`) `INCLUDE` the fragments in `fragments/` by
//! name. Scripts reach the linker in two steps, as with `cortex-m-rt`:
//!
//! 1. a platform crate's build script calls [`add_search_paths`] for console builds: search
//!    paths, unlike other link arguments, travel from a library to the binaries that use it;
//! 2. the build script of the crate that produces an image calls [`use_script`], which adds
//!    `-T<script>` to that crate's binaries only. A library never adds `-T`: it would reach
//!    nobody, and it would break the library's host tests.
//!
//! Every `ASSERT` in these scripts says whose mistake it reports, as `cortex-m-rt` does:
//! `ERROR(CRATE): ...` for the image's own settings (a stack or heap size it chose, a layout that
//! does not fit, a feature it left off), `BUG(CRATE): ...` for an invariant of the crate's own
//! (an address or alignment the script and its runtime rely on), which no image should be able
//! to break: report it to the project.
//!
//! This crate is a build-time dependency; it has no run-time part.

use std::path::{Path, PathBuf};

/// The folder holding the shared fragments.
pub fn fragments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fragments")
}

/// From a platform crate's build script: make `platform_link_dir` (the platform's own scripts)
/// and the shared fragments findable by `INCLUDE` and `-T` on every image that links the
/// platform crate, and rebuild when any of them changes.
pub fn add_search_paths(platform_link_dir: &Path) {
    for dir in [platform_link_dir.to_path_buf(), fragments_dir()] {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rerun-if-changed={}", dir.display());
    }
}

/// From an image crate's build script: link this crate's binaries with the script `name`
/// (found on the search paths a platform crate added).
pub fn use_script(name: &str) {
    println!("cargo:rustc-link-arg-bins=-T{name}");
}

/// The variable through which `flight build` names the folder holding what a components
/// runtime links: [`COMPONENTS_ARCHIVE`] and [`COMPONENTS_PLAN`].
pub const COMPONENTS_DIR: &str = "FLIGHT_COMPONENTS_DIR";
/// The merged components' compiled C, in that folder.
pub const COMPONENTS_ARCHIVE: &str = "libflight-components.a";
/// The plan's linker fragment, in that folder.
pub const COMPONENTS_PLAN: &str = "plan.ld";

/// From the build script of a console's components runtime (`platform-*/components`): link its
/// binary with what `flight build` prepared in [`COMPONENTS_DIR`], and with the platform's
/// `components.ld` (which includes the plan's fragment and sets what the platform's script
/// PROVIDEs) before `platform_script`. Without the folder the build stops with a sentence.
pub fn link_components(platform_script: &str) {
    println!("cargo:rerun-if-env-changed={COMPONENTS_DIR}");
    let Some(dir) = std::env::var_os(COMPONENTS_DIR).map(PathBuf::from) else {
        eprintln!(
            "error: {COMPONENTS_DIR} is not set: this runtime is linked by `flight build`, which sets it"
        );
        std::process::exit(1);
    };
    let archive = dir.join(COMPONENTS_ARCHIVE);
    for file in [&archive, &dir.join(COMPONENTS_PLAN)] {
        if !file.exists() {
            eprintln!("error: {} is missing (written by `flight build`)", file.display());
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bins=-Tcomponents.ld");
    use_script(platform_script);
    println!("cargo:rustc-link-arg-bins={}", archive.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every console script and fragment of this repository.
    fn scripts() -> Vec<PathBuf> {
        let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![fragments_dir()];
        for platform in ["psx", "psp", "dreamcast"] {
            dirs.push(top.join(format!("platform-{platform}/link")));
        }
        let mut out = Vec::new();
        for dir in dirs {
            for e in std::fs::read_dir(&dir).unwrap() {
                let path = e.unwrap().path();
                if path.extension().is_some_and(|x| x == "ld" || x == "x") {
                    out.push(path);
                }
            }
        }
        out
    }

    #[test]
    fn every_assert_says_whose_mistake_it_reports() {
        let mut asserts = 0;
        for path in scripts() {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices("ASSERT(") {
                asserts += 1;
                // The message is the first string after the condition.
                let message = text[i..].split('"').nth(1).unwrap_or_default();
                let ok = ["ERROR(flight-", "BUG(flight-"].iter().any(|p| message.starts_with(p));
                assert!(
                    ok,
                    "{}: an ASSERT whose message is neither ERROR(...) nor BUG(...): {message}",
                    path.display()
                );
            }
        }
        assert!(asserts >= 30, "only {asserts} ASSERTs found: are the scripts where this test looks?");
    }

    #[test]
    fn every_fragment_is_present_and_names_its_purpose() {
        let names: Vec<_> = std::fs::read_dir(fragments_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.contains(&"discard-mips.ld".to_string()), "{names:?}");
        for name in names {
            let text = std::fs::read_to_string(fragments_dir().join(&name)).unwrap();
            assert!(
                text.trim_start().starts_with("/*"),
                "{name} starts without a comment saying what it is for"
            );
        }
    }
}

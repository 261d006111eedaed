//! Links the runtime with the merged components `flight build` compiled into
//! `FLIGHT_COMPONENTS_DIR` (`libflight-components.a`, and `plan.ld`, the plan's fragment), with
//! the platform's `components.ld` (which includes the fragment) before its `psx.ld`.

use std::path::PathBuf;

const DIR: &str = "FLIGHT_COMPONENTS_DIR";

fn main() {
    println!("cargo:rerun-if-env-changed={DIR}");
    let Some(dir) = std::env::var_os(DIR).map(PathBuf::from) else {
        eprintln!(
            "error: {DIR} is not set: this runtime is linked by `flight build --console psx`, which sets it"
        );
        std::process::exit(1);
    };
    let archive = dir.join("libflight-components.a");
    for file in [&archive, &dir.join("plan.ld")] {
        if !file.exists() {
            eprintln!("error: {} is missing (written by `flight build`)", file.display());
            std::process::exit(1);
        }
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bins=-Tcomponents.ld");
    // The platform's script after the components' one, which sets what it PROVIDEs.
    flight_linker::use_script("psx.ld");
    println!("cargo:rustc-link-arg-bins={}", archive.display());
}

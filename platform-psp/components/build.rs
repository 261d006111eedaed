//! Links the runtime with the merged components `flight build` compiled into
//! `FLIGHT_COMPONENTS_DIR` (`libflight-components.a`, and `plan.ld`, the plan's fragment), with
//! the platform's `components.ld` (which includes the fragment and sizes the module's heap)
//! before its `psp.ld`.

use std::path::PathBuf;

const DIR: &str = "FLIGHT_COMPONENTS_DIR";

fn main() {
    println!("cargo:rerun-if-env-changed={DIR}");
    let Some(dir) = std::env::var_os(DIR).map(PathBuf::from) else {
        eprintln!(
            "error: {DIR} is not set: this runtime is linked by `flight build --console psp`, which sets it"
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
    // The platform's additions after the components' script, which sets what they PROVIDE.
    flight_linker::use_script("psp.ld");
    println!("cargo:rustc-link-arg-bins={}", archive.display());
}

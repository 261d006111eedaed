//! PSP images in PPSSPP: the EmulatorJS WebAssembly build, in Debian's headless Chromium, driven
//! by `js/ppsspp.mjs` through playwright-core.
//!
//! The harness serves the emulator, the core and the image from localhost (with the
//! cross-origin isolation headers the threaded core needs), relays each line the program writes
//! to its standard output, and reports a fault PPSSPP logs (a jump to, or an access of, an
//! address with nothing behind it) as a CPU exception line. Chromium and the server are always
//! closed; the runner kills the harness's whole process group as well. The emulator is
//! installed by `cargo xtask setup` into `.flight/emulators/ppsspp`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::RunResult;
use crate::process::{self, Options};

/// The Node harness.
pub fn harness() -> PathBuf {
    crate::harness("ppsspp.mjs")
}

/// Where the set-up step puts EmulatorJS and the PPSSPP core.
pub fn install_dir() -> PathBuf {
    crate::emulators_dir().join("ppsspp")
}

pub use crate::StartError as Error;

/// The core's EmulatorJS release and Chromium's version (`PPSSPP (EmulatorJS 4.2.3) in
/// Chromium 156.0.8078.129`).
pub fn version() -> Result<String, Error> {
    let core = crate::installed_version(&install_dir()).map_err(Error::Missing)?;
    let chromium =
        crate::reported_version("chromium", &["--version"], "Chromium ").map_err(Error::Missing)?;
    Ok(format!("PPSSPP (EmulatorJS {core}) in Chromium {chromium}"))
}

/// Boots `image` (an EBOOT.PBP) and waits at most `timeout` for the end marker.
pub fn run(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    let dir = install_dir();
    for need in [dir.join("emulatorjs/loader.js"), dir.join("core/ppsspp-thread-wasm.data")] {
        if !need.exists() {
            return Err(Error::Missing(format!("{} is missing", need.display())));
        }
    }
    if !harness().with_file_name("node_modules/playwright-core").exists() {
        return Err(Error::Missing("playwright-core is not installed in emulator-tests/js".into()));
    }
    let image = crate::image_path(image)?;
    let mut cmd = Command::new("node");
    cmd.arg(harness())
        .arg("--emulatorjs")
        .arg(dir.join("emulatorjs"))
        .arg("--core")
        .arg(dir.join("core"))
        .arg("--image")
        .arg(&image)
        // The harness's own limit lies beyond ours: the runner, not the harness, calls a hang.
        .arg("--timeout")
        .arg((timeout.as_secs() + 30).to_string());
    let options = Options {
        exit_grace: Duration::from_secs(5),
        console_on_stderr: false,
        term_grace: Duration::from_secs(3),
        ..Options::new(timeout)
    };
    Ok(process::run(&mut cmd, options)?)
}

//! PlayStation images in pcsxr, with its built-in HLE BIOS (no Sony BIOS), under a private Xvfb.
//!
//! Each run gets a throwaway `$HOME` holding `.pcsxr/pcsxr.cfg` (HLE BIOS, the OpenGL GPU plugin
//! since Xvfb has no XVideo, interpreter CPU, BIOS TTY output on) and the GPU plugin's settings
//! (no frame limit). Xvfb is started here with `-displayfd`, its pipe kept open for the run, and
//! killed afterwards like the emulator. pcsxr prints the BIOS TTY on stdout, each line prefixed
//! by ` * `, like its own log; it ignores SIGTERM, so it is killed with SIGKILL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::RunResult;
use crate::process::{self, Guard};

/// Where Debian installs the emulator.
pub const PCSXR: &str = "/usr/games/pcsxr";
/// Folders where Debian's pcsxr plugins may live.
const PLUGIN_DIRS: &[&str] =
    &["/usr/lib/x86_64-linux-gnu/psemu", "/usr/lib/aarch64-linux-gnu/psemu", "/usr/lib/psemu"];

pub use crate::StartError as Error;

/// pcsxr's line prefix.
pub fn unprefix(line: &str) -> &str {
    line.strip_prefix(" * ").unwrap_or(line)
}

fn config(plugins: &Path) -> String {
    format!(
        "Bios = HLE\nBiosDir = \nPluginsDir = {}/\nGpu = libpeopsxgl.so\nSpu = libDFSound.so\nCdr = libDFCdrom.so\n\
         Pad1 = libDFInput.so\nPad2 = libDFInput.so\nNet = Disabled\nSio1 = libBladeSio1.so\nMcd1 = \nMcd2 = \n\
         Xa = 0\nSio = 0\nMdec = 0\nPsxAuto = 1\nCdda = 0\nSlowBoot = 0\nDbg = 0\nPsxOut = 1\nSpuIrq = 0\n\
         RCntFix = 0\nVSyncWA = 0\nCpu = 1\nPsxType = 0\n",
        plugins.display()
    )
}

/// A private X server, killed when dropped.
struct Xvfb {
    guard: Guard,
    display: String,
    // The -displayfd pipe: Xvfb exits if it closes, so it stays open for the run.
    _pipe: BufReader<ChildStdout>,
}

impl Xvfb {
    fn start() -> Result<Self, Error> {
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "640x480x24"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut guard =
            Guard::spawn(&mut cmd).map_err(|e| Error::Missing(format!("cannot start Xvfb: {e}")))?;
        let pipe =
            guard.child().stdout.take().ok_or_else(|| Error::Helper("Xvfb did not start: no pipe".into()))?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut pipe = BufReader::new(pipe);
            let mut line = String::new();
            let read = pipe.read_line(&mut line);
            let _ = tx.send(read.map(|_| (line, pipe)));
        });
        match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(Ok((line, pipe))) if !line.trim().is_empty() => {
                Ok(Self { guard, display: format!(":{}", line.trim()), _pipe: pipe })
            }
            Ok(Ok(_)) => Err(Error::Helper(format!(
                "Xvfb did not start: it exited (pid {}) without a display number",
                guard.pid()
            ))),
            Ok(Err(e)) => Err(Error::Helper(format!("Xvfb did not start: {e}"))),
            Err(_) => Err(Error::Helper("Xvfb did not start: no display number within 15 s".into())),
        }
    }
}

/// pcsxr's version, as its help text gives it (`1.9.94`).
pub fn version() -> Result<String, Error> {
    crate::reported_version(PCSXR, &["-h"], "pcsxr ").map(|v| format!("pcsxr {v}")).map_err(Error::Missing)
}

/// Boots `image` (a PS-EXE) in pcsxr and waits at most `timeout` for the end marker.
pub fn run(image: &Path, timeout: Duration) -> Result<RunResult, Error> {
    if !Path::new(PCSXR).exists() {
        return Err(Error::Missing(format!("{PCSXR} is not installed")));
    }
    let plugins: PathBuf = PLUGIN_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("libpeopsxgl.so").exists())
        .ok_or_else(|| Error::Missing("pcsxr's OpenGL GPU plugin libpeopsxgl.so was not found".into()))?;
    let image = crate::image_path(image)?;
    let home = tempfile::tempdir()?;
    let cfg_dir = home.path().join(".pcsxr");
    std::fs::create_dir_all(cfg_dir.join("plugins"))?;
    std::fs::create_dir_all(cfg_dir.join("memcards"))?;
    std::fs::write(cfg_dir.join("pcsxr.cfg"), config(&plugins))?;
    // Keys must follow a newline in this file.
    std::fs::write(cfg_dir.join("plugins/gpuPeopsMesaGL.cfg"), "\nUseFrameLimit = 0\n")?;

    let x = Xvfb::start()?;
    let mut cmd = Command::new("stdbuf");
    cmd.args(["-oL", PCSXR, "-nogui", "-psxout"])
        .arg(&image)
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("DISPLAY", &x.display)
        .env("SDL_AUDIODRIVER", "dummy");
    let mut result = process::run(&mut cmd, process::Options { unprefix, ..process::Options::new(timeout) })?;
    result.pids.push(x.guard.pid());
    drop(x);
    Ok(result)
}

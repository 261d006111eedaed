//! Per-console build settings as data.
//!
//! Each console has one TOML file in this crate's folder (`psx.toml`, ...). The build tooling
//! (`cargo xtask`) reads them through [`Target`]; no triple, compiler path or flag is written in
//! a script. Console builds use their own target folder (`target/console`), since they use a
//! different compiler from host builds and would otherwise rebuild each other's artefacts.

use std::fmt;

use serde::Deserialize;

/// How a linked ELF becomes something a console or emulator boots.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageFormat {
    /// The PlayStation's PS-EXE (2048-byte header and a flat image).
    PsExe,
    /// The linked ELF file itself (qemu loads it with `-kernel`).
    Elf,
    /// The PSP's EBOOT.PBP: the ELF as a PRX (`prxgen`), with a PARAM.SFO (`mksfo`), packed
    /// by `pack-pbp`.
    Eboot,
    /// A WebAssembly module (`NAME.wasm`) translated to C by wasm2c and compiled for the SH-4
    /// with the runtime in `platform-dreamcast/sh4`: `NAME-gxemul.elf` for gxemul's Dreamcast
    /// and `NAME-r2d.bin` for qemu's R2D board.
    Sh4Wasm2c,
}

impl ImageFormat {
    /// The bootable file of image `name` in this format (for the SH-4's, the name its two
    /// machines' files are made from: `NAME-gxemul.elf`, `NAME-r2d.bin`).
    pub fn file_name(self, name: &str) -> String {
        match self {
            Self::PsExe => format!("{name}.exe"),
            Self::Elf => format!("{name}.elf"),
            Self::Eboot => format!("{name}.pbp"),
            Self::Sh4Wasm2c => name.to_string(),
        }
    }
}

/// An emulator that runs a console's images.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize)]
#[serde(try_from = "String")]
pub enum Emulator {
    /// pcsxr with its HLE BIOS, under a private Xvfb.
    Pcsxr,
    /// pcsx_rearmed (the EmulatorJS WebAssembly build) under Node.
    PcsxRearmed,
    /// qemu-system-arm's LM3S6965 board with semihosting.
    QemuLm3s6965,
    /// PPSSPP (the EmulatorJS WebAssembly build) in headless Chromium.
    Ppsspp,
    /// gxemul's Dreamcast machine, serial console through its terminal relay.
    Gxemul,
    /// qemu-system-sh4's R2D board (SH7751R), serial console to a file.
    QemuR2d,
}

impl Emulator {
    /// Every emulator, in the order the consoles' files name them.
    pub const ALL: [Self; 6] =
        [Self::Pcsxr, Self::PcsxRearmed, Self::QemuLm3s6965, Self::Ppsspp, Self::Gxemul, Self::QemuR2d];

    /// The name the consoles' files and `emurun` give it (`pcsx-rearmed`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcsxr => "pcsxr",
            Self::PcsxRearmed => "pcsx-rearmed",
            Self::QemuLm3s6965 => "qemu-lm3s6965",
            Self::Ppsspp => "ppsspp",
            Self::Gxemul => "gxemul",
            Self::QemuR2d => "qemu-r2d",
        }
    }

    /// What it is and which images it boots, in a line.
    pub fn about(self) -> &'static str {
        match self {
            Self::Pcsxr => "PlayStation: pcsxr with its HLE BIOS, under a private Xvfb (PS-EXE)",
            Self::PcsxRearmed => {
                "PlayStation: pcsx_rearmed (WebAssembly build) under Node, output through the mailbox (PS-EXE)"
            }
            Self::QemuLm3s6965 => {
                "Cortex-M3 reference board: qemu-system-arm's lm3s6965evb with semihosting (ELF)"
            }
            Self::Ppsspp => "PSP: PPSSPP (WebAssembly build) in headless Chromium (EBOOT.PBP)",
            Self::Gxemul => "Dreamcast (SH-4): gxemul's Dreamcast machine (ELF, NAME-gxemul.elf)",
            Self::QemuR2d => "SH-4 R2D board: qemu-system-sh4's r2d (raw binary, NAME-r2d.bin)",
        }
    }
}

impl fmt::Display for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for Emulator {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl std::str::FromStr for Emulator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|e| e.name() == s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|e| e.name()).collect();
            format!("unknown emulator `{s}` (known: {})", known.join(", "))
        })
    }
}

/// The build settings of one console.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Target {
    /// The console's short name (`psx`).
    pub name: String,
    /// A line for people.
    pub description: String,
    /// The Rust target triple.
    pub triple: String,
    /// The compiler to use (cargo's `RUSTC`).
    pub rustc: String,
    /// Clippy's driver for that compiler: the build runs the images' own crates through it
    /// (cargo's `RUSTC_WORKSPACE_WRAPPER`), so their lints are checked as they build, with the
    /// images' workspace lints and `-D warnings`.
    pub lint_driver: String,
    /// Whether the build needs `RUSTC_BOOTSTRAP=1` (for `-Z` flags on a release compiler).
    pub bootstrap: bool,
    /// Crates for `-Zbuild-std`.
    pub build_std: Vec<String>,
    /// Features for `-Zbuild-std-features`.
    pub build_std_features: Vec<String>,
    /// Flags for rustc.
    pub rustflags: Vec<String>,
    /// The images package in `emulator-tests/images`.
    pub package: String,
    /// The bootable format.
    pub image_format: ImageFormat,
    /// The demo image's binary name, if the console has one.
    pub demo: Option<String>,
    /// The suite image's binary name.
    pub suite: String,
    /// The emulators that boot this console's images; the suite must pass in each.
    pub emulators: Vec<Emulator>,
    /// Other images of the package that must pass in each of those emulators, as the suite
    /// does (each prints the suite's text protocol).
    #[serde(default)]
    pub tests: Vec<String>,
    /// The console's C cross toolchain and its flags (`[c]`): required by the `sh4-wasm2c`
    /// format (its images are C), allowed for `ps-exe` (images that link C, such as wasm2c's
    /// output, compiled by the images' build script), refused elsewhere: nothing would read it.
    #[serde(default)]
    pub c: Option<CToolchain>,
}

/// A console's C cross toolchain and its flags, for the C runtimes (`rt/wasm2c`, a console's
/// own) and for wasm2c's output. The builds add only the paths they know (include folders, a
/// GCC plugin, the linker script): every other flag is here.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CToolchain {
    /// The cross toolchain's prefix: its `gcc`, `ar` and `objcopy` are `PREFIXgcc`, ...
    pub toolchain: String,
    /// Flags for every C and assembly file.
    pub cflags: Vec<String>,
    /// Flags for a link through the compiler driver (`-Wl,...` for the linker), where the C
    /// toolchain links the image (the SH-4's); none where Rust links it (the PlayStation's).
    #[serde(default)]
    pub ldflags: Vec<String>,
    /// What comes after the objects in such a link (`-lgcc`).
    #[serde(default)]
    pub libs: Vec<String>,
}

impl CToolchain {
    /// A program of the cross toolchain (`gcc`, `ar`, `objcopy`).
    pub fn tool(&self, name: &str) -> String {
        format!("{}{name}", self.toolchain)
    }

    /// Why these settings cannot be used, if they cannot.
    fn check(&self) -> Result<(), String> {
        if self.toolchain.is_empty() || !self.toolchain.ends_with('-') {
            return Err(format!(
                "[c] toolchain `{}` is not a cross toolchain's prefix (such as `sh4-linux-gnu-`)",
                self.toolchain
            ));
        }
        if self.cflags.is_empty() {
            return Err("[c] cflags is empty: a console's C needs at least its CPU and ABI flags".into());
        }
        let flags = self.cflags.iter().chain(&self.ldflags).chain(&self.libs);
        if let Some(f) = flags.into_iter().find(|f| f.is_empty() || f.contains(char::is_whitespace)) {
            return Err(format!("[c] flag `{f}` is empty or holds a space (one flag per string)"));
        }
        Ok(())
    }
}

/// Every console's file, embedded at build time.
const FILES: &[(&str, &str)] = &[
    ("psx", include_str!("../psx.toml")),
    ("cortex-m", include_str!("../cortex-m.toml")),
    ("psp", include_str!("../psp.toml")),
    ("dreamcast", include_str!("../dreamcast.toml")),
];

/// A console name nobody has defined, or a file that does not parse.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum TargetError {
    /// No such console.
    Unknown {
        /// What was asked for.
        name: String,
        /// What exists.
        known: Vec<&'static str>,
    },
    /// A settings file is malformed.
    Malformed {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { name, known } => {
                write!(f, "unknown console `{name}` (known: {})", known.join(", "))
            }
            Self::Malformed { file, why } => write!(f, "targets/{file}: {why}"),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// The names of every console with settings.
    pub fn names() -> Vec<&'static str> {
        FILES.iter().map(|(n, _)| *n).collect()
    }

    /// The settings of the console called `name`.
    pub fn load(name: &str) -> Result<Self, TargetError> {
        let (file, text) = FILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| TargetError::Unknown { name: name.to_string(), known: Self::names() })?;
        Self::parse(&format!("{file}.toml"), text)
    }

    /// Parses one settings file (`file` names it in errors).
    pub fn parse(file: &str, text: &str) -> Result<Self, TargetError> {
        let malformed = |why: String| TargetError::Malformed { file: file.to_string(), why };
        let target: Self = toml::from_str(text).map_err(|e| malformed(e.to_string()))?;
        match (target.image_format, &target.c) {
            (ImageFormat::Sh4Wasm2c, None) => {
                return Err(malformed("the sh4-wasm2c image format needs a [c] table".into()));
            }
            (ImageFormat::Sh4Wasm2c | ImageFormat::PsExe | ImageFormat::Eboot, Some(c)) => {
                c.check().map_err(malformed)?
            }
            (_, None) => {}
            (_, Some(_)) => {
                return Err(malformed(
                    "a [c] table is only for the sh4-wasm2c, ps-exe and eboot image formats".into(),
                ));
            }
        }
        Ok(target)
    }

    /// Every console's settings.
    pub fn all() -> Result<Vec<Self>, TargetError> {
        Self::names().into_iter().map(Self::load).collect()
    }

    /// The `cargo build` arguments (after `cargo`) for this console's images in release mode.
    pub fn cargo_args(&self) -> Vec<String> {
        self.cargo_args_for(&self.package)
    }

    /// The same `cargo build` arguments for another package of the console workspace (a
    /// console runtime such as `flight-psx-components`).
    pub fn cargo_args_for(&self, package: &str) -> Vec<String> {
        let mut args = vec![
            "build".to_string(),
            "--release".into(),
            "--package".into(),
            package.to_string(),
            "--target".into(),
            self.triple.clone(),
            format!("-Zbuild-std={}", self.build_std.join(",")),
        ];
        if !self.build_std_features.is_empty() {
            args.push(format!("-Zbuild-std-features={}", self.build_std_features.join(",")));
        }
        args
    }

    /// The arguments the flags pass to the linker (each `-C link-arg=X`), for tests that link
    /// as a console build does.
    pub fn link_args(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut flags = self.rustflags.iter().map(String::as_str);
        while let Some(flag) = flags.next() {
            let value = match flag {
                "-C" => flags.next().unwrap_or_default(),
                f => f.strip_prefix("-C").unwrap_or_default(),
            };
            if let Some(arg) = value.strip_prefix("link-arg=") {
                out.push(arg);
            }
        }
        out
    }

    /// The environment for that `cargo build`: the compiler, its lint driver, bootstrap and the
    /// flags (as `CARGO_ENCODED_RUSTFLAGS`, which keeps spaces inside flags intact).
    pub fn cargo_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("RUSTC".to_string(), self.rustc.clone()),
            ("CARGO_ENCODED_RUSTFLAGS".to_string(), self.rustflags.join("\u{1f}")),
            ("RUSTC_WRAPPER".to_string(), self.lint_driver.clone()),
        ];
        if self.bootstrap {
            env.push(("RUSTC_BOOTSTRAP".into(), "1".into()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_args_are_read_from_the_flags() {
        let mut t = Target::load("psp").unwrap();
        t.rustflags =
            ["-C", "linker=ld.lld", "-C", "link-arg=--omagic", "-Clink-arg=-Map=x", "-D", "warnings"]
                .map(String::from)
                .to_vec();
        assert_eq!(t.link_args(), ["--omagic", "-Map=x"]);
    }

    #[test]
    fn every_console_file_parses() {
        let all = Target::all().unwrap();
        assert_eq!(all.len(), Target::names().len());
        let psx = Target::load("psx").unwrap();
        assert_eq!(psx.triple, "mipsel-sony-psx");
        assert_eq!(psx.image_format, ImageFormat::PsExe);
        assert_eq!(psx.tests, ["wasm2c"]);
        assert!(psx.cargo_args().contains(&"-Zbuild-std=core,alloc".to_string()));
        assert!(psx.cargo_env().contains(&("RUSTC_BOOTSTRAP".into(), "1".into())));
        let dc = Target::load("dreamcast").unwrap();
        assert_eq!((dc.triple.as_str(), dc.image_format), ("wasm32-unknown-unknown", ImageFormat::Sh4Wasm2c));
        assert_eq!(dc.emulators, [Emulator::Gxemul, Emulator::QemuR2d]);
    }

    #[test]
    fn emulators_are_read_by_name() {
        for e in Emulator::ALL {
            assert_eq!(e.name().parse::<Emulator>(), Ok(e));
        }
        let psx = include_str!("../psx.toml").replace("\"pcsxr\"", "\"pcsx\"");
        let e = Target::parse("psx.toml", &psx).unwrap_err().to_string();
        assert!(e.contains("unknown emulator `pcsx` (known: pcsxr, pcsx-rearmed,"), "{e}");
    }

    #[test]
    fn c_toolchains_come_with_the_formats_that_compile_c() {
        let dc = Target::load("dreamcast").unwrap();
        let sh4 = dc.c.as_ref().unwrap();
        assert_eq!(sh4.tool("gcc"), "sh4-linux-gnu-gcc");
        assert!(sh4.cflags.iter().any(|f| f == "-m4") && sh4.ldflags.iter().any(|f| f == "-nostdlib"));
        let psx = Target::load("psx").unwrap();
        let mips = psx.c.as_ref().unwrap();
        assert_eq!(mips.tool("gcc"), "mipsel-linux-gnu-gcc");
        for flag in ["-march=r3000", "-msoft-float", "-mno-abicalls", "-fno-pic", "-G0", "-ffreestanding"] {
            assert!(mips.cflags.iter().any(|f| f == flag), "psx.toml [c] lacks {flag}");
        }
        // Rust links the PlayStation's images: nothing of Debian's libgcc (MIPS32r2, hard
        // float) may reach them.
        assert!(mips.ldflags.is_empty() && mips.libs.is_empty());

        let text = include_str!("../dreamcast.toml");
        let table = &text[text.find("[c]").unwrap()..];
        let without = &text[..text.find("[c]").unwrap()];
        let e = Target::parse("dreamcast.toml", without).unwrap_err().to_string();
        assert!(e.ends_with("the sh4-wasm2c image format needs a [c] table"), "{e}");
        let cortex = format!("{}\n{table}", include_str!("../cortex-m.toml"));
        let e = Target::parse("cortex-m.toml", &cortex).unwrap_err().to_string();
        assert!(e.ends_with("a [c] table is only for the sh4-wasm2c, ps-exe and eboot image formats"), "{e}");
        // The PSP's C has the Allegrex's float ABI as Rust's mipsel-sony-psp has it.
        let psp = Target::load("psp").unwrap();
        let allegrex = psp.c.as_ref().unwrap();
        for flag in ["-march=mips2", "-msingle-float", "-mno-abicalls", "-fno-pic", "-G0"] {
            assert!(allegrex.cflags.iter().any(|f| f == flag), "psp.toml [c] lacks {flag}");
        }
        assert!(allegrex.ldflags.is_empty() && allegrex.libs.is_empty());
    }

    #[test]
    fn c_toolchains_are_checked() {
        let text = include_str!("../dreamcast.toml");
        for (from, to, why) in [
            (
                "toolchain = \"sh4-linux-gnu-\"",
                "toolchain = \"sh4-linux-gnu\"",
                "is not a cross toolchain's prefix",
            ),
            ("\"-m4\", \"-ml\",", "\"-m4 -ml\",", "holds a space"),
            ("libs = [\"-lgcc\"]", "libs = [\"\"]", "flag `` is empty"),
        ] {
            assert!(text.contains(from), "{from}");
            let e = Target::parse("dreamcast.toml", &text.replacen(from, to, 1)).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let cflags = &text[text.find("cflags = [").unwrap()..];
        let cflags = &cflags[..=cflags.find(']').unwrap()];
        let e = Target::parse("dreamcast.toml", &text.replacen(cflags, "cflags = []", 1))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cflags is empty"), "{e}");
    }

    /// The images' workspace cannot inherit the main one's settings (cargo has no inheritance
    /// across workspaces): what they share must stay equal.
    #[test]
    fn the_images_workspace_keeps_the_main_workspace_s_package_settings_and_lints() {
        let read = |path: &str| -> toml::Table {
            let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
            toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
        };
        let (main, images) = (read("../Cargo.toml"), read("../emulator-tests/images/Cargo.toml"));
        let (main, images) = (&main["workspace"], &images["workspace"]);
        for key in ["version", "edition", "rust-version", "license"] {
            assert_eq!(main["package"][key], images["package"][key], "[workspace.package] {key}");
        }
        assert_eq!(main["lints"], images["lints"], "[workspace.lints]");
    }

    #[test]
    fn unknown_consoles_and_bad_files_are_named() {
        let e = Target::load("n64").unwrap_err().to_string();
        assert_eq!(e, "unknown console `n64` (known: psx, cortex-m, psp, dreamcast)");
        let e = Target::parse("x.toml", "name = 3").unwrap_err().to_string();
        assert!(e.starts_with("targets/x.toml: "), "{e}");
    }
}

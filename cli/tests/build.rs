//! `flight build` as users run it: components to a console image, or a clear error and no
//! image. The builds need the consoles' C toolchains and wasm2c (`cargo xtask setup`); the test
//! run boots the images it builds (`emulator-tests/components.toml`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::time::Duration;

use flight_emulator_tests::Emulator;

mod common;

use common::flight;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flight-build-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A component that counts its frames in its memory.
const COUNTER: &str = r#"(module (memory 1)
    (func (export "frame") (param i32) (result i32)
      i32.const 0 i32.const 0 i32.load i32.const 1 i32.add i32.store
      i32.const 0 i32.load))"#;

/// A spec for `platform` with one component and the budget at `start`.
fn spec(d: &Path, platform: &str, start: &str) -> String {
    let path = d.join(format!("{platform}.toml"));
    std::fs::write(
        &path,
        format!(
            "platform = \"{platform}\"\n[[budget]]\nregion = \"main-ram\"\nstart = \"{start}\"\nsize = \"256 KiB\"\n\
             [[component]]\nname = \"counter\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n"
        ),
    )
    .unwrap();
    s(&path)
}

/// `flight run` of the counter for 3 frames, and of a counter that counts by 2.
fn host_runs(d: &Path, platform: &str) -> (String, String) {
    let spec = s(&d.join(format!("{platform}.toml")));
    let (ok, host, err) = flight(&["run", &spec, &counter(d), "--frames", "3"]);
    assert!(ok, "{err}");
    let by_two = d.join("by-two.wasm");
    std::fs::write(
        &by_two,
        wat::parse_str(COUNTER.replace("i32.const 1 i32.add", "i32.const 2 i32.add")).unwrap(),
    )
    .unwrap();
    let (ok, other, err) = flight(&["run", &spec, &format!("counter={}", s(&by_two)), "--frames", "3"]);
    assert!(ok, "{err}");
    (host, other)
}

fn counter(d: &Path) -> String {
    let path = d.join("counter.wasm");
    std::fs::write(&path, wat::parse_str(COUNTER).unwrap()).unwrap();
    format!("counter={}", s(&path))
}

#[test]
fn what_cannot_be_built_is_refused_before_anything_is_compiled() {
    let d = dir("refused");
    let (psx, c) = (spec(&d, "psx", "1 MiB"), counter(&d));
    let out = s(&d.join("image.exe"));
    let (ok, _, err) = flight(&["build", "--console", "n64", &psx, &c, "-o", &out]);
    assert!(
        !ok && err.contains("unknown console `n64`: merged components build for dreamcast, psp, psx"),
        "{err}"
    );
    let (ok, _, err) = flight(&["build", "--console", "dreamcast", &psx, &c, "-o", &out]);
    assert!(!ok && err.contains("the plan is for platform `psx`, not for console `dreamcast`"), "{err}");
    let stranger = format!("stranger={}", s(&d.join("counter.wasm")));
    let (ok, _, err) = flight(&["build", "--console", "psx", &psx, &stranger, "-o", &out]);
    assert!(!ok && err.contains("stranger"), "{err}");
    let (ok, _, err) = flight(&["build", "--console", "psx", &s(&d.join("none.toml")), &c, "-o", &out]);
    assert!(!ok && err.contains("cannot read"), "{err}");
    // An image over one of the inputs: refused, and the input is left as it was.
    let wasm = d.join("counter.wasm");
    let (ok, _, err) = flight(&["build", "--console", "psx", &psx, &c, "-o", &s(&wasm)]);
    assert!(!ok && err.contains("would overwrite the input"), "{err}");
    assert_eq!(std::fs::read(&wasm).unwrap(), wat::parse_str(COUNTER).unwrap());
    // A tool missing from the machine is named, with the set-up that installs it.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_flight"))
        .args(["build", "--console", "psx", &psx, &c, "-o", &out])
        .env("PATH", d.join("no-tools"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && err.contains("wasm2c is not installed: run `cargo xtask setup`"),
        "{err}"
    );
    assert!(!Path::new(&out).exists());
}

#[test]
#[ignore = "needs the consoles' C toolchains and wasm2c (cargo xtask setup)"]
fn components_become_a_playstation_image_and_a_bad_plan_fails_at_link_time() {
    let d = dir("psx");
    let c = counter(&d);
    let out = d.join("counter.exe");
    let (ok, stdout, err) = flight(&[
        "build",
        "--console",
        "psx",
        &spec(&d, "psx", "1 MiB"),
        &c,
        "-o",
        &s(&out),
        "--frames",
        "3",
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("counter.exe"), "{stdout}");
    let exe = std::fs::read(&out).unwrap();
    assert_eq!(&exe[..8], b"PS-X EXE");
    // Booted, it prints what the host prints; compared with a host run of other results, it
    // fails, naming the first line that differs.
    let r = flight_emulator_tests::run(Emulator::Pcsxr, &out, Duration::from_secs(60)).unwrap();
    assert!(r.passed(), "{r}");
    let (host, other) = host_runs(&d, "psx");
    assert_eq!(flight_emulator_tests::frames::compare(&r.console, &host), Ok(3));
    let e = flight_emulator_tests::frames::compare(&r.console, &other).unwrap_err();
    assert_eq!(
        e,
        "frame or trap line 1: the console printed `frame 0: counter=1`, the host `frame 0: counter=2`"
    );
    // A budget over the runtime's own image: the link's assertion says so, and the image that
    // was there is gone.
    let (ok, _, err) = flight(&["build", "--console", "psx", &spec(&d, "psx", "64 KiB"), &c, "-o", &s(&out)]);
    assert!(!ok, "a budget over the image linked");
    assert!(
        err.contains(
            "ERROR(flight-platform-psx): the image, its .bss and its stack do not fit below the plan's budget"
        ),
        "{err}"
    );
    assert!(!out.exists(), "a failed build left an image");
    // Past the output mailbox.
    let (ok, _, err) =
        flight(&["build", "--console", "psx", &spec(&d, "psx", "0x1BF000"), &c, "-o", &s(&out)]);
    assert!(!ok && err.contains("reaches the output mailbox"), "{err}");
}

#[test]
#[ignore = "needs the consoles' C toolchains and wasm2c (cargo xtask setup)"]
fn components_become_both_sh4_machines_images_and_a_bad_plan_fails_at_link_time() {
    let d = dir("dreamcast");
    let c = counter(&d);
    let out = d.join("counter");
    let (ok, stdout, err) = flight(&[
        "build",
        "--console",
        "dreamcast",
        &spec(&d, "dreamcast", "0x0C400000"),
        &c,
        "-o",
        &s(&out),
        "--frames",
        "3",
    ]);
    assert!(ok, "{err}");
    let (elf, bin) = (d.join("counter-gxemul.elf"), d.join("counter-r2d.bin"));
    assert!(stdout.contains("counter-gxemul.elf") && stdout.contains("counter-r2d.bin"), "{stdout}");
    assert_eq!(&std::fs::read(&elf).unwrap()[..4], b"\x7fELF");
    assert!(std::fs::metadata(&bin).unwrap().len() > 1024);
    let r = flight_emulator_tests::run(Emulator::QemuR2d, &bin, Duration::from_secs(60)).unwrap();
    assert!(r.passed(), "{r}");
    let (host, other) = host_runs(&d, "dreamcast");
    assert_eq!(flight_emulator_tests::frames::compare(&r.console, &host), Ok(3));
    assert!(flight_emulator_tests::frames::compare(&r.console, &other).is_err());
    // Over the Dreamcast image: refused, and neither machine's image is left.
    let (ok, _, err) = flight(&[
        "build",
        "--console",
        "dreamcast",
        &spec(&d, "dreamcast", "0x0C010000"),
        &c,
        "-o",
        &s(&out),
    ]);
    assert!(!ok, "a budget over the image linked");
    assert!(
        err.contains("ERROR(flight-platform-dreamcast): the plan's budget in main RAM overlaps the image"),
        "{err}"
    );
    assert!(!elf.exists() && !bin.exists(), "a failed build left an image");
}

#[test]
#[ignore = "needs the consoles' C toolchains, wasm2c and PPSSPP (cargo xtask setup)"]
fn components_become_a_psp_module_that_reserves_its_budget_from_the_kernel() {
    let d = dir("psp");
    let c = counter(&d);
    let out = d.join("counter.pbp");
    let spec_at = |start: &str| {
        let path = d.join("psp.toml");
        std::fs::write(
            &path,
            format!(
                "platform = \"psp-1000\"\n[[budget]]\nregion = \"main-ram\"\nstart = \"{start}\"\nsize = \"256 KiB\"\n\
                 [[component]]\nname = \"counter\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n"
            ),
        )
        .unwrap();
        s(&path)
    };
    let spec = spec_at("0x09000000");
    let (ok, _, err) = flight(&["build", "--console", "psp", &spec, &c, "-o", &s(&out), "--frames", "3"]);
    assert!(ok, "{err}");
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"\0PBP");
    let r = flight_emulator_tests::run(Emulator::Ppsspp, &out, Duration::from_secs(60)).unwrap();
    assert!(r.passed(), "{r}");
    let (ok, host, err) = flight(&["run", &spec, &c, "--frames", "3"]);
    assert!(ok, "{err}");
    assert_eq!(flight_emulator_tests::frames::compare(&r.console, &host), Ok(3));
    // A budget over the module itself, which the kernel loaded at the start of user RAM: the
    // runtime stops before any component runs, naming the budget.
    let (ok, _, err) =
        flight(&["build", "--console", "psp", &spec_at("0x08800000"), &c, "-o", &s(&out), "--frames", "3"]);
    assert!(ok, "{err}");
    let r = flight_emulator_tests::run(Emulator::Ppsspp, &out, Duration::from_secs(60)).unwrap();
    assert_eq!(r.kind, flight_emulator_tests::Kind::Panic, "{r}");
    assert!(
        r.log.iter().any(|l| l.contains("the plan's budget 0x08800000..0x08840000 cannot be reserved")),
        "{}",
        r.log.join("\n")
    );
    assert!(!r.console.iter().any(|l| l.starts_with("frame ")), "a component ran: {r}");
}

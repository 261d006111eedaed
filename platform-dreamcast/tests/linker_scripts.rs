//! The hand-written linker scripts and the C runtime restate a few numbers of the maps; they
//! must agree. The scripts' assertions are checked by linking a stand-in object with the SH-4
//! linker (ignored by a plain `cargo test`: it needs `sh4-linux-gnu-ld`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use flight_platform_dreamcast::map::{self, P1};
use flight_platform_dreamcast::{r2d, regs};

fn link_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("link")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The hex number after `key` in `text`.
fn hex_after(text: &str, key: &str) -> u64 {
    let at = text.find(key).unwrap_or_else(|| panic!("no `{key}` in the script"));
    let digits: String = text[at + key.len()..]
        .trim_start()
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&digits, 16).unwrap()
}

#[test]
fn the_scripts_agree_with_the_maps() {
    for (script, base, ram) in
        [("dreamcast.ld", map::IMAGE_BASE, &map::MAIN_RAM), ("r2d.ld", r2d::IMAGE_BASE, &r2d::MAIN_RAM)]
    {
        let text = read(&link_dir().join(script));
        let (origin, length) = (hex_after(&text, "ORIGIN ="), hex_after(&text, "LENGTH ="));
        assert_eq!(origin, base, "{script}: ORIGIN");
        let free = ram.largest_free_span().unwrap();
        assert_eq!(origin, P1 + free.start().get(), "{script}: images start where the free RAM does");
        assert_eq!(origin + length, P1 + free.end().get(), "{script}: RAM runs to the end of main RAM");
        assert!(text.contains(&format!("ORIGIN(RAM) == {origin:#X}").replace("0X", "0x")), "{script}");
    }
}

#[test]
fn the_runtime_restates_the_registers() {
    let machine = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sh4/rt/machine.c"));
    let crt0 = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sh4/rt/crt0.S"));
    for (name, addr, text) in [
        ("TCNT0", regs::TMU_TCNT0, &machine),
        ("TCOR0", regs::TMU_TCOR0, &machine),
        ("TCR0", regs::TMU_TCR0, &machine),
        ("TSTR", regs::TMU_TSTR, &machine),
        ("TRA", regs::TRA, &machine),
        ("TEA", regs::TEA, &machine),
        ("EXPEVT", regs::EXPEVT, &crt0),
    ] {
        assert!(
            text.contains(&format!("{addr:#010X}").replace("0X", "0x")),
            "{name} {addr:#x} is not restated"
        );
    }
    assert!(machine.contains("0xFFE80000u"), "the SCIF base");
    assert_eq!(regs::SCIF_SCSCR2 - 0xFFE8_0000, 0x08);
    assert_eq!(regs::SCIF_SCFDR2 - 0xFFE8_0000, 0x1C);
    assert!(machine.contains(&format!("{:#010X}u", r2d::FPGA_POWER_OFF).replace("0X", "0x")), "power-off");
    assert!(machine.contains("PERIPHERAL_MHZ 50u") && regs::DREAMCAST_PERIPHERAL_HZ == 50_000_000);
    assert!(machine.contains("PERIPHERAL_MHZ 60u") && regs::R2D_PERIPHERAL_HZ == 60_000_000);
}

/// Links a stand-in for the runtime (an entry point and the exception vectors) with `script`
/// and `defsyms`; returns the linker's verdict.
fn link(script: &str, defsyms: &[&str]) -> Result<(), String> {
    static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("flight-dreamcast-link-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let result = link_in(&dir, script, defsyms);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn link_in(dir: &Path, script: &str, defsyms: &[&str]) -> Result<(), String> {
    let (source, object) = (dir.join("start.S"), dir.join("start.o"));
    std::fs::write(
        &source,
        ".section .text.start, \"ax\"\n.global _start\n_start: nop\n\
         .section .text.vectors, \"ax\"\n.balign 1024\n.global __vbr\n__vbr:\n.org 0x620\n",
    )
    .unwrap();
    let out = Command::new("sh4-linux-gnu-as")
        .arg(&source)
        .arg("-o")
        .arg(&object)
        .output()
        .expect("sh4-linux-gnu-as is missing: run `cargo xtask setup`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut ld = Command::new("sh4-linux-gnu-ld");
    ld.arg("-L").arg(link_dir()).arg("-T").arg(script);
    for d in defsyms {
        ld.arg(format!("--defsym={d}"));
    }
    let out = ld.arg(&object).arg("-o").arg(dir.join("out.elf")).output().unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

#[test]
#[ignore = "needs sh4-linux-gnu-ld: cargo xtask test"]
fn good_layouts_link_and_bad_ones_fail_with_a_sentence() {
    let module =
        ["_wasm_data_start=0x400", "_wasm_data_end=0x2000", "_wasm_bss_end=0x3000", "_wasm_heap_base=0x3000"];
    link("dreamcast.ld", &[]).unwrap();
    link("r2d.ld", &module).unwrap();
    link("dreamcast.ld", &module).unwrap();
    // A mistake in the image's own settings is an ERROR; an invariant of the build's is a BUG.
    let expect_as = |kind: &str, script: &str, defsyms: &[&str], message: &str| {
        let err = link(script, defsyms).unwrap_err();
        assert!(err.contains(&format!("{kind}(flight-platform-dreamcast): {message}")), "{defsyms:?}: {err}");
    };
    let expect = |script: &str, defsyms: &[&str], message: &str| expect_as("ERROR", script, defsyms, message);
    expect("dreamcast.ld", &["_stack_size=0x1000"], "_stack_size is below 64 KiB");
    expect(
        "dreamcast.ld",
        &["_stack_size=0x1000000"],
        "the image, .bss and the stacks run past the end of main RAM",
    );
    expect("dreamcast.ld", &["_stack_size=0xFE0000"], "no room is left for the WebAssembly arena");
    expect(
        "dreamcast.ld",
        &["_stack_size=0x10004"],
        "the stacks' sizes and _stack_top must be multiples of 8",
    );
    expect("dreamcast.ld", &["_wasm_stack_size=0x1008"], "_wasm_stack_size must be a multiple of 16");
    expect_as(
        "BUG",
        "dreamcast.ld",
        &["_wasm_data_start=0x800", "_wasm_data_end=0x400"],
        "the module's data, .bss and heap base are out of order",
    );
    expect_as(
        "BUG",
        "dreamcast.ld",
        &["_wasm_heap_base=0x3004"],
        "the module's heap base must be 8-byte aligned",
    );
    // 16 MiB of module data fits the R2D's arena but not the Dreamcast's.
    let big = ["_wasm_bss_end=0x1000000", "_wasm_heap_base=0x1000000"];
    link("r2d.ld", &big).unwrap();
    expect("dreamcast.ld", &big, "the module's data and its stack do not fit in the WebAssembly arena");
}

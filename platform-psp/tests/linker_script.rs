//! `psp.ld` against the map it restates, and its link-time checks on real links.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use flight_platform_psp::map::USER_RAM_SIZE_1000;

fn link_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("link")
}

fn psp_ld() -> String {
    std::fs::read_to_string(link_dir().join("psp.ld")).unwrap()
}

#[test]
fn the_heap_limit_is_the_user_ram_of_a_psp_1000() {
    let text = psp_ld();
    let key = "__heap_end <= ";
    let rest = &text[text.find(key).expect("psp.ld bounds __heap_end") + key.len()..];
    let digits: String = rest.trim_start_matches("0x").chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(u64::from_str_radix(&digits, 16).unwrap(), USER_RAM_SIZE_1000.get());
    assert!(text.contains(&format!("the {} MiB of user RAM of a PSP-1000", USER_RAM_SIZE_1000.get() >> 20)));
}

/// The sections of a module, by name, with their sizes: what the runtime's assembly emits.
const MODULE: &[(&str, usize)] = &[
    (".rodata.sceModuleInfo", 52),
    (".lib.ent", 16),
    (".lib.stub", 20),
    (".rodata.sceNid", 4),
    (".sceStub.text", 8),
];

/// Links an object holding `sections` (and `module_start`, `module_info`) with rustc's
/// built-in script for `mipsel-sony-psp`, then a script of `overrides`, then `psp.ld`, as a
/// console build does; returns ld.lld's verdict.
fn link(sections: &[(&str, usize)], overrides: &str) -> Result<(), String> {
    link_module(sections, overrides, 4, &console_link_args()).map(drop)
}

/// The linker arguments a console build passes (`targets/psp.toml`).
fn console_link_args() -> Vec<String> {
    let target = flight_targets::Target::load("psp").unwrap();
    target.link_args().into_iter().map(String::from).collect()
}

/// [`link`] with a `.bss` aligned to `bss_align` and these linker arguments; returns the module.
fn link_module(
    sections: &[(&str, usize)],
    overrides: &str,
    bss_align: u64,
    args: &[String],
) -> Result<Vec<u8>, String> {
    use object::write::{Object, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope};

    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Mips, Endianness::Little);
    let symbol = |obj: &mut Object<'_>, name: &str, section, kind| {
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
    };
    let text = obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
    obj.append_section_data(text, &[0; 16], 16);
    symbol(&mut obj, "module_start", text, SymbolKind::Text);
    let rodata = obj.add_section(Vec::new(), b".rodata".to_vec(), SectionKind::ReadOnlyData);
    obj.append_section_data(rodata, &[0; 4], 4);
    let mut info = rodata;
    for &(name, size) in sections {
        let kind = if name.contains("Stub.text") { SectionKind::Text } else { SectionKind::ReadOnlyData };
        let s = obj.add_section(Vec::new(), name.as_bytes().to_vec(), kind);
        obj.append_section_data(s, &vec![0; size], 4);
        if name == ".rodata.sceModuleInfo" {
            info = s;
        }
    }
    symbol(&mut obj, "module_info", info, SymbolKind::Data);
    let bss = obj.add_section(Vec::new(), b".bss".to_vec(), SectionKind::UninitializedData);
    let data = obj.add_section(Vec::new(), b".data".to_vec(), SectionKind::Data);
    obj.append_section_data(data, &[0x5a; 8], 4);
    obj.append_section_bss(bss, 64, bss_align);

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("module.o");
    std::fs::write(&input, obj.write().unwrap()).unwrap();
    let builtin = dir.path().join("builtin.ld");
    std::fs::write(&builtin, rustc_script()).unwrap();
    let first = dir.path().join("overrides.ld");
    std::fs::write(&first, overrides).unwrap();
    let out = Command::new("ld.lld")
        .args(["--emit-relocs", "--nmagic"])
        .args(args)
        .arg("-T")
        .arg(&builtin)
        .arg("-T")
        .arg(&first)
        .arg("-T")
        .arg("psp.ld")
        .arg("-L")
        .arg(link_dir())
        .arg("-L")
        .arg(flight_linker::fragments_dir())
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("module.elf"))
        .output()
        .expect("ld.lld is missing: run `cargo xtask setup`");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(std::fs::read(dir.path().join("module.elf")).unwrap())
}

/// The linker script rustc passes first for `mipsel-sony-psp`, from Debian's compiler.
fn rustc_script() -> String {
    let out = Command::new("/usr/bin/rustc")
        .args(["--print", "target-spec-json", "-Z", "unstable-options", "--target", "mipsel-sony-psp"])
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .expect("/usr/bin/rustc (Debian's rustc-web) is missing: run `cargo xtask setup`");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let value = spec["link-script"].as_str().expect("the target has a built-in script").to_string();
    assert!(value.contains(".rodata.sceModuleInfo"), "{value}");
    value
}

#[test]
#[ignore = "needs ld.lld and Debian's rustc: cargo xtask test"]
fn a_good_module_links_and_bad_ones_fail_with_a_sentence() {
    link(MODULE, "").unwrap();
    link(MODULE, "_heap_size = 16M;").unwrap();
    let err = |sections: &[(&str, usize)], overrides: &str| link(sections, overrides).unwrap_err();
    // The image's own settings: ERROR.
    let e = err(MODULE, "_heap_size = 24M;");
    assert!(
        e.contains("ERROR(flight-platform-psp): the module with its heap is larger than the 24 MiB"),
        "{e}"
    );
    let e = err(MODULE, "_heap_size = 8;");
    assert!(e.contains("ERROR(flight-platform-psp): _heap_size must be a multiple of 16"), "{e}");
    let no_info: Vec<_> = MODULE.iter().copied().filter(|(n, _)| *n != ".rodata.sceModuleInfo").collect();
    let e = err(&no_info, "");
    assert!(
        e.contains("ERROR(flight-platform-psp): the module info must be one 52-byte SceModuleInfo"),
        "{e}"
    );
    // The runtime's own invariants: BUG.
    let with = |name: &str, size: usize| -> Vec<(&str, usize)> {
        MODULE.iter().map(|&(n, s)| if n == name { (n, size) } else { (n, s) }).collect()
    };
    let e = err(&with(".lib.stub", 24), "");
    assert!(e.contains("BUG(flight-platform-psp): import stub entries are 20 bytes each"), "{e}");
    let e = err(&with(".sceStub.text", 16), "");
    assert!(e.contains("BUG(flight-platform-psp): every imported NID needs one 8-byte stub"), "{e}");
    let e = err(&with(".lib.ent", 32), "");
    assert!(e.contains("BUG(flight-platform-psp): the module must export exactly the syslib table"), "{e}");
}

#[test]
#[ignore = "needs ld.lld and Debian's rustc: cargo xtask test"]
fn the_packer_loads_a_console_build_where_it_was_linked() {
    use flight_platform_psp::prx::{PrxError, check_segments};
    // A 1 KiB-aligned .bss (the suite has one) gives the data segment its own alignment.
    let console = link_module(MODULE, "", 1024, &console_link_args()).unwrap();
    check_segments(&console).unwrap();
    // Without the console's flags ld.lld's segments disagree, and the check says so.
    let plain = link_module(MODULE, "", 1024, &[]).unwrap();
    let e = check_segments(&plain).unwrap_err();
    assert!(matches!(e, PrxError::Shifted { .. }), "{e}");
    assert!(e.to_string().contains("link the module as one segment (ld.lld --omagic)"), "{e}");
}

#[test]
fn the_packer_check_refuses_what_is_not_a_module() {
    use flight_platform_psp::prx::{PrxError, check_segments};
    assert!(matches!(check_segments(b"not an ELF"), Err(PrxError::Elf(_))));
}

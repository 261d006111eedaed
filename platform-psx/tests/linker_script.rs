//! The hand-written linker script restates a few numbers of the map; they must agree.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_platform_psx::map::{IMAGE_BASE, MAILBOX, MAILBOX_SIZE, MAIN_RAM, STACK_TOP};

fn memory_x() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/link/memory.x")).unwrap()
}

/// The number after `key` (`ORIGIN =`, ...), in hex.
fn hex_after(text: &str, key: &str) -> u64 {
    let rest = &text[text.find(key).unwrap_or_else(|| panic!("memory.x has no `{key}`")) + key.len()..];
    let digits: String =
        rest.trim_start().trim_start_matches("0x").chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).unwrap()
}

#[test]
fn memory_x_agrees_with_the_map() {
    let text = memory_x();
    let origin = hex_after(&text, "ORIGIN =");
    let length = hex_after(&text, "LENGTH =");
    assert_eq!(origin, IMAGE_BASE);
    assert_eq!(origin + length, MAILBOX, "program RAM runs up to the mailbox");
    assert_eq!(hex_after(&text, "_mailbox ="), MAILBOX);
    assert_eq!(hex_after(&text, "_mailbox_size ="), MAILBOX_SIZE.get());
    let kseg0 = MAIN_RAM.view("kseg0").unwrap().base.get();
    let bios_top = MAIN_RAM.reserved.iter().map(|r| r.span.start().get()).max().unwrap();
    assert_eq!(
        MAILBOX + MAILBOX_SIZE.get(),
        kseg0 + bios_top,
        "the mailbox ends where the BIOS's top part begins"
    );
    assert_eq!(hex_after(&text, "_stack_top ="), STACK_TOP);
}

/// Links a one-function MIPS object with `psx.ld`, after a script holding `overrides` (as an
/// image overrides `_stack_size` or `_stack_top`); returns ld.lld's verdict.
fn link(overrides: &str) -> Result<(), String> {
    use object::write::{Object, StandardSegment, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, Endianness, SectionKind, SymbolFlags, SymbolKind, SymbolScope};

    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Mips, Endianness::Little);
    let text = obj.add_section(
        obj.segment_name(StandardSegment::Text).to_vec(),
        b".text.start".to_vec(),
        SectionKind::Text,
    );
    obj.append_section_data(text, &[0; 64], 4);
    obj.add_symbol(Symbol {
        name: b"_start".to_vec(),
        value: 0,
        size: 64,
        kind: SymbolKind::Text,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(text),
        flags: SymbolFlags::None,
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("start.o");
    std::fs::write(&input, obj.write().unwrap()).unwrap();
    let first = dir.path().join("overrides.ld");
    std::fs::write(&first, overrides).unwrap();
    let out = std::process::Command::new("ld.lld")
        .arg("-T")
        .arg(&first)
        .arg("-T")
        .arg("psx.ld")
        .arg("-L")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/link"))
        .arg("-L")
        .arg(flight_linker::fragments_dir())
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("out.elf"))
        .output()
        .expect("ld.lld is missing: run `cargo xtask setup`");
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

#[test]
#[ignore = "needs ld.lld: cargo xtask test"]
fn a_good_image_links_and_bad_layouts_fail_with_a_sentence() {
    link("").unwrap();
    link("_stack_size = 0x100000;").unwrap();
    let err = link("_stack_size = 0x200000;").unwrap_err();
    assert!(err.contains("ERROR(flight-linker): the image and its stack overlap"), "{err}");
    let err = link("_stack_top = 0x80300000;").unwrap_err();
    assert!(
        err.contains("ERROR(flight-platform-psx): _stack_top lies above the end of program RAM"),
        "{err}"
    );
    let err = link("_stack_size = 0x1001;").unwrap_err();
    assert!(err.contains("_stack_size must be a multiple of 8"), "{err}");
}

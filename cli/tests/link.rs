#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

//! The linker-script fragment `flight plan` writes, linked for real by `ld.lld` (which the
//! set-up installs) into a PSX-style image: every segment's symbols in the linked ELF must be
//! the plan's addresses, and the fragment's assertions must stop a link that breaks the plan.

use std::path::Path;
use std::process::Command;

use object::read::{Object, ObjectSymbol};
use object::write::{Object as ObjectWriter, StandardSection};
use object::{Architecture, BinaryFormat, Endianness};

/// A relocatable MIPS object with four bytes of `.text`: the linker's one input.
fn tiny_object(path: &Path) {
    let mut obj = ObjectWriter::new(BinaryFormat::Elf, Architecture::Mips, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0; 4], 4);
    std::fs::write(path, obj.write().unwrap()).unwrap();
}

fn ld_lld(dir: &Path, script: &str) -> std::process::Output {
    std::fs::write(dir.join("image.ld"), script).unwrap();
    Command::new("ld.lld")
        .current_dir(dir)
        .args(["-T", "image.ld", "input.o", "-o", "image.elf"])
        .output()
        .expect("ld.lld is not installed: run `cargo xtask setup` (Debian package lld)")
}

#[test]
fn the_fragment_links_and_its_symbols_are_the_plan() {
    let dir = std::env::temp_dir().join(format!("flight-link-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_flight"))
        .args(["plan", "--out-dir", "."])
        .current_dir(&dir)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    tiny_object(&dir.join("input.o"));

    // An image below the budget: the fragment's own asserts and the image's check pass.
    let script = "INCLUDE example.ld\nSECTIONS { . = 0x08804000; .text : { *(.text) } }\n\
                  ASSERT(_end <= __flight_budget_main_ram_start, \"the image reaches the plan\")\n\
                  _end = .;\n";
    let out = ld_lld(&dir, script);
    assert!(out.status.success(), "ld.lld: {}", String::from_utf8_lossy(&out.stderr));

    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("example.plan.json")).unwrap()).unwrap();
    let elf = std::fs::read(dir.join("image.elf")).unwrap();
    let file = object::File::parse(&*elf).unwrap();
    let symbol = |name: &str| {
        file.symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let segments = plan["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 5);
    for s in segments {
        let stem = s["name"].as_str().unwrap().replace('-', "_");
        assert_eq!(symbol(&format!("__flight_{stem}_start")), s["cpu_start"].as_u64().unwrap(), "{stem}");
        assert_eq!(symbol(&format!("__flight_{stem}_end")), s["cpu_end"].as_u64().unwrap(), "{stem}");
    }

    // An image that runs into the budget is refused at link time, with the sentence.
    let script = "INCLUDE example.ld\nSECTIONS { . = 0x09000000; .text : { *(.text) } }\n\
                  ASSERT(_end <= __flight_budget_main_ram_start, \"the image reaches the plan\")\n\
                  _end = .;\n";
    let out = ld_lld(&dir, script);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the image reaches the plan"));
    let _ = std::fs::remove_dir_all(&dir);
}

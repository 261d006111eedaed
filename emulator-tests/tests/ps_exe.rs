//! The PS-EXE writer on a real image: the header of the built suite agrees with its ELF.
//!
//! Needs the PSX images (`cargo xtask build --console psx`): ignored by a plain `cargo test`,
//! run by `cargo xtask test`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use flight_platform_psx::exe::{PsExe, REGION_MARKER, SECTOR};
use flight_platform_psx::map::{IMAGE_BASE, STACK_TOP};

fn read(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(rel);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run `cargo xtask build --console psx`", path.display()))
}

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

#[test]
#[ignore = "needs the PSX images: cargo xtask test"]
fn the_suite_image_header_matches_its_elf() {
    let exe = read("target/images/psx/suite.exe");
    let elf = read("target/console/mipsel-sony-psx/release/suite.exe");
    assert_eq!(&exe[..8], b"PS-X EXE");
    assert_eq!(word(&exe, 0x10), IMAGE_BASE as u32, "pc0 is the entry at the load address");
    assert_eq!(word(&exe, 0x18), IMAGE_BASE as u32, "t_addr");
    let t_size = word(&exe, 0x1C) as usize;
    assert_eq!(t_size % SECTOR, 0);
    assert_eq!(exe.len(), SECTOR + t_size, "the file is the header and t_size bytes");
    assert_eq!(word(&exe, 0x30), STACK_TOP as u32, "s_addr is the script's _stack_top");
    assert_eq!(&exe[0x4C..0x4C + REGION_MARKER.len()], REGION_MARKER.as_bytes());

    // The image is the ELF's loadable bytes: compare with a fresh conversion and with .text.
    let again = PsExe::from_elf(&elf).unwrap();
    assert_eq!(again.to_bytes(), exe, "conversion is deterministic");
    assert_ne!(again.gp0, 0, "_gp is recorded");
    let text_offset = 0x10000; // .text's file offset in a 64 KiB-aligned ELF segment
    assert_eq!(
        &exe[SECTOR..SECTOR + 64],
        &elf[text_offset..text_offset + 64],
        "the image starts with _start"
    );
    let parsed = PsExe::parse(&exe).unwrap();
    assert_eq!((parsed.pc0, parsed.t_addr, parsed.s_addr), (again.pc0, again.t_addr, again.s_addr));
}

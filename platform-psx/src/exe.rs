//! The PS-EXE format: what the BIOS (or an emulator's loader) boots.
//!
//! A PS-EXE is a 2048-byte header followed by one flat image that the loader copies to
//! `t_addr`, padded to a multiple of 2048 bytes:
//!
//! | offset | field | value written here |
//! |---|---|---|
//! | 0x00 | magic | `PS-X EXE` |
//! | 0x10 | `pc0` | the ELF entry point |
//! | 0x14 | `gp0` | the ELF's `_gp` symbol, or 0 |
//! | 0x18 | `t_addr` | the lowest loaded address |
//! | 0x1C | `t_size` | the image size, a multiple of 2048 |
//! | 0x30 | `s_addr` | the ELF's `_stack_top`, or [`STACK_TOP`] |
//! | 0x34 | `s_size` | 0 |
//! | 0x4C | region marker | the North America licence text |
//!
//! [`PsExe::from_elf`] reads a linked 32-bit little-endian MIPS ELF with the `object` crate,
//! lays its loadable segments (file contents only: `.bss` is cleared by the start-up code) into
//! one image and checks that it fits in the part of main RAM the BIOS leaves to programs.

use std::fmt;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use object::elf;
use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSymbol};

use crate::map::{IMAGE_BASE, STACK_TOP};

/// The size of the header, and the unit the image is padded to.
pub const SECTOR: usize = 2048;
/// The magic at offset 0.
pub const MAGIC: &[u8; 8] = b"PS-X EXE";
/// The region marker written at 0x4C.
pub const REGION_MARKER: &str = "Sony Computer Entertainment Inc. for North America area";

/// A PS-EXE: header fields and the flat image.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PsExe {
    /// The entry point.
    pub pc0: u32,
    /// The initial `$gp`.
    pub gp0: u32,
    /// Where the image is loaded.
    pub t_addr: u32,
    /// The initial stack pointer.
    pub s_addr: u32,
    /// The image, unpadded.
    pub image: Vec<u8>,
}

/// What is wrong with an ELF or a PS-EXE.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ExeError {
    /// The ELF could not be read.
    Elf(String),
    /// The ELF is not a 32-bit little-endian MIPS executable.
    NotMipsel(String),
    /// The ELF has no loadable bytes.
    NoLoadableSegment,
    /// The loaded image does not fit where the BIOS lets programs live.
    OutsideProgramRam {
        /// First loaded address.
        start: u64,
        /// One past the last loaded address.
        end: u64,
    },
    /// The entry point is not inside the loaded image.
    EntryOutsideImage {
        /// The entry point.
        entry: u64,
    },
    /// A PS-EXE is shorter than its header says, or its header is damaged.
    Corrupt(String),
}

impl fmt::Display for ExeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "cannot read the ELF file: {e}"),
            Self::NotMipsel(what) => {
                write!(f, "not a 32-bit little-endian MIPS executable: {what}")
            }
            Self::NoLoadableSegment => f.write_str("the ELF file has no loadable segment with contents"),
            Self::OutsideProgramRam { start, end } => write!(
                f,
                "the image occupies {start:#010x}..{end:#010x}, outside program RAM {IMAGE_BASE:#010x}..{STACK_TOP:#010x}"
            ),
            Self::EntryOutsideImage { entry } => {
                write!(f, "the entry point {entry:#010x} is not inside the loaded image")
            }
            Self::Corrupt(why) => write!(f, "corrupt PS-EXE: {why}"),
        }
    }
}

impl std::error::Error for ExeError {}

impl PsExe {
    /// Builds a PS-EXE from a linked ELF file.
    pub fn from_elf(data: &[u8]) -> Result<Self, ExeError> {
        let file = ElfFile32::<Endianness>::parse(data).map_err(|e| match e.to_string() {
            s if s.contains("class") || s.contains("Unsupported") => ExeError::NotMipsel(s),
            s => ExeError::Elf(s),
        })?;
        let header = file.elf_header();
        let endian = file.endian();
        if header.e_machine(endian) != elf::EM_MIPS {
            return Err(ExeError::NotMipsel(format!("machine {}", header.e_machine(endian))));
        }
        if !file.is_little_endian() {
            return Err(ExeError::NotMipsel("big-endian".into()));
        }
        let mut segments = Vec::new();
        for ph in file.elf_program_headers() {
            if ph.p_type(endian) != elf::PT_LOAD || ph.p_filesz(endian) == 0 {
                continue;
            }
            let bytes = ph.data(endian, data).map_err(|()| {
                ExeError::Elf(format!("segment at {:#010x} lies outside the file", ph.p_vaddr(endian)))
            })?;
            segments.push((u64::from(ph.p_vaddr(endian)), bytes));
        }
        let start = segments.iter().map(|s| s.0).min().ok_or(ExeError::NoLoadableSegment)?;
        let end = segments.iter().map(|s| s.0 + s.1.len() as u64).max().unwrap_or(start);
        if start < IMAGE_BASE || end > STACK_TOP {
            return Err(ExeError::OutsideProgramRam { start, end });
        }
        let mut image = vec![0u8; (end - start) as usize];
        for (addr, bytes) in segments {
            let at = (addr - start) as usize;
            image[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let entry = file.entry();
        if !(start..end).contains(&entry) {
            return Err(ExeError::EntryOutsideImage { entry });
        }
        let symbol = |name: &str| file.symbols().find(|s| s.name() == Ok(name)).map(|s| s.address() as u32);
        Ok(Self {
            pc0: entry as u32,
            gp0: symbol("_gp").unwrap_or(0),
            t_addr: start as u32,
            s_addr: symbol("_stack_top").unwrap_or(STACK_TOP as u32),
            image,
        })
    }

    /// The image size as the header records it: padded to [`SECTOR`].
    pub fn t_size(&self) -> u32 {
        self.image.len().div_ceil(SECTOR).max(1) as u32 * SECTOR as u32
    }

    /// The file: header, image, padding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let t_size = self.t_size() as usize;
        let mut out = vec![0u8; SECTOR + t_size];
        out[..8].copy_from_slice(MAGIC);
        for (at, value) in [
            (0x10, self.pc0),
            (0x14, self.gp0),
            (0x18, self.t_addr),
            (0x1C, t_size as u32),
            (0x30, self.s_addr),
        ] {
            out[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        out[0x4C..0x4C + REGION_MARKER.len()].copy_from_slice(REGION_MARKER.as_bytes());
        out[SECTOR..SECTOR + self.image.len()].copy_from_slice(&self.image);
        out
    }

    /// Reads a PS-EXE file back (the image keeps its padding).
    pub fn parse(data: &[u8]) -> Result<Self, ExeError> {
        if data.len() < SECTOR {
            return Err(ExeError::Corrupt(format!(
                "{} bytes, shorter than the 2048-byte header",
                data.len()
            )));
        }
        if &data[..8] != MAGIC {
            return Err(ExeError::Corrupt("no `PS-X EXE` magic at offset 0".into()));
        }
        let word = |at: usize| u32::from_le_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let t_size = word(0x1C) as usize;
        if !t_size.is_multiple_of(SECTOR) {
            return Err(ExeError::Corrupt(format!("t_size {t_size:#x} (at 0x1C) is not a multiple of 2048")));
        }
        let Some(image) = data.get(SECTOR..SECTOR + t_size) else {
            return Err(ExeError::Corrupt(format!(
                "t_size {t_size:#x} (at 0x1C) promises more than the {} bytes after the header",
                data.len() - SECTOR
            )));
        };
        Ok(Self {
            pc0: word(0x10),
            gp0: word(0x14),
            t_addr: word(0x18),
            s_addr: word(0x30),
            image: image.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::write::{Object as WriteObject, StandardSegment, Symbol, SymbolSection};
    use object::{Architecture, BinaryFormat, SectionKind, SymbolFlags, SymbolKind, SymbolScope};

    /// A relocatable MIPS object is not an executable; the writer must refuse it clearly.
    fn relocatable() -> Vec<u8> {
        let mut obj = WriteObject::new(BinaryFormat::Elf, Architecture::Mips, object::Endianness::Little);
        let text = obj.add_section(
            obj.segment_name(StandardSegment::Text).to_vec(),
            b".text".to_vec(),
            SectionKind::Text,
        );
        obj.append_section_data(text, &[0; 16], 4);
        obj.add_symbol(Symbol {
            name: b"_start".to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Text,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Section(text),
            flags: SymbolFlags::None,
        });
        obj.write().unwrap()
    }

    #[test]
    fn an_object_without_loadable_segments_is_refused() {
        assert_eq!(PsExe::from_elf(&relocatable()), Err(ExeError::NoLoadableSegment));
    }

    #[test]
    fn garbage_and_other_machines_are_refused_with_a_reason() {
        assert!(matches!(PsExe::from_elf(b"not an elf at all"), Err(ExeError::Elf(_))));
        let mut obj = WriteObject::new(BinaryFormat::Elf, Architecture::X86_64, object::Endianness::Little);
        obj.add_section(Vec::new(), b".text".to_vec(), SectionKind::Text);
        let err = PsExe::from_elf(&obj.write().unwrap()).unwrap_err();
        assert!(matches!(err, ExeError::NotMipsel(_)), "{err}");
    }

    #[test]
    fn header_round_trips_and_pads_to_sectors() {
        let exe = PsExe {
            pc0: 0x8001_0000,
            gp0: 0x8001_8000,
            t_addr: 0x8001_0000,
            s_addr: 0x801F_FF00,
            image: vec![1, 2, 3],
        };
        let bytes = exe.to_bytes();
        assert_eq!(bytes.len(), 2 * SECTOR);
        assert_eq!(&bytes[..8], b"PS-X EXE");
        assert_eq!(&bytes[0x1C..0x20], &2048u32.to_le_bytes());
        assert_eq!(&bytes[0x4C..0x4C + REGION_MARKER.len()], REGION_MARKER.as_bytes());
        let back = PsExe::parse(&bytes).unwrap();
        assert_eq!(
            (back.pc0, back.gp0, back.t_addr, back.s_addr),
            (exe.pc0, exe.gp0, exe.t_addr, exe.s_addr)
        );
        assert_eq!(&back.image[..3], &[1, 2, 3]);
    }

    #[test]
    fn corrupt_files_say_what_is_wrong() {
        let exe = PsExe { pc0: 0x8001_0000, gp0: 0, t_addr: 0x8001_0000, s_addr: 0, image: vec![0; 10] };
        let mut bytes = exe.to_bytes();
        bytes.truncate(3000);
        let err = PsExe::parse(&bytes).unwrap_err().to_string();
        assert!(err.contains("t_size 0x800 (at 0x1C) promises more"), "{err}");
        assert!(PsExe::parse(&[0; 100]).unwrap_err().to_string().contains("shorter than"));
        let mut bad = exe.to_bytes();
        bad[0] = b'X';
        assert!(PsExe::parse(&bad).unwrap_err().to_string().contains("magic"));
    }
}

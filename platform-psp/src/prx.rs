//! What the PRX packer needs of a linked module, checked before it runs.
//!
//! `prxgen` (from `cargo-psp`) turns the linked ELF into the PRX the kernel loads. It merges
//! every `LOAD` segment into one, which it describes as the file bytes from the first segment's
//! offset on, loaded from address 0. That is only right when every segment keeps the first one's
//! file-offset-to-address delta. ld.lld, with `--nmagic` (rustc's setting for the target), aligns
//! each segment's file offset to the segment's own alignment, so a later segment more aligned
//! than the first (a 1 KiB-aligned `.bss` is enough) gets another delta, and its bytes load
//! shifted: `.data` lands over the start of `.bss`, and the code reads something else.
//! `--omagic` links one segment, which is what `targets/psp.toml` passes; [`check_segments`]
//! refuses a module that would load shifted, whoever linked it.

use std::fmt;
use std::format;
use std::string::String;

use object::elf;
use object::read::elf::{ElfFile32, FileHeader, ProgramHeader};
use object::{Endianness, Object};

/// Why a linked module cannot be packed as a PRX.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum PrxError {
    /// The file is not a 32-bit little-endian MIPS ELF.
    Elf(String),
    /// The module has no `LOAD` segment.
    NoLoadSegment,
    /// The first `LOAD` segment does not start at address 0, where a PRX's image starts.
    FirstSegmentNotAtZero {
        /// Its address.
        vaddr: u32,
    },
    /// A later segment's file-offset-to-address delta differs from the first segment's: the
    /// packer would load it `shift` bytes away from where the code expects it.
    Shifted {
        /// The segment's index among the program headers.
        index: usize,
        /// Its address.
        vaddr: u32,
        /// Its offset in the file.
        offset: u32,
        /// The first segment's delta (file offset minus address).
        first_delta: u32,
    },
}

impl fmt::Display for PrxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Elf(e) => write!(f, "not a 32-bit little-endian MIPS ELF: {e}"),
            Self::NoLoadSegment => f.write_str("the module has no LOAD segment"),
            Self::FirstSegmentNotAtZero { vaddr } => {
                write!(f, "the first LOAD segment starts at {vaddr:#x}, not at 0 as a PRX's image does")
            }
            Self::Shifted { index, vaddr, offset, first_delta } => write!(
                f,
                "LOAD segment {index} (address {vaddr:#x}) is at file offset {offset:#x}: the PRX packer \
                 would load it at {:#x} (the first segment's offset-to-address delta is {first_delta:#x}); \
                 link the module as one segment (ld.lld --omagic)",
                offset.wrapping_sub(*first_delta)
            ),
        }
    }
}

impl std::error::Error for PrxError {}

/// Checks that every `LOAD` segment of the linked module `data` loads where it was linked once
/// the packer has merged them.
pub fn check_segments(data: &[u8]) -> Result<(), PrxError> {
    let file = ElfFile32::<Endianness>::parse(data).map_err(|e| PrxError::Elf(format!("{e}")))?;
    let endian = file.endian();
    if file.elf_header().e_machine(endian) != elf::EM_MIPS || !file.is_little_endian() {
        return Err(PrxError::Elf(format!("machine {}", file.elf_header().e_machine(endian))));
    }
    let mut loads =
        file.elf_program_headers().iter().enumerate().filter(|(_, ph)| ph.p_type(endian) == elf::PT_LOAD);
    let (_, first) = loads.next().ok_or(PrxError::NoLoadSegment)?;
    if first.p_vaddr(endian) != 0 {
        return Err(PrxError::FirstSegmentNotAtZero { vaddr: first.p_vaddr(endian) });
    }
    let first_delta = first.p_offset(endian);
    for (index, ph) in loads {
        let (vaddr, offset) = (ph.p_vaddr(endian), ph.p_offset(endian));
        if offset.wrapping_sub(vaddr) != first_delta {
            return Err(PrxError::Shifted { index, vaddr, offset, first_delta });
        }
    }
    Ok(())
}

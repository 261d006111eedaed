//! What can go wrong: every error names the place in the module it is about (the function and
//! the byte offset, as `wasm-objdump -d` and wasmparser count them) where there is one.

use std::fmt;

/// A module the rebaser cannot analyse or cannot move into the segment it was given.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid WebAssembly module: wasmparser's message, at `offset`.
    Malformed {
        /// The function the offset lies in, if it lies in a function body.
        function: Option<u32>,
        /// The byte offset in the module.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A component (component model), not a core module.
    Component,
    /// The module has no linear memory to move.
    NoMemory,
    /// The module has several memories; a segment holds one.
    SeveralMemories {
        /// How many it has.
        count: u32,
    },
    /// The module's memory is 64-bit; the consoles' memories are addressed with 32 bits.
    Memory64 {
        /// Where the memory is declared.
        offset: u64,
    },
    /// The memory's page size is not 64 KiB (custom-page-sizes proposal).
    PageSize {
        /// Where the memory is declared.
        offset: u64,
    },
    /// The memory's initial size does not fit the segment.
    InitialTooLarge {
        /// The module's initial pages.
        pages: u64,
        /// The segment's size in bytes.
        segment: u64,
    },
    /// The memory's declared maximum does not fit the segment.
    MaximumTooLarge {
        /// The module's maximum pages.
        pages: u64,
        /// The segment's size in bytes.
        segment: u64,
    },
    /// An active data segment lies (partly) outside the module's initial memory, so it does not
    /// fit the segment either (instantiating the original module would fail too).
    DataOutOfBounds {
        /// The data segment's index.
        segment: u32,
        /// Where the segment is in the module.
        offset: u64,
        /// The address it is written at.
        address: u64,
        /// Its length in bytes.
        len: u64,
        /// The module's initial memory in bytes.
        memory: u64,
    },
    /// An active data segment's address is not an `i32.const` (a `global.get`, as in
    /// position-independent code), so the rebaser cannot place it.
    DataAddressNotConstant {
        /// The data segment's index.
        segment: u32,
        /// Where the segment is in the module.
        offset: u64,
    },
    /// `memory.grow` on a shared memory: the segment's page count lives in a global of each
    /// instance, which the threads of a shared memory would not share.
    SharedMemoryGrow {
        /// The function with the instruction.
        function: u32,
        /// The instruction's byte offset.
        offset: u64,
    },
    /// Adding the check's scratch locals would take the function past WebAssembly's limit on
    /// locals.
    TooManyLocals {
        /// The function.
        function: u32,
    },
    /// The options do not describe a usable segment.
    Options(String),
    /// Something went wrong with one of the modules being merged.
    Module {
        /// The component's name.
        module: String,
        /// What.
        error: Box<Error>,
    },
    /// Two modules' segments overlap.
    Overlap {
        /// One component.
        first: String,
        /// Its segment `[start, end)` (with a masked module's tail).
        first_segment: (u64, u64),
        /// The other.
        second: String,
        /// Its segment.
        second_segment: (u64, u64),
    },
    /// The modules cannot be merged (no modules, two with one name, a plan without a component,
    /// a memory too small for the segments).
    Merge(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { function: Some(func), offset, message } => {
                write!(f, "invalid module: function {func} at offset {offset:#x}: {message}")
            }
            Self::Malformed { function: None, offset, message } => {
                write!(f, "invalid module: at offset {offset:#x}: {message}")
            }
            Self::Component => f.write_str("a component, not a core module: rebase its core modules"),
            Self::NoMemory => f.write_str("the module has no memory (neither defined nor imported)"),
            Self::SeveralMemories { count } => {
                write!(f, "the module has {count} memories; a segment holds exactly one")
            }
            Self::Memory64 { offset } => {
                write!(f, "at offset {offset:#x}: a 64-bit memory; only 32-bit memories can be rebased")
            }
            Self::PageSize { offset } => {
                write!(f, "at offset {offset:#x}: a memory with a custom page size; only 64 KiB pages")
            }
            Self::InitialTooLarge { pages, segment } => write!(
                f,
                "the memory's initial size ({pages} pages, {} bytes) does not fit the segment ({segment} bytes)",
                pages * crate::PAGE
            ),
            Self::MaximumTooLarge { pages, segment } => write!(
                f,
                "the memory's maximum ({pages} pages, {} bytes) does not fit the segment ({segment} bytes)",
                pages.saturating_mul(crate::PAGE)
            ),
            Self::DataOutOfBounds { segment, offset, address, len, memory } => write!(
                f,
                "data segment {segment} at offset {offset:#x}: bytes [{address:#x}, {:#x}) lie outside \
                 the module's initial memory of {memory:#x} bytes",
                address + len
            ),
            Self::DataAddressNotConstant { segment, offset } => write!(
                f,
                "data segment {segment} at offset {offset:#x}: its address is not an i32.const \
                 (position-independent modules are not supported)"
            ),
            Self::SharedMemoryGrow { function, offset } => write!(
                f,
                "function {function} at offset {offset:#x}: memory.grow on a shared memory: the \
                 segment's page count would not be shared between threads"
            ),
            Self::TooManyLocals { function } => {
                write!(f, "function {function}: too many locals to add the bounds checks' scratch locals")
            }
            Self::Options(message) => write!(f, "bad segment: {message}"),
            Self::Module { module, error } => write!(f, "module `{module}`: {error}"),
            Self::Overlap { first, first_segment: (a, b), second, second_segment: (c, d) } => write!(
                f,
                "the segments of `{first}` [{a:#x}, {b:#x}) and `{second}` [{c:#x}, {d:#x}) overlap"
            ),
            Self::Merge(message) => write!(f, "cannot merge: {message}"),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A wasmparser error at its offset, placed in `function` if it is known.
    pub(crate) fn parse(e: &wasmparser::BinaryReaderError, function: Option<u32>) -> Self {
        Self::Malformed { function, offset: e.offset(), message: e.message().to_string() }
    }
}

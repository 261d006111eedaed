//! Rebasing WebAssembly modules: a module's linear memory moved into a segment
//! `[base, base + size)` of a larger memory, so that several modules can share one console
//! memory, each in its own segment.
//!
//! A module compiled to WebAssembly assumes its memory starts at address 0. [`rebase`] rewrites
//! it so that every byte it touches lies `base` bytes further on, and (with bounds checks) so
//! that nothing it does reaches outside its segment.
//!
//! ```text
//!  the whole memory (several components)
//!  +-----------+-----------------------------------------+------------------+
//!  |  others   | segment: module address 0 ... size      |      others      |
//!  +-----------+-----------------------------------------+------------------+
//!  0           base                                      base + size
//!              |<- pages in use ->|<- room to grow ->|
//! ```
//!
//! # How
//!
//! - **Accesses move through the memarg offset.** A load's or store's effective address is
//!   `address + offset`, computed without wrap-around (33 bits) and trapping past the memory's
//!   end. Adding `base` to every instruction's static offset moves every access, direct or
//!   indirect, with one immediate changed and no extra instruction: loads and stores of every
//!   width, sign- and zero-extending loads, SIMD loads and stores (lanes, splats, `load*_zero`,
//!   `load8x8`), and atomics (loads, stores, read-modify-writes, `cmpxchg`, `wait`, `notify`).
//!   Alignment hints are kept (the base is a multiple of 64 KiB, so alignment is unchanged).
//!   Pointers stored in memory stay module-relative: the base is applied at the access, so stack
//!   and heap pointers, vtables and strings keep working. An access whose offset plus base
//!   lies past 4 GiB can only trap and becomes `unreachable`.
//! - **Active data segments** are written `base` bytes further on; passive ones are unchanged
//!   (the destination of `memory.init` is rebased instead).
//! - **`memory.size` and `memory.grow`** see the segment, not the whole memory: a module that
//!   grows its memory gets a mutable global with its page count (initially its initial pages),
//!   `memory.size` reads it, and `memory.grow` calls a helper that grows the count only within
//!   the segment (and within a declared maximum) and returns the old count, or -1 as a failing
//!   `memory.grow` does (a second global keeps the size in bytes for the checks). The whole
//!   memory itself is never grown by a component. A module that never grows its memory gets
//!   `i32.const INITIAL` for `memory.size`.
//! - **Bulk instructions** take addresses on the stack: each `memory.copy`, `memory.fill` and
//!   `memory.init` becomes a call to a helper that checks the ranges against the module's
//!   memory (whatever the options: one check per call, not per byte, keeps the original's trap
//!   and stops a range from wrapping around 4 GiB into another segment), adds the base and runs
//!   the instruction. `data.drop` is unchanged.
//! - **Bounds checks** ([`RewriteOptions::bounds_checks`]): before each access, a test that
//!   `address + offset + size` (unsigned, without wrap-around) is at most the module's current
//!   memory in bytes; otherwise a call to a helper that records why and where in the trap
//!   global and traps (see *Trap reports* below). The limit is the module's memory, its page count
//!   times 64 KiB, never more than the segment, so a rebased module traps exactly where the
//!   original would, and never touches a byte outside `[base, base + pages * 64 KiB)` or its
//!   shared regions. A module that never grows its memory has a constant limit, and the test is
//!   `address > limit - offset - size` in 32 bits with the bound computed at rebase time (no
//!   addition at run time, so nothing to overflow): `local.tee`, `i32.const`, `i32.gt_u`, `if`,
//!   `end`, `local.get` around the access, one untaken branch. A module that grows its memory
//!   keeps its size in bytes in an `i64` global and the test is
//!   `(u64) address + (offset + size) > bytes` in 64 bits (no 32-bit overflow hole): three
//!   more instructions. A store (or any
//!   access with operands above the address) also sets its operands aside in scratch locals
//!   and takes them back: two instructions per operand. An access whose address is a constant
//!   (pushed just before it) and that lies within the initial memory or a shared region is
//!   proven at rebase time and gets no check; one that can never be in the module's memory traps
//!   (or goes to the shared regions) without a test.
//! - **Masking** ([`RewriteOptions::masking`]), instead of bounds checks: in a segment whose
//!   size `S` is a power of two and whose base is a multiple of `S`, each access's address
//!   becomes `(address + offset) & (S - 1)` (`i32.const offset`, `i32.add`, `i32.const S-1`,
//!   `i32.and`) and its static offset the base; when the offset and the access's size add up
//!   to at most [`MASK_TAIL`] (a field of a structure, say), only the address is masked
//!   (`i32.const S-1`, `i32.and`) and the static offset becomes `base + offset`, so that a
//!   compiler masks a pointer once for all its fields. No branch: an access within the
//!   module's memory is unchanged, and one past it (or wrapping around 4 GiB) lands in the
//!   module's own segment or in the [`MASK_TAIL`] bytes after it, which the layout keeps
//!   free, never in another's. An access whose offset and
//!   size alone pass the segment can only trap in the original, and becomes `unreachable`;
//!   one whose constant address lies in the segment keeps its plain offset. Operands above the
//!   address are set aside as for the checks. Bulk instructions still check their ranges (and
//!   trap), and shared regions are refused: a mask reaches nothing outside the segment.
//! - **Shared regions** ([`Options::shared`]): absolute ranges the module may also touch. Since
//!   accesses only add `base`, a module reaches absolute address `A` at module address `A - base`,
//!   so a shared region must lie at or above the base (beyond the segment, or inside it: a
//!   layout places shared regions above the segments of the components that use them). A
//!   component learns the module address of its shared region from its host, typically as an
//!   imported immutable `i32` global (`(import "env" "shared.NAME" (global i32))`) that the host
//!   sets to `start - base`; the rebaser does not rewrite that import, it only allows the range
//!   in the checks ([`Relocations::shared`] lists the module addresses). An access outside the
//!   module's own memory then calls a helper that tests the shared ranges before trapping. Each
//!   region has an access ([`SharedAccess`]): a module that may only read one traps on a write
//!   there ([`TrapKind::ReadOnlyWrite`]), by a store, an atomic read-modify-write or a bulk
//!   instruction, and a constant store there is never proven.
//! - **Trap reports**: a checked module (bounds checks on and a memory access to check, or a
//!   bulk instruction) gets a mutable `i64` global exported as [`TRAP_EXPORT`]. Every check
//!   that stops the module first writes there the [`TrapKind`] (read, write, write to a
//!   read-only region) and the absolute address of the first byte the access would have
//!   touched, then traps; a trap of the module's own (`unreachable`, a division by zero, a
//!   call stack exhausted) leaves it 0. A runtime reads it after a trap
//!   ([`TrapKind::decode`]), prints why and where, and sets it back to 0. The report costs
//!   nothing on the path that passes: the untaken branch's code is the same size, the call
//!   lives in the branch.
//!
//! The module is copied, not re-encoded: sections that do not change are copied as they are,
//! and in function bodies the bytes between changed instructions too; only the changed
//! instructions (and checks) are encoded anew. The added globals, types and functions come
//! after the module's own, so no index moves: the name section, the exports and the element
//! segments stay right. Custom sections that hold code offsets (DWARF `.debug_*`,
//! `sourceMappingURL`, `external_debug_info`, code metadata such as branch hints, `linking`
//! and `reloc.*`) would be
//! stale: they are left out, and listed as dropped in [`Relocations`]. The code section's size
//! is written as a five-byte LEB128 (a padded encoding, which the format allows), so that it
//! is written once.
//!
//! # Speed
//!
//! Function bodies are read by a decoder of the instructions compilers emit most, which
//! hands everything else (and anything unusual: long encodings, memory indices, the end of the
//! bytes) to wasmparser, so that what it accepts and what it finds are wasmparser's; a test
//! compares the two on generated and damaged bodies. Validation, on by default
//! ([`RewriteOptions::validate`]), is wasmparser's validator, which costs more than all the rest. A
//! module of at least 256 KiB is validated beside its reading and rewriting (and a validation
//! error comes first); function bodies, when they add up to 256 KiB, are validated, read and
//! rewritten on several threads ([`RewriteOptions::threads`]), with the same output as on one.
//!
//! # What the host does
//!
//! The output declares (or imports) one memory of [`Options::memory_pages`] pages, by default
//! just enough for the segment and the shared regions. The host zeroes the segment before it
//! instantiates a module (a fresh WebAssembly memory is zero; a reused segment is not), and does
//! not grow the memory for a component.
//!
//! # Analysis
//!
//! [`analyse`] validates a module and lists what it does with memory: every access (function,
//! byte offset, instruction, direct or indirect, static offset, alignment, size), every
//! `memory.size`, `memory.grow` and bulk instruction, every data segment. [`rebase`] returns
//! [`Relocations`]: every change at the input's offsets, and the globals and functions added,
//! as JSON or as a listing, with [`Counts`] of each kind of change. Listing every change costs
//! time and memory on a large module; with [`RewriteOptions::relocation_entries`] off, the changes are
//! only counted.
//!
//! # Not supported
//!
//! Several memories, 64-bit memories, custom page sizes, data segments placed by `global.get`
//! or by an extended constant expression (position-independent modules), and `memory.grow` on
//! a shared memory (the page count would live in each thread's instance) are errors
//! ([`Error`]). So is a declared maximum larger than the segment, unless
//! [`RewriteOptions::clamp_maximum`] accepts it. Without bounds checks the rebased module is only
//! equivalent to the original for accesses the original does not trap on: an access past its
//! memory lands in the rest of the segment, or past it. Relocatable object files are rebased as
//! modules, without their `linking` and `reloc.*` sections, whose offsets would be stale: link
//! first.
//!
//! # Merging
//!
//! A rebased module is a complete module over the whole memory; everything added (globals,
//! types, helpers) comes after the module's own items and is listed in [`Relocations`].
//! [`merge()`] rebases several modules into their segments and links them into one module with
//! one memory (index spaces concatenated, identical imports shared, conflicting exports
//! renamed, start functions chained); [`merge::separate`] writes them separately, each
//! importing the one memory as `env.memory`. See [`merge`](mod@merge).
//!
//! # Example
//!
//! ```
//! let wasm = wat::parse_str(r#"(module (memory 1)
//!     (func (export "get") (param i32) (result i32) local.get 0 i32.load offset=8))"#).unwrap();
//! let options = flight_rebase::Options::new(0x10000, 0x20000).with_bounds_checks(true);
//! let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
//! assert_eq!(relocs.entries.len(), 2); // the memory's declaration and the load
//! let analysis = flight_rebase::analyse(&rebased).unwrap();
//! assert_eq!(analysis.accesses[0].static_offset, 0x10008);
//! ```

mod access;
mod analysis;
mod decode;
mod error;
pub mod merge;
mod relocs;
mod renumber;
mod rewrite;
mod threads;

use std::ops::Range;

pub use access::AccessKind;
pub use analysis::{Access, Analysis, Bulk, DataMode, DataSegment, Memory, Site, analyse};
pub use error::Error;
pub use flight_memory::layout::MASK_TAIL;
pub use flight_memory::layout::trap::{TRAP_EXPORT, TrapKind};
pub use merge::{MergeOptions, Merged, merge};
pub use relocs::{Counts, Helper, Relocation, RelocationKind, Relocations};

/// The size of a WebAssembly page in bytes (the layout engine's
/// [`WASM_PAGE`](flight_memory::layout::WASM_PAGE)): segments are whole pages.
pub const PAGE: u64 = flight_memory::layout::WASM_PAGE.get();

/// The WebAssembly features the rebaser reads, validates and writes: WebAssembly 3.0 (threads,
/// SIMD, relaxed SIMD, bulk memory, reference types, multi-value, tail calls, exceptions, GC,
/// extended constants; memory64 and multi-memory are read to be rejected with a clear error)
/// and wide arithmetic. Outputs validate with these features.
pub const FEATURES: wasmparser::WasmFeatures =
    wasmparser::WasmFeatures::WASM3.union(wasmparser::WasmFeatures::WIDE_ARITHMETIC);

/// How a module is rewritten, wherever it goes: what a single rebase ([`Options`]) and a merge
/// of several modules ([`MergeOptions`]) share.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RewriteOptions {
    /// Check every access that is not proven in bounds at rebase time (see the crate's docs).
    pub bounds_checks: bool,
    /// Confine every access by masking its address into the segment instead (see *Masking*
    /// in the crate's docs): no branch per access, and an access past the module's memory
    /// lands inside its own segment (or the tail after it) rather than trapping; the bulk
    /// instructions still check their ranges. The segment's size must be a power of
    /// two and its base a multiple of it, with the [`MASK_TAIL`] bytes after it kept free,
    /// and the module may have no shared regions. Not with `bounds_checks`.
    pub masking: bool,
    /// Accept a declared maximum larger than the segment and treat the segment as the maximum
    /// (`memory.grow` fails past it). Off: such a module is an error
    /// ([`Error::MaximumTooLarge`]), as its author asked for more than the segment gives.
    /// Emscripten declares 2 or 4 GiB for any module that may grow.
    pub clamp_maximum: bool,
    /// Validate the module before rewriting it (on by default). Off, a module wasmparser cannot
    /// read is still an error, but one that reads well and breaks a typing rule is rewritten
    /// as it is, into a module that fails validation where the engine loads it. Validation
    /// costs several times the rewrite: turn it off for modules already validated, such as a
    /// build's own compiler output.
    pub validate: bool,
    /// List every change in [`Relocations::entries`] (on by default). Off, the entries are
    /// left empty (the rest of the table is filled, [`Relocations::counts`] included): the
    /// rewrite of a large module then spends neither time nor memory on a list nobody reads.
    pub relocation_entries: bool,
    /// The most threads to validate, read and write function bodies on (when they add up to at
    /// least 256 KiB), up to 64; `0`, the default: as many as the machine runs at once, up to
    /// 8. The output is the same whatever the number.
    pub threads: usize,
}

impl Default for RewriteOptions {
    /// Validated, every change listed, no bounds checks or masking, declared maxima not clamped.
    fn default() -> Self {
        Self {
            bounds_checks: false,
            masking: false,
            clamp_maximum: false,
            validate: true,
            relocation_entries: true,
            threads: 0,
        }
    }
}

/// What a module may do in a shared region.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SharedAccess {
    /// Read only: a write there traps ([`TrapKind::ReadOnlyWrite`]).
    Read,
    /// Read and write.
    ReadWrite,
}

impl SharedAccess {
    /// Whether writes are allowed.
    pub fn writable(self) -> bool {
        self == Self::ReadWrite
    }
}

/// A shared region a module may reach: its bytes, and what the module may do there.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize)]
pub struct Shared {
    /// The bytes: absolute in [`Options::shared`], module-relative in
    /// [`Relocations::shared`].
    pub range: Range<u64>,
    /// What the module may do there.
    pub access: SharedAccess,
}

/// Where a module goes and how it is confined.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Options {
    /// The segment's first byte in the whole memory: a multiple of 64 KiB.
    pub base: u64,
    /// The segment's size in bytes: a multiple of 64 KiB, at least the module's initial memory,
    /// and `base + size` at most 4 GiB.
    pub size: u64,
    /// Shared regions: absolute ranges outside the segment the module may also touch, each
    /// with what it may do there; each starts at or above `base`.
    pub shared: Vec<Shared>,
    /// The pages of the whole memory the output declares; `None`: just enough for the segment
    /// and the shared regions.
    pub memory_pages: Option<u64>,
    /// How it is rewritten.
    pub rewrite: RewriteOptions,
}

impl Options {
    /// The segment `[base, base + size)`, without bounds checks or shared regions.
    pub fn new(base: u64, size: u64) -> Self {
        Self { base, size, shared: Vec::new(), memory_pages: None, rewrite: RewriteOptions::default() }
    }

    /// The same, accepting a declared maximum larger than the segment ([`RewriteOptions::clamp_maximum`]).
    pub fn with_clamped_maximum(mut self, on: bool) -> Self {
        self.rewrite.clamp_maximum = on;
        self
    }

    /// The same with validation on or off ([`RewriteOptions::validate`]).
    pub fn with_validation(mut self, on: bool) -> Self {
        self.rewrite.validate = on;
        self
    }

    /// The same with [`RewriteOptions::relocation_entries`] on or off.
    pub fn with_relocation_entries(mut self, on: bool) -> Self {
        self.rewrite.relocation_entries = on;
        self
    }

    /// The same on at most `threads` threads ([`RewriteOptions::threads`]).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.rewrite.threads = threads;
        self
    }

    /// The same with bounds checks on or off.
    pub fn with_bounds_checks(mut self, on: bool) -> Self {
        self.rewrite.bounds_checks = on;
        self
    }

    /// The same with masking on or off ([`RewriteOptions::masking`]).
    pub fn with_masking(mut self, on: bool) -> Self {
        self.rewrite.masking = on;
        self
    }

    /// The same with a shared region `range` (absolute addresses) the module may read and
    /// write.
    pub fn with_shared(self, range: Range<u64>) -> Self {
        self.with_shared_access(range, SharedAccess::ReadWrite)
    }

    /// The same with a shared region `range` (absolute addresses) the module may reach as
    /// `access` says: a reader's writes there trap.
    pub fn with_shared_access(mut self, range: Range<u64>, access: SharedAccess) -> Self {
        self.shared.push(Shared { range, access });
        self
    }

    /// The same in a whole memory of `pages` pages.
    pub fn with_memory_pages(mut self, pages: u64) -> Self {
        self.memory_pages = Some(pages);
        self
    }

    /// The end of what the module may touch: its segment, and a masked one's tail.
    fn reach_end(&self) -> u64 {
        self.base + self.size + if self.rewrite.masking { MASK_TAIL.get() } else { 0 }
    }

    /// Checks the segment; returns the shared regions with module-relative ranges.
    fn check(&self) -> Result<Vec<Shared>, Error> {
        let bad = |m: String| Err(Error::Options(m));
        const FOUR_GIB: u64 = 1 << 32;
        if !self.base.is_multiple_of(PAGE) || !self.size.is_multiple_of(PAGE) {
            return bad(format!(
                "base {:#x} and size {:#x} must be multiples of 64 KiB (WebAssembly pages)",
                self.base, self.size
            ));
        }
        if self.size == 0 {
            return bad("the size is zero".into());
        }
        if self.base.checked_add(self.size).is_none_or(|end| end > FOUR_GIB) {
            return bad(format!("[{:#x}, +{:#x}) ends past 4 GiB", self.base, self.size));
        }
        if self.rewrite.masking {
            if self.rewrite.bounds_checks {
                return bad("masking and bounds checks are two ways to confine a module: choose one".into());
            }
            if !self.size.is_power_of_two() || !self.base.is_multiple_of(self.size) {
                return bad(format!(
                    "masking needs a segment whose size is a power of two and whose base is a multiple of it; \
                     [{:#x}, +{:#x}) is not one",
                    self.base, self.size
                ));
            }
            if !self.shared.is_empty() {
                return bad(
                    "a masked module reaches only its own segment: shared regions need bounds checks".into(),
                );
            }
            if self.reach_end() > FOUR_GIB {
                return bad(format!(
                    "[{:#x}, +{:#x}) ends at 4 GiB, leaving no room for the {} bytes a masked access may run past it",
                    self.base,
                    self.size,
                    MASK_TAIL.get()
                ));
            }
        }
        let mut shared = Vec::new();
        for &Shared { ref range, access } in &self.shared {
            let r = range;
            if r.start >= r.end || r.end > FOUR_GIB {
                return bad(format!(
                    "shared region [{:#x}, {:#x}) is empty or ends past 4 GiB",
                    r.start, r.end
                ));
            }
            if r.start < self.base {
                return bad(format!(
                    "shared region [{:#x}, {:#x}) starts below the base {:#x}: accesses only add the base, \
                     so the module cannot reach it",
                    r.start, r.end, self.base
                ));
            }
            shared.push(Shared { range: r.start - self.base..r.end - self.base, access });
        }
        if let Some(pages) = self.memory_pages {
            let end = self.shared.iter().map(|r| r.range.end).chain([self.reach_end()]).max().unwrap_or(0);
            if pages > FOUR_GIB / PAGE || pages * PAGE < end {
                return bad(format!(
                    "a memory of {pages} pages does not hold the segment and the shared regions (up to {end:#x}), \
                     or is larger than 4 GiB"
                ));
            }
        }
        Ok(shared)
    }
}

/// Rewrites `module` so that its memory lies in the segment `[options.base, options.base +
/// options.size)` of a larger memory; returns the new module and every change made.
///
/// The module is validated (with [`FEATURES`]) unless [`RewriteOptions::validate`] is off, and a
/// validation error comes before any other; errors name the function and the offset where
/// there is one.
pub fn rebase(module: &[u8], options: &Options) -> Result<(Vec<u8>, Relocations), Error> {
    let shared = options.check()?;
    let threads = threads::threads(options.rewrite.threads);
    if options.rewrite.validate {
        analysis::validated(module, threads, || rewrite(module, options, shared, threads))
    } else {
        rewrite(module, options, shared, threads)
    }
}

/// [`rebase`] after or during validation.
fn rewrite(
    module: &[u8],
    options: &Options,
    shared: Vec<Shared>,
    threads: usize,
) -> Result<(Vec<u8>, Relocations), Error> {
    let scan = analysis::scan(module, false, threads)?;
    let a = &scan.analysis;
    let memory = match a.memories.as_slice() {
        [] => return Err(Error::NoMemory),
        [m] => m,
        more => return Err(Error::SeveralMemories { count: more.len() as u32 }),
    };
    if memory.memory64 {
        return Err(Error::Memory64 { offset: memory.offset });
    }
    if memory.page_size_log2.is_some_and(|p| p != 16) {
        return Err(Error::PageSize { offset: memory.offset });
    }
    if memory.initial * PAGE > options.size {
        return Err(Error::InitialTooLarge { pages: memory.initial, segment: options.size });
    }
    if let Some(max) =
        memory.maximum.filter(|m| m.saturating_mul(PAGE) > options.size && !options.rewrite.clamp_maximum)
    {
        return Err(Error::MaximumTooLarge { pages: max, segment: options.size });
    }
    for d in &a.data {
        match d.mode {
            DataMode::Passive => {}
            DataMode::Active { address: None, .. } => {
                return Err(Error::DataAddressNotConstant { segment: d.index, offset: d.offset });
            }
            DataMode::Active { address: Some(address), .. } => {
                if address.checked_add(d.len).is_none_or(|end| end > memory.initial * PAGE) {
                    return Err(Error::DataOutOfBounds {
                        segment: d.index,
                        offset: d.offset,
                        address,
                        len: d.len,
                        memory: memory.initial * PAGE,
                    });
                }
            }
        }
    }
    if memory.shared
        && let Some(g) = a.grows.first()
    {
        return Err(Error::SharedMemoryGrow { function: g.function, offset: g.offset });
    }
    let plan = rewrite::Plan::new(&scan, options, shared);
    if plan.reports_traps() && scan.sections.exports_trap_name {
        return Err(Error::Options(format!(
            "the module exports a name of its own as `{TRAP_EXPORT}`, the export its checks report traps through"
        )));
    }
    rewrite::Rewriter::new(module, &scan, plan, options.rewrite.relocation_entries, threads).run(options)
}

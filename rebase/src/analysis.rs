//! Reading a module: every instruction and data segment that touches linear memory is listed
//! ([`Analysis`]), with the places the rebaser will change (its [`Scan`]); and validating it,
//! on its own or beside other work.

use std::ops::Range;

use serde::Serialize;
use wasmparser::{
    DataKind, FuncToValidate, FuncValidatorAllocations, FunctionBody, Operator, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources,
};

use crate::access::{AccessKind, MemoryOp};
use crate::decode::{self, Found, Mode, Seen};
use crate::threads::{PARALLEL_BYTES, on_threads, split, threads};
use crate::{Error, FEATURES};

/// What a module does with linear memory.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Analysis {
    /// Its memories, imported ones first (index order).
    pub memories: Vec<Memory>,
    /// Every instruction with a memory immediate (loads, stores, SIMD and atomic accesses), in
    /// module order.
    pub accesses: Vec<Access>,
    /// Every `memory.size`.
    pub sizes: Vec<Site>,
    /// Every `memory.grow`.
    pub grows: Vec<Site>,
    /// Every bulk-memory instruction: `memory.copy`, `memory.fill`, `memory.init`, `data.drop`.
    pub bulk: Vec<Bulk>,
    /// Every data segment.
    pub data: Vec<DataSegment>,
    /// The functions, imported ones included (function indices run over both).
    pub functions: u32,
    /// The imported functions: defined function `i` has index `imported_functions + i`.
    pub imported_functions: u32,
    /// The code section's bytes in the module, if it has one: an instruction's offset in the
    /// code section is its offset minus `code_section.start`.
    pub code_section: Option<Range<u64>>,
}

/// A linear memory's declaration.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Memory {
    /// Where the declaration is in the module.
    pub offset: u64,
    /// Imported rather than defined.
    pub imported: bool,
    /// Initial size in pages.
    pub initial: u64,
    /// Maximum size in pages, if declared.
    pub maximum: Option<u64>,
    /// Addressed with 64 bits (memory64 proposal).
    pub memory64: bool,
    /// Shared between threads (threads proposal).
    pub shared: bool,
    /// log2 of a custom page size, if one is declared.
    pub page_size_log2: Option<u32>,
}

/// One instruction with a memory immediate.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Access {
    /// The function it is in (index over imported and defined functions).
    pub function: u32,
    /// Its byte offset in the module.
    pub offset: u64,
    /// Its name in the text format.
    pub instruction: &'static str,
    /// What it does.
    pub kind: AccessKind,
    /// An atomic instruction.
    pub atomic: bool,
    /// The memory it addresses.
    pub memory: u32,
    /// The dynamic address if it is a constant pushed right before the instruction (with only
    /// constant operands in between): a direct access. `None`: an indirect one.
    pub address: Option<u64>,
    /// The memarg's static offset.
    pub static_offset: u64,
    /// The memarg's alignment hint, as log2 of bytes.
    pub align: u8,
    /// The bytes it touches at `address + static_offset`.
    pub size: u8,
}

/// A `memory.size` or `memory.grow`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Site {
    /// The function it is in.
    pub function: u32,
    /// Its byte offset in the module.
    pub offset: u64,
    /// The memory it is about.
    pub memory: u32,
}

/// A bulk-memory instruction.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Bulk {
    /// The function it is in.
    pub function: u32,
    /// Its byte offset in the module.
    pub offset: u64,
    /// Its name in the text format.
    pub instruction: &'static str,
    /// The data segment of `memory.init` and `data.drop`.
    pub data: Option<u32>,
}

/// A data segment.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct DataSegment {
    /// Its index.
    pub index: u32,
    /// Its byte offset in the module.
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
    /// Active (written at instantiation) or passive (for `memory.init`).
    pub mode: DataMode,
}

/// How a data segment gets into memory.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum DataMode {
    /// Copied by `memory.init` at run time.
    Passive,
    /// Written at instantiation.
    Active {
        /// The memory it is written to.
        memory: u32,
        /// The address it is written at, if it is a plain constant (`None`: a `global.get` or an
        /// extended constant expression).
        address: Option<u64>,
    },
}

/// What the rebaser changes at one place of a function body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Change {
    /// A memory access, and its address if that is a constant.
    Access { op: MemoryOp, address: Option<u64> },
    /// `memory.size`.
    Size,
    /// `memory.grow`.
    Grow,
    /// `memory.copy`.
    Copy,
    /// `memory.fill`.
    Fill,
    /// `memory.init` of this data segment.
    Init(u32),
}

/// One instruction to change: its bytes in the module and what it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Patch {
    pub start: u64,
    pub end: u64,
    pub change: Change,
}

/// A defined function's body as the rebaser needs it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Body {
    /// The function's index.
    pub function: u32,
    /// The body's bytes in the module (without the size prefix).
    pub range: Range<u64>,
    /// Where its instructions start (after the local declarations).
    pub ops: u64,
    /// Parameters and locals.
    pub locals: u32,
    /// The instructions to change, in order.
    pub patches: Vec<Patch>,
}

/// The facts about a module's sections that rewriting it needs.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(crate) struct Sections {
    /// Types (every subtype of every recursion group).
    pub types: u32,
    /// Globals, imported ones included.
    pub globals: u32,
    pub has_types: bool,
    pub has_functions: bool,
    pub has_globals: bool,
    pub has_exports: bool,
    pub has_code: bool,
    /// Whether the module exports a name of its own as [`TRAP_EXPORT`](crate::TRAP_EXPORT).
    pub exports_trap_name: bool,
}

/// An analysis with what rewriting needs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Scan {
    pub analysis: Analysis,
    pub sections: Sections,
    pub bodies: Vec<Body>,
}

/// Lists what `module` does with linear memory, after validating it.
pub fn analyse(module: &[u8]) -> Result<Analysis, Error> {
    validated(module, threads(0), || scan(module, true, threads(0))).map(|s| s.analysis)
}

/// Validates `module` (with [`FEATURES`]), its function bodies on up to `threads` threads;
/// the error is the first in module order, and names the function if it is in a body.
pub(crate) fn validate(module: &[u8], threads: usize) -> Result<(), Error> {
    let mut validator = Validator::new_with_features(FEATURES);
    let mut functions = Vec::new();
    let mut failure = None;
    let mut parser = Parser::new(0);
    parser.set_features(FEATURES);
    for payload in parser.parse_all(module) {
        let checked = payload.and_then(|p| validator.payload(&p));
        match checked {
            Ok(ValidPayload::Func(f, body)) => functions.push((f, body)),
            Ok(ValidPayload::End(_)) => break,
            Ok(_) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // A body before the module's error comes first.
    let size = |(_, body): &(FuncToValidate<ValidatorResources>, FunctionBody<'_>)| {
        body.range().end - body.range().start
    };
    let total: u64 = functions.iter().map(size).sum();
    let parts = if total as usize >= PARALLEL_BYTES { threads } else { 1 };
    // The same runs, owned: a body's validator is consumed.
    let lengths: Vec<usize> = split(&functions, parts, size).iter().map(|r| r.len()).collect();
    let mut runs = Vec::with_capacity(lengths.len());
    for len in lengths.iter().rev() {
        runs.push(functions.split_off(functions.len() - len));
    }
    runs.reverse();
    let errors = on_threads(runs, validate_bodies);
    match (errors.into_iter().flatten().next(), failure) {
        (Some((e, function)), _) => Err(Error::parse(&e, Some(function))),
        (None, Some(e)) => Err(Error::parse(&e, function_at(module, e.offset()))),
        (None, None) => Ok(()),
    }
}

/// Validates some function bodies; the first error, and its function.
fn validate_bodies(
    run: Vec<(FuncToValidate<ValidatorResources>, FunctionBody<'_>)>,
) -> Option<(wasmparser::BinaryReaderError, u32)> {
    let mut allocs = FuncValidatorAllocations::default();
    for (f, body) in run {
        let function = f.index;
        let mut validator = f.into_validator(allocs);
        if let Err(e) = validator.validate(&body) {
            return Some((e, function));
        }
        allocs = validator.into_allocations();
    }
    None
}

/// The function whose body holds byte `offset` of `module`, if one does.
fn function_at(module: &[u8], offset: u64) -> Option<u32> {
    let mut imported = 0;
    let mut index = 0;
    for payload in Parser::new(0).parse_all(module) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                // A body that ends too soon fails at its end.
                if (body.range().start..=body.range().end).contains(&offset) {
                    return Some(imported + index);
                }
                index += 1;
            }
            _ => {}
        }
    }
    None
}

/// Parses `module` and lists its memory instructions, data segments and the places to change,
/// without validating it: a module that is malformed (whatever wasmparser cannot read) is an
/// error, one that reads well and breaks a typing rule is not. The accesses are listed in the
/// analysis only if `list` (the patches have them).
pub(crate) fn scan(module: &[u8], list: bool, threads: usize) -> Result<Scan, Error> {
    if Parser::is_component(module) {
        return Err(Error::Component);
    }
    read(module, list, threads)
}

/// Runs `work` on `module` after validating it, or while validating it on other threads (a
/// module with at least 256 KiB of code); a validation error comes first.
pub(crate) fn validated<T: Send>(
    module: &[u8],
    threads: usize,
    work: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    if Parser::is_component(module) {
        return Err(Error::Component);
    }
    if module.len() < PARALLEL_BYTES || threads < 2 {
        validate(module, 1)?;
        return work();
    }
    std::thread::scope(|s| {
        let validation = s.spawn(|| validate(module, threads));
        let done = work();
        match validation.join() {
            Ok(Ok(())) => done,
            Ok(Err(e)) => Err(e),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// WebAssembly's limit on a function's parameters and locals (as engines and wasmparser
/// enforce it).
pub(crate) const MAX_LOCALS: u32 = 50_000;

/// The most functions, globals or types a module may have (as engines and wasmparser
/// enforce it).
const MAX_ITEMS: u32 = 1_000_000;

/// `have + more` items of a kind, or an error past [`MAX_ITEMS`] (a count an unvalidated module
/// declares is not checked against its bytes).
fn count(have: u32, more: u32, what: &str) -> Result<u32, Error> {
    have.checked_add(more).filter(|n| *n <= MAX_ITEMS).ok_or_else(|| Error::Malformed {
        function: None,
        offset: 0,
        message: format!("more than {MAX_ITEMS} {what}"),
    })
}

/// A body still to read.
struct Pending {
    function: u32,
    range: Range<u64>,
    ops: u64,
    locals: u32,
}

/// What reading some bodies found.
#[derive(Default)]
struct Bodies {
    bodies: Vec<Body>,
    accesses: Vec<Access>,
    sizes: Vec<Site>,
    grows: Vec<Site>,
    bulk: Vec<Bulk>,
}

/// Reads `pending` bodies of `module`.
fn read_bodies(module: &[u8], pending: &[Pending], list: bool) -> Result<Bodies, Error> {
    let mut out = Bodies::default();
    let mut frames = Vec::new();
    for p in pending {
        let fail = |e: wasmparser::BinaryReaderError| Error::parse(&e, Some(p.function));
        let mut patches = Vec::new();
        let bytes = &module[p.ops as usize..p.range.end as usize];
        decode::body(bytes, p.ops, &mut frames, Mode::Fast, |f| {
            note(&mut out, &mut patches, p.function, f, list)
        })
        .map_err(fail)?;
        out.bodies.push(Body {
            function: p.function,
            range: p.range.clone(),
            ops: p.ops,
            locals: p.locals,
            patches,
        });
    }
    Ok(out)
}

/// [`scan`] without validation.
fn read(module: &[u8], list: bool, threads: usize) -> Result<Scan, Error> {
    let mut parser = Parser::new(0);
    parser.set_features(FEATURES);
    let mut analysis = Analysis {
        memories: Vec::new(),
        accesses: Vec::new(),
        sizes: Vec::new(),
        grows: Vec::new(),
        bulk: Vec::new(),
        data: Vec::new(),
        functions: 0,
        imported_functions: 0,
        code_section: None,
    };
    let mut sections = Sections::default();
    let mut pending = Vec::new();
    // Parameters per type (0 for types that are not functions), the type of each defined
    // function: a body's locals start after its parameters.
    let mut params: Vec<u32> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let parse = |e: wasmparser::BinaryReaderError| Error::parse(&e, None);
    // The sections are read first and the bodies after; an error in the sections comes after
    // those in the bodies before it.
    let sections_read = (|| {
        for payload in parser.parse_all(module) {
            let payload = payload.map_err(parse)?;
            match payload {
                Payload::Version { encoding: wasmparser::Encoding::Component, .. } => {
                    return Err(Error::Component);
                }
                Payload::TypeSection(reader) => {
                    sections.has_types = true;
                    for group in reader {
                        for ty in group.map_err(parse)?.into_types() {
                            params.push(match &ty.composite_type.inner {
                                wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                                _ => 0,
                            });
                        }
                    }
                    sections.types = u32::try_from(params.len()).unwrap_or(u32::MAX);
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports_with_offsets() {
                        let (offset, import) = import.map_err(parse)?;
                        match import.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                                analysis.imported_functions =
                                    count(analysis.imported_functions, 1, "functions")?;
                            }
                            TypeRef::Global(_) => sections.globals = count(sections.globals, 1, "globals")?,
                            TypeRef::Memory(m) => analysis.memories.push(memory(offset, true, m)),
                            TypeRef::Table(_) | TypeRef::Tag(_) => {}
                        }
                    }
                    analysis.functions = analysis.imported_functions;
                }
                Payload::FunctionSection(reader) => {
                    sections.has_functions = true;
                    analysis.functions = count(analysis.imported_functions, reader.count(), "functions")?;
                    for ty in reader {
                        function_types.push(ty.map_err(parse)?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader.into_iter_with_offsets() {
                        let (offset, m) = m.map_err(parse)?;
                        analysis.memories.push(memory(offset, false, m));
                    }
                }
                Payload::GlobalSection(reader) => {
                    sections.has_globals = true;
                    sections.globals = count(sections.globals, reader.count(), "globals")?;
                }
                Payload::ExportSection(reader) => {
                    sections.has_exports = true;
                    for export in reader {
                        sections.exports_trap_name |= export.map_err(parse)?.name == crate::TRAP_EXPORT;
                    }
                }
                Payload::DataSection(reader) => {
                    for (index, data) in reader.into_iter().enumerate() {
                        let data = data.map_err(parse)?;
                        analysis.data.push(data_segment(index as u32, &data)?);
                    }
                }
                Payload::CodeSectionStart { unchecked_range: range, .. } => {
                    sections.has_code = true;
                    analysis.code_section = Some(range);
                }
                Payload::CodeSectionEntry(body) => {
                    let defined = pending.len();
                    let function = analysis.imported_functions + defined as u32;
                    let fail = |e: wasmparser::BinaryReaderError| Error::parse(&e, Some(function));
                    let mut locals = function_types
                        .get(defined)
                        .and_then(|t| params.get(*t as usize))
                        .map_or(0, |p| u64::from(*p));
                    let mut reader = body.get_locals_reader().map_err(fail)?;
                    for _ in 0..reader.get_count() {
                        locals += u64::from(reader.read().map_err(fail)?.0);
                    }
                    let ops = reader.original_position();
                    // Past the limit the count only matters for the error the checks give.
                    let locals = locals.min(u64::from(MAX_LOCALS) + 1) as u32;
                    pending.push(Pending { function, range: body.range(), ops, locals });
                }
                _ => {}
            }
        }
        Ok(())
    })();
    if let Err(e) = sections_read {
        read_bodies(module, &pending, list)?;
        return Err(e);
    }
    let code: u64 = pending.iter().map(|p| p.range.end - p.range.start).sum();
    let parts = if code as usize >= PARALLEL_BYTES { threads } else { 1 };
    let runs = split(&pending, parts, |p| p.range.end - p.range.start);
    let found = on_threads(runs, |run| read_bodies(module, run, list));
    let mut bodies = Vec::with_capacity(pending.len());
    for f in found {
        let f = f?;
        bodies.extend(f.bodies);
        analysis.accesses.extend(f.accesses);
        analysis.sizes.extend(f.sizes);
        analysis.grows.extend(f.grows);
        analysis.bulk.extend(f.bulk);
    }
    Ok(Scan { analysis, sections, bodies })
}

/// Notes what was found in the analysis, and as a patch if the rebaser changes it; accesses go
/// in the analysis only if `list`.
#[inline]
fn note(analysis: &mut Bodies, patches: &mut Vec<Patch>, function: u32, found: Found, list: bool) {
    let offset = found.start;
    let patch = |change| Patch { start: found.start, end: found.end, change };
    let site = |memory| Site { function, offset, memory };
    let bulk = |instruction, data| Bulk { function, offset, instruction, data };
    match found.seen {
        Seen::Access(Some(op)) => {
            // A GC array access (multibyte-array-access proposal) does not touch linear memory.
            let wasmparser::MemArgTarget::Memory(memory) = op.memarg.target else { return };
            patches.push(patch(Change::Access { op, address: found.address }));
            if list {
                analysis.accesses.push(Access {
                    function,
                    offset,
                    instruction: op.info.name,
                    kind: op.info.kind,
                    atomic: op.info.atomic,
                    memory,
                    address: found.address,
                    static_offset: op.memarg.offset,
                    align: op.memarg.align,
                    size: op.info.size,
                });
            }
        }
        Seen::Size(mem) => {
            analysis.sizes.push(site(mem));
            patches.push(patch(Change::Size));
        }
        Seen::Grow(mem) => {
            analysis.grows.push(site(mem));
            patches.push(patch(Change::Grow));
        }
        Seen::Copy => {
            analysis.bulk.push(bulk("memory.copy", None));
            patches.push(patch(Change::Copy));
        }
        Seen::Fill => {
            analysis.bulk.push(bulk("memory.fill", None));
            patches.push(patch(Change::Fill));
        }
        Seen::Init(data) => {
            analysis.bulk.push(bulk("memory.init", Some(data)));
            patches.push(patch(Change::Init(data)));
        }
        Seen::Drop(data) => analysis.bulk.push(bulk("data.drop", Some(data))),
        Seen::Access(None) | Seen::Int(_) | Seen::Constant | Seen::Other => {}
    }
}

/// A memory declaration.
fn memory(offset: u64, imported: bool, m: wasmparser::MemoryType) -> Memory {
    Memory {
        offset,
        imported,
        initial: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        shared: m.shared,
        page_size_log2: m.page_size_log2,
    }
}

/// A data segment's description.
fn data_segment(index: u32, data: &wasmparser::Data<'_>) -> Result<DataSegment, Error> {
    let mode = match &data.kind {
        DataKind::Passive => DataMode::Passive,
        DataKind::Active { memory_index, offset_expr } => {
            let mut ops = offset_expr.get_operators_reader();
            let first = ops.read().map_err(|e| Error::parse(&e, None))?;
            let single = matches!(ops.read(), Ok(Operator::End)) && ops.eof();
            let address = match first {
                Operator::I32Const { value } if single => Some(u64::from(value as u32)),
                Operator::I64Const { value } if single => Some(value as u64),
                _ => None,
            };
            DataMode::Active { memory: *memory_index, address }
        }
    };
    Ok(DataSegment { index, offset: data.range.start, len: data.data.len() as u64, mode })
}

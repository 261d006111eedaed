//! One pass over a module: it is parsed and validated, and every instruction and data segment
//! that touches linear memory is listed ([`Analysis`]), with the places the rebaser will change
//! (its [`Scan`]).

use std::ops::Range;

use serde::Serialize;
use wasmparser::{
    DataKind, FrameKind, FrameStack, FuncValidatorAllocations, Operator, Parser, Payload, TypeRef,
    ValidPayload, Validator, VisitOperator, VisitSimdOperator,
};

use crate::access::{AccessKind, MemoryOp, memory_op};
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
    /// The access `accesses[i]`.
    Access(usize),
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
    pub has_code: bool,
}

/// An analysis with what rewriting needs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) struct Scan {
    pub analysis: Analysis,
    pub sections: Sections,
    pub bodies: Vec<Body>,
}

/// What the last instructions before the current one pushed, for telling constant addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pushed {
    /// An `i32.const` or `i64.const`: its value (zero-extended).
    Int(u64),
    /// Another constant (`f32.const`, `f64.const`, `v128.const`).
    Constant,
    /// Anything else.
    Other,
}

/// Lists what `module` does with linear memory, after validating it.
pub fn analyse(module: &[u8]) -> Result<Analysis, Error> {
    scan(module).map(|s| s.analysis)
}

/// Parses and validates `module` and lists its memory instructions, data segments and the places
/// to change.
pub(crate) fn scan(module: &[u8]) -> Result<Scan, Error> {
    if Parser::is_component(module) {
        return Err(Error::Component);
    }
    let mut parser = Parser::new(0);
    parser.set_features(FEATURES);
    let mut validator = Validator::new_with_features(FEATURES);
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
    let mut bodies = Vec::new();
    let mut allocs = FuncValidatorAllocations::default();
    for payload in parser.parse_all(module) {
        let payload = payload.map_err(|e| Error::parse(&e, None))?;
        if let Payload::Version { encoding: wasmparser::Encoding::Component, .. } = payload {
            return Err(Error::Component);
        }
        let valid = validator.payload(&payload).map_err(|e| Error::parse(&e, None))?;
        match &payload {
            Payload::TypeSection(reader) => {
                sections.has_types = true;
                for group in reader.clone() {
                    let group = group.map_err(|e| Error::parse(&e, None))?;
                    sections.types += u32::try_from(group.types().len()).unwrap_or(u32::MAX);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports_with_offsets() {
                    let (offset, import) = import.map_err(|e| Error::parse(&e, None))?;
                    match import.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => analysis.imported_functions += 1,
                        TypeRef::Global(_) => sections.globals += 1,
                        TypeRef::Memory(m) => analysis.memories.push(memory(offset, true, m)),
                        TypeRef::Table(_) | TypeRef::Tag(_) => {}
                    }
                }
                analysis.functions = analysis.imported_functions;
            }
            Payload::FunctionSection(reader) => {
                sections.has_functions = true;
                analysis.functions = analysis.imported_functions + reader.count();
            }
            Payload::MemorySection(reader) => {
                for m in reader.clone().into_iter_with_offsets() {
                    let (offset, m) = m.map_err(|e| Error::parse(&e, None))?;
                    analysis.memories.push(memory(offset, false, m));
                }
            }
            Payload::GlobalSection(reader) => {
                sections.has_globals = true;
                sections.globals += reader.count();
            }
            Payload::DataSection(reader) => {
                for (index, data) in reader.clone().into_iter().enumerate() {
                    let data = data.map_err(|e| Error::parse(&e, None))?;
                    analysis.data.push(data_segment(index as u32, &data)?);
                }
            }
            Payload::CodeSectionStart { unchecked_range: range, .. } => {
                sections.has_code = true;
                analysis.code_section = Some(range.clone());
            }
            _ => {}
        }
        if let ValidPayload::Func(to_validate, body) = valid {
            let function = to_validate.index;
            let mut validator = to_validate.into_validator(std::mem::take(&mut allocs));
            let fail = |e: wasmparser::BinaryReaderError| Error::parse(&e, Some(function));
            let mut reader = body.get_binary_reader();
            validator.read_locals(&mut reader).map_err(fail)?;
            reader.set_features(FEATURES);
            let ops_start = reader.original_position();
            let mut patches = Vec::new();
            let mut pushed = [Pushed::Other; 3];
            while !reader.eof() {
                // One pass: the validator checks the operator while the scanner notes it.
                let offset = reader.original_position();
                let mut seen = Seen::Other;
                let mut scanner = Scanner { inner: validator.visitor(offset), seen: &mut seen };
                reader.visit_operator(&mut scanner).map_err(fail)?.map_err(fail)?;
                let at = Place { function, offset, end: reader.original_position() };
                note(&mut analysis, &mut patches, at, &seen, &pushed);
                pushed.rotate_right(1);
                pushed[0] = match seen {
                    Seen::Int(v) => Pushed::Int(v),
                    Seen::Constant => Pushed::Constant,
                    _ => Pushed::Other,
                };
            }
            reader.finish_expression(&validator.visitor(reader.original_position())).map_err(fail)?;
            bodies.push(Body {
                function,
                range: body.range(),
                ops: ops_start,
                locals: validator.len_locals(),
                patches,
            });
            allocs = validator.into_allocations();
        }
    }
    Ok(Scan { analysis, sections, bodies })
}

/// Where an instruction is.
#[derive(Clone, Copy)]
struct Place {
    function: u32,
    offset: u64,
    end: u64,
}

/// What the scanner saw of one operator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seen {
    /// An instruction with a memarg.
    Access(Option<MemoryOp>),
    /// `i32.const` or `i64.const`, zero-extended.
    Int(u64),
    /// `f32.const`, `f64.const`, `v128.const`.
    Constant,
    Size(u32),
    Grow(u32),
    Copy,
    Fill,
    Init(u32),
    Drop(u32),
    Other,
}

/// What an operator is, for the scanner.
macro_rules! seen {
    // The arguments come twice: once to match on their names, once to use them (a name written
    // in this macro would not be the caller's variable).
    (I32Const value; $value:ident) => { Seen::Int(u64::from($value as u32)) };
    (I64Const value; $value:ident) => { Seen::Int($value as u64) };
    (F32Const value; $value:ident) => { Seen::Constant };
    (F64Const value; $value:ident) => { Seen::Constant };
    (V128Const value; $value:ident) => { Seen::Constant };
    (MemorySize mem; $mem:ident) => { Seen::Size($mem) };
    (MemoryGrow mem; $mem:ident) => { Seen::Grow($mem) };
    (MemoryCopy dst_mem src_mem; $($arg:ident)*) => { Seen::Copy };
    (MemoryFill mem; $mem:ident) => { Seen::Fill };
    (MemoryInit data_index mem; $data:ident $mem:ident) => { Seen::Init($data) };
    (DataDrop data_index; $data:ident) => { Seen::Drop($data) };
    ($op:ident memarg $($name:ident)*; $($arg:ident)*) => { Seen::Access(memory_op(&Operator::$op { $($arg),* })) };
    ($op:ident $($name:ident)*; $($arg:ident)*) => { Seen::Other };
}

/// A visitor that passes every operator on to the validator's and notes what it is: the
/// validator's fast path, with the scan on the side.
struct Scanner<'s, V> {
    inner: V,
    seen: &'s mut Seen,
}

impl<V: FrameStack> FrameStack for Scanner<'_, V> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.inner.current_frame()
    }
}

macro_rules! scan_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                *self.seen = seen!($op $($($arg)*)?; $($($arg)*)?);
                self.inner.$visit($($($arg),*)?)
            }
        )*
    };
}

macro_rules! scan_simd_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Self::Output {
                *self.seen = seen!($op $($($arg)*)?; $($($arg)*)?);
                // The validator's SIMD visitor is reached through the operator.
                self.inner.visit_operator(&Operator::$op $({ $($arg),* })?)
            }
        )*
    };
}

impl<'a, V: VisitOperator<'a, Output = wasmparser::Result<()>>> VisitOperator<'a> for Scanner<'_, V> {
    type Output = wasmparser::Result<()>;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(scan_operator);
}

impl<'a, V: VisitOperator<'a, Output = wasmparser::Result<()>>> VisitSimdOperator<'a> for Scanner<'_, V> {
    wasmparser::for_each_visit_simd_operator!(scan_simd_operator);
}

/// Notes what was seen in the analysis, and as a patch if the rebaser changes it.
fn note(analysis: &mut Analysis, patches: &mut Vec<Patch>, at: Place, seen: &Seen, pushed: &[Pushed; 3]) {
    let patch = |change| Patch { start: at.offset, end: at.end, change };
    let site = |memory| Site { function: at.function, offset: at.offset, memory };
    let bulk = |instruction, data| Bulk { function: at.function, offset: at.offset, instruction, data };
    match *seen {
        Seen::Access(None) => {}
        Seen::Access(Some(m)) => {
            // A GC array access (multibyte-array-access proposal) does not touch linear memory.
            let wasmparser::MemArgTarget::Memory(memory) = m.memarg.target else { return };
            // The address is constant if a constant pushed it and every operand above it.
            let above = m.above.len();
            let address = match pushed[above] {
                Pushed::Int(v) if pushed[..above].iter().all(|p| *p != Pushed::Other) => Some(v),
                _ => None,
            };
            patches.push(patch(Change::Access(analysis.accesses.len())));
            analysis.accesses.push(Access {
                function: at.function,
                offset: at.offset,
                instruction: m.name,
                kind: m.kind,
                atomic: m.atomic,
                memory,
                address,
                static_offset: m.memarg.offset,
                align: m.memarg.align,
                size: m.size,
            });
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
        Seen::Int(_) | Seen::Constant | Seen::Other => {}
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

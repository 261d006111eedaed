//! The rewrite: wasm-encoder's [`Reencode`] walks the module, and its hooks change the memory's
//! declaration, the data segments' addresses and the function bodies, and add the helpers.
//!
//! Function bodies are patched, not re-encoded: the bytes between two changed instructions are
//! copied as they are, and only the changed instructions (and checks) are encoded anew. A body
//! without memory instructions is copied whole.

use std::collections::BTreeSet;

use wasm_encoder::reencode::{self, Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, DataSection, Encode, EntityType, Function, FunctionSection,
    GlobalSection, GlobalType, Instruction, MemoryType, Module, SectionId, TypeSection, ValType,
};
use wasmparser::{BinaryReader, OperatorsReader};

use crate::access::{Operand, memory_op};
use crate::analysis::{Body, Change, DataMode, Patch, Scan};
use crate::relocs::{Helper, Relocation, RelocationKind, Relocations};
use crate::{Error, FEATURES, Options, PAGE};

/// WebAssembly's limit on a function's parameters and locals (as engines and wasmparser
/// enforce it).
const MAX_LOCALS: u32 = 50_000;

/// The signatures helpers use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Signature {
    /// `memory.grow`: `(i32) -> i32`.
    Grow,
    /// `memory.copy`, `memory.fill`, `memory.init`: `(i32 i32 i32) -> ()`.
    Bulk,
    /// The shared-region check: `(i64 i64) -> ()`, start and end of the bytes touched.
    Shared,
}

impl Signature {
    fn params(self) -> &'static [ValType] {
        match self {
            Self::Grow => &[ValType::I32],
            Self::Bulk => &[ValType::I32, ValType::I32, ValType::I32],
            Self::Shared => &[ValType::I64, ValType::I64],
        }
    }

    fn results(self) -> &'static [ValType] {
        match self {
            Self::Grow => &[ValType::I32],
            Self::Bulk | Self::Shared => &[],
        }
    }
}

/// What a helper does.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum HelperKind {
    Grow,
    Copy,
    Fill,
    Init(u32),
    Shared,
}

impl HelperKind {
    fn signature(self) -> Signature {
        match self {
            Self::Grow => Signature::Grow,
            Self::Copy | Self::Fill | Self::Init(_) => Signature::Bulk,
            Self::Shared => Signature::Shared,
        }
    }

    fn name(self) -> String {
        match self {
            Self::Grow => "memory.grow".into(),
            Self::Copy => "memory.copy".into(),
            Self::Fill => "memory.fill".into(),
            Self::Init(d) => format!("memory.init {d}"),
            Self::Shared => "shared-check".into(),
        }
    }
}

/// Everything decided before the module is written.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The segment's base.
    base: u64,
    /// The module's initial pages.
    initial: u64,
    /// The most pages `memory.grow` may reach: the declared maximum or the segment, whichever is
    /// smaller.
    max_pages: u64,
    /// Pages of the whole memory the output declares.
    total_pages: u64,
    /// Bounds checks before accesses.
    checks: bool,
    /// Shared regions, module-relative.
    shared: Vec<(u64, u64)>,
    /// The page-count global (i32), if the module grows its memory.
    pages_global: Option<u32>,
    /// The global with the module's memory in bytes (i64), for the checks, next to it.
    bytes_global: Option<u32>,
    /// Types added, with their indices.
    types: Vec<(Signature, u32)>,
    /// Functions added, with their indices.
    helpers: Vec<(HelperKind, u32)>,
}

impl Plan {
    /// Decides the globals, types and helpers the module gets.
    pub(crate) fn new(scan: &Scan, options: &Options, shared: Vec<(u64, u64)>) -> Self {
        let a = &scan.analysis;
        let memory = &a.memories[0];
        let segment_pages = options.size / PAGE;
        let max_pages = memory.maximum.map_or(segment_pages, |m| m.min(segment_pages));
        let pages_global = (!a.grows.is_empty()).then_some(scan.sections.globals);
        let mut kinds = Vec::new();
        if !a.grows.is_empty() {
            kinds.push(HelperKind::Grow);
        }
        let mut inits = BTreeSet::new();
        for b in &scan.bodies {
            for p in &b.patches {
                match p.change {
                    Change::Copy if !kinds.contains(&HelperKind::Copy) => kinds.push(HelperKind::Copy),
                    Change::Fill if !kinds.contains(&HelperKind::Fill) => kinds.push(HelperKind::Fill),
                    Change::Init(d) => {
                        inits.insert(d);
                    }
                    _ => {}
                }
            }
        }
        kinds.extend(inits.into_iter().map(HelperKind::Init));
        if !shared.is_empty() {
            kinds.push(HelperKind::Shared);
        }
        kinds.sort_unstable();
        let mut types: Vec<(Signature, u32)> = Vec::new();
        for k in &kinds {
            if !types.iter().any(|(s, _)| *s == k.signature()) {
                types.push((k.signature(), scan.sections.types + types.len() as u32));
            }
        }
        let helpers = kinds.iter().enumerate().map(|(i, k)| (*k, a.functions + i as u32)).collect();
        let needed = options.base + options.size;
        let shared_end = shared.iter().map(|r| r.1 + options.base).max().unwrap_or(0);
        let total_pages = options.memory_pages.unwrap_or_else(|| needed.max(shared_end).div_ceil(PAGE));
        Self {
            base: options.base,
            initial: memory.initial,
            max_pages,
            total_pages,
            checks: options.bounds_checks,
            shared,
            pages_global,
            bytes_global: pages_global.map(|g| g + 1),
            types,
            helpers,
        }
    }

    fn helper(&self, kind: HelperKind) -> u32 {
        self.helpers.iter().find(|(k, _)| *k == kind).map_or(0, |(_, f)| *f)
    }

    fn type_of(&self, s: Signature) -> u32 {
        self.types.iter().find(|(t, _)| *t == s).map_or(0, |(_, i)| *i)
    }

    /// Pushes the module's current memory size in bytes, as an i64.
    fn limit(&self, out: &mut Vec<u8>) {
        match self.bytes_global {
            Some(g) => Instruction::GlobalGet(g).encode(out),
            None => Instruction::I64Const((self.initial * PAGE) as i64).encode(out),
        }
    }

    /// The check of the address on top of the stack for an access of `[offset, end)` past it:
    /// the address stays on the stack; the check traps (or tries the shared regions) if
    /// `address + end` passes the module's memory. Local `a` is scratch.
    fn check(&self, out: &mut Vec<u8>, a: u32, offset: u64, end: u64) {
        let range = |out: &mut Vec<u8>| {
            for add in [offset, end] {
                Instruction::LocalGet(a).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                Instruction::I64Const(add as i64).encode(out);
                Instruction::I64Add.encode(out);
            }
        };
        let limit = self.initial * PAGE;
        match self.bytes_global {
            Some(bytes) => {
                // The memory grows: (u64) address + end > bytes, in 64 bits.
                Instruction::LocalTee(a).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                Instruction::I64Const(end as i64).encode(out);
                Instruction::I64Add.encode(out);
                Instruction::GlobalGet(bytes).encode(out);
                Instruction::I64GtU.encode(out);
                Instruction::If(BlockType::Empty).encode(out);
                self.out_of_bounds(out, range);
                Instruction::End.encode(out);
            }
            None if end <= limit => {
                // A fixed memory: address > limit - end, with the bound computed here, so no
                // addition at run time and nothing to overflow.
                Instruction::LocalTee(a).encode(out);
                Instruction::I32Const((limit - end) as u32 as i32).encode(out);
                Instruction::I32GtU.encode(out);
                Instruction::If(BlockType::Empty).encode(out);
                self.out_of_bounds(out, range);
                Instruction::End.encode(out);
            }
            None => {
                // Past the memory whatever the address: only a shared region can take it.
                Instruction::LocalSet(a).encode(out);
                self.out_of_bounds(out, range);
            }
        }
        Instruction::LocalGet(a).encode(out);
    }

    /// Whether `[start, end)` (module-relative) lies in the memory the module surely has, or in
    /// a shared region.
    fn proven(&self, start: u64, end: u64) -> bool {
        end <= self.initial * PAGE || self.shared.iter().any(|&(s, e)| start >= s && end <= e)
    }

    /// What runs when an access ends past the module's memory: a trap, or the shared-region
    /// check of `[start, end)` pushed by `range`.
    fn out_of_bounds(&self, out: &mut Vec<u8>, range: impl FnOnce(&mut Vec<u8>)) {
        if self.shared.is_empty() {
            Instruction::Unreachable.encode(out);
        } else {
            range(out);
            Instruction::Call(self.helper(HelperKind::Shared)).encode(out);
        }
    }
}

/// Scratch locals added to one function for the checks.
struct Scratch {
    /// The next free local index.
    next: u32,
    /// The address.
    address: Option<u32>,
    /// Two per operand type (`cmpxchg` sets two of the same type aside).
    operands: [[Option<u32>; 2]; 5],
    /// The types of the added locals, in order.
    added: Vec<ValType>,
}

impl Scratch {
    fn new(locals: u32) -> Self {
        Self { next: locals, address: None, operands: [[None; 2]; 5], added: Vec::new() }
    }

    fn take(&mut self, ty: ValType) -> u32 {
        let i = self.next;
        self.next += 1;
        self.added.push(ty);
        i
    }

    fn address(&mut self) -> u32 {
        match self.address {
            Some(i) => i,
            None => {
                let i = self.take(ValType::I32);
                self.address = Some(i);
                i
            }
        }
    }

    fn operand(&mut self, ty: Operand, slot: usize) -> u32 {
        match self.operands[ty.index()][slot] {
            Some(i) => i,
            None => {
                let i = self.take(ty.val_type());
                self.operands[ty.index()][slot] = Some(i);
                i
            }
        }
    }
}

/// The [`Reencode`] implementation: hooks for the memory, the data, the bodies and the added
/// items.
pub(crate) struct Rewriter<'m> {
    module: &'m [u8],
    scan: &'m Scan,
    plan: Plan,
    /// The changes made.
    entries: Vec<Relocation>,
    /// The next body and data segment the hooks will see.
    next_body: usize,
    next_data: usize,
    /// The offset the next memarg gets ([`Reencode::mem_arg`]).
    pending_offset: Option<u64>,
    /// Sections added where the module had none.
    added: Vec<SectionId>,
}

/// Where a section comes in a module (custom sections aside).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl<'m> Rewriter<'m> {
    pub(crate) fn new(module: &'m [u8], scan: &'m Scan, plan: Plan) -> Self {
        Self {
            module,
            scan,
            plan,
            entries: Vec::new(),
            next_body: 0,
            next_data: 0,
            pending_offset: None,
            added: Vec::new(),
        }
    }

    /// Writes the module and returns it with the relocation table.
    pub(crate) fn run(mut self, options: &Options) -> Result<(Vec<u8>, Relocations), Error> {
        let mut module = Module::new();
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(FEATURES);
        self.parse_core_module(&mut module, parser, self.module).map_err(|e| match e {
            reencode::Error::UserError(e) => e,
            reencode::Error::ParseError(e) => Error::parse(&e, None),
            other => Error::Malformed { function: None, offset: 0, message: other.to_string() },
        })?;
        let mut entries = self.entries;
        entries.sort_by_key(|e| e.offset);
        let relocs = Relocations {
            base: options.base,
            size: options.size,
            bounds_checks: options.bounds_checks,
            shared: self.plan.shared.iter().map(|&(s, e)| s..e).collect(),
            pages_global: self.plan.pages_global,
            bytes_global: self.plan.bytes_global,
            helpers: self.plan.helpers.iter().map(|&(k, f)| Helper { function: f, name: k.name() }).collect(),
            entries,
        };
        Ok((module.finish(), relocs))
    }

    fn bytes(&self, start: u64, end: u64) -> &'m [u8] {
        &self.module[start as usize..end as usize]
    }

    /// The rewritten body of `body`.
    fn body(&mut self, body: &Body) -> Result<Vec<u8>, Error> {
        let mut ops = Vec::with_capacity((body.range.end - body.ops) as usize + body.patches.len() * 24);
        let mut scratch = Scratch::new(body.locals);
        let mut at = body.ops;
        for patch in &body.patches {
            ops.extend_from_slice(self.bytes(at, patch.start));
            self.patch(body.function, patch, &mut scratch, &mut ops)?;
            at = patch.end;
        }
        ops.extend_from_slice(self.bytes(at, body.range.end));
        if scratch.added.is_empty() {
            let mut out = self.bytes(body.range.start, body.ops).to_vec();
            out.extend_from_slice(&ops);
            return Ok(out);
        }
        if body.locals + scratch.added.len() as u32 > MAX_LOCALS {
            return Err(Error::TooManyLocals { function: body.function });
        }
        // The local declarations: the old ones as they are, then one per added local.
        let mut reader = BinaryReader::new(self.bytes(body.range.start, body.ops), body.range.start);
        let declared = reader.read_var_u32().map_err(|e| Error::parse(&e, Some(body.function)))?;
        let rest = reader.original_position();
        let mut out = Vec::with_capacity(ops.len() + 16);
        (declared + scratch.added.len() as u32).encode(&mut out);
        out.extend_from_slice(self.bytes(rest, body.ops));
        for ty in &scratch.added {
            1u32.encode(&mut out);
            ty.encode(&mut out);
        }
        out.extend_from_slice(&ops);
        Ok(out)
    }

    /// Writes the replacement of one instruction.
    fn patch(
        &mut self,
        function: u32,
        patch: &Patch,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let at = |change| Relocation { function: Some(function), offset: patch.start, change };
        let call = |instruction, helper| RelocationKind::Call { instruction, helper };
        match patch.change {
            Change::Access(i) => return self.access(function, patch, i, scratch, out),
            Change::Size => {
                match self.plan.pages_global {
                    Some(g) => Instruction::GlobalGet(g).encode(out),
                    None => Instruction::I32Const(self.plan.initial as i32).encode(out),
                }
                let change =
                    RelocationKind::Pages { global: self.plan.pages_global, pages: self.plan.initial };
                self.entries.push(at(change));
            }
            Change::Grow => {
                let helper = self.plan.helper(HelperKind::Grow);
                Instruction::Call(helper).encode(out);
                self.entries.push(at(call("memory.grow", helper)));
            }
            Change::Copy => {
                let helper = self.plan.helper(HelperKind::Copy);
                Instruction::Call(helper).encode(out);
                self.entries.push(at(call("memory.copy", helper)));
            }
            Change::Fill => {
                let helper = self.plan.helper(HelperKind::Fill);
                Instruction::Call(helper).encode(out);
                self.entries.push(at(call("memory.fill", helper)));
            }
            Change::Init(d) => {
                let helper = self.plan.helper(HelperKind::Init(d));
                Instruction::Call(helper).encode(out);
                self.entries.push(at(call("memory.init", helper)));
            }
        }
        Ok(())
    }

    /// Writes a memory access with its offset moved by the base, and its check.
    fn access(
        &mut self,
        function: u32,
        patch: &Patch,
        index: usize,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let access = &self.scan.analysis.accesses[index];
        let fail = |e: wasmparser::BinaryReaderError| Error::parse(&e, Some(function));
        let bytes = self.bytes(patch.start, patch.end);
        let mut reader = OperatorsReader::new(BinaryReader::new_features(bytes, patch.start, FEATURES));
        let op = reader.read().map_err(fail)?;
        let Some(m) = memory_op(&op) else {
            return Err(Error::Malformed {
                function: Some(function),
                offset: patch.start,
                message: "expected a memory instruction".into(),
            });
        };
        let offset = access.static_offset;
        let new_offset = offset + self.plan.base;
        let place = |change| Relocation { function: Some(function), offset: patch.start, change };
        if new_offset > u64::from(u32::MAX) {
            // The effective address is past 4 GiB whatever the dynamic address: the original
            // traps too, its memory being no larger than the segment.
            Instruction::Unreachable.encode(out);
            self.entries.push(place(RelocationKind::Trap { instruction: m.name, old_offset: offset }));
            return Ok(());
        }
        let end = offset + u64::from(m.size);
        let checked =
            self.plan.checks && !access.address.is_some_and(|a| self.plan.proven(a + offset, a + end));
        if checked {
            // Set the operands above the address aside, check the address, put them back.
            let slots: Vec<u32> = {
                let mut seen = [0usize; 5];
                m.above
                    .iter()
                    .map(|t| {
                        let slot = seen[t.index()];
                        seen[t.index()] += 1;
                        scratch.operand(*t, slot)
                    })
                    .collect()
            };
            for s in slots.iter().rev() {
                Instruction::LocalSet(*s).encode(out);
            }
            let a = scratch.address();
            self.plan.check(out, a, offset, end);
            for s in &slots {
                Instruction::LocalGet(*s).encode(out);
            }
        }
        self.pending_offset = Some(new_offset);
        let instruction = self.instruction(op).map_err(|e| match e {
            reencode::Error::UserError(e) => e,
            other => {
                Error::Malformed { function: Some(function), offset: patch.start, message: other.to_string() }
            }
        })?;
        self.pending_offset = None;
        instruction.encode(out);
        self.entries.push(place(RelocationKind::Memarg {
            instruction: m.name,
            old_offset: offset,
            new_offset,
            checked,
        }));
        Ok(())
    }

    /// The memory's new declaration.
    fn memory(&mut self, m: wasmparser::MemoryType, imported: bool, offset: u64) -> MemoryType {
        let total = self.plan.total_pages;
        let maximum = match (imported, m.shared) {
            // A shared memory must declare a maximum; an importer accepts any memory up to it.
            (true, true) => Some(1 << 16),
            (true, false) => None,
            (false, _) => Some(total),
        };
        self.entries.push(Relocation {
            function: None,
            offset,
            change: RelocationKind::Memory {
                imported,
                old_initial: m.initial,
                old_maximum: m.maximum,
                new_initial: total,
                new_maximum: maximum,
            },
        });
        MemoryType { minimum: total, maximum, memory64: false, shared: m.shared, page_size_log2: None }
    }

    fn add_types(&self, types: &mut TypeSection) {
        for (s, _) in &self.plan.types {
            types.ty().function(s.params().iter().copied(), s.results().iter().copied());
        }
    }

    fn add_functions(&self, functions: &mut FunctionSection) {
        for (k, _) in &self.plan.helpers {
            functions.function(self.plan.type_of(k.signature()));
        }
    }

    fn add_globals(&self, globals: &mut GlobalSection) {
        if self.plan.pages_global.is_some() {
            let ty = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
            globals.global(ty, &ConstExpr::i32_const(self.plan.initial as i32));
            let ty = GlobalType { val_type: ValType::I64, mutable: true, shared: false };
            globals.global(ty, &ConstExpr::i64_const((self.plan.initial * PAGE) as i64));
        }
    }

    fn add_code(&self, code: &mut CodeSection) {
        for (k, _) in &self.plan.helpers {
            code.function(&self.helper_body(*k));
        }
    }

    /// A helper's body.
    fn helper_body(&self, kind: HelperKind) -> Function {
        let plan = &self.plan;
        let mut out = Vec::new();
        // Traps unless [local start, local start + local len) is the module's or shared.
        let check = |out: &mut Vec<u8>, start: u32, len: u32| {
            let end = |out: &mut Vec<u8>| {
                Instruction::LocalGet(start).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                Instruction::LocalGet(len).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                Instruction::I64Add.encode(out);
            };
            end(out);
            plan.limit(out);
            Instruction::I64GtU.encode(out);
            Instruction::If(BlockType::Empty).encode(out);
            plan.out_of_bounds(out, |out| {
                Instruction::LocalGet(start).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                end(out);
            });
            Instruction::End.encode(out);
        };
        let rebased = |out: &mut Vec<u8>, local: u32| {
            Instruction::LocalGet(local).encode(out);
            Instruction::I32Const(plan.base as u32 as i32).encode(out);
            Instruction::I32Add.encode(out);
        };
        match kind {
            HelperKind::Grow => {
                let pages = plan.pages_global.unwrap_or(0);
                let bytes = plan.bytes_global.unwrap_or(0);
                // if n > max - pages { -1 } else { old = pages; pages += n; bytes = pages << 16; old }
                Instruction::LocalGet(0).encode(&mut out);
                Instruction::I32Const(plan.max_pages as u32 as i32).encode(&mut out);
                Instruction::GlobalGet(pages).encode(&mut out);
                Instruction::I32Sub.encode(&mut out);
                Instruction::I32GtU.encode(&mut out);
                Instruction::If(BlockType::Result(ValType::I32)).encode(&mut out);
                Instruction::I32Const(-1).encode(&mut out);
                Instruction::Else.encode(&mut out);
                Instruction::GlobalGet(pages).encode(&mut out);
                Instruction::GlobalGet(pages).encode(&mut out);
                Instruction::LocalGet(0).encode(&mut out);
                Instruction::I32Add.encode(&mut out);
                Instruction::GlobalSet(pages).encode(&mut out);
                Instruction::GlobalGet(pages).encode(&mut out);
                Instruction::I64ExtendI32U.encode(&mut out);
                Instruction::I64Const(16).encode(&mut out);
                Instruction::I64Shl.encode(&mut out);
                Instruction::GlobalSet(bytes).encode(&mut out);
                Instruction::End.encode(&mut out);
            }
            HelperKind::Copy => {
                // (dst, src, len)
                check(&mut out, 0, 2);
                check(&mut out, 1, 2);
                rebased(&mut out, 0);
                rebased(&mut out, 1);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryCopy { src_mem: 0, dst_mem: 0 }.encode(&mut out);
            }
            HelperKind::Fill => {
                // (dst, value, len)
                check(&mut out, 0, 2);
                rebased(&mut out, 0);
                Instruction::LocalGet(1).encode(&mut out);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryFill(0).encode(&mut out);
            }
            HelperKind::Init(data_index) => {
                // (dst, src in the segment, len); the source is checked by memory.init itself.
                check(&mut out, 0, 2);
                rebased(&mut out, 0);
                Instruction::LocalGet(1).encode(&mut out);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryInit { mem: 0, data_index }.encode(&mut out);
            }
            HelperKind::Shared => {
                // (start, end): returns if some region holds [start, end), traps otherwise.
                for &(s, e) in &plan.shared {
                    Instruction::LocalGet(0).encode(&mut out);
                    Instruction::I64Const(s as i64).encode(&mut out);
                    Instruction::I64GeU.encode(&mut out);
                    Instruction::LocalGet(1).encode(&mut out);
                    Instruction::I64Const(e as i64).encode(&mut out);
                    Instruction::I64LeU.encode(&mut out);
                    Instruction::I32And.encode(&mut out);
                    Instruction::If(BlockType::Empty).encode(&mut out);
                    Instruction::Return.encode(&mut out);
                    Instruction::End.encode(&mut out);
                }
                Instruction::Unreachable.encode(&mut out);
            }
        }
        Instruction::End.encode(&mut out);
        let mut f = Function::new([]);
        f.raw(out);
        f
    }
}

impl Reencode for Rewriter<'_> {
    type Error = Error;

    fn mem_arg(
        &mut self,
        arg: wasmparser::MemArg,
    ) -> Result<wasm_encoder::MemArg, reencode::Error<Self::Error>> {
        let mut m = RoundtripReencoder.mem_arg(arg).map_err(|e| match e {
            reencode::Error::ParseError(e) => reencode::Error::ParseError(e),
            other => reencode::Error::UserError(Error::Malformed {
                function: None,
                offset: 0,
                message: other.to_string(),
            }),
        })?;
        if let Some(offset) = self.pending_offset.take() {
            m.offset = offset;
        }
        Ok(m)
    }

    fn memory_type(&mut self, m: wasmparser::MemoryType) -> Result<MemoryType, reencode::Error<Self::Error>> {
        let offset = self.scan.analysis.memories[0].offset;
        Ok(self.memory(m, false, offset))
    }

    fn entity_type(&mut self, ty: wasmparser::TypeRef) -> Result<EntityType, reencode::Error<Self::Error>> {
        match ty {
            wasmparser::TypeRef::Memory(m) => {
                let offset = self.scan.analysis.memories[0].offset;
                Ok(EntityType::Memory(self.memory(m, true, offset)))
            }
            other => reencode::utils::entity_type(self, other),
        }
    }

    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // Copied as they are (names stay right: no index moves).
        module.section(&self.custom_section(section)?);
        Ok(())
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        self.add_types(types);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_function_section(self, functions, section)?;
        self.add_functions(functions);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_globals(globals);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for _ in 0..section.count() {
            let Some(body) = self.scan.bodies.get(self.next_body) else { break };
            self.next_body += 1;
            if body.patches.is_empty() {
                code.raw(self.bytes(body.range.start, body.range.end));
            } else {
                let bytes = self.body(body).map_err(reencode::Error::UserError)?;
                code.raw(&bytes);
            }
        }
        self.add_code(code);
        Ok(())
    }

    fn parse_data(
        &mut self,
        data: &mut DataSection,
        datum: wasmparser::Data<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let index = self.next_data;
        self.next_data += 1;
        let segment = &self.scan.analysis.data[index];
        match segment.mode {
            DataMode::Active { address: Some(address), .. } => {
                let new_address = address + self.plan.base;
                data.active(0, &ConstExpr::i32_const(new_address as u32 as i32), datum.data.iter().copied());
                self.entries.push(Relocation {
                    function: None,
                    offset: segment.offset,
                    change: RelocationKind::Data { segment: index as u32, old_address: address, new_address },
                });
                Ok(())
            }
            DataMode::Active { address: None, .. } => {
                Err(reencode::Error::UserError(Error::DataAddressNotConstant {
                    segment: index as u32,
                    offset: segment.offset,
                }))
            }
            DataMode::Passive => reencode::utils::parse_data(self, data, datum),
        }
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let low = after.map_or(0, rank);
        let high = before.map_or(u8::MAX, rank);
        let s = &self.scan.sections;
        let helpers = !self.plan.helpers.is_empty();
        let missing = [
            (SectionId::Type, helpers && !s.has_types),
            (SectionId::Function, helpers && !s.has_functions),
            (SectionId::Global, self.plan.pages_global.is_some() && !s.has_globals),
            (SectionId::Code, helpers && !s.has_code),
        ];
        for (id, needed) in missing {
            if !needed || self.added.contains(&id) || !(low < rank(id) && rank(id) < high) {
                continue;
            }
            self.added.push(id);
            match id {
                SectionId::Type => {
                    let mut types = TypeSection::new();
                    self.add_types(&mut types);
                    module.section(&types);
                }
                SectionId::Function => {
                    let mut functions = FunctionSection::new();
                    self.add_functions(&mut functions);
                    module.section(&functions);
                }
                SectionId::Global => {
                    let mut globals = GlobalSection::new();
                    self.add_globals(&mut globals);
                    module.section(&globals);
                }
                _ => {
                    let mut code = CodeSection::new();
                    self.add_code(&mut code);
                    module.section(&code);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_rank_in_module_order() {
        let order = [
            SectionId::Type,
            SectionId::Import,
            SectionId::Function,
            SectionId::Table,
            SectionId::Memory,
            SectionId::Tag,
            SectionId::Global,
            SectionId::Export,
            SectionId::Start,
            SectionId::Element,
            SectionId::DataCount,
            SectionId::Code,
            SectionId::Data,
        ];
        assert!(order.windows(2).all(|w| rank(w[0]) < rank(w[1])));
    }
}

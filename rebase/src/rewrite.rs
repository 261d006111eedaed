//! The rewrite: the module is written section by section. Unchanged sections are copied as they
//! are; the type, function and global sections get the added items after their own; the
//! memory's declaration (or import) and the data segments' addresses are written anew; and
//! function bodies are patched: the bytes between two changed instructions are copied, and only
//! the changed instructions (and checks) are encoded anew. A body without memory instructions
//! is copied whole.

use std::collections::BTreeSet;

use std::ops::Range;

use wasm_encoder::{
    BlockType, ConstExpr, Encode, EntityType, ExportKind, Function, FunctionSection, GlobalType, Instruction,
    MemorySection, MemoryType, SectionId, TypeSection, ValType,
};
use wasmparser::{BinaryReader, Payload};

use crate::access::{AccessKind, MemoryOp, Operand};
use crate::analysis::{Body, Change, DataMode, MAX_LOCALS, Patch, Scan};
use crate::relocs::{Counts, Helper, Relocation, RelocationKind, Relocations};
use crate::threads::{PARALLEL_BYTES, on_threads, split};
use crate::{Error, FEATURES, MASK_TAIL, Options, PAGE, Shared, TRAP_EXPORT, TrapKind};

/// The signatures helpers use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Signature {
    /// `memory.grow`: `(i32) -> i32`.
    Grow,
    /// `memory.copy`, `memory.fill`, `memory.init`: `(i32 i32 i32) -> ()`.
    Bulk,
    /// The shared-region check: `(i64 i64) -> ()`, start and end of the bytes touched.
    Shared,
    /// A trap report: `(i64) -> ()`, the absolute address of the first byte touched.
    Trap,
}

impl Signature {
    fn params(self) -> &'static [ValType] {
        match self {
            Self::Grow => &[ValType::I32],
            Self::Bulk => &[ValType::I32, ValType::I32, ValType::I32],
            Self::Shared => &[ValType::I64, ValType::I64],
            Self::Trap => &[ValType::I64],
        }
    }

    fn results(self) -> &'static [ValType] {
        match self {
            Self::Grow => &[ValType::I32],
            Self::Bulk | Self::Shared | Self::Trap => &[],
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
    /// The shared-region check of a read (`false`) or a write (`true`).
    Shared(bool),
    /// Records why and where the module trapped in the trap global, and traps.
    Trap(TrapKind),
}

impl HelperKind {
    fn signature(self) -> Signature {
        match self {
            Self::Grow => Signature::Grow,
            Self::Copy | Self::Fill | Self::Init(_) => Signature::Bulk,
            Self::Shared(_) => Signature::Shared,
            Self::Trap(_) => Signature::Trap,
        }
    }

    fn name(self) -> String {
        match self {
            Self::Grow => "memory.grow".into(),
            Self::Copy => "memory.copy".into(),
            Self::Fill => "memory.fill".into(),
            Self::Init(d) => format!("memory.init {d}"),
            Self::Shared(false) => "shared-check.read".into(),
            Self::Shared(true) => "shared-check.write".into(),
            Self::Trap(k) => format!("trap.{}", k.name()),
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
    /// The segment's size, if accesses are masked into it (a power of two).
    masked: Option<u64>,
    /// Shared regions, module-relative.
    shared: Vec<Shared>,
    /// The page-count global (i32), if the module grows its memory.
    pages_global: Option<u32>,
    /// The global with the module's memory in bytes (i64), for the checks, next to it.
    bytes_global: Option<u32>,
    /// The trap global (i64, exported as [`TRAP_EXPORT`]), if anything checks.
    trap_global: Option<u32>,
    /// Types added, with their indices.
    types: Vec<(Signature, u32)>,
    /// Functions added, with their indices.
    helpers: Vec<(HelperKind, u32)>,
}

impl Plan {
    /// Decides the globals, types and helpers the module gets.
    pub(crate) fn new(scan: &Scan, options: &Options, shared: Vec<Shared>) -> Self {
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
        for b in &a.bulk {
            match (b.instruction, b.data) {
                ("memory.copy", _) if !kinds.contains(&HelperKind::Copy) => kinds.push(HelperKind::Copy),
                ("memory.fill", _) if !kinds.contains(&HelperKind::Fill) => kinds.push(HelperKind::Fill),
                ("memory.init", Some(d)) => {
                    inits.insert(d);
                }
                _ => {}
            }
        }
        kinds.extend(inits.into_iter().map(HelperKind::Init));
        // The bulk helpers check their ranges whatever the options.
        let accesses =
            scan.bodies.iter().any(|b| b.patches.iter().any(|p| matches!(p.change, Change::Access { .. })));
        let checks = (options.rewrite.bounds_checks && accesses)
            || kinds.iter().any(|k| matches!(k, HelperKind::Copy | HelperKind::Fill | HelperKind::Init(_)));
        if checks {
            kinds.extend([HelperKind::Trap(TrapKind::Read), HelperKind::Trap(TrapKind::Write)]);
            if shared.iter().any(|r| !r.access.writable()) {
                kinds.push(HelperKind::Trap(TrapKind::ReadOnlyWrite));
            }
            if !shared.is_empty() {
                kinds.extend([HelperKind::Shared(false), HelperKind::Shared(true)]);
            }
        }
        kinds.sort_unstable();
        let mut types: Vec<(Signature, u32)> = Vec::new();
        for k in &kinds {
            if !types.iter().any(|(s, _)| *s == k.signature()) {
                types.push((k.signature(), scan.sections.types + types.len() as u32));
            }
        }
        let helpers = kinds.iter().enumerate().map(|(i, k)| (*k, a.functions + i as u32)).collect();
        let needed = options.base + options.size + if options.rewrite.masking { MASK_TAIL.get() } else { 0 };
        let shared_end = shared.iter().map(|r| r.range.end + options.base).max().unwrap_or(0);
        let total_pages = options.memory_pages.unwrap_or_else(|| needed.max(shared_end).div_ceil(PAGE));
        Self {
            base: options.base,
            initial: memory.initial,
            max_pages,
            total_pages,
            checks: options.rewrite.bounds_checks,
            masked: options.rewrite.masking.then_some(options.size),
            shared,
            pages_global,
            bytes_global: pages_global.map(|g| g + 1),
            trap_global: checks.then_some(scan.sections.globals + if pages_global.is_some() { 2 } else { 0 }),
            types,
            helpers,
        }
    }

    /// Whether the module gets the trap global and its export.
    pub(crate) fn reports_traps(&self) -> bool {
        self.trap_global.is_some()
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
    fn check(&self, out: &mut Vec<u8>, a: u32, offset: u64, end: u64, write: bool) {
        let at = |add: u64| {
            move |out: &mut Vec<u8>| {
                Instruction::LocalGet(a).encode(out);
                Instruction::I64ExtendI32U.encode(out);
                Instruction::I64Const(add as i64).encode(out);
                Instruction::I64Add.encode(out);
            }
        };
        let (first, last) = (at(offset), at(end));
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
                self.out_of_bounds(out, write, Some((a, offset, end)), &first, &last);
                Instruction::End.encode(out);
            }
            None if end <= limit => {
                // A fixed memory: address > limit - end, with the bound computed here, so no
                // addition at run time and nothing to overflow.
                Instruction::LocalTee(a).encode(out);
                Instruction::I32Const((limit - end) as u32 as i32).encode(out);
                Instruction::I32GtU.encode(out);
                Instruction::If(BlockType::Empty).encode(out);
                self.out_of_bounds(out, write, Some((a, offset, end)), &first, &last);
                Instruction::End.encode(out);
            }
            None => {
                // Past the memory whatever the address: only a shared region can take it.
                Instruction::LocalSet(a).encode(out);
                self.out_of_bounds(out, write, Some((a, offset, end)), &first, &last);
            }
        }
        Instruction::LocalGet(a).encode(out);
    }

    /// The globals added, as a global section holds them, and their count: the two of a
    /// module that grows its memory (its pages, i32, and bytes, i64), then the trap global.
    fn added_globals(&self) -> (u32, Vec<u8>) {
        let mut out = Vec::new();
        let mut globals = Vec::new();
        if self.pages_global.is_some() {
            globals.push((ValType::I32, ConstExpr::i32_const(self.initial as i32)));
            globals.push((ValType::I64, ConstExpr::i64_const((self.initial * PAGE) as i64)));
        }
        if self.trap_global.is_some() {
            globals.push((ValType::I64, ConstExpr::i64_const(0)));
        }
        for (val_type, init) in &globals {
            GlobalType { val_type: *val_type, mutable: true, shared: false }.encode(&mut out);
            init.encode(&mut out);
        }
        (globals.len() as u32, out)
    }

    /// The export of the trap global, as an export section holds it, or nothing.
    fn added_exports(&self) -> (u32, Vec<u8>) {
        let mut out = Vec::new();
        let Some(g) = self.trap_global else { return (0, out) };
        TRAP_EXPORT.encode(&mut out);
        ExportKind::Global.encode(&mut out);
        g.encode(&mut out);
        (1, out)
    }

    /// A helper's body.
    fn helper_body(&self, kind: HelperKind) -> Function {
        let plan = self;
        let mut out = Vec::new();
        // Traps unless [local start, local start + local len) is the module's or shared.
        let check = |out: &mut Vec<u8>, start: u32, len: u32, write: bool| {
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
            let first = |out: &mut Vec<u8>| {
                Instruction::LocalGet(start).encode(out);
                Instruction::I64ExtendI32U.encode(out);
            };
            plan.out_of_bounds(out, write, None, &first, &end);
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
                check(&mut out, 0, 2, true);
                check(&mut out, 1, 2, false);
                rebased(&mut out, 0);
                rebased(&mut out, 1);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryCopy { src_mem: 0, dst_mem: 0 }.encode(&mut out);
            }
            HelperKind::Fill => {
                // (dst, value, len)
                check(&mut out, 0, 2, true);
                rebased(&mut out, 0);
                Instruction::LocalGet(1).encode(&mut out);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryFill(0).encode(&mut out);
            }
            HelperKind::Init(data_index) => {
                // (dst, src in the segment, len); the source is checked by memory.init itself.
                check(&mut out, 0, 2, true);
                rebased(&mut out, 0);
                Instruction::LocalGet(1).encode(&mut out);
                Instruction::LocalGet(2).encode(&mut out);
                Instruction::MemoryInit { mem: 0, data_index }.encode(&mut out);
            }
            HelperKind::Shared(write) => {
                // (start, end): returns if a region the access may reach holds [start, end);
                // otherwise reports why (a write into a region it may only read, or an access
                // outside everything it may reach) and traps.
                let within = |out: &mut Vec<u8>, r: &Shared, then: &dyn Fn(&mut Vec<u8>)| {
                    Instruction::LocalGet(0).encode(out);
                    Instruction::I64Const(r.range.start as i64).encode(out);
                    Instruction::I64GeU.encode(out);
                    Instruction::LocalGet(1).encode(out);
                    Instruction::I64Const(r.range.end as i64).encode(out);
                    Instruction::I64LeU.encode(out);
                    Instruction::I32And.encode(out);
                    Instruction::If(BlockType::Empty).encode(out);
                    then(out);
                    Instruction::End.encode(out);
                };
                let report = |out: &mut Vec<u8>, kind: TrapKind| {
                    Instruction::LocalGet(0).encode(out);
                    Instruction::I64Const(plan.base as i64).encode(out);
                    Instruction::I64Add.encode(out);
                    Instruction::Call(plan.helper(HelperKind::Trap(kind))).encode(out);
                };
                for r in plan.shared.iter().filter(|r| !write || r.access.writable()) {
                    within(&mut out, r, &|out| Instruction::Return.encode(out));
                }
                if write {
                    for r in plan.shared.iter().filter(|r| !r.access.writable()) {
                        within(&mut out, r, &|out| report(out, TrapKind::ReadOnlyWrite));
                    }
                }
                report(&mut out, if write { TrapKind::Write } else { TrapKind::Read });
            }
            HelperKind::Trap(kind) => {
                // (address): trap global = kind << SHIFT | address; unreachable.
                Instruction::I64Const(((kind as u64) << TrapKind::SHIFT) as i64).encode(&mut out);
                Instruction::LocalGet(0).encode(&mut out);
                Instruction::I64Or.encode(&mut out);
                Instruction::GlobalSet(plan.trap_global.unwrap_or(0)).encode(&mut out);
                Instruction::Unreachable.encode(&mut out);
            }
        }
        Instruction::End.encode(&mut out);
        let mut f = Function::new([]);
        f.raw(out);
        f
    }

    /// Whether `[start, end)` (module-relative) lies in the memory the module surely has, or in
    /// a shared region it may reach so (`write`: to write).
    fn proven(&self, start: u64, end: u64, write: bool) -> bool {
        end <= self.initial * PAGE
            || self
                .shared
                .iter()
                .any(|r| start >= r.range.start && end <= r.range.end && (!write || r.access.writable()))
    }

    /// What runs when an access ends past the module's memory: the shared-region check of
    /// `[start, end)` (module-relative, pushed by `range`), or the trap report of its start.
    ///
    /// For an access of `[offset, end)` past the address in local `a` (`inline`), each shared
    /// region it may reach is first tried in place, in 32 bits (`a - low > span`, one
    /// subtraction and one comparison): only an access that lands in none of them calls the
    /// helper, which tries them again in 64 bits and reports why it traps. So an access to a
    /// shared region costs two comparisons, not a call.
    fn out_of_bounds(
        &self,
        out: &mut Vec<u8>,
        write: bool,
        inline: Option<(u32, u64, u64)>,
        start: &dyn Fn(&mut Vec<u8>),
        end: &dyn Fn(&mut Vec<u8>),
    ) {
        if self.shared.is_empty() {
            start(out);
            Instruction::I64Const(self.base as i64).encode(out);
            Instruction::I64Add.encode(out);
            let kind = if write { TrapKind::Write } else { TrapKind::Read };
            Instruction::Call(self.helper(HelperKind::Trap(kind))).encode(out);
            return;
        }
        // The addresses `a` in [low, low + span] put the whole access in the region.
        let tried: Vec<(u32, u32)> = match inline {
            Some((_, offset, access_end)) => self
                .shared
                .iter()
                .filter(|r| !write || r.access.writable())
                .filter_map(|r| {
                    let low = r.range.start.checked_sub(offset)?;
                    let high = r.range.end.checked_sub(access_end)?;
                    let span = high.checked_sub(low)?;
                    // In 32 bits, `a - low` wraps for no `a` only if `low + span` fits.
                    u32::try_from(high).ok()?;
                    Some((u32::try_from(low).ok()?, u32::try_from(span).ok()?))
                })
                .collect(),
            None => Vec::new(),
        };
        if let Some((a, _, _)) = inline {
            for &(low, span) in &tried {
                Instruction::LocalGet(a).encode(out);
                Instruction::I32Const(low as i32).encode(out);
                Instruction::I32Sub.encode(out);
                Instruction::I32Const(span as i32).encode(out);
                Instruction::I32GtU.encode(out);
                Instruction::If(BlockType::Empty).encode(out);
            }
        }
        start(out);
        end(out);
        Instruction::Call(self.helper(HelperKind::Shared(write))).encode(out);
        for _ in &tried {
            Instruction::End.encode(out);
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

    /// Sets the operands `above` the address aside in scratch locals (top first), writes what
    /// `at_address` writes with the address on top of the stack, and takes them back.
    fn around_address(
        &mut self,
        above: &[Operand],
        out: &mut Vec<u8>,
        at_address: impl FnOnce(&mut Self, &mut Vec<u8>),
    ) {
        let mut slots = [0u32; 2];
        let mut seen = [0usize; 5];
        for (slot, t) in slots.iter_mut().zip(above) {
            *slot = self.operand(*t, seen[t.index()]);
            seen[t.index()] += 1;
        }
        let slots = &slots[..above.len()];
        for s in slots.iter().rev() {
            Instruction::LocalSet(*s).encode(out);
        }
        at_address(self, out);
        for s in slots {
            Instruction::LocalGet(*s).encode(out);
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

/// Why a custom section goes stale when code moves, for the sections that do: the one list the
/// rebaser and the merge both leave out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stale {
    /// DWARF, source maps, branch hints and other code metadata: they hold code offsets.
    CodeOffsets,
    /// A relocatable object's `linking` and `reloc.*` tables.
    Linking,
}

impl Stale {
    /// Why a section of this kind is left out, in words.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::CodeOffsets => "holds code offsets, which rebasing and linking move",
            Self::Linking => "an object file's linking data, stale once rebased and linked",
        }
    }
}

/// Whether, and why, the custom section `name` goes stale when the rewrite moves code.
pub(crate) fn stale(name: &str) -> Option<Stale> {
    if name.starts_with(".debug_")
        || name.starts_with("metadata.code.")
        || matches!(name, "sourceMappingURL" | "external_debug_info")
    {
        Some(Stale::CodeOffsets)
    } else if name == "linking" || name.starts_with("reloc.") {
        Some(Stale::Linking)
    } else {
        None
    }
}

/// A `u32` LEB128 in five bytes (padded, as the encoding allows), to be filled in later.
const PADDED: [u8; 5] = [0x80, 0x80, 0x80, 0x80, 0x00];

/// Appends `value` as an unsigned LEB128.
#[inline]
fn leb128_u64(mut value: u64, out: &mut Vec<u8>) {
    let mut bytes = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes[n] = byte;
            n += 1;
            break;
        }
        bytes[n] = byte | 0x80;
        n += 1;
    }
    // All ten bytes and then the length: a copy of a fixed size is a few moves, where one of
    // `n` bytes would be a call.
    let len = out.len();
    out.extend_from_slice(&bytes);
    out.truncate(len + n);
}

/// `value` as a LEB128 in the first bytes of the array, and how many.
fn leb128(mut value: u32) -> ([u8; 5], usize) {
    let mut bytes = [0; 5];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            return (bytes, i + 1);
        }
        *byte |= 0x80;
    }
    (bytes, 5)
}

/// Writes `value` over a [`PADDED`] placeholder at `at`.
fn fill_padded(out: &mut [u8], at: usize, value: u32) {
    for (i, byte) in out[at..at + 5].iter_mut().enumerate() {
        let bits = ((value >> (7 * i)) & 0x7f) as u8;
        *byte = if i < 4 { bits | 0x80 } else { bits };
    }
}

/// The writer: copies the module section by section, the unchanged ones as they are.
pub(crate) struct Rewriter<'m> {
    module: &'m [u8],
    scan: &'m Scan,
    plan: Plan,
    /// List every change ([`RewriteOptions::relocation_entries`](crate::RewriteOptions::relocation_entries)).
    record: bool,
    /// The changes made, if listed.
    entries: Vec<Relocation>,
    /// How many of each kind.
    counts: Counts,
    /// The rank of the last section written, so that added ones go in order.
    written: u8,
    /// The threads to write bodies on.
    threads: usize,
}

impl<'m> Rewriter<'m> {
    pub(crate) fn new(module: &'m [u8], scan: &'m Scan, plan: Plan, record: bool, threads: usize) -> Self {
        Self {
            module,
            scan,
            plan,
            record,
            entries: Vec::new(),
            counts: Counts::default(),
            written: 0,
            threads,
        }
    }

    fn record(&mut self, r: Relocation) {
        self.counts.add(&r.change);
        if self.record {
            self.entries.push(r);
        }
    }

    /// Writes the module and returns it with the relocation table.
    pub(crate) fn run(mut self, options: &Options) -> Result<(Vec<u8>, Relocations), Error> {
        let module = self.module;
        let extra = self.scan.bodies.iter().map(|b| b.patches.len() * 32).sum::<usize>();
        let mut out = Vec::with_capacity(module.len() + extra + 1024);
        let parse = |e: wasmparser::BinaryReaderError| Error::parse(&e, None);
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(FEATURES);
        for payload in parser.parse_all(module) {
            match payload.map_err(parse)? {
                Payload::Version { range, .. } => out.extend_from_slice(self.bytes(range.start, range.end)),
                Payload::CustomSection(reader) => {
                    let range = reader.range();
                    if stale(reader.name()).is_some() {
                        let section = reader.name().to_string();
                        self.record(Relocation {
                            function: None,
                            offset: range.start,
                            change: RelocationKind::Dropped { section },
                        });
                    } else {
                        self.raw(&mut out, SectionId::Custom, range)?;
                    }
                }
                Payload::TypeSection(reader) => {
                    let mut added = Vec::new();
                    for (s, _) in &self.plan.types {
                        func_type(*s, &mut added);
                    }
                    let count = self.plan.types.len() as u32;
                    self.append(&mut out, SectionId::Type, reader.range(), count, &added)?;
                }
                Payload::ImportSection(reader) => self.imports(&mut out, reader)?,
                Payload::FunctionSection(reader) => {
                    let mut added = Vec::new();
                    for (k, _) in &self.plan.helpers {
                        self.plan.type_of(k.signature()).encode(&mut added);
                    }
                    let count = self.plan.helpers.len() as u32;
                    self.append(&mut out, SectionId::Function, reader.range(), count, &added)?;
                }
                Payload::MemorySection(reader) => {
                    self.missing(&mut out, rank(SectionId::Memory))?;
                    let offset = self.scan.analysis.memories[0].offset;
                    let mut memories = MemorySection::new();
                    for m in reader {
                        memories.memory(self.memory(m.map_err(parse)?, false, offset));
                    }
                    self.section(&mut out, SectionId::Memory, &memories);
                }
                Payload::GlobalSection(reader) => {
                    let (count, added) = self.plan.added_globals();
                    self.append(&mut out, SectionId::Global, reader.range(), count, &added)?;
                }
                Payload::ExportSection(reader) => {
                    let (count, added) = self.plan.added_exports();
                    self.append(&mut out, SectionId::Export, reader.range(), count, &added)?;
                }
                Payload::CodeSectionStart { count, .. } => self.code(&mut out, count)?,
                Payload::CodeSectionEntry(_) | Payload::End(_) => {}
                Payload::DataSection(reader) => self.data(&mut out, reader)?,
                other => match other.as_section().and_then(|(id, range)| Some((section_id(id)?, range))) {
                    Some((id, range)) => self.raw(&mut out, id, range)?,
                    None => {
                        return Err(Error::Malformed {
                            function: None,
                            offset: 0,
                            message: "a payload that is not a section of a core module".into(),
                        });
                    }
                },
            }
        }
        self.missing(&mut out, u8::MAX)?;
        let mut entries = self.entries;
        entries.sort_by_key(|e| e.offset);
        let counts = self.counts;
        let relocs = Relocations {
            base: options.base,
            size: options.size,
            bounds_checks: options.rewrite.bounds_checks,
            masking: options.rewrite.masking,
            shared: self.plan.shared.clone(),
            pages_global: self.plan.pages_global,
            bytes_global: self.plan.bytes_global,
            trap_global: self.plan.trap_global,
            helpers: self.plan.helpers.iter().map(|&(k, f)| Helper { function: f, name: k.name() }).collect(),
            counts,
            entries,
        };
        Ok((out, relocs))
    }

    fn bytes(&self, start: u64, end: u64) -> &'m [u8] {
        &self.module[start as usize..end as usize]
    }

    /// Before a section of rank `next`: writes the sections the additions need that the module
    /// lacks and that come before it.
    fn missing(&mut self, out: &mut Vec<u8>, next: u8) -> Result<(), Error> {
        let s = &self.scan.sections;
        let helpers = !self.plan.helpers.is_empty();
        let needed = [
            (SectionId::Type, helpers && !s.has_types),
            (SectionId::Function, helpers && !s.has_functions),
            (SectionId::Global, self.plan.added_globals().0 > 0 && !s.has_globals),
            (SectionId::Export, self.plan.trap_global.is_some() && !s.has_exports),
            (SectionId::Code, helpers && !s.has_code),
        ];
        for (id, needed) in needed {
            if !needed || rank(id) <= self.written || rank(id) >= next {
                continue;
            }
            match id {
                SectionId::Type => {
                    let mut types = TypeSection::new();
                    for (s, _) in &self.plan.types {
                        types.ty().function(s.params().iter().copied(), s.results().iter().copied());
                    }
                    self.section(out, id, &types);
                }
                SectionId::Function => {
                    let mut functions = FunctionSection::new();
                    for (k, _) in &self.plan.helpers {
                        functions.function(self.plan.type_of(k.signature()));
                    }
                    self.section(out, id, &functions);
                }
                SectionId::Global | SectionId::Export => {
                    let (count, added) = if id == SectionId::Global {
                        self.plan.added_globals()
                    } else {
                        self.plan.added_exports()
                    };
                    let mut content = Vec::new();
                    count.encode(&mut content);
                    content.extend_from_slice(&added);
                    self.start_section(out, id);
                    content.encode(out);
                }
                _ => self.code(out, 0)?,
            }
        }
        Ok(())
    }

    /// Starts a section of `id`: notes its rank and writes its id.
    fn start_section(&mut self, out: &mut Vec<u8>, id: SectionId) {
        if id != SectionId::Custom {
            self.written = rank(id);
        }
        out.push(id as u8);
    }

    /// Writes an encoded section.
    fn section(&mut self, out: &mut Vec<u8>, id: SectionId, section: &impl Encode) {
        self.start_section(out, id);
        section.encode(out);
    }

    /// Copies a section as it is.
    fn raw(&mut self, out: &mut Vec<u8>, id: SectionId, range: Range<u64>) -> Result<(), Error> {
        if id != SectionId::Custom {
            // An added section may have to come first.
            self.missing(out, rank(id))?;
        }
        self.start_section(out, id);
        self.bytes(range.start, range.end).encode(out);
        Ok(())
    }

    /// Copies a vector section with `count` items `added` after its own.
    fn append(
        &mut self,
        out: &mut Vec<u8>,
        id: SectionId,
        range: Range<u64>,
        count: u32,
        added: &[u8],
    ) -> Result<(), Error> {
        self.missing(out, rank(id))?;
        let content = self.bytes(range.start, range.end);
        let mut reader = BinaryReader::new(content, range.start);
        let own = reader.read_var_u32().map_err(|e| Error::parse(&e, None))?;
        let items = &content[reader.current_position()..];
        let mut head = Vec::with_capacity(5);
        (own + count).encode(&mut head);
        self.start_section(out, id);
        ((head.len() + items.len() + added.len()) as u32).encode(out);
        out.extend_from_slice(&head);
        out.extend_from_slice(items);
        out.extend_from_slice(added);
        Ok(())
    }

    /// The import section, with the memory's import turned into one of the whole memory.
    fn imports(
        &mut self,
        out: &mut Vec<u8>,
        reader: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), Error> {
        let range = reader.range();
        if !self.scan.analysis.memories.iter().any(|m| m.imported) {
            return self.raw(out, SectionId::Import, range);
        }
        self.missing(out, rank(SectionId::Import))?;
        let mut imports = Vec::new();
        for import in reader.into_imports_with_offsets() {
            imports.push(import.map_err(|e| Error::parse(&e, None))?);
        }
        let mut content = Vec::with_capacity((range.end - range.start) as usize + 8);
        (imports.len() as u32).encode(&mut content);
        for (i, (offset, import)) in imports.iter().enumerate() {
            let end = imports.get(i + 1).map_or(range.end, |(next, _)| *next);
            match import.ty {
                wasmparser::TypeRef::Memory(m) => {
                    import.module.encode(&mut content);
                    import.name.encode(&mut content);
                    EntityType::Memory(self.memory(m, true, *offset)).encode(&mut content);
                }
                _ => content.extend_from_slice(self.bytes(*offset, end)),
            }
        }
        self.start_section(out, SectionId::Import);
        content.encode(out);
        Ok(())
    }

    /// The code section: `count` bodies of the module's, patched or copied, then the helpers.
    fn code(&mut self, out: &mut Vec<u8>, count: u32) -> Result<(), Error> {
        self.missing(out, rank(SectionId::Code))?;
        self.start_section(out, SectionId::Code);
        let size_at = out.len();
        out.extend_from_slice(&PADDED);
        let start = out.len();
        (count + self.plan.helpers.len() as u32).encode(out);
        let bodies = &self.scan.bodies;
        let code: u64 = bodies.iter().map(|b| b.range.end - b.range.start).sum();
        let parts = if code as usize >= PARALLEL_BYTES { self.threads } else { 1 };
        if parts < 2 {
            let mut writer = BodyWriter::new(self.module, &self.plan, self.record, bodies);
            writer.bodies(bodies, out)?;
            self.entries.extend(writer.entries);
            self.counts.merge(writer.counts);
        } else {
            let runs = split(bodies, parts, |b| b.range.end - b.range.start);
            let (module, plan, record) = (self.module, &self.plan, self.record);
            let written: Vec<Written> = on_threads(runs, |run| {
                let mut writer = BodyWriter::new(module, plan, record, run);
                let weight: u64 = run.iter().map(|b| b.range.end - b.range.start).sum();
                let mut bytes = Vec::with_capacity(weight as usize + weight as usize / 8);
                writer.bodies(run, &mut bytes).map(|()| (bytes, writer.entries, writer.counts))
            });
            for w in written {
                let (bytes, entries, counts) = w?;
                out.extend_from_slice(&bytes);
                self.entries.extend(entries);
                self.counts.merge(counts);
            }
        }
        for (k, _) in &self.plan.helpers {
            self.plan.helper_body(*k).encode(out);
        }
        let size = u32::try_from(out.len() - start).map_err(|_| Error::Malformed {
            function: None,
            offset: 0,
            message: "the code section grows past 4 GiB".into(),
        })?;
        fill_padded(out, size_at, size);
        Ok(())
    }

    /// The data section, active segments moved by the base.
    fn data(&mut self, out: &mut Vec<u8>, reader: wasmparser::DataSectionReader<'_>) -> Result<(), Error> {
        self.missing(out, rank(SectionId::Data))?;
        let range = reader.range();
        let mut content = Vec::with_capacity((range.end - range.start) as usize + 16);
        reader.count().encode(&mut content);
        for (index, datum) in reader.into_iter().enumerate() {
            let datum = datum.map_err(|e| Error::parse(&e, None))?;
            let segment = &self.scan.analysis.data[index];
            match segment.mode {
                DataMode::Active { address: Some(address), .. } => {
                    let new_address = address + self.plan.base;
                    // Memory 0, at the new address.
                    content.push(0);
                    ConstExpr::i32_const(new_address as u32 as i32).encode(&mut content);
                    datum.data.encode(&mut content);
                    self.record(Relocation {
                        function: None,
                        offset: segment.offset,
                        change: RelocationKind::Data {
                            segment: index as u32,
                            old_address: address,
                            new_address,
                        },
                    });
                }
                DataMode::Active { address: None, .. } => {
                    return Err(Error::DataAddressNotConstant {
                        segment: index as u32,
                        offset: segment.offset,
                    });
                }
                DataMode::Passive => {
                    content.extend_from_slice(self.bytes(datum.range.start, datum.range.end))
                }
            }
        }
        self.start_section(out, SectionId::Data);
        content.encode(out);
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
        self.record(Relocation {
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
}

/// Some bodies written on one thread, the changes made (if listed) and their counts, or the
/// first error.
type Written = Result<(Vec<u8>, Vec<Relocation>, Counts), Error>;

/// Writes function bodies: copied, or patched where they change.
struct BodyWriter<'m> {
    module: &'m [u8],
    plan: &'m Plan,
    /// List every change.
    record: bool,
    /// The changes made, if listed.
    entries: Vec<Relocation>,
    /// How many of each kind.
    counts: Counts,
}

impl<'m> BodyWriter<'m> {
    /// A writer for `bodies`, with room for an entry per change if it lists them.
    fn new(module: &'m [u8], plan: &'m Plan, record: bool, bodies: &[Body]) -> Self {
        let changes = if record { bodies.iter().map(|b| b.patches.len()).sum() } else { 0 };
        Self { module, plan, record, entries: Vec::with_capacity(changes), counts: Counts::default() }
    }

    fn bytes(&self, start: u64, end: u64) -> &'m [u8] {
        &self.module[start as usize..end as usize]
    }

    fn record(&mut self, r: Relocation) {
        self.counts.add(&r.change);
        if self.record {
            self.entries.push(r);
        }
    }

    /// Writes `bodies` to `out`, each with its size.
    fn bodies(&mut self, bodies: &[Body], out: &mut Vec<u8>) -> Result<(), Error> {
        let mut ops = Vec::new();
        for b in bodies {
            if b.patches.is_empty() {
                ((b.range.end - b.range.start) as u32).encode(out);
                out.extend_from_slice(self.bytes(b.range.start, b.range.end));
                continue;
            }
            // The body goes after room for its size, which then moves up against it.
            let size_at = out.len();
            out.extend_from_slice(&PADDED);
            let start = out.len();
            self.body(b, &mut ops, out)?;
            let (size, len) = leb128((out.len() - start) as u32);
            out[size_at..size_at + len].copy_from_slice(&size[..len]);
            out.copy_within(start.., size_at + len);
            out.truncate(out.len() - (PADDED.len() - len));
        }
        Ok(())
    }

    /// Writes the rewritten body of `body` to `out`; `ops` is scratch space.
    fn body(&mut self, body: &Body, ops: &mut Vec<u8>, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut scratch = Scratch::new(body.locals);
        // Without checks or masks no local is added: the instructions go straight after the
        // locals.
        let direct = !self.plan.checks && self.plan.masked.is_none();
        let target = if direct {
            out.extend_from_slice(self.bytes(body.range.start, body.ops));
            &mut *out
        } else {
            ops.clear();
            &mut *ops
        };
        let mut at = body.ops;
        for patch in &body.patches {
            target.extend_from_slice(self.bytes(at, patch.start));
            self.patch(body.function, patch, &mut scratch, target)?;
            at = patch.end;
        }
        target.extend_from_slice(self.bytes(at, body.range.end));
        if direct {
            return Ok(());
        }
        if scratch.added.is_empty() {
            out.extend_from_slice(self.bytes(body.range.start, body.ops));
            out.extend_from_slice(ops);
            return Ok(());
        }
        if body.locals + scratch.added.len() as u32 > MAX_LOCALS {
            return Err(Error::TooManyLocals { function: body.function });
        }
        // The local declarations: the old ones as they are, then one per added local.
        let mut reader = BinaryReader::new(self.bytes(body.range.start, body.ops), body.range.start);
        let declared = reader.read_var_u32().map_err(|e| Error::parse(&e, Some(body.function)))?;
        let rest = reader.original_position();
        (declared + scratch.added.len() as u32).encode(out);
        out.extend_from_slice(self.bytes(rest, body.ops));
        for ty in &scratch.added {
            1u32.encode(out);
            ty.encode(out);
        }
        out.extend_from_slice(ops);
        Ok(())
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
        let (instruction, kind) = match patch.change {
            Change::Access { op, address } => return self.access(function, patch, op, address, scratch, out),
            Change::Size => {
                match self.plan.pages_global {
                    Some(g) => Instruction::GlobalGet(g).encode(out),
                    None => Instruction::I32Const(self.plan.initial as i32).encode(out),
                }
                let change =
                    RelocationKind::Pages { global: self.plan.pages_global, pages: self.plan.initial };
                self.record(at(change));
                return Ok(());
            }
            Change::Grow => ("memory.grow", HelperKind::Grow),
            Change::Copy => ("memory.copy", HelperKind::Copy),
            Change::Fill => ("memory.fill", HelperKind::Fill),
            Change::Init(d) => ("memory.init", HelperKind::Init(d)),
        };
        let helper = self.plan.helper(kind);
        Instruction::Call(helper).encode(out);
        self.record(at(RelocationKind::Call { instruction, helper }));
        Ok(())
    }

    /// Writes a memory access with its offset moved by the base, and its check.
    fn access(
        &mut self,
        function: u32,
        patch: &Patch,
        op: MemoryOp,
        address: Option<u64>,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let m = op.info;
        let offset = op.memarg.offset;
        // Saturating: an unvalidated module may have a 64-bit offset on its 32-bit memory.
        let new_offset = offset.saturating_add(self.plan.base);
        let place = |change| Relocation { function: Some(function), offset: patch.start, change };
        // Masked, an access whose offset and size alone pass the segment (so past the
        // original's memory, which is no larger) can only trap too.
        let past = self.plan.masked.is_some_and(|size| offset.saturating_add(u64::from(m.size)) > size);
        if new_offset > u64::from(u32::MAX) || past {
            // The effective address is past 4 GiB whatever the dynamic address: the original
            // traps too, its memory being no larger than the segment.
            if self.plan.trap_global.is_some() {
                let write = matches!(m.kind, AccessKind::Store | AccessKind::ReadModifyWrite);
                let kind = if write { TrapKind::Write } else { TrapKind::Read };
                Instruction::I64Const(new_offset as i64).encode(out);
                Instruction::Call(self.plan.helper(HelperKind::Trap(kind))).encode(out);
            }
            Instruction::Unreachable.encode(out);
            self.record(place(RelocationKind::Trap { instruction: m.name, old_offset: offset }));
            return Ok(());
        }
        let end = offset + u64::from(m.size);
        let write = matches!(m.kind, AccessKind::Store | AccessKind::ReadModifyWrite);
        if let Some(size) = self.plan.masked {
            return self.masked(function, patch, op, address, size, scratch, out);
        }
        let checked = self.plan.checks
            && !address
                .is_some_and(|a| self.plan.proven(a.saturating_add(offset), a.saturating_add(end), write));
        if checked {
            // Set the operands above the address aside, check the address, put them back.
            scratch.around_address(m.above, out, |scratch, out| {
                let a = scratch.address();
                self.plan.check(out, a, offset, end, write);
            });
        }
        memarg_with_offset(self.bytes(patch.start, patch.end), new_offset, out)
            .map_err(|e| Error::parse(&e, Some(function)))?;
        self.record(place(RelocationKind::Memarg {
            instruction: m.name,
            old_offset: offset,
            new_offset,
            checked,
            masked: false,
        }));
        Ok(())
    }

    /// Writes a memory access whose address is masked into a segment of `size` bytes (a power
    /// of two): `(address + offset) & (size - 1)` at the base, or, when the offset and the
    /// access end within [`MASK_TAIL`], `address & (size - 1)` at the base plus the offset. An
    /// access at a constant address inside the segment keeps its address and its offset,
    /// moved by the base.
    #[allow(clippy::too_many_arguments)] // the access's own parts, as `access` has them
    fn masked(
        &mut self,
        function: u32,
        patch: &Patch,
        op: MemoryOp,
        address: Option<u64>,
        size: u64,
        scratch: &mut Scratch,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let m = op.info;
        let offset = op.memarg.offset;
        let inside = address
            .and_then(|a| a.checked_add(offset)?.checked_add(u64::from(m.size)))
            .is_some_and(|end| end <= size);
        // A small offset stays in the instruction: the masked address plus it ends within the
        // tail the layout keeps free, and accesses off one pointer share one mask.
        let small = offset + u64::from(m.size) <= MASK_TAIL.get();
        let new_offset = if inside || small { offset + self.plan.base } else { self.plan.base };
        if !inside {
            // Set the operands above the address aside, mask the address, put them back.
            scratch.around_address(m.above, out, |_, out| {
                if !small {
                    // Below the segment's size (checked by the caller), so it fits in 32 bits.
                    Instruction::I32Const(offset as u32 as i32).encode(out);
                    Instruction::I32Add.encode(out);
                }
                Instruction::I32Const((size - 1) as u32 as i32).encode(out);
                Instruction::I32And.encode(out);
            });
        }
        memarg_with_offset(self.bytes(patch.start, patch.end), new_offset, out)
            .map_err(|e| Error::parse(&e, Some(function)))?;
        self.record(Relocation {
            function: Some(function),
            offset: patch.start,
            change: RelocationKind::Memarg {
                instruction: m.name,
                old_offset: offset,
                new_offset,
                checked: false,
                masked: !inside,
            },
        });
        Ok(())
    }
}

/// The section id of a known section.
fn section_id(id: u8) -> Option<SectionId> {
    Some(match id {
        0 => SectionId::Custom,
        1 => SectionId::Type,
        2 => SectionId::Import,
        3 => SectionId::Function,
        4 => SectionId::Table,
        5 => SectionId::Memory,
        6 => SectionId::Global,
        7 => SectionId::Export,
        8 => SectionId::Start,
        9 => SectionId::Element,
        10 => SectionId::Code,
        11 => SectionId::Data,
        12 => SectionId::DataCount,
        13 => SectionId::Tag,
        _ => return None,
    })
}

/// A function type `(params) -> (results)` as a type section holds it (outside a recursion
/// group).
fn func_type(s: Signature, out: &mut Vec<u8>) {
    out.push(0x60);
    for list in [s.params(), s.results()] {
        (list.len() as u32).encode(out);
        for t in list {
            t.encode(out);
        }
    }
}

/// Writes the memory instruction `instruction` with its memarg's offset replaced by `offset`:
/// the opcode, the alignment and memory index, and any lane index after the offset are copied
/// as they are.
fn memarg_with_offset(instruction: &[u8], offset: u64, out: &mut Vec<u8>) -> wasmparser::Result<()> {
    if let [0x28..=0x3e, 0..=0x0f, ..] = instruction {
        // A plain load or store with only an alignment: the offset is all that follows.
        out.extend_from_slice(&instruction[..2]);
        leb128_u64(offset, out);
        return Ok(());
    }
    let mut r = BinaryReader::new(instruction, 0);
    if matches!(r.read_u8()?, 0xfb..=0xfe) {
        r.read_var_u32()?;
    }
    let flags = r.read_var_u32()?;
    if flags & (1 << 6) != 0 {
        r.read_var_u32()?;
    }
    let head = r.current_position();
    r.read_var_u64()?;
    let tail = r.current_position();
    out.extend_from_slice(&instruction[..head]);
    leb128_u64(offset, out);
    out.extend_from_slice(&instruction[tail..]);
    Ok(())
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

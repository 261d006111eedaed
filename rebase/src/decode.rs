//! Reading function bodies fast: the instructions compilers emit most (locals, constants,
//! arithmetic, branches, calls, loads and stores) are decoded here, straight from the bytes;
//! every other instruction, and every instruction the fast path finds anything unusual in (an
//! overlong integer, a flag in a memarg, the end of the bytes), is read by wasmparser from its
//! first byte. Whatever wasmparser decides is the answer: the fast path only ever accepts what
//! wasmparser accepts, with the same result, and defers to it otherwise, so errors are
//! wasmparser's.
//!
//! The control frames are tracked as wasmparser's operator reader tracks them (`else` only in
//! an `if`, `catch` only in a `try`, nothing after the body's last `end`), so a body is accepted
//! exactly when wasmparser's reader accepts it.

use wasmparser::{
    BinaryReader, BinaryReaderError, FrameKind, FrameStack, MemArg, MemArgTarget, Operator, VisitOperator,
    VisitSimdOperator,
};

use crate::FEATURES;
use crate::access::{MemoryOp, OpInfo, memory_op};

/// What one instruction is, as far as the rebaser cares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Seen {
    /// An instruction with a memarg (`None`: one that does not touch linear memory).
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

/// A memory instruction, `memory.size`, `memory.grow` or bulk instruction found in a body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Found {
    /// Its first byte in the module.
    pub start: u64,
    /// The byte after it.
    pub end: u64,
    /// What it is: never [`Seen::Int`], [`Seen::Constant`] or [`Seen::Other`].
    pub seen: Seen,
    /// For an access: its address if a constant pushed it right before, with only constants
    /// above it (a direct access).
    pub address: Option<u64>,
}

/// What an instruction pushed, for telling constant addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pushed {
    /// An `i32.const` or `i64.const`: its value (zero-extended).
    Int(u64),
    /// Another constant (`f32.const`, `f64.const`, `v128.const`).
    Constant,
    /// Anything else.
    Other,
}

/// How [`body`] reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// The fast path first, wasmparser for the rest.
    Fast,
    /// Every instruction through wasmparser (to test the fast path against).
    #[cfg(test)]
    Slow,
}

/// Reads the instructions of a function body, `data` (after its local declarations), whose
/// first byte is at `original` in the module, and calls `found` for each one that touches
/// memory. `frames` is scratch space, kept between bodies. The body must end where `data`
/// does; errors are wasmparser's.
pub(crate) fn body(
    data: &[u8],
    original: u64,
    frames: &mut Vec<FrameKind>,
    mode: Mode,
    mut found: impl FnMut(Found),
) -> Result<(), BinaryReaderError> {
    frames.clear();
    frames.push(FrameKind::Block);
    let mut c = Cursor { data, pos: 0 };
    let mut pushed = [Pushed::Other; 3];
    loop {
        let start = c.pos;
        if start == data.len() {
            // wasmparser's check that the body has ended.
            let end = BinaryReader::new_features(&[], original + start as u64, FEATURES);
            return end.finish_expression(&Fallback { frames });
        }
        let fast = match mode {
            Mode::Fast if !frames.is_empty() => c.fast(frames, &mut pushed),
            _ => None,
        };
        let seen = match fast {
            // Read, and `pushed` updated.
            Some(None) => continue,
            Some(Some(seen)) => seen,
            None => {
                c.pos = start;
                let seen = c.fallback(original, frames)?;
                let now = match seen {
                    Seen::Int(v) => Pushed::Int(v),
                    Seen::Constant => Pushed::Constant,
                    Seen::Other | Seen::Access(None) => Pushed::Other,
                    _ => {
                        report(&mut found, &pushed, original, start, c.pos, seen);
                        Pushed::Other
                    }
                };
                pushed = [now, pushed[0], pushed[1]];
                continue;
            }
        };
        report(&mut found, &pushed, original, start, c.pos, seen);
        pushed = [Pushed::Other, pushed[0], pushed[1]];
    }
}

/// Passes the instruction `seen` at `[start, end)` to `found`, with its address if constant.
#[inline(always)]
fn report(
    found: &mut impl FnMut(Found),
    pushed: &[Pushed; 3],
    original: u64,
    start: usize,
    end: usize,
    seen: Seen,
) {
    let address = match seen {
        Seen::Access(Some(m)) => {
            // The address is constant if a constant pushed it and every operand above.
            let above = m.info.above.len();
            match pushed[above] {
                Pushed::Int(v) if pushed[..above].iter().all(|p| *p != Pushed::Other) => Some(v),
                _ => None,
            }
        }
        _ => None,
    };
    found(Found { start: original + start as u64, end: original + end as u64, seen, address });
}

/// Where the reading is.
pub(crate) struct Cursor<'a> {
    pub data: &'a [u8],
    /// The next byte to read.
    pub pos: usize,
}

/// The longest encodings the fast path reads itself; longer ones go to wasmparser.
const FAST_I32: usize = 4;
const FAST_I64: usize = 9;

impl Cursor<'_> {
    /// Decodes the instruction at `pos` with wasmparser.
    #[cold]
    #[inline(never)]
    fn fallback(&mut self, original: u64, frames: &mut Vec<FrameKind>) -> Result<Seen, BinaryReaderError> {
        let mut reader =
            BinaryReader::new_features(&self.data[self.pos..], original + self.pos as u64, FEATURES);
        let seen = reader.visit_operator(&mut Fallback { frames })?;
        self.pos += reader.current_position();
        Ok(seen)
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// A `u32` LEB128 as wasmparser reads it (at most 5 bytes, no bits past 32).
    #[inline(always)]
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 0x80 {
            return Some(u32::from(b));
        }
        let mut result = u32::from(b & 0x7f);
        let mut shift = 7;
        loop {
            let b = self.byte()?;
            if shift == 28 {
                // The fifth byte: four bits left, no continuation.
                return (b <= 0x0f).then(|| result | (u32::from(b) << 28));
            }
            result |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(result);
            }
            shift += 7;
        }
    }

    /// A `u64` LEB128 of at most [`FAST_I64`] bytes.
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        let b = self.byte()?;
        if b < 0x80 {
            return Some(u64::from(b));
        }
        let mut result = u64::from(b & 0x7f);
        for i in 1..FAST_I64 {
            let b = self.byte()?;
            result |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(result);
            }
        }
        None
    }

    /// A signed LEB128 of at most `max` bytes (so that no sign or unused bits need checking),
    /// sign-extended.
    #[inline(always)]
    fn signed(&mut self, max: usize) -> Option<i64> {
        let mut result = 0i64;
        for i in 0..max {
            let b = self.byte()?;
            result |= i64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                let bits = 7 * (i + 1);
                return Some((result << (64 - bits)) >> (64 - bits));
            }
        }
        None
    }

    #[inline(always)]
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        (self.data.len() - self.pos >= n).then(|| self.pos += n)
    }

    /// A block type that is empty or a number type; anything else goes to wasmparser.
    #[inline(always)]
    fn block_type(&mut self) -> Option<()> {
        matches!(self.byte()?, 0x40 | 0x7b..=0x7f).then_some(())
    }

    /// A memarg with only an alignment (no memory index, no other flag).
    #[inline(always)]
    fn memarg(&mut self, max_align: u8) -> Option<MemArg> {
        let align = self.byte()?;
        if align >= 0x10 {
            return None;
        }
        let offset = self.u64()?;
        Some(MemArg { align, max_align, offset, target: MemArgTarget::Memory(0), ordering: None })
    }

    /// Decodes the instruction at `pos` if it is one the fast path knows and nothing in it is
    /// unusual: `Some(None)` if it does not touch memory (`pushed` then has what it pushed),
    /// `Some(Some(access))` for a load or store; `None` otherwise (`pos` is then anywhere).
    /// `frames` is not empty.
    #[inline(always)]
    fn fast(&mut self, frames: &mut Vec<FrameKind>, pushed: &mut [Pushed; 3]) -> Option<Option<Seen>> {
        let code = self.byte()?;
        let now = match code {
            0x00 | 0x01 | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 => Pushed::Other,
            0x20..=0x24 | 0x0c | 0x0d | 0x10 => {
                self.u32()?;
                Pushed::Other
            }
            0x28..=0x3e => {
                let info = LOAD_STORE[usize::from(code - 0x28)];
                // The natural alignment is the largest a memarg may declare.
                let memarg = self.memarg(info.size.trailing_zeros() as u8)?;
                return Some(Some(Seen::Access(Some(MemoryOp { memarg, info }))));
            }
            0x41 => Pushed::Int(u64::from(self.signed(FAST_I32)? as i32 as u32)),
            0x42 => Pushed::Int(self.signed(FAST_I64)? as u64),
            0x02 => {
                self.block_type()?;
                frames.push(FrameKind::Block);
                Pushed::Other
            }
            0x03 => {
                self.block_type()?;
                frames.push(FrameKind::Loop);
                Pushed::Other
            }
            0x04 => {
                self.block_type()?;
                frames.push(FrameKind::If);
                Pushed::Other
            }
            0x05 => {
                let last = frames.last_mut()?;
                if *last != FrameKind::If {
                    return None;
                }
                *last = FrameKind::Else;
                Pushed::Other
            }
            0x0b => {
                frames.pop();
                Pushed::Other
            }
            0x43 => {
                self.skip(4)?;
                Pushed::Constant
            }
            0x44 => {
                self.skip(8)?;
                Pushed::Constant
            }
            _ => return None,
        };
        *pushed = [now, pushed[0], pushed[1]];
        Some(None)
    }
}

/// What each load and store (0x28..=0x3e) is, in opcode order.
static LOAD_STORE: [&OpInfo; 23] = {
    use crate::access::info::*;
    [
        &I32Load,
        &I64Load,
        &F32Load,
        &F64Load,
        &I32Load8S,
        &I32Load8U,
        &I32Load16S,
        &I32Load16U,
        &I64Load8S,
        &I64Load8U,
        &I64Load16S,
        &I64Load16U,
        &I64Load32S,
        &I64Load32U,
        &I32Store,
        &I64Store,
        &F32Store,
        &F64Store,
        &I32Store8,
        &I32Store16,
        &I64Store8,
        &I64Store16,
        &I64Store32,
    ]
};

/// What an operator is.
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

/// wasmparser's side: says what each operator is and keeps the frame stack as wasmparser's
/// operator reader does.
struct Fallback<'f> {
    frames: &'f mut Vec<FrameKind>,
}

impl FrameStack for Fallback<'_> {
    fn current_frame(&self) -> Option<FrameKind> {
        self.frames.last().copied()
    }
}

/// How an operator changes the frame stack (as wasmparser's `FrameStackAdapter`).
macro_rules! frames {
    ($frames:ident, visit_block) => {
        $frames.push(FrameKind::Block)
    };
    ($frames:ident, visit_loop) => {
        $frames.push(FrameKind::Loop)
    };
    ($frames:ident, visit_if) => {
        $frames.push(FrameKind::If)
    };
    ($frames:ident, visit_try) => {
        $frames.push(FrameKind::LegacyTry)
    };
    ($frames:ident, visit_try_table) => {
        $frames.push(FrameKind::TryTable)
    };
    ($frames:ident, visit_else) => {{
        $frames.pop();
        $frames.push(FrameKind::Else)
    }};
    ($frames:ident, visit_catch) => {{
        $frames.pop();
        $frames.push(FrameKind::LegacyCatch)
    }};
    ($frames:ident, visit_catch_all) => {{
        $frames.pop();
        $frames.push(FrameKind::LegacyCatchAll)
    }};
    ($frames:ident, visit_delegate) => {{
        $frames.pop();
    }};
    ($frames:ident, visit_end) => {{
        $frames.pop();
    }};
    ($frames:ident, $other:ident) => {};
}

macro_rules! fallback_operator {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[allow(unused_variables)]
            fn $visit(&mut self $($(, $arg: $argty)*)?) -> Seen {
                let frames = &mut *self.frames;
                frames!(frames, $visit);
                seen!($op $($($arg)*)?; $($($arg)*)?)
            }
        )*
    };
}

impl<'a> VisitOperator<'a> for Fallback<'_> {
    type Output = Seen;

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = Seen>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(fallback_operator);
}

impl<'a> VisitSimdOperator<'a> for Fallback<'_> {
    wasmparser::for_each_visit_simd_operator!(fallback_operator);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every instruction of `body` (after its locals) as the fast path and as wasmparser read
    /// it: what each found, or the error's offset.
    fn both(data: &[u8], original: u64) -> [Result<Vec<Found>, u64>; 2] {
        [Mode::Fast, Mode::Slow].map(|mode| {
            let mut found = Vec::new();
            body(data, original, &mut Vec::new(), mode, |f| found.push(f))
                .map(|()| found)
                .map_err(|e| e.offset())
        })
    }

    /// The bodies of `module` (after their locals), with their offsets.
    fn bodies(module: &[u8]) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            let Ok(wasmparser::Payload::CodeSectionEntry(b)) = payload else { continue };
            let Ok(mut locals) = b.get_locals_reader() else { continue };
            if (0..locals.get_count()).any(|_| locals.read().is_err()) {
                continue;
            }
            let start = locals.original_position();
            out.push((module[start as usize..b.range().end as usize].to_vec(), start));
        }
        out
    }

    /// `count` generated modules with every proposal.
    pub(crate) fn modules(count: u64) -> Vec<Vec<u8>> {
        modules_with(count, |_| {})
    }

    /// `count` generated modules with every proposal, and then `tweak`.
    pub(crate) fn modules_with(count: u64, tweak: fn(&mut wasm_smith::Config)) -> Vec<Vec<u8>> {
        (0..count)
            .filter_map(|seed| {
                let mut state = seed;
                let data: Vec<u8> = (0..32 * 1024)
                    .map(|_| {
                        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        (state >> 33) as u8
                    })
                    .collect();
                let mut config = wasm_smith::Config {
                    simd_enabled: true,
                    relaxed_simd_enabled: true,
                    threads_enabled: true,
                    exceptions_enabled: true,
                    gc_enabled: true,
                    tail_call_enabled: true,
                    reference_types_enabled: true,
                    wide_arithmetic_enabled: true,
                    multi_value_enabled: true,
                    min_memories: 1,
                    max_memories: 2,
                    min_funcs: 4,
                    max_funcs: 40,
                    max_instructions: 400,
                    ..wasm_smith::Config::default()
                };
                tweak(&mut config);
                wasm_smith::Module::new(config, &mut arbitrary::Unstructured::new(&data))
                    .ok()
                    .map(|m| m.to_bytes())
            })
            .collect()
    }

    #[test]
    fn the_fast_path_reads_as_wasmparser_does() {
        let mut instructions = 0;
        for module in modules(300) {
            for (data, original) in bodies(&module) {
                let [fast, slow] = both(&data, original);
                assert_eq!(fast, slow);
                instructions += fast.map_or(0, |f| f.len());
            }
        }
        assert!(instructions > 1000, "only {instructions} memory instructions generated");
    }

    #[test]
    fn damaged_bodies_fail_where_wasmparser_fails() {
        // Every body of the generated modules with one byte changed, cut short, or with a byte
        // added: the fast path accepts exactly what wasmparser accepts, with the same result,
        // and fails at the same offset otherwise.
        let mut failures = 0;
        let mut cases = 0;
        for (n, module) in modules(60).into_iter().enumerate() {
            for (data, original) in bodies(&module).into_iter().take(20) {
                for i in (0..data.len()).step_by(1 + data.len() / 16) {
                    let mut changed = data.clone();
                    changed[i] = changed[i].wrapping_add(1 + (n as u8 % 0x7f));
                    let cut = data[..i].to_vec();
                    let mut longer = data.clone();
                    longer.insert(i, [0x80, 0xff, 0x0b, 0x05, 0x41, 0x28][i % 6]);
                    for case in [changed, cut, longer] {
                        let [fast, slow] = both(&case, original);
                        failures += usize::from(slow.is_err());
                        cases += 1;
                        assert_eq!(fast, slow, "body at {original:#x}, byte {i}");
                    }
                }
            }
        }
        assert!(failures > cases / 4, "{failures} of {cases} damaged bodies failed");
    }

    #[test]
    fn long_and_unusual_encodings_go_to_wasmparser() {
        let cases: &[&[u8]] = &[
            // i32.const with a five-byte value, an overlong one, and one with unused bits set.
            &[0x41, 0x80, 0x80, 0x80, 0x80, 0x04, 0x1a, 0x0b],
            &[0x41, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x1a, 0x0b],
            &[0x41, 0x80, 0x80, 0x80, 0x80, 0x70, 0x1a, 0x0b],
            &[0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b],
            // A load with a memory index, one whose offset takes ten bytes, one with a flag bit.
            &[0x41, 0x00, 0x28, 0x42, 0x00, 0x04, 0x1a, 0x0b],
            &[0x41, 0x00, 0x28, 0x02, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x1a, 0x0b],
            &[0x41, 0x00, 0x28, 0x22, 0x00, 0x1a, 0x0b],
            // A block with a type index, `else` outside an `if`, code after the last `end`.
            &[0x02, 0x00, 0x0b, 0x0b],
            &[0x05, 0x0b],
            &[0x0b, 0x01],
            &[0x02, 0x40, 0x0b],
        ];
        for case in cases {
            let [fast, slow] = both(case, 100);
            assert_eq!(fast, slow, "{case:x?}");
        }
    }
}

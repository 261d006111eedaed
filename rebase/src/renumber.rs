//! Renumbering a function body for the merged module, fast: the body's bytes are copied and
//! only the indices in them (functions, globals, tables, types, data and element segments)
//! are rewritten through the module's maps. This covers the instructions compilers emit for
//! MVP code with bulk memory, reference types, SIMD and atomics; a body with anything else
//! (exceptions, GC, typed function references, a local or block of a reference type with a
//! type index, `select` with types, a memory index other than 0) is left to wasm-encoder's
//! re-encoding, which knows every instruction.
//!
//! The fast path reads as wasmparser's reader does, so it accepts a body only if the
//! re-encoding would read it too: integers of the lengths and ranges wasmparser accepts, only
//! defined SIMD
//! instructions, memargs with no flag but the memory index, control frames in order (`else`
//! only in an `if`, nothing after the body's last `end`). Anything else goes to the
//! re-encoding, which reports what is wrong.

use wasm_encoder::Encode;
use wasm_encoder::reencode::{Error, Reencode};

use crate::decode::Cursor;

/// wasmparser's limit on a function's locals.
const MAX_LOCALS: u64 = 50_000;

/// The SIMD opcodes (after `0xfd`) up to the last relaxed one that are not defined.
const SIMD_UNDEFINED: [u32; 20] = [
    0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3,
    0xd4, 0xe2, 0xee,
];

/// Writes `body` (a function body's bytes after its size: locals, then instructions) to `out`
/// with its indices renumbered by `map`: `Ok(false)` if the body holds something this does not
/// renumber (`out` then holds a part of it, to be discarded). Errors are `map`'s.
pub(crate) fn body<T: Reencode + ?Sized>(
    body: &[u8],
    map: &mut T,
    out: &mut Vec<u8>,
) -> Result<bool, Error<T::Error>> {
    let mut r = Renumber { c: Cursor { data: body, pos: 0 }, copied: 0, out };
    Ok(r.locals().is_some() && r.instructions(map)?.is_some())
}

/// Where the copy is.
struct Renumber<'a> {
    c: Cursor<'a>,
    /// The bytes before this are in `out`.
    copied: usize,
    out: &'a mut Vec<u8>,
}

/// A value type of one byte: a number type, `v128`, `funcref` or `externref`.
fn plain(ty: u8) -> bool {
    matches!(ty, 0x7b..=0x7f | 0x70 | 0x6f)
}

impl Renumber<'_> {
    /// A memory index: the merged module has one memory, and an index other than 0 goes to
    /// the re-encoding (which maps it to 0).
    #[inline(always)]
    fn memory(&mut self) -> Option<()> {
        (self.c.u32()? == 0).then_some(())
    }

    /// Skips a LEB128 of at most `n` bytes, whose `n`th byte, if it has one, must pass `last`
    /// (no continuation, unused bits as wasmparser requires them).
    #[inline(always)]
    fn leb(&mut self, n: usize, last: fn(u8) -> bool) -> Option<()> {
        for _ in 1..n {
            if self.c.byte()? < 0x80 {
                return Some(());
            }
        }
        last(self.c.byte()?).then_some(())
    }

    /// An `i32`: the fifth byte holds four bits and the sign.
    #[inline(always)]
    fn i32(&mut self) -> Option<()> {
        self.leb(5, |b| matches!(b, 0x00..=0x07 | 0x78..=0x7f))
    }

    /// An `i64`: the tenth byte holds one bit and the sign.
    #[inline(always)]
    fn i64(&mut self) -> Option<()> {
        self.leb(10, |b| matches!(b, 0x00 | 0x7f))
    }

    /// A `u64`: the tenth byte holds one bit.
    #[inline(always)]
    fn u64(&mut self) -> Option<()> {
        self.leb(10, |b| b <= 0x01)
    }

    /// A memarg: its alignment, with no flag but a memory index (which must be 0), and its
    /// offset.
    #[inline(always)]
    fn memarg(&mut self) -> Option<()> {
        match self.c.u32()? {
            0..=0x0f => {}
            0x40..=0x4f => self.memory()?,
            _ => return None,
        }
        self.u64()
    }

    /// Reads an index and writes it renumbered by `f`.
    #[inline(always)]
    fn index<E>(&mut self, f: impl FnOnce(u32) -> Result<u32, E>) -> Result<Option<()>, E> {
        let start = self.c.pos;
        let Some(old) = self.c.u32() else { return Ok(None) };
        let new = f(old)?;
        if new != old {
            self.out.extend_from_slice(&self.c.data[self.copied..start]);
            new.encode(self.out);
            self.copied = self.c.pos;
        }
        Ok(Some(()))
    }

    /// The local declarations, copied: each of a plain type, no more than wasmparser allows.
    fn locals(&mut self) -> Option<()> {
        let mut total = 0u64;
        for _ in 0..self.c.u32()? {
            total += u64::from(self.c.u32()?);
            if total > MAX_LOCALS || !plain(self.c.byte()?) {
                return None;
            }
        }
        Some(())
    }

    /// The instructions, to the end of the body.
    fn instructions<T: Reencode + ?Sized>(&mut self, map: &mut T) -> Result<Option<()>, Error<T::Error>> {
        macro_rules! some {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return Ok(None),
                }
            };
        }
        // The open control frames, the function's own first: whether each is an `if` before
        // its `else`.
        let mut frames = Vec::with_capacity(16);
        frames.push(false);
        while self.c.pos < self.c.data.len() {
            let op = some!(self.c.byte());
            match op {
                0x00 | 0x01 | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 | 0xd1 => {}
                0x02..=0x04 => {
                    // A block type: empty or one plain value.
                    let ty = some!(self.c.byte());
                    if ty != 0x40 && !plain(ty) {
                        return Ok(None);
                    }
                    frames.push(op == 0x04);
                }
                0x05 => match frames.last_mut() {
                    Some(is_if @ true) => *is_if = false,
                    _ => return Ok(None),
                },
                0x0b => {
                    frames.pop();
                    if frames.is_empty() && self.c.pos != self.c.data.len() {
                        return Ok(None);
                    }
                }
                0x0c | 0x0d | 0x20..=0x22 => {
                    some!(self.c.u32());
                }
                0x41 => some!(self.i32()),
                0x42 => some!(self.i64()),
                0x3f | 0x40 => some!(self.memory()),
                0x28..=0x3e => some!(self.memarg()),
                0x0e => {
                    for _ in 0..=some!(self.c.u32()) {
                        some!(self.c.u32());
                    }
                }
                0x10 | 0x12 | 0xd2 => some!(self.index(|i| map.function_index(i))?),
                0x11 | 0x13 => {
                    some!(self.index(|i| map.type_index(i))?);
                    some!(self.index(|i| map.table_index(i))?);
                }
                0x23 | 0x24 => some!(self.index(|i| map.global_index(i))?),
                0x25 | 0x26 => some!(self.index(|i| map.table_index(i))?),
                0x43 => some!(self.c.skip(4)),
                0x44 => some!(self.c.skip(8)),
                0xd0 => {
                    if !matches!(some!(self.c.byte()), 0x70 | 0x6f) {
                        return Ok(None);
                    }
                }
                0xfc => match some!(self.c.u32()) {
                    0..=7 => {}
                    8 => {
                        some!(self.index(|i| map.data_index(i))?);
                        some!(self.memory());
                    }
                    9 => some!(self.index(|i| map.data_index(i))?),
                    10 => {
                        some!(self.memory());
                        some!(self.memory());
                    }
                    11 => some!(self.memory()),
                    12 => {
                        some!(self.index(|i| map.element_index(i))?);
                        some!(self.index(|i| map.table_index(i))?);
                    }
                    13 => some!(self.index(|i| map.element_index(i))?),
                    14 => {
                        some!(self.index(|i| map.table_index(i))?);
                        some!(self.index(|i| map.table_index(i))?);
                    }
                    15..=17 => some!(self.index(|i| map.table_index(i))?),
                    _ => return Ok(None),
                },
                0xfd => match some!(self.c.u32()) {
                    0..=11 | 92 | 93 => some!(self.memarg()),
                    84..=91 => {
                        some!(self.memarg());
                        some!(self.c.skip(1));
                    }
                    12 | 13 => some!(self.c.skip(16)),
                    21..=34 => some!(self.c.skip(1)),
                    // The other defined SIMD instructions have no immediate.
                    code if code <= 0x113 && !SIMD_UNDEFINED.contains(&code) => {}
                    _ => return Ok(None),
                },
                0xfe => match some!(self.c.u32()) {
                    // atomic.fence
                    3 => {
                        if some!(self.c.byte()) != 0 {
                            return Ok(None);
                        }
                    }
                    0..=2 | 0x10..=0x4e => some!(self.memarg()),
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        if !frames.is_empty() {
            return Ok(None);
        }
        self.out.extend_from_slice(&self.c.data[self.copied..]);
        Ok(Some(()))
    }
}

#[cfg(test)]
mod tests {
    use wasm_encoder::CodeSection;
    use wasmparser::{CodeSectionReader, FunctionBody, Operator, Parser, Payload, ValType};

    use super::*;

    /// Every index moved up by a different amount.
    struct Shift;

    impl Reencode for Shift {
        type Error = std::convert::Infallible;
        fn function_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 3)
        }
        fn global_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 2)
        }
        fn table_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 1)
        }
        fn type_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 5)
        }
        fn data_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 4)
        }
        fn element_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 200)
        }
        fn tag_index(&mut self, i: u32) -> Result<u32, Error<Self::Error>> {
            Ok(i + 7)
        }
        // As in the merge: one memory.
        fn memory_index(&mut self, _: u32) -> Result<u32, Error<Self::Error>> {
            Ok(0)
        }
    }

    /// A body's locals and instructions as wasmparser reads them.
    type Read<'a> = (Vec<(u32, ValType)>, Vec<Operator<'a>>);

    fn read(body: FunctionBody<'_>) -> Option<Read<'_>> {
        let locals = body.get_locals_reader().ok()?.into_iter().collect::<Result<_, _>>().ok()?;
        let ops = body.get_operators_reader().ok()?.into_iter().collect::<Result<_, _>>().ok()?;
        Some((locals, ops))
    }

    /// A code section's only body.
    fn only(section: &[u8]) -> FunctionBody<'_> {
        let reader = CodeSectionReader::new(wasmparser::BinaryReader::new(section, 0)).unwrap();
        reader.into_iter().next().unwrap().unwrap()
    }

    /// The body renumbered fast (if it can be) and re-encoded, each as a code section of one
    /// body.
    fn both(f: FunctionBody<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let mut bytes = Vec::new();
        let fast = body::<Shift>(f.as_bytes(), &mut Shift, &mut bytes).unwrap().then(|| {
            let mut code = CodeSection::new();
            code.raw(&bytes);
            let mut section = Vec::new();
            code.encode(&mut section);
            // Without the section's size (`encode` writes no id).
            section[leb_len(&section)..].to_vec()
        });
        let mut code = CodeSection::new();
        let slow =
            wasm_encoder::reencode::utils::parse_function_body(&mut Shift, &mut code, f).ok().map(|()| {
                let mut section = Vec::new();
                code.encode(&mut section);
                section[leb_len(&section)..].to_vec()
            });
        (fast, slow)
    }

    fn leb_len(bytes: &[u8]) -> usize {
        bytes.iter().position(|b| b & 0x80 == 0).unwrap() + 1
    }

    fn bodies(module: &[u8]) -> Vec<FunctionBody<'_>> {
        Parser::new(0)
            .parse_all(module)
            .filter_map(|p| match p {
                Ok(Payload::CodeSectionEntry(b)) => Some(b),
                _ => None,
            })
            .collect()
    }

    /// Without the proposals renumbering leaves to the re-encoding.
    fn plain_modules(count: u64) -> Vec<Vec<u8>> {
        crate::decode::tests::modules_with(count, |c| {
            c.exceptions_enabled = false;
            c.gc_enabled = false;
            c.wide_arithmetic_enabled = false;
            c.multi_value_enabled = false;
            c.max_memories = 1;
        })
    }

    #[test]
    fn renumbering_reads_as_re_encoding_does() {
        let (mut fast, mut total) = (0, 0);
        let modules = plain_modules(200).into_iter().chain(crate::decode::tests::modules(100));
        for module in modules {
            for body in bodies(&module) {
                total += 1;
                let (quick, slow) = both(body.clone());
                let Some(quick) = quick else { continue };
                fast += 1;
                let slow = slow.expect("re-encoding fails where renumbering does not");
                assert_eq!(read(only(&quick)), read(only(&slow)), "body at {:#x}", body.range().start);
                assert!(read(only(&quick)).is_some());
            }
        }
        // A third of the modules use every proposal: their bodies mostly go to the re-encoding.
        assert!(fast > total / 2, "only {fast} of {total} bodies renumbered fast");
    }

    #[test]
    fn every_index_is_renumbered() {
        // Each instruction with an index, on the second table, segment or global where there
        // is a choice: every body goes the fast way and reads as re-encoded.
        let wasm = wat::parse_str(
            r#"(module
              (type $t (func (param i32) (result i32)))
              (import "env" "f" (func $imp (param i32) (result i32)))
              (memory 1)
              (table $a 2 funcref)
              (table $b 2 funcref)
              (global $g (mut i32) (i32.const 0))
              (global $h (mut i32) (i32.const 0))
              (elem $e0 func $f)
              (elem $e1 func $f $imp)
              (data $d0 "abc")
              (data $d1 "xyz")
              (func $f (param i32) (result i32) (local i64 f32)
                (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const -2147483648)))
                drop
                (memory.init $d1 (i32.const 0) (i32.const 0) (i32.const 1))
                (data.drop $d0)
                (table.copy $b $a (i32.const 0) (i32.const 0) (i32.const 1))
                (table.init $b $e1 (i32.const 0) (i32.const 0) (i32.const 1))
                (elem.drop $e1)
                (drop (table.grow $b (ref.null func) (i32.const 1)))
                (drop (table.size $b))
                (table.fill $b (i32.const 0) (ref.func $f) (i32.const 1))
                (table.set $b (i32.const 0) (table.get $a (i32.const 1)))
                (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))
                (memory.copy (i32.const 0) (i32.const 1) (i32.const 1))
                (global.set $h (global.get $g))
                (drop (i64.const -9223372036854775808))
                (drop (i32.load offset=4 (i32.const 0)))
                (drop (memory.size))
                (drop (call_indirect $b (type $t) (i32.const 5) (i32.const 0)))
                (drop (call $imp (i32.const 1)))
                (return_call_indirect $b (type $t) (i32.const 5) (i32.const 1)))
              (func (param i32) (result i32) (return_call $f (local.get 0)))
              (func (param i32) (result i32) (i32.atomic.rmw.add offset=8 (local.get 0) (i32.const 1)))
              (func (result v128) (v128.load8_lane offset=2 3 (i32.const 0) (v128.const i32x4 0 0 0 0))))"#,
        )
        .unwrap();
        let all = bodies(&wasm);
        assert_eq!(all.len(), 4);
        for body in all {
            let (quick, slow) = both(body.clone());
            let quick =
                quick.unwrap_or_else(|| panic!("body at {:#x} not renumbered fast", body.range().start));
            assert_eq!(read(only(&quick)), read(only(&slow.unwrap())));
        }
    }

    #[test]
    fn deep_nesting_goes_the_fast_way() {
        // Compilers nest blocks hundreds deep (a `switch` lowered to `br_table`).
        let depth = 300;
        let wat = format!(
            "(module (global $g (mut i32) (i32.const 0)) (func (param i32) {} (global.set $g (i32.const 1)) {}))",
            "(block (if (local.get 0) (then) (else) )".repeat(depth),
            ")".repeat(depth)
        );
        let wasm = wat::parse_str(wat).unwrap();
        let body = bodies(&wasm).pop().unwrap();
        let (quick, slow) = both(body);
        assert_eq!(read(only(&quick.expect("not renumbered fast"))), read(only(&slow.unwrap())));
    }

    #[test]
    fn damaged_bodies_are_renumbered_only_where_re_encoding_reads_them() {
        // Every body with one byte changed, cut short, or with a byte added: what the fast path
        // accepts, the re-encoding reads too, with the same result.
        let (mut fast, mut cases) = (0, 0);
        for (n, module) in plain_modules(60).into_iter().enumerate() {
            for body in bodies(&module).into_iter().take(20) {
                let data = body.as_bytes();
                for i in (0..data.len()).step_by(1 + data.len() / 16) {
                    let mut changed = data.to_vec();
                    changed[i] = changed[i].wrapping_add(1 + (n as u8 % 0x7f));
                    let mut longer = data.to_vec();
                    longer.insert(i, [0x80, 0xff, 0x0b, 0x05, 0x41, 0x28, 0xfd, 0xfe][i % 8]);
                    for case in [changed, longer, data[..i].to_vec()] {
                        cases += 1;
                        let reader = wasmparser::BinaryReader::new(&case, body.range().start);
                        let (quick, slow) = both(FunctionBody::new(reader));
                        let Some(quick) = quick else { continue };
                        fast += 1;
                        let slow = slow.unwrap_or_else(|| {
                            panic!("body at {:#x}, byte {i}: {case:x?}", body.range().start)
                        });
                        assert_eq!(
                            read(only(&quick)),
                            read(only(&slow)),
                            "body at {:#x}, byte {i}",
                            body.range().start
                        );
                    }
                }
            }
        }
        assert!(fast > cases / 4, "only {fast} of {cases} damaged bodies renumbered fast");
    }
}

//! Renumbering a function body for the merged module, fast: the body's bytes are copied and
//! only the indices in them (functions, globals, tables, types, data and element segments)
//! are rewritten through the module's maps. This covers the instructions compilers emit for
//! MVP code with bulk memory, reference types, SIMD and atomics; a body with anything else
//! (exceptions, GC, typed function references, a local or block of a reference type with a
//! type index, `select` with types) is left to wasm-encoder's re-encoding, which knows every
//! instruction.
//!
//! The bodies come from the rebaser, which has read every instruction of them, so they
//! decode; anything unexpected all the same (a truncated immediate, an overlong index) also
//! goes to the re-encoding, which reports it.

use wasm_encoder::Encode;
use wasm_encoder::reencode::{Error, Reencode};

/// Writes `body` (a function body's bytes after its size: locals, then instructions) to `out`
/// with its indices renumbered by `map`: `Ok(false)` if the body holds something this does not
/// renumber (`out` then holds a part of it, to be discarded). Errors are `map`'s.
pub(crate) fn body<T: Reencode + ?Sized>(
    body: &[u8],
    map: &mut T,
    out: &mut Vec<u8>,
) -> Result<bool, Error<T::Error>> {
    let mut r = Renumber { data: body, pos: 0, copied: 0, out };
    Ok(r.locals().is_some() && r.instructions(map)?.is_some())
}

/// Where the copy is.
struct Renumber<'a> {
    data: &'a [u8],
    /// The next byte to read.
    pos: usize,
    /// The bytes before this are in `out`.
    copied: usize,
    out: &'a mut Vec<u8>,
}

/// A value type of one byte: a number type, `v128`, `funcref` or `externref`.
fn plain(ty: u8) -> bool {
    matches!(ty, 0x7b..=0x7f | 0x70 | 0x6f)
}

impl Renumber<'_> {
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// A `u32` LEB128 as wasmparser reads it (at most 5 bytes, no bits past 32).
    #[inline(always)]
    fn u32(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 0x80 {
            return Some(u32::from(b));
        }
        let mut result = u32::from(b & 0x7f);
        let mut shift = 7;
        loop {
            let b = self.byte()?;
            if shift == 28 {
                return (b <= 0x0f).then(|| result | (u32::from(b) << 28));
            }
            result |= u32::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(result);
            }
            shift += 7;
        }
    }

    /// Skips a LEB128 of at most 10 bytes (any integer immediate).
    #[inline(always)]
    fn skip_leb(&mut self) -> Option<()> {
        for _ in 0..10 {
            if self.byte()? < 0x80 {
                return Some(());
            }
        }
        None
    }

    #[inline(always)]
    fn skip(&mut self, n: usize) -> Option<()> {
        (self.data.len() - self.pos >= n).then(|| self.pos += n)
    }

    /// A memarg: its alignment and flags, a memory index if the flags say so, its offset.
    #[inline(always)]
    fn memarg(&mut self) -> Option<()> {
        let flags = self.u32()?;
        if flags & 0x40 != 0 {
            self.u32()?;
        }
        self.skip_leb()
    }

    /// Reads an index and writes it renumbered by `f`.
    #[inline(always)]
    fn index<E>(&mut self, f: impl FnOnce(u32) -> Result<u32, E>) -> Result<Option<()>, E> {
        let start = self.pos;
        let Some(old) = self.u32() else { return Ok(None) };
        let new = f(old)?;
        if new != old {
            self.out.extend_from_slice(&self.data[self.copied..start]);
            new.encode(self.out);
            self.copied = self.pos;
        }
        Ok(Some(()))
    }

    /// The local declarations, copied: each of a plain type.
    fn locals(&mut self) -> Option<()> {
        for _ in 0..self.u32()? {
            self.u32()?;
            if !plain(self.byte()?) {
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
        while self.pos < self.data.len() {
            let op = some!(self.byte());
            match op {
                0x00 | 0x01 | 0x05 | 0x0b | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 | 0xd1 => {}
                0x0c | 0x0d | 0x20..=0x22 | 0x41 | 0x42 | 0x3f | 0x40 => some!(self.skip_leb()),
                0x28..=0x3e => some!(self.memarg()),
                0x02..=0x04 => {
                    // A block type: empty or one plain value.
                    let ty = some!(self.byte());
                    if ty != 0x40 && !plain(ty) {
                        return Ok(None);
                    }
                }
                0x0e => {
                    for _ in 0..=some!(self.u32()) {
                        some!(self.skip_leb());
                    }
                }
                0x10 | 0x12 | 0xd2 => some!(self.index(|i| map.function_index(i))?),
                0x11 | 0x13 => {
                    some!(self.index(|i| map.type_index(i))?);
                    some!(self.index(|i| map.table_index(i))?);
                }
                0x23 | 0x24 => some!(self.index(|i| map.global_index(i))?),
                0x25 | 0x26 => some!(self.index(|i| map.table_index(i))?),
                0x43 => some!(self.skip(4)),
                0x44 => some!(self.skip(8)),
                0xd0 => {
                    if !plain(some!(self.byte())) {
                        return Ok(None);
                    }
                }
                0xfc => match some!(self.u32()) {
                    0..=7 => {}
                    8 => {
                        some!(self.index(|i| map.data_index(i))?);
                        some!(self.skip_leb());
                    }
                    9 => some!(self.index(|i| map.data_index(i))?),
                    10 => {
                        some!(self.skip_leb());
                        some!(self.skip_leb());
                    }
                    11 => some!(self.skip_leb()),
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
                0xfd => match some!(self.u32()) {
                    0..=11 | 92 | 93 => some!(self.memarg()),
                    84..=91 => {
                        some!(self.memarg());
                        some!(self.skip(1));
                    }
                    12 | 13 => some!(self.skip(16)),
                    21..=34 => some!(self.skip(1)),
                    // Every other SIMD instruction the rebaser read has no immediate.
                    _ => {}
                },
                0xfe => match some!(self.u32()) {
                    // atomic.fence
                    3 => some!(self.skip(1)),
                    0..=2 | 0x10..=0x4e => some!(self.memarg()),
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        if self.pos != self.data.len() {
            return Ok(None);
        }
        self.out.extend_from_slice(&self.data[self.copied..]);
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
    fn damaged_bodies_never_panic() {
        let mut checked = 0;
        for (n, module) in plain_modules(40).into_iter().enumerate() {
            for body in bodies(&module).into_iter().take(10) {
                let data = body.as_bytes();
                for i in (0..data.len()).step_by(1 + data.len() / 16) {
                    let mut changed = data.to_vec();
                    changed[i] = changed[i].wrapping_add(1 + (n as u8 % 0x7f));
                    for case in [changed, data[..i].to_vec()] {
                        let mut out = Vec::new();
                        if let Ok(true) = super::body::<Shift>(&case, &mut Shift, &mut out) {
                            checked += 1;
                            // What it accepts, it copies with the same length or longer indices.
                            assert!(out.len() >= case.len());
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }
}

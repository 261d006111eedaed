//! The floor of this machine for any rebaser that reads instructions one after the other: the
//! least such a rebaser does is to walk every instruction of every body once, to find the
//! memory instructions among them. This walk does only that: no validation, no control frames,
//! no constant addresses, no output; it notes where each load and store starts. What it
//! reads per second bounds every rebase of the same input on one thread.
//!
//! It reads MVP instructions with bulk memory, reference types (without typed references),
//! tail calls, SIMD and atomics, and gives up (`None`) on anything else.

use std::ops::Range;

use wasmparser::{Parser, Payload};

/// Where the instructions of each function body are (after the local declarations).
pub fn bodies(wasm: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Ok(Payload::CodeSectionEntry(body)) = payload {
            let reader = body.get_operators_reader().unwrap();
            out.push(reader.original_position() as usize..body.range().end as usize);
        }
    }
    out
}

/// Walks the instructions of `bodies` in `wasm`, noting where each load and store starts in
/// `found`; the number of instructions, or `None` at an instruction it does not read.
pub fn walk(wasm: &[u8], bodies: &[Range<usize>], found: &mut Vec<u32>) -> Option<usize> {
    let mut count = 0;
    for body in bodies {
        count += walk_body(&wasm[body.clone()], found)?;
    }
    Some(count)
}

#[inline(always)]
fn leb(d: &[u8], p: &mut usize) -> Option<()> {
    let b = *d.get(*p)?;
    *p += 1;
    if b < 0x80 {
        return Some(());
    }
    for _ in 1..10 {
        let b = *d.get(*p)?;
        *p += 1;
        if b < 0x80 {
            return Some(());
        }
    }
    None
}

#[inline(always)]
fn count(d: &[u8], p: &mut usize) -> Option<u32> {
    let (mut v, mut shift) = (0u32, 0);
    loop {
        let b = *d.get(*p)?;
        *p += 1;
        v |= u32::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
    }
}

fn walk_body(d: &[u8], found: &mut Vec<u32>) -> Option<usize> {
    let (mut p, mut n) = (0, 0);
    while p < d.len() {
        let start = p;
        let op = d[p];
        p += 1;
        n += 1;
        match op {
            0x00 | 0x01 | 0x05 | 0x0b | 0x0f | 0x1a | 0x1b | 0x45..=0xc4 | 0xd1 => {}
            0x02..=0x04 | 0x0c | 0x0d | 0x10 | 0x12 | 0x20..=0x26 | 0x41 | 0x42 | 0xd2 => leb(d, &mut p)?,
            0x28..=0x3e => {
                leb(d, &mut p)?;
                leb(d, &mut p)?;
                found.push(start as u32);
            }
            0x3f | 0x40 | 0xd0 => leb(d, &mut p)?,
            0x43 => p += 4,
            0x44 => p += 8,
            0x0e => {
                for _ in 0..=count(d, &mut p)? {
                    leb(d, &mut p)?;
                }
            }
            0x11 | 0x13 => {
                leb(d, &mut p)?;
                leb(d, &mut p)?;
            }
            0x1c => p += count(d, &mut p)? as usize,
            0xfc => match count(d, &mut p)? {
                0..=7 => {}
                8 | 10 | 12 | 14 => {
                    leb(d, &mut p)?;
                    leb(d, &mut p)?;
                }
                9 | 11 | 13 | 15..=17 => leb(d, &mut p)?,
                _ => return None,
            },
            0xfd => match count(d, &mut p)? {
                0..=11 | 92 | 93 => {
                    leb(d, &mut p)?;
                    leb(d, &mut p)?;
                    found.push(start as u32);
                }
                84..=91 => {
                    leb(d, &mut p)?;
                    leb(d, &mut p)?;
                    p += 1;
                    found.push(start as u32);
                }
                12 | 13 => p += 16,
                21..=34 => p += 1,
                _ => {}
            },
            0xfe => match count(d, &mut p)? {
                3 => p += 1,
                0..=2 | 0x10..=0x4e => {
                    leb(d, &mut p)?;
                    leb(d, &mut p)?;
                    found.push(start as u32);
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    (p == d.len()).then_some(n)
}

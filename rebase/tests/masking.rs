//! Masking: every load and store of every width, at every offset, lands where the model says,
//! `base + ((address + offset) mod 2^32 & (size - 1))`, or `base + (address & (size - 1)) +
//! offset` for an offset and width within the 16-byte tail, whatever the address (past the
//! module's memory, past the segment, carried past 4 GiB), touches nothing outside the
//! segment and the 16 bytes after it, and never traps but where the offset alone passes the
//! segment; loads read what is there; constant addresses in the segment keep their offset;
//! and the options refuse what a mask cannot confine.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{Outcome, Rng, Run};
use flight_rebase::{MASK_TAIL, Options, PAGE, RelocationKind};
use wasmi::Val;

const SIZES: [(u32, &str, &str, &str); 5] = [
    (1, "i32.load8_u", "i32.store8", "i32.const -1"),
    (2, "i32.load16_u", "i32.store16", "i32.const -1"),
    (4, "i32.load", "i32.store", "i32.const -1"),
    (8, "i64.load", "i64.store", "i64.const -1"),
    (16, "v128.load", "v128.store", "v128.const i64x2 -1 -1"),
];
const OFFSETS: [u32; 8] = [0, 1, 12, 15, 0xFFFF, 0x3_FFF0, 0x4_0000, 0xFFFF_FFF0];

/// The segment: four pages at eight pages (a multiple of its size), in a memory of 13 pages.
const BASE: u64 = 8 * PAGE;
const SIZE: u64 = 4 * PAGE;

/// A module of one page with a load (returning what it read, a vector's low half) and a store
/// of all ones for each width and offset.
fn module() -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1)\n");
    for (size, load, store, ones) in SIZES {
        let (result, low) = match size {
            16 => ("i64", "i64x2.extract_lane 0"),
            8 => ("i64", ""),
            _ => ("i32", ""),
        };
        for off in OFFSETS {
            wat += &format!(
                " (func (export \"load{size} {off}\") (param i32) (result {result}) local.get 0 {load} offset={off} {low})\n"
            );
            wat += &format!(
                " (func (export \"store{size} {off}\") (param i32) local.get 0 {ones} {store} offset={off})\n"
            );
        }
    }
    wat += r#"
 (func (export "const inside") (result i32) i32.const 0x3FFFC i32.load)
 (func (export "const outside") (result i32) i32.const 0x3FFFD i32.load)
)"#;
    wat::parse_str(wat).unwrap()
}

fn masked() -> (Vec<u8>, flight_rebase::Relocations) {
    let options = Options::new(BASE, SIZE).with_masking(true).with_memory_pages(13);
    flight_rebase::rebase(&module(), &options).unwrap()
}

/// Where the model puts an access of `size` bytes at `address` with `offset`: the address
/// masked and then the offset added when both end within the tail, else their sum masked.
fn model(address: u32, offset: u32, size: u32) -> u64 {
    if u64::from(offset + size) <= MASK_TAIL.get() {
        BASE + (u64::from(address) & (SIZE - 1)) + u64::from(offset)
    } else {
        BASE + (u64::from(address.wrapping_add(offset)) & (SIZE - 1))
    }
}

fn addresses(rng: &mut Rng, offset: u32, size: u32) -> Vec<u32> {
    let mut a = vec![0, 1, (PAGE - 1) as u32, PAGE as u32, (SIZE - 1) as u32, SIZE as u32, u32::MAX];
    // The segment's last bytes, carried past 4 GiB, and some anywhere.
    a.extend([(SIZE as u32).wrapping_sub(offset).wrapping_sub(size), 0u32.wrapping_sub(offset)]);
    a.extend((0..24).map(|_| rng.next() as u32));
    a
}

#[test]
fn stores_land_where_the_mask_puts_them() {
    let (rebased, relocs) = masked();
    common::validate(&rebased);
    assert!(relocs.masking && relocs.counts.masked > 0 && relocs.counts.checked == 0, "{relocs}");
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let mut rng = Rng(0x6d61_736b);
    for (size, ..) in SIZES {
        for off in OFFSETS {
            for address in addresses(&mut rng, off, size) {
                run.memory_mut().unwrap().fill(0);
                let name = format!("store{size} {off}");
                let outcome = run.call(&name, &[Val::I32(address as i32)], u64::MAX);
                let memory = run.memory().unwrap();
                if u64::from(off) + u64::from(size) > SIZE {
                    // Past the segment whatever the address: the original traps, and so does this.
                    assert!(matches!(outcome, Outcome::Trap(_)), "{name}({address:#x}): {outcome:?}");
                    assert_eq!(common::first_non_zero(memory), None, "{name}({address:#x})");
                    continue;
                }
                assert!(matches!(outcome, Outcome::Values(_)), "{name}({address:#x}): {outcome:?}");
                let at = model(address, off, size) as usize;
                let written: Vec<usize> = (0..memory.len()).filter(|&i| memory[i] != 0).collect();
                assert_eq!(written, (at..at + size as usize).collect::<Vec<_>>(), "{name}({address:#x})");
                assert!(
                    at >= BASE as usize && at + size as usize <= (BASE + SIZE + MASK_TAIL.get()) as usize
                );
            }
        }
    }
}

#[test]
fn loads_read_where_the_mask_puts_them() {
    let (rebased, _) = masked();
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    // Each byte its own value, so a read from the wrong place reads other bytes.
    for (i, b) in run.memory_mut().unwrap().iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(0x9e37_79b9).to_le_bytes()[3];
    }
    let memory = run.memory().unwrap().to_vec();
    let mut rng = Rng(0x6c6f_6164);
    for (size, ..) in SIZES {
        for off in OFFSETS.into_iter().filter(|&o| u64::from(o) + u64::from(size) <= SIZE) {
            for address in addresses(&mut rng, off, size) {
                let at = model(address, off, size) as usize;
                let mut bytes = [0u8; 8];
                let n = size.min(8) as usize;
                bytes[..n].copy_from_slice(&memory[at..at + n]);
                let expected = u64::from_le_bytes(bytes);
                let name = format!("load{size} {off}");
                let outcome = run.call(&name, &[Val::I32(address as i32)], u64::MAX);
                let Outcome::Values(v) = &outcome else { panic!("{name}({address:#x}): {outcome:?}") };
                assert_eq!(v[0] as u64 & if size >= 8 { u64::MAX } else { (1 << (8 * size)) - 1 }, expected);
            }
        }
    }
}

#[test]
fn constant_addresses_inside_keep_their_offset() {
    let (rebased, relocs) = masked();
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    run.memory_mut().unwrap()[(BASE + 0x3FFFC) as usize] = 7;
    assert_eq!(run.call("const inside", &[], u64::MAX), Outcome::Values(vec![7]));
    // 0x3FFFD + 4 passes the segment by a byte: masked, it reads the tail's first byte.
    run.memory_mut().unwrap()[(BASE + SIZE) as usize] = 9;
    assert_eq!(run.call("const outside", &[], u64::MAX), Outcome::Values(vec![9 << 24]));
    let memargs: Vec<(u64, bool)> = relocs
        .entries
        .iter()
        .filter_map(|e| match e.change {
            RelocationKind::Memarg { new_offset, masked, .. } => Some((new_offset, masked)),
            _ => None,
        })
        .collect();
    // The last two accesses are the constant ones.
    assert_eq!(memargs[memargs.len() - 2..], [(BASE, false), (BASE, true)]);
}

#[test]
fn masking_refuses_what_it_cannot_confine() {
    let wasm = module();
    let refused = |o: Options, words: &str| {
        let e = flight_rebase::rebase(&wasm, &o).unwrap_err().to_string();
        assert!(e.contains(words), "{e}");
    };
    refused(Options::new(BASE, 3 * PAGE).with_masking(true), "power of two");
    refused(Options::new(2 * PAGE, SIZE).with_masking(true), "multiple of it");
    refused(Options::new(BASE, SIZE).with_masking(true).with_bounds_checks(true), "choose one");
    refused(
        Options::new(BASE, SIZE).with_masking(true).with_shared(BASE + SIZE..BASE + SIZE + 64),
        "shared regions need bounds checks",
    );
}

/// Operands above the address (a lane store's vector, a lane load's) are set aside and taken
/// back in order: each lands where the model puts it, with the value it had; a
/// compare-exchange's two are masked too and validate (wasmi runs no atomics).
#[test]
fn operands_above_the_address_keep_their_order() {
    let atomics = wat::parse_str(
        r#"(module (memory 1 1 shared)
        (func (export "cmpxchg") (param i32 i64 i64) (result i64)
          local.get 0 local.get 1 local.get 2 i64.atomic.rmw.cmpxchg offset=8))"#,
    )
    .unwrap();
    let options = Options::new(BASE, SIZE).with_masking(true).with_memory_pages(13);
    let (rebased, relocs) = flight_rebase::rebase(&atomics, &options).unwrap();
    common::validate(&rebased);
    assert_eq!(relocs.counts.masked, 1, "{relocs}");

    let lanes = wat::parse_str(
        r#"(module (memory (export "memory") 1)
        (func (export "lane") (param i32 i32)
          local.get 0 local.get 1 i32x4.splat i32.const 7 i32x4.replace_lane 1 v128.store32_lane offset=4 1)
        (func (export "load lane") (param i32) (result i32)
          local.get 0 v128.const i32x4 0 0 0 0 v128.load32_lane offset=4 2 i32x4.extract_lane 2))"#,
    )
    .unwrap();
    let (rebased, relocs) = flight_rebase::rebase(&lanes, &options).unwrap();
    common::validate(&rebased);
    assert_eq!(relocs.counts.masked, 2, "{relocs}");
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let address = (SIZE + 0x100) as i32; // past the segment: masked to 0x100
    assert!(matches!(run.call("lane", &[Val::I32(address), Val::I32(3)], u64::MAX), Outcome::Values(_)));
    let lane = model(address as u32, 4, 4) as usize;
    assert_eq!(run.memory().unwrap()[lane..lane + 4], 7u32.to_le_bytes());
    assert_eq!(run.call("load lane", &[Val::I32(address)], u64::MAX), Outcome::Values(vec![7]));
}

/// In a merge, a masked module's tail belongs to no other module's segment, and the memory
/// holds it.
#[test]
fn a_merge_keeps_the_tail_of_a_masked_module() {
    use flight_rebase::merge::{Input, MergeOptions, merge};
    let store = wat::parse_str(
        r#"(module (memory 1) (func (export "frame") (param i32) (result i32)
        i32.const -1 i32.const 1 i32.store i32.const 0))"#,
    )
    .unwrap();
    let next = Input::new("next", &store, BASE + SIZE, SIZE);
    let masked = Input::new("masked", &store, BASE, SIZE).with_masking(true);
    let e = merge(&[masked.clone(), next], &MergeOptions::default()).unwrap_err().to_string();
    assert!(e.contains("overlap"), "{e}");
    // Alone and highest: the memory ends past its tail, so the store at -1 does not trap.
    let merged = merge(std::slice::from_ref(&masked), &MergeOptions::default()).unwrap();
    assert_eq!(merged.relocations.memory_pages, (BASE + SIZE).div_ceil(PAGE) + 1);
    let engine = common::engine();
    let mut run = Run::new(&engine, &merged.wasm, u64::MAX).unwrap();
    assert_eq!(run.call("frame", &[Val::I32(0)], u64::MAX), Outcome::Values(vec![0]));
}

//! Bounds checks trap exactly outside the module's memory (its current pages in the segment)
//! and its shared regions: at the last byte, one byte further, with offsets that carry the
//! address past 4 GiB, after `memory.grow`, and for the bulk instructions.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::{Outcome, Run};
use flight_rebase::{Options, PAGE, RelocationKind, Shared, SharedAccess, TrapKind};
use wasmi::Val;

const SIZES: [(u32, &str, &str); 5] = [
    (1, "i32.load8_u", "i32.store8"),
    (2, "i32.load16_u", "i32.store16"),
    (4, "i32.load", "i32.store"),
    (8, "i64.load", "i64.store"),
    (16, "v128.load", "v128.store"),
];
const OFFSETS: [u32; 5] = [0, 1, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFF0];

/// The test module; `grows`: with `memory.grow` (the limit is then read from a global, else it
/// is a constant).
fn module_that(grows: bool) -> Vec<u8> {
    let mut wat = String::from("(module (memory (export \"memory\") 1 4)\n");
    for (size, load, store) in SIZES {
        let (ty, drop) = if size == 16 { ("v128", "i64x2.extract_lane 0 drop") } else { ("i32", "drop") };
        let value = if size == 16 {
            "v128.const i64x2 -1 -1"
        } else if size == 8 {
            "i64.const -1"
        } else {
            "i32.const -1"
        };
        let _ = ty;
        for off in OFFSETS {
            wat += &format!(
                " (func (export \"load{size} {off}\") (param i32) local.get 0 {load} offset={off} {drop})\n"
            );
            wat += &format!(
                " (func (export \"store{size} {off}\") (param i32) local.get 0 {value} {store} offset={off})\n"
            );
        }
    }
    if grows {
        wat += r#" (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)"#;
    }
    wat += r#"
 (func (export "size") (result i32) memory.size)
 (func (export "fill") (param i32 i32) local.get 0 i32.const 0xab local.get 1 memory.fill)
 (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
 (func (export "const in bounds") (result i32) i32.const 65532 i32.load)
 (func (export "const past the initial memory") (result i32) i32.const 65533 i32.load)
 (func (export "const store in bounds") i32.const 8 f64.const 1.5 f64.store offset=65520)
)"#;
    wat::parse_str(wat).unwrap()
}

fn trapped(o: &Outcome) -> bool {
    match o {
        Outcome::Trap(t) => {
            assert!(
                matches!(t, wasmi::TrapCode::UnreachableCodeReached | wasmi::TrapCode::MemoryOutOfBounds),
                "{o:?}"
            );
            true
        }
        Outcome::Values(_) => false,
        Outcome::Error(e) => panic!("{e}"),
    }
}

fn call(run: &mut Run, name: &str, args: &[i32]) -> Outcome {
    let args: Vec<Val> = args.iter().map(|a| Val::I32(*a)).collect();
    run.call(name, &args, u64::MAX)
}

/// Every load and store, at every offset, traps exactly when `address + offset + size` passes
/// the module's memory, which is `pages` pages.
fn check_edges(run: &mut Run, pages: u64, base: u64) {
    let limit = pages * PAGE;
    for (size, _, _) in SIZES {
        for off in OFFSETS {
            let at = limit as i64 - i64::from(off) - i64::from(size);
            let mut addresses: Vec<i64> =
                [at - 1, at, at + 1, 0, 1].into_iter().filter(|a| *a >= 0).collect();
            // Addresses whose sum with the offset carries past 4 GiB.
            addresses.extend([(1i64 << 32) - i64::from(off), (1i64 << 32) - 1, (1i64 << 32) - 16]);
            for address in addresses {
                let address = address as u64 as u32;
                let end = u64::from(address) + u64::from(off) + u64::from(size);
                for what in ["load", "store"] {
                    let name = format!("{what}{size} {off}");
                    let outcome = call(run, &name, &[address as i32]);
                    assert_eq!(
                        trapped(&outcome),
                        end > limit,
                        "{name}({address:#x}) with {pages} pages: {outcome:?}"
                    );
                }
            }
        }
    }
    // Nothing outside the segment's used part was written.
    let memory = run.memory().unwrap();
    assert_eq!(common::first_non_zero(&memory[..base as usize]), None);
    assert_eq!(common::first_non_zero(&memory[(base + limit) as usize..]), None);
}

fn module() -> Vec<u8> {
    module_that(true)
}

#[test]
fn accesses_trap_exactly_past_a_fixed_memory() {
    let wasm = module_that(false);
    for base in [PAGE, 7 * PAGE] {
        let options = Options::new(base, 4 * PAGE).with_bounds_checks(true).with_memory_pages(12);
        let (rebased, _) = flight_rebase::rebase(&wasm, &options).unwrap();
        common::validate(&rebased);
        let engine = common::engine();
        let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
        check_edges(&mut run, 1, base);
        assert_eq!(call(&mut run, "size", &[]), Outcome::Values(vec![1]));
    }
}

#[test]
fn accesses_trap_exactly_past_the_memory() {
    let wasm = module();
    let base = 3 * PAGE;
    let options = Options::new(base, 4 * PAGE).with_bounds_checks(true).with_memory_pages(9);
    let (rebased, _) = flight_rebase::rebase(&wasm, &options).unwrap();
    common::validate(&rebased);
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    check_edges(&mut run, 1, base);
    // Growing moves the limit, up to the declared maximum (the segment here).
    assert_eq!(call(&mut run, "grow", &[2]), Outcome::Values(vec![1]));
    check_edges(&mut run, 3, base);
    assert_eq!(call(&mut run, "grow", &[2]), Outcome::Values(vec![u32::MAX as u128]));
    assert_eq!(call(&mut run, "grow", &[1]), Outcome::Values(vec![3]));
    assert_eq!(call(&mut run, "size", &[]), Outcome::Values(vec![4]));
    check_edges(&mut run, 4, base);
}

#[test]
fn without_checks_only_the_4_gib_carry_traps() {
    // The offset moves the access; past the segment nothing stops it but the memory's end.
    let wasm = module();
    let base = 3 * PAGE;
    let options = Options::new(base, 4 * PAGE).with_memory_pages(9);
    let (rebased, _) = flight_rebase::rebase(&wasm, &options).unwrap();
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    // Past the module's one page, still in the segment: no trap without checks.
    assert!(!trapped(&call(&mut run, "load4 0", &[PAGE as i32])));
    // Carried past 4 GiB: traps.
    assert!(trapped(&call(&mut run, "load4 4294967280", &[0x20])));
    assert!(trapped(&call(&mut run, "store8 2147483647", &[i32::MAX])));
    assert!(trapped(&call(&mut run, "load1 0", &[-1])));
}

#[test]
fn bulk_instructions_check_their_ranges() {
    let wasm = module();
    let base = 3 * PAGE;
    for checks in [true, false] {
        let options = Options::new(base, 4 * PAGE).with_bounds_checks(checks).with_memory_pages(9);
        let (rebased, _) = flight_rebase::rebase(&wasm, &options).unwrap();
        let engine = common::engine();
        let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
        let p = PAGE as i32;
        assert!(!trapped(&call(&mut run, "fill", &[p - 10, 10])));
        assert!(trapped(&call(&mut run, "fill", &[p - 10, 11])));
        assert!(!trapped(&call(&mut run, "fill", &[p, 0])));
        assert!(trapped(&call(&mut run, "fill", &[p + 1, 0])));
        // The sum wraps in 32 bits; the check is in 64.
        assert!(trapped(&call(&mut run, "fill", &[-1, 2])));
        assert!(trapped(&call(&mut run, "copy", &[0, -16, 32])));
        assert!(trapped(&call(&mut run, "copy", &[-16, 0, 32])));
        assert!(!trapped(&call(&mut run, "copy", &[0, p - 10, 10])));
        let memory = run.memory().unwrap();
        assert_eq!(common::first_non_zero(&memory[..base as usize]), None);
        assert_eq!(common::first_non_zero(&memory[(base + PAGE) as usize..]), None);
        assert_eq!(memory[(base + PAGE) as usize - 1], 0xab);
        assert_eq!(memory[base as usize], 0xab);
    }
}

#[test]
fn constant_addresses_in_bounds_are_not_checked() {
    let wasm = module();
    let options = Options::new(PAGE, 4 * PAGE).with_bounds_checks(true);
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
    let checked = |name: &str| {
        let access = flight_rebase::analyse(&wasm)
            .unwrap()
            .accesses
            .into_iter()
            .filter(|a| a.address.is_some())
            .find(|a| a.instruction == name)
            .unwrap();
        relocs.entries.iter().find(|e| e.offset == access.offset).map(|e| e.change.clone())
    };
    assert!(matches!(checked("i32.load"), Some(RelocationKind::Memarg { checked: false, .. })));
    assert!(matches!(checked("f64.store"), Some(RelocationKind::Memarg { checked: false, .. })));
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    assert!(!trapped(&call(&mut run, "const in bounds", &[])));
    assert!(trapped(&call(&mut run, "const past the initial memory", &[])));
    assert!(!trapped(&call(&mut run, "const store in bounds", &[])));
    // The check of the constant past the initial memory is there: it passes once grown.
    assert_eq!(call(&mut run, "grow", &[1]), Outcome::Values(vec![1]));
    assert!(!trapped(&call(&mut run, "const past the initial memory", &[])));
}

#[test]
fn shared_regions_are_reachable_and_nothing_around_them() {
    // Segment: pages [2, 3); shared region: absolute [5 pages, 5 pages + 4 KiB), which the
    // module addresses at [3 pages, 3 pages + 4 KiB).
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1 1)
            (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
            (func (export "store8 at 16") (param i32 i32) local.get 0 local.get 1 i32.store8 offset=16)
            (func (export "load") (param i32) (result i32) local.get 0 i32.load)
            (func (export "load at the region") (param i32) (result i32) local.get 0 i32.load offset=196608)
            (func (export "fill") (param i32 i32) local.get 0 i32.const 0x5a local.get 1 memory.fill)
            (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy))"#,
    )
    .unwrap();
    let (base, shared) = (2 * PAGE, 5 * PAGE);
    let options = Options::new(base, PAGE).with_bounds_checks(true).with_shared(shared..shared + 4096);
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
    common::validate(&rebased);
    assert_eq!(
        relocs.shared,
        vec![Shared { range: 3 * PAGE..3 * PAGE + 4096, access: SharedAccess::ReadWrite }]
    );
    assert!(relocs.helpers.iter().any(|h| h.name == "shared-check.write"));
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let at = 3 * PAGE as i32;
    assert!(!trapped(&call(&mut run, "store", &[at, 0x1122_3344])));
    assert!(!trapped(&call(&mut run, "store", &[at + 4092, 7])));
    assert!(trapped(&call(&mut run, "store", &[at + 4093, 7])));
    assert!(trapped(&call(&mut run, "store", &[at - 2, 7])));
    assert!(trapped(&call(&mut run, "store", &[at - 4, 7])));
    assert!(!trapped(&call(&mut run, "store8 at 16", &[at + 4079, 9])));
    assert!(trapped(&call(&mut run, "store8 at 16", &[at + 4080, 9])));
    // Between the segment and the region: traps.
    assert!(trapped(&call(&mut run, "store", &[PAGE as i32, 1])));
    // Bulk: into the region, from the module's memory; not across the region's end.
    assert!(!trapped(&call(&mut run, "fill", &[16, 32])));
    assert!(!trapped(&call(&mut run, "copy", &[at + 100, 16, 32])));
    assert!(trapped(&call(&mut run, "fill", &[at + 4000, 97])));
    assert_eq!(call(&mut run, "load", &[at]), Outcome::Values(vec![0x1122_3344]));
    // An offset past the module's memory: only the region takes it.
    assert_eq!(call(&mut run, "load at the region", &[0]), Outcome::Values(vec![0x1122_3344]));
    assert!(!trapped(&call(&mut run, "load at the region", &[4092])));
    assert!(trapped(&call(&mut run, "load at the region", &[4093])));
    assert!(trapped(&call(&mut run, "load at the region", &[-4])));
    let memory = run.memory().unwrap();
    let s = shared as usize;
    assert_eq!(memory[s..s + 4], 0x1122_3344u32.to_le_bytes());
    assert_eq!(memory[s + 4092], 7);
    assert_eq!(memory[s + 4095], 9);
    assert_eq!(memory[s + 100..s + 132], [0x5a; 32]);
    // Nothing else outside the segment and the region.
    assert_eq!(common::first_non_zero(&memory[..base as usize]), None);
    assert_eq!(common::first_non_zero(&memory[(base + PAGE) as usize..s]), None);
    assert_eq!(common::first_non_zero(&memory[s + 4096..]), None);
}

/// What the trap export holds after `outcome`, decoded; the export is set back to 0.
fn report(run: &mut Run) -> Option<(TrapKind, u64)> {
    let value = run.take_trap().expect("a checked module exports its trap global");
    TrapKind::decode(value).or_else(|| {
        assert_eq!(value, 0, "an unknown code");
        None
    })
}

#[test]
fn checks_report_why_and_where_they_trapped() {
    let wasm = wat::parse_str(
        r#"(module (memory 1 1)
            (func (export "load") (param i32) (result i32) local.get 0 i32.load offset=8)
            (func (export "store") (param i32) local.get 0 i32.const 1 i32.store16 offset=2)
            (func (export "fill") (param i32 i32) local.get 0 i32.const 0 local.get 1 memory.fill)
            (func (export "copy") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
            (func (export "unreachable") unreachable)
            (func (export "divide") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u))"#,
    )
    .unwrap();
    let base = 3 * PAGE;
    let options = Options::new(base, PAGE).with_bounds_checks(true);
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
    common::validate(&rebased);
    assert!(relocs.trap_global.is_some());
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    let page = PAGE as i32;
    // In bounds: nothing recorded.
    assert!(!trapped(&call(&mut run, "load", &[page - 12])));
    assert_eq!(report(&mut run), None);
    // Each report: the kind, and the first byte the access would have touched, absolute.
    let cases: [(&str, &[i32], TrapKind, u64); 6] = [
        ("load", &[page - 11], TrapKind::Read, base + PAGE - 3),
        ("load", &[-8], TrapKind::Read, base + 0xFFFF_FFF8 + 8),
        ("store", &[page - 3], TrapKind::Write, base + PAGE - 1),
        ("fill", &[page - 4, 5], TrapKind::Write, base + PAGE - 4),
        ("copy", &[0, page - 1, 2], TrapKind::Read, base + PAGE - 1),
        ("copy", &[page, 0, 1], TrapKind::Write, base + PAGE),
    ];
    for (name, args, kind, at) in cases {
        assert!(trapped(&call(&mut run, name, args)), "{name}{args:?}");
        assert_eq!(report(&mut run), Some((kind, at)), "{name}{args:?}");
    }
    // A trap of the module's own leaves the export 0: a runtime tells the two apart.
    assert!(matches!(
        call(&mut run, "unreachable", &[]),
        Outcome::Trap(wasmi::TrapCode::UnreachableCodeReached)
    ));
    assert_eq!(report(&mut run), None);
    assert!(matches!(call(&mut run, "divide", &[0]), Outcome::Trap(wasmi::TrapCode::IntegerDivisionByZero)));
    assert_eq!(report(&mut run), None);
    assert_eq!(TrapKind::decode(0), None);
    assert_eq!(TrapKind::decode(7 << TrapKind::SHIFT), None, "an unknown code");
}

#[test]
fn a_reader_of_a_shared_region_reads_it_and_its_writes_trap() {
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1 1)
            (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
            (func (export "load") (param i32) (result i32) local.get 0 i32.load)
            (func (export "fill") (param i32 i32) local.get 0 i32.const 0x5a local.get 1 memory.fill)
            (func (export "copy out") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.copy)
            (func (export "const store") i32.const 196608 i32.const 7 i32.store)
            (func (export "const load") (result i32) i32.const 196608 i32.load))"#,
    )
    .unwrap();
    // Segment: pages [2, 3); a region the module reads at [5 pages, +4 KiB), one it writes at
    // [6 pages, +4 KiB).
    let (base, read, write) = (2 * PAGE, 5 * PAGE, 6 * PAGE);
    let options = Options::new(base, PAGE)
        .with_bounds_checks(true)
        .with_shared_access(read..read + 4096, SharedAccess::Read)
        .with_shared_access(write..write + 4096, SharedAccess::ReadWrite);
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options).unwrap();
    common::validate(&rebased);
    assert_eq!(relocs.shared[0], Shared { range: 3 * PAGE..3 * PAGE + 4096, access: SharedAccess::Read });
    let engine = common::engine();
    let mut run = Run::new(&engine, &rebased, u64::MAX).unwrap();
    // The host fills the region the module reads.
    run.memory_mut().unwrap()[read as usize..read as usize + 4]
        .copy_from_slice(&0x0bad_cafe_u32.to_le_bytes());
    let (r, w) = ((read - base) as i32, (write - base) as i32);
    assert_eq!(call(&mut run, "load", &[r]), Outcome::Values(vec![0x0bad_cafe]));
    assert_eq!(call(&mut run, "const load", &[]), Outcome::Values(vec![0x0bad_cafe]));
    assert!(!trapped(&call(&mut run, "store", &[w, 1])));
    // Writes into the region it reads: each traps, reported as such, and nothing is written.
    for (name, args) in [
        ("store", vec![r + 8, 1]),
        ("fill", vec![r + 16, 4]),
        ("copy out", vec![r, 0, 4]),
        ("const store", vec![]),
    ] {
        assert!(trapped(&call(&mut run, name, &args)), "{name}{args:?}");
        let at = match name {
            "const store" => read,
            _ => base + args[0] as u64,
        };
        assert_eq!(report(&mut run), Some((TrapKind::ReadOnlyWrite, at)), "{name}{args:?}");
    }
    let memory = run.memory().unwrap();
    assert_eq!(common::first_non_zero(&memory[read as usize + 4..read as usize + 4096]), None);
    // Past the regions: reads and writes outside everything.
    assert!(trapped(&call(&mut run, "load", &[r + 4096])));
    assert_eq!(report(&mut run), Some((TrapKind::Read, read + 4096)));
    assert!(trapped(&call(&mut run, "store", &[w + 4093, 0])));
    assert_eq!(report(&mut run), Some((TrapKind::Write, write + 4093)));
}

#[test]
fn a_module_s_own_export_cannot_take_the_trap_export_s_name() {
    let wasm = wat::parse_str(
        r#"(module (memory 1) (global (export "flight.trap") i32 (i32.const 0))
            (func (export "load") (param i32) (result i32) local.get 0 i32.load))"#,
    )
    .unwrap();
    let err = flight_rebase::rebase(&wasm, &Options::new(PAGE, PAGE).with_bounds_checks(true)).unwrap_err();
    assert!(err.to_string().contains("exports a name of its own as `flight.trap`"), "{err}");
    // Unchecked, the module keeps its export: there is no trap export to collide with.
    assert!(flight_rebase::rebase(&wasm, &Options::new(PAGE, PAGE)).is_ok());
}

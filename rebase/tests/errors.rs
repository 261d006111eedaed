//! Bad input gets a clear error, with the function and the offset where there is one, and
//! never a panic.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_rebase::{Error, Options, PAGE};

fn rebase(wat: &str, options: &Options) -> Result<Vec<u8>, Error> {
    let wasm = wat::parse_str(wat).unwrap();
    flight_rebase::rebase(&wasm, options).map(|(w, _)| w)
}

fn segment() -> Options {
    Options::new(PAGE, 4 * PAGE).with_bounds_checks(true)
}

#[test]
fn malformed_bytes() {
    for bytes in [&b""[..], b"\0asm", b"\0asm\x01\0\0\0\x05", b"not wasm at all", b"\0asm\x02\0\0\0"] {
        let e = flight_rebase::rebase(bytes, &segment()).unwrap_err();
        assert!(matches!(e, Error::Malformed { function: None, .. }), "{e:?}");
        assert!(e.to_string().starts_with("invalid module: at offset 0x"), "{e}");
        assert!(flight_rebase::analyse(bytes).is_err());
    }
}

#[test]
fn an_invalid_function_is_named_with_its_offset() {
    let mut wasm =
        wat::parse_str("(module (memory 1) (func) (func (result i32) i32.const 1 i32.const 2 i32.add))")
            .unwrap();
    // Turn the `i32.add` (0x6a) into an `i64.add` (0x7c): a type error in function 1.
    let at = wasm.iter().rposition(|b| *b == 0x6a).unwrap();
    wasm[at] = 0x7c;
    let e = flight_rebase::rebase(&wasm, &segment()).unwrap_err();
    let Error::Malformed { function: Some(1), offset, .. } = e else { panic!("{e:?}") };
    assert_eq!(offset, at as u64);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("invalid module: function 1 at offset {at:#x}: type mismatch")),
        "{text}"
    );
}

#[test]
fn a_component_is_not_a_module() {
    let component = wat::parse_str("(component)").unwrap();
    assert_eq!(flight_rebase::rebase(&component, &segment()).unwrap_err(), Error::Component);
    assert_eq!(flight_rebase::analyse(&component).unwrap_err(), Error::Component);
}

#[test]
fn memories_that_cannot_be_rebased() {
    let e = rebase("(module (func))", &segment()).unwrap_err();
    assert_eq!(e, Error::NoMemory);
    assert!(e.to_string().contains("no memory"));

    let e = rebase("(module (memory 1) (memory 1))", &segment()).unwrap_err();
    assert_eq!(e, Error::SeveralMemories { count: 2 });
    let e = rebase("(module (import \"env\" \"m\" (memory 1)) (memory 1))", &segment()).unwrap_err();
    assert_eq!(e, Error::SeveralMemories { count: 2 });

    let e = rebase("(module (memory i64 1))", &segment()).unwrap_err();
    assert!(matches!(e, Error::Memory64 { offset } if offset > 8), "{e:?}");
    assert!(e.to_string().contains("64-bit"));

    // A custom page size is a feature the rebaser does not accept at all.
    let wasm = wat::parse_str("(module (memory 1 (pagesize 1)))").unwrap();
    let e = flight_rebase::rebase(&wasm, &segment()).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");

    // But analysis reports them.
    let wasm =
        wat::parse_str("(module (memory 1) (memory i64 2) (func i64.const 0 i32.load 1 drop))").unwrap();
    let a = flight_rebase::analyse(&wasm).unwrap();
    assert_eq!(a.memories.len(), 2);
    assert!(a.memories[1].memory64);
    assert_eq!(a.accesses[0].memory, 1);
}

#[test]
fn memories_that_do_not_fit_the_segment() {
    let e = rebase("(module (memory 5))", &segment()).unwrap_err();
    assert_eq!(e, Error::InitialTooLarge { pages: 5, segment: 4 * PAGE });
    assert!(e.to_string().contains("initial size (5 pages"), "{e}");

    let e = rebase("(module (memory 1 5))", &segment()).unwrap_err();
    assert_eq!(e, Error::MaximumTooLarge { pages: 5, segment: 4 * PAGE });
    let e = rebase("(module (import \"env\" \"memory\" (memory 1 65536)))", &segment()).unwrap_err();
    assert!(matches!(e, Error::MaximumTooLarge { pages: 65536, .. }), "{e:?}");

    // Data past the initial memory (the original does not instantiate either).
    let e = rebase("(module (memory 1 4) (data (i32.const 65530) \"0123456789\"))", &segment()).unwrap_err();
    let Error::DataOutOfBounds { segment: 0, address: 65530, len: 10, memory: 65536, .. } = e else {
        panic!("{e:?}")
    };
    assert!(e.to_string().starts_with("data segment 0 at offset 0x"), "{e}");
    let e = rebase("(module (memory 1) (data (i32.const 0) \"\") (data (i32.const -1) \"x\"))", &segment())
        .unwrap_err();
    assert!(matches!(e, Error::DataOutOfBounds { segment: 1, .. }), "{e:?}");

    // Placed by a global: the rebaser cannot tell where.
    let e = rebase(
        "(module (import \"env\" \"base\" (global i32)) (memory 1) (data (global.get 0) \"x\"))",
        &segment(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::DataAddressNotConstant { segment: 0, .. }), "{e:?}");
}

#[test]
fn growing_a_shared_memory() {
    let e = rebase("(module (memory 1 4 shared) (func (result i32) i32.const 1 memory.grow))", &segment())
        .unwrap_err();
    let Error::SharedMemoryGrow { function: 0, offset } = e else { panic!("{e:?}") };
    assert!(e.to_string().contains(&format!("function 0 at offset {offset:#x}")), "{e}");
}

#[test]
fn too_many_locals_for_the_checks() {
    // 2 parameters and 49,998 locals: the most a function may have; a checked store needs two more.
    let mut wat = String::from("(module (memory 1) (func (param i32 i32)");
    wat += &" (local i32)".repeat(49_998);
    wat += " local.get 0 local.get 1 i32.store))";
    let wasm = wat::parse_str(&wat).unwrap();
    let e = flight_rebase::rebase(&wasm, &segment()).unwrap_err();
    assert_eq!(e, Error::TooManyLocals { function: 0 });
    // Without checks no local is added.
    flight_rebase::rebase(&wasm, &Options::new(PAGE, PAGE)).unwrap();
}

#[test]
fn bad_segments() {
    let module = "(module (memory 1))";
    let bad = |o: Options| {
        let e = rebase(module, &o).unwrap_err();
        assert!(matches!(e, Error::Options(_)), "{e:?}");
        e.to_string()
    };
    assert!(bad(Options::new(100, PAGE)).contains("multiples of 64 KiB"));
    assert!(bad(Options::new(PAGE, 100)).contains("multiples of 64 KiB"));
    assert!(bad(Options::new(PAGE, 0)).contains("zero"));
    assert!(bad(Options::new(1 << 32, PAGE)).contains("past 4 GiB"));
    assert!(bad(Options::new((1 << 32) - PAGE, 2 * PAGE)).contains("past 4 GiB"));
    assert!(bad(Options::new(4 * PAGE, PAGE).with_shared(0..16)).contains("below the base"));
    assert!(bad(Options::new(PAGE, PAGE).with_shared(3 * PAGE..3 * PAGE)).contains("empty"));
    assert!(bad(Options::new(PAGE, PAGE).with_memory_pages(1)).contains("does not hold"));
    assert!(
        bad(Options::new(PAGE, PAGE).with_shared(4 * PAGE..5 * PAGE).with_memory_pages(4))
            .contains("does not hold")
    );
    // The largest segment there is.
    rebase(module, &Options::new(0, 1 << 32)).unwrap();
}

#[test]
fn a_maximum_past_the_segment_can_be_clamped() {
    let wasm = wat::parse_str(
        "(module (memory 1 32768) (func (export \"g\") (result i32) i32.const 10 memory.grow))",
    )
    .unwrap();
    let options = Options::new(PAGE, 4 * PAGE);
    assert!(matches!(
        flight_rebase::rebase(&wasm, &options),
        Err(Error::MaximumTooLarge { pages: 32768, .. })
    ));
    let (out, relocs) = flight_rebase::rebase(&wasm, &options.with_clamped_maximum(true)).unwrap();
    wasmparser::Validator::new_with_features(flight_rebase::FEATURES).validate_all(&out).unwrap();
    assert!(relocs.entries.iter().any(|e| matches!(
        e.change,
        flight_rebase::RelocationKind::Memory { old_maximum: Some(32768), new_maximum: Some(5), .. }
    )));
}

#[test]
fn an_unvalidated_64_bit_offset_on_a_32_bit_memory_traps_without_overflow() {
    // `i32.load offset=0xffff_ffff_ffff_fff0` on a 32-bit memory: malformed for a validator,
    // readable without one.
    use wasm_encoder::{
        CodeSection, Function, FunctionSection, Instruction, MemArg, MemorySection, MemoryType, TypeSection,
    };
    let mut module = wasm_encoder::Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], [wasm_encoder::ValType::I32]);
    module.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut code = CodeSection::new();
    let mut f = Function::new([]);
    f.instruction(&Instruction::I32Const(0));
    f.instruction(&Instruction::I32Load(MemArg {
        offset: u64::MAX - 15,
        align: 2,
        target: wasm_encoder::MemArgTarget::Memory(0),
        ordering: None,
    }));
    f.instruction(&Instruction::End);
    code.function(&f);
    module.section(&code);
    let wasm = module.finish();
    let options = flight_rebase::Options::new(0x10000, 0x10000).with_bounds_checks(true);
    assert!(flight_rebase::rebase(&wasm, &options).is_err());
    let (rebased, relocs) = flight_rebase::rebase(&wasm, &options.with_validation(false)).unwrap();
    assert!(matches!(relocs.entries[1].change, flight_rebase::RelocationKind::Trap { .. }), "{relocs}");
    wasmparser::Validator::new_with_features(flight_rebase::FEATURES).validate_all(&rebased).unwrap();
}

/// A module of raw sections: (id, contents).
fn raw(sections: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    for (id, contents) in sections {
        out.push(*id);
        let mut len = contents.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            out.push(if len == 0 { byte } else { byte | 0x80 });
            if len == 0 {
                break;
            }
        }
        out.extend_from_slice(contents);
    }
    out
}

const TYPES: (u8, &[u8]) = (1, &[1, 0x60, 0, 0]);
const MEMORY: (u8, &[u8]) = (5, &[1, 0, 1]);

#[test]
fn declared_counts_an_unvalidated_module_does_not_have_are_errors() {
    let trusted = segment().with_validation(false).with_bounds_checks(true);
    // 2^32 - 1 functions declared, one imported.
    let functions =
        raw(&[TYPES, (2, &[1, 1, b'e', 1, b'f', 0, 0]), (3, &[0xff, 0xff, 0xff, 0xff, 0x0f]), MEMORY]);
    // 2^32 - 1 globals declared, and a memory.grow that adds two.
    let globals = raw(&[
        TYPES,
        (3, &[1, 0]),
        MEMORY,
        (6, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        (10, &[1, 7, 0, 0x41, 0, 0x40, 0, 0x1a, 0x0b]),
    ]);
    // 2^32 - 1 locals and a checked load of `local.get 0`, which needs one more.
    let locals = raw(&[
        TYPES,
        (3, &[1, 0]),
        MEMORY,
        (10, &[1, 14, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x20, 0, 0x28, 2, 0, 0x1a, 0x0b]),
    ]);
    for (name, wasm) in [("functions", functions), ("globals", globals), ("locals", locals)] {
        assert!(flight_rebase::rebase(&wasm, &trusted).is_err(), "{name}");
        assert!(flight_rebase::rebase(&wasm, &segment()).is_err(), "{name}");
        // Validated beside the reading (a module of 256 KiB or more): still an error, no panic.
        let mut large = wasm.clone();
        large.extend(raw(&[(0, &[b"\x04pad".as_slice(), &[0; 300 * 1024]].concat())])[8..].iter());
        let options = segment().with_threads(4);
        assert!(flight_rebase::rebase(&large, &options).is_err(), "{name}, large");
        assert!(flight_rebase::rebase(&large, &options.with_threads(usize::MAX)).is_err(), "{name}, threads");
    }
}

#[test]
fn errors_come_in_module_order_and_name_the_function_at_its_end() {
    // Body 0: a block that never ends (its error is at the body's end); body 1 fine.
    let unended = raw(&[TYPES, (3, &[2, 0, 0]), MEMORY, (10, &[2, 3, 0, 0x02, 0x40, 2, 0, 0x0b])]);
    // Body 0: an unknown opcode; then a data section with bad flags.
    let late = raw(&[TYPES, (3, &[1, 0]), MEMORY, (10, &[1, 3, 0, 0xff, 0x0b]), (11, &[1, 7, 0])]);
    for validate in [true, false] {
        let options = segment().with_validation(validate);
        for (name, wasm) in [("unended", &unended), ("late", &late)] {
            match flight_rebase::rebase(wasm, &options) {
                Err(Error::Malformed { function: Some(0), .. }) => {}
                other => panic!("{name}, validate {validate}: {:?}", other.map(|(_, r)| r)),
            }
        }
    }
    assert!(matches!(flight_rebase::analyse(&unended), Err(Error::Malformed { function: Some(0), .. })));
}

#[test]
fn an_unvalidated_merge_with_indices_out_of_range_is_an_error() {
    use flight_rebase::RewriteOptions;
    use flight_rebase::merge::{Input, MergeOptions};
    let a = wat::parse_str("(module (memory 1) (type (func)) (func))").unwrap();
    // `call_indirect` of type 2^32 - 1.
    let b = raw(&[
        TYPES,
        (3, &[1, 0]),
        (4, &[1, 0x70, 0, 0]),
        MEMORY,
        (10, &[1, 11, 0, 0x41, 0, 0x11, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0x0b]),
    ]);
    let inputs = [Input::new("a", &a, PAGE, PAGE), Input::new("b", &b, 2 * PAGE, PAGE)];
    let rewrite = RewriteOptions { validate: false, ..RewriteOptions::default() };
    let options = MergeOptions { rewrite, ..MergeOptions::default() };
    assert!(flight_rebase::merge(&inputs, &options).is_err());
    assert!(flight_rebase::merge(&inputs, &MergeOptions::default()).is_err());
}

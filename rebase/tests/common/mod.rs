//! What the rebaser's tests share: validation, running modules under wasmi and comparing two
//! runs, generated modules, and the compiled fixtures.

#![allow(dead_code, missing_docs, clippy::unwrap_used)]

pub mod fixtures;

use wasmi::{Config, Engine, Extern, Instance, Linker, Module, Store, Val};

/// Validates `wasm` with the features the rebaser writes.
pub fn validate(wasm: &[u8]) {
    if let Err(e) = wasmparser::Validator::new_with_features(flight_rebase::FEATURES).validate_all(wasm) {
        panic!("output does not validate: {e}");
    }
}

/// A small deterministic generator (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// An integer argument: small, edge or random.
    pub fn int(&mut self) -> u64 {
        match self.below(6) {
            0 => 0,
            1 => self.below(16),
            2 => self.below(70_000),
            3 => u64::MAX - self.below(4),
            4 => 1 << self.below(64),
            _ => self.next(),
        }
    }
}

/// What a call or an instantiation ended with. Values are compared bit for bit.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    Values(Vec<u128>),
    Trap(wasmi::TrapCode),
    /// Anything else: a link error, a resource limit.
    Error(String),
}

impl Outcome {
    /// Fuel ran out or the call stack overflowed: what follows cannot be compared.
    pub fn is_inconclusive(&self) -> bool {
        matches!(self, Self::Trap(wasmi::TrapCode::OutOfFuel | wasmi::TrapCode::StackOverflow))
            || matches!(self, Self::Error(_))
    }

    /// Whether the rebased module's outcome matches the original's: the same values or trap,
    /// where a bounds check's `unreachable` stands for the original's out-of-bounds trap.
    pub fn matches(&self, rebased: &Outcome) -> bool {
        self == rebased
            || matches!(
                (self, rebased),
                (
                    Self::Trap(wasmi::TrapCode::MemoryOutOfBounds),
                    Self::Trap(wasmi::TrapCode::UnreachableCodeReached)
                )
            )
    }

    pub fn of(e: &wasmi::Error) -> Self {
        match e.as_trap_code() {
            Some(t) => Self::Trap(t),
            None => Self::Error(e.to_string()),
        }
    }
}

pub fn bits(v: &Val) -> u128 {
    match v {
        Val::I32(x) => u128::from(*x as u32),
        Val::I64(x) => u128::from(*x as u64),
        Val::F32(x) => u128::from(x.to_bits()),
        Val::F64(x) => u128::from(x.to_bits()),
        Val::V128(x) => x.as_u128(),
        Val::FuncRef(r) => u128::from(r.is_null()),
        Val::ExternRef(r) => u128::from(r.is_null()),
    }
}

/// One instance under wasmi, with fuel.
pub struct Run {
    pub store: Store<wasmi::StoreLimits>,
    pub instance: Instance,
}

/// An engine that counts fuel and knows the features wasm-smith is asked for.
pub fn engine() -> Engine {
    let mut config = Config::default();
    config.consume_fuel(true);
    config.wasm_simd(true).wasm_relaxed_simd(true).wasm_tail_call(true).wasm_multi_value(true);
    Engine::new(&config)
}

impl Run {
    /// Instantiates `wasm` (running its start function on `fuel`).
    pub fn new(engine: &Engine, wasm: &[u8], fuel: u64) -> Result<Self, Outcome> {
        Self::limited(engine, wasm, fuel, None)
    }

    /// The same with the memory limited to `memory` bytes, as a segment limits the rebased
    /// module's (`memory.grow` fails past it).
    pub fn limited(engine: &Engine, wasm: &[u8], fuel: u64, memory: Option<u64>) -> Result<Self, Outcome> {
        let module = Module::new(engine, wasm).map_err(|e| Outcome::Error(format!("compile: {e}")))?;
        let mut limits = wasmi::StoreLimitsBuilder::new();
        if let Some(bytes) = memory {
            limits = limits.memory_size(bytes as usize);
        }
        let mut store = Store::new(engine, limits.build());
        store.limiter(|limits| limits);
        store.set_fuel(fuel).map_err(|e| Outcome::Error(e.to_string()))?;
        let linker = Linker::<wasmi::StoreLimits>::new(engine);
        let instance = linker.instantiate_and_start(&mut store, &module).map_err(|e| Outcome::of(&e))?;
        Ok(Self { store, instance })
    }

    /// The exported functions' names and parameter types, in export order.
    pub fn functions(&self) -> Vec<(String, Vec<wasmi::ValType>)> {
        self.instance
            .exports(&self.store)
            .filter_map(|e| {
                let name = e.name().to_string();
                let f = e.into_func()?;
                Some((name, f.ty(&self.store).params().to_vec()))
            })
            .collect()
    }

    /// Calls export `name` with `args` on `fuel`.
    pub fn call(&mut self, name: &str, args: &[Val], fuel: u64) -> Outcome {
        let Some(f) = self.instance.get_func(&self.store, name) else {
            return Outcome::Error(format!("no export {name}"));
        };
        call(&mut self.store, f, args, fuel)
    }

    /// The exported memory's bytes (the first memory export).
    pub fn memory(&self) -> Option<&[u8]> {
        self.instance.exports(&self.store).find_map(|e| match e.into_extern() {
            Extern::Memory(m) => Some(m.data(&self.store)),
            _ => None,
        })
    }

    /// The exported memory, to write to as a host does.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let m = self.instance.exports(&self.store).find_map(|e| e.into_memory())?;
        Some(m.data_mut(&mut self.store))
    }

    /// What the checks recorded in the trap export ([`flight_rebase::TRAP_EXPORT`]), set back
    /// to 0 as a runtime does after a trap; `None` if the module has no such export.
    pub fn take_trap(&mut self) -> Option<u64> {
        let g = self.instance.get_global(&self.store, flight_rebase::TRAP_EXPORT)?;
        let value = match g.get(&self.store) {
            Val::I64(v) => v as u64,
            other => panic!("{} is {other:?}, not an i64", flight_rebase::TRAP_EXPORT),
        };
        g.set(&mut self.store, Val::I64(0)).unwrap();
        Some(value)
    }

    /// The exported globals' values, bit for bit, by name (the trap export left out).
    pub fn globals(&self) -> Vec<(String, u128)> {
        self.instance
            .exports(&self.store)
            .filter(|e| e.name() != flight_rebase::TRAP_EXPORT)
            .filter_map(|e| {
                let name = e.name().to_string();
                match e.into_extern() {
                    Extern::Global(g) => Some((name, bits(&g.get(&self.store)))),
                    _ => None,
                }
            })
            .collect()
    }
}

/// The wasm-smith configuration of the differential tests: one 32-bit memory of at most four
/// pages, no imports, everything exported, the features wasmi runs; half the modules cannot trap.
pub fn smith_config(rng: &mut Rng) -> wasm_smith::Config {
    wasm_smith::Config {
        min_memories: 1,
        max_memories: 1,
        memory64_enabled: false,
        max_memory32_bytes: 4 * flight_rebase::PAGE,
        memory_max_size_required: true,
        max_imports: 0,
        export_everything: true,
        min_types: 2,
        min_funcs: 2,
        max_funcs: 8,
        max_instructions: 200,
        max_data_segments: 4,
        max_globals: 6,
        max_tables: 1,
        max_table_elements: 8,
        max_elements: 8,
        max_element_segments: 2,
        max_exports: 20,
        // Engines here run none of these; the structural tests cover threads.
        threads_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        // Data placed by extended constant expressions is reported, not rebased.
        extended_const_enabled: false,
        simd_enabled: true,
        relaxed_simd_enabled: true,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        tail_call_enabled: true,
        disallow_traps: rng.below(2) == 0,
        // Half the offsets in bounds of the initial memory, some in the grown part, some out.
        memory_offset_choices: wasm_smith::MemoryOffsetChoices(60, 30, 10),
        ..wasm_smith::Config::default()
    }
}

/// Calls `f` with `args` on `fuel`.
pub fn call(store: &mut Store<wasmi::StoreLimits>, f: wasmi::Func, args: &[Val], fuel: u64) -> Outcome {
    let ty = f.ty(&*store);
    let mut results: Vec<Val> = ty.results().iter().map(|t| Val::default_for_ty(*t)).collect();
    if let Err(e) = store.set_fuel(fuel) {
        return Outcome::Error(e.to_string());
    }
    match f.call(&mut *store, args, &mut results) {
        Ok(()) => Outcome::Values(results.iter().map(bits).collect()),
        Err(e) => Outcome::of(&e),
    }
}

/// Arguments of the given types.
pub fn args(rng: &mut Rng, params: &[wasmi::ValType]) -> Vec<Val> {
    params
        .iter()
        .map(|t| match t {
            wasmi::ValType::I32 => Val::I32(rng.int() as i32),
            wasmi::ValType::I64 => Val::I64(rng.int() as i64),
            wasmi::ValType::F32 => Val::F32(wasmi::F32::from_bits(rng.int() as u32)),
            wasmi::ValType::F64 => Val::F64(wasmi::F64::from_bits(rng.int())),
            wasmi::ValType::V128 => {
                Val::V128(wasmi::V128::from(u128::from(rng.next()) << 64 | u128::from(rng.next())))
            }
            other => Val::default_for_ty(*other),
        })
        .collect()
}

/// Checks that the rebased memory holds the original's bytes at `base` and zeros everywhere
/// else; returns a description of the first difference. (Slices compare with `memcmp`, so this
/// stays fast in debug builds.)
pub fn compare_memory(original: &[u8], rebased: &[u8], base: usize) -> Result<(), String> {
    let n = original.len();
    if rebased.len() < base + n {
        return Err(format!(
            "rebased memory of {:#x} bytes is smaller than base {base:#x} + {n:#x}",
            rebased.len()
        ));
    }
    if original != &rebased[base..base + n] {
        let i = (0..n).find(|&i| original[i] != rebased[base + i]).unwrap_or(0);
        return Err(format!("byte {i:#x}: original {:#x}, rebased {:#x}", original[i], rebased[base + i]));
    }
    if let Some(i) = first_non_zero(&rebased[..base]) {
        return Err(format!("absolute byte {i:#x} below the segment was written"));
    }
    if let Some(i) = first_non_zero(&rebased[base + n..]) {
        return Err(format!("absolute byte {:#x} above the module's memory was written", base + n + i));
    }
    Ok(())
}

/// The index of the first byte that is not zero.
pub fn first_non_zero(bytes: &[u8]) -> Option<usize> {
    static ZEROS: [u8; 65536] = [0; 65536];
    let mut at = 0;
    for chunk in bytes.chunks(ZEROS.len()) {
        if chunk != &ZEROS[..chunk.len()] {
            return chunk.iter().position(|b| *b != 0).map(|i| at + i);
        }
        at += chunk.len();
    }
    None
}

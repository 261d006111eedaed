//! The host's run of merged components, under wasmi: what every console's run is compared with,
//! line for line.
//!
//! The runtime's steps, the same on every console: instantiate the merged module (every
//! component's data segments and start functions); call each component's `attach` with its
//! shared regions; then, for each frame, call each component's `frame(n)` in the order given.
//! A trap ends that component's frame only: the runtime prints `trap COMPONENT: WHY` (a
//! check's report gives why and the CPU address; see
//! [`Trap`]), sets its trap export back to 0, and goes on
//! with the others; the next frame calls it again. Lines follow the protocol of
//! `flight_suite::protocol` (`frame N: ...`, `trap ...`).

use flight_memory::layout::trap::{Trap, TrapKind};
use flight_suite::protocol::{BEGIN_MARKER, END_MARKER, write_frame, write_trap};
use wasmi::{Engine, Instance, Linker, Module, Store, TrapCode, Val};

use crate::components::{Component, Components};

/// Runs `frames` frames of `components`; returns the lines printed, markers included. An error
/// is a run that could not start (the module does not instantiate, an export is missing or has
/// the wrong type).
pub fn run(components: &Components, frames: u32) -> Result<String, String> {
    let mut config = wasmi::Config::default();
    // As deep as the consoles' C lets calls nest, so that both trap in the same frame.
    config.set_max_recursion_depth(flight_console_build::components::CALL_DEPTH as usize);
    let engine = Engine::new(&config);
    let module = Module::new(&engine, &components.wasm).map_err(|e| format!("the merged module: {e}"))?;
    let mut store = Store::new(&engine, ());
    let linker = Linker::<()>::new(&engine);
    let instance = linker
        .instantiate_and_start(&mut store, &module)
        .map_err(|e| format!("the merged module does not start: {e}"))?;
    let mut out = String::new();
    out += BEGIN_MARKER;
    out.push('\n');
    let mut run = Run { store, instance, components, out };
    for c in &components.components {
        if let Some(attach) = &c.attach {
            let f = run.func::<(i32, i32), ()>(attach)?;
            for (index, (_, address, _)) in c.shared.iter().enumerate() {
                if let Err(e) = f.call(&mut run.store, (index as i32, *address as i32)) {
                    run.trap(c, &e)?;
                }
            }
        }
    }
    let frame_fns = components
        .components
        .iter()
        .map(|c| run.func::<i32, i32>(&c.frame))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<(&str, Option<i32>)> = Vec::with_capacity(frame_fns.len());
    for n in 0..frames {
        results.clear();
        for (c, f) in components.components.iter().zip(&frame_fns) {
            let result = match f.call(&mut run.store, n as i32) {
                Ok(v) => Some(v),
                Err(e) => {
                    run.trap(c, &e)?;
                    None
                }
            };
            results.push((&c.name, result));
        }
        write_frame(&mut run.out, n, &results).map_err(|e| e.to_string())?;
    }
    run.out += END_MARKER;
    run.out.push('\n');
    Ok(run.out)
}

/// A run in progress.
struct Run<'c> {
    store: Store<()>,
    instance: Instance,
    components: &'c Components,
    out: String,
}

impl Run<'_> {
    fn func<P: wasmi::WasmParams, R: wasmi::WasmResults>(
        &self,
        name: &str,
    ) -> Result<wasmi::TypedFunc<P, R>, String> {
        let f = self
            .instance
            .get_func(&self.store, name)
            .ok_or_else(|| format!("the merged module exports no `{name}`"))?;
        f.typed::<P, R>(&self.store).map_err(|e| format!("export `{name}`: {e}"))
    }

    /// Reports the trap that stopped `c` and clears its trap export.
    fn trap(&mut self, c: &Component, e: &wasmi::Error) -> Result<(), String> {
        let reported = match &c.trap {
            Some(name) => {
                let g = self
                    .instance
                    .get_global(&self.store, name)
                    .ok_or_else(|| format!("the merged module exports no `{name}`"))?;
                let value = match g.get(&self.store) {
                    Val::I64(v) => v as u64,
                    other => return Err(format!("`{name}` is {other:?}, not an i64")),
                };
                g.set(&mut self.store, Val::I64(0)).map_err(|e| e.to_string())?;
                TrapKind::decode(value)
            }
            None => None,
        };
        let why = match (reported, e.as_trap_code()) {
            (Some((kind, address)), _) => {
                Trap::Check { kind, address: self.components.cpu(address).unwrap_or(address) }
            }
            (None, Some(code)) => native(code),
            (None, None) => return Err(format!("component `{}`: {e}", c.name)),
        };
        write_trap(&mut self.out, &c.name, why).map_err(|e| e.to_string())
    }
}

/// How the runtimes name one of WebAssembly's own traps.
fn native(code: TrapCode) -> Trap {
    match code {
        TrapCode::UnreachableCodeReached => Trap::Unreachable,
        TrapCode::IntegerDivisionByZero => Trap::DivideByZero,
        TrapCode::IntegerOverflow => Trap::IntegerOverflow,
        TrapCode::BadConversionToInteger => Trap::InvalidConversion,
        TrapCode::StackOverflow => Trap::CallStackExhausted,
        TrapCode::MemoryOutOfBounds => Trap::OutOfBounds,
        _ => Trap::IndirectCall,
    }
}

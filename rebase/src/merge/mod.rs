//! Merging: several modules, each rebased into its own segment, linked into one module with one
//! memory ([`merge`]), or written separately, each importing the one memory ([`separate`]).
//!
//! Each module first goes through [`rebase`](crate::rebase) with the merged memory's size; the
//! rebased modules are then linked as a linker would:
//!
//! - **Index spaces** (types, functions, tables, globals, tags, element and data segments) are
//!   concatenated in the order the modules are given: first every module's imports (in module
//!   order), then every module's own items. Every reference (calls, `global.get`, `ref.func`,
//!   `call_indirect` and the table instructions, element segments, `memory.init`, `data.drop`,
//!   constant expressions) is renumbered. Several tables per module are supported. Function
//!   bodies are copied with only their indices rewritten; a body using exceptions, GC, typed
//!   function references or a block type given by index is re-encoded instruction by
//!   instruction instead (wasm-encoder), with the same result. Bodies that add up to 256 KiB
//!   are renumbered on several threads ([`RewriteOptions::threads`](crate::RewriteOptions::threads)), with the same output.
//! - **Imports** are kept. Identical imports (same module, name and type, where the type names
//!   no other type, as a function of numbers and abstract references does) are shared: the
//!   second module uses the first one's. Other imports are all kept, even with the same names.
//!   Memory imports are not: the merged module defines the memory.
//! - **The memory**: one memory of [`MergeOptions::memory_pages`] pages (by default the end of
//!   the highest segment, rounded up to a page), whose maximum is its size; shared if any
//!   module's memory is.
//! - **Exports** are kept. An export whose name an earlier module already exports is renamed
//!   `COMPONENT.NAME` (`COMPONENT.NAME.2`, `.3`, ... if that is taken too); [`Merged::exports`]
//!   lists every export's merged name. Each checked module's trap export
//!   ([`TRAP_EXPORT`](crate::TRAP_EXPORT)) is always `COMPONENT.flight.trap`: a runtime that
//!   calls into a component reads that one after a trap to learn whether a check stopped it,
//!   why and where.
//! - **Start functions** are chained: with one, it stays the start function; with several, a
//!   new function calling each in module order is the start function.
//! - **The `name` section** is rebuilt from every module's, each index renumbered like the items
//!   it names (locals, labels and fields keep their own indices under their renumbered function
//!   or type). Names are prefixed with their component, `COMPONENT::NAME` (a function `update`
//!   of component `physics` is `physics::update`), except locals, labels, fields and parameters.
//!   Module names are dropped; the merged memory is `flight.memory`, the start function the
//!   merge adds is `flight.start`. What the rebaser added is named after what it does:
//!   `COMPONENT::flight.pages`, `COMPONENT::flight.bytes` and `COMPONENT::flight.trap` for its
//!   globals ([`Relocations::pages_global`], [`Relocations::bytes_global`],
//!   [`Relocations::trap_global`]) and
//!   `COMPONENT::flight.HELPER` for its helper functions, with spaces as dots
//!   (`physics::flight.memory.grow`, `physics::flight.memory.init.2`; see
//!   [`Relocations::helpers`]). A shared import keeps the first name a module gives it.
//!   Unnamed items stay unnamed.
//! - **The `producers` sections** are merged: each field (`language`, `processed-by`, `sdk`)
//!   lists the values of every module, a value given twice (same name and version) once.
//! - **The `target_features` sections** are merged into their union, unless two modules give a
//!   feature different prefixes (`+atomics` and `-atomics`): then none is kept.
//! - **Other custom sections** are dropped. DWARF (`.debug_*`), `sourceMappingURL`,
//!   `external_debug_info`, code metadata (`metadata.code.*`) and an object file's `linking`
//!   and `reloc.*` hold code offsets, which rebasing and linking move ([`rebase`](crate::rebase)
//!   already leaves them out); any other section may hold indices or offsets that cannot be
//!   renumbered.
//!
//! Every custom section dropped is listed in [`MergeRelocations::dropped`] (and so in its JSON
//! and listing): those above (the ones [`rebase`](crate::rebase) left out as well), a
//! malformed `name`, `producers` or `target_features` section (the merge goes on without it),
//! a second `name` section, the `target_features` sections of modules that conflict, and each
//! unknown subsection of a `name` section (the rest of it is kept).
//!
//! Segments must not overlap ([`Error::Overlap`]). A module that imported its memory is merged
//! as if it defined it. The merged module's instantiation writes every module's data segments
//! before any start function runs (each module's go only to its own segment, so the order
//! does not matter), and it fails as a whole if any module's element segments do not fit.
//!
//! [`separate`] writes each rebased module on its own, with its memory turned into the import
//! `env.memory` of the merged size: the host creates that memory once and instantiates every
//! module with it. Each module's custom sections are kept and dropped as above, without
//! prefixes: its name section keeps its module and memory names and names what the rebaser
//! added (`flight.memory.grow`), its `producers` and `target_features` sections are kept.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::{Error, MASK_TAIL, Options, PAGE, Relocations, RewriteOptions, Shared, SharedAccess};

mod custom;
mod indices;
mod link;
mod names;
mod parsed;

use custom::custom_sections;
use link::{Linked, link};
use parsed::Parsed;

/// A module to merge, and its segment.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The component's name: in errors, and as the prefix of renamed exports.
    pub name: String,
    /// The module.
    pub wasm: &'a [u8],
    /// The segment's first byte in the merged memory: a multiple of 64 KiB.
    pub base: u64,
    /// The segment's size: a multiple of 64 KiB, at least the module's initial memory.
    pub size: u64,
    /// The shared regions this module may reach (absolute addresses in the merged memory, each
    /// at or above `base`), with what it may do in each: a reader's writes there trap.
    pub shared: Vec<Shared>,
    /// Confine this module by masking its addresses into its segment instead of as
    /// [`MergeOptions::rewrite`] says ([`RewriteOptions::masking`]: the segment a power of
    /// two on a multiple of itself, no shared regions).
    pub masked: bool,
}

impl<'a> Input<'a> {
    /// `wasm` as component `name` in `[base, base + size)`, with no shared region.
    pub fn new(name: impl Into<String>, wasm: &'a [u8], base: u64, size: u64) -> Self {
        Self { name: name.into(), wasm, base, size, shared: Vec::new(), masked: false }
    }

    /// The same, masked into its segment or not ([`Input::masked`]).
    pub fn with_masking(mut self, on: bool) -> Self {
        self.masked = on;
        self
    }

    /// The same, reaching `range` as `access` says.
    pub fn with_shared(mut self, range: std::ops::Range<u64>, access: SharedAccess) -> Self {
        self.shared.push(Shared { range, access });
        self
    }
}

/// How the modules are merged.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct MergeOptions {
    /// How every module is rewritten, as for a single rebase. Large modules are rebased and
    /// renumbered on [`RewriteOptions::threads`] threads, with the same output on any number.
    /// With [`RewriteOptions::relocation_entries`] off, the modules' [`Relocations::entries`]
    /// are empty and the merge spends no time on them.
    pub rewrite: RewriteOptions,
    /// The merged memory's pages; `None`: the end of the highest segment, rounded up to 64 KiB.
    pub memory_pages: Option<u64>,
}

/// An export of the merged module.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Export {
    /// The component that exported it.
    pub module: String,
    /// Its name in that module.
    pub name: String,
    /// Its name in the merged module (the same unless an earlier module took it).
    pub merged: String,
}

/// Where one module's items went, and what its rebasing changed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct ModuleRelocations {
    /// The component.
    pub module: String,
    /// The merged index of each function the module imports, in import order.
    pub function_imports: Vec<u32>,
    /// The merged index of the module's first own function: its function `f` (counting its
    /// imports, as [`Relocations`] does) is `first_function + f - function_imports.len()`.
    pub first_function: u32,
    /// The merged index of each global the module imports.
    pub global_imports: Vec<u32>,
    /// The merged index of the module's first own global (as `first_function`).
    pub first_global: u32,
    /// The merged index of the module's first type.
    pub first_type: u32,
    /// The merged index of the module's first data segment.
    pub first_data: u32,
    /// What [`rebase`](crate::rebase) changed, at the input module's offsets and with its
    /// indices.
    pub rebase: Relocations,
}

/// The relocation table of a merge: every module's.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct MergeRelocations {
    /// The merged memory's pages.
    pub memory_pages: u64,
    /// The start function added to chain several, if any.
    pub start_function: Option<u32>,
    /// Every module, in the order given.
    pub modules: Vec<ModuleRelocations>,
    /// The custom sections (or parts of them) the output does not keep, in module order.
    pub dropped: Vec<DroppedSection>,
}

/// A custom section of a rebased module that the output does not keep (see the module's
/// documentation).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct DroppedSection {
    /// The component whose module held it.
    pub module: String,
    /// The section's name (`.debug_info`, `sourceMappingURL`, `name`, ...).
    pub section: String,
    /// Why it is dropped.
    pub reason: String,
}

impl MergeRelocations {
    /// The table as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for MergeRelocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "merged memory: {} pages", self.memory_pages)?;
        if let Some(s) = self.start_function {
            writeln!(f, "added function {s}: the start function, calling each module's")?;
        }
        for m in &self.modules {
            writeln!(
                f,
                "\nmodule {}: functions from {}, globals from {}, types from {}, data from {}",
                m.module, m.first_function, m.first_global, m.first_type, m.first_data
            )?;
            if !m.function_imports.is_empty() {
                writeln!(f, "imported functions at {:?}", m.function_imports)?;
            }
            if !m.global_imports.is_empty() {
                writeln!(f, "imported globals at {:?}", m.global_imports)?;
            }
            write!(f, "{}", m.rebase)?;
            for d in self.dropped.iter().filter(|d| d.module == m.module) {
                writeln!(f, "dropped custom section `{}`: {}", d.section, d.reason)?;
            }
        }
        Ok(())
    }
}

/// The merged module.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The module.
    pub wasm: Vec<u8>,
    /// Every export, with its merged name.
    pub exports: Vec<Export>,
    /// What changed.
    pub relocations: MergeRelocations,
}

impl Merged {
    /// The custom sections (or parts of them) the merged module does not keep.
    pub fn dropped(&self) -> &[DroppedSection] {
        &self.relocations.dropped
    }
}

/// The modules written separately, each importing `env.memory`.
#[derive(Clone, Debug)]
pub struct Separate {
    /// Each component's name and module, in the order given.
    pub modules: Vec<(String, Vec<u8>)>,
    /// What changed (each module's indices are its own).
    pub relocations: MergeRelocations,
}

impl Separate {
    /// The custom sections (or parts of them) the modules written do not keep.
    pub fn dropped(&self) -> &[DroppedSection] {
        &self.relocations.dropped
    }
}

/// Merges `inputs` into one module with one memory (see the module's documentation).
pub fn merge(inputs: &[Input<'_>], options: &MergeOptions) -> Result<Merged, Error> {
    let pages = check(inputs, options)?;
    let rebased = rebase_all(inputs, options, pages)?;
    let parsed = rebased
        .iter()
        .zip(inputs)
        .map(|((wasm, _), input)| Parsed::new(&input.name, wasm))
        .collect::<Result<Vec<_>, _>>()?;
    let Linked { mut module, exports, maps, start_function } =
        link(&parsed, pages, false, options.rewrite.threads)?;
    let added: Vec<&Relocations> = rebased.iter().map(|(_, relocs)| relocs).collect();
    let dropped = custom_sections(&parsed, &maps, &added, start_function, true, &mut module);
    let wasm = module.finish();
    let modules = maps
        .into_iter()
        .zip(rebased)
        .zip(inputs)
        .map(|((map, (_, relocs)), input)| map.relocations(&input.name, relocs))
        .collect();
    Ok(Merged {
        wasm,
        exports,
        relocations: MergeRelocations { memory_pages: pages, start_function, modules, dropped },
    })
}

/// Rebases each of `inputs` into its segment and writes it on its own, with its memory turned
/// into the import `env.memory` of the merged size (see the module's documentation).
pub fn separate(inputs: &[Input<'_>], options: &MergeOptions) -> Result<Separate, Error> {
    let pages = check(inputs, options)?;
    let rebased = rebase_all(inputs, options, pages)?;
    let mut modules = Vec::new();
    let mut relocations = Vec::new();
    let mut dropped = Vec::new();
    for ((wasm, relocs), input) in rebased.into_iter().zip(inputs) {
        let parsed = Parsed::new(&input.name, &wasm)?;
        let Linked { mut module, mut maps, .. } =
            link(std::slice::from_ref(&parsed), pages, true, options.rewrite.threads)?;
        dropped.extend(custom_sections(
            std::slice::from_ref(&parsed),
            &maps,
            &[&relocs],
            None,
            false,
            &mut module,
        ));
        modules.push((input.name.clone(), module.finish()));
        if let Some(map) = maps.pop() {
            relocations.push(map.relocations(&input.name, relocs));
        }
    }
    Ok(Separate {
        modules,
        relocations: MergeRelocations {
            memory_pages: pages,
            start_function: None,
            modules: relocations,
            dropped,
        },
    })
}

/// Checks the segments; returns the merged memory's pages.
fn check(inputs: &[Input<'_>], options: &MergeOptions) -> Result<u64, Error> {
    if inputs.is_empty() {
        return Err(Error::Merge("no modules to merge".into()));
    }
    let mut names = HashSet::new();
    for i in inputs {
        if !names.insert(i.name.as_str()) {
            return Err(Error::Merge(format!("two modules are named `{}`", i.name)));
        }
    }
    // What each module may touch: its segment, and a masked one's tail after it.
    let masked = |i: &Input<'_>| i.masked || options.rewrite.masking;
    let reach = |i: &Input<'_>| {
        i.base.saturating_add(i.size).saturating_add(if masked(i) { MASK_TAIL.get() } else { 0 })
    };
    let mut sorted: Vec<&Input<'_>> = inputs.iter().collect();
    sorted.sort_by_key(|i| i.base);
    for w in sorted.windows(2) {
        let (a, b) = (w[0], w[1]);
        if reach(a) > b.base {
            return Err(Error::Overlap {
                first: a.name.clone(),
                first_segment: (a.base, reach(a)),
                second: b.name.clone(),
                second_segment: (b.base, b.base.saturating_add(b.size)),
            });
        }
    }
    // A shared region is nobody's segment: reaching into one would be reaching into its owner.
    for i in inputs {
        for r in &i.shared {
            if let Some(o) = inputs.iter().find(|o| r.range.start < reach(o) && o.base < r.range.end) {
                return Err(Error::Merge(format!(
                    "the shared region [{:#x}, {:#x}) of `{}` overlaps the segment [{:#x}, {:#x}) of `{}`",
                    r.range.start,
                    r.range.end,
                    i.name,
                    o.base,
                    reach(o),
                    o.name
                )));
            }
        }
    }
    let segments = inputs.iter().map(reach);
    let regions = inputs.iter().flat_map(|i| i.shared.iter().map(|r| r.range.end));
    let end = segments.chain(regions).max().unwrap_or(0);
    let pages = options.memory_pages.unwrap_or_else(|| end.div_ceil(PAGE));
    if pages.saturating_mul(PAGE) < end || pages > (1 << 32) / PAGE {
        return Err(Error::Merge(format!(
            "a memory of {pages} pages does not hold the segments and shared regions (up to {end:#x}), \
             or is larger than 4 GiB"
        )));
    }
    Ok(pages)
}

fn rebase_all(
    inputs: &[Input<'_>],
    options: &MergeOptions,
    pages: u64,
) -> Result<Vec<(Vec<u8>, Relocations)>, Error> {
    inputs
        .iter()
        .map(|i| {
            let mut rewrite = options.rewrite.clone();
            if i.masked {
                rewrite.masking = true;
                rewrite.bounds_checks = false;
            }
            let o = Options { rewrite, shared: i.shared.clone(), ..Options::new(i.base, i.size) }
                .with_memory_pages(pages);
            crate::rebase(i.wasm, &o).map_err(|e| in_module(&i.name, e))
        })
        .collect()
}

/// `error`, said of the module `name`.
fn in_module(name: &str, error: Error) -> Error {
    Error::Module { module: name.to_string(), error: Box::new(error) }
}

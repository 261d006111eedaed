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
//!   lists every export's merged name.
//! - **Start functions** are chained: with one, it stays the start function; with several, a
//!   new function calling each in module order is the start function.
//! - **The `name` section** is rebuilt from every module's, each index renumbered like the items
//!   it names (locals, labels and fields keep their own indices under their renumbered function
//!   or type). Names are prefixed with their component, `COMPONENT::NAME` (a function `update`
//!   of component `physics` is `physics::update`), except locals, labels, fields and parameters.
//!   Module names are dropped; the merged memory is `flight.memory`, the start function the
//!   merge adds is `flight.start`. What the rebaser added is named after what it does:
//!   `COMPONENT::flight.pages` and `COMPONENT::flight.bytes` for its globals
//!   ([`Relocations::pages_global`], [`Relocations::bytes_global`]) and
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

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::Serialize;
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CustomSection, DataCountSection, DataSection, ElementSection, Encode, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, ImportSection, IndirectNameMap, Instruction,
    MemorySection, MemoryType, Module, NameMap, NameSection, ProducersField, ProducersSection, RawSection,
    SectionId, StartSection, TableSection, TagSection, TypeSection,
};
use wasmparser::{ExternalKind, Payload, TypeRef};

use crate::analysis::{PARALLEL_BYTES, on_threads, split};
use crate::{Error, FEATURES, Options, PAGE, Relocations, RewriteOptions, renumber};

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
    let (mut out, exports, maps, start_function) = link(&parsed, pages, false, options.rewrite.threads)?;
    let added: Vec<&Relocations> = rebased.iter().map(|(_, relocs)| relocs).collect();
    let dropped = custom_sections(&parsed, &maps, &added, start_function, true, &mut out);
    let wasm = out.finish();
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
        let (mut out, _, mut maps, _) =
            link(std::slice::from_ref(&parsed), pages, true, options.rewrite.threads)?;
        dropped.extend(custom_sections(
            std::slice::from_ref(&parsed),
            &maps,
            &[&relocs],
            None,
            false,
            &mut out,
        ));
        modules.push((input.name.clone(), out.finish()));
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
    let mut sorted: Vec<&Input<'_>> = inputs.iter().collect();
    sorted.sort_by_key(|i| i.base);
    for w in sorted.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.base.saturating_add(a.size) > b.base {
            return Err(Error::Overlap {
                first: a.name.clone(),
                first_segment: (a.base, a.base.saturating_add(a.size)),
                second: b.name.clone(),
                second_segment: (b.base, b.base.saturating_add(b.size)),
            });
        }
    }
    let end = inputs.iter().map(|i| i.base.saturating_add(i.size)).max().unwrap_or(0);
    let pages = options.memory_pages.unwrap_or_else(|| end.div_ceil(PAGE));
    if pages.saturating_mul(PAGE) < end || pages > (1 << 32) / PAGE {
        return Err(Error::Merge(format!(
            "a memory of {pages} pages does not hold the segments (up to {end:#x}), or is larger than 4 GiB"
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
            let o = Options { rewrite: options.rewrite.clone(), ..Options::new(i.base, i.size) }
                .with_memory_pages(pages);
            crate::rebase(i.wasm, &o).map_err(|e| in_module(&i.name, e))
        })
        .collect()
}

fn in_module(name: &str, error: Error) -> Error {
    Error::Module { module: name.to_string(), error: Box::new(error) }
}

/// One rebased module's sections, read.
struct Parsed<'a> {
    name: &'a str,
    types: Vec<wasmparser::RecGroup>,
    type_count: u32,
    /// Every import but the memory's.
    imports: Vec<wasmparser::Import<'a>>,
    functions: Option<wasmparser::FunctionSectionReader<'a>>,
    function_count: u32,
    tables: Option<wasmparser::TableSectionReader<'a>>,
    table_count: u32,
    memory_shared: bool,
    tags: Option<wasmparser::TagSectionReader<'a>>,
    tag_count: u32,
    globals: Option<wasmparser::GlobalSectionReader<'a>>,
    global_count: u32,
    exports: Vec<wasmparser::Export<'a>>,
    start: Option<u32>,
    elements: Option<wasmparser::ElementSectionReader<'a>>,
    element_count: u32,
    code: Option<wasmparser::CodeSectionReader<'a>>,
    data: Option<wasmparser::DataSectionReader<'a>>,
    data_count: u32,
    /// The custom sections, in module order.
    customs: Vec<wasmparser::CustomSectionReader<'a>>,
}

impl<'a> Parsed<'a> {
    fn new(name: &'a str, wasm: &'a [u8]) -> Result<Self, Error> {
        let err = |e: wasmparser::BinaryReaderError| in_module(name, Error::parse(&e, None));
        let mut p = Parsed {
            name,
            types: Vec::new(),
            type_count: 0,
            imports: Vec::new(),
            functions: None,
            function_count: 0,
            tables: None,
            table_count: 0,
            memory_shared: false,
            tags: None,
            tag_count: 0,
            globals: None,
            global_count: 0,
            exports: Vec::new(),
            start: None,
            elements: None,
            element_count: 0,
            code: None,
            data: None,
            data_count: 0,
            customs: Vec::new(),
        };
        let mut parser = wasmparser::Parser::new(0);
        parser.set_features(FEATURES);
        for payload in parser.parse_all(wasm) {
            match payload.map_err(err)? {
                Payload::TypeSection(s) => {
                    for g in s {
                        let g = g.map_err(err)?;
                        p.type_count += g.types().len() as u32;
                        p.types.push(g);
                    }
                }
                Payload::ImportSection(s) => {
                    for i in s.into_imports() {
                        let i = i.map_err(err)?;
                        match i.ty {
                            TypeRef::Memory(m) => p.memory_shared |= m.shared,
                            _ => p.imports.push(i),
                        }
                    }
                }
                Payload::FunctionSection(s) => {
                    p.function_count = s.count();
                    p.functions = Some(s);
                }
                Payload::TableSection(s) => {
                    p.table_count = s.count();
                    p.tables = Some(s);
                }
                Payload::MemorySection(s) => {
                    for m in s {
                        p.memory_shared |= m.map_err(err)?.shared;
                    }
                }
                Payload::TagSection(s) => {
                    p.tag_count = s.count();
                    p.tags = Some(s);
                }
                Payload::GlobalSection(s) => {
                    p.global_count = s.count();
                    p.globals = Some(s);
                }
                Payload::ExportSection(s) => {
                    for e in s {
                        p.exports.push(e.map_err(err)?);
                    }
                }
                Payload::StartSection { func, .. } => p.start = Some(func),
                Payload::ElementSection(s) => {
                    p.element_count = s.count();
                    p.elements = Some(s);
                }
                Payload::CodeSectionStart { unchecked_range: range, .. } => {
                    // The whole section as one reader (the payloads give its bodies one by one).
                    let bytes = wasm.get(range.start as usize..range.end as usize).ok_or_else(|| {
                        in_module(name, Error::Merge("the code section ends past the module".into()))
                    })?;
                    let reader = wasmparser::BinaryReader::new(bytes, range.start);
                    p.code = Some(wasmparser::CodeSectionReader::new(reader).map_err(err)?);
                }
                Payload::DataSection(s) => {
                    p.data_count = s.count();
                    p.data = Some(s);
                }
                Payload::CustomSection(s) => p.customs.push(s),
                _ => {}
            }
        }
        Ok(p)
    }

    /// The function type at `index`, if it is alone in its recursion group, final, without
    /// supertype and names no other type: such types are equal exactly when they read the same.
    fn plain_function_type(&self, index: u32) -> Option<&wasmparser::FuncType> {
        let mut at = 0;
        for g in &self.types {
            let n = g.types().len() as u32;
            if index < at + n {
                if g.is_explicit_rec_group() {
                    return None;
                }
                let t = g.types().next()?;
                if !t.is_final || !t.supertype_idxs.is_empty() || t.composite_type.shared {
                    return None;
                }
                return match &t.composite_type.inner {
                    wasmparser::CompositeInnerType::Func(f)
                        if f.params().iter().chain(f.results()).all(|v| plain(*v)) =>
                    {
                        Some(f)
                    }
                    _ => None,
                };
            }
            at += n;
        }
        None
    }

    /// What makes an import identical to another one, if it can be compared across modules.
    fn key(&self, ty: TypeRef) -> Option<Key> {
        match ty {
            TypeRef::Func(t) => self.plain_function_type(t).map(|f| Key::Func(f.clone())),
            TypeRef::Global(g) if plain(g.content_type) => Some(Key::Global(g)),
            TypeRef::Table(t) if t.element_type.type_index().is_none() => Some(Key::Table(t)),
            TypeRef::Tag(t) => self.plain_function_type(t.func_type_idx).map(|f| Key::Tag(f.clone())),
            _ => None,
        }
    }
}

/// A value type that names no other type.
fn plain(v: wasmparser::ValType) -> bool {
    match v {
        wasmparser::ValType::Ref(r) => r.type_index().is_none(),
        _ => true,
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
enum Key {
    Func(wasmparser::FuncType),
    Global(wasmparser::GlobalType),
    Table(wasmparser::TableType),
    Tag(wasmparser::FuncType),
}

/// The index spaces an import lives in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Space {
    Function,
    Table,
    Global,
    Tag,
}

fn space(ty: TypeRef) -> Space {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => Space::Function,
        TypeRef::Table(_) => Space::Table,
        TypeRef::Global(_) => Space::Global,
        // Memories never get here.
        TypeRef::Tag(_) | TypeRef::Memory(_) => Space::Tag,
    }
}

/// One module's index maps into the merged module.
#[derive(Clone, Debug, Default)]
struct Map {
    types: u32,
    functions: Vec<u32>,
    function_imports: usize,
    tables: Vec<u32>,
    globals: Vec<u32>,
    global_imports: usize,
    tags: Vec<u32>,
    elements: u32,
    data: u32,
}

impl Map {
    fn relocations(self, name: &str, rebase: Relocations) -> ModuleRelocations {
        let first = |v: &[u32], imports: usize, next: u32| v.get(imports).copied().unwrap_or(next);
        ModuleRelocations {
            module: name.to_string(),
            function_imports: self.functions[..self.function_imports].to_vec(),
            first_function: first(&self.functions, self.function_imports, 0),
            global_imports: self.globals[..self.global_imports].to_vec(),
            first_global: first(&self.globals, self.global_imports, 0),
            first_type: self.types,
            first_data: self.data,
            rebase,
        }
    }
}

/// Looks `index` up in `map`, or says it is out of range.
fn lookup(map: &[u32], index: u32, what: &str) -> Result<u32, reencode::Error<Error>> {
    map.get(index as usize)
        .copied()
        .ok_or_else(|| reencode::Error::UserError(Error::Merge(format!("{what} index {index} out of range"))))
}

/// `index` moved up by `by` (an unvalidated module may name any index).
fn offset(by: u32, index: u32, what: &str) -> Result<u32, reencode::Error<Error>> {
    by.checked_add(index)
        .ok_or_else(|| reencode::Error::UserError(Error::Merge(format!("{what} index {index} out of range"))))
}

impl Reencode for Map {
    type Error = Error;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Error>> {
        offset(self.types, ty, "type")
    }
    fn function_index(&mut self, f: u32) -> Result<u32, reencode::Error<Error>> {
        lookup(&self.functions, f, "function")
    }
    fn table_index(&mut self, t: u32) -> Result<u32, reencode::Error<Error>> {
        lookup(&self.tables, t, "table")
    }
    fn global_index(&mut self, g: u32) -> Result<u32, reencode::Error<Error>> {
        lookup(&self.globals, g, "global")
    }
    fn tag_index(&mut self, t: u32) -> Result<u32, reencode::Error<Error>> {
        lookup(&self.tags, t, "tag")
    }
    fn memory_index(&mut self, _: u32) -> Result<u32, reencode::Error<Error>> {
        Ok(0)
    }
    fn data_index(&mut self, d: u32) -> Result<u32, reencode::Error<Error>> {
        offset(self.data, d, "data segment")
    }
    fn element_index(&mut self, e: u32) -> Result<u32, reencode::Error<Error>> {
        offset(self.elements, e, "element segment")
    }
}

/// The linked module (custom sections still to come), its exports, every module's index maps
/// and the start function added, if any.
type Linked = (Module, Vec<Export>, Vec<Map>, Option<u32>);

/// Links the rebased `modules` into one with a memory of `pages` pages, defined or imported
/// (`env.memory`), renumbering large code on up to `threads` threads.
fn link(modules: &[Parsed<'_>], pages: u64, import_memory: bool, threads: usize) -> Result<Linked, Error> {
    let mut maps = vec![Map::default(); modules.len()];
    // The imports, shared when identical: (module, name, key, defining module, its import).
    let mut imports: Vec<(usize, wasmparser::Import<'_>, Option<Key>, Space, u32)> = Vec::new();
    let mut counts = [0u32; 4];
    let slot = |s: Space| match s {
        Space::Function => 0,
        Space::Table => 1,
        Space::Global => 2,
        Space::Tag => 3,
    };
    for (m, p) in modules.iter().enumerate() {
        for i in &p.imports {
            let key = p.key(i.ty);
            let s = space(i.ty);
            let found = key.as_ref().and_then(|k| {
                imports.iter().find(|(_, j, kj, _, _)| {
                    j.module == i.module && j.name == i.name && kj.as_ref() == Some(k)
                })
            });
            let index = match found {
                Some(&(_, _, _, _, index)) => index,
                None => {
                    let index = counts[slot(s)];
                    counts[slot(s)] += 1;
                    imports.push((m, *i, key, s, index));
                    index
                }
            };
            let map = &mut maps[m];
            match s {
                Space::Function => map.functions.push(index),
                Space::Table => map.tables.push(index),
                Space::Global => map.globals.push(index),
                Space::Tag => map.tags.push(index),
            }
        }
        maps[m].function_imports = maps[m].functions.len();
        maps[m].global_imports = maps[m].globals.len();
    }
    let (mut types, mut elements, mut data) = (0u32, 0u32, 0u32);
    for (p, map) in modules.iter().zip(&mut maps) {
        map.types = types;
        map.elements = elements;
        map.data = data;
        types = add(types, p.type_count, "types")?;
        elements = add(elements, p.element_count, "element segments")?;
        data = add(data, p.data_count, "data segments")?;
        let spaces = [
            (p.function_count, &mut map.functions),
            (p.table_count, &mut map.tables),
            (p.global_count, &mut map.globals),
            (p.tag_count, &mut map.tags),
        ];
        for ((own, space), count) in spaces.into_iter().zip(counts.iter_mut()) {
            let next = add(*count, own, "items")?;
            space.extend(*count..next);
            *count = next;
        }
    }
    let wrap = |name: &str, e: reencode::Error<Error>| {
        in_module(
            name,
            match e {
                reencode::Error::UserError(e) => e,
                reencode::Error::ParseError(e) => Error::parse(&e, None),
                other => Error::Merge(other.to_string()),
            },
        )
    };
    let starts: Vec<u32> = modules
        .iter()
        .zip(&mut maps)
        .filter_map(|(p, map)| p.start.map(|s| map.function_index(s).map_err(|e| wrap(p.name, e))))
        .collect::<Result<_, _>>()?;
    let chain = starts.len() > 1;
    let mut out = Module::new();

    let mut section = TypeSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        for g in &p.types {
            map.parse_recursive_type_group(section.ty(), g.clone()).map_err(|e| wrap(p.name, e))?;
        }
    }
    if chain {
        section.ty().function([], []);
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let mut section = ImportSection::new();
    for (m, i, _, _, _) in &imports {
        let ty = maps[*m].entity_type(i.ty).map_err(|e| wrap(modules[*m].name, e))?;
        section.import(i.module, i.name, ty);
    }
    let shared = modules.iter().any(|p| p.memory_shared);
    if import_memory {
        let maximum = shared.then_some(1 << 16);
        let ty = MemoryType { minimum: pages, maximum, memory64: false, shared, page_size_log2: None };
        section.import("env", "memory", EntityType::Memory(ty));
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let mut section = FunctionSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.functions {
            reencode::utils::parse_function_section(map, &mut section, s.clone())
                .map_err(|e| wrap(p.name, e))?;
        }
    }
    if chain {
        section.function(types);
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let mut section = TableSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.tables {
            reencode::utils::parse_table_section(map, &mut section, s.clone())
                .map_err(|e| wrap(p.name, e))?;
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }

    if !import_memory {
        let mut section = MemorySection::new();
        section.memory(MemoryType {
            minimum: pages,
            maximum: Some(pages),
            memory64: false,
            shared,
            page_size_log2: None,
        });
        out.section(&section);
    }

    let mut section = TagSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.tags {
            reencode::utils::parse_tag_section(map, &mut section, s.clone()).map_err(|e| wrap(p.name, e))?;
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let mut section = GlobalSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.globals {
            reencode::utils::parse_global_section(map, &mut section, s.clone())
                .map_err(|e| wrap(p.name, e))?;
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let mut section = ExportSection::new();
    let mut exports = Vec::new();
    let mut taken = HashSet::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        for e in &p.exports {
            let merged = if taken.contains(e.name) {
                let prefixed = format!("{}.{}", p.name, e.name);
                let mut name = prefixed.clone();
                let mut n = 2;
                while taken.contains(name.as_str()) {
                    name = format!("{prefixed}.{n}");
                    n += 1;
                }
                name
            } else {
                e.name.to_string()
            };
            let index = map.external_index(e.kind, e.index).map_err(|err| wrap(p.name, err))?;
            let kind = match e.kind {
                ExternalKind::Func | ExternalKind::FuncExact => ExportKind::Func,
                ExternalKind::Table => ExportKind::Table,
                ExternalKind::Memory => ExportKind::Memory,
                ExternalKind::Global => ExportKind::Global,
                ExternalKind::Tag => ExportKind::Tag,
            };
            section.export(&merged, kind, index);
            taken.insert(merged.clone());
            exports.push(Export { module: p.name.to_string(), name: e.name.to_string(), merged });
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }

    let chained = chain.then_some(counts[0]);
    match (chained, starts.first()) {
        (Some(f), _) | (None, Some(&f)) => {
            out.section(&StartSection { function_index: f });
        }
        (None, None) => {}
    }

    let mut section = ElementSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.elements {
            reencode::utils::parse_element_section(map, &mut section, s.clone())
                .map_err(|e| wrap(p.name, e))?;
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }

    if data > 0 {
        out.section(&DataCountSection { count: data });
    }

    // Every body with its module, renumbered in runs on several threads when they are large.
    let mut bodies = Vec::new();
    for (m, p) in modules.iter().enumerate() {
        for body in p.code.iter().flat_map(|s| s.clone()) {
            bodies.push((m, body.map_err(|e| wrap(p.name, e.into()))?));
        }
    }
    let count = bodies.len() + usize::from(chain);
    if count > 0 {
        let size: u64 = bodies.iter().map(|(_, b)| b.range().end - b.range().start).sum();
        let parts = if size as usize >= PARALLEL_BYTES { crate::analysis::threads(threads) } else { 1 };
        let runs = split(&bodies, parts, |(_, b)| b.range().end - b.range().start);
        let written = on_threads(runs, |run| -> Result<Vec<u8>, Error> {
            let mut maps = maps.clone();
            let weight: u64 = run.iter().map(|(_, b)| b.range().end - b.range().start).sum();
            let mut bytes = Vec::with_capacity(weight as usize + weight as usize / 8);
            let mut scratch = Vec::new();
            for (m, body) in run {
                renumber_body(&mut maps[*m], body, &mut scratch, &mut bytes)
                    .map_err(|e| wrap(modules[*m].name, e))?;
            }
            Ok(bytes)
        });
        let mut section = Vec::with_capacity(size as usize + size as usize / 8 + 16);
        u32::try_from(count)
            .map_err(|_| Error::Merge("too many functions for one module".into()))?
            .encode(&mut section);
        for w in written {
            section.extend_from_slice(&w?);
        }
        if chain {
            let mut f = Function::new([]);
            for s in &starts {
                f.instruction(&Instruction::Call(*s));
            }
            f.instruction(&Instruction::End);
            f.encode(&mut section);
        }
        out.section(&RawSection { id: SectionId::Code as u8, data: &section });
    }

    let mut section = DataSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.data {
            reencode::utils::parse_data_section(map, &mut section, s.clone()).map_err(|e| wrap(p.name, e))?;
        }
    }
    if !section.is_empty() {
        out.section(&section);
    }
    Ok((out, exports, maps, chained))
}

/// Appends `body` renumbered by `map`, with its size: its bytes copied with new indices where
/// [`renumber`] can, re-encoded instruction by instruction otherwise. `scratch` is scratch space.
fn renumber_body(
    map: &mut Map,
    body: &wasmparser::FunctionBody<'_>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), reencode::Error<Error>> {
    scratch.clear();
    if renumber::body(body.as_bytes(), map, scratch)? {
        // No longer than its module, itself under 4 GiB.
        let size = u32::try_from(scratch.len())
            .map_err(|_| reencode::Error::UserError(Error::Merge("a function body past 4 GiB".into())))?;
        size.encode(out);
        out.extend_from_slice(scratch);
        return Ok(());
    }
    let mut f = map.new_function_with_parsed_locals(body)?;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        f.instruction(&map.parse_instruction(&mut reader)?);
    }
    f.encode(out);
    Ok(())
}

fn add(a: u32, b: u32, what: &str) -> Result<u32, Error> {
    a.checked_add(b).ok_or_else(|| Error::Merge(format!("too many {what} for one module")))
}

/// The prefix of the names the merge and the rebaser give to what they add.
const ADDED: &str = "flight.";

/// A name subsection, in subsection order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Sub {
    Function,
    Local,
    Label,
    Type,
    Table,
    Memory,
    Global,
    Element,
    Data,
    Field,
    Tag,
    Parameter,
    TagParameter,
}

impl Sub {
    const ALL: [Sub; 13] = [
        Sub::Function,
        Sub::Local,
        Sub::Label,
        Sub::Type,
        Sub::Table,
        Sub::Memory,
        Sub::Global,
        Sub::Element,
        Sub::Data,
        Sub::Field,
        Sub::Tag,
        Sub::Parameter,
        Sub::TagParameter,
    ];

    /// Names items within an item (locals within a function, fields within a type).
    fn indirect(self) -> bool {
        matches!(self, Sub::Local | Sub::Label | Sub::Field | Sub::Parameter | Sub::TagParameter)
    }

    /// The merged index of the item `index` of module `p`, keyed as this subsection keys it.
    fn rename(self, p: &Parsed<'_>, map: &Map, index: u32) -> Result<u32, String> {
        let within = |count: u32, first: u32| (index < count).then(|| first + index);
        let found = match self {
            Sub::Function | Sub::Local | Sub::Label => map.functions.get(index as usize).copied(),
            Sub::Type | Sub::Field | Sub::Parameter => within(p.type_count, map.types),
            Sub::Table => map.tables.get(index as usize).copied(),
            Sub::Memory => within(1, 0),
            Sub::Global => map.globals.get(index as usize).copied(),
            Sub::Element => within(p.element_count, map.elements),
            Sub::Data => within(p.data_count, map.data),
            Sub::Tag | Sub::TagParameter => map.tags.get(index as usize).copied(),
        };
        let what = match self {
            Sub::Function | Sub::Local | Sub::Label => "function",
            Sub::Type | Sub::Field | Sub::Parameter => "type",
            Sub::Table => "table",
            Sub::Memory => "memory",
            Sub::Global => "global",
            Sub::Element => "element segment",
            Sub::Data => "data segment",
            Sub::Tag | Sub::TagParameter => "tag",
        };
        found.ok_or_else(|| format!("{what} index {index} out of range"))
    }
}

/// The name section being built: every name by subsection and merged index.
#[derive(Default)]
struct Names {
    module: Option<String>,
    direct: BTreeMap<(Sub, u32), String>,
    indirect: BTreeMap<(Sub, u32), BTreeMap<u32, String>>,
}

impl Names {
    /// Reads module `p`'s name section, renumbered, its names prefixed with `prefix`; returns
    /// the names and the ids of the unknown subsections skipped. Any error drops it all.
    fn read(
        p: &Parsed<'_>,
        map: &Map,
        reader: wasmparser::NameSectionReader<'_>,
        prefix: &str,
    ) -> Result<(Names, Vec<u8>), String> {
        let mut names = Names::default();
        let mut unknown = Vec::new();
        let text = |e: wasmparser::BinaryReaderError| e.to_string();
        for subsection in reader {
            let (sub, direct, indirect) = match subsection.map_err(text)? {
                wasmparser::Name::Module { name, .. } => {
                    names.module = Some(name.to_string());
                    continue;
                }
                wasmparser::Name::Unknown { ty, .. } => {
                    unknown.push(ty);
                    continue;
                }
                wasmparser::Name::Function(m) => (Sub::Function, Some(m), None),
                wasmparser::Name::Type(m) => (Sub::Type, Some(m), None),
                wasmparser::Name::Table(m) => (Sub::Table, Some(m), None),
                wasmparser::Name::Memory(m) => (Sub::Memory, Some(m), None),
                wasmparser::Name::Global(m) => (Sub::Global, Some(m), None),
                wasmparser::Name::Element(m) => (Sub::Element, Some(m), None),
                wasmparser::Name::Data(m) => (Sub::Data, Some(m), None),
                wasmparser::Name::Tag(m) => (Sub::Tag, Some(m), None),
                wasmparser::Name::Local(m) => (Sub::Local, None, Some(m)),
                wasmparser::Name::Label(m) => (Sub::Label, None, Some(m)),
                wasmparser::Name::Field(m) => (Sub::Field, None, Some(m)),
                wasmparser::Name::Parameter(m) => (Sub::Parameter, None, Some(m)),
                wasmparser::Name::TagParameter(m) => (Sub::TagParameter, None, Some(m)),
            };
            for naming in direct.into_iter().flatten() {
                let naming = naming.map_err(text)?;
                let index = sub.rename(p, map, naming.index)?;
                names.direct.insert((sub, index), format!("{prefix}{}", naming.name));
            }
            for naming in indirect.into_iter().flatten() {
                let naming = naming.map_err(text)?;
                let index = sub.rename(p, map, naming.index)?;
                let mut inner = BTreeMap::new();
                for n in naming.names {
                    let n = n.map_err(text)?;
                    inner.insert(n.index, n.name.to_string());
                }
                names.indirect.insert((sub, index), inner);
            }
        }
        Ok((names, unknown))
    }

    /// Adds `other`'s names where this has none (an item shared by several modules keeps the
    /// first name given to it).
    fn add(&mut self, other: Names) {
        for (k, v) in other.direct {
            self.direct.entry(k).or_insert(v);
        }
        for (k, v) in other.indirect {
            self.indirect.entry(k).or_insert(v);
        }
        if self.module.is_none() {
            self.module = other.module;
        }
    }

    /// The section, if it names anything.
    fn section(&self) -> Option<NameSection> {
        if self.module.is_none() && self.direct.is_empty() && self.indirect.is_empty() {
            return None;
        }
        let mut section = NameSection::new();
        if let Some(m) = &self.module {
            section.module(m);
        }
        for sub in Sub::ALL {
            let range = (sub, 0)..=(sub, u32::MAX);
            if sub.indirect() {
                let mut map = IndirectNameMap::new();
                let mut any = false;
                for (&(_, index), names) in self.indirect.range(range) {
                    let mut inner = NameMap::new();
                    for (&i, name) in names {
                        inner.append(i, name);
                    }
                    map.append(index, &inner);
                    any = true;
                }
                match sub {
                    _ if !any => {}
                    Sub::Local => section.locals(&map),
                    Sub::Label => section.labels(&map),
                    Sub::Field => section.fields(&map),
                    Sub::Parameter => section.parameters(&map),
                    _ => section.tag_parameters(&map),
                }
            } else {
                let mut map = NameMap::new();
                for (&(_, index), name) in self.direct.range(range) {
                    map.append(index, name);
                }
                match sub {
                    _ if map.is_empty() => {}
                    Sub::Function => section.functions(&map),
                    Sub::Type => section.types(&map),
                    Sub::Table => section.tables(&map),
                    Sub::Memory => section.memories(&map),
                    Sub::Global => section.globals(&map),
                    Sub::Element => section.elements(&map),
                    Sub::Data => section.data(&map),
                    _ => section.tags(&map),
                }
            }
        }
        Some(section)
    }
}

/// The fields of a `producers` section: each field's name and its values (name, version).
type Producers = Vec<(String, Vec<(String, String)>)>;

fn read_producers(reader: wasmparser::ProducersSectionReader<'_>) -> Result<Producers, String> {
    let text = |e: wasmparser::BinaryReaderError| e.to_string();
    let mut fields = Vec::new();
    for field in reader {
        let field = field.map_err(text)?;
        let mut values = Vec::new();
        for v in field.values {
            let v = v.map_err(text)?;
            values.push((v.name.to_string(), v.version.to_string()));
        }
        fields.push((field.name.to_string(), values));
    }
    Ok(fields)
}

/// Reads a `target_features` section: each feature's prefix (`+` used, `-` disallowed, `=`
/// required) and name.
fn read_target_features(s: &wasmparser::CustomSectionReader<'_>) -> Result<Vec<(u8, String)>, String> {
    let text = |e: wasmparser::BinaryReaderError| e.to_string();
    let mut reader = s.data_reader();
    let count = reader.read_var_u32().map_err(text)?;
    let mut features = Vec::new();
    for _ in 0..count {
        let prefix = reader.read_u8().map_err(text)?;
        if !b"+-=".contains(&prefix) {
            return Err(format!("feature prefix {prefix:#04x} is not `+`, `-` or `=`"));
        }
        features.push((prefix, reader.read_string().map_err(text)?.to_string()));
    }
    if !reader.eof() {
        return Err("bytes after the features".into());
    }
    Ok(features)
}

/// Writes the custom sections kept (see the module's documentation) at the end of `out`, whose
/// functions and globals `maps` renumbered from `modules`; `added` is each module's
/// relocations, `start` the start function the merge added, and `merged` whether several
/// modules are merged (names prefixed) or one is written on its own. Returns what is dropped.
fn custom_sections(
    modules: &[Parsed<'_>],
    maps: &[Map],
    added: &[&Relocations],
    start: Option<u32>,
    merged: bool,
    out: &mut Module,
) -> Vec<DroppedSection> {
    let mut dropped = Vec::new();
    let mut names = Names::default();
    let mut producers: Producers = Vec::new();
    let mut features: Vec<(u8, String)> = Vec::new();
    // The modules whose features are merged, and the first conflict between them.
    let mut featured: Vec<&str> = Vec::new();
    let mut conflict = None;
    for ((p, map), relocs) in modules.iter().zip(maps).zip(added) {
        let prefix = if merged { format!("{}::", p.name) } else { String::new() };
        let mut drop = |section: &str, reason: String| {
            dropped.push(DroppedSection { module: p.name.to_string(), section: section.to_string(), reason });
        };
        // What the rebaser already left out.
        for section in &relocs.counts.dropped {
            drop(section, why_dropped(section).into());
        }
        let mut named = false;
        for s in &p.customs {
            let section = s.name();
            match s.as_known() {
                wasmparser::KnownCustom::Name(_) if named => {
                    drop(section, "a second name section".into());
                }
                wasmparser::KnownCustom::Name(reader) => {
                    named = true;
                    match Names::read(p, map, reader, &prefix) {
                        Ok((mut read, unknown)) => {
                            for ty in unknown {
                                drop(section, format!("unknown subsection {ty} (the rest is kept)"));
                            }
                            if merged {
                                // One memory for all: its names are replaced below.
                                read.module = None;
                                read.direct.retain(|(sub, _), _| *sub != Sub::Memory);
                            }
                            names.add(read);
                        }
                        Err(e) => drop(section, format!("malformed: {e}")),
                    }
                }
                wasmparser::KnownCustom::Producers(reader) => match read_producers(reader) {
                    Ok(fields) => {
                        for (field, values) in fields {
                            let at = match producers.iter().position(|(f, _)| *f == field) {
                                Some(at) => at,
                                None => {
                                    producers.push((field, Vec::new()));
                                    producers.len() - 1
                                }
                            };
                            for v in values {
                                if !producers[at].1.contains(&v) {
                                    producers[at].1.push(v);
                                }
                            }
                        }
                    }
                    Err(e) => drop(section, format!("malformed: {e}")),
                },
                _ if section == "producers" => drop(section, "malformed".into()),
                _ if section == "target_features" => match read_target_features(s) {
                    Ok(read) => {
                        featured.push(p.name);
                        for (prefix, feature) in read {
                            match features.iter().find(|(_, f)| *f == feature) {
                                Some(&(other, _)) if other != prefix => {
                                    conflict.get_or_insert_with(|| {
                                        format!(
                                            "`{}{feature}` and `{}{feature}` conflict",
                                            other as char, prefix as char
                                        )
                                    });
                                }
                                Some(_) => {}
                                None => features.push((prefix, feature)),
                            }
                        }
                    }
                    Err(e) => drop(section, format!("malformed: {e}")),
                },
                _ => drop(section, why_dropped(section).into()),
            }
        }
        // What the rebaser added, named after what it does: the module's own items, whose
        // names replace any its name section gave.
        let globals = [(relocs.pages_global, "pages"), (relocs.bytes_global, "bytes")];
        for (global, what) in globals {
            if let Some(&g) = global.and_then(|g| map.globals.get(g as usize)) {
                names.direct.insert((Sub::Global, g), format!("{prefix}{ADDED}{what}"));
            }
        }
        for h in &relocs.helpers {
            if let Some(&f) = map.functions.get(h.function as usize) {
                let name = h.name.replace(' ', ".");
                names.direct.insert((Sub::Function, f), format!("{prefix}{ADDED}{name}"));
            }
        }
    }
    if merged {
        names.direct.insert((Sub::Memory, 0), format!("{ADDED}memory"));
    }
    if let Some(f) = start {
        names.direct.insert((Sub::Function, f), format!("{ADDED}start"));
    }
    if let Some(section) = names.section() {
        out.section(&section);
    }
    if !producers.is_empty() {
        let mut section = ProducersSection::new();
        for (name, values) in &producers {
            let mut field = ProducersField::new();
            for (value, version) in values {
                field.value(value, version);
            }
            section.field(name, &field);
        }
        out.section(&section);
    }
    match conflict {
        Some(why) => {
            for module in featured {
                dropped.push(DroppedSection {
                    module: module.to_string(),
                    section: "target_features".into(),
                    reason: format!("the modules' features conflict: {why}"),
                });
            }
        }
        None if !featured.is_empty() => {
            let mut data = Vec::new();
            (features.len() as u32).encode(&mut data);
            for (prefix, feature) in &features {
                data.push(*prefix);
                feature.encode(&mut data);
            }
            out.section(&CustomSection { name: "target_features".into(), data: data.into() });
        }
        None => {}
    }
    dropped
}

/// Why a custom section other than `name`, `producers` and `target_features` is dropped.
fn why_dropped(section: &str) -> &'static str {
    if section.starts_with(".debug_")
        || section.starts_with("metadata.code.")
        || matches!(section, "sourceMappingURL" | "external_debug_info")
    {
        "holds code offsets, which rebasing and linking move"
    } else if section == "linking" || section.starts_with("reloc.") {
        "an object file's linking data, stale once rebased and linked"
    } else {
        "not known: its indices and offsets cannot be renumbered"
    }
}

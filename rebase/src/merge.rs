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
//!   constant expressions) is renumbered. Several tables per module are supported.
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
//! - **Custom sections** (names, producers, debug information) are dropped: their indices and
//!   offsets would be stale.
//!
//! Segments must not overlap ([`Error::Overlap`]). A module that imported its memory is merged
//! as if it defined it. The merged module's instantiation writes every module's data segments
//! before any start function runs (each module's go only to its own segment, so the order
//! does not matter), and it fails as a whole if any module's element segments do not fit.
//!
//! [`separate`] writes each rebased module on its own, with its memory turned into the import
//! `env.memory` of the merged size: the host creates that memory once and instantiates every
//! module with it.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementSection, EntityType, ExportKind, ExportSection,
    Function, FunctionSection, GlobalSection, ImportSection, Instruction, MemorySection, MemoryType, Module,
    StartSection, TableSection, TagSection, TypeSection,
};
use wasmparser::{ExternalKind, Payload, TypeRef};

use crate::{Error, FEATURES, Options, PAGE, Relocations};

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
    /// Bounds checks in every module ([`Options::bounds_checks`]).
    pub bounds_checks: bool,
    /// The merged memory's pages; `None`: the end of the highest segment, rounded up to 64 KiB.
    pub memory_pages: Option<u64>,
    /// Accept declared maxima larger than the segments ([`Options::clamp_maximum`]).
    pub clamp_maximum: bool,
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

/// The modules written separately, each importing `env.memory`.
#[derive(Clone, Debug)]
pub struct Separate {
    /// Each component's name and module, in the order given.
    pub modules: Vec<(String, Vec<u8>)>,
    /// What changed (each module's indices are its own).
    pub relocations: MergeRelocations,
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
    let (wasm, exports, maps, start_function) = link(&parsed, pages, false)?;
    let modules = maps
        .into_iter()
        .zip(rebased)
        .zip(inputs)
        .map(|((map, (_, relocs)), input)| map.relocations(&input.name, relocs))
        .collect();
    Ok(Merged {
        wasm,
        exports,
        relocations: MergeRelocations { memory_pages: pages, start_function, modules },
    })
}

/// Rebases each of `inputs` into its segment and writes it on its own, with its memory turned
/// into the import `env.memory` of the merged size (see the module's documentation).
pub fn separate(inputs: &[Input<'_>], options: &MergeOptions) -> Result<Separate, Error> {
    let pages = check(inputs, options)?;
    let rebased = rebase_all(inputs, options, pages)?;
    let mut modules = Vec::new();
    let mut relocations = Vec::new();
    for ((wasm, relocs), input) in rebased.into_iter().zip(inputs) {
        let parsed = Parsed::new(&input.name, &wasm)?;
        let (out, _, mut maps, _) = link(std::slice::from_ref(&parsed), pages, true)?;
        modules.push((input.name.clone(), out));
        if let Some(map) = maps.pop() {
            relocations.push(map.relocations(&input.name, relocs));
        }
    }
    Ok(Separate {
        modules,
        relocations: MergeRelocations { memory_pages: pages, start_function: None, modules: relocations },
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
            let o = Options::new(i.base, i.size)
                .with_bounds_checks(options.bounds_checks)
                .with_clamped_maximum(options.clamp_maximum)
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

impl Reencode for Map {
    type Error = Error;

    fn type_index(&mut self, ty: u32) -> Result<u32, reencode::Error<Error>> {
        Ok(self.types + ty)
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
        Ok(self.data + d)
    }
    fn element_index(&mut self, e: u32) -> Result<u32, reencode::Error<Error>> {
        Ok(self.elements + e)
    }
}

type Linked = (Vec<u8>, Vec<Export>, Vec<Map>, Option<u32>);

/// Links the rebased `modules` into one with a memory of `pages` pages, defined or imported
/// (`env.memory`).
fn link(modules: &[Parsed<'_>], pages: u64, import_memory: bool) -> Result<Linked, Error> {
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

    let mut section = CodeSection::new();
    for (p, map) in modules.iter().zip(&mut maps) {
        if let Some(s) = &p.code {
            reencode::utils::parse_code_section(map, &mut section, s.clone()).map_err(|e| wrap(p.name, e))?;
        }
    }
    if chain {
        let mut f = Function::new([]);
        for s in &starts {
            f.instruction(&Instruction::Call(*s));
        }
        f.instruction(&Instruction::End);
        section.function(&f);
    }
    if !section.is_empty() {
        out.section(&section);
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
    Ok((out.finish(), exports, maps, chained))
}

fn add(a: u32, b: u32, what: &str) -> Result<u32, Error> {
    a.checked_add(b).ok_or_else(|| Error::Merge(format!("too many {what} for one module")))
}

/// A segment of a plan written by `flight plan` (its JSON, schema version 1).
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct PlanSegment {
    /// The segment's name (a component's segment is named after it by default).
    pub name: String,
    /// The component that owns it, if one does.
    #[serde(default)]
    pub owner: Option<String>,
    /// Its first byte in its region.
    pub start: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its flags (`wasm` for a WebAssembly component's).
    #[serde(default)]
    pub flags: Vec<String>,
}

#[derive(Deserialize)]
struct PlanJson {
    schema_version: u32,
    segments: Vec<PlanSegment>,
}

/// Reads the segments of a plan JSON (as `flight plan` writes it).
pub fn plan_segments(json: &str) -> Result<Vec<PlanSegment>, Error> {
    let plan: PlanJson = serde_json::from_str(json).map_err(|e| Error::Merge(format!("plan JSON: {e}")))?;
    if plan.schema_version != 1 {
        return Err(Error::Merge(format!(
            "plan JSON: schema version {} (this reads version 1)",
            plan.schema_version
        )));
    }
    Ok(plan.segments)
}

/// The segment of `component` in a plan: the one named after it, else the one it owns (a
/// segment flagged `wasm` first when several are).
pub fn segment_for<'p>(segments: &'p [PlanSegment], component: &str) -> Result<&'p PlanSegment, Error> {
    let wasm = |s: &&&PlanSegment| s.flags.iter().any(|f| f == "wasm");
    let named: Vec<&PlanSegment> = segments.iter().filter(|s| s.name == component).collect();
    let owned: Vec<&PlanSegment> =
        segments.iter().filter(|s| s.owner.as_deref() == Some(component)).collect();
    for group in [named, owned] {
        if let Some(s) = group.iter().find(wasm).or(group.first()) {
            return Ok(s);
        }
    }
    Err(Error::Merge(format!("the plan has no segment named `{component}` or owned by it")))
}

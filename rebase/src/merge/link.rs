//! Linking the rebased modules into one: index spaces concatenated, identical imports shared,
//! exports kept or renamed, start functions chained, bodies renumbered (on several threads when
//! they are large).

use std::collections::HashSet;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    DataCountSection, DataSection, ElementSection, Encode, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, ImportSection, Instruction, MemorySection, MemoryType, Module,
    RawSection, SectionId, StartSection, TableSection, TagSection, TypeSection,
};
use wasmparser::ExternalKind;

use super::indices::{IndexMap, IndexSpace};
use super::parsed::{ImportKey, Parsed};
use super::{Export, in_module};
use crate::threads::{PARALLEL_BYTES, on_threads, split};
use crate::{Error, TRAP_EXPORT, renumber};

/// What [`link`] makes.
pub(super) struct Linked {
    /// The linked module, custom sections still to come.
    pub(super) module: Module,
    /// Every module's exports, with their merged names.
    pub(super) exports: Vec<Export>,
    /// Every module's index maps.
    pub(super) maps: Vec<IndexMap>,
    /// The start function the merge added to chain several, if it did.
    pub(super) start_function: Option<u32>,
}

/// An import of the merged module: the first module's that made it, shared by the later ones
/// that import the same thing.
struct SharedImport<'a> {
    /// The module that first imported it.
    module: usize,
    import: wasmparser::Import<'a>,
    /// What makes another import the same; `None`: never shared.
    key: Option<ImportKey>,
    /// Its index in its index space.
    index: u32,
}

/// Runs `f` over every module with its index map, naming the module in an error: the one loop
/// behind each section the modules contribute to.
fn per_module<'a>(
    modules: &[Parsed<'a>],
    maps: &mut [IndexMap],
    mut f: impl FnMut(&Parsed<'a>, &mut IndexMap) -> Result<(), reencode::Error<Error>>,
) -> Result<(), Error> {
    for (p, map) in modules.iter().zip(maps) {
        f(p, map).map_err(|e| wrap(p.name, e))?;
    }
    Ok(())
}

/// A renumbering error, said of the module `name`.
fn wrap(name: &str, e: reencode::Error<Error>) -> Error {
    in_module(
        name,
        match e {
            reencode::Error::UserError(e) => e,
            reencode::Error::ParseError(e) => Error::parse(&e, None),
            other => Error::Merge(other.to_string()),
        },
    )
}

/// Links the rebased `modules` into one with a memory of `pages` pages, defined or imported
/// (`env.memory`), renumbering large code on up to `threads` threads.
pub(super) fn link(
    modules: &[Parsed<'_>],
    pages: u64,
    import_memory: bool,
    threads: usize,
) -> Result<Linked, Error> {
    let mut maps = vec![IndexMap::default(); modules.len()];
    let mut imports: Vec<SharedImport<'_>> = Vec::new();
    // The next index in each index space.
    let mut counts = [0u32; IndexSpace::ALL.len()];
    for (m, p) in modules.iter().enumerate() {
        for i in &p.imports {
            let key = p.key(i.ty);
            let space = IndexSpace::of(i.ty);
            let found = key.as_ref().and_then(|k| {
                imports.iter().find(|j| {
                    j.import.module == i.module && j.import.name == i.name && j.key.as_ref() == Some(k)
                })
            });
            let index = match found {
                Some(j) => j.index,
                None => {
                    let index = counts[space as usize];
                    counts[space as usize] += 1;
                    imports.push(SharedImport { module: m, import: *i, key, index });
                    index
                }
            };
            maps[m].space_mut(space).push(index);
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
        for space in IndexSpace::ALL {
            let count = &mut counts[space as usize];
            let next = add(*count, p.own_count(space), "items")?;
            map.space_mut(space).extend(*count..next);
            *count = next;
        }
    }
    let starts: Vec<u32> = modules
        .iter()
        .zip(&mut maps)
        .filter_map(|(p, map)| p.start.map(|s| map.function_index(s).map_err(|e| wrap(p.name, e))))
        .collect::<Result<_, _>>()?;
    let chain = starts.len() > 1;
    let mut out = Module::new();
    /// Adds a section to the module unless it holds nothing.
    macro_rules! add_section {
        ($section:expr) => {
            if !$section.is_empty() {
                out.section(&$section);
            }
        };
    }

    let mut section = TypeSection::new();
    per_module(modules, &mut maps, |p, map| {
        p.types.iter().try_for_each(|g| map.parse_recursive_type_group(section.ty(), g.clone()))
    })?;
    if chain {
        section.ty().function([], []);
    }
    add_section!(section);

    let mut section = ImportSection::new();
    for i in &imports {
        let ty = maps[i.module].entity_type(i.import.ty).map_err(|e| wrap(modules[i.module].name, e))?;
        section.import(i.import.module, i.import.name, ty);
    }
    let shared = modules.iter().any(|p| p.memory_shared);
    if import_memory {
        let maximum = shared.then_some(1 << 16);
        let ty = MemoryType { minimum: pages, maximum, memory64: false, shared, page_size_log2: None };
        section.import("env", "memory", EntityType::Memory(ty));
    }
    add_section!(section);

    let mut section = FunctionSection::new();
    per_module(modules, &mut maps, |p, map| match &p.functions {
        Some(s) => reencode::utils::parse_function_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    if chain {
        section.function(types);
    }
    add_section!(section);

    let mut section = TableSection::new();
    per_module(modules, &mut maps, |p, map| match &p.tables {
        Some(s) => reencode::utils::parse_table_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    add_section!(section);

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
    per_module(modules, &mut maps, |p, map| match &p.tags {
        Some(s) => reencode::utils::parse_tag_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    add_section!(section);

    let mut section = GlobalSection::new();
    per_module(modules, &mut maps, |p, map| match &p.globals {
        Some(s) => reencode::utils::parse_global_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    add_section!(section);

    let (section, exports) = export_section(modules, &mut maps)?;
    add_section!(section);

    let start_function = chain.then_some(counts[IndexSpace::Function as usize]);
    if let Some(&f) = start_function.as_ref().or(starts.first()) {
        out.section(&StartSection { function_index: f });
    }

    let mut section = ElementSection::new();
    per_module(modules, &mut maps, |p, map| match &p.elements {
        Some(s) => reencode::utils::parse_element_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    add_section!(section);

    if data > 0 {
        out.section(&DataCountSection { count: data });
    }

    // With several start functions, the one the merge adds calls each in module order.
    let chained = chain.then(|| {
        let mut f = Function::new([]);
        for s in &starts {
            f.instruction(&Instruction::Call(*s));
        }
        f.instruction(&Instruction::End);
        f
    });
    if let Some(code) = code_section(modules, &maps, chained.as_ref(), threads)? {
        out.section(&RawSection { id: SectionId::Code as u8, data: &code });
    }

    let mut section = DataSection::new();
    per_module(modules, &mut maps, |p, map| match &p.data {
        Some(s) => reencode::utils::parse_data_section(map, &mut section, s.clone()),
        None => Ok(()),
    })?;
    add_section!(section);
    Ok(Linked { module: out, exports, maps, start_function })
}

/// The export section: every module's exports, renumbered, one whose name an earlier module
/// took renamed `COMPONENT.NAME` (`.2`, `.3`, ... if that is taken too), and each module's trap
/// export always `COMPONENT.flight.trap`; with each export's merged name.
fn export_section(
    modules: &[Parsed<'_>],
    maps: &mut [IndexMap],
) -> Result<(ExportSection, Vec<Export>), Error> {
    let mut section = ExportSection::new();
    let mut exports = Vec::new();
    let mut taken = HashSet::new();
    per_module(modules, maps, |p, map| {
        for e in &p.exports {
            let merged = if e.name == TRAP_EXPORT {
                // Every module's, always under its component's name, where runtimes look.
                let name = format!("{}.{TRAP_EXPORT}", p.name);
                if taken.contains(name.as_str()) {
                    return Err(reencode::Error::UserError(Error::Options(format!(
                        "component `{}`: an earlier module exports `{name}`, the name of this one's trap export",
                        p.name
                    ))));
                }
                name
            } else if taken.contains(e.name) {
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
            let index = map.external_index(e.kind, e.index)?;
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
        Ok(())
    })?;
    Ok((section, exports))
}

/// The code section's contents: every module's bodies renumbered (in runs on several threads
/// when they add up to [`PARALLEL_BYTES`]), then `chained`, the start function the merge adds;
/// `None` if there is no function at all.
fn code_section(
    modules: &[Parsed<'_>],
    maps: &[IndexMap],
    chained: Option<&Function>,
    threads: usize,
) -> Result<Option<Vec<u8>>, Error> {
    let mut bodies = Vec::new();
    for (m, p) in modules.iter().enumerate() {
        for body in p.code.iter().flat_map(|s| s.clone()) {
            bodies.push((m, body.map_err(|e| wrap(p.name, e.into()))?));
        }
    }
    let count = bodies.len() + usize::from(chained.is_some());
    if count == 0 {
        return Ok(None);
    }
    let size: u64 = bodies.iter().map(|(_, b)| b.range().end - b.range().start).sum();
    let parts = if size as usize >= PARALLEL_BYTES { crate::threads::threads(threads) } else { 1 };
    let runs = split(&bodies, parts, |(_, b)| b.range().end - b.range().start);
    let written = on_threads(runs, |run| -> Result<Vec<u8>, Error> {
        let mut maps = maps.to_vec();
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
    if let Some(f) = chained {
        f.encode(&mut section);
    }
    Ok(Some(section))
}

/// Appends `body` renumbered by `map`, with its size: its bytes copied with new indices where
/// [`renumber`] can, re-encoded instruction by instruction otherwise. `scratch` is scratch space.
fn renumber_body(
    map: &mut IndexMap,
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

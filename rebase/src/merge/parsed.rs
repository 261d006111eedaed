//! A rebased module's sections, read once for linking.

use wasmparser::{Payload, TypeRef};

use super::in_module;
use super::indices::IndexSpace;
use crate::{Error, FEATURES};

/// One rebased module's sections, read.
pub(super) struct Parsed<'a> {
    pub(super) name: &'a str,
    pub(super) types: Vec<wasmparser::RecGroup>,
    pub(super) type_count: u32,
    /// Every import but the memory's.
    pub(super) imports: Vec<wasmparser::Import<'a>>,
    pub(super) functions: Option<wasmparser::FunctionSectionReader<'a>>,
    pub(super) function_count: u32,
    pub(super) tables: Option<wasmparser::TableSectionReader<'a>>,
    pub(super) table_count: u32,
    pub(super) memory_shared: bool,
    pub(super) tags: Option<wasmparser::TagSectionReader<'a>>,
    pub(super) tag_count: u32,
    pub(super) globals: Option<wasmparser::GlobalSectionReader<'a>>,
    pub(super) global_count: u32,
    pub(super) exports: Vec<wasmparser::Export<'a>>,
    pub(super) start: Option<u32>,
    pub(super) elements: Option<wasmparser::ElementSectionReader<'a>>,
    pub(super) element_count: u32,
    pub(super) code: Option<wasmparser::CodeSectionReader<'a>>,
    pub(super) data: Option<wasmparser::DataSectionReader<'a>>,
    pub(super) data_count: u32,
    /// The custom sections, in module order.
    pub(super) customs: Vec<wasmparser::CustomSectionReader<'a>>,
}

impl<'a> Parsed<'a> {
    pub(super) fn new(name: &'a str, wasm: &'a [u8]) -> Result<Self, Error> {
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

    /// How many items of `space` the module defines itself.
    pub(super) fn own_count(&self, space: IndexSpace) -> u32 {
        match space {
            IndexSpace::Function => self.function_count,
            IndexSpace::Table => self.table_count,
            IndexSpace::Global => self.global_count,
            IndexSpace::Tag => self.tag_count,
        }
    }

    /// What makes an import identical to another one, if it can be compared across modules.
    pub(super) fn key(&self, ty: TypeRef) -> Option<ImportKey> {
        match ty {
            TypeRef::Func(t) => self.plain_function_type(t).map(|f| ImportKey::Func(f.clone())),
            TypeRef::Global(g) if plain(g.content_type) => Some(ImportKey::Global(g)),
            TypeRef::Table(t) if t.element_type.type_index().is_none() => Some(ImportKey::Table(t)),
            TypeRef::Tag(t) => self.plain_function_type(t.func_type_idx).map(|f| ImportKey::Tag(f.clone())),
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

/// What makes an import the same as another module's: its type, where the type can be compared
/// across modules (it names no other type).
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) enum ImportKey {
    Func(wasmparser::FuncType),
    Global(wasmparser::GlobalType),
    Table(wasmparser::TableType),
    Tag(wasmparser::FuncType),
}

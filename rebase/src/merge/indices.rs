//! Where each module's items go in the merged module's index spaces, and the renumbering of
//! everything that names them.

use wasm_encoder::reencode::{self, Reencode};
use wasmparser::TypeRef;

use super::ModuleRelocations;
use crate::{Error, Relocations};

/// The index spaces an import may live in (a memory import never reaches the merge's
/// renumbering: the merged module has one memory).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum IndexSpace {
    Function,
    Table,
    Global,
    Tag,
}

impl IndexSpace {
    /// Every one, in the order of their numbers (`space as usize`).
    pub(super) const ALL: [Self; 4] = [Self::Function, Self::Table, Self::Global, Self::Tag];

    /// The space an import of type `ty` lives in.
    pub(super) fn of(ty: TypeRef) -> Self {
        match ty {
            TypeRef::Func(_) | TypeRef::FuncExact(_) => Self::Function,
            TypeRef::Table(_) => Self::Table,
            TypeRef::Global(_) => Self::Global,
            // Memories never get here.
            TypeRef::Tag(_) | TypeRef::Memory(_) => Self::Tag,
        }
    }
}

/// One module's index maps into the merged module.
#[derive(Clone, Debug, Default)]
pub(super) struct IndexMap {
    pub(super) types: u32,
    pub(super) functions: Vec<u32>,
    pub(super) function_imports: usize,
    pub(super) tables: Vec<u32>,
    pub(super) globals: Vec<u32>,
    pub(super) global_imports: usize,
    pub(super) tags: Vec<u32>,
    pub(super) elements: u32,
    pub(super) data: u32,
}

impl IndexMap {
    /// The map of one index space.
    pub(super) fn space_mut(&mut self, space: IndexSpace) -> &mut Vec<u32> {
        match space {
            IndexSpace::Function => &mut self.functions,
            IndexSpace::Table => &mut self.tables,
            IndexSpace::Global => &mut self.globals,
            IndexSpace::Tag => &mut self.tags,
        }
    }

    /// The module's part of the merged relocation table.
    pub(super) fn relocations(self, name: &str, rebase: Relocations) -> ModuleRelocations {
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

impl Reencode for IndexMap {
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

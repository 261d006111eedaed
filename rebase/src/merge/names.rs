//! The merged `name` section: every module's names, renumbered and prefixed with its
//! component.

use std::collections::BTreeMap;

use wasm_encoder::{IndirectNameMap, NameMap, NameSection};

use super::indices::IndexMap;
use super::parsed::Parsed;

/// The prefix of the names the merge and the rebaser give to what they add.
pub(super) const ADDED: &str = "flight.";

/// What a name subsection names, in subsection order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum NameKind {
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

impl NameKind {
    const ALL: [NameKind; 13] = [
        NameKind::Function,
        NameKind::Local,
        NameKind::Label,
        NameKind::Type,
        NameKind::Table,
        NameKind::Memory,
        NameKind::Global,
        NameKind::Element,
        NameKind::Data,
        NameKind::Field,
        NameKind::Tag,
        NameKind::Parameter,
        NameKind::TagParameter,
    ];

    /// Names items within an item (locals within a function, fields within a type).
    fn indirect(self) -> bool {
        matches!(
            self,
            NameKind::Local
                | NameKind::Label
                | NameKind::Field
                | NameKind::Parameter
                | NameKind::TagParameter
        )
    }

    /// The merged index of the item `index` of module `p`, keyed as this subsection keys it.
    fn rename(self, p: &Parsed<'_>, map: &IndexMap, index: u32) -> Result<u32, String> {
        let within = |count: u32, first: u32| (index < count).then(|| first + index);
        let found = match self {
            NameKind::Function | NameKind::Local | NameKind::Label => {
                map.functions.get(index as usize).copied()
            }
            NameKind::Type | NameKind::Field | NameKind::Parameter => within(p.type_count, map.types),
            NameKind::Table => map.tables.get(index as usize).copied(),
            NameKind::Memory => within(1, 0),
            NameKind::Global => map.globals.get(index as usize).copied(),
            NameKind::Element => within(p.element_count, map.elements),
            NameKind::Data => within(p.data_count, map.data),
            NameKind::Tag | NameKind::TagParameter => map.tags.get(index as usize).copied(),
        };
        let what = match self {
            NameKind::Function | NameKind::Local | NameKind::Label => "function",
            NameKind::Type | NameKind::Field | NameKind::Parameter => "type",
            NameKind::Table => "table",
            NameKind::Memory => "memory",
            NameKind::Global => "global",
            NameKind::Element => "element segment",
            NameKind::Data => "data segment",
            NameKind::Tag | NameKind::TagParameter => "tag",
        };
        found.ok_or_else(|| format!("{what} index {index} out of range"))
    }
}

/// The name section being built: every name by subsection and merged index.
#[derive(Default)]
pub(super) struct Names {
    /// The module's name.
    pub(super) module: Option<String>,
    /// Items' names, by kind and merged index.
    pub(super) direct: BTreeMap<(NameKind, u32), String>,
    /// The names within items (locals within functions, fields within types).
    pub(super) indirect: BTreeMap<(NameKind, u32), BTreeMap<u32, String>>,
}

impl Names {
    /// Reads module `p`'s name section, renumbered, its names prefixed with `prefix`; returns
    /// the names and the ids of the unknown subsections skipped. Any error drops it all.
    pub(super) fn read(
        p: &Parsed<'_>,
        map: &IndexMap,
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
                wasmparser::Name::Function(m) => (NameKind::Function, Some(m), None),
                wasmparser::Name::Type(m) => (NameKind::Type, Some(m), None),
                wasmparser::Name::Table(m) => (NameKind::Table, Some(m), None),
                wasmparser::Name::Memory(m) => (NameKind::Memory, Some(m), None),
                wasmparser::Name::Global(m) => (NameKind::Global, Some(m), None),
                wasmparser::Name::Element(m) => (NameKind::Element, Some(m), None),
                wasmparser::Name::Data(m) => (NameKind::Data, Some(m), None),
                wasmparser::Name::Tag(m) => (NameKind::Tag, Some(m), None),
                wasmparser::Name::Local(m) => (NameKind::Local, None, Some(m)),
                wasmparser::Name::Label(m) => (NameKind::Label, None, Some(m)),
                wasmparser::Name::Field(m) => (NameKind::Field, None, Some(m)),
                wasmparser::Name::Parameter(m) => (NameKind::Parameter, None, Some(m)),
                wasmparser::Name::TagParameter(m) => (NameKind::TagParameter, None, Some(m)),
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
    pub(super) fn add(&mut self, other: Names) {
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
    pub(super) fn section(&self) -> Option<NameSection> {
        if self.module.is_none() && self.direct.is_empty() && self.indirect.is_empty() {
            return None;
        }
        let mut section = NameSection::new();
        if let Some(m) = &self.module {
            section.module(m);
        }
        for sub in NameKind::ALL {
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
                    NameKind::Local => section.locals(&map),
                    NameKind::Label => section.labels(&map),
                    NameKind::Field => section.fields(&map),
                    NameKind::Parameter => section.parameters(&map),
                    _ => section.tag_parameters(&map),
                }
            } else {
                let mut map = NameMap::new();
                for (&(_, index), name) in self.direct.range(range) {
                    map.append(index, name);
                }
                match sub {
                    _ if map.is_empty() => {}
                    NameKind::Function => section.functions(&map),
                    NameKind::Type => section.types(&map),
                    NameKind::Table => section.tables(&map),
                    NameKind::Memory => section.memories(&map),
                    NameKind::Global => section.globals(&map),
                    NameKind::Element => section.elements(&map),
                    NameKind::Data => section.data(&map),
                    _ => section.tags(&map),
                }
            }
        }
        Some(section)
    }
}

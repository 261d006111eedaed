//! The custom sections of the merged module: `name` rebuilt, `producers` and
//! `target_features` merged, every other one dropped and listed.

use wasm_encoder::{CustomSection, Encode, Module, ProducersField, ProducersSection};

use super::DroppedSection;
use super::indices::IndexMap;
use super::names::{ADDED, NameKind, Names};
use super::parsed::Parsed;
use crate::Relocations;

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
pub(super) fn custom_sections(
    modules: &[Parsed<'_>],
    maps: &[IndexMap],
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
                                read.direct.retain(|(sub, _), _| *sub != NameKind::Memory);
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
        let globals =
            [(relocs.pages_global, "pages"), (relocs.bytes_global, "bytes"), (relocs.trap_global, "trap")];
        for (global, what) in globals {
            if let Some(&g) = global.and_then(|g| map.globals.get(g as usize)) {
                names.direct.insert((NameKind::Global, g), format!("{prefix}{ADDED}{what}"));
            }
        }
        for h in &relocs.helpers {
            if let Some(&f) = map.functions.get(h.function as usize) {
                let name = h.name.replace(' ', ".");
                names.direct.insert((NameKind::Function, f), format!("{prefix}{ADDED}{name}"));
            }
        }
    }
    if merged {
        names.direct.insert((NameKind::Memory, 0), format!("{ADDED}memory"));
    }
    if let Some(f) = start {
        names.direct.insert((NameKind::Function, f), format!("{ADDED}start"));
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
    crate::rewrite::stale(section)
        .map_or("not known: its indices and offsets cannot be renumbered", crate::rewrite::Stale::reason)
}

//! A plan, written out: the table on the terminal ([`table`]), the JSON plan ([`json`]), the
//! linker-script fragment ([`linker`]) and one SVG map per region ([`svg`]).

pub mod json;
pub mod linker;
pub mod svg;
pub mod table;

use flight_memory::layout::Segment;

use crate::plan::Planned;

/// `name` as a part of a linker symbol: every character outside `[A-Za-z0-9_]` becomes `_`.
pub fn symbol(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// A segment's access list as text: `physics rw-, renderer r--`.
pub fn access(planned: &Planned<'_>, segment: &Segment<'_>) -> String {
    let entries = segment.access.entries().iter();
    let parts: Vec<String> =
        entries.map(|(c, p)| format!("{} {p}", planned.layout.component_name(*c))).collect();
    parts.join(", ")
}

/// A segment's flags as text: `dma wasm`, or `-`.
pub fn flags(segment: &Segment<'_>) -> String {
    let names: Vec<&str> = segment.flags.names().collect();
    if names.is_empty() { "-".into() } else { names.join(" ") }
}

/// The files of a plan named `stem`, as (file name, contents): `STEM.plan.json`, `STEM.ld`,
/// and `STEM-REGION.svg` for each region with a window.
pub fn files(planned: &Planned<'_>, stem: &str) -> Vec<(String, String)> {
    let mut out = vec![
        (format!("{stem}.plan.json"), json::plan(planned).to_json()),
        (format!("{stem}.ld"), linker::linker(planned, stem)),
    ];
    let mut regions: Vec<u8> = planned.layout.windows().iter().map(|w| w.region).collect();
    regions.sort_unstable();
    regions.dedup();
    for region in regions {
        let name: String = planned
            .layout
            .region(region)
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        out.push((format!("{stem}-{name}.svg"), svg::svg(planned, stem, region)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_keep_only_identifier_characters() {
        assert_eq!(symbol("game-logic"), "game_logic");
        assert_eq!(symbol("a.b c_9"), "a_b_c_9");
        assert_eq!(symbol("é"), "_");
    }
}

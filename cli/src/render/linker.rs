//! The plan as a linker-script fragment for GNU ld and ld.lld: symbols for every budget and
//! segment, and assertions the console's script can rely on.
//!
//! ```text
//! __flight_physics_start = 0x09000000;
//! __flight_physics_end = 0x09400000;
//! __flight_physics_size = 0x00400000;
//! ```
//!
//! Names become `[A-Za-z0-9_]` ([`symbol`]). Addresses are CPU addresses; a segment in a region
//! the CPU cannot address gets its address in the region's own space, and says so.

use std::fmt::Write as _;

use super::symbol;
use crate::plan::{PlanLayout, Planned};

/// Text safe inside `/* */` and `"..."`: no comment end, no quote, no backslash.
fn quiet(text: &str) -> String {
    text.replace("*/", "*_").replace(['"', '\\'], "_")
}

/// The symbol stem of each window: `budget_REGION`, with `_K` when a region has several.
pub fn window_stems(layout: &PlanLayout<'_>) -> Vec<String> {
    let windows = layout.windows();
    windows
        .iter()
        .map(|w| {
            let name = symbol(layout.region(w.region).name);
            let same: Vec<_> = windows.iter().filter(|o| o.region == w.region).collect();
            match same.iter().position(|o| *o == w) {
                Some(k) if same.len() > 1 => format!("budget_{name}_{k}"),
                _ => format!("budget_{name}"),
            }
        })
        .collect()
}

/// The fragment for the plan named `name`.
pub fn linker(planned: &Planned<'_>, name: &str) -> String {
    let layout = &planned.layout;
    let spec = planned.spec;
    let stems = window_stems(&planned.layout);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* Layout plan `{}` for {}, written by `flight plan`.\n\
         \x20* Guard gaps of {} separate neighbouring segments. Addresses are CPU addresses.\n\
         \x20* A console's script includes this file and may check its own image against a\n\
         \x20* budget: ASSERT(_end <= __flight_{}_start, \"the image reaches the plan\").\n\
         \x20*/",
        quiet(name),
        spec.platform,
        spec.guard,
        stems.first().map_or("budget_REGION", String::as_str)
    );
    for (w, stem) in layout.windows().iter().zip(&stems) {
        let (start, cpu) = planned.address(w.region, w.span.start());
        let end = start.get() + w.span.size().get();
        let region = layout.region(w.region).name;
        let _ = writeln!(out, "\n/* budget: {region}, {} */", w.span.size());
        if !cpu {
            let _ = writeln!(out, "/* the CPU cannot address {region}: addresses in its own space */");
        }
        let _ = writeln!(out, "__flight_{stem}_start = 0x{:08x};", start.get());
        let _ = writeln!(out, "__flight_{stem}_end = 0x{end:08x};");
    }
    for s in layout.segments() {
        let sym = format!("__flight_{}", symbol(s.name));
        let (start, cpu) = planned.address(s.region, s.span.start());
        let end = start.get() + s.span.size().get();
        let region = layout.region(s.region).name;
        let owner = s
            .access
            .owner()
            .map_or("shared".to_string(), |(c, _)| format!("owner {}", quiet(layout.component_name(c))));
        let _ = writeln!(
            out,
            "\n/* {}: {owner}, {region}, {}, aligned to {} */",
            quiet(s.name),
            s.span.size(),
            s.align
        );
        if !cpu {
            let _ = writeln!(out, "/* the CPU cannot address {region}: addresses in its own space */");
        }
        let _ = writeln!(out, "{sym}_start = 0x{:08x};", start.get());
        let _ = writeln!(out, "{sym}_end = 0x{end:08x};");
        let _ = writeln!(out, "{sym}_size = 0x{:08x};", s.span.size().get());
        let what = quiet(s.name);
        let _ = writeln!(out, "ASSERT({sym}_start < {sym}_end, \"flight plan: segment {what} is empty\");");
        let _ = writeln!(
            out,
            "ASSERT({sym}_end - {sym}_start == {sym}_size, \
             \"flight plan: segment {what} has the wrong size\");"
        );
        let _ = writeln!(
            out,
            "ASSERT({sym}_start % {} == 0, \"flight plan: segment {what} is not aligned to {}\");",
            s.align.get(),
            s.align
        );
        let window = layout.window_of(s.region, s.span).and_then(|w| stems.get(w));
        if let Some(stem) = window {
            let _ = writeln!(
                out,
                "ASSERT({sym}_start >= __flight_{stem}_start && {sym}_end <= __flight_{stem}_end, \
                 \"flight plan: segment {what} is outside its budget\");"
            );
        }
    }
    let guard = spec.guard.get();
    let pairs = layout.segments().windows(2).filter(|p| p[0].region == p[1].region);
    if guard > 0 && pairs.clone().next().is_some() {
        let _ = writeln!(out, "\n/* guard gaps: neighbouring segments at least {} apart */", spec.guard);
        for p in pairs {
            let (a, b) = (symbol(p[0].name), symbol(p[1].name));
            let _ = writeln!(
                out,
                "ASSERT(__flight_{a}_end + {guard} <= __flight_{b}_start, \
                 \"flight plan: {} and {} are nearer than the guard gap\");",
                quiet(p[0].name),
                quiet(p[1].name)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_stay_closed() {
        assert_eq!(quiet("a*/b\"c\\d"), "a*_b_c_d");
    }

    #[test]
    fn the_example_has_three_symbols_and_assertions_per_segment() {
        let spec = crate::spec::Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = crate::plan::plan(&spec, &sharers).unwrap();
        let text = linker(&p, "example");
        assert!(text.contains("\n__flight_budget_main_ram_start = 0x09000000;\n"), "{text}");
        assert!(text.contains("\n__flight_game_logic_size = 0x00100000;\n"), "{text}");
        assert_eq!(text.matches("ASSERT(").count(), 5 * 4 + 4 + 1, "{text}");
    }
}

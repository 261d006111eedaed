//! The plan as JSON, for other programs: every window, segment (with its access list and CPU address)
//! and guard gap, the summary and the validation report.
//!
//! Addresses and sizes are integers (bytes). `start` and `end` are in the region's own address
//! space; `cpu_start` and `cpu_end` are CPU addresses, `null` for a region the CPU cannot
//! address. Permissions are written `rwx`, with `-` for a missing right.

use serde::Serialize;

use crate::plan::Planned;

/// The version of the format: it changes when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct PlanJson<'a> {
    schema_version: u32,
    platform: &'a str,
    guard: u64,
    windows: Vec<WindowJson<'a>>,
    segments: Vec<SegmentJson<'a>>,
    guards: Vec<GuardJson<'a>>,
    summary: SummaryJson,
    validation: ValidationJson,
}

#[derive(Serialize)]
struct WindowJson<'a> {
    region: &'a str,
    start: u64,
    end: u64,
    size: u64,
    cpu_start: Option<u64>,
    cpu_end: Option<u64>,
}

#[derive(Serialize)]
struct AccessJson<'a> {
    component: &'a str,
    permissions: String,
    owner: bool,
}

#[derive(Serialize)]
struct SegmentJson<'a> {
    name: &'a str,
    owner: Option<&'a str>,
    region: &'a str,
    start: u64,
    end: u64,
    cpu_start: Option<u64>,
    cpu_end: Option<u64>,
    size: u64,
    requested: u64,
    align: u64,
    flags: Vec<&'static str>,
    access: Vec<AccessJson<'a>>,
}

#[derive(Serialize)]
struct GuardJson<'a> {
    region: &'a str,
    start: u64,
    end: u64,
    cpu_start: Option<u64>,
    cpu_end: Option<u64>,
    size: u64,
    after: &'a str,
    before: &'a str,
}

#[derive(Serialize)]
struct SummaryJson {
    budget: u64,
    used: u64,
    rounding: u64,
    guards: u64,
    padding: u64,
    waste: u64,
    free: u64,
    exact: bool,
}

#[derive(Serialize)]
struct ValidationJson {
    ok: bool,
    findings: Vec<String>,
    dropped: usize,
    windows: Vec<UsageJson>,
}

#[derive(Serialize)]
struct UsageJson {
    start: u64,
    end: u64,
    segments: usize,
    used: u64,
    waste: u64,
    free: u64,
    largest_free: u64,
    fragmentation: f32,
}

/// The plan as pretty-printed JSON, `schema_version` first.
pub fn json(planned: &Planned<'_>) -> String {
    let layout = &planned.layout;
    let cpu = |region: u8, start: u64, size: u64| {
        let (a, cpu) = planned.address(region, flight_memory::Address::new(start));
        if cpu { (Some(a.get()), Some(a.get() + size)) } else { (None, None) }
    };
    let windows = layout
        .windows()
        .iter()
        .map(|w| {
            let (cpu_start, cpu_end) = cpu(w.region, w.span.start().get(), w.span.size().get());
            WindowJson {
                region: layout.region(w.region).name,
                start: w.span.start().get(),
                end: w.span.end().get(),
                size: w.span.size().get(),
                cpu_start,
                cpu_end,
            }
        })
        .collect();
    let segments = layout
        .segments()
        .iter()
        .map(|s| {
            let (cpu_start, cpu_end) = cpu(s.region, s.span.start().get(), s.span.size().get());
            let owner = s.access.owner().map(|(c, _)| c);
            SegmentJson {
                name: s.name,
                owner: owner.map(|c| layout.component_name(c)),
                region: layout.region(s.region).name,
                start: s.span.start().get(),
                end: s.span.end().get(),
                cpu_start,
                cpu_end,
                size: s.span.size().get(),
                requested: s.requested.get(),
                align: s.align.get(),
                flags: s.flags.names().collect(),
                access: s
                    .access
                    .entries()
                    .iter()
                    .map(|(c, p)| AccessJson {
                        component: layout.component_name(*c),
                        permissions: p.to_string(),
                        owner: Some(*c) == owner,
                    })
                    .collect(),
            }
        })
        .collect();
    let guards = layout
        .guards()
        .map(|g| {
            let (cpu_start, cpu_end) = cpu(g.region, g.span.start().get(), g.span.size().get());
            GuardJson {
                region: layout.region(g.region).name,
                start: g.span.start().get(),
                end: g.span.end().get(),
                cpu_start,
                cpu_end,
                size: g.span.size().get(),
                after: layout.segments()[g.after].name,
                before: layout.segments()[g.before].name,
            }
        })
        .collect();
    let s = &planned.summary;
    let report = &planned.report;
    let plan = PlanJson {
        schema_version: SCHEMA_VERSION,
        platform: planned.spec.platform,
        guard: planned.spec.guard.get(),
        windows,
        segments,
        guards,
        summary: SummaryJson {
            budget: planned.budget(),
            used: s.used.get(),
            rounding: s.rounding.get(),
            guards: s.guards.get(),
            padding: s.padding.get(),
            waste: s.waste().get(),
            free: planned.free(),
            exact: s.exact,
        },
        validation: ValidationJson {
            ok: report.is_ok(),
            findings: report.findings.iter().map(ToString::to_string).collect(),
            dropped: report.dropped,
            windows: report
                .windows
                .iter()
                .map(|u| UsageJson {
                    start: u.window.span.start().get(),
                    end: u.window.span.end().get(),
                    segments: u.segments,
                    used: u.used.get(),
                    waste: u.waste.get(),
                    free: u.free.get(),
                    largest_free: u.largest_free.get(),
                    fragmentation: u.fragmentation,
                })
                .collect(),
        },
    };
    // Every field is a string, a number, a bool or a list of them: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(&plan).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use crate::spec::Spec;

    #[test]
    fn the_schema_version_comes_first() {
        let spec = Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = crate::plan::plan(&spec, &sharers).unwrap();
        let text = super::json(&p);
        assert!(text.starts_with("{\n  \"schema_version\": 1,\n  \"platform\": \"psp-1000\",\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["segments"].as_array().unwrap().len(), 5);
        assert_eq!(v["validation"]["ok"], true);
    }
}

//! The plan as data, for other programs, in the one format of the `flight-plan` crate: every
//! window, segment (with its access list and CPU address) and guard gap, the summary and the
//! validation report.

use flight_plan::{Access, Guard, Plan, Segment, Summary, Usage, Validation, Window};

use crate::plan::Planned;

/// The plan as data.
pub fn plan(planned: &Planned<'_>) -> Plan {
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
            Window {
                region: layout.region(w.region).name.to_string(),
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
            Segment {
                name: s.name.to_string(),
                owner: owner.map(|c| layout.component_name(c).to_string()),
                region: layout.region(s.region).name.to_string(),
                start: s.span.start().get(),
                end: s.span.end().get(),
                cpu_start,
                cpu_end,
                size: s.span.size().get(),
                requested: s.requested.get(),
                align: s.align.get(),
                flags: s.flags.names().map(str::to_string).collect(),
                access: s
                    .access
                    .entries()
                    .iter()
                    .map(|(c, p)| Access {
                        component: layout.component_name(*c).to_string(),
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
            Guard {
                region: layout.region(g.region).name.to_string(),
                start: g.span.start().get(),
                end: g.span.end().get(),
                cpu_start,
                cpu_end,
                size: g.span.size().get(),
                after: layout.segments()[g.after].name.to_string(),
                before: layout.segments()[g.before].name.to_string(),
            }
        })
        .collect();
    let s = &planned.summary;
    let report = &planned.report;
    Plan {
        schema_version: flight_plan::SCHEMA_VERSION,
        platform: planned.spec.platform.to_string(),
        guard: planned.spec.guard.get(),
        windows,
        segments,
        guards,
        summary: Summary {
            budget: planned.budget(),
            used: s.used.get(),
            rounding: s.rounding.get(),
            guards: s.guards.get(),
            padding: s.padding.get(),
            waste: s.waste().get(),
            free: planned.free(),
            exact: s.exact,
        },
        validation: Validation {
            ok: report.is_ok(),
            findings: report.findings.iter().map(ToString::to_string).collect(),
            dropped: report.dropped,
            windows: report
                .windows
                .iter()
                .map(|u| Usage {
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
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::Spec;

    #[test]
    fn the_schema_version_comes_first() {
        let spec = Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = crate::plan::plan(&spec, &sharers).unwrap();
        let text = super::plan(&p).to_json();
        assert!(text.starts_with("{\n  \"schema_version\": 1,\n  \"platform\": \"psp-1000\",\n"), "{text}");
        let back = flight_plan::read(&text).unwrap();
        assert_eq!(back.segments.len(), 5);
        assert!(back.validation.ok);
        assert_eq!(back, super::plan(&p));
    }
}

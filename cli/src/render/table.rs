//! The plan as a table for the terminal.

use std::fmt::Write as _;

use flight_memory::ByteSize;

use crate::plan::Planned;

/// Rows of cells, each column padded to its widest cell, two spaces apart.
fn columns(rows: &[Vec<String>]) -> String {
    let mut widths = Vec::new();
    for row in rows {
        widths.resize(widths.len().max(row.len()), 0);
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<w$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The table: budgets, one row per segment in address order, the guard gaps, the summary and
/// the validation report.
pub fn table(planned: &Planned<'_>, name: &str) -> String {
    let layout = &planned.layout;
    let spec = planned.spec;
    let mut out = format!("plan `{name}` for {}, guard gaps of {}\n\n", spec.platform, spec.guard);

    let mut rows = vec![vec!["budget".to_string(), "region".into(), "address".into(), "size".into()]];
    for w in layout.windows() {
        rows.push(vec![
            String::new(),
            layout.region(w.region).name.into(),
            planned.range(w.region, w.span),
            w.span.size().to_string(),
        ]);
    }
    out.push_str(&columns(&rows));
    out.push('\n');

    let header = ["segment", "owner", "region", "address", "size", "align", "access", "flags"];
    let mut rows = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for s in layout.segments() {
        let owner = s.access.owner().map_or("shared", |(c, _)| layout.component_name(c));
        let size = if s.requested == s.span.size() {
            s.span.size().to_string()
        } else {
            format!("{} ({} asked)", s.span.size(), s.requested)
        };
        rows.push(vec![
            s.name.into(),
            owner.into(),
            layout.region(s.region).name.into(),
            planned.range(s.region, s.span),
            size,
            s.align.to_string(),
            super::access(planned, s),
            super::flags(s),
        ]);
    }
    out.push_str(&columns(&rows));

    let guards: Vec<_> = layout.guards().collect();
    if !guards.is_empty() {
        out.push('\n');
        let mut rows = vec![vec!["guard gap".to_string(), "region".into(), "address".into(), "size".into()]];
        for g in guards {
            let (after, before) = (layout.segments()[g.after].name, layout.segments()[g.before].name);
            rows.push(vec![
                format!("{after} | {before}"),
                layout.region(g.region).name.into(),
                planned.range(g.region, g.span),
                g.span.size().to_string(),
            ]);
        }
        out.push_str(&columns(&rows));
    }

    let s = &planned.summary;
    let order = if s.exact { "proven optimal" } else { "heuristic (not proven optimal)" };
    let rows: Vec<Vec<String>> = [
        ("budget", ByteSize::bytes(planned.budget()).to_string()),
        ("used", format!("{} (rounding {})", s.used, s.rounding)),
        ("guards", s.guards.to_string()),
        ("padding", s.padding.to_string()),
        ("waste", format!("{} (guards and padding)", s.waste())),
        ("free", ByteSize::bytes(planned.free()).to_string()),
        ("order", order.to_string()),
    ]
    .into_iter()
    .chain(planned.unmasked.map(|u| {
        // What the masked segments' powers of two and alignment cost over checks.
        let more = |a: ByteSize, b: ByteSize| a.get() as i64 - b.get() as i64;
        let (rounding, padding) = (more(s.rounding, u.rounding), more(s.padding, u.padding));
        let signed = |n: i64| {
            if n < 0 {
                format!("-{}", ByteSize::bytes(n.unsigned_abs()))
            } else {
                format!("+{}", ByteSize::bytes(n as u64))
            }
        };
        (
            "masking",
            format!(
                "{} ({} rounding, {} padding) against the same plan with every segment checked",
                signed(rounding + padding),
                signed(rounding),
                signed(padding)
            ),
        )
    }))
    .map(|(k, v)| vec![k.to_string(), v])
    .collect();
    out.push('\n');
    out.push_str(&columns(&rows));

    out.push_str("\nvalidation\n");
    for line in planned.report.to_string().lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn columns_pad_to_the_widest_cell() {
        let rows = vec![vec!["a".to_string(), "bb".into()], vec!["ccc".into(), "d".into()]];
        assert_eq!(columns(&rows), "a    bb\nccc  d\n");
    }

    #[test]
    fn the_example_table_has_a_row_per_segment() {
        let spec = Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = crate::plan::plan(&spec, &sharers).unwrap();
        let t = table(&p, "example");
        assert!(t.starts_with("plan `example` for psp-1000, guard gaps of 4 KiB\n"), "{t}");
        let shared = t.lines().find(|l| l.starts_with("physics-to-renderer ")).unwrap();
        assert!(shared.contains(" shared ") && shared.contains("physics rw-, renderer r--"), "{shared}");
        assert!(t.contains("\norder    proven optimal\n"), "{t}");
        assert!(t.contains("\n  layout ok\n"), "{t}");
    }
}

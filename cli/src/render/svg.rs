//! One region of a plan as an SVG map: each window a horizontal bar drawn to scale, with its
//! segments (filled, labelled with name and size), guard gaps (red, hatched), free space
//! (light) and an axis of addresses above it.
//!
//! Segment rectangles carry `class="segment"`, guard gaps `class="guard"`, windows
//! `class="free"`, so programs and tests can find them.

use std::fmt::Write as _;

use flight_memory::layout::Window;

use crate::plan::Planned;

/// The drawing's width.
const WIDTH: f64 = 1000.0;
/// The bar's left edge.
const LEFT: f64 = 40.0;
/// The bar's length.
const BAR: f64 = 920.0;
/// The bar's height.
const BAR_HEIGHT: f64 = 56.0;
/// Approximate width of a character of the 11-pixel font.
const CHAR: f64 = 6.6;
/// Fill colours of owned segments, by component.
const PALETTE: &[&str] =
    &["#a6cee3", "#b2df8a", "#cab2d6", "#ffff99", "#8dd3c7", "#bebada", "#fccde5", "#d9d9d9"];
/// Fill colour of shared segments.
const SHARED: &str = "#fdae61";

/// `text` escaped for XML.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The SVG of region `region` of the plan named `name`.
pub fn svg(planned: &Planned<'_>, name: &str, region: u8) -> String {
    let layout = &planned.layout;
    let r = layout.region(region);
    let mut body = String::new();
    let mut y = 48.0;
    for w in layout.windows().iter().filter(|w| w.region == region) {
        y = window(planned, w, y, &mut body) + 24.0;
    }
    let legend = [
        ("segment", PALETTE[0]),
        ("shared segment", SHARED),
        ("guard gap", "url(#guard)"),
        ("free", "#f4f6f8"),
    ];
    let mut x = LEFT;
    for (label, fill) in legend {
        let _ = writeln!(
            body,
            "<rect x=\"{x}\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{fill}\" stroke=\"#555\"/>\
             <text x=\"{}\" y=\"{}\">{label}</text>",
            x + 20.0,
            y + 11.0
        );
        x += 40.0 + label.len() as f64 * CHAR;
    }
    let height = y + 30.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <defs><pattern id=\"guard\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"4\" height=\"4\" fill=\"#fdd\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"4\" stroke=\"#d00\" stroke-width=\"2\"/></pattern></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
         <text x=\"{LEFT}\" y=\"24\" font-size=\"14\" font-weight=\"bold\">plan {} for {}: {}</text>\n\
         {body}</svg>\n",
        xml(name),
        planned.spec.platform,
        xml(r.name)
    )
}

/// Draws window `w` with its top at `top`; returns the bottom.
fn window(planned: &Planned<'_>, w: &Window, top: f64, out: &mut String) -> f64 {
    let layout = &planned.layout;
    let (start, size) = (w.span.start().get(), w.span.size().get());
    let x = |addr: u64| LEFT + (addr - start) as f64 / size as f64 * BAR;
    let width = |bytes: u64| bytes as f64 / size as f64 * BAR;
    let bar = top + 40.0;
    let _ = writeln!(
        out,
        "<text x=\"{LEFT}\" y=\"{top}\">budget {} {}, {}</text>",
        xml(layout.region(w.region).name),
        planned.range(w.region, w.span),
        w.span.size()
    );
    axis(planned, w, bar, out);
    let _ = writeln!(
        out,
        "<rect class=\"free\" x=\"{LEFT}\" y=\"{bar}\" width=\"{BAR}\" height=\"{BAR_HEIGHT}\" \
         fill=\"#f4f6f8\" stroke=\"#99a\"/>"
    );
    let inside = |span| w.span.contains_span(span);
    let mut below: Vec<f64> = Vec::new(); // right edge of each row of labels under the bar
    let mut bottom = bar + BAR_HEIGHT;
    for s in layout.segments().iter().filter(|s| s.region == w.region && inside(s.span)) {
        let (sx, sw) = (x(s.span.start().get()), width(s.span.size().get()));
        let fill = match s.access.owner() {
            Some((c, _)) => PALETTE[usize::from(c.0) % PALETTE.len()],
            None => SHARED,
        };
        let _ = writeln!(
            out,
            "<rect class=\"segment\" x=\"{sx:.3}\" y=\"{bar}\" width=\"{sw:.3}\" height=\"{BAR_HEIGHT}\" \
             fill=\"{fill}\" stroke=\"#333\" stroke-width=\"0.5\"><title>{}: {}, {}, {}</title></rect>",
            xml(s.name),
            planned.range(s.region, s.span),
            s.span.size(),
            xml(&super::access(planned, s))
        );
        let (name, bytes) = (xml(s.name), s.span.size().to_string());
        let cx = sx + sw / 2.0;
        let text = s.name.chars().count().max(bytes.len()) as f64 * CHAR + 8.0;
        if text <= sw {
            let _ = writeln!(
                out,
                "<text x=\"{cx:.3}\" y=\"{}\" text-anchor=\"middle\">{name}</text>\
                 <text x=\"{cx:.3}\" y=\"{}\" text-anchor=\"middle\">{bytes}</text>",
                bar + BAR_HEIGHT / 2.0 - 3.0,
                bar + BAR_HEIGHT / 2.0 + 11.0
            );
        } else {
            // Under the bar, in the first row with room, with a leader line.
            let label = format!("{name} {bytes}");
            let tw = (s.name.chars().count() + bytes.len() + 1) as f64 * CHAR;
            let lx = cx.clamp(LEFT + tw / 2.0, LEFT + BAR - tw / 2.0);
            let row = below.iter().position(|&right| right + 8.0 <= lx - tw / 2.0).unwrap_or(below.len());
            if row == below.len() {
                below.push(0.0);
            }
            below[row] = lx + tw / 2.0;
            let ly = bar + BAR_HEIGHT + 16.0 + row as f64 * 16.0;
            let _ = writeln!(
                out,
                "<line x1=\"{cx:.3}\" y1=\"{}\" x2=\"{lx:.3}\" y2=\"{}\" \
                 stroke=\"#777\" stroke-width=\"0.5\"/>\
                 <text x=\"{lx:.3}\" y=\"{ly}\" text-anchor=\"middle\">{label}</text>",
                bar + BAR_HEIGHT,
                ly - 10.0
            );
            bottom = bottom.max(ly + 4.0);
        }
    }
    for g in layout.guards().filter(|g| g.region == w.region && inside(g.span)) {
        let _ = writeln!(
            out,
            "<rect class=\"guard\" x=\"{:.3}\" y=\"{bar}\" width=\"{:.3}\" height=\"{BAR_HEIGHT}\" \
             fill=\"url(#guard)\" stroke=\"#d00\" stroke-width=\"0.5\">\
             <title>guard gap {}, {}</title></rect>",
            x(g.span.start().get()),
            width(g.span.size().get()),
            planned.range(g.region, g.span),
            g.span.size()
        );
    }
    bottom
}

/// Tick marks and addresses above the bar whose top is at `bar`: the window's ends and every
/// multiple of a power of two that gives at most eight steps.
fn axis(planned: &Planned<'_>, w: &Window, bar: f64, out: &mut String) {
    let (first, _) = planned.address(w.region, w.span.start());
    let (start, size) = (first.get(), w.span.size().get());
    let end = start + size;
    let step = (size / 8).max(1).next_power_of_two();
    let mut ticks = vec![start];
    let mut t = start.div_ceil(step).saturating_mul(step);
    while t < end {
        ticks.push(t);
        t = t.saturating_add(step);
    }
    ticks.push(end);
    ticks.dedup();
    let x = |addr: u64| LEFT + (addr - start) as f64 / size as f64 * BAR;
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{bar}\" x2=\"{}\" y2=\"{bar}\" stroke=\"#333\"/>",
        LEFT + BAR
    );
    // Labels: the start's from its tick rightwards, the end's leftwards, the others centred
    // where they do not run into a label already drawn or into the end's.
    let label_width = |t: u64| flight_memory::Address::new(t).to_string().len() as f64 * CHAR;
    let end_left = x(end) - label_width(end);
    let mut right_edge = f64::NEG_INFINITY;
    for &t in &ticks {
        let (tx, w) = (x(t), label_width(t));
        let _ = writeln!(
            out,
            "<line x1=\"{tx:.3}\" y1=\"{}\" x2=\"{tx:.3}\" y2=\"{bar}\" stroke=\"#333\"/>",
            bar - 6.0
        );
        let (anchor, left, right) = if t == start {
            ("start", tx, tx + w)
        } else if t == end {
            ("end", tx - w, tx)
        } else {
            ("middle", tx - w / 2.0, tx + w / 2.0)
        };
        if t == end || (left >= right_edge + 12.0 && right + 12.0 <= end_left) {
            let _ = writeln!(
                out,
                "<text x=\"{tx:.3}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                bar - 10.0,
                flight_memory::Address::new(t)
            );
            right_edge = right;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }

    #[test]
    fn segments_are_drawn_to_scale() {
        let spec = crate::spec::Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = crate::plan::plan(&spec, &sharers).unwrap();
        let text = svg(&p, "example", 0);
        assert!(text.starts_with("<svg "));
        assert_eq!(text.matches("class=\"segment\"").count(), 5);
        assert_eq!(text.matches("class=\"guard\"").count(), 4);
        // 4 MiB of a 16 MiB bar.
        assert!(text.contains("width=\"230.000\""), "{text}");
    }
}

//! A report on a whole layout: what is wrong with it and what it costs.
//!
//! [`validate_layout`] finds overlapping segments, neighbours nearer than the guard size,
//! misaligned segments, segments in regions that cannot hold them (permissions, DMA, kind),
//! segments outside the windows and regions over budget; and, per window, the bytes used, the
//! waste (padding and guard gaps), the free bytes and their fragmentation. A layout built by
//! the planner or the dynamic placer has no findings; one read from a file may.

use core::fmt;

use super::guard::{Damage, GuardMemory};
use super::{Layout, MAX_WINDOWS, SegmentFlags, Window};
use crate::units::{Alignment, ByteSize};

/// The most findings one report keeps (it counts the rest).
pub const MAX_FINDINGS: usize = 32;

/// One thing wrong with a layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finding<'a> {
    /// Two segments overlap.
    Overlap {
        /// The lower one.
        first: &'a str,
        /// The other.
        second: &'a str,
    },
    /// Two neighbouring segments are nearer than the guard size.
    GuardTooSmall {
        /// The lower one.
        first: &'a str,
        /// The other.
        second: &'a str,
        /// The bytes between them.
        gap: ByteSize,
    },
    /// A segment does not start on its alignment.
    Misaligned {
        /// The segment.
        segment: &'a str,
        /// Its alignment.
        align: Alignment,
    },
    /// A segment's region cannot hold it.
    WrongRegion {
        /// The segment.
        segment: &'a str,
        /// The region.
        region: &'static str,
        /// Why.
        why: &'static str,
    },
    /// A segment lies outside the layout's windows.
    OutsideWindows {
        /// The segment.
        segment: &'a str,
    },
    /// A region's segments, with their guard gaps, need more than its windows' budget.
    OverBudget {
        /// The region.
        region: &'static str,
        /// The budget.
        budget: ByteSize,
        /// What the segments need: their bytes and a guard gap between each two.
        needed: ByteSize,
    },
    /// A masked segment's size is not a power of two, or it does not start on a multiple of
    /// its size (masking an address would not keep it inside the segment), or it is not a
    /// WebAssembly component's own.
    NotMaskable {
        /// The segment.
        segment: &'a str,
    },
    /// A guard gap's canary was overwritten.
    DamagedGuard(Damage<'a>),
}

impl fmt::Display for Finding<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Overlap { first, second } => write!(f, "segments `{first}` and `{second}` overlap"),
            Self::GuardTooSmall { first, second, gap } => {
                write!(f, "segments `{first}` and `{second}` are only {gap} apart, less than the guard gap")
            }
            Self::Misaligned { segment, align } => {
                write!(f, "segment `{segment}` does not start on its {align} alignment")
            }
            Self::WrongRegion { segment, region, why } => {
                write!(f, "segment `{segment}` in `{region}`: {why}")
            }
            Self::OutsideWindows { segment } => {
                write!(f, "segment `{segment}` lies outside the layout's budget")
            }
            Self::OverBudget { region, budget, needed } => {
                write!(
                    f,
                    "region `{region}` is over budget: its segments and guard gaps need {needed}, the budget is {budget}"
                )
            }
            Self::NotMaskable { segment } => write!(
                f,
                "segment `{segment}` is masked, but it is not a WebAssembly component's own, or its size is not a power \
                 of two, or it does not start on a multiple of it"
            ),
            Self::DamagedGuard(d) => write!(
                f,
                "the guard gap between `{}` and `{}` was overwritten at {}",
                d.after, d.before, d.address
            ),
        }
    }
}

/// What one window holds.
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct WindowUsage {
    /// The window.
    pub window: Window,
    /// How many segments.
    pub segments: usize,
    /// Bytes in segments.
    pub used: ByteSize,
    /// Bytes in guard gaps and alignment padding between the window's start and its last
    /// segment's end.
    pub waste: ByteSize,
    /// Bytes in no segment and no guard gap (alignment padding included).
    pub free: ByteSize,
    /// The largest run of free bytes.
    pub largest_free: ByteSize,
    /// `1 - largest_free / free`: 0 when the free space is one piece.
    pub fragmentation: f32,
}

/// The report of [`validate_layout`].
#[derive(Clone, Debug)]
pub struct Report<'a> {
    /// What is wrong (the first [`MAX_FINDINGS`]).
    pub findings: heapless::Vec<Finding<'a>, MAX_FINDINGS>,
    /// Findings beyond those kept.
    pub dropped: usize,
    /// Each window's usage.
    pub windows: heapless::Vec<WindowUsage, MAX_WINDOWS>,
}

impl<'a> Report<'a> {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty() && self.dropped == 0
    }

    fn add(&mut self, finding: Finding<'a>) {
        if self.findings.push(finding).is_err() {
            self.dropped += 1;
        }
    }

    /// Adds a finding for each damaged guard gap `memory` shows.
    pub fn check_guards<const N: usize>(&mut self, layout: &Layout<'a, N>, memory: &impl GuardMemory) {
        for d in layout.damaged_guards(memory) {
            self.add(Finding::DamagedGuard(d));
        }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            writeln!(f, "layout ok")?;
        }
        for finding in &self.findings {
            writeln!(f, "error: {finding}")?;
        }
        if self.dropped > 0 {
            writeln!(f, "error: and {} more", self.dropped)?;
        }
        for w in &self.windows {
            writeln!(
                f,
                "window {}: {} segments, {} used, {} waste, {} free (largest {}, fragmentation {:.1}%)",
                w.window.span,
                w.segments,
                w.used,
                w.waste,
                w.free,
                w.largest_free,
                w.fragmentation * 100.0
            )?;
        }
        Ok(())
    }
}

/// Checks a whole layout (see the module docs).
pub fn validate_layout<'a, const N: usize>(layout: &Layout<'a, N>) -> Report<'a> {
    let mut report = Report { findings: heapless::Vec::new(), dropped: 0, windows: heapless::Vec::new() };
    let segments = layout.segments();
    let guard = layout.guard().get();
    for (i, s) in segments.iter().enumerate() {
        let region = layout.region(s.region);
        if !s.span.start().is_aligned(s.align) {
            report.add(Finding::Misaligned { segment: s.name, align: s.align });
        }
        let rights = s.access.entries().iter().fold(crate::map::Permissions::NONE, |p, (_, r)| p.union(*r));
        if let Some(why) = layout.region_refuses(region, s.flags, rights) {
            report.add(Finding::WrongRegion { segment: s.name, region: region.name, why });
        }
        if s.flags.contains(SegmentFlags::MASKED) {
            let size = s.span.size().get();
            let owned = s.access.owner().is_some() && s.flags.contains(SegmentFlags::WASM);
            if !owned || !size.is_power_of_two() || !s.span.start().get().is_multiple_of(size) {
                report.add(Finding::NotMaskable { segment: s.name });
            }
        }
        if layout.window_of(s.region, s.reach()).is_none() {
            report.add(Finding::OutsideWindows { segment: s.name });
        }
        // The table is sorted, so an overlap shows between neighbours or with a later segment
        // that starts before this one ends (for a masked one, before its reach ends).
        for other in segments[i + 1..].iter().take_while(|o| o.region == s.region) {
            let start = other.span.start().get();
            if start < s.reach().end().get() {
                report.add(Finding::Overlap { first: s.name, second: other.name });
            } else {
                let gap = start - s.reach().end().get();
                if gap < guard && layout.same_window(s, other) {
                    report.add(Finding::GuardTooSmall {
                        first: s.name,
                        second: other.name,
                        gap: ByteSize::bytes(gap),
                    });
                }
                break;
            }
        }
    }
    // Budgets, per region: the windows' total against what the segments need, their bytes and
    // a guard gap between each two neighbours.
    for (index, region) in layout.map().regions.iter().enumerate() {
        let mine = segments.iter().filter(|s| usize::from(s.region) == index);
        let (count, bytes) =
            mine.fold((0u64, 0u64), |(n, b), s| (n + 1, b.saturating_add(s.span.size().get())));
        if count == 0 {
            continue;
        }
        let budget: u64 = layout
            .windows()
            .iter()
            .filter(|w| usize::from(w.region) == index)
            .map(|w| w.span.size().get())
            .sum();
        // A guard gap between neighbours of one window; each segment outside every window
        // owes one too. Segments of two windows are never neighbours.
        let mut gaps = 0u64;
        for w in layout.windows().iter().filter(|w| usize::from(w.region) == index) {
            let inside =
                segments.iter().filter(|s| s.region == w.region && w.span.contains_span(s.span)).count();
            gaps += (inside as u64).saturating_sub(1);
        }
        gaps += segments
            .iter()
            .filter(|s| usize::from(s.region) == index && layout.window_of(s.region, s.span).is_none())
            .count() as u64;
        let needed = bytes.saturating_add(guard.saturating_mul(gaps));
        if needed > budget {
            report.add(Finding::OverBudget {
                region: region.name,
                budget: ByteSize::bytes(budget),
                needed: ByteSize::bytes(needed),
            });
        }
    }
    for window in layout.windows() {
        let _ = report.windows.push(usage(layout, window));
    }
    report
}

/// The usage of one window.
fn usage<const N: usize>(layout: &Layout<'_, N>, window: &Window) -> WindowUsage {
    let (start, end) = (window.span.start().get(), window.span.end().get());
    let mut u = WindowUsage {
        window: *window,
        segments: 0,
        used: ByteSize::ZERO,
        waste: ByteSize::ZERO,
        free: ByteSize::ZERO,
        largest_free: ByteSize::ZERO,
        fragmentation: 0.0,
    };
    let guard = layout.guard().get();
    let mut cursor = start;
    let mut largest = 0;
    let mut guards = 0;
    let mut first = true;
    for s in
        layout.segments().iter().filter(|s| s.region == window.region && window.span.contains_span(s.span))
    {
        let hole = s.span.start().get().saturating_sub(cursor);
        // Between two segments, up to a guard gap on each side is not free space.
        let g = if first { 0 } else { hole.min(2 * guard) };
        guards += g;
        largest = largest.max(hole - g);
        first = false;
        u.segments += 1;
        u.used = ByteSize::bytes(u.used.get() + s.span.size().get());
        cursor = s.span.end().get();
    }
    largest = largest.max(end.saturating_sub(cursor));
    let size = end - start;
    u.waste = ByteSize::bytes(cursor - start - u.used.get());
    u.free = ByteSize::bytes(size - u.used.get() - guards);
    u.largest_free = ByteSize::bytes(largest);
    if u.free.get() > 0 {
        u.fragmentation = 1.0 - largest as f32 / u.free.get() as f32;
    }
    u
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::layout::tests::MAP;
    use crate::layout::{AccessList, Segment, SegmentFlags, SegmentRequest, Strategy};
    use crate::units::Span;
    use std::string::ToString;

    fn raw(name: &'static str, region: u8, start: u64, size: u64, align: u64) -> Segment<'static> {
        let mut access = AccessList::EMPTY;
        access.push(crate::layout::ComponentId(0), crate::map::Permissions::RW);
        access.owned = true;
        Segment {
            name,
            region,
            span: Span::at(start, ByteSize::bytes(size)),
            requested: ByteSize::bytes(size),
            align: Alignment::of(align),
            flags: SegmentFlags::NONE,
            access,
        }
    }

    #[test]
    fn a_planned_layout_is_clean_and_measured() {
        let mut l: Layout<'_, 4> = Layout::new(&MAP, ByteSize::kib(1));
        l.add_window("ram", Span::at(0x10000, ByteSize::kib(64))).unwrap();
        let requests =
            [SegmentRequest::new("a", ByteSize::kib(4)), SegmentRequest::new("b", ByteSize::kib(8))];
        crate::layout::plan::plan(&mut l, &requests, Strategy::Optimal, &mut [0; 4]).unwrap();
        let r = validate_layout(&l);
        assert!(r.is_ok(), "{r}");
        let w = r.windows[0];
        // The guard gap between the two is neither used nor free.
        assert_eq!(
            (w.segments, w.used, w.waste, w.free),
            (2, ByteSize::kib(12), ByteSize::kib(1), ByteSize::kib(51))
        );
        assert_eq!((w.largest_free, w.fragmentation), (ByteSize::kib(51), 0.0));
    }

    #[test]
    fn every_kind_of_fault_is_reported() {
        let mut l: Layout<'_, 8> = Layout::new(&MAP, ByteSize::bytes(64));
        l.add_component("c").unwrap();
        l.add_window("ram", Span::at(0x10000, ByteSize::bytes(0x1000))).unwrap();
        for s in [
            raw("a", 0, 0x10000, 0x100, 16),
            raw("b", 0, 0x100f0, 0x100, 16),
            raw("c", 0, 0x10200, 0x100, 16),
            raw("d", 0, 0x10308, 0x100, 16),
            raw("e", 0, 0x10f00, 0x1000, 16),
            raw("v", 1, 0, 0x100, 16),
        ] {
            l.insert_unchecked(s).unwrap();
        }
        let text = validate_layout(&l).to_string();
        for expected in [
            "segments `a` and `b` overlap",
            "segments `b` and `c` are only 16 B apart",
            "segment `d` does not start on its 16 B alignment",
            "segment `e` lies outside the layout's budget",
            "region `ram` is over budget: its segments and guard gaps need 5376 B, the budget is 4 KiB",
            "segment `v` in `vram`: the CPU cannot address the region",
            "segment `v` lies outside",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}

//! A spec planned: the layout engine's [`plan`](flight_memory::layout::plan::plan) over the
//! spec's budgets, and its [`validate_layout`] report.

use flight_memory::layout::plan::{PlanError, PlanSummary, Strategy};
use flight_memory::layout::validate::{Report, validate_layout};
use flight_memory::layout::{Layout, LayoutError, SegmentFlags, Sharer};
use flight_memory::{Address, AddressSpace, Span};

use crate::spec::{Spec, SpecError};

/// The capacity of the layout's tables: segments, and components.
pub const CAPACITY: usize = 256;

/// Words of scratch for the exact planner: windows of up to 16 segments are ordered exactly,
/// larger ones by the heuristic.
pub const SCRATCH_WORDS: usize = 1 << 16;

/// A layout of the capacity `flight plan` uses.
pub type PlanLayout<'s> = Layout<'s, CAPACITY>;

/// A planned spec.
#[derive(Debug)]
pub struct Planned<'s> {
    /// The spec.
    pub spec: &'s Spec,
    /// The layout, with its windows and placed segments.
    pub layout: Box<PlanLayout<'s>>,
    /// What the plan cost.
    pub summary: PlanSummary,
    /// What the same plan costs with no segment masked (each checked instead), when some is:
    /// the difference is what masking costs. `None` if none is, or if that plan fails.
    pub unmasked: Option<PlanSummary>,
    /// The layout's validation report.
    pub report: Report<'s>,
}

/// Plans `spec`; `sharers` are [`Spec::sharers`] of it.
pub fn plan<'s>(spec: &'s Spec, sharers: &'s [Vec<Sharer<'s>>]) -> Result<Planned<'s>, SpecError> {
    let mut layout = Box::new(PlanLayout::new(spec.map, spec.guard));
    if spec.budgets.is_empty() {
        for region in spec.default_regions() {
            let free = spec.map.region(region).and_then(|r| r.largest_free_span());
            if let Some(span) = free {
                layout.add_window(region, span).map_err(|e| SpecError::whole(e.to_string()))?;
            }
        }
    }
    for b in &spec.budgets {
        let added = match b.start {
            Some(start) => {
                let span = Span::new(Address::new(start), b.size).ok_or_else(|| {
                    SpecError::at(b.span.clone(), "the budget runs past the end of the address space")
                })?;
                layout.add_window(&b.region, span)
            }
            None => layout.add_window_at_top(&b.region, b.size),
        };
        added.map_err(|e| SpecError::at(b.span.clone(), format!("budget in `{}`: {e}", b.region)))?;
    }
    let stems = crate::render::linker::window_stems(&layout);
    if let Some(s) = spec.segments.iter().find(|s| stems.contains(&crate::render::symbol(&s.name))) {
        let symbol = crate::render::symbol(&s.name);
        let message = format!(
            "segment `{}` would have the linker symbols of a budget (__flight_{symbol}_start ...)",
            s.name
        );
        return Err(SpecError::at(s.span.clone(), message));
    }
    let requests = spec.requests(sharers);
    let mut scratch = vec![0u64; SCRATCH_WORDS];
    let empty = layout.clone();
    let summary = flight_memory::layout::plan::plan(&mut layout, &requests, Strategy::Optimal, &mut scratch)
        .map_err(|e| plan_error(spec, &e))?;
    let report = validate_layout(&layout);
    let masked = SegmentFlags::MASKED;
    let unmasked = if requests.iter().any(|r| r.flags.contains(masked)) {
        let mut plain = empty;
        let plain_requests: Vec<_> = requests.iter().map(|r| r.with_flags(r.flags.without(masked))).collect();
        flight_memory::layout::plan::plan(&mut plain, &plain_requests, Strategy::Optimal, &mut scratch).ok()
    } else {
        None
    };
    Ok(Planned { spec, layout, summary, unmasked, report })
}

/// A planner's error, placed at the segment it names.
fn plan_error(spec: &Spec, e: &PlanError<'_>) -> SpecError {
    let (segment, message) = match *e {
        PlanError::Invalid { segment, .. }
        | PlanError::NoWindow { segment, .. }
        | PlanError::DoesNotFit { segment, .. }
        | PlanError::Layout(LayoutError::Collides { segment, .. }) => (Some(segment), e.to_string()),
        _ => (None, e.to_string()),
    };
    match segment.and_then(|name| spec.segment(name)) {
        Some(s) => SpecError::at(s.span.clone(), message),
        None => SpecError::whole(message),
    }
}

impl Planned<'_> {
    /// The address of `addr` of region `region` as the tables show it: the CPU address through
    /// the view [`Layout::cpu_address`] uses, or the region's own address (`false`) for a
    /// region the CPU cannot address.
    pub fn address(&self, region: u8, addr: Address) -> (Address, bool) {
        let cpu = self.layout.cpu_address_in(region, addr);
        match cpu {
            Some(a) => (a, true),
            None => (addr, false),
        }
    }

    /// `span` of region `region` as the tables show it: `0x...` CPU range, or
    /// `device:0x...` in the region's own address space.
    pub fn range(&self, region: u8, span: Span) -> String {
        let (start, cpu) = self.address(region, span.start());
        let end = Address::new(start.get() + span.size().get());
        if cpu {
            format!("{start}..{end}")
        } else {
            let space = match self.layout.region(region).space {
                AddressSpace::Device(d) => d,
                AddressSpace::Physical => "phys",
            };
            format!("{space}:{start}..{end}")
        }
    }

    /// The bytes of every window.
    pub fn budget(&self) -> u64 {
        self.layout.windows().iter().map(|w| w.span.size().get()).sum()
    }

    /// The bytes of the windows past their last segment (the budget less used bytes, guard
    /// gaps and padding).
    pub fn free(&self) -> u64 {
        let s = &self.summary;
        self.budget().saturating_sub(s.used.get() + s.guards.get() + s.padding.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_fits_at_the_top_of_user_ram() {
        let spec = Spec::parse(crate::EXAMPLE).unwrap();
        let sharers = spec.sharers();
        let p = plan(&spec, &sharers).unwrap();
        assert!(p.report.is_ok(), "{}", p.report);
        assert!(p.summary.exact);
        assert_eq!(p.layout.segments().len(), 5);
        assert_eq!(p.summary.used.get(), (15 << 20) + (256 << 10));
        assert_eq!(p.summary.guards.get(), 4 * 4096);
        for s in p.layout.segments() {
            let (a, cpu) = p.address(s.region, s.span.start());
            assert!(cpu);
            assert_eq!(Some(a), p.layout.cpu_address(s), "the same view as the layout's");
            assert!(a.get() >= 0x0900_0000 && a.get() + s.span.size().get() <= 0x0a00_0000);
        }
        assert_eq!(p.free() + p.summary.used.get() + p.summary.waste().get(), 16 << 20);
    }

    #[test]
    fn device_regions_show_their_own_addresses_and_default_budgets_follow_segments() {
        let source = "platform = \"psx\"\n[[component]]\nname = \"tex\"\nsize = \"64 KiB\"\n\
                      flags = [\"dma\", \"video\"]\nregion = \"vram\"\n";
        let spec = Spec::parse(source).unwrap();
        assert_eq!(spec.default_regions(), ["main-ram", "vram"]);
        let sharers = spec.sharers();
        let p = plan(&spec, &sharers).unwrap();
        let s = p.layout.segment("tex").unwrap();
        assert!(!p.address(s.region, s.span.start()).1);
        assert!(p.range(s.region, s.span).starts_with("gpu:0x"), "{}", p.range(s.region, s.span));
    }

    #[test]
    fn two_windows_of_one_region_are_not_over_budget() {
        let source = "platform = \"psx\"\n[[budget]]\nregion = \"main-ram\"\nsize = \"64 KiB\"\n\
                      [[budget]]\nregion = \"main-ram\"\nstart = 0x10000\nsize = \"64 KiB\"\n\
                      [[component]]\nname = \"a\"\nsize = \"60 KiB\"\n\
                      [[component]]\nname = \"b\"\nsize = \"60 KiB\"\n";
        let spec = Spec::parse(source).unwrap();
        let sharers = spec.sharers();
        let p = plan(&spec, &sharers).unwrap();
        assert_eq!(p.layout.windows().len(), 2);
        let regions: Vec<_> =
            p.layout.segments().iter().map(|s| p.layout.window_of(s.region, s.span)).collect();
        assert_eq!(regions, [Some(1), Some(0)], "one segment in each window");
        assert!(p.report.is_ok(), "{}", p.report);
    }

    #[test]
    fn an_alignment_past_the_address_space_is_not_a_shortfall() {
        let source =
            "platform = \"psx\"\n[[component]]\nname = \"a\"\nsize = 1\nalign = \"0x8000000000000000\"\n";
        let spec = Spec::parse(source).unwrap();
        let sharers = spec.sharers();
        assert_eq!(
            plan(&spec, &sharers).unwrap_err().located("s.toml", source),
            "s.toml:3:8: error: segment `a`: its alignment and size take it past the end of the address space"
        );
    }

    #[test]
    fn a_plan_that_does_not_fit_names_the_segment_and_the_bytes() {
        let source = "platform = \"psx\"\nguard = 0\n[[budget]]\nregion = \"main-ram\"\nsize = \"64 KiB\"\n\
                      [[component]]\nname = \"big\"\nsize = \"65 KiB\"\n";
        let spec = Spec::parse(source).unwrap();
        let sharers = spec.sharers();
        let e = plan(&spec, &sharers).unwrap_err().located("s.toml", source);
        assert_eq!(
            e,
            "s.toml:7:8: error: segment `big` does not fit in the budget of `main-ram`: \
             1 KiB (1024 bytes) missing"
        );
    }
}

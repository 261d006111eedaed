//! The software bounds checker: what the missing MMU would have said about an access.
//!
//! [`Layout::check`] takes the component making the access, a CPU address, a length and the
//! kind of access, and answers from the layout's tables alone:
//!
//! 1. the address is resolved to a region through the map's CPU views (a handful of
//!    comparisons: a console has a few views);
//! 2. a binary search of the segment table, sorted by region and address, finds the segment at
//!    or before it: O(log n) for n segments;
//! 3. the segment's access list says whether the component may make that access; an access
//!    running past the segment's end goes on into the next segment only if it is contiguous
//!    and the component may use it too.
//!
//! Everything lives in the fixed-capacity [`Layout`]: no heap, so the same code runs on the
//! consoles at run time and on the host.

use core::fmt;

use super::{ComponentId, Layout};
use crate::map::{AddressSpace, Permissions};
use crate::units::Address;

/// The kind of an access.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch (or a jump into the range).
    Execute,
}

impl Access {
    /// The right the access needs.
    pub const fn permission(self) -> Permissions {
        match self {
            Self::Read => Permissions::READ,
            Self::Write => Permissions::WRITE,
            Self::Execute => Permissions::EXECUTE,
        }
    }

    /// `read`, `write` or `execute`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Execute => "execute",
        }
    }
}

/// What is wrong with an access.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ViolationKind<'a> {
    /// The component id is not one of the layout's.
    UnknownComponent,
    /// No region of the map is at that address.
    Unmapped,
    /// In a region, but in no segment and no guard gap.
    Outside,
    /// In the guard gap between two segments.
    GuardGap {
        /// The segment before the gap.
        after: &'a str,
        /// The segment after it.
        before: &'a str,
    },
    /// In another component's private segment.
    OtherSegment {
        /// The segment.
        segment: &'a str,
        /// Its owner.
        owner: &'a str,
    },
    /// In a shared segment whose access list does not name the component.
    NotSharer {
        /// The segment.
        segment: &'a str,
    },
    /// In a segment the component may use, but not for this kind of access.
    WrongPermission {
        /// The segment.
        segment: &'a str,
        /// What the component may do there.
        allowed: Permissions,
    },
}

/// An access the layout does not allow.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Violation<'a> {
    /// The component that made it.
    pub component: &'a str,
    /// What kind of access.
    pub access: Access,
    /// The first byte of the access that is not allowed (a CPU address, or an address in the
    /// region's own space for [`Layout::check_in_region`]).
    pub address: Address,
    /// The whole access's length.
    pub len: u64,
    /// What is wrong.
    pub kind: ViolationKind<'a>,
}

impl fmt::Display for Violation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`: {} of {} B reaches {}: ",
            self.component,
            self.access.name(),
            self.len,
            self.address
        )?;
        match self.kind {
            ViolationKind::UnknownComponent => f.write_str("the component is not in the layout"),
            ViolationKind::Unmapped => f.write_str("no memory is mapped there"),
            ViolationKind::Outside => f.write_str("outside its segments"),
            ViolationKind::GuardGap { after, before } => {
                write!(f, "guard gap between `{after}` and `{before}`")
            }
            ViolationKind::OtherSegment { segment, owner } => {
                write!(f, "inside `{segment}`, which belongs to `{owner}`")
            }
            ViolationKind::NotSharer { segment } => write!(f, "inside shared `{segment}`, not a sharer"),
            ViolationKind::WrongPermission { segment, allowed } => {
                write!(f, "inside `{segment}`, where its rights are `{allowed}`")
            }
        }
    }
}

impl core::error::Error for Violation<'_> {}

impl<const N: usize> Layout<'_, N> {
    /// Whether `component` may make an access of `len` bytes at the CPU address `address`.
    /// A zero-length access is always allowed.
    pub fn check(
        &self,
        component: ComponentId,
        address: Address,
        len: u64,
        access: Access,
    ) -> Result<(), Violation<'_>> {
        let violation = |at: Address, kind| Violation {
            component: self.component_name(component),
            access,
            address: at,
            len,
            kind,
        };
        if usize::from(component.0) >= self.components().len() {
            return Err(violation(address, ViolationKind::UnknownComponent));
        }
        if len == 0 {
            return Ok(());
        }
        // Resolve through the CPU views of the regions with windows first (segments are only
        // there), then through the whole map, to tell free space from unmapped addresses. An
        // access running off the end of a view runs into whatever is next in the CPU's address
        // space, which no segment covers.
        let a = address.get();
        let hit = self
            .fast_views()
            .iter()
            .find(|v| a.wrapping_sub(v.base) < v.size)
            .map(|v| (v.region, v.base, v.size, v.region_start));
        let hit = hit.or_else(|| {
            self.map().regions.iter().enumerate().find_map(|(index, region)| {
                let view =
                    region.views.iter().find(|v| a.wrapping_sub(v.base.get()) < region.size().get())?;
                // Region counts are tiny (a map is a short constant list).
                Some((index as u8, view.base.get(), region.size().get(), region.span.start().get()))
            })
        });
        let Some((region, base, size, region_start)) = hit else {
            return Err(violation(address, ViolationKind::Unmapped));
        };
        let offset = a - base;
        let start = region_start + offset;
        let checked = len.min(size - offset);
        self.check_span(component, region, start, checked, access)
            .map_err(|(at, kind)| violation(Address::new(a + (at - start)), kind))?;
        if checked < len {
            return Err(violation(Address::new(a + checked), ViolationKind::Outside));
        }
        Ok(())
    }

    /// Whether `component` may make an access of `len` bytes at `address` in the address space
    /// of the region with index `region` (for device memory reached by DMA, such as the
    /// PlayStation's VRAM).
    pub fn check_in_region(
        &self,
        component: ComponentId,
        region: u8,
        address: Address,
        len: u64,
        access: Access,
    ) -> Result<(), Violation<'_>> {
        let violation = |at: u64, kind| Violation {
            component: self.component_name(component),
            access,
            address: Address::new(at),
            len,
            kind,
        };
        if usize::from(component.0) >= self.components().len() {
            return Err(violation(address.get(), ViolationKind::UnknownComponent));
        }
        let Some(r) = self.map().regions.get(usize::from(region)) else {
            return Err(violation(address.get(), ViolationKind::Unmapped));
        };
        if len == 0 {
            return Ok(());
        }
        if !r.span.contains(address) {
            return Err(violation(address.get(), ViolationKind::Unmapped));
        }
        let room = r.span.end().get() - address.get();
        self.check_span(component, region, address.get(), len.min(room), access)
            .map_err(|(at, kind)| violation(at, kind))?;
        if len > room {
            return Err(violation(r.span.end().get(), ViolationKind::Outside));
        }
        Ok(())
    }

    /// Whether the CPU-addressable regions of the map are on the physical bus (the checker's
    /// views resolve to them); device regions are checked with [`check_in_region`].
    ///
    /// [`check_in_region`]: Self::check_in_region
    pub fn is_device_region(&self, region: u8) -> bool {
        matches!(self.region(region).space, AddressSpace::Device(_))
    }

    /// The check proper, in one region's space: `Err` gives the first byte not allowed.
    fn check_span(
        &self,
        component: ComponentId,
        region: u8,
        start: u64,
        len: u64,
        access: Access,
    ) -> Result<(), (u64, ViolationKind<'_>)> {
        let end = start + len; // Inside the region, so no overflow.
        let bounds = self.bounds();
        let mut at = start;
        let mut index = self.at_or_before(region, Address::new(at));
        loop {
            let Some(i) = index.filter(|&i| at < bounds[i].end) else {
                return Err((at, self.classify_gap(region, index, at)));
            };
            let s = &self.segments()[i];
            let rights = s.access.rights_of(component);
            if !rights.contains(access.permission()) {
                let listed = s.access.entries().iter().any(|(c, _)| *c == component);
                let kind = match s.access.owner() {
                    _ if listed => ViolationKind::WrongPermission { segment: s.name, allowed: rights },
                    Some((owner, _)) if !s.access.is_shared() => {
                        ViolationKind::OtherSegment { segment: s.name, owner: self.component_name(owner) }
                    }
                    _ => ViolationKind::NotSharer { segment: s.name },
                };
                return Err((at, kind));
            }
            if end <= bounds[i].end {
                return Ok(());
            }
            at = bounds[i].end;
            // The next segment, if contiguous, may carry the access on.
            index =
                bounds.get(i + 1).filter(|n| n.region == region && n.start == at).map(|_| i + 1).or(index);
        }
    }

    /// What lies at `at`, which no segment covers: a guard gap or free space. `before` is the
    /// index of the last segment of the region starting before `at`.
    fn classify_gap(&self, region: u8, before: Option<usize>, at: u64) -> ViolationKind<'_> {
        let segments = self.segments();
        let next = before.map_or_else(|| segments.partition_point(|s| s.region < region), |i| i + 1);
        let (Some(prev), Some(next)) =
            (before.map(|i| &segments[i]), segments.get(next).filter(|n| n.region == region))
        else {
            return ViolationKind::Outside;
        };
        if !self.same_window(prev, next) {
            return ViolationKind::Outside;
        }
        let guard = self.guard().get();
        // A masked segment's tail and the guard gap after it.
        let in_guard = at < prev.reach().end().get().saturating_add(guard)
            || at >= next.span.start().get().saturating_sub(guard);
        if in_guard {
            ViolationKind::GuardGap { after: prev.name, before: next.name }
        } else {
            ViolationKind::Outside
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::layout::tests::MAP;
    use crate::layout::{SegmentRequest, Sharer, Strategy};
    use crate::units::{ByteSize, Span};
    use std::string::ToString;

    const SHARERS: &[Sharer<'static>] = &[
        Sharer { component: "physics", permissions: Permissions::RW },
        Sharer { component: "renderer", permissions: Permissions::READ },
    ];

    fn layout() -> Layout<'static, 8> {
        let mut l = Layout::new(&MAP, ByteSize::kib(4));
        l.add_window("ram", Span::at(0x10_0000, ByteSize::kib(512))).unwrap();
        let requests = [
            SegmentRequest::new("physics", ByteSize::kib(64)),
            SegmentRequest::shared("bodies", ByteSize::kib(16), SHARERS),
            SegmentRequest::new("renderer", ByteSize::kib(128)),
            SegmentRequest::new("audio", ByteSize::kib(32)),
        ];
        crate::layout::plan::plan(&mut l, &requests, Strategy::FirstFit, &mut []).unwrap();
        l
    }

    #[test]
    fn each_answer_names_component_and_address() {
        let l = layout();
        let id = |n| l.component(n).unwrap();
        let cpu = |n: &str| l.cpu_address(l.segment(n).unwrap()).unwrap();
        let physics = cpu("physics");
        assert_eq!(physics, Address::new(0x8010_0000), "first fit, cached view first");
        assert_eq!(l.check(id("physics"), physics, 4, Access::Write), Ok(()));
        // Through the uncached view too.
        assert_eq!(l.check(id("physics"), Address::new(0xa010_fffc), 4, Access::Read), Ok(()));
        // Four bytes of which the last two spill into the guard gap.
        let e = l.check(id("physics"), Address::new(0x8010_fffe), 4, Access::Write).unwrap_err();
        assert_eq!(e.address, Address::new(0x8011_0000));
        assert_eq!(e.kind, ViolationKind::GuardGap { after: "physics", before: "bodies" });
        assert_eq!(
            e.to_string(),
            "`physics`: write of 4 B reaches 0x8011_0000: guard gap between `physics` and `bodies`"
        );
        // Another's segment, a shared one, a permission.
        let r = cpu("renderer");
        let e = l.check(id("audio"), r, 1, Access::Read).unwrap_err();
        assert_eq!(e.kind, ViolationKind::OtherSegment { segment: "renderer", owner: "renderer" });
        let bodies = cpu("bodies");
        assert_eq!(l.check(id("renderer"), bodies, 16, Access::Read), Ok(()));
        let e = l.check(id("renderer"), bodies, 16, Access::Write).unwrap_err();
        assert_eq!(e.kind, ViolationKind::WrongPermission { segment: "bodies", allowed: Permissions::READ });
        let e = l.check(id("audio"), bodies, 16, Access::Read).unwrap_err();
        assert_eq!(e.kind, ViolationKind::NotSharer { segment: "bodies" });
        assert_eq!(
            e.to_string(),
            "`audio`: read of 16 B reaches 0x8011_1000: inside shared `bodies`, not a sharer"
        );
        // Past the last segment, before the first, unmapped, and an unknown component.
        let audio = l.segment("audio").unwrap();
        let past = Address::new(0x8000_0000 + audio.span.end().get());
        assert_eq!(l.check(id("audio"), past, 1, Access::Read).unwrap_err().kind, ViolationKind::Outside);
        assert_eq!(
            l.check(id("audio"), Address::new(0x8000_1000), 1, Access::Read).unwrap_err().kind,
            ViolationKind::Outside
        );
        assert_eq!(
            l.check(id("audio"), Address::new(0x1000), 1, Access::Read).unwrap_err().kind,
            ViolationKind::Unmapped
        );
        assert_eq!(
            l.check(ComponentId(99), physics, 1, Access::Read).unwrap_err().kind,
            ViolationKind::UnknownComponent
        );
        // Off the end of the region's view.
        let e = l.check(id("audio"), Address::new(0x801f_fffe), 4, Access::Read).unwrap_err();
        assert_eq!(e.address, Address::new(0x801f_fffe), "free space first");
    }

    #[test]
    fn free_space_between_guards_is_outside() {
        let mut l: Layout<'_, 4> = Layout::new(&MAP, ByteSize::bytes(16));
        l.add_window("ram", Span::at(0x10_0000, ByteSize::kib(64))).unwrap();
        let requests = [
            SegmentRequest::new("a", ByteSize::bytes(32)).aligned(crate::units::Alignment::of(16)),
            SegmentRequest::new("b", ByteSize::bytes(32)).aligned(crate::units::Alignment::of(4096)),
        ];
        crate::layout::plan::plan(&mut l, &requests, Strategy::FirstFit, &mut []).unwrap();
        let a = l.component("a").unwrap();
        let at = |off: u64| Address::new(0x8010_0000 + off);
        assert_eq!(
            l.check(a, at(32), 1, Access::Read).unwrap_err().kind,
            ViolationKind::GuardGap { after: "a", before: "b" }
        );
        assert_eq!(l.check(a, at(48), 1, Access::Read).unwrap_err().kind, ViolationKind::Outside);
        assert_eq!(
            l.check(a, at(4096 - 16), 1, Access::Read).unwrap_err().kind,
            ViolationKind::GuardGap { after: "a", before: "b" }
        );
    }
}

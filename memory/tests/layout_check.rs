//! Property tests of the bounds checker: `Layout::check` against a naive model that looks at
//! every byte of the access and every segment of the table, for random plans (owned and shared
//! segments, random sharers and rights, guard gaps from none up, two windows in one region) and
//! random accesses in, around and between the segments, through every CPU view.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_memory::layout::plan::{SegmentRequest, Strategy as Placement, plan};
use flight_memory::layout::{Access, ComponentId, Layout, Segment, Sharer, ViolationKind};
use flight_memory::{Address, Alignment, ByteSize, MemoryMap, Permissions, Region, RegionKind, Span, View};
use proptest::prelude::*;

/// Two main-RAM regions (the first seen through two views), and hardware registers with no
/// window: the checker's fast path and its fallback through the whole map.
static MAP: MemoryMap = MemoryMap::new(
    "check",
    &[
        Region::cpu("ram", RegionKind::Main, 0, ByteSize::mib(4))
            .with_views(&[View::cached("k0", 0x8000_0000), View::uncached("k1", 0xa000_0000)]),
        Region::cpu("ram2", RegionKind::Main, 0x0100_0000, ByteSize::mib(1))
            .with_views(&[View::cached("r2", 0x9000_0000)]),
        Region::cpu("io", RegionKind::Io, 0x1f80_0000, ByteSize::kib(8))
            .with_views(&[View::uncached("io", 0xbf80_0000)])
            .registers(),
    ],
);

/// The windows: two in `ram`, one in `ram2`.
const WINDOWS: [(&str, u64); 3] = [("ram", 0x1_0000), ("ram", 0x10_0000), ("ram2", 0x0101_0000)];
const WINDOW_SIZE: u64 = 256 * 1024;

const NAMES: [&str; 14] =
    ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13"];
const COMPONENTS: [&str; 6] = ["c0", "c1", "c2", "c3", "c4", "c5"];
const RIGHTS: [Permissions; 8] = [
    Permissions::NONE,
    Permissions::READ,
    Permissions::WRITE,
    Permissions::EXECUTE,
    Permissions::RW,
    Permissions::RX,
    Permissions::RWX,
    Permissions::RW,
];

/// A segment request as drawn.
#[derive(Clone, Debug)]
struct Req {
    size: u64,
    align_log2: Option<u32>,
    /// `None`: a shared region with no owner.
    owner: Option<(usize, usize)>,
    /// (component, rights) of the other users; distinct, never the owner.
    sharers: Vec<(usize, usize)>,
    /// `Some(w)`: in the region of window `w`.
    region: Option<usize>,
}

impl Req {
    fn owner(&self) -> Option<&'static str> {
        self.owner.map(|(c, _)| COMPONENTS[c])
    }

    /// Whether `component` is on its access list (possibly with no rights at all).
    fn listed(&self, component: &str) -> bool {
        self.owner() == Some(component) || self.sharers.iter().any(|(c, _)| COMPONENTS[*c] == component)
    }

    /// What `component` may do in it.
    fn rights(&self, component: &str) -> Permissions {
        match self.owner {
            Some((c, p)) if COMPONENTS[c] == component => RIGHTS[p],
            _ => self
                .sharers
                .iter()
                .find(|(c, _)| COMPONENTS[*c] == component)
                .map_or(Permissions::NONE, |(_, p)| RIGHTS[*p]),
        }
    }

    fn shared(&self) -> bool {
        self.owner.is_none() || !self.sharers.is_empty()
    }
}

fn req() -> impl Strategy<Value = Req> {
    (
        prop_oneof![3 => 1u64..=64, 2 => 1u64..=600],
        prop::option::weighted(0.6, 0u32..=9),
        prop::option::weighted(0.75, (0usize..6, 0usize..8)),
        prop::collection::vec((0usize..6, 0usize..8), 0..=3),
        prop::option::weighted(0.3, 0usize..3),
    )
        .prop_map(|(size, align_log2, owner, sharers, region)| {
            let mut distinct: Vec<(usize, usize)> = Vec::new();
            for (c, p) in sharers {
                if owner.is_none_or(|(o, _)| o != c) && !distinct.iter().any(|(d, _)| *d == c) {
                    distinct.push((c, p));
                }
            }
            // A shared region needs someone to share it.
            if owner.is_none() && distinct.is_empty() {
                distinct.push((0, 6));
            }
            Req { size, align_log2, owner, sharers: distinct, region }
        })
}

/// Where an access starts.
#[derive(Clone, Copy, Debug)]
enum Anchor {
    /// A byte of segment `i` (modulo their count), modulo its size.
    Inside(usize, u64),
    /// The first byte of segment `i`, plus `delta`.
    Start(usize, i64),
    /// One past the last byte of segment `i`, plus `delta`.
    End(usize, i64),
    /// Anywhere in window `w`, plus a little either side.
    Window(usize, u64),
    /// A hardware register, or nowhere mapped.
    Elsewhere(u64),
}

/// Who makes an access.
#[derive(Clone, Copy, Debug)]
enum Who {
    /// One of the components on the access list of the anchor's segment (any component of the
    /// layout when the anchor is no segment).
    User(usize),
    /// Any component of the layout (modulo their count).
    Any(usize),
    /// A component the layout does not know.
    Unknown,
}

#[derive(Clone, Copy, Debug)]
struct Probe {
    anchor: Anchor,
    len: u64,
    access: usize,
    who: Who,
    /// Which of the region's views (modulo their count).
    view: usize,
}

fn probe() -> impl Strategy<Value = Probe> {
    (
        prop_oneof![
            4 => (any::<usize>(), any::<u64>()).prop_map(|(i, o)| Anchor::Inside(i, o)),
            3 => (any::<usize>(), -140i64..140).prop_map(|(i, d)| Anchor::Start(i, d)),
            4 => (any::<usize>(), -140i64..140).prop_map(|(i, d)| Anchor::End(i, d)),
            2 => (0usize..3, 0u64..(WINDOW_SIZE + 256)).prop_map(|(w, o)| Anchor::Window(w, o)),
            1 => prop_oneof![0xbf80_0000u64..0xbf80_2100, 0u64..0x1000, 0x803f_ff00u64..0x8040_0100]
                .prop_map(Anchor::Elsewhere),
        ],
        prop_oneof![3 => 1u64..=8, 2 => 1u64..=64],
        0usize..3,
        prop_oneof![
            6 => any::<usize>().prop_map(Who::User),
            4 => any::<usize>().prop_map(Who::Any),
            1 => Just(Who::Unknown),
        ],
        0usize..2,
    )
        .prop_map(|(anchor, len, access, who, view)| Probe { anchor, len, access, who, view })
}

const ACCESSES: [Access; 3] = [Access::Read, Access::Write, Access::Execute];

/// Builds the plan; the windows are large enough for any drawn set.
fn layout<'a>(
    reqs: &[Req],
    sharers: &'a [Vec<Sharer<'static>>],
    guard: u64,
    first_fit: bool,
) -> Layout<'a, 16> {
    let mut l = Layout::new(&MAP, ByteSize::bytes(guard));
    for (region, start) in WINDOWS {
        l.add_window(region, Span::at(start, ByteSize::bytes(WINDOW_SIZE))).unwrap();
    }
    let requests: Vec<SegmentRequest<'a>> = reqs
        .iter()
        .zip(sharers)
        .zip(NAMES)
        .map(|((r, s), name)| {
            let size = ByteSize::bytes(r.size);
            let mut q = match r.owner {
                Some((c, p)) => SegmentRequest::new(COMPONENTS[c], size)
                    .named(name)
                    .with_permissions(RIGHTS[p])
                    .shared_with(s),
                None => SegmentRequest::shared(name, size, s),
            };
            if let Some(k) = r.align_log2 {
                q = q.aligned(Alignment::of(1 << k));
            }
            if let Some(w) = r.region {
                q = q.in_region(WINDOWS[w].0);
            }
            q
        })
        .collect();
    let strategy = if first_fit { Placement::FirstFit } else { Placement::Optimal };
    plan(&mut l, &requests, strategy, &mut [0; 256]).unwrap();
    l
}

/// The answer, byte by byte: the first byte not allowed and why.
fn model(
    l: &Layout<'_, 16>,
    reqs: &[Req],
    component: Option<&str>,
    address: u64,
    len: u64,
    access: Access,
) -> Result<(), (u64, ViolationKind<'static>)> {
    let Some(component) = component else {
        return Err((address, ViolationKind::UnknownComponent));
    };
    // The region and view the first byte is in.
    let hit = MAP.regions.iter().enumerate().find_map(|(i, r)| {
        r.views
            .iter()
            .find(|v| address >= v.base.get() && address - v.base.get() < r.size().get())
            .map(|v| (i, v.base.get()))
    });
    let Some((index, base)) = hit else {
        return Err((address, ViolationKind::Unmapped));
    };
    let region = &MAP.regions[index];
    let segments = l.segments();
    let mine = || segments.iter().filter(|s| usize::from(s.region) == index);
    let guard = l.guard().get();
    for k in 0..len {
        let at = address + k;
        let offset = at - base;
        if offset >= region.size().get() {
            // Past the view: whatever comes next in the CPU's space, no segment of this region.
            return Err((at, ViolationKind::Outside));
        }
        let x = region.span.start().get() + offset;
        if let Some(s) = mine().find(|s| s.span.contains(Address::new(x))) {
            let i = NAMES.iter().position(|n| *n == s.name).unwrap();
            let r = &reqs[i];
            let rights = r.rights(component);
            let name: &'static str = NAMES[i];
            // Listed with no rights is a permission answer; unlisted, a trespass.
            if rights.is_empty() && !r.listed(component) {
                let kind = match r.owner() {
                    Some(owner) if !r.shared() => ViolationKind::OtherSegment { segment: name, owner },
                    _ => ViolationKind::NotSharer { segment: name },
                };
                return Err((at, kind));
            }
            if !rights.contains(access.permission()) {
                return Err((at, ViolationKind::WrongPermission { segment: name, allowed: rights }));
            }
            continue;
        }
        let before = mine().filter(|s| s.span.end().get() <= x).max_by_key(|s| s.span.end());
        let after = mine().filter(|s| s.span.start().get() > x).min_by_key(|s| s.span.start());
        // A guard gap lies between two segments of one window (what lies between windows is
        // not the layout's), within `guard` bytes of either.
        let window = |s: &Segment<'_>| {
            WINDOWS.iter().position(|&(name, start)| {
                name == region.name && Span::at(start, ByteSize::bytes(WINDOW_SIZE)).contains_span(s.span)
            })
        };
        let kind = match (before, after) {
            (Some(b), Some(a))
                if window(b) == window(a)
                    && (x < b.span.end().get() + guard || x + guard >= a.span.start().get()) =>
            {
                let name = |n: &str| NAMES[NAMES.iter().position(|m| *m == n).unwrap()];
                ViolationKind::GuardGap { after: name(b.name), before: name(a.name) }
            }
            _ => ViolationKind::Outside,
        };
        return Err((at, kind));
    }
    Ok(())
}

/// The CPU address of byte `x` of region `index` through its view `view` (modulo their count).
fn cpu(index: usize, view: usize, x: u64) -> u64 {
    let r = &MAP.regions[index];
    let v = &r.views[view % r.views.len()];
    v.base.get() + (x - r.span.start().get())
}

fn region_of_window(w: usize) -> usize {
    MAP.region_index(WINDOWS[w].0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every answer of the checker is the model's: allowed, or the same first byte and the same
    /// kind of violation.
    #[test]
    fn checker_matches_a_byte_by_byte_model(
        reqs in prop::collection::vec(req(), 1..=14),
        guard in prop_oneof![2 => Just(0u64), 3 => 1u64..=16, 3 => 17u64..=128],
        first_fit in any::<bool>(),
        probes in prop::collection::vec(probe(), 64),
    ) {
        let sharers: Vec<Vec<Sharer<'static>>> = reqs
            .iter()
            .map(|r| r.sharers.iter().map(|&(c, p)| Sharer { component: COMPONENTS[c], permissions: RIGHTS[p] }).collect())
            .collect();
        let l = layout(&reqs, &sharers, guard, first_fit);
        let segments = l.segments();
        for p in &probes {
            let anchor = match p.anchor {
                Anchor::Inside(i, _) | Anchor::Start(i, _) | Anchor::End(i, _) => Some(&segments[i % segments.len()]),
                Anchor::Window(..) | Anchor::Elsewhere(_) => None,
            };
            let address = match (p.anchor, anchor) {
                (Anchor::Inside(_, o), Some(s)) => {
                    cpu(usize::from(s.region), p.view, s.span.start().get() + o % s.span.size().get())
                }
                (Anchor::Start(_, d), Some(s)) => {
                    cpu(usize::from(s.region), p.view, s.span.start().get().saturating_add_signed(d))
                }
                (Anchor::End(_, d), Some(s)) => {
                    cpu(usize::from(s.region), p.view, s.span.end().get().saturating_add_signed(d))
                }
                (Anchor::Window(w, o), _) => cpu(region_of_window(w), p.view, WINDOWS[w].1 + o - 128),
                (Anchor::Elsewhere(a), _) => a,
                _ => unreachable!(),
            };
            let count = l.components().len();
            let id = match (p.who, anchor) {
                (Who::User(k), Some(s)) => s.access.entries()[k % s.access.entries().len()].0,
                (Who::User(k) | Who::Any(k), _) => ComponentId((k % count) as u16),
                (Who::Unknown, _) => ComponentId(count as u16),
            };
            let known = (usize::from(id.0) < count).then(|| l.component_name(id));
            let access = ACCESSES[p.access];
            let expected = model(&l, &reqs, known, address, p.len, access);
            let actual = match l.check(id, Address::new(address), p.len, access) {
                Ok(()) => Ok(()),
                Err(v) => {
                    prop_assert_eq!((v.len, v.access), (p.len, access));
                    Err((v.address.get(), v.kind))
                }
            };
            prop_assert_eq!(
                actual, expected,
                "{:?} {} at {:#x} ({} B) by {:?}\nsegments: {:#?}", access.name(), p.len, address, p.len, known, segments
            );
        }
    }
}

/// Accesses of no bytes are allowed anywhere, even unmapped.
#[test]
fn zero_length_accesses_are_allowed() {
    let reqs = [Req { size: 32, align_log2: None, owner: Some((0, 1)), sharers: vec![], region: None }];
    let sharers = vec![vec![]];
    let l = layout(&reqs, &sharers, 16, true);
    let id = l.component("c0").unwrap();
    for a in [0, 0x8001_0000, 0x8001_0020, 0xbf80_0000] {
        assert_eq!(l.check(id, Address::new(a), 0, Access::Write), Ok(()));
    }
}

/// An access across two contiguous segments (no guard) is allowed when the component may use
/// both, and stops at the first byte of the second when it may not.
#[test]
fn contiguous_segments_carry_an_access_on() {
    let reqs = [
        Req { size: 32, align_log2: Some(4), owner: Some((0, 6)), sharers: vec![], region: None },
        Req { size: 32, align_log2: Some(4), owner: Some((0, 1)), sharers: vec![(1, 1)], region: None },
    ];
    let sharers = vec![vec![], vec![Sharer { component: "c1", permissions: Permissions::READ }]];
    let l = layout(&reqs, &sharers, 0, true);
    let c0 = l.component("c0").unwrap();
    assert_eq!(l.check(c0, Address::new(0x8001_0000), 64, Access::Read), Ok(()));
    let e = l.check(c0, Address::new(0x8001_0010), 32, Access::Write).unwrap_err();
    assert_eq!(e.address, Address::new(0x8001_0020));
    assert_eq!(e.kind, ViolationKind::WrongPermission { segment: "s1", allowed: Permissions::READ });
    let c1 = l.component("c1").unwrap();
    let e = l.check(c1, Address::new(0x8001_0000), 64, Access::Read).unwrap_err();
    assert_eq!(e.kind, ViolationKind::OtherSegment { segment: "s0", owner: "c0" });
}

//! Property tests of the shared-VRAM table: random sequences of shares, unshares and transfer
//! checks, each answer compared with a model that keeps, for every pixel of the 1024x512
//! surface, which shared rectangle holds it. A transfer is allowed when every one of its pixels
//! lies on the surface in the same shared rectangle and the component has the right there.
#![allow(clippy::unwrap_used)]

use flight_memory::Permissions;
use flight_memory::alloc::Rect;
use flight_memory::layout::vram::{Direction, VramShareError, VramShares, VramViolation, VramViolationKind};
use flight_memory::layout::{ComponentId, Sharer};
use proptest::prelude::*;

const W: usize = 1024;
const H: usize = 512;
/// The table's capacity: fewer than the names and components the operations use, so both
/// tables fill up.
const N: usize = 4;
const NAMES: [&str; 6] = ["sprites", "font", "clut", "shadow", "tiles", "fb"];
const COMPONENTS: [&str; 5] = ["renderer", "physics", "audio", "logic", "ui"];

#[derive(Clone, Debug)]
enum Op {
    Share { name: usize, rect: Rect, owner: (usize, Permissions), sharers: Vec<(usize, Permissions)> },
    Unshare(usize),
    Check { component: u16, rect: Rect, direction: Direction },
}

fn permissions() -> impl Strategy<Value = Permissions> {
    prop_oneof![
        Just(Permissions::NONE),
        Just(Permissions::READ),
        Just(Permissions::WRITE),
        Just(Permissions::RW)
    ]
}

/// Rectangles near the top-left corner (where they meet) and the bottom-right one (where they
/// leave the surface), and a few large ones.
fn rect() -> impl Strategy<Value = Rect> {
    let x = prop_oneof![3 => 0u16..96, 1 => 980u16..1024];
    let y = prop_oneof![3 => 0u16..64, 1 => 480u16..512];
    let size = prop_oneof![
        12 => (1u16..40, 1u16..40),
        1 => (0u16..3, 0u16..3),
        1 => (1u16..=1024, 1u16..=512),
    ];
    (x, y, size).prop_map(|(x, y, (w, h))| Rect::new(x, y, w, h))
}

fn op() -> impl Strategy<Value = Op> {
    let direction = prop_oneof![Just(Direction::ToVram), Just(Direction::FromVram)];
    prop_oneof![
        3 => (0..NAMES.len(), rect(), (0..COMPONENTS.len(), permissions()),
              prop::collection::vec((0..COMPONENTS.len(), permissions()), 0..4))
            .prop_map(|(name, rect, owner, sharers)| Op::Share { name, rect, owner, sharers }),
        1 => (0..NAMES.len()).prop_map(Op::Unshare),
        8 => (0u16..6, rect(), direction)
            .prop_map(|(component, rect, direction)| Op::Check { component, rect, direction }),
    ]
}

/// One shared rectangle of the model.
#[derive(Clone, Debug)]
struct Share {
    serial: u32,
    name: &'static str,
    rect: Rect,
    /// The components on its list and their rights (both sets for a component named twice).
    rights: Vec<(&'static str, Permissions)>,
}

struct Model {
    /// For each pixel, the serial of the shared rectangle holding it.
    pixels: Vec<Option<u32>>,
    shares: Vec<Share>,
    components: Vec<&'static str>,
    next_serial: u32,
}

impl Model {
    fn new() -> Self {
        Self { pixels: vec![None; W * H], shares: Vec::new(), components: Vec::new(), next_serial: 0 }
    }

    /// The serials of the shared rectangles under `rect`'s pixels on the surface, and whether
    /// any pixel is in none (or off the surface).
    fn under(&self, rect: Rect) -> (Vec<u32>, bool) {
        let mut serials = Vec::new();
        let mut uncovered = false;
        for y in u32::from(rect.y)..rect.bottom() {
            for x in u32::from(rect.x)..rect.right() {
                let (x, y) = (x as usize, y as usize);
                match (x < W && y < H).then(|| self.pixels[y * W + x]).flatten() {
                    Some(s) => {
                        if !serials.contains(&s) {
                            serials.push(s);
                        }
                    }
                    None => uncovered = true,
                }
            }
        }
        (serials, uncovered)
    }

    fn paint(&mut self, rect: Rect, value: Option<u32>) {
        for y in rect.y as usize..rect.bottom() as usize {
            self.pixels[y * W + rect.x as usize..y * W + rect.right() as usize].fill(value);
        }
    }

    fn share(
        &mut self,
        name: &'static str,
        rect: Rect,
        entries: &[(&'static str, Permissions)],
    ) -> Result<(), VramShareError<'static>> {
        if self.shares.iter().any(|s| s.name == name) {
            return Err(VramShareError::DuplicateName(name));
        }
        if rect.is_empty() {
            return Err(VramShareError::Empty(name));
        }
        if rect.right() > W as u32 || rect.bottom() > H as u32 {
            return Err(VramShareError::OffSurface { share: name, rect });
        }
        let (serials, _) = self.under(rect);
        if let Some(first) = self.shares.iter().find(|s| serials.contains(&s.serial)) {
            return Err(VramShareError::Overlaps { share: name, with: first.name });
        }
        if self.shares.len() == N {
            return Err(VramShareError::Full { table: "shares", capacity: N });
        }
        let mut rights: Vec<(&'static str, Permissions)> = Vec::new();
        for &(c, p) in entries {
            if !self.components.contains(&c) {
                if self.components.len() == N {
                    return Err(VramShareError::Full { table: "components", capacity: N });
                }
                self.components.push(c);
            }
            match rights.iter_mut().find(|(n, _)| *n == c) {
                Some(entry) => entry.1 = entry.1.union(p),
                None => rights.push((c, p)),
            }
        }
        let serial = self.next_serial;
        self.next_serial += 1;
        self.paint(rect, Some(serial));
        self.shares.push(Share { serial, name, rect, rights });
        Ok(())
    }

    fn unshare(&mut self, name: &str) -> Option<Rect> {
        let at = self.shares.iter().position(|s| s.name == name)?;
        let s = self.shares.remove(at);
        self.paint(s.rect, None);
        Some(s.rect)
    }

    fn check(&self, component: u16, rect: Rect, direction: Direction) -> Result<(), VramViolation<'static>> {
        let name = self.components.get(usize::from(component)).copied();
        let refuse = |kind| Err(VramViolation { component: name.unwrap_or("?"), direction, rect, kind });
        let Some(name) = name else {
            return refuse(VramViolationKind::UnknownComponent);
        };
        if rect.is_empty() {
            return refuse(VramViolationKind::Empty);
        }
        let (serials, uncovered) = self.under(rect);
        let inside = match (&serials[..], uncovered) {
            ([one], false) => self.shares.iter().find(|s| s.serial == *one),
            _ => None,
        };
        let Some(s) = inside else {
            let overlaps = self.shares.iter().find(|s| serials.contains(&s.serial)).map(|s| (s.name, s.rect));
            return refuse(VramViolationKind::Outside { overlaps });
        };
        match s.rights.iter().find(|(c, _)| *c == name) {
            Some((_, p)) if p.contains(direction.permission()) => Ok(()),
            Some((_, p)) => {
                refuse(VramViolationKind::WrongPermission { share: s.name, rect: s.rect, allowed: *p })
            }
            None => refuse(VramViolationKind::NotSharer { share: s.name, rect: s.rect }),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn checks_agree_with_a_pixel_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut table: VramShares<'static, N> = VramShares::new();
        let mut model = Model::new();
        for op in ops {
            match op {
                Op::Share { name, rect, owner, sharers } => {
                    let name = NAMES[name];
                    let sharer = |(c, p): (usize, Permissions)| Sharer { component: COMPONENTS[c], permissions: p };
                    let list: Vec<Sharer<'static>> = sharers.iter().copied().map(sharer).collect();
                    let entries: Vec<_> = core::iter::once(owner)
                        .chain(sharers.iter().copied())
                        .map(|(c, p)| (COMPONENTS[c], p))
                        .collect();
                    let got = table.share(name, rect, sharer(owner), &list).map(|_| ());
                    prop_assert_eq!(got, model.share(name, rect, &entries), "share {} {:?}", name, rect);
                }
                Op::Unshare(name) => {
                    let got = table.unshare(NAMES[name]).map(|s| s.rect);
                    prop_assert_eq!(got, model.unshare(NAMES[name]));
                }
                Op::Check { component, rect, direction } => {
                    let got = table.check_transfer(ComponentId(component), rect, direction);
                    prop_assert_eq!(got, model.check(component, rect, direction));
                }
            }
            prop_assert_eq!(table.components(), &model.components[..]);
            let names: Vec<_> = table.shares().iter().map(|s| (s.name, s.rect)).collect();
            let expected: Vec<_> = model.shares.iter().map(|s| (s.name, s.rect)).collect();
            prop_assert_eq!(names, expected);
        }
    }
}

/// Every pixel of a shared rectangle answers like the rectangle, and every pixel around it is
/// outside: the edges are exact.
#[test]
fn every_pixel_at_the_edges_is_decided_exactly() {
    let mut table: VramShares<'static, N> = VramShares::new();
    let rect = Rect::new(1000, 490, 24, 22);
    let writer = Sharer { component: "renderer", permissions: Permissions::WRITE };
    table.share("corner", rect, writer, &[]).unwrap();
    let r = table.component("renderer").unwrap();
    for y in 480..512u16 {
        for x in 990..1024u16 {
            let px = Rect::new(x, y, 1, 1);
            let got = table.check_transfer(r, px, Direction::ToVram);
            assert_decided(rect.contains(px), got);
        }
    }
    // Off the surface: the GPU would wrap, the check refuses.
    let e = table.check_transfer(r, Rect::new(1000, 490, 25, 1), Direction::ToVram).unwrap_err();
    assert_eq!(e.kind, VramViolationKind::Outside { overlaps: Some(("corner", rect)) });
}

fn assert_decided(inside: bool, got: Result<(), VramViolation<'_>>) {
    if inside {
        assert_eq!(got, Ok(()));
    } else {
        assert!(matches!(got.unwrap_err().kind, VramViolationKind::Outside { .. }));
    }
}

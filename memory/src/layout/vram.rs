//! Shared VRAM rectangles: parts of the PlayStation's VRAM that components share through DMA
//! transfers, and the check a transfer passes before it starts.
//!
//! VRAM is not on the CPU's bus: a component reaches it only by asking the GPU to copy a
//! rectangle between main RAM and VRAM (GP0 0xA0 and 0xC0, fed by DMA). No store instruction
//! can stray into it, so the bounds checker's job moves to the one place every access goes
//! through: the transfer. A [`VramShares`] table names the rectangles that components share,
//! each with an access list (an owner and sharers with their [`Permissions`], as a layout's
//! segments have), and [`VramShares::check_transfer`] answers, before the hardware is touched,
//! whether a component may make a transfer:
//!
//! - the transfer's rectangle must lie wholly inside one shared rectangle
//!   ([`Outside`](VramViolationKind::Outside) otherwise, also for a rectangle that straddles a
//!   shared one's edge or runs off the 1024x512 surface, which the GPU would wrap around);
//! - the component must be on that rectangle's access list
//!   ([`NotSharer`](VramViolationKind::NotSharer));
//! - with the right the direction needs: [`Direction::ToVram`] writes VRAM, so it needs
//!   [`Permissions::WRITE`]; [`Direction::FromVram`] needs [`Permissions::READ`]
//!   ([`WrongPermission`](VramViolationKind::WrongPermission)).
//!
//! Shared rectangles never overlap, so the answer is never ambiguous. They come from the VRAM
//! allocator ([`VramShares::share_allocated`], which asks a [`Vram`] for the place) or are
//! given ([`VramShares::share`]: a frame buffer at a fixed place, a rectangle the caller placed).
//!
//! ```
//! use flight_memory::Permissions;
//! use flight_memory::alloc::{Placement, Rect, Vram};
//! use flight_memory::layout::Sharer;
//! use flight_memory::layout::vram::{Direction, VramShares, VramViolationKind};
//!
//! let mut vram: Vram<16> = Vram::new();
//! vram.reserve(Rect::new(0, 0, 320, 512)).unwrap(); // the display buffers
//! let mut shares: VramShares<'_, 8> = VramShares::new();
//! let renderer = Sharer { component: "renderer", permissions: Permissions::WRITE };
//! let physics = Sharer { component: "physics", permissions: Permissions::READ };
//! let rect = shares
//!     .share_allocated(&mut vram, "sprites", 64, 32, Placement::Texture { within_page: true }, renderer, &[physics])
//!     .unwrap();
//! assert_eq!(rect, Rect::new(320, 0, 64, 32));
//! let (r, p) = (shares.component("renderer").unwrap(), shares.component("physics").unwrap());
//! assert_eq!(shares.check_transfer(r, rect, Direction::ToVram), Ok(()));
//! assert_eq!(shares.check_transfer(p, Rect::new(330, 4, 8, 8), Direction::FromVram), Ok(()));
//! let e = shares.check_transfer(p, rect, Direction::ToVram).unwrap_err();
//! assert!(matches!(e.kind, VramViolationKind::WrongPermission { share: "sprites", .. }));
//! assert_eq!(
//!     e.to_string(),
//!     "`physics`: write to VRAM (x 320, y 0, w 64, h 32): inside shared `sprites` \
//!      (x 320, y 0, w 64, h 32), where its rights are `r--`"
//! );
//! ```
//!
//! Everything lives in the fixed-capacity table, `N` shared rectangles and `N` components: no
//! heap, so the same check runs on the console before each transfer and on the host. A check
//! is O(N).

use core::fmt;

use super::{AccessList, ComponentId, MAX_SHARERS, Sharer};
use crate::alloc::{AllocError, Placement, Rect, Vram};
use crate::map::Permissions;

/// Which way a transfer copies pixels.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Direction {
    /// From main RAM into VRAM (GP0 0xA0): writes VRAM.
    ToVram,
    /// From VRAM into main RAM (GP0 0xC0): reads VRAM.
    FromVram,
}

impl Direction {
    /// The right the transfer needs on the VRAM it touches.
    pub const fn permission(self) -> Permissions {
        match self {
            Self::ToVram => Permissions::WRITE,
            Self::FromVram => Permissions::READ,
        }
    }

    /// `write to` or `read from`, as the messages put it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ToVram => "write to",
            Self::FromVram => "read from",
        }
    }
}

/// A rectangle as the messages print it: `(x 320, y 0, w 64, h 32)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RectText(pub Rect);

impl fmt::Display for RectText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Rect { x, y, w, h } = self.0;
        write!(f, "(x {x}, y {y}, w {w}, h {h})")
    }
}

/// One shared rectangle of VRAM.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct VramShare<'a> {
    /// Its name: unique in its table.
    pub name: &'a str,
    /// Where it is.
    pub rect: Rect,
    /// Who may transfer to or from it, and how (component ids of its table).
    pub access: AccessList,
}

/// What is wrong with a transfer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum VramViolationKind<'a> {
    /// The component id is not one of the table's.
    UnknownComponent,
    /// The rectangle has no pixel (the GPU would read a width or height of 0 as the largest).
    Empty,
    /// The rectangle does not lie wholly inside one shared rectangle: it is in none, straddles
    /// a shared one's edge, or runs off the 1024x512 surface.
    Outside {
        /// The first shared rectangle (in table order) it overlaps, if any.
        overlaps: Option<(&'a str, Rect)>,
    },
    /// Inside a shared rectangle whose access list does not name the component.
    NotSharer {
        /// The shared rectangle's name.
        share: &'a str,
        /// Where it is.
        rect: Rect,
    },
    /// Inside a shared rectangle the component may use, but not in this direction.
    WrongPermission {
        /// The shared rectangle's name.
        share: &'a str,
        /// Where it is.
        rect: Rect,
        /// What the component may do there.
        allowed: Permissions,
    },
}

/// A transfer the table does not allow.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct VramViolation<'a> {
    /// The component that asked for it (`"?"` for an id the table does not know).
    pub component: &'a str,
    /// Which way.
    pub direction: Direction,
    /// The transfer's rectangle.
    pub rect: Rect,
    /// What is wrong.
    pub kind: VramViolationKind<'a>,
}

impl fmt::Display for VramViolation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {} VRAM {}: ", self.component, self.direction.name(), RectText(self.rect))?;
        match self.kind {
            VramViolationKind::UnknownComponent => f.write_str("the component is not in the table"),
            VramViolationKind::Empty => f.write_str("the rectangle has no pixel"),
            VramViolationKind::Outside { overlaps: None } => f.write_str("outside every shared rectangle"),
            VramViolationKind::Outside { overlaps: Some((share, rect)) } => {
                write!(f, "not wholly inside one shared rectangle (it overlaps `{share}` {})", RectText(rect))
            }
            VramViolationKind::NotSharer { share, rect } => {
                write!(f, "inside shared `{share}` {}, not a sharer", RectText(rect))
            }
            VramViolationKind::WrongPermission { share, rect, allowed } => {
                write!(f, "inside shared `{share}` {}, where its rights are `{allowed}`", RectText(rect))
            }
        }
    }
}

impl core::error::Error for VramViolation<'_> {}

/// Why a rectangle could not be shared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum VramShareError<'a> {
    /// Another shared rectangle has that name.
    DuplicateName(&'a str),
    /// The rectangle has no pixel.
    Empty(&'a str),
    /// The rectangle runs off the 1024x512 surface.
    OffSurface {
        /// The shared rectangle's name.
        share: &'a str,
        /// Where it was asked for.
        rect: Rect,
    },
    /// The rectangle overlaps another shared one.
    Overlaps {
        /// The shared rectangle's name.
        share: &'a str,
        /// The first one (in table order) it overlaps.
        with: &'a str,
    },
    /// A table is full.
    Full {
        /// Which: `"shares"`, `"components"` or `"access list"`.
        table: &'static str,
        /// Its capacity.
        capacity: usize,
    },
    /// The VRAM allocator found no place for it.
    NoRoom {
        /// The shared rectangle's name.
        share: &'a str,
        /// The allocator's answer.
        error: AllocError,
    },
}

impl fmt::Display for VramShareError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::DuplicateName(s) => write!(f, "two shared VRAM rectangles are called `{s}`"),
            Self::Empty(s) => write!(f, "shared VRAM rectangle `{s}` has no pixel"),
            Self::OffSurface { share, rect } => {
                write!(f, "shared VRAM rectangle `{share}` {} leaves the 1024x512 surface", RectText(rect))
            }
            Self::Overlaps { share, with } => {
                write!(f, "shared VRAM rectangle `{share}` overlaps `{with}`")
            }
            Self::Full { table, capacity } => write!(
                f,
                "the VRAM share table's {table} table is full ({capacity} entries): give it a larger capacity"
            ),
            Self::NoRoom { share, error } => write!(f, "no place in VRAM for `{share}`: {error}"),
        }
    }
}

impl core::error::Error for VramShareError<'_> {}

/// The shared rectangles of VRAM and their access lists, in fixed-capacity tables of `N`
/// shared rectangles and `N` components (`const fn new`, so it can be a `static`).
#[derive(Clone, Debug)]
pub struct VramShares<'a, const N: usize> {
    components: heapless::Vec<&'a str, N>,
    /// In the order they were shared.
    shares: heapless::Vec<VramShare<'a>, N>,
}

impl<const N: usize> Default for VramShares<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const N: usize> VramShares<'a, N> {
    /// No shared rectangle, no component.
    pub const fn new() -> Self {
        Self { components: heapless::Vec::new(), shares: heapless::Vec::new() }
    }

    /// The shared rectangles, in the order they were shared.
    pub fn shares(&self) -> &[VramShare<'a>] {
        &self.shares
    }

    /// The shared rectangle called `name`.
    pub fn share_named(&self, name: &str) -> Option<&VramShare<'a>> {
        self.shares.iter().find(|s| s.name == name)
    }

    /// The components, indexed by [`ComponentId`].
    pub fn components(&self) -> &[&'a str] {
        &self.components
    }

    /// The component called `name`.
    pub fn component(&self, name: &str) -> Option<ComponentId> {
        // The table holds at most N entries, checked against u16 in `add_component`.
        self.components.iter().position(|c| *c == name).map(|i| ComponentId(i as u16))
    }

    /// The name of `component` (`"?"` for an id of another table).
    pub fn component_name(&self, component: ComponentId) -> &'a str {
        self.components.get(usize::from(component.0)).copied().unwrap_or("?")
    }

    /// The component called `name`, added if it is new (a component with no shared rectangle
    /// gets an id too, and every transfer of its is refused).
    pub fn add_component(&mut self, name: &'a str) -> Result<ComponentId, VramShareError<'a>> {
        if let Some(id) = self.component(name) {
            return Ok(id);
        }
        let full = VramShareError::Full { table: "components", capacity: N };
        let id = u16::try_from(self.components.len()).map_err(|_| full)?;
        self.components.push(name).map_err(|_| full)?;
        Ok(ComponentId(id))
    }

    /// Shares `rect`, placed by the caller, under `name`: `owner` and `sharers` may transfer
    /// to and from it as their permissions say (a component named twice gets both sets of
    /// rights). Refused if the name is taken, the rectangle is empty, leaves the surface or
    /// overlaps another shared one, or a table is full; a refusal leaves the shared rectangles
    /// as they were (the components it named may stay in the component table). Returns the
    /// index of the new entry in [`shares`](Self::shares).
    pub fn share(
        &mut self,
        name: &'a str,
        rect: Rect,
        owner: Sharer<'a>,
        sharers: &[Sharer<'a>],
    ) -> Result<usize, VramShareError<'a>> {
        if self.share_named(name).is_some() {
            return Err(VramShareError::DuplicateName(name));
        }
        if rect.is_empty() {
            return Err(VramShareError::Empty(name));
        }
        if !rect.in_vram() {
            return Err(VramShareError::OffSurface { share: name, rect });
        }
        if let Some(other) = self.shares.iter().find(|s| s.rect.overlaps(rect)) {
            return Err(VramShareError::Overlaps { share: name, with: other.name });
        }
        if self.shares.is_full() {
            return Err(VramShareError::Full { table: "shares", capacity: N });
        }
        let mut access = AccessList::EMPTY;
        access.owned = true;
        for s in core::iter::once(&owner).chain(sharers) {
            let id = self.add_component(s.component)?;
            if !access.push(id, s.permissions) {
                return Err(VramShareError::Full { table: "access list", capacity: MAX_SHARERS });
            }
        }
        // Not full: checked above.
        let _ = self.shares.push(VramShare { name, rect, access });
        Ok(self.shares.len() - 1)
    }

    /// Asks `vram` for a `w` x `h` rectangle where `placement` allows, and shares it as
    /// [`share`](Self::share) does. On any refusal the rectangle goes back to `vram`. Returns
    /// the rectangle; [`unshare`](Self::unshare) and [`Vram::free`] give it back.
    #[allow(clippy::too_many_arguments)] // the allocation's three and the share's four
    pub fn share_allocated<const M: usize>(
        &mut self,
        vram: &mut Vram<M>,
        name: &'a str,
        w: u16,
        h: u16,
        placement: Placement,
        owner: Sharer<'a>,
        sharers: &[Sharer<'a>],
    ) -> Result<Rect, VramShareError<'a>> {
        if self.share_named(name).is_some() {
            return Err(VramShareError::DuplicateName(name));
        }
        let rect =
            vram.allocate(w, h, placement).map_err(|error| VramShareError::NoRoom { share: name, error })?;
        match self.share(name, rect, owner, sharers) {
            Ok(_) => Ok(rect),
            Err(e) => {
                // Live: allocated just now.
                let _ = vram.free(rect);
                Err(e)
            }
        }
    }

    /// Stops sharing the rectangle called `name`, returning it (its place stays wherever it
    /// came from: give an allocated one back to its [`Vram`]).
    pub fn unshare(&mut self, name: &str) -> Option<VramShare<'a>> {
        let at = self.shares.iter().position(|s| s.name == name)?;
        Some(self.shares.remove(at))
    }

    /// Whether `component` may make a transfer of `rect` in `direction`: `rect` must lie wholly
    /// inside one shared rectangle whose access list gives the component the right the
    /// direction needs. Nothing but the table is read: call it before the transfer starts.
    pub fn check_transfer(
        &self,
        component: ComponentId,
        rect: Rect,
        direction: Direction,
    ) -> Result<(), VramViolation<'a>> {
        let refuse =
            |kind| Err(VramViolation { component: self.component_name(component), direction, rect, kind });
        if usize::from(component.0) >= self.components.len() {
            return refuse(VramViolationKind::UnknownComponent);
        }
        if rect.is_empty() {
            return refuse(VramViolationKind::Empty);
        }
        // Shared rectangles lie inside the surface, so one that contains `rect` keeps the
        // transfer from wrapping around an edge.
        let Some(s) = self.shares.iter().find(|s| s.rect.contains(rect)) else {
            let overlaps = self.shares.iter().find(|s| s.rect.overlaps(rect)).map(|s| (s.name, s.rect));
            return refuse(VramViolationKind::Outside { overlaps });
        };
        let rights = s.access.rights_of(component);
        if rights.contains(direction.permission()) {
            return Ok(());
        }
        let listed = s.access.entries().iter().any(|(c, _)| *c == component);
        if listed {
            refuse(VramViolationKind::WrongPermission { share: s.name, rect: s.rect, allowed: rights })
        } else {
            refuse(VramViolationKind::NotSharer { share: s.name, rect: s.rect })
        }
    }

    /// [`check_transfer`](Self::check_transfer) for the component called `component`.
    pub fn check_transfer_by_name(
        &self,
        component: &'a str,
        rect: Rect,
        direction: Direction,
    ) -> Result<(), VramViolation<'a>> {
        match self.component(component) {
            Some(id) => self.check_transfer(id, rect, direction),
            None => {
                Err(VramViolation { component, direction, rect, kind: VramViolationKind::UnknownComponent })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    const RENDERER: Sharer<'static> = Sharer { component: "renderer", permissions: Permissions::WRITE };
    const PHYSICS: Sharer<'static> = Sharer { component: "physics", permissions: Permissions::READ };

    fn table() -> (VramShares<'static, 4>, Rect) {
        let mut t = VramShares::new();
        let rect = Rect::new(320, 0, 64, 32);
        assert_eq!(t.share("sprites", rect, RENDERER, &[PHYSICS]), Ok(0));
        (t, rect)
    }

    #[test]
    fn answers_name_component_and_rectangle() {
        let (mut t, rect) = table();
        let audio = t.add_component("audio").unwrap();
        let (r, p) = (t.component("renderer").unwrap(), t.component("physics").unwrap());
        assert_eq!(t.check_transfer(r, rect, Direction::ToVram), Ok(()));
        assert_eq!(t.check_transfer(p, Rect::new(383, 31, 1, 1), Direction::FromVram), Ok(()));
        let e = t.check_transfer(r, rect, Direction::FromVram).unwrap_err();
        assert_eq!(
            e.kind,
            VramViolationKind::WrongPermission { share: "sprites", rect, allowed: Permissions::WRITE }
        );
        let e = t.check_transfer(audio, rect, Direction::ToVram).unwrap_err();
        assert_eq!(e.kind, VramViolationKind::NotSharer { share: "sprites", rect });
        assert_eq!(
            e.to_string(),
            "`audio`: write to VRAM (x 320, y 0, w 64, h 32): inside shared `sprites` \
             (x 320, y 0, w 64, h 32), not a sharer"
        );
        let e = t.check_transfer(r, Rect::new(319, 0, 2, 2), Direction::ToVram).unwrap_err();
        assert_eq!(e.kind, VramViolationKind::Outside { overlaps: Some(("sprites", rect)) });
        assert_eq!(
            e.to_string(),
            "`renderer`: write to VRAM (x 319, y 0, w 2, h 2): not wholly inside one shared \
             rectangle (it overlaps `sprites` (x 320, y 0, w 64, h 32))"
        );
        let e = t.check_transfer(r, Rect::new(0, 0, 16, 16), Direction::ToVram).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`renderer`: write to VRAM (x 0, y 0, w 16, h 16): outside every shared rectangle"
        );
        assert_eq!(
            t.check_transfer(r, Rect::new(330, 3, 0, 5), Direction::ToVram).unwrap_err().kind,
            VramViolationKind::Empty
        );
        let e = t.check_transfer(ComponentId(9), rect, Direction::ToVram).unwrap_err();
        assert_eq!((e.component, e.kind), ("?", VramViolationKind::UnknownComponent));
        assert_eq!(
            t.check_transfer_by_name("logic", rect, Direction::FromVram).unwrap_err().kind,
            VramViolationKind::UnknownComponent
        );
        assert_eq!(t.check_transfer_by_name("physics", rect, Direction::FromVram), Ok(()));
    }

    #[test]
    fn shares_are_disjoint_named_once_and_inside_the_surface() {
        let (mut t, rect) = table();
        assert_eq!(
            t.share("sprites", Rect::new(0, 0, 1, 1), RENDERER, &[]),
            Err(VramShareError::DuplicateName("sprites"))
        );
        assert_eq!(t.share("a", Rect::new(0, 0, 0, 1), RENDERER, &[]), Err(VramShareError::Empty("a")));
        let off = Rect::new(1000, 500, 32, 8);
        assert_eq!(
            t.share("a", off, RENDERER, &[]),
            Err(VramShareError::OffSurface { share: "a", rect: off })
        );
        assert_eq!(
            t.share("a", Rect::new(383, 31, 4, 4), RENDERER, &[]),
            Err(VramShareError::Overlaps { share: "a", with: "sprites" })
        );
        assert_eq!(t.share("a", Rect::new(384, 0, 4, 4), RENDERER, &[]), Ok(1));
        assert_eq!(t.share("b", Rect::new(388, 0, 4, 4), RENDERER, &[]), Ok(2));
        assert_eq!(t.share("c", Rect::new(392, 0, 4, 4), RENDERER, &[]), Ok(3));
        assert_eq!(
            t.share("d", Rect::new(396, 0, 4, 4), RENDERER, &[]),
            Err(VramShareError::Full { table: "shares", capacity: 4 })
        );
        assert_eq!(t.unshare("sprites").map(|s| s.rect), Some(rect));
        assert_eq!(t.shares().iter().map(|s| s.name).collect::<std::vec::Vec<_>>(), ["a", "b", "c"]);
        let p = t.component("physics").unwrap();
        assert_eq!(
            t.check_transfer(p, rect, Direction::FromVram).unwrap_err().kind,
            VramViolationKind::Outside { overlaps: None }
        );
    }

    #[test]
    fn a_component_named_twice_gets_both_rights() {
        let mut t: VramShares<'_, 2> = VramShares::new();
        let rect = Rect::new(0, 256, 16, 1);
        t.share("clut", rect, RENDERER, &[Sharer { component: "renderer", permissions: Permissions::READ }])
            .unwrap();
        let r = t.component("renderer").unwrap();
        assert_eq!(t.share_named("clut").unwrap().access.rights_of(r), Permissions::RW);
        assert_eq!(t.check_transfer(r, rect, Direction::FromVram), Ok(()));
        // A sharer listed with no right is on the list: a permission answer.
        t.share(
            "none",
            Rect::new(16, 256, 16, 1),
            RENDERER,
            &[Sharer { component: "x", permissions: Permissions::NONE }],
        )
        .unwrap();
        let x = t.component("x").unwrap();
        assert!(matches!(
            t.check_transfer(x, Rect::new(16, 256, 1, 1), Direction::FromVram).unwrap_err().kind,
            VramViolationKind::WrongPermission { allowed: Permissions::NONE, .. }
        ));
        assert_eq!(t.add_component("y"), Err(VramShareError::Full { table: "components", capacity: 2 }));
    }

    #[test]
    fn allocated_shares_go_back_to_the_allocator_when_refused() {
        let mut vram: Vram<8> = Vram::new();
        vram.reserve(Rect::new(0, 0, 320, 512)).unwrap();
        let (mut t, _) = table();
        let placement = Placement::Texture { within_page: true };
        // The allocator places it over `sprites`, which it does not know about: refused, and
        // the rectangle is free again.
        let e = t.share_allocated(&mut vram, "tex", 32, 32, placement, RENDERER, &[]).unwrap_err();
        assert_eq!(e, VramShareError::Overlaps { share: "tex", with: "sprites" });
        assert_eq!(vram.rects().count(), 1);
        vram.reserve(Rect::new(320, 0, 64, 32)).unwrap();
        let rect = t.share_allocated(&mut vram, "tex", 32, 32, placement, RENDERER, &[PHYSICS]).unwrap();
        assert_eq!(rect, Rect::new(320, 32, 32, 32));
        assert!(vram.is_live(rect));
        assert!(matches!(
            t.share_allocated(&mut vram, "big", 2048, 1, Placement::Any, RENDERER, &[]),
            Err(VramShareError::NoRoom { share: "big", .. })
        ));
        assert_eq!(
            t.share_allocated(&mut vram, "tex", 1, 1, Placement::Any, RENDERER, &[]),
            Err(VramShareError::DuplicateName("tex"))
        );
        assert_eq!(vram.rects().count(), 3, "nothing allocated for refused requests");
    }

    #[test]
    fn a_full_access_list_is_refused() {
        let mut t: VramShares<'_, 16> = VramShares::new();
        const NAMES: [&str; MAX_SHARERS] = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let sharers = NAMES.map(|component| Sharer { component, permissions: Permissions::READ });
        assert_eq!(
            t.share("s", Rect::new(0, 0, 8, 8), RENDERER, &sharers),
            Err(VramShareError::Full { table: "access list", capacity: MAX_SHARERS })
        );
        assert!(t.shares().is_empty());
        assert_eq!(t.share("s", Rect::new(0, 0, 8, 8), RENDERER, &sharers[..MAX_SHARERS - 1]), Ok(0));
    }
}

//! The VRAM allocator: rectangles of the PlayStation's 1024x512 surface of 16-bit pixels.
//!
//! The GPU's 1 MiB of VRAM (the `vram` region of the PlayStation's memory map, in the GPU's own
//! space) is not a linear heap but a surface addressed by `(x, y)`: frame buffers, textures and
//! palettes (CLUTs) are rectangles of it. [`Vram`] hands out [`Rect`]s and keeps all of its
//! metadata in CPU RAM: a table of the `N` live rectangles inside the value, so a `Vram` can be
//! a `static`.
//!
//! ```text
//!   x=0        320   384   448   512                                   1024
//!  y=0 +---------+-----+-----+-----+------------------------------------+
//!      | display |tex A|tex C|     |                                    |
//!      | buffer 0|     +-----+     |   texture pages: columns 64 pixels |
//!      | 320x240 +-----+     |     |   wide, rows 0..256 and 256..512   |
//!      |         |tex B|     |     |                                    |
//!  256 +---------+-----+-----+-----+- - - - - - - - - - - - - - - - - - +
//!      | display |CLUT |CLUT |     |   CLUTs: 16 or 256 wide, 1 high,   |
//!      | buffer 1|     |     |     |   x a multiple of 16               |
//!  512 +---------+-----+-----+-----+------------------------------------+
//! ```
//!
//! **Algorithm.** The table holds only the live rectangles; free space is their complement, so
//! a freed rectangle is reusable at once, in any combination with its free neighbours, and
//! freeing everything gives back the whole surface as one rectangle (there is no free list to
//! fragment or merge). A request goes to the leftmost, then topmost, free position. The x
//! candidates are 0, the right edge of every live rectangle (rounded up to the placement's x
//! alignment) and, for textures kept inside a page, every page column; for each, the lowest free
//! y is found by jumping past the rectangles in the way. The leftmost free position cannot slide
//! further left, so it lies on one of these columns: the placement is exact, and a request fails
//! only when it fits nowhere. Placing leftmost fills a 64-pixel page column top to bottom before
//! the next, which keeps textures in few pages.
//!
//! | operation | cost |
//! |---|---|
//! | [`allocate`](Vram::allocate) | O(N²) typical, O(N³) worst (N + 16 columns, each O(N) per jump) |
//! | [`free`](Vram::free), [`reserve`](Vram::reserve) | O(N) |
//! | [`largest_free_rect`](Vram::largest_free_rect) | O(N³), for diagnostics and exhaustion errors |
//!
//! **Placements** ([`Placement`]) say what the rectangle is for and what the hardware needs:
//!
//! - [`Placement::Clut`]: one row high, `x` a multiple of 16 (the GPU's CLUT attribute stores
//!   `x / 16` and `y`; see [`Rect::clut_id`]).
//! - [`Placement::Texture`]: with `within_page`, inside one 64-pixel texture-page column and one
//!   half (rows 0..256 or 256..512), so one texture page ([`Rect::texpage`]) reaches every texel.
//! - [`Placement::FrameBuffer`]: `x` a multiple of 16 and the width rounded up to one: the GPU's
//!   fill command (GP0 0x02) works in 16-pixel columns, so such a buffer can be cleared without
//!   touching its neighbours.
//!
//! [`Vram::reserve`] marks a fixed rectangle (display buffers at `(0, 0)`, a BIOS font) as used;
//! [`Vram::free`] takes back exactly a live rectangle and refuses anything else in every build.
//! [`Stats`] count bytes, 2 per pixel, out of a capacity of 1 MiB.
//!
//! ```
//! use flight_memory::alloc::{Placement, Rect, TexelDepth, Vram};
//!
//! let mut vram: Vram<64> = Vram::new();
//! vram.reserve(Rect::new(0, 0, 320, 512)).unwrap(); // two 320x240 display buffers
//! // A 256x256 4-bit texture is 64 VRAM pixels wide: one whole texture page.
//! let width = TexelDepth::Bits4.vram_width(256);
//! let tex = vram.allocate(width, 256, Placement::Texture { within_page: true }).unwrap();
//! assert_eq!(tex, Rect::new(320, 0, 64, 256));
//! let clut = vram.allocate(16, 1, Placement::Clut).unwrap();
//! assert_eq!((clut.x % 16, clut.h), (0, 1));
//! vram.free(tex).unwrap();
//! assert!(vram.free(tex).is_err(), "the table knows it is free already");
//! ```

use core::alloc::Layout;

use super::device::TABLE_FULL;
use super::{AllocError, FreeError, Stats};

/// The width of VRAM in pixels.
pub const VRAM_WIDTH: u16 = 1024;
/// The height of VRAM in pixels. `VRAM_WIDTH * VRAM_HEIGHT * 2` bytes is the 1 MiB `vram`
/// region of the PlayStation's memory map.
pub const VRAM_HEIGHT: u16 = 512;
/// Bytes per VRAM pixel.
pub const VRAM_PIXEL_BYTES: usize = 2;
/// The width of a texture-page column, in VRAM pixels (256 4-bit texels).
pub const TEXTURE_PAGE_WIDTH: u16 = 64;
/// The height of a texture page, in rows.
pub const TEXTURE_PAGE_HEIGHT: u16 = 256;
/// The x alignment of CLUTs and frame buffers, in pixels.
pub const VRAM_COLUMN: u16 = 16;

/// The number of pixels in VRAM.
const PIXELS: u32 = VRAM_WIDTH as u32 * VRAM_HEIGHT as u32;

/// A rectangle of VRAM, in pixels: `[x, x + w) x [y, y + h)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Rect {
    /// Left column.
    pub x: u16,
    /// Top row.
    pub y: u16,
    /// Width in pixels.
    pub w: u16,
    /// Height in rows.
    pub h: u16,
}

impl Rect {
    /// The rectangle of `w` x `h` pixels at `(x, y)`.
    pub const fn new(x: u16, y: u16, w: u16, h: u16) -> Self {
        Self { x, y, w, h }
    }

    /// One past the right column.
    pub const fn right(self) -> u32 {
        self.x as u32 + self.w as u32
    }

    /// One past the bottom row.
    pub const fn bottom(self) -> u32 {
        self.y as u32 + self.h as u32
    }

    /// The number of pixels.
    pub const fn area(self) -> u32 {
        self.w as u32 * self.h as u32
    }

    /// The number of bytes (2 per pixel).
    pub const fn bytes(self) -> usize {
        self.area() as usize * VRAM_PIXEL_BYTES
    }

    /// Whether it has no pixel.
    pub const fn is_empty(self) -> bool {
        self.w == 0 || self.h == 0
    }

    /// Whether the two share at least one pixel.
    pub const fn overlaps(self, other: Rect) -> bool {
        (self.x as u32) < other.right()
            && (other.x as u32) < self.right()
            && (self.y as u32) < other.bottom()
            && (other.y as u32) < self.bottom()
    }

    /// Whether `other` lies wholly inside.
    pub const fn contains(self, other: Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// Whether it lies inside the 1024x512 surface.
    pub const fn in_vram(self) -> bool {
        self.right() <= VRAM_WIDTH as u32 && self.bottom() <= VRAM_HEIGHT as u32
    }

    /// Whether it lies inside one 64-pixel texture-page column and one half of VRAM (rows
    /// 0..256 or 256..512). Empty rectangles are in no page.
    pub const fn within_texture_page(self) -> bool {
        let (pw, ph) = (TEXTURE_PAGE_WIDTH as u32, TEXTURE_PAGE_HEIGHT as u32);
        !self.is_empty()
            && self.x as u32 / pw == (self.right() - 1) / pw
            && self.y as u32 / ph == (self.bottom() - 1) / ph
    }

    /// The texture page holding the top-left pixel, as the GPU's texpage attribute's base bits:
    /// `x / 64` in bits 0-3, `y / 256` in bit 4.
    pub const fn texpage(self) -> u16 {
        ((self.x / TEXTURE_PAGE_WIDTH) & 0xf) | (((self.y / TEXTURE_PAGE_HEIGHT) & 1) << 4)
    }

    /// The GPU's CLUT attribute for a palette here: `x / 16` in bits 0-5, `y` in bits 6-14.
    pub const fn clut_id(self) -> u16 {
        ((self.x / VRAM_COLUMN) & 0x3f) | ((self.y & 0x1ff) << 6)
    }

    /// The byte offset of the top-left pixel in the 1 MiB `vram` region (rows of 2048 bytes).
    pub const fn byte_offset(self) -> u32 {
        (self.y as u32 * VRAM_WIDTH as u32 + self.x as u32) * VRAM_PIXEL_BYTES as u32
    }
}

/// What a rectangle is for, and so where it may go.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Placement {
    /// Anywhere.
    Any,
    /// A palette: one row high, `x` a multiple of 16.
    Clut,
    /// A texture. With `within_page`, at most 64x256 pixels, inside one texture-page column and
    /// one half of VRAM; without, anywhere.
    Texture {
        /// Keep it inside one texture page.
        within_page: bool,
    },
    /// A frame buffer: `x` a multiple of 16, width rounded up to a multiple of 16 (the fill
    /// command's granularity).
    FrameBuffer,
}

impl Placement {
    /// The x alignment, in pixels.
    const fn x_align(self) -> u32 {
        match self {
            Self::Any | Self::Texture { .. } => 1,
            Self::Clut | Self::FrameBuffer => VRAM_COLUMN as u32,
        }
    }

    /// Whether the rectangle must stay inside one texture page.
    const fn within_page(self) -> bool {
        matches!(self, Self::Texture { within_page: true })
    }
}

/// Texel depth of a texture or palette.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TexelDepth {
    /// 4-bit indexed: four texels per VRAM pixel, a 16-entry CLUT.
    Bits4,
    /// 8-bit indexed: two texels per VRAM pixel, a 256-entry CLUT.
    Bits8,
    /// 15-bit direct colour: one texel per VRAM pixel, no CLUT.
    Bits16,
}

impl TexelDepth {
    /// The VRAM width, in pixels, of a row of `texels` texels (rounded up).
    pub const fn vram_width(self, texels: u16) -> u16 {
        match self {
            Self::Bits4 => texels.div_ceil(4),
            Self::Bits8 => texels.div_ceil(2),
            Self::Bits16 => texels,
        }
    }

    /// The width of the CLUT it needs (0 for direct colour).
    pub const fn clut_width(self) -> u16 {
        match self {
            Self::Bits4 => 16,
            Self::Bits8 => 256,
            Self::Bits16 => 0,
        }
    }
}

/// One live rectangle.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Slot {
    rect: Rect,
    /// Pixels the caller asked for (less than the rectangle's for rounded frame buffers).
    requested: u32,
}

/// An allocator of rectangles of PlayStation VRAM with a table of `N` live rectangles inside the
/// value (`const fn new`, so it can be a `static`).
#[derive(Debug)]
pub struct Vram<const N: usize> {
    /// `slots[..len]` are the live rectangles, in no order.
    slots: [Slot; N],
    len: usize,
    stats: Stats,
}

impl<const N: usize> Default for Vram<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The layout of a `w` x `h` request, for errors: its bytes, aligned to a pixel.
fn layout_for(w: u16, h: u16) -> Layout {
    let bytes = (usize::from(w) * usize::from(h)).saturating_mul(VRAM_PIXEL_BYTES);
    Layout::from_size_align(bytes, VRAM_PIXEL_BYTES).unwrap_or(Layout::new::<u16>())
}

impl<const N: usize> Vram<N> {
    /// All of VRAM, free.
    pub const fn new() -> Self {
        Self {
            slots: [Slot { rect: Rect::new(0, 0, 0, 0), requested: 0 }; N],
            len: 0,
            stats: Stats { capacity: PIXELS as usize * VRAM_PIXEL_BYTES, ..Stats::EMPTY },
        }
    }

    /// The live rectangles.
    fn live(&self) -> &[Slot] {
        &self.slots[..self.len]
    }

    /// The live rectangles (allocated and reserved), in no particular order.
    pub fn rects(&self) -> impl Iterator<Item = Rect> + '_ {
        self.live().iter().map(|s| s.rect)
    }

    /// Whether `rect` is live (exactly as [`allocate`](Self::allocate) returned it or
    /// [`reserve`](Self::reserve) took it).
    pub fn is_live(&self, rect: Rect) -> bool {
        self.live().iter().any(|s| s.rect == rect)
    }

    /// A free rectangle of `w` x `h` pixels where `placement` allows (for a frame buffer, the
    /// width rounded up to 16). The rectangle returned is what [`free`](Self::free) takes back.
    ///
    /// Fails with [`AllocError::Unsupported`] for an empty or oversized request, a CLUT more than
    /// one row high, a texture too large for one page when it must stay inside one, or a full
    /// table ([`TABLE_FULL`]); with [`AllocError::Exhausted`] when it fits nowhere. A failure
    /// changes nothing but the counters.
    pub fn allocate(&mut self, w: u16, h: u16, placement: Placement) -> Result<Rect, AllocError> {
        match self.place(w, h, placement) {
            Ok(rect) => {
                self.push(rect, u32::from(w) * u32::from(h));
                Ok(rect)
            }
            Err(e) => {
                self.stats.failures += 1;
                Err(e)
            }
        }
    }

    /// Where a request goes, or why nowhere.
    fn place(&self, w: u16, h: u16, placement: Placement) -> Result<Rect, AllocError> {
        let layout = layout_for(w, h);
        let unsupported = |why| Err(AllocError::Unsupported { layout, why });
        if w == 0 || h == 0 {
            return unsupported("an empty rectangle has no place in VRAM");
        }
        if w > VRAM_WIDTH || h > VRAM_HEIGHT {
            return unsupported("larger than VRAM (1024x512 pixels)");
        }
        let w = match placement {
            Placement::Clut if h != 1 => return unsupported("a CLUT is one row high"),
            Placement::Texture { within_page: true } if w > TEXTURE_PAGE_WIDTH || h > TEXTURE_PAGE_HEIGHT => {
                return unsupported("a texture inside one texture page is at most 64x256 pixels");
            }
            // At most 1024, a multiple of 16 itself.
            Placement::FrameBuffer => w.next_multiple_of(VRAM_COLUMN),
            _ => w,
        };
        if self.len == N {
            return unsupported(TABLE_FULL);
        }
        match self.find(u32::from(w), u32::from(h), placement) {
            // Both fit the surface, so in u16.
            Some((x, y)) => Ok(Rect::new(x as u16, y as u16, w, h)),
            None => {
                Err(AllocError::Exhausted { layout, free: self.stats.free(), largest: self.largest_free() })
            }
        }
    }

    /// The leftmost, then topmost, free position for `w` x `h` under `placement`.
    fn find(&self, w: u32, h: u32, placement: Placement) -> Option<(u32, u32)> {
        let (align, within_page) = (placement.x_align(), placement.within_page());
        let page = u32::from(TEXTURE_PAGE_WIDTH);
        let mut best: Option<(u32, u32)> = None;
        let mut try_column = |x: u32| {
            if x + w > u32::from(VRAM_WIDTH)
                || (within_page && x / page != (x + w - 1) / page)
                || best.is_some_and(|(bx, _)| bx <= x)
            {
                return;
            }
            if let Some(y) = self.lowest_y(x, w, h, within_page) {
                best = Some((x, y));
            }
        };
        try_column(0);
        for s in self.live() {
            try_column(s.rect.right().next_multiple_of(align));
        }
        if within_page {
            for p in 1..u32::from(VRAM_WIDTH / TEXTURE_PAGE_WIDTH) {
                try_column(p * page);
            }
        }
        best
    }

    /// The lowest row at which `w` x `h` fits at column `x`, if any.
    fn lowest_y(&self, x: u32, w: u32, h: u32, within_page: bool) -> Option<u32> {
        let half = u32::from(TEXTURE_PAGE_HEIGHT);
        let mut y = 0;
        loop {
            if within_page && y < half && y + h > half {
                y = half;
            }
            if y + h > u32::from(VRAM_HEIGHT) {
                return None;
            }
            // Every row below `y` up to the lowest bottom edge in the way is blocked by it.
            let blocked_to = self
                .live()
                .iter()
                .map(|s| s.rect)
                .filter(|r| {
                    u32::from(r.x) < x + w && x < r.right() && u32::from(r.y) < y + h && y < r.bottom()
                })
                .map(Rect::bottom)
                .max();
            match blocked_to {
                None => return Some(y),
                Some(bottom) => y = bottom,
            }
        }
    }

    /// Records a new live rectangle (callers checked there is room).
    fn push(&mut self, rect: Rect, requested: u32) {
        self.slots[self.len] = Slot { rect, requested };
        self.len += 1;
        self.stats.on_alloc(rect.bytes(), requested as usize * VRAM_PIXEL_BYTES);
    }

    /// Marks `rect` as used (display buffers, a BIOS font), so nothing is placed over it; it
    /// counts as a live allocation and can be given back with [`free`](Self::free). Fails with
    /// [`AllocError::Unsupported`] if it is empty, leaves the surface, overlaps a live rectangle,
    /// or the table is full.
    pub fn reserve(&mut self, rect: Rect) -> Result<(), AllocError> {
        let unsupported = |why| AllocError::Unsupported { layout: layout_for(rect.w, rect.h), why };
        let refused = if rect.is_empty() {
            Some("an empty rectangle has no place in VRAM")
        } else if !rect.in_vram() {
            Some("the rectangle leaves VRAM (1024x512 pixels)")
        } else if self.live().iter().any(|s| s.rect.overlaps(rect)) {
            Some("the rectangle overlaps one in use")
        } else if self.len == N {
            Some(TABLE_FULL)
        } else {
            None
        };
        match refused {
            Some(why) => {
                self.stats.failures += 1;
                Err(unsupported(why))
            }
            None => {
                self.push(rect, rect.area());
                Ok(())
            }
        }
    }

    /// Gives back a live rectangle. Anything else is refused in every build and changes
    /// nothing: [`FreeError::DoubleFree`] for a rectangle of free VRAM, otherwise
    /// [`FreeError::Foreign`] (the `addr` of either is [`Rect::byte_offset`]).
    pub fn free(&mut self, rect: Rect) -> Result<(), FreeError> {
        let Some(i) = self.live().iter().position(|s| s.rect == rect) else {
            let addr = rect.byte_offset() as usize;
            let free_space =
                !rect.is_empty() && rect.in_vram() && !self.live().iter().any(|s| s.rect.overlaps(rect));
            return Err(if free_space {
                FreeError::DoubleFree { addr }
            } else {
                FreeError::Foreign { addr }
            });
        };
        let slot = self.slots[i];
        self.len -= 1;
        self.slots[i] = self.slots[self.len];
        self.stats.on_free(rect.bytes(), slot.requested as usize * VRAM_PIXEL_BYTES);
        Ok(())
    }

    /// The counters, in bytes (2 per pixel; capacity 1 MiB).
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Free pixels in all.
    pub fn free_pixels(&self) -> u32 {
        PIXELS - self.live().iter().map(|s| s.rect.area()).sum::<u32>()
    }

    /// The largest free rectangle by area (one of them, if several tie), or `None`
    /// when VRAM is full. O(N³): every maximal free rectangle has its top on row 0 or on a live
    /// rectangle's bottom edge and its left on column 0 or a live rectangle's right edge; for
    /// each such corner one sweep over the live rectangles by left edge finds the best width.
    pub fn largest_free_rect(&self) -> Option<Rect> {
        let live = self.live();
        // The live rectangles by left edge (insertion sort: N is small).
        let mut order = [0usize; N];
        for i in 0..live.len() {
            order[i] = i;
            let mut j = i;
            while j > 0 && live[order[j - 1]].rect.x > live[order[j]].rect.x {
                order.swap(j - 1, j);
                j -= 1;
            }
        }
        let order = &order[..live.len()];
        let (width, height) = (u32::from(VRAM_WIDTH), u32::from(VRAM_HEIGHT));
        let mut best: Option<Rect> = None;
        let mut best_area = 0;
        let tops = core::iter::once(0).chain(live.iter().map(|s| s.rect.bottom()));
        for top in tops.filter(|&t| t < height) {
            let lefts = core::iter::once(0).chain(live.iter().map(|s| s.rect.right()));
            for left in lefts.filter(|&l| l < width) {
                if (width - left) * (height - top) <= best_area
                    || live.iter().any(|s| s.rect.overlaps(Rect::new(left as u16, top as u16, 1, 1)))
                {
                    continue;
                }
                let mut consider = |w: u32, h: u32| {
                    if w * h > best_area {
                        best_area = w * h;
                        // Inside the surface, so in u16.
                        best = Some(Rect::new(left as u16, top as u16, w as u16, h as u16));
                    }
                };
                // Sweep right: `h` is the height free over columns `left..` up to the current
                // obstacle's left edge.
                let mut h = height - top;
                let mut open = true;
                for r in order.iter().map(|&i| live[i].rect) {
                    if r.right() <= left || r.bottom() <= top {
                        continue;
                    }
                    let (rx, ry) = (u32::from(r.x), u32::from(r.y));
                    if rx > left {
                        consider(rx - left, h);
                        if ry <= top {
                            // It crosses row `top`: nothing wider starts at this corner.
                            open = false;
                            break;
                        }
                    }
                    // Below the corner (the corner itself is free), so `ry > top`.
                    h = h.min(ry - top);
                }
                if open {
                    consider(width - left, h);
                }
            }
        }
        best
    }

    /// The largest free rectangle, in bytes.
    pub fn largest_free(&self) -> usize {
        self.largest_free_rect().map_or(0, Rect::bytes)
    }

    /// `1 - largest free rectangle / free pixels`: 0 when free VRAM is one rectangle.
    pub fn fragmentation(&self) -> f32 {
        super::fragmentation(self.stats.free(), self.largest_free())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: Placement = Placement::Texture { within_page: true };

    #[test]
    fn can_live_in_a_static() {
        static VRAM: Vram<4> = Vram::new();
        assert_eq!(VRAM.stats().capacity, 1 << 20);
        assert_eq!(VRAM.free_pixels(), 1024 * 512);
        assert_eq!(VRAM.largest_free_rect(), Some(Rect::new(0, 0, 1024, 512)));
    }

    #[test]
    fn reserve_marks_the_display_buffers() {
        let mut v: Vram<8> = Vram::new();
        v.reserve(Rect::new(0, 0, 320, 240)).unwrap();
        v.reserve(Rect::new(0, 256, 320, 240)).unwrap();
        let refused = v.reserve(Rect::new(300, 200, 64, 64));
        assert!(matches!(refused, Err(AllocError::Unsupported { .. })));
        assert!(v.reserve(Rect::new(1000, 0, 25, 1)).is_err(), "leaves VRAM");
        assert!(v.reserve(Rect::new(0, 0, 0, 4)).is_err(), "empty");
        // A 320x16 gap remains under each display buffer.
        let fb = v.allocate(320, 240, Placement::FrameBuffer).unwrap();
        assert_eq!(fb, Rect::new(320, 0, 320, 240));
        let s = v.stats();
        assert_eq!((s.live, s.used, s.failures), (3, 3 * 320 * 240 * 2, 3));
        assert_eq!(v.largest_free_rect(), Some(Rect::new(640, 0, 384, 512)));
    }

    #[test]
    fn textures_stay_inside_a_page() {
        let mut v: Vram<16> = Vram::new();
        v.reserve(Rect::new(0, 0, 330, 100)).unwrap();
        // x = 330 would cross the column boundary at 384 for a 64-wide texture.
        let t = v.allocate(64, 64, PAGE).unwrap();
        assert!(t.within_texture_page(), "{t:?}");
        assert_eq!(t, Rect::new(0, 100, 64, 64));
        // Rows 200..256 are too few for 100 rows: it goes below the half line.
        let mut w = Vram::<4>::new();
        w.reserve(Rect::new(0, 0, 1024, 200)).unwrap();
        let t = w.allocate(64, 100, PAGE).unwrap();
        assert_eq!(t, Rect::new(0, 256, 64, 100));
        // Leftmost first: under the texture rather than beside it.
        let loose = w.allocate(64, 100, Placement::Texture { within_page: false });
        assert_eq!(loose, Ok(Rect::new(0, 356, 64, 100)));
        assert!(matches!(w.allocate(65, 1, PAGE), Err(AllocError::Unsupported { .. })));
        assert_eq!(t.texpage(), 1 << 4);
    }

    #[test]
    fn cluts_and_frame_buffers_start_on_16_pixel_columns() {
        let mut v: Vram<8> = Vram::new();
        v.reserve(Rect::new(0, 0, 1024, 10)).unwrap();
        v.reserve(Rect::new(0, 10, 5, 502)).unwrap();
        let c = v.allocate(16, 1, Placement::Clut).unwrap();
        assert_eq!(c, Rect::new(16, 10, 16, 1));
        assert_eq!(c.clut_id(), 1 | 10 << 6);
        assert!(matches!(v.allocate(16, 2, Placement::Clut), Err(AllocError::Unsupported { .. })));
        let fb = v.allocate(100, 10, Placement::FrameBuffer).unwrap();
        assert_eq!(fb, Rect::new(16, 11, 112, 10), "width rounded up to 16");
        assert_eq!(v.stats().requested, (10 * 1024 + 5 * 502 + 16 + 100 * 10) * 2);
        assert_eq!(v.stats().used, (10 * 1024 + 5 * 502 + 16 + 112 * 10) * 2);
    }

    #[test]
    fn full_table_and_exhaustion_leave_it_intact() {
        let mut v: Vram<2> = Vram::new();
        let a = v.allocate(1024, 256, Placement::Any).unwrap();
        let b = v.allocate(512, 256, Placement::Any).unwrap();
        let err = v.allocate(1, 1, Placement::Any).unwrap_err();
        assert_eq!(
            err,
            AllocError::Unsupported { layout: Layout::from_size_align(2, 2).unwrap(), why: TABLE_FULL }
        );
        v.free(b).unwrap();
        let err = v.allocate(1024, 257, Placement::Any).unwrap_err();
        assert!(matches!(err, AllocError::Exhausted { free, largest, .. }
            if free == 1024 * 256 * 2 && largest == free));
        assert_eq!(v.rects().count(), 1);
        assert!(v.is_live(a));
    }

    #[test]
    fn refuses_foreign_and_double_frees() {
        let mut v: Vram<4> = Vram::new();
        let a = v.allocate(32, 32, Placement::Any).unwrap();
        assert!(matches!(v.free(Rect::new(0, 0, 16, 16)), Err(FreeError::Foreign { .. })));
        assert!(matches!(v.free(Rect::new(1020, 0, 16, 16)), Err(FreeError::Foreign { .. })));
        v.free(a).unwrap();
        assert!(matches!(v.free(a), Err(FreeError::DoubleFree { addr: 0 })));
        assert_eq!((v.stats().live, v.stats().used, v.stats().frees), (0, 0, 1));
    }

    #[test]
    fn freed_rectangles_are_reused_and_everything_comes_back() {
        let mut v: Vram<32> = Vram::new();
        let mut rects = [Rect::default(); 24];
        for (i, r) in rects.iter_mut().enumerate() {
            *r = v.allocate(20 + i as u16, 60, PAGE).unwrap();
        }
        for (i, a) in rects.iter().enumerate() {
            assert!(rects[i + 1..].iter().all(|b| !a.overlaps(*b)));
        }
        let hole = rects[5];
        v.free(hole).unwrap();
        let again = v.allocate(hole.w, hole.h, PAGE).unwrap();
        assert_eq!(again, hole, "the leftmost hole is reused");
        for r in rects {
            v.free(r).unwrap();
        }
        assert_eq!(v.free_pixels(), 1024 * 512);
        assert_eq!(v.largest_free_rect(), Some(Rect::new(0, 0, 1024, 512)));
        assert_eq!(v.fragmentation(), 0.0);
        assert_eq!(v.stats().peak, rects.iter().map(|r| r.bytes()).sum::<usize>());
    }

    #[test]
    fn largest_free_rect_finds_the_best_staircase_step() {
        let mut v: Vram<4> = Vram::new();
        // An L of obstacles: a column on the left half, a bar along the bottom right.
        v.reserve(Rect::new(0, 0, 100, 512)).unwrap();
        v.reserve(Rect::new(600, 400, 424, 112)).unwrap();
        // Candidates: 924x400 = 369 600 or 500x512 = 256 000.
        assert_eq!(v.largest_free_rect(), Some(Rect::new(100, 0, 924, 400)));
        v.reserve(Rect::new(100, 0, 924, 400)).unwrap();
        assert_eq!(v.largest_free_rect(), Some(Rect::new(100, 400, 500, 112)));
        v.reserve(Rect::new(100, 400, 500, 112)).unwrap();
        assert_eq!((v.largest_free_rect(), v.free_pixels()), (None, 0));
    }

    #[test]
    fn texel_depths_convert_to_vram_widths() {
        assert_eq!(TexelDepth::Bits4.vram_width(256), 64);
        assert_eq!(TexelDepth::Bits4.vram_width(13), 4);
        assert_eq!(TexelDepth::Bits8.vram_width(256), 128);
        assert_eq!(TexelDepth::Bits16.vram_width(100), 100);
        assert_eq!(TexelDepth::Bits8.clut_width(), 256);
    }
}

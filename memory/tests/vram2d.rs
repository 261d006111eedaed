//! Property tests of the VRAM allocator: random allocate/reserve/free sequences against a model
//! and against brute force over every pixel.
#![allow(clippy::unwrap_used)]

use flight_memory::alloc::{AllocError, FreeError, Placement, Rect, TABLE_FULL, Vram};
use proptest::prelude::*;

const W: usize = 1024;
const H: usize = 512;

#[derive(Clone, Debug)]
enum Op {
    /// Allocate `w` x `h` with a placement.
    Alloc { w: u16, h: u16, placement: Placement },
    /// Reserve a rectangle (may leave VRAM or overlap).
    Reserve(Rect),
    /// Free the live rectangle at this index (modulo the count).
    Free(usize),
    /// Free a rectangle freed before (modulo their count): must be refused unless live again.
    FreeAgain(usize),
}

fn op() -> impl Strategy<Value = Op> {
    op_up_to(400, 300)
}

/// Operations whose general rectangles are under `max_w` x `max_h` pixels.
fn op_up_to(max_w: u16, max_h: u16) -> impl Strategy<Value = Op> {
    let placement = prop_oneof![
        Just(Placement::Any),
        Just(Placement::FrameBuffer),
        Just(Placement::Texture { within_page: false }),
    ];
    prop_oneof![
        3 => (1u16..max_w, 1u16..max_h, placement)
            .prop_map(|(w, h, placement)| Op::Alloc { w, h, placement }),
        // Textures kept inside a page; a few too large for one.
        2 => (1u16..72, 1u16..270)
            .prop_map(|(w, h)| Op::Alloc { w, h, placement: Placement::Texture { within_page: true } }),
        // CLUTs of 16 or 256 entries, odd widths, and a few refused two-row ones.
        2 => (prop_oneof![Just(16u16), Just(256), 1u16..300], prop_oneof![9 => Just(1u16), 1 => Just(2)])
            .prop_map(|(w, h)| Op::Alloc { w, h, placement: Placement::Clut }),
        1 => (0u16..1024, 0u16..512, 0u16..300, 0u16..200)
            .prop_map(|(x, y, w, h)| Op::Reserve(Rect::new(x, y, w, h))),
        3 => any::<usize>().prop_map(Op::Free),
        1 => any::<usize>().prop_map(Op::FreeAgain),
    ]
}

/// One live rectangle of the model, with the pixels asked for.
#[derive(Clone, Copy, Debug)]
struct Live {
    rect: Rect,
    requested: u32,
}

/// Occupancy of every pixel, as a summed-area table.
struct Grid {
    sum: Vec<u32>,
}

impl Grid {
    fn new(live: &[Live]) -> Self {
        let mut cells = vec![0u8; W * H];
        for l in live {
            let r = l.rect;
            for y in r.y as usize..r.bottom() as usize {
                cells[y * W + r.x as usize..y * W + r.right() as usize].fill(1);
            }
        }
        let mut sum = vec![0u32; (W + 1) * (H + 1)];
        for (y, row_cells) in cells.chunks_exact(W).enumerate() {
            let (above, below) = sum.split_at_mut((y + 1) * (W + 1));
            let above = &above[y * (W + 1) + 1..];
            let mut row = 0;
            for ((out, up), &cell) in below[1..=W].iter_mut().zip(above).zip(row_cells) {
                row += u32::from(cell);
                *out = up + row;
            }
        }
        Self { sum }
    }

    fn at(&self, x: usize, y: usize) -> u32 {
        self.sum[y * (W + 1) + x]
    }

    fn is_free(&self, x: usize, y: usize, w: usize, h: usize) -> bool {
        self.at(x + w, y + h) + self.at(x, y) == self.at(x, y + h) + self.at(x + w, y)
    }

    /// The leftmost, then topmost, position for `w` x `h` with this x alignment, pixel by pixel.
    fn first_fit(&self, w: usize, h: usize, align: usize, within_page: bool) -> Option<(u16, u16)> {
        for x in (0..=W - w).step_by(align) {
            if within_page && x / 64 != (x + w - 1) / 64 {
                continue;
            }
            for y in 0..=H - h {
                if within_page && y / 256 != (y + h - 1) / 256 {
                    continue;
                }
                if self.is_free(x, y, w, h) {
                    return Some((x as u16, y as u16));
                }
            }
        }
        None
    }
}

/// The area of the largest free rectangle, by brute force over the grid of every live
/// rectangle's edges: every maximal free rectangle has its edges on those lines, so trying every
/// pair of x lines with every pair of y lines finds it.
fn largest_free_area(live: &[Live]) -> u32 {
    let lines = |edges: &mut dyn Iterator<Item = u32>, end: u32| {
        let mut v: Vec<u32> = edges.chain([0, end]).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let xs = lines(&mut live.iter().flat_map(|l| [u32::from(l.rect.x), l.rect.right()]), W as u32);
    let ys = lines(&mut live.iter().flat_map(|l| [u32::from(l.rect.y), l.rect.bottom()]), H as u32);
    // Whether each cell of that grid is occupied.
    let cols = xs.len() - 1;
    let mut taken = vec![false; cols * (ys.len() - 1)];
    for (j, y) in ys.windows(2).enumerate() {
        for (i, x) in xs.windows(2).enumerate() {
            let cell = Rect::new(x[0] as u16, y[0] as u16, (x[1] - x[0]) as u16, (y[1] - y[0]) as u16);
            taken[j * cols + i] = live.iter().any(|l| l.rect.overlaps(cell));
        }
    }
    let mut best = 0;
    for x0 in 0..cols {
        for y0 in 0..ys.len() - 1 {
            // Grow downwards; the widest free run at each depth only shrinks.
            let mut x_end = cols;
            for y1 in y0..ys.len() - 1 {
                let run = (x0..x_end).find(|&i| taken[y1 * cols + i]).unwrap_or(x_end);
                x_end = run;
                if x_end == x0 {
                    break;
                }
                best = best.max((xs[x_end] - xs[x0]) * (ys[y1 + 1] - ys[y0]));
            }
        }
    }
    best
}

/// What the request turns into: width reserved, x alignment, whether inside one page, or `None`
/// when the placement refuses the shape.
fn shape(w: u16, h: u16, placement: Placement) -> Option<(u16, usize, bool)> {
    if w == 0 || h == 0 || w > 1024 || h > 512 {
        return None;
    }
    match placement {
        Placement::Any | Placement::Texture { within_page: false } => Some((w, 1, false)),
        Placement::Texture { within_page: true } => (w <= 64 && h <= 256).then_some((w, 1, true)),
        Placement::Clut => (h == 1).then_some((w, 16, false)),
        Placement::FrameBuffer => Some((w.next_multiple_of(16), 16, false)),
    }
}

/// Runs `ops` on a `Vram<N>`, checking every invariant after every step; with `brute`, checks
/// placements and the largest free rectangle against brute force over every pixel.
fn run<const N: usize>(ops: &[Op], brute: bool) {
    let mut vram: Vram<N> = Vram::new();
    let mut live: Vec<Live> = Vec::new();
    let mut freed: Vec<Rect> = Vec::new();
    let (mut peak, mut failures, mut allocations, mut frees) = (0usize, 0u64, 0u64, 0u64);
    for op in ops {
        match *op {
            Op::Alloc { w, h, placement } => {
                // Brute force's view of the live rectangles before the step.
                let grid = brute.then(|| Grid::new(&live));
                let result = vram.allocate(w, h, placement);
                let Some((rw, align, within_page)) = shape(w, h, placement) else {
                    assert!(matches!(result, Err(AllocError::Unsupported { .. })), "{result:?}");
                    failures += 1;
                    continue_check(&vram, &live, peak, (failures, allocations, frees));
                    continue;
                };
                if live.len() == N {
                    assert!(
                        matches!(result, Err(AllocError::Unsupported { why, .. }) if why == TABLE_FULL),
                        "{result:?}"
                    );
                    failures += 1;
                } else {
                    let expected = grid
                        .as_ref()
                        .map(|g| g.first_fit(usize::from(rw), usize::from(h), align, within_page));
                    match result {
                        Ok(rect) => {
                            allocations += 1;
                            assert_eq!((rect.w, rect.h), (rw, h));
                            assert!(rect.in_vram());
                            assert_eq!(usize::from(rect.x) % align, 0);
                            if within_page {
                                assert!(rect.within_texture_page(), "{rect:?}");
                            }
                            if let Some(expected) = expected {
                                assert_eq!(Some((rect.x, rect.y)), expected, "leftmost, then topmost");
                            }
                            live.push(Live { rect, requested: u32::from(w) * u32::from(h) });
                        }
                        Err(AllocError::Exhausted { free, largest, .. }) => {
                            failures += 1;
                            if let Some(expected) = expected {
                                assert_eq!(expected, None, "a position was free");
                            }
                            assert_eq!(free, vram.stats().free());
                            assert_eq!(largest, vram.largest_free());
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            Op::Reserve(rect) => {
                let ok = !rect.is_empty()
                    && rect.in_vram()
                    && live.iter().all(|l| !l.rect.overlaps(rect))
                    && live.len() < N;
                assert_eq!(vram.reserve(rect).is_ok(), ok, "{rect:?}");
                if ok {
                    allocations += 1;
                    live.push(Live { rect, requested: rect.area() });
                } else {
                    failures += 1;
                }
            }
            Op::Free(i) if !live.is_empty() => {
                let l = live.swap_remove(i % live.len());
                vram.free(l.rect).unwrap();
                frees += 1;
                freed.push(l.rect);
            }
            Op::FreeAgain(i) if !freed.is_empty() => {
                let rect = freed[i % freed.len()];
                if !live.iter().any(|l| l.rect == rect) {
                    let refused = vram.free(rect);
                    let free_space = live.iter().all(|l| !l.rect.overlaps(rect));
                    if free_space {
                        assert!(matches!(refused, Err(FreeError::DoubleFree { .. })));
                    } else {
                        assert!(matches!(refused, Err(FreeError::Foreign { .. })));
                    }
                }
            }
            Op::Free(_) | Op::FreeAgain(_) => {}
        }
        peak = peak.max(vram.stats().used);
        continue_check(&vram, &live, peak, (failures, allocations, frees));
        if brute {
            let area = vram.largest_free_rect().map_or(0, |r| r.area());
            assert_eq!(area, largest_free_area(&live));
        }
    }
    // Freeing everything gives back the whole surface as one rectangle.
    while let Some(l) = live.pop() {
        vram.free(l.rect).unwrap();
        frees += 1;
        continue_check(&vram, &live, peak, (failures, allocations, frees));
    }
    assert_eq!(vram.largest_free_rect(), Some(Rect::new(0, 0, 1024, 512)));
    assert_eq!(vram.free_pixels(), 1024 * 512);
    assert_eq!(vram.largest_free(), 1 << 20);
    let s = vram.stats();
    assert_eq!((s.used, s.requested, s.live), (0, 0, 0));
}

/// The allocator's own view agrees with the model.
fn continue_check<const N: usize>(
    vram: &Vram<N>,
    live: &[Live],
    peak: usize,
    (failures, allocations, frees): (u64, u64, u64),
) {
    for (i, a) in live.iter().enumerate() {
        assert!(a.rect.in_vram() && !a.rect.is_empty());
        for b in &live[i + 1..] {
            assert!(!a.rect.overlaps(b.rect), "{:?} overlaps {:?}", a.rect, b.rect);
        }
    }
    let mut rects: Vec<Rect> = vram.rects().collect();
    let mut model: Vec<Rect> = live.iter().map(|l| l.rect).collect();
    rects.sort_by_key(|r| (r.x, r.y, r.w, r.h));
    model.sort_by_key(|r| (r.x, r.y, r.w, r.h));
    assert_eq!(rects, model);
    let pixels: u32 = live.iter().map(|l| l.rect.area()).sum();
    assert_eq!(vram.free_pixels(), 1024 * 512 - pixels);
    let s = vram.stats();
    assert_eq!(s.capacity, 1 << 20);
    assert_eq!(s.used, pixels as usize * 2);
    assert_eq!(s.requested, live.iter().map(|l| l.requested as usize * 2).sum::<usize>());
    assert_eq!(
        (s.live, s.peak, s.failures, s.allocations, s.frees),
        (live.len(), peak, failures, allocations, frees)
    );
    if let Some(r) = vram.largest_free_rect() {
        assert!(r.in_vram() && !r.is_empty());
        assert!(live.iter().all(|l| !l.rect.overlaps(r)), "{r:?} is free");
    } else {
        assert_eq!(pixels, 1024 * 512);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        run::<24>(&ops, false);
    }

    #[test]
    fn small_table_fills_and_recovers(ops in prop::collection::vec(op(), 1..60)) {
        run::<5>(&ops, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn placements_and_largest_free_rect_match_brute_force(
        ops in prop::collection::vec(op_up_to(700, 400), 1..40)
    ) {
        run::<16>(&ops, true);
    }
}

#[test]
fn unsupported_shapes_are_refused_and_counted() {
    let mut vram: Vram<4> = Vram::new();
    for (w, h, p) in [
        (0, 1, Placement::Any),
        (1025, 1, Placement::Any),
        (1, 513, Placement::FrameBuffer),
        (16, 2, Placement::Clut),
        (65, 10, Placement::Texture { within_page: true }),
        (10, 257, Placement::Texture { within_page: true }),
    ] {
        let refused = vram.allocate(w, h, p);
        assert!(matches!(refused, Err(AllocError::Unsupported { .. })), "{w}x{h} {p:?}");
    }
    assert_eq!(vram.stats().failures, 6);
    assert_eq!(vram.largest_free_rect(), Some(Rect::new(0, 0, 1024, 512)));
}

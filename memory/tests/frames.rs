//! Property tests: random sequences of frame and run allocations and of whole, partial and
//! refused frees on the bitmap frame allocator, over spans of random position, length and
//! frame size, checked after every step against a model with one flag per frame: runs inside
//! the span, disjoint, aligned by address, first fit, exact accounting, free-frame count and
//! largest free run exact, refused frees change nothing, and everything is back at the end.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use flight_memory::alloc::{AllocError, Frames, FreeError};
use flight_memory::{Address, Alignment, ByteSize, Span};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Frame,
    Run {
        count: usize,
        align_log2: u32,
    },
    /// Frees a live run whole.
    Free(usize),
    /// Frees the frames `from..from + len` of a live run (split into what is left).
    FreePart {
        index: usize,
        from: usize,
        len: usize,
    },
    /// Frees a random frame-sized span (refused unless every frame is live).
    Stray {
        frame: usize,
        count: usize,
    },
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(Op::Frame),
            4 => (0usize..24, 0u32..6).prop_map(|(count, align_log2)| Op::Run { count, align_log2 }),
            4 => any::<usize>().prop_map(Op::Free),
            2 => (any::<usize>(), any::<usize>(), 1usize..8)
                .prop_map(|(index, from, len)| Op::FreePart { index, from, len }),
            1 => (0usize..300, 1usize..4).prop_map(|(frame, count)| Op::Stray { frame, count }),
        ],
        1..300,
    )
}

/// The model: who holds each frame, and the live runs as (first frame, count).
struct Model {
    used: Vec<bool>,
    runs: Vec<(usize, usize)>,
}

impl Model {
    fn largest_free_run(&self) -> usize {
        self.used.split(|&u| u).map(<[bool]>::len).max().unwrap_or(0)
    }

    /// The lowest frame starting `count` free frames at a frame number that is a multiple of
    /// `align` (frame numbers count from address 0).
    fn first_fit(&self, base: u64, count: usize, align: usize) -> Option<usize> {
        (0..self.used.len()).find(|&i| {
            (base + i as u64).is_multiple_of(align as u64)
                && i + count <= self.used.len()
                && self.used[i..i + count].iter().all(|&u| !u)
        })
    }

    fn set(&mut self, from: usize, count: usize, used: bool) {
        for u in &mut self.used[from..from + count] {
            assert_ne!(*u, used, "the allocator handed out or freed a frame twice");
            *u = used;
        }
    }
}

fn check(f: &Frames<'_>, m: &Model, frame: u64) {
    let live: usize = m.runs.iter().map(|r| r.1).sum();
    let s = f.stats();
    assert_eq!(s.live, live, "live frames");
    assert_eq!(s.requested, live * frame as usize);
    assert_eq!(s.used, s.requested);
    assert_eq!(f.free_frames(), f.frames() - live);
    assert_eq!(f.largest_free_run(), m.largest_free_run());
    assert!(s.peak >= s.used && s.used <= s.capacity);
    for (i, &u) in m.used.iter().enumerate() {
        let addr = Address::new(f.span().start().get() + i as u64 * frame);
        assert_eq!(f.is_allocated(addr), u, "frame {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frames_match_their_model(
        ops in ops(),
        shift in prop_oneof![Just(0u32), Just(4), Just(12)],
        first in 0u64..1000,
        frames in 1usize..200,
        offset in 0u64..16,
        spare_words in 0usize..3,
    ) {
        let frame = 1u64 << shift;
        // A span that starts up to `offset` bytes before frame `first` and ends mid-frame:
        // trimmed to exactly `frames` whole frames from frame `first`.
        let start = (first << shift).saturating_sub(offset.min(frame - 1));
        let size = (first << shift) - start + frames as u64 * frame + frame / 2;
        let span = Span::new(Address::new(start), ByteSize::bytes(size)).unwrap();
        let mut bitmap = vec![u32::MAX; Frames::words_needed(frames) + spare_words];
        let mut f = Frames::new(span, Alignment::new(frame).unwrap(), &mut bitmap);
        prop_assert_eq!(f.frames(), frames);
        prop_assert_eq!(f.span().start(), Address::new(first << shift));
        prop_assert!(span.contains_span(f.span()));
        let base = first;
        let total = f.frames();
        let mut m = Model { used: vec![false; total], runs: Vec::new() };
        for op in &ops {
            match *op {
                Op::Frame => match f.allocate_frame() {
                    Ok(addr) => {
                        prop_assert!(f.span().contains(addr) && addr.get() % frame == 0);
                        let i = ((addr.get() - f.span().start().get()) >> shift) as usize;
                        m.set(i, 1, true);
                        m.runs.push((i, 1));
                    }
                    Err(AllocError::Exhausted { free, largest, .. }) => {
                        prop_assert!(m.used.iter().all(|&u| u));
                        prop_assert_eq!((free, largest), (0, 0));
                    }
                    Err(e) => prop_assert!(false, "{e}"),
                },
                Op::Run { count, align_log2 } => {
                    let align = 1usize << align_log2;
                    let before = f.stats();
                    match f.allocate_run(count, align) {
                        Ok(run) => {
                            prop_assert!(f.span().contains_span(run));
                            prop_assert_eq!(run.size().get(), count as u64 * frame);
                            prop_assert!(run.start().get().is_multiple_of(align as u64 * frame), "aligned by address");
                            let i = ((run.start().get() - f.span().start().get()) >> shift) as usize;
                            prop_assert_eq!(Some(i), m.first_fit(base, count, align), "first fit");
                            m.set(i, count, true);
                            m.runs.push((i, count));
                        }
                        Err(AllocError::Unsupported { .. }) => prop_assert!(count == 0 || count > total),
                        Err(AllocError::Exhausted { free, largest, .. }) => {
                            prop_assert_eq!(m.first_fit(base, count, align), None);
                            prop_assert_eq!(free, f.free_frames() * frame as usize);
                            prop_assert_eq!(largest, m.largest_free_run() * frame as usize);
                            prop_assert_eq!(f.stats().used, before.used);
                            prop_assert_eq!(f.stats().failures, before.failures + 1);
                        }
                        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
                    }
                }
                Op::Free(index) if !m.runs.is_empty() => {
                    let (i, count) = m.runs.swap_remove(index % m.runs.len());
                    let run = Span::new(
                        Address::new(f.span().start().get() + i as u64 * frame),
                        ByteSize::bytes(count as u64 * frame),
                    )
                    .unwrap();
                    if count == 1 {
                        f.free_frame(run.start()).unwrap();
                    } else {
                        f.free_run(run).unwrap();
                    }
                    m.set(i, count, false);
                }
                Op::FreePart { index, from, len } if !m.runs.is_empty() => {
                    let k = index % m.runs.len();
                    let (i, count) = m.runs[k];
                    let from = from % count;
                    let len = len.min(count - from);
                    let part = Span::new(
                        Address::new(f.span().start().get() + (i + from) as u64 * frame),
                        ByteSize::bytes(len as u64 * frame),
                    )
                    .unwrap();
                    f.free_run(part).unwrap();
                    m.set(i + from, len, false);
                    m.runs.swap_remove(k);
                    if from > 0 {
                        m.runs.push((i, from));
                    }
                    if from + len < count {
                        m.runs.push((i + from + len, count - from - len));
                    }
                }
                Op::Stray { frame: at, count } => {
                    let start = f.span().start().get() + at as u64 * frame;
                    let run = Span::new(Address::new(start), ByteSize::bytes(count as u64 * frame)).unwrap();
                    let inside = at + count <= total;
                    let all_live = inside && m.used[at..at + count].iter().all(|&u| u);
                    if !all_live {
                        let before = f.stats();
                        let r = f.free_run(run);
                        if inside {
                            let first_free = at + m.used[at..at + count].iter().position(|&u| !u).unwrap();
                            let addr = (f.span().start().get() + first_free as u64 * frame) as usize;
                            prop_assert_eq!(r, Err(FreeError::DoubleFree { addr }));
                        } else {
                            prop_assert!(matches!(r, Err(FreeError::Foreign { .. })), "{r:?}");
                        }
                        prop_assert_eq!(f.stats(), before, "refused frees change nothing");
                    }
                    // Misaligned and partial-frame spans are foreign.
                    if frame > 1 {
                        let odd = Span::new(Address::new(start + 1), ByteSize::bytes(frame)).unwrap();
                        prop_assert!(matches!(f.free_run(odd), Err(FreeError::Foreign { .. })), "misaligned");
                        let short = Span::new(Address::new(start), ByteSize::bytes(frame - 1)).unwrap();
                        prop_assert!(matches!(f.free_run(short), Err(FreeError::Foreign { .. })), "partial frame");
                    }
                }
                _ => {}
            }
            check(&f, &m, frame);
        }
        for (i, count) in m.runs.drain(..) {
            for k in i..i + count {
                f.free_frame(Address::new(f.span().start().get() + k as u64 * frame)).unwrap();
            }
        }
        prop_assert_eq!(f.free_frames(), total);
        prop_assert_eq!(f.largest_free_run(), total);
        prop_assert_eq!((f.stats().used, f.stats().requested, f.stats().live), (0, 0, 0));
        let all = f.allocate_run(total, 1).unwrap();
        prop_assert_eq!(all, f.span(), "one run of every frame");
    }
}

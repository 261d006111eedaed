//! Property tests of the device heap: random allocate/free sequences against a model.
#![allow(clippy::unwrap_used)]

use core::alloc::Layout;

use flight_memory::alloc::{AllocError, DeviceHeap, FreeError, TABLE_FULL};
use flight_memory::{Alignment, ByteSize, Span};
use proptest::prelude::*;

/// Dreamcast sound RAM (2 MiB at 0x0080_0000 in the AICA's space), cut to 64 KiB so requests
/// run out.
const AREA: Span = Span::at(0x0080_0000, ByteSize::kib(64));

#[derive(Clone, Debug)]
enum Op {
    /// Allocate `size` bytes aligned to `1 << align_log2`.
    Alloc { size: usize, align_log2: u32 },
    /// Free the live block at this index (modulo the count).
    Free(usize),
    /// Free a block freed before (modulo their count): must be refused.
    FreeAgain(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1usize..6000, 0u32..13).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        2 => any::<usize>().prop_map(Op::Free),
        1 => any::<usize>().prop_map(Op::FreeAgain),
    ]
}

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
struct Live {
    span: Span,
    requested: usize,
}

fn round_up(n: u64, granule: u64) -> u64 {
    n.div_ceil(granule) * granule
}

/// Runs `ops` on a heap with `N` table entries and `granule`, checking every invariant after
/// every step. With `roomy`, allocations stop at a live count whose table can never fill, so
/// `used` must equal the blocks' sizes exactly.
fn run<const N: usize>(ops: &[Op], granule: u64, roomy: bool) {
    let mut heap: DeviceHeap<N> = DeviceHeap::with_granule(AREA, Alignment::new(granule).unwrap());
    let capacity = heap.span().size().get();
    let mut live: Vec<Live> = Vec::new();
    let mut freed: Vec<Span> = Vec::new();
    let (mut peak, mut failures, mut allocations, mut frees) = (0usize, 0u64, 0u64, 0u64);
    for op in ops {
        match *op {
            Op::Alloc { size, align_log2 } => {
                if roomy && 2 * live.len() + 3 > N {
                    continue;
                }
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                let before: Vec<Span> = heap.free_spans().collect();
                let used_before = heap.stats().used;
                match heap.allocate(layout) {
                    Ok(span) => {
                        allocations += 1;
                        let align = (layout.align() as u64).max(granule);
                        assert_eq!(span.start().get() % align, 0, "aligned");
                        assert_eq!(span.size().get(), round_up(size as u64, granule));
                        assert!(heap.span().contains_span(span), "inside the area");
                        for other in &live {
                            assert!(!other.span.overlaps(span), "{span} overlaps {}", other.span);
                        }
                        live.push(Live { span, requested: size });
                    }
                    Err(err) => {
                        failures += 1;
                        assert_eq!(heap.free_spans().collect::<Vec<_>>(), before);
                        assert_eq!(heap.stats().used, used_before);
                        // No free extent could hold it, or the table had no entry for a split.
                        let align = (layout.align() as u64).max(granule);
                        let size = round_up(size as u64, granule);
                        let fits = |s: &Span| {
                            let at = s.start().get().next_multiple_of(align);
                            at + size <= s.end().get()
                        };
                        let exact = |s: &Span| {
                            let at = s.start().get().next_multiple_of(align);
                            at + size == s.end().get()
                        };
                        match err {
                            AllocError::Exhausted { free, largest, .. } => {
                                assert!(!before.iter().any(fits), "{layout:?} fits in {before:?}");
                                assert_eq!(free, heap.stats().free());
                                assert_eq!(largest, heap.largest_free());
                            }
                            AllocError::Unsupported { why, .. } => {
                                assert_eq!(why, TABLE_FULL);
                                assert!(!roomy, "a roomy table never fills");
                                assert_eq!(heap.table_len(), N);
                                assert!(before.iter().any(fits) && !before.iter().any(exact));
                            }
                            other => panic!("unexpected error {other:?}"),
                        }
                    }
                }
            }
            Op::Free(i) if !live.is_empty() => {
                let block = live.swap_remove(i % live.len());
                heap.free(block.span).unwrap();
                frees += 1;
                freed.push(block.span);
            }
            Op::FreeAgain(i) if !freed.is_empty() => {
                let span = freed[i % freed.len()];
                if !live.iter().any(|l| l.span == span) {
                    let refused = heap.free(span);
                    assert!(
                        matches!(refused, Err(FreeError::DoubleFree { .. } | FreeError::Foreign { .. })),
                        "{refused:?}"
                    );
                }
            }
            Op::Free(_) | Op::FreeAgain(_) => {}
        }
        check(&heap, &live, capacity, roomy);
        peak = peak.max(heap.stats().used);
        let s = heap.stats();
        assert_eq!((s.peak, s.failures, s.allocations, s.frees), (peak, failures, allocations, frees));
    }
    // Freeing everything gives back the whole area as one extent.
    while let Some(block) = live.pop() {
        heap.free(block.span).unwrap();
        check(&heap, &live, capacity, roomy);
    }
    assert_eq!(heap.free_spans().collect::<Vec<_>>(), [heap.span()]);
    assert_eq!(heap.largest_free() as u64, capacity);
    assert_eq!(heap.table_len(), 1);
    let s = heap.stats();
    assert_eq!((s.used, s.requested, s.live), (0, 0, 0));
}

/// The heap's own view agrees with the model.
fn check<const N: usize>(heap: &DeviceHeap<N>, live: &[Live], capacity: u64, roomy: bool) {
    let s = heap.stats();
    assert_eq!(s.capacity as u64, capacity);
    assert_eq!(s.live, live.len());
    assert_eq!(s.requested, live.iter().map(|l| l.requested).sum::<usize>());
    let sizes: u64 = live.iter().map(|l| l.span.size().get()).sum();
    let free: u64 = heap.free_spans().map(|f| f.size().get()).sum();
    assert_eq!(s.used as u64 + free, capacity, "used and free extents tile the area");
    assert!(s.used as u64 >= sizes);
    if roomy {
        assert_eq!(s.used as u64, sizes, "padding always split off");
    }
    let mut blocks: Vec<Span> = heap.blocks().collect();
    let mut model: Vec<Span> = live.iter().map(|l| l.span).collect();
    blocks.sort_by_key(|b| b.start());
    model.sort_by_key(|b| b.start());
    assert_eq!(blocks, model);
    // Free extents are sorted, disjoint, never adjacent (coalesced), and miss every block.
    let spans: Vec<Span> = heap.free_spans().collect();
    assert!(spans.windows(2).all(|w| w[0].end() < w[1].start()));
    assert!(spans.iter().all(|f| model.iter().all(|b| !b.overlaps(*f))));
    let largest = spans.iter().map(|f| f.size().get()).max().unwrap_or(0);
    assert_eq!(heap.largest_free() as u64, largest);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn roomy_table_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        run::<48>(&ops, 1, true);
    }

    #[test]
    fn granular_heap_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        run::<48>(&ops, 8, true);
    }

    #[test]
    fn small_table_fills_and_recovers(ops in prop::collection::vec(op(), 1..120)) {
        run::<4>(&ops, 1, false);
    }

    #[test]
    fn tiny_table_with_granule_fills_and_recovers(ops in prop::collection::vec(op(), 1..120)) {
        run::<2>(&ops, 4, false);
    }
}

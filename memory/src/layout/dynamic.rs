//! Dynamic placement: components added and removed at run time.
//!
//! A [`DynamicLayout`] keeps a [`DeviceHeap`] per window, which hands out address ranges and
//! keeps its table in the layout itself, never in the memory it manages: the same placer works
//! for main RAM, for VRAM, and on the host for a console's addresses. Each segment is carved
//! with its guard gap behind it, so any two segments stay at least the guard size apart, and
//! the layout's checker knows every segment the moment it is placed.

use core::alloc::Layout as BlockLayout;

use super::plan::{Item, PlanError, SegmentRequest, item_for};
use super::{Layout, LayoutError, MAX_WINDOWS, Segment, SegmentFlags};
use crate::alloc::{AllocError, DeviceHeap};
use crate::map::MemoryMap;
use crate::units::{Alignment, ByteSize, Span};

/// A layout whose segments come and go, `N` segments at most, each window's heap with a table of
/// `E` extents (`2 * N + 1` never fills).
#[derive(Debug)]
pub struct DynamicLayout<'a, const N: usize, const E: usize> {
    layout: Layout<'a, N>,
    heaps: heapless::Vec<DeviceHeap<E>, MAX_WINDOWS>,
}

impl<'a, const N: usize, const E: usize> DynamicLayout<'a, N, E> {
    /// An empty layout of `map` whose segments are at least `guard` apart.
    pub const fn new(map: &'a MemoryMap, guard: ByteSize) -> Self {
        Self { layout: Layout::new(map, guard), heaps: heapless::Vec::new() }
    }

    /// The layout: segments, windows, the checker.
    pub const fn layout(&self) -> &Layout<'a, N> {
        &self.layout
    }

    /// Adds a window that segments may be carved from (as [`Layout::add_window`]).
    pub fn add_window(&mut self, region: &'a str, span: Span) -> Result<usize, LayoutError<'a>> {
        let w = self.layout.add_window(region, span)?;
        // The layout has just accepted the window, so there is room for its heap.
        let _ = self.heaps.push(DeviceHeap::new(span));
        Ok(w)
    }

    /// Places a read/write segment of `size` bytes for `component`, named after it.
    pub fn allocate_segment(
        &mut self,
        component: &'a str,
        size: ByteSize,
        align: Alignment,
        flags: SegmentFlags,
    ) -> Result<&Segment<'a>, PlanError<'a>> {
        self.allocate(&SegmentRequest::new(component, size).aligned(align).with_flags(flags))
    }

    /// Places a shared region of `size` bytes called `name`, which only `sharers` may use, each
    /// with its own rights (one writer and several readers, for example).
    pub fn create_shared_region(
        &mut self,
        name: &'a str,
        sharers: &'a [super::Sharer<'a>],
        size: ByteSize,
    ) -> Result<&Segment<'a>, PlanError<'a>> {
        self.allocate(&SegmentRequest::shared(name, size, sharers))
    }

    /// Places the segment `request` asks for in the first window that can hold it.
    pub fn allocate(&mut self, request: &SegmentRequest<'a>) -> Result<&Segment<'a>, PlanError<'a>> {
        if self.layout.segment(request.name).is_some() {
            return Err(LayoutError::DuplicateSegment(request.name).into());
        }
        if self.layout.segments().len() == N {
            return Err(LayoutError::Full { table: "segments", capacity: N }.into());
        }
        let Item { size, align, tail, windows, .. } = item_for(&self.layout, request)?;
        let invalid =
            PlanError::Invalid { segment: request.name, why: "it is too large for this CPU's address space" };
        // The block holds the segment, a masked one's tail and the guard gap behind them.
        let block_size =
            size.checked_add(tail).and_then(|s| s.checked_add(self.layout.guard().get())).ok_or(invalid)?;
        let block = BlockLayout::from_size_align(
            usize::try_from(block_size).map_err(|_| invalid)?,
            usize::try_from(align).map_err(|_| invalid)?,
        )
        .map_err(|_| invalid)?;
        let mut shortest = (u64::MAX, "");
        let mut table_full = false;
        for (w, heap) in self.heaps.iter_mut().enumerate() {
            if windows & (1 << w) == 0 {
                continue;
            }
            let window = self.layout.windows()[w];
            match heap.allocate(block) {
                Ok(span) => {
                    let segment = self.layout.segment_for(
                        request,
                        window.region,
                        span.start().get(),
                        ByteSize::bytes(size),
                        Alignment::of(align),
                    );
                    let inserted = segment.and_then(|s| self.layout.insert(s));
                    return match inserted {
                        Ok(at) => Ok(&self.layout.segments()[at]),
                        Err(e) => {
                            // Give the block back: the layout refused the segment.
                            let _ = heap.free(span);
                            Err(e.into())
                        }
                    };
                }
                Err(AllocError::Exhausted { .. }) => {
                    // The least any free extent falls short by, at the block's alignment (the
                    // largest extent may be long enough and still too short once aligned).
                    let missing = heap
                        .free_spans()
                        .map(|s| {
                            let at = s.start().get().checked_next_multiple_of(align).unwrap_or(u64::MAX);
                            at.saturating_add(block_size).saturating_sub(s.end().get())
                        })
                        .min()
                        .unwrap_or(block_size);
                    if missing < shortest.0 {
                        shortest = (missing, self.layout.region(window.region).name);
                    }
                }
                Err(_) => table_full = true,
            }
        }
        if table_full && shortest.0 == u64::MAX {
            return Err(LayoutError::Full { table: "extents", capacity: E }.into());
        }
        Err(PlanError::DoesNotFit {
            segment: request.name,
            region: shortest.1,
            missing: ByteSize::bytes(if shortest.0 == u64::MAX { block_size } else { shortest.0 }),
        })
    }

    /// Removes the segment called `name` and gives its memory back.
    pub fn free_segment(&mut self, name: &'a str) -> Result<Segment<'a>, LayoutError<'a>> {
        let segment = self.layout.segment(name).copied().ok_or(LayoutError::UnknownSegment(name))?;
        let w = self
            .layout
            .window_of(segment.region, segment.span)
            .ok_or(LayoutError::OutsideWindows(segment.name))?;
        let block = Span::at(
            segment.span.start().get(),
            ByteSize::bytes(segment.reach().size().get() + self.layout.guard().get()),
        );
        if let Some(heap) = self.heaps.get_mut(w) {
            heap.free(block).map_err(|_| LayoutError::UnknownSegment(segment.name))?;
        }
        self.layout.remove(name);
        Ok(segment)
    }

    /// Removes every segment `component` owns; returns how many. Shared segments it only uses
    /// stay.
    pub fn remove_component(&mut self, component: &'a str) -> Result<usize, LayoutError<'a>> {
        let id = self.layout.component(component).ok_or(LayoutError::UnknownComponent(component))?;
        let mut removed = 0;
        while let Some(name) = self
            .layout
            .segments()
            .iter()
            .find(|s| s.access.owner().is_some_and(|(o, _)| o == id))
            .map(|s| s.name)
        {
            self.free_segment(name)?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::tests::MAP;
    use crate::layout::{Access, Sharer, ViolationKind};
    use crate::map::Permissions;

    #[test]
    fn a_shared_region_comes_and_goes_with_its_access_list() {
        const SHARERS: &[Sharer<'static>] = &[
            Sharer { component: "physics", permissions: Permissions::RW },
            Sharer { component: "renderer", permissions: Permissions::READ },
        ];
        let mut d: DynamicLayout<'_, 4, 9> = DynamicLayout::new(&MAP, ByteSize::bytes(64));
        d.add_window("ram", Span::at(0x1_0000, ByteSize::kib(8))).unwrap();
        d.allocate_segment("audio", ByteSize::kib(1), Alignment::of(16), SegmentFlags::NONE).unwrap();
        let bodies = *d.create_shared_region("bodies", SHARERS, ByteSize::kib(2)).unwrap();
        assert_eq!(bodies.access.owner(), None);
        let l = d.layout();
        let at = l.cpu_address(&bodies).unwrap();
        let id = |n| l.component(n).unwrap();
        assert_eq!(l.check(id("physics"), at, 8, Access::Write), Ok(()));
        assert_eq!(l.check(id("renderer"), at, 8, Access::Read), Ok(()));
        let e = l.check(id("audio"), at, 8, Access::Read).unwrap_err();
        assert_eq!(e.kind, ViolationKind::NotSharer { segment: "bodies" });
        // Removing a sharer leaves the region; freeing it gives the room back.
        assert_eq!(d.remove_component("physics"), Ok(0));
        assert!(d.layout().segment("bodies").is_some());
        d.free_segment("bodies").unwrap();
        assert!(d.create_shared_region("big", SHARERS, ByteSize::bytes(8 * 1024 - 1024 - 128)).is_ok());
    }
}

//! Guard-gap canaries: the bytes of every guard gap hold a known value, so a stray write that
//! the checker did not see (a DMA transfer, code that bypassed [`Checked`](super::ptr::Checked))
//! is still found when the gaps are checked.
//!
//! Memory is reached through [`GuardMemory`]: [`CpuMemory`] writes the real bytes on a console,
//! [`SliceMemory`] a buffer standing in for a region on the host.

use super::{Guard, Layout};
use crate::units::{Address, Span};

/// The value every byte of a guard gap holds: the "no man's land" byte of debugging allocators.
pub const CANARY: u8 = 0xFD;

/// Memory that guard gaps can be filled and checked in, by region and region-space address.
pub trait GuardMemory {
    /// Sets every byte of `span` in region `region` to `byte`; false if this memory cannot
    /// reach that region (then nothing is written).
    fn fill(&mut self, region: u8, span: Span, byte: u8) -> bool;
    /// The first byte of `span` that does not hold `byte`, or `None` if all do (or the region
    /// is out of reach).
    fn first_mismatch(&self, region: u8, span: Span, byte: u8) -> Option<Address>;
}

/// A guard gap whose canary was overwritten.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Damage<'a> {
    /// The segment before the gap.
    pub after: &'a str,
    /// The segment after it.
    pub before: &'a str,
    /// The gap.
    pub guard: Guard,
    /// The first overwritten byte, in the region's own address space.
    pub address: Address,
}

impl<'a, const N: usize> Layout<'a, N> {
    /// Writes the canary into every guard gap that `memory` reaches; returns the bytes written.
    pub fn fill_guards(&self, memory: &mut impl GuardMemory) -> u64 {
        self.guards().filter(|g| memory.fill(g.region, g.span, CANARY)).map(|g| g.span.size().get()).sum()
    }

    /// The guard gaps whose canary is damaged, with the first bad byte of each.
    pub fn damaged_guards<'m>(
        &'m self,
        memory: &'m impl GuardMemory,
    ) -> impl Iterator<Item = Damage<'a>> + 'm {
        self.guards().filter_map(move |guard| {
            let address = memory.first_mismatch(guard.region, guard.span, CANARY)?;
            let segments = self.segments();
            Some(Damage {
                after: segments[guard.after].name,
                before: segments[guard.before].name,
                guard,
                address,
            })
        })
    }
}

/// A byte buffer standing in for one region, from region-space address `base` (host tools and
/// tests).
#[derive(Debug)]
pub struct SliceMemory<'b> {
    /// The region it stands for.
    pub region: u8,
    /// The region-space address of `bytes[0]`.
    pub base: u64,
    /// The bytes.
    pub bytes: &'b mut [u8],
}

impl SliceMemory<'_> {
    fn range(&self, region: u8, span: Span) -> Option<core::ops::Range<usize>> {
        if region != self.region {
            return None;
        }
        let start = usize::try_from(span.start().get().checked_sub(self.base)?).ok()?;
        let end = start.checked_add(usize::try_from(span.size().get()).ok()?)?;
        (end <= self.bytes.len()).then_some(start..end)
    }
}

impl GuardMemory for SliceMemory<'_> {
    fn fill(&mut self, region: u8, span: Span, byte: u8) -> bool {
        let Some(r) = self.range(region, span) else { return false };
        self.bytes[r].fill(byte);
        true
    }

    fn first_mismatch(&self, region: u8, span: Span, byte: u8) -> Option<Address> {
        let r = self.range(region, span)?;
        let at = self.bytes[r.clone()].iter().position(|&b| b != byte)?;
        Some(Address::new(self.base + (r.start + at) as u64))
    }
}

/// The console's own memory, reached through each region's CPU view: for the run-time checks
/// of a layout whose segments the program really occupies.
#[derive(Debug)]
pub struct CpuMemory<'l, 'a, const N: usize> {
    layout: &'l Layout<'a, N>,
}

impl<'l, 'a, const N: usize> CpuMemory<'l, 'a, N> {
    /// The memory of `layout`'s map as this CPU sees it.
    ///
    /// # Safety
    ///
    /// Every guard gap of `layout` that lies in a CPU-addressable region must be memory this
    /// program owns and that nothing else uses while the gaps are filled or checked: it is
    /// read and written through the region's user view.
    pub const unsafe fn new(layout: &'l Layout<'a, N>) -> Self {
        Self { layout }
    }

    /// The CPU pointer to `span` of region `region`, if the CPU can reach it.
    fn pointer(&self, region: u8, span: Span) -> Option<*mut u8> {
        let r = self.layout.region(region);
        let view = r.views.iter().find(|v| !v.privileged)?;
        let offset = span.start().offset_from(r.span.start())?;
        let addr = view.base.checked_add(offset)?;
        usize::try_from(addr.get()).ok().map(|a| a as *mut u8)
    }
}

impl<const N: usize> GuardMemory for CpuMemory<'_, '_, N> {
    fn fill(&mut self, region: u8, span: Span, byte: u8) -> bool {
        let (Some(p), Ok(len)) = (self.pointer(region, span), usize::try_from(span.size().get())) else {
            return false;
        };
        // SAFETY: `new`'s contract: guard gaps of CPU regions are memory this program owns and
        // nothing else uses meanwhile; `p..p + len` is one such gap through a user view.
        unsafe { core::ptr::write_bytes(p, byte, len) };
        true
    }

    fn first_mismatch(&self, region: u8, span: Span, byte: u8) -> Option<Address> {
        let p = self.pointer(region, span)?;
        let len = usize::try_from(span.size().get()).ok()?;
        // SAFETY: as in `fill`: an owned guard gap, read through a user view; volatile so that
        // the compiler cannot assume the canary it wrote is still there.
        let at = (0..len).find(|&i| unsafe { p.add(i).read_volatile() } != byte)?;
        Some(Address::new(span.start().get() + at as u64))
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::layout::tests::MAP;
    use crate::layout::{SegmentRequest, Strategy};
    use crate::units::ByteSize;

    #[test]
    fn a_stray_write_into_a_gap_is_found() {
        let mut l: Layout<'_, 4> = Layout::new(&MAP, ByteSize::bytes(64));
        l.add_window("ram", Span::at(0x1_0000, ByteSize::kib(4))).unwrap();
        let requests =
            [SegmentRequest::new("a", ByteSize::bytes(100)), SegmentRequest::new("b", ByteSize::bytes(100))];
        crate::layout::plan::plan(&mut l, &requests, Strategy::FirstFit, &mut []).unwrap();
        let mut bytes = std::vec![0u8; 4096];
        let mut mem = SliceMemory { region: 0, base: 0x1_0000, bytes: &mut bytes };
        // a: 0..100, gap to 176 (b aligned to 16 after 64 guard bytes): one gap of 76 bytes.
        assert_eq!(l.fill_guards(&mut mem), 76);
        assert_eq!(l.damaged_guards(&mem).count(), 0);
        mem.bytes[120] = 0;
        let d: std::vec::Vec<_> = l.damaged_guards(&mem).collect();
        assert_eq!(
            (d.len(), d[0].after, d[0].before, d[0].address),
            (1, "a", "b", Address::new(0x1_0000 + 120))
        );
        // Another region is out of this memory's reach.
        assert!(!mem.fill(1, Span::at(0, ByteSize::bytes(4)), CANARY));
    }
}

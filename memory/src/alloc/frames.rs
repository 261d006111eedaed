//! The bitmap frame allocator: fixed-size frames (a power of two, such as 4 KiB pages) over a
//! span of addresses, one bit per frame.
//!
//! It hands out [`Address`]es and [`Span`]s, never CPU pointers, and never reads or writes the
//! memory it manages: all of its metadata is the bitmap the caller hands it, a `&mut [u32]` in
//! CPU RAM ([`Frames::words_needed`] words for `n` frames, `1 / (8 * frame size)` of the
//! managed memory: 16 bytes for 512 KiB of 4 KiB frames). So it manages device memory, memory
//! behind a DMA engine, or physical memory not mapped yet as well as CPU RAM.
//!
//! ```text
//!  managed span (never touched)                        bitmap in CPU RAM, 1 = allocated
//!  +----+----+----+----+----+----+----+----+-- ...     word 0: ...1111_0000_1101
//!  | f0 | f1 | f2 | f3 | f4 | f5 | f6 | f7 |                 bit 0 = f0 ---------^
//!  +----+----+----+----+----+----+----+----+-- ...
//!   used free used used free free free free
//!                      ^ hint: the next single frame is looked for from here
//! ```
//!
//! - **Single frames** ([`Frames::allocate_frame`]) are next fit: the search starts after the
//!   frame handed out last and wraps around, skipping 32 allocated frames per word, so a run of
//!   allocations finds its frame at once.
//! - **Runs** ([`Frames::allocate_run`]) are first fit from the lowest address: `count`
//!   contiguous frames whose first *address* is a multiple of `align_frames` frames.
//! - **Frees** are checked in every build, since the bitmap knows: a span that is not whole
//!   frames inside the managed span is [`FreeError::Foreign`], one with a frame that is already
//!   free is [`FreeError::DoubleFree`] (naming that frame), and nothing changes. The bitmap keeps
//!   no run boundaries, so a run may be given back whole, in pieces, or frame by frame.
//! - **Stats** are in bytes (`used == requested`: frames have no rounding). Because runs may be
//!   freed in pieces, `live` counts live *frames*; `allocations` and `frees` count calls.
//!
//! A request that can never be served (no frames, more frames than are managed, an alignment
//! that is not a power of two) is [`AllocError::Unsupported`]; one that does not fit now is
//! [`AllocError::Exhausted`] (free bytes and the largest free run in bytes) and changes nothing.
//!
//! ```
//! use flight_memory::alloc::Frames;
//! use flight_memory::{Alignment, ByteSize, Span};
//!
//! // 1 MiB of 4 KiB frames: 256 frames, 8 words of bitmap.
//! let mut bitmap = [0u32; Frames::words_needed(256)];
//! let page = Alignment::new(4096).unwrap();
//! let mut frames = Frames::new(Span::at(0x10_0000, ByteSize::mib(1)), page, &mut bitmap);
//! let a = frames.allocate_frame().unwrap();
//! let run = frames.allocate_run(16, 16).unwrap(); // 64 KiB aligned to 64 KiB
//! assert_eq!((a.get(), run.start().get()), (0x10_0000, 0x11_0000));
//! frames.free_run(run).unwrap();
//! frames.free_frame(a).unwrap();
//! assert!(frames.free_frame(a).is_err(), "the bitmap knows it is free already");
//! assert_eq!(frames.largest_free_run(), 256);
//! ```

use core::alloc::Layout;

use super::{AllocError, FreeError, Stats};
use crate::units::{Address, Alignment, ByteSize, Span};

/// Frames per bitmap word.
const WORD: usize = 32;

/// A bitmap allocator of fixed-size frames over a span of addresses.
#[derive(Debug)]
pub struct Frames<'a> {
    /// The managed span: whole, aligned frames only.
    span: Span,
    /// log2 of the frame size.
    shift: u32,
    /// Frames managed.
    frames: usize,
    /// One bit per frame, set while allocated; the bits past `frames` in the last word are
    /// kept set, so word scans never hand them out.
    bits: &'a mut [u32],
    /// Free frames.
    free: usize,
    /// Where the next single-frame search starts (next fit).
    hint: usize,
    stats: Stats,
}

/// A saturated `usize` for an address in an error report.
fn report(addr: Address) -> usize {
    usize::try_from(addr.get()).unwrap_or(usize::MAX)
}

impl<'a> Frames<'a> {
    /// The `u32` words of bitmap that `frames` frames need.
    pub const fn words_needed(frames: usize) -> usize {
        frames.div_ceil(WORD)
    }

    /// An allocator of `frame_size` frames over `span`, all free, keeping its bitmap in
    /// `bitmap` (which it clears).
    ///
    /// The span is trimmed inwards to whole frames aligned to `frame_size`. At most
    /// `32 * bitmap.len()` frames are managed (give it [`Frames::words_needed`] words), and no
    /// more than [`Stats`] can count in bytes; [`Frames::span`] says what is managed.
    pub fn new(span: Span, frame_size: Alignment, bitmap: &'a mut [u32]) -> Self {
        let shift = frame_size.get().trailing_zeros();
        let start = span.start().align_up(frame_size).unwrap_or(span.end());
        let end = span.end().get() & !(frame_size.get() - 1);
        let available = end.saturating_sub(start.get()) >> shift;
        let countable = usize::MAX.checked_shr(shift).unwrap_or(0) as u64;
        let words = bitmap.len() as u64;
        let frames = available.min(countable).min(words.saturating_mul(WORD as u64)) as usize;
        let bytes = (frames as u64) << shift;
        let managed =
            Span::new(start, ByteSize::bytes(bytes)).unwrap_or(Span::at(start.get(), ByteSize::ZERO));
        let (bits, _) = bitmap.split_at_mut(Self::words_needed(frames).min(bitmap.len()));
        bits.fill(0);
        if let Some(last) = bits.last_mut()
            && !frames.is_multiple_of(WORD)
        {
            *last = u32::MAX << (frames % WORD);
        }
        Self {
            span: managed,
            shift,
            frames,
            bits,
            free: frames,
            hint: 0,
            stats: Stats { capacity: bytes as usize, ..Stats::default() },
        }
    }

    /// The managed span (whole frames).
    pub fn span(&self) -> Span {
        self.span
    }

    /// The size of a frame in bytes.
    pub fn frame_size(&self) -> u64 {
        1 << self.shift
    }

    /// The number of frames managed.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// The number of free frames.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// The longest run of free frames, in frames (O(frames / 32 + runs)).
    pub fn largest_free_run(&self) -> usize {
        let mut largest = 0;
        let mut at = 0;
        while let Some(start) = self.next_free(at) {
            let end = self.next_used(start, self.frames).unwrap_or(self.frames);
            largest = largest.max(end - start);
            at = end;
        }
        largest
    }

    /// Whether the frame holding `addr` is allocated (`false` outside the managed span).
    pub fn is_allocated(&self, addr: Address) -> bool {
        self.index_of(addr).is_some_and(|i| self.used(i))
    }

    /// The counters, in bytes; `live` counts frames.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// One free frame, next fit.
    pub fn allocate_frame(&mut self) -> Result<Address, AllocError> {
        let found = self.next_free(self.hint).or_else(|| self.next_free(0));
        let Some(at) = found else {
            return Err(self.exhausted(1, 1));
        };
        self.take(at, 1);
        self.hint = if at + 1 < self.frames { at + 1 } else { 0 };
        Ok(self.address(at))
    }

    /// `count` contiguous free frames whose first address is a multiple of `align_frames`
    /// frames (a power of two), the lowest such run (first fit).
    pub fn allocate_run(&mut self, count: usize, align_frames: usize) -> Result<Span, AllocError> {
        let why = if count == 0 {
            Some("a run of no frames")
        } else if !align_frames.is_power_of_two() {
            Some("the alignment in frames is not a power of two")
        } else if count > self.frames {
            Some("more frames than the allocator manages")
        } else {
            None
        };
        if let Some(why) = why {
            self.stats.failures += 1;
            return Err(AllocError::Unsupported { layout: self.request(count, align_frames), why });
        }
        let Some(at) = self.find_run(count, align_frames) else {
            return Err(self.exhausted(count, align_frames));
        };
        self.take(at, count);
        Ok(self.run(at, count))
    }

    /// Gives back the frame at `addr` (the start of a frame).
    pub fn free_frame(&mut self, addr: Address) -> Result<(), FreeError> {
        match Span::new(addr, ByteSize::bytes(self.frame_size())) {
            Some(frame) => self.free_run(frame),
            None => Err(FreeError::Foreign { addr: report(addr) }),
        }
    }

    /// Gives back the frames of `run`: whole frames inside the managed span, all allocated (a
    /// run handed out by [`allocate_run`](Self::allocate_run), part of one, or single frames).
    /// Refused, with nothing changed, if it is not ([`FreeError::Foreign`]) or if one of its
    /// frames is free already ([`FreeError::DoubleFree`], naming that frame).
    pub fn free_run(&mut self, run: Span) -> Result<(), FreeError> {
        let foreign = FreeError::Foreign { addr: report(run.start()) };
        let mask = self.frame_size() - 1;
        let size = run.size().get();
        if size == 0 || size & mask != 0 || !self.span.contains_span(run) {
            return Err(foreign);
        }
        let Some(at) = self.index_of(run.start()) else {
            return Err(foreign);
        };
        if run.start().get() & mask != 0 {
            return Err(foreign);
        }
        // Inside the managed span, so the count fits a usize.
        let count = (size >> self.shift) as usize;
        if let Some(free) = self.next_free(at).filter(|&f| f < at + count) {
            return Err(FreeError::DoubleFree { addr: report(self.address(free)) });
        }
        self.mark(at, at + count, false);
        self.free += count;
        let bytes = count << self.shift;
        self.stats.used -= bytes;
        self.stats.requested -= bytes;
        self.stats.live -= count;
        self.stats.frees += 1;
        Ok(())
    }

    /// The frame holding `addr`, if it is managed.
    fn index_of(&self, addr: Address) -> Option<usize> {
        let offset = addr.offset_from(self.span.start())?.get();
        let at = usize::try_from(offset >> self.shift).ok()?;
        (at < self.frames).then_some(at)
    }

    /// The address of frame `at` (inside the managed span).
    fn address(&self, at: usize) -> Address {
        Address::new(self.span.start().get() + ((at as u64) << self.shift))
    }

    /// The span of `count` frames from frame `at` (inside the managed span).
    fn run(&self, at: usize, count: usize) -> Span {
        let start = self.address(at);
        let size = ByteSize::bytes((count as u64) << self.shift);
        Span::new(start, size).unwrap_or(Span::at(start.get(), ByteSize::ZERO))
    }

    fn used(&self, at: usize) -> bool {
        self.bits.get(at / WORD).is_some_and(|w| (w >> (at % WORD)) & 1 != 0)
    }

    /// The first free frame at or after `from`.
    fn next_free(&self, from: usize) -> Option<usize> {
        let mut word = from / WORD;
        let mut free = !*self.bits.get(word)? & (u32::MAX << (from % WORD));
        while free == 0 {
            word += 1;
            free = !*self.bits.get(word)?;
        }
        Some(word * WORD + free.trailing_zeros() as usize).filter(|&at| at < self.frames)
    }

    /// The first allocated frame in `from..to` (`to <= frames`).
    fn next_used(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut word = from / WORD;
        let mut used = *self.bits.get(word)? & (u32::MAX << (from % WORD));
        while used == 0 {
            word += 1;
            if word * WORD >= to {
                return None;
            }
            used = *self.bits.get(word)?;
        }
        Some(word * WORD + used.trailing_zeros() as usize).filter(|&at| at < to)
    }

    /// Sets (`used`) or clears the bits of frames `from..to`, a word at a time.
    fn mark(&mut self, from: usize, to: usize, used: bool) {
        let mut at = from;
        while at < to {
            let bit = at % WORD;
            let n = (WORD - bit).min(to - at);
            let mask = (u32::MAX >> (WORD - n)) << bit;
            if let Some(w) = self.bits.get_mut(at / WORD) {
                if used {
                    *w |= mask;
                } else {
                    *w &= !mask;
                }
            }
            at += n;
        }
    }

    /// Marks `count` free frames from `at` allocated and counts them.
    fn take(&mut self, at: usize, count: usize) {
        self.mark(at, at + count, true);
        self.free -= count;
        let bytes = count << self.shift;
        self.stats.used += bytes;
        self.stats.requested += bytes;
        self.stats.live += count;
        self.stats.allocations += 1;
        self.stats.peak = self.stats.peak.max(self.stats.used);
    }

    /// The lowest run of `count` free frames starting at a multiple of `align_frames` frames.
    fn find_run(&self, count: usize, align_frames: usize) -> Option<usize> {
        // Alignment is of the address: frame numbers count from address 0.
        let base = self.span.start().get() >> self.shift;
        let mut from = 0;
        loop {
            let free = self.next_free(from)?;
            let number = (base + free as u64).checked_next_multiple_of(align_frames as u64)?;
            let at = usize::try_from(number - base).ok()?;
            let end = at.checked_add(count).filter(|&end| end <= self.frames)?;
            match self.next_used(at, end) {
                None => return Some(at),
                Some(used) => from = used + 1,
            }
        }
    }

    /// The layout of a request for `count` frames aligned to `align_frames`, for error reports
    /// (clamped to what a `Layout` can say).
    fn request(&self, count: usize, align_frames: usize) -> Layout {
        let frame = self.frame_size();
        let align = (align_frames as u64)
            .checked_mul(frame)
            .and_then(|a| usize::try_from(a).ok())
            .filter(|a| a.is_power_of_two() && *a <= 1 << (usize::BITS - 2))
            .unwrap_or(1);
        let size = usize::try_from((count as u64).saturating_mul(frame))
            .unwrap_or(usize::MAX)
            .min(isize::MAX as usize - (align - 1));
        Layout::from_size_align(size, align).unwrap_or(Layout::new::<u8>())
    }

    /// Counts a failed request and says what was left.
    fn exhausted(&mut self, count: usize, align_frames: usize) -> AllocError {
        self.stats.failures += 1;
        AllocError::Exhausted {
            layout: self.request(count, align_frames),
            free: self.stats.free(),
            largest: self.largest_free_run() << self.shift,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: Alignment = match Alignment::new(4096) {
        Ok(a) => a,
        Err(_) => Alignment::BYTE,
    };

    fn span(start: u64, frames: u64) -> Span {
        Span::at(start, ByteSize::bytes(frames * 4096))
    }

    #[test]
    fn words_needed_rounds_up() {
        assert_eq!(
            (
                Frames::words_needed(0),
                Frames::words_needed(1),
                Frames::words_needed(32),
                Frames::words_needed(33)
            ),
            (0, 1, 1, 2)
        );
    }

    #[test]
    fn the_span_is_trimmed_to_whole_frames_and_the_bitmap() {
        let mut bits = [u32::MAX; 2];
        let f = Frames::new(Span::at(0x1001, ByteSize::bytes(40 * 4096)), PAGE, &mut bits);
        assert_eq!(f.span(), span(0x2000, 39));
        assert_eq!((f.frames(), f.free_frames(), f.largest_free_run()), (39, 39, 39));
        assert_eq!(f.stats().capacity, 39 * 4096);
        let mut short = [0u32; 1];
        let f = Frames::new(span(0, 100), PAGE, &mut short);
        assert_eq!((f.frames(), f.span()), (32, span(0, 32)), "as many as the bitmap holds");
        let mut none = [0u32; 0];
        let mut f = Frames::new(span(0, 100), PAGE, &mut none);
        assert!(matches!(f.allocate_frame(), Err(AllocError::Exhausted { .. })));
    }

    #[test]
    fn single_frames_are_next_fit_and_wrap() {
        let mut bits = [0u32; 2];
        let mut f = Frames::new(span(0x8000_0000, 40), PAGE, &mut bits);
        let a = f.allocate_frame().unwrap();
        let b = f.allocate_frame().unwrap();
        assert_eq!((a.get(), b.get()), (0x8000_0000, 0x8000_1000));
        f.free_frame(a).unwrap();
        let c = f.allocate_frame().unwrap();
        assert_eq!(c.get(), 0x8000_2000, "next fit: after the last one, not the lowest");
        for _ in 3..40 {
            f.allocate_frame().unwrap();
        }
        assert_eq!(f.allocate_frame().unwrap(), a, "wrapped around to the freed frame");
        assert_eq!(f.free_frames(), 0);
    }

    #[test]
    fn runs_are_first_fit_and_aligned_by_address() {
        let mut bits = [0u32; 4];
        // Starts at frame number 3: a 4-frame alignment skips to frame number 4.
        let mut f = Frames::new(span(3 * 4096, 100), PAGE, &mut bits);
        let r = f.allocate_run(5, 4).unwrap();
        assert_eq!(r, span(4 * 4096, 5));
        let s = f.allocate_run(2, 1).unwrap();
        assert_eq!(s, span(9 * 4096, 2), "the hole at frame 3 is too small for 2");
        let t = f.allocate_run(1, 1).unwrap();
        assert_eq!(t, span(3 * 4096, 1), "but not for 1: first fit");
        assert_eq!((f.stats().used, f.stats().requested, f.stats().live), (8 * 4096, 8 * 4096, 8));
        assert!(matches!(f.allocate_run(0, 1), Err(AllocError::Unsupported { .. })));
        assert!(matches!(f.allocate_run(1, 3), Err(AllocError::Unsupported { .. })));
        assert!(matches!(f.allocate_run(101, 1), Err(AllocError::Unsupported { .. })));
    }

    #[test]
    fn exhaustion_leaves_it_intact() {
        let mut bits = [0u32; 1];
        let mut f = Frames::new(span(0, 10), PAGE, &mut bits);
        let a = f.allocate_run(4, 1).unwrap();
        f.allocate_frame().unwrap();
        let before = f.stats();
        let err = f.allocate_run(6, 1).unwrap_err();
        assert_eq!(
            err,
            AllocError::Exhausted {
                layout: Layout::from_size_align(6 * 4096, 4096).unwrap(),
                free: 5 * 4096,
                largest: 5 * 4096
            }
        );
        assert!(f.allocate_run(3, 8).is_err(), "frames 8..11 run past the end");
        assert_eq!(f.stats().used, before.used);
        assert_eq!(f.stats().failures, before.failures + 2);
        assert_eq!(f.free_frames(), 5);
        f.free_run(a).unwrap();
        assert_eq!((f.free_frames(), f.largest_free_run()), (9, 5), "0..4 and 5..10");
    }

    #[test]
    fn foreign_and_double_frees_are_refused_in_every_build() {
        let mut bits = [0u32; 1];
        let mut f = Frames::new(span(0x1_0000, 8), PAGE, &mut bits);
        let r = f.allocate_run(4, 1).unwrap();
        let before = f.stats();
        for bad in [
            Span::at(0x1_0000 - 4096, ByteSize::bytes(4096)),
            Span::at(0x1_0800, ByteSize::bytes(4096)),
            Span::at(0x1_0000, ByteSize::bytes(100)),
            Span::at(0x1_0000, ByteSize::ZERO),
            Span::at(0x1_7000, ByteSize::bytes(2 * 4096)),
        ] {
            assert!(matches!(f.free_run(bad), Err(FreeError::Foreign { .. })), "{bad}");
        }
        assert!(matches!(f.free_frame(Address::new(u64::MAX)), Err(FreeError::Foreign { .. })));
        // Frames 4..6 were never allocated.
        assert_eq!(
            f.free_run(Span::at(0x1_3000, ByteSize::bytes(2 * 4096))),
            Err(FreeError::DoubleFree { addr: 0x1_4000 })
        );
        assert_eq!(f.stats(), before, "refused frees change nothing");
        // Freed in pieces.
        f.free_frame(Address::new(0x1_1000)).unwrap();
        assert_eq!(f.free_run(r), Err(FreeError::DoubleFree { addr: 0x1_1000 }));
        f.free_frame(r.start()).unwrap();
        f.free_run(Span::at(0x1_2000, ByteSize::bytes(2 * 4096))).unwrap();
        assert_eq!((f.free_frames(), f.largest_free_run(), f.stats().live), (8, 8, 0));
        assert_eq!(f.stats().frees, 3);
    }
}

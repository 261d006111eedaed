//! A single-producer single-consumer ring of variable-length records, laid over a byte span
//! (typically a shared region of a [`Layout`](crate::layout::Layout)) so that two components
//! hand data over in place: the producer writes a record where the consumer will read it.
//!
//! Everything the two sides must agree on is inside the span, at fixed offsets: the ring holds
//! no pointer, only offsets, so the two sides may see the span at different addresses (two
//! images, or two WebAssembly modules whose linear memories both include it). [`split`] formats
//! a span and hands out both halves; [`format`] formats raw memory, and [`Producer::attach`] and
//! [`Consumer::attach`] let each component take its half of a ring another one formatted.
//!
//! ```
//! use flight_memory::sync::ring;
//!
//! // A 64-aligned buffer; in a layout, the shared segment.
//! let mut shared = ring::Buffer::<{ ring::footprint(256) }>::new();
//! let (mut tx, mut rx) = ring::split(shared.as_mut_slice()).unwrap();
//! assert_eq!(tx.capacity(), 256);
//!
//! // The producer writes in place, then publishes.
//! let mut grant = tx.reserve(5).unwrap();
//! grant.copy_from_slice(b"hello");
//! grant.commit();
//! tx.push(b"world").unwrap();
//!
//! // The consumer reads in place, then frees the space.
//! let record = rx.peek().unwrap().unwrap();
//! assert_eq!(&*record, b"hello");
//! record.release();
//! assert_eq!(&*rx.peek().unwrap().unwrap(), b"world");
//! ```
//!
//! # Format
//!
//! All numbers are 32-bit little-endian words (the byte order of every console here), aligned to
//! 4 bytes; the span's first byte must be aligned to 4 (64 keeps the index words on cache
//! lines of their own).
//!
//! | offset | size | contents |
//! |---|---|---|
//! | 0x00 | 4 | magic: the bytes `F` `R` `N` `G` |
//! | 0x04 | 4 | format version: 1 |
//! | 0x08 | 4 | `capacity`: size of the data area in bytes, a power of two, 16 to 2^31 |
//! | 0x0C | 52 | zero |
//! | 0x40 | 4 | `head`: bytes ever written, wrapping at 2^32; written only by the producer |
//! | 0x44 | 60 | zero |
//! | 0x80 | 4 | `tail`: bytes ever released, wrapping at 2^32; written only by the consumer |
//! | 0x84 | 60 | zero |
//! | 0xC0 | `capacity` | data area |
//!
//! Anything after the data area (the rest of a span whose data part is not a power of two) is
//! not used. A counter's position in the data area is the counter modulo `capacity`.
//! `head - tail` (wrapping) is the number of bytes in use, at most `capacity`; the ring is empty
//! when they are equal. Bytes from `tail` up to `head` belong to the consumer, the rest to the
//! producer.
//!
//! The data area holds records from `tail` to `head`, each at a position that is a multiple of
//! 4, each starting with a word:
//!
//! - a length `L` (at most `capacity / 2 - 4`): the record's `L` payload bytes follow the word,
//!   then 0 to 3 bytes of padding up to the next multiple of 4; the record takes
//!   `4 + L` rounded up to a multiple of 4 bytes. Payloads start 4-aligned.
//! - `0xFFFF_FFFF` (a skip): the rest of the data area, up to its end, is unused; the next record
//!   is at position 0. The producer writes one when a record does not fit before the end, so a
//!   record's bytes are always contiguous.
//!
//! # Synchronisation
//!
//! The producer writes a record's payload and length word, then stores `head` with release
//! ordering; the consumer loads `head` with acquire ordering before it reads the record, reads
//! it, and stores `tail` with release ordering; the producer loads `tail` with acquire ordering
//! before it reuses the space. The words are `AtomicU32`s where the target has 32-bit atomics
//! and volatile words ordered by compiler barriers on the PlayStation, which has none: sound on
//! its one core, as [the module docs](super) explain. Each side keeps its own copy of its counter and
//! reads the other side's only when it needs more room or more records. A side never trusts
//! what the other wrote: impossible counters or lengths are reported as [`RingError::Corrupt`],
//! and no access leaves the span whatever they hold.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::SharedU32;

/// The magic at offset 0.
pub const MAGIC: [u8; 4] = *b"FRNG";
/// The format version at offset 4.
pub const VERSION: u32 = 1;
/// The header's size: the data area starts here.
pub const HEADER: usize = 0xC0;
/// The smallest data area.
pub const MIN_CAPACITY: usize = 16;
/// The largest data area.
pub const MAX_CAPACITY: usize = 1 << 31;
/// The word that marks the rest of the data area as skipped.
pub const SKIP: u32 = u32::MAX;

const CAPACITY_AT: usize = 0x08;
const HEAD_AT: usize = 0x40;
const TAIL_AT: usize = 0x80;

/// The span size a ring of `capacity` data bytes needs (a power of two, at least
/// [`MIN_CAPACITY`]).
pub const fn footprint(capacity: usize) -> usize {
    HEADER + capacity
}

/// A span for a ring of `N` bytes (header included: [`footprint`]) aligned to 64 bytes, for a
/// `static` or a local; `const`, and uninitialised until [`split`] formats it.
#[repr(C, align(64))]
pub struct Buffer<const N: usize>(pub [MaybeUninit<u8>; N]);

impl<const N: usize> Buffer<N> {
    /// An uninitialised buffer.
    pub const fn new() -> Self {
        Self([MaybeUninit::uninit(); N])
    }

    /// Its bytes, for [`split`].
    pub fn as_mut_slice(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.0
    }
}

impl<const N: usize> Default for Buffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for Buffer<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buffer<{N}>")
    }
}

/// The size of a record of `len` payload bytes in the data area.
#[inline]
const fn record_size(len: u32) -> u32 {
    4 + ((len + 3) & !3)
}

/// Why a ring refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum RingError {
    /// The span's first byte is not aligned to 4.
    Misaligned {
        /// Its address.
        address: usize,
    },
    /// The span cannot hold the header and a data area of [`MIN_CAPACITY`].
    TooSmall {
        /// Its size.
        len: usize,
    },
    /// The header does not describe a ring of this format that fits the span.
    BadHeader {
        /// What is wrong.
        why: &'static str,
    },
    /// A record larger than the ring takes.
    TooLarge {
        /// The payload asked for.
        len: usize,
        /// The largest payload ([`Producer::max_len`]).
        max: usize,
    },
    /// Not enough free room now: retry once the consumer has released records.
    Full {
        /// The bytes the record needs (with its length word, padding, and any skip).
        needed: usize,
        /// The bytes free.
        free: usize,
    },
    /// The other side wrote something impossible.
    Corrupt {
        /// What.
        why: &'static str,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Misaligned { address } => write!(f, "a ring's span must be 4-aligned, not at {address:#x}"),
            Self::TooSmall { len } => write!(
                f,
                "a span of {len} bytes cannot hold a ring ({HEADER} header bytes and {MIN_CAPACITY} data bytes)"
            ),
            Self::BadHeader { why } => write!(f, "not a ring: {why}"),
            Self::TooLarge { len, max } => write!(f, "a record of {len} bytes, over the ring's {max}"),
            Self::Full { needed, free } => {
                write!(f, "the ring has {free} bytes free, a record needs {needed}")
            }
            Self::Corrupt { why } => write!(f, "the ring is corrupt: {why}"),
        }
    }
}

impl core::error::Error for RingError {}

/// What both halves know of the ring.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// The span's first byte.
    base: NonNull<u8>,
    /// The data area's size, a power of two.
    capacity: u32,
}

impl Shape {
    /// Checks the span's alignment and size; the capacity it can hold.
    fn fit(base: NonNull<u8>, len: usize) -> Result<u32, RingError> {
        let address = base.as_ptr() as usize;
        if !address.is_multiple_of(4) {
            return Err(RingError::Misaligned { address });
        }
        let room =
            len.checked_sub(HEADER).filter(|&r| r >= MIN_CAPACITY).ok_or(RingError::TooSmall { len })?;
        let capacity = if room >= MAX_CAPACITY { MAX_CAPACITY } else { 1 << room.ilog2() };
        // At most 2^31: fits.
        Ok(capacity as u32)
    }

    /// Reads and checks a header another side wrote.
    ///
    /// # Safety
    /// `base` is valid for reads of `len` bytes.
    unsafe fn read(base: NonNull<u8>, len: usize) -> Result<Self, RingError> {
        Self::fit(base, len)?;
        let bad = |why| Err(RingError::BadHeader { why });
        // SAFETY: the header lies inside the span (`fit` checked `len >= HEADER`); the span is
        // 4-aligned, so are these words. Plain reads: the header's first words are written once,
        // before either side attaches.
        let (magic, version, capacity) = unsafe {
            let p = base.as_ptr();
            let word = |at: usize| u32::from_le(p.add(at).cast::<u32>().read());
            (p.cast::<[u8; 4]>().read(), word(4), word(CAPACITY_AT))
        };
        if magic != MAGIC {
            return bad("wrong magic");
        }
        if version != VERSION {
            return bad("unknown format version");
        }
        let c = capacity as usize;
        if !c.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&c) {
            return bad("the capacity is not a power of two from 16 to 2^31");
        }
        if footprint(c) > len {
            return bad("the data area runs past the span");
        }
        Ok(Self { base, capacity })
    }

    /// The index word at `at` (`HEAD_AT` or `TAIL_AT`).
    fn word(&self, at: usize) -> &SharedU32 {
        // SAFETY: `at` is inside the header, 4-aligned like the span; the span is valid for the
        // halves' lifetime (their constructors' contracts), and the index words are only ever
        // accessed as shared words once the ring is formatted.
        unsafe { SharedU32::from_ptr(self.base.as_ptr().add(at).cast()) }
    }

    /// A pointer to data-area position `pos` (below `capacity`).
    fn data(&self, pos: u32) -> *mut u8 {
        // SAFETY: `pos < capacity` and the data area (`HEADER..HEADER + capacity`) is inside the
        // span, checked when the half was made.
        unsafe { self.base.as_ptr().add(HEADER + pos as usize) }
    }

    /// The largest payload.
    fn max_len(&self) -> u32 {
        self.capacity / 2 - 4
    }
}

/// Formats the span `base..base + len` as an empty ring (header written, data area zeroed) and
/// returns its capacity: the largest power of two of data bytes that fits after the header.
///
/// # Safety
/// `base` must be valid for writes of `len` bytes, and nothing may use the span meanwhile (no
/// half of an earlier ring on it may be used afterwards).
pub unsafe fn format(base: NonNull<u8>, len: usize) -> Result<usize, RingError> {
    let capacity = Shape::fit(base, len)?;
    let p = base.as_ptr();
    // SAFETY: the caller gives us the span for writing; `fit` checked it holds the header and the
    // data area, and its alignment. The data area is zeroed so that the halves can hand out
    // `&[u8]` and `&mut [u8]` over initialised bytes.
    unsafe {
        p.write_bytes(0, footprint(capacity as usize));
        p.cast::<[u8; 4]>().write(MAGIC);
        p.add(4).cast::<u32>().write(VERSION.to_le());
        p.add(CAPACITY_AT).cast::<u32>().write(capacity.to_le());
    }
    Ok(capacity as usize)
}

/// Formats `span` as an empty ring and splits it into its two halves.
pub fn split<'a>(span: &'a mut [MaybeUninit<u8>]) -> Result<(Producer<'a>, Consumer<'a>), RingError> {
    let len = span.len();
    let base = NonNull::from(span).cast::<u8>();
    // SAFETY: the exclusive borrow gives us the span for `'a`; it is formatted before either half
    // exists, and the two halves each touch only their own part (see `Producer` and `Consumer`).
    unsafe {
        format(base, len)?;
        Ok((Producer::attach(base, len)?, Consumer::attach(base, len)?))
    }
}

/// The producing half of a ring: reserves room for a record, writes it in place and publishes it.
pub struct Producer<'a> {
    shape: Shape,
    /// `head` as this side last published it (only this side writes it).
    head: u32,
    /// `tail` as last read.
    tail: u32,
    _span: PhantomData<&'a mut [u8]>,
}

// SAFETY: the producer touches only the head word, the header's constant words (read) and the
// free part of the data area, which the consumer leaves alone until `head` is published with
// release ordering; it may move to another thread (or context) with the span's borrow.
unsafe impl Send for Producer<'_> {}

impl<'a> Producer<'a> {
    /// The producing half of the ring formatted at `base..base + len`.
    ///
    /// # Safety
    /// The span must be valid for reads and writes for `'a`; [`format`] (or [`split`]) must have
    /// made it a ring before; at most one `Producer` of it may exist at a time; and besides its
    /// one `Consumer`, nothing else may write to it meanwhile.
    pub unsafe fn attach(base: NonNull<u8>, len: usize) -> Result<Self, RingError> {
        // SAFETY: the caller's contract covers reading the span.
        let shape = unsafe { Shape::read(base, len)? };
        let head = shape.word(HEAD_AT).load_relaxed();
        let tail = shape.word(TAIL_AT).load_acquire();
        Ok(Self { shape, head, tail, _span: PhantomData })
    }

    /// The data area's size.
    pub fn capacity(&self) -> usize {
        self.shape.capacity as usize
    }

    /// The largest payload a record can have: half the capacity less its length word, so that a
    /// record fits wherever the free room starts once the ring is empty.
    pub fn max_len(&self) -> usize {
        self.shape.max_len() as usize
    }

    /// Free bytes as last seen (a record of `len` bytes needs `4 + len` rounded up to 4, and
    /// more when it must skip to the start of the data area).
    pub fn free(&mut self) -> Result<usize, RingError> {
        self.refresh()?;
        Ok((self.shape.capacity - self.head.wrapping_sub(self.tail)) as usize)
    }

    /// Re-reads `tail`.
    fn refresh(&mut self) -> Result<(), RingError> {
        let tail = self.shape.word(TAIL_AT).load_acquire();
        if self.head.wrapping_sub(tail) > self.shape.capacity {
            return Err(RingError::Corrupt { why: "tail is not within capacity behind head" });
        }
        self.tail = tail;
        Ok(())
    }

    /// Reserves room for a record of `len` payload bytes and returns it to be written in place;
    /// nothing is published until [`Grant::commit`]. The grant's bytes hold whatever was there
    /// before.
    pub fn reserve(&mut self, len: usize) -> Result<Grant<'_, 'a>, RingError> {
        let max = self.shape.max_len();
        let len32 = u32::try_from(len)
            .ok()
            .filter(|&l| l <= max)
            .ok_or(RingError::TooLarge { len, max: max as usize })?;
        let size = record_size(len32);
        let capacity = self.shape.capacity;
        let pos = self.head & (capacity - 1);
        let to_end = capacity - pos;
        // A record never wraps: if it does not fit before the end, skip to the start.
        let skip = if size <= to_end { 0 } else { to_end };
        let needed = skip + size;
        if capacity - self.head.wrapping_sub(self.tail) < needed {
            self.refresh()?;
            let free = capacity - self.head.wrapping_sub(self.tail);
            if free < needed {
                return Err(RingError::Full { needed: needed as usize, free: free as usize });
            }
        }
        if skip != 0 {
            // SAFETY: `pos` is a multiple of 4 below `capacity`, so the word fits before the
            // end; it is in the free part (room for `skip + size` bytes from `head` was checked),
            // which is this side's until `head` is published past it.
            unsafe { self.shape.data(pos).cast::<u32>().write(SKIP.to_le()) };
        }
        let start = if skip != 0 { 0 } else { pos };
        Ok(Grant { producer: self, skip, start, len: len32 })
    }

    /// Copies `bytes` into a new record and publishes it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), RingError> {
        let mut grant = self.reserve(bytes.len())?;
        grant.copy_from_slice(bytes);
        grant.commit();
        Ok(())
    }
}

impl fmt::Debug for Producer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &self.shape.capacity)
            .field("head", &self.head)
            .field("tail", &self.tail)
            .finish()
    }
}

/// Room for one record, reserved by [`Producer::reserve`]: its payload bytes, to write in place.
/// [`commit`](Self::commit) publishes the record; dropping the grant abandons it (nothing is
/// published, and the next reservation starts at the same place).
#[must_use = "a grant publishes nothing unless committed"]
pub struct Grant<'p, 'a> {
    producer: &'p mut Producer<'a>,
    /// Bytes skipped at the end of the data area before the record.
    skip: u32,
    /// The record's position (its length word).
    start: u32,
    len: u32,
}

impl Grant<'_, '_> {
    /// Publishes the record with all the bytes reserved.
    pub fn commit(self) {
        let len = self.len;
        self.commit_len(len as usize);
    }

    /// Publishes the record with only its first `len` bytes (a `len` over the bytes reserved
    /// publishes them all); the room of the rest is free again.
    pub fn commit_len(self, len: usize) {
        let len = u32::try_from(len).map_or(self.len, |l| l.min(self.len));
        let p = &mut *self.producer;
        // SAFETY: the length word is at `start`, a multiple of 4 with the whole record before the
        // end of the data area (`reserve` checked), in the producer's free part.
        unsafe { p.shape.data(self.start).cast::<u32>().write(len.to_le()) };
        p.head = p.head.wrapping_add(self.skip + record_size(len));
        // Release: the payload and the length word (and any skip word) are written before the
        // consumer can see the new head.
        p.shape.word(HEAD_AT).store_release(p.head);
    }
}

impl Deref for Grant<'_, '_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: the payload (`len` bytes after the length word) is inside the data area and in
        // the producer's free part, which the consumer does not touch; the bytes were initialised
        // by `format` or by earlier records. The grant borrows the producer exclusively.
        unsafe { core::slice::from_raw_parts(self.producer.shape.data(self.start).add(4), self.len as usize) }
    }
}

impl DerefMut for Grant<'_, '_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `deref`, and `&mut self` makes the borrow exclusive.
        unsafe {
            core::slice::from_raw_parts_mut(self.producer.shape.data(self.start).add(4), self.len as usize)
        }
    }
}

/// The consuming half of a ring: reads records in place and releases their room.
pub struct Consumer<'a> {
    shape: Shape,
    /// `tail` as this side last published it (only this side writes it).
    tail: u32,
    /// `head` as last read.
    head: u32,
    _span: PhantomData<&'a mut [u8]>,
}

// SAFETY: the consumer touches only the tail word, the header's constant words (read) and the
// used part of the data area, which the producer leaves alone until `tail` is published past it
// with release ordering; it may move to another thread (or context) with the span's borrow.
unsafe impl Send for Consumer<'_> {}

impl<'a> Consumer<'a> {
    /// The consuming half of the ring formatted at `base..base + len`.
    ///
    /// # Safety
    /// As [`Producer::attach`], for at most one `Consumer`.
    pub unsafe fn attach(base: NonNull<u8>, len: usize) -> Result<Self, RingError> {
        // SAFETY: the caller's contract covers reading the span.
        let shape = unsafe { Shape::read(base, len)? };
        let tail = shape.word(TAIL_AT).load_relaxed();
        let head = shape.word(HEAD_AT).load_acquire();
        Ok(Self { shape, tail, head, _span: PhantomData })
    }

    /// The data area's size.
    pub fn capacity(&self) -> usize {
        self.shape.capacity as usize
    }

    /// Re-reads `head`.
    fn refresh(&mut self) -> Result<(), RingError> {
        let head = self.shape.word(HEAD_AT).load_acquire();
        if head.wrapping_sub(self.tail) > self.shape.capacity {
            return Err(RingError::Corrupt { why: "head is not within capacity ahead of tail" });
        }
        self.head = head;
        Ok(())
    }

    /// Bytes in use (records, their length words and skips), as now published.
    pub fn used(&mut self) -> Result<usize, RingError> {
        self.refresh()?;
        Ok(self.head.wrapping_sub(self.tail) as usize)
    }

    /// The oldest record, to read in place, or `None` if there is none; it stays in the ring
    /// until [`Record::release`].
    pub fn peek(&mut self) -> Result<Option<Record<'_, 'a>>, RingError> {
        let capacity = self.shape.capacity;
        // At most one skip: after one, the next record is at position 0.
        for _ in 0..2 {
            if self.head == self.tail {
                self.refresh()?;
                if self.head == self.tail {
                    return Ok(None);
                }
            }
            let available = self.head.wrapping_sub(self.tail);
            let pos = self.tail & (capacity - 1);
            // SAFETY: `pos` is a multiple of 4 below `capacity` (every record size is, and
            // `capacity` is a power of two of at least 16), so the word is inside the data area;
            // it is in the used part (available > 0, and used parts are multiples of 4), published
            // by the acquire load of `head`.
            let word = u32::from_le(unsafe { self.shape.data(pos).cast::<u32>().read() });
            if word == SKIP {
                let skip = capacity - pos;
                if pos == 0 || skip > available {
                    return Err(RingError::Corrupt { why: "a skip at position 0 or past head" });
                }
                self.tail = self.tail.wrapping_add(skip);
                self.shape.word(TAIL_AT).store_release(self.tail);
                continue;
            }
            if word > self.shape.max_len() {
                return Err(RingError::Corrupt { why: "a record is longer than the ring allows" });
            }
            let size = record_size(word);
            if size > available || size > capacity - pos {
                return Err(RingError::Corrupt { why: "a record runs past head or the data area" });
            }
            return Ok(Some(Record { consumer: self, pos, len: word }));
        }
        // A skip leads to position 0, where a skip is refused above.
        Err(RingError::Corrupt { why: "a skip at position 0" })
    }
}

impl fmt::Debug for Consumer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("capacity", &self.shape.capacity)
            .field("tail", &self.tail)
            .field("head", &self.head)
            .finish()
    }
}

/// The oldest record of a ring, read in place: its payload bytes. [`release`](Self::release)
/// frees its room; dropping it leaves it in the ring.
pub struct Record<'c, 'a> {
    consumer: &'c mut Consumer<'a>,
    /// Its position (its length word).
    pos: u32,
    len: u32,
}

impl Record<'_, '_> {
    /// Frees the record's room for the producer.
    pub fn release(self) {
        let c = &mut *self.consumer;
        c.tail = c.tail.wrapping_add(record_size(self.len));
        // Release: every read of the record happens before the producer can reuse its room.
        c.shape.word(TAIL_AT).store_release(c.tail);
    }
}

impl Deref for Record<'_, '_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `peek` checked the record lies inside the data area and the used part, which
        // the producer does not write until `tail` moves past it; the bytes were published by
        // the acquire load of `head` and are initialised (`format` zeroed the data area).
        unsafe { core::slice::from_raw_parts(self.consumer.shape.data(self.pos).add(4), self.len as usize) }
    }
}

impl fmt::Debug for Record<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record").field("pos", &self.pos).field("len", &self.len).finish()
    }
}

impl fmt::Debug for Grant<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant").field("start", &self.start).field("len", &self.len).finish()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    fn span<const N: usize>() -> Buffer<N> {
        Buffer::new()
    }

    #[test]
    fn capacity_is_the_largest_power_of_two_after_the_header() {
        let mut s = span::<{ HEADER + 100 }>();
        let (tx, rx) = split(s.as_mut_slice()).unwrap();
        assert_eq!((tx.capacity(), rx.capacity(), tx.max_len()), (64, 64, 28));
        let mut small = span::<{ HEADER + 15 }>();
        assert_eq!(split(small.as_mut_slice()).unwrap_err(), RingError::TooSmall { len: HEADER + 15 });
    }

    /// A 64-aligned span of `HEADER + 64` bytes, reached only through the returned pointer.
    fn raw_span() -> (std::boxed::Box<[u64]>, NonNull<u8>) {
        let mut b = std::vec![0xAAAA_AAAA_AAAA_AAAAu64; (HEADER + 64) / 8].into_boxed_slice();
        let base = NonNull::from(&mut *b).cast::<u8>();
        (b, base)
    }

    /// The bytes of the span.
    fn bytes(base: NonNull<u8>) -> std::vec::Vec<u8> {
        // SAFETY: `HEADER + 64` initialised bytes; no half is in use while they are read.
        unsafe { core::slice::from_raw_parts(base.as_ptr(), HEADER + 64) }.to_vec()
    }

    #[test]
    fn the_header_is_laid_out_as_documented() {
        let (_keep, base) = raw_span();
        // SAFETY: the span is ours for the test, reached only through `base`.
        let capacity = unsafe { format(base, HEADER + 64) }.unwrap();
        assert_eq!(capacity, 64);
        let s = bytes(base);
        assert_eq!(&s[..12], b"FRNG\x01\0\0\0\x40\0\0\0");
        assert!(s[12..].iter().all(|&b| b == 0));
        {
            // SAFETY: formatted above; one producer and one consumer, dropped before the checks.
            let (mut tx, mut rx) = unsafe {
                (Producer::attach(base, HEADER + 64).unwrap(), Consumer::attach(base, HEADER + 64).unwrap())
            };
            tx.push(&[1, 2, 3, 4, 5]).unwrap();
            rx.peek().unwrap().unwrap().release();
        }
        let s = bytes(base);
        assert_eq!(&s[HEAD_AT..HEAD_AT + 4], &[12, 0, 0, 0]);
        assert_eq!(&s[TAIL_AT..TAIL_AT + 4], &[12, 0, 0, 0]);
        assert_eq!(&s[HEADER..HEADER + 12], &[5, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0]);
        // SAFETY: the span's first byte, with no half alive.
        unsafe { base.as_ptr().write(b'X') };
        // SAFETY: as above.
        assert!(matches!(unsafe { Consumer::attach(base, HEADER + 64) }, Err(RingError::BadHeader { .. })));
        // SAFETY: two bytes into the span: inside it, so not null.
        let odd = unsafe { NonNull::new_unchecked(base.as_ptr().add(2)) };
        // SAFETY: the span is ours; a misaligned one is refused before anything is written.
        let refused = unsafe { format(odd, 100) };
        assert_eq!(refused, Err(RingError::Misaligned { address: odd.as_ptr() as usize }));
    }

    #[test]
    fn records_skip_to_the_start_rather_than_wrap() {
        let mut s = span::<{ HEADER + 64 }>();
        let (mut tx, mut rx) = split(s.as_mut_slice()).unwrap();
        tx.push(&[7; 20]).unwrap(); // 24 bytes
        tx.push(&[8; 20]).unwrap(); // 48
        rx.peek().unwrap().unwrap().release();
        rx.peek().unwrap().unwrap().release();
        // 16 bytes to the end: a 24-byte record skips them and starts at 0.
        tx.push(&[9; 20]).unwrap();
        assert_eq!(rx.used().unwrap(), 16 + 24);
        assert_eq!(&*rx.peek().unwrap().unwrap(), &[9; 20]);
    }

    #[test]
    fn corrupt_indices_are_reported_not_followed() {
        let (_keep, base) = raw_span();
        // SAFETY: the span is ours for the test, reached only through `base`; the words the test
        // scribbles on are written while neither half is running (one thread).
        let (mut tx, mut rx) = unsafe {
            format(base, HEADER + 64).unwrap();
            (Producer::attach(base, HEADER + 64).unwrap(), Consumer::attach(base, HEADER + 64).unwrap())
        };
        tx.push(&[1; 4]).unwrap();
        // Another component scribbles a length word that runs past head.
        // SAFETY: see above.
        unsafe { base.as_ptr().add(HEADER).cast::<u32>().write(12) };
        assert!(matches!(rx.peek(), Err(RingError::Corrupt { .. })));
        // A skip at position 0.
        // SAFETY: see above.
        unsafe { base.as_ptr().add(HEADER).cast::<u32>().write(SKIP) };
        assert!(matches!(rx.peek(), Err(RingError::Corrupt { .. })));
        // A head beyond capacity.
        // SAFETY: see above.
        unsafe { base.as_ptr().add(HEAD_AT).cast::<u32>().write(1000) };
        assert!(matches!(rx.peek(), Err(RingError::Corrupt { .. })));
        // SAFETY: see above.
        unsafe { base.as_ptr().add(TAIL_AT).cast::<u32>().write(1000) };
        assert!(matches!(tx.free(), Err(RingError::Corrupt { .. })));
    }
}

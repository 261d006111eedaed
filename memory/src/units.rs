//! Units: byte sizes, addresses, alignments and spans.
//!
//! Consoles here are 32-bit, but later profiles model 64-bit machines, so every quantity is held
//! in a `u64`. All constructors are `const fn`, so platform maps are plain constants.
//!
//! Formatting is meant for people: `ByteSize` prints the largest exact binary unit
//! (`2 MiB`, `1536 KiB`, `7 B`) and `Address` prints grouped hexadecimal (`0x8001_0000`).

use core::fmt;

/// One kibibyte (1024 bytes).
pub const KIB: u64 = 1024;
/// One mebibyte.
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub const GIB: u64 = 1024 * MIB;

/// A number of bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(u64);

impl ByteSize {
    /// Zero bytes.
    pub const ZERO: Self = Self(0);

    /// `n` bytes.
    pub const fn bytes(n: u64) -> Self {
        Self(n)
    }

    /// `n` KiB. Platform maps are constants, so overflow here is a compile-time error.
    pub const fn kib(n: u64) -> Self {
        Self(n * KIB)
    }

    /// `n` MiB.
    pub const fn mib(n: u64) -> Self {
        Self(n * MIB)
    }

    /// The size in bytes.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The sum, or `None` on overflow.
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
}

/// Formats into a stack buffer, then hands the text to `f.pad` so width and alignment flags
/// (`{:>8}`) work without a heap.
fn pad(f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>) -> fmt::Result {
    struct Buf {
        bytes: [u8; 40],
        len: usize,
    }
    impl fmt::Write for Buf {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len + s.len();
            self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    let mut buf = Buf { bytes: [0; 40], len: 0 };
    fmt::write(&mut buf, args)?;
    // Only whole `&str`s were copied in, so the prefix is valid UTF-8.
    f.pad(core::str::from_utf8(&buf.bytes[..buf.len]).map_err(|_| fmt::Error)?)
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
            if n != 0 && n.is_multiple_of(unit) {
                return pad(f, format_args!("{} {}", n / unit, name));
            }
        }
        pad(f, format_args!("{n} B"))
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An address in some address space (a CPU view, a physical bus, or a device's own space).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(u64);

impl Address {
    /// The address `a`.
    pub const fn new(a: u64) -> Self {
        Self(a)
    }

    /// The address as an integer.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + size`, or `None` past the end of the 64-bit space.
    pub const fn checked_add(self, size: ByteSize) -> Option<Self> {
        match self.0.checked_add(size.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The distance from `base` up to `self`, or `None` if `self` is below `base`.
    pub const fn offset_from(self, base: Address) -> Option<ByteSize> {
        match self.0.checked_sub(base.0) {
            Some(v) => Some(ByteSize(v)),
            None => None,
        }
    }

    /// Whether the address is a multiple of `align`.
    pub const fn is_aligned(self, align: Alignment) -> bool {
        self.0 & (align.0 - 1) == 0
    }

    /// The next multiple of `align` at or above `self`, or `None` on overflow.
    pub const fn align_up(self, align: Alignment) -> Option<Self> {
        let mask = align.0 - 1;
        match self.0.checked_add(mask) {
            Some(v) => Some(Self(v & !mask)),
            None => None,
        }
    }
}

impl fmt::Display for Address {
    /// Grouped hexadecimal, at least eight digits: `0x8001_0000`, `0x1_0000_0000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hi, lo) = ((self.0 >> 32) as u32, self.0 as u32);
        let (lo_hi, lo_lo) = (lo >> 16, lo & 0xffff);
        match hi {
            0 => pad(f, format_args!("0x{lo_hi:04x}_{lo_lo:04x}")),
            _ if hi <= 0xffff => pad(f, format_args!("0x{hi:x}_{lo_hi:04x}_{lo_lo:04x}")),
            _ => pad(f, format_args!("0x{:x}_{:04x}_{lo_hi:04x}_{lo_lo:04x}", hi >> 16, hi & 0xffff)),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A power-of-two alignment, checked when it is made.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alignment(u64);

/// An alignment that is not a power of two.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AlignmentError(pub u64);

impl fmt::Display for AlignmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "alignment {} is not a power of two", self.0)
    }
}

impl core::error::Error for AlignmentError {}

impl Alignment {
    /// Byte alignment (1).
    pub const BYTE: Self = Self(1);

    /// `n` bytes, which must be a power of two.
    pub const fn new(n: u64) -> Result<Self, AlignmentError> {
        if n.is_power_of_two() { Ok(Self(n)) } else { Err(AlignmentError(n)) }
    }

    /// `n` bytes, for constants: a value that is not a power of two fails to compile.
    pub const fn of(n: u64) -> Self {
        match Self::new(n) {
            Ok(a) => a,
            Err(_) => panic!("an alignment must be a power of two"),
        }
    }

    /// The alignment in bytes.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The larger of two alignments.
    pub const fn max(self, other: Self) -> Self {
        if self.0 >= other.0 { self } else { other }
    }

    /// `n` rounded up to a multiple of this alignment, or `None` on overflow.
    pub const fn round_up(self, n: u64) -> Option<u64> {
        match n.checked_add(self.0 - 1) {
            Some(v) => Some(v & !(self.0 - 1)),
            None => None,
        }
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&ByteSize(self.0), f)
    }
}

impl fmt::Debug for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Alignment({self})")
    }
}

/// A half-open address range `[start, start + size)`.
///
/// The end is never computed past `u64::MAX`: a span that would wrap is refused by
/// [`Span::new`], so `end()` is always exact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    start: Address,
    size: ByteSize,
}

impl Span {
    /// The span of `size` bytes at `start`, or `None` if it would run past the end of the
    /// 64-bit address space.
    pub const fn new(start: Address, size: ByteSize) -> Option<Self> {
        match start.checked_add(size) {
            Some(_) => Some(Self { start, size }),
            None => None,
        }
    }

    /// Like [`Span::new`] for constants: a span that wraps fails to compile.
    pub const fn at(start: u64, size: ByteSize) -> Self {
        match Self::new(Address(start), size) {
            Some(s) => s,
            None => panic!("span runs past the end of the address space"),
        }
    }

    /// The span from `start` up to `end` (not included), such as the span between two linker
    /// symbols; empty at `start` if `end` lies below it (a script that puts them out of order:
    /// the image's checks then report the empty part).
    pub const fn between(start: u64, end: u64) -> Self {
        // `start + (end - start)` is `end`, so the span never wraps.
        Self { start: Address(start), size: ByteSize(end.saturating_sub(start)) }
    }

    /// The first address.
    pub const fn start(self) -> Address {
        self.start
    }

    /// The size.
    pub const fn size(self) -> ByteSize {
        self.size
    }

    /// One past the last address.
    pub const fn end(self) -> Address {
        Address(self.start.0 + self.size.0)
    }

    /// Whether `addr` lies inside.
    pub const fn contains(self, addr: Address) -> bool {
        addr.0 >= self.start.0 && addr.0 < self.end().0
    }

    /// Whether `other` lies wholly inside.
    pub const fn contains_span(self, other: Span) -> bool {
        other.start.0 >= self.start.0 && other.end().0 <= self.end().0
    }

    /// Whether the two spans share at least one byte.
    pub const fn overlaps(self, other: Span) -> bool {
        self.start.0 < other.end().0 && other.start.0 < self.end().0
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{} ({})", self.start, self.end(), self.size)
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(format!("{}", ByteSize::mib(2)), "2 MiB");
        assert_eq!(format!("{}", ByteSize::kib(512)), "512 KiB");
        assert_eq!(format!("{}", ByteSize::kib(1536)), "1536 KiB");
        assert_eq!(format!("{}", ByteSize::bytes(7)), "7 B");
        assert_eq!(format!("{}", ByteSize::ZERO), "0 B");
        assert_eq!(format!("{}", ByteSize::bytes(4 * GIB)), "4 GiB");
    }

    #[test]
    fn addresses_print_grouped() {
        assert_eq!(format!("{}", Address::new(0x8001_0000)), "0x8001_0000");
        assert_eq!(format!("{}", Address::new(0)), "0x0000_0000");
        assert_eq!(format!("{}", Address::new(0x1_0000_0000)), "0x1_0000_0000");
        assert_eq!(format!("{}", Address::new(0xffff_ffff_ffff_ffff)), "0xffff_ffff_ffff_ffff");
    }

    #[test]
    fn alignment_must_be_a_power_of_two() {
        assert!(Alignment::new(0).is_err());
        assert!(Alignment::new(12).is_err());
        assert_eq!(Alignment::new(16).map(Alignment::get), Ok(16));
        let a = Alignment::new(0x1000).unwrap();
        assert_eq!(Address::new(0x1001).align_up(a), Some(Address::new(0x2000)));
        assert_eq!(Address::new(u64::MAX).align_up(a), None);
        assert!(Address::new(0x3000).is_aligned(a));
    }

    #[test]
    fn spans_refuse_to_wrap_and_compare_exactly() {
        assert!(Span::new(Address::new(u64::MAX), ByteSize::bytes(2)).is_none());
        let a = Span::at(0x100, ByteSize::bytes(0x100));
        let b = Span::at(0x1ff, ByteSize::bytes(1));
        let c = Span::at(0x200, ByteSize::bytes(1));
        assert!(a.overlaps(b) && !a.overlaps(c));
        assert!(a.contains(Address::new(0x1ff)) && !a.contains(Address::new(0x200)));
        assert!(a.contains_span(b) && !a.contains_span(c));
        assert_eq!(format!("{a}"), "0x0000_0100..0x0000_0200 (256 B)");
    }

    #[test]
    fn a_span_between_two_bounds_is_empty_when_they_are_out_of_order() {
        assert_eq!(Span::between(0x100, 0x200), Span::at(0x100, ByteSize::bytes(0x100)));
        assert_eq!(Span::between(0x200, 0x100), Span::at(0x200, ByteSize::ZERO));
        assert_eq!(Span::between(u64::MAX, u64::MAX).end(), Address::new(u64::MAX));
    }
}

//! How a module whose accesses the rebaser checked reports why a check stopped it: the
//! contract between `flight-rebase`, which writes the checks, and every runtime that runs the
//! result (the host's, each console's), so both sides read it from here.

/// The export through which a checked module reports why it trapped: a mutable `i64` global, 0
/// until a check stops the module; then the [`TrapKind`]'s code at bit [`TrapKind::SHIFT`] and
/// below it the absolute address (in the whole memory) of the first byte the access would have
/// touched. A real `unreachable`, a division by zero or any other trap leaves it 0, so a runtime
/// tells them apart; it sets it back to 0 before it calls the module again.
pub const TRAP_EXPORT: &str = "flight.trap";

/// Why a bounds check stopped a module: the code a check leaves in the trap global ([`TRAP_EXPORT`])
/// beside the address.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TrapKind {
    /// A read outside the module's memory and the shared regions it may read.
    Read = 1,
    /// A write outside the module's memory and the shared regions it may write.
    Write = 2,
    /// A write into a shared region the module may only read.
    ReadOnlyWrite = 3,
}

impl TrapKind {
    /// Every kind, by code.
    pub const ALL: [Self; 3] = [Self::Read, Self::Write, Self::ReadOnlyWrite];
    /// The bit the kind's code starts at in the trap global; the address is below it.
    pub const SHIFT: u32 = 56;

    /// Splits a value of the trap global into the kind and the absolute address of the first
    /// byte the access would have touched; `None` for 0 (no check trapped) or an unknown code.
    pub fn decode(value: u64) -> Option<(Self, u64)> {
        let code = value >> Self::SHIFT;
        let kind = Self::ALL.into_iter().find(|k| *k as u64 == code)?;
        Some((kind, value & ((1 << Self::SHIFT) - 1)))
    }

    /// Its short name: `read`, `write`, `read-only-write` (its helper is `trap.NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::ReadOnlyWrite => "read-only-write",
        }
    }

    /// What it is, in words: "read outside its memory", ...
    pub fn describe(self) -> &'static str {
        match self {
            Self::Read => "read outside its memory",
            Self::Write => "write outside its memory",
            Self::ReadOnlyWrite => "write to a read-only shared region",
        }
    }
}

/// Why a call into a module ended in a trap, as a runtime reports it: a check's report, or one
/// of WebAssembly's own traps.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum Trap {
    /// A check stopped the module: why, and the CPU address (or, where the memory has none,
    /// the address in the whole memory) of the first byte the access would have touched.
    Check {
        /// Why.
        kind: TrapKind,
        /// Where.
        address: u64,
    },
    /// `unreachable` (a Rust panic with `panic = "abort"`, or C's `__builtin_trap`).
    Unreachable,
    /// An integer division or remainder by zero.
    DivideByZero,
    /// `i32.div_s` of the least value by -1.
    IntegerOverflow,
    /// A float converted to an integer it does not fit (the trapping conversions).
    InvalidConversion,
    /// `call_indirect` through a null or mistyped table entry, or past the table.
    IndirectCall,
    /// The call stack ran out.
    CallStackExhausted,
    /// An access past the whole memory that no check caught (an unchecked module).
    OutOfBounds,
}

impl core::fmt::Display for Trap {
    /// How runtimes print it after `trap COMPONENT: `: `write outside its memory at
    /// 0x8004_2000`, `unreachable`, `integer divide by zero`, ...
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::Check { kind, address } => {
                write!(f, "{} at {}", kind.describe(), crate::Address::new(address))
            }
            Self::Unreachable => f.write_str("unreachable"),
            Self::DivideByZero => f.write_str("integer divide by zero"),
            Self::IntegerOverflow => f.write_str("integer overflow"),
            Self::InvalidConversion => f.write_str("invalid conversion to integer"),
            Self::IndirectCall => f.write_str("indirect call through a bad table entry"),
            Self::CallStackExhausted => f.write_str("call stack exhausted"),
            Self::OutOfBounds => f.write_str("out of bounds memory access"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_to_the_kind_and_address_written() {
        for kind in TrapKind::ALL {
            let value = (kind as u64) << TrapKind::SHIFT | 0x1_0000_fffc;
            assert_eq!(TrapKind::decode(value), Some((kind, 0x1_0000_fffc)));
        }
        assert_eq!(TrapKind::decode(0), None);
        assert_eq!(TrapKind::decode(4 << TrapKind::SHIFT), None);
    }

    #[test]
    fn traps_print_as_runtimes_report_them() {
        use core::fmt::Write;
        let mut s: heapless::String<64> = heapless::String::new();
        let check = Trap::Check { kind: TrapKind::ReadOnlyWrite, address: 0x8004_2000 };
        write!(s, "{check}").unwrap();
        assert_eq!(s.as_str(), "write to a read-only shared region at 0x8004_2000");
        s.clear();
        write!(s, "{}", Trap::DivideByZero).unwrap();
        assert_eq!(s.as_str(), "integer divide by zero");
    }
}

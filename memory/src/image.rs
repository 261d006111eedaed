//! Where a linked image put things: the loaded sections, `.bss`, the heap and the stack.
//!
//! A platform's run-time crate fills an [`ImageLayout`] from its linker script's symbols, so the
//! heap set-up and the on-console checks read the same numbers the linker used.

use core::fmt;

use crate::units::Span;

/// The parts of a linked image, as CPU addresses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ImageLayout {
    /// What the loader copies: code, read-only data, initialised data.
    pub loaded: Span,
    /// Zero-initialised data, cleared by the start-up code.
    pub bss: Span,
    /// The global heap.
    pub heap: Span,
    /// The initial stack (it grows down from `stack.end()`).
    pub stack: Span,
}

impl ImageLayout {
    /// Whether the four parts follow each other in address order without overlapping.
    pub fn is_ordered(&self) -> bool {
        let parts = [self.loaded, self.bss, self.heap, self.stack];
        parts.windows(2).all(|w| w[0].end() <= w[1].start())
    }
}

impl fmt::Display for ImageLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  loaded {}", self.loaded)?;
        writeln!(f, "  bss    {}", self.bss)?;
        writeln!(f, "  heap   {}", self.heap)?;
        writeln!(f, "  stack  {}", self.stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::ByteSize;

    #[test]
    fn order_is_checked() {
        let mut l = ImageLayout {
            loaded: Span::at(0x100, ByteSize::bytes(0x100)),
            bss: Span::at(0x200, ByteSize::bytes(0x10)),
            heap: Span::at(0x210, ByteSize::bytes(0x100)),
            stack: Span::at(0x310, ByteSize::bytes(0x100)),
        };
        assert!(l.is_ordered());
        l.heap = Span::at(0x200, ByteSize::bytes(0x100));
        assert!(!l.is_ordered());
    }
}

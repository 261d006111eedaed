//! [`SeqLock`]: a sequence lock for a `Copy` value that one writer updates and any number of
//! readers copy out, without the readers ever holding up the writer.
//!
//! The writer makes the sequence odd, writes the value, and makes it even again; a reader
//! copies the value between two reads of the sequence and keeps the copy only if both read the
//! same even number, else it tries again. The sequence is a shared 32-bit word: an
//! `AtomicU32` where the target has 32-bit atomics, a volatile word with compiler barriers on the
//! PlayStation, which has none (see [the module docs](super) for why that is sound there).
//!
//! Writers must not overlap. [`SeqLock::write`] and [`SeqLock::update`] write inside a critical
//! section, which excludes other writers and, on a console, keeps interrupt handlers from
//! running in the middle of a write; [`SeqLock::write_exclusive`] skips the section for a writer
//! that is the only one by construction (an interrupt handler that owns the value).
//!
//! On a single core a reader cannot wait for a writer it interrupted: an interrupt handler that
//! reads while the code it interrupted is in the middle of an unsectioned write would spin
//! forever. Readers in interrupt handlers use [`SeqLock::try_read`], or the writer uses
//! [`SeqLock::write`] (the handler cannot run during it).
//!
//! ```
//! use flight_memory::sync::SeqLock;
//!
//! #[derive(Clone, Copy, PartialEq, Debug)]
//! struct Pad { x: i16, y: i16, buttons: u16 }
//!
//! static PAD: SeqLock<Pad> = SeqLock::new(Pad { x: 0, y: 0, buttons: 0 });
//! PAD.write(Pad { x: 3, y: -1, buttons: 0x10 });
//! PAD.update(|p| p.buttons |= 1);
//! assert_eq!(PAD.read(), Pad { x: 3, y: -1, buttons: 0x11 });
//! assert_eq!(PAD.sequence(), 4);
//! ```

use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;

use super::{CriticalSection, SharedU32, fence_acquire, fence_release, section};

/// A `Copy` value behind a sequence lock.
pub struct SeqLock<T> {
    /// Even when the value is stable, odd while a write is under way; counts writes twice.
    seq: SharedU32,
    value: UnsafeCell<T>,
}

// SAFETY: readers only copy the value out (into a `MaybeUninit`, kept only when the sequence
// proves no write overlapped the copy, so the kept bytes are those of one `T` a writer stored
// whole); writers are excluded from each other by a critical section or by the caller's contract
// (`write_exclusive`). A `T` so copied moves between contexts: `T: Send`.
unsafe impl<T: Copy + Send> Sync for SeqLock<T> {}

impl<T: Copy> SeqLock<T> {
    /// A sequence lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self { seq: SharedU32::new(0), value: UnsafeCell::new(value) }
    }

    /// The number of write halves so far: even when stable, twice the number of writes (wrapping).
    pub fn sequence(&self) -> u32 {
        self.seq.load_acquire()
    }

    /// One attempt at a read: `None` if a write was under way or overlapped the copy.
    #[inline]
    pub fn try_read(&self) -> Option<T> {
        let before = self.seq.load_acquire();
        if before & 1 != 0 {
            return None;
        }
        // SAFETY: `value` is valid for reads and aligned (it lives in `self`). The copy is
        // volatile and into a `MaybeUninit`: a write may be under way in another context, so the
        // bytes read may mix two values (or be padding), and they are not taken as a `T` unless
        // the sequence check below proves they are not mixed. Strictly, a non-atomic read that
        // overlaps a write is a data race in Rust's memory model even when its result is thrown
        // away; byte-wise atomic copies would avoid that but cannot carry a `T`'s padding, so
        // this follows the usual sequence-lock practice: a volatile copy that the compiler must
        // perform as written, bracketed by the acquire load above and the acquire fence below.
        // On the consoles the other context is an interrupt handler on the same core, whose
        // accesses are ordered against this copy by those fences (compiler barriers and volatile
        // order on the PlayStation).
        let copy = unsafe { self.value.get().cast::<MaybeUninit<T>>().read_volatile() };
        fence_acquire();
        let after = self.seq.load_relaxed();
        // SAFETY: the sequence was the same even number before and after the copy, so no write
        // began or ended in between (a write makes it odd first, and every write changes it):
        // the bytes are those of the `T` the last write stored whole.
        (before == after).then(|| unsafe { copy.assume_init() })
    }

    /// Reads the value, retrying until no write overlaps the copy.
    ///
    /// Spins while a write is under way: not for an interrupt handler that may have interrupted
    /// an unsectioned writer (see the module docs).
    #[inline]
    pub fn read(&self) -> T {
        loop {
            if let Some(v) = self.try_read() {
                return v;
            }
            core::hint::spin_loop();
        }
    }

    /// Writes `value` inside a critical section ([`section`]).
    #[inline]
    pub fn write(&self, value: T) {
        section(|cs| self.write_in(cs, value))
    }

    /// Writes `value` inside the critical section `cs` (which excludes every other writer that
    /// uses one).
    #[inline]
    pub fn write_in(&self, _cs: CriticalSection<'_>, value: T) {
        // SAFETY: inside a critical section, no other sectioned writer runs; unsectioned writers
        // promise (by `write_exclusive`'s contract) not to exist alongside sectioned ones.
        unsafe { self.write_exclusive(value) }
    }

    /// Replaces the value with what `f` makes of it, inside a critical section.
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        section(|cs| {
            // The section excludes every other writer, so the value cannot change meanwhile.
            let mut v = self.read();
            f(&mut v);
            self.write_in(cs, v);
        })
    }

    /// Writes `value` with no critical section.
    ///
    /// # Safety
    /// No other write of this lock may overlap this one: the caller is the only writer (say an
    /// interrupt handler that owns the value, or the single thread that updates it), or writes
    /// only inside a critical section as every other writer does.
    #[inline]
    pub unsafe fn write_exclusive(&self, value: T) {
        let seq = self.seq.load_relaxed();
        self.seq.store_relaxed(seq.wrapping_add(1));
        // Orders the odd sequence before the value's bytes (readers that see any new byte see
        // the odd sequence after it, or a changed one).
        fence_release();
        // SAFETY: `value` is valid for writes and aligned; this is the only writer (the
        // caller's contract). Readers may copy the bytes concurrently; they discard what they
        // read unless the sequence is unchanged around the copy (see `try_read`). Volatile, so the
        // compiler writes the bytes here, between the two sequence stores.
        unsafe { self.value.get().write_volatile(value) };
        self.seq.store_release(seq.wrapping_add(2));
    }

    /// The value, through an exclusive borrow (no reader or writer can be running).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, taken out of the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: Copy + Default> Default for SeqLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for SeqLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeqLock").field("sequence", &self.sequence()).field("value", &self.read()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_the_last_write_and_the_sequence_counts_writes() {
        let lock = SeqLock::new([1u64; 4]);
        assert_eq!(lock.read(), [1; 4]);
        lock.write([2; 4]);
        lock.update(|v| v[3] = 9);
        assert_eq!(lock.read(), [2, 2, 2, 9]);
        assert_eq!(lock.sequence(), 4);
    }

    #[test]
    fn a_read_during_a_write_is_refused() {
        let lock = SeqLock::new(7u32);
        // Half a write: the sequence is odd, as while a writer is interrupted.
        lock.seq.store_relaxed(1);
        assert_eq!(lock.try_read(), None);
        lock.seq.store_relaxed(2);
        assert_eq!(lock.try_read(), Some(7));
    }
}

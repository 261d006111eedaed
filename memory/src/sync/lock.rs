//! [`Lock`]: mutual exclusion by critical section, with a guard.
//!
//! On the consoles' single core a critical section masks interrupts, and with interrupts masked
//! nothing else can run: the section *is* the lock, and holding a [`Guard`] means holding the
//! section. The guard borrows the section's token ([`CriticalSection`]), so it cannot outlive
//! the section: when the section ends, interrupts come back and every guard taken in it is gone.
//! Each lock also keeps a flag, so that the same lock cannot be taken twice in one section
//! (which would hand out two `&mut T`): [`Lock::lock`] panics then, [`Lock::try_lock`] returns
//! `None`.
//!
//! On the host, `critical-section`'s `std` implementation serves: a global mutex, re-entrant
//! per thread, so every `Lock` of the program shares it. That is a lock for tests, not for
//! contended host code.
//!
//! ```
//! use flight_memory::sync::{Lock, section};
//!
//! static FRAMES: Lock<[u32; 4]> = Lock::new([0; 4]);
//!
//! // The closure form enters a section of its own.
//! FRAMES.with(|f| f[0] += 1);
//! // The guard form, inside a section: several locks at once, held together.
//! static TICKS: Lock<u64> = Lock::new(0);
//! section(|cs| {
//!     let mut frames = FRAMES.lock(cs);
//!     let mut ticks = TICKS.lock(cs);
//!     frames[1] = 7;
//!     *ticks += u64::from(frames[0]);
//!     assert!(FRAMES.try_lock(cs).is_none(), "already held in this section");
//! });
//! assert_eq!(TICKS.with(|t| *t), 1);
//! ```
//!
//! Keep sections short: on a console every interrupt waits for the section to end.

use core::cell::{Cell, UnsafeCell};
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use super::{CriticalSection, section};

/// A value behind a critical-section lock; `const fn new`, so it can be a `static`.
pub struct Lock<T: ?Sized> {
    /// Whether a guard of this lock is alive; only read and written inside a critical section.
    held: Cell<bool>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a `Guard`, which needs a critical section: at most one
// context runs inside a critical section at a time (interrupts masked on the single core; the
// global mutex on the host), and the `held` flag, read and written only inside one, keeps a
// second guard from being made in the same section. So at most one `&mut T` exists at a time and
// it is used by one context: `T: Send` is what that needs. `held` is likewise only touched inside
// sections, one context at a time, and the section's entry and exit order those accesses.
unsafe impl<T: ?Sized + Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    /// A lock holding `value`.
    pub const fn new(value: T) -> Self {
        Self { held: Cell::new(false), value: UnsafeCell::new(value) }
    }

    /// The value, taken out of the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Lock<T> {
    /// Locks inside the critical section `cs`: the guard lives no longer than the section.
    ///
    /// # Panics
    /// If this lock is already held in this section (a nested lock of the same lock, which on a
    /// single core could never be released: a deadlock, reported instead).
    #[track_caller]
    pub fn lock<'cs>(&'cs self, cs: CriticalSection<'cs>) -> Guard<'cs, T> {
        match self.try_lock(cs) {
            Some(guard) => guard,
            None => panic!("a Lock was locked twice in one critical section"),
        }
    }

    /// Locks inside the critical section `cs`, or returns `None` if this lock is already held in
    /// it.
    pub fn try_lock<'cs>(&'cs self, _cs: CriticalSection<'cs>) -> Option<Guard<'cs, T>> {
        if self.held.replace(true) {
            return None;
        }
        Some(Guard { lock: self, _not_send: PhantomData })
    }

    /// Runs `f` with the value, inside a critical section of its own ([`section`]).
    ///
    /// # Panics
    /// If called while this lock is held (from inside `f`, or with a guard of it alive).
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        section(|cs| f(&mut self.lock(cs)))
    }

    /// The value, through an exclusive borrow of the lock (no section needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").finish_non_exhaustive()
    }
}

/// Exclusive access to a [`Lock`]'s value, for as long as the critical section it was taken in.
/// Dropping it unlocks (the section itself ends with the closure that entered it).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct Guard<'cs, T: ?Sized> {
    lock: &'cs Lock<T>,
    /// A guard stays with the context that holds the section.
    _not_send: PhantomData<*mut ()>,
}

impl<T: ?Sized> Deref for Guard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one of its lock (the `held` flag) and lives inside the
        // critical section it was made in, which no other context can enter meanwhile.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow exclusive among the guard's own.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // Still inside the section: the guard cannot outlive its token's lifetime.
        self.lock.held.set(false);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Guard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn a_second_guard_in_one_section_is_refused() {
        let lock = Lock::new(5u32);
        section(|cs| {
            let mut g = lock.lock(cs);
            *g += 1;
            assert!(lock.try_lock(cs).is_none());
            drop(g);
            assert_eq!(*lock.try_lock(cs).unwrap(), 6);
        });
        assert_eq!(lock.into_inner(), 6);
    }

    #[test]
    #[should_panic(expected = "locked twice")]
    fn nested_with_panics() {
        let lock = Lock::new(0u8);
        lock.with(|_| lock.with(|_| ()));
    }

    #[test]
    fn a_static_lock_counts_across_threads() {
        static COUNT: Lock<u64> = Lock::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        COUNT.with(|c| *c += 1);
                    }
                });
            }
        });
        assert_eq!(COUNT.with(|c| *c), 4000);
    }
}

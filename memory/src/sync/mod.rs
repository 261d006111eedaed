//! Synchronisation for machines with one core and few or no atomic instructions: a lock, a
//! sequence lock and a single-producer single-consumer ring laid over shared memory.
//!
//! | type | for | cost |
//! |---|---|---|
//! | [`Lock`] | mutual exclusion with interrupts masked while it is held | one critical section |
//! | [`SeqLock`] | a `Copy` value written rarely, read often, by readers that never block the writer | reads retry while a write is under way |
//! | [`ring`] ([`Producer`], [`Consumer`]) | zero-copy hand-off of variable-length records between two components through a shared region | two index words, no lock |
//!
//! # Concurrency on these machines
//!
//! Every console here has one CPU running the program, so interrupt handlers (and, on the host,
//! threads) are the only concurrency. Two strategies follow from that:
//!
//! - **Critical sections.** [`Lock`] and the writers of [`SeqLock`] run inside a
//!   `critical-section` critical section, which each console's runtime implements by masking
//!   interrupts (the PlayStation's COP0 `SR.IEc`, the PSP kernel's `sceKernelCpuSuspendIntr`, the
//!   Cortex-M's `PRIMASK`, the SH-4's `SR.IMASK` raised to 15 through the imports the
//!   Dreamcast's runtime gives its WebAssembly programs). On a single core, masking interrupts
//!   *is* the lock: nothing else can run until the mask is lifted. On the host,
//!   `critical-section`'s `std` implementation is a global, per-thread re-entrant mutex.
//! - **Shared words.** [`SeqLock`]'s sequence and the [`ring`]'s indices are 32-bit words read
//!   and written whole. Where the target has 32-bit atomics (`target_has_atomic = "32"`: the PSP,
//!   the Cortex-M3, WebAssembly, the host) they are `AtomicU32` loads and stores with acquire and
//!   release ordering, and fences. The PlayStation's R3000 has no atomic instruction at all (no
//!   LL/SC; `target_has_atomic` is empty for `mipsel-sony-psx`): there the words are volatile
//!   loads and stores, and where an ordering is needed an empty critical section serves as the
//!   compiler barrier (LLVM cannot compile even `compiler_fence` for MIPS I: it emits `sync`).
//!   That is sound because the machine has one core and no second agent shares these words:
//!   - an aligned word load or store is one instruction, which an interrupt cannot split, so a
//!     word is never seen half written;
//!   - the CPU executes in program order and sees its own stores at once (its write buffer is
//!     transparent to its own loads; the PlayStation has no data cache), so an interrupt handler
//!     observes the stores of the code it interrupted in the order they were made;
//!   - the compiler keeps volatile accesses in order among themselves, and cannot move any
//!     memory access across a critical section's entry or exit (the COP0 `SR` inline assembly
//!     may read and write any memory; every correct `critical-section` implementation is such a
//!     barrier, or data guarded by a section could leak out of it).
//!
//!   Interrupt handlers relate to the code they interrupt as signal handlers do to a thread:
//!   what orders their accesses is the compiler, not the hardware. Every target this crate
//!   supports that lacks atomics is single-core; a multi-core machine without atomic
//!   instructions would need a different design.
//!
//! None of this makes memory coherent with *other* agents (DMA, the PSP's Media Engine, the
//! sound CPU): shared regions they touch still need uncached views or cache maintenance.

pub mod lock;
pub mod ring;
pub mod seqlock;

pub use critical_section::CriticalSection;
pub use lock::{Guard, Lock};
pub use ring::{Buffer, Consumer, Grant, Producer, Record, RingError};
pub use seqlock::SeqLock;

/// Runs `f` inside a critical section and returns its result: `critical_section::with`, which
/// the program's runtime implements (see the module docs).
///
/// ```
/// use flight_memory::sync::{Lock, section};
///
/// static TOTAL: Lock<u32> = Lock::new(0);
/// section(|cs| *TOTAL.lock(cs) += 2);
/// assert_eq!(TOTAL.with(|t| *t), 2);
/// ```
#[inline]
pub fn section<R>(f: impl FnOnce(CriticalSection<'_>) -> R) -> R {
    critical_section::with(f)
}

pub(crate) use word::{SharedU32, fence_acquire, fence_release};

mod word {
    //! A 32-bit word shared between contexts: an `AtomicU32` where the target has 32-bit
    //! atomics, a volatile `u32` where it has none (see the module docs for why that is sound
    //! on the single-core machines that lack them).
    //!
    //! Without atomics the orderings come from [`barrier`]: LLVM lowers every fence on MIPS,
    //! `compiler_fence` included, to a `sync` instruction, which the R3000 (MIPS I) does not
    //! have, so `compiler_fence` cannot be compiled for the PlayStation at all.

    #[cfg(not(target_has_atomic = "32"))]
    use core::cell::UnsafeCell;
    #[cfg(target_has_atomic = "32")]
    use core::sync::atomic::{AtomicU32, Ordering, fence};

    /// A shared 32-bit word with the layout of a `u32` aligned to 4 bytes.
    #[repr(transparent)]
    pub(crate) struct SharedU32(
        #[cfg(target_has_atomic = "32")] AtomicU32,
        #[cfg(not(target_has_atomic = "32"))] UnsafeCell<u32>,
    );

    /// A compiler barrier for targets without atomics: an empty critical section. Entering and
    /// leaving one is a barrier the compiler cannot move memory accesses across: on the
    /// PlayStation it is inline assembly on COP0 `SR` that may read and write any memory (or,
    /// without link-time optimisation, a call the compiler cannot see into), and every
    /// `critical-section` implementation must be one, or no data guarded by a critical section
    /// would stay inside it. With interrupts masked already (the runtime's default) it costs a
    /// handful of instructions.
    #[cfg(not(target_has_atomic = "32"))]
    #[inline]
    fn barrier() {
        critical_section::with(|_| ());
    }

    impl SharedU32 {
        /// A word holding `v`.
        pub(crate) const fn new(v: u32) -> Self {
            #[cfg(target_has_atomic = "32")]
            {
                Self(AtomicU32::new(v))
            }
            #[cfg(not(target_has_atomic = "32"))]
            {
                Self(UnsafeCell::new(v))
            }
        }

        /// The word at `p`, for the lifetime the caller picks.
        ///
        /// # Safety
        /// `p` must be aligned to 4 bytes and valid for reads and writes for `'a`, and every
        /// access to the word during `'a` must go through a `SharedU32` (or happen before it
        /// is first used this way).
        pub(crate) unsafe fn from_ptr<'a>(p: *mut u32) -> &'a Self {
            // SAFETY: `SharedU32` is `repr(transparent)` over `AtomicU32` or `UnsafeCell<u32>`,
            // both with the size and (on every supported target) the alignment of a `u32`; the
            // caller guarantees alignment, validity and that all accesses are shared-word ones.
            unsafe { &*p.cast::<Self>() }
        }

        /// Loads with acquire ordering: accesses after it stay after it.
        #[inline]
        pub(crate) fn load_acquire(&self) -> u32 {
            #[cfg(target_has_atomic = "32")]
            {
                self.0.load(Ordering::Acquire)
            }
            #[cfg(not(target_has_atomic = "32"))]
            {
                let v = self.load_relaxed();
                barrier();
                v
            }
        }

        /// Loads with no ordering.
        #[inline]
        pub(crate) fn load_relaxed(&self) -> u32 {
            #[cfg(target_has_atomic = "32")]
            {
                self.0.load(Ordering::Relaxed)
            }
            #[cfg(not(target_has_atomic = "32"))]
            {
                // SAFETY: an aligned word of a live value. Volatile, so the compiler emits one
                // load instruction, which an interrupt cannot split on a single core, and keeps
                // it in order with the other volatile accesses.
                unsafe { self.0.get().read_volatile() }
            }
        }

        /// Stores with release ordering: accesses before it stay before it.
        #[inline]
        pub(crate) fn store_release(&self, v: u32) {
            #[cfg(target_has_atomic = "32")]
            self.0.store(v, Ordering::Release);
            #[cfg(not(target_has_atomic = "32"))]
            {
                barrier();
                self.store_relaxed(v);
            }
        }

        /// Stores with no ordering.
        #[inline]
        pub(crate) fn store_relaxed(&self, v: u32) {
            #[cfg(target_has_atomic = "32")]
            self.0.store(v, Ordering::Relaxed);
            #[cfg(not(target_has_atomic = "32"))]
            {
                // SAFETY: as in `load_relaxed`: one aligned store instruction, kept in order with
                // the other volatile accesses.
                unsafe { self.0.get().write_volatile(v) }
            }
        }
    }

    /// An acquire fence: loads before it are ordered before the accesses after it.
    #[inline]
    pub(crate) fn fence_acquire() {
        #[cfg(target_has_atomic = "32")]
        fence(Ordering::Acquire);
        #[cfg(not(target_has_atomic = "32"))]
        barrier();
    }

    /// A release fence: accesses before it are ordered before the stores after it.
    #[inline]
    pub(crate) fn fence_release() {
        #[cfg(target_has_atomic = "32")]
        fence(Ordering::Release);
        #[cfg(not(target_has_atomic = "32"))]
        barrier();
    }
}

//! A pointer whose accesses the layout checks.
//!
//! [`Checked`] carries the component that uses it, the checker to ask and how its pointer
//! becomes the CPU address the layout speaks of (the pointer itself where programs address
//! memory as the CPU does; a translation where they do not, such as WebAssembly's offsets
//! into linear memory). With the `checked`
//! feature (or in a debug build) every [`read`](Checked::read) and [`write`](Checked::write)
//! first asks the checker and panics with the [`Violation`] (component, address, what was hit)
//! if the layout does not allow it; without, they compile to the plain access. The `try_`
//! forms check in every build and hand the violation back.

use core::marker::PhantomData;

use super::check::{Access, Violation};
use super::{ComponentId, Layout};
use crate::units::Address;

/// What answers whether an access is allowed: a [`Layout`].
pub trait Checker {
    /// As [`Layout::check`].
    fn check(
        &self,
        component: ComponentId,
        address: Address,
        len: u64,
        access: Access,
    ) -> Result<(), Violation<'_>>;
}

impl<const N: usize> Checker for Layout<'_, N> {
    fn check(
        &self,
        component: ComponentId,
        address: Address,
        len: u64,
        access: Access,
    ) -> Result<(), Violation<'_>> {
        Layout::check(self, component, address, len, access)
    }
}

/// Whether [`Checked::read`] and [`Checked::write`] check (the `checked` feature or a debug
/// build).
pub const ENABLED: bool = cfg!(any(feature = "checked", debug_assertions));

/// A pointer to a `T` used by one component, checked against a layout.
#[derive(Debug)]
pub struct Checked<'c, T, C: Checker + ?Sized> {
    ptr: *mut T,
    component: ComponentId,
    checker: &'c C,
    cpu: fn(usize) -> Address,
    _t: PhantomData<T>,
}

/// The CPU address of a program pointer where the two are the same.
fn same(p: usize) -> Address {
    Address::new(p as u64)
}

impl<T, C: Checker + ?Sized> Clone for Checked<'_, T, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, C: Checker + ?Sized> Copy for Checked<'_, T, C> {}

impl<'c, T: Copy, C: Checker + ?Sized> Checked<'c, T, C> {
    /// A pointer to `ptr` for `component`.
    ///
    /// # Safety
    ///
    /// Checks report breaches of the layout; they do not make an access sound, and without
    /// the `checked` feature there are none. So every access the program makes through this
    /// pointer, and through the pointers [`offset`](Self::offset) derives from it, must be to
    /// memory valid for a `T` (aligned, inside one allocation or memory-mapped area, initialised
    /// for reads) and not in use by anything the access would race with.
    pub const unsafe fn new(ptr: *mut T, component: ComponentId, checker: &'c C) -> Self {
        Self { ptr, component, checker, cpu: same, _t: PhantomData }
    }

    /// A pointer to `ptr` for `component`, on a machine where `cpu` turns a program pointer
    /// into the CPU address the layout speaks of.
    ///
    /// # Safety
    ///
    /// As [`new`](Self::new).
    pub const unsafe fn translated(
        ptr: *mut T,
        component: ComponentId,
        checker: &'c C,
        cpu: fn(usize) -> Address,
    ) -> Self {
        Self { ptr, component, checker, cpu, _t: PhantomData }
    }

    /// The pointer `count` elements on (wrapping: only accesses are checked).
    pub fn offset(self, count: isize) -> Self {
        Self { ptr: self.ptr.wrapping_offset(count), ..self }
    }

    /// The CPU address it points to.
    pub fn address(&self) -> Address {
        (self.cpu)(self.ptr as usize)
    }

    /// Whether the layout allows this component `access` to the `T` here.
    pub fn check(&self, access: Access) -> Result<(), Violation<'c>> {
        self.checker.check(self.component, self.address(), size_of::<T>() as u64, access)
    }

    /// Reads the value if the layout allows it.
    pub fn try_read(&self) -> Result<T, Violation<'c>> {
        self.check(Access::Read)?;
        // SAFETY: `new`'s contract makes every access through this pointer valid.
        Ok(unsafe { self.ptr.read() })
    }

    /// Writes the value if the layout allows it.
    pub fn try_write(&self, value: T) -> Result<(), Violation<'c>> {
        self.check(Access::Write)?;
        // SAFETY: as in `try_read`.
        unsafe { self.ptr.write(value) };
        Ok(())
    }

    /// Reads the value; checked (panicking with the violation) when [`ENABLED`].
    #[inline]
    pub fn read(&self) -> T {
        if ENABLED {
            self.enforce(Access::Read);
        }
        // SAFETY: as in `try_read`.
        unsafe { self.ptr.read() }
    }

    /// Writes the value; checked (panicking with the violation) when [`ENABLED`].
    #[inline]
    pub fn write(&self, value: T) {
        if ENABLED {
            self.enforce(Access::Write);
        }
        // SAFETY: as in `try_read`.
        unsafe { self.ptr.write(value) }
    }

    #[cold]
    #[inline(never)]
    fn enforce(&self, access: Access) {
        if let Err(v) = self.check(access) {
            panic!("memory violation: {v}");
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::layout::{SegmentRequest, Strategy};
    use crate::map::{MemoryMap, Region, RegionKind, View};
    use crate::units::{ByteSize, Span};
    use std::boxed::Box;

    #[test]
    fn accesses_outside_the_segment_are_refused() {
        // A region over a real host buffer, so the accesses the checker allows are sound.
        let buffer: &'static mut [u32; 64] = Box::leak(Box::new([0u32; 64]));
        let base = buffer.as_mut_ptr() as usize as u64;
        let views: &'static [View] = Box::leak(Box::new([View::cached("host", base)]));
        let regions: &'static [Region] =
            Box::leak(Box::new([
                Region::cpu("buf", RegionKind::Main, 0, ByteSize::bytes(256)).with_views(views)
            ]));
        let map: &'static MemoryMap = Box::leak(Box::new(MemoryMap::new("host", regions)));
        let mut l: Layout<'_, 2> = Layout::new(map, ByteSize::bytes(16));
        l.add_window("buf", Span::at(0, ByteSize::bytes(256))).unwrap();
        let requests =
            [SegmentRequest::new("a", ByteSize::bytes(64)), SegmentRequest::new("b", ByteSize::bytes(64))];
        crate::layout::plan::plan(&mut l, &requests, Strategy::FirstFit, &mut []).unwrap();
        let a = l.component("a").unwrap();
        // SAFETY: every access below is inside `buffer` (a's 64 bytes plus the guard after).
        let p = unsafe { Checked::new(buffer.as_mut_ptr(), a, &l) };
        p.offset(15).write(7);
        assert_eq!(p.offset(15).read(), 7);
        let e = p.offset(16).try_write(1).unwrap_err();
        assert_eq!(e.kind, crate::layout::ViolationKind::GuardGap { after: "a", before: "b" });
        assert_eq!(e.address.get(), base + 64);
        if ENABLED {
            let hit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.offset(16).write(1)));
            assert!(hit.is_err(), "a checked write into the guard gap panics");
        }
    }
}

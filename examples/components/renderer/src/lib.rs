//! The example's renderer, in Rust: every frame it fades its frame buffer, draws the bodies it
//! reads from the ring and returns the frame buffer's hash. It may only read the ring: at frame
//! 250 it tries to clear it, and the check stops it there (`write to a read-only shared region`).
#![no_std]

use core::ptr::addr_of_mut;

use ring::{FNV_START, Ring, fnv};

/// The frame buffer's side, in pixels: the box (128 units a side) at half scale.
const SIDE: usize = 64;

static mut FRAME_BUFFER: [u8; SIDE * SIDE] = [0; SIDE * SIDE];
/// The ring's address, from `attach` (0: not attached, nothing drawn).
static mut RING: usize = 0;

/// Receives the address of the ring (shared region 0).
#[unsafe(no_mangle)]
pub extern "C" fn attach(index: i32, address: i32) {
    if index == 0 {
        // SAFETY: one thread; only the runtime calls the exports, one at a time.
        unsafe { RING = address as u32 as usize };
    }
}

/// Draws one frame; returns the frame buffer's hash.
#[unsafe(no_mangle)]
pub extern "C" fn frame(n: i32) -> i32 {
    // SAFETY: one thread; only the runtime calls the exports, one at a time.
    let fb = unsafe { &mut *addr_of_mut!(FRAME_BUFFER) };
    for p in fb.iter_mut() {
        *p -= *p >> 2;
    }
    // SAFETY: as above.
    let ring = unsafe { RING };
    if ring != 0 {
        // SAFETY: the runtime attached the ring at this address, a region of the plan's size
        // this component may read; nothing writes it while this runs.
        let ring = unsafe { &*(ring as *const Ring) };
        let count = (ring.count as usize).min(ring.bodies.len());
        if ring.frame == n as u32 {
            for b in &ring.bodies[..count] {
                let r = i32::from(b.size);
                for dy in -r..=r {
                    for dx in -r..=r {
                        let (x, y) = (i32::from(b.x) / 2 + dx, i32::from(b.y) / 2 + dy);
                        if (0..SIDE as i32).contains(&x) && (0..SIDE as i32).contains(&y) {
                            fb[y as usize * SIDE + x as usize] = b.shade;
                        }
                    }
                }
            }
        }
        if n == 250 {
            // A reader's write: the check stops it here.
            // SAFETY: the same address; the write is the point (it never happens).
            unsafe { core::ptr::write_volatile(core::ptr::addr_of!(ring.count).cast_mut(), 0) };
        }
    }
    fnv(FNV_START, fb) as i32
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

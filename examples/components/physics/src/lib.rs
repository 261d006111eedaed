//! The example's physics, in Rust: bodies falling and bouncing in a box, in 20.12 fixed point
//! (integers only, so every machine computes the same bits), published every frame through the
//! ring it shares with the renderer.
#![no_std]

use core::ptr::addr_of_mut;

use ring::{Body, FNV_START, Ring, fnv};

/// Bodies simulated.
const BODIES: usize = 48;
/// 1.0 in fixed point.
const ONE: i32 = 1 << 12;
/// The box: 128 units a side.
const SIDE: i32 = 128 * ONE;
/// Gravity, per frame per frame.
const GRAVITY: i32 = ONE / 16;

#[derive(Clone, Copy)]
struct State {
    x: i32,
    y: i32,
    vx: i32,
    vy: i32,
}

static mut BODY: [State; BODIES] = [State { x: 0, y: 0, vx: 0, vy: 0 }; BODIES];
/// The ring's address, from `attach` (0: not attached, nothing published).
static mut RING: usize = 0;

/// A linear congruential generator: the same start on every machine.
fn next(seed: &mut u32) -> i32 {
    *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
    (*seed >> 8) as i32
}

/// Receives the address of the ring (shared region 0).
#[unsafe(no_mangle)]
pub extern "C" fn attach(index: i32, address: i32) {
    if index == 0 {
        // SAFETY: one thread; only the runtime calls the exports, one at a time.
        unsafe { RING = address as u32 as usize };
    }
}

/// Advances the bodies by one frame, publishes them, returns the hash of their state.
#[unsafe(no_mangle)]
pub extern "C" fn frame(n: i32) -> i32 {
    // SAFETY: one thread; only the runtime calls the exports, one at a time.
    let bodies = unsafe { &mut *addr_of_mut!(BODY) };
    if n == 0 {
        let mut seed = 2024;
        for b in bodies.iter_mut() {
            *b = State {
                x: next(&mut seed).rem_euclid(SIDE),
                y: next(&mut seed).rem_euclid(SIDE / 2),
                vx: next(&mut seed).rem_euclid(2 * ONE) - ONE,
                vy: 0,
            };
        }
    }
    let mut hash = FNV_START;
    for b in bodies.iter_mut() {
        b.vy += GRAVITY;
        b.x += b.vx;
        b.y += b.vy;
        if b.x < 0 || b.x >= SIDE {
            b.vx = -b.vx;
            b.x = b.x.clamp(0, SIDE - 1);
        }
        if b.y >= SIDE {
            // A bounce loses an eighth of the speed.
            b.vy = -(b.vy - (b.vy >> 3));
            b.y = SIDE - 1;
        }
        for v in [b.x, b.y, b.vx, b.vy] {
            hash = fnv(hash, &v.to_le_bytes());
        }
    }
    // SAFETY: as above.
    let ring = unsafe { RING };
    if ring != 0 {
        // SAFETY: the runtime attached the ring at this address, a region of the plan's size
        // this component may write; nothing else runs while it does.
        let ring = unsafe { &mut *(ring as *mut Ring) };
        ring.frame = n as u32;
        ring.count = BODIES as u32;
        for (i, (slot, b)) in ring.bodies.iter_mut().zip(bodies.iter()).enumerate() {
            *slot = Body {
                x: (b.x / ONE) as u8,
                y: (b.y.max(0) / ONE) as u8,
                size: 1 + (i % 3) as u8,
                shade: 128 + (i * 8 % 128) as u8,
            };
        }
    }
    hash as i32
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

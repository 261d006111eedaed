//! The example's game logic, in Rust: agents on a 64 x 64 grid that wander, chase the nearest
//! other agent and score when they meet, all in integers. It touches only its own memory; its
//! frame result is a hash of every agent's state.
#![no_std]

use core::ptr::addr_of_mut;

use ring::{FNV_START, fnv};

/// Agents.
const AGENTS: usize = 64;
/// The grid's side.
const SIDE: i16 = 64;

#[derive(Clone, Copy)]
#[repr(C)]
struct Agent {
    x: i16,
    y: i16,
    /// 0: wandering, 1: chasing.
    mode: u16,
    score: u16,
}

static mut AGENT: [Agent; AGENTS] = [Agent { x: 0, y: 0, mode: 0, score: 0 }; AGENTS];
static mut SEED: u32 = 0x2545_f491;

/// A xorshift generator: the same sequence on every machine.
fn next() -> u32 {
    // SAFETY: one thread runs the component; nothing else reaches its memory.
    let seed = unsafe { &mut *addr_of_mut!(SEED) };
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    *seed
}

fn step(from: i16, to: i16) -> i16 {
    from + (to - from).signum()
}

/// Advances the agents by one frame; returns the hash of their state.
#[unsafe(no_mangle)]
pub extern "C" fn frame(n: i32) -> i32 {
    // SAFETY: as in `next`.
    let agents = unsafe { &mut *addr_of_mut!(AGENT) };
    if n == 0 {
        for (i, a) in agents.iter_mut().enumerate() {
            *a = Agent {
                x: (next() % SIDE as u32) as i16,
                y: (next() % SIDE as u32) as i16,
                mode: (i % 2) as u16,
                score: 0,
            };
        }
    }
    for i in 0..AGENTS {
        let me = agents[i];
        let (x, y) = if me.mode == 1 {
            // Chase the nearest other agent (Manhattan distance; the first of equals).
            let target = (0..AGENTS)
                .filter(|&j| j != i)
                .min_by_key(|&j| (agents[j].x - me.x).abs() + (agents[j].y - me.y).abs())
                .map_or((me.x, me.y), |j| (agents[j].x, agents[j].y));
            (step(me.x, target.0), step(me.y, target.1))
        } else {
            let r = next();
            (
                ((me.x + (r & 3) as i16 - 1).rem_euclid(SIDE)),
                ((me.y + ((r >> 2) & 3) as i16 - 1).rem_euclid(SIDE)),
            )
        };
        let met = agents.iter().enumerate().any(|(j, o)| j != i && o.x == x && o.y == y);
        let a = &mut agents[i];
        a.x = x;
        a.y = y;
        if met {
            a.score = a.score.wrapping_add(1);
            a.mode ^= 1;
        }
    }
    // SAFETY: the agents are plain integers, laid out without padding (repr(C), 8 bytes).
    let bytes =
        unsafe { core::slice::from_raw_parts(agents.as_ptr().cast::<u8>(), core::mem::size_of_val(agents)) };
    fnv(FNV_START, bytes) as i32
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

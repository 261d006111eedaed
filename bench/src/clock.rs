//! A cheap per-operation clock: the time-stamp counter on x86-64 (fenced `rdtsc`), calibrated
//! against [`Instant`], with its own overhead measured so that it can be subtracted from each
//! sample. Elsewhere it falls back to [`Instant`] (about 20 ns a reading, also subtracted).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Reads the counter. Serialised with `lfence` on both sides, so that the operation measured
/// neither starts before the first reading nor ends after the second.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn now() -> u64 {
    use std::arch::x86_64::{_mm_lfence, _rdtsc};
    // SAFETY: `lfence` (SSE2) and `rdtsc` are part of the x86-64 baseline; neither touches
    // memory the program owns.
    unsafe {
        _mm_lfence();
        let ticks = _rdtsc();
        _mm_lfence();
        ticks
    }
}

/// Reads the counter without fences: successive readings come as close together as the
/// counter allows, to find its step.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn now_unfenced() -> u64 {
    // SAFETY: `rdtsc` is part of the x86-64 baseline and touches no memory.
    unsafe { std::arch::x86_64::_rdtsc() }
}

/// Reads the clock (nothing to unfence elsewhere).
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn now_unfenced() -> u64 {
    now()
}

/// Reads the clock: nanoseconds since the first call.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub fn now() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// What a clock reading means, measured once at start-up.
///
/// Some counters advance in coarse steps: on AMD Zen hosts (and their virtual machines) the
/// time-stamp counter is bumped every 10 ns by the ticks of 10 ns, so two readings differ by a
/// multiple of about 25 ticks. A single sample then only says in which 10 ns step an operation
/// ended; since the phase of the operation against those steps is random, each sample is
/// spread evenly over its step when percentiles are taken ([`Clock::level`],
/// [`Clock::level_ns`]), and the mean of many samples stays exact.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Nanoseconds per tick of [`now`].
    pub ns_per_tick: f64,
    /// Mean ticks between two back-to-back readings with nothing between them: what every
    /// sample is reduced by (the mean, which stays exact when the counter is coarse).
    pub overhead_ticks: f64,
    /// Ticks per step of the counter: 1 for a counter that advances tick by tick, about 24.5
    /// on a 2.45 GHz counter bumped every 10 ns.
    pub step_ticks: f64,
    /// The name of the counter, for the report.
    pub source: &'static str,
}

impl Clock {
    /// Calibrates the counter against [`Instant`] over `span`, finds its step, and measures the
    /// overhead of a reading pair.
    pub fn calibrate(span: Duration) -> Self {
        // Warm up (and let the frequency settle) before the calibration itself.
        let warm = Instant::now();
        while warm.elapsed() < Duration::from_millis(20) {
            black_box(now());
        }
        let (t0, c0) = (Instant::now(), now());
        while t0.elapsed() < span {
            black_box(now());
        }
        let (c1, t1) = (now(), Instant::now());
        let ns_per_tick = (t1 - t0).as_nanos() as f64 / (c1 - c0).max(1) as f64;

        let mut empty: Vec<u64> = (0..200_000)
            .map(|_| {
                let a = now();
                let b = now();
                b.wrapping_sub(a)
            })
            .collect();
        empty.sort_unstable();
        // The mean of all but the slowest 1% (interrupts).
        let kept = &empty[..empty.len() * 99 / 100];
        let overhead_ticks = kept.iter().sum::<u64>() as f64 / kept.len().max(1) as f64;
        let source = if cfg!(target_arch = "x86_64") { "rdtsc (lfence-fenced)" } else { "Instant" };
        Self { ns_per_tick, overhead_ticks, step_ticks: step_ticks(), source }
    }

    /// A sample of `ticks` as a number of counter steps (the sample itself when the counter
    /// advances tick by tick).
    pub fn level(&self, ticks: u64) -> u64 {
        if self.step_ticks > 1.0 { (ticks as f64 / self.step_ticks).round() as u64 } else { ticks }
    }

    /// Nanoseconds of `level` steps (a fraction of a step allowed), less the readings'
    /// overhead, never below zero.
    pub fn level_ns(&self, level: f64) -> f64 {
        ((level * self.step_ticks.max(1.0) - self.overhead_ticks) * self.ns_per_tick).max(0.0)
    }

    /// The overhead of a reading pair, in nanoseconds.
    pub fn overhead_ns(&self) -> f64 {
        self.overhead_ticks * self.ns_per_tick
    }

    /// The counter's step, in nanoseconds.
    pub fn step_ns(&self) -> f64 {
        self.step_ticks.max(1.0) * self.ns_per_tick
    }
}

/// The counter's step in ticks: the mean of the smallest differences between successive
/// distinct readings, when (nearly) every difference is a whole number of such steps; else 1.
fn step_ticks() -> f64 {
    let mut steps = Vec::with_capacity(100_000);
    let mut last = now_unfenced();
    while steps.len() < 100_000 {
        let t = now_unfenced();
        if t != last {
            steps.push(t.wrapping_sub(last));
            last = t;
        }
    }
    let Some(&min) = steps.iter().min() else { return 1.0 };
    let smallest: Vec<u64> = steps.iter().copied().filter(|&d| d <= min + 1).collect();
    let step = smallest.iter().sum::<u64>() as f64 / smallest.len().max(1) as f64;
    if step < 4.0 {
        return 1.0;
    }
    // Multiples of the step, within a tick (per step) of rounding.
    let near: Vec<u64> = steps.iter().copied().filter(|&d| (d as f64) < 10.0 * step).collect();
    let on_lattice = near
        .iter()
        .filter(|&&d| {
            let k = (d as f64 / step).round();
            (d as f64 - k * step).abs() <= 1.0 + 0.05 * k
        })
        .count();
    if on_lattice as f64 >= 0.99 * near.len() as f64 {
        // Refine over every difference on the lattice.
        let (mut ticks, mut count) = (0.0, 0.0);
        for &d in &near {
            let k = (d as f64 / step).round();
            if k >= 1.0 && (d as f64 - k * step).abs() <= 1.0 + 0.05 * k {
                ticks += d as f64;
                count += k;
            }
        }
        if count > 0.0 { ticks / count } else { step }
    } else {
        1.0
    }
}

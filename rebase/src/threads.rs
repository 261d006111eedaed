//! Work on several threads, for every pass over a large module: validation, reading, writing
//! and the merge's renumbering share these helpers, and each gives the same output on any
//! number of threads.

/// Code sections at least this large are read (and rewritten) on several threads.
pub(crate) const PARALLEL_BYTES: usize = 256 * 1024;

/// The most threads ever used.
pub(crate) const MAX_THREADS: usize = 64;

/// The threads to use when asked for `threads` (0: as many as the machine runs at once, up
/// to 8; never more than [`MAX_THREADS`]).
pub(crate) fn threads(threads: usize) -> usize {
    // Asking the system takes longer than rebasing a small module: ask once.
    static MACHINE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    match threads {
        0 => *MACHINE.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8))),
        n => n.min(MAX_THREADS),
    }
}

/// `f` of each of `runs`, in order: each on a thread of its own when there are several.
pub(crate) fn on_threads<I: Send, R: Send>(runs: Vec<I>, f: impl Fn(I) -> R + Sync) -> Vec<R> {
    if runs.len() < 2 {
        return runs.into_iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = runs.into_iter().map(|run| s.spawn(move || f(run))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Splits `items` into at most `parts` runs of about the same weight, in order.
pub(crate) fn split<T>(items: &[T], parts: usize, weight: impl Fn(&T) -> u64) -> Vec<&[T]> {
    let total: u64 = items.iter().map(&weight).sum();
    let parts = parts.clamp(1, items.len().max(1));
    let share = total / parts as u64 + 1;
    let mut runs = Vec::with_capacity(parts);
    let (mut start, mut sum) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        sum += weight(item);
        if sum >= share && runs.len() + 1 < parts {
            runs.push(&items[start..=i]);
            (start, sum) = (i + 1, 0);
        }
    }
    runs.push(&items[start..]);
    runs
}

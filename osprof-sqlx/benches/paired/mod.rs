//! A wrapper's overhead measured in pairs: each iteration times one operation without the
//! wrapper and one through it, in alternating order, and the statistic is the mean of the
//! per-pair differences with its 95% interval, from which the drift of the machine (wake-up
//! times, the other core's work) cancels. Shared by the osprof-sqlx and osprof-redis benches.

/// How many pairs to time: `OSPROF_PAIRS`, else 50,000.
pub(crate) fn pairs() -> usize {
    std::env::var("OSPROF_PAIRS")
        .ok()
        .and_then(|pairs| pairs.parse().ok())
        .unwrap_or(50_000)
}

/// Prints the bare mean time of `what` and the mean extra time `wrapper` adds, over `pairs`
/// pairs; `time(wrapped)` runs one operation and returns its nanoseconds.
pub(crate) fn compare(
    label: &str,
    what: &str,
    wrapper: &str,
    pairs: usize,
    mut time: impl FnMut(bool) -> f64,
) {
    let mut bare_total = 0.0;
    let mut differences = Vec::with_capacity(pairs);
    for pair in 0..pairs {
        let (bare, wrapped) = if pair % 2 == 0 {
            let bare = time(false);
            (bare, time(true))
        } else {
            let wrapped = time(true);
            (time(false), wrapped)
        };
        bare_total += bare;
        differences.push(wrapped - bare);
    }
    let n = differences.len() as f64;
    let bare_mean = bare_total / n;
    let mean = differences.iter().sum::<f64>() / n;
    let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let error = 1.96 * (variance / n).sqrt();
    println!(
        "{label}: bare {:.1} µs per {what}; {wrapper} {:+.3} µs ± {:.3} µs (95%), {:+.2}% ± {:.2}%",
        bare_mean / 1e3,
        mean / 1e3,
        error / 1e3,
        100.0 * mean / bare_mean,
        100.0 * error / bare_mean,
    );
}

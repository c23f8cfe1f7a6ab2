//! The wrapper's overhead on `SELECT 1` against in-memory SQLite, measured in pairs.
//!
//! A query takes tens of microseconds, most of it the hand-off to SQLite's worker thread,
//! whose wake-up time drifts with what the other core does: criterion's per-sample figures
//! (`query_overhead`) then differ by more than the overhead being measured. Here each
//! iteration times one query through the bare pool and one through `TracedPool`, in
//! alternating order, and the statistic is the mean of the per-pair differences with its
//! standard error, from which drift cancels. Run with
//! `cargo bench -p osprof-sqlx --bench query_paired` (`OSPROF_PAIRS` sets the pair count).

#![allow(missing_docs)] // a bench program, not an API

mod paired;
mod pools;

use std::time::Instant;

use pools::Pools;

/// One query through each pool in turn, timed in pairs.
fn compare(pools: &Pools, label: &str, pairs: usize) {
    paired::compare(label, "query", "TracedPool", pairs, |traced| {
        time_select_one(pools, traced)
    });
}

/// Nanoseconds one `SELECT 1` takes through the traced pool or the bare one.
fn time_select_one(pools: &Pools, traced: bool) -> f64 {
    let started = Instant::now();
    pools.select_one(traced);
    started.elapsed().as_nanos() as f64
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks which tests there are: none.
    }
    let pairs = paired::pairs();
    let pools = Pools::connect();
    // A sink that consumes every payload, so that delivery does its whole job.
    osprof_core::notifier::set(|payload: &serde_json::Value| {
        std::hint::black_box(payload.to_string());
    });
    // Warm both pools up: connections made, `SELECT 1` prepared.
    compare(&pools, "warm-up", 2_000);
    compare(&pools, "no trace active", pairs);
    // A current-thread runtime polls on this thread, where the trace is.
    osprof_core::init("key", None, None);
    compare(&pools, "trace active", pairs);
    osprof_core::clean();
    osprof_core::notifier::flush();
}

//! What the wrapper costs a query: `SELECT 1` on in-memory SQLite through the bare pool,
//! through `TracedPool` with no trace active, and with a trace active (each query then a
//! `db` span delivered to a no-op sink), in one run.
//!
//! A query takes tens of microseconds and most of it is the hand-off to SQLite's worker
//! thread, whose wake-up time drifts with what the other core does. So that drift falls on
//! every variant alike, each timed query runs right after an untimed query of the other
//! kind (a bare one after a traced one and the other way round), and only the timed query
//! is counted. Run with `cargo bench -p osprof-sqlx --bench query_overhead`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

mod pools;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pools::Pools;

/// `iterations` timed queries through the traced pool (or the bare one), each after an
/// untimed one through the other.
fn interleaved(pools: &Pools, iterations: u64, traced: bool) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        pools.select_one(!traced);
        let started = Instant::now();
        pools.select_one(traced);
        total += started.elapsed();
    }
    total
}

fn query_overhead(c: &mut Criterion) {
    let pools = Pools::connect();
    osprof_core::notifier::set(|_: &serde_json::Value| {});

    let mut group = c.benchmark_group("SELECT 1 on in-memory SQLite");
    group.sample_size(200);
    group.measurement_time(Duration::from_secs(15));
    for active in [false, true] {
        // A current-thread runtime polls on this thread, where the trace is.
        if active {
            osprof_core::init("key", None, None);
        }
        let label = if active { "trace active" } else { "no trace" };
        group.bench_function(format!("bare pool, {label}"), |b| {
            b.iter_custom(|iterations| interleaved(&pools, iterations, false));
        });
        group.bench_function(format!("TracedPool, {label}"), |b| {
            b.iter_custom(|iterations| interleaved(&pools, iterations, true));
        });
        if active {
            osprof_core::clean();
        }
    }
    group.finish();
    osprof_core::notifier::flush();
}

criterion_group!(benches, query_overhead);
criterion_main!(benches);

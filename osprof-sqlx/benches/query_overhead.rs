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

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use osprof_sqlx::TracedPool;
use sqlx::{Sqlite, SqlitePool};
use tokio::runtime::Runtime;

/// Which pool a query goes through.
#[derive(Clone, Copy)]
enum Through {
    Bare,
    Traced,
}

struct Pools {
    runtime: Runtime,
    bare: SqlitePool,
    traced: TracedPool<Sqlite>,
}

impl Pools {
    fn select_one(&self, through: Through) {
        let row = match through {
            Through::Bare => self
                .runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.bare)),
            Through::Traced => self
                .runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.traced)),
        };
        std::hint::black_box(row.unwrap());
    }

    /// `iterations` timed queries through `timed`, each after an untimed one through `other`.
    fn interleaved(&self, iterations: u64, timed: Through, other: Through) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iterations {
            self.select_one(other);
            let started = Instant::now();
            self.select_one(timed);
            total += started.elapsed();
        }
        total
    }
}

fn query_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // One pool (one connection, one SQLite worker thread) reached bare and wrapped: two
    // pools would each have a worker thread of their own, whose wake-ups differ by more
    // than the wrapper costs.
    let bare = runtime
        .block_on(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:"),
        )
        .unwrap();
    let traced = TracedPool::new(bare.clone());
    let pools = Pools {
        runtime,
        bare,
        traced,
    };
    osprof_core::config::set_trace_sql(true);
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
            b.iter_custom(|iterations| {
                pools.interleaved(iterations, Through::Bare, Through::Traced)
            });
        });
        group.bench_function(format!("TracedPool, {label}"), |b| {
            b.iter_custom(|iterations| {
                pools.interleaved(iterations, Through::Traced, Through::Bare)
            });
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

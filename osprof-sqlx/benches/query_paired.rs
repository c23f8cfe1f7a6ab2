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

use std::time::Instant;

use osprof_sqlx::TracedPool;
use sqlx::{Sqlite, SqlitePool};
use tokio::runtime::Runtime;

struct Pools {
    runtime: Runtime,
    bare: SqlitePool,
    traced: TracedPool<Sqlite>,
}

impl Pools {
    /// Nanoseconds one `SELECT 1` takes through the bare or the traced pool.
    fn time_select_one(&self, traced: bool) -> f64 {
        let started = Instant::now();
        let row = if traced {
            self.runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.traced))
        } else {
            self.runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.bare))
        };
        let elapsed = started.elapsed().as_nanos() as f64;
        std::hint::black_box(row.unwrap());
        elapsed
    }

    /// Prints the mean bare time and the traced pool's mean extra time per query.
    fn compare(&self, label: &str, pairs: usize) {
        let mut bare_total = 0.0;
        let mut differences = Vec::with_capacity(pairs);
        for pair in 0..pairs {
            let (bare, traced) = if pair % 2 == 0 {
                let bare = self.time_select_one(false);
                (bare, self.time_select_one(true))
            } else {
                let traced = self.time_select_one(true);
                (self.time_select_one(false), traced)
            };
            bare_total += bare;
            differences.push(traced - bare);
        }
        let n = differences.len() as f64;
        let bare_mean = bare_total / n;
        let mean = differences.iter().sum::<f64>() / n;
        let variance = differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let error = 1.96 * (variance / n).sqrt();
        println!(
            "{label}: bare pool {:.1} µs per query; TracedPool {:+.3} µs ± {:.3} µs (95%), {:+.2}% ± {:.2}%",
            bare_mean / 1e3,
            mean / 1e3,
            error / 1e3,
            100.0 * mean / bare_mean,
            100.0 * error / bare_mean,
        );
    }
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks which tests there are: none.
    }
    let pairs = std::env::var("OSPROF_PAIRS")
        .ok()
        .and_then(|pairs| pairs.parse().ok())
        .unwrap_or(50_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // One pool, one connection, one SQLite worker thread, reached bare and wrapped: two
    // pools would each have their own worker thread, and their wake-ups differ by more
    // than the wrapper costs.
    let bare = runtime
        .block_on(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:"),
        )
        .unwrap();
    let pools = Pools {
        traced: TracedPool::new(bare.clone()),
        bare,
        runtime,
    };
    osprof_core::config::set_trace_sql(true);
    // A sink that consumes every payload, so that delivery does its whole job.
    osprof_core::notifier::set(|payload: &serde_json::Value| {
        std::hint::black_box(payload.to_string());
    });
    // Warm both pools up: connections made, `SELECT 1` prepared.
    pools.compare("warm-up", 2_000);
    pools.compare("no trace active", pairs);
    // A current-thread runtime polls on this thread, where the trace is.
    osprof_core::init("key", None, None);
    pools.compare("trace active", pairs);
    osprof_core::clean();
    osprof_core::notifier::flush();
}

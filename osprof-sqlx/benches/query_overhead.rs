//! What the wrapper costs a query: `SELECT 1` on in-memory SQLite through the bare pool,
//! through `TracedPool` with no trace active, and with a trace active (each query then a
//! `db` span delivered to a no-op sink), in one run.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, criterion_group, criterion_main};
use osprof_sqlx::TracedPool;

fn query_overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = || sqlx::sqlite::SqlitePoolOptions::new().max_connections(1);
    let bare = runtime
        .block_on(options().connect("sqlite::memory:"))
        .unwrap();
    let traced = TracedPool::new(
        runtime
            .block_on(options().connect("sqlite::memory:"))
            .unwrap(),
    );
    osprof_core::config::set_trace_sql(true);
    osprof_core::notifier::set(|_: &serde_json::Value| {});

    let mut group = c.benchmark_group("SELECT 1 on in-memory SQLite");
    group.bench_function("bare pool", |b| {
        b.iter(|| {
            runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&bare))
                .unwrap()
        });
    });
    group.bench_function("TracedPool, no trace", |b| {
        b.iter(|| {
            runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&traced))
                .unwrap()
        });
    });
    group.bench_function("TracedPool, trace active", |b| {
        // A current-thread runtime polls on this thread, where the trace is.
        osprof_core::init("key", None, None);
        b.iter(|| {
            runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&traced))
                .unwrap()
        });
        osprof_core::clean();
    });
    group.finish();
}

criterion_group!(benches, query_overhead);
criterion_main!(benches);

//! The wrapper's overhead on `PING` against the real Redis on 127.0.0.1:6379, measured in
//! pairs: each iteration times one `PING` through the bare connection and one through
//! `TracedConnection`, in alternating order, and the statistic is the mean of the per-pair
//! differences with its 95% interval, from which the drift of loopback round trips cancels.
//! Run with `cargo bench -p osprof-redis --bench ping` (`OSPROF_PAIRS` sets the pair count).

#![allow(missing_docs)] // a bench program, not an API

#[path = "../../osprof-sqlx/benches/paired/mod.rs"]
mod paired;

use std::time::Instant;

use redis::aio::MultiplexedConnection;

/// Nanoseconds one `PING` takes on `conn`.
fn ping_async<C: redis::aio::ConnectionLike>(
    runtime: &tokio::runtime::Runtime,
    conn: &mut C,
) -> f64 {
    let started = Instant::now();
    let pong: String = runtime
        .block_on(redis::cmd("PING").query_async(conn))
        .unwrap();
    assert_eq!(pong, "PONG");
    started.elapsed().as_nanos() as f64
}

fn ping_sync(conn: &mut dyn redis::ConnectionLike) -> f64 {
    let started = Instant::now();
    let pong: String = redis::cmd("PING").query(conn).unwrap();
    assert_eq!(pong, "PONG");
    started.elapsed().as_nanos() as f64
}

/// `PING` through each connection in turn, timed in pairs.
fn compare(label: &str, pairs: usize, time: impl FnMut(bool) -> f64) {
    paired::compare(label, "PING", "TracedConnection", pairs, time);
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks which tests there are: none.
    }
    let pairs = paired::pairs();
    // A sink that consumes every payload, so that delivery does its whole job.
    osprof_core::notifier::set(|payload: &serde_json::Value| {
        std::hint::black_box(payload.to_string());
    });
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    // A current-thread runtime polls on this thread, where a trace is.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut bare: MultiplexedConnection = runtime
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let mut traced = runtime.block_on(osprof_redis::connect(&client)).unwrap();
    let mut time = |wrapped: bool| {
        if wrapped {
            ping_async(&runtime, &mut traced)
        } else {
            ping_async(&runtime, &mut bare)
        }
    };
    compare("async warm-up", 2_000, &mut time);
    compare("async, no trace active", pairs, &mut time);
    osprof_core::init("key", None, None);
    compare("async, trace active", pairs / 5, &mut time);
    osprof_core::clean();

    let mut bare_sync = client.get_connection().unwrap();
    let mut traced_sync = osprof_redis::connect_sync(&client).unwrap();
    let mut time_sync = |wrapped: bool| {
        if wrapped {
            ping_sync(&mut traced_sync)
        } else {
            ping_sync(&mut bare_sync)
        }
    };
    compare("sync warm-up", 2_000, &mut time_sync);
    compare("sync, no trace active", pairs, &mut time_sync);
    osprof_core::notifier::flush();
}

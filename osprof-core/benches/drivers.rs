//! Sustained throughput of the storage drivers: one thread records spans as fast as it can
//! (a full ring makes it wait, so nothing is dropped), the delivery thread writes them, and
//! the figure is spans per second from the first span to the last event stored. Each run
//! then checks that every event arrived.
//!
//! `cargo bench -p osprof-core --bench drivers` prints one line per driver. The Redis run
//! uses the server on 127.0.0.1:6379 (database 4, emptied first).

use std::process::Command;
use std::time::Instant;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, DeliveryOptions, Overflow};
use osprof_core::{Trace, notifier::Driver};

const SPANS: u64 = 2_000_000;

/// Records `SPANS` spans in one trace through `driver`; returns spans per second and the base id.
fn run(driver: std::sync::Arc<dyn Driver>) -> (f64, String) {
    notifier::set_shared(driver);
    let started = Instant::now();
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    for _ in 0..SPANS {
        drop(Trace::new("db", None));
    }
    osprof_core::clean();
    notifier::flush();
    let rate = SPANS as f64 / started.elapsed().as_secs_f64();
    notifier::reset();
    (rate, profiler.base_id().to_owned())
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks what to run
    }
    let mut options = DeliveryOptions::default();
    options.overflow = Overflow::Block { max_wait: None };
    notifier::configure(options);
    let stats_before = notifier::stats();

    let path = std::env::temp_dir().join(format!("osprof-throughput-{}.jsonl", std::process::id()));
    let file = notifier::try_create(
        &format!("file://{}", path.display()),
        &DriverOptions::new("bench", "api"),
    )
    .unwrap();
    let (rate, _) = run(file);
    let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
    std::fs::remove_file(&path).unwrap();
    assert_eq!(lines, 2 * SPANS, "the file driver lost events");
    println!(
        "file driver: {:.2} M spans/s ({} events, none lost)",
        rate / 1e6,
        lines
    );

    let redis_url = "redis://127.0.0.1:6379/4";
    Command::new("redis-cli")
        .args(["-u", redis_url, "FLUSHDB"])
        .output()
        .unwrap();
    let redis = notifier::try_create(redis_url, &DriverOptions::new("bench", "api")).unwrap();
    let (rate, base_id) = run(redis);
    let stored = Command::new("redis-cli")
        .args([
            "-u",
            redis_url,
            "LLEN",
            &format!("osprofiler_opt:{base_id}"),
        ])
        .output()
        .unwrap();
    let stored: u64 = String::from_utf8(stored.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(stored, 2 * SPANS, "the redis driver lost events");
    println!(
        "redis driver: {:.2} M spans/s ({} events, none lost)",
        rate / 1e6,
        stored
    );
    Command::new("redis-cli")
        .args(["-u", redis_url, "FLUSHDB"])
        .output()
        .unwrap();

    let stats = notifier::stats();
    assert_eq!(stats.dropped, stats_before.dropped);
    assert_eq!(stats.failed, stats_before.failed);
}

//! Sustained throughput of the storage drivers: one thread records spans as fast as it can
//! (a full ring makes it wait, so nothing is dropped), the delivery thread writes them, and
//! the figures are spans per second from the first span to the last event stored, and the
//! whole process's CPU time per span. Each run then checks that every event was stored.
//!
//! `cargo bench -p osprof-core --bench drivers [-- file|redis|amqp]` prints one line per
//! driver. The file run writes to the temporary directory (`TMPDIR`); the Redis run uses the
//! server on 127.0.0.1:6379 (database 4, emptied first); the AMQP run the broker on
//! 127.0.0.1:5672 (its `profiler.info` queue purged after). SQL storage is measured by
//! osprof-sqlx's `storage` bench.

mod measure;

use std::process::Command;
use std::sync::Arc;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, Driver};

/// Records `spans` spans through `driver` and prints the figures; returns the base id.
fn run(label: &str, driver: Arc<dyn Driver>, spans: u64) -> String {
    let run = measure::record_through(driver, spans);
    println!(
        "drivers/{label}: {:.2} M spans/s, {:.0} ns process CPU per span ({} events stored)",
        run.spans_per_second / 1e6,
        run.cpu_ns_per_span,
        2 * spans
    );
    run.base_id
}

fn redis_cli(args: &[&str]) -> String {
    let output = Command::new("redis-cli").args(args).output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks what to run
    }
    let filter = measure::filter();
    // A driver's warnings (a store that fell behind) are printed.
    tracing::subscriber::set_global_default(tracing_subscriber::fmt().finish()).unwrap();
    let driver_options = DriverOptions::new("bench", "api");

    if "file".contains(&filter) {
        let path =
            std::env::temp_dir().join(format!("osprof-throughput-{}.jsonl", std::process::id()));
        let file =
            notifier::try_create(&format!("file://{}", path.display()), &driver_options).unwrap();
        run("file", file, 1_000_000);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
        std::fs::remove_file(&path).unwrap();
        assert_eq!(lines, 2_000_000, "the file driver lost events");
    }

    if "redis".contains(&filter) {
        let redis_url = "redis://127.0.0.1:6379/4";
        redis_cli(&["-u", redis_url, "FLUSHDB"]);
        let redis = notifier::try_create(redis_url, &driver_options).unwrap();
        let base_id = run("redis", redis, 1_000_000);
        let stored = redis_cli(&[
            "-u",
            redis_url,
            "LLEN",
            &format!("osprofiler_opt:{base_id}"),
        ]);
        assert_eq!(stored, "2000000", "the redis driver lost events");
        redis_cli(&["-u", redis_url, "FLUSHDB"]);
    }

    if "amqp".contains(&filter) {
        // The broker shares this machine's two cores: a confirm can take longer than the
        // default socket timeout (0.1 s), which would count as an outage.
        let mut amqp_options = driver_options.clone();
        amqp_options.socket_timeout = std::time::Duration::from_secs(2);
        let amqp = notifier::try_create("messaging://", &amqp_options).unwrap();
        run("amqp", amqp, 100_000);
        // Every event was confirmed by the broker (checked in `run`); leave the queue empty.
        let _ = Command::new("rabbitmqctl")
            .args(["purge_queue", "profiler.info"])
            .output();
    }
}

//! Sustained throughput of SQL storage: one thread records spans as fast as it can (a full
//! ring makes it wait, so nothing is dropped), the delivery thread stores them, and the
//! figures are spans per second from the first span to the last row committed, and the whole
//! process's CPU time per span. The run then counts the rows.
//!
//! `cargo bench -p osprof-sqlx --bench storage [-- postgresql|mysql]` prints one line per
//! database: PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306 (database `test`,
//! table `data` emptied first).

#[path = "../../osprof-core/benches/process.rs"]
mod process;

use std::time::Instant;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, DeliveryOptions, Overflow};
use sqlx::Connection;

const SPANS: u64 = 200_000;

fn rows(url: &str, runtime: &tokio::runtime::Runtime, sql: &str) -> i64 {
    runtime.block_on(async {
        let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
        let count = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_optional(&mut connection)
            .await;
        count.ok().flatten().unwrap_or(0)
    })
}

fn measure(label: &str, url: &str, runtime: &tokio::runtime::Runtime) {
    runtime.block_on(async {
        let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
        let _ = sqlx::query("DELETE FROM data")
            .execute(&mut connection)
            .await;
    });
    let storage = osprof_sqlx::SqlStorage::open(url, &DriverOptions::new("bench", "api")).unwrap();
    notifier::set(storage);
    let stats_before = notifier::stats();
    let cpu_before = process::cpu_seconds();
    let started = Instant::now();
    osprof_core::init("SECRET_KEY", None, None);
    for _ in 0..SPANS {
        drop(osprof_core::Trace::new("db", None));
    }
    osprof_core::clean();
    notifier::flush();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process::cpu_seconds() - cpu_before;
    notifier::reset();
    let stats = notifier::stats();
    assert_eq!(
        stats.stored - stats_before.stored,
        2 * SPANS,
        "{label}: {stats:?}"
    );
    let stored = rows(url, runtime, "SELECT COUNT(*) FROM data");
    assert_eq!(stored as u64, 2 * SPANS, "{label}: rows in the table");
    println!(
        "storage/{label}: {:.3} M spans/s, {:.0} ns process CPU per span ({stored} rows)",
        SPANS as f64 / elapsed / 1e6,
        cpu / SPANS as f64 * 1e9,
    );
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks what to run
    }
    let filter = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .unwrap_or_default();
    osprof_sqlx::register_drivers();
    sqlx::any::install_default_drivers();
    let mut options = DeliveryOptions::default();
    options.overflow = Overflow::Block { max_wait: None };
    notifier::configure(options);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if "postgresql".contains(&filter) {
        measure(
            "postgresql",
            "postgresql://postgres@127.0.0.1:5432/test",
            &runtime,
        );
    }
    if "mysql".contains(&filter) {
        measure("mysql", "mysql://root@127.0.0.1:3306/test", &runtime);
    }
}

//! Sustained throughput of SQL storage: one thread records spans as fast as it can (a full
//! ring makes it wait, so nothing is dropped), the delivery thread stores them, and the
//! figures are spans per second from the first span to the last row committed, and the whole
//! process's CPU time per span. The run then counts the rows.
//!
//! `cargo bench -p osprof-sqlx --bench storage [-- postgresql|mysql]` prints one line per
//! database: PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306 (database `test`,
//! table `data` emptied first).

#[path = "../../osprof-core/benches/measure.rs"]
mod measure;

use std::sync::Arc;

use osprof_core::drivers::DriverOptions;
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
    let run = measure::record_through(Arc::new(storage), SPANS);
    let stored = rows(url, runtime, "SELECT COUNT(*) FROM data");
    assert_eq!(stored as u64, 2 * SPANS, "{label}: rows in the table");
    println!(
        "storage/{label}: {:.3} M spans/s, {:.0} ns process CPU per span ({stored} rows)",
        run.spans_per_second / 1e6,
        run.cpu_ns_per_span,
    );
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return; // `cargo test --benches` asks what to run
    }
    let filter = measure::filter();
    osprof_sqlx::register_drivers();
    sqlx::any::install_default_drivers();
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

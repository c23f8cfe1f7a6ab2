//! osprof quickstart: a small order service on SQLite handles a few requests inside one
//! trace. Its handlers are `#[trace]` functions, its store a `#[trace_impl]` block over an
//! osprof-sqlx pool, so every query is a `db` span under the function that made it. The
//! events go to a JSON Lines file here (or to `OSPROF_CONNECTION_STRING`), and the trace
//! is read back, printed as a tree and written as `report.html`.
//!
//! Run it with `cargo run -p quickstart`; it needs no server.

use osprof_core::drivers::DriverOptions;
use osprof_core::{FutureExt, notifier, trace, trace_impl};
use osprof_sqlx::TracedPool;

/// Where the events of this run go unless `OSPROF_CONNECTION_STRING` says otherwise.
const EVENTS_FILE: &str = "osprof-events.jsonl";

/// The HTML report of the run, written in the current directory.
const REPORT_FILE: &str = "report.html";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    // Where events go: `OSPROF_CONNECTION_STRING`, or a JSON Lines file here.
    let connection_string = std::env::var("OSPROF_CONNECTION_STRING")
        .unwrap_or_else(|_| format!("file://{EVENTS_FILE}"));
    osprof_sqlx::register_drivers(); // sqlite://, postgresql://, mysql:// storage too
    let options = DriverOptions::new("quickstart", "api");
    notifier::set_shared(notifier::try_create(&connection_string, &options)?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let base_id = runtime.block_on(
        async {
            let store = Store::open().await?;
            // What a signed request does in a service (see osprof-http's TraceLayer).
            let profiler = osprof_core::init("SECRET_KEY", None, None);
            for order in 1..=3 {
                handle_request(&store, order).await?;
            }
            osprof_core::clean();
            Ok::<_, Error>(profiler.base_id().to_owned())
        }
        .in_current_trace(),
    )?;
    notifier::flush();

    println!("Trace ID: {base_id}");
    println!("Events:   {connection_string}");
    // Every recorded event is accounted for: stored, dropped, failed or still in flight.
    let stats = notifier::stats();
    println!(
        "Stats:    {} recorded = {} stored + {} dropped + {} failed + {} in flight",
        stats.recorded, stats.stored, stats.dropped, stats.failed, stats.in_flight
    );
    assert_eq!(
        stats.recorded,
        stats.stored + stats.dropped + stats.failed + stats.in_flight
    );
    let report = notifier::get().get_report(&base_id)?;
    print!("{}", osprof_core::report::text_tree(&report));
    std::fs::write(REPORT_FILE, osprof_core::report::to_html(&report))?;
    let written = std::path::absolute(REPORT_FILE)?;
    println!(
        "Report:   {} (open it in a browser; it works offline)",
        written.display()
    );
    Ok(())
}

/// One request: load the order, price it on another task.
#[trace(name = "wsgi", info(path = "/orders/{id}", method = "GET"))]
async fn handle_request(store: &Store, id: i64) -> Result<i64, Error> {
    let quantity = store.quantity(id).await?;
    let total = osprof_core::tokio::spawn(price(quantity)).await?;
    store.record_sale(id, total).await?;
    Ok(total)
}

#[trace(name = "rpc")]
async fn price(quantity: i64) -> i64 {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    quantity * 3
}

/// The order store: every method is a span, every query inside it a `db` span.
#[derive(Debug)]
struct Store {
    pool: TracedPool<sqlx::Sqlite>,
}

#[trace_impl(name = "store", hide_args, trace_private)]
impl Store {
    async fn open() -> Result<Store, Error> {
        let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
        sqlx::query(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, quantity INTEGER, total INTEGER)",
        )
        .execute(&pool)
        .await?;
        for id in 1..=3_i64 {
            sqlx::query("INSERT INTO orders (id, quantity) VALUES (?, ?)")
                .bind(id)
                .bind(id * 10)
                .execute(&pool)
                .await?;
        }
        Ok(Store { pool })
    }

    async fn quantity(&self, id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT quantity FROM orders WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await
    }

    async fn record_sale(&self, id: i64, total: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE orders SET total = ? WHERE id = ?")
            .bind(total)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

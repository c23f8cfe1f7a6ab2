//! osprof quickstart: a small service handles a few requests inside one trace, the events go
//! to a JSON Lines file (or `OSPROF_CONNECTION_STRING`), and the trace is read back and
//! printed as a tree.
//!
//! Run it with `cargo run -p quickstart`; it needs no server.

use osprof_core::drivers::DriverOptions;
use osprof_core::{FutureExt, Trace, notifier};
use serde_json::json;

/// Where the events of this run go: one OSProfiler payload per line.
const EVENTS_FILE: &str = "osprof-events.jsonl";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Where events go: `OSPROF_CONNECTION_STRING`, or a JSON Lines file here.
    let connection_string = std::env::var("OSPROF_CONNECTION_STRING")
        .unwrap_or_else(|_| format!("file://{EVENTS_FILE}"));
    let options = DriverOptions::new("quickstart", "api");
    notifier::set_shared(notifier::try_create(&connection_string, &options)?);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    runtime.block_on(
        async {
            for order in 1..=3 {
                handle_request(order).await;
            }
        }
        .in_current_trace(),
    );
    osprof_core::clean();
    notifier::flush();

    println!("Trace ID: {}", profiler.base_id());
    println!("Events:   {connection_string}");
    let report = notifier::get().get_report(profiler.base_id())?;
    print!("{}", osprof_core::report::text_tree(&report));
    Ok(())
}

/// One request: a traced handler that queries a "database" on a blocking thread and prices
/// the order on another task, both hanging under the request's span.
async fn handle_request(order: u32) {
    async move {
        let rows = osprof_core::tokio::spawn_blocking(move || {
            let _query = Trace::new(
                "db",
                Some(json!({"db": {"statement": "SELECT * FROM orders WHERE id = ?"}})),
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
            order * 10
        })
        .await
        .expect("the query thread does not panic");
        let total = osprof_core::tokio::spawn(price(rows))
            .await
            .expect("pricing does not panic");
        assert!(total > 0);
    }
    .traced(
        "wsgi",
        Some(json!({"request": {"path": format!("/orders/{order}"), "method": "GET"}})),
    )
    .await;
}

async fn price(rows: u32) -> u32 {
    async move {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        rows * 3
    }
    .traced(
        "rpc",
        Some(json!({"function": {"name": "quickstart::price"}})),
    )
    .await
}

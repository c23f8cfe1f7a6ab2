//! osprof quickstart: a small service handles a few requests inside one trace, the events go
//! to a JSON Lines file, and the trace is printed as a tree.
//!
//! Run it with `cargo run -p quickstart`; it needs no server.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use osprof_core::{FutureExt, Trace, notifier};
use serde_json::{Value, json};

/// Where the events of this run go: one OSProfiler payload per line.
const EVENTS_FILE: &str = "osprof-events.jsonl";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = Mutex::new(BufWriter::new(File::create(EVENTS_FILE)?));
    notifier::set(move |payload: &Value| {
        let mut file = file.lock().expect("no writer panics");
        // A sink must not fail the service: report and go on.
        if let Err(error) = writeln!(file, "{payload}").and_then(|()| file.flush()) {
            eprintln!("quickstart: could not write an event: {error}");
        }
    });

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
    println!(
        "Events:   {}",
        Path::new(EVENTS_FILE).canonicalize()?.display()
    );
    print!("{}", render_tree(EVENTS_FILE, profiler.base_id())?);
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

/// Reads the events of trace `base_id` back and draws them as a tree with durations.
fn render_tree(path: &str, base_id: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut starts: Vec<Start> = Vec::new();
    let mut stops: HashMap<String, String> = HashMap::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let event: Value = serde_json::from_str(&line?)?;
        if event["base_id"] != base_id {
            continue;
        }
        let text = |key: &str| event[key].as_str().unwrap_or_default().to_owned();
        match text("name").rsplit_once('-') {
            Some((name, "start")) => starts.push((
                text("trace_id"),
                text("parent_id"),
                name.to_owned(),
                text("timestamp"),
            )),
            Some((_, "stop")) => {
                stops.insert(text("trace_id"), text("timestamp"));
            }
            _ => {}
        }
    }
    let mut out = String::new();
    draw(&starts, &stops, base_id, 0, &mut out);
    Ok(out)
}

type Start = (String, String, String, String);

/// Appends the spans whose parent is `parent`, each followed by its own children.
fn draw(
    starts: &[Start],
    stops: &HashMap<String, String>,
    parent: &str,
    depth: usize,
    out: &mut String,
) {
    for (id, _, name, started) in starts.iter().filter(|(_, p, ..)| p == parent) {
        let duration = stops.get(id).map_or_else(
            || "not stopped".to_owned(),
            |stopped| format!("{:.3} ms", millis(stopped) - millis(started)),
        );
        out.push_str(&format!("{}{name} ({duration})\n", "  ".repeat(depth)));
        draw(starts, stops, id, depth + 1, out);
    }
}

/// Milliseconds within the hour of a `%Y-%m-%dT%H:%M:%S.%f` timestamp (enough for spans).
fn millis(timestamp: &str) -> f64 {
    let minutes: f64 = timestamp
        .get(14..16)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0.0);
    let seconds: f64 = timestamp
        .get(17..)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    (minutes * 60.0 + seconds) * 1000.0
}

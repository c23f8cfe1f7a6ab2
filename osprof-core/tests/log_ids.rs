//! Log correlation: `bridge::TraceIds` stamps the current trace's `base_id` and innermost
//! span id on every log line written inside a trace, in text and in JSON, and leaves other
//! lines alone.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use osprof_core::bridge::{OsprofLayer, TraceIds};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

/// Log output kept in memory, one `String` for the whole run.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

#[tracing::instrument]
fn load(id: u32) {
    tracing::info!(rows = 3, "loaded");
}

/// Logs one line outside a trace, then, inside one, a line in a `request` span and a line in
/// an instrumented `load` span. Returns the trace's payloads.
fn log_a_request(subscriber: impl tracing::Subscriber + Send + Sync + 'static) -> Vec<Value> {
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("starting");
        common::traced(|| {
            let _request = osprof_core::Trace::new("request", None);
            tracing::warn!(user = "alice", "quota low");
            load(7);
        })
    })
}

/// The id of the span named `name` in `events`.
fn span_id<'a>(events: &'a [Value], name: &str) -> &'a str {
    let start = events
        .iter()
        .find(|event| event["name"] == format!("{name}-start"))
        .unwrap_or_else(|| panic!("no {name} span in {events:#?}"));
    start["trace_id"].as_str().unwrap()
}

#[test]
fn text_lines_inside_a_trace_start_with_its_ids() {
    for ansi in [false, true] {
        let output = Output::default();
        let writer = output.clone();
        let logs = tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .without_time()
            .with_writer(move || writer.clone())
            .map_event_format(TraceIds::new);
        let events = log_a_request(
            tracing_subscriber::registry()
                .with(OsprofLayer::new())
                .with(logs),
        );
        let base_id = events[0]["base_id"].as_str().unwrap();

        let lines = output.lines();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            !lines[0].contains("base_id"),
            "outside the trace: {}",
            lines[0]
        );
        assert!(lines[0].contains("starting"), "{}", lines[0]);
        let request = format!("base_id={base_id} span_id={} ", span_id(&events, "request"));
        assert!(lines[1].starts_with(&request), "ansi {ansi}: {}", lines[1]);
        assert!(lines[1].contains("quota low"), "{}", lines[1]);
        let load = format!("base_id={base_id} span_id={} ", span_id(&events, "load"));
        assert!(lines[2].starts_with(&load), "ansi {ansi}: {}", lines[2]);
        assert!(lines[2].contains("loaded"), "{}", lines[2]);
    }
}

#[test]
fn json_lines_inside_a_trace_carry_its_ids_as_keys() {
    let output = Output::default();
    let writer = output.clone();
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(move || writer.clone())
        .map_event_format(TraceIds::new);
    let events = log_a_request(
        tracing_subscriber::registry()
            .with(OsprofLayer::new())
            .with(logs),
    );
    let base_id = events[0]["base_id"].as_str().unwrap();

    let lines: Vec<Value> = output
        .lines()
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert_eq!(lines[0]["fields"]["message"], "starting");
    assert!(lines[0].get("base_id").is_none(), "{}", lines[0]);

    assert_eq!(lines[1]["base_id"], base_id);
    assert_eq!(lines[1]["span_id"], span_id(&events, "request"));
    assert_eq!(
        lines[1]["fields"]["user"], "alice",
        "the event's own fields stay"
    );
    assert_eq!(lines[1]["level"], "WARN");

    assert_eq!(lines[2]["base_id"], base_id);
    assert_eq!(lines[2]["span_id"], span_id(&events, "load"));
    assert_eq!(lines[2]["fields"]["rows"], 3);
    assert_eq!(
        lines[2]["span"]["id"], 7,
        "the formatter's own span keys stay"
    );
}

//! The `tracing` bridge: `#[tracing::instrument]` functions and `tracing` events inside an
//! osprof trace become osprof spans; outside one, nothing is recorded.

mod common;

use osprof_core::FutureExt;
use tracing_subscriber::layer::SubscriberExt;

fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let subscriber =
            tracing_subscriber::registry().with(osprof_core::bridge::OsprofLayer::new());
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    common::install_sink();
}

#[tracing::instrument]
fn lookup(id: u32) -> u32 {
    tracing::info!(target: "sqlx::query", summary = "SELECT name FROM servers", rows_returned = 1_u64);
    id * 2
}

#[osprof_core::trace(name = "rpc", hide_args)]
fn handle(id: u32) -> u32 {
    lookup(id)
}

#[test]
fn instrumented_functions_and_events_join_the_trace() {
    install();
    let events = common::traced(|| {
        assert_eq!(handle(21), 42);
    });

    assert_eq!(common::tree(&events), "rpc\n  lookup\n    sqlx::query\n");
    let lookup = events.iter().find(|e| e["name"] == "lookup-start").unwrap();
    assert_eq!(lookup["info"]["tracing"]["fields"]["id"], 21);
    let query = events
        .iter()
        .find(|e| e["name"] == "sqlx::query-start")
        .unwrap();
    assert_eq!(
        query["info"]["tracing"]["fields"]["summary"],
        "SELECT name FROM servers"
    );
}

#[tracing::instrument]
async fn fetch(id: u32) -> u32 {
    tokio::task::yield_now().await;
    tracing::info!(step = "after await");
    id
}

#[test]
fn an_instrumented_async_fn_keeps_its_place_across_awaits() {
    install();
    let runtime = common::multi_thread_runtime();
    let events = common::traced(|| {
        runtime.block_on(
            async {
                let (a, b) = tokio::join!(fetch(1), fetch(2));
                assert_eq!(a + b, 3);
            }
            .traced("wsgi", None)
            .in_current_trace(),
        );
    });

    assert_eq!(
        common::tree(&events),
        "wsgi\n  fetch\n    tracing_bridge\n  fetch\n    tracing_bridge\n"
    );
}

#[test]
fn outside_a_trace_nothing_is_recorded() {
    install();
    assert_eq!(lookup(999), 1998);
    let recorded = common::all_events()
        .into_iter()
        .any(|event| event["info"]["tracing"]["fields"]["id"] == 999);
    assert!(!recorded);
}

#[test]
fn events_are_named_after_their_message_or_a_chosen_field_and_keep_their_fields() {
    install();
    let events = common::traced(|| {
        tracing::info!(rows = 3_u64, "loaded the servers");
        let layer = osprof_core::bridge::OsprofLayer::new().event_name_field("kind");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(kind = "cache-miss", key = "user:7", "looked up");
            tracing::info!(key = "user:8", "looked up");
        });
    });
    assert_eq!(
        common::tree(&events),
        "loaded the servers\ncache-miss\nlooked up\n"
    );
    let fields = &events[0]["info"]["tracing"]["fields"];
    assert_eq!(fields["rows"], 3);
    assert_eq!(fields["message"], "loaded the servers");
    assert_eq!(events[2]["info"]["tracing"]["fields"]["key"], "user:7");
}

/// sqlx's own `sqlx::query` event inside an osprof-sqlx `db` span repeats the span: it is
/// left out there, and kept elsewhere.
#[test]
fn sqlx_query_events_inside_a_db_span_are_not_recorded_twice() {
    install();
    let events = common::traced(|| {
        {
            let _db = osprof_core::Trace::new("db", None);
            tracing::info!(target: "sqlx::query", summary = "SELECT 1", "SELECT 1");
        }
        tracing::info!(target: "sqlx::query", summary = "SELECT 2", "SELECT 2");
    });
    assert_eq!(common::tree(&events), "db\nSELECT 2\n");
}

#[tracing::instrument(err)]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[tracing::instrument(ret)]
fn double(value: u32) -> u32 {
    value * 2
}

/// `#[instrument(err)]` and `(ret)` end their span as `#[trace]` does: a failure with the
/// error's message, or the result; their events are not spans of their own.
#[test]
fn instrument_err_and_ret_mark_the_spans_stop() {
    install();
    let events = common::traced(|| {
        assert!(parse("x").is_err());
        assert_eq!(parse("7"), Ok(7));
        assert_eq!(double(4), 8);
    });
    assert_eq!(common::tree(&events), "parse\nparse\ndouble\n");
    let stops: Vec<_> = events
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("-stop"))
        .map(|e| {
            let mut info = e["info"].clone();
            info.as_object_mut().unwrap().remove("host");
            info
        })
        .collect();
    assert_eq!(stops[0]["etype"], "error");
    assert_eq!(stops[0]["message"], "invalid digit found in string");
    assert_eq!(stops[1], serde_json::json!({}));
    assert_eq!(stops[2], serde_json::json!({"function": {"result": "8"}}));
}

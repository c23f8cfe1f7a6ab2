//! `add_info`: what a span learns while it runs reaches its stop payload, for every kind
//! of span, across polls on any worker thread, and costs nothing without a trace.

mod common;

use common::{events_of, multi_thread_runtime, traced};
use osprof_core::{FutureExt, trace};
use serde_json::{Value, json};

/// The stop payload named `name`'s info, without its host.
fn stop_info(events: &[Value], name: &str) -> Value {
    let stop = events
        .iter()
        .find(|event| event["name"] == format!("{name}-stop"))
        .unwrap_or_else(|| panic!("no {name}-stop in {events:#?}"));
    let mut info = stop["info"].clone();
    info.as_object_mut().unwrap().remove("host");
    info
}

#[trace]
fn load(tenant: &str) -> usize {
    osprof_core::add_info("tenant", tenant);
    osprof_core::add_info("rows", 1);
    osprof_core::add_info("rows", 42); // the later value wins
    42
}

#[trace(hide_result = false)]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    osprof_core::add_info("length", text.len());
    text.parse()
}

#[test]
fn a_traced_function_and_a_guard_carry_what_was_added_in_their_stops() {
    let events = traced(|| {
        load("acme");
        let _ = parse("x1");
        let _ = parse("12");
        let _guard = osprof_core::Trace::new("guard", None);
        osprof_core::add_info("cache", "hit");
    });
    assert_eq!(
        stop_info(&events, "load"),
        json!({"tenant": "acme", "rows": 42})
    );
    let parses: Vec<_> = events
        .iter()
        .filter(|event| event["name"] == "parse-stop")
        .map(|event| {
            let mut info = event["info"].clone();
            info.as_object_mut().unwrap().remove("host");
            info
        })
        .collect();
    assert_eq!(parses[0]["length"], 2);
    assert_eq!(parses[0]["etype"], "core::num::error::ParseIntError");
    assert_eq!(
        parses[1],
        json!({"function": {"result": "12"}, "length": 2})
    );
    assert_eq!(stop_info(&events, "guard"), json!({"cache": "hit"}));
    // The guard's start was recorded so that its stop could carry the info.
    assert!(events.iter().any(|event| event["name"] == "guard-start"));
}

#[trace]
async fn fetch(id: u32) -> u32 {
    osprof_core::add_info("before", id);
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    osprof_core::add_info("after", id + 1);
    tokio::task::yield_now().await;
    id
}

#[test]
fn an_async_span_keeps_what_each_poll_added_on_any_worker() {
    let runtime = multi_thread_runtime();
    let base_id = runtime.block_on(async {
        tokio::spawn(async {
            let base_id = osprof_core::init("key", None, None).base_id().to_owned();
            fetch(7).await;
            // A future traced by hand, in a task that carries the trace.
            osprof_core::tokio::spawn(
                async {
                    osprof_core::add_info("step", "one");
                    tokio::task::yield_now().await;
                    osprof_core::add_info("done", true);
                }
                .traced("job", None),
            )
            .await
            .unwrap();
            osprof_core::clean();
            base_id
        })
        .await
        .unwrap()
    });
    let events = events_of(&base_id);
    assert_eq!(stop_info(&events, "fetch")["before"], 7);
    assert_eq!(stop_info(&events, "fetch")["after"], 8);
    assert_eq!(
        stop_info(&events, "job"),
        json!({"step": "one", "done": true})
    );
}

#[test]
fn without_a_trace_or_an_open_span_nothing_happens() {
    common::install_sink();
    osprof_core::add_info("lost", 1);
    let events = traced(|| osprof_core::add_info("no span", 1));
    assert!(events.is_empty(), "{events:#?}");
}

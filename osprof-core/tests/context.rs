//! The trace context and its stack, as OSProfiler keeps them.

mod common;

use osprof_core::{Trace, clean, get, init, start, stop};
use serde_json::json;

fn is_uuid4(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|id| id.get_version_num() == 4)
        && text.len() == 36
        && text == text.to_lowercase()
}

#[test]
fn init_without_ids_makes_a_uuid4_base_that_is_also_the_parent() {
    let profiler = init("key", None, None);
    assert!(is_uuid4(profiler.base_id()), "{}", profiler.base_id());
    assert_eq!(profiler.parent_id(), profiler.base_id());
    assert_eq!(profiler.id(), profiler.base_id());
    assert_eq!(profiler.hmac_key(), "key");
    clean();
}

#[test]
fn empty_ids_count_as_missing() {
    let profiler = init("key", Some(""), Some(""));
    assert!(is_uuid4(profiler.base_id()));
    assert_eq!(profiler.id(), profiler.base_id());
    clean();
}

#[test]
fn stack_starts_with_base_and_parent() {
    let profiler = init("key", Some("base"), Some("parent"));
    assert_eq!(
        (profiler.base_id(), profiler.parent_id(), profiler.id()),
        ("base", "base", "parent")
    );
    clean();
}

#[test]
fn second_init_returns_the_active_context_unchanged() {
    let first = init("key", Some("base-a"), None);
    start("outer", None);
    let inside = get().unwrap();
    let second = init("other-key", Some("base-b"), Some("p"));
    assert_eq!(second, inside);
    assert_eq!(second.base_id(), first.base_id());
    stop(None);
    clean();
}

#[test]
fn start_pushes_and_stop_pops() {
    common::install_sink();
    let profiler = init("key", None, Some("p0"));
    start("a", None);
    let in_a = get().unwrap();
    assert!(is_uuid4(in_a.id()));
    assert_eq!(in_a.parent_id(), "p0");
    start("b", None);
    let in_b = get().unwrap();
    assert_eq!(in_b.parent_id(), in_a.id());
    stop(None);
    assert_eq!(get().unwrap().id(), in_a.id());
    stop(None);
    assert_eq!(get().unwrap().id(), "p0");
    clean();

    let events = common::events_of(profiler.base_id());
    let ids: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["trace_id"].as_str().unwrap(),
                e["parent_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            ("a-start", in_a.id(), "p0"),
            ("b-start", in_b.id(), in_a.id()),
            ("b-stop", in_b.id(), in_a.id()),
            ("a-stop", in_a.id(), "p0"),
        ]
    );
}

#[test]
fn stop_with_nothing_open_emits_nothing() {
    common::install_sink();
    let profiler = init("key", None, None);
    stop(None);
    stop(Some(json!({"x": 1})));
    assert_eq!(get().unwrap().id(), profiler.base_id());
    clean();
    assert!(common::events_of(profiler.base_id()).is_empty());
}

#[test]
fn without_a_context_nothing_happens() {
    common::install_sink();
    clean();
    assert!(get().is_none());
    start("orphan", None);
    stop(None);
    let _guard = Trace::new("orphan-guard", None);
    clean();
    assert!(get().is_none());
}

#[test]
fn clean_ends_the_trace() {
    init("key", None, None);
    start("left-open", None);
    clean();
    assert!(get().is_none());
    let fresh = init("key2", None, None);
    assert_eq!(fresh.id(), fresh.base_id());
    clean();
}

#[test]
fn guards_nest_and_stop_in_reverse_order() {
    common::install_sink();
    let profiler = init("key", None, None);
    {
        let _outer = Trace::new("outer", None);
        {
            let _inner = Trace::new(String::from("inner"), None);
        }
        let _sibling = Trace::new("sibling", None);
    }
    clean();
    let events = common::events_of(profiler.base_id());
    assert_eq!(common::tree(&events), "outer\n  inner\n  sibling\n");
}

#[test]
fn snapshot_resumes_the_trace_under_the_current_span() {
    let profiler = init("key", None, None);
    start("call", None);
    let current = get().unwrap();
    let snapshot = current.snapshot();
    assert_eq!(snapshot.parent_id, current.id());
    let wire = serde_json::to_string(&snapshot).unwrap();
    stop(None);
    clean();

    let restored: osprof_core::TraceSnapshot = serde_json::from_str(&wire).unwrap();
    let resumed = restored.resume();
    assert_eq!(resumed.base_id(), profiler.base_id());
    assert_eq!(resumed.id(), current.id());
    assert_eq!(resumed.hmac_key(), "key");
    clean();
}

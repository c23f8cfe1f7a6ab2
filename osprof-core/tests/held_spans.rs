//! A span with no info is held back on its thread until something is recorded inside it or
//! it stops (then it is one leaf event); what reaches the sink is the same as if its start
//! had been recorded at once.

mod common;

use osprof_core::{Trace, clean, init};

#[test]
fn a_leaf_span_arrives_as_its_start_then_its_stop() {
    let events = common::traced(|| {
        let _leaf = Trace::new("leaf", None);
    });
    assert_eq!(common::names(&events), ["leaf-start", "leaf-stop"]);
    let [start, stop] = &events[..] else {
        unreachable!()
    };
    for key in ["trace_id", "parent_id", "base_id"] {
        assert_eq!(start[key], stop[key], "{key}");
    }
    assert!(start["timestamp"].as_str() <= stop["timestamp"].as_str());
}

#[test]
fn a_held_start_is_recorded_before_its_children_and_by_a_flush() {
    common::install_sink();
    let profiler = init("key", None, None);
    let outer = Trace::new("outer", None);
    assert_eq!(
        common::names(&common::events_of(profiler.base_id())),
        ["outer-start"]
    );
    {
        let _inner = Trace::new("inner", None);
        let _innermost = Trace::new("innermost", None);
    }
    drop(outer);
    clean();
    let events = common::events_of(profiler.base_id());
    assert_eq!(
        common::names(&events),
        [
            "outer-start",
            "inner-start",
            "innermost-start",
            "innermost-stop",
            "inner-stop",
            "outer-stop"
        ]
    );
    assert_eq!(events[2]["parent_id"], events[1]["trace_id"]);
    assert_eq!(events[1]["parent_id"], events[0]["trace_id"]);
}

#[test]
fn get_inside_a_held_span_gives_the_span_its_id() {
    let mut seen = None;
    let events = common::traced(|| {
        let _outer = Trace::new("outer", None);
        seen = osprof_core::get().map(|profiler| profiler.id().to_owned());
        let _inner = Trace::new("inner", None);
    });
    assert_eq!(
        common::names(&events),
        ["outer-start", "inner-start", "inner-stop", "outer-stop"]
    );
    let seen = seen.expect("a trace is active");
    assert_eq!(events[0]["trace_id"], seen.as_str());
    assert_eq!(events[3]["trace_id"], seen.as_str());
    assert_eq!(events[1]["parent_id"], seen.as_str());
}

#[test]
fn each_leaf_gets_a_fresh_uuid4_id() {
    let events = common::traced(|| {
        for _ in 0..3 {
            let _leaf = Trace::new("leaf", None);
        }
    });
    let ids: Vec<&str> = events
        .iter()
        .step_by(2)
        .map(|start| start["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    for (n, id) in ids.iter().enumerate() {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 4, "{id}");
        assert!(!ids[..n].contains(id), "{id} given twice");
    }
}

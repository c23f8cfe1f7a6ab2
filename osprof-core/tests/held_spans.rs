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

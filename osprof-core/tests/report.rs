//! `report::build` against OSProfiler's own report builder (the real Python package, fed the
//! same events), and osprof's documented differences.

mod common;

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

/// An event of trace `b` at `2026-11-22T10:00:00` plus `micros`.
fn event(name: &str, trace_id: &str, parent_id: &str, micros: u64) -> Value {
    json!({
        "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
        "project": "nova", "service": "api", "host": "node-1",
        "timestamp": format!("2026-11-22T10:00:{:02}.{:06}", micros / 1_000_000, micros % 1_000_000),
    })
}

/// OSProfiler's report of `events`, from `osprofiler.drivers.base.Driver`.
fn python_report(events: &[Value]) -> Value {
    let mut child = common::python("osprof-core/tests/python/report.py")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(Value::from(events.to_vec()).to_string().as_bytes())
        .unwrap();
    common::python_output(child.wait_with_output().unwrap())
}

fn assert_same_as_osprofiler(events: &[Value]) {
    let ours = osprof_core::report::build(events.to_vec());
    assert_eq!(
        common::without_micros(ours.into_value()),
        python_report(events),
        "events: {events:#?}"
    );
}

#[test]
fn the_empty_report() {
    assert_same_as_osprofiler(&[]);
    assert_eq!(
        osprof_core::report::build([]),
        json!({"info": {"name": "total", "started": 0, "finished": null, "last_trace_started": null},
               "children": [], "stats": {}})
    );
}

#[test]
fn a_start_only_node_and_a_stop_only_node() {
    assert_same_as_osprofiler(&[
        event("wsgi-start", "w", "b", 0),
        event("db-start", "d1", "w", 1_500),
        event("rpc-stop", "r", "w", 7_250),
    ]);
}

#[test]
fn children_and_roots_are_sorted_by_start_whatever_the_event_order() {
    assert_same_as_osprofiler(&[
        event("db-stop", "d2", "w", 9_000),
        event("db-start", "d2", "w", 5_000),
        event("wsgi-start", "w", "b", 0),
        event("db-start", "d1", "w", 1_000),
        event("db-stop", "d1", "w", 2_000),
        event("wsgi-stop", "w", "b", 10_000),
        event("other-start", "o", "elsewhere", 3_000),
        event("other-stop", "o", "elsewhere", 3_100),
    ]);
}

#[test]
fn milliseconds_are_truncated() {
    // 1.999 ms is 1; the trace's end at 2.9995 ms is 2.
    assert_same_as_osprofiler(&[
        event("wsgi-start", "w", "b", 1),
        event("db-start", "d", "w", 2_000),
        event("db-stop", "d", "w", 2_999),
        event("wsgi-stop", "w", "b", 3_000),
    ]);
}

#[test]
fn an_error_stop_names_its_exception() {
    let mut failed = event("db-stop", "d", "w", 2_000);
    failed["info"] = json!({"etype": "IntegrityError", "message": "duplicate key"});
    let mut plain = event("wsgi-stop", "w", "b", 3_000);
    plain["info"] = json!({"host": "node-2"});
    assert_same_as_osprofiler(&[
        event("wsgi-start", "w", "b", 0),
        event("db-start", "d", "w", 1_000),
        failed,
        plain,
    ]);
}

#[test]
fn a_repeated_first_event_leaves_the_span_the_ids_and_identity_of_the_first() {
    let mut again = event("db-start", "d", "w", 1_200);
    again["service"] = json!("other");
    again["parent_id"] = json!("elsewhere");
    let events = [
        event("wsgi-start", "w", "b", 0),
        event("db-start", "d", "w", 1_000),
        again,
        event("db-stop", "d", "w", 2_000),
        event("wsgi-stop", "w", "b", 3_000),
    ];
    assert_same_as_osprofiler(&events);
    let report = osprof_core::report::build(events);
    let db = &report["children"][0]["children"][0];
    assert_eq!(
        (&db["parent_id"], &db["info"]["service"]),
        (&json!("w"), &json!("api"))
    );
    assert_eq!(db["info"]["meta.raw_payload.db-start"]["service"], "other");
}

#[test]
fn osprof_keeps_full_names_and_exact_microseconds() {
    let report = osprof_core::report::build([
        event("rpc-call-start", "r", "b", 100),
        event("rpc-call-stop", "r", "b", 2_600),
    ]);
    let node = &report["children"][0]["info"];
    assert_eq!(node["name"], "rpc-call");
    assert_eq!(
        (&node["started_us"], &node["finished_us"]),
        (&json!(0), &json!(2_500))
    );
    assert_eq!(
        report["stats"],
        json!({"rpc-call": {"count": 1, "duration": 2}})
    );
}

#[test]
fn malformed_events_are_skipped() {
    let mut bad_time = event("db-start", "d", "w", 0);
    bad_time["timestamp"] = json!("yesterday");
    let report = osprof_core::report::build([bad_time, json!({"name": "x"}), json!([1, 2])]);
    assert_eq!(report["children"], json!([]));
}

/// A built report writes its JSON from its spans until it is read as a value; both ways give
/// the same text, byte for byte.
#[test]
fn the_text_written_from_the_spans_is_the_value_written() {
    let mut events = vec![
        event("wsgi-start", "w", "b", 0),
        event("db-start", "d1", "w", 1_500),
        event("db-stop", "d1", "w", 2_700),
        // A repeated event replaces the first in place; a lost start and a lost stop.
        event("db-stop", "d1", "w", 2_900),
        event("wsgi-start", "w", "elsewhere", 50),
        event("rpc-stop", "lost-start", "w", 3_000),
        event("cache-start", "lost-stop", "w", 3_100),
        // Its own parent, and a parent that is not in the trace: both roots.
        event("loop-start", "self", "self", 4_000),
        event("orphan-start", "o", "gone", 4_100),
        event("orphan-stop", "o", "gone", 4_200),
        event("wsgi-stop", "w", "b", 90_000),
    ];
    let mut failed = event("quota \"check\"\n\u{2028}-stop", "q", "w", 5_000);
    failed["info"] = json!({"etype": "ValueError", "message": "<bad> & \"worse\""});
    events.push(event("quota \"check\"\n\u{2028}-start", "q", "w", 4_500));
    events.push(failed);
    // Deeper than the indentation grows (16 levels).
    for level in 0..40_u64 {
        let parent = if level == 0 {
            "w".to_owned()
        } else {
            format!("n{}", level - 1)
        };
        events.push(event(
            "nested-start",
            &format!("n{level}"),
            &parent,
            10_000 + level,
        ));
        events.push(event(
            "nested-stop",
            &format!("n{level}"),
            &parent,
            80_000 - level,
        ));
    }
    for pretty in [false, true] {
        let from_spans = osprof_core::report::build(events.clone()).to_json(pretty);
        let as_value = osprof_core::report::build(events.clone());
        assert_eq!(as_value["children"][0]["info"]["name"], "wsgi");
        assert_eq!(from_spans, as_value.to_json(pretty));
        let value = as_value.into_value();
        let written = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            value.to_string()
        };
        if !pretty {
            assert_eq!(from_spans, written);
        }
    }
    // The page too is drawn the same from the spans and from the value.
    let from_spans = osprof_core::report::build(events.clone());
    let as_value = osprof_core::report::build(events);
    assert_eq!(as_value["children"][0]["trace_id"], "w");
    assert_eq!(
        osprof_core::report::to_html(&from_spans),
        osprof_core::report::to_html(&as_value)
    );
    let empty = osprof_core::report::build([]);
    assert_eq!(
        empty.to_json(true),
        serde_json::to_string_pretty(&*osprof_core::report::build([])).unwrap()
    );
}

/// Counts the bytes written to it.
struct ByteCount(usize);

impl Write for ByteCount {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A chain of a million nested calls: built, written as JSON (indented, and linear in
/// size), read back, drawn as HTML and as a text tree, and dropped, with nothing recursing
/// once per level (the test thread's stack is 2 MiB).
#[test]
fn a_million_deep_trace_is_reported_written_read_and_rendered() {
    let chain = |depth: u64| {
        osprof_core::report::build((0..depth).flat_map(|i| {
            let parent = if i == 0 {
                "b".to_owned()
            } else {
                format!("s{}", i - 1)
            };
            let id = format!("s{i}");
            let start = json!({"name": "call-start", "base_id": "b", "trace_id": id,
                               "parent_id": parent, "timestamp": "2026-11-22T10:00:00.000001"});
            let mut stop = start.clone();
            stop["name"] = json!("call-stop");
            stop["timestamp"] = json!("2026-11-22T10:00:01.000002");
            [start, stop]
        }))
    };

    // The indented text grows with the number of spans, not with the depth squared.
    let (small, large) = (chain(1_000).to_json(true), chain(4_000).to_json(true));
    assert!(
        large.len() < 5 * small.len(),
        "{} bytes at depth 1000, {} at 4000",
        small.len(),
        large.len()
    );
    assert!(
        small.starts_with("{\n  \"info\": {\n    \"name\": \"total\""),
        "{}",
        &small[..60]
    );

    let depth = 1_000_000;
    let report = chain(depth);
    assert_eq!(report["stats"]["call"]["count"], depth);
    let compact = report.to_json(false);
    let mut pretty = ByteCount(0);
    report.write_json(&mut pretty, true).unwrap();
    assert!(
        pretty.0 < 4 * compact.len(),
        "{} bytes indented, {} compact",
        pretty.0,
        compact.len()
    );

    let read_back = osprof_core::report::Report::from_json(&compact).unwrap();
    assert_eq!(read_back.to_json(false), compact);
    drop(read_back);

    let page = osprof_core::report::to_html(&report);
    assert!(page.ends_with("</html>\n"));
    assert!(
        page.len() < compact.len() / 4,
        "the page keeps spans as columns: {} bytes, the report {}",
        page.len(),
        compact.len()
    );
    let tree = osprof_core::report::text_tree(&report);
    assert_eq!(tree.lines().count() as u64, depth);
    let last = tree.lines().last().unwrap();
    assert!(
        last.len() < 120,
        "deep lines are not indented without end: {last}"
    );
    assert!(last.contains("[999999]"), "{last}");
}

#[test]
fn folded_stacks_name_functions_and_keep_to_one_line_per_stack() {
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, info: Value| {
        json!({
            "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
            "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info,
        })
    };
    let function = json!({"function": {"name": "api::handlers::get"}});
    let report = osprof_core::report::build([
        event("handler-start", "h", "b", 0, function),
        event("a;b\nc-start", "x", "h", 100, json!({})),
        event("a;b\nc-stop", "x", "h", 300, json!({})),
        event("a;b\nc-start", "y", "h", 400, json!({})),
        event("a;b\nc-stop", "y", "h", 900, json!({})),
        event("handler-stop", "h", "b", 1000, json!({})),
    ]);
    assert_eq!(
        osprof_core::report::folded(&report),
        "api::handlers::get 300\napi::handlers::get;a,b c 700\n"
    );
}

#[test]
fn chrome_trace_events_give_each_service_a_process_and_overlapping_siblings_a_thread() {
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, service: &str| {
        json!({
            "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
            "service": service, "info": {"host": "vm", "k": 1},
            "timestamp": format!("2026-11-22T10:00:00.{micros:06}"),
        })
    };
    let report = osprof_core::report::build([
        event("wsgi-start", "w", "b", 0, "api"),
        // Two async siblings that overlap without nesting, then one inside the first.
        event("rpc-start", "r1", "w", 100, "api"),
        event("rpc-start", "r2", "w", 200, "api"),
        event("db-start", "d", "r1", 150, "backend"),
        event("db-stop", "d", "r1", 250, "backend"),
        event("rpc-stop", "r1", "w", 500, "api"),
        event("rpc-stop", "r2", "w", 700, "api"),
        event("wsgi-stop", "w", "b", 1000, "api"),
    ]);
    let trace = osprof_core::report::chrome_trace(&report);
    let events = trace["traceEvents"].as_array().unwrap();
    let processes: Vec<(&Value, &Value)> = events
        .iter()
        .filter(|e| e["ph"] == "M")
        .map(|e| (&e["pid"], &e["args"]["name"]))
        .collect();
    assert_eq!(
        processes,
        [
            (&json!(1), &json!("api@vm")),
            (&json!(2), &json!("backend@vm"))
        ]
    );
    let span = |trace_id: &str| {
        let e = events
            .iter()
            .find(|e| e["ph"] == "X" && e["args"]["trace_id"] == trace_id)
            .unwrap();
        (
            e["pid"].as_u64().unwrap(),
            e["tid"].as_u64().unwrap(),
            e["ts"].as_i64().unwrap(),
            e["dur"].as_i64().unwrap(),
        )
    };
    assert_eq!(span("w"), (1, 1, 0, 1000));
    assert_eq!(span("r1"), (1, 1, 100, 400));
    assert_eq!(span("r2"), (1, 2, 200, 500), "overlaps r1 without nesting");
    assert_eq!(span("d"), (2, 1, 150, 100));
    let wsgi = events
        .iter()
        .find(|e| e["args"]["trace_id"] == "w")
        .unwrap();
    assert_eq!(wsgi["cat"], "wsgi");
    assert_eq!(wsgi["args"]["k"], 1, "the start payload's info");
    assert_eq!(trace["displayTimeUnit"], "ms");
}

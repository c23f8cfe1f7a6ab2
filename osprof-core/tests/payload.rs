//! The exact shape of OSProfiler's notification payload.

mod common;

use osprof_core::{Trace, clean, init, start, stop};
use serde_json::{Value, json};

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

fn is_timestamp(text: &str) -> bool {
    // %Y-%m-%dT%H:%M:%S.%f: exactly 26 characters, six fractional digits, no zone.
    let bytes = text.as_bytes();
    text.len() == 26
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            19 => *b == b'.',
            _ => b.is_ascii_digit(),
        })
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn payloads_have_osprofiler_keys_in_order() {
    common::install_sink();
    let profiler = init("key", None, None);
    start(
        "rpc",
        Some(json!({"k": "v", "function": {"name": "m.add", "args": "(1,)", "kwargs": "{}"}})),
    );
    start(
        "db",
        Some(json!({"db": {"statement": "SELECT 1", "params": {}}})),
    );
    stop(None);
    stop(Some(json!({"function": {"result": "4"}})));
    clean();

    let events = common::events_of(profiler.base_id());
    assert_eq!(events.len(), 4);
    for event in &events {
        assert_eq!(
            keys(event),
            [
                "name",
                "base_id",
                "trace_id",
                "parent_id",
                "timestamp",
                "info"
            ]
        );
        assert!(
            is_timestamp(event["timestamp"].as_str().unwrap()),
            "{event}"
        );
        assert_eq!(event["info"]["host"], host(), "{event}");
        assert_eq!(event["base_id"], profiler.base_id());
    }
    assert_eq!(keys(&events[0]["info"]), ["k", "function", "host"]);
    assert_eq!(events[0]["info"]["function"]["args"], "(1,)");
    assert_eq!(keys(&events[2]["info"]), ["host"]);
    assert_eq!(
        events[3]["info"],
        json!({"function": {"result": "4"}, "host": host()})
    );
    assert_eq!(events[1]["parent_id"], events[0]["trace_id"]);
    assert_eq!(events[0]["parent_id"], profiler.base_id());
}

/// Seconds since the epoch of a `%Y-%m-%dT%H:%M:%S.%f` UTC text (days-from-civil).
fn unix_seconds(text: &str) -> f64 {
    let field = |range: std::ops::Range<usize>| text[range].parse::<i64>().unwrap();
    let (year, month, day) = (field(0..4), field(5..7), field(8..10));
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + field(11..13) * 3600 + field(14..16) * 60 + field(17..19);
    seconds as f64 + field(20..26) as f64 / 1e6
}

#[test]
fn timestamps_are_utc_wall_clock_and_ordered() {
    common::install_sink();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let before = now();
    let profiler = init("key", None, None);
    {
        let _span = Trace::new("timed", None);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    clean();
    let after = now();
    let events = common::events_of(profiler.base_id());
    let start = unix_seconds(events[0]["timestamp"].as_str().unwrap());
    let stop = unix_seconds(events[1]["timestamp"].as_str().unwrap());
    // The cycle counter is anchored to the wall clock; allow it a millisecond of slack.
    assert!(
        before - 0.001 <= start && stop <= after + 0.001,
        "{before} {start} {stop} {after}"
    );
    assert!(stop - start >= 0.019, "the span lasted {}", stop - start);
}

#[test]
fn info_that_is_not_an_object_is_kept_under_value() {
    common::install_sink();
    let profiler = init("key", None, None);
    start("odd", Some(json!([1, 2])));
    stop(Some(Value::Null));
    clean();
    let events = common::events_of(profiler.base_id());
    assert_eq!(events[0]["info"], json!({"value": [1, 2], "host": host()}));
    assert_eq!(events[1]["info"], json!({"host": host()}));
}

#[test]
fn user_host_key_is_replaced_by_the_machine_host() {
    common::install_sink();
    let profiler = init("key", None, None);
    start("h", Some(json!({"host": "spoofed", "a": 1})));
    stop(None);
    clean();
    let events = common::events_of(profiler.base_id());
    assert_eq!(keys(&events[0]["info"]), ["host", "a"]);
    assert_eq!(events[0]["info"]["host"], host());
}

#[test]
fn base_ids_from_outside_are_kept_verbatim() {
    common::install_sink();
    init("key", Some("Base-From-Python"), Some("parent-1"));
    start("x", None);
    stop(None);
    clean();
    let events = common::events_of("Base-From-Python");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["parent_id"], "parent-1");
}

/// A span with nothing inside it reaches the delivery thread only at its stop, its start
/// with it: events of other threads delivered meanwhile, later in time, must not pull that
/// start forward (the span would look shorter than it was).
#[test]
fn a_leaf_spans_start_keeps_its_time_while_other_threads_deliver() {
    common::install_sink();
    let busy = std::thread::spawn(|| {
        init("key", None, None);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        while std::time::Instant::now() < until {
            drop(Trace::new("busy", None));
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        clean();
    });
    let profiler = init("key", None, None);
    {
        let _span = Trace::new("timed", None);
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    clean();
    busy.join().unwrap();
    let events = common::events_of(profiler.base_id());
    let start = unix_seconds(events[0]["timestamp"].as_str().unwrap());
    let stop = unix_seconds(events[1]["timestamp"].as_str().unwrap());
    assert!(stop - start >= 0.039, "the span lasted {}", stop - start);
}

//! One thread switching between two traces: every event keeps its own trace's base id,
//! also when a full ring drops events (a ring names its trace only when it changes).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use osprof_core::notifier::{self, DeliveryOptions, Overflow};
use osprof_core::{Trace, clean, init};
use serde_json::Value;

const BASE_A: &str = "0d5d7a2e-6a3b-4c1e-9f0a-1b2c3d4e5f60";
const BASE_B: &str = "7f1e2d3c-4b5a-4968-8776-655443322110";
const SPANS: u64 = 20_000;

#[test]
fn events_keep_their_trace_when_a_thread_switches_traces_and_drops_events() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    notifier::set(move |event: &Value| {
        let name = event["name"].as_str().unwrap_or_default().to_owned();
        let base_id = event["base_id"].as_str().unwrap_or_default().to_owned();
        sink.lock().unwrap().push((name, base_id));
        std::thread::sleep(Duration::from_micros(5));
    });
    notifier::configure(
        DeliveryOptions::default()
            .with_buffer_capacity(16)
            .with_overflow(Overflow::DropNewest),
    );
    for i in 0..SPANS {
        let (base_id, name) = if i % 2 == 0 {
            (BASE_A, "a")
        } else {
            (BASE_B, "b")
        };
        init("key", Some(base_id), None);
        drop(Trace::new(name, None));
        clean();
    }
    notifier::flush();

    let stats = notifier::stats();
    assert!(
        stats.dropped > 0,
        "nothing was dropped; the test proves nothing: {stats:?}"
    );
    assert_eq!(stats.stored + stats.dropped, 2 * SPANS, "{stats:?}");
    assert_eq!(stats.recorded, 2 * SPANS, "{stats:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, stats.stored);
    for (name, base_id) in seen.iter() {
        let expected = if name.starts_with("a-") {
            BASE_A
        } else {
            BASE_B
        };
        assert_eq!(base_id, expected, "{name} was delivered in the wrong trace");
    }
    assert!(seen.iter().any(|(name, _)| name.starts_with("a-")));
    assert!(seen.iter().any(|(name, _)| name.starts_with("b-")));
}

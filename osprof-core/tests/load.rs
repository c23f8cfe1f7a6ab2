//! Load: two threads record 500k spans each; every event arrives exactly once, in order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use osprof_core::notifier::{DeliveryOptions, Overflow};
use osprof_core::{Trace, clean, init, notifier};
use serde_json::Value;

const SPANS_PER_THREAD: usize = 500_000;

/// Per trace: events seen, the span that is open, the last timestamp.
#[derive(Default)]
struct TraceCheck {
    starts: usize,
    stops: usize,
    open: Option<String>,
    last_timestamp: String,
    errors: Vec<String>,
}

impl TraceCheck {
    fn see(&mut self, event: &Value) {
        let name = event["name"].as_str().unwrap();
        let id = event["trace_id"].as_str().unwrap().to_owned();
        let timestamp = event["timestamp"].as_str().unwrap().to_owned();
        if timestamp < self.last_timestamp {
            self.errors.push(format!(
                "out of order: {timestamp} after {}",
                self.last_timestamp
            ));
        }
        self.last_timestamp = timestamp;
        match name {
            "work-start" => {
                self.starts += 1;
                if let Some(open) = self.open.replace(id) {
                    self.errors.push(format!("start while {open} is open"));
                }
            }
            "work-stop" => {
                self.stops += 1;
                if self.open.take() != Some(id.clone()) {
                    self.errors
                        .push(format!("stop of {id} that is not the open span"));
                }
            }
            other => self.errors.push(format!("unexpected event {other}")),
        }
    }
}

#[test]
fn two_threads_of_500k_spans_arrive_exactly_once_and_in_order() {
    // Unbounded backpressure: on a loaded CI machine the default 100 ms wait could run out,
    // and this test is about exact delivery, not about the time limit.
    notifier::configure(
        DeliveryOptions::default().with_overflow(Overflow::Block { max_wait: None }),
    );
    let checks: Arc<Mutex<HashMap<String, TraceCheck>>> = Arc::default();
    let sink_checks = checks.clone();
    notifier::set(move |event: &Value| {
        let base = event["base_id"].as_str().unwrap().to_owned();
        sink_checks
            .lock()
            .unwrap()
            .entry(base)
            .or_default()
            .see(event);
    });

    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                let profiler = init("key", None, None);
                for _ in 0..SPANS_PER_THREAD {
                    let _span = Trace::new("work", None);
                }
                clean();
                profiler.base_id().to_owned()
            })
        })
        .collect();
    let bases: Vec<String> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    notifier::flush();

    let checks = checks.lock().unwrap();
    assert_eq!(checks.len(), 2);
    let total: usize = checks.values().map(|c| c.starts + c.stops).sum();
    assert_eq!(total, 2 * 2 * SPANS_PER_THREAD);
    for base in &bases {
        let check = &checks[base];
        assert_eq!(
            (check.starts, check.stops),
            (SPANS_PER_THREAD, SPANS_PER_THREAD)
        );
        assert!(
            check.errors.is_empty(),
            "{:?}",
            &check.errors[..check.errors.len().min(5)]
        );
        assert!(check.open.is_none());
    }
    let stats = notifier::stats();
    assert_eq!((stats.dropped, stats.failed), (0, 0));
    assert_eq!(stats.stored, 2_000_000);
    assert_eq!(stats.recorded, 2_000_000);
}

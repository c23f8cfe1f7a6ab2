//! Panics: in a traced span, and in the sink.

use std::panic::catch_unwind;
use std::sync::{Arc, Mutex};

use osprof_core::notifier::{self, Driver};
use osprof_core::{Error, Trace, clean, init};
use serde_json::{Value, json};

/// One sink for the whole binary: it panics on `explode` events and errors on `refuse` ones.
fn install_sink() -> Arc<Mutex<Vec<Value>>> {
    struct Picky(Arc<Mutex<Vec<Value>>>);
    impl Driver for Picky {
        fn notify(&self, payload: &Value) -> Result<(), Error> {
            match payload["name"].as_str().unwrap() {
                "explode-start" => panic!("sink exploded"),
                "refuse-start" => Err(Error::Driver {
                    driver: "picky",
                    message: "refused".into(),
                }),
                _ => {
                    self.0.lock().unwrap().push(payload.clone());
                    Ok(())
                }
            }
        }
    }
    static EVENTS: std::sync::OnceLock<Arc<Mutex<Vec<Value>>>> = std::sync::OnceLock::new();
    EVENTS
        .get_or_init(|| {
            let events = Arc::default();
            notifier::set(Picky(Arc::clone(&events)));
            events
        })
        .clone()
}

fn events_of(events: &Mutex<Vec<Value>>, base: &str) -> Vec<Value> {
    notifier::flush();
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["base_id"] == base)
        .cloned()
        .collect()
}

#[test]
fn a_panic_inside_a_span_stops_it_with_the_message_and_propagates() {
    let events = install_sink();
    let profiler = init("key", None, None);
    let outcome = catch_unwind(|| {
        let _outer = Trace::new("outer", None);
        let _inner = Trace::new("inner", None);
        panic!("disk on fire");
    });
    assert_eq!(
        *outcome.unwrap_err().downcast::<&str>().unwrap(),
        "disk on fire"
    );
    // Both guards stopped, and the stack is back where it was.
    assert_eq!(osprof_core::get().unwrap().id(), profiler.base_id());
    clean();
    let events = events_of(&events, profiler.base_id());
    let stops: Vec<_> = events
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("-stop"))
        .collect();
    assert_eq!(stops.len(), 2);
    for stop in stops {
        assert_eq!(stop["info"]["etype"], "panic");
        assert_eq!(stop["info"]["message"], "disk on fire");
    }
}

#[test]
fn a_panicking_or_failing_sink_loses_only_its_own_batch() {
    let events = install_sink();
    for bad in ["explode", "refuse"] {
        let failed_before = notifier::stats().failed;
        let profiler = init("key", None, None);
        osprof_core::start(bad, Some(json!({"n": 1})));
        osprof_core::stop(None);
        clean();
        notifier::flush();
        assert!(notifier::stats().failed > failed_before, "{bad}");

        // Delivery goes on: the next trace arrives whole.
        let next = init("key", None, None);
        drop(Trace::new("after", None));
        clean();
        let names: Vec<_> = events_of(&events, next.base_id())
            .iter()
            .map(|e| e["name"].clone())
            .collect();
        assert_eq!(names, ["after-start", "after-stop"], "after {bad}");
        let _ = profiler;
    }
}

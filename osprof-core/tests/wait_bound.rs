//! A full ring makes a traced call wait `max_wait` in total at most, even when the call
//! records several events (a held parent's start, then its own start).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use osprof_core::notifier::{self, DeliveryOptions, Overflow};
use osprof_core::{Trace, clean, init};
use serde_json::{Value, json};

static GATE_OPEN: AtomicBool = AtomicBool::new(false);

fn fill() {
    for _ in 0..100 {
        drop(Trace::new("fill", None));
    }
}

#[test]
fn a_call_that_records_two_events_waits_max_wait_once() {
    let max_wait = Duration::from_millis(300);
    // A sink stuck until the gate opens: the delivery thread drains one round and blocks.
    notifier::set(|_: &Value| {
        while !GATE_OPEN.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    notifier::configure(
        DeliveryOptions::default()
            .with_buffer_capacity(8)
            .with_overflow(Overflow::DropNewest),
    );
    init("key", None, None);
    fill();
    // Let the delivery thread take the first round and get stuck in the sink, then fill
    // the ring again behind it.
    std::thread::sleep(Duration::from_millis(50));
    fill();
    notifier::configure(
        DeliveryOptions::default()
            .with_buffer_capacity(8)
            .with_overflow(Overflow::Block {
                max_wait: Some(max_wait),
            }),
    );

    let parent = Trace::new("parent", None); // held: nothing recorded yet
    let started = Instant::now();
    // Records the parent's start, then its own: two events, each finding the ring full.
    let child = Trace::new("child", Some(json!({"size": 1})));
    let waited = started.elapsed();

    GATE_OPEN.store(true, Ordering::Relaxed);
    drop(child);
    drop(parent);
    clean();
    notifier::flush();
    assert!(waited >= max_wait, "the call did not wait: {waited:?}");
    assert!(
        waited < max_wait * 3 / 2,
        "one call waited {waited:?}, more than max_wait ({max_wait:?}) once"
    );
    assert!(notifier::stats().dropped > 0);
}

//! A sink slower than the traced threads: drop mode counts every loss, block mode loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use osprof_core::notifier::{self, DeliveryOptions, Overflow};
use osprof_core::{Trace, clean, init};
use serde_json::Value;

const SPANS_PER_THREAD: u64 = 20_000;

fn record_from_two_threads() {
    let workers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                init("key", None, None);
                for _ in 0..SPANS_PER_THREAD {
                    let _span = Trace::new("burst", None);
                }
                clean();
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    notifier::flush();
}

// Both modes in one test: the options and the counters are process-wide.
#[test]
fn slow_sink_in_drop_mode_then_in_block_mode() {
    let received = Arc::new(AtomicU64::new(0));
    let sink_received = received.clone();
    notifier::set(move |_: &Value| {
        sink_received.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_micros(20));
    });
    let recorded = 2 * 2 * SPANS_PER_THREAD;

    notifier::configure(
        DeliveryOptions::default()
            .with_buffer_capacity(64)
            .with_overflow(Overflow::DropNewest),
    );
    record_from_two_threads();
    let stats = notifier::stats();
    assert!(
        stats.dropped > 0,
        "the sink kept up; the test proves nothing: {stats:?}"
    );
    assert_eq!(stats.stored + stats.dropped, recorded, "{stats:?}");
    assert_eq!(stats.recorded, recorded, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert_eq!(received.load(Ordering::Relaxed), stats.stored);
    assert_eq!(stats.failed, 0);

    // Block mode without a time limit: the threads wait and nothing is lost.
    let dropped_before = stats.dropped;
    let stored_before = stats.stored;
    notifier::configure(
        DeliveryOptions::default()
            .with_buffer_capacity(64)
            .with_overflow(Overflow::Block { max_wait: None }),
    );
    record_from_two_threads();
    let stats = notifier::stats();
    assert_eq!(stats.dropped, dropped_before, "{stats:?}");
    assert_eq!(stats.stored - stored_before, recorded, "{stats:?}");
}

//! `notifier::set` while events flow: every event reaches one sink or the other, once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use osprof_core::{Trace, clean, init, notifier};
use serde_json::Value;

#[test]
fn the_sink_can_be_replaced_while_events_flow() {
    let counts: Vec<Arc<AtomicU64>> = (0..2).map(|_| Arc::default()).collect();
    let install = |count: Arc<AtomicU64>| {
        notifier::set(move |_: &Value| {
            count.fetch_add(1, Ordering::Relaxed);
        });
    };
    install(counts[0].clone());
    let worker = std::thread::spawn(|| {
        init("key", None, None);
        for _ in 0..50_000 {
            drop(Trace::new("swap", None));
        }
        clean();
    });
    for round in 1..=20 {
        install(counts[round % 2].clone());
        std::thread::sleep(std::time::Duration::from_micros(500));
    }
    worker.join().unwrap();
    notifier::flush();
    let per_sink: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    assert_eq!(per_sink.iter().sum::<u64>(), 100_000, "{per_sink:?}");
}

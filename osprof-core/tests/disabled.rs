//! Feature `disabled`: every instrumentation point is compiled to nothing.
//! Run with `cargo test -p osprof-core --features disabled --test disabled`.
#![cfg(feature = "disabled")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use osprof_core::{FutureExt, Trace, notifier};
use serde_json::Value;

#[test]
fn nothing_is_recorded_or_delivered() {
    let seen = Arc::new(AtomicU64::new(0));
    let sink_seen = seen.clone();
    notifier::set(move |_: &Value| {
        sink_seen.fetch_add(1, Ordering::Relaxed);
    });
    let profiler = osprof_core::init("key", Some("base"), None);
    // `init` still answers, so code that reads ids keeps working.
    assert_eq!(profiler.base_id(), "base");
    assert!(osprof_core::get().is_none());
    osprof_core::start("a", None);
    osprof_core::stop(None);
    drop(Trace::new("b", None));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {}.traced("c", None).in_current_trace());
    osprof_core::thread::spawn(|| drop(Trace::new("d", None)))
        .join()
        .unwrap();
    osprof_core::clean();
    notifier::flush();
    assert_eq!(seen.load(Ordering::Relaxed), 0);
    assert_eq!(notifier::stats(), notifier::DeliveryStats::default());
}

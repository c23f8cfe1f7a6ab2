//! A span held back on one thread (see held_spans.rs) holds back delivery of what other
//! threads of its trace record after its start. Alone in its binary: a flush elsewhere
//! would hand over everything recorded, ahead of the held start.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use osprof_core::{Trace, clean, init};

#[test]
fn a_span_held_on_one_thread_keeps_its_trace_in_time_order_across_threads() {
    common::install_sink();
    let profiler = init("key", None, None);
    let (go, wait_for_go) = mpsc::channel::<()>();
    let (done, wait_for_done) = mpsc::channel::<()>();
    // The worker gets its copy of the trace now, before the main thread holds a span.
    let worker = osprof_core::thread::spawn(move || {
        wait_for_go.recv().unwrap();
        drop(Trace::new("worker", None));
        done.send(()).unwrap();
    });
    let held = Trace::new("held", None);
    go.send(()).unwrap();
    wait_for_done.recv().unwrap();
    // Long enough for the delivery thread to wake (every 10 ms while a trace is alive) and
    // deliver what is ready: the worker's span is not, as it follows the held start.
    std::thread::sleep(Duration::from_millis(25));
    drop(held);
    worker.join().unwrap();
    clean();
    assert_eq!(
        common::names(&common::events_of(profiler.base_id())),
        ["held-start", "worker-start", "worker-stop", "held-stop"]
    );
}

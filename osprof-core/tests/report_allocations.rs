//! Building a report keeps the events it is given and points its spans into them: it
//! allocates the same handful of times for a trace of a thousand spans as for one of a
//! hundred thousand (the README's "Drivers, reports and the `osprof` command").

#![allow(unsafe_code)] // a counting global allocator; see the SAFETY comments

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

/// The system allocator, counting the allocations made on a thread while it counts.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to the system allocator unchanged, under the caller's contract;
// counting touches only an atomic and a const-initialised thread local, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller keeps `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller keeps `dealloc`'s contract; `ptr` came from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller keeps `realloc`'s contract; `ptr` came from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A request whose calls each make queries, every span with its start and stop event, one
/// query failing.
fn trace(calls: usize) -> Vec<Value> {
    let mut events = Vec::new();
    let mut clock = 0;
    let mut span = |name: &str, id: &str, parent: &str, error: bool| {
        let at = |micros: u64| {
            format!(
                "2026-11-22T10:00:{:02}.{:06}",
                micros / 1_000_000,
                micros % 1_000_000
            )
        };
        let event = |suffix: &str, micros: u64| {
            json!({"name": format!("{name}-{suffix}"), "base_id": "b", "trace_id": id,
                   "parent_id": parent, "project": "nova", "service": "api",
                   "timestamp": at(micros), "info": {"host": "node-1"}})
        };
        events.push(event("start", clock));
        let mut stop = event("stop", clock + 5);
        if error {
            stop["info"]["etype"] = json!("ValueError");
        }
        events.push(stop);
        clock += 10;
    };
    span("wsgi", "root", "b", false);
    for call in 0..calls {
        let call_id = format!("call-{call}");
        span("rpc", &call_id, "root", false);
        for query in 0..9 {
            span(
                "db",
                &format!("{call}-{query}"),
                &call_id,
                call == 0 && query == 0,
            );
        }
    }
    events
}

/// How many allocations building the report of `trace(calls)` makes.
fn allocations_to_build(calls: usize) -> usize {
    let events = trace(calls);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    let report = osprof_core::report::build(events);
    COUNTING.with(|counting| counting.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        report["children"][0]["children"].as_array().unwrap().len(),
        calls
    );
    assert_eq!(report["stats"]["db"]["count"], 9 * calls);
    allocations
}

#[test]
fn building_a_report_allocates_no_more_for_a_bigger_trace() {
    let small = allocations_to_build(100);
    let big = allocations_to_build(10_000);
    assert!(small < 20, "{small} allocations for 1,001 spans");
    assert_eq!(
        big, small,
        "{big} allocations for 100,001 spans, {small} for 1,001"
    );
}

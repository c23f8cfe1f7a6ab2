//! The delivery thread: drains every thread's ring, builds payloads in batches, calls the sink.
//!
//! It sleeps while nothing is recorded: parked for good when no trace context exists
//! anywhere, and waking every few milliseconds while one does.

mod payload;
mod timestamp;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::Duration;

use crate::context;
use crate::notifier::{self, Batch, DeliveryStats};
use crate::record::{Event, Reader};

pub(crate) use payload::PayloadBuilder;
pub(crate) use timestamp::TimestampReader;
#[cfg(feature = "otlp")]
pub(crate) use timestamp::parse_micros;

/// How long the delivery thread sleeps between looks while a trace context is alive.
const IDLE_INTERVAL: Duration = Duration::from_millis(10);
/// A round that drained fewer events than this sleeps before the next one (recording
/// threads nudge it awake as their rings fill). Draining one event at a time right behind a
/// producer would bounce every ring slot's cache line between the two cores.
const SMALL_ROUND: usize = 1024;
/// How long a span held back on its thread (see `Recorder::hold`) may hold back delivery:
/// a long leaf span (a slow query) must not stall every trace. A start held longer than
/// this may reach the sink after events of its trace from other threads that followed it.
const MAX_HOLD: Duration = Duration::from_millis(50);

struct Shared {
    rings: Mutex<Vec<Reader>>,
    thread: OnceLock<Option<Thread>>,
    sleeping: AtomicBool,
    flush: Mutex<FlushState>,
    flushed: Condvar,
    /// The accounting of `notifier::stats()`: every recorded event is counted in `taken`
    /// (drained from its thread's ring) or in `refused` (the ring had no room); every taken
    /// event is `handed` to the sink or still staged here; every handed event ends in
    /// `stored`, `dropped` or `failed`, or is `held` by a driver until its store answers.
    taken: AtomicU64,
    refused: AtomicU64,
    handed: AtomicU64,
    stored: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    held: AtomicU64,
    warned_blocked: AtomicBool,
    /// When a failing sink was last reported: at most one warning every `REPORT_EVERY`.
    failure_reported_at: Mutex<Option<std::time::Instant>>,
}

struct FlushState {
    requested: u64,
    completed: u64,
}

static SHARED: Shared = Shared {
    rings: Mutex::new(Vec::new()),
    thread: OnceLock::new(),
    sleeping: AtomicBool::new(false),
    flush: Mutex::new(FlushState {
        requested: 0,
        completed: 0,
    }),
    flushed: Condvar::new(),
    taken: AtomicU64::new(0),
    refused: AtomicU64::new(0),
    handed: AtomicU64::new(0),
    stored: AtomicU64::new(0),
    dropped: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    held: AtomicU64::new(0),
    warned_blocked: AtomicBool::new(false),
    failure_reported_at: Mutex::new(None),
};

/// How often a sink that keeps failing is reported through `tracing`.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// True when a failing sink should be reported now (the first time, then every
/// `REPORT_EVERY`), so that a sink failing every round does not flood the log.
fn report_failure_now() -> bool {
    let mut reported_at = lock(&SHARED.failure_reported_at);
    if reported_at.is_some_and(|at| at.elapsed() < REPORT_EVERY) {
        return false;
    }
    *reported_at = Some(std::time::Instant::now());
    true
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; recover rather than spread a poison.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds a new thread's ring and starts the delivery thread on first use.
pub(crate) fn register(reader: Reader) {
    lock(&SHARED.rings).push(reader);
    delivery_thread();
}

fn delivery_thread() -> Option<&'static Thread> {
    SHARED
        .thread
        .get_or_init(|| {
            match thread::Builder::new()
                .name("osprof-delivery".into())
                .spawn(run)
            {
                Ok(handle) => Some(handle.thread().clone()),
                Err(error) => {
                    tracing::error!(%error, "osprof could not start its delivery thread; trace events are dropped");
                    None
                }
            }
        })
        .as_ref()
}

/// Wakes the delivery thread if it sleeps (cheap when it does not).
pub(crate) fn wake() {
    if let Some(Some(thread)) = SHARED.thread.get() {
        thread.unpark();
    }
}

/// Wakes the delivery thread only if it announced that it sleeps.
pub(crate) fn nudge() {
    if SHARED.sleeping.load(Ordering::Relaxed) {
        wake();
    }
}

/// Recorded events that found no room in their thread's ring.
pub(crate) fn count_refused(events: u64) {
    SHARED.refused.fetch_add(events, Ordering::Relaxed);
    SHARED.dropped.fetch_add(events, Ordering::Relaxed);
}

/// Events a driver was handed and let go: its retry queue was full, say.
pub(crate) fn count_dropped(events: u64) {
    SHARED.dropped.fetch_add(events, Ordering::Relaxed);
}

/// Events a driver was handed and cannot store anywhere (not osprof payloads).
#[cfg(feature = "redis")]
pub(crate) fn count_failed(events: u64) {
    SHARED.failed.fetch_add(events, Ordering::Relaxed);
}

/// Events a driver now holds until its store answers.
pub(crate) fn count_held(events: u64) {
    SHARED.held.fetch_add(events, Ordering::Relaxed);
}

/// Held events that go on held in another form (an OTLP start joined with its stop).
#[cfg(feature = "otlp")]
pub(crate) fn count_released(events: u64) {
    SHARED.held.fetch_sub(events, Ordering::Relaxed);
}

/// Held events that the store confirmed.
pub(crate) fn count_stored_from_held(events: u64) {
    SHARED.held.fetch_sub(events, Ordering::Relaxed);
    SHARED.stored.fetch_add(events, Ordering::Relaxed);
}

/// Held events that the store refused for their content.
pub(crate) fn count_failed_from_held(events: u64) {
    SHARED.held.fetch_sub(events, Ordering::Relaxed);
    SHARED.failed.fetch_add(events, Ordering::Relaxed);
}

/// Held events let go without being stored (their driver was replaced).
pub(crate) fn count_dropped_from_held(events: u64) {
    SHARED.held.fetch_sub(events, Ordering::Relaxed);
    SHARED.dropped.fetch_add(events, Ordering::Relaxed);
}

pub(crate) fn warn_blocked_too_long() {
    if !SHARED.warned_blocked.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "osprof's sink is falling behind: trace events are being dropped after waiting for room \
             (see osprof_core::notifier::stats() for the count)"
        );
    }
}

pub(crate) fn stats() -> DeliveryStats {
    // Read in the order events move: one moving on while this runs is then counted twice
    // rather than missed, and while delivery rests the counts are exact.
    let taken = SHARED.taken.load(Ordering::Acquire);
    let refused = SHARED.refused.load(Ordering::Acquire);
    let handed = SHARED.handed.load(Ordering::Acquire);
    let held = SHARED.held.load(Ordering::Acquire);
    let stored = SHARED.stored.load(Ordering::Acquire);
    let failed = SHARED.failed.load(Ordering::Acquire);
    let dropped = SHARED.dropped.load(Ordering::Acquire);
    DeliveryStats {
        recorded: taken + refused,
        stored,
        dropped,
        failed,
        in_flight: taken.saturating_sub(handed) + held,
    }
}

/// Returns once every event recorded before the call has been handed to the sink.
pub(crate) fn flush() {
    // A span this thread holds back is recorded as far as its code can tell.
    context::record_held();
    let delivery = match SHARED.thread.get() {
        Some(Some(thread)) => thread,
        // Nothing was ever recorded, or nothing can be delivered.
        _ => return notifier::flush_driver(),
    };
    if thread::current().id() == delivery.id() {
        // Called from inside the sink: waiting would deadlock.
        return;
    }
    let mut state = lock(&SHARED.flush);
    state.requested += 1;
    let target = state.requested;
    delivery.unpark();
    while state.completed < target {
        state = SHARED
            .flushed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

fn run() {
    let mut builder = PayloadBuilder::new();
    let mut staged: Vec<Event> = Vec::new();
    loop {
        let flush_target = lock(&SHARED.flush).requested;
        // Events stamped before this instant and still in a ring are all drained below, so
        // delivering only those keeps each trace in time order across threads. A ring that
        // holds a span back brings the instant down to that span's start.
        let mut watermark = crate::clock::Instant::now();
        let hold_limit = builder.wall_clock().before(watermark, MAX_HOLD);
        let drained = drain_rings(&mut staged, &mut watermark, hold_limit);
        SHARED.taken.fetch_add(drained as u64, Ordering::Release);
        // Each ring is in order already; the stable sort merges the rings by time.
        staged.sort_by_key(Event::at);
        let flushing = flush_target > lock(&SHARED.flush).completed;
        let ready = if flushing {
            staged.len()
        } else {
            staged.partition_point(|event| event.at() < watermark)
        };
        if ready > 0 {
            deliver(&mut builder, staged.drain(..ready));
        }
        if flushing {
            notifier::flush_driver();
            let mut state = lock(&SHARED.flush);
            state.completed = state.completed.max(flush_target);
            SHARED.flushed.notify_all();
        }
        if drained < SMALL_ROUND && staged.is_empty() && !flush_pending() {
            sleep();
        }
    }
}

/// Drains every ring into `staged`, and brings `watermark` down to the start of any span a
/// ring holds back, but not below `hold_limit`.
fn drain_rings(
    staged: &mut Vec<Event>,
    watermark: &mut crate::clock::Instant,
    hold_limit: crate::clock::Instant,
) -> usize {
    let mut rings = lock(&SHARED.rings);
    let mut drained = 0;
    rings.retain_mut(|ring| {
        let abandoned = ring.is_abandoned();
        // Read before the drain: a hold released before this read has its event in the ring.
        if let Some(held_since) = ring.held_since() {
            *watermark = (*watermark).min(held_since.max(hold_limit));
        }
        drained += ring.drain_into(staged);
        // A ring whose thread has exited is forgotten once it has been read empty.
        !(abandoned && ring.is_empty())
    });
    drained
}

fn rings_have_events() -> bool {
    lock(&SHARED.rings).iter().any(|ring| !ring.is_empty())
}

fn flush_pending() -> bool {
    let state = lock(&SHARED.flush);
    state.requested > state.completed
}

fn sleep() {
    SHARED.sleeping.store(true, Ordering::SeqCst);
    if !flush_pending() {
        if context::any_alive() {
            // Recording threads nudge this thread as their rings fill; the timeout bounds
            // how long a trickle of events waits.
            thread::park_timeout(IDLE_INTERVAL);
        } else if !rings_have_events() {
            // No context exists anywhere: nothing can be recorded until one is created,
            // and creating or ending one wakes this thread.
            thread::park();
        }
    }
    SHARED.sleeping.store(false, Ordering::SeqCst);
}

fn deliver(builder: &mut PayloadBuilder, mut events: impl ExactSizeIterator<Item = Event>) {
    let len = events.len();
    let count = len as u64;
    let Some(driver) = notifier::current_sink() else {
        // The default no-op sink: nothing to build, and nothing to keep.
        SHARED.stored.fetch_add(count, Ordering::Release);
        SHARED.handed.fetch_add(count, Ordering::Release);
        return;
    };
    let mut batch = Batch::new(builder, &mut events, len);
    let outcome = catch_unwind(AssertUnwindSafe(|| driver.notify_batch(&mut batch)));
    if !(matches!(outcome, Ok(Ok(()))) && driver.holds_events()) {
        // A driver that holds events counted each one as held, stored, dropped or failed.
        let settled = match outcome {
            Ok(Ok(())) => &SHARED.stored,
            _ => &SHARED.failed,
        };
        settled.fetch_add(count, Ordering::Release);
    }
    SHARED.handed.fetch_add(count, Ordering::Release);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let failed = SHARED.failed.load(Ordering::Relaxed);
            if report_failure_now() {
                tracing::warn!(
                    %error,
                    events = count,
                    failed_so_far = failed,
                    "osprof's sink failed to take trace events (reported every 10 s at most; see notifier::stats())"
                );
            }
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            tracing::error!(
                panic = message,
                events = count,
                "osprof's sink panicked; delivery goes on"
            );
        }
    }
}

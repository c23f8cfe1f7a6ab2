//! The traced thread's half of delivery: compact events pushed into a bounded per-thread ring.
//!
//! Nothing here formats, serialises or does I/O. The delivery thread
//! ([`crate::delivery`]) drains the rings and turns events into payloads.

mod name;
mod options;

use std::borrow::Cow;
use std::cell::RefCell;
use std::time::Instant;

use rtrb::{Producer, PushError, RingBuffer};

use crate::delivery;
use crate::id::Id;

pub use name::Name;
pub use options::{DeliveryOptions, Overflow};
pub(crate) use options::{current as current_options, set as set_options};

/// Whether an event opens or closes a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Start,
    Stop,
}

/// One start or stop, as recorded on the traced thread.
pub(crate) struct RawEvent {
    pub(crate) phase: Phase,
    pub(crate) name: Name,
    pub(crate) base_id: Id,
    pub(crate) trace_id: Id,
    pub(crate) parent_id: Id,
    pub(crate) at: fastant::Instant,
    pub(crate) info: Option<Box<Info>>,
}

/// What goes into a payload's `info`, kept unformatted until delivery.
pub(crate) enum Info {
    /// User data: an object is merged into `info`; any other value is stored under `value`.
    Json(serde_json::Value),
    /// A failed span: `{"etype": ..., "message": ...}`.
    Failure {
        etype: Cow<'static, str>,
        message: String,
    },
}

/// How many events a thread records between two nudges of the delivery thread.
const NUDGE_EVERY: u32 = 1024;

struct Recorder {
    producer: Producer<RawEvent>,
    since_nudge: u32,
}

thread_local! {
    static RECORDER: RefCell<Option<Recorder>> = const { RefCell::new(None) };
}

/// Hands an event to this thread's ring; applies the overflow policy when the ring is full.
///
/// The event is dropped (and counted) when the thread is being torn down and its ring is gone.
pub(crate) fn record(event: RawEvent) {
    let recorded = RECORDER.try_with(|slot| {
        let mut slot = slot.borrow_mut();
        let recorder = slot.get_or_insert_with(Recorder::register);
        recorder.push(event);
    });
    if recorded.is_err() {
        delivery::count_dropped(1);
    }
}

impl Recorder {
    fn register() -> Recorder {
        let (producer, consumer) = RingBuffer::new(current_options().buffer_capacity.max(2));
        delivery::register(consumer);
        Recorder {
            producer,
            since_nudge: 0,
        }
    }

    #[inline]
    fn push(&mut self, event: RawEvent) {
        match self.producer.push(event) {
            Ok(()) => {
                self.since_nudge += 1;
                if self.since_nudge >= NUDGE_EVERY {
                    self.since_nudge = 0;
                    delivery::nudge();
                }
            }
            Err(PushError::Full(event)) => self.overflow(event),
        }
    }

    #[cold]
    fn overflow(&mut self, mut event: RawEvent) {
        let max_wait = match current_options().overflow {
            Overflow::DropNewest => {
                delivery::count_dropped(1);
                return;
            }
            Overflow::Block { max_wait } => max_wait,
        };
        let waited_since = Instant::now();
        let mut attempts = 0u32;
        loop {
            delivery::wake();
            // Yield first (the delivery thread may share our core), then sleep briefly.
            if attempts < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
            attempts += 1;
            match self.producer.push(event) {
                Ok(()) => return,
                Err(PushError::Full(back)) => event = back,
            }
            if max_wait.is_some_and(|limit| waited_since.elapsed() >= limit) {
                delivery::count_dropped(1);
                delivery::warn_blocked_too_long();
                return;
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // The ring is abandoned: let the delivery thread drain and forget it.
        delivery::wake();
    }
}

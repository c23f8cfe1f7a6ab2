//! The traced thread's half of delivery: compact events pushed into a bounded per-thread ring.
//!
//! Nothing here formats, serialises or does I/O. The delivery thread
//! ([`crate::delivery`]) drains the rings and turns events into payloads.

mod name;
mod options;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// One start or stop, as recorded on the traced thread: 96 bytes, no reference counts.
pub(crate) struct RawEvent {
    pub(crate) base_id: Id,
    pub(crate) trace_id: Id,
    pub(crate) parent_id: Id,
    pub(crate) at: fastant::Instant,
    /// The span name when it is static; see [`Extra::name`] otherwise.
    pub(crate) name: &'static str,
    pub(crate) detail: Detail,
    pub(crate) phase: Phase,
}

/// What an event carries besides its ids, name and time. Two words, so that the recording
/// path moves it, not the much larger [`Info`], and a span with no info allocates nothing.
#[derive(Clone)]
pub(crate) enum Detail {
    None,
    /// A traced function's path when that is all its info holds (`hide_args`, no `info`):
    /// such a span allocates nothing either.
    Function(&'static &'static str),
    /// What most events do not have, boxed.
    Extra(Box<Extra>),
}

#[derive(Clone)]
pub(crate) struct Extra {
    /// A name built at run time.
    pub(crate) name: Option<Arc<str>>,
    pub(crate) info: Option<Info>,
}

impl Detail {
    /// The detail of an event with `info`.
    #[inline(always)]
    pub(crate) fn from_info(info: Option<Info>) -> Detail {
        match info {
            None => Detail::None,
            Some(info) => Detail::of(info),
        }
    }

    #[cold]
    #[inline(never)]
    fn of(info: Info) -> Detail {
        match info {
            Info::Function {
                user: None,
                name,
                args: None,
            } => Detail::Function(name),
            info => Detail::Extra(Box::new(Extra {
                name: None,
                info: Some(info),
            })),
        }
    }

    /// The same detail for an event whose name was built at run time.
    #[cold]
    #[inline(never)]
    fn with_name(self, name: &Arc<str>) -> Detail {
        let info = match self {
            Detail::None => None,
            Detail::Function(function) => Some(Info::Function {
                user: None,
                name: function,
                args: None,
            }),
            Detail::Extra(extra) => extra.info,
        };
        Detail::Extra(Box::new(Extra {
            name: Some(name.clone()),
            info,
        }))
    }
}

impl RawEvent {
    #[inline(always)]
    pub(crate) fn new(
        phase: Phase,
        name: &Name,
        [base_id, trace_id, parent_id]: [Id; 3],
        detail: Detail,
    ) -> RawEvent {
        let (name, shared_name) = name.parts();
        let detail = match shared_name {
            None => detail,
            Some(shared_name) => detail.with_name(shared_name),
        };
        RawEvent {
            base_id,
            trace_id,
            parent_id,
            at: fastant::Instant::now(),
            name,
            detail,
            phase,
        }
    }

    /// The event's info, unboxed.
    pub(crate) fn take_info(&mut self) -> Option<Info> {
        match &mut self.detail {
            Detail::None => None,
            Detail::Function(name) => Some(Info::Function {
                user: None,
                name,
                args: None,
            }),
            Detail::Extra(extra) => extra.info.take(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        match &self.detail {
            Detail::Extra(extra) => extra.name.as_deref().unwrap_or(self.name),
            _ => self.name,
        }
    }
}

/// What goes into a payload's `info`, kept unformatted until delivery.
#[derive(Clone)]
pub(crate) enum Info {
    /// User data: an object is merged into `info`; any other value is stored under `value`.
    Json(serde_json::Value),
    /// A traced function's start: `{<user info>, "function": {"name", "args", "kwargs"}}`
    /// (`args` and `kwargs` left out when `args` is `None`).
    Function {
        user: Option<serde_json::Map<String, serde_json::Value>>,
        name: &'static &'static str,
        args: Option<String>,
    },
    /// A traced function's result: `{"function": {"result": ...}}`.
    Result(String),
    /// A failed span: `{"etype": ..., "message": ...}`.
    Failure {
        etype: Cow<'static, str>,
        message: String,
    },
}

/// How many events a thread records between two nudges of the delivery thread.
const NUDGE_EVERY: u32 = 2048;

/// A thread's ring of recorded events.
pub(crate) struct Recorder {
    producer: Producer<RawEvent>,
    since_nudge: u32,
}

impl Recorder {
    pub(crate) fn register() -> Recorder {
        let (producer, consumer) = RingBuffer::new(current_options().buffer_capacity.max(2));
        delivery::register(consumer);
        Recorder {
            producer,
            since_nudge: 0,
        }
    }

    /// Queues an event; applies the overflow policy when the ring is full.
    #[inline]
    pub(crate) fn push(&mut self, event: RawEvent) {
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
    #[inline(never)]
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
                std::thread::sleep(Duration::from_micros(50));
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

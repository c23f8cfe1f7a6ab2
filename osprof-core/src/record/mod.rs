//! The traced thread's half of delivery: compact events pushed into a bounded per-thread ring.
//!
//! Nothing here formats, serialises or does I/O. The delivery thread
//! ([`crate::delivery`]) drains the rings and turns events into payloads.

mod name;
mod options;
mod ring;

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::__private::FnSite;
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

/// One start or stop, as recorded on the traced thread: 64 bytes, one cache line, no
/// reference counts.
///
/// The trace's base id is not in it: a ring announces it with a [`What::Trace`] event when
/// it changes (see [`Recorder::push`]), and the delivery thread pairs it back on as it
/// drains the ring into [`Event`]s. Keeping events to one cache line halves what moves
/// from the traced thread's core to the delivery thread's.
#[derive(Clone)]
pub(crate) struct RawEvent {
    /// The span's id: the payload's `trace_id`. The base id in a [`What::Trace`] event;
    /// unset in a leaf event.
    pub(crate) span_id: Id,
    pub(crate) parent_id: Id,
    pub(crate) at: crate::clock::Instant,
    pub(crate) what: What,
}

const _: () = assert!(
    size_of::<RawEvent>() == 64,
    "a RawEvent fills one cache line"
);

/// What an event is besides its ids and time: three words, so that a span with a static
/// name, or a traced function's span with no arguments shown, allocates nothing.
///
/// The phase is part of the variant and the tag is a whole word: an event is then made of
/// whole-word stores only, which the copy into the ring can read back at full speed (a
/// one-byte tag or phase beside them stalls that copy).
#[derive(Clone)]
#[repr(u64)]
pub(crate) enum What {
    /// A span with a static name and no info.
    StartPlain(&'static str),
    StopPlain(&'static str),
    /// A traced function's span whose only info is the function's path (`hide_args`, no
    /// `info`): the name and the path both come from the function's [`FnSite`].
    StartFunction(&'static FnSite),
    StopFunction(&'static FnSite),
    /// Anything else (info, or a name built at run time), boxed: most events have neither.
    StartExtra(Box<Extra>),
    StopExtra(Box<Extra>),
    /// A whole span with nothing recorded inside it, recorded once as it stops: it started
    /// at the event's `at`. The reader turns it back into a start and a stop and gives it
    /// its id ([`Reader::drain_into`]), so a leaf span, the most common kind, hands one
    /// event to the delivery thread instead of two and draws no random id on its thread.
    /// The name is a thin reference ([`name::thin`]) to leave room for the stop instant.
    LeafPlain {
        stopped: crate::clock::Instant,
        name: &'static &'static str,
    },
    LeafFunction {
        stopped: crate::clock::Instant,
        site: &'static FnSite,
    },
    /// Not a span: the events that follow in this ring belong to the trace `span_id`.
    Trace,
}

#[derive(Clone)]
pub(crate) struct Extra {
    pub(crate) name: Name,
    pub(crate) info: Option<Info>,
}

/// What the code that opens or closes a span gives besides its name: two words, so that
/// the recording path moves it, not the much larger [`Info`].
pub(crate) enum Detail {
    None,
    /// A traced function's span with no arguments or info shown.
    Function(&'static FnSite),
    /// Info, boxed; its name is filled in when the event is made.
    Extra(Box<Extra>),
}

impl Detail {
    /// The detail of an event with `info`.
    #[inline(always)]
    pub(crate) fn from_info(info: Option<Info>) -> Detail {
        match info {
            None => Detail::None,
            Some(info) => Detail::boxed(info),
        }
    }

    /// This detail with the info [`add_info`](crate::add_info) added to its span.
    #[cold]
    #[inline(never)]
    pub(crate) fn with_added(self, added: serde_json::Map<String, serde_json::Value>) -> Detail {
        let base = match self {
            Detail::None => None,
            Detail::Function(site) => Some(Info::of_site(site)),
            Detail::Extra(mut extra) => {
                let base = extra.info.take().map(Box::new);
                extra.info = Some(Info::Added { base, added });
                return Detail::Extra(extra);
            }
        };
        Detail::boxed(Info::Added {
            base: base.map(Box::new),
            added,
        })
    }

    #[cold]
    #[inline(never)]
    fn boxed(info: Info) -> Detail {
        Detail::Extra(Box::new(Extra {
            name: Name::from(""),
            info: Some(info),
        }))
    }
}

/// What a span with no info is: a static name, or a traced function with nothing shown
/// but its path. `Copy`, two words: the fast paths keep it in registers.
#[derive(Clone, Copy)]
pub(crate) enum Plain {
    Name(&'static str),
    Function(&'static FnSite),
}

impl Plain {
    #[inline(always)]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Plain::Name(name) => name,
            Plain::Function(site) => site.name,
        }
    }

    #[inline(always)]
    pub(crate) fn start(self) -> What {
        match self {
            Plain::Name(name) => What::StartPlain(name),
            Plain::Function(site) => What::StartFunction(site),
        }
    }

    /// Its stop: a traced function's stop carries nothing but the name either.
    #[inline(always)]
    fn stop(self) -> What {
        What::StopPlain(self.name())
    }
}

/// A [`Plain`] span in one word, as a held span keeps it (see [`Recorder::hold`]).
#[derive(Clone, Copy)]
pub(crate) enum HeldPlain {
    Name(&'static &'static str),
    Function(&'static FnSite),
}

impl HeldPlain {
    pub(crate) fn name(self) -> &'static str {
        self.plain().name()
    }

    fn plain(self) -> Plain {
        match self {
            HeldPlain::Name(name) => Plain::Name(name),
            HeldPlain::Function(site) => Plain::Function(site),
        }
    }
}

impl What {
    #[inline(always)]
    pub(crate) fn new(phase: Phase, name: &Name, detail: Detail) -> What {
        let static_name = name.as_static();
        // One match that consumes `detail` in every arm: no drop left to do after it.
        match detail {
            Detail::None if let Some(name) = static_name => match phase {
                Phase::Start => What::StartPlain(name),
                Phase::Stop => What::StopPlain(name),
            },
            Detail::Function(site) if static_name.is_some() => match phase {
                Phase::Start => What::StartFunction(site),
                Phase::Stop => What::StopFunction(site),
            },
            detail => What::extra(phase, name, detail),
        }
    }

    #[cold]
    #[inline(never)]
    fn extra(phase: Phase, name: &Name, detail: Detail) -> What {
        let mut extra = match detail {
            Detail::Extra(extra) => extra,
            Detail::None => Box::new(Extra {
                name: Name::from(""),
                info: None,
            }),
            Detail::Function(site) => Box::new(Extra {
                name: Name::from(""),
                info: Some(Info::of_site(site)),
            }),
        };
        extra.name = name.clone();
        match phase {
            Phase::Start => What::StartExtra(extra),
            Phase::Stop => What::StopExtra(extra),
        }
    }
}

impl RawEvent {
    /// An event stamped now.
    #[inline(always)]
    pub(crate) fn now(span_id: Id, parent_id: Id, what: What) -> RawEvent {
        RawEvent {
            span_id,
            parent_id,
            at: crate::clock::Instant::now(),
            what,
        }
    }

    /// How many of the sink's events this stands for.
    fn events(&self) -> u64 {
        match self.what {
            What::LeafPlain { .. } | What::LeafFunction { .. } => 2,
            _ => 1,
        }
    }

    /// The announcement that the events after it belong to the trace `base_id`.
    fn trace(base_id: Id) -> RawEvent {
        RawEvent {
            span_id: base_id,
            parent_id: base_id,
            at: crate::clock::Instant::ZERO,
            what: What::Trace,
        }
    }
}

/// An event as the delivery thread has it: a [`RawEvent`] with its trace's base id.
#[derive(Clone)]
pub(crate) struct Event {
    pub(crate) base_id: Id,
    pub(crate) raw: RawEvent,
}

impl Event {
    pub(crate) fn at(&self) -> crate::clock::Instant {
        self.raw.at
    }

    pub(crate) fn phase(&self) -> Phase {
        match &self.raw.what {
            // Leaves are split before they are staged.
            What::StartPlain(_)
            | What::StartFunction(_)
            | What::StartExtra(_)
            | What::LeafPlain { .. }
            | What::LeafFunction { .. } => Phase::Start,
            // Trace announcements are never staged.
            What::StopPlain(_) | What::StopFunction(_) | What::StopExtra(_) | What::Trace => {
                Phase::Stop
            }
        }
    }

    pub(crate) fn name(&self) -> &str {
        match &self.raw.what {
            What::StartPlain(name) | What::StopPlain(name) => name,
            What::LeafPlain { name, .. } => name,
            What::StartFunction(site)
            | What::StopFunction(site)
            | What::LeafFunction { site, .. } => site.name,
            What::StartExtra(extra) | What::StopExtra(extra) => extra.name.as_str(),
            What::Trace => "",
        }
    }

    /// The event's info, unboxed.
    pub(crate) fn take_info(&mut self) -> Option<Info> {
        match &mut self.raw.what {
            What::StartPlain(_) | What::StopPlain(_) | What::LeafPlain { .. } | What::Trace => None,
            What::StartFunction(site)
            | What::StopFunction(site)
            | What::LeafFunction { site, .. } => Some(Info::of_site(site)),
            What::StartExtra(extra) | What::StopExtra(extra) => extra.info.take(),
        }
    }
}

/// A ring's reader on the delivery thread: it pairs each event with its trace.
pub(crate) struct Reader {
    ring: ring::Reader,
    base_id: Id,
}

impl Reader {
    /// Moves every event now in the ring into `staged`; returns how many.
    pub(crate) fn drain_into(&mut self, staged: &mut Vec<Event>) -> usize {
        let before = staged.len();
        let base_id = &mut self.base_id;
        self.ring.drain(|raw| match raw.what {
            What::Trace => *base_id = raw.span_id,
            What::LeafPlain { stopped, name } => {
                split_leaf(staged, *base_id, &raw, stopped, Plain::Name(name));
            }
            What::LeafFunction { stopped, site } => {
                split_leaf(staged, *base_id, &raw, stopped, Plain::Function(site));
            }
            _ => staged.push(Event {
                base_id: *base_id,
                raw,
            }),
        });
        staged.len() - before
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// When the span its thread holds back started, if it holds one.
    pub(crate) fn held_since(&self) -> Option<crate::clock::Instant> {
        self.ring.held_since()
    }

    /// True once the recording thread has exited.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.ring.is_abandoned()
    }
}

/// Stages a leaf event as the start and the stop it stands for.
fn split_leaf(
    staged: &mut Vec<Event>,
    base_id: Id,
    leaf: &RawEvent,
    stopped: crate::clock::Instant,
    plain: Plain,
) {
    let span_id = Id::random();
    let event = |at, what| Event {
        base_id,
        raw: RawEvent {
            span_id,
            parent_id: leaf.parent_id,
            at,
            what,
        },
    };
    staged.push(event(leaf.at, plain.start()));
    staged.push(event(stopped, plain.stop()));
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
        path: &'static str,
        args: Option<String>,
    },
    /// A traced function's result: `{"function": {"result": ...}}`.
    Result(String),
    /// A failed span: `{"etype": ..., "message": ...}`.
    Failure {
        etype: Cow<'static, str>,
        message: String,
    },
    /// A stop's info with what [`add_info`](crate::add_info) added to the span while it was
    /// open: the entries of `added` go over those of `base`.
    Added {
        base: Option<Box<Info>>,
        added: serde_json::Map<String, serde_json::Value>,
    },
}

impl Info {
    /// The info of a traced function's span that shows nothing but the function's path.
    fn of_site(site: &FnSite) -> Info {
        Info::Function {
            user: None,
            path: site.path(),
            args: None,
        }
    }
}

/// At most how many events a thread records between two looks at how full its ring is (a
/// power of two: the ring's own count of pushed events says when).
const FILL_CHECK_EVERY: usize = 1024;
/// How long a thread waiting for room sleeps before it looks again if nothing woke it (a
/// delivery thread that could not start, say).
const ROOM_POLL: Duration = Duration::from_millis(1);

/// A thread's ring of recorded events, and the generator of its span ids.
pub(crate) struct Recorder {
    writer: ring::Writer,
    /// The trace whose events the ring holds last, as announced to its reader; `Id::NIL`
    /// before the first announcement (no trace has that id).
    base_id: Id,
    /// This thread's generator of span ids, held here so that a span needs no second
    /// thread-local access.
    random: fastrand::Rng,
    /// The thin form of the name last held back: a loop of spans finds it here.
    last_thin: &'static &'static str,
    /// One less than how many pushes there are between two looks at the ring's fill.
    fill_check_mask: usize,
    /// When a wait for room last ran out. For `max_wait` after that, a full ring drops at
    /// once: one call (which may push two or three events) then waits `max_wait` in total
    /// at most, not once per event.
    gave_up_at: Option<Instant>,
}

impl Recorder {
    #[cold]
    pub(crate) fn register() -> Recorder {
        let (writer, ring) = ring::ring(current_options().buffer_capacity);
        delivery::register(Reader {
            ring,
            base_id: Id::NIL,
        });
        // A quarter of the ring at most, so that a look comes before it is half full.
        let fill_check_every = (writer.capacity() / 4).clamp(1, FILL_CHECK_EVERY);
        Recorder {
            writer,
            base_id: Id::NIL,
            random: fastrand::Rng::new(),
            last_thin: &"",
            fill_check_mask: fill_check_every - 1,
            gave_up_at: None,
        }
    }

    /// The one-word form of `plain`, if it has one: a span that has it can be held back.
    #[inline(always)]
    pub(crate) fn held_plain(&mut self, plain: Plain) -> Option<HeldPlain> {
        match plain {
            Plain::Function(site) => Some(HeldPlain::Function(site)),
            Plain::Name(name) if std::ptr::eq(name, *self.last_thin) => {
                Some(HeldPlain::Name(self.last_thin))
            }
            Plain::Name(name) => self.thin_name(name),
        }
    }

    #[cold]
    #[inline(never)]
    fn thin_name(&mut self, name: &'static str) -> Option<HeldPlain> {
        self.last_thin = name::thin(name)?;
        Some(HeldPlain::Name(self.last_thin))
    }

    /// Notes that a span started at `at` is held back: its start is recorded later, with
    /// its stop as one leaf event or before anything recorded inside it. The delivery
    /// thread delivers nothing stamped after `at` meanwhile, so each trace stays in time
    /// order.
    #[inline(always)]
    pub(crate) fn hold(&mut self, at: crate::clock::Instant) {
        self.writer.hold(at);
    }

    /// Records the start of the held span `[id, parent]`: something is recorded inside it.
    #[cold]
    #[inline(never)]
    pub(crate) fn push_held_start(
        &mut self,
        base_id: Id,
        span: [Id; 2],
        at: crate::clock::Instant,
        held: HeldPlain,
    ) {
        self.push_released(base_id, span, at, held.plain().start());
    }

    /// Records the held span, child of `parent_id` and started at `at`, as it stops now.
    /// It has no id yet: the reader gives it one ([`Reader::drain_into`]).
    #[inline(always)]
    pub(crate) fn push_leaf(
        &mut self,
        base_id: Id,
        parent_id: Id,
        at: crate::clock::Instant,
        held: HeldPlain,
    ) {
        let stopped = crate::clock::Instant::now();
        let what = match held {
            HeldPlain::Name(name) => What::LeafPlain { stopped, name },
            HeldPlain::Function(site) => What::LeafFunction { stopped, site },
        };
        self.push_released(base_id, [Id::NIL, parent_id], at, what);
    }

    /// Queues the held span's event `what`, stamped `at`, and takes back the hold.
    #[inline(always)]
    fn push_released(&mut self, base_id: Id, span: [Id; 2], at: crate::clock::Instant, what: What) {
        let event = RawEvent {
            span_id: span[0],
            parent_id: span[1],
            at,
            what,
        };
        self.push(base_id, event);
        self.writer.release_hold();
    }

    /// A fresh random span id.
    #[inline(always)]
    pub(crate) fn span_id(&mut self) -> Id {
        Id::from_random(self.random.u128(..))
    }

    /// Queues an event of the trace `base_id`; applies the overflow policy when the ring
    /// is full.
    #[inline(always)]
    pub(crate) fn push(&mut self, base_id: Id, event: RawEvent) {
        if self.base_id != base_id {
            return self.push_in_trace(base_id, event);
        }
        match self.writer.push(event) {
            Ok(()) => self.pushed(),
            Err(event) => self.overflow(event),
        }
    }

    #[inline(always)]
    fn pushed(&mut self) {
        if self.writer.pushed() & self.fill_check_mask == 0 {
            self.nudge_if_half_full();
        }
    }

    /// Wakes the delivery thread once the ring is half full, so that it drains while the
    /// other half fills. Not sooner: a burst (one request's spans) is recorded without the
    /// delivery thread reading the ring's lines while this thread writes them, which would
    /// cost each span a transfer of its cache line between cores. The delivery thread's
    /// own wake-up (every 10 ms while a trace is alive) takes the rest.
    #[cold]
    #[inline(never)]
    fn nudge_if_half_full(&mut self) {
        if self.writer.filled() * 2 >= self.writer.capacity() {
            delivery::nudge();
        }
    }

    /// Announces the trace `base_id`, then queues `event`: both or neither, so that a
    /// dropped event never leaves the ring announcing the wrong trace.
    #[cold]
    #[inline(never)]
    fn push_in_trace(&mut self, base_id: Id, event: RawEvent) {
        if !self.make_room(2) {
            return delivery::count_refused(event.events());
        }
        // Room for both was just seen, and only this thread pushes: neither push fails.
        if self.writer.push(RawEvent::trace(base_id)).is_ok() && self.writer.push(event).is_ok() {
            self.base_id = base_id;
            self.pushed();
        }
    }

    #[cold]
    #[inline(never)]
    fn overflow(&mut self, event: RawEvent) {
        if !self.make_room(1) {
            return delivery::count_refused(event.events());
        }
        match self.writer.push(event) {
            Ok(()) => self.pushed(),
            Err(event) => delivery::count_refused(event.events()),
        }
    }

    /// Waits, as the overflow policy says, until the ring has room for `needed` events.
    /// False when it gets none: the caller counts its event as dropped.
    fn make_room(&mut self, needed: usize) -> bool {
        if self.writer.free() >= needed {
            return true;
        }
        let max_wait = match current_options().overflow {
            Overflow::DropNewest => return false,
            Overflow::Block { max_wait } => max_wait,
        };
        if let (Some(limit), Some(gave_up_at)) = (max_wait, self.gave_up_at)
            && gave_up_at.elapsed() < limit
        {
            return false;
        }
        let waited_since = Instant::now();
        loop {
            delivery::wake();
            // The delivery thread wakes this one once it has read the ring, which it reads
            // whole: the thread then records a ring's worth before it waits again.
            self.writer.wait_for_room(needed, ROOM_POLL);
            if self.writer.free() >= needed {
                return true;
            }
            if max_wait.is_some_and(|limit| waited_since.elapsed() >= limit) {
                delivery::warn_blocked_too_long();
                self.gave_up_at = Some(Instant::now());
                return false;
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

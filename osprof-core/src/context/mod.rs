//! The trace context: who is tracing, and the stack of open spans.
//!
//! The current context lives in a thread-local slot, but it belongs to the code, not the
//! thread: [`InTrace`] swaps a future's own context in for each poll and out again after, and
//! [`carry`] does the same for a closure run elsewhere. A trace started by a bare `init`
//! inside a tokio task belongs to that task and lives in [`task`]'s map instead, and an
//! async span that finds its trace missing on the thread that polls it brings it along.

mod carry;
mod guard;
mod owned;
mod poll_span;
mod profiler;
mod span;
mod task;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use serde_json::{Map, Value};

use crate::delivery;
use crate::id::Id;
pub(crate) use crate::record::Plain;
use crate::record::{Detail, HeldPlain, Info, Name, Phase, RawEvent, Recorder, What};

pub use carry::{FutureExt, InTrace, carry};
pub use guard::Trace;
pub(crate) use guard::panic_info;
pub use owned::OwnedTrace;
pub use poll_span::PollSpan;
pub use profiler::{Profiler, TraceSnapshot};
pub(crate) use span::AsyncSpan;
pub use span::{Instrumented, NoStopInfo};

/// How many contexts exist in the whole process, in any thread, task or closure.
static ALIVE: AtomicUsize = AtomicUsize::new(0);

/// False when no trace context exists anywhere: the resting fast path, one relaxed load.
#[inline(always)]
pub(crate) fn any_alive() -> bool {
    !cfg!(feature = "disabled") && ALIVE.load(Ordering::Relaxed) != 0
}

/// True when this thread of control has a trace.
#[inline]
pub(crate) fn is_traced() -> bool {
    with_current(|_, _| ()).is_some()
}

/// How many times code found a trace that was not its own (see [`ContextStats::misplaced`]).
static MISPLACED: AtomicU64 = AtomicU64::new(0);
static WARNED_MISPLACED: AtomicBool = AtomicBool::new(false);

/// Counts a misplaced trace, and says so through `tracing` the first time.
#[cold]
fn report_misplaced() {
    MISPLACED.fetch_add(1, Ordering::Relaxed);
    if !WARNED_MISPLACED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "osprof found a trace on a thread where code of another trace ran: a trace was \
             started with a bare `init` in a future that an executor other than tokio moved or \
             interleaved. Start it with `FutureExt::in_new_trace` instead; spans of traced \
             futures keep to their own trace (see osprof_core::context_stats())"
        );
    }
}

/// What the process holds of trace contexts: see [`context_stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContextStats {
    /// Trace contexts alive anywhere: in thread slots, tasks, futures and closures. Zero
    /// means the resting fast path: an instrumentation point costs one relaxed load.
    pub live_contexts: usize,
    /// Tokio tasks that own a trace started by a bare [`init`] and not yet [`clean`]ed.
    pub task_traces: usize,
    /// Times a traced future found a different trace current on the thread polling it: a
    /// trace started by a bare [`init`] was left on a thread by code that yielded (an
    /// executor other than tokio). The future's spans still went to its own trace.
    pub misplaced: u64,
}

/// The process-wide counts of trace contexts.
///
/// ```
/// let before = osprof_core::context_stats().live_contexts;
/// osprof_core::init("key", None, None);
/// assert_eq!(osprof_core::context_stats().live_contexts, before + 1);
/// osprof_core::clean();
/// assert_eq!(osprof_core::context_stats().live_contexts, before);
/// ```
pub fn context_stats() -> ContextStats {
    ContextStats {
        live_contexts: ALIVE.load(Ordering::Relaxed),
        task_traces: task::owned(),
        misplaced: MISPLACED.load(Ordering::Relaxed),
    }
}

/// Where a context came from, which decides who sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// Code that carries it (a future, a closure, a span) or a plain thread: whatever runs
    /// while it is in the thread's slot sees it.
    Code,
    /// A bare `init` in a tokio runtime outside any task (`#[tokio::main]`'s body): tasks
    /// that the runtime runs on the same thread do not see it.
    BlockOn,
    /// A bare `init` in a tokio task: kept in [`task`]'s map, seen by that task only. It
    /// holds no span back, since a held span belongs to one thread's ring and the task
    /// moves.
    Task,
}

/// One trace as seen from one thread of control.
pub(crate) struct Context {
    hmac_key: Arc<str>,
    base_id: Id,
    /// The parent given to `init`; the parent of the first span.
    parent_id: Id,
    /// Open spans whose start is recorded, innermost last.
    spans: Vec<Frame>,
    /// The innermost open span, when its start is held back rather than recorded.
    ///
    /// A span with no info opens here, not in `spans`: if nothing is recorded inside it, its
    /// stop records the whole span as one leaf event, and it never needs an id on this
    /// thread (the delivery thread gives it one). Only a context in its thread's slot ever
    /// holds a span: anything recorded in the context, and the context leaving the slot,
    /// being copied or being asked for its ids, records the held start first and moves the
    /// span onto `spans` ([`Context::record_held`]).
    held: Option<HeldSpan>,
    owner: Owner,
    /// What [`add_info`] added to open spans, by span id, for their stops. Empty but for a
    /// span that was given some: a span closing looks here only when it is not.
    added: Vec<(Id, Map<String, Value>)>,
}

/// An open span whose start is recorded.
#[derive(Clone)]
struct Frame {
    id: Id,
    name: Name,
}

impl Frame {
    fn recorded(id: Id, name: Name) -> Frame {
        Frame { id, name }
    }
}

/// A span whose start is held back (see [`Context::held`]): two words.
#[derive(Clone, Copy)]
struct HeldSpan {
    started: crate::clock::Instant,
    plain: HeldPlain,
}

impl Context {
    fn new(hmac_key: &str, base_id: Id, parent_id: Id) -> Context {
        Context::counted(Context {
            hmac_key: Arc::from(hmac_key),
            base_id,
            parent_id,
            spans: Vec::new(),
            held: None,
            owner: Owner::Code,
            added: Vec::new(),
        })
    }

    /// A new trace: `base_id` (a fresh UUID4 when missing or empty), whose first span's
    /// parent is `parent_id` (or `base_id` when missing or empty).
    fn start(hmac_key: &str, base_id: Option<&str>, parent_id: Option<&str>) -> Context {
        let base_id = match base_id {
            Some(text) if !text.is_empty() => Id::parse(text),
            _ => Id::random(),
        };
        let parent_id = match parent_id {
            Some(text) if !text.is_empty() => Id::parse(text),
            _ => base_id,
        };
        Context::new(hmac_key, base_id, parent_id)
    }

    /// The context of an open async span whose trace is not current where it is polled:
    /// the span innermost, under its own parent.
    fn carried(hmac_key: Arc<str>, base_id: Id, parent_id: Id, id: Id, name: Name) -> Context {
        Context::counted(Context {
            hmac_key,
            base_id,
            parent_id,
            spans: vec![Frame::recorded(id, name)],
            held: None,
            owner: Owner::Code,
            added: Vec::new(),
        })
    }

    /// Whether the code running now on this thread may use this context from its slot.
    #[inline(always)]
    fn visible_here(&self) -> bool {
        self.owner != Owner::BlockOn || task::current().is_none()
    }

    fn counted(context: Context) -> Context {
        if ALIVE.fetch_add(1, Ordering::Relaxed) == 0 {
            // The delivery thread may be parked for good; there is work coming.
            delivery::wake();
        }
        context
    }

    /// The id of the innermost recorded span, or the initial parent.
    fn id(&self) -> Id {
        self.spans.last().map_or(self.parent_id, |frame| frame.id)
    }

    /// The parent of the innermost recorded span.
    fn parent_of_top(&self) -> Id {
        match self.spans.len() {
            0 => self.base_id,
            1 => self.parent_id,
            len => self.spans[len - 2].id,
        }
    }

    /// The context's ids as a [`Profiler`]; record the held span first (see
    /// [`Context::held`]) for them to include it.
    fn profiler(&self) -> Profiler {
        Profiler::new(
            self.hmac_key.to_string(),
            self.base_id.to_string(),
            self.parent_of_top().to_string(),
            self.id().to_string(),
        )
    }

    /// Records the start of the held span, if any (see [`Context::held`]).
    #[inline(always)]
    fn record_held(&mut self, recorder: &mut Recorder) {
        if self.held.is_some() {
            self.record_held_start(recorder);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_held_start(&mut self, recorder: &mut Recorder) {
        if let Some(HeldSpan { started, plain }) = self.held.take() {
            let ids = [recorder.span_id(), self.id()];
            recorder.push_held_start(self.base_id, ids, started, plain);
            self.spans
                .push(Frame::recorded(ids[0], Name::from(plain.name())));
        }
    }

    /// Opens a span: records its start and pushes it. Returns `[id, parent]`.
    #[inline(always)]
    fn open(&mut self, recorder: &mut Recorder, name: Name, what: What) -> [Id; 2] {
        self.record_held(recorder);
        let ids = [recorder.span_id(), self.id()];
        recorder.push(self.base_id, RawEvent::now(ids[0], ids[1], what));
        self.spans.push(Frame::recorded(ids[0], name));
        ids
    }

    /// Opens a span with no info, held back (see [`Context::held`]) when its name allows.
    #[inline(always)]
    fn open_plain(&mut self, recorder: &mut Recorder, plain: Plain) {
        self.record_held(recorder);
        if self.owner == Owner::Task {
            self.open(recorder, Name::from(plain.name()), plain.start());
            return;
        }
        let Some(plain) = recorder.held_plain(plain) else {
            self.open(recorder, Name::from(plain.name()), plain.start());
            return;
        };
        let started = crate::clock::Instant::now();
        self.held = Some(HeldSpan { started, plain });
        recorder.hold(started);
    }

    /// Makes the open span `id`, recorded elsewhere, innermost again (an async span's poll).
    fn enter_recorded(&mut self, recorder: &mut Recorder, id: Id, name: Name) {
        self.record_held(recorder);
        self.spans.push(Frame::recorded(id, name));
    }

    /// Takes the span `id` off the top again after its poll, if it is innermost, with what
    /// [`add_info`] added to it during the poll.
    fn exit_recorded(&mut self, recorder: &mut Recorder, id: Id) -> Option<Map<String, Value>> {
        // A span still held inside it stays innermost: recorded, it keeps `id` below it.
        self.record_held(recorder);
        if self.spans.last().is_some_and(|frame| frame.id == id) {
            self.spans.pop();
        }
        self.take_added(id)
    }

    /// What [`add_info`] added to the span `id`, taken for its stop.
    #[inline(always)]
    fn take_added(&mut self, id: Id) -> Option<Map<String, Value>> {
        if self.added.is_empty() {
            return None;
        }
        self.take_added_slow(id)
    }

    #[cold]
    #[inline(never)]
    fn take_added_slow(&mut self, id: Id) -> Option<Map<String, Value>> {
        let index = self.added.iter().position(|(span, _)| *span == id)?;
        Some(self.added.swap_remove(index).1)
    }

    /// Adds `key: value` to what the innermost span's stop will carry.
    fn add_info(&mut self, recorder: &mut Recorder, key: &str, value: Value) {
        // A held span gets its id, and its start recorded, for its stop to carry info.
        self.record_held(recorder);
        let Some(frame) = self.spans.last() else {
            return;
        };
        let id = frame.id;
        match self.added.iter_mut().find(|(span, _)| *span == id) {
            Some((_, map)) => {
                map.insert(key.to_owned(), value);
            }
            None => self
                .added
                .push((id, Map::from_iter([(key.to_owned(), value)]))),
        }
    }

    /// Closes the innermost span: records its stop and pops it. No-op with nothing open.
    #[inline(always)]
    fn close(&mut self, recorder: &mut Recorder, detail: Detail) {
        self.record_held(recorder);
        let parent_id = self.parent_of_top();
        if let Some(frame) = self.spans.pop() {
            let detail = match self.take_added(frame.id) {
                Some(added) => detail.with_added(added),
                None => detail,
            };
            let what = What::new(Phase::Stop, &frame.name, detail);
            recorder.push(self.base_id, RawEvent::now(frame.id, parent_id, what));
        }
    }

    /// Closes the innermost span with no stop info: a held one becomes one leaf event.
    #[inline(always)]
    fn close_plain(&mut self, recorder: &mut Recorder) {
        if let Some(HeldSpan { started, plain }) = self.held.take() {
            return recorder.push_leaf(self.base_id, self.id(), started, plain);
        }
        let parent_id = self.parent_of_top();
        let Some(frame) = self.spans.pop() else {
            return;
        };
        let what = match (frame.name.as_static(), self.take_added(frame.id)) {
            (Some(name), None) => What::StopPlain(name),
            (_, None) => What::new(Phase::Stop, &frame.name, Detail::None),
            (_, Some(added)) => What::new(Phase::Stop, &frame.name, Detail::None.with_added(added)),
        };
        recorder.push(self.base_id, RawEvent::now(frame.id, parent_id, what));
    }
}

impl Clone for Context {
    fn clone(&self) -> Self {
        Context::counted(Context {
            hmac_key: self.hmac_key.clone(),
            base_id: self.base_id,
            parent_id: self.parent_id,
            spans: self.spans.clone(),
            held: self.held,
            owner: Owner::Code,
            // Added info belongs to the spans' own closing, in the original.
            added: Vec::new(),
        })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if ALIVE.fetch_sub(1, Ordering::Relaxed) == 1 {
            // The last context is gone: let the delivery thread drain and park for good.
            delivery::wake();
        }
    }
}

/// Everything osprof keeps per thread, behind one thread-local: the context that is
/// current on it, its ring of recorded events, and the task trace it used last.
struct ThreadState {
    current: Option<Context>,
    recorder: Option<Recorder>,
    /// How many scopes ([`InTrace`] polls, [`carry`] calls, carried async spans) run on
    /// this thread now: an `init` inside one belongs to the scope's code, not to a task.
    scopes: u32,
    tasks: task::Cache,
}

thread_local! {
    static THREAD: RefCell<ThreadState> = const {
        RefCell::new(ThreadState {
            current: None,
            recorder: None,
            scopes: 0,
            tasks: task::Cache::new(),
        })
    };
}

impl ThreadState {
    /// Runs `f` on the context of the code running now, and this thread's recorder: the
    /// slot's context if that code may see it, else the running task's trace.
    #[inline(always)]
    fn with_current<R>(&mut self, f: impl FnOnce(&mut Context, &mut Recorder) -> R) -> Option<R> {
        let recorder_slot = &mut self.recorder;
        if let Some(context) = &mut self.current
            && context.visible_here()
        {
            return Some(f(context, recorder(recorder_slot)));
        }
        self.with_task(f)
    }

    #[inline(never)]
    fn with_task<R>(&mut self, f: impl FnOnce(&mut Context, &mut Recorder) -> R) -> Option<R> {
        let recorder_slot = &mut self.recorder;
        task::with(&mut self.tasks, |context| {
            f(context, recorder(recorder_slot))
        })
    }
}

/// Runs `f` on the current context and this thread's recorder, if there is a context.
#[inline(always)]
fn with_current<R>(f: impl FnOnce(&mut Context, &mut Recorder) -> R) -> Option<R> {
    if !any_alive() {
        return None;
    }
    THREAD
        .try_with(|state| state.borrow_mut().with_current(f))
        .ok()
        .flatten()
}

/// This thread's recorder, registered on first use.
#[inline(always)]
fn recorder(slot: &mut Option<Recorder>) -> &mut Recorder {
    match slot {
        Some(recorder) => recorder,
        none => none.insert(Recorder::register()),
    }
}

/// Records an event of the trace `base_id` outside any context (the stop of a span whose
/// future outlived its trace's context on this thread).
fn record_detached(base_id: Id, event: RawEvent) {
    let recorded = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        recorder(&mut state.recorder).push(base_id, event);
    });
    if recorded.is_err() {
        delivery::count_refused(1);
    }
}

/// Starts a trace in this thread of control, or returns the one already active.
///
/// An empty or missing `base_id` becomes a fresh UUID4; the first span's parent is
/// `parent_id`, or `base_id` when that is missing or empty. Mirrors OSProfiler's
/// `profiler.init`.
///
/// The trace belongs to the current thread of control, which is:
///
/// - inside a tokio task (`tokio::spawn`, a `#[tokio::test]`'s or `#[tokio::main]`'s
///   tasks, any runtime flavour): **that task**. Every poll of the task sees the trace on
///   whichever worker runs it, no other task sees it, and [`clean`] in the task ends it.
///   Call `clean` before the task ends: the trace lives until then (see
///   [`context_stats`]). This needs the `tokio` feature, on by default.
/// - inside a future run with [`FutureExt::in_current_trace`] or
///   [`FutureExt::in_new_trace`], or a closure made by [`carry`]: that future or closure.
/// - in `block_on`'s own future (the body of `#[tokio::main]`): that future, and not the
///   tasks the runtime runs on the same thread.
/// - anywhere else (a plain thread): the thread, as in OSProfiler.
///
/// On an executor other than tokio, a bare `init` in a future is the thread's: start such
/// a trace with [`FutureExt::in_new_trace`], which ends with the future. Spans of traced
/// futures (`#[trace] async fn`, [`FutureExt::traced`], [`PollSpan`]) keep to the trace they
/// opened in on any executor.
///
/// ```
/// let profiler = osprof_core::init("SECRET_KEY", None, None);
/// assert_eq!(profiler.id(), profiler.base_id());
/// // A second `init` returns the active trace unchanged.
/// assert_eq!(osprof_core::init("other", Some("ignored"), None), profiler);
/// osprof_core::clean();
/// assert!(osprof_core::get().is_none());
/// ```
pub fn init(hmac_key: &str, base_id: Option<&str>, parent_id: Option<&str>) -> Profiler {
    if let Some(active) = get() {
        return active;
    }
    let mut context = Context::start(hmac_key, base_id, parent_id);
    let profiler = context.profiler();
    if cfg!(feature = "disabled") {
        return profiler;
    }
    guard::install_panic_hook();
    let _ = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        if state.scopes == 0 {
            if let Some(task) = task::current() {
                context.owner = Owner::Task;
                return task::insert(task, context);
            }
            if task::in_runtime() {
                context.owner = Owner::BlockOn;
            }
        }
        // `get` above saw no context for this code, so the slot is empty: outside a task
        // every context in it is visible, and inside a scope it holds the scope's own.
        state.current = Some(context);
    });
    profiler
}

/// The active trace of this thread of control, if any.
///
/// ```
/// assert!(osprof_core::get().is_none());
/// ```
pub fn get() -> Option<Profiler> {
    with_current(|context, recorder| {
        context.record_held(recorder);
        context.profiler()
    })
}

/// Whether this thread of control has an active trace: one relaxed load when no trace
/// exists anywhere in the process. Integrations check it before doing any work for a span.
///
/// ```
/// assert!(!osprof_core::is_active());
/// osprof_core::init("key", None, None);
/// assert!(osprof_core::is_active());
/// osprof_core::clean();
/// ```
#[inline]
pub fn is_active() -> bool {
    is_traced()
}

/// Ends the active trace of this thread of control. Spans still open are not stopped.
///
/// ```
/// osprof_core::init("key", None, None);
/// osprof_core::clean();
/// assert!(osprof_core::get().is_none());
/// osprof_core::clean(); // nothing to end: does nothing
/// ```
pub fn clean() {
    if !any_alive() {
        return;
    }
    record_held();
    let ended = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        match &state.current {
            Some(context) if context.visible_here() => state.current.take(),
            _ => task::current().and_then(task::remove),
        }
    });
    // Dropped outside the thread state's borrow.
    drop(ended);
}

/// Opens a span named `name` with `info` merged into its start payload's `info`.
///
/// Does nothing without an active trace. Every `start` needs a matching [`stop`]; the
/// [`Trace`] guard pairs them for you.
///
/// ```
/// osprof_core::init("key", None, None);
/// osprof_core::start("compute", Some(serde_json::json!({"size": 3})));
/// osprof_core::stop(None);
/// osprof_core::clean();
/// ```
pub fn start(name: &str, info: Option<Value>) {
    if !any_alive() {
        return;
    }
    start_span(
        Name::from(name.to_owned()),
        Detail::from_info(info.map(Info::Json)),
    );
}

/// Closes the innermost open span, with `info` merged into its stop payload's `info`.
///
/// Does nothing (and does not fail) when no span is open.
///
/// ```
/// osprof_core::init("key", None, None);
/// osprof_core::start("read", None);
/// osprof_core::stop(Some(serde_json::json!({"bytes": 512})));
/// osprof_core::stop(None); // nothing open: does nothing
/// osprof_core::clean();
/// ```
pub fn stop(info: Option<Value>) {
    stop_span(info.map(Info::Json));
}

/// Adds `key: value` to the info of the innermost open span of the current trace: its stop
/// payload carries it (a later value for the same key replaces an earlier one). For what a
/// span learns while it runs, such as a row count or the tenant a request turned out to
/// be for, as `tracing`'s `Span::record` does.
///
/// Does nothing, and converts nothing, without an active trace or with no span open in it.
/// The innermost span is the one opened last in the current thread of control (see
/// [`init`]) and not yet stopped: a `#[trace]` function's, a [`Trace`] guard's, or a traced
/// future's while it is polled.
///
/// ```
/// use osprof_core::trace;
///
/// #[trace]
/// fn load(tenant: &str) -> usize {
///     let rows = 42; // learned halfway
///     osprof_core::add_info("rows", rows);
///     rows
/// }
///
/// osprof_core::init("key", None, None);
/// load("acme"); // `load-stop` carries `"rows": 42` in its info
/// osprof_core::clean();
/// osprof_core::add_info("rows", 1); // no trace: nothing happens
/// ```
#[inline]
pub fn add_info<V: Into<Value>>(key: &str, value: V) {
    // The value is converted only inside a trace: `with_current` runs nothing outside one.
    with_current(|context, recorder| context.add_info(recorder, key, value.into()));
}

/// Opens a span if a trace is active; true if it did.
#[inline(always)]
pub(crate) fn start_span(name: Name, detail: Detail) -> bool {
    let what = What::new(Phase::Start, &name, detail);
    with_current(|context, recorder| {
        context.open(recorder, name, what);
    })
    .is_some()
}

#[inline(always)]
pub(crate) fn stop_span(info: Option<Info>) {
    // Only the two-word detail goes through the closure: `Info` is much larger.
    let detail = Detail::from_info(info);
    with_current(|context, recorder| context.close(recorder, detail));
}

/// Opens a span with no info, if a trace is active; true if it did. The path that
/// `Trace::new("name", None)` and `#[trace(hide_args)]` take: nothing in it is dropped or
/// moved through memory but the span's frame.
#[inline(always)]
pub(crate) fn start_plain(plain: Plain) -> bool {
    THREAD
        .try_with(|state| {
            let state = &mut *state.borrow_mut();
            state
                .with_current(|context, recorder| context.open_plain(recorder, plain))
                .is_some()
        })
        .unwrap_or(false)
}

/// Closes the innermost span with no stop info: the path of a span stopped normally.
#[inline(always)]
pub(crate) fn stop_plain() {
    let _ = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        state.with_current(Context::close_plain);
    });
}

/// Records the start of the span this thread holds back, if any (see [`Context::held`]):
/// before the current context leaves the thread's slot or is copied, and before a flush.
pub(crate) fn record_held() {
    let _ = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        if let Some(context) = &mut state.current {
            context.record_held(recorder(&mut state.recorder));
        }
    });
}

/// Whether the innermost open span of the current trace is named `name`.
#[cfg(feature = "tracing-bridge")]
pub(crate) fn innermost_is(name: &str) -> bool {
    with_current(|context, _| match &context.held {
        Some(held) => held.plain.name() == name,
        None => context
            .spans
            .last()
            .is_some_and(|frame| frame.name.as_str() == name),
    })
    .unwrap_or(false)
}

/// A copy of the current context, for handing to other code.
fn current_copy() -> Option<Context> {
    with_current(|context, recorder| {
        context.record_held(recorder);
        context.clone()
    })
}

/// Makes `slot` this thread's context for a scope (a poll, a call) and puts the context
/// that was current into `slot`, to be put back by [`leave_scope`].
fn enter_scope(slot: &mut Option<Context>) {
    swap_scope(slot, true);
}

/// Ends the scope [`enter_scope`] began: puts back the context `slot` holds and leaves in
/// `slot` what the scope made of its own (a span opened, `init`, `clean`).
fn leave_scope(slot: &mut Option<Context>) {
    swap_scope(slot, false);
}

fn swap_scope(slot: &mut Option<Context>, entering: bool) {
    // Fails only while the thread is being torn down, on both swaps alike.
    let _ = THREAD.try_with(|state| {
        let state = &mut *state.borrow_mut();
        if let Some(context) = &mut state.current {
            // A context out of the slot holds no span back (see `Context::held`).
            context.record_held(recorder(&mut state.recorder));
        }
        std::mem::swap(&mut state.current, slot);
        if entering {
            state.scopes += 1;
        } else {
            state.scopes -= 1;
        }
    });
}

//! Async spans: entered on each poll of their future, never held across `.await`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use serde_json::{Map, Value};

use super::guard::panic_info;
use super::{
    Context, any_alive, enter_scope, leave_scope, record_detached, report_misplaced, with_current,
};
use crate::id::Id;
use crate::record::{Detail, Info, Name, Phase, RawEvent, What};

/// The span of one future, across all its polls.
pub(crate) struct AsyncSpan {
    state: State,
}

enum State {
    /// Not polled yet: whether it is traced is decided at the first poll.
    Waiting {
        name: Name,
        detail: Detail,
    },
    Open(Open),
    Done,
}

/// An open span: what it needs to be entered on any thread, in its own trace.
struct Open {
    name: Name,
    /// The trace's key, taken from its context when the first poll returns pending: a
    /// future that completes in one poll never needs it.
    hmac_key: Option<Arc<str>>,
    base_id: Id,
    id: Id,
    parent_id: Id,
    /// While a poll runs in a context the span brought along (its trace was not current
    /// where it is polled): the context that was current, put back after the poll.
    /// Boxed: only a span that moved pays for the room.
    displaced: Option<Box<Option<Context>>>,
    /// What [`add_info`](crate::add_info) added to the span in earlier polls, for its stop.
    added: Option<Box<Map<String, Value>>>,
}

impl AsyncSpan {
    pub(crate) fn new(name: Name, detail: Detail) -> AsyncSpan {
        AsyncSpan {
            state: State::Waiting { name, detail },
        }
    }

    /// A span that never opens.
    pub(crate) fn closed() -> AsyncSpan {
        AsyncSpan { state: State::Done }
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// Runs one poll of the span's future inside the span.
    pub(crate) fn poll_inside<T>(&mut self, poll: impl FnOnce() -> T) -> T {
        let entered = self.enter();
        let _exit = ExitOnUnwind(self, entered);
        poll()
    }

    /// Runs one poll of the span's future inside the span and, when it completes, stops
    /// the span with the info `stop` makes of the output: leaving the span and stopping it
    /// are one visit to the thread's context.
    #[inline]
    pub(crate) fn poll_future<T>(
        &mut self,
        poll: impl FnOnce() -> Poll<T>,
        stop: impl FnOnce(&T) -> Option<Info>,
    ) -> Poll<T> {
        let entered = self.enter();
        let mut exit = ExitOnUnwind(self, entered);
        let output = poll();
        exit.1 = false;
        let span = &mut *exit.0;
        match &output {
            Poll::Ready(value) => {
                let info = if span.is_open() { stop(value) } else { None };
                if entered {
                    span.exit_and_finish(info);
                } else {
                    span.finish(info);
                }
            }
            Poll::Pending if entered => span.exit(),
            Poll::Pending => {}
        }
        output
    }

    /// Makes the span current for one poll; true if it must be left with [`exit`](Self::exit).
    ///
    /// An open span whose trace is not the current one here (its future moved to a thread
    /// that does not have it, or to one where another trace was left) brings its own: the
    /// poll runs in a context of the span's trace with the span innermost.
    pub(crate) fn enter(&mut self) -> bool {
        match &mut self.state {
            State::Waiting { .. } => {
                let State::Waiting { name, detail } =
                    std::mem::replace(&mut self.state, State::Done)
                else {
                    unreachable!("matched just above")
                };
                if !any_alive() {
                    return false;
                }
                let what = What::new(Phase::Start, &name, detail);
                let opened = with_current(|context, recorder| {
                    let [id, parent_id] = context.open(recorder, name.clone(), what);
                    State::Open(Open {
                        id,
                        name,
                        hmac_key: None,
                        base_id: context.base_id,
                        parent_id,
                        displaced: None,
                        added: None,
                    })
                });
                match opened {
                    Some(state) => {
                        self.state = state;
                        true
                    }
                    None => false,
                }
            }
            State::Open(open) => {
                let entered = with_current(|context, recorder| {
                    let own = context.base_id == open.base_id;
                    if own {
                        context.enter_recorded(recorder, open.id, open.name.clone());
                    }
                    own
                });
                match entered {
                    Some(true) => {}
                    Some(false) => {
                        report_misplaced();
                        open.bring_context();
                    }
                    None => open.bring_context(),
                }
                true
            }
            State::Done => false,
        }
    }

    /// Takes the span off the context after a poll.
    pub(crate) fn exit(&mut self) {
        if let State::Open(open) = &mut self.state {
            match open.displaced.take() {
                Some(mut displaced) => {
                    leave_scope(&mut displaced);
                    // The span's own context, done with for this poll.
                    if let Some(own) = displaced.as_mut()
                        && let Some(added) = own.take_added(open.id)
                    {
                        open.keep(added);
                    }
                    drop(displaced);
                }
                None => {
                    let exited = with_current(|context, recorder| {
                        let added = context.exit_recorded(recorder, open.id);
                        let key = open.hmac_key.is_none().then(|| context.hmac_key.clone());
                        (added, key)
                    });
                    if let Some((added, key)) = exited {
                        if let Some(key) = key {
                            open.hmac_key = Some(key);
                        }
                        if let Some(added) = added {
                            open.keep(added);
                        }
                    }
                }
            }
        }
    }

    /// Takes the span off the context after its last poll and records its stop.
    fn exit_and_finish(&mut self, info: Option<Info>) {
        let State::Open(open) = &mut self.state else {
            return;
        };
        if open.displaced.is_some() {
            self.exit();
            return self.finish(info);
        }
        let Open {
            name,
            base_id,
            id,
            parent_id,
            added: kept,
            ..
        } = open;
        let (base_id, id, parent_id) = (*base_id, *id, *parent_id);
        let mut detail = Some(Detail::from_info(info));
        let stopped = with_current(|context, recorder| {
            let added = context.exit_recorded(recorder, id);
            let detail = with_added(detail.take(), kept.take(), added);
            let what = What::new(Phase::Stop, name, detail);
            recorder.push(base_id, RawEvent::now(id, parent_id, what));
        });
        if stopped.is_none() {
            // The trace left this thread during the poll (`clean` inside the future).
            let what = What::new(Phase::Stop, name, with_added(detail, kept.take(), None));
            record_detached(base_id, RawEvent::now(id, parent_id, what));
        }
        self.state = State::Done;
    }

    /// Records the stop, with `info`, if the span was opened.
    pub(crate) fn finish(&mut self, info: Option<Info>) {
        if let State::Open(open) = std::mem::replace(&mut self.state, State::Done) {
            let detail = with_added(Some(Detail::from_info(info)), open.added, None);
            record_detached(
                open.base_id,
                RawEvent::now(
                    open.id,
                    open.parent_id,
                    What::new(Phase::Stop, &open.name, detail),
                ),
            );
        }
    }
}

/// A stop's detail with what [`add_info`](crate::add_info) added in earlier polls (`kept`)
/// and in the last one (`added`, whose entries win).
#[inline(always)]
fn with_added(
    detail: Option<Detail>,
    kept: Option<Box<Map<String, Value>>>,
    added: Option<Map<String, Value>>,
) -> Detail {
    let detail = detail.unwrap_or(Detail::None);
    if kept.is_none() && added.is_none() {
        return detail;
    }
    merge_added(detail, kept, added)
}

#[cold]
#[inline(never)]
fn merge_added(
    detail: Detail,
    kept: Option<Box<Map<String, Value>>>,
    added: Option<Map<String, Value>>,
) -> Detail {
    let mut all = kept.map(|kept| *kept).unwrap_or_default();
    all.extend(added.unwrap_or_default());
    detail.with_added(all)
}

impl Open {
    /// Keeps what a poll added to the span, over what earlier polls added.
    #[cold]
    fn keep(&mut self, added: Map<String, Value>) {
        match &mut self.added {
            Some(kept) => kept.extend(added),
            None => self.added = Some(Box::new(added)),
        }
    }

    /// Makes a context of the span's own trace current for this poll.
    #[cold]
    fn bring_context(&mut self) {
        let hmac_key = self.hmac_key.clone().unwrap_or_else(|| Arc::from(""));
        let mut slot = Some(Context::carried(
            hmac_key,
            self.base_id,
            self.parent_id,
            self.id,
            self.name.clone(),
        ));
        enter_scope(&mut slot);
        self.displaced = Some(Box::new(slot));
    }
}

/// Leaves the span if the poll unwinds (the flag: the span was entered).
struct ExitOnUnwind<'a>(&'a mut AsyncSpan, bool);

impl Drop for ExitOnUnwind<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.exit();
        }
    }
}

impl Drop for AsyncSpan {
    fn drop(&mut self) {
        // Dropped before completion: cancelled, or unwinding from a panic in a poll.
        self.finish(panic_info());
    }
}

/// The stop of a span traced by [`FutureExt::traced`](crate::FutureExt::traced): no info
/// from the output.
///
/// ```
/// use osprof_core::{FutureExt, Instrumented, NoStopInfo};
///
/// let traced: Instrumented<std::future::Ready<u32>, NoStopInfo<u32>> =
///     std::future::ready(7).traced("seven", None);
/// # let _ = traced;
/// ```
pub type NoStopInfo<T> = fn(&T) -> Option<Value>;

pin_project! {
    /// A future inside a span; made by [`FutureExt::traced`](crate::FutureExt::traced) and
    /// [`FutureExt::traced_with`](crate::FutureExt::traced_with).
    ///
    /// ```
    /// use osprof_core::{FutureExt, Instrumented};
///
/// type StopInfo = fn(&Result<u8, String>) -> Option<serde_json::Value>;
///
/// /// A job kept in a struct with its span, polled later.
/// struct Job<F> {
///     run: Instrumented<F, StopInfo>,
/// }
/// let failure: StopInfo = |result| {
///     result.as_ref().err().map(|error| serde_json::json!({"etype": "job", "message": error}))
/// };
/// let job = Job {
///     run: async { Ok::<u8, String>(1) }.traced_with("job", None, failure),
/// };
/// # let _ = job;
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Instrumented<F, S> {
        #[pin]
        future: F,
        span: AsyncSpan,
        stop: Option<S>,
    }
}

impl<F, S> Instrumented<F, S> {
    pub(crate) fn new(future: F, name: Name, info: Option<Info>, stop: S) -> Self {
        Instrumented {
            future,
            span: AsyncSpan::new(name, Detail::from_info(info)),
            stop: Some(stop),
        }
    }
}

impl<F, S> Future for Instrumented<F, S>
where
    F: Future,
    S: FnOnce(&F::Output) -> Option<Value>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let stop = this.stop;
        this.span.poll_future(
            || this.future.poll(cx),
            |output| stop.take().and_then(|stop| stop(output)).map(Info::Json),
        )
    }
}

//! Async spans: entered on each poll of their future, never held across `.await`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use serde_json::Value;

use super::guard::panic_info;
use super::{any_alive, record_detached, with_current};
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
    Open {
        name: Name,
        base_id: Id,
        id: Id,
        parent_id: Id,
    },
    Done,
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
        struct ExitOnUnwind<'a>(&'a mut AsyncSpan, bool);
        impl Drop for ExitOnUnwind<'_> {
            fn drop(&mut self) {
                if self.1 {
                    self.0.exit();
                }
            }
        }
        let entered = self.enter();
        let _exit = ExitOnUnwind(self, entered);
        poll()
    }

    /// Makes the span current for one poll; true if it must be left with [`exit`](Self::exit).
    pub(crate) fn enter(&mut self) -> bool {
        match &self.state {
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
                    State::Open {
                        id,
                        name,
                        base_id: context.base_id,
                        parent_id,
                    }
                });
                match opened {
                    Some(state) => {
                        self.state = state;
                        true
                    }
                    None => false,
                }
            }
            State::Open { name, id, .. } => with_current(|context, recorder| {
                context.enter_recorded(recorder, *id, name.clone());
            })
            .is_some(),
            State::Done => false,
        }
    }

    /// Takes the span off the context after a poll.
    pub(crate) fn exit(&mut self) {
        if let State::Open { id, .. } = &self.state {
            with_current(|context, recorder| context.exit_recorded(recorder, *id));
        }
    }

    /// Records the stop, with `info`, if the span was opened.
    pub(crate) fn finish(&mut self, info: Option<Info>) {
        if let State::Open {
            name,
            base_id,
            id,
            parent_id,
        } = std::mem::replace(&mut self.state, State::Done)
        {
            record_detached(
                base_id,
                RawEvent::now(
                    id,
                    parent_id,
                    What::new(Phase::Stop, &name, Detail::from_info(info)),
                ),
            );
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
        let poll = this.span.poll_inside(|| this.future.poll(cx));
        if let Poll::Ready(output) = &poll {
            let info = match this.stop.take() {
                Some(stop) if this.span.is_open() => stop(output),
                _ => None,
            };
            this.span.finish(info.map(Info::Json));
        }
        poll
    }
}

//! Handing the current trace to other code: futures, closures, threads and tasks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use serde_json::Value;

use super::{Context, Instrumented, NoStopInfo, THREAD, any_alive, current_copy};
use crate::record::{Info, Name};

/// Runs `f` with `slot` as this thread's context, then puts back what was there and leaves
/// in `slot` whatever `f` made of the context (a span opened, `init`, `clean`).
pub(super) fn enter<R>(slot: &mut Option<Context>, f: impl FnOnce() -> R) -> R {
    struct Restore<'a>(&'a mut Option<Context>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            swap_with_current(self.0);
        }
    }
    if slot.is_none() && !any_alive() {
        // No context exists anywhere, so this thread's slot is empty too: nothing to swap in.
        // One may still be created by `f`; it belongs to `f`'s code, so take it back out.
        let output = f();
        if any_alive() {
            swap_with_current(slot);
        }
        return output;
    }
    swap_with_current(slot);
    let restore = Restore(slot);
    let output = f();
    drop(restore);
    output
}

fn swap_with_current(slot: &mut Option<Context>) {
    // A context out of the slot holds no span back (see `Context::held`).
    super::record_held();
    // Fails only while the thread is being torn down, on both swaps alike.
    let _ = THREAD.try_with(|state| std::mem::swap(&mut state.borrow_mut().current, slot));
}

pin_project! {
    /// A future that runs in its own trace context, whichever thread polls it.
    ///
    /// Made by [`FutureExt::in_current_trace`].
    ///
    /// ```
    /// use osprof_core::{FutureExt, InTrace};
    ///
    /// osprof_core::init("key", None, None);
    /// let task: InTrace<_> = async { osprof_core::is_active() }.in_current_trace();
    /// osprof_core::clean();
    /// // The future took a copy of the trace: it still runs inside it.
    /// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert!(runtime.block_on(task));
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct InTrace<F> {
        #[pin]
        future: F,
        context: Option<Context>,
    }
}

impl<F: Future> Future for InTrace<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        enter(this.context, || future.poll(cx))
    }
}

/// Trace helpers for every future.
///
/// ```
/// use osprof_core::FutureExt;
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// osprof_core::init("key", None, None);
/// // Two concurrent branches, each its own span, both children of the current span.
/// let (users, quota) = tokio::join!(
///     async { 3 }.traced("list_users", None),
///     async { 10 }.traced("get_quota", None),
/// );
/// assert_eq!((users, quota), (3, 10));
/// osprof_core::clean();
/// # });
/// ```
pub trait FutureExt: Future + Sized {
    /// Runs this future in a copy of the current trace context, wherever it is polled.
    ///
    /// Use it on a future handed to an executor (`tokio::spawn`, `join_all`, ...). It also
    /// isolates: a trace the future starts with [`init`](crate::init) stays inside it, so an
    /// executor thread never keeps a context after the poll.
    ///
    /// ```
    /// use osprof_core::FutureExt;
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// let profiler = osprof_core::init("key", None, None);
    /// let seen = tokio::spawn(async { osprof_core::get() }.in_current_trace()).await.unwrap();
    /// assert_eq!(seen.unwrap().base_id(), profiler.base_id());
    /// osprof_core::clean();
    /// # });
    /// ```
    fn in_current_trace(self) -> InTrace<Self> {
        InTrace {
            future: self,
            context: current_copy(),
        }
    }

    /// Wraps this future in a span named `name` that is entered on each poll and stops when
    /// the future completes or is dropped. Spans opened inside become its children.
    ///
    /// ```
    /// use osprof_core::FutureExt;
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// osprof_core::init("key", None, None);
    /// let answer = async { 42 }.traced("compute", None).await;
    /// assert_eq!(answer, 42);
    /// osprof_core::clean();
    /// # });
    /// ```
    fn traced(
        self,
        name: impl Into<Name>,
        info: Option<Value>,
    ) -> Instrumented<Self, NoStopInfo<Self::Output>> {
        let no_info: NoStopInfo<Self::Output> = |_| None;
        Instrumented::new(self, name.into(), info.map(Info::Json), no_info)
    }

    /// Like [`traced`](FutureExt::traced), and when the future completes, `stop` turns its
    /// output into the info of the span's stop payload (a status code, an error).
    ///
    /// ```
    /// use osprof_core::FutureExt;
    ///
    /// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// osprof_core::init("key", None, None);
    /// let status = async { 404 }
    ///     .traced_with("fetch", None, |status| Some(serde_json::json!({"status": status})))
    ///     .await;
    /// assert_eq!(status, 404);
    /// osprof_core::clean();
    /// # });
    /// ```
    fn traced_with<S>(
        self,
        name: impl Into<Name>,
        info: Option<Value>,
        stop: S,
    ) -> Instrumented<Self, S>
    where
        S: FnOnce(&Self::Output) -> Option<Value>,
    {
        Instrumented::new(self, name.into(), info.map(Info::Json), stop)
    }
}

impl<F: Future> FutureExt for F {}

/// Wraps `f` so that it runs in a copy of the current trace context, on whatever thread
/// calls it: the hand-off OSProfiler users write by hand for thread pools.
///
/// ```
/// let profiler = osprof_core::init("key", None, None);
/// let job = osprof_core::carry(|| osprof_core::get().map(|p| p.base_id().to_owned()));
/// let seen = std::thread::spawn(job).join().unwrap();
/// assert_eq!(seen.as_deref(), Some(profiler.base_id()));
/// osprof_core::clean();
/// ```
pub fn carry<F, R>(f: F) -> impl FnOnce() -> R
where
    F: FnOnce() -> R,
{
    let mut context = current_copy();
    move || enter(&mut context, f)
}

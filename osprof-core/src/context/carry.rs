//! Handing the current trace to other code: futures, closures, threads and tasks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
use serde_json::Value;

use super::{Context, Instrumented, NoStopInfo, current_copy, enter_scope, leave_scope};
use crate::record::{Info, Name};

/// Runs `f` with `slot` as this thread's context, then puts back what was there and leaves
/// in `slot` whatever `f` made of the context (a span opened, `init`, `clean`), also when
/// `f` panics.
pub(super) fn enter<R>(slot: &mut Option<Context>, f: impl FnOnce() -> R) -> R {
    struct Restore<'a>(&'a mut Option<Context>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            leave_scope(self.0);
        }
    }
    enter_scope(slot);
    let restore = Restore(slot);
    let output = f();
    drop(restore);
    output
}

pin_project! {
    /// A future that runs in its own trace context, whichever thread polls it.
    ///
    /// Made by [`FutureExt::in_current_trace`] and [`FutureExt::in_new_trace`]. The context
    /// ends when the future completes or is dropped.
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
        let poll = enter(this.context, || future.poll(cx));
        if poll.is_ready() {
            // The trace is this future's: it ends with it.
            *this.context = None;
        }
        poll
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

    /// Runs this future in a trace of its own, started now and ended when the future
    /// completes or is dropped: the scoped form of [`init`](crate::init) and
    /// [`clean`](crate::clean), like `fastrace::Span::root`.
    ///
    /// The trace is `base_id` (a fresh UUID4 when `None` or empty), its first span's parent
    /// `parent_id` (or `base_id`), and downstream calls are signed with `hmac_key`. Nothing
    /// outside the future sees it, whichever executor polls it.
    ///
    /// ```
    /// use osprof_core::{FutureExt, Trace};
    ///
    /// async fn handle() -> String {
    ///     let _span = Trace::new("handle", None);
    ///     osprof_core::get().unwrap().base_id().to_owned()
    /// }
    ///
    /// # let runtime = tokio::runtime::Builder::new_multi_thread().build().unwrap();
    /// # runtime.block_on(async {
    /// let base_id = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
    /// let seen = tokio::spawn(handle().in_new_trace("SECRET_KEY", Some(base_id), None));
    /// assert_eq!(seen.await.unwrap(), base_id);
    /// assert!(osprof_core::get().is_none(), "the trace was the future's alone");
    /// # });
    /// ```
    fn in_new_trace(
        self,
        hmac_key: &str,
        base_id: Option<&str>,
        parent_id: Option<&str>,
    ) -> InTrace<Self> {
        let context = (!cfg!(feature = "disabled")).then(|| {
            super::guard::install_panic_hook();
            Context::start(hmac_key, base_id, parent_id)
        });
        InTrace {
            future: self,
            context,
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

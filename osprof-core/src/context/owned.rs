//! A trace owned by a value (a request, a message) instead of a thread of control.

use serde_json::Value;

use super::carry::enter;
use super::{AsyncSpan, Context};
use crate::record::{Detail, Info, Name};

/// A trace context and its outermost span, carried by the value they belong to.
///
/// An HTTP server layer starts one per signed request, runs the handler's future and each
/// poll of the streamed response body [`in_scope`](OwnedTrace::in_scope), and
/// [`finish`](OwnedTrace::finish)es it when the body ends: the span covers the whole
/// response, and no thread keeps the context between polls. Dropping it unfinished stops
/// the span (with the panic message, when a panic is unwinding).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let names = Arc::new(Mutex::new(Vec::new()));
/// let sink = names.clone();
/// osprof_core::notifier::set(move |event: &serde_json::Value| {
///     sink.lock().unwrap().push(event["name"].as_str().unwrap().to_owned());
/// });
///
/// let mut request = osprof_core::OwnedTrace::start("key", "base", Some("parent"), "wsgi", None);
/// request.in_scope(|| {
///     let _query = osprof_core::Trace::new("db", None);
/// });
/// assert!(osprof_core::get().is_none(), "the thread keeps nothing between scopes");
/// request.finish(None);
///
/// osprof_core::notifier::flush();
/// assert_eq!(*names.lock().unwrap(), ["wsgi-start", "db-start", "db-stop", "wsgi-stop"]);
/// ```
pub struct OwnedTrace {
    context: Option<Context>,
    span: AsyncSpan,
}

impl OwnedTrace {
    /// Joins trace `base_id` under `parent_id` (or under `base_id` when `None` or empty) and
    /// opens the span `name` with `info` in it. `hmac_key` signs downstream calls.
    ///
    /// ```
    /// use osprof_core::OwnedTrace;
    ///
    /// let base_id = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
    /// let mut request = OwnedTrace::start("SECRET_KEY", base_id, None, "wsgi", None);
    /// assert!(osprof_core::get().is_none(), "the trace lives in `request`, not on the thread");
    /// assert_eq!(request.in_scope(|| osprof_core::get().unwrap().base_id().to_owned()), base_id);
    /// request.finish(None);
    /// ```
    pub fn start(
        hmac_key: &str,
        base_id: &str,
        parent_id: Option<&str>,
        name: impl Into<Name>,
        info: Option<Value>,
    ) -> OwnedTrace {
        let context = (!cfg!(feature = "disabled"))
            .then(|| Context::start(hmac_key, Some(base_id), parent_id));
        let mut trace = OwnedTrace {
            context,
            span: AsyncSpan::new(name.into(), Detail::from_info(info.map(Info::Json))),
        };
        // Open the span now, so that its start is the request's start.
        trace.in_scope(|| ());
        trace
    }

    /// Runs `f` with this trace current and its span innermost; spans `f` opens become the
    /// span's children. The thread's own context is back in place when `f` returns.
    ///
    /// ```
    /// use osprof_core::{OwnedTrace, Trace};
    ///
    /// let mut request = OwnedTrace::start("key", "base", None, "wsgi", None);
    /// let (wsgi_span, parent_of_query) = request.in_scope(|| {
    ///     let wsgi_span = osprof_core::get().unwrap().id().to_owned();
    ///     let _query = Trace::new("db", None);
    ///     (wsgi_span, osprof_core::get().unwrap().parent_id().to_owned())
    /// });
    /// assert_eq!(parent_of_query, wsgi_span, "spans opened inside are the span's children");
    /// request.finish(None);
    /// ```
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let span = &mut self.span;
        enter(&mut self.context, || span.poll_inside(f))
    }

    /// Stops the span with `info` merged into its stop payload, and ends the trace.
    ///
    /// ```
    /// let request = osprof_core::OwnedTrace::start("key", "base", None, "wsgi", None);
    /// request.finish(Some(serde_json::json!({"response": {"status_code": 200}})));
    /// ```
    pub fn finish(mut self, info: Option<Value>) {
        self.span.finish(info.map(Info::Json));
    }
}

impl std::fmt::Debug for OwnedTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedTrace")
            .field("open", &self.span.is_open())
            .finish_non_exhaustive()
    }
}

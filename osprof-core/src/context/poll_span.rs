//! `PollSpan`: the span of a hand-written future or stream.

use serde_json::Value;

use super::AsyncSpan;
use crate::record::{Detail, Info, Name};

/// A span for code that implements `Future` or `Stream` by hand: entered for each poll with
/// [`in_scope`](PollSpan::in_scope), stopped by [`finish`](PollSpan::finish) or, if that
/// never happens (the stream was dropped early), when dropped. It opens at its first
/// `in_scope` if a trace is active there, and does nothing otherwise.
///
/// ```
/// use osprof_core::PollSpan;
///
/// osprof_core::init("key", None, None);
/// let mut span = PollSpan::new("db", Some(serde_json::json!({"db": {"statement": "SELECT 1"}})));
/// let rows = span.in_scope(|| 1); // one poll of the query
/// span.finish(Some(serde_json::json!({"db": {"result": {"rows_returned": rows}}})));
/// osprof_core::clean();
/// ```
pub struct PollSpan {
    span: AsyncSpan,
}

impl PollSpan {
    /// A span named `name` with `info` in its start payload, opened at the first poll.
    ///
    /// ```
    /// let span = osprof_core::PollSpan::new("db", Some(serde_json::json!({"db": {"statement": "SELECT 1"}})));
    /// assert!(!span.is_open(), "it opens at its first poll");
    /// ```
    pub fn new(name: impl Into<Name>, info: Option<Value>) -> PollSpan {
        PollSpan {
            span: AsyncSpan::new(name.into(), Detail::from_info(info.map(Info::Json))),
        }
    }

    /// Runs one poll (`f`) inside the span; spans opened in `f` become its children.
    ///
    /// ```
    /// osprof_core::init("key", None, None);
    /// let mut span = osprof_core::PollSpan::new("stream", None);
    /// let parent = span.in_scope(|| osprof_core::get().unwrap().id().to_owned());
    /// let _child = span.in_scope(|| osprof_core::Trace::new("decode", None)); // under `stream`
    /// assert!(span.is_open());
    /// # drop(_child);
    /// span.finish(None);
    /// # let _ = parent;
    /// osprof_core::clean();
    /// ```
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.span.poll_inside(f)
    }

    /// Whether the span opened (a trace was active at its first poll) and has not stopped.
    ///
    /// ```
    /// let mut span = osprof_core::PollSpan::new("db", None);
    /// span.in_scope(|| {});
    /// assert!(!span.is_open(), "no trace was active at its first poll");
    /// ```
    pub fn is_open(&self) -> bool {
        self.span.is_open()
    }

    /// Stops the span with `info` in its stop payload; later calls do nothing.
    ///
    /// ```
    /// osprof_core::init("key", None, None);
    /// let mut span = osprof_core::PollSpan::new("db", None);
    /// span.in_scope(|| {});
    /// span.finish(Some(serde_json::json!({"db": {"result": {"rows_returned": 0}}})));
    /// assert!(!span.is_open());
    /// span.finish(None); // already stopped: does nothing
    /// osprof_core::clean();
    /// ```
    pub fn finish(&mut self, info: Option<Value>) {
        self.span.finish(info.map(Info::Json));
    }
}

impl std::fmt::Debug for PollSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollSpan")
            .field("open", &self.is_open())
            .finish()
    }
}

//! `Profiler`, the view of an active trace, and `TraceSnapshot`, its form for RPC hand-off.

use serde::{Deserialize, Serialize};

/// The state of an active trace at the moment it was read, as OSProfiler's `get()` gives it.
///
/// ```
/// let profiler = osprof_core::init("key", Some("base"), Some("caller"));
/// assert_eq!(profiler.base_id(), "base");
/// assert_eq!(profiler.id(), "caller", "no span open yet: the parent given to init");
/// osprof_core::clean();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profiler {
    hmac_key: String,
    base_id: String,
    parent_id: String,
    id: String,
}

impl Profiler {
    pub(crate) fn new(hmac_key: String, base_id: String, parent_id: String, id: String) -> Self {
        Profiler {
            hmac_key,
            base_id,
            parent_id,
            id,
        }
    }

    /// The id of the whole trace.
    ///
    /// ```
    /// let profiler = osprof_core::init("key", Some("base"), None);
    /// assert_eq!(profiler.base_id(), "base");
    /// osprof_core::clean();
    /// ```
    pub fn base_id(&self) -> &str {
        &self.base_id
    }

    /// The parent of the current span.
    ///
    /// ```
    /// osprof_core::init("key", Some("base"), Some("caller"));
    /// let _span = osprof_core::Trace::new("work", None);
    /// assert_eq!(osprof_core::get().unwrap().parent_id(), "caller");
    /// # drop(_span);
    /// osprof_core::clean();
    /// ```
    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    /// The current span: the innermost open one, or the parent given to `init`.
    ///
    /// ```
    /// osprof_core::init("key", Some("base"), Some("caller"));
    /// let _span = osprof_core::Trace::new("work", None);
    /// let current = osprof_core::get().unwrap();
    /// assert_eq!(current.id().len(), 36, "the open span's fresh UUID");
    /// # drop(_span);
    /// osprof_core::clean();
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key that signs this trace's outgoing headers.
    ///
    /// ```
    /// assert_eq!(osprof_core::init("SECRET_KEY", None, None).hmac_key(), "SECRET_KEY");
    /// osprof_core::clean();
    /// ```
    pub fn hmac_key(&self) -> &str {
        &self.hmac_key
    }

    /// What a callee needs to continue this trace: `{hmac_key, base_id, parent_id}`, where
    /// `parent_id` is the current span.
    ///
    /// ```
    /// let profiler = osprof_core::init("key", Some("base"), Some("parent"));
    /// let snapshot = profiler.snapshot();
    /// assert_eq!(
    ///     serde_json::to_value(&snapshot).unwrap(),
    ///     serde_json::json!({"hmac_key": "key", "base_id": "base", "parent_id": "parent"}),
    /// );
    /// osprof_core::clean();
    /// ```
    pub fn snapshot(&self) -> TraceSnapshot {
        TraceSnapshot {
            hmac_key: self.hmac_key.clone(),
            base_id: self.base_id.clone(),
            parent_id: self.id.clone(),
        }
    }
}

/// A trace handed to other code or another process (OSProfiler's `{hmac_key, base_id, parent_id}`).
///
/// Serialise it into an RPC message; on the other side [`resume`](TraceSnapshot::resume)
/// continues the trace, with new spans as children of `parent_id`.
///
/// ```
/// use osprof_core::TraceSnapshot;
///
/// osprof_core::init("key", Some("base"), None);
/// // Caller: the snapshot travels inside the RPC message.
/// let message = serde_json::to_string(&TraceSnapshot::current().unwrap()).unwrap();
/// osprof_core::clean();
/// // Callee: continues the same trace.
/// let snapshot: TraceSnapshot = serde_json::from_str(&message).unwrap();
/// assert_eq!(snapshot.resume().base_id(), "base");
/// osprof_core::clean();
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSnapshot {
    /// The key that signs the trace's headers downstream.
    pub hmac_key: String,
    /// The id of the whole trace.
    pub base_id: String,
    /// The span the receiving side's spans hang under.
    pub parent_id: String,
}

impl TraceSnapshot {
    /// The snapshot of the current trace, for the message about to be sent; `None` outside
    /// a trace. The same as `osprof_core::get().map(|p| p.snapshot())`.
    ///
    /// ```
    /// use serde_json::{Map, Value};
    ///
    /// osprof_core::init("key", Some("base"), None);
    /// // An RPC request context, as OpenStack services pass it along with each call.
    /// let mut context: Map<String, Value> = Map::new();
    /// if let Some(trace) = osprof_core::TraceSnapshot::current() {
    ///     context.insert("trace_info".into(), serde_json::to_value(trace).unwrap());
    /// }
    /// assert_eq!(context["trace_info"]["base_id"], "base");
    /// osprof_core::clean();
    /// ```
    pub fn current() -> Option<TraceSnapshot> {
        crate::get().map(|profiler| profiler.snapshot())
    }

    /// Continues the trace in this thread of control: `init(hmac_key, base_id, parent_id)`.
    ///
    /// ```
    /// let snapshot: osprof_core::TraceSnapshot = serde_json::from_str(
    ///     r#"{"hmac_key": "key", "base_id": "b", "parent_id": "p"}"#,
    /// ).unwrap();
    /// let profiler = snapshot.resume();
    /// assert_eq!((profiler.base_id(), profiler.id()), ("b", "p"));
    /// osprof_core::clean();
    /// ```
    pub fn resume(&self) -> Profiler {
        crate::init(&self.hmac_key, Some(&self.base_id), Some(&self.parent_id))
    }
}

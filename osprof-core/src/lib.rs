//! Per-request profiling for Rust services, wire-compatible with OpenStack OSProfiler.
//!
//! A request that carries a trace yields one tree of timed spans, across threads, async
//! tasks and processes. With no trace active, instrumentation costs one relaxed load.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use osprof_core::{notifier, Trace};
//!
//! // 1. Choose where events go (once, at start-up).
//! let events = Arc::new(Mutex::new(Vec::new()));
//! let sink = events.clone();
//! notifier::set(move |payload: &serde_json::Value| sink.lock().unwrap().push(payload.clone()));
//!
//! // 2. Start a trace (an HTTP layer does this for signed requests), open spans.
//! let profiler = osprof_core::init("SECRET_KEY", None, None);
//! {
//!     let _request = Trace::new("wsgi", Some(serde_json::json!({"path": "/v2/servers"})));
//!     let _query = Trace::new("db", None);
//! }
//! osprof_core::clean();
//!
//! // 3. Payloads arrive in OSProfiler's format, off the traced thread.
//! notifier::flush();
//! let events = events.lock().unwrap();
//! let names: Vec<_> = events.iter().map(|e| e["name"].as_str().unwrap()).collect();
//! assert_eq!(names, ["wsgi-start", "db-start", "db-stop", "wsgi-stop"]);
//! assert_eq!(events[0]["base_id"], profiler.base_id());
//! assert_eq!(events[1]["parent_id"], events[0]["trace_id"]);
//! ```
//!
//! Async code keeps its trace across `.await` and executor threads: a trace started by
//! [`init`] inside a tokio task belongs to that task, [`FutureExt::in_new_trace`] gives one
//! future a trace of its own, spawned futures take the current trace along with
//! [`FutureExt::in_current_trace`] (or `osprof_core::tokio::spawn`), and
//! [`FutureExt::traced`] traces a future. [`init`] says which code owns a trace.
//!
//! Feature `disabled` compiles every instrumentation point to nothing; feature `tokio` (on
//! by default) makes traces task-owned in tokio tasks and adds the `osprof_core::tokio`
//! hand-off helpers.

#![deny(unsafe_code)] // allowed in `record::ring`, `clock` and `ascii` alone
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod ascii;
#[cfg(feature = "tracing-bridge")]
pub mod bridge;
mod clock;
pub mod config;
mod context;
mod delivery;
pub mod drivers;
mod error;
mod host;
mod id;
pub mod notifier;
mod record;
pub mod report;
pub mod thread;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod web;

pub use context::{
    ContextStats, FutureExt, InTrace, Instrumented, NoStopInfo, OwnedTrace, PollSpan, Profiler,
    Trace, TraceSnapshot, add_info, carry, clean, context_stats, get, init, is_active, start, stop,
};
pub use error::Error;
pub use osprof_macros::{trace, trace_impl};

pub use record::Name;

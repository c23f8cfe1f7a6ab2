//! `Trace`, the span guard, and the panic hook that gives it the panic message.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::Once;

use serde_json::Value;

use crate::record::{Detail, Info, Name};

/// A span that stops when dropped: OSProfiler's `with profiler.Trace(name, info):`.
///
/// When the guard is dropped while its thread unwinds, the stop carries
/// `{"etype": "panic", "message": <the panic message>}`. The guard is neither `Send` nor
/// meant to be held across `.await`; for async code use
/// [`FutureExt::traced`](crate::FutureExt::traced).
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let events = Arc::new(Mutex::new(Vec::new()));
/// let sink = events.clone();
/// osprof_core::notifier::set(move |event: &serde_json::Value| {
///     sink.lock().unwrap().push(event["name"].as_str().unwrap().to_owned());
/// });
/// osprof_core::init("key", None, None);
/// {
///     let _span = osprof_core::Trace::new("compute", None);
/// }
/// osprof_core::clean();
/// osprof_core::notifier::flush();
/// assert_eq!(*events.lock().unwrap(), ["compute-start", "compute-stop"]);
/// ```
#[must_use = "the span stops as soon as the guard is dropped"]
pub struct Trace {
    started: bool,
    _not_send: PhantomData<*const ()>,
}

impl Trace {
    /// Starts a span named `name` (a `&'static str` costs no allocation) with `info` merged
    /// into its start payload. Without an active trace this does nothing.
    ///
    /// ```
    /// osprof_core::init("key", None, None);
    /// for shard in 0..2 {
    ///     // A name built at run time, and info for the start payload.
    ///     let _span = osprof_core::Trace::new(format!("shard-{shard}"), Some(serde_json::json!({"shard": shard})));
    /// }
    /// osprof_core::clean();
    /// ```
    #[inline]
    pub fn new(name: impl Into<Name>, info: Option<Value>) -> Trace {
        // Only the checks are inlined into the caller: the active path stays out of line so
        // that a resting call site keeps a small stack frame and no register spills.
        let started = super::any_alive() && open(name.into(), info);
        Trace {
            started,
            _not_send: PhantomData,
        }
    }
}

/// Opens the span. Inlined into `Trace::new`'s caller, where a static name with no info,
/// the common span, is known as such: the call then passes the name in registers.
#[inline(always)]
fn open(name: Name, info: Option<Value>) -> bool {
    if info.is_none()
        && let Some(static_name) = name.as_static()
    {
        // Both own nothing: forgetting them leaks nothing, and leaves no drop to the caller.
        std::mem::forget(info);
        std::mem::forget(name);
        return open_plain(static_name);
    }
    open_detailed(name, info)
}

#[inline(never)]
fn open_plain(name: &'static str) -> bool {
    super::start_plain(super::Plain::Name(name))
}

#[cold]
#[inline(never)]
fn open_detailed(name: Name, info: Option<Value>) -> bool {
    super::start_span(name, Detail::from_info(info.map(Info::Json)))
}

#[inline(never)]
fn close() {
    if std::thread::panicking() {
        return close_unwinding();
    }
    super::stop_plain();
}

/// Kept apart so that the common `close` needs no stack frame of its own.
#[cold]
#[inline(never)]
fn close_unwinding() {
    super::stop_span(panic_info());
}

impl Drop for Trace {
    #[inline]
    fn drop(&mut self) {
        if self.started {
            close();
        }
    }
}

/// The stop info of a span closed while its thread unwinds.
pub(crate) fn panic_info() -> Option<Info> {
    std::thread::panicking().then(|| Info::Failure {
        etype: "panic".into(),
        message: last_panic_message(),
    })
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains a hook in front of the current panic hook that remembers each thread's last panic
/// message, so spans dropped during unwinding can report it. Installed by the first `init`.
pub(crate) fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    if std::thread::panicking() {
        return;
    }
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info.payload_as_str().unwrap_or("Box<dyn Any>").to_owned();
            let _ = LAST_PANIC.try_with(|last| *last.borrow_mut() = Some(message));
            previous(info);
        }));
    });
}

fn last_panic_message() -> String {
    LAST_PANIC
        .try_with(|last| last.borrow().clone())
        .ok()
        .flatten()
        .unwrap_or_else(|| "panic (message unavailable: the panic hook was replaced)".to_owned())
}

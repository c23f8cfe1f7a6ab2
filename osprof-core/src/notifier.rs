//! The notifier: the process-wide sink that trace events go to, and their delivery.
//!
//! Traced threads only record compact events; a background thread builds the payloads and
//! hands them to the sink in batches. The default sink is a no-op.
//!
//! ```
//! use osprof_core::notifier::{self, DeliveryOptions, Overflow};
//!
//! notifier::configure(DeliveryOptions::default().with_overflow(Overflow::DropNewest));
//! notifier::set(|payload: &serde_json::Value| println!("{payload}"));
//! osprof_core::init("key", None, None);
//! drop(osprof_core::Trace::new("work", None));
//! osprof_core::clean();
//! notifier::flush();
//! assert_eq!(notifier::stats().stored, 2);
//! ```

use std::sync::{Arc, PoisonError, RwLock};

use serde_json::Value;

use crate::Error;
use crate::delivery::PayloadBuilder;
use crate::record::Event;
pub use crate::record::{DeliveryOptions, Overflow};

/// Where trace events go, and where stored traces come back from, as OSProfiler's drivers.
///
/// Only [`notify`](Driver::notify) is required; a closure `Fn(&Value)` is a driver too.
/// Drivers that store traces also answer the read methods.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use osprof_core::notifier::{self, Driver};
///
/// /// Counts payloads.
/// #[derive(Default)]
/// struct Counter(AtomicUsize);
///
/// impl Driver for Counter {
///     fn notify(&self, _payload: &serde_json::Value) -> Result<(), osprof_core::Error> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         Ok(())
///     }
///     fn name(&self) -> &'static str {
///         "counter"
///     }
/// }
///
/// let counter = Arc::new(Counter::default());
/// notifier::set_shared(counter.clone());
/// osprof_core::init("key", None, None);
/// drop(osprof_core::Trace::new("work", None));
/// osprof_core::clean();
/// notifier::flush();
/// assert_eq!(counter.0.load(Ordering::Relaxed), 2, "a start and a stop");
/// ```
pub trait Driver: Send + Sync + 'static {
    /// Takes one payload.
    ///
    /// ```
    /// use osprof_core::notifier::Driver;
    ///
    /// let print = |payload: &serde_json::Value| println!("{payload}");
    /// print.notify(&serde_json::json!({"name": "wsgi-start"})).unwrap();
    /// ```
    fn notify(&self, payload: &Value) -> Result<(), Error>;

    /// Takes a batch of payloads, in the order they happened. Override to pipeline; the
    /// default calls [`notify`](Driver::notify) for each and reports the first error. A batch
    /// that errors is counted as failed in [`stats`].
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use osprof_core::notifier::{self, Batch, Driver};
    ///
    /// /// Takes each batch under one lock, as JSON text.
    /// #[derive(Default)]
    /// struct Lines(Mutex<Vec<String>>);
    ///
    /// impl Driver for Lines {
    ///     fn notify(&self, payload: &serde_json::Value) -> Result<(), osprof_core::Error> {
    ///         self.0.lock().unwrap().push(payload.to_string());
    ///         Ok(())
    ///     }
    ///     fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), osprof_core::Error> {
    ///         let mut lines = self.0.lock().unwrap();
    ///         while let Some(json) = batch.next_json() {
    ///             lines.push(json.to_owned());
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// notifier::set(Lines::default());
    /// ```
    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        let mut outcome = Ok(());
        while let Some(payload) = batch.next() {
            if let Err(error) = self.notify(payload) {
                outcome = outcome.and(Err(error));
            }
        }
        outcome
    }

    /// Pushes out whatever the driver buffers itself; called by [`flush`].
    ///
    /// ```
    /// use std::io::Write;
    /// use std::sync::Mutex;
    /// use osprof_core::notifier::Driver;
    ///
    /// /// Buffers its writes; `notifier::flush` pushes them out.
    /// struct Buffered(Mutex<std::io::BufWriter<std::fs::File>>);
    ///
    /// impl Driver for Buffered {
    ///     fn notify(&self, payload: &serde_json::Value) -> Result<(), osprof_core::Error> {
    ///         writeln!(self.0.lock().unwrap(), "{payload}").map_err(|error| osprof_core::Error::Driver {
    ///             driver: "buffered",
    ///             message: error.to_string(),
    ///         })
    ///     }
    ///     fn flush(&self) -> Result<(), osprof_core::Error> {
    ///         self.0.lock().unwrap().flush().map_err(|error| osprof_core::Error::Driver {
    ///             driver: "buffered",
    ///             message: error.to_string(),
    ///         })
    ///     }
    /// }
    /// # let _ = Buffered;
    /// ```
    fn flush(&self) -> Result<(), Error> {
        Ok(())
    }

    /// The report of one trace, in OSProfiler's format (see [`crate::report`]).
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    /// use osprof_core::notifier;
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-report-{}.jsonl", std::process::id()));
    /// let driver = notifier::try_create(&format!("file://{}", path.display()), &DriverOptions::default()).unwrap();
    /// notifier::set_shared(driver.clone());
    /// let base_id = osprof_core::init("key", None, None).base_id().to_owned();
    /// drop(osprof_core::Trace::new("wsgi", None));
    /// osprof_core::clean();
    /// notifier::flush();
    /// let report = driver.get_report(&base_id).unwrap();
    /// assert_eq!(report["children"][0]["info"]["name"], "wsgi");
    /// // A write-only sink says so.
    /// assert!(notifier::create("", &DriverOptions::default()).get_report(&base_id).is_err());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    fn get_report(&self, base_id: &str) -> Result<crate::report::Report, Error> {
        let _ = base_id;
        Err(self.unsupported("build reports"))
    }

    /// One entry per stored trace with the given fields (default `base_id`, `timestamp`).
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    /// use osprof_core::notifier;
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-list-{}.jsonl", std::process::id()));
    /// let driver = notifier::try_create(&format!("file://{}", path.display()), &DriverOptions::default()).unwrap();
    /// notifier::set_shared(driver.clone());
    /// let base_id = osprof_core::init("key", None, None).base_id().to_owned();
    /// drop(osprof_core::Trace::new("wsgi", None));
    /// osprof_core::clean();
    /// notifier::flush();
    /// let traces = driver.list_traces(&["base_id", "timestamp"]).unwrap();
    /// assert_eq!(traces[0]["base_id"], base_id.as_str());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    fn list_traces(&self, fields: &[&str]) -> Result<Vec<Value>, Error> {
        let _ = fields;
        Err(self.unsupported("list traces"))
    }

    /// The traces that recorded an error.
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    /// use osprof_core::notifier;
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-errors-{}.jsonl", std::process::id()));
    /// let mut options = DriverOptions::default();
    /// options.filter_error_trace = true;
    /// let driver = notifier::try_create(&format!("file://{}", path.display()), &options).unwrap();
    /// notifier::set_shared(driver.clone());
    /// osprof_core::init("key", None, None);
    /// osprof_core::start("db", None);
    /// osprof_core::stop(Some(serde_json::json!({"etype": "IntegrityError", "message": "duplicate key"})));
    /// osprof_core::clean();
    /// notifier::flush();
    /// assert_eq!(driver.list_error_traces().unwrap().len(), 1);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    fn list_error_traces(&self) -> Result<Vec<Value>, Error> {
        Err(self.unsupported("list error traces"))
    }

    /// Whether this driver settles the accounting of the events it is handed: `true` for a
    /// driver that keeps events in a [`RetryQueue`](crate::drivers::RetryQueue) while its
    /// store is away (the queue counts each as held, then stored, dropped or failed), and
    /// that returns `Ok` from [`notify_batch`](Driver::notify_batch). For any other driver,
    /// the events of a batch that returned `Ok` are counted as stored, of one that failed as
    /// failed.
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    ///
    /// let redis = osprof_core::notifier::try_create("redis://127.0.0.1:6379", &DriverOptions::default()).unwrap();
    /// assert!(redis.holds_events());
    /// ```
    fn holds_events(&self) -> bool {
        false
    }

    /// The driver's name, for messages.
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    ///
    /// let driver = osprof_core::notifier::try_create("redis://127.0.0.1:6379", &DriverOptions::default()).unwrap();
    /// assert_eq!(driver.name(), "redis");
    /// ```
    fn name(&self) -> &'static str {
        "custom"
    }

    #[doc(hidden)]
    fn unsupported(&self, operation: &'static str) -> Error {
        Error::Unsupported {
            driver: self.name(),
            operation,
        }
    }
}

impl std::fmt::Debug for dyn Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Driver").field(&self.name()).finish()
    }
}

impl<F> Driver for F
where
    F: Fn(&Value) + Send + Sync + 'static,
{
    fn notify(&self, payload: &Value) -> Result<(), Error> {
        self(payload);
        Ok(())
    }

    fn name(&self) -> &'static str {
        "closure"
    }
}

/// The payloads of one delivery round, handed out one at a time.
///
/// Each payload is built when asked for and is valid until the next call to
/// [`next`](Batch::next): clone it (or serialise it) to keep it.
///
/// ```
/// use std::sync::Mutex;
/// use osprof_core::notifier::{self, Batch, Driver};
///
/// /// Keeps the event names, one lock per batch rather than per payload.
/// #[derive(Default)]
/// struct Names(Mutex<Vec<String>>);
///
/// impl Driver for Names {
///     fn notify(&self, payload: &serde_json::Value) -> Result<(), osprof_core::Error> {
///         self.0.lock().unwrap().push(payload["name"].to_string());
///         Ok(())
///     }
///     fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), osprof_core::Error> {
///         let mut names = self.0.lock().unwrap();
///         while let Some(payload) = batch.next() {
///             names.push(payload["name"].to_string());
///         }
///         Ok(())
///     }
/// }
/// notifier::set(Names::default());
/// ```
pub struct Batch<'a> {
    builder: &'a mut PayloadBuilder,
    events: &'a mut dyn Iterator<Item = Event>,
    remaining: usize,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(
        builder: &'a mut PayloadBuilder,
        events: &'a mut dyn Iterator<Item = Event>,
        len: usize,
    ) -> Self {
        Batch {
            builder,
            events,
            remaining: len,
        }
    }

    /// The next payload, or `None` at the end of the batch.
    ///
    /// ```
    /// use osprof_core::notifier::Batch;
    ///
    /// /// The trace ids of the payloads that carry an error.
    /// fn failed_spans(batch: &mut Batch<'_>) -> Vec<String> {
    ///     let mut failed = Vec::new();
    ///     while let Some(payload) = batch.next() {
    ///         if payload["info"].get("etype").is_some() {
    ///             failed.push(payload["trace_id"].as_str().unwrap_or_default().to_owned());
    ///         }
    ///     }
    ///     failed
    /// }
    /// # let _ = failed_spans;
    /// ```
    #[allow(clippy::should_implement_trait)] // a lending iterator: `Iterator` cannot express it
    pub fn next(&mut self) -> Option<&Value> {
        let event = self.events.next()?;
        self.remaining -= 1;
        Some(self.builder.fill(event))
    }

    /// The next payload as JSON text, or `None` at the end of the batch: exactly what
    /// `serde_json::to_string` makes of the value [`next`](Batch::next) would give, written
    /// straight from the recorded event. Drivers that store text should use this.
    ///
    /// ```
    /// use std::io::Write;
    /// use osprof_core::notifier::Batch;
    ///
    /// /// JSON lines, as a file or socket driver writes them.
    /// fn write_lines(batch: &mut Batch<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    ///     while let Some(json) = batch.next_json() {
    ///         writeln!(out, "{json}")?;
    ///     }
    ///     Ok(())
    /// }
    /// # let _ = write_lines;
    /// ```
    pub fn next_json(&mut self) -> Option<&str> {
        let event = self.events.next()?;
        self.remaining -= 1;
        Some(self.builder.write_json(event))
    }

    /// How many payloads are left.
    ///
    /// ```
    /// use osprof_core::notifier::Batch;
    ///
    /// fn collect(batch: &mut Batch<'_>) -> Vec<serde_json::Value> {
    ///     let mut payloads = Vec::with_capacity(batch.len());
    ///     while let Some(payload) = batch.next() {
    ///         payloads.push(payload.clone());
    ///     }
    ///     payloads
    /// }
    /// # let _ = collect;
    /// ```
    pub fn len(&self) -> usize {
        self.remaining
    }

    /// True when no payload is left.
    ///
    /// ```
    /// use osprof_core::notifier::Batch;
    ///
    /// fn skip_rest(batch: &mut Batch<'_>) {
    ///     while !batch.is_empty() {
    ///         batch.next();
    ///     }
    /// }
    /// # let _ = skip_rest;
    /// ```
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

static SINK: RwLock<Option<Arc<dyn Driver>>> = RwLock::new(None);

/// Makes `driver` the sink for every event delivered from now on.
///
/// Safe to call at any time and from any thread. Events still queued go to the new sink;
/// call [`flush`] first to hand them to the old one.
///
/// ```
/// osprof_core::notifier::set(|payload: &serde_json::Value| println!("{payload}"));
/// ```
pub fn set(driver: impl Driver) {
    set_shared(Arc::new(driver));
}

/// [`set`] for a driver that is shared already.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
/// use osprof_core::notifier;
///
/// let path = std::env::temp_dir().join(format!("osprof-shared-{}.jsonl", std::process::id()));
/// let driver = notifier::create(&format!("file://{}", path.display()), &DriverOptions::default());
/// notifier::set_shared(driver.clone()); // keep a handle to read traces back
/// assert_eq!(driver.name(), "file");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn set_shared(driver: Arc<dyn Driver>) {
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = Some(driver);
}

/// The driver for `connection_string`, chosen by its scheme, as OSProfiler chooses its drivers.
///
/// `file://` is built in; other crates add schemes with
/// [`drivers::register`](crate::drivers::register). An unknown scheme is the error
/// `Driver not found for connection string: <connection string>`; a scheme whose driver
/// this build leaves out is [`Error::NotBuiltIn`], which says how to build it in.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
/// use osprof_core::notifier;
///
/// let error = notifier::try_create("carrier-pigeon://", &DriverOptions::default()).unwrap_err();
/// assert_eq!(error.to_string(), "Driver not found for connection string: carrier-pigeon://");
/// // SQL storage lives in the osprof-sqlx crate.
/// let error = notifier::try_create("postgresql://db/traces", &DriverOptions::default()).unwrap_err();
/// assert!(error.to_string().contains("osprof_sqlx::register_drivers()"), "{error}");
/// ```
pub fn try_create(
    connection_string: &str,
    options: &crate::drivers::DriverOptions,
) -> Result<Arc<dyn Driver>, Error> {
    match crate::drivers::factory_for(connection_string) {
        Some(factory) => factory(connection_string, options),
        None => Err(match crate::drivers::not_built_in(connection_string) {
            Some((scheme, remedy)) => Error::NotBuiltIn { scheme, remedy },
            None => Error::DriverNotFound {
                connection_string: connection_string.to_owned(),
            },
        }),
    }
}

/// [`try_create`] for a service's start-up: a driver that cannot start is logged (through
/// `tracing` at error level, or on standard error when no `tracing` subscriber is set) and
/// replaced by a sink that takes nothing, so that tracing
/// never takes the service down. Every event that sink is given is counted as failed in
/// [`stats`], never as delivered, and a warning repeats the reason every 10 seconds while
/// events arrive.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
/// use osprof_core::notifier;
///
/// let path = std::env::temp_dir().join(format!("osprof-create-{}.jsonl", std::process::id()));
/// let driver = notifier::create(&format!("file://{}", path.display()), &DriverOptions::default());
/// assert_eq!(driver.name(), "file");
/// let fallback = notifier::create("file:///no/such/directory/events.jsonl", &DriverOptions::default());
/// assert_eq!(fallback.name(), "unstarted");
/// # std::fs::remove_file(path).unwrap();
/// ```
pub fn create(connection_string: &str, options: &crate::drivers::DriverOptions) -> Arc<dyn Driver> {
    try_create(connection_string, options).unwrap_or_else(|error| unstarted(&error))
}

/// The sink that stands in for a driver that could not start, once the failure is logged.
pub(crate) fn unstarted(error: &Error) -> Arc<dyn Driver> {
    tracing::error!(%error, "osprof cannot start its driver; trace events will be counted as failed");
    if !tracing::dispatcher::has_been_set() {
        // No subscriber would show the line above: this must not go unseen.
        eprintln!(
            "osprof: cannot start its driver ({error}); trace events will be counted as failed"
        );
    }
    Arc::new(Unstarted {
        reason: error.to_string(),
    })
}

/// What [`create`] returns for a driver that could not start: it takes no event, and says
/// why each time it is given some.
struct Unstarted {
    reason: String,
}

impl Driver for Unstarted {
    fn notify(&self, _payload: &Value) -> Result<(), Error> {
        Err(self.error())
    }

    fn notify_batch(&self, _batch: &mut Batch<'_>) -> Result<(), Error> {
        // No payload is built for a batch that goes nowhere.
        Err(self.error())
    }

    fn name(&self) -> &'static str {
        "unstarted"
    }
}

impl Unstarted {
    fn error(&self) -> Error {
        Error::Driver {
            driver: "unstarted",
            message: format!("the driver could not start ({})", self.reason),
        }
    }
}

/// Puts the default no-op sink back.
///
/// ```
/// use osprof_core::notifier;
///
/// notifier::set(|_: &serde_json::Value| {});
/// notifier::reset();
/// assert_eq!(notifier::get().name(), "no-op");
/// ```
pub fn reset() {
    *SINK.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// The current sink, `None` for the default no-op one.
pub(crate) fn current_sink() -> Option<Arc<dyn Driver>> {
    SINK.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// The current sink, for reading traces back (the no-op sink answers `Unsupported`).
///
/// ```
/// use osprof_core::drivers::DriverOptions;
/// use osprof_core::notifier;
///
/// let path = std::env::temp_dir().join(format!("osprof-get-{}.jsonl", std::process::id()));
/// notifier::set_shared(notifier::create(&format!("file://{}", path.display()), &DriverOptions::default()));
/// let base_id = osprof_core::init("key", None, None).base_id().to_owned();
/// drop(osprof_core::Trace::new("work", None));
/// osprof_core::clean();
/// notifier::flush();
/// let report = notifier::get().get_report(&base_id).unwrap();
/// assert_eq!(report["children"][0]["info"]["name"], "work");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn get() -> Arc<dyn Driver> {
    current_sink().unwrap_or_else(|| Arc::new(Noop))
}

struct Noop;

impl Driver for Noop {
    fn notify(&self, _payload: &Value) -> Result<(), Error> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "no-op"
    }
}

pub(crate) fn flush_driver() {
    let Some(driver) = current_sink() else {
        return;
    };
    // Contained like `notify_batch`: a sink that panics must not kill the delivery thread.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| driver.flush())) {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "osprof's sink failed to flush"),
        Err(_) => tracing::error!("osprof's sink panicked while flushing"),
    }
}

/// Returns once every event recorded (by any thread) before the call has been handed to the
/// sink, and the sink's own [`Driver::flush`] has run.
///
/// Call it before a short-lived program exits. Called from inside a sink it returns at once.
///
/// The start of a span with no info that is still open and has nothing inside it yet is
/// held on its thread (so that the whole span can be handed over as one event when it
/// stops): a flush from that thread hands it over, a flush from another thread does not.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use osprof_core::notifier;
///
/// let names = Arc::new(Mutex::new(Vec::new()));
/// let sink = names.clone();
/// notifier::set(move |payload: &serde_json::Value| sink.lock().unwrap().push(payload["name"].to_string()));
/// osprof_core::init("key", None, None);
/// drop(osprof_core::Trace::new("work", None));
/// osprof_core::clean();
/// notifier::flush(); // before the process exits, or before reading the store
/// assert_eq!(names.lock().unwrap().len(), 2);
/// ```
pub fn flush() {
    crate::delivery::flush();
}

/// What happened to the events recorded since the process started, one accounting identity:
///
/// `recorded == stored + dropped + failed + in_flight`
///
/// exact whenever delivery rests (after [`flush`] returns, with no thread recording); while
/// events move, an event may be counted in two neighbouring stages, never in none. It holds
/// for every sink: a driver that holds events while its store is away counts them as in
/// flight until the store confirms, refuses or they are let go, and a driver that could not
/// start counts every event as failed.
///
/// ```
/// let stats = osprof_core::notifier::stats();
/// assert_eq!(stats.recorded, stats.stored + stats.dropped + stats.failed + stats.in_flight);
/// if stats.dropped + stats.failed > 0 {
///     eprintln!("{} of {} trace events were lost", stats.dropped + stats.failed, stats.recorded);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryStats {
    /// Span starts and stops that traced code recorded. An event still in its thread's
    /// buffer is counted once the delivery thread takes it (`flush` takes them all).
    pub recorded: u64,
    /// Kept for good: confirmed by a store, or accepted by a sink that keeps no queue (a
    /// closure, the file driver; the no-op default sink accepts and keeps nothing).
    pub stored: u64,
    /// Let go on purpose: the recording buffer was full (drop mode, or a blocking wait that
    /// ran out), or a driver's retry queue was full or dropped.
    pub dropped: u64,
    /// Refused: a sink returned an error or panicked, a store rejected the event's content,
    /// or the driver could not start.
    pub failed: u64,
    /// Taken from the recording threads and not yet settled: waiting for the sink, or held
    /// by a driver until its store answers.
    pub in_flight: u64,
}

/// What has happened to recorded events so far.
///
/// ```
/// let stats = osprof_core::notifier::stats();
/// assert_eq!(stats.recorded, 0);
/// ```
pub fn stats() -> DeliveryStats {
    crate::delivery::stats()
}

/// Sets the buffer size and overflow policy (see [`DeliveryOptions`]).
///
/// ```
/// use osprof_core::notifier::{self, DeliveryOptions, Overflow};
///
/// notifier::configure(DeliveryOptions::default().with_overflow(Overflow::DropNewest));
/// # notifier::configure(DeliveryOptions::default());
/// ```
pub fn configure(options: DeliveryOptions) {
    crate::record::set_options(options);
}

/// The options in force.
///
/// ```
/// use osprof_core::notifier::{self, Overflow};
///
/// let options = notifier::options();
/// assert!(options.buffer_capacity >= 2);
/// assert!(matches!(options.overflow, Overflow::Block { .. } | Overflow::DropNewest));
/// ```
pub fn options() -> DeliveryOptions {
    crate::record::current_options()
}

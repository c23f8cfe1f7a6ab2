//! Built-in drivers, and the connection strings that choose them, as in OSProfiler.
//!
//! [`notifier::create`](crate::notifier::create) picks a driver by the scheme of a
//! connection string. `file://` is built in; crates such as `osprof-sqlx` add their schemes
//! with [`register`].
//!
//! ```
//! use osprof_core::drivers::DriverOptions;
//! use osprof_core::notifier;
//!
//! let path = std::env::temp_dir().join(format!("osprof-drivers-{}.jsonl", std::process::id()));
//! let driver = notifier::try_create(&format!("file://{}", path.display()), &DriverOptions::new("nova", "api")).unwrap();
//! notifier::set_shared(driver.clone());
//! osprof_core::init("key", None, None);
//! drop(osprof_core::Trace::new("wsgi", None));
//! osprof_core::clean();
//! notifier::flush();
//! assert_eq!(driver.list_traces(&["base_id"]).unwrap().len(), 1);
//! # std::fs::remove_file(&path).unwrap();
//! ```

#[cfg(feature = "amqp")]
mod amqp;
mod file;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "redis")]
mod redis;
mod retry;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

#[cfg(feature = "amqp")]
pub use amqp::AmqpDriver;
pub use file::FileDriver;
#[cfg(feature = "otlp")]
pub use otlp::OtlpDriver;
#[cfg(feature = "redis")]
pub use redis::RedisDriver;
pub use retry::{Attempt, RetryQueue};

use crate::Error;
use crate::notifier::Driver;

/// What every driver may need besides its connection string: OSProfiler's `[profiler]`
/// options that concern storage, and who is writing.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
///
/// let mut options = DriverOptions::new("cinder", "volume");
/// options.filter_error_trace = true;
/// options.socket_timeout = std::time::Duration::from_millis(500);
/// let driver = osprof_core::notifier::try_create("redis://127.0.0.1:6379", &options).unwrap();
/// assert_eq!(driver.name(), "redis");
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DriverOptions {
    /// Stored with every event as `project` (OpenStack's project name: `nova`, `cinder`).
    pub project: String,
    /// Stored with every event as `service` (`api`, `compute`, ...).
    pub service: String,
    /// Keep an index of traces that contain an error, for `list_error_traces`.
    pub filter_error_trace: bool,
    /// How long a networked driver waits for its server before giving up on a call.
    pub socket_timeout: Duration,
    /// The Redis Sentinel service that `redissentinel://` asks for.
    pub sentinel_service_name: String,
    /// How many events a networked driver keeps for a retry while its server is away;
    /// beyond that, events are dropped and counted in `notifier::stats().dropped`.
    pub retry_capacity: usize,
    /// The broker `messaging://` means (`amqp://` or oslo's `rabbit://` URL); when `None`,
    /// the one in `OSPROF_TRANSPORT_URL`, else `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub transport_url: Option<String>,
    /// How long `messaging://` reads of a report wait for more of the trace's events after
    /// the last one came (OSProfiler's `--idle-timeout`, 1 s by default).
    pub idle_timeout: Duration,
}

impl Default for DriverOptions {
    /// OSProfiler's defaults (a socket timeout of 100 ms, Sentinel service `mymaster`), with
    /// empty project and service names.
    fn default() -> Self {
        DriverOptions {
            project: String::new(),
            service: String::new(),
            filter_error_trace: false,
            socket_timeout: Duration::from_millis(100),
            sentinel_service_name: "mymaster".to_owned(),
            retry_capacity: 65_536,
            transport_url: None,
            idle_timeout: Duration::from_secs(1),
        }
    }
}

impl DriverOptions {
    /// Options for `project`'s `service`, the rest at their defaults.
    ///
    /// ```
    /// let options = osprof_core::drivers::DriverOptions::new("nova", "api");
    /// assert_eq!((options.project.as_str(), options.filter_error_trace), ("nova", false));
    /// ```
    pub fn new(project: impl Into<String>, service: impl Into<String>) -> DriverOptions {
        DriverOptions {
            project: project.into(),
            service: service.into(),
            ..DriverOptions::default()
        }
    }
}

/// Makes a driver from a connection string.
///
/// ```
/// use std::sync::Arc;
/// use osprof_core::drivers::{DriverOptions, Factory};
///
/// let discard: Factory = |_connection_string: &str, _options: &DriverOptions| {
///     Ok(Arc::new(|_: &serde_json::Value| {}))
/// };
/// osprof_core::drivers::register("discard", discard);
/// ```
pub type Factory = fn(&str, &DriverOptions) -> Result<Arc<dyn Driver>, Error>;

/// Schemes registered by other crates, looked up before the built-in ones.
static REGISTERED: RwLock<Vec<(&'static str, Factory)>> = RwLock::new(Vec::new());

/// Makes connection strings that start with `scheme` followed by `:` or `+` (as in
/// `postgresql+psycopg2://`) create their driver with `factory`. A later registration of
/// the same scheme replaces the earlier one.
///
/// ```
/// use std::sync::Arc;
/// use osprof_core::drivers::{DriverOptions, register};
/// use osprof_core::notifier::{self, Driver};
///
/// fn stdout(_: &str, _: &DriverOptions) -> Result<Arc<dyn Driver>, osprof_core::Error> {
///     Ok(Arc::new(|event: &serde_json::Value| println!("{event}")))
/// }
/// register("stdout", stdout);
/// let driver = notifier::try_create("stdout://", &DriverOptions::default()).unwrap();
/// assert_eq!(driver.name(), "closure");
/// ```
pub fn register(scheme: &'static str, factory: Factory) {
    let mut registered = REGISTERED.write().unwrap_or_else(PoisonError::into_inner);
    registered.retain(|(known, _)| *known != scheme);
    registered.push((scheme, factory));
}

/// The factory for `connection_string`'s scheme, if there is one.
pub(crate) fn factory_for(connection_string: &str) -> Option<Factory> {
    let scheme_of = |scheme: &str| {
        connection_string
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('+'))
    };
    let registered = REGISTERED.read().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, factory)) = registered
        .iter()
        .rev()
        .find(|(scheme, _)| scheme_of(scheme))
    {
        return Some(*factory);
    }
    let built_in: &[(&str, Factory)] = &[
        ("file", FileDriver::create),
        #[cfg(feature = "redis")]
        ("redis", RedisDriver::create),
        #[cfg(feature = "redis")]
        ("redissentinel", RedisDriver::create),
        #[cfg(feature = "amqp")]
        ("messaging", AmqpDriver::create),
        #[cfg(feature = "amqp")]
        ("amqp", AmqpDriver::create),
        #[cfg(feature = "otlp")]
        ("otlp", OtlpDriver::create),
    ];
    built_in
        .iter()
        .find(|(scheme, _)| scheme_of(scheme))
        .map(|(_, factory)| *factory)
}

/// The scheme of `connection_string` and how to build its driver in, when osprof has a
/// driver for it that this build leaves out (a disabled feature, a crate not linked).
pub(crate) fn not_built_in(connection_string: &str) -> Option<(&'static str, &'static str)> {
    const KNOWN: &[(&str, &str)] = &[
        ("redis", "enable osprof-core's `redis` feature"),
        ("redissentinel", "enable osprof-core's `redis` feature"),
        ("messaging", "enable osprof-core's `amqp` feature"),
        ("amqp", "enable osprof-core's `amqp` feature"),
        ("otlp", "enable osprof-core's `otlp` feature"),
        (
            "sqlite",
            "add the osprof-sqlx crate and call osprof_sqlx::register_drivers()",
        ),
        (
            "postgresql",
            "add the osprof-sqlx crate and call osprof_sqlx::register_drivers()",
        ),
        (
            "postgres",
            "add the osprof-sqlx crate and call osprof_sqlx::register_drivers()",
        ),
        (
            "mysql",
            "add the osprof-sqlx crate and call osprof_sqlx::register_drivers()",
        ),
    ];
    KNOWN.iter().copied().find(|(scheme, _)| {
        connection_string
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('+'))
    })
}

/// Writes what a store keeps of a payload: its JSON text with `project` and `service`
/// added as its last keys, as OSProfiler's storage drivers add them. For drivers that store
/// text (see [`Batch::next_json`](crate::notifier::Batch::next_json)).
///
/// ```
/// use osprof_core::drivers::{DriverOptions, LineWriter};
///
/// let lines = LineWriter::new(&DriverOptions::new("nova", "api"));
/// let mut line = String::new();
/// lines.push(&mut line, r#"{"name":"wsgi-start"}"#);
/// assert_eq!(line, r#"{"name":"wsgi-start","project":"nova","service":"api"}"#);
/// ```
#[derive(Debug)]
pub struct LineWriter {
    /// `,"project":"…","service":"…"}`.
    line_end: String,
}

impl LineWriter {
    /// The writer for a driver made with `options` (its project and service).
    pub fn new(options: &DriverOptions) -> LineWriter {
        let mut identity = serde_json::Map::new();
        identity.insert("project".into(), options.project.clone().into());
        identity.insert("service".into(), options.service.clone().into());
        let identity = serde_json::Value::Object(identity).to_string();
        LineWriter {
            line_end: format!(",{}", &identity[1..]),
        }
    }

    /// Appends `payload_json` (a non-empty JSON object, as the sink is given) with the
    /// identity keys; no newline.
    pub fn push(&self, out: &mut String, payload_json: &str) {
        out.push_str(&payload_json[..payload_json.len() - 1]);
        out.push_str(&self.line_end);
    }
}

/// `event` cut down to `fields`: what `list_traces` returns for each trace.
///
/// ```
/// use serde_json::json;
///
/// let event = json!({"base_id": "b", "timestamp": "2026-11-22T09:00:00.000000", "name": "wsgi-start"});
/// assert_eq!(
///     osprof_core::drivers::only(&event, &["base_id", "timestamp", "project"]),
///     json!({"base_id": "b", "timestamp": "2026-11-22T09:00:00.000000"}),
/// );
/// ```
pub fn only(event: &serde_json::Value, fields: &[&str]) -> serde_json::Value {
    let mut kept = serde_json::Map::new();
    for field in fields {
        if let Some(value) = event.get(*field) {
            kept.insert((*field).to_owned(), value.clone());
        }
    }
    serde_json::Value::Object(kept)
}

/// The earliest event of each trace (by `timestamp`), in timestamp order: what
/// `list_traces` and `list_error_traces` report per trace.
pub(crate) fn first_of_each_trace(
    events: impl IntoIterator<Item = serde_json::Value>,
) -> Vec<serde_json::Value> {
    let mut first: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    for event in events {
        let (Some(base_id), Some(at)) = (event["base_id"].as_str(), event["timestamp"].as_str())
        else {
            continue;
        };
        if first
            .get(base_id)
            .is_none_or(|known| known["timestamp"].as_str().is_none_or(|known| at < known))
        {
            first.insert(base_id.to_owned(), event);
        }
    }
    let mut events: Vec<serde_json::Value> = first.into_values().collect();
    events.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
    events
}

//! Built-in drivers, and the connection strings that choose them (SPEC §5).
//!
//! [`notifier::create`](crate::notifier::create) picks a driver by the scheme of a
//! connection string. `file://` is built in; crates such as `osprof-sqlx` add their schemes
//! with [`register`].

mod file;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

pub use file::FileDriver;

use crate::Error;
use crate::notifier::Driver;

/// What every driver may need besides its connection string: OSProfiler's `[profiler]`
/// options that concern storage, and who is writing.
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
}

impl Default for DriverOptions {
    /// SPEC §6's defaults, with empty project and service names.
    fn default() -> Self {
        DriverOptions {
            project: String::new(),
            service: String::new(),
            filter_error_trace: false,
            socket_timeout: Duration::from_millis(100),
            sentinel_service_name: "mymaster".to_owned(),
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
    let built_in: [(&str, Factory); 1] = [("file", FileDriver::create)];
    built_in
        .into_iter()
        .find(|(scheme, _)| scheme_of(scheme))
        .map(|(_, factory)| factory)
}

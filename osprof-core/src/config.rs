//! Configuration: OSProfiler's `[profiler]` options, from TOML and `OSPROF_*`
//! environment variables, and `init_from_conf`, which applies them at start-up.
//!
//! ```
//! use osprof_core::config::{self, ProfilerConfig};
//!
//! let conf = ProfilerConfig::from_toml("[profiler]\nenabled = true\ntrace_sql = true\nconnection_string = \"file:///tmp/osprof-config-example.jsonl\"")
//!     .and_then(ProfilerConfig::with_env)
//!     .unwrap();
//! config::init_from_conf(&conf, "nova", "api", None);
//! assert!(config::trace_sql());
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::drivers::DriverOptions;
use crate::{notifier, web};

/// OSProfiler's `[profiler]` options, with its defaults.
///
/// ```
/// let config = osprof_core::config::ProfilerConfig::from_toml(r#"
///     [profiler]
///     enabled = true
///     hmac_keys = "new-key, old-key"
///     connection_string = "redis://127.0.0.1:6379"
/// "#).unwrap();
/// assert_eq!(config.hmac_keys, ["new-key", "old-key"]);
/// assert!(!config.trace_sql);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ProfilerConfig {
    /// Whether this service honours trace headers at all. Default false.
    pub enabled: bool,
    /// Whether SQL queries become `db` spans (OSProfiler's `trace_sqlalchemy`, accepted as an
    /// alias). Default false. Switchable at run time with [`set_trace_sql`].
    pub trace_sql: bool,
    /// Whether outgoing HTTP requests through a traced client become spans and carry trace
    /// headers. Default false. Switchable at run time with [`set_trace_requests`].
    pub trace_requests: bool,
    /// Whether commands through a traced Redis connection (osprof-redis) become `redis`
    /// spans. Default false. Switchable at run time with [`set_trace_redis`].
    pub trace_redis: bool,
    /// The keys that may start a trace here, tried in order (comma-separated in text).
    /// Default `["SECRET_KEY"]`.
    pub hmac_keys: Vec<String>,
    /// Where events go, as a connection string (see [`crate::notifier::try_create`]).
    /// Default `messaging://`.
    pub connection_string: String,
    /// Keep an index of traces with errors. Default false.
    pub filter_error_trace: bool,
    /// How long a networked driver waits for its server. Default 0.1 s.
    pub socket_timeout: Duration,
    /// The Redis Sentinel service name. Default `mymaster`.
    pub sentinel_service_name: String,
    /// Elasticsearch document type (kept for OSProfiler configs). Default `notification`.
    pub es_doc_type: String,
    /// Elasticsearch scroll time (kept for OSProfiler configs). Default `2m`.
    pub es_scroll_time: String,
    /// Elasticsearch scroll size (kept for OSProfiler configs). Default 10000.
    pub es_scroll_size: u64,
    /// What reading ignored, each naming what it ignored and what is known: sections of the
    /// TOML text other than `[profiler]`, and `OSPROF_*` variables that name no option.
    /// Each is also logged through `tracing` as a warning.
    pub warnings: Vec<String>,
}

impl Default for ProfilerConfig {
    fn default() -> Self {
        ProfilerConfig {
            enabled: false,
            trace_sql: false,
            trace_requests: false,
            trace_redis: false,
            hmac_keys: vec!["SECRET_KEY".to_owned()],
            connection_string: "messaging://".to_owned(),
            filter_error_trace: false,
            socket_timeout: Duration::from_millis(100),
            sentinel_service_name: "mymaster".to_owned(),
            es_doc_type: "notification".to_owned(),
            es_scroll_time: "2m".to_owned(),
            es_scroll_size: 10_000,
            warnings: Vec::new(),
        }
    }
}

/// A configuration value that cannot be used, named by its key.
///
/// ```
/// use osprof_core::config::{ConfigError, ProfilerConfig};
///
/// let error = ProfilerConfig::from_toml("[profiler]\nenabeld = true").unwrap_err();
/// assert!(matches!(&error, ConfigError::UnknownKey { key, .. } if key == "profiler.enabeld"));
/// assert!(error.to_string().starts_with("unknown option `profiler.enabeld`"), "{error}");
/// ```
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The text is not TOML.
    #[error("{source_name} is not valid TOML: {message}")]
    Syntax {
        /// The file or variable read.
        source_name: String,
        /// The parser's message, with the line.
        message: String,
    },
    /// A key osprof does not know.
    #[error("unknown option `{key}` in {source_name}; known options: {known}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The file or variable read.
        source_name: String,
        /// The options there are.
        known: String,
    },
    /// A value of the wrong kind or out of range.
    #[error("invalid value {value} for `{key}` in {source_name}: expected {expected}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// The file or variable read.
        source_name: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// The file cannot be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
}

const KEYS: [&str; 13] = [
    "enabled",
    "trace_sql",
    "trace_sqlalchemy",
    "trace_requests",
    "trace_redis",
    "hmac_keys",
    "connection_string",
    "filter_error_trace",
    "socket_timeout",
    "sentinel_service_name",
    "es_doc_type",
    "es_scroll_time",
    "es_scroll_size",
];

/// `OSPROF_*` variables that are not options but are read elsewhere.
const OTHER_VARIABLES: [&str; 1] = ["OSPROF_TRANSPORT_URL"];

/// A value as read: TOML typed, or environment text.
enum Raw<'a> {
    Toml(&'a toml::Value),
    Text(&'a str),
}

impl Raw<'_> {
    fn shown(&self) -> String {
        match self {
            Raw::Toml(value) => value.to_string(),
            Raw::Text(text) => format!("{text:?}"),
        }
    }
}

impl ProfilerConfig {
    /// Reads the `[profiler]` table of a TOML text; missing options keep their defaults.
    ///
    /// ```
    /// let config = osprof_core::config::ProfilerConfig::from_toml(
    ///     r#"
    ///     [profiler]
    ///     enabled = true
    ///     connection_string = "redis://127.0.0.1:6379"
    ///     "#,
    /// )
    /// .unwrap();
    /// assert!(config.enabled);
    /// assert_eq!(config.connection_string, "redis://127.0.0.1:6379");
    /// assert!(!config.trace_sql, "missing options keep their defaults");
    /// ```
    pub fn from_toml(text: &str) -> Result<ProfilerConfig, ConfigError> {
        let mut config = ProfilerConfig::default();
        config.apply_toml(text, "the configuration")?;
        Ok(config)
    }

    /// [`from_toml`](Self::from_toml) on a file.
    ///
    /// ```
    /// use osprof_core::config::{ConfigError, ProfilerConfig};
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-{}.toml", std::process::id()));
    /// std::fs::write(&path, "[profiler]\ntrace_sql = true\n").unwrap();
    /// assert!(ProfilerConfig::from_toml_file(&path).unwrap().trace_sql);
    /// std::fs::remove_file(&path).unwrap();
    ///
    /// let missing = ProfilerConfig::from_toml_file(&path).unwrap_err();
    /// assert!(matches!(missing, ConfigError::Read { .. }));
    /// ```
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<ProfilerConfig, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            message: error.to_string(),
        })?;
        let mut config = ProfilerConfig::default();
        config.apply_toml(&text, &path.display().to_string())?;
        Ok(config)
    }

    /// Overrides options from `OSPROF_<OPTION>` environment variables (`OSPROF_ENABLED=true`,
    /// `OSPROF_HMAC_KEYS=a,b`, `OSPROF_CONNECTION_STRING=redis://...`), and from OSProfiler's
    /// `OSPROFILER_CONNECTION_STRING` when `OSPROF_CONNECTION_STRING` is not set.
    ///
    /// ```
    /// let config = osprof_core::config::ProfilerConfig::default()
    ///     .with_env_vars([("OSPROF_ENABLED", "true"), ("OSPROF_SOCKET_TIMEOUT", "0.5")])
    ///     .unwrap();
    /// assert!(config.enabled);
    /// assert_eq!(config.socket_timeout.as_millis(), 500);
    ///
    /// let error = osprof_core::config::ProfilerConfig::default()
    ///     .with_env_vars([("OSPROF_ENABLED", "yes")])
    ///     .unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "invalid value \"yes\" for `enabled` in OSPROF_ENABLED: expected true or false",
    /// );
    /// ```
    pub fn with_env_vars<I, K, V>(mut self, vars: I) -> Result<ProfilerConfig, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned()))
            .collect();
        if let Some(value) = vars.get("OSPROFILER_CONNECTION_STRING")
            && !vars.contains_key("OSPROF_CONNECTION_STRING")
        {
            self.set(
                "connection_string",
                &Raw::Text(value),
                "OSPROFILER_CONNECTION_STRING",
            )?;
        }
        for (name, value) in &vars {
            let Some(key) = name.strip_prefix("OSPROF_") else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if KEYS.contains(&key.as_str()) {
                self.set(&key, &Raw::Text(value), name)?;
            } else if !OTHER_VARIABLES.contains(&name.as_str()) {
                let known: Vec<String> = KEYS
                    .iter()
                    .map(|key| format!("OSPROF_{}", key.to_ascii_uppercase()))
                    .chain(OTHER_VARIABLES.iter().map(|name| (*name).to_owned()))
                    .collect();
                self.warn(format!(
                    "ignored the environment variable {name}: it names no osprof option (known: {})",
                    known.join(", ")
                ));
            }
        }
        Ok(self)
    }

    /// [`with_env_vars`](Self::with_env_vars) on this process's environment.
    ///
    /// ```
    /// // Options from the file, then `OSPROF_*` variables on top (as a deployment sets them).
    /// let config = osprof_core::config::ProfilerConfig::from_toml("[profiler]\nenabled = false")
    ///     .and_then(|config| config.with_env())
    ///     .unwrap_or_else(|error| panic!("bad profiler configuration: {error}"));
    /// # let _ = config;
    /// ```
    pub fn with_env(self) -> Result<ProfilerConfig, ConfigError> {
        self.with_env_vars(std::env::vars())
    }

    fn apply_toml(&mut self, text: &str, source_name: &str) -> Result<(), ConfigError> {
        let table: toml::Table =
            text.parse()
                .map_err(|error: toml::de::Error| ConfigError::Syntax {
                    source_name: source_name.to_owned(),
                    message: error.to_string(),
                })?;
        for section in table.keys().filter(|key| *key != "profiler") {
            self.warn(format!(
                "ignored `{section}` in {source_name}: osprof reads only the [profiler] table (keys: {})",
                KEYS.join(", ")
            ));
        }
        let Some(profiler) = table.get("profiler") else {
            return Ok(());
        };
        let Some(profiler) = profiler.as_table() else {
            return Err(ConfigError::InvalidValue {
                key: "profiler".into(),
                value: profiler.to_string(),
                source_name: source_name.to_owned(),
                expected: "a table ([profiler])",
            });
        };
        for (key, value) in profiler {
            if !KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    key: format!("profiler.{key}"),
                    source_name: source_name.to_owned(),
                    known: KEYS.join(", "),
                });
            }
            self.set(key, &Raw::Toml(value), source_name)?;
        }
        Ok(())
    }

    fn warn(&mut self, warning: String) {
        tracing::warn!("{warning}");
        self.warnings.push(warning);
    }

    fn set(&mut self, key: &str, raw: &Raw<'_>, source_name: &str) -> Result<(), ConfigError> {
        let invalid = |expected| ConfigError::InvalidValue {
            key: key.to_owned(),
            value: raw.shown(),
            source_name: source_name.to_owned(),
            expected,
        };
        let boolean = || match raw {
            Raw::Toml(value) => value.as_bool().ok_or_else(|| invalid("true or false")),
            Raw::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(invalid("true or false")),
            },
        };
        let text = || match raw {
            Raw::Toml(value) => value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid("a string")),
            Raw::Text(text) => Ok((*text).to_owned()),
        };
        match key {
            "enabled" => self.enabled = boolean()?,
            "trace_sql" | "trace_sqlalchemy" => self.trace_sql = boolean()?,
            "trace_requests" => self.trace_requests = boolean()?,
            "trace_redis" => self.trace_redis = boolean()?,
            "filter_error_trace" => self.filter_error_trace = boolean()?,
            "hmac_keys" => {
                let keys = match raw {
                    Raw::Toml(toml::Value::Array(keys)) => keys
                        .iter()
                        .map(|key| key.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| invalid("a comma-separated string or a list of strings"))?,
                    _ => {
                        web::split_keys(&text().map_err(|_| {
                            invalid("a comma-separated string or a list of strings")
                        })?)
                    }
                };
                // An empty key would let anyone sign a trace: refuse it rather than skip it.
                if keys.is_empty() || keys.iter().any(|key| key.trim().is_empty()) {
                    return Err(invalid("one or more keys, none of them empty"));
                }
                self.hmac_keys = keys;
            }
            "connection_string" => {
                let value = text()?;
                if !value.contains("://") {
                    return Err(invalid(
                        "a connection string such as file:///path or redis://host:6379",
                    ));
                }
                self.connection_string = value;
            }
            "socket_timeout" => {
                let seconds = match raw {
                    Raw::Toml(value) => value.as_float().or(value.as_integer().map(|i| i as f64)),
                    Raw::Text(text) => text.trim().parse::<f64>().ok(),
                };
                // Below a millisecond no server can answer, and every event would be lost.
                self.socket_timeout = seconds
                    .filter(|s| s.is_finite() && *s >= 0.001 && *s <= 3600.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| invalid("seconds, from 0.001 (1 ms) to 3600"))?;
            }
            "sentinel_service_name" => self.sentinel_service_name = text()?,
            "es_doc_type" => self.es_doc_type = text()?,
            "es_scroll_time" => self.es_scroll_time = text()?,
            "es_scroll_size" => {
                let size = match raw {
                    Raw::Toml(value) => value.as_integer().and_then(|i| u64::try_from(i).ok()),
                    Raw::Text(text) => text.trim().parse().ok(),
                };
                self.es_scroll_size = size.ok_or_else(|| invalid("a whole number"))?;
            }
            _ => unreachable!("only known keys reach `set`"),
        }
        Ok(())
    }

    /// The options drivers take, for `project`'s `service`.
    ///
    /// ```
    /// let mut config = osprof_core::config::ProfilerConfig::default();
    /// config.filter_error_trace = true;
    /// let options = config.driver_options("nova", "api");
    /// assert_eq!((options.project.as_str(), options.service.as_str()), ("nova", "api"));
    /// assert!(options.filter_error_trace);
    /// ```
    pub fn driver_options(&self, project: &str, service: &str) -> DriverOptions {
        let mut options = DriverOptions::new(project, service);
        options.filter_error_trace = self.filter_error_trace;
        options.socket_timeout = self.socket_timeout;
        options.sentinel_service_name = self.sentinel_service_name.clone();
        options
    }
}

// A pool or client the user wrapped traces until a configuration says otherwise: the
// wrapping is the opt-in, as OSProfiler's wrapped sessions are.
static TRACE_SQL: AtomicBool = AtomicBool::new(true);
static TRACE_REQUESTS: AtomicBool = AtomicBool::new(true);
static TRACE_REDIS: AtomicBool = AtomicBool::new(true);

/// Switches SQL tracing on or off at run time, for every traced pool in the process.
///
/// ```
/// osprof_core::config::set_trace_sql(true);
/// assert!(osprof_core::config::trace_sql());
/// osprof_core::config::set_trace_sql(false);
/// assert!(!osprof_core::config::trace_sql());
/// ```
pub fn set_trace_sql(enabled: bool) {
    TRACE_SQL.store(enabled, Ordering::Relaxed);
}

/// Whether queries through a traced pool become spans while a trace is active: on until
/// [`set_trace_sql`] or [`init_from_conf`] (which applies the `trace_sql` option, default
/// false, as OSProfiler's `trace_sqlalchemy`) says otherwise.
///
/// ```
/// // What a database integration checks before making a `db` span.
/// let record = osprof_core::config::trace_sql() && osprof_core::is_active();
/// assert!(osprof_core::config::trace_sql(), "a wrapped pool traces by default");
/// assert!(!record, "but only while a trace is active");
/// ```
#[inline]
pub fn trace_sql() -> bool {
    TRACE_SQL.load(Ordering::Relaxed)
}

/// Switches HTTP client tracing (spans and trace headers of outgoing requests) on or off at
/// run time, for every traced client in the process.
///
/// ```
/// osprof_core::config::set_trace_requests(false);
/// assert!(!osprof_core::config::trace_requests());
/// osprof_core::config::set_trace_requests(true);
/// ```
pub fn set_trace_requests(enabled: bool) {
    TRACE_REQUESTS.store(enabled, Ordering::Relaxed);
}

/// Whether outgoing requests through a traced client become spans and carry trace headers
/// while a trace is active: on until [`set_trace_requests`] or [`init_from_conf`] (which
/// applies the `trace_requests` option, default false, as OSProfiler's) says otherwise.
///
/// ```
/// assert!(osprof_core::config::trace_requests(), "a wrapped client traces by default");
/// ```
#[inline]
pub fn trace_requests() -> bool {
    TRACE_REQUESTS.load(Ordering::Relaxed)
}

/// Switches Redis command tracing on or off at run time, for every traced connection in the
/// process.
///
/// ```
/// osprof_core::config::set_trace_redis(false);
/// assert!(!osprof_core::config::trace_redis());
/// osprof_core::config::set_trace_redis(true);
/// ```
pub fn set_trace_redis(enabled: bool) {
    TRACE_REDIS.store(enabled, Ordering::Relaxed);
}

/// Whether commands through a traced Redis connection become spans while a trace is active:
/// on until [`set_trace_redis`] or [`init_from_conf`] (which applies the `trace_redis`
/// option, default false) says otherwise.
///
/// ```
/// assert!(osprof_core::config::trace_redis(), "a wrapped connection traces by default");
/// ```
#[inline]
pub fn trace_redis() -> bool {
    TRACE_REDIS.load(Ordering::Relaxed)
}

/// Applies `config` at start-up, as OSProfiler's `init_from_conf`: when enabled, creates the
/// driver from the connection string (a driver that cannot start is logged and replaced by
/// a sink that counts every event as failed), installs it and enables trace headers with
/// the keys; when not, disables trace headers. Either way it sets the SQL, HTTP client and
/// Redis switches from `trace_sql`, `trace_requests` and `trace_redis`. `host` replaces the machine's hostname in
/// payloads when given (call this before any trace starts).
///
/// Returns what it did, for the service to log: whether a driver could not start and the
/// configuration's warnings are in it, and its `Display` says it all in a few lines.
///
/// ```
/// use osprof_core::config::{self, ProfilerConfig};
///
/// let path = std::env::temp_dir().join(format!("osprof-conf-{}.jsonl", std::process::id()));
/// let mut conf = ProfilerConfig::default();
/// conf.enabled = true;
/// conf.trace_sql = true;
/// conf.connection_string = format!("file://{}", path.display());
/// let startup = config::init_from_conf(&conf, "nova", "api", None);
/// assert!(startup.is_ok(), "{startup}");
/// assert_eq!(startup.to_string(), "osprof: enabled; trace events go to the file driver");
/// assert_eq!(osprof_core::notifier::get().name(), "file");
/// assert!(osprof_core::web::is_enabled(false) && config::trace_sql());
/// # std::fs::remove_file(path).unwrap();
/// ```
pub fn init_from_conf(
    config: &ProfilerConfig,
    project: &str,
    service: &str,
    host: Option<&str>,
) -> Startup {
    set_trace_sql(config.trace_sql);
    set_trace_requests(config.trace_requests);
    set_trace_redis(config.trace_redis);
    let mut startup = Startup {
        driver: None,
        driver_error: None,
        warnings: config.warnings.clone(),
    };
    if !config.enabled {
        web::disable();
        return startup;
    }
    if let Some(host) = host
        && !crate::host::set(host)
    {
        tracing::warn!(
            host,
            "osprof's host name was set before init_from_conf; keeping it"
        );
    }
    let driver = match notifier::try_create(
        &config.connection_string,
        &config.driver_options(project, service),
    ) {
        Ok(driver) => driver,
        Err(error) => {
            let unstarted = notifier::unstarted(&error);
            startup.driver_error = Some(error);
            unstarted
        }
    };
    startup.driver = Some(driver.name());
    notifier::set_shared(driver);
    web::enable(config.hmac_keys.iter().cloned());
    startup
}

/// What [`init_from_conf`] did: print it at start-up, or look at its parts.
///
/// ```
/// use osprof_core::config::{self, ProfilerConfig};
///
/// let mut conf = ProfilerConfig::from_toml("[profiler]\nenabled = true\n[profiller]\n").unwrap();
/// conf.connection_string = "pigeon://loft".into();
/// let startup = config::init_from_conf(&conf, "nova", "api", None);
/// assert!(!startup.is_ok());
/// assert!(startup.driver_error.is_some());
/// println!("{startup}"); // or hand it to your logger
/// assert_eq!(startup.to_string().lines().count(), 2, "{startup}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Startup {
    /// The name of the driver that takes trace events (`unstarted` when it could not
    /// start), or `None` when the configuration does not enable tracing.
    pub driver: Option<&'static str>,
    /// Why the configured driver could not start: every event is then counted as failed.
    pub driver_error: Option<crate::Error>,
    /// The configuration's warnings (see [`ProfilerConfig::warnings`]).
    pub warnings: Vec<String>,
}

impl Startup {
    /// Whether everything configured works: the driver started and nothing was ignored.
    pub fn is_ok(&self) -> bool {
        self.driver_error.is_none() && self.warnings.is_empty()
    }
}

impl std::fmt::Display for Startup {
    /// One line for the state (`osprof: enabled; trace events go to the redis driver`), then
    /// one line per warning.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.driver, &self.driver_error) {
            (None, _) => write!(f, "osprof: disabled; trace headers are ignored")?,
            (Some(_), Some(error)) => write!(
                f,
                "osprof: enabled, but its driver cannot start ({error}); trace events are counted as failed"
            )?,
            (Some(driver), None) => {
                write!(f, "osprof: enabled; trace events go to the {driver} driver")?
            }
        }
        for warning in &self.warnings {
            write!(f, "\nosprof: warning: {warning}")?;
        }
        Ok(())
    }
}

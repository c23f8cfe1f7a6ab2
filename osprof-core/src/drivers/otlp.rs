//! `otlp://`: spans as OTLP over HTTP/protobuf, for Jaeger, Tempo or any OpenTelemetry
//! collector.
//!
//! OSProfiler sends two events per span; OTLP wants one span with both times. The driver
//! pairs each stop with its start by the span's own id (never by "the current span", which
//! is what goes wrong under concurrency), so parents come straight from the events' ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span, Status, span, status,
};
use prost::Message;
use serde_json::Value;
use sha2::Digest;

use super::DriverOptions;
use super::retry::{Attempt, RetryQueue};
use crate::Error;
use crate::delivery::parse_micros;
use crate::notifier::{Batch, Driver};

/// Starts waiting for their stop, at most: a start beyond this is dropped (and counted).
const MAX_OPEN_SPANS: usize = 100_000;
/// Spans per export request.
const SPANS_PER_REQUEST: usize = 4096;

/// A span whose start has arrived and whose stop has not.
#[derive(Debug)]
struct Open {
    event_name: String,
    base_id: String,
    parent_id: String,
    start_nanos: u64,
    info: Value,
}

/// Exports each span, once its stop arrives, to an OTLP/HTTP collector: trace id from
/// `base_id`, span id and parent from the low 64 bits of the span's and the parent's ids,
/// `WSGI_<method>_<path>`, `SQL_<VERB>` and `REQUESTS_<method>_<host>` names, server, client
/// and internal kinds, the start and stop info as attributes, and an error status from
/// `etype`. While the collector is away, finished spans are held (up to
/// `DriverOptions::retry_capacity`) and exported after it returns; beyond that they are
/// dropped and counted.
///
/// ```
/// use osprof_core::drivers::{DriverOptions, OtlpDriver};
///
/// // Any OpenTelemetry collector's OTLP/HTTP receiver; reached on first use.
/// let driver = OtlpDriver::open("otlp://127.0.0.1:4318", &DriverOptions::new("nova", "api")).unwrap();
/// osprof_core::notifier::set(driver);
/// ```
pub struct OtlpDriver {
    endpoint: String,
    agent: ureq::Agent,
    resource: Resource,
    open: Mutex<HashMap<String, Open>>,
    pending: Mutex<RetryQueue<Span>>,
    socket_timeout: Duration,
    /// Set by a failed export: the next attempt first sends an empty request, so that spans
    /// are not sent to a collector that takes requests and answers nothing (to be processed
    /// when it wakes, and then sent again).
    probe_first: AtomicBool,
}

impl std::fmt::Debug for OtlpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpDriver")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl OtlpDriver {
    /// A driver for `otlp://host:port[/path]` (plain HTTP) or `otlp+https://host:port[/path]`;
    /// the path defaults to `/v1/traces`.
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, OtlpDriver};
    ///
    /// let options = DriverOptions::default();
    /// assert!(OtlpDriver::open("otlp+https://collector.example:4318", &options).is_ok());
    /// assert!(OtlpDriver::open("otlp://", &options).is_err(), "no host");
    /// ```
    pub fn open(connection_string: &str, options: &DriverOptions) -> Result<OtlpDriver, Error> {
        let (scheme, rest) = if let Some(rest) = connection_string.strip_prefix("otlp+https://") {
            ("https", rest)
        } else if let Some(rest) = connection_string.strip_prefix("otlp://") {
            ("http", rest)
        } else {
            ("", "")
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, "v1/traces"));
        let endpoint = format!("{scheme}://{authority}/{path}");
        if scheme.is_empty() || authority.is_empty() || authority.contains(char::is_whitespace) {
            return Err(Error::Driver {
                driver: "otlp",
                message: format!(
                    "`{connection_string}` is not an OTLP endpoint; write otlp://host:4318 or otlp+https://host:4318"
                ),
            });
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(true)
            .build()
            .new_agent();
        let mut resource = Resource::default();
        let service = if options.service.is_empty() {
            "osprof"
        } else {
            &options.service
        };
        resource
            .attributes
            .push(attribute("service.name", text(service)));
        if !options.project.is_empty() {
            resource
                .attributes
                .push(attribute("service.namespace", text(&options.project)));
        }
        resource
            .attributes
            .push(attribute("host.name", text(crate::host::name())));
        Ok(OtlpDriver {
            endpoint,
            agent,
            resource,
            socket_timeout: options.socket_timeout,
            probe_first: AtomicBool::new(false),
            open: Mutex::new(HashMap::new()),
            pending: Mutex::new(RetryQueue::new(options.retry_capacity)),
        })
    }

    pub(crate) fn create(
        connection_string: &str,
        options: &DriverOptions,
    ) -> Result<Arc<dyn Driver>, Error> {
        Ok(Arc::new(OtlpDriver::open(connection_string, options)?))
    }

    /// The OTLP/HTTP endpoint spans are posted to.
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, OtlpDriver};
    ///
    /// let driver = OtlpDriver::open("otlp://127.0.0.1:4318", &DriverOptions::default()).unwrap();
    /// assert_eq!(driver.endpoint(), "http://127.0.0.1:4318/v1/traces");
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Takes one event: remembers a start, turns a stop into a finished span.
    fn take(
        &self,
        event: &Value,
        open: &mut HashMap<String, Open>,
        pending: &mut RetryQueue<Span>,
    ) {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        let (Some(name), Some(base_id), Some(trace_id), Some(parent_id)) = (
            field("name"),
            field("base_id"),
            field("trace_id"),
            field("parent_id"),
        ) else {
            return;
        };
        let Some(nanos) = field("timestamp")
            .and_then(parse_micros)
            .map(|micros| micros.max(0) as u64 * 1000)
        else {
            return;
        };
        let info = event.get("info").cloned().unwrap_or(Value::Null);
        if name.ends_with("-stop") {
            let (start, events) = match open.remove(trace_id) {
                Some(start) => {
                    // The start's event, held while it waited, goes on with its span.
                    crate::delivery::count_released(1);
                    (start, 2)
                }
                // A stop whose start was lost: a span of no length.
                None => (
                    Open {
                        event_name: name.replace("-stop", "-start"),
                        base_id: base_id.to_owned(),
                        parent_id: parent_id.to_owned(),
                        start_nanos: nanos,
                        info: Value::Null,
                    },
                    1,
                ),
            };
            pending.push_events(span_of(trace_id, start, nanos, &info), events);
        } else if open.len() < MAX_OPEN_SPANS {
            crate::delivery::count_held(1);
            open.insert(
                trace_id.to_owned(),
                Open {
                    event_name: name.to_owned(),
                    base_id: base_id.to_owned(),
                    parent_id: parent_id.to_owned(),
                    start_nanos: nanos,
                    info,
                },
            );
        } else {
            crate::delivery::count_dropped(1);
        }
    }

    /// Exports what is pending, each attempt within one socket timeout as a whole
    /// (connecting included; see [`Attempt`]); stops at the first failure, keeping the rest.
    /// After a failure the next attempt waits a moment, unless `now` (a flush) asks for one
    /// at once.
    fn export_pending(&self, now: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if !pending.due(now) {
            return;
        }
        let mut attempt = Attempt::new(self.socket_timeout, now);
        while !pending.items().is_empty() {
            let Some(deadline) = attempt.next_batch(&pending) else {
                return;
            };
            if self.probe_first.load(Ordering::Relaxed) {
                if let Err(error) = self.export(Vec::new(), deadline) {
                    return pending.failed("otlp", &error);
                }
                self.probe_first.store(false, Ordering::Relaxed);
                continue;
            }
            let count = pending.items().len().min(SPANS_PER_REQUEST);
            let spans = pending.items().iter().take(count).cloned().collect();
            match self.export(spans, deadline) {
                Ok(()) => pending.written(count),
                Err(error) => {
                    self.probe_first.store(true, Ordering::Relaxed);
                    return pending.failed("otlp", &error);
                }
            }
        }
    }

    /// Sends one export request of `spans`, before `deadline`.
    fn export(&self, spans: Vec<Span>, deadline: Instant) -> Result<(), ureq::Error> {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "osprof".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..InstrumentationScope::default()
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        self.agent
            .post(&self.endpoint)
            .config()
            .timeout_global(Some(deadline.saturating_duration_since(Instant::now())))
            .build()
            .header("content-type", "application/x-protobuf")
            .send(&request.encode_to_vec()[..])
            .map(drop)
    }
}

/// The OTLP span of a start and its stop.
fn span_of(trace_id: &str, start: Open, end_nanos: u64, stop_info: &Value) -> Span {
    let span_name = start
        .event_name
        .strip_suffix("-start")
        .unwrap_or(&start.event_name);
    let request = |field: &str| {
        start.info["request"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let requests = |field: &str| {
        start.info["requests"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (name, kind) = match span_name {
        "wsgi" => (
            format!("WSGI_{}_{}", request("method"), request("path")),
            span::SpanKind::Server,
        ),
        "db" => {
            let statement = start.info["db"]["statement"].as_str().unwrap_or_default();
            let verb = statement
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            (format!("SQL_{verb}"), span::SpanKind::Client)
        }
        "http" | "https" => (
            format!("REQUESTS_{}_{}", requests("method"), requests("hostname")),
            span::SpanKind::Client,
        ),
        other => (other.to_owned(), span::SpanKind::Internal),
    };
    let mut attributes = Vec::new();
    flatten("", &start.info, &mut attributes);
    flatten("", stop_info, &mut attributes);
    let status = stop_info
        .get("etype")
        .filter(|etype| !etype.is_null())
        .map(|etype| Status {
            message: stop_info["message"]
                .as_str()
                .map_or_else(|| etype.to_string(), str::to_owned),
            code: status::StatusCode::Error as i32,
        });
    let base = id_value(&start.base_id);
    let parent = id_value(&start.parent_id);
    Span {
        trace_id: base.to_be_bytes().to_vec(),
        span_id: (id_value(trace_id) as u64).to_be_bytes().to_vec(),
        parent_span_id: if parent == base {
            Vec::new()
        } else {
            (parent as u64).to_be_bytes().to_vec()
        },
        name,
        kind: kind as i32,
        start_time_unix_nano: start.start_nanos,
        end_time_unix_nano: end_nanos.max(start.start_nanos),
        attributes,
        status,
        ..Span::default()
    }
}

/// The 128-bit value of an id: a UUID's own, or a digest of any other text.
fn id_value(text: &str) -> u128 {
    match uuid::Uuid::try_parse(text) {
        Ok(uuid) => uuid.as_u128(),
        Err(_) => {
            let digest = sha2::Sha256::digest(text.as_bytes());
            let mut bytes = [0; 16];
            bytes.copy_from_slice(&digest[..16]);
            u128::from_be_bytes(bytes)
        }
    }
}

/// Info as attributes: nested objects become dotted keys; `host` is the resource's.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<KeyValue>) {
    let Value::Object(fields) = value else {
        return;
    };
    for (key, value) in fields {
        if prefix.is_empty() && key == "host" {
            continue;
        }
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let value = match value {
            Value::Object(_) => {
                flatten(&key, value, out);
                continue;
            }
            Value::Null => continue,
            Value::Bool(flag) => any_value::Value::BoolValue(*flag),
            Value::Number(number) => match number.as_i64() {
                Some(whole) => any_value::Value::IntValue(whole),
                None => any_value::Value::DoubleValue(number.as_f64().unwrap_or_default()),
            },
            Value::String(text) => any_value::Value::StringValue(text.clone()),
            Value::Array(_) => any_value::Value::StringValue(value.to_string()),
        };
        out.push(key_value(key, value));
    }
}

fn text(value: &str) -> any_value::Value {
    any_value::Value::StringValue(value.to_owned())
}

fn attribute(key: &str, value: any_value::Value) -> KeyValue {
    key_value(key.to_owned(), value)
}

fn key_value(key: String, value: any_value::Value) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

impl Driver for OtlpDriver {
    fn notify(&self, payload: &Value) -> Result<(), Error> {
        {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            self.take(payload, &mut open, &mut pending);
        }
        self.export_pending(false);
        Ok(())
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(payload) = batch.next() {
                self.take(payload, &mut open, &mut pending);
            }
        }
        self.export_pending(false);
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        self.export_pending(true);
        Ok(())
    }

    fn holds_events(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "otlp"
    }
}

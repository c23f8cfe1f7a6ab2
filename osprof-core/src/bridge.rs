//! The `tracing` bridge: `tracing` spans and events inside an osprof trace become osprof spans.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! #[tracing::instrument]
//! fn parse(input: &str) -> usize {
//!     input.len()
//! }
//!
//! let subscriber = tracing_subscriber::registry().with(osprof_core::bridge::OsprofLayer::new());
//! tracing::subscriber::set_global_default(subscriber).unwrap();
//! osprof_core::init("key", None, None);
//! parse("[]"); // a `parse` span of the trace
//! osprof_core::clean();
//! ```

use std::sync::Mutex;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::context::{self, AsyncSpan};
use crate::record::{Detail, Info, Name};

/// A `tracing_subscriber` layer that records `tracing` spans (`#[tracing::instrument]`
/// functions in your code and your dependencies) and events (such as sqlx's `sqlx::query`)
/// as osprof spans of the active trace, with their fields as `info.tracing`. Outside an
/// osprof trace it records nothing.
///
/// A span opens at its first enter and stops when it closes; an async span is entered on
/// each poll, like osprof's own, so it keeps its place in the tree across `.await`. An event
/// becomes a span of no length named after its message (`tracing::info!(rows = 1,
/// "loaded")` is `loaded`), or after the field named by
/// [`event_name_field`](OsprofLayer::event_name_field), else after its target; its fields
/// stay in `info.tracing.fields`. sqlx's own `sqlx::query` event of a query made through
/// osprof-sqlx is not recorded: the query's `db` span already says it.
///
/// Which spans and events reach the layer is `tracing_subscriber`'s usual filtering: give
/// the layer a level filter (below, INFO and above) or any other `Filter`.
///
/// ```
/// use tracing_subscriber::Layer;
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let layer = osprof_core::bridge::OsprofLayer::new().with_filter(LevelFilter::INFO);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     osprof_core::init("key", None, None);
///     tracing::info_span!("load", id = 7).in_scope(|| tracing::info!(rows = 1, "loaded"));
///     tracing::debug!("not recorded: below the filter");
///     osprof_core::clean();
/// });
/// ```
#[derive(Debug, Default)]
pub struct OsprofLayer {
    /// The event field whose value names an event's span, before its message.
    event_name_field: Option<&'static str>,
}

impl OsprofLayer {
    /// The layer; add it to a `tracing_subscriber::registry()`.
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let subscriber = tracing_subscriber::registry().with(osprof_core::bridge::OsprofLayer::new());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     osprof_core::init("key", None, None);
    ///     tracing::info_span!("parse").in_scope(|| {}); // an osprof span of this trace
    ///     osprof_core::clean();
    /// });
    /// ```
    pub fn new() -> OsprofLayer {
        OsprofLayer::default()
    }

    /// Names an event's span after the value of its field `field`, when it has one (else
    /// after its message, else its target).
    ///
    /// ```
    /// use tracing_subscriber::layer::SubscriberExt;
    ///
    /// let layer = osprof_core::bridge::OsprofLayer::new().event_name_field("kind");
    /// let subscriber = tracing_subscriber::registry().with(layer);
    /// tracing::subscriber::with_default(subscriber, || {
    ///     osprof_core::init("key", None, None);
    ///     tracing::info!(kind = "cache-miss", key = "user:7", "looked up"); // `cache-miss`
    ///     osprof_core::clean();
    /// });
    /// ```
    #[must_use]
    pub fn event_name_field(mut self, field: &'static str) -> OsprofLayer {
        self.event_name_field = Some(field);
        self
    }

    /// The span name of an event with these fields and target.
    fn event_name(&self, fields: &Map<String, Value>, target: &str) -> String {
        let named = |field: &str| {
            fields
                .get(field)
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        };
        self.event_name_field
            .and_then(named)
            .or_else(|| named("message"))
            .unwrap_or_else(|| target.to_owned())
    }
}

thread_local! {
    /// Set while an event is being recorded on this thread.
    static IN_EVENT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A `tracing` span's osprof span, kept in the span's extensions, with the info its stop
/// will carry (from `#[instrument(err)]` or `#[instrument(ret)]`).
struct Bridged(Mutex<(AsyncSpan, Option<Info>)>);

impl Bridged {
    fn lock(&self) -> std::sync::MutexGuard<'_, (AsyncSpan, Option<Info>)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Collects `tracing` fields as JSON.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
}

/// The stop info of the span an `#[instrument(err)]` or `#[instrument(ret)]` event ends: an
/// ERROR event whose only field is `error` stops it as a failure (`etype` `error`, since
/// `tracing` passes the error's text, not its type), an INFO event whose only field is
/// `return` with its result, as `#[trace(hide_result = false)]` does.
fn stop_info(event: &Event<'_>) -> Option<Info> {
    let mut fields = Fields(Map::new());
    event.record(&mut fields);
    let mut fields = fields.0.into_iter();
    let (name, value) = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    let text = match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    match (name.as_str(), *event.metadata().level()) {
        ("error", tracing::Level::ERROR) => Some(Info::Failure {
            etype: "error".into(),
            message: text,
        }),
        ("return", tracing::Level::INFO) => Some(Info::Result(text)),
        _ => None,
    }
}

fn info(target: &str, fields: Fields) -> Info {
    let mut tracing = Map::new();
    tracing.insert("target".into(), Value::String(target.to_owned()));
    tracing.insert("fields".into(), Value::Object(fields.0));
    let mut info = Map::new();
    info.insert("tracing".into(), Value::Object(tracing));
    Info::Json(Value::Object(info))
}

impl<S> tracing_subscriber::Layer<S> for OsprofLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !context::is_traced() {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = Fields(Map::new());
        attrs.record(&mut fields);
        let metadata = attrs.metadata();
        let name = Name::from(metadata.name());
        let osprof_span = AsyncSpan::new(
            name,
            Detail::from_info(Some(info(metadata.target(), fields))),
        );
        span.extensions_mut()
            .insert(Bridged(Mutex::new((osprof_span, None))));
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(bridged) = span.extensions().get::<Bridged>()
        {
            bridged.lock().0.enter();
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(bridged) = span.extensions().get::<Bridged>()
        {
            bridged.lock().0.exit();
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(bridged) = span.extensions_mut().remove::<Bridged>()
        {
            let (mut osprof_span, stop) = bridged
                .0
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            osprof_span.finish(stop);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // osprof itself may log while recording (a full ring, say): never record that.
        if !context::is_traced() || IN_EVENT.with(|busy| busy.replace(true)) {
            return;
        }
        if let Some(stop) = stop_info(event)
            && let Some(span) = ctx.event_span(event)
            && let Some(bridged) = span.extensions().get::<Bridged>()
        {
            // `#[instrument(err)]` or `(ret)`: the span's outcome, not an event of its own.
            bridged.lock().1 = Some(stop);
            IN_EVENT.with(|busy| busy.set(false));
            return;
        }
        let target = event.metadata().target();
        // sqlx logs each query it ran; inside an osprof-sqlx `db` span that says it again.
        let repeats_a_db_span = target == "sqlx::query" && context::innermost_is("db");
        if !repeats_a_db_span {
            let mut fields = Fields(Map::new());
            event.record(&mut fields);
            let name = Name::from(self.event_name(&fields.0, target));
            if context::start_span(name, Detail::from_info(Some(info(target, fields)))) {
                context::stop_span(None);
            }
        }
        IN_EVENT.with(|busy| busy.set(false));
    }
}

/// A `tracing_subscriber` event formatter that stamps each log line written inside an
/// osprof trace with the trace's ids, for correlating logs with traces: `base_id` (the
/// trace, what `osprof trace show` takes) and `span_id` (the innermost open span, the one the
/// line was logged in). It wraps any [`FormatEvent`]: `tracing_subscriber`'s full, compact,
/// pretty and JSON formats, or your own. A JSON line gets them as its first two keys; a text
/// line starts with `base_id=<uuid> span_id=<uuid> `. Lines outside a trace are left as the
/// wrapped formatter writes them.
///
/// Build it with [`map_event_format`](tracing_subscriber::fmt::Layer::map_event_format), after
/// `.json()` for JSON lines:
///
/// ```
/// use osprof_core::bridge::TraceIds;
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let logs = tracing_subscriber::fmt::layer()
///     .without_time()
///     .map_event_format(TraceIds::new);
/// let subscriber = tracing_subscriber::registry().with(logs);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!("starting"); // ` INFO rust_out: starting`
///     let profiler = osprof_core::init("key", None, None);
///     let _span = osprof_core::Trace::new("request", None);
///     // `base_id=<base_id> span_id=<the request span's id>  INFO rust_out: loaded rows=3`
///     tracing::info!(rows = 3, "loaded");
///     # drop(_span);
///     osprof_core::clean();
/// });
/// ```
///
/// Other logging code reads the same ids from [`get`](crate::get): its
/// [`base_id`](crate::Profiler::base_id) and [`id`](crate::Profiler::id).
#[derive(Clone, Debug, Default)]
pub struct TraceIds<F> {
    inner: F,
}

impl<F> TraceIds<F> {
    /// `inner`, with the ids of the current trace stamped on every line it formats inside one.
    pub fn new(inner: F) -> TraceIds<F> {
        TraceIds { inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for TraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let Some(profiler) = crate::context::get() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let (base_id, span_id) = (profiler.base_id(), profiler.id());
        if writer.has_ansi_escapes() {
            // A terminal's coloured line: JSON is never coloured, so this is text, and
            // writing the ids first keeps the wrapped formatter's colours.
            write!(writer, "base_id={base_id} span_id={span_id} ")?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => {
                // `Value`'s Display writes JSON strings, escaped.
                let (base_id, span_id) = (Value::from(base_id), Value::from(span_id));
                let comma = if rest.trim_start().starts_with('}') {
                    ""
                } else {
                    ","
                };
                write!(
                    writer,
                    "{{\"base_id\":{base_id},\"span_id\":{span_id}{comma}{rest}"
                )
            }
            None => write!(writer, "base_id={base_id} span_id={span_id} {line}"),
        }
    }
}

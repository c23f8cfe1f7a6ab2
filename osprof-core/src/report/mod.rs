//! Reports: OSProfiler's tree of timed spans, built from a trace's stored events.
//!
//! The tree and its envelope are OSProfiler's, so its tools read ours, with two osprof
//! differences: a span keeps its full name (`rpc-call`, not `rpc`), and each node carries
//! exact `started_us`/`finished_us` microseconds beside the millisecond fields.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! let events = Arc::new(Mutex::new(Vec::new()));
//! let sink = events.clone();
//! osprof_core::notifier::set(move |payload: &serde_json::Value| sink.lock().unwrap().push(payload.clone()));
//! osprof_core::init("key", None, None);
//! {
//!     let _request = osprof_core::Trace::new("wsgi", None);
//!     let _query = osprof_core::Trace::new("db", None);
//! }
//! osprof_core::clean();
//! osprof_core::notifier::flush();
//!
//! let report = osprof_core::report::build(events.lock().unwrap().iter().cloned());
//! assert_eq!(report["children"][0]["info"]["name"], "wsgi");
//! assert_eq!(report["children"][0]["children"][0]["info"]["name"], "db");
//! let page = osprof_core::report::to_html(&report); // one self-contained file
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! ```

mod diff;
mod html;
mod json;
mod node;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::{Deref, Range};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde_json::{Map, Value, json};
use smallvec::SmallVec;

use crate::delivery::TimestampReader;
use node::Node;

pub use diff::{Diff, PathDiff, Side, diff};
pub use html::to_html;
pub use json::ParseError;

/// One trace's report: OSProfiler's tree, a JSON value nested one level per span.
///
/// It reads as the [`Value`] it holds (`report["children"][0]["info"]["name"]`), and walks
/// itself without recursion wherever a trace is walked: [`Report::to_json`],
/// [`Report::from_json`], [`to_html`], [`text_tree`] and its own destructor handle a chain of
/// a million nested calls, where `serde_json`'s recursive writer, reader and destructor would
/// overflow the stack. Take the value out with [`Report::into_value`] only for shallow traces.
///
/// A report from [`build`] keeps the events it was given, and its spans as a flat list
/// pointing into them, until it is first read as a value: [`Report::to_json`] and
/// [`to_html`] write from that list directly, and the nested value (about twenty allocations
/// per span) is made only for code that indexes or walks it.
///
/// ```
/// let report = osprof_core::report::build([]);
/// let text = report.to_json(true);
/// assert_eq!(osprof_core::report::Report::from_json(&text).unwrap(), report);
/// assert_eq!(report["info"]["name"], "total");
/// ```
pub struct Report {
    /// The report as a value: set at once for a report read or given as one, else made from
    /// `spans` the first time it is asked for.
    value: OnceLock<Value>,
    /// A built report's spans, until the report is first read as a value.
    spans: Mutex<Option<Spans>>,
}

impl Report {
    /// Reads a report from its JSON text, as [`Report::to_json`] or OSProfiler wrote it.
    ///
    /// # Errors
    /// The text is not JSON; the error says where.
    pub fn from_json(text: &str) -> Result<Report, ParseError> {
        json::parse(text).map(Report::from)
    }

    /// The report as JSON text: compact, or `pretty`, indented by two spaces per level as
    /// `serde_json::to_string_pretty` indents. Indentation stops growing 16 levels down, so
    /// that the text of a deep trace grows with its number of spans, not with its depth squared.
    pub fn to_json(&self, pretty: bool) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out, pretty)
            .expect("writing to memory cannot fail");
        String::from_utf8(out).expect("JSON text is UTF-8")
    }

    /// Writes [`Report::to_json`]'s text to `out`, a piece at a time (wrap files and sockets in
    /// a [`std::io::BufWriter`]).
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn write_json(&self, mut out: impl io::Write, pretty: bool) -> io::Result<()> {
        if self.value.get().is_none() {
            let spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(spans) = spans.as_ref() {
                return spans.write_json(&mut json::Writer::new(&mut out, pretty));
            }
        }
        json::write(self, &mut out, pretty)
    }

    /// The value inside. Dropping it recurses once per level of the tree: keep deep reports
    /// (tens of thousands of levels) as a `Report`.
    pub fn into_value(mut self) -> Value {
        let _ = self.value();
        self.value.take().expect("the value was just made")
    }

    /// Calls `walk` with the report's top spans, read from its spans while it has not been
    /// made into a value (making it costs about as much as building it), else from its value.
    fn with_roots<R>(&self, walk: impl FnOnce(Vec<Node<'_>>) -> R) -> R {
        if self.value.get().is_none() {
            let spans = self.spans.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(spans) = spans.as_ref() {
                return walk(
                    spans
                        .roots
                        .iter()
                        .map(|&root| Node::Span(spans, root))
                        .collect(),
                );
            }
        }
        walk(children_of(self.value()).map(Node::Value).collect())
    }

    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            let spans = self
                .spans
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            spans.map_or(Value::Null, Spans::into_value)
        })
    }
}

impl From<Value> for Report {
    fn from(value: Value) -> Report {
        Report {
            value: OnceLock::from(value),
            spans: Mutex::new(None),
        }
    }
}

impl Deref for Report {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            json::dismantle(value);
        }
    }
}

/// The compact JSON text, as `Value` displays itself.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json(false))
    }
}

/// The compact JSON text.
impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json(false))
    }
}

impl PartialEq for Report {
    fn eq(&self, other: &Report) -> bool {
        self.value() == other.value()
    }
}

impl PartialEq<Value> for Report {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl PartialEq<Report> for Value {
    fn eq(&self, other: &Report) -> bool {
        self == other.value()
    }
}

/// A built report as flat lists: the trace's events as they were given, its spans in order
/// of first appearance, each pointing at its events and at its children, and the envelope's
/// figures. Events are neither copied nor moved while the report is built.
struct Spans {
    events: Vec<Value>,
    spans: Vec<Span>,
    /// Every span's children, one span's after another's (a span's are
    /// `children[span.children]`), each ordered as the report orders them.
    children: Vec<usize>,
    roots: Vec<usize>,
    /// The trace's start: the time of its first event, in µs.
    origin: i64,
    /// The trace's end in ms from its start, `None` for a trace without events.
    finished: Option<i64>,
    last_trace_started: Option<i64>,
    /// Count and total milliseconds per span name, in order of first appearance.
    stats: Vec<(String, i64, i64)>,
}

/// One span, assembled from its start and stop events.
#[derive(Default)]
struct Span {
    /// The span's events, in the order they came; the first gives the span its name, ids and
    /// identity.
    events: SmallVec<[usize; 2]>,
    /// The times of the last start and stop events, in µs.
    started: Option<i64>,
    finished: Option<i64>,
    children: Range<usize>,
}

/// A key of a span's `info` that its events add.
#[derive(Clone, Copy, PartialEq)]
enum Entry {
    /// `meta.raw_payload.<event name>`.
    RawPayload,
    Started,
    Finished,
    Exception,
}

impl Span {
    /// Start and finish in µs from `origin`, the trace's start (a lost start or stop copies
    /// the other).
    fn times(&self, origin: i64) -> (i64, i64) {
        let started = self.started.or(self.finished).unwrap_or(origin);
        let finished = self.finished.or(self.started).unwrap_or(origin);
        (started - origin, finished - origin)
    }

    /// The span's first event.
    fn first(&self) -> usize {
        self.events[0]
    }

    /// The keys of the span's `info` after its name and identity, in the order OSProfiler's
    /// builder first inserts them as it reads the span's events, each with the event it is
    /// read from: a payload (the last event of its name), or the stop event whose
    /// `info.etype` is the exception. The timings' values are the span's times.
    fn entries(&self, events: &[Value]) -> SmallVec<[(Entry, usize); 5]> {
        let mut entries: SmallVec<[(Entry, usize); 5]> = SmallVec::new();
        for &event in &self.events {
            let name = text_field(&events[event], "name");
            // Each key is inserted once and then set again in its place, as in a map.
            let payload = entries.iter_mut().find(|(entry, known)| {
                *entry == Entry::RawPayload && text_field(&events[*known], "name") == name
            });
            match payload {
                Some((_, known)) => *known = event,
                None => entries.push((Entry::RawPayload, event)),
            }
            let timings: &[Entry] = if is_stop(name.unwrap_or_default()) {
                &[Entry::Finished, Entry::Exception]
            } else {
                &[Entry::Started]
            };
            for &timing in timings {
                match entries.iter_mut().find(|(entry, _)| *entry == timing) {
                    Some((_, known)) => *known = event,
                    None => entries.push((timing, event)),
                }
            }
        }
        // Every span's `info` has both timings.
        for entry in [Entry::Started, Entry::Finished] {
            if !entries.iter().any(|(known, _)| *known == entry) {
                entries.push((entry, self.first()));
            }
        }
        entries
    }

    /// The span's last event named `event_name`, if it has one.
    fn event_named(&self, events: &[Value], event_name: &str) -> Option<usize> {
        self.events
            .iter()
            .rev()
            .copied()
            .find(|&event| text_field(&events[event], "name") == Some(event_name))
    }

    /// The error the span's last stop event names: `None` for no stop event, `Some(None)`
    /// for a stop event without one ([`NO_EXCEPTION`]).
    fn exception<'a>(&self, events: &'a [Value]) -> Option<Option<&'a Value>> {
        let stop = self
            .events
            .iter()
            .rev()
            .copied()
            .find(|&event| is_stop(text_field(&events[event], "name").unwrap_or_default()))?;
        Some(field(&events[stop], "info").and_then(|info| field(info, "etype")))
    }
}

/// The `exception` of a span that stopped without an error, as OSProfiler writes it.
const NO_EXCEPTION: &str = "None";

/// Whether an event stops its span; any other event starts it.
fn is_stop(event_name: &str) -> bool {
    event_name.ends_with("stop")
}

/// The identity keys of a span's `info`, after its name.
const IDENTITY: [&str; 3] = ["project", "service", "host"];

/// The fields of an event that a report reads, found in one pass over its keys (an event's
/// handful of keys are compared faster than they are hashed).
#[derive(Default)]
struct Event<'a> {
    name: Option<&'a str>,
    trace_id: Option<&'a str>,
    parent_id: Option<&'a str>,
    timestamp: Option<&'a str>,
    project: Option<&'a Value>,
    service: Option<&'a Value>,
    host: Option<&'a Value>,
    info: Option<&'a Value>,
}

impl<'a> Event<'a> {
    fn of(event: &'a Value) -> Event<'a> {
        let mut fields = Event::default();
        for (key, value) in event.as_object().into_iter().flatten() {
            match key.as_str() {
                "name" => fields.name = value.as_str(),
                "trace_id" => fields.trace_id = value.as_str(),
                "parent_id" => fields.parent_id = value.as_str(),
                "timestamp" => fields.timestamp = value.as_str(),
                "project" => fields.project = Some(value),
                "service" => fields.service = Some(value),
                "host" => fields.host = Some(value),
                "info" => fields.info = Some(value),
                _ => {}
            }
        }
        fields
    }

    /// `project`, `service` and `host`; drivers store the host inside `info`, as
    /// OSProfiler's payloads carry it.
    fn identity(&self) -> [Option<&'a Value>; 3] {
        let host = self.info.and_then(|info| field(info, "host")).or(self.host);
        [self.project, self.service, host]
    }
}

/// An event's `name`, `trace_id`, `parent_id` and `timestamp`, if all four are text: what a
/// span is built from. Reading stops at the last of the four, so the keys after them
/// (OSProfiler's payloads carry `info` last) are not looked at.
fn span_fields(event: &Value) -> Option<[&str; 4]> {
    let mut fields = [None; 4];
    let mut seen = 0;
    for (key, value) in event.as_object()? {
        let slot = match key.as_str() {
            "name" => 0,
            "trace_id" => 1,
            "parent_id" => 2,
            "timestamp" => 3,
            _ => continue,
        };
        fields[slot] = Some(value.as_str()?);
        seen += 1;
        if seen == fields.len() {
            break;
        }
    }
    let [Some(name), Some(trace_id), Some(parent_id), Some(at)] = fields else {
        return None;
    };
    Some([name, trace_id, parent_id, at])
}

/// A field of an object. Its keys are compared in order, which is faster than hashing for
/// an event's handful of keys, and fastest for `name`, which events carry first.
fn field<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.iter()
        .find(|(known, _)| known.as_str() == key)
        .map(|(_, value)| value)
}

/// A text field of an event (see [`field`]).
fn text_field<'a>(event: &'a Value, key: &str) -> Option<&'a str> {
    field(event, key).and_then(Value::as_str)
}

/// Builds the report of one trace from its events, in any order (events that lack a
/// `name`, `trace_id`, `parent_id` or a valid `timestamp` are skipped).
///
/// ```
/// use serde_json::json;
///
/// let event = |name: &str, at: &str| json!({
///     "name": name, "base_id": "b", "trace_id": "t", "parent_id": "b", "project": "nova",
///     "service": "api", "host": "node-1", "timestamp": at,
/// });
/// let report = osprof_core::report::build([
///     event("rpc-call-start", "2026-11-22T10:00:00.000100"),
///     event("rpc-call-stop", "2026-11-22T10:00:00.002600"),
/// ]);
/// assert_eq!(report["info"]["finished"], 2);
/// assert_eq!(report["children"][0]["info"]["name"], "rpc-call");
/// assert_eq!(report["children"][0]["info"]["finished_us"], 2500);
/// assert_eq!(report["stats"], json!({"rpc-call": {"count": 1, "duration": 2}}));
/// ```
pub fn build<I>(events: I) -> Report
where
    I: IntoIterator<Item = Value>,
{
    // Collecting a `Vec` takes it as it is, without copying; spans point into it.
    let events: Vec<Value> = events.into_iter().collect();
    // Most spans have a start and a stop event.
    let mut spans: Vec<Span> = Vec::with_capacity(events.len() / 2);
    // Each span's name and parent's id, read from its first event.
    let mut names_and_parents: Vec<(&str, &str)> = Vec::with_capacity(events.len() / 2);
    let mut index: HashMap<&str, usize, FastHash> =
        HashMap::with_capacity_and_hasher(events.len() / 2, FastHash::default());
    let (mut first, mut last, mut last_started) = (None::<i64>, None::<i64>, None::<i64>);
    let mut timestamps = TimestampReader::default();
    let mut last_span: Option<(&str, usize)> = None;
    for (at_event, event) in events.iter().enumerate() {
        let Some([name, trace_id, parent_id, at]) = span_fields(event) else {
            continue;
        };
        let Some(at) = timestamps.parse(at) else {
            continue;
        };
        // A leaf span's stop mostly follows its start: no lookup for it.
        let slot = match last_span {
            Some((id, slot)) if id == trace_id => slot,
            _ => *index.entry(trace_id).or_insert_with(|| {
                names_and_parents.push((span_name(name), parent_id));
                spans.push(Span::default());
                spans.len() - 1
            }),
        };
        last_span = Some((trace_id, slot));
        let span = &mut spans[slot];
        span.events.push(at_event);
        if is_stop(name) {
            span.finished = Some(at);
        } else {
            span.started = Some(at);
            last_started = last_started.max(Some(at));
        }
        first = Some(first.map_or(at, |first| first.min(at)));
        last = last.max(Some(at));
    }

    let origin = first.unwrap_or(0);
    let mut stats: Vec<(String, i64, i64)> = Vec::new();
    let mut stat_of: HashMap<&str, usize, FastHash> = HashMap::default();
    for (span, (name, _)) in spans.iter().zip(&names_and_parents) {
        let stat = *stat_of.entry(name).or_insert_with(|| {
            stats.push(((*name).to_owned(), 0, 0));
            stats.len() - 1
        });
        stats[stat].1 += 1;
        let (started, finished) = span.times(origin);
        stats[stat].2 += millis(finished) - millis(started);
    }
    drop(stat_of);

    // Spans whose parent is not a span are roots. Children are laid out one parent's after
    // another's; children and roots are ordered by start in whole milliseconds, ties in order
    // of first appearance, as OSProfiler's builder orders them (so that both give the same
    // report; the HTML page orders siblings by their µs). The parents are collected into
    // the memory of the list they are read from; siblings mostly follow one another, so
    // their parent is looked up once.
    let mut last_parent: Option<(&str, Option<usize>)> = None;
    let parents: Vec<Option<usize>> = names_and_parents
        .into_iter()
        .enumerate()
        .map(|(slot, (_, parent_id))| {
            let parent = match last_parent {
                Some((id, parent)) if id == parent_id => parent,
                _ => index.get(parent_id).copied(),
            };
            last_parent = Some((parent_id, parent));
            parent.filter(|&parent| parent != slot)
        })
        .collect();
    drop(index);
    // Each span's range of `children` starts empty where its children will be, and grows
    // to cover them as they are put in.
    for &parent in parents.iter().flatten() {
        spans[parent].children.end += 1;
    }
    let mut start = 0;
    for span in &mut spans {
        let count = span.children.end;
        span.children = start..start;
        start += count;
    }
    let mut children = vec![0; start];
    let mut roots = Vec::new();
    for (slot, parent) in parents.into_iter().enumerate() {
        match parent {
            Some(parent) => {
                let range = &mut spans[parent].children;
                children[range.end] = slot;
                range.end += 1;
            }
            None => roots.push(slot),
        }
    }
    let started = |slot: &usize| millis(spans[*slot].times(origin).0);
    for span in &spans {
        children[span.children.clone()].sort_by_key(started);
    }
    roots.sort_by_key(started);

    Report {
        value: OnceLock::new(),
        spans: Mutex::new(Some(Spans {
            events,
            spans,
            children,
            roots,
            origin,
            finished: first.map(|first| millis(last.unwrap_or(first) - first)),
            last_trace_started: last_started.map(|at| millis(at - origin)),
            stats,
        })),
    }
}

/// The hasher of the maps keyed by span ids and names: seeded per process like the
/// standard one, and several times faster on short keys.
type FastHash = foldhash::fast::RandomState;

impl Spans {
    /// The fields of a span's first event.
    fn first(&self, slot: usize) -> Event<'_> {
        Event::of(&self.events[self.spans[slot].first()])
    }

    /// A span's name: its first event's name without `-start`/`-stop`.
    fn name(&self, slot: usize) -> &str {
        let first = &self.events[self.spans[slot].first()];
        span_name(text_field(first, "name").unwrap_or_default())
    }

    /// A span's start and finish in µs from the trace's start.
    fn times(&self, slot: usize) -> (i64, i64) {
        self.spans[slot].times(self.origin)
    }

    fn children(&self, slot: usize) -> &[usize] {
        &self.children[self.spans[slot].children.clone()]
    }

    /// The key of an entry in `info`.
    fn key(&self, entry: Entry, event: usize) -> Cow<'static, str> {
        match entry {
            Entry::RawPayload => {
                let event_name = text_field(&self.events[event], "name").unwrap_or_default();
                format!("meta.raw_payload.{event_name}").into()
            }
            Entry::Started => "started".into(),
            Entry::Finished => "finished".into(),
            Entry::Exception => "exception".into(),
        }
    }

    /// The envelope's `info`.
    fn header(&self) -> Value {
        json!({
            "name": "total",
            "started": 0,
            "finished": self.finished,
            "last_trace_started": self.last_trace_started,
        })
    }

    /// The report as one value, built bottom-up without recursion so that a deep trace cannot
    /// overflow the stack. The events' payloads are moved into it.
    fn into_value(mut self) -> Value {
        let mut order = Vec::with_capacity(self.spans.len());
        let mut pending = self.roots.clone();
        while let Some(slot) = pending.pop() {
            order.push(slot);
            pending.extend(self.children(slot));
        }
        let mut built: Vec<Option<Value>> = vec![None; self.spans.len()];
        for &slot in order.iter().rev() {
            let children: Vec<Value> = self
                .children(slot)
                .iter()
                .map(|kid| built[*kid].take().expect("children are built first"))
                .collect();
            // Moved in, not through `json!`, which would deep-copy every subtree once per level.
            let mut node = Map::with_capacity(4);
            let first = self.first(slot);
            let ids = [first.trace_id, first.parent_id].map(|id| id.unwrap_or_default().to_owned());
            let info = self.info(slot);
            let [trace_id, parent_id] = ids;
            node.insert("info".into(), Value::Object(info));
            node.insert("trace_id".into(), trace_id.into());
            node.insert("parent_id".into(), parent_id.into());
            node.insert("children".into(), Value::Array(children));
            built[slot] = Some(Value::Object(node));
        }
        let children = self
            .roots
            .iter()
            .map(|root| built[*root].take().expect("roots are built"))
            .collect();
        let mut report = Map::with_capacity(3);
        report.insert("info".into(), self.header());
        report.insert("children".into(), Value::Array(children));
        report.insert("stats".into(), self.stats_value());
        Value::Object(report)
    }

    /// A span's `info`: its name and identity, its entries, then its exact times. The
    /// payloads are moved out of the events, so each span's is made once.
    fn info(&mut self, slot: usize) -> Map<String, Value> {
        let span = &self.spans[slot];
        let times = span.times(self.origin);
        let entries = span.entries(&self.events);
        let mut info = Map::with_capacity(entries.len() + 6);
        info.insert("name".into(), self.name(slot).into());
        let identity = self.first(slot).identity();
        for (key, value) in IDENTITY.into_iter().zip(identity) {
            info.insert(key.into(), value.cloned().unwrap_or(Value::Null));
        }
        // Read before the payloads it is in are moved.
        let mut exception = span
            .exception(&self.events)
            .map(|etype| etype.cloned().unwrap_or_else(|| NO_EXCEPTION.into()));
        let keys: SmallVec<[Cow<'static, str>; 5]> = entries
            .iter()
            .map(|&(entry, event)| self.key(entry, event))
            .collect();
        for (key, (entry, event)) in keys.into_iter().zip(entries) {
            let value = match entry {
                Entry::RawPayload => std::mem::take(&mut self.events[event]),
                Entry::Started => Value::from(millis(times.0)),
                Entry::Finished => Value::from(millis(times.1)),
                // A span's entries hold at most one exception.
                Entry::Exception => exception.take().unwrap_or_default(),
            };
            info.insert(key.into_owned(), value);
        }
        info.insert("started_us".into(), Value::from(times.0));
        info.insert("finished_us".into(), Value::from(times.1));
        info
    }

    fn stats_value(&self) -> Value {
        let stats: Map<String, Value> = self
            .stats
            .iter()
            .map(|(name, count, duration)| {
                (name.clone(), json!({"count": count, "duration": duration}))
            })
            .collect();
        Value::Object(stats)
    }

    /// Writes the text [`Spans::into_value`]'s value would be written as, without making it.
    fn write_json<W: io::Write>(&self, out: &mut json::Writer<W>) -> io::Result<()> {
        out.open(b'{')?;
        out.key("info")?;
        out.value(&self.header())?;
        out.key("children")?;
        out.open(b'[')?;
        // The children still to write at each open level; no recursion, a trace can be a
        // million calls deep.
        let mut pending: Vec<std::slice::Iter<'_, usize>> = vec![self.roots.iter()];
        while let Some(level) = pending.last_mut() {
            let Some(&slot) = level.next() else {
                pending.pop();
                out.close(b']')?;
                if !pending.is_empty() {
                    out.close(b'}')?;
                }
                continue;
            };
            out.item()?;
            out.open(b'{')?;
            out.key("info")?;
            let first = self.first(slot);
            self.write_info(slot, &first, out)?;
            out.key("trace_id")?;
            out.text(first.trace_id.unwrap_or_default())?;
            out.key("parent_id")?;
            out.text(first.parent_id.unwrap_or_default())?;
            out.key("children")?;
            out.open(b'[')?;
            pending.push(self.children(slot).iter());
        }
        out.key("stats")?;
        out.value(&self.stats_value())?;
        out.close(b'}')
    }

    /// Writes [`Spans::info`]'s object without making it; `first` holds the fields of the
    /// span's first event.
    fn write_info<W: io::Write>(
        &self,
        slot: usize,
        first: &Event<'_>,
        out: &mut json::Writer<W>,
    ) -> io::Result<()> {
        let span = &self.spans[slot];
        let times = span.times(self.origin);
        out.open(b'{')?;
        out.key("name")?;
        out.text(span_name(first.name.unwrap_or_default()))?;
        for (key, value) in IDENTITY.into_iter().zip(first.identity()) {
            out.key(key)?;
            out.value(value.unwrap_or(&Value::Null))?;
        }
        for (entry, event) in span.entries(&self.events) {
            out.key(&self.key(entry, event))?;
            match entry {
                Entry::RawPayload => out.value(&self.events[event])?,
                Entry::Started => out.number(millis(times.0))?,
                Entry::Finished => out.number(millis(times.1))?,
                Entry::Exception => match span.exception(&self.events).flatten() {
                    Some(etype) => out.value(etype)?,
                    None => out.text(NO_EXCEPTION)?,
                },
            }
        }
        out.key("started_us")?;
        out.number(times.0)?;
        out.key("finished_us")?;
        out.number(times.1)?;
        out.close(b'}')
    }
}

/// The span's name: the event name without its `-start`/`-stop` suffix, kept whole.
fn span_name(event_name: &str) -> &str {
    event_name
        .strip_suffix("-start")
        .or_else(|| event_name.strip_suffix("-stop"))
        .unwrap_or(event_name)
}

/// Whole milliseconds, truncated as OSProfiler does.
fn millis(micros: i64) -> i64 {
    micros / 1000
}

/// Levels of indentation in [`text_tree`]; deeper spans are drawn there, marked with depth.
const MAX_TEXT_INDENT: usize = 32;

/// Draws a report as an indented text tree, one span per line with its duration and
/// where it ran: a quick look in a terminal. Spans more than 32 levels down are indented as
/// the 32nd level and start with their depth in brackets (`[40] db ...`).
///
/// ```
/// use serde_json::json;
///
/// let event = |name: &str, trace_id: &str, parent_id: &str, at: &str| json!({
///     "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
///     "service": "api", "host": "node-1", "timestamp": format!("2026-11-22T10:00:00.{at}"),
/// });
/// let report = osprof_core::report::build([
///     event("wsgi-start", "w", "b", "000000"),
///     event("db-start", "d", "w", "001000"),
///     event("db-stop", "d", "w", "003500"),
///     event("wsgi-stop", "w", "b", "004000"),
/// ]);
/// assert_eq!(
///     osprof_core::report::text_tree(&report),
///     "wsgi  4.000 ms  (api@node-1)\n  db  2.500 ms  (api@node-1)\n",
/// );
/// ```
pub fn text_tree(report: &Value) -> String {
    let mut out = String::new();
    let mut stack: Vec<(&Value, usize)> = children_of(report).rev().map(|n| (n, 0)).collect();
    while let Some((node, depth)) = stack.pop() {
        let info = &node["info"];
        let field = |name: &str| info[name].as_str().unwrap_or_default();
        let micros =
            info["finished_us"].as_i64().unwrap_or(0) - info["started_us"].as_i64().unwrap_or(0);
        // Indentation stops at MAX_TEXT_INDENT levels; deeper lines say their depth.
        out.push_str(&"  ".repeat(depth.min(MAX_TEXT_INDENT)));
        if depth > MAX_TEXT_INDENT {
            out.push_str(&format!("[{depth}] "));
        }
        let place = Node::Value(node).place();
        out.push_str(&format!(
            "{}  {}.{:03} ms  ({place})",
            field("name"),
            micros / 1000,
            micros % 1000,
        ));
        if let Some(exception) = info["exception"].as_str().filter(|e| *e != NO_EXCEPTION) {
            out.push_str(&format!("  error: {exception}"));
        }
        out.push('\n');
        stack.extend(children_of(node).rev().map(|kid| (kid, depth + 1)));
    }
    out
}

/// The trace as collapsed stacks for flame graphs (inferno, `flamegraph.pl`, speedscope):
/// one line per stack, `root;child;leaf <µs>`, with the leaf's own time (see [`own_time`]).
/// A frame is the span's function path when it is a traced function, else its
/// name; `;` in a frame becomes `,` and line breaks spaces. Equal stacks are added up, in
/// order of first appearance.
///
/// ```
/// use serde_json::json;
///
/// let event = |name: &str, trace_id: &str, parent_id: &str, at: &str| json!({
///     "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
///     "timestamp": format!("2026-11-22T10:00:00.{at}"),
/// });
/// let report = osprof_core::report::build([
///     event("wsgi-start", "w", "b", "000000"),
///     event("db-start", "d1", "w", "001000"),
///     event("db-stop", "d1", "w", "003500"),
///     event("db-start", "d2", "w", "003500"),
///     event("db-stop", "d2", "w", "003600"),
///     event("wsgi-stop", "w", "b", "004000"),
/// ]);
/// assert_eq!(osprof_core::report::folded(&report), "wsgi 1400\nwsgi;db 2600\n");
/// ```
pub fn folded(report: &Value) -> String {
    let mut stacks: Vec<(String, i64)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut path = String::new();
    // Each span with the length of `path` up to its parent's frame: the stack is walked
    // without recursion, so a deep trace cannot overflow it.
    let mut pending: Vec<(&Value, usize)> = children_of(report).rev().map(|n| (n, 0)).collect();
    while let Some((node, parent_len)) = pending.pop() {
        path.truncate(parent_len);
        if parent_len > 0 {
            path.push(';');
        }
        path.extend(frame(&node["info"]).chars().map(|c| match c {
            ';' => ',',
            '\n' | '\r' => ' ',
            c => c,
        }));
        let own = own_time(node);
        match index.get(&path) {
            Some(&at) => stacks[at].1 += own,
            None => {
                index.insert(path.clone(), stacks.len());
                stacks.push((path.clone(), own));
            }
        }
        let len = path.len();
        pending.extend(children_of(node).rev().map(|kid| (kid, len)));
    }
    let mut out = String::new();
    for (stack, micros) in stacks {
        out.push_str(&stack);
        out.push(' ');
        out.push_str(&micros.to_string());
        out.push('\n');
    }
    out
}

/// The trace as Chrome trace-event JSON, which Perfetto and `chrome://tracing` open: one
/// process per service and host (named `service@host`), each span a complete event (`"ph":
/// "X"`, times in µs from the trace's start) named like a [`folded`] frame, with the span
/// name as its category and its start payload's `info`, ids and exception as `args`. Spans
/// that overlap without nesting (async siblings) go on separate threads of their process, as
/// complete events on one thread must nest.
///
/// ```
/// use serde_json::json;
///
/// let event = |name: &str, trace_id: &str, parent_id: &str, at: &str| json!({
///     "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
///     "service": "api", "info": {"host": "vm"}, "timestamp": format!("2026-11-22T10:00:00.{at}"),
/// });
/// let report = osprof_core::report::build([
///     event("wsgi-start", "w", "b", "000000"),
///     event("wsgi-stop", "w", "b", "004000"),
/// ]);
/// let trace = osprof_core::report::chrome_trace(&report);
/// let events = trace["traceEvents"].as_array().unwrap();
/// assert_eq!(events[0]["args"]["name"], "api@vm");
/// assert_eq!((&events[1]["name"], &events[1]["ts"], &events[1]["dur"]), (&json!("wsgi"), &json!(0), &json!(4000)));
/// ```
pub fn chrome_trace(report: &Value) -> Value {
    // Every span, parents before children and in start order among siblings.
    let mut spans: Vec<&Value> = Vec::new();
    let mut pending: Vec<&Value> = children_of(report).rev().collect();
    while let Some(node) = pending.pop() {
        spans.push(node);
        pending.extend(children_of(node).rev());
    }
    // Longer first at equal starts, so that a parent is placed before its children.
    spans.sort_by_key(|node| {
        let (started, finished) = Node::Value(node).times();
        (started, std::cmp::Reverse(finished))
    });

    let mut processes: Vec<String> = Vec::new();
    // Per process, its threads, each the end times of the spans open on it, innermost last.
    let mut lanes: Vec<Vec<Vec<i64>>> = Vec::new();
    let mut events = Vec::with_capacity(spans.len() + 1);
    for node in spans {
        let info = &node["info"];
        let text = |key: &str| info[key].as_str().unwrap_or_default();
        let process = Node::Value(node).place();
        let pid = match processes.iter().position(|known| *known == process) {
            Some(at) => at,
            None => {
                processes.push(process.clone());
                lanes.push(Vec::new());
                events.push(json!({
                    "ph": "M", "name": "process_name", "pid": processes.len(),
                    "args": {"name": process},
                }));
                processes.len() - 1
            }
        };
        let (started, finished) = Node::Value(node).times();
        let threads = &mut lanes[pid];
        let fits = |open: &mut Vec<i64>| {
            while open.last().is_some_and(|&end| end <= started) {
                open.pop();
            }
            open.last().is_none_or(|&end| end >= finished)
        };
        let tid = match threads.iter_mut().position(fits) {
            Some(at) => at,
            None => {
                threads.push(Vec::new());
                threads.len() - 1
            }
        };
        threads[tid].push(finished);
        let name = text("name");
        let mut args = info
            .get(format!("meta.raw_payload.{name}-start").as_str())
            .and_then(|start| start["info"].as_object())
            .cloned()
            .unwrap_or_default();
        args.insert("trace_id".into(), node["trace_id"].clone());
        args.insert("parent_id".into(), node["parent_id"].clone());
        if let Some(exception) = info["exception"].as_str().filter(|e| *e != NO_EXCEPTION) {
            args.insert("exception".into(), json!(exception));
        }
        events.push(json!({
            "ph": "X", "name": frame(info), "cat": name, "pid": pid + 1, "tid": tid + 1,
            "ts": started, "dur": finished - started, "args": args,
        }));
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// A report node's own time in µs: its duration less the time its children cover. Children
/// that overlap (async calls made side by side) count once, and only inside the span, so the
/// own time is never below zero. Reports read from OSProfiler's JSON, which have no µs
/// fields, are timed from their milliseconds.
///
/// ```
/// use serde_json::json;
///
/// let span = |started: i64, finished: i64, children: serde_json::Value| json!({
///     "info": {"started_us": started, "finished_us": finished}, "children": children,
/// });
/// // 0-100 µs with children at 10-50 and 30-60 (overlapping) and 90-150 (ending after it).
/// let node = span(0, 100, json!([span(10, 50, json!([])), span(30, 60, json!([])), span(90, 150, json!([]))]));
/// assert_eq!(osprof_core::report::own_time(&node), 100 - 50 - 10);
/// ```
pub fn own_time(node: &Value) -> i64 {
    Node::Value(node).own_time()
}

/// A span's frame in [`folded`]: its function's path, else its name.
fn frame(info: &Value) -> &str {
    let name = info["name"]
        .as_str()
        .filter(|name| !name.is_empty())
        .unwrap_or("?");
    info.get(format!("meta.raw_payload.{name}-start").as_str())
        .and_then(|start| start["info"]["function"]["name"].as_str())
        .unwrap_or(name)
}

fn children_of(node: &Value) -> std::slice::Iter<'_, Value> {
    node["children"]
        .as_array()
        .map_or([].iter(), |kids| kids.iter())
}

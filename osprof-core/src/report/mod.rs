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

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::Deref;

use serde_json::{Map, Value, json};

use crate::delivery::parse_micros;

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
/// ```
/// let report = osprof_core::report::build([]);
/// let text = report.to_json(true);
/// assert_eq!(osprof_core::report::Report::from_json(&text).unwrap(), report);
/// assert_eq!(report["info"]["name"], "total");
/// ```
pub struct Report(Value);

impl Report {
    /// Reads a report from its JSON text, as [`Report::to_json`] or OSProfiler wrote it.
    ///
    /// # Errors
    /// The text is not JSON; the error says where.
    pub fn from_json(text: &str) -> Result<Report, ParseError> {
        json::parse(text).map(Report)
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
        json::write(&self.0, &mut out, pretty)
    }

    /// The value inside. Dropping it recurses once per level of the tree: keep deep reports
    /// (tens of thousands of levels) as a `Report`.
    pub fn into_value(mut self) -> Value {
        std::mem::take(&mut self.0)
    }
}

impl From<Value> for Report {
    fn from(value: Value) -> Report {
        Report(value)
    }
}

impl Deref for Report {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        json::dismantle(std::mem::take(&mut self.0));
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
        self.0 == other.0
    }
}

impl PartialEq<Value> for Report {
    fn eq(&self, other: &Value) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Report> for Value {
    fn eq(&self, other: &Report) -> bool {
        *self == other.0
    }
}

/// One span being assembled from its start and stop events.
struct Node {
    trace_id: String,
    parent_id: String,
    /// The span's name, and its `project`, `service` and `host` (from its first event).
    name: String,
    identity: [Value; 3],
    /// The keys of `info` after the identity ones, in the order OSProfiler first inserts
    /// them, with their values (the timings' are filled in at the end).
    entries: Vec<(Entry, Value)>,
    started: Option<i64>,
    finished: Option<i64>,
}

/// A key of a span's `info` that its events add.
#[derive(PartialEq)]
enum Entry {
    /// `meta.raw_payload.<event name>`.
    RawPayload(String),
    Started,
    Finished,
    Exception,
}

impl Node {
    /// Sets `entry`, in place if it is there already (as a map insert does).
    fn set(&mut self, entry: Entry, value: Value) {
        match self.entries.iter_mut().find(|(known, _)| *known == entry) {
            Some((_, known)) => *known = value,
            None => self.entries.push((entry, value)),
        }
    }

    /// The span's `info`, with its timings relative to the trace's start.
    fn info(self, started: i64, finished: i64) -> Map<String, Value> {
        let mut info = Map::with_capacity(self.entries.len() + 8);
        info.insert("name".into(), Value::String(self.name));
        let [project, service, host] = self.identity;
        info.insert("project".into(), project);
        info.insert("service".into(), service);
        info.insert("host".into(), host);
        let (mut has_started, mut has_finished) = (false, false);
        for (entry, value) in self.entries {
            match entry {
                Entry::RawPayload(event_name) => {
                    info.insert(format!("meta.raw_payload.{event_name}"), value)
                }
                Entry::Started => {
                    has_started = true;
                    info.insert("started".into(), json!(millis(started)))
                }
                Entry::Finished => {
                    has_finished = true;
                    info.insert("finished".into(), json!(millis(finished)))
                }
                Entry::Exception => info.insert("exception".into(), value),
            };
        }
        if !has_started {
            info.insert("started".into(), json!(millis(started)));
        }
        if !has_finished {
            info.insert("finished".into(), json!(millis(finished)));
        }
        info.insert("started_us".into(), json!(started));
        info.insert("finished_us".into(), json!(finished));
        info
    }
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
    let mut nodes: Vec<Node> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let (mut first, mut last, mut last_started) = (None::<i64>, None::<i64>, None::<i64>);
    for event in events {
        let Some((name, trace_id, parent_id, at)) = fields(&event) else {
            continue;
        };
        let slot = match index.get(trace_id) {
            Some(&slot) => slot,
            None => {
                // Drivers store the host inside `info`, as OSProfiler's payloads carry it.
                let host = event
                    .get("info")
                    .and_then(|info| info.get("host"))
                    .or(event.get("host"));
                let field = |value: Option<&Value>| value.cloned().unwrap_or(Value::Null);
                nodes.push(Node {
                    trace_id: trace_id.to_owned(),
                    parent_id: parent_id.to_owned(),
                    name: span_name(name).to_owned(),
                    identity: [
                        field(event.get("project")),
                        field(event.get("service")),
                        field(host),
                    ],
                    entries: Vec::with_capacity(5),
                    started: None,
                    finished: None,
                });
                index.insert(trace_id.to_owned(), nodes.len() - 1);
                nodes.len() - 1
            }
        };
        let is_stop = name.ends_with("stop");
        let exception = is_stop.then(|| {
            event
                .get("info")
                .and_then(|info| info.get("etype"))
                .cloned()
                .unwrap_or_else(|| Value::String("None".into()))
        });
        let raw_payload = Entry::RawPayload(name.to_owned());
        let node = &mut nodes[slot];
        node.set(raw_payload, event);
        if let Some(exception) = exception {
            node.finished = Some(at);
            node.set(Entry::Finished, Value::Null);
            node.set(Entry::Exception, exception);
        } else {
            node.started = Some(at);
            node.set(Entry::Started, Value::Null);
            last_started = last_started.max(Some(at));
        }
        first = Some(first.map_or(at, |first| first.min(at)));
        last = last.max(Some(at));
    }
    let Some(first) = first else {
        return Report(json!({
            "info": {"name": "total", "started": 0, "finished": null, "last_trace_started": null},
            "children": [],
            "stats": {},
        }));
    };

    // Count and total milliseconds per span name, in order of first appearance.
    let mut totals: Vec<(String, i64, i64)> = Vec::new();
    let mut total_of: HashMap<String, usize> = HashMap::new();
    let mut starts = Vec::with_capacity(nodes.len());
    let mut spans = Vec::with_capacity(nodes.len());
    for mut node in nodes {
        // A lost start or stop copies the other, so that every node has both.
        let started = node.started.or(node.finished).unwrap_or(first) - first;
        let finished = node.finished.or(node.started).unwrap_or(first) - first;
        let total = match total_of.get(&node.name) {
            Some(&total) => total,
            None => {
                total_of.insert(node.name.clone(), totals.len());
                totals.push((node.name.clone(), 0, 0));
                totals.len() - 1
            }
        };
        totals[total].1 += 1;
        totals[total].2 += millis(finished) - millis(started);
        starts.push(started);
        let ids = (
            std::mem::take(&mut node.trace_id),
            std::mem::take(&mut node.parent_id),
        );
        spans.push((ids, node.info(started, finished)));
    }
    let stats: Map<String, Value> = totals
        .into_iter()
        .map(|(name, count, duration)| (name, json!({"count": count, "duration": duration})))
        .collect();

    let mut report = Map::with_capacity(3);
    report.insert(
        "info".into(),
        json!({
            "name": "total",
            "started": 0,
            "finished": millis(last.unwrap_or(first) - first),
            "last_trace_started": last_started.map(|at| millis(at - first)),
        }),
    );
    report.insert(
        "children".into(),
        Value::Array(tree(spans, &starts, &index)),
    );
    report.insert("stats".into(), Value::Object(stats));
    Report(Value::Object(report))
}

/// `name`, `trace_id`, `parent_id` and the time in microseconds of a valid event.
fn fields(event: &Value) -> Option<(&str, &str, &str, i64)> {
    let text = |field: &str| event.get(field).and_then(Value::as_str);
    Some((
        text("name")?,
        text("trace_id")?,
        text("parent_id")?,
        parse_micros(text("timestamp")?)?,
    ))
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

/// A span's `(trace_id, parent_id)` and its `info`.
type Span = ((String, String), Map<String, Value>);

/// Nests spans under their parents; spans whose parent is not a span are roots. Children
/// and roots are ordered by start in whole milliseconds, ties in order of first appearance,
/// as OSProfiler's builder orders them (so that both give the same report; the HTML page
/// orders siblings by their µs).
fn tree(spans: Vec<Span>, starts: &[i64], index: &HashMap<String, usize>) -> Vec<Value> {
    let parents: Vec<Option<usize>> = spans
        .iter()
        .map(|((trace_id, parent_id), _)| {
            index
                .get(parent_id)
                .copied()
                .filter(|&p| spans[p].0.0 != *trace_id)
        })
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (slot, parent) in parents.iter().enumerate() {
        match parent {
            Some(parent) => children[*parent].push(slot),
            None => roots.push(slot),
        }
    }
    let started = |slot: &usize| starts[*slot] / 1000;
    for kids in &mut children {
        kids.sort_by_key(started);
    }
    roots.sort_by_key(started);

    // Build bottom-up without recursion, so that a deep trace cannot overflow the stack.
    let mut built: Vec<Option<Value>> = vec![None; spans.len()];
    let mut order = Vec::with_capacity(spans.len());
    let mut stack: Vec<usize> = roots.clone();
    while let Some(slot) = stack.pop() {
        order.push(slot);
        stack.extend(&children[slot]);
    }
    let mut spans: Vec<Option<Span>> = spans.into_iter().map(Some).collect();
    for &slot in order.iter().rev() {
        let ((trace_id, parent_id), info) = spans[slot].take().expect("each span is visited once");
        let kids: Vec<Value> = children[slot]
            .iter()
            .map(|kid| built[*kid].take().expect("children are built first"))
            .collect();
        // Moved in, not through `json!`, which would deep-copy every subtree once per level.
        let mut built_node = Map::with_capacity(4);
        built_node.insert("info".into(), Value::Object(info));
        built_node.insert("trace_id".into(), Value::String(trace_id));
        built_node.insert("parent_id".into(), Value::String(parent_id));
        built_node.insert("children".into(), Value::Array(kids));
        built[slot] = Some(Value::Object(built_node));
    }
    roots
        .iter()
        .map(|root| built[*root].take().expect("roots are built"))
        .collect()
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
        let place = place(info);
        out.push_str(&format!(
            "{}  {}.{:03} ms  ({place})",
            field("name"),
            micros / 1000,
            micros % 1000,
        ));
        if let Some(exception) = info["exception"].as_str().filter(|e| *e != "None") {
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
        let (started, finished) = span_times(node);
        (started, std::cmp::Reverse(finished))
    });

    let mut processes: Vec<String> = Vec::new();
    // Per process, its threads, each the end times of the spans open on it, innermost last.
    let mut lanes: Vec<Vec<Vec<i64>>> = Vec::new();
    let mut events = Vec::with_capacity(spans.len() + 1);
    for node in spans {
        let info = &node["info"];
        let text = |key: &str| info[key].as_str().unwrap_or_default();
        let process = place(info);
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
        let (started, finished) = span_times(node);
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
        if let Some(exception) = info["exception"].as_str().filter(|e| *e != "None") {
            args.insert("exception".into(), json!(exception));
        }
        events.push(json!({
            "ph": "X", "name": frame(info), "cat": name, "pid": pid + 1, "tid": tid + 1,
            "ts": started, "dur": finished - started, "args": args,
        }));
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// A span's start and finish in µs from the trace's start (a finish before the start is
/// taken as the start).
fn span_times(node: &Value) -> (i64, i64) {
    let info = &node["info"];
    let started = info["started_us"]
        .as_i64()
        .or_else(|| info["started"].as_i64().map(|ms| ms * 1000))
        .unwrap_or(0);
    let finished = info["finished_us"]
        .as_i64()
        .or_else(|| info["finished"].as_i64().map(|ms| ms * 1000))
        .unwrap_or(started);
    (started, finished.max(started))
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
    let (started, finished) = span_times(node);
    let mut covered = 0;
    let mut kids: Vec<(i64, i64)> = children_of(node)
        .map(|kid| {
            let (kid_started, kid_finished) = span_times(kid);
            (
                kid_started.clamp(started, finished),
                kid_finished.clamp(started, finished),
            )
        })
        .collect();
    kids.sort_unstable();
    let mut run: Option<(i64, i64)> = None;
    for (kid_started, kid_finished) in kids {
        run = match run {
            Some((from, to)) if kid_started <= to => Some((from, to.max(kid_finished))),
            Some((from, to)) => {
                covered += to - from;
                Some((kid_started, kid_finished))
            }
            None => Some((kid_started, kid_finished)),
        };
    }
    if let Some((from, to)) = run {
        covered += to - from;
    }
    finished - started - covered
}

/// What a span did, in a few words: its function's path, its SQL statement (whitespace
/// runs made one space), its request (`GET /path` served, `GET host:port/path` called), else
/// its name.
fn label(info: &Value) -> String {
    let name = info["name"].as_str().unwrap_or_default();
    let start = &info[format!("meta.raw_payload.{name}-start").as_str()]["info"];
    if let Some(function) = start["function"]["name"].as_str() {
        return function.to_owned();
    }
    if let Some(statement) = start["db"]["statement"].as_str() {
        return statement.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let served = &start["request"];
    if served.is_object() {
        return format!("{} {}", text(&served["method"]), text(&served["path"]));
    }
    let called = &start["requests"];
    if called.is_object() {
        let port = called["port"].as_u64().map(|port| format!(":{port}"));
        return format!(
            "{} {}{}{}",
            text(&called["method"]),
            text(&called["hostname"]),
            port.unwrap_or_default(),
            text(&called["path"]),
        );
    }
    name.to_owned()
}

/// Where a span ran: `service@host`, or the host alone.
fn place(info: &Value) -> String {
    let host = info["host"].as_str().unwrap_or_default();
    match info["service"].as_str().unwrap_or_default() {
        "" => host.to_owned(),
        service => format!("{service}@{host}"),
    }
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

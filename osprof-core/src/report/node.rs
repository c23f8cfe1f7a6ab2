//! One span of a report, read the same way from a report's value and from a built report's
//! spans, so that the page is drawn from either without making the value first.

use serde_json::Value;

use super::{Entry, IDENTITY, NO_EXCEPTION, Spans, children_of, text_field};

/// A span of a report: a node of the report's value, or a span of a built report.
#[derive(Clone, Copy)]
pub(super) enum Node<'a> {
    Value(&'a Value),
    Span(&'a Spans, usize),
}

impl<'a> Node<'a> {
    /// Start and finish in µs from the trace's start (a finish before the start is taken as
    /// the start). Reports read from OSProfiler's JSON, which have no µs fields, are timed
    /// from their milliseconds.
    pub(super) fn times(self) -> (i64, i64) {
        let (started, finished) = match self {
            Node::Span(spans, slot) => spans.times(slot),
            Node::Value(node) => {
                let info = &node["info"];
                let started = info["started_us"]
                    .as_i64()
                    .or_else(|| info["started"].as_i64().map(|ms| ms * 1000))
                    .unwrap_or(0);
                let finished = info["finished_us"]
                    .as_i64()
                    .or_else(|| info["finished"].as_i64().map(|ms| ms * 1000))
                    .unwrap_or(started);
                (started, finished)
            }
        };
        (started, finished.max(started))
    }

    pub(super) fn name(self) -> &'a str {
        match self {
            Node::Span(spans, slot) => spans.name(slot),
            Node::Value(node) => node["info"]["name"].as_str().unwrap_or_default(),
        }
    }

    /// The error the span ended with, if any.
    pub(super) fn exception(self) -> Option<&'a str> {
        let exception = match self {
            Node::Span(spans, slot) => spans.spans[slot]
                .exception(&spans.events)
                .flatten()
                .unwrap_or(&Value::Null),
            Node::Value(node) => &node["info"]["exception"],
        };
        exception
            .as_str()
            .filter(|exception| *exception != NO_EXCEPTION)
    }

    /// `project`, `service` and `host`.
    pub(super) fn identity(self) -> [&'a Value; 3] {
        match self {
            Node::Span(spans, slot) => spans
                .first(slot)
                .identity()
                .map(|value| value.unwrap_or(&Value::Null)),
            Node::Value(node) => IDENTITY.map(|key| &node["info"][key]),
        }
    }

    pub(super) fn ids(self) -> [&'a str; 2] {
        match self {
            Node::Span(spans, slot) => {
                let first = spans.first(slot);
                [first.trace_id, first.parent_id].map(Option::unwrap_or_default)
            }
            Node::Value(node) => {
                ["trace_id", "parent_id"].map(|key| node[key].as_str().unwrap_or_default())
            }
        }
    }

    /// The span's events' payloads, each with its event's name.
    pub(super) fn payloads(self) -> Vec<(&'a str, &'a Value)> {
        match self {
            Node::Span(spans, slot) => spans.spans[slot]
                .entries(&spans.events)
                .into_iter()
                .filter(|(entry, _)| *entry == Entry::RawPayload)
                .map(|(_, event)| {
                    let payload = &spans.events[event];
                    (text_field(payload, "name").unwrap_or_default(), payload)
                })
                .collect(),
            Node::Value(node) => node["info"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(key, payload)| {
                    let event_name = key.strip_prefix("meta.raw_payload.")?;
                    Some((event_name, payload))
                })
                .collect(),
        }
    }

    /// The `info` of the span's start event, or null.
    pub(super) fn start_info(self) -> &'a Value {
        let start = format!("{}-start", self.name());
        let payload = match self {
            Node::Span(spans, slot) => spans.spans[slot]
                .event_named(&spans.events, &start)
                .map(|event| &spans.events[event]),
            Node::Value(node) => node["info"].get(format!("meta.raw_payload.{start}").as_str()),
        };
        payload.map_or(&Value::Null, |payload| &payload["info"])
    }

    pub(super) fn children(self) -> Vec<Node<'a>> {
        match self {
            Node::Span(spans, slot) => spans
                .children(slot)
                .iter()
                .map(|&kid| Node::Span(spans, kid))
                .collect(),
            Node::Value(node) => children_of(node).map(Node::Value).collect(),
        }
    }

    /// The span's own time in µs: see [`super::own_time`].
    pub(super) fn own_time(self) -> i64 {
        let (started, finished) = self.times();
        let mut covered = 0;
        let mut kids: Vec<(i64, i64)> = self
            .children()
            .into_iter()
            .map(|kid| {
                let (kid_started, kid_finished) = kid.times();
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

    /// What the span did, in a few words: its function's path, its SQL statement (whitespace
    /// runs made one space), its request (`GET /path` served, `GET host:port/path` called),
    /// else its name.
    pub(super) fn label(self) -> String {
        let start = self.start_info();
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
        self.name().to_owned()
    }

    /// Where the span ran: `service@host`, or the host alone.
    pub(super) fn place(self) -> String {
        let [_, service, host] = self.identity();
        let host = host.as_str().unwrap_or_default();
        match service.as_str().unwrap_or_default() {
            "" => host.to_owned(),
            service => format!("{service}@{host}"),
        }
    }
}

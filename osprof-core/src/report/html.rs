//! A report as one self-contained HTML page: no network request, data escaped.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::{Map, Value};

use super::{Node, Report};

/// The page: styles and script inline, the trace embedded as JSON in two
/// `<script type="application/json">` elements (the spans, then each span's details).
const PAGE: &str = include_str!("page.html");

/// A report as one self-contained HTML page that works offline, made to find the slow call
/// at a glance:
/// - a tree of spans, each labelled with what it did (function, SQL statement or request),
///   a coloured tag for the service and host it ran on and its name as a chip, with a bar on
///   the trace's time scale, its total and its own time (µs exact); the critical path (from
///   the root, the child that finished last, level by level) is open and marked on load;
///   expand all, collapse all, keyboard navigation (arrows, Home, End);
/// - search over names, functions, statements, services, hosts, errors and info values;
/// - a flame (icicle) view of the same spans, zoomed by a click;
/// - totals per name and per function (count, total, own, max), sorted by any column, each
///   row finding its spans in the tree;
/// - a span's ids and payloads beside the tree when it is selected.
///
/// Only the rows on screen are drawn, so a trace of a million spans loads without freezing
/// the page. The data is escaped so that no text inside a trace (`</script>`, `<!--`, `$&`,
/// line separators) can end its element or run as script, and a Content-Security-Policy
/// forbids any network request.
///
/// ```
/// let report = osprof_core::report::build([]);
/// let page = osprof_core::report::to_html(&report);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// ```
pub fn to_html(report: &Report) -> String {
    let (spans, details) = report.with_roots(page_data);
    let (head, rest) = PAGE
        .split_once("/*DATA*/")
        .expect("the page has a data slot");
    let (middle, tail) = rest
        .split_once("/*DETAILS*/")
        .expect("the page has a details slot");
    let mut page = String::with_capacity(PAGE.len() + spans.len() + details.len() + 1024);
    page.push_str(head);
    escape_into(&spans, &mut page);
    page.push_str(middle);
    escape_into(&details, &mut page);
    page.push_str(tail);
    page
}

/// JSON text made safe inside a `<script>` element. `\u` escapes are JSON for the same
/// characters, so the text parses to the same values.
fn escape_into(json: &str, out: &mut String) {
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
}

/// Texts the page refers to by index: span names, labels, places and errors repeat.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, usize>,
}

impl Strings {
    fn intern(&mut self, text: &str) -> usize {
        if let Some(&at) = self.index.get(text) {
            return at;
        }
        self.list.push(text.to_owned());
        self.index.insert(text.to_owned(), self.list.len() - 1);
        self.list.len() - 1
    }
}

/// Payload fields the page shows elsewhere (or that every span shares), left out of a span's
/// details.
const SHOWN_ELSEWHERE: [&str; 7] = [
    "name",
    "base_id",
    "trace_id",
    "parent_id",
    "project",
    "service",
    "timestamp",
];

/// The spans as columns (one array per field, spans in depth-first order, children in µs
/// start order) and each span's details, as two JSON texts. Columns keep a large trace small: a
/// million spans are a few tens of megabytes of page.
fn page_data(roots: Vec<Node<'_>>) -> (String, String) {
    let mut strings = Strings::default();
    let mut columns: [(&str, String); 8] = [
        ("parent", String::new()),
        ("start", String::new()),
        ("end", String::new()),
        ("own", String::new()),
        ("name", String::new()),
        ("label", String::new()),
        ("place", String::new()),
        ("error", String::new()),
    ];
    let mut details = String::from("[");
    let (mut base_id, mut started_at) = (Value::Null, Value::Null);
    let mut count: i64 = 0;
    let mut total: i64 = 0;
    // Each span with its parent's index; no recursion, a trace can be a million calls deep.
    let mut roots = roots;
    roots.sort_by_key(|root| root.times());
    let mut pending: Vec<(Node<'_>, i64)> = roots.into_iter().rev().map(|n| (n, -1)).collect();
    while let Some((node, parent)) = pending.pop() {
        let (started, finished) = node.times();
        total = total.max(finished);
        let error = node
            .exception()
            .map_or(-1, |exception| strings.intern(exception) as i64);
        let row = [
            parent,
            started,
            finished,
            node.own_time(),
            strings.intern(node.name()) as i64,
            strings.intern(&node.label()) as i64,
            strings.intern(&node.place()) as i64,
            error,
        ];
        for ((_, column), value) in columns.iter_mut().zip(row) {
            if count > 0 {
                column.push(',');
            }
            write!(column, "{value}").expect("writing to a String cannot fail");
        }

        let [trace_id, parent_id] = node.ids();
        let [project, _, host] = node.identity();
        let mut detail = Map::new();
        detail.insert("trace_id".into(), trace_id.into());
        if parent < 0 {
            detail.insert("parent_id".into(), parent_id.into());
        }
        if !project.is_null() {
            detail.insert("project".into(), project.clone());
        }
        for (event, payload) in node.payloads() {
            if base_id.is_null() {
                base_id = payload["base_id"].clone();
            }
            if started_at.is_null() && started == 0 && event.ends_with("start") {
                started_at = payload["timestamp"].clone();
            }
            let mut rest: Map<String, Value> = payload
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(field, _)| !SHOWN_ELSEWHERE.contains(&field.as_str()))
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect();
            // The host is shown as the span's place.
            if let Some(Value::Object(payload_info)) = rest.get_mut("info") {
                if payload_info.get("host") == Some(host) {
                    payload_info.remove("host");
                }
                if payload_info.is_empty() {
                    rest.remove("info");
                }
            }
            if !rest.is_empty() {
                let phase = if event.ends_with("-start") {
                    "start"
                } else if event.ends_with("-stop") {
                    "stop"
                } else {
                    event
                };
                detail.insert(phase.to_owned(), Value::Object(rest));
            }
        }
        if count > 0 {
            details.push(',');
        }
        details.push_str(&Value::Object(detail).to_string());

        let index = count;
        count += 1;
        // Siblings in their true start order: the report keeps OSProfiler's millisecond order,
        // in which calls that start within a millisecond keep the store's order (Redis gives
        // the newest first). Of two calls that start in the same microsecond, the one that
        // finished first came first.
        let mut kids = node.children();
        kids.sort_by_key(|kid| kid.times());
        pending.extend(kids.into_iter().rev().map(|kid| (kid, index)));
    }
    details.push(']');

    let mut spans = String::from("{");
    for (key, value) in [
        ("base_id", base_id),
        ("started_at", started_at),
        ("count", Value::from(count)),
        ("total", Value::from(total)),
        ("strings", Value::from(strings.list)),
    ] {
        write!(spans, "\"{key}\":{value},").expect("writing to a String cannot fail");
    }
    for (at, (key, column)) in columns.iter().enumerate() {
        let comma = if at + 1 < columns.len() { "," } else { "" };
        write!(spans, "\"{key}\":[{column}]{comma}").expect("writing to a String cannot fail");
    }
    spans.push('}');
    (spans, details)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::Report;

    /// The page's two data elements, parsed as the page's script parses them.
    fn data(page: &str) -> (Value, Value) {
        let element = |id: &str| {
            let open = format!("<script id=\"{id}\" type=\"application/json\">");
            let from = page.find(&open).unwrap() + open.len();
            let to = from + page[from..].find("</script>").unwrap();
            serde_json::from_str::<Value>(&page[from..to]).unwrap()
        };
        (element("osprof-data"), element("osprof-details"))
    }

    #[test]
    fn trace_text_cannot_close_the_data_element() {
        let evil = "</script><script>alert(1)</script> $& $' /*DETAILS*/ \u{2028}";
        let page = super::to_html(&Report::from(json!({"children": [{
            "info": {"name": evil, "meta.raw_payload.x-start": {"info": {"note": evil}}},
            "trace_id": evil, "children": [],
        }]})));
        assert_eq!(
            page.matches("</script>").count(),
            3,
            "only the page's own three script elements"
        );
        assert!(page.contains(r"\u003c/script\u003e\u003cscript\u003ealert(1)"));
        let (spans, details) = data(&page);
        assert_eq!(spans["strings"][0], evil, "the text is kept as it was");
        assert_eq!(details[0]["trace_id"], evil);
        assert_eq!(details[0]["start"]["info"]["note"], evil);
    }

    #[test]
    fn rows_are_labelled_by_function_statement_or_request() {
        let span = |name: &str, start_info: Value| {
            json!({"info": {"name": name, format!("meta.raw_payload.{name}-start"): {"info": start_info}},
                   "children": []})
        };
        let report = json!({"children": [
            span("function", json!({"function": {"name": "nova::quota::check"}})),
            span("db", json!({"db": {"statement": "SELECT *\n  FROM servers"}})),
            span("wsgi", json!({"request": {"method": "GET", "path": "/v2/servers"}})),
            span("http", json!({"requests": {"method": "POST", "hostname": "backend", "port": 8080, "path": "/v1"}})),
            span("rpc", json!({})),
        ]});
        let (spans, _) = data(&super::to_html(&Report::from(report)));
        let labels: Vec<&Value> = spans["label"]
            .as_array()
            .unwrap()
            .iter()
            .map(|at| &spans["strings"][at.as_u64().unwrap() as usize])
            .collect();
        assert_eq!(
            labels,
            [
                "nova::quota::check",
                "SELECT * FROM servers",
                "GET /v2/servers",
                "POST backend:8080/v1",
                "rpc"
            ]
        );
    }

    #[test]
    fn spans_are_columns_in_depth_first_order_with_their_own_time() {
        let span = |name: &str, started: i64, finished: i64, children: Value| {
            json!({"info": {"name": name, "service": "api", "host": "vm", "started_us": started,
                            "finished_us": finished, "exception": "None"},
                   "trace_id": name, "parent_id": "base", "children": children})
        };
        let report = json!({"children": [span("wsgi", 0, 900, json!([
            span("db", 100, 400, json!([])),
            span("rpc", 500, 800, json!([span("db", 600, 700, json!([]))])),
        ]))]});
        let (spans, details) = data(&super::to_html(&Report::from(report)));
        assert_eq!(spans["count"], 4);
        assert_eq!(spans["total"], 900);
        assert_eq!(spans["parent"], json!([-1, 0, 0, 2]));
        assert_eq!(spans["start"], json!([0, 100, 500, 600]));
        assert_eq!(spans["own"], json!([300, 300, 200, 100]));
        assert_eq!(spans["error"], json!([-1, -1, -1, -1]));
        let strings = spans["strings"].as_array().unwrap();
        let names: Vec<&Value> = spans["name"]
            .as_array()
            .unwrap()
            .iter()
            .map(|at| &strings[at.as_u64().unwrap() as usize])
            .collect();
        assert_eq!(names, ["wsgi", "db", "rpc", "db"]);
        assert_eq!(
            strings[spans["place"][0].as_u64().unwrap() as usize],
            "api@vm"
        );
        assert_eq!(details[0], json!({"trace_id": "wsgi", "parent_id": "base"}));
        assert_eq!(details[3], json!({"trace_id": "db"}));
    }
}

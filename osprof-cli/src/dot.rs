//! A report as a Graphviz graph: one node per span, labelled as OSProfiler's CLI labels them.

use std::fmt::Write;

use serde_json::Value;

/// `digraph` text of a report: `service:name - N ms`, plus the method and path of `wsgi`
/// spans and the function of `rpc` spans; edges from parent to child.
pub(crate) fn render(report: &Value) -> String {
    let mut out = String::from("digraph osprof {\n  node [shape=box];\n");
    let mut next_id = 0usize;
    let mut stack: Vec<(Option<usize>, &Value)> =
        children(report).rev().map(|n| (None, n)).collect();
    while let Some((parent, node)) = stack.pop() {
        let id = next_id;
        next_id += 1;
        let _ = writeln!(out, "  {id} [label=\"{}\"];", escape(&label(&node["info"])));
        if let Some(parent) = parent {
            let _ = writeln!(out, "  {parent} -> {id};");
        }
        stack.extend(children(node).rev().map(|kid| (Some(id), kid)));
    }
    out.push('}');
    out
}

fn children(node: &Value) -> std::slice::Iter<'_, Value> {
    node["children"]
        .as_array()
        .map_or([].iter(), |kids| kids.iter())
}

fn label(info: &Value) -> String {
    let name = info["name"].as_str().unwrap_or_default();
    let millis = info["finished"].as_i64().unwrap_or(0) - info["started"].as_i64().unwrap_or(0);
    let service = info["service"].as_str().filter(|s| !s.is_empty());
    let mut label = match service {
        Some(service) => format!("{service}:{name} - {millis} ms"),
        None => format!("{name} - {millis} ms"),
    };
    let start = &info[format!("meta.raw_payload.{name}-start").as_str()]["info"];
    if let (Some(method), Some(path)) = (
        start["request"]["method"].as_str(),
        start["request"]["path"].as_str(),
    ) {
        let path: String = path.chars().take(30).collect();
        label.push_str(&format!("\n{method} {path}"));
    } else if let Some(function) = start["function"]["name"].as_str() {
        let short = function.rsplit([':', '.']).next().unwrap_or(function);
        label.push_str(&format!("\n{short}"));
    }
    label
}

/// Escapes a label for a DOT double-quoted string; newlines become `\n` line breaks.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

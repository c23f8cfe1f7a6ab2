//! Two traces compared: spans aligned by their path of frames.

use std::collections::HashMap;
use std::fmt::Write;

use serde::Serialize;
use serde_json::Value;

use super::{Node, children_of, frame, own_time};

/// Two traces compared, as [`diff`] makes them: one entry per path of frames (a frame is a
/// span's function path, else its name, as in [`folded`](super::folded)), the biggest
/// regression first. Serialises as the JSON that `osprof trace diff --json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diff {
    /// The trace compared against.
    pub before: Side,
    /// The trace compared.
    pub after: Side,
    /// Every path found in either trace, by `delta_us` from largest to smallest; of equal
    /// changes the deeper path first, as it explains its ancestors' change.
    pub paths: Vec<PathDiff>,
}

/// One trace of a [`Diff`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Side {
    /// How many spans it has.
    pub spans: u64,
    /// From its first start to its last finish, in µs.
    pub total_us: i64,
}

/// The spans at one path of frames, in both traces (`[before, after]`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathDiff {
    /// The frames from the root down.
    pub path: Vec<String>,
    /// How many spans are at this path.
    pub count: [u64; 2],
    /// Their durations added up, in µs.
    pub total_us: [i64; 2],
    /// Their own times added up (see [`own_time`](super::own_time)), in µs.
    pub own_us: [i64; 2],
    /// `total_us[1] - total_us[0]`: above zero, the path got slower.
    pub delta_us: i64,
}

/// Compares two traces: spans are aligned by their path of frames from the root, and each
/// path gets its count, total and own time in both, the paths that got slowest first. A path
/// in one trace only has zeros on the other side.
///
/// ```
/// use serde_json::json;
///
/// let trace = |db_finish: &str| osprof_core::report::build([
///     json!({"name": "wsgi-start", "base_id": "b", "trace_id": "w", "parent_id": "b", "timestamp": "2026-11-22T10:00:00.000000"}),
///     json!({"name": "db-start", "base_id": "b", "trace_id": "d", "parent_id": "w", "timestamp": "2026-11-22T10:00:00.001000"}),
///     json!({"name": "db-stop", "base_id": "b", "trace_id": "d", "parent_id": "w", "timestamp": format!("2026-11-22T10:00:00.{db_finish}")}),
///     json!({"name": "wsgi-stop", "base_id": "b", "trace_id": "w", "parent_id": "b", "timestamp": "2026-11-22T10:00:00.009000"}),
/// ]);
/// let diff = osprof_core::report::diff(&trace("002000"), &trace("008000"));
/// assert_eq!(diff.paths[0].path, ["wsgi", "db"]);
/// assert_eq!((diff.paths[0].total_us, diff.paths[0].delta_us), ([1000, 7000], 6000));
/// assert_eq!(diff.paths[1].own_us, [8000, 2000]);
/// ```
pub fn diff(before: &Value, after: &Value) -> Diff {
    let mut paths: Vec<PathDiff> = Vec::new();
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut sides = Vec::with_capacity(2);
    for (side, report) in [before, after].into_iter().enumerate() {
        let (mut spans, mut first, mut last) = (0, i64::MAX, i64::MIN);
        // Each span with its parent's path; walked without recursion, a trace can be deep.
        let mut pending: Vec<(&Value, Vec<String>)> = children_of(report)
            .rev()
            .map(|node| (node, Vec::new()))
            .collect();
        while let Some((node, mut path)) = pending.pop() {
            let (started, finished) = Node::Value(node).times();
            (first, last) = (first.min(started), last.max(finished));
            spans += 1;
            path.push(frame(&node["info"]).to_owned());
            let at = match index.get(&path) {
                Some(&at) => at,
                None => {
                    index.insert(path.clone(), paths.len());
                    paths.push(PathDiff {
                        path: path.clone(),
                        count: [0; 2],
                        total_us: [0; 2],
                        own_us: [0; 2],
                        delta_us: 0,
                    });
                    paths.len() - 1
                }
            };
            let entry = &mut paths[at];
            entry.count[side] += 1;
            entry.total_us[side] += finished - started;
            entry.own_us[side] += own_time(node);
            pending.extend(children_of(node).rev().map(|kid| (kid, path.clone())));
        }
        sides.push(Side {
            spans,
            total_us: if spans == 0 { 0 } else { last - first },
        });
    }
    for path in &mut paths {
        path.delta_us = path.total_us[1] - path.total_us[0];
    }
    paths.sort_by(|a, b| {
        b.delta_us
            .cmp(&a.delta_us)
            .then_with(|| b.path.len().cmp(&a.path.len()))
            .then_with(|| a.path.cmp(&b.path))
    });
    let after = sides.pop().expect("two sides");
    let before = sides.pop().expect("two sides");
    Diff {
        before,
        after,
        paths,
    }
}

impl Diff {
    /// The comparison as JSON (see the fields of [`Diff`]).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a diff serialises")
    }

    /// The comparison as a table for a terminal: the two totals, then a line per path with
    /// its change, both totals and counts, and the path (`wsgi > db`).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "before: {} spans, {}    after: {} spans, {}    change: {}\n\n{:>12}  {:>12}  {:>12}  {:>11}  path\n",
            self.before.spans,
            micros(self.before.total_us),
            self.after.spans,
            micros(self.after.total_us),
            signed(self.after.total_us - self.before.total_us),
            "change",
            "before",
            "after",
            "count",
        );
        for path in &self.paths {
            writeln!(
                out,
                "{:>12}  {:>12}  {:>12}  {:>11}  {}",
                signed(path.delta_us),
                micros(path.total_us[0]),
                micros(path.total_us[1]),
                format!("{} -> {}", path.count[0], path.count[1]),
                path.path.join(" > "),
            )
            .expect("writing to a String cannot fail");
        }
        out
    }

    /// The comparison as one self-contained HTML page (no script, no network, text escaped):
    /// the table of [`Diff::to_text`], slower paths in red and faster ones in green.
    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for path in &self.paths {
            let class = match path.delta_us.signum() {
                1 => "slower",
                -1 => "faster",
                _ => "same",
            };
            writeln!(
                rows,
                "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{} &rarr; {}</td><td>{}</td><td>{}</td><td class=\"path\">{}</td></tr>",
                signed(path.delta_us),
                micros(path.total_us[0]),
                micros(path.total_us[1]),
                path.count[0],
                path.count[1],
                micros(path.own_us[0]),
                micros(path.own_us[1]),
                escape(&path.path.join(" \u{203a} ")),
            )
            .expect("writing to a String cannot fail");
        }
        format!(
            r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>osprof trace diff</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #1d232a; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 2px 10px; border-bottom: 1px solid #eceff2; text-align: right; white-space: nowrap; }}
th.path, td.path {{ text-align: left; }}
.slower td:first-child {{ color: #b42318; font-weight: 600; }}
.faster td:first-child {{ color: #067647; font-weight: 600; }}
</style>
</head>
<body>
<h1>osprof trace diff</h1>
<p id="totals">before: {} spans, {} &middot; after: {} spans, {} &middot; change: {}</p>
<table>
<thead><tr><th>change</th><th>before</th><th>after</th><th>count</th><th>own before</th><th>own after</th><th class="path">path</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
</body>
</html>
"#,
            self.before.spans,
            micros(self.before.total_us),
            self.after.spans,
            micros(self.after.total_us),
            signed(self.after.total_us - self.before.total_us),
        )
    }
}

/// A duration as the page shows it: µs below a millisecond, else ms or s with µs precision.
fn micros(us: i64) -> String {
    let size = us.unsigned_abs();
    let sign = if us < 0 { "-" } else { "" };
    if size < 1000 {
        format!("{sign}{size} µs")
    } else if size < 1_000_000 {
        format!("{sign}{}.{:03} ms", size / 1000, size % 1000)
    } else {
        format!("{sign}{}.{:06} s", size / 1_000_000, size % 1_000_000)
    }
}

/// A change, with its sign.
fn signed(us: i64) -> String {
    if us > 0 {
        format!("+{}", micros(us))
    } else {
        micros(us)
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(micros(812), "812 µs");
        assert_eq!(micros(-2_500), "-2.500 ms");
        assert_eq!(micros(1_250_000), "1.250000 s");
        assert_eq!(signed(3), "+3 µs");
        assert_eq!(signed(0), "0 µs");
    }

    #[test]
    fn trace_text_is_escaped_in_the_page() {
        let span = serde_json::json!({"children": [{"info": {
            "name": "<script>alert(1)</script>", "started_us": 0, "finished_us": 5,
        }, "children": []}]});
        let page = diff(&span, &serde_json::json!({"children": []})).to_html();
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}

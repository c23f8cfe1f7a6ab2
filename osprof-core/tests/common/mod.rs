//! Shared by the integration tests: an in-memory sink and a text rendering of span trees.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::{Mutex, Once};

use serde_json::Value;

static EVENTS: Mutex<Vec<Value>> = Mutex::new(Vec::new());

/// Installs the collecting sink once for this test binary.
pub fn install_sink() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        osprof_core::notifier::set(|payload: &Value| EVENTS.lock().unwrap().push(payload.clone()));
    });
}

/// Every payload of trace `base_id` delivered so far, after a flush, in delivery order.
pub fn events_of(base_id: &str) -> Vec<Value> {
    osprof_core::notifier::flush();
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|event| event["base_id"] == base_id)
        .cloned()
        .collect()
}

/// Renders the spans of one trace as an indented tree of names, children in start order.
/// A start without its stop (or a stop whose ids differ from its start) is marked.
pub fn tree(events: &[Value]) -> String {
    struct Node {
        name: String,
        parent: String,
        stopped: bool,
    }
    let mut nodes: Vec<(String, Node)> = Vec::new();
    for event in events {
        let name = event["name"].as_str().unwrap();
        let id = event["trace_id"].as_str().unwrap().to_owned();
        let parent = event["parent_id"].as_str().unwrap().to_owned();
        if let Some(span) = name.strip_suffix("-start") {
            nodes.push((
                id,
                Node {
                    name: span.to_owned(),
                    parent,
                    stopped: false,
                },
            ));
        } else if let Some(span) = name.strip_suffix("-stop") {
            let node = nodes
                .iter_mut()
                .find(|(node_id, _)| *node_id == id)
                .unwrap_or_else(|| panic!("stop before start: {event}"));
            assert_eq!(node.1.name, span, "stop name differs from start: {event}");
            assert_eq!(
                node.1.parent, parent,
                "stop parent differs from start: {event}"
            );
            assert!(!node.1.stopped, "stopped twice: {event}");
            node.1.stopped = true;
        }
    }
    let mut children: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (index, (_, node)) in nodes.iter().enumerate() {
        if nodes.iter().any(|(id, _)| *id == node.parent) {
            children
                .entry(node.parent.as_str())
                .or_default()
                .push(index);
        } else {
            roots.push(index);
        }
    }
    let mut out = String::new();
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|i| (i, 0)).collect();
    while let Some((index, depth)) = stack.pop() {
        let (id, node) = &nodes[index];
        out.push_str(&"  ".repeat(depth));
        out.push_str(&node.name);
        if !node.stopped {
            out.push_str(" (not stopped)");
        }
        out.push('\n');
        if let Some(kids) = children.get(id.as_str()) {
            stack.extend(kids.iter().rev().map(|&kid| (kid, depth + 1)));
        }
    }
    out
}

/// Runs `f` inside a fresh trace on this thread and returns the trace's payloads.
pub fn traced(f: impl FnOnce()) -> Vec<Value> {
    install_sink();
    let profiler = osprof_core::init("key", None, None);
    f();
    osprof_core::clean();
    events_of(profiler.base_id())
}

/// Runs `body` inside a fresh trace, with SQL tracing on, and returns the trace's payloads.
pub async fn traced_async(body: impl std::future::Future<Output = ()>) -> Vec<Value> {
    use osprof_core::FutureExt;
    install_sink();
    osprof_core::config::set_trace_sql(true);
    let base_id = async move {
        let base_id = osprof_core::init("key", None, None).base_id().to_owned();
        body.await;
        osprof_core::clean();
        base_id
    }
    .in_current_trace()
    .await;
    events_of(&base_id)
}

/// The statements of the `db` spans in `events`, in start order.
pub fn db_statements(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["name"] == "db-start")
        .map(|e| e["info"]["db"]["statement"].as_str().unwrap().to_owned())
        .collect()
}

/// A two-worker multi-thread runtime, so that tasks move between threads.
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A current-thread runtime: what `#[tokio::main(flavor = "current_thread")]` and
/// `#[tokio::test]` build, where spawned tasks run on the thread of `block_on`.
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `info.function.name` of every start event, in order.
pub fn function_names(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("-start"))
        .map(|e| e["info"]["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `python3 <script>`, the interpreter named by `OSPROF_PYTHON` if set; `script` is a path
/// relative to the workspace root. The tests' Python peers need `pip install -r
/// .ci/python-requirements.txt`.
pub fn python(script: &str) -> std::process::Command {
    let interpreter = std::env::var("OSPROF_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = std::process::Command::new(interpreter);
    command.arg(root.join(script));
    command
}

/// The JSON a Python peer printed; fails the test with its stderr if it failed.
pub fn python_output(output: std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "python failed (is osprofiler installed? pip install -r .ci/python-requirements.txt): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A report without the microsecond fields that OSProfiler's reports do not have.
pub fn without_micros(mut report: Value) -> Value {
    let mut nodes: Vec<&mut Value> = report["children"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .collect();
    while let Some(node) = nodes.pop() {
        if let Some(info) = node["info"].as_object_mut() {
            info.remove("started_us");
            info.remove("finished_us");
        }
        if let Some(children) = node["children"].as_array_mut() {
            nodes.extend(children.iter_mut());
        }
    }
    report
}

/// Every payload delivered so far to this binary's sink, after a flush.
pub fn all_events() -> Vec<Value> {
    osprof_core::notifier::flush();
    EVENTS.lock().unwrap().clone()
}

/// The `name` of each payload in `events`, in order.
pub fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["name"].as_str().unwrap())
        .collect()
}

//! Golden tests for the exports: folded stacks, Chrome trace events and the diff of two
//! traces, each compared with a file under `tests/golden/`. A deliberate change of format is
//! written there by running the tests with `OSPROF_BLESS=1`, and reviewed in the diff.

use std::path::PathBuf;

use osprof_core::report::{self, Report};
use serde_json::{Value, json};

/// An event at `2026-11-22T10:00:00` plus `micros`, from `service`.
fn event(
    name: &str,
    trace_id: &str,
    parent_id: &str,
    micros: u64,
    service: &str,
    info: Value,
) -> Value {
    json!({
        "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
        "project": "nova", "service": service, "info": info,
        "timestamp": format!("2026-11-22T10:00:{:02}.{:06}", micros / 1_000_000, micros % 1_000_000),
    })
}

/// A request to `api` that runs a traced function, two queries side by side (overlapping)
/// and a call to `backend`, which fails after `backend_micros`.
fn trace(backend_micros: u64) -> Report {
    let host = |extra: Value| {
        let mut info = json!({"host": "node-1"});
        info.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        info
    };
    let function =
        json!({"function": {"name": "nova::quota::check", "args": "[]", "kwargs": "{}"}});
    let query = json!({"db": {"statement": "SELECT 1", "params": {}}});
    let call = json!({"requests": {"method": "GET", "hostname": "backend", "port": 80, "path": "/v1", "query": "", "scheme": "http"}});
    let rpc_end = 4_000 + backend_micros;
    report::build([
        event(
            "wsgi-start",
            "w",
            "b",
            0,
            "api",
            host(
                json!({"request": {"method": "GET", "path": "/servers", "query": "", "scheme": "http"}}),
            ),
        ),
        event("function-start", "f", "w", 100, "api", host(function)),
        event("db-start", "d1", "f", 200, "api", host(query.clone())),
        event("db-start", "d2", "f", 300, "api", host(query)),
        event("db-stop", "d1", "f", 1_200, "api", host(json!({}))),
        event("db-stop", "d2", "f", 1_500, "api", host(json!({}))),
        event("function-stop", "f", "w", 2_000, "api", host(json!({}))),
        event("http-start", "h", "w", 3_000, "api", host(call)),
        event(
            "wsgi-start",
            "bw",
            "h",
            3_500,
            "backend",
            host(
                json!({"request": {"method": "GET", "path": "/v1", "query": "", "scheme": "http"}}),
            ),
        ),
        event(
            "wsgi-stop",
            "bw",
            "h",
            rpc_end - 500,
            "backend",
            host(json!({"etype": "builtins.ValueError", "message": "bad"})),
        ),
        event("http-stop", "h", "w", rpc_end, "api", host(json!({}))),
        event(
            "wsgi-stop",
            "w",
            "b",
            rpc_end + 1_000,
            "api",
            host(json!({})),
        ),
    ])
}

/// Compares `actual` with the golden file `name`, or writes it with `OSPROF_BLESS=1`.
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("OSPROF_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (OSPROF_BLESS=1 writes it)", path.display()));
    assert_eq!(
        actual, expected,
        "{name} differs from its golden file; OSPROF_BLESS=1 rewrites it"
    );
}

#[test]
fn folded_stacks() {
    golden("trace.folded", &report::folded(&trace(2_000)));
}

#[test]
fn chrome_trace_events() {
    let events = report::chrome_trace(&trace(2_000));
    golden("trace.chrome.json", &format!("{events:#}\n"));
}

#[test]
fn diff_as_json_and_text() {
    let compared = report::diff(&trace(2_000), &trace(7_000));
    golden("diff.json", &format!("{:#}\n", compared.to_json()));
    golden("diff.txt", &compared.to_text());
    // The slowest paths first, the deepest of equal ones first: the backend's request, 5 ms
    // slower, then the calls around it.
    assert_eq!(compared.paths[0].path, ["wsgi", "http", "wsgi"]);
    assert_eq!(compared.paths[0].delta_us, 5_000);
    assert_eq!(compared.after.total_us - compared.before.total_us, 5_000);
}

#[test]
fn a_diff_of_a_trace_with_itself_changes_nothing() {
    let compared = report::diff(&trace(2_000), &trace(2_000));
    assert!(
        compared
            .paths
            .iter()
            .all(|path| path.delta_us == 0 && path.count[0] == path.count[1])
    );
    assert_eq!(compared.paths.len(), 5, "the two queries share a path");
}

#[test]
fn paths_found_on_one_side_only_have_zeros_on_the_other() {
    let empty = report::build([]);
    let compared = report::diff(&empty, &trace(2_000));
    assert_eq!(compared.before.spans, 0);
    assert_eq!(compared.after.spans, 6);
    assert!(
        compared
            .paths
            .iter()
            .all(|path| path.count == [0, path.count[1]] && path.count[1] > 0)
    );
    let gone = report::diff(&trace(2_000), &empty);
    assert_eq!(gone.paths[0].delta_us, -1_900, "the smallest loss first");
    assert_eq!(gone.paths[4].path, ["wsgi"], "the root's loss last");
}

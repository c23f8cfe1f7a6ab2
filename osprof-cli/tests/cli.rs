//! The `osprof` binary: output formats, saved reports, stores, exit codes and messages.

use std::path::Path;
use std::process::{Command, Output};

use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::Driver;
use serde_json::{Value, json};

const BASE: &str = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";

fn event(
    name: &str,
    base_id: &str,
    trace_id: &str,
    parent_id: &str,
    micros: u32,
    info: Value,
) -> Value {
    json!({"name": name, "base_id": base_id, "trace_id": trace_id, "parent_id": parent_id,
           "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info})
}

/// A `file://` store holding one trace: a `wsgi` request with a failing `db "quoted"` query.
fn store(dir: &Path) -> String {
    let path = dir.join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
    let request = json!({"host": "vm", "request": {"method": "GET", "path": "/v2/servers", "query": "", "scheme": "http"}});
    for payload in [
        event("wsgi-start", BASE, "w", BASE, 0, request),
        event(
            "db \"quoted\"-start",
            BASE,
            "d",
            "w",
            1_000,
            json!({"host": "vm"}),
        ),
        event(
            "db \"quoted\"-stop",
            BASE,
            "d",
            "w",
            3_000,
            json!({"host": "vm", "etype": "IntegrityError", "message": "duplicate"}),
        ),
        event("wsgi-stop", BASE, "w", BASE, 5_000, json!({"host": "vm"})),
    ] {
        driver.notify(&payload).unwrap();
    }
    format!("file://{}", path.display())
}

fn osprof(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(args)
        .env_remove("OSPROF_CONNECTION_STRING")
        .env_remove("OSPROFILER_CONNECTION_STRING")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Asserts that the command exited with `code` and said `says` on standard error.
fn assert_fails(output: &Output, code: i32, says: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    assert!(stderr(output).contains(says), "{}", stderr(output));
}

#[test]
fn show_json_prints_the_stores_report_indented_by_two_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());

    let text = stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--connection-string",
        &store,
    ]));

    assert!(text.starts_with("{\n  \"info\": {"), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let expected = FileDriver::open(dir.path().join("events.jsonl"), &DriverOptions::default())
        .unwrap()
        .get_report(BASE)
        .unwrap();
    assert_eq!(report, expected);
    assert_eq!(
        report["children"][0]["children"][0]["info"]["exception"],
        "IntegrityError"
    );
}

#[test]
fn a_saved_report_needs_no_store_and_out_writes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let saved = dir.path().join("report.json");
    let saved_text = saved.to_str().unwrap();
    stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--out",
        saved_text,
        "--connection-string",
        &store,
    ]));

    let again = stdout(&osprof(&["trace", "show", saved_text, "--json"]));

    assert_eq!(again, std::fs::read_to_string(&saved).unwrap());
}

#[test]
fn dot_output_is_valid_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let graph = stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--dot",
        "--connection-string",
        &store,
    ]));
    assert!(
        graph.contains(r#"label="api:wsgi - 5 ms\nGET /v2/servers""#),
        "{graph}"
    );
    assert!(
        graph.contains(r#"label="api:db \"quoted\" - 2 ms""#),
        "{graph}"
    );
    assert!(graph.contains("0 -> 1;"), "{graph}");

    let graph_file = dir.path().join("trace.dot");
    std::fs::write(&graph_file, &graph).unwrap();
    let rendered = Command::new("dot")
        .arg("-Tsvg")
        .arg(&graph_file)
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("<svg"));
}

#[test]
fn errors_have_exit_codes_and_messages_a_script_can_rely_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let missing = "11111111-2222-4333-8444-555555555555";

    let not_found = osprof(&[
        "trace",
        "show",
        missing,
        "--json",
        "--connection-string",
        &store,
    ]);
    assert_eq!(not_found.status.code(), Some(1));
    assert_eq!(
        stderr(&not_found),
        format!(
            "osprof: Trace with UUID {missing} not found. Please check the trace id and the connection string.\n"
        )
    );

    let no_store = osprof(&["trace", "show", missing, "--json"]);
    assert_fails(
        &no_store,
        2,
        "pass --connection-string or set OSPROF_CONNECTION_STRING",
    );

    let unknown = osprof(&["trace", "list", "--connection-string", "pigeon://loft"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        stderr(&unknown),
        "osprof: Driver not found for connection string: pigeon://loft\n"
    );

    let no_format = osprof(&["trace", "show", BASE]);
    assert_eq!(no_format.status.code(), Some(2));
}

#[test]
fn list_and_error_list_read_the_store_and_osprofilers_variable_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());

    let table = stdout(&osprof(&["trace", "list", "--connection-string", &store]));
    assert_eq!(
        table,
        format!(
            "{:<36}  timestamp\n{BASE}  2026-11-22T10:00:00.000000\n",
            "base_id"
        )
    );

    let errors = Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(["trace", "list", "--error-trace", "--json"])
        .env_remove("OSPROF_CONNECTION_STRING")
        .env("OSPROFILER_CONNECTION_STRING", &store)
        .output()
        .unwrap();
    let errors: Value = serde_json::from_str(&stdout(&errors)).unwrap();
    assert_eq!(
        errors,
        json!([{"base_id": BASE, "timestamp": "2026-11-22T10:00:00.003000"}])
    );
}

#[test]
fn shows_a_trace_that_python_osprofiler_wrote_to_redis() {
    let redis = "redis://127.0.0.1:6379/3";
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();
    let interpreter = std::env::var("OSPROF_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../osprof-core/tests/python/redis_write.py"
    );
    let written = Command::new(interpreter)
        .args([script, redis, &base_id])
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "pip install -r .ci/python-requirements.txt? {}",
        stderr(&written)
    );

    let text = stdout(&osprof(&[
        "trace",
        "show",
        &base_id,
        "--json",
        "--connection-string",
        redis,
    ]));

    let report: Value = serde_json::from_str(&text).unwrap();
    let wsgi = &report["children"][0];
    assert_eq!(
        (&wsgi["info"]["name"], &wsgi["info"]["service"]),
        (&json!("wsgi"), &json!("api"))
    );
    assert_eq!(wsgi["children"].as_array().unwrap().len(), 2);
}

#[test]
fn text_prints_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let text = stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--text",
        "--connection-string",
        &store,
    ]));
    assert_eq!(
        text,
        "wsgi  5.000 ms  (api@vm)\n  db \"quoted\"  2.000 ms  (api@vm)  error: IntegrityError\n"
    );
}

#[test]
fn what_cannot_be_a_trace_id_never_reaches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for id in ["*", "4e3e*", "a?b", "[ab]", "", &"x".repeat(256)] {
        let shown = osprof(&["trace", "show", id, "--json", "--connection-string", &store]);
        assert_eq!(shown.status.code(), Some(2), "{id}");
        assert!(
            stderr(&shown).contains("is neither a trace id"),
            "{id}: {}",
            stderr(&shown)
        );
    }
}

/// SQL stores, written through the library and read by the binary: SQLite, and the
/// machine's PostgreSQL.
#[test]
fn sql_stores_are_read() {
    osprof_sqlx::register_drivers();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("traces.db").display());
    for store in [sqlite.as_str(), "postgresql://postgres@127.0.0.1:5432/test"] {
        let driver =
            osprof_core::notifier::try_create(store, &DriverOptions::new("nova", "api")).unwrap();
        let base = uuid::Uuid::new_v4().to_string();
        for payload in [
            event("wsgi-start", &base, "w", &base, 0, json!({"host": "vm"})),
            event("wsgi-stop", &base, "w", &base, 2_000, json!({"host": "vm"})),
        ] {
            driver.notify(&payload).unwrap();
        }
        driver.flush().unwrap();
        let text = stdout(&osprof(&[
            "trace",
            "show",
            &base,
            "--text",
            "--connection-string",
            store,
        ]));
        assert_eq!(text, "wsgi  2.000 ms  (api@vm)\n", "{store}");
        let list = stdout(&osprof(&["trace", "list", "--connection-string", store]));
        assert!(list.contains(&base), "{store}: {list}");
    }
}

#[test]
fn a_store_that_cannot_be_read_says_why() {
    let unreadable = osprof(&[
        "trace",
        "list",
        "--connection-string",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    ]);
    assert_fails(&unreadable, 1, "use a storage driver");
}

/// A server that takes connections and never answers, as a hung store does.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut held = Vec::new();
        // Two connections are enough for one read; then the thread ends.
        for connection in listener.incoming().take(2).flatten() {
            held.push(connection);
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    });
    (port, server)
}

/// A Redis that takes the connection and never answers: the read fails once the socket
/// timeout has passed, not once per command of the greeting (AUTH, SELECT, PING).
#[test]
fn a_store_that_hangs_fails_within_the_socket_timeout() {
    let (port, _server) = silent_server();
    let started = std::time::Instant::now();
    let shown = osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--socket-timeout",
        "1",
        "--connection-string",
        &format!("redis://:secret@127.0.0.1:{port}/2"),
    ]);
    let waited = started.elapsed();
    // One timeout, with room for a loaded machine; one per command would be 3 s or more.
    assert!(
        waited < std::time::Duration::from_millis(1900),
        "{waited:?}"
    );
    assert_fails(&shown, 1, "did not answer within the socket timeout (1s)");
    let bad = osprof(&["trace", "list", "--socket-timeout", "soon"]);
    assert_fails(&bad, 2, "is not a number of seconds");
}

/// OSProfiler's messaging read-back: events sent by Python OSProfiler through oslo.messaging
/// and by osprof's own driver are read from RabbitMQ's `profiler.info` queue, and stay there.
#[test]
fn messaging_reads_the_queue_and_leaves_it_as_it_was() {
    let transport_url = "amqp://guest:guest@127.0.0.1:5672/%2f";
    let python_trace = uuid::Uuid::new_v4().to_string();
    let interpreter = std::env::var("OSPROF_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../osprof-core/tests/python/messaging_write.py"
    );
    let written = Command::new(interpreter)
        .args([
            script,
            "rabbit://guest:guest@127.0.0.1:5672/",
            &python_trace,
        ])
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "pip install -r .ci/python-requirements.txt? {}",
        stderr(&written)
    );
    let rust_trace = uuid::Uuid::new_v4().to_string();
    let driver =
        osprof_core::notifier::try_create(transport_url, &DriverOptions::new("nova", "compute"))
            .unwrap();
    for payload in [
        event(
            "rpc-start",
            &rust_trace,
            "r",
            &rust_trace,
            0,
            json!({"host": "vm"}),
        ),
        event(
            "rpc-stop",
            &rust_trace,
            "r",
            &rust_trace,
            4_000,
            json!({"host": "vm"}),
        ),
    ] {
        driver.notify(&payload).unwrap();
    }
    driver.flush().unwrap();

    let show = |trace: &str| {
        stdout(&osprof(&[
            "trace",
            "show",
            trace,
            "--text",
            "--connection-string",
            "messaging://",
            "--transport-url",
            transport_url,
            "--idle-timeout",
            "0.5",
        ]))
    };
    assert_eq!(
        show(&python_trace),
        "wsgi  5.000 ms  (api@python-host)\n  db  2.000 ms  (api@python-host)\n"
    );
    assert_eq!(show(&rust_trace), "rpc  4.000 ms  (compute@vm)\n");
    // Read again: nothing was taken from the queue.
    assert_eq!(show(&rust_trace), "rpc  4.000 ms  (compute@vm)\n");

    let missing = osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--connection-string",
        "messaging://",
        "--transport-url",
        transport_url,
        "--idle-timeout",
        "0.2",
    ]);
    assert_fails(&missing, 1, "not found");
}

#[test]
fn render_dot_writes_the_graph_through_graphviz() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (name, magic) in [("trace.pdf", &b"%PDF"[..]), ("trace.svg", b"<?xml")] {
        let file = dir.path().join(name);
        let text = stdout(&osprof(&[
            "trace",
            "show",
            BASE,
            "--dot",
            "--render-dot",
            file.to_str().unwrap(),
            "--connection-string",
            &store,
        ]));
        assert!(text.starts_with("digraph"), "{text}");
        let rendered = std::fs::read(&file).unwrap();
        assert!(rendered.starts_with(magic), "{name}");
    }
    let without_dot = osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--render-dot",
        "x.pdf",
        "--connection-string",
        &store,
    ]);
    assert_eq!(without_dot.status.code(), Some(2));
    let unknown_format = osprof(&[
        "trace",
        "show",
        BASE,
        "--dot",
        "--render-dot",
        dir.path().join("trace.nosuchformat").to_str().unwrap(),
        "--connection-string",
        &store,
    ]);
    assert_fails(&unknown_format, 1, "cannot render");
}

#[test]
fn folded_stacks_are_drawn_by_inferno() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let folded = stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--folded",
        "--connection-string",
        &store,
    ]));
    // wsgi's 5 ms less its child's 2 ms, then the child's own 2 ms.
    assert_eq!(folded, "wsgi 3000\nwsgi;db \"quoted\" 2000\n");

    let mut svg = Vec::new();
    let mut options = inferno::flamegraph::Options::default();
    inferno::flamegraph::from_lines(&mut options, folded.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100.min(svg.len())]);
    for frame in ["wsgi", "db &quot;quoted&quot;"] {
        assert!(svg.contains(frame), "{frame} is not drawn");
    }
}

#[test]
fn chrome_writes_trace_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let out = dir.path().join("trace.json");
    let shown = osprof(&[
        "trace",
        "show",
        BASE,
        "--chrome",
        "--out",
        out.to_str().unwrap(),
        "--connection-string",
        &store,
    ]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let names: Vec<&str> = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["wsgi", "db \"quoted\""]);
}

#[test]
fn diff_compares_two_traces_slowest_path_first() {
    const AFTER: &str = "9a1c3f0e-5b7d-4e2a-8c6f-0d1e2f3a4b5c";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
    // The same request twice; the second one's query takes 6 ms instead of 2.
    for (base, query_end, request_end) in [(BASE, 3_000, 5_000), (AFTER, 7_000, 9_000)] {
        for payload in [
            event("wsgi-start", base, "w", base, 0, json!({"host": "vm"})),
            event("db-start", base, "d", "w", 1_000, json!({"host": "vm"})),
            event("db-stop", base, "d", "w", query_end, json!({"host": "vm"})),
            event(
                "wsgi-stop",
                base,
                "w",
                base,
                request_end,
                json!({"host": "vm"}),
            ),
        ] {
            driver.notify(&payload).unwrap();
        }
    }
    let store = format!("file://{}", path.display());
    let diff = |args: &[&str]| {
        let mut all = vec!["trace", "diff"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--connection-string", &store]);
        osprof(&all)
    };

    let table = stdout(&diff(&[BASE, AFTER]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "before: 2 spans, 5.000 ms    after: 2 spans, 9.000 ms    change: +4.000 ms"
    );
    assert!(
        lines[3].starts_with("   +4.000 ms      2.000 ms      6.000 ms       1 -> 1  wsgi > db"),
        "{table}"
    );

    let json: Value = serde_json::from_str(&stdout(&diff(&[BASE, AFTER, "--json"]))).unwrap();
    assert_eq!(json["paths"][0]["path"], json!(["wsgi", "db"]));
    assert_eq!(json["paths"][0]["delta_us"], 4_000);
    assert_eq!(json["paths"][1]["own_us"], json!([3_000, 3_000]));

    // A saved report compares as well as a stored trace; the page is one static file.
    let saved = dir.path().join("before.json");
    stdout(&osprof(&[
        "trace",
        "show",
        BASE,
        "--json",
        "--out",
        saved.to_str().unwrap(),
        "--connection-string",
        &store,
    ]));
    let page = stdout(&diff(&[saved.to_str().unwrap(), AFTER, "--html"]));
    assert!(page.starts_with("<!DOCTYPE html>") && !page.contains("<script"));
    assert!(
        page.contains("<tr class=\"slower\"><td>+4.000 ms</td>"),
        "{page}"
    );

    assert_fails(
        &diff(&[BASE, "0e0e0e0e-0000-4000-8000-000000000000"]),
        1,
        "Trace with UUID 0e0e0e0e-0000-4000-8000-000000000000 not found",
    );
}

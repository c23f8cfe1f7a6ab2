//! `osprof trace show --html` in a real headless Chromium, driven through ChromeDriver's
//! WebDriver API: the page loads with no network and no console errors, labels spans with
//! what they did, opens the critical path, answers clicks, keys and searches, draws its flame
//! and totals views, is not scripted by trace data, and is photographed (the PNGs are left
//! in the target directory's `tmp`, to be looked at).

mod common;

use std::path::Path;
use std::process::Command;

use common::{ChromeDriver, Session};
use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::Driver;
use serde_json::{Value, json};

const BASE: &str = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
const EVIL: &str = "</script><script>window.pwned = 1</script> $& $' <!--";

/// A store holding one trace, its events in the order Redis gives them back (newest first):
/// `wsgi` (5 ms) > a failing `db` query (2 ms, with a child whose name is hostile text),
/// then the traced function `slow_quota_check` (1.6 ms) > `b` (40 µs) and `a` (100 µs, on
/// `backend`), which start within the same millisecond.
fn store(dir: &Path) -> String {
    let path = dir.join("events.jsonl");
    // Drivers stamp each payload with their service, as OSProfiler's do.
    let api = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
    let backend = FileDriver::open(&path, &DriverOptions::new("nova", "backend")).unwrap();
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, info: Value| {
        json!({"name": name, "base_id": BASE, "trace_id": trace_id, "parent_id": parent_id,
               "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info})
    };
    let host = json!({"host": "vm"});
    let mut events = vec![
        event(
            "wsgi-start",
            "w",
            BASE,
            0,
            json!({"host": "vm", "request": {"method": "GET", "path": "/v2/servers", "query": "", "scheme": "http"}}),
        ),
        event(
            "db-start",
            "d",
            "w",
            1_000,
            json!({"host": "vm", "db": {"statement": "SELECT *\n  FROM instances", "params": {}}}),
        ),
        event(&format!("{EVIL}-start"), "e", "d", 1_500, host.clone()),
        event(&format!("{EVIL}-stop"), "e", "d", 1_600, host.clone()),
        event(
            "db-stop",
            "d",
            "w",
            3_000,
            json!({"host": "vm", "etype": "IntegrityError", "message": "duplicate key"}),
        ),
        event(
            "function-start",
            "f",
            "w",
            3_200,
            json!({"host": "vm", "function": {"name": "nova::compute::slow_quota_check", "args": "[]", "kwargs": "{}"}}),
        ),
        event("b-start", "b", "f", 4_050, host.clone()),
        event("b-stop", "b", "f", 4_090, host.clone()),
        event("a-start", "a", "f", 4_100, host.clone()),
        event("a-stop", "a", "f", 4_200, host.clone()),
        event("function-stop", "f", "w", 4_800, host.clone()),
        event("wsgi-stop", "w", BASE, 5_000, host),
    ];
    events.reverse();
    for payload in events {
        let driver = if payload["trace_id"] == "a" {
            &backend
        } else {
            &api
        };
        driver.notify(&payload).unwrap();
    }
    format!("file://{}", path.display())
}

/// Runs `osprof trace show` with `args`, which must succeed.
fn show(args: &[&str]) {
    let shown = Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(["trace", "show"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
}

/// The text of each element matching `css`, in order.
fn texts(session: &Session<'_>, css: &str) -> Value {
    session.script(&format!(
        "return [...document.querySelectorAll({css:?})].map(e => e.textContent)"
    ))
}

fn search(session: &Session<'_>, text: &str) {
    session.script(&format!(
        "const s = document.getElementById('search'); s.value = {text:?}; s.dispatchEvent(new Event('input')); return null"
    ));
}

/// The id (`data-id`) of the selected row.
fn selected(session: &Session<'_>) -> Value {
    session.script("return document.querySelector('.row.selected').dataset.id")
}

#[test]
fn the_html_report_answers_where_the_time_went() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let page = dir.path().join("report.html");
    show(&[
        BASE,
        "--html",
        "--out",
        page.to_str().unwrap(),
        "--connection-string",
        &store,
    ]);

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    session.open(&format!("file://{}", page.display()));

    // The header times a trace under a few milliseconds exactly.
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "6 spans, 5.000 ms"
    );
    // Rows say what each span did; the critical path (wsgi > slow_quota_check > a) is open,
    // and siblings are in their true start order (b before a), whatever the store's order.
    assert_eq!(
        texts(&session, ".row .fn"),
        json!([
            "GET /v2/servers",
            "SELECT * FROM instances",
            "nova::compute::slow_quota_check",
            "b",
            "a"
        ])
    );
    assert_eq!(
        texts(&session, ".row.critical .fn"),
        json!(["GET /v2/servers", "nova::compute::slow_quota_check", "a"])
    );
    assert_eq!(
        texts(&session, ".row .place"),
        json!(["api@vm", "api@vm", "api@vm", "api@vm", "backend@vm"])
    );
    assert_eq!(
        texts(&session, ".row .chip"),
        json!(["wsgi", "db", "function"])
    );
    assert_eq!(
        texts(&session, ".row.error .err"),
        json!(["⚠ IntegrityError"])
    );
    // Total and own time: wsgi's 5 ms less the 2 ms and 1.6 ms of its children.
    assert_eq!(
        texts(&session, ".row .total"),
        json!(["5.000 ms", "2.000 ms", "1.600 ms", "40 µs", "100 µs"])
    );
    assert_eq!(
        texts(&session, ".row .own"),
        json!(["1.400 ms", "1.900 ms", "1.460 ms", "40 µs", "100 µs"])
    );
    // Bars are on the trace's scale: the root's fills the time line.
    assert_eq!(
        session.script("return document.querySelector('.row .bar span').style.width"),
        "100%"
    );
    session.screenshot("osprof-report-tree.png");

    // A click on db's toggle shows its child, whose name is the trace's text, inert.
    session.click(".row[data-id='1'] .toggle");
    assert_eq!(texts(&session, ".row .fn")[2], EVIL);
    assert_eq!(session.script("return window.pwned === undefined"), true);

    // A click on a row selects it and shows its ids, times and payloads.
    session.click(".row[data-id='3'] .fn");
    let details = session.script("return document.getElementById('details').textContent");
    let details = details.as_str().unwrap();
    for part in [
        "nova::compute::slow_quota_check",
        "trace_id  f",
        "parent_id w",
        "start     +3.200 ms",
        "own       1.460 ms",
        "on the critical path",
        "\"kwargs\": \"{}\"",
    ] {
        assert!(details.contains(part), "{part} not in {details}");
    }

    // The keyboard moves the selection and opens and closes spans.
    session.script("document.getElementById('tree').focus(); return null");
    session.keys(&["\u{E015}"]); // down: to b
    assert_eq!(selected(&session), "4");
    session.keys(&["\u{E012}", "\u{E012}"]); // left: to its parent, then close it
    assert_eq!(selected(&session), "3");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        4
    );
    session.keys(&["\u{E014}", "\u{E014}"]); // right: open, then into its first child
    assert_eq!(selected(&session), "4");
    session.keys(&["\u{E011}"]); // Home
    assert_eq!(selected(&session), "0");

    // Search covers statements, services and info values; matches show with their ancestors.
    for (text, matches) in [
        (
            "instances",
            json!(["GET /v2/servers", "SELECT * FROM instances"]),
        ),
        (
            "backend",
            json!(["GET /v2/servers", "nova::compute::slow_quota_check", "a"]),
        ),
        (
            "duplicate key",
            json!(["GET /v2/servers", "SELECT * FROM instances"]),
        ),
    ] {
        search(&session, text);
        assert_eq!(texts(&session, ".row .fn"), matches, "search {text}");
        assert_eq!(
            texts(&session, ".row.match .fn").as_array().unwrap().len(),
            1
        );
    }
    assert_eq!(
        session.script("return document.getElementById('matches').textContent"),
        "1 match"
    );
    search(&session, "");

    // Collapse all leaves the root; expand all shows every span.
    session.click("#collapse-all");
    assert_eq!(texts(&session, ".row .fn"), json!(["GET /v2/servers"]));
    session.click("#expand-all");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        6
    );

    // Totals per name, sorted by count; a row finds its spans in the tree.
    session.click("#view-totals");
    session.click("#totals th[data-sort='count']");
    let rows = session.script(
        "return [...document.querySelectorAll('#totals tbody tr')].map(r => [...r.cells].map(c => c.textContent))",
    );
    assert_eq!(
        rows[0],
        json!(["wsgi", "1", "5.000 ms", "1.400 ms", "5.000 ms"])
    );
    assert_eq!(rows.as_array().unwrap().len(), 6);
    session.screenshot("osprof-report-totals.png");
    session.script("document.getElementById('group').value = 'label'; document.getElementById('group').dispatchEvent(new Event('change')); return null");
    session.click("#totals th[data-sort='total']"); // the longest first
    session.click("#totals tbody tr:nth-child(2)");
    assert_eq!(
        session.script("return document.getElementById('chip-text').textContent"),
        "function = SELECT * FROM instances"
    );
    assert_eq!(
        texts(&session, ".row.match .fn"),
        json!(["SELECT * FROM instances"])
    );
    session.click("#chip-clear");

    // The flame view: a click on slow_quota_check's box (depth 1, 3.2 to 4.8 ms) zooms into it.
    session.click("#view-flame");
    let at = session.script(
        "const r = document.getElementById('flame-canvas').getBoundingClientRect(); return [r.left + r.width * 4 / 5, r.top + 18 * 1.5]",
    );
    session.click_at(at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    assert_eq!(
        session.script("return document.getElementById('flame-range').textContent"),
        "3.200 ms to 4.800 ms"
    );
    let details = session.script("return document.getElementById('details').textContent");
    assert!(
        details
            .as_str()
            .unwrap()
            .starts_with("nova::compute::slow_quota_check"),
        "{details}"
    );
    session.screenshot("osprof-report-flame.png");

    // Nothing was fetched, nothing was logged as an error.
    assert_eq!(
        session.script("return performance.getEntriesByType('resource').length"),
        0
    );
    session.assert_no_console_errors();
}

/// Loads `page` and returns how many milliseconds after navigation the page was ready, as
/// the page itself measured.
fn open_and_time(session: &Session<'_>, page: &Path) -> f64 {
    session.open(&format!("file://{}", page.display()));
    session.wait_for("return document.body.dataset.readyMs !== undefined");
    let ready = session.script("return Number(document.body.dataset.readyMs)");
    ready.as_f64().unwrap()
}

#[test]
fn a_100k_span_trace_opens_and_draws_only_what_is_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32| {
        json!({"name": name, "base_id": BASE, "trace_id": trace_id, "parent_id": parent_id,
               "timestamp": format!("2026-11-22T10:00:{:02}.{:06}", micros / 1_000_000, micros % 1_000_000)})
    };
    driver
        .notify(&event("wsgi-start", "root", BASE, 0))
        .unwrap();
    for call in 0..99_999_u32 {
        let id = format!("call-{call}");
        driver
            .notify(&event("call-start", &id, "root", call * 10))
            .unwrap();
        driver
            .notify(&event("call-stop", &id, "root", call * 10 + 5))
            .unwrap();
    }
    driver
        .notify(&event("wsgi-stop", "root", BASE, 1_000_000))
        .unwrap();
    let page = dir.path().join("report.html");
    show(&[
        BASE,
        "--html",
        "--out",
        page.to_str().unwrap(),
        "--connection-string",
        &format!("file://{}", path.display()),
    ]);

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    let ready = open_and_time(&session, &page);
    eprintln!("100k spans: page ready {ready:.0} ms after navigation");
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "100000 spans, 1.000 s"
    );
    // 100,000 rows are open, a screenful of them is drawn.
    let drawn = session.script("return document.querySelectorAll('.row').length");
    assert!(drawn.as_u64().unwrap() < 60, "{drawn} rows drawn");
    session.script(
        "const t = document.getElementById('tree'); t.scrollTop = t.scrollHeight; return null",
    );
    session.wait_for("const rows = document.querySelectorAll('.row'); return rows[rows.length - 1].dataset.id === '99999'");
    search(&session, "call-9999");
    assert_eq!(
        session.script("return document.getElementById('matches').textContent"),
        "10 matches"
    );
    session.click("#view-flame");
    session.click("#view-totals");
    assert_eq!(
        texts(&session, "#totals tbody tr td:first-child"),
        json!(["wsgi", "call"])
    );
    session.assert_no_console_errors();
}

/// A chain of 100,000 nested calls: saved as JSON by `--json`, read back from that file by
/// the same command, drawn as DOT and as a page that Chromium shows (nothing in the page's
/// script recurses once per level).
#[test]
fn a_100k_deep_trace_is_saved_read_back_and_shown() {
    let depth = 100_000_u32;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    for level in 0..depth {
        let parent = if level == 0 {
            BASE.to_owned()
        } else {
            format!("s{}", level - 1)
        };
        for (name, micros) in [("call-start", level), ("call-stop", 2 * depth - level)] {
            driver
                .notify(
                    &json!({"name": name, "base_id": BASE, "trace_id": format!("s{level}"),
                                "parent_id": parent,
                                "timestamp": format!("2026-11-22T10:00:00.{micros:06}")}),
                )
                .unwrap();
        }
    }
    let store = format!("file://{}", path.display());
    let saved = dir.path().join("report.json");
    show(&[
        BASE,
        "--json",
        "--out",
        saved.to_str().unwrap(),
        "--connection-string",
        &store,
    ]);
    let dot = Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(["trace", "show", saved.to_str().unwrap(), "--dot"])
        .output()
        .unwrap();
    let dot = String::from_utf8(dot.stdout).unwrap();
    assert_eq!(dot.matches(" -> ").count(), depth as usize - 1);
    let page = dir.path().join("report.html");
    show(&[
        saved.to_str().unwrap(),
        "--html",
        "--out",
        page.to_str().unwrap(),
    ]);

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    open_and_time(&session, &page);
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "100000 spans, 200.000 ms"
    );
    // The critical path is the whole chain, open to its end.
    assert_eq!(
        session.script("return document.body.dataset.criticalPath"),
        "100000"
    );
    session.script(
        "const t = document.getElementById('tree'); t.scrollTop = t.scrollHeight; return null",
    );
    session.wait_for("const rows = document.querySelectorAll('.row'); return rows[rows.length - 1].getAttribute('aria-level') === '100000'");
    // Collapsing the root leaves one row; a search for the deepest span opens every level.
    session.click("#collapse-all");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        1
    );
    search(&session, "s99999");
    session.script(
        "const t = document.getElementById('tree'); t.scrollTop = t.scrollHeight; return null",
    );
    session.wait_for("const rows = document.querySelectorAll('.row.match'); return rows.length === 1 && rows[0].dataset.id === '99999'");
    session.click("#view-flame");
    session.assert_no_console_errors();
}

/// A trace of 1,000,000 spans (1000 requests of 999 queries) loads, scrolls to its last
/// span, and expands and searches without freezing the page.
#[test]
fn a_million_span_trace_loads_without_freezing() {
    let requests = 1_000_u32;
    let events = (0..requests).flat_map(|request| {
        let request_id = format!("r{request}");
        let at = |micros: u32| {
            format!(
                "2026-11-22T10:{:02}:{:02}.{:06}",
                micros / 60_000_000,
                micros / 1_000_000 % 60,
                micros % 1_000_000
            )
        };
        let begin = request * 100_000;
        let span = |name: &str, id: String, parent: String, from: u32, to: u32| {
            let start = json!({"name": format!("{name}-start"), "base_id": BASE, "trace_id": id,
                               "parent_id": parent, "timestamp": at(from)});
            let mut stop = start.clone();
            stop["name"] = json!(format!("{name}-stop"));
            stop["timestamp"] = json!(at(to));
            [start, stop]
        };
        let queries = (0..999_u32).flat_map(move |query| {
            span(
                "db",
                format!("r{request}q{query}"),
                format!("r{request}"),
                begin + query * 100,
                begin + query * 100 + 50,
            )
        });
        span("wsgi", request_id, BASE.to_owned(), begin, begin + 100_000)
            .into_iter()
            .chain(queries)
            .collect::<Vec<Value>>()
    });
    let report = osprof_core::report::build(events);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, osprof_core::report::to_html(&report)).unwrap();
    drop(report);

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    let ready = open_and_time(&session, &page);
    eprintln!("1M spans: page ready {ready:.0} ms after navigation");
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "1000000 spans, 100.000 s"
    );
    session.click("#expand-all");
    session.script(
        "const t = document.getElementById('tree'); t.scrollTop = t.scrollHeight; return null",
    );
    session.wait_for("const rows = document.querySelectorAll('.row'); return rows[rows.length - 1].dataset.id === '999999'");
    let drawn = session.script("return document.querySelectorAll('.row').length");
    assert!(drawn.as_u64().unwrap() < 60, "{drawn} rows drawn");
    search(&session, "r999q998");
    assert_eq!(
        session.script("return document.getElementById('matches').textContent"),
        "1 match"
    );
    session.assert_no_console_errors();
}

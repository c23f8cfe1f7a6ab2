//! osprof's exports opened by a real viewer: the speedscope app (from the npm registry,
//! installed by `.ci/test` under `tests/viewer`), served on loopback and driven in headless
//! Chromium. It reads `--chrome` trace events and `--folded` stacks, and lists our frames
//! with their times in its sandwich view.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ChromeDriver, Session};
use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::Driver;
use serde_json::{Value, json};

const BASE: &str = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";

/// The built speedscope app.
fn speedscope() -> PathBuf {
    let app = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/viewer/node_modules/speedscope/dist/release");
    assert!(
        app.join("index.html").is_file(),
        "{} is missing: run `npm ci --prefix osprof-cli/tests/viewer` (as .ci/test does)",
        app.display()
    );
    app
}

/// Serves the files of `dirs` (the first that has the path wins) on a loopback port, for
/// as long as the test runs; returns the port.
fn serve(dirs: Vec<PathBuf>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            if BufReader::new(&stream).read_line(&mut request).is_err() {
                continue;
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split(['?', '#']).next().unwrap_or_default();
            let path = if path == "/" { "/index.html" } else { path };
            let file = dirs
                .iter()
                .map(|dir| dir.join(path.trim_start_matches('/')))
                .find(|file| !path.contains("..") && file.is_file());
            let response = match file {
                Some(file) => {
                    let body = std::fs::read(&file).unwrap();
                    let kind = match file.extension().and_then(|e| e.to_str()) {
                        Some("html") => "text/html; charset=utf-8",
                        Some("js") => "text/javascript",
                        Some("css") => "text/css",
                        Some("wasm") => "application/wasm",
                        Some("json") => "application/json",
                        Some("png") => "image/png",
                        Some("woff2") => "font/woff2",
                        _ => "text/plain; charset=utf-8",
                    };
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    response.extend(body);
                    response
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    port
}

/// A store with one trace: `wsgi` on `api` calling `nova::quota::check` and a `db` query.
fn store(dir: &Path) -> String {
    let path = dir.join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, info: Value| {
        json!({"name": name, "base_id": BASE, "trace_id": trace_id, "parent_id": parent_id,
               "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info})
    };
    let host = json!({"host": "vm"});
    for payload in [
        event("wsgi-start", "w", BASE, 0, host.clone()),
        event(
            "function-start",
            "f",
            "w",
            1_000,
            json!({"host": "vm", "function": {"name": "nova::quota::check", "args": "[]", "kwargs": "{}"}}),
        ),
        event("db-start", "d", "f", 2_000, host.clone()),
        event("db-stop", "d", "f", 5_000, host.clone()),
        event("function-stop", "f", "w", 6_000, host.clone()),
        event("wsgi-stop", "w", BASE, 8_000, host),
    ] {
        driver.notify(&payload).unwrap();
    }
    format!("file://{}", path.display())
}

/// Opens `file` (served from `port`) in speedscope, waits for it to show the profile
/// `title`, and returns the rows of its sandwich view's table, each as its text.
fn sandwich_rows(session: &Session<'_>, port: u16, file: &str, title: &str) -> Vec<String> {
    // A new page, not a new hash on the old one, which speedscope would not reload.
    session.open("about:blank");
    session.open(&format!(
        "http://127.0.0.1:{port}/index.html#profileURL=http://127.0.0.1:{port}/{file}"
    ));
    // The toolbar names the profile once it is imported.
    session.wait_for(&format!(
        "return document.body.innerText.includes('Sandwich') && document.body.innerText.includes({title:?})"
    ));
    session.script(
        "[...document.querySelectorAll('div')].filter(d => d.textContent.endsWith('Sandwich')).pop().click(); return null",
    );
    session.wait_for("return document.querySelectorAll('table tr').length > 1");
    let rows = session.script(
        "return [...document.querySelectorAll('table tr')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())",
    );
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn speedscope_opens_the_chrome_and_folded_exports() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (flag, file) in [("--chrome", "trace.json"), ("--folded", "trace.folded")] {
        let shown = Command::new(env!("CARGO_BIN_EXE_osprof"))
            .args(["trace", "show", BASE, flag, "--out"])
            .arg(dir.path().join(file))
            .args(["--connection-string", &store])
            .output()
            .unwrap();
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
    }
    let port = serve(vec![speedscope(), dir.path().to_owned()]);

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    // Chrome trace events are named after their process and thread, stacks after their file.
    for (file, title) in [
        ("trace.json", "api@vm (pid 1, tid 1)"),
        ("trace.folded", "trace.folded"),
    ] {
        let rows = sandwich_rows(&session, port, file, title);
        // Each frame with its total and self time (speedscope adds a trace event's args to
        // its name): wsgi 8 ms of which 3 ms its own, nova::quota::check 5 ms of which 2 ms
        // its own, db 3 ms.
        for (frame, total_us, own_us) in [
            ("wsgi", 8_000, 3_000),
            ("nova::quota::check", 5_000, 2_000),
            ("db", 3_000, 3_000),
        ] {
            // Trace events are timed (`3.00ms`); stacks are counts, here µs (`3,000`).
            let shown = |us: u32| {
                if file == "trace.json" {
                    format!("{:.2}ms", f64::from(us) / 1000.0)
                } else {
                    format!("{},{:03}", us / 1000, us % 1000)
                }
            };
            let row = rows
                .iter()
                .find(|row| {
                    let symbol = row.rsplit("%) ").next().unwrap_or_default();
                    symbol == frame || symbol.starts_with(&format!("{frame} "))
                })
                .unwrap_or_else(|| panic!("{file}: no row for {frame} in {rows:?}"));
            let times: Vec<&str> = row.split(' ').collect();
            assert_eq!(
                (times[0], times[2]),
                (shown(total_us).as_str(), shown(own_us).as_str()),
                "{file}: {row}"
            );
        }
        session.screenshot(&format!("speedscope-{file}.png"));
    }
    session.assert_no_console_errors();
}

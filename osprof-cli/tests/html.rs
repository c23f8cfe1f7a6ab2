//! `osprof trace show --html` in a real headless Chromium, driven through ChromeDriver's
//! WebDriver API: the page loads with no network, no console errors, shows the spans with
//! their durations, expands on click, is not scripted by trace data, and is photographed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::Driver;
use serde_json::{Value, json};

const BASE: &str = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
const EVIL: &str = "</script><script>window.pwned = 1</script> $& $' <!--";

/// A store with `wsgi` (5 ms) > `db` (failing, 2 ms) > `evil` (trace text that tries to
/// break out of the page).
fn store(dir: &Path) -> String {
    let path = dir.join("events.jsonl");
    let driver = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, info: Value| {
        json!({"name": name, "base_id": BASE, "trace_id": trace_id, "parent_id": parent_id,
               "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info})
    };
    for payload in [
        event("wsgi-start", "w", BASE, 0, json!({"host": "vm"})),
        event("db-start", "d", "w", 1_000, json!({"host": "vm"})),
        event(
            &format!("{EVIL}-start"),
            "e",
            "d",
            1_500,
            json!({"host": "vm"}),
        ),
        event(
            &format!("{EVIL}-stop"),
            "e",
            "d",
            1_600,
            json!({"host": "vm"}),
        ),
        event(
            "db-stop",
            "d",
            "w",
            3_000,
            json!({"host": "vm", "etype": "IntegrityError"}),
        ),
        event("wsgi-stop", "w", BASE, 5_000, json!({"host": "vm"})),
    ] {
        driver.notify(&payload).unwrap();
    }
    format!("file://{}", path.display())
}

/// ChromeDriver on a free port, stopped when dropped.
struct ChromeDriver {
    process: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver package) must be installed");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{url}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        ChromeDriver { process, url }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// One WebDriver session.
struct Session<'a> {
    driver: &'a ChromeDriver,
    id: String,
}

impl Session<'_> {
    fn new(driver: &ChromeDriver) -> Session<'_> {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--host-resolver-rules=MAP * ~NOTFOUND"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = post(&format!("{}/session", driver.url), &capabilities);
        Session {
            driver,
            id: created["value"]["sessionId"].as_str().unwrap().to_owned(),
        }
    }

    fn command(&self, path: &str, body: &Value) -> Value {
        post(
            &format!("{}/session/{}/{path}", self.driver.url, self.id),
            body,
        )["value"]
            .clone()
    }

    fn get(&self, path: &str) -> Value {
        let mut response = ureq::get(&format!("{}/session/{}/{path}", self.driver.url, self.id))
            .call()
            .unwrap();
        response.body_mut().read_json::<Value>().unwrap()["value"].clone()
    }

    /// Clicks the first element matching the CSS selector `css`, as a user would.
    fn click(&self, css: &str) {
        let found = self.command("element", &json!({"using": "css selector", "value": css}));
        // WebDriver names an element by its one value, under a fixed key.
        let element = found
            .as_object()
            .and_then(|object| object.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element for {css}: {found}"))
            .to_owned();
        self.command(&format!("element/{element}/click"), &json!({}));
    }

    /// Fails on any error the page logged to the console.
    fn assert_no_console_errors(&self) {
        let logs = self.command("se/log", &json!({"type": "browser"}));
        let severe: Vec<&Value> = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .collect();
        assert!(severe.is_empty(), "console errors: {severe:?}");
    }

    fn script(&self, script: &str) -> Value {
        self.command("execute/sync", &json!({"script": script, "args": []}))
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.driver.url, self.id)).call();
    }
}

fn post(url: &str, body: &Value) -> Value {
    let mut response = ureq::post(url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_json(body)
        .unwrap();
    let value: Value = response.body_mut().read_json().unwrap();
    assert!(value["value"].get("error").is_none(), "{url}: {value}");
    value
}

#[test]
fn the_html_report_works_offline_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let page = dir.path().join("report.html");
    let shown = Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(["trace", "show", BASE, "--html", "--out"])
        .arg(&page)
        .args(["--connection-string", &store])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    session.command("url", &json!({"url": format!("file://{}", page.display())}));

    // The roots are open: wsgi and its child db show, with their durations.
    let rows = session.script("return [...document.querySelectorAll('.row')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())");
    assert_eq!(
        rows,
        json!(["▾wsgi 5.000 ms", "▸db ⚠ IntegrityError 2.000 ms"])
    );
    assert_eq!(
        session.script("return document.querySelectorAll('.row.error').length"),
        1
    );

    // A click on db's toggle shows its child, whose name is the trace's text, inert.
    session.click(".row[data-id='1'] .toggle");
    let names =
        session.script("return [...document.querySelectorAll('.name')].map(n => n.textContent)");
    assert_eq!(names[2], EVIL);
    assert_eq!(session.script("return window.pwned === undefined"), true);

    // A click on a name shows that span's raw payloads.
    session.click(".row[data-id='0'] .name");
    let details = session.script("return document.getElementById('details').textContent");
    assert!(
        details.as_str().unwrap().contains("\"wsgi-start\""),
        "{details}"
    );

    // The filter narrows the tree to matches and their ancestors.
    session.script("const f = document.getElementById('filter'); f.value = 'db'; f.dispatchEvent(new Event('input')); return null");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        2
    );

    // Nothing was fetched, nothing was logged as an error.
    assert_eq!(
        session.script("return performance.getEntriesByType('resource').length"),
        0
    );
    session.assert_no_console_errors();

    let screenshot = session.get("screenshot");
    let png = base64::engine::general_purpose::STANDARD
        .decode(screenshot.as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("osprof-report.png"),
        png,
    )
    .unwrap();
}

#[test]
fn a_100k_span_trace_stays_usable() {
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
    let shown = Command::new(env!("CARGO_BIN_EXE_osprof"))
        .args(["trace", "show", BASE, "--html", "--out"])
        .arg(&page)
        .args(["--connection-string", &format!("file://{}", path.display())])
        .output()
        .unwrap();
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );

    let driver = ChromeDriver::start();
    let session = Session::new(&driver);
    session.command("url", &json!({"url": format!("file://{}", page.display())}));

    // The root and the first 500 of its children are drawn; the rest wait behind "show more".
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "100000 spans, 1000 ms"
    );
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        501
    );
    assert_eq!(
        session.script("return document.querySelectorAll('.more').length"),
        1
    );
    session.script("document.querySelector('.more').click(); return null");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        1001
    );
    session.script("const f = document.getElementById('filter'); f.value = 'call'; f.dispatchEvent(new Event('input')); return null");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        501
    );
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
    let show = |args: &[&str]| {
        let shown = Command::new(env!("CARGO_BIN_EXE_osprof"))
            .args(["trace", "show"])
            .args(args)
            .args(["--connection-string", &store])
            .output()
            .unwrap();
        assert!(
            shown.status.success(),
            "{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        shown.stdout
    };

    let saved = dir.path().join("report.json");
    show(&[BASE, "--json", "--out", saved.to_str().unwrap()]);
    let dot = String::from_utf8(show(&[saved.to_str().unwrap(), "--dot"])).unwrap();
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
    session.command("url", &json!({"url": format!("file://{}", page.display())}));
    assert_eq!(
        session.script("return document.getElementById('summary').textContent"),
        "100000 spans, 200 ms"
    );
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        2,
        "the root is open"
    );
    session.click(".row[data-id='1'] .toggle");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        3
    );
    // A filter matching the deepest span shows it under every one of its ancestors.
    session.script("const f = document.getElementById('filter'); f.value = 'call'; f.dispatchEvent(new Event('input')); return null");
    assert_eq!(
        session.script("return document.querySelectorAll('.row').length"),
        depth
    );
    session.assert_no_console_errors();
}

//! Headless Chromium driven through ChromeDriver's WebDriver API, for the tests that load
//! osprof's pages and exports in a real browser.
#![allow(dead_code)] // each test file uses what it needs

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// ChromeDriver on a free port, stopped when dropped.
pub(crate) struct ChromeDriver {
    process: Child,
    url: String,
}

impl ChromeDriver {
    pub(crate) fn start() -> ChromeDriver {
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
pub(crate) struct Session<'a> {
    driver: &'a ChromeDriver,
    id: String,
}

impl Session<'_> {
    pub(crate) fn new(driver: &ChromeDriver) -> Session<'_> {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = post(&format!("{}/session", driver.url), &capabilities);
        Session {
            driver,
            id: created["value"]["sessionId"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) fn command(&self, path: &str, body: &Value) -> Value {
        post(
            &format!("{}/session/{}/{path}", self.driver.url, self.id),
            body,
        )["value"]
            .clone()
    }

    pub(crate) fn get(&self, path: &str) -> Value {
        let mut response = ureq::get(&format!("{}/session/{}/{path}", self.driver.url, self.id))
            .call()
            .unwrap();
        response.body_mut().read_json::<Value>().unwrap()["value"].clone()
    }

    /// Clicks the first element matching the CSS selector `css`, as a user would.
    pub(crate) fn click(&self, css: &str) {
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
    pub(crate) fn assert_no_console_errors(&self) {
        let logs = self.command("se/log", &json!({"type": "browser"}));
        let severe: Vec<&Value> = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["level"] == "SEVERE")
            .collect();
        assert!(severe.is_empty(), "console errors: {severe:?}");
    }

    pub(crate) fn script(&self, script: &str) -> Value {
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

impl Session<'_> {
    /// Opens `url` in the session's tab.
    pub(crate) fn open(&self, url: &str) {
        self.command("url", &json!({"url": url}));
    }

    /// Presses and releases each key in turn (WebDriver key codes: "\u{E015}" is the down
    /// arrow), sent to the focused element as a user's keyboard would.
    pub(crate) fn keys(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|key| {
                [
                    json!({"type": "keyDown", "value": key}),
                    json!({"type": "keyUp", "value": key}),
                ]
            })
            .collect();
        self.command(
            "actions",
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// Moves the mouse to `(x, y)` in the viewport and clicks there.
    pub(crate) fn click_at(&self, x: f64, y: f64) {
        let (x, y) = (x.round() as i64, y.round() as i64);
        self.command(
            "actions",
            &json!({"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "duration": 0, "origin": "viewport", "x": x, "y": y},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerUp", "button": 0},
                ]}]}),
        );
    }

    /// Waits up to 30 s for `script` to return true.
    pub(crate) fn wait_for(&self, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.script(script) != true {
            if Instant::now() > deadline {
                let text = self.script("return document.body.innerText.slice(0, 2000)");
                self.screenshot("wait-failed.png");
                panic!("still false after 30 s: {script}\nthe page says: {text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a screenshot of the page as `name` in the tests' scratch directory.
    pub(crate) fn screenshot(&self, name: &str) {
        let screenshot = self.get("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(screenshot.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name), png).unwrap();
    }
}

//! The `file://` driver: what it writes, what it reads back, and how it fails.

use std::path::PathBuf;

use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::{self, Driver};
use serde_json::{Value, json};

fn temp_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("osprof-{name}-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn event(name: &str, base_id: &str, trace_id: &str, at: &str) -> Value {
    json!({"name": name, "base_id": base_id, "trace_id": trace_id, "parent_id": base_id,
           "timestamp": format!("2026-11-22T10:00:{at}"), "info": {"host": "vm"}})
}

#[test]
fn traces_delivered_through_the_notifier_come_back_as_a_report() {
    let path = temp_file("delivered");
    notifier::set_shared(
        notifier::try_create(
            &format!("file://{}", path.display()),
            &DriverOptions::new("nova", "api"),
        )
        .unwrap(),
    );

    let profiler = osprof_core::init("SECRET_KEY", None, None);
    {
        let _request = osprof_core::Trace::new("wsgi", None);
        drop(osprof_core::Trace::new(
            "db",
            Some(json!({"db": {"statement": "SELECT 1"}})),
        ));
    }
    osprof_core::clean();
    notifier::flush();

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "base_id",
            "trace_id",
            "parent_id",
            "timestamp",
            "info",
            "project",
            "service"
        ]
    );
    assert_eq!(
        (&lines[0]["project"], &lines[0]["service"]),
        (&json!("nova"), &json!("api"))
    );

    let report = notifier::get().get_report(profiler.base_id()).unwrap();
    let wsgi = &report["children"][0];
    assert_eq!(wsgi["info"]["name"], "wsgi");
    assert_eq!(wsgi["children"][0]["info"]["name"], "db");
    assert_eq!(report["stats"]["db"]["count"], 1);
    notifier::reset();
}

#[test]
fn lists_traces_and_error_traces_by_their_first_event() {
    let path = temp_file("lists");
    let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    let mut failed = event("db-stop", "b2", "t3", "05.000000");
    failed["info"]["etype"] = json!("IntegrityError");
    for payload in [
        event("wsgi-start", "b1", "t1", "02.000000"),
        event("wsgi-start", "b2", "t2", "01.000000"),
        event("wsgi-stop", "b1", "t1", "03.000000"),
        failed,
    ] {
        driver.notify(&payload).unwrap();
    }

    assert_eq!(
        driver.list_traces(&[]).unwrap(),
        [
            json!({"base_id": "b2", "timestamp": "2026-11-22T10:00:01.000000"}),
            json!({"base_id": "b1", "timestamp": "2026-11-22T10:00:02.000000"}),
        ]
    );
    assert_eq!(
        driver.list_traces(&["base_id", "name"]).unwrap()[0],
        json!({"base_id": "b2", "name": "wsgi-start"})
    );
    assert_eq!(
        driver.list_error_traces().unwrap(),
        [json!({"base_id": "b2", "timestamp": "2026-11-22T10:00:05.000000"})]
    );
    assert_eq!(driver.get_report("b1").unwrap()["info"]["finished"], 1000);
}

#[test]
fn a_line_cut_short_is_skipped() {
    let path = temp_file("cut");
    let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    driver
        .notify(&event("wsgi-start", "b", "t", "00.000000"))
        .unwrap();
    std::fs::write(
        &path,
        std::fs::read_to_string(&path).unwrap() + r#"{"name": "wsgi-stop", "base_id": "b"#,
    )
    .unwrap();

    let report = driver.get_report("b").unwrap();
    assert_eq!(report["children"].as_array().unwrap().len(), 1);
}

#[test]
fn torn_and_invalid_lines_of_any_bytes_are_skipped_and_counted() {
    let path = temp_file("torn");
    let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    driver
        .notify(&event("wsgi-start", "b", "t", "00.000000"))
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // A payload cut inside a multi-byte character, then bytes that are not UTF-8 at all,
    // then a JSON value that is not a payload, then a whole payload again.
    bytes.extend_from_slice("{\"name\": \"wsgi-stop\", \"info\": \"é".as_bytes());
    bytes.truncate(bytes.len() - 1);
    bytes.extend_from_slice(b"\n\xff\xfe\x00garbage\n[1, 2]\n");
    std::fs::write(&path, bytes).unwrap();
    driver
        .notify(&event("wsgi-stop", "b", "t", "00.000100"))
        .unwrap();

    let report = driver.get_report("b").unwrap();
    assert_eq!(report["children"].as_array().unwrap().len(), 1);
    assert_eq!(report["children"][0]["info"]["finished"], 0);
    assert_eq!(driver.list_traces(&[]).unwrap().len(), 1);
    assert_eq!(driver.skipped_lines(), 3);
}

#[test]
fn an_unwritable_path_is_a_clear_error_at_creation() {
    let error = notifier::try_create(
        "file:///no/such/directory/events.jsonl",
        &DriverOptions::default(),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("/no/such/directory/events.jsonl"),
        "{message}"
    );
    assert!(
        message.contains("directory exists and is writable"),
        "{message}"
    );

    let error = notifier::try_create("file://", &DriverOptions::default()).unwrap_err();
    assert!(error.to_string().contains("names no file"), "{error}");
}

#[test]
fn a_full_disk_after_creation_is_counted_not_fatal() {
    // /dev/full opens for appending and fails every write with "no space left on device".
    let driver = FileDriver::open("/dev/full", &DriverOptions::default()).unwrap();
    let error = driver
        .notify(&event("db-start", "b", "t", "00.000000"))
        .unwrap_err();
    assert!(
        error.to_string().contains("cannot append to /dev/full"),
        "{error}"
    );
}

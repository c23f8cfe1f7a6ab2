//! The SQL storage driver on SQLite, PostgreSQL and MariaDB: events written through it come
//! back as the same report as through the file driver, and the trace lists find them.

use osprof_core::drivers::{DriverOptions, FileDriver};
use osprof_core::notifier::{self, Driver};
use serde_json::{Value, json};

fn events(base_id: &str) -> Vec<Value> {
    let event = |name: &str, trace_id: &str, parent_id: &str, micros: u32, info: Value| {
        json!({"name": name, "base_id": base_id, "trace_id": trace_id, "parent_id": parent_id,
               "timestamp": format!("2026-11-22T10:00:00.{micros:06}"), "info": info})
    };
    vec![
        event(
            "wsgi-start",
            "w",
            base_id,
            0,
            json!({"host": "vm", "request": {"path": "/", "method": "GET"}}),
        ),
        event(
            "db-start",
            "d",
            "w",
            1_000,
            json!({"host": "vm", "db": {"statement": "SELECT 1", "params": {}}}),
        ),
        event(
            "db-stop",
            "d",
            "w",
            2_500,
            json!({"host": "vm", "etype": "sqlx::Error::Database", "message": "boom"}),
        ),
        event("wsgi-stop", "w", base_id, 4_000, json!({"host": "vm"})),
    ]
}

fn round_trip(connection_string: &str) {
    osprof_sqlx::register_drivers();
    let options = DriverOptions::new("nova", "api");
    let sql = notifier::try_create(connection_string, &options).unwrap();
    let dir = std::env::temp_dir().join(format!("osprof-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = FileDriver::open(dir.join(format!("{}.jsonl", sql.name())), &options).unwrap();
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();

    for event in events(&base_id) {
        sql.notify(&event).unwrap();
        file.notify(&event).unwrap();
    }

    let report = sql.get_report(&base_id).unwrap();
    assert_eq!(report, file.get_report(&base_id).unwrap());
    assert_eq!(report["children"][0]["info"]["project"], "nova");
    assert_eq!(
        report["children"][0]["children"][0]["info"]["exception"],
        "sqlx::Error::Database"
    );
    assert!(
        sql.list_traces(&[])
            .unwrap()
            .contains(&json!({"base_id": base_id, "timestamp": "2026-11-22T10:00:00.000000"}))
    );
    assert!(
        sql.list_error_traces()
            .unwrap()
            .contains(&json!({"base_id": base_id, "timestamp": "2026-11-22T10:00:00.002500"}))
    );
}

#[test]
fn sqlite_round_trip() {
    let path = std::env::temp_dir().join(format!("osprof-traces-{}.db", std::process::id()));
    round_trip(&format!("sqlite://{}", path.display()));
}

#[test]
fn postgresql_round_trip() {
    round_trip("postgresql://postgres@127.0.0.1:5432/test");
}

#[test]
fn mariadb_round_trip() {
    round_trip("mysql+pymysql://root@127.0.0.1:3306/test");
}

/// Opening never reaches the server; the first read says it is unreachable, without the
/// password.
#[test]
fn an_unreachable_database_is_a_clear_error_without_the_password() {
    osprof_sqlx::register_drivers();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = notifier::try_create(
        &format!("postgresql://osprof:hunter2@127.0.0.1:{port}/test"),
        &DriverOptions::default(),
    )
    .unwrap();
    let error = driver.list_traces(&[]).unwrap_err().to_string();
    assert!(
        error.contains(&format!(
            "cannot read traces from postgresql://osprof:***@127.0.0.1:{port}/test"
        )),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

/// A span name longer than the indexed column is stored cut in the column and whole in the
/// payload; an event the server refuses for its content is counted as failed and never
/// blocks the events behind it.
fn content_the_columns_cannot_hold(connection_string: &str) {
    // The failed count is process-wide: one such test at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    osprof_sqlx::register_drivers();
    let sql = notifier::try_create(connection_string, &DriverOptions::new("nova", "api")).unwrap();
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();
    let long_name = "x".repeat(300);
    let event = |name: &str, timestamp: &str| {
        json!({"name": name, "base_id": base_id, "trace_id": "t", "parent_id": base_id,
               "timestamp": timestamp, "info": {"host": "vm"}})
    };
    let failed_before = notifier::stats().failed;

    sql.notify(&event(
        &format!("{long_name}-start"),
        "2026-11-22T10:00:00.000000",
    ))
    .unwrap();
    // Not a time: the server refuses the row.
    sql.notify(&event("bad-start", "not a time")).unwrap();
    sql.notify(&event(
        &format!("{long_name}-stop"),
        "2026-11-22T10:00:00.001000",
    ))
    .unwrap();
    sql.flush().unwrap();

    let report = sql.get_report(&base_id).unwrap();
    let children = report["children"].as_array().unwrap();
    assert_eq!(children.len(), 1, "{report}");
    assert_eq!(children[0]["info"]["name"], long_name.as_str());
    assert_eq!(report["info"]["finished"], 1);
    assert_eq!(notifier::stats().failed - failed_before, 1);
}

#[test]
fn postgresql_stores_what_fits_and_counts_what_it_refuses() {
    content_the_columns_cannot_hold("postgresql://postgres@127.0.0.1:5432/test");
}

#[test]
fn mariadb_stores_what_fits_and_counts_what_it_refuses() {
    content_the_columns_cannot_hold("mysql+pymysql://root@127.0.0.1:3306/test");
}

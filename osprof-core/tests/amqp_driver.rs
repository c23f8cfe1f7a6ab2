//! The `amqp://` driver against the machine's RabbitMQ: what it publishes is read by Python
//! OSProfiler's messaging driver (`osprofiler trace show` over oslo.messaging), and events
//! are held while the broker is unreachable.

mod common;

use std::process::Command;

use osprof_core::drivers::{AmqpDriver, DriverOptions};
use osprof_core::notifier::{self, Driver};
use serde_json::json;

const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

#[test]
fn python_osprofiler_reads_the_trace_from_rabbitmq() {
    notifier::set_shared(notifier::try_create(BROKER, &DriverOptions::new("nova", "api")).unwrap());
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
    notifier::reset();

    // OSProfiler's CLI consumes every notification on the `profiler` topic and keeps ours.
    let output = Command::new("osprofiler")
        .args(["trace", "show", "--json", profiler.base_id()])
        .args(["--connection-string", "messaging://"])
        .args(["--transport-url", "rabbit://guest:guest@127.0.0.1:5672/"])
        .output()
        .unwrap();
    let report = common::python_output(output);
    let wsgi = &report["children"][0];
    assert_eq!(
        (&wsgi["info"]["name"], &wsgi["info"]["project"]),
        (&json!("wsgi"), &json!("nova"))
    );
    assert_eq!(wsgi["children"][0]["info"]["name"], "db");
    assert_eq!(report["stats"]["db"]["count"], 1);
}

#[test]
fn events_are_held_while_the_broker_is_unreachable() {
    // Nothing listens on this port: the broker is "down".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut options = DriverOptions::new("nova", "api");
    options.retry_capacity = 10;
    let driver = AmqpDriver::open(
        &format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        &options,
    )
    .unwrap();
    let dropped_before = notifier::stats().dropped;

    for n in 0..15 {
        let event = json!({"name": "db-start", "base_id": "b", "trace_id": format!("t{n}"),
                           "parent_id": "b", "timestamp": "2026-11-22T10:00:00.000000", "info": {"host": "vm"}});
        driver.notify(&event).unwrap();
    }

    assert!(
        notifier::stats().dropped - dropped_before >= 5,
        "beyond capacity, counted"
    );
}

#[test]
fn a_bad_url_is_a_clear_error() {
    let error =
        notifier::try_create("amqp://guest:guest@[bad", &DriverOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("amqp://user:password@host:5672/vhost"),
        "{error}"
    );
}

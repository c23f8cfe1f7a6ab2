//! The machine's RabbitMQ stopped in the middle of a run and started again: events recorded
//! while it was away reach it after it returns. (A test binary of its own: cargo runs test
//! binaries one at a time, so no other test sees the broker stop.)

use std::process::Command;
use std::time::{Duration, Instant};

use osprof_core::drivers::{AmqpDriver, DriverOptions};
use osprof_core::notifier::Driver;
use serde_json::json;

fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Messages waiting in `profiler.info`, or `None` while the queue does not exist.
fn queued() -> Option<u64> {
    rabbitmqctl(&[
        "list_queues",
        "--quiet",
        "--no-table-headers",
        "name",
        "messages",
    ])
    .lines()
    .find_map(|line| line.strip_prefix("profiler.info")?.trim().parse().ok())
}

fn publish(driver: &AmqpDriver, count: usize) {
    for n in 0..count {
        let event = json!({"name": "db-start", "base_id": "outage", "trace_id": format!("t{n}"),
                           "parent_id": "outage", "timestamp": "2026-11-22T10:00:00.000000", "info": {"host": "vm"}});
        driver.notify(&event).unwrap();
    }
}

#[test]
fn events_held_while_rabbitmq_is_stopped_arrive_after_it_starts() {
    let driver = AmqpDriver::open(
        "amqp://guest:guest@127.0.0.1:5672/%2f",
        &DriverOptions::new("nova", "api"),
    )
    .unwrap();
    publish(&driver, 1);
    rabbitmqctl(&["purge_queue", "profiler.info"]);
    publish(&driver, 10);
    assert_eq!(queued(), Some(10));

    rabbitmqctl(&["stop_app"]);
    publish(&driver, 20); // held: the broker is away
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);

    // The queue is not durable (as oslo.messaging declares it), so it came back empty; the
    // driver reconnects, declares it again and publishes exactly what it held.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        driver.flush().unwrap();
        if queued() == Some(20) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "held events never arrived: {:?}",
            queued()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    rabbitmqctl(&["purge_queue", "profiler.info"]);
}

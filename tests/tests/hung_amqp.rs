//! RabbitMQ hanging behind a proxy that stops forwarding (the broker keeps its connections
//! and nothing answers) for 5 s of 20 s of steady traced load: no traced call takes 150 ms,
//! and every recorded event is accounted for, duplicates within the documented bound.

use std::process::Command;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_tests::hung_store::{Proxy, assert_accounted, steady_load};

/// The messages in the queue the driver publishes to.
fn queued() -> u64 {
    let output = Command::new("rabbitmqctl")
        .args([
            "list_queues",
            "-q",
            "--no-table-headers",
            "name",
            "messages",
        ])
        .output()
        .expect("rabbitmqctl must be installed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("profiler.info"))
        .map_or(0, |count| count.trim().parse().unwrap())
}

#[test]
fn a_hung_broker_never_stalls_traced_code_and_every_event_is_counted() {
    let proxy = Proxy::start("127.0.0.1:5672");
    let url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", proxy.port());
    notifier::set_shared(notifier::try_create(&url, &DriverOptions::default()).unwrap());
    // The queue exists once the driver has connected: empty it, then count only this run.
    osprof_core::init("SECRET_KEY", None, None);
    drop(osprof_core::Trace::new("warm-up", None));
    osprof_core::clean();
    notifier::flush();
    let before = notifier::stats();
    purge();
    // Emptied again at the end, passed or failed: other tests and tools read this queue.
    let _purge = PurgeOnDrop;

    let load = steady_load(|hung| proxy.pause(hung));

    let mut stats = notifier::stats();
    stats.recorded -= before.recorded;
    stats.stored -= before.stored;
    let in_store = queued();
    // At most one confirm batch (2,048 events) is sent again per timed-out attempt.
    assert_accounted("amqp", &load, stats, in_store, 2048);
}

struct PurgeOnDrop;

impl Drop for PurgeOnDrop {
    fn drop(&mut self) {
        purge();
    }
}

/// Empties the queue the driver publishes to.
fn purge() {
    let status = Command::new("rabbitmqctl")
        .args(["purge_queue", "-q", "profiler.info"])
        .status()
        .unwrap();
    assert!(status.success());
}

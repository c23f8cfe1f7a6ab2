//! Creating a driver never waits for its server: against a server that takes connections
//! and never answers, every networked driver starts within the socket timeout (they connect
//! on first use), and a read through it fails within the socket timeout, saying why.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;

#[test]
fn no_driver_waits_for_a_silent_server_at_start_up() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Takes every connection and holds it, answering nothing.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().collect();
        drop(held);
    });
    osprof_sqlx::register_drivers();
    let mut options = DriverOptions::new("nova", "api");
    options.socket_timeout = Duration::from_millis(300);
    options.idle_timeout = Duration::from_millis(300);

    for scheme in ["redis", "amqp", "otlp", "postgresql", "mysql"] {
        let url = match scheme {
            "amqp" => format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
            "postgresql" | "mysql" => format!("{scheme}://user@127.0.0.1:{port}/test"),
            _ => format!("{scheme}://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        let driver = notifier::try_create(&url, &options).unwrap();
        let created = started.elapsed();
        assert!(created < options.socket_timeout, "{scheme}: {created:?}");

        if scheme == "otlp" {
            continue; // write-only
        }
        let started = Instant::now();
        let error = driver
            .get_report("4e3e0ec6-2938-40b1-8504-09eb1d4b0dee")
            .unwrap_err();
        let read = started.elapsed();
        // The socket timeout, and some slack for a loaded machine.
        assert!(read < Duration::from_secs(3), "{scheme}: {read:?}");
        let error = error.to_string();
        assert!(
            error.contains("within the socket timeout (300ms)"),
            "{scheme}: {error}"
        );
    }
}

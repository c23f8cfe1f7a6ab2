//! PostgreSQL hanging behind a proxy that stops forwarding (the server keeps its
//! connections and nothing answers) for 5 s of 20 s of steady traced load: no traced call
//! takes 150 ms, and every recorded event is accounted for.

use std::process::Command;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_tests::hung_store::{Proxy, assert_accounted, steady_load};

#[test]
fn a_hung_database_never_stalls_traced_code_and_every_event_is_counted() {
    let proxy = Proxy::start("127.0.0.1:5432");
    osprof_sqlx::register_drivers();
    // This run's rows are told apart by their project.
    let project = format!(
        "hung-sql-{}",
        osprof_core::init("key", None, None).base_id()
    );
    osprof_core::clean();
    let url = format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port());
    let options = DriverOptions::new(&project, "api");
    notifier::set_shared(notifier::try_create(&url, &options).unwrap());

    let load = steady_load(|hung| proxy.pause(hung));

    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc"])
        .arg(format!(
            "SELECT count(*) FROM data WHERE project = '{project}'"
        ))
        .output()
        .expect("psql must be installed");
    let in_store = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    // At most one insert (500 events) is sent again per timed-out attempt, when the
    // server committed it and its answer was lost.
    assert_accounted("sql", &load, notifier::stats(), in_store, 500);
}

/// Start-up never waits for the database: a hung one is reached only by the first write
/// or read, and a read gives up within the socket timeout, saying so.
#[test]
fn a_hung_database_never_delays_start_up_and_a_read_says_it_timed_out() {
    let proxy = Proxy::start("127.0.0.1:5432");
    proxy.pause(true);
    osprof_sqlx::register_drivers();
    let url = format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port());
    let mut options = DriverOptions::new("nova", "api");
    options.socket_timeout = std::time::Duration::from_millis(300);

    let started = std::time::Instant::now();
    let driver = notifier::try_create(&url, &options).unwrap();
    assert!(
        started.elapsed() < options.socket_timeout,
        "{:?}",
        started.elapsed()
    );

    let error = driver.list_traces(&[]).unwrap_err().to_string();
    assert!(
        error.contains("no connection within the socket timeout (300ms)"),
        "{error}"
    );
    proxy.pause(false);
    driver.list_traces(&[]).unwrap();
}

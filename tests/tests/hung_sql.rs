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

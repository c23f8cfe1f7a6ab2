//! A driver that cannot start never makes its events look delivered: they are counted as
//! failed.

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;

#[test]
fn events_given_to_a_driver_that_could_not_start_are_counted_as_failed() {
    // No SQL driver is registered in this binary: the scheme is not built in.
    let sink = notifier::create(
        "postgresql://postgres@127.0.0.1:5432/test",
        &DriverOptions::default(),
    );
    assert_eq!(sink.name(), "unstarted");
    notifier::set_shared(sink);
    let before = notifier::stats();

    osprof_core::init("key", None, None);
    for _ in 0..10 {
        drop(osprof_core::Trace::new("work", None));
    }
    osprof_core::clean();
    notifier::flush();

    let after = notifier::stats();
    assert_eq!(after.failed - before.failed, 20, "{after:?}");
    assert_eq!(after.stored, before.stored, "{after:?}");
    assert_eq!(after.recorded - before.recorded, 20, "{after:?}");
    assert_eq!(after.in_flight, 0, "{after:?}");
    let error = notifier::get().notify(&serde_json::json!({})).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unstarted driver: the driver could not start (the postgresql:// driver is not built in: \
         add the osprof-sqlx crate and call osprof_sqlx::register_drivers())"
    );
}

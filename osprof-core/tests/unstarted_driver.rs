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

/// Run as a child process by the test below: creates a driver that cannot start, with no
/// `tracing` subscriber set.
#[test]
fn child_creates_a_driver_that_cannot_start() {
    if std::env::var_os("OSPROF_TEST_CHILD").is_some() {
        let sink = notifier::create("pigeon://loft", &DriverOptions::default());
        assert_eq!(sink.name(), "unstarted");
    }
}

#[test]
fn with_no_subscriber_the_failure_reaches_standard_error() {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_creates_a_driver_that_cannot_start",
            "--nocapture",
        ])
        .env("OSPROF_TEST_CHILD", "1")
        .output()
        .unwrap();
    assert!(child.status.success());
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        stderr.contains(
            "osprof: cannot start its driver (Driver not found for connection string: pigeon://loft); \
             trace events will be counted as failed"
        ),
        "{stderr}"
    );
}

/// Run as a child process by the test below: `init_from_conf` with a driver that cannot
/// start and a misspelled section.
#[test]
fn child_inits_from_a_conf_whose_driver_cannot_start() {
    if std::env::var_os("OSPROF_TEST_CHILD").is_some() {
        let mut conf = osprof_core::config::ProfilerConfig::from_toml(
            "[profiler]\nenabled = true\nconnection_string = \"pigeon://loft\"\n[profilr]\n",
        )
        .unwrap();
        conf.hmac_keys = vec!["key".into()];
        let startup = osprof_core::config::init_from_conf(&conf, "nova", "api", None);
        assert_eq!(startup.driver, Some("unstarted"));
        assert!(!startup.is_ok());
        println!("{startup}");
    }
}

#[test]
fn init_from_conf_returns_what_went_wrong() {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_inits_from_a_conf_whose_driver_cannot_start",
            "--nocapture",
        ])
        .env("OSPROF_TEST_CHILD", "1")
        .output()
        .unwrap();
    assert!(child.status.success());
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        stdout.contains(
            "osprof: enabled, but its driver cannot start (Driver not found for connection string: \
             pigeon://loft); trace events are counted as failed\nosprof: warning: "
        ),
        "{stdout}"
    );
    assert!(stdout.contains("ignored `profilr`"), "{stdout}");
}

//! The `redis://` driver against real Redis servers: the machine's, for the layout that
//! Python OSProfiler reads and writes, and one started here, to stop and start again.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use osprof_core::drivers::{DriverOptions, RedisDriver};
use osprof_core::notifier::{self, Driver};
use serde_json::{Value, json};

/// The machine's Redis, database 3: these tests' own.
const REDIS: &str = "redis://127.0.0.1:6379/3";

fn options() -> DriverOptions {
    let mut options = DriverOptions::new("nova", "api");
    options.filter_error_trace = true;
    options
}

fn redis_cli(url: &str, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-u", url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_trace_written_here_is_read_back_here_and_by_the_python_cli() {
    common::install_sink();
    notifier::set_shared(notifier::try_create(REDIS, &options()).unwrap());
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    {
        let _request = osprof_core::Trace::new("wsgi", None);
        drop(osprof_core::Trace::new("db", None));
        osprof_core::start("rpc", None);
        osprof_core::stop(Some(
            json!({"etype": "RemoteError", "message": "timed out"}),
        ));
    }
    osprof_core::clean();
    notifier::flush();
    let base_id = profiler.base_id();

    let stored = redis_cli(
        REDIS,
        &["LINDEX", &format!("osprofiler_opt:{base_id}"), "0"],
    );
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        (&stored["name"], &stored["project"]),
        (&json!("wsgi-stop"), &json!("nova"))
    );

    let driver = notifier::get();
    let ours = driver.get_report(base_id).unwrap();
    let output = Command::new("osprofiler")
        .args([
            "trace",
            "show",
            "--json",
            base_id,
            "--connection-string",
            REDIS,
        ])
        .output()
        .unwrap();
    let python = common::python_output(output);
    assert_eq!(common::without_micros(ours.clone()), python);
    assert_eq!(ours["stats"]["rpc"]["count"], 1);

    let errors = driver.list_error_traces().unwrap();
    assert!(
        errors.iter().any(|trace| trace["base_id"] == base_id),
        "{errors:?}"
    );
    let traces = driver.list_traces(&["base_id", "name"]).unwrap();
    assert!(
        traces.contains(&json!({"base_id": base_id, "name": "wsgi-start"})),
        "{traces:?}"
    );
    notifier::reset();
}

#[test]
fn a_trace_written_by_python_osprofiler_is_read_back() {
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();
    let output = common::python("osprof-core/tests/python/redis_write.py")
        .args([REDIS, &base_id])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let driver = RedisDriver::open(REDIS, &options()).unwrap();
    let report = driver.get_report(&base_id).unwrap();
    let wsgi = &report["children"][0];
    assert_eq!(wsgi["info"]["name"], "wsgi");
    assert_eq!(wsgi["info"]["host"], "python-host");
    let children: Vec<&Value> = wsgi["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["info"]["name"])
        .collect();
    assert_eq!(
        children,
        [&json!("db"), &json!("rpc")],
        "the legacy key is read too"
    );
}

/// A Redis server of this test's own, on a free port, keeping nothing on disk.
struct Server {
    port: u16,
    process: Option<Child>,
}

impl Server {
    fn start(port: u16) -> Server {
        let process = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Command::new("redis-cli")
            .args(["-u", &url, "PING"])
            .output()
            .map_or(true, |o| {
                !String::from_utf8_lossy(&o.stdout).contains("PONG")
            })
        {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            port,
            process: Some(process),
        }
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().unwrap();
            process.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn event(base_id: &str, n: usize) -> Value {
    json!({"name": "db-start", "base_id": base_id, "trace_id": format!("t{n}"), "parent_id": base_id,
           "timestamp": "2026-11-22T10:00:00.000000", "info": {"host": "vm"}})
}

#[test]
fn events_are_held_while_redis_is_away_and_delivered_when_it_returns() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Server::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    let mut options = DriverOptions::new("nova", "api");
    options.retry_capacity = 1_000;
    let driver = RedisDriver::open(&url, &options).unwrap();
    let key = "osprofiler_opt:outage";

    for n in 0..100 {
        driver.notify(&event("outage", n)).unwrap();
    }
    assert_eq!(redis_cli(&url, &["LLEN", key]), "100");

    server.stop();
    let dropped_before = notifier::stats().dropped;
    for n in 0..1_300 {
        // Held, not failed: the caller sees no error.
        driver.notify(&event("outage", n)).unwrap();
    }
    assert_eq!(
        notifier::stats().dropped - dropped_before,
        300,
        "beyond capacity, counted"
    );

    // A fresh server on the same port (it kept nothing): exactly the held events arrive.
    let _server = Server::start(server.port);
    driver.flush().unwrap();
    assert_eq!(redis_cli(&url, &["LLEN", key]), "1000");
}

#[test]
fn a_bad_url_is_a_clear_error() {
    let error = notifier::try_create("redis://:bad@[::1", &DriverOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("redis://[:password@]host[:port][/db]"),
        "{error}"
    );
}

#[test]
fn redissentinel_writes_to_the_master_that_sentinel_names() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("osprof-sentinel-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sentinel.conf");
    std::fs::write(
        &config,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor osprof-test 127.0.0.1 6379 1\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut sentinel = Server {
        port,
        process: Some(
            Command::new("redis-server")
                .arg(&config)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        ),
    };
    let sentinel_url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Command::new("redis-cli")
        .args([
            "-u",
            &sentinel_url,
            "SENTINEL",
            "get-master-addr-by-name",
            "osprof-test",
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("6379"))
    {
        assert!(Instant::now() < deadline, "sentinel did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut options = DriverOptions::new("nova", "api");
    options.sentinel_service_name = "osprof-test".into();
    let driver =
        notifier::try_create(&format!("redissentinel://127.0.0.1:{port}"), &options).unwrap();
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();
    driver
        .notify(
            &json!({"name": "db-start", "base_id": base_id, "trace_id": "t", "parent_id": base_id,
                        "timestamp": "2026-11-22T10:00:00.000000", "info": {"host": "vm"}}),
        )
        .unwrap();

    let key = format!("osprofiler_opt:{base_id}");
    assert_eq!(redis_cli("redis://127.0.0.1:6379/0", &["LLEN", &key]), "1");
    redis_cli("redis://127.0.0.1:6379/0", &["DEL", &key]);
    sentinel.stop();
    std::fs::remove_dir_all(dir).unwrap();
}

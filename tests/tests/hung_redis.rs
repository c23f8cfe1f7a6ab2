//! A Redis server that hangs (stopped with `SIGSTOP`: it keeps its connections open and
//! answers nothing) for 5 s of 20 s of steady traced load: no traced call takes 150 ms, and
//! every recorded event is accounted for. The server is this test's own, never the machine's.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_tests::hung_store::{assert_accounted, steady_load};

/// This test's own Redis server, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_hung_redis_never_stalls_traced_code_and_every_event_is_counted() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server(
        Command::new("redis-server")
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
            .expect("redis-server must be installed"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_cli(port, &["PING"]) != "PONG" {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("redis://127.0.0.1:{port}");
    notifier::set_shared(notifier::try_create(&url, &DriverOptions::default()).unwrap());

    let load = steady_load(|hung| {
        let signal = if hung { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    });

    let script = "local n = 0 for _, key in ipairs(redis.call('KEYS', 'osprofiler_opt:*')) do \
                  n = n + redis.call('LLEN', key) end return n";
    let in_store = redis_cli(port, &["EVAL", script, "0"]).parse().unwrap();
    // At most one pipeline (4,096 events) is sent again per timed-out attempt.
    assert_accounted("redis", &load, notifier::stats(), in_store, 4096);
}

//! A Redis server that hangs (stopped with `SIGSTOP`, so it keeps its connections open and
//! answers nothing) costs traced code nothing: 20 s of steady traced load while the store
//! hangs for 5 s, no traced call over 150 ms, and every recorded event accounted for.
//! The server is this test's own, never the machine's.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;

/// This test's own Redis server, killed when dropped.
struct Server(Child);

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
            .expect("redis-server must be installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis_cli(port, &["PING"]) != "PONG" {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server(process)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

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

/// The events stored in the server: the lengths of every trace's list.
fn stored_events(port: u16) -> u64 {
    let script = "local n = 0 for _, key in ipairs(redis.call('KEYS', 'osprofiler_opt:*')) do \
                  n = n + redis.call('LLEN', key) end return n";
    redis_cli(port, &["EVAL", script, "0"]).parse().unwrap()
}

#[test]
fn a_hung_redis_never_stalls_traced_code_and_every_event_is_counted() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(port);
    let url = format!("redis://127.0.0.1:{port}");
    notifier::set_shared(notifier::try_create(&url, &DriverOptions::default()).unwrap());

    // 20 s of one request per millisecond, each a trace of two spans; the server hangs
    // from 5 s to 10 s.
    let started = Instant::now();
    let (mut slowest, mut requests, mut hung, mut resumed) = (Duration::ZERO, 0_u64, false, false);
    while started.elapsed() < Duration::from_secs(20) {
        if !hung && started.elapsed() >= Duration::from_secs(5) {
            server.signal("-STOP");
            hung = true;
        }
        if !resumed && started.elapsed() >= Duration::from_secs(10) {
            server.signal("-CONT");
            resumed = true;
        }
        let call = Instant::now();
        osprof_core::init("SECRET_KEY", None, None);
        {
            let _request = osprof_core::Trace::new("wsgi", None);
            drop(osprof_core::Trace::new("db", None));
        }
        osprof_core::clean();
        slowest = slowest.max(call.elapsed());
        requests += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    notifier::flush();

    let stats = notifier::stats();
    let stored = stored_events(port);
    eprintln!(
        "redis hung 5 s of 20: {requests} requests, slowest traced call {slowest:?}, {stats:?}, \
         {stored} events in the store ({} duplicates)",
        stored.saturating_sub(stats.stored)
    );
    assert!(
        slowest < Duration::from_millis(150),
        "a traced call took {slowest:?}"
    );
    assert_eq!(stats.recorded, 4 * requests, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "the store is back: {stats:?}");
    assert_eq!(
        stats.recorded,
        stats.stored + stats.dropped + stats.failed,
        "{stats:?}"
    );
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
    assert!(stored >= stats.stored, "{stored} stored, {stats:?}");
    assert!(
        stored - stats.stored <= 4096,
        "duplicates beyond one pipeline: {stored} stored, {stats:?}"
    );
}

//! The SQL storage driver when its database goes away mid-run: a TCP proxy in front of the
//! machine's PostgreSQL is cut and restored. Events held meanwhile arrive after it returns;
//! those beyond capacity are counted as dropped.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, Driver};
use serde_json::json;

/// Forwards 127.0.0.1:`port` to PostgreSQL until stopped; every connection is cut on stop.
struct Proxy {
    port: u16,
    running: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(port: u16) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let running = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (alive, open) = (running.clone(), connections.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if !alive.load(Ordering::SeqCst) {
                    return; // the listener closes with this thread
                }
                let client = client.unwrap();
                let server = TcpStream::connect("127.0.0.1:5432").unwrap();
                open.lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Proxy {
            port,
            running,
            connections,
        }
    }

    fn stop(self) -> u16 {
        self.running.store(false, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wake the accept loop
        for stream in self.connections.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        // Wait until the port refuses connections: the database is "down".
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.port
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buffer = [0; 16 * 1024];
        while let Ok(read) = from.read(&mut buffer) {
            if read == 0 || to.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn stored(base_id: &str) -> u64 {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc"])
        .arg(format!(
            "SELECT count(*) FROM data WHERE base_id = '{base_id}'"
        ))
        .output()
        .unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn publish(driver: &dyn Driver, base_id: &str, count: usize) {
    for n in 0..count {
        let event = json!({"name": "db-start", "base_id": base_id, "trace_id": format!("t{n}"), "parent_id": base_id,
                           "timestamp": "2026-11-22T10:00:00.000000", "info": {"host": "vm"}});
        driver.notify(&event).unwrap();
    }
}

#[test]
fn events_held_while_the_database_is_away_arrive_after_it_returns() {
    osprof_sqlx::register_drivers();
    let proxy = Proxy::start(0);
    let mut options = DriverOptions::new("nova", "api");
    options.retry_capacity = 50;
    let driver = notifier::try_create(
        &format!("postgresql://postgres@127.0.0.1:{}/test", proxy.port),
        &options,
    )
    .unwrap();
    let base_id = osprof_core::init("", None, None).base_id().to_owned();
    osprof_core::clean();

    publish(&*driver, &base_id, 10);
    assert_eq!(stored(&base_id), 10);

    let port = proxy.stop();
    let dropped_before = notifier::stats().dropped;
    publish(&*driver, &base_id, 60); // held: the database is away
    assert_eq!(
        notifier::stats().dropped - dropped_before,
        10,
        "beyond capacity, counted"
    );

    let _proxy = Proxy::start(port);
    driver.flush().unwrap();
    if stored(&base_id) != 60 {
        driver.flush().unwrap(); // the pool may hand out one dead connection first
    }
    assert_eq!(stored(&base_id), 60);
}

//! A store that hangs: a TCP proxy that stops forwarding (the server keeps its connections
//! and answers nothing), steady traced load while it hangs, and the check that every
//! recorded event is accounted for.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use osprof_core::notifier::DeliveryStats;

/// Forwards connections on a local port to `upstream`, until paused: then it forwards
/// nothing either way and holds every connection open, as a hung server does.
pub struct Proxy {
    port: u16,
    paused: Arc<AtomicBool>,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`) on a free local port.
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let paused = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let pause = paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                // Forwarded as it comes, as a direct connection would be.
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let pause = pause.clone();
                    std::thread::spawn(move || pump(from, to, &pause));
                }
            }
        });
        Proxy { port, paused }
    }

    /// The local port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops or resumes forwarding.
    pub fn pause(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, paused: &AtomicBool) {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// What the traced code saw under [`steady_load`].
#[derive(Debug)]
pub struct Load {
    /// Requests made, each a trace of two spans: four events.
    pub requests: u64,
    /// The longest any one request took.
    pub slowest: Duration,
}

/// 20 s of one request per millisecond (a trace of two spans each), calling `hang(true)`
/// at 5 s and `hang(false)` at 10 s; then flushes.
pub fn steady_load(mut hang: impl FnMut(bool)) -> Load {
    let started = Instant::now();
    let mut load = Load {
        requests: 0,
        slowest: Duration::ZERO,
    };
    let (mut hung, mut resumed) = (false, false);
    while started.elapsed() < Duration::from_secs(20) {
        if !hung && started.elapsed() >= Duration::from_secs(5) {
            hang(true);
            hung = true;
        }
        if !resumed && started.elapsed() >= Duration::from_secs(10) {
            hang(false);
            resumed = true;
        }
        let call = Instant::now();
        osprof_core::init("SECRET_KEY", None, None);
        {
            let _request = osprof_core::Trace::new("wsgi", None);
            drop(osprof_core::Trace::new("db", None));
        }
        osprof_core::clean();
        load.slowest = load.slowest.max(call.elapsed());
        load.requests += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    osprof_core::notifier::flush();
    load
}

/// Checks, after [`steady_load`] against a store that came back: no traced call took
/// 150 ms, every recorded event was stored, the accounting identity holds exactly, and the
/// store holds each stored event at least once and at most `max_duplicates` more.
pub fn assert_accounted(
    driver: &str,
    load: &Load,
    stats: DeliveryStats,
    in_store: u64,
    max_duplicates: u64,
) {
    eprintln!(
        "{driver} hung 5 s of 20: {} requests, slowest traced call {:?}; recorded {}, stored {}, \
         dropped {}, failed {}, in flight {}; {in_store} events in the store ({} duplicates)",
        load.requests,
        load.slowest,
        stats.recorded,
        stats.stored,
        stats.dropped,
        stats.failed,
        stats.in_flight,
        in_store.saturating_sub(stats.stored),
    );
    assert!(
        load.slowest < Duration::from_millis(150),
        "a traced call took {:?}",
        load.slowest
    );
    assert_eq!(stats.recorded, 4 * load.requests, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "the store is back: {stats:?}");
    assert_eq!(
        stats.recorded,
        stats.stored + stats.dropped + stats.failed,
        "{stats:?}"
    );
    assert_eq!((stats.dropped, stats.failed), (0, 0), "{stats:?}");
    assert!(
        in_store >= stats.stored,
        "{in_store} in the store, {stats:?}"
    );
    assert!(
        in_store - stats.stored <= max_duplicates,
        "more duplicates than documented: {in_store} in the store, {stats:?}"
    );
}

//! What the whole-process benches measure with: the process's CPU time and memory (from
//! Linux's /proc), the command line's filter, and a recording run through a driver.
#![allow(dead_code, unreachable_pub)] // each bench uses what it needs

use std::sync::Arc;
use std::time::Instant;

use osprof_core::notifier::{self, DeliveryOptions, Driver, Overflow};

/// User plus system CPU time of the whole process, in seconds (from /proc/self/stat).
pub(crate) fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0 // USER_HZ is 100 on Linux
}

/// Resident memory of the process, in MiB (from /proc/self/status).
pub(crate) fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// The command line's filter (`cargo bench --bench X -- redis`), or "" for none: a figure
/// runs when its label contains it.
pub(crate) fn filter() -> String {
    std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .unwrap_or_default()
}

/// One run of [`record_through`].
pub(crate) struct Run {
    pub(crate) base_id: String,
    pub(crate) spans_per_second: f64,
    pub(crate) cpu_ns_per_span: f64,
}

/// Records `spans` spans in one trace through `driver`, a full ring making the thread wait
/// (nothing is dropped), and checks that the driver stored every event. The rate runs from
/// the first span to the last event stored.
pub(crate) fn record_through(driver: Arc<dyn Driver>, spans: u64) -> Run {
    let mut options = DeliveryOptions::default();
    options.overflow = Overflow::Block { max_wait: None };
    notifier::configure(options);
    notifier::set_shared(driver);
    let before = notifier::stats();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    for _ in 0..spans {
        drop(osprof_core::Trace::new("db", None));
    }
    osprof_core::clean();
    notifier::flush();
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    notifier::reset();
    let after = notifier::stats();
    assert_eq!(after.stored - before.stored, 2 * spans, "{after:?}");
    assert_eq!(after.dropped + after.failed, before.dropped + before.failed);
    Run {
        base_id: profiler.base_id().to_owned(),
        spans_per_second: spans as f64 / elapsed,
        cpu_ns_per_span: cpu / spans as f64 * 1e9,
    }
}

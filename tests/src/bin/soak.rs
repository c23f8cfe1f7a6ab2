//! The trace-integrity soak: rounds of the stress in `osprof_tests` for a given time,
//! alternating a multi-thread and a current-thread runtime, with a summary at the end.
//!
//! `cargo run --release -p osprof-tests --bin soak -- [SECONDS] [FIRST_SEED]` (60 s from seed
//! 1 by default). Exits non-zero if any trace was wrong.

use std::time::{Duration, Instant};

use osprof_tests::{Report, round};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args
        .next()
        .map_or(60, |s| s.parse().expect("SECONDS: a whole number"));
    let mut seed: u64 = args
        .next()
        .map_or(1, |s| s.parse().expect("FIRST_SEED: a whole number"));
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut report = Report::default();
    let mut rounds = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let runtime = if rounds.is_multiple_of(2) {
            &multi
        } else {
            &current
        };
        report.add(round(runtime, seed, 500));
        seed += 1;
        rounds += 1;
    }
    let contexts = osprof_core::context_stats();
    let delivery = osprof_core::notifier::stats();
    println!(
        "{rounds} rounds in {:.0} s: {} tasks, {} traces checked, {} events, {} failures; \
         live contexts {}, misplaced {}, events dropped {}",
        started.elapsed().as_secs_f64(),
        report.tasks,
        report.traces,
        report.events,
        report.failures.len(),
        contexts.live_contexts,
        contexts.misplaced,
        delivery.dropped,
    );
    for failure in report.failures.iter().take(20) {
        println!("  {failure}");
    }
    if !report.failures.is_empty() || contexts.live_contexts != 0 {
        std::process::exit(1);
    }
}

//! A seeded few seconds of the trace-integrity stress on both runtime flavours: every trace
//! holds exactly the tree its task built, and untraced tasks record nothing. The `soak`
//! binary runs the same rounds for longer.

use osprof_tests::{Report, round};

fn run(runtime: &tokio::runtime::Runtime, first_seed: u64) -> Report {
    let mut report = Report::default();
    for seed in first_seed..first_seed + 20 {
        report.add(round(runtime, seed, 250));
    }
    report
}

fn assert_clean(report: &Report) {
    eprintln!(
        "{} tasks, {} traces checked, {} events, {} failures",
        report.tasks,
        report.traces,
        report.events,
        report.failures.len()
    );
    assert!(report.traces > 3000, "{report:?}");
    assert!(
        report.failures.is_empty(),
        "{} failures in {} traces, first: {:#?}",
        report.failures.len(),
        report.traces,
        &report.failures[..report.failures.len().min(10)]
    );
    let stats = osprof_core::context_stats();
    assert_eq!(stats.live_contexts, 0, "{stats:?}");
    assert_eq!(stats.task_traces, 0, "{stats:?}");
    assert_eq!(stats.misplaced, 0, "{stats:?}");
    assert_eq!(osprof_core::notifier::stats().dropped, 0);
}

#[test]
fn trace_integrity_on_both_runtime_flavours() {
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let report = run(&multi, 1);
    assert_clean(&report);
    drop(multi);
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = run(&current, 1001);
    assert_clean(&report);
}

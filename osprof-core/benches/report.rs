//! Building the report of a 100k-span trace (OSProfiler's report format): one request whose 1,000 calls each
//! make 99 queries, every span with its start and stop event; and of a 1M-span trace, whose
//! 10,000 calls each make 99 queries (only when named: `-- 1M`).

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

fn event(name: &str, trace_id: &str, parent_id: &str, micros: u64) -> Value {
    json!({
        "name": name, "base_id": "b", "trace_id": trace_id, "parent_id": parent_id,
        "project": "nova", "service": "api", "host": "node-1",
        "timestamp": format!("2026-11-22T10:{:02}:{:02}.{:06}",
            micros / 60_000_000, micros / 1_000_000 % 60, micros % 1_000_000),
        "info": {"host": "node-1"},
    })
}

fn trace_of(calls: usize) -> Vec<Value> {
    let mut events = Vec::with_capacity(calls * 200);
    let mut clock = 0;
    let mut span = |events: &mut Vec<Value>, name: &str, id: String, parent: &str| {
        events.push(event(&format!("{name}-start"), &id, parent, clock));
        events.push(event(&format!("{name}-stop"), &id, parent, clock + 5));
        clock += 10;
        id
    };
    let root = span(&mut events, "wsgi", "root".into(), "b");
    for call in 0..calls {
        let call = span(&mut events, "rpc", format!("call-{call}"), &root);
        for query in 0..99 {
            span(&mut events, "db", format!("{call}-query-{query}"), &call);
        }
    }
    events
}

/// Whether the command line's filter selects `label`. The 1M-span trace takes gigabytes and
/// minutes, so it runs only when named (`-- 1M`); no filter runs the others.
fn group_wanted(label: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    if filters.is_empty() {
        return !label.contains("1M");
    }
    filters
        .iter()
        .any(|filter| format!("report/{label}").contains(filter.as_str()))
}

fn report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    for (label, calls) in [("build 100k spans", 1_000), ("build 1M spans", 10_000)] {
        if !group_wanted(label) {
            continue;
        }
        let events = trace_of(calls);
        group.bench_function(label, |b| {
            b.iter_batched(
                || events.clone(),
                osprof_core::report::build,
                BatchSize::LargeInput,
            );
        });
        // What `osprof trace show` does after reading the events: build, then write.
        let json_label = label.replace("build", "build and write JSON");
        if group_wanted(&json_label) {
            group.bench_function(&json_label, |b| {
                b.iter_batched(
                    || events.clone(),
                    |events| osprof_core::report::build(events).to_json(false),
                    BatchSize::LargeInput,
                );
            });
        }
        let page_label = label.replace("build", "build and write the page");
        if group_wanted(&page_label) {
            group.bench_function(&page_label, |b| {
                b.iter_batched(
                    || events.clone(),
                    |events| osprof_core::report::to_html(&osprof_core::report::build(events)),
                    BatchSize::LargeInput,
                );
            });
        }
    }
    group.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);

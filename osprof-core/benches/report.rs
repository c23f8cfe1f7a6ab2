//! Building the report of a 100k-span trace (OSProfiler's report format): one request whose 1,000 calls each
//! make 99 queries, every span with its start and stop event.

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

fn trace_of_100k_spans() -> Vec<Value> {
    let mut events = Vec::with_capacity(200_000);
    let mut clock = 0;
    let mut span = |events: &mut Vec<Value>, name: &str, id: String, parent: &str| {
        events.push(event(&format!("{name}-start"), &id, parent, clock));
        events.push(event(&format!("{name}-stop"), &id, parent, clock + 5));
        clock += 10;
        id
    };
    let root = span(&mut events, "wsgi", "root".into(), "b");
    for call in 0..1_000 {
        let call = span(&mut events, "rpc", format!("call-{call}"), &root);
        for query in 0..99 {
            span(&mut events, "db", format!("{call}-query-{query}"), &call);
        }
    }
    events
}

fn report(c: &mut Criterion) {
    let events = trace_of_100k_spans();
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("build 100k spans", |b| {
        b.iter_batched(
            || events.clone(),
            osprof_core::report::build,
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);

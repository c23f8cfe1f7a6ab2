//! Cost of a span on the calling thread, side by side with `tracing` and `fastrace`.
//!
//! `resting`: no trace active (osprof), no subscriber (tracing), no local parent (fastrace).
//! `active`: 1000 spans per iteration inside an active trace; fastrace records through its
//! thread-local `LocalCollector`, osprof into its per-thread ring. Run with
//! `cargo bench -p osprof-core --bench span_cost`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fastrace::collector::{Config, Reporter, SpanRecord};
use fastrace::local::LocalCollector;
use fastrace::prelude::LocalSpan;

#[inline(never)]
fn untraced(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
fn osprof_traced(x: u64) -> u64 {
    let _span = osprof_core::Trace::new("traced", None);
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
#[osprof_core::trace(hide_args)]
fn osprof_macro_traced(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
#[tracing::instrument(skip_all)]
fn tracing_traced(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
#[fastrace::trace]
fn fastrace_traced(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

struct NoReporter;

impl Reporter for NoReporter {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        black_box(spans);
    }
}

const SPANS_PER_ITERATION: u64 = 1000;

fn resting(c: &mut Criterion) {
    let mut group = c.benchmark_group("resting");
    group.bench_function("untraced", |b| b.iter(|| untraced(black_box(7))));
    group.bench_function("osprof", |b| b.iter(|| osprof_traced(black_box(7))));
    group.bench_function("osprof_trace_macro", |b| {
        b.iter(|| osprof_macro_traced(black_box(7)));
    });
    group.bench_function("tracing", |b| b.iter(|| tracing_traced(black_box(7))));
    group.bench_function("fastrace", |b| b.iter(|| fastrace_traced(black_box(7))));
    group.finish();
}

fn active(c: &mut Criterion) {
    fastrace::set_reporter(NoReporter, Config::default());
    let mut group = c.benchmark_group("active");
    group.throughput(Throughput::Elements(SPANS_PER_ITERATION));
    group.bench_function("osprof", |b| {
        osprof_core::init("bench", None, None);
        b.iter(|| {
            for _ in 0..SPANS_PER_ITERATION {
                let _span = osprof_core::Trace::new("span", None);
            }
        });
        osprof_core::clean();
    });
    group.bench_function("osprof_trace_macro", |b| {
        osprof_core::init("bench", None, None);
        b.iter(|| {
            for i in 0..SPANS_PER_ITERATION {
                osprof_macro_traced(i);
            }
        });
        osprof_core::clean();
    });
    group.bench_function("fastrace_trace_macro", |b| {
        b.iter(|| {
            let collector = LocalCollector::start();
            for i in 0..SPANS_PER_ITERATION {
                fastrace_traced(i);
            }
            black_box(collector.collect());
        });
    });
    group.bench_function("fastrace", |b| {
        b.iter(|| {
            let collector = LocalCollector::start();
            for _ in 0..SPANS_PER_ITERATION {
                let _span = LocalSpan::enter_with_local_parent("span");
            }
            black_box(collector.collect());
        });
    });
    group.finish();
    osprof_core::notifier::flush();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = resting, active
}
criterion_main!(benches);

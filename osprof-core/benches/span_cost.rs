//! Cost of a span on the calling thread, side by side with `tracing` and `fastrace`.
//!
//! `resting`: no trace active (osprof), no subscriber (tracing), no local parent (fastrace).
//! `active`: 1000 spans per iteration inside an active trace; fastrace records through its
//! thread-local `LocalCollector`, osprof into its per-thread ring.
//! `active_async`: a traced parent future awaits a traced `async fn` 1000 times, each
//! completing on its first poll; fastrace's `#[trace]` under a local parent span (its
//! reporter consumes every batch), `tracing`'s `#[instrument]` with a registry.
//!
//! `sustained`: traces of 1000 and of 1,000,000 spans back to back, timed whole.
//!
//! osprof's sink consumes every payload (the delivery thread builds each one), as a
//! service's driver does. The active groups time bursts: each iteration's 1000 spans are
//! timed on the calling thread, then the delivery thread (osprof) or reporter (fastrace)
//! drains them untimed, as between the requests of a service. Run with
//! `cargo bench -p osprof-core --bench span_cost`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::future::Future;
use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
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

#[inline(never)]
#[osprof_core::trace(hide_args)]
async fn osprof_async(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
#[tracing::instrument(skip_all)]
async fn tracing_async(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

#[inline(never)]
#[fastrace::trace]
async fn fastrace_async(x: u64) -> u64 {
    black_box(x).wrapping_mul(31)
}

/// Polls a future that completes on its first poll.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the benchmarked futures never wait"),
    }
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

/// A sink that takes every payload, so the delivery thread builds each one.
fn consuming_sink() {
    osprof_core::notifier::set(|payload: &serde_json::Value| {
        black_box(payload);
    });
}

/// Times `burst` alone, each iteration followed by an untimed `drain`.
fn bursts(b: &mut Bencher, mut burst: impl FnMut(), drain: impl Fn()) {
    b.iter_custom(|iterations| {
        let mut timed = Duration::ZERO;
        for _ in 0..iterations {
            let started = Instant::now();
            burst();
            timed += started.elapsed();
            drain();
        }
        timed
    });
}

fn osprof_drain() {
    osprof_core::notifier::flush();
}

fn fastrace_drain() {
    fastrace::flush();
}

fn active(c: &mut Criterion) {
    fastrace::set_reporter(NoReporter, Config::default());
    consuming_sink();
    let mut group = c.benchmark_group("active");
    group.throughput(Throughput::Elements(SPANS_PER_ITERATION));
    group.bench_function("osprof", |b| {
        osprof_core::init("bench", None, None);
        let burst = || {
            for _ in 0..SPANS_PER_ITERATION {
                let _span = osprof_core::Trace::new("span", None);
            }
        };
        bursts(b, burst, osprof_drain);
        osprof_core::clean();
    });
    group.bench_function("osprof_trace_macro", |b| {
        osprof_core::init("bench", None, None);
        let burst = || {
            for i in 0..SPANS_PER_ITERATION {
                osprof_macro_traced(i);
            }
        };
        bursts(b, burst, osprof_drain);
        osprof_core::clean();
    });
    group.bench_function("fastrace_trace_macro", |b| {
        let burst = || {
            let collector = LocalCollector::start();
            for i in 0..SPANS_PER_ITERATION {
                fastrace_traced(i);
            }
            black_box(collector.collect());
        };
        bursts(b, burst, fastrace_drain);
    });
    group.bench_function("fastrace", |b| {
        let burst = || {
            let collector = LocalCollector::start();
            for _ in 0..SPANS_PER_ITERATION {
                let _span = LocalSpan::enter_with_local_parent("span");
            }
            black_box(collector.collect());
        };
        bursts(b, burst, fastrace_drain);
    });
    group.finish();
    osprof_core::notifier::flush();
}

fn active_async(c: &mut Criterion) {
    fastrace::set_reporter(NoReporter, Config::default());
    consuming_sink();
    let mut group = c.benchmark_group("active_async");
    group.throughput(Throughput::Elements(SPANS_PER_ITERATION));
    group.bench_function("osprof", |b| {
        use osprof_core::FutureExt;
        osprof_core::init("bench", None, None);
        let burst = || {
            let parent = async {
                for i in 0..SPANS_PER_ITERATION {
                    black_box(osprof_async(i).await);
                }
            };
            ready(parent.traced("parent", None));
        };
        bursts(b, burst, osprof_drain);
        osprof_core::clean();
    });
    group.bench_function("fastrace", |b| {
        let burst = || {
            let root = fastrace::Span::root("parent", fastrace::prelude::SpanContext::random());
            let _parent = root.set_local_parent();
            ready(async {
                for i in 0..SPANS_PER_ITERATION {
                    black_box(fastrace_async(i).await);
                }
            });
        };
        bursts(b, burst, fastrace_drain);
    });
    group.bench_function("tracing", |b| {
        use tracing::Instrument;
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let burst = || {
                let parent = async {
                    for i in 0..SPANS_PER_ITERATION {
                        black_box(tracing_async(i).await);
                    }
                };
                ready(parent.instrument(tracing::info_span!("parent")));
            };
            bursts(b, burst, || {});
        });
    });
    group.finish();
}

/// Sustained recording: traces of `spans` spans back to back, nothing drained between them,
/// so that once a ring fills the delivery thread sets the pace (the default overflow policy
/// waits for room). fastrace collects each trace's spans on the calling thread.
fn sustained(c: &mut Criterion) {
    fastrace::set_reporter(NoReporter, Config::default());
    consuming_sink();
    let mut group = c.benchmark_group("sustained");
    for spans in [1000_u64, 1_000_000] {
        group.throughput(Throughput::Elements(spans));
        if spans > 1000 {
            group.sample_size(10);
        }
        group.bench_function(format!("osprof/{spans}"), |b| {
            b.iter(|| {
                osprof_core::init("bench", None, None);
                for _ in 0..spans {
                    let _span = osprof_core::Trace::new("span", None);
                }
                osprof_core::clean();
            });
        });
        // A `LocalCollector` keeps at most 10,240 spans and drops the rest: a million spans
        // are recorded without loss as a thousand collections of a thousand.
        group.bench_function(format!("fastrace/{spans}"), |b| {
            b.iter(|| {
                for _ in 0..spans / 1000 {
                    let collector = LocalCollector::start();
                    for _ in 0..1000 {
                        let _span = LocalSpan::enter_with_local_parent("span");
                    }
                    black_box(collector.collect());
                }
            });
        });
    }
    group.finish();
    osprof_core::notifier::flush();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = resting, active, active_async, sustained
}
criterion_main!(benches);

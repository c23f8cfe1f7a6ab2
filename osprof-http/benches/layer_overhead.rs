//! What `TraceLayer` costs a request that carries no trace headers: the bare service, the
//! service behind osprof's layer, and behind tower-http's `tracing` layer (no subscriber),
//! in one run. Each call is polled to completion on the bench thread.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use http_body_util::Empty;
use tower::{Layer, Service, service_fn};

fn request() -> Request<Empty<Bytes>> {
    Request::get("/v2/servers?limit=10")
        .header("accept", "application/json")
        .header("user-agent", "python-novaclient")
        .body(Empty::new())
        .unwrap()
}

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the bench service is always ready"),
    }
}

fn bench<S>(c: &mut Criterion, name: &str, mut service: S)
where
    S: Service<Request<Empty<Bytes>>>,
    S::Error: std::fmt::Debug,
{
    c.bench_function(name, |b| {
        b.iter_batched(
            request,
            |request| black_box(ready(service.call(request)).unwrap()),
            BatchSize::SmallInput,
        );
    });
}

fn layer_overhead(c: &mut Criterion) {
    let bare = || {
        service_fn(|_: Request<Empty<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
        })
    };
    bench(c, "untraced request/bare service", bare());
    bench(
        c,
        "untraced request/osprof TraceLayer",
        osprof_http::TraceLayer::new(["SECRET_KEY"]).layer(bare()),
    );
    bench(
        c,
        "untraced request/tower-http TraceLayer (tracing)",
        tower_http::trace::TraceLayer::new_for_http().layer(bare()),
    );
}

criterion_group!(benches, layer_overhead);
criterion_main!(benches);

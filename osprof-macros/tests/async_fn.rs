//! `#[trace]` on async code: spans live in the future, entered on each poll.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use osprof_core::{FutureExt, clean, init, trace, trace_impl};
use serde_json::Value;

/// Runs `f` in a fresh trace on a multi-thread runtime (tasks move between workers).
fn traced<F: Future<Output = ()> + Send + 'static>(f: impl FnOnce() -> F) -> Vec<Value> {
    common::install_sink();
    let base = common::multi_thread_runtime().block_on(
        async {
            let profiler = init("key", None, None);
            f().await;
            clean();
            profiler.base_id().to_owned()
        }
        .in_current_trace(),
    );
    common::events_of(&base)
}

#[trace]
async fn leaf(delay_ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    delay_ms
}

#[trace]
async fn branch() -> Result<u64, std::io::Error> {
    let a = leaf(1).await;
    tokio::task::yield_now().await;
    let b = osprof_core::tokio::spawn(leaf(2))
        .await
        .map_err(std::io::Error::other)?;
    Ok(a + b)
}

#[test]
fn nested_async_fns_keep_parent_links_across_awaits_and_threads() {
    let events = traced(|| async {
        assert_eq!(branch().await.unwrap(), 3);
    });
    assert_eq!(common::tree(&events), "branch\n  leaf\n  leaf\n");
    assert_eq!(events[0]["info"]["function"]["name"], "async_fn::branch");
}

#[trace]
async fn fails_async() -> Result<(), std::io::Error> {
    tokio::task::yield_now().await;
    Err(std::io::Error::other("disk gone"))
}

#[test]
fn async_errors_stop_with_etype() {
    let events = traced(|| async {
        assert!(fails_async().await.is_err());
    });
    let stop = &events[1]["info"];
    // An io::Error's etype names its kind.
    assert_eq!(stop["etype"], "std::io::error::Error::Other");
    assert_eq!(stop["message"], "disk gone");
}

#[trace]
fn returns_future(value: u32) -> impl Future<Output = u32> {
    async move {
        tokio::task::yield_now().await;
        value + 1
    }
}

#[trace]
fn fib(n: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move {
        if n < 2 {
            n
        } else {
            fib(n - 1).await + fib(n - 2).await
        }
    })
}

#[test]
fn functions_returning_futures_and_boxed_recursion() {
    let events = traced(|| async {
        assert_eq!(returns_future(1).await, 2);
        assert_eq!(fib(3).await, 2);
    });
    assert_eq!(
        common::tree(&events),
        "returns_future\nfib\n  fib\n    fib\n    fib\n  fib\n"
    );
}

trait Service {
    async fn call(&self, request: u32) -> u32;
}

struct Doubler;

#[trace_impl]
impl Service for Doubler {
    async fn call(&self, request: u32) -> u32 {
        tokio::task::yield_now().await;
        request * 2
    }
}

#[async_trait::async_trait]
trait Boxed {
    async fn handle(&self, request: u32) -> Result<u32, String>;
}

struct Outer;
struct Inner;

// `#[async_trait]` expands first: the methods reach `#[trace_impl]` as boxed futures.
#[async_trait::async_trait]
#[trace_impl]
impl Boxed for Outer {
    async fn handle(&self, request: u32) -> Result<u32, String> {
        tokio::task::yield_now().await;
        Ok(request + 1)
    }
}

// `#[trace_impl]` expands first: it sees `async fn`s.
#[trace_impl]
#[async_trait::async_trait]
impl Boxed for Inner {
    async fn handle(&self, request: u32) -> Result<u32, String> {
        Err(format!("no {request}"))
    }
}

#[test]
fn async_fn_in_traits_and_async_trait_in_either_order() {
    let events = traced(|| async {
        assert_eq!(Doubler.call(2).await, 4);
        assert_eq!(Outer.handle(1).await, Ok(2));
        assert_eq!(Inner.handle(1).await, Err("no 1".to_owned()));
    });
    assert_eq!(common::tree(&events), "call\nhandle\nhandle\n");
    assert_eq!(
        common::function_names(&events)[0],
        "<async_fn::Doubler as async_fn::Service>::call"
    );
    assert_eq!(events[5]["info"]["etype"], "alloc::string::String");
    assert_eq!(events[5]["info"]["message"], "no 1");
}

#[test]
fn an_async_span_is_not_held_by_a_guard_across_await() {
    // Two traced futures interleaved on one task: each stays its own span.
    let events = traced(|| async {
        let (a, b) = tokio::join!(leaf(3), leaf(1));
        assert_eq!((a, b), (3, 1));
    });
    assert_eq!(common::tree(&events), "leaf\nleaf\n");
}

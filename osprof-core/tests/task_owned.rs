//! A trace started by a bare `init` in a tokio task belongs to that task: on both runtime
//! flavours, whichever worker polls it, and no other task ever sees it.
//!
//! The tests share one sink and filter it by base id; they run one at a time (`LIVE`), since
//! some count the process-wide live contexts.

mod common;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use osprof_core::{FutureExt, Trace, trace};
use serde_json::Value;

/// Held by the tests that assert the process-wide count of live contexts.
static LIVE: Mutex<()> = Mutex::new(());

#[trace]
async fn work(i: usize) {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let _ = i;
}

/// The reproduction: three tasks, each `init`, `work(i).await`, `clean`, then an
/// untraced task that runs `work(99)`.
async fn reproduction(tasks: usize) -> Vec<String> {
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            tokio::spawn(async move {
                let base_id = osprof_core::init("SECRET_KEY", None, None)
                    .base_id()
                    .to_owned();
                work(i).await;
                osprof_core::clean();
                base_id
            })
        })
        .collect();
    let mut bases = Vec::new();
    for handle in handles {
        bases.push(handle.await.unwrap());
    }
    tokio::spawn(work(99)).await.unwrap();
    bases
}

fn check_reproduction(bases: &[String]) {
    let distinct: HashSet<_> = bases.iter().collect();
    assert_eq!(
        distinct.len(),
        bases.len(),
        "each task its own trace: {bases:?}"
    );
    let all = common::all_events();
    for (i, base) in bases.iter().enumerate() {
        let events: Vec<Value> = all
            .iter()
            .filter(|event| event["base_id"] == base.as_str())
            .cloned()
            .collect();
        assert_eq!(common::tree(&events), "work\n", "trace of task {i}");
        assert_eq!(
            events[0]["parent_id"],
            base.as_str(),
            "work is the trace's root span"
        );
        let args = events[0]["info"]["function"]["args"].as_str().unwrap();
        assert_eq!(args, format!("({i},)"), "the task's own call");
    }
    let stray = all
        .iter()
        .filter(|event| event["info"]["function"]["args"] == "(99,)")
        .count();
    assert_eq!(stray, 0, "an untraced task records nothing");
    let stats = osprof_core::context_stats();
    assert_eq!(stats.task_traces, 0);
    assert_eq!(stats.live_contexts, 0, "the resting fast path is back");
}

#[test]
fn bare_init_in_tasks_of_a_multi_thread_runtime() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let bases = common::multi_thread_runtime().block_on(reproduction(50));
    check_reproduction(&bases);
}

#[test]
fn bare_init_in_tasks_of_a_current_thread_runtime() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let bases = common::current_thread_runtime().block_on(reproduction(50));
    check_reproduction(&bases);
}

#[test]
fn tokio_main_body_keeps_its_trace_from_the_tasks_it_spawns() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    // What `#[tokio::main(flavor = "current_thread")]` and `#[tokio::test]` expand to: the
    // body is `block_on`'s future, and spawned tasks run on the same thread.
    let base = common::current_thread_runtime().block_on(async {
        let base = osprof_core::init("key", None, None).base_id().to_owned();
        work(1).await;
        let (untraced, own) = tokio::join!(
            tokio::spawn(async {
                work(2).await;
                osprof_core::get()
            }),
            tokio::spawn(
                async {
                    work(3).await;
                    osprof_core::get()
                }
                .in_current_trace()
            ),
        );
        assert!(
            untraced.unwrap().is_none(),
            "a task does not see block_on's trace"
        );
        assert_eq!(
            own.unwrap().unwrap().base_id(),
            base,
            "unless it is handed over"
        );
        work(4).await;
        osprof_core::clean();
        base
    });
    let events = common::events_of(&base);
    assert_eq!(common::tree(&events), "work\nwork\nwork\n");
    let args: Vec<_> = events
        .iter()
        .filter(|event| event["name"] == "work-start")
        .map(|event| event["info"]["function"]["args"].as_str().unwrap())
        .collect();
    assert_eq!(args, ["(1,)", "(3,)", "(4,)"]);
    assert_eq!(osprof_core::context_stats().live_contexts, 0);
}

#[test]
fn a_task_trace_is_seen_by_every_poll_and_sync_spans_nest_in_it() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let runtime = common::multi_thread_runtime();
    let bases: Vec<String> = runtime.block_on(async {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                tokio::spawn(async {
                    let profiler = osprof_core::init("key", None, None);
                    let base_id = profiler.base_id().to_owned();
                    async move {
                        for _ in 0..3 {
                            tokio::task::yield_now().await;
                            let _step = Trace::new("step", None);
                            assert_eq!(osprof_core::get().unwrap().base_id(), base_id);
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        let child = osprof_core::tokio::spawn(async {
                            let _child = Trace::new("child", None);
                        });
                        child.await.unwrap();
                    }
                    .traced("request", None)
                    .await;
                    osprof_core::clean();
                    assert!(osprof_core::get().is_none(), "clean ends it");
                    profiler.base_id().to_owned()
                })
            })
            .collect();
        let mut bases = Vec::new();
        for handle in handles {
            bases.push(handle.await.unwrap());
        }
        bases
    });
    for base in bases {
        let events = common::events_of(&base);
        assert_eq!(
            common::tree(&events),
            "request\n  step\n  step\n  step\n  child\n"
        );
    }
    assert_eq!(osprof_core::context_stats().live_contexts, 0);
}

#[test]
fn in_new_trace_is_a_scoped_root() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let runtime = common::multi_thread_runtime();
    let base_id = "0b8e8a5c-3f7a-4a8e-9a4e-2f0c4b6f8a11";
    let (seen, outside) = runtime.block_on(async {
        let handle = tokio::spawn(
            async {
                work(7).await;
                osprof_core::get().map(|profiler| profiler.hmac_key().to_owned())
            }
            .in_new_trace("SECRET_KEY", Some(base_id), None),
        );
        (handle.await.unwrap(), osprof_core::get())
    });
    assert_eq!(seen.as_deref(), Some("SECRET_KEY"));
    assert!(outside.is_none());
    assert_eq!(common::tree(&common::events_of(base_id)), "work\n");
}

#[test]
fn a_dropped_in_new_trace_future_ends_its_trace() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let runtime = common::multi_thread_runtime();
    let base_id = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f";
    runtime.block_on(async {
        let never = async {
            work(1).await;
            std::future::pending::<()>().await;
        }
        .in_new_trace("key", Some(base_id), None);
        let timed_out = tokio::time::timeout(Duration::from_millis(20), never).await;
        assert!(timed_out.is_err());
    });
    assert_eq!(common::tree(&common::events_of(base_id)), "work\n");
    assert_eq!(osprof_core::context_stats().live_contexts, 0);
}

/// A minimal executor that is not tokio: polls one future on a new thread at each wake-up,
/// so the future moves between threads at every `.await`.
fn run_hopping<F: std::future::Future + Send + 'static>(future: F) -> F::Output
where
    F::Output: Send,
{
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Flag(std::sync::Mutex<bool>, std::sync::Condvar);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            *self.0.lock().unwrap() = true;
            self.1.notify_one();
        }
    }
    let flag = Arc::new(Flag(
        std::sync::Mutex::new(false),
        std::sync::Condvar::new(),
    ));
    let waker = Waker::from(flag.clone());
    let mut future = Box::pin(future);
    loop {
        let waker = waker.clone();
        let (poll, future_back) = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let poll = future.as_mut().poll(&mut Context::from_waker(&waker));
                    (poll, future)
                })
                .join()
                .unwrap()
        });
        future = future_back;
        if let Poll::Ready(output) = poll {
            return output;
        }
        let mut woken = flag.0.lock().unwrap();
        while !*woken {
            woken = flag.1.wait(woken).unwrap();
        }
        *woken = false;
    }
}

/// Yields once, waking itself: the hopping executor polls the rest on another thread.
async fn hop() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[trace(hide_args)]
async fn hopping_child() {
    hop().await;
    let _inner = Trace::new("inner", None);
}

#[trace(hide_args)]
async fn hopping_parent() {
    hop().await;
    {
        let _sync = Trace::new("sync", None);
    }
    hopping_child().await;
}

#[test]
fn a_traced_future_keeps_its_trace_on_an_executor_that_moves_it() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let base_id = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d";
    // A bare `init` on a thread, then the future polled on other threads: the traced
    // future brings its trace to each of them.
    osprof_core::init("key", Some(base_id), None);
    let parent = hopping_parent();
    // The first poll opens the span on this thread's trace; the rest run elsewhere.
    let mut parent = Box::pin(parent);
    let waker = std::task::Waker::noop();
    assert!(
        parent
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending()
    );
    osprof_core::clean();
    run_hopping(parent);
    assert_eq!(
        common::tree(&common::events_of(base_id)),
        "hopping_parent\n  sync\n  hopping_child\n    inner\n"
    );
}

#[test]
fn a_traced_future_polled_in_another_trace_keeps_to_its_own_and_is_counted() {
    let _live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
    common::install_sink();
    let own = "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e";
    let other = "3c4d5e6f-7a8b-4c3d-8e4f-5a6b7c8d9e0f";
    let before = osprof_core::context_stats().misplaced;
    osprof_core::init("key", Some(own), None);
    let mut future = Box::pin(hopping_parent());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    assert!(future.as_mut().poll(&mut cx).is_pending());
    osprof_core::clean();
    // Another trace left on this thread, as a bare `init` in a moved future would leave it.
    osprof_core::init("key", Some(other), None);
    while future.as_mut().poll(&mut cx).is_pending() {}
    osprof_core::clean();
    assert_eq!(
        common::tree(&common::events_of(own)),
        "hopping_parent\n  sync\n  hopping_child\n    inner\n"
    );
    assert!(common::events_of(other).is_empty());
    assert!(osprof_core::context_stats().misplaced > before);
}

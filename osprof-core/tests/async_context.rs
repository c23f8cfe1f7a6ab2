//! The context follows the code: across `.await`, executor threads and spawn helpers.

mod common;

use std::time::Duration;

use osprof_core::{FutureExt, Trace, clean, get, init};

async fn leaf(name: &'static str) {
    async {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    .traced(name, None)
    .await;
}

async fn branch(name: &'static str) {
    async move {
        leaf("leaf-1").await;
        tokio::task::yield_now().await;
        leaf("leaf-2").await;
    }
    .traced(name, None)
    .await;
}

#[test]
fn nested_futures_keep_parent_links_on_a_multi_thread_runtime() {
    common::install_sink();
    let runtime = common::multi_thread_runtime();
    let mut bases = Vec::new();
    for _ in 0..8 {
        let handle = runtime.spawn(
            async {
                let profiler = init("key", None, None);
                async {
                    branch("branch-a").await;
                    // Moved between threads at each await by the work-stealing scheduler.
                    branch("branch-b").await;
                }
                .traced("request", None)
                .await;
                clean();
                profiler.base_id().to_owned()
            }
            .in_current_trace(),
        );
        bases.push(handle);
    }
    for handle in bases {
        let base = runtime.block_on(handle).unwrap();
        let events = common::events_of(&base);
        assert_eq!(
            common::tree(&events),
            "request\n  branch-a\n    leaf-1\n    leaf-2\n  branch-b\n    leaf-1\n    leaf-2\n"
        );
        assert_eq!(events[0]["parent_id"], base.as_str());
    }
}

#[test]
fn interleaved_tasks_on_one_thread_keep_separate_trees() {
    common::install_sink();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (first, second) = runtime.block_on(async {
        let task = |label: &'static str| {
            async move {
                let profiler = init(label, None, None);
                async {
                    for _ in 0..3 {
                        async { tokio::task::yield_now().await }
                            .traced(label, None)
                            .await;
                    }
                }
                .traced("root", None)
                .await;
                assert_eq!(get().unwrap().hmac_key(), label);
                clean();
                profiler.base_id().to_owned()
            }
            .in_current_trace()
        };
        tokio::join!(tokio::spawn(task("a")), tokio::spawn(task("b")))
    });
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(first, second);
    assert_eq!(
        common::tree(&common::events_of(&first)),
        "root\n  a\n  a\n  a\n"
    );
    assert_eq!(
        common::tree(&common::events_of(&second)),
        "root\n  b\n  b\n  b\n"
    );
}

#[test]
fn tasks_that_init_and_clean_leave_no_context_on_worker_threads() {
    let runtime = common::multi_thread_runtime();
    runtime.block_on(async {
        let mut handles = Vec::new();
        for round in 0..200 {
            handles.push(osprof_core::tokio::spawn(async move {
                assert!(
                    get().is_none(),
                    "round {round} started inside someone's trace"
                );
                init("key", None, None);
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_micros(50)).await;
                assert!(
                    get().is_some(),
                    "round {round} lost its trace across an await"
                );
                clean();
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    });
    // Every worker thread is clean: run one probe per worker and look.
    let probes: Vec<_> = (0..16)
        .map(|_| runtime.spawn(async { get().is_none() }))
        .collect();
    for probe in probes {
        assert!(runtime.block_on(probe).unwrap());
    }
}

#[test]
fn spawn_helpers_carry_the_context() {
    common::install_sink();
    let runtime = common::multi_thread_runtime();
    let profiler = init("key", None, None);
    {
        let _parent = Trace::new("parent", None);
        osprof_core::thread::spawn(|| drop(Trace::new("in-thread", None)))
            .join()
            .unwrap();
        std::thread::spawn(osprof_core::carry(|| {
            drop(Trace::new("in-carried-closure", None))
        }))
        .join()
        .unwrap();
        runtime.block_on(async {
            osprof_core::tokio::spawn(async { leaf("in-task").await })
                .await
                .unwrap();
            osprof_core::tokio::spawn_blocking(|| drop(Trace::new("in-blocking", None)))
                .await
                .unwrap();
            tokio::spawn(leaf("in-wrapped-future").in_current_trace())
                .await
                .unwrap();
        });
    }
    clean();
    let events = common::events_of(profiler.base_id());
    assert_eq!(
        common::tree(&events),
        "parent\n  in-thread\n  in-carried-closure\n  in-task\n  in-blocking\n  in-wrapped-future\n"
    );
}

#[test]
fn a_dropped_future_stops_its_span() {
    common::install_sink();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = runtime.block_on(
        async {
            let profiler = init("key", None, None);
            let never = std::future::pending::<()>().traced("cancelled", None);
            let _ = tokio::time::timeout(Duration::from_millis(5), never).await;
            clean();
            profiler.base_id().to_owned()
        }
        .in_current_trace(),
    );
    assert_eq!(common::tree(&common::events_of(&base)), "cancelled\n");
}

//! `trace_requests`: a wrapped client traces with no configuration; `init_from_conf` with
//! `trace_requests = false` turns off its spans and headers, and the run-time switch turns
//! them back on. One test in its own binary, since the switch is process-wide.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use osprof_core::FutureExt;
use osprof_core::config::{self, ProfilerConfig};
use osprof_http::{TraceLayer, TraceMiddleware};
use reqwest_middleware::ClientBuilder;
use support::{app, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requests_switch_is_honoured_at_start_up_and_at_run_time() {
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(TraceMiddleware::default())
        .build();
    // One traced request: the names of the trace's spans, and what the callee saw.
    let call = || async {
        let (base_id, body) = async {
            let base_id = osprof_core::init("SECRET_KEY", None, None)
                .base_id()
                .to_owned();
            let body = client
                .get(format!("http://{address}/whoami"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            osprof_core::clean();
            (base_id, body)
        }
        .in_current_trace()
        .await;
        (
            common::tree(&common::events_of(&base_id)),
            body.starts_with("traced"),
        )
    };

    common::install_sink();
    let traced = ("http\n  wsgi\n    load_servers\n".to_owned(), true);
    assert_eq!(call().await, traced, "a wrapped client traces by default");

    let mut conf = ProfilerConfig::default();
    conf.enabled = true;
    conf.trace_requests = false;
    conf.connection_string = format!(
        "file://{}",
        std::env::temp_dir()
            .join(format!(
                "osprof-requests-switch-{}.jsonl",
                std::process::id()
            ))
            .display()
    );
    // init_from_conf installs the configured driver: keep collecting where the test reads.
    let sink = osprof_core::notifier::get();
    config::init_from_conf(&conf, "nova", "api", None);
    osprof_core::notifier::set_shared(sink);
    assert_eq!(
        call().await,
        (String::new(), false),
        "no span and no headers"
    );

    config::set_trace_requests(true);
    assert_eq!(call().await, traced);
}

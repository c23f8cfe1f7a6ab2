//! Outgoing requests through the reqwest middleware, to a real traced server on loopback.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use osprof_core::FutureExt;
use osprof_http::{TraceLayer, TraceMiddleware};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use serde_json::json;
use support::{app, serve};

fn client() -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(TraceMiddleware::default())
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_a_child_span_and_the_callee_joins_under_it() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;

    let (base_id, body) = async move {
        let base_id = osprof_core::init("SECRET_KEY", None, None)
            .base_id()
            .to_owned();
        let url = format!("http://{address}/whoami?verbose=1");
        let body = client()
            .get(url)
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

    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "http\n  wsgi\n    load_servers\n");
    let call = events.iter().find(|e| e["name"] == "http-start").unwrap();
    assert_eq!(
        call["info"]["requests"],
        json!({"method": "GET", "query": "verbose=1", "path": "/whoami",
               "hostname": "127.0.0.1", "port": address.port(), "scheme": "http"})
    );
    let stop = events.iter().find(|e| e["name"] == "http-stop").unwrap();
    assert_eq!(stop["info"]["requests"], json!({"status_code": 200}));
    let wsgi = events.iter().find(|e| e["name"] == "wsgi-start").unwrap();
    assert_eq!(wsgi["parent_id"], call["trace_id"]);
    assert!(body.starts_with(&format!("traced {base_id} ")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_still_stops_its_span_with_the_error() {
    common::install_sink();
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let base_id = async move {
        let base_id = osprof_core::init("SECRET_KEY", None, None)
            .base_id()
            .to_owned();
        let result = client().get(format!("http://{closed}/")).send().await;
        assert!(result.is_err());
        osprof_core::clean();
        base_id
    }
    .in_current_trace()
    .await;

    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "http\n");
    let stop = &events[1];
    assert_eq!(stop["name"], "http-stop");
    assert_eq!(
        stop["info"]["etype"],
        "reqwest_middleware::error::Error::Reqwest"
    );
    assert!(
        stop["info"]["message"].as_str().unwrap().contains("error"),
        "{stop}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_a_trace_nothing_is_added() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;

    let body = client()
        .get(format!("http://{address}/whoami"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(body, "untraced");
}

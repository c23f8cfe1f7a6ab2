//! Signed W3C Trace Context across an osprof service, with OpenTelemetry's Python SDK as its
//! caller and its callee (`pip install -r .ci/python-requirements.txt`), and the `otlp://`
//! driver exporting the service's spans to a real OTLP receiver: a signed `traceparent`
//! starts the trace under the caller's W3C trace id, the callee continues the same trace
//! under the service's client span, the export carries that id, and the response says which
//! trace to show. An unsigned, an expired or a tampered context starts nothing.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use opentelemetry_proto::tonic::trace::v1::Span;
use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_http::{TraceLayer, TraceMiddleware};
use osprof_tests::otlp_receiver::Receiver;
use serde_json::Value;

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

/// A Python peer from this crate's `python/` folder.
fn python(script: &str) -> Command {
    common::python(&format!("tests/python/{script}"))
}

/// The OpenTelemetry callee, killed when dropped.
struct Callee(Child, u16);

impl Callee {
    fn start() -> Callee {
        let mut child = python("otel_server.py")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let port = port.trim().parse().unwrap_or_else(|_| {
            panic!("otel_server.py did not start (pip install -r .ci/python-requirements.txt)")
        });
        Callee(child, port)
    }
}

impl Drop for Callee {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The osprof service: `/call` asks the callee through a traced reqwest client and answers
/// with what the callee saw.
async fn service(callee: u16) -> SocketAddr {
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TraceMiddleware::default())
        .build();
    let call = move || {
        let client = client.clone();
        async move {
            let url = format!("http://127.0.0.1:{callee}/");
            client.get(url).send().await.unwrap().text().await.unwrap()
        }
    };
    let app = Router::new()
        .route("/call", get(call))
        .layer(TraceLayer::new(["SECRET_KEY"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// Runs the OpenTelemetry caller against `url` with `args`; its JSON.
async fn caller(url: String, args: &[&str]) -> Value {
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let output =
        tokio::task::spawn_blocking(move || python("otel_client.py").arg(url).args(args).output())
            .await
            .unwrap()
            .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The spans received for `trace_id` (32 hex digits), once delivery is flushed, waiting up
/// to 10 s for `count` of them.
fn exported(receiver: &Receiver, trace_id: &str, count: usize) -> Vec<Span> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        notifier::flush();
        let spans: Vec<Span> = receiver
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|span| hex(&span.trace_id) == trace_id)
            .cloned()
            .collect();
        if spans.len() >= count || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_w3c_trace_crosses_the_service_and_reaches_the_collector() {
    let receiver = Receiver::default();
    let otlp = receiver.start();
    notifier::set_shared(
        notifier::try_create(
            &format!("otlp://{otlp}"),
            &DriverOptions::new("nova", "api"),
        )
        .unwrap(),
    );
    let callee = Callee::start();
    let url = format!("http://{}/call", service(callee.1).await);

    let called = caller(url.clone(), &["SECRET_KEY"]).await;
    let trace_id = called["trace_id"].as_str().unwrap();
    let base_id = uuid::Uuid::parse_str(trace_id)
        .unwrap()
        .hyphenated()
        .to_string();
    assert_eq!(
        called["server_timing"],
        format!("osprof;desc=\"{base_id}\"")
    );

    // The service's request span and its client span, exported under the caller's trace id.
    let spans = exported(&receiver, trace_id, 2);
    let request = spans
        .iter()
        .find(|span| span.name == "WSGI_GET_/call")
        .unwrap();
    let client = spans
        .iter()
        .find(|span| span.name.starts_with("REQUESTS_GET"))
        .unwrap();
    assert_eq!(
        hex(&request.parent_span_id),
        called["span_id"].as_str().unwrap(),
        "under the caller's span"
    );
    assert_eq!(client.parent_span_id, request.span_id);

    // The OpenTelemetry callee continued the same trace, under the service's client span,
    // and got the service's signed entry in tracestate.
    let seen: Value = serde_json::from_str(called["body"].as_str().unwrap()).unwrap();
    assert_eq!(seen["trace_id"], trace_id);
    assert_eq!(seen["parent_id"], hex(&client.span_id));
    assert!(
        seen["tracestate"]
            .as_str()
            .unwrap()
            .starts_with("osprof=1:"),
        "{seen}"
    );

    // Unsigned, expired (beyond the allowed clock skew) or signed with another key: untraced,
    // and the callee gets no context from the service.
    for args in [&[][..], &["SECRET_KEY", "-61"], &["OTHER_KEY"]] {
        let called = caller(url.clone(), args).await;
        assert_eq!(called["server_timing"], Value::Null, "{args:?}");
        let seen: Value = serde_json::from_str(called["body"].as_str().unwrap()).unwrap();
        assert_eq!(seen["trace_id"], Value::Null, "{args:?}");
        // Flushed, the export of anything recorded has been attempted.
        assert!(
            exported(&receiver, called["trace_id"].as_str().unwrap(), 0).is_empty(),
            "{args:?}"
        );
    }
}

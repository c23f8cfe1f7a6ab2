//! Interoperability with the real Python OSProfiler (`pip install -r
//! .ci/python-requirements.txt`): its client joins our server's trace, and
//! our client's headers pass its verifier and its WSGI middleware.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use osprof_core::FutureExt;
use osprof_http::{TraceLayer, TraceMiddleware};
use serde_json::{Value, json};
use support::{app, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_trace_continues_in_the_rust_server() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;

    let url = format!("http://{address}/whoami");
    let output = tokio::task::spawn_blocking(move || {
        common::python("osprof-http/tests/python/client.py")
            .arg(url)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let python = common::python_output(output);

    let base_id = python["base_id"].as_str().unwrap();
    let events = common::events_of(base_id);
    assert_eq!(common::tree(&events), "wsgi\n  load_servers\n");
    assert_eq!(events[0]["parent_id"], python["span_id"]);
    assert!(
        python["body"]
            .as_str()
            .unwrap()
            .starts_with(&format!("traced {base_id} "))
    );
}

#[test]
fn rust_headers_pass_python_signed_unpack() {
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    let mut headers = http::HeaderMap::new();
    let span_id = {
        let _call = osprof_core::Trace::new("http", None);
        osprof_http::add_trace_headers(&mut headers);
        osprof_core::get().unwrap().id().to_owned()
    };
    osprof_core::clean();
    let header = |name| headers[name].to_str().unwrap().to_owned();

    let unpacked = common::python_output(
        common::python("osprof-http/tests/python/unpack.py")
            .args([header("x-trace-info"), header("x-trace-hmac")])
            .arg("OTHER,SECRET_KEY")
            .output()
            .unwrap(),
    );

    assert_eq!(
        unpacked,
        json!({"base_id": profiler.base_id(), "parent_id": span_id, "hmac_key": "SECRET_KEY"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_wsgi_middleware_joins_a_trace_from_the_rust_client() {
    common::install_sink();
    let mut server = common::python("osprof-http/tests/python/wsgi_server.py")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("http://127.0.0.1:{}/v2/servers", port.trim());
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TraceMiddleware::default())
        .build();

    let (base_id, seen) = async move {
        let base_id = osprof_core::init("SECRET_KEY", None, None)
            .base_id()
            .to_owned();
        let seen = client.get(url).send().await.unwrap().text().await.unwrap();
        osprof_core::clean();
        (base_id, seen)
    }
    .in_current_trace()
    .await;
    assert!(server.wait().unwrap().success());
    let seen: Value = serde_json::from_str(&seen).unwrap();

    let events = common::events_of(&base_id);
    let call = events.iter().find(|e| e["name"] == "http-start").unwrap();
    assert_eq!(
        seen,
        json!({"base_id": base_id, "parent_id": call["trace_id"]})
    );
}

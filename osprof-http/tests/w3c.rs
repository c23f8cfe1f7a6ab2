//! Signed W3C Trace Context through the tower layer in a real axum server on loopback: an
//! osprof caller's `traceparent` and signed `tracestate` alone continue its trace, an unsigned
//! `traceparent` never starts one (it is kept beside a valid OSProfiler pair), the response
//! names the trace in `Server-Timing`, and a key's rate limit bounds its new traces.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use std::net::SocketAddr;

use osprof_http::TraceLayer;
use support::{app, serve, signed, uuid};

/// GET `/whoami` with `headers`: the `Server-Timing` header and the body.
async fn whoami(address: SocketAddr, headers: &[(&str, &str)]) -> (Option<String>, String) {
    let mut request = reqwest::Client::new().get(format!("http://{address}/whoami"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let timing = response
        .headers()
        .get("server-timing")
        .map(|value| value.to_str().unwrap().to_owned());
    (timing, response.text().await.unwrap())
}

const UNSIGNED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test]
async fn an_osprof_callers_w3c_headers_alone_continue_its_trace() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    let mut headers = http::HeaderMap::new();
    let span_id = {
        let _call = osprof_core::Trace::new("http", None);
        assert!(osprof_http::add_trace_headers(&mut headers));
        osprof_core::get().unwrap().id().to_owned()
    };
    osprof_core::clean();
    let base_id = profiler.base_id().to_owned();
    let header = |name: &str| headers[name].to_str().unwrap().to_owned();
    let (traceparent, tracestate) = (header("traceparent"), header("tracestate"));

    let (timing, body) = whoami(
        address,
        &[("traceparent", &traceparent), ("tracestate", &tracestate)],
    )
    .await;

    assert!(body.starts_with(&format!("traced {base_id} ")), "{body}");
    assert_eq!(timing, Some(format!("osprof;desc=\"{base_id}\"")));
    // W3C names the caller's span by 64 bits only, so the request's span is a root of the
    // osprof report (osprof callers send OSProfiler's pair too, which nests it); its parent
    // is the caller's span as W3C and OTLP know it: the id's low 64 bits.
    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "http\nwsgi\n  load_servers\n");
    let low_64 = &span_id.replace('-', "")[16..];
    let wsgi = events
        .iter()
        .find(|event| event["name"] == "wsgi-start")
        .unwrap();
    assert_eq!(
        wsgi["parent_id"],
        format!("00000000-0000-8000-{}-{}", &low_64[..4], &low_64[4..])
    );
}

#[tokio::test]
async fn an_unsigned_traceparent_starts_nothing_and_is_kept_beside_a_signed_pair() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;

    let (timing, body) = whoami(address, &[("traceparent", UNSIGNED)]).await;
    assert_eq!((timing, body.as_str()), (None, "untraced"));
    // A tampered signature: the right entry for another traceparent.
    let other = "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01";
    let entry = osprof_core::web::sign_tracestate(
        &osprof_core::web::TraceParent::parse(other).unwrap(),
        u64::MAX / 2,
        "SECRET_KEY",
    );
    let (timing, body) = whoami(
        address,
        &[
            ("traceparent", UNSIGNED),
            ("tracestate", &format!("osprof={entry}")),
        ],
    )
    .await;
    assert_eq!((timing, body.as_str()), (None, "untraced"));

    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");
    let (timing, _) = whoami(
        address,
        &[
            ("X-Trace-Info", &info),
            ("X-Trace-HMAC", &hmac),
            ("traceparent", UNSIGNED),
        ],
    )
    .await;
    assert_eq!(timing, Some(format!("osprof;desc=\"{base_id}\"")));
    let events = common::events_of(&base_id);
    assert_eq!(events[0]["info"]["traceparent"], UNSIGNED);
}

#[tokio::test]
async fn a_keys_rate_limit_bounds_its_new_traces() {
    common::install_sink();
    let layer = TraceLayer::new(["SECRET_KEY", "OTHER_KEY"]).max_traces_per_second(2);
    let address = serve(app(layer)).await;
    let mut traced = Vec::new();
    for key in [
        "SECRET_KEY",
        "SECRET_KEY",
        "SECRET_KEY",
        "OTHER_KEY",
        "SECRET_KEY",
    ] {
        let base_id = uuid();
        let (info, hmac) = signed(&base_id, &base_id, key);
        let (_, body) = whoami(address, &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)]).await;
        traced.push(body.starts_with("traced"));
    }
    // Two per key at once; the other key has a bucket of its own.
    assert_eq!(traced, [true, true, false, true, false]);
    // The bucket refills with time: two per second.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");
    let (_, body) = whoami(address, &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)]).await;
    assert!(body.starts_with("traced"), "{body}");
}

#[tokio::test]
async fn an_id_that_cannot_be_quoted_is_traced_without_server_timing() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let base_id = format!("trace \"{}\" é", uuid());
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");
    let (timing, body) = whoami(address, &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)]).await;
    assert_eq!(timing, None);
    assert!(body.starts_with(&format!("traced {base_id} ")), "{body}");
}

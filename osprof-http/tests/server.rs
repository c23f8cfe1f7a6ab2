//! The tower layer in a real axum server on loopback: signed requests join their trace,
//! everything else is served untraced.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;
mod support;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use osprof_http::TraceLayer;
use support::{app, fetch, serve, signed, uuid};

#[tokio::test]
async fn a_signed_request_joins_the_callers_trace_in_a_wsgi_span() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let (base_id, parent_id) = (uuid(), uuid());
    let (info, hmac) = signed(&base_id, &parent_id, "SECRET_KEY");

    let (status, body) = fetch(
        address,
        "/whoami?limit=2",
        &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)],
    )
    .await;

    assert_eq!(status, 200);
    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "wsgi\n  load_servers\n");
    let start = &events[0];
    assert_eq!(start["name"], "wsgi-start");
    assert_eq!(start["parent_id"], parent_id.as_str());
    assert_eq!(
        start["info"]["request"],
        serde_json::json!({"path": "/whoami", "query": "limit=2", "method": "GET", "scheme": "http"})
    );
    let wsgi_id = start["trace_id"].as_str().unwrap();
    assert_eq!(body, format!("traced {base_id} {wsgi_id} SECRET_KEY"));
}

#[tokio::test]
async fn the_span_covers_a_streamed_body_to_its_end() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");

    let (_, body) = fetch(
        address,
        "/stream",
        &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)],
    )
    .await;

    assert_eq!(body, "chunk\n".repeat(3));
    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "wsgi\n  chunk\n  chunk\n  chunk\n");
    assert_eq!(events.last().unwrap()["name"], "wsgi-stop");
}

#[tokio::test]
async fn rotation_the_first_matching_key_becomes_the_traces_key() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["new-key", "old-key"]))).await;
    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "old-key");

    let (_, body) = fetch(
        address,
        "/whoami",
        &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)],
    )
    .await;

    assert!(body.ends_with(" old-key"), "{body}");
}

#[tokio::test]
async fn sha256_headers_are_accepted() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let base_id = uuid();
    let (info, hmac) = osprof_core::web::signed_pack_with(
        &serde_json::json!({"base_id": base_id}),
        "SECRET_KEY",
        osprof_core::web::HmacAlgorithm::Sha256,
    );

    let (_, body) = fetch(
        address,
        "/whoami",
        &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)],
    )
    .await;

    assert!(body.starts_with(&format!("traced {base_id} ")), "{body}");
}

/// Every kind of bad header pair: each request is served (200), untraced.
#[tokio::test]
async fn bad_headers_are_served_untraced() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]))).await;
    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");
    let sign = |json: &str| {
        let info = URL_SAFE.encode(json);
        let hmac = osprof_core::web::generate_hmac(&info, "SECRET_KEY");
        (info, hmac)
    };
    let mut tampered = info.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let unpadded = info.trim_end_matches('=').to_owned();
    let (extra_key, extra_key_hmac) = sign(&format!(
        r#"{{"base_id": "{base_id}", "parent_id": "{base_id}", "x": 1}}"#
    ));
    let (array, array_hmac) = sign(&format!(r#"["{base_id}"]"#));
    let oversized = "A".repeat(osprof_core::web::MAX_TRACE_INFO_LEN + 4);
    let oversized_hmac = osprof_core::web::generate_hmac(&oversized, "SECRET_KEY");
    let (_, wrong_key_hmac) = signed(&base_id, &base_id, "other-key");
    let cases: [(&str, &str, &str); 9] = [
        ("tampered", &tampered, &hmac),
        ("truncated", &info[..info.len() - 6], &hmac),
        ("re-padded", &unpadded, &hmac),
        ("uppercase hex", &info, &hmac.to_uppercase()),
        ("extra JSON key", &extra_key, &extra_key_hmac),
        ("non-object JSON", &array, &array_hmac),
        ("oversized", &oversized, &oversized_hmac),
        ("wrong key", &info, &wrong_key_hmac),
        ("HMAC missing", &info, ""),
    ];
    for (case, info, hmac) in cases {
        let mut headers = vec![("X-Trace-Info", info)];
        if !hmac.is_empty() {
            headers.push(("X-Trace-HMAC", hmac));
        }
        let (status, body) = fetch(address, "/whoami", &headers).await;
        assert_eq!((status, body.as_str()), (200, "untraced"), "{case}");
    }
    assert!(common::events_of(&base_id).is_empty());
}

#[tokio::test]
async fn a_disabled_layer_ignores_valid_headers() {
    common::install_sink();
    let address = serve(app(TraceLayer::new(["SECRET_KEY"]).enabled(false))).await;
    let base_id = uuid();
    let (info, hmac) = signed(&base_id, &base_id, "SECRET_KEY");

    let (_, body) = fetch(
        address,
        "/whoami",
        &[("X-Trace-Info", &info), ("X-Trace-HMAC", &hmac)],
    )
    .await;

    assert_eq!(body, "untraced");
}

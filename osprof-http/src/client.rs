//! The client side: signed headers for outgoing requests, and their span's info, as OSProfiler's `requests` integration records it.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use osprof_core::web::{self, HmacAlgorithm};
use serde_json::{Value, json};

/// Adds the `X-Trace-Info`/`X-Trace-HMAC` pair of the current span to `headers`, signed
/// with HMAC-SHA1 as Python OSProfiler services expect, and the W3C `traceparent` with its
/// signed `tracestate` entry ([`osprof_core::web::signed_w3c_headers`]), which OpenTelemetry
/// callees continue and osprof callees verify. Returns false, adding nothing, without an
/// active trace or with an empty key.
///
/// Call it inside the span that stands for the outgoing call, so that the callee's spans
/// hang under it:
///
/// ```
/// use http::HeaderMap;
///
/// osprof_core::init("SECRET_KEY", None, None);
/// let mut headers = HeaderMap::new();
/// {
///     let _call = osprof_core::Trace::new("http", None);
///     assert!(osprof_http::add_trace_headers(&mut headers));
/// }
/// assert!(headers.contains_key("x-trace-hmac"));
/// osprof_core::clean();
///
/// assert!(!osprof_http::add_trace_headers(&mut HeaderMap::new()), "no trace, no headers");
/// ```
pub fn add_trace_headers(headers: &mut HeaderMap) -> bool {
    add_trace_headers_with(headers, HmacAlgorithm::Sha1)
}

/// [`add_trace_headers`] signed with a chosen digest.
///
/// ```
/// use http::HeaderMap;
/// use osprof_core::web::HmacAlgorithm;
///
/// osprof_core::init("key", None, None);
/// let mut headers = HeaderMap::new();
/// assert!(osprof_http::add_trace_headers_with(&mut headers, HmacAlgorithm::Sha256));
/// assert_eq!(headers["x-trace-hmac"].len(), 64, "a SHA-256 digest in hex");
/// osprof_core::clean();
/// ```
pub fn add_trace_headers_with(headers: &mut HeaderMap, algorithm: HmacAlgorithm) -> bool {
    let signed = web::get_trace_id_headers_with(algorithm);
    let mut added = false;
    for (name, value) in signed {
        // Base64 and hex are always valid header values.
        if let Ok(value) = HeaderValue::try_from(value) {
            headers.insert(HeaderName::from_static(lowercase(name)), value);
            added = true;
        }
    }
    added
}

/// Header names as HTTP/2 wants them; the W3C ones are lowercase already.
fn lowercase(name: &'static str) -> &'static str {
    match name {
        web::X_TRACE_INFO => "x-trace-info",
        web::X_TRACE_HMAC => "x-trace-hmac",
        other => other,
    }
}

/// The span of an outgoing request: its name (the URL scheme) and its start info,
/// `{"requests": {method, query, path, hostname, port, scheme}}` with the port defaulted
/// from the scheme, as OSProfiler's requests hook records it.
///
/// ```
/// let url = "https://compute.example:8774/v2/servers?limit=1".parse().unwrap();
/// let (name, info) = osprof_http::request_info(&http::Method::GET, &url);
/// assert_eq!(name, "https");
/// assert_eq!(info["requests"]["port"], 8774);
/// assert_eq!(info["requests"]["query"], "limit=1");
/// ```
pub fn request_info(method: &Method, uri: &http::Uri) -> (String, Value) {
    let scheme = uri.scheme_str().unwrap_or("http").to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let info = json!({"requests": {
        "method": method.as_str(),
        "query": uri.query().unwrap_or(""),
        "path": uri.path(),
        "hostname": uri.host().unwrap_or(""),
        "port": port,
        "scheme": scheme,
    }});
    (scheme, info)
}

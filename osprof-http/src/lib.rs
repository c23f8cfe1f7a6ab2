//! osprof for HTTP services and clients: signed trace headers in, signed trace headers out.
//!
//! **Server.** [`TraceLayer`] is a tower layer for axum, hyper and any tower `Service`. A
//! request whose `X-Trace-Info`/`X-Trace-HMAC` pair verifies with one of the layer's keys
//! joins that trace inside a `"wsgi"` span that lasts until the response body ends. Any other
//! request is served untraced, as if the layer were not there.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use osprof_http::TraceLayer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/v2/servers", get(|| async { "[]" }))
//!     .layer(TraceLayer::new(["SECRET_KEY"]));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8774").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! **Client.** With feature `reqwest`, [`TraceMiddleware`] traces each outgoing request
//! in a span named after the URL scheme and signs the callee's headers; for any other
//! client, [`add_trace_headers`] signs an [`http::HeaderMap`].

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
#[cfg(feature = "reqwest")]
mod middleware;
mod server;

pub use client::{add_trace_headers, add_trace_headers_with, request_info};
#[cfg(feature = "reqwest")]
pub use middleware::TraceMiddleware;
pub use server::{ResponseFuture, TraceLayer, TraceService, TracedBody};

/// The README's examples, compiled and run as doctests here, where every crate they use
/// (osprof-core with tokio, axum, reqwest) is at hand.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

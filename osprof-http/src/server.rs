//! The server side: a tower layer that joins signed traces (OSProfiler's
//! `X-Trace-Info`/`X-Trace-HMAC`, or W3C `traceparent` with a signed `tracestate` entry).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use osprof_core::OwnedTrace;
use osprof_core::web;
use pin_project_lite::pin_project;
use serde_json::{Value, json};
use tower_layer::Layer;
use tower_service::Service;

const TRACE_INFO: HeaderName = HeaderName::from_static("x-trace-info");
const TRACE_HMAC: HeaderName = HeaderName::from_static("x-trace-hmac");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// A tower layer that joins the trace of each request signed with one of its HMAC keys.
///
/// A request joins a trace when it carries a valid OSProfiler pair (`X-Trace-Info`,
/// `X-Trace-HMAC`) or, failing that, a W3C `traceparent` with an `osprof` entry in
/// `tracestate` signed over it and not expired (see [`osprof_core::web`]). The trace context
/// starts with the matching key, base and parent, and the request is wrapped in a `"wsgi"`
/// span with `info.request = {path, query, method, scheme}` that covers the whole response,
/// streamed body included; the response gets `Server-Timing: osprof;desc="<base_id>"`, so a
/// caller with `curl -i` knows which trace to show. A `traceparent` that is not signed never
/// starts a trace; on a request traced through OSProfiler's pair it is kept as
/// `info.traceparent`, to tie the trace to the caller's W3C one. Anything else (no headers, a
/// bad signature or an expired one, a malformed or oversized header, a key over its rate
/// limit) is served untraced: never an error response.
///
/// [`osprof_core::web::enable`] and [`osprof_core::web::disable`] override the layer's own
/// setting process-wide, and keys given to `enable` replace the layer's.
///
/// ```
/// use osprof_http::TraceLayer;
///
/// // Verify with the new key first, and still accept callers that sign with the old one.
/// let layer = TraceLayer::new(["new-key", "old-key"]);
/// // Present but off until `osprof_core::web::enable` says otherwise.
/// let standby = TraceLayer::new(["SECRET_KEY"]).enabled(false);
/// # let _ = (layer, standby);
/// ```
#[derive(Clone, Debug)]
pub struct TraceLayer {
    enabled: bool,
    hmac_keys: Arc<[String]>,
    rate_limit: Option<Arc<RateLimit>>,
}

/// New traces allowed per key and second: a bucket per key holding up to a second's worth,
/// refilled as time passes.
#[derive(Debug)]
struct RateLimit {
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimit {
    /// Takes one trace from `key`'s bucket; false when it is empty.
    fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (tokens, last) = buckets
            .entry(key.to_owned())
            .or_insert((self.per_second, now));
        let refilled = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refilled).min(self.per_second);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl TraceLayer {
    /// A layer that honours headers signed with any of `hmac_keys`, tried in order.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use osprof_http::TraceLayer;
    ///
    /// let app: Router = Router::new()
    ///     .route("/v2/servers", get(|| async { "[]" }))
    ///     .layer(TraceLayer::new(["SECRET_KEY"]));
    /// # let _ = app;
    /// ```
    pub fn new<I>(hmac_keys: I) -> TraceLayer
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        TraceLayer {
            enabled: true,
            hmac_keys: hmac_keys.into_iter().map(Into::into).collect(),
            rate_limit: None,
        }
    }

    /// At most `per_second` signed requests per second start or join a trace with each key
    /// (bursts up to a second's worth); the others are served untraced. Off by default: it
    /// bounds what one leaked key can cost a service.
    ///
    /// ```
    /// use osprof_http::TraceLayer;
    ///
    /// let layer = TraceLayer::new(["SECRET_KEY"]).max_traces_per_second(50);
    /// # let _ = layer;
    /// ```
    pub fn max_traces_per_second(mut self, per_second: u32) -> TraceLayer {
        self.rate_limit = Some(Arc::new(RateLimit {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }));
        self
    }

    /// Whether the layer honours trace headers at all (on by default); the process-wide
    /// switch of [`osprof_core::web`] takes precedence.
    ///
    /// ```
    /// use http::{Request, Response};
    /// use http_body_util::BodyExt;
    /// use osprof_http::TraceLayer;
    /// use tower::{ServiceBuilder, ServiceExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let service = ServiceBuilder::new()
    ///     .layer(TraceLayer::new(["key"]).enabled(false))
    ///     .service_fn(|_: Request<String>| async {
    ///         let traced = osprof_core::is_active().to_string();
    ///         Ok::<_, std::convert::Infallible>(Response::new(traced))
    ///     });
    /// // A correctly signed request...
    /// osprof_core::init("key", None, None);
    /// let mut request = Request::new(String::new());
    /// osprof_http::add_trace_headers(request.headers_mut());
    /// osprof_core::clean();
    /// // ...is served untraced by a disabled layer.
    /// let body = service.oneshot(request).await.unwrap().into_body().collect().await.unwrap();
    /// assert_eq!(&body.to_bytes()[..], b"false");
    /// # });
    /// ```
    pub fn enabled(mut self, enabled: bool) -> TraceLayer {
        self.enabled = enabled;
        self
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> TraceService<S> {
        TraceService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
///
/// ```
/// use osprof_http::{TraceLayer, TraceService};
/// use tower::Layer;
///
/// let handler = tower::service_fn(|_: http::Request<String>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
/// });
/// let service: TraceService<_> = TraceLayer::new(["key"]).layer(handler);
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    layer: TraceLayer,
}

impl<S> TraceService<S> {
    /// The trace a request asks to join, if it is enabled, signed with a known key and within
    /// the key's rate limit; with its `Server-Timing` header.
    fn join<B>(&self, request: &Request<B>) -> Option<(OwnedTrace, Option<HeaderValue>)> {
        if !web::is_enabled(self.layer.enabled) {
            return None;
        }
        let headers = request.headers();
        // Most requests carry neither form: they cost two header lookups, nothing more.
        if !headers.contains_key(TRACE_INFO) && !headers.contains_key(TRACEPARENT) {
            return None;
        }
        let keys = web::hmac_keys(&self.layer.hmac_keys);
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (trace, via_osprofiler) = match verify_osprofiler(headers, &keys) {
            Some(trace) => (trace, true),
            None => (verify_w3c(headers, &keys)?, false),
        };
        let field = |name: &str| trace.get(name).and_then(Value::as_str);
        if let Some(limit) = &self.layer.rate_limit
            && !limit.allow(field("hmac_key")?)
        {
            return None;
        }
        let uri = request.uri();
        let mut info = json!({"request": {
            "path": uri.path(),
            "query": uri.query().unwrap_or(""),
            "method": request.method().as_str(),
            "scheme": uri.scheme_str().unwrap_or("http"),
        }});
        // The caller's own W3C context, unsigned: kept to tie the two traces together.
        if via_osprofiler
            && let Some(traceparent) = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok())
            && web::TraceParent::parse(traceparent).is_some()
        {
            info["traceparent"] = Value::from(traceparent);
        }
        let base_id = field("base_id")?;
        // An id that cannot sit in a quoted string (OSProfiler's ids may be any text) gets
        // no header; the request is traced all the same.
        let timing = base_id
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\')
            .then(|| HeaderValue::try_from(format!("osprof;desc=\"{base_id}\"")).ok())
            .flatten();
        let trace = OwnedTrace::start(
            field("hmac_key")?,
            base_id,
            field("parent_id"),
            "wsgi",
            Some(info),
        );
        Some((trace, timing))
    }
}

/// The verified `{base_id, parent_id, hmac_key}` of a request's OSProfiler headers, if any.
fn verify_osprofiler(headers: &HeaderMap, keys: &[&str]) -> Option<Value> {
    let info = headers.get(TRACE_INFO)?.to_str().ok()?;
    let hmac = headers.get(TRACE_HMAC)?.to_str().ok()?;
    web::signed_unpack(info, hmac, keys)
}

/// The verified `{base_id, parent_id, hmac_key}` of a request's W3C headers, if any: every
/// `tracestate` header is read, as one list.
fn verify_w3c(headers: &HeaderMap, keys: &[&str]) -> Option<Value> {
    let traceparent = headers.get(TRACEPARENT)?.to_str().ok()?;
    let mut tracestate = String::new();
    for value in headers.get_all(TRACESTATE) {
        if !tracestate.is_empty() {
            tracestate.push(',');
        }
        tracestate.push_str(value.to_str().ok()?);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    web::signed_w3c_unpack(traceparent, &tracestate, keys, now)
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut trace, timing) = self.join(&request).unzip();
        let timing = timing.flatten();
        let future = match &mut trace {
            // The handler may start work in `call` itself: give it the trace already.
            Some(trace) => trace.in_scope(|| self.inner.call(request)),
            None => self.inner.call(request),
        };
        ResponseFuture {
            future,
            trace,
            timing,
        }
    }
}

pin_project! {
    /// The response future of [`TraceService`]: polls the handler inside the request's trace.
    ///
    /// ```
    /// use osprof_http::{ResponseFuture, TraceLayer};
    /// use tower::{Layer, Service, ServiceExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mut service = TraceLayer::new(["key"]).layer(tower::service_fn(|_: http::Request<String>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
    /// }));
    /// let future: ResponseFuture<_> = service.ready().await.unwrap().call(http::Request::new(String::new()));
    /// assert_eq!(future.await.unwrap().status(), 200);
    /// # });
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        future: F,
        trace: Option<OwnedTrace>,
        timing: Option<HeaderValue>,
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        let poll = match this.trace {
            Some(trace) => trace.in_scope(|| future.poll(cx)),
            None => future.poll(cx),
        };
        let Poll::Ready(result) = poll else {
            return Poll::Pending;
        };
        // The span moves into the body, and ends with it; an error ends it here.
        let trace = this.trace.take();
        let timing = this.timing.take();
        Poll::Ready(result.map(|mut response| {
            if let Some(timing) = timing {
                response.headers_mut().append(SERVER_TIMING, timing);
            }
            response.map(|inner| TracedBody { inner, trace })
        }))
    }
}

pin_project! {
    /// A response body that is polled inside its request's trace and ends the trace when it
    /// ends (or is dropped).
    ///
    /// ```
    /// use http_body_util::BodyExt;
    /// use osprof_http::{TraceLayer, TracedBody};
    /// use tower::{ServiceBuilder, ServiceExt};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let service = ServiceBuilder::new()
    ///     .layer(TraceLayer::new(["key"]))
    ///     .service_fn(|_: http::Request<String>| async {
    ///         Ok::<_, std::convert::Infallible>(http::Response::new(String::from("[]")))
    ///     });
    /// let response: http::Response<TracedBody<String>> =
    ///     service.oneshot(http::Request::new(String::new())).await.unwrap();
    /// // The request's span (if it joined a trace) ends once the body is read to its end.
    /// let body = response.into_body().collect().await.unwrap().to_bytes();
    /// assert_eq!(&body[..], b"[]");
    /// # });
    /// ```
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        trace: Option<OwnedTrace>,
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let poll = match this.trace {
            Some(trace) => trace.in_scope(|| inner.as_mut().poll_frame(cx)),
            None => inner.as_mut().poll_frame(cx),
        };
        let ended = match &poll {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
            Poll::Pending => false,
        };
        if ended && let Some(trace) = this.trace.take() {
            trace.finish(None);
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

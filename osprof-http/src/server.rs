//! The server side: a tower layer that joins signed traces (OSProfiler's `X-Trace-Info`/`X-Trace-HMAC`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::HeaderName;
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

/// A tower layer that joins the trace of each request signed with one of its HMAC keys.
///
/// A valid header pair starts the trace context with the matching key, base and parent, and
/// wraps the request in a `"wsgi"` span with `info.request = {path, query, method, scheme}`
/// that covers the whole response, streamed body included. Anything else (no headers, a bad
/// signature, a malformed or oversized header) is served untraced: never an error response.
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
        }
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
    /// The trace a request asks to join, if it is enabled and signed with a known key.
    fn join<B>(&self, request: &Request<B>) -> Option<OwnedTrace> {
        if !web::is_enabled(self.layer.enabled) {
            return None;
        }
        let trace = verify(request.headers(), &self.layer.hmac_keys)?;
        let field = |name: &str| trace.get(name).and_then(Value::as_str);
        let uri = request.uri();
        let info = json!({"request": {
            "path": uri.path(),
            "query": uri.query().unwrap_or(""),
            "method": request.method().as_str(),
            "scheme": uri.scheme_str().unwrap_or("http"),
        }});
        Some(OwnedTrace::start(
            field("hmac_key")?,
            field("base_id")?,
            field("parent_id"),
            "wsgi",
            Some(info),
        ))
    }
}

/// The verified `{base_id, parent_id, hmac_key}` of a request's headers, if any.
fn verify(headers: &HeaderMap, instance_keys: &[String]) -> Option<Value> {
    let info = headers.get(TRACE_INFO)?.to_str().ok()?;
    let hmac = headers.get(TRACE_HMAC)?.to_str().ok()?;
    let keys = web::hmac_keys(instance_keys);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    web::signed_unpack(info, hmac, &keys)
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
        let mut trace = self.join(&request);
        let future = match &mut trace {
            // The handler may start work in `call` itself: give it the trace already.
            Some(trace) => trace.in_scope(|| self.inner.call(request)),
            None => self.inner.call(request),
        };
        ResponseFuture { future, trace }
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
        Poll::Ready(result.map(|response| response.map(|inner| TracedBody { inner, trace })))
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

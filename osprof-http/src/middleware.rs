//! Traced outgoing requests for reqwest, as reqwest-middleware middleware.

use http::Extensions;
use osprof_core::FutureExt;
use osprof_core::web::HmacAlgorithm;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next, Result};
use serde_json::json;

use crate::client::{add_trace_headers_with, request_info};

/// Traces each request of a [`reqwest_middleware::ClientWithMiddleware`] made inside a
/// trace: a child span named after the URL scheme with `info.requests = {method, query,
/// path, hostname, port, scheme}`, the callee's signed headers, and a stop with
/// `{"requests": {"status_code"}}`, or with `{etype, message}` when the request fails.
/// Outside a trace, or while [`osprof_core::config::trace_requests`] is off (the
/// `trace_requests` option, applied by `init_from_conf`), it adds nothing: no span, no
/// headers.
///
/// ```
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(osprof_http::TraceMiddleware::default())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceMiddleware {
    algorithm: HmacAlgorithm,
}

impl TraceMiddleware {
    /// Signs with `algorithm` instead of HMAC-SHA1 (which Python services require).
    ///
    /// ```
    /// use osprof_core::web::HmacAlgorithm;
    /// use osprof_http::TraceMiddleware;
    ///
    /// // For callees that all verify HMAC-SHA256 (Python OSProfiler services need SHA-1).
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(TraceMiddleware::with_algorithm(HmacAlgorithm::Sha256))
    ///     .build();
    /// # let _ = client;
    /// ```
    pub fn with_algorithm(algorithm: HmacAlgorithm) -> TraceMiddleware {
        TraceMiddleware { algorithm }
    }
}

#[async_trait::async_trait]
impl Middleware for TraceMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<Response> {
        if !osprof_core::config::trace_requests() || osprof_core::get().is_none() {
            return next.run(request, extensions).await;
        }
        let (name, info) = match request.url().as_str().parse() {
            Ok(uri) => request_info(request.method(), &uri),
            Err(_) => (request.url().scheme().to_owned(), json!({})),
        };
        let algorithm = self.algorithm;
        async move {
            // Inside the span: the callee's spans hang under it.
            add_trace_headers_with(request.headers_mut(), algorithm);
            next.run(request, extensions).await
        }
        .traced_with(name, Some(info), |result| {
            Some(match result {
                Ok(response) => json!({"requests": {"status_code": response.status().as_u16()}}),
                Err(error) => json!({
                    "etype": format!(
                        "{}::{}",
                        std::any::type_name::<reqwest_middleware::Error>(),
                        match error {
                            reqwest_middleware::Error::Middleware(_) => "Middleware",
                            reqwest_middleware::Error::Reqwest(_) => "Reqwest",
                        }
                    ),
                    "message": error.to_string(),
                }),
            })
        })
        .await
    }
}

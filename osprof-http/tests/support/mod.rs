//! Shared by the HTTP tests: a real axum server on loopback and signed headers.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use http_body::Frame;
use osprof_http::TraceLayer;
use tokio::net::TcpListener;

/// Serves `app` on an ephemeral loopback port until the test's runtime ends.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// What the handler saw: `traced <base_id> <parent_id> <hmac_key>` or `untraced`.
pub async fn whoami() -> String {
    let answer = match osprof_core::get() {
        Some(trace) => format!(
            "traced {} {} {}",
            trace.base_id(),
            trace.id(),
            trace.hmac_key()
        ),
        None => "untraced".to_owned(),
    };
    load_servers().await;
    answer
}

#[osprof_core::trace(name = "load_servers", hide_args)]
async fn load_servers() {
    tokio::task::yield_now().await;
}

/// A body of `frames` chunks that yields once before each and opens a `chunk` span while
/// producing it: proof that the body is polled inside the request's trace.
pub struct ChunkedBody {
    pub frames: usize,
    pub yielded: bool,
}

impl http_body::Body for ChunkedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.frames == 0 {
            return Poll::Ready(None);
        }
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        self.frames -= 1;
        let _chunk = osprof_core::Trace::new("chunk", None);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"chunk\n")))))
    }
}

/// The test service: `/whoami` and a streamed `/stream`, behind `layer`.
pub fn app(layer: TraceLayer) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/stream",
            get(|| async {
                Body::new(ChunkedBody {
                    frames: 3,
                    yielded: false,
                })
            }),
        )
        .layer(layer)
}

/// A signed header pair for `base_id`/`parent_id`.
pub fn signed(base_id: &str, parent_id: &str, key: &str) -> (String, String) {
    osprof_core::web::signed_pack(
        &serde_json::json!({"base_id": base_id, "parent_id": parent_id}),
        key,
    )
}

/// A fresh random UUID4 text.
pub fn uuid() -> String {
    osprof_core::init("", None, None);
    let id = osprof_core::get().unwrap().base_id().to_owned();
    osprof_core::clean();
    id
}

/// Sends GET `path` with `headers` and returns the status and body text.
pub async fn fetch(address: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{address}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

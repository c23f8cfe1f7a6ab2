//! tokio's `spawn` and `spawn_blocking` that take the current trace along (feature `tokio`).
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
//! osprof_core::init("key", None, None);
//! let task = osprof_core::tokio::spawn(async {
//!     let _span = osprof_core::Trace::new("refresh", None); // a child of the caller's span
//! });
//! task.await.unwrap();
//! osprof_core::clean();
//! # });
//! ```

use std::future::Future;

use tokio::task::JoinHandle;

use crate::FutureExt;

/// `tokio::spawn` for a task that runs in a copy of the current trace context.
///
/// A task spawned this way also keeps any trace it starts itself to itself: no worker
/// thread holds a context once the task yields.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let profiler = osprof_core::init("key", None, None);
/// let seen = osprof_core::tokio::spawn(async { osprof_core::get() }).await.unwrap();
/// assert_eq!(seen.unwrap().base_id(), profiler.base_id());
/// osprof_core::clean();
/// # });
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_trace())
}

/// `tokio::task::spawn_blocking` for a closure that runs in a copy of the current context.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let profiler = osprof_core::init("key", None, None);
/// let seen = osprof_core::tokio::spawn_blocking(|| osprof_core::get()).await.unwrap();
/// assert_eq!(seen.unwrap().base_id(), profiler.base_id());
/// osprof_core::clean();
/// # });
/// ```
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(crate::carry(f))
}

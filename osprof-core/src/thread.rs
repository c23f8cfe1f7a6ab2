//! `std::thread::spawn` that takes the current trace along.
//!
//! ```
//! osprof_core::init("key", None, None);
//! let worker = osprof_core::thread::spawn(|| {
//!     let _span = osprof_core::Trace::new("resize", None); // a child of the caller's span
//! });
//! worker.join().unwrap();
//! osprof_core::clean();
//! ```

use std::thread::JoinHandle;

/// Spawns a thread that runs `f` in a copy of the current trace context.
///
/// ```
/// let profiler = osprof_core::init("key", None, None);
/// let seen = osprof_core::thread::spawn(osprof_core::get).join().unwrap();
/// assert_eq!(seen.unwrap().base_id(), profiler.base_id());
/// osprof_core::clean();
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::spawn(crate::carry(f))
}

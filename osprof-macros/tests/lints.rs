//! Expansions add no warnings to user code, clippy's pedantic group included: CI runs clippy
//! with `-D warnings` over this file, and the test runs the traced items.
#![deny(warnings, clippy::pedantic)]

use osprof_core::{trace, trace_impl};

#[trace(name = "rpc", info(kind = "lint"), hide_result = false)]
fn plain(value: u32) -> u32 {
    value + 1
}

#[trace]
fn fallible(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[trace(skip(secret))]
async fn asynchronous(value: u32, secret: &str) -> usize {
    value as usize + secret.len()
}

/// A service with traced methods.
#[derive(Default)]
pub struct Service {
    count: u32,
}

#[trace_impl(trace_private, trace_static_methods)]
impl Service {
    /// Makes one.
    #[must_use]
    pub fn new() -> Self {
        Service { count: 0 }
    }

    /// Counts.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.bump()
    }

    fn bump(&self) -> u32 {
        self.count + 1
    }
}

#[test]
fn traced_items_run() {
    assert_eq!(plain(1), 2);
    assert_eq!(fallible("3"), Ok(3));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(asynchronous(1, "ab")), 3);
    assert_eq!(Service::new().count(), 1);
}

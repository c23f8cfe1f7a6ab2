//! Expansions compile without warnings under `#![deny(warnings)]`.
#![deny(warnings)]

use osprof_core::{trace, trace_impl};

#[trace(name = "rpc", info(kind = "x"), hide_result = false)]
fn plain(value: u8) -> u8 {
    value
}

#[trace]
fn fallible(text: &str) -> Result<u8, std::num::ParseIntError> {
    text.parse()
}

#[trace(skip(secret))]
async fn asynchronous(value: u8, secret: &str) -> usize {
    usize::from(value) + secret.len()
}

struct Service {
    count: u8,
}

#[trace_impl(trace_private)]
impl Service {
    pub fn count(&self) -> u8 {
        self.bump()
    }

    fn bump(&self) -> u8 {
        self.count + 1
    }
}

fn main() {
    let _ = plain(1);
    let _ = fallible("2");
    let _ = asynchronous(1, "s");
    let _ = Service { count: 0 }.count();
}

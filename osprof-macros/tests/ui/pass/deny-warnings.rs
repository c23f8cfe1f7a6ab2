//! Expansions compile without warnings under `#![deny(warnings)]`, for every function shape
//! the attributes support, with bodies of one expression on one line too.
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

#[trace]
fn one_line(x: u32) -> u32 { x }

#[trace]
fn one_line_unit() { one_line(1); }

#[trace]
fn one_line_result(x: u32) -> Result<u32, String> { Ok(x) }

#[trace]
async fn one_line_async(x: u32) -> u32 { x }

#[trace]
fn one_line_future(x: u32) -> impl std::future::Future<Output = u32> { async move { x } }

#[trace]
unsafe extern "C" fn one_line_extern(x: u32) -> u32 { x }

#[trace]
fn one_line_generic<T: std::fmt::Debug>(x: T) -> T { x }

#[derive(Debug)]
struct Client {
    token: String,
}

#[trace_impl(skip(self))]
impl Client {
    pub fn len(&self) -> usize { self.token.len() }
    pub fn is_empty(&self) -> bool { self.token.is_empty() }
    pub async fn fetch(&self, id: u32) -> u32 { id }
}

trait Named {
    fn name(&self) -> String;
}

#[trace_impl(skip_all)]
impl Named for Client {
    fn name(&self) -> String { self.token.clone() }
}

fn main() {
    let _ = one_line(1);
    one_line_unit();
    let _ = one_line_result(1);
    let _ = one_line_async(1);
    let _ = one_line_future(1);
    // SAFETY: the function only returns its argument.
    let _ = unsafe { one_line_extern(1) };
    let _ = one_line_generic("x");
    let client = Client { token: "t".into() };
    let _ = (client.len(), client.is_empty(), client.fetch(1), client.name());
    let _ = plain(1);
    let _ = fallible("2");
    let _ = asynchronous(1, "s");
    let _ = Service { count: 0 }.count();
}

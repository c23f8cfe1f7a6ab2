use osprof_core::{trace, trace_impl};

#[trace(name = 5)]
fn handler() {}

struct S;

#[trace_impl(hide_result = "no")]
impl S {
    pub fn get(&self) {}
}

fn main() {
    handler();
    S.get();
}

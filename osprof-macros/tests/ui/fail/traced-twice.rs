use osprof_core::{trace, trace_impl};

#[trace(allow_multiple_trace = false)]
#[trace]
fn handler() {}

struct S;

#[trace_impl(allow_multiple_trace = false)]
impl S {
    #[trace]
    pub fn get(&self) {}
}

fn main() {
    handler();
    S.get();
}

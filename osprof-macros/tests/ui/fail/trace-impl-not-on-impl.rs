use osprof_core::trace_impl;

#[trace_impl]
fn handler() {}

fn main() {
    handler();
}

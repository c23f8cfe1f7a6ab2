use osprof_core::trace;

#[trace(name = "a", name = "b")]
fn handler() {}

fn main() {
    handler();
}

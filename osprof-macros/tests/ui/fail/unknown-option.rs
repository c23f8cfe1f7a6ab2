use osprof_core::trace;

#[trace(nmae = "rpc")]
fn handler() {}

fn main() {
    handler();
}

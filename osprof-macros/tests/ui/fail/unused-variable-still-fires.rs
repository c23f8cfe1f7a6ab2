#![deny(unused_variables)]

use osprof_core::trace;

#[trace]
fn handler(value: u8) -> u8 {
    let unused = value;
    1
}

fn main() {
    handler(1);
}

#![deny(dead_code)]

use osprof_core::trace;

#[trace]
fn never_called(value: u8) -> u8 {
    value
}

fn main() {}

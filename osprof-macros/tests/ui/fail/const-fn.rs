use osprof_core::trace;

#[trace]
const fn answer() -> u8 {
    42
}

fn main() {
    let _ = answer();
}

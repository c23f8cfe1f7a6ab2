use osprof_core::trace;

#[trace(skip(self))]
fn standalone(id: u32) -> u32 {
    id
}

fn main() {
    standalone(1);
}

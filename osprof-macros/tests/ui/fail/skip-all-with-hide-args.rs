use osprof_core::trace;

#[trace(hide_args, skip_all)]
fn login(user: &str) -> usize {
    user.len()
}

fn main() {
    login("a");
}

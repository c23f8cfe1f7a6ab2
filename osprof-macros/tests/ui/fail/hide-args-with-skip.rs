use osprof_core::trace;

#[trace(hide_args, skip(password))]
fn login(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

fn main() {
    login("a", "b");
}

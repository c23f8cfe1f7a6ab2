use osprof_core::trace;

#[trace(skip(pasword))]
fn login(user: &str, password: &str) -> bool {
    user.len() == password.len()
}

fn main() {
    login("a", "b");
}

use osprof_core::trace_impl;

struct Store;

#[trace_impl(skip(self, pasword))]
impl Store {
    pub fn login(&self, user: &str, password: &str) -> bool {
        user.len() == password.len()
    }
}

fn main() {
    Store.login("a", "b");
}

use osprof_core::trace;

#[trace]
struct Config;

#[trace]
trait Service {
    fn call(&self);
}

fn main() {
    let _ = Config;
}

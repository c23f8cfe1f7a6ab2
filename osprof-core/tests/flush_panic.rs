//! A sink whose `flush` panics: `notifier::flush` still returns, and delivery goes on.

use std::sync::atomic::{AtomicUsize, Ordering};

use osprof_core::notifier::{self, Driver};
use osprof_core::{Error, Trace};

static DELIVERED: AtomicUsize = AtomicUsize::new(0);

struct PanickyFlush;

impl Driver for PanickyFlush {
    fn notify(&self, _payload: &serde_json::Value) -> Result<(), Error> {
        DELIVERED.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        panic!("flush exploded");
    }
}

#[test]
fn a_panicking_flush_does_not_stop_delivery() {
    notifier::set(PanickyFlush);
    for round in 1..=2 {
        osprof_core::init("key", None, None);
        drop(Trace::new("db", None));
        osprof_core::clean();
        notifier::flush();
        assert_eq!(DELIVERED.load(Ordering::Relaxed), 2 * round);
    }
}

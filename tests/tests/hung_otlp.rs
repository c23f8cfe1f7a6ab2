//! An OTLP collector hanging behind a proxy that stops forwarding (it keeps its connections
//! and answers nothing) for 5 s of 20 s of steady traced load: no traced call takes 150 ms,
//! and every recorded event is accounted for.

use std::collections::HashSet;

use osprof_core::drivers::DriverOptions;
use osprof_core::notifier;
use osprof_tests::hung_store::{Proxy, assert_accounted, steady_load};
use osprof_tests::otlp_receiver::Receiver;

#[test]
fn a_hung_collector_never_stalls_traced_code_and_every_event_is_counted() {
    let receiver = Receiver::default();
    let proxy = Proxy::start(&receiver.start().to_string());
    let url = format!("otlp://127.0.0.1:{}", proxy.port());
    notifier::set_shared(notifier::try_create(&url, &DriverOptions::default()).unwrap());

    let load = steady_load(|hung| proxy.pause(hung));

    // Each span received stands for its start and stop events.
    let spans = receiver.spans.lock().unwrap();
    let distinct: HashSet<&[u8]> = spans.iter().map(|span| &span.span_id[..]).collect();
    assert_eq!(2 * distinct.len() as u64, notifier::stats().stored);
    // At most one request (4,096 spans) is sent again per timed-out attempt.
    assert_accounted(
        "otlp",
        &load,
        notifier::stats(),
        2 * spans.len() as u64,
        2 * 4096,
    );
}

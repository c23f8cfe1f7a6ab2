//! Fuzzes the W3C verifier: arbitrary `traceparent` / `tracestate` pairs, plus arbitrary
//! `traceparent`s with an entry correctly signed over them (so the fuzzer also reaches the
//! expiry and key checks behind the parsing). It must never panic, and must accept only
//! well-formed traces whose ids match the header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprof_core::web::{TraceParent, sign_tracestate, signed_w3c_unpack};

const NOW: u64 = 1_764_842_400;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let (traceparent, tracestate) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(trace) = signed_w3c_unpack(traceparent, tracestate, &["key", "other"], NOW) {
        check(traceparent, &trace);
    }
    // The same traceparent, correctly signed: exercises what comes after parsing.
    if let Some(parent) = TraceParent::parse(traceparent) {
        let expires = NOW + u64::from(input.first().copied().unwrap_or(0)) * 60;
        let state = format!("{tracestate},osprof={}", sign_tracestate(&parent, expires, "key"));
        if let Some(trace) = signed_w3c_unpack(traceparent, &state, &["key"], NOW) {
            check(traceparent, &trace);
        }
    }
});

fn check(traceparent: &str, trace: &serde_json::Value) {
    let parent = TraceParent::parse(traceparent).expect("only a valid traceparent is accepted");
    assert_eq!(trace["base_id"], parent.base_id());
    assert_eq!(trace["parent_id"], parent.osprof_parent_id());
    assert!(trace["hmac_key"].is_string());
}

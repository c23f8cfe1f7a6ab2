//! Fuzzes the header verifier: arbitrary `X-Trace-Info` / `X-Trace-HMAC` pairs, plus pairs
//! correctly signed over arbitrary bodies (so the fuzzer also reaches the base64 and JSON
//! checks behind the HMAC). It must never panic, and must accept only well-formed traces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprof_core::web::{generate_hmac, signed_unpack};

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let (info, hmac) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(trace) = signed_unpack(info, hmac, &["key", "other"]) {
        check(&trace);
    }
    // The same body, signed with the right key: exercises decoding after a match.
    if let Some(trace) = signed_unpack(info, &generate_hmac(info, "key"), &["key"]) {
        check(&trace);
    }
});

fn check(trace: &serde_json::Value) {
    let fields = trace.as_object().expect("an accepted trace is an object");
    assert!(fields["base_id"].is_string());
    assert!(fields.keys().all(|key| ["base_id", "parent_id", "hmac_key"].contains(&key.as_str())));
}

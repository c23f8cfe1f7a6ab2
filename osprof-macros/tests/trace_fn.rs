//! `#[trace]` on functions and methods: names, arguments, options, results and panics.

// `#[trace]` must work on `unsafe fn`, so this file declares and calls one.
#![allow(unsafe_code)]

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use common::{function_names, traced};
use osprof_core::{clean, trace};
use serde_json::{Value, json};

fn start_info(events: &[Value], index: usize) -> Value {
    let mut info = events[index]["info"].clone();
    info.as_object_mut().unwrap().remove("host");
    info
}

#[trace]
fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[test]
fn a_function_span_carries_its_path_and_arguments() {
    let events = traced(|| assert_eq!(add(1, 3), 4));
    assert_eq!(common::tree(&events), "add\n");
    assert_eq!(
        start_info(&events, 0),
        json!({"function": {"name": "trace_fn::add", "args": "(1, 3)", "kwargs": "{}"}})
    );
    // Results are hidden by default.
    assert_eq!(start_info(&events, 1), json!({}));
}

#[trace(name = "rpc", info(kind = "lookup", size = 2 + 1), hide_result = false)]
fn lookup(key: &str) -> String {
    key.to_uppercase()
}

#[test]
fn name_info_and_result_options() {
    let events = traced(|| assert_eq!(lookup("k"), "K"));
    assert_eq!(events[0]["name"], "rpc-start");
    assert_eq!(
        start_info(&events, 0),
        json!({"kind": "lookup", "size": 3, "function": {"name": "trace_fn::lookup", "args": "(\"k\",)", "kwargs": "{}"}})
    );
    assert_eq!(
        start_info(&events, 1),
        json!({"function": {"result": "\"K\""}})
    );
}

#[trace(hide_args)]
fn secret(password: &str) -> usize {
    password.len()
}

#[trace(skip(password))]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

#[test]
fn hide_args_and_skip() {
    let events = traced(|| {
        secret("hunter2");
        login("ann", "hunter2");
    });
    assert_eq!(
        start_info(&events, 0),
        json!({"function": {"name": "trace_fn::secret"}})
    );
    assert_eq!(start_info(&events, 2)["function"]["args"], "(\"ann\",)");
}

#[derive(Debug, PartialEq)]
struct Refused(u16);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused with {}", self.0)
    }
}

#[trace]
fn fails(code: u16) -> Result<u8, Refused> {
    let value: u8 = u8::try_from(code).map_err(|_| Refused(code))?;
    Ok(value)
}

#[trace(hide_result = false)]
fn parses(text: &str) -> Result<i64, std::num::ParseIntError> {
    text.parse()
}

#[test]
fn errors_stop_with_etype_and_message_and_propagate() {
    let events = traced(|| {
        assert_eq!(fails(300), Err(Refused(300)));
        assert_eq!(fails(3), Ok(3));
        assert!(parses("x").is_err());
        assert_eq!(parses("12"), Ok(12));
    });
    assert_eq!(
        start_info(&events, 1),
        json!({"etype": "trace_fn::Refused", "message": "refused with 300"})
    );
    assert_eq!(start_info(&events, 3), json!({}));
    assert_eq!(
        start_info(&events, 5)["etype"],
        "core::num::error::ParseIntError"
    );
    assert_eq!(
        start_info(&events, 5)["message"],
        "invalid digit found in string"
    );
    assert_eq!(
        start_info(&events, 7),
        json!({"function": {"result": "12"}})
    );
}

#[trace]
fn explodes(message: &'static str) {
    panic!("{message}");
}

#[test]
fn a_panic_stops_the_span_and_propagates() {
    let events = traced(|| {
        let outcome = std::panic::catch_unwind(|| explodes("boom"));
        assert!(outcome.is_err());
    });
    assert_eq!(
        start_info(&events, 1),
        json!({"etype": "panic", "message": "boom"})
    );
}

struct Opaque;

#[trace]
fn takes_opaque(_first: &Opaque, count: u8) -> u8 {
    count
}

#[trace]
fn generic<T, U>(value: T, other: impl Into<U>) -> U
where
    T: fmt::Debug,
{
    let _ = value;
    other.into()
}

#[trace]
fn destructures((a, b): (i32, i32), _: u8) -> i32 {
    a * b
}

#[trace]
unsafe fn unchecked(values: &[u8]) -> u8 {
    // SAFETY: the caller passes a non-empty slice.
    unsafe { *values.get_unchecked(0) }
}

#[trace]
extern "C" fn callback(value: i32) -> i32 {
    value * 2
}

#[test]
fn arguments_of_every_shape() {
    let events = traced(|| {
        takes_opaque(&Opaque, 2);
        let out: i64 = generic::<_, i64>("g", 5_i32);
        assert_eq!(out, 5);
        assert_eq!(destructures((2, 3), 9), 6);
        // SAFETY: non-empty.
        assert_eq!(unsafe { unchecked(&[4]) }, 4);
        assert_eq!(callback(4), 8);
    });
    let args: Vec<_> = events
        .iter()
        .filter(|e| e["name"].as_str().unwrap().ends_with("-start"))
        .map(|e| e["info"]["function"]["args"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        args,
        [
            "(<&Opaque>, 2)",
            "(\"g\", <i32>)",
            "((2, 3), _)",
            "([4],)",
            "(4,)"
        ]
    );
}

#[derive(Debug, Default)]
struct Counter {
    count: u32,
}

impl Counter {
    #[trace]
    fn get(&self) -> u32 {
        self.count
    }

    #[trace]
    fn bump(&mut self, by: u32) {
        self.count += by;
        self.get();
    }

    #[trace]
    fn shared(self: Arc<Self>) -> u32 {
        self.count
    }

    #[trace]
    fn pinned(self: Pin<&mut Self>) -> u32 {
        self.count
    }
}

#[test]
fn methods_with_any_receiver_are_named_by_type_path() {
    let events = traced(|| {
        let mut counter = Counter::default();
        counter.bump(2);
        let mut pinned = Counter::default();
        Pin::new(&mut pinned).pinned();
        assert_eq!(Arc::new(counter).shared(), 2);
    });
    assert_eq!(common::tree(&events), "bump\n  get\npinned\nshared\n");
    assert_eq!(
        function_names(&events),
        [
            "trace_fn::Counter::bump",
            "trace_fn::Counter::get",
            "trace_fn::Counter::pinned",
            "trace_fn::Counter::shared"
        ]
    );
    assert_eq!(
        start_info(&events, 0)["function"]["args"],
        "(Counter { count: 0 }, 2)"
    );
}

#[test]
fn nothing_is_formatted_or_recorded_without_a_trace() {
    struct Loud;
    impl fmt::Debug for Loud {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            panic!("formatted without a trace");
        }
    }
    #[trace]
    fn quiet(_value: &Loud) -> u8 {
        1
    }
    clean();
    assert_eq!(quiet(&Loud), 1);
}

mod reexport {
    pub(crate) use osprof_core as profiling;
}

#[trace(crate = reexport::profiling, name = "via")]
fn via_reexport() -> u8 {
    1
}

#[test]
fn crate_option_serves_reexporting_crates() {
    let events = traced(|| assert_eq!(via_reexport(), 1));
    assert_eq!(common::tree(&events), "via\n");
}

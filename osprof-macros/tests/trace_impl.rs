//! `#[trace_impl]`: which methods it traces, their names, and per-method overrides.

// The selection rules depend on `pub`, which is unreachable from a test binary.
#![allow(unreachable_pub)]

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use common::{function_names, traced};
use osprof_core::{trace, trace_impl};

struct Foo;

#[trace_impl(name = "rpc", hide_args)]
impl Foo {
    pub fn bar(&self, a: i32) -> i32 {
        self.baz(a) + 1
    }

    pub fn baz(&self, a: i32) -> i32 {
        a * 2
    }
}

#[test]
fn osprofiler_functional_case_nests_rpc_spans() {
    // OSProfiler's functional test: Foo.bar calls self.baz, both traced as "rpc".
    let events = traced(|| assert_eq!(Foo.bar(2), 5));
    assert_eq!(common::tree(&events), "rpc\n  rpc\n");
    assert_eq!(
        events[0]["info"]["function"],
        serde_json::json!({"name": "trace_impl::Foo::bar"})
    );
    let stats = events.iter().filter(|e| e["name"] == "rpc-start").count();
    assert_eq!(stats, 2);
}

struct Store {
    items: Vec<u32>,
}

#[trace_impl]
impl Store {
    pub fn new() -> Store {
        Store { items: Vec::new() }
    }

    pub fn add(&mut self, item: u32) {
        self.check(item);
        self.items.push(item);
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    fn check(&self, item: u32) -> bool {
        item > 0
    }

    #[no_trace]
    pub fn quiet(&self) -> usize {
        self.items.len()
    }

    #[trace(name = "custom", hide_args)]
    pub fn custom(&self) -> usize {
        self.items.len()
    }

    pub const fn constant(&self) -> u8 {
        1
    }
}

#[test]
fn inherent_impl_traces_pub_methods_with_a_receiver() {
    let events = traced(|| {
        let mut store = Store::new();
        store.add(3);
        assert_eq!(store.len(), 1);
        assert_eq!(store.quiet(), 1);
        assert_eq!(store.custom(), 1);
        assert_eq!(store.constant(), 1);
    });
    assert_eq!(common::tree(&events), "add\nlen\ncustom\n");
    assert_eq!(
        events[4]["info"]["function"],
        serde_json::json!({"name": "trace_impl::Store::custom"})
    );
}

struct Everything;

#[trace_impl(trace_private, trace_static_methods)]
impl Everything {
    fn make() -> Everything {
        Everything
    }

    fn private(&self) -> u8 {
        Everything::helper()
    }

    fn helper() -> u8 {
        7
    }
}

#[test]
fn trace_private_and_trace_static_methods_widen_the_selection() {
    let events = traced(|| assert_eq!(Everything::make().private(), 7));
    assert_eq!(common::tree(&events), "make\nprivate\n  helper\n");
}

trait Greet {
    fn greet(&self) -> String;
    fn create() -> Self;
}

struct English;

#[trace_impl]
impl Greet for English {
    fn greet(&self) -> String {
        "hello".into()
    }

    fn create() -> Self {
        English
    }
}

struct Guarded;

#[trace_impl]
impl Drop for Guarded {
    fn drop(&mut self) {}
}

#[test]
fn trait_impls_trace_receiver_methods_named_with_the_trait() {
    let events = traced(|| {
        assert_eq!(English::create().greet(), "hello");
        drop(Guarded);
    });
    assert_eq!(common::tree(&events), "greet\n");
    assert_eq!(
        function_names(&events),
        ["<trace_impl::English as trace_impl::Greet>::greet"]
    );
}

#[trace]
#[trace]
fn twice() -> u8 {
    1
}

#[test]
fn double_tracing_is_allowed_by_default() {
    let events = traced(|| assert_eq!(twice(), 1));
    assert_eq!(common::tree(&events), "twice\n  twice\n");
}

#[derive(Debug)]
struct Vault {
    secret: &'static str,
}

#[trace_impl(skip(self, token))]
impl Vault {
    pub fn open(&self, user: &str, token: &str) -> usize {
        self.secret.len() + user.len() + token.len()
    }

    pub fn peek(&self, slot: u32) -> u32 {
        self.close(slot)
    }

    // The method's own attribute replaces the block's settings: `self` is shown here.
    #[trace(skip(slot))]
    pub fn close(&self, slot: u32) -> u32 {
        slot
    }
}

#[test]
fn skip_self_keeps_the_receiver_out_of_every_method() {
    let vault = Vault { secret: "s3cr3t" };
    let events = traced(|| {
        vault.open("ann", "t0k3n");
        vault.peek(7);
    });
    let args: Vec<_> = events
        .iter()
        .filter(|event| event["name"].as_str().unwrap().ends_with("-start"))
        .map(|event| event["info"]["function"]["args"].clone())
        .collect();
    assert_eq!(
        args,
        [
            serde_json::json!("(\"ann\",)"),
            serde_json::json!("(7,)"),
            serde_json::json!("(Vault { secret: \"s3cr3t\" },)"),
        ]
    );
}

//! Traced connections against the real Redis on 127.0.0.1:6379: async and sync commands,
//! pipelines, recorded arguments, server errors, a closed port, and nothing outside a trace.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_core::FutureExt;
use redis::AsyncCommands;
use serde_json::{Value, json};

const URL: &str = "redis://127.0.0.1:6379/0";

/// A key no other test run uses.
fn key(name: &str) -> String {
    format!("osprof-redis-test:{}:{name}", std::process::id())
}

/// The `redis` spans' start and stop infos of a trace, in order.
fn spans(base_id: &str) -> Vec<(Value, Value)> {
    let events = common::events_of(base_id);
    let stop_of = |trace_id: &Value| {
        events
            .iter()
            .find(|event| event["name"] == "redis-stop" && event["trace_id"] == *trace_id)
            .map(|event| event["info"].clone())
            .unwrap_or(Value::Null)
    };
    events
        .iter()
        .filter(|event| event["name"] == "redis-start")
        .map(|event| (event["info"]["redis"].clone(), stop_of(&event["trace_id"])))
        .collect()
}

#[tokio::test]
async fn async_commands_and_pipelines_are_spans_with_their_command_and_first_key() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let mut conn = osprof_redis::connect(&client).await.unwrap();
    let (quota, other) = (key("quota"), key("other"));
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    async {
        let _: () = conn.set(&quota, 10).await.unwrap();
        let left: i64 = conn.decr(&quota, 1).await.unwrap();
        assert_eq!(left, 9);
        let (a, b): (Option<i64>, Option<i64>) = redis::pipe()
            .get(&quota)
            .get(&other)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!((a, b), (Some(9), None));
        let pong: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
        assert_eq!(pong, "PONG");
    }
    .traced("handler", None)
    .await;
    osprof_core::clean();

    let events = common::events_of(profiler.base_id());
    assert_eq!(
        common::tree(&events),
        "handler\n  redis\n  redis\n  redis\n  redis\n"
    );
    let spans = spans(profiler.base_id());
    let place = |command: Value| {
        let mut command = command;
        command["db"] = json!(0);
        command["host"] = json!("127.0.0.1");
        command["port"] = json!(6379);
        command
    };
    assert_eq!(spans[0].0, place(json!({"command": "SET", "key": quota})));
    assert_eq!(
        spans[1].0,
        place(json!({"command": "DECRBY", "key": quota}))
    );
    assert_eq!(
        spans[2].0,
        place(json!({"command": "PIPELINE", "key": quota, "commands": 2, "names": ["GET", "GET"]}))
    );
    assert_eq!(spans[3].0, place(json!({"command": "PING", "key": null})));
    assert!(
        spans.iter().all(|(_, stop)| stop.get("etype").is_none()),
        "{spans:?}"
    );
    assert!(
        !events
            .iter()
            .any(|event| event.to_string().contains("\"10\"")),
        "values are not recorded by default"
    );
}

#[tokio::test]
async fn arguments_and_replies_are_recorded_only_when_asked() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let mut conn = osprof_redis::connect(&client)
        .await
        .unwrap()
        .record_args(true);
    let name = key("name");
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    async {
        let _: () = conn.set(&name, "nova").await.unwrap();
        let _: String = conn.get(&name).await.unwrap();
    }
    .await;
    osprof_core::clean();
    let spans = spans(profiler.base_id());
    assert_eq!(spans[0].0["args"], json!([name, "nova"]));
    assert_eq!(spans[1].1["redis"]["reply"], "nova");
}

#[tokio::test]
async fn a_server_error_and_a_closed_port_stop_their_span_with_the_error() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let mut conn = osprof_redis::connect(&client).await.unwrap();
    let text = key("text");
    let _: () = conn.set(&text, "x").await.unwrap();
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    async {
        let pushed: redis::RedisResult<i64> = conn.lpush(&text, "y").await;
        assert!(pushed.is_err());
        let closed = redis::Client::open("redis://127.0.0.1:1/0").unwrap();
        assert!(osprof_redis::connect(&closed).await.is_err());
    }
    .await;
    osprof_core::clean();

    let spans = spans(profiler.base_id());
    assert_eq!(spans[0].0["command"], "LPUSH");
    assert_eq!(
        spans[0].1["etype"],
        "redis::errors::redis_error::RedisError::WRONGTYPE"
    );
    assert!(
        spans[0].1["message"]
            .as_str()
            .unwrap()
            .contains("wrong kind of value"),
        "{:?}",
        spans[0]
    );
    assert_eq!(spans[1].0["command"], "CONNECT");
    assert_eq!(spans[1].0["port"], 1);
    assert_eq!(
        spans[1].1["etype"],
        "redis::errors::redis_error::RedisError::Io"
    );
}

#[tokio::test]
async fn a_connection_manager_is_traced_too() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let mut conn = osprof_redis::connection_manager(&client).await.unwrap();
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    async {
        let _: bool = conn.exists(key("absent")).await.unwrap();
    }
    .await;
    osprof_core::clean();
    assert_eq!(spans(profiler.base_id())[0].0["command"], "EXISTS");
}

#[test]
fn sync_commands_and_pipelines_are_spans_too() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let profiler = osprof_core::init("SECRET_KEY", None, None);
    let mut conn = osprof_redis::connect_sync(&client).unwrap();
    let counter = key("counter");
    let _: () = redis::cmd("SET")
        .arg(&counter)
        .arg(1)
        .query(&mut conn)
        .unwrap();
    let (value,): (i64,) = redis::pipe()
        .atomic()
        .incr(&counter, 1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(value, 2);
    osprof_core::clean();

    let spans = spans(profiler.base_id());
    let commands: Vec<&Value> = spans.iter().map(|(start, _)| &start["command"]).collect();
    assert_eq!(commands, ["CONNECT", "SET", "PIPELINE"]);
    assert_eq!(spans[2].0["names"], json!(["MULTI", "INCRBY", "EXEC"]));
    assert_eq!(spans[2].0["key"], counter);
}

#[tokio::test]
async fn outside_a_trace_nothing_is_recorded() {
    common::install_sink();
    let client = redis::Client::open(URL).unwrap();
    let mut conn = osprof_redis::connect(&client).await.unwrap();
    let marker = key("untraced");
    let _: () = conn.set(&marker, 1).await.unwrap();
    osprof_core::notifier::flush();
    assert!(
        !common::all_events()
            .iter()
            .any(|event| event.to_string().contains(&marker))
    );
}

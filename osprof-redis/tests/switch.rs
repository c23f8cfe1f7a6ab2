//! The `trace_redis` switch, from the configuration and at run time (a test file of its own:
//! the switch is process-wide).

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_core::config::{self, ProfilerConfig};
use redis::AsyncCommands;

#[tokio::test]
async fn the_switch_turns_redis_spans_off_and_on() {
    common::install_sink();
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut conn = osprof_redis::connect(&client).await.unwrap();
    let count_spans = async |conn: &mut osprof_redis::TracedConnection<_>| {
        let profiler = osprof_core::init("SECRET_KEY", None, None);
        let _: bool = conn.exists("osprof-redis-test:switch").await.unwrap();
        osprof_core::clean();
        common::events_of(profiler.base_id()).len() / 2
    };
    assert_eq!(
        count_spans(&mut conn).await,
        1,
        "a wrapped connection traces by default"
    );

    let conf = ProfilerConfig::from_toml("[profiler]\ntrace_redis = false").unwrap();
    println!("{}", config::init_from_conf(&conf, "nova", "api", None));
    assert!(!config::trace_redis());
    assert_eq!(count_spans(&mut conn).await, 0);

    config::set_trace_redis(true);
    assert_eq!(count_spans(&mut conn).await, 1);
    let conf = ProfilerConfig::from_toml("[profiler]\ntrace_redis = true").unwrap();
    assert!(conf.trace_redis);
}

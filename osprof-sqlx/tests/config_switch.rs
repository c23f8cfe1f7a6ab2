//! `trace_sql`: a wrapped pool traces with no configuration; `init_from_conf` applies the
//! option (off by default, as OSProfiler's `trace_sqlalchemy`), and the run-time switch
//! turns it back on. One test in its own binary, since the switch is process-wide.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_core::FutureExt;
use osprof_core::config::{self, ProfilerConfig};
use osprof_sqlx::TracedPool;

#[tokio::test]
async fn a_wrapped_pool_traces_until_a_configuration_says_otherwise() {
    let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
        .await
        .unwrap();
    let traced = || async {
        let base_id = async {
            let base_id = osprof_core::init("key", None, None).base_id().to_owned();
            sqlx::query("SELECT 1").fetch_all(&pool).await.unwrap();
            osprof_core::clean();
            base_id
        }
        .in_current_trace()
        .await;
        common::db_statements(&common::events_of(&base_id))
    };

    common::install_sink();
    assert_eq!(traced().await, ["SELECT 1"], "nothing configured");

    let mut conf = ProfilerConfig::default();
    conf.enabled = true;
    conf.connection_string = format!(
        "file://{}",
        std::env::temp_dir()
            .join(format!("osprof-sql-switch-{}.jsonl", std::process::id()))
            .display()
    );
    // init_from_conf installs the configured driver: keep collecting where the test reads.
    let sink = osprof_core::notifier::get();
    config::init_from_conf(&conf, "nova", "api", None);
    osprof_core::notifier::set_shared(sink);
    assert!(traced().await.is_empty(), "trace_sql = false, the default");

    config::set_trace_sql(true);
    assert_eq!(traced().await, ["SELECT 1"]);
}

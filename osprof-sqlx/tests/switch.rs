//! The SQL switch turns query spans on and off at run time, without rebuilding the pool.
//! (A binary of its own: the switch is process-wide.)

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_core::FutureExt;
use osprof_sqlx::TracedPool;

#[tokio::test]
async fn the_switch_applies_to_the_next_query() {
    common::install_sink();
    let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
        .await
        .unwrap();
    let base_id = async {
        let base_id = osprof_core::init("key", None, None).base_id().to_owned();
        osprof_core::config::set_trace_sql(false);
        sqlx::query("SELECT 'off'").fetch_all(&pool).await.unwrap();
        osprof_core::config::set_trace_sql(true);
        sqlx::query("SELECT 'on'").fetch_all(&pool).await.unwrap();
        osprof_core::clean();
        base_id
    }
    .in_current_trace()
    .await;

    let statements: Vec<_> = common::events_of(&base_id)
        .iter()
        .filter(|e| e["name"] == "db-start")
        .map(|e| e["info"]["db"]["statement"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statements, ["SELECT 'on'"]);
}

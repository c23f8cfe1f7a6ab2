//! The SQL switch turns query spans on and off at run time, without rebuilding the pool,
//! on SQLite, PostgreSQL and MariaDB. (A binary of its own, and one test: the switch is
//! process-wide.)

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_core::FutureExt;
use osprof_sqlx::TracedPool;

/// The statements traced while the switch goes off, then on, on a pool of `$db` at `$url`.
macro_rules! flip_the_switch {
    ($db:ty, $url:expr) => {{
        let pool = TracedPool::<$db>::connect($url).await.expect($url);
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
        common::db_statements(&common::events_of(&base_id))
    }};
}

#[tokio::test]
async fn the_switch_applies_to_the_next_query() {
    common::install_sink();
    assert_eq!(
        flip_the_switch!(sqlx::Sqlite, "sqlite::memory:"),
        ["SELECT 'on'"]
    );
    assert_eq!(
        flip_the_switch!(sqlx::Postgres, "postgres://postgres@127.0.0.1:5432/test"),
        ["SELECT 'on'"]
    );
    assert_eq!(
        flip_the_switch!(sqlx::MySql, "mysql://root@127.0.0.1:3306/test"),
        ["SELECT 'on'"]
    );
}

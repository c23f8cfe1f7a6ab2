//! The same suite on SQLite, PostgreSQL and MariaDB (the machine's servers): each query
//! through a traced pool, transaction or connection is one `db` span of the active trace.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use futures_util::TryStreamExt;
use osprof_sqlx::TracedPool;
use serde_json::{Value, json};

fn stop_of<'a>(events: &'a [Value], statement: &str) -> &'a Value {
    let start = events
        .iter()
        .find(|e| e["name"] == "db-start" && e["info"]["db"]["statement"] == statement)
        .unwrap_or_else(|| panic!("no span for {statement}"));
    events
        .iter()
        .find(|e| e["name"] == "db-stop" && e["trace_id"] == start["trace_id"])
        .unwrap_or_else(|| panic!("{statement} not stopped"))
}

macro_rules! suite {
    ($module:ident, $db:ty, $url:expr, $table:literal, $insert:literal) => {
        mod $module {
            use super::*;

            async fn pool() -> TracedPool<$db> {
                // PostgreSQL's CREATE TABLE IF NOT EXISTS races with itself: one at a time.
                static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
                let _creating = CREATING.lock().await;
                let pool = TracedPool::<$db>::connect($url).await.expect(concat!("connect to ", $url));
                sqlx::query(concat!("CREATE TABLE IF NOT EXISTS ", $table, " (id INTEGER, name TEXT)"))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_plain_query_is_a_db_span_with_its_statement_and_rows() {
                let pool = pool().await;
                let events = common::traced_async(async {
                    let rows = sqlx::query("SELECT 1 UNION ALL SELECT 2").fetch_all(&pool).await.unwrap();
                    assert_eq!(rows.len(), 2);
                })
                .await;
                assert_eq!(common::tree(&events), "db\n");
                assert_eq!(events[0]["info"]["db"], json!({"statement": "SELECT 1 UNION ALL SELECT 2", "params": {}}));
                assert_eq!(events[1]["info"]["db"]["result"]["rows_returned"], 2);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn transactions_commit_and_roll_back_traced() {
                let pool = pool().await;
                let marker: i64 = std::process::id().into();
                let events = common::traced_async(async {
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query($insert).bind(marker).bind("kept").execute(&mut *tx).await.unwrap();
                    tx.commit().await.unwrap();
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query($insert).bind(marker + 1_000_000).bind("undone").execute(&mut *tx).await.unwrap();
                    tx.rollback().await.unwrap();
                    let mut tx = pool.begin().await.unwrap();
                    sqlx::query("SELECT 1").fetch_one(&mut *tx).await.unwrap();
                    tokio::task::yield_now().await;
                    drop(tx); // sqlx rolls it back
                })
                .await;
                // Each transaction is a span from begin to its end, its queries inside it.
                assert_eq!(
                    common::tree(&events),
                    "transaction\n  db\ntransaction\n  db\ntransaction\n  db\n"
                );
                let outcomes: Vec<_> = events
                    .iter()
                    .filter(|e| e["name"] == "transaction-stop")
                    .map(|e| e["info"]["db"]["transaction"].clone())
                    .collect();
                assert_eq!(outcomes, [json!("commit"), json!("rollback"), json!("dropped")]);
                assert_eq!(common::db_statements(&events), [$insert, $insert, "SELECT 1"]);
                assert_eq!(stop_of(&events, $insert)["info"]["db"]["result"]["rows_affected"], 1);
                let undone: Vec<(i64,)> = sqlx::query_as(concat!("SELECT CAST(id AS BIGINT) FROM ", $table, " WHERE name = 'undone'"))
                    .fetch_all(&pool)
                    .await
                    .unwrap_or_default();
                assert!(undone.iter().all(|(id,)| *id != marker + 1_000_000));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_pooled_connection_is_traced() {
                let pool = pool().await;
                let events = common::traced_async(async {
                    let mut conn = pool.acquire().await.unwrap();
                    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await.unwrap();
                    assert_eq!(one, 1);
                })
                .await;
                assert_eq!(common::db_statements(&events), ["SELECT 1"]);
                assert_eq!(common::tree(&events), "db\n");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_stream_read_fully_or_dropped_early_stops_its_span() {
                let pool = pool().await;
                let events = common::traced_async(async {
                    let all: Vec<_> = sqlx::query("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
                        .fetch(&pool)
                        .try_collect()
                        .await
                        .unwrap();
                    assert_eq!(all.len(), 3);
                    let mut early = sqlx::query("SELECT 4 UNION ALL SELECT 5").fetch(&pool);
                    assert!(early.try_next().await.unwrap().is_some());
                    drop(early);
                })
                .await;
                assert_eq!(common::tree(&events), "db\ndb\n");
                assert_eq!(stop_of(&events, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")["info"]["db"]["result"]["rows_returned"], 3);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_failing_query_stops_with_the_error_and_its_code() {
                let pool = pool().await;
                let events = common::traced_async(async {
                    let error = sqlx::query("SELECT * FROM no_such_table").fetch_all(&pool).await.unwrap_err();
                    assert!(matches!(error, sqlx::Error::Database(_)));
                })
                .await;
                let stop = stop_of(&events, "SELECT * FROM no_such_table");
                assert_eq!(stop["info"]["etype"], "sqlx_core::error::Error::Database");
                assert!(stop["info"]["message"].as_str().unwrap().contains("no_such_table"), "{stop}");
                assert!(stop["info"]["db"]["code"].is_string(), "{stop}");
                assert!(stop["info"]["db"]["original_exception"].is_string());
                assert!(stop["info"]["db"]["chained_exception"].is_string());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn parameters_are_hidden_unless_the_pool_records_them() {
                let hidden = pool().await;
                let shown = hidden.clone().record_params(true);
                let events = common::traced_async(async {
                    let mut tx = hidden.begin().await.unwrap();
                    sqlx::query($insert).bind(7_i64).bind("hidden-secret").execute(&mut *tx).await.unwrap();
                    tx.rollback().await.unwrap();
                    let mut tx = shown.begin().await.unwrap();
                    sqlx::query($insert).bind(-8_i64).bind("shown \"text\"").execute(&mut *tx).await.unwrap();
                    sqlx::query($insert).bind(9_i64).bind(Option::<String>::None).execute(&mut *tx).await.unwrap();
                    tx.rollback().await.unwrap();
                    let mut conn = shown.acquire().await.unwrap();
                    sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
                })
                .await;
                let params: Vec<Value> = events
                    .iter()
                    .filter(|e| e["name"] == "db-start")
                    .map(|e| e["info"]["db"]["params"].clone())
                    .collect();
                assert_eq!(
                    params,
                    [json!({}), json!({"1": -8, "2": "shown \"text\""}), json!({"1": 9, "2": null}), json!({})]
                );
                assert!(!serde_json::to_string(&events).unwrap().contains("hidden-secret"));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn outside_a_trace_nothing_is_recorded() {
                let pool = pool().await;
                common::install_sink();
                let one: i32 = sqlx::query_scalar("SELECT 1 + 41 - 41").fetch_one(&pool).await.unwrap();
                assert_eq!(one, 1);
                let recorded = common::all_events()
                    .iter()
                    .any(|e| e["info"]["db"]["statement"] == "SELECT 1 + 41 - 41");
                assert!(!recorded);
            }
        }
    };
}

suite!(
    sqlite,
    sqlx::Sqlite,
    "sqlite::memory:",
    "osprof_suite",
    "INSERT INTO osprof_suite (id, name) VALUES (?, ?)"
);
suite!(
    postgres,
    sqlx::Postgres,
    "postgres://postgres@127.0.0.1:5432/test",
    "osprof_suite",
    "INSERT INTO osprof_suite (id, name) VALUES ($1, $2)"
);
suite!(
    mariadb,
    sqlx::MySql,
    "mysql://root@127.0.0.1:3306/test",
    "osprof_suite",
    "INSERT INTO osprof_suite (id, name) VALUES (?, ?)"
);

/// A commit that fails (a deferred constraint, checked at COMMIT) stops the transaction's
/// span with the error, in a task that started its trace itself and moves between workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_stops_the_transaction_span_with_the_error() {
    common::install_sink();
    let pool = TracedPool::<sqlx::Postgres>::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .unwrap();
    let table = format!("osprof_deferred_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE IF NOT EXISTS {table} (id INTEGER UNIQUE DEFERRABLE INITIALLY DEFERRED)"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let insert = format!("INSERT INTO {table} VALUES (1)");
    let base_id = tokio::spawn({
        let (pool, insert) = (pool.clone(), insert.clone());
        async move {
            let base_id = osprof_core::init("key", None, None).base_id().to_owned();
            let mut tx = pool.begin().await.unwrap();
            for _ in 0..2 {
                tokio::task::yield_now().await;
                sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            assert!(
                tx.commit().await.is_err(),
                "the deferred constraint fails at COMMIT"
            );
            osprof_core::clean();
            base_id
        }
    })
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&pool)
        .await
        .unwrap();
    let events = common::events_of(&base_id);
    assert_eq!(common::tree(&events), "transaction\n  db\n  db\n");
    let stop = events
        .iter()
        .find(|e| e["name"] == "transaction-stop")
        .unwrap();
    assert_eq!(stop["info"]["db"]["transaction"], "commit");
    assert_eq!(stop["info"]["etype"], "sqlx_core::error::Error::Database");
    assert_eq!(stop["info"]["db"]["code"], "23505");
}

#[osprof_core::trace(hide_args)]
async fn find_missing(pool: &TracedPool<sqlx::Sqlite>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT 1 WHERE 0").fetch_one(pool).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_function_failing_with_sqlx_error_names_its_variant() {
    let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
        .await
        .unwrap();
    let events = common::traced_async(async {
        assert!(matches!(
            find_missing(&pool).await,
            Err(sqlx::Error::RowNotFound)
        ));
    })
    .await;
    let function_stop = events
        .iter()
        .find(|e| e["name"] != "db-stop" && e["name"].as_str().unwrap().ends_with("-stop"))
        .unwrap();
    assert_eq!(
        function_stop["info"]["etype"],
        "sqlx_core::error::Error::RowNotFound"
    );
}

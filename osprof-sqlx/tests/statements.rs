//! The wrapper hands sqlx the query's own parts: prepared-statement caching and
//! `persistent(false)` behave exactly as on a bare connection (the `query!` macros: macros.rs).

use osprof_core::FutureExt;
use osprof_sqlx::TracedPool;
use sqlx::Connection;

/// A query that changes no cache and, once answered, shows that SQLite's worker thread has
/// finished the query before it, including its update of the statement cache size (made
/// after the rows are sent, so reading the size right after a query races with it).
const SETTLE: &str = "SELECT 0";

#[tokio::test]
async fn statement_caching_is_unchanged() {
    osprof_core::config::set_trace_sql(true);
    let traced = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
        .await
        .unwrap();
    let bare = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();

    let (traced_sizes, bare_sizes) = async {
        osprof_core::init("key", None, None);
        let mut conn = traced.acquire().await.unwrap();
        let mut bare_conn = bare.acquire().await.unwrap();
        let mut traced_sizes = Vec::new();
        let mut bare_sizes = Vec::new();
        for _ in 0..2 {
            sqlx::query("SELECT ?")
                .bind(1)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            sqlx::query("SELECT ?")
                .bind(1)
                .fetch_one(&mut *bare_conn)
                .await
                .unwrap();
            sqlx::query(SETTLE)
                .persistent(false)
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query(SETTLE)
                .persistent(false)
                .execute(&mut *bare_conn)
                .await
                .unwrap();
            traced_sizes.push(conn.cached_statements_size());
            bare_sizes.push(bare_conn.cached_statements_size());
        }
        sqlx::query("SELECT ? + 1")
            .bind(1)
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::query("SELECT ? + 1")
            .bind(1)
            .persistent(false)
            .fetch_one(&mut *bare_conn)
            .await
            .unwrap();
        sqlx::query(SETTLE)
            .persistent(false)
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query(SETTLE)
            .persistent(false)
            .execute(&mut *bare_conn)
            .await
            .unwrap();
        traced_sizes.push(conn.cached_statements_size());
        bare_sizes.push(bare_conn.cached_statements_size());
        osprof_core::clean();
        (traced_sizes, bare_sizes)
    }
    .in_current_trace()
    .await;

    assert_eq!(traced_sizes, bare_sizes);
    assert_eq!(
        traced_sizes,
        [1, 1, 1],
        "reused once prepared; not cached when not persistent"
    );
}

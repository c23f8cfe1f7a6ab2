//! The wrapper hands sqlx the query's own parts: prepared-statement caching and
//! `persistent(false)` behave exactly as on a bare connection (the `query!` macros: macros.rs).

use osprof_core::FutureExt;
use osprof_sqlx::TracedPool;
use sqlx::Connection;

/// A query that changes no cache and, once answered, shows that SQLite's worker thread has
/// finished the query before it, including its update of the statement cache size (made
/// after the rows are sent, so reading the size right after a query races with it).
const SETTLE: &str = "SELECT 0";

/// The statement cache size of connection `$conn` after `SELECT ?` twice and then a
/// non-persistent `SELECT ? + 1`: the same steps on a traced and a bare connection.
macro_rules! cache_sizes {
    ($conn:expr) => {{
        let mut conn = $conn;
        let mut sizes = Vec::new();
        for persistent in [true, true, false] {
            let sql = if persistent {
                "SELECT ?"
            } else {
                "SELECT ? + 1"
            };
            sqlx::query(sql)
                .bind(1)
                .persistent(persistent)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            sqlx::query(SETTLE)
                .persistent(false)
                .execute(&mut *conn)
                .await
                .unwrap();
            sizes.push(conn.cached_statements_size());
        }
        sizes
    }};
}

#[tokio::test]
async fn statement_caching_is_unchanged() {
    osprof_core::config::set_trace_sql(true);
    let traced = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
        .await
        .unwrap();
    let bare = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();

    let (traced_sizes, bare_sizes) = async {
        osprof_core::init("key", None, None);
        let traced_sizes = cache_sizes!(traced.acquire().await.unwrap());
        let bare_sizes = cache_sizes!(bare.acquire().await.unwrap());
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

//! `query!`, `query_as!` and `query_scalar!` through traced pools and transactions, on
//! SQLite, PostgreSQL and MariaDB. The macros check their SQL against a schema saved in
//! `osprof-sqlx/.sqlx` (`SQLX_OFFLINE=true` in `.cargo/config.toml`), so building needs no
//! server; `scripts/sqlx-prepare` saves it again from the live servers.

#[path = "../../osprof-core/tests/common/mod.rs"]
mod common;

use osprof_sqlx::TracedPool;

/// A row id no other test run uses.
fn fresh_id() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    i64::from(std::process::id()) * 1_000_000_000 + i64::from(nanos)
}

struct Named {
    name: String,
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_query_macros_are_db_spans() {
        let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE osprof_macros_sqlite (id BIGINT PRIMARY KEY NOT NULL, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let id = fresh_id();
        let events = common::traced_async(async {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query!(
                "INSERT INTO osprof_macros_sqlite (id, name) VALUES (?, ?)",
                id,
                "macro"
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            tx.commit().await.unwrap();
            let row = sqlx::query!("SELECT id, name FROM osprof_macros_sqlite WHERE id = ?", id)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!((row.id, row.name.as_str()), (id, "macro"));
            let named = sqlx::query_as!(
                Named,
                "SELECT name FROM osprof_macros_sqlite WHERE id = ?",
                id
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(named.name, "macro");
            let count = sqlx::query_scalar!(
                r#"SELECT COUNT(*) AS "count!: i64" FROM osprof_macros_sqlite"#
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(count, 1);
        })
        .await;
        assert_eq!(
            common::db_statements(&events),
            [
                "INSERT INTO osprof_macros_sqlite (id, name) VALUES (?, ?)",
                "SELECT id, name FROM osprof_macros_sqlite WHERE id = ?",
                "SELECT name FROM osprof_macros_sqlite WHERE id = ?",
                r#"SELECT COUNT(*) AS "count!: i64" FROM osprof_macros_sqlite"#,
            ]
        );
        // The transaction holds the queries made through it.
        assert_eq!(common::tree(&events), "transaction\n  db\ndb\ndb\ndb\n");
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_query_macros_are_db_spans() {
        let pool = TracedPool::<sqlx::Postgres>::connect("postgres://postgres@127.0.0.1:5432/test")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS osprof_macros_pg (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let id = fresh_id();
        let events = common::traced_async(async {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query!(
                "INSERT INTO osprof_macros_pg (id, name) VALUES ($1, $2)",
                id,
                "macro"
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            let row = sqlx::query!("SELECT id, name FROM osprof_macros_pg WHERE id = $1", id)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!((row.id, row.name.as_str()), (id, "macro"));
            let named =
                sqlx::query_as!(Named, "SELECT name FROM osprof_macros_pg WHERE id = $1", id)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(named.name, "macro");
            tx.rollback().await.unwrap();
            let count = sqlx::query_scalar!(
                r#"SELECT COUNT(*) AS "count!" FROM osprof_macros_pg WHERE id = $1"#,
                id
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(count, 0, "rolled back");
        })
        .await;
        assert_eq!(
            common::db_statements(&events),
            [
                "INSERT INTO osprof_macros_pg (id, name) VALUES ($1, $2)",
                "SELECT id, name FROM osprof_macros_pg WHERE id = $1",
                "SELECT name FROM osprof_macros_pg WHERE id = $1",
                r#"SELECT COUNT(*) AS "count!" FROM osprof_macros_pg WHERE id = $1"#,
            ]
        );
        assert_eq!(common::tree(&events), "transaction\n  db\n  db\n  db\ndb\n");
    }
}

mod mariadb {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_query_macros_are_db_spans() {
        let pool = TracedPool::<sqlx::MySql>::connect("mysql://root@127.0.0.1:3306/test")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE IF NOT EXISTS osprof_macros_mysql (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let id = fresh_id();
        let events = common::traced_async(async {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query!(
                "INSERT INTO osprof_macros_mysql (id, name) VALUES (?, ?)",
                id,
                "macro"
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            let row = sqlx::query!("SELECT id, name FROM osprof_macros_mysql WHERE id = ?", id)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!((row.id, row.name.as_str()), (id, "macro"));
            let named = sqlx::query_as!(
                Named,
                "SELECT name FROM osprof_macros_mysql WHERE id = ?",
                id
            )
            .fetch_one(&mut *tx)
            .await
            .unwrap();
            assert_eq!(named.name, "macro");
            tx.rollback().await.unwrap();
            let count =
                sqlx::query_scalar!("SELECT COUNT(*) FROM osprof_macros_mysql WHERE id = ?", id)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!(count, 0, "rolled back");
        })
        .await;
        assert_eq!(
            common::db_statements(&events),
            [
                "INSERT INTO osprof_macros_mysql (id, name) VALUES (?, ?)",
                "SELECT id, name FROM osprof_macros_mysql WHERE id = ?",
                "SELECT name FROM osprof_macros_mysql WHERE id = ?",
                "SELECT COUNT(*) FROM osprof_macros_mysql WHERE id = ?",
            ]
        );
        assert_eq!(common::tree(&events), "transaction\n  db\n  db\n  db\ndb\n");
    }
}

//! What both query benches measure: `SELECT 1` on one in-memory SQLite pool, reached bare
//! and through `TracedPool`.

use osprof_sqlx::TracedPool;
use sqlx::{Sqlite, SqlitePool};
use tokio::runtime::Runtime;

pub(crate) struct Pools {
    runtime: Runtime,
    bare: SqlitePool,
    traced: TracedPool<Sqlite>,
}

impl Pools {
    /// One pool (one connection, one SQLite worker thread) reached bare and wrapped: two
    /// pools would each have a worker thread of their own, whose wake-ups differ by more
    /// than the wrapper costs. Turns SQL tracing on.
    pub(crate) fn connect() -> Pools {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let bare = runtime
            .block_on(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect("sqlite::memory:"),
            )
            .unwrap();
        osprof_core::config::set_trace_sql(true);
        Pools {
            traced: TracedPool::new(bare.clone()),
            bare,
            runtime,
        }
    }

    /// One `SELECT 1` through the traced pool or the bare one, on this thread (a
    /// current-thread runtime: a trace started here is the query's).
    pub(crate) fn select_one(&self, traced: bool) {
        let row = if traced {
            self.runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.traced))
        } else {
            self.runtime
                .block_on(sqlx::query("SELECT 1").fetch_one(&self.bare))
        };
        std::hint::black_box(row.unwrap());
    }
}

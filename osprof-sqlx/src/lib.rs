//! osprof for sqlx: every query made through a wrapped pool, transaction or connection is
//! a `db` span of the active trace, as OSProfiler's SQLAlchemy integration records it.
//!
//! Wrap the pool once; queries stay plain sqlx:
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use osprof_core::FutureExt;
//! use osprof_sqlx::TracedPool;
//!
//! let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
//! // Wrapping the pool is the opt-in: no switch to set (`trace_sql` in a configuration applied
//! // by `init_from_conf` turns it off or on).
//! async {
//!     osprof_core::init("SECRET_KEY", None, None);
//!     let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
//!     assert_eq!(one, 1);
//!     let mut tx = pool.begin().await?;
//!     sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await?;
//!     tx.commit().await?;
//!     osprof_core::clean();
//!     Ok::<_, sqlx::Error>(())
//! }
//! .in_current_trace()
//! .await?;
//! # Ok::<_, sqlx::Error>(())
//! # }).unwrap();
//! ```
//!
//! A query's span starts with `info.db = {statement, params}`; `params` stays `{}` unless
//! the pool was made with [`TracedPool::record_params`] (parameters can hold secrets), and
//! then holds one value per bound parameter, `{"1": 42, "2": "text"}` and stops with `{"db": {"result": {rows_returned,
//! rows_affected}}}`, or on error with `{etype, message, db: {original_exception,
//! chained_exception, code}}`. A streamed `fetch` polls inside its span and stops it when
//! the stream ends or is dropped. Nothing is recorded without an active trace or while
//! [`osprof_core::config::trace_sql`] is off.

#![forbid(unsafe_code)]

mod params;
mod pool;
mod query;
mod storage;

pub use params::ParamValues;
pub use pool::{Traced, TracedPool, TracedPoolConnection, TracedTransaction};
pub use query::RowsAffected;
pub use storage::{SqlStorage, register_drivers};

//! The traced pool, transaction and pooled connection: sqlx executors whose queries are spans.

use std::ops::{Deref, DerefMut};

use futures_core::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Describe, Error, Execute, Executor, Pool, SqlStr, Transaction};

use crate::params::ParamValues;
use crate::query::{
    InTransaction, Parts, Results, RowsAffected, TracedStream, TransactionSpan, traced_optional,
    tracing_now,
};

/// A `sqlx::Pool` whose queries are `db` spans. `&TracedPool` is an `Executor`, so queries
/// stay `sqlx::query(...).fetch_all(&pool)`, `query!`/`query_as!` included; `begin` and
/// `acquire` give traced transactions and connections. The pool inside is not handed out:
/// nothing reached through the wrapper bypasses it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use osprof_sqlx::TracedPool;
///
/// let pool = TracedPool::new(sqlx::SqlitePool::connect("sqlite::memory:").await?);
/// let rows = sqlx::query("SELECT 1 UNION ALL SELECT 2").fetch_all(&pool).await?;
/// assert_eq!(rows.len(), 2);
/// # Ok::<_, sqlx::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TracedPool<DB: Database> {
    pool: Pool<DB>,
    record_params: bool,
}

impl<DB: Database> Clone for TracedPool<DB> {
    fn clone(&self) -> Self {
        TracedPool {
            pool: self.pool.clone(),
            record_params: self.record_params,
        }
    }
}

impl<DB: Database> TracedPool<DB> {
    /// Wraps `pool`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use sqlx::sqlite::SqlitePoolOptions;
    ///
    /// // Any pool, with the options it needs.
    /// let pool = SqlitePoolOptions::new().max_connections(4).connect("sqlite::memory:").await?;
    /// let pool = osprof_sqlx::TracedPool::new(pool);
    /// # let _ = pool;
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn new(pool: Pool<DB>) -> TracedPool<DB> {
        crate::register_drivers();
        TracedPool {
            pool,
            record_params: false,
        }
    }

    /// Whether spans record the bound parameters' values in `info.db.params` (default
    /// false: parameters can hold secrets). Transactions and connections taken from the
    /// pool afterwards follow the same setting.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use osprof_sqlx::TracedPool;
    ///
    /// let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:")
    ///     .await?
    ///     .record_params(true);
    /// // A traced `SELECT ?` bound to 42 starts with `"params": {"1": 42}`.
    /// let answer: i64 = sqlx::query_scalar("SELECT ?").bind(42_i64).fetch_one(&pool).await?;
    /// assert_eq!(answer, 42);
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn record_params(self, record: bool) -> TracedPool<DB> {
        TracedPool {
            record_params: record,
            ..self
        }
    }

    /// Connects a pool with default options to `url` (`sqlite::memory:`,
    /// `postgres://...`, `mysql://...`) and wraps it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use osprof_sqlx::TracedPool;
    ///
    /// let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// assert!(!pool.is_closed());
    /// let error = TracedPool::<sqlx::Sqlite>::connect("sqlite:///no/such/dir/db.sqlite").await.unwrap_err();
    /// assert!(matches!(error, sqlx::Error::Database(_)), "{error}");
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(url: &str) -> Result<TracedPool<DB>, Error> {
        Ok(TracedPool::new(Pool::connect(url).await?))
    }

    /// Starts a traced transaction: `query.execute(&mut *tx)`, then `tx.commit()`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// let mut tx = pool.begin().await?;
    /// sqlx::query("CREATE TABLE t (x INTEGER)").execute(&mut *tx).await?;
    /// sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await?;
    /// tx.commit().await?;
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn begin(&self) -> Result<TracedTransaction<'static, DB>, Error> {
        let span = TransactionSpan::begin();
        match self.pool.begin().await {
            Ok(transaction) => Ok(TracedTransaction {
                conn: Traced {
                    inner: transaction,
                    record_params: self.record_params,
                    transaction: span,
                },
            }),
            Err(error) => {
                if let Some(span) = span {
                    span.end("begin", Some(&error));
                }
                Err(error)
            }
        }
    }

    /// Takes a traced connection from the pool: `query.fetch_all(&mut *conn)`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// let mut conn = pool.acquire().await?;
    /// let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *conn).await?;
    /// assert_eq!(one, 1);
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn acquire(&self) -> Result<TracedPoolConnection<DB>, Error> {
        Ok(TracedPoolConnection {
            conn: Traced::new(self.pool.acquire().await?, self.record_params),
        })
    }

    /// Closes the pool (see `sqlx::Pool::close`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// pool.close().await;
    /// assert!(sqlx::query("SELECT 1").execute(&pool).await.is_err());
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the pool is closed.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// assert!(!pool.is_closed());
    /// pool.close().await;
    /// assert!(pool.is_closed());
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }
}

impl<'p, DB> Executor<'p> for &'_ TracedPool<DB>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
    DB::Arguments: ParamValues,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, DB>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        if !tracing_now() {
            return self.pool.fetch_many(query);
        }
        let parts = Parts::take(query);
        let info = parts.info(self.record_params);
        TracedStream::<DB>::boxed(self.pool.fetch_many(parts), info)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        if !tracing_now() {
            return self.pool.fetch_optional(query);
        }
        let parts = Parts::take(query);
        let info = parts.info(self.record_params);
        traced_optional::<DB>(self.pool.fetch_optional(parts), info)
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    #[doc(hidden)]
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        self.pool.describe(sql)
    }
}

/// A connection-like value (a transaction, a pooled connection) whose queries are `db`
/// spans: `&mut Traced<C>` is an `Executor`. Reached as `&mut *tx` from a
/// [`TracedTransaction`] or `&mut *conn` from a [`TracedPoolConnection`].
///
/// ```
/// use osprof_sqlx::{Traced, TracedPool};
/// use sqlx::pool::PoolConnection;
///
/// /// Code that takes a traced pooled connection.
/// async fn count(conn: &mut Traced<PoolConnection<sqlx::Sqlite>>) -> Result<i64, sqlx::Error> {
///     sqlx::query_scalar("SELECT 3").fetch_one(conn).await
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
/// let mut conn = pool.acquire().await?;
/// assert_eq!(count(&mut conn).await?, 3);
/// # Ok::<_, sqlx::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Traced<C> {
    inner: C,
    record_params: bool,
    /// The span of the transaction `inner` is, if it is one and was traced.
    transaction: Option<TransactionSpan>,
}

impl<C> Traced<C> {
    fn new(inner: C, record_params: bool) -> Traced<C> {
        Traced {
            inner,
            record_params,
            transaction: None,
        }
    }
}

impl<C> Traced<C>
where
    C: Deref,
    C::Target: Connection,
    <C::Target as Connection>::Database: sqlx::database::HasStatementCache,
{
    /// How many prepared statements the connection keeps (see
    /// `sqlx::Connection::cached_statements_size`).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// let mut conn = pool.acquire().await?;
    /// for _ in 0..2 {
    ///     sqlx::query("SELECT ?").bind(1).fetch_one(&mut *conn).await?;
    /// }
    /// assert_eq!(conn.cached_statements_size(), 1, "prepared once, reused");
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn cached_statements_size(&self) -> usize {
        self.inner.cached_statements_size()
    }
}

impl<'t, C> Executor<'t> for &'t mut Traced<C>
where
    C: DerefMut + Send + std::fmt::Debug,
    C::Target: Connection,
    <<C::Target as Connection>::Database as Database>::QueryResult: RowsAffected,
    <<C::Target as Connection>::Database as Database>::Arguments: ParamValues,
    for<'c> &'c mut C::Target: Executor<'c, Database = <C::Target as Connection>::Database>,
{
    type Database = <C::Target as Connection>::Database;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, Self::Database>
    where
        't: 'e,
        E: 'q + Execute<'q, Self::Database>,
    {
        let Traced {
            inner,
            record_params,
            transaction,
        } = self;
        let connection: &'t mut C::Target = inner;
        if !tracing_now() {
            return connection.fetch_many(query);
        }
        let parts = Parts::take(query);
        let info = parts.info(*record_params);
        let results = TracedStream::<Self::Database>::boxed(connection.fetch_many(parts), info);
        match transaction {
            Some(span) => Box::pin(InTransaction::new(span, results)),
            None => results,
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<<Self::Database as Database>::Row>, Error>>
    where
        't: 'e,
        E: 'q + Execute<'q, Self::Database>,
    {
        let Traced {
            inner,
            record_params,
            transaction,
        } = self;
        let connection: &'t mut C::Target = inner;
        if !tracing_now() {
            return connection.fetch_optional(query);
        }
        let parts = Parts::take(query);
        let info = parts.info(*record_params);
        let row = traced_optional::<Self::Database>(connection.fetch_optional(parts), info);
        match transaction {
            Some(span) => Box::pin(InTransaction::new(span, row)),
            None => row,
        }
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<Self::Database as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Self::Database as Database>::Statement, Error>>
    where
        't: 'e,
    {
        let connection: &'t mut C::Target = &mut self.inner;
        connection.prepare_with(sql, parameters)
    }

    #[doc(hidden)]
    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Self::Database>, Error>>
    where
        't: 'e,
    {
        let connection: &'t mut C::Target = &mut self.inner;
        connection.describe(sql)
    }
}

/// A traced transaction: `&mut *tx` is an executor whose queries are spans.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use osprof_sqlx::{TracedPool, TracedTransaction};
///
/// async fn transfer(tx: &mut TracedTransaction<'_, sqlx::Sqlite>) -> Result<(), sqlx::Error> {
///     sqlx::query("UPDATE accounts SET balance = balance - 10 WHERE id = 1").execute(&mut **tx).await?;
///     sqlx::query("UPDATE accounts SET balance = balance + 10 WHERE id = 2").execute(&mut **tx).await?;
///     Ok(())
/// }
/// let pool = TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
/// sqlx::query("CREATE TABLE accounts (id INTEGER, balance INTEGER)").execute(&pool).await?;
/// let mut tx = pool.begin().await?;
/// transfer(&mut tx).await?;
/// tx.commit().await?;
/// # Ok::<_, sqlx::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TracedTransaction<'c, DB: Database> {
    conn: Traced<Transaction<'c, DB>>,
}

impl<'c, DB: Database> TracedTransaction<'c, DB> {
    /// Commits the transaction.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await?;
    /// let mut tx = pool.begin().await?;
    /// sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await?;
    /// tx.commit().await?;
    /// let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&pool).await?;
    /// assert_eq!(count, 1);
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn commit(self) -> Result<(), Error> {
        self.end("commit", Transaction::commit).await
    }

    /// Rolls the transaction back (dropping it does too).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
    /// sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await?;
    /// let mut tx = pool.begin().await?;
    /// sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await?;
    /// tx.rollback().await?;
    /// let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&pool).await?;
    /// assert_eq!(count, 0);
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn rollback(self) -> Result<(), Error> {
        self.end("rollback", Transaction::rollback).await
    }

    /// Ends the transaction with `finish`, then its span with the outcome.
    async fn end<F, Ended>(self, outcome: &str, finish: F) -> Result<(), Error>
    where
        F: FnOnce(Transaction<'c, DB>) -> Ended,
        Ended: std::future::Future<Output = Result<(), Error>>,
    {
        let Traced {
            inner, transaction, ..
        } = self.conn;
        let ended = finish(inner).await;
        if let Some(span) = transaction {
            span.end(outcome, ended.as_ref().err());
        }
        ended
    }
}

impl<'c, DB: Database> Deref for TracedTransaction<'c, DB> {
    type Target = Traced<Transaction<'c, DB>>;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<DB: Database> DerefMut for TracedTransaction<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// A traced connection from the pool: `&mut *conn` is an executor whose queries are spans.
/// It goes back to the pool when dropped.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let pool = osprof_sqlx::TracedPool::<sqlx::Sqlite>::connect("sqlite::memory:").await?;
/// let mut conn = pool.acquire().await?;
/// // A temporary table lives as long as its connection.
/// sqlx::query("CREATE TEMP TABLE scratch (x INTEGER)").execute(&mut *conn).await?;
/// sqlx::query("INSERT INTO scratch VALUES (1)").execute(&mut *conn).await?;
/// drop(conn); // back to the pool
/// # Ok::<_, sqlx::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TracedPoolConnection<DB: Database> {
    conn: Traced<PoolConnection<DB>>,
}

impl<DB: Database> Deref for TracedPoolConnection<DB> {
    type Target = Traced<PoolConnection<DB>>;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<DB: Database> DerefMut for TracedPoolConnection<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

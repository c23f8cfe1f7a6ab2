//! The traced pool, transaction and pooled connection: sqlx executors whose queries are spans.

use std::ops::{Deref, DerefMut};

use futures_core::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Describe, Error, Execute, Executor, Pool, SqlStr, Transaction};

use crate::query::{Parts, Results, RowsAffected, TracedStream, traced_optional, tracing_now};

/// A `sqlx::Pool` whose queries are `db` spans. `&TracedPool` is an `Executor`, so queries
/// stay `sqlx::query(...).fetch_all(&pool)`, `query!`/`query_as!` included; `begin` and
/// `acquire` give traced transactions and connections. The pool inside is not handed out:
/// nothing reached through the wrapper bypasses it.
#[derive(Debug)]
pub struct TracedPool<DB: Database> {
    pool: Pool<DB>,
}

impl<DB: Database> Clone for TracedPool<DB> {
    fn clone(&self) -> Self {
        TracedPool {
            pool: self.pool.clone(),
        }
    }
}

impl<DB: Database> TracedPool<DB> {
    /// Wraps `pool`.
    pub fn new(pool: Pool<DB>) -> TracedPool<DB> {
        crate::register_drivers();
        TracedPool { pool }
    }

    /// Connects a pool with default options to `url` (`sqlite::memory:`,
    /// `postgres://...`, `mysql://...`) and wraps it.
    pub async fn connect(url: &str) -> Result<TracedPool<DB>, Error> {
        Ok(TracedPool::new(Pool::connect(url).await?))
    }

    /// Starts a traced transaction: `query.execute(&mut *tx)`, then `tx.commit()`.
    pub async fn begin(&self) -> Result<TracedTransaction<'static, DB>, Error> {
        Ok(TracedTransaction {
            conn: Traced::new(self.pool.begin().await?),
        })
    }

    /// Takes a traced connection from the pool: `query.fetch_all(&mut *conn)`.
    pub async fn acquire(&self) -> Result<TracedPoolConnection<DB>, Error> {
        Ok(TracedPoolConnection {
            conn: Traced::new(self.pool.acquire().await?),
        })
    }

    /// Closes the pool (see `sqlx::Pool::close`).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the pool is closed.
    pub fn is_closed(&self) -> bool {
        self.pool.is_closed()
    }
}

impl<'p, DB> Executor<'p> for &'_ TracedPool<DB>
where
    DB: Database,
    DB::QueryResult: RowsAffected,
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
        let info = parts.info();
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
        let info = parts.info();
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
#[derive(Debug)]
pub struct Traced<C> {
    inner: C,
}

impl<C> Traced<C> {
    fn new(inner: C) -> Traced<C> {
        Traced { inner }
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
    pub fn cached_statements_size(&self) -> usize {
        self.inner.cached_statements_size()
    }
}

impl<'t, C> Executor<'t> for &'t mut Traced<C>
where
    C: DerefMut + Send + std::fmt::Debug,
    C::Target: Connection,
    <<C::Target as Connection>::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C::Target: Executor<'c, Database = <C::Target as Connection>::Database>,
{
    type Database = <C::Target as Connection>::Database;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> Results<'e, Self::Database>
    where
        't: 'e,
        E: 'q + Execute<'q, Self::Database>,
    {
        let connection: &'t mut C::Target = &mut self.inner;
        if !tracing_now() {
            return connection.fetch_many(query);
        }
        let parts = Parts::take(query);
        let info = parts.info();
        TracedStream::<Self::Database>::boxed(connection.fetch_many(parts), info)
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<<Self::Database as Database>::Row>, Error>>
    where
        't: 'e,
        E: 'q + Execute<'q, Self::Database>,
    {
        let connection: &'t mut C::Target = &mut self.inner;
        if !tracing_now() {
            return connection.fetch_optional(query);
        }
        let parts = Parts::take(query);
        let info = parts.info();
        traced_optional::<Self::Database>(connection.fetch_optional(parts), info)
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
#[derive(Debug)]
pub struct TracedTransaction<'c, DB: Database> {
    conn: Traced<Transaction<'c, DB>>,
}

impl<'c, DB: Database> TracedTransaction<'c, DB> {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), Error> {
        self.conn.inner.commit().await
    }

    /// Rolls the transaction back (dropping it does too).
    pub async fn rollback(self) -> Result<(), Error> {
        self.conn.inner.rollback().await
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

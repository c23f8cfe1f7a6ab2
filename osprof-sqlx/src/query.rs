//! One query as a `db` span: its parts taken from `Execute`, its stream or future traced.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::params::ParamValues;
use futures_core::Stream;
use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use osprof_core::{FutureExt, PollSpan};
use serde_json::{Value, json};
use sqlx::error::BoxDynError;
use sqlx::{Database, Either, Error, Execute, SqlStr};

/// The number of rows a statement changed, for the span's stop info.
///
/// ```
/// use osprof_sqlx::RowsAffected;
///
/// /// What the span's stop info reports for a statement.
/// fn changed<R: RowsAffected>(result: &R) -> u64 {
///     result.rows_affected()
/// }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
/// sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await?;
/// let result = sqlx::query("INSERT INTO t VALUES (1), (2)").execute(&pool).await?;
/// assert_eq!(changed(&result), 2);
/// # Ok::<_, sqlx::Error>(())
/// # }).unwrap();
/// ```
pub trait RowsAffected {
    /// Rows inserted, updated or deleted.
    ///
    /// ```
    /// use osprof_sqlx::RowsAffected;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    /// sqlx::query("CREATE TABLE t (x INTEGER)").execute(&pool).await?;
    /// let result = sqlx::query("INSERT INTO t VALUES (1)").execute(&pool).await?;
    /// assert_eq!(RowsAffected::rows_affected(&result), 1);
    /// # Ok::<_, sqlx::Error>(())
    /// # }).unwrap();
    /// ```
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::mysql::MySqlQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// Whether a query made now is traced: the SQL switch is on and a trace is active here.
#[inline]
pub(crate) fn tracing_now() -> bool {
    osprof_core::config::trace_sql() && osprof_core::is_active()
}

/// A query taken apart. sqlx 0.9's `Execute::sql` consumes the query, so the parts are
/// taken in the order the drivers read them (statement, arguments, persistent, then the
/// SQL) and handed on unchanged: statement caching and `persistent(false)` behave exactly
/// as without the wrapper.
pub(crate) struct Parts<DB: Database> {
    statement: Option<DB::Statement>,
    arguments: Result<Option<DB::Arguments>, BoxDynError>,
    persistent: bool,
    sql: SqlStr,
}

impl<DB: Database> Parts<DB> {
    pub(crate) fn take<'q>(mut query: impl Execute<'q, DB>) -> Parts<DB> {
        let statement = query.statement().cloned();
        let arguments = query.take_arguments();
        let persistent = query.persistent();
        Parts {
            statement,
            arguments,
            persistent,
            sql: query.sql(),
        }
    }

    /// The start info of this query's span; `params` is `{}` unless they are recorded.
    pub(crate) fn info(&self, record_params: bool) -> Value
    where
        DB::Arguments: ParamValues,
    {
        let params = match &self.arguments {
            Ok(Some(arguments)) if record_params => arguments.param_values(),
            _ => json!({}),
        };
        json!({"db": {"statement": self.sql.as_str(), "params": params}})
    }
}

impl<'q, DB: Database> Execute<'q, DB> for Parts<DB> {
    fn sql(self) -> SqlStr {
        self.sql
    }

    fn statement(&self) -> Option<&DB::Statement> {
        self.statement.as_ref()
    }

    fn take_arguments(&mut self) -> Result<Option<DB::Arguments>, BoxDynError> {
        std::mem::replace(&mut self.arguments, Ok(None))
    }

    fn persistent(&self) -> bool {
        self.persistent
    }
}

fn result_info(rows_returned: u64, rows_affected: u64) -> Value {
    json!({"db": {"result": {"rows_returned": rows_returned, "rows_affected": rows_affected}}})
}

/// `{etype, message, db: {original_exception, chained_exception, code}}`, as OSProfiler's.
pub(crate) fn error_info(error: &Error) -> Value {
    let debug = format!("{error:?}");
    let variant: String = debug
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let code = match error {
        Error::Database(database) => database.code().map(|code| code.into_owned()),
        _ => None,
    };
    let chained = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    json!({
        "etype": format!("{}::{variant}", std::any::type_name::<Error>()),
        "message": error.to_string(),
        "db": {
            "original_exception": error.to_string(),
            "chained_exception": chained,
            "code": code,
        },
    })
}

/// The span of a traced transaction, named `transaction`: from `begin` to its commit,
/// rollback or drop, its queries' spans inside it. Its stop carries the outcome in
/// `info.db.transaction` (`commit`, `rollback`, or `dropped`: sqlx rolls back a transaction
/// dropped unfinished), with `etype` and `message` when the outcome failed.
#[derive(Debug)]
pub(crate) struct TransactionSpan(PollSpan);

impl TransactionSpan {
    /// Opens the span, if a query made now would be traced.
    pub(crate) fn begin() -> Option<TransactionSpan> {
        if !tracing_now() {
            return None;
        }
        let mut span = PollSpan::new("transaction", Some(json!({"db": {"transaction": "begin"}})));
        span.in_scope(|| {});
        Some(TransactionSpan(span))
    }

    /// Stops the span with the outcome, and the error if it failed.
    pub(crate) fn end(mut self, outcome: &str, error: Option<&Error>) {
        let mut info = error.map_or_else(|| json!({"db": {}}), error_info);
        info["db"]["transaction"] = json!(outcome);
        self.0.finish(Some(info));
    }
}

impl Drop for TransactionSpan {
    fn drop(&mut self) {
        if self.0.is_open() {
            self.0
                .finish(Some(json!({"db": {"transaction": "dropped"}})));
        }
    }
}

/// A query's stream or future polled inside its transaction's span, so that the query's
/// span is the transaction's child wherever the task runs.
pub(crate) struct InTransaction<'t, T> {
    span: &'t mut TransactionSpan,
    inner: T,
}

impl<'t, T> InTransaction<'t, T> {
    pub(crate) fn new(span: &'t mut TransactionSpan, inner: T) -> InTransaction<'t, T> {
        InTransaction { span, inner }
    }
}

impl<T: Stream + Unpin> Stream for InTransaction<'_, T> {
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        let inner = &mut this.inner;
        this.span.0.in_scope(|| Pin::new(inner).poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T: std::future::Future + Unpin> std::future::Future for InTransaction<'_, T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        let inner = &mut this.inner;
        this.span.0.in_scope(|| Pin::new(inner).poll(cx))
    }
}

/// What `Executor::fetch_many` streams: statement results and rows.
pub(crate) type Results<'e, DB> =
    BoxStream<'e, Result<Either<<DB as Database>::QueryResult, <DB as Database>::Row>, Error>>;

/// A query's result stream polled inside its span.
pub(crate) struct TracedStream<'e, DB: Database> {
    inner: Results<'e, DB>,
    span: PollSpan,
    rows_returned: u64,
    rows_affected: u64,
}

impl<'e, DB: Database> TracedStream<'e, DB>
where
    DB::QueryResult: RowsAffected,
{
    pub(crate) fn boxed(inner: Results<'e, DB>, info: Value) -> Results<'e, DB> {
        Box::pin(TracedStream::<DB> {
            inner,
            span: PollSpan::new("db", Some(info)),
            rows_returned: 0,
            rows_affected: 0,
        })
    }
}

impl<DB: Database> Stream for TracedStream<'_, DB>
where
    DB::QueryResult: RowsAffected,
{
    type Item = Result<Either<DB::QueryResult, DB::Row>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let inner = &mut this.inner;
        let poll = this.span.in_scope(|| inner.as_mut().poll_next(cx));
        match &poll {
            Poll::Ready(Some(Ok(Either::Left(result)))) => {
                this.rows_affected += result.rows_affected()
            }
            Poll::Ready(Some(Ok(Either::Right(_)))) => this.rows_returned += 1,
            Poll::Ready(Some(Err(error))) => this.span.finish(Some(error_info(error))),
            Poll::Ready(None) => this
                .span
                .finish(Some(result_info(this.rows_returned, this.rows_affected))),
            Poll::Pending => {}
        }
        poll
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// A `fetch_optional` future inside its span.
pub(crate) fn traced_optional<'e, DB: Database>(
    inner: BoxFuture<'e, Result<Option<DB::Row>, Error>>,
    info: Value,
) -> BoxFuture<'e, Result<Option<DB::Row>, Error>> {
    Box::pin(inner.traced_with("db", Some(info), |result| {
        Some(match result {
            Ok(row) => result_info(u64::from(row.is_some()), 0),
            Err(error) => error_info(error),
        })
    }))
}

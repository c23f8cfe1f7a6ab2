//! `sqlite://`, `postgresql://`, `mysql://`: trace events stored in OSProfiler's `data`
//! table, and read back as reports.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use osprof_core::Error;
use osprof_core::drivers::{Attempt, DriverOptions, LineWriter, RetryQueue};
use osprof_core::notifier::{Batch, Driver};
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Row};

/// Rows per INSERT statement: well under every database's limit on bound values.
const ROWS_PER_INSERT: usize = 500;

/// How long a read (a report, a list) may wait for its rows once the server has answered.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Which SQL dialect a connection string speaks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// One stored event: the indexed columns and the payload.
#[derive(Debug, Clone)]
struct Row9 {
    /// In the form every dialect casts (`2026-12-04 03:16:28.123456`).
    timestamp: String,
    base_id: String,
    parent_id: String,
    trace_id: String,
    host: String,
    name: String,
    data: String,
}

/// Stores events in OSProfiler's `data` table (`id, timestamp, base_id, parent_id, trace_id,
/// project, host, service, name, data`), creating it if missing, with batched inserts in
/// one transaction per batch; reads reports and trace lists back. It connects on first use,
/// so that a database that is away never delays start-up. While the database is away,
/// events are held (up to `DriverOptions::retry_capacity`) and written when it returns;
/// beyond that they are dropped and counted.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
///
/// osprof_sqlx::register_drivers();
/// let path = std::env::temp_dir().join(format!("osprof-storage-{}.db", std::process::id()));
/// let driver = osprof_core::notifier::try_create(
///     &format!("sqlite://{}", path.display()),
///     &DriverOptions::new("nova", "api"),
/// )
/// .unwrap();
/// osprof_core::notifier::set_shared(driver.clone());
/// let base_id = osprof_core::init("key", None, None).base_id().to_owned();
/// drop(osprof_core::Trace::new("wsgi", None));
/// osprof_core::clean();
/// osprof_core::notifier::flush();
/// let report = driver.get_report(&base_id).unwrap();
/// assert_eq!(report["children"][0]["info"]["name"], "wsgi");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub struct SqlStorage {
    dialect: Dialect,
    runtime: tokio::runtime::Runtime,
    pool: AnyPool,
    /// The connection string without its password, for messages.
    connection_string: String,
    /// The `project` and `service` columns.
    project: String,
    service: String,
    /// Adds `project` and `service` to a payload's text, for the `data` column.
    lines: LineWriter,
    /// The INSERT of a full batch ([`ROWS_PER_INSERT`] rows).
    full_insert: String,
    pending: Mutex<RetryQueue<Row9>>,
    /// How long one attempt to write, connecting included, may take, and how long a read
    /// may wait for a connection: the socket timeout.
    socket_timeout: Duration,
    /// Whether the `data` table is known to exist; until then each connection made creates
    /// it if missing.
    table_ready: AtomicBool,
}

impl std::fmt::Debug for SqlStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStorage")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// Makes `notifier::create` (and `config::init_from_conf`) accept `sqlite://`,
/// `postgresql://` (or `postgres://`) and `mysql://` connection strings, with OSProfiler's
/// `+driver` suffixes (`mysql+pymysql://`) too. `TracedPool` calls it for you.
///
/// ```
/// use osprof_core::config::{self, ProfilerConfig};
///
/// osprof_sqlx::register_drivers();
/// let path = std::env::temp_dir().join(format!("osprof-conf-{}.db", std::process::id()));
/// let mut conf = ProfilerConfig::default();
/// conf.enabled = true;
/// conf.connection_string = format!("sqlite://{}", path.display());
/// let startup = config::init_from_conf(&conf, "nova", "api", None);
/// assert_eq!(startup.driver, Some("sql"));
/// // The file is made by the first write: starting up never waits for a database.
/// # std::fs::remove_file(&path).ok();
/// ```
pub fn register_drivers() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for scheme in ["sqlite", "postgresql", "postgres", "mysql"] {
            osprof_core::drivers::register(scheme, SqlStorage::create);
        }
    });
}

impl SqlStorage {
    /// A driver for the database of `connection_string`. Nothing is reached here: the
    /// first write or read connects (within `options.socket_timeout`) and creates the
    /// `data` table if it is missing; an SQLite file is created if it does not exist.
    /// A connection string that is not one of the accepted forms is an error.
    ///
    /// ```
    /// use osprof_core::drivers::DriverOptions;
    /// use osprof_core::notifier::Driver;
    /// use osprof_sqlx::SqlStorage;
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-open-{}.db", std::process::id()));
    /// let storage = SqlStorage::open(&format!("sqlite://{}", path.display()), &DriverOptions::default()).unwrap();
    /// osprof_core::notifier::set(storage);
    /// # std::fs::remove_file(&path).ok();
    /// let unreachable = SqlStorage::open("postgresql://nobody@127.0.0.1:1/nowhere", &DriverOptions::default()).unwrap();
    /// let error = unreachable.list_traces(&[]).unwrap_err();
    /// assert!(error.to_string().contains("127.0.0.1:1"), "{error}");
    /// assert!(SqlStorage::open("postgresql://[::1", &DriverOptions::default()).is_err());
    /// ```
    pub fn open(connection_string: &str, options: &DriverOptions) -> Result<SqlStorage, Error> {
        let failed = |message: String| Error::Driver {
            driver: "sql",
            message,
        };
        let (scheme, rest) = connection_string
            .split_once("://")
            .ok_or_else(|| failed(format!("`{connection_string}` has no scheme; write sqlite:///path/traces.db, postgresql://... or mysql://...")))?;
        let base_scheme = scheme.split('+').next().unwrap_or(scheme);
        let (dialect, url) = match base_scheme {
            "sqlite" => {
                let url = format!("sqlite://{rest}");
                let url = if rest.contains('?') {
                    url
                } else {
                    format!("{url}?mode=rwc")
                };
                (Dialect::Sqlite, url)
            }
            "postgresql" | "postgres" => (Dialect::Postgres, format!("postgres://{rest}")),
            "mysql" => (Dialect::MySql, format!("mysql://{rest}")),
            _ => {
                return Err(failed(format!(
                    "`{connection_string}` is not an SQL connection string"
                )));
            }
        };
        install_default_drivers();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("osprof-sql")
            .enable_all()
            .build()
            .map_err(|error| failed(format!("cannot start the SQL client's thread: {error}")))?;
        let pool = {
            // A lazy pool still needs the runtime to exist for its background work.
            let _runtime = runtime.enter();
            AnyPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(options.socket_timeout)
                .connect_lazy(&url)
        }
        .map_err(|error| failed(format!("cannot use {}: {error}", redact(connection_string))))?;
        Ok(SqlStorage {
            dialect,
            runtime,
            pool,
            connection_string: redact(connection_string),
            project: column(options.project.clone()),
            service: column(options.service.clone()),
            lines: LineWriter::new(options),
            full_insert: insert_sql(dialect, ROWS_PER_INSERT),
            pending: Mutex::new(RetryQueue::new(options.retry_capacity)),
            socket_timeout: options.socket_timeout,
            table_ready: AtomicBool::new(false),
        })
    }

    /// A connection from the pool, with the `data` table made sure of, before `deadline`.
    async fn connection(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<Result<PoolConnection<Any>, sqlx::Error>, tokio::time::error::Elapsed> {
        tokio::time::timeout_at(deadline, async {
            let mut connection = self.pool.acquire().await?;
            if !self.table_ready.load(Ordering::Relaxed) {
                for statement in create_table(self.dialect) {
                    sqlx::query(statement).execute(&mut *connection).await?;
                }
                self.table_ready.store(true, Ordering::Relaxed);
            }
            Ok(connection)
        })
        .await
    }

    fn create(connection_string: &str, options: &DriverOptions) -> Result<Arc<dyn Driver>, Error> {
        Ok(Arc::new(SqlStorage::open(connection_string, options)?))
    }

    /// Queues the row of one payload, given as its JSON text.
    fn hold(&self, json: &str, pending: &mut RetryQueue<Row9>) {
        // A payload without some field has that column empty, as in OSProfiler.
        let columns = serde_json::from_str::<Columns<'_>>(json).unwrap_or_default();
        let mut data = String::with_capacity(json.len() + 48);
        self.lines.push(&mut data, json);
        // The indexed columns are VARCHAR(255), as in OSProfiler; `data` keeps every value whole.
        pending.push(Row9 {
            timestamp: columns.timestamp.replace('T', " "),
            base_id: column(columns.base_id.into_owned()),
            parent_id: column(columns.parent_id.into_owned()),
            trace_id: column(columns.trace_id.into_owned()),
            host: column(columns.info.host.unwrap_or_default().into_owned()),
            name: column(columns.name.into_owned()),
            data,
        });
    }

    /// Writes what is pending, each attempt within one socket timeout as a whole
    /// (connecting included; see [`Attempt`]); stops at the first failure, keeping the rest.
    /// After a failure the next attempt waits a moment, unless `now` (a flush) asks for one
    /// at once.
    fn write_pending(&self, now: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if !pending.due(now) {
            return;
        }
        let mut attempt = Attempt::new(self.socket_timeout, now);
        while !pending.items().is_empty() {
            let Some(deadline) = attempt.next_batch(&pending) else {
                return;
            };
            let deadline = tokio::time::Instant::from_std(deadline);
            let count = pending.items().len().min(ROWS_PER_INSERT);
            let rows = pending.items().iter().take(count);
            let written = self
                .runtime
                .block_on(async { self.insert(rows, deadline).await });
            match written {
                Ok(Ok(())) => pending.written(count),
                // The server refused the rows' content: store them one by one, so that only
                // those it cannot hold are lost (counted as failed), never the rest.
                Ok(Err(error)) if refused_for_content(&error) => {
                    if !self.write_one_by_one(&mut pending, count, deadline) {
                        return;
                    }
                }
                Ok(Err(error)) => return pending.failed("sql", &error),
                Err(_) => return pending.failed("sql", &"timed out"),
            }
        }
    }

    /// Writes the `count` oldest pending rows one at a time before `deadline`; a row the
    /// server refuses is dropped and counted as failed. False when the server stopped
    /// answering.
    fn write_one_by_one(
        &self,
        pending: &mut RetryQueue<Row9>,
        count: usize,
        deadline: tokio::time::Instant,
    ) -> bool {
        for _ in 0..count {
            let Some(row) = pending.items().front().cloned() else {
                break;
            };
            let written = self
                .runtime
                .block_on(async { self.insert(std::iter::once(&row), deadline).await });
            match written {
                Ok(Ok(())) => pending.written(1),
                Ok(Err(error)) if refused_for_content(&error) => pending.rejected("sql", &error),
                Ok(Err(error)) => {
                    pending.failed("sql", &error);
                    return false;
                }
                Err(_) => {
                    pending.failed("sql", &"timed out");
                    return false;
                }
            }
        }
        true
    }

    /// Inserts `rows` in one transaction before `deadline`: `Err` when it ran out, else
    /// what the server said.
    async fn insert<'a>(
        &self,
        rows: impl ExactSizeIterator<Item = &'a Row9>,
        deadline: tokio::time::Instant,
    ) -> Result<Result<(), sqlx::Error>, tokio::time::error::Elapsed> {
        let sql = if rows.len() == ROWS_PER_INSERT {
            self.full_insert.clone()
        } else {
            insert_sql(self.dialect, rows.len())
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in rows {
            query = query
                .bind(row.timestamp.as_str())
                .bind(row.base_id.as_str())
                .bind(row.parent_id.as_str())
                .bind(row.trace_id.as_str())
                .bind(self.project.as_str())
                .bind(row.host.as_str())
                .bind(self.service.as_str())
                .bind(row.name.as_str())
                .bind(row.data.as_str());
        }
        let mut connection = match self.connection(deadline).await? {
            Ok(connection) => connection,
            Err(error) => return Ok(Err(error)),
        };
        let written = tokio::time::timeout_at(deadline, async {
            let mut transaction = sqlx::Connection::begin(&mut *connection).await?;
            query.execute(&mut *transaction).await?;
            transaction.commit().await
        })
        .await;
        if written.is_err() {
            // Out of step with the server: closed, so that the transaction it may have left
            // open there is rolled back, not committed by the next attempt's statements.
            connection.close_on_drop();
        }
        written
    }

    /// The payloads selected by `sql` (one text column, `data`), with `argument` bound:
    /// connecting within the socket timeout, the rows within [`READ_TIMEOUT`].
    fn select(&self, sql: &str, argument: Option<&str>) -> Result<Vec<Value>, Error> {
        let failed = |reason: String| Error::Driver {
            driver: "sql",
            message: format!(
                "cannot read traces from {}: {reason}",
                self.connection_string
            ),
        };
        let rows = self.runtime.block_on(async {
            let connect_by = tokio::time::Instant::now() + self.socket_timeout;
            let mut connection = match self.connection(connect_by).await {
                Ok(Ok(connection)) => connection,
                // The pool's own wait is the socket timeout too: either may end first.
                Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
                    return Err(failed(format!(
                        "no connection within the socket timeout ({:?})",
                        self.socket_timeout
                    )));
                }
                Ok(Err(error)) => return Err(failed(error.to_string())),
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            if let Some(argument) = argument {
                query = query.bind(argument.to_owned());
            }
            match tokio::time::timeout(READ_TIMEOUT, query.fetch_all(&mut *connection)).await {
                Ok(rows) => rows.map_err(|error| failed(error.to_string())),
                Err(_) => {
                    connection.close_on_drop();
                    Err(failed(format!(
                        "the server sent no rows within {READ_TIMEOUT:?}"
                    )))
                }
            }
        })?;
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<String, _>(0).ok())
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect())
    }

    fn placeholder(&self) -> &'static str {
        if self.dialect == Dialect::Postgres {
            "$1"
        } else {
            "?"
        }
    }
}

/// The statements that create the `data` table and its indexes if missing.
/// Whether the server refused a write for what it holds (SQLSTATE class 22, data exception:
/// a value too long, not a time; or 23, a constraint), rather than for being unable to
/// write now (a lost connection, a server shutting down, a deadlock), which is retried.
fn refused_for_content(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error
        .code()
        .is_some_and(|code| code.starts_with("22") || code.starts_with("23"))
}

/// The longest value of an indexed column, in characters (`VARCHAR(255)`).
const MAX_COLUMN_CHARS: usize = 255;

/// `value` cut to fit an indexed column, its end marked with `…` when cut.
/// `INSERT INTO data (...) VALUES (...), ...` for `rows` rows, with placeholders.
fn insert_sql(dialect: Dialect, rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::from(
        "INSERT INTO data (timestamp, base_id, parent_id, trace_id, project, host, service, name, data) VALUES ",
    );
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..9 {
            n += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            // Writing to a `String` cannot fail.
            let _ = match (dialect, column) {
                (Dialect::Postgres, 0) => write!(sql, "CAST(${n} AS TIMESTAMP)"),
                (Dialect::Postgres, _) => write!(sql, "${n}"),
                (Dialect::MySql, 0) => write!(sql, "CAST(? AS DATETIME(6))"),
                _ => write!(sql, "?"),
            };
        }
        sql.push(')');
    }
    sql
}

/// The columns of a payload's JSON text that the table indexes.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Columns<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    base_id: Cow<'a, str>,
    #[serde(borrow)]
    trace_id: Cow<'a, str>,
    #[serde(borrow)]
    parent_id: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    info: HostInfo<'a>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct HostInfo<'a> {
    #[serde(borrow)]
    host: Option<Cow<'a, str>>,
}

fn column(value: String) -> String {
    match value.char_indices().nth(MAX_COLUMN_CHARS) {
        None => value,
        Some(_) => {
            let kept: String = value.chars().take(MAX_COLUMN_CHARS - 1).collect();
            kept + "…"
        }
    }
}

fn create_table(dialect: Dialect) -> Vec<&'static str> {
    let table = match dialect {
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS data (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT, base_id VARCHAR(255), parent_id VARCHAR(255), trace_id VARCHAR(255), project VARCHAR(255), host VARCHAR(255), service VARCHAR(255), name VARCHAR(255), data TEXT)"
        }
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS data (id SERIAL PRIMARY KEY, timestamp TIMESTAMP, base_id VARCHAR(255), parent_id VARCHAR(255), trace_id VARCHAR(255), project VARCHAR(255), host VARCHAR(255), service VARCHAR(255), name VARCHAR(255), data TEXT)"
        }
        Dialect::MySql => {
            "CREATE TABLE IF NOT EXISTS data (id INTEGER PRIMARY KEY AUTO_INCREMENT, timestamp DATETIME(6), base_id VARCHAR(255), parent_id VARCHAR(255), trace_id VARCHAR(255), project VARCHAR(255), host VARCHAR(255), service VARCHAR(255), name VARCHAR(255), data TEXT, INDEX ix_data_base_id (base_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        }
    };
    match dialect {
        Dialect::MySql => vec![table],
        _ => vec![
            table,
            "CREATE INDEX IF NOT EXISTS ix_data_base_id ON data (base_id)",
        ],
    }
}

/// A connection string without its password, for messages.
fn redact(connection_string: &str) -> String {
    match (connection_string.find("://"), connection_string.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &connection_string[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    &connection_string[..scheme_end + 3],
                    &connection_string[at..]
                ),
                None => connection_string.to_owned(),
            }
        }
        _ => connection_string.to_owned(),
    }
}

impl Driver for SqlStorage {
    fn notify(&self, payload: &Value) -> Result<(), Error> {
        self.hold(
            &payload.to_string(),
            &mut self.pending.lock().unwrap_or_else(PoisonError::into_inner),
        );
        self.write_pending(false);
        Ok(())
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(json) = batch.next_json() {
                self.hold(json, &mut pending);
            }
        }
        self.write_pending(false);
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        self.write_pending(true);
        Ok(())
    }

    fn get_report(&self, base_id: &str) -> Result<osprof_core::report::Report, Error> {
        let sql = format!(
            "SELECT data FROM data WHERE base_id = {} ORDER BY id",
            self.placeholder()
        );
        Ok(osprof_core::report::build(
            self.select(&sql, Some(base_id))?,
        ))
    }

    fn list_traces(&self, fields: &[&str]) -> Result<Vec<Value>, Error> {
        let fields = if fields.is_empty() {
            &["base_id", "timestamp"][..]
        } else {
            fields
        };
        let mut first = self.select(
            "SELECT data FROM data WHERE id IN (SELECT MIN(id) FROM data GROUP BY base_id)",
            None,
        )?;
        first.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
        Ok(first
            .iter()
            .map(|event| osprof_core::drivers::only(event, fields))
            .collect())
    }

    fn list_error_traces(&self) -> Result<Vec<Value>, Error> {
        let mut seen = std::collections::HashSet::new();
        let mut errors: Vec<Value> = self
            .select(
                "SELECT data FROM data WHERE data LIKE '%\"etype\"%' ORDER BY id",
                None,
            )?
            .into_iter()
            .filter(|event| {
                event["info"]
                    .get("etype")
                    .is_some_and(|etype| !etype.is_null())
            })
            .filter(|event| seen.insert(event["base_id"].as_str().unwrap_or_default().to_owned()))
            .map(|event| osprof_core::drivers::only(&event, &["base_id", "timestamp"]))
            .collect();
        errors.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
        Ok(errors)
    }

    fn holds_events(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "sql"
    }
}

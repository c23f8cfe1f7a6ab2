//! osprof for Redis: every command a service sends through a wrapped connection of the
//! [`redis`] crate is a `redis` span of the current trace.
//!
//! [`TracedConnection`] wraps any async connection (`MultiplexedConnection`,
//! `ConnectionManager`, any [`redis::aio::ConnectionLike`]) or the sync
//! [`redis::Connection`], and is itself a connection of the same kind, so
//! `redis::cmd(..).query_async(&mut conn)`, the `AsyncCommands` methods and pipelines work
//! unchanged. Each command is a span with `info.redis = {command, key, db, host, port}` (the
//! first key only); a pipeline is one span with `commands` (how many) and `names`. Arguments
//! and replies hold secrets: they are recorded only on a connection made with
//! [`TracedConnection::record_args`]. A failed command, and a connection that cannot be made
//! ([`connect`]), stop their span with `etype` (the error's type and kind: the server's
//! error code, e.g. `redis::errors::redis_error::RedisError::WRONGTYPE`, else the client's
//! kind, e.g. `...::Io`) and `message`.
//!
//! Commands are traced only while a trace is active and [`osprof_core::config::trace_redis`]
//! is on (the `trace_redis` option, applied by `init_from_conf`; a connection you wrapped
//! traces until a configuration says otherwise); otherwise they go to the inner connection
//! untouched.
//!
//! ```no_run
//! use redis::AsyncCommands;
//!
//! # async fn run() -> redis::RedisResult<()> {
//! let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
//! let mut conn = osprof_redis::connect(&client).await?;
//! osprof_core::init("SECRET_KEY", None, None);
//! let _: () = conn.set("quota:tenant-1", 10).await?;          // a `redis` span: SET quota:tenant-1
//! let left: i64 = conn.decr("quota:tenant-1", 1).await?;     // and DECR
//! let (a, b): (i64, i64) = redis::pipe().get("a").get("b").query_async(&mut conn).await?;
//! osprof_core::clean();
//! # let _ = (left, a, b); Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod summary;

use std::sync::Arc;

use osprof_core::{FutureExt, PollSpan};
use redis::{Cmd, ConnectionAddr, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use serde_json::{Map, json};

use summary::{Command, reply_json};

/// Where a connection goes: the `db`, `host` and `port` of each span's `info.redis`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// The host name, or the socket's path for a Unix socket.
    pub host: String,
    /// The TCP port; `None` for a Unix socket.
    pub port: Option<u16>,
    /// The database number.
    pub db: i64,
}

impl Address {
    /// The address `client` connects to.
    ///
    /// ```
    /// let client = redis::Client::open("redis://cache.example:6380/2").unwrap();
    /// let address = osprof_redis::Address::of(&client);
    /// assert_eq!((address.host.as_str(), address.port, address.db), ("cache.example", Some(6380), 2));
    /// ```
    pub fn of(client: &redis::Client) -> Address {
        let info = client.get_connection_info();
        let (host, port) = match info.addr() {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                (host.clone(), Some(*port))
            }
            ConnectionAddr::Unix(path) => (path.display().to_string(), None),
            other => (other.to_string(), None),
        };
        Address {
            host,
            port,
            db: info.redis_settings().db(),
        }
    }
}

/// A Redis connection whose commands are `redis` spans of the current trace (see the
/// crate's docs). It is a connection of the kind it wraps: async
/// ([`redis::aio::ConnectionLike`]) or sync ([`redis::ConnectionLike`]).
///
/// ```no_run
/// # fn run() -> redis::RedisResult<()> {
/// let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
/// let mut conn = osprof_redis::TracedConnection::new(client.get_connection()?, osprof_redis::Address::of(&client));
/// let pong: String = redis::cmd("PING").query(&mut conn)?;
/// # let _ = pong; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TracedConnection<C> {
    inner: C,
    address: Arc<Address>,
    record_args: bool,
}

impl<C> TracedConnection<C> {
    /// Wraps `inner`, a connection to `address`.
    pub fn new(inner: C, address: Address) -> TracedConnection<C> {
        TracedConnection {
            inner,
            address: Arc::new(address),
            record_args: false,
        }
    }

    /// Also records each command's arguments (`info.redis.args`) and its reply
    /// (`info.redis.reply` in the stop), as text cut to 256 characters, lists to 16 items:
    /// only where they hold no secret.
    ///
    /// ```no_run
    /// # async fn run() -> redis::RedisResult<()> {
    /// let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
    /// let conn = osprof_redis::connect(&client).await?.record_args(true);
    /// # let _ = conn; Ok(()) }
    /// ```
    pub fn record_args(mut self, record: bool) -> TracedConnection<C> {
        self.record_args = record;
        self
    }

    /// The wrapped connection.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The wrapped connection, unwrapped.
    pub fn into_inner(self) -> C {
        self.inner
    }

    /// Whether the next command is a span.
    fn tracing(&self) -> bool {
        osprof_core::config::trace_redis() && osprof_core::is_active()
    }

    /// The start info of a span for `command`.
    fn start_info(&self, mut command: Map<String, serde_json::Value>) -> serde_json::Value {
        command.insert("db".into(), self.address.db.into());
        command.insert("host".into(), self.address.host.as_str().into());
        command.insert("port".into(), self.address.port.into());
        json!({ "redis": command })
    }
}

/// What a command's result is made of: one reply, or a pipeline's.
trait Replies {
    /// The first error the server answered with; connections hand it back as a reply,
    /// which `query` turns into an `Err` later.
    fn server_error(&self) -> Option<RedisError>;
    fn to_json(&self) -> serde_json::Value;
}

impl Replies for Value {
    fn server_error(&self) -> Option<RedisError> {
        match self {
            Value::ServerError(error) => Some(error.clone().into()),
            _ => None,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        reply_json(self)
    }
}

impl Replies for Vec<Value> {
    fn server_error(&self) -> Option<RedisError> {
        self.iter().find_map(Replies::server_error)
    }

    fn to_json(&self) -> serde_json::Value {
        self.iter().map(reply_json).collect::<Vec<_>>().into()
    }
}

/// The stop info of a command that ended with `result`: the error (from the client or the
/// server), with the reply when arguments are recorded.
fn stop_info(result: &RedisResult<impl Replies>, record_args: bool) -> Option<serde_json::Value> {
    let replies = match result {
        Err(error) => return Some(error_info(error)),
        Ok(replies) => replies,
    };
    let mut info = replies.server_error().map(|error| error_info(&error));
    if record_args {
        info.get_or_insert_with(|| json!({}))["redis"] = json!({"reply": replies.to_json()});
    }
    info
}

/// The stop info of a failed command: `etype`, the error type's path and its kind (the
/// server's error code, such as `WRONGTYPE`, when the server refused the command; else the
/// client's kind, such as `Io`), and `message`.
fn error_info(error: &RedisError) -> serde_json::Value {
    let kind = match error.code() {
        Some(code) => code.to_owned(),
        None => format!("{:?}", error.kind()),
    };
    json!({
        "etype": format!("{}::{kind}", std::any::type_name::<RedisError>()),
        "message": error.to_string(),
    })
}

impl<C: redis::aio::ConnectionLike + Send> redis::aio::ConnectionLike for TracedConnection<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        if !self.tracing() {
            return self.inner.req_packed_command(cmd);
        }
        let info = self.start_info(Command::of_cmd(cmd).info(self.record_args));
        let record_args = self.record_args;
        let future = self.inner.req_packed_command(cmd);
        Box::pin(future.traced_with("redis", Some(info), move |result| {
            stop_info(result, record_args)
        }))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        if !self.tracing() {
            return self.inner.req_packed_commands(pipeline, offset, count);
        }
        let commands: Vec<Command> = pipeline.cmd_iter().map(Command::of_cmd).collect();
        let info = self.start_info(Command::pipeline_info(&commands, self.record_args));
        let record_args = self.record_args;
        let future = self.inner.req_packed_commands(pipeline, offset, count);
        Box::pin(future.traced_with("redis", Some(info), move |result| {
            stop_info(result, record_args)
        }))
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

impl<C: redis::ConnectionLike> redis::ConnectionLike for TracedConnection<C> {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        if !self.tracing() {
            return self.inner.req_packed_command(cmd);
        }
        let commands = Command::parse_packed(cmd);
        let info = match commands.as_slice() {
            [command] => command.info(self.record_args),
            commands => Command::pipeline_info(commands, self.record_args),
        };
        let mut span = PollSpan::new("redis", Some(self.start_info(info)));
        let result = span.in_scope(|| self.inner.req_packed_command(cmd));
        span.finish(stop_info(&result, self.record_args));
        result
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        if !self.tracing() {
            return self.inner.req_packed_commands(cmd, offset, count);
        }
        let commands = Command::parse_packed(cmd);
        let info = self.start_info(Command::pipeline_info(&commands, self.record_args));
        let mut span = PollSpan::new("redis", Some(info));
        let result = span.in_scope(|| self.inner.req_packed_commands(cmd, offset, count));
        span.finish(stop_info(&result, self.record_args));
        result
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        if !self.tracing() {
            return self.inner.req_command(cmd);
        }
        let info = self.start_info(Command::of_cmd(cmd).info(self.record_args));
        let mut span = PollSpan::new("redis", Some(info));
        let result = span.in_scope(|| self.inner.req_command(cmd));
        span.finish(stop_info(&result, self.record_args));
        result
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn supports_pipelining(&self) -> bool {
        self.inner.supports_pipelining()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        self.inner.is_open()
    }
}

/// The start info of making a connection.
fn connect_info(address: &Address) -> serde_json::Value {
    json!({"redis": {"command": "CONNECT", "key": null, "db": address.db, "host": address.host, "port": address.port}})
}

/// Opens a multiplexed async connection to `client`'s server, traced; inside a trace the
/// attempt is itself a `redis` span (`command: "CONNECT"`), stopped with the error when the
/// server cannot be reached.
///
/// ```no_run
/// # async fn run() -> redis::RedisResult<()> {
/// let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
/// let mut conn = osprof_redis::connect(&client).await?;
/// let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
/// # let _ = pong; Ok(()) }
/// ```
///
/// # Errors
/// The connection could not be made.
pub async fn connect(
    client: &redis::Client,
) -> RedisResult<TracedConnection<redis::aio::MultiplexedConnection>> {
    traced_connect(client, client.get_multiplexed_async_connection()).await
}

/// Makes a connection with `connecting`, inside a `CONNECT` span when traced.
async fn traced_connect<C>(
    client: &redis::Client,
    connecting: impl Future<Output = RedisResult<C>>,
) -> RedisResult<TracedConnection<C>> {
    let address = Address::of(client);
    let inner = if osprof_core::config::trace_redis() && osprof_core::is_active() {
        connecting
            .traced_with("redis", Some(connect_info(&address)), |result| {
                result.as_ref().err().map(error_info)
            })
            .await?
    } else {
        connecting.await?
    };
    Ok(TracedConnection::new(inner, address))
}

/// A [`redis::aio::ConnectionManager`] (which reconnects by itself) to `client`'s server,
/// traced as [`connect`] is.
///
/// # Errors
/// The first connection could not be made.
pub async fn connection_manager(
    client: &redis::Client,
) -> RedisResult<TracedConnection<redis::aio::ConnectionManager>> {
    traced_connect(client, redis::aio::ConnectionManager::new(client.clone())).await
}

/// A sync connection to `client`'s server, traced as [`connect`] is.
///
/// ```no_run
/// # fn run() -> redis::RedisResult<()> {
/// let client = redis::Client::open("redis://127.0.0.1:6379/0")?;
/// let mut conn = osprof_redis::connect_sync(&client)?;
/// let pong: String = redis::cmd("PING").query(&mut conn)?;
/// # let _ = pong; Ok(()) }
/// ```
///
/// # Errors
/// The connection could not be made.
pub fn connect_sync(client: &redis::Client) -> RedisResult<TracedConnection<redis::Connection>> {
    let address = Address::of(client);
    let result = if osprof_core::config::trace_redis() && osprof_core::is_active() {
        let mut span = PollSpan::new("redis", Some(connect_info(&address)));
        let result = span.in_scope(|| client.get_connection());
        span.finish(result.as_ref().err().map(error_info));
        result
    } else {
        client.get_connection()
    };
    Ok(TracedConnection::new(result?, address))
}

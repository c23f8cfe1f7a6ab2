//! `redis://`: OSProfiler's Redis layout, so that its Python tools read what osprof writes.
//!
//! Each event is `LPUSH osprofiler_opt:<base_id> <event json>`; with `filter_error_trace`,
//! an event with `info.etype` also sets `osprofiler_error:<base_id>` to `{"base_id",
//! "timestamp"}`. Reading also finds OSProfiler's legacy `osprofiler:<base_id>*` keys.

mod pipe;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::{Client, Commands, Connection};
use serde_json::{Value, json};

use self::pipe::Pipe;
use super::retry::{Attempt, RetryQueue};
use super::{DriverOptions, LineWriter, first_of_each_trace, only};
use crate::Error;
use crate::notifier::{Batch, Driver};

const EVENTS: &str = "osprofiler_opt:";
const LEGACY_EVENTS: &str = "osprofiler:";
const ERRORS: &str = "osprofiler_error:";
/// Commands per pipeline: large enough to amortise round trips, small enough to bound the
/// memory of one request.
const PIPELINE_LEN: usize = 4096;
/// How long each reply of a read (a report, a list) may take, once the server has answered.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One command to send: `LPUSH key line`, or `SET key line` for the error index.
#[derive(Debug)]
struct Write {
    lpush: bool,
    /// Shared by the writes of one trace.
    key: Arc<str>,
    line: String,
}

/// Stores events in Redis with OSProfiler's layout, pipelined per batch; reads traces back.
///
/// Writes never block a traced thread (they run on the delivery thread). While Redis is
/// away, events are held (up to `DriverOptions::retry_capacity`) and written after it
/// returns; beyond that they are dropped and counted in `notifier::stats().dropped`, with
/// one `tracing` warning per outage.
///
/// ```
/// use osprof_core::drivers::{DriverOptions, RedisDriver};
///
/// // Checks the URL only; the server is reached on first use.
/// let driver = RedisDriver::open("redis://127.0.0.1:6379/0", &DriverOptions::new("nova", "api")).unwrap();
/// osprof_core::notifier::set(driver);
/// ```
pub struct RedisDriver {
    server: Server,
    connection: Mutex<Option<Pipe>>,
    pending: Mutex<RetryQueue<Write>>,
    lines: LineWriter,
    filter_error_trace: bool,
    socket_timeout: Duration,
}

impl RedisDriver {
    /// A driver for `redis://[:password@]host[:port][/db]`, or for
    /// `redissentinel://host:port[,host:port...]`: the Sentinels are asked for the master of
    /// `DriverOptions::sentinel_service_name` at each (re)connection, so a failover is
    /// followed. Only the URL is checked here: the connection is made on first use and again
    /// after any failure.
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, RedisDriver};
    ///
    /// let options = DriverOptions::default();
    /// assert!(RedisDriver::open("redissentinel://10.0.0.1:26379,10.0.0.2:26379", &options).is_ok());
    /// let error = RedisDriver::open("redis://127.0.0.1:notaport", &options).unwrap_err();
    /// assert!(error.to_string().contains("redis"), "{error}");
    /// ```
    pub fn open(connection_string: &str, options: &DriverOptions) -> Result<RedisDriver, Error> {
        let server = match connection_string.strip_prefix("redissentinel://") {
            Some(sentinels) => {
                let sentinels = sentinels
                    .split(',')
                    .map(|address| Client::open(format!("redis://{}", address.trim_end_matches('/'))))
                    .collect::<Result<Vec<_>, _>>()
                    .ok()
                    .filter(|sentinels| !sentinels.is_empty())
                    .ok_or_else(|| Error::Driver {
                        driver: "redis",
                        message: format!(
                            "`{connection_string}` names no Sentinel; write redissentinel://host:26379[,host:26379]"
                        ),
                    })?;
                Server::Sentinel {
                    sentinels,
                    service_name: options.sentinel_service_name.clone(),
                }
            }
            None => Server::Direct(Client::open(connection_string).map_err(|error| Error::Driver {
                driver: "redis",
                message: format!(
                    "`{connection_string}` is not a Redis URL ({error}); write redis://[:password@]host[:port][/db]"
                ),
            })?),
        };
        Ok(RedisDriver {
            server,
            connection: Mutex::new(None),
            pending: Mutex::new(RetryQueue::new(options.retry_capacity)),
            lines: LineWriter::new(options),
            filter_error_trace: options.filter_error_trace,
            socket_timeout: options.socket_timeout,
        })
    }

    pub(crate) fn create(
        connection_string: &str,
        options: &DriverOptions,
    ) -> Result<Arc<dyn Driver>, Error> {
        Ok(Arc::new(RedisDriver::open(connection_string, options)?))
    }

    /// A connection for writing, made before `deadline`.
    fn connect(&self, deadline: Instant) -> Result<Pipe, String> {
        let client = self
            .server
            .client(deadline)
            .map_err(|error| error.to_string())?;
        Pipe::connect(client.get_connection_info(), deadline).map_err(|error| error.to_string())
    }

    /// The writes for one payload's JSON text.
    fn writes_for(&self, json: &str, out: &mut RetryQueue<Write>) {
        let mut line = String::with_capacity(json.len() + 48);
        self.lines.push(&mut line, json);
        let Some(base_id) = base_id_of(json) else {
            // Not an osprof payload: nowhere to store it.
            return crate::delivery::count_failed(1);
        };
        let error_index = if self.filter_error_trace && json.contains("\"etype\"") {
            serde_json::from_str::<Value>(json).ok().filter(|event| {
                event
                    .get("info")
                    .and_then(|info| info.get("etype"))
                    .is_some_and(|etype| !etype.is_null())
            })
        } else {
            None
        };
        let key = match out.items().back() {
            Some(last) if last.lpush && last.key.strip_prefix(EVENTS) == Some(base_id) => {
                last.key.clone()
            }
            _ => Arc::from(format!("{EVENTS}{base_id}")),
        };
        out.push(Write {
            lpush: true,
            key,
            line,
        });
        if let Some(event) = error_index {
            // An index entry, not an event of its own: it counts for nothing in the stats.
            out.push_events(
                Write {
                    lpush: false,
                    key: Arc::from(format!("{ERRORS}{base_id}")),
                    line: json!({"base_id": base_id, "timestamp": event["timestamp"]}).to_string(),
                },
                0,
            );
        }
    }

    /// Writes what is pending, in pipelines, each attempt within one socket timeout as a
    /// whole (connecting included; see [`Attempt`]); stops at the first failure, keeping the
    /// rest. After a failure the next attempt waits a moment, unless `now` (a flush) asks for
    /// one at once.
    fn write_pending(&self, now: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if !pending.due(now) {
            return;
        }
        let mut attempt = Attempt::new(self.socket_timeout, now);
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut replies = Vec::new();
        while !pending.items().is_empty() {
            let Some(deadline) = attempt.next_batch(&pending) else {
                return;
            };
            let pipe = match slot.as_mut() {
                Some(pipe) => pipe,
                None => match self.connect(deadline) {
                    Ok(pipe) => slot.insert(pipe),
                    Err(error) => return pending.failed("redis", &error),
                },
            };
            // Consecutive events of one trace go in one `LPUSH key event...`: Redis takes a
            // list of values in one command many times faster than one command per value,
            // and pushes them in the same order.
            let mut commands: Vec<Vec<&[u8]>> = Vec::new();
            for write in pending.items().iter().take(PIPELINE_LEN) {
                match commands.last_mut() {
                    Some(last)
                        if write.lpush
                            && last[0] == b"LPUSH"
                            && last[1] == write.key.as_bytes() =>
                    {
                        last.push(write.line.as_bytes());
                    }
                    _ => {
                        let command: &[u8] = if write.lpush { b"LPUSH" } else { b"SET" };
                        commands.push(vec![command, write.key.as_bytes(), write.line.as_bytes()]);
                    }
                }
            }
            let sizes: Vec<usize> = commands.iter().map(|command| command.len() - 2).collect();
            replies.clear();
            let sent = pipe.exec(commands.iter().map(Vec::as_slice), deadline, &mut replies);
            drop(commands);
            for (reply, size) in replies.drain(..).zip(sizes) {
                match reply {
                    Ok(()) => pending.written(size),
                    // The values cannot be stored there (a key of another type): never will.
                    Err(error) if error.starts_with("WRONGTYPE") || error.starts_with("ERR") => {
                        for _ in 0..size {
                            pending.rejected("redis", &error);
                        }
                    }
                    // The server cannot store now (loading, read-only replica, out of memory).
                    Err(error) => {
                        *slot = None;
                        return pending.failed("redis", &error);
                    }
                }
            }
            if let Err(error) = sent {
                // Replies may still be on their way: this connection is out of step.
                *slot = None;
                return pending.failed("redis", &error);
            }
        }
    }

    /// A connection for reading: connected, and answering a `PING`, within the socket
    /// timeout (so that a server that hangs fails the read at once); each reply after that
    /// may take up to [`READ_TIMEOUT`].
    fn reader(&self) -> Result<Connection, Error> {
        let deadline = Instant::now() + self.socket_timeout;
        let connection = self.server.client(deadline).and_then(|client| {
            // The client's own greeting (AUTH, SELECT, `CLIENT SETINFO`) would wait the whole
            // timeout once per reply from a server that never answers: the reader greets
            // the server itself, each command within what is left of the timeout.
            let info = client.get_connection_info().clone();
            let wanted = info.redis_settings().clone();
            let bare = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
            let mut connection = Client::open(info.set_redis_settings(bare))?
                .get_connection_with_timeout(time_left(deadline))?;
            if let Some(password) = wanted.password() {
                let mut auth = redis::cmd("AUTH");
                if let Some(username) = wanted.username() {
                    auth.arg(username);
                }
                greet(&mut connection, auth.arg(password), deadline)?;
            }
            if wanted.db() != 0 {
                greet(
                    &mut connection,
                    redis::cmd("SELECT").arg(wanted.db()),
                    deadline,
                )?;
            }
            greet(&mut connection, &redis::cmd("PING"), deadline)?;
            connection.set_read_timeout(Some(READ_TIMEOUT))?;
            connection.set_write_timeout(Some(READ_TIMEOUT))?;
            Ok(connection)
        });
        connection.map_err(|error| {
            let reason = if error.is_timeout() {
                format!(
                    "the server did not answer within the socket timeout ({:?})",
                    self.socket_timeout
                )
            } else {
                error.to_string()
            };
            read_error(reason)
        })
    }
}

/// What is left until `deadline`, at least 1 ms: a zero timeout means none to a socket.
fn time_left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

/// Sends one command of a reader's greeting and waits for its reply until `deadline`.
fn greet(
    connection: &mut Connection,
    command: &redis::Cmd,
    deadline: Instant,
) -> redis::RedisResult<()> {
    connection.set_read_timeout(Some(time_left(deadline)))?;
    connection.set_write_timeout(Some(time_left(deadline)))?;
    command.query::<()>(connection)
}

/// The Redis server to write to: named, or found through Sentinel.
enum Server {
    Direct(Client),
    Sentinel {
        sentinels: Vec<Client>,
        service_name: String,
    },
}

impl Server {
    /// A client for the server; for Sentinel, the current master's, from the first
    /// Sentinel that answers before `deadline`.
    fn client(&self, deadline: Instant) -> redis::RedisResult<Client> {
        let left = || {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "no Sentinel answered within the socket timeout",
                )))
            } else {
                Ok(left)
            }
        };
        match self {
            Server::Direct(client) => Ok(client.clone()),
            Server::Sentinel {
                sentinels,
                service_name,
            } => {
                let mut last_error = None;
                for sentinel in sentinels {
                    let master = left()
                        .and_then(|timeout| sentinel.get_connection_with_timeout(timeout))
                        .and_then(|mut connection| {
                            connection.set_read_timeout(Some(left()?))?;
                            redis::cmd("SENTINEL")
                                .arg("get-master-addr-by-name")
                                .arg(service_name)
                                .query::<Option<(String, u16)>>(&mut connection)
                        });
                    match master {
                        Ok(Some((host, port))) => {
                            return Client::open(format!("redis://{host}:{port}"));
                        }
                        Ok(None) => {
                            last_error = Some(redis::RedisError::from((
                                redis::ErrorKind::Client,
                                "Sentinel knows no master by this name",
                                service_name.clone(),
                            )));
                        }
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(last_error.unwrap_or_else(|| (redis::ErrorKind::Client, "no Sentinel").into()))
            }
        }
    }
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver")
            .field("filter_error_trace", &self.filter_error_trace)
            .field("socket_timeout", &self.socket_timeout)
            .finish_non_exhaustive()
    }
}

fn read_error(error: impl std::fmt::Display) -> Error {
    Error::Driver {
        driver: "redis",
        message: format!("cannot read traces: {error}"),
    }
}

/// The `base_id` of a payload's JSON text: always its second key, written by osprof with
/// no escapes (ids are UUIDs or interned plain text).
fn base_id_of(json: &str) -> Option<&str> {
    const KEY: &str = ",\"base_id\":\"";
    // After the quote that ends the name, in osprof's own payloads: a few quotes in.
    let start = json
        .match_indices('"')
        .map(|(at, _)| at + 1)
        .find(|&at| json[at..].starts_with(KEY))
        .or_else(|| json.find(KEY))?
        + KEY.len();
    let len = json[start..].find('"')?;
    Some(&json[start..start + len])
}

fn keys(connection: &mut Connection, pattern: &str) -> Result<Vec<String>, Error> {
    let keys: redis::Iter<'_, String> = connection.scan_match(pattern).map_err(read_error)?;
    keys.collect::<Result<Vec<_>, _>>().map_err(read_error)
}

fn parse(texts: impl IntoIterator<Item = String>) -> impl Iterator<Item = Value> {
    texts
        .into_iter()
        .filter_map(|text| serde_json::from_str::<Value>(&text).ok())
        .filter(Value::is_object)
}

impl Driver for RedisDriver {
    fn notify(&self, payload: &Value) -> Result<(), Error> {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            self.writes_for(&payload.to_string(), &mut pending);
        }
        self.write_pending(false);
        Ok(())
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(json) = batch.next_json() {
                self.writes_for(json, &mut pending);
            }
        }
        self.write_pending(false);
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        self.write_pending(true);
        Ok(())
    }

    fn get_report(&self, base_id: &str) -> Result<crate::report::Report, Error> {
        let mut connection = self.reader()?;
        let mut texts = Vec::new();
        for key in keys(&mut connection, &format!("{LEGACY_EVENTS}{base_id}*"))? {
            let text: Option<String> = connection.get(&key).map_err(read_error)?;
            texts.extend(text);
        }
        let listed: Vec<String> = connection
            .lrange(format!("{EVENTS}{base_id}"), 0, -1)
            .map_err(read_error)?;
        texts.extend(listed);
        Ok(crate::report::build(parse(texts)))
    }

    fn list_traces(&self, fields: &[&str]) -> Result<Vec<Value>, Error> {
        let fields = if fields.is_empty() {
            &["base_id", "timestamp"][..]
        } else {
            fields
        };
        let mut connection = self.reader()?;
        let mut texts = Vec::new();
        for key in keys(&mut connection, &format!("{LEGACY_EVENTS}*"))? {
            let text: Option<String> = connection.get(&key).map_err(read_error)?;
            texts.extend(text);
        }
        for key in keys(&mut connection, &format!("{EVENTS}*"))? {
            // LPUSH puts the first event last.
            let text: Option<String> = connection.lindex(&key, -1).map_err(read_error)?;
            texts.extend(text);
        }
        Ok(first_of_each_trace(parse(texts))
            .iter()
            .map(|event| only(event, fields))
            .collect())
    }

    fn list_error_traces(&self) -> Result<Vec<Value>, Error> {
        let mut connection = self.reader()?;
        let mut texts = Vec::new();
        for key in keys(&mut connection, &format!("{ERRORS}*"))? {
            let text: Option<String> = connection.get(&key).map_err(read_error)?;
            texts.extend(text);
        }
        Ok(first_of_each_trace(parse(texts)))
    }

    fn holds_events(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "redis"
    }
}

#[cfg(test)]
mod tests {
    use super::base_id_of;

    #[test]
    fn the_base_id_is_found_wherever_it_is() {
        let ours = r#"{"name":"db-start","base_id":"b1","trace_id":"t"}"#;
        assert_eq!(base_id_of(ours), Some("b1"));
        let quoted_name = r#"{"name":"a\",\"base_id\":\"x","base_id":"b2"}"#;
        assert_eq!(base_id_of(quoted_name), Some("b2"));
        let after_a_number = r#"{"n":1,"base_id":"b3"}"#;
        assert_eq!(base_id_of(after_a_number), Some("b3"));
        assert_eq!(base_id_of(r#"{"name":"x"}"#), None);
    }
}

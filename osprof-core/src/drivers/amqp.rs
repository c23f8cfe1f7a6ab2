//! `messaging://` and `amqp://`: trace events as oslo.messaging notifications on RabbitMQ.
//!
//! OSProfiler's messaging driver sends each event through an oslo.messaging `Notifier` with
//! the `messaging` driver (message format 1.0, no envelope): a JSON message
//! `{message_id, publisher_id, event_type: "profiler.<service>", priority: "INFO", payload,
//! timestamp, _unique_id}` published to the topic exchange `openstack` with routing key
//! `profiler.info`, where a queue of the same name (declared as oslo.messaging declares it)
//! keeps it until a consumer (Ceilometer, `osprofiler trace show`) reads it.
//!
//! Reports are read back from that queue as OSProfiler's `trace show` reads them: every
//! message there and every one that arrives until no event of the trace came for the idle
//! timeout. Unlike OSProfiler, reading takes nothing away: each message goes back to the
//! queue, for the next reader or the real consumer.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::retry::{Attempt, RetryQueue};
use super::{DriverOptions, LineWriter};
use crate::Error;
use crate::notifier::{Batch, Driver};
use crate::report::Report;

/// oslo.messaging's default `control_exchange`.
const EXCHANGE: &str = "openstack";
/// OSProfiler's notification topic, at the `info` priority.
const ROUTING_KEY: &str = "profiler.info";
/// The broker `messaging://` means when no transport URL is configured.
const DEFAULT_BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// Messages published before waiting for the broker's confirmations, at most.
const CONFIRM_EVERY: usize = 2048;
/// Messages in the first confirm batch, before the broker's pace is known.
const FIRST_BATCH: usize = 256;

/// Publishes each event as an oslo.messaging notification (see the module docs), with
/// publisher confirms, from the delivery thread. While the broker is away, events are held
/// (up to `DriverOptions::retry_capacity`) and published after it returns; beyond that they
/// are dropped and counted in `notifier::stats().dropped`, with one `tracing` warning per
/// outage. [`Driver::get_report`] reads a trace from the queue (see the module docs).
///
/// ```
/// use osprof_core::drivers::{AmqpDriver, DriverOptions};
///
/// // Checks the URL only; the broker is reached on first use.
/// let driver = AmqpDriver::open("amqp://guest:guest@127.0.0.1:5672/%2f", &DriverOptions::new("nova", "api"))
///     .unwrap();
/// osprof_core::notifier::set(driver);
/// ```
pub struct AmqpDriver {
    broker: String,
    runtime: tokio::runtime::Runtime,
    channel: Mutex<Option<(Connection, Channel)>>,
    pending: Mutex<RetryQueue<String>>,
    lines: LineWriter,
    publisher_id: String,
    event_type: String,
    socket_timeout: Duration,
    /// Messages per confirm batch: what the broker confirms well within the timeout.
    batch_size: AtomicUsize,
    /// How long a report waits for more of its trace's events after the last one came.
    idle_timeout: Duration,
}

impl std::fmt::Debug for AmqpDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpDriver")
            .field("event_type", &self.event_type)
            .finish_non_exhaustive()
    }
}

impl AmqpDriver {
    /// A driver for `amqp://user:password@host:port/vhost`, or `messaging://` (the broker of
    /// `options.transport_url`, else of `OSPROF_TRANSPORT_URL`, given as `amqp://` or oslo's
    /// `rabbit://`, else `amqp://guest:guest@127.0.0.1:5672/%2f`). The connection is made on
    /// first use and again after any failure.
    ///
    /// ```
    /// use osprof_core::drivers::{AmqpDriver, DriverOptions};
    ///
    /// let options = DriverOptions::default();
    /// assert!(AmqpDriver::open("messaging://", &options).is_ok());
    /// let error = AmqpDriver::open("amqp://[::1", &options).unwrap_err();
    /// assert!(error.to_string().contains("amqp://[::1"), "{error}");
    /// ```
    pub fn open(connection_string: &str, options: &DriverOptions) -> Result<AmqpDriver, Error> {
        let broker = if connection_string.starts_with("messaging:") {
            match &options.transport_url {
                Some(url) => url.clone(),
                None => std::env::var("OSPROF_TRANSPORT_URL")
                    .unwrap_or_else(|_| DEFAULT_BROKER.to_owned()),
            }
        } else {
            connection_string.to_owned()
        };
        let broker = match broker.strip_prefix("rabbit://") {
            Some(rest) => format!("amqp://{rest}"),
            None => broker,
        };
        if broker.parse::<lapin::uri::AMQPUri>().is_err() {
            return Err(Error::Driver {
                driver: "amqp",
                message: format!(
                    "`{broker}` is not an AMQP URL; write amqp://user:password@host:5672/vhost"
                ),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("osprof-amqp")
            .enable_all()
            .build()
            .map_err(|error| Error::Driver {
                driver: "amqp",
                message: format!("cannot start the AMQP client's thread: {error}"),
            })?;
        let host = crate::host::name();
        Ok(AmqpDriver {
            broker,
            runtime,
            channel: Mutex::new(None),
            pending: Mutex::new(RetryQueue::new(options.retry_capacity)),
            lines: LineWriter::new(options),
            publisher_id: host.to_owned(),
            event_type: format!("profiler.{}", options.service),
            socket_timeout: options.socket_timeout,
            batch_size: AtomicUsize::new(FIRST_BATCH),
            idle_timeout: options.idle_timeout,
        })
    }

    pub(crate) fn create(
        connection_string: &str,
        options: &DriverOptions,
    ) -> Result<Arc<dyn Driver>, Error> {
        Ok(Arc::new(AmqpDriver::open(connection_string, options)?))
    }

    /// The notification message of one payload's JSON text.
    fn message(&self, payload_json: &str, out: &mut RetryQueue<String>) {
        let mut message = String::with_capacity(payload_json.len() + 320);
        let message_id = crate::id::Id::random();
        let unique_id = crate::id::Id::random().to_string().replace('-', "");
        let timestamp = timestamp_of(payload_json)
            .unwrap_or_default()
            .replacen('T', " ", 1);
        let _ = write!(
            message,
            r#"{{"message_id": "{message_id}", "publisher_id": {}, "event_type": {}, "priority": "INFO", "payload": "#,
            serde_json::Value::from(self.publisher_id.as_str()),
            serde_json::Value::from(self.event_type.as_str()),
        );
        self.lines.push(&mut message, payload_json);
        let _ = write!(
            message,
            r#", "timestamp": "{timestamp}", "_unique_id": "{unique_id}"}}"#
        );
        out.push(message);
    }

    /// Connects, and declares the exchange and queue as oslo.messaging does.
    async fn connect(broker: &str) -> lapin::Result<(Connection, Channel)> {
        let connection = Connection::connect(broker, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                EXCHANGE.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                ROUTING_KEY.into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                ROUTING_KEY.into(),
                EXCHANGE.into(),
                ROUTING_KEY.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((connection, channel))
    }

    /// Connects for publishing: with the broker's confirms.
    async fn connect_publisher(broker: &str) -> lapin::Result<(Connection, Channel)> {
        let (connection, channel) = Self::connect(broker).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok((connection, channel))
    }

    /// The payloads of `base_id`'s events in the queue, waiting for more until none came for
    /// the idle timeout. Nothing is acknowledged, so closing the channel puts every message
    /// back.
    async fn read_trace(&self, base_id: &str) -> Result<Vec<serde_json::Value>, String> {
        let connect = tokio::time::timeout(self.socket_timeout, Self::connect(&self.broker));
        let (connection, channel) = match connect.await {
            Ok(connected) => connected.map_err(|error| error.to_string())?,
            Err(_) => {
                return Err(format!(
                    "the broker did not answer within the socket timeout ({:?})",
                    self.socket_timeout
                ));
            }
        };
        let mut consumer = channel
            .basic_consume(
                ROUTING_KEY.into(),
                "osprof-report".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|error| error.to_string())?;
        let mut events = Vec::new();
        let mut last_event = tokio::time::Instant::now();
        loop {
            let next = std::future::poll_fn(|context| {
                futures_core::Stream::poll_next(std::pin::Pin::new(&mut consumer), context)
            });
            let delivery = match tokio::time::timeout_at(last_event + self.idle_timeout, next).await
            {
                Err(_) | Ok(None) => break,
                Ok(Some(delivery)) => delivery.map_err(|error| error.to_string())?,
            };
            if let Some(payload) = payload_of(&delivery.data)
                && payload["base_id"].as_str() == Some(base_id)
            {
                events.push(payload);
                last_event = tokio::time::Instant::now();
            }
        }
        // Unacknowledged, every message read goes back to the queue.
        let _ = channel.close(200, "read".into()).await;
        let _ = connection.close(200, "read".into()).await;
        Ok(events)
    }

    /// Publishes `messages` and waits for the broker to confirm them all.
    async fn publish(channel: &Channel, messages: &[String]) -> Result<(), String> {
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into());
        // Each publish waits until the connection's I/O thread has sent it: publishing one
        // after the other would wait for that thread once per message.
        let publishes = messages.iter().map(|message| {
            channel.basic_publish(
                EXCHANGE.into(),
                ROUTING_KEY.into(),
                BasicPublishOptions::default(),
                message.as_bytes(),
                properties.clone(),
            )
        });
        let mut confirms = Vec::with_capacity(messages.len());
        for published in join_in_order(publishes.collect()).await {
            confirms.push(published.map_err(|error| error.to_string())?);
        }
        for confirm in confirms {
            let confirmation = confirm.await.map_err(|error| error.to_string())?;
            if confirmation.is_nack() {
                return Err("the broker refused a message (nack)".to_owned());
            }
        }
        Ok(())
    }

    /// Publishes what is pending, each attempt within one socket timeout as a whole
    /// (connecting and confirmations included; see [`Attempt`]); stops at the first
    /// failure, keeping the rest. After a failure the next attempt waits a moment, unless
    /// `now` (a flush) asks for one at once. Batches are sized to what the broker confirms
    /// well within the timeout: halved after a timeout, doubled after a confirm within an
    /// eighth of it. A message sent again after a timeout keeps its `message_id`.
    fn publish_pending(&self, now: bool) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if !pending.due(now) {
            return;
        }
        let mut attempt = Attempt::new(self.socket_timeout, now);
        let left = |deadline: Instant| deadline.saturating_duration_since(Instant::now());
        let mut slot = self.channel.lock().unwrap_or_else(PoisonError::into_inner);
        while !pending.items().is_empty() {
            let Some(deadline) = attempt.next_batch(&pending) else {
                return;
            };
            if slot.is_none() {
                // The timer is made inside the runtime: it needs its clock.
                let connect = async {
                    tokio::time::timeout(left(deadline), Self::connect_publisher(&self.broker))
                        .await
                };
                match self.runtime.block_on(connect) {
                    Ok(Ok(connected)) => {
                        *slot = Some(connected);
                        // Publish only with enough of the attempt left.
                        continue;
                    }
                    Ok(Err(error)) => return pending.failed("amqp", &error),
                    Err(_) => return pending.failed("amqp", &"timed out connecting"),
                }
            }
            let Some((_, channel)) = slot.as_ref() else {
                return;
            };
            let size = self.batch_size.load(Ordering::Relaxed);
            let count = pending.items().len().min(size);
            let batch: Vec<String> = pending.items().iter().take(count).cloned().collect();
            let started = Instant::now();
            let publish = async {
                tokio::time::timeout(left(deadline), Self::publish(channel, &batch)).await
            };
            match self.runtime.block_on(publish) {
                Ok(Ok(())) => {
                    pending.written(count);
                    if count == size && started.elapsed() < self.socket_timeout / 8 {
                        self.batch_size
                            .store((size * 2).min(CONFIRM_EVERY), Ordering::Relaxed);
                    }
                }
                Ok(Err(error)) => {
                    *slot = None;
                    return pending.failed("amqp", &error);
                }
                Err(_) => {
                    // Messages may have reached the broker unconfirmed: they are sent again.
                    self.batch_size.store((size / 2).max(1), Ordering::Relaxed);
                    *slot = None;
                    return pending.failed("amqp", &"timed out waiting for confirmations");
                }
            }
        }
    }
}

/// Runs `futures` together until all are done and returns their outputs, in order. Each
/// is first polled in order, so publishes queue their messages in order.
async fn join_in_order<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    // Every future before this index is done.
    let mut done_before = 0;
    std::future::poll_fn(|context| {
        for (future, output) in futures.iter_mut().zip(&mut outputs).skip(done_before) {
            if output.is_none()
                && let std::task::Poll::Ready(value) = future.as_mut().poll(context)
            {
                *output = Some(value);
            }
        }
        while outputs.get(done_before).is_some_and(Option::is_some) {
            done_before += 1;
        }
        if done_before == outputs.len() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|output| output.expect("every future is done"))
        .collect()
}

/// The payload of a notification message: oslo.messaging's format 1.0 (the payload under
/// `payload`) or 2.0 (that message as JSON text under `oslo.message`).
fn payload_of(message: &[u8]) -> Option<serde_json::Value> {
    let mut message: serde_json::Value = serde_json::from_slice(message).ok()?;
    if let Some(inner) = message
        .get("oslo.message")
        .and_then(serde_json::Value::as_str)
    {
        message = serde_json::from_str(inner).ok()?;
    }
    let payload = message.get_mut("payload")?.take();
    payload.is_object().then_some(payload)
}

/// The `timestamp` of a payload's JSON text, as osprof writes it (no escapes).
fn timestamp_of(json: &str) -> Option<String> {
    let start = json.find(",\"timestamp\":\"")? + ",\"timestamp\":\"".len();
    let len = json[start..].find('"')?;
    Some(json[start..start + len].to_owned())
}

impl Driver for AmqpDriver {
    fn notify(&self, payload: &serde_json::Value) -> Result<(), Error> {
        let json = payload.to_string();
        self.message(
            &json,
            &mut self.pending.lock().unwrap_or_else(PoisonError::into_inner),
        );
        self.publish_pending(false);
        Ok(())
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            while let Some(json) = batch.next_json() {
                self.message(json, &mut pending);
            }
        }
        self.publish_pending(false);
        Ok(())
    }

    fn flush(&self) -> Result<(), Error> {
        self.publish_pending(true);
        Ok(())
    }

    fn get_report(&self, base_id: &str) -> Result<Report, Error> {
        let events = self
            .runtime
            .block_on(self.read_trace(base_id))
            .map_err(|reason| Error::Driver {
                driver: "amqp",
                message: format!("cannot read traces from the queue {ROUTING_KEY}: {reason}"),
            })?;
        Ok(crate::report::build(events))
    }

    fn holds_events(&self) -> bool {
        true
    }

    fn name(&self) -> &'static str {
        "amqp"
    }
}

//! Events a networked driver holds while its server is away, bounded.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a driver waits after a failed attempt before the next one. Meanwhile new events
/// are only queued, so the delivery thread keeps draining the recording threads' buffers
/// instead of spending each round waiting for a store that is away.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// What a networked driver holds while its server is away: items waiting to be written,
/// oldest first, at most `capacity` of them. Items beyond that are dropped and counted in
/// `notifier::stats().dropped`; the first failure of an outage logs one warning.
///
/// It keeps `notifier::stats()` exact for its driver: each item is counted as in flight
/// while held, then as stored ([`written`](RetryQueue::written)), failed
/// ([`rejected`](RetryQueue::rejected)) or dropped (full, or the queue dropped with items
/// in it). A driver that keeps its events here says so with
/// [`Driver::holds_events`](crate::notifier::Driver::holds_events).
///
/// ```
/// let mut queue = osprof_core::drivers::RetryQueue::new(2);
/// for line in ["a", "b", "c"] {
///     queue.push(line); // "c" is dropped and counted
/// }
/// queue.failed("example", &"connection refused");
/// assert_eq!(queue.items().len(), 2);
/// queue.written(2);
/// assert!(queue.items().is_empty());
/// ```
#[derive(Debug)]
pub struct RetryQueue<T> {
    items: VecDeque<T>,
    /// How many of the sink's events each item stands for (an OTLP span is two).
    events: VecDeque<u8>,
    capacity: usize,
    /// Whether the server is known to be away (one warning per outage).
    away: bool,
    /// No attempt before this instant: the last one failed.
    retry_at: Option<Instant>,
}

impl<T> RetryQueue<T> {
    /// An empty queue holding at most `capacity` items.
    ///
    /// ```
    /// let queue: osprof_core::drivers::RetryQueue<String> = osprof_core::drivers::RetryQueue::new(1024);
    /// assert!(queue.items().is_empty());
    /// ```
    pub fn new(capacity: usize) -> RetryQueue<T> {
        RetryQueue {
            items: VecDeque::new(),
            events: VecDeque::new(),
            capacity,
            away: false,
            retry_at: None,
        }
    }

    /// Queues `item`, or drops it (counted in `notifier::stats().dropped`) when full.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(2);
    /// queue.push("a");
    /// queue.push("b");
    /// queue.push("c"); // full: dropped, and counted
    /// assert_eq!(queue.items(), &["a", "b"]);
    /// ```
    pub fn push(&mut self, item: T) {
        self.push_events(item, 1);
    }

    /// Queues `item`, which stands for `events` of the sink's events (at most 255), or drops
    /// it (counted) when full.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push_events("a span made of its start and stop events", 2);
    /// assert_eq!(queue.items().len(), 1);
    /// ```
    pub fn push_events(&mut self, item: T, events: u8) {
        if self.items.len() < self.capacity {
            self.items.push_back(item);
            self.events.push_back(events);
            crate::delivery::count_held(events.into());
        } else {
            crate::delivery::count_dropped(events.into());
        }
    }

    /// The queued items, oldest first.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push(r#"{"name": "wsgi-start"}"#.to_owned());
    /// // A driver retries everything it holds, oldest first.
    /// let batch: Vec<&String> = queue.items().iter().collect();
    /// assert_eq!(batch.len(), 1);
    /// ```
    pub fn items(&self) -> &VecDeque<T> {
        &self.items
    }

    /// Whether a write should be attempted now: something is queued, and either a flush
    /// waits for it (`flushing`) or the last attempt did not fail less than 250 ms ago.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push("event");
    /// assert!(queue.due(false));
    /// queue.failed("redis", &"timed out");
    /// assert!(!queue.due(false), "the next attempt waits a moment");
    /// assert!(queue.due(true), "unless a flush asks for one");
    /// ```
    pub fn due(&self, flushing: bool) -> bool {
        !self.items.is_empty() && (flushing || self.retry_at.is_none_or(|at| Instant::now() >= at))
    }

    /// Forgets the `count` oldest items: they were written.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push(1);
    /// queue.push(2);
    /// queue.written(1);
    /// assert_eq!(queue.items(), &[2]);
    /// ```
    pub fn written(&mut self, count: usize) {
        let count = count.min(self.items.len());
        self.items.drain(..count);
        crate::delivery::count_stored_from_held(self.take_events(count));
        self.retry_at = None;
        if self.away && self.items.is_empty() {
            self.away = false;
            tracing::info!(
                driver = "osprof",
                "the trace store is back; held events were delivered"
            );
        }
    }

    /// Forgets the oldest item, which the store refused for its content (a value it cannot
    /// hold, a constraint): it is counted in `notifier::stats().failed` and logged with the
    /// reason, and the items behind it are written on.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push("bad");
    /// queue.push("good");
    /// queue.rejected("sql", &"value too long");
    /// assert_eq!(queue.items(), &["good"]);
    /// ```
    pub fn rejected(&mut self, driver: &str, reason: &dyn std::fmt::Display) {
        if self.items.pop_front().is_some() {
            crate::delivery::count_failed_from_held(self.take_events(1));
            tracing::warn!(
                driver,
                %reason,
                "osprof's trace store refused an event for its content; it is counted as failed in notifier::stats()"
            );
        }
    }

    /// Forgets the events counts of the `count` oldest items and returns their sum.
    fn take_events(&mut self, count: usize) -> u64 {
        self.events.drain(..count).map(u64::from).sum()
    }

    /// Notes a failed write by `driver`: warns once per outage.
    ///
    /// ```
    /// let mut queue = osprof_core::drivers::RetryQueue::new(8);
    /// queue.push("event");
    /// queue.failed("redis", &"connection refused"); // warns: the store is away
    /// queue.failed("redis", &"connection refused"); // same outage: silent
    /// queue.written(1); // logs that the store is back
    /// ```
    pub fn failed(&mut self, driver: &str, error: &dyn std::fmt::Display) {
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
        if !self.away {
            self.away = true;
            tracing::warn!(
                driver,
                %error,
                capacity = self.capacity,
                "osprof cannot reach its trace store; holding events for a retry, dropping (and counting) any beyond capacity"
            );
        }
    }
}

impl<T> Drop for RetryQueue<T> {
    fn drop(&mut self) {
        // A driver replaced while its store is away lets its held events go.
        let events = self.take_events(self.items.len());
        crate::delivery::count_dropped_from_held(events);
    }
}

/// The time budget of a driver's writes in one delivery round: each attempt, as a whole,
/// ends by its deadline, one socket timeout after it began. A round stops starting batches
/// once half of the attempt's time is spent (the rest waits for the next round, which is not
/// a failure), except in a flush, or while the queue is more than half full: then it starts
/// a new attempt instead. So a store that answers, but more slowly than events come, slows
/// delivery down (and, through the full rings, the traced threads, as the overflow policy
/// says) rather than overflowing its queue; a store that stops answering still fails the
/// round within one socket timeout.
///
/// ```
/// use std::time::Duration;
/// use osprof_core::drivers::{Attempt, RetryQueue};
///
/// let queue = RetryQueue::<String>::new(8);
/// let mut attempt = Attempt::new(Duration::from_millis(100), false);
/// let deadline = attempt.next_batch(&queue).expect("a fresh attempt has its whole time");
/// assert!(deadline <= std::time::Instant::now() + Duration::from_millis(100));
/// ```
#[derive(Debug)]
pub struct Attempt {
    timeout: Duration,
    deadline: Instant,
    flushing: bool,
}

impl Attempt {
    /// An attempt that begins now; `flushing` when a flush waits for everything queued.
    pub fn new(timeout: Duration, flushing: bool) -> Attempt {
        Attempt {
            timeout,
            deadline: Instant::now() + timeout,
            flushing,
        }
    }

    /// The deadline by which the next batch of `queue` must be done, or `None` when the
    /// round should stop here and leave the rest queued.
    pub fn next_batch<T>(&mut self, queue: &RetryQueue<T>) -> Option<Instant> {
        let now = Instant::now();
        if self.deadline.saturating_duration_since(now) < self.timeout / 2 {
            if !(self.flushing || queue.items.len() > queue.capacity / 2) {
                return None;
            }
            self.deadline = now + self.timeout;
        }
        Some(self.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_goes_on_past_half_its_time_only_to_flush_or_to_empty_a_backed_up_queue() {
        let timeout = Duration::from_millis(20);
        let mut quiet = RetryQueue::new(8);
        let mut backed_up = RetryQueue::new(8);
        for n in 0..5 {
            backed_up.push_events(n, 0);
        }
        quiet.push_events(0, 0);
        let mut round = Attempt::new(timeout, false);
        let mut flush = Attempt::new(timeout, true);
        std::thread::sleep(timeout * 3 / 4);
        assert_eq!(round.next_batch(&quiet), None);
        let deadline = round
            .next_batch(&backed_up)
            .expect("a queue over half full keeps the round going");
        assert!(
            deadline > Instant::now() + timeout / 2,
            "with a fresh attempt"
        );
        assert!(flush.next_batch(&quiet).is_some());
    }
}

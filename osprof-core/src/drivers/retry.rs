//! Events a networked driver holds while its server is away, bounded.

use std::collections::VecDeque;

/// What a networked driver holds while its server is away: items waiting to be written,
/// oldest first, at most `capacity` of them. Items beyond that are dropped and counted in
/// `notifier::stats().dropped`; the first failure of an outage logs one warning.
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
    capacity: usize,
    /// Whether the server is known to be away (one warning per outage).
    away: bool,
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
            capacity,
            away: false,
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
        if self.items.len() < self.capacity {
            self.items.push_back(item);
        } else {
            crate::delivery::count_dropped(1);
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
        self.items.drain(..count.min(self.items.len()));
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
            crate::delivery::count_failed(1);
            tracing::warn!(
                driver,
                %reason,
                "osprof's trace store refused an event for its content; it is counted as failed in notifier::stats()"
            );
        }
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

//! Delivery options shared by every recording thread.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// What a traced thread does when its buffer is full because the sink falls behind.
///
/// ```
/// use std::time::Duration;
/// use osprof_core::notifier::{self, DeliveryOptions, Overflow};
///
/// // Never lose an event: wait as long as the sink needs.
/// notifier::configure(DeliveryOptions::default().with_overflow(Overflow::Block { max_wait: None }));
/// // Or wait at most 10 ms per event before dropping it.
/// notifier::configure(DeliveryOptions::default().with_overflow(Overflow::Block {
///     max_wait: Some(Duration::from_millis(10)),
/// }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for the delivery thread to make room, at most `max_wait` per traced call (`None`:
    /// as long as it takes). An event that still finds no room is dropped and counted, and
    /// for `max_wait` after a wait ran out the thread drops at once rather than wait again,
    /// so that a call that records several events waits `max_wait` in total at most.
    Block {
        /// The longest a traced call waits for room; `None` waits forever.
        max_wait: Option<Duration>,
    },
    /// Drop the new event at once and count it.
    DropNewest,
}

impl Default for Overflow {
    /// Backpressure, bounded at 100 ms per event so that a stuck sink cannot hang the service.
    fn default() -> Self {
        Overflow::Block {
            max_wait: Some(Duration::from_millis(100)),
        }
    }
}

/// How events travel from traced threads to the sink. See [`crate::notifier::configure`].
///
/// ```
/// use osprof_core::notifier::{self, DeliveryOptions, Overflow};
///
/// let options = DeliveryOptions::default();
/// assert_eq!(options.buffer_capacity, 8192);
/// assert_eq!(options.overflow, Overflow::default());
/// notifier::configure(options.with_buffer_capacity(65_536));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryOptions {
    /// Events each thread can hold before the sink has taken them (default 8192, about
    /// 512 KiB per recording thread), rounded up to a power of two. Applies to threads
    /// that start recording afterwards.
    pub buffer_capacity: usize,
    /// What happens when that buffer is full.
    pub overflow: Overflow,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            buffer_capacity: DEFAULT_CAPACITY,
            overflow: Overflow::default(),
        }
    }
}

impl DeliveryOptions {
    /// The defaults with another buffer capacity (in events per thread, at least 2; a ring
    /// holds the next power of two).
    ///
    /// ```
    /// use osprof_core::notifier::DeliveryOptions;
    ///
    /// let options = DeliveryOptions::default().with_buffer_capacity(1024);
    /// assert_eq!(options.buffer_capacity, 1024);
    /// ```
    pub fn with_buffer_capacity(self, buffer_capacity: usize) -> Self {
        DeliveryOptions {
            buffer_capacity,
            ..self
        }
    }

    /// The same options with another overflow policy.
    ///
    /// ```
    /// use osprof_core::notifier::{DeliveryOptions, Overflow};
    ///
    /// let options = DeliveryOptions::default().with_overflow(Overflow::DropNewest);
    /// assert_eq!(options.overflow, Overflow::DropNewest);
    /// ```
    pub fn with_overflow(self, overflow: Overflow) -> Self {
        DeliveryOptions { overflow, ..self }
    }
}

const DEFAULT_CAPACITY: usize = 8192;
const MODE_BLOCK: u8 = 0;
const MODE_DROP: u8 = 1;
const WAIT_FOREVER: u64 = u64::MAX;

static CAPACITY: AtomicUsize = AtomicUsize::new(DEFAULT_CAPACITY);
static MODE: AtomicU8 = AtomicU8::new(MODE_BLOCK);
static MAX_WAIT_NANOS: AtomicU64 = AtomicU64::new(100_000_000);

pub(crate) fn set(options: DeliveryOptions) {
    CAPACITY.store(options.buffer_capacity.max(2), Relaxed);
    match options.overflow {
        Overflow::DropNewest => MODE.store(MODE_DROP, Relaxed),
        Overflow::Block { max_wait } => {
            let nanos = max_wait.map_or(WAIT_FOREVER, |wait| {
                u64::try_from(wait.as_nanos()).unwrap_or(WAIT_FOREVER - 1)
            });
            MAX_WAIT_NANOS.store(nanos, Relaxed);
            MODE.store(MODE_BLOCK, Relaxed);
        }
    }
}

pub(crate) fn current() -> DeliveryOptions {
    let overflow = if MODE.load(Relaxed) == MODE_DROP {
        Overflow::DropNewest
    } else {
        let nanos = MAX_WAIT_NANOS.load(Relaxed);
        Overflow::Block {
            max_wait: (nanos != WAIT_FOREVER).then(|| Duration::from_nanos(nanos)),
        }
    };
    DeliveryOptions {
        buffer_capacity: CAPACITY.load(Relaxed),
        overflow,
    }
}

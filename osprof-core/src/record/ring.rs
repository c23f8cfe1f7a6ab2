//! A bounded single-producer, single-consumer ring of [`RawEvent`]s: one per recording
//! thread, read by the delivery thread.
//!
//! Written for the traced thread's cost rather than taken from a general-purpose crate: the
//! capacity is a power of two (a slot is a mask away), and the writer keeps its own copy of
//! the tail and a cached head, so a push is a bounds check, the event's stores and a
//! release store of the tail, and touches no line the reader writes.

#![allow(unsafe_code)] // the slots are shared between two threads; see each SAFETY comment

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::thread::Thread;
use std::time::Duration;

use super::RawEvent;
use crate::clock::Instant;

/// The reader's and the writer's positions each on a cache line of their own.
#[repr(align(128))]
struct Position(AtomicUsize);

/// The start of the span the writer holds back, or `Instant::ZERO`: on a line of its own
/// too, read by the reader once per round.
#[repr(align(128))]
struct Held(AtomicU64);

/// Set while the writer waits for room: the reader wakes it after reading.
#[repr(align(128))]
struct Waiting(AtomicBool);

struct Buffer {
    slots: Box<[UnsafeCell<MaybeUninit<RawEvent>>]>,
    /// Events read so far (only the reader stores it).
    head: Position,
    /// Events written so far (only the writer stores it).
    tail: Position,
    held: Held,
    waiting: Waiting,
    /// The writer's thread, woken by the reader when it waits.
    writer_thread: Thread,
}

// SAFETY: a slot is written only by the one `Writer`, for positions in `tail..head + capacity`
// that the reader no longer reads, and read only by the one `Reader`, for positions in
// `head..tail` that the writer published with a release store of `tail` (read with acquire);
// the reader hands slots back with a release store of `head` (read with acquire). So no slot
// is accessed by both threads at once, and `RawEvent` is `Send`.
unsafe impl Sync for Buffer {}
// SAFETY: as above; the events it holds are `Send`.
unsafe impl Send for Buffer {}

/// The claim above, checked: events may move to the delivery thread.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<RawEvent>();
};

impl Buffer {
    fn slot(&self, position: usize) -> *mut MaybeUninit<RawEvent> {
        self.slots[position & (self.slots.len() - 1)].get()
    }

    /// A pointer to the first slot that may reach every slot.
    fn first_slot(&self) -> *mut MaybeUninit<RawEvent> {
        UnsafeCell::raw_get(self.slots.as_ptr())
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let head = *self.head.0.get_mut();
        let tail = *self.tail.0.get_mut();
        for position in head..tail {
            // SAFETY: both ends are gone (`&mut self`); the slots in `head..tail` hold
            // written events that nobody read, each dropped once here.
            unsafe { (*self.slot(position)).assume_init_drop() };
        }
    }
}

/// A new ring of at least `capacity` slots (rounded up to a power of two), written by the
/// calling thread.
pub(crate) fn ring(capacity: usize) -> (Writer, Reader) {
    let capacity = capacity.max(2).next_power_of_two();
    let buffer = Arc::new(Buffer {
        slots: (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
        head: Position(AtomicUsize::new(0)),
        tail: Position(AtomicUsize::new(0)),
        held: Held(AtomicU64::new(Instant::ZERO.to_bits())),
        waiting: Waiting(AtomicBool::new(false)),
        writer_thread: std::thread::current(),
    });
    let writer = Writer {
        slots: buffer.first_slot(),
        mask: capacity - 1,
        buffer: buffer.clone(),
        tail: 0,
        cached_head: 0,
    };
    (writer, Reader { buffer })
}

/// The recording thread's end.
pub(crate) struct Writer {
    /// The first of `buffer`'s slots, and their count less one: a push finds its slot
    /// without going through `buffer`.
    slots: *mut MaybeUninit<RawEvent>,
    mask: usize,
    buffer: Arc<Buffer>,
    /// The writer's own copy of `buffer.tail`.
    tail: usize,
    /// The head as last read: the reader has read at least this far.
    cached_head: usize,
}

impl Writer {
    /// How many events can be pushed now without waiting.
    pub(crate) fn free(&mut self) -> usize {
        self.cached_head = self.buffer.head.0.load(Ordering::Acquire);
        self.capacity() - (self.tail - self.cached_head)
    }

    /// How many events are in the ring, not yet read.
    pub(crate) fn filled(&mut self) -> usize {
        self.cached_head = self.buffer.head.0.load(Ordering::Acquire);
        self.tail - self.cached_head
    }

    /// How many events were ever pushed.
    #[inline(always)]
    pub(crate) fn pushed(&self) -> usize {
        self.tail
    }

    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Tells the reader that an event stamped `at` is still to come.
    #[inline(always)]
    pub(crate) fn hold(&mut self, at: Instant) {
        self.buffer.held.0.store(at.to_bits(), Ordering::Release);
    }

    /// Takes back [`hold`](Self::hold), after pushing the held event (or counting it dropped).
    #[inline(always)]
    pub(crate) fn release_hold(&mut self) {
        self.buffer
            .held
            .0
            .store(Instant::ZERO.to_bits(), Ordering::Release);
    }

    /// Sleeps until the reader has made room for `needed` events, or `timeout` has passed.
    pub(crate) fn wait_for_room(&mut self, needed: usize, timeout: Duration) {
        self.buffer.waiting.0.store(true, Ordering::Relaxed);
        // Paired with the fence in `Reader::drain`: either the reader sees `waiting` and
        // wakes this thread, or this thread sees the room the reader made.
        fence(Ordering::SeqCst);
        if self.free() < needed {
            std::thread::park_timeout(timeout);
        }
        self.buffer.waiting.0.store(false, Ordering::Relaxed);
    }

    /// Appends `event`, or gives it back when the ring is full.
    #[inline(always)]
    pub(crate) fn push(&mut self, event: RawEvent) -> Result<(), RawEvent> {
        if self.tail - self.cached_head == self.capacity() && self.free() == 0 {
            return Err(event);
        }
        // SAFETY: `tail & mask < capacity`, so the slot is one of `buffer`'s, which `self`
        // keeps alive. `tail - head < capacity`, so it is outside `head..tail`: the reader
        // has read it (or it was never written) and will not touch it until the release
        // store below publishes it. Writing over a `MaybeUninit` drops nothing.
        unsafe {
            let slot = self.slots.add(self.tail & self.mask);
            slot.write(MaybeUninit::new(event));
        }
        self.tail += 1;
        self.buffer.tail.0.store(self.tail, Ordering::Release);
        Ok(())
    }
}

/// The delivery thread's end.
pub(crate) struct Reader {
    buffer: Arc<Buffer>,
}

impl Reader {
    /// Hands every event now in the ring to `f`, oldest first; returns how many.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(RawEvent)) -> usize {
        let head = self.buffer.head.0.load(Ordering::Relaxed);
        let tail = self.buffer.tail.0.load(Ordering::Acquire);
        for position in head..tail {
            // SAFETY: the acquire load of `tail` makes the writer's writes of `head..tail`
            // visible, and the writer does not reuse a slot before the release store of
            // `head` past it; the store follows the read at once, so each event is moved out
            // once even if `f` panics.
            let event = unsafe { (*self.buffer.slot(position)).assume_init_read() };
            self.buffer.head.0.store(position + 1, Ordering::Release);
            f(event);
        }
        if tail > head {
            // Paired with the fence in `Writer::wait_for_room`.
            fence(Ordering::SeqCst);
            if self.buffer.waiting.0.load(Ordering::Relaxed) {
                self.buffer.writer_thread.unpark();
            }
        }
        tail - head
    }

    /// When the event the writer holds back was stamped, if it holds one. Read before
    /// [`drain`](Self::drain): a hold released before this read was released after its
    /// event was pushed, so the drain sees that event.
    pub(crate) fn held_since(&self) -> Option<Instant> {
        let held = Instant::from_bits(self.buffer.held.0.load(Ordering::Acquire));
        (held != Instant::ZERO).then_some(held)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buffer.head.0.load(Ordering::Relaxed) == self.buffer.tail.0.load(Ordering::Acquire)
    }

    /// True once the writer is gone (its thread exited).
    pub(crate) fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.buffer) == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Id;
    use crate::record::What;

    /// An event whose parent id carries `n`, to check order.
    fn event(n: u128) -> RawEvent {
        RawEvent {
            span_id: Id::NIL,
            parent_id: Id::from_random(n),
            at: Instant::ZERO,
            what: What::StartPlain("span"),
        }
    }

    fn drained(reader: &mut Reader) -> Vec<Id> {
        let mut ids = Vec::new();
        reader.drain(|event| ids.push(event.parent_id));
        ids
    }

    #[test]
    fn capacity_is_a_power_of_two_and_full_gives_the_event_back() {
        let (mut writer, mut reader) = ring(3);
        for n in 0..4 {
            assert!(writer.push(event(n)).is_ok());
        }
        let refused = writer.push(event(9)).expect_err("a full ring refuses");
        assert_eq!(refused.parent_id, Id::from_random(9));
        assert_eq!(
            drained(&mut reader),
            (0..4).map(Id::from_random).collect::<Vec<_>>()
        );
        assert!(reader.is_empty());
    }

    #[test]
    fn events_come_out_in_order_across_wrap_arounds() {
        let (mut writer, mut reader) = ring(4);
        let mut seen = Vec::new();
        for n in 0..10 {
            writer.push(event(n)).ok().expect("room after each drain");
            if n % 3 == 2 {
                seen.extend(drained(&mut reader));
            }
        }
        seen.extend(drained(&mut reader));
        assert_eq!(seen, (0..10).map(Id::from_random).collect::<Vec<_>>());
    }

    #[test]
    fn unread_events_are_dropped_with_the_ring_and_abandonment_is_seen() {
        let (mut writer, reader) = ring(8);
        let info = crate::record::Info::Json(serde_json::json!({"k": 1}));
        let mut boxed = event(1);
        boxed.what = What::StartExtra(Box::new(crate::record::Extra {
            name: crate::record::Name::from("x"),
            info: Some(info),
        }));
        writer.push(boxed).ok().expect("room");
        assert!(!reader.is_abandoned());
        drop(writer);
        assert!(reader.is_abandoned());
        assert!(!reader.is_empty());
        // Dropping the last end drops the unread event and its box.
        drop(reader);
    }

    #[test]
    fn a_reader_on_another_thread_sees_every_event_once_in_order() {
        let (mut writer, mut reader) = ring(64);
        const EVENTS: u128 = 200_000;
        let consumer = std::thread::spawn(move || {
            let mut next = 0u128;
            while next < EVENTS {
                reader.drain(|event| {
                    assert_eq!(event.parent_id, Id::from_random(next));
                    next += 1;
                });
            }
            reader.is_empty()
        });
        for n in 0..EVENTS {
            let mut pending = event(n);
            while let Err(back) = writer.push(pending) {
                pending = back;
                std::thread::yield_now();
            }
        }
        assert!(consumer.join().expect("the reader thread"));
    }
}

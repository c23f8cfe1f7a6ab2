//! The clock that stamps recorded events, and its conversion to wall-clock time.
//!
//! A traced thread reads the CPU's cycle counter in one instruction where the counter runs
//! at one constant rate on every core (an invariant TSC, or the kernel's own clock source
//! being the TSC), and the monotonic clock's nanoseconds elsewhere. Only the delivery thread
//! turns ticks into Unix time ([`WallClock`]), measuring the tick against the monotonic
//! clock as it goes rather than spinning at start-up.
//!
//! A general-purpose clock crate's `now()` reads the same counter, but behind two levels of
//! loads (the crate's state, then its fields), and the counter read waits for them: on
//! every span's start and stop, that wait was a tenth of a span's cost.

#![allow(unsafe_code)] // reading the cycle counter; see the SAFETY comment

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment in the event clock's ticks: cycles or nanoseconds, as [`Instant::now`] reads
/// them. Only instants of one process compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Instant(u64);

/// Where ticks come from, decided once per process (see [`source`]).
const UNDECIDED: u8 = 0;
const CYCLES: u8 = 1;
const MONOTONIC: u8 = 2;

static SOURCE: AtomicU8 = AtomicU8::new(UNDECIDED);

impl Instant {
    /// Not a moment any reading gives: the "none" of a ring's held instant.
    pub(crate) const ZERO: Instant = Instant(0);

    /// Now.
    #[inline(always)]
    pub(crate) fn now() -> Instant {
        #[cfg(target_arch = "x86_64")]
        if SOURCE.load(Ordering::Relaxed) == CYCLES {
            // SAFETY: every x86_64 CPU has `rdtsc`; it only reads the cycle counter.
            return Instant(unsafe { core::arch::x86_64::_rdtsc() });
        }
        now_first_or_monotonic()
    }

    /// The instant as a word, for an atomic cell.
    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    pub(crate) fn from_bits(bits: u64) -> Instant {
        Instant(bits)
    }
}

#[cold]
#[inline(never)]
fn now_first_or_monotonic() -> Instant {
    match source() {
        CYCLES => Instant::now(),
        _ => monotonic_now(),
    }
}

/// Nanoseconds of the monotonic clock since its first reading in this process, plus one so
/// that no reading is `ZERO`: the ticks where the cycle counter is not steady.
fn monotonic_now() -> Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    let origin = ORIGIN.get_or_init(std::time::Instant::now);
    Instant(1 + u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX - 1))
}

/// The tick source, decided on first use. Every thread decides alike (the test is a
/// constant of the process), so all instants come from one source.
fn source() -> u8 {
    match SOURCE.load(Ordering::Relaxed) {
        UNDECIDED => {
            let source = if cycle_counter_is_steady() {
                CYCLES
            } else {
                MONOTONIC
            };
            SOURCE.store(source, Ordering::Relaxed);
            // The first reading that tick lengths are measured from: the earlier, the
            // longer the baseline by the time the delivery thread converts.
            FIRST_READING.get_or_init(Reading::take);
            source
        }
        source => source,
    }
}

/// Whether the cycle counter runs at one constant rate on every core, so that its readings
/// on different cores and at different CPU frequencies compare: the CPU says its counter is
/// invariant, or the kernel keeps time with it.
fn cycle_counter_is_steady() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid;
        // Leaf 0x8000_0007 is asked for only when the CPU says it has it.
        let invariant =
            __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0;
        invariant || kernel_clock_is_the_cycle_counter()
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
fn kernel_clock_is_the_cycle_counter() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|source| source.trim() == "tsc")
}

/// The tick count and both system clocks, read together.
#[derive(Clone, Copy)]
struct Reading {
    ticks: u64,
    monotonic: std::time::Instant,
    unix_nanos: u64,
}

static FIRST_READING: OnceLock<Reading> = OnceLock::new();

impl Reading {
    /// The tightest of a few attempts: an interruption between the reads would skew one.
    fn take() -> Reading {
        let mut best: Option<(u64, Reading)> = None;
        for _ in 0..5 {
            let before = Instant::now().0;
            let monotonic = std::time::Instant::now();
            let unix_nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| {
                    u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
                });
            let after = Instant::now().0;
            let spread = after.wrapping_sub(before);
            if best.as_ref().is_none_or(|(tightest, _)| spread < *tightest) {
                let ticks = before + spread / 2;
                best = Some((
                    spread,
                    Reading {
                        ticks,
                        monotonic,
                        unix_nanos,
                    },
                ));
            }
        }
        best.map(|(_, reading)| reading)
            .expect("at least one attempt")
    }
}

/// The shortest baseline a tick length is measured over: the pairing of a tick count with
/// the clocks is good to about 100 ns, so 10 ms gives the length to 1e-5.
const MIN_BASELINE: Duration = Duration::from_millis(10);

/// Converts instants to Unix time on the delivery thread: an anchor (a reading) and the
/// length of a tick, measured from the process's first reading to the anchor, so that it
/// gets more precise as the process runs. Make a new one now and then.
pub(crate) struct WallClock {
    anchor: Reading,
    /// Nanoseconds per tick in units of 2^-32 (fixed point): converting an instant is then
    /// one integer multiplication, not two float conversions. Over a second of 3 GHz ticks
    /// the rounding adds up to under a nanosecond.
    scaled_nanos_per_tick: u64,
}

/// The fixed point of [`WallClock::scaled_nanos_per_tick`].
const TICK_SCALE_BITS: u32 = 32;

impl WallClock {
    /// Anchored now. The first one in a process may wait up to 10 ms to measure a tick.
    pub(crate) fn new() -> WallClock {
        // Decided first: deciding takes the first reading.
        let cycles = source() == CYCLES;
        let first = *FIRST_READING.get_or_init(Reading::take);
        let mut anchor = Reading::take();
        if !cycles {
            return WallClock {
                anchor,
                scaled_nanos_per_tick: 1 << TICK_SCALE_BITS,
            };
        }
        let baseline = anchor.monotonic.duration_since(first.monotonic);
        if baseline < MIN_BASELINE {
            std::thread::sleep(MIN_BASELINE - baseline);
            anchor = Reading::take();
        }
        let nanos = anchor.monotonic.duration_since(first.monotonic).as_nanos();
        let ticks = anchor.ticks.saturating_sub(first.ticks).max(1);
        let scaled = (nanos << TICK_SCALE_BITS) / u128::from(ticks);
        WallClock {
            anchor,
            scaled_nanos_per_tick: u64::try_from(scaled).unwrap_or(u64::MAX).max(1),
        }
    }

    /// How long ago the anchor was taken.
    pub(crate) fn anchor_age(&self) -> Duration {
        self.anchor.monotonic.elapsed()
    }

    /// `at` in nanoseconds since the Unix epoch.
    pub(crate) fn unix_nanos(&self, at: Instant) -> u64 {
        let anchor = &self.anchor;
        let nanos = |ticks: u64| {
            let scaled = u128::from(ticks) * u128::from(self.scaled_nanos_per_tick);
            u64::try_from(scaled >> TICK_SCALE_BITS).unwrap_or(u64::MAX)
        };
        if at.0 >= anchor.ticks {
            anchor.unix_nanos.saturating_add(nanos(at.0 - anchor.ticks))
        } else {
            anchor.unix_nanos.saturating_sub(nanos(anchor.ticks - at.0))
        }
    }

    /// The instant `span` before `at` (`ZERO` at the earliest).
    pub(crate) fn before(&self, at: Instant, span: Duration) -> Instant {
        let ticks = (span.as_nanos() << TICK_SCALE_BITS) / u128::from(self.scaled_nanos_per_tick);
        Instant(at.0.saturating_sub(u64::try_from(ticks).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_never_go_back_and_are_never_zero() {
        let mut last = Instant::now();
        for _ in 0..10_000 {
            let now = Instant::now();
            assert!(now >= last);
            assert_ne!(now, Instant::ZERO);
            last = now;
        }
    }

    #[test]
    fn monotonic_ticks_are_nanoseconds_and_never_zero() {
        let first = monotonic_now();
        assert_ne!(first, Instant::ZERO);
        std::thread::sleep(Duration::from_millis(5));
        let gap = monotonic_now().to_bits() - first.to_bits();
        assert!(
            (5_000_000..1_000_000_000).contains(&gap),
            "{gap} ns for a 5 ms sleep"
        );
    }

    #[test]
    fn converted_instants_match_the_wall_clock() {
        let clock = WallClock::new();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let at = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let later = Instant::now();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let unix = Duration::from_nanos(clock.unix_nanos(at));
        // Within the reads around it, give or take the pairing's slack.
        let slack = Duration::from_micros(50);
        assert!(
            unix + slack >= before && unix <= after + slack,
            "{unix:?} in {before:?}..{after:?}"
        );
        let measured = Duration::from_nanos(clock.unix_nanos(later) - clock.unix_nanos(at));
        assert!(
            measured >= Duration::from_millis(20) && measured < Duration::from_millis(200),
            "20 ms of sleep measured as {measured:?}"
        );
    }

    #[test]
    fn before_goes_back_by_the_span() {
        let clock = WallClock::new();
        let now = Instant::now();
        let earlier = clock.before(now, Duration::from_millis(50));
        let gap = clock.unix_nanos(now) - clock.unix_nanos(earlier);
        assert!((49_000_000..=51_000_000).contains(&gap), "{gap}");
        assert_eq!(
            clock.before(Instant::from_bits(5), Duration::from_secs(1)),
            Instant::ZERO
        );
    }
}

//! OSProfiler's timestamp text: UTC `%Y-%m-%dT%H:%M:%S.%f`, six fractional digits, no zone.

use crate::ascii::{push_ascii, push_six_digits};

/// Formats timestamps, reusing the date and time of day while the second stays the same.
#[derive(Default)]
pub(crate) struct TimestampWriter {
    second: Option<u64>,
    /// `%Y-%m-%dT%H:%M:%S.` of `second`.
    prefix: String,
}

impl TimestampWriter {
    /// Writes nanoseconds since the Unix epoch (truncated to microseconds) into `out`,
    /// replacing what it held.
    pub(crate) fn write(&mut self, unix_nanos: u64, out: &mut String) {
        out.clear();
        out.push_str(self.prefix(unix_nanos));
        push_six_digits(out, micros_in_second(unix_nanos));
    }

    /// `%Y-%m-%dT%H:%M:%S.` of the second of `unix_nanos`: the timestamp before its six
    /// digits of [`micros_in_second`]. Hand-rolled: this runs for every event on the
    /// delivery thread.
    pub(crate) fn prefix(&mut self, unix_nanos: u64) -> &str {
        let seconds = unix_nanos / 1_000_000_000;
        if self.second != Some(seconds) {
            self.second = Some(seconds);
            let second_of_day = seconds % 86_400;
            let (year, month, day) = civil_from_days(seconds / 86_400);
            let mut text = *b"0000-00-00T00:00:00.";
            put_digits(&mut text[0..4], year);
            put_digits(&mut text[5..7], month);
            put_digits(&mut text[8..10], day);
            put_digits(&mut text[11..13], second_of_day / 3600);
            put_digits(&mut text[14..16], second_of_day / 60 % 60);
            put_digits(&mut text[17..19], second_of_day % 60);
            self.prefix.clear();
            push_ascii(&mut self.prefix, &text);
        }
        &self.prefix
    }
}

/// The microseconds within the second of `unix_nanos`: the six digits of the timestamp
/// after its [`TimestampWriter::prefix`].
pub(crate) fn micros_in_second(unix_nanos: u64) -> u32 {
    (unix_nanos / 1_000 % 1_000_000) as u32
}

/// Fills `slot` with the last `slot.len()` decimal digits of `value`, zero-padded.
fn put_digits(slot: &mut [u8], mut value: u64) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Year, month and day of the `days`-th day after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Microseconds since the Unix epoch of an OSProfiler timestamp (`%Y-%m-%dT%H:%M:%S` with
/// an optional `.%f` of up to six digits); `None` for any other text. The OTLP driver reads
/// one timestamp at a time; the report builder reads many with a [`TimestampReader`].
#[cfg(any(test, feature = "otlp"))]
pub(crate) fn parse_micros(text: &str) -> Option<i64> {
    let (hour, rest) = split_hour(text)?;
    Some(hour_micros(hour)? + micros_in_hour(rest)?)
}

/// Reads timestamps as [`parse_micros`] does, reusing the last one's date and hour: a
/// trace's events mostly share them, and the date costs most to read.
#[derive(Default)]
pub(crate) struct TimestampReader {
    /// `%Y-%m-%dT%H:` of the last timestamp read, and its microseconds since the epoch.
    hour: Option<([u8; 14], i64)>,
}

impl TimestampReader {
    pub(crate) fn parse(&mut self, text: &str) -> Option<i64> {
        let (hour, rest) = split_hour(text)?;
        let hour_micros = match self.hour {
            Some((known, micros)) if known == *hour => micros,
            _ => {
                let micros = hour_micros(hour)?;
                self.hour = Some((*hour, micros));
                micros
            }
        };
        Some(hour_micros + micros_in_hour(rest)?)
    }
}

/// A timestamp's `%Y-%m-%dT%H:` and the rest.
fn split_hour(text: &str) -> Option<(&[u8; 14], &[u8])> {
    let (hour, rest) = text.as_bytes().split_first_chunk::<14>()?;
    Some((hour, rest))
}

/// The two-digit number at `at`, read byte by byte: a report reads two timestamps per span.
fn pair(bytes: &[u8], at: usize) -> Option<i64> {
    let digit = |at: usize| {
        let digit = bytes.get(at)?.wrapping_sub(b'0');
        (digit < 10).then_some(i64::from(digit))
    };
    Some(digit(at)? * 10 + digit(at + 1)?)
}

/// Microseconds since the epoch of `%Y-%m-%dT%H:`.
fn hour_micros(hour: &[u8; 14]) -> Option<i64> {
    if [hour[4], hour[7], hour[10], hour[13]] != *b"--T:" {
        return None;
    }
    let year = pair(hour, 0)? * 100 + pair(hour, 2)?;
    let (month, day, hour) = (pair(hour, 5)?, pair(hour, 8)?, pair(hour, 11)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 24 + hour) * 3_600_000_000)
}

/// Microseconds into the hour of `%M:%S` with an optional `.%f` of up to six digits.
fn micros_in_hour(rest: &[u8]) -> Option<i64> {
    let fraction = match rest.get(5) {
        None => &[][..],
        Some(b'.') => &rest[6..],
        Some(_) => return None,
    };
    if rest.get(2) != Some(&b':') || fraction.len() > 6 {
        return None;
    }
    let (minute, second) = (pair(rest, 0)?, pair(rest, 3)?);
    if minute > 59 || second > 60 {
        return None;
    }
    // Fewer than six fractional digits are padded with zeros.
    let mut micros = 0;
    for place in 0..6 {
        let digit = match fraction.get(place) {
            Some(digit) if digit.is_ascii_digit() => i64::from(digit - b'0'),
            Some(_) => return None,
            None => 0,
        };
        micros = micros * 10 + digit;
    }
    Some((minute * 60 + second) * 1_000_000 + micros)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::{TimestampReader, TimestampWriter, parse_micros};

    #[test]
    fn parses_what_it_writes() {
        for nanos in [
            0,
            951_782_400_000_001_000,
            1_795_317_300_689_335_000,
            4_107_542_399_999_999_000,
        ] {
            assert_eq!(parse_micros(&format(nanos)), Some((nanos / 1000) as i64));
        }
        assert_eq!(parse_micros("1970-01-01T00:00:01"), Some(1_000_000));
        assert_eq!(parse_micros("1970-01-01T00:00:00.5"), Some(500_000));
        assert_eq!(parse_micros("1970-01-01T00:00:00."), Some(0));
        for bad in [
            "",
            "yesterday",
            "2015-13-01T00:00:00",
            "2015-12-23 14:02:22.1",
            "2015-12-23T14:02:22.1234567",
            "2015-12-23T14:02:22.-1",
            "2015-12-23T14:02:22x1",
            "2015-12-23T14:02:22.1.2",
            "+015-12-23T14:02:22",
            "2015-12-23T14:02:2\u{e9}",
            "2015-12-23T14:02:22.\u{e9}",
            "2015-12-23T14:02",
            "2015-12-23T14:02:2",
        ] {
            assert_eq!(parse_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_reader_reads_as_parse_micros_reads() {
        let mut reader = TimestampReader::default();
        for text in [
            "2015-12-23T14:02:22.338776",
            "2015-12-23T14:59:59.999999",
            "2015-12-23T14:02:22.1",
            "2015-12-23T14:02:22",
            "2015-12-23T14:02:22.1234567",
            "2015-12-23T14:62:22",
            "2015-12-23T15:00:00.000000",
            "2015-12-24T15:00:00.000000",
            "2015-12-24T15:",
            "2016-02-29T00:00:00.5",
            "2015-13-24T15:00:00",
            "2015-12-24T15:00:00",
        ] {
            assert_eq!(reader.parse(text), parse_micros(text), "{text}");
        }
        assert_eq!(
            reader.parse("2015-12-23T14:02:22.338776"),
            Some(1_450_879_342_338_776)
        );
    }

    fn format(unix_nanos: u64) -> String {
        let mut out = String::from("previous text");
        TimestampWriter::default().write(unix_nanos, &mut out);
        out
    }

    #[test]
    fn reuses_the_second_but_not_the_micros() {
        let mut writer = TimestampWriter::default();
        let mut out = String::new();
        for (nanos, text) in [
            (1_450_879_342_338_776_000, "2015-12-23T14:02:22.338776"),
            (1_450_879_342_999_999_999, "2015-12-23T14:02:22.999999"),
            (1_450_879_343_000_000_000, "2015-12-23T14:02:23.000000"),
            (1_450_879_342_000_001_000, "2015-12-23T14:02:22.000001"),
        ] {
            writer.write(nanos, &mut out);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn matches_python_strftime() {
        // Values from Python: datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        assert_eq!(
            format(1_450_879_342_338_776_000),
            "2015-12-23T14:02:22.338776"
        );
        assert_eq!(format(0), "1970-01-01T00:00:00.000000");
        assert_eq!(
            format(951_782_400_000_001_999),
            "2000-02-29T00:00:00.000001"
        );
        assert_eq!(
            format(1_795_317_300_689_335_000),
            "2026-11-22T03:15:00.689335"
        );
        assert_eq!(
            format(4_107_542_399_999_999_999),
            "2100-02-28T23:59:59.999999"
        );
    }
}

//! OSProfiler's timestamp text: UTC `%Y-%m-%dT%H:%M:%S.%f`, six fractional digits, no zone.

use std::fmt::Write;

/// Formats nanoseconds since the Unix epoch (truncated to microseconds).
pub(crate) fn format(unix_nanos: u64) -> String {
    let micros = unix_nanos / 1_000;
    let seconds = micros / 1_000_000;
    let days = seconds / 86_400;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut text = String::with_capacity(26);
    let _ = write!(
        text,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        micros % 1_000_000,
    );
    text
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

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn matches_python_isoformat() {
        // Values from Python: datetime.datetime.utcfromtimestamp(s).strftime("%Y-%m-%dT%H:%M:%S.%f")
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
